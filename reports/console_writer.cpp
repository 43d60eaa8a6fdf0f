#include "reports/console_writer.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <utility>
#include <vector>

#include "reports/text_format.h"

namespace faultline::report {
namespace {

const char* label(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "PASS ";
    case Verdict::fail:
      return "FAIL ";
    case Verdict::error:
      return "ERROR";
    case Verdict::skip:
      return "SKIP ";
  }
  return "ERROR";
}

const char* color(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "\x1b[32m";
    case Verdict::fail:
      return "\x1b[31m";
    case Verdict::error:
      return "\x1b[35m";
    case Verdict::skip:
      return "\x1b[33m";
  }
  return "";
}

std::optional<int> fd_of(const std::ostream& out) {
  if (&out == &std::cout) return STDOUT_FILENO;
  if (&out == &std::cerr || &out == &std::clog) return STDERR_FILENO;
  return std::nullopt;
}

// Cuts a line to `width` columns, counting UTF-8 continuation bytes as no column.
std::string fit(const std::string& text, std::size_t width) {
  std::size_t columns = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (++columns > width) return text.substr(0, i);
  }
  return text;
}

}  // namespace

std::string console_line(const ScenarioResult& r) {
  std::string line =
      std::string(label(r.verdict)) + "  " + r.name + "  (" + format_seconds(r.duration_ms) + ")";
  if (r.verdict != Verdict::pass && !r.reason.empty()) line += ": " + r.reason;
  return line;
}

std::string console_fault_lines(const ScenarioResult& r) {
  std::string out;
  for (const auto& c : r.syscall_faults)
    out += "       syscall " + c.inject + (c.process.empty() ? "" : " [" + c.process + "]") + ": hit " +
           std::to_string(c.hit) + " of " + std::to_string(c.matched) + " matching calls" +
           (c.hit_while_stopping
                ? "; " + std::to_string(c.hit_while_stopping) + " more in the shutdown, not counted"
                : "") +
           "\n";
  for (const auto& p : r.proxies) {
    out += "       proxy " + p.name + ": " + std::to_string(p.accepted) +
           (p.accepted == 1 ? " connection, " : " connections, ") + std::to_string(p.reset) + " reset, " +
           (p.refused.value_or(0) ? std::to_string(*p.refused) + " refused, " : "") +
           format_bytes(p.bytes_upstream) + " up, " + format_bytes(p.bytes_downstream) + " down, ";
    std::uint64_t timed = 0;
    for (const auto& b : p.first_byte_histogram) timed += b.count;
    // Without a histogram (an older report) a maximum of 0 still means no first byte was seen.
    if (timed == 0 && p.first_byte_max_ms == 0)
      out += "no first byte\n";
    else
      out += "first byte p50 " + format_latency(p.first_byte_p50_ms) + " p99 " +
             format_latency(p.first_byte_p99_ms) + "\n";
    // What each fault did, none included: an optional fault that touched no connection passes, and
    // a CI log must still show that it proved nothing.
    if (!p.toxics_touched.empty()) {
      out += "       proxy " + p.name + " faults:";
      const char* separator = " ";
      for (const auto& [name, n] : p.toxics_touched) {
        out += separator + name + " touched " +
               (n == 0 ? std::string("no connection")
                       : std::to_string(n) + (n == 1 ? " connection" : " connections"));
        separator = ", ";
      }
      out += "\n";
    }
    // The partition was judged by the looser rule: say so where the verdict is read.
    if (!p.refused_unseen.empty())
      out += "       proxy " + p.name + ": connects refused during a partition not seen (" +
             p.refused_unseen + "); a partition counted as tried if any connection was accepted in the run\n";
  }
  return out;
}

// What the run asked for and did not get, which a verdict would otherwise hide: a start limit
// that changed nothing here, and a fault that was skipped, allowed by `optional = true` (one that
// was not allowed is a failure, which already says it). One line per limit and per fault, with
// the last reason given, and how many times a repeated fault was applied before it.
static std::string console_noop_lines(const ScenarioResult& r) {
  std::string out;
  for (const auto& e : r.timeline)
    if (e.event == "limits.noop")
      out += "       limits" + (e.process.empty() ? "" : " [" + e.process + "]") + ": " + e.detail + "\n";
  // The applied-check names the fault it failed as "<kind> fault `NAME` ..." (expectations.cpp).
  const auto named_by_a_failure = [&](const std::string& inject) {
    return std::any_of(r.failures.begin(), r.failures.end(), [&](const Failure& f) {
      return f.check == "inject.applied" && f.message.find("fault `" + inject + "` ") != std::string::npos;
    });
  };
  std::vector<std::pair<std::string, InjectionOutcome>> skipped;
  for (const auto& [name, outcome] : injection_outcomes(r.timeline))
    if (outcome.skipped && !named_by_a_failure(name)) skipped.emplace_back(name, outcome);
  std::sort(skipped.begin(), skipped.end(),
            [](const auto& a, const auto& b) { return a.second.first_event < b.second.first_event; });
  for (const auto& [name, o] : skipped) {
    const std::string before = o.applied == 0 ? ""
                                              : " (applied " + std::to_string(o.applied) +
                                                    (o.applied == 1 ? " time before)" : " times before)");
    out += "       skipped " + name + (o.process.empty() ? "" : " [" + o.process + "]") + before + ": " +
           *o.skipped + "\n";
  }
  return out;
}

