#!/usr/bin/env python3
"""Turns a vrrl-bench JSON (Google Benchmark, --benchmark_format=json) and a
vrrl-latency JSON into what scripts/demo shows: a table (variant, ns/record,
records/s, ratio to vrrl), the latency percentiles, bench/results/latest.json,
and the PNG plots drawn by gnuplot. Standard library only.

  report.py --bench B.json --latency L.json --out DIR [--machine TEXT] [--note TEXT]
  report.py --from-latest bench/results/latest.json --out DIR     (redraw only)

ns/record is the median over repetitions of CPU time per record (user + system,
what Google Benchmark's items_per_second is computed from), so that time other
processes steal on a shared machine does not count; "wall" is the median real
time per record. sync/ rows are wall-clock time per sync call.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys

SUFFIX = re.compile(r"/(iterations:\d+|manual_time|real_time|repeats:\d+)")
APPEND_ORDER = ["vrrl", "vrrl_cold", "vrrl_prefault", "vrrl_sync_every_4096", "vrrl_sync_every_64", "memcpy_limit",
                "memcpy_limit_nt", "vrrl_nt_protocol", "vrrl_mp", "mutex", "seed_seek_write", "pwrite", "write",
                "fwrite", "ofstream"]
NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def clean_name(name):
    return SUFFIX.sub("", name)


def medians(bench_json):
    """name -> the median run (or the only run when there were no repetitions)."""
    runs = {}
    for run in bench_json.get("benchmarks", []):
        name = clean_name(run.get("run_name", run["name"]))
        if run.get("run_type") == "aggregate":
            if run.get("aggregate_name") == "median":
                runs[name] = run
        else:
            runs.setdefault(name, run)
    return runs


def split(name):
    """'append/vrrl/slots:4096' -> ('append', 'vrrl', 'slots:4096')."""
    parts = name.split("/")
    return parts[0], parts[1] if len(parts) > 1 else "", "/".join(parts[2:])


def per_record(run):
    items = run.get("items_per_second")
    records = run.get("records_per_iteration", 1) or 1
    wall_ns = run["real_time"] * NS_PER_UNIT[run.get("time_unit", "ns")] / records
    cpu_ns = 1e9 / items if items else run["cpu_time"] * NS_PER_UNIT[run.get("time_unit", "ns")] / records
    return cpu_ns, wall_ns


def append_rows(runs):
    rows = []
    for name, run in runs.items():
        group, variant, args = split(name)
        if group != "append":
            continue
        cpu_ns, wall_ns = per_record(run)
        rows.append({"name": name, "variant": variant, "args": args, "ns_per_record": cpu_ns,
                     "wall_ns_per_record": wall_ns, "records_per_second": 1e9 / cpu_ns})

    def reference(row):
        # Compare with vrrl at the same ring size; everything else with the 64 MiB log.
        if row["args"].startswith("slots:"):
            return "append/vrrl/" + row["args"]
        if row["args"].startswith("threads:") or row["variant"] == "vrrl_single":
            return "append/vrrl/slots:4096"  # multi_producer_bench.cpp uses a 4096-slot log
        return "append/vrrl/slots:1048576"

    by_name = {row["name"]: row for row in rows}
    for row in rows:
        ref = by_name.get(reference(row))
        row["ratio_to_vrrl"] = row["ns_per_record"] / ref["ns_per_record"] if ref else None
        row["reference"] = reference(row) if ref else None

    def order(row):
        variant = row["variant"]
        if variant in APPEND_ORDER:
            rank = APPEND_ORDER.index(variant)
        else:  # rows from other benchmark files (multi-producer: vrrl_mp, mutex_*, vrrl_single)
            rank = APPEND_ORDER.index("vrrl_mp")
        return (rank, variant, int(row["args"].split(":")[-1]) if row["args"][-1:].isdigit() else 0)

    return sorted(rows, key=order)


def replay_rows(runs):
    rows = []
    for name, run in runs.items():
        group, variant, args = split(name)
        if group != "replay":
            continue
        cpu_ns, wall_ns = per_record(run)
        rows.append({"name": name, "variant": variant, "ns_per_record": cpu_ns, "wall_ns_per_record": wall_ns,
                     "records_per_second": 1e9 / cpu_ns, "bytes_per_second": run.get("bytes_per_second")})
    ref = next((r for r in rows if r["variant"] == "vrrl"), None)
    for row in rows:
        row["ratio_to_vrrl"] = row["ns_per_record"] / ref["ns_per_record"] if ref else None
    return sorted(rows, key=lambda r: r["ns_per_record"])


def sync_rows(runs):
    rows = []
    for name, run in runs.items():
        group, variant, args = split(name)
        if group != "sync":
            continue
        us = run["real_time"] * NS_PER_UNIT[run.get("time_unit", "ns")] / 1e3
        rows.append({"name": name, "variant": variant, "args": args, "us_per_sync": us})
    by_key = {(r["variant"], r["args"]): r for r in rows}
    for row in rows:
        ref = by_key.get(("vrrl", row["args"]))
        row["ratio_to_vrrl"] = row["us_per_sync"] / ref["us_per_sync"] if ref else None
    return sorted(rows, key=lambda r: (int(r["args"].split(":")[-1]) if ":" in r["args"] else 0, r["variant"]))


def fmt_ratio(ratio):
    return "-" if ratio is None else (f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.0f}x")


def fmt_rate(rate):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.1f} {unit}"
    return f"{rate:.0f}"


def print_tables(append, replay, sync, latency):
    print("append: one 64-byte record (median CPU time per record; ratio = ns/record over vrrl's at the same ring size)")
    print(f"  {'variant':<38} {'ns/record':>10} {'records/s':>11} {'vs vrrl':>8} {'wall ns':>9}")
    for row in append:
        label = row["variant"] + (f" ({row['args']})" if row["args"] else "")
        print(f"  {label:<38} {row['ns_per_record']:>10.2f} {fmt_rate(row['records_per_second']):>11} "
              f"{fmt_ratio(row['ratio_to_vrrl']):>8} {row['wall_ns_per_record']:>9.2f}")
    if replay:
        print("\nreplay: every record of a full 64 MiB log (1,048,576 records), page cache warm")
        print(f"  {'variant':<38} {'ns/record':>10} {'records/s':>11} {'vs vrrl':>8} {'bytes/s':>9}")
        for row in replay:
            bps = row.get("bytes_per_second") or 0
            print(f"  {row['variant']:<38} {row['ns_per_record']:>10.2f} {fmt_rate(row['records_per_second']):>11} "
                  f"{fmt_ratio(row['ratio_to_vrrl']):>8} {fmt_rate(bps) + 'B':>9}")
    if sync:
        print("\nsync: making freshly dirtied pages durable (median wall time per call)")
        print(f"  {'variant':<38} {'us/sync':>10} {'vs vrrl':>8}")
        for row in sync:
            print(f"  {row['variant'] + ' (' + row['args'] + ')':<38} {row['us_per_sync']:>10.1f} "
                  f"{fmt_ratio(row['ratio_to_vrrl']):>8}")
    if latency:
        print(f"\nsingle-append latency, ns ({latency['records']} timed appends per row into a {latency['records']}-slot "
              f"ring; {latency['clock']}, timer overhead {latency['timer_overhead_ns']:.0f} ns included)")
        print(f"  {'variant':<16} {'mode':<9} {'p50':>8} {'p99':>9} {'p99.9':>9} {'p99.99':>10} {'max':>11}")
        for r in latency["results"]:
            print(f"  {r['variant']:<16} {r['mode']:<9} {r['p50_ns']:>8.0f} {r['p99_ns']:>9.0f} {r['p99_9_ns']:>9.0f} "
                  f"{r['p99_99_ns']:>10.0f} {r['max_ns']:>11.0f}")


def plot(out_dir, append, latency, subtitle):
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        print("report.py: gnuplot not found; no PNGs (Fix: scripts/install-deps demo)", file=sys.stderr)
        return []
    written = []
    bars = [r for r in append if r["variant"] not in ("memcpy_limit_nt", "vrrl_nt_protocol")]
    data = os.path.join(out_dir, "throughput.dat")
    with open(data, "w") as f:
        for row in bars:
            label = row["variant"] + ("/" + row["args"].replace("slots:", "") if row["args"] else "")
            family = row["variant"]
            color = ("0x2f6db5" if family.startswith("vrrl") else "0x7f7f7f" if family.startswith("memcpy")
                     else "0x9467bd" if family.startswith("mutex") else "0xd62728")
            f.write(f"\"{label}\" {row['records_per_second'] / 1e6:.6f} {color}\n")
    png = os.path.join(out_dir, "throughput.png")
    script = f"""
