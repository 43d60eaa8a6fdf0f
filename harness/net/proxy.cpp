#include "net/proxy.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <utility>

#include "common/error.h"
#include "net/own_ports.h"
#include "net/refused_connects.h"

namespace faultline::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;
// One recursive mutex per proxy: public calls come from any thread (also from handlers on the
// loop that already hold it), handlers take it on entry. The loop is one thread, so it is
// uncontended in the data path.
using Lock = std::lock_guard<std::recursive_mutex>;
// The unshaped relay buffer of a flow starts small, so idle and chatty connections cost little,
// and doubles each time one recv fills it, up to the size that let a bulk transfer through at
// 1.3-1.4x the direct connection's time (splice(2) through a pipe took 1.8-2.0x and more CPU
// on Linux 6.18; bench/proxy_bench.cpp measures both).
constexpr std::size_t kRelayFirstBytes = 64u << 10;
constexpr std::size_t kRelayMaxBytes = 4u << 20;
constexpr int kStreak = 8;
// How far ahead a bandwidth fault paces data it has taken from the source (paced_ahead).
constexpr std::chrono::milliseconds kPaceAhead{100};

struct ProxyConnection;

struct TcpProxy::State : std::enable_shared_from_this<TcpProxy::State> {
  State(asio::io_context& io, ProxyConfig config)
      : io(io), config(std::move(config)), origin(this->config.origin.value_or(Clock::now())) {}

  asio::io_context& io;
  ProxyConfig config;
  Clock::time_point origin;
  mutable std::recursive_mutex mutex;
  tcp::endpoint upstream;
  tcp::endpoint bound;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<RefusedConnectWatch> refused_watch;  // while a partition is in force
  bool running = false;
  bool down = false;
  std::uint64_t next_index = 0;
  // faultline's own connections (own_ports.h) are numbered apart, so that a probe's timing does
  // not change which client connections a toxicity below 1 selects.
  std::uint64_t next_own_index = kOwnIndex;
  std::map<std::uint64_t, std::shared_ptr<ProxyConnection>> connections;
  std::map<std::string, Toxic> toxics;
  ProxyStats stats;
  // What faultline's own probes and readiness checks met here: the toxics act on them as on any
  // connection, but they are no client of the scenario, so `stats` leaves them out.
  ProxyStats own_stats;

  static constexpr std::uint64_t kOwnIndex = std::uint64_t{1} << 63;

  double ms_since_origin() const {
    return std::chrono::duration<double, std::milli>(Clock::now() - origin).count();
  }
  Error error(const std::string& what, const error_code& ec, const std::string& hint) const {
    return Error("proxy `" + config.name + "`: " + what + ": " + ec.message() +
                 (hint.empty() ? "" : "; " + hint));
  }
  void listen();
  void accept_next();
  void close_listener();
  void close_all();
  void watch_refused_connects();
  std::vector<std::shared_ptr<ProxyConnection>> snapshot() const;
};

// One direction of a connection. Unshaped data is relayed from `from` to `to` one chunk at a
// time through `relay`. Shaped data is read into `held`, each piece stamped with the time the
// toxics let it go (its arrival plus the delay), and written in order when due; reading goes on
// meanwhile so every piece is delayed from its own arrival, until `buffer_bytes` are held (then
// a slow destination slows the source).
struct Flow {
  struct Piece {
    std::vector<char> data;
    Clock::time_point not_before;
  };
  // How the source ended, passed on once the held data is written.
  enum class End { none, eof, reset, error };
  Flow(asio::io_context& io, Direction direction, tcp::socket& from, tcp::socket& to, std::size_t buffer)
      : direction(direction), from(from), to(to), buffer_bytes(buffer), timer(io) {}
  Direction direction;
  tcp::socket& from;
  tcp::socket& to;
  // Made on the first chunk a toxic shapes: a flow that only relays never needs one, and
  // 1000 idle connections should not cost 512 MiB of memory.
  std::unique_ptr<char[]> buffer;
  std::size_t buffer_bytes;
  std::deque<Piece> held;
  std::size_t held_bytes = 0;
  Clock::time_point last_due{};   // pieces leave in order, jitter or not
  Micros last_delay{0};           // the latency the last piece read was given
  bool writing = false;           // a timer or a write for held.front() is under way
  bool paused = false;            // reading stopped: `held` is full
  bool close_after = false;       // limit_data reached: close once the held data is written
  End end = End::none;            // the source ended while data was held
  End dark_end = End::none;       // the source ended while a timeout toxic dropped everything
  bool finished = false;          // source at EOF, destination shut down
  std::unique_ptr<char[]> relay;  // unshaped data between recv and send, made on first use
  std::size_t relay_bytes = 0;    // its size
  std::size_t relay_from = 0;     // relay[relay_from, relay_to) is received, not yet sent
  std::size_t relay_to = 0;
  int streak = 0;  // chunks relayed without a wait on the loop
  asio::steady_timer timer;
  std::map<std::string, std::uint64_t> limit_used;
  std::map<std::string, TokenBucket> buckets;
};

