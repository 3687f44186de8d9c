// What every benchmark in bench/ records, and where: the same 64-byte VRRL v1
// record, the same ring sizes and record counts, files in one temporary
// directory. Shared by vrrl-bench and vrrl-latency so that every variant, vrrl
// or stream baseline, does the same work per record.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

#include <vrrl/format.hpp>
#include <vrrl/record.hpp>

namespace vrrl::bench {

// The 64 MiB log (format::max_capacity slots) every stream baseline writes
// into, and a log small enough to stay in L2 (256 KiB).
inline constexpr std::uint64_t big_log_slots = format::max_capacity;
inline constexpr std::uint64_t small_log_slots = 4096;
inline constexpr std::uint64_t page_bytes = 4096;

// Records appended per benchmark run by every append/ variant: one lap of the
// big log, so that append/vrrl_cold faults in every page exactly once.
// VRRL_BENCH_RECORDS overrides it (scripts/demo does not).
[[nodiscard]] inline std::uint64_t records_per_run() {
  if (const char* text = std::getenv("VRRL_BENCH_RECORDS"); text != nullptr && *text != '\0') {
    return std::strtoull(text, nullptr, 10);
  }
  return big_log_slots;
}

// Seconds each scenario (scenarios/) measures, after a quarter of that as
// warm-up; VRRL_BENCH_SCENARIO_SECONDS overrides the default of 1
// (scripts/demo --long uses 3).
[[nodiscard]] inline double scenario_seconds() {
  if (const char* text = std::getenv("VRRL_BENCH_SCENARIO_SECONDS"); text != nullptr && *text != '\0') {
    const double seconds = std::strtod(text, nullptr);
    if (seconds > 0) return seconds;
  }
  return 1.0;
}

// A directory for the benchmark files: VRRL_BENCH_DIR if set (a real disk, or
// /dev/shm for tmpfs), else a fresh directory under the system temp dir.
// Removed at exit only when we created it.
class BenchDir {
 public:
  static const std::filesystem::path& get() {
    static const BenchDir dir;
    return dir.path_;
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;

 private:
  BenchDir() {
    const char* chosen = std::getenv("VRRL_BENCH_DIR");
    const std::filesystem::path parent = chosen != nullptr && *chosen != '\0'
                                             ? std::filesystem::path(chosen)
                                             : std::filesystem::temp_directory_path();
    path_ = parent / ("vrrl-bench." + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~BenchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::filesystem::path path_;
};

// The record every variant appends; only the timestamp changes per record.
[[nodiscard]] inline RecordedSlot sample_slot(std::uint64_t n) noexcept {
  return {.timestamp_ns = 1'700'000'000'000'000'000ULL + n,
          .slot_idx = 17,
          .tenant_id = 7,
          .opcode = 0x4000'0001u,
          .args = {1, 2, 3, 4},
          .epoch = 1};
}

// The 64 bytes a stream writer writes for `slot`: exactly what RingLog stores.
inline void encode_record(std::byte* out, const RecordedSlot& slot) noexcept {
  wire::encode_record(out, format::record_magic, slot, FailureEvidence{});
}

}  // namespace vrrl::bench
