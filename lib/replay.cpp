#include <vrrl/replay.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

#include <vrrl/error.hpp>
#include <vrrl/slot_state.hpp>

namespace vrrl {
namespace {

std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

}  // namespace

void detail::throw_bad_slot(const std::filesystem::path& path, std::uint64_t slot_index, Format format,
                            std::uint32_t magic) {
  throw Error({.kind = ErrorKind::header_mismatch,
               .operation = "replay",
               .path = path,
               .what_is_wrong = format == Format::v2
                                    ? "slot " + std::to_string(slot_index) + " has commit word " + hex32(magic) +
                                          ", which checks the record for no sequence near its place (a torn "
                                          "or corrupted VRRL v2 record)"
                                    : "header mismatch: slot " + std::to_string(slot_index) + " has record magic " +
                                          hex32(magic) + " (expected 0xDEADBEEF or 0)",
               .fix = "regenerate the log; VRRL format may have changed (or replay with "
                      "Recovery::skip_bad_slots / `vrrl verify` to see what is readable)",
               .errno_value = 0,
               .slot = slot_index});
}

void ReplayRange::iterator::settle() {
  ReplayRange& range = *range_;
  slot_ = (range.cursor_ % range.capacity_ + step_) % range.capacity_;
  for (; step_ < range.steps_; ++step_) {
    if (range.holds_record(slot_, step_)) {
      ++range.report_.records;
      return;
    }
    const std::byte* const record = range.slot_bytes(slot_);
    const std::uint32_t magic = RecordView(record).magic();
    if (step_ >= range.capacity_) {
      // The second lap (v2) only yields records past the cursor; every slot
      // was accounted for in the first.
    } else if (magic == format::empty_record_magic) {
      ++range.report_.empty_slots;
    } else if (const SlotCheck check = range.format_ == Format::v2
                                           ? v2_slot_check(record, slot_, range.cursor_, range.capacity_, 0)
                                           : SlotCheck{SlotState::corrupted};
               check.state == SlotState::beyond_cursor) {
      // Yield it after the others, in sequence order: a lap of the walk per
      // lap past the window (the sequence step k looks for is cursor - capacity + k).
      const std::uint64_t laps_ahead = (check.sequence - range.sequence_at(step_)) / range.capacity_;
      range.steps_ = std::max(range.steps_, (laps_ahead + 1) * range.capacity_);
      ++range.report_.beyond_cursor;
    } else if (check.state == SlotState::stale) {
      ++range.report_.stale_records;
    } else {
      switch (range.recovery_) {
        case Recovery::strict:
          detail::throw_bad_slot(range.path_ != nullptr ? *range.path_ : std::filesystem::path{}, slot_,
                                 range.format_, magic);
        case Recovery::stop_at_bad_slot:
          range.report_.bad_slots.push_back(slot_);
          range.report_.stopped_early = true;
          step_ = range.steps_;
          return;
        case Recovery::skip_bad_slots:
          range.report_.bad_slots.push_back(slot_);
          break;
      }
    }
    if (++slot_ == range.capacity_) slot_ = 0;
  }
}
}  // namespace vrrl
