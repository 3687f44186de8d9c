// One writer per log, and readers that can never make a writer fail. Each
// case is one fault of the second reliability round (docs/design.md, "Faults
// and guarantees"): a lock probe racing a writer's open, a second writer in
// another process, in this process, and in a child after fork().
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fault_support.hpp"
#include "support/temp_dir.hpp"

#include <vrrl/multi_producer.hpp>

namespace {

using vrrl::ErrorKind;
using vrrl::RingLog;
using vrrl::test::expect_error;
using vrrl::test::TempDir;

}  // namespace

TEST_CASE("a lock probe racing a writer's open never makes the open fail", "[reliability][lock]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  { auto create = RingLog::open(path, 8); }
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> probes{0};
  std::thread prober([&] {
    while (!done.load(std::memory_order_relaxed)) {
      (void)vrrl::is_locked_by_writer(path);
      probes.fetch_add(1, std::memory_order_relaxed);
    }
  });
  std::uint64_t failed_opens = 0;
  for (int round = 0; round < 2000; ++round) {
    try {
      auto writer = RingLog::open(path, 8);
      writer.append(vrrl::test::make_record(static_cast<std::uint64_t>(round)).slot);
    } catch (const vrrl::Error&) {
      ++failed_opens;
    }
  }
  done = true;
  prober.join();
  INFO(probes.load() << " probes ran during the 2000 opens");
  CHECK(probes.load() > 0);
  CHECK(failed_opens == 0);
}

TEST_CASE("the probe sees a writer in another process, and the writer's error names it", "[reliability][lock]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  int ready[2];
  int release[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(release) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 0;
    try {
      auto writer = RingLog::open(path, 8);
      char byte = 1;
      (void)!::write(ready[1], &byte, 1);
      (void)!::read(release[0], &byte, 1);  // hold the log until the parent is done
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  CHECK(vrrl::is_locked_by_writer(path));
  const auto e = expect_error([&] { (void)RingLog::open(path, 8); });
  CHECK(e.kind() == ErrorKind::locked);
  CHECK_THAT(e.what(), Catch::Contains("in another process") && Catch::Contains("Fix: close the other writer"));
  CHECK(::write(release[1], &byte, 1) == 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(vrrl::test::exit_code(status) == 0);
  CHECK_FALSE(vrrl::is_locked_by_writer(path));
  CHECK_NOTHROW(RingLog::open(path, 8));
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
}

TEST_CASE("a child after fork() is told it inherited its parent's lock", "[reliability][lock]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  auto writer = RingLog::open(path, 8);
  const int status = vrrl::test::run_in_child([&]() -> int {
    try {
      (void)RingLog::open(path, 8);
      return 10;
    } catch (const vrrl::Error& e) {
      const std::string what = e.what();
      if (e.kind() != ErrorKind::locked) return 11;
      if (what.find("inherited the writer's lock across fork() from process " + std::to_string(::getppid())) ==
          std::string::npos)
        return 12;
      if (what.find("Fix: open logs after fork()") == std::string::npos) return 13;
      return 0;
    }
  });
  CHECK(vrrl::test::exit_code(status) == 0);
  // The parent still holds its writer.
  writer.append(vrrl::test::make_record(1).slot);
  CHECK(vrrl::is_locked_by_writer(path));
}

TEST_CASE("a second writer in the same process is told so", "[reliability][lock]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  auto writer = RingLog::open(path, 8);
  const auto e = expect_error([&] { (void)RingLog::open(path, 8); });
  CHECK(e.kind() == ErrorKind::locked);
  CHECK_THAT(e.what(), Catch::Contains("this process already has the log open for writing"));
  const auto shared = expect_error([&] { (void)vrrl::SharedRingLog::open(path, 8); });
  CHECK(shared.kind() == ErrorKind::locked);
}
