// vrrl recordings: a whole run from many threads, as per-thread streams of
// rolling VRRL v1 segments in one directory, merged by timestamp when read.
//
//   RUN/vrrl-recording.txt          metadata ("key value" lines)
//   RUN/<stream>/.writer.lock       the stream writer's lock
//   RUN/<stream>/<F, 20 digits>.vrrl segments: ordinary v1 logs of capacity C,
//                                   F = k * C, header cursor = the stream's count
// (docs/format.md, "Recording directory", is the contract; docs/design.md,
// "Recordings", the story and the measurements.)
//
// Writing. Recording::open makes or opens the directory and starts one
// background thread for all its streams. Each thread that records asks for
// its own StreamWriter (one writer per stream, enforced by a lock across
// processes). StreamWriter::append is RingLog::append's publish protocol into
// the stream's current segment: plain stores and one atomic cursor store, no
// syscall, no allocation, no lock, no shared cache line between threads. When
// a segment is full the append rolls onto the next one, which the background
// thread has already created, reserved (posix_fallocate) and prefaulted, or
// recycled from retention: a pointer swap. The background thread also closes
// full segments (one msync each, then unmap) and applies retention.
//
// When the next segment is not ready (the writer outruns the disk, or the
// disk is full), the append that filled the segment waits for it up to
// RecordingOptions::roll_timeout, then drops: later appends go to a private
// scratch buffer, are counted (StreamWriter::dropped(), persisted in the
// stream's `.dropped` file for readers), and consume no sequence numbers, so
// the stream stays contiguous. Every 64 dropped appends the writer checks for
// the next segment and resumes as soon as it is there. Background failures
// (ENOSPC while preparing, EIO) never reach append(): they are counted and
// thrown by the next sync(), and readable at any time with last_error().
//
// Durability: as RingLog. A process killed at any instruction (kill -9)
// leaves every stream a prefix of what it appended, the roll included: the
// merged replay shows every completed append, none torn. sync() makes
// everything appended before it survive power loss. Reopening continues each
// stream after its last record and never overwrites a retained record.
//
// Reading. RecordingReader merges all streams into one range ordered by
// timestamp_ns (ties: stream name, then sequence), zero-copy; replay(stream)
// reads one stream; replay_from(t) starts at a timestamp. RecordingFollower
// follows a recording while it is written: new segments, new streams, each
// record once, lost sequences counted exactly, merged behind a watermark.
//
// Caveats:
//   * The merge trusts the callers' timestamp_ns: every stream of a recording
//     must stamp records with one clock (std::chrono::steady_clock, i.e.
//     CLOCK_MONOTONIC, is one clock for all threads and processes of a
//     machine), and each stream's own timestamps must not go backwards.
//     replay_from() and the follower's watermark rely on the latter; the
//     merge itself still returns every record once if it is violated.
//   * Writers keep their Recording's background thread alive: destroying the
//     Recording before its writers is safe (the thread ends with the last one).
//   * Segments are v1 logs, so the seed and every vrrl tool read each one.
//     Retention may recycle a segment (rewrite it in place under a new name):
//     vrrl's readers hold a read lock on byte 1 of every segment they map, and
//     the recycler never rewrites a locked one (it deletes it and creates a
//     new one instead). A reader that maps a segment without that lock (the
//     seed, `LogReader` on one segment) can see it change while retention
//     runs; read live recordings with RecordingReader or RecordingFollower.
//   * fork(): as RingLog; open recordings in the process that appends.
#pragma once

#include <vrrl/export.hpp>  // first: the C++20 check

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vrrl/detail/atomic_word.hpp>
#include <vrrl/detail/publish.hpp>
#include <vrrl/error.hpp>
#include <vrrl/format.hpp>
#include <vrrl/record.hpp>
#include <vrrl/replay.hpp>

