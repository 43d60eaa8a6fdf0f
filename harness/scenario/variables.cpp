#include "scenario/variables.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <set>

#include "common/error.h"
#include "common/unique_fd.h"
#include "scenario/did_you_mean.h"

namespace faultline::scenario {

namespace {

// The kernel's ephemeral range, from which bind(0) and connect() pick local ports.
std::pair<unsigned, unsigned> ephemeral_port_range() {
  unsigned low = 32768, high = 60999;
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  in >> low >> high;
  return {low, high};
}

// Whether 127.0.0.1:port can be bound right now (nobody listens on or holds it).
bool loopback_port_free(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket", "for an auto-port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// Claims `port` against other faultline processes in this network namespace: the abstract
// socket name exists exactly as long as some process holds the bound socket, and vanishes
// with it even when that process is killed (nothing to clean up on disk).
UniqueFd claim_port(std::uint16_t port) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket", "AF_UNIX, to claim an auto-port");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "faultline-port-" + std::to_string(port);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == 0: abstract namespace
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return UniqueFd();
  return fd;
}

std::uint16_t kernel_chosen_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket", "for an auto-port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw_errno("bind", "127.0.0.1:0");
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname", "");
  return ntohs(addr.sin_port);
}

struct PortRegistry {
  std::mutex mutex;
  std::set<std::uint16_t> handed_out;
  std::deque<UniqueFd> claims;  // oldest first
  std::mt19937 random{std::random_device{}()};
};

PortRegistry& port_registry() {
  static PortRegistry registry;
  return registry;
}

}  // namespace

std::uint16_t allocate_loopback_port() {
  constexpr unsigned kLowest = 10000;
  constexpr int kAttempts = 200;
  auto& reg = port_registry();
  std::lock_guard lock(reg.mutex);
  const auto [ephemeral_low, ephemeral_high] = ephemeral_port_range();
  if (ephemeral_low > kLowest + 1000) {
    std::uniform_int_distribution<unsigned> pick(kLowest, ephemeral_low - 1);
    for (int i = 0; i < kAttempts; ++i) {
      const auto port = static_cast<std::uint16_t>(pick(reg.random));
      if (reg.handed_out.contains(port)) continue;
      UniqueFd claim = claim_port(port);
      if (!claim) continue;  // another faultline process handed it out
      if (!loopback_port_free(port)) continue;
      reg.handed_out.insert(port);
      reg.claims.push_back(std::move(claim));
      if (reg.claims.size() > kPortClaimsHeld) reg.claims.pop_front();
      return port;
    }
  }
  // No room below the ephemeral range (an unusual sysctl): let the kernel choose, which at
  // least never repeats a port another live socket holds.
  for (int i = 0; i < kAttempts; ++i) {
    const auto port = kernel_chosen_port();
    if (reg.handed_out.insert(port).second) return port;
  }
  throw Error("no free loopback port found for an auto-port variable (ephemeral range " +
              std::to_string(ephemeral_low) + "-" + std::to_string(ephemeral_high) + ")");
}

Variables::Variables(std::map<std::string, std::string> builtins,
                     std::function<std::uint16_t()> allocate_port)
    : builtins_(std::move(builtins)), allocate_port_(std::move(allocate_port)) {
  if (!allocate_port_) allocate_port_ = allocate_loopback_port;
}

void Variables::define(const std::string& name, const std::string& raw_value) {
  if (raw_value == "auto-port") {
    resolved_[name] = std::to_string(allocate_port_());
    raw_[name] = raw_value;
    return;
  }
  raw_[name] = raw_value;
}

std::vector<std::string> Variables::names() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : builtins_) out.push_back(name);
  for (const auto& [name, value] : raw_) out.push_back(name);
  return out;
}

std::optional<std::string> Variables::value_of(const std::string& name, std::string* error,
                                               std::string* hint) {
  if (name.starts_with("env:")) {
    const std::string env_name = name.substr(4);
    const char* value = env_name.empty() ? nullptr : std::getenv(env_name.c_str());
    if (!value) {
      if (error) *error = "environment variable `" + env_name + "` is not set (in `${" + name + "}`)";
      return std::nullopt;
    }
    return std::string(value);
  }
  auto raw = raw_.find(name);
  if (keeping_ports_ && raw != raw_.end()) {
    if (raw->second == "auto-port") return "${" + name + "}";
    if (failed_.contains(name) || std::find(resolving_.begin(), resolving_.end(), name) != resolving_.end())
      return std::nullopt;
    resolving_.push_back(name);
    auto value = expand(raw->second, error, hint);  // not cached: the cache holds the numbers
    resolving_.pop_back();
    return value;
  }
  if (auto it = resolved_.find(name); it != resolved_.end()) return it->second;
  if (auto it = builtins_.find(name); it != builtins_.end()) return it->second;
  if (raw == raw_.end()) {
    if (error) *error = "undefined variable `" + name + "`";
    if (hint) {
      if (auto near = closest_match(name, names())) *hint = "did you mean `" + *near + "`?";
    }
    return std::nullopt;
  }
  if (auto loop = std::find(resolving_.begin(), resolving_.end(), name); loop != resolving_.end()) {
    if (error) {
      *error = "variables refer to each other in a cycle: ";
      for (auto it = loop; it != resolving_.end(); ++it) *error += *it + " -> ";
      *error += name;
    }
    return std::nullopt;
  }
  if (failed_.contains(name)) {
    if (error) error->clear();  // reported once, where the variable is defined
    return std::nullopt;
  }
  resolving_.push_back(name);
  auto value = expand(raw->second, error, hint);
  resolving_.pop_back();
  if (value)
    resolved_[name] = *value;
  else
    failed_.insert(name);
  return value;
}

std::optional<std::string> Variables::expand(std::string_view text, std::string* error, std::string* hint) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i).starts_with("$${")) {
      out += "${";
      i += 3;
      continue;
    }
    if (!text.substr(i).starts_with("${")) {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      if (error) *error = "unterminated `${` (write `$${` for a literal `${`)";
      return std::nullopt;
    }
    const std::string name(text.substr(i + 2, close - i - 2));
    if (name.empty()) {
      if (error) *error = "empty variable name in `${}`";
      return std::nullopt;
    }
    auto value = value_of(name, error, hint);
    if (!value) return std::nullopt;
    out += *value;
    i = close + 1;
  }
  return out;
}

std::optional<std::string> Variables::expand_keeping_ports(std::string_view text) {
  keeping_ports_ = true;
  auto value = expand(text, nullptr, nullptr);
  keeping_ports_ = false;
  return value;
}

}  // namespace faultline::scenario
