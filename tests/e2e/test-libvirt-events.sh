#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Event mode ([Libvirt] URI= in mlockd.conf) with a real libvirtd and real guests (KVM or TCG),
# no hook (tests/e2e/libvirt-env.sh sets up a private libvirtd in a mount namespace).
# The module alone (libvirt-events-probe) runs next to the daemon: a running guest is reported
# at connect, a start once (RESUMED then STARTED), a destroy as stopped, a libvirtd restart as a
# disconnect and a reconnect that does not report the running guest again. mlockd itself:
#   - a matching guest already running when mlockd starts is attached at start;
#   - `virsh start` of a matching 256 MiB guest leaves its qemu pid with VmLck >= 256 MiB within
#     10 s, the guest running and the workload listed under the domain's name;
#   - a domain no policy matches is left alone;
#   - `virsh destroy` removes the workload;
#   - a libvirtd restart: mlockd reconnects, the running guest is still listed, and guests
#     started after the restart are locked again.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/libvirt-env.sh
source "$here/libvirt-env.sh"

libvirt_env_check
probe=$build/tests/helpers/libvirt-events-probe
[[ -x $probe ]] || { echo "FAIL: $probe was not built"; exit 1; }
rc=0
"$probe" >/dev/null 2>&1 || rc=$?
((rc != 77)) || skip "mlockd was built without libvirt (-DMLOCKD_LIBVIRT=OFF or no libvirt-dev)"
libvirt_env_enter_namespace "$@"
libvirt_env_setup 0

EARLY=mlockd-ev-early
LOCKED=mlockd-ev-locked
OTHER=mlockd-ev-other
MIB=1024 # kB

connects() {
        grep -c 'libvirt: connected to' "$LIBVIRT_TMP/mlockd.log" 2>/dev/null || true
}
wait_connects() { # N TIMEOUT
        local start
        start=$(now_ms)
        while (($(now_ms) - start < $2 * 1000)); do
                (($(connects) >= $1)) && return 0
                sleep 0.1
        done
        return 1
}

mkdir -p "$LIBVIRT_TMP/policy.d"
cat >"$LIBVIRT_TMP/policy.d/50-guests.policy" <<EOF
[Match]
LibvirtDomain=$EARLY $LOCKED
[Lock]
Mode=on
Limit=2G
OnFailure=continue
[Access]
AllowAttach=yes
EOF

libvirtd_start || exit 1
define_domain "$EARLY" 256
define_domain "$LOCKED" 256
define_domain "$OTHER" 256
virsh -q start "$EARLY" >/dev/null || { fail "virsh start $EARLY failed"; exit 1; }
early_pid=$(qemu_pid "$EARLY")

# The module on its own (daemon/libvirt-events.c in libvirt-events-probe) watches the whole test
# next to the daemon: what it reports for a real libvirtd does not depend on the daemon.
"$probe" qemu:///system >"$LIBVIRT_TMP/probe.out" 2>"$LIBVIRT_TMP/probe.err" &
probe_pid=$!
libvirt_pids+=("$probe_pid")
probe_wait() { # PATTERN COUNT: waits until COUNT lines match PATTERN
        local start
        start=$(now_ms)
        while (($(now_ms) - start < 10000)); do
                (($(grep -c -E "$1" "$LIBVIRT_TMP/probe.out" || true) >= $2)) && return 0
                sleep 0.05
        done
        fail "probe: fewer than $2 lines match '$1'"
        return 1
}
echo "== module: a running guest is reported at connect, with memory + 512 MiB as its limit"
probe_wait "^started $EARLY $early_pid $(((256 + 512) * 1024 * 1024)) 0\$" 1 || true

# The daemon in event mode. Without the wiring only the module's checks run.
mlockd_start $'[Daemon]\nBudget=8G\n[Libvirt]\nURI=qemu:///system' || exit 1
wired=1
if ! wait_connects 1 5; then
        grep -q -i 'libvirt' "$LIBVIRT_TMP/mlockd.log" || wired=0
        ((wired == 0)) || { fail "mlockd did not connect to qemu:///system within 5 s"; exit 1; }
fi

