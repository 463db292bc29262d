#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# daemon/helpers/spawn.c with real processes as uid 65534, through tests/integration/helpers/spawn-run:
# a static program locked by injection at the exec stop (built here with `cc -static`), 256 MiB
# locked through the shim, the caller's LD_PRELOAD kept out, exit codes, stdin to stdout, and
# errors that name the path.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?}
src=${MLOCKD_SOURCE_DIR:?}
run=$build/tests/helpers/spawn-run
shim=$build/shim/libmemlock-shim.so
target=$build/shim/targets/shim-target

if [[ $(id -u) != 0 ]]; then
        echo "SKIP: spawning as uid 65534 needs root"
        exit 77
fi
if [[ ! -x $run ]]; then
        echo "SKIP: $run not built (mlockd-daemon-lib missing?)"
        exit 77
fi

tmp=$(mktemp -d /tmp/test-spawn.XXXXXX)
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
        echo "FAIL: $*" >&2
        exit 1
}
# expect_match TEXT REGEX WHAT
expect_match() {
        [[ $1 =~ $2 ]] || fail "$3: '$1' does not match '$2'"
}

nobody=(--uid 65534 --gid 65534)

# ---- a static program: no shim can reach it; mlockall is injected at the exec stop ---------
if cc -static -O1 -o "$tmp/spawn-hog-static" "$src/tests/integration/helpers/spawn-hog.c" \
        2>"$tmp/cc.log"; then
        out=$("$run" "${nobody[@]}" -- "$tmp/spawn-hog-static" 64 0 2>"$tmp/err") ||
                fail "static hog exited $?: $(cat "$tmp/err")"
        err=$(cat "$tmp/err")
        echo "$out"
        echo "$err"
        expect_match "$err" "mechanism=ptrace kind=static" "static mechanism"
        expect_match "$err" "report error=0 stage=none" "static report"
        expect_match "$out" "uid=65534 VmLck=([0-9]+)" "static hog line"
        kb=$(sed -n 's/.*VmLck=\([0-9]*\).*/\1/p' <<<"$out")
        ((kb >= 64 * 1024)) || fail "static hog: VmLck ${kb} kB < 64 MiB"
        # CAP_IPC_LOCK effective, ambient cleared after the lock (Inherit=no).
        expect_match "$out" "CapEff=0000000000004000 CapAmb=0000000000000000" "static caps"

        # RLIMIT_MEMLOCK of one page and no capability: the injected mlockall fails;
        # OnFailure=abort stops the program with 127 and says why on its stderr.
        rc=0
        "$run" "${nobody[@]}" --sys-resource yes --limit 4K -- "$tmp/spawn-hog-static" 1 0 \
                >"$tmp/out" 2>"$tmp/err" || rc=$?
        ((rc == 127)) || fail "static abort: exit $rc, expected 127: $(cat "$tmp/err")"
        grep -q "could not lock the memory of '$tmp/spawn-hog-static'" "$tmp/err" ||
                fail "static abort: no reason on stderr: $(cat "$tmp/err")"
        grep -q "report error=[1-9]" "$tmp/err" || fail "static abort: report: $(cat "$tmp/err")"
else
        echo "static libc not available (cc -static failed), static case skipped:"
        cat "$tmp/cc.log"
fi

# ---- a 32-bit static program (i386 ABI: int $0x80, other syscall numbers) -------------------
cat >"$tmp/t32.s" <<'ASM'
.globl _start
.text
_start:
        mov $4, %eax            # write(1, msg, 3)
        mov $1, %ebx
        mov $msg, %ecx
        mov $3, %edx
        int $0x80
        mov $1, %eax            # exit(0)
        xor %ebx, %ebx
        int $0x80
.data
msg:    .ascii "ok\n"
ASM
if as --32 -o "$tmp/t32.o" "$tmp/t32.s" 2>/dev/null && ld -m elf_i386 -o "$tmp/t32" "$tmp/t32.o" \
        2>/dev/null && [[ $("$tmp/t32" 2>/dev/null) == ok ]]; then
        out=$("$run" "${nobody[@]}" -- "$tmp/t32" 2>"$tmp/err") || fail "t32: exit $?: $(cat "$tmp/err")"
        [[ $out == ok ]] || fail "t32: '$out'"
        grep -q "mechanism=ptrace kind=static" "$tmp/err" || fail "t32: $(cat "$tmp/err")"
        grep -q "report error=0 stage=none vm_lck=[1-9]" "$tmp/err" || fail "t32: $(cat "$tmp/err")"
        rc=0
        "$run" "${nobody[@]}" --sys-resource yes --limit 4K -- "$tmp/t32" >"$tmp/out" 2>"$tmp/err" ||
                rc=$?
        ((rc == 127)) || fail "t32 abort: exit $rc: $(cat "$tmp/err")"
        [[ ! -s $tmp/out ]] || fail "t32 abort: it ran: $(cat "$tmp/out")"
