#include <vrrl/multi_producer.hpp>

#include <atomic>
#include <new>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace vrrl {
namespace {

constexpr std::size_t cache_line = 64;

// A slot's state word: (key << 2) | phase, key = sequence + capacity (so the
// "previous lap" of sequences below capacity has a key too). Per slot the
// value only grows: written(s) < published(s) < written(s + capacity). Fits
// while sequence + capacity < 2^62; RingLog restarts any count at or above
// 2^62 on open, and reaching it by appending would take over a century.
enum class Phase : std::uint64_t { written = 1, published = 2 };

[[nodiscard]] constexpr std::uint64_t state_of(std::uint64_t sequence, std::uint64_t capacity,
                                               Phase phase) noexcept {
  return ((sequence + capacity) << 2) | static_cast<std::uint64_t>(phase);
}

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

[[nodiscard]] std::atomic_ref<std::uint32_t> word_at(std::byte* at) noexcept {
  return std::atomic_ref<std::uint32_t>(*std::launder(reinterpret_cast<std::uint32_t*>(at)));
}

}  // namespace

struct SharedRingLog::Shared {
  explicit Shared(std::uint64_t first_sequence, std::uint64_t capacity)
      : claimed(first_sequence), states(new std::atomic<std::uint64_t>[capacity]) {
    // Every slot starts as "its previous lap is published": the record that
    // sits there (or the empty slot) may be overwritten by the first claim.
    for (std::uint64_t s = first_sequence; s < first_sequence + capacity; ++s)
      states[s % capacity].store(state_of(s - capacity, capacity, Phase::published), std::memory_order_relaxed);
  }

  // Every producer does one RMW here per append. On its own cache line so the
  // line holding the read-mostly fields below is not invalidated each time.
  alignas(cache_line) std::atomic<std::uint64_t> claimed;
  alignas(cache_line) std::unique_ptr<std::atomic<std::uint64_t>[]> states;
  std::atomic<std::uint64_t> waits{0};  // touched only by producers that wait
};

SharedRingLog::SharedRingLog(RingLog log, std::unique_ptr<Shared> shared) noexcept
    : log_(std::move(log)), shared_(std::move(shared)) {}

SharedRingLog SharedRingLog::open(const std::filesystem::path& path, std::uint64_t capacity,
                                  const OpenOptions& options) {
  RingLog log = RingLog::open(path, capacity, options);
  auto shared = std::make_unique<Shared>(log.appended_, log.capacity_);
  return SharedRingLog(std::move(log), std::move(shared));
}

SharedRingLog::SharedRingLog(SharedRingLog&& other) noexcept = default;
SharedRingLog& SharedRingLog::operator=(SharedRingLog&& other) noexcept = default;
SharedRingLog::~SharedRingLog() = default;

std::uint64_t SharedRingLog::claimed() const noexcept {
  return shared_->claimed.load(std::memory_order_relaxed);
}

std::uint64_t SharedRingLog::published() const noexcept {
  return std::atomic_ref<std::uint64_t>(*log_.header_cursor_).load(std::memory_order_acquire);
}

std::uint64_t SharedRingLog::waits() const noexcept { return shared_->waits.load(std::memory_order_relaxed); }

