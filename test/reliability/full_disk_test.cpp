// A full disk. On a tiny tmpfs mounted in a private mount namespace (skipped
// with a message when that is not permitted), creating a log that does not
// fit fails at open with ErrorKind::io naming ENOSPC and leaves nothing
// behind: the file is built under a temporary name, its blocks reserved with
// posix_fallocate, and linked into place only when complete.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/mount.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <vrrl/header.hpp>

#include "fault_support.hpp"
#include "support/temp_dir.hpp"

using vrrl::test::cannot_mount;
using vrrl::test::on_tiny_tmpfs;

TEST_CASE("full disk: open fails with ENOSPC and leaves nothing half-created", "[reliability][full_disk]") {
  vrrl::test::TempDir dir;
  const auto mount_point = dir.file("tiny");
  std::filesystem::create_directory(mount_point);
  // 64 KiB of tmpfs: a 4096-slot log (256 KiB) cannot fit, a 64-slot one can.
  const int status = on_tiny_tmpfs(mount_point, 64, [&]() -> int {
    const auto path = mount_point / "big.vrrl";
    try {
      (void)vrrl::RingLog::open(path, 4096);
      return 10;
    } catch (const vrrl::Error& e) {
      const std::string what = e.what();
      if (e.kind() != vrrl::ErrorKind::io) return 11;
      if (e.errno_value() != ENOSPC) return 12;
      if (what.find("No space left on device") == std::string::npos) return 13;
      if (what.find("posix_fallocate") == std::string::npos) return 14;
      if (what.find("Fix: free at least 262176 bytes") == std::string::npos) return 15;
    }
    if (vrrl::test::entries_in(mount_point) != 0) return 16;  // no log, no temporary
    // The space is free again: a log that fits is created and works.
    vrrl::RingLog small = vrrl::RingLog::open(mount_point / "small.vrrl", 64);
    small.append(vrrl::test::make_record(1).slot);
    small.sync();
    if (vrrl::LogReader::open(mount_point / "small.vrrl").replay_all().size() != 1) return 17;
    if (vrrl::test::entries_in(mount_point) != 1) return 18;
    return 0;
  });
  if (vrrl::test::exit_code(status) == cannot_mount) {
    WARN("skipped: cannot mount a private tmpfs here (needs CAP_SYS_ADMIN / unshare -m)");
    return;
  }
  INFO("child exit status " << status << " (see the numbered checks in the test)");
  CHECK(vrrl::test::exit_code(status) == 0);
  CHECK(vrrl::test::entries_in(mount_point) == 0);  // the mount was private to the child
}

TEST_CASE("full disk: a log that exactly fills the filesystem still opens", "[reliability][full_disk]") {
  vrrl::test::TempDir dir;
  const auto mount_point = dir.file("tiny");
  std::filesystem::create_directory(mount_point);
  // 16 pages of tmpfs; 255 slots + header = 16352 bytes = 4 pages. Fill most
  // of the rest first, so the log needs the last free pages.
  const int status = on_tiny_tmpfs(mount_point, 64, [&]() -> int {
    {
      std::vector<char> filler(12 * 4096, 'x');
      FILE* file = std::fopen((mount_point / "filler").c_str(), "wb");
      if (file == nullptr || std::fwrite(filler.data(), 1, filler.size(), file) != filler.size()) return 20;
      std::fclose(file);
    }
    vrrl::RingLog log = vrrl::RingLog::open(mount_point / "log.vrrl", 255);
    for (std::uint64_t n = 0; n < 600; ++n) log.append(vrrl::test::make_record(n).slot);  // no SIGBUS
    log.sync();
    return log.replay_all().size() == 255 ? 0 : 21;
  });
  if (vrrl::test::exit_code(status) == cannot_mount) {
    WARN("skipped: cannot mount a private tmpfs here (needs CAP_SYS_ADMIN / unshare -m)");
    return;
  }
  CHECK(vrrl::test::exit_code(status) == 0);
}

TEST_CASE("full disk: a sparse existing log (as the seed creates) fails at open, never SIGBUS in append",
          "[reliability][full_disk]") {
  vrrl::test::TempDir dir;
  const auto mount_point = dir.file("tiny");
  std::filesystem::create_directory(mount_point);
  const int status = on_tiny_tmpfs(mount_point, 64, [&]() -> int {
    const auto path = mount_point / "seed.vrrl";
    // The seed's create: set_len (a sparse file), then the header at offset 0.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return 30;
    const std::uint64_t capacity = 1023;  // 16 pages, more than the free space left below
    if (::ftruncate(fd, static_cast<off_t>(vrrl::format::file_bytes(capacity))) != 0) return 31;
    const auto header = vrrl::encode_header({.flags = 0, .capacity = capacity, .cursor = 0});
    if (::pwrite(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) return 32;
    ::close(fd);
    // Take every free page.
    {
      FILE* file = std::fopen((mount_point / "filler").c_str(), "wb");
      if (file == nullptr) return 33;
      std::vector<char> page(4096, 'x');
      while (std::fwrite(page.data(), 1, page.size(), file) == page.size() && std::fflush(file) == 0) {
      }
      std::fclose(file);
    }
    try {
      auto log = vrrl::RingLog::open(path, capacity);
      for (std::uint64_t n = 0; n < capacity; ++n) log.append(vrrl::test::make_record(n).slot);
      return 34;  // every page could be backed after all: the test's setup is wrong
    } catch (const vrrl::Error& e) {
      if (e.kind() != vrrl::ErrorKind::io || e.errno_value() != ENOSPC) return 35;
      const std::string what = e.what();
      if (what.find("sparse") == std::string::npos || what.find("Fix: ") == std::string::npos) return 36;
    }
    // A reader either reads it or says why it cannot (on a full tmpfs the
    // holes need memory to be read): never a SIGBUS.
    try {
      return vrrl::LogReader::open(path).replay_all().empty() ? 0 : 37;
    } catch (const vrrl::Error& e) {
      const std::string what = e.what();
      return e.kind() == vrrl::ErrorKind::io && what.find("sparse") != std::string::npos ? 0 : 38;
    }
  });
  if (vrrl::test::exit_code(status) == cannot_mount) {
    WARN("skipped: cannot mount a private tmpfs here (needs CAP_SYS_ADMIN / unshare -m)");
    return;
  }
  INFO("child wait status " << status << (WIFSIGNALED(status) ? " (killed by a signal: SIGBUS?)" : ""));
  CHECK(vrrl::test::exit_code(status) == 0);
}
