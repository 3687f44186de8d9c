// Power loss with sync_every: a crash-state explorer over the engine's own
// disk I/O, for VRRL v1 and v2 logs. Every pwrite and fdatasync a pass makes on the disk file is
// recorded (lib/disk_io.hpp's hook) into a model of the device by 512-byte
// sector: a sector written since the last successful flush may hold, after a
// power cut, any version it had since (whole sectors; pages are sets of
// sectors, so "any subset of the pages" is covered too), and a failed flush
// makes nothing durable. At every flush the explorer builds files that mix
// those versions sector by sector (every old/new subset when few sectors are
// in doubt, samples otherwise) and checks what docs/design.md promises for
// each, with D = durable() before the pass and A = the records appended:
//   * the file opens (LogReader, and RingLog with sync_every after the cut,
//     when tmpfs is gone), replays in every recovery mode without a throw;
//   * replay is in append order (strictly increasing sequences), and every
//     record is exactly one that was appended to that slot (no torn record,
//     none invented);
//   * every record counted by durable() and still in the ring's window,
//     [max(D, A) - capacity, D), is there; the header cursor is in [D, A];
//   * reopened after the cut, the log continues: appends and a sync() land
//     after the survivors, in order.
// The explorer also counts the states in which a record straddling two
// sectors was half old, half new (what tears a writer that writes a record
// and its magic in one go) to show it does reach them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "durability_support.hpp"

namespace {

using vrrl::LogReader;
using vrrl::Recovery;
using vrrl::RingLog;
namespace format = vrrl::format;
using Bytes = std::vector<std::byte>;
using Call = vrrl::test::DiskHook::Call;

constexpr std::size_t sector_bytes = 512;
constexpr std::uint64_t staging_slots = 131'072;  // lib/mirror.cpp: what a pass after a lap keeps

Bytes read_file(const std::filesystem::path& path) {
  const LogReader reader = LogReader::open(path);
  return Bytes(reader.data(), reader.data() + reader.file_size());
}

void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT,
                        0644);  // no O_TRUNC: ext4 flushes a truncated-and-rewritten file at close
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

// What the device may hold, per 512-byte sector.
class SectorModel {
 public:
  explicit SectorModel(Bytes image)
      : image_(std::move(image)), versions_((image_.size() + sector_bytes - 1) / sector_bytes) {
    for (std::size_t s = 0; s < versions_.size(); ++s) versions_[s] = {sector(s)};
  }

  // A pwrite: the page cache changes; every sector it touched may now be
  // durable as of this moment, or as of any earlier version.
  void write(std::uint64_t offset, const std::byte* data, std::size_t size) {
    REQUIRE(offset + size <= image_.size());
    std::memcpy(image_.data() + offset, data, size);
    for (std::size_t s = offset / sector_bytes; s * sector_bytes < offset + size; ++s) {
      Bytes now = sector(s);
      if (std::find(versions_[s].begin(), versions_[s].end(), now) == versions_[s].end()) {
        versions_[s].push_back(std::move(now));
      }
      written_.insert(s);
    }
  }
  // A successful flush makes the sectors written since the last flush
  // attempt durable as they are now; a failed one makes nothing durable, and
  // what it covered stays in doubt until rewritten and flushed.
  void flush(bool ok) {
    if (ok) {
      for (const std::size_t s : written_) versions_[s] = {sector(s)};
    }
    written_.clear();
  }

  [[nodiscard]] std::vector<std::size_t> in_doubt() const {
    std::vector<std::size_t> sectors;
    for (std::size_t s = 0; s < versions_.size(); ++s) {
      if (versions_[s].size() > 1) sectors.push_back(s);
    }
    return sectors;
  }
  [[nodiscard]] const std::vector<Bytes>& versions(std::size_t s) const { return versions_[s]; }
  [[nodiscard]] const Bytes& image() const noexcept { return image_; }

