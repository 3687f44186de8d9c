// What `vrrl ship` and `vrrl pull` need from a replicated message log, and
// nothing more: the shipper and the puller are written against these two
// interfaces, the NATS JetStream transport (nats_transport.hpp) implements
// them, and a Kafka one (librdkafka: idempotent producer, offsets for sequence)
// would implement them the same way.
//
// The contract a transport must keep (docs/shipping.md, "Guarantees"):
//   * every publish() that returns true is answered by exactly one Ack from
//     next_ack(), eventually: stored, duplicate, retry (timed out, no leader,
//     connection lost: send the same bytes again) or failed (the service refused
//     it for good);
//   * a message sent again with the same id inside the service's duplicate
//     window is acknowledged as a duplicate and not stored twice, and the
//     duplicate's Ack names where the original is, so the caller can compare;
//   * a reader returns the stored messages in the service's order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vrrl::ship {

// A request to the service failed in a way that may pass (a leader election,
// a reconnect): the caller waits a little and asks again.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The stream vrrl ships into, as the shipper needs it. When it does not exist
// it is created with these settings; when it exists, each setting that was
// asked for explicitly, and each that would break shipping, is checked.
struct StreamRequirements {
  std::string name;                               // the service's stream ("FLEET")
  std::string publish_subject;                    // what this shipper publishes on; the stream must capture it
  std::vector<std::string> subjects_if_created;   // bound when vrrl creates the stream
  std::optional<int> replicas;                    // checked when given; 1 on creation otherwise
  std::optional<std::int64_t> max_bytes;          // checked when given; unlimited on creation otherwise
  std::chrono::seconds duplicate_window{120};     // on creation; an existing stream needs at least minimum_duplicate_window
  std::chrono::seconds minimum_duplicate_window{10};
  std::size_t largest_message = 0;                // bytes; the stream's maximum message size must allow it
};

enum class AckKind {
  stored,     // the service stored the message at stream_sequence
  duplicate,  // a message with this id was stored already, at stream_sequence
  retry,      // no answer in time, no leader, connection lost: send the same bytes again
  failed,     // the service refused the message for good (error says why)
};

struct Ack {
  std::uint64_t ticket = 0;  // the caller's number from publish()
  AckKind kind = AckKind::retry;
  std::uint64_t stream_sequence = 0;
  std::string error;  // retry and failed: what the service or client said, without secrets
};

class Publisher {
 public:
  virtual ~Publisher() = default;

  // Hands one message to the transport without waiting for its Ack. `id` is
  // the de-duplication key. Returns false with `error` set when the message
  // could not be taken now (disconnected and the client's buffer is full);
  // no Ack follows then, and the caller retries later.
  [[nodiscard]] virtual bool publish(std::uint64_t ticket, const std::string& id, std::span<const std::byte> payload,
                                     std::string& error) = 0;
  // The next Ack, waiting up to `wait` for one.
  [[nodiscard]] virtual std::optional<Ack> next_ack(std::chrono::milliseconds wait) = 0;
  // The payload stored at `stream_sequence`, to compare a duplicate's original
  // with what was sent; nullopt when the stream no longer has it.
  [[nodiscard]] virtual std::optional<std::vector<std::byte>> stored_payload(std::uint64_t stream_sequence) = 0;
  // Where the publishes go, for messages ("nats://127.0.0.1:4222 stream FLEET").
  [[nodiscard]] virtual std::string describe() const = 0;
};

// Which part of a stream to read.
struct ReadRequest {
  std::string stream;
  std::optional<std::string> subject_filter;  // only messages on matching subjects
  std::optional<std::int64_t> since_ns;       // stored at or after this time (ns since the epoch)
};

struct StoredMessage {
  std::vector<std::byte> payload;
  std::uint64_t stream_sequence = 0;
  std::int64_t stored_ns = 0;  // when the service stored it
};

class StreamReader {
 public:
  virtual ~StreamReader() = default;
  // The next message in stream order, or nullopt once every message stored
  // before the reader caught up has been returned.
  [[nodiscard]] virtual std::optional<StoredMessage> next() = 0;
};

}  // namespace vrrl::ship
