// timestamp_ns as text for people: ISO-8601 UTC with nanoseconds, or seconds
// relative to a reference (the first record).
#pragma once

#include <cstdint>
#include <string>

namespace vrrl::cli {

// "2026-12-01T09:50:00.123456789Z" (always 30 characters).
void append_iso_utc(std::string& out, std::uint64_t timestamp_ns);

// "+0.001500000" or "-0.000000100": seconds from `origin_ns` to `timestamp_ns`, 9 decimals.
void append_relative_seconds(std::string& out, std::uint64_t timestamp_ns, std::uint64_t origin_ns);

// "30 ns", "1.5 ms", "2 s": a duration in the largest unit it reaches, exact.
[[nodiscard]] std::string duration_text(std::uint64_t ns);

}  // namespace vrrl::cli
