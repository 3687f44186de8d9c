// The shipping protocol of shipper.hpp, and why it neither repeats nor skips.
//
// Invariant per stream: the batches in `in_flight` are sorted by `first`,
// contiguous, and start at the acknowledged position A (every sequence below
// A is in the stream: stored, or announced lost). The source's position is
// the end of the last batch. So the cursor file, which is only ever set to A,
// never promises a sequence the stream does not have.
//
// No hole: a batch leaves in_flight only when it is acknowledged as stored,
// or as a duplicate whose original covers at least its range (otherwise the
// part the original lacks is sent again as a new batch). A timed-out batch is
// resent until one of those happens or the outage limit ends the run (the
// cursor file then still says A).
//
// No duplicate, mid-run: a resend is the same bytes under the same id, so the
// stream keeps one copy (within its duplicate window, which check_stream
// requires to exceed the resend horizon).
//
// No duplicate across a restart: the new run starts at the cursor file's A,
// at or before the end of what the old run stored. While probing, it sends one
// batch at a time; a duplicate means the old run stored a batch at the same
// first sequence, and the probe continues at that original's end. Because the
// old run's batches were contiguous from A, this walks exactly its batch
// boundaries until the first sequence it had not stored: the first batch
// stored as new. What remains possible (docs/shipping.md, "Guarantees"): the
// old run had a gap in what it stored (a timed-out batch whose later
// neighbours were stored) and was killed before resending; or the restart
// came after the duplicate window. Then records are stored twice, never
// lost, and `vrrl pull` keeps one copy.
#include "shipper.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>

#include "failure.hpp"
#include "message.hpp"
#include "names.hpp"

namespace vrrl::ship {
namespace {

using Clock = std::chrono::steady_clock;

// --once: polls in a row without progress before the newest records count as
// still being written (a writer between its cursor and magic stores, or one
// that died there) and are left for the next run instead of waiting forever.
constexpr unsigned stalled_polls_before_giving_up = 25;

std::string fix_for_refusal(const std::string& error) {
  if (error.find("maximum bytes") != std::string::npos || error.find("maximum messages") != std::string::npos) {
    return "the stream is full and discards new messages: raise its max_bytes/max_msgs, or set its discard policy "
           "to old";
  }
  if (error.find("expected stream") != std::string::npos) {
    return "the subject is captured by another stream: pass that stream's --stream, or another --subject";
  }
  return "see the NATS server's log for the reason; the cursor file is consistent, so a restart resumes without loss";
}

}  // namespace

struct Shipper::Batch {
  std::uint64_t ticket = 0;
  std::uint64_t first = 0;
  std::uint64_t end = 0;
  MessageKind kind = MessageKind::records;
  std::string id;
  std::vector<std::byte> payload;
  bool awaiting_ack = false;  // published, its Ack not in yet
  bool done = false;          // in the stream: may be retired once all before it are
  bool sent_once = false;     // a copy may have been stored already
  unsigned sends = 0;         // publishes of these bytes (under this id) by this run
  unsigned attempts = 0;
  Clock::time_point resend_at{};
  std::optional<std::uint64_t> duplicate_of;  // the original's stream sequence, while it is to be checked
};

class Shipper::Stream final : public RecordSink {
 public:
  Stream(ShippedStream shipped, const ShipperOptions& options)
      : source(std::move(shipped.source)),
        cursor_file(std::move(shipped.cursor_file)),
        identity{options.source_id, source->name(), source->capacity()},
        builder(identity),
        written_position(source->position()) {}

  void on_record(std::uint64_t sequence, const RecordedSlot& slot, const FailureEvidence& evidence) override {
    if (builder.empty()) builder.start(sequence);
    builder.add(slot, evidence);
  }

  void on_lost(std::uint64_t first, std::uint64_t count) override {
    flush();
    Batch gap;
    gap.first = first;
    gap.end = first + count;
    gap.kind = MessageKind::gap;
    gap.payload = encode_gap(identity, first, count);
    produced.push_back(std::move(gap));
  }

  // Turns the records gathered so far into a batch.
  void flush() {
    if (builder.empty()) return;
    Batch batch;
    batch.first = builder.first_sequence();
    batch.end = batch.first + builder.count();
    batch.kind = MessageKind::records;
    batch.payload = builder.finish();
    produced.push_back(std::move(batch));
  }

