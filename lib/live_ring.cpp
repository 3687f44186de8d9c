#include "live_ring.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <vrrl/header.hpp>

#include "create_log.hpp"
#include "disk_io.hpp"
#include "errors.hpp"
#include "writer_lock.hpp"

namespace vrrl::detail {
namespace {

namespace fs = std::filesystem;

// --- The trailer: 8 KiB after the log, page aligned -------------------------
constexpr std::array<char, 8> trailer_magic{'V', 'R', 'R', 'L', 'L', 'I', 'V', 'E'};
constexpr std::uint32_t trailer_version = 1;
constexpr std::uint64_t trailer_bytes = 8192;
constexpr std::uint64_t page_bytes = 4096;
constexpr std::size_t boot_id_bytes = 40;  // "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", NUL padded

struct trailer_offset {
  static constexpr std::size_t magic = 0;         // char[8] "VRRLLIVE"
  static constexpr std::size_t version = 8;       // u32
  static constexpr std::size_t device = 16;       // u64  } the disk file
  static constexpr std::size_t inode = 24;        // u64  }
  static constexpr std::size_t birth_sec = 32;    // i64  }
  static constexpr std::size_t birth_nsec = 40;   // u32  }
  static constexpr std::size_t capacity = 48;     // u64
  static constexpr std::size_t durable = 56;      // u64: count of the last completed pass
  static constexpr std::size_t target = 64;       // u64: the cursor the pass in flight writes to the disk
  static constexpr std::size_t last_slot = 72;    // 64 bytes: the disk's slot (durable - 1) % capacity
  static constexpr std::size_t boot_id = 136;     // char[40]: the boot that wrote the ring
  static constexpr std::size_t path_bytes = 176;  // u32, then the disk file's canonical path
  static constexpr std::size_t path = 180;
};
static_assert(trailer_offset::last_slot + format::record_bytes == trailer_offset::boot_id);
static_assert(trailer_offset::boot_id + boot_id_bytes == trailer_offset::path_bytes);
constexpr std::size_t max_trailer_path = trailer_bytes - trailer_offset::path;

[[nodiscard]] std::uint64_t trailer_position(const format::Layout& layout, std::uint64_t capacity) noexcept {
  return (layout.file_bytes(capacity) + page_bytes - 1) / page_bytes * page_bytes;
}

[[nodiscard]] std::uint64_t ring_file_bytes(const format::Layout& layout, std::uint64_t capacity) noexcept {
  return trailer_position(layout, capacity) + trailer_bytes;
}

using BootId = std::array<char, boot_id_bytes>;

// The kernel's random id of this boot: a ring written in another boot was on
// a filesystem that survived a reboot without ever being synced.
BootId current_boot_id() {
  BootId id{};
  if (std::FILE* file = std::fopen("/proc/sys/kernel/random/boot_id", "re")) {
    const std::size_t got = std::fread(id.data(), 1, id.size() - 1, file);
    std::fclose(file);
    for (std::size_t i = 0; i < got; ++i) {
      if (id[i] == '\n') id[i] = '\0';
    }
  }
  return id;
}

struct Trailer {
  DiskIdentity disk;
  std::uint64_t capacity = 0;
  std::uint64_t durable = 0;
  std::uint64_t target = 0;
  std::array<std::byte, format::record_bytes> last_slot{};
  BootId boot_id{};
  std::string disk_path;
};

std::vector<std::byte> encode_trailer(const Trailer& trailer) {
  using at = trailer_offset;
  std::vector<std::byte> bytes(trailer_bytes);
  std::memcpy(bytes.data() + at::magic, trailer_magic.data(), trailer_magic.size());
  wire::store_le(bytes.data() + at::version, trailer_version);
  wire::store_le(bytes.data() + at::device, trailer.disk.device);
  wire::store_le(bytes.data() + at::inode, trailer.disk.inode);
  wire::store_le(bytes.data() + at::birth_sec, trailer.disk.birth_sec);
  wire::store_le(bytes.data() + at::birth_nsec, trailer.disk.birth_nsec);
  wire::store_le(bytes.data() + at::capacity, trailer.capacity);
  wire::store_le(bytes.data() + at::durable, trailer.durable);
  wire::store_le(bytes.data() + at::target, trailer.target);
  std::memcpy(bytes.data() + at::last_slot, trailer.last_slot.data(), trailer.last_slot.size());
  std::memcpy(bytes.data() + at::boot_id, trailer.boot_id.data(), trailer.boot_id.size());
  const std::size_t path_length = std::min(trailer.disk_path.size(), max_trailer_path);
  wire::store_le(bytes.data() + at::path_bytes, static_cast<std::uint32_t>(path_length));
  std::memcpy(bytes.data() + at::path, trailer.disk_path.data(), path_length);
  return bytes;
}

std::optional<Trailer> decode_trailer(const std::vector<std::byte>& bytes) {
  using at = trailer_offset;
  if (bytes.size() != trailer_bytes) return std::nullopt;
  if (std::memcmp(bytes.data() + at::magic, trailer_magic.data(), trailer_magic.size()) != 0) return std::nullopt;
  if (wire::load_le<std::uint32_t>(bytes.data() + at::version) != trailer_version) return std::nullopt;
  Trailer trailer;
  trailer.disk.device = wire::load_le<std::uint64_t>(bytes.data() + at::device);
  trailer.disk.inode = wire::load_le<std::uint64_t>(bytes.data() + at::inode);
  trailer.disk.birth_sec = wire::load_le<std::int64_t>(bytes.data() + at::birth_sec);
  trailer.disk.birth_nsec = wire::load_le<std::uint32_t>(bytes.data() + at::birth_nsec);
  trailer.capacity = wire::load_le<std::uint64_t>(bytes.data() + at::capacity);
  trailer.durable = wire::load_le<std::uint64_t>(bytes.data() + at::durable);
  trailer.target = wire::load_le<std::uint64_t>(bytes.data() + at::target);
  std::memcpy(trailer.last_slot.data(), bytes.data() + at::last_slot, trailer.last_slot.size());
  std::memcpy(trailer.boot_id.data(), bytes.data() + at::boot_id, trailer.boot_id.size());
  const auto path_length = wire::load_le<std::uint32_t>(bytes.data() + at::path_bytes);
  if (path_length > max_trailer_path) return std::nullopt;
  trailer.disk_path.assign(reinterpret_cast<const char*>(bytes.data() + at::path), path_length);
  return trailer;
}

// --- Plain reads of files that are not ours to map --------------------------

// pread of exactly `size` bytes; false on a short file. Throws io on errors.
bool read_exactly(int fd, std::byte* data, std::size_t size, std::uint64_t offset, const fs::path& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw io_error("open", path, "pread", errno);
    }
    if (got == 0) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

void write_exactly(int fd, const std::byte* data, std::size_t size, std::uint64_t offset, const fs::path& path,
                   const char* operation) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t put = ::pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (put < 0) {
      if (errno == EINTR) continue;
      throw io_error(operation, path, "pwrite to the in-memory ring", errno);
    }
    done += static_cast<std::size_t>(put);
  }
}

