// `vrrl verify` on each bad file kind: exit 1 with a message naming the
// problem (or 2 for a usage error), never a crash or a hang. The path of the
// vrrl binary is the first argument (test/reliability/meson.build).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>

#include "fault_support.hpp"
#include "support/seed_model.hpp"
#include "support/temp_dir.hpp"

namespace {

std::string vrrl_binary() {
  const char* from_env = std::getenv("VRRL_BINARY");
  return from_env != nullptr ? from_env : "";
}

struct Run {
  int status = 0;
  std::string output;  // stdout and stderr together
};

// Runs `vrrl verify ARGS...`, killed by SIGALRM after 20 s so a hang fails.
Run verify(const std::vector<std::string>& args, bool as_nobody = false) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    if (as_nobody && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(97);
    ::alarm(20);
    std::vector<std::string> argv_strings{vrrl_binary(), "verify"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(96);
  }
  ::close(pipe_fds[1]);
  Run run;
  char buffer[4096];
  for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) run.output.append(buffer, got);
  ::close(pipe_fds[0]);
  REQUIRE(::waitpid(child, &run.status, 0) == child);
  return run;
}

// Whether `nobody` can reach and execute the vrrl binary (a build tree under a
// private directory, e.g. one made by mktemp -d, is out of its reach).
bool nobody_can_run_vrrl() {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(1);
    ::_exit(::access(vrrl_binary().c_str(), X_OK) == 0 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void make_log(const std::filesystem::path& path, std::uint64_t capacity, std::uint64_t count) {
  vrrl::RingLog log = vrrl::RingLog::open(path, capacity);
  for (std::uint64_t n = 0; n < count; ++n) log.append(vrrl::test::make_record(n).slot);
}

// Exit 1, not killed, and the output says "problem" and what the check names.
void expect_problem(const Run& run, const std::string& mentions) {
  INFO(run.output);
  REQUIRE(WIFEXITED(run.status));
  CHECK(WEXITSTATUS(run.status) == 1);
  CHECK_THAT(run.output, Catch::Contains(mentions, Catch::CaseSensitive::No));
}

}  // namespace

TEST_CASE("vrrl verify reports every bad file kind with exit 1 and a clear message", "[reliability][cli]") {
  REQUIRE_FALSE(vrrl_binary().empty());
  vrrl::test::TempDir dir;
  const auto path = dir.file("log.vrrl");

  SECTION("a good log is clean, exit 0") {
    make_log(path, 8, 11);
    const Run run = verify({path.string()});
    INFO(run.output);
    CHECK(WIFEXITED(run.status));
    CHECK(WEXITSTATUS(run.status) == 0);
    CHECK_THAT(run.output, Catch::Contains("clean"));
  }
  SECTION("zero-length") {
    vrrl::test::write_bytes(path, {});
    expect_problem(verify({path.string()}), "empty");
  }
  SECTION("shorter than the header") {
    make_log(path, 8, 0);
    std::filesystem::resize_file(path, 20);
    expect_problem(verify({path.string()}), "32-byte header");
  }
  SECTION("header fine, body truncated") {
    make_log(path, 8, 3);
    std::filesystem::resize_file(path, 32 + 64 * 5 + 10);
    expect_problem(verify({path.string()}), "bytes");
  }
  SECTION("wrong magic") {
    make_log(path, 8, 3);
    vrrl::test::pwrite_bytes(path, 0, "NOTAVRRL", 8);
    expect_problem(verify({path.string()}), "not VRRL0001");
  }
  SECTION("wrong version") {
    make_log(path, 8, 3);
    vrrl::test::put_at<std::uint32_t>(path, 8, 7);
    expect_problem(verify({path.string()}), "version");
  }
  SECTION("capacity 0") {
    make_log(path, 8, 3);
    vrrl::test::put_at<std::uint64_t>(path, 16, 0);
    expect_problem(verify({path.string()}), "capacity");
  }
  SECTION("capacity over max") {
    make_log(path, 8, 3);
    vrrl::test::put_at<std::uint64_t>(path, 16, vrrl::format::max_capacity + 1);
    expect_problem(verify({path.string()}), "capacity");
  }
  SECTION("a bad slot magic, named by slot") {
    make_log(path, 8, 8);
    vrrl::test::put_at<std::uint32_t>(path, 32 + 64 * 5, 0x12345678);
    expect_problem(verify({path.string()}), "slot 5");
  }
  SECTION("random bit flips: exit 0 or 1, never a crash") {
    make_log(path, 70, 100);
    const auto pristine = vrrl::test::read_bytes(path);
    std::mt19937_64 random(61);
    for (int trial = 0; trial < 40; ++trial) {
      auto bytes = pristine;
      for (int f = 0; f < 3; ++f) bytes[random() % bytes.size()] ^= static_cast<unsigned char>(1u << (random() % 8));
      vrrl::test::write_bytes(path, bytes);
      const Run run = verify({path.string()});
      INFO(run.output);
      REQUIRE(WIFEXITED(run.status));
      CHECK(WEXITSTATUS(run.status) <= 1);
    }
  }
  SECTION("a directory") {
    std::filesystem::create_directory(path);
    expect_problem(verify({path.string()}), "directory");
  }
  SECTION("a fifo, without hanging") {
    REQUIRE(::mkfifo(path.c_str(), 0644) == 0);
    expect_problem(verify({path.string()}), "not a regular file");
  }
  SECTION("a path in a missing directory") {
    expect_problem(verify({(dir.path() / "missing" / "log.vrrl").string()}), "No such file");
  }
  SECTION("no permission") {
    if (!nobody_can_run_vrrl()) {
      WARN("skipped: user nobody cannot execute " << vrrl_binary() << " (build tree not reachable by others)");
      return;
    }
    make_log(path, 8, 3);
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all | std::filesystem::perms::others_exec);
    expect_problem(verify({path.string()}, /*as_nobody=*/true), "Permission denied");
  }
  SECTION("usage error: exit 2") {
    const Run run = verify({});
    INFO(run.output);
    REQUIRE(WIFEXITED(run.status));
    CHECK(WEXITSTATUS(run.status) == 2);
  }
}

