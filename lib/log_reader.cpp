#include <vrrl/ring_log.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "errors.hpp"
#include "file_descriptor.hpp"
#include "log_file.hpp"
#include "writer_lock.hpp"

namespace vrrl {

LogReader::LogReader(std::unique_ptr<detail::LogFile> file) noexcept : file_(std::move(file)) {}

LogReader LogReader::open(const std::filesystem::path& path) {
  return LogReader(detail::LogFile::open_reader(path));
}

LogReader::LogReader(LogReader&& other) noexcept = default;
LogReader& LogReader::operator=(LogReader&& other) noexcept = default;
LogReader::~LogReader() = default;

ReplayRange LogReader::replay(Recovery recovery) const& { return file_->replay(recovery); }
std::vector<RecordedSlot> LogReader::replay_all() const { return file_->replay_all(); }
std::uint64_t LogReader::capacity() const noexcept { return file_->capacity(); }
std::uint64_t LogReader::appended() const noexcept { return file_->load_cursor(); }
std::uint32_t LogReader::flags() const noexcept { return file_->flags(); }
Format LogReader::format() const noexcept { return file_->format(); }
const format::Layout& LogReader::layout() const noexcept { return file_->layout(); }
std::uint64_t LogReader::synced() const noexcept { return file_->synced(); }
const std::filesystem::path& LogReader::path() const noexcept { return file_->path(); }
const std::byte* LogReader::data() const noexcept { return file_->base(); }
std::uint64_t LogReader::file_size() const noexcept { return file_->file_size(); }
std::int64_t LogReader::last_modified_ns() const {
  struct stat status {};
  if (::fstat(file_->descriptor(), &status) != 0) throw detail::io_error("stat", path(), "fstat", errno);
  return static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec;
}

void LogReader::check_not_shrunk(const char* operation) const { file_->check_not_shrunk(operation); }

bool is_locked_by_writer(const std::filesystem::path& path) {
  const detail::FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file.valid()) throw detail::io_error("lock probe", path, "open for reading", errno);
  return detail::has_writer(file.get(), path);
}

}  // namespace vrrl
