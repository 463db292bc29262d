#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Faults around workloads: the daemon killed with -9 while a Run and an Attach are in flight
# (after a restart the table is consistent and the workloads are locked); a workload SIGKILLed
# leaves the live set with its reservation freed (time printed, not asserted); clients that go
# away mid-call.
# (Reload, state file and full disk faults: test-faults-state.sh.)
set -euo pipefail
# shellcheck source=tests/integration/lib-reliability.sh
. "$(dirname "$0")/lib-reliability.sh"

reap=$helpers/reliability-reap
rel_require "$reap"
lib_init test-faults

cat >"$tmp/policy.d/10-test.policy" <<'POLICY'
[Match]
Executable=/usr/bin/* /bin/*

[Lock]
Mode=on
Limit=256M
OnFailure=continue

[Access]
AllowUsers=root
AllowRun=yes
AllowAttach=yes
POLICY
printf '[Daemon]\nBudget=2G\n' >"$tmp/mlockd.conf"
chmod 0644 "$tmp/mlockd.conf" "$tmp"/policy.d/*
lib_start_daemon
rel_pidfd_works || lib_skip "the daemon cannot open pidfds here (valgrind 3.19 lacks pidfd_open)"
M=(/org/mlockd1 org.mlockd1.Manager)
list_paths() {
        bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager ListWorkloads |
                grep -o '"/org/mlockd1/workload/[0-9]*"' | tr -d '"'
}
proc_state() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# A python that allocates MiB and sleeps; MARK makes it findable with pgrep.
hog() { # MIB MARK
        echo "import time; b = bytearray($1 << 20); b[::4096] = bytes(len(b[::4096])); time.sleep(300) # $2"
}

# ---- 1. kill -9 of the daemon with a Run and an Attach in flight ------------------------------
for delay in 0.02 0.15; do
        mark=mlockd-faults-$RANDOM$RANDOM
        # The attach target: root's (holds CAP_IPC_LOCK, so attachable without CAP_SYS_RESOURCE).
        /usr/bin/python3 -c "$(hog 96 "$mark-attach")" </dev/null >/dev/null 2>&1 &
        target=$!
        lib_pids+=("$target")
        sleep 0.3
        raw root "${M[@]}" Run "asasshhha{sv}" "[['/usr/bin/python3', '-c', '$(hog 128 "$mark-run")'], \
[], '/', 0, 1, 2, {'detach': ('b', True)}]" --stdio --send-only
        raw root "${M[@]}" Attach "ua{sv}" "[$target, {}]" --send-only
        sleep "$delay"
        kill -9 "$dpid"
        wait "$dpid" 2>/dev/null || true
        dpid=
        lib_start_daemon
        sleep 0.5

        # The table is consistent: every listed live workload's pid exists, no pid twice, and the
        # state file lists exactly the live ones.
        declare -A seen=()
        n_live=0
        for p in $(list_paths); do
                st=$(wprop "$p" State)
                pid=$(wprop "$p" Pid)
                [[ $st =~ locked|locking|starting ]] || continue
                n_live=$((n_live + 1))
                [[ -d /proc/$pid ]] || fail "[kill -9 after ${delay}s] $p ($st) has no process $pid"
                [[ -z ${seen[$pid]:-} ]] || fail "[kill -9 after ${delay}s] pid $pid listed twice"
                seen[$pid]=1
        done
        python3 - "$tmp/state/state" "${!seen[@]}" <<'PY' || fail "[kill -9 after ${delay}s] state file"
import json, sys
s = json.load(open(sys.argv[1]))
pids = sorted(w["pid"] for w in s["workloads"])
assert pids == sorted(int(p) for p in sys.argv[2:]), (pids, sys.argv[2:])
PY
        # The workloads are locked: the Run's process (if it was started) and the attach target
        # (if the attach got as far as the injection) hold locked memory, and neither was left
        # stopped under a dead tracer.
        run_pid=$(pgrep -f "$mark-run" | head -1 || true)
        [[ -d /proc/$target ]] || fail "[kill -9 after ${delay}s] the attach target died"
        [[ $(proc_state "$target") != [tT] ]] ||
                fail "[kill -9 after ${delay}s] the attach target is left stopped"
        untracked=()
        if [[ -n $run_pid ]]; then
                lib_pids+=("$run_pid")
                for _ in $(seq 40); do (($(vmlck "$run_pid") > 0)) && break; sleep 0.05; done
                (($(vmlck "$run_pid") > 0)) || fail "[kill -9 after ${delay}s] Run's process is not locked"
                [[ -n ${seen[$run_pid]:-} ]] || untracked+=("run:$run_pid")
        fi
        if [[ -n ${seen[$target]:-} ]]; then
                (($(vmlck "$target") > 0)) || fail "[kill -9 after ${delay}s] adopted attach target not locked"
        else
                untracked+=("attach:$target(VmLck $(vmlck "$target") kB)")
        fi
        echo "ok kill -9 after ${delay}s: $n_live live workloads re-adopted, consistent;" \
                "run=${run_pid:-not-started} locked; not in the table: ${untracked[*]:-none}"
        # Known bug (MLOCKD_TEST_KNOWN_BUGS=1): a Run whose process was started is lost when
        # the daemon dies before it saved the state: the process runs locked but untracked.
        if [[ -n ${MLOCKD_TEST_KNOWN_BUGS:-} && ${untracked[*]:-} == *run:* ]]; then
                fail "[KNOWN BUG kill -9 after ${delay}s] Run's process $run_pid is not in the table"
        fi
        for p in $(list_paths); do
                bctl call org.mlockd1 "${M[@]}" Kill oi "$p" 9 >/dev/null 2>&1 || true
        done
        kill -9 "$target" ${run_pid:+"$run_pid"} 2>/dev/null || true
        unset seen
done

# ---- 2. a workload SIGKILLed leaves the live set, its reservation freed ------------------------
# The time it takes is printed (the pidfd event makes it milliseconds), not asserted: a
# wall-clock limit fails on a loaded machine. reap gives up after 10 s (liveness only).
worst=0
for _ in 1 2 3; do
        raw root "${M[@]}" Run "asasshhha{sv}" "[['/usr/bin/sleep', '300'], [], '/', 0, 1, 2, \
{'detach': ('b', True), 'limit': ('t', 64 << 20)}]" --stdio
        [[ $out == OK* ]] || fail "Run sleep: $out"
        wl=${out#OK }
        pid=$(wprop "$wl" Pid)
        for _ in $(seq 100); do [[ $(wprop "$wl" State) == '"locked"' ]] && break; sleep 0.05; done
        res=$("$reap" "$addr" "$wl" "$pid" 10000) || fail "reap: $res"
        read -r _ usec before after state <<<"$res"
        ((before - after >= 64 << 20)) || fail "reservation not freed: $before -> $after"
        ((usec > worst)) && worst=$usec
        echo "ok SIGKILLed workload out of the live set after $((usec / 1000)).$(((usec % 1000) / 100)) ms" \
                "(state $state, ReservedBytes $before -> $after)"
done
echo "worst of 3: $((worst / 1000)) ms"

# ---- 3. clients that go away mid-call ------------------------------------------------------------
fds0=$(rel_fd_stable)
ls -l "/proc/$dpid/fd" | awk '{print $9, $11}' | sort >"$tmp/fds0"
for n in 10 60 120; do # the whole message is ~200 bytes
        raw root "${M[@]}" Run "asasshhha{sv}" "[['/bin/true'], [], '/', 0, 1, 2, {}]" --stdio \
                --truncate "$n"
done
raw root "${M[@]}" ListWorkloads "" "[]" --send-only
raw root "${M[@]}" Explain u "[1]" --send-only
bg=()
for _ in $(seq 20); do
        raw nobody "${M[@]}" ListWorkloads "" "[]" --truncate 30 &
        bg+=($!)
done
wait "${bg[@]}"
lib_ping || fail "the daemon stopped answering after clients went away mid-call"
fds1=$(rel_fd_settle "$fds0")
((fds1 <= fds0)) || fail "clients gone mid-call: fd count $fds0 -> $fds1: $(ls -l "/proc/$dpid/fd" |
        awk '{print $9, $11}' | sort | comm -13 "$tmp/fds0" - | tr '\n' ' ') $(bctl call org.mlockd1 "${M[@]}" ListWorkloads)"
echo "ok clients gone mid-call (truncated messages, unread replies): fds $fds0 -> $fds1"

# A foreground Run whose client goes away right after asking: the workload gets SIGHUP.
mark=mlockd-faults-fg-$RANDOM
raw root "${M[@]}" Run "asasshhha{sv}" "[['/usr/bin/python3', '-c', 'import time; time.sleep(300) # $mark'], \
[], '/', 0, 1, 2, {}]" --stdio --send-only
gone=0
for _ in $(seq $((60 * slow))); do
        sleep 0.05
        pgrep -f "$mark" >/dev/null || { gone=1; break; }
done
((gone)) || fail "the foreground workload outlived its client"
echo "ok foreground Run whose client left mid-call: the workload ended"
# Attach and the client goes away before the reply.
/usr/bin/python3 -c "$(hog 32 mlockd-faults-att)" </dev/null >/dev/null 2>&1 &
target=$!
lib_pids+=("$target")
sleep 0.3
raw root "${M[@]}" Attach "ua{sv}" "[$target, {}]" --send-only
for _ in $(seq $((100 * slow))); do
        (($(vmlck "$target") > 0)) && break
        sleep 0.05
done
# Whether a call whose client is already gone is still carried out depends on when the daemon
# sees the hang-up; either way there is no half state: locked and listed, or untouched.
# The target is in a ptrace stop while the helper injects; "left stopped" means it stays so.
for _ in $(seq $((100 * slow))); do
        [[ $(proc_state "$target") != [tT] ]] && break
        sleep 0.05
done
[[ $(proc_state "$target") != [tT] ]] || fail "attach target left stopped"
if (($(vmlck "$target") > 0)); then
        wl=$(bctl call org.mlockd1 "${M[@]}" GetWorkloadByPid u "$target" | cut -d' ' -f2 | tr -d '"')
        # VmLck counts as soon as the injected mlockall() starts; the state turns "locked" when
        # the helper reports back, a moment later (under ASan and load, after this check).
        for _ in $(seq $((100 * slow))); do
                [[ $(wprop "$wl" State) == '"locked"' ]] && break
                sleep 0.05
        done
        [[ $(wprop "$wl" State) == '"locked"' ]] || fail "attached workload state $(wprop "$wl" State)"
        echo "ok Attach whose client left mid-call: carried out, locked, listed"
else
        ! bctl call org.mlockd1 "${M[@]}" GetWorkloadByPid u "$target" >/dev/null 2>&1 ||
                fail "Attach whose client left: listed but not locked"
        echo "ok Attach whose client left mid-call: dropped, target untouched and not listed"
fi
lib_ping || fail "the daemon stopped answering"
rel_finish
echo PASS
