// Helpers shared by the recording suites: small recordings that roll often,
// self-checking records keyed by (stream, append index), what a recording
// directory holds, and reading everything back as plain values.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <vrrl/recording.hpp>
#include <vrrl/ring_log.hpp>

#include "support/self_checking_record.hpp"

namespace vrrl::test {

// Small segments so that rolls are frequent; a roll never gives up waiting
// (no drops unless a test asks for them); no prefault (faster tests).
inline RecordingOptions small_segments(std::uint64_t capacity) {
  RecordingOptions options;
  options.segment_capacity = capacity;
  options.prefault = false;
  options.roll_timeout = std::chrono::hours(1);
  return options;
}

// Appends the self-checking records (producer, from ..< from + count).
inline void append_keys(StreamWriter& writer, std::uint32_t producer, std::uint64_t from, std::uint64_t count) {
  for (std::uint64_t index = from; index < from + count; ++index) {
    const SelfCheckingRecord record = make_record(RecordKey{producer, index});
    writer.append(record.slot, record.evidence);
  }
}

// A record with a chosen timestamp; the other fields name (producer, index).
inline void append_at(StreamWriter& writer, std::uint64_t timestamp, std::uint32_t producer = 0,
                      std::uint64_t index = 0) {
  RecordedSlot slot = make_record(RecordKey{producer, index}).slot;
  slot.timestamp_ns = timestamp;
  writer.append(slot);
}

// A self-checking record with a timestamp of the test's choosing: the key
// is carried by tenant_id (producer) and epoch (index), every other field is
// a function of it, so a torn record is still recognised.
inline void append_keyed(StreamWriter& writer, std::uint32_t producer, std::uint32_t index, std::uint64_t timestamp) {
  SelfCheckingRecord record = make_record(RecordKey{producer, index});
  record.slot.timestamp_ns = timestamp;
  writer.append(record.slot, record.evidence);
}

inline std::optional<RecordKey> check_keyed(const RecordedSlot& slot, const FailureEvidence& evidence) {
  const RecordKey key{slot.tenant_id, slot.epoch};
  SelfCheckingRecord expected = make_record(key);
  expected.slot.timestamp_ns = slot.timestamp_ns;
  if (expected.slot != slot || expected.evidence != evidence) return std::nullopt;
  return key;
}

// One record of a replay, as values.
struct Seen {
  std::string stream;
  std::uint64_t sequence = 0;
  std::uint64_t timestamp = 0;
  bool self_consistent = false;  // check_record() recognises it
  RecordKey key;
  std::uint32_t epoch = 0;  // make_record() puts the append index there, also for append_at()
  friend bool operator==(const Seen&, const Seen&) = default;
};

inline Seen seen(const StreamRecord& item) {
  Seen out{std::string(item.stream_name), item.sequence, item.record.timestamp_ns(), false, {}, item.record.epoch()};
  if (const std::optional<RecordKey> key = check_record(item.record.slot(), item.record.failure())) {
    out.self_consistent = true;
    out.key = *key;
  }
  return out;
}

template <class Range>
std::vector<Seen> collect(Range&& range) {
  std::vector<Seen> out;
  for (const StreamRecord& item : range) out.push_back(seen(item));
  return out;
}

inline std::vector<Seen> read_all(const std::filesystem::path& dir) {
  const RecordingReader reader = RecordingReader::open(dir);
  return collect(reader.replay());
}

// The segment files of a stream directory, sorted (what `ls` shows, dotfiles left out).
inline std::vector<std::string> segment_names(const std::filesystem::path& stream_dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(stream_dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with('.')) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::vector<std::string> hidden_names(const std::filesystem::path& stream_dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(stream_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with('.')) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string segment_name(std::uint64_t first) {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(first));
  return std::string(digits) + ".vrrl";
}

inline std::uint64_t header_cursor(const std::filesystem::path& segment) {
  return LogReader::open(segment).appended();
}

// Overwrites a log's header cursor behind the writer's back.
inline void set_cursor(const std::filesystem::path& log, std::uint64_t cursor) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, &cursor, sizeof cursor, format::header_offset::cursor) == sizeof cursor);
  ::close(fd);
}

// Overwrites the magic of one slot of a log.
inline void set_magic(const std::filesystem::path& log, std::uint64_t slot, std::uint32_t magic) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, &magic, sizeof magic, static_cast<off_t>(format::record_position(slot))) == sizeof magic);
  ::close(fd);
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
}

inline std::string read_text(const std::filesystem::path& path) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[4096];
  for (ssize_t got; (got = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(got));
  ::close(fd);
  return text;
}

// The open file descriptors of this process.
inline std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

}  // namespace vrrl::test
