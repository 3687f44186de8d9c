// Every input in fuzz/corpus/ and fuzz/regressions/ run through the fuzz
// target's body (fuzz/replay_target.hpp) in the ordinary and sanitizer
// builds, so a crash the fuzzer once found stays fixed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "replay_target.hpp"

namespace {

std::vector<std::filesystem::path> inputs_in(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> inputs;
  if (!std::filesystem::is_directory(directory)) return inputs;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().filename().string()[0] != '.' &&
        entry.path().extension() != ".md") {
      inputs.push_back(entry.path());
    }
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

std::vector<std::uint8_t> bytes_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("the fuzzer's seed corpus and regression inputs replay without a crash", "[reliability][fuzz]") {
  const std::filesystem::path root = VRRL_SOURCE_ROOT;
  const auto corpus = inputs_in(root / "fuzz" / "corpus");
  const auto regressions = inputs_in(root / "fuzz" / "regressions");
  REQUIRE(corpus.size() >= 8);
  vrrl::fuzz::MemoryFile file;
  for (const auto& input : corpus) {
    CAPTURE(input);
    const auto bytes = bytes_of(input);
    vrrl::fuzz::replay_bytes(file, bytes.data(), bytes.size());
    // Files named valid-* are whole logs: they must open.
    if (input.filename().string().rfind("valid-", 0) == 0) {
      file.assign(bytes.data(), bytes.size());
      CHECK_NOTHROW((void)vrrl::LogReader::open(file.path()).replay_all());
    }
  }
  for (const auto& input : regressions) {
    CAPTURE(input);
    const auto bytes = bytes_of(input);
    vrrl::fuzz::replay_bytes(file, bytes.data(), bytes.size());
  }
  WARN(corpus.size() << " corpus inputs, " << regressions.size() << " regression inputs replayed");
}
