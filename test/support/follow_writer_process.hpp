// follow_writer_process: a writer in another process and a Follower in this
// one, running together. Shared by the suites that check what a live reader
// sees of a log being appended to at full speed.
#pragma once

#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vrrl/follower.hpp>
#include <vrrl/ring_log.hpp>

namespace vrrl::test {

// Forks a child that runs `write_log()` (its return value becomes the child's
// exit code; an exception exits 2; no Catch2 state or destructor of the
// parent runs in it) once the parent has handed it the go signal, and returns
// its pid; the parent races it from there.
template <class WriteLog>
pid_t start_writer_process(WriteLog&& write_log) {
  int go[2];
  REQUIRE(::pipe(go) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(go[1]);
    char byte;
    if (::read(go[0], &byte, 1) != 1) ::_exit(3);
    try {
      ::_exit(write_log());
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(go[0]);
  REQUIRE(::write(go[1], "g", 1) == 1);
  ::close(go[1]);
  return child;
}

// Runs `write_log()` in a writer process (start_writer_process) and meanwhile
// polls `follower` with `on_record` until the child has exited and every
// record it published has been polled. Returns the child's wait status.
template <class WriteLog, class OnRecord>
int follow_writer_process(Follower& follower, const LogReader& reader, WriteLog&& write_log, OnRecord&& on_record) {
  const pid_t child = start_writer_process(write_log);
  int status = -1;
  bool exited = false;
  for (;;) {
    const PollResult result = follower.poll(on_record);
    REQUIRE_FALSE(result.resynced);
    if (result.delivered == 0 && result.lost == 0) {
      if (exited && follower.position() == reader.appended()) break;
      if (!exited && ::waitpid(child, &status, WNOHANG) == child) exited = true;
      ::sched_yield();
    }
  }
  return status;
}

}  // namespace vrrl::test
