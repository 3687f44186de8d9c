// vrrl-bench's main: Google Benchmark's own, after one step for the LTTng
// peer (peers/lttng_session.hpp: a non-root user's run re-executes itself once
// with LTTNG_HOME in a temporary directory). The benchmarks register themselves
// from the other files of this directory. Run `vrrl-bench --help` for flags;
// --benchmark_out=FILE --benchmark_out_format=json is what scripts/demo reads.
#include <benchmark/benchmark.h>

#include <string>

#include "peers/lttng_session.hpp"
#include "workload.hpp"

int main(int argc, char** argv) {
  vrrl::bench::peers::prepare_lttng_environment(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("vrrl_bench_dir", vrrl::bench::BenchDir::get().string());
  benchmark::AddCustomContext("vrrl_records_per_run", std::to_string(vrrl::bench::records_per_run()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
