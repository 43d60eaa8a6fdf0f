#include "runner/selection.h"

#include <algorithm>
#include <numeric>

namespace faultline::runner {

std::optional<Shard> parse_shard(const std::string& text, std::string* why) {
  const auto slash = text.find('/');
  auto fail = [&](const std::string& message) -> std::optional<Shard> {
    if (why) *why = message;
    return std::nullopt;
  };
  if (slash == std::string::npos) return fail("expected I/N, e.g. 2/3");
  const std::string i = text.substr(0, slash), n = text.substr(slash + 1);
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() < 6 && std::all_of(s.begin(), s.end(), ::isdigit);
  };
  if (!digits(i) || !digits(n)) return fail("expected I/N with whole numbers, e.g. 2/3");
  Shard shard{std::stoi(i), std::stoi(n)};
  if (shard.count < 1 || shard.index < 1 || shard.index > shard.count)
    return fail("shard index must be between 1 and the shard count");
  return shard;
}

bool tags_match(const std::vector<std::string>& tags, const std::vector<std::string>& include,
                const std::vector<std::string>& exclude) {
  auto has = [&](const std::string& t) { return std::find(tags.begin(), tags.end(), t) != tags.end(); };
  if (std::any_of(exclude.begin(), exclude.end(), has)) return false;
  return include.empty() || std::any_of(include.begin(), include.end(), has);
}

std::vector<std::size_t> shard_indexes(const std::vector<std::string>& files, const Shard& shard) {
  std::vector<std::size_t> order(files.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return files[a] < files[b]; });
  std::vector<std::size_t> picked;
  for (std::size_t k = 0; k < order.size(); ++k)
    if (static_cast<int>(k % shard.count) == shard.index - 1) picked.push_back(order[k]);
  std::sort(picked.begin(), picked.end());
  return picked;
}

}  // namespace faultline::runner
