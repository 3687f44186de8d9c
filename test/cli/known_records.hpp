// The known sequence of records the CLI tests write (append_records,
// write_recording); cli_test.py's expected_record() mirrors known_record().
#pragma once

#include <cstdint>

#include <vrrl/record.hpp>

namespace vrrl::test_cli {

struct KnownRecord {
  vrrl::RecordedSlot slot;
  vrrl::FailureEvidence failure;
};

inline KnownRecord known_record(std::uint32_t i) {
  KnownRecord record;
  record.slot = {.timestamp_ns = 1'000 + 10 * std::uint64_t{i},
                 .slot_idx = i,
                 .tenant_id = i % 3,
                 .opcode = 40 + i % 2,
                 .args = {i, i + 1, i + 2, i + 3},
                 .epoch = 1 + i / 100};
  if (i % 4 == 3) {  // every fourth record carries failure evidence
    record.failure = {.slot_status = 2,
                      .failure_class = static_cast<vrrl::FailureClass>(1 + (i / 4) % 4),
                      .backend_code = i,
                      .output_digest = 1'000'003 * std::uint64_t{i}};
  }
  return record;
}

}  // namespace vrrl::test_cli
