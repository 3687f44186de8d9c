// detail::MappedLog: the cold paths behind RingLog and LogReader. Opens (or
// creates) a log file, validates its header and size before mapping anything,
// takes the writer's lock, and owns the mapping. Private to lib/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <boost/interprocess/mapped_region.hpp>

#include <vrrl/ring_log.hpp>

#include "file_descriptor.hpp"

namespace vrrl::detail {

class MappedLog {
 public:
  // Opens or creates a log for appending; holds an exclusive flock until destroyed.
  [[nodiscard]] static std::unique_ptr<MappedLog> open_writer(const std::filesystem::path& path,
                                                              std::uint64_t capacity,
                                                              const OpenOptions& options);
  // Opens an existing log read-only; takes no lock.
  [[nodiscard]] static std::unique_ptr<MappedLog> open_reader(const std::filesystem::path& path);

  MappedLog(const MappedLog&) = delete;
  MappedLog& operator=(const MappedLog&) = delete;
  ~MappedLog() = default;

  [[nodiscard]] std::byte* base() const noexcept { return static_cast<std::byte*>(region_.get_address()); }
  [[nodiscard]] std::byte* records() const noexcept { return base() + format::header_bytes; }
  [[nodiscard]] std::uint64_t* header_cursor() const noexcept;
  [[nodiscard]] std::uint64_t load_cursor() const noexcept;  // acquire
  [[nodiscard]] std::uint32_t flags() const noexcept;
  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::uint64_t file_size() const noexcept { return file_size_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

  // A replay range starting at the oldest slot for the cursor as of now.
  // Throws ErrorKind::truncated when the file has shrunk since it was mapped.
  [[nodiscard]] ReplayRange replay(Recovery recovery) const;
  [[nodiscard]] std::vector<RecordedSlot> replay_all() const;

  void sync();

  // Throws ErrorKind::truncated when another process has shrunk the file
  // below the mapped size since open: touching the missing pages would SIGBUS.
  void check_not_shrunk(const char* operation) const;

 private:
  MappedLog(std::filesystem::path path, FileDescriptor file, std::uint64_t capacity,
            std::uint64_t file_size, boost::interprocess::mapped_region region) noexcept;

  enum class Access { read_write, read_only };
  [[nodiscard]] static std::unique_ptr<MappedLog> map_existing(const std::filesystem::path& path,
                                                               FileDescriptor file, Access access,
                                                               const OpenOptions& options);

  std::filesystem::path path_;
  FileDescriptor file_;  // keeps the writer's flock alive
  std::uint64_t capacity_;
  std::uint64_t file_size_;
  boost::interprocess::mapped_region region_;
};

}  // namespace vrrl::detail
