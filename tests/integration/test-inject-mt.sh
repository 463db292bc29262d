#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ptrace injection into a real multithreaded process (helpers/mt-target.c): mlockall() injected
# into the thread sleeping in clock_nanosleep() and munlockall() into the thread blocked in
# read(). Afterwards every thread behaves as if nothing happened: the sleep lasts its full
# time, the read gets the data written after the injection, the busy threads keep running,
# real-time signals sent during repeated injections all arrive; VmLck covers every mapping
# after mlockall and drops to ~0 after munlockall.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?}
src=${MLOCKD_SOURCE_DIR:?}
tool=$build/tests/helpers/inject-tool
target=$build/tests/helpers/mt-target

[[ -x $tool && -x $target ]] || { echo "skipping: helpers not built"; exit 77; }
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
if ((scope == 3)) || { ((scope > 0)) && ((EUID != 0)); }; then
        echo "skipping: kernel.yama.ptrace_scope=$scope"
        exit 77
fi

tmp=$(mktemp -d /tmp/mlockd-test-inject-mt.XXXXXX)
pid=
cleanup() {
        [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
        echo "FAIL: $*" >&2
        echo "--- target output:" >&2
        cat "$tmp/out" >&2 || true
        exit 1
}

# mlockall() in an ASan-instrumented process would try to lock its terabytes of shadow memory:
# use an uninstrumented build of the target then.
if grep -qa __asan_init "$target"; then
        cc -O2 -pthread -o "$tmp/mt-target" "$src/tests/integration/helpers/mt-target.c"
        target=$tmp/mt-target
fi

status_kb() { # FIELD
        awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"
}
# Sum (KiB) of every mapping mlockall() can lock: accessible, not the vvar/vsyscall pages.
lockable_kb() {
        local s=0 range perms name
        while read -r range perms _ _ _ name; do
                [[ $perms == ---p ]] && continue
                [[ $name =~ ^\[(vvar|vvar_vclock|vsyscall)\]$ ]] && continue
                s=$((s + 0x${range#*-} - 0x${range%-*}))
        done <"/proc/$pid/maps"
        echo $((s / 1024))
}
wait_line() { # REGEX [COUNT]: wait until the output has COUNT (default 1) lines matching
        local n=${2:-1}
        for _ in $(seq 1 500); do
                (($(grep -cE "$1" "$tmp/out" || true) >= n)) && return 0
                sleep 0.01
        done
        fail "no line matching '$1' (x$n)"
}

mkfifo "$tmp/fifo"
exec 3<>"$tmp/fifo"
"$target" 64 2000 2 <"$tmp/fifo" >"$tmp/out" 2>&1 &
pid=$!
wait_line '^ready '
read -r _ _ main reader < <(grep '^ready ' "$tmp/out" | sed 's/main=//; s/reader=//')
[[ $main == "$pid" ]] || fail "unexpected main tid $main"

# 1. mlockall into the sleeping main thread, 0.8 s into a 2 s sleep.
starts=$(grep -c '^sleep-start' "$tmp/out")
wait_line '^sleep-start' $((starts + 1))
sleep 0.8
out=$("$tool" mlockall "$pid" current,future) || fail "mlockall injection: $out"
echo "mlockall: $out"
[[ $out == *"stage=syscall error=0 result=0"* ]] || fail "unexpected result: $out"
lck=$(status_kb VmLck)
need=$(lockable_kb)
echo "VmLck ${lck} kB, lockable mappings ${need} kB, VmSize $(status_kb VmSize) kB"
((lck >= 64 * 1024)) || fail "VmLck ${lck} kB < 64 MiB"
((lck >= need)) || fail "VmLck ${lck} kB < lockable ${need} kB"

# The interrupted sleep lasts its full 2000 ms: not cut short, not restarted from scratch
# (which would take 2800 ms or more).
slept_before=$(grep -c '^slept' "$tmp/out" || true)
wait_line '^slept' $((slept_before + 1))
ms=$(grep '^slept' "$tmp/out" | sed -n "$((slept_before + 1))p" | awk '{print $2}')
echo "interrupted sleep lasted ${ms} ms"
((ms >= 2000 && ms <= 2500)) || fail "sleep lasted ${ms} ms, expected 2000"

# 2. munlockall into the thread blocked in read(); then it must read what we write.
out=$("$tool" --tid "$reader" munlockall "$pid") || fail "munlockall injection: $out"
echo "munlockall (reader thread): $out"
[[ $out == *"stage=syscall error=0"* ]] || fail "unexpected result: $out"
lck=$(status_kb VmLck)
((lck < 1024)) || fail "VmLck ${lck} kB after munlockall"
echo "hello-after-injection" >&3
wait_line '^read hello-after-injection$'

# The busy threads still run.
t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep 0.3
t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
((t1 > t0)) || fail "the busy threads stopped"

# 3. Real-time signals (queued, never merged) sent during repeated injections all arrive.
n=300
(for i in $(seq 1 $n); do
        kill -s RTMIN "$pid"
        ((i % 10)) || sleep 0.002
done) &
sender=$!
injections=0
while kill -0 "$sender" 2>/dev/null; do
        "$tool" munlockall "$pid" >/dev/null || fail "injection during signals failed"
        injections=$((injections + 1))
done
wait "$sender"
got=
for _ in $(seq 1 100); do
        echo count >&3
        sleep 0.02
        got=$(grep '^count' "$tmp/out" | tail -1 | awk '{print $3}')
        [[ $got == "$n" ]] && break
done
echo "$n SIGRTMIN sent during $injections injections, $got handled"
((injections >= 2)) || fail "only $injections injections overlapped the signals"
[[ $got == "$n" ]] || fail "signals lost: $got of $n handled"

# Nothing went wrong in any thread, and it exits normally.
grep -E 'error' "$tmp/out" && fail "a thread saw an error"
echo quit >&3
wait "$pid" || fail "target exited with $?"
pid=
echo "OK"
