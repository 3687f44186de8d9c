// make_logs: writes logs with the C++ library for the Python reader's tests.
//
//   make_logs [--v2] MODE ...               --v2: create new logs as VRRL v2
//                                           (OpenOptions{.format = Format::v2})
//   make_logs fields PATH CAPACITY COUNT    every field, extremes, failure evidence
//                                           (records 0 ..< COUNT of fields_record)
//   make_logs self PATH CAPACITY COUNT [FIRST [PRODUCER]]
//                                           self-checking records FIRST ..< FIRST + COUNT
//                                           (default 0; wraps) of PRODUCER (default 0),
//                                           appended after whatever the log holds
//   make_logs shared PATH CAPACITY THREADS PER_THREAD
//                                           SharedRingLog, self-checking records per producer
//   make_logs live PATH CAPACITY MAX [PAUSE_US]
//                                           as `self`, printing "ready" once the log
//                                           is open, until its standard input closes
//                                           (or MAX records): the writer a live reader
//                                           races; at full speed, or pausing PAUSE_US
//                                           after every 1024 records
//   make_logs flags PATH                    prints LogReader's flags() and appended()
//   make_logs snapshot PATH strict|skip|stop
//                                           vrrl::read_snapshot: prints the report, then
//                                           each record's slot index and timestamp
//   make_logs replay PATH strict|skip|stop  LogReader::replay: prints the report, then
//                                           each record's slot index, sequence and
//                                           timestamp (or the error and exit 1)
//   make_logs classify PATH                 v2_slot_check of every slot (file order):
//                                           "state sequence" per line
//   make_logs commit                        reads "SEQUENCE W0 .. W7" lines (decimal)
//                                           from stdin, prints wire::commit_word of each
//   make_logs example PATH                  docs/format.md's worked example: capacity
//                                           3, five appends (slot_idx 0..4)
//   make_logs demo PATH                     a simulated two-second scheduler run (rates
//                                           that shift, a queue-error burst, a lost
//                                           device and its stall, epochs every 200 ms):
//                                           the README's vrrl.plot picture
//
// test/python/known_records.py mirrors fields_record() and the self-checking
// records (test/support/self_checking_record.hpp); keep them in step.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <vrrl/follower.hpp>
#include <vrrl/multi_producer.hpp>
#include <vrrl/ring_log.hpp>
#include <vrrl/slot_state.hpp>

#include "support/self_checking_record.hpp"

namespace {

using vrrl::test::mix64;
using vrrl::test::mix32;

// Record n of the `fields` log: every field varies, every fifth record has
// failure evidence (failure_class numbers 0..7, so 5..7 are unknown), record 0
// is all zero but its magic, and the last of each 100 has every field at its
// maximum. Timestamps step back by 5 us at n % 7 == 3.
struct FieldsRecord {
  vrrl::RecordedSlot slot;
  vrrl::FailureEvidence evidence;
};

FieldsRecord fields_record(std::uint64_t n) {
  constexpr std::uint32_t max32 = std::numeric_limits<std::uint32_t>::max();
  FieldsRecord record;
  if (n == 0) return record;
  if (n % 100 == 99) {
    record.slot = {.timestamp_ns = std::numeric_limits<std::uint64_t>::max(),
                   .slot_idx = max32, .tenant_id = max32, .opcode = max32,
                   .args = {max32, max32, max32, max32}, .epoch = max32};
    record.evidence = {.slot_status = max32, .failure_class = static_cast<vrrl::FailureClass>(max32),
                       .backend_code = max32, .output_digest = std::numeric_limits<std::uint64_t>::max()};
    return record;
  }
  const auto n32 = static_cast<std::uint32_t>(n);
  record.slot = {.timestamp_ns = 1'700'000'000'000'000'000ull + 1'000 * n - (n % 7 == 3 ? 5'000 : 0),
                 .slot_idx = n32,
                 .tenant_id = n32 % 3,
                 .opcode = 0x40000000u + n32 % 4,
                 .args = {n32, max32 - n32, mix32(n, 1), mix32(n, 2)},
                 .epoch = n32 / 50};
  if (n % 5 == 0) {
    record.evidence = {.slot_status = n32 % 3,
                       .failure_class = static_cast<vrrl::FailureClass>((n / 5) % 8),
                       .backend_code = mix32(n, 3),
                       .output_digest = mix64(n)};
  }
  return record;
}

