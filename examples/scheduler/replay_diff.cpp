// replay_diff: compares two recorded runs epoch by epoch and reports the first
// record where they differ, the question VRRL logs were made to answer
// ("where did this run's schedule diverge from that one?").
//
//   replay_diff A.vrrl B.vrrl [--order canonical|log]
//
// Both logs are replayed oldest first and split into epochs (the record's
// epoch field). Within an epoch the records are compared in canonical order
// (sorted by slot_idx, then the other fields), because several dispatch
// threads interleave differently on every run; --order log compares them in
// recorded order instead, which reports thread-interleaving differences too.
// timestamp_ns never takes part. A log that has wrapped may have lost part of
// its oldest epoch: comparison starts at the first epoch both logs hold whole.
//
// Exit status: 0 no divergence, 1 divergence (the first differing record is
// printed from both logs), 2 usage or I/O error.
//
// The installed command `vrrl diff A B` (tools/vrrl/log_diff.cpp, docs/cli.md)
// is this comparison, promoted: same output, and it reads live logs as a
// validated snapshot. This file stays a standalone example of the replay API,
// built even when the tools are not.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <vrrl/ring_log.hpp>

namespace {

struct Dispatch {
  vrrl::RecordedSlot slot;
  vrrl::FailureEvidence evidence;
};

// Everything but the timestamp, in the order records sort by.
auto compared_fields(const Dispatch& d) {
  return std::tie(d.slot.slot_idx, d.slot.tenant_id, d.slot.opcode, d.slot.args, d.evidence.slot_status,
                  d.evidence.failure_class, d.evidence.backend_code, d.evidence.output_digest);
}

struct RecordedRun {
  std::string name;
  std::map<std::uint32_t, std::vector<Dispatch>> epochs;  // epoch -> dispatches in recorded order
  bool wrapped = false;                                  // the oldest epoch may be partial
};

RecordedRun load(const char* path) {
  RecordedRun run{path, {}, false};
  const auto reader = vrrl::LogReader::open(path);
  run.wrapped = reader.appended() > reader.capacity();
  for (vrrl::RecordView record : reader.replay(vrrl::Recovery::strict))
    run.epochs[record.epoch()].push_back({record.slot(), record.failure()});
  return run;
}

void print_dispatch(const std::string& name, const Dispatch* d) {
  if (d == nullptr) {
    std::printf("  %s: (no record)\n", name.c_str());
    return;
  }
  const auto& s = d->slot;
  std::printf("  %s: slot_idx=%u tenant_id=%u opcode=%u args=[%u,%u,%u,%u] output_digest=0x%016llx\n",
              name.c_str(), s.slot_idx, s.tenant_id, s.opcode, s.args[0], s.args[1], s.args[2], s.args[3],
              static_cast<unsigned long long>(d->evidence.output_digest));
}

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: replay_diff A.vrrl B.vrrl [--order canonical|log]\n"
               "Reports the first record where two recorded runs differ, epoch by epoch.\n"
               "Exit status: 0 no divergence, 1 divergence, 2 error.\n");
  return status;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) return usage(0);
  bool canonical = true;
  if (argc == 5 && std::string_view(argv[3]) == "--order" &&
      (std::string_view(argv[4]) == "log" || std::string_view(argv[4]) == "canonical")) {
    canonical = std::string_view(argv[4]) == "canonical";
  } else if (argc != 3) {
    return usage(2);
  }

  RecordedRun a = load(argv[1]);
  RecordedRun b = load(argv[2]);
  if (canonical) {
    for (RecordedRun* run : {&a, &b})
      for (auto& [epoch, dispatches] : run->epochs)
        std::sort(dispatches.begin(), dispatches.end(),
                  [](const Dispatch& x, const Dispatch& y) { return compared_fields(x) < compared_fields(y); });
  }

  // Skip an oldest epoch that wrapping may have cut short, in either log.
  std::uint32_t first = 0;
  for (const RecordedRun* run : {&a, &b}) {
    if (run->epochs.empty()) continue;
    const std::uint32_t oldest = run->epochs.begin()->first + (run->wrapped ? 1 : 0);
    first = std::max(first, oldest);
  }
  std::uint32_t last = 0;
  for (const RecordedRun* run : {&a, &b})
    if (!run->epochs.empty()) last = std::max(last, run->epochs.rbegin()->first);

  std::uint64_t compared = 0;
  std::uint32_t epochs_compared = 0;
  static const std::vector<Dispatch> none;
  for (std::uint64_t epoch = first; epoch <= last && !(a.epochs.empty() && b.epochs.empty()); ++epoch) {
    const auto in_a = a.epochs.find(static_cast<std::uint32_t>(epoch));
    const auto in_b = b.epochs.find(static_cast<std::uint32_t>(epoch));
    const auto& da = in_a != a.epochs.end() ? in_a->second : none;
    const auto& db = in_b != b.epochs.end() ? in_b->second : none;
    const std::size_t n = std::max(da.size(), db.size());
    for (std::size_t i = 0; i < n; ++i) {
      const Dispatch* ra = i < da.size() ? &da[i] : nullptr;
      const Dispatch* rb = i < db.size() ? &db[i] : nullptr;
      if (ra != nullptr && rb != nullptr && compared_fields(*ra) == compared_fields(*rb)) {
        ++compared;
        continue;
      }
      std::printf("first divergence: epoch %llu, record %zu of the epoch (%s order; %zu vs %zu records in the epoch)\n",
                  static_cast<unsigned long long>(epoch), i, canonical ? "canonical" : "log", da.size(), db.size());
      print_dispatch(a.name, ra);
      print_dispatch(b.name, rb);
      return 1;
    }
    ++epochs_compared;
  }
  std::printf("no divergence: %u epochs, %llu records compared\n", epochs_compared,
              static_cast<unsigned long long>(compared));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "replay_diff: %s\n", e.what());
  return 2;
}
