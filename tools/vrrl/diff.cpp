// vrrl diff A B: the first record where two recorded runs (logs or recording
// directories, merged) diverge, epoch by epoch (log_diff.hpp). Exit status as diff(1): 0 no divergence, 1 divergence,
// 2 trouble (a usage error, or a log that cannot be read whole).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "command.hpp"
#include "log_diff.hpp"
#include "record_source.hpp"

namespace vrrl::cli {
namespace {

constexpr int exit_trouble = 2;

struct DiffOptions {
  std::filesystem::path a;
  std::filesystem::path b;
  std::string order = "canonical";
};

// Loads a run; false when the read skipped records (bad slots), which would
// make any answer unreliable.
bool load(const std::filesystem::path& path, RecordedRun& run) {
  const RecordSource source = RecordSource::open(path);
  run.name = path.string();
  std::uint64_t records = 0;
  const ReadReport report = source.read([&](const SourceRecord& record) {
    run.epochs[record.value.slot.epoch].push_back(record.value);
    ++records;
    return true;
  });
  if (const LogReader* log = source.log()) {
    // vrrl's cursor counts appends; the seed's is modulo capacity, so a full
    // ring with a small cursor has wrapped too.
    run.wrapped =
        log->appended() > log->capacity() || (log->appended() < log->capacity() && records == log->capacity());
  } else {
    // Retention removed a stream's oldest segments: its oldest epoch may be partial.
    for (const StreamInfo& stream : source.recording()->stream_info()) run.wrapped |= stream.first_sequence != 0;
  }
  return !report_skipped("diff", report, path);
}

std::string record_text(const std::string& name, const std::optional<RecordValue>& record) {
  if (!record) return "  " + name + ": (no record)\n";
  const RecordedSlot& s = record->slot;
  char text[256];
  std::snprintf(text, sizeof text, "slot_idx=%u tenant_id=%u opcode=%u args=[%u,%u,%u,%u] output_digest=0x%016llx",
                s.slot_idx, s.tenant_id, s.opcode, s.args[0], s.args[1], s.args[2], s.args[3],
                static_cast<unsigned long long>(record->failure.output_digest));
  std::string line = "  " + name + ": " + text;
  if (const FailureEvidence& f = record->failure;
      f.failure_class != FailureClass::none || f.slot_status != 0 || f.backend_code != 0) {
    line += " failure=" + std::string(to_string(f.failure_class)) + " status=" + std::to_string(f.slot_status) +
            " backend=" + std::to_string(f.backend_code);
  }
  return line + "\n";
}

int run_diff(const DiffOptions& options) {
  RecordedRun a;
  RecordedRun b;
  bool whole = true;
  try {
    whole = load(options.a, a) && whole;
    whole = load(options.b, b) && whole;
  } catch (const Error& e) {
    std::cerr << e.what() << '\n';
    return exit_trouble;
  }
  const DiffOrder order = options.order == "log" ? DiffOrder::log : DiffOrder::canonical;
  const DiffResult result = diff_runs(a, b, order);
  if (const auto& d = result.divergence) {
    std::cout << "first divergence: epoch " << d->epoch << ", record " << d->index << " of the epoch ("
              << options.order << " order; " << d->records_a << " vs " << d->records_b << " records in the epoch)\n"
              << record_text(a.name, d->a) << record_text(b.name, d->b);
  } else {
    std::cout << "no divergence: " << result.epochs_compared << " epochs, " << result.records_compared
              << " records compared\n";
  }
  if (!whole) return exit_trouble;
  return result.divergence ? exit_problems : exit_ok;
}

}  // namespace

Command add_diff_command(CLI::App& vrrl) {
  auto options = std::make_shared<DiffOptions>();
  CLI::App* diff = vrrl.add_subcommand("diff", "The first record where two recorded runs diverge, epoch by epoch");
  diff->footer(
      "Both logs are split into epochs (the records' epoch field) and compared epoch by epoch, timestamps\n"
      "ignored. Within an epoch records are compared sorted by slot_idx and the other fields (dispatch threads\n"
      "interleave differently on every run); --order log compares them in recorded order, so thread\n"
      "interleaving counts too. A log whose ring wrapped may have lost part of its oldest epoch: comparison\n"
      "starts at the first epoch both hold whole.\n"
      "Exit status, as diff(1): 0 no divergence, 1 a divergence (printed from both logs), 2 trouble (a usage\n"
      "error, a log that cannot be read, or slots with a foreign magic).");
  diff->add_option("A", options->a, "the first log or recording directory")->required();
  diff->add_option("B", options->b, "the second log or recording directory")->required();
  diff->add_option("--order", options->order, "canonical (default) or log")
      ->check(CLI::IsMember({"canonical", "log"}))
      ->option_text("canonical|log (default: canonical)");
  return {diff, [options] { return run_diff(*options); }};
}

}  // namespace vrrl::cli
