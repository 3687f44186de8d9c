// write_summary: the last words of a command that wrote a file (import,
// convert), written to standard output directly rather than through
// std::cout, whose failure main.cpp turns into exit 1: once the file is
// written and synced, a reader of the summary that went away must not change
// the exit status.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

namespace vrrl::cli {

// False when `text` could not be written whole: stdout closed, a broken pipe
// (the caller ignores SIGPIPE), a full disk. errno says why.
[[nodiscard]] inline bool write_summary(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t written = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    done += static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace vrrl::cli