struct ProxyConnection : std::enable_shared_from_this<ProxyConnection> {
  ProxyConnection(std::shared_ptr<TcpProxy::State> proxy_state, std::uint64_t index, tcp::socket socket)
      : proxy(std::move(proxy_state)),
        index(index),
        client(std::move(socket)),
        server(proxy->io),
        up(proxy->io, Direction::upstream, client, server, proxy->config.buffer_bytes),
        down(proxy->io, Direction::downstream, server, client, proxy->config.buffer_bytes),
        random(proxy->config.seed ^ stable_hash("connection") ^ (index * 0x9e3779b97f4a7c15ull)) {}

  std::shared_ptr<TcpProxy::State> proxy;
  std::uint64_t index;
  tcp::socket client;
  tcp::socket server;
  Flow up;
  Flow down;
  SeededRandom random;
  Clock::time_point accepted_at = Clock::now();
  bool started = false;  // upstream connected, toxics attached
  bool open = true;
  bool first_byte = false;
  std::map<std::string, std::unique_ptr<asio::steady_timer>> toxic_timers;
  // The toxics that have had an effect on this connection (see mark_touched).
  std::set<std::string> touched_by;

  bool selected(const std::string& name, const Toxic& toxic) const {
    return selects_connection(proxy->config.seed, name, index, toxic.toxicity);
  }

  // Whether the toxic acts on this flow: its direction, and this connection among those it selects.
  bool in_force(const std::string& name, const Toxic& toxic, const Flow& flow) const {
    return acts_on(toxic.direction, flow.direction) && selected(name, toxic);
  }

  void connect_upstream() {
    server.async_connect(proxy->upstream, [self = shared_from_this()](error_code ec) {
      Lock lock(self->proxy->mutex);
      if (!self->open) return;
      if (ec) return self->close();
      error_code ignored;
      self->client.set_option(tcp::no_delay(true), ignored);
      self->server.set_option(tcp::no_delay(true), ignored);
      // Non-blocking: every recv and send is tried after a readiness wait and may find less.
      self->client.non_blocking(true, ignored);
      self->server.non_blocking(true, ignored);
      self->started = true;
      for (auto& [name, toxic] : self->proxy->toxics)
        if (self->selected(name, toxic)) self->attach(name, toxic);
      if (!self->open) return;  // reset at once
      self->read(self->up);
      self->read(self->down);
    });
  }

  // The client's statistics, or, for a connection of faultline's own, the ones kept apart.
  ProxyStats& counted() { return index >= TcpProxy::State::kOwnIndex ? proxy->own_stats : proxy->stats; }

  // Counts this connection in `stats.touched` for the toxic `name`, once: called where the toxic
  // has a real effect, not where it merely selects the connection, so a fault in force over an
  // idle connection does not look as if it had done something. A toxic that is reverted and
  // applied again under the same name still counts the connection once: the figure is the
  // number of distinct connections the fault affected over the whole run.
  void mark_touched(const std::string& name) {
    if (touched_by.insert(name).second) ++counted().touched[name];
  }

  // The client still takes part in the connection: it has not ended its side, or data is on its
  // way to it. One that sent its FIN and has all it was sent is taken for gone (the server alone
  // keeps the connection), so closing or resetting the connection then does not count as
  // touched. TCP cannot tell a client that closed from one that only shut its sending side and
  // still waits for an answer nothing sends yet: that rare half-closed client is not counted
  // either (docs/proxy.md), the price of never counting a fault that only a gone client met.
  bool client_engaged() const {
    return !up.finished || down.writing || down.held_bytes > 0 || down.relay_to > down.relay_from;
  }

