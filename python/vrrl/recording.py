"""A recording directory: one stream of segments per writer, merged by time.

The layout (fixed in docs/format.md, "Recording layout"; PLAN.md until then):

    RUN/vrrl-recording.txt            "key value" lines, '#' comments; first
                                      line `vrrl-recording 1`
    RUN/<stream>/NNNNNNNNNNNNNNNNNNNN.vrrl
                                      segments: ordinary logs (v1, or v2 when the
                                      metadata says `segment-format v2`) named by
                                      their first stream sequence F (20 digits); a
                                      segment of capacity C has F = k*C and
                                      header cursor in [F, F + C] (the stream's
                                      running count); it never wraps

Reading checks what the layout promises and reports the rest: a segment
missing between two others (or one that ended early) is a gap of lost
sequences; a file in a stream directory that is not a segment is foreign.
With recovery="strict" (the default) both are a vrrl.Error; with "skip" they
are counted in ``report`` and the records around them are returned.
"""

import errno
import os
import re
import stat
from dataclasses import dataclass, field

import numpy as np

from . import format as fmt
from .errors import Error, io_error
from .log import RECOVERY_MODES, Log

METADATA_FILE = "vrrl-recording.txt"
LAYOUT_VERSION = 1
SEGMENT_FORMATS = ("v1", "v2")
_METADATA_LIMIT = 64 * 1024  # a metadata file is a few lines; refuse to slurp anything huge

STREAM_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
SEGMENT_NAME = re.compile(r"([0-9]{20})\.vrrl")
# RingLog creates a segment under a temporary sibling name and links it into place.
CREATING_NAME = re.compile(r"[0-9]{20}\.vrrl\.creating\.[0-9]+\.[0-9]+")

_RECORDING_FIX = "pass a recording directory written by vrrl (or a single log file)"


@dataclass(frozen=True)
class Metadata:
    """vrrl-recording.txt, parsed. Keys this version does not know are kept in `other`."""

    layout_version: int
    segment_format: str = "v1"
    segment_capacity: int = 0    # 0: not stated; each segment's header says
    retain_segments: int = 0     # 0 = unlimited
    retain_bytes: int = 0        # 0 = unlimited
    other: dict = field(default_factory=dict)


@dataclass
class RecordingReport:
    """What the last read of a recording met besides records."""

    records: int = 0
    lost: int = 0                 # sequences missing in gaps between segments
    gaps: list = field(default_factory=list)   # (stream, first missing sequence, end), end exclusive
    foreign_files: list = field(default_factory=list)  # paths that are neither segments nor dotfiles
    bad_slots: list = field(default_factory=list)      # (segment path, slot): a foreign magic (v2: torn or
                                                       # corrupted record)
    stale_records: int = 0        # v2 segments: records of an older lap, stepped over
    skipped: int = 0              # live reads: records being written or overwritten during the copy
    first_sequences: dict = field(default_factory=dict)  # stream -> oldest sequence still present

    @property
    def clean(self):
        return not (self.lost or self.foreign_files or self.bad_slots or self.skipped)


@dataclass(frozen=True)
class Segment:
    first_sequence: int
    path: str


@dataclass
class Merged:
    """A recording's records in merged order, with the stream and sequence of each."""

    records: np.ndarray        # vrrl.RECORD_DTYPE
    stream: np.ndarray         # uint16 codes into stream_names
    sequence: np.ndarray       # uint64: the record's sequence within its stream
    stream_names: tuple
    dt_ns: np.ndarray          # int64: timestamp step from the previous record of the same stream


def _parse_count(value, key, path):
    if not value.isdigit() or len(value) > 20 or int(value) >= 1 << 64:
        raise Error("not_a_recording", "open", path,
                    f"metadata key `{key}` has value `{value}`, expected an unsigned integer",
                    f"correct the `{key}` line of {METADATA_FILE}")
    return int(value)


