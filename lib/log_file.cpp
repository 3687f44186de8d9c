#include "log_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <optional>
#include <string>
#include <utility>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/file_mapping.hpp>

#include <vrrl/detail/atomic_word.hpp>
#include <vrrl/header.hpp>
#include <vrrl/slot_state.hpp>

#include "create_log.hpp"
#include "errors.hpp"

namespace vrrl::detail {
namespace {

namespace bip = boost::interprocess;

std::string describe_file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

// Reads the header's bytes at offset 0 (up to header_read_bytes: enough for
// either format), retrying short reads; at least the 32 bytes both formats
// share, or the file is truncated.
std::size_t read_header_bytes(int fd, std::array<std::byte, header_read_bytes>& bytes,
                              const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw io_error("open", path, "pread of the header", errno);
    }
    if (got == 0) {
      if (done >= format::header_bytes) break;
      throw problem(ErrorKind::truncated, "open", path, "the file ended inside its 32-byte header",
                    "the file is not a complete VRRL log; regenerate it");
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

// A log someone else created may be sparse (the seed sizes files with
// set_len): reserve its blocks now, so that a full disk fails at open rather
// than as SIGBUS inside append(). Cheap on a file whose blocks are allocated.
void reserve_blocks(int fd, std::uint64_t bytes, const std::filesystem::path& path) {
  const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (err == 0) return;
  std::string fix;
  if (err == ENOSPC || err == EDQUOT) {
    fix = "the log is sparse (created without reserving its blocks, as the Rust seed does) and the "
          "filesystem cannot hold it: free at least " +
          std::to_string(bytes) + " bytes there, or copy the log to a filesystem with room";
  }
  throw io_error("open", path, "posix_fallocate of " + std::to_string(bytes) + " bytes", err, fix);
}

// OpenOptions::prefault for a writer. MAP_POPULATE alone is not enough: it maps
// the pages of a shared file mapping read-only (the kernel tracks which pages
// get dirty), so on ext4/xfs the first store to each page still takes a write
// fault (page_mkwrite, block allocation). MADV_POPULATE_WRITE (Linux 5.14)
// takes those write faults here; older kernels answer EINVAL and keep the
// read-only prefault (best effort, not an error). It marks every page dirty, so
// the next sync() writes the whole file. The read of one byte per page then
// loads each translation from user space, which is what removes the remaining
// first-touch cost under shadow-paging hypervisors.
void prefault_for_writing(const bip::mapped_region& region) noexcept {
#ifdef MADV_POPULATE_WRITE
  (void)::madvise(region.get_address(), region.get_size(), MADV_POPULATE_WRITE);
#endif
  constexpr std::size_t page_bytes = 4096;  // the smallest page size; larger pages are touched more than once
  const auto* bytes = static_cast<const volatile unsigned char*>(region.get_address());
  for (std::size_t at = 0; at < region.get_size(); at += page_bytes) (void)bytes[at];
}

// A reader of a sparse log (the seed creates them): on tmpfs a read fault on a
// hole allocates a page, and when the filesystem is full that fault is a
// SIGBUS. Fault the holes in here instead (MADV_POPULATE_READ reports what a
// fault would have signalled), so a full filesystem is an error at open.
bool has_holes(int fd, std::uint64_t bytes) noexcept {
  const off_t hole = ::lseek(fd, 0, SEEK_HOLE);
  return hole >= 0 && static_cast<std::uint64_t>(hole) < bytes;
}

void populate_holes_for_reading(const bip::mapped_region& region, const std::filesystem::path& path) {
#ifdef MADV_POPULATE_READ
  if (::madvise(region.get_address(), region.get_size(), MADV_POPULATE_READ) != 0 && errno != EINVAL) {
    throw io_error("map", path, "madvise(MADV_POPULATE_READ) of a sparse log", errno,
                   "the log is sparse (created without reserving its blocks, as the Rust seed does) and its holes "
                   "cannot be read on this filesystem now (tmpfs needs free memory for them): free space there, "
                   "or copy the log elsewhere with `cp --sparse=never`");
  }
#else
  (void)region;
  (void)path;
#endif
}

}  // namespace

LogFile::LogFile(std::filesystem::path path, FileDescriptor file, WriterLock lock, format::Layout layout,
                 std::uint64_t capacity, std::uint64_t file_size, boost::interprocess::mapped_region region) noexcept
    : path_(std::move(path)),
      file_(std::move(file)),
      lock_(std::move(lock)),
      layout_(layout),
      capacity_(capacity),
      file_size_(file_size),
      region_(std::move(region)) {}

std::unique_ptr<LogFile> LogFile::open_writer(const std::filesystem::path& path, std::uint64_t capacity,
                                              const OpenOptions& options) {
  validate_capacity(capacity, path, "requested");
  // Background durability belongs to RingLog::open (lib/write_behind.cpp);
  // any other writer that reaches here with it would silently not have it.
  if (options.sync_every != std::chrono::nanoseconds::zero()) {
    throw io_error("open", path, "OpenOptions::sync_every with this writer", EINVAL,
                   "only vrrl::RingLog::open makes records durable in the background; open the log with it, or "
                   "leave sync_every at zero and call sync()");
  }
  // Two rounds at most: if another process creates the file between our
  // failed open and our link, the second round opens theirs.
  for (int round = 0; round < 2; ++round) {
    // O_NONBLOCK: opening a fifo must not hang; it is rejected after fstat.
    FileDescriptor file(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (file.valid()) {
      return map_existing(path, std::move(file), WriterLock{}, Access::read_write, options);
    }
    if (errno == EISDIR) {
      throw problem(ErrorKind::not_a_log_file, "open", path, "the path is a directory",
                    "pass the path of a log file, e.g. `" + (path / "dispatch.vrrl").string() + "`");
    }
    if (errno != ENOENT) throw io_error("open", path, "open for writing", errno);
    // Missing, or a symbolic link to something missing: create what open(2)
    // would have created, as the seed does.
    const std::filesystem::path target = resolve_symlinks(path);
    if (const std::filesystem::path parent = target.parent_path();
        !parent.empty() && !std::filesystem::is_directory(parent)) {
      throw io_error("create", path, "open", ENOENT,
                     "the directory `" + parent.string() + "` does not exist; create it first");
    }
    if (std::optional<CreatedLog> created = create_log(target, capacity, options.format)) {
      return map_existing(path, std::move(created->file), std::move(created->lock), Access::read_write, options);
    }
  }
  throw io_error("open", path, "open", EEXIST,
                 "another process created and removed the file while this one opened it; retry");
}

std::unique_ptr<LogFile> LogFile::create_writer(const std::filesystem::path& path, std::uint64_t capacity,
                                                std::uint64_t cursor, const OpenOptions& options) {
  validate_capacity(capacity, path, "requested");
  std::optional<CreatedLog> created = create_log(path, capacity, options.format, cursor);
  if (!created) {
    throw io_error("create", path, "link into place", EEXIST,
                   "a file with this name exists already; it is not the one this writer meant to create");
  }
  return map_existing(path, std::move(created->file), std::move(created->lock), Access::read_write, options);
}

std::unique_ptr<LogFile> LogFile::open_reader(const std::filesystem::path& path, bool populate) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file.valid()) {
    const int error = errno;
    // A reader never creates a log, so "create the directory" would be the wrong hint.
    throw io_error("open", path, "open for reading", error,
                   error == ENOENT ? "check the path; no log exists there yet (a writer creates it with "
                                     "vrrl::RingLog::open)"
                                   : std::string{});
  }
  return map_existing(path, std::move(file), WriterLock{}, Access::read_only, OpenOptions{.prefault = populate});
}

std::unique_ptr<LogFile> LogFile::map_existing(const std::filesystem::path& path, FileDescriptor file,
                                               WriterLock lock, Access access, const OpenOptions& options) {
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw io_error("open", path, "fstat", errno);
  if (!S_ISREG(status.st_mode)) {
    throw problem(ErrorKind::not_a_log_file, "open", path, "the path is " + describe_file_type(status.st_mode),
                  "pass the path of a VRRL log file");
  }
  if (access == Access::read_write && !lock.held()) {
    lock = WriterLock::acquire(file.get(), path);
  }

  const auto size = static_cast<std::uint64_t>(status.st_size);
  if (size < format::header_bytes) {
    throw problem(ErrorKind::truncated, "open", path,
                  "the file is " + std::to_string(size) + " bytes, shorter than the 32-byte VRRL header",
                  "this is not a complete VRRL log; delete it or restore it from a complete copy");
  }
  std::array<std::byte, header_read_bytes> header_bytes{};
  const std::size_t header_read = read_header_bytes(file.get(), header_bytes, path);
  const LogHeader header = decode_header(std::span<const std::byte>(header_bytes.data(), header_read));
  if (const std::optional<HeaderProblem> wrong = check_header(header, size)) {
    throw problem(wrong->kind, "open", path, wrong->what_is_wrong, wrong->fix);
  }
  const format::Layout layout = format::layout_of(*header.format());
  const std::uint64_t needed = layout.file_bytes(header.capacity);
  if (access == Access::read_write) reserve_blocks(file.get(), needed, path);

  const auto mode = access == Access::read_write ? bip::read_write : bip::read_only;
  try {
    // Boost maps through its own descriptor, opened by path; make sure it is
    // the file we validated and locked, not one renamed into place meanwhile.
    const bip::file_mapping mapping(path.c_str(), mode);
    struct stat mapped_status {};
    if (::fstat(mapping.get_mapping_handle().handle, &mapped_status) != 0) {
      throw io_error("map", path, "fstat", errno);
    }
    if (mapped_status.st_dev != status.st_dev || mapped_status.st_ino != status.st_ino) {
      throw io_error("map", path, "open", ESTALE, "the file was replaced while opening; retry");
    }
    const bip::map_options_t map_options = options.prefault ? MAP_POPULATE : bip::default_map_options;
    bip::mapped_region region(mapping, mode, 0, static_cast<std::size_t>(needed), nullptr, map_options);
    if (options.prefault && access == Access::read_write) prefault_for_writing(region);
    if (access == Access::read_only && has_holes(file.get(), needed)) populate_holes_for_reading(region, path);
    auto log = std::unique_ptr<LogFile>(
        new LogFile(path, std::move(file), std::move(lock), layout, header.capacity, size, std::move(region)));
    if (access == Access::read_write && log->load_cursor() >= format::max_cursor) {
      // Damage, not a count (format::max_cursor): restart from the slot it
      // names, so that no count can run into the arithmetic limits.
      publish_cursor(log->header_cursor(), log->load_cursor() % log->capacity());
    }
    if (access == Access::read_write && layout.format == Format::v2) log->clear_records_beyond_cursor();
    return log;
  } catch (const bip::interprocess_exception& e) {
    const int native = e.get_native_error();
    throw io_error("map", path, std::string("mapping (") + e.what() + ")", native != 0 ? native : EIO);
  }
}

std::uint64_t* LogFile::header_cursor() const noexcept {
  // The mapping is page aligned and the cursor sits at offset 24: aligned for
  // std::atomic_ref<std::uint64_t>.
  return std::launder(reinterpret_cast<std::uint64_t*>(base() + format::header_offset::cursor));
}

std::uint64_t LogFile::load_cursor() const noexcept {
  // Acquire: pairs with the writer's release store of the cursor, so the
  // bodies of the records before it are visible to us.
  return atomic_word<std::uint64_t>(base() + format::header_offset::cursor).load(std::memory_order_acquire);
}

std::uint32_t LogFile::flags() const noexcept {
  return atomic_word<std::uint32_t>(base() + format::header_offset::flags).load(std::memory_order_relaxed);
}

std::uint64_t LogFile::synced() const noexcept {
  if (layout_.format != Format::v2) return 0;
  return atomic_word<std::uint64_t>(base() + format::header_offset::synced).load(std::memory_order_acquire);
}

void LogFile::clear_records_beyond_cursor() noexcept {
  const std::uint64_t cursor = load_cursor();
  for (std::uint64_t slot = 0; slot < capacity_; ++slot) {
    std::byte* const record = records() + slot * format::record_bytes;
    const std::uint32_t commit = atomic_word<std::uint32_t>(record).load(std::memory_order_relaxed);
    if (commit == format::empty_record_magic) continue;
    if (v2_slot_state(record, slot, cursor, capacity_, synced()) == SlotState::beyond_cursor) {
      atomic_word<std::uint32_t>(record).store(format::empty_record_magic, std::memory_order_release);
    }
  }
}

void LogFile::set_flag(std::uint32_t flag) noexcept {
  // Release: a reader that sees the flag sees the records written before it.
  atomic_word<std::uint32_t>(base() + format::header_offset::flags).fetch_or(flag, std::memory_order_release);
}

AppendState LogFile::append_state() const noexcept {
  const std::uint64_t appended = load_cursor();
  return {.records = records(),
          .header_cursor = header_cursor(),
          .capacity = capacity_,
          .lap_start = appended - appended % capacity_,
          .next_slot = appended % capacity_,
          .format = layout_.format};
}

void LogFile::check_not_shrunk(const char* operation) const {
  struct stat status {};
  if (::fstat(file_.get(), &status) != 0) throw io_error(operation, path_, "fstat", errno);
  const std::uint64_t needed = layout_.file_bytes(capacity_);
  if (static_cast<std::uint64_t>(status.st_size) < needed) {
    throw problem(ErrorKind::truncated, operation, path_,
                  "the file shrank to " + std::to_string(status.st_size) + " bytes while open; its " +
                      std::to_string(capacity_) + " slots need " + std::to_string(needed) + " bytes",
                  "another process truncated the log (vrrl's lock is advisory); stop it, close this "
                  "log without appending (append() would SIGBUS) and restore the file");
  }
}

ReplayRange LogFile::replay(Recovery recovery) const {
  // A size check, not a SIGBUS guard: a shrink between this fstat and the
  // walk can still fault (docs/design.md, "Faults and guarantees").
  check_not_shrunk("replay");
  return ReplayRange(records(), capacity_, load_cursor(), layout_.format, recovery, &path_);
}

std::vector<RecordedSlot> LogFile::replay_all() const {
  std::vector<RecordedSlot> records;
  records.reserve(static_cast<std::size_t>(capacity_));
  for (RecordView record : replay(Recovery::strict)) records.push_back(record.slot());
  return records;
}

void LogFile::sync() {
  check_not_shrunk("sync");
  // v2: what this sync makes durable; recorded in the header once it has.
  const std::uint64_t syncing = load_cursor();
  // async=false is MS_SYNC. Boost's default (MS_ASYNC) schedules nothing on Linux.
  if (!region_.flush(0, region_.get_size(), /*async=*/false)) {
    throw io_error("sync", path_, "msync(MS_SYNC)", errno,
                   "records appended since the last successful sync() may be lost (the kernel may have "
                   "dropped the dirty pages); check the device and free space, then verify the log");
  }
  if (layout_.format == Format::v2 && lock_.held()) {
    // Release: a reader that sees this count sees the header that goes with it.
    // It reaches the disk with the next sync (or writeback): the field never
    // claims more than a completed sync made durable.
    atomic_word<std::uint64_t>(base() + format::header_offset::synced).store(syncing, std::memory_order_release);
  }
}

}  // namespace vrrl::detail
