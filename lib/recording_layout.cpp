#include "recording_layout.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include <vrrl/header.hpp>
#include <vrrl/record.hpp>

#include "errors.hpp"
#include "file_descriptor.hpp"

namespace vrrl::detail {
namespace {

constexpr std::size_t metadata_limit_bytes = 64 * 1024;  // a few lines; refuse to read anything huge
constexpr std::string_view segment_suffix = ".vrrl";

const std::string not_a_recording_fix =
    "pass a recording directory written by vrrl (or a single log file), or an empty or new directory to "
    "create one";

bool valid_utf8(std::string_view text) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto lead = static_cast<unsigned char>(text[at]);
    std::size_t extra = 0;
    if (lead < 0x80) {
      extra = 0;
    } else if ((lead & 0xE0) == 0xC0 && lead >= 0xC2) {
      extra = 1;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((lead & 0xF8) == 0xF0 && lead <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (extra > 0 && at + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[at + k]) & 0xC0) != 0x80) return false;
    }
    at += extra + 1;
  }
  return true;
}

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

Error metadata_problem(ErrorKind kind, const std::filesystem::path& path, std::string what, std::string fix) {
  return problem(kind, "open", path, std::move(what), std::move(fix));
}

std::string read_small_file(const std::filesystem::path& path, bool& missing) {
  missing = false;
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file.valid()) {
    if (errno == ENOENT) {
      missing = true;
      return {};
    }
    throw io_error("open", path, "open for reading", errno);
  }
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw io_error("open", path, "fstat", errno);
  if (!S_ISREG(status.st_mode)) {
    throw metadata_problem(ErrorKind::not_a_recording, path, std::string(metadata_file_name) + " is not a regular file",
                           not_a_recording_fix);
  }
  std::string text(metadata_limit_bytes + 1, '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t got = ::read(file.get(), text.data() + done, text.size() - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw io_error("open", path, "read", errno);
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  text.resize(done);
  return text;
}

void write_all(int fd, std::string_view text, const std::filesystem::path& path, const char* operation) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t put = ::write(fd, text.data() + done, text.size() - done);
    if (put < 0) {
      if (errno == EINTR) continue;
      throw io_error(operation, path, "write", errno);
    }
    done += static_cast<std::size_t>(put);
  }
}

// A unique hidden name next to `target` for building a small file.
std::filesystem::path temporary_sibling(const std::filesystem::path& target) {
  static std::atomic<std::uint64_t> counter{0};
  // Relaxed: only uniqueness matters.
  const auto n = counter.fetch_add(1, std::memory_order_relaxed);
  return target.parent_path() /
         ("." + target.filename().string() + "." + std::to_string(::getpid()) + "." + std::to_string(n) + ".tmp");
}

// Writes `text` to a new temporary sibling of `target`, fsynced; returns its path.
std::filesystem::path write_temporary(const std::filesystem::path& target, std::string_view text,
                                      const char* operation) {
  const std::filesystem::path tmp = temporary_sibling(target);
  const FileDescriptor file(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!file.valid()) throw io_error(operation, target, "open of `" + tmp.string() + "`", errno);
  try {
    write_all(file.get(), text, tmp, operation);
    if (::fsync(file.get()) != 0) throw io_error(operation, tmp, "fsync", errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  return tmp;
}

bool set_byte1_lock(int fd, short type, const std::filesystem::path& path) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 1;
  lock.l_len = 1;
  lock.l_pid = 0;  // required for OFD locks
  while (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EACCES) return false;
    throw io_error("lock", path, "fcntl(F_OFD_SETLK) on byte 1", errno);
  }
  return true;
}

}  // namespace

std::string printable(std::string_view name) {
  std::string out = "`";
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F || c == '`' || c == '\\') {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "`";
}

