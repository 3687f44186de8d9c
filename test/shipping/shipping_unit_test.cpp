// The shipping pieces without a server: the message format against hostile
// input, names, stream checks, the cursor file, reassembly, and the shipping
// protocol against an in-memory stream that loses messages, loses acks,
// reorders them, refuses publishes and whose shipper gets killed mid-run.
// Every protocol test ends with the same oracle as the end-to-end tests: each
// sequence of the log is in the stream exactly once, byte for byte.
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>
#include <vrrl/ring_log.hpp>

#include "../support/self_checking_record.hpp"
#include "../support/temp_dir.hpp"
#include "cursor_file.hpp"
#include "failure.hpp"
#include "log_source.hpp"
#include "message.hpp"
#include "names.hpp"
#include "puller.hpp"
#include "reassembler.hpp"
#include "shipper.hpp"
#include "stream_check.hpp"

namespace {

using namespace vrrl;
using namespace vrrl::ship;

const StreamIdentity identity{"host-1", "run", 64};

std::vector<std::byte> one_record_message(std::uint64_t first) {
  RecordsMessageBuilder builder(identity);
  builder.start(first);
  const auto record = test::make_record(first);
  builder.add(record.slot, record.evidence);
  return builder.finish();
}

std::string decode_error(std::vector<std::byte> payload) {
  DecodedMessage message;
  std::string why;
  if (decode_message(payload, message, why)) return "";
  return why;
}

// --- the message format --------------------------------------------------------

TEST_CASE("a records message round-trips with its header and every record byte") {
  RecordsMessageBuilder builder(identity);
  builder.start(1000);
  for (std::uint64_t i = 0; i < 3; ++i) {
    const auto record = test::make_record(1000 + i);
    builder.add(record.slot, record.evidence);
  }
  const std::vector<std::byte> payload = builder.finish();
  CHECK(payload.size() == message_bytes(identity, 3));
  DecodedMessage message;
  std::string why;
  REQUIRE(decode_message(payload, message, why));
  CHECK(message.kind == MessageKind::records);
  CHECK(message.identity == identity);
  CHECK(message.first_sequence == 1000);
  CHECK(message.count == 3);
  for (std::uint64_t i = 0; i < 3; ++i) CHECK(test::is_record_of(message.record(i), 1000 + i));
  // The builder starts the next message where this one ended.
  CHECK(builder.empty());
  CHECK(builder.first_sequence() == 1003);
}

TEST_CASE("a gap message carries the lost count and no records") {
  DecodedMessage message;
  std::string why;
  REQUIRE(decode_message(encode_gap(identity, 5, 900), message, why));
  CHECK(message.kind == MessageKind::gap);
  CHECK(message.first_sequence == 5);
  CHECK(message.count == 900);
  CHECK(message.records.empty());
}

TEST_CASE("a slice of a records message keeps the records of its range") {
  RecordsMessageBuilder builder(identity);
  builder.start(10);
  for (std::uint64_t i = 10; i < 20; ++i) {
    const auto record = test::make_record(i);
    builder.add(record.slot, record.evidence);
  }
  const auto payload = builder.finish();
  DecodedMessage whole, slice;
  std::string why;
  REQUIRE(decode_message(payload, whole, why));
  const auto sliced = encode_records_slice(whole, 14, 20);
  REQUIRE(decode_message(sliced, slice, why));
  CHECK(slice.first_sequence == 14);
  CHECK(slice.count == 6);
  for (std::uint64_t i = 0; i < 6; ++i) CHECK(test::is_record_of(slice.record(i), 14 + i));
}

TEST_CASE("decode refuses every malformed message and says why") {
  const auto good = one_record_message(7);
  REQUIRE(decode_error(good).empty());
  auto changed = [&](std::size_t at, std::byte value) {
    auto copy = good;
    copy[at] = value;
    return decode_error(copy);
  };
  CHECK_THAT(decode_error({}), Catch::Contains("fewer than the 32-byte header"));
  CHECK_THAT(changed(0, std::byte{'X'}), Catch::Contains("VRSH"));
  CHECK_THAT(changed(4, std::byte{2}), Catch::Contains("format version is 2"));
  CHECK_THAT(changed(5, std::byte{3}), Catch::Contains("kind is 3"));
  CHECK_THAT(changed(6, std::byte{200}), Catch::Contains("names run past the end"));
  CHECK_THAT(changed(32, std::byte{'.'}), Catch::Contains("source id or stream name"));  // ".ost-1"
  CHECK_THAT(changed(38, std::byte{'/'}), Catch::Contains("source id or stream name"));  // "r/n"
  CHECK_THAT(changed(16, std::byte{2}), Catch::Contains("announces 2 records but carries 64 bytes"));
  CHECK_THAT(changed(16, std::byte{0}), Catch::Contains("impossible range"));
  CHECK_THAT(changed(24, std::byte{0}), Catch::Contains("source capacity 0"));
  CHECK_THAT(changed(41, std::byte{0}), Catch::Contains("record magic"));  // the record's first byte
  auto huge = good;
  wire::store_le(huge.data() + message_format::offset::first_sequence, format::max_cursor);
  CHECK_THAT(decode_error(huge), Catch::Contains("impossible range"));
  auto gap_with_records = encode_gap(identity, 1, 1);
  gap_with_records.resize(gap_with_records.size() + 64);
  CHECK_THAT(decode_error(gap_with_records), Catch::Contains("gap message with 64 bytes"));
  auto truncated = good;
  truncated.pop_back();
  CHECK_THAT(decode_error(truncated), Catch::Contains("carries 63 bytes"));
}

TEST_CASE("decode survives every single-byte corruption and every truncation") {
  const auto good = one_record_message(7);
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (const unsigned value : {0u, 1u, 0x7fu, 0x80u, 0xffu}) {
      auto copy = good;
      copy[at] = static_cast<std::byte>(value);
      (void)decode_error(copy);  // must not crash or read out of bounds (ASan)
    }
    (void)decode_error(std::vector<std::byte>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(at)));
  }
}

