// The shipper's position, in a small text file beside the log
// (`LOG.ship-<stream>.cursor`), so a restarted `vrrl ship` resumes where the
// stream has everything before it:
//
//   vrrl-ship-cursor 1
//   source gpu-node-3
//   name run
//   stream FLEET
//   next-sequence 1048576
//
// `next-sequence` N promises that every sequence below N is in the JetStream
// stream (stored, or announced lost by a gap message): it is written only
// after the acknowledgements. It may lag behind what is stored (it is written
// at most every 100 ms); a restart then resends the batches in between, which
// the stream drops as duplicates. Written atomically: a temporary file,
// fsync, rename over the old one, fsync of the directory, so a crash at any
// point leaves the old or the new position, never a torn one.
//
// A lock file beside it (`.lock`, flock) keeps two shippers from shipping
// one log into one stream at the same time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace vrrl::ship {

struct ShipCursor {
  std::string source_id;
  std::string stream_name;
  std::string jetstream_stream;
  std::uint64_t next_sequence = 0;

  friend bool operator==(const ShipCursor&, const ShipCursor&) = default;
};

class CursorFile {
 public:
  // Takes the lock; throws ship::Failure if another vrrl ship holds it or the
  // directory is not writable.
  explicit CursorFile(std::filesystem::path path);
  CursorFile(CursorFile&& other) noexcept;
  CursorFile& operator=(CursorFile&&) = delete;
  CursorFile(const CursorFile&) = delete;
  CursorFile& operator=(const CursorFile&) = delete;
  ~CursorFile();

  // Nullopt when there is no cursor file yet; ship::Failure when it is not one.
  [[nodiscard]] std::optional<ShipCursor> load() const;
  // Replaces the file atomically and durably (see above). Throws ship::Failure.
  void store(const ShipCursor& cursor);
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

// The text of a cursor file, and back (nullopt and `why` when malformed).
[[nodiscard]] std::string format_cursor(const ShipCursor& cursor);
[[nodiscard]] std::optional<ShipCursor> parse_cursor(const std::string& text, std::string& why);

}  // namespace vrrl::ship
