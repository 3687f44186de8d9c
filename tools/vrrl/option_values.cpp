#include "option_values.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <utility>

#include "utc_calendar.hpp"

namespace vrrl::cli {
namespace {

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

std::string shown_quoted(std::string_view text) {
  constexpr std::size_t shown = 40;  // enough to recognise the value, bounded for hostile input
  std::string out = "\"";
  out.append(text.substr(0, shown));
  if (text.size() > shown) out += "...";
  out += '"';
  return out;
}

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// Digits in `base` only; nullopt when empty, not all digits or above u64.
std::optional<std::uint64_t> whole_number(std::string_view text, int base = 10) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A unit suffix and its length in nanoseconds.
struct Unit {
  std::string_view name;
  std::uint64_t ns;
};
constexpr std::array<Unit, 6> units{{{"ns", 1},
                                     {"us", 1'000},
                                     {"ms", 1'000'000},
                                     {"s", 1'000'000'000},
                                     {"min", 60'000'000'000},
                                     {"h", 3'600'000'000'000}}};

constexpr std::string_view duration_form = "a number and a unit (ns, us, ms, s, min, h), e.g. 1ms, 250us or 1.5s";

// "1.5ms" -> 1500000. Rejects what does not come to a whole number of ns.
// `shown` is the option's whole value, for messages ("+1.5ms" for "1.5ms").
std::variant<std::uint64_t, BadValue> amount_with_unit(std::string_view text, std::string_view shown,
                                                       std::string_view what) {
  const std::size_t unit_at = text.find_first_not_of("0123456789.");
  const std::string_view number = text.substr(0, unit_at);
  const std::string_view unit_name = unit_at == std::string_view::npos ? std::string_view{} : text.substr(unit_at);
  const Unit* unit = nullptr;
  for (const Unit& candidate : units) {
    if (candidate.name == unit_name) unit = &candidate;
  }
  const std::size_t point = number.find('.');
  const std::string_view whole = number.substr(0, point);
  const std::string_view fraction = point == std::string_view::npos ? std::string_view{} : number.substr(point + 1);
  if (unit == nullptr || !all_digits(whole) || (point != std::string_view::npos && !all_digits(fraction)) ||
      fraction.size() > 12) {
    return BadValue{shown_quoted(shown) + " is not " + std::string(what) + "; expected " + std::string(duration_form)};
  }
  // Checked 64-bit arithmetic: any overflow means "longer than 2^64 ns".
  const std::optional<std::uint64_t> whole_value = whole_number(whole);
  std::uint64_t ns = 0;
  bool overflow = !whole_value || __builtin_mul_overflow(*whole_value, unit->ns, &ns);
  // The fraction (at most 12 digits, so below 10^12), scaled to the unit: exact or rejected.
  std::uint64_t scaled = 0;
  overflow = __builtin_mul_overflow(whole_number(fraction).value_or(0), unit->ns, &scaled) || overflow;
  std::uint64_t divisor = 1;
  for (std::size_t i = 0; i < fraction.size(); ++i) divisor *= 10;
  if (!overflow && scaled % divisor != 0) {
    return BadValue{shown_quoted(shown) + " is finer than a nanosecond; expected " + std::string(duration_form)};
  }
  overflow = overflow || __builtin_add_overflow(ns, scaled / divisor, &ns);
  if (overflow) {
    return BadValue{shown_quoted(shown) + " is longer than 2^64 ns (584 years); expected " + std::string(duration_form)};
  }
  return ns;
}

constexpr std::string_view time_form =
    "timestamp_ns (e.g. 1733046600000000000), +DURATION after the first record (e.g. +1.5ms, +2s), "
    "or ISO-8601 UTC (e.g. 2026-12-01T09:50:00Z, 2026-12-01T09:50:00.25Z, 2026-12-01)";

// Reads exactly `count` digits at `at`; advances `at`.
std::optional<unsigned> fixed_digits(std::string_view text, std::size_t& at, std::size_t count) {
  if (at + count > text.size() || !all_digits(text.substr(at, count))) return std::nullopt;
  const auto value = static_cast<unsigned>(*whole_number(text.substr(at, count)));
  at += count;
  return value;
}

bool expect_char(std::string_view text, std::size_t& at, char c) {
  if (at >= text.size() || text[at] != c) return false;
  ++at;
  return true;
}

// ISO-8601 UTC: YYYY-MM-DD[THH:MM:SS[.fraction](Z|+00:00)]. nullopt if the shape is wrong.
std::optional<std::variant<std::uint64_t, BadValue>> iso_time(std::string_view text) {
  std::size_t at = 0;
  const auto year = fixed_digits(text, at, 4);
  if (!year || !expect_char(text, at, '-')) return std::nullopt;
  const auto month = fixed_digits(text, at, 2);
  if (!month || !expect_char(text, at, '-')) return std::nullopt;
  const auto day = fixed_digits(text, at, 2);
  if (!day) return std::nullopt;
  unsigned hour = 0, minute = 0, second = 0;
  std::uint64_t fraction_ns = 0;
  if (at < text.size()) {
    if (!expect_char(text, at, 'T') && !expect_char(text, at, 't')) return std::nullopt;
    const auto h = fixed_digits(text, at, 2);
    if (!h || !expect_char(text, at, ':')) return std::nullopt;
    const auto m = fixed_digits(text, at, 2);
    if (!m || !expect_char(text, at, ':')) return std::nullopt;
    const auto s = fixed_digits(text, at, 2);
    if (!s) return std::nullopt;
    hour = *h, minute = *m, second = *s;
    if (expect_char(text, at, '.')) {
      const std::size_t digits_end = text.find_first_not_of("0123456789", at);
      const std::string_view digits = text.substr(at, digits_end - at);
      if (digits.empty() || digits.size() > 9) return std::nullopt;
      fraction_ns = *whole_number(digits);
      for (std::size_t i = digits.size(); i < 9; ++i) fraction_ns *= 10;
      at += digits.size();
    }
    const std::string_view zone = text.substr(at);
    if (zone != "Z" && zone != "z" && zone != "+00:00") return std::nullopt;
  }
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month) || hour > 23 || minute > 59 ||
      second > 59) {
    return BadValue{shown_quoted(text) + " is not a valid date and time; expected " + std::string(time_form)};
  }
  const std::int64_t days = days_from_civil({*year, *month, *day});
  if (days < 0) return BadValue{shown_quoted(text) + " is before 1970-01-01, where timestamp_ns starts at 0"};
  const std::uint64_t seconds = static_cast<std::uint64_t>(days) * 86400 + hour * 3600u + minute * 60u + second;
  std::uint64_t ns = 0;  // days < 10^7 (a 4-digit year), so only the nanosecond scaling can overflow
  if (__builtin_mul_overflow(seconds, std::uint64_t{1'000'000'000}, &ns) || __builtin_add_overflow(ns, fraction_ns, &ns)) {
    return BadValue{shown_quoted(text) + " is after 2554-07-21, beyond what timestamp_ns can hold"};
  }
  return ns;
}

template <class Value>
CLI::Validator validator_of(std::variant<Value, BadValue> (*parse)(std::string_view)) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        auto parsed = parse(text);
        if (const BadValue* bad = std::get_if<BadValue>(&parsed)) return bad->message;
        return {};
      },
      "");
}

template <class Value>
Value value_of(std::variant<Value, BadValue> parsed) {
  if (const BadValue* bad = std::get_if<BadValue>(&parsed)) throw std::logic_error(bad->message);
  return std::get<Value>(parsed);
}

}  // namespace

std::variant<std::uint32_t, BadValue> parse_u32(std::string_view text) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::optional<std::uint64_t> value = hex ? whole_number(text.substr(2), 16) : whole_number(text);
  if (!value || *value > std::numeric_limits<std::uint32_t>::max() || (!hex && !all_digits(text))) {
    return BadValue{shown_quoted(text) + " is not an integer from 0 to 4294967295; expected decimal or 0x-hex, e.g. 42 or "
                                   "0x40000003 (several: 40,41 or repeat the option)"};
  }
  return static_cast<std::uint32_t>(*value);
}