  // A device state: each sector in doubt as version choose(sector, count).
  template <class Choose>
  [[nodiscard]] Bytes compose(Choose&& choose) const {
    Bytes state = image_;
    for (std::size_t s = 0; s < versions_.size(); ++s) {
      const std::vector<Bytes>& options = versions_[s];
      const Bytes& chosen = options.size() == 1 ? options[0] : options[choose(s, options.size())];
      std::memcpy(state.data() + s * sector_bytes, chosen.data(), chosen.size());
    }
    return state;
  }

 private:
  [[nodiscard]] Bytes sector(std::size_t s) const {
    const std::size_t from = s * sector_bytes, to = std::min(image_.size(), from + sector_bytes);
    return Bytes(image_.begin() + static_cast<std::ptrdiff_t>(from), image_.begin() + static_cast<std::ptrdiff_t>(to));
  }

  Bytes image_;                               // the page cache
  std::vector<std::vector<Bytes>> versions_;  // per sector, what the device may hold ([0]: the oldest)
  std::set<std::size_t> written_;
};

struct Totals {
  std::uint64_t states = 0;
  std::uint64_t reopened = 0;           // states also reopened, appended to and synced
  std::uint64_t half_old_half_new = 0;  // states with a straddling record half from before, half from after the pass
  std::uint64_t partial_new = 0;        // states showing some but not all of the pass's records
  std::uint64_t cursor_moved = 0;       // states whose cursor is the pass's, not durable()'s
  std::uint64_t failed_passes = 0;
};

// One pass's worth of faults to inject: fail the n-th call of a kind (0 = none).
struct Faults {
  int fail_flush = 0;
  int fail_write = 0;
};

// How many states to sample at each flush (when too many sectors are in doubt
// for every subset), and how often to reopen a state.
struct Sampling {
  int subsets = 192;
  int versions = 48;
  std::uint64_t reopen_every = 8;
};

class Explorer {
 public:
  Explorer(std::uint64_t capacity, std::uint64_t seed, vrrl::Format format = vrrl::Format::v1,
           Sampling sampling = Sampling{})
      : capacity_(capacity), format_(format), sampling_(sampling), random_(seed) {}

  Totals run(const std::vector<std::pair<std::uint64_t, Faults>>& batches) {
    const auto path = dir_.file("writer.vrrl");
    RingLog log = RingLog::open(path, capacity_,
                                vrrl::test::write_behind(writer_live_.path(), vrrl::test::manual_passes, format_));
    REQUIRE(log.format() == format_);
    struct stat status {};
    REQUIRE(::stat(path.c_str(), &status) == 0);
    inode_ = status.st_ino;
    model_.emplace(read_file(path));
    const vrrl::test::DiskHook hook([this](Call call, int fd, const void* data, std::size_t size, off_t offset) {
      return intercept(call, fd, data, size, offset);
    });

    std::uint64_t appended = 0;
    for (const auto& [batch, faults] : batches) {
      vrrl::test::append_sequences(log, appended, appended + batch);
      appended += batch;
      const std::uint64_t durable = log.durability_stats().durable;  // durable() throws after a failed pass
      faults_ = faults;
      flushes_ = writes_ = 0;
      snapshots_.clear();
      before_ = model_->image();
      bool failed = false;
      try {
        log.sync();
      } catch (const vrrl::Error& e) {
        failed = true;
        CHECK(e.kind() == vrrl::ErrorKind::io);
        CHECK(e.errno_value() == EIO);
      }
      CHECK(failed == (faults.fail_flush != 0 || faults.fail_write != 0));
      totals_.failed_passes += failed;
      after_ = model_->image();
      CAPTURE(vrrl::test::name_of(format_), capacity_, batch, durable, appended, failed);
      for (const SectorModel& snapshot : snapshots_) explore(snapshot, durable, appended);
      if (!failed) {
        REQUIRE(log.durability_stats().durable == appended);
        REQUIRE(model_->in_doubt().empty());
        REQUIRE(model_->image() == read_file(path));
        // A pass after the writer lapped the ring keeps the newest records the staging buffer holds.
        if (appended - durable > capacity_) window_ = std::min<std::uint64_t>(capacity_, staging_slots);
        window_ = std::min(capacity_, window_ + (appended - durable > capacity_ ? 0 : appended - durable));
        REQUIRE(vrrl::test::replayed_sequences(path) == vrrl::test::ring_window(appended, window_));
      } else {
        REQUIRE(log.durability_stats().durable == durable);
      }
    }
    faults_ = {};
    return totals_;
  }

