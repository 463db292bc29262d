#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libmemlock-shim.so when locking must fail: 64 MiB under an 8 MiB RLIMIT_MEMLOCK without
# CAP_IPC_LOCK. MEMLOCK_ON_FAILURE=abort stops the program before main() with status 127 and a
# one-line reason on stderr; continue runs it unlocked and the report carries the errno. Bad
# settings are failures too. The shim is only preloaded into the uninstrumented programs in
# shim/targets.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?MLOCKD_BUILD_DIR is not set}
shim=$build/shim/libmemlock-shim.so
targets=$build/shim/targets
for f in "$shim" "$targets/shim-target" "$targets/shim-bss" "$targets/shim-report"; do
        [[ -e $f ]] || { echo "FAIL: $f was not built" >&2; exit 1; }
done
unset "${!MEMLOCK_@}" LD_PRELOAD
command -v setpriv >/dev/null || { echo "SKIP: setpriv (util-linux) is missing"; exit 77; }

MIB=1024 # kB
ENOMEM=12
EINVAL=22
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
rfield() { # OUTPUT KEY
        sed -n "s/^report\\.$2=//p" <<<"$1" | head -n1
}
expect_ge() { # VALUE MIN WHAT
        if [[ -z $1 ]] || (($1 < $2)); then fail "$3: got '${1}', expected >= $2"; fi
}
expect_eq() { # VALUE WANT WHAT
        if [[ $1 != "$2" ]]; then fail "$3: got '$1', expected '$2'"; fi
}

err=$(mktemp)
trap 'rm -f "$err"' EXIT

# Runs shim-report under an 8 MiB RLIMIT_MEMLOCK without CAP_IPC_LOCK (dropped from the
# inheritable and bounding sets, so the exec'd program does not get it back as root).
unprivileged() {
        (
                ulimit -l 8192
                setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock "$@"
        )
}
out=$(unprivileged grep '^CapEff:' /proc/self/status)
if (((0x${out##*[[:space:]]} >> 14) & 1)); then
        echo "SKIP: could not drop CAP_IPC_LOCK with setpriv ($out)"
        exit 77
fi

echo "== control: a small program locks fine under the same limits"
out=$(unprivileged "$targets/shim-report" "$shim" "$targets/shim-target" status small)
expect_eq "$(rfield "$out" error)" 0 "small program: report error"
expect_ge "$(field "$out" small VmLck)" 1 "small program: VmLck"

echo "== abort (the default): exit 127 before main(), one line on stderr"
for setting in "" abort; do
        out=$(unprivileged env ${setting:+MEMLOCK_ON_FAILURE=$setting} \
                "$targets/shim-report" "$shim" "$targets/shim-bss" status main 2>"$err")
        what="ON_FAILURE=${setting:-unset}"
        expect_eq "$(sed -n 's/^exit=//p' <<<"$out")" 127 "$what: exit status"
        expect_eq "$(grep -c '^main ' <<<"$out" || true)" 0 "$what: main() ran"
        expect_eq "$(wc -l <"$err")" 1 "$what: stderr lines"
        grep -q '^memlock-shim: mlockall(MCL_CURRENT|MCL_FUTURE) failed: .*ENOMEM.*RLIMIT_MEMLOCK 8388608 bytes, no CAP_IPC_LOCK' "$err" ||
                fail "$what: stderr does not say why: $(cat "$err")"
        expect_eq "$(rfield "$out" error)" $ENOMEM "$what: report error"
        expect_eq "$(rfield "$out" stage)" 3 "$what: report stage (mlockall)"
        expect_eq "$(rfield "$out" flags)" 1 "$what: report flags (aborted)"
done

echo "== continue: the program runs unlocked, silently, and the report says why"
out=$(unprivileged env MEMLOCK_ON_FAILURE=continue \
        "$targets/shim-report" "$shim" "$targets/shim-bss" status main 2>"$err")
expect_eq "$(sed -n 's/^exit=//p' <<<"$out")" 0 "continue: exit status"
expect_eq "$(field "$out" main VmLck)" 0 "continue: VmLck in main()"
expect_eq "$(cat "$err")" "" "continue: stderr"
expect_eq "$(rfield "$out" error)" $ENOMEM "continue: report error"
expect_eq "$(rfield "$out" stage)" 3 "continue: report stage (mlockall)"
expect_eq "$(rfield "$out" flags)" 0 "continue: report flags"
expect_eq "$(rfield "$out" vm_lck_bytes)" 0 "continue: reported VmLck"
# The kernel's limit check comes before the prefault: nothing was populated for nothing.
expect_eq "$(rfield "$out" prefault_bytes)" 0 "continue: prefault bytes"
if (($(field "$out" main VmRSS) >= 32 * MIB)); then
        fail "continue: a failed lock left $(field "$out" main VmRSS) kB resident"
fi
out=$(unprivileged env MEMLOCK_ON_FAILURE=continue MEMLOCK_VERBOSE=1 \
        "$targets/shim-report" "$shim" "$targets/shim-bss" 2>"$err")
grep -q '^memlock-shim: mlockall.*; running unlocked$' "$err" ||
        fail "continue+verbose: stderr: $(cat "$err")"

echo "== mode on-fault fails the same way"
out=$(unprivileged env MEMLOCK_MODE=on-fault MEMLOCK_ON_FAILURE=continue \
        "$targets/shim-report" "$shim" "$targets/shim-bss" status main)
expect_eq "$(rfield "$out" error)" $ENOMEM "on-fault: report error"
expect_eq "$(rfield "$out" mode)" on-fault "on-fault: report mode"

echo "== bad settings: abort or continue as asked, stage config"
out=$(env MEMLOCK_MODE=bogus "$targets/shim-report" "$shim" "$targets/shim-target" status main \
        2>"$err")
expect_eq "$(sed -n 's/^exit=//p' <<<"$out")" 127 "bad mode: exit status"
grep -q "^memlock-shim: invalid MEMLOCK_MODE='bogus'" "$err" ||
        fail "bad mode: stderr: $(cat "$err")"
expect_eq "$(rfield "$out" error)" $EINVAL "bad mode: report error"
expect_eq "$(rfield "$out" stage)" 1 "bad mode: report stage (config)"
out=$(env MEMLOCK_PREFAULT_THREADS=lots MEMLOCK_ON_FAILURE=continue \
        "$targets/shim-report" "$shim" "$targets/shim-target" status main 2>"$err")
expect_eq "$(sed -n 's/^exit=//p' <<<"$out")" 0 "bad threads + continue: exit status"
expect_eq "$(field "$out" main VmLck)" 0 "bad threads + continue: VmLck"
expect_eq "$(rfield "$out" stage)" 1 "bad threads + continue: report stage"
expect_eq "$(cat "$err")" "" "bad threads + continue: stderr"

if ((failures)); then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "all shim failure checks passed"
