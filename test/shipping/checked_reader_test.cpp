// CheckedReader against an in-memory stream whose leader holds every message
// and whose replica (the consumer's) is behind, has holes, stalls, delivers
// again, or is complete. The oracle: the reader returns exactly the leader's
// selected messages up to `through`, in sequence order, each once.
//
// These are the faults a JetStream ordered consumer on a restarted node
// shows: its replica still catching up holds a prefix of the stream (the pull
// used to end there and report nothing missing), or lacks a message in the
// middle (the pull used to skip it).
#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "checked_reader.hpp"
#include "message.hpp"
#include "puller.hpp"
#include "../support/self_checking_record.hpp"
#include "../support/temp_dir.hpp"

namespace {

using namespace vrrl;
using namespace vrrl::ship;

struct Entry {
  std::string subject;
  StoredMessage message;
};

// The stream as its leader holds it: sequence -> message. Sequences not in
// the map were deleted (or never used).
class MemoryLeader final : public StreamLeader {
 public:
  std::map<std::uint64_t, Entry> entries;
  std::string filter = ">";  // ">" or an exact subject
  std::uint64_t questions = 0;

  void add(std::uint64_t sequence, std::string subject, std::int64_t stored_ns = 0) {
    StoredMessage message;
    message.stream_sequence = sequence;
    message.stored_ns = stored_ns;
    const std::string text = subject + "#" + std::to_string(sequence);
    message.payload.resize(text.size());
    std::memcpy(message.payload.data(), text.data(), text.size());
    entries[sequence] = {std::move(subject), std::move(message)};
  }

  [[nodiscard]] bool selected(const Entry& entry) const { return filter == ">" || entry.subject == filter; }

  std::uint64_t last_sequence() override { return entries.empty() ? 0 : entries.rbegin()->first; }

  std::optional<StoredMessage> first_at_or_after(std::uint64_t sequence) override {
    ++questions;
    for (auto at = entries.lower_bound(sequence); at != entries.end(); ++at) {
      if (selected(at->second)) return at->second.message;
    }
    return std::nullopt;
  }

  // What a correct read returns: the selected sequences in [from, through].
  [[nodiscard]] std::vector<std::uint64_t> selected_sequences(std::uint64_t through, std::uint64_t from = 1) const {
    std::vector<std::uint64_t> out;
    for (const auto& [sequence, entry] : entries) {
      if (sequence >= from && sequence <= through && selected(entry)) out.push_back(sequence);
    }
    return out;
  }
};

// One replica's delivery: the sequences it holds, delivered in order from the
// start, then nothing (a stall). Faults are scripted.
class MemoryReplica final : public ReplicaDelivery {
 public:
  explicit MemoryReplica(const MemoryLeader& leader) : leader_(leader) {}

  std::set<std::uint64_t> holds;          // what this replica has (a subset of the leader's)
  bool complete_after_restart = false;    // a restart lands on a replica that has caught up
  std::uint64_t stall_every = 0;          // > 0: a stall before every n-th message
  std::uint64_t redeliver_every = 0;      // > 0: every n-th message goes again from 3 back (a reset)
  std::uint64_t starts = 0;

  void hold_all() {
    for (const auto& [sequence, entry] : leader_.entries) holds.insert(sequence);
  }

  void start_at(std::uint64_t sequence) override {
    if (starts++ > 0 && complete_after_restart) hold_all();
    position_ = sequence;
  }

  std::optional<DeliveredMessage> next() override {
    ++calls_;
    if (stall_every != 0 && calls_ % stall_every == 0) return std::nullopt;
    if (redeliver_every != 0 && calls_ % redeliver_every == 0) position_ = position_ > 3 ? position_ - 3 : 1;
    std::vector<std::uint64_t> ahead;
    for (auto at = holds.lower_bound(position_); at != holds.end(); ++at) {
      if (leader_.selected(leader_.entries.at(*at))) ahead.push_back(*at);
    }
    if (ahead.empty()) return std::nullopt;
    DeliveredMessage delivered;
    delivered.message = leader_.entries.at(ahead.front()).message;
    delivered.pending_after = ahead.size() - 1;
    position_ = ahead.front() + 1;
    return delivered;
  }

