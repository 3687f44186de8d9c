// Printing records for people and programs: the jsonl, csv and table formats
// of `vrrl dump` and `vrrl tail`.
#pragma once

#include <array>
#include <cstddef>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "record_json.hpp"

namespace vrrl::cli {

enum class OutputFormat { jsonl, csv, table };

// The names the --format options accept: "jsonl", "csv", "table".
[[nodiscard]] const std::vector<std::string>& output_format_names();
// The format for one of those names (anything else reads as jsonl).
[[nodiscard]] OutputFormat output_format_named(const std::string& name);

// Writes records one per line in one format. csv starts with a header row.
// table right-aligns numbers in columns at least as wide as the records given
// to the constructor need (later, wider records push their row out rather than
// reflow what was already printed, which is what `tail -f` needs).
class RecordPrinter {
 public:
  RecordPrinter(std::ostream& out, OutputFormat format, std::span<const RecordValue> width_sample = {});
  RecordPrinter(const RecordPrinter&) = delete;
  RecordPrinter& operator=(const RecordPrinter&) = delete;

  // The csv header row or the table's column titles; nothing for jsonl.
  void print_header();
  void print(const RecordValue& record);

 private:
  static constexpr std::size_t column_count = 9;  // timestamp .. epoch; "failure" is last and unpadded
  void print_table_row(const RecordValue& record);

  std::ostream& out_;
  const OutputFormat format_;
  std::array<std::size_t, column_count> widths_{};
  std::string line_;  // reused per record
};

}  // namespace vrrl::cli