std::optional<LogHeader> read_header(int fd, const fs::path& path) {
  std::array<std::byte, format::header_bytes> bytes{};
  if (!read_exactly(fd, bytes.data(), bytes.size(), 0, path)) return std::nullopt;
  return decode_header(bytes);
}

std::optional<Trailer> read_trailer(int fd, const format::Layout& layout, std::uint64_t capacity,
                                    const fs::path& path) {
  std::vector<std::byte> bytes(trailer_bytes);
  if (!read_exactly(fd, bytes.data(), bytes.size(), trailer_position(layout, capacity), path)) return std::nullopt;
  return decode_trailer(bytes);
}

// What the word at bytes 0..3 of a slot says about the record there, for a
// log whose header cursor is `cursor`.
enum class SlotWord { empty, current, other_lap, foreign };

SlotWord classify(const std::byte* slot, std::uint64_t slot_index, Format format, std::uint64_t cursor,
                  std::uint64_t capacity) {
  const auto word = wire::load_le<std::uint32_t>(slot);
  if (word == format::empty_record_magic) return SlotWord::empty;
  if (format == Format::v1) return word == format::record_magic ? SlotWord::current : SlotWord::foreign;
  // v2: the sequence this slot holds in the window [cursor - capacity,
  // cursor), modulo 2^64 for a slot the cursor has not reached (as
  // LogFile::clear_records_beyond_cursor counts), one lap later (written by a
  // pass whose cursor was not yet written) and one lap earlier (stale).
  const std::uint64_t window = cursor - capacity + (slot_index + capacity - cursor % capacity) % capacity;
  const wire::RecordWords words = wire::load_record_words(slot);
  if (word == wire::commit_word(window, words)) return SlotWord::current;
  if (word == wire::commit_word(window + capacity, words) || word == wire::commit_word(window - capacity, words)) {
    return SlotWord::other_lap;
  }
  return SlotWord::foreign;
}

