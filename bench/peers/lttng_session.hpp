// The LTTng-UST peer: recording each 64-byte record as one LTTng-UST
// tracepoint (vrrl_bench:record, lttng_tracepoint.h) into a session of our own.
//
// The benchmark owns everything it needs, for a bounded time, and leaves
// nothing behind: on first use LttngSession starts its own lttng-sessiond
// (as the current user, LTTNG_HOME in a fresh temporary directory, no kernel
// tracing), creates a session writing its trace next to the other benchmark
// files, enables the event in a channel of 8 x 4 MiB sub-buffers, starts it and
// waits until this process is registered. At exit it destroys the session,
// stops the daemon by its PID and removes the directories. When any step
// fails, or vrrl-bench was built without LTTng-UST, availability() says why in
// one line with a Fix, and the benchmarks skip with that message.
//
// Caveat: the root user's session daemon always listens in /var/run/lttng
// (lttng-sessiond has no other place for it), so as root the benchmark refuses
// to run when a root session daemon that is not its own is already running.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <vrrl/record.hpp>

#if defined(VRRL_BENCH_HAVE_LTTNG)
#include "peers/lttng_tracepoint.h"
#endif

namespace vrrl::bench::peers {

// Whether a peer can run in this process; if not, why (the skip message).
struct Availability {
  bool ok = false;
  std::string reason;
};

// Call first in main(). liblttng-ust reads LTTNG_HOME once, when the program
// loads, to find a non-root user's session daemon. For a non-root user this
// re-executes the program once with LTTNG_HOME set to a fresh temporary
// directory (and VRRL_BENCH_LTTNG_HOME naming it), so that this process finds
// the daemon LttngSession starts there. Does nothing for root (whose daemon has
// a fixed address), when built without LTTng-UST, or on the re-executed run.
void prepare_lttng_environment(char** argv);

class LttngSession {
 public:
  // The process's one session, set up on the first call (a second or two).
  static LttngSession& instance();

  [[nodiscard]] const Availability& availability() const noexcept { return availability_; }
  // Events the session discarded (its consumer daemon fell behind and the
  // channel, in LTTng's default discard mode, dropped them) since the last
  // call: stops the session (which flushes it), reads the count, starts it again.
  [[nodiscard]] std::uint64_t take_discarded();

  LttngSession(const LttngSession&) = delete;
  LttngSession& operator=(const LttngSession&) = delete;
  ~LttngSession();

 private:
  LttngSession();
  void start();

  Availability availability_;
  std::filesystem::path home_;        // LTTNG_HOME of the daemon
  bool remove_home_ = false;          // we created home_
  std::filesystem::path trace_dir_;   // the session's output
  std::string session_;
  int daemon_pid_ = -1;
  bool session_created_ = false;
  std::uint64_t discarded_reported_ = 0;
};

// One tracepoint per record. The path and slots are ignored (the session owns
// the output); they keep the constructor the stream writers' (stream_writers.hpp).
class LttngWriter {
 public:
  LttngWriter(const std::filesystem::path& /*path*/, std::uint64_t /*slots*/) noexcept {}
  void append(const RecordedSlot& slot) noexcept {
#if defined(VRRL_BENCH_HAVE_LTTNG)
    lttng_ust_tracepoint(vrrl_bench, record, slot.timestamp_ns, slot.slot_idx, slot.tenant_id, slot.opcode,
                         slot.args.data(), slot.epoch);
#else
    (void)slot;
#endif
  }
};

}  // namespace vrrl::bench::peers
