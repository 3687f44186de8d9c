"""What the shipping tests and the throughput script share (standard library only):

* NatsServer: a nats-server process on 127.0.0.1 with JetStream in a temporary
  directory, optionally clustered, with TLS and token or user authorization.
  Every process started is registered and killed by its PID at exit, also when
  a test fails.
* JetStreamClient: a minimal NATS protocol client (request/reply over the
  $JS.API subjects) to create streams the shipper must refuse, find the stream
  leader, and read every stored message as an independent oracle.
* decode_message / expected_record: the vrrl ship message format and the
  self-checking records ship_writer appends (test/support/self_checking_record.hpp).
"""
import atexit
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time
import urllib.request

_processes = []


def register(process):
    _processes.append(process)
    return process


def stop_all():
    for process in _processes:
        if process.poll() is None:
            try:
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


atexit.register(stop_all)


def free_ports(count):
    """Ports nothing listens on right now (bound to port 0, then released together)."""
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def wait_for(condition, what, timeout=60.0, interval=0.05):
    """Polls condition() until it returns a true value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def nats_server_binary():
    return os.environ.get("NATS_SERVER") or shutil.which("nats-server") or (
        "/usr/bin/nats-server" if os.path.exists("/usr/bin/nats-server") else None)


class NatsServer:
    """One nats-server. `cluster` is (cluster_port, [route ports]) for a cluster node."""

    def __init__(self, directory, name, cluster=None, token=None, users=None, tls=None):
        self.dir = os.path.join(directory, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.port, self.http_port = free_ports(2)
        self.token = token
        self.tls = tls
        lines = [
            f'server_name: "{name}"',
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.http_port}",
            "jetstream {",
            f'  store_dir: "{os.path.join(self.dir, "jetstream")}"',
            "  max_memory_store: 64MB",
            "  max_file_store: 1GB",
            "}",
        ]
        if cluster:
            cluster_port, routes = cluster
            lines += ["cluster {", '  name: "vrrl-test"', f"  listen: 127.0.0.1:{cluster_port}", "  routes: ["]
            lines += [f"    nats-route://127.0.0.1:{port}" for port in routes]
            lines += ["  ]", "}"]
        if token:
            lines += ["authorization {", f'  token: "{token}"', "}"]
        if users:
            lines += ["authorization {", "  users: ["]
            lines += [f'    {{user: "{user}", password: "{password}"}}' for user, password in users]
            lines += ["  ]", "}"]
        if tls:
            cert, key = tls
            lines += ["tls {", f'  cert_file: "{cert}"', f'  key_file: "{key}"', "  timeout: 5", "}"]
        self.config = os.path.join(self.dir, "nats.conf")
        with open(self.config, "w") as out:
            out.write("\n".join(lines) + "\n")
        self.process = None
        self.start()

    @property
    def url(self):
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"

    def start(self):
        log = open(os.path.join(self.dir, "server.log"), "ab")
        self.process = register(subprocess.Popen([nats_server_binary(), "-c", self.config], stdout=log,
                                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        log.close()

    def healthy(self):
        if self.process.poll() is not None:
            raise AssertionError(f"nats-server {self.name} exited with {self.process.returncode}; see "
                                 f"{os.path.join(self.dir, 'server.log')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout=60):
        wait_for(self.healthy, f"nats-server {self.name} to report healthy", timeout)

    def kill(self):
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError:
            return ""


def start_cluster(directory, size=3, **options):
    """`size` nodes routed to each other; returns them once each is healthy."""
    cluster_ports = free_ports(size)
    nodes = [NatsServer(directory, f"n{i + 1}", cluster=(cluster_ports[i], [p for p in cluster_ports if p != cluster_ports[i]]),
                        **options) for i in range(size)]
    for node in nodes:
        node.wait_ready()
    return nodes


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1/localhost, made with openssl. Returns (ca, cert, key)."""
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    ca_key, ca_cert = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr, cert = (os.path.join(directory, name) for name in ("server.key", "server.csr", "server.pem"))
    extensions = os.path.join(directory, "server.ext")
    with open(extensions, "w") as out:
        out.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")

    def run(*args):
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_cert, "-days", "2",
        "-subj", "/CN=vrrl test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
        "-extfile", extensions)
    return ca_cert, cert, key


