// scheduler_demo: a toy scheduler whose worker threads record every dispatch
// into one vrrl::SharedRingLog, so that two runs can be diffed with
// replay_diff (the original purpose of the format: find where two runs'
// schedules diverge).
//
//   scheduler_demo LOG [--workers N] [--epochs E] [--batch B] [--seed S] [--perturb EPOCH]
//
// The loop, once per epoch: the scheduler (this thread) picks up to B pending
// tasks, oldest first and then by a seeded priority hash; N workers execute
// the batch concurrently, each recording the dispatch it performed; every
// result becomes a follow-up task, and a few new tasks arrive. Decisions
// depend only on the seed, never on thread timing, so two runs with the same
// seed record the same dispatches per epoch (in a different interleaving).
// --perturb EPOCH changes the priority tie-break in that one epoch, as a
// changed scheduling policy would: the runs diverge from that epoch on.
//
// Record fields: slot_idx = task id, tenant_id, opcode, args = {input low,
// input high, result low, position in the batch}, epoch; output_digest = the
// full result; timestamp_ns = wall clock (differs between runs).
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <vrrl/multi_producer.hpp>

namespace {

struct Options {
  std::filesystem::path log;
  unsigned workers = 4;
  std::uint32_t epochs = 40;
  std::uint32_t batch = 32;
  std::uint64_t seed = 1;
  std::int64_t perturb_epoch = -1;  // none
};

struct Task {
  std::uint32_t id;
  std::uint32_t tenant;
  std::uint32_t opcode;
  std::uint64_t input;
  std::uint32_t born_epoch;
};

[[nodiscard]] std::uint64_t mix64(std::uint64_t value) noexcept {
  value += 0x9E3779B97F4A7C15ull;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ull;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBull;
  return value ^ (value >> 31);
}

// The "work": a few rounds of mixing, standing in for a kernel launch.
[[nodiscard]] std::uint64_t execute(const Task& task) noexcept {
  std::uint64_t value = task.input ^ (std::uint64_t{task.opcode} << 32);
  for (int round = 0; round < 64; ++round) value = mix64(value + round);
  return value;
}

int usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: scheduler_demo LOG [--workers N] [--epochs E] [--batch B] [--seed S] [--perturb EPOCH]\n"
               "Runs a toy scheduler for E epochs (default 40) with N worker threads (default 4)\n"
               "dispatching up to B tasks per epoch (default 32), recording every dispatch into LOG\n"
               "(created fresh, capacity E*B). --perturb EPOCH changes the scheduling in that epoch.\n");
  return status;
}

bool parse(int argc, char** argv, Options& options) {
  if (argc < 2) return false;
  options.log = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) return false;
    const std::uint64_t value = std::strtoull(argv[++i], nullptr, 10);
    if (flag == "--workers") options.workers = static_cast<unsigned>(value);
    else if (flag == "--epochs") options.epochs = static_cast<std::uint32_t>(value);
    else if (flag == "--batch") options.batch = static_cast<std::uint32_t>(value);
    else if (flag == "--seed") options.seed = value;
    else if (flag == "--perturb") options.perturb_epoch = static_cast<std::int64_t>(value);
    else return false;
  }
  return options.workers > 0 && options.epochs > 0 && options.batch > 0 &&
         std::uint64_t{options.epochs} * options.batch <= vrrl::format::max_capacity;
}

class Scheduler {
 public:
  explicit Scheduler(const Options& options) : options_(options) {
    for (std::uint32_t n = 0; n < 2 * options.batch; ++n) arrive(0);
  }

  // The scheduling decision: oldest first, ties broken by a seeded hash. The
  // perturbed epoch salts the hash differently.
  std::vector<Task> pick(std::uint32_t epoch) {
    const std::uint64_t salt = options_.seed ^ (epoch == options_.perturb_epoch ? 0x5EED'F00Dull : 0);
    auto priority = [salt](const Task& task) { return mix64(salt ^ task.id); };
    std::sort(pending_.begin(), pending_.end(), [&](const Task& a, const Task& b) {
      if (a.born_epoch != b.born_epoch) return a.born_epoch < b.born_epoch;
      return priority(a) < priority(b);
    });
    const std::size_t taken = std::min<std::size_t>(options_.batch, pending_.size());
    std::vector<Task> batch(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken));
    return batch;
  }

