"""to_pandas(): exact integer columns (never float), a datetime64[ns] time,
failure_class as a categorical, int64 timestamp steps; equal to `vrrl dump`."""

import csv
import io
import json
import subprocess

import numpy as np
import pytest

import vrrl
from known_records import MAX64, fields_record

pandas = pytest.importorskip("pandas", reason="pandas is optional for vrrl; Debian: python3-pandas")

UINT32 = ("slot_idx", "tenant_id", "opcode", "arg0", "arg1", "arg2", "arg3", "epoch", "slot_status", "backend_code")


@pytest.fixture
def fields_frame(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("fields", path, 512, 400)
    return path, vrrl.open(path).to_pandas()


def test_columns_and_dtypes(fields_frame):
    _, df = fields_frame
    assert list(df.columns) == ["timestamp_ns", "time", "dt_ns", "slot_idx", "tenant_id", "opcode", "arg0", "arg1",
                                "arg2", "arg3", "epoch", "slot_status", "failure_class", "backend_code",
                                "output_digest", "failed"]
    for name in UINT32:
        assert df[name].dtype == np.uint32, name
    assert df.timestamp_ns.dtype == np.uint64 and df.output_digest.dtype == np.uint64
    assert df.dt_ns.dtype == np.int64
    assert df.time.dtype == "datetime64[ns]"
    assert isinstance(df.failure_class.dtype, pandas.CategoricalDtype)
    assert list(df.failure_class.cat.categories) == list(vrrl.FAILURE_CLASSES)
    assert df.failed.dtype == bool
    assert not any(dtype.kind == "f" for dtype in df.dtypes if hasattr(dtype, "kind"))


def test_values_are_exact(fields_frame):
    _, df = fields_frame
    assert len(df) == 400
    for n in (0, 1, 3, 5, 10, 40, 99, 199, 398, 399):
        expected = fields_record(n)
        row = df.iloc[n]
        assert int(row.timestamp_ns) == expected[0]
        assert (int(row.slot_idx), int(row.tenant_id), int(row.opcode)) == expected[1:4]
        assert tuple(int(row[f"arg{k}"]) for k in range(4)) == expected[4]
        assert int(row.epoch) == expected[5] and int(row.slot_status) == expected[6]
        assert row.failure_class == vrrl.FAILURE_CLASSES[min(expected[7], 4)]
        assert int(row.backend_code) == expected[8] and int(row.output_digest) == expected[9]
        assert bool(row.failed) == (expected[7] != 0 or expected[6] != 0)


def test_time_column(fields_frame):
    _, df = fields_frame
    assert df.time.iloc[1] == pandas.Timestamp(1_700_000_000_000_001_000, unit="ns")
    assert df.time.iloc[0] == pandas.Timestamp(0, unit="ns")
    assert pandas.isna(df.time.iloc[99])  # 2^64 - 1 ns does not fit datetime64[ns]
    assert int(df.timestamp_ns.iloc[99]) == MAX64  # ... the exact value stays in timestamp_ns


def test_failure_class_unknown_numbers_read_as_unclassified(fields_frame):
    _, df = fields_frame
    counts = df.failure_class.value_counts()
    assert set(counts.index) == set(vrrl.FAILURE_CLASSES)
    # Stored numbers 5..7 (and 2^32 - 1 at n % 100 == 99) are unclassified, as in the C++ decoder.
    stored = np.array([fields_record(n)[7] for n in range(400)])
    assert counts["unclassified"] == int(np.count_nonzero(stored >= 4))


def test_dt_ns_is_exact_and_signed(fields_frame):
    _, df = fields_frame
    stamps = [fields_record(n)[0] for n in range(400)]
    expected = [0] + [((b - a + 2**63) % 2**64) - 2**63 for a, b in zip(stamps, stamps[1:])]
    assert df.dt_ns.tolist() == expected
    assert df.dt_ns.iloc[3] == -4000 and df.dt_ns.iloc[4] == 6000  # n % 7 == 3 steps back 5 us
    # The trap dt_ns avoids: Series.diff() on uint64 goes through float64 and
    # turns the backward step into about 1.8e19.
    naive = df.timestamp_ns.diff()
    assert naive.dtype == np.float64 and naive.iloc[3] > 1e19
    assert vrrl.diff_ns(df.timestamp_ns).tolist() == expected
    assert vrrl.diff_ns(np.array([5, 3], dtype=np.uint64)).tolist() == [0, -2]
    with pytest.raises(TypeError):
        vrrl.diff_ns(np.array([1.0, 2.0]))


def test_equal_to_vrrl_dump_csv_and_jsonl(fields_frame, vrrl_cli):
    path, df = fields_frame
    out = subprocess.run([vrrl_cli, "dump", "--format", "csv", str(path)], capture_output=True, text=True,
                         check=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(df)
    columns = [c for c in rows[0] if c != "failure_class"]
    for name in columns:
        assert df[name].tolist() == [int(row[name]) for row in rows], name
    assert df.failure_class.astype(str).tolist() == [row["failure_class"] for row in rows]

    out = subprocess.run([vrrl_cli, "dump", "--format", "jsonl", str(path)], capture_output=True, text=True,
                         check=True).stdout
    entries = [json.loads(line) for line in out.splitlines()]
    assert df.timestamp_ns.tolist() == [e["timestamp_ns"] for e in entries]
    assert df.output_digest.tolist() == [e.get("failure", {}).get("output_digest", 0) for e in entries]
    assert df.failed.tolist() == [
        "failure" in e and (e["failure"]["failure_class"] != "none" or e["failure"]["slot_status"] != 0)
        for e in entries]


def test_wrapped_log_frame_in_replay_order(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 100, 350)
    df = vrrl.open(path).to_pandas()
    assert df.timestamp_ns.tolist() == list(range(250, 350))
    assert (df.dt_ns.iloc[1:] == 1).all()


def test_empty_log_frame_has_the_same_columns(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 8, 0)
    df = vrrl.open(path).to_pandas()
    assert len(df) == 0 and df.timestamp_ns.dtype == np.uint64 and df.time.dtype == "datetime64[ns]"


def test_snapshot_to_pandas(tmp_path, make_logs):
    path = tmp_path / "log.vrrl"
    make_logs("self", path, 16, 20)
    snapshot = vrrl.open(path).snapshot()
    assert snapshot.to_pandas().timestamp_ns.tolist() == list(range(4, 20))


def test_readme_python_example_runs(tmp_path, make_logs, monkeypatch):
    """The README's Python snippet, as written, on a log named as it says."""
    import re
    from conftest import SOURCE_ROOT
    readme = open(f"{SOURCE_ROOT}/README.md").read()
    snippet = re.search(r"## Python\n.*?```python\n(.*?)```", readme, re.S).group(1)
    make_logs("fields", tmp_path / "run.vrrl", 64, 30)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    assert len(scope["records"]) == 30 and len(scope["df"]) == 30
