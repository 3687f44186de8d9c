// Helpers shared by the reliability suites: the raw bytes of a self-checking
// record (support/self_checking_record.hpp), running a fault in a forked
// child, and byte surgery on files.
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

#include "support/expect_error.hpp"
#include "support/self_checking_record.hpp"

namespace vrrl::test {

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