// The sequence a disk slot holds by the disk's cursor (the one in
// [cursor - capacity, cursor) that maps to the slot), if any.
std::optional<std::uint64_t> sequence_in_slot(std::uint64_t slot, std::uint64_t cursor, std::uint64_t capacity) {
  if (cursor == 0) return std::nullopt;
  const std::uint64_t back = ((cursor - 1) % capacity + capacity - slot) % capacity;  // from the newest record
  if (back > cursor - 1) return std::nullopt;                                         // the slot was never reached
  return cursor - 1 - back;
}

// --- The rule --------------------------------------------------------------

struct Verdict {
  bool belongs = false;
  std::string why_not;  // for the tests' messages and a debugger; not API
  Trailer trailer;
  std::uint64_t ring_cursor = 0;
};

// Whether the ring open as `ring_fd` continues the disk file's history (the
// rule in live_ring.hpp). Reads both files with pread: nothing is mapped.
Verdict judge(int ring_fd, const fs::path& ring_path, const LogFile& disk, const DiskIdentity& identity) {
  Verdict verdict;
  const auto refuse = [&](std::string why) {
    verdict.belongs = false;
    verdict.why_not = std::move(why);
    return verdict;
  };
  struct stat status {};
  if (::fstat(ring_fd, &status) != 0) throw io_error("open", ring_path, "fstat", errno);
  const auto size = static_cast<std::uint64_t>(status.st_size);
  const std::uint64_t capacity = disk.capacity();
  const format::Layout& layout = disk.layout();
  const std::optional<LogHeader> header = read_header(ring_fd, ring_path);
  if (!header) return refuse("shorter than a log header");
  if (check_header(*header, size)) return refuse("not a valid log");
  if (header->format() != layout.format) return refuse("another format than the disk file");
  if (header->capacity != capacity) return refuse("another capacity than the disk file");
  if (size < ring_file_bytes(layout, capacity)) return refuse("no trailer");
  const std::optional<Trailer> trailer = read_trailer(ring_fd, layout, capacity, ring_path);
  if (!trailer) return refuse("the trailer is damaged");
  verdict.trailer = *trailer;
  if (trailer->disk != identity) return refuse("the trailer names another file (device, inode or birth time)");
  if (trailer->capacity != capacity) return refuse("the trailer's capacity differs");
  if (trailer->boot_id != current_boot_id()) return refuse("written before the last reboot (never synced)");
  const std::uint64_t ring_cursor = header->cursor;
  if (ring_cursor >= format::max_cursor) return refuse("implausible cursor");

  std::array<std::byte, format::header_bytes> disk_header_bytes{};
  disk_read(disk.descriptor(), disk_header_bytes.data(), disk_header_bytes.size(), 0, disk.path(), "the header");
  const std::uint64_t disk_cursor = decode_header(disk_header_bytes).cursor;
  if (!(trailer->durable <= disk_cursor && disk_cursor <= trailer->target && trailer->target <= ring_cursor)) {
    return refuse("the disk file's cursor is not one this ring's passes left there");
  }
  // The slot of the last durable record, unless the pass in flight reached it.
  if (trailer->durable > 0 && trailer->target < trailer->durable - 1 + capacity) {
    std::array<std::byte, format::record_bytes> slot{};
    disk_read(disk.descriptor(), slot.data(), slot.size(), layout.record_position((trailer->durable - 1) % capacity),
              disk.path(), "the last durable slot");
    if (slot != trailer->last_slot) return refuse("the disk file's last durable record is not the one written");
  }
  // Every slot: no foreign magic in either; every record on disk that the ring
  // still holds is the ring's, byte for byte.
  constexpr std::uint64_t chunk_slots = 16'384;
  std::vector<std::byte> disk_chunk(static_cast<std::size_t>(std::min(capacity, chunk_slots) * format::record_bytes));
  std::vector<std::byte> ring_chunk(disk_chunk.size());
  const std::uint64_t oldest_in_ring = ring_cursor > capacity ? ring_cursor - capacity : 0;
  for (std::uint64_t first = 0; first < capacity; first += chunk_slots) {
    const std::uint64_t count = std::min(chunk_slots, capacity - first);
    const std::size_t bytes = static_cast<std::size_t>(count * format::record_bytes);
    const std::uint64_t offset = layout.record_position(first);
    disk_read(disk.descriptor(), disk_chunk.data(), bytes, offset, disk.path(), "the slots");
    if (!read_exactly(ring_fd, ring_chunk.data(), bytes, offset, ring_path)) return refuse("short");
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::byte* on_disk = disk_chunk.data() + i * format::record_bytes;
      const std::byte* in_ring = ring_chunk.data() + i * format::record_bytes;
      const std::optional<std::uint64_t> sequence = sequence_in_slot(first + i, disk_cursor, capacity);
      if (classify(in_ring, first + i, layout.format, ring_cursor, capacity) == SlotWord::foreign) {
        return refuse("a ring slot holds no record of this history (a foreign magic or commit word)");
      }
      const SlotWord on_disk_word = classify(on_disk, first + i, layout.format, disk_cursor, capacity);
      if (on_disk_word == SlotWord::foreign) return refuse("a disk slot has a foreign magic or commit word");
      // Empty, or (v2) another lap's: a pass in flight wrote it, or it is stale.
      if (on_disk_word != SlotWord::current) continue;
      if (!sequence || *sequence < oldest_in_ring) continue;  // the ring has overwritten it since
      if (std::memcmp(on_disk, in_ring, format::record_bytes) != 0) {
        return refuse("record " + std::to_string(*sequence) + " differs between the disk file and the ring");
      }
    }
  }
  verdict.belongs = true;
  verdict.ring_cursor = ring_cursor;
  return verdict;
}

