// RecordingFollower: deterministic poll() cases first (the watermark with
// streams that never go idle, new segments and streams, gaps, a killed
// writer's last record), then a writer in another process appending at full
// speed with small segments and retention while this one follows.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include <vrrl/recording.hpp>

#include "recording_support.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::FollowedRecord;
using vrrl::Recording;
using vrrl::RecordingFollower;
using vrrl::RecordingFollowerOptions;
using vrrl::RecordingPollResult;
using vrrl::StreamWriter;
using vrrl::test::append_at;
using vrrl::test::append_keys;
using vrrl::test::segment_name;
using vrrl::test::small_segments;
using vrrl::test::TempDir;

// Streams never count as idle: the watermark alone decides.
RecordingFollowerOptions never_idle() {
  RecordingFollowerOptions options;
  options.idle_after = std::chrono::hours(1);
  return options;
}

using Pair = std::pair<std::uint64_t, std::string>;  // timestamp, stream

std::vector<Pair> pairs(const std::vector<FollowedRecord>& records) {
  std::vector<Pair> out;
  for (const FollowedRecord& r : records) out.emplace_back(r.slot.timestamp_ns, std::string(r.stream));
  return out;
}

}  // namespace

TEST_CASE("records are released merged, once every other stream has passed their timestamp",
          "[recording][follower]") {
  TempDir dir;
  const auto run = dir.file("run");
  Recording recording = Recording::open(run, small_segments(4));
  StreamWriter a = recording.stream("a");
  StreamWriter b = recording.stream("b");
  RecordingFollower follower(run, never_idle());
  std::vector<FollowedRecord> out;

  CHECK(follower.poll(out) == RecordingPollResult{});
  for (const std::uint64_t ts : {1u, 3u, 5u}) append_at(a, ts);
  // b has read nothing yet and is not idle: it may still write anything.
  CHECK(follower.poll(out) == RecordingPollResult{.held = 3});
  for (const std::uint64_t ts : {2u, 4u}) append_at(b, ts);
  CHECK(follower.poll(out) == RecordingPollResult{.delivered = 4, .held = 1});
  CHECK(pairs(out) == std::vector<Pair>{{1, "a"}, {2, "b"}, {3, "a"}, {4, "b"}});
  append_at(b, 5);  // ties: a before b, so a's 5 may go; b's 5 waits for a
  out.clear();
  CHECK(follower.poll(out) == RecordingPollResult{.delivered = 1, .held = 1});
  CHECK(pairs(out) == std::vector<Pair>{{5, "a"}});
  out.clear();
  CHECK(follower.drain(out) == RecordingPollResult{.delivered = 1});
  CHECK(pairs(out) == std::vector<Pair>{{5, "b"}});
  CHECK(follower.delivered_total() == 6);
  CHECK(follower.lost_total() == 0);
}

TEST_CASE("an idle stream does not hold the others back", "[recording][follower]") {
  TempDir dir;
  const auto run = dir.file("run");
  Recording recording = Recording::open(run, small_segments(4));
  StreamWriter a = recording.stream("a");
  StreamWriter quiet = recording.stream("quiet");
  RecordingFollowerOptions options;
  options.idle_after = std::chrono::nanoseconds(0);  // everyone is idle at once
  RecordingFollower follower(run, options);
  for (std::uint64_t ts = 0; ts < 10; ++ts) append_at(a, ts);
  std::vector<FollowedRecord> out;
  CHECK(follower.poll(out) == RecordingPollResult{.delivered = 10});
}

TEST_CASE("the follower moves through segments, finds new streams, and max_records bounds a poll",
          "[recording][follower]") {
  TempDir dir;
  const auto run = dir.file("run");
  Recording recording = Recording::open(run, small_segments(4));
  RecordingFollower follower(run, never_idle());
  std::vector<FollowedRecord> out;
  CHECK(follower.streams().empty());
  StreamWriter a = recording.stream("a");
  append_keys(a, 0, 0, 30);  // 8 segments
  CHECK(follower.poll(out, 10) == RecordingPollResult{.delivered = 10, .held = 20, .new_streams = 1});
  CHECK(follower.poll(out) == RecordingPollResult{.delivered = 20});
  StreamWriter b = recording.stream("b");
  append_keys(b, 1, 0, 5);
  CHECK(follower.poll(out).new_streams == 1);
  CHECK(follower.streams() == std::vector<std::string>{"a", "b"});
  std::map<std::string, std::uint64_t> next;
  for (const FollowedRecord& r : out) {
    const auto key = vrrl::test::check_record(r.slot, r.evidence);
    REQUIRE(key);
    REQUIRE(key->index == r.sequence);
    REQUIRE(r.sequence == next[std::string(r.stream)]++);
  }
  CHECK(next["a"] == 30);
}