void SharedRingLog::append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept {
  const std::uint64_t capacity = log_.capacity_;
  std::atomic<std::uint64_t>* const states = shared_->states.get();

  // Relaxed: the counter only has to hand out distinct, consecutive numbers;
  // all ordering goes through the slot states and the header cursor.
  const std::uint64_t sequence = shared_->claimed.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t slot_index = sequence % capacity;
  std::atomic<std::uint64_t>& state = states[slot_index];

  // Acquire: pairs with the publisher's release of the previous lap, so its
  // body and magic stores happen before ours (no two writers in one slot).
  const std::uint64_t previous_published = state_of(sequence - capacity, capacity, Phase::published);
  if (state.load(std::memory_order_acquire) != previous_published) {
    shared_->waits.fetch_add(1, std::memory_order_relaxed);
    for (unsigned spins = 0; state.load(std::memory_order_acquire) != previous_published; ++spins) {
      if (spins < 64) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }

  std::byte* const record = log_.records_ + slot_index * format::record_bytes;
  const auto magic = word_at(record + format::record_offset::magic);
  magic.store(format::empty_record_magic, std::memory_order_relaxed);
  // Release fence: the cleared magic is visible before any body word changes
  // (the Follower's re-check relies on it), exactly as in RingLog::append.
  std::atomic_thread_fence(std::memory_order_release);
  // Plain stores, as in RingLog::append. Readers in other mappings validate
  // their copies (Follower); within this process the slot states order every
  // pair of writers of a slot, which is what TSan checks in the tests.
  wire::encode_body(record, slot, evidence);

  std::atomic_ref<std::uint64_t> cursor(*log_.header_cursor_);
  const std::uint64_t previous_index = slot_index == 0 ? capacity - 1 : slot_index - 1;
  // Fast path: every earlier record is published (cursor == sequence and the
  // previous record's magic is stored). Nobody else can move the cursor from
  // `sequence`, because that takes our slot reading "written", which it never
  // will: publish as RingLog does, with plain release stores, and skip the
  // "written" state and the CAS.
  if (cursor.load(std::memory_order_seq_cst) == sequence &&
      states[previous_index].load(std::memory_order_seq_cst) >=
          state_of(sequence - 1, capacity, Phase::published)) {
    // Release: the body is complete for anyone who acquires the cursor.
    cursor.store(sequence + 1, std::memory_order_release);
    // Release: cursor and body are visible before the slot reads as valid.
    magic.store(format::record_magic, std::memory_order_release);
    // seq_cst: see publish_written(); a producer of `sequence + 1` that found
    // our slot unpublished returned, and we must then see its "written".
    state.store(state_of(sequence, capacity, Phase::published), std::memory_order_seq_cst);
    publish_written(sequence + 1);
    return;
  }

  // seq_cst (a release suffices for the body): this store and the loads in
  // publish_written() must not be reordered, or this producer and the one
  // publishing the record before it could each miss the other's progress and
  // leave this record unpublished (store-buffer pattern).
  state.store(state_of(sequence, capacity, Phase::written), std::memory_order_seq_cst);
  publish_written(cursor.load(std::memory_order_seq_cst));
}

// Moves the header cursor, from `next` (a cursor value already seen) on, over
// every consecutive written record, storing each record's magic after the
// cursor passes it (RingLog's order: a kill between
// the two leaves an empty slot, never an out-of-order record). Record w + 1 is
// only published once record w's magic is stored, so a reader that sees the
// cursor beyond w + 1 knows record w's magic is final, as with one writer.
// Every operation here is seq_cst: each producer's "written" store is followed
// by loads of state another producer stores, and vice versa; without one total
// order both could read stale values and both stop (a lost wake-up).
void SharedRingLog::publish_written(std::uint64_t next) noexcept {
  const std::uint64_t capacity = log_.capacity_;
  std::atomic<std::uint64_t>* const states = shared_->states.get();
  std::atomic_ref<std::uint64_t> cursor(*log_.header_cursor_);

  for (;;) {
    const std::uint64_t slot_index = next % capacity;
    const std::uint64_t previous_index = slot_index == 0 ? capacity - 1 : slot_index - 1;
    // The record before `next` is between its cursor CAS and its magic store:
    // whoever won that CAS will carry on with `next` when it is done.
    if (states[previous_index].load(std::memory_order_seq_cst) <
        state_of(next - 1, capacity, Phase::published))
      return;
    const std::uint64_t state = states[slot_index].load(std::memory_order_seq_cst);
    const std::uint64_t ready = state_of(next, capacity, Phase::written);
    if (state < ready) return;  // not written yet: its producer will publish it
    if (state > ready) {        // published already: our cursor value is stale
      next = cursor.load(std::memory_order_seq_cst);
      continue;
    }
    // On failure `next` becomes the current cursor and we look again.
    if (!cursor.compare_exchange_strong(next, next + 1, std::memory_order_seq_cst)) continue;
    std::byte* const record = log_.records_ + slot_index * format::record_bytes;
    // Release: the body (made visible to us by the state load above, whose
    // writer released it) is complete for anyone who acquires this magic.
    word_at(record + format::record_offset::magic).store(format::record_magic, std::memory_order_release);
    // Release (seq_cst): lets the next lap's producer into the slot, and the
    // publisher of `next + 1` past the check above.
    states[slot_index].store(state_of(next, capacity, Phase::published), std::memory_order_seq_cst);
    ++next;
  }
}

}  // namespace vrrl
