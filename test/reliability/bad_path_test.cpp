// Paths a user can hand RingLog::open that are not a plain file name: symbolic
// links (dangling, looping, to a log), and names at the length limit. The
// seed accepts each of these; vrrl must too, or fail with a message that says
// what is wrong (docs/design.md, "Faults and guarantees").
#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>

#include "fault_support.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::ErrorKind;
using vrrl::LogReader;
using vrrl::RingLog;
using vrrl::test::expect_error;
using vrrl::test::TempDir;

}  // namespace

TEST_CASE("a dangling symbolic link: the log is created where it points, as the seed does", "[reliability][path]") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("data"));
  std::filesystem::create_symlink("data/run.vrrl", dir.file("link.vrrl"));
  {
    auto log = RingLog::open(dir.file("link.vrrl"), 8);
    log.append(vrrl::test::make_record(1).slot);
  }
  CHECK(std::filesystem::is_symlink(dir.file("link.vrrl")));
  CHECK(std::filesystem::is_regular_file(dir.file("data/run.vrrl")));
  CHECK(LogReader::open(dir.file("data/run.vrrl")).replay_all().size() == 1);
  CHECK(LogReader::open(dir.file("link.vrrl")).replay_all().size() == 1);
  CHECK(vrrl::test::entries_in(dir.file("data")) == 1);  // nothing else left behind
}

TEST_CASE("a chain of symbolic links to an existing log is followed", "[reliability][path]") {
  TempDir dir;
  { auto log = RingLog::open(dir.file("real.vrrl"), 8); }
  std::filesystem::create_symlink("real.vrrl", dir.file("a"));
  std::filesystem::create_symlink(dir.file("a"), dir.file("b"));
  auto log = RingLog::open(dir.file("b"), 99);
  CHECK(log.capacity() == 8);
}

TEST_CASE("a symbolic link loop: io ELOOP with a fix about links", "[reliability][path]") {
  TempDir dir;
  std::filesystem::create_symlink("b", dir.file("a"));
  std::filesystem::create_symlink("a", dir.file("b"));
  const auto e = expect_error([&] { (void)RingLog::open(dir.file("a"), 8); });
  CHECK(e.kind() == ErrorKind::io);
  CHECK(e.errno_value() == ELOOP);
  CHECK_THAT(e.what(), Catch::Contains("loop of symbolic links") && !Catch::Contains("disk space"));
  const auto reader = expect_error([&] { (void)LogReader::open(dir.file("a")); });
  CHECK(reader.errno_value() == ELOOP);
}

TEST_CASE("a dangling link into a missing directory names the directory", "[reliability][path]") {
  TempDir dir;
  std::filesystem::create_symlink("nowhere/run.vrrl", dir.file("link.vrrl"));
  const auto e = expect_error([&] { (void)RingLog::open(dir.file("link.vrrl"), 8); });
  CHECK(e.errno_value() == ENOENT);
  CHECK_THAT(e.what(), Catch::Contains("nowhere") && Catch::Contains("does not exist"));
}

TEST_CASE("a 250-byte file name works (the temporary name does not add to it)", "[reliability][path]") {
  TempDir dir;
  const std::string name = std::string(245, 'n') + ".vrrl";
  REQUIRE(name.size() == 250);
  {
    auto log = RingLog::open(dir.file(name), 8);
    log.append(vrrl::test::make_record(1).slot);
  }
  CHECK(LogReader::open(dir.file(name)).replay_all().size() == 1);
  CHECK(vrrl::test::entries_in(dir.path()) == 1);
  // 255 bytes is the limit of the filesystem, not of vrrl.
  const std::string longest = std::string(250, 'm') + ".vrrl";
  CHECK_NOTHROW(RingLog::open(dir.file(longest), 8));
}
