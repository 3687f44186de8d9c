// detail: what a StreamWriter and the recording's background thread share,
// and the segment operations both use. Private to lib/.
//
// Hand-offs, all lock-free (the writer never takes a mutex on append or on
// a roll that finds its segment ready):
//   prepared  the background thread stores a ready segment (release) when
//             the slot is empty; the writer takes it with exchange (acquire).
//   retired   a stack: the writer pushes each full segment (release); the
//             background thread, sync() and close take the whole stack
//             (exchange, acquire) under work_mutex and close what they took.
//   current   the writer's segment, published (release) for Recording::sync,
//             which loads it under work_mutex: a segment is only ever closed
//             under work_mutex after it was retired, so the one loaded
//             there stays mapped until the mutex is released.
//   dropped   the writer's drop count, stored (relaxed) at every scratch lap;
//             the background thread persists it in `.dropped`.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <vrrl/error.hpp>
#include <vrrl/ring_log.hpp>

#include "file_descriptor.hpp"
#include "log_file.hpp"
#include "recording_layout.hpp"
#include "write_behind.hpp"
#include "writer_lock.hpp"

namespace vrrl::detail {

// One segment mapped for writing. The writer's roll reads `state` and
// writes `next_retired`, one cache line, computed by whoever prepared the
// segment: a roll touches no line of the LogFile or the mapping's header.
struct alignas(64) Segment {
  AppendState state;                // where the first append into it goes
  Segment* next_retired = nullptr;  // the retired stack's link
  std::uint64_t first = 0;          // its first sequence (its name)
  std::unique_ptr<LogFile> file;
  // RecordingOptions::sync_every (lib/write_behind.hpp): the writer appends
  // into `twin`, an in-memory copy of `file`, and `copy`'s passes write the
  // records to `file`; `state` points into the twin. Null otherwise.
  std::unique_ptr<LogFile> twin;
  std::unique_ptr<DurableCopy> copy;  // last: destroyed (its last pass) before the files
};

// Where a recording with sync_every keeps its segments' twins, or null.
using LiveDirectory = const std::filesystem::path*;

// A full segment after it was closed, kept for retention.
struct ClosedSegment {
  std::uint64_t first = 0;
  std::filesystem::path path;
  std::uint64_t last_timestamp = 0;  // retain_bytes removes the oldest by this
};

// --- segment operations (lib/recording_segment.cpp) --------------------------

// A new empty segment STREAM/<first>.vrrl (create_log with cursor = first),
// mapped for writing. An empty, valid segment already there under that name
// (left by a preparation that failed after linking it) is opened instead.
[[nodiscard]] std::unique_ptr<Segment> create_segment(const std::filesystem::path& stream_dir, std::uint64_t first,
                                                      std::uint64_t capacity, bool prefault,
                                                      LiveDirectory live = nullptr);
// An existing segment (validated by the caller) mapped for writing: the
// stream's partial newest segment, or an empty one prepared ahead.
[[nodiscard]] std::unique_ptr<Segment> open_segment(const SegmentFile& segment, std::uint64_t capacity, bool prefault,
                                                    LiveDirectory live = nullptr);
// Rewrites the spare segment as the empty segment STREAM/<first>.vrrl: under
// an OFD write lock on its byte 1 (refused when a reader holds a read lock
// there: then nothing is returned and the caller deletes the spare), every
// slot cleared, the header cursor set to `first` and synced, then renamed
// into place (never over an existing file) and the directory synced.
[[nodiscard]] std::unique_ptr<Segment> recycle_segment(const std::filesystem::path& spare,
                                                       const std::filesystem::path& stream_dir, std::uint64_t first,
                                                       std::uint64_t capacity, bool prefault,
                                                       LiveDirectory live = nullptr);
// msync(MS_SYNC) of the whole segment (with sync_every: its copy's last
// pass, which removes the twin), then its last timestamp; the segment is
// unmapped and unlocked when `segment` is destroyed by the caller.
[[nodiscard]] ClosedSegment close_segment(Segment& segment);
// The segment made durable now: msync, or with sync_every a pass of its copy.
void sync_segment(Segment& segment);
// sync_every: a segment whose twin a killed writer left in `live` is caught
// up from it and the twin removed (the segment's records are then all on
// disk). Nothing when there is no twin.
void catch_up_segment(const SegmentFile& segment, std::uint64_t capacity, const std::filesystem::path& live);

// --- per-stream shared state ---------------------------------------------------

struct StreamState {
  StreamState(std::string name, std::filesystem::path directory, std::uint64_t capacity, FileDescriptor lock_file,
              WriterLock lock);
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;
  ~StreamState();

