// detail::LogFile: one validated, mapped VRRL log file, the cold paths behind
// every writer and reader (RingLog, SharedRingLog, LogReader, recording
// segments). Opens (or creates) the file, validates its header and size before
// mapping anything, holds the writer's lock, and owns the mapping. It knows
// nothing about how records are appended. Private to lib/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include <boost/interprocess/mapped_region.hpp>

#include <vrrl/detail/publish.hpp>
#include <vrrl/replay.hpp>
#include <vrrl/ring_log.hpp>

#include "file_descriptor.hpp"
#include "writer_lock.hpp"

namespace vrrl::detail {

class LogFile {
 public:
  // Opens or creates a log for appending and holds the writer lock until
  // destroyed. An existing file's blocks are reserved (posix_fallocate), so a
  // sparse log (the seed creates them) fails here on a full disk instead of in
  // append(). A cursor at or above format::max_cursor restarts at the slot it
  // names.
  [[nodiscard]] static std::unique_ptr<LogFile> open_writer(const std::filesystem::path& path,
                                                            std::uint64_t capacity, const OpenOptions& options);
  // Opens an existing log read-only; takes no lock. `populate` maps it with
  // MAP_POPULATE (a recording replay that reads a segment once, whole).
  [[nodiscard]] static std::unique_ptr<LogFile> open_reader(const std::filesystem::path& path, bool populate = false);

  // --- for recording segments (lib/recording_*) ---
  // Creates a new log at `path` whose header cursor starts at `cursor` (a
  // segment's first sequence), as create_log does, and maps it for writing
  // with its writer lock. Never opens an existing file: io (EEXIST) if
  // `path` exists.
  [[nodiscard]] static std::unique_ptr<LogFile> create_writer(const std::filesystem::path& path,
                                                              std::uint64_t capacity, std::uint64_t cursor,
                                                              const OpenOptions& options);
  // The owner renamed the file (a recycled segment moved to its new name):
  // errors name the new path from now on.
  void renamed_to(std::filesystem::path path) { path_ = std::move(path); }

  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile() = default;

  [[nodiscard]] std::byte* base() const noexcept { return static_cast<std::byte*>(region_.get_address()); }
  [[nodiscard]] std::byte* records() const noexcept { return base() + layout_.header_bytes; }
  [[nodiscard]] const format::Layout& layout() const noexcept { return layout_; }
  [[nodiscard]] Format format() const noexcept { return layout_.format; }
  [[nodiscard]] std::uint64_t* header_cursor() const noexcept;
  [[nodiscard]] std::uint64_t load_cursor() const noexcept;  // acquire
  [[nodiscard]] std::uint32_t flags() const noexcept;
  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::uint64_t file_size() const noexcept { return file_size_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] int descriptor() const noexcept { return file_.get(); }

  // Writer only: the state append_record() works on, positioned after the
  // last record the header counts.
  [[nodiscard]] AppendState append_state() const noexcept;
  // Writer only: sets `flag` in the header (a release store; idempotent).
  void set_flag(std::uint32_t flag) noexcept;
  // v2 only: the count the last completed sync() made durable, in the header.
  [[nodiscard]] std::uint64_t synced() const noexcept;

  // A replay range starting at the oldest slot for the cursor as of now.
  // Throws ErrorKind::truncated when the file has shrunk since it was mapped.
  [[nodiscard]] ReplayRange replay(Recovery recovery) const;
  [[nodiscard]] std::vector<RecordedSlot> replay_all() const;

  void sync();

  // Throws ErrorKind::truncated when another process has shrunk the file
  // below the mapped size since open: touching the missing pages would SIGBUS.
  void check_not_shrunk(const char* operation) const;

 private:
  enum class Access { read_write, read_only };
  LogFile(std::filesystem::path path, FileDescriptor file, WriterLock lock, format::Layout layout,
          std::uint64_t capacity, std::uint64_t file_size, boost::interprocess::mapped_region region) noexcept;
  // v2 writer only, at open: clears every record that checks as a sequence
  // at or after the header cursor (written after the header page reached the
  // disk, before a power cut): they belong to a history the writer is about
  // to replace, and would otherwise replay after its new records.
  void clear_records_beyond_cursor() noexcept;
  [[nodiscard]] static std::unique_ptr<LogFile> map_existing(const std::filesystem::path& path, FileDescriptor file,
                                                             WriterLock lock, Access access,
                                                             const OpenOptions& options);

  std::filesystem::path path_;
  FileDescriptor file_;  // its open file description carries the writer's locks
  WriterLock lock_;      // empty for readers
  format::Layout layout_;
  std::uint64_t capacity_;
  std::uint64_t file_size_;
  boost::interprocess::mapped_region region_;
};

}  // namespace vrrl::detail
