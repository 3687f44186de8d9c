// Retention: the newest N segments per stream, a byte budget for the whole
// recording, recycling retired segments, and readers and followers that
// have a segment mapped while retention removes or recycles it.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <vrrl/recording.hpp>

#include "recording_support.hpp"
#include "support/seed_model.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::Recording;
using vrrl::RecordingReader;
using vrrl::StreamWriter;
using vrrl::test::append_keys;
using vrrl::test::collect;
using vrrl::test::segment_name;
using vrrl::test::segment_names;
using vrrl::test::small_segments;
using vrrl::test::TempDir;

std::uint64_t first_of(const std::string& name) { return std::stoull(name.substr(0, 20)); }

// The stream's records: self-checking, contiguous, keys = sequences.
std::pair<std::uint64_t, std::uint64_t> check_contiguous(const std::filesystem::path& run, const std::string& stream,
                                                         std::uint32_t producer) {
  const RecordingReader reader = RecordingReader::open(run);
  std::optional<std::uint64_t> first;
  std::uint64_t next = 0;
  for (const vrrl::test::Seen& r : collect(reader.replay(stream))) {
    REQUIRE(r.self_consistent);
    REQUIRE(r.key == vrrl::test::RecordKey{producer, r.sequence});
    if (first) REQUIRE(r.sequence == next);
    if (!first) first = r.sequence;
    next = r.sequence + 1;
  }
  return {first.value_or(0), next};
}

}  // namespace

TEST_CASE("retain_segments keeps the newest N segments of each stream", "[recording][retention]") {
  for (const bool recycle : {true, false}) {
    DYNAMIC_SECTION((recycle ? "recycling" : "deleting")) {
      TempDir dir;
      const auto run = dir.file("run");
      auto options = small_segments(16);
      options.retain_segments = 3;
      options.recycle = recycle;
      Recording recording = Recording::open(run, options);
      StreamWriter writer = recording.stream("a");
      for (int round = 0; round < 20; ++round) {
        append_keys(writer, 0, writer.appended(), 37);
        writer.sync();  // closes the full segments and applies retention now
        std::vector<std::string> used;
        for (const std::string& name : segment_names(run / "a")) {
          if (vrrl::test::header_cursor(run / "a" / name) > first_of(name)) used.push_back(name);
        }
        const std::uint64_t appended = writer.appended();
        const std::uint64_t current = appended / 16 * 16 == appended ? appended - 16 : appended / 16 * 16;
        std::vector<std::string> expected;
        for (std::uint64_t first = current >= 32 ? current - 32 : 0; first <= current; first += 16) {
          expected.push_back(segment_name(first));
        }
        INFO("after " << appended << " appends");
        REQUIRE(used == expected);
        const auto [oldest, end] = check_contiguous(run, "a", 0);
        CHECK(oldest == first_of(expected.front()));
        CHECK(end == appended);
      }
      const vrrl::StreamStats stats = writer.stats();
      CHECK(stats.segments_removed > 0);
      if (recycle) {
        CHECK(stats.segments_recycled > 0);  // one spare at a time: a retention pass that retires several deletes the rest
      } else {
        CHECK(stats.segments_recycled == 0);
      }
    }
  }
}

TEST_CASE("a recycled segment holds nothing of its previous life, for the seed's reader too", "[recording][retention]") {
  TempDir dir;
  const auto run = dir.file("run");
  auto options = small_segments(8);
  options.retain_segments = 1;
  Recording recording = Recording::open(run, options);
  StreamWriter writer = recording.stream("a");
  for (int round = 0; round < 50; ++round) {
    append_keys(writer, 0, writer.appended(), 5);
    writer.sync();
    for (const std::string& name : segment_names(run / "a")) {
      const std::uint64_t first = first_of(name);
      // Every valid slot, read the way the seed reads a log, is a record of
      // this segment's sequences.
      const vrrl::test::SeedReplay seed = vrrl::test::seed_open_and_replay(run / "a" / name);
      REQUIRE_FALSE(seed.error);
      for (const vrrl::test::SeedRecord& record : seed.records) {
        REQUIRE(record.epoch >= first);
        REQUIRE(record.epoch < first + 8);
      }
    }
  }
  CHECK(writer.stats().segments_recycled > 10);
}

