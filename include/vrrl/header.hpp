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

// The header fields as stored (docs/format.md), nothing checked yet.
struct LogHeader {
  std::array<char, 8> magic{};
  std::uint32_t version = 0;
  std::uint32_t flags = 0;
  std::uint64_t capacity = 0;
  std::uint64_t cursor = 0;
};

[[nodiscard]] inline LogHeader decode_header(std::span<const std::byte, format::header_bytes> bytes) noexcept {
  using at = format::header_offset;
  LogHeader header;
  std::memcpy(header.magic.data(), bytes.data() + at::magic, header.magic.size());
  header.version = wire::load_le<std::uint32_t>(bytes.data() + at::version);
  header.flags = wire::load_le<std::uint32_t>(bytes.data() + at::flags);
  header.capacity = wire::load_le<std::uint64_t>(bytes.data() + at::capacity);
  header.cursor = wire::load_le<std::uint64_t>(bytes.data() + at::cursor);
  return header;
}

// What a writer puts in a new header; magic and version are the format's.
struct NewHeader {
  std::uint32_t flags = 0;
  std::uint64_t capacity = 0;
  std::uint64_t cursor = 0;
};

[[nodiscard]] inline std::array<std::byte, format::header_bytes> encode_header(const NewHeader& fields) noexcept {
  using at = format::header_offset;
  std::array<std::byte, format::header_bytes> bytes{};
  std::memcpy(bytes.data() + at::magic, format::log_magic.data(), format::log_magic.size());
  wire::store_le(bytes.data() + at::version, format::log_version);
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

// The first problem, checked in the order open() checks: magic, version,
// capacity (before any size is computed from it), then the size. A file larger
// than the header needs is accepted (the seed never writes one; vrrl maps only
// what the header describes).
[[nodiscard]] VRRL_EXPORT std::optional<HeaderProblem> check_header(const LogHeader& header, std::uint64_t file_size);

}  // namespace vrrl
