"""A VRRL log file (v1 or v2): open and validate it, map it, read its records.

Opening follows lib/log_file.cpp and check_header (lib/header.cpp) step by
step (open without blocking, fstat, size, header, magic, version, capacity,
size against capacity, by the layout the magic names) so every bad file
gives the same vrrl.Error kind as the C++ library, and nothing is mapped
until the file is known to be long enough: a short file never SIGBUSes the
interpreter.

Two ways to read the records, both in replay order (oldest first) with empty
slots left out:

* a *view* (``records(live=False)``): numpy arrays that point into the
  mapping. Nothing is copied when the valid records form one run of slots
  (always, for a log that has not wrapped); a wrapped ring costs one
  concatenation; a ring with holes one gather. Only for a log no writer is
  appending to: a view shows whatever the bytes are now.
* a *snapshot* (``snapshot()``, ``records(live=True)``): a copy validated the
  way the C++ Follower and read_snapshot validate (docs/design.md, "Live
  readers"), so a record a writer was writing or overwriting during the copy
  is dropped and counted in ``report.skipped``, never returned.

The default, ``live=None``, takes a snapshot when a writer holds the log's lock
and a view otherwise.

VRRL v2 (docs/format.md, "VRRL v2"): the same dtype, its ``magic`` field
holding the commit word. A record counts when its commit word checks for the
sequence its slot holds in the header's window; records that check for a
later lap (past the cursor: written after the header page reached the disk)
come after the others, ordered by sequence, as C++ replay yields them;
records of an older lap (stale) are stepped over and counted; a commit word
that checks for no nearby sequence (torn or corrupted) is a bad slot. The
check is vrrl.commit, vectorised.
"""

import fcntl
import mmap
import os
import stat
import struct
import time
from dataclasses import dataclass, field

import numpy as np

from . import commit as v2
from . import format as fmt
from .errors import Error, io_error

RECOVERY_MODES = ("strict", "skip", "stop")

# Slots copied between two cursor checks of a snapshot (1 MiB): small enough
# that a writer rarely laps a chunk, large enough that the checks cost nothing.
_SNAPSHOT_CHUNK = 16384
# The least time the seed takes per append (four system calls). A copy that
# took less than capacity times this cannot have been lapped by it. Higher
# than C++'s 100 ns because Python's steps between two loads take microseconds;
# too high would only let a fast seed lap go unnoticed, too low makes small
# rings retry.
_SEED_APPEND_FLOOR_NS = 400
# How long a record a seed may be writing must stay unchanged to count as not
# being written (its write(2) takes well under a microsecond, when it is not
# preempted), and, for the record under the seed's cursor, how long the file
# must not have been modified (a write(2) updates the mtime before it copies):
# as in C++ (lib/follower.cpp), a seed preempted inside its write(2) leaves a
# half-written record there that two copies cannot tell from a whole one.
_SEED_STABLE_WAIT_S = 1e-3
_SEED_QUIET_NS = 1_000_000_000

_REGENERATE = "regenerate the log; VRRL format may have changed"
# Slots classified per step when a v2 read may end at the first bad one
# (strict, stop): a log full of garbage costs one step, not 128 laps of it all.
_CLASSIFY_STEP = 1024
# The bytes open() reads: the v1 header and v2's `synced` after it.
_HEADER_READ_BYTES = fmt.SYNCED_OFFSET + 8


@dataclass(frozen=True)
class Header:
    """The header, decoded (docs/format.md, "Header"; v2: "Header page")."""

    format: str        # "v1" or "v2"
    version: int       # 1 or 2
    flags: int
    capacity: int
    cursor: int        # vrrl: appends over the file's life; the seed: the next slot
    synced: int = 0    # v2: the count the last completed sync() made durable; v1: 0

    @property
    def multi_producer(self):
        """Flags bit 0: written by SharedRingLog; records are in claim order and
        timestamps may step backwards between threads."""
        return bool(self.flags & fmt.FLAG_MULTI_PRODUCER)

    @property
    def next_slot(self):
        return self.cursor % self.capacity

    @property
    def plausible_cursor(self):
        """False for a cursor at or above 2^61, which only damage produces."""
        return self.cursor < fmt.MAX_CURSOR


@dataclass
class ReadReport:
    """What the last read met besides records (like the C++ ReplayReport)."""

    records: int = 0          # records returned
    empty_slots: int = 0      # slots with magic (v2: commit word) 0 stepped over
    bad_slots: list = field(default_factory=list)  # v1: a foreign magic; v2: torn or corrupted; replay order
    stopped_early: bool = False  # recovery="stop" ended the read at a bad slot
    live: bool = False        # a validated snapshot (True) or a view of the mapping (False)
    skipped: int = 0          # snapshot only: records being written or overwritten during the copy
    cursor: int = 0           # the cursor the read started from
    cursor_after: int = 0     # snapshot only: the cursor loaded after the copy
    implausible_cursor: bool = False  # snapshot only: cursor >= 2^61 (damage), read as replay reads it
    stale_records: int = 0    # v2: whole records of an older lap, stepped over
    beyond_cursor: int = 0    # v2: records past the header cursor (returned last, in sequence order); a
                              # view counts those it found, a snapshot those it returned (as in C++)

    @property
    def clean(self):
        return not self.bad_slots and self.skipped == 0


