// vrrl::Error: every failure vrrl reports, with a kind a caller can switch on.
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vrrl {

enum class ErrorKind {
  io,                 // a system call failed; errno() says which error
  header_mismatch,    // not a VRRL v1 file, or a slot whose magic is neither 0 nor 0xDEADBEEF
  zero_capacity,      // capacity 0 requested, or found in a header
  capacity_overflow,  // capacity above format::max_capacity requested, or found in a header
  truncated,          // the file is shorter than its header promises
  locked,             // another writer holds the log open
  not_a_log_file,     // the path is a directory, fifo, device, ... rather than a regular file
  not_a_recording,    // a directory (or file) that is not a recording: no or corrupt vrrl-recording.txt
  invalid_name,       // a stream name outside [A-Za-z0-9._-]{1,128}, or one the recording does not have
};

// "io", "header_mismatch", ...: stable names for logs and the CLI.
[[nodiscard]] VRRL_EXPORT std::string_view to_string(ErrorKind kind) noexcept;

// The message reads like the seed's: what failed, on which path, why, and a
// "Fix: ..." hint. The parts are also available one by one.
class VRRL_EXPORT Error : public std::runtime_error {
 public:
  struct Details {
    ErrorKind kind;
    std::string operation;             // "open", "map", "replay", "sync", ...
    std::filesystem::path path;        // empty when no file is involved
    std::string what_is_wrong;         // one sentence, no trailing period
    std::string fix;                   // the "Fix:" hint, no "Fix: " prefix
    int errno_value = 0;               // 0 when no system call failed
    std::optional<std::uint64_t> slot; // the slot index, for record-level errors
  };

  explicit Error(Details details);

  [[nodiscard]] ErrorKind kind() const noexcept { return details_.kind; }
  [[nodiscard]] const std::string& operation() const noexcept { return details_.operation; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return details_.path; }
  [[nodiscard]] int errno_value() const noexcept { return details_.errno_value; }
  [[nodiscard]] std::optional<std::uint64_t> slot() const noexcept { return details_.slot; }
  [[nodiscard]] const std::string& fix() const noexcept { return details_.fix; }

 private:
  Details details_;
};

}  // namespace vrrl
