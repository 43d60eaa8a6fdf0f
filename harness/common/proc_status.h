// Fields of /proc/self/status: the effective capabilities and the memory this process holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline {

// The text after "Name:" on that field's line, trimmed; nullopt where the kernel has no such field.
std::optional<std::string> own_status_field(std::string_view name);

// Whether capability `cap` (CAP_SYS_ADMIN, ...) is in this process's effective set.
bool has_effective_capability(int cap);

// A "... kB" field in bytes (RssAnon, VmPTE, ...); 0 where the kernel has no such field.
std::uint64_t own_status_bytes(std::string_view name);

}  // namespace faultline
