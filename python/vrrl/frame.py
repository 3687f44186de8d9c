"""Records as a pandas DataFrame, and time differences that stay exact.

pandas is imported only here, and only when a DataFrame is asked for.

Columns (all exact integers, never float):

=================  ===============  ==================================================
column             dtype            meaning
=================  ===============  ==================================================
timestamp_ns       uint64           as recorded
time               datetime64[ns]   timestamp_ns as nanoseconds since the Unix epoch
                                    (NaT for values >= 2^63, which datetime64 cannot hold)
dt_ns              int64            timestamp_ns minus the previous record's (of the same
                                    stream, for recordings); 0 for the first; a backward
                                    step is negative
slot_idx ...       uint32           slot_idx, tenant_id, opcode, arg0..arg3, epoch
slot_status        uint32           failure evidence
failure_class      category         none, device_loss, transient_queue, program_bug,
                                    unclassified (stored numbers above 4 read as unclassified)
backend_code       uint32           failure evidence
output_digest      uint64           failure evidence (evidence, not failure)
failed             bool             failure_class != none or slot_status != 0
=================  ===============  ==================================================

Why ``dt_ns`` exists: ``df.timestamp_ns.diff()`` on a uint64 column returns
float64, which at epoch-nanosecond magnitudes is only exact to 256 ns and
turns a backward step into a huge positive number or a rounding artefact. Use
``dt_ns``, or ``vrrl.diff_ns(column)`` for any other selection of rows.
"""

import numpy as np

from . import format as fmt

_UINT32_COLUMNS = ("slot_idx", "tenant_id", "opcode")
_EVIDENCE_COLUMNS = ("slot_status",)


def import_pandas():
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise ImportError(
            "vrrl: to_pandas() needs pandas. Fix: install it (Debian: apt-get install python3-pandas; "
            "or pip install pandas), or use .records() for numpy arrays") from e
    return pandas


def diff_ns(timestamps):
    """Exact int64 differences of uint64 timestamps: out[k] = t[k] - t[k-1], out[0] = 0.

    Backward steps come out negative (exact while |step| < 2^63), unlike
    ``Series.diff()`` on uint64, which goes through float64."""
    values = np.asarray(getattr(timestamps, "to_numpy", lambda: timestamps)())
    if values.dtype.kind not in "ui":
        raise TypeError(f"diff_ns needs integer timestamps, got dtype {values.dtype}")
    values = values.astype(np.uint64, copy=False)
    out = np.zeros(len(values), dtype=np.int64)
    if len(values) > 1:
        # Modular uint64 subtraction, read as two's complement: exact and signed.
        out[1:] = (values[1:] - values[:-1]).view(np.int64)
    return out


def datetime_ns(timestamps):
    """uint64 nanoseconds since the epoch as datetime64[ns]; NaT where >= 2^63."""
    signed = np.asarray(timestamps).view(np.int64)
    nat = np.iinfo(np.int64).min
    return np.where(signed < 0, nat, signed).view("datetime64[ns]")


def failure_categorical(failure_class):
    pandas = import_pandas()
    codes = np.minimum(np.asarray(failure_class), len(fmt.FAILURE_CLASSES) - 1).astype(np.int8)
    return pandas.Categorical.from_codes(codes, categories=list(fmt.FAILURE_CLASSES))


def failed_mask(records):
    """The issue's definition of failure: a non-none failure class or a non-zero slot_status."""
    return (records["failure_class"] != 0) | (records["slot_status"] != 0)


def record_columns(records, dt=None):
    """The columns of records_to_frame as a dict of numpy arrays / categoricals."""
    columns = {"timestamp_ns": np.ascontiguousarray(records["timestamp_ns"])}
    columns["time"] = datetime_ns(columns["timestamp_ns"])
    columns["dt_ns"] = diff_ns(columns["timestamp_ns"]) if dt is None else dt
    for name in _UINT32_COLUMNS:
        columns[name] = records[name]
    args = records["args"]
    for k in range(4):
        columns[f"arg{k}"] = args[:, k]
    columns["epoch"] = records["epoch"]
    columns["slot_status"] = records["slot_status"]
    columns["failure_class"] = failure_categorical(records["failure_class"])
    columns["backend_code"] = records["backend_code"]
    columns["output_digest"] = records["output_digest"]
    columns["failed"] = failed_mask(records)
    return columns


def records_to_frame(records, dt=None, leading=None):
    """A DataFrame of `records` (an array of vrrl.RECORD_DTYPE), one row each.

    `leading` is an optional dict of columns put first (a recording's stream
    and sequence); `dt` replaces the dt_ns column (a recording's per-stream
    differences)."""
    pandas = import_pandas()
    columns = dict(leading or {})
    columns.update(record_columns(records, dt))
    return pandas.DataFrame(columns, copy=False)