class Replay:
    """The records of one read with the sequence of each (see ``Log.read``)."""

    def __init__(self, records, sequence, report):
        self.records = records    # vrrl.RECORD_DTYPE, replay order
        self.sequence = sequence  # uint64: the append number of each record (v2: checked by its
                                  # commit word; v1: implied by the cursor, as C++ replay's sequence())
        self.report = report

    def to_pandas(self, sequence=False, **options):
        """The records as a DataFrame; ``sequence=True`` puts a uint64 sequence column first."""
        from .frame import records_to_frame
        if sequence:
            options["leading"] = {"sequence": self.sequence, **options.get("leading", {})}
        return records_to_frame(self.records, **options)

    def __len__(self):
        return len(self.records)


class Snapshot(Replay):
    """A validated copy of a log's records (see ``Log.snapshot``)."""

    @property
    def skipped(self):
        return self.report.skipped


def _describe_file_type(mode):
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _check_recovery(recovery):
    if recovery not in RECOVERY_MODES:
        raise ValueError(f"recovery must be one of {', '.join(RECOVERY_MODES)}, got {recovery!r}")


# F_OFD_GETLK (Linux 3.15); Python's fcntl module names it from 3.9 on.
_F_OFD_GETLK = getattr(fcntl, "F_OFD_GETLK", 36)
_FLOCK = struct.Struct("hhqqixxxx")  # struct flock: l_type, l_whence, l_start, l_len, l_pid


def _writer_holds_lock(fd):
    """Does a vrrl writer hold the log? The C++ is_locked_by_writer's probe.

    Writers hold an OFD write lock on the whole file; F_OFD_GETLK asks whether
    a read lock would conflict with it, without taking any lock (a writer
    starting at that moment is never refused). Raises OSError where the
    filesystem has no OFD locks."""
    request = _FLOCK.pack(fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)  # l_pid must be 0 for OFD locks
    answer = fcntl.fcntl(fd, _F_OFD_GETLK, request)
    return _FLOCK.unpack(answer)[0] != fcntl.F_UNLCK


