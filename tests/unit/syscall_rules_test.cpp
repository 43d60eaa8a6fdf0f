// Syscall fault rules: names resolved against the host, errno names both ways, and which calls a
// selection fails (deterministic for a seed).
#include <sys/syscall.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <set>

#include "common/error.h"
#include "syscall/rules.h"

using namespace faultline;
using namespace faultline::syscall;
using Catch::Matchers::Contains;

namespace {

std::vector<std::uint64_t> selected(const Selection& s, std::uint64_t calls, std::uint64_t salt = 0) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = 1; i <= calls; ++i)
    if (s.selects(i, salt)) out.push_back(i);
  return out;
}

RuleSpec spec_for(std::vector<std::string> syscalls, std::string errno_name = "ENOSPC") {
  RuleSpec spec;
  spec.name = "disk-full";
  spec.syscalls = std::move(syscalls);
  spec.errno_name = std::move(errno_name);
  return spec;
}

}  // namespace

TEST_CASE("syscall names resolve to the host's numbers", "[syscall_rules]") {
  CHECK(resolve_syscall("openat") == SYS_openat);
  CHECK(resolve_syscall("write") == SYS_write);
  CHECK(resolve_syscall("getppid") == SYS_getppid);
  CHECK(syscall_name(SYS_fsync) == "fsync");
}

TEST_CASE("an unknown syscall name is an error with a did-you-mean", "[syscall_rules]") {
  CHECK_THROWS_WITH(resolve_syscall("opneat"),
                    Contains("unknown system call `opneat`") && Contains("`openat`"));
  CHECK_THROWS_WITH(resolve_syscall("no_such_call_at_all"), Contains("unknown system call"));
  CHECK_THROWS_WITH(make_rule(spec_for({"write", "fsycn"})),
                    Contains("syscall fault `disk-full`") && Contains("`fsync`"));
}

TEST_CASE("errno names map both ways", "[syscall_rules]") {
  CHECK(errno_from_name("ENOSPC") == ENOSPC);
  CHECK(errno_from_name("EIO") == EIO);
  CHECK(errno_from_name("ECONNREFUSED") == ECONNREFUSED);
  CHECK(errno_name(EMFILE) == "EMFILE");
  CHECK(errno_name(EINTR) == "EINTR");
  CHECK(errno_name(4242) == "errno 4242");
  CHECK_THROWS_WITH(errno_from_name("ENOSCP"), Contains("unknown errno `ENOSCP`") && Contains("`ENOSPC`"));
}

