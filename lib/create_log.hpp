// detail::create_log: makes a new, complete, empty log appear at a path in one
// step, so no reader and no crash ever sees a half-created one. Private to lib/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include <vrrl/format.hpp>

#include "file_descriptor.hpp"
#include "writer_lock.hpp"

namespace vrrl::detail {

struct CreatedLog {
  FileDescriptor file;  // open read-write
  WriterLock lock;      // taken before the log became visible
};

// Where a log opened at `path` lives: `path` itself, or, when `path` is a
// symbolic link (dangling or not), the file it finally points to, as open(2)
// would follow it. Throws io (ELOOP) after 40 links, like the kernel.
[[nodiscard]] std::filesystem::path resolve_symlinks(const std::filesystem::path& path);

// Links an O_TMPFILE descriptor at `path` (which must not exist). `unsupported`
// when the filesystem or the process cannot (then the caller builds under a
// hidden name instead). Also used for the in-memory ring (lib/live_ring.cpp).
enum class LinkResult { linked, exists, unsupported };
[[nodiscard]] LinkResult link_unnamed(int fd, const std::filesystem::path& path);

// Creates a log of `capacity` slots at `path` (which must not exist; a
// symbolic link is not followed here: resolve it first). The file is built
// unnamed (O_TMPFILE) or under a short hidden name in the same directory,
// its blocks reserved (posix_fallocate: a full disk fails here with ENOSPC),
// the header written and fsynced, then linked into place and the directory
// fsynced. Returns nothing when another process created `path` first.
// `cursor` is the new header's cursor: 0 for a log, the segment's first
// sequence for a recording segment (a multiple of `capacity`).
[[nodiscard]] std::optional<CreatedLog> create_log(const std::filesystem::path& path, std::uint64_t capacity,
                                                  Format format, std::uint64_t cursor = 0);

}  // namespace vrrl::detail
