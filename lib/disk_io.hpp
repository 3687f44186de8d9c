// detail::DiskCalls and the I/O helpers of the write-behind engine
// (lib/mirror.hpp): every read, write and flush the engine makes on a disk
// file goes through here, so that a test can fail any one of them (EIO,
// ENOSPC) or record them all (the power-loss explorer). Private to lib/.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include <vrrl/export.hpp>

namespace vrrl::detail {

// The system calls the engine makes on disk files. Production code never
// changes them; tests swap in their own with set_disk_calls_for_testing().
struct DiskCalls {
  ssize_t (*pwrite)(int fd, const void* data, std::size_t size, off_t offset);
  ssize_t (*pread)(int fd, void* data, std::size_t size, off_t offset);
  int (*fdatasync)(int fd);
};

// Tests only: the engine's disk calls become `calls` (which must outlive
// their use) until called again; nullptr restores the system calls. Takes
// effect for the next call any engine thread makes. Exported (the only
// lib-private symbol that is) so that test/durability can reach it.
VRRL_EXPORT void set_disk_calls_for_testing(const DiskCalls* calls) noexcept;

// Writes all of [data, data + size) at `offset`, retrying EINTR and short
// writes. Throws ErrorKind::io (operation "sync", naming `what`) on failure.
void disk_write(int fd, const std::byte* data, std::size_t size, std::uint64_t offset,
                const std::filesystem::path& path, const char* what);
// Reads exactly `size` bytes at `offset`; throws io on failure or end of file.
void disk_read(int fd, std::byte* data, std::size_t size, std::uint64_t offset, const std::filesystem::path& path,
               const char* what);
// fdatasync, retrying EINTR; throws io on failure.
void disk_flush(int fd, const std::filesystem::path& path, const char* what);

}  // namespace vrrl::detail
