"""Reading a log while a writer appends: snapshots copy, then re-check magics
and cursor like the C++ Follower; a record a writer was writing or overwriting
during the copy is counted in report.skipped, never returned.

First the protocol with the writer's steps injected at known points (what the
writer did between our loads), then a real writer process at full speed and at
a scheduler's pace."""

import mmap
import os
import subprocess

import numpy as np
import pytest

import vrrl
from conftest import slot_offset
from known_records import torn


class ScriptedWriter:
    """Runs `steps[k]` (a callable) right after the Log's k-th cursor load,
    writing through a second, writable mapping: what a writer process did
    between two of the reader's loads."""

    def __init__(self, log, steps):
        self.log, self.steps, self.loads = log, steps, 0
        fd = os.open(log.path, os.O_RDWR)
        self.mapping = mmap.mmap(fd, os.fstat(fd).st_size)
        os.close(fd)
        original = log._load_cursor

        def load():
            value = original()
            step = self.steps.get(self.loads)
            self.loads += 1
            if step:
                step(self)
            return value
        log._load_cursor = load

    def u32(self, offset, value):
        self.mapping[offset:offset + 4] = int(value).to_bytes(4, "little")

    def cursor(self, value):
        self.mapping[24:32] = int(value).to_bytes(8, "little")

    def append(self, sequence, capacity, body=b"\x5a" * 60):
        """A whole append of `sequence` (the self-checking content is irrelevant here)."""
        at = slot_offset(sequence % capacity)
        self.u32(at, 0)  # clear the magic first, as RingLog does
        self.mapping[at + 4:at + 64] = body
        self.cursor(sequence + 1)
        self.u32(at, 0xDEADBEEF)


@pytest.fixture
def full_ring(tmp_path, make_logs):
    """Capacity 8, cursor 20: slots hold sequences 12..19 (oldest at slot 4)."""
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 8, 20)
    return vrrl.open(path)


def timestamps(snapshot):
    return snapshot.records["timestamp_ns"].tolist()


def test_quiescent_snapshot_is_every_record(full_ring):
    snapshot = full_ring.snapshot()
    assert timestamps(snapshot) == list(range(12, 20))
    assert snapshot.skipped == 0 and snapshot.report.live and snapshot.report.clean


def test_records_published_over_during_the_copy_are_skipped(full_ring):
    # The writer appends 20 and 21 (slots 4, 5) after our first cursor load.
    ScriptedWriter(full_ring, {0: lambda w: [w.append(s, 8) for s in (20, 21)]})
    snapshot = full_ring.snapshot()
    assert timestamps(snapshot) == list(range(14, 20))
    assert snapshot.skipped == 2 and snapshot.report.cursor == 20 and snapshot.report.cursor_after == 22


def test_a_record_being_overwritten_is_skipped(full_ring):
    # The writer of 20 cleared slot 4's magic and wrote half a body, no cursor yet.
    def start_append(w):
        w.u32(slot_offset(4), 0)
        w.mapping[slot_offset(4) + 4:slot_offset(4) + 36] = b"\xee" * 32
    ScriptedWriter(full_ring, {0: start_append})
    snapshot = full_ring.snapshot()
    assert timestamps(snapshot) == list(range(13, 20))
    assert snapshot.skipped == 1 and not torn(snapshot.records).any()


def test_the_cursor_after_the_copy_decides(full_ring):
    # The copy saw the old bytes, but by the re-check three appends were
    # published: their slots may hold anything now, so they are dropped.
    ScriptedWriter(full_ring, {0: lambda w: w.cursor(23)})
    snapshot = full_ring.snapshot()
    assert timestamps(snapshot) == list(range(15, 20)) and snapshot.skipped == 3


def test_a_lapped_snapshot_returns_nothing_and_counts_everything(full_ring):
    ScriptedWriter(full_ring, {0: lambda w: w.cursor(20 + 8 * 5)})
    snapshot = full_ring.snapshot()
    assert len(snapshot) == 0 and snapshot.skipped == 8


