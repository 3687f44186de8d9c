// RingLog and LogReader beyond the seed: failure evidence, wrap, edge
// capacities, bad files, locking, read-only access, the zero-copy range and
// the recovery modes. One short test per case, as a table of faults.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <vrrl/ring_log.hpp>

#include "support/expect_error.hpp"
#include "support/seed_model.hpp"
#include "support/temp_dir.hpp"

namespace {

using vrrl::ErrorKind;
using vrrl::FailureClass;
using vrrl::FailureEvidence;
using vrrl::LogReader;
using vrrl::RecordedSlot;
using vrrl::RingLog;
using vrrl::test::expect_error;
using vrrl::test::TempDir;

RecordedSlot record(std::uint32_t n) {
  return {0x1'0000'0000ULL + n, n, n % 7, 0x4000'0000 + n, {n, n ^ 0xFFFF'FFFFu, n * 3, n + 9}, n / 2};
}

void write_u32_at(const std::filesystem::path& path, off_t offset, std::uint32_t value) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, &value, sizeof value, offset) == static_cast<ssize_t>(sizeof value));
  ::close(fd);
}

}  // namespace

TEST_CASE("a new log has the full size and a VRRL v1 header", "[ring_log]") {
  TempDir dir;
  RingLog log = RingLog::open(dir.file("log.vrrl"), 10);
  CHECK(std::filesystem::file_size(dir.file("log.vrrl")) == 32 + 64 * 10);
  const auto bytes = vrrl::test::read_bytes(dir.file("log.vrrl"));
  CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "VRRL0001");
  CHECK(vrrl::test::get_u32(bytes, 8) == 1);
  CHECK(vrrl::test::get_u32(bytes, 12) == 0);
  CHECK(vrrl::test::get_u64(bytes, 16) == 10);
  CHECK(vrrl::test::get_u64(bytes, 24) == 0);
  CHECK(log.capacity() == 10);
  CHECK(log.cursor() == 0);
  CHECK(log.path() == dir.file("log.vrrl"));
  CHECK(log.replay_all().empty());
  // No temporary file is left next to the log.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
}

