// vrrl info LOG|DIR: what the header says and what the slots hold, at a
// glance; for a recording directory, its streams.
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

struct StreamStamp {
  std::uint64_t timestamp_ns;
  std::string stream;
  std::uint64_t sequence;
};

// A recording directory: its streams and what they hold.
int recording_info(const InfoOptions& options, const RecordSource& source) {
  const RecordingReader& recording = *source.recording();
  std::optional<StreamStamp> oldest;
  std::optional<StreamStamp> newest;
  const ReadReport report = source.read([&](const SourceRecord& record) {
    StreamStamp stamp{record.value.slot.timestamp_ns, std::string(record.stream), record.sequence};
    if (!oldest) oldest = stamp;
    newest = std::move(stamp);
    return true;
  });
  const RecordingProblems& problems = recording.problems();
  const std::size_t problem_count =
      problems.foreign_files.size() + problems.damaged_segments.size() + problems.gaps.size();

  if (options.json) {
    const Wide64 wide = options.u64_as_string ? Wide64::as_string : Wide64::as_number;
    const auto stamp_json = [&](const std::optional<StreamStamp>& stamp) {
      return stamp ? JsonObject{{"timestamp_ns", json_u64(stamp->timestamp_ns, wide)},
                                {"stream", stamp->stream},
                                {"sequence", json_u64(stamp->sequence, wide)}}
                   : JsonObject();
    };
    JsonObject streams = JsonObject::array();
    for (const StreamInfo& stream : recording.stream_info()) {
      streams.push_back({{"name", stream.name},
                         {"segments", stream.segments},
                         {"first_sequence", json_u64(stream.first_sequence, wide)},
                         {"end_sequence", json_u64(stream.end_sequence, wide)},
                         {"dropped", json_u64(stream.dropped, wide)}});
    }
    JsonObject paths = JsonObject::array();
    for (const auto& path : problems.foreign_files) paths.push_back(path.string());
    JsonObject damaged = JsonObject::array();
    for (const auto& path : problems.damaged_segments) damaged.push_back(path.string());
    JsonObject gaps = JsonObject::array();
    for (const StreamGap& gap : problems.gaps) {
      gaps.push_back({{"stream", gap.stream}, {"first", json_u64(gap.first, wide)}, {"end", json_u64(gap.end, wide)}});
    }
    JsonObject out;
    out["recording"] = options.log.string();
    out["segment_capacity"] = recording.segment_capacity();
    out["streams"] = streams;
    out["records"] = report.records;
    out["lost"] = json_u64(report.lost, wide);
    out["bad_slots"] = report.bad_slots;
    out["oldest"] = stamp_json(oldest);
    out["newest"] = stamp_json(newest);
    out["problems"] = {{"foreign_files", paths}, {"damaged_segments", damaged}, {"gaps", gaps}};
    print_json(out);
    report_skipped("info", report, options.log);
    return exit_ok;
  }

  const auto stamp_text = [](const std::optional<StreamStamp>& stamp) {
    return stamp ? std::to_string(stamp->timestamp_ns) + " ns (" + stamp->stream + ", sequence " +
                       std::to_string(stamp->sequence) + ")"
                 : std::string("-");
  };
  row("recording", options.log.string());
  row("streams", std::to_string(recording.stream_info().size()));
  row("segment capacity", std::to_string(recording.segment_capacity()) + " slots");
  row("records", std::to_string(report.records));
  if (report.lost != 0) row("lost sequences", std::to_string(report.lost));
  row("oldest timestamp", stamp_text(oldest));
  row("newest timestamp", stamp_text(newest));
  row("problems", problem_count == 0 ? std::string("none")
                                     : std::to_string(problem_count) + " (see `vrrl verify " + options.log.string() +
                                           "`)");
  if (!recording.stream_info().empty()) {
    char line[256];
    std::snprintf(line, sizeof line, "\n%-24s %9s %20s %20s %10s\n", "stream", "segments", "first_sequence",
                  "end_sequence", "dropped");
    std::cout << line;
    for (const StreamInfo& stream : recording.stream_info()) {
      std::snprintf(line, sizeof line, "%-24s %9llu %20llu %20llu %10llu\n", stream.name.c_str(),
                    static_cast<unsigned long long>(stream.segments),
                    static_cast<unsigned long long>(stream.first_sequence),
                    static_cast<unsigned long long>(stream.end_sequence),
                    static_cast<unsigned long long>(stream.dropped));
      std::cout << line;
    }
  }
  report_skipped("info", report, options.log);
  return exit_ok;
}

int run_info(const InfoOptions& options) {
  if (options.u64_as_string && !options.json) throw UsageError("--u64-as-string applies to --json output only");
  const RecordSource source = RecordSource::open(options.log);
  if (source.is_recording()) return recording_info(options, source);
  const LogReader& reader = *source.log();
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
      "newest ({timestamp_ns, slot} or null), locked_by_writer. For a recording directory: recording,\n"
      "segment_capacity, streams [{name, segments, first_sequence, end_sequence, dropped}], records, lost,\n"
      "bad_slots, oldest and newest ({timestamp_ns, stream, sequence} or null), problems {foreign_files,\n"
      "damaged_segments, gaps [{stream, first, end}]}.");
  info->add_option("LOG", options->log, "the log file, or a recording directory")->required();
  info->add_flag("--json", options->json, "one JSON object on one line instead of the text report (keys below)");
  info->add_flag("--u64-as-string", options->u64_as_string,
                 "with --json: 64-bit values (timestamps, the cursor) as strings of digits, for jq 1.6");
  return {info, [options] { return run_info(*options); }};
}

}  // namespace vrrl::cli
