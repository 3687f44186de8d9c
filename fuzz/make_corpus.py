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


MASK64 = (1 << 64) - 1
KEYS = [0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3, 0x589965cc75374cc3, 0x1d8e4e27c47d124f,
        0x2d358dccaa6c78a5, 0x8bb84b93962eacc9, 0x4b33a62ed433d4a3, 0x94d049bb133111eb, 0xbf58476d1ce4e5b9]


def commit_word(sequence, record_bytes):
    """VRRL v2's commit word (include/vrrl/record.hpp, wire::commit_word)."""
    w = list(struct.unpack("<8Q", record_bytes))
    w[0] &= ~0xFFFFFFFF & MASK64

    def mix(a, b):
        product = (a & MASK64) * (b & MASK64)
        return (product & MASK64) ^ (product >> 64)

    a = mix(w[0] ^ KEYS[0] ^ sequence, w[1] ^ KEYS[1])
    b = mix(w[2] ^ KEYS[2], w[3] ^ KEYS[3] ^ ((sequence * KEYS[8]) & MASK64))
    c = mix(w[4] ^ KEYS[4], w[5] ^ KEYS[5])
    d = mix(w[6] ^ KEYS[6], w[7] ^ KEYS[7])
    folded = mix(a ^ c ^ KEYS[8], b ^ d ^ KEYS[9])
    word = (folded ^ (folded >> 32)) & 0xFFFFFFFF
    return word or 1


def log_v2(capacity, appends, evidence=False, cursor=None):
    """A VRRL v2 log: 4 KiB header page, slots at 4096 + 64 i, commit words."""
    slots = [bytes(64)] * capacity
    for n in range(appends):
        body = record(n, evidence)[4:]
        slots[n % capacity] = struct.pack("<I", commit_word(n, bytes(4) + body)) + body
    head = header(capacity, appends if cursor is None else cursor, magic=b"VRRL0002", version=2)
    return head + bytes(4096 - len(head)) + b"".join(slots)


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
        "valid-v2-cap4-two": log_v2(4, 2),
        "valid-v2-cap8-wrapped-evidence": log_v2(8, 13, evidence=True),
        "valid-v2-cap8-past-cursor": log_v2(8, 13, cursor=10),  # a header page older than the records
        "v2-truncated": log_v2(8, 3)[:4096 + 64 * 8 - 1],
        "v2-wrong-version": header(4, 0, magic=b"VRRL0002", version=1) + bytes(4096 - 32 + 64 * 4),
    }
    for name, data in files.items():
        with open(os.path.join(HERE, name), "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main()
