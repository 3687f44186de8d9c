#include "create_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include <vrrl/format.hpp>
#include <vrrl/header.hpp>

#include "errors.hpp"

namespace vrrl::detail {
namespace {

constexpr int max_symlink_hops = 40;  // the kernel's limit (MAXSYMLINKS)

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
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
  const FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return;
  if (::fsync(dir.get()) != 0 && errno != EINVAL && errno != EROFS) {
    throw io_error("create", path, "fsync of the directory `" + directory.string() + "`", errno);
  }
}

// Reserves the blocks, writes the header, makes both durable.
void fill_new_log(int fd, const std::filesystem::path& path, std::uint64_t capacity, Format format,
                  std::uint64_t cursor) {
  const auto total = static_cast<off_t>(format::layout_of(format).file_bytes(capacity));
  // Reserve every block now: a full disk must fail here, not as SIGBUS when
  // append() first touches an unbacked page.
  if (const int err = ::posix_fallocate(fd, 0, total); err != 0) {
    std::string fix;
    if (err == ENOSPC || err == EDQUOT) {
      fix = "free at least " + std::to_string(total) + " bytes on the filesystem holding `" +
            directory_of(path).string() + "`, or choose a smaller capacity";
    }
    throw io_error("create", path, "posix_fallocate of " + std::to_string(total) + " bytes", err, fix);
  }
  const auto header = encode_header({.flags = 0, .capacity = capacity, .cursor = cursor, .format = format});
  write_all_at(fd, header.data(), header.size(), 0, path);
  if (::fsync(fd) != 0) throw io_error("create", path, "fsync", errno);
}

std::optional<CreatedLog> create_unnamed(const std::filesystem::path& path, std::uint64_t capacity, Format format,
                                         std::uint64_t cursor, bool& supported) {
  FileDescriptor file(::open(directory_of(path).c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644));
  if (!file.valid()) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
      supported = false;
      return std::nullopt;
    }
    throw io_error("create", path, "open of an unnamed file in `" + directory_of(path).string() + "`", errno);
  }
  WriterLock lock = WriterLock::acquire(file.get(), path);
  fill_new_log(file.get(), path, capacity, format, cursor);
  switch (link_unnamed(file.get(), path)) {
    case LinkResult::linked:
      sync_directory(directory_of(path), path);
      return CreatedLog{std::move(file), std::move(lock)};
    case LinkResult::exists:
      return std::nullopt;  // lost a creation race; the caller opens theirs
    case LinkResult::unsupported:
      break;
  }
  supported = false;
  return std::nullopt;
}

// A short hidden name, whatever the length of the log's own name (a
// 250-byte log name must not overflow NAME_MAX with a suffix).
std::filesystem::path temporary_name(const std::filesystem::path& path) {
  static std::atomic<std::uint64_t> counter{0};
  // Relaxed: only uniqueness matters, not ordering with other memory.
  const auto n = counter.fetch_add(1, std::memory_order_relaxed);
  return directory_of(path) / (".vrrl-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".creating");
}

std::optional<CreatedLog> create_named(const std::filesystem::path& path, std::uint64_t capacity, Format format,
                                       std::uint64_t cursor) {
  const std::filesystem::path tmp = temporary_name(path);
  FileDescriptor file(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!file.valid()) throw io_error("create", path, "open of a temporary file `" + tmp.string() + "`", errno);
  struct RemoveOnExit {
    const std::filesystem::path& tmp;
    ~RemoveOnExit() { ::unlink(tmp.c_str()); }
  } cleanup{tmp};

  WriterLock lock = WriterLock::acquire(file.get(), path);
  fill_new_log(file.get(), path, capacity, format, cursor);
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return std::nullopt;  // lost a creation race; open theirs
    throw io_error("create", path, "link into place", errno);
  }
  sync_directory(directory_of(path), path);
  return CreatedLog{std::move(file), std::move(lock)};
}

}  // namespace

LinkResult link_unnamed(int fd, const std::filesystem::path& path) {
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd works for anyone with /proc.
  if (::linkat(fd, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0) return LinkResult::linked;
  if (errno == EEXIST) return LinkResult::exists;
  const std::string proc_path = "/proc/self/fd/" + std::to_string(fd);
  if (::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
    return LinkResult::linked;
  }
  if (errno == EEXIST) return LinkResult::exists;
  return LinkResult::unsupported;
}

std::filesystem::path resolve_symlinks(const std::filesystem::path& path) {
  std::filesystem::path current = path;
  for (int hop = 0; hop <= max_symlink_hops; ++hop) {
    struct stat status {};
    if (::lstat(current.c_str(), &status) != 0) {
      if (errno == ENOENT) return current;
      throw io_error("open", path, "lstat of `" + current.string() + "`", errno);
    }
    if (!S_ISLNK(status.st_mode)) return current;
    std::array<char, 4096> target{};
    const ssize_t length = ::readlink(current.c_str(), target.data(), target.size() - 1);
    if (length < 0) throw io_error("open", path, "readlink of `" + current.string() + "`", errno);
    const std::filesystem::path next(std::string(target.data(), static_cast<std::size_t>(length)));
    current = next.is_absolute() ? next : directory_of(current) / next;
  }
  throw io_error("open", path, "following symbolic links", ELOOP);
}

std::optional<CreatedLog> create_log(const std::filesystem::path& path, std::uint64_t capacity, Format format,
                                     std::uint64_t cursor) {
  bool unnamed_supported = true;
  if (auto created = create_unnamed(path, capacity, format, cursor, unnamed_supported)) return created;
  if (unnamed_supported) return std::nullopt;  // lost a creation race
  return create_named(path, capacity, format, cursor);
}

}  // namespace vrrl::detail
