#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile bytes, memory: uid nobody opens 4 connections, each announcing a 120 MiB message and
# sending all of it but the last byte. The daemon must stay small (VmLck < 32 MiB, VmRSS
# < 128 MiB; it used to lock ~486 MiB) and keep answering others. Then the bounds themselves:
# a message of exactly LIMIT_MESSAGE_BYTES is read, one byte more closes the connection, a uid's
# messages in progress are bounded by LIMIT_INPUT_PER_UID (root's are not), and the largest
# legal Run (argv and env at their limits) still gets an answer. A client that sends calls and
# never reads the replies is dropped once 256 wait in the daemon.
set -euo pipefail
# shellcheck source=tests/integration/lib-reliability.sh
. "$(dirname "$0")/lib-reliability.sh"
rel_require
hostile=$src/tests/integration/lib-hostile-bus.py
"$python" -c 'import dbus' 2>/dev/null || lib_skip "python3-dbus missing"

lib_init test-bus-input-limit
# lib_init wrote mlockd.conf (Budget=1G).
lib_run_policy 10-test '/usr/bin/* /bin/*'
lib_start_daemon

max_message=$((640 * 1024)) # LIMIT_MESSAGE_BYTES in daemon/bus/bus-limits.h
held=()
# hold USER N SIZE [--all-but-last]: runs the hostile client in the background until release;
# sets $result to its "reset=N open=M" line.
hold() {
        local u=$1 fifo
        shift
        fifo=$tmp/hold.${#held[@]}
        mkfifo "$fifo" "$fifo.out"
        HOSTILE_WAIT=$((2 * slow)) as "$u" "$python" "$hostile" "$tmp/io.socket" "$@" \
                <"$fifo" >"$fifo.out" &
        lib_pids+=($!)
        held+=($!)
        exec {wfd}>"$fifo"
        lib_cleanup_hooks+=("exec $wfd>&-")
        read -r -t $((120 * slow)) result <"$fifo.out" || fail "the hostile client did not report"
        hold_fd=$wfd
}
release() {
        exec {hold_fd}>&-
        wait "${held[-1]}" 2>/dev/null || true
}

# ---- 4 x 120 MiB from nobody ------------------------------------------------------------------
lck0=$(vmlck "$dpid")
hold nobody 4 $((120 * 1024 * 1024)) --all-but-last
lck=$(vmlck "$dpid")
rss=$(vmrss "$dpid")
echo "4 x 120 MiB from nobody: $result; daemon VmLck ${lck0} kB -> ${lck} kB, VmRSS ${rss} kB"
((lck < 32 * 1024)) || fail "VmLck is ${lck} kB with 4 x 120 MiB announced (limit 32 MiB)"
((rss < 128 * 1024)) || fail "VmRSS is ${rss} kB with 4 x 120 MiB announced (limit 128 MiB)"
lib_ping || fail "the daemon does not answer while the hostile connections are held"
[[ $result == "reset=4 open=0" ]] || fail "expected all 4 connections dropped, got $result"
release
grep -q "announces 125829120 bytes, more than the $max_message allowed" "$tmp/log" ||
        fail "no log line names the announced size"

# ---- the limit is exact ------------------------------------------------------------------------
hold nobody 1 "$max_message" --all-but-last
[[ $result == "reset=0 open=1" ]] || fail "a message of exactly $max_message bytes: $result"
release
hold nobody 1 $((max_message + 1))
[[ $result == "reset=1 open=0" ]] || fail "a message of $max_message + 1 bytes: $result"
release

# ---- per-uid bound: 8 MiB of messages in progress is 12 of the largest ------------------------
hold nobody 13 "$max_message" --all-but-last
[[ $result == "reset=1 open=12" ]] || fail "13 x $max_message from one uid: $result"
grep -q "would make the uid's unread input more than" "$tmp/log" || fail "no per-uid log line"
lib_ping || fail "the daemon does not answer with 12 messages in progress"
release
hold root 13 "$max_message" --all-but-last
[[ $result == "reset=0 open=13" ]] || fail "root is not bound per uid, but: $result"
release

# ---- a client that never reads its replies is dropped, not queued for --------------------------
rss0=$(vmrss "$dpid")
out=$(HOSTILE_WAIT=$((5 * slow)) "$python" - "$tmp/io.socket" 2>&1 <<'PY'
import os, socket, struct, sys, time

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
assert s.recv(256).startswith(b"OK ")
s.sendall(b"BEGIN\r\n")
def field(code, sig, value):
    v = struct.pack("<I", len(value)) + value + b"\0"
    b = bytes([code, 1]) + sig + b"\0" + v
    return b + b"\0" * (-len(b) % 8)
fields = (field(1, b"o", b"/org/mlockd1") +
          field(2, b"s", b"org.freedesktop.DBus.Introspectable") +
          field(3, b"s", b"Introspect"))
# The array's length excludes the padding after its last element (the body would start there).
padded, fields = fields, fields.rstrip(b"\0") + b"\0"
sent = 0
try:
    for serial in range(1, 3001):
        s.sendall(b"l\x01\x00\x01" + struct.pack("<III", 0, serial, len(fields)) + padded)
        sent += 1
except (BrokenPipeError, ConnectionResetError):
    pass
# Still not reading: the daemon must go on answering others (it must not wait for us).
import subprocess
time.sleep(1)
ping = subprocess.run(["busctl", "--address=unix:path=" + sys.argv[1], "--timeout=5",
                       "get-property", "org.mlockd1", "/org/mlockd1", "org.mlockd1.Manager",
                       "Version"], capture_output=True)
print("others answered" if ping.returncode == 0 else "others NOT answered")
# Now read: what the socket buffer holds, then the end if the daemon dropped us.
s.settimeout(float(os.environ["HOSTILE_WAIT"]))
got = 0
try:
    while True:
        b = s.recv(1 << 16)
        if not b:
            print("sent=%d closed after %d bytes" % (sent, got))
            break
        got += len(b)
except ConnectionResetError:
    print("sent=%d closed (reset) after %d bytes" % (sent, got))
except socket.timeout:
    print("sent=%d still open after %d bytes" % (sent, got))
PY
) || true
rss=$(vmrss "$dpid")
echo "3000 Introspect calls never read: $out; daemon VmRSS ${rss0} kB -> ${rss} kB"
[[ $out == *closed* ]] || fail "a client that never reads was not dropped: $out"
[[ $out == *"others answered"* ]] || fail "the daemon stopped answering while a client did not read: $out"
grep -q "messages unread, more than 256" "$tmp/log" || fail "no log line for the unread queue"
lib_ping || fail "the daemon does not answer after dropping the non-reader"

# ---- the largest legal Run passes -------------------------------------------------------------
out=$("$python" - "$addr" 2>&1 <<'PY'
import sys, dbus
conn = dbus.connection.Connection(sys.argv[1])
# libdbus knows whether fds may be sent only once authenticated: make one call first.
conn.call_blocking(None, "/org/mlockd1", "org.freedesktop.DBus.Peer", "Ping", "", [])
# LIMIT_ARGV_COUNT entries, LIMIT_ARGV_BYTES in total counting NULs: 4096 x 64.
argv = ["/bin/true"] + ["a" * 63] * 4095
env = ["E%04d=%s" % (i, "v" * 57) for i in range(4096)]
opts = {"name": "x" * 4096, "detach": dbus.Boolean(True)}
try:
    r = conn.call_blocking(None, "/org/mlockd1", "org.mlockd1.Manager", "Run",
                           "asasshhha{sv}",
                           [argv, env, "/" + "d" * 4094, dbus.types.UnixFd(0),
                            dbus.types.UnixFd(1), dbus.types.UnixFd(2), opts], timeout=60)
    print("reply", r)
except dbus.DBusException as e:
    print("error", e.get_dbus_name(), e.get_dbus_message()[:200])
PY
) || fail "the largest legal Run: client failed: $out"
echo "largest legal Run: $out"
[[ $out == reply* || $out == "error org.mlockd1."* ]] ||
        fail "the largest legal Run got no answer from mlockd: $out"
lib_ping || fail "the daemon does not answer after the largest Run"
rel_finish
echo "OK"
