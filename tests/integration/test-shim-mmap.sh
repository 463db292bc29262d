#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libmemlock-shim.so's mmap interposer (shim/shim-mmap.c): in mode on, a large mapping made
# after main() is resident and locked when mmap returns, populated by several threads (and in
# huge pages where THP is "madvise"), not by the kernel in the calling thread. Anonymous
# mappings, QEMU's reservation + MAP_FIXED, and memfd MAP_SHARED; in a forked child too. Modes
# on-fault and current still defer; below the threshold or with MEMLOCK_PREFAULT_MMAP=off the
# kernel does it as before; over the limit mmap fails with EAGAIN, populating nothing.
#
# How a test tells the interposer from the kernel (both leave the mapping resident): the kernel
# populates a new mapping under MCL_FUTURE inside mmap, in the calling thread, so that thread's
# minor faults (getrusage(RUSAGE_THREAD)) grow by one per page; with the interposer other
# threads take part of the pages. And with THP "madvise" only the interposer's MADV_HUGEPAGE
# before populating gives the mapping huge pages: the program never asks for them.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?MLOCKD_BUILD_DIR is not set}
shim=$build/shim/libmemlock-shim.so
targets=$build/shim/targets
for f in "$shim" "$targets/shim-target" "$targets/shim-report"; do
        [[ -e $f ]] || { echo "FAIL: $f was not built" >&2; exit 1; }
done
unset "${!MEMLOCK_@}" LD_PRELOAD

MIB=1024 # kB
SIZE=512 # MiB
PAGES=$((SIZE * MIB / ($(getconf PAGESIZE) / 1024)))
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
expect_lt() { # VALUE MAX WHAT
        if [[ -z $1 ]] || (($1 >= $2)); then fail "$3: got '${1}', expected < $2"; fi
}
expect_eq() { # VALUE WANT WHAT
        if [[ $1 != "$2" ]]; then fail "$3: got '$1', expected '$2'"; fi
}

cap_eff=$(sed -n 's/^CapEff:\t//p' /proc/self/status)
limit=$(ulimit -l)
if ! (((0x$cap_eff >> 14) & 1)) && [[ $limit != unlimited ]] && ((limit < (SIZE + 64) * MIB)); then
        echo "SKIP: neither CAP_IPC_LOCK nor RLIMIT_MEMLOCK >= $((SIZE + 64)) MiB (have ${limit} kB)"
        exit 77
fi
thp_mode=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true)
echo "THP: ${thp_mode:-not available}"

err=$(mktemp)
trap 'rm -f "$err"' EXIT

# shim ENV... -- ARGS: shim-target under the shim with these settings.
under_shim() {
        local e=()
        while [[ $1 != -- ]]; do e+=("$1"); shift; done
        shift
        env LD_PRELOAD="$shim" "${e[@]}" "$targets/shim-target" "$@"
}

echo "== control: without the interposer the kernel populates in the calling thread"
out=$(under_shim MEMLOCK_PREFAULT_MMAP=off -- alloc $SIZE region r)
expect_eq "$(field "$out" r resident)" $((SIZE * MIB)) "off: resident when mmap returned"
expect_ge "$(field "$out" r minflt)" "$PAGES" "off: faults taken by the calling thread"
if [[ $thp_mode == madvise ]]; then
        expect_eq "$(field "$out" r thp)" 0 "off: huge pages without MADV_HUGEPAGE"
fi

for kind in alloc alloc-fixed memfd; do
        echo "== mode on, $kind $SIZE MiB after main(): resident and locked when mmap returns, by 2 threads"
        out=$(under_shim MEMLOCK_PREFAULT_THREADS=2 -- $kind $SIZE region r status s 2>"$err")
        expect_eq "$(field "$out" r resident)" $((SIZE * MIB)) "$kind: resident when mmap returned"
        expect_eq "$(field "$out" r rss)" $((SIZE * MIB)) "$kind: Rss of the mapping"
        expect_eq "$(field "$out" r locked)" $((SIZE * MIB)) "$kind: Locked of the mapping"
        expect_ge "$(field "$out" s VmLck)" $((SIZE * MIB)) "$kind: VmLck"
        expect_ge "$(field "$out" s VmRSS)" $((SIZE * MIB)) "$kind: VmRSS"
        expect_lt "$(field "$out" r minflt)" "$PAGES" "$kind: faults taken by the calling thread (other threads populated part)"
        expect_eq "$(cat "$err")" "" "$kind: stderr of a successful lock"
        if [[ $thp_mode == madvise && $kind != memfd ]]; then
                expect_ge "$(field "$out" r thp)" $((SIZE * MIB / 2)) "$kind: huge pages (MEMLOCK_THP=1)"
                out=$(under_shim MEMLOCK_PREFAULT_THREADS=2 MEMLOCK_THP=0 -- $kind $SIZE region r)
                expect_eq "$(field "$out" r thp)" 0 "$kind: huge pages with MEMLOCK_THP=0"
                expect_eq "$(field "$out" r locked)" $((SIZE * MIB)) "$kind, THP=0: Locked"
        fi
