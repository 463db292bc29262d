#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The libvirt hook against a real mlockd, without libvirtd (fast): stand-in "guests" are
# processes whose pids sit in a pid directory like /run/libvirt/qemu/DOMAIN.pid, and the hook
# is called the way libvirt calls it (DOMAIN PHASE SUBPHASE -, domain XML on stdin).
#   - every phase reads all of stdin (libvirt writes the XML);
#   - without a daemon, and for phases it ignores, it succeeds at once;
#   - `started begin` registers the guest under its domain name and returns before the lock
#     is done (the daemon locks asynchronously): a 1 GiB guest's lock takes longer than the hook;
#   - <memtune><hard_limit> above the policy's Limit= falls back to the policy's limit;
#   - a domain no policy matches is left alone, and its start is not failed;
#   - `reconnect begin` (libvirtd restarted) hands over a guest mlockd lacks, only that;
#   - `stopped end` drops the workload;
#   - a policy with OnFailure=abort makes the hook wait: it succeeds once the guest is locked,
#     and fails the start when the lock cannot be made.
set -euo pipefail

# The daemon is started and stopped by the integration tests' library.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
memlockctl=$ctl
hook=$build/libvirt/hooks/qemu.d/mlockd
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root (the hook attaches other processes)"; exit 77; }
[[ -x $hook ]] || { echo "FAIL: the hook was not configured ($hook)"; exit 1; }
[[ -x $daemon ]] || { echo "SKIP: mlockd was not built"; exit 77; }
[[ -x $memlockctl ]] || { echo "SKIP: memlockctl was not built"; exit 77; }
for c in busctl python3 setpriv; do
        command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done
python=$(readlink -f /usr/bin/python3)
[[ -x $python ]] || { echo "SKIP: no /usr/bin/python3"; exit 77; }

# $tmp with policy.d/ and state/; at exit the guests are killed (kill_guests), then the daemon,
# and $tmp is removed.
lib_init mlockd-test-hook
guests=()
kill_guests() {
        local p
        for p in "${guests[@]}"; do kill "$p" 2>/dev/null; done
        for p in "${guests[@]}"; do wait "$p" 2>/dev/null; done
}
lib_cleanup_hooks+=(kill_guests)
umask 022
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
T0=$(now_ms)
section() { echo "== $* (at $(($(now_ms) - T0)) ms)"; }

