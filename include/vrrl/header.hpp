// The log header: decoding, encoding and the one validation rule every reader
// of a log uses (the library's open, `vrrl verify`, the tests).
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include <vrrl/error.hpp>
#include <vrrl/format.hpp>
#include <vrrl/record.hpp>

namespace vrrl {

// The header fields as stored (docs/format.md), nothing checked yet. The
// first 32 bytes are the same in both formats; `synced` is read only from v2.
struct LogHeader {
  std::array<char, 8> magic{};
  std::uint32_t version = 0;
  std::uint32_t flags = 0;
  std::uint64_t capacity = 0;
  std::uint64_t cursor = 0;
  std::uint64_t synced = 0;  // v2: the count the last completed sync() made durable

  // The format the magic and version name, if they name one.
  [[nodiscard]] std::optional<Format> format() const noexcept {
    if (magic == format::log_magic && version == format::log_version) return Format::v1;
    if (magic == format::log_magic_v2 && version == format::log_version_v2) return Format::v2;
    return std::nullopt;
  }
};

// How many header bytes decode_header reads: enough for either format.
inline constexpr std::size_t header_read_bytes = format::header_offset::synced + sizeof(std::uint64_t);

// Decodes the first 32 bytes; `synced` too when `bytes` holds 40 or more.
[[nodiscard]] inline LogHeader decode_header(std::span<const std::byte> bytes) noexcept {
  using at = format::header_offset;
  LogHeader header;
  if (bytes.size() < format::header_bytes) return header;
  std::memcpy(header.magic.data(), bytes.data() + at::magic, header.magic.size());
  header.version = wire::load_le<std::uint32_t>(bytes.data() + at::version);
  header.flags = wire::load_le<std::uint32_t>(bytes.data() + at::flags);
  header.capacity = wire::load_le<std::uint64_t>(bytes.data() + at::capacity);
  header.cursor = wire::load_le<std::uint64_t>(bytes.data() + at::cursor);
  if (bytes.size() >= header_read_bytes && header.format() == Format::v2) {
    header.synced = wire::load_le<std::uint64_t>(bytes.data() + at::synced);
  }
  return header;
}

// What a writer puts in a new header; magic and version are the format's.
// The rest of a v2 header page (synced, reserved bytes) is zero in a new file.
struct NewHeader {
  std::uint32_t flags = 0;
  std::uint64_t capacity = 0;
  std::uint64_t cursor = 0;
  Format format = Format::v1;
};

[[nodiscard]] inline std::array<std::byte, format::header_bytes> encode_header(const NewHeader& fields) noexcept {
  using at = format::header_offset;
  const bool v2 = fields.format == Format::v2;
  std::array<std::byte, format::header_bytes> bytes{};
  const auto& magic = v2 ? format::log_magic_v2 : format::log_magic;
  std::memcpy(bytes.data() + at::magic, magic.data(), magic.size());
  wire::store_le(bytes.data() + at::version, v2 ? format::log_version_v2 : format::log_version);
  wire::store_le(bytes.data() + at::flags, fields.flags);
  wire::store_le(bytes.data() + at::capacity, fields.capacity);
  wire::store_le(bytes.data() + at::cursor, fields.cursor);
  return bytes;
}

// Why a header cannot be used for a file of `file_size` bytes.
struct HeaderProblem {
  ErrorKind kind;             // header_mismatch, zero_capacity, capacity_overflow or truncated
  std::string what_is_wrong;  // one sentence, no trailing period
  std::string fix;            // no "Fix: " prefix
};

// The first problem, checked in the order open() checks: magic, version
// (VRRL0001 version 1, or VRRL0002 version 2), capacity (before any size is
// computed from it), then the size for that format's layout. A file larger
// than the header needs is accepted (the seed never writes one; vrrl maps only
// what the header describes).
[[nodiscard]] VRRL_EXPORT std::optional<HeaderProblem> check_header(const LogHeader& header, std::uint64_t file_size);

}  // namespace vrrl
