// VRRL on-disk constants: offsets, sizes and magics shared by the writer, the
// readers, the CLI and the tests. No logic lives here.
//
// The prose description with byte diagrams is docs/format.md; keep the two in
// step. VRRL v1 comes from the original Rust implementation (the seed) and
// must stay byte-compatible with it. VRRL v2 (opt-in) puts the header on its
// own page, aligns every slot to 64 bytes and replaces the record magic with a
// commit word that checks the record and its sequence.
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <array>
#include <cstddef>
#include <cstdint>

namespace vrrl::format {

// --- File header: 32 bytes at offset 0, little-endian -----------------------
inline constexpr std::array<char, 8> log_magic{'V', 'R', 'R', 'L', '0', '0', '0', '1'};
inline constexpr std::uint32_t log_version = 1;
inline constexpr std::uint64_t header_bytes = 32;

// VRRL v2: the same header fields with this magic and version, then the rest
// of a 4 KiB page (one field more, `synced`; zeros otherwise).
inline constexpr std::array<char, 8> log_magic_v2{'V', 'R', 'R', 'L', '0', '0', '0', '2'};
inline constexpr std::uint32_t log_version_v2 = 2;
inline constexpr std::uint64_t header_bytes_v2 = 4096;

// Byte offsets (a struct, so classes can alias it with `using`).
struct header_offset {
  static constexpr std::size_t magic = 0;      // char[8] "VRRL0001"
  static constexpr std::size_t version = 8;    // u32, always 1
  static constexpr std::size_t flags = 12;     // u32, see the flag_ constants below
  static constexpr std::size_t capacity = 16;  // u64, number of record slots
  static constexpr std::size_t cursor = 24;    // u64, running append count; next slot = cursor % capacity
  static constexpr std::size_t synced = 32;    // v2 only: u64, the count the last completed sync() made durable
};

// --- Record slots: `capacity` packed 64-byte slots from offset 32 -----------
inline constexpr std::uint32_t record_magic = 0xDEADBEEF;
inline constexpr std::uint32_t empty_record_magic = 0;
inline constexpr std::uint64_t record_bytes = 64;
inline constexpr std::size_t record_args = 4;

// Byte offsets (a struct, so classes can alias it with `using`).
struct record_offset {
  static constexpr std::size_t magic = 0;           // u32, 0xDEADBEEF = valid, 0 = empty
  static constexpr std::size_t timestamp_ns = 4;    // u64 (only 4-byte aligned in the file)
  static constexpr std::size_t slot_idx = 12;       // u32
  static constexpr std::size_t tenant_id = 16;      // u32
  static constexpr std::size_t opcode = 20;         // u32
  static constexpr std::size_t args = 24;           // u32[4]
  static constexpr std::size_t epoch = 40;          // u32
  static constexpr std::size_t slot_status = 44;    // u32  } failure evidence:
  static constexpr std::size_t failure_class = 48;  // u32  } all zero means
  static constexpr std::size_t backend_code = 52;   // u32  } "no evidence"; the
  static constexpr std::size_t output_digest = 56;  // u64  } seed writes zeros
};

// Header flags (offset 12). The seed writes 0 and ignores them; vrrl readers
// ignore bits they do not know.
//   flag_multi_producer: written by SharedRingLog. Records are in claim order,
//   so timestamps of different threads may go backwards between neighbours.
inline constexpr std::uint32_t flag_multi_producer = 1u << 0;

// A header cursor at or above this value is damage, not a count: 2^61 appends
// at one per nanosecond take 73 years. Writers restart such a count at open
// (cursor % capacity); Followers deliver nothing from such a log and say so.
// Keeping every count below it leaves room for `cursor + capacity` and the
// multi-producer state keys without overflow.
inline constexpr std::uint64_t max_cursor = std::uint64_t{1} << 61;

// v2: bytes 0..3 of a slot hold the commit word: 0 = empty, otherwise the
// check of wire::commit_word over the record and its sequence (never 0).

// MAX_REPLAY_RECORDS in the seed: the largest capacity a log may have.
inline constexpr std::uint64_t max_capacity = 1'048'576;

// Byte offset of slot `slot_index`. Never overflows for slot_index <= max_capacity.
[[nodiscard]] constexpr std::uint64_t record_position(std::uint64_t slot_index) noexcept {
  return header_bytes + slot_index * record_bytes;
}

// Exact size of a log file with `capacity` slots (header + every slot).
[[nodiscard]] constexpr std::uint64_t file_bytes(std::uint64_t capacity) noexcept {
  return record_position(capacity);
}

}  // namespace vrrl::format

namespace vrrl {

// Which VRRL format a log file is in; chosen when a log is created.
enum class Format : std::uint32_t { v1 = 1, v2 = 2 };

namespace format {

// Where things are in a file of one format.
struct Layout {
  Format format = Format::v1;
  std::uint64_t header_bytes = format::header_bytes;

  [[nodiscard]] constexpr std::uint64_t record_position(std::uint64_t slot_index) const noexcept {
    return header_bytes + slot_index * record_bytes;
  }
  [[nodiscard]] constexpr std::uint64_t file_bytes(std::uint64_t capacity) const noexcept {
    return record_position(capacity);
  }
  friend constexpr bool operator==(const Layout&, const Layout&) = default;
};

inline constexpr Layout layout_v1{Format::v1, header_bytes};
inline constexpr Layout layout_v2{Format::v2, header_bytes_v2};

[[nodiscard]] constexpr Layout layout_of(Format format) noexcept {
  return format == Format::v2 ? layout_v2 : layout_v1;
}

// Whether a slot's word 0 marks a committed record: v1 0xDEADBEEF; v2 any
// commit word but 0 (whether it checks for its sequence is the reader's next
// question, see slot_state.hpp).
[[nodiscard]] constexpr bool committed_word(Format format, std::uint32_t word) noexcept {
  return format == Format::v2 ? word != empty_record_magic : word == record_magic;
}

static_assert(layout_v2.record_position(0) % 4096 == 0 && record_bytes == 64 && header_bytes_v2 % record_bytes == 0,
              "v2 slots are 64-byte aligned: none straddles a cache line, a 512-byte sector or a page");
static_assert(layout_v2.file_bytes(max_capacity) == 67'112'960);
static_assert(header_offset::synced + sizeof(std::uint64_t) <= header_bytes_v2);

static_assert(log_magic.size() == header_offset::version);
static_assert(header_offset::cursor + sizeof(std::uint64_t) == header_bytes);
static_assert(record_offset::output_digest + sizeof(std::uint64_t) == record_bytes);
static_assert(record_offset::epoch == record_offset::args + record_args * sizeof(std::uint32_t));
// Records start 32 bytes into a 64-byte line: each one straddles two cache
// lines, and the u64 cursor and the u32 record magic are naturally aligned,
// which is what lets the writer update them with atomic stores.
static_assert(header_bytes % alignof(std::uint64_t) == 0);
static_assert(record_bytes % alignof(std::uint64_t) == 0);
static_assert(file_bytes(max_capacity) == 67'108'896);

}  // namespace format
}  // namespace vrrl
