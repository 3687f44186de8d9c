// One VRRL v1 log as a RecordSource: vrrl::Follower reads it by sequence (the
// header cursor's running count), validating each copy, so a record being
// overwritten is reported lost and never shipped torn.
#pragma once

#include <filesystem>
#include <string>

#include <vrrl/follower.hpp>
#include <vrrl/ring_log.hpp>

#include "record_source.hpp"

namespace vrrl::ship {

// Polls `follower` (over `reader`) once and passes records and lost ranges
// to `sink`. Throws ship::Failure when the log's count went backwards or is
// damaged: its sequences would collide with those already shipped as `name`.
void poll_follower(Follower& follower, const LogReader& reader, RecordSink& sink, std::size_t max_records,
                   const std::string& name);

class LogSource final : public RecordSource {
 public:
  // Opens `log` read-only (no lock: the writer is never slowed) and starts at
  // `start`, or at the oldest record in the ring. Throws vrrl::Error if the
  // file is not a readable log.
  LogSource(const std::filesystem::path& log, std::string name, std::optional<std::uint64_t> start);

  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] std::uint32_t capacity() const noexcept override;
  [[nodiscard]] const std::filesystem::path& path() const noexcept override { return reader_.path(); }
  void poll(RecordSink& sink, std::size_t max_records) override;
  [[nodiscard]] std::uint64_t position() const noexcept override { return follower_.position(); }
  void seek(std::uint64_t sequence) override { follower_ = Follower(reader_, sequence); }
  [[nodiscard]] std::uint64_t end() override { return reader_.appended(); }

 private:
  const std::string name_;
  LogReader reader_;   // the Follower points into its mapping: declared first
  Follower follower_;
};

}  // namespace vrrl::ship