namespace vrrl {

namespace detail {
class RecordingCore;  // lib/recording_writer.cpp: the directory, the streams, the background thread
struct StreamState;   // lib/recording_stream.hpp: what a writer and the background thread share
struct Segment;       // lib/recording_stream.hpp: one mapped segment
class ReplayState;    // lib/recording_reader.cpp: a replay's per-stream cursors
class FollowState;    // lib/recording_follower.cpp
struct ReaderPlan;    // lib/recording_reader.cpp: the streams and segments found at open
struct ScratchRing;   // lib/recording_writer.cpp: where a writer's dropped appends go
}  // namespace detail

struct RecordingOptions {
  // Slots per segment, 1 ..= format::max_capacity. Fixed when the recording
  // is created: for an existing recording the metadata's value is used.
  std::uint64_t segment_capacity = format::max_capacity;
  // Per stream: keep the newest N segments that hold records (the one being
  // written included); older ones go. 0 = keep all.
  std::uint64_t retain_segments = 0;
  // Whole recording (the streams this Recording writes): keep at most this
  // many bytes of segments, removing the oldest (by last timestamp) first.
  // Each stream's current segment and the one prepared ahead always stay and
  // always count, so a budget below two segments per stream keeps just those.
  // 0 = no limit.
  std::uint64_t retain_bytes = 0;
  // Prefault each prepared segment (MAP_POPULATE + MADV_POPULATE_WRITE), in
  // the background thread, so appends into it take no page faults.
  bool prefault = true;
  // How long the append that fills a segment waits for the next one before
  // it starts dropping (see the top of this file). The background thread
  // prepares a 64 MiB segment in 35-220 ms on a loaded 2-vCPU machine.
  std::chrono::nanoseconds roll_timeout = std::chrono::seconds(2);
  // Reuse segments that retention retires for new ones (no new disk space,
  // the pages stay in the page cache) instead of deleting them.
  bool recycle = true;
  // Background durability, as OpenOptions::sync_every (docs/design.md,
  // "Durable without stalls"); zero, the default, turns it off. With an
  // interval, each writer appends into an in-memory twin of its segment (a
  // file in `live_directory`, prefaulted), and the background thread copies
  // the new records into the segment on disk every interval (pwrite +
  // fdatasync, in the publish order, so a power cut leaves every segment a
  // valid log). StreamWriter::sync() then runs such a pass at once;
  // StreamWriter::durable() counts what is on disk; a full segment is closed
  // by its last pass. A writer killed at any moment loses nothing: reopening
  // the stream catches the segments up from their twins. Negative -> io.
  std::chrono::nanoseconds sync_every{0};
  // sync_every only: a tmpfs directory for the twins; empty means /dev/shm.
  // Missing or not writable: Recording::open throws io.
  std::filesystem::path live_directory{};
};

// What one stream writer did; all counts over the StreamWriter's lifetime
// except `dropped`, which is the stream's total (it carries over reopens).
struct StreamStats {
  std::uint64_t rolls = 0;             // segments rolled onto
  std::uint64_t rolls_waited = 0;      // rolls that found no prepared segment and waited
  std::uint64_t drop_episodes = 0;     // times the writer started dropping
  std::uint64_t dropped = 0;           // appends dropped (never stored)
  std::uint64_t prepare_failures = 0;  // background preparations of this stream that failed
  std::uint64_t segments_recycled = 0;  // prepared by rewriting a segment retention retired
  std::uint64_t recycles_refused = 0;   // retired segments a reader had mapped: deleted, a new one made
  std::uint64_t segments_removed = 0;   // segments retention took away (recycled or deleted)
};

class StreamWriter;

// The directory and the background thread. Thread-safe: stream() and sync()
// may be called from any thread.
class VRRL_EXPORT Recording {
 public:
  // Opens the recording at `dir`, creating the directory (its parent must
  // exist) and the metadata when missing. Errors:
  //  * segment_capacity 0 / above max -> zero_capacity / capacity_overflow;
  //  * `dir` is a file, or a non-empty directory without vrrl-recording.txt
  //    -> not_a_recording; metadata corrupt -> not_a_recording, from a newer
  //    layout or with other segments than v1 -> header_mismatch;
  //  * any system call failing -> io.
  [[nodiscard]] static Recording open(const std::filesystem::path& dir, const RecordingOptions& options = {});

  Recording(Recording&&) noexcept;
  Recording& operator=(Recording&&) noexcept;
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;
  ~Recording();

  // The writer of stream `name` ([A-Za-z0-9._-]{1,128}, not starting with '.',
  // else ErrorKind::invalid_name). Creates the stream or continues it after
  // its last record, reusing an empty prepared segment and deleting leftovers
  // of a killed preparation. Errors: a writer of that stream alive in this or
  // another process -> locked; a file in the stream's directory that is not a
  // segment, or a damaged segment -> header_mismatch / truncated (nothing is
  // deleted); creating the first segment fails -> io.
  [[nodiscard]] StreamWriter stream(std::string_view name);

  // Every open stream's sync() (see StreamWriter::sync), then retain_bytes
  // applied. Throws the first failure, after syncing every stream it can.
  // Thread-safe against the writers' appends.
  void sync();

