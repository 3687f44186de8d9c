// VRRL v2 (docs/format.md): the layout byte by byte, the commit word, and how
// replay, a Follower, a snapshot and a writer reopening treat records that
// are stale (an older lap), past the cursor (written after the header page
// reached the disk) or torn/corrupted. One short case per fault.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include <vrrl/follower.hpp>
#include <vrrl/header.hpp>
#include <vrrl/multi_producer.hpp>
#include <vrrl/ring_log.hpp>

#include "support/expect_error.hpp"
#include "support/seed_model.hpp"
#include "support/self_checking_record.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::ErrorKind;
using vrrl::Format;
using vrrl::LogReader;
using vrrl::Recovery;
using vrrl::RingLog;
using vrrl::test::expect_error;
using vrrl::test::TempDir;
namespace format = vrrl::format;

constexpr vrrl::OpenOptions v2{.format = Format::v2};

std::vector<std::byte> file_bytes(const std::filesystem::path& path) {
  const auto raw = vrrl::test::read_bytes(path);
  std::vector<std::byte> bytes(raw.size());
  std::memcpy(bytes.data(), raw.data(), raw.size());
  return bytes;
}

void write_at(const std::filesystem::path& path, std::uint64_t offset, const void* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, data, size, static_cast<off_t>(offset)) == static_cast<ssize_t>(size));
  ::close(fd);
}

void set_cursor(const std::filesystem::path& path, std::uint64_t cursor) {
  write_at(path, format::header_offset::cursor, &cursor, sizeof cursor);
}

std::uint64_t slot_offset(std::uint64_t slot) { return format::layout_v2.record_position(slot); }

void append_range(RingLog& log, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t n = from; n < to; ++n) vrrl::test::append_record(log, n);
}

std::vector<std::uint64_t> replayed(const LogReader& reader, vrrl::ReplayReport* report = nullptr,
                                    Recovery recovery = Recovery::skip_bad_slots) {
  std::vector<std::uint64_t> sequences;
  auto range = reader.replay(recovery);
  for (auto it = range.begin(); it != range.end(); ++it) {
    REQUIRE(vrrl::test::is_record_of(*it, (*it).timestamp_ns()));
    REQUIRE(it.sequence() == (*it).timestamp_ns());
    sequences.push_back((*it).timestamp_ns());
  }
  if (report != nullptr) *report = range.report();
  return sequences;
}

std::vector<std::uint64_t> iota(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> values;
  for (std::uint64_t value = from; value < to; ++value) values.push_back(value);
  return values;
}

}  // namespace

TEST_CASE("v2: a new log is a 4 KiB header page and 64-byte aligned slots", "[v2]") {
  TempDir dir;
  const auto path = dir.file("v2.vrrl");
  { auto log = RingLog::open(path, 10, v2); CHECK(log.format() == Format::v2); }
  const auto bytes = file_bytes(path);
  REQUIRE(bytes.size() == 4096 + 64 * 10);
  CHECK(std::memcmp(bytes.data(), "VRRL0002", 8) == 0);
  const auto header = vrrl::decode_header(bytes);
  CHECK(header.version == 2);
  CHECK(header.flags == 0);
  CHECK(header.capacity == 10);
  CHECK(header.cursor == 0);
  CHECK(header.synced == 0);
  CHECK(header.format() == Format::v2);
  CHECK(std::all_of(bytes.begin() + 32, bytes.end(), [](std::byte b) { return b == std::byte{0}; }));
  // The seed refuses it, as it refuses any other magic.
  CHECK(vrrl::test::seed_open_and_replay(path).error == "HeaderMismatch");
}

TEST_CASE("v2: each record carries the v1 fields at the v1 offsets and a commit word over it and its sequence",
          "[v2]") {
  TempDir dir;
  const auto path = dir.file("v2.vrrl");
  { auto log = RingLog::open(path, 8, v2); append_range(log, 0, 11); }
  const auto bytes = file_bytes(path);
  for (std::uint64_t n = 3; n < 11; ++n) {  // the last lap
    const std::byte* record = bytes.data() + slot_offset(n % 8);
    std::vector<std::byte> expected = vrrl::test::self_checking_bytes(n);  // the v1 bytes, magic 0xDEADBEEF
    const auto words = vrrl::wire::load_record_words(record);
    std::uint32_t commit = 0;
    std::memcpy(&commit, record, sizeof commit);
    CHECK(commit == vrrl::wire::commit_word(n, words));
    CHECK(commit != 0);
    CHECK(std::memcmp(record + 4, expected.data() + 4, 60) == 0);
    // A different sequence or a changed byte gives another commit word.
    CHECK(vrrl::wire::commit_word(n + 8, words) != commit);
    auto flipped = words;
    flipped[5] ^= 1u << 7;
    CHECK(vrrl::wire::commit_word(n, flipped) != commit);
  }
  const auto reader = LogReader::open(path);
  CHECK(reader.format() == Format::v2);
  CHECK(replayed(reader) == iota(3, 11));
  CHECK(reader.replay_all().size() == 8);
}

