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

void check_live_directory(const fs::path& directory, const fs::path& path) {
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
}

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

WriteBehind::WriteBehind(std::unique_ptr<LogFile> disk, LogReader live, LiveRing ring, std::uint64_t durable,
                         std::filesystem::path set_aside)
    : disk_(std::move(disk)),
      live_(std::move(live)),
      ring_(std::move(ring)),
      mirror_(live_, disk_->descriptor(), disk_->path(), durable, &ring_),
      set_aside_(std::move(set_aside)),
      durable_(durable) {}

WriteBehind::Opened WriteBehind::open(const std::filesystem::path& path, std::uint64_t capacity,
                                      const OpenOptions& options) {
  if (options.sync_every < 0ns) {
    throw io_error("open", path, "OpenOptions::sync_every (negative)", EINVAL,
                   "pass a positive interval, or zero to make the log durable only when sync() is called");
  }
  const fs::path directory = options.live_directory.empty() ? default_live_directory : fs::path(options.live_directory);
  check_live_directory(directory, path);
  validate_capacity(capacity, path, "requested");

  const bool existed = stat_of(path).has_value();
  // The disk file is only read and written with pread/pwrite: no prefault.
  const OpenOptions disk_options{.prefault = false, .format = options.format, .sync_every = {}, .live_directory = {}};
  std::unique_ptr<LogFile> disk = LogFile::open_writer(path, capacity, disk_options);
  struct stat disk_status {};
  if (::fstat(disk->descriptor(), &disk_status) != 0) throw io_error("open", path, "fstat", errno);
  // If this open created the disk file, a failure below removes it again: it
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
    // Whatever a writer without sync_every left in the page cache becomes
    // durable now: durable() starts at the disk file's count.
    disk_flush(disk->descriptor(), disk->path(), "opening the log");
    const fs::path canonical = fs::canonical(path);
    LiveRing::Attached attached = LiveRing::attach(directory, *disk, canonical);
    const fs::path ring_path = attached.ring.path();
    std::unique_ptr<WriteBehind> engine;
    try {
      LogReader reader = LogReader::open(ring_path);
      engine =
          std::unique_ptr<WriteBehind>(new WriteBehind(std::move(disk), std::move(reader), std::move(attached.ring),
                                                       attached.durable, std::move(attached.set_aside)));
      // Nobody appends yet: a record whose append was cut short by a kill
      // (cursor stored, magic not) is written as an empty slot.
      if (attached.resumed) engine->run_pass(Mirror::Writer::quiescent);
    } catch (...) {
      // A ring made by this open holds nothing the disk lacks; a resumed one
      // holds the records a killed writer appended: keep it.
      if (attached.created) ::unlink(ring_path.c_str());
      if (engine) engine->closed_ = true;
      throw;
    }
    engine->start(std::min(options.sync_every, longest_interval));
    return Opened{.live = std::move(attached.file), .engine = std::move(engine)};
  } catch (...) {
    disk.reset();
    remove_created_disk();
    throw;
  }
}

WriteBehind::~WriteBehind() { close(); }

void WriteBehind::start(std::chrono::nanoseconds interval) {
  thread_ = std::make_unique<IntervalThread>(
      interval,
      [this] {
        try {
          run_pass(Mirror::Writer::may_be_appending);
        } catch (...) {
          // Recorded by run_pass: durable() and sync() report it.
        }
      },
      "vrrl-sync");
}

void WriteBehind::run_pass(Mirror::Writer writer) {
  const std::lock_guard guard(pass_mutex_);
  // Whatever the outcome, waiters look again (no system call without waiters).
  struct WakeWaiters {
    WriteBehind& engine;
    ~WakeWaiters() {
      { const std::lock_guard waiters(engine.waiters_mutex_); }
      engine.pass_ended_.notify_all();
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
    Error error = as_error(std::current_exception(), disk_->path());
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

void WriteBehind::sync() { run_pass(Mirror::Writer::may_be_appending); }

std::uint64_t WriteBehind::durable() const {
  // Acquire: pairs with run_pass's release stores.
  if (failing_.load(std::memory_order_acquire)) {
    const std::lock_guard guard(failure_mutex_);
    if (failure_) throw *failure_;
  }
  return durable_.load(std::memory_order_acquire);
}

bool WriteBehind::wait_durable(std::uint64_t count, std::chrono::nanoseconds timeout) const {
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

DurabilityStats WriteBehind::stats() const noexcept {
  // Relaxed: counters for monitoring, each exact by itself.
  return DurabilityStats{.durable = durable_.load(std::memory_order_acquire),
                         .passes = passes_.load(std::memory_order_relaxed),
                         .failures = failures_.load(std::memory_order_relaxed),
                         .overrun = overrun_.load(std::memory_order_relaxed)};
}

void WriteBehind::close() noexcept {
  if (closed_) return;
  closed_ = true;
  thread_.reset();
  try {
    run_pass(Mirror::Writer::quiescent);
  } catch (...) {
    return;  // the ring keeps the records the disk may lack; the next open catches up
  }
  ring_.remove();
}

}  // namespace vrrl::detail