TEST_CASE("retain_bytes keeps the whole recording under a budget, removing the oldest by time first",
          "[recording][retention]") {
  TempDir dir;
  const auto run = dir.file("run");
  auto options = small_segments(16);
  const std::uint64_t segment_bytes = vrrl::format::file_bytes(16);
  options.retain_bytes = 10 * segment_bytes;
  Recording recording = Recording::open(run, options);
  StreamWriter fast = recording.stream("fast");
  StreamWriter slow = recording.stream("slow");
  std::uint64_t clock = 0;
  for (int round = 0; round < 40; ++round) {
    // fast writes 3 records per tick, slow 1: fast's oldest segments go first.
    for (int k = 0; k < 48; ++k) {
      vrrl::RecordedSlot slot = vrrl::test::make_record(vrrl::test::RecordKey{0, fast.appended()}).slot;
      slot.timestamp_ns = clock;
      fast.append(slot);
      if (k % 3 == 0) {
        vrrl::RecordedSlot other = vrrl::test::make_record(vrrl::test::RecordKey{1, slow.appended()}).slot;
        other.timestamp_ns = clock;
        slow.append(other);
      }
      ++clock;
    }
    recording.sync();
    std::uint64_t visible = 0;
    for (const char* stream : {"fast", "slow"}) {
      for (const std::string& name : segment_names(run / stream)) {
        visible += std::filesystem::file_size(run / stream / name);
      }
    }
    INFO("round " << round);
    CHECK(visible <= options.retain_bytes);
  }
  // What is left: the newest stretch of time, from both streams.
  const RecordingReader reader = RecordingReader::open(run);
  const std::uint64_t fast_first = reader.stream_info()[0].first_sequence;
  const std::uint64_t slow_first = reader.stream_info()[1].first_sequence;
  CHECK(fast_first > 0);
  CHECK(slow_first > 0);
  std::uint64_t oldest_fast = 0;
  std::uint64_t oldest_slow = 0;
  for (const vrrl::StreamRecord& item : reader.replay("fast")) {
    oldest_fast = item.record.timestamp_ns();
    break;
  }
  for (const vrrl::StreamRecord& item : reader.replay("slow")) {
    oldest_slow = item.record.timestamp_ns();
    break;
  }
  // Each stream lost only what is older than the other's oldest kept segment's end.
  CHECK(oldest_slow <= oldest_fast + 3 * 16 * 3);
  CHECK(oldest_fast <= oldest_slow + 3 * 16 * 3);
}

TEST_CASE("a reader with a segment mapped: retention deletes instead of recycling it, and its bytes never change",
          "[recording][retention][readers]") {
  TempDir dir;
  const auto run = dir.file("run");
  auto options = small_segments(16);
  options.retain_segments = 1;
  Recording recording = Recording::open(run, options);
  StreamWriter writer = recording.stream("a");
  append_keys(writer, 0, 0, 10);
  writer.sync();

  const RecordingReader reader = RecordingReader::open(run);
  auto replay = reader.replay();
  auto it = replay.begin();
  REQUIRE(it != replay.end());
  const vrrl::StreamRecord held = *it;  // segment 0, mapped and locked by the replay
  const vrrl::RecordedSlot copy = held.record.slot();

  // Fill segment 0 and many more: each retired segment goes to the spare
  // slot, and the next preparation rewrites the spare unless a reader holds it.
  for (int round = 0; round < 20; ++round) {
    append_keys(writer, 0, writer.appended(), 16);
    writer.sync();
  }
  CHECK(held.record.slot() == copy);
  CHECK(writer.stats().recycles_refused >= 1);
  CHECK(writer.stats().segments_recycled >= 1);  // the others were recycled
  std::uint64_t seen = 0;
  for (; it != replay.end(); ++it) {
    const vrrl::test::Seen record = vrrl::test::seen(*it);
    REQUIRE(record.self_consistent);
    REQUIRE(record.key.index == record.sequence);
    ++seen;
  }
  CHECK(seen == 10);  // segment 0; any later segment it planned was removed before it got there
}

TEST_CASE("segments that retention removes between a reader's open and its replay are counted, not errors",
          "[recording][retention][readers]") {
  TempDir dir;
  const auto run = dir.file("run");
  auto options = small_segments(8);
  options.retain_segments = 2;
  Recording recording = Recording::open(run, options);
  StreamWriter writer = recording.stream("a");
  append_keys(writer, 0, 0, 20);
  writer.sync();
  const RecordingReader reader = RecordingReader::open(run);  // plans segments 8 and 16
  append_keys(writer, 0, 20, 24);
  writer.sync();  // only 32 and 40 are kept: 8, 16 and 24 are gone (deleted or recycled)
  auto replay = reader.replay();
  const std::vector<vrrl::test::Seen> records = collect(replay);
  for (const vrrl::test::Seen& r : records) REQUIRE(r.self_consistent);
  CHECK(records.empty());
  CHECK(replay.report().segments_removed >= 2);  // 8 and 16 (and 24, if it was there, prepared, at open)
  CHECK(replay.report().lost == 12);            // sequences 8 ..< 20, as planned
}
