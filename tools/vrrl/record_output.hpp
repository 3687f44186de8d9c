// Printing records for people and programs: the jsonl, csv and table formats
// of `vrrl dump` and `vrrl tail`, with a leading stream column for records of
// a recording.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "record_json.hpp"

namespace vrrl::cli {

enum class OutputFormat { jsonl, csv, table };
// How csv and table show timestamp_ns (jsonl always keeps the exact number).
enum class TimeFormat { ns, iso, relative };

// The names the --format and --time options accept.
[[nodiscard]] const std::vector<std::string>& output_format_names();  // jsonl, csv, table
[[nodiscard]] const std::vector<std::string>& time_format_names();    // ns, iso, relative
// The value for one of those names (anything else reads as the first).
[[nodiscard]] OutputFormat output_format_named(const std::string& name);
[[nodiscard]] TimeFormat time_format_named(const std::string& name);

struct PrintOptions {
  OutputFormat format = OutputFormat::jsonl;
  TimeFormat time = TimeFormat::ns;
  std::uint64_t time_origin_ns = 0;  // TimeFormat::relative counts from here (the first record)
  Wide64 wide = Wide64::as_number;   // jsonl: 64-bit fields as numbers or strings
  // A recording: a first column (key) "stream"; for the table, at least this
  // wide (its longest stream name). 0: a log, no stream column.
  std::size_t stream_width = 0;
};

// Writes records one per line in one format. csv starts with a header row.
// table right-aligns numbers in columns at least as wide as the records given
// to the constructor need (later, wider records push their row out rather than
// reflow what was already printed, which is what `tail -f` needs).
class RecordPrinter {
 public:
  RecordPrinter(std::ostream& out, const PrintOptions& options, std::span<const RecordValue> width_sample = {});
  RecordPrinter(const RecordPrinter&) = delete;
  RecordPrinter& operator=(const RecordPrinter&) = delete;

  // The csv header row or the table's column titles; nothing for jsonl.
  void print_header();
  // `stream` is printed when PrintOptions::stream_width is not 0.
  void print(const RecordValue& record, std::string_view stream = {});

 private:
  static constexpr std::size_t column_count = 9;  // time .. epoch; "failure" is last and unpadded
  void append_time(const RecordValue& record);
  void print_table_row(const RecordValue& record, std::string_view stream);

  std::ostream& out_;
  const PrintOptions options_;
  std::array<std::size_t, column_count> widths_{};
  std::string line_;  // reused per record
};

}  // namespace vrrl::cli
