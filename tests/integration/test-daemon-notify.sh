#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sd_notify: READY=1 once serving, STATUS= with the workload count and budget use, updated on
# changes, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM. A small python3 listener
# plays systemd's part on NOTIFY_SOCKET.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
probe=$helpers/bus-probe
lib_require "$probe"
command -v python3 >/dev/null || lib_skip "python3 missing"
lib_init test-daemon-notify
fail() {
        [[ -f $tmp/notify.log ]] && cat "$tmp/notify.log" >&2
        lib_die "$@"
}

cat >"$tmp/listen.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        data = s.recv(4096).decode()
        for line in data.split("\n"):
            f.write(line + "\n")
PY
python3 "$tmp/listen.py" "$tmp/notify" "$tmp/notify.log" &
lib_pids+=($!)
for _ in $(seq 100); do
        [[ -S $tmp/notify ]] && break
        sleep 0.05
done

lib_policy 10-test '[Match]\nExecutable=/usr/bin/* /bin/*\n[Lock]\nLimit=64M\n[Access]\nAllowRun=yes\n'
NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=200000 lib_start_daemon
for _ in $(seq 100); do
        grep -q '^READY=1$' "$tmp/notify.log" 2>/dev/null && break
        sleep 0.05
done
grep -q '^READY=1$' "$tmp/notify.log" || fail "no READY=1"
[[ -S $tmp/io.socket ]] || fail "READY=1 before the socket exists"
grep -q '^STATUS=0 workloads, 0B locked of 1.0G budget$' "$tmp/notify.log" ||
        fail "no initial STATUS"

"$probe" "$addr" run --detach -- /bin/sleep 30 >"$tmp/run.out" 2>&1 ||
        fail "Run: $(cat "$tmp/run.out")"
wpid=$(busctl --address="$addr" call org.mlockd1 /org/mlockd1 \
        org.mlockd1.Manager ListWorkloads | awk '{print $5}')
lib_pids+=("$wpid")
for _ in $(seq 100); do
        grep -qE '^STATUS=1 workload, [0-9.]+[KM] locked of 1.0G budget$' "$tmp/notify.log" && break
        sleep 0.05
done
grep -qE '^STATUS=1 workload, [0-9.]+[KM] locked of 1.0G budget$' "$tmp/notify.log" ||
        fail "no STATUS after a Run"

# One ping per 100 ms; allow a loaded machine 2 s for three.
n=0
for _ in $(seq 40); do
        n=$(grep -c '^WATCHDOG=1$' "$tmp/notify.log" || true)
        ((n >= 3)) && break
        sleep 0.05
done
((n >= 3)) || fail "only $n WATCHDOG=1 pings in 2 s (expected one per 100 ms)"

lib_stop_daemon || fail "mlockd exited $? on SIGTERM"
# The listener writes the datagram to the log on its own time: wait for it.
for _ in $(seq 40); do
        grep -q '^STOPPING=1$' "$tmp/notify.log" && break
        sleep 0.05
done
grep -q '^STOPPING=1$' "$tmp/notify.log" || fail "no STOPPING=1"
# A clean stop leaves the workload running and locked.
kill -0 "$wpid" || fail "the workload did not survive the daemon's stop"
((${wpid:-0} > 0)) && [[ $(awk '/^VmLck:/ {print $2}' "/proc/$wpid/status") != 0 ]] ||
        fail "the workload is no longer locked"
echo "OK: test-daemon-notify ($n watchdog pings)"
