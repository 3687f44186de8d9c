// recording/<variant>: recordings (include/vrrl/recording.hpp), against the
// single log they are built from, measured in the same run.
//
//   recording/append/slots:N           StreamWriter::append into a prepared, prefaulted
//                                      segment of N slots, N - 1 appends per run: no roll.
//                                      Compare append/vrrl/slots:N (a warm ring).
//   recording/append_stamped/slots:N   the same, each record stamped with
//                                      steady_clock::now(): what a shared clock costs
//   recording/append/threads:T         one StreamWriter per thread (T = 1, 2, 4), each
//                                      its own stream of one Recording, 262,143 appends
//                                      per thread into a 262,144-slot segment (no roll);
//                                      real time, so Time is wall ns per record for the
//                                      group (as append/vrrl_per_thread, append/vrrl_mp)
//   recording/roll/paced_2M            2 M appends/s paced on the TSC into 65,536-slot
//                                      (4 MiB) segments, retain_segments 4 (one roll every
//                                      33 ms, 60 rolls): every rolling append timed;
//                                      roll_p50_ns, roll_p99_9_ns, roll_max_ns over the
//                                      rolls that found the next segment ready
//                                      (rolls_ready), waited_max_ns over the others
//   recording/roll/flat_out/<how>      flat out over 12 rolls of 1,048,576-slot (64 MiB)
//                                      segments, retain_segments 2: the sustained rate
//                                      when preparation is the limit; <how> = fresh
//                                      (created, fallocated, prefaulted) or recycled
//   recording/replay/streams:K/burst:B merged replay of K streams of 262,144 records
//                                      (4 segments each), timestamps dealt to the
//                                      streams in bursts of B; items/s is records/s.
//                                      Compare replay/vrrl (one 1M-record log).
//   recording/clock/<clock>            one read of the clock a recording's writers
//                                      would stamp records with
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <vrrl/recording.hpp>

#include "percentiles.hpp"
#include "timer.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

std::filesystem::path fresh_recording(const std::string& name) {
  const auto path = BenchDir::get() / name;
  std::filesystem::remove_all(path);
  return path;
}

RecordingOptions segments_of(std::uint64_t slots) {
  RecordingOptions options;
  options.segment_capacity = slots;
  options.prefault = true;
  options.roll_timeout = std::chrono::hours(1);  // a benchmark never drops: a slow roll shows as a slow roll
  return options;
}

void report_records(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["records_per_iteration"] = benchmark::Counter(1, benchmark::Counter::kAvgThreads);
}

// --- append, no roll ---------------------------------------------------------------

void recording_append(benchmark::State& state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  Recording recording = Recording::open(fresh_recording("recording_append"), segments_of(slots));
  StreamWriter writer = recording.stream("bench");
  RecordedSlot slot = sample_slot(0);
  for (auto _ : state) {
    ++slot.timestamp_ns;
    writer.append(slot);
  }
  report_records(state);
  state.counters["rolls"] = static_cast<double>(writer.stats().rolls);
}

void recording_append_stamped(benchmark::State& state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  Recording recording = Recording::open(fresh_recording("recording_stamped"), segments_of(slots));
  StreamWriter writer = recording.stream("bench");
  RecordedSlot slot = sample_slot(0);
  for (auto _ : state) {
    slot.timestamp_ns = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    writer.append(slot);
  }
  report_records(state);
}

// --- threads ----------------------------------------------------------------------

constexpr int max_threads = 4;
constexpr std::uint64_t thread_segment_slots = 262'144;
std::optional<Recording> threads_recording;
// Padded: two threads' writers never share a cache line (StreamWriter is
// alignas(64) itself; the padding keeps the optional's flag off it too).
struct alignas(128) PerThreadWriter {
  std::optional<StreamWriter> writer;
};
std::array<PerThreadWriter, max_threads> thread_writers;

void open_thread_writers(const benchmark::State& state) {
  threads_recording.emplace(Recording::open(fresh_recording("recording_threads"), segments_of(thread_segment_slots)));
  for (int t = 0; t < state.threads(); ++t) {
    thread_writers[static_cast<std::size_t>(t)].writer.emplace(threads_recording->stream("t" + std::to_string(t)));
  }
}
void close_thread_writers(const benchmark::State&) {
  for (PerThreadWriter& entry : thread_writers) entry.writer.reset();
  threads_recording.reset();
}

