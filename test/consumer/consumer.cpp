// Uses vrrl the way an adopter would: one header, one dependency.
#include <vrrl/ring_log.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  const std::filesystem::path path = argc > 1 ? argv[1] : "consumer.vrrl";
  auto log = vrrl::RingLog::open(path, 8);
  for (std::uint32_t n = 0; n < 10; ++n) log.append({.timestamp_ns = n, .slot_idx = n});
  log.sync();
  const auto records = vrrl::LogReader::open(path).replay_all();
  // One version number: the macros and the string come from the same project version.
  const std::string from_macros = std::to_string(VRRL_VERSION_MAJOR) + "." + std::to_string(VRRL_VERSION_MINOR) + "." +
                                  std::to_string(VRRL_VERSION_PATCH);
  std::printf("consumer: %zu records, oldest %u, newest %u, vrrl %s\n", records.size(), records.front().slot_idx,
              records.back().slot_idx, std::string(vrrl::version).c_str());
  return records.size() == 8 && records.front().slot_idx == 2 && from_macros == vrrl::version ? 0 : 1;
}
