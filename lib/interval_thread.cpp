#include "interval_thread.hpp"

#include <pthread.h>

#include <utility>

namespace vrrl::detail {

IntervalThread::IntervalThread(std::chrono::nanoseconds interval, std::function<void()> job, const char* name)
    : interval_(interval), job_(std::move(job)), thread_([this] { run(); }) {
  (void)::pthread_setname_np(thread_.native_handle(), name);  // cosmetic: only for ps, top and perf
}

IntervalThread::~IntervalThread() { stop(); }

void IntervalThread::stop() noexcept {
  {
    const std::lock_guard guard(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void IntervalThread::run() {
  using clock = std::chrono::steady_clock;
  auto next = clock::now() + interval_;
  std::unique_lock lock(mutex_);
  while (true) {
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    lock.unlock();
    job_();
    lock.lock();
    next += interval_;
    if (const auto now = clock::now(); next < now) next = now;
  }
}

}  // namespace vrrl::detail
