#include "runner/command_runner.h"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>

#include "cgroup/layout.h"
#include "common/interrupt.h"
#include "runner/limits.h"
#include "supervisor/supervised_process.h"

namespace faultline::runner {

namespace asio = boost::asio;

CommandResult run_command(const CommandRequest& request, cgroup::Backend& backend) {
  auto run_group = backend.create_run(cgroup::next_run_name());
  auto group = run_group->create_child("command");
  if (auto why = unsupported_limit(*group, request.limits)) throw cgroup::HostError(*why);
  apply_limits(*group, request.limits);

  asio::io_context io;
  supervisor::SpawnRequest spawn;
  spawn.argv = request.argv;
  spawn.env = supervisor::current_environment();
  spawn.nofile = request.limits.nofile;
  spawn.capture_output = false;
  const auto attach = group->open_attach_fds();
  spawn.attach_fds = &attach;

  supervisor::SupervisedProcess process(io, request.argv.front(), 0);
  bool timed_out = false, killed = false;
  int interrupted_by = 0;
  asio::steady_timer deadline(io), grace(io);
  asio::posix::stream_descriptor interrupt_watch(io);

  // Ask the command to stop, then kill the whole cgroup if it is still there after the grace.
  auto stop = [&](int signo) {
    process.send_signal(signo);
    grace.expires_after(request.stop_grace);
    grace.async_wait([&](boost::system::error_code ec) {
      if (ec || !process.running()) return;
      killed = true;
      group->kill_all();
    });
  };

  if (!process.start(spawn, [&](supervisor::SupervisedProcess&) {
        deadline.cancel();
        grace.cancel();
        interrupt_watch.close();
      })) {
    const auto& failure = *process.start_failure();
    return {failure.errno_value == ENOENT ? 127 : 126, "failed-to-start",
            "faultline: failed to start: " + failure.message};
  }
  if (request.timeout) {
    deadline.expires_after(*request.timeout);
    deadline.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      timed_out = true;
      stop(SIGTERM);
    });
  }
  interrupt::install();
  interrupt_watch.assign(::dup(interrupt::fd()));
  interrupt_watch.async_wait(asio::posix::stream_descriptor::wait_read, [&](boost::system::error_code ec) {
    if (ec) return;
    interrupted_by = interrupt::signal_number();
    stop(interrupted_by);
  });
  io.run();

  // Processes the command left behind (daemons, setsid children) do not outlive it.
  std::size_t leftovers = group->pids().size();
  const auto stats = group->stats();
  run_group->destroy();

  if (const auto& wait_error = process.wait_error()) throw Error(*wait_error);
  const auto& st = *process.exit_status();
  CommandResult result;
  const std::string peak = stats.memory_peak ? format_size(*stats.memory_peak) : "unknown";
  if (st.signaled && st.signal == SIGKILL && stats.oom_kills > 0 && !killed) {
    result = {137, "oom-killed",
              "faultline: oom-killed (memory limit " +
                  (request.limits.memory ? format_size(*request.limits.memory) : std::string("none")) +
                  ", peak " + peak + ")"};
  } else if (timed_out) {
    result.outcome = "timed-out";
    result.exit_status = killed ? 137 : (st.signaled ? 128 + st.signal : st.code);
    result.classification =
        "faultline: timed-out after " + format_duration(*request.timeout) +
        (killed ? " (killed after the stop grace of " + format_duration(request.stop_grace) + ")"
                : " (stopped with SIGTERM)");
  } else if (st.signaled) {
    result = {128 + st.signal, "signaled", "faultline: signaled (" + signal_name(st.signal) + ")"};
  } else {
    result = {st.code, "exited", {}};
  }
  if (interrupted_by) {
    result.exit_status = 130;
    result.classification = "faultline: interrupted by " + signal_name(interrupted_by);
  }
  if (leftovers > 0) {
    const std::string note =
        "faultline: killed " + std::to_string(leftovers) + " process(es) the command left behind";
    result.classification = result.classification.empty() ? note : result.classification + "\n" + note;
  }
  return result;
}

}  // namespace faultline::runner
