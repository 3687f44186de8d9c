#include "recording_stream.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <vrrl/detail/atomic_word.hpp>
#include <vrrl/detail/publish.hpp>

#include "errors.hpp"

namespace vrrl::detail {
namespace {

constexpr std::size_t header_page_bytes = 4096;

// Renames `from` to `to` unless `to` exists. renameat2(RENAME_NOREPLACE)
// where the filesystem has it, else link + unlink (same guarantee).
void rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) throw io_error("recycle", to, "rename from `" + from.string() + "`", errno);
  if (::link(from.c_str(), to.c_str()) != 0) throw io_error("recycle", to, "link from `" + from.string() + "`", errno);
  ::unlink(from.c_str());
}

std::uint64_t last_timestamp_in(const LogFile& file, std::uint64_t first) noexcept {
  const std::uint64_t cursor = file.load_cursor();
  for (std::uint64_t slot = cursor > first ? cursor - first : 0; slot-- > 0;) {
    const std::byte* record = file.records() + slot * format::record_bytes;
    if (atomic_word<std::uint32_t>(record + format::record_offset::magic).load(std::memory_order_acquire) ==
        format::record_magic) {
      return RecordView(record).timestamp_ns();
    }
  }
  return 0;
}

}  // namespace

namespace {

// sync_every: the segment's twin and copy; appends go to the twin.
void attach_twin(Segment& segment, bool prefault, LiveDirectory live) {
  if (live == nullptr) return;
  (void)prefault;  // the twin is always prefaulted: tmpfs pages never fault again after that
  DurableCopy::Attached attached = DurableCopy::attach(*segment.file, *live);
  segment.state = attached.live->append_state();
  segment.twin = std::move(attached.live);
  segment.copy = std::move(attached.copy);
}

}  // namespace

std::unique_ptr<Segment> open_segment(const SegmentFile& segment, std::uint64_t capacity, bool prefault,
                                      LiveDirectory live) {
  // With a twin, the file itself is only read and written with pread/pwrite.
  auto file = LogFile::open_writer(segment.path, capacity, {.prefault = prefault && live == nullptr});
  if (file->format() != Format::v1) {
    throw problem(ErrorKind::header_mismatch, "open", segment.path,
                  "the segment is a VRRL v2 log; recordings hold VRRL v1 segments",
                  "move it out of the stream directory");
  }
  if (file->capacity() != capacity) {
    throw problem(ErrorKind::header_mismatch, "open", segment.path,
                  "the segment has capacity " + std::to_string(file->capacity()) + ", the recording's is " +
                      std::to_string(capacity),
                  "the segment does not belong to this recording; move it out of the stream directory");
  }
  auto opened = std::make_unique<Segment>();
  opened->state = file->append_state();
  opened->file = std::move(file);
  opened->first = segment.first;
  attach_twin(*opened, prefault, live);
  return opened;
}

std::unique_ptr<Segment> create_segment(const std::filesystem::path& stream_dir, std::uint64_t first,
                                        std::uint64_t capacity, bool prefault, LiveDirectory live) {
  const SegmentFile segment{first, stream_dir / segment_file_name(first)};
  try {
    auto created = std::make_unique<Segment>();
    created->file = LogFile::create_writer(segment.path, capacity, first, {.prefault = prefault && live == nullptr});
    created->state = created->file->append_state();
    created->first = first;
    attach_twin(*created, prefault, live);
    return created;
  } catch (const Error& e) {
    if (e.errno_value() != EEXIST) throw;
    // An earlier preparation may have linked it and then failed to map it.
    const std::optional<SegmentHeader> header = read_segment_header(segment, capacity);
    if (!header || header->cursor != first) throw;
    return open_segment(segment, capacity, prefault, live);
  }
}

