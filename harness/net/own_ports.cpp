#include "net/own_ports.h"

#include <mutex>
#include <set>
#include <utility>

namespace faultline::net {
namespace {

// Never destroyed: a dialer may still let go of its port while static objects are torn down.
struct Registry {
  std::mutex lock;
  std::multiset<std::uint16_t> ports;  // a multiset: runs side by side (-j) may each hold a port
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
  return r.ports.contains(port);
}

}  // namespace faultline::net
