"""Recording directories: merged replay (timestamp, then stream name, then
sequence), per-stream access, and every way a directory can be wrong.

The directories are built by handmade.write_recording exactly as the layout
says (the C++ recording writer does not exist yet), and from segments the C++
library writes (a segment is an ordinary v1 log)."""

import os

import numpy as np
import pytest

import vrrl
from conftest import put_at, put_u64
from handmade import segment_name, write_recording, write_segment


def rec(ts, tenant=0, opcode=1, epoch=0, status=0, failure=0):
    return (ts, 0, tenant, opcode, (ts & 0xFFFFFFFF, 0, 0, 0), epoch, status, failure, 0, 0)


STREAMS = {
    "a": [rec(10), rec(20), rec(20), rec(30)],      # segments 0 (2) and 2 (2)
    "b": [rec(5), rec(20), rec(25)],                # segments 0 (2) and 2 (1, the newest, partial)
    "worker-3": [rec(20)],
}


@pytest.fixture
def recording(tmp_path):
    return write_recording(tmp_path / "run", STREAMS, capacity=2)


def expect_error(kind, *fragments, call):
    with pytest.raises(vrrl.Error) as caught:
        call()
    error = caught.value
    assert error.kind == kind, str(error)
    assert "Fix:" in str(error)
    for fragment in fragments:
        assert fragment in str(error), str(error)
    return error


def test_open_gives_a_recording(recording):
    opened = vrrl.open(recording)
    assert isinstance(opened, vrrl.Recording)
    assert opened.stream_names == ("a", "b", "worker-3")
    assert opened.metadata.layout_version == 1 and opened.metadata.segment_capacity == 2


def test_merged_by_timestamp_then_stream_then_sequence(recording):
    merged = vrrl.open(recording).read()
    names = [merged.stream_names[code] for code in merged.stream]
    got = list(zip(merged.records["timestamp_ns"].tolist(), names, merged.sequence.tolist()))
    assert got == [(5, "b", 0), (10, "a", 0), (20, "a", 1), (20, "a", 2), (20, "b", 1), (20, "worker-3", 0),
                   (25, "b", 2), (30, "a", 3)]
    assert merged.records.dtype == vrrl.RECORD_DTYPE


def test_per_stream_access(recording):
    opened = vrrl.open(recording)
    stream = opened.stream("b")
    records, sequence, dt = stream.read()
    assert records["timestamp_ns"].tolist() == [5, 20, 25] and sequence.tolist() == [0, 1, 2]
    assert dt.tolist() == [0, 15, 5]
    assert [s.first_sequence for s in stream.segments()] == [0, 2]
    assert set(opened.streams) == {"a", "b", "worker-3"}
    with pytest.raises(KeyError):
        opened.stream("nope")


def test_to_pandas_has_stream_and_sequence(recording):
    pandas = pytest.importorskip("pandas")
    df = vrrl.open(recording).to_pandas()
    assert list(df.columns[:3]) == ["stream", "sequence", "timestamp_ns"]
    assert isinstance(df.stream.dtype, pandas.CategoricalDtype)
    assert list(df.stream.cat.categories) == ["a", "b", "worker-3"]
    assert df.sequence.dtype == np.uint64
    assert df.stream.astype(str).tolist() == ["b", "a", "a", "a", "b", "worker-3", "b", "a"]
    # dt_ns is per stream: the step from the previous record of the same stream.
    assert df.dt_ns.tolist() == [0, 0, 10, 0, 15, 0, 5, 10]
    b = vrrl.open(recording).stream("b").to_pandas()
    assert b.sequence.tolist() == [0, 1, 2]


def test_prepared_empty_segment_is_not_a_gap(tmp_path):
    path = write_recording(tmp_path / "run", {"s": [rec(1), rec(2), rec(3)]}, capacity=2, prepared=True)
    assert sorted(os.listdir(path / "s")) == [".writer.lock", segment_name(0), segment_name(2), segment_name(4)]
    opened = vrrl.open(path)
    assert opened.records()["timestamp_ns"].tolist() == [1, 2, 3] and opened.report.clean


def test_retired_oldest_segments(tmp_path):
    path = write_recording(tmp_path / "run", {"s": [rec(7), rec(8), rec(9)]}, capacity=2, first_segment=5)
    merged = vrrl.open(path).read()
    assert merged.sequence.tolist() == [10, 11, 12]
    opened = vrrl.open(path)
    opened.read()
    assert opened.report.first_sequences == {"s": 10} and opened.report.clean


