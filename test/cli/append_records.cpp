// append_records LOG CAPACITY FIRST COUNT [v1|v2]: appends records FIRST ..
// FIRST+COUNT-1 of a known sequence to LOG (created with CAPACITY slots, in
// the given format, default v1, if missing), then syncs. The CLI tests use it to make known logs and as the "other process"
// that `vrrl tail -f` follows. cli_test.py's expected_record() mirrors
// known_record(); keep the two in step.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include <vrrl/ring_log.hpp>

namespace {

struct KnownRecord {
  vrrl::RecordedSlot slot;
  vrrl::FailureEvidence failure;
};

KnownRecord known_record(std::uint32_t i) {
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && !(argc == 6 && (std::string(argv[5]) == "v1" || std::string(argv[5]) == "v2"))) {
    std::fprintf(stderr, "usage: append_records LOG CAPACITY FIRST COUNT [v1|v2]\n");
    return 2;
  }
  try {
    const vrrl::OpenOptions options{.format = argc == 6 && std::string(argv[5]) == "v2" ? vrrl::Format::v2
                                                                                       : vrrl::Format::v1};
    auto log = vrrl::RingLog::open(argv[1], std::stoull(argv[2]), options);
    const auto first = static_cast<std::uint32_t>(std::stoul(argv[3]));
    const auto count = static_cast<std::uint32_t>(std::stoul(argv[4]));
    for (std::uint32_t i = first; i < first + count; ++i) {
      const KnownRecord record = known_record(i);
      log.append(record.slot, record.failure);
    }
    log.sync();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "append_records: %s\n", e.what());
    return 1;
  }
  return 0;
}
