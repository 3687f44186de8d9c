#!/usr/bin/env python3
"""Drives the real `vrrl` binary, one case per meson test: cli_test.py CASE.

Environment: VRRL (the vrrl binary), APPEND_RECORDS (test/cli/append_records).
Known logs are made by append_records, whose records expected_record() mirrors.
"""
import calendar
import fcntl
import json
import os
import queue
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

VRRL = os.environ["VRRL"]
APPEND_RECORDS = os.environ["APPEND_RECORDS"]
WRITE_RECORDING = os.environ.get("WRITE_RECORDING", "")
HEADER = 32
RECORD = 64
FAILURE_CLASSES = ["none", "device_loss", "transient_queue", "program_bug", "unclassified"]


def expected_record(i):
    """append_records.cpp's known_record(i), as the dump format's fields."""
    record = {"timestamp_ns": 1000 + 10 * i, "slot_idx": i, "tenant_id": i % 3, "opcode": 40 + i % 2,
              "args": [i, i + 1, i + 2, i + 3], "epoch": 1 + i // 100}
    if i % 4 == 3:
        record["failure"] = {"slot_status": 2, "failure_class": FAILURE_CLASSES[1 + (i // 4) % 4],
                             "backend_code": i, "output_digest": 1000003 * i}
    return record


def expected_jsonl(i):
    return json.dumps(expected_record(i), separators=(",", ":"))


def run(*args, stdin=None, expect=None):
    result = subprocess.run([VRRL, *map(str, args)], input=stdin, capture_output=True, text=True, timeout=60)
    if expect is not None and result.returncode != expect:
        raise AssertionError(f"vrrl {' '.join(map(str, args))}: exit {result.returncode}, expected {expect}\n"
                             f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def append(log, capacity, first, count, log_format="v1"):
    subprocess.run([APPEND_RECORDS, str(log), str(capacity), str(first), str(count), log_format], check=True,
                   timeout=60)


def encode_record(record):
    """The 64-byte VRRL v1 slot for a record in the dump format's fields."""
    failure = record.get("failure", {"slot_status": 0, "failure_class": "none", "backend_code": 0,
                                     "output_digest": 0})
    return struct.pack("<IQIII4IIIIIQ", 0xDEADBEEF, record["timestamp_ns"], record["slot_idx"], record["tenant_id"],
                       record["opcode"], *record["args"], record["epoch"], failure["slot_status"],
                       FAILURE_CLASSES.index(failure["failure_class"]), failure["backend_code"],
                       failure["output_digest"])


def write_log(path, capacity, cursor, slots, flags=0):
    """A log made byte by byte: `slots` maps slot index -> record (dump fields); the rest are empty."""
    body = bytearray(capacity * RECORD)
    for index, record in slots.items():
        body[index * RECORD:(index + 1) * RECORD] = encode_record(record)
    with open(path, "wb") as f:
        f.write(b"VRRL0001" + struct.pack("<IIQQ", 1, flags, capacity, cursor) + bytes(body))


def write_recording(directory, segment_capacity, stream, first, count, stride=1):
    subprocess.run([WRITE_RECORDING, str(directory), str(segment_capacity), stream, str(first), str(count),
                    str(stride)], check=True, timeout=60)


def known_recording(t, name="run", segment_capacity=4, count=6):
    """Streams worker-a (records 0, 2, 4, ...) and worker-b (1, 3, 5, ...): merged, the known sequence."""
    directory = t.path(name)
    write_recording(directory, segment_capacity, "worker-a", 0, count, 2)
    write_recording(directory, segment_capacity, "worker-b", 1, count, 2)
    return directory


def with_stream(i):
    return json.dumps({"stream": "worker-a" if i % 2 == 0 else "worker-b", **expected_record(i)},
                      separators=(",", ":"))


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def check_one_line_error(result, *fragments):
    lines = result.stderr.splitlines()
    check(len(lines) == 1, f"expected one stderr line, got {lines!r}")
    check("Fix:" in lines[0], f"no Fix: hint in {lines[0]!r}")
    for fragment in fragments:
        check(fragment in lines[0], f"{fragment!r} not in {lines[0]!r}")


class Case:
    def __init__(self, directory):
        self.dir = directory

    def path(self, name):
        return os.path.join(self.dir, name)

    def known_log(self, name="known.vrrl", capacity=8, count=5):
        log = self.path(name)
        append(log, capacity, 0, count)
        return log


# --- help, version, arguments ------------------------------------------------

COMMANDS = ["info", "dump", "verify", "tail", "import", "stats", "export", "diff", "convert"]


def case_help_and_version(t):
    top = run("--help", expect=0).stdout
    check("Exit codes:" in top and "usage error" in top and top.count("Exit codes:") == 1, top)
    for command in COMMANDS:
        check(f"  {command} " in top, f"{command} not listed in vrrl --help")
        result = run(command, "--help", expect=0)
        out = result.stdout
        check(f"vrrl {command}" in out and "Exit codes:" in out, out)
        # One footer (CLI11 used to copy the parent's into info, dump and stats: printed twice), and it
        # points at what is installed, not at a file of the source tree.
        check(out.count("Exit codes:") == 1 and out.count("See also:") == 1, f"{command}: footer repeated:\n{out}")
        check("man vrrl" in out, f"{command}: no pointer to man vrrl:\n{out}")
        check(out.splitlines()[0] and not out.startswith(" "), f"{command}: first line is not a description")
    result = run("--version", expect=0)
    check(result.stdout.startswith("vrrl ") and "format versions 1 and 2" in result.stdout, result.stdout)


def case_bad_arguments(t):
    log = t.known_log()
    for args, fragment in [((), "subcommand"),
                           (("frobnicate",), "frobnicate"),
                           (("dump",), "LOG"),
                           (("dump", log, "--format", "xml"), "xml"),
                           (("dump", log, "--limit", "-1"), "-1"),
                           (("dump", log, "--tenant", "seven"), "seven"),
                           (("dump", log, "--bogus"), "--bogus"),
                           (("tail", log, "-n", "x"), "x"),
                           (("import", t.path("new.vrrl")), "--capacity"),
                           (("import", t.path("new.vrrl"), "--capacity", "0"), "capacity"),
                           (("verify", log, "extra"), "extra"),
                           # malformed values: exit 2, and the message shows the expected form
                           (("dump", log, "--opcode", "0xZZ"), "expected decimal or 0x-hex, e.g. 42 or 0x40000003"),
                           (("dump", log, "--opcode", "40,,41"), "expected decimal or 0x-hex"),
                           (("dump", log, "--epoch", "-1"), "expected decimal or 0x-hex"),
                           (("dump", log, "--tenant", "4294967296"), "from 0 to 4294967295"),
                           (("dump", log, "--since", "2026-13-01"), "ISO-8601 UTC (e.g. 2026-12-01T09:50:00Z"),
                           (("dump", log, "--since", "2026-02-29"), "not a valid date"),
                           (("dump", log, "--until", "yesterday"), "+DURATION after the first record"),
                           (("dump", log, "--since", "+1.5"), "e.g. 1ms, 250us or 1.5s"),
                           (("dump", log, "--since", "+1.5ns"), "finer than a nanosecond"),
                           (("dump", log, "--since", "1969-12-31"), "before 1970-01-01"),
                           (("dump", log, "--since", "2600-01-01T00:00:00Z"), "after 2554-07-21"),
                           (("dump", log, "--since", "99999999999999999999"), "above 2^64-1"),
                           (("dump", log, "--time", "iso"), "applies to --format csv and table"),
                           (("dump", log, "--time", "local", "--format", "csv"), "local"),
                           (("dump", log, "--format", "csv", "--u64-as-string"), "jsonl only"),
                           (("stats", log, "--interval", "5"), "a number and a unit"),
                           (("stats", log, "--interval", "0ms"), "positive duration"),
                           (("stats", log, "--u64-as-string"), "--json"),
                           (("info", log, "--u64-as-string"), "--json"),
                           (("export", log, "--format", "svg"), "svg"),
                           (("export", log, "--interval", "1x"), "a number and a unit"),
                           (("dump", log, "--stream", ".hidden"), "expected [A-Za-z0-9._-]{1,128}"),
                           (("dump", log, "--stream", "a,,b"), "is not a stream name"),
                           (("tail", log, "-f", "--stream", "a"), "recording directory"),
                           (("convert", log, t.path("out.vrrl")), "--to"),
                           (("convert", "--to", "v3", log, t.path("out.vrrl")), "v3"),
                           (("convert", "--to", "v2", log), "OUT"),
                           (("convert", "--to", "v2", log, t.path("out.vrrl"), "--capacity", "0"), "capacity"),
                           (("convert", "--to", "v2", log, t.path("out.vrrl"), "--capacity", "-1"), "-1"),
                           (("diff", log), "B"),
                           (("diff", log, log, "--order", "random"), "random")]:
        result = run(*args, stdin="", expect=2)
        check_one_line_error(result, fragment)
        check(result.stdout == "", result.stdout)
    check(not os.path.exists(t.path("new.vrrl")) and not os.path.exists(t.path("out.vrrl")),
          "a usage error created a log")


def case_missing_and_foreign_logs(t):
    missing = t.path("missing.vrrl")
    for command in ["info", "dump", "tail", "stats", "verify"]:
        check_one_line_error(run(command, missing, expect=1), "missing.vrrl")
    foreign = t.path("foreign.txt")
    with open(foreign, "w") as f:
        f.write("hello, this is not a log at all, not even close\n")
    for command in ["info", "dump", "tail", "stats"]:
        check_one_line_error(run(command, foreign, expect=1), "VRRL0001")
    check_one_line_error(run("dump", t.dir, expect=1), "directory")


# --- dump ----------------------------------------------------------------------

def case_dump_jsonl(t):
    log = t.known_log(count=5)
    result = run("dump", log, expect=0)
    check(result.stdout.splitlines() == [expected_jsonl(i) for i in range(5)], result.stdout)
    # The exact text of one record with failure evidence, key order included.
    check(result.stdout.splitlines()[3] ==
          '{"timestamp_ns":1030,"slot_idx":3,"tenant_id":0,"opcode":41,"args":[3,4,5,6],"epoch":1,'
          '"failure":{"slot_status":2,"failure_class":"device_loss","backend_code":3,"output_digest":3000009}}',
          result.stdout)
    check(result.stdout == run("dump", log, "--format", "jsonl", expect=0).stdout, "--format jsonl differs")


def case_dump_jsonl_wrapped(t):
    log = t.known_log(capacity=4, count=10)  # records 6..9 survive, oldest first
    result = run("dump", log, expect=0)
    check(result.stdout.splitlines() == [expected_jsonl(i) for i in range(6, 10)], result.stdout)


def case_dump_csv(t):
    log = t.known_log(count=5)
    lines = run("dump", log, "--format", "csv", expect=0).stdout.splitlines()
    check(lines[0] == "timestamp_ns,slot_idx,tenant_id,opcode,arg0,arg1,arg2,arg3,epoch,"
                      "slot_status,failure_class,backend_code,output_digest", lines[0])
    check(lines[1] == "1000,0,0,40,0,1,2,3,1,0,none,0,0", lines[1])
    check(lines[4] == "1030,3,0,41,3,4,5,6,1,2,device_loss,3,3000009", lines[4])
    check(len(lines) == 6, lines)


def case_dump_table(t):
    log = t.known_log(count=5)
    lines = run("dump", log, "--format", "table", expect=0).stdout.splitlines()
    check(len(lines) == 6, lines)
    header = lines[0]
    titles = ["timestamp_ns", "slot_idx", "tenant_id", "opcode", "arg0", "arg1", "arg2", "arg3", "epoch"]
    check(header.split() == titles + ["failure"], header)
    # Numbers are right-aligned under their titles: every column ends where its title ends.
    ends = [header.index(title) + len(title) for title in titles]
    for line, i in zip(lines[1:], range(5)):
        values = [str(v) for v in (1000 + 10 * i, i, i % 3, 40 + i % 2, i, i + 1, i + 2, i + 3, 1)]
        for value, end in zip(values, ends):
            check(line[end - len(value):end] == value and line[end - len(value) - 1] == " ",
                  f"{value} does not end at column {end} in {line!r}")
    check(lines[1].endswith("  -"), lines[1])
    check(lines[4].endswith("device_loss status=2 backend=3 digest=3000009"), lines[4])


def case_dump_filters(t):
    log = t.known_log(capacity=16, count=12)
    def dumped(*args):
        return [json.loads(line)["slot_idx"] for line in run("dump", log, *args, expect=0).stdout.splitlines()]
    check(dumped("--tenant", "1") == [1, 4, 7, 10], dumped("--tenant", "1"))
    check(dumped("--opcode", "41") == [1, 3, 5, 7, 9, 11], dumped("--opcode", "41"))
    check(dumped("--tenant", "1", "--opcode", "40") == [4, 10], "tenant and opcode")
    check(dumped("--from", "9") == [9, 10, 11], dumped("--from", "9"))
    check(dumped("--limit", "2") == [0, 1], dumped("--limit", "2"))
    check(dumped("--from", "3", "--limit", "2", "--opcode", "40") == [4, 6], "from, limit and opcode")
    check(dumped("--tenant", "9") == [], "no match")
    check(dumped("--limit", "0") == [], "limit 0")


def case_dump_live_log_never_torn(t):
    # A writer laps an 8-slot log flat out while dump, stats, tail, info and export read it: every
    # record they print is whole (append_records' record i is a function of i), and what a read had
    # to leave out is said on stderr, not printed.
    log = t.known_log(capacity=8, count=8)
    writer = subprocess.Popen([APPEND_RECORDS, log, "8", "8", str(2**32 - 200)])  # first + count < 2^32
    try:
        skipped_notes = 0
        for _ in range(30):
            result = run("dump", log, expect=0)
            for line in result.stdout.splitlines():
                check(line == expected_jsonl(json.loads(line)["slot_idx"]), f"torn record {line}")
            skipped_notes += "were being overwritten by a writer while they were read" in result.stderr
            for line in run("tail", log, "--format", "jsonl", "-n", "8", expect=0).stdout.splitlines():
                check(line == expected_jsonl(json.loads(line)["slot_idx"]), f"tail: torn record {line}")
            trace = json.loads(run("export", log, expect=0).stdout)
            for event in trace["traceEvents"]:
                if event["ph"] == "X":
                    record = {k: v for k, v in event["args"].items()}
                    record["timestamp_ns"] = int(record["timestamp_ns"])
                    if "failure" in record:
                        record["failure"]["output_digest"] = int(record["failure"]["output_digest"])
                    check(record == expected_record(record["slot_idx"]), f"export: torn record {event}")
        check(writer.poll() is None, "the writer finished before the reads did; the test proved nothing")
        check(skipped_notes > 0, "no dump met a record being overwritten; the test proved nothing")
    finally:
        writer.kill()
        writer.wait()


# --- info and stats ----------------------------------------------------------------

def info_fields(output):
    fields = {}
    for line in output.splitlines():
        name, value = line[:18].strip(), line[18:]
        fields[name] = value
    return fields


def case_info(t):
    log = t.known_log(capacity=4, count=6)
    fields = info_fields(run("info", log, expect=0).stdout)
    check(fields["format"] == "VRRL v1", fields)
    check(fields["flags"] == "0x00000000", fields)
    check(fields["capacity"] == "4 slots", fields)
    check(fields["file size"] == f"{HEADER + 4 * RECORD} bytes", fields)
    check(fields["cursor"] == "6 (next slot 2)", fields)
    check(fields["records in use"] == "4", fields)
    check(fields["oldest timestamp"] == "1020 ns (slot 2)", fields)
    check(fields["newest timestamp"] == "1050 ns (slot 1)", fields)
    check(fields["locked by writer"] == "no", fields)
    empty = t.path("empty.vrrl")
    append(empty, 16, 0, 0)
    fields = info_fields(run("info", empty, expect=0).stdout)
    check(fields["records in use"] == "0" and fields["oldest timestamp"] == "-", fields)


def case_stats(t):
    log = t.known_log(capacity=16, count=10)
    output = run("stats", log, expect=0).stdout
    check("records       10 (capacity 16)" in output, output)
    check("time span     90 ns (1000 .. 1090)" in output, output)
    check("rate          111111111.1 records/s" in output, output)
    check("failures      2 (failure_class other than none, or slot_status not 0)" in output, output)
    rows = [line.split() for line in output.splitlines()]
    check(["40", "5", "50.0%"] in rows and ["41", "5", "50.0%"] in rows, output)   # per opcode
    check(["0", "4", "40.0%"] in rows and ["2", "3", "30.0%"] in rows, output)    # per tenant
    check(["device_loss", "1", "10.0%"] in rows and ["transient_queue", "1", "10.0%"] in rows, output)


# --- verify ----------------------------------------------------------------------

def flip_bit(path, offset, bit):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ (1 << bit)]))


def case_verify_clean(t):
    log = t.known_log(capacity=8, count=20)
    result = run("verify", log, expect=0)
    check(result.stdout.splitlines()[-1].endswith(": clean"), result.stdout)
    check("8 of 8 slots checked: 8 records, 0 empty, 0 with a bad magic, 0 timestamps going backwards"
          in result.stdout, result.stdout)
    check("note: cursor 20 is at or above capacity 8" in result.stdout, result.stdout)


def case_verify_truncated(t):
    log = t.known_log(capacity=8, count=5)
    os.truncate(log, HEADER + 2 * RECORD + 10)
    result = run("verify", log, expect=1)
    check("problem: the file is 170 bytes, but capacity 8 needs 544 (truncated): slots 2..7 are missing "
          "(slot 2 only partly)" in result.stdout, result.stdout)
    check("2 of 8 slots checked: 2 records" in result.stdout, result.stdout)
    check(result.stdout.splitlines()[-1].endswith(": 1 problem found"), result.stdout)
    # Other commands refuse it with the library's message.
    check_one_line_error(run("dump", log, expect=1), "truncated")
    os.truncate(log, 20)
    result = run("verify", log, expect=1)
    check("ends inside the 32-byte header" in result.stdout, result.stdout)


def case_verify_bit_flip(t):
    log = t.known_log(capacity=8, count=5)
    flip_bit(log, HEADER + 2 * RECORD + 1, 3)        # slot 2's magic
    flip_bit(log, HEADER + 4 * RECORD + 0, 0)        # slot 4's magic
    flip_bit(log, HEADER + 0 * RECORD + 4 + 7, 6)    # slot 0's timestamp: now far in the future
    result = run("verify", log, expect=1)
    out = result.stdout
    check("problem: slot 2: record magic 0xDEADB6EF is neither 0xDEADBEEF (a record) nor 0 (empty)" in out, out)
    check("problem: slot 4: record magic 0xDEADBEEE" in out, out)
    check("problem: slot 1: timestamp 1010 ns goes backwards from 4611686018427388904 ns in slot 0" in out, out)
    check("8 of 8 slots checked: 3 records, 3 empty, 2 with a bad magic, 1 timestamps going backwards" in out, out)
    check(out.splitlines()[-1].endswith(": 3 problems found"), out)
    # dump skips the bad slots, says so on stderr and exits 1.
    result = run("dump", log, expect=1)
    check(len(result.stdout.splitlines()) == 3, result.stdout)
    check_one_line_error(result, "skipped 2 slot(s)", "first: slot 2", "vrrl verify")


def case_verify_backwards(t):
    log = t.path("backwards.vrrl")
    lines = [expected_record(i) for i in range(4)]
    lines[2]["timestamp_ns"] = 5
    run("import", log, "--capacity", "8", stdin="".join(json.dumps(r) + "\n" for r in lines), expect=0)
    result = run("verify", log, expect=1)
    check("problem: slot 2: timestamp 5 ns goes backwards from 1010 ns in slot 1" in result.stdout, result.stdout)
    check(result.stdout.count("problem:") == 1, result.stdout)


def case_verify_foreign(t):
    cases = {
        "empty": (b"", "the file is empty"),
        "text": (b"#!/bin/sh\necho hello\n" * 10, 'starts with "#!/bin/s", not VRRL0001'),
        "elf": (b"\x7fELF\x02\x01\x01\x00" + bytes(100), 'starts with "\\x7FELF\\x02\\x01\\x01\\x00", not'),
        "short": (b"VRR", 'starts with "VRR", not VRRL0001'),
        "version": (b"VRRL0001" + struct.pack("<IIQQ", 2, 0, 4, 0) + bytes(4 * RECORD), "format version 2"),
        "capacity": (b"VRRL0001" + struct.pack("<IIQQ", 1, 0, 0, 0), "capacity must be > 0"),
        "long": (b"VRRL0001" + struct.pack("<IIQQ", 1, 0, 2, 0) + bytes(2 * RECORD + 7), "7 more than"),
    }
    for name, (content, fragment) in cases.items():
        path = t.path(name + ".bin")
        with open(path, "wb") as f:
            f.write(content)
        result = run("verify", path, expect=1)
        check(fragment in result.stdout, f"{name}: {fragment!r} not in {result.stdout!r}")
    result = run("verify", t.dir, expect=1)   # a directory is checked as a recording
    check("the directory is not a recording" in result.stdout, result.stdout)
    check_one_line_error(run("verify", t.path("missing"), expect=1), "No such file")


# --- import ----------------------------------------------------------------------------

def case_import_round_trip(t):
    for capacity, count in [(8, 5), (4, 10), (64, 64)]:
        original = t.known_log(f"original-{capacity}.vrrl", capacity, count)
        dumped = run("dump", original, expect=0).stdout
        copy = t.path(f"copy-{capacity}.vrrl")
        result = run("import", copy, "--capacity", capacity, stdin=dumped, expect=0)
        check(f"appended {min(count, capacity)} records" in result.stdout, result.stdout)
        check(run("dump", copy, expect=0).stdout == dumped, f"round trip changed capacity {capacity}")
        run("verify", copy, expect=0)
        if count <= capacity:  # same appends in the same order: the very same bytes
            with open(original, "rb") as a, open(copy, "rb") as b:
                check(a.read() == b.read(), f"files differ for capacity {capacity}")


def case_import_extreme_values(t):
    u32, u64 = 2**32 - 1, 2**64 - 1
    lines = ['{"timestamp_ns":%d,"slot_idx":%d,"tenant_id":%d,"opcode":%d,"args":[%d,0,%d,1],"epoch":%d,'
             '"failure":{"slot_status":%d,"failure_class":"unclassified","backend_code":%d,"output_digest":%d}}'
             % (u64, u32, u32, u32, u32, u32, u32, u32, u32, u64),
             '{"timestamp_ns":0,"slot_idx":0,"tenant_id":0,"opcode":0,"args":[0,0,0,0],"epoch":0}',
             '{"timestamp_ns":0,"slot_idx":0,"tenant_id":0,"opcode":0,"args":[0,0,0,0],"epoch":0,'
             '"failure":{"slot_status":0,"failure_class":"program_bug","backend_code":0,"output_digest":0}}']
    # Keys in another order are accepted; dump writes them in the format's order.
    shuffled = '{"epoch":0,"args":[0,0,0,0],"opcode":0,"tenant_id":0,"slot_idx":0,"timestamp_ns":0}'
    log = t.path("extreme.vrrl")
    run("import", log, "--capacity", "4", stdin="\n".join(lines + [shuffled]) + "\n", expect=0)
    check(run("dump", log, expect=0).stdout.splitlines() == lines + [lines[1]], "extreme values changed")
    table = run("dump", log, "--format", "table", expect=0).stdout.splitlines()
    check(str(u64) in table[1] and table[1].index(str(u64)) == 0, table)


def case_import_extends(t):
    log = t.known_log(capacity=8, count=3)
    more = "".join(expected_jsonl(i) + "\n" for i in range(3, 6)) + "\n"  # a blank line is skipped
    result = run("import", log, stdin=more, expect=0)
    check("appended 3 records" in result.stdout and "6 appended over its lifetime" in result.stdout, result.stdout)
    check(run("dump", log, expect=0).stdout.splitlines() == [expected_jsonl(i) for i in range(6)], "extended")
    result = run("import", log, "--capacity", "99", stdin=expected_jsonl(6) + "\n", expect=0)
    check("capacity 8; --capacity 99 was ignored" in result.stderr, result.stderr)


def case_import_malformed(t):
    good = expected_jsonl(0)
    bad_lines = {
        2: ('{"timestamp_ns":1,', "not valid JSON"),
        3: ('[1,2,3]', "expected a JSON object"),
        4: (good.replace('"epoch":1', '"epoc":1'), 'unknown key "epoc"'),
        5: (good.replace(',"epoch":1', ''), 'missing key "epoch"'),
        6: (good.replace('"tenant_id":0', '"tenant_id":-1'), '"tenant_id" must be an integer from 0 to 4294967295'),
        7: (good.replace('"opcode":40', '"opcode":4294967296'), '"opcode" must be an integer'),
        8: (good.replace('"timestamp_ns":1000', '"timestamp_ns":1.5'), '"timestamp_ns" must be an integer'),
        9: (good.replace('"args":[0,1,2,3]', '"args":[0,1,2]'), '"args" must be an array of 4'),
        10: (good[:-1] + ',"failure":{"slot_status":1,"failure_class":"meltdown","backend_code":0,'
             '"output_digest":0}}', '"failure_class" must be one of'),
        11: (good[:-1] + ',"failure":{"slot_status":1}}', 'missing key "failure_class"'),
        12: ('{"slot_idx":"1"}', '"slot_idx"'),
    }
    text = good + "\n" + "".join(bad_lines[n][0] + "\n" for n in sorted(bad_lines)) + good + "\n"
    # A new log is not created ...
    new_log = t.path("new.vrrl")
    result = run("import", new_log, "--capacity", "8", stdin=text, expect=1)
    check(not os.path.exists(new_log), "import created a log from malformed input")
    errors = result.stderr.splitlines()
    for n, (_, fragment) in bad_lines.items():
        line = next((e for e in errors if e.startswith(f"vrrl import: line {n}: ")), None)
        check(line is not None and fragment in line and "Fix:" in line, f"line {n}: {fragment!r} in {errors!r}")
    check("11 of 13 lines are malformed; nothing was written" in errors[-1], errors[-1])
    # ... and an existing one is left byte for byte as it was.
    log = t.known_log(capacity=8, count=3)
    with open(log, "rb") as f:
        before = f.read()
    run("import", log, stdin=text, expect=1)
    with open(log, "rb") as f:
        check(f.read() == before, "a failed import changed the log")


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def case_import_deep_nesting(t):
    # Valid JSON nested 100,000 deep, alone or as a value: rejected by shape, never a crash.
    good = expected_jsonl(0)
    deep = "[" * 100000 + "]" * 100000
    text = deep + "\n" + good.replace('"epoch":1', '"epoch":' + deep) + "\n" + '{"a":' * 50000 + "1" + "}" * 50000
    log = t.path("deep.vrrl")
    result = run("import", log, "--capacity", "8", stdin=text + "\n", expect=1)
    errors = result.stderr.splitlines()
    check(errors[0].startswith("vrrl import: line 1: expected a JSON object, got an array"), errors)
    check(errors[1].startswith('vrrl import: line 2: "epoch" must be an integer'), errors)
    check(errors[2].startswith('vrrl import: line 3: unknown key "a"'), errors)
    check("3 of 3 lines are malformed; nothing was written" in errors[-1], errors)
    check(all(len(line) < 400 for line in errors), "an error message echoes the input")
    check(not os.path.exists(log), "a log was created")


def case_import_strict_json(t):
    good = expected_jsonl(0)
    bad_lines = {
        1: (good.replace('"tenant_id":0', '"tenant_id":-0'), '"tenant_id" must be an integer from 0 to 4294967295, got -0'),
        2: (good.replace('"opcode":40', '"opcode":40,"opcode":41'), 'duplicate key "opcode"'),
        3: (good[:-1] + ',"failure":{"slot_status":1,"slot_status":1,"failure_class":"none","backend_code":0,'
            '"output_digest":0}}', 'duplicate key "slot_status"'),
        4: (good + "\0" + '{"garbage after a NUL byte"', "NUL byte"),
        5: (good.replace('"epoch":1', '"epoch":1\0'), "NUL byte"),
        6: (good.replace('"timestamp_ns":1000', '"timestamp_ns":-5'), '"timestamp_ns" must be an integer from 0 to '
            '18446744073709551615 (or a string of its digits), got -5'),
        7: (good.replace('"timestamp_ns":1000', '"timestamp_ns":18446744073709551616'), 'got 18446744073709551616'),
        8: (good.replace('"epoch":1', '"epoch":"' + "x" * 5000 + '"'), '"epoch" must be an integer'),
        9: (good.replace('"epoch":1', '"epoch":"' + "x" * 5000 + '\\q"'), 'not valid JSON'),
        10: (good.replace('"epoch":1', '"epoch":' + "7" * 5000 + 'x'), 'not valid JSON'),
    }
    text = "".join(bad_lines[n][0] + "\n" for n in sorted(bad_lines))
    log = t.path("strict.vrrl")
    errors = run("import", log, "--capacity", "8", stdin=text, expect=1).stderr.splitlines()
    for n, (_, fragment) in bad_lines.items():
        line = next((e for e in errors if e.startswith(f"vrrl import: line {n}: ")), None)
        check(line is not None and fragment in line and "Fix:" in line, f"line {n}: {fragment!r} in {errors!r}")
        check(len(line) < 400, f"line {n}: the message echoes too much: {line[:500]}")
    check(not os.path.exists(log), "a log was created")


def case_import_onto_foreign_file(t):
    # A file that is not a log: refused before any input is read, left as it was, no advice to delete it.
    for name, content in [("short.txt", b"hello\n"), ("notes.txt", b"these are my notes, not a log\n" * 20),
                          ("truncated.vrrl", None)]:
        path = t.path(name)
        if content is None:
            path = t.known_log(name, capacity=8, count=3)
            os.truncate(path, HEADER + RECORD)
        else:
            with open(path, "wb") as f:
                f.write(content)
        before = file_bytes(path)
        result = run("import", path, stdin=expected_jsonl(0) + "\n", expect=1)
        check_one_line_error(result, name, "Fix:")
        message = result.stderr.lower()
        check("delete" not in message and "regenerate" not in message and "remove" not in message, result.stderr)
        check("not a complete vrrl log" in message or "not a vrrl log" in message, result.stderr)
        check(file_bytes(path) == before, f"{name} was changed")


def case_import_summary_unwritable(t):
    # The records are appended and synced; a summary that cannot be written must not make the exit status lie.
    lines = "".join(expected_jsonl(i) + "\n" for i in range(3))
    read_end, write_end = os.pipe()
    os.close(read_end)                      # a broken pipe: writing raises SIGPIPE / EPIPE
    targets = {"broken pipe": {"stdout": write_end},
               "closed stdout": {"stdout": subprocess.DEVNULL, "preexec_fn": lambda: os.close(1)},
               "full disk": {"stdout": open("/dev/full", "w")}}
    for what, redirect in targets.items():
        log = t.path(what.replace(" ", "-") + ".vrrl")
        result = subprocess.run([VRRL, "import", log, "--capacity", "8"], input=lines, stderr=subprocess.PIPE,
                                text=True, timeout=60, **redirect)
        check(result.returncode == 0, f"{what}: exit {result.returncode}; stderr {result.stderr}")
        check("appended and synced" in result.stderr and "summary" in result.stderr, f"{what}: {result.stderr}")
        check(run("dump", log, expect=0).stdout == lines, f"{what}: the records are not in the log")
    os.close(write_end)


def max_rss_kib(*args, stdin_path):
    """Peak resident set of one `vrrl` run, measured by a Python parent of its own."""
    probe = ("import resource, subprocess, sys\n"
             "with open(sys.argv[1], 'rb') as data:\n"
             "    code = subprocess.run(sys.argv[2:], stdin=data, stdout=subprocess.DEVNULL).returncode\n"
             "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    # Under AddressSanitizer freed memory waits in a quarantine (256 MB by default) and counts as
    # resident; without it the peak measures what the program holds. Set whether or not the caller set
    # ASAN_OPTIONS (a plain `meson test` of a sanitizer build does not); other builds ignore it.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "quarantine_size_mb=0",
                                                 "thread_local_quarantine_size_kb=0"]))
    result = subprocess.run([sys.executable, "-c", probe, stdin_path, VRRL, *map(str, args)], capture_output=True,
                            text=True, timeout=600, check=True, env=env)
    code, rss = result.stdout.split()
    return int(code), int(rss)