def test_segment_missing_in_the_middle(recording):
    os.remove(recording / "a" / segment_name(0))
    opened = vrrl.open(recording)
    assert opened.stream("a").records()["timestamp_ns"].tolist() == [20, 30]  # a missing *oldest* is retention
    write_recording(recording.parent / "long", {"s": [rec(n) for n in range(10)]}, capacity=2)
    long = recording.parent / "long"
    os.remove(long / "s" / segment_name(4))
    error = expect_error("truncated", "sequences 4..5", "`s`", call=lambda: vrrl.open(long).records())
    assert error.path == str(long / "s")
    opened = vrrl.open(long)
    records = opened.records(recovery="skip")
    assert records["timestamp_ns"].tolist() == [0, 1, 2, 3, 6, 7, 8, 9]
    assert opened.report.lost == 2 and opened.report.gaps == [("s", 4, 6)]


def test_a_partial_segment_before_the_newest_is_a_gap(tmp_path):
    path = tmp_path / "run"
    write_recording(path, {"s": []}, capacity=4)
    write_segment(path / "s" / segment_name(0), 4, 0, [rec(1), rec(2)])      # ended early at 2
    write_segment(path / "s" / segment_name(4), 4, 4, [rec(5)])
    expect_error("truncated", "sequences 2..3", call=lambda: vrrl.open(path).records())
    opened = vrrl.open(path)
    assert opened.records(recovery="skip")["timestamp_ns"].tolist() == [1, 2, 5] and opened.report.lost == 2


def test_foreign_files_in_a_stream_directory(recording):
    (recording / "a" / "notes.txt").write_text("hello")
    os.mkdir(recording / "a" / "00000000000000000004.vrrl")  # a directory with a segment's name
    (recording / "a" / ".hidden").write_text("dotfiles are ignored")
    (recording / "a" / "00000000000000000004.vrrl.creating.123.0").write_bytes(b"being created")
    expect_error("header_mismatch", "not a segment", call=lambda: vrrl.open(recording).records())
    opened = vrrl.open(recording)
    assert len(opened.records(recovery="skip")) == 8
    assert sorted(os.path.basename(p) for p in opened.report.foreign_files) == [
        "00000000000000000004.vrrl", "notes.txt"]


def test_a_bad_stream_directory_name(recording):
    os.mkdir(recording / "bad name")
    (recording / "README").write_text("files beside the streams are left alone")
    expect_error("header_mismatch", "stream names", call=lambda: vrrl.open(recording).records())
    opened = vrrl.open(recording)
    assert len(opened.records(recovery="skip")) == 8 and len(opened.report.foreign_files) == 1


def test_no_metadata(recording):
    os.remove(recording / "vrrl-recording.txt")
    expect_error("not_a_recording", "no vrrl-recording.txt", call=lambda: vrrl.open(recording))


@pytest.mark.parametrize("lines,kind,fragment", [
    (["vrrl-recording 2", "segment-capacity 2"], "header_mismatch", "layout version 2"),
    (["segment-capacity 2"], "not_a_recording", "vrrl-recording N"),
    ([], "not_a_recording", "vrrl-recording N"),
    (["vrrl-recording one"], "not_a_recording", "unsigned integer"),
    (["vrrl-recording 1", "segment-format v3"], "header_mismatch", "format `v3`"),
    (["vrrl-recording 1", "segment-capacity -3"], "not_a_recording", "segment-capacity"),
    (["vrrl-recording 1", "segment-capacity 0"], "zero_capacity", "segment-capacity 0"),
    (["vrrl-recording 1", "segment-capacity 99999999999"], "capacity_overflow", "outside"),
    (["vrrl-recording 1", "retain-bytes 1e6"], "not_a_recording", "retain-bytes"),
])
def test_bad_metadata(tmp_path, lines, kind, fragment):
    path = write_recording(tmp_path / "run", STREAMS, capacity=2, metadata=lines)
    expect_error(kind, fragment, call=lambda: vrrl.open(path))


def test_metadata_comments_and_unknown_keys(tmp_path):
    path = write_recording(tmp_path / "run", STREAMS, capacity=2,
                           metadata=["# a comment first", "", "vrrl-recording 1", "segment-capacity 2",
                                     "written-by some future writer", "# done"])
    opened = vrrl.open(path)
    assert opened.metadata.other == {"written-by": "some future writer"} and len(opened.records()) == 8


