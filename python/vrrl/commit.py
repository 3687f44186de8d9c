"""VRRL v2's commit word, vectorised, and the classification of a v2 slot.

``commit_words`` is ``wire::commit_word`` (include/vrrl/record.hpp) for whole
arrays of records at once; ``slot_states`` is ``v2_slot_check``
(include/vrrl/slot_state.hpp), the one rule that tells a record of its
window sequence from one past the cursor, a stale one (an older lap) and a
torn or corrupted one. docs/format.md, "VRRL v2", is the contract.

The commit word multiplies 64-bit words into 128-bit products. numpy has no
128-bit integers, so ``_mix`` builds the high half from 32-bit halves: with
a = a1*2^32 + a0 and b = b1*2^32 + b0 the four partial products a0*b0,
a0*b1, a1*b0, a1*b1 each fit in 64 bits, and the middle column (the high
half of a0*b0 and the two cross products) is summed so that its carries
reach a1*b1 without overflowing a 64-bit word. The low half is numpy's own
wrapping uint64 product. Records are processed in chunks that stay in cache.
"""

import numpy as np

#: wire::commit_word's keys k0..k9.
KEYS = (0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3,
        0x1D8E4E27C47D124F, 0x2D358DCCAA6C78A5, 0x8BB84B93962EACC9, 0x4B33A62ED433D4A3,
        0x94D049BB133111EB, 0xBF58476D1CE4E5B9)
_K = tuple(np.uint64(key) for key in KEYS)
_LOW32 = np.uint64(0xFFFF_FFFF)
_HIGH32 = np.uint64(0xFFFF_FFFF_0000_0000)
_SHIFT32 = np.uint64(32)

#: vrrl::v2_laps_checked: laps before and after the window a reader tries.
LAPS_CHECKED = 64

# Records per step: the temporaries of a step (a dozen arrays of this many
# uint64) stay in a core's cache.
_CHUNK = 8192

# v2_slot_check's states (vrrl::SlotState), as stored in the int8 arrays below.
EMPTY, RECORD, BEYOND_CURSOR, STALE, TORN, CORRUPTED = range(6)
STATE_NAMES = ("empty", "record", "beyond_cursor", "stale", "torn", "corrupted")
_UNRESOLVED = -1


def _mix(a, b):
    """low64(a*b) XOR high64(a*b) of uint64 arrays (the full 128-bit product)."""
    a_low = a & _LOW32
    a_high = a >> _SHIFT32
    b_low = b & _LOW32
    b_high = b >> _SHIFT32
    cross = a_high * b_low
    # cross + high32(a0*b0) and cross2 + low32(that) stay below 2^64: each
    # cross product is at most (2^32 - 1)^2 = 2^64 - 2^33 + 1.
    low = a_low * b_low
    low >>= _SHIFT32
    cross += low
    other = a_low
    other *= b_high  # a0*b1, in place of a_low, which is no longer needed
    other += cross & _LOW32
    high = a_high
    high *= b_high  # a1*b1, in place of a_high
    cross >>= _SHIFT32
    high += cross
    other >>= _SHIFT32
    high += other
    high ^= a * b  # numpy's uint64 product wraps: the low half
    return high


class Prepared:
    """The parts of the commit word that depend only on the record words, so
    that checking one record for many sequences (laps) costs three multiplies
    each instead of five."""

    __slots__ = ("first", "second", "third", "fourth", "c_key", "d_key")

    def __init__(self, words):
        """`words`: uint64 array (n, 8), the records as eight little-endian words."""
        if words.shape[0] == 0:
            empty = np.zeros(0, np.uint64)
            self.first = self.second = self.third = self.fourth = self.c_key = self.d_key = empty
            return
        self.first = (words[:, 0] & _HIGH32) ^ _K[0]  # bytes 0..3, the commit word itself, taken as 0
        self.second = words[:, 1] ^ _K[1]
        self.third = words[:, 2] ^ _K[2]
        self.fourth = words[:, 3] ^ _K[3]
        c = _mix(words[:, 4] ^ _K[4], words[:, 5] ^ _K[5])
        d = _mix(words[:, 6] ^ _K[6], words[:, 7] ^ _K[7])
        c ^= _K[8]
        d ^= _K[9]
        self.c_key, self.d_key = c, d

    def take(self, index):
        taken = Prepared.__new__(Prepared)
        for name in Prepared.__slots__:
            setattr(taken, name, getattr(self, name)[index])
        return taken

    def commit(self, sequence):
        """uint32 commit words of these records as sequence(s) `sequence` (uint64)."""
        a = _mix(self.first ^ sequence, self.second)
        b = _mix(self.third, self.fourth ^ (sequence * _K[8]))
        a ^= self.c_key
        b ^= self.d_key
        h = _mix(a, b)
        h ^= h >> _SHIFT32
        word = h.astype(np.uint32)  # low32
        word[word == 0] = 1  # 0 means empty: never a commit word
        return word


