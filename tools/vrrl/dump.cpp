// vrrl dump LOG: the records, oldest first, as jsonl (default), csv or a table.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "bad_slot_warning.hpp"
#include "command.hpp"
#include "record_output.hpp"

namespace vrrl::cli {
namespace {

struct DumpOptions {
  std::filesystem::path log;
  std::string format = "jsonl";  // one of output_format_names()
  std::uint64_t from = 0;
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
  std::optional<std::uint32_t> tenant;
  std::optional<std::uint32_t> opcode;
};

// Walks the log oldest first and calls `visit` for each record the options
// select. --from counts records in the log (before filtering); --limit counts
// records printed. Returns the replay report.
template <class Visit>
ReplayReport select_records(const LogReader& reader, const DumpOptions& options, Visit visit) {
  ReplayRange replay = reader.replay(Recovery::skip_bad_slots);
  std::uint64_t position = 0;
  std::uint64_t selected = 0;
  for (RecordView record : replay) {
    if (selected == options.limit) break;
    if (position++ < options.from) continue;
    if (options.tenant && record.tenant_id() != *options.tenant) continue;
    if (options.opcode && record.opcode() != *options.opcode) continue;
    ++selected;
    visit(copy_record(record));
  }
  return replay.report();
}

int run_dump(const DumpOptions& options) {
  const LogReader reader = LogReader::open(options.log);
  std::vector<RecordValue> width_sample;
  if (output_format_named(options.format) == OutputFormat::table) {
    // A second, zero-copy pass is cheaper than holding every record twice.
    select_records(reader, options, [&](const RecordValue& record) { width_sample.push_back(record); });
  }
  RecordPrinter printer(std::cout, output_format_named(options.format), width_sample);
  printer.print_header();
  const ReplayReport report = select_records(reader, options, [&](const RecordValue& record) { printer.print(record); });
  return warn_about_bad_slots("dump", report, options.log) ? exit_problems : exit_ok;
}

}  // namespace

Command add_dump_command(CLI::App& vrrl) {
  auto options = std::make_shared<DumpOptions>();
  CLI::App* dump = vrrl.add_subcommand("dump", "Print the records, oldest first.");
  dump->add_option("LOG", options->log, "the log file")->required();
  dump->add_option("--format", options->format,
                   "jsonl: one JSON object per line (what `vrrl import` reads); csv: with a header row; "
                   "table: aligned columns for a terminal")
      ->check(CLI::IsMember(output_format_names()))
      ->option_text("jsonl|csv|table (default: jsonl)");
  dump->add_option("--from", options->from, "skip the N oldest records of the log (before filtering)")
      ->check(digits_only());
  dump->add_option("--limit", options->limit, "print at most N records")
      ->check(digits_only());
  dump->add_option("--tenant", options->tenant, "only records with this tenant_id")
      ->check(digits_only());
  dump->add_option("--opcode", options->opcode, "only records with this opcode")
      ->check(digits_only());
  return {dump, [options] { return run_dump(*options); }};
}

}  // namespace vrrl::cli