TEST_CASE("failure evidence round trips through bytes 44..63", "[ring_log]") {
  TempDir dir;
  const FailureEvidence evidence{7, FailureClass::transient_queue, 0xBEEF, 0x0123'4567'89AB'CDEFULL};
  {
    RingLog log = RingLog::open(dir.file("log.vrrl"), 4);
    log.append(record(1));
    log.append(record(2), evidence);
    log.sync();
  }
  LogReader reader = LogReader::open(dir.file("log.vrrl"));
  std::vector<FailureEvidence> seen;
  for (vrrl::RecordView view : reader.replay()) seen.push_back(view.failure());
  REQUIRE(seen.size() == 2);
  CHECK_FALSE(seen[0].present());
  CHECK(seen[1] == evidence);
  CHECK(seen[1].present());

  const auto bytes = vrrl::test::read_bytes(dir.file("log.vrrl"));
  const std::size_t at = 32 + 64;
  CHECK(vrrl::test::get_u32(bytes, at + 44) == 7);
  CHECK(vrrl::test::get_u32(bytes, at + 48) == 2);
  CHECK(vrrl::test::get_u32(bytes, at + 52) == 0xBEEF);
  CHECK(vrrl::test::get_u64(bytes, at + 56) == 0x0123'4567'89AB'CDEFULL);
}

TEST_CASE("an unknown failure class reads as unclassified", "[ring_log]") {
  CHECK(vrrl::failure_class_from_u32(0) == FailureClass::none);
  CHECK(vrrl::failure_class_from_u32(3) == FailureClass::program_bug);
  CHECK(vrrl::failure_class_from_u32(4) == FailureClass::unclassified);
  CHECK(vrrl::failure_class_from_u32(5) == FailureClass::unclassified);
  CHECK(vrrl::failure_class_from_u32(0xFFFF'FFFF) == FailureClass::unclassified);
  CHECK(vrrl::to_string(FailureClass::device_loss) == "device_loss");
}

TEST_CASE("reopen after wrap keeps order and continues the ring", "[ring_log]") {
  TempDir dir;
  {
    RingLog log = RingLog::open(dir.file("log.vrrl"), 5);
    for (std::uint32_t n = 0; n < 12; ++n) log.append(record(n));
  }
  {
    RingLog log = RingLog::open(dir.file("log.vrrl"), 5);
    CHECK(log.appended() == 12);
    CHECK(log.cursor() == 2);
    const auto replay = log.replay_all();
    REQUIRE(replay.size() == 5);
    for (std::uint32_t i = 0; i < 5; ++i) CHECK(replay[i] == record(7 + i));
    for (std::uint32_t n = 12; n < 15; ++n) log.append(record(n));
  }
  const auto replay = LogReader::open(dir.file("log.vrrl")).replay_all();
  REQUIRE(replay.size() == 5);
  for (std::uint32_t i = 0; i < 5; ++i) CHECK(replay[i] == record(10 + i));
}

TEST_CASE("capacity 1 keeps exactly the newest record", "[ring_log]") {
  TempDir dir;
  RingLog log = RingLog::open(dir.file("log.vrrl"), 1);
  for (std::uint32_t n = 0; n < 5; ++n) {
    log.append(record(n));
    const auto replay = log.replay_all();
    REQUIRE(replay.size() == 1);
    CHECK(replay[0] == record(n));
    CHECK(log.cursor() == 0);
  }
}

TEST_CASE("maximum capacity: 1,048,576 slots, wraps at the end", "[ring_log]") {
  TempDir dir;
  const std::uint64_t capacity = vrrl::format::max_capacity;
  RingLog log = RingLog::open(dir.file("log.vrrl"), capacity);
  CHECK(std::filesystem::file_size(dir.file("log.vrrl")) == 67'108'896);
  for (std::uint64_t n = 0; n < capacity + 3; ++n) log.append(record(static_cast<std::uint32_t>(n)));
  CHECK(log.cursor() == 3);
  std::uint64_t count = 0;
  std::uint32_t expected = 3;
  bool in_order = true;
  for (vrrl::RecordView view : log.replay()) {
    in_order = in_order && view.slot_idx() == expected++;
    ++count;
  }
  CHECK(count == capacity);
  CHECK(in_order);
}

TEST_CASE("bad files give a clear vrrl::Error before anything is mapped", "[ring_log][bad_file]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");

  SECTION("zero-length file") {
    vrrl::test::write_bytes(path, {});
    const auto e = expect_error([&] { (void)RingLog::open(path, 4); });
    CHECK(e.kind() == ErrorKind::truncated);
    CHECK_THAT(e.what(), Catch::Contains("0 bytes") && Catch::Contains("Fix:") && Catch::Contains(path.string()));
  }
  SECTION("shorter than the header") {
    vrrl::test::write_bytes(path, std::vector<unsigned char>(31, 0));
    CHECK(expect_error([&] { (void)LogReader::open(path); }).kind() == ErrorKind::truncated);
  }
  SECTION("header fine but body truncated") {
    { RingLog log = RingLog::open(path, 8); }
    std::filesystem::resize_file(path, 32 + 64 * 8 - 1);
    const auto e = expect_error([&] { (void)RingLog::open(path, 8); });
    CHECK(e.kind() == ErrorKind::truncated);
    CHECK_THAT(e.what(), Catch::Contains("543 bytes") && Catch::Contains("544 bytes"));
  }
  SECTION("wrong version") {
    { RingLog log = RingLog::open(path, 2); }
    write_u32_at(path, 8, 2);
    const auto e = expect_error([&] { (void)LogReader::open(path); });
    CHECK(e.kind() == ErrorKind::header_mismatch);
    CHECK_THAT(e.what(), Catch::Contains("version 2"));
  }
  SECTION("a directory") {
    std::filesystem::create_directory(path);
    CHECK(expect_error([&] { (void)RingLog::open(path, 4); }).kind() == ErrorKind::not_a_log_file);
    CHECK(expect_error([&] { (void)LogReader::open(path); }).kind() == ErrorKind::not_a_log_file);
  }
  SECTION("a fifo (no hang)") {
    REQUIRE(::mkfifo(path.c_str(), 0644) == 0);
    CHECK(expect_error([&] { (void)RingLog::open(path, 4); }).kind() == ErrorKind::not_a_log_file);
    CHECK(expect_error([&] { (void)LogReader::open(path); }).kind() == ErrorKind::not_a_log_file);
  }
  SECTION("a path in a missing directory") {
    const auto e = expect_error([&] { (void)RingLog::open(dir.file("missing") / "log.vrrl", 4); });
    CHECK(e.kind() == ErrorKind::io);
    CHECK(e.errno_value() == ENOENT);
    CHECK_THAT(e.what(), Catch::Contains("does not exist") && Catch::Contains("Fix:"));
  }
  SECTION("reader on a missing file") {
    const auto e = expect_error([&] { (void)LogReader::open(path); });
    CHECK(e.kind() == ErrorKind::io);
    CHECK(e.errno_value() == ENOENT);
    CHECK_FALSE(std::filesystem::exists(path));
  }
}

TEST_CASE("a second writer gets a clear locked error; readers are not blocked", "[ring_log][lock]") {
  TempDir dir;
  RingLog writer = RingLog::open(dir.file("log.vrrl"), 4);
  writer.append(record(1));
  CHECK(vrrl::is_locked_by_writer(dir.file("log.vrrl")));

  // In the same process, the message says so (not "another writer").
  const auto e = expect_error([&] { (void)RingLog::open(dir.file("log.vrrl"), 4); });
  CHECK(e.kind() == ErrorKind::locked);
  CHECK_THAT(e.what(), Catch::Contains("this process already has the log open") && Catch::Contains("Fix:"));

  LogReader reader = LogReader::open(dir.file("log.vrrl"));
  CHECK(reader.replay_all() == std::vector<RecordedSlot>{record(1)});
  writer.append(record(2));  // the reader's shared mapping sees it at once
  CHECK(reader.appended() == 2);
  CHECK(reader.replay_all().size() == 2);

  { RingLog moved = std::move(writer); }  // destruction unlocks
  CHECK_FALSE(vrrl::is_locked_by_writer(dir.file("log.vrrl")));
  CHECK_NOTHROW(RingLog::open(dir.file("log.vrrl"), 4));
}

TEST_CASE("read-only open works on a read-only file and never writes", "[ring_log][reader]") {
  TempDir dir;
  {
    RingLog log = RingLog::open(dir.file("log.vrrl"), 3);
    for (std::uint32_t n = 0; n < 4; ++n) log.append(record(n));
    log.sync();
  }
  const auto before = vrrl::test::read_bytes(dir.file("log.vrrl"));
  std::filesystem::permissions(dir.file("log.vrrl"), std::filesystem::perms::owner_read);
  LogReader reader = LogReader::open(dir.file("log.vrrl"));
  CHECK(reader.capacity() == 3);
  CHECK(reader.appended() == 4);
  CHECK(reader.cursor() == 1);
  CHECK(reader.replay_all() == std::vector<RecordedSlot>{record(1), record(2), record(3)});
  CHECK(vrrl::test::read_bytes(dir.file("log.vrrl")) == before);
  if (::geteuid() != 0) {  // root ignores permission bits
    CHECK(expect_error([&] { (void)RingLog::open(dir.file("log.vrrl"), 3); }).errno_value() == EACCES);
  }
}

TEST_CASE("the zero-copy range agrees with replay_all", "[ring_log][replay]") {
  TempDir dir;
  RingLog log = RingLog::open(dir.file("log.vrrl"), 16);
  const auto count = GENERATE(0u, 1u, 15u, 16u, 17u, 40u);
  for (std::uint32_t n = 0; n < count; ++n) log.append(record(n), {n, FailureClass::none, 0, n});
  std::vector<RecordedSlot> viewed;
  auto range = log.replay();
  for (auto it = range.begin(); it != range.end(); ++it) {
    const vrrl::RecordView view = *it;
    CHECK(view.magic() == vrrl::format::record_magic);
    CHECK(it.slot_index() == view.slot_idx() % 16);
    CHECK(view.bytes().data() == reinterpret_cast<const std::byte*>(view.bytes().data()));
    viewed.push_back(view.slot());
  }
  CHECK(viewed == log.replay_all());
  CHECK(range.report().records == viewed.size());
  CHECK(range.report().empty_slots == 16 - viewed.size());
  CHECK(range.report().clean());
}

TEST_CASE("replay recovery modes: strict, stop, skip", "[ring_log][replay]") {
  TempDir dir;
  const auto path = dir.file("log.vrrl");
  {
    RingLog log = RingLog::open(path, 6);
    for (std::uint32_t n = 0; n < 6; ++n) log.append(record(n));
  }
  write_u32_at(path, static_cast<off_t>(32 + 64 * 2), 0x12345678);  // slot 2
  write_u32_at(path, static_cast<off_t>(32 + 64 * 4), 0xFFFFFFFF);  // slot 4
  LogReader reader = LogReader::open(path);

  SECTION("strict throws header_mismatch naming the slot") {
    const auto e = expect_error([&] { (void)reader.replay_all(); });
    CHECK(e.kind() == ErrorKind::header_mismatch);
    CHECK(e.slot() == 2u);
    CHECK_THAT(e.what(), Catch::Contains("slot 2") && Catch::Contains("0x12345678"));
  }
  SECTION("stop at the first bad slot") {
    auto range = reader.replay(vrrl::Recovery::stop_at_bad_slot);
    std::vector<std::uint32_t> seen;
    for (auto view : range) seen.push_back(view.slot_idx());
    CHECK(seen == std::vector<std::uint32_t>{0, 1});
    CHECK(range.report().stopped_early);
    CHECK(range.report().bad_slots == std::vector<std::uint64_t>{2});
  }
  SECTION("skip bad slots and count them") {
    auto range = reader.replay(vrrl::Recovery::skip_bad_slots);
    std::vector<std::uint32_t> seen;
    for (auto view : range) seen.push_back(view.slot_idx());
    CHECK(seen == std::vector<std::uint32_t>{0, 1, 3, 5});
    CHECK_FALSE(range.report().stopped_early);
    CHECK(range.report().bad_slots == std::vector<std::uint64_t>{2, 4});
  }
}

TEST_CASE("a cursor past capacity is read modulo capacity, as the seed does", "[ring_log]") {
  TempDir dir;
  std::vector<vrrl::test::SeedRecord> none;
  auto bytes = vrrl::test::seed_file_bytes(4, none);
  vrrl::test::put_u64(bytes, 24, 4 * 1000 + 3);
  vrrl::test::write_bytes(dir.file("log.vrrl"), bytes);
  RingLog log = RingLog::open(dir.file("log.vrrl"), 4);
  CHECK(log.cursor() == 3);
  log.append(record(1));
  CHECK(log.cursor() == 0);
  CHECK(log.replay_all() == std::vector<RecordedSlot>{record(1)});

  // A damaged, absurd cursor restarts the running count at the slot it names.
  bytes = vrrl::test::seed_file_bytes(4, none);
  vrrl::test::put_u64(bytes, 24, ~std::uint64_t{0});
  vrrl::test::write_bytes(dir.file("absurd.vrrl"), bytes);
  RingLog absurd = RingLog::open(dir.file("absurd.vrrl"), 4);
  CHECK(absurd.appended() == (~std::uint64_t{0}) % 4);
}

TEST_CASE("moving a RingLog keeps appends going to the same file", "[ring_log]") {
  TempDir dir;
  RingLog first = RingLog::open(dir.file("log.vrrl"), 8);
  first.append(record(1));
  RingLog second = std::move(first);
  second.append(record(2));
  RingLog third = RingLog::open(dir.file("other.vrrl"), 2);
  third = std::move(second);
  third.append(record(3));
  CHECK(third.replay_all() == std::vector<RecordedSlot>{record(1), record(2), record(3)});
  CHECK_FALSE(vrrl::is_locked_by_writer(dir.file("other.vrrl")));
}

TEST_CASE("errors carry the operation, the path, errno and a fix", "[ring_log][errors]") {
  TempDir dir;
  const auto e = expect_error([&] { (void)LogReader::open(dir.file("nope.vrrl")); });
  CHECK(e.operation() == "open");
  CHECK(e.path() == dir.file("nope.vrrl"));
  CHECK(e.errno_value() == ENOENT);
  CHECK_FALSE(e.fix().empty());
  CHECK_THAT(e.what(), Catch::StartsWith("vrrl open `") && Catch::Contains("No such file or directory") &&
                           Catch::Contains(". Fix: "));
  CHECK(vrrl::to_string(ErrorKind::locked) == "locked");
}

// `for (auto r : LogReader::open(p).replay())` would walk a mapping that died
// with the temporary; the rvalue overloads are deleted so it does not compile.
template <class Log>
concept replays_from_temporary = requires { std::declval<Log&&>().replay(); };
static_assert(!replays_from_temporary<RingLog>);
static_assert(!replays_from_temporary<LogReader>);
static_assert(requires(const RingLog& log) { log.replay(); });
