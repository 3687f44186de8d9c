#include "errors.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <vrrl/format.hpp>

namespace vrrl {
namespace {

std::string compose_message(const Error::Details& details) {
  std::string message = "vrrl " + details.operation;
  if (!details.path.empty()) message += " `" + details.path.string() + "`";
  message += ": " + details.what_is_wrong + ". Fix: " + details.fix + ".";
  return message;
}

}  // namespace

Error::Error(Details details) : std::runtime_error(compose_message(details)), details_(std::move(details)) {}

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::io: return "io";
    case ErrorKind::header_mismatch: return "header_mismatch";
    case ErrorKind::zero_capacity: return "zero_capacity";
    case ErrorKind::capacity_overflow: return "capacity_overflow";
    case ErrorKind::truncated: return "truncated";
    case ErrorKind::locked: return "locked";
    case ErrorKind::not_a_log_file: return "not_a_log_file";
    case ErrorKind::not_a_recording: return "not_a_recording";
    case ErrorKind::invalid_name: return "invalid_name";
  }
  return "unknown";
}

}  // namespace vrrl

namespace vrrl::detail {
namespace {

std::string default_fix(int errno_value, const std::filesystem::path& path) {
  switch (errno_value) {
    case ENOENT:
      return "check the path; create the directory `" + path.parent_path().string() +
             "` first if it does not exist";
    case EACCES:
    case EPERM:
      return "check the permissions of `" + path.string() +
             "` and its directory, or read it with vrrl::LogReader / `vrrl dump`";
    case EROFS:
      return "the filesystem is read-only; put the log on a writable filesystem or open it with vrrl::LogReader";
    case ENOSPC:
    case EDQUOT:
      return "free disk space (or quota) on the filesystem holding the log, or choose a smaller capacity";
    case ENOTDIR:
      return "a component of the path is not a directory; check the path";
    case ENAMETOOLONG:
      return "use a shorter path";
    case ELOOP:
      return "the path is a loop of symbolic links; point the link at a file";
    case EIO:
      return "the device reported an I/O error; check it (dmesg) and restore the log from a good copy";
    default:
      return "check disk space + permissions";  // the seed's hint
  }
}

Error capacity_error(std::uint64_t capacity, const std::filesystem::path& path, const std::string& where) {
  if (capacity == 0) {
    return Error({.kind = ErrorKind::zero_capacity,
                  .operation = "open",
                  .path = path,
                  .what_is_wrong = where + " capacity must be > 0",
                  .fix = "construct with at least one slot",
                  .errno_value = 0,
                  .slot = std::nullopt});
  }
  return Error({.kind = ErrorKind::capacity_overflow,
                .operation = "open",
                .path = path,
                .what_is_wrong = where + " capacity " + std::to_string(capacity) + " exceeds max " +
                                 std::to_string(format::max_capacity),
                .fix = "shard replay into smaller logs",
                .errno_value = 0,
                .slot = std::nullopt});
}

}  // namespace

Error problem(ErrorKind kind, std::string operation, const std::filesystem::path& path, std::string what_is_wrong,
              std::string fix) {
  return Error({.kind = kind,
                .operation = std::move(operation),
                .path = path,
                .what_is_wrong = std::move(what_is_wrong),
                .fix = std::move(fix),
                .errno_value = 0,
                .slot = std::nullopt});
}

Error io_error(const std::string& operation, const std::filesystem::path& path, const std::string& call,
               int errno_value, std::string fix) {
  return Error({.kind = ErrorKind::io,
                .operation = operation,
                .path = path,
                .what_is_wrong = call + " failed: " + std::strerror(errno_value) + " (errno " +
                                 std::to_string(errno_value) + ")",
                .fix = fix.empty() ? default_fix(errno_value, path) : std::move(fix),
                .errno_value = errno_value,
                .slot = std::nullopt});
}

void validate_capacity(std::uint64_t capacity, const std::filesystem::path& path, const std::string& where) {
  if (capacity == 0 || capacity > format::max_capacity) throw capacity_error(capacity, path, where);
}

}  // namespace vrrl::detail
