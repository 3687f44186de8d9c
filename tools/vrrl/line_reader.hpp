// Standard input, one line at a time, with a bound on a line's length so a
// file without newlines cannot exhaust memory.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vrrl::cli {

class LineReader {
 public:
  struct Line {
    std::string_view text;  // without the '\n'; valid until the next call
    bool too_long = false;  // longer than max_line: `text` is empty, the line was skipped
  };

  LineReader(int fd, std::size_t max_line);
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line, or nullopt at the end of the input (a last line without
  // '\n' counts). Throws vrrl::Error (io) when reading fails.
  [[nodiscard]] std::optional<Line> next();

 private:
  bool fill();  // reads more into buffer_; false at end of input

  const int fd_;
  const std::size_t max_line_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_)
  std::size_t end_ = 0;
  std::string long_line_;  // a line that spans reads
  bool at_end_ = false;
};

}  // namespace vrrl::cli
