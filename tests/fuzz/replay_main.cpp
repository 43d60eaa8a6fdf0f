// Runs the fuzz target once on each file named on the command line (or each file of a named
// folder), so saved findings replay in the ordinary g++ build and its sanitizer leg, where
// libFuzzer itself is not available.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
void replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " FILE|FOLDER...\n";
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    if (!std::filesystem::exists(argv[i])) {
      std::cerr << argv[0] << ": " << argv[i] << ": no such file or folder\n";
      return 2;
    }
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[i]))
        if (entry.is_regular_file() && entry.path().extension() != ".md") files.push_back(entry.path());
    } else {
      files.push_back(argv[i]);
    }
  }
  for (const auto& file : files) {
    std::cout << "replaying " << file.filename().string() << std::endl;
    replay(file);
  }
  std::cout << "replayed " << files.size() << " input(s) without a crash\n";
  return 0;
}
