// vrrl import LOG [--capacity N] < records.jsonl: append records in the dump
// format, creating the log if needed. Every line is parsed and checked before
// the log is opened, so a malformed line means nothing is written.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "command.hpp"
#include "record_json.hpp"

namespace vrrl::cli {
namespace {

struct ImportOptions {
  std::filesystem::path log;
  std::optional<std::uint64_t> capacity;
};

// Malformed lines listed one by one before the rest are only counted.
constexpr std::uint64_t max_listed_errors = 20;

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

int run_import(const ImportOptions& options) {
  std::error_code ignored;
  const bool exists = std::filesystem::exists(options.log, ignored);
  if (!exists && !options.capacity) {
    throw UsageError("`" + options.log.string() + "` does not exist and creating it needs --capacity N");
  }

  std::vector<RecordValue> records;
  std::uint64_t malformed = 0;
  std::uint64_t line_number = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (blank(line)) continue;
    try {
      records.push_back(parse_jsonl(line));
    } catch (const JsonlError& e) {
      if (malformed++ < max_listed_errors) {
        std::cerr << "vrrl import: line " << line_number << ": " << e.what()
                  << ". Fix: write each line as `vrrl dump` does, e.g. "
                     "{\"timestamp_ns\":1,\"slot_idx\":0,\"tenant_id\":7,\"opcode\":42,\"args\":[1,2,3,4],"
                     "\"epoch\":1} (docs/cli.md).\n";
      }
    }
  }
  if (std::cin.bad()) {
    std::cerr << "vrrl import: reading standard input failed; nothing was written to `" << options.log.string()
              << "`. Fix: check the file or pipe given as input.\n";
    return exit_problems;
  }
  if (malformed != 0) {
    if (malformed > max_listed_errors) {
      std::cerr << "vrrl import: ... and " << malformed - max_listed_errors << " more malformed lines.\n";
    }
    std::cerr << "vrrl import: " << malformed << " of " << line_number
              << " lines are malformed; nothing was written to `" << options.log.string()
              << "`. Fix: correct the lines listed above and run the import again.\n";
    return exit_problems;
  }

  // For an existing log the header's capacity wins (RingLog::open ignores the argument).
  RingLog log = RingLog::open(options.log, options.capacity.value_or(1));
  if (exists && options.capacity && *options.capacity != log.capacity()) {
    std::cerr << "vrrl import: note: `" << options.log.string() << "` already exists with capacity "
              << log.capacity() << "; --capacity " << *options.capacity << " was ignored.\n";
  }
  for (const RecordValue& record : records) log.append(record.slot, record.failure);
  log.sync();

  std::cout << "vrrl import: appended " << records.size() << " records to " << options.log.string()
            << " (capacity " << log.capacity() << ", " << log.appended() << " appended over its lifetime)\n";
  if (records.size() > log.capacity()) {
    std::cout << "vrrl import: note: the log keeps only the newest " << log.capacity() << " records\n";
  }
  return exit_ok;
}

}  // namespace

Command add_import_command(CLI::App& vrrl) {
  auto options = std::make_shared<ImportOptions>();
  CLI::App* import = vrrl.add_subcommand(
"import", "Append JSONL records (the dump format) from stdin; create the log if missing");
  import->footer(
      "Reads one JSON object per line in the `vrrl dump` format from standard input. Every line is checked\n"
      "first: if any is malformed, each is reported with its line number and nothing is written. Then the\n"
      "records are appended in order and synced to disk.");
  import->add_option("LOG", options->log, "the log file to create or extend")->required();
  import
      ->add_option("--capacity", options->capacity,
                   "number of slots when creating the log (1.." + std::to_string(format::max_capacity) +
                       "); an existing log keeps its own")
      ->check(digits_only())
      ->check(CLI::Range(std::uint64_t{1}, format::max_capacity));
  return {import, [options] { return run_import(*options); }};
}

}  // namespace vrrl::cli
