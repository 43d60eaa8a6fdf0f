// The path a trapped call is about, read from outside the target: the path argument from its
// memory (process_vm_readv), an fd argument through /proc/PID/fd/N.
//
// Time of check, time of use: another thread of the target can change the path buffer, or the fd
// table, between this read and the moment the kernel runs the call (after a CONTINUE it reads the
// arguments again). For fault injection that is harmless (a call may be failed or spared by
// mistake when a racing program rewrites its own buffers); it must never be used to enforce
// anything.
#pragma once

#include <linux/seccomp.h>

#include <optional>
#include <string>

#include "syscall/rules.h"

namespace faultline::syscall {

// The path the call names, made absolute (relative ones against the dirfd or the cwd) with `.`
// and `..` taken out (so `/data/../etc/x` is `/etc/x`, as a glob on `/data/*` must see it), or
// nullopt when it cannot be read (the target is gone, a bad pointer: the call then goes through).
// An fd argument gives its /proc link: the file as the kernel resolved it.
std::optional<std::string> target_path(const seccomp_data& call, pid_t pid, const PathArgument& where);

// The file an absolute path names, with its symlinks resolved as far as it exists (a file about
// to be created keeps its last name), or nullopt when that is the path itself. A path argument
// through a symlink matches a glob on either form, as an fd on the same file matches its link.
std::optional<std::string> resolved_path(const std::string& absolute);

// Reads a NUL-terminated string of at most `max` bytes from the target, a page at a time so a
// string that ends just before an unmapped page is still read.
std::optional<std::string> read_target_string(pid_t pid, std::uint64_t address, std::size_t max);

}  // namespace faultline::syscall
