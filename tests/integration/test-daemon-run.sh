#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Workloads through the real daemon: Run (VmLck from /proc, exit status, WorkloadExited, who
# hears which signals), a foreground workload gets SIGHUP when its client goes away, Kill,
# budget and policy denials, uid 65534, Attach/Detach, the state file valid after every change,
# and kill -9 of the daemon
# plus a restart: the workload is still running, locked and listed.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
probe=$helpers/bus-probe
lib_require "$probe"
lib_init test-daemon-run
fail() { lib_die "$@"; }
expect_match() {
        [[ $1 =~ $2 ]] || fail "$3: '$1' does not match '$2'"
}
vmlck() { awk '/^VmLck:/ {print $2}' "/proc/$1/status"; }

cat >"$tmp/policy.d/10-test.policy" <<'POLICY'
[Match]
Executable=/usr/bin/* /bin/*

[Lock]
Mode=on
Limit=64M
OnFailure=continue

[Access]
AllowUsers=root nobody
AllowRun=yes
AllowAttach=yes
POLICY
cat >"$tmp/policy.d/20-big.policy" <<POLICY
[Match]
Executable=/usr/bin/sleep $tmp/spawn-hog

[Lock]
Limit=600M

[Access]
AllowUsers=root
AllowRun=yes
POLICY
cat >"$tmp/policy.d/30-small.policy" <<'POLICY'
[Match]
Executable=/usr/bin/* /bin/*

[Lock]
Limit=8M
OnExceed=kill

[Access]
AllowUsers=root
AllowRun=yes
POLICY
printf '[Daemon]\nBudget=1G\n' >"$tmp/mlockd.conf"
chmod 0644 "$tmp/mlockd.conf" "$tmp"/policy.d/*

bctl() { busctl --address="$addr" "$@"; }
wprop() { bctl get-property org.mlockd1 "$1" org.mlockd1.Workload "$2" | cut -d' ' -f2-; }
start_daemon() { lib_start_daemon; }
# The state file is valid JSON after every change and lists exactly the live workloads given.
check_state() {
        python3 - "$tmp/state/state" "$@" <<'PY' || fail "state file check ($*)"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["version"] == 1, s
pids = sorted(w["pid"] for w in s["workloads"])
want = sorted(int(p) for p in sys.argv[2:])
assert pids == want, (pids, want)
PY
}
# Detached workloads inherit bus-probe's stdout: a file, not a $(...) pipe that would wait for them.
probe_file() {
        "$probe" "$addr" "$@" >"$tmp/out" 2>&1 </dev/null
        local rc=$?
        out=$(cat "$tmp/out")
        return $rc
}
wait_state() { # PATH STATE
        for _ in $(seq 100); do
                [[ $(wprop "$1" State) == "\"$2\"" ]] && return 0
                sleep 0.05
        done
        fail "$1 never reached state $2 (is $(wprop "$1" State))"
}

start_daemon
check_state

# A background sleep whose exec has happened: attaching to the forked shell before it execs
# /bin/sleep would lock a process image that exec then replaces (locks do not survive exec).
start_sleeper() { # SECONDS: sets $sleeper
        sleep "$1" &
        sleeper=$!
        for _ in $(seq 200); do
                [[ $(readlink "/proc/$sleeper/exe" 2>/dev/null) == */sleep ]] && return 0
                sleep 0.01
        done
}

# ---- Run, foreground, exit status and WorkloadExited -----------------------------------------
set +e
out=$("$probe" "$addr" run --wait-exit -- /bin/sh -c 'exit 3')
rc=$?
set -e
[[ $rc == 3 ]] || fail "exit status $rc, expected 3: $out"
expect_match "$out" "LOCKED [1-9][0-9]* " "WorkloadLocked"
expect_match "$out" "EXITED 1 3" "WorkloadExited"
set +e
out=$("$probe" "$addr" run --wait-exit -- /bin/sh -c 'kill -TERM $$')
rc=$?
set -e
[[ $rc == 143 ]] || fail "killed by SIGTERM: status $rc, expected 143: $out"
expect_match "$out" "EXITED 2 15" "WorkloadExited for a signal"

