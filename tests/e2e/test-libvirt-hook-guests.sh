#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The libvirt hook against a real mlockd and a real QEMU, without libvirtd: the hook is called
# the way libvirt calls it (DOMAIN PHASE SUBPHASE -, domain XML on stdin), with DOMAIN.pid in a
# private run directory.
#   - hostile domain names: `--address=unix:abstract=...` does not redirect the hook to another
#     socket; a name with a newline and "<2>" does not forge a log line;
#   - a running QEMU whose XML describes VFIO hostdevs (2, behind a vIOMMU), an NVMe disk and
#     memory hotplug slots (no real device is needed: the hook and the daemon size from the
#     XML) gets the limit of docs/libvirt.md, computed here independently; VmLck covers the
#     guest's RAM; <hard_limit> wins; the policy's Limit= caps.
# MLOCKD_TEST_HOOK runs another hook (e.g. bench/baseline/libvirt-hook.sh, the shell script
# this replaced, which fails the attack cases).
set -euo pipefail

# The daemon is started and stopped by the integration tests' library.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
memlockctl=$ctl
hook=${MLOCKD_TEST_HOOK:-$build/libvirt/hooks/qemu.d/mlockd}
qemu=$(command -v qemu-system-x86_64 || true)
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root (the hook attaches other processes)"; exit 77; }
[[ -x $hook ]] || { echo "FAIL: the hook was not built ($hook)"; exit 1; }
[[ -x $daemon && -x $memlockctl ]] || { echo "SKIP: mlockd was not built"; exit 77; }
[[ -n $qemu ]] || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
for c in python3 busctl; do
        command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done
# KVM when usable, else TCG with a small translation cache (TCG's default 1 GiB is locked too).
# shellcheck source=tests/e2e/accel.sh
source "$(dirname "$0")/accel.sh"
e2e_accel_choose

