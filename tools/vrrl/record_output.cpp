#include "record_output.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>

#include "time_text.hpp"

namespace vrrl::cli {
namespace {

constexpr std::array<std::string_view, 8> number_titles{"slot_idx", "tenant_id", "opcode", "arg0",
                                                        "arg1",     "arg2",      "arg3",   "epoch"};

std::string_view time_title(TimeFormat time) {
  switch (time) {
    case TimeFormat::ns: return "timestamp_ns";
    case TimeFormat::iso: return "time_utc";
    case TimeFormat::relative: return "since_first_s";
  }
  return "timestamp_ns";
}

std::array<std::uint64_t, 8> other_numbers(const RecordedSlot& slot) {
  return {slot.slot_idx, slot.tenant_id, slot.opcode, slot.args[0], slot.args[1], slot.args[2], slot.args[3],
          slot.epoch};
}

void append_number(std::string& out, std::uint64_t value) {
  std::array<char, 20> buffer;
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), result.ptr);
}

std::size_t digit_count(std::uint64_t value) {
  std::string text;
  append_number(text, value);
  return text.size();
}

// Names are left-aligned, numbers right-aligned.
void append_stream(std::string& out, std::string_view name, std::size_t width) {
  out += name;
  if (name.size() < width) out.append(width - name.size(), ' ');
  out += "  ";
}

void append_padded(std::string& out, std::string_view text, std::size_t width) {
  if (text.size() < width) out.append(width - text.size(), ' ');
  out += text;
  out += "  ";
}

}  // namespace

const std::vector<std::string>& output_format_names() {
  static const std::vector<std::string> names{"jsonl", "csv", "table"};
  return names;
}

const std::vector<std::string>& time_format_names() {
  static const std::vector<std::string> names{"ns", "iso", "relative"};
  return names;
}

OutputFormat output_format_named(const std::string& name) {
  if (name == "csv") return OutputFormat::csv;
  if (name == "table") return OutputFormat::table;
  return OutputFormat::jsonl;
}

TimeFormat time_format_named(const std::string& name) {
  if (name == "iso") return TimeFormat::iso;
  if (name == "relative") return TimeFormat::relative;
  return TimeFormat::ns;
}

RecordPrinter::RecordPrinter(std::ostream& out, const PrintOptions& options,
                             std::span<const RecordValue> width_sample)
    : out_(out), options_(options) {
  widths_[0] = time_title(options_.time).size();
  for (std::size_t column = 1; column < column_count; ++column) widths_[column] = number_titles[column - 1].size();
  if (options_.format != OutputFormat::table) return;
  for (const RecordValue& record : width_sample) {
    line_.clear();
    append_time(record);
    widths_[0] = std::max(widths_[0], line_.size());
    const auto numbers = other_numbers(record.slot);
    for (std::size_t column = 1; column < column_count; ++column) {
      widths_[column] = std::max(widths_[column], digit_count(numbers[column - 1]));
    }
  }
}

void RecordPrinter::print_header() {
  switch (options_.format) {
    case OutputFormat::jsonl:
      return;
    case OutputFormat::csv:
      if (options_.stream_width != 0) out_ << "stream,";
      out_ << time_title(options_.time)
           << ",slot_idx,tenant_id,opcode,arg0,arg1,arg2,arg3,epoch,slot_status,failure_class,backend_code,"
              "output_digest\n";
      return;
    case OutputFormat::table:
      line_.clear();
      if (options_.stream_width != 0) append_stream(line_, "stream", options_.stream_width);
      append_padded(line_, time_title(options_.time), widths_[0]);
      for (std::size_t column = 1; column < column_count; ++column) {
        append_padded(line_, number_titles[column - 1], widths_[column]);
      }
      line_ += "failure\n";
      out_ << line_;
      return;
  }
}

void RecordPrinter::append_time(const RecordValue& record) {
  const std::uint64_t timestamp = record.slot.timestamp_ns;
  switch (options_.time) {
    case TimeFormat::ns: append_number(line_, timestamp); return;
    case TimeFormat::iso: append_iso_utc(line_, timestamp); return;
    case TimeFormat::relative: append_relative_seconds(line_, timestamp, options_.time_origin_ns); return;
  }
}

void RecordPrinter::print(const RecordValue& record, std::string_view stream) {
  line_.clear();
  if (options_.stream_width == 0) stream = {};
  switch (options_.format) {
    case OutputFormat::jsonl:
      append_jsonl(line_, record, options_.wide, stream);
      line_ += '\n';
      break;
    case OutputFormat::csv: {
      // Every column always: all-zero failure fields ("none") mean no evidence.
      // Nothing needs quoting: numbers, times, five fixed lower-case names and
      // stream names ([A-Za-z0-9._-]).
      if (options_.stream_width != 0) {
        line_ += stream;
        line_ += ',';
      }
      append_time(record);
      for (std::uint64_t value : other_numbers(record.slot)) {
        line_ += ',';
        append_number(line_, value);
      }
      const FailureEvidence& failure = record.failure;
      line_ += ',';
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
      print_table_row(record, stream);
      break;
  }
  out_ << line_;
}

void RecordPrinter::print_table_row(const RecordValue& record, std::string_view stream) {
  if (options_.stream_width != 0) append_stream(line_, stream, options_.stream_width);
  const std::size_t time_start = line_.size();
  append_time(record);
  const std::size_t time_length = line_.size() - time_start;
  if (time_length < widths_[0]) line_.insert(time_start, widths_[0] - time_length, ' ');
  line_ += "  ";
  const auto numbers = other_numbers(record.slot);
  for (std::size_t column = 1; column < column_count; ++column) {
    std::string text;
    append_number(text, numbers[column - 1]);
    append_padded(line_, text, widths_[column]);
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
