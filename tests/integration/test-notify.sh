#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sd_notify without systemd: NOTIFY_SOCKET points at a datagram socket of the test (a python3
# listener that records each message with its sender's pid, from SCM_CREDENTIALS) and
# WATCHDOG_USEC asks for a watchdog. mlockd must send READY=1 and STATUS= once it serves,
# WATCHDOG=1 at least once per WATCHDOG_USEC (it pings at half the interval), and STOPPING=1 on
# SIGTERM; every message from the daemon's own pid (NotifyAccess=main in the unit).
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_require
command -v python3 >/dev/null || lib_skip "python3 is not installed"

# sd-event coalesces timers by up to 250 ms unless told otherwise: keep the interval well above.
WATCHDOG_MS=1600
RUN_MS=4000

lib_init mlockd-test-notify

# The listener: one line per datagram, "<monotonic ms> <sender pid> <message with \n as |>".
python3 - "$tmp/notify.socket" "$tmp/messages" <<'EOF' &
import os, socket, struct, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
with open(out, "w", buffering=1) as f:
    f.write("listening\n")
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = -1
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        f.write("%d %d %s\n" % (time.monotonic() * 1000, pid,
                                msg.decode(errors="replace").replace("\n", "|")))
EOF
lib_pids+=($!)
for ((i = 0; i < 100; i++)); do
        [[ -S $tmp/notify.socket ]] && break
        sleep 0.05
done
[[ -S $tmp/notify.socket ]] || { echo "FAIL: the notify listener did not start"; exit 1; }

NOTIFY_SOCKET=$tmp/notify.socket WATCHDOG_USEC=$((WATCHDOG_MS * 1000)) lib_start_daemon
sleep "$((RUN_MS / 1000)).$((RUN_MS % 1000))"
# The daemon serves when it says READY=1.
if [[ -x $ctl ]]; then
        "$ctl" --socket "$sock" status >/dev/null ||
                echo "FAIL: memlockctl status failed after READY=1" >&2
fi
daemon_pid=$dpid
lib_stop_daemon || true
sleep 0.2

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
echo "--- messages (ms, pid, text)"
cat "$tmp/messages"

grep -q " READY=1" "$tmp/messages" || fail "no READY=1"
grep -q " STATUS=." "$tmp/messages" || fail "no STATUS="
grep -q "STOPPING=1" "$tmp/messages" || fail "no STOPPING=1 after SIGTERM"
others=$(awk -v pid="$daemon_pid" 'NR > 1 && $2 != pid' "$tmp/messages")
[[ -z $others ]] || fail "messages from another pid than the daemon's ($daemon_pid): $others"

# Watchdog: pings from READY=1 on, never more than WATCHDOG_USEC apart.
read -r n first max_gap < <(awk '
        / READY=1/ && !ready { ready = $1 }
        / WATCHDOG=1/ { n++; if (!first) first = $1; ref = last ? last : ready;
                        if (ref && $1 - ref > max) max = $1 - ref; last = $1 }
        END { printf "%d %d %d\n", n, first - ready, max }' "$tmp/messages")
echo "watchdog: $n pings, first $first ms after READY=1, largest gap $max_gap ms" \
        "(WATCHDOG_USEC=${WATCHDOG_MS} ms)"
# In RUN_MS at one ping per WATCHDOG_MS/2: about 5; at least one per WATCHDOG_MS.
((n >= RUN_MS / WATCHDOG_MS - 1)) || fail "only $n watchdog pings in ${RUN_MS} ms"
((n <= 3 * RUN_MS / WATCHDOG_MS + 2)) || fail "$n watchdog pings in ${RUN_MS} ms: too many"
((max_gap < WATCHDOG_MS)) || fail "watchdog gap of $max_gap ms exceeds WATCHDOG_USEC"

if ((failures)); then
        cat "$tmp/log"
        exit 1
fi
echo "OK"
