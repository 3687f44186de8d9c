// vrrl ship LOG|DIR --server URL --stream NAME: follow a log (or every stream
// of a recording) and publish its records to a NATS JetStream stream, exactly
// once, resuming where it stopped.
#include <signal.h>

#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <vrrl/ring_log.hpp>

#include "commands.hpp"
#include "connection_options.hpp"
#include "cursor_file.hpp"
#include "failure.hpp"
#include "log_source.hpp"
#include "message.hpp"
#include "names.hpp"
#include "nats_transport.hpp"
#include "recording_source.hpp"
#include "shipper.hpp"

namespace vrrl::cli {
namespace {

struct ShipOptions {
  std::filesystem::path input;
  ConnectionOptions connection;
  std::string stream;
  std::optional<std::string> subject;
  std::optional<std::string> name;
  std::optional<std::string> source_id;
  bool once = false;
  std::uint64_t batch = 256;
  std::uint64_t max_pending = 64;
  std::optional<int> replicas;
  std::optional<std::int64_t> max_bytes;
  std::uint64_t duplicate_window = 120;
  std::optional<std::filesystem::path> cursor_dir;
  bool stats = false;
};

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void request_ship_stop(int) { stop_requested = 1; }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_ship_stop;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

std::string checked_source_id(const ShipOptions& options) {
  if (options.source_id) {
    if (!ship::is_valid_source_id(*options.source_id)) {
      throw UsageError("--source-id `" + *options.source_id +
                       "` is not of the form [A-Za-z0-9._-]{1,128} (not starting or ending with '.', no '..')");
    }
    return *options.source_id;
  }
  std::string host = ship::default_source_id();
  if (host.empty()) {
    throw UsageError("this machine's hostname is not usable as a source id ([A-Za-z0-9._-]{1,128}); pass --source-id");
  }
  return host;
}

std::string checked_name(const ShipOptions& options) {
  const std::string name = options.name.value_or(options.input.stem().string());
  if (!ship::is_valid_stream_name(name)) {
    throw UsageError((options.name ? "--name `" : "the log's file name `") + name +
                     "` is not a stream name ([A-Za-z0-9._-]{1,128}, not starting with '.'); pass --name");
  }
  return name;
}

// Beside the log (LOG.ship-STREAM.cursor), inside a recording's stream
// directory as a dotfile readers ignore (.ship-STREAM.cursor), or in --cursor-dir.
std::filesystem::path cursor_path(const ShipOptions& options, const std::string& name, bool in_recording) {
  const std::string suffix = ".ship-" + options.stream + ".cursor";
  if (options.cursor_dir) return *options.cursor_dir / (name + suffix);
  if (in_recording) return options.input / name / suffix;
  return options.input.string() + suffix;
}

// Where to start: the cursor file's position, after checking that it belongs
// to this log and shipper, or the stream's first sequence. `appended` is how
// far the log or stream has been written.
std::uint64_t start_position(const ship::CursorFile& cursor_file, const std::string& source_id,
                             const std::string& name, const std::filesystem::path& log, std::uint64_t appended) {
  const auto cursor = cursor_file.load();
  if (!cursor) return 0;
  if (cursor->source_id != source_id || cursor->stream_name != name) {
    throw ship::Failure("the cursor file `" + cursor_file.path().string() + "` was written for source " +
                            cursor->source_id + " name " + cursor->stream_name + ", not " + source_id + " name " + name,
                        "pass the same --source-id and --name as before, or delete the cursor file to ship the log "
                        "afresh under the new names");
  }
  if (cursor->next_sequence > appended) {
    throw ship::Failure("the cursor file `" + cursor_file.path().string() + "` says sequence " +
                            std::to_string(cursor->next_sequence) + " was shipped, but `" + log.string() +
                            "` has only " + std::to_string(appended) + " records: it was recreated",
                        "ship the new log under another --name (or into another --stream), then delete the "
                        "cursor file");
  }
  return cursor->next_sequence;
}

void print_summary(const ship::ShipStats& stats, const std::string& name) {
  const double seconds = std::chrono::duration<double>(stats.elapsed).count();
  const double rate = seconds > 0 ? static_cast<double>(stats.records) / seconds : 0.0;
  std::printf("vrrl ship: %s: %" PRIu64 " records shipped in %" PRIu64 " messages, %" PRIu64
              " sequences announced lost, %" PRIu64 " already in the stream, %" PRIu64 " resent; %.2f s, %.0f records/s, "
              "%.1f MB/s of records\n",
              name.c_str(), stats.records, stats.messages, stats.lost, stats.already_stored, stats.resends, seconds,
              rate, rate * static_cast<double>(format::record_bytes) / 1e6);
  if (stats.unacknowledged != 0) {
    std::printf("vrrl ship: %" PRIu64 " messages were not acknowledged before stopping; the next run sends them again\n",
                stats.unacknowledged);
  }
  if (stats.incomplete != 0) {
    std::printf("vrrl ship: the newest %" PRIu64 " records are still being written; the next run ships them\n",
                stats.incomplete);
  }
  if (stats.overlapping != 0) {
    std::printf("vrrl ship: %" PRIu64 " records are in the stream twice (an earlier run was killed after a timeout); "
                "vrrl pull keeps one copy\n",
                stats.overlapping);
  }
}

int run_ship(const ShipOptions& options) {
  if (!ship::is_valid_jetstream_name(options.stream)) {
    throw UsageError("--stream `" + options.stream + "` is not a JetStream stream name ([A-Za-z0-9_-]{1,128})");
  }
  const std::string source_id = checked_source_id(options);
  const std::string subject = options.subject.value_or(ship::default_subject(source_id));
  if (!ship::is_valid_subject(subject)) {
    throw UsageError("--subject `" + subject + "` is not a subject to publish on (tokens of [A-Za-z0-9_-] separated by '.')");
  }
  const bool recording = std::filesystem::is_directory(options.input);
  std::vector<ship::ShippedStream> streams;
  std::uint32_t capacity = 1;
  ship::DiscoverStreams discover;
  std::string what;  // for the summary
  if (recording) {
    if (options.name) {
      throw UsageError("--name names a single log; a recording's streams are named by their directories");
    }
    const ship::RecordingLayout layout = ship::read_recording_layout(options.input);
    capacity = static_cast<std::uint32_t>(layout.segment_capacity);
    auto shipped = std::make_shared<std::set<std::string>>();
    auto open_stream = [options, source_id, layout](const std::string& name) {
      ship::CursorFile cursor_file(cursor_path(options, name, true));
      auto probe = std::make_unique<ship::RecordingStreamSource>(options.input / name, name, layout.segment_capacity, 0);
      const std::uint64_t start = start_position(cursor_file, source_id, name, options.input / name, probe->end());
      probe->seek(start);
      return ship::ShippedStream{std::move(probe), std::move(cursor_file)};
    };
    for (const std::string& name : ship::recording_streams(options.input)) {
      streams.push_back(open_stream(name));
      shipped->insert(name);
    }
    discover = [options, shipped, open_stream] {
      std::vector<ship::ShippedStream> added;
      for (const std::string& name : ship::recording_streams(options.input)) {
        if (shipped->insert(name).second) added.push_back(open_stream(name));
      }
      return added;
    };
    what = source_id + ":" + options.input.filename().string() + " (" + std::to_string(streams.size()) + " streams)";
  } else {
    const std::string name = checked_name(options);
    ship::CursorFile cursor_file(cursor_path(options, name, false));
    const std::uint64_t start =
        start_position(cursor_file, source_id, name, options.input, LogReader::open(options.input).appended());
    auto source = std::make_unique<ship::LogSource>(options.input, name, start);
    capacity = source->capacity();
    streams.push_back({std::move(source), std::move(cursor_file)});
    what = source_id + ":" + name;
  }

  ship::NatsLibrary library;  // outlives the publisher below
  ship::NatsSettings settings = nats_settings(options.connection, "vrrl ship");
  settings.client_name = "vrrl ship " + what;
  settings.max_pending = static_cast<int>(options.max_pending);
  // The longest stream name a message can carry, for the size check against the stream's limit.
  const ship::StreamIdentity identity{source_id, std::string(ship::max_name_bytes, 'x'), capacity};
  settings.largest_message = ship::message_bytes(identity, options.batch);

  ship::StreamRequirements requirements;
  requirements.name = options.stream;
  requirements.publish_subject = subject;
  requirements.subjects_if_created = ship::subjects_to_create(subject);
  requirements.replicas = options.replicas;
  requirements.max_bytes = options.max_bytes;
  requirements.duplicate_window = std::chrono::seconds(options.duplicate_window);
  requirements.largest_message = settings.largest_message;
  const auto publisher = ship::open_nats_publisher(settings, requirements);

  ship::ShipperOptions shipper_options;
  shipper_options.source_id = source_id;
  shipper_options.jetstream_stream = options.stream;
  shipper_options.batch_records = options.batch;
  shipper_options.max_pending = options.max_pending;
  shipper_options.once = options.once;
  shipper_options.max_outage = settings.max_outage;
  shipper_options.drain_timeout = 2 * settings.ack_timeout;
  shipper_options.progress_interval = std::chrono::seconds(options.stats ? 1 : 0);
  ship::Shipper shipper(*publisher, std::move(streams), shipper_options, discover);

  install_stop_handlers();
  const ship::ShipStats stats = shipper.run(stop_requested);
  print_summary(stats, what);
  return exit_ok;
}

}  // namespace

Command add_ship_command(CLI::App& vrrl) {
  auto options = std::make_shared<ShipOptions>();
  CLI::App* ship = vrrl.add_subcommand("ship", "Publish a log's records to a NATS JetStream stream, exactly once");
  ship->footer(
      "Follows LOG like `tail -f` (read-only, no lock, never a torn record) and publishes its records in\n"
      "batches, each with the id <source>:<name>:<first sequence> so the stream drops resent copies. Records\n"
      "overwritten before they could be shipped are announced in a gap message. The position is kept in\n"
      "LOG.ship-STREAM.cursor, written after the acknowledgements: a restart resumes without duplicates or\n"
      "holes. Without --once it follows until SIGINT/SIGTERM, then waits for the outstanding acknowledgements.\n"
      "A recording directory ships each stream directory as its own name (new ones are picked up while\n"
      "following), reading its segments in order; the cursor files are DIR/STREAM/.ship-STREAM.cursor.\n" +
      connection_footer());
  ship->add_option("LOG|DIR", options->input, "the log, or recording directory (every stream in it), to ship")
      ->required();
  add_connection_options(*ship, options->connection);
  ship->add_option("--stream", options->stream, "the JetStream stream (created if missing)")->required();
  ship->add_option("--subject", options->subject, "subject to publish on (default: vrrl.<source id>)");
  ship->add_option("--name", options->name, "the stream name of this log in the recording (default: the file's stem)");
  ship->add_option("--source-id", options->source_id, "who ships (default: the hostname)");
  ship->add_flag("--once", options->once, "ship what is in the log now, then exit");
  ship->add_option("--batch", options->batch, "records per message")
      ->default_str("256")
      ->check(digits_only())
      ->check(CLI::Range(std::uint64_t{1}, ship::message_format::max_records));
  ship->add_option("--max-pending", options->max_pending, "messages published but not yet acknowledged, at most")
      ->default_str("64")
      ->check(digits_only())
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1024}));
  ship->add_option("--replicas", options->replicas, "replicas of a stream vrrl creates (checked on an existing one)")
      ->check(CLI::Range(1, 5));
  ship->add_option("--max-bytes", options->max_bytes,
                   "size limit of a stream vrrl creates, oldest messages dropped first (checked on an existing one)")
      ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()));
  ship->add_option("--duplicate-window", options->duplicate_window,
                   "seconds a stream vrrl creates remembers message ids to drop resent copies")
      ->default_str("120")
      ->check(digits_only())
      ->check(CLI::Range(std::uint64_t{10}, std::uint64_t{86400}));
  ship->add_option("--cursor-dir", options->cursor_dir, "keep the cursor file here instead of beside the log");
  ship->add_flag("--stats", options->stats, "print progress every second, with records/s and MB/s");
  return {ship, [options] {
            try {
              return run_ship(*options);
            } catch (const ship::Failure& failure) {
              std::cout.flush();
              std::cerr << "vrrl ship: " << failure.line() << '\n';
              return exit_problems;
            }
          }};
}

}  // namespace vrrl::cli
