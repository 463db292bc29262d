#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A raw D-Bus client for the reliability tests: speaks the wire protocol itself (AUTH EXTERNAL,
# NEGOTIATE_UNIX_FD, BEGIN, Hello) so it can send what sd-bus refuses to build: invalid UTF-8,
# invalid object paths in the header or body, bodies that do not match their signature, and many
# fds in one message.
#
#   lib-reliability-dbus.py SOCKET [options] PATH IFACE MEMBER SIGNATURE ARGS [options]
#
# ARGS is a Python expression (a list) of the body values; bytes are written as-is
# where a string is expected. a{sv} is a dict {key: (signature, value)}; v is (signature, value);
# h is an index into the fds sent. Options:
#   --stdio          send 3 fds of /dev/null first (Run's stdio: h arguments 0 1 2)
#   --fds N          send N more fds (of /dev/null) after those
#   --pidfd PID      send a pidfd of PID first (AttachPidfd's h argument 0)
#   --raw-sig S      put S in the SIGNATURE header field instead of SIGNATURE (body unchanged)
#   --raw-path P     put P (bytes, escapes allowed) in the PATH header field unchecked
#   --raw-member M   put M (bytes, escapes allowed) in the MEMBER header field unchecked
#   --timeout S      seconds to wait for the reply (default 20)
#   --send-only      exit right after sending the call (a client that goes away mid-call)
#   --truncate N     send only the first N bytes of the call, then exit
# Prints "OK <first reply value>" or "ERROR <name>: <message>" and exits 0 or 1, or prints
# "CLOSED" and exits 3 when the daemon closed the connection instead of replying.
import os
import socket
import struct
import sys

ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8, "s": 4, "o": 4,
         "g": 1, "h": 4, "a": 4, "(": 8, "{": 8, "v": 1}


