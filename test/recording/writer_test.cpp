// The writer: the directory it makes, rolls, reopening, one writer per
// stream, retention, dropping. Each case is one behaviour of
// include/vrrl/recording.hpp; the records are self-checking.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <vrrl/recording.hpp>

#include "recording_support.hpp"
#include "support/expect_error.hpp"
#include "support/seed_model.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::ErrorKind;
using vrrl::LogReader;
using vrrl::Recording;
using vrrl::RecordingReader;
using vrrl::StreamWriter;
using vrrl::test::append_keys;
using vrrl::test::expect_error;
using vrrl::test::header_cursor;
using vrrl::test::read_all;
using vrrl::test::segment_name;
using vrrl::test::segment_names;
using vrrl::test::small_segments;
using vrrl::test::TempDir;

// Segments holding records, in order; at most one empty (prepared) segment
// may follow the newest, which is left out.
std::vector<std::string> used_segments(const std::filesystem::path& stream_dir) {
  std::vector<std::string> used;
  std::size_t empty_after = 0;
  for (const std::string& name : segment_names(stream_dir)) {
    const std::uint64_t first = std::stoull(name.substr(0, 20));
    if (header_cursor(stream_dir / name) > first) {
      REQUIRE(empty_after == 0);  // never an empty segment before a used one
      used.push_back(name);
    } else {
      ++empty_after;
    }
  }
  CHECK(empty_after <= 1);
  return used;
}

// Replays one stream and checks it holds exactly keys (producer, from ..< to) at sequences from ..< to.
void check_stream(const std::filesystem::path& dir, const std::string& stream, std::uint32_t producer,
                  std::uint64_t from, std::uint64_t to) {
  const RecordingReader reader = RecordingReader::open(dir);
  std::uint64_t expected = from;
  for (const vrrl::test::Seen& record : vrrl::test::collect(reader.replay(stream))) {
    REQUIRE(record.self_consistent);
    REQUIRE(record.sequence == expected);
    REQUIRE(record.key == vrrl::test::RecordKey{producer, expected});
    ++expected;
  }
  CHECK(expected == to);
}

}  // namespace

TEST_CASE("a new recording: metadata, one directory per stream, segments named by first sequence",
          "[recording][writer]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(16));
    StreamWriter writer = recording.stream("worker-3");
    append_keys(writer, 0, 0, 40);
    CHECK(writer.appended() == 40);
    CHECK(writer.name() == "worker-3");
    writer.sync();
  }
  const std::string metadata = vrrl::test::read_text(run / "vrrl-recording.txt");
  CHECK(metadata.starts_with("vrrl-recording 1\n"));
  CHECK(metadata.find("\nsegment-format v1\n") != std::string::npos);
  CHECK(metadata.find("\nsegment-capacity 16\n") != std::string::npos);
  CHECK(metadata.find("\nretain-segments 0\n") != std::string::npos);
  CHECK(metadata.find("\nretain-bytes 0\n") != std::string::npos);
  CHECK(std::filesystem::exists(run / "worker-3" / ".writer.lock"));
  CHECK(used_segments(run / "worker-3") ==
        std::vector<std::string>{segment_name(0), segment_name(16), segment_name(32)});
  CHECK(header_cursor(run / "worker-3" / segment_name(0)) == 16);
  CHECK(header_cursor(run / "worker-3" / segment_name(16)) == 32);
  CHECK(header_cursor(run / "worker-3" / segment_name(32)) == 40);
  check_stream(run, "worker-3", 0, 0, 40);
}

TEST_CASE("every segment is an ordinary v1 log: the seed's layout reads each one", "[recording][writer]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(8));
    StreamWriter writer = recording.stream("s");
    append_keys(writer, 0, 0, 27);
  }
  std::uint64_t next = 0;
  for (const std::string& name : used_segments(run / "s")) {
    const auto path = run / "s" / name;
    const std::uint64_t first = std::stoull(name.substr(0, 20));
    CHECK(first == next);
    const LogReader segment = LogReader::open(path);
    CHECK(segment.capacity() == 8);
    // The seed keeps its cursor modulo capacity and replays from there: the
    // same records, in the same order, as vrrl's replay of the file.
    const vrrl::test::SeedReplay seed = vrrl::test::seed_open_and_replay(path);
    REQUIRE_FALSE(seed.error);
    std::vector<std::uint64_t> from_vrrl;
    for (const vrrl::RecordView view : segment.replay()) from_vrrl.push_back(view.epoch());
    std::vector<std::uint64_t> from_seed;
    for (const vrrl::test::SeedRecord& record : seed.records) from_seed.push_back(record.epoch);
    CHECK(from_seed == from_vrrl);
    for (std::uint64_t k = 0; k < from_vrrl.size(); ++k) CHECK(from_vrrl[k] == next + k);
    next += from_vrrl.size();
  }
  CHECK(next == 27);
}

