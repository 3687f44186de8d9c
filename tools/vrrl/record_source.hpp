// Where the read commands (dump, stats, info, tail without -f, export, diff)
// get their records: a log file, read as a validated snapshot, or a
// recording directory, its streams merged by timestamp; oldest first.
//
// Safe on a live log: each record is copied and checked against the writer's
// publish protocol before it is handed out; records overwritten or half
// written while the walk passes them are counted (ReadReport::skipped_live),
// never returned. Slots with a foreign magic are counted too. A recording's
// segments never wrap, so a live recording reads as a prefix of each stream.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vrrl/recording.hpp>
#include <vrrl/ring_log.hpp>

#include "record_json.hpp"

namespace vrrl::cli {

struct SourceRecord {
  RecordValue value;
  std::uint64_t slot = 0;      // slot index in its log or segment (0 ..< capacity)
  std::uint64_t sequence = 0;  // a recording: the record's position in its stream; a log: 0
  std::string_view stream;     // the stream's name in a recording (valid as long as the source); empty for a log
};

// What a read met besides the records it delivered.
struct ReadReport {
  std::uint64_t records = 0;                    // delivered to the visitor
  std::uint64_t empty_slots = 0;                // slots never written (magic 0)
  std::uint64_t bad_slots = 0;                  // v1: magic neither 0 nor 0xDEADBEEF; v2: torn or corrupted
  std::optional<std::uint64_t> first_bad_slot;  // the first of them in replay order
  std::string first_bad_segment;                // a recording: the segment holding it
  std::uint64_t skipped_live = 0;               // overwritten or being written while read
  std::uint64_t stale_records = 0;              // v2: whole records of an older lap, stepped over
  std::uint64_t beyond_cursor = 0;              // v2: records past the header cursor (a power cut), delivered last
  bool implausible_cursor = false;              // a log's header cursor is >= 2^61 (damage); read from cursor % capacity
  bool v2 = false;                              // bad slots are commit words that check for no nearby sequence
  std::uint64_t lost = 0;                       // a recording: sequences not in it (gaps, removed segments,
                                                // appends a killed writer never completed)

  [[nodiscard]] bool clean() const noexcept { return bad_slots == 0; }
};

// Called once per record, oldest first; returns false to end the read early.
using RecordVisitor = std::function<bool(const SourceRecord&)>;

class RecordSource {
 public:
  // A directory opens as a recording (RecordingReader, reading around the
  // problems it lists), anything else as a log. Throws vrrl::Error.
  [[nodiscard]] static RecordSource open(const std::filesystem::path& path);

  RecordSource(RecordSource&&) noexcept = default;
  RecordSource& operator=(RecordSource&&) noexcept = default;
  RecordSource(const RecordSource&) = delete;
  RecordSource& operator=(const RecordSource&) = delete;
  ~RecordSource() = default;

  // One pass over the records as they are now. May be called again (a
  // second pass over a live log sees the log as it is then). `streams`, when
  // not empty, picks a recording's streams by name; every name must exist
  // (throws vrrl::Error, invalid_name, listing the streams).
  ReadReport read(const RecordVisitor& visit, const std::vector<std::string>& streams = {}) const;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] bool is_recording() const noexcept { return recording_ != nullptr; }
  // Exactly one of these is set.
  [[nodiscard]] const LogReader* log() const noexcept { return log_.get(); }
  [[nodiscard]] const RecordingReader* recording() const noexcept { return recording_.get(); }
  // Slots of the log, or of each segment of the recording.
  [[nodiscard]] std::uint64_t capacity() const noexcept;

 private:
  RecordSource(std::filesystem::path path, std::unique_ptr<LogReader> log,
               std::unique_ptr<RecordingReader> recording) noexcept
      : path_(std::move(path)), log_(std::move(log)), recording_(std::move(recording)) {}

  ReadReport read_log(const RecordVisitor& visit) const;
  ReadReport read_recording(const RecordVisitor& visit, const std::vector<std::string>& streams) const;

  std::filesystem::path path_;
  std::unique_ptr<LogReader> log_;
  std::unique_ptr<RecordingReader> recording_;
};

// Prints what a read skipped to stderr, one line each: bad slots (then
// returns true: the command exits 1), records a live writer overwrote while
// they were read, stale v2 records, v2 records past the cursor and a
// recording's lost sequences (notes;
// none of them is a problem of the read).
bool report_skipped(std::string_view command, const ReadReport& report, const std::filesystem::path& path);

}  // namespace vrrl::cli
