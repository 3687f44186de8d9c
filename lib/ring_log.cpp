#include <vrrl/ring_log.hpp>

#include <utility>

#include "log_file.hpp"
#include "write_behind.hpp"

namespace vrrl {

namespace {
const std::filesystem::path no_path;
}

RingLog::RingLog(std::unique_ptr<detail::LogFile> file, std::unique_ptr<detail::WriteBehind> durability) noexcept
    : hot_(file->append_state()), durability_(std::move(durability)), file_(std::move(file)) {}

RingLog RingLog::open(const std::filesystem::path& path, std::uint64_t capacity, const OpenOptions& options) {
  if (options.sync_every != std::chrono::nanoseconds::zero()) {
    detail::WriteBehind::Opened opened = detail::WriteBehind::open(path, capacity, options);
    return RingLog(std::move(opened.live), std::move(opened.engine));
  }
  return RingLog(detail::LogFile::open_writer(path, capacity, options), nullptr);
}

RingLog::RingLog(RingLog&& other) noexcept
    : hot_(std::exchange(other.hot_, detail::AppendState{})),
      durability_(std::move(other.durability_)),
      file_(std::move(other.file_)),
      synced_(other.synced_),
      failed_syncs_(other.failed_syncs_) {}

RingLog& RingLog::operator=(RingLog&& other) noexcept {
  if (this != &other) {
    if (durability_) durability_->close();
    hot_ = std::exchange(other.hot_, detail::AppendState{});
    durability_ = std::move(other.durability_);
    file_ = std::move(other.file_);
    synced_ = other.synced_;
    failed_syncs_ = other.failed_syncs_;
  }
  return *this;
}

RingLog::~RingLog() {
  // The last pass reads what append() wrote; file_ must still map it.
  if (durability_) durability_->close();
}

ReplayRange RingLog::replay(Recovery recovery) const& { return file_->replay(recovery); }

std::vector<RecordedSlot> RingLog::replay_all() const { return file_->replay_all(); }

void RingLog::sync() {
  if (durability_) {
    durability_->copy().pass();
    return;
  }
  // The count durable() reports, loaded before the msync starts; the cursor
  // lives in the mapping, so the file's size is checked first (a shrunk file
  // would SIGBUS here rather than throw truncated in sync()).
  std::uint64_t count = 0;
  try {
    file_->check_not_shrunk("sync");
    count = file_->load_cursor();
    file_->sync();
  } catch (...) {
    ++failed_syncs_;
    throw;
  }
  synced_ = count;
}

std::uint64_t RingLog::durable() const { return durability_ ? durability_->copy().durable() : synced_; }

bool RingLog::wait_durable(std::uint64_t count, std::chrono::nanoseconds timeout) const {
  return durability_ ? durability_->copy().wait_durable(count, timeout) : synced_ >= count;
}

std::uint64_t RingLog::sync_failures() const noexcept {
  return durability_ ? durability_->copy().failures() : failed_syncs_;
}

DurabilityStats RingLog::durability_stats() const noexcept {
  if (durability_) return durability_->copy().stats();
  return DurabilityStats{.durable = synced_, .passes = 0, .failures = failed_syncs_, .overrun = 0};
}

const std::filesystem::path& RingLog::live_path() const noexcept {
  return durability_ ? durability_->copy().live_path() : no_path;
}

const std::filesystem::path& RingLog::set_aside_live_ring() const noexcept {
  return durability_ ? durability_->copy().set_aside() : no_path;
}

const std::filesystem::path& RingLog::path() const noexcept {
  return durability_ ? durability_->disk_path() : file_->path();
}

}  // namespace vrrl