TEST_CASE("every, nth and after select the documented calls", "[syscall_rules]") {
  Selection every{Selection::Kind::every, 3};
  CHECK(selected(every, 10) == std::vector<std::uint64_t>{3, 6, 9});
  Selection nth{Selection::Kind::nth, 4};
  CHECK(selected(nth, 10) == std::vector<std::uint64_t>{4});
  Selection after{Selection::Kind::after, 8};
  CHECK(selected(after, 10) == std::vector<std::uint64_t>{9, 10});
  CHECK(selected(Selection{}, 3) == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("a probability with a seed selects the same calls every time, others with another seed",
          "[syscall_rules]") {
  Selection a{Selection::Kind::probability, 1, 0.1, 42};
  const auto first = selected(a, 10000);
  CHECK(selected(a, 10000) == first);
  // About 10 %: 1000 expected, far outside these bounds only if the draw is broken.
  CHECK(first.size() > 800);
  CHECK(first.size() < 1200);
  Selection b = a;
  b.seed = 43;
  CHECK(selected(b, 10000) != first);
  // Two rules of one scenario draw independently.
  CHECK(selected(a, 10000, 1) != first);
  Selection never{Selection::Kind::probability, 1, 0.0, 42};
  CHECK(selected(never, 1000).empty());
  Selection always{Selection::Kind::probability, 1, 1.0, 42};
  CHECK(selected(always, 1000).size() == 1000);
}

TEST_CASE("a syscall listed twice in one rule is trapped and counted once", "[syscall_rules]") {
  RuleSpec spec;
  spec.name = "seventh";
  spec.syscalls = {"openat", "read", "openat"};
  spec.errno_name = "EMFILE";
  const Rule rule = make_rule(spec);
  CHECK(rule.syscalls == std::vector<int>{resolve_syscall("openat"), resolve_syscall("read")});
}

TEST_CASE("rules are validated with the rule's name in the message", "[syscall_rules]") {
  const Rule rule = make_rule(spec_for({"write", "pwrite64"}));
  CHECK(rule.syscalls == std::vector<int>{SYS_write, SYS_pwrite64});
  CHECK(rule.action.error == ENOSPC);

  CHECK_THROWS_WITH(make_rule(spec_for({})), Contains("no system calls"));
  CHECK_THROWS_WITH(make_rule(spec_for({"write"}, "ENOPE")),
                    Contains("disk-full") && Contains("unknown errno"));

  RuleSpec nothing = spec_for({"write"});
  nothing.errno_name.reset();
  CHECK_THROWS_WITH(make_rule(nothing), Contains("does nothing"));
  nothing.delay = std::chrono::milliseconds(200);
  CHECK(make_rule(nothing).action.delay == std::chrono::milliseconds(200));

  RuleSpec both = spec_for({"write"});
  both.return_value = 0;
  CHECK_THROWS_WITH(make_rule(both), Contains("both an errno and a return value"));

  RuleSpec zero_every = spec_for({"write"});
  zero_every.selection = Selection{Selection::Kind::every, 0};
  CHECK_THROWS_WITH(make_rule(zero_every), Contains("at least 1"));
  RuleSpec bad_probability = spec_for({"write"});
  bad_probability.selection = Selection{Selection::Kind::probability, 1, 1.5, 0};
  CHECK_THROWS_WITH(make_rule(bad_probability), Contains("not within [0, 1]"));
}

TEST_CASE("a path glob needs syscalls that carry a path or an fd", "[syscall_rules]") {
  RuleSpec with_path = spec_for({"openat", "write", "fsync"});
  with_path.path_glob = "/var/lib/app/*";
  CHECK(make_rule(with_path).path_glob == "/var/lib/app/*");

  with_path.syscalls.push_back("getppid");
  CHECK_THROWS_WITH(make_rule(with_path), Contains("`getppid` takes no path or file descriptor"));

  CHECK(path_argument(SYS_openat)->kind == PathArgument::Kind::dirfd_and_path);
  CHECK(path_argument(SYS_openat)->index == 1);
  CHECK(path_argument(SYS_write)->kind == PathArgument::Kind::fd);
  CHECK(path_argument(SYS_mmap)->index == 4);
  CHECK(path_argument(SYS_unlink)->kind == PathArgument::Kind::path);
  CHECK_FALSE(path_argument(SYS_getppid));
}

TEST_CASE("fds selects sockets or files by the fd's /proc link, for fd-taking syscalls only",
          "[syscall_rules]") {
  CHECK(fd_link_is(FdKind::sockets, "socket:[12345]"));
  CHECK_FALSE(fd_link_is(FdKind::sockets, "/var/lib/app/db"));
  CHECK(fd_link_is(FdKind::files, "/var/lib/app/db"));
  CHECK(fd_link_is(FdKind::files, "/tmp/gone (deleted)"));
  CHECK_FALSE(fd_link_is(FdKind::files, "socket:[12345]"));
  for (const char* neither : {"pipe:[77]", "anon_inode:[eventfd]"}) {
    CHECK_FALSE(fd_link_is(FdKind::sockets, neither));
    CHECK_FALSE(fd_link_is(FdKind::files, neither));
    CHECK(fd_link_is(FdKind::any, neither));
  }

  RuleSpec spec = spec_for({"write", "connect", "fsync"});
  spec.fds = FdKind::sockets;
  CHECK(make_rule(spec).fds == FdKind::sockets);
  spec.syscalls.push_back("openat");  // a path, no fd: nothing to tell a socket from a file by
  CHECK_THROWS_WITH(make_rule(spec), Contains("`openat` takes no file descriptor, so `fds = \"sockets\"`"));
}
