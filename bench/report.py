#!/usr/bin/python3
"""Turns a vrrl-bench JSON (Google Benchmark, --benchmark_out_format=json, with
the individual repetitions in it) and a vrrl-latency JSON into what
scripts/demo shows: tables, latest.json and the plots (matplotlib).

  report.py --bench vrrl-bench.json [--latency vrrl-latency.json] --out DIR
            [--machine TEXT] [--note TEXT] [--markdown]
  report.py --from DIR --out DIR2 [--markdown]      redraw an earlier result directory
  report.py --from-latest DIR/latest.json --out DIR2 (the same, naming the file)

Every time is wall-clock time first (what a caller waits), CPU time beside it
(user + system of the measured threads; it hides waiting for page faults,
writeback, locks and other processes). Each figure is the median of the
repetitions, with [min-max] over them. Ratios are taken between medians of the
same run. docs/benchmarks.md says how to read each table and plot.

Files written to DIR: latest.json (the summary, the machine, the latency run),
vrrl-bench.json (Google Benchmark's own output, for compare.py), and
throughput.png, latency.png, durability.png, scaling.png, replay.png.
Needs matplotlib for the plots (Debian python3-matplotlib, /usr/bin/python3);
without it the tables still print.
"""
import argparse
import datetime
import json
import math
import os
import re
import statistics
import sys
import textwrap

SUFFIX = re.compile(r"/(iterations:\d+|manual_time|real_time|repeats:\d+)")
NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
BIG_SLOTS = 1048576
SMALL_SLOTS = 4096
# Display order of the single-writer append variants (others follow, by name).
APPEND_ORDER = ["vrrl", "vrrl_appender", "vrrl_prefault", "vrrl_cold", "vrrl_sync_every_4096", "vrrl_sync_every_64", "memcpy_limit",
                "memcpy_limit_nt", "vrrl_nt_protocol", "lttng_ust", "spdlog_async", "spdlog_async_overrun",
                "ofstream", "fwrite", "write", "pwrite", "seed_seek_write"]
PEERS = {"lttng_ust", "spdlog_async", "spdlog_async_overrun"}
EXPERIMENTS = {"memcpy_limit_nt", "vrrl_nt_protocol"}
STREAM_IO = {"ofstream", "fwrite", "write", "pwrite", "seed_seek_write"}
LATENCY_POINTS = [("p50", "p50_ns", 50.0), ("p90", "p90_ns", 90.0), ("p99", "p99_ns", 99.0),
                  ("p99.9", "p99_9_ns", 99.9), ("p99.99", "p99_99_ns", 99.99)]


# ---------------------------------------------------------------- reading

def clean_name(name):
    return SUFFIX.sub("", name)


def split(name):
    """'append/vrrl/slots:4096' -> ('append', 'vrrl', 'slots:4096')."""
    parts = name.split("/")
    return parts[0], parts[1] if len(parts) > 1 else "", "/".join(parts[2:])


def arg_value(args, key):
    """'slots:4096' -> 4096 for key 'slots'; None when absent."""
    for part in args.split("/"):
        if part.startswith(key + ":"):
            value = part.split(":", 1)[1]
            return int(value) if value.isdigit() else value
    return None


class Spread:
    """Median and range of one quantity over the repetitions."""

    def __init__(self, values):
        self.values = sorted(v for v in values if v is not None and not math.isnan(v))

    def __bool__(self):
        return bool(self.values)

    @property
    def median(self):
        return statistics.median(self.values) if self.values else None

    @property
    def low(self):
        return self.values[0] if self.values else None

    @property
    def high(self):
        return self.values[-1] if self.values else None

    def as_json(self):
        return {"median": self.median, "min": self.low, "max": self.high, "n": len(self.values)}


class Bench:
    """One benchmark (all its repetitions) of a Google Benchmark run."""

    def __init__(self, name):
        self.name = name
        self.group, self.variant, self.args = split(name)
        self.reps = []          # iteration runs
        self.aggregates = {}    # aggregate_name -> run (old results without repetitions)
        self.error = None

    def per_record(self, run, field):
        records = run.get("records_per_iteration", 1) or 1
        return run[field] * NS_PER_UNIT[run.get("time_unit", "ns")] / records

    def runs(self):
        return self.reps or ([self.aggregates["median"]] if "median" in self.aggregates else [])

    def wall(self):
        """Wall ns per record (per iteration for benchmarks without records)."""
        return Spread(self.per_record(r, "real_time") for r in self.runs())

    def cpu(self):
        return Spread(self.per_record(r, "cpu_time") for r in self.runs())

    def counter(self, key):
        return Spread(r.get(key) for r in self.runs())

    @property
    def threads(self):
        return arg_value(self.args, "threads") or 1


def load_benches(bench_json):
    benches = {}
    for run in bench_json.get("benchmarks", []):
        name = clean_name(run.get("run_name", run["name"]))
        bench = benches.setdefault(name, Bench(name))
        if run.get("error_occurred"):
            bench.error = run.get("error_message", "skipped")
        elif run.get("run_type") == "aggregate":
            bench.aggregates[run.get("aggregate_name")] = run
        else:
            bench.reps.append(run)
    return benches