LARGE_IMPORT = 400_000


def large_input(t, name, count, last_line=None):
    path = t.path(name)
    with open(path, "w") as f:
        for i in range(count):
            f.write(expected_jsonl(i % 1000) + "\n")
        if last_line is not None:
            f.write(last_line + "\n")
    return path


def case_import_large_streams(t):
    # 400,000 records into 1024 slots: memory stays flat (the input is streamed, not held) and the
    # log ends as if every record had been appended.
    small = large_input(t, "small.jsonl", 10)
    large = large_input(t, "large.jsonl", LARGE_IMPORT)
    code, small_rss = max_rss_kib("import", t.path("small.vrrl"), "--capacity", "1024", stdin_path=small)
    check(code == 0, f"small import exit {code}")
    code, large_rss = max_rss_kib("import", t.path("large.vrrl"), "--capacity", "1024", stdin_path=large)
    check(code == 0, f"large import exit {code}")
    # Holding the records would take 400,000 x 64 bytes = 25 MB and more; streaming takes none of it.
    check(large_rss - small_rss < 12 * 1024, f"peak RSS {large_rss} KiB for 400,000 records vs {small_rss} KiB for 10")
    info = info_fields(run("info", t.path("large.vrrl"), expect=0).stdout)
    check(info["cursor"] == f"{LARGE_IMPORT} (next slot {LARGE_IMPORT % 1024})", info)
    dumped = run("dump", t.path("large.vrrl"), expect=0).stdout.splitlines()
    check(dumped == [expected_jsonl(i % 1000) for i in range(LARGE_IMPORT - 1024, LARGE_IMPORT)], "wrong records")


