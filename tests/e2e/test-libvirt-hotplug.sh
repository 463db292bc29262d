#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Event mode follows memory hotplug, with a real libvirtd and a real guest (KVM or TCG):
#   - a guest with <maxMemory slots='2'> starts with 256 MiB and is attached with the limit of
#     docs/libvirt.md (memory + 512 MiB);
#   - `virsh attach-device --live` of a 128 MiB <memory model='dimm'>: libvirt's DEVICE_ADDED
#     event makes mlockd read the live XML again, and the workload's LimitBytes (its
#     reservation) becomes (256 + 128) MiB + 512 MiB; the hot-added DIMM is locked too (qemu's
#     mlockall(MCL_FUTURE) covers it), so VmLck grows by at least 128 MiB.
# (Unplugging a DIMM needs the guest OS to release it; these guests run no OS.)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/libvirt-env.sh
source "$here/libvirt-env.sh"

libvirt_env_check
libvirt_env_enter_namespace "$@"
libvirt_env_setup 0

DOM="mlockd-hp-guest"
MIB=1024 # kB
M=$((1 << 20))

mkdir -p "$LIBVIRT_TMP/policy.d"
cat >"$LIBVIRT_TMP/policy.d/50-guests.policy" <<EOF
[Match]
LibvirtDomain=$DOM
[Lock]
Mode=on
Limit=8G
OnFailure=continue
[Access]
AllowAttach=yes
EOF

# The limit_bytes of the live workload named NAME.
limit_of() {
        { "$memlockctl" --socket /run/mlockd/io.socket list --json=short 2>/dev/null ||
                echo "[]"; } | python3 -c '
import json, sys
for w in json.load(sys.stdin):
    if w["name"] == sys.argv[1] and w["state"] not in ("exited", "detached"):
        print(w["limit_bytes"]); break' "$1"
}
wait_limit() { # NAME BYTES TIMEOUT
        local start
        start=$(now_ms)
        while (($(now_ms) - start < $3 * 1000)); do
                [[ $(limit_of "$1") == "$2" ]] && return 0
                sleep 0.1
        done
        return 1
}

libvirtd_start || exit 1
# DIMMs need maxMemory slots, a NUMA topology and ACPI.
tcg_features=
[[ $E2E_ACCEL == kvm ]] || tcg_features="<tcg><tb-cache unit='MiB'>64</tb-cache></tcg>"
cat >"$LIBVIRT_TMP/$DOM.xml" <<EOF
<domain type='$(e2e_libvirt_type)'>
  <name>$DOM</name>
  <maxMemory slots='2' unit='MiB'>1024</maxMemory>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <cpu><numa><cell id='0' cpus='0' memory='256' unit='MiB'/></numa></cpu>
  <features><acpi/>$tcg_features</features>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><interface type='user'><model type='virtio'/></interface></devices>
</domain>
EOF
virsh -q define "$LIBVIRT_TMP/$DOM.xml" >/dev/null || { fail "virsh define failed"; exit 1; }
mlockd_start $'[Daemon]\nBudget=8G\n[Libvirt]\nURI=qemu:///system' || exit 1

virsh -q start "$DOM" >/dev/null || { fail "virsh start $DOM failed"; exit 1; }
pid=$(qemu_pid "$DOM")
echo "== the guest is attached with memory + 512 MiB"
wait_workload_state "$DOM" "locked $pid" 20 ||
        fail "workload of $DOM: '$(workload_of "$DOM")', expected 'locked $pid'"
before=$(limit_of "$DOM")
[[ $before == $(((256 + 512) * M)) ]] || fail "limit at start is '$before', not 768 MiB"
vmlck_before=$(vmlck_kib "$pid")
echo "limit $before, VmLck $vmlck_before kB"

echo "== virsh attach-device of a 128 MiB DIMM: the limit follows"
cat >"$LIBVIRT_TMP/dimm.xml" <<'EOF'
<memory model='dimm'>
  <target><size unit='MiB'>128</size><node>0</node></target>
</memory>
EOF
virsh -q attach-device "$DOM" "$LIBVIRT_TMP/dimm.xml" --live >/dev/null ||
        fail "virsh attach-device failed"
virsh -q dumpxml "$DOM" | grep -E "<memory|<maxMemory" | head -3
if wait_limit "$DOM" $(((256 + 128 + 512) * M)) 10; then
        echo "limit now $(limit_of "$DOM")"
else
        fail "limit after the DIMM is '$(limit_of "$DOM")', not $(((256 + 128 + 512) * M))"
fi
grep -E "libvirt: guest '$DOM' changed|resized" "$LIBVIRT_TMP/mlockd.log" | sed 's/^<[0-9]>//'
# The DIMM's memory is locked as qemu maps it (mlockall's MCL_FUTURE).
vmlck_after=$(vmlck_kib "$pid")
echo "VmLck $vmlck_before kB -> $vmlck_after kB"
((vmlck_after >= vmlck_before + 128 * MIB)) ||
        fail "VmLck grew by $((vmlck_after - vmlck_before)) kB, less than the DIMM's 128 MiB"
[[ $(virsh -q domstate "$DOM") == running ]] || fail "$DOM is not running"

virsh -q destroy "$DOM" >/dev/null
if ((failures)); then
        echo "--- mlockd log"
        tail -n 30 "$LIBVIRT_TMP/mlockd.log"
        echo "$failures failure(s)"
        exit 1
fi
echo "OK"
