// vrrl: a memory-mapped, zero-copy ring log of 64-byte dispatch records.
//
// A log file is a 32-byte header and `capacity` packed 64-byte record slots
// (VRRL v1, docs/format.md), byte-compatible with the original Rust RingLog.
// The whole file is mapped: RingLog::append() is a handful of plain stores into
// the mapping plus an atomic cursor update (no syscall, allocation, lock or
// error branch), and replay walks the mapping without copying. When the ring is
// full the oldest record is overwritten; replay returns the oldest first.
//
// Durability, in the words LMDB would use:
//   * append() alone survives the process being killed (kill -9, a crash) at
//     any instruction: the kernel owns the pages. Replay then shows every record
//     whose append() returned, oldest first, in append order, and never a
//     half-written one (docs/design.md, "publish protocol").
//   * append() alone does NOT survive power loss or a kernel crash. sync()
//     returns once everything appended before it is on stable storage.
//   * OpenOptions::sync_every: a background thread makes appended records
//     durable on an interval, and append() still makes no system call and
//     takes no page fault for it (the ring lives in memory and is copied to
//     the file; see OpenOptions). durable() says how many records are on
//     stable storage.
//
// Caveats:
//   * One writer per file: RingLog::open takes an advisory lock (flock) and a
//     second writer gets ErrorKind::locked. Readers use LogReader, which takes no
//     lock and cannot make a writer fail. A writer that ignores the lock (or truncates the file) is not
//     something vrrl can defend against at append() speed: see docs/design.md.
//   * Records point into the mapping. RecordView and ReplayRange die with the
//     RingLog / LogReader that made them (and with a move of it).
//   * Network filesystems: mmap coherence and flock are not reliable there.
//   * fork(): the child shares the mapping and the writer's lock; do not
//     append from both sides, and open logs in the process that appends.
//   * The format version (format::log_version, in the file) and the library
//     version (vrrl::version) are separate numbers.
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include <vrrl/detail/publish.hpp>
#include <vrrl/error.hpp>
#include <vrrl/format.hpp>
#include <vrrl/record.hpp>
#include <vrrl/replay.hpp>
#include <vrrl/version.hpp>

namespace vrrl {

namespace detail {
class LogFile;      // lib/log_file.hpp: open, validate, lock, map; the cold paths
class WriteBehind;  // lib/write_behind.hpp: OpenOptions::sync_every
}

struct OpenOptions {
  // Fault every page of the mapping in at open (MAP_POPULATE; for a writer also
  // MADV_POPULATE_WRITE and a read of each page) so the first lap of appends
  // takes no page faults (docs/benchmarks.md). Costs open time and resident
  // memory, and for a writer marks every page dirty, so the first sync() after
  // open writes the whole file. Pages that writeback or sync() has cleaned are
  // write-protected again by the kernel: the first append to each of them
  // after that faults once more (see docs/benchmarks.md).
  bool prefault = false;
  // The format of a log this call creates (docs/format.md). An existing file
  // is opened as what it is, whatever this says. v1 (the default) is the
  // seed's format; v2 aligns slots and checks every record, so that after a
  // power cut a reader keeps exactly the records that are whole and current.
  Format format = Format::v1;