def split_types(sig):
    """Splits a signature into complete types."""
    out, i = [], 0
    while i < len(sig):
        j = type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def type_end(sig, i):
    c = sig[i]
    if c == "a":
        return type_end(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        i += 1
        while sig[i] != close:
            i = type_end(sig, i)
        return i + 1
    return i + 1


class Writer:
    def __init__(self, start=0):
        self.buf = bytearray()
        self.start = start

    def pad(self, n):
        while (self.start + len(self.buf)) % n:
            self.buf.append(0)

    def raw_string(self, v, small=False):
        if isinstance(v, str):
            v = v.encode()
        if small:
            self.buf += struct.pack("<B", len(v)) + v + b"\0"
        else:
            self.pad(4)
            self.buf += struct.pack("<I", len(v)) + v + b"\0"

    def write(self, t, v):
        c = t[0]
        if c in "yb" and c == "y":
            self.buf += struct.pack("<B", v)
        elif c == "b":
            self.pad(4)
            self.buf += struct.pack("<I", 1 if v else 0)
        elif c in "iuhnqxtd":
            fmt = {"i": "<i", "u": "<I", "h": "<I", "n": "<h", "q": "<H", "x": "<q", "t": "<Q",
                   "d": "<d"}[c]
            self.pad(ALIGN[c])
            self.buf += struct.pack(fmt, v)
        elif c in "so":
            self.raw_string(v)
        elif c == "g":
            self.raw_string(v, small=True)
        elif c == "v":
            sig, val = v
            self.raw_string(sig, small=True)
            self.write(sig, val)
        elif c == "a":
            elem = t[1:]
            self.pad(4)
            at = len(self.buf)
            self.buf += b"\0\0\0\0"
            self.pad(ALIGN[elem[0]])
            begin = len(self.buf)
            items = v.items() if isinstance(v, dict) else v
            for item in items:
                self.write(elem, item)
            struct.pack_into("<I", self.buf, at, len(self.buf) - begin)
        elif c in "({":
            self.pad(8)
            for sub, val in zip(split_types(t[1:-1]), v):
                self.write(sub, val)
        else:
            raise ValueError("type " + t)


class Reader:
    def __init__(self, buf, start=0):
        self.buf, self.pos, self.start = buf, start, start

    def pad(self, n):
        while self.pos % n:
            self.pos += 1

    def read(self, t):
        c = t[0]
        if c == "y":
            self.pos += 1
            return self.buf[self.pos - 1]
        if c in "biuhnqxtd":
            fmt = {"b": "<I", "i": "<i", "u": "<I", "h": "<I", "n": "<h", "q": "<H", "x": "<q",
                   "t": "<Q", "d": "<d"}[c]
            self.pad(ALIGN[c])
            (v,) = struct.unpack_from(fmt, self.buf, self.pos)
            self.pos += struct.calcsize(fmt)
            return v
        if c in "so":
            self.pad(4)
            (n,) = struct.unpack_from("<I", self.buf, self.pos)
            v = self.buf[self.pos + 4:self.pos + 4 + n].decode(errors="replace")
            self.pos += 4 + n + 1
            return v
        if c == "g":
            n = self.buf[self.pos]
            v = self.buf[self.pos + 1:self.pos + 1 + n].decode()
            self.pos += n + 2
            return v
        if c == "v":
            sig = self.read("g")
            return (sig, self.read(sig))
        if c == "a":
            self.pad(4)
            (n,) = struct.unpack_from("<I", self.buf, self.pos)
            self.pos += 4
            self.pad(ALIGN[t[1]])
            end, out = self.pos + n, []
            while self.pos < end:
                out.append(self.read(t[1:]))
            return out
        if c in "({":
            self.pad(8)
            return tuple(self.read(s) for s in split_types(t[1:-1]))
        raise ValueError("type " + t)


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


def build(serial, fields, sig, args, n_fds):
    body = Writer()
    for t, v in zip(split_types(sig), args):
        body.write(t, v)
    h = Writer()
    h.buf += struct.pack("<cBBBII", b"l", 1, 0, 1, len(body.buf), serial)
    fw = Writer(start=12)
    at = len(fw.buf)
    fw.buf += b"\0\0\0\0"
    fw.pad(8)
    begin = len(fw.buf)
    for code, t, v in fields:
        fw.pad(8)
        fw.buf.append(code)
        fw.raw_string(t, small=True)
        fw.write(t, v)
    struct.pack_into("<I", fw.buf, at, len(fw.buf) - begin)
    msg = bytes(h.buf) + bytes(fw.buf)
    msg += b"\0" * ((8 - len(msg) % 8) % 8)
    return msg + bytes(body.buf)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def recv_message(sock):
    head = recv_exact(sock, 16)
    body_len, _, fields_len = struct.unpack_from("<III", head, 4)
    rest = fields_len + (8 - (16 + fields_len) % 8) % 8 + body_len
    data = head + recv_exact(sock, rest)
    r = Reader(data, 12)
    fields = {code: val[1] for code, val in r.read("a(yv)")}
    r.pad(8)
    return data[1], fields, data, r.pos


def main():
    argv = sys.argv[1:]
    path_sock = argv.pop(0)
    stdio, extra, raw_sig, raw_path, raw_member, timeout = False, 0, None, None, None, 20.0
    send_only, truncate, pidfd_of = False, None, None
    rest = []
    while argv:
        o = argv.pop(0)
        if not o.startswith("--"):
            rest.append(o)
            continue
        if o == "--stdio":
            stdio = True
        elif o == "--fds":
            extra = int(argv.pop(0))
        elif o == "--raw-sig":
            raw_sig = argv.pop(0)
        elif o == "--raw-path":
            raw_path = unescape(argv.pop(0))
        elif o == "--raw-member":
            raw_member = unescape(argv.pop(0))
        elif o == "--timeout":
            timeout = float(argv.pop(0))
        elif o == "--pidfd":
            pidfd_of = int(argv.pop(0))
        elif o == "--send-only":
            send_only = True
        elif o == "--truncate":
            truncate = int(argv.pop(0))
    path, iface, member, sig = rest[0], rest[1], rest[2], rest[3]
    args = eval(rest[4], {"__builtins__": {"range": range}})

    null = [os.pidfd_open(pidfd_of)] if pidfd_of is not None else []
    null += [os.open("/dev/null", os.O_RDWR) for _ in range(extra + (3 if stdio else 0))]
    fds = null

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path_sock)
        # Pipelined like sd-bus: lock-step (BEGIN, then Hello right away) trips a bug of the
        # sd-bus 252 server (see test-authz-matrix.sh, MLOCKD_TEST_KNOWN_BUGS).
        s.sendall(b"\0AUTH EXTERNAL " + str(os.geteuid()).encode().hex().encode() +
                  b"\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n")
        auth = b""
        while b"AGREE_UNIX_FD\r\n" not in auth:
            chunk = s.recv(4096)
            if not chunk or b"ERROR" in chunk or b"REJECTED" in chunk:
                raise EOFError
            auth += chunk
        s.sendall(build(1, [(1, "o", "/org/freedesktop/DBus"), (2, "s", "org.freedesktop.DBus"),
                            (3, "s", "Hello"), (6, "s", "org.freedesktop.DBus")], "", [], 0))
        # Wait for Hello's reply: sd-bus may read past a message's end into the next one, and fds
        # that arrive with bytes of the Hello would be attributed to it.
        while recv_message(s)[1].get(5) != 1:
            pass
        fields = [(1, "o", raw_path if raw_path is not None else path), (2, "s", iface),
                  (3, "s", raw_member if raw_member is not None else member),
                  (6, "s", "org.mlockd1")]
        if raw_sig is not None or sig:
            fields.append((8, "g", raw_sig if raw_sig is not None else sig))
        if fds:
            fields.append((9, "u", len(fds)))
        msg = build(2, fields, sig, args, len(fds))
        if truncate is not None:
            msg, send_only = msg[:truncate], True
        if fds:
            n = s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(
                "%di" % len(fds), *fds))])
            s.sendall(msg[n:])
        else:
            s.sendall(msg)
        for fd in null:
            os.close(fd)
        if send_only:
            print("SENT")
            return 0
        while True:
            mtype, f, data, pos = recv_message(s)
            if f.get(5) != 2:
                continue
            rsig = f.get(8, "")
            body = Reader(data, pos)
            vals = [body.read(t) for t in split_types(rsig)]
            if mtype == 3:
                print("ERROR %s: %s" % (f.get(4), vals[0] if vals else ""))
                return 1
            first = vals[0] if vals else ""
            print("OK %s" % (first if not isinstance(first, list) else len(first)))
            return 0
    except (EOFError, ConnectionError, BrokenPipeError):
        print("CLOSED")
        return 3
    except socket.timeout:
        print("TIMEOUT")
        return 4


if __name__ == "__main__":
    sys.exit(main())
