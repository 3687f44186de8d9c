"""vrrl.Log on logs the C++ library and the seed's byte layout write: header,
every field, replay order, zero copy, empty and foreign slots, dump parity."""

import json
import os
import time
import subprocess

import numpy as np
import pytest

import vrrl
from conftest import put_u32, put_u64, slot_offset
from handmade import SeedLog, record_bytes, write_log
from known_records import MAX32, MAX64, fields_record, torn

FIELDS = ("timestamp_ns", "slot_idx", "tenant_id", "opcode", "args", "epoch",
          "slot_status", "failure_class", "backend_code", "output_digest")


def as_tuples(records):
    return [(int(r["timestamp_ns"]), int(r["slot_idx"]), int(r["tenant_id"]), int(r["opcode"]),
             tuple(int(a) for a in r["args"]), int(r["epoch"]), int(r["slot_status"]),
             int(r["failure_class"]), int(r["backend_code"]), int(r["output_digest"])) for r in records]


def test_dtype_is_the_v1_slot_exactly():
    dtype = vrrl.RECORD_DTYPE
    assert dtype.itemsize == 64
    assert dtype.names == ("magic",) + FIELDS
    offsets = {name: dtype.fields[name][1] for name in dtype.names}
    assert offsets == {"magic": 0, "timestamp_ns": 4, "slot_idx": 12, "tenant_id": 16, "opcode": 20,
                       "args": 24, "epoch": 40, "slot_status": 44, "failure_class": 48,
                       "backend_code": 52, "output_digest": 56}
    for name in dtype.names:
        field = dtype.fields[name][0]
        base = field.base if field.shape else field
        assert base.byteorder in ("<", "=" if np.little_endian else "<"), name
        assert base.kind == "u"
    assert dtype.fields["timestamp_ns"][0] == np.dtype("<u8")
    assert dtype.fields["output_digest"][0] == np.dtype("<u8")
    assert dtype.fields["args"][0].shape == (4,)


