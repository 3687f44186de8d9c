"""vrrl: read VRRL v1 and v2 dispatch logs and recordings with numpy and pandas.

    import vrrl
    log = vrrl.open("dispatch.vrrl")        # a log file, or a recording directory
    log.header                              # format ("v1"/"v2"), capacity, cursor, flags, synced
    records = log.records()                 # numpy structured array, oldest first
    replay = log.read()                     # .records, .sequence (uint64), .report
    df = log.to_pandas()                    # exact integer columns, time, failure_class

A log's records are a zero-copy view of the file's mapping when no writer has
it open, and a validated copy (dropping records torn by a concurrent writer;
``log.report.skipped`` counts them) when one does. Every bad file raises
vrrl.Error with a ``kind`` as in the C++ library and a message ending in a Fix.
In a VRRL v2 log the ``magic`` field holds each record's commit word, which
the reader checks (vrrl.commit) before it returns the record.
"""

import os as _os
import stat as _stat

from .errors import KINDS, Error
from .format import FAILURE_CLASSES, RECORD_DTYPE, FLAG_MULTI_PRODUCER
from .frame import diff_ns
from .commit import STATE_NAMES as SLOT_STATES
from .log import Header, Log, ReadReport, Replay, Snapshot
from .recording import Recording, RecordingReport, Stream

__version__ = "0.1.0"

__all__ = [
    "open", "Log", "Recording", "Stream", "Header", "Replay", "Snapshot", "ReadReport", "RecordingReport",
    "Error", "KINDS", "RECORD_DTYPE", "FAILURE_CLASSES", "FLAG_MULTI_PRODUCER", "SLOT_STATES", "diff_ns",
]


def open(path):  # noqa: A001 - the natural name, as in io.open
    """A Log for a file, a Recording for a directory; vrrl.Error otherwise."""
    try:
        mode = _os.stat(path).st_mode
    except OSError:
        return Log(path)  # Log names the failure (missing path, permissions) with its Fix
    if _stat.S_ISDIR(mode):
        return Recording(path)
    return Log(path)
