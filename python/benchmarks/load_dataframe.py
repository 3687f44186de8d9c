"""Benchmark: a million records into a pandas DataFrame, vrrl vs the CLI.

    /usr/bin/python3 python/benchmarks/load_dataframe.py [--build build] [--records 1048576]
        [--format v1|v2] [--repeat 3] [--jsonl] [--log EXISTING.vrrl]

Writes a log with the C++ library (BUILD/test/python/make_logs fields; --format
v2 writes VRRL v2, whose every record the reader checks by its commit word), then
times, in the same run and alternating so machine load hits both alike:

  vrrl.open(log).to_pandas()                        (zero-copy view + columns)
  vrrl.open(log).snapshot().to_pandas()             (the validated live-log copy)
  vrrl dump --format csv LOG | pandas.read_csv      (the baseline of issue 13)
  vrrl dump --format jsonl LOG | pandas.read_json   (with --jsonl; slow)

and prints the median seconds and the ratio to the baseline. Then shows that
a column scan of records() touches no copy: the column shares memory with
the mapping and tracemalloc sees no allocation of its size. Not a test: the
numbers depend on the machine; compare ratios from one run.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # python/, so a checkout runs without installing

import numpy as np  # noqa: E402
import pandas  # noqa: E402

import vrrl  # noqa: E402


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def from_csv(cli, path):
    with subprocess.Popen([cli, "dump", "--format", "csv", path], stdout=subprocess.PIPE) as dump:
        frame = pandas.read_csv(dump.stdout)
    if dump.returncode != 0:
        raise SystemExit(f"vrrl dump failed with exit status {dump.returncode}")
    return frame


def from_jsonl(cli, path):
    with subprocess.Popen([cli, "dump", "--format", "jsonl", path], stdout=subprocess.PIPE) as dump:
        frame = pandas.read_json(dump.stdout, lines=True)
    return frame


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build", help="meson build directory (default: build)")
    parser.add_argument("--records", type=int, default=1_048_576, help="records in the log (default 2^20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each variant (default 3)")
    parser.add_argument("--jsonl", action="store_true", help="also time the JSONL path (slow)")
    parser.add_argument("--format", choices=("v1", "v2"), default="v1",
                        help="the format of the log to write (default v1)")
    parser.add_argument("--log", help="use this log instead of writing one")
    options = parser.parse_args()
    cli = os.path.join(options.build, "tools", "vrrl", "vrrl")
    make_logs = os.path.join(options.build, "test", "python", "make_logs")
    for program in (cli,) + (() if options.log else (make_logs,)):
        if not os.access(program, os.X_OK):
            raise SystemExit(f"{program} is missing. Fix: ninja -C {options.build} tools/vrrl/vrrl "
                             "test/python/make_logs (or pass --build DIR)")

    with tempfile.TemporaryDirectory() as scratch:
        path = options.log
        if path is None:
            path = os.path.join(scratch, "bench.vrrl")
            capacity = max(1, min(options.records, 1_048_576))
            subprocess.run([make_logs, *(["--v2"] if options.format == "v2" else []), "fields", path, str(capacity),
                            str(options.records)], check=True)
        log = vrrl.open(path)
        count = len(log.records(live=False))
        print(f"log: {path}, VRRL {log.format}, {count:,} records, {os.path.getsize(path) / 2**20:.0f} MiB; "
              f"numpy {np.__version__}, pandas {pandas.__version__}, python {sys.version.split()[0]}")

        variants = {
            "vrrl to_pandas (view)": lambda: vrrl.open(path).to_pandas(live=False),
            "vrrl to_pandas (snapshot)": lambda: vrrl.open(path).snapshot().to_pandas(),
            "vrrl records() only (view)": lambda: vrrl.open(path).records(live=False),
            "dump csv | read_csv (baseline)": lambda: from_csv(cli, path),
        }
        if options.jsonl:
            variants["dump jsonl | read_json"] = lambda: from_jsonl(cli, path)
        times = {name: [] for name in variants}
        frames = {}
        for _ in range(options.repeat):
            for name, action in variants.items():  # alternate, so load changes hit every variant
                seconds, result = timed(action)
                times[name].append(seconds)
                frames[name] = result
        ours, theirs = frames["vrrl to_pandas (view)"], frames["dump csv | read_csv (baseline)"]
        assert len(ours) == len(theirs) == count
        assert ours.timestamp_ns.tolist()[:1000] == theirs.timestamp_ns.tolist()[:1000]
        assert theirs.timestamp_ns.dtype == np.uint64 or theirs.timestamp_ns.dtype.kind in "iuf"

        baseline = statistics.median(times["dump csv | read_csv (baseline)"])
        print(f"\n{'variant':34} {'median s':>9} {'min s':>8} {'x faster than baseline':>23}")
        for name, runs in times.items():
            median = statistics.median(runs)
            print(f"{name:34} {median:9.3f} {min(runs):8.3f} {baseline / median:23.1f}")

        # A column scan of the zero-copy records touches the mapping, not a copy.
        log = vrrl.open(path)
        records = log.records(live=False)
        column = records["opcode"]
        tracemalloc.start()
        total = int(column.sum(dtype=np.uint64))
        high = int(np.max(records["timestamp_ns"]))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"\ncolumn scan: records is a view of the mapping: {np.shares_memory(records, log.slots)}; "
              f"the opcode column too: {np.shares_memory(column, log.slots)}; "
              f"sum(opcode) = {total}, max(timestamp_ns) = {high}; "
              f"peak Python/numpy allocation during the scan: {peak} bytes "
              f"(a copy of one column would be {column.nbytes:,})")


if __name__ == "__main__":
    main()
