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
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include <vrrl/error.hpp>
#include <vrrl/format.hpp>
#include <vrrl/header.hpp>
#include <vrrl/record.hpp>

#include "log_check_parts.hpp"
#include "log_flags.hpp"

namespace vrrl::cli {
namespace log_check_parts {

ReadOnlyFile::ReadOnlyFile(const std::filesystem::path& path)
    : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) {
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

ReadOnlyFile::~ReadOnlyFile() { ::close(fd_); }

std::size_t ReadOnlyFile::read_at(std::byte* into, std::size_t size, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd_, into + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      throw Error({.kind = ErrorKind::io,
                   .operation = "verify",
                   .path = path_,
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

void FindingList::problem(std::string_view kind, std::optional<std::uint64_t> slot, std::string message) {
  ++check_.problems;
  add(kind, Finding::Severity::problem, slot, std::move(message));
}

void FindingList::note(std::string_view kind, std::optional<std::uint64_t> slot, std::string message) {
  add(kind, Finding::Severity::note, slot, std::move(message));
}

void FindingList::add(std::string_view kind, Finding::Severity severity, std::optional<std::uint64_t> slot,
                      std::string message) {
  auto counter = std::find_if(listed_.begin(), listed_.end(), [&](const auto& entry) { return entry.first == kind; });
  if (counter == listed_.end()) counter = listed_.insert(listed_.end(), {kind, 0});
  if (counter->second++ >= max_listed) {
    ++check_.unlisted;
    return;
  }
  check_.findings.push_back({severity, slot, std::move(message)});
}

void RecordOrder::empty(std::uint64_t slot) {
  if (previous_) pending_empty_.push_back(slot);
}

void RecordOrder::record(std::uint64_t slot, std::uint64_t timestamp) {
  // Empty slots after an earlier record and before this one: a hole. A writer
  // killed mid-append leaves an empty slot only at the oldest or newest end.
  for (std::uint64_t empty : pending_empty_) {
    findings_.note("hole", empty, "empty slot between records (a slot was cleared or the file was edited)");
  }
  pending_empty_.clear();
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

void walk_slots(const ReadOnlyFile& file, const format::Layout& layout, std::uint64_t capacity,
                std::uint64_t slots_present, std::uint64_t cursor,
                const std::function<void(std::uint64_t slot, const std::byte* bytes)>& visit) {
  constexpr std::uint64_t chunk_slots = 4096;  // 256 KiB per read
  std::vector<std::byte> buffer(chunk_slots * format::record_bytes);
  const std::uint64_t oldest = cursor % capacity;
  // Replay order: oldest .. capacity-1, then 0 .. oldest-1. Slots past the end
  // of a truncated file are skipped (the size finding already names them).
  const std::array<std::pair<std::uint64_t, std::uint64_t>, 2> ranges{{{oldest, capacity}, {0, oldest}}};
  for (const auto& [first, end] : ranges) {
    const std::uint64_t present_end = std::min(end, slots_present);
    for (std::uint64_t slot = first; slot < present_end; slot += chunk_slots) {
      const std::uint64_t count = std::min(chunk_slots, present_end - slot);
      const std::size_t bytes = static_cast<std::size_t>(count * format::record_bytes);
      const std::size_t got = file.read_at(buffer.data(), bytes, layout.record_position(slot));
      const std::uint64_t complete = got / format::record_bytes;  // the file shrank under us: stop there
      for (std::uint64_t i = 0; i < complete; ++i) visit(slot + i, buffer.data() + i * format::record_bytes);
      if (complete < count) return;
    }
  }
}

std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

}  // namespace log_check_parts

namespace {

using namespace log_check_parts;

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

void check_v1_slots(const ReadOnlyFile& file, std::uint64_t cursor, LogCheck& check, FindingList& findings) {
  RecordOrder order(check, findings);
  walk_slots(file, format::layout_v1, check.capacity, check.slots_checked, cursor,
             [&](std::uint64_t slot, const std::byte* bytes) {
               const RecordView record(bytes);
               const std::uint32_t magic = record.magic();
               if (magic == format::empty_record_magic) {
                 ++check.empty_slots;
                 order.empty(slot);
               } else if (magic != format::record_magic) {
                 ++check.bad_magic_slots;
                 findings.problem("magic", slot,
                                  "record magic " + hex32(magic) +
                                      " is neither 0xDEADBEEF (a record) nor 0 (empty)");
               } else {
                 ++check.records;
                 order.record(slot, record.timestamp_ns());
               }
             });
}

// v2: bytes 40..4095 of the header page are reserved and written as zeros.
// Not a problem when they are not: a later format revision may use them.
void check_v2_reserved_bytes(const ReadOnlyFile& file, FindingList& findings) {
  std::vector<std::byte> page(format::header_bytes_v2);
  const std::size_t got = file.read_at(page.data(), page.size(), 0);
  const auto reserved_begin = page.begin() + static_cast<std::ptrdiff_t>(header_read_bytes);
  const auto reserved_end = page.begin() + static_cast<std::ptrdiff_t>(got);
  if (reserved_begin >= reserved_end) return;
  const auto non_zero = std::count_if(reserved_begin, reserved_end, [](std::byte b) { return b != std::byte{0}; });
  if (non_zero != 0) {
    findings.note("header", std::nullopt,
                  std::to_string(non_zero) + " of the reserved header bytes " + std::to_string(header_read_bytes) +
                      ".." + std::to_string(format::header_bytes_v2 - 1) +
                      " are not zero: vrrl writes zeros there and reads nothing from them (a newer vrrl, or "
                      "damage)");
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

  std::array<std::byte, header_read_bytes> header{};
  const std::size_t header_read = file.read_at(header.data(), header.size(), 0);
  const std::size_t magic_bytes = std::min(header_read, format::log_magic.size());
  const auto starts_with = [&](const std::array<char, 8>& magic) {
    return magic_bytes == magic.size() && std::memcmp(header.data(), magic.data(), magic.size()) == 0;
  };
  const bool v2 = starts_with(format::log_magic_v2);
  if (!v2 && !starts_with(format::log_magic)) {
    findings.problem("header", std::nullopt,
                     "the file starts with \"" + printable(header.data(), magic_bytes) +
                         "\", not VRRL0001 (v1) or VRRL0002 (v2): it is not a VRRL log");
    return check;
  }
  // v2's header fields take 40 bytes (`synced` follows v1's 32).
  const std::size_t header_fields = v2 ? header_read_bytes : format::header_bytes;
  if (header_read < header_fields) {
    findings.problem("header", std::nullopt,
                     "the file is " + std::to_string(size) + " bytes and ends inside the " +
                         std::to_string(header_fields) + "-byte header" + (v2 ? " fields of VRRL v2" : ""));
    return check;
  }
  const LogHeader fields = decode_header(std::span<const std::byte>(header.data(), header_read));
  const std::uint32_t flags = fields.flags;
  const std::uint64_t capacity = fields.capacity;
  const std::uint64_t cursor = fields.cursor;
  // The library's rule for version and capacity; the size is checked below,
  // in more detail than check_header gives (which slots are missing).
  if (const auto problem = check_header(fields, std::numeric_limits<std::uint64_t>::max())) {
    findings.problem("header", std::nullopt, problem->what_is_wrong);
    return check;
  }
  const format::Layout layout = format::layout_of(*fields.format());
  check.header_valid = true;
  check.format = layout.format;
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
  if (v2) {
    check.synced = fields.synced;
    // The writer records the cursor it synced up to, after that sync, in the
    // same page as the cursor: no version of the page has synced > cursor.
    if (fields.synced > cursor) {
      findings.problem("header", std::nullopt,
                       "synced " + std::to_string(fields.synced) + " is above the cursor " + std::to_string(cursor) +
                           ": a sync cannot have made more records durable than were appended (header damage; "
                           "slots then read as torn rather than corrupted)");
    }
    check_v2_reserved_bytes(file, findings);
  }

  const std::uint64_t expected = layout.file_bytes(capacity);
  const std::uint64_t slot_bytes = size > layout.header_bytes ? size - layout.header_bytes : 0;
  check.slots_checked = std::min(capacity, slot_bytes / format::record_bytes);
  if (size < expected) {
    std::string message = "the file is " + std::to_string(size) + " bytes, but capacity " + std::to_string(capacity) +
                          " needs " + std::to_string(expected) + " (truncated): slots " +
                          std::to_string(check.slots_checked) + ".." + std::to_string(capacity - 1) + " are missing";
    if (size < layout.header_bytes) {
      message += " (the file ends inside the " + std::to_string(layout.header_bytes) + "-byte header page)";
    } else if (slot_bytes % format::record_bytes != 0) {
      message += " (slot " + std::to_string(check.slots_checked) + " only partly)";
    }
    findings.problem("file", std::nullopt, std::move(message));
  } else if (size > expected) {
    findings.problem("file", std::nullopt,
                     "the file is " + std::to_string(size) + " bytes, " + std::to_string(size - expected) +
                         " more than capacity " + std::to_string(capacity) + " needs (" + std::to_string(expected) +
                         "): trailing bytes no vrrl writer produces");
  }

  if (v2) {
    check_v2_slots(file, fields, check, findings);
  } else {
    check_v1_slots(file, cursor, check, findings);
  }
  return check;
}

}  // namespace vrrl::cli
