// The clock every latency figure in bench/ is read with, and what it can and
// cannot resolve. vrrl-latency and the sync/periodic_10ms scenario time single
// appends that cost a few nanoseconds with a clock whose own cost (two fenced
// reads) and step (how far it jumps between distinct values) are of the same
// order or larger, so both are measured at start-up, printed, and the cost is
// subtracted from every sample (docs/benchmarks.md, "Reading the latency figures").
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace vrrl::bench {

inline constexpr bool has_tsc =
#if defined(__x86_64__)
    true;
#else
    false;
#endif

// A timestamp in ticks: the TSC where there is one, fenced with lfence on both
// sides so the timed work can neither start before nor finish after it;
// steady_clock nanoseconds elsewhere.
inline std::uint64_t ticks() noexcept {
#if defined(__x86_64__)
  _mm_lfence();
  const std::uint64_t now = __rdtsc();
  _mm_lfence();
  return now;
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// An unfenced read, for pacing loops that only need to know roughly what time it is.
inline std::uint64_t ticks_unfenced() noexcept {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return ticks();
#endif
}

// What the clock costs and resolves on this machine, measured once.
struct TimerProperties {
  double ns_per_tick = 1.0;
  // Two back-to-back ticks() calls with nothing between them: what every
  // sample includes on top of the timed work. The median is what gets subtracted.
  std::uint64_t overhead_ticks_median = 0;
  std::uint64_t overhead_ticks_min = 0;
  // The clock's step: the greatest common divisor of the differences seen
  // between back-to-back reads. A TSC that a hypervisor updates coarsely
  // advances in steps of several ticks (10 ns on the machine in docs/benchmarks.md).
  std::uint64_t step_ticks = 1;

  [[nodiscard]] double overhead_ns() const noexcept { return static_cast<double>(overhead_ticks_median) * ns_per_tick; }
  [[nodiscard]] double overhead_min_ns() const noexcept { return static_cast<double>(overhead_ticks_min) * ns_per_tick; }
  [[nodiscard]] double step_ns() const noexcept { return static_cast<double>(step_ticks) * ns_per_tick; }
  [[nodiscard]] const char* clock_name() const noexcept { return has_tsc ? "rdtsc (lfence on both sides)" : "steady_clock"; }

  // A sample in ticks, the timer's own median cost taken off (never below zero), in ns.
  [[nodiscard]] double corrected_ns(std::uint64_t sample_ticks) const noexcept {
    const std::uint64_t work = sample_ticks > overhead_ticks_median ? sample_ticks - overhead_ticks_median : 0;
    return static_cast<double>(work) * ns_per_tick;
  }
};

// Nanoseconds per tick against steady_clock over `window`.
inline double measure_ns_per_tick(std::chrono::milliseconds window = std::chrono::milliseconds(50)) {
  if constexpr (!has_tsc) return 1.0;
  const auto wall_start = std::chrono::steady_clock::now();
  const std::uint64_t tick_start = ticks();
  while (std::chrono::steady_clock::now() - wall_start < window) {
  }
  const std::uint64_t tick_end = ticks();
  const double wall_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - wall_start).count();
  return wall_ns / static_cast<double>(tick_end - tick_start);
}

// About 70 ms: the tick rate, then `pairs` back-to-back reads.
inline TimerProperties measure_timer(std::size_t pairs = 1'000'000) {
  TimerProperties timer;
  timer.ns_per_tick = measure_ns_per_tick();
  std::vector<std::uint64_t> gaps(pairs);
  for (std::uint64_t& gap : gaps) {
    const std::uint64_t start = ticks();
    gap = ticks() - start;
  }
  std::uint64_t step = 0;
  for (const std::uint64_t gap : gaps) step = std::gcd(step, gap);
  timer.step_ticks = std::max<std::uint64_t>(step, 1);
  std::sort(gaps.begin(), gaps.end());
  timer.overhead_ticks_median = gaps[gaps.size() / 2];
  timer.overhead_ticks_min = gaps.front();
  return timer;
}

// This process's timer, measured on first use.
inline const TimerProperties& process_timer() {
  static const TimerProperties timer = measure_timer();
  return timer;
}

}  // namespace vrrl::bench