  [[nodiscard]] const std::filesystem::path& path() const noexcept;
  // The options in force: the metadata's segment_capacity for an existing recording.
  [[nodiscard]] const RecordingOptions& options() const noexcept;
  // The most recent failure of the background work (preparing, closing,
  // retention, recording the dropped count), if any.
  [[nodiscard]] std::optional<Error> last_error() const;

 private:
  explicit Recording(std::shared_ptr<detail::RecordingCore> core) noexcept;
  std::shared_ptr<detail::RecordingCore> core_;
};

// One stream's writer. Not thread-safe: one thread appends. Movable (do not
// move it while another thread uses it), not copyable. Destruction closes the
// stream (the current segment is unmapped without a sync, full segments
// still waiting are synced) and releases its lock.
class VRRL_EXPORT alignas(64) StreamWriter {
 public:
  StreamWriter(StreamWriter&& other) noexcept;
  StreamWriter& operator=(StreamWriter&& other) noexcept;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;
  ~StreamWriter();

  // The hot path: RingLog::append's protocol into the current segment. When
  // the append fills the segment, roll() swaps in the next one (no syscall on
  // the fast roll; see the top of this file for when it has to wait or drop).
  void append(const RecordedSlot& slot) noexcept { append(slot, FailureEvidence{}); }
  void append(const RecordedSlot& slot, const FailureEvidence& evidence) noexcept {
    if (detail::append_record(hot_, slot, evidence)) roll();
  }

  // Moves the stream on by `count` sequences that hold no record, for a
  // writer that copies a stream which lost records before it got them (vrrl
  // pull rebuilding a shipped stream): readers count them in
  // RecordingReport::lost, never as records. Not for the hot path. Each
  // skipped slot of a segment that also holds records (or will: the one
  // holding the last skipped sequence) is left empty, as an append that
  // never completed; segments that would hold only skipped sequences are
  // never created, so a long skip is a gap between segments (which
  // RecordingReader::open under Recovery::strict refuses, as any gap). Then
  // appends continue at the new count; a skip that fills a segment rolls as
  // an append that fills it would. Errors, with nothing skipped: the count
  // would pass format::max_cursor -> capacity_overflow; creating the segment
  // that holds the last skipped sequence fails -> io; the writer is
  // dropping (see the top of this file) and no segment is ready within
  // roll_timeout -> io; the recording has RecordingOptions::sync_every -> io
  // (not supported).
  void skip(std::uint64_t count);

  // msync(MS_SYNC) of the current segment and of any full segment the
  // background thread has not closed yet (and then retain_segments applied to
  // them): when it returns, every record appended before the call is on
  // stable storage. Then throws the first background failure of this stream
  // since sync() last reported one (io, with errno), if any. Throws io when
  // an msync fails (see RingLog::sync: no retry).
  void sync();

  // The next record's sequence: records stored over the stream's lifetime,
  // plus the sequences skip() passed over.
  [[nodiscard]] std::uint64_t appended() const noexcept;
  // RecordingOptions::sync_every: records of the stream known to be on
  // stable storage (the n-th append is once durable() > n; only grows;
  // background failures are thrown by sync() and kept in last_error()).
  // Without sync_every: 0. Any thread.
  [[nodiscard]] std::uint64_t durable() const noexcept;
  // Appends dropped because no segment was ready, over the stream's lifetime.
  [[nodiscard]] std::uint64_t dropped() const noexcept;
  [[nodiscard]] StreamStats stats() const noexcept;
  [[nodiscard]] const std::string& name() const noexcept;
  // The most recent background failure of this stream, if any.
  [[nodiscard]] std::optional<Error> last_error() const;

 private:
  friend class Recording;
  StreamWriter(std::shared_ptr<detail::RecordingCore> core, std::shared_ptr<detail::StreamState> state,
               detail::Segment* current) noexcept;
  // Out of line, noexcept: the segment (or the scratch buffer) is full.
  void roll() noexcept;
  // The segment the background thread prepared, appended into from now on.
  void install(detail::Segment* segment) noexcept;
  bool take_prepared() noexcept;
  // Waits up to roll_timeout for a prepared segment and hands it over (null: none came).
  [[nodiscard]] detail::Segment* await_prepared() noexcept;
  // skip(): the cleared slots and new cursor of the current segment.
  void skip_within(std::uint64_t target) noexcept;
  bool wait_for_prepared() noexcept;
  void enter_scratch() noexcept;
  void close() noexcept;

