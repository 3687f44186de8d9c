// vrrl convert --to v1|v2 IN OUT: a new log in the chosen format holding IN's
// records in replay order.
//
// IN is read as the other read commands read a log: a validated snapshot
// (vrrl::read_snapshot), so a live log converts without torn records, and a
// v2 log gives exactly the records that check (torn and corrupted slots, and
// stale records, are left out; records past the cursor come last, as replay
// yields them). OUT is written by the library's own writer (RingLog, or
// SharedRingLog when IN carries the multi-producer flag, so OUT carries it
// too), under a temporary name beside OUT, synced, and renamed into place:
// OUT is either absent (or the file it replaces) or complete.
#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include <vrrl/follower.hpp>
#include <vrrl/multi_producer.hpp>
#include <vrrl/ring_log.hpp>
#include <vrrl/slot_state.hpp>

#include "command.hpp"
#include "log_flags.hpp"
#include "staged_file.hpp"
#include "stdout_summary.hpp"

namespace vrrl::cli {
namespace {

struct ConvertOptions {
  std::string to;
  std::filesystem::path in;
  std::filesystem::path out;
  std::optional<std::uint64_t> capacity;
  bool force = false;
};

std::string format_name(Format format) { return format == Format::v2 ? "VRRL v2" : "VRRL v1"; }

Error refusal(ErrorKind kind, const std::filesystem::path& path, std::string what, std::string fix, int error = 0) {
  return Error({.kind = kind,
                .operation = "convert",
                .path = path,
                .what_is_wrong = std::move(what),
                .fix = std::move(fix),
                .errno_value = error,
                .slot = std::nullopt});
}

// A recording is many logs: there is no one file to convert.
void refuse_directory_input(const std::filesystem::path& in) {
  std::error_code ignored;
  if (!std::filesystem::is_directory(in, ignored)) return;
  throw refusal(ErrorKind::not_a_log_file, in,
                "IN is a directory (a recording, or no log at all); convert takes one log file",
                "give one log file: each segment of a recording (DIR/STREAM/NNNNNNNNNNNNNNNNNNNN.vrrl) is a v1 log "
                "that converts on its own, and `vrrl dump DIR | vrrl import OUT --capacity N` merges a recording "
                "into one log");
}

// OUT must be a new path, or with --force an ordinary file nobody appends to.
void check_output_path(const ConvertOptions& options) {
  std::error_code error;
  const std::filesystem::file_status out = std::filesystem::symlink_status(options.out, error);
  if (out.type() != std::filesystem::file_type::not_found) {
    if (std::filesystem::equivalent(options.in, options.out, error)) {
      throw refusal(ErrorKind::io, options.out, "IN and OUT are the same file; convert writes a new file",
                    "give OUT a path of its own; to convert in place, convert to a new path and rename it over IN "
                    "once no writer has IN open");
    }
    if (std::filesystem::is_directory(options.out, error)) {
      throw refusal(ErrorKind::not_a_log_file, options.out, "OUT is a directory",
                    "give the path of the file to create, e.g. " + (options.out / options.in.filename()).string());
    }
    if (!options.force) {
      throw refusal(ErrorKind::io, options.out, "OUT already exists, and convert does not overwrite a file",
                    "choose another path, or give --force to replace it", EEXIST);
    }
    if (out.type() != std::filesystem::file_type::regular && out.type() != std::filesystem::file_type::symlink) {
      throw refusal(ErrorKind::not_a_log_file, options.out,
                    "OUT is not a regular file, and --force replaces only regular files",
                    "choose another path");
    }
    if (std::filesystem::is_regular_file(options.out, error) && is_locked_by_writer(options.out)) {
      throw refusal(ErrorKind::locked, options.out,
                    "a writer holds OUT open: replacing it would leave that writer appending to a file no reader "
                    "can open any more",
                    "stop the writer first, or choose another path");
    }
  }
  const std::filesystem::path directory = options.out.parent_path().empty() ? "." : options.out.parent_path();
  if (!std::filesystem::is_directory(directory, error)) {
    throw refusal(ErrorKind::io, options.out, "the directory `" + directory.string() + "` does not exist",
                  "create it first, or give OUT in an existing directory", ENOENT);
  }
}

// SIGINT, SIGTERM, SIGHUP and SIGQUIT wait while the object lives: they end
// the process only after the temporary file is renamed into place or removed.
// A conversion reads one log of at most 2^20 records, so the wait is short.
class SignalsDeferred {
 public:
  SignalsDeferred() {
    sigset_t deferred;
    sigemptyset(&deferred);
    for (const int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&deferred, signal_number);
    ::sigprocmask(SIG_BLOCK, &deferred, &previous_);
  }
  SignalsDeferred(const SignalsDeferred&) = delete;
  SignalsDeferred& operator=(const SignalsDeferred&) = delete;
  ~SignalsDeferred() { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_{};
};

// The writer of OUT: a RingLog, or a SharedRingLog, which sets the
// multi-producer flag (records in claim order) that IN carries. Appends come
// from this one thread, so claim order is the order given.
class OutputLog {
 public:
  OutputLog(const std::filesystem::path& path, std::uint64_t capacity, Format format, bool multi_producer) {
    const OpenOptions options{.format = format};
    if (multi_producer) {
      shared_.emplace(SharedRingLog::open(path, capacity, options));
    } else {
      single_.emplace(RingLog::open(path, capacity, options));
    }
  }