  // Every sequence below this is in the stream (the invariant above).
  [[nodiscard]] std::uint64_t acknowledged_position() const noexcept {
    return in_flight.empty() ? source->position() : in_flight.front().first;
  }

  std::unique_ptr<RecordSource> source;
  CursorFile cursor_file;
  const StreamIdentity identity;
  RecordsMessageBuilder builder;
  std::deque<Batch> in_flight;  // sorted by first, contiguous
  std::vector<Batch> produced;  // by the last poll, about to be sent
  bool probing = true;
  std::uint64_t target = 0;  // --once: the source's end when run() started
  unsigned stalled_polls = 0;
  std::uint64_t written_position;
  Clock::time_point written_at{};
};

Shipper::Shipper(Publisher& publisher, std::vector<ShippedStream> streams, ShipperOptions options,
                 DiscoverStreams discover)
    : publisher_(publisher), options_(std::move(options)), discover_(std::move(discover)) {
  for (ShippedStream& shipped : streams) add_stream(std::move(shipped));
}

void Shipper::add_stream(ShippedStream shipped) {
  auto stream = std::make_unique<Stream>(std::move(shipped), options_);
  stream->target = stream->source->end();
  stream->written_at = Clock::now() - options_.cursor_interval;  // the first acknowledgement is written at once
  streams_.push_back(std::move(stream));
}

Shipper::~Shipper() = default;

std::size_t Shipper::in_flight() const noexcept {
  std::size_t total = 0;
  for (const auto& stream : streams_) total += stream->in_flight.size();
  return total;
}

void Shipper::send(Batch& batch) {
  std::string error;
  if (publisher_.publish(batch.ticket, batch.id, batch.payload, error)) {
    batch.awaiting_ack = true;
    batch.sent_once = true;
    ++batch.sends;
  } else {
    schedule_resend(batch, error);
  }
}

void Shipper::schedule_resend(Batch& batch, const std::string& error) {
  batch.awaiting_ack = false;
  ++batch.attempts;
  // Doubling from retry_delay up to max_retry_delay: quick after a blip, gentle during an outage.
  const auto delay = options_.retry_delay * (1u << std::min(batch.attempts - 1, 5u));
  batch.resend_at = Clock::now() + std::min(delay, options_.max_retry_delay);
  last_error_ = error;
}

void Shipper::handle(const Ack& ack) {
  for (auto& stream : streams_) {
    for (Batch& batch : stream->in_flight) {
      if (batch.ticket != ack.ticket || !batch.awaiting_ack) continue;
      batch.awaiting_ack = false;
      switch (ack.kind) {
        case AckKind::stored:
          batch.done = true;
          ++stats_.messages;
          stats_.payload_bytes += batch.payload.size();
          (batch.kind == MessageKind::records ? stats_.records : stats_.lost) += batch.end - batch.first;
          last_progress_ = Clock::now();
          stream->probing = false;
          return;
        case AckKind::duplicate:
          batch.duplicate_of = ack.stream_sequence;
          last_progress_ = Clock::now();
          verify_duplicate(*stream, batch);
          return;
        case AckKind::retry:
          schedule_resend(batch, ack.error);
          return;
        case AckKind::failed:
          throw Failure("the NATS server refused a message of " + stream->identity.stream_name + " (sequences " +
                            std::to_string(batch.first) + ".." + std::to_string(batch.end - 1) + "): " + ack.error,
                        fix_for_refusal(ack.error));
      }
    }
  }
}

void Shipper::verify_duplicate(Stream& stream, Batch& batch) {
  std::optional<std::vector<std::byte>> original;
  try {
    original = publisher_.stored_payload(*batch.duplicate_of);
  } catch (const Unavailable& e) {
    batch.resend_at = Clock::now() + options_.retry_delay * 5;  // checked again in resend_due()
    last_error_ = e.what();
    return;
  }
  const std::uint64_t sequence = *batch.duplicate_of;
  batch.duplicate_of.reset();
  const std::uint64_t count = batch.end - batch.first;
  if (!original) {
    // The stream's limits removed the original since: nothing left to compare with.
    batch.done = true;
    (stream.probing ? stats_.already_stored : stats_.records) += batch.kind == MessageKind::records ? count : 0;
    return;
  }
  DecodedMessage stored;
  DecodedMessage sent;
  std::string why;
  if (!decode_message(*original, stored, why)) {
    throw Failure("message " + std::to_string(sequence) + " of stream " + options_.jetstream_stream + " has the id " +
                      batch.id + " but is not a vrrl ship message: " + why,
                  "something else publishes with vrrl's message ids; ship into a stream of your own");
  }
  [[maybe_unused]] const bool ours = decode_message(batch.payload, sent, why);
  if (stored.identity.source_id != stream.identity.source_id ||
      stored.identity.stream_name != stream.identity.stream_name || stored.first_sequence != batch.first) {
    throw Failure("message " + std::to_string(sequence) + " of stream " + options_.jetstream_stream + " has the id " +
                      batch.id + " but holds " + stored.identity.source_id + ":" + stored.identity.stream_name +
                      " from sequence " + std::to_string(stored.first_sequence),
                  "something else publishes with vrrl's message ids; ship into a stream of your own");
  }
  const std::uint64_t overlap_end = std::min(stored.end_sequence(), batch.end);
  if (stored.kind == MessageKind::records && sent.kind == MessageKind::records &&
      std::memcmp(stored.records.data(), sent.records.data(),
                  static_cast<std::size_t>((overlap_end - batch.first) * format::record_bytes)) != 0) {
    throw Failure("stream " + options_.jetstream_stream + " already holds different records for " + batch.id +
                      " (message " + std::to_string(sequence) + "): another log is shipped under the same source id " +
                      stream.identity.source_id + " and name " + stream.identity.stream_name,
                  "give each log its own --name (or each host its own --source-id); to ship this log afresh, "
                  "use another --stream");
  }
  const std::uint64_t stored_end = stored.end_sequence();
  if (stored_end > stream.source->end()) {
    throw Failure("stream " + options_.jetstream_stream + " already holds sequences up to " +
                      std::to_string(stored_end - 1) + " of " + stream.identity.source_id + ":" +
                      stream.identity.stream_name + ", but `" + stream.source->path().string() + "` has only " +
                      std::to_string(stream.source->end()) + ": it is another log under the same name",
                  "ship it under another --name, or into another --stream");
  }
  if (stream.probing) {
    // The previous run stored [first, stored_end): continue after it.
    batch.end = std::min(batch.end, stored_end);
    batch.done = true;
    // Sent more than once: most likely our own first copy, not the previous run's (for the summary only).
    if (stored.kind == MessageKind::records) {
      (batch.sends > 1 ? stats_.records : stats_.already_stored) += stored_end - batch.first;
    }
    stream.source->seek(stored_end);
    return;
  }
  if (stored_end >= batch.end) {
    batch.done = true;
    if (batch.kind == MessageKind::records) stats_.records += count;
    // Batches after this one overlap the original: those records are now in
    // the stream twice (see the header). Counted, and dropped by `vrrl pull`.
    stats_.overlapping += stored_end - batch.end;
    return;
  }
  // The original covers less: send the rest as a new message in this batch's place.
  Batch rest;
  rest.first = stored_end;
  rest.end = batch.end;
  rest.kind = batch.kind;
  rest.payload = batch.kind == MessageKind::records ? encode_records_slice(sent, stored_end, batch.end)
                                                    : encode_gap(stream.identity, stored_end, batch.end - stored_end);
  rest.ticket = next_ticket_++;
  rest.id = message_id(stream.identity.source_id, stream.identity.stream_name, rest.first);
  if (batch.kind == MessageKind::records) stats_.records += stored_end - batch.first;
  batch = std::move(rest);
  send(batch);
}

void Shipper::resend_due() {
  const auto now = Clock::now();
  for (auto& stream : streams_) {
    for (Batch& batch : stream->in_flight) {
      if (batch.done || batch.awaiting_ack || batch.resend_at > now) continue;
      if (batch.duplicate_of) {
        verify_duplicate(*stream, batch);
        continue;
      }
      if (batch.sent_once) ++stats_.resends;
      send(batch);
    }
  }
}

void Shipper::poll_sources() {
  for (auto& stream_pointer : streams_) {
    Stream& stream = *stream_pointer;
    if (stream.probing && !stream.in_flight.empty()) continue;  // one probe at a time
    if (in_flight() >= options_.max_pending) return;
    if (options_.once && stream.source->position() >= stream.target) continue;
    const std::uint64_t before = stream.source->position();
    stream.source->poll(stream, options_.batch_records);
    stream.flush();
    if (stream.probing && stream.produced.size() > 1) {
      stream.source->seek(stream.produced.front().end);
      stream.produced.resize(1);
    }
    stream.stalled_polls = stream.source->position() == before ? stream.stalled_polls + 1 : 0;
    for (Batch& batch : stream.produced) {
      batch.ticket = next_ticket_++;
      batch.id = message_id(stream.identity.source_id, stream.identity.stream_name, batch.first);
      stream.in_flight.push_back(std::move(batch));
      send(stream.in_flight.back());  // deque::push_back keeps references to the others valid
    }
    stream.produced.clear();
  }
}

void Shipper::retire_acknowledged(bool finishing) {
  const auto now = Clock::now();
  for (auto& stream : streams_) {
    while (!stream->in_flight.empty() && stream->in_flight.front().done) stream->in_flight.pop_front();
    const std::uint64_t position = stream->acknowledged_position();
    if (position == stream->written_position) continue;
    if (!finishing && now - stream->written_at < options_.cursor_interval) continue;
    stream->cursor_file.store(
        {stream->identity.source_id, stream->identity.stream_name, options_.jetstream_stream, position});
    stream->written_position = position;
    stream->written_at = now;
  }
}

bool Shipper::finished(bool stopping) const {
  return std::all_of(streams_.begin(), streams_.end(), [&](const auto& stream) {
    if (!stream->in_flight.empty()) return false;
    if (stopping) return true;
    if (!options_.once) return false;
    return stream->source->position() >= stream->target || stream->stalled_polls >= stalled_polls_before_giving_up;
  });
}

void Shipper::print_progress() {
  if (options_.progress_interval.count() == 0) return;
  const auto now = Clock::now();
  if (now - last_report_ < options_.progress_interval) return;
  last_report_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  std::fprintf(stderr,
               "vrrl ship: %" PRIu64 " records shipped (%.0f records/s, %.1f MB/s so far), %" PRIu64
               " lost, %zu messages in flight, %" PRIu64 " resent\n",
               stats_.records, static_cast<double>(stats_.records) / seconds,
               static_cast<double>(stats_.records * format::record_bytes) / seconds / 1e6, stats_.lost, in_flight(),
               stats_.resends);
}

ShipStats Shipper::run(const volatile std::sig_atomic_t& stop) {
  started_ = last_progress_ = last_report_ = last_discovery_ = Clock::now();
  for (auto& stream : streams_) stream->target = stream->source->end();
  bool stopping = false;
  bool idle = false;
  Clock::time_point drain_deadline{};
  while (true) {
    if (!stopping && stop != 0) {
      stopping = true;
      drain_deadline = Clock::now() + options_.drain_timeout;
    }
    bool worked = false;
    auto wait = idle ? options_.poll_interval : std::chrono::milliseconds(0);
    while (auto ack = publisher_.next_ack(wait)) {
      handle(*ack);
      wait = std::chrono::milliseconds(0);
      worked = true;
    }
    resend_due();
    if (!stopping && !options_.once && discover_ && Clock::now() - last_discovery_ >= std::chrono::seconds(1)) {
      last_discovery_ = Clock::now();
      for (ShippedStream& shipped : discover_()) add_stream(std::move(shipped));
    }
    if (!stopping) {
      const std::size_t before = in_flight();
      poll_sources();
      worked = worked || in_flight() != before;
    }
    retire_acknowledged(false);
    const auto now = Clock::now();
    if (in_flight() == 0) {
      last_progress_ = now;
    } else if (now - last_progress_ > options_.max_outage) {
      throw Failure("no acknowledgement from " + publisher_.describe() + " for " +
                        std::to_string(options_.max_outage.count()) + " s (" + std::to_string(in_flight()) +
                        " messages waiting; last error: " + (last_error_.empty() ? "none" : last_error_) + ")",
                    "check that the NATS server, or a majority of the cluster, is up and the stream has a leader; "
                    "the cursor file is consistent, so running vrrl ship again resumes without loss");
    }
    if (finished(stopping) || (stopping && now > drain_deadline)) break;
    print_progress();
    idle = !worked;
  }
  retire_acknowledged(true);
  stats_.unacknowledged = in_flight();
  for (const auto& stream : streams_) {
    if (options_.once && stream->source->position() < stream->target) {
      stats_.incomplete += stream->target - stream->source->position();
    }
  }
  stats_.elapsed = Clock::now() - started_;
  return stats_;
}

}  // namespace vrrl::ship
