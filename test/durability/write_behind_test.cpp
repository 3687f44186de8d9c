// OpenOptions::sync_every, the everyday behaviour: appends go into an
// in-memory ring, passes (background, sync(), close) copy them to the disk
// file, durable() counts them, and a log without sync_every is what it was.
#include <catch2/catch.hpp>

#include <vrrl/follower.hpp>
#include <vrrl/multi_producer.hpp>

#include "durability_support.hpp"
#include "support/expect_error.hpp"

namespace {

using vrrl::LogReader;
using vrrl::RingLog;
using vrrl::test::LiveDir;
using vrrl::test::replayed_sequences;
using vrrl::test::ring_window;
using vrrl::test::sequence_range;
using vrrl::test::write_behind;
using namespace std::chrono_literals;

}  // namespace

TEST_CASE("sync_every: appends go to the in-memory ring, sync() copies them to the file, close leaves the file",
          "[durability][write_behind]") {
  const vrrl::Format format = GENERATE(vrrl::Format::v1, vrrl::Format::v2);
  CAPTURE(vrrl::test::name_of(format));
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("dispatch.vrrl");
  {
    RingLog log = RingLog::open(path, 64, write_behind(live.path(), vrrl::test::manual_passes, format));
    CHECK(log.format() == format);
    CHECK(LogReader::open(path).format() == format);
    REQUIRE(live.files().size() == 1);
    CHECK(log.live_path() == live.path() / live.files()[0]);
    CHECK(live.files()[0].starts_with("vrrl-live-"));
    CHECK(log.path() == path);
    CHECK(log.set_aside_live_ring().empty());
    CHECK(log.durable() == 0);

    vrrl::test::append_sequences(log, 0, 10);
    CHECK(log.appended() == 10);
    CHECK(replayed_sequences(log) == sequence_range(0, 10));   // replay reads the ring: everything appended
    CHECK(replayed_sequences(path).empty());                   // the file: what passes copied
    CHECK(LogReader::open(log.live_path()).appended() == 10);  // the ring is a log too
    CHECK(log.durable() == 0);

    log.sync();
    CHECK(log.durable() == 10);
    CHECK(replayed_sequences(path) == sequence_range(0, 10));

    vrrl::test::append_sequences(log, 10, 110);  // wraps the 64-slot ring
    log.sync();
    CHECK(log.durable() == 110);
    CHECK(replayed_sequences(path) == ring_window(110, 64));
    CHECK(LogReader::open(path).appended() == 110);
    if (format == vrrl::Format::v2) CHECK(LogReader::open(path).synced() == 110);  // v2's header says so too
    const vrrl::DurabilityStats stats = log.durability_stats();
    CHECK(stats.durable == 110);
    CHECK(stats.passes == 2);
    CHECK(stats.failures == 0);
    CHECK(stats.overrun == 110 - 64 - 10);  // appended past the ring before the second pass: gone from both
    CHECK(log.sync_failures() == 0);

    vrrl::test::append_sequences(log, 110, 120);  // not synced: the close's last pass copies them
  }
  CHECK(live.files().empty());
  CHECK(replayed_sequences(path) == ring_window(120, 64));

  // Reopen: no ring left, so one is made from the file; everything in it is durable.
  RingLog again = RingLog::open(path, 64, write_behind(live.path()));
  CHECK(again.format() == format);
  CHECK(again.appended() == 120);
  CHECK(again.durable() == 120);
  CHECK(replayed_sequences(again) == ring_window(120, 64));
  vrrl::test::append_sequences(again, 120, 130);
  again.sync();
  CHECK(replayed_sequences(path) == ring_window(130, 64));
}

TEST_CASE("sync_every: the background thread makes records durable without sync()", "[durability][write_behind]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("background.vrrl");
  RingLog log = RingLog::open(path, 4096, write_behind(live.path(), 1ms));
  vrrl::test::append_sequences(log, 0, 3000);
  vrrl::test::wait_until([&] { return log.durable() >= 3000; }, "the background passes");
  CHECK(log.durable() == 3000);
  CHECK(replayed_sequences(path) == sequence_range(0, 3000));
  CHECK(log.durability_stats().passes >= 1);
}