def test_header_of_a_cpp_log(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("fields", path, 256, 250)
    log = vrrl.open(path)
    assert isinstance(log, vrrl.Log)
    header = log.header
    assert (header.format, header.version, header.flags, header.capacity, header.cursor) == ("v1", 1, 0, 256, 250)
    assert header.multi_producer is False
    assert header.next_slot == 250 and header.plausible_cursor


def test_every_field_of_a_cpp_log(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("fields", path, 256, 250)
    with vrrl.open(path) as log:
        records = log.records()
        assert records.dtype == vrrl.RECORD_DTYPE
        assert as_tuples(records) == [fields_record(n) for n in range(250)]
        assert (records["magic"] == 0xDEADBEEF).all()
        assert log.report.records == 250 and log.report.empty_slots == 6 and log.report.clean
        # Extremes survive exactly: u64 max in timestamp and digest, u32 max elsewhere.
        extreme = records[99]
        assert int(extreme["timestamp_ns"]) == MAX64 and int(extreme["output_digest"]) == MAX64
        assert int(extreme["failure_class"]) == MAX32


def test_unwrapped_log_is_a_view_of_the_mapping(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 100, 40)
    log = vrrl.open(path)
    records = log.records(live=False)
    assert len(records) == 40
    assert np.shares_memory(records, log._slots)
    assert records.flags.writeable is False  # the mapping is read-only: nobody writes into the log
    column = records["timestamp_ns"]  # a column scan is a strided view, no copy either
    assert np.shares_memory(column, log._slots) and column.tolist() == list(range(40))
    with pytest.raises(ValueError):
        records["epoch"][0] = 7


def test_full_ring_from_slot_zero_is_a_view(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 100, 300)  # cursor 300: the oldest is slot 0
    log = vrrl.open(path)
    records = log.records(live=False)
    assert np.shares_memory(records, log._slots)
    assert records["timestamp_ns"].tolist() == list(range(200, 300))


def test_wrapped_ring_in_replay_order_one_concatenation(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 100, 350)  # slots hold 300..349 (0..49) and 250..299 (50..99)
    log = vrrl.open(path)
    records = log.records(live=False)
    assert records["timestamp_ns"].tolist() == list(range(250, 350))
    assert not torn(records).any()
    assert not np.shares_memory(records, log._slots)  # the concatenation is the one copy


def test_arrays_outlive_close(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 16, 10)
    log = vrrl.open(path)
    records = log.records(live=False)
    log.close()
    assert records["timestamp_ns"].tolist() == list(range(10))  # the view keeps the mapping
    with pytest.raises(vrrl.Error) as error:
        log.records()
    assert "closed" in str(error.value) and "Fix:" in str(error.value)


def test_seed_byte_layout_worked_example(tmp_path):
    # docs/format.md's worked example: capacity 3, five appends -> slots [3, 4, 2],
    # cursor 2 as the seed writes it, replay 2, 3, 4.
    path = tmp_path / "seed.vrrl"
    seed = SeedLog(path, 3)
    for n in range(5):
        seed.append(1_000_000 + n, n, 7, 42, (n, n + 1, n + 2, n + 3), 1)
    raw = path.read_bytes()
    assert raw[:32] == bytes.fromhex("5652524c30303031 01000000 00000000 0300000000000000 0200000000000000")
    assert raw[32:48] == bytes.fromhex("efbeadde 43420f0000000000 03000000")
    log = vrrl.open(path)
    assert log.header.cursor == 2
    records = log.records()
    assert records["slot_idx"].tolist() == [2, 3, 4]
    assert as_tuples(records)[0] == (1_000_002, 2, 7, 42, (2, 3, 4, 5), 1, 0, 0, 0, 0)
    # The seed's "cursor" is a slot index; a snapshot still returns every
    # record once the file has been quiet for a second (just written, the
    # record under the seed's cursor may be one it is writing: design.md).
    assert log.snapshot().records["slot_idx"].tolist() == [3, 4]
    long_ago = time.time() - 3600
    os.utime(path, (long_ago, long_ago))
    assert log.snapshot().records["slot_idx"].tolist() == [2, 3, 4]


def test_seed_log_not_yet_wrapped(tmp_path):
    path = tmp_path / "seed.vrrl"
    seed = SeedLog(path, 8)
    for n in range(3):
        seed.append(n, n, 0, 1, (0, 0, 0, 0), 0)
    log = vrrl.open(path)
    assert log.records()["slot_idx"].tolist() == [0, 1, 2]
    assert log.report.empty_slots == 5


def test_multi_producer_flag(tmp_path, make_logs):
    path = tmp_path / "shared.vrrl"
    make_logs("shared", path, 512, 4, 100)
    out = subprocess.run([make_logs.program, "flags", str(path)], check=True, capture_output=True, text=True)
    cpp_flags, cpp_appended = map(int, out.stdout.split())
    log = vrrl.open(path)
    assert log.header.flags == cpp_flags and log.header.cursor == cpp_appended == 400
    assert log.header.multi_producer is True and cpp_flags & 1  # SharedRingLog sets flags bit 0
    records = log.records()
    assert len(records) == 400 and not torn(records).any()
    for producer in range(1, 5):  # each producer's records in its own order
        mine = records[records["tenant_id"] == producer]
        assert mine["epoch"].tolist() == list(range(100))
    log.close()
    put_u32(path, 12, 0xFFFFFFFE)  # other bits: ignored on read
    assert vrrl.open(path).header.multi_producer is False
    put_u32(path, 12, 1)
    assert vrrl.open(path).header.multi_producer is True


def test_empty_slot_in_the_middle_is_left_out(tmp_path, make_logs):
    # A writer killed between its cursor and magic stores leaves magic 0.
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 10, 25)  # slots 5..9 hold 15..19, 0..4 hold 20..24
    put_u32(path, slot_offset(7), 0)
    log = vrrl.open(path)
    records = log.records(live=False)
    assert records["timestamp_ns"].tolist() == [15, 16, 18, 19, 20, 21, 22, 23, 24]
    assert log.report.empty_slots == 1 and log.report.records == 9


def test_foreign_magic_strict_skip_stop(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 10, 25)
    put_u32(path, slot_offset(7), 0x12345678)
    put_u32(path, slot_offset(2), 0xCAFEF00D)
    log = vrrl.open(path)
    for live in (False, True):
        with pytest.raises(vrrl.Error) as error:
            log.records(live=live)
        e = error.value
        assert e.kind == "header_mismatch" and e.slot == 7  # the first in replay order
        assert "slot 7" in str(e) and "0x12345678" in str(e) and "Fix:" in str(e) and str(path) in str(e)
        skipped = log.records(live=live, recovery="skip")
        assert skipped["timestamp_ns"].tolist() == [15, 16, 18, 19, 20, 21, 23, 24]
        assert log.report.bad_slots == [7, 2]
        stopped = log.records(live=live, recovery="stop")
        assert stopped["timestamp_ns"].tolist() == [15, 16]
        assert log.report.stopped_early and log.report.bad_slots == [7]
    with pytest.raises(ValueError):
        log.records(recovery="lenient")


def test_cursor_past_capacity_is_a_running_count(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 5, 13)  # cursor 13, slots hold 8..12
    for cursor in (13, 13 + 5 * 5, 13 + 1_000_000 * 5):
        put_u64(path, 24, cursor)
        log = vrrl.open(path)
        assert log.records(live=False)["timestamp_ns"].tolist() == [8, 9, 10, 11, 12]
        assert log.snapshot().records["timestamp_ns"].tolist() == [8, 9, 10, 11, 12]


def test_implausible_cursor(tmp_path, make_logs, vrrl_cli):
    # A cursor >= 2^61 is damage. A plain read replays like the C++ replay
    # (cursor % capacity), and so does a snapshot (as C++ read_snapshot), which says so.
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 5, 13)
    put_u64(path, 24, MAX64)
    log = vrrl.open(path)
    assert not log.header.plausible_cursor
    dumped = [json.loads(line)["timestamp_ns"] for line in
              subprocess.run([vrrl_cli, "dump", str(path)], capture_output=True, text=True, check=True).stdout.split()]
    assert log.records(live=False)["timestamp_ns"].tolist() == dumped
    snapshot = log.snapshot()
    assert snapshot.records["timestamp_ns"].tolist() == dumped and snapshot.report.implausible_cursor


