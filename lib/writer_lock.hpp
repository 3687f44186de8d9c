// detail::WriterLock: one writer per log file, and a way for readers to ask
// whether a writer is there without taking any lock a writer could trip over.
// Private to lib/.
#pragma once

#include <sys/types.h>

#include <filesystem>

namespace vrrl::detail {

// Held by every writer (RingLog, SharedRingLog, a recording's stream writer)
// for as long as the log is open. Two locks on the same descriptor:
//  * flock(LOCK_EX): what vrrl 0.1 took, so old and new writers exclude each
//    other too;
//  * an OFD write lock (fcntl F_OFD_SETLK) on byte 0: the one readers test
//    with F_OFD_GETLK, which never takes a lock. Other byte ranges are free.
// Both belong to the open file description: they end when the last
// descriptor of it closes (or the process dies), and a fork()ed child shares
// them. The process remembers which files it locked (and which pid locked
// them), so a second open in the same process, or in a child after fork(),
// gets an error that names that case instead of "another writer".
class WriterLock {
 public:
  WriterLock() noexcept = default;
  // Locks the file open as `fd`; throws ErrorKind::locked (or io) naming `path`.
  [[nodiscard]] static WriterLock acquire(int fd, const std::filesystem::path& path);

  WriterLock(WriterLock&& other) noexcept;
  WriterLock& operator=(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  ~WriterLock();

  [[nodiscard]] bool held() const noexcept { return held_; }

 private:
  WriterLock(dev_t device, ino_t inode) noexcept : device_(device), inode_(inode), held_(true) {}
  void release() noexcept;

  dev_t device_ = 0;
  ino_t inode_ = 0;
  bool held_ = false;
};

// True when some process holds the OFD write lock WriterLock takes on the
// file open as `fd`. Takes no lock. Throws io if fcntl fails.
[[nodiscard]] bool has_writer(int fd, const std::filesystem::path& path);

}  // namespace vrrl::detail
