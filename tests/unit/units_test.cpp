#include "common/units.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>

using namespace faultline;
using namespace std::chrono_literals;

namespace {
std::string why_duration(std::string_view text) {
  std::string why;
  REQUIRE_FALSE(parse_duration(text, &why));
  return why;
}
std::string why_size(std::string_view text) {
  std::string why;
  REQUIRE_FALSE(parse_size(text, &why));
  return why;
}
std::string why_cpu(std::string_view text) {
  std::string why;
  REQUIRE_FALSE(parse_cpu(text, &why));
  return why;
}
std::string why_signal(std::string_view text) {
  std::string why;
  REQUIRE_FALSE(parse_signal(text, &why));
  return why;
}
}  // namespace

TEST_CASE("parse_duration accepts every unit, compounds and fractions", "[units]") {
  CHECK(parse_duration("250ms") == Duration(250ms));
  CHECK(parse_duration("2s") == Duration(2s));
  CHECK(parse_duration("1m30s") == Duration(90s));
  CHECK(parse_duration("1h") == Duration(1h));
  CHECK(parse_duration("1.5s") == Duration(1500ms));
  CHECK(parse_duration("100us") == Duration(100us));
  CHECK(parse_duration("7ns") == Duration(7ns));
  CHECK(parse_duration("1h2m3s4ms") == Duration(1h + 2min + 3s + 4ms));
  CHECK(parse_duration("0s") == Duration(0));
  CHECK(parse_duration("0.25m") == Duration(15s));
}

TEST_CASE("parse_duration rejects bare numbers, bad units, negatives and overflow", "[units]") {
  CHECK(why_duration("5") ==
        R"(expected a duration such as "250ms", "2s" or "1m30s", got "5" (durations need a unit))");
  CHECK(why_duration("1m30") ==
        R"(expected a duration such as "250ms", "2s" or "1m30s", got "1m30" (durations need a unit))");
  CHECK(why_duration("5x") == R"(expected a duration such as "250ms", "2s" or "1m30s", got "5x" )"
                              R"((unknown unit `x`; units are ns, us, ms, s, m, h))");
  CHECK(why_duration("-1s") ==
        R"(expected a duration such as "250ms", "2s" or "1m30s", got "-1s" (durations cannot be negative))");
  CHECK(why_duration("999999999h") ==
        R"(expected a duration such as "250ms", "2s" or "1m30s", got "999999999h" )"
        R"((too large; durations go up to 8760h (365 days)))");
  CHECK(why_duration("") == R"(expected a duration such as "250ms", "2s" or "1m30s", got "" (empty))");
  CHECK(why_duration("s") == R"(expected a duration such as "250ms", "2s" or "1m30s", got "s")");
  CHECK(why_duration("1.s") == R"(expected a duration such as "250ms", "2s" or "1m30s", got "1.s")");
  CHECK(why_duration(" 2s") == R"(expected a duration such as "250ms", "2s" or "1m30s", got " 2s")");
}

TEST_CASE("parse_size accepts binary and SI units, max and plain bytes", "[units]") {
  CHECK(parse_size("64MiB") == 64u << 20);
  CHECK(parse_size("1GiB") == 1u << 30);
  CHECK(parse_size("512KiB") == 512u << 10);
  CHECK(parse_size("100MB") == 100'000'000u);
  CHECK(parse_size("0B") == 0u);
  CHECK(parse_size("max") == kUnlimited);
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("1.5GiB") == (3ull << 30) / 2);
  CHECK(parse_size("2TiB") == 2ull << 40);
  CHECK(parse_size("1KB") == 1000u);
  CHECK(parse_size("8EiB") == std::nullopt);
  CHECK(parse_size("9223372036854775807") == 9223372036854775807u);
}

TEST_CASE("parse_size rejects negatives, unknown units, fractional bytes and overflow", "[units]") {
  const std::string expected =
      R"(expected a size such as "64MiB", "512KiB", "100MB", "max" or a number of bytes)";
  CHECK(why_size("-1MiB") == expected + R"(, got "-1MiB" (sizes cannot be negative))");
  CHECK(why_size("5XB") ==
        expected + R"(, got "5XB" (unknown unit `XB`; units are B, KB, MB, GB, TB, KiB, MiB, GiB, TiB))");
  CHECK(why_size("1.5") == expected + R"(, got "1.5" (a number of bytes must be whole))");
  CHECK(
      why_size("99999999TiB")
          .ends_with(R"((too large; sizes go up to 9,223,372,036,854,775,807 bytes, "max" means no limit))"));
  CHECK(why_size("18446744073709551615")
            .ends_with("(too large; sizes go up to 9,223,372,036,854,775,807 bytes, "
                       "\"max\" means no limit)"));
  CHECK(why_size("9223372036854775808").ends_with(R"("max" means no limit))"));
  CHECK(why_size("MiB") == expected + R"(, got "MiB")");
  CHECK(why_size("") == expected + R"(, got "" (empty))");
}