# ---------------------------------------------------------------- tables (rows as dicts)

def spread_cells(spread, digits=2):
    if not spread:
        return "-", ""
    if spread.low is None or len(spread.values) < 2:
        return fmt_num(spread.median, digits), ""
    return fmt_num(spread.median, digits), f"[{fmt_num(spread.low, digits)}-{fmt_num(spread.high, digits)}]"


def fmt_num(value, digits=2):
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 999.5:  # what rounds to four digits gets the thousands separator
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def fmt_rate(rate):
    if rate is None:
        return "-"
    rate = float(f"{rate:.3g}")  # round first, so 999,999 is "1 M", not "1e+03 k"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.3g} {unit}"
    return f"{rate:.0f}"


def fmt_ratio(ratio):
    if ratio is None:
        return "-"
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:,.0f}x"


def ratio(a, b):
    return a / b if a is not None and b else None


def slots_label(args):
    slots = arg_value(args, "slots")
    if slots is None:
        return ""
    return f"{slots:,} slots"


def append_label(bench):
    label = bench.variant
    if bench.args:
        label += f" ({slots_label(bench.args) or bench.args})"
    elif bench.variant in STREAM_IO or bench.variant.startswith("vrrl"):
        label += f" ({BIG_SLOTS:,} slots)"
    return label


def family(variant):
    if variant in EXPERIMENTS:
        return "experiment"
    if variant in PEERS:
        return "peer"
    if variant in STREAM_IO:
        return "stream I/O"
    if variant.startswith("memcpy"):
        return "limit"
    return "vrrl"


def append_rows(benches):
    singles = [b for b in benches.values() if b.group == "append" and "threads:" not in b.args
               and b.variant != "vrrl_single"]

    def reference(bench):
        slots = arg_value(bench.args, "slots") or BIG_SLOTS
        return benches.get(f"append/vrrl/slots:{slots}")

    rows = []
    for b in singles:
        ref = reference(b)
        wall, cpu = b.wall(), b.cpu()
        rows.append({
            "name": b.name, "variant": b.variant, "label": append_label(b), "family": family(b.variant),
            "slots": arg_value(b.args, "slots") or (BIG_SLOTS if b.variant in STREAM_IO or b.variant.startswith("vrrl") else None),
            "wall_ns": wall.as_json(), "cpu_ns": cpu.as_json(),
            "records_per_second": 1e9 / wall.median if wall else None,
            "vs_vrrl": ratio(wall.median, ref.wall().median) if ref and wall else None,
            "reference": ref.name if ref else None,
            "lost_records": b.counter("lost_records").median if b.counter("lost_records") else None,
            "skipped": b.error,
        })

    def order(row):
        rank = APPEND_ORDER.index(row["variant"]) if row["variant"] in APPEND_ORDER else len(APPEND_ORDER)
        return rank, row["variant"], row["slots"] or 0
    return sorted(rows, key=order)


def run_rows(benches):
    rows = []
    ref = next((b for b in benches.values() if b.group == "run" and b.variant == "vrrl"), None)
    per_append = benches.get(f"append/vrrl/slots:{BIG_SLOTS}")
    for b in sorted((b for b in benches.values() if b.group == "run"), key=lambda b: b.wall().median or 1e99):
        records = arg_value(b.args, "records")
        wall, cpu = b.wall(), b.cpu()
        run_ms = Spread(v * records / 1e6 for v in wall.values) if wall and records else Spread([])
        rows.append({"name": b.name, "variant": b.variant, "records": records, "wall_ns": wall.as_json(),
                     "cpu_ns": cpu.as_json(), "ms_per_run": run_ms.as_json(),
                     "vs_run_vrrl": ratio(wall.median, ref.wall().median) if ref and wall else None,
                     "per_append_wall_ns": per_append.wall().median if per_append else None,
                     "skipped": b.error})
    return rows


def thread_rows(benches):
    """Aggregate records per wall second for every design measured at N threads."""
    designs = {}
    for b in benches.values():
        if b.group == "append" and ("threads:" in b.args or b.variant == "vrrl_single"):
            designs.setdefault(b.variant, []).append(b)
        elif b.group == "recording" and "threads:" in b.args:  # issue 11 adds recording/append/threads:N
            designs.setdefault("recording", []).append(b)
    order = ["vrrl_single", "vrrl_per_thread", "recording", "vrrl_mp", "mutex_ringlog"]
    rows = []
    for design, runs in sorted(designs.items(), key=lambda d: (order.index(d[0]) if d[0] in order else 99, d[0])):
        one = next((b for b in runs if b.threads == 1), None)
        for b in sorted(runs, key=lambda b: b.threads):
            wall = b.wall()
            rate = Spread(1e9 / v for v in wall.values if v)
            rows.append({"name": b.name, "design": design, "threads": b.threads,
                         "records_per_second": rate.as_json(),
                         "ns_per_record_per_thread": wall.median * b.threads if wall else None,
                         "cpu_ns_per_record": b.cpu().median,
                         "vs_one_thread": ratio(rate.median, Spread(1e9 / v for v in one.wall().values if v).median)
                         if one and one.wall() else None,
                         "skipped": b.error})
    return rows


