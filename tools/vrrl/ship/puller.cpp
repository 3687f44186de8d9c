#include "puller.hpp"

#include <cstdio>
#include <system_error>
#include <utility>

#include "failure.hpp"
#include "names.hpp"

namespace vrrl::ship {

// One rebuilt stream and the reassembly in front of it. The stream writer is
// opened with the first sequence accounted for (a record, or a skip), so a
// pair whose messages were all malformed or duplicates leaves no directory.
class Puller::Output {
 public:
  Output(Recording& recording, StreamIdentity identity, std::string name, bool name_hashed, std::size_t hold_limit)
      : recording_(recording),
        identity_(std::move(identity)),
        name_(std::move(name)),
        name_hashed_(name_hashed),
        reassembler_([this](std::uint64_t sequence, std::span<const std::byte> record) { write(sequence, record); },
                     hold_limit) {}

  void add(const DecodedMessage& message) { reassembler_.add(message); }

  PulledStream finish() {
    reassembler_.finish();
    const ReassemblyTally& tally = reassembler_.tally();
    // Lost or missing sequences after the last record: skipped too, so the
    // rebuilt stream ends where the source's accounted sequences end.
    if (tally.first_sequence) move_to(tally.next_sequence);
    if (writer_) check_not_dropping();
    return {identity_, writer_ ? name_ : std::string{}, name_hashed_, tally, reassembler_.missing_ranges()};
  }

 private:
  void write(std::uint64_t sequence, std::span<const std::byte> record) {
    move_to(sequence);
    const RecordView view(record.data());
    writer_->append(view.slot(), view.failure());
    ++next_;
    if ((next_ & 0xFFFF) == 0) check_not_dropping();
  }

  // Skips the source sequences [next_, sequence): lost before shipping or
  // missing from the stream, never written.
  void move_to(std::uint64_t sequence) {
    if (!writer_) {
      writer_.emplace(recording_.stream(name_));
      next_ = reassembler_.tally().first_sequence.value_or(sequence);
    }
    if (sequence > next_) {
      writer_->skip(sequence - next_);
      next_ = sequence;
    }
  }

  // The writer drops appends when no segment is ready within the roll
  // timeout (a full disk): a pull must fail then, not leave records out.
  void check_not_dropping() const {
    if (writer_->dropped() == 0) return;
    const std::optional<Error> error = recording_.last_error();
    throw Failure("could not write stream " + name_ + " of the pulled recording `" + recording_.path().string() +
                      "`: no new segment was ready for " + std::to_string(writer_->dropped()) + " records" +
                      (error ? " (" + std::string(error->what()) + ")" : std::string{}),
                  "free disk space there, or pull into another directory (a new or empty one)");
  }

  Recording& recording_;
  const StreamIdentity identity_;
  const std::string name_;
  const bool name_hashed_;
  std::optional<StreamWriter> writer_;
  std::uint64_t next_ = 0;  // the source sequence the rebuilt stream's next sequence stands for
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

Recording& Puller::recording(std::uint64_t source_capacity) {
  if (!recording_) {
    RecordingOptions options;
    options.segment_capacity = options_.segment_capacity.value_or(source_capacity);
    options.roll_timeout = options_.roll_timeout;
    recording_.emplace(Recording::open(options_.out_dir, options));
  }
  return *recording_;
}

std::pair<std::string, bool> Puller::claim_name(const StreamIdentity& identity) {
  const auto free_for = [&](const std::string& name) {
    const auto taken = names_.find(name);
    return taken == names_.end() || (taken->second.source_id == identity.source_id &&
                                     taken->second.stream_name == identity.stream_name);
  };
  std::string name = pulled_stream_name(identity.source_id, identity.stream_name);
  bool hashed = false;
  if (!free_for(name)) {
    const std::string other = names_.at(name).source_id + ":" + names_.at(name).stream_name;
    name = pulled_stream_name_with_hash(identity.source_id, identity.stream_name);
    hashed = true;
    if (!free_for(name)) {
      throw Failure("the shipped streams " + identity.source_id + ":" + identity.stream_name + " and " + other +
                        " both map to recording stream " + name,
                    "pull them into separate directories with --subject (one host each)");
    }
  }
  names_.emplace(name, identity);
  return {name, hashed};
}

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
    if (!output) {
      Recording& out = recording(message.identity.source_capacity);
      auto [name, hashed] = claim_name(message.identity);
      output = std::make_unique<Output>(out, message.identity, std::move(name), hashed, options_.hold_limit);
    }
    output->add(message);
  }
  Recording& out = recording(default_segment_capacity);  // an empty recording when nothing was pulled
  for (auto& [key, output] : outputs) report.streams.push_back(output->finish());
  out.sync();       // every stream's segments on disk, before their writers close them
  outputs.clear();
  report.segment_capacity = out.options().segment_capacity;
  return report;
}

}  // namespace vrrl::ship