// --- Files in the live directory --------------------------------------------

bool owned_regular_file(const struct stat& status) { return S_ISREG(status.st_mode) && status.st_uid == ::geteuid(); }

std::int64_t unix_ns_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Renames a ring out of the way under a name that says what it is; returns
// the new path. The ring stays a valid log (and keeps its trailer).
fs::path set_aside(const fs::path& ring) {
  const std::string stem = ring.stem().string();
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = stem;  // appended piece by piece: GCC 12 warns falsely (-Wrestrict) on `stem + "..."`
    name += ".set-aside-";
    name += std::to_string(unix_ns_now());
    if (attempt > 0) {
      name += '-';
      name += std::to_string(attempt);
    }
    const fs::path target = ring.parent_path() / (name + ".vrrl");
    if (::renameat2(AT_FDCWD, ring.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) return target;
    if (errno != EEXIST) {
      throw io_error("open", ring, "rename of a disagreeing in-memory ring to `" + target.string() + "`", errno,
                     "move `" + ring.string() +
                         "` out of the live directory by hand (it is a VRRL log holding "
                         "records the disk file may not have: `vrrl dump` reads it), then open again");
    }
  }
  throw io_error("open", ring, "rename of a disagreeing in-memory ring", EEXIST,
                 "move `" + ring.string() + "` out of the live directory by hand, then open again");
}

bool is_ring_name(const std::string& name) {
  constexpr std::string_view prefix = "vrrl-live-";
  constexpr std::string_view suffix = ".vrrl";
  return name.size() > prefix.size() + suffix.size() && name.starts_with(prefix) && name.ends_with(suffix) &&
         name.find(".set-aside-") == std::string::npos;
}

