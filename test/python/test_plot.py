"""python3 -m vrrl.plot: pictures of logs and recordings, --help, clear errors."""

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="vrrl.plot needs matplotlib; Debian: python3-matplotlib")

from conftest import SOURCE_ROOT  # noqa: E402
from handmade import write_recording  # noqa: E402
from vrrl.plot import epoch_starts, nice_bin, parse_duration  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_plot(*args):
    env = dict(os.environ, PYTHONPATH=os.path.join(SOURCE_ROOT, "python"), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "vrrl.plot", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory):
    program = os.environ.get("VRRL_MAKE_LOGS")
    if not program:
        pytest.skip("VRRL_MAKE_LOGS is not set (meson sets it)")
    path = tmp_path_factory.mktemp("plot") / "demo.vrrl"
    subprocess.run([program, "demo", str(path)], check=True)
    return path


@pytest.mark.parametrize("options", [[], ["--by", "tenant"], ["--by", "opcode", "--bin", "1ms", "--top", "2"]])
def test_plot_a_log(tmp_path, demo_log, options):
    out = tmp_path / "run.png"
    done = run_plot(demo_log, "-o", out, *options)
    assert done.returncode == 0, done.stderr
    assert_png(out)
    assert "292671 records" in done.stdout and "failures" in done.stdout and "11 epochs" in done.stdout


def test_plot_a_v2_log(tmp_path):
    # The same simulated run written as VRRL v2: the same picture's numbers.
    path = tmp_path / "demo-v2.vrrl"
    subprocess.run([os.environ["VRRL_MAKE_LOGS"], "--v2", "demo", str(path)], check=True)
    assert path.read_bytes()[:8] == b"VRRL0002"
    out = tmp_path / "run.png"
    done = run_plot(path, "-o", out, "--by", "tenant")
    assert done.returncode == 0, done.stderr
    assert_png(out)
    assert "292671 records" in done.stdout and "failures" in done.stdout and "11 epochs" in done.stdout


def test_plot_a_recording_by_stream(tmp_path):
    streams = {name: [(1_000_000 * n + k, 0, k, 7, (0, 0, 0, 0), n // 20, 0, 2 if n % 17 == 0 else 0, 0, 0)
                      for n in range(100)] for k, name in enumerate(["gpu-0", "gpu-1", "cpu"])}
    run = write_recording(tmp_path / "run", streams, capacity=32)
    out = tmp_path / "run.svg"
    done = run_plot(run, "-o", out)
    assert done.returncode == 0, done.stderr
    assert b"<svg" in out.read_bytes()[:1000]
    assert "300 records" in done.stdout and "5 epochs" in done.stdout


def test_help():
    done = run_plot("--help")
    assert done.returncode == 0
    for word in ("--by", "opcode", "tenant", "stream", "--bin", "-o"):
        assert word in done.stdout


@pytest.mark.parametrize("args,fragment", [
    (["LOG"], "-o"),
    (["LOG", "-o", "x.png", "--by", "thread"], "invalid choice"),
    (["LOG", "-o", "x.png", "--bin", "fast"], "not a duration"),
    (["LOG", "-o", "x.png", "--by", "stream"], "needs a recording"),
    (["LOG", "-o", "x.png", "--bin", "1ns"], "choose a wider bin"),
    (["LOG", "-o", "x.png", "--top", "0"], "--top"),
])
def test_usage_errors_exit_2(tmp_path, demo_log, args, fragment):
    args = [demo_log if a == "LOG" else tmp_path / a if a.endswith(".png") else a for a in args]
    done = run_plot(*args)
    assert done.returncode == 2 and fragment in done.stderr, done.stderr


def test_bad_inputs_exit_1_with_a_fix(tmp_path, demo_log):
    empty = tmp_path / "empty.vrrl"
    subprocess.run([os.environ["VRRL_MAKE_LOGS"], "self", str(empty), "8", "0"], check=True)
    for args, fragment in [
        ([tmp_path / "missing.vrrl", "-o", tmp_path / "x.png"], "No such file"),
        ([tmp_path, "-o", tmp_path / "x.png"], "not a recording"),
        ([empty, "-o", tmp_path / "x.png"], "no records"),
        ([demo_log, "-o", tmp_path / "no" / "such" / "dir.png"], "writing the picture failed"),
    ]:
        done = run_plot(*args)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("vrrl.plot: vrrl ") and fragment in done.stderr and "Fix:" in done.stderr
        assert "Traceback" not in done.stderr


def test_durations_and_bins():
    assert parse_duration("1ms") == 1_000_000 and parse_duration("250us") == 250_000
    assert parse_duration("2s") == 2_000_000_000 and parse_duration("100") == 100
    assert parse_duration("1.5ms") == 1_500_000
    assert nice_bin(2_000_000_000) == 10_000_000 and nice_bin(100) == 1


def test_epoch_starts_are_earliest_records_not_first_changes():
    # Two streams merged: epochs interleave near the boundary.
    epochs = np.array([0, 0, 1, 0, 1, 2, 1, 2], dtype=np.uint32)
    times = np.array([0, 5, 9, 10, 12, 20, 21, 22], dtype=np.uint64)
    assert epoch_starts(epochs, times) == [(1, 9), (2, 20)]
    assert epoch_starts(np.zeros(0, np.uint32), np.zeros(0, np.uint64)) == []