std::uint64_t number(const char* text) { return std::stoull(text); }

// The format new logs are created in (--v2); existing files open as what they are.
vrrl::OpenOptions new_log_options;

int write_fields(const char* path, std::uint64_t capacity, std::uint64_t count) {
  auto log = vrrl::RingLog::open(path, capacity, new_log_options);
  for (std::uint64_t n = 0; n < count; ++n) {
    const FieldsRecord record = fields_record(n);
    log.append(record.slot, record.evidence);
  }
  log.sync();
  return 0;
}

int write_self_checking(const char* path, std::uint64_t capacity, std::uint64_t count, std::uint64_t first,
                        std::uint32_t producer) {
  auto log = vrrl::RingLog::open(path, capacity, new_log_options);
  for (std::uint64_t n = first; n < first + count; ++n) {
    const auto record = vrrl::test::make_record({.producer = producer, .index = n});
    log.append(record.slot, record.evidence);
  }
  log.sync();
  return 0;
}

int write_until_stdin_closes(const char* path, std::uint64_t capacity, std::uint64_t max_records,
                             std::uint64_t pause_us) {
  auto log = vrrl::RingLog::open(path, capacity, new_log_options);
  std::atomic<bool> stop{false};
  std::thread watcher([&stop] {
    while (std::getchar() != EOF) {
    }
    // Relaxed: a flag polled by the loop below; no data travels with it.
    stop.store(true, std::memory_order_relaxed);
  });
  std::puts("ready");
  std::fflush(stdout);
  std::uint64_t n = 0;
  while (n < max_records && !stop.load(std::memory_order_relaxed)) {
    for (const std::uint64_t end = n + 1024; n < end; ++n) {
      const auto record = vrrl::test::make_record({.producer = 0, .index = n});
      log.append(record.slot, record.evidence);
    }
    // A slower writer (a scheduler's pace, not a benchmark's), not synchronisation.
    if (pause_us != 0) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
  }
  watcher.join();  // returns once the test closes our standard input
  std::printf("%llu\n", static_cast<unsigned long long>(n));
  return 0;
}

int write_shared(const char* path, std::uint64_t capacity, std::uint32_t threads, std::uint64_t per_thread) {
  auto log = vrrl::SharedRingLog::open(path, capacity, new_log_options);
  std::vector<std::thread> producers;
  for (std::uint32_t producer = 1; producer <= threads; ++producer) {
    producers.emplace_back([&log, producer, per_thread] {
      for (std::uint64_t n = 0; n < per_thread; ++n) {
        const auto record = vrrl::test::make_record({.producer = producer, .index = n});
        log.append(record.slot, record.evidence);
      }
    });
  }
  for (auto& producer : producers) producer.join();
  log.sync();
  return 0;
}

// Deterministic pseudo-random numbers in [0, 1).
struct Random {
  std::uint64_t state;
  double next() { return static_cast<double>(mix64(state++) >> 11) * 0x1.0p-53; }
};

