#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Limits the kernel enforces (issue 17), with real processes through the real daemon, as uid
# 65534 on the capability path (no CAP_SYS_RESOURCE here), cgroup v1 memory controller:
#  - a Limit=64M workload that mlocks 256 MiB, forks and mlocks, double-forks with setsid and
#    mlocks, and SHM_LOCKs 256 MiB: every attempt fails (EPERM) or is OOM-killed, the
#    workload's cgroup never holds more than its bound (64M + 32M allowance), and
#    /proc/meminfo Unevictable rises by less than one attempt's 256 MiB;
#  - the same attack from a static binary (locked by injection at the exec stop);
#  - prctl(PR_CAP_AMBIENT_RAISE) + exec with Inherit=no: refused, the exec'd program has no
#    CAP_IPC_LOCK;
#  - SHM_UNLOCK of root's locked 0600 segment: refused;
#  - after Detach the process still cannot lock 512 MiB (its cgroup keeps the bound);
#  - MaxLockedPerUser=: one user is refused beyond its share, root is not;
#  - idle reservations: four locked idle workloads that reserve the whole budget leave room;
#  - no memory controller at all: refused with a reason, unless Containment=optional;
#  - no cgroup is left behind.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
probe=$helpers/bus-probe
hog_src=${MLOCKD_SOURCE_DIR:?}/tests/integration/helpers/contain-hog.c
lib_require "$probe"
memcg_self=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
if [[ -z $memcg_self || ! -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]]; then
        echo "SKIP: no cgroup v1 memory controller (the v2 and scope backends have unit tests)"
        exit 77
fi
memcg_self=${memcg_self%/}

lib_init test-containment
shmid=
guest=
managed=
cleanup() {
        set +e
        exec 7>&- 2>/dev/null
        [[ -n $dpid ]] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
        [[ -n $shmid ]] && ipcrm -m "$shmid" 2>/dev/null
        [[ -n $guest ]] && kill -9 "$guest" 2>/dev/null && wait "$guest" 2>/dev/null
        [[ -n $managed ]] && rmdir "$managed" 2>/dev/null
        # Whatever a failed run left: kill the processes in our subtrees, remove the cgroups.
        for d in "${subtrees[@]:-}"; do
                [[ -n $d && -d $d ]] || continue
                for w in "$d"/workload-*/; do
                        [[ -d $w ]] || continue
                        while read -r p; do kill -9 "$p" 2>/dev/null; done <"$w/cgroup.procs"
                        for _ in $(seq 50); do rmdir "$w" 2>/dev/null && break; sleep 0.1; done
                done
                rmdir "$d" 2>/dev/null
        done
        rm -rf "$tmp"
}
subtrees=()
trap cleanup EXIT
fail() {
        echo "FAIL: $*" >&2
        [[ -f $tmp/log ]] && tail -30 "$tmp/log" >&2
        exit 1
}
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
kib() { awk -v k="$1" '$1 == k":" {print $2}' /proc/meminfo; }
# Unevictable of this session's memory cgroup (the test, its daemon and every workload, and
# whatever escaped a workload's cgroup, since no workload can leave the session's), in kB: the
# machine-wide figure also moves with other sessions' tests.
session_kib() {
        awk '$1 == "total_unevictable" {print int($2 / 1024)}' \
                "/sys/fs/cgroup/memory$memcg_self/memory.stat"
}

# Built here without the build's flags: under a sanitizer build mlockall() would try to lock
# the shadow memory, and the workload would hit its bound before it tries anything.
cc -O1 -o "$tmp/hog" "$hog_src" || fail "cannot build contain-hog"
cc -static -O1 -o "$tmp/hog-static" "$hog_src" ||
        { echo "SKIP: cannot link a static program (libc.a missing?)"; exit 77; }
chmod 0755 "$tmp/hog" "$tmp/hog-static"

