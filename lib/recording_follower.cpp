// RecordingFollower: vrrl::Follower per segment, one stream after another,
// merged behind a watermark (docs/design.md, "Recordings").
#include <vrrl/follower.hpp>
#include <vrrl/recording.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <deque>
#include <utility>

#include "errors.hpp"
#include "file_descriptor.hpp"
#include "recording_layout.hpp"

namespace vrrl {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

// A segment being followed: the descriptor that holds its byte-1 read lock
// (so retention deletes rather than recycles it while we read), the reader
// and its Follower. Not movable: the Follower points at the reader.
struct FollowedSegment {
  FollowedSegment(FileDescriptor lease_fd, LogReader log, std::uint64_t first_sequence, std::uint64_t start)
      : lease(std::move(lease_fd)), reader(std::move(log)), follower(reader, start), first(first_sequence) {}
  FollowedSegment(const FollowedSegment&) = delete;
  FollowedSegment& operator=(const FollowedSegment&) = delete;

  FileDescriptor lease;
  LogReader reader;
  Follower follower;
  std::uint64_t first;
};

struct Pending {
  RecordedSlot slot;
  FailureEvidence evidence;
  std::uint64_t sequence = 0;
};

struct FollowedStream {
  std::string name;
  std::filesystem::path directory;
  std::unique_ptr<FollowedSegment> segment;
  std::uint64_t position = 0;  // the next sequence to read
  std::deque<Pending> pending;  // read, not released yet
  std::optional<std::uint64_t> newest_timestamp;
  Clock::time_point last_progress;
};

bool sorts_before(const Pending& a, const FollowedStream& a_stream, const Pending& b, const FollowedStream& b_stream) {
  if (a.slot.timestamp_ns != b.slot.timestamp_ns) return a.slot.timestamp_ns < b.slot.timestamp_ns;
  if (a_stream.name != b_stream.name) return a_stream.name < b_stream.name;
  return a.sequence < b.sequence;
}

}  // namespace

class FollowState {
 public:
  FollowState(std::filesystem::path dir, const RecordingFollowerOptions& options)
      : dir_(std::move(dir)), options_(options) {
    struct stat status {};
    if (::stat(dir_.c_str(), &status) != 0) throw io_error("follow", dir_, "stat", errno);
    if (!S_ISDIR(status.st_mode)) {
      throw problem(ErrorKind::not_a_recording, "follow", dir_, "the path is not a directory",
                    "pass a recording directory, or follow a single log with vrrl::Follower");
    }
    capacity_ = read_metadata(dir_, /*missing_ok=*/false)->segment_capacity;
    RecordingPollResult ignored;
    scan(ignored, /*initial=*/true);
  }

  RecordingPollResult poll(std::vector<FollowedRecord>& out, std::size_t max_records, bool force) {
    RecordingPollResult result;
    const Clock::time_point now = Clock::now();
    for (const std::unique_ptr<FollowedStream>& stream : streams_) read(*stream, now, result);
    // The listing comes after the reads: a stream created before any record
    // just read was appended is then known before those records are released
    // (with nothing read yet, it holds the watermark). Listed first, a stream
    // created between the listing and the reads was missed, and records
    // sorting after its first ones were released ahead of them.
    std::vector<FollowedStream*> found;
    scan(result, /*initial=*/false, &found);
    for (FollowedStream* stream : found) read(*stream, now, result);
    release(out, max_records, now, force, result);
    for (const std::unique_ptr<FollowedStream>& stream : streams_) result.held += stream->pending.size();
    delivered_total_ += result.delivered;
    lost_total_ += result.lost;
    return result;
  }

  [[nodiscard]] std::vector<std::string> streams() const {
    std::vector<std::string> names;
    for (const std::unique_ptr<FollowedStream>& stream : streams_) names.push_back(stream->name);
    return names;
  }
  [[nodiscard]] std::uint64_t delivered_total() const noexcept { return delivered_total_; }
  [[nodiscard]] std::uint64_t lost_total() const noexcept { return lost_total_; }

 private:
  // Adds the streams not known yet (to `found` too, when given).
  void scan(RecordingPollResult& result, bool initial, std::vector<FollowedStream*>* found = nullptr);
  [[nodiscard]] std::uint64_t stream_end(const std::filesystem::path& stream_dir);
  void read(FollowedStream& stream, Clock::time_point now, RecordingPollResult& result);
  bool open_segment(FollowedStream& stream, RecordingPollResult& result);
  // Opens `segment` at the stream's position: true; false to try again
  // later; nothing when it is not there.
  std::optional<bool> open_one(FollowedStream& stream, const SegmentFile& segment);
  [[nodiscard]] bool next_segment_used(const FollowedStream& stream, std::uint64_t first);
  void release(std::vector<FollowedRecord>& out, std::size_t max_records, Clock::time_point now, bool force,
               RecordingPollResult& result);

