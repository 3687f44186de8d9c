// vrrl::Follower: deterministic poll() cases first (one per edge), then a
// writer in another process appending at full speed while this one follows.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <catch2/catch.hpp>

#include <vrrl/follower.hpp>
#include <vrrl/ring_log.hpp>

#include "../support/temp_dir.hpp"
#include "../support/follow_writer_process.hpp"
#include "../support/expect_error.hpp"
#include "../support/seed_model.hpp"
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

// ---------------------------------------------------------------------------
// Reliability, second round: header values at their extremes, a shrunk file,
// the seed as the writer, and validated snapshots of a live log.

TEST_CASE("a header cursor near 2^64 gives bounded work and says so", "[follower][reliability]") {
  const auto cursor = GENERATE(~std::uint64_t{0}, ~std::uint64_t{0} - 3, std::uint64_t{1} << 62,
                               vrrl::format::max_cursor);
  TempDir dir;
  { auto log = RingLog::open(dir.file("a.vrrl"), 8); append_keys(log, 0, 5); }
  overwrite_cursor(dir.file("a.vrrl"), cursor);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  Collected got;
  for (int poll = 0; poll < 3; ++poll) {
    CHECK(follower.poll(got.sink()) == PollResult{.implausible_cursor = true});
  }
  CHECK(got.sequences.empty());
  // A writer that opens the log restarts the count at the slot it names;
  // the Follower then resyncs and goes on.
  { auto log = RingLog::open(dir.file("a.vrrl"), 8); CHECK(log.appended() == cursor % 8); append_keys(log, 0, 2); }
  const PollResult after = follower.poll(got.sink());
  CHECK_FALSE(after.implausible_cursor);
  CHECK(after.delivered >= 2);
  CHECK(after.delivered <= 8);
}

TEST_CASE("a snapshot of a log with an implausible cursor reads as replay does and says so",
          "[follower][reliability]") {
  const auto cursor = GENERATE(~std::uint64_t{0}, vrrl::format::max_cursor + 3);
  TempDir dir;
  { auto log = RingLog::open(dir.file("a.vrrl"), 8); append_keys(log, 0, 13); }
  overwrite_cursor(dir.file("a.vrrl"), cursor);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  std::vector<std::uint64_t> replayed;
  for (const vrrl::RecordView record : reader.replay()) replayed.push_back(record.slot().timestamp_ns);
  std::vector<std::uint64_t> snapshot;
  const vrrl::SnapshotReport report =
      vrrl::read_snapshot(reader, vrrl::Recovery::strict,
                          [&](std::uint64_t, const vrrl::RecordedSlot& slot, const vrrl::FailureEvidence&) {
                            snapshot.push_back(slot.timestamp_ns);
                          });
  CHECK(report.implausible_cursor);
  CHECK(report.overwritten == 0);
  CHECK(report.records == 8);
  CHECK(snapshot == replayed);
}

TEST_CASE("a cursor just below the limit is a count: the Follower goes on past it", "[follower][reliability]") {
  TempDir dir;
  { auto log = RingLog::open(dir.file("a.vrrl"), 8); }
  overwrite_cursor(dir.file("a.vrrl"), vrrl::format::max_cursor - 3);
  auto log = RingLog::open(dir.file("a.vrrl"), 8);
  CHECK(log.appended() == vrrl::format::max_cursor - 3);
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower = Follower::from_now(reader);
  append_keys(log, 0, 2);
  std::uint64_t delivered = 0;
  CHECK(follower.poll([&](std::uint64_t, const RecordedSlot&, const FailureEvidence&) { ++delivered; }) ==
        PollResult{.delivered = 2});
}

