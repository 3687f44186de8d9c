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
//
// Caveats:
//   * One writer per file: RingLog::open takes an advisory lock (flock) and a
//     second writer gets ErrorKind::locked. Readers use LogReader, which takes no
//     lock. A writer that ignores the lock (or truncates the file) is not
//     something vrrl can defend against at append() speed: see docs/design.md.
//   * Records point into the mapping. RecordView and ReplayRange die with the
//     RingLog / LogReader that made them (and with a move of it).
//   * Network filesystems: mmap coherence and flock are not reliable there.
//   * fork(): the child shares the mapping but not the lock's ownership in any
//     useful way; do not append from both sides.
//   * The format version (format::log_version, in the file) and the library
//     version (vrrl::version) are separate numbers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include <vrrl/error.hpp>
#include <vrrl/format.hpp>
#include <vrrl/record.hpp>
#include <vrrl/replay.hpp>
#include <vrrl/version.hpp>

namespace vrrl {

namespace detail {
class MappedLog;  // lib/mapped_log.hpp: open, validate, lock, map; the cold paths
}

struct OpenOptions {
  // Fault every page of the mapping in at open (MAP_POPULATE; for a writer also
  // MADV_POPULATE_WRITE and a read of each page) so the first lap of appends
  // takes no page faults: 2.5 instead of ~90 ns per append on a fresh 64 MiB
  // log (docs/benchmarks.md). Costs open time (about 0.1 s for 64 MiB) and
  // resident memory, and for a writer marks every page dirty, so the first
  // sync() after open writes the whole file. Pages that writeback or sync()
  // has cleaned are write-protected again by the kernel: the first append to
  // each of them after that faults once more (see docs/benchmarks.md).
  bool prefault = false;
};

// The writer. Not thread-safe: one thread appends (see docs/design.md for
// several threads). Movable, not copyable; destruction unmaps and unlocks but
// does not sync.
class RingLog {
 public:
  // Opens `path` for appending, creating it if it does not exist (seed semantics):
  //  * capacity 0 -> ErrorKind::zero_capacity; above format::max_capacity -> capacity_overflow.
  //  * New file: created at its full size (32 + 64 * capacity) with its space
  //    reserved (posix_fallocate) and a header, under a temporary name that is
  //    renamed into place only when complete; a full disk fails here with
  //    ErrorKind::io naming ENOSPC and leaves nothing behind.
  //  * Existing file: magic and version checked (header_mismatch), the header's
  //    capacity validated and used (the argument only matters for a new file),
  //    the file size checked against it (truncated) before anything is mapped.
  //  * Another RingLog holding the file -> ErrorKind::locked.
  //  * Not a regular file -> not_a_log_file; any system call failing -> io.
  [[nodiscard]] static RingLog open(const std::filesystem::path& path, std::uint64_t capacity,
                                    const OpenOptions& options = {});

  RingLog(RingLog&& other) noexcept;
  RingLog& operator=(RingLog&& other) noexcept;
  RingLog(const RingLog&) = delete;
  RingLog& operator=(const RingLog&) = delete;
  ~RingLog();

  // The hot path. Overwrites the oldest record when the ring is full.
  void append(const RecordedSlot& slot) noexcept { append(slot, FailureEvidence{}); }
  void append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept;

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
  void sync();

  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  // The slot the next append() writes (0 ..< capacity), as the seed's cursor().
  [[nodiscard]] std::uint64_t cursor() const noexcept { return next_slot_; }
  // Records appended over the file's lifetime (the header cursor); see docs/format.md.
  [[nodiscard]] std::uint64_t appended() const noexcept { return appended_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept;

 private:
  // The multi-producer log (multi_producer.hpp) opens, validates, replays and
  // syncs through a RingLog and needs the mapping pointers below; it never
  // calls append() and adds nothing to it.
  friend class SharedRingLog;

  explicit RingLog(std::unique_ptr<detail::MappedLog> file);

  std::unique_ptr<detail::MappedLog> file_;
  // Hot-path state, copied out of file_ so append() touches one object.
  std::byte* records_ = nullptr;           // slot 0 inside the mapping
  std::uint64_t* header_cursor_ = nullptr; // header bytes 24..31 inside the mapping
  std::uint64_t capacity_ = 0;
  std::uint64_t next_slot_ = 0;            // appended_ % capacity_, kept to avoid a division
  std::uint64_t appended_ = 0;
};

// A read-only view of a log another process (or thread) may be writing. Takes
// no lock and never writes. Same validation as RingLog::open.
class LogReader {
 public:
  [[nodiscard]] static LogReader open(const std::filesystem::path& path);

