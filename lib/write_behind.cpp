#include "write_behind.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "create_log.hpp"
#include "disk_io.hpp"
#include "errors.hpp"

namespace vrrl::detail {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path default_live_directory = "/dev/shm";
// Longer intervals would overflow the clock arithmetic; a year is "never" here.
constexpr std::chrono::nanoseconds longest_interval = std::chrono::hours(24 * 365);

}  // namespace

fs::path usable_live_directory(std::string_view live_directory, const fs::path& path) {
  const fs::path directory = live_directory.empty() ? default_live_directory : fs::path(live_directory);
  const std::string fix = "create `" + directory.string() +
                          "`, or set OpenOptions::live_directory to a writable tmpfs directory (such as /dev/shm)";
  struct stat status {};
  if (::stat(directory.c_str(), &status) != 0) {
    const int error = errno;
    throw io_error("open", path, "stat of the live directory `" + directory.string() + "`", error, fix);
  }
  if (!S_ISDIR(status.st_mode)) {
    throw io_error("open", path, "the live directory `" + directory.string() + "`", ENOTDIR, fix);
  }
  if (::access(directory.c_str(), W_OK | X_OK) != 0) {
    throw io_error("open", path, "write access to the live directory `" + directory.string() + "`", errno,
                   "set OpenOptions::live_directory to a tmpfs directory this user may write");
  }
  return directory;
}

namespace {

// The file a path names after following symbolic links, if any.
std::optional<struct stat> stat_of(const fs::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return std::nullopt;
  return status;
}

Error as_error(std::exception_ptr failure, const fs::path& path) {
  try {
    std::rethrow_exception(failure);
  } catch (const Error& e) {
    return e;
  } catch (const std::bad_alloc&) {
    return io_error("sync", path, "a background pass (out of memory)", ENOMEM);
  } catch (const std::exception& e) {
    return io_error("sync", path, std::string("a background pass (") + e.what() + ")", EIO);
  }
}

}  // namespace

// --- DurableCopy -------------------------------------------------------------

DurableCopy::DurableCopy(LogFile& disk, LogReader live, LiveRing ring, std::uint64_t durable,
                         std::filesystem::path set_aside)
    : disk_(disk),
      live_(std::move(live)),
      ring_(std::move(ring)),
      mirror_(live_, disk_.descriptor(), disk_.path(), durable, &ring_),
      set_aside_(std::move(set_aside)),
      durable_(durable) {}

DurableCopy::Attached DurableCopy::attach(LogFile& disk, const std::filesystem::path& live_directory) {
  // Whatever a writer without sync_every left in the page cache becomes
  // durable now: durable() starts at the disk log's count.
  disk_flush(disk.descriptor(), disk.path(), "opening the log");
  LiveRing::Attached attached = LiveRing::attach(live_directory, disk, fs::canonical(disk.path()));
  const fs::path ring_path = attached.ring.path();
  std::unique_ptr<DurableCopy> copy;
  try {
    LogReader reader = LogReader::open(ring_path);
    copy = std::unique_ptr<DurableCopy>(new DurableCopy(disk, std::move(reader), std::move(attached.ring),
                                                        attached.durable, std::move(attached.set_aside)));
    // Nobody appends yet: a record whose append was cut short by a kill
    // (cursor stored, magic not) is written as an empty slot.
    if (attached.resumed) copy->run_pass(Mirror::Writer::quiescent);
  } catch (...) {
    // A twin made by this call holds nothing the disk lacks; a resumed one
    // holds the records a killed writer appended: keep it.
    if (attached.created) ::unlink(ring_path.c_str());
    if (copy) copy->closed_ = false;
    throw;
  }
  return Attached{.live = std::move(attached.file), .copy = std::move(copy)};
}

DurableCopy::~DurableCopy() { (void)close(); }

void DurableCopy::run_pass(Mirror::Writer writer) {
  const std::lock_guard guard(pass_mutex_);
  // Whatever the outcome, waiters look again (no system call without waiters).
  struct WakeWaiters {
    DurableCopy& copy;
    ~WakeWaiters() {
      { const std::lock_guard waiters(copy.waiters_mutex_); }
      copy.pass_ended_.notify_all();
    }
  } wake{*this};
  try {
    const Mirror::PassReport report = mirror_.pass(writer);
    overrun_.fetch_add(report.overrun, std::memory_order_relaxed);
    passes_.fetch_add(1, std::memory_order_relaxed);
    // Release: pairs with durable()'s acquire; the flushes happened before.
    durable_.store(report.durable, std::memory_order_release);
    failing_.store(false, std::memory_order_release);
  } catch (...) {
    Error error = as_error(std::current_exception(), disk_.path());
    {
      const std::lock_guard failure_guard(failure_mutex_);
      failure_ = error;
    }
    failures_.fetch_add(1, std::memory_order_relaxed);
    // Release: a reader that sees the flag finds failure_ set.
    failing_.store(true, std::memory_order_release);
    throw error;
  }
}

