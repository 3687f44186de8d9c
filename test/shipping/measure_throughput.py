#!/usr/bin/env python3
"""Measures `vrrl ship --once` throughput into JetStream on this machine, for docs/shipping.md (not a test).

    test/shipping/measure_throughput.py BUILD_DIR [--records N] [--runs N] [--batches 64,256,1024]

For 1 replica (one node) and 3 replicas (a 3-node cluster on this machine), and each batch size: writes
a log of N self-checking records with ship_writer, ships it with `vrrl ship --once` into a new stream,
and reads the shipper's own summary (records/s, MB/s of records); then times `vrrl pull` of that stream. Prints a markdown table of the median
of the runs, with the machine's core count and load average: every server and the shipper share its
cores, so these are lower bounds for a real cluster.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def ship_once(vrrl, log, servers, stream, batch, replicas):
    result = subprocess.run([vrrl, "ship", log, "--server", ",".join(servers), "--stream", stream, "--source-id",
                             "bench", "--once", "--batch", str(batch), "--replicas", str(replicas)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"vrrl ship failed:\n{result.stderr}")
    match = re.search(r"(\d+) records shipped in (\d+) messages.*; ([\d.]+) s, (\d+) records/s, ([\d.]+) MB/s",
                      result.stdout)
    if not match:
        raise SystemExit(f"no summary in:\n{result.stdout}")
    records, messages, seconds, rate, megabytes = match.groups()
    return int(records), int(messages), float(seconds), int(rate), float(megabytes)


def pull_rate(vrrl, servers, stream, out_dir, records):
    """records/s of `vrrl pull` of the whole stream (wall clock, connecting included)."""
    started = time.monotonic()
    result = subprocess.run([vrrl, "pull", "--server", ",".join(servers), "--stream", stream, out_dir],
                            capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"vrrl pull failed:\n{result.stderr}")
    shutil.rmtree(out_dir)
    return records / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the meson build directory (with tools/vrrl/vrrl and test/shipping/ship_writer)")
    parser.add_argument("--records", type=int, default=1_048_576, help="records per run (at most 1048576)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", default="64,256,1024")
    args = parser.parse_args()
    vrrl = os.path.join(args.build, "tools", "vrrl", "vrrl")
    writer = os.path.join(args.build, "test", "shipping", "ship_writer")
    if harness.nats_server_binary() is None:
        raise SystemExit("nats-server is not installed")
    batches = [int(b) for b in args.batches.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="vrrl-throughput-") as directory:
        log = os.path.join(directory, "run.vrrl")
        subprocess.run([writer, log, str(args.records), str(args.records)], check=True, capture_output=True)
        for replicas in (1, 3):
            nodes = ([harness.NatsServer(directory, "single")] if replicas == 1
                     else harness.start_cluster(directory, 3))
            for node in nodes:
                node.wait_ready()
            servers = [node.url for node in nodes]
            for batch in batches:
                results = []
                pulls = []
                for run in range(args.runs):
                    stream = f"R{replicas}_B{batch}_{run}"
                    results.append(ship_once(vrrl, log, servers, stream, batch, replicas))
                    os.remove(f"{log}.ship-{stream}.cursor")
                    pulls.append(pull_rate(vrrl, servers, stream, os.path.join(directory, "pulled"), args.records))
                    client = harness.JetStreamClient(nodes[0].port)
                    client.api(f"STREAM.DELETE.{stream}")  # keeps the servers' stores small
                    client.close()
                rate = statistics.median(r[3] for r in results)
                megabytes = statistics.median(r[4] for r in results)
                messages = statistics.median(r[1] / r[2] for r in results)
                rows.append((replicas, batch, rate, megabytes, messages, [r[3] for r in results],
                             statistics.median(pulls)))
                print(f"replicas {replicas}, batch {batch}: {rate:.0f} records/s, {megabytes:.1f} MB/s "
                      f"(runs: {[r[3] for r in results]})", file=sys.stderr)
            for node in nodes:
                node.stop()
            harness.stop_all()
    load = os.getloadavg()
    print(f"{args.records} records per run, median of {args.runs} runs; {os.cpu_count()} cores shared by the "
          f"servers and the shipper; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print("| replicas | records per message | ship: records/s | MB/s of records | messages/s | runs (records/s) "
          "| pull: records/s |")
    print("| ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for replicas, batch, rate, megabytes, messages, runs, pulled in rows:
        print(f"| {replicas} | {batch} | {rate:,.0f} | {megabytes:.1f} | {messages:,.0f} | "
              f"{', '.join(f'{r:,}' for r in runs)} | {pulled:,.0f} |")


if __name__ == "__main__":
    main()