  // The effects a toxic has on a connection as a whole, from the moment it is affected. Being
  // selected counts for nothing yet: the data toxics count in forward(), slow_close in finish(),
  // reset when it sends the RST, timeout when it drops data or closes the connection.
  void attach(const std::string& name, const Toxic& toxic) {
    const bool timed = toxic.kind == ToxicKind::timeout || toxic.kind == ToxicKind::reset;
    if (!timed) return;
    if (toxic.kind == ToxicKind::reset && toxic.after.count() == 0) {
      if (client_engaged()) mark_touched(name);
      return reset(toxic.direction);
    }
    if (toxic.kind == ToxicKind::timeout && toxic.after.count() == 0) return;  // a black hole
    auto& timer = toxic_timers[name];
    timer = std::make_unique<asio::steady_timer>(proxy->io, toxic.after);
    timer->async_wait(
        [self = shared_from_this(), name, kind = toxic.kind, direction = toxic.direction](error_code ec) {
          Lock lock(self->proxy->mutex);
          if (ec || !self->open) return;
          // The RST is sent, or the timeout closes the connection.
          if (self->client_engaged()) self->mark_touched(name);
          if (kind == ToxicKind::reset) return self->reset(direction);
          self->close();
        });
  }

  void detach(const std::string& name) {
    toxic_timers.erase(name);
    // The link is back: an end it held is passed on now, as the peer's retransmission would be.
    for (Flow* flow : {&up, &down})
      if (flow->dark_end != Flow::End::none && !black_hole_on(*flow) && open)
        ended(*flow, std::exchange(flow->dark_end, Flow::End::none));
  }

  // The timeout toxic in force on this flow, if any: it drops what the source sends.
  const std::string* black_hole_on(const Flow& flow) const {
    for (const auto& [name, toxic] : proxy->toxics)
      if (toxic.kind == ToxicKind::timeout && in_force(name, toxic, flow)) return &name;
    return nullptr;
  }

  // Whether a toxic changes the data of this flow (slow_close and reset act on the connection).
  bool shaped(const Flow& flow) const {
    for (auto& [name, toxic] : proxy->toxics) {
      const bool data = toxic.kind == ToxicKind::latency || toxic.kind == ToxicKind::bandwidth ||
                        toxic.kind == ToxicKind::timeout || toxic.kind == ToxicKind::slicer ||
                        toxic.kind == ToxicKind::limit_data;
      if (data && in_force(name, toxic, flow)) return true;
    }
    return false;
  }

  // Takes the next chunk from the source, choosing per chunk: straight through the relay
  // buffer when no toxic shapes the data (the throughput path), or a read into the buffer for
  // the toxics to plan. A toxic applied meanwhile acts on the next chunk.
  void pump(Flow& flow) {
    // Held data goes first: relaying past it would reorder the stream.
    if (flow.held.empty() && !shaped(flow)) return relay_in(flow);
    read_buffered(flow);
  }

  // Comes back to the flow on a later turn of the loop (other flows first), trying at once.
  void read(Flow& flow) {
    asio::post(proxy->io, [self = shared_from_this(), &flow] {
      Lock lock(self->proxy->mutex);
      if (self->open) self->pump(flow);
    });
  }

  // Only after the source said EAGAIN: asio registers sockets edge-triggered and a readiness
  // wait is not tried first, so waiting while data is already queued could wait for good.
  // (The loop runs on one thread, so no readiness event is handled between the EAGAIN and
  // this wait.)
  void wait_readable(Flow& flow) {
    flow.from.async_wait(tcp::socket::wait_read, [self = shared_from_this(), &flow](error_code ec) {
      Lock lock(self->proxy->mutex);
      if (!self->open) return;
      if (ec) return self->close();
      self->pump(flow);
    });
  }

