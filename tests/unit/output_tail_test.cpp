#include "supervisor/output_tail.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using faultline::supervisor::LineSplitter;
using faultline::supervisor::OutputTail;

TEST_CASE("OutputTail keeps everything while under capacity") {
  OutputTail tail(16);
  tail.append("hello ");
  tail.append("world");
  CHECK(tail.tail() == "hello world");
  CHECK(tail.total_bytes() == 11);
  CHECK_FALSE(tail.truncated());
}

TEST_CASE("OutputTail keeps only the newest bytes once full") {
  OutputTail tail(8);
  tail.append("0123456789");
  CHECK(tail.tail() == "23456789");
  tail.append("abc");
  CHECK(tail.tail() == "56789abc");
  for (int i = 0; i < 100; ++i) tail.append("xy");
  CHECK(tail.tail() == "xyxyxyxy");
  CHECK(tail.total_bytes() == 213);
  CHECK(tail.truncated());
}

TEST_CASE("OutputTail wraps correctly across many small appends") {
  OutputTail tail(5);
  std::string all;
  for (char c = 'a'; c <= 'z'; ++c) {
    tail.append(std::string(1, c));
    all.push_back(c);
    CHECK(tail.tail() == all.substr(all.size() > 5 ? all.size() - 5 : 0));
  }
}

TEST_CASE("LineSplitter yields whole lines and caps long ones") {
  LineSplitter splitter(4);
  std::vector<std::string> lines;
  auto collect = [&](std::string_view l) { lines.emplace_back(l); };
  splitter.feed("ab\ncd", collect);
  splitter.feed("e\nabcdefgh\n", collect);
  splitter.finish(collect);
  CHECK(lines == std::vector<std::string>{"ab", "cde", "abcd", "efgh"});
}

TEST_CASE("LineSplitter shows the line still open, and none once it ended") {
  LineSplitter splitter(8);
  std::vector<std::string> lines;
  auto collect = [&](std::string_view l) { lines.emplace_back(l); };
  splitter.feed("ok\ndb", collect);
  CHECK(splitter.open_line() == "db");
  splitter.feed("> ", collect);
  CHECK(splitter.open_line() == "db> ");
  splitter.feed("x\n", collect);
  CHECK(splitter.open_line().empty());
  CHECK(lines == std::vector<std::string>{"ok", "db> x"});
}

TEST_CASE("OutputTail and LineSplitter agree with a byte-at-a-time model for any read sizes") {
  std::string text;
  for (int i = 0; i < 400; ++i)
    text += std::string(static_cast<std::size_t>(i * 7 % 23), 'a' + i % 26) + "\n";
  for (std::size_t chunk : {1, 3, 10, 64, 1000}) {
    OutputTail tail(50);
    LineSplitter splitter(8);
    std::vector<std::string> lines;
    auto collect = [&](std::string_view l) { lines.emplace_back(l); };
    for (std::size_t i = 0; i < text.size(); i += chunk) {
      tail.append(std::string_view(text).substr(i, chunk));
      splitter.feed(std::string_view(text).substr(i, chunk), collect);
    }
    splitter.finish(collect);
    INFO("chunk " << chunk);
    CHECK(tail.tail() == text.substr(text.size() - 50));
    std::vector<std::string> expected;  // lines cut every 8 bytes
    std::string partial;
    for (char c : text) {
      if (c == '\n' || partial.size() >= 8) {
        expected.push_back(partial);
        partial.clear();
        if (c == '\n') continue;
      }
      partial.push_back(c);
    }
    CHECK(lines == expected);
  }
}
