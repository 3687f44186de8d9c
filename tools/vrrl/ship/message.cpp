#include "message.hpp"

#include <algorithm>
#include <cstring>

#include "names.hpp"

namespace vrrl::ship {
namespace {

using message_format::offset;

[[nodiscard]] std::size_t prefix_bytes(const StreamIdentity& identity) noexcept {
  return message_format::header_bytes + identity.source_id.size() + identity.stream_name.size();
}

void write_prefix(std::byte* out, const StreamIdentity& identity, MessageKind kind, std::uint64_t first_sequence,
                  std::uint64_t count) noexcept {
  std::memcpy(out + offset::magic, message_format::magic.data(), message_format::magic.size());
  out[offset::version] = std::byte{message_format::version};
  out[offset::kind] = static_cast<std::byte>(kind);
  out[offset::source_length] = static_cast<std::byte>(identity.source_id.size());
  out[offset::stream_length] = static_cast<std::byte>(identity.stream_name.size());
  wire::store_le(out + offset::first_sequence, first_sequence);
  wire::store_le(out + offset::count, count);
  wire::store_le(out + offset::source_capacity, identity.source_capacity);
  wire::store_le(out + offset::reserved, std::uint32_t{0});
  std::byte* names = out + message_format::header_bytes;
  std::memcpy(names, identity.source_id.data(), identity.source_id.size());
  std::memcpy(names + identity.source_id.size(), identity.stream_name.data(), identity.stream_name.size());
}

}  // namespace

std::size_t message_bytes(const StreamIdentity& identity, std::uint64_t records) noexcept {
  return prefix_bytes(identity) + static_cast<std::size_t>(records * format::record_bytes);
}

bool decode_message(std::span<const std::byte> payload, DecodedMessage& message, std::string& why) {
  if (payload.size() < message_format::header_bytes) {
    why = "it has " + std::to_string(payload.size()) + " bytes, fewer than the 32-byte header";
    return false;
  }
  const std::byte* in = payload.data();
  if (std::memcmp(in + offset::magic, message_format::magic.data(), message_format::magic.size()) != 0) {
    why = "it does not start with \"VRSH\" (not a vrrl ship message)";
    return false;
  }
  const auto version = std::to_integer<unsigned>(in[offset::version]);
  if (version != message_format::version) {
    why = "its format version is " + std::to_string(version) + "; this vrrl reads version 1";
    return false;
  }
  const auto kind = std::to_integer<unsigned>(in[offset::kind]);
  if (kind != static_cast<unsigned>(MessageKind::records) && kind != static_cast<unsigned>(MessageKind::gap)) {
    why = "its kind is " + std::to_string(kind) + ", neither 1 (records) nor 2 (gap)";
    return false;
  }
  const auto source_length = std::to_integer<std::size_t>(in[offset::source_length]);
  const auto stream_length = std::to_integer<std::size_t>(in[offset::stream_length]);
  if (payload.size() < message_format::header_bytes + source_length + stream_length) {
    why = "its names run past the end of the message";
    return false;
  }
  const auto* names = reinterpret_cast<const char*>(in + message_format::header_bytes);
  message.kind = static_cast<MessageKind>(kind);
  message.identity.source_id.assign(names, source_length);
  message.identity.stream_name.assign(names + source_length, stream_length);
  if (!is_valid_source_id(message.identity.source_id) || !is_valid_stream_name(message.identity.stream_name)) {
    why = "its source id or stream name is not of the form [A-Za-z0-9._-]{1,128}";
    return false;
  }
  message.first_sequence = wire::load_le<std::uint64_t>(in + offset::first_sequence);
  message.count = wire::load_le<std::uint64_t>(in + offset::count);
  message.identity.source_capacity = wire::load_le<std::uint32_t>(in + offset::source_capacity);
  if (message.identity.source_capacity == 0 || message.identity.source_capacity > format::max_capacity) {
    why = "its source capacity " + std::to_string(message.identity.source_capacity) + " is outside 1.." +
          std::to_string(format::max_capacity);
    return false;
  }
  // Sequences stay below the cursor limit, so first + count cannot overflow.
  if (message.count == 0 || message.first_sequence >= format::max_cursor ||
      message.count > format::max_cursor - message.first_sequence) {
    why = "it covers an impossible range (first sequence " + std::to_string(message.first_sequence) + ", count " +
          std::to_string(message.count) + ")";
    return false;
  }
  const std::size_t prefix = message_format::header_bytes + source_length + stream_length;
  const std::size_t body = payload.size() - prefix;
  if (message.kind == MessageKind::gap) {
    if (body != 0) {
      why = "it is a gap message with " + std::to_string(body) + " bytes of records";
      return false;
    }
    message.records = {};
    return true;
  }
  if (message.count > message_format::max_records || body != message.count * format::record_bytes) {
    why = "it announces " + std::to_string(message.count) + " records but carries " + std::to_string(body) +
          " bytes of them";
    return false;
  }
  message.records = payload.subspan(prefix);
  for (std::uint64_t i = 0; i < message.count; ++i) {
    if (message.record(i).magic() != format::record_magic) {
      why = "record " + std::to_string(i) + " does not carry the record magic 0xDEADBEEF";
      return false;
    }
  }
  return true;
}

std::vector<std::byte> encode_gap(const StreamIdentity& identity, std::uint64_t first_sequence, std::uint64_t count) {
  std::vector<std::byte> payload(prefix_bytes(identity));
  write_prefix(payload.data(), identity, MessageKind::gap, first_sequence, count);
  return payload;
}

RecordsMessageBuilder::RecordsMessageBuilder(StreamIdentity identity)
    : identity_(std::move(identity)), prefix_bytes_(prefix_bytes(identity_)) {
  buffer_.reserve(message_bytes(identity_, 256));
}

void RecordsMessageBuilder::start(std::uint64_t first_sequence) {
  buffer_.resize(prefix_bytes_);
  first_sequence_ = first_sequence;
  count_ = 0;
}

void RecordsMessageBuilder::add(const RecordedSlot& slot, const FailureEvidence& evidence) {
  const std::size_t at = buffer_.size();
  buffer_.resize(at + format::record_bytes);
  wire::encode_record(buffer_.data() + at, format::record_magic, slot, evidence);
  ++count_;
}

std::vector<std::byte> RecordsMessageBuilder::finish() {
  write_prefix(buffer_.data(), identity_, MessageKind::records, first_sequence_, count_);
  std::vector<std::byte> payload = buffer_;  // the builder keeps its capacity for the next batch
  start(first_sequence_ + count_);
  return payload;
}

std::vector<std::byte> encode_records_slice(const DecodedMessage& message, std::uint64_t from, std::uint64_t to) {
  const std::uint64_t count = to - from;
  std::vector<std::byte> payload(message_bytes(message.identity, count));
  write_prefix(payload.data(), message.identity, MessageKind::records, from, count);
  const std::size_t skip = static_cast<std::size_t>((from - message.first_sequence) * format::record_bytes);
  std::memcpy(payload.data() + prefix_bytes(message.identity), message.records.data() + skip,
              static_cast<std::size_t>(count * format::record_bytes));
  return payload;
}

}  // namespace vrrl::ship
