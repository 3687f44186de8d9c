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

#include "bad_slot_warning.hpp"
#include "command.hpp"

namespace vrrl::cli {
namespace {

struct InfoOptions {
  std::filesystem::path log;
};

struct RecordStamp {
  std::uint64_t timestamp_ns;
  std::uint64_t slot;
};

void row(std::string_view name, const std::string& value) {
  std::cout << std::left << std::setw(18) << name << value << '\n';
}

int run_info(const InfoOptions& options) {
  const LogReader reader = LogReader::open(options.log);
  // Probe before walking, so "locked" describes the moment the numbers were read.
  const bool locked = is_locked_by_writer(options.log);
  const std::uint64_t appended = reader.appended();

  std::optional<RecordStamp> oldest;
  std::optional<RecordStamp> newest;
  ReplayRange replay = reader.replay(Recovery::skip_bad_slots);
  for (auto it = replay.begin(); it != replay.end(); ++it) {
    const RecordStamp stamp{(*it).timestamp_ns(), it.slot_index()};
    if (!oldest) oldest = stamp;
    newest = stamp;
  }
  const ReplayReport& report = replay.report();

  const auto version = wire::load_le<std::uint32_t>(reader.data() + format::header_offset::version);
  char flags[11];
  std::snprintf(flags, sizeof flags, "0x%08X", reader.flags());
  const auto stamp_text = [](const std::optional<RecordStamp>& stamp) {
    return stamp ? std::to_string(stamp->timestamp_ns) + " ns (slot " + std::to_string(stamp->slot) + ")"
                 : std::string("-");
  };

  row("log", options.log.string());
  row("format", "VRRL v" + std::to_string(version));
  row("flags", flags);
  row("capacity", std::to_string(reader.capacity()) + " slots");
  row("file size", std::to_string(reader.file_size()) + " bytes");
  row("cursor", std::to_string(appended) + " (next slot " + std::to_string(appended % reader.capacity()) + ")");
  row("records in use", std::to_string(report.records));
  row("empty slots", std::to_string(report.empty_slots));
  if (!report.clean()) row("bad slots", std::to_string(report.bad_slots.size()) + " (see `vrrl verify`)");
  row("oldest timestamp", stamp_text(oldest));
  row("newest timestamp", stamp_text(newest));
  row("locked by writer", locked ? "yes" : "no");
  warn_about_bad_slots("info", report, options.log);
  return exit_ok;
}

}  // namespace

Command add_info_command(CLI::App& vrrl) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* info = vrrl.add_subcommand(
      "info", "Header, records in use, oldest/newest timestamp, file size, writer lock");
  info->add_option("LOG", options->log, "the log file")->required();
  return {info, [options] { return run_info(*options); }};
}

}  // namespace vrrl::cli