  detail::AppendState hot_;  // everything append() touches, on its own cache line
  detail::Segment* current_ = nullptr;  // null while dropping
  std::shared_ptr<detail::StreamState> state_;
  std::shared_ptr<detail::RecordingCore> core_;
  std::unique_ptr<detail::ScratchRing> scratch_;  // where dropped appends go: a private 64-slot ring
  std::uint64_t resume_count_ = 0;        // the stream's count while dropping
  std::uint64_t dropped_ = 0;             // completed scratch laps, in records, plus earlier writers' drops
  std::uint64_t rolls_ = 0;
  std::uint64_t rolls_waited_ = 0;
  std::uint64_t drop_episodes_ = 0;
};

// --- Reading --------------------------------------------------------------

// One record of a recording replay. `record` points into a segment mapping:
// see RecordingReplay for how long it stays valid.
struct StreamRecord {
  RecordView record;
  std::size_t stream = 0;        // index into RecordingReader::streams()
  std::string_view stream_name;  // valid as long as the RecordingReader
  std::uint64_t sequence = 0;    // the record's position in its stream
};

// Sequences of a stream that are not in the recording.
struct StreamGap {
  std::string stream;
  std::uint64_t first = 0;  // first missing sequence
  std::uint64_t end = 0;    // one past the last missing sequence
  friend bool operator==(const StreamGap&, const StreamGap&) = default;
};

// A segment slot holding a magic that is neither 0 nor 0xDEADBEEF.
struct BadSegmentSlot {
  std::filesystem::path segment;
  std::uint64_t slot = 0;
};

// What RecordingReader::open found besides records. Under Recovery::strict
// any entry here is an error at open instead.
struct RecordingProblems {
  std::vector<std::filesystem::path> foreign_files;  // neither segments nor dotfiles, or badly named streams
  std::vector<std::filesystem::path> damaged_segments;  // bad header, or its cursor does not fit its name
  std::vector<StreamGap> gaps;  // sequences missing between two segments of a stream
  [[nodiscard]] bool empty() const noexcept {
    return foreign_files.empty() && damaged_segments.empty() && gaps.empty();
  }
};

// What a replay met besides the records it yielded. Filled in as the range
// is iterated.
struct RecordingReport {
  std::uint64_t records = 0;     // records yielded
  std::uint64_t lost = 0;        // sequences not yielded: gaps, removed segments, incomplete appends
  std::uint64_t incomplete = 0;  // slots below a cursor whose append never completed (a killed writer)
  std::uint64_t segments_removed = 0;  // segments that retention removed between open and the replay reaching them
  std::vector<BadSegmentSlot> bad_slots;  // foreign magics (Recovery::stop/skip); strict throws instead
  bool stopped_early = false;    // Recovery::stop_at_bad_slot ended a stream at a bad slot
};

// What RecordingReader::open found for one stream.
struct StreamInfo {
  std::string name;
  std::uint64_t segments = 0;        // segment files that hold records or are prepared
  std::uint64_t first_sequence = 0;  // the oldest retained record's sequence
  std::uint64_t end_sequence = 0;    // the stream's count at open (next sequence)
  std::uint64_t dropped = 0;         // appends its writers dropped (from `.dropped`)
};

class RecordingReader;

namespace detail {
// The run a merged replay is emitting: the stream whose head is the
// smallest, and the next-smallest head of the other streams. Records of the
// run's stream are yielded without looking at the others while they stay
// below that limit (a k-way merge that scans once per run, not per record).
// Implementation detail of RecordingReplay; not API.
struct ReplayRun {
  const std::byte* records = nullptr;  // slot 0 of the open segment of the run's stream
  std::uint64_t slot = 0;              // the record under the iterator
  std::uint64_t end = 0;               // slots below the segment's cursor (as loaded when opened)
  std::uint64_t first = 0;             // the segment's first sequence
  std::uint64_t limit_timestamp = 0;   // the run ends before (limit_timestamp, limit_stream)
  std::size_t limit_stream = 0;
  std::size_t stream = 0;
  std::string_view stream_name;
  std::uint64_t yielded = 0;
  bool at_end = true;
};
// Ends the run (or moves past a slot that is not a plain record) and starts
// the next one; out of line, once per run.
VRRL_EXPORT void advance_replay(ReplayRun& run);
}  // namespace detail

// A range over a recording's records: merged by (timestamp_ns, stream name,
// sequence), or one stream's in sequence order. An input range; begin()
// starts (or restarts) the walk and resets the report.
//
// Lifetime: every StreamRecord's `record` points into the mapping of the
// segment it is in. It stays valid until that record's stream has moved past
// the segment after it, so always at least until the next increment, until
// begin() is called again, or until the range is destroyed; copy it
// (record.slot(), record.failure()) to keep it longer. The range holds at
// most two segments open per stream (a file descriptor and a mapping each),
// and must not outlive its reader.
//
// A live writer may append during the walk: records below each segment's
// cursor never change (segments do not wrap), so the replay is a prefix of
// each stream, as of when the walk reached that segment.
class VRRL_EXPORT RecordingReplay {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = StreamRecord;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    [[nodiscard]] StreamRecord operator*() const noexcept {
      return {RecordView(run_->records + run_->slot * format::record_bytes), run_->stream, run_->stream_name,
              run_->first + run_->slot};
    }
    // Fast path, inline: the next slot of the run's stream holds a record
    // that still sorts before every other stream's head.
    iterator& operator++() {
      detail::ReplayRun& run = *run_;
      const std::uint64_t next = run.slot + 1;
      if (next < run.end) {
        const std::byte* record = run.records + next * format::record_bytes;
        // Relaxed: the cursor this range loaded with acquire when it opened the
        // segment already made every body below it visible; only the newest
        // record's magic may be stored concurrently (an atomic load, so no race).
        if (detail::atomic_word<std::uint32_t>(record + format::record_offset::magic)
                .load(std::memory_order_relaxed) == format::record_magic) {
          const std::uint64_t timestamp = wire::load_le<std::uint64_t>(record + format::record_offset::timestamp_ns);
          if (timestamp < run.limit_timestamp ||
              (timestamp == run.limit_timestamp && run.stream < run.limit_stream)) {
            run.slot = next;
            ++run.yielded;
            return *this;
          }
        }
      }
      detail::advance_replay(run);
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.run_->at_end; }