int write_demo(const char* path) {
  constexpr std::uint64_t start_ns = 1'767'225'600'000'000'000ull;  // 2026-01-01 00:00 UTC
  constexpr double run_s = 2.0;
  constexpr std::uint32_t opcodes = 5;
  auto log = vrrl::RingLog::open(path, 1 << 19, new_log_options);
  Random random{42};
  double t = 0;
  std::uint32_t task = 0;
  while (t < run_s) {
    // Opcode k's rate (dispatches/s) at time t: a steady mix that shifts
    // toward opcode 3 in the second half; the lost device stalls opcode 2.
    std::array<double, opcodes> rate{};
    for (std::uint32_t k = 0; k < opcodes; ++k) rate[k] = 60'000.0 / (1 + k);
    rate[3] *= 1 + 2.5 * std::max(0.0, t - 1.0);
    const bool stalled = t > 1.40 && t < 1.55;
    if (stalled) rate[2] = 0;
    if (t > 0.30 && t < 0.36) rate[0] *= 1.8;  // a burst of small kernels
    double total = 0;
    for (double r : rate) total += r;
    t += -std::log(1 - random.next()) / total;
    double pick = random.next() * total;
    std::uint32_t opcode = 0;
    while (opcode + 1 < opcodes && pick >= rate[opcode]) pick -= rate[opcode++];
    const std::uint32_t tenant = static_cast<std::uint32_t>(random.next() * 4);
    vrrl::RecordedSlot slot{.timestamp_ns = start_ns + static_cast<std::uint64_t>(t * 1e9),
                            .slot_idx = task++,
                            .tenant_id = tenant,
                            .opcode = 0x40000001u + opcode,
                            .args = {task, opcode, tenant, 0},
                            .epoch = static_cast<std::uint32_t>(t / 0.2)};
    vrrl::FailureEvidence evidence;
    const double chance = random.next();
    if (t > 0.80 && t < 0.86 && opcode == 3 && chance < 0.35) {
      evidence = {.slot_status = 3, .failure_class = vrrl::FailureClass::transient_queue, .backend_code = 11};
    } else if (t > 1.38 && t < 1.40 && opcode == 2 && chance < 0.5) {
      evidence = {.slot_status = 9, .failure_class = vrrl::FailureClass::device_loss, .backend_code = 700};
    } else if (chance < 0.0004) {
      evidence = {.slot_status = 1, .failure_class = vrrl::FailureClass::program_bug, .backend_code = 1};
    } else if (chance < 0.0008) {
      evidence = {.slot_status = 2, .failure_class = vrrl::FailureClass::none, .backend_code = 0};
    }
    evidence.output_digest = mix64(task);
    log.append(slot, evidence);
  }
  log.sync();
  return 0;
}

vrrl::Recovery recovery_named(std::string_view mode) {
  return mode == "skip"   ? vrrl::Recovery::skip_bad_slots
         : mode == "stop" ? vrrl::Recovery::stop_at_bad_slot
                          : vrrl::Recovery::strict;
}

int print_snapshot(const char* path, std::string_view mode) {
  const vrrl::Recovery recovery = recovery_named(mode);
  const auto reader = vrrl::LogReader::open(path);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> records;
  const vrrl::SnapshotReport report =
      vrrl::read_snapshot(reader, recovery, [&](std::uint64_t slot, const vrrl::RecordedSlot& record,
                                                const vrrl::FailureEvidence&) {
        records.emplace_back(slot, record.timestamp_ns);
      });
  std::printf("records %llu empty %llu overwritten %llu stopped %d stale %llu beyond %llu bad",
              static_cast<unsigned long long>(report.records), static_cast<unsigned long long>(report.empty_slots),
              static_cast<unsigned long long>(report.overwritten), report.stopped_early ? 1 : 0,
              static_cast<unsigned long long>(report.stale_records),
              static_cast<unsigned long long>(report.beyond_cursor));
  for (const std::uint64_t slot : report.bad_slots) std::printf(" %llu", static_cast<unsigned long long>(slot));
  std::printf("\n");
  for (const auto& [slot, timestamp] : records) {
    std::printf("%llu %llu\n", static_cast<unsigned long long>(slot), static_cast<unsigned long long>(timestamp));
  }
  return 0;
}

