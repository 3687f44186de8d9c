// Background durability (OpenOptions::sync_every, RecordingOptions::sync_every):
// a writer appends into an in-memory twin of its log (lib/live_ring.hpp: a
// file on tmpfs, prefaulted, never written back, so its pages are never
// write-protected and an append never faults), and passes copy newly
// published records from the twin into the log on disk (lib/mirror.hpp) and
// flush them. The appending thread makes no system call for it. Private to
// lib/; the story is docs/design.md, "Durable without stalls".
//
//   DurableCopy  one disk log and its twin: passes, durable(), failures, the
//                catch-up of a twin a killed writer left, the last pass at close.
//                Passes run on whatever thread calls them (a recording's
//                background thread runs those of all its segments).
//   WriteBehind  RingLog's: opens the disk log at the user's path, owns it, a
//                DurableCopy of it, and a thread that runs a pass every interval.
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

class DurableCopy {
 public:
  struct Attached {
    std::unique_ptr<LogFile> live;  // the twin, open for appending: what the writer appends into
    std::unique_ptr<DurableCopy> copy;
  };
  // The twin of `disk` (open for writing, locked by the caller, which keeps
  // it alive as long as the DurableCopy) in `live_directory`, by the rule of
  // lib/live_ring.hpp: a twin a killed writer left that continues the disk
  // log is resumed, and the disk log caught up from it before this returns
  // (a failure there throws and keeps the twin); otherwise a fresh twin is
  // made from the disk log. A failure leaves no twin this call made.
  [[nodiscard]] static Attached attach(LogFile& disk, const std::filesystem::path& live_directory);

  DurableCopy(const DurableCopy&) = delete;
  DurableCopy& operator=(const DurableCopy&) = delete;
  // close(), if not yet.
  ~DurableCopy();

  // One pass: every record published in the twin before the call is durable
  // when it returns (any thread; passes are serialised). Throws its error.
  void pass();
  // Throws the last pass's error while the passes are failing.
  [[nodiscard]] std::uint64_t durable() const;
  // Until durable() >= count (true) or timeout (false); throws as durable().
  [[nodiscard]] bool wait_durable(std::uint64_t count, std::chrono::nanoseconds timeout) const;
  [[nodiscard]] DurabilityStats stats() const noexcept;
  [[nodiscard]] std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
  [[nodiscard]] const std::filesystem::path& live_path() const noexcept { return ring_.path(); }
  [[nodiscard]] const std::filesystem::path& set_aside() const noexcept { return set_aside_; }

  // The writer is done: a last pass, and if it succeeded the twin is removed
  // (the disk log is the whole log); otherwise the twin stays for the next
  // attach to catch up from. Returns whether the last pass succeeded.
  // Idempotent (later calls return the first answer).
  bool close() noexcept;

 private:
  DurableCopy(LogFile& disk, LogReader live, LiveRing ring, std::uint64_t durable, std::filesystem::path set_aside);
  // One pass under the pass mutex; records the outcome; rethrows its error.
  void run_pass(Mirror::Writer writer);

  LogFile& disk_;
  LogReader live_;  // this copy's own read-only mapping of the twin
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
  std::optional<bool> closed_;  // the last pass's outcome, once closed
};

class WriteBehind {
 public:
  struct Opened {
    std::unique_ptr<LogFile> live;  // what the RingLog appends into
    std::unique_ptr<WriteBehind> engine;
  };
  // RingLog::open with options.sync_every > 0. Checks the live directory
  // before anything is created; opens (or creates) the disk log at `path` as
  // RingLog::open does and locks it; attaches its DurableCopy; starts the
  // thread. A failed open leaves nothing it created.
  [[nodiscard]] static Opened open(const std::filesystem::path& path, std::uint64_t capacity,
                                   const OpenOptions& options);

  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;
  ~WriteBehind();

  [[nodiscard]] DurableCopy& copy() noexcept { return *copy_; }
  [[nodiscard]] const DurableCopy& copy() const noexcept { return *copy_; }
  [[nodiscard]] const std::filesystem::path& disk_path() const noexcept { return disk_->path(); }

  // Stops the thread, then the copy's close(). Idempotent.
  void close() noexcept;

 private:
  WriteBehind(std::unique_ptr<LogFile> disk, std::unique_ptr<DurableCopy> copy) noexcept;

  std::unique_ptr<LogFile> disk_;           // the log at the user's path: its lock and descriptor
  std::unique_ptr<DurableCopy> copy_;       // refers to *disk_
  std::unique_ptr<IntervalThread> thread_;  // last: stopped before the rest goes
};

// The live directory for `options`: OpenOptions::live_directory or /dev/shm.
// Throws io (with a Fix) when it is missing, not a directory or not writable;
// `path` names the log the caller is opening, for the message.
[[nodiscard]] std::filesystem::path usable_live_directory(std::string_view live_directory,
                                                          const std::filesystem::path& path);

}  // namespace vrrl::detail
