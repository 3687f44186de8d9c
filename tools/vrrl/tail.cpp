// vrrl tail [-f] LOG: the newest records; with -f, keep printing records as
// another process appends them, until SIGINT or SIGTERM.
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

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

// --- Reading published records by sequence -----------------------------------
// TODO(follower): this loop predates vrrl::Follower (include/vrrl/follower.hpp),
// which implements the same validation inside the library; move onto it once
// it is committed. Sequence n is the n-th append (header cursor = running
// count), stored in slot n % capacity. A copy is trusted only if the slot's
// magic reads 0xDEADBEEF before and after the copy and the cursor has not
// reached n + capacity + 1 (a later record in the slot would have been
// published), per the publish protocol in include/vrrl/ring_log.hpp.

std::uint32_t load_acquire_u32(const std::byte* at) {
  // Loads only; the mapping is read-only and the field is 4-byte aligned.
  return std::atomic_ref<std::uint32_t>(*const_cast<std::uint32_t*>(reinterpret_cast<const std::uint32_t*>(at)))
      .load(std::memory_order_acquire);
}

std::uint64_t load_acquire_cursor(const std::byte* base) {
  return std::atomic_ref<std::uint64_t>(
             *const_cast<std::uint64_t*>(reinterpret_cast<const std::uint64_t*>(base + format::header_offset::cursor)))
      .load(std::memory_order_acquire);
}

enum class ReadStatus { complete, not_yet, gone };

ReadStatus read_sequence(const LogReader& reader, std::uint64_t sequence, RecordValue& out) {
  const std::byte* base = reader.data();
  const std::uint64_t capacity = reader.capacity();
  const std::byte* record = base + format::record_position(sequence % capacity);
  const std::uint32_t magic = load_acquire_u32(record + format::record_offset::magic);
  if (magic != format::record_magic) {
    // Magic 0 right behind the cursor: the writer is between its cursor and magic stores.
    const bool publishing = magic == format::empty_record_magic && load_acquire_cursor(base) == sequence + 1;
    return publishing ? ReadStatus::not_yet : ReadStatus::gone;
  }
  std::byte copy[format::record_bytes];
  std::memcpy(copy, record, sizeof copy);
  std::atomic_thread_fence(std::memory_order_acquire);  // pairs with the writer's fence after clearing the magic
  if (load_acquire_u32(record + format::record_offset::magic) != format::record_magic ||
      load_acquire_cursor(base) > sequence + capacity) {
    return ReadStatus::gone;
  }
  out = copy_record(RecordView(copy));
  return ReadStatus::complete;
}

// Prints sequences [next, cursor) that are still in the ring; returns the new
// `next`. Counts records overwritten before they could be read in `lost`.
std::uint64_t print_new_records(const LogReader& reader, std::uint64_t next, RecordPrinter& printer,
                                std::uint64_t& lost) {
  const std::uint64_t capacity = reader.capacity();
  const std::uint64_t cursor = reader.appended();
  while (next < cursor) {
    const std::uint64_t current = reader.appended();
    if (current - next > capacity) {  // lapped: these were overwritten
      lost += current - capacity - next;
      next = current - capacity;
      continue;
    }
    RecordValue record;
    const ReadStatus status = read_sequence(reader, next, record);
    if (status == ReadStatus::not_yet) break;
    if (status == ReadStatus::gone) {
      // Overwritten under us, or a record whose append never completed.
      if (reader.appended() - next <= capacity) ++lost, ++next;
      continue;
    }
    printer.print(record);
    ++next;
  }
  return next;
}

int follow(const TailOptions& options, const LogReader& reader) {
  install_stop_handlers();
  const std::uint64_t capacity = reader.capacity();
  std::uint64_t cursor = reader.appended();
  const std::uint64_t oldest = cursor > capacity ? cursor - capacity : 0;
  std::uint64_t next = cursor - std::min(options.lines, cursor - oldest);

  // Table widths cannot grow once rows are printed; size the timestamp column
  // for nanoseconds since the epoch (19 digits) up front.
  const RecordValue wide_sample{.slot = {.timestamp_ns = 1'000'000'000'000'000'000}, .failure = {}};
  RecordPrinter printer(std::cout, output_format_named(options.format), std::span<const RecordValue>(&wide_sample, 1));
  printer.print_header();

  while (stop_requested == 0) {
    const std::uint64_t now = reader.appended();
    if (now < next) {
      // The writer restarted the count (recreated log, or a writer that keeps
      // the cursor modulo capacity, as the Rust seed does).
      std::cout.flush();
      std::cerr << "vrrl tail: the log's cursor went back from " << next << " to " << now
                << "; following from there.\n";
      next = now;
    }
    std::uint64_t lost = 0;
    next = print_new_records(reader, next, printer, lost);
    std::cout.flush();
    if (lost != 0) std::cerr << "vrrl tail: " << lost << " records overwritten before they could be read\n";
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
