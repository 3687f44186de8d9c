// append/<variant>: the cost of recording one 64-byte record. One benchmark
// iteration is one record; every variant appends records_per_run() records
// per run (one lap of the 64 MiB log), so the per-iteration time is ns/record.
//
//   append/vrrl/slots:N            RingLog::append into a warm log of N slots
//   append/vrrl_appender/slots:N   the same through RingLog::Appender (hot state in a local)
//   append/vrrl_v2/slots:N         RingLog::append into a VRRL v2 log (aligned slots, commit word)
//   append/vrrl_cold               a fresh, unprefaulted 64 MiB log: page faults included
//   append/vrrl_prefault           a fresh log opened with {.prefault = true} (MAP_POPULATE)
//   append/vrrl_sync_every_N       append, and sync() every N records
//   append/<stream baseline>       see stream_writers.hpp
//   append/memcpy_limit/slots:N    plain 64-byte copies into a warm mapping
//   append/spdlog_async            spdlog's async logger, queue full blocks (peers/spdlog_writer.hpp)
//   append/spdlog_async_overrun    the same, queue full overwrites the oldest message
//   append/lttng_ust               one LTTng-UST tracepoint per record (peers/lttng_session.hpp)
// A peer that is not available here (not built in, no session daemon) skips
// with a message saying why and how to fix it.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include <vrrl/ring_log.hpp>

#include "peers/lttng_session.hpp"
#include "peers/spdlog_writer.hpp"
#include "stream_writers.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

std::filesystem::path fresh_path(const std::string& name) {
  const auto path = BenchDir::get() / name;
  std::filesystem::remove(path);
  return path;
}

void report_records(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(static_cast<std::uint64_t>(state.iterations()) * format::record_bytes));
  state.counters["records_per_iteration"] = 1;
}

// Appends one lap first, so every page is mapped writable and in the cache
// hierarchy as far as it fits.
void warm_up(RingLog& log) {
  for (std::uint64_t n = 0; n < log.capacity(); ++n) log.append(sample_slot(n));
}

void append_vrrl_format(benchmark::State& state, Format format) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  RingLog log = RingLog::open(fresh_path("vrrl_warm.vrrl"), slots, {.prefault = true, .format = format});
  warm_up(log);
  RecordedSlot slot = sample_slot(0);
  for (auto _ : state) {
    ++slot.timestamp_ns;
    log.append(slot);
  }
  report_records(state);
}

// The same appends with the hot state held in a local copy (what a batch
// appender would do): shows what the member state costs per append.
void append_vrrl_local_state(benchmark::State& state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  RingLog log = RingLog::open(fresh_path("vrrl_local.vrrl"), slots, {.prefault = true});
  warm_up(log);
  RecordedSlot slot = sample_slot(0);
  {
    auto appender = log.appender();
    for (auto _ : state) {
      ++slot.timestamp_ns;
      appender.append(slot);
    }
  }
  report_records(state);
}

void append_vrrl_fresh(benchmark::State& state, bool prefault) {
  RingLog log = RingLog::open(fresh_path("vrrl_cold.vrrl"), big_log_slots, {.prefault = prefault});
  RecordedSlot slot = sample_slot(0);
  for (auto _ : state) {
    ++slot.timestamp_ns;
    log.append(slot);
  }
  report_records(state);
}

void append_vrrl_sync_every(benchmark::State& state, std::uint64_t every) {
  RingLog log = RingLog::open(fresh_path("vrrl_sync.vrrl"), big_log_slots, {.prefault = true});
  warm_up(log);
  log.sync();
  RecordedSlot slot = sample_slot(0);
  std::uint64_t until_sync = every;
  for (auto _ : state) {
    ++slot.timestamp_ns;
    log.append(slot);
    if (--until_sync == 0) {
      log.sync();
      until_sync = every;
    }
  }
  report_records(state);
}

template <class Writer>
void append_stream(benchmark::State& state, const char* file_name, std::uint64_t slots) {
  Writer writer(BenchDir::get() / file_name, slots);
  RecordedSlot slot = sample_slot(0);
  for (auto _ : state) {
    ++slot.timestamp_ns;
    writer.append(slot);
  }
  report_records(state);
}

void append_spdlog(benchmark::State& state, peers::QueueFull policy) {
  if (const auto status = peers::spdlog_availability(); !status.ok) {
    state.SkipWithError(status.reason.c_str());
    return;
  }
  const auto path = BenchDir::get() / "spdlog.log";
  RecordedSlot slot = sample_slot(0);
  if (policy == peers::QueueFull::block) {
    peers::SpdlogAsyncWriter<peers::QueueFull::block> writer(path, big_log_slots);
    for (auto _ : state) {
      ++slot.timestamp_ns;
      writer.append(slot);
    }
  } else {
    peers::SpdlogAsyncWriter<peers::QueueFull::overrun> writer(path, big_log_slots);
    for (auto _ : state) {
      ++slot.timestamp_ns;
      writer.append(slot);
    }
    state.counters["lost_records"] = static_cast<double>(writer.lost());
  }
  report_records(state);  // the writer's destructor (draining the queue) ran untimed
}