std::optional<std::string> stream_name_problem(std::string_view name) {
  if (name.empty()) return "the stream name is empty";
  if (name.size() > max_stream_name_bytes) {
    return "the stream name is " + std::to_string(name.size()) + " bytes long, more than " +
           std::to_string(max_stream_name_bytes);
  }
  if (name.find('\0') != std::string_view::npos) return "the stream name contains a NUL byte";
  if (name.find('/') != std::string_view::npos) return "the stream name contains '/'";
  if (name == "." || name == "..") return "the stream name is `" + std::string(name) + "`";
  if (name.front() == '.') return "the stream name starts with '.' (such names are reserved for vrrl's own files)";
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return "the stream name contains a control character";
  }
  if (!valid_utf8(name)) return "the stream name is not UTF-8";
  for (const char c : name) {
    if (!is_name_char(c)) {
      return static_cast<unsigned char>(c) >= 0x80 ? std::string("the stream name contains a non-ASCII character")
                                                   : "the stream name contains '" + std::string(1, c) + "'";
    }
  }
  return std::nullopt;
}

void check_stream_name(std::string_view name, const std::filesystem::path& recording) {
  if (std::optional<std::string> wrong = stream_name_problem(name)) {
    throw problem(ErrorKind::invalid_name, "open stream", recording, *wrong + " (" + printable(name) + ")",
                  "name streams with 1 to 128 of A-Z a-z 0-9 . _ -, not starting with '.' (e.g. `worker-3`)");
  }
}

std::string segment_file_name(std::uint64_t first_sequence) {
  char digits[segment_name_digits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(first_sequence));
  return std::string(digits) + std::string(segment_suffix);
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != segment_name_digits + segment_suffix.size()) return std::nullopt;
  if (name.substr(segment_name_digits) != segment_suffix) return std::nullopt;
  const std::string_view digits = name.substr(0, segment_name_digits);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return parse_u64(digits.substr(digits.find_first_not_of('0') == std::string_view::npos
                                     ? digits.size() - 1
                                     : digits.find_first_not_of('0')));
}

bool is_leftover_name(std::string_view name) {
  // create_log's hidden temporary: ".vrrl-<pid>-<n>.creating"
  if (name.starts_with(".vrrl-") && name.ends_with(".creating")) return true;
  if (name == spare_segment_name) return true;
  if (name.starts_with(".recycling-")) return true;
  if (name.starts_with('.') && name.ends_with(".tmp")) return true;  // a half-written .dropped
  // An older naming of files being created: "<20 digits>.vrrl.creating.<pid>.<n>"
  const std::size_t base = segment_name_digits + segment_suffix.size();
  return name.size() > base && parse_segment_name(name.substr(0, base)) && name.substr(base).starts_with(".creating.");
}

bool is_ignored_name(std::string_view name) { return name.starts_with('.') || is_leftover_name(name); }

// --- metadata ----------------------------------------------------------------

