// sync/periodic_10ms/<variant>/rate:<R>: the scheduler's case. One thread
// appends to a warm, prefaulted 1,048,576-slot log (64 MiB) while the log is
// made durable every 10 ms, at R = 10M or 1M appends/s (paced on the TSC,
// arrivals on schedule: a stalled append is followed by back-to-back ones
// until the schedule is caught up) or flat out (R = max).
//
// One benchmark iteration is one append, so the Time column is wall-clock ns
// per append (100 ns when paced at 10M/s and keeping up; the flat-out rate
// otherwise). Counters, over the measured window only:
//   p50_ns .. p99_99_ns, max_ns   single-append latency, sampled (1 in ~4
//                                 paced, 1 in ~64 flat out, random gaps), the
//                                 timer's own cost subtracted (timer.hpp)
//   faults                        minor + major page faults of the appending
//                                 thread (getrusage RUSAGE_THREAD)
//   syncs, faults_per_sync        syncs completed in the window (sync_every: the
//                                 library's background passes), and faults / syncs
//   sync_p50_ms, sync_max_ms      how long one sync took (sync_thread only)
//   durable_p50_ms, durable_p99_ms sync_every: time from an append to durable()
//                                 counting it (DurableLag: pass ends seen through
//                                 wait_durable(), append times interpolated)
//   overrun                       sync_every: records the ring overwrote before a
//                                 pass copied them (flat out, the copy can be lapped)
//   behind_max_us                 paced: the furthest the appender fell behind its schedule
// Warm-up before the window: one untimed lap, then a quarter of the window's
// length with the durability variant already running.
//
// The variants are a table: a new way of making the log durable is one row.
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "percentiles.hpp"
#include "timer.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

using namespace std::chrono_literals;

constexpr auto sync_period = 10ms;

// One way of keeping the log durable while one thread appends.
struct DurabilityVariant {
  const char* name;   // sync/periodic_10ms/<name>/...
  const char* what;   // one line, for the report and docs/benchmarks.md
  OpenOptions (*options)();
  bool sync_thread;   // another thread calls RingLog::sync() every sync_period
};

constexpr DurabilityVariant durability_variants[] = {
    {"no_sync", "nothing makes the log durable: the baseline", [] { return OpenOptions{.prefault = true}; }, false},
    {"sync_thread", "another thread calls RingLog::sync() (msync MS_SYNC of the whole file) every 10 ms",
     [] { return OpenOptions{.prefault = true}; }, true},
    {"sync_every",
     "OpenOptions::sync_every = 10 ms: the ring lives on tmpfs and a library thread copies new records to the file "
     "(pwrite + 3 fdatasyncs per pass)",
     [] { return OpenOptions{.prefault = true, .format = Format::v1, .sync_every = sync_period}; },
     false},
    {"no_sync_v2", "a VRRL v2 log, nothing makes it durable: the baseline for sync_every_v2",
     [] { return OpenOptions{.prefault = true, .format = Format::v2}; }, false},
    {"sync_every_v2",
     "OpenOptions::sync_every = 10 ms on a VRRL v2 log: each record is written once per pass (pwrite + 2 fdatasyncs)",
     [] { return OpenOptions{.prefault = true, .format = Format::v2, .sync_every = sync_period}; },
     false},
};

constexpr std::uint64_t paced_rates[] = {10'000'000, 1'000'000};  // appends per second; 0 = flat out

// Calls log.sync() every `period` on the absolute clock until stopped, timing each call.
class Syncer {
 public:
  Syncer(RingLog& log, std::chrono::nanoseconds period) : thread_([this, &log, period] { run(log, period); }) {}
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;
  ~Syncer() { stop(); }

