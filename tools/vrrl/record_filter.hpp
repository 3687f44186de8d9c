// The record selection shared by dump, tail, stats and export: --stream (a
// recording's streams), --tenant, --opcode, --epoch (each: several values,
// decimal or 0x-hex), --failed, and --since/--until (a time range; dump,
// stats and export only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "option_values.hpp"
#include "record_json.hpp"

namespace vrrl::cli {

// The options as CLI11 fills them in (validated text), converted by RecordFilter.
struct FilterOptions {
  std::vector<std::string> tenants;
  std::vector<std::string> opcodes;
  std::vector<std::string> epochs;
  std::vector<std::string> streams;  // a recording's streams, by name (RecordSource::read applies them)
  bool failed_only = false;
  std::string since;  // empty: no bound
  std::string until;
};

enum class TimeRange { offered, not_offered };

// Registers the options on `command`, in the "Selecting records" group.
void add_filter_options(CLI::App& command, FilterOptions& options, TimeRange time_range);

// The --stream names, comma lists split, in the order given, without repeats.
[[nodiscard]] std::vector<std::string> stream_names(const FilterOptions& options);

// Whether a record is selected. Feed records oldest first: the first record
// seen anchors relative times (--since +1.5ms); use a new filter per pass.
class RecordFilter {
 public:
  explicit RecordFilter(const FilterOptions& options);

  [[nodiscard]] bool matches(const RecordValue& record);

 private:
  std::vector<std::uint32_t> tenants_;  // empty: any
  std::vector<std::uint32_t> opcodes_;
  std::vector<std::uint32_t> epochs_;
  bool failed_only_;
  std::optional<TimePoint> since_;
  std::optional<TimePoint> until_;
  std::optional<std::uint64_t> first_timestamp_;  // of the first record seen
};

}  // namespace vrrl::cli
