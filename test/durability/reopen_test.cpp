// kill -9 with sync_every, and the rule for an in-memory ring found at open
// (lib/live_ring.hpp, docs/design.md "Durable without stalls"):
//   * a writer killed at any moment (at every disk call of a pass and of the
//     catch-up at open, and at random moments with the background running)
//     loses nothing append() completed: the next open resumes the ring and
//     catches the file up;
//   * a ring that disagrees with the file (either changed by hand, the file
//     replaced, another boot) is set aside whole and the file wins: the log
//     reopens as the file, never a merge of the two.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>

#include <random>

#include "durability_support.hpp"
#include "support/expect_error.hpp"

namespace {

using vrrl::LogReader;
using vrrl::RingLog;
using vrrl::test::LiveDir;
using vrrl::test::replayed_sequences;
using vrrl::test::ring_window;
using vrrl::test::write_behind;
using Call = vrrl::test::DiskHook::Call;
namespace format = vrrl::format;

constexpr std::uint64_t capacity = 64;

bool killed(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }

// A child that opens the log, appends up to `synced`, syncs, appends up to
// `appended`, and dies by SIGKILL at its `kill_at`-th disk call after that
// (0: at the end, before closing). Returns the wait status.
int run_killed_writer(const std::filesystem::path& path, const std::filesystem::path& live, std::uint64_t synced,
                      std::uint64_t appended, int kill_at, vrrl::Format format = vrrl::Format::v1) {
  return vrrl::test::run_in_child([&]() -> int {
    RingLog log = RingLog::open(path, capacity, write_behind(live, vrrl::test::manual_passes, format));
    vrrl::test::append_sequences(log, log.appended(), synced);
    log.sync();
    vrrl::test::append_sequences(log, log.appended(), appended);
    int calls = 0;
    const vrrl::test::DiskHook hook([&](Call, int, const void*, std::size_t, off_t) {
      if (++calls == kill_at) ::raise(SIGKILL);
      return 0;
    });
    if (kill_at == 0) ::raise(SIGKILL);
    log.sync();
    return 0;  // kill_at is beyond the pass's calls
  });
}

// A child that reopens (resuming the ring) and dies at the `kill_at`-th disk
// call of the catch-up at open.
int run_killed_reopen(const std::filesystem::path& path, const std::filesystem::path& live, int kill_at) {
  return vrrl::test::run_in_child([&]() -> int {
    int calls = 0;
    const vrrl::test::DiskHook hook([&](Call, int, const void*, std::size_t, off_t) {
      if (++calls == kill_at) ::raise(SIGKILL);
      return 0;
    });
    RingLog log = RingLog::open(path, capacity, write_behind(live));
    ::raise(SIGKILL);  // kill_at is beyond the catch-up's calls: die holding everything
    return 0;
  });
}

// After a kill: the next open resumes and the file catches up.
void check_resumed(const std::filesystem::path& path, const LiveDir& live, std::uint64_t appended) {
  {
    RingLog log = RingLog::open(path, capacity, write_behind(live.path()));
    CHECK(log.set_aside_live_ring().empty());
    REQUIRE(log.appended() == appended);
    REQUIRE(log.durable() == appended);
    REQUIRE(replayed_sequences(log) == ring_window(appended, capacity));
    REQUIRE(replayed_sequences(path) == ring_window(appended, capacity));  // caught up before open returned
  }
  REQUIRE(live.files().empty());
  REQUIRE(replayed_sequences(path) == ring_window(appended, capacity));
}

std::filesystem::path only_ring(const LiveDir& live) {
  const std::vector<std::string> files = live.files();
  REQUIRE(files.size() == 1);
  return live.path() / files[0];
}

// Where the trailer of a ring of `capacity` slots starts (lib/live_ring.cpp).
std::uint64_t trailer_position(const format::Layout& layout) {
  return (layout.file_bytes(capacity) + 4095) / 4096 * 4096;
}

void flip_byte(const std::filesystem::path& path, std::uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  unsigned char byte = 0;
  REQUIRE(::pread(fd, &byte, 1, static_cast<off_t>(offset)) == 1);
  byte ^= 0x5a;
  REQUIRE(::pwrite(fd, &byte, 1, static_cast<off_t>(offset)) == 1);
  ::close(fd);
}

// A log of `slots` slots at `path` written by a plain writer: `count` records of `producer`.
void write_other_log(const std::filesystem::path& path, std::uint64_t slots, std::uint32_t producer,
                     std::uint64_t count) {
  RingLog other = RingLog::open(path, slots);
  for (std::uint64_t i = 0; i < count; ++i) {
    const vrrl::test::SelfCheckingRecord record = vrrl::test::make_record(vrrl::test::RecordKey{producer, i});
    other.append(record.slot, record.evidence);
  }
  other.sync();
}

std::vector<std::byte> file_bytes(const std::filesystem::path& path) {
  const LogReader reader = LogReader::open(path);
  return std::vector<std::byte>(reader.data(), reader.data() + reader.file_size());
}

}  // namespace

