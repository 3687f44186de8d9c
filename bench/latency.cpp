// vrrl-latency: how long one append takes, not on average but in the tail.
// Times every single append of RingLog, of each stream baseline
// (stream_writers.hpp) and of the peers (peers/), and prints p50, p90, p99,
// p99.9, p99.99 and max, for:
//   warm      the file was written one full lap before timing (vrrl: mapping
//             pre-touched; streams: page cache populated; peers: running)
//   cold      a fresh file: first-touch page faults / page-cache allocation included
//   prefault  vrrl only: a fresh file opened with {.prefault = true}
// and two durability variants, warm only: vrrl_sync_every (OpenOptions::
// sync_every = 10 ms: the library's background copy runs during the timed
// appends) and vrrl_sync_thread (another thread calls RingLog::sync(), an
// msync, every 10 ms). Flat out, N appends take a few milliseconds, so these
// rows see about one sync each; the paced scenario sync/periodic_10ms in
// vrrl-bench is the measurement of record.
//
//   vrrl-latency [--records N] [--dir DIR] [--json FILE] [--only VARIANT]
//
// Each variant writes a ring of N slots (N = --records, default 1,048,576: the
// 64 MiB log) and N appends are timed, so "warm" is exactly one lap after the
// untimed one and "cold" touches every slot once.
// The clock (timer.hpp) is measured first: its own cost (two back-to-back
// reads, median) is subtracted from every sample, and its step (the TSC of a
// VM may advance in steps of many ticks) is printed: differences below one
// step cannot be told apart. The JSON (docs/benchmarks.md, "vrrl-latency")
// keeps the raw figures too.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "peers/lttng_session.hpp"
#include "peers/spdlog_writer.hpp"
#include "percentiles.hpp"
#include "stream_writers.hpp"
#include "timer.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

constexpr std::string_view variants[] = {"vrrl",         "vrrl_sync_every", "vrrl_sync_thread", "memcpy_limit",
                                         "seed_seek_write", "pwrite",         "write",            "fwrite",
                                         "ofstream",      "spdlog_async",    "lttng_ust"};
constexpr std::chrono::milliseconds sync_period{10};

struct Result {
  std::string variant;
  std::string mode;
  LatencySummary latency;
};

struct Skipped {
  std::string variant;
  std::string reason;
};

// RingLog behind the same append(slot) as the stream writers.
class VrrlWriter {
 public:
  VrrlWriter(const std::filesystem::path& path, std::uint64_t slots, bool prefault)
      : log_((std::filesystem::remove(path), RingLog::open(path, slots, {.prefault = prefault}))) {}
  void append(const RecordedSlot& slot) noexcept { log_.append(slot); }

 private:
  RingLog log_;
};

// RingLog with OpenOptions::sync_every: a library thread copies the records
// to the file every sync_period while the appends are timed.
class VrrlSyncEveryWriter {
 public:
  VrrlSyncEveryWriter(const std::filesystem::path& path, std::uint64_t slots)
      : log_((std::filesystem::remove(path),
              RingLog::open(path, slots,
                            {.prefault = true, .format = Format::v1, .sync_every = sync_period}))) {}
  void append(const RecordedSlot& slot) noexcept { log_.append(slot); }

 private:
  RingLog log_;
};

// RingLog, and another thread calling sync() (msync of the whole file) every sync_period.
class VrrlSyncThreadWriter {
 public:
  VrrlSyncThreadWriter(const std::filesystem::path& path, std::uint64_t slots)
      : log_((std::filesystem::remove(path), RingLog::open(path, slots, {.prefault = true}))),
        syncer_([this] {
          auto next = std::chrono::steady_clock::now() + sync_period;
          while (!stop_.load(std::memory_order_relaxed)) {  // polled once per period; no data rides on it
            std::this_thread::sleep_until(next);
            next += sync_period;
            log_.sync();
          }
        }) {}
  VrrlSyncThreadWriter(const VrrlSyncThreadWriter&) = delete;
  VrrlSyncThreadWriter& operator=(const VrrlSyncThreadWriter&) = delete;
  ~VrrlSyncThreadWriter() {
    stop_.store(true, std::memory_order_relaxed);
    syncer_.join();
  }
  void append(const RecordedSlot& slot) noexcept { log_.append(slot); }

 private:
  RingLog log_;
  std::atomic<bool> stop_{false};
  std::thread syncer_;  // last: starts after the log exists
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
  TimerProperties timer;
  std::vector<std::uint64_t> samples;
  std::vector<Result> results;
  std::vector<Skipped> skipped;

  void add(const char* variant, const char* mode) {
    results.push_back({variant, mode, summarize(samples, timer)});
  }
};

