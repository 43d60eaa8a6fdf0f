#include "scenario/model.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace faultline::scenario {

bool Comparison::holds(double actual) const {
  switch (op) {
    case Op::eq:
      return actual == value;
    case Op::ge:
      return actual >= value;
    case Op::le:
      return actual <= value;
    case Op::gt:
      return actual > value;
    case Op::lt:
      return actual < value;
  }
  return false;
}

bool Comparison::holds_for_share(std::uint64_t passed, std::uint64_t attempts) const {
  return holds(static_cast<double>(passed) / static_cast<double>(attempts));
}

std::optional<Comparison> parse_comparison(std::string_view text, bool integral, std::string* why) {
  static constexpr std::pair<std::string_view, Comparison::Op> kOps[] = {{"==", Comparison::Op::eq},
                                                                         {">=", Comparison::Op::ge},
                                                                         {"<=", Comparison::Op::le},
                                                                         {">", Comparison::Op::gt},
                                                                         {"<", Comparison::Op::lt}};
  Comparison c;
  std::string_view rest;
  bool found = false;
  for (const auto& [symbol, op] : kOps)
    if (text.starts_with(symbol)) {
      c.op = op;
      rest = text.substr(symbol.size());
      found = true;
      break;
    }
  if (!found) {
    *why = "starts with no comparison; write one of ==, >=, <=, >, < then a number";
    return std::nullopt;
  }
  // Digits with at most one decimal point: no sign, exponent, spaces or hex, so every accepted
  // form reads the same to a person and to the schema's pattern.
  const bool digits_only = !rest.empty() && rest.find_first_not_of("0123456789.") == std::string_view::npos &&
                           std::count(rest.begin(), rest.end(), '.') <= 1 && rest.front() != '.' &&
                           rest.back() != '.';
  if (!digits_only) {
    *why = "the part after `" + std::string(text.substr(0, text.size() - rest.size())) + "` must be " +
           (integral ? "a whole number such as 1" : "a number such as 0.9");
    return std::nullopt;
  }
  if (integral && rest.find('.') != std::string_view::npos) {
    *why = "this counts events, so the number must be whole";
    return std::nullopt;
  }
  // kLargestComparisonValue has 15 digits.
  if (rest.size() > 15) {
    *why = "the number is too long";
    return std::nullopt;
  }
  c.value = std::stod(std::string(rest));
  return c;
}

std::string to_string(const Comparison& c) {
  // An exact count reads as the plain number, as the author most likely wrote it.
  static constexpr const char* kSymbols[] = {"", ">=", "<=", ">", "<"};
  std::ostringstream out;
  out << kSymbols[static_cast<int>(c.op)] << std::setprecision(15) << c.value;
  return out.str();
}

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::exited:
      return "exited";
    case Outcome::signaled:
      return "signaled";
    case Outcome::oom_killed:
      return "oom-killed";
    case Outcome::timed_out:
      return "timed-out";
    case Outcome::failed_to_start:
      return "failed-to-start";
    case Outcome::killed_after_grace:
      return "killed-after-grace";
  }
  return "unknown";
}

const char* to_string(ExpectedOutcome o) {
  switch (o) {
    case ExpectedOutcome::exited:
      return "exited";
    case ExpectedOutcome::signaled:
      return "signaled";
    case ExpectedOutcome::oom_killed:
      return "oom-killed";
    case ExpectedOutcome::timed_out:
      return "timed-out";
    case ExpectedOutcome::any:
      return "any";
  }
  return "unknown";
}

bool is_network_kind(std::string_view kind) {
  for (std::string_view k :
       {"latency", "bandwidth", "timeout", "reset", "slow_close", "slicer", "limit_data", "down"})
    if (k == kind) return true;
  return false;
}

const char* to_string(Readiness::Kind kind) {
  switch (kind) {
    case Readiness::Kind::log:
      return "log";
    case Readiness::Kind::tcp:
      return "tcp";
    case Readiness::Kind::http:
      return "http";
    case Readiness::Kind::exec:
      return "exec";
    case Readiness::Kind::none:
      break;
  }
  return "none";
}

const char* to_string(NetworkFault::Direction d) {
  switch (d) {
    case NetworkFault::Direction::upstream:
      return "upstream";
    case NetworkFault::Direction::downstream:
      return "downstream";
    case NetworkFault::Direction::both:
      return "both";
  }
  return "unknown";
}

}  // namespace faultline::scenario
