// detail::IntervalThread: a thread that runs one job on a fixed schedule
// (every `interval` on the steady clock) until destroyed. The write-behind
// engine's background passes run on one; a recording can run the passes of
// all its segments on one. Private to lib/.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace vrrl::detail {

class IntervalThread {
 public:
  // Starts the thread. `job` runs first one interval from now, then every
  // interval after the previous start; a job that overruns is followed by the
  // next one at once (missed starts are not made up). `job` must not throw.
  // `name` (at most 15 characters) is the thread's name in ps/top/perf. It
  // runs at the creating thread's priority.
  IntervalThread(std::chrono::nanoseconds interval, std::function<void()> job, const char* name);
  IntervalThread(const IntervalThread&) = delete;
  IntervalThread& operator=(const IntervalThread&) = delete;
  // Stops and joins; a job in progress finishes first.
  ~IntervalThread();

  void stop() noexcept;

 private:
  void run();

  std::chrono::nanoseconds interval_;
  std::function<void()> job_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;     // last: starts after the members it uses exist
};

}  // namespace vrrl::detail
