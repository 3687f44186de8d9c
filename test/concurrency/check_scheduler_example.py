#!/usr/bin/env python3
"""Runs examples/scheduler: two runs with one seed must not diverge, a run
perturbed at one epoch must diverge exactly there, and replay_diff must say so
with its exit status.  Usage: check_scheduler_example.py SCHEDULER_DEMO REPLAY_DIFF"""
import subprocess
import sys
import tempfile
from pathlib import Path


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)


def main():
    demo, diff = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory(prefix="vrrl-scheduler-") as tmp:
        logs = {name: Path(tmp) / f"{name}.vrrl" for name in ("a", "b", "perturbed", "other_seed")}
        for name, extra in (("a", []), ("b", []), ("perturbed", ["--perturb", "12"]),
                            ("other_seed", ["--seed", "8"])):
            seed = [] if name == "other_seed" else ["--seed", "7"]
            result = run(demo, logs[name], "--workers", "4", "--epochs", "30", *seed, *extra)
            if result.returncode != 0:
                failures.append(f"scheduler_demo {name} exited {result.returncode}: {result.stderr}")
        if failures:
            print("\n".join(failures))
            return 1

        def expect(label, a, b, status, text):
            result = run(diff, logs[a], logs[b])
            print(f"--- {label}: replay_diff exit {result.returncode}\n{result.stdout}{result.stderr}")
            if result.returncode != status or text not in result.stdout:
                failures.append(f"{label}: expected exit {status} and {text!r}")

        expect("same seed", "a", "b", 0, "no divergence: 30 epochs")
        expect("perturbed at epoch 12", "a", "perturbed", 1, "first divergence: epoch 12,")
        expect("another seed", "a", "other_seed", 1, "first divergence: epoch 0,")
        bad = run(diff, logs["a"])
        if bad.returncode != 2:
            failures.append(f"usage error: expected exit 2, got {bad.returncode}")
    print("\n".join(failures) if failures else "scheduler example: OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
