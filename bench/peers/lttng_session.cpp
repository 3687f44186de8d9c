// LttngSession: the session daemon and session of lttng_session.hpp, driven
// through the `lttng` command-line tool (lttng-tools), every child process
// bounded in time and stopped by its PID.
#include "peers/lttng_session.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "workload.hpp"

namespace vrrl::bench::peers {

#if !defined(VRRL_BENCH_HAVE_LTTNG)

void prepare_lttng_environment(char**) {}

LttngSession::LttngSession() {
  availability_.reason =
      "built without LTTng-UST. Fix: apt-get install liblttng-ust-dev lttng-tools (or scripts/install-deps), "
      "then meson setup --reconfigure BUILD -Dlttng=enabled";
}
void LttngSession::start() {}
LttngSession::~LttngSession() = default;
std::uint64_t LttngSession::take_discarded() { return 0; }

#else

namespace {

using namespace std::chrono_literals;

constexpr const char* home_variable = "VRRL_BENCH_LTTNG_HOME";

// The first PATH entry holding an executable `name`.
std::optional<std::filesystem::path> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream entries(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string entry; std::getline(entries, entry, ':');) {
    const auto candidate = std::filesystem::path(entry.empty() ? "." : entry) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last non-empty line of `text`, for one-line error messages.
std::string last_line(const std::string& text) {
  std::string line, last;
  std::stringstream lines(text);
  while (std::getline(lines, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

// A child process: stdout and stderr go to a file; it gets SIGTERM if we die
// first (PR_SET_PDEATHSIG), so a crashed benchmark leaves no daemon behind.
class Child {
 public:
  static Child spawn(const std::filesystem::path& program, const std::vector<std::string>& args,
                     const std::filesystem::path& output) {
    std::vector<std::string> argv_storage{program.string()};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) throw std::system_error(errno, std::generic_category(), "open " + output.string());
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      const int null_in = ::open("/dev/null", O_RDONLY);
      if (null_in >= 0) ::dup2(null_in, STDIN_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out);
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork " + program.string());
    return Child(pid);
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // The exit status (128 + signal when killed), or nothing after `timeout`.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_ || (done < 0 && errno == ECHILD)) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
  }

  // SIGTERM, then SIGKILL if it is still there after `grace`.
  void stop(std::chrono::milliseconds grace = 10s) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (wait_for(grace)) return;
    ::kill(pid_, SIGKILL);
    wait_for(2s);
  }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

struct CommandResult {
  int status = -1;  // -1: timed out
  std::string output;
};

// One `lttng` command, bounded in time; `lttng stop` flushes the buffers and may take a while.
CommandResult run_lttng(const std::filesystem::path& lttng, const std::filesystem::path& scratch,
                        const std::vector<std::string>& args) {
  const auto output = scratch / "lttng-command.log";
  Child child = Child::spawn(lttng, args, output);
  const std::optional<int> status = child.wait_for(30s);
  if (!status) child.stop(1s);
  return {status.value_or(-1), read_text(output)};
}

// A root session daemon's PID when one runs (root's daemon always uses /var/run/lttng).
std::optional<pid_t> running_root_daemon() {
  std::ifstream pid_file("/var/run/lttng/lttng-sessiond.pid");
  long pid = 0;
  if (!(pid_file >> pid) || pid <= 0) return std::nullopt;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::filesystem::path make_temp_dir(const char* prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  return pattern;
}

}  // namespace

void prepare_lttng_environment(char** argv) {
  if (::geteuid() == 0 || std::getenv(home_variable) != nullptr) return;
  try {
    const auto home = make_temp_dir("vrrl-lttng");
    ::setenv("LTTNG_HOME", home.c_str(), 1);
    ::setenv(home_variable, home.c_str(), 1);
    ::execv("/proc/self/exe", argv);
    std::fprintf(stderr, "%s: re-executing with LTTNG_HOME failed (%s); the LTTng peer will skip\n", argv[0],
                 std::strerror(errno));
    std::filesystem::remove_all(home);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s; the LTTng peer will skip\n", argv[0], e.what());
  }
  ::unsetenv(home_variable);
}

LttngSession::LttngSession() {
  try {
    start();
  } catch (const std::exception& e) {
    availability_ = {false, std::string("could not set up an LTTng session: ") + e.what()};
  }
}

void LttngSession::start() {
  const auto sessiond = find_program("lttng-sessiond");
  const auto lttng = find_program("lttng");
  if (!sessiond || !lttng) {
    availability_.reason = "lttng-sessiond or lttng not on PATH. Fix: apt-get install lttng-tools (scripts/install-deps)";
    return;
  }
  const bool root = ::geteuid() == 0;
  if (root) {
    if (const auto other = running_root_daemon()) {
      availability_.reason = "a root LTTng session daemon that is not ours is running (pid " + std::to_string(*other) +
                             "); the benchmark does not share or stop it. Fix: stop it, or run as a non-root user";
      return;
    }
    home_ = make_temp_dir("vrrl-lttng");
    remove_home_ = true;
    ::setenv("LTTNG_HOME", home_.c_str(), 1);  // for the children: the daemon's config and session files
  } else {
    const char* home = std::getenv(home_variable);
    if (home == nullptr) {
      availability_.reason = "LTTNG_HOME was not prepared at start-up (prepare_lttng_environment not called)";
      return;
    }
    home_ = home;
    remove_home_ = true;
  }
  trace_dir_ = BenchDir::get() / "lttng-trace";
  session_ = "vrrl-bench-" + std::to_string(::getpid());

  Child daemon = Child::spawn(*sessiond, {"--no-kernel", "--quiet"}, home_ / "lttng-sessiond.log");
  daemon_pid_ = daemon.pid();
  // Ready when the daemon answers a client command; bounded at 10 s.
  const auto ready_by = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    if (auto exited = daemon.wait_for(0ms)) {
      daemon_pid_ = -1;
      availability_.reason = "lttng-sessiond exited with status " + std::to_string(*exited) + ": " +
                             last_line(read_text(home_ / "lttng-sessiond.log"));
      return;
    }
    if (run_lttng(*lttng, home_, {"list"}).status == 0) break;
    if (std::chrono::steady_clock::now() >= ready_by) {
      availability_.reason = "lttng-sessiond did not answer within 10 s";
      return;
    }
    std::this_thread::sleep_for(100ms);
  }
  const std::vector<std::vector<std::string>> setup = {
      {"create", session_, "--output=" + trace_dir_.string()},
      {"enable-channel", "--userspace", "--session=" + session_, "--subbuf-size=4M", "--num-subbuf=8", "vrrl"},
      {"enable-event", "--userspace", "--session=" + session_, "--channel=vrrl", "vrrl_bench:record"},
      {"start", session_},
  };
  for (const auto& command : setup) {
    const CommandResult result = run_lttng(*lttng, home_, command);
    if (result.status != 0) {
      availability_.reason = "`lttng " + command.front() + "` failed: " + last_line(result.output);
      return;
    }
    if (command.front() == "create") session_created_ = true;
  }
  // This process registers with the daemon from liblttng-ust's own thread;
  // the tracepoint reads as enabled once the session's event reached it.
  const auto registered_by = std::chrono::steady_clock::now() + 10s;
  while (!lttng_ust_tracepoint_enabled(vrrl_bench, record)) {
    if (std::chrono::steady_clock::now() >= registered_by) {
      availability_.reason = "this process did not register with the session daemon within 10 s";
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
  availability_.ok = true;
}

std::uint64_t LttngSession::take_discarded() {
  if (!availability_.ok) return 0;
  const auto lttng = find_program("lttng");
  const CommandResult stopped = run_lttng(*lttng, home_, {"stop", session_});
  // `lttng stop` prints "Warning: N events were discarded ..." when N > 0: the session's total.
  std::uint64_t total = discarded_reported_;
  if (const auto at = stopped.output.find("Warning: "); at != std::string::npos) {
    const std::string rest = stopped.output.substr(at + 9);
    if (rest.find("events were discarded") != std::string::npos) total = std::strtoull(rest.c_str(), nullptr, 10);
  }
  run_lttng(*lttng, home_, {"start", session_});
  const std::uint64_t since_last = total - discarded_reported_;
  discarded_reported_ = total;
  return since_last;
}

LttngSession::~LttngSession() {
  if (const auto lttng = find_program("lttng"); lttng && session_created_) {
    run_lttng(*lttng, home_, {"destroy", session_});
  }
  if (daemon_pid_ > 0) {
    ::kill(daemon_pid_, SIGTERM);
    for (int waited_ms = 0; waited_ms < 10'000; waited_ms += 10) {
      if (::waitpid(daemon_pid_, nullptr, WNOHANG) != 0) {
        daemon_pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (daemon_pid_ > 0) {
      ::kill(daemon_pid_, SIGKILL);
      ::waitpid(daemon_pid_, nullptr, 0);
    }
  }
  std::error_code ignored;
  if (!trace_dir_.empty()) std::filesystem::remove_all(trace_dir_, ignored);
  if (remove_home_) std::filesystem::remove_all(home_, ignored);
}

#endif

LttngSession& LttngSession::instance() {
  static LttngSession session;
  return session;
}

}  // namespace vrrl::bench::peers
