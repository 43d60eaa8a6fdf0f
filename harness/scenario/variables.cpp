#include "scenario/variables.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.h"
#include "common/unique_fd.h"
#include "scenario/did_you_mean.h"

namespace faultline::scenario {

std::uint16_t allocate_loopback_port() {
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
  if (auto it = resolved_.find(name); it != resolved_.end()) return it->second;
  if (auto it = builtins_.find(name); it != builtins_.end()) return it->second;
  auto raw = raw_.find(name);
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

}  // namespace faultline::scenario
