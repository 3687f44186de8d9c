// append/memcpy_limit_nt and append/vrrl_nt_protocol: can non-temporal
// (streaming) stores get a 64 MiB log past the write-allocate memory traffic?
// An experiment on a raw shared mapping laid out like a VRRL log, not a
// library feature: the numbers decide whether RingLog should offer it
// (docs/benchmarks.md, "Streaming stores").
//
//   memcpy_limit_nt    64 bytes per record as four 16-byte MOVNTDQ, no fence:
//                      the best case for streaming stores
//   vrrl_nt_protocol   RingLog's publish protocol with streaming stores:
//                      MOVNTI magic := 0, SFENCE, body as MOVNTI/MOVNTDQ,
//                      SFENCE (the body must be visible before the cursor),
//                      cursor release store, magic release store
// On targets without SSE2 both fall back to plain stores (and then measure
// nothing new).
#include <benchmark/benchmark.h>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include <atomic>
#include <cstdint>
#include <cstring>

#include "stream_writers.hpp"
#include "workload.hpp"

namespace vrrl::bench {
namespace {

constexpr bool has_streaming_stores =
#if defined(__SSE2__)
    true;
#else
    false;
#endif

// Stores 16 bytes at a 16-byte aligned address, bypassing the cache.
inline void stream16(std::byte* to, const std::byte* from) noexcept {
  if constexpr (has_streaming_stores) {
#if defined(__SSE2__)
    _mm_stream_si128(reinterpret_cast<__m128i*>(to), _mm_loadu_si128(reinterpret_cast<const __m128i*>(from)));
#endif
  } else {
    std::memcpy(to, from, 16);
  }
}

inline void stream4(std::byte* to, std::uint32_t value) noexcept {
  if constexpr (has_streaming_stores) {
#if defined(__SSE2__)
    _mm_stream_si32(reinterpret_cast<int*>(to), static_cast<int>(value));
#endif
  } else {
    std::memcpy(to, &value, sizeof value);
  }
}

inline void store_fence() noexcept {
  if constexpr (has_streaming_stores) {
#if defined(__SSE2__)
    _mm_sfence();
#endif
  } else {
    std::atomic_thread_fence(std::memory_order_release);
  }
}

void memcpy_limit_nt(benchmark::State& state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  SharedMapping mapping(BenchDir::get() / "nt.map", slots);
  alignas(16) std::byte record[format::record_bytes];
  encode_record(record, sample_slot(0));
  RingPosition ring(slots);
  const auto append = [&] {
    std::byte* to = mapping.records() + ring.slot() * format::record_bytes;
    for (std::size_t at = 0; at < format::record_bytes; at += 16) stream16(to + at, record + at);
    ring.advance();
  };
  for (std::uint64_t n = 0; n < slots; ++n) append();  // warm: one untimed lap
  for (auto _ : state) append();
  store_fence();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["records_per_iteration"] = 1;
}

void vrrl_nt_protocol(benchmark::State& state) {
  const auto slots = static_cast<std::uint64_t>(state.range(0));
  SharedMapping mapping(BenchDir::get() / "nt.map", slots);
  auto* cursor = reinterpret_cast<std::uint64_t*>(mapping.records() - format::header_bytes + format::header_offset::cursor);
  alignas(16) std::byte record[format::record_bytes];
  RecordedSlot slot = sample_slot(0);
  RingPosition ring(slots);
  const auto append = [&] {
    ++slot.timestamp_ns;
    encode_record(record, slot);
    std::byte* to = mapping.records() + ring.slot() * format::record_bytes;
    stream4(to, format::empty_record_magic);                     // 1. clear the magic
    store_fence();
    for (std::size_t at = 4; at < 16; at += 4) {                 // 2. the body: bytes 4..15,
      std::uint32_t word;
      std::memcpy(&word, record + at, sizeof word);
      stream4(to + at, word);
    }
    for (std::size_t at = 16; at < format::record_bytes; at += 16) stream16(to + at, record + at);  // 16..63
    store_fence();                                               // body visible before the cursor
    ring.advance();
    std::atomic_ref<std::uint64_t>(*cursor).store(ring.appended(), std::memory_order_release);  // 3.
    std::uint32_t magic = format::record_magic;                  // 4. (a plain store: ordered after the cursor)
    std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(to)).store(magic, std::memory_order_release);
  };
  for (std::uint64_t n = 0; n < slots; ++n) append();  // warm: one untimed lap
  for (auto _ : state) append();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["records_per_iteration"] = 1;
}

const auto slot_sizes = [](benchmark::internal::Benchmark* b) {
  b->ArgName("slots")->Arg(small_log_slots)->Arg(big_log_slots);
  b->Iterations(static_cast<benchmark::IterationCount>(records_per_run()))->Unit(benchmark::kNanosecond);
};
BENCHMARK(memcpy_limit_nt)->Name("append/memcpy_limit_nt")->Apply(slot_sizes);
BENCHMARK(vrrl_nt_protocol)->Name("append/vrrl_nt_protocol")->Apply(slot_sizes);

}  // namespace
}  // namespace vrrl::bench
