// Faults with sync_every, one per case: no room for the in-memory ring (the
// live directory missing, not a directory, not writable, a full tmpfs) or
// for the disk file: a clear error at open and nothing half-created; a
// background pass whose pwrite, pread or fdatasync fails (EIO, ENOSPC):
// reported by durable() and sync() with errno and a Fix, counted, and healed
// by a later pass that rewrites everything since the last durable count
// instead of trusting the failed one; a failing last pass at close and a
// failing catch-up at open keep the ring.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <utility>

#include "durability_support.hpp"
#include "support/expect_error.hpp"

namespace {

using vrrl::RingLog;
using vrrl::test::LiveDir;
using vrrl::test::replayed_sequences;
using vrrl::test::ring_window;
using vrrl::test::cannot_mount;
using vrrl::test::on_tiny_tmpfs;
using vrrl::test::write_behind;
using Call = vrrl::test::DiskHook::Call;
using namespace std::chrono_literals;
namespace format = vrrl::format;


std::size_t entries_in(const std::filesystem::path& directory) {
  std::size_t count = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator(directory)) ++count;
  return count;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Fails every call of kind `failing` on any file while `on` is set.
struct Failer {
  Call failing;
  int error;
  std::atomic<bool> on{true};
  std::atomic<int> failed{0};
  vrrl::test::DiskHook hook{[this](Call call, int, const void*, std::size_t, off_t) {
    if (call != failing || !on.load()) return 0;
    ++failed;
    return error;
  }};
};

}  // namespace

TEST_CASE("no live directory, or an unusable one: a clear error at open, nothing created", "[durability][faults]") {
  vrrl::test::TempDir dir;
  const auto path = dir.file("nowhere.vrrl");
  SECTION("missing") {
    const vrrl::Error e =
        vrrl::test::expect_error([&] { (void)RingLog::open(path, 64, write_behind(dir.file("no-such-dir"))); });
    CHECK(e.kind() == vrrl::ErrorKind::io);
    CHECK(e.errno_value() == ENOENT);
    CHECK(contains(e.what(), "live directory"));
    CHECK(contains(e.what(), "Fix: create"));
    CHECK(contains(e.what(), "OpenOptions::live_directory"));
  }
  SECTION("a file") {
    std::filesystem::path file = dir.file("a-file");
    { std::ofstream(file.string()) << "x"; }
    const vrrl::Error e = vrrl::test::expect_error([&] { (void)RingLog::open(path, 64, write_behind(file)); });
    CHECK(e.errno_value() == ENOTDIR);
  }
  SECTION("not writable by this user") {
    if (::geteuid() != 0) {
      WARN("skipped: needs root to switch to another user");
      return;
    }
    const passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    const auto live = dir.file("read-only-live");
    std::filesystem::create_directory(live);
    std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
    std::filesystem::permissions(live, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                           std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                           std::filesystem::perms::others_exec);
    const int status = vrrl::test::run_in_child([&]() -> int {
      if (::setgid(nobody->pw_gid) != 0 || ::setuid(nobody->pw_uid) != 0) return 10;
      try {
        (void)RingLog::open(path, 64, write_behind(live));
        return 11;
      } catch (const vrrl::Error& e) {
        if (e.errno_value() != EACCES) return 12;
        if (!contains(e.what(), "OpenOptions::live_directory")) return 13;
      }
      return 0;
    });
    CHECK(vrrl::test::exit_code(status) == 0);
  }
  CHECK(!std::filesystem::exists(path));
}