def durability_rows(benches, context):
    rows = []
    scenario = [b for b in benches.values() if b.group == "sync" and b.variant == "periodic_10ms"]
    by_key = {(b.args.split("/")[0], arg_value(b.args, "rate")): b for b in scenario}
    for b in sorted(scenario, key=lambda b: (b.args.split("/")[0] != "no_sync", b.args)):
        variant = b.args.split("/")[0]
        rate = arg_value(b.args, "rate")
        wall = b.wall()
        row = {"name": b.name, "variant": variant, "rate": rate,
               "what": context.get(f"variant sync/periodic_10ms/{variant}", ""),
               "records_per_second": Spread(1e9 / v for v in wall.values if v).as_json(),
               "skipped": b.error}
        for _, key, _ in LATENCY_POINTS:
            row[key] = b.counter(key).as_json()
        for key in ("max_ns", "faults", "syncs", "faults_per_sync", "sync_p50_ms", "sync_max_ms", "behind_max_us",
                    "durable_p50_ms", "durable_p99_ms", "overrun", "timer_overhead_ns", "timer_step_ns"):
            row[key] = b.counter(key).as_json()
        # A v2 variant against the v2 baseline when the run has one.
        base = by_key.get(("no_sync_v2" if variant.endswith("_v2") else "no_sync", rate)) or by_key.get(("no_sync", rate))
        row["vs_no_sync"] = (ratio(row["records_per_second"]["median"],
                                   Spread(1e9 / v for v in base.wall().values if v).median)
                             if base and base is not b and wall else None)
        rows.append(row)
    return rows


def replay_rows(benches):
    rows = []
    ref = benches.get("replay/vrrl")
    for b in benches.values():
        if b.group != "replay":
            continue
        wall = b.wall()
        rows.append({"name": b.name, "variant": b.variant, "wall_ns": wall.as_json(), "cpu_ns": b.cpu().as_json(),
                     "bytes_per_second": Spread(64e9 / v for v in wall.values if v).as_json(),
                     "vs_vrrl": ratio(wall.median, ref.wall().median) if ref and wall else None})
    return sorted(rows, key=lambda r: r["wall_ns"]["median"] or 1e99)


def sync_call_rows(benches):
    rows = []
    for b in benches.values():
        if b.group != "sync" or b.variant == "periodic_10ms":
            continue
        # Manual time per call: one iteration is one sync; the time is not per record.
        us = Spread(r["real_time"] * NS_PER_UNIT[r.get("time_unit", "ns")] / 1e3 for r in b.runs())
        rows.append({"name": b.name, "variant": b.variant, "pages": arg_value(b.args, "pages"), "us_per_sync": us.as_json()})
    by_key = {(r["variant"], r["pages"]): r for r in rows}
    for r in rows:
        ref = by_key.get(("vrrl", r["pages"]))
        r["vs_vrrl"] = ratio(r["us_per_sync"]["median"], ref["us_per_sync"]["median"]) if ref else None
    return sorted(rows, key=lambda r: (r["pages"] or 0, r["variant"]))


# ---------------------------------------------------------------- printing

class Table:
    """A table printed as aligned text or as Markdown."""

    def __init__(self, title, columns, note=""):
        self.title, self.columns, self.note, self.rows = title, columns, note, []

    def add(self, *cells):
        self.rows.append([str(c) for c in cells])

    def text(self):
        widths = [max(len(c), *(len(r[i]) for r in self.rows)) if self.rows else len(c)
                  for i, c in enumerate(self.columns)]
        out = [self.title]
        if self.note:
            out.append("  " + self.note)
        line = lambda cells: "  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                               for i, (c, w) in enumerate(zip(cells, widths)))
        out.append(line(self.columns))
        out.extend(line(r) for r in self.rows)
        return "\n".join(out)

    def markdown(self):
        """The range column joins the figure before it: '3.66 [3.51-3.90]'."""
        merge = {i for i, c in enumerate(self.columns) if c == "[min-max]" and i > 0}
        joined = lambda cells: [(f"{c} {cells[i + 1]}".strip() if i + 1 in merge else c)
                                for i, c in enumerate(cells) if i not in merge]
        columns = joined(self.columns)
        out = [f"**{self.title}**", ""]
        if self.note:
            out += [self.note, ""]
        out.append("| " + " | ".join(columns) + " |")
        out.append("| --- |" + " ---: |" * (len(columns) - 1))
        out.extend("| " + " | ".join(c.replace("|", "\\|") for c in joined(r)) + " |" for r in self.rows)
        return "\n".join(out)


