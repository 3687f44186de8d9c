// vrrl-bench's main: Google Benchmark's own. The benchmarks register
// themselves from append_bench.cpp, replay_bench.cpp, sync_bench.cpp (and
// multi_producer_bench.cpp when present). Run `vrrl-bench --help` for flags;
// --benchmark_format=json is what scripts/demo reads.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
