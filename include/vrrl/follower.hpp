// vrrl::Follower: read a log while another thread or process appends to it.
//
// A Follower walks a LogReader's mapping by *sequence*: record n is the n-th
// append over the file's lifetime (the header cursor is the running count, so
// record n lives in slot n % capacity). poll() copies each new record out of
// the mapping, checks that no writer touched it while it was being copied, and
// hands the copy to a callback, oldest first. A reader that is too slow is
// lapped: the writer overwrites records before they are read. poll() then says
// exactly how many sequences it skipped (`lost`) and carries on from the
// oldest record still in the ring.
//
// The validation rule (docs/design.md, "Live readers"). For sequence p:
//   1. acquire-load the magic; it must be 0xDEADBEEF. If not, acquire-load
//      the cursor and then the magic again: 0 while that cursor == p + 1 is a
//      record whose append is between its cursor and magic stores (not
//      visible yet: poll() stops there and retries next time); 0 with a
//      cursor >= p + 2 is a record that will never complete or is being
//      overwritten (writers store the magic of p before the cursor passes p + 1).
//   2. copy bytes 4..63 (relaxed atomic word loads), then an acquire fence;
//   3. acquire-load the magic again (still 0xDEADBEEF) and the cursor, which
//      must be <= p + capacity: no later record in that slot was published,
//      and any writer that started on the slot would have cleared the magic
//      first (writers clear the magic, fence, then write the body).
// So a copy that passes never mixes two records, with the single writer
// (RingLog) or the multi-producer log (SharedRingLog) alike.
//
// What counts as lost: a sequence whose slot was overwritten (lapped), whose
// append never completed (the writer was killed between its cursor and magic
// stores, which replay also skips), or whose magic is neither 0 nor
// 0xDEADBEEF. Between resyncs, delivered + lost accounts for every sequence
// from the start position to position().
//
// Caveats:
//   * The LogReader must outlive the Follower and must not be moved from.
//   * A writer that restarts the count (the seed rewrites the cursor modulo
//     capacity; RingLog resets an implausible cursor) makes the cursor go
//     backwards. poll() notices when the cursor is below the highest value it
//     has seen, restarts from the oldest record of the new count and sets
//     PollResult::resynced. A restart that has already climbed past the old
//     cursor by the next poll() cannot be told apart from progress.
//   * Sequences start at 0 only for files written by vrrl since creation; a
//     seed-written file (cursor modulo capacity) exposes only the records
//     since its last wrap to a Follower (replay still shows all of them).
//   * Not thread-safe: one thread polls a Follower. Several Followers over one
//     LogReader are fine.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include <vrrl/record.hpp>
#include <vrrl/ring_log.hpp>

namespace vrrl {

// What one poll() did.
struct PollResult {
  std::uint64_t delivered = 0;  // records passed to the callback
  std::uint64_t lost = 0;       // sequences skipped: overwritten, never completed, or bad magic
  bool resynced = false;        // the cursor went backwards; the position restarted (see caveats)

  friend bool operator==(const PollResult&, const PollResult&) = default;
};

namespace detail {

// How reading one sequence went; see the validation rule above.
enum class ReadStatus {
  complete,     // `slot`/`evidence` hold a consistent copy of the record
  not_yet,      // the cursor covers it but its magic is not stored yet: retry later
  gone,         // never completed, being overwritten, or a foreign magic: skip it
  lapped,       // a later record was published in the slot: `cursor` says how far
};

// Copies sequence `sequence` out of a mapping (`base` = header, capacity
// slots follow) and validates it. `cursor` is updated to the latest cursor
// loaded. No allocation, no system call.
[[nodiscard]] ReadStatus read_published(const std::byte* base, std::uint64_t capacity,
                                        std::uint64_t sequence, std::uint64_t& cursor,
                                        RecordedSlot& slot, FailureEvidence& evidence) noexcept;

// The acquire load of the header cursor (bytes 24..31) of a mapping.
[[nodiscard]] std::uint64_t load_cursor(const std::byte* base) noexcept;

}  // namespace detail

class Follower {
 public:
  // Starts at `start`, or by default at the oldest record in the ring
  // (max(0, cursor - capacity)). A start beyond the cursor waits for it.
  explicit Follower(const LogReader& log, std::optional<std::uint64_t> start = std::nullopt) noexcept;
  // Only records appended after this call.
  [[nodiscard]] static Follower from_now(const LogReader& log) noexcept;

  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;
  Follower(Follower&&) noexcept = default;
  Follower& operator=(Follower&&) noexcept = default;
  ~Follower() = default;

  // Calls on_record(sequence, const RecordedSlot&, const FailureEvidence&)
  // for each complete record from position() up to the cursor as loaded at
  // the start of the call, oldest first, at most `max_records` times. Stops
  // early at a record that is not visible yet. The position moves past a
  // record before its callback runs: if on_record throws, the exception
  // propagates and that record is not delivered again.
  template <class OnRecord>
    requires std::is_invocable_v<OnRecord&, std::uint64_t, const RecordedSlot&, const FailureEvidence&>
  PollResult poll(OnRecord&& on_record,
                  std::size_t max_records = std::numeric_limits<std::size_t>::max());

  // The next sequence poll() will read.
  [[nodiscard]] std::uint64_t position() const noexcept { return position_; }
  // Totals over every poll() so far.
  [[nodiscard]] std::uint64_t lost_total() const noexcept { return lost_total_; }
  [[nodiscard]] std::uint64_t delivered_total() const noexcept { return delivered_total_; }

 private:
  // Loads the cursor; on a backwards jump restarts the position and says so.
  std::uint64_t refresh_cursor(PollResult& result) noexcept;

  const std::byte* base_;     // the LogReader's mapping: header, then the slots
  std::uint64_t capacity_;
  std::uint64_t position_;
  std::uint64_t highest_cursor_;  // largest cursor seen, to notice a restart
  std::uint64_t lost_total_ = 0;
  std::uint64_t delivered_total_ = 0;
};

template <class OnRecord>
  requires std::is_invocable_v<OnRecord&, std::uint64_t, const RecordedSlot&, const FailureEvidence&>
PollResult Follower::poll(OnRecord&& on_record, std::size_t max_records) {
  PollResult result;
  std::uint64_t cursor = refresh_cursor(result);
  const std::uint64_t end = cursor;  // this call reads up to here, so it terminates
  RecordedSlot slot;
  FailureEvidence evidence;
  while (position_ < end && result.delivered < max_records) {
    if (cursor <= position_) break;  // the count went backwards mid-poll: the next poll resyncs
    if (cursor - position_ > capacity_) {  // lapped: those records are overwritten
      const std::uint64_t oldest = cursor - capacity_;
      const std::uint64_t skipped = std::min(oldest, end) - position_;
      result.lost += skipped;
      lost_total_ += skipped;
      position_ += skipped;
      continue;
    }
    const std::uint64_t sequence = position_;
    const detail::ReadStatus status =
        detail::read_published(base_, capacity_, sequence, cursor, slot, evidence);
    if (status == detail::ReadStatus::not_yet) break;
    if (status == detail::ReadStatus::lapped) continue;  // `cursor` moved: recount above
    ++position_;
    if (status == detail::ReadStatus::gone) {
      ++result.lost;
      ++lost_total_;
      continue;
    }
    ++result.delivered;
    ++delivered_total_;
    on_record(sequence, std::as_const(slot), std::as_const(evidence));
  }
  return result;
}

}  // namespace vrrl
