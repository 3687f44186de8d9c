// detail::LiveRing: the in-memory ring of a RingLog opened with sync_every,
// the file the appender writes into, and the rule that decides at open
// whether an in-memory ring left behind (by a killed process) continues the
// disk file's history or not. Private to lib/.
//
// The ring is a file in the live directory (a tmpfs, /dev/shm by default)
// named after the disk file's device and inode,
//   vrrl-live-<device hex>-<inode hex>.vrrl
// holding a complete log in the disk file's format (VRRL v1 or v2, readable
// by every vrrl tool) and, after the log on its own 4 KiB page, a trailer:
// which disk file it belongs to (device, inode, birth time, path), the boot it
// was written in, its capacity, the durable count of the last completed pass,
// the cursor the pass in flight writes to the disk header, and the disk's
// bytes of the last durable slot.
//
// The rule at open (docs/design.md, "Durable without stalls"): the ring wins,
// and open catches the disk file up from it, only when it provably continues
// the disk file's history:
//   * a regular file owned by this user, a valid log with the disk file's
//     format and capacity, a valid trailer naming this disk file (device,
//     inode, birth time) and this boot;
//   * the disk's header cursor is one the engine can have left there: between
//     the durable count and the in-flight cursor, which the ring's cursor is
//     not below;
//   * the disk's last durable slot is the one the trailer remembers, and every
//     record the disk holds that the ring still holds is byte for byte the
//     ring's; no slot of either has a foreign magic (v2: a commit word that
//     checks for no sequence of its slot near the cursor).
// Otherwise the disk file wins: it is the log, as it is. The ring is not
// deleted: it is renamed aside (`<name>.set-aside-<unix ns>.vrrl`, still a
// valid log) and reported, and a fresh ring is made from the disk file. Rings
// in the directory that name the same path but another file (the disk file
// was replaced or recreated) are set aside the same way. Never are the two
// histories merged.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include <vrrl/format.hpp>
#include <vrrl/ring_log.hpp>

#include "file_descriptor.hpp"
#include "log_file.hpp"
#include "mirror.hpp"

namespace vrrl::detail {

// Which file a disk log is: the name of its ring, and the check that a ring
// found under that name is its own (an inode number is reused after a delete;
// the birth time is not, where the filesystem records one).
struct DiskIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t birth_sec = 0;  // 0 and 0: the filesystem does not say
  std::uint32_t birth_nsec = 0;

  friend bool operator==(const DiskIdentity&, const DiskIdentity&) = default;
};

// statx of the open disk file; throws io.
[[nodiscard]] DiskIdentity identify(int fd, const std::filesystem::path& path);

// "vrrl-live-<device hex>-<inode hex>.vrrl"
[[nodiscard]] std::string live_ring_file_name(const DiskIdentity& disk);

// The ring in use, and the trailer updates of each pass (Mirror::Journal).
class LiveRing final : public Mirror::Journal {
 public:
  struct Attached;
  // Finds, checks and, by the rule above, resumes or sets aside and replaces
  // the ring of `disk` (open, locked) in `directory`. Errors (io, with a Fix):
  // the directory is missing or not writable, or has no room for a new ring
  // (nothing is created then), or something that is not this user's regular
  // file sits at the ring's name (nothing is touched).
  [[nodiscard]] static Attached attach(const std::filesystem::path& directory, const LogFile& disk,
                                       const std::filesystem::path& canonical_disk_path);

  LiveRing(const LiveRing&) = delete;
  LiveRing& operator=(const LiveRing&) = delete;
  LiveRing(LiveRing&&) noexcept = default;
  LiveRing& operator=(LiveRing&&) noexcept = default;
  ~LiveRing() = default;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

  void pass_started(std::uint64_t target) override;
  void pass_completed(std::uint64_t durable, std::span<const std::byte, format::record_bytes> last_slot) override;

  // After the last pass made everything durable: removes the ring (if the
  // name still is this ring), so a clean close leaves only the disk file.
  void remove() noexcept;

 private:
  LiveRing(std::filesystem::path path, FileDescriptor file, const format::Layout& layout,
           std::uint64_t capacity) noexcept;

  std::filesystem::path path_;
  FileDescriptor file_;  // read-write, for the trailer
  std::uint64_t trailer_at_;
};

struct LiveRing::Attached {
  std::unique_ptr<LogFile> file;  // the ring, open for appending (locked, prefaulted)
  LiveRing ring;
  std::uint64_t durable = 0;        // records of the ring known to be on the disk
  bool resumed = false;             // a ring left behind continues; the disk must be caught up
  bool created = false;             // this open made the ring (remove it if the open fails later)
  std::filesystem::path set_aside;  // a ring renamed aside, or empty
};

}  // namespace vrrl::detail