  // Whether the data held already keeps a bandwidth fault busy for longer than kPaceAhead. A
  // link at the rate takes no more from the source than it passes on: reading on (up to the
  // buffer) would pace what was read long after the fault ends, a 1 s fault at 4 KiB/s holding
  // back a 256 KiB buffer for a minute. Paused, the source backs up in the kernel as on a slow
  // link, and after the revert its data is relayed at once.
  // (Latency is not pacing: data due later only because of its delay is read ahead as always.)
  bool paced_ahead(const Flow& flow) const {
    const auto horizon = Clock::now() + flow.last_delay + kPaceAhead;
    return std::any_of(flow.buckets.begin(), flow.buckets.end(),
                       [&](const auto& entry) { return entry.second.busy_until() > horizon; });
  }

  // The most one read takes while a bandwidth fault is in force on the flow: kPaceAhead at its
  // rate (at least one byte), so that a single read does not take a whole buffer to pace.
  std::size_t paced_read_limit(const Flow& flow) const {
    std::size_t limit = flow.buffer_bytes;
    for (const auto& [name, toxic] : proxy->toxics)
      if (toxic.kind == ToxicKind::bandwidth && in_force(name, toxic, flow))
        limit = std::min<std::size_t>(
            limit,
            std::max<std::uint64_t>(1, toxic.rate * static_cast<std::uint64_t>(kPaceAhead.count()) / 1000));
    return limit;
  }

