#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The watchdog of mlockd.service under a real systemd (tests/e2e/systemd-env.sh). The shipped
# WatchdogSec=30s is shortened to 3 s by a drop-in, so the test takes seconds, not minutes:
#   1. the shipped unit asks for a watchdog (WatchdogUSec=30s) and the daemon pings it:
#      systemd's WatchdogTimestamp (the last WATCHDOG=1 it received) moves on, and the daemon
#      outlives several intervals with the same main pid and no restart;
#   2. a daemon stopped with SIGSTOP misses its pings: systemd kills it ("Watchdog timeout"),
#      Restart=on-failure starts a new one (NRestarts 1, a new main pid);
#   3. the locked workload the old daemon ran is still running, locked, and the new daemon
#      lists it (re-adopted).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/systemd-env.sh
source "$here/systemd-env.sh"

sysenv_start_installed hog

echo "== 1. the daemon pings the watchdog"
sysenv_exec systemctl start mlockd.service
[[ $(prop mlockd.service WatchdogUSec) == 30s ]] ||
        fail "the shipped unit has WatchdogUSec=$(prop mlockd.service WatchdogUSec), not 30s"
mkdir -p "$SYSENV_TMP/add/usr/local/libexec/mlockd-e2e" \
        "$SYSENV_TMP/add/etc/systemd/system/mlockd.service.d"
install -m 0755 "$hog" "$SYSENV_TMP/add/usr/local/libexec/mlockd-e2e/"
printf '[Service]\nWatchdogSec=3s\n' \
        >"$SYSENV_TMP/add/etc/systemd/system/mlockd.service.d/watchdog.conf"
sysenv_copy_in "$SYSENV_TMP/add" /
sysenv_exec systemctl daemon-reload
sysenv_exec systemctl restart mlockd.service
[[ $(prop mlockd.service WatchdogUSec) == 3s ]] || fail "the drop-in did not apply"
pid=$(prop mlockd.service MainPID)
t1=$(prop mlockd.service WatchdogTimestampMonotonic)
sleep 7.5
t2=$(prop mlockd.service WatchdogTimestampMonotonic)
echo "main pid $pid; last ping at ${t1} us, 7.5 s later at ${t2} us (monotonic)"
((t2 > t1)) || fail "systemd received no WATCHDOG=1 in 7.5 s ($t1 -> $t2)"
[[ $(prop mlockd.service MainPID) == "$pid" ]] || fail "the daemon was restarted although it pinged"
[[ $(prop mlockd.service NRestarts) == 0 ]] || fail "NRestarts is $(prop mlockd.service NRestarts)"

sysenv_exec memlockctl run --detach --policy=60-realtime --name=survivor -- \
        /usr/local/libexec/mlockd-e2e/spawn-hog 16 3600 </dev/null >/dev/null ||
        fail "memlockctl run failed"
sleep 1
w=$(workload_of survivor)
wpid=${w#* }
echo "workload: $w, VmLck $(vmlck "$wpid") kB"
[[ $w == "locked "* ]] || fail "the workload is '$w', not locked"

echo "== 2. SIGSTOP: the watchdog restarts the daemon"
sysenv_exec kill -STOP "$pid"
new=
for ((i = 0; i < 300; i++)); do
        new=$(prop mlockd.service MainPID)
        [[ $new != "$pid" && $new != 0 && $(prop mlockd.service ActiveState) == active ]] && break
        sleep 0.1
done
echo "main pid $pid -> $new, NRestarts $(prop mlockd.service NRestarts)"
[[ $new != "$pid" && $new != 0 ]] || fail "the stopped daemon was not replaced within 30 s"
[[ $(prop mlockd.service NRestarts) == 1 ]] || fail "NRestarts is $(prop mlockd.service NRestarts)"
sysenv_exec journalctl -q -b -u mlockd.service -o cat | grep -i 'watchdog timeout' ||
        fail "the journal does not mention the watchdog timeout"
sysenv_exec test -d "/proc/$pid" && fail "the old daemon (pid $pid) still exists"

echo "== 3. the workload was kept and is re-adopted"
v=$(vmlck "$wpid")
((${v:-0} >= 16 * 1024)) || fail "the workload (pid $wpid) has VmLck $v kB"
[[ $(workload_of survivor) == "locked $wpid" ]] ||
        fail "after the restart the workload is '$(workload_of survivor)'"
echo "workload after the restart: $(workload_of survivor), VmLck $v kB"

if ((failures)); then
        echo "$failures failure(s)"
        sysenv_exec journalctl -q -b --no-pager -u mlockd.service | tail -n 40
        exit 1
fi
echo OK
