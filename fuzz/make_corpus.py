#!/usr/bin/env python3
"""Writes the replay fuzzer's seed corpus (fuzz/corpus/): small VRRL v1 logs,
valid and damaged. Deterministic; rerun after a format change.
Files named valid-* are complete logs the regression test expects to open."""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def header(capacity, cursor, magic=b"VRRL0001", version=1, flags=0):
    return magic + struct.pack("<IIQQ", version, flags, capacity, cursor)


def record(n, evidence=False):
    low = n & 0xFFFFFFFF
    mix = (low * 2654435761) & 0xFFFFFFFF
    body = struct.pack("<IQIII4II", 0xDEADBEEF, n, low, mix ^ 0xA5A5A5A5, ~low & 0xFFFFFFFF,
                       mix, (mix + 1) & 0xFFFFFFFF, mix ^ low, (low * 3) & 0xFFFFFFFF, mix >> 7)
    tail = struct.pack("<IIIQ", low + 11, low % 5, (~low * 7) & 0xFFFFFFFF,
                       (n * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) if evidence else bytes(20)
    return body + tail


def log(capacity, appends, evidence=False, **head):
    slots = [bytes(64)] * capacity
    for n in range(appends):
        slots[n % capacity] = record(n, evidence)
    return header(capacity, appends, **head) + b"".join(slots)


def main():
    os.makedirs(HERE, exist_ok=True)
    files = {
        "valid-empty-cap1": log(1, 0),
        "valid-cap1-one": log(1, 1),
        "valid-cap4-two": log(4, 2),
        "valid-cap4-full": log(4, 4),
        "valid-cap8-wrapped": log(8, 13),
        "valid-cap16-evidence": log(16, 10, evidence=True),
        "valid-cap70-wrapped-evidence": log(70, 150, evidence=True),  # slot 63 straddles a page
        "valid-cap5-cursor-laps": header(5, 5 * 1000 + 2) + log(5, 7)[32:],
        "valid-cap4-trailing-bytes": log(4, 3) + b"extra",
        "bad-slot-magic": log(8, 8)[:32 + 64 * 3] + b"\x78\x56\x34\x12" + log(8, 8)[32 + 64 * 3 + 4:],
        "truncated-body": log(8, 5)[:32 + 64 * 8 - 1],
        "header-only": header(4, 0),
        "short-header": header(4, 0)[:20],
        "wrong-version": log(2, 1, version=2),
        "wrong-magic": log(2, 1, magic=b"VRRL0002"),
        "capacity-zero": header(0, 0),
        "capacity-over-max": header(1048577, 0) + bytes(64),
        "cursor-absurd": header(4, 0xFFFFFFFFFFFFFFFF) + log(4, 4)[32:],
        "empty": b"",
    }
    for name, data in files.items():
        with open(os.path.join(HERE, name), "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main()