   private:
    friend class RecordingReplay;
    explicit iterator(detail::ReplayRun* run) noexcept : run_(run) {}
    detail::ReplayRun* run_ = nullptr;
  };

  RecordingReplay(RecordingReplay&&) noexcept;
  RecordingReplay& operator=(RecordingReplay&&) noexcept;
  RecordingReplay(const RecordingReplay&) = delete;
  RecordingReplay& operator=(const RecordingReplay&) = delete;
  ~RecordingReplay();

  // Opens the first segment of every stream in the range; may throw as ++
  // does (Recovery::strict and a bad slot magic: header_mismatch naming it).
  [[nodiscard]] iterator begin();
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }
  [[nodiscard]] const RecordingReport& report() const noexcept;

 private:
  friend class RecordingReader;
  explicit RecordingReplay(std::unique_ptr<detail::ReplayState> state) noexcept;
  std::unique_ptr<detail::ReplayState> state_;
};

// A recording opened for reading: takes no writer lock and never writes.
class VRRL_EXPORT RecordingReader {
 public:
  // Reads the metadata and lists every stream and segment (reading each
  // segment's header). Errors: not a directory, no vrrl-recording.txt or
  // corrupt metadata -> not_a_recording; a newer layout or non-v1 segments
  // -> header_mismatch. With Recovery::strict (the default), anything in
  // RecordingProblems is an error too: a foreign file or a badly named
  // stream directory (header_mismatch), a damaged segment (its header's
  // kind, or header_mismatch when its cursor does not fit its name), a gap
  // between segments (truncated). Otherwise they are listed in problems()
  // and read around; `recovery` also decides what a replay does with a bad
  // slot magic, as in RingLog::replay.
  [[nodiscard]] static RecordingReader open(const std::filesystem::path& dir, Recovery recovery = Recovery::strict);

  RecordingReader(RecordingReader&&) noexcept;
  RecordingReader& operator=(RecordingReader&&) noexcept;
  RecordingReader(const RecordingReader&) = delete;
  RecordingReader& operator=(const RecordingReader&) = delete;
  ~RecordingReader();

  // Stream names, sorted (the merge's tie-break order).
  [[nodiscard]] std::vector<std::string> streams() const;
  [[nodiscard]] const std::vector<StreamInfo>& stream_info() const noexcept;
  [[nodiscard]] const RecordingProblems& problems() const noexcept;
  [[nodiscard]] std::uint64_t segment_capacity() const noexcept;
  [[nodiscard]] const std::filesystem::path& path() const noexcept;

