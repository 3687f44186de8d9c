// kill -9 at random moments: a forked child appends self-checking records
// (support/self_checking_record.hpp: a record mixing two appends fails) into
// a small (wrapping) log until SIGKILL; after every kill the parent reopens the
// log and checks that replay holds every record whose append() returned,
// oldest first, in increasing order, with no torn or invented record.
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

#include <vrrl/ring_log.hpp>

#include "support/self_checking_record.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::RecordedSlot;
using vrrl::RingLog;

// Shared with the child: how many appends have returned.
struct ChildProgress {
  std::atomic<std::uint64_t> completed;
};

[[noreturn]] void append_until_killed(const std::filesystem::path& path, std::uint64_t capacity, vrrl::Format format,
                                      ChildProgress* progress) {
  try {
    RingLog log = RingLog::open(path, capacity, {.format = format});
    for (std::uint64_t n = log.appended();; ++n) {
      vrrl::test::append_record(log, n);
      // Release: the parent must not see the count before the append's stores.
      progress->completed.store(n + 1, std::memory_order_release);
    }
  } catch (...) {
    ::_exit(3);
  }
}

}  // namespace

TEST_CASE("kill -9 at random moments never loses a completed append or shows a torn one", "[crash]") {
  const vrrl::Format format = GENERATE(vrrl::Format::v1, vrrl::Format::v2);
  CAPTURE(static_cast<int>(format));
  vrrl::test::TempDir dir;
  const auto path = dir.file("crash.vrrl");
  constexpr std::uint64_t capacity = 61;  // prime, small: the child wraps many times per run
  constexpr int kills = 300;

  void* shared = ::mmap(nullptr, sizeof(ChildProgress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(shared != MAP_FAILED);
  auto* progress = new (shared) ChildProgress{};

  std::mt19937 random(20261129);  // fixed seed: the same kill delays every run
  std::uniform_int_distribution<int> delay_us(0, 3000);
  std::uint64_t previous_completed = 0;
  std::set<std::uint64_t> unfinished;  // appends a kill cut short after their cursor store
  int wrapped_runs = 0;

  for (int kill_number = 0; kill_number < kills; ++kill_number) {
    progress->completed.store(previous_completed, std::memory_order_relaxed);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) append_until_killed(path, capacity, format, progress);

    // Wait for the child to make progress, then kill it at a random moment.
    while (progress->completed.load(std::memory_order_acquire) == previous_completed) {
      int status = 0;
      if (::waitpid(child, &status, WNOHANG) == child) FAIL("child exited early, status " << status);
      std::this_thread::yield();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));

    const std::uint64_t completed = progress->completed.load(std::memory_order_acquire);
    RingLog log = RingLog::open(path, capacity);  // the lock died with the child
    REQUIRE(log.format() == format);              // opened as what it is
    // The cursor is at the last completed append, or one past it when the
    // kill landed inside the next append after its cursor store.
    const std::uint64_t appended = log.appended();
    INFO("kill " << kill_number << ": completed " << completed << ", header cursor " << appended);
    REQUIRE((appended == completed || appended == completed + 1));

    // Replay: increasing sequence numbers, only from the last `capacity`
    // appends, every completed one present. The one gap allowed is an append
    // that a kill interrupted after its cursor store (then and in later runs).
    std::vector<std::uint64_t> seen;
    auto replay = log.replay();
    for (vrrl::RecordView view : replay) {
      const std::uint64_t n = view.timestamp_ns();
      REQUIRE(vrrl::test::is_record_of(view, n));
      REQUIRE((seen.empty() || n > seen.back()));
      REQUIRE(n + capacity >= appended);
      REQUIRE(n < appended);
      seen.push_back(n);
    }
    REQUIRE(replay.report().clean());
    REQUIRE(replay.report().stale_records == 0);
    const bool interrupted_after_cursor = appended == completed + 1;
    if (interrupted_after_cursor && !std::binary_search(seen.begin(), seen.end(), completed)) {
      unfinished.insert(completed);
    }
    const std::uint64_t oldest_kept = completed >= capacity ? completed - capacity + 1 : 0;
    for (std::uint64_t n = oldest_kept; n < completed; ++n) {
      if (unfinished.count(n) == 0) REQUIRE(std::binary_search(seen.begin(), seen.end(), n));
    }
    if (completed > capacity) ++wrapped_runs;
    previous_completed = appended;
  }
  CHECK(wrapped_runs == kills);
  ::munmap(shared, sizeof(ChildProgress));
}