# ---- Who hears signals ---------------------------------------------------------------------------
# The peer that started a workload hears its signals without a match rule; a peer without a rule
# hears nothing of another's workload; one with a rule hears everything (docs/dbus-api.md).
set +e
out=$("$probe" "$addr" run --wait-exit --no-match -- /bin/sh -c 'exit 4')
rc=$?
set -e
[[ $rc == 4 ]] || fail "Run heard without a match rule: status $rc, expected 4: $out"
expect_match "$out" "EXITED 1 4" "WorkloadExited to the starter without a match rule"
"$probe" "$addr" listen 3 >"$tmp/listen-nomatch" &
lib_pids+=($!)
"$probe" "$addr" listen 3 --match >"$tmp/listen-match" &
lib_pids+=($!)
for _ in $(seq 100); do
        grep -q READY "$tmp/listen-nomatch" 2>/dev/null && grep -q READY "$tmp/listen-match" \
                2>/dev/null && break
        sleep 0.02
done
"$probe" "$addr" run --wait-exit -- /bin/true >/dev/null || fail "Run /bin/true while listening"
wait "${lib_pids[@]: -2}" || true
grep -q "^SIGNALS 0$" "$tmp/listen-nomatch" ||
        fail "a peer without a match rule heard another's workload: $(cat "$tmp/listen-nomatch")"
grep -qE "^SIGNALS ([3-9]|[1-9][0-9]+)$" "$tmp/listen-match" ||
        fail "a peer with a match rule did not hear New, Locked, Exited: $(cat "$tmp/listen-match")"

# ---- Run detached: VmLck in /proc, properties ------------------------------------------------
probe_file run --detach -- /bin/sleep 60 || fail "Run: $out"
expect_match "$out" "OK (/org/mlockd1/workload/[0-9]+)" "Run path"
w1=${BASH_REMATCH[1]}
expect_match "$out" "LOCKED ([0-9]+)" "Run locked"
p1=$(wprop "$w1" Pid)
lib_pids+=("$p1")
((p1 > 0)) || fail "Pid $p1"
lck=$(vmlck "$p1")
((lck > 0)) || fail "VmLck of the workload is $lck kB"
[[ $(wprop "$w1" State) == '"locked"' ]] || fail "State $(wprop "$w1" State)"
expect_match "$(wprop "$w1" Mechanism)" '"(capability|rlimit)"' "Mechanism"
[[ $(wprop "$w1" LimitBytes) == 67108864 ]] || fail "LimitBytes $(wprop "$w1" LimitBytes)"
lb=$(wprop "$w1" LockedBytes)
((lb / 1024 == lck || lb > 0)) || fail "LockedBytes $lb vs VmLck ${lck}k"
[[ $(wprop "$w1" ExitStatus) == -1 ]] || fail "ExitStatus of a running workload"
out=$(bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager GetWorkloadByPid u "$p1")
[[ $out == "o \"$w1\"" ]] || fail "GetWorkloadByPid: $out"
out=$(bctl call org.mlockd1 /org/mlockd1 org.freedesktop.DBus.ObjectManager GetManagedObjects)
[[ $out == *"$w1"* ]] || fail "GetManagedObjects lacks $w1"
check_state "$p1"

# ---- denials: policy, limit, budget -------------------------------------------------------------
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
(cd "$tmp" && "${nobody[@]}" "$probe" "$addr" run --policy 20-big -- /bin/sleep 1 >"$tmp/out" 2>&1) &&
        fail "uid 65534 used a root-only policy"
out=$(cat "$tmp/out")
expect_match "$out" "AccessDenied" "explicit policy not admitted"
probe_file run --limit 1073741824 -- /bin/sleep 1 && fail "limit above policy"
expect_match "$out" "AccessDenied" "limit above the policy's"
# The budget counts what a workload holds once its lock is done (docs/SECURITY.md, "The
# budget"): this one holds 560M of its 600M.
# Plain cc, not the build's flags: a sanitizer's shadow memory would be locked too.
cc -O1 -o "$tmp/spawn-hog" "${MLOCKD_SOURCE_DIR:?}/tests/integration/helpers/spawn-hog.c" ||
        fail "cannot build spawn-hog"
