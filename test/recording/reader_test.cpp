// RecordingReader: the merge order, one stream, starting at a timestamp, the
// lifetimes, and every way a recording directory can be wrong (one case
// per fault, strict first, then what Recovery::skip_bad_slots reads).
#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <thread>
#include <tuple>

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
using vrrl::test::append_at;
using vrrl::test::append_keys;
using vrrl::test::collect;
using vrrl::test::expect_error;
using vrrl::test::segment_name;
using vrrl::test::small_segments;
using vrrl::test::TempDir;

using Triple = std::tuple<std::uint64_t, std::string, std::uint64_t>;  // timestamp, stream, sequence

std::vector<Triple> triples(const std::vector<vrrl::test::Seen>& records) {
  std::vector<Triple> out;
  for (const vrrl::test::Seen& r : records) out.emplace_back(r.timestamp, r.stream, r.sequence);
  return out;
}

// Python's test recording (test/python/test_recording.py), written by the C++ writer.
void write_three_streams(const std::filesystem::path& run) {
  Recording recording = Recording::open(run, small_segments(2));
  StreamWriter a = recording.stream("a");
  StreamWriter b = recording.stream("b");
  StreamWriter w = recording.stream("worker-3");
  for (const std::uint64_t ts : {10u, 20u, 20u, 30u}) append_at(a, ts);
  for (const std::uint64_t ts : {5u, 20u, 25u}) append_at(b, ts);
  append_at(w, 20);
}

// A recording with `streams` streams of `records` records each, timestamps
// non-decreasing per stream with many ties across streams.
std::vector<Triple> write_random(const std::filesystem::path& run, std::uint32_t streams, std::uint64_t records,
                                 std::uint64_t capacity, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<Triple> expected;
  Recording recording = Recording::open(run, small_segments(capacity));
  for (std::uint32_t s = 0; s < streams; ++s) {
    const std::string name = "s" + std::to_string(s);
    StreamWriter writer = recording.stream(name);
    std::uint64_t ts = random() % 4;
    for (std::uint64_t n = 0; n < records; ++n) {
      if (random() % 3 != 0) ts += random() % (random() % 8 == 0 ? 64 : 3);  // runs and ties
      append_at(writer, ts, s, n);
      expected.emplace_back(ts, name, n);
    }
  }
  std::sort(expected.begin(), expected.end());
  return expected;
}

}  // namespace

TEST_CASE("merged by timestamp, ties by stream name, then by sequence", "[recording][reader]") {
  TempDir dir;
  const auto run = dir.file("run");
  write_three_streams(run);
  const RecordingReader reader = RecordingReader::open(run);
  CHECK(reader.streams() == std::vector<std::string>{"a", "b", "worker-3"});
  CHECK(reader.segment_capacity() == 2);
  auto replay = reader.replay();
  const std::vector<Triple> expected = {{5, "b", 0},  {10, "a", 0},       {20, "a", 1}, {20, "a", 2},
                                        {20, "b", 1}, {20, "worker-3", 0}, {25, "b", 2}, {30, "a", 3}};
  CHECK(triples(collect(replay)) == expected);
  CHECK(replay.report().records == 8);
  CHECK(replay.report().lost == 0);
  CHECK(reader.stream_info()[0].end_sequence == 4);
  CHECK(reader.stream_info()[1].segments >= 2);
  CHECK(reader.problems().empty());
  // The stream index is the position in streams().
  for (const vrrl::StreamRecord& item : reader.replay()) CHECK(reader.streams()[item.stream] == item.stream_name);
}

TEST_CASE("the merge equals sorting everything, for 1 to 8 streams", "[recording][reader]") {
  for (std::uint32_t streams : {1u, 2u, 3u, 5u, 8u}) {
    for (std::uint32_t seed : {1u, 2u}) {
      TempDir dir;
      INFO(streams << " streams, seed " << seed);
      const std::vector<Triple> expected = write_random(dir.file("run"), streams, 300, 7, seed);
      const RecordingReader reader = RecordingReader::open(dir.file("run"));
      const std::vector<vrrl::test::Seen> got = collect(reader.replay());
      CHECK(triples(got) == expected);
      for (const vrrl::test::Seen& r : got) REQUIRE(r.epoch == r.sequence);  // the record its sequence names
    }
  }
}