void DurableCopy::pass() { run_pass(Mirror::Writer::may_be_appending); }

std::uint64_t DurableCopy::durable() const {
  // Acquire: pairs with run_pass's release stores.
  if (failing_.load(std::memory_order_acquire)) {
    const std::lock_guard guard(failure_mutex_);
    if (failure_) throw *failure_;
  }
  return durable_.load(std::memory_order_acquire);
}

bool DurableCopy::wait_durable(std::uint64_t count, std::chrono::nanoseconds timeout) const {
  {
    std::unique_lock lock(waiters_mutex_);
    // Acquire loads: pair with run_pass's release stores, made before it
    // takes waiters_mutex_ to wake us, so no wake-up is missed.
    (void)pass_ended_.wait_for(lock, std::min(timeout, longest_interval), [&] {
      return durable_.load(std::memory_order_acquire) >= count || failing_.load(std::memory_order_acquire);
    });
  }
  return durable() >= count;
}

DurabilityStats DurableCopy::stats() const noexcept {
  // Relaxed: counters for monitoring, each exact by itself.
  return DurabilityStats{.durable = durable_.load(std::memory_order_acquire),
                         .passes = passes_.load(std::memory_order_relaxed),
                         .failures = failures_.load(std::memory_order_relaxed),
                         .overrun = overrun_.load(std::memory_order_relaxed)};
}

bool DurableCopy::close() noexcept {
  if (closed_) return *closed_;
  try {
    run_pass(Mirror::Writer::quiescent);
  } catch (...) {
    closed_ = false;  // the twin keeps the records the disk may lack; the next attach catches up
    return false;
  }
  ring_.remove();
  closed_ = true;
  return true;
}

// --- WriteBehind -------------------------------------------------------------

WriteBehind::WriteBehind(std::unique_ptr<LogFile> disk, std::unique_ptr<DurableCopy> copy) noexcept
    : disk_(std::move(disk)), copy_(std::move(copy)) {}

WriteBehind::Opened WriteBehind::open(const std::filesystem::path& path, std::uint64_t capacity,
                                      const OpenOptions& options) {
  if (options.sync_every < 0ns) {
    throw io_error("open", path, "OpenOptions::sync_every (negative)", EINVAL,
                   "pass a positive interval, or zero to make the log durable only when sync() is called");
  }
  const fs::path directory = usable_live_directory(options.live_directory, path);
  validate_capacity(capacity, path, "requested");

  const bool existed = stat_of(path).has_value();
  // The disk log is only read and written with pread/pwrite: no prefault.
  const OpenOptions disk_options{.prefault = false, .format = options.format, .sync_every = {}, .live_directory = {}};
  std::unique_ptr<LogFile> disk = LogFile::open_writer(path, capacity, disk_options);
  struct stat disk_status {};
  if (::fstat(disk->descriptor(), &disk_status) != 0) throw io_error("open", path, "fstat", errno);
  // If this open created the disk log, a failure below removes it again: it
  // is empty, and locked by us until then, so nobody else can have used it.
  const auto remove_created_disk = [&]() noexcept {
    if (existed) return;
    try {
      const fs::path target = resolve_symlinks(path);
      const std::optional<struct stat> named = stat_of(target);
      if (named && named->st_ino == disk_status.st_ino && named->st_dev == disk_status.st_dev) {
        ::unlink(target.c_str());
      }
    } catch (...) {
      // Best effort: an empty, valid log stays behind.
    }
  };
  try {
    DurableCopy::Attached attached = DurableCopy::attach(*disk, directory);
    auto engine = std::unique_ptr<WriteBehind>(new WriteBehind(std::move(disk), std::move(attached.copy)));
    DurableCopy* copy = engine->copy_.get();
    engine->thread_ = std::make_unique<IntervalThread>(
        std::min(options.sync_every, longest_interval),
        [copy] {
          try {
            copy->pass();
          } catch (...) {
            // Recorded by the copy: durable() and sync() report it.
          }
        },
        "vrrl-sync");
    return Opened{.live = std::move(attached.live), .engine = std::move(engine)};
  } catch (...) {
    disk.reset();
    remove_created_disk();
    throw;
  }
}

WriteBehind::~WriteBehind() { close(); }

void WriteBehind::close() noexcept {
  thread_.reset();
  if (copy_) (void)copy_->close();
}

}  // namespace vrrl::detail
