// The stream-I/O baselines vrrl is compared with, and the memcpy limit. Each
// writes the same 64 bytes per record (encode_record) into a ring-shaped file
// laid out like a VRRL v1 log: 32-byte header, record i at 32 + 64 * (i % slots).
//
//   SeedSeekWriter    the seed's append: lseek + write record + lseek + write cursor
//   PwriteWriter      pwrite record + pwrite cursor (2 syscalls, no seek)
//   AppendWriter      write(2) on an O_APPEND descriptor, record only; truncated
//                     back to the header after each lap (one ftruncate per lap)
//   FwriteWriter      fwrite into a FILE* (default buffer), record only; fseek
//                     back to slot 0 at the end of each lap
//   OfstreamWriter    std::ofstream::write, record only; seekp at the end of a lap
//   MemcpyLimit       64-byte memcpy into a pre-touched shared mapping, no cursor,
//                     no magic protocol: the physical limit for RingLog::append
//
// The buffered writers (fwrite, ofstream) do not write a cursor per record:
// seeking to it would flush the buffer, i.e. cost a syscall per record. That
// makes them faster than a faithful log, and so a generous baseline.
// A failing system call aborts the benchmark: a baseline that silently does
// nothing would make vrrl look slow.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>

#include <vrrl/format.hpp>
#include <vrrl/record.hpp>

#include "workload.hpp"

namespace vrrl::bench {

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "vrrl-bench: %s failed: %s\n", what, std::strerror(errno));
  std::abort();
}

