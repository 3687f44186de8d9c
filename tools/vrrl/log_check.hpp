// The checks behind `vrrl verify`, usable by other code: they read the file
// with plain reads rather than mapping it, so a log that LogReader::open would
// refuse (truncated, foreign header, bad slots) is still examined as far as
// its bytes allow, and every problem is listed rather than only the first.
// Both formats: v1 by record magic, v2 by the library's one slot classifier
// (vrrl::v2_slot_check, <vrrl/slot_state.hpp>).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <vrrl/format.hpp>

namespace vrrl::cli {

struct Finding {
  enum class Severity {
    problem,  // the file is not a clean VRRL log; verify exits 1
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
  std::optional<Format> format;        // from the magic and version, when header_valid
  std::uint64_t capacity = 0;          // from the header, when header_valid
  std::uint32_t flags = 0;             // from the header, when header_valid
  bool multi_producer = false;         // flags bit 0: timestamps going backwards are notes, not problems
  std::optional<std::uint64_t> synced; // v2: the header's synced word (what the last completed sync made durable)
  std::uint64_t slots_checked = 0;     // complete slots present in the file
  std::uint64_t records = 0;           // slots replay yields: v1 the record magic; v2 record or beyond_cursor
  std::uint64_t empty_slots = 0;       // slots with magic (v2: commit word) 0
  std::uint64_t bad_magic_slots = 0;   // v1: slots with any other magic (v2: 0, see torn/corrupted)
  // v2 slots by vrrl::SlotState (docs/format.md, "VRRL v2"):
  std::uint64_t beyond_cursor = 0;     // records of a later lap (counted in `records`): a note
  std::uint64_t stale_records = 0;     // records of an older lap, which replay steps over: a note
  std::uint64_t torn_slots = 0;        // checks for no sequence, written since the last sync: a problem
  std::uint64_t corrupted_slots = 0;   // checks for no sequence, vouched for by a sync: a problem
  std::uint64_t changed_while_read = 0;  // v2: a slot that did not check and changed when read again (a
                                         // live writer): not judged, a note
  std::uint64_t timestamps_backwards = 0;

  [[nodiscard]] bool clean() const noexcept { return problems == 0; }
};

// How many findings of one kind (e.g. bad record magics) are kept in `findings`.
inline constexpr std::uint64_t max_listed = 1000;

// Checks the file at `path`: its type and size, the header (magic, version,
// capacity; v2 also `synced` and the reserved rest of the header page), then
// every complete slot in replay order (oldest first): v1 record magics, or
// v2 slot states (torn and corrupted slots are problems; stale records and
// records past the cursor, which a power cut leaves, are notes), timestamps
// going backwards (a problem, or a note in a multi-producer log, whose
// records are in claim order), empty slots between records.
// Throws vrrl::Error (io) only when the path cannot be opened at all.
[[nodiscard]] LogCheck check_log(const std::filesystem::path& path);

}  // namespace vrrl::cli