TEST_CASE("sync_every: wait_durable() sleeps until a pass makes the record durable", "[durability][write_behind]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  SECTION("background passes wake the waiter") {
    RingLog log = RingLog::open(dir.file("wait.vrrl"), 4096, write_behind(live.path(), 1ms));
    vrrl::test::append_sequences(log, 0, 500);
    CHECK(log.wait_durable(500, std::chrono::minutes(2)));
    CHECK(log.durable() >= 500);
    vrrl::test::append_sequences(log, 500, 501);
    CHECK(log.wait_durable(501, std::chrono::nanoseconds::max()));  // "forever" is clamped, not overflowed
  }
  SECTION("no pass comes: the timeout ends the wait") {
    RingLog log = RingLog::open(dir.file("manual.vrrl"), 64, write_behind(live.path()));
    vrrl::test::append_sequences(log, 0, 5);
    CHECK_FALSE(log.wait_durable(5, 1ms));
    log.sync();
    CHECK(log.wait_durable(5, 0ns));
  }
  SECTION("without sync_every it does not wait") {
    RingLog log = RingLog::open(dir.file("plain.vrrl"), 64);
    vrrl::test::append_sequences(log, 0, 5);
    CHECK_FALSE(log.wait_durable(5, std::chrono::hours(1)));
    log.sync();
    CHECK(log.wait_durable(5, std::chrono::hours(1)));
  }
}

TEST_CASE("sync_every: a writer that laps the copy between passes: the file keeps the ring's window, overrun counted",
          "[durability][write_behind]") {
  const vrrl::Format format = GENERATE(vrrl::Format::v1, vrrl::Format::v2);
  CAPTURE(vrrl::test::name_of(format));
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("lapped.vrrl");
  RingLog log = RingLog::open(path, 64, write_behind(live.path(), vrrl::test::manual_passes, format));
  vrrl::test::append_sequences(log, 0, 5);
  log.sync();
  vrrl::test::append_sequences(log, 5, 5 + 3 * 64 + 7);
  log.sync();
  const std::uint64_t appended = 5 + 3 * 64 + 7;
  CHECK(log.durable() == appended);
  CHECK(replayed_sequences(path) == ring_window(appended, 64));
  CHECK(log.durability_stats().overrun == appended - 5 - 64);
}