else
        echo "no i386 toolchain or no ia32 emulation: 32-bit case skipped"
fi

# ---- errors name the path, before anything is forked ---------------------------------------
rc=0
"$run" "${nobody[@]}" -- no-such-command-xyz 2>"$tmp/err" || rc=$?
((rc == 125)) || fail "not found: exit $rc"
grep -q "'no-such-command-xyz'" "$tmp/err" || fail "not found: $(cat "$tmp/err")"
echo data >"$tmp/plain"
rc=0
"$run" "${nobody[@]}" -- "$tmp/plain" 2>"$tmp/err" || rc=$?
((rc == 125)) || fail "not executable: exit $rc"
grep -q "'$tmp/plain' is not executable by uid 65534" "$tmp/err" ||
        fail "not executable: $(cat "$tmp/err")"
rc=0
"$run" "${nobody[@]}" --cwd /nope -- true 2>"$tmp/err" || rc=$?
((rc == 125)) || fail "chdir: exit $rc"
grep -q "Failed to change directory to '/nope' as uid 65534: No such file or directory" \
        "$tmp/err" || fail "chdir: $(cat "$tmp/err")"

# ---- exit codes, stdio, cwd --------------------------------------------------------------
rc=0
"$run" "${nobody[@]}" -- sh -c 'exit 3' 2>/dev/null || rc=$?
((rc == 3)) || fail "exit 3: got $rc"
rc=0
"$run" "${nobody[@]}" -- sh -c 'kill -TERM $$' 2>/dev/null || rc=$?
((rc == 143)) || fail "SIGTERM: got $rc"
out=$(printf 'through cat\n' | "$run" "${nobody[@]}" -- cat 2>/dev/null)
[[ $out == "through cat" ]] || fail "cat: '$out'"
out=$("$run" "${nobody[@]}" -- pwd 2>/dev/null)
[[ $out == "$tmp" ]] || fail "cwd: '$out' != '$tmp'"

# ---- the shim: 256 MiB locked as nobody, the caller's LD_PRELOAD absent ---------------------
if [[ ! -f $shim || ! -x $target ]]; then
        echo "shim not built ($shim, $target): shim cases skipped"
        exit 0
fi
out=$("$run" "${nobody[@]}" --shim "$shim" -- "$target" alloc 256 touch status L 2>"$tmp/err") ||
        fail "shim target exited $?: $(cat "$tmp/err")"
err=$(cat "$tmp/err")
echo "$out"
echo "$err"
expect_match "$err" "mechanism=(capability|rlimit) kind=dynamic" "shim mechanism"
expect_match "$err" "report error=0 stage=none" "shim report"
kb=$(sed -n 's/.*VmLck=\([0-9]*\).*/\1/p' <<<"$out")
((kb >= 256 * 1024)) || fail "shim: VmLck ${kb} kB < 256 MiB"

out=$("$run" "${nobody[@]}" --shim "$shim" --clear-env --setenv PATH=/usr/bin:/bin \
        --setenv HOME=/home/x --setenv LD_PRELOAD=/tmp/evil.so \
        --setenv LD_LIBRARY_PATH=/tmp/evil --setenv MEMLOCK_MODE=current -- \
        "$target" env LD_PRELOAD env LD_LIBRARY_PATH env MEMLOCK_MODE env HOME env PATH \
        2>"$tmp/err") || fail "env: exit $?: $(cat "$tmp/err")"
echo "$out"
[[ $out != *evil* ]] || fail "the caller's LD_* reached the workload: $out"
grep -q "report error=0" "$tmp/err" || fail "env: the shim did not report: $(cat "$tmp/err")"
grep -qx "HOME=/home/x" <<<"$out" || fail "env: HOME lost: $out"
grep -qx "PATH=/usr/bin:/bin" <<<"$out" || fail "env: PATH lost: $out"
grep -qx "LD_LIBRARY_PATH unset" <<<"$out" || fail "env: LD_LIBRARY_PATH: $out"
echo "PASS"