void append_lttng(benchmark::State& state) {
  peers::LttngSession& session = peers::LttngSession::instance();
  if (!session.availability().ok) {
    state.SkipWithError(session.availability().reason.c_str());
    return;
  }
  peers::LttngWriter writer(BenchDir::get(), big_log_slots);
  RecordedSlot slot = sample_slot(0);
  for (auto _ : state) {
    ++slot.timestamp_ns;
    writer.append(slot);
  }
  report_records(state);
  // Untimed: flushes the session and counts what its consumer could not keep up with.
  state.counters["lost_records"] = static_cast<double>(session.take_discarded());
}

// Warm like append/vrrl: one untimed lap over the mapping first.
void append_memcpy_limit(benchmark::State& state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  MemcpyLimit limit(BenchDir::get() / "memcpy.map", slots);
  for (std::uint64_t n = 0; n < slots; ++n) limit.append(sample_slot(n));
  RecordedSlot slot = sample_slot(0);
  for (auto _ : state) {
    ++slot.timestamp_ns;
    limit.append(slot);
  }
  report_records(state);
}

// Every append variant runs the same number of records per run.
benchmark::internal::Benchmark* same_records(benchmark::internal::Benchmark* b) {
  return b->Iterations(static_cast<benchmark::IterationCount>(records_per_run()))->Unit(benchmark::kNanosecond);
}

// The syncing variants write fewer records (records_per_run() / 16): on a real
// disk each msync costs a device flush, and 16384 of them would take minutes.
benchmark::internal::Benchmark* fewer_records(benchmark::internal::Benchmark* b) {
  return b->Iterations(static_cast<benchmark::IterationCount>(records_per_run() / 16))
      ->Unit(benchmark::kNanosecond);
}

void register_append_benchmarks() {
  const auto slots = [](benchmark::internal::Benchmark* b) {
    return same_records(b->ArgName("slots")->Arg(small_log_slots)->Arg(big_log_slots));
  };
  slots(benchmark::RegisterBenchmark("append/vrrl", append_vrrl_format, Format::v1));
  slots(benchmark::RegisterBenchmark("append/vrrl_v2", append_vrrl_format, Format::v2));
  slots(benchmark::RegisterBenchmark("append/vrrl_appender", append_vrrl_local_state));
  same_records(benchmark::RegisterBenchmark("append/vrrl_cold", [](benchmark::State& s) { append_vrrl_fresh(s, false); }));
  same_records(benchmark::RegisterBenchmark("append/vrrl_prefault", [](benchmark::State& s) { append_vrrl_fresh(s, true); }));
  for (const std::uint64_t every : {std::uint64_t{64}, std::uint64_t{4096}}) {
    fewer_records(benchmark::RegisterBenchmark(("append/vrrl_sync_every_" + std::to_string(every)).c_str(),
                                               append_vrrl_sync_every, every));
  }
  same_records(benchmark::RegisterBenchmark("append/seed_seek_write", append_stream<SeedSeekWriter>, "seed.log",
                                                    big_log_slots));
  same_records(benchmark::RegisterBenchmark("append/pwrite", append_stream<PwriteWriter>, "pwrite.log",
                                                    big_log_slots));
  same_records(benchmark::RegisterBenchmark("append/write", append_stream<AppendWriter>, "write.log",
                                                    big_log_slots));
  same_records(benchmark::RegisterBenchmark("append/fwrite", append_stream<FwriteWriter>, "fwrite.log",
                                                    big_log_slots));
  same_records(benchmark::RegisterBenchmark("append/ofstream", append_stream<OfstreamWriter>, "ofstream.log",
                                                    big_log_slots));
  slots(benchmark::RegisterBenchmark("append/memcpy_limit", append_memcpy_limit));
  same_records(benchmark::RegisterBenchmark("append/spdlog_async", append_spdlog, peers::QueueFull::block));
  same_records(benchmark::RegisterBenchmark("append/spdlog_async_overrun", append_spdlog, peers::QueueFull::overrun));
  same_records(benchmark::RegisterBenchmark("append/lttng_ust", append_lttng));
}

// Registration at load time keeps main() Google Benchmark's own.
const bool registered = (register_append_benchmarks(), true);

}  // namespace
}  // namespace vrrl::bench