def record_words(records):
    """The (n, 8) uint64 words of an array of vrrl.RECORD_DTYPE (a view when it is contiguous)."""
    records = np.ascontiguousarray(records)
    return records.view(np.uint64).reshape(len(records), 8)


def commit_words(sequences, words):
    """wire::commit_word for every record: `words` (n, 8) uint64 (see
    record_words), `sequences` uint64 (n,) or one sequence for all.
    Returns uint32 (n,)."""
    words = np.asarray(words, dtype=np.uint64)
    count = words.shape[0]
    sequences = np.asarray(sequences, dtype=np.uint64)
    if sequences.ndim == 0:
        sequences = np.full(count, sequences, dtype=np.uint64)
    out = np.empty(count, dtype=np.uint32)
    for first in range(0, count, _CHUNK):
        end = min(count, first + _CHUNK)
        out[first:end] = Prepared(words[first:end]).commit(sequences[first:end])
    return out


def window_sequences(slots, cursor, capacity):
    """vrrl::window_sequence: the sequence slot `slots` (array) holds if it lies
    in the header's window [cursor - capacity, cursor), modulo 2^64 (below 0,
    i.e. huge, for a slot this history has not written yet)."""
    slots = np.asarray(slots, dtype=np.int64)
    base = np.uint64((cursor - capacity) % (1 << 64))
    return base + ((slots - cursor % capacity) % capacity).astype(np.uint64)


def search_laps(prepared, commit, window, capacity):
    """v2_slot_check's search for records whose commit word does not check for
    their window sequence: each lap 1..LAPS_CHECKED ahead (past the cursor)
    and then behind (stale, not below sequence 0). Returns (state int8 with
    BEYOND_CURSOR, STALE or -1 for none, sequence uint64)."""
    count = len(window)
    state = np.full(count, _UNRESOLVED, dtype=np.int8)
    sequence = np.zeros(count, dtype=np.uint64)
    open_index = np.arange(count)  # records still unresolved, into the inputs
    commit_open, window_open = commit, window
    for lap in range(1, LAPS_CHECKED + 1):
        if len(open_index) == 0:
            break
        distance = np.uint64(lap * capacity)
        ahead = window_open + distance
        found = prepared.commit(ahead) == commit_open
        behind = window_open - distance
        back = ~found & (behind < window_open)  # not below sequence 0
        candidates = np.flatnonzero(back)
        if len(candidates):
            back[candidates] = prepared.take(candidates).commit(behind[candidates]) == commit_open[candidates]
        if found.any() or back.any():
            state[open_index[found]] = BEYOND_CURSOR
            sequence[open_index[found]] = ahead[found]
            state[open_index[back]] = STALE
            sequence[open_index[back]] = behind[back]
            still = ~(found | back)
            open_index, commit_open, window_open = open_index[still], commit_open[still], window_open[still]
            prepared = prepared.take(still)
    return state, sequence


def slot_states(words, slots, cursor, capacity, synced=0):
    """v2_slot_check for each of the records `words` ((n, 8) uint64) found in
    slots `slots` of a log whose header says cursor, capacity and synced.
    Returns (state int8, one of EMPTY..CORRUPTED; sequence uint64, the
    record's for RECORD, BEYOND_CURSOR and STALE, else 0)."""
    words = np.asarray(words, dtype=np.uint64).reshape(-1, 8)
    count = words.shape[0]
    window = window_sequences(slots, cursor, capacity)
    commit = (words[:, 0] & _LOW32).astype(np.uint32)
    state = np.full(count, EMPTY, dtype=np.int8)
    sequence = np.zeros(count, dtype=np.uint64)
    nonzero = np.flatnonzero(commit != 0)
    if len(nonzero) == 0:
        return state, sequence
    checks = commit_words(window[nonzero], words[nonzero]) == commit[nonzero]
    state[nonzero[checks]] = RECORD
    sequence[nonzero[checks]] = window[nonzero[checks]]
    others = nonzero[~checks]
    if len(others):
        found, at = search_laps(Prepared(words[others]), commit[others], window[others], capacity)
        resolved = found != _UNRESOLVED
        state[others[resolved]] = found[resolved]
        sequence[others[resolved]] = at[resolved]
        unresolved = others[~resolved]
        expected = window[unresolved]
        # A window sequence below 0 (modulo 2^64) was never synced either.
        since_sync = (expected >= np.uint64(synced)) | (expected + np.uint64(capacity) < np.uint64(capacity))
        state[unresolved] = np.where(since_sync, TORN, CORRUPTED)
    return state, sequence
