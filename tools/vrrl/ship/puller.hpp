// vrrl::ship::Puller: reads a stream from a StreamReader and rebuilds a
// recording directory (include/vrrl/recording.hpp) in OUT_DIR: one recording
// stream per shipped (source id, stream name), named by pulled_stream_name()
// (names.hpp), records in sequence order, each exactly once. Sequences the
// shipper announced lost, and holes in the stream, are counted, reported and
// skipped in the rebuilt stream (StreamWriter::skip), so every reader of the
// recording counts them as lost; nothing is invented to fill them. The
// rebuilt stream's sequence is the source's minus the first source sequence
// the pull accounted for (0 unless --since or the stream's limits cut the
// start).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <vrrl/recording.hpp>

#include "message.hpp"
#include "reassembler.hpp"
#include "transport.hpp"

namespace vrrl::ship {

struct PullOptions {
  std::filesystem::path out_dir;
  // Slots per segment of the recording; default: the source capacity of the
  // first message read (the shipped log's capacity, or the recording's
  // segment capacity), or default_segment_capacity when there is none.
  std::optional<std::uint64_t> segment_capacity;
  std::size_t hold_limit = 256;  // messages per stream held back to restore order (reassembler.hpp)
  // How long an append that fills a segment waits for the next one (a
  // pull is not in a hurry; RecordingOptions::roll_timeout). If the disk
  // still cannot give one, the pull fails rather than drop records.
  std::chrono::nanoseconds roll_timeout = std::chrono::seconds(60);
};

inline constexpr std::uint64_t default_segment_capacity = 65536;  // 4 MiB segments

struct PulledStream {
  StreamIdentity identity;
  std::string name;          // the recording stream it was written to ("" when nothing was accounted for)
  bool name_hashed = false;  // the plain name was taken by another pair: the hash suffix was added
  ReassemblyTally tally;
  std::vector<SequenceRange> missing;
};

struct PullReport {
  std::vector<PulledStream> streams;  // by source id, then stream name
  std::uint64_t messages = 0;
  std::uint64_t malformed = 0;        // messages that are not vrrl ship messages, skipped
  std::uint64_t segment_capacity = 0;
};

class Puller {
 public:
  // Refuses (ship::Failure) an OUT_DIR that exists and is not empty: pulling
  // into it again would append a second copy. Creates it (and its parents).
  explicit Puller(PullOptions options);
  ~Puller();
  Puller(const Puller&) = delete;
  Puller& operator=(const Puller&) = delete;

  // Reads until the reader has caught up, writes and syncs the recording
  // (created at the first message, or at the end when there was none).
  PullReport run(StreamReader& reader);

 private:
  class Output;
  Recording& recording(std::uint64_t source_capacity);
  // The recording stream name for `identity`: plain, or hashed when taken.
  std::pair<std::string, bool> claim_name(const StreamIdentity& identity);

  PullOptions options_;
  std::optional<Recording> recording_;
  std::map<std::string, StreamIdentity> names_;  // recording stream -> the pair written there
};

}  // namespace vrrl::ship
