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
#include "support/child_process.hpp"
#include "support/self_checking_record.hpp"

namespace vrrl::test {


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
