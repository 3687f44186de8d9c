// Records as Trace Event Format JSON (the "Chrome JSON" trace that Perfetto's
// UI and chrome://tracing open), written as a stream:
//   * one process per log (per stream of a recording), one thread track per tenant;
//   * one complete event ("X", dur 0: a record marks an instant) per dispatch, named
//     "opcode N", its fields in args; failed dispatches are named "opcode N failed",
//     category "dispatch,failure", and get a process-scoped instant event ("i") too;
//   * a counter ("C") of dispatches and failures per interval.
// ts is in microseconds (the format's unit) from the oldest record, written as
// a decimal with three fraction digits, so nanoseconds survive JSON's doubles.
// 64-bit record fields are strings. docs/cli.md lists every key.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "record_json.hpp"

namespace vrrl::cli {

class ChromeTraceWriter {
 public:
  // `title` names the trace (the log's path); `base_ns` is the timestamp that
  // becomes ts 0; counters count per `interval_ns` from there.
  ChromeTraceWriter(std::ostream& out, std::string_view title, std::uint64_t base_ns, std::uint64_t interval_ns);
  ChromeTraceWriter(const ChromeTraceWriter&) = delete;
  ChromeTraceWriter& operator=(const ChromeTraceWriter&) = delete;

  // `stream` is empty for a log, the stream's name for a recording.
  void add(const RecordValue& record, std::string_view stream = {});
  // The counters and the closing brackets; nothing may be added after.
  void finish();

  [[nodiscard]] std::uint64_t interval_count() const noexcept;

 private:
  struct Counts {
    std::uint64_t dispatches = 0;
    std::uint64_t failures = 0;
  };

  int process_for(std::string_view stream);
  void begin_event();
  void append_ts(std::uint64_t timestamp_ns);

  std::ostream& out_;
  const std::string title_;
  const std::uint64_t base_ns_;
  const std::uint64_t interval_ns_;
  std::string line_;
  bool first_event_ = true;
  std::map<std::string, int, std::less<>> processes_;           // stream -> pid
  std::map<std::pair<int, std::uint32_t>, bool> threads_named_;  // (pid, tenant) seen
  std::map<std::uint64_t, Counts> intervals_;                    // interval index -> counts
};

// A counter interval that cuts `span_ns` into about 200 intervals, on a
// 1-2-5 ladder of nanoseconds (1 ns, 2 ns, 5 ns, 10 ns, ...).
[[nodiscard]] std::uint64_t automatic_interval(std::uint64_t span_ns) noexcept;

}  // namespace vrrl::cli
