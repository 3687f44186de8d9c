// The checks behind `vrrl verify DIR` for a recording directory: what
// RecordingReader finds at open (foreign files, damaged segments, gaps between
// segments), then check_log() on every segment, each one an ordinary log.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "log_check.hpp"

namespace vrrl::cli {

struct SegmentCheck {
  std::filesystem::path segment;  // relative to the recording: STREAM/NNNNNNNNNNNNNNNNNNNN.vrrl
  LogCheck check;
};

struct RecordingCheck {
  bool is_recording = false;      // the metadata could be read; otherwise `findings` says why not
  std::vector<Finding> findings;  // about the recording as a whole (slot is empty)
  std::vector<SegmentCheck> segments;
  std::uint64_t streams = 0;
  std::uint64_t problems = 0;     // the recording's and every segment's

  [[nodiscard]] bool clean() const noexcept { return problems == 0; }
};

// Throws nothing for a damaged recording: every fault is a finding.
[[nodiscard]] RecordingCheck check_recording(const std::filesystem::path& dir);

}  // namespace vrrl::cli
