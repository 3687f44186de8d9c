#include "chrome_trace.hpp"

#include <array>
#include <charconv>

#include <nlohmann/json.hpp>

#include "dispatch_failure.hpp"
#include "time_text.hpp"

namespace vrrl::cli {
namespace {

void append_number(std::string& out, std::uint64_t value) {
  std::array<char, 20> digits;
  const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), result.ptr);
}

void append_quoted_number(std::string& out, std::uint64_t value) {
  out += '"';
  append_number(out, value);
  out += '"';
}

std::string json_string(std::string_view text) {
  // A path may hold any bytes; invalid UTF-8 becomes U+FFFD rather than an exception.
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The record's fields as the event's "args" object (the dump format's names).
void append_record_args(std::string& out, const RecordValue& record) {
  const RecordedSlot& slot = record.slot;
  out += "\"args\":{\"timestamp_ns\":";
  append_quoted_number(out, slot.timestamp_ns);
  out += ",\"slot_idx\":";
  append_number(out, slot.slot_idx);
  out += ",\"tenant_id\":";
  append_number(out, slot.tenant_id);
  out += ",\"opcode\":";
  append_number(out, slot.opcode);
  out += ",\"args\":[";
  for (std::size_t i = 0; i < slot.args.size(); ++i) {
    if (i != 0) out += ',';
    append_number(out, slot.args[i]);
  }
  out += "],\"epoch\":";
  append_number(out, slot.epoch);
  if (const FailureEvidence& failure = record.failure; failure.present()) {
    out += ",\"failure\":{\"slot_status\":";
    append_number(out, failure.slot_status);
    out += ",\"failure_class\":\"";
    out += to_string(failure.failure_class);
    out += "\",\"backend_code\":";
    append_number(out, failure.backend_code);
    out += ",\"output_digest\":";
    append_quoted_number(out, failure.output_digest);
    out += '}';
  }
  out += '}';
}

}  // namespace

std::uint64_t automatic_interval(std::uint64_t span_ns) noexcept {
  constexpr std::uint64_t wanted_intervals = 200;
  const std::uint64_t at_least = span_ns / wanted_intervals;
  for (std::uint64_t decade = 1;; decade *= 10) {
    for (const std::uint64_t step : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{5}}) {
      if (step * decade >= at_least) return step * decade;
    }
    if (decade > UINT64_MAX / 100) return decade * 10;
  }
}

ChromeTraceWriter::ChromeTraceWriter(std::ostream& out, std::string_view title, std::uint64_t base_ns,
                                     std::uint64_t interval_ns)
    : out_(out), title_(title), base_ns_(base_ns), interval_ns_(interval_ns) {
  line_ = "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"vrrl_source\":" + json_string(title_) +
          ",\"base_timestamp_ns\":\"" + std::to_string(base_ns_) + "\",\"counter_interval_ns\":\"" +
          std::to_string(interval_ns_) + "\"},\n\"traceEvents\":[";
  out_ << line_;
}

void ChromeTraceWriter::begin_event() {
  line_.clear();
  line_ += first_event_ ? "\n" : ",\n";
  first_event_ = false;
}

void ChromeTraceWriter::append_ts(std::uint64_t timestamp_ns) {
  // Microseconds with three decimals, signed: exact for every nanosecond.
  const bool before = timestamp_ns < base_ns_;
  const std::uint64_t distance = before ? base_ns_ - timestamp_ns : timestamp_ns - base_ns_;
  line_ += "\"ts\":";
  if (before) line_ += '-';
  append_number(line_, distance / 1000);
  const std::uint64_t fraction = distance % 1000;
  line_ += '.';
  line_ += static_cast<char>('0' + fraction / 100);
  line_ += static_cast<char>('0' + fraction / 10 % 10);
  line_ += static_cast<char>('0' + fraction % 10);
}

int ChromeTraceWriter::process_for(std::string_view stream) {
  if (const auto found = processes_.find(stream); found != processes_.end()) return found->second;
  const int pid = static_cast<int>(processes_.size()) + 1;
  processes_.emplace(std::string(stream), pid);
  begin_event();
  line_ += "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" + std::to_string(pid) +
           ",\"tid\":0,\"args\":{\"name\":" + json_string(stream.empty() ? title_ : std::string(stream)) + "}}";
  out_ << line_;
  return pid;
}

void ChromeTraceWriter::add(const RecordValue& record, std::string_view stream) {
  const int pid = process_for(stream);
  const std::uint32_t tenant = record.slot.tenant_id;
  // tid = tenant + 1: trace viewers treat tid 0 as the idle thread.
  const std::string track = ",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(std::uint64_t{tenant} + 1);
  if (threads_named_.emplace(std::pair(pid, tenant), true).second) {
    begin_event();
    line_ += "{\"name\":\"thread_name\",\"ph\":\"M\"" + track + ",\"args\":{\"name\":\"tenant " +
             std::to_string(tenant) + "\"}}";
    out_ << line_;
  }
  const bool failed = is_failure(record.failure);
  begin_event();
  line_ += "{\"name\":\"opcode ";
  append_number(line_, record.slot.opcode);
  line_ += failed ? " failed\",\"cat\":\"dispatch,failure\",\"ph\":\"X\"," : "\",\"cat\":\"dispatch\",\"ph\":\"X\",";
  append_ts(record.slot.timestamp_ns);
  line_ += ",\"dur\":0";
  line_ += track;
  line_ += ',';
  append_record_args(line_, record);
  line_ += '}';
  if (failed) {
    line_ += ",\n{\"name\":\"failure: ";
    line_ += to_string(record.failure.failure_class);
    line_ += "\",\"cat\":\"failure\",\"ph\":\"i\",\"s\":\"p\",";
    append_ts(record.slot.timestamp_ns);
    line_ += track;
    line_ += ',';
    append_record_args(line_, record);
    line_ += '}';
  }
  out_ << line_;
  if (record.slot.timestamp_ns >= base_ns_) {
    Counts& counts = intervals_[(record.slot.timestamp_ns - base_ns_) / interval_ns_];
    ++counts.dispatches;
    if (failed) ++counts.failures;
  }
}

std::uint64_t ChromeTraceWriter::interval_count() const noexcept {
  return intervals_.empty() ? 0 : intervals_.rbegin()->first + 1;
}

void ChromeTraceWriter::finish() {
  if (!intervals_.empty()) {
    const int pid = processes_.begin()->second;
    const std::string name = "dispatches per " + duration_text(interval_ns_);
    // Every interval from the first to one past the last, empty ones as 0, so
    // the counter track drops to zero where nothing was dispatched.
    const std::uint64_t end = intervals_.rbegin()->first + 1;
    for (std::uint64_t index = 0; index <= end; ++index) {
      const auto found = intervals_.find(index);
      const Counts counts = found != intervals_.end() ? found->second : Counts{};
      begin_event();
      line_ += "{\"name\":\"" + name + "\",\"ph\":\"C\",";
      const std::uint64_t offset = index * interval_ns_;  // <= span + interval: no overflow
      append_ts(offset > UINT64_MAX - base_ns_ ? UINT64_MAX : base_ns_ + offset);
      line_ += ",\"pid\":" + std::to_string(pid) + ",\"args\":{\"dispatches\":";
      append_number(line_, counts.dispatches);
      line_ += ",\"failures\":";
      append_number(line_, counts.failures);
      line_ += "}}";
      out_ << line_;
    }
  }
  out_ << "\n]}\n";
}

}  // namespace vrrl::cli