  const std::filesystem::path dir_;
  const RecordingFollowerOptions options_;
  std::uint64_t capacity_ = 0;  // the metadata's; else learnt from the first segment
  std::vector<std::unique_ptr<FollowedStream>> streams_;  // sorted by name
  std::uint64_t delivered_total_ = 0;
  std::uint64_t lost_total_ = 0;
};

void FollowState::scan(RecordingPollResult& result, bool initial, std::vector<FollowedStream*>* found) {
  const RecordingListing listing = list_recording(dir_, "follow");
  for (const std::string& name : listing.streams) {
    const auto known = std::lower_bound(streams_.begin(), streams_.end(), name,
                                        [](const std::unique_ptr<FollowedStream>& s, const std::string& n) {
                                          return s->name < n;
                                        });
    if (known != streams_.end() && (*known)->name == name) continue;
    auto stream = std::make_unique<FollowedStream>();
    stream->name = name;
    stream->directory = dir_ / name;
    stream->last_progress = Clock::now();
    if (initial && options_.from_now) {
      stream->position = stream_end(stream->directory);
    } else {
      const StreamListing segments = list_stream(stream->directory, "follow");
      stream->position = segments.segments.empty() ? 0 : segments.segments.front().first;
    }
    if (found != nullptr) found->push_back(stream.get());
    streams_.insert(known, std::move(stream));
    if (!initial) ++result.new_streams;
  }
}

std::uint64_t FollowState::stream_end(const std::filesystem::path& stream_dir) {
  const StreamListing listing = list_stream(stream_dir, "follow");
  // Newest first, as RecordingReader: the newest non-empty segment's cursor.
  for (auto it = listing.segments.rbegin(); it != listing.segments.rend(); ++it) {
    const std::optional<SegmentHeader> header = read_segment_header(*it, capacity_);
    if (!header) continue;
    if (capacity_ == 0) capacity_ = header->capacity;
    if (header->cursor > it->first || std::next(it) == listing.segments.rend()) return header->cursor;
  }
  return 0;
}

bool FollowState::open_segment(FollowedStream& stream, RecordingPollResult& result) {
  // Usually the segment holding the position is there under its name; the
  // directory (which may hold thousands of segments) is listed only when not.
  if (capacity_ != 0) {
    const std::uint64_t first = stream.position - stream.position % capacity_;
    const SegmentFile expected{first, stream.directory / segment_file_name(first)};
    if (const std::optional<bool> opened = open_one(stream, expected)) return *opened;
  }
  const StreamListing listing = list_stream(stream.directory, "follow");
  for (const SegmentFile& segment : listing.segments) {
    if (capacity_ == 0) {
      const std::optional<SegmentHeader> header = read_segment_header(segment, 0);
      if (!header) continue;
      capacity_ = header->capacity;
    }
    if (segment.first + capacity_ <= stream.position) continue;  // already read (or before our start)
    if (segment.first > stream.position) {
      // readdir() may have missed segments created while it ran (the
      // newest, just below this one, in order) or the one at the position:
      // look them up by name before counting the hole as lost.
      const std::uint64_t at_position = stream.position - stream.position % capacity_;
      if (segment_exists(stream.directory, at_position)) {
        if (const std::optional<bool> opened =
                open_one(stream, {at_position, stream.directory / segment_file_name(at_position)})) {
          return *opened;
        }
      }
      std::uint64_t lowest = segment.first;
      while (lowest - capacity_ > at_position && segment_exists(stream.directory, lowest - capacity_)) {
        lowest -= capacity_;
      }
      // The segments holding [position, lowest) are missing or were removed.
      result.lost += lowest - stream.position;
      stream.position = lowest;
      if (lowest != segment.first) {
        if (const std::optional<bool> opened =
                open_one(stream, {lowest, stream.directory / segment_file_name(lowest)})) {
          return *opened;
        }
        result.lost += segment.first - lowest;  // gone again since we looked
        stream.position = segment.first;
      }
    }
    if (const std::optional<bool> opened = open_one(stream, segment)) return *opened;
    // removed since the listing: on to the next one
  }
  return false;  // nothing at or after the position yet
}

std::optional<bool> FollowState::open_one(FollowedStream& stream, const SegmentFile& segment) {
  FileDescriptor lease(::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!lease.valid()) {
    if (errno == ENOENT) return std::nullopt;
    throw io_error("follow", segment.path, "open for reading", errno);
  }
  if (!lock_segment_for_reading(lease.get(), segment.path)) return false;  // being rewritten: try again later
  std::optional<LogReader> reader;
  try {
    reader.emplace(LogReader::open(segment.path));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::io && e.errno_value() == ENOENT) return std::nullopt;
    throw;
  }
  if (std::optional<Error> wrong =
          segment_header_problem(segment, reader->format(), reader->capacity(), reader->appended(), capacity_)) {
    struct stat status {};
    if (::stat(segment.path.c_str(), &status) != 0 && errno == ENOENT) return std::nullopt;  // recycled meanwhile
    throw *wrong;
  }
  stream.segment =
      std::make_unique<FollowedSegment>(std::move(lease), std::move(*reader), segment.first, stream.position);
  return true;
}