// --- names ------------------------------------------------------------------------

TEST_CASE("names: what reaches subjects, file names and message ids") {
  CHECK(is_valid_stream_name("worker-3"));
  CHECK(is_valid_stream_name("a.b_c-1"));
  CHECK_FALSE(is_valid_stream_name(""));
  CHECK_FALSE(is_valid_stream_name(".hidden"));
  CHECK_FALSE(is_valid_stream_name("a/b"));
  CHECK_FALSE(is_valid_stream_name("a:b"));
  CHECK_FALSE(is_valid_stream_name(std::string(129, 'a')));
  CHECK(is_valid_source_id("gpu-3.example.com"));
  CHECK_FALSE(is_valid_source_id("a..b"));
  CHECK_FALSE(is_valid_source_id("a."));
  CHECK_FALSE(is_valid_source_id(".."));
  CHECK(is_valid_jetstream_name("FLEET_1-a"));
  CHECK_FALSE(is_valid_jetstream_name("FLEET.1"));
  CHECK(is_valid_subject("vrrl.gpu-3"));
  CHECK_FALSE(is_valid_subject("vrrl..x"));
  CHECK_FALSE(is_valid_subject("vrrl.*"));
  CHECK_FALSE(is_valid_subject("vrrl. x"));
  CHECK(is_valid_subject_filter("vrrl.*"));
  CHECK(is_valid_subject_filter("vrrl.>"));
  CHECK_FALSE(is_valid_subject_filter("vrrl.>.x"));
  CHECK(subject_matches("vrrl.>", "vrrl.gpu.3"));
  CHECK(subject_matches("vrrl.*", "vrrl.gpu"));
  CHECK_FALSE(subject_matches("vrrl.*", "vrrl.gpu.3"));
  CHECK_FALSE(subject_matches("vrrl.>", "vrrl"));
  CHECK(subject_matches("vrrl", "vrrl"));
  CHECK(subjects_to_create("vrrl.gpu-3") == std::vector<std::string>{"vrrl.>"});
  CHECK(subjects_to_create("fleet") == std::vector<std::string>{"fleet"});
  CHECK(message_id("host-1", "run", 512) == "host-1:run:512");
}

