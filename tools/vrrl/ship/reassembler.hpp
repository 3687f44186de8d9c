// Puts one (source id, stream name)'s messages back in sequence order,
// whatever order the JetStream stream holds them in, and accounts for every
// sequence from the first one seen: written, lost before shipping (a gap
// message said so), missing from the stream, or a duplicate dropped.
//
// Why messages can arrive out of order: a shipper resends a timed-out message
// after later ones were stored (a leader change mid-run), so the stream may
// hold [300, 556) after [556, 812). The shipper keeps at most max_pending
// messages unacknowledged, so such a message is never more than that many
// places late; holding back up to `hold_limit` (above it) messages puts
// every one back in place. A hole still open when the hold is full, or at the
// end, is declared missing: reported, never invented.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "message.hpp"

namespace vrrl::ship {

struct SequenceRange {
  std::uint64_t first = 0;
  std::uint64_t end = 0;  // one past the last

  friend bool operator==(const SequenceRange&, const SequenceRange&) = default;
};

struct ReassemblyTally {
  std::optional<std::uint64_t> first_sequence;  // the first sequence accounted for
  std::uint64_t next_sequence = 0;              // one past the last accounted for
  std::uint64_t written = 0;                    // records passed on, in order
  std::uint64_t lost = 0;                       // announced lost by the shipper
  std::uint64_t missing = 0;                    // in no message seen (holes)
  std::uint64_t duplicates = 0;                 // records seen again, dropped
  std::uint64_t late = 0;                       // records of a hole that arrived after it was declared (not written)

  friend bool operator==(const ReassemblyTally&, const ReassemblyTally&) = default;
};

class Reassembler {
 public:
  // Receives each record to write, in sequence order: the sequence and its 64 bytes.
  using RecordOut = std::function<void(std::uint64_t sequence, std::span<const std::byte> record)>;

  Reassembler(RecordOut out, std::size_t hold_limit);

  // Takes a decoded message (its bytes are copied).
  void add(const DecodedMessage& message);
  // Passes on everything held, declaring the holes between.
  void finish();

  [[nodiscard]] const ReassemblyTally& tally() const noexcept { return tally_; }
  [[nodiscard]] const std::vector<SequenceRange>& missing_ranges() const noexcept { return missing_; }

 private:
  struct Held {
    MessageKind kind;
    std::uint64_t count;
    std::vector<std::byte> records;  // count * 64 bytes for a records message
  };

  void release(bool force);
  void apply(std::uint64_t first, const Held& held);
  void count_seen_again(MessageKind kind, std::uint64_t first, std::uint64_t end);

  RecordOut out_;
  const std::size_t hold_limit_;
  std::multimap<std::uint64_t, Held> held_;  // by first sequence
  ReassemblyTally tally_;
  std::vector<SequenceRange> missing_;
};

}  // namespace vrrl::ship
