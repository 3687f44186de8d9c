// The pieces check_log() (log_check.cpp) is built from, shared by its v1 and
// v2 slot checks (log_check_v2.cpp). Internal to `vrrl verify`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <vrrl/format.hpp>
#include <vrrl/header.hpp>

#include "log_check.hpp"

namespace vrrl::cli::log_check_parts {

// A file opened read-only for plain reads (never mapped: a file that shrinks
// under a read gives a short read, not SIGBUS). Closes what it owns.
class ReadOnlyFile {
 public:
  // Throws vrrl::Error (io, operation "verify") when the path cannot be opened.
  explicit ReadOnlyFile(const std::filesystem::path& path);
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();

  // Reads up to `size` bytes at `offset`; fewer only at the end of the file.
  // Throws vrrl::Error (io) when pread fails.
  std::size_t read_at(std::byte* into, std::size_t size, std::uint64_t offset) const;

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  int fd_;
};

// Adds findings with a cap per kind, so a file full of garbage stays readable.
class FindingList {
 public:
  explicit FindingList(LogCheck& check) : check_(check) {}

  void problem(std::string_view kind, std::optional<std::uint64_t> slot, std::string message);
  void note(std::string_view kind, std::optional<std::uint64_t> slot, std::string message);

 private:
  void add(std::string_view kind, Finding::Severity severity, std::optional<std::uint64_t> slot, std::string message);

  LogCheck& check_;
  std::vector<std::pair<std::string_view, std::uint64_t>> listed_;  // kind, findings of that kind so far
};

// The order checks both formats share, fed the records in replay order:
// timestamps going backwards (a problem, or a note in a multi-producer log)
// and empty slots between records (a note).
class RecordOrder {
 public:
  RecordOrder(LogCheck& check, FindingList& findings) : check_(check), findings_(findings) {}

  void empty(std::uint64_t slot);
  void record(std::uint64_t slot, std::uint64_t timestamp_ns);
  // What replay yields after this point does not follow the slots (v2's
  // records past the cursor): empty slots not yet followed by a record are at
  // the newest end of the ring, not between records.
  void end_of_slot_order() { pending_empty_.clear(); }

 private:
  LogCheck& check_;
  FindingList& findings_;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> previous_;  // timestamp, slot of the last record
  std::vector<std::uint64_t> pending_empty_;
};

// Calls visit(slot, bytes) for each of the first `slots_present` slots of a
// log in `layout` with `capacity` slots, in replay order (oldest first, from
// `cursor % capacity`), reading in chunks. Stops early if the file ends
// sooner (it shrank during the walk).
void walk_slots(const ReadOnlyFile& file, const format::Layout& layout, std::uint64_t capacity,
                std::uint64_t slots_present, std::uint64_t cursor,
                const std::function<void(std::uint64_t slot, const std::byte* bytes)>& visit);

// The slot checks of a VRRL v2 log whose header (`header`, valid) and size
// check_log has already checked (log_check_v2.cpp).
void check_v2_slots(const ReadOnlyFile& file, const LogHeader& header, LogCheck& check, FindingList& findings);

// "0x0000ABCD".
[[nodiscard]] std::string hex32(std::uint32_t value);

}  // namespace vrrl::cli::log_check_parts
