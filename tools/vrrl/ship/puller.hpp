// vrrl::ship::Puller: reads a stream from a StreamReader and rebuilds one
// VRRL v1 log per (source id, stream name): OUT_DIR/<source id>/<stream>.vrrl,
// records in sequence order, each exactly once. Sequences the shipper
// announced lost, and holes in the stream, are counted and reported; nothing
// is invented to fill them (a v1 log has no way to say "missing here", so the
// output simply goes on with the next record).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "message.hpp"
#include "reassembler.hpp"
#include "transport.hpp"

namespace vrrl::ship {

struct PullOptions {
  std::filesystem::path out_dir;
  std::optional<std::uint64_t> capacity;  // slots of each output log; default: the source log's
  std::size_t hold_limit = 256;           // messages per stream held back to restore order (reassembler.hpp)
};

struct PulledStream {
  StreamIdentity identity;
  std::filesystem::path log;
  std::uint64_t capacity = 0;
  ReassemblyTally tally;
  std::vector<SequenceRange> missing;
};

struct PullReport {
  std::vector<PulledStream> streams;  // by source id, then stream name
  std::uint64_t messages = 0;
  std::uint64_t malformed = 0;        // messages that are not vrrl ship messages, skipped
};

class Puller {
 public:
  // Refuses (ship::Failure) an OUT_DIR that exists and is not empty: pulling
  // into it again would append a second copy.
  explicit Puller(PullOptions options);
  ~Puller();
  Puller(const Puller&) = delete;
  Puller& operator=(const Puller&) = delete;

  // Reads until the reader has caught up, writes and syncs the logs.
  PullReport run(StreamReader& reader);

 private:
  class Output;
  PullOptions options_;
};

}  // namespace vrrl::ship
