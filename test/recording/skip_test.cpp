// StreamWriter::skip: sequences that hold no record. Each case is one
// behaviour of include/vrrl/recording.hpp's skip(): readers count skipped
// sequences as lost and never return a record for one; a skip inside a
// segment leaves its slots empty, a long one leaves a gap between segments;
// appends (and a reopened writer) continue after it.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <vrrl/recording.hpp>

#include "recording_support.hpp"
#include "support/expect_error.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::ErrorKind;
using vrrl::Recording;
using vrrl::RecordingReader;
using vrrl::Recovery;
using vrrl::StreamWriter;
using vrrl::test::expect_error;
using vrrl::test::header_cursor;
using vrrl::test::segment_name;
using vrrl::test::segment_names;
using vrrl::test::small_segments;
using vrrl::test::TempDir;

constexpr std::uint64_t capacity = 16;

// Appends the self-checking records with keys from ..< to.
void append_range(StreamWriter& writer, std::uint64_t from, std::uint64_t to) {
  vrrl::test::append_keys(writer, 0, from, to - from);
}

// The stream's records as (sequence, key index), and what the replay reported.
struct Replayed {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> records;
  std::uint64_t lost = 0;
  std::uint64_t incomplete = 0;
};

Replayed replay(const std::filesystem::path& dir, Recovery recovery = Recovery::strict) {
  const RecordingReader reader = RecordingReader::open(dir, recovery);
  Replayed out;
  vrrl::RecordingReplay range = reader.replay("s");
  for (const vrrl::test::Seen& record : vrrl::test::collect(range)) {
    REQUIRE(record.self_consistent);
    out.records.emplace_back(record.sequence, record.key.index);
  }
  out.lost = range.report().lost;
  out.incomplete = range.report().incomplete;
  return out;
}

// (sequence, key) for keys from ..< to, stored at sequences at ..< at + (to - from).
std::vector<std::pair<std::uint64_t, std::uint64_t>> keys(std::uint64_t at, std::uint64_t from, std::uint64_t to) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (std::uint64_t key = from; key < to; ++key) out.emplace_back(at + (key - from), key);
  return out;
}

template <class... Parts>
std::vector<std::pair<std::uint64_t, std::uint64_t>> joined(Parts... parts) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  (out.insert(out.end(), parts.begin(), parts.end()), ...);
  return out;
}

}  // namespace

TEST_CASE("skip inside a segment: the skipped slots are empty and count as lost", "[recording][skip]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(capacity));
    StreamWriter writer = recording.stream("s");
    append_range(writer, 0, 5);
    writer.skip(3);
    CHECK(writer.appended() == 8);
    writer.skip(0);
    CHECK(writer.appended() == 8);
    append_range(writer, 5, 9);
    CHECK(writer.appended() == 12);
    writer.sync();
  }
  const Replayed got = replay(run);
  CHECK(got.records == joined(keys(0, 0, 5), keys(8, 5, 9)));
  CHECK(got.lost == 3);
  CHECK(got.incomplete == 3);
  CHECK(header_cursor(run / "s" / segment_name(0)) == 12);
}

TEST_CASE("skip at the start of a stream", "[recording][skip]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(capacity));
    StreamWriter writer = recording.stream("s");
    writer.skip(3);
    append_range(writer, 0, 2);
  }
  const Replayed got = replay(run);
  CHECK(got.records == keys(3, 0, 2));
  CHECK(got.lost == 3);
  const RecordingReader reader = RecordingReader::open(run);
  CHECK(reader.stream_info().at(0).first_sequence == 0);
  CHECK(reader.stream_info().at(0).end_sequence == 5);
}

TEST_CASE("skip to a segment's end rolls; into the next segment leaves both partly empty", "[recording][skip]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(capacity));
    StreamWriter writer = recording.stream("s");
    append_range(writer, 0, 5);
    writer.skip(11);  // to 16: the segment is full
    CHECK(writer.appended() == 16);
    append_range(writer, 5, 7);  // 16, 17
    writer.skip(10);               // 18 .. 27, inside segment 16
    CHECK(writer.appended() == 28);
    writer.skip(8);  // 28 .. 35: the rest of segment 16 and 32 .. 35
    CHECK(writer.appended() == 36);
    append_range(writer, 7, 9);  // 36, 37
    writer.sync();
  }
  const Replayed got = replay(run);
  CHECK(got.records == joined(keys(0, 0, 5), keys(16, 5, 7), keys(36, 7, 9)));
  CHECK(got.lost == 11 + 10 + 8);
  CHECK(header_cursor(run / "s" / segment_name(0)) == 16);
  CHECK(header_cursor(run / "s" / segment_name(16)) == 32);
  CHECK(header_cursor(run / "s" / segment_name(32)) == 38);
}