// Rings of files that used to be at this path (the disk file was replaced or
// deleted and created again): they cannot continue this file's history, and
// nothing else would ever find them. Rings another writer has open are left alone.
std::optional<fs::path> set_aside_rings_of_replaced_files(const fs::path& directory, const fs::path& own_ring,
                                                          const fs::path& canonical_disk_path,
                                                          const DiskIdentity& identity) {
  std::optional<fs::path> last;
  std::error_code ignored;
  for (fs::directory_iterator it(directory, ignored), end; !ignored && it != end; it.increment(ignored)) {
    const fs::path candidate = it->path();
    if (candidate.filename() == own_ring.filename() || !is_ring_name(candidate.filename().string())) continue;
    const FileDescriptor file(::open(candidate.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!file.valid()) continue;
    struct stat status {};
    if (::fstat(file.get(), &status) != 0 || !owned_regular_file(status)) continue;
    const std::optional<LogHeader> header = read_header(file.get(), candidate);
    if (!header || check_header(*header, static_cast<std::uint64_t>(status.st_size)) || !header->format()) continue;
    const format::Layout layout = format::layout_of(*header->format());
    if (static_cast<std::uint64_t>(status.st_size) < ring_file_bytes(layout, header->capacity)) continue;
    const std::optional<Trailer> trailer = read_trailer(file.get(), layout, header->capacity, candidate);
    if (!trailer || trailer->disk_path != canonical_disk_path.string() || trailer->disk == identity) continue;
    if (has_writer(file.get(), candidate)) continue;
    last = set_aside(candidate);
  }
  return last;
}

void check_room(const fs::path& directory, std::uint64_t bytes, const fs::path& disk_path) {
  struct statvfs space {};
  if (::statvfs(directory.c_str(), &space) != 0) return;  // posix_fallocate will say
  const std::uint64_t available = static_cast<std::uint64_t>(space.f_bavail) * space.f_frsize;
  if (available >= bytes) return;
  throw io_error("open", disk_path,
                 "making the in-memory ring (" + std::to_string(bytes) + " bytes) in `" + directory.string() + "`",
                 ENOSPC,
                 "free memory in `" + directory.string() + "` (it has " + std::to_string(available) +
                     " bytes available), choose OpenOptions::live_directory on a tmpfs with room, or a smaller "
                     "capacity");
}

// A new ring holding exactly the disk file's log, built unnamed (or under a
// hidden name) and linked into place only when complete.
FileDescriptor create_ring(const fs::path& directory, const fs::path& ring, const LogFile& disk,
                           const Trailer& trailer) {
  const std::uint64_t bytes = ring_file_bytes(disk.layout(), disk.capacity());
  check_room(directory, bytes, disk.path());
  std::optional<fs::path> named;  // the hidden name when O_TMPFILE is not supported
  FileDescriptor file(::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!file.valid()) {
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      throw io_error("open", disk.path(), "open of an unnamed file in the live directory `" + directory.string() + "`",
                     errno);
    }
    named = directory / (".vrrl-live-" + std::to_string(::getpid()) + ".creating");
    file = FileDescriptor(::open(named->c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!file.valid()) throw io_error("open", disk.path(), "open of `" + named->string() + "`", errno);
  }
  struct RemoveOnFailure {
    const std::optional<fs::path>& named;
    bool keep = false;
    ~RemoveOnFailure() {
      if (named && !keep) ::unlink(named->c_str());
    }
  } cleanup{named};

  if (const int err = ::posix_fallocate(file.get(), 0, static_cast<off_t>(bytes)); err != 0) {
    throw io_error(
        "open", disk.path(),
        "posix_fallocate of " + std::to_string(bytes) + " bytes for the in-memory ring in `" + directory.string() + "`",
        err,
        err == ENOSPC || err == EDQUOT
            ? "free memory in `" + directory.string() +
                  "`, choose OpenOptions::live_directory on a tmpfs with room, or a smaller capacity"
            : std::string{});
  }
  constexpr std::size_t copy_bytes = 1 << 20;
  std::vector<std::byte> buffer(copy_bytes);
  const std::uint64_t log_bytes = disk.layout().file_bytes(disk.capacity());
  for (std::uint64_t at = 0; at < log_bytes; at += copy_bytes) {
    const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(copy_bytes, log_bytes - at));
    disk_read(disk.descriptor(), buffer.data(), count, at, disk.path(), "the log, into a new in-memory ring");
    write_exactly(file.get(), buffer.data(), count, at, ring, "open");
  }
  const std::vector<std::byte> trailer_bytes_out = encode_trailer(trailer);
  write_exactly(file.get(), trailer_bytes_out.data(), trailer_bytes_out.size(),
                trailer_position(disk.layout(), disk.capacity()), ring, "open");

  if (named) {
    if (::link(named->c_str(), ring.c_str()) != 0) {
      throw io_error(
          "open", ring, "link of the new in-memory ring", errno,
          errno == EEXIST ? "another process made the in-memory ring at the same moment; retry" : std::string{});
    }
    return file;
  }
  switch (link_unnamed(file.get(), ring)) {
    case LinkResult::linked:
      return file;
    case LinkResult::exists:
      throw io_error("open", ring, "link of the new in-memory ring", EEXIST,
                     "another process made the in-memory ring at the same moment; retry");
    case LinkResult::unsupported:
      break;
  }
  throw io_error("open", ring, "link of an unnamed file into the live directory", errno,
                 "choose OpenOptions::live_directory on a tmpfs (such as /dev/shm) where O_TMPFILE and linkat work");
}