  // Results in batch order: each becomes a follow-up task; new work arrives.
  void complete(std::uint32_t epoch, const std::vector<Task>& batch, const std::vector<std::uint64_t>& results) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      pending_.push_back({next_id_++, batch[i].tenant, static_cast<std::uint32_t>(results[i] % 16),
                          results[i], epoch + 1});
    }
    for (std::uint32_t n = 0; n < options_.batch / 2; ++n) arrive(epoch + 1);
  }

 private:
  void arrive(std::uint32_t epoch) {
    const std::uint64_t value = mix64(options_.seed * 1'000'003 + next_id_);
    pending_.push_back({next_id_++, static_cast<std::uint32_t>(value % 5), static_cast<std::uint32_t>(value >> 60),
                        value, epoch});
  }

  const Options& options_;
  std::vector<Task> pending_;
  std::uint32_t next_id_ = 0;
};

}  // namespace

int main(int argc, char** argv) try {
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) return usage(0);
  Options options;
  if (!parse(argc, argv, options)) return usage(2);

  std::filesystem::remove(options.log);  // a fresh run each time
  auto log = vrrl::SharedRingLog::open(options.log, std::uint64_t{options.epochs} * options.batch);
  Scheduler scheduler(options);

  std::vector<Task> batch;
  std::vector<std::uint64_t> results;
  std::uint32_t epoch = 0;
  std::atomic<std::size_t> next_task{0};
  bool stopping = false;
  // Phase 1: the scheduler publishes a batch; phase 2: the workers drain it.
  std::barrier sync_point(static_cast<std::ptrdiff_t>(options.workers) + 1);

  std::vector<std::thread> workers;
  for (unsigned worker = 0; worker < options.workers; ++worker) {
    workers.emplace_back([&] {
      for (;;) {
        sync_point.arrive_and_wait();  // a batch is ready (or we are stopping)
        if (stopping) return;
        for (std::size_t i; (i = next_task.fetch_add(1, std::memory_order_relaxed)) < batch.size();) {
          const Task& task = batch[i];
          const std::uint64_t result = execute(task);
          results[i] = result;
          const auto now = std::chrono::system_clock::now().time_since_epoch();
          log.append({.timestamp_ns = static_cast<std::uint64_t>(
                          std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()),
                      .slot_idx = task.id,
                      .tenant_id = task.tenant,
                      .opcode = task.opcode,
                      .args = {static_cast<std::uint32_t>(task.input), static_cast<std::uint32_t>(task.input >> 32),
                               static_cast<std::uint32_t>(result), static_cast<std::uint32_t>(i)},
                      .epoch = epoch},
                     {.output_digest = result});
        }
        sync_point.arrive_and_wait();  // the batch is done
      }
    });
  }

  for (epoch = 0; epoch < options.epochs; ++epoch) {
    batch = scheduler.pick(epoch);
    results.assign(batch.size(), 0);
    next_task.store(0, std::memory_order_relaxed);
    sync_point.arrive_and_wait();
    sync_point.arrive_and_wait();
    scheduler.complete(epoch, batch, results);
  }
  stopping = true;
  sync_point.arrive_and_wait();
  for (auto& worker : workers) worker.join();

  log.sync();
  std::printf("scheduler_demo: %u epochs, %llu dispatches from %u workers recorded in %s (%llu appends waited)\n",
              options.epochs, static_cast<unsigned long long>(log.published()), options.workers,
              options.log.c_str(), static_cast<unsigned long long>(log.waits()));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "scheduler_demo: %s\n", e.what());
  return 1;
}
