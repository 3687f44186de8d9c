// A writer process and a reader process on one log at the same time. The
// child appends self-checking records into a small ring that wraps thousands
// of times; the parent opens the log read-only and follows it with
// vrrl::Follower (seqlock-style copy and validate: acquire the magic, copy,
// acquire fence, re-check magic and cursor). Every record the reader accepts
// must be exactly the append it claims to be: no torn record, ever.
//
// Registered in the 'reliability' and 'concurrency' suites, so scripts/test
// also runs it under ThreadSanitizer. TSan cannot see the writer (another
// process); there it checks the reader's side only. Same-process writer and
// reader threads are covered by test/concurrency.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <vrrl/follower.hpp>

#include "fault_support.hpp"
#include "support/temp_dir.hpp"

TEST_CASE("a reader in another process never sees a torn record", "[reliability][concurrency]") {
  vrrl::test::TempDir dir;
  const auto path = dir.file("race.vrrl");
  constexpr std::uint64_t capacity = 67;  // small and prime: slot 63 straddles a page, laps are frequent
  constexpr std::uint64_t appends = 2'000'000;
  { vrrl::RingLog create = vrrl::RingLog::open(path, capacity); }

  const pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    try {
      vrrl::RingLog log = vrrl::RingLog::open(path, capacity);
      // Alternate full-speed bursts (the reader is lapped, slots are reused
      // under its copies) with paced stretches (the reader keeps up and reads
      // the slot being written), as a dispatch loop would.
      volatile std::uint64_t work = 0;
      for (std::uint64_t n = 0; n < appends; ++n) {
        vrrl::test::append_record(log, n);
        if ((n / 4096) % 2 == 1) {
          for (int spin = 0; spin < 1000; ++spin) work = work + 1;
        }
      }
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(0);
  }

  const vrrl::LogReader reader = vrrl::LogReader::open(path);
  vrrl::Follower follower(reader, std::uint64_t{0});
  std::uint64_t delivered = 0, torn = 0, polls = 0, last_sequence = 0;
  bool first = true, out_of_order = false, writer_done = false;
  int writer_status = 0;
  while (true) {
    if (!writer_done && polls % 256 == 0 && ::waitpid(writer, &writer_status, WNOHANG) == writer) {
      writer_done = true;
    }
    ++polls;
    // Small batches, so the writer laps the reader now and then.
    (void)follower.poll(
        [&](std::uint64_t sequence, const vrrl::RecordedSlot& slot, const vrrl::FailureEvidence& evidence) {
          ++delivered;
          if (slot != vrrl::test::make_record(sequence).slot ||
              evidence != vrrl::test::make_record(sequence).evidence) {
            ++torn;
          }
          if (!first && sequence <= last_sequence) out_of_order = true;
          first = false;
          last_sequence = sequence;
        },
        polls % 7 == 0 ? 16 : 100'000);
    if (writer_done && follower.position() == reader.appended()) break;
  }
  REQUIRE(WIFEXITED(writer_status));
  REQUIRE(WEXITSTATUS(writer_status) == 0);
  WARN("reader in another process: " << delivered << " records delivered, " << follower.lost_total()
                                     << " lapped or in flight, in " << polls << " polls; torn: " << torn);
  CHECK(torn == 0);
  CHECK_FALSE(out_of_order);
  CHECK(reader.appended() == appends);
  CHECK(delivered + follower.lost_total() == appends);
  CHECK(delivered > 0);
  // Quiescent now: replay agrees with the last `capacity` appends.
  const auto records = reader.replay_all();
  REQUIRE(records.size() == capacity);
  CHECK(records.front() == vrrl::test::make_record(appends - capacity).slot);
  CHECK(records.back() == vrrl::test::make_record(appends - 1).slot);
}
