// vrrl tail [-f] LOG|DIR: the newest records; with -f, keep printing records
// as another process appends them, until SIGINT or SIGTERM. A recording
// directory is followed with RecordingFollower (its streams merged).
//
// What -f does when the log changes under it (docs/cli.md, "vrrl tail"):
//   * the writer laps it: the overwritten records are counted on stderr;
//   * the cursor goes backwards (a new log, or the seed's modulo cursor): says so, follows the new count;
//   * the header cursor is implausible (at or above 2^61, damage): one warning, no reads until it is plausible;
//   * the file is truncated: a clear error, exit 1 (checked before every poll; a SIGBUS from a
//     truncation racing a poll is turned into the same kind of message);
//   * the path is replaced (rm + re-create, mv): says so, follows the new file from its oldest record.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <vrrl/follower.hpp>
#include <vrrl/recording.hpp>
#include <vrrl/ring_log.hpp>

#include "command.hpp"
#include "followed_log.hpp"
#include "record_filter.hpp"
#include "record_output.hpp"
#include "record_source.hpp"

namespace vrrl::cli {
namespace {

struct TailOptions {
  std::filesystem::path log;
  bool follow = false;
  std::uint64_t lines = 10;
  std::string format = "table";  // one of output_format_names()
  FilterOptions filters;
};

volatile sig_atomic_t stop_requested = 0;

extern "C" void request_stop(int) { stop_requested = 1; }

// The message a SIGBUS prints: prepared before polling, since a signal
// handler may only write(2) and _exit.
std::array<char, 1024> sigbus_message{};
std::size_t sigbus_message_length = 0;

extern "C" void report_sigbus(int) {
  (void)!::write(STDERR_FILENO, sigbus_message.data(), sigbus_message_length);
  ::_exit(exit_problems);
}

void prepare_sigbus_message(const std::filesystem::path& log) {
  const std::string text = "vrrl tail `" + log.string() +
                           "`: the log was truncated while tail read it (SIGBUS on the mapping). Fix: whatever "
                           "shrank the file destroyed the records; run `vrrl verify " + log.string() +
                           "` to see what is left.\n";
  sigbus_message_length = std::min(text.size(), sigbus_message.size());
  std::memcpy(sigbus_message.data(), text.data(), sigbus_message_length);
}

// SIGINT/SIGTERM end the follow loop (exit 0). No SA_RESTART: the signal
// interrupts the sleep, so Ctrl-C takes effect at once. SIGBUS: see above.
void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  struct sigaction bus {};
  bus.sa_handler = report_sigbus;
  sigemptyset(&bus.sa_mask);
  bus.sa_flags = 0;
  ::sigaction(SIGBUS, &bus, nullptr);
}

void sleep_between_polls() {
  const timespec interval{0, 50'000'000};  // 50 ms: a person watching sees no lag
  ::nanosleep(&interval, nullptr);          // EINTR is how a stop request arrives
}

void note(const std::string& text) {
  std::cout.flush();  // keep stdout and stderr in order at a terminal
  std::cerr << "vrrl tail: " << text << '\n';
}

// One followed file and its Follower; replaced as a whole when the path is.
struct FollowState {
  std::unique_ptr<FollowedLog> log;
  std::optional<Follower> follower;  // empty while the cursor is implausible
  bool warned_implausible = false;
  bool warned_missing = false;
  std::string last_reopen_error;
};

// Sequence n is the n-th append (the header cursor is the running count).
// Start `lines` records back, but no further than the oldest still in the ring.
Follower follower_at_newest(const LogReader& reader, std::uint64_t lines) {
  const std::uint64_t capacity = reader.capacity();
  const std::uint64_t cursor = reader.appended();
  const std::uint64_t oldest = cursor > capacity ? cursor - capacity : 0;
  return Follower(reader, cursor - std::min(lines, cursor - oldest));
}

// Creates the Follower once the cursor is plausible; warns once while it is not.
bool ensure_follower(FollowState& state, const std::filesystem::path& path) {
  const std::uint64_t cursor = state.log->reader().appended();
  if (cursor >= format::max_cursor) {
    state.follower.reset();
    if (!state.warned_implausible) {
      note("the log's header cursor " + std::to_string(cursor) +
           " is implausible (at or above 2^61): the header is damaged, so no record can be read by sequence; "
           "waiting for a writer to restart the count (RingLog::open does). Fix: run `vrrl verify " +
           path.string() + "`");
      state.warned_implausible = true;
    }
    return false;
  }
  if (!state.follower) {
    if (state.warned_implausible) note("the log's cursor is plausible again; following from its oldest record");
    state.follower.emplace(state.log->reader());
    state.warned_implausible = false;
  }
  return true;
}

// On an idle poll: has the path been removed or replaced? Switches to the new file when it can be read.
void check_path(FollowState& state, const std::filesystem::path& path) {
  switch (state.log->path_state()) {
    case FollowedLog::PathState::same:
      return;
    case FollowedLog::PathState::missing:
      if (!state.warned_missing) {
        note("`" + path.string() + "` was removed; still showing the open file until a new log appears at the path");
        state.warned_missing = true;
      }
      return;
    case FollowedLog::PathState::replaced:
      break;
  }
  try {
    auto replacement = FollowedLog::open(path);
    state.follower.reset();  // before the reader it points into
    state.log = std::move(replacement);
    state.warned_implausible = false;
    state.warned_missing = false;
    state.last_reopen_error.clear();
    note("`" + path.string() + "` was replaced by another file; following the new log from its oldest record");
    (void)ensure_follower(state, path);
  } catch (const Error& e) {
    // Perhaps still being written (the seed sizes the file before its header); retry on the next idle poll.
    if (e.what() != state.last_reopen_error) {
      note("`" + path.string() + "` was replaced, but the new file cannot be read as a log yet (" +
           std::string(e.what()) + "); retrying");
      state.last_reopen_error = e.what();
    }
  }
}

int follow(const TailOptions& options) {
  if (!options.filters.streams.empty()) {
    throw UsageError("--stream picks streams of a recording directory, and `" + options.log.string() +
                     "` is a log file");
  }
  install_signal_handlers();
  prepare_sigbus_message(options.log);
  FollowState state;
  state.log = FollowedLog::open(options.log);
  if (state.log->reader().appended() < format::max_cursor) {
    state.follower.emplace(follower_at_newest(state.log->reader(), options.lines));
  }

  // Table widths cannot grow once rows are printed; size the timestamp column
  // for nanoseconds since the epoch (19 digits) up front.
  const RecordValue wide_sample{.slot = {.timestamp_ns = 1'000'000'000'000'000'000}, .failure = {}};
  RecordPrinter printer(std::cout, PrintOptions{.format = output_format_named(options.format)},
                        std::span<const RecordValue>(&wide_sample, 1));
  printer.print_header();
  RecordFilter filter(options.filters);

  unsigned busy_polls = 0;
  while (stop_requested == 0) {
    state.log->check_size();  // throws ErrorKind::truncated: main prints it, exit 1
    bool idle = true;
    if (ensure_follower(state, options.log)) {
      const PollResult result =
          state.follower->poll([&](std::uint64_t, const RecordedSlot& slot, const FailureEvidence& failure) {
            const RecordValue record{slot, failure};
            if (filter.matches(record)) printer.print(record);
          });
      std::cout.flush();
      if (result.implausible_cursor) {
        (void)ensure_follower(state, options.log);  // the cursor went bad between our check and the poll: warn
      }
      if (result.resynced) {
        note("the log's cursor went backwards (the log was recreated, or its writer keeps the cursor modulo "
             "capacity as the Rust seed does); following from the oldest record of the new count");
      }
      if (result.lost != 0) note(std::to_string(result.lost) + " records overwritten before they could be read");
      idle = result.delivered == 0 && result.lost == 0;
    }
    if (!std::cout) return exit_problems;  // main reports the failed write
    // Idle polls look at the path; so does every 20th busy one, in case a writer
    // keeps appending to the old file after a new one took its name.
    if (idle || ++busy_polls == 20) {
      check_path(state, options.log);
      busy_polls = 0;
    }
    sleep_between_polls();
  }
  return exit_ok;
}

std::size_t stream_column_width(const std::vector<std::string>& streams) {
  std::size_t width = std::string_view("stream").size();
  for (const std::string& name : streams) width = std::max(width, name.size());
  return width;
}

// tail -f DIR: a RecordingFollower merges the streams behind its watermark,
// picks up new segments and streams, and counts what retention removed first.
int follow_recording(const TailOptions& options) {
  install_signal_handlers();
  prepare_sigbus_message(options.log);
  RecordingFollower follower(options.log);
  const std::vector<std::string> wanted = stream_names(options.filters);
  for (const std::string& name : wanted) {
    const auto streams = follower.streams();
    if (std::find(streams.begin(), streams.end(), name) == streams.end()) {
      note("`" + options.log.string() + "` has no stream `" + name + "` yet; waiting for it");
    }
  }
  const auto selected_stream = [&](std::string_view stream) {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), stream) != wanted.end();
  };
  RecordFilter filter(options.filters);
  const RecordValue wide_sample{.slot = {.timestamp_ns = 1'000'000'000'000'000'000}, .failure = {}};
  RecordPrinter printer(std::cout,
                        PrintOptions{.format = output_format_named(options.format),
                                     .stream_width = stream_column_width(follower.streams())},
                        std::span<const RecordValue>(&wide_sample, 1));
  printer.print_header();

  std::vector<FollowedRecord> batch;
  std::uint64_t lost = 0;
  const auto print_selected = [&](const FollowedRecord& followed) {
    const RecordValue record{followed.slot, followed.evidence};
    if (selected_stream(followed.stream) && filter.matches(record)) printer.print(record, followed.stream);
  };
  // What is there already: only the newest -n records of it are printed.
  {
    std::deque<FollowedRecord> newest;
    const auto keep_newest = [&] {
      for (FollowedRecord& record : batch) {
        if (options.lines == 0) break;
        if (newest.size() == options.lines) newest.pop_front();
        newest.push_back(record);
      }
    };
    for (;;) {  // in bounded batches, so a long recording is never held whole
      batch.clear();
      const RecordingPollResult result = follower.poll(batch, 4096);
      lost += result.lost;
      keep_newest();
      if (result.delivered == 0) break;
    }
    // What the watermark holds back is there already too: release it, so -n
    // counts from the true newest record.
    batch.clear();
    lost += follower.drain(batch).lost;
    keep_newest();
    for (const FollowedRecord& record : newest) print_selected(record);
  }
  while (stop_requested == 0) {
    std::cout.flush();
    if (lost != 0) {
      note(std::to_string(lost) + " records lost (overwritten, never completed, or in a segment that was removed "
                                  "before it could be read)");
      lost = 0;
    }
    if (!std::cout) return exit_problems;  // main reports the failed write
    sleep_between_polls();
    batch.clear();
    const RecordingPollResult result = follower.poll(batch);
    for (const FollowedRecord& record : batch) print_selected(record);
    lost += result.lost;
    if (result.new_streams != 0) note(std::to_string(result.new_streams) + " new stream(s) in the recording");
  }
  // Stopping: what the watermark still holds is complete; print it.
  batch.clear();
  follower.drain(batch);
  for (const FollowedRecord& record : batch) print_selected(record);
  return exit_ok;
}