void require_same_file(const LogFile& opened, const struct stat& expected, const fs::path& ring) {
  struct stat status {};
  if (::fstat(opened.descriptor(), &status) != 0) throw io_error("open", ring, "fstat", errno);
  if (status.st_dev != expected.st_dev || status.st_ino != expected.st_ino) {
    throw io_error("open", ring, "open of the in-memory ring", ESTALE,
                   "the in-memory ring was replaced while opening; retry");
  }
}

}  // namespace

DiskIdentity identify(int fd, const std::filesystem::path& path) {
  struct statx status {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &status) != 0) {
    throw io_error("open", path, "statx", errno);
  }
  DiskIdentity identity;
  identity.device = makedev(status.stx_dev_major, status.stx_dev_minor);
  identity.inode = status.stx_ino;
  if ((status.stx_mask & STATX_BTIME) != 0) {
    identity.birth_sec = status.stx_btime.tv_sec;
    identity.birth_nsec = status.stx_btime.tv_nsec;
  }
  return identity;
}

std::string live_ring_file_name(const DiskIdentity& disk) {
  std::array<char, 64> name{};
  std::snprintf(name.data(), name.size(), "vrrl-live-%llx-%llx.vrrl", static_cast<unsigned long long>(disk.device),
                static_cast<unsigned long long>(disk.inode));
  return name.data();
}

LiveRing::LiveRing(std::filesystem::path path, FileDescriptor file, const format::Layout& layout,
                   std::uint64_t capacity) noexcept
    : path_(std::move(path)), file_(std::move(file)), trailer_at_(trailer_position(layout, capacity)) {}

