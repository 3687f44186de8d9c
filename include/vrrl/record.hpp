// One dispatch record: the value types callers fill in, and the encoding of
// those values into a 64-byte VRRL v1 slot (see docs/format.md).
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

#include <vrrl/format.hpp>

namespace vrrl {

static_assert(std::endian::native == std::endian::little,
              "VRRL v1 is little-endian and vrrl stores fields with plain copies; "
              "a big-endian port needs byte swaps in store_le/load_le");

// What was recorded for one dispatch. Field order follows the seed's RecordedSlot.
struct RecordedSlot {
  std::uint64_t timestamp_ns = 0;
  std::uint32_t slot_idx = 0;
  std::uint32_t tenant_id = 0;
  std::uint32_t opcode = 0;
  std::array<std::uint32_t, format::record_args> args{};
  std::uint32_t epoch = 0;

  friend bool operator==(const RecordedSlot&, const RecordedSlot&) = default;
};

// Why a dispatch failed, as the later system stored it in bytes 48..51.
enum class FailureClass : std::uint32_t {
  none = 0,
  device_loss = 1,
  transient_queue = 2,
  program_bug = 3,
  unclassified = 4,
};

// Decodes a stored failure_class; values this version does not know read as unclassified.
[[nodiscard]] constexpr FailureClass failure_class_from_u32(std::uint32_t value) noexcept {
  return value <= static_cast<std::uint32_t>(FailureClass::unclassified)
             ? static_cast<FailureClass>(value)
             : FailureClass::unclassified;
}

// "none", "device_loss", "transient_queue", "program_bug" or "unclassified".
[[nodiscard]] VRRL_EXPORT std::string_view to_string(FailureClass failure_class) noexcept;

// Bytes 44..63 of a slot. All four fields zero means "no failure evidence",
// which is also what the seed writes.
struct FailureEvidence {
  std::uint32_t slot_status = 0;
  FailureClass failure_class = FailureClass::none;
  std::uint32_t backend_code = 0;
  std::uint64_t output_digest = 0;