TEST_CASE("one stream: in sequence order; an unknown name says which exist", "[recording][reader]") {
  TempDir dir;
  const auto run = dir.file("run");
  write_three_streams(run);
  const RecordingReader reader = RecordingReader::open(run);
  CHECK(triples(collect(reader.replay("a"))) ==
        std::vector<Triple>{{10, "a", 0}, {20, "a", 1}, {20, "a", 2}, {30, "a", 3}});
  const vrrl::Error error = expect_error([&] { (void)reader.replay("nope"); });
  CHECK(error.kind() == ErrorKind::invalid_name);
  CHECK(std::string(error.what()).find("its streams are: a, b, worker-3") != std::string::npos);
}

TEST_CASE("replay_from starts at the first record at or after a timestamp, in every stream", "[recording][reader]") {
  TempDir dir;
  const auto run = dir.file("run");
  const std::vector<Triple> all = write_random(run, 3, 500, 16, 7);
  const RecordingReader reader = RecordingReader::open(run);
  const std::uint64_t last = std::get<0>(all.back());
  for (const std::uint64_t from : {std::uint64_t{0}, std::uint64_t{1}, last / 3, last / 2, last, last + 1}) {
    INFO("from " << from);
    std::vector<Triple> expected;
    for (const Triple& t : all) {
      if (std::get<0>(t) >= from) expected.push_back(t);
    }
    auto replay = reader.replay_from(from);
    CHECK(triples(collect(replay)) == expected);
    CHECK(replay.report().lost == 0);
    std::vector<Triple> one;
    for (const Triple& t : expected) {
      if (std::get<1>(t) == "s1") one.push_back(t);
    }
    CHECK(triples(collect(reader.replay_from("s1", from))) == one);
  }
}

TEST_CASE("a replay keeps one segment open per stream, and views stay valid while their segment is open",
          "[recording][reader]") {
  TempDir dir;
  const auto run = dir.file("run");
  (void)write_random(run, 3, 2000, 8, 3);  // 250 segments per stream
  const RecordingReader reader = RecordingReader::open(run);
  const std::size_t before = vrrl::test::open_descriptors();
  std::size_t most = 0;
  std::uint64_t count = 0;
  {
    auto replay = reader.replay();
    for (auto it = replay.begin(); it != replay.end();) {
      const vrrl::StreamRecord item = *it;
      const vrrl::RecordedSlot copy = item.record.slot();
      ++it;  // the view stays valid at least until this increment, and the next look agrees
      CHECK(item.record.slot() == copy);
      most = std::max(most, vrrl::test::open_descriptors());
      ++count;
    }
  }
  CHECK(count == 6000);
  CHECK(most <= before + 6);  // two segments per stream, no more
  CHECK(vrrl::test::open_descriptors() == before);  // the range is gone, and with it its segments
}

TEST_CASE("begin() restarts the walk; an empty recording and an empty stream replay nothing", "[recording][reader]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter empty = recording.stream("empty");
    StreamWriter full = recording.stream("full");
    append_keys(full, 0, 0, 9);
  }
  const RecordingReader reader = RecordingReader::open(run);
  auto replay = reader.replay();
  CHECK(collect(replay).size() == 9);
  CHECK(collect(replay).size() == 9);
  CHECK(collect(reader.replay("empty")).empty());
  CHECK(reader.stream_info()[0].end_sequence == 0);
  TempDir other;
  { Recording recording = Recording::open(other.file("run"), small_segments(4)); }
  CHECK(vrrl::test::read_all(other.file("run")).empty());
}