int run_tail(const TailOptions& options) {
  std::error_code ignored;
  const bool directory = std::filesystem::is_directory(options.log, ignored);
  if (options.follow) return directory ? follow_recording(options) : follow(options);

  const RecordSource source = RecordSource::open(options.log);
  struct Newest {
    RecordValue value;
    std::string_view stream;
  };
  std::deque<Newest> newest;
  const ReadReport report = source.read(
      [&](const SourceRecord& record) {
        if (options.lines == 0) return false;
        if (newest.size() == options.lines) newest.pop_front();
        newest.push_back({record.value, record.stream});
        return true;
      },
      stream_names(options.filters));
  std::vector<RecordValue> records;
  std::vector<std::string_view> streams;
  RecordFilter filter(options.filters);
  for (const Newest& record : newest) {
    if (!filter.matches(record.value)) continue;
    records.push_back(record.value);
    streams.push_back(record.stream);
  }
  const std::size_t stream_width = source.is_recording() ? stream_column_width(source.recording()->streams()) : 0;
  RecordPrinter printer(std::cout, PrintOptions{.format = output_format_named(options.format), .stream_width = stream_width},
                        records);
  printer.print_header();
  for (std::size_t i = 0; i < records.size(); ++i) printer.print(records[i], streams[i]);
  return report_skipped("tail", report, options.log) ? exit_problems : exit_ok;
}

}  // namespace

