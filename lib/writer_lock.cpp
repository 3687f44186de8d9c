#include "writer_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "errors.hpp"

namespace vrrl::detail {
namespace {

// The files this process holds writer locks on, with the pid that took each
// lock. A fork()ed child inherits the list and sees its parent's pid there.
struct LockedFile {
  dev_t device;
  ino_t inode;
  pid_t owner;
};

class LockedFiles {
 public:
  static LockedFiles& instance() {
    static LockedFiles files;
    return files;
  }
  void add(dev_t device, ino_t inode) {
    const std::lock_guard guard(mutex_);
    files_.push_back({device, inode, ::getpid()});
  }
  void remove(dev_t device, ino_t inode) noexcept {
    const std::lock_guard guard(mutex_);
    const auto found = std::find_if(files_.begin(), files_.end(), [&](const LockedFile& file) {
      return file.device == device && file.inode == inode;
    });
    if (found != files_.end()) files_.erase(found);
  }
  // The pid that locked the file in this process (or in a parent before fork), if any.
  [[nodiscard]] std::optional<pid_t> owner(dev_t device, ino_t inode) {
    const std::lock_guard guard(mutex_);
    for (const LockedFile& file : files_) {
      if (file.device == device && file.inode == inode) return file.owner;
    }
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::vector<LockedFile> files_;
};

// The OFD lock a writer holds covers byte 0 only, so other byte ranges stay
// free for other purposes (a recording's readers mark the segments they map on
// byte 1, see recording code); locks beyond the end of a file are allowed.
struct flock writer_byte(short type) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 1;
  lock.l_pid = 0;  // required for OFD locks
  return lock;
}

Error already_locked(const std::filesystem::path& path, dev_t device, ino_t inode) {
  std::string what;
  std::string fix;
  if (const auto owner = LockedFiles::instance().owner(device, inode); !owner) {
    what = "another writer (a vrrl RingLog, SharedRingLog or recording stream, in another process) has the log open";
    fix = "close the other writer first, or read the log with vrrl::LogReader / `vrrl tail -f`";
  } else if (*owner == ::getpid()) {
    what = "this process already has the log open for writing (another RingLog, SharedRingLog or recording "
           "stream writer)";
    fix = "append through the writer that is already open, or destroy it before opening the log again";
  } else {
    what = "this process inherited the writer's lock across fork() from process " + std::to_string(*owner) +
           ", which has the log open for writing; parent and child share that lock";
    fix = "open logs after fork(), in the process that appends to them; a child must not append to its "
          "parent's log";
  }
  Error error = problem(ErrorKind::locked, "open", path, std::move(what), std::move(fix));
  return error;
}

}  // namespace

WriterLock WriterLock::acquire(int fd, const std::filesystem::path& path) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) throw io_error("open", path, "fstat", errno);
  // flock, not classic fcntl locks: fcntl locks do not conflict within one
  // process and are dropped when *any* descriptor of the file is closed.
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) throw already_locked(path, status.st_dev, status.st_ino);
    throw io_error("open", path, "flock", errno);
  }
  struct flock lock = writer_byte(F_WRLCK);
  while (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    ::flock(fd, LOCK_UN);
    if (error == EAGAIN || error == EACCES) throw already_locked(path, status.st_dev, status.st_ino);
    throw io_error("open", path, "fcntl(F_OFD_SETLK)", error);
  }
  LockedFiles::instance().add(status.st_dev, status.st_ino);
  return WriterLock(status.st_dev, status.st_ino);
}

WriterLock::WriterLock(WriterLock&& other) noexcept
    : device_(other.device_), inode_(other.inode_), held_(std::exchange(other.held_, false)) {}

WriterLock& WriterLock::operator=(WriterLock&& other) noexcept {
  if (this != &other) {
    release();
    device_ = other.device_;
    inode_ = other.inode_;
    held_ = std::exchange(other.held_, false);
  }
  return *this;
}

WriterLock::~WriterLock() { release(); }

// The locks themselves end when the descriptor closes (the owner of the
// descriptor closes it after this); only the process's record goes here.
void WriterLock::release() noexcept {
  if (held_) LockedFiles::instance().remove(device_, inode_);
  held_ = false;
}

bool has_writer(int fd, const std::filesystem::path& path) {
  // F_OFD_GETLK only reports what a lock *would* conflict with: nothing is
  // taken, so a writer opening at this very moment cannot fail because of us.
  struct flock lock = writer_byte(F_RDLCK);
  while (::fcntl(fd, F_OFD_GETLK, &lock) != 0) {
    if (errno == EINTR) continue;
    throw io_error("lock probe", path, "fcntl(F_OFD_GETLK)", errno);
  }
  return lock.l_type != F_UNLCK;
}

}  // namespace vrrl::detail
