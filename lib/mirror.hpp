// detail::Mirror: keeps a disk file a durable copy of a live log that
// another thread (or process) appends to, in passes (write-behind). The live
// log is usually the in-memory ring of a RingLog opened with sync_every
// (lib/write_behind.hpp); any live VRRL v1 log and any disk log of the same
// capacity will do, e.g. a recording's segment and its disk copy. Private to
// lib/.
//
// One pass makes every record visible in the live log (up to its cursor as
// of the start of the pass) durable in the disk file. For VRRL v1, with three
// flushes, in the order of the in-memory publish protocol (docs/design.md,
// "Durable without stalls"):
//   1. clear the magics of the slots the pass reuses (bodies unchanged), flush;
//   2. write the new bodies with magic 0 and the header cursor, flush;
//   3. write the new magics, flush.
// For VRRL v2, whose records check themselves and their sequence and whose
// slots never straddle a sector: the records (commit words included) and the
// cursor, flush; the header's `synced`, flush.
// So the disk file is a valid VRRL v1 log at every moment and after a power
// cut at any moment, even when the device persists any subset of the 512-byte
// sectors written since the last flush: a record straddling two sectors only
// becomes valid after both of its halves are durable, and no record is valid
// on disk before the cursor that puts it in order.
//
// Records are read from the live log with the Follower's validation rule,
// in batches: a record counts only if its magic was 0xDEADBEEF before and
// after the copy and the cursor, loaded after the copy, shows that no later
// append began on its slot. A sequence the writer overwrote before the pass
// copied it (more than a ring's worth appended since the last pass) is
// written as an empty slot and counted as overrun; such a lapped pass copies
// only the newest records (as many as the 8 MiB staging buffer holds) and
// empties every other slot that may still hold one.
//
// After a failed write or flush the pass throws and durable() stays where it
// was: the next pass starts again from there and rewrites every slot since,
// without trusting the page cache (the kernel may have dropped pages it
// failed to write back).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include <vrrl/format.hpp>
#include <vrrl/ring_log.hpp>

namespace vrrl::detail {

class Mirror {
 public:
  // Where the owner remembers the pass in flight, so that a process killed
  // in the middle of a pass can tell at the next open which disk states are
  // its own (the live ring's trailer, lib/live_ring.hpp).
  class Journal {
   public:
    // Before the pass writes anything: the cursor it will write to the disk header.
    virtual void pass_started(std::uint64_t target) = 0;
    // After the last flush: the new durable count and the disk bytes of its last slot.
    virtual void pass_completed(std::uint64_t durable, std::span<const std::byte, format::record_bytes> last_slot) = 0;

   protected:
    ~Journal() = default;
  };

  // Whether a record whose cursor is published but whose magic is not may
  // still be completed by a writer (then the pass stops before it) or not
  // (the writer is gone or is the caller: the slot is written empty).
  enum class Writer { may_be_appending, quiescent };

  struct PassReport {
    std::uint64_t durable = 0;  // the count after the pass
    std::uint64_t copied = 0;   // records the pass made durable
    std::uint64_t overrun = 0;  // sequences overwritten (or never completed) before the pass could copy them
  };

  // `live` must outlive the Mirror and hold the same capacity as the disk
  // file open as `disk_fd` (read-write). The disk file holds the live log's
  // history up to `durable` records, which must not exceed the live cursor.
  Mirror(const LogReader& live, int disk_fd, std::filesystem::path disk_path, std::uint64_t durable, Journal* journal);

  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // One pass (see above). Not thread-safe: the owner serialises passes.
  // Throws vrrl::Error (io, operation "sync") when a disk call fails.
  PassReport pass(Writer writer);

  [[nodiscard]] std::uint64_t durable() const noexcept { return durable_; }
  [[nodiscard]] const std::filesystem::path& disk_path() const noexcept { return disk_path_; }

 private:
  // A run of `count` sequences from `first` whose slots are contiguous in the
  // file, and where its bytes go in memory: its own place in the staging
  // buffer when the whole pass fits there (`staged`), else the buffer's start.
  struct Chunk {
    std::uint64_t first;
    std::uint64_t count;
    std::byte* buffer;
    bool staged;
  };
  template <class Fn>
  void for_each_chunk(std::uint64_t first, std::uint64_t end, Fn&& fn);

  [[nodiscard]] std::uint64_t pass_end(Writer writer) const noexcept;
  bool clear_magics(std::uint64_t first, std::uint64_t end);
  bool clear_lapped_ring();
  void write_slots(std::uint64_t first, std::uint64_t end, PassReport& report,
                   std::span<std::byte, format::record_bytes> last_slot);
  void write_header_word(std::size_t offset, std::uint64_t value, const char* what);
  void write_magics(std::uint64_t first, std::uint64_t end, std::span<std::byte, format::record_bytes> last_slot);
  // Copies the chunk's records out of the live log into its buffer with
  // magic 0, or zeros for the ones that fail validation; marks valid_.
  void copy_validated(const Chunk& chunk, std::uint64_t pass_first);

  const std::byte* live_;  // the live log's mapping: header, then the slots
  std::uint64_t capacity_;
  format::Layout layout_;  // the live log's, and the disk file's (the same format)
  int disk_fd_;
  std::filesystem::path disk_path_;
  std::uint64_t durable_;
  // Set after a failure (and at start): what the page cache shows may not be
  // what the device holds, so the next clear rewrites every slot it covers.
  bool disk_uncertain_ = true;
  Journal* journal_;
  std::vector<std::byte> stage_;     // slots as they go to the disk: a whole pass, or one chunk
  std::vector<std::uint8_t> valid_;  // per sequence of the pass: copied with a valid magic
  // Per slot: the disk may hold a record there (1 until a pass has written
  // the slot, and again after a failure); lets a lapped pass skip empty slots.
  std::vector<std::uint8_t> may_hold_record_;
};

}  // namespace vrrl::detail
