// Recording, StreamWriter and the background thread (RecordingCore). The
// hand-off protocol between a writer and the background thread is stated in
// recording_stream.hpp; docs/design.md, "Recordings", tells the story.
#include <vrrl/recording.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <map>
#include <thread>
#include <utility>

#include "errors.hpp"
#include "recording_layout.hpp"
#include "recording_stream.hpp"
#include "write_behind.hpp"

namespace vrrl {
namespace detail {

// A private ring in the v1 layout (header, then slots) for the appends a
// writer drops: append_record() writes into it like into a segment, so the
// hot path has no branch for dropping. Nobody reads it.
inline constexpr std::uint64_t scratch_slots = 64;
struct alignas(64) ScratchRing {
  std::byte bytes[format::file_bytes(scratch_slots)]{};

  [[nodiscard]] AppendState state() noexcept {
    return {.records = bytes + format::header_bytes,
            .header_cursor = std::launder(reinterpret_cast<std::uint64_t*>(bytes + format::header_offset::cursor)),
            .capacity = scratch_slots,
            .lap_start = 0,
            .next_slot = 0};
  }
};

namespace {

using Clock = std::chrono::steady_clock;

// How often the background thread looks at every stream when nothing woke it.
constexpr auto poll_interval = std::chrono::milliseconds(1);
constexpr auto first_retry_backoff = std::chrono::milliseconds(10);
constexpr auto max_retry_backoff = std::chrono::milliseconds(1000);

// The stream directories this process writes (by the lock file's inode), so
// that a second writer of a stream can be told "in this process".
// A fork()ed child inherits the list with its parent's pid in it.
class HeldStreams {
 public:
  static HeldStreams& instance() {
    static HeldStreams held;
    return held;
  }
  // The pid that opened the writer, if this process (or its parent before fork) has one.
  std::optional<pid_t> owner(dev_t device, ino_t inode) {
    const std::lock_guard guard(mutex_);
    const auto found = held_.find({device, inode});
    if (found == held_.end()) return std::nullopt;
    return found->second;
  }
  void add(dev_t device, ino_t inode) {
    const std::lock_guard guard(mutex_);
    held_[{device, inode}] = ::getpid();
  }
  void remove(dev_t device, ino_t inode) noexcept {
    const std::lock_guard guard(mutex_);
    held_.erase({device, inode});
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<dev_t, ino_t>, pid_t> held_;
};

struct LockIdentity {
  dev_t device = 0;
  ino_t inode = 0;
};

LockIdentity identity_of(int fd, const std::filesystem::path& path) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) throw io_error("open stream", path, "fstat", errno);
  return {status.st_dev, status.st_ino};
}

void make_directory(const std::filesystem::path& dir, const char* operation, const std::string& fix_if_missing) {
  if (::mkdir(dir.c_str(), 0755) == 0) {
    sync_directory_of(dir.has_parent_path() ? dir.parent_path() : std::filesystem::path("."), operation);
    return;
  }
  if (errno == EEXIST) return;
  throw io_error(operation, dir, "mkdir", errno, errno == ENOENT ? fix_if_missing : std::string{});
}

bool has_visible_entries(const std::filesystem::path& dir) {
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (!it->path().filename().string().starts_with('.')) return true;
  }
  if (error) throw io_error("open", dir, "listing the directory", error.value());
  return false;
}

void nap(unsigned attempt) noexcept {
  if (attempt < 64) {
    std::this_thread::yield();
    return;
  }
  const timespec pause{0, 50'000};
  ::nanosleep(&pause, nullptr);
}

}  // namespace

// What a Recording and all its writers share: the directory, the options,
// the streams, and the background thread, which runs until the last of them
// is gone.
class RecordingCore {
 public:
  RecordingCore(std::filesystem::path dir, RecordingOptions options, std::optional<std::filesystem::path> live)
      : dir_(std::move(dir)), options_(options), live_(std::move(live)) {}
  RecordingCore(const RecordingCore&) = delete;
  RecordingCore& operator=(const RecordingCore&) = delete;
  ~RecordingCore() {
    {
      const std::lock_guard guard(wake_mutex_);
      stopping_ = true;
    }
    wake_cv_.notify_one();
    if (background_.joinable()) background_.join();
  }

  void start() { background_ = std::thread([this] { run(); }); }