  const std::string name;
  const std::filesystem::path directory;
  const std::uint64_t capacity;

  // The hand-offs (see the top of this file), on their own cache line: the
  // writer touches them once per roll, the background thread once per poll.
  alignas(64) std::atomic<Segment*> prepared{nullptr};
  std::atomic<Segment*> retired{nullptr};
  std::atomic<Segment*> current{nullptr};
  std::atomic<std::uint64_t> dropped{0};
  // sync_every: records of the stream known to be on stable storage (the
  // background thread and sync() raise it); only grows.
  std::atomic<std::uint64_t> durable{0};
  std::chrono::steady_clock::time_point next_pass{};  // under work_mutex
  std::atomic<std::uint64_t> prepare_failures{0};
  std::atomic<std::uint64_t> segments_recycled{0};
  std::atomic<std::uint64_t> recycles_refused{0};

  void push_retired(Segment* segment) noexcept;
  // The whole retired stack, oldest first; the caller owns the segments.
  [[nodiscard]] std::vector<std::unique_ptr<Segment>> take_retired() noexcept;

  // Held by the background thread while it prepares a segment of this stream,
  // and by the writer's close (which must not release the stream while a
  // preparation is creating files in it).
  alignas(64) std::mutex prepare_mutex;
  std::uint64_t next_first = 0;  // the first sequence of the next segment to prepare
  std::chrono::steady_clock::time_point retry_at{};  // after a failed preparation
  std::chrono::milliseconds retry_backoff{0};

  // Everything below: under work_mutex, which append() and roll() never take.
  std::mutex work_mutex;
  bool closing = false;
  std::deque<ClosedSegment> closed;  // full segments, oldest first
  std::optional<std::filesystem::path> spare;  // a retired segment kept for recycling
  std::uint64_t persisted_dropped = 0;
  std::atomic<std::uint64_t> segments_removed{0};  // written under work_mutex, read by stats()
  std::optional<Error> last_error;
  std::optional<Error> unreported;  // the first failure since sync() last reported one
  // The first failure not reported yet, if any; clears it.
  [[nodiscard]] std::optional<Error> take_unreported_locked() noexcept { return std::exchange(unreported, std::nullopt); }
  FileDescriptor lock_file;  // STREAM/.writer.lock, released by the writer's close
  WriterLock lock;

  // Closes every retired segment (sync, unmap), appending them to `closed`.
  // Returns the first failure (also recorded with record_failure_locked).
  std::optional<Error> close_retired_locked() noexcept;
  void record_failure_locked(const Error& error) noexcept;
  // Retires the oldest closed segment: to the spare slot when recycling and
  // the slot is free, else unlinked. False when there is none.
  bool retire_oldest_locked(bool recycle) noexcept;
  // retain_segments (0 = keep all): the newest N segments that hold
  // records, the current one included once it holds one.
  void apply_retention_locked(std::uint64_t retain_segments, bool recycle) noexcept {
    if (retain_segments == 0) return;
    // Acquire: as Recording::sync; under work_mutex it stays mapped.
    const Segment* writing = current.load(std::memory_order_acquire);
    const std::uint64_t current_used = writing != nullptr && writing->file->load_cursor() > writing->first ? 1 : 0;
    while (closed.size() + current_used > retain_segments && retire_oldest_locked(recycle)) {
    }
  }
  // Writes `.dropped` when the count changed.
  void persist_dropped_locked(std::uint64_t dropped_now) noexcept;
};

}  // namespace vrrl::detail