TEST_CASE("reopening continues after the last record and reuses the empty prepared segment", "[recording][writer]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(16));
    StreamWriter writer = recording.stream("a");
    append_keys(writer, 0, 0, 20);
  }
  {
    Recording recording = Recording::open(run, small_segments(16));
    StreamWriter writer = recording.stream("a");
    CHECK(writer.appended() == 20);
    append_keys(writer, 0, 20, 20);
    CHECK(writer.appended() == 40);
  }
  CHECK(used_segments(run / "a") == std::vector<std::string>{segment_name(0), segment_name(16), segment_name(32)});
  check_stream(run, "a", 0, 0, 40);

  SECTION("and when the newest segment is exactly full, in the next one") {
    {
      Recording recording = Recording::open(run, small_segments(16));
      StreamWriter writer = recording.stream("a");
      append_keys(writer, 0, 40, 8);  // segment 32 is full now
    }
    Recording recording = Recording::open(run, small_segments(16));
    StreamWriter writer = recording.stream("a");
    CHECK(writer.appended() == 48);
    append_keys(writer, 0, 48, 1);
    writer.sync();
    CHECK(header_cursor(run / "a" / segment_name(48)) == 49);
    check_stream(run, "a", 0, 0, 49);
  }
}

TEST_CASE("an existing recording keeps its segment capacity; the retention passed is recorded", "[recording][writer]") {
  TempDir dir;
  const auto run = dir.file("run");
  { auto recording = Recording::open(run, small_segments(16)); }
  auto options = small_segments(64);
  options.retain_segments = 3;
  Recording recording = Recording::open(run, options);
  CHECK(recording.options().segment_capacity == 16);
  CHECK(recording.options().retain_segments == 3);
  CHECK(vrrl::test::read_text(run / "vrrl-recording.txt").find("\nretain-segments 3\n") != std::string::npos);
  CHECK(vrrl::test::read_text(run / "vrrl-recording.txt").find("\nsegment-capacity 16\n") != std::string::npos);
}

TEST_CASE("leftovers of a killed writer are deleted at reopen; a foreign file stops it", "[recording][writer]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter writer = recording.stream("a");
    append_keys(writer, 0, 0, 6);
  }
  const auto stream = run / "a";
  vrrl::test::write_text(stream / ".vrrl-4242-0.creating", "half a log");
  vrrl::test::write_text(stream / ".spare.vrrl", "a retired segment");
  vrrl::test::write_text(stream / ".recycling-00000000000000000012.vrrl", "x");
  vrrl::test::write_text(stream / (segment_name(8) + ".creating.4242.1"), "x");
  { (void)vrrl::RingLog::open(stream / segment_name(40), 4); }  // cursor 0, below its name: damaged

  SECTION("leftovers go, and an empty segment far ahead of the stream") {
    vrrl::test::set_cursor(stream / segment_name(40), 40);  // empty, valid: what a preparation leaves
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter writer = recording.stream("a");
    CHECK(writer.appended() == 6);
    CHECK(vrrl::test::hidden_names(stream) == std::vector<std::string>{".writer.lock"});
    CHECK_FALSE(std::filesystem::exists(stream / segment_name(40)));
    append_keys(writer, 0, 6, 3);
    writer.sync();
    check_stream(run, "a", 0, 0, 9);
  }
  SECTION("a damaged segment stops the writer, and nothing is deleted") {
    const vrrl::Error error = expect_error([&] {
      Recording recording = Recording::open(run, small_segments(4));
      (void)recording.stream("a");
    });
    CHECK(error.kind() == ErrorKind::header_mismatch);
    CHECK(std::string(error.what()).find("header cursor 0 is outside 40..44") != std::string::npos);
    CHECK(std::filesystem::exists(stream / ".spare.vrrl"));
  }
  SECTION("a foreign file stops the writer, and nothing is deleted") {
    std::filesystem::remove(stream / segment_name(40));
    vrrl::test::write_text(stream / "notes.txt", "mine");
    const vrrl::Error error = expect_error([&] {
      Recording recording = Recording::open(run, small_segments(4));
      (void)recording.stream("a");
    });
    CHECK(error.kind() == ErrorKind::header_mismatch);
    CHECK(error.path() == stream / "notes.txt");
    CHECK(std::string(error.what()).find("Fix: move it out of the recording") != std::string::npos);
    CHECK(std::filesystem::exists(stream / ".spare.vrrl"));
  }
}