  struct OpenedStream {
    std::shared_ptr<StreamState> state;
    Segment* current = nullptr;
    std::uint64_t dropped = 0;
  };
  OpenedStream open_stream(std::string_view name);
  void remove_stream(const StreamState* state) noexcept {
    const std::lock_guard guard(streams_mutex_);
    std::erase_if(streams_, [&](const std::shared_ptr<StreamState>& s) { return s.get() == state; });
  }

  // Slow paths only (a writer waiting for a segment, a new stream).
  void wake() noexcept {
    {
      const std::lock_guard guard(wake_mutex_);
      wake_requested_ = true;
    }
    wake_cv_.notify_one();
  }

  void sync_all();
  [[nodiscard]] std::optional<Error> last_error() const {
    std::optional<Error> latest;
    {
      const std::lock_guard guard(error_mutex_);
      latest = last_error_;
    }
    for (const std::shared_ptr<StreamState>& stream : snapshot()) {
      const std::lock_guard guard(stream->work_mutex);
      if (stream->last_error) latest = stream->last_error;
    }
    return latest;
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return dir_; }
  [[nodiscard]] const RecordingOptions& options() const noexcept { return options_; }
  RecordingOptions& mutable_options() noexcept { return options_; }

 private:
  void run() noexcept;
  void prepare(StreamState& stream) noexcept;
  // sync_every: a pass of the stream's current segment when one is due.
  void pass_if_due(StreamState& stream) noexcept;
  [[nodiscard]] LiveDirectory live() const noexcept { return live_ ? &*live_ : nullptr; }
  void close_and_retain(StreamState& stream) noexcept;
  void retain_bytes(const std::vector<std::shared_ptr<StreamState>>& streams) noexcept;
  void record_failure(const Error& error) noexcept {
    const std::lock_guard guard(error_mutex_);
    last_error_ = error;
    if (!unreported_) unreported_ = error;
  }
  [[nodiscard]] std::vector<std::shared_ptr<StreamState>> snapshot() const {
    const std::lock_guard guard(streams_mutex_);
    return streams_;
  }

  const std::filesystem::path dir_;
  RecordingOptions options_;
  const std::optional<std::filesystem::path> live_;  // sync_every: where the segments' twins live

  mutable std::mutex streams_mutex_;
  std::vector<std::shared_ptr<StreamState>> streams_;

  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  bool wake_requested_ = false;
  bool stopping_ = false;

  mutable std::mutex error_mutex_;
  std::optional<Error> last_error_;  // failures that belong to no stream
  std::optional<Error> unreported_;  // the first of them since sync() last reported one

