"""Readiness probe for the local Cassandra node (used by scripts/cassandra/ctl.sh).

    python probe.py PORT [driver|cql]

Runs `SELECT release_version FROM system.local` against 127.0.0.1:PORT and prints the
version. Exit 0 when the query answered, 1 otherwise, 2 when mode "driver" was asked
but the Python driver (scylla-driver / cassandra-driver) cannot be imported.

- "driver": through the `cassandra` package (what the application uses).
- "cql": one CQL v4 round trip (STARTUP, QUERY) over a plain socket; stdlib only.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

HOST = "127.0.0.1"
TIMEOUT = 5.0


def probe_driver(port: int) -> str:
    import logging

    logging.getLogger("cassandra").setLevel(logging.CRITICAL)
    from cassandra.cluster import Cluster

    cluster = Cluster(
        [HOST], port=port, connect_timeout=TIMEOUT, control_connection_timeout=TIMEOUT
    )
    try:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local", timeout=TIMEOUT).one()
        return str(row[0])
    finally:
        cluster.shutdown()


# --- stdlib CQL native protocol v4 -------------------------------------------------
OP_ERROR, OP_STARTUP, OP_READY, OP_AUTHENTICATE, OP_QUERY, OP_RESULT = 0, 1, 2, 3, 7, 8


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    return buf


class _Reader:
    def __init__(self, body: bytes) -> None:
        self.b, self.i = body, 0

    def take(self, n: int) -> bytes:
        out = self.b[self.i : self.i + n]
        self.i += n
        return out

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def uint16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def string(self) -> str:
        return self.take(self.uint16()).decode()

    def bytes_(self) -> bytes | None:
        n = self.int32()
        return None if n < 0 else self.take(n)


def _request(sock: socket.socket, opcode: int, body: bytes) -> tuple[int, _Reader]:
    sock.sendall(struct.pack(">BBhBi", 0x04, 0, 1, opcode, len(body)) + body)
    _ver, flags, _stream, op, length = struct.unpack(">BBhBi", _recv_exact(sock, 9))
    r = _Reader(_recv_exact(sock, length))
    if flags & 0x02:  # tracing id
        r.take(16)
    if flags & 0x08:  # warnings
        for _ in range(r.uint16()):
            r.string()
    if op == OP_ERROR:
        code = r.int32()
        raise RuntimeError(f"server error 0x{code:04x}: {r.string()}")
    return op, r


def probe_cql(port: int) -> str:
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as sock:
        op, _ = _request(
            sock, OP_STARTUP, struct.pack(">H", 1) + _string("CQL_VERSION") + _string("3.0.0")
        )
        if op == OP_AUTHENTICATE:
            raise RuntimeError("server requires authentication")
        if op != OP_READY:
            raise RuntimeError(f"unexpected opcode {op} after STARTUP")
        query = b"SELECT release_version FROM system.local"
        body = struct.pack(">i", len(query)) + query + struct.pack(">HB", 0x0001, 0)
        op, r = _request(sock, OP_QUERY, body)
        if op != OP_RESULT or r.int32() != 2:  # kind 2 = Rows
            raise RuntimeError("unexpected answer to QUERY")
        flags, ncols = r.int32(), r.int32()
        if flags & 0x0002:  # has_more_pages: paging state
            r.bytes_()
        if not flags & 0x0004:  # metadata present
            if flags & 0x0001:  # global table spec
                r.string(), r.string()
            for _ in range(ncols):
                if not flags & 0x0001:
                    r.string(), r.string()
                r.string()  # column name
                if r.uint16() == 0x0000:  # custom type
                    r.string()
        if r.int32() < 1:
            raise RuntimeError("system.local returned no row")
        value = r.bytes_()
        return value.decode() if value is not None else "?"


def main() -> int:
    port = int(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "cql"
    try:
        if mode == "driver":
            try:
                import cassandra.cluster  # noqa: F401
            except ImportError:
                return 2
            version = probe_driver(port)
        else:
            version = probe_cql(port)
    except Exception as exc:  # any failure means "not ready yet"
        print(f"not ready: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(version)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip atexit: the driver's libev reactor sometimes waits 5 s at interpreter exit
    # ("Event loop thread could not be joined") even after Cluster.shutdown().
    os._exit(code)