Command add_tail_command(CLI::App& vrrl) {
  auto options = std::make_shared<TailOptions>();
  CLI::App* tail = vrrl.add_subcommand("tail", "Print the newest records; -f keeps following a log being written");
  tail->footer(
      "With -f, keeps printing records as another process appends them, until SIGINT/SIGTERM (exit 0). It\n"
      "opens the log read-only and takes no lock, so it never blocks the writer. Records the writer overwrites\n"
      "before tail reads them are counted on stderr. When the path is replaced (rm + re-create, mv), tail says\n"
      "so and follows the new log from its oldest record; when the log is truncated, it ends with exit 1.\n"
      "A recording directory is followed as a whole: new segments and streams, streams merged by timestamp.");
  tail->add_option("LOG", options->log, "the log file, or a recording directory (its streams merged)")->required();
  tail->add_flag("-f,--follow", options->follow, "keep following the log as it grows");
  tail->add_option("-n,--lines", options->lines,
                   "start with the newest N records of the log (counted before the filters)")
      ->default_str("10")
      ->check(digits_only());
  tail->add_option("--format", options->format, "jsonl, csv or table")
      ->check(CLI::IsMember(output_format_names()))
      ->option_text("jsonl|csv|table (default: table)");
  add_filter_options(*tail, options->filters, TimeRange::not_offered);
  return {tail, [options] { return run_tail(*options); }};
}

}  // namespace vrrl::cli