def case_import_large_malformed_writes_nothing(t):
    # The one bad line is the very last of 400,000: still nothing is written, new log or existing.
    bad = large_input(t, "bad.jsonl", LARGE_IMPORT, last_line='{"timestamp_ns":1,')
    with open(bad) as f:
        text = f.read()
    new_log = t.path("new.vrrl")
    result = run("import", new_log, "--capacity", "1024", stdin=text, expect=1)
    check(f"line {LARGE_IMPORT + 1}: not valid JSON" in result.stderr, result.stderr)
    check(f"1 of {LARGE_IMPORT + 1} lines are malformed; nothing was written" in result.stderr, result.stderr)
    check(not os.path.exists(new_log), "a log was created")
    log = t.known_log(capacity=1024, count=3)
    before = file_bytes(log)
    run("import", log, stdin=text, expect=1)
    check(file_bytes(log) == before, "the existing log was changed")
    check(sorted(os.listdir(t.dir)) == sorted(["bad.jsonl", "known.vrrl"]), f"left behind: {os.listdir(t.dir)}")


def import_records(path, capacity, records):
    run("import", path, "--capacity", capacity, stdin="".join(json.dumps(r) + "\n" for r in records), expect=0)


def record(timestamp_ns, slot_idx, tenant_id=0, opcode=40, epoch=1, failure=None):
    r = {"timestamp_ns": timestamp_ns, "slot_idx": slot_idx, "tenant_id": tenant_id, "opcode": opcode,
         "args": [slot_idx, 0, 0, 0], "epoch": epoch}
    if failure is not None:
        r["failure"] = dict(zip(["slot_status", "failure_class", "backend_code", "output_digest"], failure))
    return r


# 2026-12-01T09:50:00Z in ns since the epoch
BASE_NS = calendar.timegm((2026, 12, 1, 9, 50, 0)) * 10**9


def case_dump_selection(t):
    # Several values, hex, --epoch, --failed, tail's filters.
    log = t.known_log(capacity=16, count=12)
    def dumped(*args, command="dump"):
        out = run(command, log, *args, *(["--format", "jsonl"] if command == "tail" else []), expect=0).stdout
        return [json.loads(line)["slot_idx"] for line in out.splitlines()]
    check(dumped("--opcode", "0x29") == [1, 3, 5, 7, 9, 11], dumped("--opcode", "0x29"))
    check(dumped("--tenant", "0,2") == [0, 2, 3, 5, 6, 8, 9, 11], dumped("--tenant", "0,2"))
    check(dumped("--tenant", "0", "--tenant", "0X2") == dumped("--tenant", "0,2"), "repeated option")
    check(dumped("--epoch", "1") == list(range(12)) and dumped("--epoch", "2,3") == [], "epoch")
    check(dumped("--failed") == [3, 7, 11], dumped("--failed"))
    check(dumped("--failed", "--tenant", "1") == [7], "failed and tenant")
    check(dumped("--opcode", "40", "-n", "4", command="tail") == [8, 10], "tail counts -n before the filters")