TEST_CASE("from_now skips what is there; a segment missing ahead of the follower is counted as lost",
          "[recording][follower]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter a = recording.stream("a");
    append_keys(a, 0, 0, 14);
  }
  RecordingFollowerOptions options = never_idle();
  options.from_now = true;
  RecordingFollower late(run, options);
  RecordingFollower early(run, never_idle());
  std::filesystem::remove(run / "a" / segment_name(4));
  std::vector<FollowedRecord> out;
  CHECK(late.poll(out) == RecordingPollResult{});
  CHECK(early.poll(out) == RecordingPollResult{.delivered = 10, .lost = 4});
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter a = recording.stream("a");
    append_keys(a, 0, 14, 3);
  }
  out.clear();
  CHECK(late.poll(out) == RecordingPollResult{.delivered = 3});
  CHECK(out.front().sequence == 14);
}

TEST_CASE("the last record of a full segment that never completed is lost once the next segment is used",
          "[recording][follower]") {
  TempDir dir;
  const auto run = dir.file("run");
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter a = recording.stream("a");
    append_keys(a, 0, 0, 4);
  }
  // A writer killed between the cursor and magic stores of sequence 3.
  vrrl::test::set_magic(run / "a" / segment_name(0), 3, 0);
  RecordingFollower follower(run, never_idle());
  std::vector<FollowedRecord> out;
  CHECK(follower.poll(out) == RecordingPollResult{.delivered = 3});
  CHECK(follower.poll(out) == RecordingPollResult{});  // it may still complete
  {
    Recording recording = Recording::open(run, small_segments(4));
    StreamWriter a = recording.stream("a");
    CHECK(a.appended() == 4);
    append_keys(a, 0, 4, 2);
  }
  CHECK(follower.poll(out) == RecordingPollResult{.delivered = 2, .lost = 1});
}

TEST_CASE("a writer process at full speed, small segments, retention: every record once, lost exact",
          "[recording][follower][live]") {
  for (const std::uint64_t retain : {std::uint64_t{0}, std::uint64_t{2}}) {
    DYNAMIC_SECTION("retain_segments " << retain) {
      TempDir dir;
      const auto run = dir.file("run");
      auto options = small_segments(1024);
      options.retain_segments = retain;
      constexpr std::uint32_t streams = 2;
      constexpr std::uint64_t per_stream = 200'000;
      { Recording create = Recording::open(run, options); }
      RecordingFollower follower(run, never_idle());
      int go[2];
      REQUIRE(::pipe(go) == 0);
      const pid_t child = ::fork();
      REQUIRE(child >= 0);
      if (child == 0) {
        ::close(go[1]);
        char byte;
        if (::read(go[0], &byte, 1) != 1) ::_exit(3);
        try {
          Recording recording = Recording::open(run, options);
          std::vector<StreamWriter> writers;
          for (std::uint32_t s = 0; s < streams; ++s) writers.push_back(recording.stream("w" + std::to_string(s)));
          for (std::uint64_t n = 0; n < per_stream; ++n) {
            for (std::uint32_t s = 0; s < streams; ++s) {
              vrrl::test::append_keyed(writers[s], s, static_cast<std::uint32_t>(n), n * streams + s);
            }
          }
          ::_exit(0);
        } catch (...) {
          ::_exit(2);
        }
      }
      ::close(go[0]);
      REQUIRE(::write(go[1], "g", 1) == 1);
      ::close(go[1]);

      std::map<std::string, std::uint64_t> next;
      std::uint64_t delivered = 0;
      std::uint64_t lost = 0;
      std::uint64_t out_of_order = 0;
      std::uint64_t last_timestamp = 0;
      int status = -1;
      bool exited = false;
      std::vector<FollowedRecord> out;
      for (;;) {
        out.clear();
        const RecordingPollResult result = exited ? follower.drain(out) : follower.poll(out);
        for (const FollowedRecord& r : out) {
          const auto key = vrrl::test::check_keyed(r.slot, r.evidence);
          REQUIRE(key);  // never torn
          REQUIRE(key->index == r.sequence);
          std::uint64_t& expected = next[std::string(r.stream)];
          REQUIRE(r.sequence >= expected);  // each record once, in order within its stream
          expected = r.sequence + 1;
          if (r.slot.timestamp_ns < last_timestamp) ++out_of_order;
          last_timestamp = r.slot.timestamp_ns;
        }
        delivered += result.delivered;
        lost += result.lost;
        if (result.delivered == 0 && result.lost == 0) {
          if (exited) break;
          if (::waitpid(child, &status, WNOHANG) == child) exited = true;
          ::sched_yield();
        }
      }
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      INFO("delivered " << delivered << ", lost " << lost);
      CHECK(delivered + lost == streams * per_stream);
      CHECK(delivered == follower.delivered_total());
      CHECK(lost == follower.lost_total());
      CHECK(out_of_order == 0);  // the watermark held: the streams' interleaved timestamps came out sorted
      if (retain == 0) CHECK(lost == 0);
      for (std::uint32_t s = 0; s < streams; ++s) CHECK(next["w" + std::to_string(s)] == per_stream);
    }
  }
}