TEST_CASE("parse_cpu reads percent, CPUs and max", "[units]") {
  CHECK(parse_cpu("50%") == 0.5);
  CHECK(parse_cpu("1.5") == 1.5);
  CHECK(parse_cpu("250%") == 2.5);
  CHECK(std::isinf(*parse_cpu("max")));
  const std::string expected = R"(expected a CPU amount such as "50%", "1.5" or "max")";
  CHECK(why_cpu("0%") == expected + R"(, got "0%" (must be more than 0))");
  CHECK(why_cpu("-1") == expected + R"(, got "-1" (CPU amounts cannot be negative))");
  CHECK(why_cpu("50 %") == expected + R"(, got "50 %")");
  CHECK(why_cpu("half") == expected + R"(, got "half")");
  CHECK(why_cpu("99999999") == expected + R"(, got "99999999" (too large))");
}

TEST_CASE("parse_signal reads names with or without SIG, any case, numbers and real-time signals",
          "[units]") {
  CHECK(parse_signal("SIGTERM") == SIGTERM);
  CHECK(parse_signal("TERM") == SIGTERM);
  CHECK(parse_signal("sigterm") == SIGTERM);
  CHECK(parse_signal("15") == 15);
  CHECK(parse_signal("SIGKILL") == SIGKILL);
  CHECK(parse_signal("QUIT") == SIGQUIT);
  CHECK(parse_signal("SIGSYS") == SIGSYS);
  CHECK(parse_signal("SIGRTMIN") == SIGRTMIN);
  CHECK(parse_signal("SIGRTMIN+2") == SIGRTMIN + 2);
  CHECK(parse_signal("RTMAX-1") == SIGRTMAX - 1);
  const std::string expected = R"(expected a signal such as "SIGTERM", "TERM" or "15")";
  CHECK(why_signal("SIGTEMR") == expected + R"(, got "SIGTEMR" (unknown signal))");
  CHECK(why_signal("0") ==
        expected + R"(, got "0" (signal numbers go from 1 to )" + std::to_string(SIGRTMAX) + ")");
  CHECK(why_signal("65") ==
        expected + R"(, got "65" (signal numbers go from 1 to )" + std::to_string(SIGRTMAX) + ")");
  CHECK(why_signal("SIGRTMIN+99") == expected + R"(, got "SIGRTMIN+99" (unknown signal))");
  CHECK(why_signal("-9") == expected + R"(, got "-9" (unknown signal))");
  CHECK(why_signal("") == expected + R"(, got "" (empty))");
}

