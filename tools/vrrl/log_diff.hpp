// Where two recorded runs diverge: both are split into epochs (the records'
// epoch field) and compared epoch by epoch, record by record, timestamps
// ignored. Within an epoch, records are compared in canonical order (sorted by
// slot_idx, then the other fields) because dispatch threads interleave
// differently on every run; Order::log compares them in recorded order and so
// reports interleaving differences too. A run whose ring wrapped may have lost
// part of its oldest epoch: the comparison starts at the first epoch both
// runs hold whole.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "record_json.hpp"

namespace vrrl::cli {

struct RecordedRun {
  std::string name;                                          // shown in the report (the path)
  std::map<std::uint32_t, std::vector<RecordValue>> epochs;  // epoch -> records in recorded order
  bool wrapped = false;                                      // the oldest epoch may be partial
};

struct Divergence {
  std::uint32_t epoch = 0;
  std::size_t index = 0;  // position within the epoch, in the order compared
  std::size_t records_a = 0;
  std::size_t records_b = 0;
  std::optional<RecordValue> a;  // empty: that run has no record at this position
  std::optional<RecordValue> b;
};

struct DiffResult {
  std::optional<Divergence> divergence;
  std::uint64_t epochs_compared = 0;  // whole epochs that matched
  std::uint64_t records_compared = 0;
};

enum class DiffOrder { canonical, log };

// Sorts the runs' epochs in place for DiffOrder::canonical.
[[nodiscard]] DiffResult diff_runs(RecordedRun& a, RecordedRun& b, DiffOrder order);

}  // namespace vrrl::cli
