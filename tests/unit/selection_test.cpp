#include "runner/selection.h"

#include <catch2/catch.hpp>
#include <set>

using namespace faultline::runner;

TEST_CASE("shards parse as I/N") {
  auto s = parse_shard("2/3");
  REQUIRE(s);
  CHECK(s->index == 2);
  CHECK(s->count == 3);
  std::string why;
  CHECK_FALSE(parse_shard("0/3", &why));
  CHECK(why == "shard index must be between 1 and the shard count");
  CHECK_FALSE(parse_shard("4/3", &why));
  CHECK_FALSE(parse_shard("2", &why));
  CHECK(why == "expected I/N, e.g. 2/3");
  CHECK_FALSE(parse_shard("a/b", &why));
  CHECK(why == "expected I/N with whole numbers, e.g. 2/3");
}

TEST_CASE("shards are disjoint, complete, balanced and independent of input order") {
  std::vector<std::string> files;
  for (int i = 0; i < 10; ++i) files.push_back("scenarios/s" + std::to_string(i) + ".toml");
  std::vector<std::string> reversed(files.rbegin(), files.rend());
  std::set<std::string> seen;
  for (int i = 1; i <= 3; ++i) {
    const auto mine = shard_indexes(files, {i, 3});
    CHECK(mine.size() >= 3);
    CHECK(mine.size() <= 4);
    std::set<std::string> names, names_reversed;
    for (auto k : mine) names.insert(files[k]);
    for (auto k : shard_indexes(reversed, {i, 3})) names_reversed.insert(reversed[k]);
    CHECK(names == names_reversed);
    for (const auto& n : names) CHECK(seen.insert(n).second);  // disjoint
  }
  CHECK(seen.size() == files.size());  // complete
}

TEST_CASE("tag filters: include any, exclude all") {
  CHECK(tags_match({"gate", "memory"}, {}, {}));
  CHECK(tags_match({"gate", "memory"}, {"memory", "cpu"}, {}));
  CHECK_FALSE(tags_match({"gate"}, {"cpu"}, {}));
  CHECK_FALSE(tags_match({"gate", "slow"}, {"gate"}, {"slow"}));
  CHECK_FALSE(tags_match({}, {"gate"}, {}));
  CHECK(tags_match({}, {}, {"slow"}));
}
