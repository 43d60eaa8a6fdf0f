// Which scenarios a `faultline run` invocation runs: tag filters and stable shards. Pure
// functions, unit-tested.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace faultline::runner {

struct Shard {
  int index = 1;  // 1-based
  int count = 1;
};
// "2/3" -> {2, 3}; nullopt (with `why`) for anything else, e.g. "0/3" or "4/3".
std::optional<Shard> parse_shard(const std::string& text, std::string* why = nullptr);

// A scenario is kept when it has at least one of `include` (if any are given) and none of
// `exclude`.
bool tags_match(const std::vector<std::string>& tags, const std::vector<std::string>& include,
                const std::vector<std::string>& exclude);

// Indexes of `files` in shard `shard`: the files are ordered by path and dealt round-robin, so
// the N shards are disjoint, together complete, balanced to within one file, and the same on
// every machine of a CI matrix (the order does not depend on the filesystem).
std::vector<std::size_t> shard_indexes(const std::vector<std::string>& files, const Shard& shard);

}  // namespace faultline::runner
