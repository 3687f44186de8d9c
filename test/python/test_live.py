"""Reading a log while a writer appends: snapshots copy, then re-check magics
and cursor like the C++ Follower; a record a writer was writing or overwriting
during the copy is counted in report.skipped, never returned.

First the protocol with the writer's steps injected at known points (what the
writer did between our loads), then a real writer process at full speed and at
a scheduler's pace."""

import mmap
import os
import time
import subprocess
import sys

import numpy as np
import pytest

import vrrl
from vrrl import commit
from conftest import parse_cpp_report, slot_offset
from known_records import torn


class ScriptedWriter:
    """Runs `steps[k]` (a callable) right after the Log's k-th cursor load,
    writing through a second, writable mapping: what a writer process did
    between two of the reader's loads. Writes v1 or v2 records, as the log is."""

    def __init__(self, log, steps):
        self.log, self.steps, self.loads = log, steps, 0
        self.layout = log.layout
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

    def slot(self, index):
        return self.layout.record_position(index)

    def append(self, sequence, capacity, body=b"\x5a" * 60):
        """A whole append of `sequence` (the self-checking content is irrelevant here)."""
        at = self.slot(sequence % capacity)
        self.u32(at, 0)  # clear the magic first, as RingLog does
        self.mapping[at + 4:at + 64] = body
        self.cursor(sequence + 1)
        self.u32(at, self.commit_word(sequence, body) if self.layout.format == "v2" else 0xDEADBEEF)

    @staticmethod
    def commit_word(sequence, body):
        words = np.frombuffer(bytes(4) + body, dtype=np.uint64).reshape(1, 8)
        return int(commit.commit_words(np.uint64(sequence), words)[0])


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


def test_a_record_being_overwritten_reads_as_empty(full_ring):
    # The writer of 20 cleared slot 4's magic and wrote half a body, no cursor
    # yet: the slot reads as empty, as in C++ read_snapshot (never as a record).
    def start_append(w):
        w.u32(slot_offset(4), 0)
        w.mapping[slot_offset(4) + 4:slot_offset(4) + 36] = b"\xee" * 32
    ScriptedWriter(full_ring, {0: start_append})
    snapshot = full_ring.snapshot()
    assert timestamps(snapshot) == list(range(13, 20))
    assert snapshot.report.empty_slots == 1 and snapshot.skipped == 0 and not torn(snapshot.records).any()


def test_a_record_completed_over_during_the_copy_is_skipped(full_ring):
    # The copy saw the body half rewritten and the new magic already stored:
    # the cursor the writer advanced first gives it away.
    def overwrite(w):
        w.mapping[slot_offset(4) + 4:slot_offset(4) + 36] = b"\xee" * 32
        w.cursor(21)
    ScriptedWriter(full_ring, {0: overwrite})
    snapshot = full_ring.snapshot()
    assert timestamps(snapshot) == list(range(13, 20)) and snapshot.skipped == 1


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
    # A writer that restarted the count at 3 (or the seed, whose cursor is a
    # slot index) rewrote slot 3 before the copy: the reader does not trust a
    # copy the cursor moved under, reads again, and returns whole records only.
    def restart(w):
        w.mapping[slot_offset(3) + 4:slot_offset(3) + 64] = full_ring.slots[4:5].tobytes()[4:]
        w.cursor(3)
    ScriptedWriter(full_ring, {0: restart})
    snapshot = full_ring.snapshot()
    assert snapshot.report.cursor == 20 and snapshot.report.cursor_after == 3
    assert not torn(snapshot.records).any() and len(snapshot) + snapshot.skipped == 8


def test_newest_record_without_its_magic_is_empty(tmp_path, make_logs):
    # Between the writer's cursor and magic stores (or killed there): empty, as in C++.
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 16, 5)
    with open(path, "r+b") as f:
        f.seek(slot_offset(4))
        f.write(bytes(4))
    log = vrrl.open(path)
    snapshot = log.snapshot()
    assert timestamps(snapshot) == [0, 1, 2, 3] and snapshot.skipped == 0
    assert snapshot.report.empty_slots == 12


def test_chunks_are_checked_one_by_one(tmp_path, make_logs, monkeypatch):
    # With small chunks, records copied before the writer reached them survive.
    monkeypatch.setattr(vrrl.log, "_SNAPSHOT_CHUNK", 4)
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 16, 32)  # sequences 16..31
    log = vrrl.open(path)
    # After the first chunk (positions 0..3; loads: the snapshot's cursor, the
    # chunk's before and after) the writer publishes 32..37.
    ScriptedWriter(log, {2: lambda w: [w.append(s, 16) for s in range(32, 38)]})
    snapshot = log.snapshot()
    assert timestamps(snapshot) == [16, 17, 18, 19] + list(range(22, 32))
    assert snapshot.skipped == 2