set terminal pngcairo noenhanced size 1100,620 font "DejaVu Sans,10"
set output "{png}"
set title "vrrl append throughput vs stream I/O (64-byte records, millions/s, log scale)\\n{subtitle}" font ",10"
set style fill solid 0.85 border -1
set boxwidth 0.7
set xrange [-0.6:*]
set logscale y
set yrange [0.01:*]
set ylabel "million records / s (CPU time)"
set xtics rotate by -40 scale 0 font ",9"
set grid ytics
unset key
set label 1 "blue: vrrl   grey: memcpy limit   purple: mutex   red: stream I/O" at graph 0.01, graph 0.97 font ",9"
plot "{data}" using 0:2:3:xtic(1) with boxes lc rgb variable, "" using 0:($2*1.3):(sprintf("%.3g", $2)) with labels font ",8"
"""
    if subprocess.run([gnuplot], input=script, text=True).returncode == 0:
        written.append(png)
    if latency:
        data = os.path.join(out_dir, "latency.dat")
        # Stream baselines look alike cold and warm: plot them warm only.
        series = [r for r in latency["results"] if r["variant"] == "vrrl" or r["mode"] == "warm"]
        with open(data, "w") as f:
            for index, r in enumerate(series):
                f.write(f"# {r['variant']} {r['mode']}\n")
                for x, key in enumerate(("p50_ns", "p99_ns", "p99_9_ns", "p99_99_ns", "max_ns")):
                    f.write(f"{x} {max(r[key], 1.0):.2f}\n")
                f.write("\n\n")
        png = os.path.join(out_dir, "latency.png")
        plots = ", ".join(
            f'"{data}" index {i} using 1:2 with linespoints lw {3 if r["variant"] == "vrrl" else 1.5} '
            f'dt {1 if r["mode"] == "warm" else 2} title "{r["variant"]} ({r["mode"]})"'
            for i, r in enumerate(series))
        script = f"""