  void read_buffered(Flow& flow) {
    const std::size_t room =
        std::min(flow.buffer_bytes - std::min(flow.buffer_bytes, flow.held_bytes), paced_read_limit(flow));
    if (room == 0 || (!flow.held.empty() && paced_ahead(flow))) {
      flow.paused = true;  // write_next reads again when a piece has left
      return;
    }
    if (!flow.buffer) {
      flow.buffer = std::make_unique_for_overwrite<char[]>(flow.buffer_bytes);
      // The kernel stamps each arriving segment, so a delay counts from the data's arrival, not
      // from when a busy loop got round to reading it. A failure leaves the read time.
      int on = 1;
      ::setsockopt(flow.from.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    }
    iovec data{flow.buffer.get(), room};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(flow.from.native_handle(), &message, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return wait_readable(flow);
    if (n < 0 && errno == EINTR) return read(flow);  // data may be waiting: no readiness wait
    if (n < 0) return source_failed(flow, error_code(errno, boost::system::system_category()));
    if (n == 0) return source_failed(flow, asio::error::eof);
    forward(flow, static_cast<std::size_t>(n), arrival(message));
  }

  // When the data read arrived (the kernel's stamp of the last segment), on the steady clock;
  // now when there is no stamp or the wall clock was stepped meanwhile.
  static Clock::time_point arrival(msghdr& message) {
    const auto now = Clock::now();
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec stamp;
      std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      const auto at = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::seconds(stamp.tv_sec) + std::chrono::nanoseconds(stamp.tv_nsec)));
      const auto age = std::chrono::system_clock::now() - at;
      if (age >= std::chrono::system_clock::duration::zero() && age < std::chrono::seconds(1))
        return now - std::chrono::duration_cast<Clock::duration>(age);
    }
    return now;
  }

  void relay_in(Flow& flow) {
    if (!flow.relay) {
      flow.relay_bytes = kRelayFirstBytes;
      flow.relay = std::make_unique_for_overwrite<char[]>(flow.relay_bytes);
    }
    const ssize_t n = ::recv(flow.from.native_handle(), flow.relay.get(), flow.relay_bytes, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      flow.streak = 0;
      return wait_readable(flow);
    }
    if (n < 0 && errno == EINTR) return read(flow);
    if (n < 0) return source_failed(flow, error_code(errno, boost::system::system_category()));
    if (n == 0) return ended(flow, Flow::End::eof);
    flow.relay_from = 0;
    flow.relay_to = static_cast<std::size_t>(n);
    relay_out(flow);
  }

  void relay_out(Flow& flow) {
    while (flow.relay_from < flow.relay_to) {
      const ssize_t n = ::send(flow.to.native_handle(), flow.relay.get() + flow.relay_from,
                               flow.relay_to - flow.relay_from, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        flow.to.async_wait(tcp::socket::wait_write, [self = shared_from_this(), &flow](error_code ec) {
          Lock lock(self->proxy->mutex);
          if (!self->open) return;
          if (ec) return self->close();
          self->relay_out(flow);
        });
        return;
      }
      if (n <= 0) return close();
      count(flow, static_cast<std::size_t>(n));
      flow.relay_from += static_cast<std::size_t>(n);
    }
    // A recv that filled the buffer means a stream: the next chunks come in a larger one.
    if (flow.relay_to == flow.relay_bytes && flow.relay_bytes < kRelayMaxBytes) {
      flow.relay_bytes *= 2;
      flow.relay = std::make_unique_for_overwrite<char[]>(flow.relay_bytes);
    }
    // Try the next chunk at once while the data streams (a wait on the loop costs an epoll
    // round), but only a few times in a row so the other flows get their turn.
    if (++flow.streak < kStreak && !shaped(flow)) return relay_in(flow);
    flow.streak = 0;
    read(flow);
  }

  // `arrived`: when the data reached the proxy; the delays count from there.
  //
  // The toxics in force on this flow now are the ones that act on these `n` bytes (n >= 1), so
  // this is where a data toxic touches the connection, and only when it changed something:
  // latency when it drew a delay above zero, bandwidth when it held a piece back, slicer when it
  // split the data, limit_data when its limit is reached (it cuts the data and closes the
  // connection), timeout by dropping the data. Dropped data is neither shaped nor counted
  // against a limit.
  void forward(Flow& flow, std::size_t n, Clock::time_point arrived) {
    std::size_t length = n;
    Micros delay{0};
    std::vector<const std::string*> delaying;  // latency toxics that drew a delay above zero
    std::vector<const std::string*> black_holes;
    std::vector<std::pair<const std::string*, const Toxic*>> limits;
    const Toxic* slicer = nullptr;
    const std::string* slicer_name = nullptr;
    TokenBucket* bucket = nullptr;
    const std::string* bucket_name = nullptr;
    for (auto& [name, toxic] : proxy->toxics) {
      if (!in_force(name, toxic, flow)) continue;
      switch (toxic.kind) {
        case ToxicKind::timeout:
          black_holes.push_back(&name);
          break;
        case ToxicKind::latency: {
          const auto drawn = latency_sample(toxic, random);
          delay += drawn;
          if (drawn.count() > 0) delaying.push_back(&name);
          break;
        }
        case ToxicKind::bandwidth:
          bucket = &flow.buckets.try_emplace(name, toxic.rate).first->second;
          bucket_name = &name;
          break;
        case ToxicKind::slicer:
          slicer = &toxic;
          slicer_name = &name;
          break;
        case ToxicKind::limit_data:
          limits.emplace_back(&name, &toxic);
          break;
        default:
          break;
      }
    }
    if (!black_holes.empty()) {
      // Dropped, like a link that went dark. A black hole (`after` 0) counts only here: over a
      // connection where no byte arrived while it was in force it changed nothing (a client
      // waiting there would have waited just as long without it), so it is not counted.
      for (const std::string* name : black_holes) mark_touched(*name);
      return read(flow);
    }
    for (const auto& [name, toxic] : limits) {
      auto& used = flow.limit_used[*name];
      const std::uint64_t left = toxic->limit > used ? toxic->limit - used : 0;
      // Cut once data would pass the limit, not as it fills it: a connection whose data ends
      // exactly there lost nothing, and one that goes on is cut at its next byte.
      if (length > left) {
        length = static_cast<std::size_t>(left);
        flow.close_after = true;
        mark_touched(*name);
      }
      used += length;
    }
    if (length > 0)  // none left after a cut: the others delayed nothing
      for (const std::string* name : delaying) mark_touched(*name);

    flow.last_delay = delay;
    auto at = arrived + delay;
    std::size_t offset = 0;
    const auto hold = [&](std::size_t size, Clock::time_point due) {
      // A stream keeps its order: a piece drawn a shorter jitter waits for the one before it.
      flow.last_due = std::max(flow.last_due, due);
      const char* data = flow.buffer.get() + offset;
      flow.held.push_back({std::vector<char>(data, data + size), flow.last_due});
      flow.held_bytes += size;
      offset += size;
    };
    const auto add = [&](std::size_t size) {
      if (!bucket) return hold(size, at);
      while (size > 0) {
        const std::size_t part = std::min(size, bucket->chunk_limit());
        const auto wait = bucket->reserve(part, at);
        if (wait.count() > 0) mark_touched(*bucket_name);  // a piece held back to the rate
        at += wait;
        hold(part, at);
        size -= part;
      }
    };
    if (slicer && length > 0) {
      const auto sizes = slice_sizes(length, slicer->slice_average, slicer->slice_variation, random);
      if (sizes.size() > 1) mark_touched(*slicer_name);
      bool first = true;
      for (std::size_t size : sizes) {
        if (!first) at += slicer->slice_delay;
        first = false;
        add(size);
      }
    } else if (length > 0) {
      add(length);
    }
    write_next(flow);
    // Keep reading while data is held, so the next piece's delay counts from its own arrival
    // (not from when the one before it was written); limit_data reads no more.
    if (!flow.close_after) read(flow);
  }

  void write_next(Flow& flow) {
    if (flow.writing) return;
    if (flow.held.empty()) {
      if (flow.close_after) return close();
      if (flow.end != Flow::End::none) return ended(flow, std::exchange(flow.end, Flow::End::none));
      return;
    }
    flow.writing = true;
    const auto due = flow.held.front().not_before;
    if (due > Clock::now()) {
      flow.timer.expires_at(due);
      flow.timer.async_wait([self = shared_from_this(), &flow](error_code ec) {
        Lock lock(self->proxy->mutex);
        if (ec || !self->open) return;
        self->write_piece(flow);
      });
      return;
    }
    write_piece(flow);
  }

  void write_piece(Flow& flow) {
    const auto& piece = flow.held.front();
    asio::async_write(flow.to, asio::buffer(piece.data),
                      [self = shared_from_this(), &flow](error_code ec, std::size_t n) {
                        Lock lock(self->proxy->mutex);
                        if (!self->open) return;
                        if (ec) return self->close();
                        self->count(flow, n);
                        flow.held_bytes -= flow.held.front().data.size();
                        flow.held.pop_front();
                        flow.writing = false;
                        if (std::exchange(flow.paused, false)) self->read(flow);
                        self->write_next(flow);
                      });
  }

  void count(const Flow& flow, std::size_t n) {
    auto& stats = counted();
    if (flow.direction == Direction::upstream) {
      stats.bytes_upstream += n;
      return;
    }
    stats.bytes_downstream += n;
    if (!first_byte && n > 0) {
      first_byte = true;
      stats.record_first_byte(proxy->ms_since_origin(),
                              std::chrono::duration<double, std::milli>(Clock::now() - accepted_at).count());
    }
  }

  void source_failed(Flow& flow, const error_code& ec) {
    const auto end = ec == asio::error::eof                ? Flow::End::eof
                     : ec == asio::error::connection_reset ? Flow::End::reset
                                                           : Flow::End::error;
    // The end comes after the data still held, as it would on a direct connection.
    if (flow.writing || !flow.held.empty()) {
      flow.end = end;
      return;
    }
    ended(flow, end);
  }

  void ended(Flow& flow, Flow::End end) {
    // A link gone dark loses the FIN or RST like the data: the destination hears nothing until
    // the fault is reverted (a client that only handles a close would not notice a black hole).
    if (const std::string* dark = black_hole_on(flow)) {
      mark_touched(*dark);
      flow.dark_end = end;
      return;
    }
    if (end == Flow::End::eof) return finish(flow);
    // A peer's RST is passed on as an RST, so the other side sees what a direct connection would.
    if (end == Flow::End::reset)
      return reset(flow.direction == Direction::upstream ? Direction::upstream : Direction::downstream);
    close();
  }

  // The source sent FIN: pass it on (later under slow_close), close once both sides did. Both
  // the buffered and the relay path end here, so this is where a slow_close touches the
  // connection: when it holds a FIN back (`after` 0 delays nothing and does not count).
  void finish(Flow& flow) {
    Micros delay{0};
    for (auto& [name, toxic] : proxy->toxics)
      if (toxic.kind == ToxicKind::slow_close && in_force(name, toxic, flow) && toxic.after.count() > 0) {
        delay = std::max(delay, toxic.after);
        mark_touched(name);
      }
    const auto shut = [self = shared_from_this(), &flow] {
      error_code ignored;
      flow.to.shutdown(tcp::socket::shutdown_send, ignored);
      flow.finished = true;
      if (self->up.finished && self->down.finished) self->close();
    };
    if (delay.count() == 0) return shut();
    flow.timer.expires_after(delay);
    flow.timer.async_wait([self = shared_from_this(), shut](error_code ec) {
      Lock lock(self->proxy->mutex);
      if (ec || !self->open) return;
      shut();
    });
  }

  // downstream: the client gets the RST; upstream: the server does; both: both.
  void reset(Direction toward) {
    error_code ignored;
    if (acts_on(toward, Direction::downstream))
      client.set_option(asio::socket_base::linger(true, 0), ignored);
    if (acts_on(toward, Direction::upstream) && server.is_open())
      server.set_option(asio::socket_base::linger(true, 0), ignored);
    ++counted().reset;
    close();
  }

  void close() {
    if (!open) return;
    auto keep = shared_from_this();
    open = false;
    error_code ignored;
    up.timer.cancel();
    down.timer.cancel();
    toxic_timers.clear();
    client.close(ignored);
    server.close(ignored);
    ++counted().closed;
    counted().series.on_close(proxy->ms_since_origin());
    proxy->connections.erase(index);
  }
};