std::variant<std::vector<std::uint32_t>, BadValue> parse_u32_list(std::string_view text) {
  std::vector<std::uint32_t> values;
  for (;;) {
    const std::size_t comma = text.find(',');
    auto value = parse_u32(text.substr(0, comma));
    if (const BadValue* bad = std::get_if<BadValue>(&value)) return *bad;
    values.push_back(std::get<std::uint32_t>(value));
    if (comma == std::string_view::npos) return values;
    text.remove_prefix(comma + 1);
  }
}

std::uint64_t TimePoint::resolve(std::uint64_t first_record_ns) const noexcept {
  if (base == Base::absolute) return ns;
  return ns > u64_max - first_record_ns ? u64_max : first_record_ns + ns;
}

std::variant<TimePoint, BadValue> parse_time_point(std::string_view text) {
  if (all_digits(text)) {
    if (const auto ns = whole_number(text)) return TimePoint{TimePoint::Base::absolute, *ns};
    return BadValue{shown_quoted(text) + " is above 2^64-1; expected " + std::string(time_form)};
  }
  if (!text.empty() && text.front() == '+') {
    auto amount = amount_with_unit(text.substr(1), text, "a time after the first record (+DURATION)");
    if (const BadValue* bad = std::get_if<BadValue>(&amount)) return *bad;
    return TimePoint{TimePoint::Base::first_record, std::get<std::uint64_t>(amount)};
  }
  if (auto iso = iso_time(text)) {
    if (const BadValue* bad = std::get_if<BadValue>(&*iso)) return *bad;
    return TimePoint{TimePoint::Base::absolute, std::get<std::uint64_t>(*iso)};
  }
  return BadValue{shown_quoted(text) + " is not a time; expected " + std::string(time_form)};
}

std::variant<std::uint64_t, BadValue> parse_duration(std::string_view text) {
  auto amount = amount_with_unit(text, text, "a duration");
  if (const auto* ns = std::get_if<std::uint64_t>(&amount); ns != nullptr && *ns == 0) {
    return BadValue{shown_quoted(text) + " is zero; expected a positive duration, e.g. 1ms, 250us or 1.5s"};
  }
  return amount;
}

CLI::Validator u32_list_value() { return validator_of<std::vector<std::uint32_t>>(parse_u32_list); }
CLI::Validator time_point_value() { return validator_of<TimePoint>(parse_time_point); }
CLI::Validator duration_value() { return validator_of<std::uint64_t>(parse_duration); }

std::vector<std::uint32_t> u32_list_of(std::string_view validated) { return value_of(parse_u32_list(validated)); }
TimePoint time_point_of(std::string_view validated) { return value_of(parse_time_point(validated)); }
std::uint64_t duration_of(std::string_view validated) { return value_of(parse_duration(validated)); }

}  // namespace vrrl::cli