set terminal pngcairo noenhanced size 1100,620 font "DejaVu Sans,10"
set output "{png}"
set title "single-append latency percentiles (ns, log scale; solid = warm, dashed = cold/prefault)\\n{subtitle}" font ",9"
set logscale y
set ylabel "ns per append"
set xtics ("p50" 0, "p99" 1, "p99.9" 2, "p99.99" 3, "max" 4)
set xrange [-0.2:4.2]
set grid ytics
set key outside right top font ",9"
plot {plots}
"""
        if subprocess.run([gnuplot], input=script, text=True).returncode == 0:
            written.append(png)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", help="vrrl-bench --benchmark_out JSON")
    parser.add_argument("--from-latest", metavar="JSON",
                        help="redraw tables and plots from an earlier latest.json instead of --bench/--latency")
    parser.add_argument("--latency", help="vrrl-latency --json output")
    parser.add_argument("--out", required=True, help="directory for latest.json and the PNGs")
    parser.add_argument("--machine", default="", help="one line describing the machine")
    parser.add_argument("--note", default="", help="how the run was made (options, directory)")
    args = parser.parse_args()

    if args.from_latest:
        with open(args.from_latest) as f:
            earlier = json.load(f)
        bench, latency = earlier["google_benchmark"], earlier["latency"]
        args.machine = args.machine or earlier.get("machine", "")
        args.note = args.note or earlier.get("note", "")
    elif args.bench:
        with open(args.bench) as f:
            bench = json.load(f)
        latency = None
        if args.latency:
            with open(args.latency) as f:
                latency = json.load(f)
    else:
        parser.error("give --bench (and --latency), or --from-latest")
    runs = medians(bench)
    append, replay, sync = append_rows(runs), replay_rows(runs), sync_rows(runs)
    print_tables(append, replay, sync, latency)

    os.makedirs(args.out, exist_ok=True)
    summary = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": args.machine,
        "note": args.note,
        "append": append,
        "replay": replay,
        "sync": sync,
        "latency": latency,
        "google_benchmark": bench,
    }
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    subtitle = (args.machine + (" | " + args.note if args.note else "")).replace('"', "'")
    written = plot(args.out, append, latency, subtitle)
    print("\nwrote " + ", ".join([os.path.join(args.out, "latest.json")] + written))


if __name__ == "__main__":
    main()