TEST_CASE("a log truncated under a Follower or a snapshot: truncated, never SIGBUS", "[follower][reliability]") {
  const auto size = GENERATE(std::uint64_t{0}, std::uint64_t{31}, std::uint64_t{100});
  TempDir dir;
  { auto log = RingLog::open(dir.file("a.vrrl"), 64); append_keys(log, 0, 10); }
  auto reader = LogReader::open(dir.file("a.vrrl"));
  Follower follower(reader);
  REQUIRE(::truncate(dir.file("a.vrrl").c_str(), static_cast<off_t>(size)) == 0);
  const auto e = vrrl::test::expect_error([&] { (void)follower.poll(Collected{}.sink()); });
  CHECK(e.kind() == vrrl::ErrorKind::truncated);
  CHECK_THAT(e.what(), Catch::Contains("shrank") && Catch::Contains("Fix:"));
  const auto snapshot = vrrl::test::expect_error([&] {
    (void)vrrl::read_snapshot(reader, vrrl::Recovery::skip_bad_slots,
                              [](std::uint64_t, const RecordedSlot&, const FailureEvidence&) {});
  });
  CHECK(snapshot.kind() == vrrl::ErrorKind::truncated);
}

namespace {

// The seed writes no failure evidence, so a seed-written self-checking record
// is checked on its RecordedSlot only.
vrrl::test::SeedRecord seed_record(std::uint64_t index) {
  const auto record = make_record({0, index}).slot;
  return {record.timestamp_ns, record.slot_idx, record.tenant_id, record.opcode, record.args, record.epoch};
}

bool is_seed_record(const RecordedSlot& slot, const FailureEvidence& evidence, std::uint64_t* index) {
  const auto expected = make_record({0, slot.timestamp_ns}).slot;
  *index = slot.timestamp_ns;
  return evidence == FailureEvidence{} && expected == slot;
}

}  // namespace

TEST_CASE("a Follower of a log the seed is writing never delivers a torn or repeated record",
          "[follower][reliability][process]") {
  const auto capacity = GENERATE(std::uint64_t{8}, std::uint64_t{64}, std::uint64_t{1000});
  const std::uint64_t appends = 20'000;
  TempDir dir;
  const auto path = dir.file("seed.vrrl");
  vrrl::test::write_bytes(path, vrrl::test::seed_file_bytes(capacity, {}));
  auto reader = LogReader::open(path);
  Follower follower(reader, 0);
  std::uint64_t torn = 0;
  std::uint64_t repeated = 0;
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;
  std::uint64_t last_index = 0;
  bool any = false;
  auto on_record = [&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence& evidence) {
    std::uint64_t index = 0;
    if (!is_seed_record(slot, evidence, &index)) {
      ++torn;
      return;
    }
    if (any && index <= last_index) ++repeated;
    last_index = index;
    any = true;
  };
  const pid_t child = vrrl::test::start_writer_process([&] {
    vrrl::test::SeedWriter writer(path);
    for (std::uint64_t index = 0; index < appends; ++index) writer.append(seed_record(index));
    return 0;
  });
  int status = -1;
  for (bool exited = false; !exited;) {
    exited = ::waitpid(child, &status, WNOHANG) == child;
    const PollResult result = follower.poll(on_record);
    delivered += result.delivered;
    lost += result.lost;
  }
  const PollResult last = follower.poll(on_record);
  delivered += last.delivered;
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  INFO("capacity " << capacity << ": delivered " << delivered << ", lost (a lower bound) " << lost);
  CHECK(torn == 0);
  CHECK(repeated == 0);
  CHECK(delivered + lost <= appends);
  CHECK(delivered > 0);
}

TEST_CASE("a Follower that joins a quiescent seed-written, wrapped log reads the records since its last wrap",
          "[follower][reliability]") {
  TempDir dir;
  const auto path = dir.file("seed.vrrl");
  std::vector<vrrl::test::SeedRecord> appends;
  for (std::uint64_t index = 0; index < 13; ++index) appends.push_back(seed_record(index));
  vrrl::test::write_bytes(path, vrrl::test::seed_file_bytes(8, appends));  // cursor 13 % 8 = 5
  auto reader = LogReader::open(path);
  Follower follower(reader);
  std::vector<std::uint64_t> indices;
  const PollResult result = follower.poll([&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence&) {
    indices.push_back(slot.timestamp_ns);
  });
  CHECK(result == PollResult{.delivered = 5});
  CHECK(indices == std::vector<std::uint64_t>{8, 9, 10, 11, 12});
}

