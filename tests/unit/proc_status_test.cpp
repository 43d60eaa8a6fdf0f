#include "common/proc_status.h"

#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

using namespace faultline;

TEST_CASE("proc status: a field is found by its whole name, not by a prefix", "[proc_status]") {
  const auto name = own_status_field("Name");
  REQUIRE(name);
  CHECK(*name == "unit-tests");
  CHECK_FALSE(own_status_field("Vm"));  // VmPeak, VmRSS, ... share the prefix
  CHECK_FALSE(own_status_field("NoSuchField"));
  CHECK(own_status_bytes("NoSuchField") == 0);
}

TEST_CASE("proc status: RssAnon grows by the pages this process touches", "[proc_status]") {
  constexpr std::size_t kSize = 32u << 20;
  const std::uint64_t before = own_status_bytes("RssAnon");
  void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  std::memset(p, 1, kSize);
  const std::uint64_t after = own_status_bytes("RssAnon");
  ::munmap(p, kSize);
  CHECK(after >= before + kSize);
  CHECK(after < before + 2 * kSize);
}

TEST_CASE("proc status: the effective capabilities are those capget(2) reports", "[proc_status]") {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  REQUIRE(::syscall(SYS_capget, &header, data) == 0);
  for (int cap : {CAP_CHOWN, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CAP_NET_ADMIN, CAP_BPF}) {
    INFO("capability " << cap);
    CHECK(has_effective_capability(cap) == (((data[cap / 32].effective >> (cap % 32)) & 1u) == 1));
  }
}
