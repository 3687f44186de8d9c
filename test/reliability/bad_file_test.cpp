// Bad files: each gives a clear vrrl::Error (kind, path, Fix) or, where the
// format allows it, opens and replays correctly; none crashes, hangs or
// SIGBUSes. Zero-length, short header, truncated body, wrong version, a
// directory, a fifo and a missing directory are in test/core/ring_log_test.cpp;
// this file adds the rest of issue 6's list.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sched.h>

#include <random>

#include "fault_support.hpp"
#include "support/seed_model.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::ErrorKind;
using vrrl::LogReader;
using vrrl::Recovery;
using vrrl::RingLog;
using vrrl::test::expect_error;
using vrrl::test::put_at;
using vrrl::test::TempDir;

// A log of `capacity` slots holding appends 0 ..< count (wrapping).
void make_log(const std::filesystem::path& path, std::uint64_t capacity, std::uint64_t count) {
  RingLog log = RingLog::open(path, capacity);
  for (std::uint64_t n = 0; n < count; ++n) {
    vrrl::test::append_record(log, n);
  }
}

// Drops root's powers in a child so permission bits apply (we run as root).
bool become_nobody() { return ::setgid(65534) == 0 && ::setuid(65534) == 0; }

// 0755: others may enter the directory and read entries, not create files.
void set_traversable_not_writable(const std::filesystem::path& directory) {
  using p = std::filesystem::perms;
  std::filesystem::permissions(directory, p::owner_all | p::group_read | p::group_exec | p::others_read | p::others_exec);
}

}  // namespace

TEST_CASE("wrong file magic: header_mismatch for writer and reader", "[reliability][bad_file]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  make_log(path, 4, 2);
  vrrl::test::pwrite_bytes(path, 0, "VRRL9999", 8);
  for (const auto& e : {expect_error([&] { (void)RingLog::open(path, 4); }),
                        expect_error([&] { (void)LogReader::open(path); })}) {
    CHECK(e.kind() == ErrorKind::header_mismatch);
    CHECK_THAT(e.what(), Catch::Contains("VRRL0001") && Catch::Contains("Fix:") && Catch::Contains(path.string()));
  }
  // A v2 magic with a v1 version (or the other way round) is no format either.
  vrrl::test::pwrite_bytes(path, 0, "VRRL0002", 8);
  const auto mixed = expect_error([&] { (void)LogReader::open(path); });
  CHECK(mixed.kind() == ErrorKind::header_mismatch);
  CHECK_THAT(mixed.what(), Catch::Contains("VRRL0002") && Catch::Contains("version 1"));
}

TEST_CASE("capacity 0 in the header: zero_capacity", "[reliability][bad_file]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  make_log(path, 4, 2);
  put_at<std::uint64_t>(path, 16, 0);
  CHECK(expect_error([&] { (void)RingLog::open(path, 4); }).kind() == ErrorKind::zero_capacity);
  CHECK(expect_error([&] { (void)LogReader::open(path); }).kind() == ErrorKind::zero_capacity);
}

TEST_CASE("capacity over max in the header: capacity_overflow, before any size check", "[reliability][bad_file]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  make_log(path, 4, 2);
  for (const std::uint64_t capacity : {vrrl::format::max_capacity + 1, ~std::uint64_t{0}, std::uint64_t{1} << 58}) {
    put_at<std::uint64_t>(path, 16, capacity);
    CAPTURE(capacity);
    CHECK(expect_error([&] { (void)RingLog::open(path, 4); }).kind() == ErrorKind::capacity_overflow);
    CHECK(expect_error([&] { (void)LogReader::open(path); }).kind() == ErrorKind::capacity_overflow);
  }
}

TEST_CASE("a header capacity larger than the file: truncated, nothing mapped", "[reliability][bad_file]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  make_log(path, 4, 2);
  put_at<std::uint64_t>(path, 16, vrrl::format::max_capacity);
  const auto e = expect_error([&] { (void)LogReader::open(path); });
  CHECK(e.kind() == ErrorKind::truncated);
  CHECK_THAT(e.what(), Catch::Contains("288 bytes"));
}

