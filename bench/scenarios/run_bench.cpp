// run/<variant>/records:N: the whole life of a recording of N records, as a
// user's program lives it: create the file, write N records, make them
// durable, close. One iteration is one run into a fresh file; the report
// divides by N for ns/record, to put beside the per-append figure
// (append/vrrl/slots:1048576 measures a warm log only).
//
//   run/vrrl              RingLog::open(fresh, N, {.prefault = true}), N appends, sync(), close
//   run/vrrl_no_prefault  the same without prefault: the page faults move into the appends
//   run/fwrite            fopen, N fwrite, fflush, fdatasync, fclose
//   run/spdlog_async      a new spdlog async logger (peers/spdlog_writer.hpp), N records,
//                         queue drained and thread joined, fdatasync of its file
// N = records_per_run() (VRRL_BENCH_RECORDS, at most 1,048,576): the file has N slots, one lap.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>

#include <vrrl/ring_log.hpp>

#include "peers/spdlog_writer.hpp"
#include "stream_writers.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

std::uint64_t run_records() { return std::min(records_per_run(), big_log_slots); }

void report_run(benchmark::State& state, std::uint64_t records) {
  state.SetItemsProcessed(static_cast<std::int64_t>(static_cast<std::uint64_t>(state.iterations()) * records));
  state.counters["records_per_iteration"] = static_cast<double>(records);
}

void fdatasync_file(const std::filesystem::path& path) {
  const Fd file(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (file.get() < 0 || ::fdatasync(file.get()) != 0) die("fdatasync");
}

void run_vrrl(benchmark::State& state, bool prefault) {
  const std::uint64_t records = run_records();
  const auto path = BenchDir::get() / "run.vrrl";
  for (auto _ : state) {
    std::filesystem::remove(path);
    RingLog log = RingLog::open(path, records, {.prefault = prefault});
    RecordedSlot slot = sample_slot(0);
    for (std::uint64_t n = 0; n < records; ++n) {
      ++slot.timestamp_ns;
      log.append(slot);
    }
    log.sync();
  }  // the RingLog closes (munmap, unlock) inside the timed iteration
  report_run(state, records);
}

void run_fwrite(benchmark::State& state) {
  const std::uint64_t records = run_records();
  const auto path = BenchDir::get() / "run.fwrite";
  for (auto _ : state) {
    std::filesystem::remove(path);
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) die("fopen");
    RecordedSlot slot = sample_slot(0);
    std::byte record[format::record_bytes];
    for (std::uint64_t n = 0; n < records; ++n) {
      ++slot.timestamp_ns;
      encode_record(record, slot);
      if (std::fwrite(record, 1, sizeof record, file) != sizeof record) die("fwrite");
    }
    if (std::fflush(file) != 0 || ::fdatasync(::fileno(file)) != 0) die("fflush/fdatasync");
    std::fclose(file);
  }
  report_run(state, records);
}

void run_spdlog(benchmark::State& state) {
  if (const auto status = peers::spdlog_availability(); !status.ok) {
    state.SkipWithError(status.reason.c_str());
    return;
  }
  const std::uint64_t records = run_records();
  const auto path = BenchDir::get() / "run.spdlog";
  for (auto _ : state) {
    {
      peers::SpdlogAsyncWriter<peers::QueueFull::block> writer(path, records);
      RecordedSlot slot = sample_slot(0);
      for (std::uint64_t n = 0; n < records; ++n) {
        ++slot.timestamp_ns;
        writer.append(slot);
      }
    }  // drained and joined
    fdatasync_file(path);
  }
  report_run(state, records);
}

// A few runs per repetition: each writes and syncs a whole file.
benchmark::internal::Benchmark* runs(benchmark::internal::Benchmark* b) {
  return b->ArgName("records")->Arg(static_cast<std::int64_t>(run_records()))->Iterations(3)->Unit(benchmark::kMillisecond);
}

void register_run_benchmarks() {
  // The Arg only names N in the benchmark's name; every function reads run_records().
  runs(benchmark::RegisterBenchmark("run/vrrl", run_vrrl, true));
  runs(benchmark::RegisterBenchmark("run/vrrl_no_prefault", run_vrrl, false));
  runs(benchmark::RegisterBenchmark("run/fwrite", run_fwrite));
  runs(benchmark::RegisterBenchmark("run/spdlog_async", run_spdlog));
}

const bool registered = (register_run_benchmarks(), true);

}  // namespace
}  // namespace vrrl::bench
