// Reading a log while another thread or process appends to it: vrrl::Follower
// (each new record once, by sequence) and vrrl::read_snapshot (every record in
// the ring now, in replay order). Both copy each record out of the mapping and
// check that no writer touched it during the copy: they never hand out a torn
// record, whoever the writer is (RingLog, SharedRingLog, a recording stream,
// or the Rust seed).
//
// Sequences. Record n is the n-th append over the file's lifetime: vrrl
// writers keep the header cursor as that running count, so record n lives in
// slot n % capacity. A reader that is too slow is lapped: the writer
// overwrites records before they are read. poll() then says exactly how many
// sequences it skipped (`lost`) and carries on from the oldest record still
// in the ring.
//
// The validation rule (docs/design.md, "Live readers"), for a record that
// must still be sequence p (p + capacity is the append that reuses its slot):
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
// While the cursor is below capacity the writer may be the seed, which keeps
// the cursor modulo capacity and writes a record (magic included) with one
// write(2) and no clear first. Then a copy also counts only if the writer has
// not been at that slot since the read began (the cursor is the seed's next
// slot) and a second copy after the cursor check is the same; otherwise it is
// retried later. A seed that laps the whole ring during one read may make a
// snapshot show a newer record in place of an older one; never a torn one.
// The record under the seed's cursor is accepted only once the file has not
// been written for a second (then it is the oldest record, not one being
// written): on a live seed log it waits, on a quiet one it costs a
// millisecond.
//
// What counts as lost: a sequence whose slot was overwritten (lapped), whose
// append never completed (the writer was killed between its cursor and magic
// stores, which replay also skips), or whose magic is neither 0 nor
// 0xDEADBEEF. Between resyncs, delivered + lost accounts for every sequence
// from the start position to position().
//
// Resyncs. A cursor that goes backwards is a writer that keeps the cursor
// modulo capacity (the seed), or one that restarted a damaged count. poll()
// then counts the appends as the distance the next slot moved (modulo
// capacity), so nothing is delivered twice, and sets PollResult::resynced:
// whole laps the writer made between two polls cannot be seen, so `lost` is
// then a lower bound. Sequences continue from the Follower's own count.
//
// Caveats:
//   * The LogReader must outlive the Follower and must not be moved from.
//   * Every poll() and read_snapshot() first checks the file's size (one
//     fstat) and throws ErrorKind::truncated if another process shrank it; a
//     shrink between that check and the reads can still raise SIGBUS.
//   * A header cursor at or above format::max_cursor is damage: poll()
//     delivers nothing and sets PollResult::implausible_cursor (a writer that
//     opens the log restarts the count).
//   * Not thread-safe: one thread polls a Follower. Several Followers over one
//     LogReader are fine.
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <vrrl/record.hpp>
#include <vrrl/replay.hpp>
#include <vrrl/ring_log.hpp>

namespace vrrl {

// What one poll() did.
struct PollResult {
  std::uint64_t delivered = 0;      // records passed to the callback
  std::uint64_t lost = 0;           // sequences skipped: overwritten, never completed, or bad magic
  bool resynced = false;            // the cursor went backwards (see above); `lost` is a lower bound
  bool implausible_cursor = false;  // the header cursor is >= format::max_cursor: nothing was read

  friend bool operator==(const PollResult&, const PollResult&) = default;
};

namespace detail {

// How reading one slot went; see the validation rule above.
enum class ReadStatus {
  complete,  // `slot`/`evidence` hold a consistent copy of the record
  not_yet,   // not visible yet, or the copy could not be trusted: retry later
  gone,      // never completed, being overwritten, or a foreign magic: skip it
  lapped,    // a later record was published in the slot: `cursor` says how far
  under_seed_cursor,  // the writer may be the seed and may be writing this very slot: see read_under_seed_cursor
};

// What the caller knows about the record it reads.
struct Expected {
  std::uint64_t slot = 0;   // where it is
  std::uint64_t reuse = 0;  // the cursor value at which its slot is reused: its sequence + capacity
  std::uint64_t oldest_writer_position = 0;  // a cursor loaded before the caller began (seed check)
  Format format = Format::v1;                // the log's: where the slot is, and how a record is checked
};

// Copies the record in `expected.slot` out of a mapping (`base` = header,
// capacity slots follow) and validates it. `cursor` is set to the latest
// cursor loaded. No allocation, no system call (a vDSO clock read while the
// cursor is below capacity).
[[nodiscard]] VRRL_EXPORT ReadStatus read_validated(const std::byte* base, std::uint64_t capacity,
                                                    const Expected& expected, std::uint64_t& cursor,
                                                    RecordedSlot& slot, FailureEvidence& evidence) noexcept;

// The record under the cursor of a writer that may be the seed: accepted only
// when the file has not been written to for a second and two copies taken a
// millisecond apart agree (a system call and a sleep; a rare path).
[[nodiscard]] VRRL_EXPORT ReadStatus read_under_seed_cursor(const LogReader& log, const Expected& expected,
                                                            RecordedSlot& slot, FailureEvidence& evidence);

// The acquire load of the header cursor (bytes 24..31) of a mapping.
[[nodiscard]] VRRL_EXPORT std::uint64_t load_cursor(const std::byte* base) noexcept;

}  // namespace detail

class VRRL_EXPORT Follower {
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
  // propagates and that record is not delivered again. Throws
  // ErrorKind::truncated when the file has shrunk (see above).
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
  // Checks the size, loads the cursor and translates it to this Follower's
  // count (see "Resyncs"); nothing when it is implausible.
  std::optional<std::uint64_t> refresh_cursor(PollResult& result);
  // The cursor as loaded now, in this Follower's count.
  [[nodiscard]] std::uint64_t translate(std::uint64_t writer_cursor) const noexcept {
    return writer_cursor + offset_;
  }
  void skip(std::uint64_t count, PollResult& result) noexcept {
    result.lost += count;
    lost_total_ += count;
    position_ += count;
  }

