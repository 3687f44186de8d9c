#include "puller.hpp"

#include <cstdio>
#include <map>
#include <memory>
#include <system_error>
#include <utility>

#include <vrrl/ring_log.hpp>

#include "failure.hpp"

namespace vrrl::ship {

// One output log and the reassembly in front of it.
class Puller::Output {
 public:
  Output(const PullOptions& options, const StreamIdentity& identity)
      : identity_(identity),
        log_path_(options.out_dir / identity.source_id / (identity.stream_name + ".vrrl")),
        capacity_(options.capacity.value_or(identity.source_capacity)),
        reassembler_([this](std::uint64_t, std::span<const std::byte> record) { write(record); }, options.hold_limit) {
  }

  void add(const DecodedMessage& message) { reassembler_.add(message); }

  PulledStream finish() {
    reassembler_.finish();
    if (log_) log_->sync();
    return {identity_, log_path_, capacity_, reassembler_.tally(), reassembler_.missing_ranges()};
  }

 private:
  void write(std::span<const std::byte> record) {
    if (!log_) {
      std::error_code error;
      std::filesystem::create_directories(log_path_.parent_path(), error);
      if (error) {
        throw Failure("cannot create `" + log_path_.parent_path().string() + "`: " + error.message(),
                      "pull into a directory this user can write");
      }
      if (std::filesystem::exists(log_path_)) {
        throw Failure("`" + log_path_.string() + "` exists already", "pull into a new, empty directory");
      }
      log_.emplace(RingLog::open(log_path_, capacity_));
    }
    const RecordView view(record.data());
    log_->append(view.slot(), view.failure());
  }

  const StreamIdentity identity_;
  const std::filesystem::path log_path_;
  const std::uint64_t capacity_;
  std::optional<RingLog> log_;  // created with the first record
  Reassembler reassembler_;
};

Puller::Puller(PullOptions options) : options_(std::move(options)) {
  std::error_code error;
  if (std::filesystem::exists(options_.out_dir, error)) {
    if (!std::filesystem::is_directory(options_.out_dir, error)) {
      throw Failure("`" + options_.out_dir.string() + "` is not a directory", "name a new or empty directory");
    }
    if (!std::filesystem::is_empty(options_.out_dir, error)) {
      throw Failure("`" + options_.out_dir.string() + "` is not empty; pulling into it again would mix two pulls",
                    "pull into a new or empty directory");
    }
  }
  std::filesystem::create_directories(options_.out_dir, error);
  if (error) {
    throw Failure("cannot create `" + options_.out_dir.string() + "`: " + error.message(),
                  "name a directory this user can create");
  }
}

Puller::~Puller() = default;

PullReport Puller::run(StreamReader& reader) {
  PullReport report;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Output>> outputs;
  while (auto stored = reader.next()) {
    ++report.messages;
    DecodedMessage message;
    std::string why;
    if (!decode_message(stored->payload, message, why)) {
      if (report.malformed++ < 10) {
        std::fprintf(stderr, "vrrl pull: skipping message %llu: %s\n",
                     static_cast<unsigned long long>(stored->stream_sequence), why.c_str());
      }
      continue;
    }
    auto& output = outputs[{message.identity.source_id, message.identity.stream_name}];
    if (!output) output = std::make_unique<Output>(options_, message.identity);
    output->add(message);
  }
  for (auto& [key, output] : outputs) report.streams.push_back(output->finish());
  return report;
}

}  // namespace vrrl::ship
