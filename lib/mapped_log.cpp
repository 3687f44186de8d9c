#include "mapped_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/file_mapping.hpp>

#include "errors.hpp"

namespace vrrl::detail {
namespace {

namespace bip = boost::interprocess;

// A header read with pread, before anything is mapped.
struct HeaderFields {
  std::array<char, 8> magic{};
  std::uint32_t version = 0;
  std::uint32_t flags = 0;
  std::uint64_t capacity = 0;
  std::uint64_t cursor = 0;
};

HeaderFields decode_header(const std::array<std::byte, format::header_bytes>& bytes) {
  using at = format::header_offset;
  HeaderFields header;
  std::memcpy(header.magic.data(), bytes.data() + at::magic, header.magic.size());
  header.version = wire::load_le<std::uint32_t>(bytes.data() + at::version);
  header.flags = wire::load_le<std::uint32_t>(bytes.data() + at::flags);
  header.capacity = wire::load_le<std::uint64_t>(bytes.data() + at::capacity);
  header.cursor = wire::load_le<std::uint64_t>(bytes.data() + at::cursor);
  return header;
}

std::array<std::byte, format::header_bytes> encode_new_header(std::uint64_t capacity) {
  using at = format::header_offset;
  std::array<std::byte, format::header_bytes> bytes{};
  std::memcpy(bytes.data() + at::magic, format::log_magic.data(), format::log_magic.size());
  wire::store_le(bytes.data() + at::version, format::log_version);
  wire::store_le(bytes.data() + at::flags, std::uint32_t{0});
  wire::store_le(bytes.data() + at::capacity, capacity);
  wire::store_le(bytes.data() + at::cursor, std::uint64_t{0});
  return bytes;
}

Error problem(ErrorKind kind, const std::filesystem::path& path, std::string what, std::string fix) {
  return Error({.kind = kind,
                .operation = "open",
                .path = path,
                .what_is_wrong = std::move(what),
                .fix = std::move(fix),
                .errno_value = 0,
                .slot = std::nullopt});
}

std::string describe_file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

// Reads exactly `bytes.size()` bytes at offset 0, retrying short reads.
void read_header_bytes(int fd, std::array<std::byte, format::header_bytes>& bytes,
                       const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw io_error("open", path, "pread of the header", errno);
    }
    if (got == 0) {
      throw problem(ErrorKind::truncated, path, "the file ended inside its 32-byte header",
                    "the file is not a complete VRRL log; regenerate it");
    }
    done += static_cast<std::size_t>(got);
  }
}

void write_all_at(int fd, const std::byte* data, std::size_t size, off_t offset,
                  const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t put = ::pwrite(fd, data + done, size - done, offset + static_cast<off_t>(done));
    if (put < 0) {
      if (errno == EINTR) continue;
      throw io_error("create", path, "pwrite of the header", errno);
    }
    done += static_cast<std::size_t>(put);
  }
}

// Makes a new directory entry durable; best effort on filesystems without directory fsync.
void sync_directory(const std::filesystem::path& directory, const std::filesystem::path& path) {
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return;
  if (::fsync(dir.get()) != 0 && errno != EINVAL && errno != EROFS) {
    throw io_error("create", path, "fsync of the directory `" + directory.string() + "`", errno);
  }
}

void lock_for_writing(int fd, const std::filesystem::path& path) {
  // flock, not fcntl locks: flock conflicts between two opens in one process
  // too, and closing some other descriptor of the file does not drop it.
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      throw Error({.kind = ErrorKind::locked,
                   .operation = "open",
                   .path = path,
                   .what_is_wrong = "another writer (a vrrl::RingLog, in this or another process) has the log open",
                   .fix = "close the other writer first, or read the log with vrrl::LogReader / `vrrl tail -f`",
                   .errno_value = EWOULDBLOCK,
                   .slot = std::nullopt});
    }
    throw io_error("open", path, "flock", errno);
  }
}

std::filesystem::path temporary_sibling(const std::filesystem::path& path) {
  static std::atomic<std::uint64_t> counter{0};
  // Relaxed: only uniqueness matters, not ordering with other memory.
  const auto n = counter.fetch_add(1, std::memory_order_relaxed);
  std::filesystem::path tmp = path;
  tmp += ".creating." + std::to_string(::getpid()) + "." + std::to_string(n);
  return tmp;
}

