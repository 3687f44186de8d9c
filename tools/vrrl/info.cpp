// vrrl info LOG: what the header says and what the slots hold, at a glance.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <vrrl/ring_log.hpp>

#include "command.hpp"
#include "json_output.hpp"
#include "log_flags.hpp"
#include "record_source.hpp"

namespace vrrl::cli {
namespace {

struct InfoOptions {
  std::filesystem::path log;
  bool json = false;
  bool u64_as_string = false;
};

struct RecordStamp {
  std::uint64_t timestamp_ns;
  std::uint64_t slot;
};

void row(std::string_view name, const std::string& value) {
  std::cout << std::left << std::setw(18) << name << value << '\n';
}

int run_info(const InfoOptions& options) {
  if (options.u64_as_string && !options.json) throw UsageError("--u64-as-string applies to --json output only");
  const RecordSource source = RecordSource::open(options.log);
  const LogReader& reader = source.log();
  // Probe before walking, so "locked" describes the moment the numbers were read.
  const bool locked = is_locked_by_writer(options.log);
  const std::uint64_t appended = reader.appended();

  std::optional<RecordStamp> oldest;
  std::optional<RecordStamp> newest;
  const ReadReport report = source.read([&](const SourceRecord& record) {
    const RecordStamp stamp{record.value.slot.timestamp_ns, record.slot};
    if (!oldest) oldest = stamp;
    newest = stamp;
    return true;
  });
  const auto version = wire::load_le<std::uint32_t>(reader.data() + format::header_offset::version);
  const std::uint32_t flags = reader.flags();

  if (options.json) {
    const Wide64 wide = options.u64_as_string ? Wide64::as_string : Wide64::as_number;
    const auto stamp_json = [&](const std::optional<RecordStamp>& stamp) {
      return stamp ? JsonObject{{"timestamp_ns", json_u64(stamp->timestamp_ns, wide)}, {"slot", stamp->slot}}
                   : JsonObject();
    };
    JsonObject out;
    out["log"] = options.log.string();
    out["format_version"] = version;
    out["flags"] = flags;
    out["multi_producer"] = (flags & multi_producer_flag) != 0;
    out["capacity"] = reader.capacity();
    out["file_size"] = reader.file_size();
    out["cursor"] = json_u64(appended, wide);
    out["next_slot"] = appended % reader.capacity();
    out["records_in_use"] = report.records;
    out["empty_slots"] = report.empty_slots;
    out["bad_slots"] = report.bad_slots;
    out["skipped_live"] = report.skipped_live;
    out["oldest"] = stamp_json(oldest);
    out["newest"] = stamp_json(newest);
    out["locked_by_writer"] = locked;
    print_json(out);
    report_skipped("info", report, options.log);
    return exit_ok;
  }

  char flags_text[11];
  std::snprintf(flags_text, sizeof flags_text, "0x%08X", flags);
  const auto stamp_text = [](const std::optional<RecordStamp>& stamp) {
    return stamp ? std::to_string(stamp->timestamp_ns) + " ns (slot " + std::to_string(stamp->slot) + ")"
                 : std::string("-");
  };
  row("log", options.log.string());
  row("format", "VRRL v" + std::to_string(version));
  row("flags", std::string(flags_text) + describe_flags(flags));
  row("capacity", std::to_string(reader.capacity()) + " slots");
  row("file size", std::to_string(reader.file_size()) + " bytes");
  row("cursor", std::to_string(appended) + " (next slot " + std::to_string(appended % reader.capacity()) + ")");
  row("records in use", std::to_string(report.records));
  row("empty slots", std::to_string(report.empty_slots));
  if (!report.clean()) row("bad slots", std::to_string(report.bad_slots) + " (see `vrrl verify`)");
  row("oldest timestamp", stamp_text(oldest));
  row("newest timestamp", stamp_text(newest));
  row("locked by writer", locked ? "yes" : "no");
  report_skipped("info", report, options.log);
  return exit_ok;
}

}  // namespace

Command add_info_command(CLI::App& vrrl) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* info = vrrl.add_subcommand(
      "info", "Header, records in use, oldest/newest timestamp, file size, writer lock");
  info->footer(
      "--json prints one object with these keys, in this order: log, format_version, flags, multi_producer,\n"
      "capacity, file_size, cursor, next_slot, records_in_use, empty_slots, bad_slots, skipped_live, oldest and\n"
      "newest ({timestamp_ns, slot} or null), locked_by_writer.");
  info->add_option("LOG", options->log, "the log file")->required();
  info->add_flag("--json", options->json, "one JSON object on one line instead of the text report (keys below)");
  info->add_flag("--u64-as-string", options->u64_as_string,
                 "with --json: 64-bit values (timestamps, the cursor) as strings of digits, for jq 1.6");
  return {info, [options] { return run_info(*options); }};
}

}  // namespace vrrl::cli
