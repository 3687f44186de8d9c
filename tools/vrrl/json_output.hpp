// The --json output of info, stats and verify: one JSON object on one line,
// keys in the documented order (docs/cli.md, "JSON output").
#pragma once

#include <cstdint>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "record_json.hpp"

namespace vrrl::cli {

using JsonObject = nlohmann::ordered_json;  // keeps keys in insertion order

// A 64-bit value (a timestamp, a cursor, a digest): a number, or with
// --u64-as-string a string of digits, for readers that hold numbers as doubles.
[[nodiscard]] inline JsonObject json_u64(std::uint64_t value, Wide64 wide) {
  if (wide == Wide64::as_string) return std::to_string(value);
  return value;
}

// Invalid UTF-8 (a path can hold any bytes) becomes U+FFFD instead of throwing.
inline void print_json(const JsonObject& object) {
  std::cout << object.dump(-1, ' ', false, JsonObject::error_handler_t::replace) << '\n';
}

}  // namespace vrrl::cli
