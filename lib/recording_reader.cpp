// RecordingReader: the plan (streams and segments found at open) and the
// merged replay over it. docs/design.md, "Recordings", has the merge and
// the lifetime rules; include/vrrl/recording.hpp the contract.
#include <vrrl/recording.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "errors.hpp"
#include "log_file.hpp"
#include "recording_layout.hpp"

namespace vrrl {
namespace detail {

struct PlannedSegment {
  SegmentFile file;
  std::uint64_t cursor = 0;  // as read at open
};

struct PlannedStream {
  std::string name;
  std::vector<PlannedSegment> segments;  // usable ones, oldest first (an empty prepared one may end the list)
  std::uint64_t first_sequence = 0;
  std::uint64_t end_sequence = 0;
};

struct ReaderPlan {
  std::filesystem::path dir;
  RecordingMetadata metadata;
  std::uint64_t segment_capacity = 0;  // the metadata's, else the first segment's
  Recovery recovery = Recovery::strict;
  std::vector<PlannedStream> streams;  // sorted by name
  std::vector<StreamInfo> info;
  RecordingProblems problems;
};

namespace {

const std::string strict_fix_suffix = " (or open with Recovery::skip_bad_slots to read around it)";

void check_recording_directory(const std::filesystem::path& dir) {
  struct stat status {};
  if (::stat(dir.c_str(), &status) != 0) {
    throw io_error("open", dir, "stat", errno,
                   errno == ENOENT ? "check the path; no recording exists there (a writer creates it with "
                                     "vrrl::Recording::open)"
                                   : std::string{});
  }
  if (!S_ISDIR(status.st_mode)) {
    throw problem(ErrorKind::not_a_recording, "open", dir, "the path is not a directory",
                  "pass a recording directory, or open a single log with vrrl::LogReader");
  }
}

PlannedStream plan_stream(ReaderPlan& plan, const std::string& name) {
  const std::filesystem::path stream_dir = plan.dir / name;
  const bool strict = plan.recovery == Recovery::strict;
  StreamListing listing = list_stream(stream_dir, "open");
  for (const std::filesystem::path& foreign : listing.foreign) {
    if (strict) {
      throw problem(ErrorKind::header_mismatch, "open", foreign,
                    "not a segment: a stream directory holds only segments (20-digit first sequence, `.vrrl`) and "
                    "dotfiles",
                    "move it out of the recording" + strict_fix_suffix);
    }
    plan.problems.foreign_files.push_back(foreign);
  }
  PlannedStream stream;
  stream.name = name;
  if (plan.segment_capacity != 0) fill_listing_holes(listing, plan.segment_capacity);
  // Newest first: a writer only ever moves to a newer segment, so if the
  // newer one reads non-empty, the older one was full before we read it.
  // Reading oldest first could see a segment partial and its successor
  // non-empty with a live writer, and report a gap that is not there.
  for (auto it = listing.segments.rbegin(); it != listing.segments.rend(); ++it) {
    try {
      if (std::optional<SegmentHeader> header = read_segment_header(*it, plan.metadata.segment_capacity)) {
        if (plan.segment_capacity == 0) plan.segment_capacity = header->capacity;
        stream.segments.push_back({*it, header->cursor});
      }
    } catch (const Error&) {
      if (strict) throw;
      plan.problems.damaged_segments.push_back(it->path);
    }
  }
  std::reverse(stream.segments.begin(), stream.segments.end());

  // Gaps: each segment must start where the one before ended. Empty
  // segments after the newest used one are prepared ahead, not gaps.
  const auto used = [](const PlannedSegment& s) { return s.cursor > s.file.first; };
  const auto past_last_used =
      std::find_if(stream.segments.rbegin(), stream.segments.rend(), used).base();
  std::optional<std::uint64_t> expected;
  for (auto it = stream.segments.begin(); it != past_last_used; ++it) {
    const PlannedSegment& segment = *it;
    if (expected && segment.file.first != *expected) {
      if (strict) {
        throw problem(ErrorKind::truncated, "open", stream_dir,
                      "sequences " + std::to_string(*expected) + ".." + std::to_string(segment.file.first - 1) +
                          " of stream `" + name +
                          "` are missing (the segment holding them was removed or damaged, or the one before " +
                          segment.file.path.filename().string() + " ended early)",
                      "restore the missing segment from a copy" + strict_fix_suffix);
      }
      plan.problems.gaps.push_back({name, *expected, segment.file.first});
    }
    expected = segment.cursor;
  }
  const auto first_used = std::find_if(stream.segments.begin(), stream.segments.end(), used);
  const auto last_used = std::find_if(stream.segments.rbegin(), stream.segments.rend(), used);
  if (first_used != stream.segments.end()) {
    stream.first_sequence = first_used->file.first;
    stream.end_sequence = last_used->cursor;
  } else if (!stream.segments.empty()) {
    stream.first_sequence = stream.end_sequence = stream.segments.front().file.first;
  }
  return stream;
}

// A segment mapped for reading, with the byte-1 read lock that keeps the
// recycler away while it is mapped. Nothing when retention removed it (or is
// recycling it) since the plan was made.
std::unique_ptr<LogFile> open_for_reading(const PlannedSegment& segment, std::uint64_t expected_capacity,
                                          Recovery recovery) {
  std::unique_ptr<LogFile> file;
  try {
    // Populated at map time: a replay reads the segment whole, once, and one
    // MAP_POPULATE costs less than a page fault per 16 pages.
    file = LogFile::open_reader(segment.file.path, /*populate=*/true);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::io && e.errno_value() == ENOENT) return nullptr;
    throw;
  }
  if (!lock_segment_for_reading(file->descriptor(), segment.file.path)) return nullptr;
  if (std::optional<Error> wrong = segment_header_problem(segment.file, file->format(), file->capacity(),
                                                          file->load_cursor(), expected_capacity)) {
    // Recycled under a new name between our open and our lock: it is gone.
    struct stat status {};
    if (::stat(segment.file.path.c_str(), &status) != 0 && errno == ENOENT) return nullptr;
    if (recovery == Recovery::strict) throw *wrong;
    return nullptr;
  }
  return file;
}

}  // namespace

// One stream's position in a replay.
struct StreamCursor {
  const PlannedStream* stream = nullptr;
  std::size_t index = 0;          // the stream's index in RecordingReader::streams()
  std::size_t next_segment = 0;   // the planned segment to open next
  std::unique_ptr<LogFile> file;  // the open segment
  std::unique_ptr<LogFile> previous;  // the one before, kept mapped so that views of its records outlive one step
  const std::byte* records = nullptr;
  std::uint64_t first = 0;        // the open segment's first sequence
  std::uint64_t slot = 0;         // the head's slot
  std::uint64_t end = 0;          // slots below the open segment's cursor
  std::uint64_t head = 0;         // the head's timestamp
  std::uint64_t expected = 0;     // the sequence after the last one yielded
  std::uint64_t seen_end = 0;     // the highest cursor seen
  bool done = false;
};

class ReplayState : public ReplayRun {
 public:
  ReplayState(const ReaderPlan& plan, std::vector<std::size_t> streams, std::optional<std::uint64_t> from)
      : plan_(plan), indexes_(std::move(streams)), from_(from) {}

