// ship_writer LOG CAPACITY COUNT [RECORDS_PER_SECOND]: appends COUNT
// self-checking records to LOG (created with CAPACITY slots if missing),
// continuing the log's sequence: the n-th append over the log's lifetime is
// make_record(n), so the shipping tests can check every shipped record
// against its sequence. With a rate, appends are spread over time (load
// shaping for the live tests, not synchronisation). Syncs, then prints the
// log's total append count.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include <vrrl/ring_log.hpp>

#include "../support/self_checking_record.hpp"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: ship_writer LOG CAPACITY COUNT [RECORDS_PER_SECOND]\n");
    return 2;
  }
  try {
    auto log = vrrl::RingLog::open(argv[1], std::stoull(argv[2]));
    const std::uint64_t count = std::stoull(argv[3]);
    const double rate = argc == 5 ? std::stod(argv[4]) : 0.0;
    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < count; ++i) {
      vrrl::test::append_record(log, log.appended());
      if (rate > 0 && i % 64 == 63) {
        const auto due = started + std::chrono::duration<double>(static_cast<double>(i + 1) / rate);
        std::this_thread::sleep_until(std::chrono::time_point_cast<std::chrono::steady_clock::duration>(due));
      }
    }
    log.sync();
    std::printf("%llu\n", static_cast<unsigned long long>(log.appended()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ship_writer: %s\n", e.what());
    return 1;
  }
  return 0;
}