def tables(summary):
    result = []
    t = Table("append: one 64-byte record, one writer",
              ["variant", "wall ns/record", "[min-max]", "CPU ns", "records/s", "vs vrrl"],
              "median of the repetitions, wall-clock; vs vrrl = wall time over vrrl's at the same ring size")
    for r in summary["append"]:
        if r["skipped"]:
            t.add(r["label"], "skipped", "", "", "", r["skipped"])
            continue
        cpu = r["cpu_ns"]
        med, rng = spread_cells(_spread(r["wall_ns"]))
        lost = f" ({r['lost_records']:,.0f} lost)" if r.get("lost_records") else ""
        t.add(r["label"], med, rng, fmt_num(cpu["median"]), fmt_rate(r["records_per_second"]) + lost,
              fmt_ratio(r["vs_vrrl"]))
    result.append(t)

    if summary["run"]:
        t = Table("run: a whole recording (open, N appends, sync, close) into a fresh file",
                  ["variant", "records", "ms/run", "[min-max]", "wall ns/record", "vs run/vrrl"],
                  "per-append figure for comparison: append/vrrl (1,048,576 slots, warm) = "
                  f"{fmt_num(summary['run'][0].get('per_append_wall_ns'))} ns")
        for r in summary["run"]:
            if r["skipped"]:
                t.add(r["variant"], "", "skipped", "", "", r["skipped"])
                continue
            med, rng = spread_cells(_spread(r["ms_per_run"]))
            t.add(r["variant"], f"{r['records']:,}", med, rng, fmt_num(r["wall_ns"]["median"]), fmt_ratio(r["vs_run_vrrl"]))
        result.append(t)

    if summary["durability"]:
        t = Table("sync/periodic_10ms: one thread appends to a 1,048,576-slot log, made durable every 10 ms",
                  ["variant", "rate", "records/s", "p50", "p99", "p99.9", "p99.99 [min-max]", "max", "faults/sync",
                   "sync p50/max ms", "durable p50/p99 ms", "vs no_sync"],
                  "latency ns per append (sampled, timer cost subtracted); medians of the repetitions")
        for r in summary["durability"]:
            if r["skipped"]:
                t.add(r["variant"], r["rate"], "skipped", "", "", "", "", "", "", "", "", r["skipped"])
                continue
            tail_med, tail_rng = spread_cells(_spread(r["p99_99_ns"]))
            syncs = (f"{fmt_num(r['sync_p50_ms']['median'])}/{fmt_num(r['sync_max_ms']['median'])}"
                     if r["sync_p50_ms"]["median"] is not None else "-")
            durable = (f"{fmt_num(r['durable_p50_ms']['median'])}/{fmt_num(r['durable_p99_ms']['median'])}"
                       if r["durable_p50_ms"]["median"] is not None else "-")
            t.add(r["variant"], r["rate"], fmt_rate(r["records_per_second"]["median"]),
                  fmt_num(r["p50_ns"]["median"], 1), fmt_num(r["p99_ns"]["median"], 1), fmt_num(r["p99_9_ns"]["median"], 1),
                  f"{tail_med} {tail_rng}".strip(), fmt_num(r["max_ns"]["median"], 1),
                  fmt_num(r["faults_per_sync"]["median"], 1), syncs, durable,
                  fmt_ratio(r["vs_no_sync"]) if r["rate"] == "max" else "")
        result.append(t)

    if summary["threads"]:
        t = Table("threads: aggregate records per wall second (4,096-slot logs)",
                  ["design", "threads", "records/s", "[min-max]", "ns/record/thread", "vs 1 thread"],
                  "vrrl_per_thread: one RingLog per thread (the recordings design); vrrl_mp: one SharedRingLog; "
                  "mutex_ringlog: one RingLog under a std::mutex")
        for r in summary["threads"]:
            if r["skipped"]:
                t.add(r["design"], r["threads"], "skipped", "", "", r["skipped"])
                continue
            rate = r["records_per_second"]
            rng = f"[{fmt_rate(rate['min'])}-{fmt_rate(rate['max'])}]" if rate["n"] > 1 else ""
            t.add(r["design"], r["threads"], fmt_rate(rate["median"]), rng, fmt_num(r["ns_per_record_per_thread"]),
                  fmt_ratio(r["vs_one_thread"]))
        result.append(t)

    if summary["replay"]:
        t = Table("replay: every record of a full 64 MiB log (1,048,576 records), page cache warm",
                  ["variant", "wall ns/record", "[min-max]", "bytes/s", "vs vrrl"])
        for r in summary["replay"]:
            med, rng = spread_cells(_spread(r["wall_ns"]))
            t.add(r["variant"], med, rng, fmt_rate(r["bytes_per_second"]["median"]) + "B", fmt_ratio(r["vs_vrrl"]))
        result.append(t)

    if summary["sync_calls"]:
        t = Table("sync: one call making freshly dirtied pages durable", ["variant", "pages", "us/sync", "[min-max]", "vs vrrl"])
        for r in summary["sync_calls"]:
            med, rng = spread_cells(_spread(r["us_per_sync"]), 1)
            t.add(r["variant"], r["pages"], med, rng, fmt_ratio(r["vs_vrrl"]))
        result.append(t)

    latency = summary.get("latency")
    if latency:
        overhead = latency.get("timer_overhead_ns")
        step = latency.get("timer_step_ns")
        subtracted = latency.get("timer_subtracted", False)
        note = (f"{latency['records']:,} timed appends per row into a {latency['slots']:,}-slot ring; "
                f"{latency['clock']}: {fmt_num(overhead, 1)} ns per read pair "
                + ("subtracted" if subtracted else "included (an older run)")
                + (f", steps of {fmt_num(step, 1)} ns" if step else ""))
        t = Table("single-append latency, ns (vrrl-latency)", ["variant", "mode", "p50", "p90", "p99", "p99.9", "p99.99", "max"],
                  note)
        for r in latency["results"]:
            t.add(r["variant"], r["mode"], *(fmt_num(r.get(k), 1) for k in ("p50_ns", "p90_ns", "p99_ns", "p99_9_ns",
                                                                              "p99_99_ns", "max_ns")))
        for s in latency.get("skipped", []):
            t.add(s["variant"], "skipped", "", "", "", "", "", s["reason"])
        result.append(t)
    return result


