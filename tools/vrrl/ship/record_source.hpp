// What the shipper ships from: one recording stream's records by sequence,
// with the sequences it could not read reported as lost, never skipped
// silently. LogSource (log_source.hpp) is one VRRL log followed with
// vrrl::Follower; a recording directory gives one source per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include <vrrl/record.hpp>

namespace vrrl::ship {

// Receives what a source read, in sequence order.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void on_record(std::uint64_t sequence, const RecordedSlot& slot, const FailureEvidence& evidence) = 0;
  // `count` sequences from `first` were lost: overwritten before they could be
  // read, or never completed (their writer died mid-append).
  virtual void on_lost(std::uint64_t first, std::uint64_t count) = 0;
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // The stream's name (the log's file stem, a recording's stream directory).
  [[nodiscard]] virtual const std::string& name() const noexcept = 0;
  // Slots of the log the records come from (pull creates its logs with it).
  [[nodiscard]] virtual std::uint32_t capacity() const noexcept = 0;
  // Where the stream's files are, for messages and for the cursor file.
  [[nodiscard]] virtual const std::filesystem::path& path() const noexcept = 0;
  // Passes every sequence from position() up to what is readable now to the
  // sink, as at most `max_records` records plus the lost ranges around them.
  // Never a torn record. Throws ship::Failure when the stream cannot go on
  // (its count went backwards: it was recreated).
  virtual void poll(RecordSink& sink, std::size_t max_records) = 0;
  // The next sequence poll() reads.
  [[nodiscard]] virtual std::uint64_t position() const noexcept = 0;
  // Continue from `sequence` (which is in the stream already, or about to be).
  virtual void seek(std::uint64_t sequence) = 0;
  // One past the newest sequence written so far.
  [[nodiscard]] virtual std::uint64_t end() = 0;
};

}  // namespace vrrl::ship
