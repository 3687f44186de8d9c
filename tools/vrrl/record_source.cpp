#include "record_source.hpp"

#include <iostream>
#include <utility>

namespace vrrl::cli {

RecordSource RecordSource::open(const std::filesystem::path& path) { return {path, LogReader::open(path)}; }

ReadReport RecordSource::read(const RecordVisitor& visit) const {
  // The one place a log is walked; every read command goes through here.
  ReadReport report;
  ReplayRange replay = log_.replay(Recovery::skip_bad_slots);
  for (auto it = replay.begin(); it != replay.end(); ++it) {
    ++report.records;
    if (!visit(SourceRecord{copy_record(*it), it.slot_index(), {}})) break;
  }
  const ReplayReport& walked = replay.report();
  report.empty_slots = walked.empty_slots;
  report.bad_slots = walked.bad_slots.size();
  if (!walked.bad_slots.empty()) report.first_bad_slot = walked.bad_slots.front();
  return report;
}

bool report_skipped(std::string_view command, const ReadReport& report, const std::filesystem::path& path) {
  if (report.bad_slots == 0 && report.skipped_live == 0) return false;
  std::cout.flush();  // keep stdout and stderr in order at a terminal
  if (report.skipped_live != 0) {
    std::cerr << "vrrl " << command << ": note: " << report.skipped_live
              << " record(s) were being overwritten by a writer while they were read and were left out; this is a "
                 "snapshot of a moving log\n";
  }
  if (report.bad_slots != 0) {
    std::cerr << "vrrl " << command << ": skipped " << report.bad_slots
              << " slot(s) with a foreign record magic (first: slot " << report.first_bad_slot.value_or(0)
              << "). Fix: run `vrrl verify " << path.string() << "` to list them.\n";
  }
  return report.bad_slots != 0;
}

}  // namespace vrrl::cli
