#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libmemlock-shim.so locks real processes: modes on, on-fault and current (VmLck/VmRSS from
# /proc/PID/status), prefault of memory mapped before main(), the report record, environment
# cleanup, silence on success. The shim is only preloaded into the uninstrumented programs in
# shim/targets (never into sanitizer builds of anything).
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?MLOCKD_BUILD_DIR is not set}
shim=$build/shim/libmemlock-shim.so
targets=$build/shim/targets
for f in "$shim" "$targets/shim-target" "$targets/shim-bss" "$targets/shim-report"; do
        [[ -e $f ]] || { echo "FAIL: $f was not built" >&2; exit 1; }
done
# The caller's settings must not leak in.
unset "${!MEMLOCK_@}" LD_PRELOAD

MIB=1024 # kB
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
# field OUTPUT LABEL KEY: KEY=value from the "LABEL pid=..." line of shim-target's status.
field() {
        awk -v label="$2" -v key="$3" '$1 == label {
                for (i = 2; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit }
        }' <<<"$1"
}
# rfield OUTPUT KEY: a report.KEY=value line of shim-report.
rfield() {
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

# 64 MiB locks need CAP_IPC_LOCK or RLIMIT_MEMLOCK >= 64 MiB.
cap_eff=$(sed -n 's/^CapEff:\t//p' /proc/self/status)
limit=$(ulimit -l)
if ! (((0x$cap_eff >> 14) & 1)) && [[ $limit != unlimited ]] && ((limit < 80 * MIB)); then
        echo "SKIP: neither CAP_IPC_LOCK nor RLIMIT_MEMLOCK >= 80 MiB (have ${limit} kB)"
        exit 77
fi

echo "== without the shim nothing is locked (the helpers do not lock themselves)"
out=$("$targets/shim-bss" status plain)
expect_eq "$(field "$out" plain VmLck)" 0 "VmLck without shim"

echo "== mode on: memory mapped in main() is locked and populated (MCL_FUTURE)"
err=$(mktemp)
trap 'rm -f "$err"' EXIT
out=$(env LD_PRELOAD="$shim" MEMLOCK_MODE=on "$targets/shim-target" status before alloc 64 \
        status after 2>"$err")
before=$(field "$out" before VmLck)
after=$(field "$out" after VmLck)
expect_ge "$before" 1 "VmLck before main's mmap (libraries, stack)"
expect_ge "$((after - before))" $((64 * MIB)) "VmLck growth after mmap 64 MiB"
expect_ge "$(field "$out" after VmRSS)" $((64 * MIB)) "VmRSS after mmap 64 MiB in mode on"
expect_eq "$(cat "$err")" "" "stderr of a successful lock"

echo "== mode on: 64 MiB mapped before main() (.bss) is prefaulted in parallel, locked, reported"
for threads in 2 1; do
        for thp in 1 0; do
                out=$(MEMLOCK_PREFAULT_THREADS=$threads MEMLOCK_THP=$thp \
                        "$targets/shim-report" "$shim" "$targets/shim-bss" status bss)
                what="threads=$threads thp=$thp"
                expect_eq "$(rfield "$out" size)" 56 "$what: report size"
                expect_eq "$(rfield "$out" magic_ok)" 1 "$what: report magic"
                expect_eq "$(rfield "$out" version)" 1 "$what: report version"
                expect_eq "$(rfield "$out" error)" 0 "$what: report error"
                expect_eq "$(rfield "$out" stage)" 0 "$what: report stage"
                expect_eq "$(rfield "$out" mode)" on "$what: report mode"
                expect_eq "$(rfield "$out" prefault_threads)" "$threads" "$what: prefault threads"
                expect_ge "$(rfield "$out" prefault_bytes)" $((64 << 20)) "$what: prefault bytes"
                expect_ge "$(rfield "$out" vm_lck_bytes)" $((64 << 20)) "$what: reported VmLck"
                expect_eq "$(rfield "$out" pid)" "$(sed -n 's/^child.pid=//p' <<<"$out")" \
                        "$what: reported pid"
                expect_ge "$(field "$out" bss VmLck)" $((64 * MIB)) "$what: VmLck in main()"
                expect_ge "$(field "$out" bss VmRSS)" $((64 * MIB)) "$what: VmRSS in main()"
                expect_eq "$(sed -n 's/^exit=//p' <<<"$out")" 0 "$what: exit status"
        done
done
out=$(MEMLOCK_PREFAULT_THREADS=0 "$targets/shim-report" "$shim" "$targets/shim-bss" status bss)
expect_eq "$(rfield "$out" prefault_threads)" 0 "PREFAULT_THREADS=0: prefault threads"
expect_eq "$(rfield "$out" prefault_bytes)" 0 "PREFAULT_THREADS=0: prefault bytes"
expect_ge "$(field "$out" bss VmLck)" $((64 * MIB)) "PREFAULT_THREADS=0: still locked"
out=$(MEMLOCK_PREFAULT_THREADS=auto "$targets/shim-report" "$shim" "$targets/shim-bss" status bss)
expect_ge "$(rfield "$out" prefault_threads)" 1 "PREFAULT_THREADS=auto: prefault threads"

echo "== mode on-fault: VmLck covers the mappings, VmRSS stays low"
out=$(env LD_PRELOAD="$shim" MEMLOCK_MODE=on-fault "$targets/shim-target" alloc 64 status after)
expect_ge "$(field "$out" after VmLck)" $((64 * MIB)) "on-fault: VmLck after mmap 64 MiB"
expect_lt "$(field "$out" after VmRSS)" $((32 * MIB)) "on-fault: VmRSS after mmap 64 MiB"
out=$(MEMLOCK_MODE=on-fault "$targets/shim-report" "$shim" "$targets/shim-bss" status bss)
expect_eq "$(rfield "$out" mode)" on-fault "on-fault: report mode"
expect_eq "$(rfield "$out" prefault_threads)" 0 "on-fault: no prefault"
expect_ge "$(field "$out" bss VmLck)" $((64 * MIB)) "on-fault: .bss VmLck"
expect_lt "$(field "$out" bss VmRSS)" $((32 * MIB)) "on-fault: .bss VmRSS"
out=$(env LD_PRELOAD="$shim" MEMLOCK_MODE=on-fault "$targets/shim-target" alloc 64 touch \
        status touched)
expect_ge "$(field "$out" touched VmRSS)" $((64 * MIB)) "on-fault: VmRSS once touched"

echo "== mode current: what exists is locked, later mappings are not"
out=$(env LD_PRELOAD="$shim" MEMLOCK_MODE=current "$targets/shim-bss" status before alloc 64 \
        touch status after)
before=$(field "$out" before VmLck)
expect_ge "$before" $((64 * MIB)) "current: .bss locked"
expect_eq "$(field "$out" after VmLck)" "$before" "current: VmLck after a later mmap"
expect_ge "$(field "$out" after VmRSS)" $((128 * MIB)) "current: later mapping is resident"

echo "== settings and the shim are removed from the environment; other preloads stay"
libc=$(ldd "$targets/shim-target" | awk '/libc\.so/ { print $3 }')
out=$(env LD_PRELOAD="$shim $libc" MEMLOCK_MODE=on MEMLOCK_THP=1 MEMLOCK_VERBOSE=0 \
        "$targets/shim-target" env MEMLOCK_MODE env MEMLOCK_THP env MEMLOCK_VERBOSE env LD_PRELOAD)
expect_eq "$(grep -c ' unset$' <<<"$out")" 3 "MEMLOCK_* left in environ: $out"
expect_eq "$(sed -n 's/^LD_PRELOAD=//p' <<<"$out")" "$libc" "LD_PRELOAD after the shim"
out=$(env LD_PRELOAD="$libc:$shim $libc" "$targets/shim-target" env LD_PRELOAD)
expect_eq "$out" "LD_PRELOAD=$libc:$libc" "LD_PRELOAD with the shim in the middle"
out=$(env LD_PRELOAD="$shim" "$targets/shim-target" env LD_PRELOAD)
expect_eq "$out" "LD_PRELOAD unset" "LD_PRELOAD with only the shim"
out=$(env LD_PRELOAD="$shim" MEMLOCK_INHERIT=1 MEMLOCK_MODE=on-fault "$targets/shim-target" \
        env LD_PRELOAD env MEMLOCK_MODE env MEMLOCK_REPORT_FD)
expect_eq "$out" "LD_PRELOAD=$shim"$'\n'"MEMLOCK_MODE=on-fault"$'\n'"MEMLOCK_REPORT_FD unset" \
        "environment with MEMLOCK_INHERIT=1"

echo "== verbose says what it did, on stderr"
env LD_PRELOAD="$shim" MEMLOCK_VERBOSE=1 "$targets/shim-target" >/dev/null 2>"$err"
grep -q '^memlock-shim: pid [0-9]* locked ' "$err" || fail "verbose line missing: $(cat "$err")"

echo "== the report fd is closed once written"
out=$("$targets/shim-report" "$shim" "$targets/shim-target" fd 10)
expect_eq "$(grep '^fd10=' <<<"$out")" fd10=closed "report fd in main()"
out=$("$targets/shim-report" "" "$targets/shim-target" fd 10)
expect_eq "$(grep '^fd10=' <<<"$out")" fd10=open "report fd without the shim (control)"
out=$("$targets/shim-report" --closed-reader "$shim" "$targets/shim-target" status alive)
expect_eq "$(sed -n 's/^exit=//p' <<<"$out")" 0 "exit status when the reader is gone (SIGPIPE)"
expect_ge "$(field "$out" alive VmLck)" 1 "locked when the reader is gone"

if ((failures)); then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "all shim lock checks passed"