TEST_CASE("cursor past capacity is valid by design: it is a running count", "[reliability][bad_file]") {
  // The header cursor counts appends over the file's life; slot = cursor %
  // capacity (the seed reads it the same way). Not an error.
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  constexpr std::uint64_t capacity = 5;
  for (const std::uint64_t cursor : {std::uint64_t{13}, 13 + 5 * capacity, 13 + 1'000'000 * capacity}) {
    std::filesystem::remove(path);
    make_log(path, capacity, 13);  // cursor 13, slots hold 8..12
    put_at<std::uint64_t>(path, 24, cursor);
    CAPTURE(cursor);
    std::vector<std::uint64_t> seen;
    const LogReader reader = LogReader::open(path);  // the range dies with it: name it
    for (auto view : reader.replay()) seen.push_back(view.timestamp_ns());
    CHECK(seen == std::vector<std::uint64_t>{8, 9, 10, 11, 12});
    RingLog log = RingLog::open(path, capacity);
    CHECK(log.appended() == cursor);
    CHECK(log.cursor() == 3);
    vrrl::test::append_record(log, 13);
    CHECK(log.replay_all().back() == vrrl::test::make_record(13).slot);
    CHECK(log.replay_all().front() == vrrl::test::make_record(9).slot);
  }
}

TEST_CASE("random bit flips anywhere: a vrrl::Error or a replay, never a crash", "[reliability][bad_file]") {
  TempDir dir;
  const auto pristine_path = dir.file("pristine.vrrl");
  const auto path = dir.file("flipped.vrrl");
  constexpr std::uint64_t capacity = 70;  // slot 63 straddles the first page boundary
  make_log(pristine_path, capacity, 100);
  const auto pristine = vrrl::test::read_bytes(pristine_path);

  std::mt19937_64 random(6);
  constexpr int trials = 3000;
  int opened = 0, rejected = 0, strict_threw = 0, skipped_some = 0;
  for (int trial = 0; trial < trials; ++trial) {
    auto bytes = pristine;
    const int flips = 1 + static_cast<int>(random() % 4);
    // Half the trials aim at the header, where a flip changes the most.
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = trial % 2 == 0 ? random() % 32 : random() % bytes.size();
      bytes[at] ^= static_cast<unsigned char>(1u << (random() % 8));
    }
    vrrl::test::write_bytes(path, bytes);
    CAPTURE(trial);
    try {
      LogReader reader = LogReader::open(path);
      ++opened;
      try {
        (void)reader.replay_all();
      } catch (const vrrl::Error& e) {
        REQUIRE(e.kind() == ErrorKind::header_mismatch);
        REQUIRE(e.slot().has_value());
        ++strict_threw;
      }
      auto skip = reader.replay(Recovery::skip_bad_slots);
      std::uint64_t count = 0;
      for (auto view : skip) count += view.magic() == vrrl::format::record_magic;
      REQUIRE(count == skip.report().records);
      REQUIRE(count + skip.report().empty_slots + skip.report().bad_slots.size() == reader.capacity());
      if (!skip.report().clean()) ++skipped_some;
      auto stop = reader.replay(Recovery::stop_at_bad_slot);
      for (auto view : stop) (void)view.slot();
      REQUIRE(stop.report().stopped_early == !skip.report().clean());

      RingLog log = RingLog::open(path, 1);
      log.append(vrrl::test::make_record(1).slot);
      (void)log.replay(Recovery::skip_bad_slots);
    } catch (const vrrl::Error& e) {
      const auto kind = e.kind();
      REQUIRE((kind == ErrorKind::header_mismatch || kind == ErrorKind::zero_capacity ||
               kind == ErrorKind::capacity_overflow || kind == ErrorKind::truncated));
      REQUIRE_THAT(e.what(), Catch::Contains("Fix:"));
      ++rejected;
    }
  }
  WARN(trials << " bit-flip trials: " << opened << " opened (" << strict_threw << " strict replays threw, "
              << skipped_some << " skip replays stepped over bad slots), " << rejected << " rejected at open");
  CHECK(opened > 0);
  CHECK(rejected > 0);
  CHECK(strict_threw > 0);
}

