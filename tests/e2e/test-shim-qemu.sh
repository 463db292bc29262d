#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real QEMU under libmemlock-shim.so (mode on): its guest RAM, mapped in main() as a PROT_NONE
# reservation with mmap(MAP_FIXED) over it (the default backend) or as a memfd (memory-backend-
# memfd), goes through the shim's mmap interposer: prefaulted by 2 threads and locked before
# QEMU continues. Checked: QEMU's stderr (MEMLOCK_VERBOSE) names the guest-size mapping; in
# /proc/PID/smaps that mapping is all resident and all locked (Rss = Locked = guest size) once
# QMP answers (before the guest ever ran: -S), and still after it ran; with THP "madvise", the default backend's RAM is in
# huge pages, which only the interposer's MADV_HUGEPAGE before populating gives (QEMU advises
# after mmap, when the kernel has populated it in 4 KiB pages). Then the default backend again,
# started with `memlockctl run` through mlockd. KVM when usable, else TCG with tb-size=64 (TCG's
# code cache is locked too).
set -euo pipefail

# The daemon (for `memlockctl run`) is started and stopped by the integration tests' library,
# which also names $build, $shim, $daemon and $ctl.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
qemu=$(command -v qemu-system-x86_64 || true)
[[ -f $shim ]] || { echo "FAIL: $shim was not built" >&2; exit 1; }
[[ -n $qemu ]] || { echo "skipping: qemu-system-x86_64 not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipping: python3 missing (QMP client)"; exit 77; }
command -v busctl >/dev/null || { echo "skipping: busctl missing (lib_start_daemon)"; exit 77; }
cap_eff=$(sed -n 's/^CapEff:\t//p' /proc/self/status)
if ! (((0x$cap_eff >> 14) & 1)); then
        echo "skipping: needs CAP_IPC_LOCK (a locked 512 MiB guest)"
        exit 77
fi
unset "${!MEMLOCK_@}" LD_PRELOAD

# shellcheck source=tests/e2e/accel.sh
source "$(dirname "$0")/accel.sh"
# shellcheck source=tests/e2e/qmp.sh
source "$(dirname "$0")/qmp.sh"
e2e_accel_choose
read -ra accel <<<"$(e2e_qemu_accel_args)"
thp_mode=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true)
echo "THP: ${thp_mode:-not available}"

