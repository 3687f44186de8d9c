// Where `vrrl import` keeps the records it has validated until every line is
// checked: an unnamed temporary file (O_TMPFILE) in the target log's
// directory, or in $TMPDIR (default /tmp) when that directory refuses one.
// Memory stays flat whatever the input's size, and the file vanishes when the
// spool is destroyed or the process dies, kill -9 included.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "file_descriptor.hpp"
#include "record_json.hpp"

namespace vrrl::cli {

class RecordSpool {
 public:
  // Throws vrrl::Error (io) when no temporary file can be made.
  explicit RecordSpool(const std::filesystem::path& target);
  RecordSpool(const RecordSpool&) = delete;
  RecordSpool& operator=(const RecordSpool&) = delete;

  // Buffered; throws vrrl::Error (io) when the temporary file cannot grow.
  void add(const RecordValue& record);
  [[nodiscard]] std::uint64_t size() const noexcept { return count_; }

  // Every record added, in order, in chunks. Flushes first.
  void replay(const std::function<void(std::span<const RecordValue>)>& visit);

 private:
  void flush();

  std::filesystem::path directory_;  // for messages
  FileDescriptor file_;
  std::vector<RecordValue> buffer_;
  std::uint64_t count_ = 0;
};

}  // namespace vrrl::cli
