// detail: the publish protocol, stated once, and the hot state of a writer
// that owns its slots (RingLog, the recording's StreamWriter). SharedRingLog
// uses the same steps with its own claim and publication order.
// Implementation detail of the public headers; not API.
//
// Every writer stores a record in slot `record` with these steps, in this
// order (docs/design.md, "The publish protocol", has the case-by-case proof):
//  1. retire_slot:    the slot's magic = 0, then a release fence: the old
//                     record is gone before any of its bytes change;
//  2. wire::store_record_words with magic 0: the body, plain stores;
//  3. publish_cursor: the header cursor = the new count (release): replay now
//                     starts after this slot;
//  4. commit_record:  the magic = 0xDEADBEEF, or in VRRL v2 the commit word
//                     that checks record and sequence (release): the record is valid.
// A process killed between any two steps leaves a log whose replay shows every
// completed append, in order, and no half-written record.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <vrrl/detail/atomic_word.hpp>
#include <vrrl/format.hpp>
#include <vrrl/record.hpp>

namespace vrrl::detail {

inline void retire_slot(std::byte* record) noexcept {
  atomic_word<std::uint32_t>(record + format::record_offset::magic)
      .store(format::empty_record_magic, std::memory_order_relaxed);
  // Release fence: the cleared magic is visible before any body byte changes;
  // pairs with the acquire fence of a reader that re-checks the slot (Follower).
  std::atomic_thread_fence(std::memory_order_release);
}

inline void publish_cursor(std::uint64_t* header_cursor, std::uint64_t count) noexcept {
  // Release: the body is complete for anyone who loads the cursor with acquire.
  std::atomic_ref<std::uint64_t>(*header_cursor).store(count, std::memory_order_release);
}

// `word`: format::record_magic (v1) or the record's commit word (v2).
inline void commit_record(std::byte* record, std::uint32_t word = format::record_magic) noexcept {
  // Release: cursor and body are visible before the slot reads as valid.
  atomic_word<std::uint32_t>(record + format::record_offset::magic).store(word, std::memory_order_release);
}

// Where a writer that owns its slots appends next. Aligned to a cache line so
// that writers of different threads, side by side in memory, never share one.
// The count is kept as lap_start + next_slot so that an append writes back one
// member (next_slot); lap_start changes once per lap.
struct alignas(64) AppendState {
  std::byte* records = nullptr;            // slot 0 inside the mapping
  std::uint64_t* header_cursor = nullptr;  // header bytes 24..31 inside the mapping
  std::uint64_t capacity = 0;
  std::uint64_t lap_start = 0;             // the count when slot 0 of this lap was (or will be) written
  std::uint64_t next_slot = 0;             // 0 ..< capacity (== capacity only inside append_record's caller)
  Format format = Format::v1;              // v2 stores a commit word instead of the magic

  // Records appended over the file's lifetime: the count the header cursor holds.
  [[nodiscard]] std::uint64_t appended() const noexcept { return lap_start + next_slot; }
};
static_assert(sizeof(AppendState) == 64);

// Steps 1-4 into `state`'s next slot, then advances it. Returns true when that
// slot was the last one (next_slot == capacity): the caller wraps (wrap_lap)
// or rolls to another file. The state is read into locals first and written
// back last: record bytes are stored through std::byte*, which may alias
// anything, so members read after those stores would be reloaded from memory.
[[nodiscard]] inline bool append_record(AppendState& state, const RecordedSlot& slot,
                                        const FailureEvidence& evidence) noexcept {
  const std::uint64_t next_slot = state.next_slot;
  std::byte* const record = state.records + next_slot * format::record_bytes;
  std::uint64_t* const header_cursor = state.header_cursor;
  const std::uint64_t count = state.lap_start + next_slot + 1;
  const bool last = next_slot + 1 == state.capacity;

  const wire::RecordWords words = wire::record_words(slot, evidence);
  retire_slot(record);
  wire::store_record_words(record, words);
  publish_cursor(header_cursor, count);
  commit_record(record, state.format == Format::v2 ? wire::commit_word(count - 1, words) : format::record_magic);

  state.next_slot = next_slot + 1;
  return last;
}

// After append_record() returned true: the next append starts a new lap in
// the same slots.
inline void wrap_lap(AppendState& state) noexcept {
  state.lap_start += state.capacity;
  state.next_slot = 0;
}

}  // namespace vrrl::detail