  void stop() {
    stop_.store(true, std::memory_order_relaxed);  // polled once per period; no data rides on it
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] std::uint64_t syncs() const noexcept { return syncs_.load(std::memory_order_relaxed); }
  // Durations of the syncs that started at or after `first` (by count); call after stop().
  [[nodiscard]] std::vector<double> sync_ms_since(std::uint64_t first) const {
    return {sync_ms_.begin() + static_cast<std::ptrdiff_t>(std::min<std::uint64_t>(first, sync_ms_.size())),
            sync_ms_.end()};
  }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  void run(RingLog& log, std::chrono::nanoseconds period) {
    auto next = std::chrono::steady_clock::now() + period;
    while (!stop_.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_until(next);
      next += period;
      const auto start = std::chrono::steady_clock::now();
      try {
        log.sync();
      } catch (const std::exception& e) {
        error_ = e.what();
        return;
      }
      sync_ms_.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      syncs_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> syncs_{0};
  std::vector<double> sync_ms_;
  std::string error_;
  std::thread thread_;  // last: starts after the members it uses exist
};

// sync_every: how long after an append durable() counts it, measured without
// disturbing the appender. A thread sleeps in wait_durable() until each pass
// ends and notes (time, durable(), the ring's cursor): one wake-up per pass. A
// record's durable time is the first pass end that counts it; its append time
// is interpolated from the cursor's progress between two pass ends.
class DurableLag {
 public:
  explicit DurableLag(const RingLog& log)
      : ring_(LogReader::open(log.live_path())), thread_([this, &log] { run(log); }) {}
  DurableLag(const DurableLag&) = delete;
  DurableLag& operator=(const DurableLag&) = delete;
  ~DurableLag() { stop(); }

  void stop() {
    stop_.store(true, std::memory_order_relaxed);  // polled at least every 50 ms; no data rides on it
    if (thread_.joinable()) thread_.join();
  }
  // Milliseconds from append to durable of the records [first, last), one
  // sample per `step` records (call after stop()).
  [[nodiscard]] std::vector<double> lags_ms(std::uint64_t first, std::uint64_t last, std::uint64_t step) const {
    std::vector<double> lags;
    std::size_t progress = 1, durable = 0;  // indices into ends_, only moving forward
    for (std::uint64_t n = first; n < last; n += step) {
      while (progress < ends_.size() && ends_[progress].cursor <= n) ++progress;
      while (durable < ends_.size() && ends_[durable].durable <= n) ++durable;
      if (progress >= ends_.size() || durable >= ends_.size() || ends_[progress - 1].cursor > n) continue;
      const PassEnd& before = ends_[progress - 1];
      const PassEnd& after = ends_[progress];
      const double share = static_cast<double>(n - before.cursor) / static_cast<double>(after.cursor - before.cursor);
      const auto appended_at = before.at + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                               (after.at - before.at) * share);
      lags.push_back(std::chrono::duration<double, std::milli>(ends_[durable].at - appended_at).count());
    }
    return lags;
  }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  struct PassEnd {
    std::chrono::steady_clock::time_point at;
    std::uint64_t durable;
    std::uint64_t cursor;
  };

  void run(const RingLog& log) {
    try {
      while (!stop_.load(std::memory_order_relaxed)) {
        const std::uint64_t durable = log.durability_stats().durable;
        if (!log.wait_durable(durable + 1, std::chrono::milliseconds(50))) continue;
        ends_.push_back({std::chrono::steady_clock::now(), log.durability_stats().durable, ring_.appended()});
      }
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }

  LogReader ring_;
  std::atomic<bool> stop_{false};
  std::vector<PassEnd> ends_;
  std::string error_;
  std::thread thread_;  // last: starts after the members it uses exist
};

double percentile_of(std::vector<double> values, double quantile) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(quantile * static_cast<double>(values.size() - 1) + 0.5)];
}

// Decides which appends are timed: gaps uniform in [1, 2 * mean - 1], so the
// sampling cannot lock onto a periodic stall (xorshift64: no syscall, no allocation).
class Sampler {
 public:
  explicit Sampler(std::uint64_t mean_gap) : mean_gap_(mean_gap) { draw(); }
  bool take() noexcept {
    if (--until_next_ != 0) return false;
    draw();
    return true;
  }

 private:
  void draw() noexcept {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    until_next_ = 1 + state_ % (2 * mean_gap_ - 1);
  }
  std::uint64_t mean_gap_;
  std::uint64_t state_ = 0x9e3779b97f4a7c15ULL;
  std::uint64_t until_next_ = 1;
};

// Holds the appender to `rate` appends per second on the TSC; does nothing at rate 0.
class Pacer {
 public:
  Pacer(std::uint64_t rate, const TimerProperties& timer)
      : ticks_per_append_(rate == 0 ? 0.0 : 1e9 / static_cast<double>(rate) / timer.ns_per_tick),
        next_(static_cast<double>(ticks_unfenced())) {}
  void wait() noexcept {
    if (ticks_per_append_ == 0.0) return;
    std::uint64_t now = ticks_unfenced();
    if (static_cast<double>(now) > next_) {
      behind_max_ = std::max(behind_max_, static_cast<double>(now) - next_);
    }
    while (static_cast<double>(now) < next_) now = ticks_unfenced();
    next_ += ticks_per_append_;
  }
  [[nodiscard]] double behind_max_ticks() const noexcept { return behind_max_; }

 private:
  double ticks_per_append_;
  double next_;
  double behind_max_ = 0;
};

std::uint64_t thread_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return static_cast<std::uint64_t>(usage.ru_minflt + usage.ru_majflt);
}