std::optional<RecordingMetadata> read_metadata(const std::filesystem::path& dir, bool missing_ok) {
  const std::filesystem::path path = dir / metadata_file_name;
  bool missing = false;
  const std::string text = read_small_file(path, missing);
  if (missing) {
    if (missing_ok) return std::nullopt;
    throw problem(ErrorKind::not_a_recording, "open", dir,
                  "the directory is not a recording: it has no " + std::string(metadata_file_name),
                  not_a_recording_fix);
  }
  if (text.size() > metadata_limit_bytes) {
    throw metadata_problem(ErrorKind::not_a_recording, path,
                           std::string(metadata_file_name) + " is larger than " +
                               std::to_string(metadata_limit_bytes) + " bytes; a recording's metadata is a few lines",
                           not_a_recording_fix);
  }
  if (!valid_utf8(text) || text.find('\0') != std::string::npos) {
    throw metadata_problem(ErrorKind::not_a_recording, path, std::string(metadata_file_name) + " is not UTF-8 text",
                           not_a_recording_fix);
  }
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    std::string_view line = trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t space = line.find(' ');
    entries.emplace_back(line.substr(0, space),
                         space == std::string_view::npos ? std::string_view{} : trim(line.substr(space + 1)));
  }
  if (entries.empty() || entries.front().first != "vrrl-recording") {
    throw metadata_problem(ErrorKind::not_a_recording, path,
                           std::string(metadata_file_name) + " does not start with a `vrrl-recording N` line",
                           not_a_recording_fix);
  }
  const auto number = [&](std::string_view key, std::string_view value) {
    const std::optional<std::uint64_t> parsed = parse_u64(value);
    if (!parsed) {
      throw metadata_problem(ErrorKind::not_a_recording, path,
                             "metadata key `" + std::string(key) + "` has value " + printable(value) +
                                 ", expected an unsigned integer",
                             "correct the `" + std::string(key) + "` line of " + std::string(metadata_file_name));
    }
    return *parsed;
  };
  const std::uint64_t version = number("vrrl-recording", entries.front().second);
  if (version != layout_version) {
    throw metadata_problem(ErrorKind::header_mismatch, path,
                           "recording layout version " + std::to_string(version) + ", this vrrl reads version " +
                               std::to_string(layout_version),
                           "read it with the vrrl version that wrote it (or a newer one)");
  }
  RecordingMetadata metadata;
  for (std::size_t i = 1; i < entries.size(); ++i) {
    const auto [key, value] = entries[i];
    if (key == "segment-format") {
      if (value != "v1") {
        throw metadata_problem(ErrorKind::header_mismatch, path,
                               "segments are in format " + printable(value) +
                                   "; this vrrl writes and reads recordings of v1 segments",
                               "read it with the vrrl version that wrote it (or a newer one)");
      }
    } else if (key == "segment-capacity") {
      metadata.segment_capacity = number(key, value);
      if (metadata.segment_capacity == 0 || metadata.segment_capacity > format::max_capacity) {
        throw metadata_problem(
            metadata.segment_capacity == 0 ? ErrorKind::zero_capacity : ErrorKind::capacity_overflow, path,
            "segment-capacity " + std::to_string(metadata.segment_capacity) + " is outside 1.." +
                std::to_string(format::max_capacity),
            "correct the segment-capacity line of " + std::string(metadata_file_name));
      }
    } else if (key == "retain-segments") {
      metadata.retain_segments = number(key, value);
    } else if (key == "retain-bytes") {
      metadata.retain_bytes = number(key, value);
    }
    // Unknown keys are ignored: a later version may add some.
  }
  return metadata;
}

std::string encode_metadata(const RecordingMetadata& metadata) {
  return "vrrl-recording " + std::to_string(metadata.layout_version) +
         "\n"
         "# A vrrl recording (docs/format.md, \"Recording directory\"): one directory per stream,\n"
         "# each a sequence of VRRL v1 segments named by their first sequence.\n"
         "segment-format v1\n"
         "segment-capacity " +
         std::to_string(metadata.segment_capacity) + "\nretain-segments " + std::to_string(metadata.retain_segments) +
         "\nretain-bytes " + std::to_string(metadata.retain_bytes) + "\n";
}

void write_metadata(const std::filesystem::path& dir, const RecordingMetadata& metadata) {
  const std::filesystem::path target = dir / metadata_file_name;
  const std::filesystem::path tmp = write_temporary(target, encode_metadata(metadata), "open");
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw io_error("open", target, "rename into place", error);
  }
  sync_directory_of(dir, "open");
}

bool create_metadata(const std::filesystem::path& dir, const RecordingMetadata& metadata) {
  const std::filesystem::path target = dir / metadata_file_name;
  const std::filesystem::path tmp = write_temporary(target, encode_metadata(metadata), "create");
  const int linked = ::link(tmp.c_str(), target.c_str());
  const int error = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (error == EEXIST) return false;
    throw io_error("create", target, "link into place", error);
  }
  sync_directory_of(dir, "create");
  return true;
}

// --- listing -------------------------------------------------------------------

namespace {

struct DirectoryEntries {
  std::vector<std::pair<std::string, unsigned char>> entries;  // name, d_type
};

DirectoryEntries read_directory(const std::filesystem::path& dir, const char* operation) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    const int error = errno;
    if (error == ENOTDIR) {
      throw problem(ErrorKind::not_a_recording, operation, dir, "the path is not a directory",
                    not_a_recording_fix);
    }
    throw io_error(operation, dir, "opendir", error);
  }
  DirectoryEntries out;
  errno = 0;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") out.entries.emplace_back(std::string(name), entry->d_type);
    errno = 0;
  }
  const int error = errno;
  ::closedir(handle);
  if (error != 0) throw io_error(operation, dir, "readdir", error);
  std::sort(out.entries.begin(), out.entries.end());
  return out;
}