std::unique_ptr<Segment> recycle_segment(const std::filesystem::path& spare, const std::filesystem::path& stream_dir,
                                         std::uint64_t first, std::uint64_t capacity, bool prefault,
                                         LiveDirectory live) {
  // This descriptor's open file description holds the byte-1 write lock
  // until the function returns, i.e. until the segment has its new name.
  const FileDescriptor guard(::open(spare.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (!guard.valid()) {
    if (errno == ENOENT) return nullptr;
    throw io_error("recycle", spare, "open", errno);
  }
  if (!lock_segment_for_recycling(guard.get(), spare)) return nullptr;  // a reader has it mapped
  std::unique_ptr<LogFile> file = LogFile::open_writer(spare, capacity, {.prefault = prefault});
  if (file->capacity() != capacity || file->format() != Format::v1) return nullptr;
  // Hidden and locked: nobody reads it now. Clear every slot, then make the
  // new header durable before the segment appears under its new name, so
  // that a power cut cannot leave a file named for `first` with the old cursor.
  std::memset(file->records(), 0, static_cast<std::size_t>(capacity * format::record_bytes));
  publish_cursor(file->header_cursor(), first);
  if (::msync(file->base(), header_page_bytes, MS_SYNC) != 0) {
    throw io_error("recycle", spare, "msync(MS_SYNC) of the header page", errno);
  }
  const std::filesystem::path target = stream_dir / segment_file_name(first);
  rename_no_replace(spare, target);
  sync_directory_of(stream_dir, "recycle");
  file->renamed_to(target);
  auto recycled = std::make_unique<Segment>();
  recycled->state = file->append_state();
  recycled->file = std::move(file);
  recycled->first = first;
  attach_twin(*recycled, prefault, live);
  return recycled;
}

ClosedSegment close_segment(Segment& segment) {
  if (segment.copy) {
    // The writer has moved on: the last pass, then the file holds it all.
    if (!segment.copy->close()) (void)segment.copy->durable();  // throws the pass's error
    return ClosedSegment{segment.first, segment.file->path(), last_timestamp_in(*segment.file, segment.first)};
  }
  ClosedSegment closed{segment.first, segment.file->path(), last_timestamp_in(*segment.file, segment.first)};
  segment.file->sync();
  return closed;
}

void sync_segment(Segment& segment) {
  if (segment.copy) {
    segment.copy->pass();
  } else {
    segment.file->sync();
  }
}

void catch_up_segment(const SegmentFile& segment, std::uint64_t capacity, const std::filesystem::path& live) {
  struct stat status {};
  if (::stat(segment.path.c_str(), &status) != 0) return;
  const DiskIdentity named{.device = status.st_dev, .inode = status.st_ino, .birth_sec = 0, .birth_nsec = 0};
  if (::lstat((live / live_ring_file_name(named)).c_str(), &status) != 0) return;  // no twin: nothing to do
  std::unique_ptr<LogFile> file = LogFile::open_writer(segment.path, capacity, {.prefault = false});
  DurableCopy::Attached attached = DurableCopy::attach(*file, live);
  if (!attached.copy->close()) (void)attached.copy->durable();  // throws the pass's error
}

// --- StreamState -----------------------------------------------------------------

StreamState::StreamState(std::string stream_name, std::filesystem::path stream_directory,
                         std::uint64_t segment_capacity, FileDescriptor lock_descriptor, WriterLock writer_lock)
    : name(std::move(stream_name)),
      directory(std::move(stream_directory)),
      capacity(segment_capacity),
      lock_file(std::move(lock_descriptor)),
      lock(std::move(writer_lock)) {}

StreamState::~StreamState() {
  delete prepared.exchange(nullptr, std::memory_order_acquire);
  (void)take_retired();  // unmapped without a sync: the writer's close synced them already
}

void StreamState::push_retired(Segment* segment) noexcept {
  Segment* head = retired.load(std::memory_order_relaxed);
  do {
    segment->next_retired = head;
    // Release: whoever takes the stack sees the writer's last stores to the
    // segment's mapping (it syncs and reads it).
  } while (!retired.compare_exchange_weak(head, segment, std::memory_order_release, std::memory_order_relaxed));
}

std::vector<std::unique_ptr<Segment>> StreamState::take_retired() noexcept {
  // Acquire: pairs with push_retired's release.
  Segment* head = retired.exchange(nullptr, std::memory_order_acquire);
  std::vector<std::unique_ptr<Segment>> newest_first;
  for (; head != nullptr; head = head->next_retired) newest_first.emplace_back(head);
  return {std::make_move_iterator(newest_first.rbegin()), std::make_move_iterator(newest_first.rend())};
}

std::optional<Error> StreamState::close_retired_locked() noexcept {
  std::optional<Error> first_failure;
  for (std::unique_ptr<Segment>& segment : take_retired()) {
    try {
      closed.push_back(close_segment(*segment));
    } catch (const Error& e) {
      record_failure_locked(e);
      if (!first_failure) first_failure = e;
      closed.push_back({segment->first, segment->file->path(), 0});
    }
    segment.reset();  // munmap, and the segment's writer lock goes
  }
  return first_failure;
}

void StreamState::record_failure_locked(const Error& error) noexcept {
  last_error = error;
  if (!unreported) unreported = error;
}

bool StreamState::retire_oldest_locked(bool recycle) noexcept {
  if (closed.empty()) return false;
  const ClosedSegment victim = std::move(closed.front());
  closed.pop_front();
  segments_removed.fetch_add(1, std::memory_order_relaxed);
  if (recycle && !spare) {
    // The rename hides it from readers at once; one that has it mapped keeps
    // its mapping, and blocks the recycling with its byte-1 lock.
    std::filesystem::path hidden = directory / spare_segment_name;
    if (::rename(victim.path.c_str(), hidden.c_str()) == 0) {
      spare = std::move(hidden);
      return true;
    }
  }
  if (::unlink(victim.path.c_str()) != 0 && errno != ENOENT) {
    record_failure_locked(io_error("retention", victim.path, "unlink", errno,
                                   "check the permissions of the stream directory; retention cannot remove the "
                                   "oldest segments, so the recording grows past its limit"));
  }
  return true;
}

void StreamState::persist_dropped_locked(std::uint64_t dropped_now) noexcept {
  if (dropped_now == persisted_dropped) return;
  persisted_dropped = dropped_now;  // a failure is reported once, and retried when the count changes
  try {
    write_dropped(directory, dropped_now);
  } catch (const Error& e) {
    record_failure_locked(e);
  }
}

}  // namespace vrrl::detail
