#include "common/error.h"

#include <cstring>

namespace faultline {

SystemError::SystemError(const std::string& syscall, const std::string& subject, int err)
    : Error(syscall + (subject.empty() ? "" : " " + subject) + ": " + std::strerror(err)), errno_(err) {}

void throw_errno(const std::string& syscall, const std::string& subject) {
  throw SystemError(syscall, subject, errno);
}

}  // namespace faultline