mkdir -p "$tmp/qemu"
cat >"$tmp/policy.d/10-guests.policy" <<'EOF'
[Match]
LibvirtDomain=guest-*
[Lock]
Mode=on
Limit=3G
OnFailure=continue
[Access]
AllowAttach=yes
EOF
# Matched by Executable= alone: the hook learns OnFailure= from Explain(pid), which knows no
# domain name (a daemon with a workload OnFailure property tells it directly).
cat >"$tmp/policy.d/20-required.policy" <<EOF
[Match]
Executable=$python
[Lock]
Mode=on
Limit=1G
OnFailure=abort
[Access]
AllowAttach=yes
EOF
lib_config '[Daemon]\nBudget=8G\n'
chmod 0644 "$tmp"/policy.d/*
socket=$sock
export MLOCKD_SOCKET=$socket MLOCKD_LIBVIRT_RUNDIR=$tmp/qemu MLOCKD_HOOK_TIMEOUT=20
export MLOCKD_CONF=/nonexistent

xml() { # NAME MIB [EXTRA]
        printf "<domain type='kvm'>\n  <name>%s</name>\n  <memory unit='KiB'>%d</memory>\n" \
                "$1" $(($2 * 1024))
        printf "  <currentMemory unit='KiB'>%d</currentMemory>\n%s\n</domain>\n" \
                $(($2 * 1024)) "${3:-}"
}
# A stand-in guest: maps MIB of memory, untouched, and sleeps. Extra args go before python.
guest() { # NAME MIB [setpriv args...]
        local name=$1 mib=$2
        shift 2
        "$@" "$python" -c "import mmap, time; m = mmap.mmap(-1, $mib << 20); time.sleep(120)" &
        guests+=($!)
        echo $! >"$tmp/qemu/$name.pid"
}
run_hook() { # NAME PHASE SUBPHASE < xml; prints the time taken in ms, returns the hook's status
        local start rc=0
        start=$(now_ms)
        "$hook" "$1" "$2" "$3" - >>"$tmp/hook.log" 2>&1 || rc=$?
        echo $(($(now_ms) - start))
        return $rc
}
daemon_check() {
        [[ -z $dpid ]] || kill -0 "$dpid" 2>/dev/null && return 0
        echo "FAIL: mlockd died; its log ends:" >&2
        tail -n 5 "$lib_log" >&2
        exit 1
}
list_json() {
        daemon_check
        "$memlockctl" --socket "$socket" list --json=short 2>/dev/null || echo "[]"
}
workload() { # NAME: "STATE PID LIMIT" of its live workload
        list_json | python3 -c '
import json, sys
for w in json.load(sys.stdin):
    if w["name"] == sys.argv[1] and w["state"] not in ("exited", "detached"):
        print(w["state"], w["pid"], w["limit_bytes"]); break' "$1"
}
workload_id() { # NAME
        list_json | python3 -c '
import json, sys
print(next((w["id"] for w in json.load(sys.stdin) if w["name"] == sys.argv[1]), ""))' "$1"
}
vmlck_kib() { sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

section "the hook reads all of stdin, in every phase"
for phase in "prepare begin" "start begin" "stopped end" "release end" "migrate begin"; do
        # 4 MiB of XML: a hook that exits without reading breaks the writer's pipe.
        set +e
        { xml guest-x 1; head -c $((4 << 20)) /dev/zero | tr '\0' ' '; } |
                "$hook" guest-x $phase - >/dev/null 2>&1
        st=("${PIPESTATUS[@]}")
        set -e
        [[ ${st[0]} == 0 && ${st[1]} == 0 ]] ||
                fail "phase '$phase': writer ${st[0]}, hook ${st[1]}"
done

section "without a daemon the guest's start is not failed"
guest guest-nodaemon 16
ms=$(xml guest-nodaemon 16 | run_hook guest-nodaemon started begin) ||
        fail "the hook failed without a daemon"
echo "returned in $ms ms"

lib_start_daemon

section "started begin: registered at once, locked in the background"
guest guest-big 1024
pid=$(cat "$tmp/qemu/guest-big.pid")
sleep 0.2
ms=$(xml guest-big 1024 | run_hook guest-big started begin) || fail "the hook failed"
w=$(workload guest-big)
echo "hook returned in $ms ms; workload right after: $w"
[[ $w == *" $pid "* ]] || fail "guest-big not listed under its name with pid $pid: '$w'"
for ((i = 0; i < 100; i++)); do
        [[ $(workload guest-big) == locked* ]] && break
        sleep 0.1
done
id=$(workload_id guest-big)
lock_usec=$(busctl --address="unix:path=$socket" get-property org.mlockd1 \
        "/org/mlockd1/workload/${id:-0}" org.mlockd1.Workload LockDurationUSec 2>/dev/null |
        awk '{print $2}')
lock_usec=${lock_usec:-0}
echo "the lock took $((lock_usec / 1000)) ms, VmLck $(vmlck_kib "$pid") kB"
(($(vmlck_kib "$pid") >= 1024 * 1024)) || fail "guest-big VmLck $(vmlck_kib "$pid") kB"
((ms < lock_usec / 1000)) ||
        fail "the hook ($ms ms) waited for the lock ($((lock_usec / 1000)) ms): not asynchronous"
[[ -f $tmp/libvirt-hook/guest-big ]] || fail "the hook kept no record of guest-big"

section "<memtune><hard_limit> above the policy's Limit=: the policy's limit applies"
guest guest-hard 64
pid=$(cat "$tmp/qemu/guest-hard.pid")
xml guest-hard 64 "<memtune><hard_limit unit='GiB'>16</hard_limit></memtune>" |
        run_hook guest-hard started begin >/dev/null || fail "the hook failed for guest-hard"
w=$(workload guest-hard)
[[ -n $w ]] || fail "guest-hard was not handed over"
echo "guest-hard: $w"
# Capped, not denied: the reservation is the policy's Limit=3G.
[[ $(awk '{print $3}' <<<"$w") == $((3 << 30)) ]] || fail "guest-hard limit is not 3G: '$w'"
# Without hard_limit, a guest's limit is its memory plus 512 MiB of overhead.
w=$(workload guest-big)
[[ $(awk '{print $3}' <<<"$w") == $(((1024 + 512) << 20)) ]] ||
        fail "guest-big limit is not 1 GiB + 512 MiB: '$w'"

section "a domain no policy matches is left alone"
sleep 120 &
guests+=($!)
echo $! >"$tmp/qemu/other-1.pid"
xml other-1 16 | run_hook other-1 started begin >/dev/null || fail "the hook failed other-1's start"
[[ -z $(workload other-1) ]] || fail "other-1 is listed: $(workload other-1)"

section "reconnect begin: a guest mlockd has is left as it is, one it lacks is handed over"
ids() {
        list_json | python3 -c 'import json, sys; print(sorted(w["id"] for w in json.load(sys.stdin)))'
}
before=$(ids)
xml guest-big 1024 | run_hook guest-big reconnect begin >/dev/null || fail "reconnect failed"
[[ $(ids) == "$before" ]] || fail "reconnect of a listed guest changed the table: $(ids)"
guest guest-late 16
xml guest-late 16 | run_hook guest-late reconnect begin >/dev/null || fail "reconnect failed"
[[ $(workload guest-late) == *" $(cat "$tmp/qemu/guest-late.pid") "* ]] ||
        fail "reconnect did not hand guest-late over: '$(workload guest-late)'"

section "stopped end drops the workload"
kill "$(cat "$tmp/qemu/guest-hard.pid")"
rm -f "$tmp/qemu/guest-hard.pid"
xml guest-hard 64 | run_hook guest-hard stopped end >/dev/null || fail "stopped end failed"
xml guest-hard 64 | run_hook guest-hard release end >/dev/null || fail "release end failed"
[[ -z $(workload guest-hard) ]] || fail "guest-hard still listed: $(workload guest-hard)"
[[ ! -e $tmp/libvirt-hook/guest-hard ]] || fail "the record of guest-hard remains"

section "OnFailure=abort: the hook waits for the lock"
guest must-ok 256
pid=$(cat "$tmp/qemu/must-ok.pid")
sleep 0.2
ms=$(xml must-ok 256 | run_hook must-ok started begin) || fail "the hook failed must-ok's start"
w=$(workload must-ok)
echo "returned after $ms ms with: $w"
[[ $w == "locked $pid "* ]] || fail "must-ok not locked when the hook returned: '$w'"

section "OnFailure=abort and a lock that cannot be made: the start fails"
# As nobody, without CAP_IPC_LOCK, the 8 MiB hard RLIMIT_MEMLOCK cannot hold 64 MiB unless
# mlockd can raise it (CAP_SYS_RESOURCE).
if grep -q 'No CAP_SYS_RESOURCE' "$lib_log"; then
        guest must-fail 64 setpriv --reuid=65534 --regid=65534 --clear-groups
        sleep 0.3
        if xml must-fail 64 | run_hook must-fail started begin >/dev/null; then
                fail "the hook let must-fail start although its required lock failed"
        fi
        grep 'must-fail' "$tmp/hook.log" | tail -n 2
else
        echo "mlockd holds CAP_SYS_RESOURCE here: the lock would succeed, case not shown"
fi

if ((failures)); then
        echo "--- hook log"
        cat "$tmp/hook.log"
        # lib_cleanup prints the end of the daemon's log.
        exit 1
fi
echo "OK"