def test_metadata_that_is_not_text(tmp_path):
    path = write_recording(tmp_path / "run", STREAMS, capacity=2)
    (path / "vrrl-recording.txt").write_bytes(b"\xff\xfe\x00binary")
    expect_error("not_a_recording", "UTF-8", call=lambda: vrrl.open(path))
    (path / "vrrl-recording.txt").write_bytes(b"vrrl-recording 1\n" + b"#" * 70000)
    expect_error("not_a_recording", "larger than", call=lambda: vrrl.open(path))


def test_segment_capacity_differs_from_metadata(tmp_path):
    path = write_recording(tmp_path / "run", {"s": [rec(1)]}, capacity=2)
    os.remove(path / "s" / segment_name(0))
    write_segment(path / "s" / segment_name(0), 4, 0, [rec(1)])
    expect_error("header_mismatch", "capacity 4", "segment-capacity 2", call=lambda: vrrl.open(path).records())


def test_segment_name_not_a_multiple_of_capacity(tmp_path):
    path = write_recording(tmp_path / "run", {"s": [rec(1), rec(2), rec(3)]}, capacity=2)
    os.rename(path / "s" / segment_name(2), path / "s" / segment_name(3))
    expect_error("header_mismatch", "not a multiple", call=lambda: vrrl.open(path).records())


@pytest.mark.parametrize("cursor", [1, 5, 2**64 - 1])
def test_segment_cursor_outside_its_range(tmp_path, cursor):
    path = write_recording(tmp_path / "run", {"s": [rec(1), rec(2), rec(3)]}, capacity=2)
    put_u64(path / "s" / segment_name(2), 24, cursor)  # segment 2 holds 2..3 at most
    expect_error("header_mismatch", "outside 2..4", call=lambda: vrrl.open(path).records())


def test_truncated_segment(tmp_path):
    path = write_recording(tmp_path / "run", {"s": [rec(1), rec(2), rec(3)]}, capacity=2)
    segment = path / "s" / segment_name(2)
    os.truncate(segment, 100)
    error = expect_error("truncated", call=lambda: vrrl.open(path).records())
    assert error.path == str(segment)


def test_foreign_magic_inside_a_segment(tmp_path):
    path = write_recording(tmp_path / "run", {"s": [rec(1), rec(2), rec(3)]}, capacity=2)
    segment = path / "s" / segment_name(0)
    with open(segment, "r+b") as f:
        f.seek(32 + 64)
        f.write(b"\x01\x02\x03\x04")
    expect_error("header_mismatch", "slot 1", call=lambda: vrrl.open(path).records())
    opened = vrrl.open(path)
    assert opened.records(recovery="skip")["timestamp_ns"].tolist() == [1, 3]
    assert opened.report.bad_slots == [(str(segment), 1)]


def test_empty_recording(tmp_path):
    path = write_recording(tmp_path / "run", {}, capacity=2)
    opened = vrrl.open(path)
    assert len(opened.records()) == 0 and opened.stream_names == ()
    pytest.importorskip("pandas")
    assert len(opened.to_pandas()) == 0


def test_segments_written_by_the_cpp_library(tmp_path, make_logs):
    # A segment is an ordinary v1 log: capacity 8, the first two full (cursor 8, 16).
    path = write_recording(tmp_path / "run", {"cpp": []}, capacity=8)
    os.remove(path / "cpp" / segment_name(0))
    make_logs("self", path / "cpp" / segment_name(0), 8, 8)    # sequences 0..7, cursor 8
    make_logs("self", path / "cpp" / segment_name(8), 8, 16)   # sequences 8..15 after one wrap, cursor 16
    make_logs("self", path / "other-run.vrrl", 8, 3)           # a log file beside the streams: ignored
    merged = vrrl.open(path).read()
    assert merged.sequence.tolist() == list(range(16))
    assert merged.records["timestamp_ns"].tolist() == list(range(8)) + list(range(8, 16))
    # Records below a segment's first sequence (slots the cursor does not cover) are not part of it.
    make_logs("self", path / "cpp" / segment_name(16), 8, 19)  # cursor 19: slots 3..7 hold 11..15
    merged = vrrl.open(path).read()
    assert merged.sequence.tolist() == list(range(19))


# --- VRRL v2 segments (`segment-format v2`) ----------------------------------------

V2_METADATA = ["vrrl-recording 1", "segment-format v2", "segment-capacity 4"]


