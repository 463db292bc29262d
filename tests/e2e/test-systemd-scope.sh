#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Workloads in transient scopes of their own under a real systemd as PID 1
# (tests/e2e/systemd-env.sh; the container's v1 memory controller is writable, so MemoryMax= is
# enforced by the kernel):
#   1. the daemon chooses the scope backend ("Containment: transient systemd scopes");
#   2. `memlockctl run --limit=64M` puts the workload into mlock-<id>.scope, not into
#      mlockd.service's cgroup; the scope has MemoryMax= of the limit plus the 32 MiB allowance,
#      and the kernel's memory.limit_in_bytes of the scope's cgroup is that bound;
#   3. a workload of the same policy and limit that locks 160 MiB is stopped by the kernel in its
#      scope: killed by the cgroup's OOM killer, which the daemon reports from the scope's
#      memory cgroup ("reached its bound ... killed by the kernel's OOM killer"); the daemon
#      keeps serving;
#   4. `systemctl restart mlockd`: the first workload stays in its scope, locked, re-adopted.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/systemd-env.sh
source "$here/systemd-env.sh"

build=${MLOCKD_BUILD_DIR:?}
sysenv_check
sysenv_boot
sysenv_install_build "$build"

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
prop() { # UNIT PROPERTY
        sysenv_exec systemctl show -P "$2" "$1"
}
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
sysenv_exec memlockctl run --detach --policy=60-realtime --limit=64M --name=greedy -- \
        python3 -c 'import mmap, time
time.sleep(1)
m = mmap.mmap(-1, 160 << 20)
for i in range(0, 160 << 20, 4096):
    m[i] = 1
time.sleep(3600)' </dev/null >/dev/null || fail "memlockctl run (greedy) failed"
gpid=
for ((i = 0; i < 50; i++)); do
        gpid=$(workload_json greedy pid)
        [[ -n $gpid ]] && break
        sleep 0.1
done
gid=$(workload_json greedy id)
echo "greedy: workload $gid, pid $gpid"
for ((i = 0; i < 300; i++)); do
        sysenv_exec test -d "/proc/$gpid" || break
        sleep 0.1
done
sysenv_exec test -d "/proc/$gpid" && fail "the greedy workload (pid $gpid) still runs"
# The daemon reads the scope's memory cgroup (failcnt, OOM kills) when the workload ends.
log=$(sysenv_exec journalctl -q -b -o cat -u mlockd.service | grep "Workload $gid 'greedy'") || true
echo "$log"
[[ $log == *"killed by signal KILL"* ]] || fail "greedy was not killed"
[[ $log == *"reached its bound of 96.0M"*"killed by the kernel's OOM killer"* ]] ||
        fail "the daemon did not report the kernel stopping greedy at its bound"
sysenv_exec memlockctl status >/dev/null || fail "the daemon stopped serving"

echo "== 4. restart mlockd: the workload stays in its scope and is re-adopted"
sysenv_exec systemctl restart mlockd.service
[[ $(workload_json scoped state) == locked && $(workload_json scoped pid) == "$pid" ]] ||
        fail "after the restart: scoped is '$(workload_json scoped state) $(workload_json scoped pid)'"
cg2=$(sysenv_exec awk -F: '$2 == "name=systemd" || $1 == "0" { print $3; exit }' "/proc/$pid/cgroup")
[[ $cg2 == "$cg" ]] || fail "after the restart pid $pid is in '$cg2'"
[[ $(prop "$scope" ActiveState) == active ]] || fail "$scope is not active after the restart"

if ((failures)); then
        echo "$failures failure(s)"
        sysenv_exec journalctl -q -b --no-pager -u mlockd.service | tail -n 40
        exit 1
fi
echo OK
