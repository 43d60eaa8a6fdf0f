// Preparing the faultline parent on fake cgroup trees (plain directories): only the host's own
// refusals (EACCES/EPERM/EROFS/ENOENT, read from the failing call) become HostRefusal, the one
// error tests may skip on; anything else in the way is a HostError that fails them.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cgroup/backend_base.h"
#include "cgroup/v1_backend.h"
#include "cgroup/v2_backend.h"

using namespace faultline::cgroup;
namespace fs = std::filesystem;

namespace {

class FakeTree {
 public:
  FakeTree() {
    char tmpl[] = "/tmp/faultline-fake-cgroupfs-XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  ~FakeTree() { fs::remove_all(root_); }
  const fs::path& root() const { return root_; }
  // A directory that looks like a v2 cgroup offering no controllers.
  fs::path v2_level(const fs::path& dir) const {
    fs::create_directories(dir);
    std::ofstream(dir / "cgroup.controllers") << "\n";
    std::ofstream(dir / "cgroup.subtree_control") << "\n";
    return dir;
  }

 private:
  fs::path root_;
};

// What prepare_parent threw: "refusal <errno>", "error <errno>" or "none".
std::string outcome(BackendBase& backend, std::string* message = nullptr) {
  try {
    prepare_parent(backend);
  } catch (const HostRefusal& e) {
    if (message) *message = e.what();
    return "refusal " + std::to_string(e.code());
  } catch (const HostError& e) {
    if (message) *message = e.what();
    return "error " + std::to_string(e.code());
  }
  return "none";
}

V1Backend v1_backend(const fs::path& memory_mount) {
  HostCgroups host;
  host.mode = Mode::v1;
  host.v1["memory"] = CgroupMount{memory_mount, "/", false, {"memory"}};
  return V1Backend(host, "/faultline", /*own_cgroups=*/"");
}

}  // namespace

TEST_CASE("prepare_parent: a file where the v2 parent should be is an error, not a refusal", "[cgroup]") {
  FakeTree tree;
  const auto mount = tree.v2_level(tree.root() / "cgroup");
  std::ofstream(mount / "faultline") << "not a cgroup\n";
  V2Backend backend(CgroupMount{mount, "/", true, {}}, mount / "faultline", std::nullopt, /*own_cgroups=*/"");
  std::string message;
  CHECK(outcome(backend, &message) == "error " + std::to_string(EEXIST));
  CHECK(message.find("mkdir " + (mount / "faultline").string() + ": File exists") != std::string::npos);
  CHECK(message.find("This is not a permission problem") != std::string::npos);
  CHECK(message.find("run faultline as root") == std::string::npos);  // no misleading fix
}

TEST_CASE("prepare_parent: a file where a v1 hierarchy should be (ENOTDIR) is an error, not a refusal",
          "[cgroup]") {
  FakeTree tree;
  const auto memory = tree.root() / "memory";
  std::ofstream(memory) << "not a hierarchy\n";
  auto backend = v1_backend(memory);
  std::string message;
  CHECK(outcome(backend, &message) == "error " + std::to_string(ENOTDIR));
  CHECK(message.find("mkdir " + (memory / "faultline").string() + ": Not a directory") != std::string::npos);
}

TEST_CASE("prepare_parent: a v2 level that is no cgroup (ENOENT) is the host refusing", "[cgroup]") {
  FakeTree tree;
  const auto mount = tree.root() / "not-cgroupfs";
  fs::create_directories(mount);  // a directory without cgroup.controllers
  V2Backend backend(CgroupMount{mount, "/", true, {}}, mount / "faultline", std::nullopt, /*own_cgroups=*/"");
  std::string message;
  CHECK(outcome(backend, &message) == "refusal " + std::to_string(ENOENT));
  CHECK(message.find("cgroup.controllers: No such file or directory. Fix: run faultline as root") !=
        std::string::npos);
}

TEST_CASE("prepare_parent: a file where the v1 parent should be is an error, not a refusal", "[cgroup]") {
  FakeTree tree;
  const auto memory = tree.root() / "memory";
  fs::create_directories(memory);
  std::ofstream(memory / "faultline") << "not a cgroup\n";
  auto backend = v1_backend(memory);
  std::string message;
  CHECK(outcome(backend, &message) == "error " + std::to_string(EEXIST));
  CHECK(message.find("mkdir " + (memory / "faultline").string() + ": File exists") != std::string::npos);
  // An existing directory is fine: the parent is shared by every run.
  fs::remove(memory / "faultline");
  fs::create_directories(memory / "faultline");
  CHECK(outcome(backend) == "none");
}

TEST_CASE("is_host_refusal: permission, read-only and missing only", "[cgroup]") {
  for (int err : {EACCES, EPERM, EROFS, ENOENT}) CHECK(is_host_refusal(err));
  for (int err : {0, ENOTDIR, EEXIST, EINVAL, EBUSY, ENOSPC, EIO, ENOMEM}) CHECK_FALSE(is_host_refusal(err));
}
