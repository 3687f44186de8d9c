// kill -9 at random moments: a forked child writes several streams from
// several threads into a recording with small segments (a roll every few
// dozen appends, preparations and recycling in flight all the time) until
// SIGKILL. After every kill the parent checks each stream and the merge:
// every stream a prefix of what was appended (retention aside), every
// completed append present, none torn, the merge sorted; and the next child
// continues each stream where it ended.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include <vrrl/recording.hpp>

#include "recording_support.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::Recording;
using vrrl::RecordingReader;
using vrrl::StreamWriter;

constexpr std::uint32_t threads = 3;
constexpr std::uint64_t capacity = 32;

// Shared with the child: how many appends of each stream have returned.
struct ChildProgress {
  std::atomic<std::uint64_t> completed[threads];
  std::atomic<std::uint32_t> started;
};

[[noreturn]] void append_until_killed(const std::filesystem::path& run, const vrrl::RecordingOptions& options,
                                      ChildProgress* progress) {
  try {
    Recording recording = Recording::open(run, options);
    std::vector<std::thread> workers;
    for (std::uint32_t t = 0; t < threads; ++t) {
      workers.emplace_back([&recording, progress, t] {
        try {
          StreamWriter writer = recording.stream("t" + std::to_string(t));
          progress->started.fetch_add(1, std::memory_order_release);
          for (std::uint64_t n = writer.appended();; ++n) {
            const auto record = vrrl::test::make_record(vrrl::test::RecordKey{t, n});
            writer.append(record.slot, record.evidence);
            // Release: the parent must not see the count before the append's stores.
            progress->completed[t].store(n + 1, std::memory_order_release);
          }
        } catch (...) {
          ::_exit(4);
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
  } catch (...) {
    ::_exit(3);
  }
  ::_exit(5);
}

void kill_loop(const vrrl::RecordingOptions& options, int kills) {
  vrrl::test::TempDir dir;
  const auto run = dir.file("run");
  void* shared = ::mmap(nullptr, sizeof(ChildProgress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(shared != MAP_FAILED);
  auto* progress = new (shared) ChildProgress{};
  { Recording create = Recording::open(run, options); }  // a kill inside the first open leaves no recording to check

  std::mt19937 random(20261201);  // fixed seed: the same kill delays every run
  std::uniform_int_distribution<int> delay_us(0, 4000);
  std::uint64_t previous[threads] = {};
  std::set<std::pair<std::uint32_t, std::uint64_t>> unfinished;  // appends killed after their cursor store
  std::uint64_t total_checked = 0;
  int runs_with_progress = 0;

  for (int kill_number = 0; kill_number < kills; ++kill_number) {
    for (std::uint32_t t = 0; t < threads; ++t) progress->completed[t].store(previous[t], std::memory_order_relaxed);
    progress->started.store(0, std::memory_order_relaxed);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) append_until_killed(run, options, progress);

    // Some kills land while the child opens the recording and its streams;
    // most after every thread has appended a little.
    const bool early = kill_number % 10 == 0;
    while (!early && progress->started.load(std::memory_order_acquire) < threads) {
      int status = 0;
      if (::waitpid(child, &status, WNOHANG) == child) FAIL("child exited early, status " << status);
      std::this_thread::yield();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO("kill " << kill_number << ", child status " << status);
    REQUIRE(WIFSIGNALED(status));

    const RecordingReader reader = RecordingReader::open(run);
    std::uint64_t completed[threads];
    bool any_progress = false;
    for (std::uint32_t t = 0; t < threads; ++t) {
      completed[t] = progress->completed[t].load(std::memory_order_acquire);
      any_progress = any_progress || completed[t] > previous[t];
    }
    if (any_progress) ++runs_with_progress;

    // Each stream: contiguous sequences whose records are the appends they
    // name; its end is the completed count or one more (killed between the
    // cursor and magic stores of the next append); all of its completed
    // appends since the oldest retained one are there.
    for (std::uint32_t t = 0; t < threads; ++t) {
      const std::string name = "t" + std::to_string(t);
      const auto info = std::find_if(reader.stream_info().begin(), reader.stream_info().end(),
                                     [&](const vrrl::StreamInfo& i) { return i.name == name; });
      if (info == reader.stream_info().end()) {
        REQUIRE(completed[t] == 0);
        continue;
      }
      const std::uint64_t end = info->end_sequence;
      INFO("stream " << name << ": completed " << completed[t] << ", end " << end);
      REQUIRE((end == completed[t] || end == completed[t] + 1));
      std::vector<std::uint64_t> sequences;
      for (const vrrl::test::Seen& r : vrrl::test::collect(reader.replay(name))) {
        REQUIRE(r.self_consistent);
        REQUIRE(r.key == vrrl::test::RecordKey{t, r.sequence});
        REQUIRE((sequences.empty() || r.sequence > sequences.back()));
        sequences.push_back(r.sequence);
      }
      if (end == completed[t] + 1 && !std::binary_search(sequences.begin(), sequences.end(), completed[t])) {
        unfinished.insert({t, completed[t]});
      }
      const std::uint64_t oldest = info->first_sequence;
      for (std::uint64_t n = oldest; n < completed[t]; ++n) {
        if (unfinished.count({t, n}) == 0) REQUIRE(std::binary_search(sequences.begin(), sequences.end(), n));
      }
      if (options.retain_segments != 0) {
        // The newest retain_segments segments holding records are all there
        // (what the policy keeps is never lost); older ones may linger for
        // the few milliseconds the background thread takes to remove them.
        const std::uint64_t newest_first = end == 0 ? 0 : (end - 1) / capacity * capacity;
        const std::uint64_t kept_from = newest_first >= (options.retain_segments - 1) * capacity
                                            ? newest_first - (options.retain_segments - 1) * capacity
                                            : 0;
        REQUIRE(oldest <= kept_from);
        CHECK(end - oldest <= (options.retain_segments + 8) * capacity);
      } else {
        REQUIRE(oldest == 0);
      }
      total_checked += sequences.size();
      previous[t] = end;  // the next child continues there
    }

    // The merge: every record of every stream once, sorted, none torn.
    std::uint64_t merged = 0;
    std::uint64_t last_timestamp = 0;
    for (const vrrl::StreamRecord& item : reader.replay()) {
      REQUIRE(vrrl::test::check_record(item.record.slot(), item.record.failure()));
      REQUIRE(item.record.timestamp_ns() >= last_timestamp);
      last_timestamp = item.record.timestamp_ns();
      ++merged;
    }
    std::uint64_t per_stream = 0;
    for (const vrrl::StreamInfo& info : reader.stream_info()) {
      for (const vrrl::test::Seen& r : vrrl::test::collect(reader.replay(info.name))) {
        (void)r;
        ++per_stream;
      }
    }
    REQUIRE(merged == per_stream);
  }
  INFO(total_checked << " records checked");
  CHECK(runs_with_progress >= kills * 8 / 10);
  ::munmap(shared, sizeof(ChildProgress));
}

}  // namespace

TEST_CASE("kill -9 of a multi-threaded writer at random moments keeps every stream a prefix, none torn",
          "[recording][crash]") {
  auto options = vrrl::test::small_segments(capacity);
  kill_loop(options, 200);
}

TEST_CASE("kill -9 with retention and recycling in flight keeps the newest segments intact", "[recording][crash]") {
  auto options = vrrl::test::small_segments(capacity);
  options.retain_segments = 3;
  kill_loop(options, 200);
}