TEST_CASE("one writer per stream: a second one is locked, in this process and across processes",
          "[recording][writer][lock]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(16));
    std::optional<StreamWriter> first = recording.stream("a");

    const vrrl::Error same = expect_error([&] { (void)recording.stream("a"); });
    CHECK(same.kind() == ErrorKind::locked);
    CHECK(std::string(same.what()).find("already has a StreamWriter in this process") != std::string::npos);

    Recording second_recording = Recording::open(run, small_segments(16));
    const vrrl::Error other_recording = expect_error([&] { (void)second_recording.stream("a"); });
    CHECK(other_recording.kind() == ErrorKind::locked);

    // Other streams are free, and the lock goes with the writer.
    StreamWriter other = second_recording.stream("b");
    first.reset();
    StreamWriter again = second_recording.stream("a");
    append_keys(again, 0, 0, 3);
    CHECK(again.appended() == 3);
  }

  // Another process writes the stream. (Forked while this process has no
  // threads: the Recordings above are gone, and with them their background
  // threads.)
  int ready[2];
  int release[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(release) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 0;
    try {
      Recording in_child = Recording::open(run, small_segments(16));
      StreamWriter writer = in_child.stream("a");
      char byte = 'r';
      if (::write(ready[1], &byte, 1) != 1) code = 10;
      if (::read(release[0], &byte, 1) != 1) code = 11;
    } catch (...) {
      code = 12;
    }
    ::_exit(code);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  {
    Recording recording = Recording::open(run, small_segments(16));
    const vrrl::Error elsewhere = expect_error([&] { (void)recording.stream("a"); });
    CHECK(elsewhere.kind() == ErrorKind::locked);
    CHECK(std::string(elsewhere.what()).find("is being written by another process") != std::string::npos);
  }
  REQUIRE(::write(release[1], "g", 1) == 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  for (const int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
  Recording recording = Recording::open(run, small_segments(16));
  StreamWriter after = recording.stream("a");  // free again: the lock died with the writer
  CHECK(after.appended() == 3);
}

TEST_CASE("stream names: what is refused, and why", "[recording][writer][names]") {
  TempDir dir;
  Recording recording = Recording::open(dir.file("run"), small_segments(16));
  struct Case {
    std::string name;
    std::string because;
  };
  const std::vector<Case> refused = {
      {"", "is empty"},
      {"a/b", "contains '/'"},
      {"..", "is `..`"},
      {".", "is `.`"},
      {".hidden", "starts with '.'"},
      {std::string("a\0b", 3), "contains a NUL byte"},
      {"tab\there", "contains a control character"},
      {"new\nline", "contains a control character"},
      {std::string(129, 'x'), "129 bytes long, more than 128"},
      {"\xff\xfe", "is not UTF-8"},
      {"caf\xc3\xa9", "contains a non-ASCII character"},
      {"with space", "contains ' '"},
      {"semi;colon", "contains ';'"},
  };
  for (const Case& c : refused) {
    INFO("name " << c.name);
    const vrrl::Error error = expect_error([&] { (void)recording.stream(c.name); });
    CHECK(error.kind() == ErrorKind::invalid_name);
    CHECK(std::string(error.what()).find(c.because) != std::string::npos);
    CHECK(std::string(error.what()).find("Fix: name streams with") != std::string::npos);
  }
  CHECK(vrrl::test::segment_names(dir.file("run")).size() == 1);  // only the metadata: nothing was created
  for (const std::string& ok : {std::string(128, 'y'), std::string("worker-3"), std::string("a.b_c-D9"),
                               std::string("0")}) {
    StreamWriter writer = recording.stream(ok);
    CHECK(writer.name() == ok);
  }
}

TEST_CASE("a directory that is not a recording", "[recording][writer][bad_input]") {
  TempDir dir;
  SECTION("a file") {
    vrrl::test::write_text(dir.file("file"), "x");
    CHECK(expect_error([&] { (void)Recording::open(dir.file("file")); }).kind() == ErrorKind::not_a_recording);
  }
  SECTION("a directory with other files and no metadata") {
    std::filesystem::create_directory(dir.file("busy"));
    vrrl::test::write_text(dir.file("busy") / "photo.jpg", "x");
    const vrrl::Error error = expect_error([&] { (void)Recording::open(dir.file("busy")); });
    CHECK(error.kind() == ErrorKind::not_a_recording);
    CHECK(std::string(error.what()).find("not empty and has no vrrl-recording.txt") != std::string::npos);
  }
  SECTION("a missing parent directory") {
    const vrrl::Error error = expect_error([&] { (void)Recording::open(dir.file("no") / "such" / "run"); });
    CHECK(error.kind() == ErrorKind::io);
    CHECK(error.errno_value() == ENOENT);
    CHECK(std::string(error.what()).find("create the parent directory") != std::string::npos);
  }
  SECTION("a bad capacity") {
    auto options = small_segments(0);
    CHECK(expect_error([&] { (void)Recording::open(dir.file("r"), options); }).kind() == ErrorKind::zero_capacity);
    options.segment_capacity = vrrl::format::max_capacity + 1;
    CHECK(expect_error([&] { (void)Recording::open(dir.file("r"), options); }).kind() ==
          ErrorKind::capacity_overflow);
  }
  SECTION("an empty directory becomes one") {
    std::filesystem::create_directory(dir.file("empty"));
    Recording recording = Recording::open(dir.file("empty"), small_segments(4));
    CHECK(std::filesystem::exists(dir.file("empty") / "vrrl-recording.txt"));
  }
}

TEST_CASE("streams written from several threads at once are each contiguous", "[recording][writer][threads]") {
  TempDir dir;
  const auto run = dir.file("run");
  constexpr std::uint32_t threads = 4;
  constexpr std::uint64_t per_thread = 5000;
  {
    Recording recording = Recording::open(run, small_segments(256));
    std::vector<std::thread> workers;
    for (std::uint32_t t = 0; t < threads; ++t) {
      workers.emplace_back([&recording, t] {
        StreamWriter writer = recording.stream("t" + std::to_string(t));
        append_keys(writer, t, 0, per_thread);
        writer.sync();
      });
    }
    for (std::thread& worker : workers) worker.join();
    recording.sync();
  }
  for (std::uint32_t t = 0; t < threads; ++t) check_stream(run, "t" + std::to_string(t), t, 0, per_thread);
  CHECK(read_all(run).size() == threads * per_thread);
}

TEST_CASE("Recording::sync from another thread while the writers append", "[recording][writer][threads]") {
  TempDir dir;
  const auto run = dir.file("run");
  Recording recording = Recording::open(run, small_segments(64));
  std::atomic<bool> done{false};
  std::thread syncer([&] {
    while (!done.load(std::memory_order_relaxed)) recording.sync();
  });
  {
    StreamWriter writer = recording.stream("a");
    append_keys(writer, 0, 0, 20000);
  }
  done = true;
  syncer.join();
  check_stream(run, "a", 0, 0, 20000);
}

TEST_CASE("a moved writer keeps appending; a recording destroyed before its writers keeps them working",
          "[recording][writer]") {
  TempDir dir;
  const auto run = dir.file("run");
  std::optional<StreamWriter> writer;
  {
    Recording recording = Recording::open(run, small_segments(8));
    StreamWriter first = recording.stream("a");
    append_keys(first, 0, 0, 5);
    writer.emplace(std::move(first));
  }
  append_keys(*writer, 0, 5, 50);  // rolls: the background thread outlives the Recording
  CHECK(writer->appended() == 55);
  CHECK(writer->stats().rolls == 6);
  CHECK(writer->dropped() == 0);
  writer.reset();
  check_stream(run, "a", 0, 0, 55);
}

TEST_CASE("README.md's recording example, as written there", "[recording][writer][readme]") {
  TempDir dir;
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  const auto now_ns = [] {
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  };
  const int worker = 3;
  std::string printed;
  {
    // --- as in README.md, "Many threads and long runs: recordings" ---
    vrrl::Recording recording = vrrl::Recording::open("run", {.retain_segments = 64});  // a directory
    // in each dispatching thread, its own stream:
    vrrl::StreamWriter writer = recording.stream("worker-" + std::to_string(worker));
    writer.append({.timestamp_ns = now_ns(), .tenant_id = 7, .opcode = 42});  // RingLog's append; rolls by itself
    writer.sync();                                                             // when it must be on disk
    // later, anywhere:
    vrrl::RecordingReader reader = vrrl::RecordingReader::open("run");
    for (const vrrl::StreamRecord& r : reader.replay())  // all streams, by timestamp, zero-copy
      printed += std::string(r.stream_name) + " #" + std::to_string(r.sequence) + " opcode " +
                 std::to_string(r.record.opcode());
  }
  std::filesystem::current_path(previous);
  CHECK(printed == "worker-3 #0 opcode 42");
}