TEST_CASE("kill -9 at every disk call of a pass, and of the catch-up at open: nothing appended is lost",
          "[durability][reopen][kill]") {
  const vrrl::Format format = GENERATE(vrrl::Format::v1, vrrl::Format::v2);
  CAPTURE(vrrl::test::name_of(format));
  int pass_calls = 0;
  for (int kill_at = 1;; ++kill_at) {
    CAPTURE(kill_at);
    LiveDir live;
    vrrl::test::TempDir dir;
    const auto path = dir.file("killed.vrrl");
    // 40 durable, then 60 more wrapping the 64-slot ring: the pass clears, writes and commits across the wrap.
    const int status = run_killed_writer(path, live.path(), 40, 100, kill_at, format);
    if (vrrl::test::exit_code(status) == 0) break;  // beyond the last call of the pass
    REQUIRE(killed(status));
    pass_calls = kill_at;
    check_resumed(path, live, 100);
  }
  CHECK(pass_calls >= (format == vrrl::Format::v1 ? 9 : 4));  // the flushes, and the reads and writes around them

  // Killed mid-pass, then killed again at every disk call of the open that
  // resumes (its flush, the checks, the catch-up pass), and once after it.
  const auto killed_mid_pass = [&](const std::filesystem::path& path, const LiveDir& live) {
    REQUIRE(killed(run_killed_writer(path, live.path(), 40, 100, 3, format)));
  };
  int calls_at_open = 0;
  {
    LiveDir live;
    vrrl::test::TempDir dir;
    killed_mid_pass(dir.file("count.vrrl"), live);
    const int status = vrrl::test::run_in_child([&]() -> int {
      int calls = 0;
      const vrrl::test::DiskHook hook([&](Call, int, const void*, std::size_t, off_t) { return ++calls, 0; });
      RingLog log = RingLog::open(dir.file("count.vrrl"), capacity, write_behind(live.path()));
      return calls;
    });
    REQUIRE(vrrl::test::exit_code(status).has_value());
    calls_at_open = *vrrl::test::exit_code(status);
  }
  CHECK(calls_at_open > 4);
  for (int kill_at = 1; kill_at <= calls_at_open + 1; ++kill_at) {
    CAPTURE(kill_at);
    LiveDir live;
    vrrl::test::TempDir dir;
    const auto path = dir.file("killed_twice.vrrl");
    killed_mid_pass(path, live);
    REQUIRE(killed(run_killed_reopen(path, live.path(), kill_at)));
    check_resumed(path, live, 100);
  }
}

