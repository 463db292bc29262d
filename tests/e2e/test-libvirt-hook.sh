#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The libvirt hook with a real libvirtd and real guests, KVM or TCG (tests/e2e/libvirt-env.sh
# sets up a private libvirtd in a mount namespace):
#   1. a 256 MiB domain with no disks and a user network interface is defined;
#   2. with the hook installed, `virsh start` leaves the qemu pid with VmLck >= 256 MiB within
#      10 s, the guest running and the workload listed under the domain's name;
#   3. a domain no policy matches is left alone (VmLck 0, not listed);
#   4. `virsh destroy` removes the workload;
#   5. a libvirtd restart leaves the guest running, locked and listed;
#   6. libvirt's own <memoryBacking><locked/> fails here without CAP_SYS_RESOURCE ("cannot limit
#      locked memory"), while the same guest without it is locked by mlockd (case 2).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/libvirt-env.sh
source "$here/libvirt-env.sh"

libvirt_env_check
libvirt_env_enter_namespace "$@"
libvirt_env_setup 1

LOCKED=mlockd-hook-locked
OTHER=mlockd-hook-other
MIB=1024 # kB

mkdir -p "$LIBVIRT_TMP/policy.d"
cat >"$LIBVIRT_TMP/policy.d/50-guests.policy" <<EOF
[Match]
LibvirtDomain=$LOCKED
[Lock]
Mode=on
Limit=2G
OnFailure=continue
[Access]
AllowAttach=yes
EOF
mlockd_start $'[Daemon]\nBudget=8G' || exit 1
libvirtd_start || exit 1

echo "== 1. define 256 MiB domains (no disks, user networking)"
define_domain "$LOCKED" 256
define_domain "$OTHER" 256
[[ $(virsh -q domstate "$LOCKED") == "shut off" ]] || fail "$LOCKED is not defined"

echo "== 2. virsh start: the hook hands the guest over; it is locked within 10 s"
t0=$(now_ms)
if ! virsh -q start "$LOCKED" >/dev/null; then
        fail "virsh start $LOCKED failed"
        exit 1
fi
echo "virsh start took $(($(now_ms) - t0)) ms"
pid=$(qemu_pid "$LOCKED")
[[ -n $pid ]] || fail "no qemu pid for $LOCKED"
check_accel "$pid"
if ms=$(wait_vmlck "$pid" $((256 * MIB)) 10); then
        echo "qemu pid $pid reached VmLck >= 256 MiB $ms ms after virsh start returned" \
                "(VmLck now $(vmlck_kib "$pid") kB)"
else
        fail "qemu pid $pid: VmLck $(vmlck_kib "$pid") kB after 10 s, expected >= $((256 * MIB))"
fi
[[ $(virsh -q domstate "$LOCKED") == running ]] || fail "$LOCKED is not running"
# VmLck counts as soon as mlockall() has started; the state says when it has finished.
wait_workload_state "$LOCKED" "locked $pid" 10 ||
        fail "workload of $LOCKED: got '$(workload_of "$LOCKED")', expected 'locked $pid'"

echo "== 3. a domain no policy matches is left alone"
virsh -q start "$OTHER" >/dev/null || fail "virsh start $OTHER failed"
other_pid=$(qemu_pid "$OTHER")
sleep 1
[[ $(virsh -q domstate "$OTHER") == running ]] || fail "$OTHER is not running"
v=$(vmlck_kib "$other_pid")
[[ $v == 0 ]] || fail "$OTHER (pid $other_pid) has VmLck $v kB, expected 0"
w=$(workload_of "$OTHER")
[[ -z $w ]] || fail "$OTHER is listed as a workload: $w"
virsh -q destroy "$OTHER" >/dev/null

echo "== 5. a libvirtd restart leaves the guest running, locked and listed"
libvirtd_stop
libvirtd_start || fail "libvirtd did not come back"
[[ $(virsh -q domstate "$LOCKED") == running ]] || fail "$LOCKED is not running after restart"
[[ $(qemu_pid "$LOCKED") == "$pid" ]] || fail "$LOCKED has a new pid after the restart"
w=$(workload_of "$LOCKED")
[[ $w == "locked $pid" ]] || fail "after the restart: workload of $LOCKED is '$w'"
v=$(vmlck_kib "$pid")
((${v:-0} >= 256 * MIB)) || fail "after the restart: VmLck $v kB"

echo "== 4. virsh destroy removes the workload"
virsh -q destroy "$LOCKED" >/dev/null || fail "virsh destroy $LOCKED failed"
wait_workload "$LOCKED" 1 10 || fail "workload of $LOCKED still listed: $(workload_of "$LOCKED")"
[[ ! -e /run/mlockd/libvirt-hook/$LOCKED ]] || fail "the hook's record of $LOCKED remains"

echo "== 6. libvirt's own <locked/> without CAP_SYS_RESOURCE"
cap_eff=$(sed -n 's/^CapEff:\t//p' /proc/self/status)
if (((0x$cap_eff >> 24) & 1)); then
        echo "this host has CAP_SYS_RESOURCE: libvirt's <locked/> can work here, not shown"
else
        define_domain mlockd-hook-native 256 "<memoryBacking><locked/></memoryBacking>
  <memtune><hard_limit unit='MiB'>1024</hard_limit></memtune>"
        if out=$(virsh -q start mlockd-hook-native 2>&1); then
                fail "libvirt's <locked/> started although CAP_SYS_RESOURCE is missing"
                virsh -q destroy mlockd-hook-native >/dev/null 2>&1
        else
                echo "libvirt's <locked/> fails as expected: $out"
                [[ $out == *"locked memory"* ]] ||
                        fail "unexpected error from libvirt's <locked/>: $out"
        fi
        echo "(the same 256 MiB guest without <locked/> was locked by mlockd in case 2)"
fi

if ((failures)); then
        echo "$failures failure(s)"
        exit 1
fi
echo "OK"