class Log:
    """A VRRL log file (v1 or v2) opened for reading. Never writes, never locks.

    Arrays returned by ``records()`` may point into the mapping; they keep it
    alive on their own, so they stay valid after ``close()``.
    """

    def __init__(self, path, segment_reader=False):
        """segment_reader: the log is a recording's segment; hold the readers'
        mark on it (an OFD read lock on byte 1) while open, so that the
        recording's retention does not recycle it in place (it deletes it
        instead, which leaves this mapping valid). Raises vrrl.Error (io,
        EAGAIN) when the segment is being recycled right now."""
        self.path = os.fspath(path)
        self._fd = -1
        self._map = None
        self.report = ReadReport()
        fd = self._open_fd()
        try:
            if segment_reader:
                _mark_as_read(fd, self.path)
            self._header_at_open = self._validate(fd)
            self.capacity = self._header_at_open.capacity
            needed = self.layout.file_bytes(self.capacity)
            try:
                self._map = mmap.mmap(fd, needed, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
            except OSError as e:
                raise io_error("map", self.path, "mmap", e) from None
            except ValueError:  # the file shrank between fstat and mmap
                raise self._shrunk_error("map", os.fstat(fd).st_size) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        # Read-only views (the mapping is PROT_READ): callers cannot write into the log.
        self._slots = np.frombuffer(self._map, dtype=fmt.RECORD_DTYPE, count=self.capacity,
                                    offset=self.layout.header_bytes)
        # The same bytes as eight little-endian words per record, for v2's commit words.
        self._words = np.frombuffer(self._map, dtype="<u8", count=8 * self.capacity,
                                    offset=self.layout.header_bytes).reshape(self.capacity, 8)
        self._cursor_word = np.frombuffer(self._map, dtype="<u8", count=1, offset=24)
        self._flags_word = np.frombuffer(self._map, dtype="<u4", count=1, offset=12)
        self._synced_word = np.frombuffer(self._map, dtype="<u8", count=1, offset=fmt.SYNCED_OFFSET) \
            if self.v2 else None

    @property
    def format(self):
        """"v1" or "v2": what the file is (its magic and version)."""
        return self.layout.format

    @property
    def v2(self):
        return self.layout is fmt.LAYOUT_V2

    # --- opening -----------------------------------------------------------

    def _open_fd(self):
        # O_NONBLOCK: opening a fifo must not hang; it is rejected after fstat.
        flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
        try:
            return os.open(self.path, flags)
        except OSError as e:
            raise io_error("open", self.path, "open for reading", e) from None

    def _problem(self, kind, what, fix, operation="open"):
        return Error(kind, operation, self.path, what, fix)

    def _validate(self, fd):
        try:
            status = os.fstat(fd)
        except OSError as e:
            raise io_error("open", self.path, "fstat", e) from None
        if not stat.S_ISREG(status.st_mode):
            fix = "pass the path of a VRRL log file"
            if stat.S_ISDIR(status.st_mode):
                fix += " (vrrl.open() reads a recording directory)"
            raise self._problem("not_a_log_file", "the path is " + _describe_file_type(status.st_mode), fix)
        size = status.st_size
        if size < fmt.HEADER_BYTES:
            raise self._problem(
                "truncated",
                f"the file is {size} bytes, shorter than the 32-byte VRRL header",
                "this is not a complete VRRL log; delete it or restore it from a complete copy")
        try:
            raw = os.pread(fd, _HEADER_READ_BYTES, 0)
        except OSError as e:
            raise io_error("open", self.path, "pread of the header", e) from None
        if len(raw) < fmt.HEADER_BYTES:
            raise self._problem("truncated", "the file ended inside its 32-byte header",
                                "the file is not a complete VRRL log; regenerate it")
        header = decode_header(raw)
        layout = fmt.LAYOUTS.get(raw[:8])
        if layout is None:
            raise self._problem("header_mismatch",
                                "header mismatch: the file does not start with VRRL0001 or VRRL0002", _REGENERATE)
        if header.version != layout.version:
            raise self._problem(
                "header_mismatch",
                f"header mismatch: magic {layout.magic.decode()} with format version {header.version}; "
                f"that magic goes with version {layout.version}",
                _REGENERATE)
        self.layout = layout
        check_capacity(header.capacity, self.path)
        needed = layout.file_bytes(header.capacity)
        if size < needed:
            raise self._problem(
                "truncated",
                f"the file is {size} bytes but its header promises {header.capacity} slots, "
                f"which need {needed} bytes",
                "the log was truncated or copied partially; restore it from a complete copy "
                "(`vrrl verify` lists what is readable)")
        return header

    def _shrunk_error(self, operation, size):
        needed = self.layout.file_bytes(self.capacity)
        return Error(
            "truncated", operation, self.path,
            f"the file shrank to {size} bytes while open; its {self.capacity} slots need {needed} bytes",
            "another process truncated the log; restore it from a complete copy and open it again")

    def _check_not_shrunk(self, operation):
        # A size check before every walk, not a SIGBUS guard: a shrink between
        # this fstat and the walk can still fault, as in the C++ library.
        self._require_open(operation)
        try:
            size = os.fstat(self._fd).st_size
        except OSError as e:
            raise io_error(operation, self.path, "fstat", e) from None
        if size < self.layout.file_bytes(self.capacity):
            raise self._shrunk_error(operation, size)

    def _require_open(self, operation):
        if self._map is None:
            raise Error("io", operation, self.path, "the log is closed", "open it again with vrrl.open()")

    # --- the header ----------------------------------------------------------

    @property
    def header(self):
        """The header as it is now (the cursor moves while a writer appends)."""
        self._require_open("header")
        return Header(format=self.layout.format, version=self.layout.version, flags=int(self._flags_word[0]),
                      capacity=self.capacity, cursor=self._load_cursor(), synced=self._load_synced())

    def _load_cursor(self):
        # One aligned 8-byte load (offset 24 of a page-aligned mapping).
        return int(self._cursor_word[0])

    def _load_synced(self):
        return int(self._synced_word[0]) if self._synced_word is not None else 0

    @property
    def slots(self):
        """Every slot in file order (slot 0 first), empty ones included: a
        read-only view of the mapping, no validation, nothing copied."""
        self._require_open("slots")
        return self._slots

    def is_locked_by_writer(self):
        """True while a vrrl writer (RingLog, SharedRingLog) has the log open."""
        self._require_open("lock probe")
        try:
            return _writer_holds_lock(self._fd)
        except OSError as e:
            raise io_error("lock probe", self.path, "fcntl(F_OFD_GETLK)", e) from None

    def _maybe_written(self):
        """For live=None: a writer holds the log, or we cannot tell (then the
        validated snapshot is the safe choice)."""
        try:
            return _writer_holds_lock(self._fd)
        except OSError:
            return True

    # --- reading -------------------------------------------------------------

    def records(self, live=None, recovery="strict"):
        """The records in replay order (oldest first), empty slots left out.

        A numpy structured array of dtype ``vrrl.RECORD_DTYPE`` (the 64-byte
        slot, field names as in docs/format.md; in a v2 log ``magic`` holds
        the commit word). ``live``: None (default) takes a validated snapshot
        if a writer holds the log and a zero-copy view otherwise; True always
        snapshots; False always views. ``recovery`` for a bad slot (v1: a
        magic neither 0 nor 0xDEADBEEF; v2: a torn or corrupted record):
        "strict" raises vrrl.Error (header_mismatch, naming the slot), "skip"
        steps over it, "stop" ends the records there; ``self.report`` says
        what was met.
        """
        records, _ = self._read(live, recovery)
        return records

    def read(self, live=None, recovery="strict"):
        """As records(), with the sequence (append number) of each record: a Replay
        with ``.records``, ``.sequence`` (uint64) and ``.report``."""
        records, sequence = self._read(live, recovery)
        return (Snapshot if self.report.live else Replay)(records, sequence, self.report)

    def snapshot(self, recovery="strict"):
        """A validated copy of every record in the ring, safe while a writer appends."""
        records, sequence = self._read(True, recovery)
        return Snapshot(records, sequence, self.report)

    def to_pandas(self, live=None, recovery="strict", sequence=False, **options):
        """The records as a pandas DataFrame (see vrrl.frame.records_to_frame);
        ``sequence=True`` puts a uint64 ``sequence`` column first."""
        return self.read(live=live, recovery=recovery).to_pandas(sequence=sequence, **options)

    def slot_states(self):
        """v2 only: what every slot holds, in file order, by the one rule of
        include/vrrl/slot_state.hpp (what `vrrl verify` reports): (state,
        sequence), state an int8 array indexing ``vrrl.SLOT_STATES`` ("empty",
        "record", "beyond_cursor", "stale", "torn", "corrupted"), sequence the
        record's (uint64; 0 for empty, torn and corrupted). A view of the
        bytes as they are now: for a log no writer is appending to."""
        self._check_not_shrunk("slot states")
        if not self.v2:
            raise Error("header_mismatch", "slot states", self.path,
                        "slot states are a VRRL v2 notion; this is a v1 log, whose slots are records (magic "
                        "0xDEADBEEF), empty (0) or damaged",
                        "read the magics from log.slots[\"magic\"], or create the log as v2")
        cursor, synced = self._load_cursor(), self._load_synced()
        return v2.slot_states(self._words, np.arange(self.capacity), cursor, self.capacity, synced)

    def _read(self, live, recovery):
        """(records, sequences): the records in replay order and the sequence
        of each (uint64; v1: position i of a ring whose cursor is the running
        count c holds sequence c - capacity + i, modulo 2^64)."""
        _check_recovery(recovery)
        if live is None:
            self._require_open("replay")
            live = self._maybe_written()
        if self.v2:
            return self._read_snapshot_v2(recovery) if live else self._read_view_v2(recovery)
        records, positions = self._read_snapshot(recovery) if live else self._read_view(recovery)
        return records, _sequences_of(positions, self.report.cursor, self.capacity)

    def _raise_bad_slot(self, slot, magic, operation):
        if self.v2:
            what = (f"slot {slot} has commit word 0x{magic:08X}, which checks the record for no sequence near "
                    "its place (a torn or corrupted VRRL v2 record)")
        else:
            what = f"header mismatch: slot {slot} has record magic 0x{magic:08X} (expected 0xDEADBEEF or 0)"
        raise Error(
            "header_mismatch", operation, self.path, what,
            _REGENERATE + ' (or read with recovery="skip" / `vrrl verify` to see what is readable)',
            slot=slot)

    def _read_view(self, recovery):
        self._check_not_shrunk("replay")
        cursor = self._load_cursor()
        capacity = self.capacity
        start = cursor % capacity
        # One load of each magic: every decision below sees the same value.
        magic = self._slots["magic"].copy()
        valid = magic == fmt.RECORD_MAGIC
        empty = magic == fmt.EMPTY_RECORD_MAGIC
        report = ReadReport(live=False, cursor=cursor, cursor_after=cursor)

        valid_slots = np.flatnonzero(valid)
        split = int(np.searchsorted(valid_slots, start))
        newer, older = valid_slots[split:], valid_slots[:split]  # replay visits newer first
        bad_count = capacity - len(valid_slots) - int(np.count_nonzero(empty))
        if bad_count:
            bad = np.flatnonzero(~(valid | empty))
            bad_in_order = np.concatenate((bad[bad >= start], bad[bad < start]))
            if recovery == "strict":
                first = int(bad_in_order[0])
                self._raise_bad_slot(first, int(magic[first]), "replay")
            if recovery == "stop":
                first = int(bad_in_order[0])
                if first >= start:
                    newer, older = newer[newer < first], older[:0]
                else:
                    older = older[older < first]
                report.bad_slots = [first]
                report.stopped_early = True
                report.empty_slots = self._empty_before(empty, start, first)
            else:
                report.bad_slots = bad_in_order.tolist()
        if not report.stopped_early:
            report.empty_slots = int(np.count_nonzero(empty))

        records = self._gather(newer, older)
        report.records = len(records)
        self.report = report
        positions = np.concatenate((newer - start, older + (capacity - start))).astype(np.int64)
        return records, positions

    def _empty_before(self, empty, start, stop_slot):
        """Empty slots replay passes before it reaches `stop_slot`."""
        if stop_slot >= start:
            return int(np.count_nonzero(empty[start:stop_slot]))
        return int(np.count_nonzero(empty[start:])) + int(np.count_nonzero(empty[:stop_slot]))

    def _gather(self, newer, older):
        """Records at slots `newer` then `older` (each sorted): views where they are runs."""
        runs = []
        for part in (newer, older):
            if len(part) == 0:
                continue
            first, last = int(part[0]), int(part[-1])
            if last - first + 1 != len(part):
                return self._slots[np.concatenate((newer, older))]  # holes: one gather
            runs.append(self._slots[first:last + 1])
        if not runs:
            return self._slots[:0]
        if len(runs) == 1:
            return runs[0]  # zero-copy: a view of the mapping
        return np.concatenate(runs)  # a wrapped ring: one concatenation

    def _read_implausible(self, read_view, recovery):
        """A snapshot of a log whose cursor is >= 2^61: damage no vrrl writer
        has seen (one restarts the count at open), so the file is quiescent.
        Read as replay reads it, from cursor % capacity, copied, and say so
        (as C++ read_snapshot does)."""
        records, positions = read_view(recovery)
        self.report.live = True
        self.report.implausible_cursor = True
        return records.copy(), positions

    def _read_snapshot(self, recovery):
        """Every record in the ring, validated as C++ read_snapshot validates.

        Each slot ends up as exactly one of: a record, empty (magic 0 in the
        copy, including appends that never completed), bad (a foreign magic
        that stayed put), or skipped (the writer replaced it or was writing it
        during the copy: C++ SnapshotReport::overwritten)."""
        self._check_not_shrunk("snapshot")
        capacity = self.capacity
        report = ReadReport(live=True)
        before = self._load_cursor()
        if before >= fmt.MAX_CURSOR:
            return self._read_implausible(self._read_view, recovery)
        report.cursor = report.cursor_after = before
        start = before % capacity
        copy, magic_after, trusted, report.cursor_after = self._copy_validated(before)
        magic = copy["magic"]
        valid = (magic == fmt.RECORD_MAGIC) & (magic_after == fmt.RECORD_MAGIC) & trusted
        empty = magic == fmt.EMPTY_RECORD_MAGIC
        foreign = ~empty & (magic != fmt.RECORD_MAGIC) & (magic_after == magic) & trusted
        bad_positions = np.flatnonzero(foreign)
        considered = capacity
        if len(bad_positions):
            first = int(bad_positions[0])
            slot = (start + first) % capacity
            if recovery == "strict":
                self._raise_bad_slot(slot, int(magic[first]), "snapshot")
            if recovery == "stop":
                considered = first  # the walk ends at the first bad slot
                valid[first:] = False
                report.bad_slots = [slot]
                report.stopped_early = True
            else:
                report.bad_slots = ((start + bad_positions) % capacity).tolist()
        report.empty_slots = int(np.count_nonzero(empty[:considered]))
        report.skipped = int(np.count_nonzero((~valid & ~empty & ~foreign)[:considered]))
        kept = np.flatnonzero(valid)
        records = copy if len(kept) == capacity else copy[kept]
        report.records = len(records)
        self.report = report
        return records, kept

    def _copy_validated(self, before):
        """Copies the ring in replay order, chunk by chunk, as the Follower
        reads one record (docs/design.md, "Live readers"): the chunk's bytes,
        then its magics again, then the cursor. A copy is whole if both magics
        are 0xDEADBEEF and that cursor shows no writer published over its
        slot: position i held sequence before - capacity + i, which the append
        of sequence before + i overwrites. Checking per chunk keeps the
        records copied before a fast writer reached them.

        While the cursor is below capacity the writer may be the seed, which
        keeps the cursor modulo capacity and writes magic and body with one
        write(2), no clear first: then, as in C++, a chunk counts only if the
        copy took less time than the seed needs for a lap, and the slots its
        cursor passed during the copy are dropped (the one under a cursor that
        did not move is kept only if the file has not been modified for a
        second and a second copy a moment later agrees).

        Python has no fences: the order of the loads is program order, which
        x86-64 keeps for loads (each step is a separate numpy call).
        Returns (copy, magics after, trusted mask, last cursor)."""
        capacity = self.capacity
        start = before % capacity
        copy = np.empty(capacity, fmt.RECORD_DTYPE)
        magic_after = np.zeros(capacity, dtype="<u4")
        trusted = np.zeros(capacity, dtype=bool)
        magic = self._slots["magic"]
        cursor = before
        for first in range(0, capacity, _SNAPSHOT_CHUNK):
            end = min(capacity, first + _SNAPSHOT_CHUNK)
            pieces = _ring_pieces(start, capacity, first, end)
            for attempt in range(4):
                # The snapshot's own cursor opens the first chunk: a writer that
                # moved before the copy began is then noticed too.
                chunk_before = before if first == 0 and attempt == 0 else self._load_cursor()
                started = time.perf_counter_ns()
                self._copy_pieces(pieces, first, copy)
                at = first
                for slot_begin, slot_end in pieces:
                    magic_after[at:at + slot_end - slot_begin] = magic[slot_begin:slot_end]
                    at += slot_end - slot_begin
                cursor = self._load_cursor()
                elapsed = time.perf_counter_ns() - started
                seed_possible = chunk_before < capacity or cursor < capacity
                if not seed_possible:
                    stable = None
                    break
                if elapsed < capacity * _SEED_APPEND_FLOOR_NS:
                    stable = None
                    break
                # Too slow to rule out a seed lap by time (a small ring): trust
                # what a second copy a moment later still shows, if the cursor
                # stayed put meanwhile.
                stable = self._unchanged_since(pieces, first, copy, cursor) if chunk_before == cursor else None
                if stable is not None:
                    under_cursor = (cursor % capacity - start) % capacity - first
                    if 0 <= under_cursor < len(stable) and not self._quiet():
                        stable[under_cursor] = False
                    break
            else:
                continue  # the seed kept moving: the chunk stays untrusted
            positions = np.arange(first, end)
            chunk_trusted = positions >= min(max(cursor - before, 0), capacity)
            if stable is not None:
                chunk_trusted &= stable
            elif seed_possible:
                self._drop_seed_slots(chunk_trusted, first, start, chunk_before, cursor, copy)
            trusted[first:end] = chunk_trusted
        return copy, magic_after, trusted, cursor

    def _copy_pieces(self, pieces, at, into):
        for slot_begin, slot_end in pieces:
            into[at:at + slot_end - slot_begin] = self._slots[slot_begin:slot_end]
            at += slot_end - slot_begin

    def _unchanged_since(self, pieces, first, copy, cursor):
        """Per slot of the chunk: are its bytes the same after a short wait,
        with the cursor unchanged throughout? None if the cursor moved."""
        count = sum(end - begin for begin, end in pieces)
        time.sleep(_SEED_STABLE_WAIT_S)
        again = np.empty(count, fmt.RECORD_DTYPE)
        self._copy_pieces(pieces, 0, again)
        if self._load_cursor() != cursor:
            return None
        earlier = copy[first:first + count].view(np.uint8).reshape(count, fmt.RECORD_BYTES)
        later = again.view(np.uint8).reshape(count, fmt.RECORD_BYTES)
        return (earlier == later).all(axis=1)

    def _quiet(self):
        """True when the file has not been modified for _SEED_QUIET_NS."""
        return time.time_ns() - os.fstat(self._fd).st_mtime_ns >= _SEED_QUIET_NS

    def _drop_seed_slots(self, chunk_trusted, first, start, chunk_before, cursor, copy):
        """Distrusts the slots a seed writer's cursor passed while the chunk was copied."""
        capacity = self.capacity
        moved = (cursor - chunk_before) % capacity
        begin = (chunk_before % capacity - start) % capacity  # replay position of the seed's slot
        positions = np.arange(first, first + len(chunk_trusted))
        passed = (positions - begin) % capacity <= moved
        if moved == 0 and passed.any():
            # Under a cursor that did not move: kept if it stays the same a moment later.
            index = int(np.flatnonzero(passed)[0])
            position = first + index
            if copy["magic"][position] == fmt.RECORD_MAGIC and chunk_trusted[index] and self._quiet():
                slot = (start + position) % capacity
                time.sleep(_SEED_STABLE_WAIT_S)
                again = self._slots[slot:slot + 1].tobytes()
                if self._load_cursor() == cursor and again == copy[position:position + 1].tobytes():
                    passed[index] = False
        chunk_trusted &= ~passed

    # --- VRRL v2 -------------------------------------------------------------

    def _window_by_slot(self, cursor):
        """uint64 per slot (file order): the sequence it holds if it lies in the
        header's window [cursor - capacity, cursor), modulo 2^64."""
        capacity = self.capacity
        start = cursor % capacity
        position = np.arange(capacity, dtype=np.uint64)
        position -= np.uint64(start)  # wraps for slots before start ...
        position[:start] += np.uint64(capacity)  # ... which come after the others
        return position + np.uint64((cursor - capacity) % (1 << 64))

    def _classify_in_order(self, words, commit, window, recovery):
        """v2_slot_check's lap search for records (in replay order) that do not
        check for their window sequence: (state, sequence, how many were
        classified). Under strict and stop it stops after the step that met
        the first torn or corrupted record: nothing past it matters."""
        count = len(window)
        state = np.empty(count, dtype=np.int8)
        sequence = np.empty(count, dtype=np.uint64)
        step = count if recovery == "skip" else _CLASSIFY_STEP
        for first in range(0, count, max(step, 1)):
            end = min(count, first + step)
            found, at = v2.search_laps(v2.Prepared(words[first:end]), commit[first:end], window[first:end],
                                       self.capacity)
            state[first:end], sequence[first:end] = found, at
            if recovery != "skip" and (found < 0).any():
                return state[:end], sequence[:end], end
        return state, sequence, count

    def _read_view_v2(self, recovery):
        """C++ ReplayRange over a v2 mapping: the records that check for their
        window sequence in replay order (zero-copy where they form runs),
        then those past the cursor in sequence order."""
        self._check_not_shrunk("replay")
        cursor = self._load_cursor()
        capacity = self.capacity
        start = cursor % capacity
        report = ReadReport(live=False, cursor=cursor, cursor_after=cursor)
        commit = self._slots["magic"].copy()  # one load of each commit word: every decision sees the same value
        window = self._window_by_slot(cursor)
        valid = v2.commit_words(window, self._words) == commit  # never equal for an empty slot
        empty = commit == fmt.EMPTY_RECORD_MAGIC
        others = np.flatnonzero(~(valid | empty))
        others = np.concatenate((others[others >= start], others[others < start]))  # replay order
        state, sequence, classified = self._classify_in_order(
            np.ascontiguousarray(self._words[others]), commit[others], window[others], recovery)
        others = others[:classified]
        bad = others[state < 0]
        limit = capacity  # replay positions the walk covers
        if len(bad):
            first = int(bad[0])
            if recovery == "strict":
                self._raise_bad_slot(first, int(commit[first]), "replay")
            if recovery == "stop":
                limit = (first - start) % capacity
                report.bad_slots, report.stopped_early = [first], True
                keep = (others - start) % capacity < limit
                others, state, sequence = others[keep], state[keep], sequence[keep]
            else:
                report.bad_slots = bad.tolist()
        valid_slots = np.flatnonzero(valid)
        newer, older = valid_slots[valid_slots >= start], valid_slots[valid_slots < start]
        if report.stopped_early:
            first = report.bad_slots[0]
            newer, older = (newer[newer < first], older[:0]) if first >= start else (newer, older[older < first])
            report.empty_slots = self._empty_before(empty, start, first)
        else:
            report.empty_slots = int(np.count_nonzero(empty))
        report.stale_records = int(np.count_nonzero(state == v2.STALE))
        beyond = state == v2.BEYOND_CURSOR
        report.beyond_cursor = int(np.count_nonzero(beyond))
        records = self._gather(newer, older)
        positions = np.concatenate((newer - start, older + (capacity - start)))
        sequences = _sequences_of(positions, cursor, capacity)
        if report.beyond_cursor and not report.stopped_early:
            # C++ replay walks another lap per lap they lie ahead: sequence order.
            order = np.argsort(sequence[beyond], kind="stable")
            records = np.concatenate((records, self._slots[others[beyond][order]]))
            sequences = np.concatenate((sequences, sequence[beyond][order]))
        report.records = len(records)
        self.report = report
        return records, sequences

    def _read_snapshot_v2(self, recovery):
        """C++ read_snapshot on a v2 log: the ring copied chunk by chunk in
        replay order, each chunk's commit words loaded again after the copy,
        then the cursor. Position i (sequence before - capacity + i) counts
        when its copy is not empty, its commit word did not change, checks
        the copy as sequence before - capacity + i, and no append reached the
        slot (cursor <= before + i). The commit word stands for every check
        the v1 Follower needs for the seed: a copy mixing two writes, or of
        another lap, does not check. A copy that fails only the check is
        looked at again (the slot as it is now, its commit word unchanged):
        a record past the cursor (delivered last, after a copy that checks
        for its sequence), stale, or torn/corrupted (bad)."""
        self._check_not_shrunk("snapshot")
        capacity = self.capacity
        report = ReadReport(live=True)
        before = self._load_cursor()
        if before >= fmt.MAX_CURSOR:
            return self._read_implausible(self._read_view_v2, recovery)
        report.cursor = report.cursor_after = before
        start = before % capacity
        copy = np.empty(capacity, fmt.RECORD_DTYPE)
        commit_after = np.empty(capacity, dtype=np.uint32)
        trusted = np.zeros(capacity, dtype=bool)
        magic = self._slots["magic"]
        cursor = before
        for first in range(0, capacity, _SNAPSHOT_CHUNK):
            end = min(capacity, first + _SNAPSHOT_CHUNK)
            pieces = _ring_pieces(start, capacity, first, end)
            self._copy_pieces(pieces, first, copy)
            at = first
            for slot_begin, slot_end in pieces:
                commit_after[at:at + slot_end - slot_begin] = magic[slot_begin:slot_end]
                at += slot_end - slot_begin
            cursor = self._load_cursor()
            # Position i's slot is reused by the append of sequence before + i.
            trusted[first:end] = np.arange(first, end) >= min(max(cursor - before, 0), capacity)
        report.cursor_after = cursor

        commit = copy["magic"]
        base = np.uint64((before - capacity) % (1 << 64))
        window = np.arange(capacity, dtype=np.uint64) + base  # by replay position
        checks = v2.commit_words(window, v2.record_words(copy)) == commit
        stable = commit_after == commit
        valid = checks & stable & trusted
        empty = commit == fmt.EMPTY_RECORD_MAGIC
        skipped = ~(valid | empty) & ~(trusted & stable)  # lapped, or changed during the copy
        # Failed only the check: the slot as it is now, if its commit word is still the same.
        suspect = np.flatnonzero(~(valid | empty | skipped))
        slots = (suspect + start) % capacity
        now = self._slots[slots]
        unchanged = now["magic"] == commit[suspect]
        skipped[suspect[~unchanged]] = True
        suspect, slots, now = suspect[unchanged], slots[unchanged], now[unchanged]
        now_checks = v2.commit_words(window[suspect], v2.record_words(now)) == now["magic"]
        skipped[suspect[now_checks]] = True  # a record of its sequence now: it changed between the reads
        suspect, slots, now = suspect[~now_checks], slots[~now_checks], now[~now_checks]
        state, sequence, classified = self._classify_in_order(
            v2.record_words(now), now["magic"], window[suspect], recovery)
        suspect, slots = suspect[:classified], slots[:classified]

        considered = capacity
        bad = state < 0
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            if recovery == "strict":
                self._raise_bad_slot(int(slots[first]), int(now["magic"][first]), "snapshot")
            if recovery == "stop":
                considered = int(suspect[first])  # the walk ends at the first bad slot
                valid[considered:] = False
                report.bad_slots, report.stopped_early = [int(slots[first])], True
            else:
                report.bad_slots = slots[bad].tolist()
        in_walk = suspect < considered
        report.stale_records = int(np.count_nonzero((state == v2.STALE) & in_walk))
        report.empty_slots = int(np.count_nonzero(empty[:considered]))
        report.skipped = int(np.count_nonzero(skipped[:considered]))
        kept = np.flatnonzero(valid)
        records = copy if len(kept) == capacity else copy[kept]
        sequences = window[kept]
        beyond = (state == v2.BEYOND_CURSOR) & in_walk
        if beyond.any() and not report.stopped_early:
            ahead, ahead_sequence = self._copy_beyond(slots[beyond], sequence[beyond])
            records = np.concatenate((records, ahead))
            sequences = np.concatenate((sequences, ahead_sequence))
            report.beyond_cursor = len(ahead)
            # Overwritten before their lap of the walk (C++ counts them nowhere).
            report.skipped += int(np.count_nonzero(beyond)) - len(ahead)
        report.records = len(records)
        self.report = report
        return records, sequences

    def _copy_beyond(self, slots, sequences):
        """The later laps of a v2 snapshot: records past the cursor at `slots`,
        expected to be `sequences`, copied and validated as any other (the
        slot of sequence s is reused by the append of s + capacity). Returns
        those that check, in sequence order, and their sequences."""
        order = np.argsort(sequences, kind="stable")
        slots, sequences = slots[order], sequences[order]
        copy = self._slots[slots]  # a gather: a copy
        commit_after = self._slots["magic"][slots]
        cursor = self._load_cursor()
        whole = (copy["magic"] == commit_after) & (v2.commit_words(sequences, v2.record_words(copy)) == copy["magic"])
        whole &= sequences + np.uint64(self.capacity) >= np.uint64(cursor)
        return copy[whole], sequences[whole]

    # --- lifetime ------------------------------------------------------------

    def close(self):
        """Closes the file. Arrays from records() keep the mapping until they die."""
        if self._map is not None:
            self._slots = self._words = self._cursor_word = self._flags_word = self._synced_word = None
            try:
                self._map.close()
            except BufferError:
                pass  # views are still exported; the mapping goes with the last of them
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        state = "closed" if self._map is None else f"capacity={self.capacity}"
        return f"<vrrl.Log {self.path!r} {state}>"


def _mark_as_read(fd, path):
    """The readers' mark on a recording segment: an OFD read lock on byte 1
    (lib/writer_lock.cpp: writers hold byte 0; the recycler tries byte 1)."""
    # struct flock on Linux x86-64: short l_type, short l_whence, (pad), off_t
    # l_start, off_t l_len, pid_t l_pid (0 for OFD locks), (pad).
    lock = struct.pack("hh4xqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 1, 1, 0)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, lock)
    except OSError as e:
        raise io_error("open", path, "fcntl(F_OFD_SETLK) of the readers' mark", e) from None


def _ring_pieces(start, capacity, first, end):
    """Slot ranges holding replay positions first..end of a ring read from `start`."""
    begin = (start + first) % capacity
    count = end - first
    if begin + count <= capacity:
        return [(begin, begin + count)]
    return [(begin, capacity), (0, begin + count - capacity)]


def decode_header(raw):
    """Header from the first 32 bytes of a file, and v2's `synced` from the
    next 8 when `raw` has them (no validation)."""
    fields = np.frombuffer(raw[:fmt.HEADER_BYTES], dtype=fmt.HEADER_DTYPE, count=1)[0]
    layout = fmt.LAYOUTS.get(raw[:8])
    synced = 0
    if layout is fmt.LAYOUT_V2 and len(raw) >= fmt.SYNCED_OFFSET + 8:
        synced = int.from_bytes(raw[fmt.SYNCED_OFFSET:fmt.SYNCED_OFFSET + 8], "little")
    return Header(format=layout.format if layout else raw[:8].decode("latin-1"),
                  version=int(fields["version"]), flags=int(fields["flags"]),
                  capacity=int(fields["capacity"]), cursor=int(fields["cursor"]), synced=synced)


def _sequences_of(positions, cursor, capacity):
    """uint64 sequences of v1 replay positions: cursor - capacity + position, modulo 2^64."""
    return positions.astype(np.uint64) + np.uint64((cursor - capacity) % (1 << 64))


def check_capacity(capacity, path):
    """zero_capacity / capacity_overflow, worded as lib/header.cpp's check_header."""
    if capacity == 0:
        raise Error("zero_capacity", "open", path, "header capacity must be > 0",
                    "the header is damaged; restore the log from a good copy")
    if capacity > fmt.MAX_CAPACITY:
        raise Error("capacity_overflow", "open", path,
                    f"header capacity {capacity} exceeds max {fmt.MAX_CAPACITY}",
                    "the header is damaged, or the log was not written by VRRL v1; restore it from a good copy")
