// Zero-copy replay: a range over the slots of a mapped log, oldest first.
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <vector>

#include <vrrl/format.hpp>
#include <vrrl/record.hpp>

namespace vrrl {

// What replay does with a slot whose magic is neither 0 (empty) nor
// 0xDEADBEEF, in the manner of RocksDB's WAL recovery modes.
enum class Recovery {
  strict,           // throw vrrl::Error (header_mismatch, naming the slot): the seed's behaviour
  stop_at_bad_slot, // end the replay at the first bad slot; report where
  skip_bad_slots,   // step over bad slots; report how many and where
};

namespace detail {
// The error Recovery::strict raises for a foreign magic in `slot_index`
// (header_mismatch, naming the slot).
[[noreturn]] VRRL_EXPORT void throw_bad_slot(const std::filesystem::path& path, std::uint64_t slot_index, Format format,
                                             std::uint32_t magic);
}  // namespace detail

// What a replay met besides records. Filled in as the range is iterated.
struct ReplayReport {
  std::uint64_t records = 0;                 // valid records yielded so far
  std::uint64_t empty_slots = 0;             // slots with magic (v2: commit word) 0 stepped over
  std::vector<std::uint64_t> bad_slots;      // v1: a foreign magic; v2: a commit word that checks for no
                                             // nearby sequence (torn or corrupted); slot indices, replay order
  bool stopped_early = false;                // Recovery::stop_at_bad_slot ended the replay
  std::uint64_t stale_records = 0;           // v2: whole records of an older lap, stepped over
  std::uint64_t beyond_cursor = 0;           // v2: whole records of sequences at or past the cursor (found in
                                             // the first lap, yielded in the second, in sequence order)

  [[nodiscard]] bool clean() const noexcept { return bad_slots.empty(); }
};

// The slots of a mapping, oldest first from `cursor % capacity`, yielding a
// RecordView for every valid record. A v1 record is valid when its magic is
// 0xDEADBEEF. A v2 record is valid when its commit word checks for the
// sequence its position implies (the window [cursor - capacity, cursor)), or
// for a later lap's (a record written after the header page reached the
// disk, before a power cut): replay yields the first kind in order, then the
// others lap by lap, so the records come out ordered by sequence. v2 records
// of an earlier lap are stepped over and counted (stale_records); a commit
// word that checks for none of these (vrrl::v2_laps_checked laps either way)
// is a bad slot, handled by the recovery mode.
//
// Lifetime: the range and every RecordView it yields point into the mapping of
// the RingLog / LogReader that made it; they are valid only while that object
// is alive and not moved from. No record is copied.
class VRRL_EXPORT ReplayRange {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = RecordView;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    [[nodiscard]] RecordView operator*() const noexcept {
      return RecordView(range_->slot_bytes(slot_));
    }
    // Slot index (0 ..< capacity) of the record under the iterator.
    [[nodiscard]] std::uint64_t slot_index() const noexcept { return slot_; }
    // The sequence the record was appended as (v2: checked; v1: implied by
    // the cursor, as for a Follower).
    [[nodiscard]] std::uint64_t sequence() const noexcept { return range_->sequence_at(step_); }
    iterator& operator++() {
      // Fast path, inline: the next slot holds a valid record (the common
      // case; an out-of-line call per record halved replay speed, see
      // docs/benchmarks.md). Everything else goes through settle().
      ++step_;
      slot_ = slot_ + 1 == range_->capacity_ ? 0 : slot_ + 1;
      if (step_ < range_->steps_ && range_->holds_record(slot_, step_)) {
        ++range_->report_.records;
        return *this;
      }
      settle();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.at_end(); }

   private:
    friend class ReplayRange;
    iterator(ReplayRange* range, std::uint64_t step) : range_(range), step_(step) { settle(); }
    [[nodiscard]] bool at_end() const noexcept { return step_ >= range_->steps_; }
    // Moves forward to the next valid record (or the end), applying the recovery mode.
    void settle();

    ReplayRange* range_ = nullptr;
    std::uint64_t step_ = 0;  // how many slots past the oldest (v2: a second lap for records past the cursor)
    std::uint64_t slot_ = 0;  // (first slot + step) % capacity, kept to avoid a division
  };

  ReplayRange(const std::byte* records, std::uint64_t capacity, std::uint64_t cursor, Format format,
              Recovery recovery, const std::filesystem::path* path) noexcept
      : records_(records),
        capacity_(capacity),
        cursor_(cursor),
        format_(format),
        recovery_(recovery),
        path_(path),
        steps_(capacity) {}

  // Starts (or restarts) the walk; the report is reset.
  [[nodiscard]] iterator begin() {
    report_ = {};
    steps_ = capacity_;
    return iterator(this, 0);
  }
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

  [[nodiscard]] const ReplayReport& report() const noexcept { return report_; }

 private:
  [[nodiscard]] const std::byte* slot_bytes(std::uint64_t slot) const noexcept {
    return records_ + slot * format::record_bytes;
  }
  // Step k of the walk looks for sequence cursor - capacity + k (modulo 2^64).
  [[nodiscard]] std::uint64_t sequence_at(std::uint64_t step) const noexcept { return cursor_ - capacity_ + step; }
  [[nodiscard]] bool holds_record(std::uint64_t slot, std::uint64_t step) const noexcept {
    const std::byte* const record = slot_bytes(slot);
    const std::uint32_t word = RecordView(record).magic();
    if (format_ == Format::v1) return word == format::record_magic;
    return word != format::empty_record_magic &&
           word == wire::commit_word(sequence_at(step), wire::load_record_words(record));
  }

  const std::byte* records_;
  std::uint64_t capacity_;
  std::uint64_t cursor_;
  Format format_;
  Recovery recovery_;
  const std::filesystem::path* path_;  // for error messages; owned by the log
  std::uint64_t steps_;                // capacity, or a lap more per lap v2 records lie past the cursor
  ReplayReport report_;
};

}  // namespace vrrl
