// append/<variant>/threads:N: recording from several threads. One iteration
// is one record in one thread; with real time, Google Benchmark divides the
// threads' mean wall time by the iterations of all threads, so the Time column
// is wall-clock ns per record for the whole group, and 1e9 / Time is the
// aggregate records per wall second (docs/benchmarks.md, "Many producers").
// Every variant appends into warm, prefaulted logs of small_log_slots (4096)
// slots, so the numbers differ only by the protocol.
//
//   append/vrrl_single                RingLog::append, one thread: the floor
//   append/vrrl_per_thread/threads:N  one RingLog per thread, each in its own file, the
//                                     writer objects 128 bytes apart: the design
//                                     recordings use (issue 11)
//   append/vrrl_mp/threads:N          SharedRingLog::append from N threads into one log
//   append/mutex_ringlog/threads:N    RingLog::append under a std::mutex from N threads
//   cacheline_handoff/threads:2       two threads taking turns on one atomic: the
//                                     machine's one-way core-to-core latency, the
//                                     floor under any per-record sharing
// N = 1, 2, 4 (4 oversubscribes a 2-CPU machine on purpose: preemption is part
// of the answer). Never CPU time summed over threads: every threaded benchmark
// uses real time.
// recording/append/threads:N, one StreamWriter per thread of one Recording,
// is in recording_bench.cpp.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <vrrl/multi_producer.hpp>
#include <vrrl/ring_log.hpp>

#include "workload.hpp"

namespace vrrl::bench {
namespace {

// Google Benchmark's Setup/Teardown take plain function pointers and run once
// per benchmark run, before the threads start: the shared log lives here.
std::optional<SharedRingLog> shared_log;
constexpr int max_threads = 4;
// Padded so two threads' writers never share a cache line (RingLog is 48
// bytes and append() writes its counters; adjacent ones would false-share).
struct alignas(128) PerThreadLog {
  std::optional<RingLog> log;
};
std::array<PerThreadLog, max_threads> per_thread_logs;
std::optional<RingLog> locked_log;
std::mutex locked_log_mutex;

std::filesystem::path fresh_path(const char* name) {
  const auto path = BenchDir::get() / name;
  std::filesystem::remove(path);
  return path;
}

void report_records(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  // Averaged, not summed, over the threads: still one record per iteration.
  state.counters["records_per_iteration"] = benchmark::Counter(1, benchmark::Counter::kAvgThreads);
}

void open_shared(const benchmark::State&) {
  shared_log.emplace(SharedRingLog::open(fresh_path("vrrl_mp.vrrl"), small_log_slots, {.prefault = true}));
  for (std::uint64_t n = 0; n < small_log_slots; ++n) shared_log->append(sample_slot(n));
}
void close_shared(const benchmark::State&) { shared_log.reset(); }

void open_per_thread(const benchmark::State& state) {
  for (int t = 0; t < state.threads(); ++t) {
    const auto name = "vrrl_thread_" + std::to_string(t) + ".vrrl";
    auto& log = per_thread_logs[static_cast<std::size_t>(t)].log;
    log.emplace(RingLog::open(fresh_path(name.c_str()), small_log_slots, {.prefault = true}));
    for (std::uint64_t n = 0; n < small_log_slots; ++n) log->append(sample_slot(n));
  }
}
void close_per_thread(const benchmark::State&) {
  for (auto& entry : per_thread_logs) entry.log.reset();
}

void open_locked(const benchmark::State&) {
  locked_log.emplace(RingLog::open(fresh_path("vrrl_mutex.vrrl"), small_log_slots, {.prefault = true}));
  for (std::uint64_t n = 0; n < small_log_slots; ++n) locked_log->append(sample_slot(n));
}
void close_locked(const benchmark::State&) { locked_log.reset(); }

void append_vrrl_single(benchmark::State& state) {
  RingLog log = RingLog::open(fresh_path("vrrl_single.vrrl"), small_log_slots, {.prefault = true});
  for (std::uint64_t n = 0; n < small_log_slots; ++n) log.append(sample_slot(n));
  RecordedSlot slot = sample_slot(0);
  for (auto _ : state) {
    ++slot.timestamp_ns;
    log.append(slot);
  }
  report_records(state);
}

void append_vrrl_mp(benchmark::State& state) {
  SharedRingLog& log = *shared_log;
  RecordedSlot slot = sample_slot(0);
  slot.tenant_id = static_cast<std::uint32_t>(state.thread_index());
  for (auto _ : state) {
    ++slot.timestamp_ns;
    log.append(slot);
  }
  report_records(state);
  if (state.thread_index() == 0) state.counters["waits"] = static_cast<double>(log.waits());
}

void append_vrrl_per_thread(benchmark::State& state) {
  RingLog& log = *per_thread_logs[static_cast<std::size_t>(state.thread_index())].log;
  RecordedSlot slot = sample_slot(0);
  slot.tenant_id = static_cast<std::uint32_t>(state.thread_index());
  for (auto _ : state) {
    ++slot.timestamp_ns;
    log.append(slot);
  }
  report_records(state);
}

void append_mutex_ringlog(benchmark::State& state) {
  RingLog& log = *locked_log;
  RecordedSlot slot = sample_slot(0);
  slot.tenant_id = static_cast<std::uint32_t>(state.thread_index());
  for (auto _ : state) {
    ++slot.timestamp_ns;
    const std::lock_guard lock(locked_log_mutex);
    log.append(slot);
  }
  report_records(state);
}

alignas(64) std::atomic<std::uint64_t> handoff_turn{0};

void reset_turn(const benchmark::State&) { handoff_turn.store(0, std::memory_order_relaxed); }

// Thread t may move on when the turn count has parity t; both threads run the
// same number of iterations, so every iteration is one hand-off of the line.
void cacheline_handoff(benchmark::State& state) {
  const auto me = static_cast<std::uint64_t>(state.thread_index());
  const auto players = static_cast<std::uint64_t>(state.threads());
  for (auto _ : state) {
    std::uint64_t turn;
    while ((turn = handoff_turn.load(std::memory_order_acquire)) % players != me) {
    }
    handoff_turn.store(turn + 1, std::memory_order_release);
  }
}

BENCHMARK(append_vrrl_single)->Name("append/vrrl_single");
BENCHMARK(append_vrrl_per_thread)
    ->Name("append/vrrl_per_thread")
    ->Setup(open_per_thread)
    ->Teardown(close_per_thread)
    ->Threads(1)
    ->Threads(2)
    ->Threads(max_threads)
    ->UseRealTime();
BENCHMARK(append_vrrl_mp)
    ->Name("append/vrrl_mp")
    ->Setup(open_shared)
    ->Teardown(close_shared)
    ->Threads(1)
    ->Threads(2)
    ->Threads(max_threads)
    ->UseRealTime();
BENCHMARK(append_mutex_ringlog)
    ->Name("append/mutex_ringlog")
    ->Setup(open_locked)
    ->Teardown(close_locked)
    ->Threads(1)
    ->Threads(2)
    ->Threads(max_threads)
    ->UseRealTime();
BENCHMARK(cacheline_handoff)->Name("cacheline_handoff")->Setup(reset_turn)->Threads(2);

}  // namespace
}  // namespace vrrl::bench
