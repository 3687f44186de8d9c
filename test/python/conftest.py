"""Shared fixtures: where make_logs and the vrrl binary are, and log surgery."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("VRRL_SOURCE_ROOT", os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SOURCE_ROOT, "python"))


@pytest.fixture
def make_logs():
    """Runs make_logs with its arguments (paths as str)."""
    program = os.environ.get("VRRL_MAKE_LOGS")
    if not program:
        pytest.skip("VRRL_MAKE_LOGS is not set (meson sets it: meson test --suite python)")

    def run(*args):
        subprocess.run([program, *map(str, args)], check=True, timeout=120)
    run.program = program
    return run


@pytest.fixture
def vrrl_cli():
    program = os.environ.get("VRRL")
    if not program:
        pytest.skip("VRRL (the vrrl binary) is not set; it is built with -Dtools=enabled")
    return program


def put_at(path, offset, data):
    """Overwrites bytes at `offset` (the C++ tests' put_at / pwrite_bytes)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def put_u32(path, offset, value):
    put_at(path, offset, int(value).to_bytes(4, "little"))


def put_u64(path, offset, value):
    put_at(path, offset, int(value).to_bytes(8, "little"))


def slot_offset(slot):
    return 32 + 64 * slot


def slot_offset_v2(slot):
    """VRRL v2: slots after the 4 KiB header page."""
    return 4096 + 64 * slot


def parse_cpp_report(line):
    """make_logs' report line, "records N empty N ... bad S S ...", as a dict
    (numbers as int, `stopped` as bool, `bad` as the list of slots)."""
    words = line.split()
    bad_at = words.index("bad")
    report = {key: int(value) for key, value in zip(words[:bad_at:2], words[1:bad_at:2])}
    report["stopped"] = bool(report["stopped"])
    report["bad"] = [int(word) for word in words[bad_at + 1:]]
    return report
