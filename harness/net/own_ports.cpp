#include "net/own_ports.h"

#include <mutex>
#include <set>
#include <utility>

namespace faultline::net {
namespace {

std::mutex ports_lock;
std::multiset<std::uint16_t> ports;  // a multiset: runs side by side (-j) may each hold a port

void release(std::uint16_t port) {
  if (port == 0) return;
  std::lock_guard lock(ports_lock);
  if (const auto it = ports.find(port); it != ports.end()) ports.erase(it);
}

}  // namespace

OwnPort::OwnPort(std::uint16_t port) : port_(port) {
  if (port_ == 0) return;
  std::lock_guard lock(ports_lock);
  ports.insert(port_);
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
  std::lock_guard lock(ports_lock);
  return ports.contains(port);
}

}  // namespace faultline::net