TEST_CASE("a long skip: segments of skipped sequences only are never made, a gap", "[recording][skip]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(capacity));
    StreamWriter writer = recording.stream("s");
    append_range(writer, 0, 5);
    writer.skip(100);  // 5 .. 104: the last skipped sequence is in segment 96
    CHECK(writer.appended() == 105);
    append_range(writer, 5, 15);  // 105 .. 114: rolls into segment 112
    writer.sync();
    std::vector<std::string> names = segment_names(run / "s");
    std::erase(names, segment_name(128));  // prepared ahead, or not yet
    CHECK(names == std::vector<std::string>{segment_name(0), segment_name(96), segment_name(112)});
  }
  CHECK(header_cursor(run / "s" / segment_name(0)) == 16);
  CHECK(header_cursor(run / "s" / segment_name(96)) == 112);

  // Strict readers refuse the gap, as any gap; the others read around it.
  const vrrl::Error refused = expect_error([&] { (void)RecordingReader::open(run); });
  CHECK(refused.kind() == ErrorKind::truncated);
  const RecordingReader reader = RecordingReader::open(run, Recovery::skip_bad_slots);
  CHECK(reader.problems().gaps == std::vector<vrrl::StreamGap>{{"s", 16, 96}});
  const Replayed got = replay(run, Recovery::skip_bad_slots);
  CHECK(got.records == joined(keys(0, 0, 5), keys(105, 5, 15)));
  CHECK(got.lost == 100);

  // The follower counts the same loss (a poll moves on by one segment at
  // most where a full segment's last slot is empty: see recording.hpp).
  vrrl::RecordingFollower follower(run);
  std::vector<vrrl::FollowedRecord> followed;
  for (int poll = 0; poll < 10 && follower.delivered_total() + follower.lost_total() < 115; ++poll) {
    (void)follower.drain(followed);
  }
  CHECK(follower.delivered_total() == 15);
  CHECK(follower.lost_total() == 100);
  CHECK(followed.size() == 15);
}

TEST_CASE("a reopened writer continues after a skip, reusing no skipped sequence", "[recording][skip]") {
  TempDir dir;
  const auto run = dir.file("run");
  const std::uint64_t skip = GENERATE(3, 11, 27, 100, 107);  // inside, to the end, next segment, gap, gap to an end
  {
    Recording recording = Recording::open(run, small_segments(capacity));
    StreamWriter writer = recording.stream("s");
    append_range(writer, 0, 5);
    writer.skip(skip);
  }
  {
    Recording recording = Recording::open(run, small_segments(capacity));
    StreamWriter writer = recording.stream("s");
    CHECK(writer.appended() == 5 + skip);
    append_range(writer, 5, 8);
  }
  const Replayed got = replay(run, Recovery::skip_bad_slots);
  CHECK(got.records == joined(keys(0, 0, 5), keys(5 + skip, 5, 8)));
  CHECK(got.lost == skip);
}

TEST_CASE("skip clears an older record past the cursor instead of bringing it back", "[recording][skip]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(capacity));
    StreamWriter writer = recording.stream("s");
    append_range(writer, 0, 8);
  }
  // A segment cut back to 5 (a power cut before the cursor reached the disk,
  // a recycled segment's past): slots 5 .. 7 still hold records.
  vrrl::test::set_cursor(run / "s" / segment_name(0), 5);
  {
    Recording recording = Recording::open(run, small_segments(capacity));
    StreamWriter writer = recording.stream("s");
    REQUIRE(writer.appended() == 5);
    writer.skip(3);
    append_range(writer, 8, 9);
  }
  const Replayed got = replay(run);
  CHECK(got.records == joined(keys(0, 0, 5), keys(8, 8, 9)));
  CHECK(got.lost == 3);
}

TEST_CASE("a skip past the cursor limit is refused and changes nothing", "[recording][skip]") {
  TempDir dir;
  const auto run = dir.file("run");
  Recording recording = Recording::open(run, small_segments(capacity));
  StreamWriter writer = recording.stream("s");
  append_range(writer, 0, 5);
  const vrrl::Error refused = expect_error([&] { writer.skip(vrrl::format::max_cursor); });
  CHECK(refused.kind() == ErrorKind::capacity_overflow);
  CHECK(std::string(refused.what()).find("Fix:") != std::string::npos);
  CHECK(writer.appended() == 5);
  append_range(writer, 5, 6);
  CHECK(writer.appended() == 6);
}

TEST_CASE("skip refuses a recording with sync_every, and changes nothing", "[recording][skip]") {
  TempDir dir;
  TempDir live;
  const auto run = dir.file("run");
  vrrl::RecordingOptions options = small_segments(capacity);
  options.sync_every = std::chrono::milliseconds(50);
  options.live_directory = live.path();
  Recording recording = Recording::open(run, options);
  StreamWriter writer = recording.stream("s");
  append_range(writer, 0, 5);
  const vrrl::Error refused = expect_error([&] { writer.skip(3); });
  CHECK(refused.kind() == ErrorKind::io);
  CHECK(std::string(refused.what()).find("sync_every") != std::string::npos);
  CHECK(writer.appended() == 5);
}
