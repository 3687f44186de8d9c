// vrrl import LOG [--capacity N] < records.jsonl: append records in the dump
// format, creating the log if needed.
//
// All or nothing for malformed input: every line is parsed and checked, and
// the valid records kept in a RecordSpool (a temporary file, so memory stays
// flat), before the log is opened; one malformed line means nothing is
// written, not even a new empty log. Then the spooled records are appended in
// place and the log is synced. Appending in place, rather than building a copy
// and renaming it over the log, keeps the log's inode: a `vrrl tail -f` or any
// other reader of the log goes on following it and sees the new records.
// A target that exists but is no log is refused before any input is read.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include <vrrl/ring_log.hpp>

#include "command.hpp"
#include "line_reader.hpp"
#include "log_check.hpp"
#include "record_json.hpp"
#include "record_spool.hpp"
#include "stdout_summary.hpp"

namespace vrrl::cli {
namespace {

struct ImportOptions {
  std::filesystem::path log;
  std::optional<std::uint64_t> capacity;
};

// Malformed lines listed one by one before the rest are only counted.
constexpr std::uint64_t max_listed_errors = 20;
// A record line is under 400 bytes; this leaves room for any whitespace.
constexpr std::size_t max_line_bytes = std::size_t{1} << 20;

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// The capacity of an existing target, which must be a VRRL log. Anything else
// is refused with a fix that leaves the file alone: it may be someone's data.
std::uint64_t existing_log_capacity(const std::filesystem::path& path) {
  try {
    return LogReader::open(path).capacity();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::io) throw;
    // verify's checks say precisely what the file is; the library's own
    // message would suggest deleting or regenerating it.
    std::string what = "it is not a VRRL log";
    const LogCheck check = check_log(path);
    for (const Finding& finding : check.findings) {
      if (finding.severity != Finding::Severity::problem) continue;
      what = finding.message;
      if (e.kind() == ErrorKind::truncated) what += "; it is not a complete VRRL log";
      break;
    }
    throw Error({.kind = e.kind(),
                 .operation = "import",
                 .path = path,
                 .what_is_wrong = what + "; nothing was read or written",
                 .fix = "vrrl import only appends to VRRL logs and left this file as it is; give a new path to "
                        "create a log there, or the path of an existing log",
                 .errno_value = 0,
                 .slot = std::nullopt});
  }
}

int run_import(const ImportOptions& options) {
  // The exit status must say whether the records went in; a reader of our
  // summary that went away must not turn a synced import into "killed by SIGPIPE".
  ::signal(SIGPIPE, SIG_IGN);

  std::error_code ignored;
  const bool exists = std::filesystem::exists(options.log, ignored);
  if (!exists && !options.capacity) {
    throw UsageError("`" + options.log.string() + "` does not exist and creating it needs --capacity N");
  }
  std::optional<std::uint64_t> existing_capacity;
  if (exists) existing_capacity = existing_log_capacity(options.log);

  RecordSpool spool(options.log);
  LineReader input(STDIN_FILENO, max_line_bytes);
  std::uint64_t malformed = 0;
  std::uint64_t line_number = 0;
  while (const auto line = input.next()) {
    ++line_number;
    std::string problem;
    if (line->too_long) {
      problem = "the line is longer than " + std::to_string(max_line_bytes) + " bytes; a record takes under 400";
    } else if (blank(line->text)) {
      continue;
    } else {
      try {
        const RecordValue record = parse_jsonl(line->text);
        if (malformed == 0) spool.add(record);  // after the first bad line only checking matters
        continue;
      } catch (const JsonlError& e) {
        problem = e.what();
      }
    }
    if (malformed++ < max_listed_errors) {
      std::cerr << "vrrl import: line " << line_number << ": " << problem
                << ". Fix: write each line as `vrrl dump` does, e.g. "
                   "{\"timestamp_ns\":1,\"slot_idx\":0,\"tenant_id\":7,\"opcode\":42,\"args\":[1,2,3,4],"
                   "\"epoch\":1} (see `man vrrl-import`).\n";
    }
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
  if (existing_capacity && options.capacity && *options.capacity != log.capacity()) {
    std::cerr << "vrrl import: note: `" << options.log.string() << "` already exists with capacity "
              << log.capacity() << "; --capacity " << *options.capacity << " was ignored.\n";
  }
  spool.replay([&](std::span<const RecordValue> records) {
    for (const RecordValue& record : records) log.append(record.slot, record.failure);
  });
  log.sync();

  std::string summary = "vrrl import: appended " + std::to_string(spool.size()) + " records to " +
                        options.log.string() + " (capacity " + std::to_string(log.capacity()) + ", " +
                        std::to_string(log.appended()) + " appended over its lifetime)\n";
  if (spool.size() > log.capacity()) {
    summary += "vrrl import: note: the log keeps only the newest " + std::to_string(log.capacity()) + " records\n";
  }
  if (!write_summary(summary)) {
    const int error = errno;
    std::cerr << "vrrl import: note: the " << spool.size() << " records were appended and synced, but the summary "
              << "could not be written to standard output (" << std::strerror(error) << "); exit status 0 says the "
              << "import succeeded\n";
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
      "first (the valid records wait in an unnamed temporary file, so memory stays flat): if any line is\n"
      "malformed, each is reported with its line number and nothing is written. Then the records are\n"
      "appended in order and the log is synced. Exit 0 means the records are in the log, even when the\n"
      "summary could not be written to standard output (a note on stderr says so).");
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
