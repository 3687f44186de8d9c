// The body of the replay fuzzer, shared with the regression test
// (test/reliability/fuzz_regressions_test.cpp): opens arbitrary bytes as a
// log with LogReader and RingLog, replays in every recovery mode, appends,
// syncs. Anything but a vrrl::Error escaping, a crash, a sanitizer report or
// a broken replay invariant is a bug.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <vrrl/follower.hpp>
#include <vrrl/ring_log.hpp>

namespace vrrl::fuzz {

// One memory file for the whole run, reopened by path as a log would be.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("vrrl-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  ~MemoryFile() { ::close(fd_); }

  void assign(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0 || ::ftruncate(fd_, static_cast<off_t>(size)) != 0) std::abort();
    for (std::size_t done = 0; done < size;) {
      const ssize_t put = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (put <= 0) std::abort();
      done += static_cast<std::size_t>(put);
    }
  }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  int fd_;
  std::string path_;
};

inline void require(bool condition) {
  if (!condition) __builtin_trap();
}

// Walks a range, reading every field of every record, and checks the report.
inline std::uint64_t walk(ReplayRange range, std::uint64_t capacity, Format format, Recovery recovery) {
  std::uint64_t records = 0, checksum = 0;
  for (auto it = range.begin(); it != range.end(); ++it) {
    const RecordView view = *it;
    if (format == Format::v1) {
      require(view.magic() == format::record_magic);
    } else {  // v2: a record replay yields checks for the sequence it is yielded as
      require(view.magic() == wire::commit_word(it.sequence(), wire::load_record_words(view.bytes().data())));
    }
    require(it.slot_index() < capacity);
    const RecordedSlot slot = view.slot();
    const FailureEvidence failure = view.failure();
    checksum += slot.timestamp_ns + slot.args[3] + failure.output_digest;
    ++records;
  }
  const ReplayReport& report = range.report();
  require(report.records == records);
  if (recovery == Recovery::skip_bad_slots) {
    // Every slot is once one of these (v2 records past the cursor are found
    // in the first lap and yielded in a later one, as records).
    require(report.records + report.empty_slots + report.bad_slots.size() + report.stale_records == capacity);
  }
  if (recovery != Recovery::stop_at_bad_slot) require(!report.stopped_early);
  for (const std::uint64_t bad : report.bad_slots) require(bad < capacity);
  return checksum;
}

// Replays in all three modes; strict may only throw header_mismatch naming a slot.
template <class Log>
void replay_every_way(const Log& log) {
  for (const Recovery recovery : {Recovery::strict, Recovery::stop_at_bad_slot, Recovery::skip_bad_slots}) {
    try {
      (void)walk(log.replay(recovery), log.capacity(), log.format(), recovery);
    } catch (const Error& e) {
      require(recovery == Recovery::strict && e.kind() == ErrorKind::header_mismatch && e.slot().has_value());
    }
  }
  try {
    (void)log.replay_all();
  } catch (const Error& e) {
    require(e.kind() == ErrorKind::header_mismatch);
  }
}

inline void replay_bytes(MemoryFile& file, const std::uint8_t* data, std::size_t size) {
  file.assign(data, size);
  try {
    const LogReader reader = LogReader::open(file.path());
    require(reader.capacity() >= 1 && reader.capacity() <= format::max_capacity);
    require(reader.file_size() >= reader.layout().file_bytes(reader.capacity()));
    require(reader.cursor() < reader.capacity());
    replay_every_way(reader);
    std::uint64_t delivered = 0;
    const SnapshotReport snapshot =
        read_snapshot(reader, Recovery::skip_bad_slots,
                      [&](std::uint64_t slot, const RecordedSlot&, const FailureEvidence&) {
                        require(slot < reader.capacity());
                        ++delivered;
                      });
    require(snapshot.records == delivered);
    Follower follower(reader);
    (void)follower.poll([](std::uint64_t, const RecordedSlot&, const FailureEvidence&) {});
  } catch (const Error&) {
    // Rejected at open: a clear error is the right answer to bad bytes.
  }
  try {
    RingLog writer = RingLog::open(file.path(), 1);
    replay_every_way(writer);
    writer.append(RecordedSlot{.timestamp_ns = 1, .slot_idx = 2, .tenant_id = 3, .opcode = 4, .args = {}, .epoch = 5});
    require(writer.cursor() < writer.capacity());
    std::uint64_t newest = 0;
    auto range = writer.replay(Recovery::skip_bad_slots);
    for (const RecordView view : range) newest = view.timestamp_ns();
    require(newest == 1);  // the record just appended is the newest
    writer.sync();
  } catch (const Error&) {
  }
}

}  // namespace vrrl::fuzz
