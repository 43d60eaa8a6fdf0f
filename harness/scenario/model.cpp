#include "scenario/model.h"

namespace faultline::scenario {

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

}  // namespace faultline::scenario
