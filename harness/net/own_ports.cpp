#include "net/own_ports.h"

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <utility>

namespace faultline::net {
namespace {

// How long a port stays faultline's after its socket closed. A probe that connects and closes
// at once (every tcp probe; an http probe refused) is gone before the proxy's accept handler or
// the refused-connect watcher looks its port up on the loop; without this, its connects counted
// as the client's and a fault that only a probe met passed as fired. A connect of the client
// from the same port within this time counts as faultline's: the fault then fails as one the
// client never met, the safe side for a gate.
constexpr std::chrono::seconds kLinger{10};

// Never destroyed: a dialer may still let go of its port while static objects are torn down.
struct Registry {
  std::mutex lock;
  std::multiset<std::uint16_t> ports;  // a multiset: runs side by side (-j) may each hold a port
  std::map<std::uint16_t, std::chrono::steady_clock::time_point> released;  // port -> own until
};
Registry& registry() {
  static auto* const instance = new Registry;
  return *instance;
}

void release(std::uint16_t port) {
  if (port == 0) return;
  auto& r = registry();
  std::lock_guard lock(r.lock);
  if (const auto it = r.ports.find(port); it != r.ports.end()) r.ports.erase(it);
  r.released[port] = std::chrono::steady_clock::now() + kLinger;
}

}  // namespace

OwnPort::OwnPort(std::uint16_t port) : port_(port) {
  if (port_ == 0) return;
  auto& r = registry();
  std::lock_guard lock(r.lock);
  r.ports.insert(port_);
}

OwnPort::~OwnPort() { release(port_); }

OwnPort::OwnPort(OwnPort&& other) noexcept : port_(std::exchange(other.port_, 0)) {}

OwnPort& OwnPort::operator=(OwnPort&& other) noexcept {
  if (this != &other) {
    release(port_);
    port_ = std::exchange(other.port_, 0);
  }
  return *this;
}

bool is_own_port(std::uint16_t port) {
  auto& r = registry();
  std::lock_guard lock(r.lock);
  if (r.ports.contains(port)) return true;
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(r.released, [&](const auto& entry) { return entry.second <= now; });
  return r.released.contains(port);
}

}  // namespace faultline::net
