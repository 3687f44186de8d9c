"""python3 -m vrrl.plot LOG|DIR -o run.png: a picture of a recorded run.

Top: dispatch rate over time, one line per opcode, tenant or stream (the
busiest few; the rest summed as "other"). Below: failures per time bin by
failure class (a failure is a non-none failure_class or a non-zero
slot_status; an output_digest alone is evidence, not failure). Dashed
vertical lines mark where each epoch starts. Time runs from the earliest
record. Matplotlib's Agg backend: no display needed.
"""

import argparse
import math
import os
import re
import sys

import numpy as np

from . import format as fmt
from .errors import Error

_UNITS = (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000), ("ns", 1))
_FAILURE_COLOURS = {
    "device_loss": "#d62728", "transient_queue": "#ff7f0e", "program_bug": "#9467bd",
    "unclassified": "#7f7f7f", "slot_status only": "#8c564b",
}
_EPOCH_LABELS_MAX = 12


class UsageError(Exception):
    """A bad command line: exit 2."""


def parse_duration(text):
    """'1ms', '250us', '2s', '100ns' or a plain number of nanoseconds -> int ns."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ns|us|ms|s)?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"`{text}` is not a duration; expected e.g. 100ns, 250us, 1ms, 2s")
    value = float(match.group(1)) * dict(_UNITS)[match.group(2) or "ns"]
    if value < 1:
        raise argparse.ArgumentTypeError(f"`{text}` is shorter than 1 ns")
    return int(value)


def nice_bin(span_ns, bins=200):
    """A 1-2-5 bin width giving about `bins` bins over the span."""
    raw = max(1.0, span_ns / bins)
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if raw <= step * power:
            return int(step * power)
    return int(10 * power)


def time_unit(span_ns):
    for name, scale in _UNITS:
        if span_ns >= 2 * scale or scale == 1:
            return name, scale
    return "ns", 1


def si_number(value):
    """150000 -> '150k', 2000000 -> '2M': rate ticks a reader takes in at a glance."""
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def describe_bin(bin_ns):
    for name, scale in _UNITS:
        if bin_ns % scale == 0:
            return f"{bin_ns // scale} {name}"
    return f"{bin_ns} ns"


def load(path, by, recovery):
    """(records, group keys, group label function, title note) for `path`."""
    from . import open as vrrl_open
    from .log import Log
    opened = vrrl_open(path)
    if isinstance(opened, Log):
        if by == "stream":
            raise UsageError("--by stream needs a recording directory; a log file is one stream "
                             "(use --by opcode or --by tenant)")
        records = opened.records(recovery=recovery)
        note = "multi-producer log" if opened.header.multi_producer else "log"
        opened.close()
        return records, None, note
    merged = opened.read(recovery=recovery)
    return merged.records, merged, f"recording, {len(merged.stream_names)} streams"


def group_keys(records, merged, by):
    if by == "stream":
        names = merged.stream_names
        return merged.stream.astype(np.int64), lambda key: names[key]
    if by == "tenant":
        return records["tenant_id"].astype(np.int64), lambda key: f"tenant {key}"
    return records["opcode"].astype(np.int64), lambda key: f"opcode 0x{key:x}" if key > 0xFFFF else f"opcode {key}"


def plot(path, output, by="opcode", bin_ns=None, top=8, title=None, recovery="strict", width=11.0, height=6.0):
    """Draws the picture of `path` into `output` (PNG, SVG, PDF by extension)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        raise Error("io", "plot", path, "matplotlib is not installed",
                    "install it (Debian: apt-get install python3-matplotlib)") from None

    records, merged, note = load(path, by, recovery)
    if by is None:
        by = "stream" if merged is not None else "opcode"
    if len(records) == 0:
        raise Error("truncated", "plot", path, "there are no records to plot",
                    "record something first, or check the path (`vrrl info` says what the log holds)")
    stamps = records["timestamp_ns"]
    first = int(stamps.min())
    span = int(stamps.max()) - first
    relative = (stamps - np.uint64(first)).astype(np.uint64)
    if bin_ns is None:
        bin_ns = nice_bin(span)
    bins = span // bin_ns + 1
    if bins > 100_000:
        raise UsageError(f"--bin {describe_bin(bin_ns)} makes {bins} bins over {span} ns; choose a wider bin")
    index = (relative // np.uint64(bin_ns)).astype(np.int64)
    # Bin edges in ns; the last bin ends with the last record. A sliver of
    # less than half a bin joins the bin before it, so the rate does not
    # spike or drop at the end for want of time in the bin.
    edges_ns = np.append(np.arange(bins) * bin_ns, span + 1)
    if bins > 1 and edges_ns[-1] - edges_ns[-2] < bin_ns / 2:
        edges_ns = np.delete(edges_ns, -2)
        bins -= 1
        index = np.minimum(index, bins - 1)
    unit, scale = time_unit(span + 1)
    edges = edges_ns / scale
    per_second = 1e9 / np.diff(edges_ns)

    figure, (rate_axes, failure_axes) = plt.subplots(
        2, 1, sharex=True, figsize=(width, height), gridspec_kw={"height_ratios": [3, 1]},
        layout="constrained")

    keys, label_of = group_keys(records, merged, by)
    values, counts = np.unique(keys, return_counts=True)
    busiest = np.sort(values[np.argsort(-counts, kind="stable")][:top])  # legend in key order
    colours = plt.get_cmap("tab10").colors
    highest = 1.0
    for n, key in enumerate(busiest):
        rate = np.bincount(index[keys == key], minlength=bins) * per_second
        highest = max(highest, float(rate.max()))
        rate_axes.stairs(rate, edges, baseline=None, color=colours[n % len(colours)], linewidth=1.4,
                         label=label_of(int(key)))
    rest = ~np.isin(keys, busiest)
    if rest.any():
        rate = np.bincount(index[rest], minlength=bins) * per_second
        others = len(values) - len(busiest)
        highest = max(highest, float(rate.max()))
        rate_axes.stairs(rate, edges, baseline=None, color="black", linewidth=1.0, linestyle=":",
                         label=f"other ({others})")
    rate_axes.set_ylim(0, highest * 1.12)
    rate_axes.set_ylabel(f"dispatches/s  (bin {describe_bin(bin_ns)})")
    rate_axes.grid(alpha=0.25)
    rate_axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: si_number(value)))

    classes = np.minimum(records["failure_class"], len(fmt.FAILURE_CLASSES) - 1)
    status_only = (classes == 0) & (records["slot_status"] != 0)
    bottom = np.zeros(bins)
    failures = 0
    for number, name in list(enumerate(fmt.FAILURE_CLASSES))[1:] + [(None, "slot_status only")]:
        mask = status_only if number is None else classes == number
        if not mask.any():
            continue
        height_of = np.bincount(index[mask], minlength=bins).astype(float)
        failures += int(mask.sum())
        failure_axes.bar(edges[:-1], height_of, width=np.diff(edges), bottom=bottom, align="edge",
                         color=_FAILURE_COLOURS[name], label=f"{name} ({int(mask.sum())})", linewidth=0)
        bottom += height_of
    failure_axes.set_ylabel("failures")
    failure_axes.set_ylim(0, max(1.0, float(bottom.max())) * 1.15)
    failure_axes.set_xlabel(f"time since the first record ({unit})")
    failure_axes.grid(alpha=0.25)
    if failures == 0:
        failure_axes.text(0.5, 0.5, "no failures", transform=failure_axes.transAxes, ha="center", va="center",
                          color="gray")
        failure_axes.set_yticks([])

    starts = epoch_starts(records["epoch"], relative)
    label_every = max(1, math.ceil(len(starts) / _EPOCH_LABELS_MAX))
    for n, (epoch, start) in enumerate(starts):
        x = start / scale
        for axes in (rate_axes, failure_axes):
            axes.axvline(x, color="0.35", linestyle="--", linewidth=0.8, alpha=0.7, zorder=0)
        if n % label_every == 0 and x < 0.97 * edges[-1]:  # no label squeezed against the right edge
            rate_axes.annotate(f"epoch {epoch}", (x, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                               textcoords="offset points", fontsize=7, color="0.3", rotation=90,
                               ha="left", va="top")
    rate_axes.set_xlim(0, edges[-1])

    # Legends outside the axes, so they never cover the data.
    rate_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                     title=f"by {by}", title_fontsize=8)
    if failures:
        failure_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    heading = title or os.path.basename(os.path.normpath(path))
    figure.suptitle(f"{heading}: {len(records):,} dispatches over {span / scale:.3g} {unit}, "
                    f"{failures:,} failures, {len(starts) + 1} epochs ({note})", fontsize=10)
    try:
        figure.savefig(output, dpi=100)
    except OSError as e:
        raise Error("io", "plot", output, f"writing the picture failed: {e.strerror or e}",
                    "check that the directory exists and is writable") from None
    except ValueError as e:  # an extension matplotlib does not know
        raise UsageError(f"cannot write `{output}`: {e}") from None
    finally:
        plt.close(figure)
    return {"records": len(records), "failures": failures, "epochs": len(starts) + 1, "bin_ns": bin_ns}


