// vrrl::SharedRingLog: one log, appended to from many threads without a mutex.
//
// Same file, same format, same readers as RingLog: a SharedRingLog is a
// RingLog (it opens, validates, locks, replays and syncs through one) whose
// append() may be called from any number of threads at once. Each append
// claims a sequence with one fetch_add on a 64-bit counter; the record lands
// in slot sequence % capacity and becomes visible to replay and to Followers
// in claim order, published with the single writer's protocol (cursor, then
// magic), so a reader can never tell the two writers apart.
//
// The protocol (docs/design.md, "Many producers"), per append of sequence s:
//   1. claim:   s = claimed.fetch_add(1, relaxed)
//   2. wait until the slot's previous record (s - capacity) is published; a
//      producer more than `capacity` claims ahead of the oldest unpublished
//      claim waits here (counted in waits());
//   3. write:   clear the magic, release fence, write the body;
//   4. mark the slot "written s" in a per-slot state word (process memory);
//   5. publish: advance the header cursor over every consecutive written
//      record, by CAS, helping other producers: whoever moves the cursor from
//      w to w + 1 stores record w's magic and marks it published.
//
// Progress: producers never wait for each other to *write*. Publication is in
// claim order, so a producer preempted between its claim and step 4 holds
// back the visibility (not the writing) of every later claim until it runs
// again, and, once the ring has gone round, the producers that need its slot.
//
// Caveats (in addition to RingLog's):
//   * One SharedRingLog per file (RingLog's lock). Not usable across fork().
//   * An append that has returned is written but not necessarily published:
//     an earlier claim may still be in flight. Once every append() call has
//     returned, every record is published (published() == claimed()).
//   * kill -9 keeps RingLog's guarantee for what was published: replay shows
//     records in claim order with no torn record. Written-but-unpublished
//     records behind a stalled earlier claim are lost with the process.
//   * Do not move a SharedRingLog while another thread is appending to it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <vrrl/record.hpp>
#include <vrrl/replay.hpp>
#include <vrrl/ring_log.hpp>

namespace vrrl {

class SharedRingLog {
 public:
  // As RingLog::open, with the same errors; also allocates one 8-byte state
  // word per slot (std::bad_alloc if that fails).
  [[nodiscard]] static SharedRingLog open(const std::filesystem::path& path, std::uint64_t capacity,
                                          const OpenOptions& options = {});

  SharedRingLog(SharedRingLog&& other) noexcept;
  SharedRingLog& operator=(SharedRingLog&& other) noexcept;
  SharedRingLog(const SharedRingLog&) = delete;
  SharedRingLog& operator=(const SharedRingLog&) = delete;
  ~SharedRingLog();

  // Thread-safe, lock-free for the claim, noexcept, no syscall or allocation.
  // Waits (spinning, then yielding) only when the slot it claimed still holds
  // a record that is not published yet (see above).
  void append(const RecordedSlot& slot) noexcept { append(slot, FailureEvidence{}); }
  void append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept;

  // As RingLog's; with appends in flight, replay is a best effort (use a
  // Follower over a LogReader to read a log that is being written).
  [[nodiscard]] ReplayRange replay(Recovery recovery = Recovery::strict) const& { return log_.replay(recovery); }
  ReplayRange replay(Recovery recovery = Recovery::strict) const&& = delete;  // would dangle, as RingLog's
  [[nodiscard]] std::vector<RecordedSlot> replay_all() const { return log_.replay_all(); }
  // msync of the whole mapping: every record *published* before the call is on disk.
  void sync() { log_.sync(); }

  [[nodiscard]] std::uint64_t capacity() const noexcept { return log_.capacity(); }
  // Sequences handed out so far (the next append's sequence).
  [[nodiscard]] std::uint64_t claimed() const noexcept;
  // Records visible to readers: the header cursor (acquire load).
  [[nodiscard]] std::uint64_t published() const noexcept;
  // Appends that had to wait for their slot to be published by a slower producer.
  [[nodiscard]] std::uint64_t waits() const noexcept;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return log_.path(); }

 private:
  struct Shared;  // lib/multi_producer.cpp: the claim counter and the slot states

  SharedRingLog(RingLog log, std::unique_ptr<Shared> shared) noexcept;
  void publish_written(std::uint64_t next) noexcept;

  RingLog log_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace vrrl
