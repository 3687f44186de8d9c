// vrrl stats LOG: records per opcode and per tenant, time span, records per second.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "bad_slot_warning.hpp"
#include "command.hpp"

namespace vrrl::cli {
namespace {

struct StatsOptions {
  std::filesystem::path log;
};

struct Tally {
  std::uint64_t records = 0;
  std::optional<std::uint64_t> first_timestamp;  // of the oldest record (replay order)
  std::uint64_t last_timestamp = 0;              // of the newest record
  std::uint64_t min_timestamp = UINT64_MAX;
  std::uint64_t max_timestamp = 0;
  std::map<std::uint32_t, std::uint64_t> per_opcode;
  std::map<std::uint32_t, std::uint64_t> per_tenant;
  std::map<FailureClass, std::uint64_t> per_failure_class;  // records with failure evidence only
};

std::string share(std::uint64_t part, std::uint64_t whole) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return text;
}

// Busiest first, then by key, so the opcodes and tenants that matter lead.
template <class Key, class KeyText>
void print_counts(const char* title, const char* key_title, const std::map<Key, std::uint64_t>& counts,
                  std::uint64_t total, KeyText key_text) {
  std::vector<std::pair<Key, std::uint64_t>> rows(counts.begin(), counts.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  char line[128];
  std::snprintf(line, sizeof line, "\n%s\n  %16s %12s %8s\n", title, key_title, "records", "share");
  std::cout << line;
  for (const auto& [key, count] : rows) {
    std::snprintf(line, sizeof line, "  %16s %12llu %8s\n", key_text(key).c_str(),
                  static_cast<unsigned long long>(count), share(count, total).c_str());
    std::cout << line;
  }
}

int run_stats(const StatsOptions& options) {
  const LogReader reader = LogReader::open(options.log);
  Tally tally;
  ReplayRange replay = reader.replay(Recovery::skip_bad_slots);
  for (RecordView record : replay) {
    const std::uint64_t timestamp = record.timestamp_ns();
    ++tally.records;
    if (!tally.first_timestamp) tally.first_timestamp = timestamp;
    tally.last_timestamp = timestamp;
    tally.min_timestamp = std::min(tally.min_timestamp, timestamp);
    tally.max_timestamp = std::max(tally.max_timestamp, timestamp);
    ++tally.per_opcode[record.opcode()];
    ++tally.per_tenant[record.tenant_id()];
    if (const FailureEvidence failure = record.failure(); failure.present()) {
      ++tally.per_failure_class[failure.failure_class];
    }
  }

  std::cout << "log           " << options.log.string() << '\n';
  std::cout << "records       " << tally.records << " (capacity " << reader.capacity() << ")\n";
  if (tally.records == 0) {
    std::cout << "time span     -\n";
  } else {
    // min/max rather than oldest/newest: a log whose clock stepped back still
    // has a meaningful span (`vrrl verify` reports the step).
    const std::uint64_t span_ns = tally.max_timestamp - tally.min_timestamp;
    std::cout << "time span     " << span_ns << " ns (" << tally.min_timestamp << " .. " << tally.max_timestamp
              << ")\n";
    if (span_ns == 0) {
      std::cout << "rate          - (all records share one timestamp)\n";
    } else {
      char rate[64];
      std::snprintf(rate, sizeof rate, "%.1f records/s",
                    static_cast<double>(tally.records) / (static_cast<double>(span_ns) / 1e9));
      std::cout << "rate          " << rate << '\n';
    }
    std::uint64_t failures = 0;
    for (const auto& [failure_class, count] : tally.per_failure_class) failures += count;
    std::cout << "with failure  " << failures << '\n';

    const auto number = [](std::uint32_t value) { return std::to_string(value); };
    print_counts("per opcode", "opcode", tally.per_opcode, tally.records, number);
    print_counts("per tenant", "tenant_id", tally.per_tenant, tally.records, number);
    if (failures != 0) {
      print_counts("per failure class", "failure_class", tally.per_failure_class, tally.records,
                   [](FailureClass value) { return std::string(to_string(value)); });
    }
  }
  return warn_about_bad_slots("stats", replay.report(), options.log) ? exit_problems : exit_ok;
}

}  // namespace

Command add_stats_command(CLI::App& vrrl) {
  auto options = std::make_shared<StatsOptions>();
  CLI::App* stats = vrrl.add_subcommand(
      "stats", "Records per opcode, per tenant, per failure class; time span, records/s");
  stats->add_option("LOG", options->log, "the log file")->required();
  return {stats, [options] { return run_stats(*options); }};
}

}  // namespace vrrl::cli
