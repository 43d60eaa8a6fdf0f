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