def case_dump_time_range(t):
    log = t.path("times.vrrl")
    import_records(log, 16, [record(BASE_NS + i * 500_000, i) for i in range(10)])   # one every 0.5 ms
    def dumped(*args):
        return [json.loads(line)["slot_idx"] for line in run("dump", log, *args, expect=0).stdout.splitlines()]
    check(dumped("--since", str(BASE_NS + 1_000_000)) == list(range(2, 10)), "absolute ns")
    check(dumped("--until", str(BASE_NS + 1_000_000)) == [0, 1], "until is exclusive")
    check(dumped("--since", "+1.5ms") == list(range(3, 10)), dumped("--since", "+1.5ms"))
    check(dumped("--since", "+1ms", "--until", "+2ms") == [2, 3], "relative range")
    check(dumped("--since", "+500000ns", "--until", "+0.001s") == [1], "ns and s units")
    check(dumped("--since", "2026-12-01T09:50:00.0015Z") == list(range(3, 10)), "ISO with a fraction")
    check(dumped("--since", "2026-12-01T09:50:00.001500000+00:00") == list(range(3, 10)), "ISO +00:00")
    check(dumped("--until", "2026-12-01T09:50:00Z") == [], "ISO whole seconds, exclusive")
    check(dumped("--since", "2026-12-01") == list(range(10)) and dumped("--until", "2026-12-01") == [], "date only")
    check(dumped("--since", "+1h") == [], "past the end")
    # The first record anchors +TIME even when --from skips it.
    check(dumped("--from", "4", "--since", "+1ms") == list(range(4, 10)), "--from does not move the anchor")
    for command in ["stats", "export"]:
        run(command, log, "--since", "+1ms", "--until", "+2ms", expect=0)
    check(json.loads(run("stats", log, "--json", "--since", "+1ms", "--until", "+2ms", expect=0).stdout)["records"]
          == 2, "stats --since/--until")


def case_dump_time_formats(t):
    log = t.path("times.vrrl")
    import_records(log, 16, [record(BASE_NS + 123_456_789, 0), record(BASE_NS + 1_623_456_790, 1)])
    lines = run("dump", log, "--format", "csv", "--time", "iso", expect=0).stdout.splitlines()
    check(lines[0].startswith("time_utc,slot_idx,") and lines[1].startswith("2026-12-01T09:50:00.123456789Z,0,")
          and lines[2].startswith("2026-12-01T09:50:01.623456790Z,1,"), lines)
    lines = run("dump", log, "--format", "csv", "--time", "relative", expect=0).stdout.splitlines()
    check(lines[0].startswith("since_first_s,") and lines[1].startswith("+0.000000000,0,")
          and lines[2].startswith("+1.500000001,1,"), lines)
    table = run("dump", log, "--format", "table", "--time", "iso", expect=0).stdout.splitlines()
    check(table[0].split()[0] == "time_utc" and table[1].split()[0] == "2026-12-01T09:50:00.123456789Z", table)
    ns = run("dump", log, "--format", "csv", "--time", "ns", expect=0).stdout
    check(ns == run("dump", log, "--format", "csv", expect=0).stdout, "--time ns is the default")
    # A record older than the first (a multi-producer log): negative relative time.
    older = t.path("older.vrrl")
    import_records(older, 4, [record(2000, 0), record(1500, 1)])
    lines = run("dump", older, "--format", "csv", "--time", "relative", expect=0).stdout.splitlines()
    check(lines[2].startswith("-0.000000500,1,"), lines)


def case_dump_u64_as_string(t):
    # jq 1.6 reads numbers as doubles: 2^64-1 would come back as 18446744073709551616.
    log = t.path("wide.vrrl")
    big = [record(2**64 - 1, 0, failure=[1, "device_loss", 7, 2**64 - 3]), record(2**53 + 1, 1)]
    import_records(log, 8, big)
    lines = run("dump", log, "--u64-as-string", expect=0).stdout.splitlines()
    check(lines[0] == '{"timestamp_ns":"18446744073709551615","slot_idx":0,"tenant_id":0,"opcode":40,'
                     '"args":[0,0,0,0],"epoch":1,"failure":{"slot_status":1,"failure_class":"device_loss",'
                     '"backend_code":7,"output_digest":"18446744073709551613"}}', lines[0])
    check(json.loads(lines[1])["timestamp_ns"] == str(2**53 + 1), lines[1])
    # import reads the strings back: the same bytes.
    copy = t.path("copy.vrrl")
    run("import", copy, "--capacity", "8", stdin="\n".join(lines) + "\n", expect=0)
    check(file_bytes(copy) == file_bytes(log), "the round trip through strings changed the log")
    for bad in ['"1e3"', '"-1"', '" 1"', '""', '"18446744073709551616"']:
        line = lines[1].replace(f'"{2**53 + 1}"', bad)
        result = run("import", t.path("bad.vrrl"), "--capacity", "8", stdin=line + "\n", expect=1)
        check('"timestamp_ns" must be an integer' in result.stderr, result.stderr)
    result = run("import", t.path("bad.vrrl"), "--capacity", "8", stdin=lines[1].replace('"slot_idx":1',
                 '"slot_idx":"1"') + "\n", expect=1)
    check('"slot_idx" must be an integer from 0 to 4294967295, got "1"' in result.stderr, result.stderr)


INFO_KEYS = ["log", "format_version", "flags", "multi_producer", "capacity", "file_size", "cursor", "next_slot",
             "records_in_use", "empty_slots", "bad_slots", "skipped_live", "oldest", "newest", "locked_by_writer"]
STATS_KEYS = ["log", "capacity", "records_in_log", "records", "failures", "min_timestamp_ns", "max_timestamp_ns",
              "span_ns", "records_per_second", "per_opcode", "per_tenant", "per_failure_class", "skipped"]
VERIFY_KEYS = ["log", "clean", "problems", "header_valid", "format_version", "capacity", "flags", "multi_producer",
               "synced", "slots_checked", "records", "empty_slots", "bad_magic_slots", "beyond_cursor", "stale_records",
               "torn_slots", "corrupted_slots", "changed_while_read", "timestamps_backwards", "locked_by_writer",
               "findings", "unlisted_findings"]


def one_json_object(text):
    lines = text.splitlines()
    check(len(lines) == 1, f"expected one line of JSON, got {lines}")
    return json.loads(lines[0])


def case_info_json(t):
    log = t.known_log(capacity=4, count=6)
    info = one_json_object(run("info", log, "--json", expect=0).stdout)
    check(list(info) == INFO_KEYS, list(info))
    check(info == {"log": log, "format_version": 1, "flags": 0, "multi_producer": False, "capacity": 4,
                   "file_size": HEADER + 4 * RECORD, "cursor": 6, "next_slot": 2, "records_in_use": 4,
                   "empty_slots": 0, "bad_slots": 0, "skipped_live": 0,
                   "oldest": {"timestamp_ns": 1020, "slot": 2}, "newest": {"timestamp_ns": 1050, "slot": 1},
                   "locked_by_writer": False}, info)
    wide = one_json_object(run("info", log, "--json", "--u64-as-string", expect=0).stdout)
    check(wide["cursor"] == "6" and wide["oldest"]["timestamp_ns"] == "1020", wide)
    empty = t.path("empty.vrrl")
    append(empty, 16, 0, 0)
    info = one_json_object(run("info", empty, "--json", expect=0).stdout)
    check(info["oldest"] is None and info["newest"] is None and info["records_in_use"] == 0, info)


def case_stats_json(t):
    log = t.known_log(capacity=16, count=10)
    stats = one_json_object(run("stats", log, "--json", expect=0).stdout)
    check(list(stats) == STATS_KEYS, list(stats))
    check(stats["records"] == 10 and stats["records_in_log"] == 10 and stats["failures"] == 2, stats)
    check(stats["min_timestamp_ns"] == 1000 and stats["max_timestamp_ns"] == 1090 and stats["span_ns"] == 90, stats)
    check(abs(stats["records_per_second"] - 10 / 90e-9) < 1, stats)
    check(stats["per_opcode"] == [{"opcode": 40, "records": 5}, {"opcode": 41, "records": 5}], stats)
    check(stats["per_tenant"] == [{"tenant_id": 0, "records": 4}, {"tenant_id": 1, "records": 3},
                                  {"tenant_id": 2, "records": 3}], stats)
    check(stats["per_failure_class"] == [{"failure_class": "device_loss", "records": 1},
                                         {"failure_class": "transient_queue", "records": 1}], stats)
    check(stats["skipped"] == {"bad_slots": 0, "live": 0, "lost": 0}, stats)
    wide = one_json_object(run("stats", log, "--json", "--u64-as-string", expect=0).stdout)
    check(wide["min_timestamp_ns"] == "1000" and wide["span_ns"] == "90", wide)
    selected = one_json_object(run("stats", log, "--json", "--opcode", "41", expect=0).stdout)
    check(selected["records"] == 5 and selected["records_in_log"] == 10 and selected["failures"] == 2, selected)
    empty = t.path("empty.vrrl")
    append(empty, 16, 0, 0)
    stats = one_json_object(run("stats", empty, "--json", expect=0).stdout)
    check(stats["records"] == 0 and stats["span_ns"] is None and stats["records_per_second"] is None, stats)


def case_verify_json(t):
    log = t.known_log(capacity=8, count=5)
    report = one_json_object(run("verify", log, "--json", expect=0).stdout)
    check(list(report) == VERIFY_KEYS, list(report))
    check(report["clean"] and report["problems"] == 0 and report["records"] == 5 and report["empty_slots"] == 3
          and report["findings"] == [] and report["capacity"] == 8, report)
    check(report["format_version"] == 1 and report["synced"] is None and report["torn_slots"] == 0, report)
    flip_bit(log, HEADER + 2 * RECORD + 1, 3)
    report = one_json_object(run("verify", log, "--json", expect=1).stdout)
    check(not report["clean"] and report["problems"] == 1 and report["bad_magic_slots"] == 1, report)
    check(report["findings"] == [{"severity": "problem", "slot": 2, "message": "record magic 0xDEADB6EF is neither "
                                  "0xDEADBEEF (a record) nor 0 (empty)"}], report)
    foreign = t.path("foreign.txt")
    with open(foreign, "w") as f:
        f.write("not a log")
    report = one_json_object(run("verify", foreign, "--json", expect=1).stdout)
    check(not report["header_valid"] and report["findings"][0]["slot"] is None and report["format_version"] is None,
          report)


def case_stats_interval(t):
    log = t.path("rate.vrrl")
    # 3 records in [0, 1ms), none in [1ms, 2ms), 2 in [2ms, 3ms); opcodes 40 and 41; one failure.
    import_records(log, 16, [record(BASE_NS, 0, opcode=40), record(BASE_NS + 100_000, 1, opcode=41),
                             record(BASE_NS + 999_999, 2, opcode=40, failure=[3, "none", 0, 0]),
                             record(BASE_NS + 2_000_000, 3, opcode=41), record(BASE_NS + 2_500_000, 4, opcode=41)])
    out = run("stats", log, "--interval", "1ms", expect=0).stdout
    rows = [line.split() for line in out[out.index("per 1 ms interval"):].splitlines()[1:]]
    check(rows[0] == ["start", "records", "failures", "op", "40", "op", "41"], rows)
    check(rows[1:] == [["+0.000000000", "3", "1", "2", "1"], ["+0.001000000", "0", "0", "0", "0"],
                       ["+0.002000000", "2", "0", "0", "2"]], rows)
    stats = one_json_object(run("stats", log, "--interval", "1ms", "--json", expect=0).stdout)
    check(stats["interval_ns"] == 1_000_000, stats)
    check(stats["intervals"] == [
        {"start_ns": BASE_NS, "records": 3, "failures": 1, "per_opcode": {"40": 2, "41": 1}},
        {"start_ns": BASE_NS + 1_000_000, "records": 0, "failures": 0, "per_opcode": {}},
        {"start_ns": BASE_NS + 2_000_000, "records": 2, "failures": 0, "per_opcode": {"41": 2}}], stats)
    # Too many intervals for the span: a usage error that names a workable interval.
    result = run("stats", log, "--interval", "1ns", expect=2)
    check_one_line_error(result, "more than 100000 intervals", "use --interval")


def case_stats_failure_semantics(t):
    # A failure is a failure class other than none or a non-zero slot_status; evidence alone is not.
    log = t.path("evidence.vrrl")
    import_records(log, 8, [record(1, 0, failure=[0, "none", 0, 12345]),        # digest only: ok
                            record(2, 1, failure=[0, "none", 9, 0]),            # backend code only: ok
                            record(3, 2, failure=[4, "none", 0, 0]),            # status: failure
                            record(4, 3, failure=[0, "program_bug", 0, 0]),     # class: failure
                            record(5, 4)])
    out = run("stats", log, expect=0).stdout
    check("failures      2 " in out, out)
    rows = [line.split() for line in out.splitlines()]
    check(["none", "1", "20.0%"] in rows and ["program_bug", "1", "20.0%"] in rows, out)
    failed = [json.loads(line)["slot_idx"] for line in run("dump", log, "--failed", expect=0).stdout.splitlines()]
    check(failed == [2, 3], failed)
    trace = json.loads(run("export", log, expect=0).stdout)
    names = [e["name"] for e in trace["traceEvents"] if e["ph"] == "X"]
    check(names == ["opcode 40", "opcode 40", "opcode 40 failed", "opcode 40 failed", "opcode 40"], names)


