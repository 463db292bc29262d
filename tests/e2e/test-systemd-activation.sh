#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mlockd under a real systemd as PID 1 (tests/e2e/systemd-env.sh: a container):
#   1. the build installs (DESTDIR + copy) and `systemctl enable --now mlockd.socket` listens
#      on /run/mlockd/io.socket with the service still inactive;
#   2. the first `memlockctl status` activates mlockd.service (Type=notify: active, MainPID,
#      "Using the socket-activated socket" in its journal);
#   3. `systemctl status mlockd` shows the notify STATUS ("0 workloads, 0B locked of ...");
#   4. the daemon names its effective RLIMIT_MEMLOCK at start-up (LimitMEMLOCK=infinity in the
#      unit is cut to the hard limit where systemd lacks CAP_SYS_RESOURCE), and the journal
#      line matches /proc/MAINPID/limits;
#   5. the STATUS stays current: a workload that locks 96 MiB after it was registered shows up
#      in the STATUS text (it went stale before: the text was only sent on state changes);
#   6. `systemctl stop mlockd.service` with the socket still active: the next call starts it
#      again.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/systemd-env.sh
source "$here/systemd-env.sh"

sysenv_start_installed
# Waits up to $2 s until `$1` (a shell condition run in the container) holds.
wait_in() {
        local i
        for ((i = 0; i < $2 * 10; i++)); do
                sysenv_exec sh -c "$1" && return 0
                sleep 0.1
        done
        return 1
}

echo "== 1. enable --now mlockd.socket"
sysenv_exec systemctl enable --now mlockd.socket
[[ $(prop mlockd.socket ActiveState) == active ]] || fail "mlockd.socket is not active"
sysenv_exec test -S /run/mlockd/io.socket || fail "no /run/mlockd/io.socket"
[[ $(prop mlockd.service ActiveState) == inactive ]] ||
        fail "mlockd.service is $(prop mlockd.service ActiveState) before the first call"

echo "== 2. the first memlockctl call activates mlockd.service"
out=$(sysenv_exec memlockctl status) || fail "memlockctl status failed: $out"
echo "$out"
[[ $out == *"Socket: /run/mlockd/io.socket"* ]] || fail "memlockctl status: $out"
[[ $(prop mlockd.service ActiveState) == active ]] || fail "mlockd.service is not active"
pid=$(prop mlockd.service MainPID)
((pid > 0)) || fail "mlockd.service has no MainPID"
sysenv_exec journalctl -q -b -u mlockd.service -o cat | grep -q 'socket-activated' ||
        fail "the journal does not say the socket was passed in"

echo "== 3. systemctl status shows the notify STATUS"
st=$(sysenv_exec systemctl --no-pager status mlockd.service) || true
echo "$st" | head -12
[[ $st == *'Status: "0 workloads, 0B locked of '* ]] || fail "no notify STATUS in systemctl status"

echo "== 4. the effective RLIMIT_MEMLOCK is named at start-up"
limit=$(sysenv_exec awk '/^Max locked memory/ { print $4 }' "/proc/$pid/limits")
line=$(sysenv_exec journalctl -q -b -u mlockd.service -o cat | grep 'RLIMIT_MEMLOCK' | head -1)
echo "hard limit $limit bytes; journal: $line"
if [[ $limit == unlimited ]]; then
        [[ $line == *"RLIMIT_MEMLOCK"*"unlimited"* ]] || fail "journal: '$line'"
else
        [[ $line == *"RLIMIT_MEMLOCK"*"$((limit / 1024 / 1024))"* ]] ||
                fail "the start-up line does not name the limit of $limit bytes: '$line'"
fi

echo "== 5. the STATUS stays current"
# Registered and locked at once (the shim's mlockall), then 96 MiB more under MCL_FUTURE.
sysenv_exec memlockctl run --detach --policy=60-realtime --name=grower -- \
        python3 -c 'import mmap, time
time.sleep(2)
m = mmap.mmap(-1, 96 << 20)
m.write(b"x" * (96 << 20))
time.sleep(3600)' >/dev/null || fail "memlockctl run failed"
wpid=$(sysenv_exec pgrep -f 'time.sleep\(2\)' | head -1)
if wait_in "awk '/^VmLck/ { exit !(\$2 >= 96 * 1024) }' /proc/$wpid/status" 30; then
        echo "workload $wpid: $(sysenv_exec grep VmLck "/proc/$wpid/status")"
else
        fail "workload $wpid never locked 96 MiB"
fi
# The daemon refreshes the text on its own; no call to it in between (a call would refresh it).
status_ok() {
        local s
        s=$(prop mlockd.service StatusText)
        [[ $s =~ ^1\ workload,\ ([0-9.]+)M\ locked ]] &&
                ((${BASH_REMATCH[1]%.*} >= 96))
}
ok=0
for ((i = 0; i < 400; i++)); do
        status_ok && { ok=1; break; }
        sleep 0.1
done
echo "StatusText: $(prop mlockd.service StatusText)"
((ok)) || fail "the STATUS did not show the 96 MiB the workload locked within 40 s"

echo "== 6. stop the service, keep the socket: the next call starts it again"
sysenv_exec systemctl stop mlockd.service
[[ $(prop mlockd.service ActiveState) == inactive ]] || fail "mlockd.service did not stop"
sysenv_exec memlockctl list >/dev/null || fail "memlockctl list after stop failed"
[[ $(prop mlockd.service ActiveState) == active ]] || fail "mlockd.service was not reactivated"
sysenv_exec memlockctl list --no-legend | grep -q grower ||
        fail "the workload was not re-adopted: $(sysenv_exec memlockctl list)"

if ((failures)); then
        echo "$failures failure(s)"
        sysenv_exec journalctl -q -b -u mlockd.service --no-pager | tail -n 30
        exit 1
fi
echo OK