// Creates a complete log under a temporary name and links it into place, so
// no reader and no crash ever sees a half-created log at `path`. Returns an
// empty descriptor when another process created `path` first.
FileDescriptor create_new_log(const std::filesystem::path& path, std::uint64_t capacity) {
  const std::filesystem::path tmp = temporary_sibling(path);
  FileDescriptor file(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!file.valid()) throw io_error("create", path, "open of a temporary file", errno);

  struct RemoveOnFailure {
    const std::filesystem::path& tmp;
    bool armed = true;
    ~RemoveOnFailure() {
      if (armed) ::unlink(tmp.c_str());
    }
  } cleanup{tmp};

  lock_for_writing(file.get(), path);
  const auto total = static_cast<off_t>(format::file_bytes(capacity));
  // Reserve every block now: a full disk must fail here, not as SIGBUS when
  // append() first touches an unbacked page.
  if (const int err = ::posix_fallocate(file.get(), 0, total); err != 0) {
    std::string fix;
    if (err == ENOSPC || err == EDQUOT) {
      fix = "free at least " + std::to_string(total) + " bytes on the filesystem holding `" +
            path.parent_path().string() + "`, or choose a smaller capacity";
    }
    throw io_error("create", path, "posix_fallocate of " + std::to_string(total) + " bytes", err, fix);
  }
  const auto header = encode_new_header(capacity);
  write_all_at(file.get(), header.data(), header.size(), 0, path);
  if (::fsync(file.get()) != 0) throw io_error("create", path, "fsync", errno);

  if (::link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return FileDescriptor{};  // lost a creation race; open theirs
    throw io_error("create", path, "link into place", errno);
  }
  cleanup.armed = false;
  ::unlink(tmp.c_str());
  const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : ".";
  sync_directory(parent, path);
  return file;
}

// OpenOptions::prefault for a writer. MAP_POPULATE alone is not enough: it maps
// the pages of a shared file mapping read-only (the kernel tracks which pages
// get dirty), so on ext4/xfs the first store to each page still takes a write
// fault (page_mkwrite, block allocation). MADV_POPULATE_WRITE (Linux 5.14)
// takes those write faults here; older kernels answer EINVAL and keep the
// read-only prefault (best effort, not an error). It marks every page dirty, so
// the next sync() writes the whole file. The read of one byte per page then
// loads each translation from user space, which is what removes the remaining
// first-touch cost under shadow-paging hypervisors: on the machine in
// docs/benchmarks.md a fresh 64 MiB log appended at 86 ns/record with
// MAP_POPULATE alone and 2.5 ns/record with this.
void prefault_for_writing(const bip::mapped_region& region) noexcept {
#ifdef MADV_POPULATE_WRITE
  (void)::madvise(region.get_address(), region.get_size(), MADV_POPULATE_WRITE);
#endif
  constexpr std::size_t page_bytes = 4096;  // the smallest page size; larger pages are touched more than once
  const auto* bytes = static_cast<const volatile unsigned char*>(region.get_address());
  for (std::size_t at = 0; at < region.get_size(); at += page_bytes) (void)bytes[at];
}

}  // namespace

MappedLog::MappedLog(std::filesystem::path path, FileDescriptor file, std::uint64_t capacity,
                     std::uint64_t file_size, boost::interprocess::mapped_region region) noexcept
    : path_(std::move(path)),
      file_(std::move(file)),
      capacity_(capacity),
      file_size_(file_size),
      region_(std::move(region)) {}

std::unique_ptr<MappedLog> MappedLog::open_writer(const std::filesystem::path& path, std::uint64_t capacity,
                                                  const OpenOptions& options) {
  validate_capacity(capacity, path, "requested");
  // Two rounds at most: if another process creates the file between our
  // failed open and our link, the second round opens theirs.
  for (int round = 0; round < 2; ++round) {
    // O_NONBLOCK: opening a fifo must not hang; it is rejected after fstat.
    FileDescriptor file(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (file.valid()) return map_existing(path, std::move(file), Access::read_write, options);
    if (errno == EISDIR) {
      throw problem(ErrorKind::not_a_log_file, path, "the path is a directory",
                    "pass the path of a log file, e.g. `" + (path / "dispatch.vrrl").string() + "`");
    }
    if (errno != ENOENT) throw io_error("open", path, "open for writing", errno);
    if (const std::filesystem::path parent = path.parent_path();
        !parent.empty() && !std::filesystem::is_directory(parent)) {
      throw io_error("create", path, "open", ENOENT,
                     "the directory `" + parent.string() + "` does not exist; create it first");
    }
    FileDescriptor created = create_new_log(path, capacity);
    if (created.valid()) return map_existing(path, std::move(created), Access::read_write, options);
  }
  throw io_error("open", path, "open", EEXIST, "another process keeps recreating the file; retry");
}

std::unique_ptr<MappedLog> MappedLog::open_reader(const std::filesystem::path& path) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file.valid()) {
    const int error = errno;
    // A reader never creates a log, so "create the directory" would be the wrong hint.
    throw io_error("open", path, "open for reading", error,
                   error == ENOENT ? "check the path; no log exists there yet (a writer creates it with "
                                     "vrrl::RingLog::open)"
                                   : std::string{});
  }
  return map_existing(path, std::move(file), Access::read_only, OpenOptions{});
}

