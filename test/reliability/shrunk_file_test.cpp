// A file shrunk by another process while a log is open. vrrl's flock is
// advisory, so a process that ignores it can truncate the file under a live
// mapping. The cold paths (replay, replay_all, sync, opening) fstat the file
// and throw ErrorKind::truncated; append() is a plain store with no room for a
// check, and on a page wholly past the new end of file it dies with SIGBUS.
// These tests pin both behaviours down exactly.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include "fault_support.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::ErrorKind;
using vrrl::LogReader;
using vrrl::Recovery;
using vrrl::RingLog;
using vrrl::test::expect_error;
using vrrl::test::TempDir;

void append_numbered(RingLog& log, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t n = from; n < to; ++n) {
    vrrl::test::append_record(log, n);
  }
}

// What "another process" does: truncate through its own descriptor.
void shrink(const std::filesystem::path& path, std::uint64_t size) { std::filesystem::resize_file(path, size); }

// In a child about to fault: the default action, so the kernel's SIGBUS ends
// it. Catch2 and the sanitizers install their own handlers, which would turn
// the fault into an abort with a report.
void default_sigbus() { ::signal(SIGBUS, SIG_DFL); }

}  // namespace

TEST_CASE("shrunk under a writer: replay, replay_all and sync throw truncated, no SIGBUS", "[reliability][shrink]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  constexpr std::uint64_t capacity = 256;  // 16416 bytes: five pages
  RingLog log = RingLog::open(path, capacity);
  append_numbered(log, 0, 100);
  LogReader reader = LogReader::open(path);
  REQUIRE(reader.replay_all().size() == 100);

  const std::uint64_t new_size = GENERATE(0, 31, 32, 4096, 16415);
  CAPTURE(new_size);
  shrink(path, new_size);

  const auto e = expect_error([&] { (void)log.replay(); });
  CHECK(e.kind() == ErrorKind::truncated);
  CHECK(e.operation() == "replay");
  CHECK_THAT(e.what(), Catch::Contains("shrank to " + std::to_string(new_size) + " bytes") &&
                           Catch::Contains("16416 bytes") && Catch::Contains("Fix:"));
  for (const auto recovery : {Recovery::strict, Recovery::stop_at_bad_slot, Recovery::skip_bad_slots}) {
    CHECK(expect_error([&] { (void)log.replay(recovery); }).kind() == ErrorKind::truncated);
    CHECK(expect_error([&] { (void)reader.replay(recovery); }).kind() == ErrorKind::truncated);
  }
  CHECK(expect_error([&] { (void)log.replay_all(); }).kind() == ErrorKind::truncated);
  CHECK(expect_error([&] { (void)reader.replay_all(); }).kind() == ErrorKind::truncated);
  const auto s = expect_error([&] { log.sync(); });
  CHECK(s.kind() == ErrorKind::truncated);
  CHECK(s.operation() == "sync");
  // Reopening sees the short file before mapping anything.
  CHECK(expect_error([&] { (void)LogReader::open(path); }).kind() == ErrorKind::truncated);
  // Growing the file back (zeros) makes the log consistent again for the cold paths.
  shrink(path, vrrl::format::file_bytes(capacity));
  CHECK_NOTHROW(log.sync());
  CHECK_NOTHROW((void)log.replay(Recovery::skip_bad_slots));
}

TEST_CASE("append into a page past the shrunk end of file dies with SIGBUS (the documented caveat)",
          "[reliability][shrink]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  RingLog log = RingLog::open(path, 256);
  append_numbered(log, 0, 100);  // next slot 100 sits at byte 6432: page 1
  shrink(path, 32);              // only page 0 is still backed

  // The child inherits the shared mapping and appends as the writer would.
  const int status = vrrl::test::run_in_child([&] {
    default_sigbus();
    append_numbered(log, 100, 101);
    return 0;
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGBUS);
}

TEST_CASE("append into the partial last page after a shrink does not fault, but is lost", "[reliability][shrink]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  RingLog log = RingLog::open(path, 256);
  append_numbered(log, 0, 10);  // next slot 10 sits at byte 672: page 0
  shrink(path, 32);
  // Bytes past EOF inside the last page are mapped (zero-filled) and never
  // written back: no SIGBUS, and the record is not in the file.
  const int status = vrrl::test::run_in_child([&] {
    append_numbered(log, 10, 11);
    return 0;
  });
  CHECK(vrrl::test::exit_code(status) == 0);
  CHECK(std::filesystem::file_size(path) == 32);
  CHECK(expect_error([&] { log.sync(); }).kind() == ErrorKind::truncated);
}

TEST_CASE("the cursor accessors read page 0: SIGBUS once the file is emptied (the documented caveat)",
          "[reliability][shrink]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  RingLog log = RingLog::open(path, 4);
  append_numbered(log, 0, 3);
  LogReader reader = LogReader::open(path);
  shrink(path, 1);  // page 0 still exists: the cursor reads as zeros, no fault
  CHECK(reader.appended() == 0);
  shrink(path, 0);
  const int status = vrrl::test::run_in_child([&] {
    default_sigbus();
    return static_cast<int>(reader.appended());
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGBUS);
}