TEST_CASE("v2: an existing file opens as what it is, whatever OpenOptions::format says", "[v2]") {
  TempDir dir;
  { auto log = RingLog::open(dir.file("v1.vrrl"), 4); append_range(log, 0, 2); }
  { auto log = RingLog::open(dir.file("v2.vrrl"), 4, v2); append_range(log, 0, 2); }
  CHECK(RingLog::open(dir.file("v1.vrrl"), 4, v2).format() == Format::v1);
  CHECK(RingLog::open(dir.file("v2.vrrl"), 4).format() == Format::v2);
  CHECK(replayed(LogReader::open(dir.file("v2.vrrl"))) == iota(0, 2));
}

TEST_CASE("v2: a truncated file is truncated by its own layout", "[v2][bad_file]") {
  TempDir dir;
  const auto path = dir.file("v2.vrrl");
  { auto log = RingLog::open(path, 4, v2); }
  REQUIRE(::truncate(path.c_str(), 4096 + 64 * 4 - 1) == 0);
  const auto e = expect_error([&] { (void)LogReader::open(path); });
  CHECK(e.kind() == ErrorKind::truncated);
  CHECK_THAT(e.what(), Catch::Contains("4352"));
}

TEST_CASE("v2: a stale record (an older lap where a newer one should be) is stepped over and counted", "[v2]") {
  TempDir dir;
  const auto path = dir.file("v2.vrrl");
  { auto log = RingLog::open(path, 8, v2); append_range(log, 0, 8); }
  const auto lap_one = file_bytes(path);
  { auto log = RingLog::open(path, 8); append_range(log, 8, 16); }
  // Slot 5 back as it was a lap ago: record 5 where 13 belongs.
  write_at(path, slot_offset(5), lap_one.data() + slot_offset(5), 64);
  vrrl::ReplayReport report;
  CHECK(replayed(LogReader::open(path), &report, Recovery::strict) == std::vector<std::uint64_t>{8, 9, 10, 11, 12, 14, 15});
  CHECK(report.stale_records == 1);
  CHECK(report.clean());
}

TEST_CASE("v2: a torn or corrupted record is a bad slot, by recovery mode", "[v2]") {
  TempDir dir;
  const auto path = dir.file("v2.vrrl");
  { auto log = RingLog::open(path, 8, v2); append_range(log, 0, 8); }
  const std::uint32_t flipped = 0x5A5A5A5A;
  write_at(path, slot_offset(3) + 40, &flipped, sizeof flipped);  // epoch/slot_status changed
  const auto reader = LogReader::open(path);
  const auto strict = expect_error([&] { (void)replayed(reader, nullptr, Recovery::strict); });
  CHECK(strict.kind() == ErrorKind::header_mismatch);
  CHECK(strict.slot() == 3);
  CHECK_THAT(strict.what(), Catch::Contains("torn or corrupted"));
  vrrl::ReplayReport report;
  CHECK(replayed(reader, &report) == std::vector<std::uint64_t>{0, 1, 2, 4, 5, 6, 7});
  CHECK(report.bad_slots == std::vector<std::uint64_t>{3});
  // A Follower counts it lost.
  vrrl::Follower follower(reader);
  std::uint64_t delivered = 0;
  const auto result = follower.poll([&](std::uint64_t, const vrrl::RecordedSlot&, const vrrl::FailureEvidence&) { ++delivered; });
  CHECK(result == vrrl::PollResult{.delivered = 7, .lost = 1});
}