// --- stream checks ------------------------------------------------------------------

TEST_CASE("check_stream names the setting that does not fit") {
  ExistingStream stream;
  stream.name = "FLEET";
  stream.subjects = {"vrrl.>"};
  stream.duplicate_window = std::chrono::minutes(2);
  StreamRequirements wanted;
  wanted.name = "FLEET";
  wanted.publish_subject = "vrrl.host-1";
  wanted.largest_message = 16'000;
  CHECK_FALSE(check_stream(stream, wanted));
  auto problem = [&](auto change) {
    ExistingStream copy = stream;
    StreamRequirements asked = wanted;
    change(copy, asked);
    const auto failure = check_stream(copy, asked);
    return failure ? std::string(failure->what()) : std::string();
  };
  CHECK_THAT(problem([](auto& s, auto&) { s.retention = "interest"; }), Catch::Contains("retention interest"));
  CHECK_THAT(problem([](auto& s, auto&) { s.no_ack = true; }), Catch::Contains("no_ack"));
  CHECK_THAT(problem([](auto& s, auto&) { s.sealed = true; }), Catch::Contains("sealed"));
  CHECK_THAT(problem([](auto& s, auto&) { s.is_mirror = true; }), Catch::Contains("mirror"));
  CHECK_THAT(problem([](auto& s, auto&) { s.subjects = {"other.>"}; }), Catch::Contains("do not capture vrrl.host-1"));
  CHECK_THAT(problem([](auto& s, auto&) { s.max_message_bytes = 1000; }), Catch::Contains("max_msg_size 1000"));
  CHECK(problem([](auto& s, auto&) { s.max_message_bytes = 16'000; }).empty());
  CHECK_THAT(problem([](auto& s, auto&) { s.duplicate_window = std::chrono::seconds(1); }),
             Catch::Contains("duplicate_window 1000 ms"));
  CHECK_THAT(problem([](auto&, auto& r) { r.replicas = 3; }), Catch::Contains("replicas 1, but --replicas 3"));
  CHECK_THAT(problem([](auto&, auto& r) { r.max_bytes = 1 << 20; }), Catch::Contains("max_bytes -1"));
}

// --- the cursor file ------------------------------------------------------------------

TEST_CASE("the cursor file round-trips, refuses garbage and a second shipper") {
  test::TempDir dir;
  const auto path = dir.file("run.vrrl.ship-FLEET.cursor");
  CursorFile file(path);
  CHECK_FALSE(file.load());
  const ShipCursor cursor{"host-1", "run", "FLEET", 123456};
  file.store(cursor);
  CHECK(file.load() == cursor);
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  CHECK_THROWS_WITH(CursorFile(path), Catch::Contains("another vrrl ship"));

  std::string why;
  CHECK_FALSE(parse_cursor("vrrl-ship-cursor 2\n", why));
  CHECK_FALSE(parse_cursor("vrrl-ship-cursor 1\nsource h\nname r\nstream S\nnext-sequence -1\n", why));
  CHECK_FALSE(parse_cursor("vrrl-ship-cursor 1\nsource h\nname r\nstream S\nnext-sequence 99999999999999999999\n", why));
  CHECK_FALSE(parse_cursor("vrrl-ship-cursor 1\nsource ../x\nname r\nstream S\nnext-sequence 1\n", why));
  CHECK(parse_cursor("vrrl-ship-cursor 1\nsource h\nname r\nstream S\nnext-sequence 1\nlater-key x\n", why));
}

// --- reassembly -----------------------------------------------------------------------

struct Collected {
  std::vector<std::uint64_t> sequences;
  Reassembler::RecordOut out() {
    return [this](std::uint64_t sequence, std::span<const std::byte> record) {
      CHECK(test::is_record_of(RecordView(record.data()), sequence));
      sequences.push_back(sequence);
    };
  }
};

DecodedMessage decoded(const std::vector<std::byte>& payload) {
  DecodedMessage message;
  std::string why;
  REQUIRE(decode_message(payload, message, why));
  return message;
}

std::vector<std::byte> records_message(std::uint64_t first, std::uint64_t count) {
  RecordsMessageBuilder builder(identity);
  builder.start(first);
  for (std::uint64_t i = first; i < first + count; ++i) {
    const auto record = test::make_record(i);
    builder.add(record.slot, record.evidence);
  }
  return builder.finish();
}

TEST_CASE("reassembly puts late messages back in order, drops copies and overlaps") {
  Collected collected;
  Reassembler reassembler(collected.out(), 8);
  const std::vector<std::vector<std::byte>> stream_order{
      records_message(0, 10), records_message(20, 10), records_message(10, 10),  // a resend after its neighbour
      records_message(20, 10),                                                   // a copy
      encode_gap(identity, 30, 5), records_message(35, 5), records_message(38, 4)};  // an overlap
  for (const auto& payload : stream_order) {
    const auto storage = payload;
    reassembler.add(decoded(storage));
  }
  reassembler.finish();
  std::vector<std::uint64_t> expected;
  for (std::uint64_t i = 0; i < 42; ++i) {
    if (i < 30 || i >= 35) expected.push_back(i);
  }
  CHECK(collected.sequences == expected);
  ReassemblyTally tally;
  tally.first_sequence = 0;
  tally.next_sequence = 42;
  tally.written = 37;
  tally.lost = 5;
  tally.duplicates = 12;
  CHECK(reassembler.tally() == tally);
}

TEST_CASE("reassembly declares a hole missing once the hold is full, and reports late arrivals") {
  Collected collected;
  Reassembler reassembler(collected.out(), 2);
  reassembler.add(decoded(records_message(0, 1)));
  for (std::uint64_t first = 2; first < 6; ++first) reassembler.add(decoded(records_message(first, 1)));
  reassembler.add(decoded(records_message(1, 1)));  // too late: the output is past it
  reassembler.finish();
  CHECK(collected.sequences == std::vector<std::uint64_t>{0, 2, 3, 4, 5});
  CHECK(reassembler.tally().missing == 1);
  CHECK(reassembler.tally().late == 1);
  CHECK(reassembler.missing_ranges() == std::vector<SequenceRange>{{1, 2}});
}

TEST_CASE("reassembly starts at the lowest message seen within the hold, not the first to arrive") {
  Collected collected;
  Reassembler reassembler(collected.out(), 4);
  reassembler.add(decoded(records_message(5, 5)));
  reassembler.add(decoded(records_message(0, 5)));
  reassembler.finish();
  CHECK(collected.sequences.front() == 0);
  CHECK(reassembler.tally().written == 10);
  CHECK(reassembler.tally().missing == 0);
}

// --- the shipping protocol against an in-memory stream -------------------------------

// A JetStream stand-in: stored in arrival order, de-duplicated by id (no window).
class MemoryStream {
 public:
  struct Stored {
    std::string id;
    std::vector<std::byte> payload;
  };
  std::pair<std::uint64_t, bool> store(const std::string& id, std::span<const std::byte> payload) {
    if (const auto found = ids_.find(id); found != ids_.end()) return {found->second, true};
    messages_.push_back({id, {payload.begin(), payload.end()}});
    ids_[id] = messages_.size();
    return {messages_.size(), false};
  }
  [[nodiscard]] const std::vector<Stored>& messages() const { return messages_; }

 private:
  std::vector<Stored> messages_;  // stream sequence = index + 1
  std::map<std::string, std::uint64_t> ids_;
};

struct Faults {
  double lose = 0;          // not stored, the ack times out
  double lose_ack = 0;      // stored, the ack times out
  double refuse = 0;        // publish() itself fails (disconnected, buffer full)
  std::size_t reorder = 0;  // acks delivered out of order within this distance
  std::optional<std::size_t> kill_after;  // publishes before the shipper "is killed"
};

struct Killed {};

class FaultyPublisher final : public Publisher {
 public:
  FaultyPublisher(MemoryStream& stream, Faults faults, std::uint32_t seed) : stream_(stream), faults_(faults), random_(seed) {}

  bool publish(std::uint64_t ticket, const std::string& id, std::span<const std::byte> payload,
               std::string& error) override {
    if (faults_.kill_after && publishes_++ >= *faults_.kill_after) throw Killed{};
    const double roll = std::uniform_real_distribution<double>(0, 1)(random_);
    if (roll < faults_.refuse) {
      error = "insufficient buffer";
      return false;
    }
    Ack ack;
    ack.ticket = ticket;
    if (roll < faults_.refuse + faults_.lose) {
      ack.kind = AckKind::retry;
      ack.error = "timeout";
    } else {
      const auto [sequence, duplicate] = stream_.store(id, payload);
      ack.kind = duplicate ? AckKind::duplicate : AckKind::stored;
      ack.stream_sequence = sequence;
      if (roll < faults_.refuse + faults_.lose + faults_.lose_ack) {
        ack.kind = AckKind::retry;
        ack.error = "timeout";
      }
    }
    const std::size_t distance =
        faults_.reorder == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, faults_.reorder)(random_);
    acks_.insert(acks_.end() - static_cast<std::ptrdiff_t>(std::min(distance, acks_.size())), ack);
    return true;
  }

  std::optional<Ack> next_ack(std::chrono::milliseconds) override {
    if (acks_.empty()) return std::nullopt;
    Ack ack = acks_.front();
    acks_.pop_front();
    return ack;
  }

  std::optional<std::vector<std::byte>> stored_payload(std::uint64_t sequence) override {
    if (sequence == 0 || sequence > stream_.messages().size()) return std::nullopt;
    return stream_.messages()[sequence - 1].payload;
  }

  std::string describe() const override { return "memory"; }

 private:
  MemoryStream& stream_;
  Faults faults_;
  std::mt19937 random_;
  std::deque<Ack> acks_;
  std::size_t publishes_ = 0;
};

struct Log {
  test::TempDir dir;
  std::filesystem::path path = dir.file("run.vrrl");
  RingLog log;
  explicit Log(std::uint64_t capacity) : log(RingLog::open(path, capacity)) {}
  void append(std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) test::append_record(log, log.appended());
  }
};

ShipperOptions fast_options(std::uint64_t batch) {
  ShipperOptions options;
  options.source_id = "host-1";
  options.jetstream_stream = "FLEET";
  options.batch_records = batch;
  options.max_pending = 8;
  options.once = true;
  options.poll_interval = std::chrono::milliseconds(0);
  options.cursor_interval = std::chrono::hours(1);  // as stale as it gets: written once early, then at the end
  options.max_outage = std::chrono::seconds(3600);
  options.retry_delay = std::chrono::milliseconds(0);  // the faults are simulated: no need to wait them out
  return options;
}

// Ships `log` once; a Killed from the publisher ends the run like SIGKILL (no final cursor write).
ShipStats ship_once(Log& log, Publisher& publisher, std::uint64_t batch) {
  std::optional<std::uint64_t> start;
  CursorFile cursor_file(log.path.string() + ".ship-FLEET.cursor");
  if (const auto cursor = cursor_file.load()) start = cursor->next_sequence;
  std::vector<ShippedStream> streams;
  streams.push_back({std::make_unique<LogSource>(log.path, "run", start.value_or(0)), std::move(cursor_file)});
  Shipper shipper(publisher, std::move(streams), fast_options(batch));
  static const volatile std::sig_atomic_t never = 0;
  return shipper.run(never);
}

struct Coverage {
  std::uint64_t records = 0;
  std::uint64_t lost = 0;
  std::uint64_t twice = 0;
};

// The oracle: every sequence below `appended` is covered, each record is the
// one appended at its sequence; `twice` counts records stored more than once.
Coverage check_stream(const MemoryStream& stream, std::uint64_t appended) {
  std::map<std::uint64_t, int> seen;
  Coverage coverage;
  for (const auto& stored : stream.messages()) {
    const DecodedMessage message = decoded(stored.payload);
    CHECK(stored.id == message_id("host-1", "run", message.first_sequence));
    for (std::uint64_t i = 0; i < message.count; ++i) {
      const std::uint64_t sequence = message.first_sequence + i;
      if (++seen[sequence] > 1) ++coverage.twice;
      if (message.kind == MessageKind::records) {
        CHECK(test::is_record_of(message.record(i), sequence));
        ++coverage.records;
      } else {
        ++coverage.lost;
      }
    }
  }
  CHECK(seen.size() == appended);
  if (!seen.empty()) CHECK(seen.rbegin()->first == appended - 1);
  return coverage;
}

TEST_CASE("shipping without faults: every record once, in batches, the cursor at the end") {
  Log log(4096);
  log.append(1000);
  MemoryStream stream;
  FaultyPublisher publisher(stream, {}, 1);
  const ShipStats stats = ship_once(log, publisher, 256);
  CHECK(stats.records == 1000);
  CHECK(stats.messages == 4);
  CHECK(stream.messages().size() == 4);
  const Coverage coverage = check_stream(stream, 1000);
  CHECK(coverage.twice == 0);
  CHECK(CursorFile(log.path.string() + ".ship-FLEET.cursor").load()->next_sequence == 1000);
}

TEST_CASE("records overwritten before shipping go out as one gap message with the count") {
  Log log(64);
  log.append(50);
  MemoryStream stream;
  FaultyPublisher publisher(stream, {}, 1);
  CHECK(ship_once(log, publisher, 16).records == 50);
  log.append(200);  // 50..249; the ring keeps 186..249
  const ShipStats stats = ship_once(log, publisher, 16);
  CHECK(stats.records == 64);
  CHECK(stats.lost == 136);
  const Coverage coverage = check_stream(stream, 250);
  CHECK(coverage.records + coverage.lost == 250);
  CHECK(coverage.lost == 136);
  CHECK(coverage.twice == 0);
}

TEST_CASE("lost messages, lost acks, refused publishes and reordered acks: still exactly once") {
  for (std::uint32_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    Log log(8192);
    log.append(3000);
    MemoryStream stream;
    FaultyPublisher publisher(stream, {.lose = 0.15, .lose_ack = 0.15, .refuse = 0.1, .reorder = 6, .kill_after = {}}, seed);
    const ShipStats stats = ship_once(log, publisher, 50);
    CHECK(stats.records == 3000);
    CHECK(stats.resends > 0);
    const Coverage coverage = check_stream(stream, 3000);
    CHECK(coverage.twice == 0);
  }
}

TEST_CASE("a shipper killed mid-run and restarted with other batch sizes publishes nothing twice") {
  for (std::uint32_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    Log log(16384);
    log.append(4000);
    MemoryStream stream;
    {
      FaultyPublisher killed(stream, {.lose_ack = 0.3, .reorder = 4, .kill_after = 10 + seed % 20}, seed);
      CHECK_THROWS_AS(ship_once(log, killed, 37 + seed), Killed);
    }
    log.append(1000);
    FaultyPublisher restarted(stream, {.lose_ack = 0.2, .reorder = 3, .kill_after = {}}, seed + 100);
    ship_once(log, restarted, 256);
    const Coverage coverage = check_stream(stream, 5000);
    CHECK(coverage.twice == 0);
    CHECK(coverage.records == 5000);
  }
}

TEST_CASE("killed with a hole in what it stored: the restart fills it; copies are counted, never lost") {
  // The first run's messages are lost outright now and then (its neighbours
  // are stored), and it is killed before resending. The restart cannot know
  // the old batch boundaries past the hole: it may store some records twice,
  // which vrrl pull drops, but it never leaves one out.
  for (std::uint32_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    Log log(16384);
    log.append(4000);
    MemoryStream stream;
    {
      FaultyPublisher killed(stream, {.lose = 0.3, .kill_after = 30}, seed);
      CHECK_THROWS_AS(ship_once(log, killed, 40), Killed);
    }
    FaultyPublisher restarted(stream, {}, seed);
    const ShipStats stats = ship_once(log, restarted, 100);
    (void)stats;
    const Coverage coverage = check_stream(stream, 4000);
    CHECK(coverage.records - coverage.twice == 4000);

    // And pull rebuilds the log exactly, the copies dropped.
    class MemoryReader final : public StreamReader {
     public:
      explicit MemoryReader(const MemoryStream& stream) : stream_(stream) {}
      std::optional<StoredMessage> next() override {
        if (next_ == stream_.messages().size()) return std::nullopt;
        const auto& stored = stream_.messages()[next_++];
        return StoredMessage{stored.payload, next_, 0};
      }

     private:
      const MemoryStream& stream_;
      std::size_t next_ = 0;
    } reader(stream);
    test::TempDir out;
    Puller puller({out.path() / "pulled", 16384, 1024});
    const PullReport report = puller.run(reader);
    REQUIRE(report.streams.size() == 1);
    CHECK(report.streams[0].tally.written == 4000);
    CHECK(report.streams[0].tally.missing == 0);
    CHECK(report.streams[0].tally.duplicates == coverage.twice);
    const LogReader pulled = LogReader::open(report.streams[0].log);
    std::uint64_t sequence = 0;
    for (const RecordView record : pulled.replay()) CHECK(test::is_record_of(record, sequence++));
    CHECK(sequence == 4000);
  }
}

TEST_CASE("a duplicate whose original holds other records is refused: two logs under one name") {
  Log first(64);
  first.append(10);
  MemoryStream stream;
  FaultyPublisher publisher(stream, {}, 1);
  ship_once(first, publisher, 16);
  // Another log, other records, the same source id and name.
  test::TempDir other_dir;
  RingLog other = RingLog::open(other_dir.file("run.vrrl"), 64);
  for (std::uint64_t i = 0; i < 10; ++i) test::append_record(other, 1000 + i);
  std::vector<ShippedStream> streams;
  streams.push_back({std::make_unique<LogSource>(other_dir.file("run.vrrl"), "run", 0),
                     CursorFile(other_dir.file("run.vrrl.ship-FLEET.cursor"))});
  Shipper shipper(publisher, std::move(streams), fast_options(16));
  static const volatile std::sig_atomic_t never = 0;
  CHECK_THROWS_WITH(shipper.run(never), Catch::Contains("already holds different records"));
}

TEST_CASE("a log whose count goes backwards stops the shipper instead of reusing sequences") {
  Log log(64);
  log.append(100);
  LogSource source(log.path, "run", 0);
  struct Sink final : RecordSink {
    std::uint64_t records = 0;
    void on_record(std::uint64_t, const RecordedSlot&, const FailureEvidence&) override { ++records; }
    void on_lost(std::uint64_t, std::uint64_t) override {}
  } sink;
  source.poll(sink, 1000);
  CHECK(sink.records == 64);
  CHECK(source.position() == 100);
  // The seed's kind of cursor: the count modulo the capacity.
  const std::uint64_t seed_cursor = 100 % 64;
  std::FILE* file = std::fopen(log.path.c_str(), "r+b");
  REQUIRE(file != nullptr);
  std::fseek(file, static_cast<long>(format::header_offset::cursor), SEEK_SET);
  std::fwrite(&seed_cursor, sizeof seed_cursor, 1, file);
  std::fclose(file);
  CHECK_THROWS_WITH(source.poll(sink, 1000), Catch::Contains("went backwards"));
}

}  // namespace
