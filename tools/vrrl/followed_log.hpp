// The log `vrrl tail -f` follows, and the two ways it can go away under a
// reader that only maps it:
//   * truncated: the file shrinks below what its header promises; touching the
//     lost pages would raise SIGBUS, so the size is checked (fstat) before
//     every poll;
//   * replaced: the path now names another file (`rm` + re-create, `mv new
//     log`); the open mapping still shows the old one, so the path's device
//     and inode are compared with the open file's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>

#include <vrrl/ring_log.hpp>

#include "file_descriptor.hpp"

namespace vrrl::cli {

class FollowedLog {
 public:
  enum class PathState {
    same,      // the path still names the open file
    missing,   // nothing at the path (removed, not re-created yet)
    replaced,  // another file is at the path
  };

  // Opens the log read-only. Throws vrrl::Error like LogReader::open.
  [[nodiscard]] static std::unique_ptr<FollowedLog> open(const std::filesystem::path& path);

  FollowedLog(const FollowedLog&) = delete;
  FollowedLog& operator=(const FollowedLog&) = delete;

  // The reader a Follower polls; it lives as long as this object.
  [[nodiscard]] const LogReader& reader() const noexcept { return reader_; }

  // Throws vrrl::Error (truncated) when the open file is now shorter than its
  // header promises (LogReader::check_not_shrunk), (io) when fstat fails.
  void check_size() const;

  // What the path names now (one stat call).
  [[nodiscard]] PathState path_state() const;

 private:
  FollowedLog(FileDescriptor file, LogReader reader, dev_t device, ino_t inode)
      : file_(std::move(file)), reader_(std::move(reader)), device_(device), inode_(inode) {}

  FileDescriptor file_;  // the mapped file, opened to learn its device and inode
  LogReader reader_;
  const dev_t device_;
  const ino_t inode_;
};

}  // namespace vrrl::cli