def test_a_cursor_that_goes_back_is_read_again(full_ring):
    # A writer restarting the count (cursor -> 3) mid-copy, then putting it back.
    ScriptedWriter(full_ring, {0: lambda w: w.cursor(3), 1: lambda w: w.cursor(20)})
    snapshot = full_ring.snapshot()
    assert timestamps(snapshot) == list(range(12, 20)) and snapshot.skipped == 0


def test_a_cursor_that_keeps_going_back_gives_nothing(full_ring):
    flip = {k: (lambda w: w.cursor(3)) if k % 2 == 0 else (lambda w: w.cursor(20)) for k in range(6)}
    ScriptedWriter(full_ring, flip)
    snapshot = full_ring.snapshot()
    assert len(snapshot) == 0 and snapshot.skipped == 8


def test_newest_record_without_its_magic_is_skipped(tmp_path, make_logs):
    # Between the writer's cursor and magic stores (or killed there).
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 16, 5)
    with open(path, "r+b") as f:
        f.seek(slot_offset(4))
        f.write(bytes(4))
    log = vrrl.open(path)
    snapshot = log.snapshot()
    assert timestamps(snapshot) == [0, 1, 2, 3] and snapshot.skipped == 1
    assert snapshot.report.empty_slots == 11


def test_chunks_are_checked_one_by_one(tmp_path, make_logs, monkeypatch):
    # With small chunks, records copied before the writer reached them survive.
    monkeypatch.setattr(vrrl.log, "_SNAPSHOT_CHUNK", 4)
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 16, 32)  # sequences 16..31
    log = vrrl.open(path)
    # After the first chunk (positions 0..3) the writer publishes 32..37.
    ScriptedWriter(log, {1: lambda w: [w.append(s, 16) for s in range(32, 38)]})
    snapshot = log.snapshot()
    assert timestamps(snapshot) == [16, 17, 18, 19] + list(range(22, 32))
    assert snapshot.skipped == 2


class LiveWriter:
    """make_logs live: appends self-checking records until its stdin closes."""

    def __init__(self, program, path, capacity, pause_us=0):
        self.process = subprocess.Popen([program, "live", str(path), str(capacity), str(1 << 40), str(pause_us)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline() == "ready\n"

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()  # by its PID; only ever the process this test started
                self.process.wait()
        return int(self.process.stdout.read() or 0)


def check_snapshot(snapshot, capacity):
    records, report = snapshot.records, snapshot.report
    assert not torn(records).any(), "a torn record was returned"
    sequences = records["timestamp_ns"].astype(np.int64)  # producer 0: timestamp == sequence
    assert (np.diff(sequences) > 0).all()
    if len(records):
        assert sequences[0] >= report.cursor - capacity and sequences[-1] < report.cursor
    # Every sequence the first cursor covered is returned or counted.
    assert report.records + report.skipped == min(capacity, report.cursor)


@pytest.mark.parametrize("capacity,pause_us", [(64, 0), (4096, 0), (1 << 18, 0), (1 << 16, 200)])
def test_snapshots_of_a_running_writer(tmp_path, make_logs, capacity, pause_us):
    path = tmp_path / "live.vrrl"
    writer = LiveWriter(make_logs.program, path, capacity, pause_us)
    try:
        log = vrrl.open(path)
        assert log.is_locked_by_writer()
        returned = skipped = 0
        for _ in range(40 if capacity > 4096 else 300):
            snapshot = log.snapshot()
            check_snapshot(snapshot, capacity)
            returned += snapshot.report.records
            skipped += snapshot.report.skipped
        auto = log.records()  # a writer holds the log: the default is a snapshot
        assert log.report.live and not torn(auto).any()
    finally:
        written = writer.stop()
    print(f"capacity {capacity}, pause {pause_us} us: {returned} records returned, {skipped} skipped, "
          f"{written} written")
    assert not log.is_locked_by_writer()
    final = log.snapshot()
    assert final.skipped == 0 and len(final) == min(capacity, written)
    check_snapshot(final, capacity)
    log.records()
    assert log.report.live is False  # no writer: a view
