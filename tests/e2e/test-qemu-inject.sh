#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attach to a real, running QEMU guest (started without mem-lock; KVM, or TCG without a usable
# /dev/kvm: accel.sh) the way mlockd does: mlockall(MCL_CURRENT|MCL_FUTURE) injected from a
# forked helper (inject_job_run) brings VmLck to at least the 512 MiB of guest RAM, the guest
# keeps running (QMP query-status answers "running"), and an injected munlockall() brings VmLck
# back near 0.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?}
tool=$build/tests/helpers/inject-tool
qemu=$(command -v qemu-system-x86_64 || true)

[[ -x $tool ]] || { echo "skipping: inject-tool not built"; exit 77; }
[[ -n $qemu ]] || { echo "skipping: qemu-system-x86_64 not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipping: python3 missing (QMP client)"; exit 77; }
# shellcheck source=tests/e2e/accel.sh
source "$(dirname "$0")/accel.sh"
# shellcheck source=tests/e2e/qmp.sh
source "$(dirname "$0")/qmp.sh"
e2e_accel_choose
[[ $(uname -m) == x86_64 ]] || { echo "skipping: not x86_64"; exit 77; }
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
if ((scope == 3)) || { ((scope > 0)) && ((EUID != 0)); }; then
        echo "skipping: kernel.yama.ptrace_scope=$scope"
        exit 77
fi

tmp=$(mktemp -d /tmp/mlockd-test-qemu-inject.XXXXXX)
pid=
cleanup() {
        [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
        echo "FAIL: $*" >&2
        cat "$tmp/qemu.log" >&2 || true
        exit 1
}

qmp() { qmp_call "$tmp/qmp.sock" "$@"; }
vmlck_kb() {
        awk '$1 == "VmLck:" { print $2 }' "/proc/$pid/status"
}

# shellcheck disable=SC2046 # the accelerator arguments are meant to split
"$qemu" $(e2e_qemu_accel_args) -m 512 -nodefaults -display none \
        -qmp "unix:$tmp/qmp.sock,server=on,wait=off" >"$tmp/qemu.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
        [[ -S $tmp/qmp.sock ]] && break
        kill -0 "$pid" 2>/dev/null || fail "qemu exited"
        sleep 0.05
done
[[ -S $tmp/qmp.sock ]] || fail "no QMP socket"
qmp query-status | grep -q '"status": "running"' || fail "guest not running before attach"
echo "qemu $pid running, VmRSS $(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status") kB," \
        "VmLck $(vmlck_kb) kB"

out=$("$tool" mlockall "$pid" current,future) || fail "mlockall injection: $out"
echo "mlockall: $out"
lck=$(vmlck_kb)
echo "VmLck after mlockall: $lck kB"
((lck >= 512 * 1024)) || fail "VmLck $lck kB < 512 MiB"

status=$(qmp query-status)
echo "query-status: $status"
[[ $status == *'"status": "running"'* ]] || fail "guest not running after attach"

out=$("$tool" munlockall "$pid") || fail "munlockall injection: $out"
echo "munlockall: $out"
lck=$(vmlck_kb)
echo "VmLck after munlockall: $lck kB"
((lck < 16 * 1024)) || fail "VmLck $lck kB after munlockall"
qmp query-status | grep -q '"status": "running"' || fail "guest not running after detach"

qmp quit >/dev/null || true
for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
done
wait "$pid" || fail "qemu exited with $?"
pid=
echo OK
