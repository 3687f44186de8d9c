// vrrl verify LOG|DIR: check a log byte by byte, either format (or every
// segment of a recording, and the recording's layout) and list every problem
// found.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "command.hpp"
#include "json_output.hpp"
#include "log_check.hpp"
#include "recording_check.hpp"

namespace vrrl::cli {
namespace {

struct VerifyOptions {
  std::filesystem::path log;
  bool json = false;
};

JsonObject findings_json(const std::vector<Finding>& findings);

void print_json_report(const VerifyOptions& options, const LogCheck& check, bool locked) {
  const JsonObject findings = findings_json(check.findings);
  JsonObject out;
  out["log"] = options.log.string();
  out["clean"] = check.clean();
  out["problems"] = check.problems;
  out["header_valid"] = check.header_valid;
  out["format_version"] = check.format ? JsonObject(static_cast<std::uint32_t>(*check.format)) : JsonObject();
  out["capacity"] = check.capacity;
  out["flags"] = check.flags;
  out["multi_producer"] = check.multi_producer;
  out["synced"] = check.synced ? JsonObject(*check.synced) : JsonObject();
  out["slots_checked"] = check.slots_checked;
  out["records"] = check.records;
  out["empty_slots"] = check.empty_slots;
  out["bad_magic_slots"] = check.bad_magic_slots;
  out["beyond_cursor"] = check.beyond_cursor;
  out["stale_records"] = check.stale_records;
  out["torn_slots"] = check.torn_slots;
  out["corrupted_slots"] = check.corrupted_slots;
  out["changed_while_read"] = check.changed_while_read;
  out["timestamps_backwards"] = check.timestamps_backwards;
  out["locked_by_writer"] = locked;
  out["findings"] = findings;
  out["unlisted_findings"] = check.unlisted;
  print_json(out);
}

JsonObject findings_json(const std::vector<Finding>& findings) {
  JsonObject list = JsonObject::array();
  for (const Finding& finding : findings) {
    list.push_back({{"severity", finding.severity == Finding::Severity::problem ? "problem" : "note"},
                    {"slot", finding.slot ? JsonObject(*finding.slot) : JsonObject()},
                    {"message", finding.message}});
  }
  return list;
}

void print_finding(const Finding& finding, const std::string& where) {
  std::cout << (finding.severity == Finding::Severity::problem ? "problem: " : "note: ") << where;
  if (finding.slot) std::cout << "slot " << *finding.slot << ": ";
  std::cout << finding.message << '\n';
}

// "LOG: 8 of 8 slots checked: 5 records, 3 empty, ..." (v2: by slot state).
void print_summary(const std::string& log, const LogCheck& check) {
  std::cout << log << ": " << check.slots_checked << " of " << check.capacity << " slots checked";
  if (check.format == Format::v2) {
    std::cout << " (VRRL v2, synced " << check.synced.value_or(0) << "): " << check.records << " records";
    if (check.beyond_cursor != 0) std::cout << " (" << check.beyond_cursor << " past the cursor)";
    std::cout << ", " << check.empty_slots << " empty, " << check.stale_records << " stale, " << check.torn_slots
              << " torn, " << check.corrupted_slots << " corrupted, ";
    if (check.changed_while_read != 0) std::cout << check.changed_while_read << " changed while read, ";
  } else {
    std::cout << ": " << check.records << " records, " << check.empty_slots << " empty, " << check.bad_magic_slots
              << " with a bad magic, ";
  }
  std::cout << check.timestamps_backwards << " timestamps going backwards"
            << (check.multi_producer && check.timestamps_backwards != 0 ? " (claim order, not a problem)" : "")
            << '\n';
}

// A recording directory: the recording's own findings, then each segment's.
int verify_recording(const VerifyOptions& options) {
  const RecordingCheck check = check_recording(options.log);
  const std::string dir = options.log.string();
  std::uint64_t records = 0;
  for (const SegmentCheck& segment : check.segments) records += segment.check.records;
  if (options.json) {
    JsonObject segments = JsonObject::array();
    for (const SegmentCheck& segment : check.segments) {
      segments.push_back({{"segment", segment.segment.string()},
                          {"clean", segment.check.clean()},
                          {"problems", segment.check.problems},
                          {"records", segment.check.records},
                          {"findings", findings_json(segment.check.findings)}});
    }
    JsonObject out;
    out["recording"] = dir;
    out["clean"] = check.clean();
    out["problems"] = check.problems;
    out["is_recording"] = check.is_recording;
    out["streams"] = check.streams;
    out["records"] = records;
    out["findings"] = findings_json(check.findings);
    out["segments"] = segments;
    print_json(out);
    return check.clean() ? exit_ok : exit_problems;
  }
  for (const Finding& finding : check.findings) print_finding(finding, "");
  for (const SegmentCheck& segment : check.segments) {
    for (const Finding& finding : segment.check.findings) print_finding(finding, segment.segment.string() + ": ");
    if (segment.check.unlisted != 0) {
      std::cout << "(" << segment.check.unlisted << " more findings in " << segment.segment.string()
                << " not listed)\n";
    }
  }
  if (check.is_recording) {
    std::cout << dir << ": " << check.streams << " streams, " << check.segments.size() << " segments checked: "
              << records << " records\n";
  }
  if (check.clean()) {
    std::cout << dir << ": clean\n";
    return exit_ok;
  }
  std::cout << dir << ": " << check.problems << (check.problems == 1 ? " problem" : " problems") << " found\n";
  return exit_problems;
}

int run_verify(const VerifyOptions& options) {
  std::error_code ignored;
  if (std::filesystem::is_directory(options.log, ignored)) return verify_recording(options);
  const LogCheck check = check_log(options.log);
  const std::string log = options.log.string();

  // A writer may move the log while we read it; say so rather than call its
  // half-published newest slot a problem without context.
  bool locked = false;
  try {
    locked = check.header_valid && is_locked_by_writer(options.log);
  } catch (const Error&) {
    // check_log could open the file; a failing lock probe changes nothing it found.
  }

  if (options.json) {
    print_json_report(options, check, locked);
    return check.clean() ? exit_ok : exit_problems;
  }
  for (const Finding& finding : check.findings) print_finding(finding, "");
  if (check.unlisted != 0) std::cout << "(" << check.unlisted << " more findings not listed)\n";
  if (locked) std::cout << "note: a writer holds the log open; this is a snapshot of a moving log\n";

  if (check.header_valid) print_summary(log, check);
  if (check.clean()) {
    std::cout << log << ": clean\n";
    return exit_ok;
  }
  std::cout << log << ": " << check.problems << (check.problems == 1 ? " problem" : " problems") << " found\n";
  return exit_problems;
}

}  // namespace

Command add_verify_command(CLI::App& vrrl) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* verify = vrrl.add_subcommand(
      "verify", "Check header, size, every slot (v1 magics, v2 commit words), timestamp order; exit 1 on problems");
  verify->footer(
      "Checks the header, the file size against the capacity, every slot, and that timestamps never go\n"
      "backwards in replay order (oldest first; in a multi-producer log, header flags bit 0, records are in\n"
      "claim order and a step back is a note). v1: a record magic other than 0xDEADBEEF or 0 is a problem.\n"
      "v2: each slot is record, empty, stale (an older lap), beyond the cursor (a later lap), torn (checks for\n"
      "no sequence, written since the last sync) or corrupted (the same, but a sync vouched for it); torn and\n"
      "corrupted slots are problems, stale records and records past the cursor, which a power cut leaves, are\n"
      "notes (replay steps over the first and yields the second last), and synced above the cursor is a\n"
      "problem. Each problem is listed with its slot index, then a summary. Reads the file with plain reads,\n"
      "so truncated and foreign files are examined too.\n"
      "--json prints one object with these keys, in this order: log, clean, problems, header_valid,\n"
      "format_version, capacity, flags, multi_producer, synced, slots_checked, records, empty_slots,\n"
      "bad_magic_slots, beyond_cursor, stale_records, torn_slots, corrupted_slots, changed_while_read,\n"
      "timestamps_backwards, locked_by_writer, findings [{severity, slot, message}], unlisted_findings. For a\n"
      "recording directory:\n"
      "recording, clean, problems, is_recording, streams, records, findings (the recording's), segments\n"
      "[{segment, clean, problems, records, findings}]. A directory gets the recording's checks (gaps\n"
      "between segments, foreign files, damaged segments, dropped appends as a note), then each segment's.");
  verify->add_option("LOG", options->log, "the log file (need not be a valid log), or a recording directory")
      ->required();
  verify->add_flag("--json", options->json, "one JSON object on one line instead of the text report (keys below)");
  return {verify, [options] { return run_verify(*options); }};
}

}  // namespace vrrl::cli