LiveRing::Attached LiveRing::attach(const std::filesystem::path& directory, const LogFile& disk,
                                    const std::filesystem::path& canonical_disk_path) {
  const DiskIdentity identity = identify(disk.descriptor(), disk.path());
  const fs::path ring = directory / live_ring_file_name(identity);
  const std::uint64_t capacity = disk.capacity();
  std::optional<fs::path> set_aside_path =
      set_aside_rings_of_replaced_files(directory, ring, canonical_disk_path, identity);

  struct stat status {};
  if (::lstat(ring.c_str(), &status) == 0) {
    if (!owned_regular_file(status)) {
      throw problem(ErrorKind::not_a_log_file, "open", ring,
                    std::string("the name of the in-memory ring of `") + disk.path().string() + "` holds " +
                        (S_ISLNK(status.st_mode)   ? "a symbolic link"
                         : S_ISREG(status.st_mode) ? "a file of another user"
                                                   : "something that is not a regular file") +
                        ", which vrrl will neither trust nor replace",
                    "remove `" + ring.string() + "`, or choose another OpenOptions::live_directory");
    }
    FileDescriptor found(::open(ring.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!found.valid()) throw io_error("open", ring, "open of the in-memory ring", errno);
    if (has_writer(found.get(), ring)) {
      throw problem(ErrorKind::locked, "open", ring,
                    "another writer has the in-memory ring of `" + disk.path().string() + "` open",
                    "close the other writer first");
    }
    const Verdict verdict = judge(found.get(), ring, disk, identity);
    if (verdict.belongs) {
      std::unique_ptr<LogFile> file = LogFile::open_writer(ring, capacity, OpenOptions{.prefault = true});
      require_same_file(*file, status, ring);
      LiveRing live(ring, std::move(found), disk.layout(), capacity);
      // The disk file may have been renamed since the ring was made.
      Trailer renamed = verdict.trailer;
      renamed.disk_path = canonical_disk_path.string();
      const std::vector<std::byte> bytes = encode_trailer(renamed);
      write_exactly(live.file_.get(), bytes.data() + trailer_offset::path_bytes,
                    bytes.size() - trailer_offset::path_bytes, live.trailer_at_ + trailer_offset::path_bytes, ring,
                    "open");
      return Attached{.file = std::move(file),
                      .ring = std::move(live),
                      .durable = verdict.trailer.durable,
                      .resumed = true,
                      .created = false,
                      .set_aside = set_aside_path.value_or(fs::path{})};
    }
    found.reset();
    set_aside_path = set_aside(ring);
  } else if (errno != ENOENT) {
    throw io_error("open", ring, "lstat of the in-memory ring", errno);
  }

  // A fresh ring from the disk file as it is: everything in it is durable.
  std::array<std::byte, format::header_bytes> header_bytes{};
  disk_read(disk.descriptor(), header_bytes.data(), header_bytes.size(), 0, disk.path(), "the header");
  const std::uint64_t disk_cursor = decode_header(header_bytes).cursor;
  Trailer trailer{.disk = identity,
                  .capacity = capacity,
                  .durable = disk_cursor,
                  .target = disk_cursor,
                  .last_slot = {},
                  .boot_id = current_boot_id(),
                  .disk_path = canonical_disk_path.string()};
  if (disk_cursor > 0) {
    disk_read(disk.descriptor(), trailer.last_slot.data(), trailer.last_slot.size(),
              disk.layout().record_position((disk_cursor - 1) % capacity), disk.path(), "the last slot");
  }
  FileDescriptor created = create_ring(directory, ring, disk, trailer);
  struct stat created_status {};
  if (::fstat(created.get(), &created_status) != 0) throw io_error("open", ring, "fstat", errno);
  try {
    std::unique_ptr<LogFile> file = LogFile::open_writer(ring, capacity, OpenOptions{.prefault = true});
    require_same_file(*file, created_status, ring);
    return Attached{.file = std::move(file),
                    .ring = LiveRing(ring, std::move(created), disk.layout(), capacity),
                    .durable = disk_cursor,
                    .resumed = false,
                    .created = true,
                    .set_aside = set_aside_path.value_or(fs::path{})};
  } catch (...) {
    ::unlink(ring.c_str());
    throw;
  }
}

void LiveRing::pass_started(std::uint64_t target) {
  std::array<std::byte, sizeof(std::uint64_t)> bytes{};
  wire::store_le(bytes.data(), target);
  write_exactly(file_.get(), bytes.data(), bytes.size(), trailer_at_ + trailer_offset::target, path_, "sync");
}

void LiveRing::pass_completed(std::uint64_t durable, std::span<const std::byte, format::record_bytes> last_slot) {
  // One write: a kill cannot leave a durable count with another pass's slot.
  std::array<std::byte, trailer_offset::boot_id - trailer_offset::durable> bytes{};
  wire::store_le(bytes.data(), durable);
  wire::store_le(bytes.data() + (trailer_offset::target - trailer_offset::durable), durable);
  std::memcpy(bytes.data() + (trailer_offset::last_slot - trailer_offset::durable), last_slot.data(), last_slot.size());
  write_exactly(file_.get(), bytes.data(), bytes.size(), trailer_at_ + trailer_offset::durable, path_, "sync");
}

void LiveRing::remove() noexcept {
  struct stat named {
  }, own{};
  if (::fstat(file_.get(), &own) != 0 || ::lstat(path_.c_str(), &named) != 0) return;
  if (named.st_dev == own.st_dev && named.st_ino == own.st_ino) ::unlink(path_.c_str());
}

}  // namespace vrrl::detail