// An open file descriptor, closed on destruction.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Creates `path` afresh as a ring file of `slots` slots: VRRL header, zeroed
// slots, space reserved (posix_fallocate) as RingLog::open does for a new log.
inline void create_ring_file(const std::filesystem::path& path, std::uint64_t slots) {
  std::filesystem::remove(path);
  Fd file(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (file.get() < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  std::array<std::byte, format::header_bytes> header{};
  std::memcpy(header.data(), format::log_magic.data(), format::log_magic.size());
  wire::store_le(header.data() + format::header_offset::version, format::log_version);
  wire::store_le(header.data() + format::header_offset::capacity, slots);
  if (::pwrite(file.get(), header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
      ::posix_fallocate(file.get(), 0, static_cast<off_t>(format::file_bytes(slots))) != 0) {
    throw std::system_error(errno, std::generic_category(), "write " + path.string());
  }
}

// Counts slots and laps the way the seed does (next_slot = (next_slot + 1) % capacity).
class RingPosition {
 public:
  explicit RingPosition(std::uint64_t slots) noexcept : slots_(slots) {}
  [[nodiscard]] std::uint64_t slot() const noexcept { return slot_; }
  [[nodiscard]] std::uint64_t appended() const noexcept { return appended_; }
  // Advances; true when the next record starts a new lap at slot 0.
  bool advance() noexcept {
    ++appended_;
    slot_ = slot_ + 1 == slots_ ? 0 : slot_ + 1;
    return slot_ == 0;
  }

 private:
  std::uint64_t slots_;
  std::uint64_t slot_ = 0;
  std::uint64_t appended_ = 0;
};

class SeedSeekWriter {
 public:
  SeedSeekWriter(const std::filesystem::path& path, std::uint64_t slots)
      : file_((create_ring_file(path, slots), ::open(path.c_str(), O_RDWR | O_CLOEXEC))), ring_(slots) {
    if (file_.get() < 0) die("open");
  }
  void append(const RecordedSlot& slot) noexcept {
    std::array<std::byte, format::record_bytes> record;
    encode_record(record.data(), slot);
    if (::lseek(file_.get(), static_cast<off_t>(format::record_position(ring_.slot())), SEEK_SET) < 0) die("lseek");
    if (::write(file_.get(), record.data(), record.size()) != static_cast<ssize_t>(record.size())) die("write");
    ring_.advance();
    const std::uint64_t cursor = ring_.slot();  // the seed stores next_slot, not a running count
    if (::lseek(file_.get(), format::header_offset::cursor, SEEK_SET) < 0) die("lseek");
    if (::write(file_.get(), &cursor, sizeof cursor) != sizeof cursor) die("write");
  }

 private:
  Fd file_;
  RingPosition ring_;
};

class PwriteWriter {
 public:
  PwriteWriter(const std::filesystem::path& path, std::uint64_t slots)
      : file_((create_ring_file(path, slots), ::open(path.c_str(), O_RDWR | O_CLOEXEC))), ring_(slots) {
    if (file_.get() < 0) die("open");
  }
  void append(const RecordedSlot& slot) noexcept {
    std::array<std::byte, format::record_bytes> record;
    encode_record(record.data(), slot);
    const auto at = static_cast<off_t>(format::record_position(ring_.slot()));
    if (::pwrite(file_.get(), record.data(), record.size(), at) != static_cast<ssize_t>(record.size())) die("pwrite");
    ring_.advance();
    const std::uint64_t cursor = ring_.appended();
    if (::pwrite(file_.get(), &cursor, sizeof cursor, format::header_offset::cursor) != sizeof cursor) die("pwrite");
  }

 private:
  Fd file_;
  RingPosition ring_;
};

class AppendWriter {
 public:
  AppendWriter(const std::filesystem::path& path, std::uint64_t slots)
      : file_((create_ring_file(path, slots), ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC))), ring_(slots) {
    if (file_.get() < 0 || ::ftruncate(file_.get(), format::header_bytes) != 0) die("open");
  }
  void append(const RecordedSlot& slot) noexcept {
    std::array<std::byte, format::record_bytes> record;
    encode_record(record.data(), slot);
    if (::write(file_.get(), record.data(), record.size()) != static_cast<ssize_t>(record.size())) die("write");
    if (ring_.advance() && ::ftruncate(file_.get(), format::header_bytes) != 0) die("ftruncate");
  }

 private:
  Fd file_;
  RingPosition ring_;
};

class FwriteWriter {
 public:
  FwriteWriter(const std::filesystem::path& path, std::uint64_t slots)
      : file_((create_ring_file(path, slots), std::fopen(path.c_str(), "r+b"))), ring_(slots) {
    if (file_ == nullptr || std::fseek(file_, format::header_bytes, SEEK_SET) != 0) die("fopen");
  }
  FwriteWriter(const FwriteWriter&) = delete;
  FwriteWriter& operator=(const FwriteWriter&) = delete;
  ~FwriteWriter() { std::fclose(file_); }
  void append(const RecordedSlot& slot) noexcept {
    std::array<std::byte, format::record_bytes> record;
    encode_record(record.data(), slot);
    if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) die("fwrite");
    if (ring_.advance() && std::fseek(file_, format::header_bytes, SEEK_SET) != 0) die("fseek");
  }

 private:
  std::FILE* file_;
  RingPosition ring_;
};

class OfstreamWriter {
 public:
  OfstreamWriter(const std::filesystem::path& path, std::uint64_t slots)
      : file_((create_ring_file(path, slots), path), std::ios::in | std::ios::out | std::ios::binary), ring_(slots) {
    file_.seekp(format::header_bytes);
    if (!file_) die("ofstream open");
  }
  void append(const RecordedSlot& slot) noexcept {
    std::array<std::byte, format::record_bytes> record;
    encode_record(record.data(), slot);
    file_.write(reinterpret_cast<const char*>(record.data()), record.size());
    if (ring_.advance()) file_.seekp(format::header_bytes);
    if (!file_) die("ofstream write");
  }

 private:
  std::ofstream file_;
  RingPosition ring_;
};

// A writable shared mapping of a ring file, pre-touched (every page written once).
class SharedMapping {
 public:
  SharedMapping(const std::filesystem::path& path, std::uint64_t slots) : bytes_(format::file_bytes(slots)) {
    create_ring_file(path, slots);
    const Fd file(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (file.get() < 0) die("open");
    void* address = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, file.get(), 0);
    if (address == MAP_FAILED) die("mmap");
    base_ = static_cast<std::byte*>(address);
    for (std::size_t at = 0; at < bytes_; at += page_bytes) base_[at] = std::byte{0};
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  ~SharedMapping() { ::munmap(base_, bytes_); }
  [[nodiscard]] std::byte* records() const noexcept { return base_ + format::header_bytes; }

 private:
  std::size_t bytes_;
  std::byte* base_ = nullptr;
};

class MemcpyLimit {
 public:
  MemcpyLimit(const std::filesystem::path& path, std::uint64_t slots)
      : mapping_(path, slots), ring_(slots), record_(std::make_unique<Record>()) {
    encode_record(record_->data(), sample_slot(0));
  }
  // Copies the same pre-encoded record each time. (The record lives on the
  // heap so the compiler loads it instead of rebuilding it on the stack, which
  // costs a store-forwarding stall per record and made this "limit" slower than vrrl.)
  void append(const RecordedSlot&) noexcept {
    std::memcpy(mapping_.records() + ring_.slot() * format::record_bytes, record_->data(), record_->size());
    ring_.advance();
  }

 private:
  using Record = std::array<std::byte, format::record_bytes>;
  SharedMapping mapping_;
  RingPosition ring_;
  std::unique_ptr<Record> record_;
};

}  // namespace vrrl::bench