  std::thread background_;  // last: starts after everything above exists
};

RecordingCore::OpenedStream RecordingCore::open_stream(std::string_view name) {
  check_stream_name(name, dir_);
  const std::filesystem::path stream_dir = dir_ / std::string(name);
  const std::uint64_t capacity = options_.segment_capacity;
  make_directory(stream_dir, "open stream", "the recording directory was removed; open it again");
  struct stat status {};
  if (::stat(stream_dir.c_str(), &status) != 0) throw io_error("open stream", stream_dir, "stat", errno);
  if (!S_ISDIR(status.st_mode)) {
    throw problem(ErrorKind::header_mismatch, "open stream", stream_dir,
                  "the stream's path is not a directory",
                  "move that file out of the recording: a recording holds one directory per stream");
  }

  // One writer per stream, across processes: the lock file's flock + OFD lock.
  const std::filesystem::path lock_path = stream_dir / writer_lock_name;
  FileDescriptor lock_file(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644));
  if (!lock_file.valid()) throw io_error("open stream", lock_path, "open", errno);
  const LockIdentity identity = identity_of(lock_file.get(), lock_path);
  const std::optional<pid_t> owner = HeldStreams::instance().owner(identity.device, identity.inode);
  WriterLock lock;
  try {
    lock = WriterLock::acquire(lock_file.get(), lock_path);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::locked) throw;
    const std::string stream = "stream `" + std::string(name) + "`";
    if (owner && *owner == ::getpid()) {
      throw problem(ErrorKind::locked, "open stream", stream_dir, stream + " already has a StreamWriter in this process",
                    "append through the StreamWriter that is open (one per stream), give this thread its own "
                    "stream name, or destroy the other writer first");
    }
    throw problem(ErrorKind::locked, "open stream", stream_dir,
                  stream + " is being written by another process" +
                      (owner ? " (process " + std::to_string(*owner) + ", this process's parent before fork())"
                             : std::string{}),
                  "one writer per stream: give this writer another stream name, or stop the other process first "
                  "(read the stream with vrrl::RecordingReader / RecordingFollower); open recordings after fork(), "
                  "in the process that appends");
  }

  // What is there: segments in order, nothing foreign, leftovers of a
  // killed writer deleted (we hold the lock, so nobody is creating files here).
  const StreamListing listing = list_stream(stream_dir, "open stream");
  if (!listing.foreign.empty()) {
    throw problem(ErrorKind::header_mismatch, "open stream", listing.foreign.front(),
                  "the stream directory holds a file that is not a segment",
                  "move it out of the recording: a stream directory holds only segments (20-digit first sequence, "
                  "`.vrrl`) and dotfiles");
  }
  // sync_every: segments a killed writer left twins of (full ones not closed
  // yet, and the one it was writing) are caught up from them first, so that
  // their headers below say what the writer appended.
  if (live_) {
    for (const SegmentFile& segment : listing.segments) catch_up_segment(segment, capacity, *live_);
  }
  struct Found {
    SegmentFile file;
    SegmentHeader header;
  };
  std::vector<Found> segments;
  for (const SegmentFile& segment : listing.segments) {
    if (std::optional<SegmentHeader> header = read_segment_header(segment, capacity)) {
      segments.push_back({segment, *header});
    }
  }
  // Only once everything there checked out: nothing is deleted from a stream we refuse.
  for (const std::filesystem::path& leftover : listing.leftovers) {
    if (::unlink(leftover.c_str()) != 0 && errno != ENOENT) {
      throw io_error("open stream", leftover, "unlink of a leftover from an earlier writer", errno);
    }
  }

  // Continue after the last record: in the newest non-empty segment if it
  // has room, else in the segment that starts at its cursor.
  const auto last_used = std::find_if(segments.rbegin(), segments.rend(),
                                      [](const Found& f) { return f.header.cursor > f.file.first; });
  std::uint64_t current_first = 0;
  bool continue_partial = false;
  if (last_used != segments.rend()) {
    const std::uint64_t cursor = last_used->header.cursor;
    continue_partial = cursor < last_used->file.first + capacity;
    current_first = continue_partial ? last_used->file.first : cursor;
  } else if (!segments.empty()) {
    current_first = segments.front().file.first;  // only empty segments: start in the oldest
  }
  const auto find = [&](std::uint64_t first) -> const Found* {
    for (const Found& f : segments) {
      if (f.file.first == first) return &f;
    }
    return nullptr;
  };
  // Empty segments newer than the current one other than the next: leftovers
  // of preparations (the writer never prepares more than one ahead).
  for (const Found& f : segments) {
    if (f.file.first > current_first + capacity && f.header.cursor == f.file.first) {
      if (::unlink(f.file.path.c_str()) != 0 && errno != ENOENT) {
        throw io_error("open stream", f.file.path, "unlink of an unused prepared segment", errno);
      }
    }
  }

  auto state = std::make_shared<StreamState>(std::string(name), stream_dir, capacity, std::move(lock_file),
                                             std::move(lock));
  HeldStreams::instance().add(identity.device, identity.inode);
  try {
    std::unique_ptr<Segment> current =
        find(current_first) != nullptr
            ? open_segment(find(current_first)->file, capacity, options_.prefault, live())
            : create_segment(stream_dir, current_first, capacity, options_.prefault, live());
    if (current->copy) state->durable.store(current->copy->stats().durable, std::memory_order_release);
    state->next_first = current_first + capacity;
    if (const Found* next = find(current_first + capacity); next != nullptr && next->header.cursor == next->file.first) {
      state->prepared.store(open_segment(next->file, capacity, options_.prefault, live()).release(),
                            std::memory_order_release);
      state->next_first += capacity;
    }
    for (const Found& f : segments) {
      if (f.file.first < current_first && f.header.cursor > f.file.first) {
        state->closed.push_back(
            {f.file.first, f.file.path, read_last_timestamp(f.file, f.header.cursor).value_or(0)});
      }
    }
    const std::uint64_t dropped = read_dropped(stream_dir);
    state->dropped.store(dropped, std::memory_order_relaxed);
    state->persisted_dropped = dropped;
    Segment* current_segment = current.release();
    state->current.store(current_segment, std::memory_order_release);
    {
      // What a killed writer's background thread had not removed yet.
      const std::lock_guard guard(state->work_mutex);
      state->apply_retention_locked(options_.retain_segments, options_.recycle);
    }
    {
      const std::lock_guard guard(streams_mutex_);
      streams_.push_back(state);
    }
    wake();
    return {std::move(state), current_segment, dropped};
  } catch (...) {
    HeldStreams::instance().remove(identity.device, identity.inode);
    throw;
  }
}