namespace {

void make_v2_log(const std::filesystem::path& path, std::uint64_t capacity, std::uint64_t count) {
  vrrl::RingLog log = vrrl::RingLog::open(path, capacity, {.format = vrrl::Format::v2});
  for (std::uint64_t n = 0; n < count; ++n) log.append(vrrl::test::make_record(n).slot);
  log.sync();  // synced = count: every record is vouched for
}

constexpr off_t v2_slot(std::uint64_t slot) { return static_cast<off_t>(vrrl::format::layout_v2.record_position(slot)); }

}  // namespace

TEST_CASE("vrrl verify judges every slot of a VRRL v2 log, never crashing", "[reliability][cli][v2]") {
  REQUIRE_FALSE(vrrl_binary().empty());
  vrrl::test::TempDir dir;
  const auto path = dir.file("log.vrrl");

  SECTION("a good v2 log is clean, exit 0") {
    make_v2_log(path, 8, 11);
    const Run run = verify({path.string()});
    INFO(run.output);
    REQUIRE(WIFEXITED(run.status));
    CHECK(WEXITSTATUS(run.status) == 0);
    CHECK_THAT(run.output, Catch::Contains("(VRRL v2, synced 11): 8 records"));
  }
  SECTION("a changed byte in a synced record: corrupted, named by slot") {
    make_v2_log(path, 8, 11);
    vrrl::test::put_at<std::uint32_t>(path, v2_slot(5) + 20, 0x12345678);  // sequence 5's opcode
    expect_problem(verify({path.string()}), "slot 5: corrupted");
  }
  SECTION("a changed byte in a record after the last sync: torn") {
    make_v2_log(path, 8, 11);
    vrrl::test::put_at<std::uint64_t>(path, 32, 4);                        // synced 4
    vrrl::test::put_at<std::uint32_t>(path, v2_slot(5) + 20, 0x12345678);  // sequence 5 >= 4
    expect_problem(verify({path.string()}), "slot 5: torn");
  }
  SECTION("truncated inside the header page") {
    make_v2_log(path, 8, 3);
    std::filesystem::resize_file(path, 1000);
    expect_problem(verify({path.string()}), "4096-byte header page");
  }
  SECTION("synced above the cursor") {
    make_v2_log(path, 8, 3);
    vrrl::test::put_at<std::uint64_t>(path, 32, 4);
    expect_problem(verify({path.string()}), "synced 4 is above the cursor 3");
  }
  SECTION("random bit flips: exit 0 or 1, never a crash") {
    make_v2_log(path, 70, 100);
    const auto pristine = vrrl::test::read_bytes(path);
    std::mt19937_64 random(62);
    for (int trial = 0; trial < 40; ++trial) {
      auto bytes = pristine;
      for (int f = 0; f < 3; ++f) {
        // Half the flips in the 40 header bytes that mean something, half anywhere.
        const std::size_t at = f == 0 ? random() % 40 : random() % bytes.size();
        bytes[at] ^= static_cast<unsigned char>(1u << (random() % 8));
      }
      vrrl::test::write_bytes(path, bytes);
      const Run run = verify({path.string()});
      INFO(run.output);
      REQUIRE(WIFEXITED(run.status));
      CHECK(WEXITSTATUS(run.status) <= 1);
    }
  }
}