 private:
  const MemoryLeader& leader_;
  std::uint64_t position_ = 1;
  std::uint64_t calls_ = 0;
};

std::vector<std::uint64_t> read_all(CheckedReader& reader, const MemoryLeader& leader) {
  std::vector<std::uint64_t> sequences;
  while (auto message = reader.next()) {
    // Each message is the leader's, byte for byte.
    REQUIRE(leader.entries.count(message->stream_sequence) == 1);
    CHECK(message->payload == leader.entries.at(message->stream_sequence).message.payload);
    sequences.push_back(message->stream_sequence);
  }
  CHECK_FALSE(reader.next());  // the end stays the end
  return sequences;
}

MemoryLeader stream_of(std::uint64_t count) {
  MemoryLeader leader;
  for (std::uint64_t sequence = 1; sequence <= count; ++sequence) leader.add(sequence, "vrrl.host-1");
  return leader;
}

TEST_CASE("a replica still catching up (a prefix of the stream): the rest comes from the leader, nothing ends early") {
  MemoryLeader leader = stream_of(3204);
  MemoryReplica replica(leader);
  for (std::uint64_t sequence = 1; sequence <= 79; ++sequence) replica.holds.insert(sequence);
  CheckedReader reader(replica, leader, leader.last_sequence(), std::nullopt, 1024);
  CHECK(read_all(reader, leader) == leader.selected_sequences(3204));
  CHECK(reader.stats().delivered == 79);
  CHECK(reader.stats().from_leader == 3204 - 79);
  CHECK(reader.stats().delivery_restarts == 3);  // after each 1024 read from the leader
}

TEST_CASE("a replica behind whose restart lands on one that caught up: back to the fast path") {
  MemoryLeader leader = stream_of(3204);
  MemoryReplica replica(leader);
  for (std::uint64_t sequence = 1; sequence <= 79; ++sequence) replica.holds.insert(sequence);
  replica.complete_after_restart = true;
  CheckedReader reader(replica, leader, leader.last_sequence(), std::nullopt, 100);
  CHECK(read_all(reader, leader) == leader.selected_sequences(3204));
  CHECK(reader.stats().from_leader == 100);
  CHECK(reader.stats().delivered == 3204 - 100);
  CHECK(reader.stats().delivery_restarts == 1);
}

TEST_CASE("a replica that lacks one message in the middle: the message is read from the leader, in its place") {
  // The failure seen in shipping_cluster_node_kill: 685 messages stored, the
  // consumer's replica delivered 684.
  MemoryLeader leader = stream_of(685);
  MemoryReplica replica(leader);
  replica.hold_all();
  replica.holds.erase(556);
  CheckedReader reader(replica, leader, leader.last_sequence(), std::nullopt);
  CHECK(read_all(reader, leader) == leader.selected_sequences(685));
  CHECK(reader.stats().from_leader == 1);
  CHECK(reader.stats().delivered == 684);
}

TEST_CASE("a replica that is behind by its last messages: the end is the leader's, not the replica's") {
  MemoryLeader leader = stream_of(3204);
  MemoryReplica replica(leader);
  replica.hold_all();
  for (std::uint64_t sequence = 3202; sequence <= 3204; ++sequence) replica.holds.erase(sequence);
  CheckedReader reader(replica, leader, leader.last_sequence(), std::nullopt);
  CHECK(read_all(reader, leader) == leader.selected_sequences(3204));
  CHECK(reader.stats().from_leader == 3);
}

TEST_CASE("a current replica costs the leader nothing but the end, and a stream deleted at its start one question") {
  MemoryLeader leader;
  for (std::uint64_t sequence = 40; sequence <= 500; ++sequence) leader.add(sequence, "vrrl.h");
  MemoryReplica replica(leader);
  replica.hold_all();
  CheckedReader reader(replica, leader, leader.last_sequence(), std::nullopt);
  CHECK(read_all(reader, leader) == leader.selected_sequences(500));
  CHECK(reader.stats().from_leader == 0);
  CHECK(reader.stats().delivered == 461);
  CHECK(leader.questions == 1);  // sequences 1..39: the leader has nothing there
}

TEST_CASE("a subject filter: the other subjects' stretches are checked, none is read") {
  MemoryLeader leader;
  for (std::uint64_t sequence = 1; sequence <= 300; ++sequence) {
    leader.add(sequence, sequence % 3 == 0 ? "vrrl.a" : "vrrl.b");
  }
  leader.filter = "vrrl.a";
  MemoryReplica replica(leader);
  replica.hold_all();
  CheckedReader reader(replica, leader, leader.last_sequence(), std::nullopt);
  CHECK(read_all(reader, leader) == leader.selected_sequences(300));
  CHECK(reader.stats().from_leader == 0);
  CHECK(reader.stats().delivered == 100);
}

TEST_CASE("stalls and redeliveries of a current replica: every message once, in order") {
  MemoryLeader leader = stream_of(2000);
  MemoryReplica replica(leader);
  replica.hold_all();
  replica.stall_every = 97;
  replica.redeliver_every = 13;
  CheckedReader reader(replica, leader, leader.last_sequence(), std::nullopt, 5);
  CHECK(read_all(reader, leader) == leader.selected_sequences(2000));
}

TEST_CASE("the read stops at the leader's last sequence when it began, though the stream grows") {
  MemoryLeader leader = stream_of(1000);
  MemoryReplica replica(leader);
  const std::uint64_t through = leader.last_sequence();
  for (std::uint64_t sequence = 1001; sequence <= 1500; ++sequence) leader.add(sequence, "vrrl.host-1");
  replica.hold_all();
  CheckedReader reader(replica, leader, through, std::nullopt);
  CHECK(read_all(reader, leader) == leader.selected_sequences(1000));
}

TEST_CASE("--since: the start is the first message stored at or after the time, found by bisection") {
  MemoryLeader leader;
  for (std::uint64_t sequence = 1; sequence <= 10000; ++sequence) {
    leader.add(sequence, "vrrl.h", static_cast<std::int64_t>(sequence) * 1000);
  }
  for (const std::int64_t since : {std::int64_t{0}, std::int64_t{1000}, std::int64_t{4'900'500},
                                   std::int64_t{7'000'000}, std::int64_t{9'999'000}, std::int64_t{20'000'000}}) {
    MemoryReplica replica(leader);
    replica.hold_all();
    leader.questions = 0;
    CheckedReader reader(replica, leader, leader.last_sequence(), since);
    const std::uint64_t first = static_cast<std::uint64_t>((since + 999) / 1000);
    CHECK(read_all(reader, leader) == leader.selected_sequences(10000, std::max<std::uint64_t>(first, 1)));
    CHECK(leader.questions <= 16);  // log2(10000) plus the end
  }
}

TEST_CASE("random replicas (prefixes, holes, stalls, resets, filters): always exactly the leader's messages") {
  for (unsigned seed = 1; seed <= 50; ++seed) {
    std::mt19937_64 random(seed);
    MemoryLeader leader;
    const std::uint64_t count = 200 + random() % 2000;
    for (std::uint64_t sequence = 1; sequence <= count; ++sequence) {
      if (random() % 10 == 0) continue;  // deleted
      leader.add(sequence, random() % 4 == 0 ? "vrrl.b" : "vrrl.a", static_cast<std::int64_t>(sequence));
    }
    if (seed % 3 == 0) leader.filter = "vrrl.a";
    MemoryReplica replica(leader);
    const std::uint64_t prefix = random() % 2 == 0 ? count : random() % count;
    for (const auto& [sequence, entry] : leader.entries) {
      if (sequence <= prefix && random() % 50 != 0) replica.holds.insert(sequence);
    }
    replica.complete_after_restart = random() % 2 == 0;
    replica.stall_every = random() % 2 == 0 ? 0 : 5 + random() % 50;
    replica.redeliver_every = random() % 2 == 0 ? 0 : 3 + random() % 50;
    const std::optional<std::int64_t> since =
        random() % 3 == 0 ? std::optional<std::int64_t>(static_cast<std::int64_t>(random() % count)) : std::nullopt;
    CheckedReader reader(replica, leader, leader.last_sequence(), since, 1 + random() % 300);
    INFO("seed " << seed);
    CHECK(read_all(reader, leader) ==
          leader.selected_sequences(count, since ? static_cast<std::uint64_t>(std::max<std::int64_t>(*since, 1)) : 1));
  }
}

TEST_CASE("pull through a replica that is behind rebuilds the whole log and reports nothing missing") {
  const StreamIdentity identity{"host-1", "run", 64};
  MemoryLeader leader;
  std::uint64_t sequence = 0;
  for (std::uint64_t message = 1; message <= 40; ++message) {
    RecordsMessageBuilder builder(identity);
    builder.start(sequence);
    for (int i = 0; i < 16; ++i, ++sequence) {
      const auto record = test::make_record(sequence);
      builder.add(record.slot, record.evidence);
    }
    leader.add(message, "vrrl.host-1");
    leader.entries[message].message.payload = builder.finish();
  }
  MemoryReplica replica(leader);
  for (std::uint64_t message = 1; message <= 25; ++message) replica.holds.insert(message);
  replica.holds.erase(7);
  CheckedReader reader(replica, leader, leader.last_sequence(), std::nullopt);
  test::TempDir out;
  Puller puller({out.path() / "pulled", 1024, 256});
  const PullReport report = puller.run(reader);
  REQUIRE(report.streams.size() == 1);
  CHECK(report.messages == 40);
  CHECK(report.streams[0].tally.written == 640);
  CHECK(report.streams[0].tally.missing == 0);
  CHECK(reader.stats().from_leader == 16);
}

}  // namespace
