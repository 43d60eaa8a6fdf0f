// The one sendmsg a target's child makes under its seccomp filter before anyone could answer a
// notification: the hand-off of the listener fd to the harness. The filter lets it through only
// on the hand-off socket's fd number with exactly these flags; the fd number alone would also
// spare every later sendmsg of the target on a socket that happens to get that number.
// MSG_CONFIRM means nothing on a unix socket, and no program sends on one with this combination.
#pragma once

#include <sys/socket.h>

namespace faultline {

inline constexpr int kListenerHandoffFlags = MSG_NOSIGNAL | MSG_DONTWAIT | MSG_CONFIRM;

}  // namespace faultline
