// vrrl export LOG|DIR --format chrome-trace > run.json: the records as a timeline
// for Perfetto's UI (ui.perfetto.dev) or chrome://tracing.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chrome_trace.hpp"
#include "command.hpp"
#include "record_filter.hpp"
#include "record_source.hpp"

namespace vrrl::cli {
namespace {

struct ExportOptions {
  std::filesystem::path log;
  std::string format = "chrome-trace";
  std::string interval;  // empty: automatic
  FilterOptions filters;
};

// As in `vrrl stats --interval`: more counter points than this are refused.
constexpr std::uint64_t max_intervals = 100'000;

int run_export(const ExportOptions& options) {
  const RecordSource source = RecordSource::open(options.log);
  // One pass, kept: ts 0 is the oldest selected record and the automatic
  // counter interval depends on the span, and a second pass over a live log
  // would see other records than the first (for a log at most capacity
  // records, 64 bytes each; a recording: every selected record).
  std::vector<SourceRecord> selected;
  RecordFilter filter(options.filters);
  const ReadReport report = source.read(
      [&](const SourceRecord& record) {
        if (filter.matches(record.value)) selected.push_back(record);
        return true;
      },
      stream_names(options.filters));
  std::optional<std::uint64_t> min_timestamp;
  std::uint64_t max_timestamp = 0;
  for (const SourceRecord& record : selected) {
    const std::uint64_t timestamp = record.value.slot.timestamp_ns;
    min_timestamp = std::min(min_timestamp.value_or(timestamp), timestamp);
    max_timestamp = std::max(max_timestamp, timestamp);
  }
  const std::uint64_t span = min_timestamp ? max_timestamp - *min_timestamp : 0;
  const std::uint64_t interval = options.interval.empty() ? automatic_interval(span) : duration_of(options.interval);
  if (span / interval >= max_intervals) {
    throw UsageError("--interval " + options.interval + " cuts the span of " + std::to_string(span) +
                     " ns into more than " + std::to_string(max_intervals) + " counter intervals; use --interval " +
                     std::to_string(span / max_intervals + 1) + "ns or longer (or leave it out)");
  }
  ChromeTraceWriter trace(std::cout, options.log.string(), min_timestamp.value_or(0), interval);
  for (const SourceRecord& record : selected) trace.add(record.value, record.stream);
  trace.finish();
  return report_skipped("export", report, options.log) ? exit_problems : exit_ok;
}

}  // namespace

Command add_export_command(CLI::App& vrrl) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* command = vrrl.add_subcommand(
      "export", "Write the records as a timeline: Trace Event JSON for Perfetto UI and chrome://tracing");
  command->footer(
      "  vrrl export run.vrrl --format chrome-trace > run.json   # then open run.json in ui.perfetto.dev\n"
      "One track per tenant (in a process per stream for a recording), one event per dispatch (opcode, slot_idx, args, epoch and failure in its args),\n"
      "failed dispatches named \"opcode N failed\" with an instant event each, and a counter of dispatches\n"
      "and failures per interval. ts is in microseconds from the oldest selected record.");
  command->add_option("LOG", options->log, "the log file, or a recording directory (a process per stream)")
      ->required();
  command->add_option("--format", options->format, "the output format")
      ->check(CLI::IsMember({"chrome-trace"}))
      ->option_text("chrome-trace (default)");
  command->add_option("--interval", options->interval,
                      "the counter's interval (default: about 1/200 of the time span, on a 1-2-5 scale)")
      ->check(duration_value())
      ->option_text("DURATION (e.g. 1ms)");
  add_filter_options(*command, options->filters, TimeRange::offered);
  return {command, [options] { return run_export(*options); }};
}

}  // namespace vrrl::cli
