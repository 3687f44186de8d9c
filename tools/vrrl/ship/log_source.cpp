#include "log_source.hpp"

#include "failure.hpp"

namespace vrrl::ship {

LogSource::LogSource(const std::filesystem::path& log, std::string name, std::optional<std::uint64_t> start)
    : name_(std::move(name)), reader_(LogReader::open(log)), follower_(reader_, start) {}

std::uint32_t LogSource::capacity() const noexcept { return static_cast<std::uint32_t>(reader_.capacity()); }

void poll_follower(Follower& follower, const LogReader& reader, RecordSink& sink, std::size_t max_records,
                   const std::string& name) {
  std::uint64_t expected = follower.position();
  const PollResult result = follower.poll(
      [&](std::uint64_t sequence, const RecordedSlot& slot, const FailureEvidence& evidence) {
        // The Follower skips what it lost (lapped, never completed) and says
        // how many; the skipped range is exactly the jump in sequence.
        if (sequence != expected) sink.on_lost(expected, sequence - expected);
        sink.on_record(sequence, slot, evidence);
        expected = sequence + 1;
      },
      max_records);
  if (result.implausible_cursor) {
    throw Failure("the cursor of `" + reader.path().string() + "` is " + std::to_string(reader.appended()) +
                      ", at or above 2^61: the header is damaged and nothing can be read by sequence",
                  "let the log's writer open it again (it restarts the count), then ship it under another --name");
  }
  if (result.resynced) {
    throw Failure("the cursor of `" + reader.path().string() +
                      "` went backwards: the log was recreated (or is written by the Rust seed, which keeps the "
                      "cursor modulo its capacity), so its sequence numbers start again and would collide with "
                      "those already shipped as " + name,
                  "ship the new log under another --name, or delete its cursor file to ship it from the start "
                  "under the same name into a new --stream");
  }
  if (follower.position() != expected) sink.on_lost(expected, follower.position() - expected);
}

void LogSource::poll(RecordSink& sink, std::size_t max_records) {
  poll_follower(follower_, reader_, sink, max_records, name_);
}

}  // namespace vrrl::ship