  // Background durability (RingLog::open only; zero, the default, turns it
  // off and changes nothing). With an interval, append() writes into an
  // in-memory copy of the log (a file in `live_directory`, prefaulted; its
  // pages are never written back, so append() never faults on them), and a
  // background thread copies the records published since its last pass into
  // the file at `path` and flushes them (pwrite + fdatasync), every interval.
  // The file at `path` is a valid log (v1 or v2, as created) at every
  // moment, also after a power cut in the middle of a pass; it lags the ring
  // by at most an interval plus a pass. Readers of `path` see the records once a pass has
  // copied them; live readers should follow live_path() instead (a pass
  // writes a batch's cursor before its magics, so a Follower on `path` would
  // count a pass in progress as lost). See docs/design.md, "Durable without
  // stalls", for what is on disk at any moment and for what open does with
  // an in-memory ring a killed process left behind. Costs a thread per log, a
  // second copy of the log in memory (plus an 8 MiB staging buffer), and per
  // pass, for v1, three fdatasyncs writing each new record's slot three times
  // (v2: two, writing it once).
  std::chrono::nanoseconds sync_every{0};
  // Where the in-memory copy lives (sync_every only): a tmpfs directory; empty
  // means /dev/shm. Missing, not writable, or without room for the log: open
  // throws ErrorKind::io and creates nothing. Read only during open (a view,
  // so that OpenOptions stays a literal type: `constexpr OpenOptions` works).
  std::string_view live_directory{};
};

// What background durability has done since open (RingLog::durability_stats).
struct DurabilityStats {
  std::uint64_t durable = 0;   // as durable(), without throwing
  std::uint64_t passes = 0;    // passes that completed (background, sync(), the catch-up at open)
  std::uint64_t failures = 0;  // passes that failed (as sync_failures())
  std::uint64_t overrun = 0;   // records overwritten in the ring before a pass could copy them
};

// The writer. Not thread-safe: one thread appends (for several threads, see
// <vrrl/recording.hpp> and <vrrl/multi_producer.hpp>). Movable, not copyable;
// destruction unmaps and unlocks but does not sync. Aligned to a cache line,
// so RingLogs of different threads side by side in memory never share one.
class VRRL_EXPORT alignas(64) RingLog {
 public:
  // Opens `path` for appending, creating it if it does not exist (seed semantics):
  //  * capacity 0 -> ErrorKind::zero_capacity; above format::max_capacity -> capacity_overflow.
  //  * New file: created at its full size (32 + 64 * capacity) with its space
  //    reserved (posix_fallocate) and a header, unnamed (or under a short hidden
  //    name) and linked into place only when complete; a full disk fails here
  //    with ErrorKind::io naming ENOSPC and leaves nothing behind. A symbolic
  //    link at `path`, dangling or not, is followed, as open(2) does.
  //  * Existing file: magic and version checked (header_mismatch), the header's
  //    capacity validated and used (the argument only matters for a new file),
  //    the file size checked against it (truncated) before anything is mapped,
  //    and its blocks reserved (a sparse log on a full disk fails here with
  //    ENOSPC, not with SIGBUS in append()). A header cursor at or above
  //    format::max_cursor is damage: the count restarts at the slot it names.
  //  * Another writer holding the file -> ErrorKind::locked; the message says
  //    whether it is another process, this process, or a parent across fork().
  //  * Not a regular file -> not_a_log_file; any system call failing -> io.
  //  * options.sync_every > 0 (see OpenOptions): also finds or makes the
  //    in-memory ring; the live directory missing or full -> io, and nothing
  //    is created. A ring a killed writer left behind that continues the
  //    file's history is resumed, and the file is caught up from it before
  //    open returns (a failure there throws io and keeps the ring); a ring
  //    that disagrees with the file is set aside (set_aside_live_ring()) and
  //    the file wins. Negative -> io (EINVAL).
  [[nodiscard]] static RingLog open(const std::filesystem::path& path, std::uint64_t capacity,
                                    const OpenOptions& options = {});

  RingLog(RingLog&& other) noexcept;
  RingLog& operator=(RingLog&& other) noexcept;
  RingLog(const RingLog&) = delete;
  RingLog& operator=(const RingLog&) = delete;
  // With sync_every, makes every record durable first (a last pass) and
  // removes the in-memory ring; if that pass fails, the ring stays and the
  // next open catches up from it. Call sync() first to learn of a failure.
  ~RingLog();

  // The hot path: the publish protocol of <vrrl/detail/publish.hpp>, inline.
  // Overwrites the oldest record when the ring is full.
  void append(const RecordedSlot& slot) noexcept { append(slot, FailureEvidence{}); }
  void append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept {
    if (detail::append_record(hot_, slot, evidence)) detail::wrap_lap(hot_);
  }

  // Batch appends for a loop that does nothing but append between calls:
  // the appender holds the hot state in a local value the compiler keeps in
  // registers, and writes it back to the log when destroyed. While an
  // Appender is alive, append through it only (not through this RingLog or a
  // second Appender). The records are published exactly as by append().
  class Appender;
  [[nodiscard]] Appender appender() noexcept;

