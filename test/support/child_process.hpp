// Running part of a test in a forked child: its wait status, its exit code,
// and a child with a tiny tmpfs of its own (for full-disk cases).
#pragma once

#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

namespace vrrl::test {

// Runs `body` in a forked child and returns its wait status. The child ends
// with _exit(body()), so no Catch2 state or destructor of the parent runs
// twice. The parent must have no background threads then.
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

// What on_tiny_tmpfs' child exits with when it may not mount here.
constexpr int cannot_mount = 50;

// In a child with its own mount namespace: a `size_kib` tmpfs over `where`,
// then `body`; returns the child's wait status.
template <class Fn>
int on_tiny_tmpfs(const std::filesystem::path& where, int size_kib, Fn&& body) {
  return run_in_child([&]() -> int {
    if (::unshare(CLONE_NEWNS) != 0) return cannot_mount;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return cannot_mount;
    const std::string options = "size=" + std::to_string(size_kib) + "k";
    if (::mount("vrrl-tiny", where.c_str(), "tmpfs", 0, options.c_str()) != 0) return cannot_mount;
    return body();
  });
}

}  // namespace vrrl::test
