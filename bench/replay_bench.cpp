// replay/<variant>: reading every record of a full 64 MiB log (1,048,576
// records, one lap, so the oldest record is slot 0) and summing one field, with
// the page cache warm. One iteration is one whole replay; bytes/s counts the
// 64-byte records.
//
//   replay/vrrl        RingLog::replay(): a zero-copy range over the mapping
//   replay/read        read(2) in 1 MiB chunks into a buffer, decoding each record
//   replay/seed_style  the seed's replay_all: lseek + read(64) per record (over
//                      the first 65,536 records: the rate is the same, in less time)
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "stream_writers.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

// The log every replay variant reads, written once per process (and its v2 twin).
std::filesystem::path write_full_log(const char* name, Format format) {
  auto file = BenchDir::get() / name;
  std::filesystem::remove(file);
  RingLog log = RingLog::open(file, big_log_slots, {.prefault = true, .format = format});
  for (std::uint64_t n = 0; n < big_log_slots; ++n) log.append(sample_slot(n));
  return file;
}

const std::filesystem::path& full_log() {
  static const std::filesystem::path path = write_full_log("replay.vrrl", Format::v1);
  return path;
}

const std::filesystem::path& full_log_v2() {
  static const std::filesystem::path path = write_full_log("replay_v2.vrrl", Format::v2);
  return path;
}

void report_replay(benchmark::State& state, std::uint64_t records = big_log_slots) {
  state.SetItemsProcessed(static_cast<std::int64_t>(static_cast<std::uint64_t>(state.iterations()) * records));
  state.SetBytesProcessed(static_cast<std::int64_t>(static_cast<std::uint64_t>(state.iterations()) * records * format::record_bytes));
  state.counters["records_per_iteration"] = static_cast<double>(records);
}

// Decodes one record the way a replayer must: check the magic, read a field.
inline std::uint64_t decode(const std::byte* record) noexcept {
  if (wire::load_le<std::uint32_t>(record + format::record_offset::magic) != format::record_magic) return 0;
  return wire::load_le<std::uint64_t>(record + format::record_offset::timestamp_ns);
}

// replay/vrrl_v2: the same walk over a v2 log, every record's commit word checked.
void replay_vrrl_format(benchmark::State& state, Format format) {
  const LogReader log = LogReader::open(format == Format::v2 ? full_log_v2() : full_log());
  // One untimed walk: the reader's fresh mapping takes its page faults here,
  // as read(2) has the page cache warm. (The first replay of a newly opened
  // log pays them: see docs/benchmarks.md.)
  for (const RecordView record : log.replay()) benchmark::DoNotOptimize(record.timestamp_ns());
  for (auto _ : state) {
    std::uint64_t sum = 0;
    for (const RecordView record : log.replay()) sum += record.timestamp_ns();
    benchmark::DoNotOptimize(sum);
  }
  report_replay(state);
}

void replay_read(benchmark::State& state) {
  const Fd file(::open(full_log().c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) die("open");
  constexpr std::size_t chunk_bytes = std::size_t{1} << 20;  // a multiple of 64: no record straddles chunks
  const auto buffer = std::make_unique<std::byte[]>(chunk_bytes);
  const std::uint64_t total = big_log_slots * format::record_bytes;
  for (auto _ : state) {
    std::uint64_t sum = 0;
    for (std::uint64_t done = 0; done < total;) {
      const ssize_t got = ::pread(file.get(), buffer.get(), chunk_bytes, static_cast<off_t>(format::header_bytes + done));
      if (got <= 0) die("pread");
      for (std::size_t at = 0; at + format::record_bytes <= static_cast<std::size_t>(got); at += format::record_bytes) {
        sum += decode(buffer.get() + at);
      }
      done += static_cast<std::uint64_t>(got);
    }
    benchmark::DoNotOptimize(sum);
  }
  report_replay(state);
}

// Reads the first seed_style_records records per iteration only: at two
// syscalls per record a whole replay takes seconds, and the rate per byte is
// what the comparison needs.
constexpr std::uint64_t seed_style_records = 65'536;

void replay_seed_style(benchmark::State& state) {
  const Fd file(::open(full_log().c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) die("open");
  for (auto _ : state) {
    std::uint64_t sum = 0;
    std::byte record[format::record_bytes];
    for (std::uint64_t slot = 0; slot < seed_style_records; ++slot) {
      if (::lseek(file.get(), static_cast<off_t>(format::record_position(slot)), SEEK_SET) < 0) die("lseek");
      if (::read(file.get(), record, sizeof record) != static_cast<ssize_t>(sizeof record)) die("read");
      sum += decode(record);
    }
    benchmark::DoNotOptimize(sum);
  }
  report_replay(state, seed_style_records);
}

BENCHMARK_CAPTURE(replay_vrrl_format, v1, Format::v1)->Name("replay/vrrl")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(replay_vrrl_format, v2, Format::v2)->Name("replay/vrrl_v2")->Unit(benchmark::kMillisecond);
BENCHMARK(replay_read)->Name("replay/read")->Unit(benchmark::kMillisecond);
BENCHMARK(replay_seed_style)->Name("replay/seed_style")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vrrl::bench
