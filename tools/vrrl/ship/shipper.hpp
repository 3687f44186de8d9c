// vrrl::ship::Shipper: moves records from RecordSources into a Publisher,
// exactly once in the stream, with every lost sequence announced.
//
// The protocol (docs/shipping.md, "How shipping works"; the proof is beside
// the code in shipper.cpp):
//   * Records are batched, at most `batch_records` per message, each message
//     covering a contiguous range [first, end) of one stream's sequences, sent
//     with id "<source>:<stream>:<first>". Lost sequences go out as a gap
//     message over their range. Ranges of one stream never overlap.
//   * At most `max_pending` messages are unacknowledged. A message whose
//     publish times out (or meets no leader, or a lost connection) is sent
//     again, byte for byte, after a back-off; the stream drops the copy if the
//     first one was stored.
//   * A duplicate acknowledgement is checked against the stored original (its
//     range and, where both carry records, its bytes): an original covering
//     less than the message makes the shipper send the rest as a new message;
//     one with different records is an error (two shippers under one name).
//   * The cursor file advances to the first unacknowledged sequence, after
//     the acknowledgements: at the first one, then at most every
//     `cursor_interval`, and at the end.
//   * After a start, each stream first probes: one message at a time until one
//     is stored as new. The previous run may have stored messages beyond the
//     cursor file (acknowledged, cursor not yet written) with other batch
//     boundaries; each such duplicate moves the start past its original, so
//     the restart neither repeats nor skips a record.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cursor_file.hpp"
#include "record_source.hpp"
#include "transport.hpp"

namespace vrrl::ship {

struct ShipperOptions {
  std::string source_id;
  std::string jetstream_stream;  // for the cursor file
  std::uint64_t batch_records = 256;
  std::size_t max_pending = 64;
  bool once = false;  // ship what is there when run() starts, then return
  std::chrono::milliseconds poll_interval{20};
  std::chrono::milliseconds cursor_interval{100};
  std::chrono::milliseconds retry_delay{100};       // before the first resend; doubles per attempt
  std::chrono::milliseconds max_retry_delay{2000};
  std::chrono::seconds max_outage{60};        // no acknowledgement for this long while messages wait: give up
  std::chrono::milliseconds drain_timeout{10'000};  // on stop: how long to wait for outstanding acknowledgements
  std::chrono::seconds progress_interval{0};  // 0: no progress lines
};

struct ShipStats {
  std::uint64_t records = 0;         // records acknowledged as stored by this run
  std::uint64_t already_stored = 0;  // records a previous run had stored (found while probing)
  std::uint64_t lost = 0;            // sequences announced lost by this run
  std::uint64_t messages = 0;        // messages acknowledged
  std::uint64_t payload_bytes = 0;   // bytes of the acknowledged messages
  std::uint64_t resends = 0;         // messages sent again after a timeout or a lost connection
  std::uint64_t overlapping = 0;     // records the stream now holds twice (see docs/shipping.md); pull drops them
  std::uint64_t unacknowledged = 0;  // messages still waiting when run() returned (sent again next time)
  std::uint64_t incomplete = 0;      // --once: newest records still being written, left for the next run
  std::chrono::steady_clock::duration elapsed{};
};

// One stream to ship: where it is read from, where its position is kept.
struct ShippedStream {
  std::unique_ptr<RecordSource> source;
  CursorFile cursor_file;
};

// Streams that appeared since the last call (a recording gained a stream directory).
using DiscoverStreams = std::function<std::vector<ShippedStream>()>;

class Shipper {
 public:
  // Without `once`, `discover` (if given) is asked for new streams every second.
  Shipper(Publisher& publisher, std::vector<ShippedStream> streams, ShipperOptions options,
          DiscoverStreams discover = {});
  ~Shipper();
  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  // Ships until `stop` becomes non-zero (then waits up to drain_timeout for
  // the acknowledgements), or with `once` until each stream is shipped up to
  // where it ended when run() started. Throws ship::Failure.
  ShipStats run(const volatile std::sig_atomic_t& stop);

 private:
  class Stream;
  struct Batch;

  void handle(const Ack& ack);
  void verify_duplicate(Stream& stream, Batch& batch);
  void send(Batch& batch);
  void schedule_resend(Batch& batch, const std::string& error);
  void poll_sources();
  void resend_due();
  void retire_acknowledged(bool finishing);
  void print_progress();
  [[nodiscard]] std::size_t in_flight() const noexcept;
  [[nodiscard]] bool finished(bool stopping) const;

  void add_stream(ShippedStream shipped);

  Publisher& publisher_;
  std::vector<std::unique_ptr<Stream>> streams_;
  const ShipperOptions options_;
  DiscoverStreams discover_;
  std::chrono::steady_clock::time_point last_discovery_;
  ShipStats stats_;
  std::uint64_t next_ticket_ = 1;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_progress_;  // the last acknowledgement, or the last idle moment
  std::chrono::steady_clock::time_point last_report_;
  std::string last_error_;
};

}  // namespace vrrl::ship
