#include "line_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <vrrl/error.hpp>

namespace vrrl::cli {

LineReader::LineReader(int fd, std::size_t max_line) : fd_(fd), max_line_(max_line), buffer_(1 << 16) {}

bool LineReader::fill() {
  if (at_end_) return false;
  begin_ = 0;
  end_ = 0;
  for (;;) {
    const ssize_t got = ::read(fd_, buffer_.data(), buffer_.size());
    if (got > 0) {
      end_ = static_cast<std::size_t>(got);
      return true;
    }
    if (got == 0) {
      at_end_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    const int error = errno;
    throw Error({.kind = ErrorKind::io,
                 .operation = "import",
                 .path = {},
                 .what_is_wrong = std::string("reading standard input failed: ") + std::strerror(error),
                 .fix = "check the file or pipe given as input",
                 .errno_value = error,
                 .slot = std::nullopt});
  }
}

std::optional<LineReader::Line> LineReader::next() {
  long_line_.clear();
  bool too_long = false;
  for (;;) {
    if (begin_ == end_ && !fill()) {
      if (long_line_.empty() && !too_long) return std::nullopt;
      return Line{too_long ? std::string_view{} : std::string_view(long_line_), too_long};
    }
    const char* start = buffer_.data() + begin_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    const std::size_t length = newline != nullptr ? static_cast<std::size_t>(newline - start) : end_ - begin_;
    begin_ += length + (newline != nullptr ? 1 : 0);
    if (!too_long && long_line_.size() + length > max_line_) {
      too_long = true;
      long_line_.clear();
    }
    if (newline != nullptr && long_line_.empty() && !too_long) return Line{{start, length}, false};
    if (!too_long) long_line_.append(start, length);
    if (newline != nullptr) return Line{too_long ? std::string_view{} : std::string_view(long_line_), too_long};
  }
}

}  // namespace vrrl::cli