TEST_CASE("a live writer appends during the replay: each stream is a contiguous prefix, nothing torn",
          "[recording][reader][live]") {
  TempDir dir;
  const auto run = dir.file("run");
  Recording recording = Recording::open(run, small_segments(256));
  std::atomic<bool> done{false};
  StreamWriter writer = recording.stream("live");
  append_keys(writer, 0, 0, 1000);
  std::thread appender([&] {
    for (std::uint64_t n = 1000; !done.load(std::memory_order_relaxed) && n < 300'000; ++n) {
      append_keys(writer, 0, n, 1);
    }
  });
  std::uint64_t reads = 0;
  for (int round = 0; round < 30; ++round) {
    const RecordingReader reader = RecordingReader::open(run);
    std::uint64_t expected = 0;
    auto replay = reader.replay();
    for (const vrrl::StreamRecord& item : replay) {
      const vrrl::test::Seen record = vrrl::test::seen(item);
      REQUIRE(record.self_consistent);
      if (record.sequence != expected) {
        // The newest record of a segment may still be completing (its
        // magic not stored yet): skipped, never torn, never out of order.
        REQUIRE(record.sequence > expected);
      }
      REQUIRE(record.key.index == record.sequence);
      expected = record.sequence + 1;
      ++reads;
    }
    CHECK(expected >= 1000);
  }
  done = true;
  appender.join();
  CHECK(reads > 0);
}

// --- faults -------------------------------------------------------------------

TEST_CASE("metadata faults", "[recording][reader][bad_input]") {
  TempDir dir;
  const auto run = dir.file("run");
  write_three_streams(run);
  const auto metadata = run / "vrrl-recording.txt";
  struct Case {
    std::string text;
    ErrorKind kind;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"", ErrorKind::not_a_recording, "does not start with a `vrrl-recording N` line"},
      {"hello world\n", ErrorKind::not_a_recording, "does not start with a `vrrl-recording N` line"},
      {"vrrl-recording one\n", ErrorKind::not_a_recording, "expected an unsigned integer"},
      {"vrrl-recording 2\n", ErrorKind::header_mismatch, "layout version 2, this vrrl reads version 1"},
      {"vrrl-recording 1\nsegment-format v2\n", ErrorKind::header_mismatch, "format `v2`"},
      {"vrrl-recording 1\nsegment-capacity 0\n", ErrorKind::zero_capacity, "segment-capacity 0"},
      {"vrrl-recording 1\nsegment-capacity 99999999999\n", ErrorKind::capacity_overflow, "outside 1..1048576"},
      {"vrrl-recording 1\nsegment-capacity -2\n", ErrorKind::not_a_recording, "expected an unsigned integer"},
      {"vrrl-recording 1\nretain-bytes 18446744073709551616\n", ErrorKind::not_a_recording,
       "expected an unsigned integer"},
      {std::string("vrrl-recording 1\n\xff\xfe\n"), ErrorKind::not_a_recording, "not UTF-8"},
      {std::string("vrrl-recording 1\n") + std::string(70000, '#'), ErrorKind::not_a_recording, "larger than"},
  };
  for (const Case& c : cases) {
    INFO("metadata " << c.text.substr(0, 60));
    vrrl::test::write_text(metadata, c.text);
    const vrrl::Error error = expect_error([&] { (void)RecordingReader::open(run); });
    CHECK(error.kind() == c.kind);
    CHECK(std::string(error.what()).find(c.says) != std::string::npos);
    CHECK(std::string(error.what()).find("Fix: ") != std::string::npos);
  }
  SECTION("comments, blank lines and unknown keys are fine") {
    vrrl::test::write_text(metadata,
                           "# hello\n\nvrrl-recording 1\n  # indented comment\nsegment-capacity 2\nfuture-key x\n");
    CHECK(vrrl::test::read_all(run).size() == 8);
  }
  SECTION("missing, or a directory") {
    std::filesystem::remove(metadata);
    const vrrl::Error missing = expect_error([&] { (void)RecordingReader::open(run); });
    CHECK(missing.kind() == ErrorKind::not_a_recording);
    CHECK(std::string(missing.what()).find("has no vrrl-recording.txt") != std::string::npos);
    std::filesystem::create_directory(metadata);
    CHECK(expect_error([&] { (void)RecordingReader::open(run); }).kind() == ErrorKind::not_a_recording);
  }
  SECTION("not a directory at all") {
    vrrl::test::write_text(dir.file("plain"), "x");
    CHECK(expect_error([&] { (void)RecordingReader::open(dir.file("plain")); }).kind() ==
          ErrorKind::not_a_recording);
    CHECK(expect_error([&] { (void)RecordingReader::open(dir.file("missing")); }).errno_value() == ENOENT);
  }
}

