#include <vrrl/ring_log.hpp>

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <utility>

#include "errors.hpp"
#include "file_descriptor.hpp"
#include "mapped_log.hpp"

namespace vrrl {

LogReader::LogReader(std::unique_ptr<detail::MappedLog> file) : file_(std::move(file)) {}

LogReader LogReader::open(const std::filesystem::path& path) {
  return LogReader(detail::MappedLog::open_reader(path));
}

LogReader::LogReader(LogReader&& other) noexcept = default;
LogReader& LogReader::operator=(LogReader&& other) noexcept = default;
LogReader::~LogReader() = default;

ReplayRange LogReader::replay(Recovery recovery) const& { return file_->replay(recovery); }
std::vector<RecordedSlot> LogReader::replay_all() const { return file_->replay_all(); }
std::uint64_t LogReader::capacity() const noexcept { return file_->capacity(); }
std::uint64_t LogReader::appended() const noexcept { return file_->load_cursor(); }
std::uint32_t LogReader::flags() const noexcept { return file_->flags(); }
const std::filesystem::path& LogReader::path() const noexcept { return file_->path(); }
const std::byte* LogReader::data() const noexcept { return file_->base(); }
std::uint64_t LogReader::file_size() const noexcept { return file_->file_size(); }

bool is_locked_by_writer(const std::filesystem::path& path) {
  detail::FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file.valid()) throw detail::io_error("lock probe", path, "open for reading", errno);
  // A shared lock conflicts only with a writer's exclusive one; release it at once.
  while (::flock(file.get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return true;
    throw detail::io_error("lock probe", path, "flock", errno);
  }
  ::flock(file.get(), LOCK_UN);
  return false;
}

}  // namespace vrrl
