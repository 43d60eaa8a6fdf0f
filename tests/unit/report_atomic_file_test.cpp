// Report files land whole on a regular path, and are written through (never replaced) when the
// path is a FIFO, a symlink or another special file.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"
#include "reports/atomic_file.h"
#include "tests/support/scratch_dir.h"

using faultline::UniqueFd;
using faultline::report::write_file_atomically;
using faultline::test::ScratchDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t file_type(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & S_IFMT;
}

ino_t inode(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_ino;
}

// Everything written to the FIFO at `path` until the writer closes it, or what came within
// `limit` if it never does. The read end is non-blocking so that a writer that never opens
// the FIFO (it replaced it instead) fails the test rather than hanging it.
std::string read_fifo(const fs::path& path, std::chrono::milliseconds limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return "(open failed: " + std::string(std::strerror(errno)) + ")";
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    // Linux reports POLLHUP on a FIFO only after a writer came and went.
    if (n == 0 && (p.revents & POLLHUP)) break;
  }
  return got;
}

}  // namespace

TEST_CASE("report file: a FIFO at the path gets the content and stays a FIFO") {
  ScratchDir dir;
  const fs::path fifo = dir.path() / "report.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string received;
  std::thread reader([&] { received = read_fifo(fifo, std::chrono::seconds(5)); });
  // The reader must hold the FIFO open before the writer's blocking open can return.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  try {
    write_file_atomically(fifo, "{\"format\": \"faultline-report/1\"}\n");
  } catch (...) {
    reader.join();
    throw;
  }
  reader.join();
  CHECK(received == "{\"format\": \"faultline-report/1\"}\n");
  CHECK(file_type(fifo) == S_IFIFO);
}

TEST_CASE("report file: a symlink stays a symlink and its target gets the content") {
  ScratchDir dir;
  const auto target = dir.write("target.xml", "old report, longer than the new one\n");
  const fs::path link = dir.path() / "junit.xml";
  fs::create_symlink(target, link);
  write_file_atomically(link, "<testsuites/>\n");
  CHECK(file_type(link) == S_IFLNK);
  CHECK(fs::read_symlink(link) == target);
  CHECK(slurp(target) == "<testsuites/>\n");  // truncated, not overwritten in place
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 2);  // no temp left
}

TEST_CASE("report file: a dangling symlink stays a symlink and its target is created") {
  ScratchDir dir;
  const fs::path link = dir.path() / "report.html";
  fs::create_symlink(dir.path() / "artifacts.html", link);
  write_file_atomically(link, "<html></html>\n");
  CHECK(file_type(link) == S_IFLNK);
  CHECK(slurp(dir.path() / "artifacts.html") == "<html></html>\n");
}

TEST_CASE("report file: a socket at the path is an error naming it, and stays a socket") {
  ScratchDir dir;
  const fs::path path = dir.path() / "report.json";
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(sock);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.string().size() < sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  REQUIRE(::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  // open(2) on a socket file fails with ENXIO.
  CHECK_THROWS_WITH(write_file_atomically(path, "{}\n"),
                    "open " + path.string() + ": No such device or address");
  CHECK(file_type(path) == S_IFSOCK);
}

TEST_CASE("report file: a regular file is replaced whole, by rename") {
  ScratchDir dir;
  const auto path = dir.write("report.json", "old");
  const fs::path keeper = dir.path() / "keeper";
  fs::create_hard_link(path, keeper);
  const ino_t before = inode(path);
  write_file_atomically(path, "new\n");
  CHECK(slurp(path) == "new\n");
  CHECK(inode(path) != before);
  CHECK(slurp(keeper) == "old");  // the old file was never written to: readers see old or new
  CHECK(file_type(path) == S_IFREG);
}

TEST_CASE("report file: a missing file is created; a missing folder is an error naming it") {
  ScratchDir dir;
  write_file_atomically(dir.path() / "new.json", "{}\n");
  CHECK(slurp(dir.path() / "new.json") == "{}\n");
  CHECK_THROWS_WITH(write_file_atomically(dir.path() / "nope" / "r.json", "{}\n"),
                    Catch::StartsWith("mkstemp " + (dir.path() / "nope").string()) &&
                        Catch::EndsWith(": No such file or directory"));
}