  void start();
  void advance();
  RecordingReport report;

 private:
  bool open_next_segment(StreamCursor& cursor);
  void find_head(StreamCursor& cursor, std::uint64_t from_slot);
  void position_at_timestamp(StreamCursor& cursor, std::uint64_t timestamp);
  void finish(StreamCursor& cursor) noexcept;
  void choose_run() noexcept;
  // Starts the run of cursors_[best] up to cursors_[second]'s head (none: size()).
  void start_run(std::size_t best, std::size_t second) noexcept;
  // Whether cursor a's head sorts before cursor b's (timestamp, then
  // stream), without branches: with interleaved streams these comparisons
  // are coin flips the branch predictor cannot learn.
  [[nodiscard]] bool before(std::size_t a, std::size_t b) const noexcept {
    const HeadKey& x = heads_[a];
    const HeadKey& y = heads_[b];
    return (x.timestamp < y.timestamp) | ((x.timestamp == y.timestamp) & (x.stream < y.stream));
  }
  void set_head(const StreamCursor& cursor) noexcept {
    heads_[static_cast<std::size_t>(&cursor - cursors_.data())] = {cursor.head, cursor.index};
  }
  void set_done(const StreamCursor& cursor) noexcept {
    heads_[static_cast<std::size_t>(&cursor - cursors_.data())] = {std::numeric_limits<std::uint64_t>::max(),
                                                                   std::numeric_limits<std::size_t>::max()};
  }

