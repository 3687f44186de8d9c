// One dispatch record: the value types callers fill in, and the encoding of
// those values into a 64-byte VRRL v1 slot (see docs/format.md).
#pragma once

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
[[nodiscard]] std::string_view to_string(FailureClass failure_class) noexcept;

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

// Writes bytes 4..63 of a slot (everything but the record magic).
inline void encode_body(std::byte* record, const RecordedSlot& slot,
                        const FailureEvidence& evidence) noexcept {
  using at = format::record_offset;
  store_le(record + at::timestamp_ns, slot.timestamp_ns);
  store_le(record + at::slot_idx, slot.slot_idx);
  store_le(record + at::tenant_id, slot.tenant_id);
  store_le(record + at::opcode, slot.opcode);
  // Records start 32 bytes into a cache line (docs/format.md), so byte 32 of
  // a record (args[2]) starts the next line. Left alone, the compiler fuses the
  // four args into one 16-byte store that straddles both lines (a split store,
  // two cache accesses). The signal fence (compiler-only, emits nothing) keeps
  // the halves apart; on the 64 MiB log append/vrrl went from ~1.3x to ~1.2x
  // of append/memcpy_limit (docs/benchmarks.md; within the noise of that machine).
  store_le(record + at::args, std::array{slot.args[0], slot.args[1]});
  std::atomic_signal_fence(std::memory_order_acq_rel);
  store_le(record + at::args + 8, std::array{slot.args[2], slot.args[3]});
  store_le(record + at::epoch, slot.epoch);
  store_le(record + at::slot_status, evidence.slot_status);
  store_le(record + at::failure_class, static_cast<std::uint32_t>(evidence.failure_class));
  store_le(record + at::backend_code, evidence.backend_code);
  store_le(record + at::output_digest, evidence.output_digest);
}

}  // namespace wire

// A read-only view of one 64-byte slot inside a mapping (or any buffer).
// It points into the log: it is valid only while the RingLog/LogReader that
// produced it is alive and not moved from, and it shows whatever the bytes
// are now; copy with slot() / failure() to keep a value.
class RecordView {
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