void TcpProxy::State::listen() {
  error_code ec;
  tcp::endpoint endpoint = bound;
  if (endpoint.port() == 0) {
    const auto address = asio::ip::make_address(config.listen.host, ec);
    if (ec)
      throw error("listen address `" + config.listen.host + "`", ec, "write an IP address such as 127.0.0.1");
    endpoint = tcp::endpoint(address, config.listen.port);
  }
  auto next = std::make_unique<tcp::acceptor>(io);
  const auto where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  next->open(endpoint.protocol(), ec);
  if (!ec) next->set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) throw error("opening a listener for " + where, ec, "");
  next->bind(endpoint, ec);
  if (ec) throw error("bind " + where, ec, "pick a free port, or port 0 to let the system choose");
  next->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw error("listen " + where, ec, "");
  bound = next->local_endpoint();
  acceptor = std::move(next);
  accept_next();
}

void TcpProxy::State::accept_next() {
  acceptor->async_accept(
      [weak = weak_from_this(), listener = acceptor.get()](error_code ec, tcp::socket socket) {
        auto self = weak.lock();
        if (!self) return;
        Lock lock(self->mutex);
        if (!self->running || self->acceptor.get() != listener) return;
        if (!ec) {
          error_code peer_error;
          const auto peer = socket.remote_endpoint(peer_error);
          const bool own = !peer_error && is_own_port(peer.port());
          auto connection = std::make_shared<ProxyConnection>(
              self, own ? self->next_own_index++ : self->next_index++, std::move(socket));
          auto& stats = connection->counted();
          ++stats.accepted;
          stats.series.on_accept(self->ms_since_origin());
          self->connections.emplace(connection->index, connection);
          connection->connect_upstream();
        }
        if (ec != asio::error::operation_aborted) self->accept_next();
      });
}