def case_verify_multi_producer(t):
    # Header flags bit 0 (SharedRingLog): records are in claim order, so a step back in time is a note.
    records = {0: expected_record(0), 1: expected_record(1), 2: dict(expected_record(2), timestamp_ns=5)}
    for flags, status in [(1, 0), (0, 1), (1 | 16, 0)]:
        log = t.path(f"flags-{flags}.vrrl")
        write_log(log, 4, 3, records, flags=flags)
        out = run("verify", log, expect=status).stdout
        if flags & 1:
            check("note: slot 2: timestamp 5 ns goes backwards" in out and "claim order" in out
                  and out.count("problem:") == 0 and out.splitlines()[-1].endswith(": clean"), out)
            check("a multi-producer log" in out, out)
            report = one_json_object(run("verify", log, "--json", expect=0).stdout)
            check(report["multi_producer"] and report["timestamps_backwards"] == 1 and report["clean"], report)
            info = info_fields(run("info", log, expect=0).stdout)
            check(info["flags"].startswith(f"0x{flags:08X} (multi-producer"), info)
        else:
            check("problem: slot 2: timestamp 5 ns goes backwards" in out, out)
        if flags & 16:
            check("bits 0x00000010 mean nothing to this vrrl" in out, out)


def case_verify_implausible_cursor(t):
    log = t.path("implausible.vrrl")
    write_log(log, 8, 2**61, {i: expected_record(i) for i in range(8)})
    out = run("verify", log, expect=1).stdout
    check("problem: cursor 2305843009213693952 is at or above 2^61" in out, out)


def trace_events(text):
    trace = json.loads(text)
    check(set(trace) == {"displayTimeUnit", "otherData", "traceEvents"}, list(trace))
    return trace, trace["traceEvents"]


def case_export_chrome_trace(t):
    log = t.known_log(capacity=64, count=40)   # tenants 0..2, opcodes 40/41, failures at i % 4 == 3
    trace, events = trace_events(run("export", log, "--format", "chrome-trace", expect=0).stdout)
    check(trace["displayTimeUnit"] == "ns" and trace["otherData"]["base_timestamp_ns"] == "1000", trace["otherData"])
    by_phase = {}
    for event in events:
        by_phase.setdefault(event["ph"], []).append(event)
    check(set(by_phase) == {"M", "X", "i", "C"}, set(by_phase))
    # Metadata: one process (the log), one named thread track per tenant (tid = tenant + 1).
    names = {(e["name"], e["pid"], e["tid"]): e["args"]["name"] for e in by_phase["M"]}
    check(names == {("process_name", 1, 0): log, ("thread_name", 1, 1): "tenant 0", ("thread_name", 1, 2): "tenant 1",
                    ("thread_name", 1, 3): "tenant 2"}, names)
    # One complete event per dispatch, in replay order, with the record in args, ts exact in microseconds.
    dispatches = by_phase["X"]
    check(len(dispatches) == 40, len(dispatches))
    for i, event in enumerate(dispatches):
        expected = expected_record(i)
        failed = "failure" in expected
        check(event["name"] == f"opcode {expected['opcode']}" + (" failed" if failed else ""), event)
        check(event["cat"] == ("dispatch,failure" if failed else "dispatch") and event["dur"] == 0, event)
        check(event["ts"] == i * 10 / 1000 and event["pid"] == 1 and event["tid"] == expected["tenant_id"] + 1, event)
        args = event["args"]
        check(args["timestamp_ns"] == str(expected["timestamp_ns"]) and args["slot_idx"] == i
              and args["opcode"] == expected["opcode"] and args["args"] == expected["args"]
              and args["epoch"] == expected["epoch"], event)
        if failed:
            check(args["failure"] == dict(expected["failure"], output_digest=str(expected["failure"]["output_digest"])),
                  event)
    check([e["ts"] for e in dispatches] == sorted(e["ts"] for e in dispatches), "dispatches out of order")
    # Each failure is also an instant event, process-scoped, at the dispatch's time.
    instants = by_phase["i"]
    check([(e["ts"], e["s"], e["name"]) for e in instants] ==
          [(d["ts"], "p", "failure: " + d["args"]["failure"]["failure_class"]) for d in dispatches
           if d["cat"] == "dispatch,failure"], instants)
    check(len(instants) == 10, len(instants))
    # Counters: dispatches and failures per interval add up, intervals in order, ending at zero.
    counters = by_phase["C"]
    interval_ns = int(trace["otherData"]["counter_interval_ns"])
    check(interval_ns == 1 and counters[0]["name"] == "dispatches per 1 ns", (interval_ns, counters[0]))  # 390 ns / 200, on the 1-2-5 scale
    check(sum(c["args"]["dispatches"] for c in counters) == 40, counters)
    check(sum(c["args"]["failures"] for c in counters) == 10, counters)
    check([c["ts"] for c in counters] == [k * interval_ns / 1000 for k in range(len(counters))], counters)
    check(counters[-1]["args"] == {"dispatches": 0, "failures": 0}, counters[-1])
    # Selection applies, and a chosen interval is used.
    _, events = trace_events(run("export", log, "--failed", "--tenant", "1", "--interval", "100ns", expect=0).stdout)
    picked = [e["args"]["slot_idx"] for e in events if e["ph"] == "X"]
    check(picked == [7, 19, 31], picked)
    check([e["name"] for e in events if e["ph"] == "C"][0] == "dispatches per 100 ns", events)
    # An empty selection is still a valid trace.
    _, events = trace_events(run("export", log, "--opcode", "7", expect=0).stdout)
    check(events == [], events)