  const LogReader* log_;
  const std::byte* base_;     // the LogReader's mapping: header, then the slots
  std::uint64_t capacity_;
  Format format_;
  std::uint64_t position_;
  std::uint64_t offset_ = 0;  // own count - writer's count; a multiple of capacity
  std::uint64_t highest_cursor_;  // largest cursor seen, in own count
  std::uint64_t lost_total_ = 0;
  std::uint64_t delivered_total_ = 0;
};

template <class OnRecord>
  requires std::is_invocable_v<OnRecord&, std::uint64_t, const RecordedSlot&, const FailureEvidence&>
PollResult Follower::poll(OnRecord&& on_record, std::size_t max_records) {
  PollResult result;
  const std::optional<std::uint64_t> first_cursor = refresh_cursor(result);
  if (!first_cursor) return result;
  const std::uint64_t end = *first_cursor;  // this call reads up to here, so it terminates
  const std::uint64_t writer_start = end - offset_;
  std::uint64_t cursor = end;
  RecordedSlot slot;
  FailureEvidence evidence;
  while (position_ < end && result.delivered < max_records) {
    if (cursor <= position_) break;         // the count went backwards mid-poll: the next poll resyncs
    if (cursor - position_ > capacity_) {  // lapped: those records are overwritten
      // The oldest one left sits under the writer's cursor. When the writer
      // may be the seed (v1, cursor below capacity), that is the slot it
      // writes next: count it lost too rather than wait for the file to go
      // quiet (see the seed rules above).
      const bool seed_possible = format_ == Format::v1 && cursor - offset_ < capacity_;
      skip(std::min(cursor - capacity_ + (seed_possible ? 1 : 0), end) - position_, result);
      continue;
    }
    const std::uint64_t sequence = position_;
    std::uint64_t writer_cursor = 0;
    const detail::Expected expected{.slot = sequence % capacity_,
                                    .reuse = sequence - offset_ + capacity_,
                                    .oldest_writer_position = writer_start,
                                    .format = format_};
    detail::ReadStatus status = detail::read_validated(base_, capacity_, expected, writer_cursor, slot, evidence);
    if (status == detail::ReadStatus::under_seed_cursor) {
      status = detail::read_under_seed_cursor(*log_, expected, slot, evidence);
    }
    // A cursor below what we have seen means the writer restarted its count
    // during the copy: stop, and let the next poll() resync.
    if (writer_cursor + offset_ < highest_cursor_) break;
    cursor = writer_cursor + offset_;
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

// What read_snapshot() met besides the records it delivered.
struct SnapshotReport {
  std::uint64_t records = 0;              // records delivered
  std::uint64_t empty_slots = 0;          // slots with magic 0 (including appends that never completed)
  std::uint64_t overwritten = 0;          // records the writer replaced or was writing during the walk
  std::vector<std::uint64_t> bad_slots;   // v1: a foreign magic; v2: a commit word that checks for no
                                          // nearby sequence (torn or corrupted); in replay order
  bool stopped_early = false;             // Recovery::stop_at_bad_slot ended the walk
  std::uint64_t stale_records = 0;        // v2: whole records of an older lap, stepped over
  std::uint64_t beyond_cursor = 0;        // v2: whole records past the cursor, delivered last
  bool implausible_cursor = false;        // the header cursor is >= format::max_cursor: read as replay() does

  [[nodiscard]] bool clean() const noexcept { return bad_slots.empty(); }
};

namespace detail {
// What one slot of a snapshot held (see read_snapshot).
enum class SnapshotSlot { record, empty, overwritten, stale, beyond_cursor, bad };

// One step of read_snapshot: the slot `(start_cursor + step) % capacity`,
// expected to hold sequence start_cursor - capacity + step. Fills `slot`,
// `evidence` for a record, `magic` with the slot's word 0, and for a v2
// record past the cursor `laps_ahead` with how many laps past the step's.
[[nodiscard]] VRRL_EXPORT SnapshotSlot read_snapshot_step(const LogReader& log, std::uint64_t start_cursor,
                                                          std::uint64_t step, RecordedSlot& slot,
                                                          FailureEvidence& evidence, std::uint32_t& magic,
                                                          std::uint64_t& laps_ahead);
}  // namespace detail

// Every record in the ring as of the call, oldest first (replay order), each
// copied and validated as the Follower does; on_record(slot_index, const
// RecordedSlot&, const FailureEvidence&) gets the copies. Records the writer
// overwrote, or was writing, during the walk are counted in `overwritten` and
// never passed on. Slots with a foreign magic (v2: a record that does not
// check) are handled by `recovery` as in replay(): strict throws
// header_mismatch naming the slot. v2 records past the cursor come last, as
// in replay(). On a quiescent log the records are exactly replay()'s. Throws
// ErrorKind::truncated when the file has shrunk. A header cursor at or above
// format::max_cursor is damage that no vrrl writer has seen (one restarts the
// count at open), so the file is quiescent: the walk is replay()'s, from
// `cursor % capacity`, each record copied, and `implausible_cursor` is set.
template <class OnRecord>
  requires std::is_invocable_v<OnRecord&, std::uint64_t, const RecordedSlot&, const FailureEvidence&>
SnapshotReport read_snapshot(const LogReader& log, Recovery recovery, OnRecord&& on_record) {
  log.check_not_shrunk("read");
  SnapshotReport report;
  const std::uint64_t capacity = log.capacity();
  const std::uint64_t start_cursor = detail::load_cursor(log.data());
  RecordedSlot slot;
  FailureEvidence evidence;
  if (start_cursor >= format::max_cursor) {
    report.implausible_cursor = true;
    ReplayRange range = log.replay(recovery);
    for (auto it = range.begin(); it != range.end(); ++it) {
      const RecordView view = *it;
      on_record(it.slot_index(), view.slot(), view.failure());
    }
    const ReplayReport& walked = range.report();
    report.records = walked.records;
    report.empty_slots = walked.empty_slots;
    report.bad_slots = walked.bad_slots;
    report.stopped_early = walked.stopped_early;
    report.stale_records = walked.stale_records;
    report.beyond_cursor = walked.beyond_cursor;
    return report;
  }
  std::uint64_t steps = capacity;  // v2: a lap more per lap records lie past the cursor
  for (std::uint64_t step = 0; step < steps; ++step) {
    std::uint32_t magic = 0;
    std::uint64_t laps_ahead = 0;
    const detail::SnapshotSlot kind =
        detail::read_snapshot_step(log, start_cursor, step, slot, evidence, magic, laps_ahead);
    const std::uint64_t slot_index = (start_cursor % capacity + step) % capacity;
    if (step >= capacity) {  // the later laps deliver the records past the cursor, nothing else
      if (kind == detail::SnapshotSlot::record) {
        ++report.records;
        ++report.beyond_cursor;
        on_record(slot_index, std::as_const(slot), std::as_const(evidence));
      }
      continue;
    }
    switch (kind) {
      case detail::SnapshotSlot::record:
        ++report.records;
        on_record(slot_index, std::as_const(slot), std::as_const(evidence));
        break;
      case detail::SnapshotSlot::empty: ++report.empty_slots; break;
      case detail::SnapshotSlot::overwritten: ++report.overwritten; break;
      case detail::SnapshotSlot::stale: ++report.stale_records; break;
      case detail::SnapshotSlot::beyond_cursor: steps = std::max(steps, (laps_ahead + 1) * capacity); break;
      case detail::SnapshotSlot::bad:
        if (recovery == Recovery::strict) detail::throw_bad_slot(log.path(), slot_index, log.format(), magic);
        report.bad_slots.push_back(slot_index);
        if (recovery == Recovery::stop_at_bad_slot) {
          report.stopped_early = true;
          return report;
        }
        break;
    }
  }
  return report;
}

}  // namespace vrrl
