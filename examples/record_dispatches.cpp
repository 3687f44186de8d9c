// The first half of scripts/demo: record a million synthetic dispatches into
// a log, sync, replay them, and print what came back and how fast.
//
//   record_dispatches [DIR] [COUNT]      (defaults: ./vrrl-demo, 1000000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

#include <vrrl/ring_log.hpp>

namespace {

void print_record(const char* label, const vrrl::RecordedSlot& r) {
  std::printf("  %s: timestamp_ns=%llu slot_idx=%u tenant_id=%u opcode=0x%08x args=[%u,%u,%u,%u] epoch=%u\n", label,
              static_cast<unsigned long long>(r.timestamp_ns), r.slot_idx, r.tenant_id, r.opcode, r.args[0],
              r.args[1], r.args[2], r.args[3], r.epoch);
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc > 3 || (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h"))) {
    std::printf("usage: record_dispatches [DIR] [COUNT]\n"
                "Records COUNT synthetic dispatches (default 1000000) into DIR/dispatches.vrrl\n"
                "(default DIR ./vrrl-demo), syncs, replays and prints a summary.\n");
    return argc > 3 ? 2 : 0;
  }
  const std::filesystem::path dir = argc > 1 ? argv[1] : "vrrl-demo";
  const std::uint64_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
  if (count == 0 || count > vrrl::format::max_capacity) {
    std::fprintf(stderr, "record_dispatches: COUNT must be 1..%llu. Fix: pass a smaller count.\n",
                 static_cast<unsigned long long>(vrrl::format::max_capacity));
    return 2;
  }
  std::filesystem::create_directories(dir);
  const auto path = dir / "dispatches.vrrl";
  std::filesystem::remove(path);  // a fresh run each time

  using clock = std::chrono::steady_clock;
  auto log = vrrl::RingLog::open(path, count, {.prefault = true});
  const auto start = clock::now();
  for (std::uint64_t n = 0; n < count; ++n) {
    const auto low = static_cast<std::uint32_t>(n);
    log.append({.timestamp_ns = 1'700'000'000'000'000'000ULL + n * 250,
                .slot_idx = low % 1024,
                .tenant_id = low % 8,
                .opcode = 0x4000'0000u + low % 16,
                .args = {low, low * 2, low * 3, low * 4},
                .epoch = low / 1024});
  }
  const auto appended = clock::now();
  log.sync();
  const auto synced = clock::now();

  std::uint64_t replayed = 0;
  vrrl::RecordedSlot first{}, last{};
  for (vrrl::RecordView record : log.replay()) {
    if (replayed++ == 0) first = record.slot();
    last = record.slot();
  }
  const auto replay_done = clock::now();

  const auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::printf("vrrl demo: %s\n", path.c_str());
  std::printf("  appended %llu records in %.3f ms: %.1f ns/record, %.1f million appends/s\n",
              static_cast<unsigned long long>(count), 1e3 * seconds(appended - start),
              1e9 * seconds(appended - start) / static_cast<double>(count),
              static_cast<double>(count) / seconds(appended - start) / 1e6);
  std::printf("  sync (msync MS_SYNC of %.1f MiB): %.3f ms\n",
              static_cast<double>(vrrl::format::file_bytes(count)) / (1 << 20), 1e3 * seconds(synced - appended));
  std::printf("  replayed %llu records in %.3f ms\n", static_cast<unsigned long long>(replayed),
              1e3 * seconds(replay_done - synced));
  print_record("first", first);
  print_record("last ", last);
  return replayed == count ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "record_dispatches: %s\n", e.what());
  return 1;
}
