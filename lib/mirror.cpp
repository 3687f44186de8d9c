#include "mirror.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>

#include <vrrl/detail/atomic_word.hpp>
#include <vrrl/follower.hpp>

#include "disk_io.hpp"

namespace vrrl::detail {
namespace {

// Slots per chunk: 1 MiB of records per system call.
constexpr std::uint64_t chunk_slots = 16'384;
// The staging buffer (allocated once, reused by every pass): a pass of up to
// this many records (8 MiB; 10 ms at 13 M records/s) keeps what step 2 wrote
// for step 3, which then needs no read back. Longer passes go chunk by chunk.
constexpr std::uint64_t stage_slots = 131'072;
constexpr std::size_t words_per_record = format::record_bytes / sizeof(std::uint64_t);

// The record's word at bytes 0..3: v1's magic, v2's commit word.
[[nodiscard]] std::uint32_t magic_of(const std::byte* slot) noexcept {
  return wire::load_le<std::uint32_t>(slot + format::record_offset::magic);
}

void set_magic(std::byte* slot, std::uint32_t magic) noexcept {
  wire::store_le(slot + format::record_offset::magic, magic);
}

}  // namespace

Mirror::Mirror(const LogReader& live, int disk_fd, std::filesystem::path disk_path, std::uint64_t durable,
               Journal* journal)
    : live_(live.data()),
      capacity_(live.capacity()),
      layout_(live.layout()),
      disk_fd_(disk_fd),
      disk_path_(std::move(disk_path)),
      durable_(durable),
      journal_(journal),
      stage_(static_cast<std::size_t>(std::min(capacity_, stage_slots) * format::record_bytes)),
      valid_(static_cast<std::size_t>(capacity_)),
      may_hold_record_(static_cast<std::size_t>(capacity_), 1) {}

template <class Fn>
void Mirror::for_each_chunk(std::uint64_t first, std::uint64_t end, Fn&& fn) {
  const bool staged = end - first <= stage_.size() / format::record_bytes;
  for (std::uint64_t at = first; at < end;) {
    const std::uint64_t slot = at % capacity_;
    const std::uint64_t count = std::min({end - at, capacity_ - slot, chunk_slots});
    std::byte* const buffer = stage_.data() + (staged ? (at - first) * format::record_bytes : 0);
    fn(Chunk{at, count, buffer, staged});
    at += count;
  }
}

// The pass covers the live cursor as loaded now, minus the newest record if
// its writer has published the cursor but not yet the magic (step 3 -> 4 of
// the publish protocol): that record is the next pass's.
std::uint64_t Mirror::pass_end(Writer writer) const noexcept {
  const std::uint64_t cursor = load_cursor(live_);
  if (cursor >= format::max_cursor) return durable_;  // damage; the writer restarts such a count at open
  if (cursor <= durable_ || writer == Writer::quiescent) return std::max(cursor, durable_);
  const std::byte* newest = live_ + layout_.record_position((cursor - 1) % capacity_);
  // Acquire: pairs with the writer's release store of the magic.
  const std::uint32_t word = atomic_word<std::uint32_t>(newest).load(std::memory_order_acquire);
  const bool committed = format::committed_word(layout_.format, word);
  if (!committed && load_cursor(live_) == cursor) return cursor - 1;
  return cursor;
}

void Mirror::write_header_word(std::size_t offset, std::uint64_t value, const char* what) {
  std::array<std::byte, sizeof(std::uint64_t)> bytes{};
  wire::store_le(bytes.data(), value);
  disk_write(disk_fd_, bytes.data(), bytes.size(), offset, disk_path_, what);
}

Mirror::PassReport Mirror::pass(Writer writer) {
  PassReport report{.durable = durable_, .copied = 0, .overrun = 0};
  const std::uint64_t end = pass_end(writer);
  if (end <= durable_) return report;
  // Sequences before end - capacity are overwritten in the live ring already.
  // A writer that lapped the ring since the last pass is faster than the
  // disk: then the pass takes only the newest records, as many as the staging
  // buffer holds. The older ones are the next to be overwritten, likely while
  // they are being copied, and copying a whole ring would take the memory
  // bandwidth the writer needs for nothing.
  const std::uint64_t kept = end - durable_ > capacity_ ? std::min(capacity_, stage_slots) : capacity_;
  const std::uint64_t first = std::max(durable_, end > kept ? end - kept : 0);
  report.overrun = first - durable_;
  const bool lapped = end - durable_ > capacity_;
  try {
    if (journal_ != nullptr) journal_->pass_started(end);
    std::array<std::byte, format::record_bytes> last_slot{};
    if (layout_.format == Format::v2) {
      // v2: every record checks itself and its sequence, and no slot
      // straddles a sector, so records and cursor go in one step: a cut
      // leaves each slot old (stale for the new cursor, or in order before
      // the old one) or new (current, or one lap beyond the old cursor, which
      // readers yield after the rest in sequence order). `synced` only once
      // all is durable. A pass more than a lap long would leave records two
      // laps beyond the old cursor, which readers take for damage: it empties
      // the slots and moves the cursor first, each durably.
      if (lapped) {
        if (clear_lapped_ring()) disk_flush(disk_fd_, disk_path_, "emptying a ring the writer lapped");
        write_header_word(format::header_offset::cursor, end, "the header cursor");
        disk_flush(disk_fd_, disk_path_, "moving the cursor past a lapped ring");
      }
      write_slots(first, end, report, last_slot);
      write_header_word(format::header_offset::cursor, end, "the header cursor");
      disk_flush(disk_fd_, disk_path_, "writing records and the header cursor");
      write_header_word(format::header_offset::synced, end, "the header's synced count");
      disk_flush(disk_fd_, disk_path_, "writing the synced count");
    } else {
      if (lapped ? clear_lapped_ring() : clear_magics(first, end)) {
        disk_flush(disk_fd_, disk_path_, "clearing the magics of reused slots");
      }
      write_slots(first, end, report, last_slot);
      write_header_word(format::header_offset::cursor, end, "the header cursor");
      disk_flush(disk_fd_, disk_path_, "writing record bodies and the header cursor");
      write_magics(first, end, last_slot);
      disk_flush(disk_fd_, disk_path_, "writing record magics");
    }
    if (journal_ != nullptr) journal_->pass_completed(end, last_slot);
  } catch (...) {
    disk_uncertain_ = true;
    std::fill(may_hold_record_.begin(), may_hold_record_.end(), std::uint8_t{1});  // unknown again
    throw;
  }
  // What the disk holds now: a lapped pass emptied every slot it did not commit.
  if (lapped) std::fill(may_hold_record_.begin(), may_hold_record_.end(), std::uint8_t{0});
  for (std::uint64_t at = first; at < end; ++at) {
    may_hold_record_[static_cast<std::size_t>(at % capacity_)] = valid_[static_cast<std::size_t>(at - first)];
  }
  disk_uncertain_ = false;
  durable_ = end;
  report.durable = end;
  return report;
}

// Step 1 (v1; v2 when the writer lapped the ring since the last pass): the
// words at bytes 0..3 become 0. The bodies must not change here: a slot
// straddling two sectors whose old magic survived with a new second half
// would be a torn record.
// Only slots that still hold a magic need a write, unless an earlier pass
// failed (then every slot is rewritten: the page cache may show clears that
// never reached the device). Returns whether anything was written.
bool Mirror::clear_magics(std::uint64_t first, std::uint64_t end) {
  bool wrote = false;
  for_each_chunk(first, end, [&](const Chunk& chunk) {
    const std::uint64_t offset = layout_.record_position(chunk.first % capacity_);
    const std::size_t bytes = static_cast<std::size_t>(chunk.count * format::record_bytes);
    disk_read(disk_fd_, chunk.buffer, bytes, offset, disk_path_, "the slots a pass reuses");
    std::uint64_t low = chunk.count, high = 0;
    for (std::uint64_t i = 0; i < chunk.count; ++i) {
      std::byte* slot = chunk.buffer + i * format::record_bytes;
      if (magic_of(slot) == format::empty_record_magic) continue;
      set_magic(slot, format::empty_record_magic);
      low = std::min(low, i);
      high = i + 1;
    }
    if (disk_uncertain_) low = 0, high = chunk.count;
    if (low >= high) return;
    disk_write(disk_fd_, chunk.buffer + low * format::record_bytes,
               static_cast<std::size_t>((high - low) * format::record_bytes), offset + low * format::record_bytes,
               disk_path_, "cleared magics");
    wrote = true;
  });
  return wrote;
}

// Step 1 of a pass whose writer lapped the ring: it copies only the newest
// records (see pass()), so every other slot that may still hold a record of
// the old window must be emptied as well, or that record would replay out of
// order (v1) or read as damage two laps behind the cursor (v2). The slots
// known to be empty on the disk are skipped, so a writer that keeps lapping
// costs a pass about what it copies. Returns whether anything was written.
bool Mirror::clear_lapped_ring() {
  bool wrote = false;
  for (std::uint64_t slot = 0; slot < capacity_; slot += chunk_slots) {
    const std::uint64_t count = std::min(chunk_slots, capacity_ - slot);
    const auto from = may_hold_record_.begin() + static_cast<std::ptrdiff_t>(slot);
    if (!disk_uncertain_ && std::find(from, from + static_cast<std::ptrdiff_t>(count), 1) == from + count) continue;
    const std::uint64_t offset = layout_.record_position(slot);
    const std::size_t bytes = static_cast<std::size_t>(count * format::record_bytes);
    disk_read(disk_fd_, stage_.data(), bytes, offset, disk_path_, "the slots of a lapped ring");
    std::uint64_t low = count, high = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      std::byte* record = stage_.data() + i * format::record_bytes;
      if (magic_of(record) == format::empty_record_magic) continue;
      set_magic(record, format::empty_record_magic);
      low = std::min(low, i);
      high = i + 1;
    }
    if (disk_uncertain_) low = 0, high = count;
    if (low >= high) continue;
    disk_write(disk_fd_, stage_.data() + low * format::record_bytes,
               static_cast<std::size_t>((high - low) * format::record_bytes), offset + low * format::record_bytes,
               disk_path_, "cleared magics");
    wrote = true;
  }
  return wrote;
}

