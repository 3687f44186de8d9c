// vrrl dump LOG|DIR: the records, oldest first, as jsonl (default), csv or a
// table; a recording directory's streams merged by timestamp, each record
// with its stream's name.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "command.hpp"
#include "record_filter.hpp"
#include "record_output.hpp"
#include "record_source.hpp"

namespace vrrl::cli {
namespace {

struct DumpOptions {
  std::filesystem::path log;
  std::string format = "jsonl";  // one of output_format_names()
  std::string time = "ns";       // one of time_format_names()
  bool u64_as_string = false;
  std::uint64_t from = 0;
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
  FilterOptions filters;
};

// Walks the log oldest first and calls `visit` for each record the options
// select. --from counts records in the log (before filtering); --limit counts
// records printed.
template <class Visit>
ReadReport select_records(const RecordSource& source, const DumpOptions& options, Visit visit) {
  RecordFilter filter(options.filters);
  std::uint64_t position = 0;
  std::uint64_t selected = 0;
  return source.read(
      [&](const SourceRecord& record) {
        if (selected == options.limit) return false;
        const bool past_from = position++ >= options.from;
        // Every record reaches the filter: the first one anchors +TIME.
        if (!filter.matches(record.value) || !past_from) return true;
        ++selected;
        visit(record);
        return true;
      },
      stream_names(options.filters));
}

// A recording's records carry a "stream" column as wide as its longest name.
std::size_t stream_column_width(const RecordSource& source) {
  if (!source.is_recording()) return 0;
  std::size_t width = std::string_view("stream").size();
  for (const std::string& name : source.recording()->streams()) width = std::max(width, name.size());
  return width;
}

int run_dump(const DumpOptions& options) {
  const OutputFormat format = output_format_named(options.format);
  const TimeFormat time = time_format_named(options.time);
  if (format == OutputFormat::jsonl && time != TimeFormat::ns) {
    throw UsageError("--time " + options.time + " applies to --format csv and table; jsonl always writes the exact "
                     "timestamp_ns");
  }
  if (format != OutputFormat::jsonl && options.u64_as_string) {
    throw UsageError("--u64-as-string applies to --format jsonl only");
  }
  const RecordSource source = RecordSource::open(options.log);
  PrintOptions print{.format = format,
                     .time = time,
                     .time_origin_ns = 0,
                     .wide = options.u64_as_string ? Wide64::as_string : Wide64::as_number,
                     .stream_width = stream_column_width(source)};
  if (time == TimeFormat::relative) {
    source.read(
        [&](const SourceRecord& first) {
          print.time_origin_ns = first.value.slot.timestamp_ns;
          return false;
        },
        stream_names(options.filters));
  }
  std::vector<RecordValue> width_sample;
  if (format == OutputFormat::table) {
    // A second pass over the mapping is cheaper than holding every record twice.
    select_records(source, options, [&](const SourceRecord& record) { width_sample.push_back(record.value); });
  }
  RecordPrinter printer(std::cout, print, width_sample);
  printer.print_header();
  const ReadReport report =
      select_records(source, options, [&](const SourceRecord& record) { printer.print(record.value, record.stream); });
  return report_skipped("dump", report, options.log) ? exit_problems : exit_ok;
}

}  // namespace

Command add_dump_command(CLI::App& vrrl) {
  auto options = std::make_shared<DumpOptions>();
  CLI::App* dump = vrrl.add_subcommand("dump", "Print the records, oldest first");
  dump->add_option("LOG", options->log, "the log file, or a recording directory (its streams merged)")->required();
  dump->add_option("--format", options->format,
                   "jsonl: one JSON object per line (what `vrrl import` reads); csv: with a header row; "
                   "table: aligned columns for a terminal")
      ->check(CLI::IsMember(output_format_names()))
      ->option_text("jsonl|csv|table (default: jsonl)");
  dump->add_option("--time", options->time,
                   "csv and table: the time column as timestamp_ns (ns), ISO-8601 UTC (iso), or seconds since the "
                   "first record (relative)")
      ->check(CLI::IsMember(time_format_names()))
      ->option_text("ns|iso|relative (default: ns)");
  dump->add_flag("--u64-as-string", options->u64_as_string,
                 "jsonl: write timestamp_ns and output_digest as strings of digits, for tools that read numbers as "
                 "doubles (jq 1.6); `vrrl import` reads them back");
  dump->add_option("--from", options->from, "skip the N oldest records of the log (before filtering)")
      ->check(digits_only())
      ->group("Selecting records");
  dump->add_option("--limit", options->limit, "print at most N records")
      ->check(digits_only())
      ->group("Selecting records");
  add_filter_options(*dump, options->filters, TimeRange::offered);
  return {dump, [options] { return run_dump(*options); }};
}

}  // namespace vrrl::cli