  void append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept {
    if (single_) {
      single_->append(slot, evidence);
    } else {
      shared_->append(slot, evidence);
    }
  }
  // Twice: the first sync makes the records durable and then records that in
  // v2's `synced` word; the second makes that word durable too, so OUT on
  // disk vouches for every record it holds.
  void sync_twice() {
    for (int round = 0; round < 2; ++round) single_ ? single_->sync() : shared_->sync();
  }

 private:
  std::optional<RingLog> single_;
  std::optional<SharedRingLog> shared_;
};

// FailureEvidence reads a failure_class number this vrrl does not know as
// `unclassified`; OUT must carry the stored number. The snapshot's copy was
// validated, so the mapping is read again for that one field and the number
// used only when the bytes there still decode to the very record delivered
// (a live writer may have reused the slot since).
FailureEvidence with_stored_failure_class(const LogReader& log, std::uint64_t slot_index, const RecordedSlot& slot,
                                          FailureEvidence evidence) {
  if (evidence.failure_class != FailureClass::unclassified) return evidence;
  const RecordView stored(log.data() + log.layout().record_position(slot_index));
  const std::uint32_t number = stored.failure_class_raw();
  if (stored.slot() == slot && stored.failure() == evidence) evidence.failure_class = static_cast<FailureClass>(number);
  return evidence;
}

// How the slots a snapshot could not deliver divide (docs/format.md, "VRRL v2").
struct DroppedSlots {
  std::uint64_t torn = 0;
  std::uint64_t corrupted = 0;
};

DroppedSlots classify_dropped(const LogReader& log, const SnapshotReport& report, std::uint64_t cursor) {
  DroppedSlots dropped;
  if (log.format() != Format::v2) return dropped;
  for (const std::uint64_t slot : report.bad_slots) {
    const SlotState state = v2_slot_state(log.data() + log.layout().record_position(slot), slot, cursor,
                                          log.capacity(), log.synced());
    if (state == SlotState::torn) ++dropped.torn;
    if (state == SlotState::corrupted) ++dropped.corrupted;
  }
  return dropped;
}

// What the snapshot stepped over, one stderr line each; true when records
// were dropped for being damaged (convert then exits 1).
bool report_left_out(const ConvertOptions& options, const LogReader& in, const SnapshotReport& report,
                     std::uint64_t cursor) {
  const std::string name = "`" + options.in.string() + "`";
  std::cout.flush();  // keep stdout and stderr in order at a terminal
  if (report.implausible_cursor) {
    std::cerr << "vrrl convert: note: the header cursor of " << name << " is implausible (at or above 2^61): the "
              << "records were read in slot order from cursor % capacity, as replay reads them\n";
  }
  if (const std::uint32_t unknown = in.flags() & ~known_flags; unknown != 0) {
    char bits[11];
    std::snprintf(bits, sizeof bits, "0x%08X", unknown);
    std::cerr << "vrrl convert: note: header flag bits " << bits << " of " << name
              << " mean nothing to this vrrl and were not carried over\n";
  }
  if (report.overwritten != 0) {
    std::cerr << "vrrl convert: note: " << report.overwritten << " record(s) of " << name
              << " were being overwritten by a writer while they were read and were left out; OUT is a snapshot of "
                 "a moving log\n";
  }
  if (report.stale_records != 0) {
    std::cerr << "vrrl convert: note: " << report.stale_records << " stale record(s) of " << name
              << " (an older lap, left by a power cut) were left out, as replay leaves them out\n";
  }
  if (report.beyond_cursor != 0) {
    std::cerr << "vrrl convert: note: " << report.beyond_cursor << " record(s) of " << name
              << " past its header cursor (written after the header reached the disk, before a power cut) were "
                 "converted after the others, in sequence order, as replay yields them\n";
  }
  if (report.bad_slots.empty()) return false;
  std::cerr << "vrrl convert: dropped " << report.bad_slots.size() << " slot(s) of " << name;
  if (in.format() == Format::v2) {
    const DroppedSlots dropped = classify_dropped(in, report, cursor);
    std::cerr << " whose commit word checks for no sequence near their own (" << dropped.torn << " torn, "
              << dropped.corrupted << " corrupted";
    if (const std::uint64_t other = report.bad_slots.size() - dropped.torn - dropped.corrupted; other != 0) {
      std::cerr << ", " << other << " changed while read";
    }
    std::cerr << ")";
  } else {
    std::cerr << " with a foreign record magic";
  }
  std::cerr << " (first: slot " << report.bad_slots.front() << "); `" << options.out.string()
            << "` holds every other record. Fix: `vrrl verify " << options.in.string()
            << "` lists them; their records are lost unless a copy of IN has them.\n";
  return true;
}

int run_convert(const ConvertOptions& options) {
  // The exit status must say whether OUT was written, whoever reads our summary.
  ::signal(SIGPIPE, SIG_IGN);
  const Format to = options.to == "v2" ? Format::v2 : Format::v1;
  refuse_directory_input(options.in);
  const LogReader in = LogReader::open(options.in);  // missing, foreign, truncated: the library's error
  check_output_path(options);
  const std::uint64_t capacity = options.capacity.value_or(in.capacity());
  const bool multi_producer = (in.flags() & format::flag_multi_producer) != 0;

  const SignalsDeferred deferred;  // declared first: outlives the temporary file
  StagedFile staged(options.out, options.force);
  const std::uint64_t cursor = in.appended();  // for naming dropped slots; read_snapshot loads its own
  SnapshotReport report;
  {
    OutputLog out(staged.temporary(), capacity, to, multi_producer);
    report = read_snapshot(in, Recovery::skip_bad_slots,
                           [&](std::uint64_t slot_index, const RecordedSlot& slot, const FailureEvidence& evidence) {
                             out.append(slot, with_stored_failure_class(in, slot_index, slot, evidence));
                           });
    out.sync_twice();
  }  // closed (unlocked) before it gets its name
  staged.commit();

  std::string summary = "vrrl convert: wrote " + options.out.string() + " (" + format_name(to) + ", capacity " +
                        std::to_string(capacity) + (multi_producer ? ", multi-producer" : "") + "): " +
                        std::to_string(report.records) + " records from " + options.in.string() + " (" +
                        format_name(in.format()) + ", capacity " + std::to_string(in.capacity()) + ")\n";
  if (report.records > capacity) {
    summary += "vrrl convert: note: OUT keeps the newest " + std::to_string(capacity) + " of the " +
               std::to_string(report.records) + " records (--capacity " + std::to_string(capacity) + ")\n";
  }
  if (!write_summary(summary)) {
    std::cerr << "vrrl convert: note: `" << options.out.string() << "` was written and synced, but the summary "
              << "could not be written to standard output\n";
  }
  return report_left_out(options, in, report, cursor) ? exit_problems : exit_ok;
}

}  // namespace

Command add_convert_command(CLI::App& vrrl) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* convert = vrrl.add_subcommand(
      "convert", "Write IN's records to a new log OUT in format v1 or v2 (v2 to v1: the records that check)");
  convert->footer(
      "Reads IN (a log of either format) as a validated snapshot, in replay order, so a live log converts\n"
      "without torn records, and writes the records to OUT with the library's writer: same capacity by default\n"
      "(a smaller --capacity keeps the newest), every field and the failure evidence byte for byte, the\n"
      "multi-producer flag kept. From v2, torn and corrupted slots and stale records are left out, and records\n"
      "past the cursor come last, as replay yields them. OUT's cursor counts the records written. OUT is\n"
      "written under a temporary name beside it, synced and renamed into place, so a failure leaves no half\n"
      "file; an existing OUT is replaced only with --force, never when it is IN. A recording directory is\n"
      "refused: convert its segments one by one. Exit 1 when slots of IN were dropped as damaged (OUT is\n"
      "written; stderr says how many, of which kind) or when the conversion failed (OUT is left as it was).");
  convert->add_option("--to", options->to, "the format of OUT: v1 (the seed's) or v2 (checked records)")
      ->required()
      ->check(CLI::IsMember({"v1", "v2"}));
  convert->add_option("IN", options->in, "the log to read (v1 or v2; need not be quiet)")->required();
  convert->add_option("OUT", options->out, "the new log to write")->required();
  convert
      ->add_option("--capacity", options->capacity,
                   "slots of OUT (1.." + std::to_string(format::max_capacity) + "; default: IN's capacity)")
      ->check(digits_only())
      ->check(CLI::Range(std::uint64_t{1}, format::max_capacity));
  convert->add_flag("--force", options->force, "replace OUT if it exists (never IN itself, nor a log a writer holds)");
  return {convert, [options] { return run_convert(*options); }};
}

}  // namespace vrrl::cli
