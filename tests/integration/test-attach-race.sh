#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 16: Attach re-verifies after the seize. nobody asks to attach to its own process, which
# the daemon checks and admits; before the injector seizes it, the process execs a set-user-ID
# root program. The race is made deterministic with the daemon's test hook
# MLOCKD_TEST_STOP_BEFORE_SEIZE=1 (daemon/helpers/inject-job.c): the injector stops itself
# before PTRACE_SEIZE, the test lets the target exec, then continues the injector. The target,
# now root, must be left untouched (no VmLck, not booked as nobody's locked workload), and the
# workload must fail saying why.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
probe=$helpers/bus-probe

lib_require "$probe"
[[ -x /usr/bin/python3 ]] || lib_skip "python3 missing"
lib_init test-attach-race
target= helper=
lib_cleanup_hooks+=('[[ -n $helper ]] && kill -CONT "$helper" 2>/dev/null'
        '[[ -n $target ]] && kill -9 "$target" 2>/dev/null')
fail() { lib_die "$*"; }

lib_policy 10-attach '[Match]\nExecutable=/usr/bin/* /tmp/*\n\n[Lock]\nMode=current\nLimit=64M\nOnFailure=continue\n\n[Access]\nAllowUsers=nobody\nAllowAttach=yes\n'
# A set-user-ID root program the target execs: a copy of sleep, so that it stays.
cp /usr/bin/sleep "$tmp/suid-sleep"
chmod 4755 "$tmp/suid-sleep"
MLOCKD_TEST_STOP_BEFORE_SEIZE=1 lib_start_daemon

# nobody, with CAP_IPC_LOCK (the machine's hard RLIMIT_MEMLOCK cannot be raised without
# CAP_SYS_RESOURCE; a caller may attach only to what holds no capability it lacks).
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps +ipc_lock
        --ambient-caps +ipc_lock)
# nobody's process: waits, and on SIGUSR1 execs the set-user-ID program.
"${nobody[@]}" /usr/bin/python3 -c '
import os, signal, sys
signal.signal(signal.SIGUSR1, lambda *a: os.execv(sys.argv[1], [sys.argv[1], "600"]))
while True:
        signal.pause()
' "$tmp/suid-sleep" &
target=$!
disown "$target" # killed by the cleanup hook, without a job notice
for _ in $(seq 200); do
        [[ $(readlink "/proc/$target/exe" 2>/dev/null) == */python3* ]] && break
        sleep 0.01
done

out=$("${nobody[@]}" "$probe" "$addr" attach "$target" 2>&1) ||
        fail "Attach: $out"
[[ $out =~ OK\ (/org/mlockd1/workload/[0-9]+) ]] || fail "Attach: $out"
w=${BASH_REMATCH[1]}

# The injector: the daemon's child, stopped by the hook before its seize.
for _ in $(seq 500); do
        for p in $(pgrep -P "$dpid"); do
                [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) == T ]] && helper=$p
        done
        [[ -n $helper ]] && break
        sleep 0.01
done
[[ -n $helper ]] || fail "the injector never stopped before its seize"

# Between the daemon's check and the seize: the target becomes root.
kill -USR1 "$target"
for _ in $(seq 500); do
        [[ $(readlink "/proc/$target/exe" 2>/dev/null) == "$tmp/suid-sleep" ]] &&
                [[ $(awk '/^Uid:/ {print $3}' "/proc/$target/status") == 0 ]] && break
        sleep 0.01
done
[[ $(awk '/^Uid:/ {print $3}' "/proc/$target/status") == 0 ]] ||
        fail "the target did not become root: $(grep ^Uid: "/proc/$target/status")"
kill -CONT "$helper"
helper=

wprop() { busctl --address="$addr" get-property org.mlockd1 "$w" org.mlockd1.Workload "$1" | cut -d' ' -f2-; }
for _ in $(seq 500); do
        state=$(wprop State)
        [[ $state != '"locking"' ]] && break
        sleep 0.01
done
lck=$(awk '/^VmLck:/ {print $2}' "/proc/$target/status")
echo "state $state, error $(wprop Error), target VmLck ${lck} kB"
((lck == 0)) || fail "the setuid-root process was locked (VmLck ${lck} kB) for nobody"
[[ $state == '"failed"' ]] || fail "workload state $state, expected failed"
[[ $(wprop Error) == *"changed between the check and the seize"* ]] ||
        fail "error: $(wprop Error)"
grep -q TracerPid:.0 "/proc/$target/status" || fail "the target is still traced"
kill -0 "$target" || fail "the target died"
kill -0 "$dpid" || fail "the daemon died"
echo OK
