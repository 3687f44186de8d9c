// The header flags (offset 12) as the CLI reads them (docs/format.md).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include <vrrl/format.hpp>

namespace vrrl::cli {

// Set by SharedRingLog: records are in claim order, so timestamps of
// different threads may go backwards between neighbours.
inline constexpr std::uint32_t multi_producer_flag = format::flag_multi_producer;
inline constexpr std::uint32_t known_flags = multi_producer_flag;

// "" for 0, else " (multi-producer)", " (multi-producer; unknown bits 0x00000010 ignored)", ...
[[nodiscard]] inline std::string describe_flags(std::uint32_t flags) {
  if (flags == 0) return {};
  std::string text = " (";
  if ((flags & multi_producer_flag) != 0) text += "multi-producer";
  if (const std::uint32_t unknown = flags & ~known_flags; unknown != 0) {
    char hex[11];
    std::snprintf(hex, sizeof hex, "0x%08X", unknown);
    if (text.size() > 2) text += "; ";
    text += std::string("unknown bits ") + hex + " ignored";
  }
  return text + ")";
}

}  // namespace vrrl::cli