template <class Writer, class... Extra>
void measure_warm(Run& run, const char* variant, const std::filesystem::path& path, Extra... extra) {
  Writer warm(path, run.records, extra...);
  untimed_lap(warm, run.records);
  time_appends(warm, run.samples, run.records);
  run.add(variant, "warm");
}

template <class Writer, class... Extra>
void measure(Run& run, const char* variant, const std::filesystem::path& path, Extra... extra) {
  {
    Writer cold(path, run.records, extra...);
    time_appends(cold, run.samples, 0);
    run.add(variant, "cold");
  }
  measure_warm<Writer>(run, variant, path, extra...);
  std::filesystem::remove(path);
}

// MemcpyLimit pre-touches its mapping itself: only "warm" makes sense.
void measure_memcpy(Run& run, const std::filesystem::path& path) {
  MemcpyLimit limit(path, run.records);
  untimed_lap(limit, run.records);
  time_appends(limit, run.samples, 0);
  run.add("memcpy_limit", "warm");
  std::filesystem::remove(path);
}

void write_json(const std::string& file, const Run& run) {
  std::FILE* out = std::fopen(file.c_str(), "w");
  if (out == nullptr) die("fopen --json");
  const TimerProperties& t = run.timer;
  std::fprintf(out,
               "{\n  \"records\": %llu,\n  \"slots\": %llu,\n  \"clock\": \"%s\",\n"
               "  \"timer_overhead_ns\": %.2f,\n  \"timer_overhead_min_ns\": %.2f,\n  \"timer_step_ns\": %.2f,\n"
               "  \"ns_per_tick\": %.5f,\n  \"timer_subtracted\": true,\n  \"results\": [\n",
               static_cast<unsigned long long>(run.records), static_cast<unsigned long long>(run.records),
               has_tsc ? "rdtsc" : "steady_clock", t.overhead_ns(), t.overhead_min_ns(), t.step_ns(), t.ns_per_tick);
  for (std::size_t i = 0; i < run.results.size(); ++i) {
    const Result& r = run.results[i];
    const LatencySummary& p = r.latency;
    std::fprintf(out,
                 "    {\"variant\": \"%s\", \"mode\": \"%s\", \"samples\": %zu, \"p50_ns\": %.2f, \"p90_ns\": %.2f, "
                 "\"p99_ns\": %.2f, \"p99_9_ns\": %.2f, \"p99_99_ns\": %.2f, \"max_ns\": %.2f, \"mean_ns\": %.2f, "
                 "\"raw_p50_ns\": %.2f, \"raw_max_ns\": %.2f,\n     \"curve\": [",
                 r.variant.c_str(), r.mode.c_str(), p.samples, p.p50, p.p90, p.p99, p.p999, p.p9999, p.max, p.mean,
                 p.raw_p50, p.raw_max);
    for (std::size_t c = 0; c < p.curve.size(); ++c) {
      std::fprintf(out, "%s[%.6f, %.2f]", c == 0 ? "" : ", ", p.curve[c].first, p.curve[c].second);
    }
    std::fprintf(out, "]}%s\n", i + 1 == run.results.size() ? "" : ",");
  }
  std::fprintf(out, "  ],\n  \"skipped\": [");
  for (std::size_t i = 0; i < run.skipped.size(); ++i) {
    std::string reason;
    for (const char c : run.skipped[i].reason) reason += c == '"' ? '\'' : c;
    std::fprintf(out, "%s\n    {\"variant\": \"%s\", \"reason\": \"%s\"}", i == 0 ? "" : ",",
                 run.skipped[i].variant.c_str(), reason.c_str());
  }
  std::fprintf(out, "%s]\n}\n", run.skipped.empty() ? "" : "\n  ");
  std::fclose(out);
}

int usage(std::FILE* to, int status) {
  std::fprintf(to,
               "usage: vrrl-latency [--records N] [--dir DIR] [--json FILE] [--only VARIANT]\n"
               "Times N single appends into an N-slot ring (default 1048576, at most %llu) per variant\n"
               "and mode, and prints p50/p90/p99/p99.9/p99.99/max in ns, the timer's own cost subtracted.\n"
               "Variants:",
               static_cast<unsigned long long>(big_log_slots));
  for (const std::string_view v : variants) std::fprintf(to, " %.*s", static_cast<int>(v.size()), v.data());
  std::fprintf(to,
               ".\nDIR (default: the system temp dir) holds the files; --json FILE writes every figure\n"
               "and the percentile curves (docs/benchmarks.md, \"vrrl-latency\").\n");
  return status;
}