class JetStreamClient:
    """Just enough of the NATS protocol for request/reply to the JetStream API."""

    def __init__(self, port, token=None, tls_ca=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        info = json.loads(self._line()[5:])
        if info.get("tls_required"):
            context = ssl.create_default_context(cafile=tls_ca)
            self.sock = context.wrap_socket(self.sock, server_hostname="127.0.0.1")
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True, "protocol": 1}
        if token:
            connect["auth_token"] = token
        self.sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        reply = self._line()
        if not reply.startswith(b"PONG"):
            raise AssertionError(f"NATS refused the test client: {reply!r}")
        self.inbox = "_INBOX.vrrltest"
        self.sock.sendall(f"SUB {self.inbox}.* 1\r\n".encode())
        self.counter = 0

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError("the NATS server closed the test client's connection")
        self.buffer += data

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exact(self, size):
        while len(self.buffer) < size + 2:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
        return data

    def request(self, subject, payload=b""):
        self.counter += 1
        reply_to = f"{self.inbox}.{self.counter}"
        self.sock.sendall(f"PUB {subject} {reply_to} {len(payload)}\r\n".encode() + payload + b"\r\n")
        while True:
            line = self._line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
                continue
            if line.startswith(b"-ERR"):
                raise AssertionError(f"NATS error: {line!r}")
            parts = line.split()
            if parts[0] == b"MSG":
                body = self._exact(int(parts[-1]))
                headers = b""
            elif parts[0] == b"HMSG":
                header_size, total = int(parts[-2]), int(parts[-1])
                data = self._exact(total)
                headers, body = data[:header_size], data[header_size:]
            else:
                continue
            if parts[1].decode() == reply_to:
                if headers.startswith(b"NATS/1.0 503"):
                    raise AssertionError(f"no responders for {subject}")
                return body

    def api(self, subject, request=None):
        body = self.request("$JS.API." + subject, json.dumps(request).encode() if request is not None else b"")
        return json.loads(body)

    def stream_info(self, name):
        return self.api(f"STREAM.INFO.{name}")

    def create_stream(self, config):
        return self.api(f"STREAM.CREATE.{config['name']}", config)

    def stored_messages(self, name):
        """Every message in the stream, in stream order: (sequence, headers dict, payload bytes)."""
        state = self.stream_info(name)["state"]
        messages = []
        for sequence in range(state["first_seq"], state["last_seq"] + 1):
            reply = self.api(f"STREAM.MSG.GET.{name}", {"seq": sequence})
            if "error" in reply:
                continue  # deleted
            message = reply["message"]
            headers = {}
            for line in base64.b64decode(message.get("hdrs", "")).decode().split("\r\n")[1:]:
                if ": " in line:
                    key, value = line.split(": ", 1)
                    headers[key] = value
            messages.append((message["seq"], headers, base64.b64decode(message.get("data", ""))))
        return messages


# --- the vrrl ship message format (tools/vrrl/ship/message.hpp) -------------

def decode_message(payload):
    """(kind, source, stream, first, count, capacity, records bytes) of a vrrl ship message."""
    magic, version, kind, source_length, stream_length, first, count, capacity, reserved = struct.unpack_from(
        "<4sBBBBQQII", payload)
    assert magic == b"VRSH" and version == 1 and reserved == 0, payload[:32]
    names = payload[32:32 + source_length + stream_length]
    records = payload[32 + source_length + stream_length:]
    assert kind in (1, 2)
    assert len(records) == (64 * count if kind == 1 else 0)
    return kind, names[:source_length].decode(), names[source_length:].decode(), first, count, capacity, records


# --- test/support/self_checking_record.hpp, as bytes ------------------------

MASK64 = (1 << 64) - 1


def mix64(value):
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def mix32(key, field):
    return mix64((key * 16 + field) & MASK64) & 0xFFFFFFFF


def expected_record(sequence):
    """The 64 bytes of a single writer's `sequence`-th self-checking record."""
    key = sequence  # producer 0
    args = [mix32(key, 3 + k) for k in range(4)]
    return struct.pack("<IQIII4IIIIIQ", 0xDEADBEEF, key, mix32(key, 1), 0, mix32(key, 2), *args,
                       sequence & 0xFFFFFFFF, mix32(key, 8), key % 5, mix32(key, 9), mix64(key))


def write_segment(path, capacity, first, count):
    """A recording segment written by hand: a v1 log whose cursor is the stream's count (first + count),
    holding ship_writer's records first .. first + count - 1 in slots (s - first). Built under a
    hidden name and renamed into place, as vrrl's writer makes segments appear complete."""
    hidden = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".creating")
    with open(hidden, "wb") as out:
        out.write(b"VRRL0001" + struct.pack("<IIQQ", 1, 0, capacity, first + count))
        for sequence in range(first, first + count):
            out.write(expected_record(sequence))
        out.write(bytes(64 * (capacity - count)))
    os.rename(hidden, path)


def write_recording(directory, capacity, streams):
    """streams: {name: [(first, count), ...]} -> a recording directory (PLAN.md layout)."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "vrrl-recording.txt"), "w") as out:
        out.write(f"vrrl-recording 1\n# written by the shipping tests\nsegment-format v1\nsegment-capacity {capacity}\n")
    for name, segments in streams.items():
        os.makedirs(os.path.join(directory, name), exist_ok=True)
        for first, count in segments:
            write_segment(os.path.join(directory, name, f"{first:020d}.vrrl"), capacity, first, count)


def check_stream_contents(client, stream, source, name, appended):
    """The oracle: the stream holds every sequence of (source, name) below `appended` exactly once, as a
    record equal to what ship_writer appended or inside a gap message. Returns (records, lost, messages)."""
    covered = []
    records = lost = messages = 0
    for sequence, headers, payload in client.stored_messages(stream):
        kind, got_source, got_name, first, count, _, body = decode_message(payload)
        if (got_source, got_name) != (source, name):
            continue
        messages += 1
        expected_id = f"{source}:{name}:{first}"
        assert headers.get("Nats-Msg-Id") == expected_id, (headers, expected_id)
        covered.append((first, first + count))
        if kind == 1:
            records += count
            for i in range(count):
                assert body[64 * i:64 * i + 64] == expected_record(first + i), f"record {first + i} differs"
        else:
            lost += count
    covered.sort()
    position = 0
    for first, end in covered:
        assert first == position, (f"sequences {position}..{first - 1} are missing" if first > position
                                   else f"sequences {first}..{min(end, position) - 1} are in the stream twice")
        position = end
    assert position == appended, f"the stream covers sequences up to {position}, the log has {appended}"
    return records, lost, messages