void FollowState::read(FollowedStream& stream, Clock::time_point now, RecordingPollResult& result) {
  for (;;) {
    if (!stream.segment && !open_segment(stream, result)) return;
    FollowedSegment& segment = *stream.segment;
    const auto poll_segment = [&] {
      const PollResult polled = segment.follower.poll(
          [&](std::uint64_t sequence, const RecordedSlot& slot, const FailureEvidence& evidence) {
            stream.pending.push_back({slot, evidence, sequence});
            if (!stream.newest_timestamp || slot.timestamp_ns > *stream.newest_timestamp) {
              stream.newest_timestamp = slot.timestamp_ns;
            }
          });
      if (polled.delivered != 0) stream.last_progress = now;
      result.lost += polled.lost;
      stream.position = segment.follower.position();
    };
    poll_segment();
    const std::uint64_t segment_end = segment.first + segment.reader.capacity();
    if (stream.position + 1 == segment_end && segment.reader.appended() == segment_end &&
        next_segment_used(stream, segment_end)) {
      // Only the last record of a full segment is missing. A Follower waits
      // for a later cursor to tell a record that never completes from one
      // completing now, and a segment's cursor never goes past its end. The
      // next segment holding records tells instead: the writer appends there
      // only after the append before has completed. So one more poll either
      // finds the record, or its writer was killed between the cursor and
      // magic stores and it is lost.
      poll_segment();
      if (stream.position + 1 == segment_end) {
        ++result.lost;
        stream.position = segment_end;
      }
    }
    if (stream.position < segment_end) return;
    stream.segment.reset();  // complete: on to the next segment
  }
}

bool FollowState::next_segment_used(const FollowedStream& stream, std::uint64_t first) {
  try {
    const std::optional<SegmentHeader> header =
        read_segment_header({first, stream.directory / segment_file_name(first)}, capacity_);
    if (header) return header->cursor > first;
    // Not there: a gap may follow (segments removed, or StreamWriter::skip
    // made none); a later segment holding records tells just as well.
    for (const SegmentFile& later : list_stream(stream.directory, "follow").segments) {
      if (later.first <= first) continue;
      const std::optional<SegmentHeader> found = read_segment_header(later, capacity_);
      if (found && found->cursor > later.first) return true;
    }
    return false;
  } catch (const Error&) {
    return false;  // damaged, or not listable: open_segment reports it when we get there
  }
}

void FollowState::release(std::vector<FollowedRecord>& out, std::size_t max_records, Clock::time_point now,
                          bool force, RecordingPollResult& result) {
  for (std::size_t released = 0; released < max_records; ++released) {
    FollowedStream* smallest = nullptr;
    for (const std::unique_ptr<FollowedStream>& stream : streams_) {
      if (stream->pending.empty()) continue;
      if (smallest == nullptr ||
          sorts_before(stream->pending.front(), *stream, smallest->pending.front(), *smallest)) {
        smallest = stream.get();
      }
    }
    if (smallest == nullptr) return;
    const Pending& head = smallest->pending.front();
    if (!force) {
      // The watermark: a stream with nothing pending may still append a
      // record that sorts before `head`, unless it has passed head's
      // timestamp (its timestamps do not go backwards) or is idle.
      for (const std::unique_ptr<FollowedStream>& other : streams_) {
        if (other.get() == smallest || !other->pending.empty()) continue;
        if (now - other->last_progress >= options_.idle_after) continue;
        if (!other->newest_timestamp) return;
        const std::uint64_t newest = *other->newest_timestamp;
        if (head.slot.timestamp_ns < newest || (head.slot.timestamp_ns == newest && smallest->name < other->name)) {
          continue;
        }
        return;
      }
    }
    out.push_back({head.slot, head.evidence, smallest->name, head.sequence});
    smallest->pending.pop_front();
    ++result.delivered;
  }
}

}  // namespace detail

RecordingFollower::RecordingFollower(const std::filesystem::path& dir, const RecordingFollowerOptions& options)
    : state_(std::make_unique<detail::FollowState>(dir, options)) {}
RecordingFollower::RecordingFollower(RecordingFollower&&) noexcept = default;
RecordingFollower& RecordingFollower::operator=(RecordingFollower&&) noexcept = default;
RecordingFollower::~RecordingFollower() = default;

RecordingPollResult RecordingFollower::poll(std::vector<FollowedRecord>& out, std::size_t max_records) {
  return state_->poll(out, max_records, /*force=*/false);
}

RecordingPollResult RecordingFollower::drain(std::vector<FollowedRecord>& out) {
  return state_->poll(out, std::numeric_limits<std::size_t>::max(), /*force=*/true);
}

std::vector<std::string> RecordingFollower::streams() const { return state_->streams(); }
std::uint64_t RecordingFollower::delivered_total() const noexcept { return state_->delivered_total(); }
std::uint64_t RecordingFollower::lost_total() const noexcept { return state_->lost_total(); }

}  // namespace vrrl