chmod 0755 "$tmp/spawn-hog"
probe_file run --detach --policy 20-big -- "$tmp/spawn-hog" 560 60 ||
        fail "big: $out"
expect_match "$out" "OK (/org/mlockd1/workload/[0-9]+)" "big Run"
w2=${BASH_REMATCH[1]}
p2=$(wprop "$w2" Pid)
lib_pids+=("$p2")
# spawn-hog prints its line once its 560M are touched (and locked: MCL_FUTURE).
for _ in $(seq 200); do
        grep -q '^hog pid=' "$tmp/out" && break
        sleep 0.05
done
probe_file run --detach --policy 20-big -- /bin/sleep 60 && fail "budget exceeded"
expect_match "$out" "BudgetExceeded: needs 600.0M, 4[0-9][0-9].[0-9]M of the 1.0G budget is free" \
        "BudgetExceeded message"
r=$(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager ReservedBytes)
[[ $r == "t $((664 * 1024 * 1024))" ]] || fail "ReservedBytes $r"
check_state "$p1" "$p2"

# ---- Kill: the workload exits, the reservation is freed, WorkloadExited -----------------------
out=$("$probe" "$addr" kill "${w2##*/}" 9) || fail "Kill: $out"
for _ in $(seq 100); do
        [[ $(wprop "$w2" State) == '"exited"' ]] && break
        sleep 0.01
done
[[ $(wprop "$w2" State) == '"exited"' ]] || fail "not exited 1 s after SIGKILL"
[[ $(wprop "$w2" ExitStatus) == 137 ]] || fail "ExitStatus $(wprop "$w2" ExitStatus)"
r=$(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager ReservedBytes)
[[ $r == "t $((64 * 1024 * 1024))" ]] || fail "ReservedBytes after Kill: $r"
check_state "$p1"

# ---- uid 65534: locked through the daemon, foreground SIGHUP when the client goes away ----------
(cd "$tmp" && "${nobody[@]}" "$probe" "$addr" run -- /bin/sleep 60 >"$tmp/out" 2>&1 </dev/null) ||
        fail "nobody: $(cat "$tmp/out")"
out=$(cat "$tmp/out")
expect_match "$out" "OK (/org/mlockd1/workload/[0-9]+)" "nobody Run"
w3=${BASH_REMATCH[1]}
expect_match "$out" "LOCKED [1-9]" "nobody locked"
[[ $(wprop "$w3" Uid) == 65534 ]] || fail "Uid $(wprop "$w3" Uid)"
# bus-probe returned after the lock without --wait-exit: its connection closed → SIGHUP.
wait_state "$w3" exited
[[ $(wprop "$w3" ExitStatus) == 129 ]] || fail "foreground workload not hung up: $(wprop "$w3" ExitStatus)"

