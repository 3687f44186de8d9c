// Helpers of the durability suite: a private live directory on tmpfs, the
// options of a write-behind log, reading what a log replays, and the disk
// call hook (lib/disk_io.hpp) that tests use to fail or record the engine's
// writes and flushes.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "disk_io.hpp"
#include "support/child_process.hpp"
#include "support/self_checking_record.hpp"
#include "support/temp_dir.hpp"

namespace vrrl::test {

using namespace std::chrono_literals;

// A directory for in-memory rings: under /dev/shm (tmpfs, as in production)
// when it exists, else under the temp dir. Removed afterwards.
class LiveDir {
 public:
  LiveDir() {
    const std::filesystem::path parent = std::filesystem::is_directory("/dev/shm")
                                             ? std::filesystem::path("/dev/shm")
                                             : std::filesystem::temp_directory_path();
    std::string pattern = (parent / "vrrl-durability-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  LiveDir(const LiveDir&) = delete;
  LiveDir& operator=(const LiveDir&) = delete;
  ~LiveDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  // Regular files in the directory, by name.
  [[nodiscard]] std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

// An interval long enough that the background thread never runs during a
// test: passes happen only in sync(), at open and at close.
inline constexpr std::chrono::nanoseconds manual_passes = std::chrono::hours(24);

// `live` must outlive the open call (OpenOptions holds a view of it).
// `format` only matters for a log the open creates.
inline OpenOptions write_behind(const std::filesystem::path& live, std::chrono::nanoseconds every = manual_passes,
                                Format format = Format::v1) {
  return OpenOptions{.prefault = false, .format = format, .sync_every = every, .live_directory = live.native()};
}

inline const char* name_of(Format format) { return format == Format::v2 ? "v2" : "v1"; }

// Sequences (single-writer self-checking records) a log replays, in replay
// order; fails the test on a record that is not exactly some append.
template <class Log>
std::vector<std::uint64_t> replayed_sequences(const Log& log) {
  std::vector<std::uint64_t> sequences;
  for (const RecordView view : log.replay(Recovery::strict)) {
    const std::optional<RecordKey> key = check_record(view.slot(), view.failure());
    REQUIRE(key.has_value());
    REQUIRE(key->producer == 0);
    sequences.push_back(key->index);
  }
  return sequences;
}

inline std::vector<std::uint64_t> replayed_sequences(const std::filesystem::path& path) {
  const LogReader reader = LogReader::open(path);
  return replayed_sequences(reader);
}

// [from, to)
inline std::vector<std::uint64_t> sequence_range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> sequences;
  for (std::uint64_t n = from; n < to; ++n) sequences.push_back(n);
  return sequences;
}

// The last `capacity` of `appended` appends, as a ring keeps them.
inline std::vector<std::uint64_t> ring_window(std::uint64_t appended, std::uint64_t capacity) {
  return sequence_range(appended > capacity ? appended - capacity : 0, appended);
}

template <class Log>
void append_sequences(Log& log, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t n = from; n < to; ++n) append_record(log, n);
}

// Polls `done` (yielding) until it is true; fails after a generous bound so
// that a bug shows as a failure, not a hang. Not a timing assertion: the
// bound is minutes.
template <class Fn>
void wait_until(Fn&& done, const char* what) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) FAIL("gave up waiting for " << what);
    std::this_thread::yield();
  }
}

// --- The disk call hook -----------------------------------------------------

// Replaces the engine's disk calls while alive. Each call is offered to
// `intercept` first, which may fail it (return an errno), let it through (0),
// or, for a flush, report success without flushing (skip_flush: the tests
// that only model the device need no real fdatasync).
class DiskHook {
 public:
  static constexpr int skip_flush = -1;
  enum class Call { pwrite, pread, fdatasync };
  using Intercept = std::function<int(Call call, int fd, const void* data, std::size_t size, off_t offset)>;

  explicit DiskHook(Intercept intercept) {
    const std::lock_guard guard(mutex());
    current() = std::move(intercept);
    detail::set_disk_calls_for_testing(&calls);
  }
  DiskHook(const DiskHook&) = delete;
  DiskHook& operator=(const DiskHook&) = delete;
  ~DiskHook() {
    detail::set_disk_calls_for_testing(nullptr);
    const std::lock_guard guard(mutex());
    current() = nullptr;
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static Intercept& current() {
    static Intercept intercept;
    return intercept;
  }
  static int ask(Call call, int fd, const void* data, std::size_t size, off_t offset) {
    const std::lock_guard guard(mutex());
    return current() ? current()(call, fd, data, size, offset) : 0;
  }
  static ssize_t hooked_pwrite(int fd, const void* data, std::size_t size, off_t offset) {
    if (const int error = ask(Call::pwrite, fd, data, size, offset); error > 0) {
      errno = error;
      return -1;
    }
    return ::pwrite(fd, data, size, offset);
  }
  static ssize_t hooked_pread(int fd, void* data, std::size_t size, off_t offset) {
    if (const int error = ask(Call::pread, fd, data, size, offset); error > 0) {
      errno = error;
      return -1;
    }
    return ::pread(fd, data, size, offset);
  }
  static int hooked_fdatasync(int fd) {
    const int answer = ask(Call::fdatasync, fd, nullptr, 0, 0);
    if (answer == skip_flush) return 0;
    if (answer != 0) {
      errno = answer;
      return -1;
    }
    return ::fdatasync(fd);
  }
  static constexpr detail::DiskCalls calls{
      .pwrite = hooked_pwrite, .pread = hooked_pread, .fdatasync = hooked_fdatasync};
};


}  // namespace vrrl::test