std::unique_ptr<MappedLog> MappedLog::map_existing(const std::filesystem::path& path, FileDescriptor file,
                                                   Access access, const OpenOptions& options) {
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw io_error("open", path, "fstat", errno);
  if (!S_ISREG(status.st_mode)) {
    throw problem(ErrorKind::not_a_log_file, path, "the path is " + describe_file_type(status.st_mode),
                  "pass the path of a VRRL log file");
  }
  if (access == Access::read_write) lock_for_writing(file.get(), path);

  const auto size = static_cast<std::uint64_t>(status.st_size);
  if (size < format::header_bytes) {
    throw problem(ErrorKind::truncated, path,
                  "the file is " + std::to_string(size) + " bytes, shorter than the 32-byte VRRL header",
                  "this is not a complete VRRL log; delete it or restore it from a complete copy");
  }
  std::array<std::byte, format::header_bytes> header_bytes{};
  read_header_bytes(file.get(), header_bytes, path);
  const HeaderFields header = decode_header(header_bytes);
  if (header.magic != format::log_magic) {
    throw problem(ErrorKind::header_mismatch, path, "header mismatch: the file does not start with VRRL0001",
                  "regenerate the log; VRRL format may have changed");
  }
  if (header.version != format::log_version) {
    throw problem(ErrorKind::header_mismatch, path,
                  "header mismatch: format version " + std::to_string(header.version) +
                      ", this vrrl reads version " + std::to_string(format::log_version),
                  "regenerate the log; VRRL format may have changed");
  }
  validate_capacity(header.capacity, path, "header");
  const std::uint64_t needed = format::file_bytes(header.capacity);
  if (size < needed) {
    throw problem(ErrorKind::truncated, path,
                  "the file is " + std::to_string(size) + " bytes but its header promises " +
                      std::to_string(header.capacity) + " slots, which need " + std::to_string(needed) + " bytes",
                  "the log was truncated or copied partially; restore it from a complete copy "
                  "(`vrrl verify` lists what is readable)");
  }

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
    return std::unique_ptr<MappedLog>(
        new MappedLog(path, std::move(file), header.capacity, size, std::move(region)));
  } catch (const bip::interprocess_exception& e) {
    const int native = e.get_native_error();
    throw io_error("map", path, std::string("mapping (") + e.what() + ")", native != 0 ? native : EIO);
  }
}

std::uint64_t* MappedLog::header_cursor() const noexcept {
  // The mapping is page aligned and the cursor sits at offset 24: aligned for
  // std::atomic_ref<std::uint64_t>.
  return std::launder(reinterpret_cast<std::uint64_t*>(base() + format::header_offset::cursor));
}

std::uint64_t MappedLog::load_cursor() const noexcept {
  // Acquire: pairs with the writer's release store of the cursor, so the
  // bodies of the records before it are visible to us.
  return std::atomic_ref<std::uint64_t>(*header_cursor()).load(std::memory_order_acquire);
}

std::uint32_t MappedLog::flags() const noexcept {
  return wire::load_le<std::uint32_t>(base() + format::header_offset::flags);
}

void MappedLog::check_not_shrunk(const char* operation) const {
  struct stat status {};
  if (::fstat(file_.get(), &status) != 0) throw io_error(operation, path_, "fstat", errno);
  const std::uint64_t needed = format::file_bytes(capacity_);
  if (static_cast<std::uint64_t>(status.st_size) < needed) {
    throw Error({.kind = ErrorKind::truncated,
                 .operation = operation,
                 .path = path_,
                 .what_is_wrong = "the file shrank to " + std::to_string(status.st_size) +
                                  " bytes while open; its " + std::to_string(capacity_) + " slots need " +
                                  std::to_string(needed) + " bytes",
                 .fix = "another process truncated the log (vrrl's lock is advisory); stop it, close this "
                        "log without appending (append() would SIGBUS) and restore the file",
                 .errno_value = 0,
                 .slot = std::nullopt});
  }
}

ReplayRange MappedLog::replay(Recovery recovery) const {
  // A size check, not a SIGBUS guard: a shrink between this fstat and the
  // walk can still fault (docs/design.md, "Faults and guarantees").
  check_not_shrunk("replay");
  return ReplayRange(records(), capacity_, load_cursor() % capacity_, recovery, &path_);
}

std::vector<RecordedSlot> MappedLog::replay_all() const {
  std::vector<RecordedSlot> records;
  records.reserve(static_cast<std::size_t>(capacity_));
  for (RecordView record : replay(Recovery::strict)) records.push_back(record.slot());
  return records;
}

void MappedLog::sync() {
  check_not_shrunk("sync");
  // async=false is MS_SYNC. Boost's default (MS_ASYNC) schedules nothing on Linux.
  if (!region_.flush(0, region_.get_size(), /*async=*/false)) {
    throw io_error("sync", path_, "msync(MS_SYNC)", errno,
                   "records appended since the last successful sync() may be lost (the kernel may have "
                   "dropped the dirty pages); check the device and free space, then verify the log");
  }
}

}  // namespace vrrl::detail