 private:
  int intercept(Call call, int fd, const void* data, std::size_t size, off_t offset) {
    struct stat status {};
    // Another file (a reopen check): no device model, and no need to wait for one.
    if (::fstat(fd, &status) != 0 || status.st_ino != inode_) {
      return call == Call::fdatasync ? vrrl::test::DiskHook::skip_flush : 0;
    }
    switch (call) {
      case Call::pread:
        return 0;
      case Call::pwrite:
        if (++writes_ == faults_.fail_write) return EIO;
        model_->write(static_cast<std::uint64_t>(offset), static_cast<const std::byte*>(data), size);
        return 0;
      case Call::fdatasync: {
        snapshots_.push_back(*model_);  // a cut before this flush completes
        const bool ok = ++flushes_ != faults_.fail_flush;
        model_->flush(ok);
        return ok ? vrrl::test::DiskHook::skip_flush : EIO;
      }
    }
    return 0;
  }

  void explore(const SectorModel& snapshot, std::uint64_t durable, std::uint64_t appended) {
    const std::vector<std::size_t> doubt = snapshot.in_doubt();
    std::map<std::size_t, std::size_t> position;  // sector -> bit in a subset
    for (std::size_t i = 0; i < doubt.size(); ++i) position[doubt[i]] = i;
    const auto oldest_or_newest = [&](std::uint64_t subset) {
      return [&, subset](std::size_t sector, std::size_t count) -> std::size_t {
        return (subset >> (position.at(sector) % 64)) & 1 ? count - 1 : 0;
      };
    };
    if (doubt.size() <= 10) {
      for (std::uint64_t subset = 0; subset < (std::uint64_t{1} << doubt.size()); ++subset) {
        check(snapshot.compose(oldest_or_newest(subset)), durable, appended);
      }
    } else {
      for (int sample = 0; sample < sampling_.subsets; ++sample) {
        check(snapshot.compose(oldest_or_newest(random_())), durable, appended);
      }
    }
    // Any version of each sector, not only the oldest or the newest.
    for (int sample = 0; sample < sampling_.versions; ++sample) {
      check(
          snapshot.compose([&](std::size_t, std::size_t count) { return static_cast<std::size_t>(random_() % count); }),
          durable, appended);
    }
  }