def read_metadata(directory):
    """Parses RUN/vrrl-recording.txt; every problem is a vrrl.Error."""
    path = os.path.join(directory, METADATA_FILE)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise Error("not_a_recording", "open", directory,
                    f"the path is a directory but not a recording: it has no {METADATA_FILE}",
                    _RECORDING_FIX) from None
    except OSError as e:
        raise io_error("open", path, "open for reading", e) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Error("not_a_recording", "open", path, f"{METADATA_FILE} is not a regular file",
                        _RECORDING_FIX)
        raw = os.read(fd, _METADATA_LIMIT + 1)
    except OSError as e:
        raise io_error("open", path, "read", e) from None
    finally:
        os.close(fd)
    if len(raw) > _METADATA_LIMIT:
        raise Error("not_a_recording", "open", path,
                    f"{METADATA_FILE} is larger than {_METADATA_LIMIT} bytes; a recording's metadata is a few lines",
                    _RECORDING_FIX)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Error("not_a_recording", "open", path, f"{METADATA_FILE} is not UTF-8 text",
                    _RECORDING_FIX) from None

    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        entries.append((key, value.strip()))
    if not entries or entries[0][0] != "vrrl-recording":
        raise Error("not_a_recording", "open", path,
                    f"{METADATA_FILE} does not start with a `vrrl-recording N` line",
                    _RECORDING_FIX)
    version = _parse_count(entries[0][1], "vrrl-recording", path)
    if version != LAYOUT_VERSION:
        raise Error("header_mismatch", "open", path,
                    f"recording layout version {version}, this vrrl reads version {LAYOUT_VERSION}",
                    "read it with the vrrl version that wrote it (or a newer one)")
    values = {}
    for key, value in entries[1:]:
        values[key] = value
    segment_format = values.pop("segment-format", "v1")
    if segment_format not in SEGMENT_FORMATS:
        raise Error("header_mismatch", "open", path,
                    f"segments are in format `{segment_format}`; this reader reads v1 and v2",
                    "read it with the vrrl version that wrote it (or a newer one)")
    numbers = {}
    for key in ("segment-capacity", "retain-segments", "retain-bytes"):
        if key in values:
            numbers[key] = _parse_count(values.pop(key), key, path)
    capacity = numbers.get("segment-capacity", 0)
    if "segment-capacity" in numbers and not 1 <= capacity <= fmt.MAX_CAPACITY:
        raise Error("capacity_overflow" if capacity else "zero_capacity", "open", path,
                    f"segment-capacity {capacity} is outside 1..{fmt.MAX_CAPACITY}",
                    f"correct the segment-capacity line of {METADATA_FILE}")
    return Metadata(layout_version=version, segment_format=segment_format, segment_capacity=capacity,
                    retain_segments=numbers.get("retain-segments", 0),
                    retain_bytes=numbers.get("retain-bytes", 0), other=values)


def _is_directory(path):
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _list(directory, operation="open"):
    try:
        return sorted(os.listdir(directory))
    except OSError as e:
        raise io_error(operation, directory, "listing the directory", e) from None


