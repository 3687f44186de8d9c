#include "disk_io.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "errors.hpp"

namespace vrrl::detail {
namespace {

constexpr DiskCalls system_calls{
    .pwrite = ::pwrite,
    .pread = ::pread,
    .fdatasync = ::fdatasync,
};

// Acquire/release: a test's calls table is fully built before an engine
// thread uses it.
std::atomic<const DiskCalls*> current_calls{&system_calls};

const DiskCalls& calls() noexcept { return *current_calls.load(std::memory_order_acquire); }

// What the caller can do about a failed write or flush of the disk copy. The
// records are still in the in-memory ring, and the next pass rewrites every
// record since the last one known durable, so nothing is lost yet unless the
// process dies with the disk still failing.
std::string fix_for(int error) {
  switch (error) {
    case ENOSPC:
    case EDQUOT:
      return "free space on the filesystem holding the log; the records are kept in the in-memory ring and the "
             "next background pass rewrites every record since durable()";
    case EIO:
      return "the device reported an I/O error (check dmesg); the records are kept in the in-memory ring and the "
             "next background pass rewrites every record since durable(); if it keeps failing, copy the in-memory "
             "ring (RingLog::live_path()) somewhere safe";
    default:
      return "check the device and free space; the next background pass rewrites every record since durable()";
  }
}

}  // namespace

void set_disk_calls_for_testing(const DiskCalls* replacement) noexcept {
  current_calls.store(replacement != nullptr ? replacement : &system_calls, std::memory_order_release);
}

void disk_write(int fd, const std::byte* data, std::size_t size, std::uint64_t offset,
                const std::filesystem::path& path, const char* what) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t put = calls().pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (put < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      throw io_error("sync", path, std::string("pwrite of ") + what, error, fix_for(error));
    }
    if (put == 0) throw io_error("sync", path, std::string("pwrite of ") + what, EIO, fix_for(EIO));
    done += static_cast<std::size_t>(put);
  }
}

void disk_read(int fd, std::byte* data, std::size_t size, std::uint64_t offset, const std::filesystem::path& path,
               const char* what) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = calls().pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      throw io_error("sync", path, std::string("pread of ") + what, error, fix_for(error));
    }
    if (got == 0) {
      throw io_error("sync", path, std::string("pread of ") + what + " (end of file: the log shrank)", EIO,
                     "another process truncated the log (vrrl's lock is advisory); stop it and restore the file");
    }
    done += static_cast<std::size_t>(got);
  }
}

void disk_flush(int fd, const std::filesystem::path& path, const char* what) {
  while (calls().fdatasync(fd) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    throw io_error("sync", path, std::string("fdatasync after ") + what, error, fix_for(error));
  }
}

}  // namespace vrrl::detail
