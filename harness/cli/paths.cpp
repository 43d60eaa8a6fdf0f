#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "cli/commands.h"
#include "common/error.h"
#include "syscall/rules.h"

namespace faultline::cli {

namespace fs = std::filesystem;

// In a build tree the helpers (payload, demo services) sit beside the executable. Installed, they
// live in their own folder (FHS: libexec/faultline), found relative to the executable so that an
// unpacked package works under any root; that folder also links back to the faultline executable,
// so `${faultline_dir}/faultline` (the memory injector's helper) resolves in both layouts.
std::string faultline_dir() {
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  const fs::path bin_dir = self.parent_path();
#ifdef FAULTLINE_HELPER_RELDIR
  const fs::path installed = (bin_dir / FAULTLINE_HELPER_RELDIR).lexically_normal();
  if (fs::is_directory(installed, ec)) return installed.string();
#endif
  return bin_dir.string();
}

// What a chain of symlinks at `path` leads to, whether or not that exists (at most 40 links, as
// the kernel follows); `path` itself when it is no symlink.
fs::path follow_symlinks(fs::path path) {
  std::error_code ec;
  for (int hops = 0; hops < 40 && fs::is_symlink(path, ec); ++hops) {
    const fs::path target = fs::read_symlink(path, ec);
    if (ec) break;
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  return path;
}

// One spelling per file: `./r.json`, `r.json` and a symlink to it (even a dangling one, whose
// target the writer creates) compare equal.
fs::path same_file_key(const std::string& path) {
  const fs::path followed = follow_symlinks(fs::absolute(path));
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(followed, ec);
  return ec ? followed.lexically_normal() : canonical;
}

std::vector<std::string> expand_scenario_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  // Every *.toml below `dir`, through symlinked folders too (`scenarios/critical -> ../shared`):
  // skipped, the scenarios there would never run and the gate would not say so. Only a link back
  // to a folder it is inside is not followed (a loop). A file reached two ways is found under
  // both spellings, in path order, and the first is kept below: the spelling, and so the shard
  // split, does not depend on the order the filesystem lists a folder in.
  auto add_dir = [&](const fs::path& dir) {
    std::vector<std::string> found;
    std::vector<fs::path> inside{fs::canonical(dir)};  // the real folders the walk is in, by depth
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
         it != fs::recursive_directory_iterator(); ++it) {
      std::error_code ec;
      if (it->is_directory(ec)) {
        inside.resize(static_cast<std::size_t>(it.depth()) + 1);
        const fs::path real = fs::canonical(it->path(), ec);
        if (ec || std::find(inside.begin(), inside.end(), real) != inside.end())
          it.disable_recursion_pending();
        else
          inside.push_back(real);
      } else if (it->is_regular_file(ec) && it->path().extension() == ".toml") {
        found.push_back(it->path().string());
      }
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  };
  // A directory or a glob that adds no scenario is a usage error, also beside other paths that
  // do: an emptied or mistyped folder must not turn a CI gate green.
  for (const auto& path : paths) {
    std::error_code ec;
    const std::size_t before = files.size();
    if (fs::is_directory(path, ec)) {
      add_dir(path);
      if (files.size() == before) throw UsageError("no scenario file (*.toml) in directory `" + path + "`");
    } else if (fs::exists(path, ec)) {
      files.push_back(path);
    } else if (path.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      if (::glob(path.c_str(), 0, nullptr, &g) == 0)
        for (std::size_t i = 0; i < g.gl_pathc; ++i) {
          const std::string match = g.gl_pathv[i];
          if (fs::is_directory(match, ec)) {
            // An emptied folder the glob matches is the same mistake as one named on its own.
            const std::size_t in_folder = files.size();
            add_dir(match);
            if (files.size() == in_folder) {
              globfree(&g);
              throw UsageError("no scenario file (*.toml) in directory `" + match + "` (matched by `" + path +
                               "`)");
            }
          } else {
            files.push_back(match);
          }
        }
      globfree(&g);
      if (files.size() == before) throw UsageError("no scenario file matches `" + path + "`");
    } else {
      throw UsageError("no such scenario file or directory: " + path);
    }
  }
  // A file named twice (a directory and a glob inside it: `scenarios/ scenarios/critical/*.toml`)
  // runs once: twice, it was counted twice, gave JUnit two identical test cases and fell into two
  // shards, which were then no longer disjoint.
  std::vector<std::string> unique;
  std::set<fs::path> seen;
  for (auto& file : files)
    if (seen.insert(same_file_key(file)).second) unique.push_back(std::move(file));
  return unique;
}

scenario::LoadOptions scenario_load_options() {
  scenario::LoadOptions options;
  options.builtin_vars["faultline_dir"] = faultline_dir();
  syscall::add_host_tables(options);
  return options;
}

CLI::Validator seed_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
          return "`" + text + "` is not a seed: a whole number from 0 to 18446744073709551615";
        return {};
      },
      "UINT64", "seed");
}

}  // namespace faultline::cli