if ((wired)); then
        echo "== a matching guest that was running before mlockd started is attached"
        wait_vmlck "$early_pid" $((256 * MIB)) 10 >/dev/null ||
                fail "$EARLY (pid $early_pid): VmLck $(vmlck_kib "$early_pid") kB after 10 s"
        wait_workload_state "$EARLY" "locked $early_pid" 10 ||
                fail "workload of $EARLY: '$(workload_of "$EARLY")', expected 'locked $early_pid'"
fi

echo "== virsh start: the lifecycle event hands the guest over; locked within 10 s"
virsh -q start "$LOCKED" >/dev/null || fail "virsh start $LOCKED failed"
pid=$(qemu_pid "$LOCKED")
probe_wait "^started $LOCKED $pid " 1 || true
if ((wired)); then
        if ms=$(wait_vmlck "$pid" $((256 * MIB)) 10); then
                echo "qemu pid $pid reached VmLck >= 256 MiB $ms ms after virsh start returned"
        else
                fail "$LOCKED (pid $pid): VmLck $(vmlck_kib "$pid") kB after 10 s"
        fi
        [[ $(virsh -q domstate "$LOCKED") == running ]] || fail "$LOCKED is not running"
        wait_workload_state "$LOCKED" "locked $pid" 10 ||
                fail "workload of $LOCKED: '$(workload_of "$LOCKED")', expected 'locked $pid'"
fi

echo "== a domain no policy matches is left alone"
virsh -q start "$OTHER" >/dev/null || fail "virsh start $OTHER failed"
other_pid=$(qemu_pid "$OTHER")
probe_wait "^started $OTHER $other_pid " 1 || true
if ((wired)); then
        sleep 1
        v=$(vmlck_kib "$other_pid")
        [[ $v == 0 ]] || fail "$OTHER (pid $other_pid) has VmLck $v kB, expected 0"
        [[ -z $(workload_of "$OTHER") ]] || fail "$OTHER is listed: $(workload_of "$OTHER")"
fi
virsh -q destroy "$OTHER" >/dev/null

echo "== virsh destroy removes the workload"
virsh -q destroy "$LOCKED" >/dev/null || fail "virsh destroy $LOCKED failed"
probe_wait "^stopped $LOCKED $pid\$" 1 || true
if ((wired)); then
        wait_workload "$LOCKED" 1 10 ||
                fail "workload of $LOCKED still listed: $(workload_of "$LOCKED")"
fi

echo "== libvirtd restart: reconnect, the running guest is still listed"
libvirtd_stop
probe_wait '^disconnected$' 1 || true
libvirtd_start || fail "libvirtd did not come back"
probe_wait '^connected$' 2 || true
if ((wired)); then
        wait_connects 2 15 || fail "mlockd did not reconnect within 15 s of the libvirtd restart"
        [[ $(workload_of "$EARLY") == "locked $early_pid" ]] ||
                fail "after the restart: workload of $EARLY is '$(workload_of "$EARLY")'"
fi
virsh -q start "$LOCKED" >/dev/null || fail "virsh start $LOCKED after the restart failed"
pid=$(qemu_pid "$LOCKED")
probe_wait "^started $LOCKED $pid " 1 || true
if ((wired)); then
        wait_vmlck "$pid" $((256 * MIB)) 10 >/dev/null ||
                fail "after the restart: $LOCKED (pid $pid) VmLck $(vmlck_kib "$pid") kB after 10 s"
fi

echo "== module: each start reported once (RESUMED comes before STARTED), none again on reconnect"
kill "$probe_pid"
wait "$probe_pid" || fail "probe exited with $?: $(cat "$LIBVIRT_TMP/probe.err")"
n=$(grep -c "^started $EARLY " "$LIBVIRT_TMP/probe.out" || true)
[[ $n == 1 ]] || fail "probe: $EARLY reported started $n times"
n=$(grep -c "^started $LOCKED " "$LIBVIRT_TMP/probe.out" || true)
[[ $n == 2 ]] || fail "probe: $LOCKED reported started $n times, expected 2"

if ((failures)); then
        echo "--- probe output"
        cat "$LIBVIRT_TMP/probe.out" "$LIBVIRT_TMP/probe.err"
        echo "$failures failure(s)"
        exit 1
fi
if ((wired == 0)); then
        skip "libvirt-events.c passed against libvirtd, but mlockd does not follow libvirt" \
                "events ([Libvirt] URI= is not wired to daemon/libvirt-events.c: no" \
                "'libvirt: connected to' in its log)"
fi
echo "OK"
