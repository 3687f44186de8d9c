// The seed's eight tests (the seed, the original Rust ring_log.rs; docs/format.md, "The seed"; lines 433-570), one for
// one, then byte-level parity with the seed's file layout in both directions.
#include <catch2/catch.hpp>

#include <vrrl/ring_log.hpp>

#include "support/seed_model.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::ErrorKind;
using vrrl::RecordedSlot;
using vrrl::RingLog;
using vrrl::test::TempDir;

// The seed's rec() helper (line 422).
RecordedSlot rec(std::uint32_t slot_idx, std::uint32_t epoch) {
  return {1'000'000 + std::uint64_t{slot_idx}, slot_idx, 0, 0x4000'0000 + slot_idx,
          {slot_idx, slot_idx * 2, slot_idx * 3, slot_idx * 4}, epoch};
}

vrrl::test::SeedRecord as_seed(const RecordedSlot& r) {
  return {r.timestamp_ns, r.slot_idx, r.tenant_id, r.opcode, r.args, r.epoch};
}

ErrorKind open_error_kind(const std::filesystem::path& path, std::uint64_t capacity) {
  try {
    (void)RingLog::open(path, capacity);
  } catch (const vrrl::Error& e) {
    return e.kind();
  }
  FAIL("open succeeded but an error was expected");
  return ErrorKind::io;
}

// write_header() of the seed's tests (line 520): a 32-byte file, header only.
void write_header(const std::filesystem::path& path, std::uint64_t capacity, std::uint64_t cursor) {
  std::vector<unsigned char> bytes(32, 0);
  std::memcpy(bytes.data(), "VRRL0001", 8);
  vrrl::test::put_u32(bytes, 8, 1);
  vrrl::test::put_u64(bytes, 16, capacity);
  vrrl::test::put_u64(bytes, 24, cursor);
  vrrl::test::write_bytes(path, bytes);
}

}  // namespace

TEST_CASE("seed: open rejects zero capacity", "[seed]") {
  TempDir dir;
  CHECK(open_error_kind(dir.file("log.vrrl"), 0) == ErrorKind::zero_capacity);
  CHECK_FALSE(std::filesystem::exists(dir.file("log.vrrl")));
}

TEST_CASE("seed: append and replay round trip", "[seed]") {
  TempDir dir;
  RingLog log = RingLog::open(dir.file("log.vrrl"), 4);
  log.append(rec(1, 10));
  log.append(rec(2, 11));
  log.sync();
  const auto replay = log.replay_all();
  REQUIRE(replay.size() == 2);
  CHECK(replay[0].slot_idx == 1);
  CHECK(replay[0].epoch == 10);
  CHECK(replay[1].slot_idx == 2);
  CHECK(replay[1].epoch == 11);
  CHECK(replay[0] == rec(1, 10));
}

TEST_CASE("seed: log rollover preserves most recent", "[seed]") {
  TempDir dir;
  RingLog log = RingLog::open(dir.file("log.vrrl"), 3);
  for (std::uint32_t i = 0; i < 5; ++i) log.append(rec(i, 100 + i));
  const auto replay = log.replay_all();
  REQUIRE(replay.size() == 3);
  std::vector<std::uint32_t> slot_ids;
  for (const auto& r : replay) slot_ids.push_back(r.slot_idx);
  CHECK(slot_ids == std::vector<std::uint32_t>{2, 3, 4});
}

TEST_CASE("seed: reopen restores cursor", "[seed]") {
  TempDir dir;
  {
    RingLog log = RingLog::open(dir.file("log.vrrl"), 4);
    log.append(rec(1, 10));
    log.append(rec(2, 11));
    log.sync();
  }
  RingLog reopened = RingLog::open(dir.file("log.vrrl"), 4);
  CHECK(reopened.cursor() == 2);
  CHECK(reopened.replay_all().size() == 2);
}

TEST_CASE("seed: corrupted magic rejected", "[seed]") {
  TempDir dir;
  std::vector<unsigned char> bytes(32 + 4 * 64, 0);
  std::memcpy(bytes.data(), "XXXX0001", 8);
  vrrl::test::put_u32(bytes, 8, 1);
  vrrl::test::put_u64(bytes, 16, 4);
  vrrl::test::write_bytes(dir.file("log.vrrl"), bytes);
  CHECK(open_error_kind(dir.file("log.vrrl"), 4) == ErrorKind::header_mismatch);
}

