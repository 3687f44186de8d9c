// vrrl stats LOG|DIR: records per opcode, per tenant and per failure class, time
// span, records per second; with --interval, records per interval and opcode.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "command.hpp"
#include "dispatch_failure.hpp"
#include "json_output.hpp"
#include "record_filter.hpp"
#include "record_source.hpp"
#include "time_text.hpp"

namespace vrrl::cli {
namespace {

struct StatsOptions {
  std::filesystem::path log;
  FilterOptions filters;
  std::string interval;  // empty: no per-interval table
  bool json = false;
  bool u64_as_string = false;
};

// More intervals than this are refused: the table would be unreadable and the
// counts would take memory in proportion.
constexpr std::int64_t max_intervals = 100'000;
// Opcode columns in the interval table; the rest are summed in "other".
constexpr std::size_t max_opcode_columns = 8;

struct Interval {
  std::uint64_t records = 0;
  std::uint64_t failures = 0;
  std::map<std::uint32_t, std::uint64_t> per_opcode;
};

struct Tally {
  std::uint64_t walked = 0;   // records in the log
  std::uint64_t records = 0;  // records selected
  std::uint64_t failures = 0;
  std::optional<std::uint64_t> first_timestamp;  // of the oldest record walked: intervals start there
  std::uint64_t min_timestamp = UINT64_MAX;
  std::uint64_t max_timestamp = 0;
  std::map<std::uint32_t, std::uint64_t> per_opcode;
  std::map<std::uint32_t, std::uint64_t> per_tenant;
  std::map<FailureClass, std::uint64_t> per_failure_class;  // failures only
  std::map<std::string_view, std::uint64_t> per_stream;     // a recording's streams (names live in the source)
  std::map<std::int64_t, Interval> intervals;               // by index from first_timestamp
};

// Interval index of `timestamp`: floor((timestamp - origin) / length), which is
// negative for records older than the first (a multi-producer log).
std::int64_t interval_index(std::uint64_t timestamp, std::uint64_t origin, std::uint64_t length) {
  if (timestamp >= origin) return static_cast<std::int64_t>((timestamp - origin) / length);
  return -static_cast<std::int64_t>((origin - timestamp + length - 1) / length);
}

std::string share(std::uint64_t part, std::uint64_t whole) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return text;
}

template <class Key>
std::vector<std::pair<Key, std::uint64_t>> busiest_first(const std::map<Key, std::uint64_t>& counts) {
  std::vector<std::pair<Key, std::uint64_t>> rows(counts.begin(), counts.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return rows;
}

// Busiest first, then by key, so the opcodes and tenants that matter lead.
template <class Key, class KeyText>
void print_counts(const char* title, const char* key_title, const std::map<Key, std::uint64_t>& counts,
                  std::uint64_t total, KeyText key_text) {
  char line[128];
  std::snprintf(line, sizeof line, "\n%s\n  %16s %12s %8s\n", title, key_title, "records", "share");
  std::cout << line;
  for (const auto& [key, count] : busiest_first(counts)) {
    std::snprintf(line, sizeof line, "  %16s %12llu %8s\n", key_text(key).c_str(),
                  static_cast<unsigned long long>(count), share(count, total).c_str());
    std::cout << line;
  }
}

void print_intervals(const Tally& tally, std::uint64_t length) {
  // The busiest opcodes get a column each, the rest one "other" column.
  std::vector<std::uint32_t> columns;
  for (const auto& [opcode, count] : busiest_first(tally.per_opcode)) {
    if (columns.size() == max_opcode_columns - (tally.per_opcode.size() > max_opcode_columns ? 1 : 0)) break;
    columns.push_back(opcode);
  }
  std::sort(columns.begin(), columns.end());
  const bool other = columns.size() < tally.per_opcode.size();
  std::cout << "\nper " << duration_text(length) << " interval (start: seconds since the first record)\n";
  char cell[64];
  std::string line;
  std::snprintf(cell, sizeof cell, "  %14s %10s %9s", "start", "records", "failures");
  line = cell;
  for (std::uint32_t opcode : columns) {
    std::snprintf(cell, sizeof cell, " %10s", ("op " + std::to_string(opcode)).c_str());
    line += cell;
  }
  if (other) line += "      other";
  std::cout << line << '\n';
  const std::int64_t first = tally.intervals.begin()->first;
  const std::int64_t last = tally.intervals.rbegin()->first;
  const Interval empty;
  for (std::int64_t index = first; index <= last; ++index) {
    const auto found = tally.intervals.find(index);
    const Interval& interval = found != tally.intervals.end() ? found->second : empty;
    std::string start;
    const std::uint64_t offset = static_cast<std::uint64_t>(index < 0 ? -index : index) * length;
    append_relative_seconds(start, index < 0 ? 0 : offset, index < 0 ? offset : 0);
    std::snprintf(cell, sizeof cell, "  %14s %10llu %9llu", start.c_str(),
                  static_cast<unsigned long long>(interval.records), static_cast<unsigned long long>(interval.failures));
    line = cell;
    std::uint64_t in_columns = 0;
    for (std::uint32_t opcode : columns) {
      const auto count = interval.per_opcode.find(opcode);
      const std::uint64_t value = count != interval.per_opcode.end() ? count->second : 0;
      in_columns += value;
      std::snprintf(cell, sizeof cell, " %10llu", static_cast<unsigned long long>(value));
      line += cell;
    }
    if (other) {
      std::snprintf(cell, sizeof cell, " %10llu", static_cast<unsigned long long>(interval.records - in_columns));
      line += cell;
    }
    std::cout << line << '\n';
  }
}

std::optional<double> records_per_second(const Tally& tally) {
  const std::uint64_t span_ns = tally.max_timestamp - tally.min_timestamp;
  if (tally.records == 0 || span_ns == 0) return std::nullopt;
  return static_cast<double>(tally.records) / (static_cast<double>(span_ns) / 1e9);
}

void print_text(const StatsOptions& options, const Tally& tally, const RecordSource& source,
                std::optional<std::uint64_t> interval) {
  std::cout << (source.is_recording() ? "recording     " : "log           ") << options.log.string() << '\n';
  std::cout << "records       " << tally.records;
  if (tally.records != tally.walked) std::cout << " selected of " << tally.walked;
  if (source.is_recording()) {
    std::cout << " (" << source.recording()->streams().size() << " streams, segment capacity " << source.capacity()
              << ")\n";
  } else {
    std::cout << " (capacity " << source.capacity() << ")\n";
  }
  if (tally.records == 0) {
    std::cout << "time span     -\n";
    return;
  }
  // min/max rather than oldest/newest: a log whose clock stepped back still
  // has a meaningful span (`vrrl verify` reports the step).
  const std::uint64_t span_ns = tally.max_timestamp - tally.min_timestamp;
  std::cout << "time span     " << span_ns << " ns (" << tally.min_timestamp << " .. " << tally.max_timestamp << ")\n";
  if (const auto rate = records_per_second(tally)) {
    char text[64];
    std::snprintf(text, sizeof text, "%.1f records/s", *rate);
    std::cout << "rate          " << text << '\n';
  } else {
    std::cout << "rate          - (all records share one timestamp)\n";
  }
  std::cout << "failures      " << tally.failures << " (failure_class other than none, or slot_status not 0)\n";

  const auto number = [](std::uint32_t value) { return std::to_string(value); };
  print_counts("per opcode", "opcode", tally.per_opcode, tally.records, number);
  print_counts("per tenant", "tenant_id", tally.per_tenant, tally.records, number);
  if (source.is_recording()) {
    print_counts("per stream", "stream", tally.per_stream, tally.records,
                 [](std::string_view name) { return std::string(name); });
  }
  if (tally.failures != 0) {
    print_counts("per failure class (failures only)", "failure_class", tally.per_failure_class, tally.records,
                 [](FailureClass value) { return std::string(to_string(value)); });
  }
  if (interval) print_intervals(tally, *interval);
}

void print_json_stats(const StatsOptions& options, const Tally& tally, const RecordSource& source,
                      std::optional<std::uint64_t> interval, const ReadReport& report) {
  const Wide64 wide = options.u64_as_string ? Wide64::as_string : Wide64::as_number;
  JsonObject out;
  out["log"] = options.log.string();
  out["capacity"] = source.capacity();
  out["records_in_log"] = tally.walked;
  out["records"] = tally.records;
  out["failures"] = tally.failures;
  const bool any = tally.records != 0;
  out["min_timestamp_ns"] = any ? json_u64(tally.min_timestamp, wide) : JsonObject();
  out["max_timestamp_ns"] = any ? json_u64(tally.max_timestamp, wide) : JsonObject();
  out["span_ns"] = any ? json_u64(tally.max_timestamp - tally.min_timestamp, wide) : JsonObject();
  const auto rate = records_per_second(tally);
  out["records_per_second"] = rate ? JsonObject(*rate) : JsonObject();
  const auto rows = [](const auto& counts, const char* key, auto key_value) {
    JsonObject list = JsonObject::array();
    for (const auto& [name, count] : busiest_first(counts)) list.push_back({{key, key_value(name)}, {"records", count}});
    return list;
  };
  const auto same = [](std::uint32_t value) { return value; };
  out["per_opcode"] = rows(tally.per_opcode, "opcode", same);
  out["per_tenant"] = rows(tally.per_tenant, "tenant_id", same);
  if (source.is_recording()) {
    out["per_stream"] = rows(tally.per_stream, "stream", [](std::string_view name) { return std::string(name); });
  }
  out["per_failure_class"] =
      rows(tally.per_failure_class, "failure_class", [](FailureClass value) { return std::string(to_string(value)); });
  if (interval) {
    JsonObject intervals = JsonObject::array();
    if (any) {
      const Interval empty;
      for (std::int64_t index = tally.intervals.begin()->first; index <= tally.intervals.rbegin()->first; ++index) {
        const auto found = tally.intervals.find(index);
        const Interval& row = found != tally.intervals.end() ? found->second : empty;
        JsonObject per_opcode = JsonObject::object();
        for (const auto& [opcode, count] : row.per_opcode) per_opcode[std::to_string(opcode)] = count;
        // Unsigned wrap-around makes this first - |index| * interval for negative indices.
        const std::uint64_t start = *tally.first_timestamp + static_cast<std::uint64_t>(index) * *interval;
        intervals.push_back({{"start_ns", json_u64(start, wide)},
                             {"records", row.records},
                             {"failures", row.failures},
                             {"per_opcode", per_opcode}});
      }
    }
    out["interval_ns"] = json_u64(*interval, wide);
    out["intervals"] = intervals;
  }
  out["skipped"] = {{"bad_slots", report.bad_slots}, {"live", report.skipped_live}, {"lost", report.lost}};
  print_json(out);
}

int run_stats(const StatsOptions& options) {
  if (options.u64_as_string && !options.json) throw UsageError("--u64-as-string applies to --json output only");
  const std::optional<std::uint64_t> interval =
      options.interval.empty() ? std::nullopt : std::optional(duration_of(options.interval));
  const RecordSource source = RecordSource::open(options.log);
  Tally tally;
  RecordFilter filter(options.filters);
  std::optional<std::int64_t> lowest_interval;
  std::optional<std::int64_t> highest_interval;
  const ReadReport report = source.read(
      [&](const SourceRecord& source_record) {
    const RecordValue& record = source_record.value;
    const std::uint64_t timestamp = record.slot.timestamp_ns;
    ++tally.walked;
    if (!tally.first_timestamp) tally.first_timestamp = timestamp;
    if (!filter.matches(record)) return true;
    ++tally.records;
    tally.min_timestamp = std::min(tally.min_timestamp, timestamp);
    tally.max_timestamp = std::max(tally.max_timestamp, timestamp);
    ++tally.per_opcode[record.slot.opcode];
    ++tally.per_tenant[record.slot.tenant_id];
    if (!source_record.stream.empty()) ++tally.per_stream[source_record.stream];
    const bool failed = is_failure(record.failure);
    if (failed) {
      ++tally.failures;
      ++tally.per_failure_class[record.failure.failure_class];
    }
    if (interval) {
      const std::int64_t index = interval_index(timestamp, *tally.first_timestamp, *interval);
      lowest_interval = std::min(lowest_interval.value_or(index), index);
      highest_interval = std::max(highest_interval.value_or(index), index);
      if (*highest_interval - *lowest_interval >= max_intervals) {
        const std::uint64_t span = tally.max_timestamp - tally.min_timestamp;
        throw UsageError("--interval " + options.interval + " cuts this log's span of " + std::to_string(span) +
                         " ns into more than " + std::to_string(max_intervals) + " intervals; use --interval " +
                         std::to_string(span / static_cast<std::uint64_t>(max_intervals) + 1) + "ns or longer");
      }
      Interval& row = tally.intervals[index];
      ++row.records;
      if (failed) ++row.failures;
      ++row.per_opcode[record.slot.opcode];
    }
    return true;
      },
      stream_names(options.filters));
  if (options.json) {
    print_json_stats(options, tally, source, interval, report);
  } else {
    print_text(options, tally, source, interval);
  }
  return report_skipped("stats", report, options.log) ? exit_problems : exit_ok;
}

}  // namespace

Command add_stats_command(CLI::App& vrrl) {
  auto options = std::make_shared<StatsOptions>();
  CLI::App* stats = vrrl.add_subcommand(
      "stats", "Records per opcode, per tenant, per failure class; time span, records/s; per interval");
  stats->footer(
      "A failure is a record whose failure_class is not none or whose slot_status is not 0; failure evidence\n"
      "alone (an output_digest, a backend_code) is not. --interval counts records per interval of that length,\n"
      "from the first record of the log, per opcode.\n"
      "--json prints one object with these keys, in this order: log, capacity, records_in_log, records,\n"
      "failures, min_timestamp_ns, max_timestamp_ns, span_ns, records_per_second, per_opcode [{opcode,\n"
      "records}], per_tenant [{tenant_id, records}], for a recording per_stream [{stream, records}],\n"
      "per_failure_class [{failure_class, records}], with --interval interval_ns and intervals [{start_ns,\n"
      "records, failures, per_opcode {OPCODE: records}}], skipped {bad_slots, live, lost}.");
  stats->add_option("LOG", options->log, "the log file, or a recording directory")->required();
  stats->add_option("--interval", options->interval, "also count records per interval of this length, per opcode")
      ->check(duration_value())
      ->option_text("DURATION (e.g. 1ms, 250us, 1s)");
  stats->add_flag("--json", options->json, "one JSON object on one line instead of the text report (keys below)");
  stats->add_flag("--u64-as-string", options->u64_as_string,
                  "with --json: 64-bit values (timestamps, spans) as strings of digits, for jq 1.6");
  add_filter_options(*stats, options->filters, TimeRange::offered);
  return {stats, [options] { return run_stats(*options); }};
}

}  // namespace vrrl::cli
