// The spdlog peer: spdlog's asynchronous logger (Debian libspdlog-dev) with
// the most binary pattern it has: "%v", the message only, and as the message
// the record's 64 encoded bytes passed as a string (no formatting on the
// caller's thread), so each record is 65 bytes in the file (the 64 plus
// spdlog's end of line). One thread pool of its own per writer: a queue of
// 8192 messages and one backend thread writing to a plain file sink.
//
//   SpdlogAsyncWriter<block>     a full queue blocks the caller (spdlog's
//                                default; nothing is lost)
//   SpdlogAsyncWriter<overrun>   a full queue overwrites the oldest queued
//                                message (the caller never waits; records are lost)
//
// Destruction waits until the backend has written everything queued.
// Built without spdlog, spdlog_availability() says why and the writer does nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <vrrl/record.hpp>

#include "peers/lttng_session.hpp"  // Availability
#include "workload.hpp"

#if defined(VRRL_BENCH_HAVE_SPDLOG)
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#endif

namespace vrrl::bench::peers {

inline Availability spdlog_availability() {
#if defined(VRRL_BENCH_HAVE_SPDLOG)
  return {true, ""};
#else
  return {false,
          "built without spdlog. Fix: apt-get install libspdlog-dev (or scripts/install-deps), then "
          "meson setup --reconfigure BUILD -Dspdlog=enabled"};
#endif
}

enum class QueueFull { block, overrun };

template <QueueFull policy>
class SpdlogAsyncWriter {
 public:
  static constexpr std::size_t queue_messages = 8192;

  SpdlogAsyncWriter(const std::filesystem::path& path, std::uint64_t /*slots*/) {
#if defined(VRRL_BENCH_HAVE_SPDLOG)
    std::filesystem::remove(path);
    pool_ = std::make_shared<spdlog::details::thread_pool>(queue_messages, 1);
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_st>(path.string(), /*truncate=*/true);
    logger_ = std::make_shared<spdlog::async_logger>(
        "vrrl-bench", std::move(sink), pool_,
        policy == QueueFull::block ? spdlog::async_overflow_policy::block
                                   : spdlog::async_overflow_policy::overrun_oldest);
    logger_->set_pattern("%v");
#else
    (void)path;
#endif
  }
  SpdlogAsyncWriter(const SpdlogAsyncWriter&) = delete;
  SpdlogAsyncWriter& operator=(const SpdlogAsyncWriter&) = delete;
  // The logger first (it only holds a weak reference to the pool), then the
  // pool, whose destructor drains the queue and joins the backend thread.
  ~SpdlogAsyncWriter() {
#if defined(VRRL_BENCH_HAVE_SPDLOG)
    logger_.reset();
    pool_.reset();
#endif
  }

  // Messages the queue overwrote before the backend wrote them (overrun only).
  [[nodiscard]] std::uint64_t lost() const {
#if defined(VRRL_BENCH_HAVE_SPDLOG)
    return pool_->overrun_counter();
#else
    return 0;
#endif
  }

  void append(const RecordedSlot& slot) noexcept {
#if defined(VRRL_BENCH_HAVE_SPDLOG)
    char record[format::record_bytes];
    encode_record(reinterpret_cast<std::byte*>(record), slot);
    logger_->info(spdlog::string_view_t(record, sizeof record));
#else
    (void)slot;
#endif
  }

 private:
#if defined(VRRL_BENCH_HAVE_SPDLOG)
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::async_logger> logger_;  // async_logger needs shared ownership (shared_from_this)
#endif
};

}  // namespace vrrl::bench::peers