void RecordingCore::prepare(StreamState& stream) noexcept {
  const std::lock_guard preparing(stream.prepare_mutex);
  if (stream.prepared.load(std::memory_order_acquire) != nullptr) return;
  const Clock::time_point now = Clock::now();
  if (now < stream.retry_at) return;
  std::optional<std::filesystem::path> spare;
  {
    const std::lock_guard guard(stream.work_mutex);
    if (stream.closing) return;
    if (options_.recycle) spare = std::exchange(stream.spare, std::nullopt);
  }
  const std::uint64_t first = stream.next_first;
  std::unique_ptr<Segment> ready;
  try {
    if (spare) {
      ready = recycle_segment(*spare, stream.directory, first, stream.capacity, options_.prefault, live());
      if (ready) {
        stream.segments_recycled.fetch_add(1, std::memory_order_relaxed);
      } else {
        stream.recycles_refused.fetch_add(1, std::memory_order_relaxed);
        ::unlink(spare->c_str());  // a reader holds it: make a new one instead
      }
    }
    if (!ready) ready = create_segment(stream.directory, first, stream.capacity, options_.prefault, live());
    stream.retry_backoff = std::chrono::milliseconds(0);
  } catch (const Error& e) {
    stream.prepare_failures.fetch_add(1, std::memory_order_relaxed);
    stream.retry_backoff = std::clamp(stream.retry_backoff * 2, first_retry_backoff, max_retry_backoff);
    stream.retry_at = now + stream.retry_backoff;
    if (spare) ::unlink(spare->c_str());
    const std::lock_guard guard(stream.work_mutex);
    stream.record_failure_locked(e);
    return;
  } catch (...) {
    record_failure(problem(ErrorKind::io, "prepare", stream.directory, "preparing a segment failed unexpectedly",
                           "report this as a bug"));
    return;
  }
  const std::lock_guard guard(stream.work_mutex);
  if (stream.closing) return;  // the writer is gone; the empty segment stays for the next one
  stream.next_first = first + stream.capacity;
  // Release: the writer that takes it sees the mapping and its state complete.
  stream.prepared.store(ready.release(), std::memory_order_release);
}

// The stream's durable count after the current segment's pass: every older
// segment is closed (its last pass done) unless the writer rolled meanwhile,
// which a retired segment in the stack shows (the writer pushes the full
// segment before it publishes the next as current): then it waits.
void raise_durable(StreamState& stream, const Segment& current) noexcept {
  // Acquire: see push_retired.
  if (stream.retired.load(std::memory_order_acquire) != nullptr) return;
  const std::uint64_t now = current.copy->stats().durable;
  std::uint64_t known = stream.durable.load(std::memory_order_relaxed);
  // Release: a reader that sees the count may rely on those records being on disk.
  while (now > known && !stream.durable.compare_exchange_weak(known, now, std::memory_order_release)) {
  }
}

void RecordingCore::pass_if_due(StreamState& stream) noexcept {
  const Clock::time_point now = Clock::now();
  const std::lock_guard guard(stream.work_mutex);
  if (stream.closing || now < stream.next_pass) return;
  stream.next_pass = now + options_.sync_every;
  // Full segments first (their last passes), in order; then the current one.
  if (stream.close_retired_locked()) return;
  // Acquire: the segment the writer published is complete; under work_mutex
  // it cannot be closed while we copy it.
  Segment* current = stream.current.load(std::memory_order_acquire);
  if (current == nullptr || !current->copy) return;
  try {
    current->copy->pass();
  } catch (const Error& e) {
    stream.record_failure_locked(e);
    return;
  }
  raise_durable(stream, *current);
}

void RecordingCore::close_and_retain(StreamState& stream) noexcept {
  const std::lock_guard guard(stream.work_mutex);
  if (stream.closing) return;
  (void)stream.close_retired_locked();
  stream.apply_retention_locked(options_.retain_segments, options_.recycle);
  stream.persist_dropped_locked(stream.dropped.load(std::memory_order_relaxed));
}

