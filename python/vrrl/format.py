"""VRRL v1 on-disk constants and the numpy dtype of one record slot.

The contract is docs/format.md (and include/vrrl/format.hpp in C++); keep the
three in step. Everything is little-endian; a record is 64 packed bytes whose
u64 timestamp sits at offset 4, so the dtype spells every offset out.
"""

import numpy as np

LOG_MAGIC = b"VRRL0001"
LOG_VERSION = 1
HEADER_BYTES = 32
RECORD_BYTES = 64
RECORD_MAGIC = 0xDEADBEEF
EMPTY_RECORD_MAGIC = 0
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

#: One 64-byte slot exactly as it sits in the file (docs/format.md, "Record slot").
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


def file_bytes(capacity):
    """Exact size of a log with `capacity` slots: the header and every slot."""
    return HEADER_BYTES + RECORD_BYTES * capacity
