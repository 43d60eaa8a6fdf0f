#include "common/proc_status.h"

#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

namespace faultline {

namespace {
std::optional<std::string> status_field(const std::string& file, std::string_view name) {
  std::ifstream status(file);
  std::string line;
  while (std::getline(status, line)) {
    if (line.size() <= name.size() || !line.starts_with(name) || line[name.size()] != ':') continue;
    const auto begin = line.find_first_not_of(" \t", name.size() + 1);
    if (begin == std::string::npos) return std::string();
    return line.substr(begin, line.find_last_not_of(" \t") + 1 - begin);
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::string> own_status_field(std::string_view name) {
  return status_field("/proc/self/status", name);
}

bool has_effective_capability(int cap) {
  const auto caps = own_status_field("CapEff");
  return caps && ((std::stoull(*caps, nullptr, 16) >> cap) & 1ULL);
}

std::uint64_t own_status_bytes(std::string_view name) {
  const auto value = own_status_field(name);  // "1234 kB"
  return value ? std::stoull(*value) * 1024 : 0;
}

std::uint64_t status_bytes(pid_t pid, std::string_view name) {
  const auto value = status_field("/proc/" + std::to_string(pid) + "/status", name);
  return value ? std::stoull(*value) * 1024 : 0;
}

bool process_signal_pending(pid_t pid, int signo) {
  const auto mask = status_field("/proc/" + std::to_string(pid) + "/status", "ShdPnd");  // hex, bit signo-1
  if (!mask || mask->empty() || signo < 1 || signo > 64) return false;
  try {
    return (std::stoull(*mask, nullptr, 16) >> (signo - 1)) & 1ULL;
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<std::uint64_t> pid_namespace_of(const std::string& proc_dir) {
  struct stat st {};
  if (::stat((proc_dir + "/ns/pid").c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_ino);
}

}  // namespace faultline
