#include <vrrl/multi_producer.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <utility>

#include <vrrl/detail/publish.hpp>

#include "log_file.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace vrrl {
namespace {

constexpr std::size_t cache_line = 64;

// A slot's state word: (key << 2) | phase, where the key of sequence s is
// s + capacity (so that the "previous lap" of sequences below capacity has a
// key too). Per slot the value only grows: written(s) < published(s) <
// written(s + capacity). Keys stay below 2^62 because every count starts below
// format::max_cursor (2^61) and appending 2^61 more records takes decades.
enum class Phase : std::uint64_t { written = 1, published = 2 };

[[nodiscard]] constexpr std::uint64_t state_word(std::uint64_t key, Phase phase) noexcept {
  return (key << 2) | static_cast<std::uint64_t>(phase);
}
static_assert(state_word(format::max_cursor + (std::uint64_t{1} << 60), Phase::published) >
              state_word(format::max_cursor, Phase::written));

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

namespace detail {

struct SharedProducers {
  explicit SharedProducers(const detail::AppendState& where)
      : records(where.records),
        header_cursor(where.header_cursor),
        capacity(where.capacity),
        keep(where.capacity / 2),
        format(where.format),
        states(new std::atomic<std::uint64_t>[where.capacity]),
        commits(new std::uint32_t[where.capacity]),
        claimed(where.appended()) {
    // Every slot starts as "its previous lap is published": the record that
    // sits there (or the empty slot) may be retired by the first claim of it.
    for (std::uint64_t s = where.appended(); s < where.appended() + capacity; ++s)
      states[s % capacity].store(state_word(s, Phase::published), std::memory_order_relaxed);
  }

  [[nodiscard]] std::uint64_t key(std::uint64_t sequence) const noexcept { return sequence + capacity; }
  // The state word of the slot that holds the record with key `record_key`.
  [[nodiscard]] std::atomic<std::uint64_t>& state_of_key(std::uint64_t record_key) const noexcept {
    return states[record_key % capacity];
  }

  void wait_until_published(std::uint64_t record_key) noexcept;
  void wake_waiters() noexcept;
  void publish_written(std::uint64_t next) noexcept;

