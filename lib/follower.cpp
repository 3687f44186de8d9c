#include <vrrl/follower.hpp>

#include <array>
#include <atomic>
#include <cstring>
#include <new>

namespace vrrl {
namespace detail {
namespace {

constexpr std::size_t words_per_record = format::record_bytes / sizeof(std::uint32_t);

// The word at `offset` of a read-only mapping as an atomic. atomic_ref needs a
// non-const object; loads never write, so a PROT_READ mapping is fine. Every
// word of a record is 4-byte aligned (records sit at 32 + 64 i in a page
// aligned mapping).
[[nodiscard]] std::atomic_ref<std::uint32_t> word_at(const std::byte* at) noexcept {
  return std::atomic_ref<std::uint32_t>(
      *std::launder(reinterpret_cast<std::uint32_t*>(const_cast<std::byte*>(at))));
}

[[nodiscard]] std::uint64_t oldest_in_ring(std::uint64_t cursor, std::uint64_t capacity) noexcept {
  return cursor > capacity ? cursor - capacity : 0;
}

}  // namespace

std::uint64_t load_cursor(const std::byte* base) noexcept {
  // Acquire: pairs with the writer's release store (or CAS) of the cursor, so
  // every record before it has its magic cleared and its body written.
  return std::atomic_ref<std::uint64_t>(*std::launder(reinterpret_cast<std::uint64_t*>(
                                            const_cast<std::byte*>(base + format::header_offset::cursor))))
      .load(std::memory_order_acquire);
}

ReadStatus read_published(const std::byte* base, std::uint64_t capacity, std::uint64_t sequence,
                          std::uint64_t& cursor, RecordedSlot& slot, FailureEvidence& evidence) noexcept {
  const std::byte* const record = base + format::record_position(sequence % capacity);
  const auto magic = word_at(record + format::record_offset::magic);

  // Acquire: the cursor we were given covers `sequence`, so this magic is the
  // clear of record `sequence` or a later store; 0xDEADBEEF then means its
  // body is complete (the writer's release store of the magic).
  std::uint32_t magic_before = magic.load(std::memory_order_acquire);
  if (magic_before != format::record_magic) {
    // Decide on a cursor loaded *before* the magic: a writer stores the magic
    // of record p before it advances the cursor past p + 1, so once we have
    // acquired a cursor >= p + 2 the magic load that follows sees that store
    // (or a later lap's clear). The other order would misjudge a record whose
    // magic landed between our two loads.
    cursor = load_cursor(base);
    magic_before = magic.load(std::memory_order_acquire);
    if (cursor > sequence + capacity) return ReadStatus::lapped;
    if (magic_before != format::record_magic) {
      // Between the writer's cursor and magic stores (docs/design.md): retry.
      if (magic_before == format::empty_record_magic && cursor <= sequence + 1) return ReadStatus::not_yet;
      return ReadStatus::gone;
    }
  }

  // Relaxed word loads, not memcpy: a writer may be storing into the slot
  // right now, and the check below throws such a copy away.
  std::array<std::uint32_t, words_per_record> words;
  words[0] = magic_before;
  for (std::size_t i = 1; i < words_per_record; ++i)
    words[i] = word_at(record + i * sizeof(std::uint32_t)).load(std::memory_order_relaxed);
  // Acquire fence: if any word above came from a writer that has started on
  // this slot, that writer's earlier magic clear (before its release fence) is
  // visible to the loads below.
  std::atomic_thread_fence(std::memory_order_acquire);
  // Acquire: a 0xDEADBEEF stored by a later record's writer carries that
  // writer's cursor advance with it, which the cursor check then catches.
  const std::uint32_t magic_after = magic.load(std::memory_order_acquire);
  cursor = load_cursor(base);
  if (cursor > sequence + capacity) return ReadStatus::lapped;
  if (magic_after != format::record_magic) return ReadStatus::gone;

  std::array<std::byte, format::record_bytes> bytes;
  std::memcpy(bytes.data(), words.data(), bytes.size());
  const RecordView view(bytes.data());
  slot = view.slot();
  evidence = view.failure();
  return ReadStatus::complete;
}

}  // namespace detail

Follower::Follower(const LogReader& log, std::optional<std::uint64_t> start) noexcept
    : base_(log.data()), capacity_(log.capacity()), position_(0), highest_cursor_(log.appended()) {
  position_ = start.value_or(detail::oldest_in_ring(highest_cursor_, capacity_));
}

Follower Follower::from_now(const LogReader& log) noexcept { return Follower(log, log.appended()); }

std::uint64_t Follower::refresh_cursor(PollResult& result) noexcept {
  const std::uint64_t cursor = detail::load_cursor(base_);
  if (cursor < highest_cursor_) {
    // The count went backwards: a writer restarted it. Sequences before the
    // restart are no longer addressable; start over at the oldest record.
    position_ = detail::oldest_in_ring(cursor, capacity_);
    result.resynced = true;
  }
  highest_cursor_ = cursor;
  return cursor;
}

}  // namespace vrrl
