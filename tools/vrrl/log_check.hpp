// The checks behind `vrrl verify`, usable by other code: they read the file
// with plain reads rather than mapping it, so a log that LogReader::open would
// refuse (truncated, foreign header, bad slots) is still examined as far as
// its bytes allow, and every problem is listed rather than only the first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vrrl::cli {

struct Finding {
  enum class Severity {
    problem,  // the file is not a clean VRRL v1 log; verify exits 1
    note,     // worth knowing, but a valid log can look like this
  };
  Severity severity;
  std::optional<std::uint64_t> slot;  // the slot index, for slot-level findings
  std::string message;                // one sentence, no trailing period
};

struct LogCheck {
  std::vector<Finding> findings;       // in file order; at most max_listed per kind of check
  std::uint64_t problems = 0;          // all problems, including those not listed
  std::uint64_t unlisted = 0;          // findings dropped beyond max_listed
  bool header_valid = false;           // magic, version and capacity are usable
  std::uint64_t capacity = 0;          // from the header, when header_valid
  std::uint32_t flags = 0;             // from the header, when header_valid
  bool multi_producer = false;         // flags bit 0: timestamps going backwards are notes, not problems
  std::uint64_t slots_checked = 0;     // complete slots present in the file
  std::uint64_t records = 0;           // slots with the record magic
  std::uint64_t empty_slots = 0;       // slots with magic 0
  std::uint64_t bad_magic_slots = 0;   // slots with any other magic
  std::uint64_t timestamps_backwards = 0;

  [[nodiscard]] bool clean() const noexcept { return problems == 0; }
};

// How many findings of one kind (e.g. bad record magics) are kept in `findings`.
inline constexpr std::uint64_t max_listed = 1000;

// Checks the file at `path`: its type and size, the header (magic, version,
// capacity), then every complete slot in replay order (oldest first): record
// magics, timestamps going backwards (a problem, or a note in a multi-producer
// log, whose records are in claim order), empty slots between records.
// Throws vrrl::Error (io) only when the path cannot be opened at all.
[[nodiscard]] LogCheck check_log(const std::filesystem::path& path);

}  // namespace vrrl::cli