mkdir -p "$tmp/policy.d" "$tmp/state"
write_policies() { # CONTAINMENT
        cat >"$tmp/policy.d/10-test.policy" <<POLICY
[Match]
Executable=$tmp/* /usr/bin/* /bin/*

[Lock]
Mode=on
Limit=64M
OnFailure=continue
OnExceed=kill
${1:+Containment=$1}

[Access]
AllowUsers=root nobody
AllowRun=yes
AllowAttach=yes
POLICY
        chmod 0644 "$tmp/policy.d/10-test.policy"
}
write_policies ""
write_conf() {
        printf '[Daemon]\n' >"$tmp/mlockd.conf"
        printf '%s\n' "$@" >>"$tmp/mlockd.conf"
        chmod 0644 "$tmp/mlockd.conf"
}
write_conf "Budget=1G" "MaxLockedPerUser=infinity"

addr=unix:path=$tmp/io.socket
bctl() { busctl --address="$addr" "$@"; }
wprop() { bctl get-property org.mlockd1 "$1" org.mlockd1.Workload "$2" | cut -d' ' -f2- | tr -d '"'; }
start_daemon() { # [PREFIX...]: e.g. unshare -m to hide the cgroup mounts
        local saved=("${wrapper[@]}")
        wrapper=("$@" "${saved[@]}")
        lib_start_daemon
        wrapper=("${saved[@]}")
}
stop_daemon() { lib_stop_daemon || true; }
wait_state() { # PATH STATE...
        local s
        for _ in $(seq 200); do
                s=$(wprop "$1" State 2>/dev/null || true)
                for want in "${@:2}"; do [[ $s == "$want" ]] && return 0; done
                sleep 0.05
        done
        fail "$1 is '$s', not ${*:2}"
}
# Run as nobody, detached; the workload's stdout goes to $2. Sets $wpath.
run_nobody() { # OUT CMD...
        local out=$1
        shift
        (cd "$tmp" && "${nobody[@]}" "$probe" "$addr" run --detach -- "$@" >"$out" 2>&1 \
                <"${stdin_file:-/dev/null}") || fail "Run $*: $(cat "$out")"
        wpath=$(awk '/^OK / {print $2; exit}' "$out")
        [[ -n $wpath ]] || fail "no workload path for $*: $(cat "$out")"
}
cgdir_of() { # PATH: the workload's cgroup directory, from its Containment property
        local c
        c=$(wprop "$1" Containment)
        [[ $c == cgroup1-memory:/* ]] || fail "$1: Containment '$c', expected cgroup1-memory:/..."
        echo "/sys/fs/cgroup/memory${c#cgroup1-memory:}"
}

start_daemon
grep -q "Containment: cgroup1-memory under $memcg_self/mlockd-" "$tmp/log" ||
        fail "the daemon did not choose the cgroup v1 backend"
[[ $(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager Containment) == \
        's "cgroup1-memory under '"$memcg_self"'/mlockd-'* ]] || fail "Manager.Containment"
subtrees+=("/sys/fs/cgroup/memory$(sed -n 's/.*Containment: cgroup1-memory under \([^ ]*\) .*/\1/p' "$tmp/log" | head -1)")

# ---- the attack: mlock, fork, setsid double fork, SHM_LOCK, 256 MiB each ----------------------
bound=$(((64 + 32) << 20))
attack() { # NAME PROGRAM
        local name=$1 prog=$2 before after cg pids vmlck=0 hwm uneq
        mkfifo "$tmp/in-$name"
        stdin_file=$tmp/in-$name
        # Open the write end first (read-write, so neither side blocks on open).
        exec 7<>"$tmp/in-$name"
        before=$(kib Unevictable)
        sbefore=$(session_kib)
        run_nobody "$tmp/out-$name" "$prog" attack 256
        stdin_file=
        cg=$(cgdir_of "$wpath")
        for _ in $(seq 600); do grep -q '^ready' "$tmp/out-$name" && break; sleep 0.1; done
        grep -q '^ready' "$tmp/out-$name" || fail "$name: no ready: $(cat "$tmp/out-$name")"
        after=$(kib Unevictable)
        safter=$(session_kib)
        pids=$(cat "$cg/cgroup.procs")
        for p in $pids; do
                v=$(awk '/^VmLck:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
                vmlck=$((vmlck + ${v:-0}))
        done
        hwm=$(cat "$cg/memory.max_usage_in_bytes")
        uneq=$(awk '$1 == "total_unevictable" {print $2}' "$cg/memory.stat")
        echo "$name: $(grep -c '^attempt' "$tmp/out-$name") attempts:" \
                "$(awk '/^attempt/ {printf "%s=%s ", $2, $4}' "$tmp/out-$name")"
        echo "$name: Unevictable +$(((after - before) / 1024)) MiB machine-wide," \
                "+$(((safter - sbefore) / 1024)) MiB in this session's cgroup," \
                "cgroup peak $((hwm >> 20)) MiB, cgroup unevictable $((uneq >> 20)) MiB," \
                "VmLck of its $(wc -w <<<"$pids") processes $((vmlck / 1024)) MiB," \
                "bound $((bound >> 20)) MiB, OOM kills $(awk '/oom_kill / {print $2}' "$cg/memory.oom_control")"
        ! grep -q 'result=ok' "$tmp/out-$name" || fail "$name: an attempt locked 256 MiB"
        (($(grep -c '^attempt' "$tmp/out-$name") == 4)) || fail "$name: $(cat "$tmp/out-$name")"
        grep -q 'attempt shm-lock .*result=Operation not permitted' "$tmp/out-$name" ||
                fail "$name: SHM_LOCK was not refused with EPERM"
        ((hwm <= bound)) || fail "$name: the cgroup peaked at $hwm > $bound"
        ((vmlck * 1024 <= bound)) || fail "$name: VmLck $vmlck kB > bound"
        # One attempt's 256 MiB held would be ours. Other tests of this session may lock for
        # a moment too: look a few times before blaming us.
        for _ in $(seq 10); do
                (((safter - sbefore) * 1024 < (256 << 20))) && break
                sleep 0.2
                safter=$(session_kib)
        done
        (((safter - sbefore) * 1024 < (256 << 20))) ||
                fail "$name: Unevictable rose by $(((safter - sbefore) / 1024)) MiB in this session"
        # Said while it runs (the cgroup's OOM event), not only at its end.
        for _ in $(seq 100); do
                grep -q "Workload ${wpath##*/} '[^']*' (pid [0-9]*) is at its bound of 96.0M" \
                        "$tmp/log" && break
                sleep 0.05
        done
        grep -q "Workload ${wpath##*/} '[^']*' (pid [0-9]*) is at its bound of 96.0M" "$tmp/log" ||
                fail "$name: no log line while the workload ran"
        [[ $(wprop "$wpath" Error) == *"OOM-killed"* ]] ||
                fail "$name: Error '$(wprop "$wpath" Error)' while it runs"
        exec 7>&-
        wait_state "$wpath" exited
        # Gone with its last process: at once, or, when its last tasks are slow to exit
        # (an OOM victim under load), at the next orphan check (LIMIT_ORPHAN_CHECK_USEC, 10 s).
        for _ in $(seq 400); do [[ -d $cg ]] || break; sleep 0.05; done
        [[ ! -d $cg ]] || fail "$name: cgroup $cg left behind"
        [[ $(wprop "$wpath" Error) == *"OOM-killed"* ]] ||
                fail "$name: Error '$(wprop "$wpath" Error)' does not report the OOM kills"
}
attack dynamic "$tmp/hog"
attack static "$tmp/hog-static"
grep -q "reached its bound of 96.0M" "$tmp/log" || fail "no log line about the bound"

# ---- Inherit=no sticks: ambient raise + exec ---------------------------------------------------
run_nobody "$tmp/out-amb" "$tmp/hog" ambient "$tmp/hog" caps
wait_state "$wpath" exited
grep -q 'ambient-raise result=Operation not permitted' "$tmp/out-amb" ||
        fail "ambient raise not refused: $(cat "$tmp/out-amb")"
eff=$(awk '/^caps/ {sub("CapEff=", "", $2); print $2}' "$tmp/out-amb")
(((0x$eff & (1 << 14)) == 0)) || fail "the exec'd program holds CAP_IPC_LOCK: $(cat "$tmp/out-amb")"
echo "ambient: $(tr '\n' ' ' <"$tmp/out-amb")"

# ---- SHM_UNLOCK of root's segment ----------------------------------------------------------------
shmid=$(python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
i = libc.shmget(0, 1 << 20, 0o1000 | 0o600)
assert i >= 0
assert libc.shmctl(i, 11, None) == 0  # SHM_LOCK, as root with CAP_IPC_LOCK
print(i)')
run_nobody "$tmp/out-unl" "$tmp/hog" shm-unlock "$shmid"
wait_state "$wpath" exited
grep -q 'shm-unlock result=Operation not permitted' "$tmp/out-unl" ||
        fail "SHM_UNLOCK of root's segment: $(cat "$tmp/out-unl")"
ipcs -m -i "$shmid" | grep -q 'mode=.*locked\|status.*locked\|locked' ||
        echo "(note: ipcs does not show the lock flag here)"
ipcrm -m "$shmid"
shmid=

# ---- Detach: the bound stays -----------------------------------------------------------------------
run_nobody "$tmp/out-det" "$tmp/hog" lock-when "$tmp/go" 512
wait_state "$wpath" locked
cg=$(cgdir_of "$wpath")
pid=$(wprop "$wpath" Pid)
bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Detach o "$wpath" >/dev/null || fail "Detach failed"
[[ -d $cg ]] || fail "Detach removed the cgroup while its process lives"
grep -q "^$pid\$" "$cg/cgroup.procs" || fail "Detach moved pid $pid out of $cg"
touch "$tmp/go"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
! grep -q 'lock result=ok' "$tmp/out-det" || fail "a detached workload locked 512 MiB"
echo "detach: after Detach, mlock of 512 MiB: $(cat "$tmp/out-det" | tr '\n' ' ')(empty: OOM-killed)," \
        "oom_kill $(awk '/oom_kill / {print $2}' "$cg/memory.oom_control" 2>/dev/null || echo gone)"

# ---- Attach never moves a process out of a cgroup systemd or libvirt made for it ---------------------
# A stand-in for libvirt's guest scope in the v1 memory hierarchy, below ours.
managed="/sys/fs/cgroup/memory$memcg_self/machine.slice/machine-qemu\\x2d1\\x2dtest.scope"
mkdir -p "$managed"
subtrees+=("/sys/fs/cgroup/memory$memcg_self/machine.slice")
sleep 600 </dev/null >/dev/null 2>&1 &
guest=$!
echo "$guest" >"$managed/cgroup.procs"
out=$("$probe" "$addr" attach "$guest") || fail "Attach: $out"
wg=${out#OK }
wait_state "$wg" locked failed
[[ $(wprop "$wg" Containment) == "none (managed by machine-qemu"*"x2dtest.scope)" ]] ||
        fail "attach Containment: $(wprop "$wg" Containment)"
grep -q "^$guest\$" "$managed/cgroup.procs" || fail "Attach moved pid $guest out of $managed"
echo "attach: $(wprop "$wg" Containment), pid $guest still in it"
kill -9 "$guest"
wait "$guest" 2>/dev/null || true
guest=
wait_state "$wg" exited
rmdir "$managed" "/sys/fs/cgroup/memory$memcg_self/machine.slice"
managed=

# ---- MaxLockedPerUser= -----------------------------------------------------------------------------
write_conf "Budget=1G" "MaxLockedPerUser=128M"
bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Reload >/dev/null
share=()
for i in 1 2; do
        run_nobody "$tmp/out-s$i" /bin/sleep 600
        share+=("$wpath")
done
(cd "$tmp" && "${nobody[@]}" "$probe" "$addr" run --detach -- /bin/sleep 600 >"$tmp/out-s3" 2>&1 \
        </dev/null) && fail "a third 64M workload was admitted beyond the 128M share"
grep -q 'BudgetExceeded.*MaxLockedPerUser' "$tmp/out-s3" || fail "share: $(cat "$tmp/out-s3")"
echo "share: $(cat "$tmp/out-s3")"
(cd "$tmp" && "$probe" "$addr" run --detach -- /bin/sleep 600 >"$tmp/out-sroot" 2>&1 </dev/null) ||
        fail "root was refused by nobody's share: $(cat "$tmp/out-sroot")"
share+=("$(awk '/^OK / {print $2}' "$tmp/out-sroot")")
for w in "${share[@]}"; do bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Kill oi "$w" 9 >/dev/null; done
for w in "${share[@]}"; do wait_state "$w" exited; done

# ---- idle reservations: what is held counts, not what is reserved -----------------------------------
write_conf "Budget=256M" "MaxLockedPerUser=infinity"
bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Reload >/dev/null
idle=()
for i in 1 2 3 4; do
        run_nobody "$tmp/out-i$i" /bin/sleep 600
        wait_state "$wpath" locked
        idle+=("$wpath")
done
(cd "$tmp" && "$probe" "$addr" run --detach -- /bin/sleep 600 >"$tmp/out-iroot" 2>&1 </dev/null) ||
        fail "four idle workloads reserving the whole budget locked out root: $(cat "$tmp/out-iroot")"
idle+=("$(awk '/^OK / {print $2}' "$tmp/out-iroot")")
mprop() { bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager "$1" | cut -d' ' -f2; }
reserved=$(mprop ReservedBytes)
committed=$(mprop CommittedBytes)
((reserved == 5 * (64 << 20))) || fail "ReservedBytes $reserved"
((committed < reserved)) || fail "CommittedBytes $committed is not below ReservedBytes $reserved"
echo "idle: ReservedBytes $((reserved >> 20)) MiB, CommittedBytes $((committed >> 20)) MiB"
echo "idle: 4 x 64M reserved of a 256M budget, each holding" \
        "$(($(awk '$1 == "total_unevictable" {print $2}' "$(cgdir_of "${idle[0]}")/memory.stat") >> 10)) KiB: root admitted"
for w in "${idle[@]}"; do bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Kill oi "$w" 9 >/dev/null; done
for w in "${idle[@]}"; do wait_state "$w" exited; done

# ---- a daemon killed and restarted finds its workload's cgroup again --------------------------------
run_nobody "$tmp/out-re" /bin/sleep 600
wait_state "$wpath" locked
cg=$(cgdir_of "$wpath")
kill -9 "$dpid"
wait "$dpid" 2>/dev/null || true
start_daemon
[[ $(cgdir_of "$wpath") == "$cg" ]] || fail "re-adopted with Containment '$(wprop "$wpath" Containment)'"
bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Kill oi "$wpath" 9 >/dev/null
wait_state "$wpath" exited
for _ in $(seq 400); do [[ -d $cg ]] || break; sleep 0.05; done
[[ ! -d $cg ]] || fail "the re-adopted workload's cgroup $cg was left behind"
echo "restart: the re-adopted workload kept $cg, removed after its exit"
stop_daemon
for d in "${subtrees[@]}"; do
        [[ ! -d $d ]] || fail "the daemon left $d behind: $(ls "$d")"
done

# ---- no memory controller: refused with a reason, unless Containment=optional -----------------------
write_conf "Budget=1G"
hide=(unshare -m sh -c 'mount -t tmpfs none /sys/fs/cgroup && exec "$@"' sh)
start_daemon "${hide[@]}"
(cd "$tmp" && "${nobody[@]}" "$probe" "$addr" run --detach -- /bin/sleep 1 >"$tmp/out-none" 2>&1 \
        </dev/null) && fail "an uncontained capability workload was admitted"
grep -q 'Unsupported.*no containment is available.*Containment=optional' "$tmp/out-none" ||
        fail "refusal: $(cat "$tmp/out-none")"
echo "none: $(cat "$tmp/out-none")"
stop_daemon
write_policies optional
start_daemon "${hide[@]}"
run_nobody "$tmp/out-opt" /bin/sleep 1
[[ $(wprop "$wpath" Containment) == "none ("* ]] || fail "Containment '$(wprop "$wpath" Containment)'"
wait_state "$wpath" exited
stop_daemon
echo "PASS"
