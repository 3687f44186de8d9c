// A full disk while segments are being prepared, on a tiny tmpfs in a
// private mount namespace (skipped with a message when that is not
// permitted). The writer never takes SIGBUS: preparations fail in the
// background thread, are counted and reported by the next sync(), appends are
// dropped (counted, no sequence consumed) until space is back, and then the
// stream continues. With retention, recycling keeps the recording within its
// space for ever.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vrrl/recording.hpp>

#include "recording_support.hpp"
#include "support/temp_dir.hpp"

namespace {

constexpr int cannot_mount = 50;

// In a child with its own mount namespace: mount a `size_kib` tmpfs over
// `where`, then run `body`; its return value is the exit code (an exception exits 98).
template <class Fn>
int on_tiny_tmpfs(const std::filesystem::path& where, int size_kib, Fn&& body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 99;
    try {
      if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        ::_exit(cannot_mount);
      }
      const std::string options = "size=" + std::to_string(size_kib) + "k";
      if (::mount("vrrl-tiny", where.c_str(), "tmpfs", 0, options.c_str()) != 0) ::_exit(cannot_mount);
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      code = 98;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return status;
}

void check_status(int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == cannot_mount) {
    WARN("skipped: cannot mount a private tmpfs here (needs CAP_SYS_ADMIN / unshare -m)");
    return;
  }
  INFO("child status " << status << " (a signal is " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
                       << "; exit codes name the failed check in the test)");
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE("full disk while preparing: dropped and counted, reported by sync(), never SIGBUS; resumes when space is back",
          "[recording][full_disk]") {
  vrrl::test::TempDir dir;
  const auto mount_point = dir.file("tiny");
  std::filesystem::create_directory(mount_point);
  const int status = on_tiny_tmpfs(mount_point, 256, [&]() -> int {
    const auto run = mount_point / "run";
    // Room to give back later.
    vrrl::test::write_text(mount_point / "filler", std::string(64 * 1024, 'x'));
    auto options = vrrl::test::small_segments(64);  // 4 KiB + 32 bytes: two tmpfs pages per segment
    options.roll_timeout = std::chrono::milliseconds(1);
    vrrl::Recording recording = vrrl::Recording::open(run, options);
    vrrl::StreamWriter writer = recording.stream("a");
    std::uint32_t calls = 0;  // every append call, stored or dropped: the record's key
    const auto append = [&] {
      vrrl::test::append_keyed(writer, 0, calls, calls);
      ++calls;
    };
    // Until a preparation failed for want of space, and appends are dropped
    // (a slow build may also drop earlier, while the disk still has room).
    while ((writer.stats().prepare_failures == 0 || writer.dropped() == 0) && calls < 10'000'000) append();
    if (writer.dropped() == 0) return 10;
    for (int k = 0; k < 1000; ++k) append();
    const std::uint64_t stored_while_full = writer.appended();
    try {
      writer.sync();
      return 11;
    } catch (const vrrl::Error& e) {
      if (e.kind() != vrrl::ErrorKind::io || e.errno_value() != ENOSPC) return 12;
      if (std::string(e.what()).find("posix_fallocate") == std::string::npos) return 13;
    }
    if (!writer.last_error() || writer.last_error()->errno_value() != ENOSPC) return 14;
    if (writer.stats().prepare_failures == 0 || writer.stats().drop_episodes == 0) return 15;

    // Space comes back: the background thread's next try succeeds, and the
    // writer resumes at its next check (every 64 dropped appends).
    std::filesystem::remove(mount_point / "filler");
    while (writer.appended() == stored_while_full && calls < 20'000'000) append();
    if (writer.appended() == stored_while_full) return 16;
    for (int k = 0; k < 100; ++k) append();
    const std::uint64_t appended = writer.appended();
    const std::uint64_t dropped = writer.dropped();
    if (appended + dropped != calls) return 17;
    writer = vrrl::StreamWriter(std::move(writer));  // (moving keeps the counts)
    if (writer.dropped() != dropped) return 18;
    {
      vrrl::StreamWriter closing = std::move(writer);
    }

    // The records: contiguous sequences; the keys skip exactly the dropped calls.
    const vrrl::RecordingReader reader = vrrl::RecordingReader::open(run);
    std::uint64_t sequence = 0;
    std::uint64_t previous_key = 0;
    std::uint64_t skipped = 0;
    for (const vrrl::StreamRecord& item : reader.replay()) {
      const auto key = vrrl::test::check_keyed(item.record.slot(), item.record.failure());
      if (!key) return 20;
      if (item.sequence != sequence) return 21;
      if (sequence != 0 && key->index <= previous_key) return 22;
      skipped += key->index - (sequence == 0 ? 0 : previous_key + 1);
      previous_key = key->index;
      ++sequence;
    }
    if (sequence != appended) return 23;
    if (skipped + (calls - 1 - previous_key) != dropped) return 24;
    if (reader.stream_info().front().dropped != dropped) return 25;  // `.dropped`, written at close
    return 0;
  });
  check_status(status);
}

TEST_CASE("with retention, recycling keeps a recording inside a small disk for ever", "[recording][full_disk]") {
  vrrl::test::TempDir dir;
  const auto mount_point = dir.file("tiny");
  std::filesystem::create_directory(mount_point);
  const int status = on_tiny_tmpfs(mount_point, 128, [&]() -> int {
    auto options = vrrl::test::small_segments(64);
    options.retain_segments = 4;  // at most 4 kept + prepared + spare: 12 pages of the 32
    vrrl::Recording recording = vrrl::Recording::open(mount_point / "run", options);
    vrrl::StreamWriter writer = recording.stream("a");
    vrrl::test::append_keys(writer, 0, 0, 100'000);
    writer.sync();
    if (writer.dropped() != 0) return 10;
    if (writer.stats().prepare_failures != 0) return 11;
    if (writer.stats().segments_recycled == 0) return 12;
    const vrrl::RecordingReader reader = vrrl::RecordingReader::open(mount_point / "run");
    if (reader.stream_info().front().end_sequence != 100'000) return 13;
    return 0;
  });
  check_status(status);
}