double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void periodic_sync(benchmark::State& state, const DurabilityVariant* variant, std::uint64_t rate) {
  const TimerProperties& timer = process_timer();
  const auto path = BenchDir::get() / "sync_periodic.vrrl";
  std::filesystem::remove(path);
  RingLog log = RingLog::open(path, big_log_slots, variant->options());
  for (std::uint64_t n = 0; n < big_log_slots; ++n) log.append(sample_slot(n));

  std::optional<Syncer> syncer;
  if (variant->sync_thread) syncer.emplace(log, sync_period);
  std::optional<DurableLag> lag;
  if (!log.live_path().empty()) lag.emplace(log);
  RecordedSlot slot = sample_slot(0);
  {
    Pacer warm_pacer(rate, timer);
    const auto warm_until = std::chrono::steady_clock::now() + std::chrono::duration<double>(scenario_seconds() / 4);
    while (std::chrono::steady_clock::now() < warm_until) {
      for (int i = 0; i < 1024; ++i) {
        warm_pacer.wait();
        ++slot.timestamp_ns;
        log.append(slot);
      }
    }
  }

  const std::uint64_t mean_gap = rate == 0 ? 64 : 4;
  std::vector<std::uint64_t> samples(static_cast<std::size_t>(state.max_iterations) / mean_gap * 2 + 1024);
  std::size_t sampled = 0;
  Sampler sampler(mean_gap);
  const std::uint64_t syncs_before = syncer ? syncer->syncs() : 0;
  const DurabilityStats stats_before = log.durability_stats();
  const std::uint64_t appended_before = log.appended();
  const std::uint64_t faults_before = thread_faults();
  Pacer pacer(rate, timer);
  for (auto _ : state) {
    pacer.wait();
    ++slot.timestamp_ns;
    if (sampler.take() && sampled < samples.size()) {
      const std::uint64_t start = ticks();
      log.append(slot);
      samples[sampled++] = ticks() - start;
    } else {
      log.append(slot);
    }
  }
  const std::uint64_t faults = thread_faults() - faults_before;
  const DurabilityStats stats_after = log.durability_stats();
  std::uint64_t syncs = stats_after.passes - stats_before.passes;
  std::vector<double> lag_ms;
  if (lag) {
    lag->stop();
    if (!lag->error().empty() || stats_after.failures != 0) {
      state.SkipWithError(("background durability failed: " + lag->error()).c_str());
      return;
    }
    const std::uint64_t appended_after = log.appended();
    const std::uint64_t step = std::max<std::uint64_t>(1, (appended_after - appended_before) / 100'000);
    lag_ms = lag->lags_ms(appended_before, appended_after, step);
  }
  std::vector<double> sync_ms;
  if (syncer) {
    syncs = syncer->syncs() - syncs_before;
    syncer->stop();
    if (!syncer->error().empty()) {
      state.SkipWithError(("sync() failed: " + syncer->error()).c_str());
      return;
    }
    sync_ms = syncer->sync_ms_since(syncs_before);
  }

  samples.resize(sampled);
  const LatencySummary latency = summarize(samples, timer);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["records_per_iteration"] = 1;
  state.counters["rate_target"] = static_cast<double>(rate);
  state.counters["p50_ns"] = latency.p50;
  state.counters["p90_ns"] = latency.p90;
  state.counters["p99_ns"] = latency.p99;
  state.counters["p99_9_ns"] = latency.p999;
  state.counters["p99_99_ns"] = latency.p9999;
  state.counters["max_ns"] = latency.max;
  state.counters["samples"] = static_cast<double>(latency.samples);
  state.counters["timer_overhead_ns"] = timer.overhead_ns();
  state.counters["timer_step_ns"] = timer.step_ns();
  state.counters["faults"] = static_cast<double>(faults);
  state.counters["syncs"] = static_cast<double>(syncs);
  if (syncs > 0) {
    state.counters["faults_per_sync"] = static_cast<double>(faults) / static_cast<double>(syncs);
  }
  if (!sync_ms.empty()) {
    state.counters["sync_p50_ms"] = median_of(sync_ms);
    state.counters["sync_max_ms"] = *std::max_element(sync_ms.begin(), sync_ms.end());
  }
  if (lag) {
    state.counters["durable_p50_ms"] = percentile_of(lag_ms, 0.50);
    state.counters["durable_p99_ms"] = percentile_of(lag_ms, 0.99);
    state.counters["durable_samples"] = static_cast<double>(lag_ms.size());  // records sampled, not passes
    state.counters["overrun"] = static_cast<double>(stats_after.overrun - stats_before.overrun);
  }
  if (rate != 0) state.counters["behind_max_us"] = pacer.behind_max_ticks() * timer.ns_per_tick / 1e3;
}

void register_periodic_sync() {
  for (const DurabilityVariant& variant : durability_variants) {
    // The variant's description travels in the JSON's context, for the report.
    benchmark::AddCustomContext(std::string("variant sync/periodic_10ms/") + variant.name, variant.what);
    for (const std::uint64_t rate : {paced_rates[0], paced_rates[1], std::uint64_t{0}}) {
      // Paced: the window's length in appends. Flat out: 16 laps of the ring
      // per second of window (0.1 s without syncs here, seconds with them).
      const double records = rate != 0 ? scenario_seconds() * static_cast<double>(rate)
                                       : scenario_seconds() * 16 * static_cast<double>(big_log_slots);
      const std::string rate_name = rate == 0 ? "max" : std::to_string(rate / 1'000'000) + "M";
      const std::string name = std::string("sync/periodic_10ms/") + variant.name + "/rate:" + rate_name;
      benchmark::RegisterBenchmark(name.c_str(), periodic_sync, &variant, rate)
          ->Iterations(static_cast<benchmark::IterationCount>(records))
          ->Unit(benchmark::kNanosecond);
    }
  }
}

const bool registered = (register_periodic_sync(), true);

}  // namespace
}  // namespace vrrl::bench
