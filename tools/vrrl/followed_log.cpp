#include "followed_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <vrrl/error.hpp>

namespace vrrl::cli {
namespace {

Error stat_failed(const std::filesystem::path& path, const char* call, int error) {
  return Error({.kind = ErrorKind::io,
                .operation = "tail",
                .path = path,
                .what_is_wrong = std::string(call) + " failed: " + std::strerror(error),
                .fix = "check the path and its permissions",
                .errno_value = error,
                .slot = std::nullopt});
}

}  // namespace

std::unique_ptr<FollowedLog> FollowedLog::open(const std::filesystem::path& path) {
  // Our descriptor and the LogReader's mapping must be the same file: the
  // path may be replaced between the two opens, so compare and retry.
  for (int attempt = 0;; ++attempt) {
    FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    LogReader reader = LogReader::open(path);  // the library's validation and error messages
    if (!file.valid()) throw stat_failed(path, "open", errno);
    struct stat opened {};
    struct stat now {};
    if (::fstat(file.get(), &opened) != 0) throw stat_failed(path, "fstat", errno);
    if (::stat(path.c_str(), &now) != 0) throw stat_failed(path, "stat", errno);
    if ((opened.st_dev == now.st_dev && opened.st_ino == now.st_ino) || attempt == 2) {
      return std::unique_ptr<FollowedLog>(
          new FollowedLog(std::move(file), std::move(reader), opened.st_dev, opened.st_ino));
    }
  }
}

void FollowedLog::check_size() const { reader_.check_not_shrunk("tail"); }

FollowedLog::PathState FollowedLog::path_state() const {
  struct stat now {};
  if (::stat(reader_.path().c_str(), &now) != 0) return PathState::missing;
  return now.st_dev == device_ && now.st_ino == inode_ ? PathState::same : PathState::replaced;
}

}  // namespace vrrl::cli
