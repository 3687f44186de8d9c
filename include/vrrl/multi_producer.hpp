// vrrl::SharedRingLog: one log, appended to from many threads without a mutex.
//
// For recording many threads, prefer a recording (<vrrl/recording.hpp>): one
// stream per thread, no shared cache line, merged by timestamp when read.
// SharedRingLog is for the case that needs one file in one global order.
//
// Same file format and readers as RingLog (it opens, validates and locks
// through the same code), and it sets the header flag
// format::flag_multi_producer so tools know the records are in claim order.
// Each append claims a sequence with one fetch_add on a 64-bit counter; the
// record lands in slot sequence % capacity and becomes visible to replay and to
// Followers in claim order, published with the single writer's protocol
// (<vrrl/detail/publish.hpp>: retire, body, cursor, magic).
//
// The protocol (docs/design.md, "Many producers"), per append of sequence s:
//   1. claim:   s = claimed.fetch_add(1, relaxed)
//   2. wait until record s - capacity + keep() is published (so record
//      s - capacity is published and at least keep() newer ones are too),
//      counted in waits(); spinning briefly, then blocking on a futex;
//   3. write:   retire the slot, write the body;
//   4. mark the slot "written s" in a per-slot state word (process memory);
//   5. publish: advance the header cursor over every consecutive written
//      record, by CAS, helping other producers: whoever moves the cursor from
//      w to w + 1 stores record w's magic and marks it published.
//
// Progress: producers never wait for each other to *write* a record they
// claimed, only to retire a slot whose record is among the newest keep()
// published ones. The oldest unpublished claim never waits, so some producer
// always makes progress; waiting blocks in the kernel rather than spinning,
// so a producer preempted (or out-prioritised under SCHED_FIFO) between its
// claim and step 4 gets the CPU back.
//
// Caveats (in addition to RingLog's):
//   * One SharedRingLog per file (the writer lock). Not usable across fork().
//   * An append that has returned is written but not necessarily published:
//     an earlier claim may still be in flight. Once every append() call has
//     returned, every record is published (published() == claimed()).
//   * kill -9 keeps, of the published records, at least the newest
//     min(published(), keep()) with keep() = capacity / 2: replay shows
//     them in claim order with no torn record. Older published records may
//     already have been retired by producers of later claims, and
//     written-but-unpublished records behind a stalled earlier claim are lost
//     with the process.
//   * Do not move a SharedRingLog while another thread is appending to it.
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <vrrl/record.hpp>
#include <vrrl/replay.hpp>
#include <vrrl/ring_log.hpp>

namespace vrrl {

namespace detail {
struct SharedProducers;  // lib/multi_producer.cpp: the claim counter, the slot states, the waiting
}

class VRRL_EXPORT SharedRingLog {
 public:
  // As RingLog::open, with the same errors; also allocates one 8-byte state
  // word per slot (std::bad_alloc if that fails) and sets the header flag
  // format::flag_multi_producer.
  [[nodiscard]] static SharedRingLog open(const std::filesystem::path& path, std::uint64_t capacity,
                                          const OpenOptions& options = {});

  SharedRingLog(SharedRingLog&& other) noexcept;
  SharedRingLog& operator=(SharedRingLog&& other) noexcept;
  SharedRingLog(const SharedRingLog&) = delete;
  SharedRingLog& operator=(const SharedRingLog&) = delete;
  ~SharedRingLog();

  // Thread-safe, lock-free for the claim, noexcept, no allocation; a system
  // call only when it has to wait (see above) or wake a producer that waits.
  void append(const RecordedSlot& slot) noexcept { append(slot, FailureEvidence{}); }
  void append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept;

  // As RingLog's; with appends in flight, replay is a best effort (use a
  // Follower over a LogReader to read a log that is being written).
  [[nodiscard]] ReplayRange replay(Recovery recovery = Recovery::strict) const&;
  ReplayRange replay(Recovery recovery = Recovery::strict) const&& = delete;  // would dangle, as RingLog's
  [[nodiscard]] std::vector<RecordedSlot> replay_all() const;
  // msync of the whole mapping: every record *published* before the call is on disk.
  void sync();

  [[nodiscard]] std::uint64_t capacity() const noexcept;
  // How many of the newest published records a kill -9 leaves in the file:
  // capacity / 2 (fewer only while fewer have been published).
  [[nodiscard]] std::uint64_t keep() const noexcept;
  // Sequences handed out so far (the next append's sequence).
  [[nodiscard]] std::uint64_t claimed() const noexcept;
  // Records visible to readers: the header cursor (acquire load).
  [[nodiscard]] std::uint64_t published() const noexcept;
  // Appends that had to wait before retiring their slot (see above).
  [[nodiscard]] std::uint64_t waits() const noexcept;
  [[nodiscard]] const std::filesystem::path& path() const noexcept;

 private:
  SharedRingLog(std::unique_ptr<detail::LogFile> file, std::unique_ptr<detail::SharedProducers> shared) noexcept;

  std::unique_ptr<detail::LogFile> file_;
  std::unique_ptr<detail::SharedProducers> shared_;
};

}  // namespace vrrl