// Step 2 (v1), the whole pass (v2): every slot of the pass, a record (v1:
// its body with magic 0; v2: as it is, commit word included) or an empty
// slot (zeros) for a sequence that could not be copied.
void Mirror::write_slots(std::uint64_t first, std::uint64_t end, PassReport& report,
                         std::span<std::byte, format::record_bytes> last_slot) {
  for_each_chunk(first, end, [&](const Chunk& chunk) {
    copy_validated(chunk, first);
    for (std::uint64_t i = 0; i < chunk.count; ++i) {
      if (valid_[static_cast<std::size_t>(chunk.first + i - first)] != 0) {
        ++report.copied;
      } else {
        ++report.overrun;
      }
    }
    if (chunk.first + chunk.count == end) {
      std::memcpy(last_slot.data(), chunk.buffer + (chunk.count - 1) * format::record_bytes, last_slot.size());
    }
    disk_write(disk_fd_, chunk.buffer, static_cast<std::size_t>(chunk.count * format::record_bytes),
               layout_.record_position(chunk.first % capacity_), disk_path_, "records");
  });
}

// Step 3: the magics of the records step 2 wrote, over exactly the bytes
// step 2 wrote (kept in the staging buffer, or read back from the page cache
// for a long pass), so that no body byte changes.
void Mirror::write_magics(std::uint64_t first, std::uint64_t end,
                          std::span<std::byte, format::record_bytes> last_slot) {
  for_each_chunk(first, end, [&](const Chunk& chunk) {
    const std::uint64_t offset = layout_.record_position(chunk.first % capacity_);
    const std::size_t bytes = static_cast<std::size_t>(chunk.count * format::record_bytes);
    if (!chunk.staged) disk_read(disk_fd_, chunk.buffer, bytes, offset, disk_path_, "the slots a pass wrote");
    std::uint64_t low = chunk.count, high = 0;
    for (std::uint64_t i = 0; i < chunk.count; ++i) {
      if (valid_[static_cast<std::size_t>(chunk.first + i - first)] == 0) continue;
      set_magic(chunk.buffer + i * format::record_bytes, format::record_magic);
      low = std::min(low, i);
      high = i + 1;
    }
    if (chunk.first + chunk.count == end) {
      std::memcpy(last_slot.data(), chunk.buffer + (chunk.count - 1) * format::record_bytes, last_slot.size());
    }
    if (low >= high) return;
    disk_write(disk_fd_, chunk.buffer + low * format::record_bytes,
               static_cast<std::size_t>((high - low) * format::record_bytes), offset + low * format::record_bytes,
               disk_path_, "record magics");
  });
}