void RecordingCore::retain_bytes(const std::vector<std::shared_ptr<StreamState>>& streams) noexcept {
  for (;;) {
    std::uint64_t total = 0;
    StreamState* oldest = nullptr;
    std::uint64_t oldest_timestamp = 0;
    for (const std::shared_ptr<StreamState>& stream : streams) {
      const std::lock_guard guard(stream->work_mutex);
      if (stream->closing) continue;
      // The current segment and one prepared ahead always count, prepared
      // yet or not: a preparation never takes the recording over budget.
      const std::uint64_t files = stream->closed.size() + 2;
      total += files * format::file_bytes(stream->capacity);
      if (!stream->closed.empty() && (oldest == nullptr || stream->closed.front().last_timestamp < oldest_timestamp)) {
        oldest = stream.get();
        oldest_timestamp = stream->closed.front().last_timestamp;
      }
    }
    if (total <= options_.retain_bytes || oldest == nullptr) return;
    const std::lock_guard guard(oldest->work_mutex);
    if (oldest->closing || !oldest->retire_oldest_locked(options_.recycle)) return;
  }
}

void RecordingCore::run() noexcept {
  for (;;) {
    {
      std::unique_lock lock(wake_mutex_);
      if (stopping_) return;
    }
    std::vector<std::shared_ptr<StreamState>> streams;
    try {
      streams = snapshot();
    } catch (...) {
      // Out of memory for a copy of the list: try again after a pause.
    }
    // Preparing first: a writer may be waiting for it; closing can wait.
    for (const std::shared_ptr<StreamState>& stream : streams) prepare(*stream);
    if (live_) {
      for (const std::shared_ptr<StreamState>& stream : streams) pass_if_due(*stream);
    }
    for (const std::shared_ptr<StreamState>& stream : streams) close_and_retain(*stream);
    if (options_.retain_bytes != 0) retain_bytes(streams);
    streams.clear();  // a writer's state goes when its writer does, not at our next poll

    std::unique_lock lock(wake_mutex_);
    if (!wake_requested_ && !stopping_) {
      wake_cv_.wait_for(lock, poll_interval, [this] { return wake_requested_ || stopping_; });
    }
    wake_requested_ = false;
  }
}

void RecordingCore::sync_all() {
  std::optional<Error> first_failure;
  for (const std::shared_ptr<StreamState>& stream : snapshot()) {
    const std::lock_guard guard(stream->work_mutex);
    if (stream->closing) continue;
    if (std::optional<Error> failed = stream->close_retired_locked(); failed && !first_failure) {
      first_failure = std::move(failed);
    }
    stream->apply_retention_locked(options_.retain_segments, options_.recycle);
    // Acquire: the segment the writer published is complete; under
    // work_mutex it cannot be closed while we sync it.
    if (Segment* current = stream->current.load(std::memory_order_acquire); current != nullptr) {
      try {
        sync_segment(*current);
        if (current->copy) raise_durable(*stream, *current);
      } catch (const Error& e) {
        if (!first_failure) first_failure = e;
      }
    }
    if (std::optional<Error> unreported = stream->take_unreported_locked(); unreported && !first_failure) {
      first_failure = std::move(unreported);
    }
  }
  {
    const std::lock_guard guard(error_mutex_);
    if (std::optional<Error> unreported = std::exchange(unreported_, std::nullopt); unreported && !first_failure) {
      first_failure = std::move(unreported);
    }
  }
  if (options_.retain_bytes != 0) retain_bytes(snapshot());
  if (first_failure) throw *first_failure;
}

}  // namespace detail

// --- Recording ------------------------------------------------------------------

Recording::Recording(std::shared_ptr<detail::RecordingCore> core) noexcept : core_(std::move(core)) {}
Recording::Recording(Recording&&) noexcept = default;
Recording& Recording::operator=(Recording&&) noexcept = default;
Recording::~Recording() = default;

