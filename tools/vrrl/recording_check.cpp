#include "recording_check.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include <vrrl/format.hpp>

#include <vrrl/recording.hpp>

namespace vrrl::cli {
namespace {

bool is_segment_name(const std::string& name) {
  constexpr std::size_t digits = 20;
  return name.size() == digits + 5 && name.compare(digits, 5, ".vrrl") == 0 &&
         name.find_first_not_of("0123456789") == digits;
}

// Whether `path` starts with VRRL0002: a v2 log where a v1 segment belongs.
bool is_v2_log(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::array<char, format::log_magic_v2.size()> magic{};
  return file.read(magic.data(), magic.size()) && magic == format::log_magic_v2;
}

void problem(RecordingCheck& check, std::string message) {
  check.findings.push_back({Finding::Severity::problem, std::nullopt, std::move(message)});
  ++check.problems;
}

void note(RecordingCheck& check, std::string message) {
  check.findings.push_back({Finding::Severity::note, std::nullopt, std::move(message)});
}

// A segment's header cursor is its stream's running count, at or above its
// capacity in every segment after the first: not worth a note each time.
void drop_running_count_notes(LogCheck& check) {
  std::erase_if(check.findings, [](const Finding& finding) {
    return finding.severity == Finding::Severity::note && !finding.slot &&
           finding.message.find(": a running count of appends") != std::string::npos;
  });
}

// In a segment, empty slots between records are appends that never
// completed or sequences a copying writer skipped (vrrl pull), and come in
// runs: one note per run of consecutive slots instead of one per slot.
void merge_empty_slot_notes(LogCheck& check) {
  constexpr std::string_view empty_slot = "empty slot between records";
  std::vector<Finding> merged;
  std::uint64_t run_end = 0;  // the last slot of the run merged.back() stands for
  std::uint64_t run_first = 0;
  const auto close_run = [&] {
    if (!merged.empty() && run_end != run_first) {
      merged.back().message = "empty slots " + std::to_string(run_first) + ".." + std::to_string(run_end) +
                              " between records (" + std::to_string(run_end - run_first + 1) +
                              " appends that never completed, or sequences skipped)";
    }
  };
  bool in_run = false;
  for (Finding& finding : check.findings) {
    const bool empty = finding.severity == Finding::Severity::note && finding.slot &&
                       finding.message.starts_with(empty_slot);
    if (empty && in_run && *finding.slot == run_end + 1) {
      run_end = *finding.slot;
      continue;
    }
    if (in_run) close_run();
    in_run = empty;
    if (empty) run_first = run_end = *finding.slot;
    merged.push_back(std::move(finding));
  }
  if (in_run) close_run();
  check.findings = std::move(merged);
}

}  // namespace

RecordingCheck check_recording(const std::filesystem::path& dir) {
  RecordingCheck check;
  try {
    const RecordingReader reader = RecordingReader::open(dir, Recovery::skip_bad_slots);
    check.is_recording = true;
    check.streams = reader.stream_info().size();
    const RecordingProblems& found = reader.problems();
    for (const auto& path : found.foreign_files) {
      problem(check, "`" + path.string() + "` is neither a segment nor a stream directory (a foreign file)");
    }
    for (const auto& path : found.damaged_segments) {
      if (is_v2_log(path)) {
        problem(check, "`" + path.string() + "` is a VRRL v2 log: recordings hold v1 segments (segment-format v1), so "
                       "the readers skip it; move it out of the stream directory and read it on its own");
      } else {
        problem(check, "`" + path.string() + "` is a damaged segment (bad header, or a cursor that does not fit its name)");
      }
    }
    for (const StreamGap& gap : found.gaps) {
      problem(check, "stream " + gap.stream + ": sequences " + std::to_string(gap.first) + ".." +
                         std::to_string(gap.end - 1) + " are missing (a segment between two others is gone)");
    }
    for (const StreamInfo& stream : reader.stream_info()) {
      if (stream.dropped != 0) {
        note(check, "stream " + stream.name + ": its writers dropped " + std::to_string(stream.dropped) +
                        " appends (no segment was ready; they were never stored)");
      }
      // Slots below a segment's cursor that hold no record: one per append a
      // killed writer never completed, or sequences a copying writer skipped
      // (StreamWriter::skip). Readers count them as lost.
      // The same walk checks the stream's own time order where one segment
      // ends and the next begins (each segment's check covers its inside):
      // the merge trusts every stream's timestamps not to go backwards.
      RecordingReplay replay = reader.replay(stream.name);
      const std::uint64_t capacity = reader.segment_capacity();
      std::optional<std::pair<std::uint64_t, std::uint64_t>> previous;  // (timestamp_ns, sequence)
      for (const StreamRecord& record : replay) {
        const std::uint64_t timestamp = record.record.timestamp_ns();
        if (previous && timestamp < previous->first && record.sequence / capacity != previous->second / capacity) {
          problem(check, "stream " + stream.name + ": timestamp " + std::to_string(timestamp) + " ns at sequence " +
                             std::to_string(record.sequence) + " goes backwards from " +
                             std::to_string(previous->first) + " ns at sequence " +
                             std::to_string(previous->second) +
                             " (across a segment boundary): the merge by timestamp needs each stream's timestamps "
                             "in order; give every stream's writer one clock");
        }
        previous.emplace(timestamp, record.sequence);
      }
      if (const std::uint64_t empty = replay.report().incomplete; empty != 0) {
        note(check, "stream " + stream.name + ": " + std::to_string(empty) +
                        " sequences hold no record (appends that never completed, or, in a recording vrrl pull "
                        "rebuilt, records lost before they were shipped); readers count them as lost");
      }
    }
  } catch (const Error& e) {
    problem(check, e.what());
    return check;
  }

  std::error_code error;
  std::vector<std::filesystem::path> segments;
  for (const auto& stream : std::filesystem::directory_iterator(dir, error)) {
    const std::string stream_name = stream.path().filename().string();
    if (stream_name.starts_with('.') || !stream.is_directory(error)) continue;
    for (const auto& file : std::filesystem::directory_iterator(stream.path(), error)) {
      if (is_segment_name(file.path().filename().string())) segments.push_back(file.path());
    }
  }
  std::sort(segments.begin(), segments.end());
  for (const auto& path : segments) {
    SegmentCheck segment{path.lexically_relative(dir), LogCheck{}};
    try {
      segment.check = check_log(path);
    } catch (const Error& e) {
      // Retention may have removed it since the listing; anything else is a problem.
      if (e.errno_value() == ENOENT) continue;
      segment.check.findings.push_back({Finding::Severity::problem, std::nullopt, e.what()});
      ++segment.check.problems;
    }
    drop_running_count_notes(segment.check);
    merge_empty_slot_notes(segment.check);
    check.problems += segment.check.problems;
    check.segments.push_back(std::move(segment));
  }
  return check;
}

}  // namespace vrrl::cli
