// What a VRRL v2 slot holds, judged from its own bytes and the header
// (docs/format.md, "VRRL v2"): the one rule replay, `vrrl verify` and the
// power-loss tests share. (v1 has only the magic: 0 empty, 0xDEADBEEF record,
// anything else damage.)
#pragma once

#include <vrrl/export.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <vrrl/format.hpp>
#include <vrrl/record.hpp>

namespace vrrl {

enum class SlotState {
  empty,          // commit word 0
  record,         // checks for its window sequence
  beyond_cursor,  // checks for a later lap's sequence: written after the header page the file holds
  stale,          // checks for an earlier lap's sequence: a newer record never reached the disk
  torn,           // checks for none, and its window sequence is at or after `synced`
  corrupted,      // checks for none, and a completed sync vouched for its window sequence
};

// "empty", "record", "beyond_cursor", "stale", "torn", "corrupted".
[[nodiscard]] constexpr std::string_view to_string(SlotState state) noexcept {
  switch (state) {
    case SlotState::empty: return "empty";
    case SlotState::record: return "record";
    case SlotState::beyond_cursor: return "beyond_cursor";
    case SlotState::stale: return "stale";
    case SlotState::torn: return "torn";
    case SlotState::corrupted: return "corrupted";
  }
  return "corrupted";
}

// The sequence slot `slot` holds if it lies in the header's window
// [cursor - capacity, cursor) (modulo 2^64: below 0 for a slot this history
// has not written yet).
[[nodiscard]] constexpr std::uint64_t window_sequence(std::uint64_t slot, std::uint64_t cursor,
                                                      std::uint64_t capacity) noexcept {
  return cursor - capacity + (slot + capacity - cursor % capacity) % capacity;
}

// How many laps before and after the header's window a reader tries when a
// v2 record does not check for its window sequence. A record further away (a
// writer that appended more than this many times the capacity after the
// header page last reached the disk, or whose newer records never did) cannot
// be told from a torn one.
inline constexpr std::uint64_t v2_laps_checked = 64;

struct SlotCheck {
  SlotState state = SlotState::empty;
  std::uint64_t sequence = 0;  // the record's, for record, beyond_cursor and stale
};

// The state of the v2 record at `record` (64 bytes) in slot `slot` of a log
// whose header says `cursor`, `capacity` and `synced`.
[[nodiscard]] inline SlotCheck v2_slot_check(const std::byte* record, std::uint64_t slot, std::uint64_t cursor,
                                             std::uint64_t capacity, std::uint64_t synced) noexcept {
  const wire::RecordWords words = wire::load_record_words(record);
  const auto commit = static_cast<std::uint32_t>(words[0]);
  if (commit == format::empty_record_magic) return {SlotState::empty};
  const std::uint64_t sequence = window_sequence(slot, cursor, capacity);
  if (commit == wire::commit_word(sequence, words)) return {SlotState::record, sequence};
  for (std::uint64_t lap = 1; lap <= v2_laps_checked; ++lap) {
    const std::uint64_t ahead = sequence + lap * capacity;
    if (commit == wire::commit_word(ahead, words)) return {SlotState::beyond_cursor, ahead};
    const std::uint64_t behind = sequence - lap * capacity;
    // Not below sequence 0 (modulo 2^64, a value above the window).
    if (behind < sequence && commit == wire::commit_word(behind, words)) return {SlotState::stale, behind};
  }
  // A window sequence below 0 (modulo 2^64) was never synced either.
  const bool written_since_sync = sequence >= synced || sequence + capacity < capacity;
  return {written_since_sync ? SlotState::torn : SlotState::corrupted};
}

[[nodiscard]] inline SlotState v2_slot_state(const std::byte* record, std::uint64_t slot, std::uint64_t cursor,
                                             std::uint64_t capacity, std::uint64_t synced) noexcept {
  return v2_slot_check(record, slot, cursor, capacity, synced).state;
}

}  // namespace vrrl