std::string console_details(const ScenarioResult& r) {
  std::string out;
  if (r.verdict == Verdict::pass) return console_noop_lines(r) + console_fault_lines(r);
  out += "       " + r.file + (r.reason_line ? ":" + std::to_string(r.reason_line) : "") + "\n";
  for (const auto& f : r.failures) {
    out +=
        "       - " + f.check + (f.process.empty() ? "" : " [" + f.process + "]") + ": " + f.message + "\n";
    if (!f.expected.empty() || !f.actual.empty())
      out += "           expected: " + f.expected + "\n           actual:   " + f.actual + "\n";
    for (const auto& c : f.consequences) out += "           therefore " + c + "\n";
  }
  return out + console_noop_lines(r) + console_fault_lines(r);
}

std::string summary_line(const Summary& s) {
  std::string line = std::to_string(s.passed) + " passed, " + std::to_string(s.failed) + " failed";
  if (s.errors) line += ", " + std::to_string(s.errors) + " errors";
  if (s.skipped) line += ", " + std::to_string(s.skipped) + " skipped";
  return line;
}

ProgressLine::ProgressLine(std::ostream& out, std::optional<bool> tty) : out_(out) {
  const auto fd = fd_of(out);
  if (tty) {
    tty_ = *tty;
  } else {
    const char* term = std::getenv("TERM");
    tty_ = fd && ::isatty(*fd) == 1 && !(term && std::string(term) == "dumb");
  }
  color_ = tty_ && std::getenv("NO_COLOR") == nullptr;
  winsize ws{};
  if (tty_ && fd && ::ioctl(*fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) width_ = ws.ws_col;
}

ProgressLine::~ProgressLine() {
  finish();
  if (ticker_.joinable()) ticker_.join();
}

void ProgressLine::start(std::size_t total) {
  std::lock_guard lock(mutex_);
  total_ = total;
  done_ = not_passed_ = 0;
  running_.clear();
  stopping_ = false;
  // The elapsed time of a running scenario ticks on; nothing to redraw where there is no live line.
  if (tty_ && !ticker_.joinable()) ticker_ = std::thread([this] { ticker(); });
  redraw_locked();
}

void ProgressLine::scenario_started(const std::string& name) {
  std::lock_guard lock(mutex_);
  running_.push_back({name, std::chrono::steady_clock::now()});
  redraw_locked();
}

void ProgressLine::scenario_finished(const ScenarioResult& result) {
  std::lock_guard lock(mutex_);
  for (auto it = running_.begin(); it != running_.end(); ++it)
    if (it->name == result.name) {
      running_.erase(it);
      break;
    }
  ++done_;
  if (result.verdict == Verdict::fail || result.verdict == Verdict::error) ++not_passed_;
  erase_locked();
  std::string line = console_line(result);
  if (color_) line = color(result.verdict) + line.substr(0, 5) + "\x1b[0m" + line.substr(5);
  out_ << line << "\n" << console_details(result);
  out_.flush();
  redraw_locked();
}

void ProgressLine::finish() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    erase_locked();
    out_.flush();
  }
  wake_.notify_all();
  if (ticker_.joinable() && ticker_.get_id() != std::this_thread::get_id()) ticker_.join();
}

std::string ProgressLine::status_text() const {
  std::lock_guard lock(mutex_);
  return status_text_locked();
}

std::string ProgressLine::status_text_locked() const {
  std::string text = "[" + std::to_string(done_) + "/" + std::to_string(total_) + "]";
  if (not_passed_) text += " " + std::to_string(not_passed_) + " failed";
  if (running_.empty()) return text;
  const auto now = std::chrono::steady_clock::now();
  const auto& oldest = running_.front();
  const double ms = std::chrono::duration<double, std::milli>(now - oldest.since).count();
  text += " · running: " + oldest.name + " (" + format_seconds(ms) + ")";
  if (running_.size() > 1) text += " +" + std::to_string(running_.size() - 1) + " more";
  return text;
}

void ProgressLine::redraw_locked() {
  if (!tty_ || stopping_) return;
  // \r + erase-line, and one column spare so the terminal never wraps.
  out_ << "\r\x1b[2K" << fit(status_text_locked(), width_ - 1);
  out_.flush();
  drawn_ = true;
}

void ProgressLine::erase_locked() {
  if (!drawn_) return;
  out_ << "\r\x1b[2K";
  drawn_ = false;
}

void ProgressLine::ticker() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    if (!stopping_ && !running_.empty()) redraw_locked();
  }
}

}  // namespace faultline::report