// A partition refuses the client's connects in the kernel; they are seen here, so that a `down`
// can show it was tried. Without CAP_NET_RAW the reason is kept and nothing is counted.
void TcpProxy::State::watch_refused_connects() {
  if (refused_watch || !stats.refused_unseen.empty()) return;
  try {
    refused_watch =
        std::make_unique<RefusedConnectWatch>(io, bound, [weak = weak_from_this()](std::uint16_t from) {
          auto self = weak.lock();
          if (!self) return;
          Lock lock(self->mutex);
          if (!self->down) return;
          auto& counted = is_own_port(from) ? self->own_stats : self->stats;
          ++counted.refused;
          for (const auto& [name, toxic] : self->toxics)
            if (toxic.kind == ToxicKind::down) ++counted.touched[name];
        });
  } catch (const Error& e) {
    stats.refused_unseen = e.what();
  }
}

void TcpProxy::State::close_listener() {
  if (!acceptor) return;
  error_code ignored;
  acceptor->close(ignored);
  acceptor.reset();
}

std::vector<std::shared_ptr<ProxyConnection>> TcpProxy::State::snapshot() const {
  std::vector<std::shared_ptr<ProxyConnection>> all;
  all.reserve(connections.size());
  for (auto& [index, connection] : connections) all.push_back(connection);
  return all;
}

