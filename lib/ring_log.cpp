#include <vrrl/ring_log.hpp>

#include <utility>

#include "log_file.hpp"

namespace vrrl {

RingLog::RingLog(std::unique_ptr<detail::LogFile> file) noexcept
    : hot_(file->append_state()), file_(std::move(file)) {}

RingLog RingLog::open(const std::filesystem::path& path, std::uint64_t capacity, const OpenOptions& options) {
  return RingLog(detail::LogFile::open_writer(path, capacity, options));
}

RingLog::RingLog(RingLog&& other) noexcept
    : hot_(std::exchange(other.hot_, detail::AppendState{})), file_(std::move(other.file_)) {}

RingLog& RingLog::operator=(RingLog&& other) noexcept {
  if (this != &other) {
    hot_ = std::exchange(other.hot_, detail::AppendState{});
    file_ = std::move(other.file_);
  }
  return *this;
}

RingLog::~RingLog() = default;

ReplayRange RingLog::replay(Recovery recovery) const& { return file_->replay(recovery); }

std::vector<RecordedSlot> RingLog::replay_all() const { return file_->replay_all(); }

void RingLog::sync() { file_->sync(); }

const std::filesystem::path& RingLog::path() const noexcept { return file_->path(); }

}  // namespace vrrl
