#include "record_source.hpp"

#include <algorithm>
#include <iostream>
#include <system_error>
#include <utility>

#include <vrrl/follower.hpp>

namespace vrrl::cli {

RecordSource RecordSource::open(const std::filesystem::path& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    // Read around what the reader lists as problems: `vrrl verify DIR` names them.
    return {path, nullptr,
            std::make_unique<RecordingReader>(RecordingReader::open(path, Recovery::skip_bad_slots))};
  }
  return {path, std::make_unique<LogReader>(LogReader::open(path)), nullptr};
}

std::uint64_t RecordSource::capacity() const noexcept {
  return log_ ? log_->capacity() : recording_->segment_capacity();
}

ReadReport RecordSource::read(const RecordVisitor& visit, const std::vector<std::string>& streams) const {
  if (log_) {
    if (!streams.empty()) {
      throw Error({.kind = ErrorKind::invalid_name,
                   .operation = "read",
                   .path = path_,
                   .what_is_wrong = "--stream picks streams of a recording directory, and this is a log file",
                   .fix = "leave --stream out for a log, or give the recording's directory",
                   .errno_value = 0,
                   .slot = std::nullopt});
    }
    return read_log(visit);
  }
  return read_recording(visit, streams);
}

ReadReport RecordSource::read_log(const RecordVisitor& visit) const {
  // The one place a log is walked; every read command goes through here.
  bool visiting = true;  // read_snapshot walks the whole ring; after a stop, the rest is only counted
  std::uint64_t delivered = 0;
  const SnapshotReport snapshot = read_snapshot(
      *log_, Recovery::skip_bad_slots,
      [&](std::uint64_t slot_index, const RecordedSlot& slot, const FailureEvidence& evidence) {
        if (!visiting) return;
        ++delivered;
        visiting = visit(SourceRecord{RecordValue{slot, evidence}, slot_index, 0, {}});
      });
  ReadReport report;
  report.records = visiting ? snapshot.records : delivered;
  report.empty_slots = snapshot.empty_slots;
  report.bad_slots = snapshot.bad_slots.size();
  if (!snapshot.bad_slots.empty()) report.first_bad_slot = snapshot.bad_slots.front();
  report.skipped_live = snapshot.overwritten;
  report.stale_records = snapshot.stale_records;
  report.beyond_cursor = snapshot.beyond_cursor;
  report.implausible_cursor = snapshot.implausible_cursor;
  report.v2 = log_->format() == Format::v2;
  return report;
}

ReadReport RecordSource::read_recording(const RecordVisitor& visit, const std::vector<std::string>& streams) const {
  const std::vector<std::string> names = recording_->streams();
  for (const std::string& wanted : streams) {
    if (std::find(names.begin(), names.end(), wanted) != names.end()) continue;
    std::string known;
    for (const std::string& name : names) known += (known.empty() ? "" : ", ") + name;
    throw Error({.kind = ErrorKind::invalid_name,
                 .operation = "read",
                 .path = path_,
                 .what_is_wrong = "the recording has no stream `" + wanted + "`; its streams are " +
                                  (known.empty() ? std::string("none yet") : known),
                 .fix = "pick one of those with --stream (or leave --stream out for all of them)",
                 .errno_value = 0,
                 .slot = std::nullopt});
  }
  // One stream: its own replay; several: the merge, filtered.
  RecordingReplay replay = streams.size() == 1 ? recording_->replay(streams.front()) : recording_->replay();
  const std::uint64_t capacity = recording_->segment_capacity();
  ReadReport report;
  for (auto it = replay.begin(); it != replay.end(); ++it) {
    const StreamRecord record = *it;
    if (streams.size() > 1 && std::find(streams.begin(), streams.end(), record.stream_name) == streams.end()) {
      continue;
    }
    ++report.records;
    if (!visit(SourceRecord{copy_record(record.record), record.sequence % capacity, record.sequence,
                            record.stream_name})) {
      break;
    }
  }
  const RecordingReport& walked = replay.report();
  report.bad_slots = walked.bad_slots.size();
  if (!walked.bad_slots.empty()) {
    report.first_bad_slot = walked.bad_slots.front().slot;
    report.first_bad_segment = walked.bad_slots.front().segment.string();
  }
  report.lost = walked.lost;
  return report;
}

bool report_skipped(std::string_view command, const ReadReport& report, const std::filesystem::path& path) {
  if (report.implausible_cursor) {
    std::cout.flush();
    std::cerr << "vrrl " << command << ": note: the header cursor is implausible (at or above 2^61): the header "
              << "is damaged, so the records were read in slot order from cursor % capacity, as a writer reopening "
              << "the log would count them. `vrrl verify " << path.string() << "` reports it\n";
  }
  if (report.bad_slots == 0 && report.skipped_live == 0 && report.stale_records == 0 && report.beyond_cursor == 0 &&
      report.lost == 0) {
    return false;
  }
  std::cout.flush();  // keep stdout and stderr in order at a terminal
  if (report.skipped_live != 0) {
    std::cerr << "vrrl " << command << ": note: " << report.skipped_live
              << " record(s) were being overwritten by a writer while they were read and were left out; this is a "
                 "snapshot of a moving log\n";
  }
  if (report.stale_records != 0) {
    std::cerr << "vrrl " << command << ": note: " << report.stale_records
              << " record(s) of an older lap were stepped over (a v2 log keeps them only after a power cut)\n";
  }
  if (report.beyond_cursor != 0) {
    std::cerr << "vrrl " << command << ": note: " << report.beyond_cursor
              << " record(s) past the header cursor (written after the header reached the disk, before a power cut) "
                 "were read last, in sequence order; a writer that opens the log clears them\n";
  }
  if (report.lost != 0) {
    std::cerr << "vrrl " << command << ": note: " << report.lost
              << " sequence(s) of the recording's streams are not in it (segments missing or removed by retention, "
                 "appends a killed writer never completed, or, in a recording vrrl pull rebuilt, records lost "
                 "before they were shipped); `vrrl verify "
              << path.string() << "` names them\n";
  }
  if (report.bad_slots != 0) {
    std::cerr << "vrrl " << command << ": skipped " << report.bad_slots
              << (report.v2 ? " slot(s) whose commit word checks for no nearby sequence (torn or corrupted)"
                            : " slot(s) with a foreign record magic")
              << " (first: slot " << report.first_bad_slot.value_or(0)
              << (report.first_bad_segment.empty() ? "" : " of " + report.first_bad_segment) << "). Fix: "
              << (report.v2 ? "run `vrrl verify " + path.string() +
                                  "` to list them as torn (being written at a power cut) or corrupted (changed after a "
                                  "sync); their records are lost unless a copy of the log has them.\n"
                            : "run `vrrl verify " + path.string() + "` to list them.\n");
  }
  return report.bad_slots != 0;
}

}  // namespace vrrl::cli
