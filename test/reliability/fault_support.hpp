// Helpers shared by the reliability suites: self-checking records (every
// field a function of the append's sequence number, so a record mixing two
// appends is recognisable), running a fault in a forked child, and byte
// surgery on files.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <vector>

#include <vrrl/ring_log.hpp>

namespace vrrl::test {

inline RecordedSlot self_checking_record(std::uint64_t n) {
  const auto low = static_cast<std::uint32_t>(n);
  const std::uint32_t mix = low * 2654435761u;
  return {n, low, mix ^ 0xA5A5A5A5u, ~low, {mix, mix + 1, mix ^ low, low * 3}, mix >> 7};
}

inline FailureEvidence self_checking_evidence(std::uint64_t n) {
  const auto low = static_cast<std::uint32_t>(n);
  return {low + 11, failure_class_from_u32(low % 5), ~low * 7, n * 0x9E3779B97F4A7C15ULL};
}

// The 64 bytes append(n) writes, for comparing raw slot bytes.
inline std::vector<std::byte> self_checking_bytes(std::uint64_t n) {
  std::vector<std::byte> bytes(format::record_bytes);
  wire::store_le(bytes.data() + format::record_offset::magic, format::record_magic);
  wire::encode_body(bytes.data(), self_checking_record(n), self_checking_evidence(n));
  return bytes;
}

inline bool is_record_of(const RecordView& view, std::uint64_t n) {
  return view.slot() == self_checking_record(n) && view.failure() == self_checking_evidence(n);
}

template <class Fn>
Error expect_error(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a vrrl::Error");
  throw std::logic_error("unreachable");
}

// Runs `body` in a forked child and returns its wait status. The child ends
// with _exit(body()), so no Catch2 state or destructor of the parent runs twice.
template <class Fn>
int run_in_child(Fn&& body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return status;
}

inline std::optional<int> exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return std::nullopt;
}

inline void pwrite_bytes(const std::filesystem::path& path, off_t offset, const void* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, data, size, offset) == static_cast<ssize_t>(size));
  ::close(fd);
}

template <class T>
void put_at(const std::filesystem::path& path, off_t offset, T value) {
  pwrite_bytes(path, offset, &value, sizeof value);
}

}  // namespace vrrl::test
