// Self-checking records for every suite that must recognise a torn record:
// every field of the record with key (producer, index) is a function of that
// key, so a record that mixes the bytes of two appends (a torn read or write)
// fails check_record(). Single-writer tests use producer 0 and the append's
// sequence number as the index, which is then also the timestamp.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <vrrl/record.hpp>
#include <vrrl/replay.hpp>

namespace vrrl::test {

struct RecordKey {
  std::uint32_t producer = 0;
  std::uint64_t index = 0;  // the producer's own count, from 0

  friend bool operator==(const RecordKey&, const RecordKey&) = default;
};

// splitmix64's finalizer: every bit of the input affects every bit of the output.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t value) noexcept {
  value += 0x9E3779B97F4A7C15ull;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ull;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBull;
  return value ^ (value >> 31);
}

[[nodiscard]] constexpr std::uint32_t mix32(std::uint64_t key, std::uint64_t field) noexcept {
  return static_cast<std::uint32_t>(mix64(key * 16 + field));
}

struct SelfCheckingRecord {
  RecordedSlot slot;
  FailureEvidence evidence;
};

[[nodiscard]] constexpr std::uint64_t packed_key(RecordKey key) noexcept {
  return (std::uint64_t{key.producer} << 40) | key.index;
}

[[nodiscard]] constexpr SelfCheckingRecord make_record(RecordKey key) noexcept {
  const std::uint64_t packed = packed_key(key);
  SelfCheckingRecord record;
  record.slot.timestamp_ns = packed;
  record.slot.slot_idx = mix32(packed, 1);
  record.slot.tenant_id = key.producer;
  record.slot.opcode = mix32(packed, 2);
  for (std::uint32_t k = 0; k < record.slot.args.size(); ++k) record.slot.args[k] = mix32(packed, 3 + k);
  record.slot.epoch = static_cast<std::uint32_t>(key.index);
  record.evidence.slot_status = mix32(packed, 8);
  record.evidence.failure_class = static_cast<FailureClass>(packed % 5);
  record.evidence.backend_code = mix32(packed, 9);
  record.evidence.output_digest = mix64(packed);
  return record;
}

// The record a single writer appends as its n-th append.
[[nodiscard]] constexpr SelfCheckingRecord make_record(std::uint64_t sequence) noexcept {
  return make_record(RecordKey{0, sequence});
}

// Appends a single writer's n-th self-checking record, with its evidence.
template <class Log>
void append_record(Log& log, std::uint64_t sequence) {
  const SelfCheckingRecord record = make_record(sequence);
  log.append(record.slot, record.evidence);
}

// Whether `view` holds exactly the n-th append of a single writer.
[[nodiscard]] inline bool is_record_of(const RecordView& view, std::uint64_t sequence) noexcept {
  const SelfCheckingRecord expected = make_record(sequence);
  return view.slot() == expected.slot && view.failure() == expected.evidence;
}

// The 64 bytes (VRRL v1, magic 0xDEADBEEF) a single writer's n-th append
// writes, for comparing raw slot bytes.
inline std::vector<std::byte> self_checking_bytes(std::uint64_t n) {
  std::vector<std::byte> bytes(format::record_bytes);
  const SelfCheckingRecord record = make_record(n);
  wire::encode_record(bytes.data(), format::record_magic, record.slot, record.evidence);
  return bytes;
}

// The key a record was made from, or nullopt when any field disagrees with it.
[[nodiscard]] inline std::optional<RecordKey> check_record(const RecordedSlot& slot,
                                                           const FailureEvidence& evidence) noexcept {
  const RecordKey key{static_cast<std::uint32_t>(slot.timestamp_ns >> 40),
                      slot.timestamp_ns & ((std::uint64_t{1} << 40) - 1)};
  const SelfCheckingRecord expected = make_record(key);
  if (expected.slot != slot || expected.evidence != evidence) return std::nullopt;
  return key;
}

}  // namespace vrrl::test
