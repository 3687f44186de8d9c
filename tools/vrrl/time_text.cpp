#include "time_text.hpp"

#include <cstdio>

#include "utc_calendar.hpp"

namespace vrrl::cli {

void append_iso_utc(std::string& out, std::uint64_t timestamp_ns) {
  constexpr std::uint64_t ns_per_day = 86'400'000'000'000;
  const auto days = static_cast<std::int64_t>(timestamp_ns / ns_per_day);
  const std::uint64_t in_day = timestamp_ns % ns_per_day;
  const CivilDate date = civil_from_days(days);
  const std::uint64_t seconds = in_day / 1'000'000'000;
  char text[64];
  std::snprintf(text, sizeof text, "%04lld-%02u-%02uT%02llu:%02llu:%02llu.%09lluZ", static_cast<long long>(date.year),
                date.month, date.day, static_cast<unsigned long long>(seconds / 3600),
                static_cast<unsigned long long>(seconds / 60 % 60), static_cast<unsigned long long>(seconds % 60),
                static_cast<unsigned long long>(in_day % 1'000'000'000));
  out += text;
}

void append_relative_seconds(std::string& out, std::uint64_t timestamp_ns, std::uint64_t origin_ns) {
  const bool before = timestamp_ns < origin_ns;
  const std::uint64_t distance = before ? origin_ns - timestamp_ns : timestamp_ns - origin_ns;
  char text[64];
  std::snprintf(text, sizeof text, "%c%llu.%09llu", before ? '-' : '+',
                static_cast<unsigned long long>(distance / 1'000'000'000),
                static_cast<unsigned long long>(distance % 1'000'000'000));
  out += text;
}

std::string duration_text(std::uint64_t ns) {
  struct Unit {
    const char* name;
    std::uint64_t ns;
    int digits;  // fraction digits that keep it exact
  };
  constexpr Unit units[] = {{"s", 1'000'000'000, 9}, {"ms", 1'000'000, 6}, {"us", 1'000, 3}};
  for (const Unit& unit : units) {
    if (ns < unit.ns) continue;
    std::string text = std::to_string(ns / unit.ns);
    if (const std::uint64_t rest = ns % unit.ns; rest != 0) {
      char fraction[16];
      std::snprintf(fraction, sizeof fraction, "%0*llu", unit.digits, static_cast<unsigned long long>(rest));
      std::string digits = fraction;
      while (digits.back() == '0') digits.pop_back();
      text += "." + digits;
    }
    return text + " " + unit.name;
  }
  return std::to_string(ns) + " ns";
}

}  // namespace vrrl::cli
