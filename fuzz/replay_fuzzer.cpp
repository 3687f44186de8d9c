// libFuzzer entry point: arbitrary bytes opened as a log and replayed.
// Build: CXX=clang++ CC=clang meson setup build/fuzz -Dfuzzing=true ...
// Run:   build/fuzz/fuzz/replay_fuzzer -max_total_time=60 CORPUS_COPY
#include <cstddef>
#include <cstdint>

#include "replay_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static vrrl::fuzz::MemoryFile file;
  vrrl::fuzz::replay_bytes(file, data, size);
  return 0;
}
