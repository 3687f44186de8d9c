// vrrl-latency: how long one append takes, not on average but in the tail.
// Times every single append (rdtsc on x86-64, steady_clock elsewhere) of
// RingLog and of each stream baseline (stream_writers.hpp), and prints p50,
// p99, p99.9, p99.99 and max, for:
//   warm      the file was written one full lap before timing (vrrl: mapping
//             pre-touched; streams: page cache populated)
//   cold      a fresh file: first-touch page faults / page-cache allocation included
//   prefault  vrrl only: a fresh file opened with {.prefault = true}
//
//   vrrl-latency [--records N] [--dir DIR] [--json FILE] [--only VARIANT]
//
// Each variant writes a ring of N slots (N = --records, default 1,048,576: the
// 64 MiB log) and N appends are timed, so "warm" is exactly one lap after
// the untimed one and "cold" touches every slot once.
// Every timed sample includes the timer's own overhead, printed as
// "timer overhead" (the median of empty timings); nothing is subtracted.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <vrrl/ring_log.hpp>

#include "stream_writers.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

constexpr bool has_tsc =
#if defined(__x86_64__)
    true;
#else
    false;
#endif

// A timestamp in ticks: the TSC (fenced so the timed work cannot drift
// across it) where there is one, nanoseconds of steady_clock elsewhere.
inline std::uint64_t ticks() noexcept {
  if constexpr (has_tsc) {
#if defined(__x86_64__)
    _mm_lfence();
    const std::uint64_t now = __rdtsc();
    _mm_lfence();
    return now;
#endif
  }
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

// Nanoseconds per tick, measured against steady_clock over 50 ms.
double ns_per_tick() {
  if constexpr (!has_tsc) return 1.0;
  const auto wall_start = std::chrono::steady_clock::now();
  const std::uint64_t tick_start = ticks();
  while (std::chrono::steady_clock::now() - wall_start < std::chrono::milliseconds(50)) {
  }
  const double wall_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - wall_start).count();
  return wall_ns / static_cast<double>(ticks() - tick_start);
}

struct Percentiles {
  std::string variant;
  std::string mode;
  double p50 = 0, p99 = 0, p999 = 0, p9999 = 0, max = 0, mean = 0;
};

Percentiles summarize(std::vector<std::uint64_t>& samples, double tick_ns, std::string variant, std::string mode) {
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double quantile) {
    const auto index = static_cast<std::size_t>(quantile * static_cast<double>(samples.size() - 1) + 0.5);
    return static_cast<double>(samples[index]) * tick_ns;
  };
  double total = 0;
  for (const std::uint64_t s : samples) total += static_cast<double>(s);
  return {std::move(variant), std::move(mode),  at(0.50), at(0.99), at(0.999), at(0.9999),
          static_cast<double>(samples.back()) * tick_ns, total * tick_ns / static_cast<double>(samples.size())};
}

// RingLog behind the same append(slot) as the stream writers.
class VrrlWriter {
 public:
  VrrlWriter(const std::filesystem::path& path, std::uint64_t slots, bool prefault)
      : log_((std::filesystem::remove(path), RingLog::open(path, slots, {.prefault = prefault}))) {}
  void append(const RecordedSlot& slot) noexcept { log_.append(slot); }

 private:
  RingLog log_;
};

template <class Writer>
void time_appends(Writer& writer, std::vector<std::uint64_t>& samples, std::uint64_t first_record) {
  RecordedSlot slot = sample_slot(first_record);
  for (std::uint64_t& sample : samples) {
    ++slot.timestamp_ns;
    const std::uint64_t start = ticks();
    writer.append(slot);
    sample = ticks() - start;
  }
}

template <class Writer>
void untimed_lap(Writer& writer, std::uint64_t slots) {
  for (std::uint64_t n = 0; n < slots; ++n) writer.append(sample_slot(n));
}

struct Run {
  std::uint64_t records;
  double tick_ns;
  std::vector<std::uint64_t> samples;
  std::vector<Percentiles> results;
};

template <class Writer, class... Extra>
void measure(Run& run, const char* variant, const std::filesystem::path& path, Extra... extra) {
  {
    Writer cold(path, run.records, extra...);
    time_appends(cold, run.samples, 0);
    run.results.push_back(summarize(run.samples, run.tick_ns, variant, "cold"));
  }
  {
    Writer warm(path, run.records, extra...);
    untimed_lap(warm, run.records);
    time_appends(warm, run.samples, run.records);
    run.results.push_back(summarize(run.samples, run.tick_ns, variant, "warm"));
  }
  std::filesystem::remove(path);
}

// MemcpyLimit pre-touches its mapping itself: only "warm" makes sense.
void measure_memcpy(Run& run, const std::filesystem::path& path) {
  MemcpyLimit limit(path, run.records);
  untimed_lap(limit, run.records);
  time_appends(limit, run.samples, 0);
  run.results.push_back(summarize(run.samples, run.tick_ns, "memcpy_limit", "warm"));
  std::filesystem::remove(path);
}