void recording_append_threads(benchmark::State& state) {
  StreamWriter& writer = *thread_writers[static_cast<std::size_t>(state.thread_index())].writer;
  RecordedSlot slot = sample_slot(0);
  slot.tenant_id = static_cast<std::uint32_t>(state.thread_index());
  for (auto _ : state) {
    ++slot.timestamp_ns;
    writer.append(slot);
  }
  report_records(state);
}

// --- rolls ------------------------------------------------------------------------

void recording_roll_paced(benchmark::State& state) {
  constexpr std::uint64_t slots = 65'536;
  constexpr std::uint64_t rate = 2'000'000;
  constexpr std::uint64_t rolls = 60;
  const TimerProperties& timer = process_timer();
  const auto ticks_per_append = static_cast<std::uint64_t>(1e9 / static_cast<double>(rate) / timer.ns_per_tick);
  std::vector<std::uint64_t> ready_ticks;   // rolls that found the next segment prepared
  std::vector<std::uint64_t> waited_ticks;  // rolls that had to wait for it
  StreamStats stats;
  for (auto _ : state) {
    RecordingOptions options = segments_of(slots);
    options.retain_segments = 4;  // bounded disk use; retired segments are recycled
    Recording recording = Recording::open(fresh_recording("recording_roll"), options);
    StreamWriter writer = recording.stream("bench");
    RecordedSlot slot = sample_slot(0);
    std::uint64_t due = ticks_unfenced();
    for (std::uint64_t n = 0; n < slots * rolls; ++n) {
      while (ticks_unfenced() < due) {
      }
      due += ticks_per_append;
      ++slot.timestamp_ns;
      if (n % slots == slots - 1) {  // this append fills the segment and rolls
        const std::uint64_t waited_before = writer.stats().rolls_waited;
        const std::uint64_t start = ticks();
        writer.append(slot);
        const std::uint64_t took = ticks() - start;
        (writer.stats().rolls_waited == waited_before ? ready_ticks : waited_ticks).push_back(took);
        due = std::max(due, ticks_unfenced());  // a roll that waited does not make the next ones rush
      } else {
        writer.append(slot);
      }
    }
    stats = writer.stats();
  }
  const LatencySummary ready = summarize(ready_ticks, timer);
  const LatencySummary waited = summarize(waited_ticks, timer);
  state.counters["rolls"] = static_cast<double>(stats.rolls);
  state.counters["rolls_ready"] = static_cast<double>(ready.samples);
  state.counters["rolls_waited"] = static_cast<double>(waited.samples);
  state.counters["dropped"] = static_cast<double>(stats.dropped);
  state.counters["roll_p50_ns"] = ready.p50;
  state.counters["roll_p99_9_ns"] = ready.p999;
  state.counters["roll_max_ns"] = ready.max;
  state.counters["waited_max_ns"] = waited.max;
  state.counters["rate_target"] = static_cast<double>(rate);
}

void recording_roll_flat_out(benchmark::State& state, bool recycled) {
  constexpr std::uint64_t slots = big_log_slots;
  constexpr std::uint64_t rolls = 12;
  RecordingOptions options = segments_of(slots);
  options.retain_segments = 2;  // 4 segments of 64 MiB on disk at most
  options.recycle = recycled;
  StreamStats stats;
  for (auto _ : state) {
    Recording recording = Recording::open(fresh_recording("recording_flat_out"), options);
    StreamWriter writer = recording.stream("bench");
    RecordedSlot slot = sample_slot(0);
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t n = 0; n < slots * rolls; ++n) {
      ++slot.timestamp_ns;
      writer.append(slot);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);
    stats = writer.stats();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(static_cast<std::uint64_t>(state.iterations()) * slots * rolls));
  state.counters["records_per_iteration"] = static_cast<double>(slots * rolls);
  state.counters["rolls"] = static_cast<double>(stats.rolls);
  state.counters["rolls_waited"] = static_cast<double>(stats.rolls_waited);
  state.counters["recycled"] = static_cast<double>(stats.segments_recycled);
}

// --- merged replay ----------------------------------------------------------------

constexpr std::uint64_t replay_records_per_stream = 262'144;
constexpr std::uint64_t replay_segment_slots = 65'536;

