// Percentiles of a set of timed samples, with the timer's own cost taken off
// (timer.hpp), and the percentile curve report.py draws HdrHistogram-style:
// percentile p at x = 1 / (1 - p), so p50, p90, p99, p99.9 ... are equally
// spaced, and the maximum is kept apart (it is one sample, not a percentile).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "timer.hpp"

namespace vrrl::bench {

struct LatencySummary {
  std::size_t samples = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, p9999 = 0, max = 0, mean = 0;  // ns, timer cost subtracted
  double raw_p50 = 0, raw_max = 0;                                            // ns, as measured
  // (percentile in [0, 100), ns): ten points per decade of 1 / (1 - p), up to
  // the highest percentile the sample count supports.
  std::vector<std::pair<double, double>> curve;
};

// Sorts `samples` (ticks) in place.
inline LatencySummary summarize(std::vector<std::uint64_t>& samples, const TimerProperties& timer) {
  LatencySummary summary;
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  summary.samples = samples.size();
  const auto at = [&](double quantile) {
    const auto index = static_cast<std::size_t>(quantile * static_cast<double>(samples.size() - 1) + 0.5);
    return timer.corrected_ns(samples[index]);
  };
  summary.p50 = at(0.50);
  summary.p90 = at(0.90);
  summary.p99 = at(0.99);
  summary.p999 = at(0.999);
  summary.p9999 = at(0.9999);
  summary.max = timer.corrected_ns(samples.back());
  summary.raw_p50 = static_cast<double>(samples[(samples.size() - 1) / 2]) * timer.ns_per_tick;
  summary.raw_max = static_cast<double>(samples.back()) * timer.ns_per_tick;
  double total = 0;
  for (const std::uint64_t s : samples) total += timer.corrected_ns(s);
  summary.mean = total / static_cast<double>(samples.size());
  const double decades = std::log10(static_cast<double>(samples.size()));
  for (int tenth = 0; tenth <= static_cast<int>(decades * 10); ++tenth) {
    const double quantile = 1.0 - std::pow(10.0, -tenth / 10.0);
    summary.curve.emplace_back(100.0 * quantile, at(quantile));
  }
  return summary;
}

}  // namespace vrrl::bench
