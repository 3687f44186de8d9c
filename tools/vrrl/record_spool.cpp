#include "record_spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include <vrrl/error.hpp>

namespace vrrl::cli {
namespace {

// The spool holds the records' bytes as this process laid them out; it is
// read back by the same process only.
static_assert(std::is_trivially_copyable_v<RecordValue>);
constexpr std::size_t chunk_records = 4096;

[[noreturn]] void spool_failed(const std::filesystem::path& directory, const std::string& call, int error) {
  throw Error({.kind = ErrorKind::io,
               .operation = "import",
               .path = directory,
               .what_is_wrong = "keeping the validated records in a temporary file failed (" + call +
                                "): " + std::strerror(error) + "; nothing was written to the log",
               .fix = error == ENOSPC || error == EDQUOT
                          ? "free space there (the temporary file needs 64 bytes per input line)"
                          : "check the directory's permissions, or set TMPDIR to a writable directory",
               .errno_value = error,
               .slot = std::nullopt});
}

// An unnamed file in `directory`: O_TMPFILE, or mkstemp + unlink where the
// file system has no O_TMPFILE.
FileDescriptor unnamed_file(const std::filesystem::path& directory) {
  FileDescriptor file(::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (file.valid()) return file;
  std::string name = (directory / "vrrl-import-XXXXXX").string();
  file = FileDescriptor(::mkostemp(name.data(), O_CLOEXEC));
  if (file.valid()) ::unlink(name.c_str());
  return file;
}

std::filesystem::path temporary_directory() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& directory) {
  const auto* bytes = static_cast<const char*>(data);
  while (size != 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      spool_failed(directory, "write", errno);
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

}  // namespace

RecordSpool::RecordSpool(const std::filesystem::path& target) {
  const std::filesystem::path parent = target.parent_path().empty() ? "." : target.parent_path();
  directory_ = parent;
  file_ = unnamed_file(parent);
  if (!file_.valid()) {
    directory_ = temporary_directory();
    file_ = unnamed_file(directory_);
  }
  if (!file_.valid()) spool_failed(directory_, "open", errno);
  buffer_.reserve(chunk_records);
}

void RecordSpool::add(const RecordValue& record) {
  buffer_.push_back(record);
  ++count_;
  if (buffer_.size() == chunk_records) flush();
}

void RecordSpool::flush() {
  write_all(file_.get(), buffer_.data(), buffer_.size() * sizeof(RecordValue), directory_);
  buffer_.clear();
}

void RecordSpool::replay(const std::function<void(std::span<const RecordValue>)>& visit) {
  flush();
  std::uint64_t remaining = count_;
  std::uint64_t offset = 0;
  buffer_.resize(chunk_records);
  while (remaining != 0) {
    const std::size_t records = remaining < chunk_records ? static_cast<std::size_t>(remaining) : chunk_records;
    const std::size_t bytes = records * sizeof(RecordValue);
    std::size_t done = 0;
    while (done < bytes) {
      const ssize_t got = ::pread(file_.get(), reinterpret_cast<char*>(buffer_.data()) + done, bytes - done,
                                  static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) spool_failed(directory_, "pread", got < 0 ? errno : EIO);
      done += static_cast<std::size_t>(got);
    }
    visit(std::span<const RecordValue>(buffer_.data(), records));
    offset += bytes;
    remaining -= records;
  }
  buffer_.clear();
}

}  // namespace vrrl::cli
