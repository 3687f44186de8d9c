// vrrl::Follower: deterministic poll() cases first (one per edge), then a
// writer in another process appending at full speed while this one follows.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include <catch2/catch.hpp>

#include <vrrl/follower.hpp>
#include <vrrl/ring_log.hpp>

#include "../support/temp_dir.hpp"
#include "../support/follow_writer_process.hpp"
#include "../support/self_checking_record.hpp"

namespace {

using vrrl::FailureEvidence;
using vrrl::Follower;
using vrrl::LogReader;
using vrrl::PollResult;
using vrrl::RecordedSlot;
using vrrl::RingLog;
using vrrl::test::check_record;
using vrrl::test::make_record;
using vrrl::test::TempDir;

void append_keys(RingLog& log, std::uint64_t from, std::uint64_t count) {
  for (std::uint64_t index = from; index < from + count; ++index) {
    const auto record = make_record({0, index});
    log.append(record.slot, record.evidence);
  }
}

// Every poll() delivery, checked: self-consistent, made for its sequence.
struct Collected {
  std::vector<std::uint64_t> sequences;
  std::uint64_t inconsistent = 0;

  auto sink() {
    return [this](std::uint64_t sequence, const RecordedSlot& slot, const FailureEvidence& evidence) {
      const auto key = check_record(slot, evidence);
      if (!key || key->index != sequence) ++inconsistent;
      sequences.push_back(sequence);
    };
  }
};

std::vector<std::uint64_t> iota(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> values;
  for (std::uint64_t value = from; value < to; ++value) values.push_back(value);
  return values;
}

// Overwrites bytes of a log file behind the mappings' backs (same page cache).
void overwrite(const std::filesystem::path& path, std::uint64_t offset, const void* bytes, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes, size, static_cast<off_t>(offset)) == static_cast<ssize_t>(size));
  ::close(fd);
}

void overwrite_magic(const std::filesystem::path& path, std::uint64_t slot, std::uint32_t magic) {
  overwrite(path, vrrl::format::record_position(slot) + vrrl::format::record_offset::magic, &magic, sizeof magic);
}

void overwrite_cursor(const std::filesystem::path& path, std::uint64_t cursor) {
  overwrite(path, vrrl::format::header_offset::cursor, &cursor, sizeof cursor);
}

}  // namespace

TEST_CASE("poll on an empty log delivers nothing", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  CHECK(follower.poll(got.sink()) == PollResult{});
  CHECK(follower.position() == 0);
  CHECK(got.sequences.empty());
}

TEST_CASE("poll delivers every record once, in sequence order", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 16);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  append_keys(log, 0, 10);
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 10});
  append_keys(log, 10, 5);
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 5});
  CHECK(follower.poll(got.sink()) == PollResult{});
  CHECK(got.sequences == iota(0, 15));
  CHECK(got.inconsistent == 0);
  CHECK(follower.position() == 15);
  CHECK(follower.delivered_total() == 15);
}

TEST_CASE("a quiescent full ring exposes all capacity records", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  append_keys(log, 0, 8);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 8});
  CHECK(got.sequences == iota(0, 8));
}

TEST_CASE("a lapped reader counts exactly the overwritten records", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  append_keys(log, 0, 3);
  CHECK(follower.poll(got.sink(), 1) == PollResult{.delivered = 1});
  append_keys(log, 3, 20);  // cursor 23: sequences 15..22 are still in the ring
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 8, .lost = 14});
  CHECK(follower.lost_total() == 14);
  CHECK(got.sequences == std::vector<std::uint64_t>{0, 15, 16, 17, 18, 19, 20, 21, 22});
  CHECK(got.inconsistent == 0);
}

TEST_CASE("the default start is the oldest record in the ring; from_now skips what is there", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  append_keys(log, 0, 30);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  CHECK(Follower(reader).position() == 22);
  CHECK(Follower(reader, 25).position() == 25);
  Follower follower = Follower::from_now(reader);
  CHECK(follower.position() == 30);
  Collected got;
  CHECK(follower.poll(got.sink()) == PollResult{});
  append_keys(log, 30, 2);
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 2});
  CHECK(got.sequences == iota(30, 32));
}

TEST_CASE("a start beyond the cursor waits for it", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader, 5);
  Collected got;
  append_keys(log, 0, 4);
  CHECK(follower.poll(got.sink()) == PollResult{});
  append_keys(log, 4, 3);
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 2});
  CHECK(got.sequences == iota(5, 7));
}

TEST_CASE("max_records bounds one poll", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 16);
  append_keys(log, 0, 10);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  CHECK(follower.poll(got.sink(), 4) == PollResult{.delivered = 4});
  CHECK(follower.poll(got.sink(), 4) == PollResult{.delivered = 4});
  CHECK(follower.poll(got.sink(), 4) == PollResult{.delivered = 2});
  CHECK(got.sequences == iota(0, 10));
}