class Stream:
    """One writer's records: its segments in sequence order."""

    def __init__(self, recording, name):
        self.recording = recording
        self.name = name
        self.path = os.path.join(recording.path, name)

    def segments(self, report=None, recovery="strict"):
        """The stream's segments, oldest first. Foreign entries raise (strict) or
        are listed in `report.foreign_files`; dotfiles and files being created
        are ignored."""
        segments = []
        for entry in _list(self.path, "replay"):
            if entry.startswith(".") or CREATING_NAME.fullmatch(entry):
                continue
            full = os.path.join(self.path, entry)
            match = SEGMENT_NAME.fullmatch(entry)
            if match and not _is_directory(full):
                segments.append(Segment(int(match.group(1)), full))
                continue
            if recovery == "strict":
                what = "a directory" if _is_directory(full) else "a file"
                raise Error(
                    "header_mismatch", "replay", full,
                    f"not a segment ({what}): a stream directory holds only segments named by their "
                    "first sequence (20 digits, `.vrrl`) and dotfiles",
                    "move it out of the recording, or read with recovery=\"skip\"")
            if report is not None:
                report.foreign_files.append(full)
        return segments

    def read(self, live=None, recovery="strict", report=None):
        """(records, sequences, dt_ns) of this stream in sequence order."""
        report = report if report is not None else RecordingReport()
        capacity = self.recording.metadata.segment_capacity
        parts, sequences = [], []
        expected = None  # the sequence the next segment should start at
        segments = self.segments(report, recovery)
        for index, segment in enumerate(segments):
            try:
                log = Log(segment.path, segment_reader=True)
            except Error as e:
                if e.kind == "io" and e.errno in (errno.ENOENT, errno.EAGAIN) and not parts:
                    continue  # retention removed (or is recycling) the oldest segment after we listed it
                raise
            with log:
                records, segment_sequences = log._read(live, recovery)
                # A copy while the readers' mark is held: retention may
                # recycle the segment in place once this log is closed.
                records, segment_sequences = records.copy(), segment_sequences.copy()
                header = log.report.cursor, log.capacity
                self._check_segment(segment, log, header, capacity)
                cursor, segment_capacity = header
                report.skipped += log.report.skipped
                report.stale_records += log.report.stale_records
                report.bad_slots.extend((segment.path, slot) for slot in log.report.bad_slots)
            # A segment holds sequences [F, F + C) only; anything else in it is damage.
            first = np.uint64(segment.first_sequence)
            inside = (segment_sequences >= first) & (segment_sequences - first < np.uint64(segment_capacity))
            if not inside.all():
                records, segment_sequences = records[inside], segment_sequences[inside]
            # v2: records past the header cursor (its page did not reach the disk) end the segment later.
            end = max(cursor, int(segment_sequences.max()) + 1 if len(segment_sequences) else 0)
            if end == segment.first_sequence and index == len(segments) - 1:
                continue  # an empty segment prepared ahead of the writer
            if expected is not None and segment.first_sequence != expected:
                self._gap(report, recovery, expected, segment)
            expected = end
            if self.name not in report.first_sequences:
                report.first_sequences[self.name] = segment.first_sequence
            parts.append(records)
            sequences.append(segment_sequences.astype(np.uint64))
        if not parts:
            empty = np.zeros(0, fmt.RECORD_DTYPE)
            return empty, np.zeros(0, np.uint64), np.zeros(0, np.int64)
        records = parts[0] if len(parts) == 1 else np.concatenate(parts)
        sequence = sequences[0] if len(sequences) == 1 else np.concatenate(sequences)
        from .frame import diff_ns
        return records, sequence, diff_ns(records["timestamp_ns"])

    def _check_segment(self, segment, log, header, capacity):
        cursor, segment_capacity = header
        first = segment.first_sequence
        segment_format = self.recording.metadata.segment_format
        if log.format != segment_format:
            raise Error("header_mismatch", "replay", segment.path,
                        f"the segment is VRRL {log.format}, the recording's metadata says "
                        f"segment-format {segment_format}",
                        "the segment does not belong to this recording; move it out (or correct the "
                        f"segment-format line of {METADATA_FILE})")
        if capacity and segment_capacity != capacity:
            raise Error("header_mismatch", "replay", segment.path,
                        f"the segment has capacity {segment_capacity}, the recording's metadata says "
                        f"segment-capacity {capacity}",
                        "the segment does not belong to this recording; move it out")
        if first % segment_capacity:
            raise Error("header_mismatch", "replay", segment.path,
                        f"the segment's first sequence {first} (its name) is not a multiple of its "
                        f"capacity {segment_capacity}",
                        "the file was renamed or does not belong to this recording; move it out")
        if not first <= cursor <= first + segment_capacity:
            raise Error("header_mismatch", "replay", segment.path,
                        f"the segment's header cursor {cursor} is outside {first}..{first + segment_capacity} "
                        f"(a segment holds sequences from its name's number on and never wraps)",
                        "the segment is damaged or does not belong to this recording; move it out")

    def _gap(self, report, recovery, expected, segment):
        if recovery == "strict":
            raise Error(
                "truncated", "replay", self.path,
                f"sequences {expected}..{segment.first_sequence - 1} of stream `{self.name}` are missing "
                f"(the segment holding them was removed, or the one before "
                f"{os.path.basename(segment.path)} ended early)",
                "restore the missing segment from a copy, or read with recovery=\"skip\" to read around "
                "the gap (report.lost counts the missing sequences)")
        report.gaps.append((self.name, expected, segment.first_sequence))
        report.lost += segment.first_sequence - expected

    def records(self, live=None, recovery="strict"):
        return self.read(live, recovery)[0]

    def to_pandas(self, live=None, recovery="strict"):
        from .frame import records_to_frame
        records, sequence, dt = self.read(live, recovery)
        return records_to_frame(records, dt=dt, leading={"sequence": sequence})

    def __repr__(self):
        return f"<vrrl.Stream {self.name!r} of {self.recording.path!r}>"