Recording Recording::open(const std::filesystem::path& dir, const RecordingOptions& options) {
  detail::validate_capacity(options.segment_capacity, dir, "segment");
  struct stat status {};
  if (::stat(dir.c_str(), &status) == 0) {
    if (!S_ISDIR(status.st_mode)) {
      throw detail::problem(ErrorKind::not_a_recording, "open", dir, "the path exists and is not a directory",
                            "pass a directory for the recording (a new or empty one to create it)");
    }
  } else if (errno == ENOENT) {
    detail::make_directory(dir, "create", "create the parent directory `" + dir.parent_path().string() + "` first");
  } else {
    throw detail::io_error("open", dir, "stat", errno);
  }

  RecordingOptions effective = options;
  const detail::RecordingMetadata wanted{.layout_version = detail::layout_version,
                                         .segment_capacity = options.segment_capacity,
                                         .retain_segments = options.retain_segments,
                                         .retain_bytes = options.retain_bytes};
  std::optional<detail::RecordingMetadata> metadata = detail::read_metadata(dir, /*missing_ok=*/true);
  if (!metadata) {
    if (detail::has_visible_entries(dir)) {
      throw detail::problem(ErrorKind::not_a_recording, "open", dir,
                            "the directory is not empty and has no " + std::string(detail::metadata_file_name),
                            "pass a new or empty directory to create a recording, or the directory of an "
                            "existing one");
    }
    if (!detail::create_metadata(dir, wanted)) metadata = detail::read_metadata(dir, /*missing_ok=*/false);
  }
  if (metadata) {
    if (metadata->segment_capacity == 0) {
      throw detail::problem(ErrorKind::not_a_recording, "open", dir / detail::metadata_file_name,
                            "the metadata has no segment-capacity line",
                            "add a `segment-capacity N` line with the capacity of the stream's segments");
    }
    effective.segment_capacity = metadata->segment_capacity;  // fixed at creation, as a log's capacity
    detail::RecordingMetadata updated = wanted;
    updated.segment_capacity = metadata->segment_capacity;
    if (updated != *metadata) detail::write_metadata(dir, updated);  // the retention now in force
  }
  std::optional<std::filesystem::path> live;
  if (options.sync_every < std::chrono::nanoseconds::zero()) {
    throw detail::io_error("open", dir, "RecordingOptions::sync_every (negative)", EINVAL,
                           "pass a positive interval, or zero to make streams durable only when sync() is called");
  }
  if (options.sync_every > std::chrono::nanoseconds::zero()) {
    live = detail::usable_live_directory(options.live_directory.native(), dir);
  }
  auto core = std::make_shared<detail::RecordingCore>(dir, effective, std::move(live));
  core->start();
  return Recording(std::move(core));
}

StreamWriter Recording::stream(std::string_view name) {
  detail::RecordingCore::OpenedStream opened = core_->open_stream(name);
  StreamWriter writer(core_, std::move(opened.state), opened.current);
  writer.dropped_ = opened.dropped;
  return writer;
}

void Recording::sync() { core_->sync_all(); }
const std::filesystem::path& Recording::path() const noexcept { return core_->path(); }
const RecordingOptions& Recording::options() const noexcept { return core_->options(); }
std::optional<Error> Recording::last_error() const { return core_->last_error(); }

// --- StreamWriter ----------------------------------------------------------------

StreamWriter::StreamWriter(std::shared_ptr<detail::RecordingCore> core, std::shared_ptr<detail::StreamState> state,
                           detail::Segment* current) noexcept
    : hot_(current->state),
      current_(current),
      state_(std::move(state)),
      core_(std::move(core)),
      scratch_(std::make_unique<detail::ScratchRing>()) {}

StreamWriter::StreamWriter(StreamWriter&& other) noexcept
    : hot_(std::exchange(other.hot_, detail::AppendState{})),
      current_(std::exchange(other.current_, nullptr)),
      state_(std::move(other.state_)),
      core_(std::move(other.core_)),
      scratch_(std::move(other.scratch_)),
      resume_count_(other.resume_count_),
      dropped_(other.dropped_),
      rolls_(other.rolls_),
      rolls_waited_(other.rolls_waited_),
      drop_episodes_(other.drop_episodes_) {}

StreamWriter& StreamWriter::operator=(StreamWriter&& other) noexcept {
  if (this != &other) {
    close();
    hot_ = std::exchange(other.hot_, detail::AppendState{});
    current_ = std::exchange(other.current_, nullptr);
    state_ = std::move(other.state_);
    core_ = std::move(other.core_);
    scratch_ = std::move(other.scratch_);
    resume_count_ = other.resume_count_;
    dropped_ = other.dropped_;
    rolls_ = other.rolls_;
    rolls_waited_ = other.rolls_waited_;
    drop_episodes_ = other.drop_episodes_;
  }
  return *this;
}

StreamWriter::~StreamWriter() { close(); }

void StreamWriter::install(detail::Segment* segment) noexcept {
  current_ = segment;
  hot_ = segment->state;
  // Release: Recording::sync, loading it with acquire, sees the segment complete.
  state_->current.store(segment, std::memory_order_release);
  ++rolls_;
}

bool StreamWriter::take_prepared() noexcept {
  // Acquire: pairs with the background thread's release store; the segment's
  // mapping and header are complete.
  detail::Segment* next = state_->prepared.exchange(nullptr, std::memory_order_acquire);
  if (next == nullptr) return false;
  install(next);
  return true;
}