MIB=1024 # kB
SIZE=512 # MiB
# $tmp (0755) with policy.d/ and state/; at exit QEMU is killed (kill_qemu), then the daemon,
# and $tmp is removed.
lib_init mlockd-test-shim-qemu
pid=
child=
failures=0
kill_qemu() {
        [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null
}
lib_cleanup_hooks+=(kill_qemu)
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

qmp() { qmp_call "$tmp/qmp.sock" "$@"; }

# guest_ram KEY: KEY (Rss, Locked, AnonHugePages; kB) of the mapping of exactly the guest size.
guest_ram() {
        awk -v size="$((SIZE * MIB))" -v key="$1:" '
                $1 ~ /^[0-9a-f]+-[0-9a-f]+$/ { in_ram = 0; next }
                $1 == "Size:" { in_ram = ($2 == size) && !found; if (in_ram) found = 1 }
                in_ram && $1 == key { print $2; exit }' "/proc/$pid/smaps"
}

# run_guest WHAT QEMU-ARGS...: starts QEMU paused under the shim (preloaded here, or through
# mlockd when $launcher is set), checks the guest RAM, lets the guest run, checks again.
launcher=()
run_guest() {
        local what=$1 i rss lck thp
        shift
        rm -f "$tmp/qmp.sock" "$tmp/qemu.pid"
        if ((${#launcher[@]})); then
                "${launcher[@]}" "$qemu" "${accel[@]}" -m $SIZE -nodefaults -display none -S "$@" \
                        -pidfile "$tmp/qemu.pid" -qmp "unix:$tmp/qmp.sock,server=on,wait=off" \
                        </dev/null >"$tmp/qemu.log" 2>&1 &
        else
                env LD_PRELOAD="$shim" MEMLOCK_MODE=on MEMLOCK_PREFAULT_THREADS=2 MEMLOCK_VERBOSE=1 \
                        "$qemu" "${accel[@]}" -m $SIZE -nodefaults -display none -S "$@" \
                        -pidfile "$tmp/qemu.pid" -qmp "unix:$tmp/qmp.sock,server=on,wait=off" \
                        >"$tmp/qemu.log" 2>&1 &
        fi
        child=$!
        # The QMP socket listens early; QEMU answers on it (greeting, query-status) from its main
        # loop, once the machine, guest RAM included, is set up.
        for ((i = 0; i < 1200; i++)); do
                [[ -S $tmp/qmp.sock && -s $tmp/qemu.pid ]] && break
                kill -0 "$child" 2>/dev/null || break
                sleep 0.05
        done
        pid=$(cat "$tmp/qemu.pid" 2>/dev/null || true)
        if [[ ! -S $tmp/qmp.sock || -z $pid ]]; then
                fail "$what: QEMU did not come up: $(tail -3 "$tmp/qemu.log")"
                return
        fi
        if ! qmp query-status | grep -q '"status": "prelaunch"'; then
                fail "$what: QMP query-status: $(tail -3 "$tmp/qemu.log")"
                return
        fi
        # Through mlockd the shim's settings come from the policy (no MEMLOCK_VERBOSE): the huge
        # pages below are what shows the interposer there.
        if ((${#launcher[@]} == 0)); then
                grep -q "^memlock-shim: pid $pid: mmap of $((SIZE * MIB)) KiB prefaulted by 2 threads and locked in " "$tmp/qemu.log" ||
                        fail "$what: the guest RAM did not go through the interposer: $(grep memlock-shim "$tmp/qemu.log")"
        fi
        rss=$(guest_ram Rss)
        lck=$(guest_ram Locked)
        thp=$(guest_ram AnonHugePages)
        echo "$what: guest RAM Rss=$rss Locked=$lck AnonHugePages=$thp kB (paused)"
        [[ $rss == $((SIZE * MIB)) ]] || fail "$what: guest RAM Rss $rss kB, expected $((SIZE * MIB))"
        [[ $lck == "$rss" ]] || fail "$what: guest RAM Locked $lck kB, Rss $rss kB"
        if [[ $thp_mode == madvise && $what != *memfd* ]] && ((thp < SIZE * MIB / 2)); then
                fail "$what: guest RAM in huge pages: $thp kB"
        fi
        qmp cont query-status | grep -q '"status": "running"' || fail "$what: guest not running"
        sleep 0.5
        rss=$(guest_ram Rss)
        lck=$(guest_ram Locked)
        echo "$what: guest RAM Rss=$rss Locked=$lck kB (running)"
        [[ $rss == $((SIZE * MIB)) && $lck == "$rss" ]] ||
                fail "$what: after running: Rss $rss kB, Locked $lck kB"
        kill -KILL "$pid" 2>/dev/null
        # Our child: QEMU itself, or memlockctl, which exits when its workload does.
        wait "$child" 2>/dev/null || true
        pid=
}

run_guest "default backend"
run_guest "memory-backend-memfd" -object memory-backend-memfd,id=m,size=${SIZE}M \
        -machine memory-backend=m

# The same guest started as users start it: memlockctl run, mlockd on a private socket, a
# policy with Mode=on (the shim's defaults otherwise: PrefaultThreads=auto, THP on).
if [[ -x $daemon && -x $ctl ]]; then
        lib_config '[Daemon]\nBudget=infinity\n'
        lib_policy 50-guest '[Lock]\nMode=on\nLimit=2G\nOnFailure=abort\n\n[Access]\nAllowRun=yes\n'
        lib_start_daemon
        launcher=("$ctl" --socket "$sock" run --)
        run_guest "memlockctl run, default backend"
        lib_stop_daemon || true
else
        fail "mlockd or memlockctl was not built"
fi

if ((failures)); then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "all shim QEMU checks passed"