bool is_directory_entry(const std::filesystem::path& dir, const std::string& name, unsigned char type) {
  if (type == DT_DIR) return true;
  if (type != DT_UNKNOWN && type != DT_LNK) return false;
  struct stat status {};
  return ::stat((dir / name).c_str(), &status) == 0 && S_ISDIR(status.st_mode);
}

}  // namespace

StreamListing list_stream(const std::filesystem::path& stream_dir, const char* operation) {
  StreamListing listing;
  for (const auto& [name, type] : read_directory(stream_dir, operation).entries) {
    if (is_leftover_name(name)) {
      listing.leftovers.push_back(stream_dir / name);
      continue;
    }
    if (name.starts_with('.')) continue;
    if (const std::optional<std::uint64_t> first = parse_segment_name(name);
        first && !is_directory_entry(stream_dir, name, type)) {
      listing.segments.push_back({*first, stream_dir / name});
      continue;
    }
    listing.foreign.push_back(stream_dir / name);
  }
  std::sort(listing.segments.begin(), listing.segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first < b.first; });
  return listing;
}

bool segment_exists(const std::filesystem::path& stream_dir, std::uint64_t first) {
  struct stat status {};
  return ::stat((stream_dir / segment_file_name(first)).c_str(), &status) == 0 && S_ISREG(status.st_mode);
}

void fill_listing_holes(StreamListing& listing, std::uint64_t capacity) {
  if (capacity == 0 || listing.segments.size() < 2) return;
  const std::filesystem::path dir = listing.segments.front().path.parent_path();
  std::vector<SegmentFile> found;
  for (std::size_t i = 0; i + 1 < listing.segments.size(); ++i) {
    const std::uint64_t low = listing.segments[i].first;
    const std::uint64_t high = listing.segments[i + 1].first;
    std::uint64_t up = low + capacity;
    for (; up < high && segment_exists(dir, up); up += capacity) found.push_back({up, dir / segment_file_name(up)});
    for (std::uint64_t down = high - capacity; down >= up && down > low && segment_exists(dir, down);
         down -= capacity) {
      found.push_back({down, dir / segment_file_name(down)});
    }
  }
  if (found.empty()) return;
  listing.segments.insert(listing.segments.end(), found.begin(), found.end());
  std::sort(listing.segments.begin(), listing.segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first < b.first; });
}

RecordingListing list_recording(const std::filesystem::path& dir, const char* operation) {
  RecordingListing listing;
  for (const auto& [name, type] : read_directory(dir, operation).entries) {
    if (name.starts_with('.') || name == metadata_file_name) continue;
    if (!is_directory_entry(dir, name, type)) continue;  // files beside the streams are not the layout's business
    if (stream_name_problem(name)) {
      listing.badly_named.push_back(dir / name);
    } else {
      listing.streams.push_back(name);
    }
  }
  return listing;
}

// --- segment headers -------------------------------------------------------------

std::optional<Error> segment_header_problem(const SegmentFile& segment, Format format, std::uint64_t capacity,
                                            std::uint64_t cursor, std::uint64_t expected_capacity) {
  const std::string move_out = "the segment is damaged or does not belong to this recording; move it out of the "
                               "stream directory (or read with Recovery::skip_bad_slots to read around it)";
  if (format != Format::v1) {
    return problem(ErrorKind::header_mismatch, "open", segment.path,
                   "the segment is a VRRL v2 log; recordings hold VRRL v1 segments (segment-format v1)",
                   "move it out of the stream directory; a v2 log is read on its own with vrrl::LogReader");
  }
  if (expected_capacity != 0 && capacity != expected_capacity) {
    return problem(ErrorKind::header_mismatch, "open", segment.path,
                   "the segment has capacity " + std::to_string(capacity) +
                       ", the recording's metadata says segment-capacity " + std::to_string(expected_capacity),
                   move_out);
  }
  if (segment.first % capacity != 0) {
    return problem(ErrorKind::header_mismatch, "open", segment.path,
                   "the segment's first sequence " + std::to_string(segment.first) +
                       " (its name) is not a multiple of its capacity " + std::to_string(capacity),
                   move_out);
  }
  if (cursor < segment.first || cursor - segment.first > capacity) {
    return problem(ErrorKind::header_mismatch, "open", segment.path,
                   "the segment's header cursor " + std::to_string(cursor) + " is outside " +
                       std::to_string(segment.first) + ".." + std::to_string(segment.first + capacity) +
                       " (a segment holds the sequences from its name's number on and never wraps)",
                   move_out);
  }
  return std::nullopt;
}

