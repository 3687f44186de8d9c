// FileDescriptor: an owned POSIX file descriptor, closed on destruction. The
// CLI's own (lib/'s is private to the library).
#pragma once

#include <unistd.h>

#include <utility>

namespace vrrl::cli {

class FileDescriptor {
 public:
  FileDescriptor() noexcept = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);  // every descriptor the CLI closes was read, or written and checked before
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace vrrl::cli
