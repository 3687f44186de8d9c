// Where the read commands (dump, stats, info, tail without -f, export, diff)
// get their records: a log file, read as a validated snapshot, oldest first.
//
// Safe on a live log: each record is copied and checked against the writer's
// publish protocol before it is handed out; records overwritten or half
// written while the walk passes them are counted (ReadReport::skipped_live),
// never returned. Slots with a foreign magic are counted too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

#include <vrrl/ring_log.hpp>

#include "record_json.hpp"

namespace vrrl::cli {

struct SourceRecord {
  RecordValue value;
  std::uint64_t slot = 0;   // slot index in its log (0 ..< capacity)
  std::string_view stream;  // the stream's name in a recording; empty for a log
};

// What a read met besides the records it delivered.
struct ReadReport {
  std::uint64_t records = 0;                    // delivered to the visitor
  std::uint64_t empty_slots = 0;                // slots never written (magic 0)
  std::uint64_t bad_slots = 0;                  // v1: magic neither 0 nor 0xDEADBEEF; v2: torn or corrupted
  std::optional<std::uint64_t> first_bad_slot;  // the first of them in replay order
  std::uint64_t skipped_live = 0;               // overwritten or being written while read
  std::uint64_t stale_records = 0;              // v2: whole records of an older lap, stepped over
  bool v2 = false;                              // bad slots are commit words that check for no nearby sequence

  [[nodiscard]] bool clean() const noexcept { return bad_slots == 0; }
};

// Called once per record, oldest first; returns false to end the read early.
using RecordVisitor = std::function<bool(const SourceRecord&)>;

class RecordSource {
 public:
  // Throws vrrl::Error when `path` is not a readable log.
  [[nodiscard]] static RecordSource open(const std::filesystem::path& path);

  RecordSource(RecordSource&&) noexcept = default;
  RecordSource& operator=(RecordSource&&) noexcept = default;
  RecordSource(const RecordSource&) = delete;
  RecordSource& operator=(const RecordSource&) = delete;
  ~RecordSource() = default;

  // One pass over the records as they are now. May be called again (a
  // second pass over a live log sees the log as it is then).
  ReadReport read(const RecordVisitor& visit) const;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] const LogReader& log() const noexcept { return log_; }

 private:
  RecordSource(std::filesystem::path path, LogReader log) : path_(std::move(path)), log_(std::move(log)) {}

  std::filesystem::path path_;
  LogReader log_;
};

// Prints what a read skipped to stderr, one line each: bad slots (then
// returns true: the command exits 1), records a live writer overwrote while
// they were read and stale v2 records (notes; neither is a problem).
bool report_skipped(std::string_view command, const ReadReport& report, const std::filesystem::path& path);

}  // namespace vrrl::cli