def epoch_starts(epochs, relative):
    """(epoch, earliest relative time) of every epoch but the earliest, by time.

    The earliest record of each epoch, not the first change in record order:
    merged streams and many producers interleave epochs near a boundary."""
    if len(epochs) == 0:
        return []
    order = np.argsort(epochs, kind="stable")
    sorted_epochs = epochs[order]
    group_starts = np.flatnonzero(np.r_[True, sorted_epochs[1:] != sorted_epochs[:-1]])
    earliest = np.minimum.reduceat(relative[order], group_starts)
    pairs = sorted(zip(earliest.tolist(), sorted_epochs[group_starts].tolist()))
    return [(epoch, start) for start, epoch in pairs[1:]]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m vrrl.plot",
        description="Draw a recorded run: dispatch rate over time per opcode, tenant or stream, failures "
                    "per time bin by failure class, and epoch boundaries.",
        epilog="Example: python3 -m vrrl.plot dispatch.vrrl -o run.png --by tenant --bin 1ms")
    parser.add_argument("path", metavar="LOG|DIR", help="a VRRL log file or a recording directory")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the picture to write (.png; .svg and .pdf work too)")
    parser.add_argument("--by", choices=("opcode", "tenant", "stream"), default=None,
                        help="one line per ... (default: stream for a recording, opcode for a log)")
    parser.add_argument("--bin", type=parse_duration, default=None, metavar="DURATION",
                        help="time bin, e.g. 100us, 1ms, 2s (default: about 200 bins over the run)")
    parser.add_argument("--top", type=int, default=8, metavar="N",
                        help="draw the N busiest groups; the rest are summed as 'other' (default 8)")
    parser.add_argument("--title", help="heading of the picture (default: the file name)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="step over bad slots (a foreign magic; VRRL v2: torn or corrupted records), foreign "
                             "files and missing segments "
                             "(default: stop with an error)")
    parser.add_argument("--size", default="11x6", metavar="WxH", help="figure size in inches (default 11x6)")
    options = parser.parse_args(argv)
    size = re.fullmatch(r"([0-9.]+)x([0-9.]+)", options.size)
    if not size or options.top < 1:
        parser.error("--size must look like 11x6 and --top must be at least 1")
    try:
        summary = plot(options.path, options.output, by=options.by, bin_ns=options.bin, top=options.top,
                       title=options.title, recovery="skip" if options.skip_bad else "strict",
                       width=float(size.group(1)), height=float(size.group(2)))
    except UsageError as e:
        parser.error(str(e))
    except Error as e:
        print(f"vrrl.plot: {e}", file=sys.stderr)
        return 1
    print(f"{options.output}: {summary['records']} records, {summary['failures']} failures, "
          f"{summary['epochs']} epochs, bin {describe_bin(summary['bin_ns'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