# ---- Attach and Detach --------------------------------------------------------------------------
start_sleeper 60
t=$sleeper
lib_pids+=("$t")
out=$("$probe" "$addr" attach "$t") || fail "Attach: $out"
w4=${out#OK }
wait_state "$w4" locked
lck=$(vmlck "$t")
((lck > 0)) || fail "VmLck after Attach is $lck kB"
[[ $(wprop "$w4" Mechanism) == '"ptrace"' ]] || fail "attach Mechanism"
# Root's sleeper holds CAP_IPC_LOCK: mlockd raised nothing, so it moves it nowhere.
[[ $(wprop "$w4" Containment) == '"none (nothing granted'* ]] ||
        fail "attach Containment: $(wprop "$w4" Containment)"
check_state "$p1" "$t"
bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Detach o "$w4" || fail "Detach"
lck=$(vmlck "$t")
((lck == 0)) || fail "VmLck after Detach is $lck kB"
check_state "$p1"
out=$(bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager ListWorkloads)
[[ $out != *"\"$w4\""* ]] || fail "detached workload still listed"

# ---- a capability-locked workload growing past its limit is killed ---------------------------------
probe_file run --detach --policy 30-small -- /bin/sh -c \
        'x=$(head -c 30000000 /dev/zero | tr "\0" a); sleep 30' || fail "small: $out"
expect_match "$out" "OK (/org/mlockd1/workload/[0-9]+)" "small Run"
w5=${BASH_REMATCH[1]}
lib_pids+=("$(wprop "$w5" Pid)")
if [[ $(wprop "$w5" Mechanism) == '"capability"' ]]; then
        wait_state "$w5" exited # within the 2 s check period (wait_state allows 5 s)
        [[ $(wprop "$w5" ExitStatus) == 137 ]] || fail "OnExceed=kill: $(wprop "$w5" ExitStatus)"
        # Contained (docs/SECURITY.md): the kernel's OOM killer at the cgroup's bound, 8M +
        # the 32M allowance, before mlockd's 2 s sample would see it; uncontained: OnExceed=.
        if [[ $(wprop "$w5" Containment) == '"none'* ]]; then
                expect_match "$(wprop "$w5" Error)" "above its limit of 8.0M" "OnExceed error"
        else
                expect_match "$(wprop "$w5" Error)" "reached its bound of 40.0M" "bound error"
        fi
        echo "OnExceed=kill: $(wprop "$w5" Error)"
else
        echo "OnExceed=kill not checked: mechanism $(wprop "$w5" Mechanism) has a kernel limit"
fi

# ---- Exec: the caller itself ---------------------------------------------------------------------
out=$(bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Exec 'asa{sv}' 1 /bin/true 0) ||
        fail "Exec as root"
expect_match "$out" '^oas "(/org/mlockd1/workload/[0-9]+)" 6 "LD_PRELOAD=[^"]*libmemlock-shim.so"' \
        "Exec reply"
w6=${BASH_REMATCH[1]}
expect_match "$out" '"MEMLOCK_MODE=on"' "Exec MEMLOCK_MODE"
[[ $(wprop "$w6" Mechanism) == '"preexisting"' ]] || fail "root Exec: $(wprop "$w6" Mechanism)"
echo "Exec as root: $w6 preexisting"
cap_sys_resource=$(( 0x$(awk '/^CapEff:/ {print $2}' "/proc/$dpid/status") >> 24 & 1 ))
set +e
out=$("${nobody[@]}" busctl --address="$addr" call org.mlockd1 /org/mlockd1 \
        org.mlockd1.Manager Exec 'asa{sv}' 1 /bin/true 0 2>&1)
rc=$?
set -e
if ((cap_sys_resource)); then
        ((rc == 0)) || fail "Exec as uid 65534 with CAP_SYS_RESOURCE: $out"
else
        ((rc != 0)) || fail "Exec as uid 65534 succeeded without CAP_SYS_RESOURCE: $out"
        expect_match "$out" "lacks CAP_SYS_RESOURCE" "Exec without CAP_SYS_RESOURCE"
        echo "Exec as uid 65534 without CAP_SYS_RESOURCE: Unsupported, as expected"
fi

# ---- MaxWorkloadsPerUser= (after a reload): one more is LimitExceeded ----------------------------
printf '[Daemon]\nBudget=1G\nMaxWorkloadsPerUser=1\n' >"$tmp/mlockd.conf"
kill -HUP "$dpid"
sleep 0.2
(cd "$tmp" && "${nobody[@]}" "$probe" "$addr" run --detach -- /bin/sleep 60 >"$tmp/out" 2>&1 \
        </dev/null) || fail "nobody's first: $(cat "$tmp/out")"
expect_match "$(cat "$tmp/out")" "OK (/org/mlockd1/workload/[0-9]+)" "nobody's first Run"
w7=${BASH_REMATCH[1]}
lib_pids+=("$(wprop "$w7" Pid)")
(cd "$tmp" && "${nobody[@]}" "$probe" "$addr" run --detach -- /bin/sleep 60 >"$tmp/out" 2>&1 \
        </dev/null) && fail "nobody's second workload was admitted"
expect_match "$(cat "$tmp/out")" "LimitExceeded: uid 65534 already has 1 workloads" "per-user limit"
"${nobody[@]}" "$probe" "$addr" kill "${w7##*/}" 15 >/dev/null || fail "nobody's Kill"
wait_state "$w7" exited

# ---- Detach of a Run workload: unlocked, forgotten, still running, and reaped when it ends ------
probe_file run --detach -- /bin/sleep 60 || fail "Run for Detach: $out"
expect_match "$out" "OK (/org/mlockd1/workload/[0-9]+)" "Run for Detach"
w8=${BASH_REMATCH[1]}
p8=$(wprop "$w8" Pid)
lib_pids+=("$p8")
(($(vmlck "$p8") > 0)) || fail "Run workload not locked before Detach"
bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Detach o "$w8" || fail "Detach (run)"
(($(vmlck "$p8") == 0)) || fail "VmLck after Detach of a Run workload: $(vmlck "$p8") kB"
kill -0 "$p8" || fail "the detached workload died"
kill -TERM "$p8"
for _ in $(seq 100); do
        [[ -e /proc/$p8 ]] || break
        sleep 0.02
done
[[ ! -e /proc/$p8 ]] || fail "detached child not reaped: $(awk '/^State:/ {print $2}' "/proc/$p8/status")"

# ---- AttachPidfd --------------------------------------------------------------------------------
start_sleeper 60
t2=$sleeper
lib_pids+=("$t2")
out=$("$probe" "$addr" attach-pidfd "$t2") || fail "AttachPidfd: $out"
w9=${out#OK }
wait_state "$w9" locked
[[ $(wprop "$w9" Name) == '"by-pidfd"' ]] || fail "AttachPidfd name $(wprop "$w9" Name)"
[[ $(wprop "$w9" Pid) == "$t2" ]] || fail "AttachPidfd pid $(wprop "$w9" Pid)"
(($(vmlck "$t2") > 0)) || fail "VmLck after AttachPidfd"
kill -KILL "$t2"
wait_state "$w9" exited

# ---- kill -9 of the daemon, restart: still running, locked, listed -----------------------------
kill -9 "$dpid"
wait "$dpid" 2>/dev/null || true
dpid=
lck_before=$(vmlck "$p1")
start_daemon
out=$(bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager ListWorkloads)
[[ $out == *"\"$w1\" $p1 "* ]] || fail "not re-adopted: $out"
[[ $(wprop "$w1" State) == '"locked"' ]] || fail "re-adopted State $(wprop "$w1" State)"
lck=$(vmlck "$p1")
((lck > 0 && lck == lck_before)) || fail "VmLck after restart $lck (was $lck_before)"
grep -q "Re-adopted workload ${w1##*/}" "$tmp/log" || fail "no re-adoption log line"
check_state "$p1"
# An idle daemon stays idle: w1 (capability-locked, no kernel limit) is checked against its
# limit every 2 s. Once that timer has fired, a timer left armed in the past would spin the
# loop (a bug once: 100% CPU). CPU time, not wall time: a spinning loop burns ~2 s in 2 s.
sleep 2.5
ticks() { awk '{print $14 + $15}' "/proc/$dpid/stat"; }
t0=$(ticks)
sleep 2
t1=$(ticks)
hz=$(getconf CLK_TCK)
echo "idle daemon: $((t1 - t0)) ticks of CPU in 2 s (CLK_TCK $hz)"
((t1 - t0 < hz / 2)) || fail "the idle daemon used $((t1 - t0)) ticks of CPU in 2 s"
# A non-child's end is seen through its pidfd too (exit status unknown: -1).
kill -TERM "$p1"
wait_state "$w1" exited
check_state
# A corrupt state file: the daemon starts anyway and says what was lost.
kill -TERM "$dpid"
wait "$dpid" || true
dpid=
echo '{"version":1,"next_id":' >"$tmp/state/state"
start_daemon
grep -q "State file .* corrupt" "$tmp/log" || fail "no log line for a corrupt state file"
bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager Version >/dev/null ||
        fail "daemon does not serve after a corrupt state file"
# A clean stop (under ASan this also runs the leak check).
lib_stop_daemon || fail "mlockd exited $? on SIGTERM"
echo "OK: test-daemon-run"