// The Follower's validation rule (<vrrl/follower.hpp>), for a batch of
// records all below a cursor loaded earlier (pass_end), with two cursor loads
// per chunk instead of two per record: the header cursor's line is the one
// the writer stores to on every append, and each load of it from this thread
// would pull that line away from the writer.
//  * Every sequence s of the chunk is below a cursor this thread has
//    acquire-loaded, so s's magic clear and body (stored before its cursor
//    store, released) are visible: a 0xDEADBEEF copied now is s's own or a
//    later append's, never an earlier one's.
//  * Copy all words (relaxed), acquire fence, reload every magic (acquire),
//    then load the cursor (acquire). A copied word from a later append to the
//    slot means that append's magic clear (stored before its release fence) is
//    visible to the reload; a 0xDEADBEEF reloaded from a later append carries
//    its cursor store, which the cursor load then shows beyond s + capacity.
//  So a record whose copied and reloaded magics are both 0xDEADBEEF while the
// cursor is at most s + capacity is exactly sequence s.
void Mirror::copy_validated(const Chunk& chunk, std::uint64_t pass_first) {
  const std::byte* const source = live_ + layout_.record_position(chunk.first % capacity_);
  std::uint8_t* const valid = valid_.data() + (chunk.first - pass_first);
  for (std::uint64_t i = 0; i < chunk.count; ++i) {
    const std::byte* from = source + i * format::record_bytes;
    std::byte* to = chunk.buffer + i * format::record_bytes;
    for (std::size_t w = 0; w < words_per_record; ++w) {
      const std::uint64_t word =
          atomic_word<std::uint64_t>(from + w * sizeof(std::uint64_t)).load(std::memory_order_relaxed);
      std::memcpy(to + w * sizeof(std::uint64_t), &word, sizeof word);
    }
  }
  // Acquire fence: see above (pairs with the writer's release fence after its magic clear).
  std::atomic_thread_fence(std::memory_order_acquire);
  const bool v2 = layout_.format == Format::v2;
  for (std::uint64_t i = 0; i < chunk.count; ++i) {
    // Acquire: a later append's 0xDEADBEEF (or commit word) brings its cursor store with it.
    const std::uint32_t reloaded =
        atomic_word<std::uint32_t>(source + i * format::record_bytes).load(std::memory_order_acquire);
    const std::byte* copied = chunk.buffer + i * format::record_bytes;
    const std::uint32_t word = magic_of(copied);
    // v2: the copy must also check as sequence chunk.first + i (a torn copy,
    // or another lap's record, does not).
    valid[i] = word == reloaded && format::committed_word(layout_.format, word) &&
               (!v2 || word == wire::commit_word(chunk.first + i, wire::load_record_words(copied)));
  }
  const std::uint64_t cursor = load_cursor(live_);
  for (std::uint64_t i = 0; i < chunk.count; ++i) {
    std::byte* to = chunk.buffer + i * format::record_bytes;
    if (valid[i] != 0 && cursor <= chunk.first + i + capacity_) {
      if (!v2) set_magic(to, format::empty_record_magic);  // v1's step 3 commits it
    } else {
      valid[i] = 0;
      std::memset(to, 0, format::record_bytes);
    }
  }
}

}  // namespace vrrl::detail