def dump_jsonl(vrrl_cli, path, expect_exit=0):
    done = subprocess.run([vrrl_cli, "dump", "--format", "jsonl", str(path)], capture_output=True, text=True)
    assert done.returncode == expect_exit, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def dump_tuple(entry):
    failure = entry.get("failure", {"slot_status": 0, "failure_class": "none", "backend_code": 0,
                                    "output_digest": 0})
    return (entry["timestamp_ns"], entry["slot_idx"], entry["tenant_id"], entry["opcode"], tuple(entry["args"]),
            entry["epoch"], failure["slot_status"], failure["failure_class"], failure["backend_code"],
            failure["output_digest"])


@pytest.mark.parametrize("capacity,count", [(256, 250), (64, 250), (1, 3)])
def test_records_equal_vrrl_dump(tmp_path, make_logs, vrrl_cli, capacity, count):
    path = tmp_path / "log.vrrl"
    make_logs("fields", path, capacity, count)
    records = vrrl.open(path).records()
    names = vrrl.FAILURE_CLASSES
    ours = [t[:7] + (names[min(t[7], 4)],) + t[8:] for t in as_tuples(records)]
    assert ours == [dump_tuple(entry) for entry in dump_jsonl(vrrl_cli, path)]
    assert len(ours) == min(capacity, count)


def test_records_equal_vrrl_dump_with_holes_and_bad_slots(tmp_path, make_logs, vrrl_cli):
    path = tmp_path / "log.vrrl"
    make_logs("fields", path, 64, 150)
    put_u32(path, slot_offset(3), 0)
    put_u32(path, slot_offset(40), 0xBADBAD00)
    log = vrrl.open(path)
    records = log.records(recovery="skip")  # dump steps over bad slots too
    assert [t[0] for t in as_tuples(records)] == [e["timestamp_ns"] for e in dump_jsonl(vrrl_cli, path, 1)]
    assert log.report.bad_slots == [40]


def test_a_large_file_is_fine(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 8, 3)
    with open(path, "ab") as f:
        f.write(b"\xff" * 1000)  # bytes past the last slot are not part of the log
    assert vrrl.open(path).records()["timestamp_ns"].tolist() == [0, 1, 2]


def test_handmade_log_round_trip(tmp_path):
    path = tmp_path / "log.vrrl"
    write_log(path, 4, 6, [record_bytes(4, 4), record_bytes(5, 5), record_bytes(2, 2), record_bytes(3, 3)])
    assert vrrl.open(path).records()["slot_idx"].tolist() == [2, 3, 4, 5]