double timer_overhead_ns(Run& run) {
  for (std::uint64_t& sample : run.samples) {
    const std::uint64_t start = ticks();
    sample = ticks() - start;
  }
  std::sort(run.samples.begin(), run.samples.end());
  return static_cast<double>(run.samples[run.samples.size() / 2]) * run.tick_ns;
}

void write_json(const std::string& file, const Run& run, double overhead_ns) {
  std::FILE* out = std::fopen(file.c_str(), "w");
  if (out == nullptr) die("fopen --json");
  std::fprintf(out, "{\n  \"records\": %llu,\n  \"slots\": %llu,\n  \"clock\": \"%s\",\n  \"timer_overhead_ns\": %.2f,\n"
                    "  \"results\": [\n",
               static_cast<unsigned long long>(run.records), static_cast<unsigned long long>(run.records),
               has_tsc ? "rdtsc" : "steady_clock", overhead_ns);
  for (std::size_t i = 0; i < run.results.size(); ++i) {
    const Percentiles& p = run.results[i];
    std::fprintf(out,
                 "    {\"variant\": \"%s\", \"mode\": \"%s\", \"p50_ns\": %.2f, \"p99_ns\": %.2f, \"p99_9_ns\": %.2f, "
                 "\"p99_99_ns\": %.2f, \"max_ns\": %.2f, \"mean_ns\": %.2f}%s\n",
                 p.variant.c_str(), p.mode.c_str(), p.p50, p.p99, p.p999, p.p9999, p.max, p.mean,
                 i + 1 == run.results.size() ? "" : ",");
  }
  std::fprintf(out, "  ]\n}\n");
  std::fclose(out);
}

int run_main(int argc, char** argv) {
  std::uint64_t records = 1'048'576;
  std::string json_file;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--records" && has_value) {
      records = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--dir" && has_value) {
      ::setenv("VRRL_BENCH_DIR", argv[++i], 1);
    } else if (arg == "--json" && has_value) {
      json_file = argv[++i];
    } else if (arg == "--only" && has_value) {
      only = argv[++i];
    } else {
      std::printf("usage: vrrl-latency [--records N] [--dir DIR] [--json FILE] [--only VARIANT]\n"
                  "Times N single appends into an N-slot ring (default 1048576, at most %llu) per variant\n"
                  "and mode, and "
                  "prints p50/p99/p99.9/p99.99/max in ns. Variants: vrrl, memcpy_limit, seed_seek_write,\n"
                  "pwrite, write, fwrite, ofstream. DIR defaults to the system temp dir.\n",
                  static_cast<unsigned long long>(big_log_slots));
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  if (records == 0 || records > big_log_slots) {
    std::fprintf(stderr, "vrrl-latency: --records must be 1..%llu\n", static_cast<unsigned long long>(big_log_slots));
    return 2;
  }

  Run run{records, ns_per_tick(), std::vector<std::uint64_t>(records), {}};
  const double overhead_ns = timer_overhead_ns(run);
  const auto& dir = BenchDir::get();
  const auto wanted = [&](std::string_view variant) { return only.empty() || only == variant; };

  if (wanted("vrrl")) {
    measure<VrrlWriter>(run, "vrrl", dir / "latency.vrrl", false);
    VrrlWriter prefaulted(dir / "latency.vrrl", run.records, true);
    time_appends(prefaulted, run.samples, 0);
    run.results.push_back(summarize(run.samples, run.tick_ns, "vrrl", "prefault"));
  }
  if (wanted("memcpy_limit")) measure_memcpy(run, dir / "latency.map");
  if (wanted("seed_seek_write")) measure<SeedSeekWriter>(run, "seed_seek_write", dir / "latency.seed");
  if (wanted("pwrite")) measure<PwriteWriter>(run, "pwrite", dir / "latency.pwrite");
  if (wanted("write")) measure<AppendWriter>(run, "write", dir / "latency.write");
  if (wanted("fwrite")) measure<FwriteWriter>(run, "fwrite", dir / "latency.fwrite");
  if (wanted("ofstream")) measure<OfstreamWriter>(run, "ofstream", dir / "latency.ofstream");

  std::printf("single-append latency, ns (%llu appends per row; timer overhead %.1f ns, included)\n",
              static_cast<unsigned long long>(records), overhead_ns);
  std::printf("%-16s %-9s %9s %9s %9s %10s %10s\n", "variant", "mode", "p50", "p99", "p99.9", "p99.99", "max");
  for (const Percentiles& p : run.results) {
    std::printf("%-16s %-9s %9.1f %9.1f %9.1f %10.1f %10.1f\n", p.variant.c_str(), p.mode.c_str(), p.p50, p.p99,
                p.p999, p.p9999, p.max);
  }
  if (!json_file.empty()) write_json(json_file, run, overhead_ns);
  return 0;
}

}  // namespace
}  // namespace vrrl::bench

int main(int argc, char** argv) try {
  return vrrl::bench::run_main(argc, argv);
} catch (const std::exception& e) {
  std::fprintf(stderr, "vrrl-latency: %s\n", e.what());
  return 1;
}