namespace {

// Snapshots taken while `write_log` runs in another process; every record
// delivered is checked and must come in increasing index order.
struct SnapshotRun {
  std::uint64_t snapshots = 0;
  std::uint64_t records = 0;
  std::uint64_t overwritten = 0;
  std::uint64_t torn = 0;
  std::uint64_t out_of_order = 0;
};

template <class WriteLog, class Check>
SnapshotRun snapshots_while(const std::filesystem::path& path, WriteLog&& write_log, Check&& is_valid) {
  auto reader = LogReader::open(path);
  const pid_t child = vrrl::test::start_writer_process(write_log);
  SnapshotRun run;
  int status = -1;
  while (::waitpid(child, &status, WNOHANG) != child) {
    std::uint64_t last = 0;
    bool any = false;
    const vrrl::SnapshotReport report = vrrl::read_snapshot(
        reader, vrrl::Recovery::strict, [&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence& evidence) {
          std::uint64_t index = 0;
          if (!is_valid(slot, evidence, &index)) {
            if (run.torn++ < 3) {
              const auto expected = make_record({0, slot.timestamp_ns}).slot;
              UNSCOPED_INFO("torn: ts " << slot.timestamp_ns << " slot_idx " << slot.slot_idx << " (expected "
                            << expected.slot_idx << ") opcode " << slot.opcode << " (" << expected.opcode
                            << ") args0 " << slot.args[0] << " (" << expected.args[0] << ") epoch " << slot.epoch
                            << " status " << evidence.slot_status);
            }
            return;
          }
          if (any && index <= last) ++run.out_of_order;
          last = index;
          any = true;
        });
    ++run.snapshots;
    run.records += report.records;
    run.overwritten += report.overwritten;
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  return run;
}

}  // namespace

TEST_CASE("snapshots of a log a RingLog is writing flat out hold no torn or out-of-order record",
          "[follower][snapshot][reliability][process]") {
  const auto capacity = GENERATE(std::uint64_t{64}, std::uint64_t{4096});
  TempDir dir;
  const auto path = dir.file("live.vrrl");
  { auto create = RingLog::open(path, capacity); }
  const SnapshotRun run = snapshots_while(
      path,
      [&] {
        auto log = RingLog::open(path, capacity);
        append_keys(log, 0, 3'000'000);
        return 0;
      },
      [](const RecordedSlot& slot, const FailureEvidence& evidence, std::uint64_t* index) {
        const auto key = check_record(slot, evidence);
        if (key) *index = key->index;
        return key.has_value();
      });
  WARN("capacity " << capacity << ": " << run.snapshots << " snapshots, " << run.records << " records, "
                   << run.overwritten << " overwritten during the walk");
  CHECK(run.snapshots > 0);
  CHECK(run.torn == 0);
  CHECK(run.out_of_order == 0);
}

TEST_CASE("snapshots of a log the seed is writing hold no torn record", "[follower][snapshot][reliability][process]") {
  const auto capacity = GENERATE(std::uint64_t{8}, std::uint64_t{256});
  TempDir dir;
  const auto path = dir.file("seed.vrrl");
  vrrl::test::write_bytes(path, vrrl::test::seed_file_bytes(capacity, {}));
  const SnapshotRun run = snapshots_while(
      path,
      [&] {
        vrrl::test::SeedWriter writer(path);
        for (std::uint64_t index = 0; index < 30'000; ++index) writer.append(seed_record(index));
        return 0;
      },
      [](const RecordedSlot& slot, const FailureEvidence& evidence, std::uint64_t* index) {
        return is_seed_record(slot, evidence, index);
      });
  WARN("seed, capacity " << capacity << ": " << run.snapshots << " snapshots, " << run.records << " records, "
                         << run.overwritten << " overwritten during the walk");
  CHECK(run.snapshots > 0);
  CHECK(run.torn == 0);
}

TEST_CASE("a snapshot of a quiescent log is exactly its replay", "[follower][snapshot]") {
  const auto appended = GENERATE(std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{8}, std::uint64_t{21});
  TempDir dir;
  { auto log = RingLog::open(dir.file("a.vrrl"), 8); append_keys(log, 0, appended); }
  auto reader = LogReader::open(dir.file("a.vrrl"));
  std::vector<RecordedSlot> from_snapshot;
  const auto report = vrrl::read_snapshot(reader, vrrl::Recovery::strict,
                                          [&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence&) {
                                            from_snapshot.push_back(slot);
                                          });
  CHECK(from_snapshot == reader.replay_all());
  CHECK(report.records == from_snapshot.size());
  CHECK(report.overwritten == 0);
  CHECK(report.records + report.empty_slots == 8);
  // The seed's files too: a wrapped seed log (cursor modulo capacity).
  std::vector<vrrl::test::SeedRecord> seeds;
  for (std::uint64_t index = 0; index < appended; ++index) seeds.push_back(seed_record(index));
  vrrl::test::write_bytes(dir.file("seed.vrrl"), vrrl::test::seed_file_bytes(8, seeds));
  // Written a while ago: the record under the seed's cursor is the oldest,
  // not one being written (see follower.hpp).
  std::filesystem::last_write_time(dir.file("seed.vrrl"),
                                   std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  auto seed_reader = LogReader::open(dir.file("seed.vrrl"));
  std::vector<RecordedSlot> seed_snapshot;
  (void)vrrl::read_snapshot(seed_reader, vrrl::Recovery::strict,
                            [&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence&) {
                              seed_snapshot.push_back(slot);
                            });
  CHECK(seed_snapshot == seed_reader.replay_all());
  // Just written: that one record is held back as possibly being written.
  vrrl::test::write_bytes(dir.file("seed.vrrl"), vrrl::test::seed_file_bytes(8, seeds));
  std::uint64_t fresh = 0;
  const auto fresh_report = vrrl::read_snapshot(
      seed_reader, vrrl::Recovery::strict, [&](std::uint64_t, const RecordedSlot&, const FailureEvidence&) { ++fresh; });
  const bool under_cursor_is_a_record = appended >= 8;
  CHECK(fresh + (under_cursor_is_a_record ? 1 : 0) == seed_snapshot.size());
  CHECK(fresh_report.overwritten == (under_cursor_is_a_record ? 1 : 0));
}

TEST_CASE("a seed write stalled half way through a record is never handed out", "[follower][snapshot][reliability]") {
  TempDir dir;
  const auto path = dir.file("seed.vrrl");
  std::vector<vrrl::test::SeedRecord> seeds;
  for (std::uint64_t index = 0; index < 11; ++index) seeds.push_back(seed_record(index));
  vrrl::test::write_bytes(path, vrrl::test::seed_file_bytes(8, seeds));  // cursor 3: slot 3 holds record 3
  // The seed's next append (record 11) has copied its first 24 bytes into
  // slot 3 and stopped there; the cursor still says 3.
  std::vector<unsigned char> half(64, 0);
  const auto next = seed_record(11);
  vrrl::test::put_u32(half, 0, 0xDEADBEEF);
  vrrl::test::put_u64(half, 4, next.timestamp_ns);
  vrrl::test::put_u32(half, 12, next.slot_idx);
  vrrl::test::put_u32(half, 16, next.tenant_id);
  vrrl::test::put_u32(half, 20, next.opcode);
  overwrite(path, vrrl::format::record_position(3), half.data(), 24);
  auto reader = LogReader::open(path);
  std::uint64_t torn = 0;
  std::uint64_t delivered = 0;
  const auto report = vrrl::read_snapshot(reader, vrrl::Recovery::strict,
                                          [&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence& e) {
                                            std::uint64_t index = 0;
                                            ++delivered;
                                            if (!is_seed_record(slot, e, &index)) ++torn;
                                          });
  CHECK(torn == 0);
  CHECK(delivered == 7);
  CHECK(report.overwritten == 1);
  Follower follower(reader, 0);
  std::uint64_t follower_torn = 0;
  for (int poll = 0; poll < 3; ++poll) {
    (void)follower.poll([&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence& e) {
      std::uint64_t index = 0;
      if (!is_seed_record(slot, e, &index)) ++follower_torn;
    });
  }
  CHECK(follower_torn == 0);
}