def _spread(d):
    """A Spread back from its as_json() form: median, and min and max when there were repetitions."""
    s = Spread([])
    if d and d.get("median") is not None:
        several = d.get("n", 1) > 1 and d.get("min") is not None
        s.values = [d["min"], d["median"], d["max"]] if several else [d["median"]]
    return s


# ---------------------------------------------------------------- plots

COLORS = {"vrrl": "#2f6db5", "limit": "#7f7f7f", "peer": "#e08a1e", "stream I/O": "#c8372d", "experiment": "#b9b9b9"}


def hdr_x(percentile):
    """HdrHistogram's axis: p -> log10(1 / (1 - p)); p50 = 0.30, p99 = 2, p99.99 = 4."""
    return math.log10(1.0 / (1.0 - min(percentile, 99.99999) / 100.0))


def hdr_axis(ax, top_percentile, with_max=True):
    ticks = [(50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p99.9"), (99.99, "p99.99"), (99.999, "p99.999"),
             (99.9999, "p99.9999")]
    ticks = [(hdr_x(p), label) for p, label in ticks if p <= top_percentile + 1e-9]
    max_x = (ticks[-1][0] if ticks else 1) + 0.6
    positions = [x for x, _ in ticks] + ([max_x] if with_max else [])
    labels = [label for _, label in ticks] + (["max"] if with_max else [])
    ax.set_xticks(positions)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlim(0, max_x + 0.3)
    if with_max:
        ax.axvline(max_x - 0.3, color="#dddddd", lw=0.8)
    return max_x


def plot_all(out_dir, summary, subtitle):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib not found: no plots (Fix: apt-get install python3-matplotlib and run with "
              "/usr/bin/python3, or scripts/install-deps demo)", file=sys.stderr)
        return []
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "figure.dpi": 100})
    written = []
    for name, draw in (("throughput.png", plot_throughput), ("latency.png", plot_latency),
                       ("durability.png", plot_durability), ("scaling.png", plot_scaling),
                       ("replay.png", plot_replay)):
        fig = draw(plt, summary, subtitle)
        if fig is None:
            continue
        path = os.path.join(out_dir, name)
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def footer(fig, subtitle):
    width = int(fig.get_figwidth() * 17)  # characters of 7-point text that fit across the figure
    fig.text(0.01, 0.005, "\n".join(textwrap.wrap(subtitle, width)), fontsize=7, color="#555555", ha="left",
             va="bottom")


