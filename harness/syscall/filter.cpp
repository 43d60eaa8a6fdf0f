#include "syscall/filter.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <set>

#include "common/error.h"
#include "common/listener_handoff.h"
#include "common/unique_fd.h"

namespace faultline::syscall {

NotifyFilter::NotifyFilter(const std::vector<int>& syscalls, int handoff_fd) {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ALLOW), seccomp_release);
  if (!ctx) throw Error("seccomp_init failed (libseccomp could not start a filter)");
  // The harness sets no_new_privs in the child itself, after the privilege drop.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  // libseccomp kills a thread that calls through another ABI (int 0x80 on x86-64) by default;
  // a fault filter must never kill, so such calls run untouched, like every unlisted call.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
  for (int nr : std::set<int>(syscalls.begin(), syscalls.end())) {
    const auto add = [&](int rc) {
      if (rc < 0)
        throw SystemError("seccomp_rule_add(SCMP_ACT_NOTIFY)", "syscall " + std::to_string(nr), -rc);
    };
    if (nr == SCMP_SYS(sendmsg) && handoff_fd >= 0) {
      // Trapped unless both match (rules of one action are or'ed): another fd, or other flags.
      add(seccomp_rule_add(ctx.get(), SCMP_ACT_NOTIFY, nr, 1,
                           SCMP_A0(SCMP_CMP_NE, static_cast<scmp_datum_t>(handoff_fd))));
      add(seccomp_rule_add(ctx.get(), SCMP_ACT_NOTIFY, nr, 1,
                           SCMP_A2(SCMP_CMP_NE, static_cast<scmp_datum_t>(kListenerHandoffFlags))));
    } else {
      add(seccomp_rule_add(ctx.get(), SCMP_ACT_NOTIFY, nr, 0));
    }
  }

  // libseccomp 2.5 exports only to an fd: a memfd holds the program until it is read back.
  UniqueFd memory(::memfd_create("faultline-seccomp", MFD_CLOEXEC));
  if (!memory) throw_errno("memfd_create", "(seccomp program)");
  if (int rc = seccomp_export_bpf(ctx.get(), memory.get()); rc < 0)
    throw SystemError("seccomp_export_bpf", "(seccomp program)", -rc);
  const off_t size = ::lseek(memory.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) throw Error("seccomp_export_bpf wrote an empty program");
  code_.resize(size / sizeof(sock_filter));
  if (::pread(memory.get(), code_.data(), size, 0) != size) throw_errno("pread", "(seccomp program)");
  program_.len = static_cast<unsigned short>(code_.size());
  program_.filter = code_.data();
}

}  // namespace faultline::syscall