def case_diff(t):
    def run_log(name, records):
        path = t.path(name)
        import_records(path, 64, records)
        return path
    base = [record(1000 + i, i, tenant_id=i % 2, epoch=i // 4) for i in range(12)]   # epochs 0, 1, 2
    a = run_log("a.vrrl", base)
    same = run_log("same.vrrl", [dict(r, timestamp_ns=r["timestamp_ns"] + 77) for r in base])  # times differ only
    swapped = list(base)
    swapped[4], swapped[5] = swapped[5], swapped[4]          # interleaving within epoch 1
    reordered = run_log("reordered.vrrl", swapped)
    changed = [dict(r) for r in base]
    changed[9] = dict(changed[9], opcode=99)                  # epoch 2
    changed_log = run_log("changed.vrrl", changed)
    shorter = run_log("shorter.vrrl", base[:11])
    result = run("diff", a, same, expect=0)
    check(result.stdout == "no divergence: 3 epochs, 12 records compared\n", result.stdout)
    check(run("diff", a, reordered, expect=0).stdout.startswith("no divergence"), "canonical order")
    result = run("diff", a, reordered, "--order", "log", expect=1)
    check(result.stdout.splitlines()[0] == "first divergence: epoch 1, record 0 of the epoch (log order; 4 vs 4 "
          "records in the epoch)", result.stdout)
    result = run("diff", a, changed_log, expect=1)
    lines = result.stdout.splitlines()
    check(lines[0] == "first divergence: epoch 2, record 1 of the epoch (canonical order; 4 vs 4 records in the "
          "epoch)", lines)
    check(lines[1].startswith(f"  {a}: slot_idx=9 tenant_id=1 opcode=40 ") and
          lines[2].startswith(f"  {changed_log}: slot_idx=9 tenant_id=1 opcode=99 "), lines)
    result = run("diff", a, shorter, expect=1)
    check("epoch 2, record 3 of the epoch (canonical order; 4 vs 3" in result.stdout and "(no record)" in result.stdout,
          result.stdout)
    # Trouble is exit 2, as in diff(1).
    check_one_line_error(run("diff", a, t.path("missing.vrrl"), expect=2), "missing.vrrl")


def case_scheduler_example(t):
    # examples/scheduler writes every dispatch from 4 threads into one SharedRingLog, with an
    # output_digest on every record: no failures, a clean verify, and diff finds the perturbed epoch.
    demo = os.environ["SCHEDULER_DEMO"]
    logs = {}
    for name, extra in [("a", []), ("b", []), ("perturbed", ["--perturb", "12"]), ("other", ["--seed", "8"])]:
        logs[name] = t.path(name + ".vrrl")
        seed = [] if name == "other" else ["--seed", "7"]
        subprocess.run([demo, logs[name], "--workers", "4", "--epochs", "30", *seed, *extra], check=True,
                       capture_output=True, timeout=120)
    stats = one_json_object(run("stats", logs["a"], "--json", expect=0).stdout)
    check(stats["failures"] == 0 and stats["per_failure_class"] == [] and stats["records"] > 0, stats)
    check("failures      0 " in run("stats", logs["a"], expect=0).stdout, "stats text")
    result = run("verify", logs["a"], expect=0)
    check("a multi-producer log" in result.stdout and result.stdout.splitlines()[-1].endswith(": clean"),
          result.stdout)
    check(run("diff", logs["a"], logs["b"], expect=0).stdout.startswith("no divergence: 30 epochs"), "same seed")
    check(run("diff", logs["a"], logs["perturbed"], expect=1).stdout.startswith("first divergence: epoch 12,"),
          "perturbed at epoch 12")
    check(run("diff", logs["a"], logs["other"], expect=1).stdout.startswith("first divergence: epoch 0,"),
          "another seed")


def case_v2_log(t):
    # A VRRL v2 log (opt-in format): every command reads it through the library; verify checks it.
    log = t.path("v2.vrrl")
    append(log, 8, 0, 12, "v2")
    check(run("dump", log, expect=0).stdout.splitlines() == [expected_jsonl(i) for i in range(4, 12)], "dump v2")
    info = one_json_object(run("info", log, "--json", expect=0).stdout)
    check(info["format_version"] == 2 and info["records_in_use"] == 8 and info["cursor"] == 12, info)
    check(one_json_object(run("stats", log, "--json", expect=0).stdout)["records"] == 8, "stats v2")
    check(len(run("tail", log, "-n", "3", "--format", "jsonl", expect=0).stdout.splitlines()) == 3, "tail v2")
    result = run("verify", log, expect=0)
    check(result.stdout.splitlines()[-1].endswith(": clean"), result.stdout)
    copy = t.path("copy.vrrl")
    run("import", copy, "--capacity", "8", stdin=run("dump", log, expect=0).stdout, expect=0)
    check(run("dump", copy, expect=0).stdout == run("dump", log, expect=0).stdout, "v2 -> v1 through dump | import")
    run("import", log, stdin=expected_jsonl(12) + "\n", expect=0)   # appends to the v2 log as v2
    check(run("dump", log, expect=0).stdout.splitlines()[-1] == expected_jsonl(12), "import onto v2")


# --- VRRL v2: verify and convert ---------------------------------------------------------

V2_HEADER = 4096
SYNCED = 32          # v2 header: the count the last completed sync made durable
CURSOR = 24


def v2_slot(slot):
    return V2_HEADER + slot * RECORD


def read_at(path, offset, size):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def write_at(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def put_u64(path, offset, value):
    write_at(path, offset, struct.pack("<Q", value))


def damaged_v2_log(t, name="damaged.vrrl"):
    """Capacity 8, records 0..11 (slot i holds sequence 8 + i for i < 4, else i), synced 10: a flipped bit in
    slot 1 (sequence 9, synced) is corrupted, one in slot 3 (sequence 11, after synced) is torn."""
    log = t.path(name)
    append(log, 8, 0, 12, "v2")
    put_u64(log, SYNCED, 10)
    flip_bit(log, v2_slot(1) + 20, 2)   # opcode of sequence 9
    flip_bit(log, v2_slot(3) + 8, 5)    # timestamp of sequence 11
    return log


def power_cut_v2_log(t, name="power-cut.vrrl"):
    """Capacity 4 after a power cut: records 0..7 were appended, but the header on disk says cursor 6 (synced 6)
    and slot 1 still holds sequence 1 (sequence 5 never reached the disk). Window [2, 6): slots 2 and 3 hold
    sequences 6 and 7 (past the cursor), slot 1 is stale, slot 0 holds 4; replay yields 4, 6, 7."""
    log = t.path(name)
    append(log, 4, 0, 4, "v2")
    old_sequence_1 = read_at(log, v2_slot(1), RECORD)
    append(log, 4, 4, 4, "v2")
    write_at(log, v2_slot(1), old_sequence_1)
    put_u64(log, CURSOR, 6)
    put_u64(log, SYNCED, 6)
    return log


def case_verify_v2_torn_and_corrupted(t):
    log = damaged_v2_log(t)
    out = run("verify", log, expect=1).stdout
    check("problem: slot 1: corrupted: commit word 0x" in out and "(sequence 9, or one 64 laps before or after)" in out
          and "a completed sync made sequence 9 durable (synced 10)" in out, out)
    check("problem: slot 3: torn: commit word 0x" in out and "sequence 11 is at or after synced 10" in out
          and "when power was lost" in out, out)
    check(f"{log}: 8 of 8 slots checked (VRRL v2, synced 10): 6 records, 0 empty, 0 stale, 1 torn, 1 corrupted, "
          "0 timestamps going backwards" in out, out)
    check(out.count("problem:") == 2 and out.splitlines()[-1] == f"{log}: 2 problems found", out)
    report = one_json_object(run("verify", log, "--json", expect=1).stdout)
    check(list(report) == VERIFY_KEYS, list(report))
    check(report["format_version"] == 2 and report["synced"] == 10 and report["records"] == 6
          and report["torn_slots"] == 1 and report["corrupted_slots"] == 1 and report["problems"] == 2
          and report["bad_magic_slots"] == 0, report)
    check([(f["severity"], f["slot"]) for f in report["findings"] if f["severity"] == "problem"] ==
          [("problem", 1), ("problem", 3)], report["findings"])   # replay order: oldest (slot 4) first, then 0..3
    # dump reads around them, exits 1 and points at verify.
    result = run("dump", log, expect=1)
    check(result.stdout.splitlines() == [expected_jsonl(i) for i in [4, 5, 6, 7, 8, 10]], result.stdout)
    check_one_line_error(result, "skipped 2 slot(s)", "torn", "corrupted", f"vrrl verify {log}")
    check("does not check v2" not in result.stderr, result.stderr)


def case_verify_v2_power_cut(t):
    # Stale records and records past the cursor are what a power cut leaves: notes, and the log is clean.
    log = power_cut_v2_log(t)
    out = run("verify", log, expect=0).stdout
    check("note: 1 stale record(s) (slot 1): whole records of an older lap" in out
          and "expected after a power cut. Replay steps over them" in out, out)
    check("note: 2 record(s) past the header cursor 6 (slots 2, 3; sequences 6..7)" in out
          and "Replay yields them after the others, in sequence order; a writer that opens the log clears them" in out,
          out)
    check(f"{log}: 4 of 4 slots checked (VRRL v2, synced 6): 3 records (2 past the cursor), 0 empty, 1 stale, 0 torn, "
          "0 corrupted, 0 timestamps going backwards" in out, out)
    check(out.count("problem:") == 0 and out.splitlines()[-1] == f"{log}: clean", out)
    report = one_json_object(run("verify", log, "--json", expect=0).stdout)
    check(report["beyond_cursor"] == 2 and report["stale_records"] == 1 and report["records"] == 3, report)
    # The read commands yield what replay yields, and say what they stepped over.
    result = run("dump", log, expect=0)
    check(result.stdout.splitlines() == [expected_jsonl(i) for i in [4, 6, 7]], result.stdout)
    check("1 record(s) of an older lap were stepped over" in result.stderr
          and "2 record(s) past the header cursor" in result.stderr, result.stderr)
    # Timestamps are checked in replay order, the records past the cursor last: timestamps 10, 20 in the window
    # (slots 0, 1), then 5, 30 past the cursor (slots 2, 3). Slot order would see 5, 30, 10, 20 instead.
    order = t.path("order.vrrl")
    append(order, 4, 0, 0, "v2")
    import_records(order, 4, [record(ts, i) for i, ts in enumerate([1, 2, 3, 4, 10, 20, 5, 30])])
    put_u64(order, CURSOR, 6)
    put_u64(order, SYNCED, 6)
    out = run("verify", order, expect=1).stdout
    check("problem: slot 2: timestamp 5 ns goes backwards from 20 ns in slot 1" in out and out.count("problem:") == 1,
          out)


def case_verify_v2_header_and_size(t):
    log = t.path("v2.vrrl")
    append(log, 8, 0, 5, "v2")
    pristine = file_bytes(log)

    def verify_bytes(content, status=1):
        with open(log, "wb") as f:
            f.write(content)
        return run("verify", log, expect=status).stdout

    out = verify_bytes(pristine[:V2_HEADER + 2 * RECORD + 10])
    check("problem: the file is 4234 bytes, but capacity 8 needs 4608 (truncated): slots 2..7 are missing (slot 2 "
          "only partly)" in out and "2 of 8 slots checked (VRRL v2, synced 5): 2 records" in out, out)
    out = verify_bytes(pristine[:1000])
    check("slots 0..7 are missing (the file ends inside the 4096-byte header page)" in out, out)
    out = verify_bytes(pristine[:36])
    check("ends inside the 40-byte header fields of VRRL v2" in out, out)
    out = verify_bytes(pristine + bytes(3))
    check("3 more than capacity 8 needs (4608)" in out, out)
    out = verify_bytes(pristine[:8] + struct.pack("<I", 7) + pristine[12:])
    check("magic VRRL0002 with format version 7" in out, out)
    out = verify_bytes(pristine[:SYNCED] + struct.pack("<Q", 6) + pristine[SYNCED + 8:])
    check("problem: synced 6 is above the cursor 5" in out, out)
    out = verify_bytes(pristine[:100] + b"\x01" + pristine[101:], status=0)
    check("note: 1 of the reserved header bytes 40..4095 are not zero" in out, out)
    # A damaged slot in a log whose header never saw a sync (synced 0): torn, never corrupted.
    out = verify_bytes(pristine[:SYNCED] + bytes(8) + pristine[SYNCED + 8:V2_HEADER + 30] + b"\xff" +
                       pristine[V2_HEADER + 31:])
    check("problem: slot 0: torn" in out and "sequence 0 is at or after synced 0" in out, out)
    # A foreign word in a slot the appends have not reached (sequence below 0): torn, and said so.
    out = verify_bytes(pristine[:v2_slot(6)] + b"\x01\x02\x03\x04" + pristine[v2_slot(6) + 4:])
    check("problem: slot 6: torn" in out and "its first sequence is past the header's cursor" in out
          and "no sync covered it" in out, out)


def case_verify_recording_v2_segment(t):
    # Recordings hold v1 segments: a v2 log in a stream directory is named for what it is.
    rec = known_recording(t)
    segment = os.path.join(rec, "worker-a", "00000000000000000000.vrrl")
    os.remove(segment)
    append(segment, 4, 0, 4, "v2")
    result = run("verify", rec, expect=1)
    check("problem: `" + segment + "` is a VRRL v2 log: recordings hold v1 segments (segment-format v1)"
          in result.stdout, result.stdout)
    check("worker-a/00000000000000000000.vrrl: 4 of 4 slots" not in result.stdout, result.stdout)
    # Metadata asking for v2 segments is refused as a whole.
    with open(os.path.join(rec, "vrrl-recording.txt"), "a") as f:
        f.write("segment-format v2\n")
    result = run("verify", rec, expect=1)
    check("segments are in format `v2`" in result.stdout, result.stdout)


def slot_bodies(path, header_bytes, capacity):
    """Bytes 4..63 of every slot whose word 0 is not 0, in slot order."""
    data = file_bytes(path)
    bodies = []
    for slot in range(capacity):
        record = data[header_bytes + slot * RECORD:header_bytes + (slot + 1) * RECORD]
        if record[:4] != bytes(4):
            bodies.append(record[4:])
    return bodies


def case_convert_round_trip(t):
    # v1 -> v2 -> v1: the same file, byte for byte, when the ring has not wrapped (the cursor is the count).
    original = t.known_log("original.vrrl", capacity=8, count=5)
    v2 = t.path("v2.vrrl")
    back = t.path("back.vrrl")
    result = run("convert", "--to", "v2", original, v2, expect=0)
    check(result.stdout == f"vrrl convert: wrote {v2} (VRRL v2, capacity 8): 5 records from {original} (VRRL v1, "
          "capacity 8)\n" and result.stderr == "", result)
    check(file_bytes(v2)[:8] == b"VRRL0002" and len(file_bytes(v2)) == V2_HEADER + 8 * RECORD, "not a v2 file")
    check(struct.unpack("<Q", read_at(v2, SYNCED, 8))[0] == 5, "OUT's synced word does not vouch for its records")
    run("verify", v2, expect=0)
    run("convert", "--to", "v1", v2, back, expect=0)
    check(file_bytes(back) == file_bytes(original), "v1 -> v2 -> v1 changed the file")
    # Wrapped: the same records, oldest first (OUT's cursor counts the records written).
    wrapped = t.known_log("wrapped.vrrl", capacity=4, count=10)
    run("convert", "--to", "v2", wrapped, t.path("wrapped-v2.vrrl"), expect=0)
    run("convert", "--to", "v1", t.path("wrapped-v2.vrrl"), t.path("wrapped-back.vrrl"), expect=0)
    dumped = run("dump", wrapped, expect=0).stdout
    check(dumped == run("dump", t.path("wrapped-v2.vrrl"), expect=0).stdout ==
          run("dump", t.path("wrapped-back.vrrl"), expect=0).stdout, "the dumps differ")
    check(dumped.splitlines() == [expected_jsonl(i) for i in range(6, 10)], dumped)
    # Every field byte for byte, a failure_class this vrrl does not know (9) and a multi-producer flag included.
    odd = t.path("odd.vrrl")
    records = [struct.pack("<IQIII4IIIIIQ", 0xDEADBEEF, 2**64 - 1 - i, i, 2**32 - 1, 7, 1, 2, 3, 2**32 - 1, 5,
                           2**32 - 2, 9 if i == 1 else 0, 77, 2**64 - 2) for i in range(3)]
    with open(odd, "wb") as f:
        f.write(b"VRRL0001" + struct.pack("<IIQQ", 1, 1 | 16, 4, 3) + b"".join(records) + bytes(RECORD))
    result = run("convert", "--to", "v2", odd, t.path("odd-v2.vrrl"), expect=0)
    check("(VRRL v2, capacity 4, multi-producer): 3 records" in result.stdout, result.stdout)
    check_one_line_error_free = result.stderr.splitlines()
    check(len(check_one_line_error_free) == 1 and "header flag bits 0x00000010" in result.stderr
          and "not carried over" in result.stderr, result.stderr)
    run("convert", "--to", "v1", t.path("odd-v2.vrrl"), t.path("odd-back.vrrl"), expect=0)
    check(slot_bodies(t.path("odd-v2.vrrl"), V2_HEADER, 4) == [r[4:] for r in records], "v2 bodies differ")
    check(slot_bodies(t.path("odd-back.vrrl"), HEADER, 4) == [r[4:] for r in records], "v1 bodies differ")
    check(struct.unpack("<I", read_at(t.path("odd-back.vrrl"), 12, 4))[0] == 1, "multi-producer flag lost")
    # --capacity: smaller keeps the newest, larger keeps all.
    full = t.known_log("full.vrrl", capacity=8, count=8)
    result = run("convert", "--to", "v2", full, t.path("small.vrrl"), "--capacity", "3", expect=0)
    check("OUT keeps the newest 3 of the 8 records (--capacity 3)" in result.stdout, result.stdout)
    check(run("dump", t.path("small.vrrl"), expect=0).stdout.splitlines() == [expected_jsonl(i) for i in range(5, 8)],
          "smaller capacity")
    run("convert", "--to", "v1", full, t.path("large.vrrl"), "--capacity", "16", expect=0)
    check(info_fields(run("info", t.path("large.vrrl"), expect=0).stdout)["capacity"] == "16 slots", "capacity 16")
    check(run("dump", t.path("large.vrrl"), expect=0).stdout == run("dump", full, expect=0).stdout, "larger capacity")
    # An empty log converts to an empty log.
    empty = t.path("empty.vrrl")
    append(empty, 4, 0, 0)
    run("convert", "--to", "v2", empty, t.path("empty-v2.vrrl"), expect=0)
    check(run("dump", t.path("empty-v2.vrrl"), expect=0).stdout == "", "empty")


def case_convert_v2_damaged_to_v1(t):
    # v2 -> v1 converts only the records that check: exactly the torn and corrupted slots are dropped.
    log = damaged_v2_log(t)
    out = t.path("out.vrrl")
    result = run("convert", "--to", "v1", log, out, expect=1)
    check(result.stdout.startswith(f"vrrl convert: wrote {out} (VRRL v1, capacity 8): 6 records"), result.stdout)
    check_one_line_error(result, "dropped 2 slot(s)", "(1 torn, 1 corrupted)", "first: slot 1",
                         f"vrrl verify {log}")
    check(run("dump", out, expect=0).stdout.splitlines() == [expected_jsonl(i) for i in [4, 5, 6, 7, 8, 10]],
          "not exactly the records that check")
    run("verify", out, expect=0)
    # After a power cut: the stale record is left out and the records past the cursor come last, as replay does.
    cut = power_cut_v2_log(t)
    result = run("convert", "--to", "v1", cut, t.path("cut.vrrl"), expect=0)
    check(run("dump", t.path("cut.vrrl"), expect=0).stdout.splitlines() == [expected_jsonl(i) for i in [4, 6, 7]],
          "power-cut log")
    check("1 stale record(s)" in result.stderr and "past its header cursor" in result.stderr, result.stderr)
    # v1 slots with a foreign magic: dropped the same way.
    v1 = t.known_log("v1.vrrl", capacity=8, count=5)
    flip_bit(v1, HEADER + 2 * RECORD + 1, 3)
    result = run("convert", "--to", "v2", v1, t.path("from-v1.vrrl"), expect=1)
    check_one_line_error(result, "dropped 1 slot(s)", "with a foreign record magic", "first: slot 2")
    check(run("dump", t.path("from-v1.vrrl"), expect=0).stdout.splitlines() ==
          [expected_jsonl(i) for i in [0, 1, 3, 4]], "v1 with a bad magic")


def leftovers(directory):
    return [name for name in os.listdir(directory) if ".convert-" in name or name.startswith(".vrrl-convert-")]


def case_convert_refusals(t):
    log = t.known_log(capacity=8, count=5)
    out = t.path("out.vrrl")
    # IN missing, not a log, truncated: the library's one-line error with a Fix; OUT never appears.
    check_one_line_error(run("convert", "--to", "v2", t.path("missing.vrrl"), out, expect=1), "missing.vrrl",
                         "No such file")
    garbage = t.path("garbage.vrrl")
    with open(garbage, "wb") as f:
        f.write(b"this is not a log, not even close" * 10)
    check_one_line_error(run("convert", "--to", "v2", garbage, out, expect=1), "garbage.vrrl", "VRRL0001")
    truncated = t.known_log("truncated.vrrl", capacity=8, count=5)
    os.truncate(truncated, HEADER + 3 * RECORD)
    check_one_line_error(run("convert", "--to", "v1", truncated, out, expect=1), "truncated.vrrl", "bytes")
    check(not os.path.exists(out), "a failed conversion created OUT")
    # A recording directory: refused, with the ways that work.
    rec = known_recording(t)
    check_one_line_error(run("convert", "--to", "v2", rec, out, expect=1), "is a directory", "vrrl import",
                         "segment")
    # OUT exists: refused and left as it was; --force replaces it.
    with open(out, "w") as f:
        f.write("precious\n")
    check_one_line_error(run("convert", "--to", "v2", log, out, expect=1), "already exists", "--force")
    check(open(out).read() == "precious\n", "OUT was changed")
    run("convert", "--to", "v2", log, out, "--force", expect=0)
    check(run("dump", out, expect=0).stdout == run("dump", log, expect=0).stdout, "--force did not convert")
    # The same file, by name, through a symbolic link or a hard link: refused, even with --force.
    os.symlink(log, t.path("link.vrrl"))
    os.link(log, t.path("hard.vrrl"))
    before = file_bytes(log)
    for same in [log, t.path("link.vrrl"), t.path("hard.vrrl")]:
        check_one_line_error(run("convert", "--to", "v2", log, same, "--force", expect=1), "the same file")
    check(file_bytes(log) == before, "IN was changed")
    # OUT a directory, or in a directory that does not exist.
    check_one_line_error(run("convert", "--to", "v2", log, t.dir, "--force", expect=1), "is a directory")
    check_one_line_error(run("convert", "--to", "v2", log, t.path("no/such/dir/out.vrrl"), expect=1),
                         "does not exist")
    # A log a writer holds open is not replaced (its writer would go on appending to a file nobody can open).
    held = t.known_log("held.vrrl", capacity=8, count=2)
    with open(held, "r+b") as f:
        fcntl.lockf(f, fcntl.LOCK_EX, 1, 0)   # a write lock on byte 0, as the writer's lock probe sees it
        check_one_line_error(run("convert", "--to", "v2", log, held, "--force", expect=1), "a writer holds OUT open")
    check(run("dump", held, expect=0).stdout.splitlines() == [expected_jsonl(0), expected_jsonl(1)], "held log changed")
    # No failure left a temporary file behind.
    check(leftovers(t.dir) == [], leftovers(t.dir))


def case_convert_live_log_never_torn(t):
    # A writer laps an 8-slot v2 log flat out while it is converted to v1 (and back): every record in OUT is
    # whole, and OUT verifies clean.
    log = t.path("live.vrrl")
    append(log, 8, 0, 8, "v2")
    writer = subprocess.Popen([APPEND_RECORDS, log, "8", "8", str(2**32 - 200), "v2"])
    try:
        for n in range(20):
            out = t.path(f"out-{n}.vrrl")
            result = run("convert", "--to", "v1", log, out)
            check(result.returncode == 0, f"exit {result.returncode}: {result.stderr}")
            for line in run("dump", out, expect=0).stdout.splitlines():
                check(line == expected_jsonl(json.loads(line)["slot_idx"]), f"torn record {line}")
            run("verify", out, expect=0)
        check(writer.poll() is None, "the writer finished before the conversions did; the test proved nothing")
    finally:
        writer.kill()
        writer.wait()
    check(leftovers(t.dir) == [], leftovers(t.dir))


def case_recording_dump(t):
    rec = known_recording(t)
    lines = run("dump", rec, expect=0).stdout.splitlines()
    check(lines == [with_stream(i) for i in range(12)], lines)
    picked = run("dump", rec, "--stream", "worker-b", expect=0).stdout.splitlines()
    check(picked == [with_stream(i) for i in range(1, 12, 2)], picked)
    check(run("dump", rec, "--stream", "worker-b,worker-a", expect=0).stdout.splitlines() == lines, "both streams")
    csv = run("dump", rec, "--format", "csv", "--limit", "2", expect=0).stdout.splitlines()
    check(csv[0].startswith("stream,timestamp_ns,") and csv[1].startswith("worker-a,1000,0,")
          and csv[2].startswith("worker-b,1010,1,"), csv)
    table = run("dump", rec, "--format", "table", "--tenant", "1", expect=0).stdout.splitlines()
    check(table[0].split()[:2] == ["stream", "timestamp_ns"] and table[1].split()[:2] == ["worker-b", "1010"], table)
    # The selection and times apply across streams; the first record of the merge anchors +TIME.
    check([json.loads(l)["slot_idx"] for l in run("dump", rec, "--since", "+50ns", "--until", "+80ns",
                                                     expect=0).stdout.splitlines()] == [5, 6, 7], "time range")
    # dump | import puts a recording into one log: the "stream" key is read and left out.
    log = t.path("merged.vrrl")
    run("import", log, "--capacity", "16", stdin="\n".join(lines) + "\n", expect=0)
    check(run("dump", log, expect=0).stdout.splitlines() == [expected_jsonl(i) for i in range(12)], "import")
    bad = run("import", t.path("bad.vrrl"), "--capacity", "4", stdin=lines[0].replace('"worker-a"', "7") + "\n",
              expect=1)
    check('"stream" must be a string' in bad.stderr, bad.stderr)
    # Picking streams that are not there, or on a log.
    check_one_line_error(run("dump", rec, "--stream", "worker-c", expect=1), "no stream `worker-c`",
                         "worker-a, worker-b")
    check_one_line_error(run("dump", log, "--stream", "worker-a", expect=1), "recording directory")
    empty = t.path("empty-dir")
    os.mkdir(empty)
    check_one_line_error(run("dump", empty, expect=1), "not a recording")


def case_recording_info_and_stats(t):
    rec = known_recording(t)
    out = run("info", rec, expect=0).stdout
    fields = info_fields(out)
    check(fields["recording"] == rec and fields["streams"] == "2" and fields["segment capacity"] == "4 slots"
          and fields["records"] == "12" and fields["problems"] == "none", fields)
    check(fields["oldest timestamp"] == "1000 ns (worker-a, sequence 0)"
          and fields["newest timestamp"] == "1110 ns (worker-b, sequence 5)", fields)
    rows = [line.split() for line in out.splitlines()]
    # name, segments (2 with records, perhaps one prepared ahead), first_sequence, end_sequence, dropped
    for name in ["worker-a", "worker-b"]:
        row = next(r for r in rows if r and r[0] == name)
        check(row[1] in ("2", "3") and row[2:] == ["0", "6", "0"], out)
    info = one_json_object(run("info", rec, "--json", expect=0).stdout)
    check(list(info) == ["recording", "segment_capacity", "streams", "records", "lost", "bad_slots", "oldest",
                         "newest", "problems"], list(info))
    stream = dict(info["streams"][0])
    check(stream.pop("segments") in (2, 3), info)
    check(stream == {"name": "worker-a", "first_sequence": 0, "end_sequence": 6, "dropped": 0}
          and info["records"] == 12 and info["lost"] == 0, info)
    check(info["newest"] == {"timestamp_ns": 1110, "stream": "worker-b", "sequence": 5}, info)
    check(info["problems"] == {"foreign_files": [], "damaged_segments": [], "gaps": []}, info)
    stats = one_json_object(run("stats", rec, "--json", expect=0).stdout)
    check(stats["records"] == 12 and stats["capacity"] == 4 and stats["failures"] == 3, stats)
    check(stats["per_stream"] == [{"stream": "worker-a", "records": 6}, {"stream": "worker-b", "records": 6}], stats)
    check(list(stats).index("per_stream") == list(stats).index("per_tenant") + 1, list(stats))
    check(stats["skipped"] == {"bad_slots": 0, "live": 0, "lost": 0}, stats)
    picked = one_json_object(run("stats", rec, "--json", "--stream", "worker-a", expect=0).stdout)
    check(picked["records"] == 6 and picked["per_stream"] == [{"stream": "worker-a", "records": 6}], picked)
    check("records       12 (2 streams, segment capacity 4)" in run("stats", rec, expect=0).stdout, "stats text")


def case_recording_verify(t):
    rec = known_recording(t)
    result = run("verify", rec, expect=0)
    # 4 segments hold the records; a stream's writer may also have prepared its next one, empty.
    summary = result.stdout.splitlines()[-2]
    check(summary.startswith(f"{rec}: 2 streams, ") and summary.endswith(" segments checked: 12 records")
          and result.stdout.splitlines()[-1] == f"{rec}: clean", result.stdout)
    report = one_json_object(run("verify", rec, "--json", expect=0).stdout)
    check(report["clean"] and report["streams"] == 2 and report["records"] == 12 and 4 <= len(report["segments"]) <= 6,
          report)
    # A bit flip in one segment: named by segment and slot.
    segment = os.path.join(rec, "worker-a", "00000000000000000000.vrrl")
    flip_bit(segment, HEADER + 1 * RECORD + 1, 3)
    result = run("verify", rec, expect=1)
    check("problem: worker-a/00000000000000000000.vrrl: slot 1: record magic 0xDEADB6EF" in result.stdout,
          result.stdout)
    dumped = run("dump", rec, expect=1)
    check(len(dumped.stdout.splitlines()) == 11 and "worker-a/00000000000000000000.vrrl" in dumped.stderr,
          dumped.stderr)
    flip_bit(segment, HEADER + 1 * RECORD + 1, 3)
    # A missing segment between two others: a gap; a foreign file in a stream: a problem.
    write_recording(rec, 4, "long", 100, 10)          # segments 0, 4 and 8
    os.remove(os.path.join(rec, "long", "00000000000000000004.vrrl"))
    with open(os.path.join(rec, "worker-a", "notes.txt"), "w") as f:
        f.write("mine\n")
    result = run("verify", rec, expect=1)
    check("problem: stream long: sequences 4..7 are missing" in result.stdout, result.stdout)
    check("notes.txt` is neither a segment nor a stream directory" in result.stdout, result.stdout)
    check(result.stdout.splitlines()[-1] == f"{rec}: 2 problems found", result.stdout)
    # The read commands read around it and say what is missing.
    dumped = run("dump", rec, expect=0)
    check("not in it" in dumped.stderr, dumped.stderr)
    info = one_json_object(run("info", rec, "--json", expect=0).stdout)
    check(info["problems"]["foreign_files"] != [], info)
    # Not a recording at all.
    result = run("verify", t.dir, expect=1)
    check("not a recording" in result.stdout, result.stdout)


def case_recording_verify_stream_time_order(t):
    # A stream whose own timestamps go backwards where one segment ends and the
    # next begins: each segment is clean on its own, the stream is not.
    rec = t.path("backwards")
    write_recording(rec, 4, "s1", 10, 4)    # records 10..13 fill segment 0
    write_recording(rec, 4, "s1", 0, 4)     # records 0..3 (older timestamps) fill segment 4
    result = run("verify", rec, expect=1)
    check("problem: stream s1: timestamp 1000 ns at sequence 4 goes backwards from 1130 ns at sequence 3 "
          "(across a segment boundary)" in result.stdout, result.stdout)
    check(result.stdout.splitlines()[-1] == f"{rec}: 1 problem found", result.stdout)
    # Inside a segment the segment's own check names the slot, once.
    inside = t.path("inside")
    write_recording(inside, 4, "s1", 10, 3)
    write_recording(inside, 4, "s1", 0, 3)
    result = run("verify", inside, expect=1)
    check("slot 3: timestamp 1000 ns goes backwards from 1120 ns" in result.stdout
          and "across a segment boundary" not in result.stdout, result.stdout)
    # In order across the boundary: clean.
    ordered = t.path("ordered")
    write_recording(ordered, 4, "s1", 0, 8)
    run("verify", ordered, expect=0)


def case_recording_export_and_diff(t):
    rec = known_recording(t)
    trace, events = trace_events(run("export", rec, expect=0).stdout)
    processes = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    check(processes == {1: "worker-a", 2: "worker-b"}, processes)
    dispatches = [e for e in events if e["ph"] == "X"]
    check([e["args"]["slot_idx"] for e in dispatches] == list(range(12)), dispatches)
    check(all(e["pid"] == 1 + e["args"]["slot_idx"] % 2 for e in dispatches), "a dispatch on the wrong process")
    # diff: a recording against itself, against a log of the same records, against a changed one.
    same = known_recording(t, "again")
    check(run("diff", rec, same, expect=0).stdout.startswith("no divergence: 1 epochs, 12 records"), "same")
    log = t.known_log("all.vrrl", capacity=16, count=12)
    check(run("diff", rec, log, expect=0).stdout.startswith("no divergence"), "recording vs log")
    other = t.path("other")
    write_recording(other, 4, "worker-a", 0, 6, 2)
    write_recording(other, 4, "worker-b", 1, 5, 2)
    result = run("diff", rec, other, expect=1)
    check("first divergence: epoch 1, record 11 of the epoch" in result.stdout, result.stdout)


def case_recording_tail_follow(t):
    rec = known_recording(t, count=2)   # records 0..3
    follower = TailFollow(rec, "--format", "jsonl", "-n", "2")
    try:
        follower.wait_for(lambda out: len(out) >= 2, "the 2 newest records")
        write_recording(rec, 4, "worker-a", 4, 3, 2)   # 4, 6, 8: the next segment too
        write_recording(rec, 4, "worker-b", 5, 3, 2)   # 5, 7, 9
        follower.wait_for(lambda out: len(out) >= 8, "6 appended records")
        write_recording(rec, 4, "worker-c", 10, 2)     # a new stream: 10, 11
        follower.wait_for(lambda out: len(out) >= 10, "the new stream's records")
    finally:
        follower.interrupt()
    records = [json.loads(line) for line in follower.stdout]
    order = [r["slot_idx"] for r in records]
    # worker-a's and worker-b's new records are written by two processes one
    # after the other: when a poll falls between them, worker-b has been idle
    # for longer than the watermark waits (100 ms), so worker-a's come first
    # (documented). Each stream stays in order, nothing is lost or repeated,
    # and the new stream, written after both were printed, comes last.
    check(order[:2] == [2, 3] and sorted(order) == list(range(2, 12)), records)
    for name in ("worker-a", "worker-b", "worker-c"):
        mine = [r["slot_idx"] for r in records if r["stream"] == name]
        check(mine == sorted(mine), f"{name} out of order: {records}")
    check([r["stream"] for r in records][-2:] == ["worker-c", "worker-c"], records)
    for r in records:
        stream = r.pop("stream")
        check(r == expected_record(r["slot_idx"]), f"{stream}: {r}")
    check(any("new stream" in line for line in follower.stderr), follower.stderr)


# --- tail --------------------------------------------------------------------------------

def case_tail(t):
    log = t.known_log(capacity=8, count=20)
    lines = run("tail", log, "-n", "3", "--format", "jsonl", expect=0).stdout.splitlines()
    check(lines == [expected_jsonl(i) for i in (17, 18, 19)], lines)
    lines = run("tail", log, expect=0).stdout.splitlines()
    check(len(lines) == 9 and lines[0].split()[0] == "timestamp_ns", lines)  # header + the 8 in the ring
    check(run("tail", log, "-n", "0", "--format", "jsonl", expect=0).stdout == "", "tail -n 0")


class TailFollow:
    """A running `vrrl tail -f`, its stdout and stderr collected by threads."""

    def __init__(self, *args):
        self.process = subprocess.Popen([VRRL, "tail", "-f", *map(str, args)], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.stdout, self.stderr = [], []
        self.threads = [threading.Thread(target=self._collect, args=(stream, into), daemon=True)
                        for stream, into in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr))]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _collect(stream, into):
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_for(self, condition, what, timeout=60):
        # Polls for output; the timeout only turns a hang into a failure.
        deadline = time.monotonic() + timeout
        while not condition(list(self.stdout)):
            if self.process.poll() is not None:
                raise AssertionError(f"tail -f exited ({self.process.returncode}) before {what}: {self.stderr}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"timed out waiting for {what}; stdout {self.stdout} stderr {self.stderr}")
            time.sleep(0.01)

    def wait_for_stderr(self, condition, what, timeout=60):
        deadline = time.monotonic() + timeout
        while not condition(list(self.stderr)):
            if self.process.poll() is not None:
                raise AssertionError(f"tail -f exited ({self.process.returncode}) before {what}: {self.stderr}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"timed out waiting for {what}; stdout {self.stdout} stderr {self.stderr}")
            time.sleep(0.01)

    def wait_exit(self, what, timeout=60):
        """The exit status, once tail -f has ended by itself; a hang fails after `timeout`."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"tail -f did not end: {what}; stdout {self.stdout} stderr {self.stderr}")
        for thread in self.threads:
            thread.join(timeout=60)
        return code

    def stop(self, sig=signal.SIGINT):
        self.process.send_signal(sig)
        code = self.wait_exit(f"after signal {sig}")
        check(code == 0, f"tail -f exited {code} on signal {sig}; stderr {self.stderr}")

    def interrupt(self):
        self.stop(signal.SIGINT)


def case_tail_follow(t):
    log = t.known_log(capacity=64, count=3)
    follower = TailFollow(log, "--format", "jsonl")
    try:
        follower.wait_for(lambda out: len(out) >= 3, "the 3 existing records")
        append(log, 64, 3, 5)   # another process appends while tail -f holds the log open
        follower.wait_for(lambda out: len(out) >= 8, "the 5 appended records")
        append(log, 64, 8, 2)
        follower.wait_for(lambda out: len(out) >= 10, "2 more records")
    finally:
        follower.interrupt()
    check(follower.stdout == [expected_jsonl(i) for i in range(10)], follower.stdout)
    check(follower.stderr == [], follower.stderr)
    check(run("info", log, expect=0).stdout.rstrip().endswith("locked by writer  no"), "lock left behind")


def case_tail_follow_lapped(t):
    # The writer appends 1000 records into 8 slots far faster than tail polls:
    # every one of them is either printed or counted as overwritten, in order.
    log = t.known_log(capacity=8, count=3)
    follower = TailFollow(log, "--format", "jsonl", "-n", "3")
    try:
        follower.wait_for(lambda out: len(out) >= 3, "the 3 existing records")
        append(log, 8, 3, 1000)
        last = expected_jsonl(1002)
        follower.wait_for(lambda out: last in out, "the newest record")
    finally:
        follower.interrupt()
    indices = [json.loads(line)["slot_idx"] for line in follower.stdout]
    check(indices == sorted(set(indices)), f"out of order or repeated: {indices}")
    check(indices[:3] == [0, 1, 2], indices)
    lost = 0
    for line in follower.stderr:
        words = line.split()
        check(line.startswith("vrrl tail: ") and line.endswith("records overwritten before they could be read"),
              line)
        lost += int(words[2])
    check(len(indices) - 3 + lost == 1000, f"printed {len(indices) - 3} + lost {lost} != 1000")
    for line in follower.stdout:
        check(line == expected_jsonl(json.loads(line)["slot_idx"]), f"torn record {line}")


def case_tail_follow_replaced_by_rename(t):
    # `mv new.vrrl log`: the path now names another file; tail -f follows it from its oldest record.
    log = t.known_log(capacity=8, count=3)
    follower = TailFollow(log, "--format", "jsonl")
    try:
        follower.wait_for(lambda out: len(out) >= 3, "the 3 existing records")
        replacement = t.path("replacement.vrrl")
        append(replacement, 16, 200, 3)
        os.rename(replacement, log)
        follower.wait_for(lambda out: len(out) >= 6, "the replacement's 3 records")
        append(log, 16, 203, 2)   # and it keeps following the new file
        follower.wait_for(lambda out: len(out) >= 8, "2 records appended to the replacement")
    finally:
        follower.interrupt()
    check(follower.stdout == [expected_jsonl(i) for i in [0, 1, 2, 200, 201, 202, 203, 204]], follower.stdout)
    check(len(follower.stderr) == 1 and "replaced" in follower.stderr[0] and "oldest record" in follower.stderr[0],
          follower.stderr)


def case_tail_follow_removed_and_recreated(t):
    # `rm log` then a writer creates a new log at the same path.
    log = t.known_log(capacity=8, count=3)
    follower = TailFollow(log, "--format", "jsonl")
    try:
        follower.wait_for(lambda out: len(out) >= 3, "the 3 existing records")
        os.remove(log)
        follower.wait_for_stderr(lambda err: any("removed" in line for line in err), "the removal noticed")
        append(log, 8, 100, 5)
        follower.wait_for(lambda out: len(out) >= 8, "the new log's 5 records")
    finally:
        follower.interrupt()
    check(follower.stdout == [expected_jsonl(i) for i in [0, 1, 2, 100, 101, 102, 103, 104]], follower.stdout)
    check(any("replaced" in line for line in follower.stderr), follower.stderr)


def case_tail_follow_truncated(t):
    # Truncated under tail -f (to 0, or shorter than the header promises): a clear error, exit 1, no SIGBUS.
    for size in [0, HEADER + 10 * RECORD]:
        log = t.known_log(f"truncated-{size}.vrrl", capacity=64, count=3)
        follower = TailFollow(log, "--format", "jsonl")
        try:
            follower.wait_for(lambda out: len(out) >= 3, "the 3 existing records")
            os.truncate(log, size)
            code = follower.wait_exit(f"truncated to {size} bytes")
        finally:
            if follower.process.poll() is None:
                follower.process.kill()
        check(code == 1, f"truncated to {size}: exit {code} (a negative code is a signal); stderr {follower.stderr}")
        check(len(follower.stderr) == 1 and "truncated" in follower.stderr[0] and "Fix:" in follower.stderr[0],
              follower.stderr)


def case_tail_follow_implausible_cursor(t):
    # A header cursor within `capacity` of 2^64 is damage: one warning, no spin, SIGTERM still ends it.
    log = t.path("implausible.vrrl")
    write_log(log, 8, 2**64 - 3, {i: expected_record(i) for i in range(8)})
    follower = TailFollow(log, "--format", "jsonl")
    try:
        follower.wait_for_stderr(lambda err: len(err) >= 1, "the warning")
    finally:
        follower.stop(signal.SIGTERM)
    check(follower.stdout == [], follower.stdout)
    check(len(follower.stderr) == 1 and "implausible" in follower.stderr[0] and "vrrl verify" in follower.stderr[0],
          follower.stderr)


def main():
    name = sys.argv[1]
    directory = tempfile.mkdtemp(prefix="vrrl-cli-")
    try:
        globals()["case_" + name](Case(directory))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"cli {name}: ok")


if __name__ == "__main__":
    main()