  // All streams, merged by timestamp_ns, ties by stream name, then sequence.
  [[nodiscard]] RecordingReplay replay() const&;
  // One stream, in sequence order. Unknown name -> invalid_name (listing the streams).
  [[nodiscard]] RecordingReplay replay(std::string_view stream) const&;
  // As replay(), starting at the first record of each stream with
  // timestamp_ns >= `timestamp_ns` (found by segment, then binary search;
  // assumes each stream's timestamps do not go backwards).
  [[nodiscard]] RecordingReplay replay_from(std::uint64_t timestamp_ns) const&;
  [[nodiscard]] RecordingReplay replay_from(std::string_view stream, std::uint64_t timestamp_ns) const&;
  // A range over a temporary reader would outlive it.
  RecordingReplay replay() const&& = delete;
  RecordingReplay replay(std::string_view) const&& = delete;
  RecordingReplay replay_from(std::uint64_t) const&& = delete;
  RecordingReplay replay_from(std::string_view, std::uint64_t) const&& = delete;

 private:
  explicit RecordingReader(std::unique_ptr<detail::ReaderPlan> plan) noexcept;
  [[nodiscard]] RecordingReplay make_replay(std::vector<std::size_t> streams, std::optional<std::uint64_t> from) const;
  std::unique_ptr<detail::ReaderPlan> plan_;
};

// --- Following a live recording -------------------------------------------

// One record a RecordingFollower delivers: copied out of the mapping and
// validated as vrrl::Follower does.
struct FollowedRecord {
  RecordedSlot slot;
  FailureEvidence evidence;
  std::string_view stream;  // valid as long as the RecordingFollower
  std::uint64_t sequence = 0;
};

struct RecordingFollowerOptions {
  // A stream that has delivered nothing new for this long no longer holds
  // back the merge (its next record may then come out of timestamp order).
  std::chrono::nanoseconds idle_after = std::chrono::milliseconds(100);
  // Start each stream after its last record as of construction (and streams
  // that appear later at their first record), instead of at the oldest
  // retained record.
  bool from_now = false;
};

// What one poll() did.
struct RecordingPollResult {
  std::uint64_t delivered = 0;  // records passed on
  std::uint64_t lost = 0;       // sequences skipped: never completed, bad magic, or a missing or removed segment
  std::uint64_t held = 0;       // records read but held back by the watermark
  std::uint64_t new_streams = 0;  // streams found by this poll
  friend bool operator==(const RecordingPollResult&, const RecordingPollResult&) = default;
};

// Follows a recording while it is written. Each poll() reads every stream's
// new records (vrrl::Follower per segment, so none is torn), moves to the
// next segment when one is complete (a segment missing or removed by
// retention is a gap, counted in `lost`), picks up new streams, and releases
// records merged by (timestamp_ns, stream name, sequence) behind a
// watermark: a record is released once every other live stream has read a
// record at or after its timestamp, or has been idle for
// options.idle_after. Each record is delivered once; between them,
// delivered + lost + held accounts for every sequence from each stream's
// start. Not thread-safe: one thread polls.
class VRRL_EXPORT RecordingFollower {
 public:
  // Throws as RecordingReader::open for the directory and its metadata.
  explicit RecordingFollower(const std::filesystem::path& dir, const RecordingFollowerOptions& options = {});
  RecordingFollower(RecordingFollower&&) noexcept;
  RecordingFollower& operator=(RecordingFollower&&) noexcept;
  RecordingFollower(const RecordingFollower&) = delete;
  RecordingFollower& operator=(const RecordingFollower&) = delete;
  ~RecordingFollower();

  // Appends the released records to `out`, oldest first, at most
  // `max_records` of them. Throws vrrl::Error: a segment shrank (truncated),
  // a damaged segment (its header's kind), a directory that cannot be
  // listed (io); files in a stream directory that are not segments are
  // ignored. Records already appended to `out` stay there.
  RecordingPollResult poll(std::vector<FollowedRecord>& out,
                           std::size_t max_records = std::numeric_limits<std::size_t>::max());
  // As poll, then releases everything held regardless of the watermark (when
  // the writers are done, or before exiting).
  RecordingPollResult drain(std::vector<FollowedRecord>& out);

  [[nodiscard]] std::vector<std::string> streams() const;
  [[nodiscard]] std::uint64_t delivered_total() const noexcept;
  [[nodiscard]] std::uint64_t lost_total() const noexcept;

 private:
  std::unique_ptr<detail::FollowState> state_;
};

}  // namespace vrrl