TEST_CASE("not a regular file: a socket and a character device", "[reliability][bad_file]") {
  TempDir dir;
  const auto socket_path = dir.file("log.sock");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(socket_path.string().size() < sizeof address.sun_path);
  std::strcpy(address.sun_path, socket_path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  // open(2) of a socket fails with ENXIO: an io error naming it.
  const auto e = expect_error([&] { (void)LogReader::open(socket_path); });
  CHECK(e.kind() == ErrorKind::io);
  CHECK(e.errno_value() == ENXIO);
  ::close(fd);

  CHECK(expect_error([] { (void)LogReader::open("/dev/null"); }).kind() == ErrorKind::not_a_log_file);
  const auto dev = expect_error([] { (void)RingLog::open("/dev/null", 4); });
  CHECK(dev.kind() == ErrorKind::not_a_log_file);
  CHECK_THAT(dev.what(), Catch::Contains("character device"));
}

TEST_CASE("no permission: EACCES io errors, for a user without access", "[reliability][bad_file]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  make_log(path, 4, 2);
  set_traversable_not_writable(dir.path());
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto created = dir.file("new.vrrl");
  // The child checks as `nobody`; exit 0 means every check held.
  const int status = vrrl::test::run_in_child([&]() -> int {
    if (!become_nobody()) return 10;
    try {
      (void)LogReader::open(path);
      return 11;
    } catch (const vrrl::Error& e) {
      if (e.kind() != ErrorKind::io || e.errno_value() != EACCES) return 12;
      if (std::string(e.what()).find("permissions") == std::string::npos) return 13;
    }
    try {
      (void)RingLog::open(path, 4);
      return 14;
    } catch (const vrrl::Error& e) {
      if (e.kind() != ErrorKind::io || e.errno_value() != EACCES) return 15;
    }
    try {
      (void)RingLog::open(created, 4);  // no write permission on the directory
      return 16;
    } catch (const vrrl::Error& e) {
      if (e.kind() != ErrorKind::io || e.errno_value() != EACCES) return 17;
    }
    return 0;
  });
  CHECK(vrrl::test::exit_code(status) == 0);
  CHECK_FALSE(std::filesystem::exists(created));
  std::size_t entries = 0;
  for (auto& entry : std::filesystem::directory_iterator(dir.path())) entries += entry.exists();
  CHECK(entries == 1);  // no temporary left behind
}

TEST_CASE("a read-only file: the reader works, the writer gets EACCES", "[reliability][bad_file]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  make_log(path, 4, 3);
  set_traversable_not_writable(dir.path());
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                         std::filesystem::perms::others_read);
  const int status = vrrl::test::run_in_child([&]() -> int {
    if (!become_nobody()) return 10;
    if (LogReader::open(path).replay_all().size() != 3) return 11;
    try {
      (void)RingLog::open(path, 4);
      return 12;
    } catch (const vrrl::Error& e) {
      if (e.kind() != ErrorKind::io || e.errno_value() != EACCES) return 13;
    }
    return 0;
  });
  CHECK(vrrl::test::exit_code(status) == 0);
}

TEST_CASE("a read-only filesystem: the reader works, the writer gets EROFS", "[reliability][bad_file]") {
  TempDir dir;
  make_log(dir.file("log.vrrl"), 4, 3);
  // A read-only bind mount of the directory in a private mount namespace.
  const int status = vrrl::test::run_in_child([&]() -> int {
    if (::unshare(CLONE_NEWNS) != 0) return 50;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 50;
    if (::mount(dir.path().c_str(), dir.path().c_str(), nullptr, MS_BIND, nullptr) != 0) return 50;
    if (::mount(nullptr, dir.path().c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) return 50;
    if (LogReader::open(dir.file("log.vrrl")).replay_all().size() != 3) return 11;
    for (const char* name : {"log.vrrl", "new.vrrl"}) {
      try {
        (void)RingLog::open(dir.file(name), 4);
        return 12;
      } catch (const vrrl::Error& e) {
        if (e.kind() != ErrorKind::io || e.errno_value() != EROFS) return 13;
      }
    }
    return 0;
  });
  if (vrrl::test::exit_code(status) == 50) {
    WARN("skipped: cannot make a private read-only bind mount here (needs CAP_SYS_ADMIN)");
    return;
  }
  CHECK(vrrl::test::exit_code(status) == 0);
}
