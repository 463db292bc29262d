#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Workloads in transient scopes of their own under a real systemd as PID 1
# (tests/e2e/systemd-env.sh; the container's v1 memory controller is writable, so MemoryMax= is
# enforced by the kernel):
#   1. the daemon chooses the scope backend ("Containment: transient systemd scopes");
#   2. `memlockctl run --limit=64M` puts the workload into mlock-<id>.scope, not into
#      mlockd.service's cgroup; the scope has MemoryMax= of the limit plus the 32 MiB allowance,
#      and the kernel's memory.limit_in_bytes of the scope's cgroup is that bound;
#   3. a workload of the same policy and limit whose child locks 160 MiB is stopped by the
#      kernel in its scope: the scope's memory cgroup refused charges (failcnt), never used more
#      than the bound, and its OOM killer killed the child; the daemon keeps serving;
#   4. `systemctl restart mlockd`: the first workload stays in its scope, locked, re-adopted;
#   5. systemd stopped (SIGSTOP to the container's PID 1) while a Run waits for its scope: the
#      daemon serves others meanwhile (the scope is asked for asynchronously), the Run fails
#      after 5 s naming the timeout, and once systemd runs again so does the next Run;
#   6. mlockd stopped (SIGTERM) while a Run waits for its scope: it exits with status 0, and
#      the socket starts it again for the next Run.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/systemd-env.sh
source "$here/systemd-env.sh"

sysenv_start_installed
workload_json() { # NAME FIELD
        sysenv_exec memlockctl list --no-legend --json=short | python3 -c '
import json, sys
for w in json.load(sys.stdin):
    if w["name"] == sys.argv[1]:
        print(w.get(sys.argv[2], ""))' "$1" "$2"
}
MIB=$((1024 * 1024))
BOUND=$(((64 + 32) * MIB))

sysenv_exec systemctl enable --now mlockd.socket
sysenv_exec memlockctl status >/dev/null

echo "== 1. the scope backend"
line=$(sysenv_exec journalctl -q -b -u mlockd.service -o cat | grep '^Containment:') || true
echo "$line"
[[ $line == *"transient systemd scopes"* ]] || fail "the daemon did not choose scopes: '$line'"

echo "== 2. a run workload lands in its scope with MemoryMax="
sysenv_exec memlockctl run --detach --policy=60-realtime --limit=64M --name=scoped -- \
        sleep 3600 </dev/null >/dev/null || fail "memlockctl run failed"
id=
for ((i = 0; i < 50; i++)); do
        id=$(workload_json scoped id)
        [[ -n $id && $(workload_json scoped state) == locked ]] && break
        sleep 0.1