  // Oldest first, skipping empty slots; see ReplayRange for lifetimes.
  // Recovery::strict throws vrrl::Error (header_mismatch) on a slot whose magic
  // is neither 0 nor 0xDEADBEEF, naming the slot. Replay, replay_all and sync
  // throw ErrorKind::truncated if another process shrank the file since open
  // (append() cannot check: it would SIGBUS; docs/design.md, "A shrunk file").
  [[nodiscard]] ReplayRange replay(Recovery recovery = Recovery::strict) const&;
  // A range over a temporary log would point into a mapping that is gone.
  ReplayRange replay(Recovery recovery = Recovery::strict) const&& = delete;
  // The seed's replay_all: every valid record, oldest first, copied out.
  [[nodiscard]] std::vector<RecordedSlot> replay_all() const;

  // msync(MS_SYNC) of the whole mapping: when it returns, every record
  // appended before the call is on stable storage. Throws ErrorKind::io with
  // errno on failure and does not retry: after a failed msync the kernel may
  // have dropped the dirty pages, so the records since the last good sync()
  // must be treated as lost.
  // With sync_every: a pass of the background copy, run on the calling
  // thread; when it returns every record appended before the call is on
  // stable storage. Throws ErrorKind::io with errno and a Fix when the pass
  // fails; the records stay in the in-memory ring, and the next pass rewrites
  // every record since durable() (never assuming the failed one landed).
  // May be called from any thread, also while another appends.
  void sync();

  // Records known to be on stable storage, in the header cursor's count: once
  // durable() > n, the n-th append is on stable storage unless the ring has
  // overwritten it since (with sync_every, a record the ring overwrote before
  // a pass could copy it is counted in durability_stats().overrun and never
  // reaches the file: append less than a ring's worth per interval, or use a
  // bigger ring, to avoid that). With sync_every it grows after
  // every background pass and may be called from any thread; it throws the
  // failure (ErrorKind::io, errno, Fix) while the background passes are
  // failing, i.e. from a failed pass until one succeeds. Without sync_every:
  // the count as of the last successful sync() of this object (0 before it).
  [[nodiscard]] std::uint64_t durable() const;
  // Blocks until durable() >= count (true) or `timeout` has passed (false);
  // throws as durable() does. With sync_every the background pass that gets
  // there wakes the caller (no polling); without it, nothing makes records
  // durable but sync(), so it returns at once. Any thread, with sync_every.
  [[nodiscard]] bool wait_durable(std::uint64_t count, std::chrono::nanoseconds timeout) const;
  // Failed passes (sync_every) or failed sync() calls since open; never reset.
  [[nodiscard]] std::uint64_t sync_failures() const noexcept;
  // sync_every: the background copy's counters; without it, zeros but for
  // durable and failures.
  [[nodiscard]] DurabilityStats durability_stats() const noexcept;
  // sync_every: the in-memory ring being appended to (a VRRL v1 log that
  // readers can follow live); empty without it.
  [[nodiscard]] const std::filesystem::path& live_path() const noexcept;
  // sync_every: a ring that open found disagreeing with the file and renamed
  // aside (it still holds its records, as a VRRL v1 log); empty if none.
  [[nodiscard]] const std::filesystem::path& set_aside_live_ring() const noexcept;

  [[nodiscard]] std::uint64_t capacity() const noexcept { return hot_.capacity; }
  // The slot the next append() writes (0 ..< capacity), as the seed's cursor().
  [[nodiscard]] std::uint64_t cursor() const noexcept { return hot_.next_slot; }
  // Records appended over the file's lifetime (the header cursor); see docs/format.md.
  [[nodiscard]] std::uint64_t appended() const noexcept { return hot_.appended(); }
  // The path given to open (with sync_every: the disk file, not the ring).
  [[nodiscard]] const std::filesystem::path& path() const noexcept;
  [[nodiscard]] Format format() const noexcept { return hot_.format; }

 private:
  RingLog(std::unique_ptr<detail::LogFile> file, std::unique_ptr<detail::WriteBehind> durability) noexcept;

