#include "scenarios/services/common/command_line.h"

#include <charconv>
#include <iostream>

namespace faultline::demo {

CLI::Validator whole_number(long long min, long long max, const std::string& what) {
  return CLI::Validator(
      [min, max, what](std::string& text) {
        long long n = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, n);
        if (text.empty() || ec != std::errc() || ptr != end || n < min || n > max)
          return "wants " + what + ", not `" + text + "`";
        return std::string();
      },
      "");
}

CLI::Option* add_duration_option(CLI::App& app, const std::string& name, Duration& into,
                                 const std::string& description) {
  const CLI::Validator duration(
      [](std::string& text) {
        std::string why;
        return parse_duration(text, &why) ? std::string() : why;
      },
      "");
  // Validators run before the callback, so the value parses here.
  return app
      .add_option_function<std::string>(
          name, [&into](const std::string& text) { into = *parse_duration(text); }, description)
      ->type_name("DUR")
      ->check(duration)
      ->default_str(format_duration(into));
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const std::string& usage) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << "\nusage: " << usage << "\n";
    return kExitUsage;
  }
}

}  // namespace faultline::demo

#if defined(__SANITIZE_ADDRESS__)
// In a sanitizer build the demo programs are instrumented like the harness, but they are its
// targets: their leak check at exit stops every thread with ptrace, and once spun for 10s on a
// loaded machine, past a scenario's stop grace, so the run blamed the program for ignoring
// SIGTERM. The harness keeps its own leak check (the test command leaves ASAN_OPTIONS' leak
// setting to each binary's default).
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif
