#!/usr/bin/env python3
"""Drives `vrrl ship` and `vrrl pull` against nats-server processes it starts itself, one case per meson
test: shipping_test.py CASE.

Every server listens on 127.0.0.1 on free ports with its JetStream store in a temporary directory; every
process is killed by its PID when the case ends, also on failure (harness.py). Waits are on conditions
(the cursor file, the writer's exit) with deadlines, never sleeps standing in for synchronisation.
Each case checks: shipped + reported lost == appended, no duplicate in the stream (read back message by
message, independently of vrrl pull), every record byte for byte, and that the pulled log dumps exactly
like the source. Exits 77 (skipped) only when nats-server is not installed.

Environment: VRRL (the vrrl binary), SHIP_WRITER (test/shipping/ship_writer); VRRL_TEST_KEEP=1 keeps the
temporary directory (logs, server logs, the shipper's output) for a look afterwards.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import json

import harness
from harness import JetStreamClient, NatsServer, check_stream_contents, wait_for

VRRL = os.environ["VRRL"]
SHIP_WRITER = os.environ["SHIP_WRITER"]
SOURCE = "host-1"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def vrrl(*args, expect=None, env=None, timeout=120):
    result = subprocess.run([VRRL, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if expect is not None and result.returncode != expect:
        raise AssertionError(f"vrrl {' '.join(map(str, args))}: exit {result.returncode}, expected {expect}\n"
                             f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def write(log, capacity, count, rate=None):
    args = [SHIP_WRITER, log, capacity, count] + ([rate] if rate else [])
    return int(subprocess.run(list(map(str, args)), check=True, capture_output=True, text=True,
                              timeout=120).stdout)


def start_writer(log, capacity, count, rate):
    return harness.register(subprocess.Popen([SHIP_WRITER, str(log), str(capacity), str(count), str(rate)],
                                             stdout=subprocess.PIPE, text=True))


def start_shipper(log, servers, *args):
    """`vrrl ship` following `log` (no --once), its output in files beside the log."""
    out = open(f"{log}.ship.out", "a")
    err = open(f"{log}.ship.err", "a")
    process = harness.register(subprocess.Popen(
        [VRRL, "ship", str(log), "--server", ",".join(servers), "--stream", "FLEET", "--source-id", SOURCE,
         *map(str, args)], stdout=out, stderr=err))
    out.close()
    err.close()
    return process


def shipped_position(log, stream="FLEET"):
    """next-sequence of the cursor file, or 0 before the first one is written."""
    try:
        with open(f"{log}.ship-{stream}.cursor") as cursor:
            for line in cursor:
                if line.startswith("next-sequence "):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def stop_shipper(process, log):
    os.kill(process.pid, signal.SIGTERM)
    code = process.wait(timeout=60)
    check(code == 0, f"vrrl ship exited {code} after SIGTERM:\n{open(f'{log}.ship.err').read()}")


def pull(servers, out_dir, *args, expect=0, **options):
    result = vrrl("pull", "--server", ",".join(servers), "--stream", "FLEET", out_dir, *args, expect=expect, **options)
    return result


def pulled_tally(result, name):
    """(written, lost, missing, duplicates) from vrrl pull's line for SOURCE:name."""
    match = re.search(rf"^vrrl pull: {re.escape(SOURCE)}:{re.escape(name)}: (\d+) records written .* (\d+) lost "
                      rf"before shipping, (\d+) missing from the stream, (\d+) duplicates dropped$",
                      result.stdout, re.MULTILINE)
    check(match, f"no summary for {name} in:\n{result.stdout}")
    return tuple(int(group) for group in match.groups())


def dump(log):
    return vrrl("dump", log, expect=0).stdout


def check_round_trip(client, log, appended, servers, out_dir, *, lost=0, name="run"):
    """The stream holds each of the log's sequences once; pull rebuilds the log exactly."""
    records, stream_lost, _ = check_stream_contents(client, "FLEET", SOURCE, name, appended)
    check(records + stream_lost == appended, f"{records} records + {stream_lost} lost != {appended} appended")
    check(stream_lost == lost, f"{stream_lost} sequences announced lost, expected {lost}")
    result = pull(servers, out_dir)
    written, pulled_lost, missing, duplicates = pulled_tally(result, name)
    check((written, pulled_lost, missing, duplicates) == (appended - lost, lost, 0, 0),
          f"pull: written {written}, lost {pulled_lost}, missing {missing}, duplicates {duplicates}; expected "
          f"{appended - lost} written, {lost} lost")
    check(dump(os.path.join(out_dir, SOURCE, f"{name}.vrrl")) == dump(log), "the pulled log dumps differently")
    return result


def check_one_line_error(result, *fragments, secrets=()):
    lines = result.stderr.strip().splitlines()
    check(lines and "Fix:" in lines[-1], f"no Fix: hint in {result.stderr!r}")
    for fragment in fragments:
        check(fragment in lines[-1], f"{fragment!r} not in {lines[-1]!r}")
    for secret in secrets:
        check(secret not in result.stderr + result.stdout, "a secret was printed")


# --- cases -------------------------------------------------------------------

def case_single_node(t):
    """--once twice over a log that wraps in between: the overwritten records become one gap message."""
    server = NatsServer(t, "n1")
    server.wait_ready()
    servers = [server.url]
    log = os.path.join(t, "run.vrrl")
    write(log, 4096, 3000)
    first = vrrl("ship", log, "--server", server.url, "--stream", "FLEET", "--source-id", SOURCE, "--once", expect=0)
    check("3000 records shipped" in first.stdout and "0 sequences announced lost" in first.stdout, first.stdout)
    check("created stream FLEET" in first.stderr, first.stderr)
    check(shipped_position(log) == 3000, "cursor file not at 3000")
    appended = write(log, 4096, 5000)  # sequences 3000..7999; the ring keeps 3904..7999
    second = vrrl("ship", log, "--server", server.url, "--stream", "FLEET", "--source-id", SOURCE, "--once", expect=0)
    check("4096 records shipped" in second.stdout and "904 sequences announced lost" in second.stdout, second.stdout)
    client = JetStreamClient(server.port)
    messages_before = client.stream_info("FLEET")["state"]["messages"]
    again = vrrl("ship", log, "--server", server.url, "--stream", "FLEET", "--source-id", SOURCE, "--once", expect=0)
    check("0 records shipped in 0 messages" in again.stdout, again.stdout)
    check(client.stream_info("FLEET")["state"]["messages"] == messages_before, "a third --once published")
    check_round_trip(client, log, appended, servers, os.path.join(t, "pulled"), lost=904)

    # --since: a time after everything was stored selects nothing; a time before selects all.
    later = pull(servers, os.path.join(t, "later"), "--since", "2200-01-01T00:00:00Z")
    check("0 streams from 0 messages" in later.stdout, later.stdout)
    earlier = pull(servers, os.path.join(t, "earlier"), "--since", "1h")
    check(pulled_tally(earlier, "run") == (appended - 904, 904, 0, 0), earlier.stdout)
    # --subject filters by host; a host that never shipped has nothing.
    other = pull(servers, os.path.join(t, "other"), "--subject", "vrrl.nobody")
    check("0 streams from 0 messages" in other.stdout, other.stdout)


def case_restart_without_cursor(t):
    """The cursor file deleted: the shipper probes the stream and publishes nothing twice."""
    server = NatsServer(t, "n1")
    server.wait_ready()
    log = os.path.join(t, "run.vrrl")
    appended = write(log, 8192, 5000)
    vrrl("ship", log, "--server", server.url, "--stream", "FLEET", "--source-id", SOURCE, "--once", "--batch", "100",
         expect=0)
    os.remove(f"{log}.ship-FLEET.cursor")
    appended = write(log, 8192, 1234)
    # Other batch boundaries than the first run: the probe walks the stored ones.
    again = vrrl("ship", log, "--server", server.url, "--stream", "FLEET", "--source-id", SOURCE, "--once",
                 "--batch", "256", expect=0)
    check("5000 already in the stream" in again.stdout and "1234 records shipped" in again.stdout, again.stdout)
    client = JetStreamClient(server.port)
    check_round_trip(client, log, appended, [server.url], os.path.join(t, "pulled"))


def case_follow_live(t):
    """Following a log being written: stops on SIGTERM once everything is acknowledged."""
    server = NatsServer(t, "n1")
    server.wait_ready()
    log = os.path.join(t, "run.vrrl")
    write(log, 65536, 1)  # the log exists before the shipper opens it
    shipper = start_shipper(log, [server.url])
    writer = start_writer(log, 65536, 29999, 20000)
    appended = int(writer.communicate(timeout=120)[0])
    wait_for(lambda: shipped_position(log) == appended, "the shipper to catch up", timeout=60)
    stop_shipper(shipper, log)
    check_round_trip(JetStreamClient(server.port), log, appended, [server.url], os.path.join(t, "pulled"))


def case_shipper_sigkill(t):
    """vrrl ship killed with SIGKILL twice mid-run and restarted: no record twice, none missing."""
    server = NatsServer(t, "n1")
    server.wait_ready()
    log = os.path.join(t, "run.vrrl")
    write(log, 262144, 1)
    writer = start_writer(log, 262144, 59999, 15000)
    shipper = start_shipper(log, [server.url], "--batch", "64")
    for kill_at in (10000, 25000):
        wait_for(lambda: shipped_position(log) >= kill_at, f"the shipper to pass {kill_at}", timeout=60)
        os.kill(shipper.pid, signal.SIGKILL)
        shipper.wait(timeout=10)
        shipper = start_shipper(log, [server.url], "--batch", "64")
    appended = int(writer.communicate(timeout=120)[0])
    wait_for(lambda: shipped_position(log) == appended, "the restarted shipper to catch up", timeout=60)
    stop_shipper(shipper, log)
    err = open(f"{log}.ship.err").read()
    check("in the stream twice" not in open(f"{log}.ship.out").read(), err)
    check_round_trip(JetStreamClient(server.port), log, appended, [server.url], os.path.join(t, "pulled"))


def case_server_restart(t):
    """The only server killed mid-run and restarted on its store: the shipper waits, reconnects, resends
    and nothing is stored twice; killed and left down, the shipper gives up after --max-outage."""
    server = NatsServer(t, "n1")
    server.wait_ready()
    log = os.path.join(t, "run.vrrl")
    write(log, 262144, 1)
    shipper = start_shipper(log, [server.url])
    writer = start_writer(log, 262144, 39999, 10000)
    wait_for(lambda: shipped_position(log) >= 10000, "the shipper to pass 10000", timeout=60)
    server.kill()
    wait_for(lambda: "lost the connection" in open(f"{log}.ship.err").read(), "the shipper to notice", timeout=30)
    server.start()
    server.wait_ready()
    appended = int(writer.communicate(timeout=120)[0])
    wait_for(lambda: shipped_position(log) == appended, "the shipper to catch up", timeout=90)
    stop_shipper(shipper, log)
    check("reconnected to" in open(f"{log}.ship.err").read(), open(f"{log}.ship.err").read())
    check_round_trip(JetStreamClient(server.port), log, appended, [server.url], os.path.join(t, "pulled"))

    # Down for good: a bounded wait, then a clear error; the cursor file stays consistent.
    write(log, 262144, 5000)
    shipper = start_shipper(log, [server.url], "--max-outage", "3")
    wait_for(lambda: shipped_position(log) > appended, "the second shipper to ship", timeout=30)
    server.kill()
    write(log, 262144, 5000)
    code = shipper.wait(timeout=60)
    err = open(f"{log}.ship.err").read()
    check(code == 1 and "no acknowledgement from" in err and "for 3 s" in err and "Fix:" in err, err)
    check(shipped_position(log) > appended, "the cursor file went backwards")


def connected_node(nodes, client_name):
    """The node a client named `client_name` is connected to (from each node's /connz), or None."""
    for node in nodes:
        if node.process.poll() is not None:
            continue
        with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/connz", timeout=5) as reply:
            connections = json.load(reply).get("connections") or []
        if any(connection.get("name") == client_name for connection in connections):
            return node
    return None


def case_cluster_node_kill(t):
    """A 3-node cluster, 3 replicas: first the node the shipper is connected to is killed (the client
    reconnects), restarted; then the stream leader is killed (a new leader is elected) and restarted."""
    nodes = harness.start_cluster(t, 3)
    servers = [node.url for node in nodes]
    log = os.path.join(t, "run.vrrl")
    write(log, 262144, 1)
    shipper = start_shipper(log, servers, "--replicas", "3")
    writer = start_writer(log, 262144, 119999, 10000)

    def leader_of_stream(client):
        info = client.stream_info("FLEET")
        return info.get("cluster", {}).get("leader")

    def kill_and_restart(victim, resume_at):
        victim.kill()
        wait_for(lambda: shipped_position(log) >= resume_at, f"shipping to pass {resume_at} with two nodes", timeout=90)
        victim.start()
        victim.wait_ready()

    wait_for(lambda: shipped_position(log) >= 20000, "the shipper to pass 20000", timeout=60)
    connected = wait_for(lambda: connected_node(nodes, f"vrrl ship {SOURCE}:run"), "the shipper's node", timeout=30)
    kill_and_restart(connected, 45000)
    wait_for(lambda: shipped_position(log) >= 60000, "the shipper to pass 60000", timeout=60)
    survivor = next(node for node in nodes if node is not connected)
    client = JetStreamClient(survivor.port)
    leader_name = wait_for(lambda: leader_of_stream(client), "the stream to have a leader", timeout=60)
    leader = next(node for node in nodes if node.name == leader_name)
    client.close()
    kill_and_restart(leader, 85000)
    appended = int(writer.communicate(timeout=120)[0])
    wait_for(lambda: shipped_position(log) == appended, "the shipper to catch up", timeout=90)
    stop_shipper(shipper, log)
    err = open(f"{log}.ship.err").read()
    check("lost the connection to the NATS server" in err and "reconnected to" in err, err)
    client = JetStreamClient(next(node for node in nodes if node is not leader).port)
    check_round_trip(client, log, appended, [node.url for node in nodes], os.path.join(t, "pulled"))


def case_recording_directory(t):
    """A recording: each stream directory ships as its own name, segments in order; a deleted or missing
    segment is announced lost; a stream that appears while following is picked up."""
    run = os.path.join(t, "RUN")
    harness.write_recording(run, 1024, {
        "worker-1": [(0, 1024), (1024, 1024), (2048, 453)],  # 2501 records, the newest segment partial
        "worker-2": [(2048, 53)],                          # 0..2047 deleted by retention before shipping
        "worker-3": [(0, 1024), (2048, 1024), (3072, 29)],  # the segment at 1024 is missing
    })
    server = NatsServer(t, "n1")
    server.wait_ready()
    result = vrrl("ship", run, "--server", server.url, "--stream", "FLEET", "--source-id", SOURCE, "--once", expect=0)
    check("(3 streams)" in result.stdout and "4631 records shipped" in result.stdout
          and "3072 sequences announced lost" in result.stdout, result.stdout)
    client = JetStreamClient(server.port)
    expected = {"worker-1": (2501, 0), "worker-2": (53, 2048), "worker-3": (2077, 1024)}
    for name, (records, lost) in expected.items():
        appended = records + lost
        check(check_stream_contents(client, "FLEET", SOURCE, name, appended)[:2] == (records, lost), name)
    again = vrrl("ship", run, "--server", server.url, "--stream", "FLEET", "--source-id", SOURCE, "--once", expect=0)
    check("0 records shipped in 0 messages" in again.stdout, again.stdout)

    pulled = pull([server.url], os.path.join(t, "pulled"), "--capacity", "8192")
    for name, (records, lost) in expected.items():
        check(pulled_tally(pulled, name) == (records, lost, 0, 0), pulled.stdout)
        segments = sorted(f for f in os.listdir(os.path.join(run, name)) if f.endswith(".vrrl"))
        source_dump = "".join(dump(os.path.join(run, name, segment)) for segment in segments)
        check(dump(os.path.join(t, "pulled", SOURCE, f"{name}.vrrl")) == source_dump, f"{name} dumps differently")

    # Following: a stream directory created later is shipped too.
    shipper = start_shipper(run, [server.url])
    harness.write_recording(run, 1024, {"worker-4": [(0, 700)]})
    cursor = os.path.join(run, "worker-4", ".ship-FLEET.cursor")

    def worker_4_shipped():
        try:
            return "next-sequence 700\n" in open(cursor).read()
        except FileNotFoundError:
            return False

    wait_for(worker_4_shipped, "the new stream to be shipped", timeout=60)
    os.kill(shipper.pid, signal.SIGTERM)
    check(shipper.wait(timeout=60) == 0, open(f"{run}.ship.err").read())
    check(check_stream_contents(client, "FLEET", SOURCE, "worker-4", 700)[:2] == (700, 0), "worker-4")


def case_tls_and_auth(t):
    """TLS with a CA made here, token and user/password authorization; secrets never printed."""
    ca, cert, key = harness.make_certificates(t)
    token = "t0ken-" + os.urandom(8).hex()
    server = NatsServer(t, "tls", token=token, tls=(cert, key))
    server.wait_ready()
    log = os.path.join(t, "run.vrrl")
    appended = write(log, 4096, 2000)
    token_file = os.path.join(t, "token")
    with open(token_file, "w") as out:
        out.write(token + "\n")
    os.chmod(token_file, 0o600)
    base = ["ship", log, "--server", server.url, "--stream", "FLEET", "--source-id", SOURCE, "--once",
            "--connect-attempts", "2"]

    wrong_file = os.path.join(t, "wrong-token")
    with open(wrong_file, "w") as out:
        out.write("not-the-token\n")
    os.chmod(wrong_file, 0o600)
    refused = vrrl(*base, "--tls-ca", ca, "--token-file", wrong_file, expect=1)
    check_one_line_error(refused, "refused the credentials", secrets=(token, "not-the-token"))
    refused_env = vrrl(*base, "--tls-ca", ca, expect=1, env={"VRRL_NATS_TOKEN": "env-wrong-token"})
    check_one_line_error(refused_env, "refused the credentials", secrets=(token, "env-wrong-token"))
    anonymous = vrrl(*base, "--tls-ca", ca, expect=1)
    check_one_line_error(anonymous, "requires authentication", "and none was given")
    untrusted = vrrl(*base, "--token-file", token_file, expect=1)
    check_one_line_error(untrusted, "TLS", secrets=(token,))
    plain = vrrl("ship", log, "--server", f"nats://127.0.0.1:{server.port}", "--stream", "FLEET", "--source-id",
                 SOURCE, "--once", "--connect-attempts", "1", "--token-file", token_file, expect=1)
    check_one_line_error(plain, "TLS handshake", secrets=(token,))  # the client upgrades, then cannot verify

    shipped = vrrl(*base, "--tls-ca", ca, "--token-file", token_file, expect=0)
    check("2000 records shipped" in shipped.stdout, shipped.stdout)
    check(token not in shipped.stdout + shipped.stderr, "the token was printed")
    client = JetStreamClient(server.port, token=token, tls_ca=ca)
    records, lost, _ = check_stream_contents(client, "FLEET", SOURCE, "run", appended)
    check((records, lost) == (appended, 0), (records, lost))
    pulled = pull([server.url], os.path.join(t, "pulled"), "--tls-ca", ca, env={"VRRL_NATS_TOKEN": token})
    check(pulled_tally(pulled, "run") == (appended, 0, 0, 0), pulled.stdout)
    check(dump(os.path.join(t, "pulled", SOURCE, "run.vrrl")) == dump(log), "the pulled log dumps differently")

    # user/password on a second server; a password file readable by others gets a note.
    password = "pw-" + os.urandom(8).hex()
    users = NatsServer(t, "users", users=[("shipper", password)])
    users.wait_ready()
    password_file = os.path.join(t, "password")
    with open(password_file, "w") as out:
        out.write(password + "\n")
    os.chmod(password_file, 0o644)
    ok = vrrl("ship", log, "--server", users.url, "--stream", "FLEET", "--source-id", SOURCE, "--once",
              "--cursor-dir", t, "--user", "shipper", "--password-file", password_file, expect=0)
    check("chmod 600" in ok.stderr and "2000 records shipped" in ok.stdout, ok.stdout + ok.stderr)
    bad = vrrl("ship", log, "--server", users.url, "--stream", "FLEET", "--source-id", SOURCE, "--once",
               "--connect-attempts", "1", "--user", "shipper", expect=1, env={"VRRL_NATS_PASSWORD": "wrong-password"})
    check_one_line_error(bad, "refused the credentials", secrets=(password, "wrong-password"))
    in_url = vrrl("ship", log, "--server", f"nats://shipper:wrong-password@127.0.0.1:{users.port}", "--stream",
                  "FLEET", "--source-id", SOURCE, "--once", "--connect-attempts", "1", expect=1)
    check_one_line_error(in_url, "refused the credentials", secrets=("wrong-password",))


def case_unreachable(t):
    """Nothing listens: a clear error after the bounded retries, for ship and for pull."""
    port = harness.free_ports(1)[0]
    log = os.path.join(t, "run.vrrl")
    write(log, 64, 10)
    started = time.monotonic()
    result = vrrl("ship", log, "--server", f"nats://127.0.0.1:{port}", "--stream", "FLEET", "--once",
                  "--connect-attempts", "3", expect=1)
    check(time.monotonic() - started < 30, "the retries were not bounded")
    check_one_line_error(result, f"no NATS server answered at nats://127.0.0.1:{port} after 3 attempts",
                         "start nats-server")
    check(result.stderr.count("retrying in") == 2, result.stderr)
    check(not os.path.exists(f"{log}.ship-FLEET.cursor"), "a cursor file was written")
    pulled = vrrl("pull", "--server", f"127.0.0.1:{port}", "--stream", "FLEET", os.path.join(t, "out"),
                  "--connect-attempts", "1", expect=1)
    check_one_line_error(pulled, "no NATS server answered")


def case_incompatible_stream(t):
    """A stream that exists with settings vrrl ship cannot work with: the error names the setting."""
    server = NatsServer(t, "n1")
    server.wait_ready()
    client = JetStreamClient(server.port)
    log = os.path.join(t, "run.vrrl")
    write(log, 64, 10)

    def ship(stream, *args):
        return vrrl("ship", log, "--server", server.url, "--stream", stream, "--source-id", SOURCE, "--once", *args,
                    expect=1)

    base = {"storage": "file", "num_replicas": 1, "subjects": ["vrrl.>"]}
    created = client.create_stream({**base, "name": "WORK", "retention": "workqueue"})
    check("error" not in created, created)
    check_one_line_error(ship("WORK"), "stream WORK exists with retention workqueue")
    client.create_stream({**base, "name": "SMALL", "subjects": ["small.>"], "max_msg_size": 1000})
    check_one_line_error(ship("SMALL", "--subject", "small.host-1"), "max_msg_size 1000 bytes")
    client.create_stream({**base, "name": "OTHER", "subjects": ["other.>"]})
    check_one_line_error(ship("OTHER"), "subjects other.>, which do not capture vrrl.host-1")
    client.create_stream({**base, "name": "NODUP", "subjects": ["nodup.>"], "duplicate_window": 1_000_000_000})
    check_one_line_error(ship("NODUP", "--subject", "nodup.h"), "duplicate_window 1000 ms")
    client.create_stream({**base, "name": "R1", "subjects": ["r1.>"]})
    check_one_line_error(ship("R1", "--subject", "r1.h", "--replicas", "3"), "replicas 1, but --replicas 3")
    check_one_line_error(ship("NEW3", "--subject", "new3.h", "--replicas", "3"), "not part of a cluster")
    check(not os.path.exists(f"{log}.ship-WORK.cursor"), "a cursor file was written")


