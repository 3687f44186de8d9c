"""The records make_logs writes, computed independently in Python.

Mirrors fields_record() in make_logs.cpp and make_record() in
test/support/self_checking_record.hpp; keep them in step.
"""

import numpy as np

MASK64 = (1 << 64) - 1
MAX32 = (1 << 32) - 1
MAX64 = MASK64


def mix64(value):
    """splitmix64's finalizer on Python ints."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def mix32(key, field):
    return mix64((key * 16 + field) & MASK64) & MAX32


def fields_record(n):
    """(timestamp_ns, slot_idx, tenant_id, opcode, args, epoch,
    slot_status, failure_class, backend_code, output_digest) of record n."""
    if n == 0:
        return (0, 0, 0, 0, (0, 0, 0, 0), 0, 0, 0, 0, 0)
    if n % 100 == 99:
        return (MAX64, MAX32, MAX32, MAX32, (MAX32,) * 4, MAX32, MAX32, MAX32, MAX32, MAX64)
    timestamp = 1_700_000_000_000_000_000 + 1000 * n - (5000 if n % 7 == 3 else 0)
    evidence = (0, 0, 0, 0)
    if n % 5 == 0:
        evidence = (n % 3, (n // 5) % 8, mix32(n, 3), mix64(n))
    return (timestamp, n, n % 3, 0x40000000 + n % 4, (n, MAX32 - n, mix32(n, 1), mix32(n, 2)), n // 50) + evidence


# --- self-checking records, vectorised --------------------------------------

def _mix64_array(value):
    value = value.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return value ^ (value >> np.uint64(31))


def _mix32_array(key, field):
    return (_mix64_array(key * np.uint64(16) + np.uint64(field)) & np.uint64(MAX32)).astype(np.uint32)


def torn(records, magic=0xDEADBEEF):
    """Boolean mask: records whose fields are not all the function of their key
    (their timestamp_ns packs producer << 40 | index), i.e. torn records.
    `magic`: what bytes 0..3 must hold; None for VRRL v2, whose commit word
    the caller checks against the record's sequence."""
    packed = records["timestamp_ns"].astype(np.uint64)
    index = packed & np.uint64((1 << 40) - 1)
    producer = (packed >> np.uint64(40)).astype(np.uint32)
    ok = records["magic"] == magic if magic is not None else np.ones(len(records), dtype=bool)
    ok &= records["slot_idx"] == _mix32_array(packed, 1)
    ok &= records["tenant_id"] == producer
    ok &= records["opcode"] == _mix32_array(packed, 2)
    for k in range(4):
        ok &= records["args"][:, k] == _mix32_array(packed, 3 + k)
    ok &= records["epoch"] == (index & np.uint64(MAX32)).astype(np.uint32)
    ok &= records["slot_status"] == _mix32_array(packed, 8)
    ok &= records["failure_class"] == (packed % np.uint64(5)).astype(np.uint32)
    ok &= records["backend_code"] == _mix32_array(packed, 9)
    ok &= records["output_digest"] == _mix64_array(packed)
    return ~ok