done

echo "== the defaults (threads auto, threshold 64M) and verbose"
out=$(under_shim MEMLOCK_VERBOSE=1 -- alloc $SIZE region r 2>"$err")
expect_eq "$(field "$out" r locked)" $((SIZE * MIB)) "defaults: Locked"
grep -q "^memlock-shim: pid [0-9]*: mmap of $((SIZE * MIB)) KiB prefaulted by [0-9]* threads and locked in [0-9]* us$" "$err" ||
        fail "verbose: no line for the mapping: $(cat "$err")"

echo "== a forked child's large mappings too (the child locks again, MCL_FUTURE)"
out=$(under_shim MEMLOCK_PREFAULT_THREADS=2 -- fork alloc $SIZE region child)
expect_eq "$(field "$out" child resident)" $((SIZE * MIB)) "child: resident when mmap returned"
expect_eq "$(field "$out" child locked)" $((SIZE * MIB)) "child: Locked"
expect_lt "$(field "$out" child minflt)" "$PAGES" "child: faults taken by the calling thread"

echo "== below the threshold: the kernel, as before"
out=$(under_shim MEMLOCK_PREFAULT_MMAP=128M MEMLOCK_PREFAULT_THREADS=2 -- alloc 64 region r)
expect_eq "$(field "$out" r locked)" $((64 * MIB)) "64M < 128M: Locked"
expect_ge "$(field "$out" r minflt)" $((PAGES / 8)) "64M < 128M: faults taken by the calling thread"
out=$(under_shim MEMLOCK_PREFAULT_MMAP=64M MEMLOCK_PREFAULT_THREADS=2 -- alloc 64 region r)
expect_lt "$(field "$out" r minflt)" $((PAGES / 8)) "64M >= 64M: faults taken by the calling thread"

echo "== mode on-fault defers, mode current does not lock later mappings"
out=$(under_shim MEMLOCK_MODE=on-fault -- alloc $SIZE region r status s)
expect_eq "$(field "$out" r resident)" 0 "on-fault: resident when mmap returned"
expect_ge "$(field "$out" s VmLck)" $((SIZE * MIB)) "on-fault: VmLck (locked on fault)"
out=$(under_shim MEMLOCK_MODE=current -- alloc $SIZE region r)
expect_eq "$(field "$out" r resident)" 0 "current: resident when mmap returned"
expect_eq "$(field "$out" r locked)" 0 "current: Locked"

echo "== after the program's own munlockall() nothing is populated or locked (no MCL_FUTURE)"
out=$(under_shim MEMLOCK_PREFAULT_THREADS=2 -- munlockall alloc $SIZE region r status s)
expect_eq "$(field "$out" r resident)" 0 "munlockall: resident when mmap returned"
expect_eq "$(field "$out" s VmLck)" 0 "munlockall: VmLck"

echo "== over the limit: mmap fails with EAGAIN, as without the shim's interposer"
if command -v setpriv >/dev/null; then
        unprivileged() {
                (
                        ulimit -l 8192
                        setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock "$@"
                )
        }
        for setting in 64M off; do
                out=$(unprivileged env MEMLOCK_PREFAULT_MMAP=$setting MEMLOCK_PREFAULT_THREADS=2 \
                        "$targets/shim-report" "$shim" "$targets/shim-target" status before \
                        alloc 128 status after 2>"$err")
                what="PREFAULT_MMAP=$setting, 8 MiB limit"
                expect_eq "$(rfield "$out" error)" 0 "$what: the lock at start (report)"
                expect_ge "$(field "$out" before VmLck)" 1 "$what: locked before the mmap"
                expect_eq "$(sed -n 's/^exit=//p' <<<"$out")" 3 "$what: exit status"
                grep -q "^shim-target: mmap $((128 << 20)): Resource temporarily unavailable$" "$err" ||
                        fail "$what: mmap error: $(cat "$err")"
        done
else
        echo "setpriv (util-linux) is missing: the limit checks are left to test-shim-failure"
fi

echo "== bad MEMLOCK_PREFAULT_MMAP is a config failure"
out=$(env MEMLOCK_PREFAULT_MMAP=lots "$targets/shim-report" "$shim" "$targets/shim-target" \
        status main 2>"$err")
expect_eq "$(sed -n 's/^exit=//p' <<<"$out")" 127 "bad PREFAULT_MMAP: exit status"
grep -q "^memlock-shim: invalid MEMLOCK_PREFAULT_MMAP='lots'" "$err" ||
        fail "bad PREFAULT_MMAP: stderr: $(cat "$err")"
expect_eq "$(rfield "$out" stage)" 1 "bad PREFAULT_MMAP: report stage (config)"

if ((failures)); then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "all shim mmap checks passed"