  const ReaderPlan& plan_;
  const std::vector<std::size_t> indexes_;
  const std::optional<std::uint64_t> from_;
  std::vector<StreamCursor> cursors_;
  // Each cursor's head as a compact key, for the scans at the end of a run;
  // a finished stream's key sorts after every head.
  struct HeadKey {
    std::uint64_t timestamp = 0;
    std::size_t stream = 0;
  };
  std::vector<HeadKey> heads_;
  std::size_t run_cursor_ = 0;    // which cursor the run belongs to
  std::size_t limit_cursor_ = 0;  // which cursor holds the run's limit (size(): none)
};

void advance_replay(ReplayRun& run) { static_cast<ReplayState&>(run).advance(); }

void ReplayState::start() {
  report = {};
  yielded = 0;
  at_end = true;
  cursors_.clear();
  cursors_.resize(indexes_.size());
  heads_.assign(indexes_.size(), HeadKey{});
  for (std::size_t i = 0; i < indexes_.size(); ++i) {
    StreamCursor& cursor = cursors_[i];
    cursor.index = indexes_[i];
    cursor.stream = &plan_.streams[indexes_[i]];
    cursor.expected = cursor.stream->first_sequence;
    if (from_) {
      position_at_timestamp(cursor, *from_);
    } else {
      find_head(cursor, 0);
    }
  }
  choose_run();
}

void ReplayState::advance() {
  if (at_end) return;
  StreamCursor& cursor = cursors_[run_cursor_];
  const std::uint64_t next = slot + 1;
  cursor.expected = cursor.first + next;
  const std::byte* record = cursor.records + next * format::record_bytes;
  if (next < cursor.end &&
      atomic_word<std::uint32_t>(record + format::record_offset::magic).load(std::memory_order_relaxed) ==
          format::record_magic) {
    // The common end of a run: the next record is there but sorts after
    // another stream's head.
    cursor.slot = next;
    cursor.head = wire::load_le<std::uint64_t>(record + format::record_offset::timestamp_ns);
    set_head(cursor);
  } else {
    find_head(cursor, next);
  }
  // Only this stream's head moved: the other streams' smallest head is the
  // run's limit, unchanged. Still smaller than it, this stream goes on;
  // otherwise the limit's stream runs next and the limit is rescanned.
  if (limit_cursor_ < cursors_.size() && !cursors_[limit_cursor_].done) {
    if (!cursor.done && before(run_cursor_, limit_cursor_)) {
      start_run(run_cursor_, limit_cursor_);
      return;
    }
    const std::size_t best = limit_cursor_;
    std::size_t second = best == 0 ? 1 : 0;  // finished streams' keys sort last: no test needed
    for (std::size_t i = second + 1; i < cursors_.size(); ++i) {
      second = (i != best) & before(i, second) ? i : second;
    }
    start_run(best, second < cursors_.size() && !cursors_[second].done ? second : cursors_.size());
    return;
  }
  choose_run();
}

bool ReplayState::open_next_segment(StreamCursor& cursor) {
  const std::vector<PlannedSegment>& segments = cursor.stream->segments;
  while (cursor.next_segment < segments.size()) {
    const PlannedSegment& segment = segments[cursor.next_segment++];
    std::unique_ptr<LogFile> file = open_for_reading(segment, plan_.metadata.segment_capacity, plan_.recovery);
    if (!file) {
      ++report.segments_removed;
      continue;
    }
    const std::uint64_t slots = file->load_cursor() - segment.file.first;  // validated: at most the capacity
    if (slots == 0) continue;  // empty (prepared ahead): nothing to read, and `previous` stays as it is
    cursor.first = segment.file.first;
    cursor.end = slots;
    cursor.records = file->records();
    cursor.file = std::move(file);
    cursor.seen_end = std::max(cursor.seen_end, cursor.first + cursor.end);
    return true;
  }
  return false;
}

void ReplayState::find_head(StreamCursor& cursor, std::uint64_t from_slot) {
  while (!cursor.done) {
    if (!cursor.file) {
      if (!open_next_segment(cursor)) {
        finish(cursor);
        return;
      }
      from_slot = 0;
    }
    for (std::uint64_t at = from_slot; at < cursor.end; ++at) {
      const std::byte* record = cursor.records + at * format::record_bytes;
      // Relaxed: as in the iterator's fast path (the cursor's acquire covers the bodies).
      const std::uint32_t magic =
          atomic_word<std::uint32_t>(record + format::record_offset::magic).load(std::memory_order_relaxed);
      if (magic == format::record_magic) {
        cursor.slot = at;
        cursor.head = wire::load_le<std::uint64_t>(record + format::record_offset::timestamp_ns);
        set_head(cursor);
        return;
      }
      if (magic == format::empty_record_magic) {
        ++report.incomplete;  // below the cursor: its append never completed (or is completing now)
        continue;
      }
      switch (plan_.recovery) {
        case Recovery::strict:
          throw_bad_slot(cursor.file->path(), at, Format::v1, magic);
        case Recovery::stop_at_bad_slot:
          report.bad_slots.push_back({cursor.file->path(), at});
          report.stopped_early = true;
          cursor.expected = cursor.first + at;
          cursor.file.reset();
          cursor.done = true;  // the rest of this stream is not read; nothing more counted as lost
          set_done(cursor);
          return;
        case Recovery::skip_bad_slots:
          report.bad_slots.push_back({cursor.file->path(), at});
          break;
      }
    }
    cursor.previous = std::move(cursor.file);  // exhausted; its views stay valid until the next segment is
    from_slot = 0;
  }
}

void ReplayState::finish(StreamCursor& cursor) noexcept {
  cursor.done = true;
  set_done(cursor);
  if (cursor.file) cursor.previous = std::move(cursor.file);  // its views stay valid until the range restarts
  const std::uint64_t stream_end = std::max(cursor.stream->end_sequence, cursor.seen_end);
  if (stream_end > cursor.expected) report.lost += stream_end - cursor.expected;
  cursor.expected = std::max(cursor.expected, stream_end);
}

void ReplayState::position_at_timestamp(StreamCursor& cursor, std::uint64_t timestamp) {
  const std::vector<PlannedSegment>& segments = cursor.stream->segments;
  // The first segment whose newest record is at or after the timestamp.
  std::size_t low = 0;
  std::size_t high = segments.size();
  while (low < high) {
    const std::size_t middle = low + (high - low) / 2;
    const PlannedSegment& segment = segments[middle];
    const std::optional<std::uint64_t> last = read_last_timestamp(segment.file, segment.cursor);
    const bool before = last ? *last < timestamp : segment.cursor > segment.file.first;  // gone: it was old
    if (before) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  cursor.next_segment = low;
  if (!open_next_segment(cursor)) {
    cursor.expected = std::max(cursor.expected, cursor.stream->end_sequence);
    finish(cursor);
    return;
  }
  // Inside it: the first record at or after the timestamp (empty slots are
  // stepped over towards the end of the probed range).
  std::uint64_t low_slot = 0;
  std::uint64_t high_slot = cursor.end;
  while (low_slot < high_slot) {
    const std::uint64_t middle = low_slot + (high_slot - low_slot) / 2;
    std::uint64_t probe = middle;
    while (probe < high_slot &&
           RecordView(cursor.records + probe * format::record_bytes).magic() != format::record_magic) {
      ++probe;
    }
    if (probe == high_slot) {
      high_slot = middle;
    } else if (RecordView(cursor.records + probe * format::record_bytes).timestamp_ns() < timestamp) {
      low_slot = probe + 1;
    } else {
      high_slot = middle;
    }
  }
  cursor.expected = cursor.first + low_slot;
  find_head(cursor, low_slot);
}

void ReplayState::choose_run() noexcept {
  std::size_t best = cursors_.size();
  std::size_t second = cursors_.size();
  for (std::size_t i = 0; i < cursors_.size(); ++i) {
    if (cursors_[i].done) continue;
    if (best == cursors_.size() || before(i, best)) {
      second = best;
      best = i;
    } else if (second == cursors_.size() || before(i, second)) {
      second = i;
    }
  }
  if (best == cursors_.size()) {
    at_end = true;
    return;
  }
  start_run(best, second);
}

void ReplayState::start_run(std::size_t best, std::size_t second) noexcept {
  StreamCursor& cursor = cursors_[best];
  const std::uint64_t sequence = cursor.first + cursor.slot;
  if (sequence > cursor.expected) report.lost += sequence - cursor.expected;
  cursor.expected = sequence;
  run_cursor_ = best;
  limit_cursor_ = second;
  records = cursor.records;
  slot = cursor.slot;
  end = cursor.end;
  first = cursor.first;
  stream = cursor.index;
  stream_name = cursor.stream->name;
  if (second == cursors_.size()) {
    limit_timestamp = std::numeric_limits<std::uint64_t>::max();
    limit_stream = std::numeric_limits<std::size_t>::max();
  } else {
    limit_timestamp = cursors_[second].head;
    limit_stream = cursors_[second].index;
  }
  ++yielded;
  at_end = false;
}

}  // namespace detail

// --- RecordingReplay -------------------------------------------------------------

RecordingReplay::RecordingReplay(std::unique_ptr<detail::ReplayState> state) noexcept : state_(std::move(state)) {}
RecordingReplay::RecordingReplay(RecordingReplay&&) noexcept = default;
RecordingReplay& RecordingReplay::operator=(RecordingReplay&&) noexcept = default;
RecordingReplay::~RecordingReplay() = default;

RecordingReplay::iterator RecordingReplay::begin() {
  state_->start();
  return iterator(state_.get());
}

const RecordingReport& RecordingReplay::report() const noexcept {
  state_->report.records = state_->yielded;
  return state_->report;
}

// --- RecordingReader -------------------------------------------------------------

RecordingReader::RecordingReader(std::unique_ptr<detail::ReaderPlan> plan) noexcept : plan_(std::move(plan)) {}
RecordingReader::RecordingReader(RecordingReader&&) noexcept = default;
RecordingReader& RecordingReader::operator=(RecordingReader&&) noexcept = default;
RecordingReader::~RecordingReader() = default;

RecordingReader RecordingReader::open(const std::filesystem::path& dir, Recovery recovery) {
  detail::check_recording_directory(dir);
  auto plan = std::make_unique<detail::ReaderPlan>();
  plan->dir = dir;
  plan->recovery = recovery;
  plan->metadata = *detail::read_metadata(dir, /*missing_ok=*/false);
  plan->segment_capacity = plan->metadata.segment_capacity;
  const detail::RecordingListing listing = detail::list_recording(dir, "open");
  for (const std::filesystem::path& bad : listing.badly_named) {
    if (recovery == Recovery::strict) {
      throw detail::problem(ErrorKind::header_mismatch, "open", bad,
                            "not a stream directory: stream names are 1 to 128 of [A-Za-z0-9._-], not starting "
                            "with '.'",
                            "move it out of the recording" + detail::strict_fix_suffix);
    }
    plan->problems.foreign_files.push_back(bad);
  }
  for (const std::string& name : listing.streams) {
    plan->streams.push_back(detail::plan_stream(*plan, name));
    const detail::PlannedStream& stream = plan->streams.back();
    plan->info.push_back({.name = name,
                          .segments = stream.segments.size(),
                          .first_sequence = stream.first_sequence,
                          .end_sequence = stream.end_sequence,
                          .dropped = detail::read_dropped(dir / name)});
  }
  return RecordingReader(std::move(plan));
}

std::vector<std::string> RecordingReader::streams() const {
  std::vector<std::string> names;
  names.reserve(plan_->streams.size());
  for (const detail::PlannedStream& stream : plan_->streams) names.push_back(stream.name);
  return names;
}

const std::vector<StreamInfo>& RecordingReader::stream_info() const noexcept { return plan_->info; }
const RecordingProblems& RecordingReader::problems() const noexcept { return plan_->problems; }
std::uint64_t RecordingReader::segment_capacity() const noexcept { return plan_->segment_capacity; }
const std::filesystem::path& RecordingReader::path() const noexcept { return plan_->dir; }

RecordingReplay RecordingReader::make_replay(std::vector<std::size_t> streams,
                                             std::optional<std::uint64_t> from) const {
  return RecordingReplay(std::make_unique<detail::ReplayState>(*plan_, std::move(streams), from));
}

namespace {

std::size_t stream_index(const detail::ReaderPlan& plan, std::string_view name) {
  for (std::size_t i = 0; i < plan.streams.size(); ++i) {
    if (plan.streams[i].name == name) return i;
  }
  std::string names;
  for (const detail::PlannedStream& stream : plan.streams) names += (names.empty() ? "" : ", ") + stream.name;
  throw detail::problem(ErrorKind::invalid_name, "replay", plan.dir,
                        "the recording has no stream " + detail::printable(name),
                        names.empty() ? "the recording has no streams yet" : "its streams are: " + names);
}

std::vector<std::size_t> all_streams(const detail::ReaderPlan& plan) {
  std::vector<std::size_t> indexes(plan.streams.size());
  for (std::size_t i = 0; i < indexes.size(); ++i) indexes[i] = i;
  return indexes;
}

}  // namespace

RecordingReplay RecordingReader::replay() const& { return make_replay(all_streams(*plan_), std::nullopt); }

RecordingReplay RecordingReader::replay(std::string_view stream) const& {
  return make_replay({stream_index(*plan_, stream)}, std::nullopt);
}

RecordingReplay RecordingReader::replay_from(std::uint64_t timestamp_ns) const& {
  return make_replay(all_streams(*plan_), timestamp_ns);
}

RecordingReplay RecordingReader::replay_from(std::string_view stream, std::uint64_t timestamp_ns) const& {
  return make_replay({stream_index(*plan_, stream)}, timestamp_ns);
}

}  // namespace vrrl