def cpp_v2_segment(make_logs, path, capacity, first, count, producer):
    """A v2 segment the C++ writer fills: an empty log whose header cursor is
    set to the stream's count `first`, then `count` self-checking records of
    `producer` (index = stream sequence) appended from there."""
    make_logs("--v2", "self", path, capacity, 0)
    put_u64(path, 24, first)
    make_logs("self", path, capacity, count, first, producer)


@pytest.fixture
def v2_recording(tmp_path, make_logs):
    """Streams a (producer 1: sequences 0..9 in segments 0, 4, 8) and b
    (producer 2: 0..6 in segments 0, 4), v2 segments of capacity 4."""
    path = write_recording(tmp_path / "run", {}, capacity=4, metadata=V2_METADATA)
    for name, producer, total in (("a", 1, 10), ("b", 2, 7)):
        os.makedirs(path / name)
        for first in range(0, total, 4):
            cpp_v2_segment(make_logs, path / name / segment_name(first), 4, first, min(4, total - first), producer)
    return path


def self_checking_keys(records):
    packed = records["timestamp_ns"].astype(np.uint64)
    return list(zip((packed >> np.uint64(40)).tolist(), (packed & np.uint64((1 << 40) - 1)).tolist()))


def test_v2_segments_written_by_the_cpp_library(v2_recording):
    opened = vrrl.open(v2_recording)
    assert opened.metadata.segment_format == "v2"
    merged = opened.read()
    names = [merged.stream_names[code] for code in merged.stream]
    assert names == ["a"] * 10 + ["b"] * 7  # producer 1's timestamps are all below producer 2's
    assert merged.sequence.tolist() == list(range(10)) + list(range(7))
    assert self_checking_keys(merged.records) == [(1, n) for n in range(10)] + [(2, n) for n in range(7)]
    assert opened.report.clean and opened.report.records == 17
    segment = vrrl.open(v2_recording / "a" / segment_name(4))
    assert segment.format == "v2" and segment.header.cursor == 8
    pytest.importorskip("pandas")
    df = opened.to_pandas()
    assert list(df.columns[:3]) == ["stream", "sequence", "timestamp_ns"] and len(df) == 17


def test_v2_segment_with_records_past_its_cursor_is_not_a_gap(v2_recording):
    # A power cut kept segment 4's records but its header as of 5 appends: 5..7 lie past the cursor.
    put_u64(v2_recording / "a" / segment_name(4), 24, 5)
    opened = vrrl.open(v2_recording)
    records, sequence, _ = opened.stream("a").read()
    assert sequence.tolist() == list(range(10)) and self_checking_keys(records) == [(1, n) for n in range(10)]
    opened.read()
    assert opened.report.clean and opened.report.lost == 0


def test_v2_stale_and_torn_records_in_a_segment(v2_recording, make_logs):
    # Slot 1 of segment 4 as an older lap left it (sequence 1 where 5 belongs): stepped over.
    segment = v2_recording / "a" / segment_name(4)
    older = v2_recording / "a" / segment_name(0)
    put_at(segment, 4096 + 64, older.read_bytes()[4096 + 64:4096 + 128])
    opened = vrrl.open(v2_recording)
    records, sequence, _ = opened.stream("a").read()
    assert sequence.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    report = vrrl.RecordingReport()
    opened.stream("a").read(report=report)
    assert report.stale_records == 1 and report.clean
    # A changed byte in segment 8: a bad slot.
    torn_segment = v2_recording / "a" / segment_name(8)
    put_at(torn_segment, 4096 + 64 + 30, b"\x99")
    expect_error("header_mismatch", "slot 1", "torn or corrupted", call=lambda: vrrl.open(v2_recording).records())
    opened = vrrl.open(v2_recording)
    assert len(opened.records(recovery="skip")) == 15
    assert opened.report.bad_slots == [(str(torn_segment), 1)]


def test_segment_format_must_match_the_metadata(v2_recording, make_logs):
    os.remove(v2_recording / "b" / segment_name(4))
    make_logs("self", v2_recording / "b" / segment_name(4), 4, 7)  # a v1 segment
    expect_error("header_mismatch", "VRRL v1", "segment-format v2", call=lambda: vrrl.open(v2_recording).records())
    (v2_recording / "vrrl-recording.txt").write_text("vrrl-recording 1\nsegment-capacity 4\n")  # v1 by default
    expect_error("header_mismatch", "VRRL v2", "segment-format v1", call=lambda: vrrl.open(v2_recording).records())
