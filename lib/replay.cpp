#include <vrrl/replay.hpp>

#include <cstdio>
#include <string>

#include <vrrl/error.hpp>

namespace vrrl {
namespace {

std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

}  // namespace

void detail::throw_bad_slot(const std::filesystem::path& path, std::uint64_t slot_index, std::uint32_t magic) {
  throw Error({.kind = ErrorKind::header_mismatch,
               .operation = "replay",
               .path = path,
               .what_is_wrong = "header mismatch: slot " + std::to_string(slot_index) + " has record magic " +
                                hex32(magic) + " (expected 0xDEADBEEF or 0)",
               .fix = "regenerate the log; VRRL format may have changed (or replay with "
                      "Recovery::skip_bad_slots / `vrrl verify` to see what is readable)",
               .errno_value = 0,
               .slot = slot_index});
}

void ReplayRange::iterator::settle() {
  ReplayRange& range = *range_;
  slot_ = range.first_slot_ + step_;
  if (slot_ >= range.capacity_) slot_ -= range.capacity_;
  for (; step_ < range.capacity_; ++step_) {
    const std::uint32_t magic = RecordView(range.slot_bytes(slot_)).magic();
    if (magic == format::record_magic) {
      ++range.report_.records;
      return;
    }
    if (magic == format::empty_record_magic) {
      ++range.report_.empty_slots;
    } else {
      switch (range.recovery_) {
        case Recovery::strict:
          detail::throw_bad_slot(range.path_ != nullptr ? *range.path_ : std::filesystem::path{}, slot_, magic);
        case Recovery::stop_at_bad_slot:
          range.report_.bad_slots.push_back(slot_);
          range.report_.stopped_early = true;
          step_ = range.capacity_;
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
