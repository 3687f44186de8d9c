// The JSONL encoding of a record shared by `vrrl dump`/`tail` (writing) and
// `vrrl import` (reading), so that `dump | import` round-trips exactly.
//
// One object per line, keys in this order, no spaces:
//   {"timestamp_ns":1,"slot_idx":0,"tenant_id":7,"opcode":42,"args":[1,2,3,4],"epoch":1}
// plus, only when the record carries failure evidence (FailureEvidence::present()),
//   ,"failure":{"slot_status":3,"failure_class":"device_loss","backend_code":9,"output_digest":77}
// before the closing brace. Numbers are plain unsigned integers; with
// Wide64::as_string the two 64-bit fields (timestamp_ns, output_digest) are
// strings of digits instead, for consumers that read numbers as doubles.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <vrrl/record.hpp>

namespace vrrl::cli {

// A record as a value: what import appends and what dump prints.
struct RecordValue {
  RecordedSlot slot;
  FailureEvidence failure;

  friend bool operator==(const RecordValue&, const RecordValue&) = default;
};

[[nodiscard]] inline RecordValue copy_record(const RecordView& view) noexcept {
  return {view.slot(), view.failure()};
}

enum class Wide64 { as_number, as_string };

// Appends the JSONL form of `record` to `out`, without a newline. A record of
// a recording's stream gets "stream":"NAME" as its first key (names are
// [A-Za-z0-9._-], nothing to escape).
void append_jsonl(std::string& out, const RecordValue& record, Wide64 wide = Wide64::as_number,
                  std::string_view stream = {});

// What is wrong with a line, as one sentence without a trailing period.
class JsonlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses one line in the dump format. Keys may come in any order but only
// once; every key of the format is required except "failure" and "stream"
// (a string, read and ignored: a recording's records go into one log);
// unknown keys are rejected; every number must be a non-negative integer that fits its
// field (timestamp_ns and output_digest may also be strings of digits). The
// parse is a stream of events (SAX) that stops at the first problem, so input
// nested deeper than a record (3 levels) costs nothing and no message echoes
// more than a few dozen characters of the input. Throws JsonlError.
[[nodiscard]] RecordValue parse_jsonl(std::string_view line);

}  // namespace vrrl::cli
