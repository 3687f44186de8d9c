"""Bad files: each gives a vrrl.Error with the C++ library's kind (the cases of
test/core/ring_log_test.cpp [bad_file] and test/reliability/bad_file_test.cpp),
a message that names the path and ends in a Fix; none crashes, hangs or
SIGBUSes the interpreter."""

import errno
import os
import random
import socket
import subprocess
import sys

import pytest

import vrrl
from conftest import SOURCE_ROOT, put_at, put_u32, put_u64


def expect_error(path, kind, *fragments, opener=vrrl.open):
    with pytest.raises(vrrl.Error) as caught:
        opener(path)
    error = caught.value
    assert error.kind == kind, str(error)
    message = str(error)
    assert "Fix:" in message and message.endswith(".")
    for fragment in fragments:
        assert fragment in message, message
    return error


@pytest.fixture
def log_path(tmp_path, make_logs):
    def make(capacity, count):
        path = tmp_path / "log.vrrl"
        make_logs("self", path, capacity, count)
        return path
    return make


def test_zero_length_file(tmp_path):
    path = tmp_path / "log.vrrl"
    path.write_bytes(b"")
    expect_error(path, "truncated", "0 bytes", str(path))


def test_shorter_than_the_header(tmp_path):
    path = tmp_path / "log.vrrl"
    path.write_bytes(bytes(31))
    expect_error(path, "truncated", "31 bytes")


def test_header_fine_body_truncated(log_path):
    path = log_path(8, 0)
    os.truncate(path, 32 + 64 * 8 - 1)
    expect_error(path, "truncated", "543 bytes", "544 bytes")


def test_sparse_file_reads_as_empty(tmp_path, log_path):
    path = tmp_path / "sparse.vrrl"
    with open(path, "wb") as f:
        f.write(open(log_path(1024, 0), "rb").read(32))
        f.truncate(32 + 64 * 1024)  # a hole: reads as zeros, maps without SIGBUS
    log = vrrl.open(path)
    assert len(log.records()) == 0 and log.report.empty_slots == 1024


def test_wrong_version(log_path):
    path = log_path(2, 0)
    put_u32(path, 8, 2)
    expect_error(path, "header_mismatch", "magic VRRL0001 with format version 2", "goes with version 1")


def test_v2_magic_on_a_v1_file(log_path):
    # Each magic goes with its own version (lib/header.cpp's check_header).
    path = log_path(4, 2)
    put_at(path, 0, b"VRRL0002")
    expect_error(path, "header_mismatch", "magic VRRL0002 with format version 1", "goes with version 2", str(path))


def test_wrong_file_magic(log_path):
    path = log_path(4, 2)
    put_at(path, 0, b"VRRL0003")
    expect_error(path, "header_mismatch", "VRRL0001 or VRRL0002", str(path))


