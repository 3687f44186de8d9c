"""VRRL v1 and v2 on-disk constants and the numpy dtype of one record slot.

The contract is docs/format.md (and include/vrrl/format.hpp in C++); keep the
three in step. Everything is little-endian; a record is 64 packed bytes whose
u64 timestamp sits at offset 4, so the dtype spells every offset out. Both
formats have the same slot; v2's bytes 0..3 hold a commit word where v1 has
its magic, and v2's slots start after a 4 KiB header page.
"""

from dataclasses import dataclass

import numpy as np

LOG_MAGIC = b"VRRL0001"
LOG_VERSION = 1
HEADER_BYTES = 32
LOG_MAGIC_V2 = b"VRRL0002"
LOG_VERSION_V2 = 2
HEADER_BYTES_V2 = 4096  # the header page: slot 0 starts page-aligned
SYNCED_OFFSET = 32  # v2 only: u64, the count the last completed sync() made durable
RECORD_BYTES = 64
RECORD_MAGIC = 0xDEADBEEF
EMPTY_RECORD_MAGIC = 0  # v1 magic or v2 commit word: an empty slot
MAX_CAPACITY = 1_048_576  # the seed's MAX_REPLAY_RECORDS
MAX_CURSOR = 1 << 61  # a header cursor at or above this is damage (docs/design.md)
FLAG_MULTI_PRODUCER = 1  # header flags bit 0: written by SharedRingLog, claim order

HEADER_DTYPE = np.dtype(
    {
        "names": ["magic", "version", "flags", "capacity", "cursor"],
        "formats": ["S8", "<u4", "<u4", "<u8", "<u8"],
        "offsets": [0, 8, 12, 16, 24],
        "itemsize": HEADER_BYTES,
    }
)

#: One 64-byte slot exactly as it sits in the file (docs/format.md, "Record
#: slot"). In a v2 log the ``magic`` field holds the record's commit word.
RECORD_DTYPE = np.dtype(
    {
        "names": [
            "magic", "timestamp_ns", "slot_idx", "tenant_id", "opcode", "args", "epoch",
            "slot_status", "failure_class", "backend_code", "output_digest",
        ],
        "formats": [
            "<u4", "<u8", "<u4", "<u4", "<u4", ("<u4", (4,)), "<u4",
            "<u4", "<u4", "<u4", "<u8",
        ],
        "offsets": [0, 4, 12, 16, 20, 24, 40, 44, 48, 52, 56],
        "itemsize": RECORD_BYTES,
    }
)

#: failure_class numbers 0..4; any other stored number reads as "unclassified".
FAILURE_CLASSES = ("none", "device_loss", "transient_queue", "program_bug", "unclassified")


@dataclass(frozen=True)
class Layout:
    """Where things are in a file of one format (C++ format::Layout)."""

    format: str        # "v1" or "v2"
    magic: bytes
    version: int
    header_bytes: int  # slot 0 starts here

    def record_position(self, slot):
        return self.header_bytes + RECORD_BYTES * slot

    def file_bytes(self, capacity):
        """Exact size of a log with `capacity` slots: the header and every slot."""
        return self.record_position(capacity)


LAYOUT_V1 = Layout("v1", LOG_MAGIC, LOG_VERSION, HEADER_BYTES)
LAYOUT_V2 = Layout("v2", LOG_MAGIC_V2, LOG_VERSION_V2, HEADER_BYTES_V2)
LAYOUTS = {LOG_MAGIC: LAYOUT_V1, LOG_MAGIC_V2: LAYOUT_V2}


def file_bytes(capacity, layout=LAYOUT_V1):
    """Exact size of a log with `capacity` slots in `layout` (default v1)."""
    return layout.file_bytes(capacity)