TEST_CASE("v2: records past the header cursor replay last, and a writer that reopens clears them", "[v2]") {
  TempDir dir;
  const auto path = dir.file("v2.vrrl");
  { auto log = RingLog::open(path, 8, v2); append_range(log, 0, 14); }
  // A power cut that kept the record pages as of 14 appends but the header
  // page as of 10: records 10..13 lie past the cursor the header says.
  set_cursor(path, 10);
  {
    vrrl::ReplayReport report;
    CHECK(replayed(LogReader::open(path), &report, Recovery::strict) ==
          std::vector<std::uint64_t>{6, 7, 8, 9, 10, 11, 12, 13});
    CHECK(report.beyond_cursor == 4);
    std::vector<std::uint64_t> snapshot;
    const auto snap = vrrl::read_snapshot(LogReader::open(path), Recovery::strict,
                                          [&](std::uint64_t, const vrrl::RecordedSlot& slot, const vrrl::FailureEvidence&) {
                                            snapshot.push_back(slot.timestamp_ns);
                                          });
    CHECK(snapshot == std::vector<std::uint64_t>{6, 7, 8, 9, 10, 11, 12, 13});
    CHECK(snap.beyond_cursor == 4);
  }
  // The writer goes on from the header's 10 with a new history: the old
  // 10..13 must not replay beside it.
  {
    auto log = RingLog::open(path, 8);
    REQUIRE(log.appended() == 10);
    const auto record = vrrl::test::make_record({1, 0});
    log.append(record.slot, record.evidence);
  }
  vrrl::ReplayReport report;
  std::vector<std::uint64_t> old_history;
  const auto reader = LogReader::open(path);
  auto range = reader.replay(Recovery::strict);
  std::uint64_t new_records = 0;
  for (auto view : range) {
    const auto key = vrrl::test::check_record(view.slot(), view.failure());
    REQUIRE(key);
    if (key->producer == 1) ++new_records; else old_history.push_back(key->index);
  }
  CHECK(new_records == 1);
  // Slots 3..5 held the cleared 11..13 (records 3..5 were overwritten before the cut).
  CHECK(old_history == std::vector<std::uint64_t>{6, 7, 8, 9});
  CHECK(range.report().beyond_cursor == 0);
}

TEST_CASE("v2: sync() records in the header what it made durable", "[v2]") {
  TempDir dir;
  const auto path = dir.file("v2.vrrl");
  auto log = RingLog::open(path, 8, v2);
  append_range(log, 0, 5);
  log.sync();
  append_range(log, 5, 7);
  const auto reader = LogReader::open(path);
  CHECK(reader.synced() == 5);
  log.sync();
  CHECK(reader.synced() == 7);
  CHECK(LogReader::open(dir.file("v2.vrrl")).synced() == 7);
}

TEST_CASE("v2: many producers; a Follower and a snapshot of the result", "[v2][multi_producer]") {
  TempDir dir;
  const auto path = dir.file("v2.vrrl");
  constexpr std::uint32_t producers = 3;
  constexpr std::uint64_t per_producer = 20'000;
  {
    auto log = vrrl::SharedRingLog::open(path, 1024, v2);
    std::vector<std::thread> threads;
    for (std::uint32_t producer = 0; producer < producers; ++producer) {
      threads.emplace_back([&log, producer] {
        for (std::uint64_t index = 0; index < per_producer; ++index) {
          const auto record = vrrl::test::make_record({producer, index});
          log.append(record.slot, record.evidence);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(log.published() == producers * per_producer);
  }
  const auto reader = LogReader::open(path);
  CHECK(reader.format() == Format::v2);
  CHECK((reader.flags() & format::flag_multi_producer) != 0);
  std::uint64_t records = 0;
  auto range = reader.replay(Recovery::strict);
  for (auto view : range) {
    REQUIRE(vrrl::test::check_record(view.slot(), view.failure()));
    ++records;
  }
  CHECK(records == 1024);
  CHECK(range.report().clean());
  const auto snapshot = vrrl::read_snapshot(reader, Recovery::strict,
                                            [](std::uint64_t, const vrrl::RecordedSlot&, const vrrl::FailureEvidence&) {});
  CHECK(snapshot.records == 1024);
  vrrl::Follower follower(reader);
  std::uint64_t delivered = 0;
  CHECK(follower.poll([&](std::uint64_t, const vrrl::RecordedSlot&, const vrrl::FailureEvidence&) { ++delivered; }) ==
        vrrl::PollResult{.delivered = 1024});
}

TEST_CASE("v2: docs/format.md's worked example, byte for byte", "[v2]") {
  TempDir dir;
  const auto path = dir.file("example.vrrl");
  {
    auto log = RingLog::open(path, 3, v2);
    for (std::uint32_t n = 0; n < 5; ++n) {
      log.append({.timestamp_ns = 1'000'000 + n, .slot_idx = n, .tenant_id = 7, .opcode = 42,
                  .args = {n, n + 1, n + 2, n + 3}, .epoch = 1});
    }
  }
  const auto bytes = file_bytes(path);
  REQUIRE(bytes.size() == 4288);
  const auto u32_at = [&](std::size_t at) {
    std::uint32_t value = 0;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    return value;
  };
  CHECK(u32_at(0x1000) == 0xBC139A41);
  CHECK(u32_at(0x1040) == 0x554D0F06);
  CHECK(u32_at(0x1080) == 0xEA7ECC2A);
  CHECK(u32_at(0x100C) == 3);  // slot 0: slot_idx 3
  std::vector<std::uint32_t> slot_idx;
  for (auto view : LogReader::open(path).replay_all()) slot_idx.push_back(view.slot_idx);
  CHECK(slot_idx == std::vector<std::uint32_t>{2, 3, 4});
}