detail::Segment* StreamWriter::await_prepared() noexcept {
  core_->wake();
  const auto deadline = std::chrono::steady_clock::now() + core_->options().roll_timeout;
  for (unsigned attempt = 0;; ++attempt) {
    // Acquire: as take_prepared.
    if (detail::Segment* next = state_->prepared.exchange(nullptr, std::memory_order_acquire)) return next;
    if (std::chrono::steady_clock::now() >= deadline) return nullptr;
    detail::nap(attempt);
  }
}

bool StreamWriter::wait_for_prepared() noexcept {
  ++rolls_waited_;
  detail::Segment* next = await_prepared();
  if (next == nullptr) return false;
  install(next);
  return true;
}

void StreamWriter::enter_scratch() noexcept {
  ++drop_episodes_;
  hot_ = scratch_->state();
}

void StreamWriter::roll() noexcept {
  if (current_ == nullptr) {
    // A scratch lap is full: those appends are dropped. Try to resume.
    dropped_ += detail::scratch_slots;
    state_->dropped.store(dropped_, std::memory_order_relaxed);
    detail::wrap_lap(hot_);
    (void)take_prepared();
    return;
  }
  // The current segment is full: it goes to the background thread to close.
  resume_count_ = hot_.appended();
  state_->current.store(nullptr, std::memory_order_relaxed);
  state_->push_retired(std::exchange(current_, nullptr));
  if (take_prepared() || wait_for_prepared()) return;
  enter_scratch();
}

void StreamWriter::skip_within(std::uint64_t target) noexcept {
  // Every skipped slot reads as empty: a recycled or reopened segment may
  // hold an older record past its cursor, which the new cursor must not
  // bring back. Relaxed stores: publish_cursor's release orders them before
  // the cursor for any reader that loads it with acquire.
  const std::uint64_t end_slot = target - hot_.lap_start;
  for (std::uint64_t slot = hot_.next_slot; slot < end_slot; ++slot) {
    detail::atomic_word<std::uint32_t>(hot_.records + slot * format::record_bytes + format::record_offset::magic)
        .store(format::empty_record_magic, std::memory_order_relaxed);
  }
  detail::publish_cursor(hot_.header_cursor, target);
  hot_.next_slot = end_slot;
}

// The skip never leaves the stream in a state a killed writer could not
// leave: the segment holding the last skipped sequence is made (or taken)
// first, with the cursor at its first sequence (a reader sees it as
// prepared ahead); then the current segment's cursor moves to its end (a
// full segment with empty slots: lost), and only then the new segment's.
// A kill between the steps leaves a prefix of the skip.
void StreamWriter::skip(std::uint64_t count) {
  if (!state_ || count == 0) return;
  if (core_->options().sync_every > std::chrono::nanoseconds::zero()) {
    // The jump below makes a segment and drops the prepared one without
    // their in-memory twins; a writer copying a stream has no use for them.
    throw detail::problem(ErrorKind::io, "skip", state_->directory,
                          "StreamWriter::skip does not work with RecordingOptions::sync_every",
                          "open the recording that copies a stream without sync_every, and sync() it at the end");
  }
  const std::uint64_t capacity = state_->capacity;
  const std::uint64_t from = appended();
  if (count > format::max_cursor - from) {
    throw detail::problem(ErrorKind::capacity_overflow, "skip", state_->directory,
                          "skipping " + std::to_string(count) + " sequences after " + std::to_string(from) +
                              " would take the count of stream `" + state_->name +
                              "` past format::max_cursor (2^61)",
                          "skip what was really lost: a count this large is damage, not a loss");
  }
  const std::uint64_t target = from + count;
  const std::uint64_t holder = (target - 1) - (target - 1) % capacity;  // the segment of the last skipped sequence
  if (current_ != nullptr && holder == current_->first) {
    skip_within(target);
    if (hot_.next_slot == capacity) roll();
    return;
  }

  // The skip leaves the current segment, or (dropping) starts where it ended.
  const std::uint64_t next = current_ != nullptr ? current_->first + capacity : from;
  detail::Segment* into = nullptr;
  if (holder == next) {
    // The segment prepared ahead, waited for as a roll waits (nothing changed yet if it never comes).
    into = await_prepared();
    if (into == nullptr) {
      throw detail::problem(ErrorKind::io, "skip", state_->directory,
                            "no segment of stream `" + state_->name + "` was ready within the roll timeout",
                            "check the recording's last_error() (a full disk?) and skip again");
    }
  } else {
    // Segments [next, holder) would hold skipped sequences only: they are
    // never made (a gap), and the one prepared at `next` is deleted.
    const std::lock_guard preparing(state_->prepare_mutex);
    std::unique_ptr<detail::Segment> made =
        detail::create_segment(state_->directory, holder, capacity, core_->options().prefault);
    // Acquire: the background thread's segment is complete before we unmap it.
    if (detail::Segment* ahead = state_->prepared.exchange(nullptr, std::memory_order_acquire)) {
      const std::filesystem::path unused = ahead->file->path();
      delete ahead;
      ::unlink(unused.c_str());  // empty: were the unlink lost, it reads as a segment prepared ahead
    }
    state_->next_first = holder + capacity;
    into = made.release();
  }

  if (current_ != nullptr) {
    skip_within(next);
    resume_count_ = next;
    state_->current.store(nullptr, std::memory_order_relaxed);
    state_->push_retired(std::exchange(current_, nullptr));
  } else {
    dropped_ += hot_.next_slot;  // the scratch lap's appends so far were dropped
    state_->dropped.store(dropped_, std::memory_order_relaxed);
  }
  install(into);
  skip_within(target);
  core_->wake();
  if (hot_.next_slot == capacity) roll();
}