// Written once per (streams, burst) per process: the same global clock dealt
// to the streams in bursts of `burst` consecutive timestamps, streams chosen
// at random (seeded), until each holds replay_records_per_stream records.
const std::filesystem::path& replay_recording(int streams, int burst) {
  static std::map<std::pair<int, int>, std::filesystem::path> made;
  auto& path = made[{streams, burst}];
  if (!path.empty()) return path;
  path = fresh_recording("recording_replay_" + std::to_string(streams) + "_" + std::to_string(burst));
  Recording recording = Recording::open(path, segments_of(replay_segment_slots));
  std::vector<StreamWriter> writers;
  for (int s = 0; s < streams; ++s) writers.push_back(recording.stream("s" + std::to_string(s)));
  std::mt19937 random(20261201);
  std::uint64_t clock = 0;
  std::vector<int> open_streams(static_cast<std::size_t>(streams));
  for (int s = 0; s < streams; ++s) open_streams[static_cast<std::size_t>(s)] = s;
  while (!open_streams.empty()) {
    const std::size_t pick = random() % open_streams.size();
    StreamWriter& writer = writers[static_cast<std::size_t>(open_streams[pick])];
    for (int k = 0; k < burst && writer.appended() < replay_records_per_stream; ++k) {
      RecordedSlot slot = sample_slot(clock);
      slot.timestamp_ns = clock++;
      writer.append(slot);
    }
    if (writer.appended() == replay_records_per_stream) open_streams.erase(open_streams.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return path;
}

void recording_replay(benchmark::State& state) {
  const auto streams = static_cast<int>(state.range(0));
  const auto burst = static_cast<int>(state.range(1));
  const RecordingReader reader = RecordingReader::open(replay_recording(streams, burst));
  const auto total = static_cast<std::uint64_t>(streams) * replay_records_per_stream;
  // One untimed walk: the page cache and the mappings are warm, as for replay/vrrl.
  for (const StreamRecord& item : reader.replay()) benchmark::DoNotOptimize(item.record.timestamp_ns());
  std::uint64_t checked = 0;
  for (auto _ : state) {
    std::uint64_t sum = 0;
    std::uint64_t count = 0;
    for (const StreamRecord& item : reader.replay()) {
      sum += item.record.timestamp_ns();
      ++count;
    }
    benchmark::DoNotOptimize(sum);
    checked = count;
  }
  if (checked != total) state.SkipWithError("the merge did not return every record");
  state.SetItemsProcessed(static_cast<std::int64_t>(static_cast<std::uint64_t>(state.iterations()) * total));
  state.SetBytesProcessed(
      static_cast<std::int64_t>(static_cast<std::uint64_t>(state.iterations()) * total * format::record_bytes));
  state.counters["records_per_iteration"] = static_cast<double>(total);
}

// --- clocks -----------------------------------------------------------------------

void clock_steady(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}
void clock_monotonic_coarse(benchmark::State& state) {
  for (auto _ : state) {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    benchmark::DoNotOptimize(now);
  }
}
void clock_rdtsc(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ticks_unfenced());
}

void register_recording_benchmarks() {
  // The run must not roll: N - 1 appends into one segment of N slots.
  for (const std::uint64_t slots : {big_log_slots}) {
    benchmark::RegisterBenchmark("recording/append", recording_append)
        ->ArgName("slots")
        ->Arg(static_cast<std::int64_t>(slots))
        ->Iterations(static_cast<benchmark::IterationCount>(slots - 1))
        ->Unit(benchmark::kNanosecond);
    benchmark::RegisterBenchmark("recording/append_stamped", recording_append_stamped)
        ->ArgName("slots")
        ->Arg(static_cast<std::int64_t>(slots))
        ->Iterations(static_cast<benchmark::IterationCount>(slots - 1))
        ->Unit(benchmark::kNanosecond);
  }
  benchmark::RegisterBenchmark("recording/append", recording_append_threads)
      ->Setup(open_thread_writers)
      ->Teardown(close_thread_writers)
      ->Iterations(static_cast<benchmark::IterationCount>(thread_segment_slots - 1))
      ->Threads(1)
      ->Threads(2)
      ->Threads(max_threads)
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("recording/roll/paced_2M", recording_roll_paced)
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("recording/roll/flat_out/fresh", recording_roll_flat_out, false)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("recording/roll/flat_out/recycled", recording_roll_flat_out, true)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  for (const int streams : {1, 2, 4, 8}) {
    for (const int burst : {1, 64}) {
      benchmark::RegisterBenchmark("recording/replay", recording_replay)
          ->ArgNames({"streams", "burst"})
          ->Args({streams, burst})
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::RegisterBenchmark("recording/clock/steady_clock", clock_steady);
  benchmark::RegisterBenchmark("recording/clock/monotonic_coarse", clock_monotonic_coarse);
  benchmark::RegisterBenchmark("recording/clock/rdtsc", clock_rdtsc);
}

// Registration at load time keeps main() Google Benchmark's own.
const bool registered = (register_recording_benchmarks(), true);

}  // namespace
}  // namespace vrrl::bench
