#include "common/listeners.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/address.h"

namespace faultline {

namespace {

std::string read_all(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "0100007F" (IPv4) or 32 hex digits (IPv6): the address's bytes as the kernel prints them, in
// 32-bit words of host byte order.
std::string ip_text(const std::string& hex_address) {
  std::array<unsigned char, 16> bytes{};
  const std::size_t words = hex_address.size() / 8;
  if (words != 1 && words != 4) return hex_address;
  for (std::size_t w = 0; w < words; ++w) {
    const auto word = static_cast<std::uint32_t>(std::stoul(hex_address.substr(w * 8, 8), nullptr, 16));
    std::memcpy(bytes.data() + w * 4, &word, 4);  // host order, as the kernel wrote it
  }
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(words == 1 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

bool fd_dir_holds(const std::string& fd_dir, const std::string& link) {
  DIR* dir = ::opendir(fd_dir.c_str());
  if (!dir) return false;
  bool found = false;
  std::array<char, 64> target{};
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = fd_dir + "/" + entry->d_name;
    const ssize_t n = ::readlink(path.c_str(), target.data(), target.size() - 1);
    if (n > 0 && std::string(target.data(), static_cast<std::size_t>(n)) == link) {
      found = true;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

std::string socket_link(std::uint64_t inode) { return "socket:[" + std::to_string(inode) + "]"; }

}  // namespace

bool is_this_hosts_address(const std::string& ip) {
  const auto wanted = ip_literal_bytes(ip);
  if (!wanted) return false;
  ifaddrs* interfaces = nullptr;
  if (::getifaddrs(&interfaces) != 0) return false;
  bool found = false;
  for (const ifaddrs* i = interfaces; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    // As text, to be read back as one form for both families.
    char text[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET)
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    else if (i->ifa_addr->sa_family == AF_INET6)
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, text,
                  sizeof text);
    found = ip_literal_bytes(text) == wanted;  // "" (another family) is no address
  }
  ::freeifaddrs(interfaces);
  return found;
}

std::vector<TcpListener> parse_tcp_listeners(const std::string& table, std::uint16_t port) {
  std::vector<TcpListener> found;
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
    std::uint64_t inode = 0;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
          inode))
      continue;
    const auto colon = local.rfind(':');
    if (state != "0A" || colon == std::string::npos) continue;  // 0A: TCP_LISTEN
    if (std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
    const std::string ip = ip_text(local.substr(0, colon));
    const bool v6 = ip.find(':') != std::string::npos;
    found.push_back(
        {ip, (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port), ip == "0.0.0.0" || ip == "::", inode});
  }
  return found;
}

std::vector<TcpListener> tcp_listeners(std::uint16_t port) {
  auto found = parse_tcp_listeners(read_all("/proc/net/tcp"), port);
  for (auto& six : parse_tcp_listeners(read_all("/proc/net/tcp6"), port)) found.push_back(std::move(six));
  return found;
}

bool socket_is_ours(std::uint64_t inode) { return fd_dir_holds("/proc/self/fd", socket_link(inode)); }

bool socket_held_by_any(std::uint64_t inode, const std::vector<pid_t>& pids) {
  const std::string link = socket_link(inode);
  return std::any_of(pids.begin(), pids.end(),
                     [&](pid_t pid) { return fd_dir_holds("/proc/" + std::to_string(pid) + "/fd", link); });
}

std::optional<SocketHolder> socket_holder(std::uint64_t inode) {
  DIR* proc = ::opendir("/proc");
  if (!proc) return std::nullopt;
  std::optional<SocketHolder> holder;
  while (const dirent* entry = ::readdir(proc)) {
    const std::string pid = entry->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!fd_dir_holds("/proc/" + pid + "/fd", socket_link(inode))) continue;
    std::ifstream comm_file("/proc/" + pid + "/comm");
    std::string comm;
    std::getline(comm_file, comm);
    holder = SocketHolder{static_cast<pid_t>(std::stol(pid)), comm};
    break;
  }
  ::closedir(proc);
  return holder;
}

}  // namespace faultline