  void check(const Bytes& state, std::uint64_t durable, std::uint64_t appended) {
    ++totals_.states;
    count_half_old_half_new(state);
    const auto state_path = dir_.file("state.vrrl");
    write_file(state_path, state);

    const LogReader reader = LogReader::open(state_path);
    REQUIRE(reader.capacity() == capacity_);
    const std::uint64_t cursor = reader.appended();
    REQUIRE(cursor >= durable);
    REQUIRE(cursor <= appended);
    totals_.cursor_moved += cursor > durable;

    std::vector<std::uint64_t> order;
    auto range = reader.replay(Recovery::strict);  // throws on a foreign magic
    for (auto it = range.begin(); it != range.end(); ++it) {
      const vrrl::RecordView view = *it;
      const std::optional<vrrl::test::RecordKey> key = vrrl::test::check_record(view.slot(), view.failure());
      REQUIRE(key.has_value());  // exactly one append's bytes: not torn, not invented
      REQUIRE(key->producer == 0);
      REQUIRE(key->index < appended);
      REQUIRE(key->index % capacity_ == it.slot_index());
      order.push_back(key->index);
    }
    REQUIRE(range.report().clean());
    REQUIRE(std::adjacent_find(order.begin(), order.end(), std::greater_equal<>()) == order.end());  // append order
    // Every record durable() counted that the file holds after the last good
    // pass (the ring's window, or fewer after a pass that followed a lap), and
    // is still in the ring's window.
    const std::uint64_t window_start =
        std::max(appended > capacity_ ? appended - capacity_ : 0, durable > window_ ? durable - window_ : 0);
    std::set<std::uint64_t> present(order.begin(), order.end());
    for (std::uint64_t n = window_start; n < durable; ++n) REQUIRE(present.count(n) == 1);
    std::uint64_t newer = 0;
    for (const std::uint64_t n : order) newer += n >= durable;
    if (newer > 0 && newer < appended - std::max(durable, window_start)) {
      ++totals_.partial_new;
    }
    std::uint64_t skipped = 0;
    for ([[maybe_unused]] const vrrl::RecordView view : reader.replay(Recovery::skip_bad_slots)) ++skipped;
    REQUIRE(skipped == order.size());

    // After the cut the tmpfs is gone: reopen with an empty live directory,
    // append, sync, and read the file back (every 8th state: each costs a
    // ring and a few flushes).
    if (totals_.states % sampling_.reopen_every != 0) return;
    ++totals_.reopened;
    const vrrl::test::LiveDir fresh;
    constexpr std::uint64_t added = 3;
    {
      RingLog after = RingLog::open(state_path, capacity_, vrrl::test::write_behind(fresh.path()));
      REQUIRE(after.appended() == cursor);
      REQUIRE(after.durable() == cursor);
      // A v2 writer clears the records beyond the cursor when it opens (a
      // history it replaces); v1 has none (magics follow the cursor).
      std::erase_if(order, [&](std::uint64_t n) { return n >= cursor; });
      REQUIRE(vrrl::test::replayed_sequences(after) == order);
      for (std::uint64_t i = 0; i < added; ++i) {
        const vrrl::test::SelfCheckingRecord record = vrrl::test::make_record(vrrl::test::RecordKey{1, i});
        after.append(record.slot, record.evidence);
      }
      after.sync();
      REQUIRE(after.durable() == cursor + added);
    }
    REQUIRE(fresh.files().empty());
    std::set<std::uint64_t> reused;
    for (std::uint64_t i = 0; i < added; ++i) reused.insert((cursor + i) % capacity_);
    std::vector<vrrl::test::RecordKey> expected;
    for (const std::uint64_t n : order) {
      if (reused.count(n % capacity_) == 0) expected.push_back({0, n});
    }
    for (std::uint64_t i = 0; i < added; ++i) expected.push_back({1, i});
    std::vector<vrrl::test::RecordKey> found;
    const LogReader final_reader = LogReader::open(state_path);
    for (const vrrl::RecordView view : final_reader.replay()) {
      const std::optional<vrrl::test::RecordKey> key = vrrl::test::check_record(view.slot(), view.failure());
      REQUIRE(key.has_value());
      found.push_back(*key);
    }
    REQUIRE(found == expected);
  }

  // A slot straddling two sectors whose bytes are neither all as before the
  // pass nor all as after it.
  void count_half_old_half_new(const Bytes& state) {
    for (std::uint64_t slot = 0; slot < capacity_; ++slot) {
      const std::uint64_t at = format::record_position(slot);
      if (at / sector_bytes == (at + format::record_bytes - 1) / sector_bytes) continue;
      const auto same = [&](const Bytes& other) {
        return std::memcmp(state.data() + at, other.data() + at, format::record_bytes) == 0;
      };
      if (!same(before_) && !same(after_)) {
        ++totals_.half_old_half_new;
        return;
      }
    }
  }

  std::uint64_t capacity_;
  vrrl::Format format_;
  Sampling sampling_;
  std::mt19937_64 random_;
  vrrl::test::TempDir dir_;
  vrrl::test::LiveDir writer_live_;
  ino_t inode_ = 0;
  std::optional<SectorModel> model_;
  std::vector<SectorModel> snapshots_;
  Bytes before_, after_;
  Faults faults_;
  std::uint64_t window_ = 0;  // how many of the newest records the file holds after the last good pass
  int flushes_ = 0;
  int writes_ = 0;
  Totals totals_;
};

}  // namespace

