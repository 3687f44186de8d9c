// A recording directory (PLAN.md, "Recording directory") as RecordSources:
// one per stream directory, each reading its segments in sequence order with
// one vrrl::Follower on the segment that holds the next sequence.
//
//   RUN/vrrl-recording.txt          "vrrl-recording 1", "segment-format v1", "segment-capacity C", ...
//   RUN/<stream>/<20 digits>.vrrl   a segment: a v1 log whose cursor is the stream's running count,
//                                   first sequence F = k * C in its name, holding [F, cursor)
//
// Sequences continue across segments; a sequence no segment holds any more
// (deleted by retention before it was shipped, or a segment missing between
// two others) is reported lost. Until vrrl::RecordingReader lands in the
// library, this reads the layout itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <vrrl/follower.hpp>
#include <vrrl/ring_log.hpp>

#include "record_source.hpp"

namespace vrrl::ship {

// What vrrl-recording.txt says, checked. Throws ship::Failure.
struct RecordingLayout {
  std::uint64_t segment_capacity = 0;
};
[[nodiscard]] RecordingLayout read_recording_layout(const std::filesystem::path& recording);

// The stream directories of a recording, by name (dot entries and other names skipped).
[[nodiscard]] std::vector<std::string> recording_streams(const std::filesystem::path& recording);

class RecordingStreamSource final : public RecordSource {
 public:
  RecordingStreamSource(std::filesystem::path stream_directory, std::string name, std::uint64_t segment_capacity,
                        std::uint64_t start);

  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] std::uint32_t capacity() const noexcept override { return static_cast<std::uint32_t>(capacity_); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept override { return directory_; }
  void poll(RecordSink& sink, std::size_t max_records) override;
  [[nodiscard]] std::uint64_t position() const noexcept override { return position_; }
  void seek(std::uint64_t sequence) override;
  [[nodiscard]] std::uint64_t end() override;

 private:
  struct Open {
    Open(std::uint64_t first_sequence, LogReader segment, std::uint64_t start)
        : first(first_sequence), reader(std::move(segment)), follower(reader, start) {}
    std::uint64_t first;
    LogReader reader;   // declared before the Follower that points into it
    Follower follower;
  };

  // The segments present now, by first sequence. Throws on a misnamed one.
  [[nodiscard]] std::map<std::uint64_t, std::filesystem::path> segments() const;
  // Opens the segment holding position_, reporting the sequences no segment
  // holds as lost; false when the next segment does not exist yet.
  bool open_next(RecordSink& sink);

  const std::filesystem::path directory_;
  const std::string name_;
  const std::uint64_t capacity_;
  std::uint64_t position_;
  std::unique_ptr<Open> current_;
};

}  // namespace vrrl::ship