# $tmp with policy.d/ and state/; at exit the guests are killed (kill_guests), then the daemon,
# and $tmp is removed.
lib_init mlockd-test-hook-guests
pids=()
kill_guests() {
        local p
        for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
lib_cleanup_hooks+=(kill_guests)
umask 022
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
M=$((1 << 20))
G=$((1 << 30))

mkdir -p "$tmp/qemu"
cat >"$tmp/policy.d/10-capped.policy" <<'EOF'
[Match]
LibvirtDomain=capped-*
[Lock]
Mode=on
Limit=1500M
[Access]
AllowAttach=yes
EOF
cat >"$tmp/policy.d/20-guests.policy" <<'EOF'
[Match]
LibvirtDomain=*
[Lock]
Mode=on
Limit=16G
OnFailure=continue
[Access]
AllowAttach=yes
EOF
lib_config '[Daemon]\nBudget=64G\n'
chmod 0644 "$tmp"/policy.d/*
socket=$sock
export MLOCKD_SOCKET=$socket MLOCKD_LIBVIRT_RUNDIR=$tmp/qemu MLOCKD_CONF=/nonexistent

lib_start_daemon

list_json() { "$memlockctl" --socket "$socket" list --json=short 2>/dev/null || echo "[]"; }
workload() { # NAME: "STATE PID LIMIT" of its live workload
        list_json | python3 -c '
import json, sys
for w in json.load(sys.stdin):
    if w["name"] == sys.argv[1] and w["state"] not in ("exited", "detached"):
        print(w["state"], w["pid"], w["limit_bytes"]); break' "$1"
}
vmlck_kib() { sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
pidfile() { printf '%s/%s.pid' "$tmp/qemu" "$1"; }
sleeper() { # NAME: a stand-in guest process
        sleep 300 &
        pids+=($!)
        echo $! >"$(pidfile "$1")"
}
run_hook() { # NAME PHASE SUBPHASE < xml; stderr to $tmp/hook.err
        "$hook" "$1" "$2" "$3" - 2>"$tmp/hook.err"
}

echo "== a domain named --address=unix:abstract=... talks to mlockd, not to that socket"
evil_sock=mlockd-evil-$$
python3 - "$evil_sock" "$tmp/evil.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1])
s.listen(8)
s.settimeout(30)
try:
    while True:
        c, _ = s.accept()
        open(sys.argv[2], "a").write("connection\n")
        c.close()
except socket.timeout:
    pass
PY
pids+=($!)
sleep 0.3
name="--address=unix:abstract=$evil_sock"
sleeper "$name"
printf "<domain><name>x</name><memory unit='MiB'>64</memory></domain>" |
        run_hook "$name" started begin || fail "the hook failed for '$name'"
cat "$tmp/hook.err"
[[ ! -s $tmp/evil.log ]] || fail "the hook connected to @$evil_sock (domain name as an option)"
[[ -n $(workload "$name") ]] || fail "mlockd did not get the guest named '$name'"

echo "== a newline in a domain name cannot forge a log line"
name=$'g\n<2>mlockd: forged'
sleeper "$name"
printf "<domain><memory unit='MiB'>64</memory></domain>" |
        run_hook "$name" started begin || fail "the hook failed for a name with a newline"
cat "$tmp/hook.err"
[[ -s $tmp/hook.err ]] || fail "the hook logged nothing"
if grep -v '^mlockd hook: ' "$tmp/hook.err" >/dev/null; then
        fail "a log line does not start with 'mlockd hook: ':"
        grep -v '^mlockd hook: ' "$tmp/hook.err" >&2
fi
grep -q '^<2>' "$tmp/hook.err" && fail "a forged '<2>' line reached stderr"
grep -qF 'g\n<2>mlockd: forged' "$tmp/hook.err" || fail "the name is not shown escaped"

echo "== a VFIO guest through the hook gets the limit VFIO needs (QEMU, $E2E_ACCEL)"
qemu_start() { # NAME MIB
        local accel_args
        read -ra accel_args <<<"$(e2e_qemu_accel_args)"
        "$qemu" -name "$1" -machine q35 "${accel_args[@]}" -m "$2" -nodefaults -display none \
                -monitor none -serial none -S >"$tmp/qemu-$1.log" 2>&1 &
        pids+=($!)
        echo $! >"$(pidfile "$1")"
        # Wait until QEMU has mapped its guest RAM.
        for ((i = 0; i < 100; i++)); do
                (($(awk '$1 == "VmSize:" {print $2}' "/proc/$!/status" 2>/dev/null || echo 0) > \
                        $2 * 1024)) && break
                sleep 0.05
        done
}
hostdev() { # BUS
        printf "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/>"
        printf "<source><address domain='0x0000' bus='%s' slot='0x00' function='0x0'/>" "$1"
        printf "</source></hostdev>\n"
}
vfio_xml() { # NAME MIB [EXTRA]
        cat <<EOF
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>$2</memory>
  <maxMemory slots='4' unit='MiB'>$(($2 * 4))</maxMemory>
  ${3:-}
  <features><tcg><tb-cache unit='MiB'>64</tb-cache></tcg></features>
  <devices>
    $(hostdev 0x01)
    $(hostdev 0x02)
    <disk type='nvme' device='disk'><driver name='qemu' type='raw'/>
      <source type='pci' managed='yes' namespace='1'>
        <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>
      <target dev='vda' bus='virtio'/></disk>
    <iommu model='intel'/>
  </devices>
</domain>
EOF
}
qemu_start vfio-guest 256
pid=$(cat "$(pidfile vfio-guest)")
vfio_xml vfio-guest 256 | run_hook vfio-guest started begin || fail "the hook failed for vfio-guest"
cat "$tmp/hook.err"
# Expected, by the formula of docs/libvirt.md: the mlock term (memory + 512 MiB) plus the DMA
# term: 2 VFIO devices behind a vIOMMU (2) and an NVMe disk (1) pin memory 3 times, + 1 GiB.
expected=$(((256 * M + 512 * M) + (3 * 256 * M + G)))
w=$(workload vfio-guest)
echo "vfio-guest: $w (expected limit $expected)"
[[ $(awk '{print $3}' <<<"$w") == "$expected" ]] || fail "vfio-guest: limit is not $expected: '$w'"
for ((i = 0; i < 200; i++)); do
        [[ $(workload vfio-guest) == locked* ]] && break
        sleep 0.1
done
[[ $(workload vfio-guest) == locked* ]] || fail "vfio-guest not locked: '$(workload vfio-guest)'"
echo "vfio-guest VmLck $(vmlck_kib "$pid") kB"
(($(vmlck_kib "$pid") >= 256 * 1024)) || fail "vfio-guest VmLck $(vmlck_kib "$pid") kB < 256 MiB"
(($(vmlck_kib "$pid") * 1024 <= expected)) || fail "vfio-guest locks more than its limit"

echo "== <hard_limit> wins over the formula"
sleeper hard-guest
vfio_xml hard-guest 256 "<memtune><hard_limit unit='GiB'>3</hard_limit></memtune>" |
        run_hook hard-guest started begin || fail "the hook failed for hard-guest"
[[ $(workload hard-guest | awk '{print $3}') == $((3 * G)) ]] ||
        fail "hard-guest: limit is not 3G: '$(workload hard-guest)'"

echo "== the policy's Limit= caps the formula"
sleeper capped-guest
vfio_xml capped-guest 256 | run_hook capped-guest started begin || fail "the hook failed (capped)"
[[ $(workload capped-guest | awk '{print $3}') == $((1500 * M)) ]] ||
        fail "capped-guest: limit is not 1500M: '$(workload capped-guest)'"

echo "== Attach names a guest fact of the wrong type"
sleeper typed-guest
if out=$(busctl --address="unix:path=$socket" call org.mlockd1 /org/mlockd1 org.mlockd1.Manager \
        Attach 'ua{sv}' "$(cat "$(pidfile typed-guest)")" 2 name s typed-guest vfio_devices t 2 2>&1); then
        fail "Attach took vfio_devices as a 't': $out"
fi
echo "$out"
[[ $out == *vfio_devices*"'u'"* ]] || fail "the error does not name vfio_devices and its type: $out"

# On failure lib_cleanup prints the end of the daemon's log.
((failures == 0)) || exit 1
echo "OK"