TEST_CASE("a foreign file in a stream directory, a badly named stream directory", "[recording][reader][bad_input]") {
  TempDir dir;
  const auto run = dir.file("run");
  write_three_streams(run);
  vrrl::test::write_text(run / "a" / "notes.txt", "mine");
  std::filesystem::create_directory(run / "a" / segment_name(100));  // a directory named like a segment
  std::filesystem::create_directory(run / "bad name");
  vrrl::test::write_text(run / "README", "files beside the streams are not the layout's business");
  vrrl::test::write_text(run / "a" / ".hidden", "dotfiles are ignored");

  const vrrl::Error error = expect_error([&] { (void)RecordingReader::open(run); });
  CHECK(error.kind() == ErrorKind::header_mismatch);
  CHECK(std::string(error.what()).find("not a stream directory") != std::string::npos);
  std::filesystem::remove(run / "bad name");
  const vrrl::Error foreign = expect_error([&] { (void)RecordingReader::open(run); });
  CHECK(foreign.kind() == ErrorKind::header_mismatch);
  CHECK(foreign.path() == run / "a" / segment_name(100));
  CHECK(std::string(foreign.what()).find("not a segment") != std::string::npos);

  std::filesystem::create_directory(run / "bad name");
  const RecordingReader reader = RecordingReader::open(run, Recovery::skip_bad_slots);
  CHECK(reader.problems().foreign_files ==
        std::vector<std::filesystem::path>{run / "bad name", run / "a" / segment_name(100), run / "a" / "notes.txt"});
  CHECK(collect(reader.replay()).size() == 8);
}

TEST_CASE("a segment missing in the middle of a stream is a gap", "[recording][reader][bad_input]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter writer = recording.stream("a");
    append_keys(writer, 0, 0, 14);
  }
  std::filesystem::remove(run / "a" / segment_name(4));
  const vrrl::Error error = expect_error([&] { (void)RecordingReader::open(run); });
  CHECK(error.kind() == ErrorKind::truncated);
  CHECK(std::string(error.what()).find("sequences 4..7 of stream `a` are missing") != std::string::npos);

  const RecordingReader reader = RecordingReader::open(run, Recovery::skip_bad_slots);
  CHECK(reader.problems().gaps == std::vector<vrrl::StreamGap>{{"a", 4, 8}});
  auto replay = reader.replay();
  std::vector<std::uint64_t> sequences;
  for (const vrrl::test::Seen& r : collect(replay)) sequences.push_back(r.sequence);
  CHECK(sequences == std::vector<std::uint64_t>{0, 1, 2, 3, 8, 9, 10, 11, 12, 13});
  CHECK(replay.report().lost == 4);
}

