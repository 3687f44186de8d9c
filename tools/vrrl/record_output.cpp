#include "record_output.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>

namespace vrrl::cli {
namespace {

constexpr std::array<std::string_view, 9> table_titles{"timestamp_ns", "slot_idx", "tenant_id", "opcode", "arg0",
                                                       "arg1",         "arg2",     "arg3",      "epoch"};

std::array<std::uint64_t, 9> table_numbers(const RecordedSlot& slot) {
  return {slot.timestamp_ns, slot.slot_idx, slot.tenant_id, slot.opcode, slot.args[0],
          slot.args[1],      slot.args[2],  slot.args[3],   slot.epoch};
}

std::string_view to_text(std::uint64_t value, std::array<char, 20>& buffer) {
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return {buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data())};
}

std::size_t digit_count(std::uint64_t value) {
  std::array<char, 20> buffer;
  return to_text(value, buffer).size();
}

void append_number(std::string& out, std::uint64_t value) {
  std::array<char, 20> buffer;
  out += to_text(value, buffer);
}

}  // namespace

const std::vector<std::string>& output_format_names() {
  static const std::vector<std::string> names{"jsonl", "csv", "table"};
  return names;
}

OutputFormat output_format_named(const std::string& name) {
  if (name == "csv") return OutputFormat::csv;
  if (name == "table") return OutputFormat::table;
  return OutputFormat::jsonl;
}

RecordPrinter::RecordPrinter(std::ostream& out, OutputFormat format, std::span<const RecordValue> width_sample)
    : out_(out), format_(format) {
  for (std::size_t column = 0; column < column_count; ++column) widths_[column] = table_titles[column].size();
  if (format_ != OutputFormat::table) return;
  for (const RecordValue& record : width_sample) {
    const auto numbers = table_numbers(record.slot);
    for (std::size_t column = 0; column < column_count; ++column) {
      widths_[column] = std::max(widths_[column], digit_count(numbers[column]));
    }
  }
}

void RecordPrinter::print_header() {
  switch (format_) {
    case OutputFormat::jsonl:
      return;
    case OutputFormat::csv:
      out_ << "timestamp_ns,slot_idx,tenant_id,opcode,arg0,arg1,arg2,arg3,epoch,"
              "slot_status,failure_class,backend_code,output_digest\n";
      return;
    case OutputFormat::table:
      line_.clear();
      for (std::size_t column = 0; column < column_count; ++column) {
        line_.append(widths_[column] - table_titles[column].size(), ' ');
        line_ += table_titles[column];
        line_ += "  ";
      }
      line_ += "failure\n";
      out_ << line_;
      return;
  }
}

void RecordPrinter::print(const RecordValue& record) {
  line_.clear();
  switch (format_) {
    case OutputFormat::jsonl:
      append_jsonl(line_, record);
      line_ += '\n';
      break;
    case OutputFormat::csv: {
      // Every column always: all-zero failure fields ("none") mean no evidence.
      // Nothing needs quoting: numbers and five fixed lower-case names.
      for (std::uint64_t value : table_numbers(record.slot)) {
        append_number(line_, value);
        line_ += ',';
      }
      const FailureEvidence& failure = record.failure;
      append_number(line_, failure.slot_status);
      line_ += ',';
      line_ += to_string(failure.failure_class);
      line_ += ',';
      append_number(line_, failure.backend_code);
      line_ += ',';
      append_number(line_, failure.output_digest);
      line_ += '\n';
      break;
    }
    case OutputFormat::table:
      print_table_row(record);
      break;
  }
  out_ << line_;
}

void RecordPrinter::print_table_row(const RecordValue& record) {
  const auto numbers = table_numbers(record.slot);
  for (std::size_t column = 0; column < column_count; ++column) {
    std::array<char, 20> buffer;
    const std::string_view text = to_text(numbers[column], buffer);
    if (text.size() < widths_[column]) line_.append(widths_[column] - text.size(), ' ');
    line_ += text;
    line_ += "  ";
  }
  const FailureEvidence& failure = record.failure;
  if (failure.present()) {
    line_ += to_string(failure.failure_class);
    line_ += " status=";
    append_number(line_, failure.slot_status);
    line_ += " backend=";
    append_number(line_, failure.backend_code);
    line_ += " digest=";
    append_number(line_, failure.output_digest);
  } else {
    line_ += '-';
  }
  line_ += '\n';
}

}  // namespace vrrl::cli