int print_replay(const char* path, std::string_view mode) {
  const auto reader = vrrl::LogReader::open(path);
  auto range = reader.replay(recovery_named(mode));
  std::ostringstream records;
  try {
    for (auto it = range.begin(); it != range.end(); ++it) {
      records << it.slot_index() << ' ' << it.sequence() << ' ' << (*it).timestamp_ns() << '\n';
    }
  } catch (const vrrl::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const vrrl::ReplayReport& report = range.report();
  std::printf("records %llu empty %llu stopped %d stale %llu beyond %llu bad",
              static_cast<unsigned long long>(report.records), static_cast<unsigned long long>(report.empty_slots),
              report.stopped_early ? 1 : 0, static_cast<unsigned long long>(report.stale_records),
              static_cast<unsigned long long>(report.beyond_cursor));
  for (const std::uint64_t slot : report.bad_slots) std::printf(" %llu", static_cast<unsigned long long>(slot));
  std::printf("\n%s", records.str().c_str());
  return 0;
}

int print_slot_states(const char* path) {
  const auto reader = vrrl::LogReader::open(path);
  const std::uint64_t capacity = reader.capacity();
  const std::uint64_t cursor = reader.appended();
  for (std::uint64_t slot = 0; slot < capacity; ++slot) {
    const vrrl::SlotCheck check = vrrl::v2_slot_check(reader.data() + reader.layout().record_position(slot), slot,
                                                      cursor, capacity, reader.synced());
    std::printf("%s %llu\n", std::string(vrrl::to_string(check.state)).c_str(),
                static_cast<unsigned long long>(check.sequence));
  }
  return 0;
}

int print_commit_words() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream fields(line);
    std::uint64_t sequence = 0;
    vrrl::wire::RecordWords words{};
    fields >> sequence;
    for (auto& word : words) fields >> word;
    if (!fields) {
      std::fprintf(stderr, "make_logs commit: expected \"SEQUENCE W0 .. W7\", got \"%s\"\n", line.c_str());
      return 2;
    }
    std::printf("%u\n", vrrl::wire::commit_word(sequence, words));
  }
  return 0;
}

int write_example(const char* path) {
  auto log = vrrl::RingLog::open(path, 3, new_log_options);
  for (std::uint32_t n = 0; n < 5; ++n) {
    log.append({.timestamp_ns = 1'000'000 + n, .slot_idx = n, .tenant_id = 7, .opcode = 42,
                .args = {n, n + 1, n + 2, n + 3}, .epoch = 1});
  }
  return 0;
}

int print_flags(const char* path) {
  const auto reader = vrrl::LogReader::open(path);
  std::printf("%u %llu\n", reader.flags(), static_cast<unsigned long long>(reader.appended()));
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: make_logs [--v2] MODE ...\n"
               "       make_logs fields PATH CAPACITY COUNT\n"
               "       make_logs self PATH CAPACITY COUNT [FIRST [PRODUCER]]\n"
               "       make_logs live PATH CAPACITY MAX [PAUSE_US]\n"
               "       make_logs shared PATH CAPACITY THREADS PER_THREAD\n"
               "       make_logs flags PATH\n"
               "       make_logs snapshot PATH strict|skip|stop\n"
               "       make_logs replay PATH strict|skip|stop\n"
               "       make_logs classify PATH\n"
               "       make_logs commit < \"SEQUENCE W0 .. W7\" lines\n"
               "       make_logs example PATH\n"
               "       make_logs demo PATH\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "--v2") {
    new_log_options.format = vrrl::Format::v2;
    --argc;
    ++argv;
  }
  if (argc == 2 && std::string_view(argv[1]) == "commit") return print_commit_words();
  if (argc < 3) return usage();
  const std::string_view mode = argv[1];
  try {
    if (mode == "replay" && argc == 4) return print_replay(argv[2], argv[3]);
    if (mode == "classify" && argc == 3) return print_slot_states(argv[2]);
    if (mode == "example" && argc == 3) return write_example(argv[2]);
    if (mode == "flags" && argc == 3) return print_flags(argv[2]);
    if (mode == "demo" && argc == 3) return write_demo(argv[2]);
    if (mode == "snapshot" && argc == 4) return print_snapshot(argv[2], argv[3]);
    if (mode == "fields" && argc == 5) return write_fields(argv[2], number(argv[3]), number(argv[4]));
    if (mode == "self" && argc >= 5 && argc <= 7) {
      return write_self_checking(argv[2], number(argv[3]), number(argv[4]), argc >= 6 ? number(argv[5]) : 0,
                                 argc == 7 ? static_cast<std::uint32_t>(number(argv[6])) : 0);
    }
    if (mode == "live" && (argc == 5 || argc == 6)) {
      return write_until_stdin_closes(argv[2], number(argv[3]), number(argv[4]), argc == 6 ? number(argv[5]) : 0);
    }
    if (mode == "shared" && argc == 6) {
      return write_shared(argv[2], number(argv[3]), static_cast<std::uint32_t>(number(argv[4])), number(argv[5]));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_logs: %s\n", e.what());
    return 1;
  }
  return usage();
}
