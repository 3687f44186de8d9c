"""Logs and recordings built byte by byte, without the package under test.

SeedLog writes exactly what the seed's Rust RingLog writes
(the seed, the original Rust ring_log.rs; docs/format.md, "The seed"): header, then per append the magic and
bytes 4..43 at the next slot, bytes 44..63 left as they are (zero), and the
cursor rewritten as the next slot index (modulo capacity).

write_recording builds a recording directory as PLAN.md / docs/format.md fix
its layout: metadata, one directory per stream with a .writer.lock, segments
named by their first sequence whose header cursor is the stream's running
count, only the newest partial.
"""

import os
import struct

RECORD = struct.Struct("<IQIII4IIIIIQ")  # magic, timestamp, slot_idx, tenant, opcode, args, epoch, evidence
assert RECORD.size == 64
HEADER = struct.Struct("<8sIIQQ")
assert HEADER.size == 32


def record_bytes(timestamp_ns, slot_idx=0, tenant_id=0, opcode=0, args=(0, 0, 0, 0), epoch=0,
                 slot_status=0, failure_class=0, backend_code=0, output_digest=0, magic=0xDEADBEEF):
    return RECORD.pack(magic, timestamp_ns, slot_idx, tenant_id, opcode, *args, epoch,
                       slot_status, failure_class, backend_code, output_digest)


def header_bytes(capacity, cursor, flags=0, magic=b"VRRL0001", version=1):
    return HEADER.pack(magic, version, flags, capacity, cursor)


class SeedLog:
    """The seed's RingLog::open (create) + append, on plain file I/O."""

    def __init__(self, path, capacity):
        self.path, self.capacity, self.next_slot = path, capacity, 0
        with open(path, "wb") as f:
            f.truncate(32 + 64 * capacity)  # set_len: zeros
            f.write(header_bytes(capacity, 0))

    def append(self, timestamp_ns, slot_idx, tenant_id, opcode, args, epoch):
        body = record_bytes(timestamp_ns, slot_idx, tenant_id, opcode, args, epoch)[:44]
        with open(self.path, "r+b") as f:
            f.seek(32 + 64 * self.next_slot)
            f.write(body)
            self.next_slot = (self.next_slot + 1) % self.capacity
            f.seek(24)
            f.write(struct.pack("<Q", self.next_slot))


def write_log(path, capacity, cursor, slots, flags=0):
    """A v1 log whose slot i holds slots[i] (64 bytes, or None for empty)."""
    with open(path, "wb") as f:
        f.write(header_bytes(capacity, cursor, flags))
        for i in range(capacity):
            data = slots.get(i) if isinstance(slots, dict) else (slots[i] if i < len(slots) else None)
            f.write(data if data is not None else bytes(64))


def write_segment(path, capacity, first_sequence, records):
    """A segment holding stream sequences first_sequence .. + len(records)."""
    assert first_sequence % capacity == 0 and len(records) <= capacity
    write_log(path, capacity, first_sequence + len(records), [record_bytes(*r) for r in records])


def segment_name(first_sequence):
    return f"{first_sequence:020d}.vrrl"


def write_recording(root, streams, capacity, metadata=None, prepared=False, first_segment=0):
    """streams: {name: [record tuples for record_bytes]}; the records of each
    stream are its sequences first_segment*capacity, ... (earlier segments
    retired). prepared: an empty segment after the newest. Returns root."""
    os.makedirs(root, exist_ok=True)
    lines = metadata if metadata is not None else [
        "vrrl-recording 1", "# written by the Python test fixture", "segment-format v1",
        f"segment-capacity {capacity}", "retain-segments 0", "retain-bytes 0"]
    with open(os.path.join(root, "vrrl-recording.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for name, records in streams.items():
        directory = os.path.join(root, name)
        os.makedirs(directory, exist_ok=True)
        open(os.path.join(directory, ".writer.lock"), "w").close()
        first = first_segment * capacity
        chunks = [records[k:k + capacity] for k in range(0, len(records), capacity)] or [[]]
        for k, chunk in enumerate(chunks):
            write_segment(os.path.join(directory, segment_name(first + k * capacity)), capacity,
                          first + k * capacity, chunk)
        if prepared:
            next_first = first + len(chunks) * capacity
            write_segment(os.path.join(directory, segment_name(next_first)), capacity, next_first, [])
    return root