TEST_CASE("sync_every: passes longer than the staging buffer go chunk by chunk", "[durability][write_behind]") {
  const vrrl::Format format = GENERATE(vrrl::Format::v1, vrrl::Format::v2);
  CAPTURE(vrrl::test::name_of(format));
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("long_passes.vrrl");
  constexpr std::uint64_t slots = 262'144;  // a pass of 200,000 records is longer than the 131,072-slot stage
  RingLog log = RingLog::open(path, slots, write_behind(live.path(), vrrl::test::manual_passes, format));
  vrrl::test::append_sequences(log, 0, 200'000);
  log.sync();
  CHECK(replayed_sequences(path) == sequence_range(0, 200'000));
  vrrl::test::append_sequences(log, 200'000, 400'000);  // wraps: the long pass clears, writes and commits reused slots
  log.sync();
  CHECK(replayed_sequences(path) == ring_window(400'000, slots));
  vrrl::test::append_sequences(log, 400'000, 400'100);  // and a short one after it
  log.sync();
  CHECK(replayed_sequences(path) == ring_window(400'100, slots));
  CHECK(log.durability_stats().overrun == 0);
}

TEST_CASE("sync_every: a pass after the writer lapped a big ring keeps the newest 131,072 records, empties the rest",
          "[durability][write_behind]") {
  const vrrl::Format format = GENERATE(vrrl::Format::v1, vrrl::Format::v2);
  CAPTURE(vrrl::test::name_of(format));
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("lapped_big.vrrl");
  constexpr std::uint64_t slots = 262'144, kept = 131'072;  // kept: the staging buffer's slots
  RingLog log = RingLog::open(path, slots, write_behind(live.path(), vrrl::test::manual_passes, format));
  vrrl::test::append_sequences(log, 0, 100);
  log.sync();
  vrrl::test::append_sequences(log, 100, 600'100);  // more than a lap since the last pass
  log.sync();
  CHECK(replayed_sequences(path) == ring_window(600'100, kept));
  CHECK(log.durability_stats().overrun == 600'100 - 100 - kept);
  vrrl::test::append_sequences(log, 600'100, 601'100);  // an ordinary pass after it
  log.sync();
  CHECK(replayed_sequences(path) == ring_window(601'100, kept + 1'000));
  vrrl::test::append_sequences(log, 601'100, 900'000);  // lapped again: the slots known empty are skipped
  log.sync();
  CHECK(replayed_sequences(path) == ring_window(900'000, kept));
  CHECK(log.durable() == 900'000);
}

TEST_CASE("without sync_every nothing changes: no in-memory ring, sync() is msync, durable() counts sync()s",
          "[durability][write_behind]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("plain.vrrl");
  RingLog log = RingLog::open(
      path, 64,
      vrrl::OpenOptions{
          .prefault = false, .format = vrrl::Format::v1, .sync_every = 0ns, .live_directory = live.path().native()});
  CHECK(live.files().empty());
  CHECK(log.live_path().empty());
  vrrl::test::append_sequences(log, 0, 10);
  CHECK(replayed_sequences(path) == sequence_range(0, 10));  // the mapping is the file
  CHECK(log.durable() == 0);
  log.sync();
  CHECK(log.durable() == 10);
  CHECK(log.sync_failures() == 0);
  CHECK(log.durability_stats().passes == 0);
}

TEST_CASE("sync_every: bad options and other writers get clear errors", "[durability][write_behind]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("options.vrrl");

  SECTION("a negative interval") {
    const vrrl::Error e =
        vrrl::test::expect_error([&] { (void)RingLog::open(path, 64, write_behind(live.path(), -1ms)); });
    CHECK(e.kind() == vrrl::ErrorKind::io);
    CHECK(e.errno_value() == EINVAL);
    CHECK(std::string(e.what()).find("Fix: pass a positive interval") != std::string::npos);
    CHECK(!std::filesystem::exists(path));
  }
  SECTION("a writer without background durability") {
    const vrrl::Error e =
        vrrl::test::expect_error([&] { (void)vrrl::SharedRingLog::open(path, 64, write_behind(live.path(), 10ms)); });
    CHECK(e.kind() == vrrl::ErrorKind::io);
    CHECK(e.errno_value() == EINVAL);
    CHECK(std::string(e.what()).find("only vrrl::RingLog::open") != std::string::npos);
    CHECK(!std::filesystem::exists(path));
  }
  SECTION("a second writer, with or without sync_every") {
    RingLog first = RingLog::open(path, 64, write_behind(live.path()));
    CHECK(vrrl::is_locked_by_writer(path));
    CHECK(vrrl::test::expect_error([&] { (void)RingLog::open(path, 64); }).kind() == vrrl::ErrorKind::locked);
    CHECK(vrrl::test::expect_error([&] { (void)RingLog::open(path, 64, write_behind(live.path())); }).kind() ==
          vrrl::ErrorKind::locked);
    CHECK(vrrl::test::expect_error([&] { (void)RingLog::open(first.live_path(), 64); }).kind() ==
          vrrl::ErrorKind::locked);
    CHECK(live.files().size() == 1);
  }
}

TEST_CASE("sync_every: readers of the file see a valid log between passes; a Follower follows the ring live",
          "[durability][write_behind]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("readers.vrrl");
  RingLog log = RingLog::open(path, 128, write_behind(live.path()));
  const LogReader ring = LogReader::open(log.live_path());
  vrrl::Follower follower(ring);
  std::uint64_t next = 0;
  for (std::uint64_t round = 0; round < 6; ++round) {
    vrrl::test::append_sequences(log, round * 50, round * 50 + 50);
    const vrrl::PollResult polled = follower.poll(
        [&](std::uint64_t sequence, const vrrl::RecordedSlot& slot, const vrrl::FailureEvidence& evidence) {
          REQUIRE(vrrl::test::check_record(slot, evidence) == vrrl::test::RecordKey{0, sequence});
          REQUIRE(sequence == next);
          ++next;
        });
    CHECK(polled.lost == 0);
    CHECK(replayed_sequences(path) == ring_window(round * 50, 128));
    log.sync();
    CHECK(replayed_sequences(path) == ring_window(round * 50 + 50, 128));
  }
  CHECK(next == 300);
}

TEST_CASE("sync_every: a moved RingLog keeps its background copy", "[durability][write_behind]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("moved.vrrl");
  RingLog log = RingLog::open(path, 64, write_behind(live.path()));
  vrrl::test::append_sequences(log, 0, 20);
  RingLog moved = std::move(log);
  vrrl::test::append_sequences(moved, 20, 30);
  moved.sync();
  CHECK(moved.durable() == 30);
  RingLog assigned = RingLog::open(dir.file("other.vrrl"), 64, write_behind(live.path()));
  assigned = std::move(moved);
  CHECK(replayed_sequences(dir.file("other.vrrl")).empty());
  vrrl::test::append_sequences(assigned, 30, 40);
  assigned.sync();
  CHECK(replayed_sequences(path) == sequence_range(0, 40));
  CHECK(live.files().size() == 1);  // the other log's ring went with its close
}
