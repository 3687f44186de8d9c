// The values vrrl's options take beyond plain counts: integers in decimal or
// hex (--opcode 0x40000003), points in time (--since +1.5ms, --until
// 2026-12-01T09:50:00Z) and durations (--interval 1ms). Each parser returns
// the value or a message that shows the expected form; each validator turns
// that message into a CLI11 usage error (exit 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

namespace vrrl::cli {

// What was wrong with an option value, as one sentence that shows the
// expected form (no trailing period).
struct BadValue {
  std::string message;
};

// "42" or "0x2A" (any case), 0 ..= 2^32-1.
[[nodiscard]] std::variant<std::uint32_t, BadValue> parse_u32(std::string_view text);
// "40,0x29,7": one or more of those, comma-separated (no empty items).
[[nodiscard]] std::variant<std::vector<std::uint32_t>, BadValue> parse_u32_list(std::string_view text);

// A point in time on the timestamp_ns axis (nanoseconds since the Unix epoch,
// UTC). `relative` points count from the first record of the input.
struct TimePoint {
  enum class Base { absolute, first_record };
  Base base = Base::absolute;
  std::uint64_t ns = 0;

  // The absolute timestamp, given the first record's; saturates at 2^64-1.
  [[nodiscard]] std::uint64_t resolve(std::uint64_t first_record_ns) const noexcept;
};

// "1733046600000000000" (timestamp_ns), "+1.5ms" (after the first record;
// units ns, us, ms, s, min, h), or ISO-8601 UTC "2026-12-01T09:50:00Z",
// "2026-12-01T09:50:00.000001500Z" (up to 9 fraction digits) or "2026-12-01".
[[nodiscard]] std::variant<TimePoint, BadValue> parse_time_point(std::string_view text);

// "1ms", "250us", "1.5s", "100ns", "2min", "1h": a positive number of nanoseconds.
[[nodiscard]] std::variant<std::uint64_t, BadValue> parse_duration(std::string_view text);

// CLI11 validators for the parsers above; the option stores the text and the
// command converts it after parsing (the conversion cannot fail then).
[[nodiscard]] CLI::Validator u32_list_value();
[[nodiscard]] CLI::Validator time_point_value();
[[nodiscard]] CLI::Validator duration_value();

// The value of a text the validator accepted.
[[nodiscard]] std::vector<std::uint32_t> u32_list_of(std::string_view validated);
[[nodiscard]] TimePoint time_point_of(std::string_view validated);
[[nodiscard]] std::uint64_t duration_of(std::string_view validated);

}  // namespace vrrl::cli
