#include "runner/proxies.h"

#include <algorithm>

#include "common/address.h"
#include "common/error.h"
#include "common/units.h"

namespace faultline::runner {

namespace {

net::Micros micros(Duration d) { return std::chrono::duration_cast<net::Micros>(d); }

net::ToxicKind kind_of(const std::string& kind) {
  using K = net::ToxicKind;
  for (K k :
       {K::latency, K::bandwidth, K::timeout, K::reset, K::slow_close, K::slicer, K::limit_data, K::down})
    if (net::to_string(k) == kind) return k;
  throw Error("unknown network fault kind `" + kind + "`");
}

HostPort address_of(const scenario::ProxySpec& spec, const std::string& key, const std::string& text) {
  std::string why;
  auto parsed = parse_host_port(text, &why);
  if (!parsed) throw Error("proxy `" + spec.name + "`: " + key + " " + text + ": " + why);
  return *parsed;
}

}  // namespace

net::Toxic to_toxic(const scenario::Injection& inj) {
  const auto& f = std::get<scenario::NetworkFault>(inj.params);
  net::Toxic t;
  t.kind = kind_of(inj.kind);
  t.direction = f.direction == scenario::NetworkFault::Direction::upstream ? net::Direction::upstream
                : f.direction == scenario::NetworkFault::Direction::both   ? net::Direction::both
                                                                           : net::Direction::downstream;
  t.toxicity = f.toxicity;
  t.latency = micros(f.latency);
  t.jitter = micros(f.jitter);
  t.rate = f.rate;
  t.after = micros(f.after);
  t.slice_average = f.slice_average;
  t.slice_variation = f.slice_variation;
  t.slice_delay = micros(f.slice_delay);
  t.limit = f.limit;
  return t;
}

Proxies::Proxies(const scenario::Scenario& scenario) : scenario_(scenario) {}

Proxies::~Proxies() = default;

void Proxies::on_run_start(RunContext& ctx) { start_waiting(ctx); }

void Proxies::on_process_ready(RunContext& ctx, const std::string& process) {
  ready_.push_back(process);
  start_waiting(ctx);
}

// Starting is synchronous (bind and listen), so a proxy is ready the moment it starts: the
// runner then starts the processes that wait for it.
void Proxies::start_waiting(RunContext& ctx) {
  if (stopped_) return;
  for (const auto& spec : scenario_.proxies) {
    if (proxies_.contains(spec.name)) continue;
    const bool deps_ready = std::all_of(spec.after.begin(), spec.after.end(), [&](const std::string& p) {
      return std::find(ready_.begin(), ready_.end(), p) != ready_.end();
    });
    if (!deps_ready) continue;
    Running& r = proxies_[spec.name];
    r.spec = &spec;
    try {
      net::ProxyConfig config{.name = spec.name,
                              .listen = address_of(spec, "listen", spec.listen),
                              .upstream = address_of(spec, "upstream", spec.upstream),
                              .seed = ctx.seed(),
                              .origin = ctx.t0()};
      r.proxy = std::make_unique<net::TcpProxy>(ctx.io(), std::move(config));
      r.proxy->start();
    } catch (const Error& e) {
      r.proxy.reset();
      ctx.fail_scenario("starting proxy `" + spec.name + "`: " + e.what());
      return;
    }
    ctx.record("proxy.listen", {}, {}, spec.name + " " + spec.listen + " -> " + spec.upstream);
  }
}

Proxies::Running& Proxies::running(const scenario::Injection& inj) {
  auto it = proxies_.find(inj.proxy);
  if (it == proxies_.end() || !it->second.proxy)
    throw Error("proxy `" + inj.proxy + "` is not listening (it waits for " +
                (it == proxies_.end() ? std::string("processes that are not ready") : "nothing") + ")");
  return it->second;
}

std::string Proxies::describe(const Running& r) {
  if (r.active.empty()) return "none";
  std::string out;
  for (const auto& [name, what] : r.active) out += (out.empty() ? "" : ", ") + name + ": " + what;
  return out;
}

// "latency 2s downstream", "bandwidth 64KiB/s both 50%": what the fault does, for the timeline.
std::string Proxies::describe(const scenario::Injection& inj) {
  const auto& f = std::get<scenario::NetworkFault>(inj.params);
  std::string what = inj.kind;
  if (inj.kind == "latency") {
    what += " " + format_duration(f.latency);
    if (f.jitter.count() > 0) what += " +-" + format_duration(f.jitter);
  } else if (inj.kind == "bandwidth") {
    what += " " + format_size(f.rate) + "/s";
  } else if (inj.kind == "timeout" || inj.kind == "reset" || inj.kind == "slow_close") {
    what += " after " + format_duration(f.after);
  } else if (inj.kind == "slicer") {
    what += " " + std::to_string(f.slice_average) + "B";
  } else if (inj.kind == "limit_data") {
    what += " " + format_size(f.limit);
  }
  if (inj.kind == "down") return what;
  what += " " + std::string(scenario::to_string(f.direction));
  if (f.toxicity < 1.0) what += " " + std::to_string(static_cast<int>(f.toxicity * 100 + 0.5)) + "%";
  return what;
}

std::string Proxies::apply(const scenario::Injection& inj) {
  Running& r = running(inj);
  const net::Toxic toxic = to_toxic(inj);
  const std::string before = describe(r);
  r.proxy->apply(inj.name, toxic);
  r.active[inj.name] = describe(inj);
  return "proxy " + inj.proxy + " toxics " + before + " -> " + describe(r);
}

std::string Proxies::revert(const scenario::Injection& inj) {
  Running& r = running(inj);
  const std::string before = describe(r);
  r.proxy->revert(inj.name);
  r.active.erase(inj.name);
  return "proxy " + inj.proxy + " toxics " + before + " -> " + describe(r);
}

// A fault met only by the shutdown the stop signal begins (a black hole holding back a client's
// last FIN, a slow_close delaying it) never acted on what the scenario makes its claim about,
// as a syscall fault hit only during the shutdown does not count either.
void Proxies::on_stop_phase(RunContext&) {
  for (auto& [name, r] : proxies_) {
    if (!r.proxy) continue;
    const net::ProxyStats st = r.proxy->stats();
    r.touched_at_stop = st.touched;
    r.refused_at_stop = st.refused;
  }
}

void Proxies::on_run_end(RunContext& ctx) {
  stopped_ = true;
  for (auto& [name, r] : proxies_) {
    if (!r.proxy) continue;
    r.proxy->stop();
    const net::ProxyStats st = r.proxy->stats();
    report::ProxyResult out;
    out.name = name;
    out.listen = r.spec->listen;
    out.upstream = r.spec->upstream;
    out.accepted = st.accepted;
    out.closed = st.closed;
    out.reset = st.reset;
    out.bytes_upstream = st.bytes_upstream;
    out.bytes_downstream = st.bytes_downstream;
    if (!st.first_byte_ms.empty()) {
      out.first_byte_p50_ms = net::percentile(st.first_byte_ms, 50);
      out.first_byte_p99_ms = net::percentile(st.first_byte_ms, 99);
      out.first_byte_max_ms = *std::max_element(st.first_byte_ms.begin(), st.first_byte_ms.end());
    }
    const auto& histogram = st.first_byte_histogram;
    for (std::size_t i = 0; i < histogram.counts.size(); ++i)
      out.first_byte_histogram.push_back(
          {i < histogram.kUpperMs.size() ? std::optional<double>(histogram.kUpperMs[i]) : std::nullopt,
           histogram.counts[i]});
    // Every toxic applied in the run has its name here, counted up to the stop phase: one applied
    // only once it had begun (a fault timed from a driver's exit under `stop = "load.exit"`)
    // touched nothing the scenario makes its claim about, and is judged as never fired.
    out.toxics_touched = st.touched;
    if (r.touched_at_stop)
      for (auto& [toxic, count] : out.toxics_touched) {
        const auto before = r.touched_at_stop->find(toxic);
        count = before == r.touched_at_stop->end() ? 0 : before->second;
      }
    out.refused = r.refused_at_stop.value_or(st.refused);
    out.refused_unseen = st.refused_unseen;
    out.own_connections = st.own_connections;
    out.series_slot_ms = st.series.slot_ms;
    for (std::size_t i = 0; i < st.series.slots.size(); ++i) {
      const auto& slot = st.series.slots[i];
      out.series.push_back(
          {.t_ms = static_cast<double>(i) * st.series.slot_ms,
           .accepted = slot.accepted,
           .closed = slot.closed,
           .peak_open = slot.peak_open,
           .first_bytes = slot.first_bytes,
           .first_byte_max_ms = slot.first_byte_max_ms,
           .first_byte_mean_ms = slot.first_bytes ? slot.first_byte_sum_ms / slot.first_bytes : 0});
    }
    ctx.result().proxies.push_back(std::move(out));
    ctx.record("proxy.stop", {}, {}, name);
  }
  proxies_.clear();
}

}  // namespace faultline::runner
