#include "log_diff.hpp"

#include <algorithm>
#include <tuple>

namespace vrrl::cli {
namespace {

// Everything but the timestamp, in the order records sort by.
auto compared_fields(const RecordValue& r) {
  return std::tie(r.slot.slot_idx, r.slot.tenant_id, r.slot.opcode, r.slot.args, r.slot.epoch, r.failure.slot_status,
                  r.failure.failure_class, r.failure.backend_code, r.failure.output_digest);
}

}  // namespace

DiffResult diff_runs(RecordedRun& a, RecordedRun& b, DiffOrder order) {
  if (order == DiffOrder::canonical) {
    for (RecordedRun* run : {&a, &b}) {
      for (auto& [epoch, records] : run->epochs) {
        std::sort(records.begin(), records.end(),
                  [](const RecordValue& x, const RecordValue& y) { return compared_fields(x) < compared_fields(y); });
      }
    }
  }
  DiffResult result;
  if (a.epochs.empty() && b.epochs.empty()) return result;
  // Skip an oldest epoch that wrapping may have cut short, in either run.
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  for (const RecordedRun* run : {&a, &b}) {
    if (run->epochs.empty()) continue;
    first = std::max<std::uint64_t>(first, std::uint64_t{run->epochs.begin()->first} + (run->wrapped ? 1 : 0));
    last = std::max<std::uint64_t>(last, run->epochs.rbegin()->first);
  }
  static const std::vector<RecordValue> none;
  for (std::uint64_t epoch = first; epoch <= last; ++epoch) {
    const auto key = static_cast<std::uint32_t>(epoch);
    const auto in_a = a.epochs.find(key);
    const auto in_b = b.epochs.find(key);
    const auto& records_a = in_a != a.epochs.end() ? in_a->second : none;
    const auto& records_b = in_b != b.epochs.end() ? in_b->second : none;
    const std::size_t count = std::max(records_a.size(), records_b.size());
    for (std::size_t i = 0; i < count; ++i) {
      const RecordValue* ra = i < records_a.size() ? &records_a[i] : nullptr;
      const RecordValue* rb = i < records_b.size() ? &records_b[i] : nullptr;
      if (ra != nullptr && rb != nullptr && compared_fields(*ra) == compared_fields(*rb)) {
        ++result.records_compared;
        continue;
      }
      Divergence divergence;
      divergence.epoch = key;
      divergence.index = i;
      divergence.records_a = records_a.size();
      divergence.records_b = records_b.size();
      if (ra != nullptr) divergence.a = *ra;
      if (rb != nullptr) divergence.b = *rb;
      result.divergence = divergence;
      return result;
    }
    ++result.epochs_compared;
  }
  return result;
}

}  // namespace vrrl::cli