TEST_CASE("a record whose magic is not stored yet waits, then counts as lost once the cursor passes it",
          "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  append_keys(log, 0, 3);
  // The writer between its cursor store and its magic store for record 2.
  overwrite_magic(dir.file("a.vrrl"), 2, vrrl::format::empty_record_magic);
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 2});
  CHECK(follower.position() == 2);
  CHECK(follower.poll(got.sink()) == PollResult{});
  // A later append passes it: record 2 never completed (a killed writer).
  append_keys(log, 3, 1);
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 1, .lost = 1});
  CHECK(got.sequences == std::vector<std::uint64_t>{0, 1, 3});
}

TEST_CASE("a foreign magic is counted as lost, not delivered", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  append_keys(log, 0, 4);
  overwrite_magic(dir.file("a.vrrl"), 1, 0x12345678);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 3, .lost = 1});
  CHECK(got.sequences == std::vector<std::uint64_t>{0, 2, 3});
}

TEST_CASE("a cursor that goes backwards (the seed's modulo cursor) resyncs without repeating records", "[follower]") {
  TempDir dir;
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  append_keys(log, 0, 20);
  CHECK(follower.poll(got.sink()) == PollResult{.delivered = 8, .lost = 12});
  // What the seed leaves after one append to this log: it wrote slot
  // 20 % 8 = 4 and stored the next slot, 5, as the cursor.
  overwrite_cursor(dir.file("a.vrrl"), 5);
  std::vector<std::uint64_t> sequences;
  const PollResult result = follower.poll(
      [&](std::uint64_t sequence, const RecordedSlot&, const FailureEvidence&) { sequences.push_back(sequence); });
  CHECK(result == PollResult{.delivered = 1, .resynced = true});  // one append, not a replay of the ring
  CHECK(sequences == std::vector<std::uint64_t>{20});             // the Follower's own count goes on
  CHECK(follower.position() == 21);
  CHECK(follower.poll(got.sink()) == PollResult{});
  // Two more seed appends: the next slot moves 5 -> 7.
  overwrite_cursor(dir.file("a.vrrl"), 7);
  CHECK(follower.poll(got.sink()).delivered == 2);
  CHECK(follower.position() == 23);
  // The seed wraps: 7 -> 1 is two more appends (slots 7 and 0).
  overwrite_cursor(dir.file("a.vrrl"), 1);
  const PollResult wrapped = follower.poll(got.sink());
  CHECK(wrapped.delivered + wrapped.lost == 2);
  CHECK(wrapped.resynced);
  CHECK(follower.position() == 25);
}

// ---------------------------------------------------------------------------
// A writer process appending self-checking records at full speed.

namespace {

struct FollowRun {
  std::vector<std::uint64_t> sequences_out_of_order;
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;
  std::uint64_t inconsistent = 0;
  std::uint64_t final_cursor = 0;
  int child_status = -1;
};

// Forks a writer that appends `records` self-checking records to a fresh log
// of `capacity` slots, and follows it from sequence 0 until it exits.
FollowRun follow_forked_writer(std::uint64_t capacity, std::uint64_t records) {
  TempDir dir;
  const auto path = dir.file("live.vrrl");
  { auto create = RingLog::open(path, capacity); }
  auto reader = LogReader::open(path);
  Follower follower(reader, 0);

  FollowRun run;
  std::uint64_t last = 0;
  bool any = false;
  auto on_record = [&](std::uint64_t sequence, const RecordedSlot& slot, const FailureEvidence& evidence) {
    const auto key = check_record(slot, evidence);
    if (!key || key->index != sequence) ++run.inconsistent;
    if (any && sequence <= last) run.sequences_out_of_order.push_back(sequence);
    last = sequence;
    any = true;
  };
  run.child_status = vrrl::test::follow_writer_process(
      follower, reader,
      [&] {
        auto log = RingLog::open(path, capacity);
        append_keys(log, 0, records);
        return 0;
      },
      on_record);
  run.delivered = follower.delivered_total();
  run.lost = follower.lost_total();
  run.final_cursor = reader.appended();
  return run;
}

}  // namespace

TEST_CASE("a live reader of a small, fast-wrapping log accounts for every sequence", "[follower][process]") {
  const std::uint64_t records = 2'000'000;
  const FollowRun run = follow_forked_writer(64, records);
  REQUIRE(WIFEXITED(run.child_status));
  REQUIRE(WEXITSTATUS(run.child_status) == 0);
  CHECK(run.final_cursor == records);
  CHECK(run.inconsistent == 0);
  CHECK(run.sequences_out_of_order.empty());
  CHECK(run.delivered + run.lost == records);
  CHECK(run.delivered >= 64);  // at least the last lap
  WARN("small log: delivered " << run.delivered << ", lost " << run.lost);
}

TEST_CASE("a live reader of a log big enough for the whole run sees every record", "[follower][process]") {
  const std::uint64_t records = 500'000;
  const FollowRun run = follow_forked_writer(524'288, records);
  REQUIRE(WIFEXITED(run.child_status));
  REQUIRE(WEXITSTATUS(run.child_status) == 0);
  CHECK(run.final_cursor == records);
  CHECK(run.inconsistent == 0);
  CHECK(run.sequences_out_of_order.empty());
  CHECK(run.lost == 0);
  CHECK(run.delivered == records);
}