  [[nodiscard]] constexpr bool present() const noexcept {
    return slot_status != 0 || failure_class != FailureClass::none || backend_code != 0 ||
           output_digest != 0;
  }
  friend bool operator==(const FailureEvidence&, const FailureEvidence&) = default;
};

namespace wire {

// Unaligned little-endian field access into file bytes. memcpy, not
// reinterpret_cast: the u64 timestamp sits at a 4-byte boundary in the file.
template <class T>
  requires std::is_trivially_copyable_v<T>
inline void store_le(std::byte* at, T value) noexcept {
  std::memcpy(at, &value, sizeof value);
}

template <class T>
  requires std::is_trivially_copyable_v<T>
[[nodiscard]] inline T load_le(const std::byte* at) noexcept {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

// The 64 bytes of a record as eight little-endian 64-bit words, bytes 0..3
// (the magic, or v2's commit word) zero. Byte layout (docs/format.md): magic 0,
// timestamp 4 (unaligned), slot_idx 12 | tenant_id 16, opcode 20, args 24..39 |
// epoch 40, slot_status 44, failure_class 48, backend_code 52, output_digest 56.
using RecordWords = std::array<std::uint64_t, format::record_bytes / 8>;

[[nodiscard]] inline RecordWords record_words(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept {
  const auto pair = [](std::uint32_t low, std::uint32_t high) noexcept {
    return static_cast<std::uint64_t>(low) | static_cast<std::uint64_t>(high) << 32;
  };
  const std::uint64_t timestamp = slot.timestamp_ns;
  return {timestamp << 32,
          timestamp >> 32 | static_cast<std::uint64_t>(slot.slot_idx) << 32,
          pair(slot.tenant_id, slot.opcode),
          pair(slot.args[0], slot.args[1]),
          pair(slot.args[2], slot.args[3]),
          pair(slot.epoch, evidence.slot_status),
          pair(static_cast<std::uint32_t>(evidence.failure_class), evidence.backend_code),
          evidence.output_digest};
}

// Stores `words` as the record at `record`, as four 16-byte stores of values
// built in registers (two 32-byte ones when compiled for AVX). In both formats
// records sit at a multiple of 16 (32 + 64 i in v1, 4096 + 64 i in v2) in a
// page-aligned mapping, so each store is aligned; v1's 32-byte halves and all
// of v2's stores stay inside one cache line.
inline void store_record_words(std::byte* record, const RecordWords& words) noexcept {
#if defined(__AVX__)
  using Lane = std::uint64_t __attribute__((vector_size(32)));
  const Lane low{words[0], words[1], words[2], words[3]};
  const Lane high{words[4], words[5], words[6], words[7]};
  std::memcpy(record, &low, sizeof low);
  std::memcpy(record + 32, &high, sizeof high);
#else
  using Lane = std::uint64_t __attribute__((vector_size(16)));
  for (std::size_t i = 0; i < words.size(); i += 2) {
    const Lane lane{words[i], words[i + 1]};
    std::memcpy(record + 8 * i, &lane, sizeof lane);
  }
#endif
}

// Writes all 64 bytes of a record: `magic` and the fields. The publish
// protocol writes the body with magic 0 (the slot is already retired, so the
// magic bytes keep their value) and the magic last.
inline void encode_record(std::byte* record, std::uint32_t magic, const RecordedSlot& slot,
                          const FailureEvidence& evidence) noexcept {
  RecordWords words = record_words(slot, evidence);
  words[0] |= magic;
  store_record_words(record, words);
}

// VRRL v2's commit word for the record `words` (bytes 0..3 ignored) as the
// append numbered `sequence`: a 32-bit check over all 60 bytes and the
// sequence, never 0 (0 means empty). Four 64x64 -> 128-bit multiplies of the
// words, each mixed with a fixed key (and two with the sequence), folded by a
// fifth: every bit of every word and of the sequence reaches the result
// (docs/format.md, "VRRL v2", says why this function and how strong it is).
[[nodiscard]] inline std::uint32_t commit_word(std::uint64_t sequence, const RecordWords& words) noexcept {
  constexpr std::uint64_t key[10] = {0xa0761d6478bd642full, 0xe7037ed1a0b428dbull, 0x8ebc6af09c88c6e3ull,
                                     0x589965cc75374cc3ull, 0x1d8e4e27c47d124full, 0x2d358dccaa6c78a5ull,
                                     0x8bb84b93962eacc9ull, 0x4b33a62ed433d4a3ull, 0x94d049bb133111ebull,
                                     0xbf58476d1ce4e5b9ull};
  const auto mix = [](std::uint64_t a, std::uint64_t b) noexcept {
    __extension__ using Wide = unsigned __int128;  // GCC and Clang; -Wpedantic knows it is an extension
    const Wide product = static_cast<Wide>(a) * b;
    return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
  };
  const std::uint64_t first_word = words[0] & ~std::uint64_t{0xFFFF'FFFF};
  const std::uint64_t a = mix(first_word ^ key[0] ^ sequence, words[1] ^ key[1]);
  const std::uint64_t b = mix(words[2] ^ key[2], words[3] ^ key[3] ^ (sequence * key[8]));
  const std::uint64_t c = mix(words[4] ^ key[4], words[5] ^ key[5]);
  const std::uint64_t d = mix(words[6] ^ key[6], words[7] ^ key[7]);
  const std::uint64_t folded = mix(a ^ c ^ key[8], b ^ d ^ key[9]);
  const auto word = static_cast<std::uint32_t>(folded ^ (folded >> 32));
  return word != 0 ? word : 1;
}

// The words of the record stored at `record` (any alignment).
[[nodiscard]] inline RecordWords load_record_words(const std::byte* record) noexcept {
  RecordWords words;
  std::memcpy(words.data(), record, sizeof words);
  return words;
}

static_assert(format::record_offset::timestamp_ns == 4 && format::record_offset::slot_idx == 12 &&
              format::record_offset::tenant_id == 16 && format::record_offset::args == 24 &&
              format::record_offset::epoch == 40 && format::record_offset::failure_class == 48 &&
              format::record_offset::output_digest == 56,
              "encode_record packs the v1 layout into four 16-byte lanes");

}  // namespace wire

// A read-only view of one 64-byte slot inside a mapping (or any buffer).
// It points into the log: it is valid only while the RingLog/LogReader that
// produced it is alive and not moved from, and it shows whatever the bytes
// are now; copy with slot() / failure() to keep a value.
class VRRL_EXPORT RecordView {
 public:
  explicit constexpr RecordView(const std::byte* record) noexcept : record_(record) {}

  [[nodiscard]] std::uint32_t magic() const noexcept { return field<std::uint32_t>(off::magic); }
  [[nodiscard]] std::uint64_t timestamp_ns() const noexcept { return field<std::uint64_t>(off::timestamp_ns); }
  [[nodiscard]] std::uint32_t slot_idx() const noexcept { return field<std::uint32_t>(off::slot_idx); }
  [[nodiscard]] std::uint32_t tenant_id() const noexcept { return field<std::uint32_t>(off::tenant_id); }
  [[nodiscard]] std::uint32_t opcode() const noexcept { return field<std::uint32_t>(off::opcode); }
  [[nodiscard]] std::array<std::uint32_t, format::record_args> args() const noexcept {
    return field<std::array<std::uint32_t, format::record_args>>(off::args);
  }
  [[nodiscard]] std::uint32_t epoch() const noexcept { return field<std::uint32_t>(off::epoch); }
  // The stored failure_class number, before mapping unknown values to unclassified.
  [[nodiscard]] std::uint32_t failure_class_raw() const noexcept { return field<std::uint32_t>(off::failure_class); }

  [[nodiscard]] FailureEvidence failure() const noexcept {
    return {field<std::uint32_t>(off::slot_status), failure_class_from_u32(failure_class_raw()),
            field<std::uint32_t>(off::backend_code), field<std::uint64_t>(off::output_digest)};
  }
  [[nodiscard]] RecordedSlot slot() const noexcept {
    return {timestamp_ns(), slot_idx(), tenant_id(), opcode(), args(), epoch()};
  }
  [[nodiscard]] std::span<const std::byte, format::record_bytes> bytes() const noexcept {
    return std::span<const std::byte, format::record_bytes>(record_, format::record_bytes);
  }

 private:
  using off = format::record_offset;
  template <class T>
  [[nodiscard]] T field(std::size_t offset) const noexcept {
    return wire::load_le<T>(record_ + offset);
  }

  const std::byte* record_;
};

}  // namespace vrrl
