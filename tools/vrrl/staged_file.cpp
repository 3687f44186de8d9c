#include "staged_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include <vrrl/error.hpp>

#include "file_descriptor.hpp"

namespace vrrl::cli {
namespace {

// A temporary name stays below NAME_MAX (255) whatever the target's name.
constexpr std::size_t longest_name_kept = 200;

Error io_error(const std::filesystem::path& path, const std::string& what, int error, std::string fix) {
  return Error({.kind = ErrorKind::io,
                .operation = "convert",
                .path = path,
                .what_is_wrong = what + " failed: " + std::strerror(error),
                .fix = std::move(fix),
                .errno_value = error,
                .slot = std::nullopt});
}

Error appeared(const std::filesystem::path& target) {
  return Error({.kind = ErrorKind::io,
                .operation = "convert",
                .path = target,
                .what_is_wrong = "a file appeared at this path while the conversion ran, and it was left as it is",
                .fix = "choose another output path, or give --force to replace it",
                .errno_value = EEXIST,
                .slot = std::nullopt});
}

bool name_taken(const std::filesystem::path& path) {
  std::error_code ignored;
  return std::filesystem::symlink_status(path, ignored).type() != std::filesystem::file_type::not_found;
}

}  // namespace

StagedFile::StagedFile(std::filesystem::path target, bool replace) : target_(std::move(target)), replace_(replace) {
  const std::filesystem::path directory = target_.parent_path();
  const std::string name = target_.filename().string();
  const std::string stem = name.size() <= longest_name_kept ? "." + name + ".convert-" : ".vrrl-convert-";
  for (unsigned attempt = 0;; ++attempt) {
    temporary_ = directory / (stem + std::to_string(::getpid()) + "-" + std::to_string(attempt) + ".tmp");
    if (!name_taken(temporary_)) break;
  }
}

StagedFile::~StagedFile() {
  if (!committed_) ::unlink(temporary_.c_str());  // absent when creating it failed: nothing to do
}

void StagedFile::commit() {
  if (replace_) {
    if (::rename(temporary_.c_str(), target_.c_str()) != 0) {
      throw io_error(target_, "renaming the finished file `" + temporary_.string() + "` into place", errno,
                     "check the directory's permissions; nothing was written at this path");
    }
  } else if (::renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) throw appeared(target_);
    if (errno != EINVAL && errno != ENOSYS) {
      throw io_error(target_, "renaming the finished file `" + temporary_.string() + "` into place", errno,
                     "check the directory's permissions; nothing was written at this path");
    }
    // A filesystem without RENAME_NOREPLACE: link(2) never replaces either.
    if (::link(temporary_.c_str(), target_.c_str()) != 0) {
      if (errno == EEXIST) throw appeared(target_);
      throw io_error(target_, "linking the finished file `" + temporary_.string() + "` into place", errno,
                     "check the directory's permissions; nothing was written at this path");
    }
    ::unlink(temporary_.c_str());
  }
  committed_ = true;
  const std::filesystem::path directory = target_.parent_path().empty() ? "." : target_.parent_path();
  const FileDescriptor handle(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!handle.valid() || ::fsync(handle.get()) != 0) {
    throw io_error(target_, "fsync of its directory after the rename", errno,
                   "the file is complete and in place, but a power cut now may undo the rename; check the device, "
                   "then run `vrrl verify` on it");
  }
}

}  // namespace vrrl::cli
