// append_records LOG CAPACITY FIRST COUNT [v1|v2]: appends records FIRST ..
// FIRST+COUNT-1 of a known sequence to LOG (created with CAPACITY slots, in
// the given format, default v1, if missing), then syncs. The CLI tests use it
// to make known logs and as the "other process" that `vrrl tail -f` follows.
// The records are known_records.hpp's.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include <vrrl/ring_log.hpp>

#include "known_records.hpp"

using vrrl::test_cli::KnownRecord;
using vrrl::test_cli::known_record;

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