TEST_CASE("a damaged segment: truncated, replaced by something else, renamed, wrong capacity",
          "[recording][reader][bad_input]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter writer = recording.stream("a");
    append_keys(writer, 0, 0, 12);
    writer.sync();
  }
  const auto victim = run / "a" / segment_name(4);
  struct Case {
    std::string name;
    std::function<void()> damage;
    ErrorKind kind;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"truncated", [&] { std::filesystem::resize_file(victim, 100); }, ErrorKind::truncated, "need"},
      {"empty", [&] { std::filesystem::resize_file(victim, 0); }, ErrorKind::truncated, "0 bytes"},
      {"not a log", [&] { vrrl::test::write_text(victim, std::string(400, 'x')); }, ErrorKind::header_mismatch,
       "VRRL0001"},
      {"renamed", [&] { std::filesystem::rename(victim, run / "a" / segment_name(5)); }, ErrorKind::header_mismatch,
       "not a multiple of its capacity 4"},
      {"another capacity",
       [&] {
         std::filesystem::remove(victim);
         auto other = vrrl::RingLog::open(victim, 8);
       },
       ErrorKind::header_mismatch, "capacity 8, the recording's metadata says segment-capacity 4"},
      {"a cursor past its end", [&] { vrrl::test::set_cursor(victim, 9); }, ErrorKind::header_mismatch,
       "outside 4..8"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      c.damage();
      const vrrl::Error error = expect_error([&] { (void)RecordingReader::open(run); });
      CHECK(error.kind() == c.kind);
      CHECK(std::string(error.what()).find(c.says) != std::string::npos);
      const RecordingReader reader = RecordingReader::open(run, Recovery::skip_bad_slots);
      CHECK(reader.problems().damaged_segments.size() == 1);
      CHECK(reader.problems().gaps.size() == 1);
      auto replay = reader.replay();
      CHECK(collect(replay).size() == 8);  // the segments around it
      CHECK(replay.report().lost == 4);
    }
  }
}

TEST_CASE("a bad slot magic inside a segment, by recovery mode; an append that never completed",
          "[recording][reader][bad_input]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter writer = recording.stream("a");
    append_keys(writer, 0, 0, 12);
  }
  const auto segment = run / "a" / segment_name(4);
  SECTION("foreign magic") {
    vrrl::test::set_magic(segment, 2, 0x12345678);
    const RecordingReader strict = RecordingReader::open(run);
    const vrrl::Error error = expect_error([&] { (void)collect(strict.replay()); });
    CHECK(error.kind() == ErrorKind::header_mismatch);
    CHECK(error.slot() == 2);
    CHECK(error.path() == segment);

    const RecordingReader skip = RecordingReader::open(run, Recovery::skip_bad_slots);
    auto skipped = skip.replay();
    CHECK(collect(skipped).size() == 11);
    CHECK(skipped.report().bad_slots.size() == 1);
    CHECK(skipped.report().lost == 1);

    const RecordingReader stop = RecordingReader::open(run, Recovery::stop_at_bad_slot);
    auto stopped = stop.replay();
    CHECK(collect(stopped).size() == 6);
    CHECK(stopped.report().stopped_early);
  }
  SECTION("magic 0 below the cursor: a writer killed between its cursor and magic stores") {
    vrrl::test::set_magic(segment, 1, 0);
    const RecordingReader reader = RecordingReader::open(run);
    auto replay = reader.replay();
    std::vector<std::uint64_t> sequences;
    for (const vrrl::test::Seen& r : collect(replay)) sequences.push_back(r.sequence);
    CHECK(sequences == std::vector<std::uint64_t>{0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11});
    CHECK(replay.report().incomplete == 1);
    CHECK(replay.report().lost == 1);
  }
}

TEST_CASE("the reader takes no writer lock and never writes", "[recording][reader]") {
  TempDir dir;
  const auto run = dir.file("run");
  write_three_streams(run);
  const auto before = std::filesystem::last_write_time(run / "a" / segment_name(0));
  Recording recording = Recording::open(run, small_segments(2));
  StreamWriter writer = recording.stream("a");  // a writer while a reader is open is fine
  const RecordingReader reader = RecordingReader::open(run);
  CHECK(collect(reader.replay()).size() == 8);
  CHECK(std::filesystem::last_write_time(run / "a" / segment_name(0)) == before);
}