class Recording:
    """A recording directory opened for reading (see the module docstring)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.metadata = read_metadata(self.path)
        self.report = RecordingReport()

    @property
    def stream_names(self):
        """Names of the stream directories, sorted (the merge's tie-break order)."""
        return tuple(name for name in _list(self.path)
                     if not name.startswith(".") and _is_directory(os.path.join(self.path, name)))

    @property
    def streams(self):
        return {name: Stream(self, name) for name in self.stream_names}

    def stream(self, name):
        if name not in self.stream_names:
            raise KeyError(f"no stream {name!r} in {self.path} (streams: {', '.join(self.stream_names)})")
        return Stream(self, name)

    def read(self, live=None, recovery="strict"):
        """Every stream's records merged by timestamp_ns, ties by stream name,
        then by sequence (as the C++ RecordingReader)."""
        if recovery not in RECOVERY_MODES:
            raise ValueError(f"recovery must be one of {', '.join(RECOVERY_MODES)}, got {recovery!r}")
        report = RecordingReport()
        names = []
        for name in self.stream_names:
            if not STREAM_NAME.fullmatch(name):
                full = os.path.join(self.path, name)
                if recovery == "strict":
                    raise Error("header_mismatch", "replay", full,
                                "not a stream directory: stream names are 1 to 128 of [A-Za-z0-9._-]",
                                "move it out of the recording, or read with recovery=\"skip\"")
                report.foreign_files.append(full)
                continue
            names.append(name)
        parts = [Stream(self, name).read(live, recovery, report) for name in names]
        codes = [np.full(len(p[0]), k, dtype=np.uint16) for k, p in enumerate(parts)]
        if len(parts) == 1:
            (records, sequence, dt), stream = parts[0], codes[0]
        elif parts:
            records = np.concatenate([p[0] for p in parts])
            sequence = np.concatenate([p[1] for p in parts])
            dt = np.concatenate([p[2] for p in parts])
            stream = np.concatenate(codes)
        else:
            records = np.zeros(0, fmt.RECORD_DTYPE)
            sequence, dt, stream = np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.uint16)
        order = np.lexsort((sequence, stream, records["timestamp_ns"]))
        if not np.array_equal(order, np.arange(len(order))):
            records, sequence, dt, stream = records[order], sequence[order], dt[order], stream[order]
        report.records = len(records)
        self.report = report
        return Merged(records=records, stream=stream, sequence=sequence, stream_names=tuple(names), dt_ns=dt)

    def records(self, live=None, recovery="strict"):
        """The merged records (vrrl.RECORD_DTYPE); read() also gives stream and sequence."""
        return self.read(live, recovery).records

    def to_pandas(self, live=None, recovery="strict"):
        """The merged records as a DataFrame with a categorical `stream` and a
        uint64 `sequence` column first; dt_ns is per stream."""
        from .frame import import_pandas, records_to_frame
        pandas = import_pandas()
        merged = self.read(live, recovery)
        stream = pandas.Categorical.from_codes(merged.stream.astype(np.int32), categories=list(merged.stream_names))
        return records_to_frame(merged.records, dt=merged.dt_ns,
                                leading={"stream": stream, "sequence": merged.sequence})

    def close(self):
        """Nothing to release: segments are opened and closed per read."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<vrrl.Recording {self.path!r} streams={list(self.stream_names)}>"
