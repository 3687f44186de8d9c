// RecordingOptions::sync_every: a recording's streams append into in-memory
// twins of their segments, the recording's background thread copies the
// records to the segments on disk every interval (the same passes as a
// RingLog's, lib/mirror.hpp), StreamWriter::sync() runs a pass, durable()
// counts, and a writer killed at any moment loses nothing: reopening the
// stream catches its segments up from their twins.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <array>

#include <vrrl/recording.hpp>

#include "durability_support.hpp"
#include "support/expect_error.hpp"

namespace {

using vrrl::Recording;
using vrrl::RecordingOptions;
using vrrl::RecordingReader;
using vrrl::StreamWriter;
using vrrl::test::LiveDir;
using vrrl::test::sequence_range;
using Call = vrrl::test::DiskHook::Call;
using namespace std::chrono_literals;

constexpr std::uint64_t segment_slots = 64;

RecordingOptions durable_recording(const LiveDir& live, std::chrono::nanoseconds every = vrrl::test::manual_passes) {
  RecordingOptions options;
  options.segment_capacity = segment_slots;
  options.sync_every = every;
  options.live_directory = live.path();
  return options;
}

// The sequences of stream `name` in the recording on disk, checked record by record.
std::vector<std::uint64_t> stream_on_disk(const std::filesystem::path& dir, const std::string& name) {
  const RecordingReader reader = RecordingReader::open(dir);
  std::vector<std::uint64_t> sequences;
  for (const vrrl::StreamRecord& record : reader.replay(name)) {
    const std::optional<vrrl::test::RecordKey> key =
        vrrl::test::check_record(record.record.slot(), record.record.failure());
    REQUIRE(key.has_value());
    REQUIRE(key->index == record.sequence);
    sequences.push_back(key->index);
  }
  return sequences;
}

}  // namespace

TEST_CASE("recordings with sync_every: the background thread copies the records to the segments on disk",
          "[durability][recording]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, durable_recording(live, 1ms));
    StreamWriter writer = recording.stream("worker-1");
    vrrl::test::append_sequences(writer, 0, 200);  // three rolls
    vrrl::test::wait_until([&] { return writer.durable() == 200; }, "background passes of the recording");
    CHECK(stream_on_disk(run, "worker-1") == sequence_range(0, 200));
    CHECK(live.files().size() <= 2);  // twins of the current segment and of the one prepared ahead
    CHECK(writer.stats().rolls == 3);
    CHECK(!writer.last_error());
  }
  CHECK(live.files().empty());  // a closed writer's segments are all on disk
  CHECK(stream_on_disk(run, "worker-1") == sequence_range(0, 200));
}

TEST_CASE("recordings with sync_every: sync() makes every record appended before it durable",
          "[durability][recording]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto run = dir.file("run");
  Recording recording = Recording::open(run, durable_recording(live));
  StreamWriter first = recording.stream("a");
  StreamWriter second = recording.stream("b");
  vrrl::test::append_sequences(first, 0, 150);
  vrrl::test::append_sequences(second, 0, 30);
  first.sync();
  CHECK(first.durable() == 150);
  CHECK(stream_on_disk(run, "a") == sequence_range(0, 150));
  recording.sync();  // every stream
  CHECK(second.durable() == 30);
  CHECK(stream_on_disk(run, "b") == sequence_range(0, 30));
}

TEST_CASE("recordings with sync_every: a writer killed across rolls loses nothing; reopening catches up",
          "[durability][recording][kill]") {
  // With the closing passes failing, the killed writer leaves twins of full
  // segments as well as of the current one: reopening must catch up all.
  const bool closing_fails = GENERATE(false, true);
  CAPTURE(closing_fails);
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto run = dir.file("run");
  const int status = vrrl::test::run_in_child([&]() -> int {
    Recording recording = Recording::open(run, durable_recording(live));
    StreamWriter writer = recording.stream("w");
    // The flushes of the first segment fail once it is full (its closing
    // pass); every other segment is prepared and written as usual.
    std::optional<vrrl::test::DiskHook> hook;
    if (closing_fails) {
      hook.emplace([](Call call, int fd, const void*, std::size_t, off_t) {
        if (call != Call::fdatasync) return 0;
        std::array<char, 4096> target{};
        const std::string link = "/proc/self/fd/" + std::to_string(fd);
        const ssize_t length = ::readlink(link.c_str(), target.data(), target.size() - 1);
        const std::string name(target.data(), length > 0 ? static_cast<std::size_t>(length) : 0);
        return name.ends_with("/00000000000000000000.vrrl") ? EIO : 0;
      });
    }
    vrrl::test::append_sequences(writer, 0, 300);
    ::raise(SIGKILL);
    return 0;
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(!live.files().empty());
  {
    Recording recording = Recording::open(run, durable_recording(live));
    StreamWriter writer = recording.stream("w");
    CHECK(writer.appended() == 300);
    CHECK(writer.durable() == 300);  // caught up before stream() returned
    CHECK(stream_on_disk(run, "w") == sequence_range(0, 300));
    vrrl::test::append_sequences(writer, 300, 310);
    writer.sync();
    CHECK(stream_on_disk(run, "w") == sequence_range(0, 310));
  }
  CHECK(live.files().empty());
}

TEST_CASE("recordings with sync_every: a failing disk is reported by sync(); the next good pass rewrites",
          "[durability][recording][faults]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto run = dir.file("run");
  Recording recording = Recording::open(run, durable_recording(live));
  StreamWriter writer = recording.stream("w");
  vrrl::test::append_sequences(writer, 0, 40);
  {
    const vrrl::test::DiskHook hook([](Call call, int, const void*, std::size_t, off_t) {
      return call == Call::pwrite ? EIO : 0;
    });
    const vrrl::Error e = vrrl::test::expect_error([&] { writer.sync(); });
    CHECK(e.kind() == vrrl::ErrorKind::io);
    CHECK(e.errno_value() == EIO);
    CHECK(std::string(e.what()).find("Fix:") != std::string::npos);
    CHECK(writer.durable() == 0);
  }
  writer.sync();
  CHECK(writer.durable() == 40);
  CHECK(stream_on_disk(run, "w") == sequence_range(0, 40));
}

TEST_CASE("recordings with sync_every: bad options are errors at open", "[durability][recording]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  RecordingOptions negative = durable_recording(live);
  negative.sync_every = -1ms;
  CHECK(vrrl::test::expect_error([&] { (void)Recording::open(dir.file("a"), negative); }).errno_value() == EINVAL);
  RecordingOptions missing = durable_recording(live);
  missing.live_directory = dir.file("no-such-dir");
  const vrrl::Error e = vrrl::test::expect_error([&] { (void)Recording::open(dir.file("b"), missing); });
  CHECK(e.errno_value() == ENOENT);
  CHECK(std::string(e.what()).find("live directory") != std::string::npos);
}