def case_bad_arguments(t):
    """Usage errors exit 2; bad inputs exit 1 with a Fix; no server needed."""
    log = os.path.join(t, "run.vrrl")
    write(log, 64, 10)
    url = "nats://127.0.0.1:1"
    for args, fragment in [
        (["--stream", "a.b"], "is not a JetStream stream name"),
        (["--stream", "S", "--subject", "a..b"], "is not a subject"),
        (["--stream", "S", "--subject", "vrrl.*"], "is not a subject"),
        (["--stream", "S", "--source-id", "../etc"], "--source-id"),
        (["--stream", "S", "--name", ".hidden"], "--name"),
        (["--stream", "S", "--batch", "0"], "--batch"),
        (["--stream", "S", "--batch", "5000"], "--batch"),
    ]:
        result = vrrl("ship", log, "--server", url, *args, expect=2)
        check(fragment in result.stderr and "Fix:" in result.stderr, (args, result.stderr))
    result = vrrl("ship", log, "--server", "kafka://127.0.0.1:9092", "--stream", "S", expect=2)
    check("only nats:// and tls://" in result.stderr, result.stderr)
    empty = os.path.join(t, "empty-token")
    open(empty, "w").close()
    result = vrrl("ship", log, "--server", url, "--stream", "S", "--token-file", empty, expect=1)
    check_one_line_error(result, "is empty")
    result = vrrl("ship", log, "--server", url, "--stream", "S", "--token-file", empty + "-missing", expect=1)
    check_one_line_error(result, "cannot read the token file")
    result = vrrl("ship", os.path.join(t, "missing.vrrl"), "--server", url, "--stream", "S", expect=1)
    check("missing.vrrl" in result.stderr and "Fix:" in result.stderr, result.stderr)
    os.makedirs(os.path.join(t, "full"))
    open(os.path.join(t, "full", "x"), "w").close()
    result = vrrl("pull", "--server", url, "--stream", "S", os.path.join(t, "full"), expect=1)
    check_one_line_error(result, "is not empty")
    result = vrrl("pull", "--server", url, "--stream", "S", os.path.join(t, "out"), "--since", "yesterday", expect=2)
    check("--since" in result.stderr and "Fix:" in result.stderr, result.stderr)
    # A cursor file from another shipper identity, and a cursor past the log's end.
    with open(f"{log}.ship-S.cursor", "w") as out:
        out.write("vrrl-ship-cursor 1\nsource other\nname run\nstream S\nnext-sequence 5\n")
    result = vrrl("ship", log, "--server", url, "--stream", "S", "--source-id", SOURCE, expect=1)
    check_one_line_error(result, "was written for source other")
    with open(f"{log}.ship-S.cursor", "w") as out:
        out.write(f"vrrl-ship-cursor 1\nsource {SOURCE}\nname run\nstream S\nnext-sequence 99\n")
    result = vrrl("ship", log, "--server", url, "--stream", "S", "--source-id", SOURCE, expect=1)
    check_one_line_error(result, "has only 10 records: it was recreated")
    with open(f"{log}.ship-S.cursor", "w") as out:
        out.write("garbage\n")
    result = vrrl("ship", log, "--server", url, "--stream", "S", "--source-id", SOURCE, expect=1)
    check_one_line_error(result, "is not one vrrl ship wrote")


def main():
    if len(sys.argv) != 2:
        print("usage: shipping_test.py CASE", file=sys.stderr)
        return 2
    case = globals().get("case_" + sys.argv[1])
    if case is None:
        print(f"unknown case {sys.argv[1]}", file=sys.stderr)
        return 2
    if harness.nats_server_binary() is None:
        print("SKIP: nats-server is not installed (Debian: apt-get install nats-server; scripts/install-deps does it)")
        return 77
    directory = tempfile.mkdtemp(prefix="vrrl-shipping-")
    try:
        case(directory)
    except BaseException:
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if name.endswith((".ship.err", ".ship.out")):
                print(f"--- {name}:\n{open(path).read()[-4000:]}", file=sys.stderr)
            server_log = os.path.join(path, "server.log")
            if os.path.exists(server_log):
                print(f"--- {name}/server.log (tail):\n{open(server_log, errors='replace').read()[-3000:]}",
                      file=sys.stderr)
        raise
    finally:
        harness.stop_all()
        if os.environ.get("VRRL_TEST_KEEP"):
            print(f"kept {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    print(f"{sys.argv[1]}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
