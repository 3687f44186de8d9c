#include <vrrl/ring_log.hpp>

#include <atomic>
#include <utility>

#include "mapped_log.hpp"

namespace vrrl {
namespace {

// A cursor this large was not written by any real run (2^62 appends at 1 ns
// each is over a century); it is damage. Restart the count from the slot it
// names so the running count can never wrap around 2^64 and jump slots.
constexpr std::uint64_t implausible_cursor = std::uint64_t{1} << 62;

}  // namespace

RingLog::RingLog(std::unique_ptr<detail::MappedLog> file)
    : file_(std::move(file)),
      records_(file_->records()),
      header_cursor_(file_->header_cursor()),
      capacity_(file_->capacity()),
      appended_(file_->load_cursor()) {
  if (appended_ >= implausible_cursor) {
    appended_ %= capacity_;
    // Relaxed would do (we hold the only writer lock); release keeps the rule
    // "every cursor store is a release" simple to audit.
    std::atomic_ref<std::uint64_t>(*header_cursor_).store(appended_, std::memory_order_release);
  }
  next_slot_ = appended_ % capacity_;
}

RingLog RingLog::open(const std::filesystem::path& path, std::uint64_t capacity, const OpenOptions& options) {
  return RingLog(detail::MappedLog::open_writer(path, capacity, options));
}

RingLog::RingLog(RingLog&& other) noexcept
    : file_(std::move(other.file_)),
      records_(std::exchange(other.records_, nullptr)),
      header_cursor_(std::exchange(other.header_cursor_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      next_slot_(std::exchange(other.next_slot_, 0)),
      appended_(std::exchange(other.appended_, 0)) {}

RingLog& RingLog::operator=(RingLog&& other) noexcept {
  if (this != &other) {
    file_ = std::move(other.file_);
    records_ = std::exchange(other.records_, nullptr);
    header_cursor_ = std::exchange(other.header_cursor_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    next_slot_ = std::exchange(other.next_slot_, 0);
    appended_ = std::exchange(other.appended_, 0);
  }
  return *this;
}

RingLog::~RingLog() = default;

ReplayRange RingLog::replay(Recovery recovery) const& { return file_->replay(recovery); }

std::vector<RecordedSlot> RingLog::replay_all() const { return file_->replay_all(); }

void RingLog::sync() { file_->sync(); }

const std::filesystem::path& RingLog::path() const noexcept { return file_->path(); }

}  // namespace vrrl
