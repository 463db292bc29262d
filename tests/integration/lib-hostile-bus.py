#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A hostile D-Bus client for tests/integration/test-bus-input-limit.sh: it authenticates like
# any client, then sends method calls whose fixed header announces SIZE bytes.
#
#   lib-hostile-bus.py SOCKET CONNECTIONS SIZE [--all-but-last]
#
# Opens CONNECTIONS connections; on each, sends a header announcing SIZE bytes, then (with
# --all-but-last) all of the message but its last byte, so the daemon must buffer it and
# cannot process it. Then prints "reset=N open=M" (connections the daemon dropped / kept) and
# holds the connections until stdin is closed.
import os
import select
import socket
import struct
import sys
import time


def pad(b, n):
    return b + b"\0" * (-len(b) % n)


def header_field(code, sig, value):
    """A (yv) header field, starting 8-aligned, padded to 8 for the next."""
    if sig == b"g":
        v = bytes([len(value)]) + value + b"\0"
    else:
        v = struct.pack("<I", len(value)) + value + b"\0"
    return pad(bytes([code, 1]) + sig + b"\0" + v, 8)


def message_header(size, serial):
    fields = (header_field(1, b"o", b"/org/mlockd1") +
              header_field(2, b"s", b"org.mlockd1.Manager") +
              header_field(3, b"s", b"Explain") +
              header_field(8, b"g", b"ay"))
    fields_len = len(fields)  # already padded to 8
    body = size - 16 - fields_len
    assert body >= 4, "SIZE too small"
    fixed = b"l" + bytes([1, 0, 1]) + struct.pack("<III", body, serial, fields_len)
    # The body starts with the array's length.
    return fixed + fields + struct.pack("<I", body - 4), 16 + fields_len + body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    uid = str(os.getuid()).encode().hex().encode()
    s.sendall(b"\0AUTH EXTERNAL " + uid + b"\r\n")
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = s.recv(256)
        if not chunk:
            raise SystemExit("the daemon closed the connection during authentication")
        reply += chunk
    if not reply.startswith(b"OK "):
        raise SystemExit("authentication refused: %r" % reply)
    s.sendall(b"BEGIN\r\n")
    return s


def main():
    path, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    all_but_last = "--all-but-last" in sys.argv[4:]
    conns, reset = [], 0
    for i in range(n):
        s = connect(path)
        conns.append(s)
        head, total = message_header(size, i + 1)
        try:
            s.sendall(head)
            if all_but_last:
                left = total - len(head) - 1
                chunk = b"\0" * (1 << 20)
                while left > 0:
                    k = s.send(chunk[:min(left, len(chunk))])
                    left -= k
        except (BrokenPipeError, ConnectionResetError):
            pass
    # The daemon closes a refused connection at once; give it up to HOSTILE_WAIT seconds (a
    # daemon under valgrind is slow) and stop early once every connection is closed.
    deadline = time.monotonic() + float(os.environ.get("HOSTILE_WAIT", "2"))
    open_conns = set(conns)
    while open_conns and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_conns), [], [],
                                    max(0.0, deadline - time.monotonic()))
        for s in ready:
            try:
                closed = s.recv(1, socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                closed = False
            except ConnectionResetError:
                closed = True
            if closed:
                open_conns.discard(s)
                reset += 1
    print("reset=%d open=%d" % (reset, n - reset), flush=True)
    sys.stdin.read()


main()
