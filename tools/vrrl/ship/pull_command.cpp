// vrrl pull --server URL --stream NAME OUT_DIR: rebuild, as a recording
// directory, what was shipped into a JetStream stream: one recording stream
// per (source id, stream name), every sequence accounted for.
#include <time.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "commands.hpp"
#include "connection_options.hpp"
#include "failure.hpp"
#include "names.hpp"
#include "nats_transport.hpp"
#include "puller.hpp"

namespace vrrl::cli {
namespace {

struct PullCommandOptions {
  std::filesystem::path out_dir;
  ConnectionOptions connection;
  std::string stream;
  std::optional<std::string> since;
  std::optional<std::string> subject;
  std::optional<std::uint64_t> segment_capacity;
  std::uint64_t reorder_window = 256;
};

// "2026-12-01T10:00:00Z", "2026-12-01T10:00:00.250Z", "2026-12-01" (UTC), or
// a time ago: "90s", "15m", "2h", "3d". Nanoseconds since the epoch.
std::optional<std::int64_t> parse_since(const std::string& text, std::int64_t now_ns) {
  if (text.size() >= 2 && text.find_first_not_of("0123456789") == text.size() - 1) {
    const std::int64_t amount = std::stoll(text.substr(0, text.size() - 1));
    std::int64_t unit = 0;
    switch (text.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return std::nullopt;
    }
    if (amount > 100LL * 365 * 86400 / unit) return std::nullopt;
    return now_ns - amount * unit * 1'000'000'000;
  }
  struct tm parts {};
  const char* rest = ::strptime(text.c_str(), "%Y-%m-%d", &parts);
  if (rest == nullptr) return std::nullopt;
  std::int64_t fraction_ns = 0;
  if (*rest == 'T') {
    rest = ::strptime(rest + 1, "%H:%M:%S", &parts);
    if (rest == nullptr) return std::nullopt;
    if (*rest == '.') {
      std::int64_t scale = 100'000'000;
      for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10) fraction_ns += (*rest - '0') * scale;
    }
    if (*rest != 'Z') return std::nullopt;
    ++rest;
  }
  if (*rest != '\0') return std::nullopt;
  const time_t seconds = ::timegm(&parts);
  // Nanoseconds since the epoch in an int64 end in 2262.
  if (seconds < 0 || seconds >= 9'223'372'036) return std::nullopt;
  return static_cast<std::int64_t>(seconds) * 1'000'000'000 + fraction_ns;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "0..7999", or "3000..7999, as 0..4999" when the rebuilt stream starts
// later in the source (its sequence 0 is the first source sequence pulled).
std::string sequences(const ship::ReassemblyTally& tally) {
  if (!tally.first_sequence || tally.next_sequence == *tally.first_sequence) return "none";
  const std::uint64_t first = *tally.first_sequence;
  std::string text = std::to_string(first) + ".." + std::to_string(tally.next_sequence - 1);
  if (first != 0) text += ", as 0.." + std::to_string(tally.next_sequence - 1 - first);
  return text;
}

int run_pull(const PullCommandOptions& options) {
  if (!ship::is_valid_jetstream_name(options.stream)) {
    throw UsageError("--stream `" + options.stream + "` is not a JetStream stream name ([A-Za-z0-9_-]{1,128})");
  }
  if (options.subject && !ship::is_valid_subject_filter(*options.subject)) {
    throw UsageError("--subject `" + *options.subject + "` is not a subject filter (tokens, '*', a final '>')");
  }
  ship::ReadRequest request;
  request.stream = options.stream;
  request.subject_filter = options.subject;
  if (options.since) {
    request.since_ns = parse_since(*options.since, now_ns());
    if (!request.since_ns) {
      throw UsageError("--since `" + *options.since +
                       "` is not a time: write 2026-12-01T10:00:00Z (UTC), 2026-12-01, or a time ago such as 15m, 2h, 3d");
    }
  }
  ship::PullOptions pull_options;
  pull_options.out_dir = options.out_dir;
  pull_options.segment_capacity = options.segment_capacity;
  pull_options.hold_limit = options.reorder_window;
  ship::Puller puller(pull_options);  // checks OUT_DIR before connecting

  ship::NatsLibrary library;  // outlives the reader below
  ship::NatsSettings settings = nats_settings(options.connection, "vrrl pull");
  settings.client_name = "vrrl pull";
  const auto reader = ship::open_nats_reader(settings, request);
  const ship::PullReport report = puller.run(*reader);

  std::uint64_t written = 0, lost = 0, missing = 0, duplicates = 0, late = 0;
  for (const ship::PulledStream& stream : report.streams) {
    const ship::ReassemblyTally& tally = stream.tally;
    const std::string who = stream.identity.source_id + ":" + stream.identity.stream_name;
    std::printf("vrrl pull: %s: %" PRIu64 " records written to stream %s (sequences %s), %" PRIu64
                " lost before shipping, %" PRIu64 " missing from the stream, %" PRIu64 " duplicates dropped\n",
                who.c_str(), tally.written, stream.name.empty() ? "(none)" : stream.name.c_str(),
                sequences(tally).c_str(), tally.lost, tally.missing, tally.duplicates);
    for (std::size_t i = 0; i < stream.missing.size() && i < 20; ++i) {
      std::printf("vrrl pull: %s: sequences %" PRIu64 "..%" PRIu64 " are not in the stream\n", who.c_str(),
                  stream.missing[i].first, stream.missing[i].end - 1);
    }
    if (stream.name_hashed) {
      std::cout.flush();
      std::cerr << "vrrl pull: note: " << who << " is written to stream " << stream.name << ": its plain name "
                << ship::pulled_stream_name(stream.identity.source_id, stream.identity.stream_name)
                << " was taken by another source and stream\n";
    }
    written += tally.written;
    lost += tally.lost;
    missing += tally.missing;
    duplicates += tally.duplicates;
    late += tally.late;
  }
  std::printf("vrrl pull: %zu streams from %" PRIu64 " messages into recording %s (segment capacity %" PRIu64
              "): %" PRIu64 " records written, %" PRIu64 " lost before shipping, %" PRIu64
              " missing from the stream, %" PRIu64 " duplicates dropped\n",
              report.streams.size(), report.messages, options.out_dir.c_str(), report.segment_capacity, written,
              lost, missing, duplicates);
  std::cout.flush();
  if (report.malformed != 0) {
    std::cerr << "vrrl pull: " << report.malformed << " messages of stream " << options.stream
              << " are not vrrl ship messages and were skipped. Fix: pull with --subject to read only vrrl's "
                 "subjects.\n";
  }
  if (missing != 0) {
    std::cerr << "vrrl pull: " << missing << " records are missing from stream " << options.stream
              << (late != 0 ? " (" + std::to_string(late) + " of them arrived too late to be put back in order)" : "")
              << "; the pulled recording counts them as lost. Fix: they were deleted by the stream's limits "
                 "(max_bytes, max_age) or never stored; the recording holds everything else.\n";
    return exit_problems;
  }
  return exit_ok;
}

}  // namespace

Command add_pull_command(CLI::App& vrrl) {
  auto options = std::make_shared<PullCommandOptions>();
  CLI::App* pull = vrrl.add_subcommand("pull", "Rebuild, as a recording, what was shipped to a NATS JetStream stream");
  pull->footer(
      "OUT_DIR becomes a recording directory (read it with vrrl dump, verify, stats, ...) with one stream per\n"
      "shipped source and name, called <source id>.<name> (docs/shipping.md, \"The pulled recording\"),\n"
      "records in sequence order, each exactly once (copies a restart left in the stream are dropped).\n"
      "Sequences announced lost by the shipper, and any missing from the stream, are skipped in the rebuilt\n"
      "stream, so its readers count them as lost, and reported here; nothing is filled in. Exits 1 when records\n"
      "are missing from the stream. --since selects by the time the stream stored a message. The pull reads up\n"
      "to the stream's last message when it starts; what a replica lacks is read from the stream leader.\n" +
      connection_footer());
  pull->add_option("OUT_DIR", options->out_dir, "a new or empty directory for the recording")->required();
  add_connection_options(*pull, options->connection);
  pull->add_option("--stream", options->stream, "the JetStream stream to read")->required();
  pull->add_option("--since", options->since, "only messages stored since: 2026-12-01T10:00:00Z, 2026-12-01, 15m, 2h, 3d");
  pull->add_option("--subject", options->subject, "only messages on these subjects (e.g. vrrl.gpu-3, vrrl.*)");
  pull->add_option("--segment-capacity,--capacity", options->segment_capacity,
                   "slots per segment of the recording (default: the capacity of the first source read)")
      ->check(digits_only())
      ->check(CLI::Range(std::uint64_t{1}, format::max_capacity));
  pull->add_option("--reorder-window", options->reorder_window,
                   "messages per stream held back to put late ones in order; keep it above the shippers' --max-pending")
      ->default_str("256")
      ->check(digits_only())
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{65536}));
  return {pull, [options] {
            try {
              return run_pull(*options);
            } catch (const ship::Failure& failure) {
              std::cout.flush();
              std::cerr << "vrrl pull: " << failure.line() << '\n';
              return exit_problems;
            }
          }};
}

}  // namespace vrrl::cli
