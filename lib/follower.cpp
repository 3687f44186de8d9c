#include <vrrl/follower.hpp>

#include <time.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>

#include <vrrl/detail/atomic_word.hpp>
#include <vrrl/slot_state.hpp>

namespace vrrl {
namespace detail {
namespace {

constexpr std::size_t words_per_record = format::record_bytes / sizeof(std::uint32_t);

// The record under the seed's cursor counts as not being written only when
// the file has not been written for this long (a write(2) updates the file's
// mtime before it copies the bytes) and two copies taken stable_wait_ns apart
// agree. A seed stalled inside its write(2) for a second is not ruled out, but
// it would have to stall there, preempted, that long.
constexpr std::int64_t quiet_ns = 1'000'000'000;
constexpr long stable_wait_ns = 1'000'000;

using Words = std::array<std::uint32_t, words_per_record>;

[[nodiscard]] std::uint64_t oldest_in_ring(std::uint64_t cursor, std::uint64_t capacity) noexcept {
  return cursor > capacity ? cursor - capacity : 0;
}

// Relaxed word loads, not memcpy: a writer may be storing into the slot right
// now, and the caller's checks throw such a copy away.
void copy_words(const std::byte* record, Words& words) noexcept {
  for (std::size_t i = 0; i < words_per_record; ++i)
    words[i] = atomic_word<std::uint32_t>(record + i * sizeof(std::uint32_t)).load(std::memory_order_relaxed);
}

void decode(const Words& words, RecordedSlot& slot, FailureEvidence& evidence) noexcept {
  std::array<std::byte, format::record_bytes> bytes;
  std::memcpy(bytes.data(), words.data(), bytes.size());
  const RecordView view(bytes.data());
  slot = view.slot();
  evidence = view.failure();
}

// How far the writer's next slot moved from `from` to `to`, modulo capacity:
// for a writer that counts it is to - from (mod capacity); for the seed, whose
// cursor is the next slot, the same formula gives the same answer.
[[nodiscard]] std::uint64_t slots_between(std::uint64_t from, std::uint64_t to, std::uint64_t capacity) noexcept {
  return ((to % capacity) + capacity - (from % capacity)) % capacity;
}

}  // namespace

std::uint64_t load_cursor(const std::byte* base) noexcept {
  // Acquire: pairs with the writer's release store (or CAS) of the cursor, so
  // every record before it has its magic cleared and its body written.
  return atomic_word<std::uint64_t>(base + format::header_offset::cursor).load(std::memory_order_acquire);
}

ReadStatus read_validated(const std::byte* base, std::uint64_t capacity, const Expected& expected,
                          std::uint64_t& cursor, RecordedSlot& slot, FailureEvidence& evidence) noexcept {
  const bool v2 = expected.format == Format::v2;
  const std::byte* const record = base + format::layout_of(expected.format).record_position(expected.slot);
  const auto magic = atomic_word<std::uint32_t>(record + format::record_offset::magic);
  // v1: 0xDEADBEEF marks a record; v2: any commit word but 0, checked below.
  const auto published = [&expected](std::uint32_t word) { return format::committed_word(expected.format, word); };

  // Decide on a cursor loaded *before* the magic: a writer stores the magic
  // of record p before it advances the cursor past p + 1, so once we have
  // acquired a cursor >= p + 2 the magic load that follows sees that store
  // (or a later lap's clear). The other order would misjudge a record whose
  // magic landed between our two loads.
  const std::uint64_t cursor_before = load_cursor(base);
  // Acquire: 0xDEADBEEF means the body before it is complete (the writer's
  // release store of the magic).
  const std::uint32_t magic_before = magic.load(std::memory_order_acquire);
  if (cursor_before >= expected.reuse + 1) {
    cursor = cursor_before;
    return ReadStatus::lapped;
  }
  if (!published(magic_before)) {
    cursor = cursor_before;
    // Between the writer's cursor and magic stores (docs/design.md): retry.
    // (cursor <= p + 1, written without going below zero for p < 0.)
    if (magic_before == format::empty_record_magic && cursor_before + capacity <= expected.reuse + 1) {
      return ReadStatus::not_yet;
    }
    return ReadStatus::gone;
  }

  Words words;
  words[0] = magic_before;
  for (std::size_t i = 1; i < words_per_record; ++i)
    words[i] = atomic_word<std::uint32_t>(record + i * sizeof(std::uint32_t)).load(std::memory_order_relaxed);
  // Acquire fence: if any word above came from a writer that has started on
  // this slot, that writer's earlier magic clear (before its release fence) is
  // visible to the loads below.
  std::atomic_thread_fence(std::memory_order_acquire);
  // Acquire: a 0xDEADBEEF stored by a later record's writer carries that
  // writer's cursor advance with it, which the cursor check then catches.
  const std::uint32_t magic_after = magic.load(std::memory_order_acquire);
  cursor = load_cursor(base);
  if (cursor > expected.reuse) return ReadStatus::lapped;
  if (magic_after != magic_before) return ReadStatus::gone;

  if (v2) {
    // The commit word must check this copy as sequence p: a copy mixing two
    // records, a record of another lap or a corrupted one does not.
    wire::RecordWords record_words;
    std::memcpy(record_words.data(), words.data(), sizeof record_words);
    if (magic_after != wire::commit_word(expected.reuse - capacity, record_words)) return ReadStatus::gone;
  } else if (cursor < capacity || cursor_before < capacity) {
    // The writer may be the seed (module comment). It writes a slot only
    // while its cursor (its next slot) names it, so a copy taken while the
    // cursor names another slot, and equal to a second copy taken after it,
    // was not being written: a torn first copy would need the seed stopped
    // inside that write across both copies, with its cursor still on the slot.
    const std::uint64_t to_slot = slots_between(expected.oldest_writer_position, expected.slot, capacity);
    const std::uint64_t moved = slots_between(expected.oldest_writer_position, cursor, capacity);
    if (to_slot < moved) return ReadStatus::lapped;  // rewritten since the read began
    if (to_slot == moved) return ReadStatus::under_seed_cursor;
    Words again;
    copy_words(record, again);
    std::atomic_thread_fence(std::memory_order_acquire);
    const std::uint64_t cursor_again = load_cursor(base);
    if (again != words || slots_between(expected.oldest_writer_position, cursor_again, capacity) >= to_slot) {
      cursor = cursor_again;
      return ReadStatus::not_yet;
    }
  }
  decode(words, slot, evidence);
  return ReadStatus::complete;
}

ReadStatus read_under_seed_cursor(const LogReader& log, const Expected& expected, RecordedSlot& slot,
                                  FailureEvidence& evidence) {
  const std::byte* const base = log.data();
  const std::byte* const record = base + log.layout().record_position(expected.slot);
  const auto wall_now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const std::int64_t modified = log.last_modified_ns();
  if (wall_now_ns() - modified < quiet_ns) return ReadStatus::not_yet;
  const std::uint64_t cursor_before = load_cursor(base);
  Words words;
  copy_words(record, words);
  const timespec pause{0, stable_wait_ns};
  ::nanosleep(&pause, nullptr);
  Words again;
  copy_words(record, again);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (load_cursor(base) != cursor_before || words != again || log.last_modified_ns() != modified) {
    return ReadStatus::not_yet;
  }
  if (words[0] != format::record_magic) return ReadStatus::gone;
  decode(words, slot, evidence);
  return ReadStatus::complete;
}

SnapshotSlot read_snapshot_step(const LogReader& log, std::uint64_t start_cursor, std::uint64_t step,
                                RecordedSlot& slot, FailureEvidence& evidence, std::uint32_t& magic,
                                std::uint64_t& laps_ahead) {
  const std::byte* const base = log.data();
  const std::uint64_t capacity = log.capacity();
  const std::uint64_t slot_index = (start_cursor % capacity + step) % capacity;
  const Format format = log.format();
  const std::byte* const record = base + log.layout().record_position(slot_index);
  magic = atomic_word<std::uint32_t>(record + format::record_offset::magic).load(std::memory_order_acquire);
  if (magic == format::empty_record_magic) return SnapshotSlot::empty;
  if (format == Format::v1 && magic != format::record_magic) return SnapshotSlot::bad;
  // The slot is reused by append number start_cursor + step.
  const Expected expected{
      .slot = slot_index, .reuse = start_cursor + step, .oldest_writer_position = start_cursor, .format = format};
  std::uint64_t cursor = 0;
  ReadStatus status = ReadStatus::not_yet;
  // A copy that could not be trusted (the seed's rules) is retried a few times.
  for (int attempt = 0; attempt < 4 && status == ReadStatus::not_yet; ++attempt) {
    status = read_validated(base, capacity, expected, cursor, slot, evidence);
  }
  if (status == ReadStatus::under_seed_cursor) status = read_under_seed_cursor(log, expected, slot, evidence);
  if (status == ReadStatus::complete) return SnapshotSlot::record;
  if (status != ReadStatus::gone || format == Format::v1) return SnapshotSlot::overwritten;
  // v2, not a record of its sequence: which lap's record is it, if any?
  const std::uint32_t now = atomic_word<std::uint32_t>(record + format::record_offset::magic)
                                .load(std::memory_order_acquire);
  if (now != magic) return SnapshotSlot::overwritten;
  const SlotCheck check = v2_slot_check(record, slot_index, start_cursor, capacity, 0);
  switch (check.state) {
    case SlotState::beyond_cursor:
      laps_ahead = (check.sequence - (start_cursor + step - capacity)) / capacity;
      return SnapshotSlot::beyond_cursor;
    case SlotState::stale: return SnapshotSlot::stale;
    case SlotState::record: return SnapshotSlot::overwritten;  // it changed between our reads
    default: return SnapshotSlot::bad;
  }
}

}  // namespace detail

Follower::Follower(const LogReader& log, std::optional<std::uint64_t> start) noexcept
    : log_(&log),
      base_(log.data()),
      capacity_(log.capacity()),
      format_(log.format()),
      position_(0),
      highest_cursor_(log.appended()) {
  if (highest_cursor_ >= format::max_cursor) highest_cursor_ = 0;  // poll() reports it
  position_ = start.value_or(detail::oldest_in_ring(highest_cursor_, capacity_));
}

Follower Follower::from_now(const LogReader& log) noexcept { return Follower(log, log.appended()); }

std::optional<std::uint64_t> Follower::refresh_cursor(PollResult& result) {
  log_->check_not_shrunk("follow");
  const std::uint64_t writer_cursor = detail::load_cursor(base_);
  if (writer_cursor >= format::max_cursor) {
    result.implausible_cursor = true;
    return std::nullopt;
  }
  std::uint64_t cursor = translate(writer_cursor);
  if (cursor < highest_cursor_) {
    // The count went backwards: the seed's modulo cursor, or a restarted
    // count. Count the appends as the distance the next slot moved, so the
    // cursor in our count lands in [highest, highest + capacity).
    const std::uint64_t behind = highest_cursor_ - cursor;
    offset_ += (behind + capacity_ - 1) / capacity_ * capacity_;
    cursor = translate(writer_cursor);
    result.resynced = true;
  }
  highest_cursor_ = cursor;
  return cursor;
}

}  // namespace vrrl
