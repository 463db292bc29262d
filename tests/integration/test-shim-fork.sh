#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libmemlock-shim.so across fork and exec: a forked child and a double-forking daemon stay
# locked (pthread_atfork re-lock), and with MEMLOCK_INHERIT=0 an exec'd program gets neither the
# lock nor the ambient CAP_IPC_LOCK (with MEMLOCK_INHERIT=1, as the control, it gets both).
# The shim is only preloaded into the uninstrumented programs in shim/targets.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?MLOCKD_BUILD_DIR is not set}
shim=$build/shim/libmemlock-shim.so
targets=$build/shim/targets
for f in "$shim" "$targets/shim-target"; do
        [[ -e $f ]] || { echo "FAIL: $f was not built" >&2; exit 1; }
done
unset "${!MEMLOCK_@}" LD_PRELOAD

MIB=1024 # kB
CAP_IPC_LOCK=14
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
field() { # OUTPUT LABEL KEY
        awk -v label="$2" -v key="$3" '$1 == label {
                for (i = 2; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit }
        }' <<<"$1"
}
expect_ge() { # VALUE MIN WHAT
        if [[ -z $1 ]] || (($1 < $2)); then fail "$3: got '${1}', expected >= $2"; fi
}
expect_eq() { # VALUE WANT WHAT
        if [[ $1 != "$2" ]]; then fail "$3: got '$1', expected '$2'"; fi
}
has_cap() { # HEXMASK CAP
        (((0x$1 >> $2) & 1))
}

cap_eff=$(sed -n 's/^CapEff:\t//p' /proc/self/status)
limit=$(ulimit -l)
if ! has_cap "$cap_eff" $CAP_IPC_LOCK && [[ $limit != unlimited ]] && ((limit < 160 * MIB)); then
        echo "SKIP: neither CAP_IPC_LOCK nor RLIMIT_MEMLOCK >= 160 MiB (have ${limit} kB)"
        exit 77
fi

echo "== a forked child stays locked, and locks what it maps later (MCL_FUTURE)"
out=$(env LD_PRELOAD="$shim" "$targets/shim-target" alloc 64 status parent fork status child \
        alloc 32 status later)
parent_pid=$(field "$out" parent pid)
child_pid=$(field "$out" child pid)
[[ -n $child_pid && $child_pid != "$parent_pid" ]] || fail "no forked child in: $out"
expect_ge "$(field "$out" parent VmLck)" $((64 * MIB)) "parent VmLck"
expect_ge "$(field "$out" child VmLck)" $((64 * MIB)) "forked child VmLck"
expect_ge "$(field "$out" child VmRSS)" $((64 * MIB)) "forked child VmRSS"
expect_ge "$(field "$out" later VmLck)" $((96 * MIB)) "forked child VmLck after mmap 32 MiB"
expect_ge "$(field "$out" later VmRSS)" $((96 * MIB)) "forked child VmRSS after mmap 32 MiB"

echo "== the same from a multithreaded program"
out=$(env LD_PRELOAD="$shim" "$targets/shim-target" threads 4 alloc 64 fork status child)
expect_ge "$(field "$out" child VmLck)" $((64 * MIB)) "multithreaded: forked child VmLck"

echo "== the same in modes on-fault and current"
out=$(env LD_PRELOAD="$shim" MEMLOCK_MODE=on-fault "$targets/shim-target" alloc 64 fork \
        status child)
expect_ge "$(field "$out" child VmLck)" $((64 * MIB)) "on-fault: forked child VmLck"
out=$(env LD_PRELOAD="$shim" MEMLOCK_MODE=current "$targets/shim-target" status parent fork \
        status child)
expect_ge "$(field "$out" child VmLck)" 1 "current: forked child VmLck"

echo "== a daemon (fork, setsid, fork; the parents exit at once) stays locked"
out=$(env LD_PRELOAD="$shim" "$targets/shim-target" alloc 64 status parent daemonize \
        status daemon)
daemon_pid=$(field "$out" daemon pid)
[[ -n $daemon_pid && $daemon_pid != "$(field "$out" parent pid)" ]] ||
        fail "no daemon in: $out"
expect_ge "$(field "$out" daemon VmLck)" $((64 * MIB)) "daemonized grandchild VmLck"
expect_ge "$(field "$out" daemon VmRSS)" $((64 * MIB)) "daemonized grandchild VmRSS"

echo "== MEMLOCK_INHERIT: an exec'd program gets neither lock nor ambient CAP_IPC_LOCK"
# As an unprivileged user whose only privilege is an ambient CAP_IPC_LOCK (what the daemon
# grants), under the 8 MiB RLIMIT_MEMLOCK, so that locking 64 MiB needs the capability.
if ! command -v setpriv >/dev/null; then
        echo "SKIP (inherit part): setpriv (util-linux) is missing"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$targets/shim-target"; then
        echo "SKIP (inherit part): uid 65534 cannot run $targets/shim-target"
elif ! has_cap "$cap_eff" $CAP_IPC_LOCK; then
        echo "SKIP (inherit part): no CAP_IPC_LOCK to hand down"
else
        run_inherit() { # INHERIT
                (
                        ulimit -l 8192
                        setpriv --reuid=65534 --regid=65534 --clear-groups \
                                --inh-caps=+ipc_lock --ambient-caps=+ipc_lock \
                                env LD_PRELOAD="$shim" MEMLOCK_INHERIT="$1" \
                                "$targets/shim-target" status start alloc 64 status parent \
                                exec "$targets/shim-target" alloc 64 touch status child
                )
        }
        out=$(run_inherit 0)
        expect_ge "$(field "$out" parent VmLck)" $((64 * MIB)) "inherit=0: parent VmLck"
        has_cap "$(field "$out" start CapEff)" $CAP_IPC_LOCK ||
                fail "inherit=0: parent lost CAP_IPC_LOCK from its effective set: $out"
        ! has_cap "$(field "$out" parent CapAmb)" $CAP_IPC_LOCK ||
                fail "inherit=0: parent's ambient set still has CAP_IPC_LOCK: $out"
        expect_eq "$(field "$out" child VmLck)" 0 "inherit=0: exec'd child VmLck"
        ! has_cap "$(field "$out" child CapAmb)" $CAP_IPC_LOCK ||
                fail "inherit=0: exec'd child has ambient CAP_IPC_LOCK: $out"
        ! has_cap "$(field "$out" child CapEff)" $CAP_IPC_LOCK ||
                fail "inherit=0: exec'd child has CAP_IPC_LOCK: $out"

        # Control: with MEMLOCK_INHERIT=1 the same child is locked and privileged.
        out=$(run_inherit 1)
        expect_ge "$(field "$out" child VmLck)" $((64 * MIB)) "inherit=1: exec'd child VmLck"
        has_cap "$(field "$out" child CapAmb)" $CAP_IPC_LOCK ||
                fail "inherit=1: exec'd child lacks ambient CAP_IPC_LOCK: $out"
fi

if ((failures)); then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "all shim fork/exec checks passed"