done
pid=$(workload_json scoped pid)
scope=mlock-$id.scope
echo "workload $id, pid $pid, state $(workload_json scoped state)"
cg=$(sysenv_exec awk -F: '$2 == "name=systemd" || $1 == "0" { print $3; exit }' "/proc/$pid/cgroup")
echo "cgroup of pid $pid: $cg"
[[ $cg == "/system.slice/$scope" ]] || fail "pid $pid is in '$cg', not in $scope"
[[ $(prop "$scope" ActiveState) == active ]] || fail "$scope is not active"
mm=$(prop "$scope" MemoryMax)
echo "$scope: MemoryMax=$mm"
[[ $mm == "$BOUND" ]] || fail "$scope has MemoryMax=$mm, expected $BOUND (64M + 32M)"
# The kernel's side: the scope's memory cgroup (v1 here; memory.max on a cgroup2 host).
mcg=$(sysenv_exec awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
if [[ -n $mcg ]]; then
        kl=$(sysenv_exec cat "/sys/fs/cgroup/memory$mcg/memory.limit_in_bytes")
        echo "memory cgroup $mcg: memory.limit_in_bytes=$kl"
        [[ $kl == "$BOUND" ]] || fail "memory.limit_in_bytes of $mcg is $kl, not $BOUND"
else
        kl=$(sysenv_exec cat "/sys/fs/cgroup$cg/memory.max")
        echo "cgroup2 $cg: memory.max=$kl"
        [[ $kl == "$BOUND" ]] || fail "memory.max of $cg is $kl, not $BOUND"
fi
sysenv_exec systemctl show -P ControlGroup mlockd.service
[[ $(prop mlockd.service ControlGroup) != "$cg" ]] || fail "the workload is in the service's cgroup"

echo "== 3. a workload that locks past its bound is stopped by the kernel in its scope"
# A shell that starts a python3 locking 160 MiB: the scope's OOM killer takes the python3 (the
# biggest task), the shell lives on, so the scope and its memory cgroup stay to be read.
sysenv_exec memlockctl run --detach --policy=60-realtime --limit=64M --name=greedy -- \
        sh -c 'python3 -c "import mmap
m = mmap.mmap(-1, 160 << 20)
for i in range(0, 160 << 20, 4096):
    m[i] = 1
"; sleep 3600' </dev/null >/dev/null 2>&1 || fail "memlockctl run (greedy) failed"
gpid=
for ((i = 0; i < 50; i++)); do
        gpid=$(workload_json greedy pid)
        [[ -n $gpid ]] && break
        sleep 0.1
done
gid=$(workload_json greedy id)
gcg=
for ((i = 0; i < 50; i++)); do
        gcg=$(sysenv_exec awk -F: '$2 == "memory" { print $3 }' "/proc/$gpid/cgroup")
        [[ $gcg == */mlock-$gid.scope ]] && break
        sleep 0.1
done
echo "greedy: workload $gid, pid $gpid, memory cgroup $gcg"
if [[ $gcg == */mlock-$gid.scope ]]; then
        d=/sys/fs/cgroup/memory$gcg
        kills=0
        for ((i = 0; i < 300; i++)); do
                kills=$(sysenv_exec awk '$1 == "oom_kill" { print $2 }' "$d/memory.oom_control")
                ((${kills:-0} > 0)) && break
                sleep 0.1
        done
        failcnt=$(sysenv_exec cat "$d/memory.failcnt")
        peak=$(sysenv_exec cat "$d/memory.max_usage_in_bytes")
        echo "$d: oom_kill $kills, failcnt $failcnt, max_usage_in_bytes $peak (bound $BOUND)"
        ((${kills:-0} > 0)) || fail "the kernel killed nothing in greedy's scope"
        ((failcnt > 0)) || fail "no charge of greedy's scope was refused"
        ((peak <= BOUND)) || fail "greedy's scope used $peak bytes, above the bound $BOUND"
        sysenv_exec pgrep -P "$gpid" -x python3 >/dev/null && fail "the locking python3 still runs"
        sysenv_exec test -d "/proc/$gpid" || fail "the workload's shell (pid $gpid) is gone too"
else
        fail "greedy (pid $gpid) is not in mlock-$gid.scope's memory cgroup: '$gcg'"
fi
sysenv_exec memlockctl status >/dev/null || fail "the daemon stopped serving"

echo "== 4. restart mlockd: the workload stays in its scope and is re-adopted"
sysenv_exec systemctl restart mlockd.service
[[ $(workload_json scoped state) == locked && $(workload_json scoped pid) == "$pid" ]] ||
        fail "after the restart: scoped is '$(workload_json scoped state) $(workload_json scoped pid)'"
cg2=$(sysenv_exec awk -F: '$2 == "name=systemd" || $1 == "0" { print $3; exit }' "/proc/$pid/cgroup")
[[ $cg2 == "$cg" ]] || fail "after the restart pid $pid is in '$cg2'"
[[ $(prop "$scope" ActiveState) == active ]] || fail "$scope is not active after the restart"

echo "== 5. systemd stopped while a Run waits for its scope: the daemon keeps serving"
kill -STOP "$SYSENV_LEADER"
sysenv_exec timeout 30 memlockctl run --detach --policy=60-realtime --limit=64M --name=stalled -- \
        sleep 3600 </dev/null >"$SYSENV_TMP/stalled.out" 2>&1 &
stalled=$!
sleep 0.5
t0=$(date +%s%N)
sysenv_exec timeout 20 memlockctl status >/dev/null || fail "status failed while systemd is stopped"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "memlockctl status while a Run waits for systemd: $ms ms"
((ms < 2000)) || fail "status took $ms ms while a Run waited for systemd: the daemon blocked"
wait "$stalled" && fail "the Run succeeded although systemd was stopped: $(cat "$SYSENV_TMP/stalled.out")"
echo "the Run: $(cat "$SYSENV_TMP/stalled.out")"
grep -q "did not start the scope" "$SYSENV_TMP/stalled.out" ||
        fail "the Run did not say that systemd did not start the scope: $(cat "$SYSENV_TMP/stalled.out")"
kill -CONT "$SYSENV_LEADER"
sysenv_exec memlockctl run --policy=60-realtime --limit=64M -- true ||
        fail "a Run after systemd continued failed"

echo "== 6. mlockd stopped while a Run waits for its scope: it exits cleanly"
restarts=$(prop mlockd.service NRestarts)
mpid=$(prop mlockd.service MainPID) # asked before systemd stops; in the container's pid space
((mpid > 0)) || fail "mlockd.service has no main process"
kill -STOP "$SYSENV_LEADER"
sysenv_exec timeout 30 memlockctl run --detach --policy=60-realtime --limit=64M --name=orphan -- \
        sleep 3600 </dev/null >"$SYSENV_TMP/orphan.out" 2>&1 &
orphan=$!
sleep 0.5
sysenv_exec kill -TERM "$mpid" || true
for ((i = 0; i < 50; i++)); do
        sysenv_exec test -d "/proc/$mpid" || break
        sleep 0.1
done
kill -CONT "$SYSENV_LEADER"
wait "$orphan" && fail "the Run succeeded although mlockd stopped: $(cat "$SYSENV_TMP/orphan.out")"
for ((i = 0; i < 50; i++)); do
        [[ $(prop mlockd.service ActiveState) == inactive ]] && break
        sleep 0.1
done
res=$(prop mlockd.service Result)
status=$(prop mlockd.service ExecMainStatus)
echo "mlockd.service: $(prop mlockd.service ActiveState), Result=$res ExecMainStatus=$status," \
        "restarts $restarts -> $(prop mlockd.service NRestarts)"
[[ $res == success && $status == 0 && $(prop mlockd.service NRestarts) == "$restarts" ]] ||
        fail "mlockd did not exit cleanly while a scope was asked for: Result=$res status=$status"
sysenv_exec memlockctl run --policy=60-realtime --limit=64M -- true ||
        fail "a Run after mlockd's restart by its socket failed"

if ((failures)); then
        echo "$failures failure(s)"
        sysenv_exec journalctl -q -b --no-pager -u mlockd.service | tail -n 40
        exit 1
fi
echo OK