  // Read-mostly: set at open.
  std::byte* const records;
  std::uint64_t* const header_cursor;
  const std::uint64_t capacity;
  const std::uint64_t keep;
  const Format format;
  const std::unique_ptr<std::atomic<std::uint64_t>[]> states;
  // The word each written record's publisher stores last (0xDEADBEEF, or its
  // v2 commit word, which only its producer can compute cheaply). Written by
  // the producer before its "written" state store, read by the publisher
  // after loading that state: ordered by it, so plain.
  const std::unique_ptr<std::uint32_t[]> commits;
  // Every producer does one RMW here per append. On its own cache line so the
  // line holding the read-mostly fields above is not invalidated each time.
  alignas(cache_line) std::atomic<std::uint64_t> claimed;
  // Written only by producers that wait, read by every publisher.
  alignas(cache_line) std::atomic<std::uint32_t> waiting{0};
  std::atomic<std::uint32_t> generation{0};  // the futex word waiters block on
  alignas(cache_line) std::atomic<std::uint64_t> waits{0};
};

}  // namespace detail

// Blocks until the record with key `record_key` is published. Spins briefly
// (the common wait is a producer a few instructions from publishing), yields a
// few times, then sleeps on the futex: spinning or yielding forever would
// starve a lower-priority producer under SCHED_FIFO on the same CPU, which is
// the one that has to publish.
//
// No lost wake-up: the waiter increments `waiting`, loads `generation`, then
// re-checks the state; a publisher stores the state, then loads `waiting`,
// and if it is non-zero bumps `generation` and wakes. All seq_cst, so either
// the publisher sees the waiter, or the waiter's re-check sees the state; and
// a bump between the waiter's load and its futex wait makes the wait return.
void detail::SharedProducers::wait_until_published(std::uint64_t record_key) noexcept {
  std::atomic<std::uint64_t>& state = state_of_key(record_key);
  const std::uint64_t published = state_word(record_key, Phase::published);
  const auto ready = [&] { return state.load(std::memory_order_seq_cst) >= published; };
  for (int spin = 0; spin < 64; ++spin) {
    if (ready()) return;
    cpu_relax();
  }
  for (int yield = 0; yield < 8; ++yield) {
    if (ready()) return;
    std::this_thread::yield();
  }
  waiting.fetch_add(1, std::memory_order_seq_cst);
  for (;;) {
    const std::uint32_t seen = generation.load(std::memory_order_seq_cst);
    if (ready()) break;
    generation.wait(seen, std::memory_order_seq_cst);
  }
  waiting.fetch_sub(1, std::memory_order_seq_cst);
}

void detail::SharedProducers::wake_waiters() noexcept {
  if (waiting.load(std::memory_order_seq_cst) == 0) return;
  generation.fetch_add(1, std::memory_order_seq_cst);
  generation.notify_all();
}

SharedRingLog::SharedRingLog(std::unique_ptr<detail::LogFile> file, std::unique_ptr<detail::SharedProducers> shared) noexcept
    : file_(std::move(file)), shared_(std::move(shared)) {}

SharedRingLog SharedRingLog::open(const std::filesystem::path& path, std::uint64_t capacity,
                                  const OpenOptions& options) {
  auto file = detail::LogFile::open_writer(path, capacity, options);
  file->set_flag(format::flag_multi_producer);
  auto shared = std::make_unique<detail::SharedProducers>(file->append_state());
  return SharedRingLog(std::move(file), std::move(shared));
}

SharedRingLog::SharedRingLog(SharedRingLog&& other) noexcept = default;
SharedRingLog& SharedRingLog::operator=(SharedRingLog&& other) noexcept = default;
SharedRingLog::~SharedRingLog() = default;

ReplayRange SharedRingLog::replay(Recovery recovery) const& { return file_->replay(recovery); }
std::vector<RecordedSlot> SharedRingLog::replay_all() const { return file_->replay_all(); }
void SharedRingLog::sync() { file_->sync(); }
std::uint64_t SharedRingLog::capacity() const noexcept { return shared_->capacity; }
std::uint64_t SharedRingLog::keep() const noexcept { return shared_->keep; }
const std::filesystem::path& SharedRingLog::path() const noexcept { return file_->path(); }

std::uint64_t SharedRingLog::claimed() const noexcept {
  return shared_->claimed.load(std::memory_order_relaxed);
}

std::uint64_t SharedRingLog::published() const noexcept { return file_->load_cursor(); }

std::uint64_t SharedRingLog::waits() const noexcept { return shared_->waits.load(std::memory_order_relaxed); }

void SharedRingLog::append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept {
  detail::SharedProducers& shared = *shared_;
  const std::uint64_t capacity = shared.capacity;

  // Relaxed: the counter only has to hand out distinct, consecutive numbers;
  // all ordering goes through the slot states and the header cursor.
  const std::uint64_t sequence = shared.claimed.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t slot_index = sequence % capacity;
  std::atomic<std::uint64_t>& state = shared.states[slot_index];

  // Retiring our slot destroys record sequence - capacity. Wait until it is
  // published *and* keep() newer records are: record sequence - capacity + keep
  // (key sequence + keep). Publication is in order, so that implies the rest.
  // seq_cst (acquire would do for the data): pairs with the publisher's store
  // of that state, whose chain of publications orders the previous lap's
  // magic store in our slot before our stores (no two writers in one slot).
  const std::uint64_t gate_key = sequence + shared.keep;
  if (shared.state_of_key(gate_key).load(std::memory_order_seq_cst) < state_word(gate_key, Phase::published)) {
    shared.waits.fetch_add(1, std::memory_order_relaxed);
    shared.wait_until_published(gate_key);
  }

  std::byte* const record = shared.records + slot_index * format::record_bytes;
  const wire::RecordWords words = wire::record_words(slot, evidence);
  detail::retire_slot(record);
  // Plain stores, as in RingLog::append. Readers in other mappings validate
  // their copies (Follower); within this process the slot states order every
  // pair of writers of a slot, which is what TSan checks in the tests.
  wire::store_record_words(record, words);
  const std::uint32_t commit =
      shared.format == Format::v2 ? wire::commit_word(sequence, words) : format::record_magic;

  std::atomic_ref<std::uint64_t> cursor(*shared.header_cursor);
  const std::uint64_t previous_index = slot_index == 0 ? capacity - 1 : slot_index - 1;
  // Fast path: every earlier record is published (cursor == sequence and the
  // previous record's magic is stored). Nobody else can move the cursor from
  // `sequence`, because that takes our slot reading "written", which it never
  // will: publish as RingLog does, and skip the "written" state and the CAS.
  if (cursor.load(std::memory_order_seq_cst) == sequence &&
      shared.states[previous_index].load(std::memory_order_seq_cst) >=
          state_word(shared.key(sequence - 1), Phase::published)) {
    detail::publish_cursor(shared.header_cursor, sequence + 1);
    detail::commit_record(record, commit);
    // seq_cst: see publish_written(); a producer of `sequence + 1` that found
    // our slot unpublished returned, and we must then see its "written".
    state.store(state_word(shared.key(sequence), Phase::published), std::memory_order_seq_cst);
    shared.publish_written(sequence + 1);
    shared.wake_waiters();
    return;
  }

  // seq_cst (a release suffices for the body): this store and the loads in
  // publish_written() must not be reordered, or this producer and the one
  // publishing the record before it could each miss the other's progress and
  // leave this record unpublished (store-buffer pattern).
  shared.commits[slot_index] = commit;
  state.store(state_word(shared.key(sequence), Phase::written), std::memory_order_seq_cst);
  shared.publish_written(cursor.load(std::memory_order_seq_cst));
  shared.wake_waiters();
}

// Moves the header cursor, from `next` (a cursor value already seen) on, over
// every consecutive written record, storing each record's magic after the
// cursor passes it (the single writer's order: a kill between the two leaves
// an empty slot, never an out-of-order record). Record w + 1 is only published
// once record w's magic is stored, so a reader that sees the cursor beyond
// w + 1 knows record w's magic is final, as with one writer.
// Every operation here is seq_cst: each producer's "written" store is followed
// by loads of state another producer stores, and vice versa; without one total
// order both could read stale values and both stop (a lost wake-up).
void detail::SharedProducers::publish_written(std::uint64_t next) noexcept {
  std::atomic_ref<std::uint64_t> cursor(*header_cursor);
  for (;;) {
    const std::uint64_t slot_index = next % capacity;
    const std::uint64_t previous_index = slot_index == 0 ? capacity - 1 : slot_index - 1;
    // The record before `next` is between its cursor CAS and its magic store:
    // whoever won that CAS will carry on with `next` when it is done.
    if (states[previous_index].load(std::memory_order_seq_cst) < state_word(key(next - 1), Phase::published))
      return;
    const std::uint64_t current = states[slot_index].load(std::memory_order_seq_cst);
    const std::uint64_t ready = state_word(key(next), Phase::written);
    if (current < ready) return;  // not written yet: its producer will publish it
    if (current > ready) {        // published already: our cursor value is stale
      next = cursor.load(std::memory_order_seq_cst);
      continue;
    }
    // On failure `next` becomes the current cursor and we look again.
    if (!cursor.compare_exchange_strong(next, next + 1, std::memory_order_seq_cst)) continue;
    // The body is visible to us: the state load above read its writer's
    // "written" store (seq_cst, hence release).
    detail::commit_record(records + slot_index * format::record_bytes, commits[slot_index]);
    // Lets the next lap's producer into the slot, and the publisher of
    // `next + 1` past the check above.
    states[slot_index].store(state_word(key(next), Phase::published), std::memory_order_seq_cst);
    ++next;
  }
}

}  // namespace vrrl
