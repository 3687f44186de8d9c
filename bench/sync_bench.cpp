// sync/<variant>/pages:P: making P freshly dirtied 4 KiB pages of a 64 MiB
// file durable. Only the sync call is timed (manual time); dirtying the pages
// happens outside the measurement.
//
//   sync/vrrl       P pages' worth of RingLog::append, then RingLog::sync()
//                   (msync(MS_SYNC) of the whole mapping)
//   sync/fdatasync  pwrite of P pages into a plain file, then fdatasync(2)
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "stream_writers.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

constexpr std::uint64_t records_per_page = page_bytes / format::record_bytes;

template <class Call>
double seconds_of(Call&& call) {
  const auto start = std::chrono::steady_clock::now();
  call();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void sync_vrrl(benchmark::State& state) {
  const auto pages = static_cast<std::uint64_t>(state.range(0));
  const auto path = BenchDir::get() / "sync.vrrl";
  std::filesystem::remove(path);
  RingLog log = RingLog::open(path, big_log_slots, {.prefault = true});
  for (std::uint64_t n = 0; n < big_log_slots; ++n) log.append(sample_slot(n));
  log.sync();
  std::uint64_t n = 0;
  for (auto _ : state) {
    for (std::uint64_t i = 0; i < pages * records_per_page; ++i) log.append(sample_slot(n++));
    state.SetIterationTime(seconds_of([&] { log.sync(); }));
  }
  state.counters["records_per_iteration"] = static_cast<double>(pages * records_per_page);
}

void sync_fdatasync(benchmark::State& state) {
  const auto pages = static_cast<std::uint64_t>(state.range(0));
  const auto path = BenchDir::get() / "sync.log";
  create_ring_file(path, big_log_slots);
  const Fd file(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (file.get() < 0) die("open");
  std::vector<std::byte> page(page_bytes, std::byte{0x5a});
  const std::uint64_t file_pages = format::file_bytes(big_log_slots) / page_bytes;
  for (std::uint64_t p = 0; p < file_pages; ++p) {
    if (::pwrite(file.get(), page.data(), page.size(), static_cast<off_t>(p * page_bytes)) < 0) die("pwrite");
  }
  if (::fdatasync(file.get()) != 0) die("fdatasync");
  std::uint64_t next_page = 0;
  for (auto _ : state) {
    for (std::uint64_t p = 0; p < pages; ++p) {
      const auto at = static_cast<off_t>(next_page * page_bytes);
      if (::pwrite(file.get(), page.data(), page.size(), at) < 0) die("pwrite");
      next_page = next_page + 1 == file_pages ? 0 : next_page + 1;
    }
    state.SetIterationTime(seconds_of([&] {
      if (::fdatasync(file.get()) != 0) die("fdatasync");
    }));
  }
  state.counters["records_per_iteration"] = static_cast<double>(pages * records_per_page);
}

// A fixed number of syncs per run. With manual time Google Benchmark would
// otherwise repeat until the *timed* part reaches --benchmark_min_time, and on
// tmpfs a sync takes microseconds while dirtying 4096 pages takes milliseconds:
// minutes of untimed work.
void register_sync_benchmarks() {
  for (const auto& [pages, syncs] : {std::pair{1, 200}, std::pair{64, 50}, std::pair{4096, 8}}) {
    for (const auto& [name, function] : {std::pair{"sync/vrrl", &sync_vrrl}, std::pair{"sync/fdatasync", &sync_fdatasync}}) {
      benchmark::RegisterBenchmark(name, function)
          ->ArgName("pages")
          ->Arg(pages)
          ->Iterations(syncs)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

const bool registered = (register_sync_benchmarks(), true);

}  // namespace
}  // namespace vrrl::bench