void TcpProxy::State::close_all() {
  for (auto& connection : snapshot()) connection->close();
}

TcpProxy::TcpProxy(asio::io_context& io, ProxyConfig config)
    : state_(std::make_shared<State>(io, std::move(config))) {}

TcpProxy::~TcpProxy() { stop(); }

void TcpProxy::start() {
  Lock lock(state_->mutex);
  auto& s = *state_;
  if (s.running) return;
  tcp::resolver resolver(s.io);
  error_code ec;
  const auto results = resolver.resolve(s.config.upstream.host, std::to_string(s.config.upstream.port), ec);
  if (ec || results.empty())
    throw s.error("resolving upstream `" + s.config.upstream.text() + "`", ec,
                  "write host:port of the real service");
  s.upstream = results.begin()->endpoint();
  s.running = true;
  s.down = false;
  try {
    s.listen();
  } catch (...) {
    s.running = false;
    throw;
  }
}

void TcpProxy::stop() {
  Lock lock(state_->mutex);
  state_->running = false;
  state_->refused_watch.reset();
  state_->close_listener();
  state_->close_all();
}

std::uint16_t TcpProxy::port() const {
  Lock lock(state_->mutex);
  return state_->bound.port();
}

void TcpProxy::apply(const std::string& name, const Toxic& toxic) {
  Lock lock(state_->mutex);
  auto& s = *state_;
  if (s.toxics.count(name)) revert(name);
  s.toxics[name] = toxic;
  s.stats.touched.try_emplace(name, 0);
  if (toxic.kind == ToxicKind::down) {
    // A partition: nothing listens, nothing stays connected, until the revert.
    s.down = true;
    s.watch_refused_connects();  // before the close: no connect goes unseen in between
    s.close_listener();
    // Every connection it closes counts, started or still connecting upstream, unless its client
    // had already left it.
    for (auto& connection : s.snapshot())
      if (connection->client_engaged()) connection->mark_touched(name);
    s.close_all();
    return;
  }
  for (auto& connection : s.snapshot())
    if (connection->open && connection->started && connection->selected(name, toxic))
      connection->attach(name, toxic);
}

void TcpProxy::revert(const std::string& name) {
  Lock lock(state_->mutex);
  auto& s = *state_;
  const auto found = s.toxics.find(name);
  if (found == s.toxics.end()) return;
  const bool was_down = found->second.kind == ToxicKind::down;
  s.toxics.erase(found);
  for (auto& connection : s.snapshot()) connection->detach(name);
  // Another partition still in force keeps the port closed: two overlapping `down` faults end
  // when the last of them does.
  const bool still_down = std::any_of(s.toxics.begin(), s.toxics.end(),
                                      [](const auto& named) { return named.second.kind == ToxicKind::down; });
  if (was_down && s.running && !still_down) {
    s.down = false;
    s.refused_watch.reset();  // before listening: a connect accepted is not counted as refused
    s.listen();               // the same port: `bound` kept it
  }
}

std::size_t LatencyHistogram::bucket_of(double ms) {
  const auto upper = std::upper_bound(kUpperMs.begin(), kUpperMs.end(), ms);
  return static_cast<std::size_t>(upper - kUpperMs.begin());
}

std::uint64_t LatencyHistogram::total() const {
  std::uint64_t sum = 0;
  for (const auto n : counts) sum += n;
  return sum;
}

void ProxyStats::record_first_byte(double t_ms, double ms) {
  first_byte_histogram.add(ms);
  series.on_first_byte(t_ms, ms);
  if (first_byte_ms.size() < (1u << 20)) first_byte_ms.push_back(ms);
}

ProxyStats TcpProxy::stats() const {
  Lock lock(state_->mutex);
  ProxyStats stats = state_->stats;
  stats.own_connections = state_->own_stats.accepted + state_->own_stats.refused;
  return stats;
}

std::size_t TcpProxy::open_connections() const {
  Lock lock(state_->mutex);
  return state_->connections.size();
}

}  // namespace faultline::net