def plot_throughput(plt, summary, subtitle):
    rows = [r for r in summary["append"] if not r["skipped"] and r["wall_ns"]["median"]]
    if not rows:
        return None
    runs = [r for r in summary["run"] if not r["skipped"] and r["wall_ns"]["median"]]
    fig, axes = plt.subplots(1, 2 if runs else 1, figsize=(12, 0.32 * len(rows) + 2.2),
                             gridspec_kw={"width_ratios": [3, 1.3]} if runs else None, squeeze=False)
    ax = axes[0][0]
    ys = list(range(len(rows)))[::-1]
    for y, r in zip(ys, rows):
        w = r["wall_ns"]
        color = COLORS[r["family"]]
        ax.barh(y, w["median"], color=color, height=0.7)
        if w["n"] > 1:
            ax.errorbar(w["median"], y, xerr=[[w["median"] - w["min"]], [w["max"] - w["median"]]], fmt="none",
                        ecolor="black", elinewidth=0.8, capsize=2)
        if r["cpu_ns"]["median"]:
            ax.plot(r["cpu_ns"]["median"], y, marker="|", color="black", markersize=9, mew=1.5)
        ax.text(w["max"] * 1.15 if w["n"] > 1 else w["median"] * 1.15, y, fmt_num(w["median"]) + " ns",
                va="center", fontsize=7)
    ax.set_yticks(ys)
    ax.set_yticklabels([r["label"] for r in rows], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("wall-clock ns per record (log; bar = median, whiskers = min-max, | = CPU time)")
    ax.set_title("Append one 64-byte record, one writer: vrrl vs stream I/O and logging peers")
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.set_xlim(right=ax.get_xlim()[1] * 3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLORS.values()]
    ax.legend(handles, list(COLORS.keys()), loc="lower right", fontsize=7, ncol=1, framealpha=0.9)
    if runs:
        ax2 = axes[0][1]
        ys2 = list(range(len(runs)))[::-1]
        for y, r in zip(ys2, runs):
            w = r["wall_ns"]
            ax2.barh(y, w["median"], color=COLORS[family(r["variant"].replace("_no_prefault", ""))], height=0.6)
            if w["n"] > 1:
                ax2.errorbar(w["median"], y, xerr=[[w["median"] - w["min"]], [w["max"] - w["median"]]], fmt="none",
                             ecolor="black", elinewidth=0.8, capsize=2)
            ax2.text((w["max"] if w["n"] > 1 else w["median"]) * 1.1, y, fmt_num(w["median"]), va="center", fontsize=7)
        ax2.set_yticks(ys2)
        ax2.set_yticklabels([f"{r['variant']}" for r in runs], fontsize=8)
        ax2.set_xscale("log")
        records = runs[0]["records"]
        ax2.set_title(f"A whole run: open, {records:,} records,\nsync, close (wall ns per record)", fontsize=9)
        ax2.grid(axis="x", which="both", alpha=0.25)
        ax2.set_xlim(right=ax2.get_xlim()[1] * 3)
    footer(fig, subtitle)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def latency_series(summary):
    latency = summary.get("latency") or {}
    series = []
    for r in latency.get("results", []):
        if r["variant"] != "vrrl" and r["mode"] != "warm":
            continue  # the stream baselines look alike cold and warm: warm only
        curve = r.get("curve") or [[p, r.get(k)] for _, k, p in LATENCY_POINTS if r.get(k) is not None]
        series.append((r, curve))
    return latency, series


def plot_latency(plt, summary, subtitle):
    latency, series = latency_series(summary)
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(10, 5.6))
    top = max(p for _, curve in series for p, _ in curve)
    max_x = hdr_axis(ax, top)
    cmap = plt.get_cmap("tab10")
    for i, (r, curve) in enumerate(series):
        xs = [hdr_x(p) for p, v in curve if v is not None]
        ys = [max(v, 0.1) for p, v in curve if v is not None]
        vrrl = r["variant"] == "vrrl"
        color = "#2f6db5" if vrrl and r["mode"] == "warm" else cmap(i % 10)
        style = "-" if r["mode"] == "warm" else "--"
        label = f"{r['variant']} ({r['mode']})"
        ax.plot(xs, ys, style, color=color, lw=2.2 if vrrl else 1.3, label=label)
        ax.plot(max_x, max(r["max_ns"], 0.1), marker="o", color=color, markersize=4)
    ax.set_yscale("log")
    ax.set_ylabel("ns per append" + (" (timer cost subtracted)" if latency.get("timer_subtracted") else
                                     " (timer cost included)"))
    step = latency.get("timer_step_ns")
    if step:
        ax.axhline(step, color="#999999", lw=0.8, ls=":")
        ax.text(0.02, step * 1.1, f"timer step {fmt_num(step, 1)} ns: values below cannot be told apart",
                fontsize=7, color="#666666")
    overhead = latency.get("timer_overhead_ns")
    ax.set_title(f"Single-append latency by percentile ({latency['records']:,} appends per line into a "
                 f"{latency['slots']:,}-slot ring; {fmt_num(overhead, 1)} ns timer cost "
                 + ("subtracted)" if latency.get("timer_subtracted") else "included)"), fontsize=9)
    ax.grid(which="both", alpha=0.25)
    ax.legend(loc="upper left", fontsize=7, ncol=3, framealpha=0.85)
    footer(fig, subtitle)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_durability(plt, summary, subtitle):
    rows = [r for r in summary["durability"] if not r["skipped"]]
    sync_calls = summary["sync_calls"]
    if not rows and not sync_calls:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), gridspec_kw={"width_ratios": [2.2, 1.2, 1.4]})
    ax = axes[0]
    paced = [r for r in rows if r["rate"] != "max"]
    max_x = hdr_axis(ax, 99.99)
    cmap = plt.get_cmap("tab10")
    variant_order = list(dict.fromkeys(r["variant"] for r in rows))  # one colour per variant, at every rate
    for r in paced:
        xs = [hdr_x(p) for _, k, p in LATENCY_POINTS if r[k]["median"] is not None]
        ys = [max(r[k]["median"], 0.1) for _, k, p in LATENCY_POINTS if r[k]["median"] is not None]
        color = cmap(variant_order.index(r["variant"]) % 10)
        ax.plot(xs, ys, "-o" if r["rate"] == "10M" else "--s", color=color, markersize=3,
                label=f"{r['variant']} at {r['rate']}/s")
        tail = r["p99_99_ns"]
        if tail["n"] > 1:
            ax.errorbar(hdr_x(99.99), tail["median"], yerr=[[tail["median"] - tail["min"]], [tail["max"] - tail["median"]]],
                        fmt="none", ecolor=color, capsize=3)
        if r["max_ns"]["median"]:
            ax.plot(max_x, r["max_ns"]["median"], marker="o", color=color, markersize=4)
    ax.set_yscale("log")
    ax.set_ylabel("ns per append (sampled, timer cost subtracted)")
    ax.set_title("Append latency, paced, while the log is made durable every 10 ms", fontsize=9)
    ax.grid(which="both", alpha=0.25)
    if paced:
        ax.legend(loc="upper left", fontsize=7)
    else:
        ax.text(0.5, 0.5, "no sync/periodic_10ms rows in this run", ha="center", transform=ax.transAxes, fontsize=8)

    ax = axes[1]
    flat = [r for r in rows if r["rate"] == "max"]
    for y, r in enumerate(flat[::-1]):
        rate = r["records_per_second"]
        ax.barh(y, rate["median"] / 1e6, color=cmap(variant_order.index(r["variant"]) % 10), height=0.6)
        if rate["n"] > 1:
            ax.errorbar(rate["median"] / 1e6, y, xerr=[[(rate["median"] - rate["min"]) / 1e6],
                                                      [(rate["max"] - rate["median"]) / 1e6]],
                        fmt="none", ecolor="black", capsize=2)
        note = f"{rate['median'] / 1e6:.3g} M/s" + (f" ({fmt_ratio(r['vs_no_sync'])})" if r["vs_no_sync"] else "")
        ax.text((rate["max"] if rate["n"] > 1 else rate["median"]) / 1e6 * 1.03, y, note, va="center", fontsize=7)
    ax.set_yticks(range(len(flat)))
    ax.set_yticklabels([r["variant"] for r in flat[::-1]], fontsize=8)
    ax.set_xlabel("million records / wall second")
    ax.set_title("Flat out, same variants\n(1,048,576-slot log)", fontsize=9)
    ax.grid(axis="x", alpha=0.25)
    if flat:
        ax.set_xlim(right=max(r["records_per_second"]["max"] or 0 for r in flat) / 1e6 * 1.6)

    ax = axes[2]
    for variant, color in (("vrrl", "#2f6db5"), ("fdatasync", "#c8372d")):
        points = [r for r in sync_calls if r["variant"] == variant and r["us_per_sync"]["median"]]
        if not points:
            continue
        xs = [r["pages"] for r in points]
        ax.plot(xs, [r["us_per_sync"]["median"] for r in points], "-o", color=color, markersize=3,
                label="RingLog::sync (msync)" if variant == "vrrl" else "pwrite + fdatasync")
        for r in points:
            u = r["us_per_sync"]
            if u["n"] > 1:
                ax.errorbar(r["pages"], u["median"], yerr=[[u["median"] - u["min"]], [u["max"] - u["median"]]],
                            fmt="none", ecolor=color, capsize=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("freshly dirtied 4 KiB pages")
    ax.set_ylabel("µs per call (wall)")
    ax.set_title("One sync call\n(64 MiB file)", fontsize=9)
    ax.grid(which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="upper left")
    footer(fig, subtitle)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def plot_scaling(plt, summary, subtitle):
    rows = [r for r in summary["threads"] if not r["skipped"] and r["records_per_second"]["median"]]
    order = ["vrrl_per_thread", "recording", "vrrl_mp", "mutex_ringlog"]
    designs = sorted({r["design"] for r in rows if r["design"] != "vrrl_single"},
                     key=lambda d: (order.index(d) if d in order else len(order), d))
    if not designs:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = {"vrrl_per_thread": "#2f6db5", "recording": "#2ca02c", "vrrl_mp": "#e08a1e", "mutex_ringlog": "#9467bd"}
    for i, design in enumerate(designs):
        points = sorted((r for r in rows if r["design"] == design), key=lambda r: r["threads"])
        shift = 1 + 0.03 * (i - (len(designs) - 1) / 2)  # keeps the whiskers of different designs apart
        xs = [r["threads"] * shift for r in points]
        med = [r["records_per_second"]["median"] / 1e6 for r in points]
        color = colors.get(design, plt.get_cmap("tab10")(i % 10))
        ax.plot(xs, med, "-o", color=color, label=design)
        for x, r in zip(xs, points):
            rate = r["records_per_second"]
            if rate["n"] > 1:
                ax.errorbar(x, rate["median"] / 1e6, yerr=[[(rate["median"] - rate["min"]) / 1e6],
                                                           [(rate["max"] - rate["median"]) / 1e6]],
                            fmt="none", ecolor=color, capsize=2, elinewidth=0.8)
    base = next((r for r in rows if r["design"] == "vrrl_per_thread" and r["threads"] == 1), None)
    cpus = summary.get("cpus")
    if base and cpus:
        threads = sorted({r["threads"] for r in rows})
        ideal = [base["records_per_second"]["median"] / 1e6 * min(t, cpus) for t in threads]
        ax.plot(threads, ideal, ":", color="#2f6db5", lw=1, label=f"vrrl_per_thread x min(threads, {cpus} CPUs)")
    single = next((r for r in rows if r["design"] == "vrrl_single"), None)
    if single:
        ax.axhline(single["records_per_second"]["median"] / 1e6, color="#999999", ls=":", lw=1)
        ax.text(1, single["records_per_second"]["median"] / 1e6 * 1.08, "vrrl_single (one RingLog, one thread)",
                fontsize=7, color="#666666")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({r["threads"] for r in rows}))
    ax.set_xticklabels([str(t) for t in sorted({r["threads"] for r in rows})])
    ax.set_yscale("log")
    ax.set_xlabel("threads appending")
    ax.set_ylabel("million records / wall second, all threads together")
    ax.set_title("Thread scaling: aggregate throughput (4,096-slot logs)")
    ax.grid(which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left")
    footer(fig, subtitle)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_replay(plt, summary, subtitle):
    rows = [r for r in summary["replay"] if r["bytes_per_second"]["median"]]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 2.6))
    for y, r in enumerate(rows[::-1]):
        b = r["bytes_per_second"]
        ax.barh(y, b["median"] / 1e9, color="#2f6db5" if r["variant"] == "vrrl" else "#c8372d", height=0.6)
        if b["n"] > 1:
            ax.errorbar(b["median"] / 1e9, y, xerr=[[(b["median"] - b["min"]) / 1e9], [(b["max"] - b["median"]) / 1e9]],
                        fmt="none", ecolor="black", capsize=2)
        ax.text(b["median"] / 1e9 * 1.15, y, f"{b['median'] / 1e9:.3g} GB/s", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r["variant"] for r in rows[::-1]], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(right=max(r["bytes_per_second"]["max"] or 0 for r in rows) / 1e9 * 4)
    ax.set_xlabel("GB of records per wall second (log)")
    ax.set_title("Replay a full 64 MiB log (1,048,576 records), page cache warm")
    ax.grid(axis="x", which="both", alpha=0.25)
    footer(fig, subtitle)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