TEST_CASE("power loss during a pass: the file replays in append order, nothing torn or invented, nothing durable lost",
          "[durability][power_loss]") {
  Totals all;
  const auto add = [&](const Totals& t) {
    all.states += t.states;
    all.reopened += t.reopened;
    all.half_old_half_new += t.half_old_half_new;
    all.partial_new += t.partial_new;
    all.cursor_moved += t.cursor_moved;
    all.failed_passes += t.failed_passes;
  };
  const Faults none;
  // 64 slots (4 KiB + 32 bytes: 9 sectors): first lap, exact fill, wraps, more than a lap per pass.
  add(Explorer(64, 1).run(
      {{1, none}, {6, none}, {57, none}, {1, none}, {30, none}, {64, none}, {100, none}, {7, none}}));
  // 200 slots: passes that reuse slots holding durable records, a lap and a half, single records.
  add(Explorer(200, 2).run({{150, none}, {90, none}, {1, none}, {300, none}, {13, none}, {199, none}}));
  // 1,000 slots (125 sectors): large passes, sampled.
  add(Explorer(1000, 3).run({{700, none}, {650, none}, {1, none}, {1200, none}}));
  // Failed passes: a flush fails (each of the three), a write fails; the next pass heals.
  add(Explorer(64, 4).run({{20, none},
                           {50, Faults{.fail_flush = 1, .fail_write = 0}},
                           {10, none},
                           {40, Faults{.fail_flush = 2, .fail_write = 0}},
                           {5, none},
                           {70, Faults{.fail_flush = 3, .fail_write = 0}},
                           {3, Faults{.fail_flush = 1, .fail_write = 0}},
                           {9, none},
                           {30, Faults{.fail_flush = 0, .fail_write = 2}},
                           {1, none}}));
  // VRRL v2: one step (records with their commit words, and the cursor) and
  // a second for `synced`; the same promises.
  const auto v2 = vrrl::Format::v2;
  add(Explorer(64, 5, v2).run({{1, none}, {6, none}, {57, none}, {30, none}, {64, none}, {100, none}, {7, none}}));
  add(Explorer(200, 6, v2).run({{150, none}, {90, none}, {1, none}, {300, none}, {199, none}}));
  add(Explorer(1000, 7, v2).run({{700, none}, {650, none}, {1200, none}}));
  // 262,144 slots (16 MiB): passes after a lap keep the newest 131,072 records
  // and empty the rest; each state costs a 16 MiB file, so fewer samples.
  const Sampling few{.subsets = 12, .versions = 4, .reopen_every = 16};
  add(Explorer(262'144, 9, vrrl::Format::v1, few).run({{1000, none}, {300'000, none}, {2000, none}, {280'000, none}}));
  add(Explorer(262'144, 10, v2, few).run({{1000, none}, {300'000, none}, {2000, none}, {280'000, none}}));
  add(Explorer(64, 8, v2).run({{20, none},
                               {50, Faults{.fail_flush = 1, .fail_write = 0}},
                               {10, none},
                               {40, Faults{.fail_flush = 2, .fail_write = 0}},
                               {5, none},
                               {30, Faults{.fail_flush = 0, .fail_write = 2}},
                               {1, none}}));
  WARN("write-behind power-loss explorer: "
       << all.states << " crash states, " << all.reopened << " reopened and appended to; " << all.half_old_half_new
       << " with a record half old, half new; " << all.partial_new << " showing part of a pass; " << all.cursor_moved
       << " with the pass's cursor; " << all.failed_passes << " failed passes");
  CHECK(all.states > 5'000);
  CHECK(all.half_old_half_new > 0);  // the explorer reaches what tears a one-step writer
  CHECK(all.partial_new > 0);
  CHECK(all.cursor_moved > 0);
  CHECK(all.failed_passes == 8);
}
