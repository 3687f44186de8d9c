// vrrl::ship::CheckedReader: reads a replicated stream quickly through
// whichever replica the service hands out, and checks what it delivers
// against the stream's authoritative copy, so that a replica that is behind,
// or has a hole, can neither make a pull end early nor skip a stored message.
//
// Why it is needed: JetStream places an ephemeral (ordered) consumer on any
// replica of a stream, and the consumer reads that replica's own store. A
// node that was restarted and is still catching up holds only part of the
// stream: its consumer delivers what it holds and reports nothing pending, so
// a pull that trusts it ends early, or skips a message, and reports no loss.
// The stream leader (JetStream's `STREAM.MSG.GET` is answered by it alone)
// is the authority on what the stream holds.
//
// The protocol (the proof is beside the code in checked_reader.cpp):
//   * The read covers the stream's sequences from `start` (the first, or the
//     first stored at or after `since`, found on the leader) through `through`
//     (the sequence of the last selected message on the leader when the read
//     began).
//   * The delivery's messages are passed on in sequence order; one at or
//     below a sequence already passed on is dropped.
//   * Before a message is passed on past a stretch of sequences nobody has
//     delivered, the leader is asked for its first selected message in the
//     stretch; if it has one, that one is passed on first.
//   * When the delivery stalls (nothing within its wait) or says its replica
//     has nothing more, the leader is asked for the next message; if it has
//     one, the replica is behind: up to `leader_run` messages are read from
//     the leader, then the delivery is restarted where the read stands.
//   * The read ends when the leader has nothing selected in what is left of
//     [start, through].
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "transport.hpp"

namespace vrrl::ship {

// A message as a replica's delivery hands it over.
struct DeliveredMessage {
  StoredMessage message;
  std::uint64_t pending_after = 0;  // selected messages the replica holds after this one
};

// The fast path: the stream's selected messages in stream order, from one
// replica, which may be behind the stream or lack some of its messages.
class ReplicaDelivery {
 public:
  virtual ~ReplicaDelivery() = default;
  // (Re)starts the delivery at `sequence` (≥ 1): the first message it hands
  // over afterwards is the replica's first selected one at or after it.
  virtual void start_at(std::uint64_t sequence) = 0;
  // The next message, or nullopt when none arrived within the delivery's wait.
  [[nodiscard]] virtual std::optional<DeliveredMessage> next() = 0;
};

// The stream's authoritative copy (the stream leader). Both calls throw
// ship::Failure when the service cannot answer within the outage limit.
class StreamLeader {
 public:
  virtual ~StreamLeader() = default;
  // The sequence of the last message the read selects, now (0: none).
  [[nodiscard]] virtual std::uint64_t last_sequence() = 0;
  // The first message at or after `sequence` that the read selects (its
  // subject filter), or nullopt when there is none.
  [[nodiscard]] virtual std::optional<StoredMessage> first_at_or_after(std::uint64_t sequence) = 0;
};

struct CheckedReadStats {
  std::uint64_t delivered = 0;           // messages passed on from the delivery
  std::uint64_t from_leader = 0;         // messages passed on from the leader: the replica lacked them
  std::uint64_t delivery_restarts = 0;   // times the delivery was restarted after the replica fell behind
  std::uint64_t leader_checks = 0;       // questions asked of the leader (stretches, stalls, the start)
};

class CheckedReader final : public StreamReader {
 public:
  // Reads sequences through `through`; with `since_ns`, from the first
  // message the leader stored at or after that time. The delivery is started
  // by the first next(). Both objects must outlive the reader.
  CheckedReader(ReplicaDelivery& delivery, StreamLeader& leader, std::uint64_t through,
                std::optional<std::int64_t> since_ns, std::size_t leader_run = 1024);

  std::optional<StoredMessage> next() override;

  [[nodiscard]] const CheckedReadStats& stats() const noexcept { return stats_; }

 private:
  [[nodiscard]] std::uint64_t first_sequence_since(std::int64_t since_ns);
  [[nodiscard]] std::optional<StoredMessage> pass_on(StoredMessage message);
  [[nodiscard]] std::optional<StoredMessage> next_from_leader();

  ReplicaDelivery& delivery_;
  StreamLeader& leader_;
  const std::uint64_t through_;
  const std::optional<std::int64_t> since_ns_;
  const std::size_t leader_run_;
  bool started_ = false;
  std::uint64_t expected_ = 1;               // every sequence below it is passed on or known absent
  std::optional<DeliveredMessage> held_;     // delivered, not yet passed on (beyond a stretch being checked)
  bool replica_drained_ = false;             // the replica said it holds nothing after its last message
  std::size_t leader_run_left_ = 0;          // > 0: reading from the leader, the replica being behind
  CheckedReadStats stats_;
};

}  // namespace vrrl::ship