TEST_CASE("format functions print what the parsers read back", "[units]") {
  CHECK(format_duration(1500ms) == "1.5s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(1h) == "1h");
  CHECK(format_duration(100us) == "100us");
  CHECK(format_duration(Duration(0)) == "0s");
  CHECK(format_duration(1h + 500ms) == "1h0.5s");
  for (Duration d :
       {Duration(1500ms), Duration(90s), Duration(1h + 500ms), Duration(7ns), Duration(1234567us)})
    CHECK(parse_duration(format_duration(d)) == d);

  CHECK(format_size(64u << 20) == "64MiB");
  CHECK(format_size((3ull << 30) / 2) == "1.5GiB");
  CHECK(format_size(kUnlimited) == "max");
  CHECK(format_size(0) == "0B");
  CHECK(format_size(1000) == "1000B");
  CHECK(format_cpu(0.5) == "50%");
  CHECK(format_cpu(1.5) == "150%");
  CHECK(format_cpu(std::numeric_limits<double>::infinity()) == "max");
  CHECK(parse_cpu(format_cpu(0.125)) == 0.125);

  CHECK(signal_name(SIGTERM) == "SIGTERM");
  CHECK(signal_name(SIGABRT) == "SIGABRT");
  CHECK(signal_name(SIGCHLD) == "SIGCHLD");
  CHECK(signal_name(SIGRTMIN + 3) == "SIGRTMIN+3");
  CHECK(signal_name(SIGRTMAX) == "SIGRTMAX");
  CHECK(signal_name(99) == "signal 99");
  for (int signo = 1; signo <= SIGRTMAX; ++signo) {
    if (signo == 32 || signo == 33) continue;  // glibc's internal signals: no name
    CHECK(parse_signal(signal_name(signo)) == signo);
  }
}

TEST_CASE("huge numbers are too large, never wrapped", "[units][limits]") {
  // Each of these once wrapped: 309485009821345068724781056 * 2^40 is 2^128 (0 bytes), and
  // 851556623219648504817094955098 hours wrapped to 183ms.
  CHECK(why_size("309485009821345068724781056TiB").ends_with(R"("max" means no limit))"));
  CHECK(why_duration("851556623219648504817094955098h")
            .ends_with("(too large; durations go up to 8760h (365 days))"));
  CHECK(why_duration("1500000h").ends_with("(too large; durations go up to 8760h (365 days))"));
  CHECK(parse_duration("8760h") == Duration(8760h));
  CHECK_FALSE(parse_duration("8760h1ns"));
  CHECK_FALSE(parse_duration("8000h8000h"));
  CHECK(parse_size("7EiB") == std::nullopt);  // not a unit, and would not fit either
  CHECK(parse_size("8388607TiB") == 8388607ull << 40);
  CHECK_FALSE(parse_size("8388608TiB"));
}

TEST_CASE("case-mangled and one-letter size units spell out both readings", "[units][limits]") {
  const std::string expected =
      R"(expected a size such as "64MiB", "512KiB", "100MB", "max" or a number of bytes)";
  CHECK(why_size("64mb") == expected +
                                R"(, got "64mb" (`mb` is ambiguous: write "64MB" (64,000,000 bytes) or )"
                                R"("64MiB" (67,108,864 bytes); units are case-sensitive))");
  CHECK(why_size("64Mb").find(R"(write "64MB" (64,000,000 bytes) or "64MiB" (67,108,864 bytes))") !=
        std::string::npos);
  CHECK(why_size("64m").find(R"(`m` is ambiguous: write "64MB" (64,000,000 bytes) or "64MiB")") !=
        std::string::npos);
  CHECK(why_size("1.5g").find(R"(write "1.5GB" (1,500,000,000 bytes) or "1.5GiB" (1,610,612,736 bytes))") !=
        std::string::npos);
  CHECK(why_size("2k").find(R"(write "2KB" (2,000 bytes) or "2KiB" (2,048 bytes))") != std::string::npos);
  CHECK(
      why_size("1tib").find(R"(write "1TB" (1,000,000,000,000 bytes) or "1TiB" (1,099,511,627,776 bytes))") !=
      std::string::npos);
  CHECK(why_size("1KIB").find("`KIB` is ambiguous") != std::string::npos);
  CHECK(why_size("512b") == expected + R"(, got "512b" (units are case-sensitive: write "512B" for bytes))");
  for (const char* exact : {"1B", "1KB", "1MB", "1GB", "1TB", "1KiB", "1MiB", "1GiB", "1TiB"})
    CHECK(parse_size(exact));
}

TEST_CASE("add_durations stops at the longest timeline", "[units][limits]") {
  CHECK(add_durations(1s, 2s) == Duration(3s));
  CHECK(add_durations(kMaxDuration, Duration(0)) == kMaxDuration);
  CHECK_FALSE(add_durations(kMaxDuration, 1ns));
  CHECK_FALSE(add_durations(Duration(std::numeric_limits<Duration::rep>::max()), 1s));
  CHECK_FALSE(add_durations(-1s, 2s));
}

TEST_CASE("cpu lists: numbers, ranges and the kernel's stride groups; nothing empty or backwards") {
  CHECK(parse_cpu_list("0") == std::set<int>{0});
  CHECK(parse_cpu_list("0-3,6") == std::set<int>{0, 1, 2, 3, 6});
  CHECK(parse_cpu_list("1,0,1") == std::set<int>{0, 1});
  CHECK(parse_cpu_list("0-7:2/4") == std::set<int>{0, 1, 4, 5});
  CHECK(parse_cpu_list("0-6:1/3") == std::set<int>{0, 3, 6});
  CHECK(parse_cpu_list("2-3:2/2") == std::set<int>{2, 3});
  std::string why;
  CHECK_FALSE(parse_cpu_list("", &why));
  CHECK(why == R"(expected CPU numbers and ranges such as "0", "0-3,6" or "0-7:2/4", got "")");
  CHECK_FALSE(parse_cpu_list("3-1", &why));
  CHECK(why.ends_with(R"(got "3-1" (a range runs from low to high))"));
  CHECK_FALSE(parse_cpu_list("0-7:3/2", &why));
  CHECK(why.ends_with(R"(got "0-7:3/2" (in used/group, 1 <= used <= group))"));
  CHECK_FALSE(parse_cpu_list("0-7:0/2"));
  for (const char* bad : {"0,", ",0", "0-", "-1", "0 1", "a", "0:1/2", "0-7:2", "0-7:2/", "12345", "0x1"}) {
    INFO(bad);
    CHECK_FALSE(parse_cpu_list(bad));
  }
}