TEST_CASE("no room for the in-memory ring (a full tmpfs): ENOSPC at open, nothing created, an existing file untouched",
          "[durability][faults]") {
  vrrl::test::TempDir dir;
  const auto mount_point = dir.file("tiny-live");
  std::filesystem::create_directory(mount_point);
  const auto existing = dir.file("existing.vrrl");
  {
    RingLog plain = RingLog::open(existing, 4096);
    vrrl::test::append_sequences(plain, 0, 100);
  }
  const int status = on_tiny_tmpfs(mount_point, 64, [&]() -> int {
    // A new log: 4096 slots need a 256 KiB ring; 64 KiB of tmpfs.
    try {
      (void)RingLog::open(dir.file("new.vrrl"), 4096, write_behind(mount_point));
      return 10;
    } catch (const vrrl::Error& e) {
      if (e.kind() != vrrl::ErrorKind::io || e.errno_value() != ENOSPC) return 11;
      if (!contains(e.what(), "in-memory ring")) return 12;
      if (!contains(e.what(), "Fix: free memory in")) return 13;
      if (!contains(e.what(), "OpenOptions::live_directory")) return 14;
    }
    if (std::filesystem::exists(dir.file("new.vrrl"))) return 15;  // the disk file this open created is gone
    if (entries_in(mount_point) != 0) return 16;
    // An existing log: the same error, and the file as it was.
    try {
      (void)RingLog::open(existing, 4096, write_behind(mount_point));
      return 17;
    } catch (const vrrl::Error& e) {
      if (e.errno_value() != ENOSPC) return 18;
    }
    if (entries_in(mount_point) != 0) return 19;
    if (replayed_sequences(existing) != vrrl::test::sequence_range(0, 100)) return 20;
    // A log that fits works.
    RingLog small = RingLog::open(dir.file("small.vrrl"), 64, write_behind(mount_point));
    vrrl::test::append_sequences(small, 0, 10);
    small.sync();
    return entries_in(mount_point) == 1 ? 0 : 21;
  });
  if (vrrl::test::exit_code(status) == cannot_mount) {
    WARN("skipped: cannot mount a private tmpfs here (needs CAP_SYS_ADMIN / unshare -m)");
    return;
  }
  INFO("child exit status " << status << " (see the numbered checks in the test)");
  CHECK(vrrl::test::exit_code(status) == 0);
}

TEST_CASE("no room for the disk file: ENOSPC at open, nothing left in either directory", "[durability][faults]") {
  vrrl::test::TempDir dir;
  const LiveDir live;
  const auto mount_point = dir.file("tiny-disk");
  std::filesystem::create_directory(mount_point);
  const int status = on_tiny_tmpfs(mount_point, 64, [&]() -> int {
    try {
      (void)RingLog::open(mount_point / "big.vrrl", 4096, write_behind(live.path()));
      return 10;
    } catch (const vrrl::Error& e) {
      if (e.kind() != vrrl::ErrorKind::io || e.errno_value() != ENOSPC) return 11;
      if (!contains(e.what(), "Fix: free at least")) return 12;
    }
    if (entries_in(mount_point) != 0) return 13;
    if (!live.files().empty()) return 14;
    return 0;
  });
  if (vrrl::test::exit_code(status) == cannot_mount) {
    WARN("skipped: cannot mount a private tmpfs here (needs CAP_SYS_ADMIN / unshare -m)");
    return;
  }
  INFO("child exit status " << status);
  CHECK(vrrl::test::exit_code(status) == 0);
}

TEST_CASE("a background pass that keeps failing is reported and counted, and a later pass heals by rewriting",
          "[durability][faults]") {
  const auto [failing, error, call_name] = GENERATE(table<Call, int, const char*>({
      {Call::pwrite, EIO, "pwrite"},
      {Call::pwrite, ENOSPC, "pwrite"},
      {Call::fdatasync, EIO, "fdatasync"},
      {Call::fdatasync, ENOSPC, "fdatasync"},
      {Call::pread, EIO, "pread"},
  }));
  CAPTURE(call_name, error);
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("failing.vrrl");
  RingLog log = RingLog::open(path, 256, write_behind(live.path(), 1ms));
  vrrl::test::append_sequences(log, 0, 10);
  log.sync();
  {
    Failer failer{failing, error};
    vrrl::test::append_sequences(log, 10, 300);  // wraps: every kind of call happens in a pass
    vrrl::test::wait_until([&] { return log.sync_failures() >= 3; }, "failing background passes");
    const vrrl::Error from_durable = vrrl::test::expect_error([&] { (void)log.durable(); });
    CHECK(from_durable.kind() == vrrl::ErrorKind::io);
    CHECK(from_durable.errno_value() == error);
    CHECK(from_durable.operation() == "sync");
    CHECK(from_durable.path() == path);
    CHECK(contains(from_durable.what(), call_name));
    CHECK(contains(from_durable.what(), error == EIO ? "Fix: the device reported an I/O error" : "Fix: free space"));
    CHECK(contains(from_durable.what(), "in-memory ring"));
    CHECK(vrrl::test::expect_error([&] { (void)log.wait_durable(300, std::chrono::hours(1)); }).errno_value() == error);
    const vrrl::Error from_sync = vrrl::test::expect_error([&] { log.sync(); });
    CHECK(from_sync.errno_value() == error);
    CHECK(log.durability_stats().durable == 10);  // nothing counted that may not be on disk
    CHECK(log.durability_stats().failures == log.sync_failures());
    failer.on = false;
    vrrl::test::wait_until(
        [&] {
          try {
            return log.durable() == 300;
          } catch (const vrrl::Error&) {
            return false;
          }
        },
        "a healing background pass");
  }
  const std::uint64_t failures = log.sync_failures();
  CHECK(failures >= 3);
  CHECK(replayed_sequences(path) == ring_window(300, 256));
  log.sync();
  CHECK(log.sync_failures() == failures);
}

