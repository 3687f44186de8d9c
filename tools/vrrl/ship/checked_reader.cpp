// The protocol of checked_reader.hpp, and why a read neither skips a stored
// message nor ends early, whatever the replica does.
//
// Invariant: every selected message the leader holds with a sequence below
// `expected_` has been passed on (or was deleted from the stream before it
// could be; the leader no longer has it), and every message passed on has a
// sequence below `expected_`. So nothing is passed on twice (a message at or
// below a passed-on sequence is dropped), and the output is in sequence order.
//
// No skip: a delivered message at sequence s > expected_ is passed on only
// after the leader has said that it holds no selected message in
// [expected_, s): otherwise the leader's message is passed on first, which
// moves expected_ up, and the question is asked again. A replica with a hole
// therefore costs one leader question per missing message, and loses none.
//
// No early end: the read ends only when the leader has no selected message in
// [expected_, through]. A stalled delivery, or one whose replica says it has
// nothing more, is never taken for the end: the leader is asked. When it has
// a message, the replica is behind; the reader takes up to `leader_run`
// messages from the leader (each one a question, so slower, but exact), then
// restarts the delivery at expected_, where the service may place it on a
// replica that has caught up.
//
// Bounded: `through` is the leader's last selected sequence when the read
// began, so a stream that keeps growing does not keep the read going.
//
// With `since`: the start is found on the leader by bisection on the time each
// message was stored (JetStream assigns it as it stores, so it grows with the
// sequence); it is the first selected sequence whose message was stored at or
// after `since`.
#include "checked_reader.hpp"

#include <utility>

namespace vrrl::ship {

CheckedReader::CheckedReader(ReplicaDelivery& delivery, StreamLeader& leader, std::uint64_t through,
                             std::optional<std::int64_t> since_ns, std::size_t leader_run)
    : delivery_(delivery),
      leader_(leader),
      through_(through),
      since_ns_(since_ns),
      leader_run_(leader_run == 0 ? 1 : leader_run) {}

std::uint64_t CheckedReader::first_sequence_since(std::int64_t since_ns) {
  // The smallest s in [1, through + 1] from which the first selected message
  // (if any, up to through) was stored at or after since_ns: that property
  // holds from some s on and for every s after it.
  std::uint64_t low = 1;
  std::uint64_t high = through_ + 1;
  while (low < high) {
    const std::uint64_t middle = low + (high - low) / 2;
    ++stats_.leader_checks;
    const std::optional<StoredMessage> first = leader_.first_at_or_after(middle);
    if (!first || first->stream_sequence > through_ || first->stored_ns >= since_ns) {
      high = middle;
    } else {
      low = first->stream_sequence + 1;  // every s up to that message finds the same, earlier, message
    }
  }
  return low;
}

std::optional<StoredMessage> CheckedReader::next_from_leader() {
  ++stats_.leader_checks;
  std::optional<StoredMessage> message = leader_.first_at_or_after(expected_);
  if (!message || message->stream_sequence > through_) {
    expected_ = through_ + 1;  // the leader holds nothing more to read: the end
    held_.reset();
    return std::nullopt;
  }
  ++stats_.from_leader;
  expected_ = message->stream_sequence + 1;
  return message;
}

std::optional<StoredMessage> CheckedReader::pass_on(StoredMessage message) {
  ++stats_.delivered;
  expected_ = message.stream_sequence + 1;
  return message;
}

std::optional<StoredMessage> CheckedReader::next() {
  if (!started_) {
    started_ = true;
    expected_ = since_ns_ ? first_sequence_since(*since_ns_) : 1;
    if (expected_ <= through_) delivery_.start_at(expected_);
  }
  while (expected_ <= through_) {
    if (leader_run_left_ == 0) {
      if (!held_ && !replica_drained_) {
        held_ = delivery_.next();
        if (held_) {
          replica_drained_ = held_->pending_after == 0;
          if (held_->message.stream_sequence < expected_) {  // passed on already
            held_.reset();
            continue;
          }
        }
      }
      if (held_) {
        const std::uint64_t sequence = held_->message.stream_sequence;
        if (sequence > expected_) {
          // Nobody delivered [expected_, sequence): does the leader hold a message there?
          ++stats_.leader_checks;
          std::optional<StoredMessage> there = leader_.first_at_or_after(expected_);
          if (there && there->stream_sequence < sequence && there->stream_sequence <= through_) {
            ++stats_.from_leader;
            expected_ = there->stream_sequence + 1;
            return there;
          }
          if (sequence > through_) {  // and nothing up to through: the end
            expected_ = through_ + 1;
            held_.reset();
            return std::nullopt;
          }
        }
        StoredMessage message = std::move(held_->message);
        held_.reset();
        return pass_on(std::move(message));
      }
      // The delivery stalled, or its replica has nothing after what it gave:
      // only the leader can say whether that is the end.
      leader_run_left_ = leader_run_;
    }
    std::optional<StoredMessage> message = next_from_leader();
    if (!message) {
      leader_run_left_ = 0;
      return std::nullopt;
    }
    if (--leader_run_left_ == 0) {
      delivery_.start_at(expected_);
      ++stats_.delivery_restarts;
      replica_drained_ = false;
    }
    return message;
  }
  return std::nullopt;
}

}  // namespace vrrl::ship
