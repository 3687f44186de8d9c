// detail::WriteBehind: OpenOptions::sync_every for a RingLog. The RingLog
// appends into an in-memory ring (lib/live_ring.hpp: a file on tmpfs,
// prefaulted, never written back, so its pages are never write-protected and
// an append never faults); this engine owns the disk file at the user's path
// (open, locked) and a background thread that copies newly published records
// into it every interval (lib/mirror.hpp) and flushes them. The appending
// thread makes no system call for it. Private to lib/; the story is
// docs/design.md, "Durable without stalls".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include <vrrl/error.hpp>
#include <vrrl/ring_log.hpp>

#include "interval_thread.hpp"
#include "live_ring.hpp"
#include "log_file.hpp"
#include "mirror.hpp"

namespace vrrl::detail {

class WriteBehind {
 public:
  struct Opened {
    std::unique_ptr<LogFile> live;  // what the RingLog appends into
    std::unique_ptr<WriteBehind> engine;
  };
  // RingLog::open with options.sync_every > 0. Checks the live directory
  // before anything is created; opens (or creates) the disk file at `path`
  // as RingLog::open does and locks it; finds the in-memory ring and applies
  // the rule of lib/live_ring.hpp; when a ring left by a killed process
  // continues, makes the disk file catch up before returning (a failure there
  // throws and keeps the ring). A failed open leaves nothing it created.
  [[nodiscard]] static Opened open(const std::filesystem::path& path, std::uint64_t capacity,
                                   const OpenOptions& options);

  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;
  ~WriteBehind();

  // A pass now, on the calling thread (serialised with the background's):
  // every record published before the call is durable when it returns.
  // Throws the pass's error.
  void sync();
  // Throws the last pass's error while the passes are failing.
  [[nodiscard]] std::uint64_t durable() const;
  // Until durable() >= count (true) or timeout (false); throws as durable().
  [[nodiscard]] bool wait_durable(std::uint64_t count, std::chrono::nanoseconds timeout) const;
  [[nodiscard]] DurabilityStats stats() const noexcept;
  [[nodiscard]] std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
  [[nodiscard]] const std::filesystem::path& disk_path() const noexcept { return disk_->path(); }
  [[nodiscard]] const std::filesystem::path& live_path() const noexcept { return ring_.path(); }
  [[nodiscard]] const std::filesystem::path& set_aside() const noexcept { return set_aside_; }

  // Stops the background thread and runs a last pass (the appender is done);
  // if that pass succeeded, removes the in-memory ring, so the disk file is
  // the whole log; otherwise keeps it for the next open. Idempotent.
  void close() noexcept;

 private:
  WriteBehind(std::unique_ptr<LogFile> disk, LogReader live, LiveRing ring, std::uint64_t durable,
              std::filesystem::path set_aside);
  // One pass under the pass mutex; records the outcome; rethrows its error.
  void run_pass(Mirror::Writer writer);
  void start(std::chrono::nanoseconds interval);

  std::unique_ptr<LogFile> disk_;  // the log at the user's path: its lock and descriptor
  LogReader live_;                 // the engine's own read-only mapping of the in-memory ring
  LiveRing ring_;
  Mirror mirror_;  // guarded by pass_mutex_
  std::filesystem::path set_aside_;
  std::mutex pass_mutex_;
  // Release/acquire: a caller that sees a count may rely on those records being on disk.
  std::atomic<std::uint64_t> durable_;
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> overrun_{0};
  std::atomic<bool> failing_{false};  // the last pass failed; failure_ says how
  mutable std::mutex failure_mutex_;
  std::optional<Error> failure_;  // guarded by failure_mutex_
  // wait_durable(): waiters sleep here; every pass's end wakes them.
  mutable std::mutex waiters_mutex_;
  mutable std::condition_variable pass_ended_;
  bool closed_ = false;
  std::unique_ptr<IntervalThread> thread_;  // last: stopped before the rest goes
};

}  // namespace vrrl::detail
