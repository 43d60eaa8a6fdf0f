// Errors that carry their context up to the one top-level handler that prints them.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace faultline {

// A failure with a human-readable message. Higher layers add context with
// `with_context` ("creating cgroup for process `api`: mkdir …: Permission denied").
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  Error with_context(const std::string& context) const { return Error(context + ": " + what()); }
};

// A failed system call: says which call, on what, and the errno text.
class SystemError : public Error {
 public:
  SystemError(const std::string& syscall, const std::string& subject, int err);
  int code() const noexcept { return errno_; }

 private:
  int errno_;
};

// Throws SystemError with the current errno.
[[noreturn]] void throw_errno(const std::string& syscall, const std::string& subject);

}  // namespace faultline