int run_main(int argc, char** argv) {
  std::uint64_t records = big_log_slots;
  std::string json_file;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") return usage(stdout, 0);
    if (arg == "--records" && has_value) {
      char* end = nullptr;
      records = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0') records = 0;  // "12k", "abc": rejected below
    } else if (arg == "--dir" && has_value) {
      ::setenv("VRRL_BENCH_DIR", argv[++i], 1);
    } else if (arg == "--json" && has_value) {
      json_file = argv[++i];
    } else if (arg == "--only" && has_value) {
      only = argv[++i];
    } else {
      const bool takes_value = arg == "--records" || arg == "--dir" || arg == "--json" || arg == "--only";
      std::fprintf(stderr, "vrrl-latency: %s '%s'. Fix: see vrrl-latency --help\n",
                   takes_value ? "missing value for" : "unknown argument", argv[i]);
      return 2;
    }
  }
  if (records == 0 || records > big_log_slots) {
    std::fprintf(stderr, "vrrl-latency: --records must be 1..%llu. Fix: pass a number in that range\n",
                 static_cast<unsigned long long>(big_log_slots));
    return 2;
  }
  bool known = only.empty();
  for (const std::string_view v : variants) known = known || v == only;
  if (!known) {
    std::fprintf(stderr, "vrrl-latency: unknown variant '%s'. Fix: one of the variants in vrrl-latency --help\n",
                 only.c_str());
    return 2;
  }

  Run run{records, process_timer(), std::vector<std::uint64_t>(records), {}, {}};
  const auto& dir = BenchDir::get();
  const auto wanted = [&](std::string_view variant) { return only.empty() || only == variant; };

  if (wanted("vrrl")) {
    measure<VrrlWriter>(run, "vrrl", dir / "latency.vrrl", false);
    VrrlWriter prefaulted(dir / "latency.vrrl", run.records, true);
    time_appends(prefaulted, run.samples, 0);
    run.add("vrrl", "prefault");
  }
  if (wanted("vrrl_sync_every")) {
    measure_warm<VrrlSyncEveryWriter>(run, "vrrl_sync_every", dir / "latency.vrrl");
    std::filesystem::remove(dir / "latency.vrrl");
  }
  if (wanted("vrrl_sync_thread")) {
    measure_warm<VrrlSyncThreadWriter>(run, "vrrl_sync_thread", dir / "latency.vrrl");
    std::filesystem::remove(dir / "latency.vrrl");
  }
  if (wanted("memcpy_limit")) measure_memcpy(run, dir / "latency.map");
  if (wanted("seed_seek_write")) measure<SeedSeekWriter>(run, "seed_seek_write", dir / "latency.seed");
  if (wanted("pwrite")) measure<PwriteWriter>(run, "pwrite", dir / "latency.pwrite");
  if (wanted("write")) measure<AppendWriter>(run, "write", dir / "latency.write");
  if (wanted("fwrite")) measure<FwriteWriter>(run, "fwrite", dir / "latency.fwrite");
  if (wanted("ofstream")) measure<OfstreamWriter>(run, "ofstream", dir / "latency.ofstream");
  if (wanted("spdlog_async")) {
    if (const auto status = peers::spdlog_availability(); status.ok) {
      measure_warm<peers::SpdlogAsyncWriter<peers::QueueFull::block>>(run, "spdlog_async", dir / "latency.spdlog");
    } else {
      run.skipped.push_back({"spdlog_async", status.reason});
    }
  }
  if (wanted("lttng_ust")) {
    if (const auto& status = peers::LttngSession::instance().availability(); status.ok) {
      measure_warm<peers::LttngWriter>(run, "lttng_ust", dir);
    } else {
      run.skipped.push_back({"lttng_ust", status.reason});
    }
  }

  const TimerProperties& t = run.timer;
  std::printf("single-append latency, ns (%llu appends per row; %s: %.1f ns per read pair, subtracted; "
              "steps of %.1f ns)\n",
              static_cast<unsigned long long>(records), t.clock_name(), t.overhead_ns(), t.step_ns());
  std::printf("%-16s %-9s %8s %8s %8s %9s %10s %11s\n", "variant", "mode", "p50", "p90", "p99", "p99.9", "p99.99",
              "max");
  for (const Result& r : run.results) {
    const LatencySummary& p = r.latency;
    std::printf("%-16s %-9s %8.1f %8.1f %8.1f %9.1f %10.1f %11.1f\n", r.variant.c_str(), r.mode.c_str(), p.p50, p.p90,
                p.p99, p.p999, p.p9999, p.max);
  }
  for (const Skipped& s : run.skipped) std::printf("%-16s skipped: %s\n", s.variant.c_str(), s.reason.c_str());
  if (!json_file.empty()) write_json(json_file, run);
  return 0;
}

}  // namespace
}  // namespace vrrl::bench

int main(int argc, char** argv) try {
  vrrl::bench::peers::prepare_lttng_environment(argv);
  return vrrl::bench::run_main(argc, argv);
} catch (const std::exception& e) {
  std::fprintf(stderr, "vrrl-latency: %s\n", e.what());
  return 1;
}
