#include "record_source.hpp"

#include <iostream>
#include <utility>

#include <vrrl/follower.hpp>

namespace vrrl::cli {

RecordSource RecordSource::open(const std::filesystem::path& path) { return {path, LogReader::open(path)}; }

ReadReport RecordSource::read(const RecordVisitor& visit) const {
  // The one place a log is walked; every read command goes through here.
  bool visiting = true;  // read_snapshot walks the whole ring; after a stop, the rest is only counted
  std::uint64_t delivered = 0;
  const SnapshotReport snapshot = read_snapshot(
      log_, Recovery::skip_bad_slots,
      [&](std::uint64_t slot_index, const RecordedSlot& slot, const FailureEvidence& evidence) {
        if (!visiting) return;
        ++delivered;
        visiting = visit(SourceRecord{RecordValue{slot, evidence}, slot_index, {}});
      });
  ReadReport report;
  report.records = visiting ? snapshot.records : delivered;
  report.empty_slots = snapshot.empty_slots;
  report.bad_slots = snapshot.bad_slots.size();
  if (!snapshot.bad_slots.empty()) report.first_bad_slot = snapshot.bad_slots.front();
  report.skipped_live = snapshot.overwritten;
  report.stale_records = snapshot.stale_records;
  report.v2 = log_.format() == Format::v2;
  return report;
}

bool report_skipped(std::string_view command, const ReadReport& report, const std::filesystem::path& path) {
  if (report.bad_slots == 0 && report.skipped_live == 0 && report.stale_records == 0) return false;
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
  if (report.bad_slots != 0) {
    std::cerr << "vrrl " << command << ": skipped " << report.bad_slots
              << (report.v2 ? " slot(s) whose commit word checks for no nearby sequence (torn or corrupted)"
                            : " slot(s) with a foreign record magic")
              << " (first: slot " << report.first_bad_slot.value_or(0)
              << "). Fix: "
              << (report.v2 ? "those records are lost (verify does not check v2 logs yet); restore the log from a "
                              "copy if you need them.\n"
                            : "run `vrrl verify " + path.string() + "` to list them.\n");
  }
  return report.bad_slots != 0;
}

}  // namespace vrrl::cli
