#include "net/refused_connects.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/unique_fd.h"

namespace faultline::net {

namespace asio = boost::asio;

namespace {

constexpr std::uint8_t kSyn = 0x02;
constexpr std::uint8_t kAck = 0x10;
constexpr std::uint32_t kSnapBytes = 128;  // an IPv4 header with options and the TCP flags fit
// Packets read per wake-up: clients retrying in a tight loop must not hold the event loop, which
// also runs the timer that ends the partition.
constexpr int kPacketsPerWake = 256;

std::optional<std::uint16_t> opens_connection(const unsigned char* tcp, std::size_t size,
                                              std::uint16_t port) {
  if (size < 14) return std::nullopt;
  const std::uint16_t destination = static_cast<std::uint16_t>((tcp[2] << 8) | tcp[3]);
  if (destination != port || (tcp[13] & (kSyn | kAck)) != kSyn) return std::nullopt;
  return static_cast<std::uint16_t>((tcp[0] << 8) | tcp[1]);
}

// A classic BPF program that keeps only SYNs without ACK to `port` (and, for IPv4, to
// `ipv4_destination` when set), so the socket is not woken by every TCP packet of the host while
// a partition lasts. IPv4 raw sockets see the packet from its IP header, IPv6 ones from the TCP
// header.
std::vector<sock_filter> filter_for(int family, std::uint16_t port,
                                    std::optional<std::uint32_t> ipv4_destination) {
  std::vector<sock_filter> program;
  std::vector<std::size_t> to_drop;  // the conditional jumps whose "false" branch drops
  const auto drop_unless = [&](std::uint32_t value) {
    to_drop.push_back(program.size());
    program.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, 0));
  };
  if (family == AF_INET) {
    if (ipv4_destination) {
      program.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16));
      drop_unless(*ipv4_destination);
    }
    program.push_back(BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0));  // X = the IP header's length
  } else {
    program.push_back(BPF_STMT(BPF_LDX | BPF_IMM, 0));
  }
  program.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2));
  drop_unless(port);
  program.push_back(BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13));
  program.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, kSyn | kAck));
  drop_unless(kSyn);
  program.push_back(BPF_STMT(BPF_RET | BPF_K, kSnapBytes));
  const std::size_t drop = program.size();
  program.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
  for (const std::size_t at : to_drop) program[at].jf = static_cast<std::uint8_t>(drop - at - 1);
  return program;
}

}  // namespace

std::optional<std::uint16_t> is_connect_attempt(const unsigned char* packet, std::size_t size, int family,
                                                std::uint16_t port) {
  if (family == AF_INET6) return opens_connection(packet, size, port);
  if (family != AF_INET || size < 20 || (packet[0] >> 4) != 4 || packet[9] != IPPROTO_TCP)
    return std::nullopt;
  const std::size_t header = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
  if (header < 20 || size < header) return std::nullopt;
  return opens_connection(packet + header, size - header, port);
}

struct RefusedConnectWatch::Socket : std::enable_shared_from_this<Socket> {
  Socket(asio::io_context& io, UniqueFd fd, int family, std::uint16_t port,
         std::shared_ptr<OnAttempt> on_attempt)
      : descriptor(io, fd.release()), family(family), port(port), on_attempt(std::move(on_attempt)) {}

  asio::posix::stream_descriptor descriptor;
  int family;
  std::uint16_t port;
  std::shared_ptr<OnAttempt> on_attempt;
  std::atomic<bool> stopped{false};

  void arm() {
    descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                            if (ec || self->stopped) return;
                            self->drain();
                            if (!self->stopped) self->arm();
                          });
  }

  void drain() {
    unsigned char packet[kSnapBytes];
    for (int read = 0; read < kPacketsPerWake && !stopped;) {
      const ssize_t n = ::recv(descriptor.native_handle(), packet, sizeof packet, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;  // EAGAIN: every queued packet is read
      ++read;
      if (const auto source = is_connect_attempt(packet, static_cast<std::size_t>(n), family, port))
        (*on_attempt)(*source);
    }
  }
};

RefusedConnectWatch::RefusedConnectWatch(asio::io_context& io, const asio::ip::tcp::endpoint& where,
                                         OnAttempt on_attempt) {
  auto address = where.address();
  // A v4-mapped address (::ffff:127.0.0.1) takes IPv4 connects only.
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  const std::string text = (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
                           std::to_string(where.port());
  std::vector<int> families;
  if (address.is_v4() || (address.is_v6() && address.is_unspecified())) families.push_back(AF_INET);
  if (address.is_v6()) families.push_back(AF_INET6);
  std::optional<std::uint32_t> ipv4_destination;
  if (address.is_v4() && !address.is_unspecified()) ipv4_destination = address.to_v4().to_uint();
  const std::string subject = "to see connects refused at " + text;

  auto shared_callback = std::make_shared<OnAttempt>(std::move(on_attempt));
  for (const int family : families) {
    UniqueFd fd(::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
    if (!fd) {
      const int err = errno;
      const SystemError failed("socket(SOCK_RAW)", subject, err);
      if (err != EPERM && err != EACCES) throw failed;
      throw Error(std::string(failed.what()) + " (seeing them needs CAP_NET_RAW: run faultline as root)");
    }
    // Bound to a specific address, the raw socket gets only packets to it (the kernel matches a
    // raw socket's bound address against the destination, for IPv6 too).
    if (!address.is_unspecified()) {
      const asio::ip::tcp::endpoint local(address, 0);
      if (::bind(fd.get(), local.data(), static_cast<socklen_t>(local.size())) != 0)
        throw_errno("bind(SOCK_RAW)", subject);
    }
    const auto program = filter_for(family, where.port(), ipv4_destination);
    const sock_fprog fprog{static_cast<unsigned short>(program.size()),
                           const_cast<sock_filter*>(program.data())};
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0)
      throw_errno("setsockopt(SO_ATTACH_FILTER)", subject);
    // What came before the filter was unfiltered, and came while the listener still listened (the
    // watch starts before the partition closes it): none of it was refused.
    unsigned char discard[kSnapBytes];
    while (::recv(fd.get(), discard, sizeof discard, MSG_DONTWAIT) >= 0 || errno == EINTR) {
    }
    sockets_.push_back(std::make_shared<Socket>(io, std::move(fd), family, where.port(), shared_callback));
  }
  for (auto& socket : sockets_) socket->arm();
}

RefusedConnectWatch::~RefusedConnectWatch() {
  for (auto& socket : sockets_) {
    socket->stopped = true;
    // Closed on the loop's thread: a handler there may be reading the descriptor right now.
    asio::post(socket->descriptor.get_executor(), [socket] {
      boost::system::error_code ignored;
      socket->descriptor.close(ignored);
    });
  }
}

}  // namespace faultline::net