def test_not_vrrl_at_all(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are not the bytes you are looking for\n")
    expect_error(path, "header_mismatch", "VRRL0001 or VRRL0002")


def test_capacity_zero(log_path):
    path = log_path(4, 2)
    put_u64(path, 16, 0)
    expect_error(path, "zero_capacity", "capacity must be > 0")


@pytest.mark.parametrize("capacity", [1_048_577, 2**64 - 1, 2**58])
def test_capacity_over_max_before_any_size_check(log_path, capacity):
    path = log_path(4, 2)
    put_u64(path, 16, capacity)
    expect_error(path, "capacity_overflow", str(capacity), "1048576")


def test_capacity_larger_than_the_file(log_path):
    path = log_path(4, 2)
    put_u64(path, 16, 1_048_576)
    expect_error(path, "truncated", "288 bytes", "67108896 bytes")


def test_a_directory_as_a_log(tmp_path):
    expect_error(tmp_path, "not_a_log_file", "directory", opener=vrrl.Log)


def test_a_directory_without_metadata(tmp_path):
    expect_error(tmp_path, "not_a_recording", "vrrl-recording.txt", str(tmp_path))


def test_a_fifo_does_not_hang(tmp_path):
    path = tmp_path / "log.vrrl"
    os.mkfifo(path)
    expect_error(path, "not_a_log_file", "fifo")


def test_a_character_device():
    expect_error("/dev/null", "not_a_log_file", "character device")


def test_a_socket(tmp_path):
    path = tmp_path / "log.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        error = expect_error(path, "io")
        assert error.errno == errno.ENXIO
    finally:
        server.close()


def test_missing_file(tmp_path):
    error = expect_error(tmp_path / "missing.vrrl", "io", "No such file")
    assert error.errno == errno.ENOENT
    assert "check the path" in error.fix


def test_missing_directory(tmp_path):
    error = expect_error(tmp_path / "missing" / "log.vrrl", "io")
    assert error.errno == errno.ENOENT


def test_no_permission(log_path):
    """As a user without access (we run as root in CI, which ignores permission bits)."""
    path = log_path(4, 2)
    os.chmod(path, 0o600)
    if os.geteuid() != 0:
        pytest.skip("needs root to run a child as user nobody")
    child = ("import vrrl, sys\n"
             "try:\n    vrrl.open(sys.argv[1])\nexcept vrrl.Error as e:\n"
             "    print(e.kind, e.errno, 'permissions' in str(e))\n")
    done = subprocess.run([sys.executable, "-c", child, str(path)], user=65534, group=65534,
                          env={"PYTHONPATH": os.path.join(SOURCE_ROOT, "python")}, capture_output=True, text=True)
    if "No module named" in done.stderr or done.returncode != 0:
        pytest.skip(f"user nobody cannot run the package from here: {done.stderr.strip()[-200:]}")
    # The directory may already stop nobody (EACCES either way): an io error that says so.
    assert done.stdout.split() == ["io", str(errno.EACCES), "True"]


def test_file_shrinks_while_open(log_path):
    path = log_path(64, 10)
    log = vrrl.open(path)
    os.truncate(path, 100)
    for live in (False, True):
        with pytest.raises(vrrl.Error) as caught:
            log.records(live=live)  # checked before the walk: a clear error, not SIGBUS
        assert caught.value.kind == "truncated" and "shrank to 100 bytes" in str(caught.value)


def test_random_bit_flips_never_crash(tmp_path, make_logs):
    pristine_path = tmp_path / "pristine.vrrl"
    make_logs("self", pristine_path, 70, 100)  # slot 63 straddles the first page boundary
    pristine = pristine_path.read_bytes()
    path = tmp_path / "flipped.vrrl"
    generator = random.Random(6)
    counts = {"opened": 0, "rejected": 0, "strict_threw": 0}
    for trial in range(600):
        data = bytearray(pristine)
        for _ in range(1 + generator.randrange(4)):
            at = generator.randrange(32) if trial % 2 == 0 else generator.randrange(len(data))
            data[at] ^= 1 << generator.randrange(8)
        path.write_bytes(bytes(data))
        try:
            log = vrrl.open(path)
        except vrrl.Error as e:
            assert e.kind in ("header_mismatch", "zero_capacity", "capacity_overflow", "truncated")
            assert "Fix:" in str(e)
            counts["rejected"] += 1
            continue
        counts["opened"] += 1
        try:
            log.records()
        except vrrl.Error as e:
            assert e.kind == "header_mismatch" and e.slot is not None
            counts["strict_threw"] += 1
        skipped = log.records(recovery="skip")
        report = log.report
        assert len(skipped) == report.records
        assert report.records + report.empty_slots + len(report.bad_slots) == log.capacity
        snapshot = log.snapshot(recovery="skip")
        assert snapshot.records.tobytes() == skipped.tobytes()
        log.close()
    assert counts["opened"] and counts["rejected"] and counts["strict_threw"], counts


def test_every_error_names_its_kind():
    assert vrrl.KINDS == ("io", "header_mismatch", "zero_capacity", "capacity_overflow", "truncated",
                          "locked", "not_a_log_file", "not_a_recording", "invalid_name")
    with pytest.raises(ValueError):
        vrrl.Error("nonsense", "open", "x", "what", "fix")
