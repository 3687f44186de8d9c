#include "reassembler.hpp"

#include <algorithm>

namespace vrrl::ship {

Reassembler::Reassembler(RecordOut out, std::size_t hold_limit)
    : out_(std::move(out)), hold_limit_(std::max<std::size_t>(hold_limit, 1)) {}

void Reassembler::add(const DecodedMessage& message) {
  Held held{message.kind, message.count, {}};
  if (message.kind == MessageKind::records) held.records.assign(message.records.begin(), message.records.end());
  held_.emplace(message.first_sequence, std::move(held));
  release(false);
}

void Reassembler::finish() { release(true); }

void Reassembler::release(bool force) {
  while (!held_.empty()) {
    const auto lowest = held_.begin();
    const bool must = force || held_.size() > hold_limit_;
    if (!tally_.first_sequence) {
      // Wait for the hold to fill before picking where the stream starts: a
      // message sent earlier may still come (nothing comes before sequence 0).
      if (!must && lowest->first != 0) return;
      tally_.first_sequence = lowest->first;
      tally_.next_sequence = lowest->first;
    }
    if (lowest->first > tally_.next_sequence) {
      if (!must) return;  // the hole may still be filled
      missing_.push_back({tally_.next_sequence, lowest->first});
      tally_.missing += lowest->first - tally_.next_sequence;
      tally_.next_sequence = lowest->first;
    }
    apply(lowest->first, lowest->second);
    held_.erase(lowest);
  }
}

void Reassembler::apply(std::uint64_t first, const Held& held) {
  const std::uint64_t end = first + held.count;
  const std::uint64_t from = std::max(first, tally_.next_sequence);
  if (first < from) count_seen_again(held.kind, first, std::min(end, from));
  if (end <= from) return;
  if (held.kind == MessageKind::gap) {
    tally_.lost += end - from;
  } else {
    for (std::uint64_t sequence = from; sequence < end; ++sequence) {
      const std::size_t at = static_cast<std::size_t>((sequence - first) * format::record_bytes);
      out_(sequence, std::span<const std::byte>(held.records).subspan(at, format::record_bytes));
    }
    tally_.written += end - from;
  }
  tally_.next_sequence = end;
}

void Reassembler::count_seen_again(MessageKind kind, std::uint64_t first, std::uint64_t end) {
  // Below next_sequence: either a copy of what was written (or announced
  // lost), or part of a hole declared missing that has now turned up. A late
  // gap message explains its part of the hole (lost, not missing); late
  // records are counted, but the output is already past them.
  std::uint64_t in_holes = 0;
  for (const SequenceRange& hole : missing_) {
    const std::uint64_t a = std::max(first, hole.first);
    const std::uint64_t b = std::min(end, hole.end);
    if (a < b) in_holes += b - a;
  }
  if (kind == MessageKind::gap) {
    tally_.lost += in_holes;
    tally_.missing -= in_holes;
    return;
  }
  tally_.late += in_holes;
  tally_.duplicates += (end - first) - in_holes;
}

}  // namespace vrrl::ship
