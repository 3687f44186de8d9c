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
[[noreturn]] VRRL_EXPORT void throw_bad_slot(const std::filesystem::path& path, std::uint64_t slot_index,
                                             std::uint32_t magic);
}  // namespace detail

// What a replay met besides records. Filled in as the range is iterated.
struct ReplayReport {
  std::uint64_t records = 0;                 // valid records yielded so far
  std::uint64_t empty_slots = 0;             // slots with magic 0 stepped over
  std::vector<std::uint64_t> bad_slots;      // slot indices with a foreign magic, in replay order
  bool stopped_early = false;                // Recovery::stop_at_bad_slot ended the replay

  [[nodiscard]] bool clean() const noexcept { return bad_slots.empty(); }
};

// The slots of a mapping, visited once each starting at `first_slot` (the
// oldest), yielding a RecordView for every valid record.
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
    iterator& operator++() {
      // Fast path, inline: the next slot holds a valid record (the common
      // case; an out-of-line call per record halved replay speed, see
      // docs/benchmarks.md). Everything else goes through settle().
      ++step_;
      slot_ = slot_ + 1 == range_->capacity_ ? 0 : slot_ + 1;
      if (step_ < range_->capacity_ && RecordView(range_->slot_bytes(slot_)).magic() == format::record_magic) {
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
    [[nodiscard]] bool at_end() const noexcept { return step_ >= range_->capacity_; }
    // Moves forward to the next valid record (or the end), applying the recovery mode.
    void settle();

    ReplayRange* range_ = nullptr;
    std::uint64_t step_ = 0;  // how many slots past the oldest
    std::uint64_t slot_ = 0;  // (first_slot + step) % capacity, kept to avoid a division
  };

  ReplayRange(const std::byte* records, std::uint64_t capacity, std::uint64_t first_slot,
              Recovery recovery, const std::filesystem::path* path) noexcept
      : records_(records), capacity_(capacity), first_slot_(first_slot), recovery_(recovery), path_(path) {}

  // Starts (or restarts) the walk; the report is reset.
  [[nodiscard]] iterator begin() {
    report_ = {};
    return iterator(this, 0);
  }
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

  [[nodiscard]] const ReplayReport& report() const noexcept { return report_; }

 private:
  [[nodiscard]] const std::byte* slot_bytes(std::uint64_t slot) const noexcept {
    return records_ + slot * format::record_bytes;
  }

  const std::byte* records_;
  std::uint64_t capacity_;
  std::uint64_t first_slot_;
  Recovery recovery_;
  const std::filesystem::path* path_;  // for error messages; owned by the log
  ReplayReport report_;
};

}  // namespace vrrl