  LogReader(LogReader&& other) noexcept;
  LogReader& operator=(LogReader&& other) noexcept;
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;
  ~LogReader();

  // A snapshot walk from the current cursor. With a live writer, records may
  // change under the walk; use it on quiescent logs or accept a best effort.
  [[nodiscard]] ReplayRange replay(Recovery recovery = Recovery::strict) const&;
  // A range over a temporary log would point into a mapping that is gone.
  ReplayRange replay(Recovery recovery = Recovery::strict) const&& = delete;
  [[nodiscard]] std::vector<RecordedSlot> replay_all() const;

  [[nodiscard]] std::uint64_t capacity() const noexcept;
  // The writer's cursor as of now (acquire load from the mapping).
  [[nodiscard]] std::uint64_t appended() const noexcept;
  [[nodiscard]] std::uint64_t cursor() const noexcept { return appended() % capacity(); }
  [[nodiscard]] std::uint32_t flags() const noexcept;
  [[nodiscard]] const std::filesystem::path& path() const noexcept;
  // The whole mapping (header and slots), for tools such as `vrrl verify`.
  [[nodiscard]] const std::byte* data() const noexcept;
  [[nodiscard]] std::uint64_t file_size() const noexcept;

 private:
  explicit LogReader(std::unique_ptr<detail::MappedLog> file);
  std::unique_ptr<detail::MappedLog> file_;
};

// True when a RingLog (in any process) holds `path` open for writing.
// Throws vrrl::Error (io) when the file cannot be opened at all.
[[nodiscard]] bool is_locked_by_writer(const std::filesystem::path& path);

// ---------------------------------------------------------------------------
// The publish protocol (docs/design.md). A process killed between any two of
// these stores leaves a log whose replay shows every completed append, in
// order, and no half-written record:
//  1. clear the slot's magic   -> the old record is gone, the slot reads empty;
//  2. write the body (bytes 4..63);
//  3. advance the header cursor -> replay now starts after this slot;
//  4. write the magic          -> the record becomes visible.
// Writing the magic before the cursor would let a kill leave the newest record
// in the slot replay reads first, i.e. out of order.
inline void RingLog::append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept {
  std::byte* const record = records_ + next_slot_ * format::record_bytes;
  // The magic is 4-byte aligned (the mapping is page aligned, records sit at
  // 32 + 64 i), as atomic_ref requires.
  std::atomic_ref<std::uint32_t> magic(
      *std::launder(reinterpret_cast<std::uint32_t*>(record + format::record_offset::magic)));

  magic.store(format::empty_record_magic, std::memory_order_relaxed);
  // Release fence: the cleared magic must be visible before any body byte
  // changes; pairs with the acquire fence of a reader that re-checks the slot.
  std::atomic_thread_fence(std::memory_order_release);
  wire::encode_body(record, slot, evidence);
  ++appended_;
  // Release: the body is complete for anyone who loads the cursor with acquire.
  std::atomic_ref<std::uint64_t>(*header_cursor_).store(appended_, std::memory_order_release);
  // Release: cursor and body are visible before the slot reads as valid.
  magic.store(format::record_magic, std::memory_order_release);
  next_slot_ = next_slot_ + 1 == capacity_ ? 0 : next_slot_ + 1;
}

}  // namespace vrrl
