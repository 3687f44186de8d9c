// vrrl tail [-f] LOG: the newest records; with -f, keep printing records as
// another process appends them, until SIGINT or SIGTERM.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include <vrrl/follower.hpp>
#include <vrrl/ring_log.hpp>

#include "bad_slot_warning.hpp"
#include "command.hpp"
#include "record_output.hpp"

namespace vrrl::cli {
namespace {

struct TailOptions {
  std::filesystem::path log;
  bool follow = false;
  std::uint64_t lines = 10;
  std::string format = "table";  // one of output_format_names()
};

volatile sig_atomic_t stop_requested = 0;

extern "C" void request_stop(int) { stop_requested = 1; }

// SIGINT/SIGTERM end the follow loop (exit 0). No SA_RESTART: the signal
// interrupts the sleep, so Ctrl-C takes effect at once.
void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

void sleep_between_polls() {
  const timespec interval{0, 50'000'000};  // 50 ms: a person watching sees no lag
  ::nanosleep(&interval, nullptr);          // EINTR is how a stop request arrives
}

int follow(const TailOptions& options, const LogReader& reader) {
  install_stop_handlers();
  // Sequence n is the n-th append (the header cursor is the running count).
  // Start -n records back, but no further than the oldest still in the ring.
  const std::uint64_t capacity = reader.capacity();
  const std::uint64_t cursor = reader.appended();
  const std::uint64_t oldest = cursor > capacity ? cursor - capacity : 0;
  Follower follower(reader, cursor - std::min(options.lines, cursor - oldest));

  // Table widths cannot grow once rows are printed; size the timestamp column
  // for nanoseconds since the epoch (19 digits) up front.
  const RecordValue wide_sample{.slot = {.timestamp_ns = 1'000'000'000'000'000'000}, .failure = {}};
  RecordPrinter printer(std::cout, output_format_named(options.format), std::span<const RecordValue>(&wide_sample, 1));
  printer.print_header();

  while (stop_requested == 0) {
    const PollResult result =
        follower.poll([&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence& failure) {
          printer.print({slot, failure});
        });
    std::cout.flush();
    if (result.resynced) {
      std::cerr << "vrrl tail: the log's cursor went backwards (the log was recreated, or its writer keeps the "
                   "cursor modulo capacity as the Rust seed does); following from the oldest record of the new count\n";
    }
    if (result.lost != 0) {
      std::cerr << "vrrl tail: " << result.lost << " records overwritten before they could be read\n";
    }
    if (!std::cout) return exit_problems;  // main reports the failed write
    sleep_between_polls();
  }
  return exit_ok;
}

int run_tail(const TailOptions& options) {
  const LogReader reader = LogReader::open(options.log);
  if (options.follow) return follow(options, reader);

  std::deque<RecordValue> newest;
  ReplayRange replay = reader.replay(Recovery::skip_bad_slots);
  for (RecordView record : replay) {
    if (options.lines == 0) break;
    if (newest.size() == options.lines) newest.pop_front();
    newest.push_back(copy_record(record));
  }
  const std::vector<RecordValue> records(newest.begin(), newest.end());
  RecordPrinter printer(std::cout, output_format_named(options.format), records);
  printer.print_header();
  for (const RecordValue& record : records) printer.print(record);
  return warn_about_bad_slots("tail", replay.report(), options.log) ? exit_problems : exit_ok;
}

}  // namespace

Command add_tail_command(CLI::App& vrrl) {
  auto options = std::make_shared<TailOptions>();
  CLI::App* tail = vrrl.add_subcommand(
"tail", "Print the newest records; -f keeps following a log being written");
  tail->footer(
      "With -f, keeps printing records as another process appends them, until SIGINT/SIGTERM (exit 0). It\n"
      "opens the log read-only and takes no lock, so it never blocks the writer. Records the writer overwrites\n"
      "before tail reads them are counted on stderr.");
  tail->add_option("LOG", options->log, "the log file")->required();
  tail->add_flag("-f,--follow", options->follow, "keep following the log as it grows");
  tail->add_option("-n,--lines", options->lines, "how many of the newest records to print first")
      ->default_str("10")
      ->check(digits_only());
  tail->add_option("--format", options->format, "jsonl, csv or table")
      ->check(CLI::IsMember(output_format_names()))
      ->option_text("jsonl|csv|table (default: table)");
  return {tail, [options] { return run_tail(*options); }};
}

}  // namespace vrrl::cli
