// The slot checks of a VRRL v2 log. Every slot is judged by
// vrrl::v2_slot_check (<vrrl/slot_state.hpp>), the one rule replay, the
// writer's recovery and the power-loss tests share; this file only decides
// what verify says about each state:
//   record, empty          what a clean log holds
//   beyond_cursor, stale   notes: whole records a power cut leaves (replay
//                          yields the first kind after the others and steps
//                          over the second)
//   torn, corrupted        problems: a slot whose record is lost
// Then what replay yields gets v1's order checks.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include <vrrl/record.hpp>
#include <vrrl/slot_state.hpp>

#include "log_check_parts.hpp"

namespace vrrl::cli::log_check_parts {
namespace {

// How many slots a summary note names before it only counts.
constexpr std::size_t slots_named = 10;

// Up to `slots_named` slots, kept to name in a note.
class SlotSample {
 public:
  void add(std::uint64_t slot) {
    ++total_;
    if (slots_.size() < slots_named) slots_.push_back(slot);
  }
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }
  // "slot 3", "slots 3, 4, 7", "slots 3, 4, ... 12 (and 120 more)".
  [[nodiscard]] std::string text() const {
    std::string out = total_ == 1 ? "slot " : "slots ";
    for (std::size_t i = 0; i < slots_.size(); ++i) out += (i == 0 ? "" : ", ") + std::to_string(slots_[i]);
    if (total_ > slots_.size()) out += " (and " + std::to_string(total_ - slots_.size()) + " more)";
    return out;
  }

 private:
  std::vector<std::uint64_t> slots_;
  std::uint64_t total_ = 0;
};

struct LaterRecord {
  std::uint64_t sequence;
  std::uint64_t slot;
  std::uint64_t timestamp_ns;
};

class V2SlotWalk {
 public:
  V2SlotWalk(const ReadOnlyFile& file, const LogHeader& header, LogCheck& check, FindingList& findings)
      : file_(file), header_(header), check_(check), findings_(findings), order_(check, findings) {}

  void visit(std::uint64_t slot, const std::byte* bytes) {
    const SlotCheck judged = v2_slot_check(bytes, slot, header_.cursor, header_.capacity, header_.synced);
    switch (judged.state) {
      case SlotState::empty:
        ++check_.empty_slots;
        order_.empty(slot);
        return;
      case SlotState::record:
        ++check_.records;
        order_.record(slot, RecordView(bytes).timestamp_ns());
        return;
      case SlotState::beyond_cursor:
        ++check_.records;
        ++check_.beyond_cursor;
        beyond_.add(slot);
        later_.push_back({judged.sequence, slot, RecordView(bytes).timestamp_ns()});
        return;
      case SlotState::stale:
        ++check_.stale_records;
        stale_.add(slot);
        return;
      case SlotState::torn:
      case SlotState::corrupted:
        judge_lost_record(slot, bytes, judged.state);
        return;
    }
  }

  // After every slot: the records past the cursor in the order replay yields
  // them (by sequence), then one note per kind of slot a power cut leaves.
  void finish() {
    order_.end_of_slot_order();
    std::sort(later_.begin(), later_.end(),
              [](const LaterRecord& a, const LaterRecord& b) { return a.sequence < b.sequence; });
    for (const LaterRecord& record : later_) order_.record(record.slot, record.timestamp_ns);
    if (stale_.total() != 0) {
      findings_.note("stale", std::nullopt,
                     std::to_string(stale_.total()) + " stale record(s) (" + stale_.text() +
                         "): whole records of an older lap where a newer one belongs; the newer record never "
                         "reached the disk, which is expected after a power cut. Replay steps over them (they are "
                         "not counted as records) and the writer overwrites them in turn");
    }
    if (!later_.empty()) {
      findings_.note("beyond_cursor", std::nullopt,
                     std::to_string(later_.size()) + " record(s) past the header cursor " +
                         std::to_string(header_.cursor) + " (" + beyond_.text() + "; sequences " +
                         std::to_string(later_.front().sequence) + ".." + std::to_string(later_.back().sequence) +
                         "): written after the header page the file holds reached the disk, which is expected after "
                         "a power cut (or a writer appended while verify read). Replay yields them after the others, "
                         "in sequence order; a writer that opens the log clears them before it appends");
    }
    if (changed_.total() != 0) {
      findings_.note("changed", std::nullopt,
                     std::to_string(changed_.total()) + " slot(s) (" + changed_.text() +
                         ") did not check and had changed when read again: a writer is appending, so they were "
                         "not judged; run verify again when the log is quiet");
    }
  }

 private:
  // A slot whose commit word checks for no sequence near its own. A writer
  // may be storing into it right now (it clears the commit word, then writes
  // the fields: a read between the two sees the old word with new fields),
  // so read it again: only a slot that stays the same is judged.
  void judge_lost_record(std::uint64_t slot, const std::byte* bytes, SlotState state) {
    std::array<std::byte, format::record_bytes> again{};
    const std::size_t got = file_.read_at(again.data(), again.size(), format::layout_v2.record_position(slot));
    if (got != again.size() || std::memcmp(again.data(), bytes, again.size()) != 0) {
      ++check_.changed_while_read;
      changed_.add(slot);
      return;
    }
    const std::uint64_t sequence = window_sequence(slot, header_.cursor, header_.capacity);
    // Modulo 2^64, a sequence "below 0": the appends the header counts have
    // not reached this slot yet.
    const bool before_first_lap = sequence + header_.capacity < header_.capacity;
    const std::string holds = before_first_lap ? "its first sequence is past the header's cursor"
                                               : "sequence " + std::to_string(sequence);
    const std::string unchecked = "commit word " + hex32(RecordView(bytes).magic()) +
                                  " checks for none of the sequences this slot can hold (" + holds + ", or one " +
                                  std::to_string(v2_laps_checked) + " laps before or after)";
    const std::string synced = std::to_string(header_.synced);
    if (state == SlotState::torn) {
      ++check_.torn_slots;
      findings_.problem("torn", slot,
                        "torn: " + unchecked + "; " +
                            (before_first_lap ? std::string("no sync covered it")
                                              : "sequence " + std::to_string(sequence) + " is at or after synced " +
                                                    synced) +
                            ", so it was being written, or had not reached the disk, when power was lost: the "
                            "record is lost");
    } else {
      ++check_.corrupted_slots;
      findings_.problem("corrupted", slot,
                        "corrupted: " + unchecked + "; a completed sync made sequence " + std::to_string(sequence) +
                            " durable (synced " + synced +
                            "), so its bytes changed after they reached the disk (media damage, or another program "
                            "wrote the file): the record is lost");
    }
  }

  const ReadOnlyFile& file_;
  const LogHeader& header_;
  LogCheck& check_;
  FindingList& findings_;
  RecordOrder order_;
  std::vector<LaterRecord> later_;  // records past the cursor, yielded by replay after the walk
  SlotSample beyond_;
  SlotSample stale_;
  SlotSample changed_;
};

}  // namespace

void check_v2_slots(const ReadOnlyFile& file, const LogHeader& header, LogCheck& check, FindingList& findings) {
  V2SlotWalk walk(file, header, check, findings);
  walk_slots(file, format::layout_v2, header.capacity, check.slots_checked, header.cursor,
             [&](std::uint64_t slot, const std::byte* bytes) { walk.visit(slot, bytes); });
  walk.finish();
}

}  // namespace vrrl::cli::log_check_parts
