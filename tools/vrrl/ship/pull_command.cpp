// vrrl pull --server URL --stream NAME OUT_DIR: rebuild the logs shipped into
// a JetStream stream, one per (source id, stream name), and account for every
// sequence.
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
  std::optional<std::uint64_t> capacity;
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

std::string sequences(const ship::ReassemblyTally& tally) {
  if (!tally.first_sequence || tally.next_sequence == *tally.first_sequence) return "none";
  return std::to_string(*tally.first_sequence) + ".." + std::to_string(tally.next_sequence - 1);
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
  pull_options.capacity = options.capacity;
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
    std::printf("vrrl pull: %s:%s: %" PRIu64 " records written to %s (capacity %" PRIu64 ", sequences %s), %" PRIu64
                " lost before shipping, %" PRIu64 " missing from the stream, %" PRIu64 " duplicates dropped\n",
                stream.identity.source_id.c_str(), stream.identity.stream_name.c_str(), tally.written,
                tally.written == 0 ? "(no log: nothing to write)" : stream.log.c_str(), stream.capacity,
                sequences(tally).c_str(), tally.lost, tally.missing, tally.duplicates);
    for (std::size_t i = 0; i < stream.missing.size() && i < 20; ++i) {
      std::printf("vrrl pull: %s:%s: sequences %" PRIu64 "..%" PRIu64 " are not in the stream\n",
                  stream.identity.source_id.c_str(), stream.identity.stream_name.c_str(), stream.missing[i].first,
                  stream.missing[i].end - 1);
    }
    written += tally.written;
    lost += tally.lost;
    missing += tally.missing;
    duplicates += tally.duplicates;
    late += tally.late;
  }
  std::printf("vrrl pull: %zu streams from %" PRIu64 " messages: %" PRIu64 " records written, %" PRIu64
              " lost before shipping, %" PRIu64 " missing from the stream, %" PRIu64 " duplicates dropped\n",
              report.streams.size(), report.messages, written, lost, missing, duplicates);
  std::cout.flush();
  if (report.malformed != 0) {
    std::cerr << "vrrl pull: " << report.malformed << " messages of stream " << options.stream
              << " are not vrrl ship messages and were skipped. Fix: pull with --subject to read only vrrl's "
                 "subjects.\n";
  }
  if (missing != 0) {
    std::cerr << "vrrl pull: " << missing << " records are missing from stream " << options.stream
              << (late != 0 ? " (" + std::to_string(late) + " of them arrived too late to be put back in order)" : "")
              << ". Fix: they were deleted by the stream's limits (max_bytes, max_age) or never stored; the logs hold "
                 "everything else.\n";
    return exit_problems;
  }
  return exit_ok;
}

}  // namespace

Command add_pull_command(CLI::App& vrrl) {
  auto options = std::make_shared<PullCommandOptions>();
  CLI::App* pull = vrrl.add_subcommand("pull", "Rebuild the logs shipped to a NATS JetStream stream");
  pull->footer(
      "Writes OUT_DIR/<source id>/<name>.vrrl for each log shipped into the stream, records in sequence order,\n"
      "each exactly once (copies a restart left in the stream are dropped). Sequences announced lost by the\n"
      "shipper, and any missing from the stream, are reported, never filled in. Exits 1 when records are\n"
      "missing from the stream. --since selects by the time the stream stored a message.\n" +
      connection_footer());
  pull->add_option("OUT_DIR", options->out_dir, "a new or empty directory for the logs")->required();
  add_connection_options(*pull, options->connection);
  pull->add_option("--stream", options->stream, "the JetStream stream to read")->required();
  pull->add_option("--since", options->since, "only messages stored since: 2026-12-01T10:00:00Z, 2026-12-01, 15m, 2h, 3d");
  pull->add_option("--subject", options->subject, "only messages on these subjects (e.g. vrrl.gpu-3, vrrl.*)");
  pull->add_option("--capacity", options->capacity, "slots of each log written (default: the shipped log's capacity)")
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
