#include "cursor_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "failure.hpp"
#include "names.hpp"

namespace vrrl::ship {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

[[noreturn]] void fail(const std::string& operation, const std::filesystem::path& path, int error) {
  throw Failure("cannot " + operation + " the cursor file `" + path.string() + "`: " + errno_text(error),
                "make its directory writable for this user, or pass --cursor-dir DIR");
}

// Writes all of `text` to `fd`, retrying short writes and EINTR.
bool write_all(int fd, const std::string& text) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t result = ::write(fd, text.data() + written, text.size() - written);
    if (result < 0 && errno == EINTR) continue;
    if (result <= 0) return false;
    written += static_cast<std::size_t>(result);
  }
  return true;
}

}  // namespace

std::string format_cursor(const ShipCursor& cursor) {
  return "vrrl-ship-cursor 1\nsource " + cursor.source_id + "\nname " + cursor.stream_name + "\nstream " +
         cursor.jetstream_stream + "\nnext-sequence " + std::to_string(cursor.next_sequence) + "\n";
}

std::optional<ShipCursor> parse_cursor(const std::string& text, std::string& why) {
  std::istringstream lines(text);
  std::string line;
  if (!std::getline(lines, line) || line != "vrrl-ship-cursor 1") {
    why = "its first line is not \"vrrl-ship-cursor 1\"";
    return std::nullopt;
  }
  ShipCursor cursor;
  bool have_source = false, have_name = false, have_stream = false, have_sequence = false;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() == '#') continue;
    const std::size_t space = line.find(' ');
    const std::string key = line.substr(0, space);
    const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "source") {
      cursor.source_id = value;
      have_source = is_valid_source_id(value);
    } else if (key == "name") {
      cursor.stream_name = value;
      have_name = is_valid_stream_name(value);
    } else if (key == "stream") {
      cursor.jetstream_stream = value;
      have_stream = is_valid_jetstream_name(value);
    } else if (key == "next-sequence") {
      if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string::npos) {
        why = "its next-sequence \"" + value + "\" is not a number";
        return std::nullopt;
      }
      cursor.next_sequence = std::stoull(value);
      have_sequence = true;
    }  // other keys: written by a later vrrl, ignored
  }
  if (!have_source || !have_name || !have_stream || !have_sequence) {
    why = "it lacks a valid source, name, stream or next-sequence line";
    return std::nullopt;
  }
  return cursor;
}

CursorFile::CursorFile(std::filesystem::path path) : path_(std::move(path)) {
  const std::filesystem::path lock = path_.string() + ".lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) fail("create the lock beside", path_, errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw Failure("another vrrl ship is shipping to the same stream from here: it holds `" + lock.string() + "`",
                    "stop that one first, or ship into another --stream");
    }
    fail("lock", lock, error);
  }
}

CursorFile::CursorFile(CursorFile&& other) noexcept : path_(std::move(other.path_)), lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

CursorFile::~CursorFile() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::optional<ShipCursor> CursorFile::load() const {
  std::ifstream in(path_);
  if (!in) {
    if (!std::filesystem::exists(path_)) return std::nullopt;
    fail("read", path_, errno);
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string why;
  auto cursor = parse_cursor(text.str(), why);
  if (!cursor) {
    throw Failure("the cursor file `" + path_.string() + "` is not one vrrl ship wrote: " + why,
                  "delete it to ship the log from its oldest record (the stream drops what it already has, within "
                  "its duplicate window)");
  }
  return cursor;
}

void CursorFile::store(const ShipCursor& cursor) {
  const std::filesystem::path temporary = path_.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("create", temporary, errno);
  if (!write_all(fd, format_cursor(cursor)) || ::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail("write", temporary, error);
  }
  if (::close(fd) != 0) fail("write", temporary, errno);
  if (::rename(temporary.c_str(), path_.c_str()) != 0) fail("replace", path_, errno);
  const std::filesystem::path directory = path_.has_parent_path() ? path_.parent_path() : ".";
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_fd < 0) fail("sync the directory of", path_, errno);
  const int synced = ::fsync(directory_fd);
  const int error = errno;
  ::close(directory_fd);
  if (synced != 0) fail("sync the directory of", path_, error);
}

}  // namespace vrrl::ship
