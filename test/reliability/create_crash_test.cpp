// kill -9 while a log is being created. The file is built under a temporary
// name and linked into place only when complete, so after a kill at any
// moment the log path either does not exist or is a complete, empty, valid
// log. A kill before the link can leave the temporary (`<path>.creating.*`)
// behind: harmless, and safe to delete.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "fault_support.hpp"
#include "support/temp_dir.hpp"

TEST_CASE("kill -9 during create: the log is absent or complete, never half-made", "[reliability][create]") {
  constexpr int kills = 60;
  constexpr std::uint64_t capacity = 65'536;  // 4 MiB: creating takes long enough to be hit mid-way
  // Kill within the first half of a (first, slowest) create; later creates are quicker.
  std::chrono::microseconds create_time{};
  {
    vrrl::test::TempDir dir;
    const auto start = std::chrono::steady_clock::now();
    (void)vrrl::RingLog::open(dir.file("timing.vrrl"), capacity);
    create_time = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  }
  std::mt19937 random(1129);
  std::uniform_int_distribution<long> delay_us(0, create_time.count() / 2 + 200);
  int absent = 0, complete = 0, leftovers = 0;
  for (int kill_number = 0; kill_number < kills; ++kill_number) {
    vrrl::test::TempDir dir;
    const auto path = dir.file("new.vrrl");
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        (void)vrrl::RingLog::open(path, capacity);
      } catch (...) {
        ::_exit(3);
      }
      ::pause();  // created: wait for the kill
      ::_exit(0);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));

    CAPTURE(kill_number);
    if (std::filesystem::exists(path)) {
      const vrrl::LogReader reader = vrrl::LogReader::open(path);
      CHECK(reader.capacity() == capacity);
      CHECK(reader.appended() == 0);
      CHECK(reader.replay_all().empty());
      ++complete;
    } else {
      ++absent;
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      if (entry.path() != path) {
        CHECK_THAT(entry.path().filename().string(), Catch::StartsWith("new.vrrl.creating."));
        ++leftovers;
      }
    }
    // A writer after the crash creates or opens the log as usual.
    vrrl::RingLog log = vrrl::RingLog::open(path, capacity);
    log.append(vrrl::test::make_record(0).slot);
    CHECK(log.replay_all().size() == 1);
  }
  WARN(kills << " kills during create (a create takes " << create_time.count() << " us): " << absent << " left no log, " << complete << " a complete one, "
             << leftovers << " left a temporary file behind");
  CHECK(absent + complete == kills);
}
