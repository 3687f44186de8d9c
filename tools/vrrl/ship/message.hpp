// The payload of one message vrrl ship publishes (docs/shipping.md, "Message
// format"): a 32-byte little-endian header, the source id and stream name,
// then either raw 64-byte VRRL v1 slots (a records message) or nothing (a gap
// message: sequences lost before they could be shipped).
//
//   offset  size  field
//        0     4  magic "VRSH"
//        4     1  version, 1
//        5     1  kind: 1 = records, 2 = gap
//        6     1  source id length S (1..128)
//        7     1  stream name length N (1..128)
//        8     8  first sequence: the recording stream's sequence of the first record (or lost sequence)
//       16     8  count: records that follow (1..max_records), or sequences lost (>= 1)
//       24     4  source capacity: slots of the log the records came from (what `pull` creates)
//       28     4  reserved, 0
//       32     S  source id, then N bytes stream name
//   32+S+N  64*c  records (kind 1 only), each exactly as a VRRL v1 slot: magic 0xDEADBEEF first
//
// A message covers the sequences [first, first + count). decode() trusts
// nothing: every length, name, count and record magic is checked, so a hostile
// stream cannot make `vrrl pull` write outside OUT_DIR or read past a buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <vrrl/format.hpp>
#include <vrrl/record.hpp>

namespace vrrl::ship {

namespace message_format {
inline constexpr std::array<char, 4> magic{'V', 'R', 'S', 'H'};
inline constexpr std::uint8_t version = 1;
inline constexpr std::size_t header_bytes = 32;
inline constexpr std::uint64_t max_records = 4096;  // 256 KiB of records: well under NATS's 1 MiB default payload
struct offset {
  static constexpr std::size_t magic = 0;
  static constexpr std::size_t version = 4;
  static constexpr std::size_t kind = 5;
  static constexpr std::size_t source_length = 6;
  static constexpr std::size_t stream_length = 7;
  static constexpr std::size_t first_sequence = 8;
  static constexpr std::size_t count = 16;
  static constexpr std::size_t source_capacity = 24;
  static constexpr std::size_t reserved = 28;
};
static_assert(offset::reserved + sizeof(std::uint32_t) == header_bytes);
}  // namespace message_format

enum class MessageKind : std::uint8_t { records = 1, gap = 2 };

// Who a message is from: the (source id, stream name) pair pull keeps apart.
struct StreamIdentity {
  std::string source_id;
  std::string stream_name;
  std::uint32_t source_capacity = 1;

  friend bool operator==(const StreamIdentity&, const StreamIdentity&) = default;
};

// The largest payload a message with `max_records` records and these names has.
[[nodiscard]] std::size_t message_bytes(const StreamIdentity& identity, std::uint64_t records) noexcept;

// A decoded message. `records` points into the payload given to decode() and
// is valid as long as that buffer is.
struct DecodedMessage {
  MessageKind kind = MessageKind::records;
  StreamIdentity identity;
  std::uint64_t first_sequence = 0;
  std::uint64_t count = 0;
  std::span<const std::byte> records;  // kind == records: count * 64 bytes

  [[nodiscard]] std::uint64_t end_sequence() const noexcept { return first_sequence + count; }
  // Record i (0 <= i < count) of a records message.
  [[nodiscard]] RecordView record(std::uint64_t i) const noexcept {
    return RecordView(records.data() + i * format::record_bytes);
  }
};

// Decodes `payload`; on a malformed one returns false and says why in `why`.
[[nodiscard]] bool decode_message(std::span<const std::byte> payload, DecodedMessage& message, std::string& why);

// A gap message: `count` sequences from `first_sequence` were lost before shipping.
[[nodiscard]] std::vector<std::byte> encode_gap(const StreamIdentity& identity, std::uint64_t first_sequence,
                                                std::uint64_t count);

// Builds one records message at a time into a reused buffer: start(), add()
// up to max_records times (no allocation once the buffer has grown), finish().
class RecordsMessageBuilder {
 public:
  explicit RecordsMessageBuilder(StreamIdentity identity);

  void start(std::uint64_t first_sequence);
  void add(const RecordedSlot& slot, const FailureEvidence& evidence);
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] std::uint64_t first_sequence() const noexcept { return first_sequence_; }
  // The finished payload; the builder is empty afterwards.
  [[nodiscard]] std::vector<std::byte> finish();

 private:
  StreamIdentity identity_;
  std::vector<std::byte> buffer_;
  std::size_t prefix_bytes_ = 0;  // header + names
  std::uint64_t first_sequence_ = 0;
  std::uint64_t count_ = 0;
};

// A records message holding records [from, to) of `message` (a sub-range of
// its sequences), for resending the part of a batch the stream does not have.
[[nodiscard]] std::vector<std::byte> encode_records_slice(const DecodedMessage& message, std::uint64_t from,
                                                          std::uint64_t to);

}  // namespace vrrl::ship
