#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Locked workloads survive the daemon under a real systemd (tests/e2e/systemd-env.sh):
#   1. two workloads are locked: one started by `memlockctl run --detach` (a child of the
#      daemon, in mlockd.service's cgroup) and one running in a service of its own, handed over
#      with `memlockctl attach --wait`;
#   2. `systemctl restart mlockd`: a new main pid; both workloads keep running with their
#      VmLck, and the new daemon lists them (re-adopted, locked, same pids);
#   3. `systemctl stop mlockd.socket mlockd.service`: the daemon is gone, the workloads still run
#      locked; `systemctl start mlockd.socket` and the next call: re-adopted and listed again;
#   4. the re-adopted attach workload is the daemon's to act on: `memlockctl detach` unlocks it
#      (VmLck 0), and the run workload is still locked.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/systemd-env.sh
source "$here/systemd-env.sh"

sysenv_start_installed hog
alive() {
        sysenv_exec test -d "/proc/$1"
}
MIB=1024 # kB

mkdir -p "$SYSENV_TMP/add/usr/local/libexec/mlockd-e2e"
install -m 0755 "$hog" "$SYSENV_TMP/add/usr/local/libexec/mlockd-e2e/"
sysenv_copy_in "$SYSENV_TMP/add" /
sysenv_exec systemctl enable --now mlockd.socket

echo "== 1. a run workload and an attached one, locked"
sysenv_exec memlockctl run --detach --policy=60-realtime --name=run-wl -- \
        /usr/local/libexec/mlockd-e2e/spawn-hog 32 3600 </dev/null >/dev/null ||
        fail "memlockctl run failed"
sysenv_exec systemd-run -q --unit=e2e-target.service \
        /usr/local/libexec/mlockd-e2e/spawn-hog 24 3600
sleep 0.5
tpid=$(prop e2e-target.service MainPID)
sysenv_exec memlockctl attach --wait --policy=60-realtime --name=attached "$tpid" ||
        fail "memlockctl attach $tpid failed"
wait_workload run-wl "locked $(sysenv_exec pgrep -f 'spawn-hog 32')" 20 ||
        fail "run-wl is not locked: '$(workload_of run-wl)'"
rpid=$(workload_of run-wl | cut -d' ' -f2)
wait_workload attached "locked $tpid" 20 || fail "attached is not locked: '$(workload_of attached)'"
r_lck=$(vmlck "$rpid")
t_lck=$(vmlck "$tpid")
echo "run-wl pid $rpid VmLck $r_lck kB; attached pid $tpid VmLck $t_lck kB"
((${r_lck:-0} >= 32 * MIB)) || fail "run-wl VmLck $r_lck kB"
((${t_lck:-0} >= 24 * MIB)) || fail "attached VmLck $t_lck kB"

check_kept() { # WHEN
        local v
        alive "$rpid" || fail "$1: run-wl (pid $rpid) is gone"
        alive "$tpid" || fail "$1: attached (pid $tpid) is gone"
        v=$(vmlck "$rpid")
        ((${v:-0} >= r_lck)) || fail "$1: run-wl VmLck $v kB, was $r_lck kB"
        v=$(vmlck "$tpid")
        ((${v:-0} >= t_lck)) || fail "$1: attached VmLck $v kB, was $t_lck kB"
}

echo "== 2. systemctl restart mlockd"
old=$(prop mlockd.service MainPID)
sysenv_exec systemctl restart mlockd.service || fail "systemctl restart failed"
new=$(prop mlockd.service MainPID)
echo "main pid $old -> $new"
[[ $new != "$old" && $new != 0 ]] || fail "no new main pid after restart ($old -> $new)"
check_kept "after restart"
wait_workload run-wl "locked $rpid" 10 || fail "after restart: run-wl is '$(workload_of run-wl)'"
wait_workload attached "locked $tpid" 10 ||
        fail "after restart: attached is '$(workload_of attached)'"
sysenv_exec journalctl -q -b -u mlockd.service -o cat | grep 'Re-adopted' | tail -n 2

echo "== 3. stop the socket and the service, then start them again"
sysenv_exec systemctl stop mlockd.socket mlockd.service
[[ $(prop mlockd.service ActiveState) == inactive ]] || fail "mlockd.service still runs"
sleep 1
check_kept "while stopped"
echo "while stopped: run-wl VmLck $(vmlck "$rpid") kB, attached VmLck $(vmlck "$tpid") kB"
sysenv_exec systemctl start mlockd.socket
wait_workload run-wl "locked $rpid" 10 || fail "after start: run-wl is '$(workload_of run-wl)'"
wait_workload attached "locked $tpid" 10 || fail "after start: attached is '$(workload_of attached)'"
check_kept "after start"
sysenv_exec memlockctl list

echo "== 4. the re-adopted workloads are the daemon's to act on"
sysenv_exec memlockctl detach "$tpid" || fail "memlockctl detach $tpid failed"
v=$(vmlck "$tpid")
echo "attached after detach: VmLck $v kB"
[[ $v == 0 ]] || fail "detach left VmLck $v kB"
alive "$tpid" || fail "detach ended the attached process"
v=$(vmlck "$rpid")
((${v:-0} >= r_lck)) || fail "run-wl VmLck $v kB after detaching the other"

if ((failures)); then
        echo "$failures failure(s)"
        sysenv_exec journalctl -q -b --no-pager -u mlockd.service | tail -n 40
        exit 1
fi
echo OK
