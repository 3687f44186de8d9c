#include "log_check.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include <vrrl/error.hpp>
#include <vrrl/format.hpp>
#include <vrrl/header.hpp>
#include <vrrl/record.hpp>

#include "log_flags.hpp"

namespace vrrl::cli {
namespace {

// Closes the descriptor it owns.
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) {
    if (fd_ < 0) {
      const int error = errno;
      throw Error({.kind = ErrorKind::io,
                   .operation = "verify",
                   .path = path,
                   .what_is_wrong = std::string("open for reading failed: ") + std::strerror(error),
                   .fix = error == ENOENT ? "check the path" : "check the path and its permissions",
                   .errno_value = error,
                   .slot = std::nullopt});
    }
  }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile() { ::close(fd_); }

  // Reads up to `size` bytes at `offset`; fewer only at end of file.
  std::size_t read_at(std::byte* into, std::size_t size, std::uint64_t offset, const std::filesystem::path& path) const {
    std::size_t done = 0;
    while (done < size) {
      const ssize_t got = ::pread(fd_, into + done, size - done, static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        throw Error({.kind = ErrorKind::io,
                     .operation = "verify",
                     .path = path,
                     .what_is_wrong = "pread at offset " + std::to_string(offset + done) +
                                      " failed: " + std::strerror(error),
                     .fix = "check the device the file is on",
                     .errno_value = error,
                     .slot = std::nullopt});
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

std::string printable(const std::byte* bytes, std::size_t size) {
  std::string text;
  for (std::size_t i = 0; i < size; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"') {
      text += static_cast<char>(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
      text += escaped;
    }
  }
  return text;
}

// Adds findings with a per-kind cap so a file full of garbage stays readable.
class FindingList {
 public:
  explicit FindingList(LogCheck& check) : check_(check) {}

  void problem(std::string_view kind, std::optional<std::uint64_t> slot, std::string message) {
    ++check_.problems;
    add(kind, Finding::Severity::problem, slot, std::move(message));
  }
  void note(std::string_view kind, std::optional<std::uint64_t> slot, std::string message) {
    add(kind, Finding::Severity::note, slot, std::move(message));
  }

 private:
  void add(std::string_view kind, Finding::Severity severity, std::optional<std::uint64_t> slot,
           std::string message) {
    auto counter = std::find_if(listed_.begin(), listed_.end(), [&](const auto& entry) { return entry.first == kind; });
    if (counter == listed_.end()) counter = listed_.insert(listed_.end(), {kind, 0});
    if (counter->second++ >= max_listed) {
      ++check_.unlisted;
      return;
    }
    check_.findings.push_back({severity, slot, std::move(message)});
  }

  LogCheck& check_;
  std::vector<std::pair<std::string_view, std::uint64_t>> listed_;
};

// Walks the complete slots in replay order (oldest first), reading them in chunks.
class SlotWalk {
 public:
  SlotWalk(LogCheck& check, FindingList& findings) : check_(check), findings_(findings) {}

  void visit(std::uint64_t slot, const std::byte* bytes) {
    const RecordView record(bytes);
    const std::uint32_t magic = record.magic();
    if (magic == format::empty_record_magic) {
      ++check_.empty_slots;
      if (previous_) pending_empty_.push_back(slot);
      return;
    }
    if (magic != format::record_magic) {
      ++check_.bad_magic_slots;
      findings_.problem("magic", slot,
                        "record magic " + hex32(magic) + " is neither 0xDEADBEEF (a record) nor 0 (empty)");
      return;
    }
    ++check_.records;
    // Empty slots after an earlier record and before this one: a hole. A writer
    // killed mid-append leaves an empty slot only at the oldest or newest end.
    for (std::uint64_t empty : pending_empty_) {
      findings_.note("hole", empty, "empty slot between records (a slot was cleared or the file was edited)");
    }
    pending_empty_.clear();
    const std::uint64_t timestamp = record.timestamp_ns();
    if (previous_ && timestamp < previous_->first) {
      ++check_.timestamps_backwards;
      std::string message = "timestamp " + std::to_string(timestamp) + " ns goes backwards from " +
                            std::to_string(previous_->first) + " ns in slot " + std::to_string(previous_->second) +
                            " (the record before it in replay order)";
      if (check_.multi_producer) {
        // Producers claim slots in one order and read their clocks in another.
        findings_.note("backwards", slot, std::move(message) + "; normal in a multi-producer log (claim order)");
      } else {
        findings_.problem("backwards", slot, std::move(message));
      }
    }
    previous_ = {timestamp, slot};
  }

 private:
  LogCheck& check_;
  FindingList& findings_;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> previous_;  // timestamp, slot of the last record
  std::vector<std::uint64_t> pending_empty_;
};

void check_slots(const ReadOnlyFile& file, const std::filesystem::path& path, LogCheck& check,
                 FindingList& findings, std::uint64_t cursor) {
  const std::uint64_t capacity = check.capacity;
  SlotWalk walk(check, findings);
  constexpr std::uint64_t chunk_slots = 4096;  // 256 KiB per read
  std::vector<std::byte> buffer(chunk_slots * format::record_bytes);
  const std::uint64_t oldest = cursor % capacity;
  // Replay order: oldest .. capacity-1, then 0 .. oldest-1. Slots past the end
  // of a truncated file are skipped (the size finding already names them).
  const std::array<std::pair<std::uint64_t, std::uint64_t>, 2> ranges{{{oldest, capacity}, {0, oldest}}};
  for (const auto& [first, end] : ranges) {
    const std::uint64_t present_end = std::min(end, check.slots_checked);
    for (std::uint64_t slot = first; slot < present_end; slot += chunk_slots) {
      const std::uint64_t count = std::min(chunk_slots, present_end - slot);
      const std::size_t bytes = static_cast<std::size_t>(count * format::record_bytes);
      const std::size_t got = file.read_at(buffer.data(), bytes, format::record_position(slot), path);
      const std::uint64_t complete = got / format::record_bytes;  // the file shrank under us: stop there
      for (std::uint64_t i = 0; i < complete; ++i) walk.visit(slot + i, buffer.data() + i * format::record_bytes);
      if (complete < count) return;
    }
  }
}

}  // namespace

LogCheck check_log(const std::filesystem::path& path) {
  LogCheck check;
  FindingList findings(check);
  const ReadOnlyFile file(path);

  struct stat status {};
  if (::fstat(file.get(), &status) != 0) {
    findings.problem("file", std::nullopt, std::string("fstat failed: ") + std::strerror(errno));
    return check;
  }
  if (S_ISDIR(status.st_mode)) {
    findings.problem("file", std::nullopt, "the path is a directory, not a VRRL log file");
    return check;
  }
  if (!S_ISREG(status.st_mode)) {
    findings.problem("file", std::nullopt, "the path is not a regular file, so it is not a VRRL log file");
    return check;
  }
  const auto size = static_cast<std::uint64_t>(status.st_size);
  if (size == 0) {
    findings.problem("file", std::nullopt, "the file is empty, not a VRRL log (a log has at least a 32-byte header)");
    return check;
  }

  std::array<std::byte, format::header_bytes> header{};
  const std::size_t header_read = file.read_at(header.data(), header.size(), 0, path);
  const std::size_t magic_bytes = std::min(header_read, format::log_magic.size());
  if (magic_bytes == format::log_magic_v2.size() &&
      std::memcmp(header.data(), format::log_magic_v2.data(), format::log_magic_v2.size()) == 0) {
    // v2 records carry commit words that only a check against their sequence
    // can judge; these byte-level checks are v1's. Say so rather than misjudge.
    findings.problem("header", std::nullopt,
                     "the file is a VRRL v2 log (VRRL0002); this verify checks v1 logs only, so nothing was checked "
                     "(vrrl info, dump and stats read v2 logs and validate every record)");
    return check;
  }
  if (magic_bytes < format::log_magic.size() ||
      std::memcmp(header.data(), format::log_magic.data(), format::log_magic.size()) != 0) {
    findings.problem("header", std::nullopt,
                     "the file starts with \"" + printable(header.data(), magic_bytes) +
                         "\", not VRRL0001: it is not a VRRL log");
    return check;
  }
  if (header_read < format::header_bytes) {
    findings.problem("header", std::nullopt,
                     "the file is " + std::to_string(size) + " bytes and ends inside the 32-byte header");
    return check;
  }
  const LogHeader fields = decode_header(header);
  const std::uint32_t flags = fields.flags;
  const std::uint64_t capacity = fields.capacity;
  const std::uint64_t cursor = fields.cursor;
  // The library's rule for version and capacity; the size is checked below,
  // in more detail than check_header gives (which slots are missing).
  if (const auto problem = check_header(fields, format::file_bytes(format::max_capacity))) {
    findings.problem("header", std::nullopt, problem->what_is_wrong);
    return check;
  }
  check.header_valid = true;
  check.capacity = capacity;
  check.flags = flags;
  check.multi_producer = (flags & multi_producer_flag) != 0;
  if (check.multi_producer) {
    findings.note("header", std::nullopt,
                  "flags " + hex32(flags) + ": a multi-producer log (SharedRingLog): records are in claim order, "
                  "so timestamps may go backwards between threads");
  }
  if (const std::uint32_t unknown = flags & ~known_flags; unknown != 0) {
    findings.note("header", std::nullopt,
                  "flags " + hex32(flags) + ": bits " + hex32(unknown) + " mean nothing to this vrrl and are ignored");
  }
  if (cursor >= format::max_cursor) {
    findings.problem("header", std::nullopt,
                     "cursor " + std::to_string(cursor) + " is at or above 2^61: damage, not a count of appends "
                     "(a writer that opens the log restarts it at cursor % capacity; readers by sequence see nothing)");
  } else if (cursor >= capacity) {
    findings.note("header", std::nullopt,
                  "cursor " + std::to_string(cursor) + " is at or above capacity " + std::to_string(capacity) +
                      ": a running count of appends (next slot " + std::to_string(cursor % capacity) + ")");
  }

  const std::uint64_t expected = format::file_bytes(capacity);
  check.slots_checked = std::min(capacity, (size - format::header_bytes) / format::record_bytes);
  if (size < expected) {
    std::string message = "the file is " + std::to_string(size) + " bytes, but capacity " + std::to_string(capacity) +
                          " needs " + std::to_string(expected) + " (truncated): slots " +
                          std::to_string(check.slots_checked) + ".." + std::to_string(capacity - 1) + " are missing";
    if ((size - format::header_bytes) % format::record_bytes != 0) {
      message += " (slot " + std::to_string(check.slots_checked) + " only partly)";
    }
    findings.problem("file", std::nullopt, std::move(message));
  } else if (size > expected) {
    findings.problem("file", std::nullopt,
                     "the file is " + std::to_string(size) + " bytes, " + std::to_string(size - expected) +
                         " more than capacity " + std::to_string(capacity) + " needs (" + std::to_string(expected) +
                         "): trailing bytes no vrrl writer produces");
  }

  check_slots(file, path, check, findings, cursor);
  return check;
}

}  // namespace vrrl::cli