TEST_CASE("after a failed flush the next pass rewrites the slots it had cleared, whatever the page cache shows",
          "[durability][faults]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("rewrite.vrrl");
  constexpr std::uint64_t slots = 16;
  RingLog log = RingLog::open(path, slots, write_behind(live.path()));
  vrrl::test::append_sequences(log, 0, slots);
  log.sync();
  vrrl::test::append_sequences(log, slots, slots + 8);  // reuses slots 0..7, which hold durable records

  // The clears of slots 0..7 reach the page cache, and their flush fails: the
  // device may still hold the old magics.
  bool fail_flush = true;
  std::vector<std::pair<off_t, std::size_t>> writes;
  {
    const vrrl::test::DiskHook hook([&](Call call, int, const void*, std::size_t size, off_t offset) {
      if (call == Call::fdatasync && std::exchange(fail_flush, false)) return EIO;
      if (call == Call::pwrite) writes.emplace_back(offset, size);
      if (call == Call::fdatasync) writes.emplace_back(-1, 0);  // a flush: the end of a step
      return 0;
    });
    const vrrl::Error e = vrrl::test::expect_error([&] { log.sync(); });
    CHECK(e.errno_value() == EIO);
    CHECK(contains(e.what(), "clearing the magics"));
    writes.clear();
    log.sync();  // heals
  }
  // Before its first flush, the healing pass wrote over every reused slot again.
  std::set<std::uint64_t> rewritten;
  for (const auto& [offset, size] : writes) {
    if (offset == -1) break;  // the first flush: step 1 is over
    for (std::uint64_t slot = 0; slot < slots; ++slot) {
      const auto at = static_cast<off_t>(format::record_position(slot));
      if (at >= offset && at < offset + static_cast<off_t>(size)) rewritten.insert(slot);
    }
  }
  CHECK(rewritten == std::set<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  // ... and flushed them before the bodies: three flushes, as in every pass that reuses slots.
  CHECK(std::count(writes.begin(), writes.end(), std::pair<off_t, std::size_t>{-1, 0}) == 3);
  CHECK(log.durable() == slots + 8);
  CHECK(replayed_sequences(path) == ring_window(slots + 8, slots));
}

TEST_CASE("a last pass that fails at close keeps the ring; the next open resumes from it", "[durability][faults]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("close.vrrl");
  {
    Failer failer{Call::fdatasync, EIO};
    failer.on = false;
    RingLog log = RingLog::open(path, 64, write_behind(live.path()));
    vrrl::test::append_sequences(log, 0, 20);
    log.sync();
    vrrl::test::append_sequences(log, 20, 50);
    failer.on = true;
    // log is destroyed here, before the failer: its last pass fails
  }
  CHECK(live.files().size() == 1);
  RingLog log = RingLog::open(path, 64, write_behind(live.path()));
  CHECK(log.set_aside_live_ring().empty());
  CHECK(log.durable() == 50);
  CHECK(replayed_sequences(path) == ring_window(50, 64));
}

TEST_CASE("a catch-up that fails at open throws and keeps the ring; the next open resumes", "[durability][faults]") {
  LiveDir live;
  vrrl::test::TempDir dir;
  const auto path = dir.file("catch_up.vrrl");
  const int status = vrrl::test::run_in_child([&]() -> int {
    RingLog log = RingLog::open(path, 64, write_behind(live.path()));
    vrrl::test::append_sequences(log, 0, 30);
    ::raise(SIGKILL);
    return 0;
  });
  REQUIRE(WIFSIGNALED(status));
  {
    const Failer failer{Call::pwrite, EIO};
    const vrrl::Error e = vrrl::test::expect_error([&] { (void)RingLog::open(path, 64, write_behind(live.path())); });
    CHECK(e.errno_value() == EIO);
    CHECK(contains(e.what(), "pwrite"));
  }
  CHECK(live.files().size() == 1);
  RingLog log = RingLog::open(path, 64, write_behind(live.path()));
  CHECK(log.durable() == 30);
  CHECK(replayed_sequences(path) == ring_window(30, 64));
}