  detail::AppendState hot_;  // everything append() touches, on one cache line
  // sync_every: the disk file and the background copy; null without it.
  // Declared before file_, so the ring is unmapped and unlocked before the
  // disk file is unlocked.
  std::unique_ptr<detail::WriteBehind> durability_;
  std::unique_ptr<detail::LogFile> file_;  // the log append() writes (with sync_every: the in-memory ring)
  std::uint64_t synced_ = 0;               // without sync_every: the count at the last successful sync()
  std::uint64_t failed_syncs_ = 0;         // without sync_every: failed sync() calls
};

// A read-only view of a log another process (or thread) may be writing. Takes
// no lock and never writes. Same validation as RingLog::open.
class RingLog::Appender {
 public:
  explicit Appender(RingLog& log) noexcept : log_(log), state_(log.hot_) {}
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;
  ~Appender() { log_.hot_ = state_; }

  void append(const RecordedSlot& slot) noexcept { append(slot, FailureEvidence{}); }
  void append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept {
    if (detail::append_record(state_, slot, evidence)) detail::wrap_lap(state_);
  }
  [[nodiscard]] std::uint64_t appended() const noexcept { return state_.appended(); }

 private:
  RingLog& log_;
  detail::AppendState state_;
};

inline RingLog::Appender RingLog::appender() noexcept { return Appender(*this); }

class VRRL_EXPORT LogReader {
 public:
  [[nodiscard]] static LogReader open(const std::filesystem::path& path);

  LogReader(LogReader&& other) noexcept;
  LogReader& operator=(LogReader&& other) noexcept;
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;
  ~LogReader();

  // A zero-copy walk from the current cursor. With a live writer, records may
  // change under the walk: for a log that is being written, read with
  // vrrl::read_snapshot or a Follower (<vrrl/follower.hpp>), which validate
  // every record they copy.
  [[nodiscard]] ReplayRange replay(Recovery recovery = Recovery::strict) const&;
  // A range over a temporary log would point into a mapping that is gone.
  ReplayRange replay(Recovery recovery = Recovery::strict) const&& = delete;
  [[nodiscard]] std::vector<RecordedSlot> replay_all() const;

  [[nodiscard]] std::uint64_t capacity() const noexcept;
  // The writer's cursor as of now (acquire load from the mapping).
  [[nodiscard]] std::uint64_t appended() const noexcept;
  [[nodiscard]] std::uint64_t cursor() const noexcept { return appended() % capacity(); }
  [[nodiscard]] std::uint32_t flags() const noexcept;
  [[nodiscard]] Format format() const noexcept;
  // Where the slots are in this file's format.
  [[nodiscard]] const format::Layout& layout() const noexcept;
  // v2: the count the last completed sync() made durable (0 for v1 files).
  [[nodiscard]] std::uint64_t synced() const noexcept;
  [[nodiscard]] const std::filesystem::path& path() const noexcept;
  // The whole mapping (header and slots), for tools such as `vrrl verify`.
  [[nodiscard]] const std::byte* data() const noexcept;
  [[nodiscard]] std::uint64_t file_size() const noexcept;
  // When the file's contents last changed (st_mtime, ns since the epoch; one
  // fstat). Throws io if fstat fails.
  [[nodiscard]] std::int64_t last_modified_ns() const;
  // Throws ErrorKind::truncated (naming `operation`) when another process has
  // shrunk the file below what is mapped: touching the mapping would SIGBUS.
  void check_not_shrunk(const char* operation) const;

 private:
  explicit LogReader(std::unique_ptr<detail::LogFile> file) noexcept;
  std::unique_ptr<detail::LogFile> file_;
};

// True when a writer (RingLog, SharedRingLog, a recording stream, in any
// process) holds `path` open. Takes no lock (it asks with F_OFD_GETLK), so a
// writer opening at the same moment never fails because of it. Throws
// vrrl::Error (io) when the file cannot be opened at all.
[[nodiscard]] VRRL_EXPORT bool is_locked_by_writer(const std::filesystem::path& path);

}  // namespace vrrl