# ---------------------------------------------------------------- main

def summarize(bench_json, latency):
    benches = load_benches(bench_json)
    context = bench_json.get("context", {})
    return {
        "append": append_rows(benches),
        "run": run_rows(benches),
        "durability": durability_rows(benches, context),
        "threads": thread_rows(benches),
        "replay": replay_rows(benches),
        "sync_calls": sync_call_rows(benches),
        "latency": latency,
        "cpus": bench_json.get("context", {}).get("num_cpus"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", help="vrrl-bench --benchmark_out JSON")
    parser.add_argument("--latency", help="vrrl-latency --json output")
    parser.add_argument("--from", dest="from_dir", metavar="DIR", help="redraw from an earlier result directory")
    parser.add_argument("--from-latest", metavar="JSON", help="redraw from an earlier latest.json")
    parser.add_argument("--out", required=True, help="directory for latest.json, vrrl-bench.json and the PNGs")
    parser.add_argument("--machine", default="", help="one line describing the machine")
    parser.add_argument("--note", default="", help="how the run was made (options, filesystem)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown (for docs/benchmarks.md)")
    args = parser.parse_args()

    if args.from_dir or args.from_latest:
        latest_path = args.from_latest or os.path.join(args.from_dir, "latest.json")
        try:
            with open(latest_path) as f:
                earlier = json.load(f)
            bench = earlier.get("google_benchmark")  # results written before vrrl-bench.json existed
            if bench is None:
                with open(os.path.join(os.path.dirname(latest_path), "vrrl-bench.json")) as f:
                    bench = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            sys.exit(f"report.py: cannot read the earlier results: {e}. Fix: point --from at a directory "
                     "written by report.py (it holds latest.json and vrrl-bench.json)")
        latency = earlier.get("latency")
        args.machine = args.machine or earlier.get("machine", "")
        args.note = args.note or earlier.get("note", "")
        generated = earlier.get("generated")
    elif args.bench:
        try:
            with open(args.bench) as f:
                bench = json.load(f)
            latency = None
            if args.latency:
                with open(args.latency) as f:
                    latency = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            sys.exit(f"report.py: {e}. Fix: pass the files vrrl-bench --benchmark_out and vrrl-latency --json wrote")
        generated = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    else:
        parser.error("give --bench (and --latency), or --from DIR")

    summary = summarize(bench, latency)
    for table in tables(summary):
        print(table.markdown() if args.markdown else table.text())
        print()

    os.makedirs(args.out, exist_ok=True)
    latest = {"generated": generated, "machine": args.machine, "note": args.note,
              "benchmark_context": bench.get("context", {}), **summary}
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump(latest, f, indent=1)
        f.write("\n")
    bench_out = os.path.join(args.out, "vrrl-bench.json")
    if not (args.bench and os.path.abspath(args.bench) == os.path.abspath(bench_out)):
        with open(bench_out, "w") as f:
            json.dump(bench, f, indent=1)
            f.write("\n")
    subtitle = (args.machine + (" | " + args.note if args.note else "") + (" | " + generated if generated else ""))
    written = plot_all(args.out, summary, subtitle)
    print("wrote " + ", ".join([os.path.join(args.out, "latest.json"), bench_out] + written))


if __name__ == "__main__":
    main()