void StreamWriter::sync() {
  if (!state_) return;
  std::optional<Error> first_failure;
  {
    const std::lock_guard guard(state_->work_mutex);
    first_failure = state_->close_retired_locked();
    state_->apply_retention_locked(core_->options().retain_segments, core_->options().recycle);
    if (current_ != nullptr) {
      try {
        detail::sync_segment(*current_);
        if (current_->copy) detail::raise_durable(*state_, *current_);
      } catch (const Error& e) {
        if (!first_failure) first_failure = e;
      }
    }
    state_->persist_dropped_locked(dropped());
    if (std::optional<Error> unreported = state_->take_unreported_locked(); unreported && !first_failure) {
      first_failure = std::move(unreported);
    }
  }
  if (first_failure) throw *first_failure;
}

void StreamWriter::close() noexcept {
  if (!state_) return;
  core_->remove_stream(state_.get());
  {
    const std::uint64_t dropped_total = dropped();
    const std::lock_guard preparing(state_->prepare_mutex);
    const std::lock_guard guard(state_->work_mutex);
    state_->closing = true;
    state_->current.store(nullptr, std::memory_order_relaxed);
    delete std::exchange(current_, nullptr);  // unmapped, not synced (as RingLog)
    (void)state_->close_retired_locked();
    delete state_->prepared.exchange(nullptr, std::memory_order_acquire);  // stays on disk, empty: reused later
    state_->persist_dropped_locked(dropped_total);
    struct stat status {};
    if (::fstat(state_->lock_file.get(), &status) == 0) {
      detail::HeldStreams::instance().remove(status.st_dev, status.st_ino);
    }
    state_->lock = detail::WriterLock{};
    state_->lock_file.reset();
  }
  state_.reset();
  core_.reset();
  scratch_.reset();
  hot_ = detail::AppendState{};
}

std::uint64_t StreamWriter::appended() const noexcept {
  return current_ != nullptr ? hot_.appended() : resume_count_;
}

std::uint64_t StreamWriter::durable() const noexcept {
  // Acquire: pairs with raise_durable's release.
  return state_ ? state_->durable.load(std::memory_order_acquire) : 0;
}

std::uint64_t StreamWriter::dropped() const noexcept {
  return dropped_ + (current_ == nullptr && state_ ? hot_.next_slot : 0);
}

StreamStats StreamWriter::stats() const noexcept {
  return {.rolls = rolls_,
          .rolls_waited = rolls_waited_,
          .drop_episodes = drop_episodes_,
          .dropped = dropped(),
          .prepare_failures = state_ ? state_->prepare_failures.load(std::memory_order_relaxed) : 0,
          .segments_recycled = state_ ? state_->segments_recycled.load(std::memory_order_relaxed) : 0,
          .recycles_refused = state_ ? state_->recycles_refused.load(std::memory_order_relaxed) : 0,
          .segments_removed = state_ ? state_->segments_removed.load(std::memory_order_relaxed) : 0};
}

const std::string& StreamWriter::name() const noexcept {
  static const std::string none;
  return state_ ? state_->name : none;
}

std::optional<Error> StreamWriter::last_error() const {
  if (!state_) return std::nullopt;
  const std::lock_guard guard(state_->work_mutex);
  return state_->last_error;
}

}  // namespace vrrl