class LiveWriter:
    """make_logs live: appends self-checking records until its stdin closes."""

    def __init__(self, program, path, capacity, pause_us=0, v2=False):
        self.process = subprocess.Popen([program, *(["--v2"] if v2 else []), "live", str(path), str(capacity),
                                         str(1 << 40), str(pause_us)],
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


def check_snapshot(snapshot, capacity, v2=False):
    records, report = snapshot.records, snapshot.report
    sequences = records["timestamp_ns"].astype(np.int64)  # producer 0: timestamp == sequence
    assert snapshot.sequence.astype(np.int64).tolist() == sequences.tolist()
    if v2:
        assert not torn(records, magic=None).any(), "a torn record was returned"
        assert np.array_equal(records["magic"], commit.commit_words(snapshot.sequence, commit.record_words(records)))
    else:
        assert not torn(records).any(), "a torn record was returned"
    assert (np.diff(sequences) > 0).all()
    if len(records):
        assert sequences[0] >= report.cursor - capacity and sequences[-1] < report.cursor
    # Every slot is a record, empty, bad, stale or skipped (C++ SnapshotReport's accounting).
    assert report.records + report.empty_slots + len(report.bad_slots) + report.skipped + report.stale_records \
        == capacity


@pytest.mark.parametrize("capacity,pause_us,v2", [(64, 0, False), (4096, 0, False), (1 << 18, 0, False),
                                                  (1 << 16, 200, False), (64, 0, True), (4096, 0, True),
                                                  (1 << 18, 0, True), (1 << 16, 200, True)])
def test_snapshots_of_a_running_writer(tmp_path, make_logs, capacity, pause_us, v2):
    path = tmp_path / "live.vrrl"
    writer = LiveWriter(make_logs.program, path, capacity, pause_us, v2)
    try:
        log = vrrl.open(path)
        assert log.is_locked_by_writer() and log.format == ("v2" if v2 else "v1")
        returned = skipped = 0
        for _ in range(40 if capacity > 4096 else 300):
            snapshot = log.snapshot()
            check_snapshot(snapshot, capacity, v2)
            returned += snapshot.report.records
            skipped += snapshot.report.skipped
        auto = log.records()  # a writer holds the log: the default is a snapshot
        assert log.report.live and not torn(auto, magic=None if v2 else 0xDEADBEEF).any()
    finally:
        written = writer.stop()
    print(f"{log.format}, capacity {capacity}, pause {pause_us} us: {returned} records returned, {skipped} skipped, "
          f"{written} written")
    assert not log.is_locked_by_writer()
    final = log.snapshot()
    assert final.skipped == 0 and len(final) == min(capacity, written)
    check_snapshot(final, capacity, v2)
    log.records()
    assert log.report.live is False  # no writer: a view


SEED_WRITER = r"""
import os, struct, sys
sys.path.insert(0, sys.argv[3])
from known_records import mix32, mix64
path, capacity, appends = sys.argv[1], int(sys.argv[2]), int(sys.argv[4])
fd = os.open(path, os.O_RDWR)
record = struct.Struct("<IQIII4II")  # the seed writes bytes 0..43 only
print("ready", flush=True)
for n in range(appends):
    # The seed's append: the record at the next slot, then the next slot index.
    body = record.pack(0xDEADBEEF, n, mix32(n, 1), 0, mix32(n, 2), *(mix32(n, 3 + k) for k in range(4)),
                       n & 0xFFFFFFFF)
    os.pwrite(fd, body, 32 + 64 * (n % capacity))
    os.pwrite(fd, struct.pack("<Q", (n + 1) % capacity), 24)
"""


def seed_torn(records):
    """Records whose bytes 4..43 are not the seed writer's record n (n = timestamp)."""
    from known_records import mix32
    bad = []
    for r in records:
        n = int(r["timestamp_ns"])
        expected = (mix32(n, 1), 0, mix32(n, 2), tuple(mix32(n, 3 + k) for k in range(4)), n & 0xFFFFFFFF)
        got = (int(r["slot_idx"]), int(r["tenant_id"]), int(r["opcode"]), tuple(int(a) for a in r["args"]),
               int(r["epoch"]))
        if got != expected or int(r["output_digest"]) or int(r["failure_class"]):
            bad.append(n)
    return bad


@pytest.mark.parametrize("capacity", [16, 4096])
def test_snapshots_while_the_seed_writes(tmp_path, capacity):
    # The seed keeps its cursor modulo capacity and writes magic and body with
    # one write(2), no clear first: the magic re-check cannot see it, the
    # cursor and timing rules (and a second copy, for small rings) must.
    from handmade import SeedLog
    path = tmp_path / "seed.vrrl"
    SeedLog(path, capacity)
    here = os.path.dirname(os.path.abspath(__file__))
    writer = subprocess.Popen([sys.executable, "-c", SEED_WRITER, str(path), str(capacity), here, "400000"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "ready\n"
        log = vrrl.open(path)
        snapshots = returned = 0
        while writer.poll() is None and snapshots < 400:
            snapshot = log.snapshot()
            snapshots += 1
            returned += len(snapshot)
            assert seed_torn(snapshot.records) == []
            report = snapshot.report
            assert report.records + report.empty_slots + len(report.bad_slots) + report.skipped == capacity
    finally:
        if writer.poll() is None:
            writer.kill()  # by its PID: only the process this test started
        writer.wait()
    print(f"seed writer, capacity {capacity}: {snapshots} snapshots, {returned} records returned")
    # Once the file has been quiet for a while, the record under the seed's
    # cursor counts too (docs/design.md, "The seed as the writer").
    long_ago = time.time() - 3600
    os.utime(path, (long_ago, long_ago))
    final = vrrl.open(path).snapshot()
    assert seed_torn(final.records) == [] and final.skipped == 0


def cpp_snapshot(program, path, mode):
    out = subprocess.run([program, "snapshot", str(path), mode], capture_output=True, text=True)
    if out.returncode != 0:
        return out.stderr
    lines = out.stdout.splitlines()
    report = parse_cpp_report(lines[0])
    del report["stale"], report["beyond"]  # v2 only; zero here
    return report, [tuple(map(int, line.split())) for line in lines[1:]]


def python_snapshot(path, mode):
    log = vrrl.open(path)
    try:
        snapshot = log.snapshot(recovery=mode)
    except vrrl.Error as e:
        return str(e)
    report = snapshot.report
    slots = [(report.cursor + step) % log.capacity for step in range(log.capacity)]
    kept = [s for s in slots if log.slots[s]["magic"] == 0xDEADBEEF]
    records = snapshot.records["timestamp_ns"].tolist()
    return ({"records": report.records, "empty": report.empty_slots, "overwritten": report.skipped,
             "stopped": report.stopped_early, "bad": report.bad_slots},
            list(zip(kept, records)) if not report.bad_slots else None)


@pytest.mark.parametrize("shape", ["empty", "partial", "full", "wrapped", "hole", "bad", "seed", "seed_wrapped",
                                   "seed_wrapped_fresh", "implausible"])
def test_snapshot_equals_cpp_read_snapshot_on_a_quiet_log(tmp_path, make_logs, shape):
    from handmade import SeedLog
    path = tmp_path / "log.vrrl"
    if shape.startswith("seed"):
        seed = SeedLog(path, 8)
        for n in range(13 if shape.startswith("seed_wrapped") else 5):
            seed.append(n, n, 0, 1, (0, 0, 0, 0), 0)
    else:
        counts = {"empty": 0, "partial": 5, "full": 16, "wrapped": 21, "hole": 21, "bad": 21, "implausible": 21}
        make_logs("self", path, 16, counts[shape])
    if shape == "hole":
        with open(path, "r+b") as f:
            f.seek(slot_offset(9))
            f.write(bytes(4))
    if shape == "bad":
        with open(path, "r+b") as f:
            for slot in (9, 2):
                f.seek(slot_offset(slot))
                f.write(b"\x01\x02\x03\x04")
    if shape == "implausible":
        with open(path, "r+b") as f:
            f.seek(24)
            f.write((2**64 - 1).to_bytes(8, "little"))
    if shape != "seed_wrapped_fresh":
        # Written a while ago: the record under a seed's cursor is then the
        # oldest record, not one the seed may be writing (docs/design.md).
        long_ago = time.time() - 3600
        os.utime(path, (long_ago, long_ago))
    for mode, cpp_mode in (("strict", "strict"), ("skip", "skip"), ("stop", "stop")):
        cpp = cpp_snapshot(make_logs.program, path, cpp_mode)
        ours = python_snapshot(path, mode)
        if isinstance(cpp, str):  # strict on a bad slot: both fail, naming the same slot
            assert isinstance(ours, str), ours
            assert cpp.split("slot ")[1].split()[0] == ours.split("slot ")[1].split()[0]
            continue
        if shape == "implausible":  # read as replay reads it, and said so
            assert vrrl.open(path).snapshot().report.implausible_cursor
        assert ours[0] == cpp[0], mode
        if shape == "seed_wrapped_fresh":  # both hold back the record under the cursor
            assert ours[0]["overwritten"] == 1
            assert [t for _, t in cpp[1]] == vrrl.open(path).snapshot(recovery=mode).records["timestamp_ns"].tolist()
            continue
        if ours[1] is not None and ours[0]["records"]:
            assert ours[1] == cpp[1]
        else:
            assert [t for _, t in cpp[1]] == vrrl.open(path).snapshot(recovery=mode).records["timestamp_ns"].tolist()


# --- VRRL v2: the commit word stands for the seed's rules ------------------------

@pytest.fixture
def full_ring_v2(tmp_path, make_logs):
    """v2, capacity 8, cursor 20: slots hold sequences 12..19 (oldest at slot 4)."""
    path = tmp_path / "log.vrrl"
    make_logs("--v2", "self", path, 8, 20)
    return vrrl.open(path)


def v2_slot(index):
    return 4096 + 64 * index


def test_v2_quiescent_snapshot_is_every_record(full_ring_v2):
    snapshot = full_ring_v2.snapshot()
    assert timestamps(snapshot) == list(range(12, 20)) == snapshot.sequence.tolist()
    assert snapshot.skipped == 0 and snapshot.report.clean


def test_v2_records_published_over_during_the_copy_are_skipped(full_ring_v2):
    ScriptedWriter(full_ring_v2, {0: lambda w: [w.append(s, 8) for s in (20, 21)]})
    snapshot = full_ring_v2.snapshot()
    assert timestamps(snapshot) == list(range(14, 20)) and snapshot.skipped == 2
    assert snapshot.report.cursor_after == 22 and snapshot.report.bad_slots == []


def test_v2_a_record_being_overwritten_reads_as_empty(full_ring_v2):
    def start_append(w):
        w.u32(v2_slot(4), 0)
        w.mapping[v2_slot(4) + 4:v2_slot(4) + 36] = b"\xee" * 32
    ScriptedWriter(full_ring_v2, {0: start_append})
    snapshot = full_ring_v2.snapshot()
    assert timestamps(snapshot) == list(range(13, 20)) and snapshot.report.empty_slots == 1


def test_v2_the_cursor_after_the_copy_decides(full_ring_v2):
    ScriptedWriter(full_ring_v2, {0: lambda w: w.cursor(23)})
    snapshot = full_ring_v2.snapshot()
    assert timestamps(snapshot) == list(range(15, 20)) and snapshot.skipped == 3


def test_v2_a_copy_torn_under_the_same_commit_word_is_never_returned(full_ring_v2):
    # Bytes of slot 4 changed during the copy, the commit word and the cursor
    # did not (no vrrl writer does this; the check must catch it anyway), and
    # were back by the time the reader looked again: skipped, not returned.
    original = full_ring_v2.slots[4:5].tobytes()

    def tear(w):
        w.mapping[v2_slot(4) + 20:v2_slot(4) + 40] = b"\x77" * 20

    def restore(w):
        w.mapping[v2_slot(4):v2_slot(4) + 64] = original
    ScriptedWriter(full_ring_v2, {0: tear, 1: restore})
    snapshot = full_ring_v2.snapshot()
    assert timestamps(snapshot) == list(range(13, 20)) and snapshot.skipped == 1
    assert not torn(snapshot.records, magic=None).any()


def test_v2_a_copy_that_stays_wrong_is_a_bad_slot(full_ring_v2):
    ScriptedWriter(full_ring_v2, {0: lambda w: w.u32(v2_slot(4) + 40, 0x77777777)})
    with pytest.raises(vrrl.Error) as caught:
        full_ring_v2.snapshot()
    assert caught.value.kind == "header_mismatch" and caught.value.slot == 4
    snapshot = full_ring_v2.snapshot(recovery="skip")
    assert timestamps(snapshot) == list(range(13, 20)) and snapshot.report.bad_slots == [4]


def test_v2_records_past_the_cursor_are_validated_in_their_own_lap(tmp_path, make_logs):
    # Header as of 10, records up to 13 (a power cut). During the walk a writer
    # moves the cursor to 21: the slots of 10, 11 and 12 are reused by then
    # (sequence s's slot is reused by the append of s + capacity), 13's is not.
    path = tmp_path / "log.vrrl"
    make_logs("--v2", "self", path, 8, 14)
    with open(path, "r+b") as f:
        f.seek(24)
        f.write((10).to_bytes(8, "little"))
    log = vrrl.open(path)
    assert timestamps(log.snapshot()) == list(range(6, 14)) and log.report.beyond_cursor == 4
    # Loads: the snapshot's, the one after the copy (then the writer moves), the later lap's.
    ScriptedWriter(log, {1: lambda w: w.cursor(21)})
    snapshot = log.snapshot()
    assert timestamps(snapshot) == [6, 7, 8, 9, 13]
    assert snapshot.report.beyond_cursor == 1 and snapshot.skipped == 3
