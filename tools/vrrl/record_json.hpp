// The JSONL encoding of a record shared by `vrrl dump`/`tail` (writing) and
// `vrrl import` (reading), so that `dump | import` round-trips exactly.
//
// One object per line, keys in this order, no spaces:
//   {"timestamp_ns":1,"slot_idx":0,"tenant_id":7,"opcode":42,"args":[1,2,3,4],"epoch":1}
// plus, only when the record carries failure evidence (FailureEvidence::present()),
//   ,"failure":{"slot_status":3,"failure_class":"device_loss","backend_code":9,"output_digest":77}
// before the closing brace. Numbers are plain unsigned integers.
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

// Appends the JSONL form of `record` to `out`, without a newline.
void append_jsonl(std::string& out, const RecordValue& record);

// What is wrong with a line, as one sentence without a trailing period.
class JsonlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses one line in the dump format. Keys may come in any order; every key of
// the format is required except "failure", unknown keys are rejected, and every
// number must fit its field. Throws JsonlError.
[[nodiscard]] RecordValue parse_jsonl(std::string_view line);

}  // namespace vrrl::cli