std::optional<SegmentHeader> read_segment_header(const SegmentFile& segment, std::uint64_t expected_capacity) {
  const FileDescriptor file(::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file.valid()) {
    if (errno == ENOENT) return std::nullopt;
    throw io_error("open", segment.path, "open for reading", errno);
  }
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw io_error("open", segment.path, "fstat", errno);
  if (!S_ISREG(status.st_mode)) {
    throw problem(ErrorKind::not_a_log_file, "open", segment.path, "the segment is not a regular file",
                  "move it out of the stream directory");
  }
  std::array<std::byte, format::header_bytes> bytes{};
  const ssize_t got = ::pread(file.get(), bytes.data(), bytes.size(), 0);
  if (got < 0) throw io_error("open", segment.path, "pread of the header", errno);
  if (static_cast<std::size_t>(got) < bytes.size()) {
    throw problem(ErrorKind::truncated, "open", segment.path,
                  "the file is " + std::to_string(status.st_size) + " bytes, shorter than the 32-byte VRRL header",
                  "this is not a complete segment; move it out of the stream directory");
  }
  const LogHeader header = decode_header(bytes);
  if (const std::optional<HeaderProblem> wrong = check_header(header, static_cast<std::uint64_t>(status.st_size))) {
    throw problem(wrong->kind, "open", segment.path, wrong->what_is_wrong, wrong->fix);
  }
  if (std::optional<Error> wrong = segment_header_problem(segment, header.format().value_or(Format::v1),
                                                          header.capacity, header.cursor, expected_capacity)) {
    throw *wrong;
  }
  return SegmentHeader{header.capacity, header.cursor};
}

std::optional<std::uint64_t> read_last_timestamp(const SegmentFile& segment, std::uint64_t cursor) {
  if (cursor <= segment.first) return std::nullopt;
  const FileDescriptor file(::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!file.valid()) return std::nullopt;
  // Backwards from the newest: the last append may not have completed.
  for (std::uint64_t slot = cursor - segment.first; slot-- > 0;) {
    std::array<std::byte, format::record_bytes> bytes{};
    const auto offset = static_cast<off_t>(format::record_position(slot));
    if (::pread(file.get(), bytes.data(), bytes.size(), offset) != static_cast<ssize_t>(bytes.size())) {
      return std::nullopt;
    }
    const RecordView view(bytes.data());
    if (view.magic() == format::record_magic) return view.timestamp_ns();
  }
  return std::nullopt;
}

// --- .dropped ---------------------------------------------------------------

std::uint64_t read_dropped(const std::filesystem::path& stream_dir) {
  bool missing = false;
  std::string text;
  try {
    text = read_small_file(stream_dir / dropped_file_name, missing);
  } catch (const Error&) {
    return 0;
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (line.starts_with("dropped ")) return parse_u64(trim(line.substr(8))).value_or(0);
  }
  return 0;
}

void write_dropped(const std::filesystem::path& stream_dir, std::uint64_t dropped) {
  const std::filesystem::path target = stream_dir / dropped_file_name;
  const std::string text =
      "# appends this stream's writers dropped because no segment was ready (docs/design.md, \"Recordings\")\n"
      "dropped " +
      std::to_string(dropped) + "\n";
  const std::filesystem::path tmp = write_temporary(target, text, "record dropped count");
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw io_error("record dropped count", target, "rename into place", error);
  }
}

// --- locks -------------------------------------------------------------------

bool lock_segment_for_reading(int fd, const std::filesystem::path& path) { return set_byte1_lock(fd, F_RDLCK, path); }

bool lock_segment_for_recycling(int fd, const std::filesystem::path& path) {
  return set_byte1_lock(fd, F_WRLCK, path);
}

void sync_directory_of(const std::filesystem::path& dir, const char* operation) {
  const FileDescriptor handle(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!handle.valid()) return;
  if (::fsync(handle.get()) != 0 && errno != EINVAL && errno != EROFS) {
    throw io_error(operation, dir, "fsync of the directory", errno);
  }
}

}  // namespace vrrl::detail