TEST_CASE("seed: existing log with zero capacity rejected before cursor modulo", "[seed]") {
  TempDir dir;
  write_header(dir.file("log.vrrl"), 0, 0);
  CHECK(open_error_kind(dir.file("log.vrrl"), 4) == ErrorKind::zero_capacity);
}

TEST_CASE("seed: existing log with huge capacity rejected before replay allocation", "[seed]") {
  TempDir dir;
  write_header(dir.file("log.vrrl"), vrrl::format::max_capacity + 1, 0);
  try {
    (void)RingLog::open(dir.file("log.vrrl"), 4);
    FAIL("huge header capacity must reject");
  } catch (const vrrl::Error& e) {
    CHECK(e.kind() == ErrorKind::capacity_overflow);
    CHECK_THAT(e.what(), Catch::Contains("1048577") && Catch::Contains("1048576"));
  }
}

TEST_CASE("seed: requested capacity overflow rejected", "[seed]") {
  TempDir dir;
  try {
    (void)RingLog::open(dir.file("log.vrrl"), vrrl::format::max_capacity + 1);
    FAIL("over-size capacity must reject");
  } catch (const vrrl::Error& e) {
    CHECK(e.kind() == ErrorKind::capacity_overflow);
    CHECK_THAT(e.what(), Catch::Contains("1048577") && Catch::Contains("Fix: shard replay into smaller logs"));
  }
  CHECK_FALSE(std::filesystem::exists(dir.file("log.vrrl")));
}

// ---------------------------------------------------------------------------

TEST_CASE("parity: a file laid out exactly as the seed writes it reads back identically", "[seed][parity]") {
  TempDir dir;
  const auto capacity = GENERATE(1u, 3u, 4u, 64u, 65u);
  const auto count = GENERATE(0u, 1u, 2u, 5u, 200u);
  std::vector<vrrl::test::SeedRecord> appended;
  std::vector<RecordedSlot> expected;
  for (std::uint32_t i = 0; i < count; ++i) appended.push_back(as_seed(rec(i, 7 * i)));
  vrrl::test::write_bytes(dir.file("seed.vrrl"), vrrl::test::seed_file_bytes(capacity, appended));

  const auto seed_view = vrrl::test::seed_open_and_replay(dir.file("seed.vrrl"));
  REQUIRE_FALSE(seed_view.error);

  auto reader = vrrl::LogReader::open(dir.file("seed.vrrl"));
  const auto ours = reader.replay_all();
  REQUIRE(ours.size() == seed_view.records.size());
  for (std::size_t i = 0; i < ours.size(); ++i) CHECK(as_seed(ours[i]) == seed_view.records[i]);

  RingLog writer = RingLog::open(dir.file("seed.vrrl"), 999);  // capacity argument ignored: file exists
  CHECK(writer.capacity() == capacity);
  CHECK(writer.cursor() == seed_view.cursor);
  CHECK(writer.replay_all() == ours);
}

TEST_CASE("parity: a file written by vrrl passes the seed's open + replay_all with the same records",
          "[seed][parity]") {
  TempDir dir;
  const auto capacity = GENERATE(1u, 3u, 64u);
  const auto count = GENERATE(0u, 2u, 3u, 5u, 130u);
  std::vector<vrrl::test::SeedRecord> appended;
  {
    RingLog log = RingLog::open(dir.file("ours.vrrl"), capacity);
    for (std::uint32_t i = 0; i < count; ++i) {
      log.append(rec(i, i + 1));
      appended.push_back(as_seed(rec(i, i + 1)));
    }
    log.sync();
  }
  const auto seed_view = vrrl::test::seed_open_and_replay(dir.file("ours.vrrl"));
  REQUIRE_FALSE(seed_view.error);
  CHECK(seed_view.cursor == count % capacity);

  // Same records as the seed itself would replay after the same appends.
  vrrl::test::write_bytes(dir.file("seed.vrrl"), vrrl::test::seed_file_bytes(capacity, appended));
  CHECK(seed_view.records == vrrl::test::seed_open_and_replay(dir.file("seed.vrrl")).records);

  // Byte for byte the seed's file, except that vrrl keeps the running count
  // in the cursor field where the seed keeps it modulo capacity (docs/format.md).
  auto ours = vrrl::test::read_bytes(dir.file("ours.vrrl"));
  auto theirs = vrrl::test::read_bytes(dir.file("seed.vrrl"));
  REQUIRE(ours.size() == theirs.size());
  CHECK(vrrl::test::get_u64(ours, 24) == count);
  vrrl::test::put_u64(ours, 24, 0);
  vrrl::test::put_u64(theirs, 24, 0);
  CHECK(ours == theirs);
}