TEST_CASE("kill -9 at every disk call of the open that makes the ring: the log stays the file",
          "[durability][reopen][kill]") {
  int calls = 0;
  for (int kill_at = 1;; ++kill_at) {
    CAPTURE(kill_at);
    LiveDir live;
    vrrl::test::TempDir dir;
    const auto path = dir.file("first_open.vrrl");
    {
      RingLog plain = RingLog::open(path, capacity);  // a log written without sync_every
      vrrl::test::append_sequences(plain, 0, 100);
    }
    const int status = vrrl::test::run_in_child([&]() -> int {
      int seen = 0;
      const vrrl::test::DiskHook hook([&](Call, int, const void*, std::size_t, off_t) {
        if (++seen == kill_at) ::raise(SIGKILL);
        return 0;
      });
      RingLog log = RingLog::open(path, capacity, write_behind(live.path()));
      return 0;
    });
    if (vrrl::test::exit_code(status) == 0) break;
    REQUIRE(killed(status));
    calls = kill_at;
    REQUIRE(live.files().size() <= 1);  // a ring is linked only when complete
    check_resumed(path, live, 100);
  }
  CHECK(calls >= 2);  // the flush at open, the reads that copy the file
}

TEST_CASE("kill -9 at random moments with background passes every millisecond: every completed append survives",
          "[durability][reopen][kill]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("random_kills.vrrl");
  constexpr std::uint64_t slots = 61;  // prime: passes end at every slot
  struct Progress {
    std::atomic<std::uint64_t> completed;
  };
  void* shared = ::mmap(nullptr, sizeof(Progress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(shared != MAP_FAILED);
  auto* progress = new (shared) Progress{};
  std::mt19937 random(20261201);
  std::uniform_int_distribution<int> delay_us(0, 4000);
  std::uint64_t completed_before = 0;
  int resumed_with_set_aside = 0;

  for (int kill_number = 0; kill_number < 40; ++kill_number) {
    CAPTURE(kill_number, completed_before);
    progress->completed.store(completed_before, std::memory_order_relaxed);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        RingLog log = RingLog::open(path, slots, write_behind(live.path(), std::chrono::milliseconds(1)));
        for (std::uint64_t n = log.appended();; ++n) {
          vrrl::test::append_record(log, n);
          // Release: the parent must not see the count before the append's stores.
          progress->completed.store(n + 1, std::memory_order_release);
        }
      } catch (...) {
        ::_exit(3);
      }
    }
    while (progress->completed.load(std::memory_order_acquire) <= completed_before + 1) {
      int status = 0;
      if (::waitpid(child, &status, WNOHANG) == child) FAIL("the writer exited early, status " << status);
      std::this_thread::yield();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(killed(status));
    const std::uint64_t completed = progress->completed.load(std::memory_order_acquire);

    RingLog log = RingLog::open(path, slots, write_behind(live.path()));
    resumed_with_set_aside += !log.set_aside_live_ring().empty();
    const std::uint64_t appended = log.appended();
    REQUIRE(
        (appended == completed || appended == completed + 1));  // + 1: killed between an append's cursor and its return
    REQUIRE(log.durable() == appended);
    const std::vector<std::uint64_t> ring = replayed_sequences(log);
    REQUIRE(replayed_sequences(path) == ring);
    // Everything appended in the window, except the oldest when the kill
    // came inside the append overwriting it (its magic cleared, the cursor
    // not yet moved), or the newest when it came between its cursor and its
    // magic (then appended == completed + 1).
    std::vector<std::uint64_t> expected = ring_window(appended, slots);
    if (!ring.empty() && ring.front() == expected.front() + 1) expected.erase(expected.begin());
    if (appended == completed + 1 && ring.back() + 1 == appended - 1) expected.pop_back();
    INFO("ring " << ring.size() << " [" << ring.front() << ", " << ring.back() << "], appended " << appended
                 << ", completed " << completed);
    REQUIRE(ring == expected);
    REQUIRE(ring.size() + 1 >= std::min<std::uint64_t>(slots, appended));
    REQUIRE(ring.back() + 1 >= completed);
    completed_before = appended;
  }
  CHECK(resumed_with_set_aside == 0);
  ::munmap(shared, sizeof(Progress));
}

TEST_CASE("reopen after a kill: which copy wins", "[durability][reopen][rule]") {
  const vrrl::Format log_format = GENERATE(vrrl::Format::v1, vrrl::Format::v2);
  CAPTURE(vrrl::test::name_of(log_format));
  const format::Layout layout = format::layout_of(log_format);
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("rule.vrrl");
  constexpr std::uint64_t durable = 40;   // on disk
  constexpr std::uint64_t appended = 50;  // in the ring only
  REQUIRE(killed(run_killed_writer(path, live.path(), durable, appended, 0, log_format)));
  const std::filesystem::path ring = only_ring(live);
  CHECK(replayed_sequences(path) == ring_window(durable, capacity));
  CHECK(replayed_sequences(ring) == ring_window(appended, capacity));

  // The file wins: the log is the file as it is, and the ring is kept aside whole.
  const auto expect_file_wins = [&](const std::vector<std::byte>& file_before, std::uint64_t file_cursor) {
    std::filesystem::path set_aside;
    {
      RingLog log = RingLog::open(path, capacity, write_behind(live.path()));
      set_aside = log.set_aside_live_ring();
      REQUIRE(!set_aside.empty());
      CHECK(set_aside.parent_path() == live.path());
      CHECK(set_aside.filename().string().find(".set-aside-") != std::string::npos);
      CHECK(log.appended() == file_cursor);
      CHECK(log.durable() == file_cursor);
      CHECK(LogReader::open(log.live_path()).appended() == file_cursor);
    }
    CHECK(file_bytes(path) == file_before);  // not a byte of the ring merged in
    CHECK(live.files() == std::vector<std::string>{set_aside.filename().string()});
    return set_aside;
  };

  SECTION("untouched: the ring continues the file, which catches up") { check_resumed(path, live, appended); }

  SECTION("the file appended to by a writer without sync_every") {
    {
      RingLog plain = RingLog::open(path, capacity);
      const vrrl::test::SelfCheckingRecord record = vrrl::test::make_record(vrrl::test::RecordKey{2, 0});
      plain.append(record.slot, record.evidence);
    }
    const std::filesystem::path set_aside = expect_file_wins(file_bytes(path), durable + 1);
    CHECK(replayed_sequences(set_aside) == ring_window(appended, capacity));  // the ring's records, all there
  }
  SECTION("a durable record changed in the ring") {
    flip_byte(ring, layout.record_position((durable - 1) % capacity) + 20);
    expect_file_wins(file_bytes(path), durable);
  }
  SECTION("a durable record changed in the file") {
    flip_byte(path, layout.record_position((durable - 3) % capacity) + 30);
    expect_file_wins(file_bytes(path), durable);
  }
  SECTION("a foreign magic in the ring, beyond what the file has") {
    flip_byte(ring, layout.record_position((appended - 2) % capacity));
    expect_file_wins(file_bytes(path), durable);
  }
  SECTION("the ring's trailer damaged") {
    flip_byte(ring, trailer_position(layout));
    expect_file_wins(file_bytes(path), durable);
  }
  SECTION("the ring from another boot (it survived a reboot, so it was never in memory)") {
    flip_byte(ring, trailer_position(layout) + 136);
    expect_file_wins(file_bytes(path), durable);
  }
  SECTION("the ring truncated to its log (no trailer), or below it") {
    std::filesystem::resize_file(ring,
                                 GENERATE_COPY(layout.file_bytes(capacity), std::uint64_t{100}, std::uint64_t{0}));
    expect_file_wins(file_bytes(path), durable);
  }
  SECTION("the file replaced in place by another log of the same capacity and another cursor") {
    write_other_log(dir.file("other.vrrl"), capacity, 3, 7);
    std::filesystem::copy_file(dir.file("other.vrrl"), path, std::filesystem::copy_options::overwrite_existing);
    expect_file_wins(file_bytes(path), 7);
  }
  SECTION("the file replaced in place by another log with the same cursor") {
    write_other_log(dir.file("other.vrrl"), capacity, 3, durable);
    std::filesystem::copy_file(dir.file("other.vrrl"), path, std::filesystem::copy_options::overwrite_existing);
    expect_file_wins(file_bytes(path), durable);
  }
  SECTION("the file replaced in place by a log of another capacity") {
    write_other_log(dir.file("other.vrrl"), 32, 3, 5);
    std::filesystem::copy_file(dir.file("other.vrrl"), path, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::path set_aside;
    {
      RingLog log = RingLog::open(path, capacity, write_behind(live.path()));
      set_aside = log.set_aside_live_ring();
      CHECK(!set_aside.empty());
      CHECK(log.capacity() == 32);
      CHECK(log.appended() == 5);
    }
    CHECK(replayed_sequences(set_aside) == ring_window(appended, capacity));
  }
  SECTION("the file replaced by a rename (another inode): the old file's ring is found by path and set aside") {
    write_other_log(dir.file("other.vrrl"), capacity, 3, 5);
    std::filesystem::rename(dir.file("other.vrrl"), path);
    expect_file_wins(file_bytes(path), 5);
  }
  SECTION("the file deleted and created again (perhaps with the same inode number)") {
    std::filesystem::remove(path);
    write_other_log(path, capacity, 3, 2);
    expect_file_wins(file_bytes(path), 2);
  }
  SECTION("a record cut short by the kill (cursor stored, magic not): resumed, written as an empty slot") {
    std::uint64_t cursor = appended + 1;
    const int fd = ::open(ring.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, &cursor, sizeof cursor, format::header_offset::cursor) == sizeof cursor);
    ::close(fd);
    RingLog log = RingLog::open(path, capacity, write_behind(live.path()));
    CHECK(log.set_aside_live_ring().empty());
    CHECK(log.appended() == appended + 1);
    CHECK(log.durable() == appended + 1);
    std::vector<std::uint64_t> expected = ring_window(appended + 1, capacity);
    expected.pop_back();
    CHECK(replayed_sequences(log) == expected);
    CHECK(replayed_sequences(path) == expected);
  }
}

TEST_CASE("reopen: something that is not this user's ring at the ring's name is an error, and is left alone",
          "[durability][reopen][rule]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("squatted.vrrl");
  REQUIRE(run_killed_writer(path, live.path(), 1, 2, 0) != 0);
  const std::filesystem::path ring = only_ring(live);
  std::filesystem::remove(ring);

  SECTION("a symbolic link (to a file an attacker wants overwritten)") {
    const auto victim = dir.file("victim");
    write_other_log(victim, capacity, 5, 1);
    const std::vector<std::byte> before = file_bytes(victim);
    std::filesystem::create_symlink(victim, ring);
    const vrrl::Error e =
        vrrl::test::expect_error([&] { (void)RingLog::open(path, capacity, write_behind(live.path())); });
    CHECK(e.kind() == vrrl::ErrorKind::not_a_log_file);
    CHECK(std::string(e.what()).find("a symbolic link") != std::string::npos);
    CHECK(std::string(e.what()).find("Fix: remove") != std::string::npos);
    CHECK(file_bytes(victim) == before);
    CHECK(std::filesystem::is_symlink(ring));
  }
  SECTION("a directory") {
    std::filesystem::create_directory(ring);
    CHECK(vrrl::test::expect_error([&] { (void)RingLog::open(path, capacity, write_behind(live.path())); }).kind() ==
          vrrl::ErrorKind::not_a_log_file);
    CHECK(std::filesystem::is_directory(ring));
  }
  SECTION("a file of another user") {
    if (::geteuid() != 0) {
      WARN("skipped: needs root to make a file owned by another user");
      return;
    }
    const passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    write_other_log(ring, capacity, 5, 1);
    REQUIRE(::chown(ring.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
    const vrrl::Error e =
        vrrl::test::expect_error([&] { (void)RingLog::open(path, capacity, write_behind(live.path())); });
    CHECK(e.kind() == vrrl::ErrorKind::not_a_log_file);
    CHECK(std::string(e.what()).find("another user") != std::string::npos);
  }
  CHECK(live.files().size() == 1);
}
