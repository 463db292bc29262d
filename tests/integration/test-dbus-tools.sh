#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Generic D-Bus tools on mlockd's private socket, as on a bus (daemon/bus/bus-driver.c):
# `busctl monitor` (BecomeMonitor, root only), `gdbus monitor --dest org.mlockd1` (signals carry
# the daemon's unique name, GetNameOwner answers for org.mlockd1), python3-dbus BusConnection
# with method calls, `gdbus call` and `gdbus introspect`, `busctl list`.
set -euo pipefail
# shellcheck source=tests/integration/lib-reliability.sh
. "$(dirname "$0")/lib-reliability.sh"
rel_require
ctl=$build/client/memlockctl
command -v busctl >/dev/null || lib_skip "busctl missing"
command -v gdbus >/dev/null || lib_skip "gdbus (libglib2.0-bin) missing"
"$python" -c 'import dbus' 2>/dev/null || lib_skip "python3-dbus missing"

lib_init test-dbus-tools
# lib_init wrote mlockd.conf (Budget=1G).
lib_run_policy 10-test '/usr/bin/* /bin/*'
lib_start_daemon

# wait_for FILE PATTERN: up to 10 s (times the valgrind factor) for PATTERN in FILE.
wait_for() {
        for _ in $(seq $((200 * slow))); do
                grep -q -- "$2" "$1" 2>/dev/null && return 0
                sleep 0.05
        done
        echo "--- $1:" >&2
        head -50 "$1" >&2
        return 1
}
# background CMD...: starts a tool in the background, killed at exit.
background() {
        "$@" &
        lib_pids+=($!)
}

# ---- GetNameOwner, NameHasOwner, ListNames ---------------------------------------------------------
out=$(bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s \
        org.mlockd1)
[[ $out == 's ":1.0"' ]] || fail "GetNameOwner org.mlockd1: $out"
out=$(bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s \
        org.example.Nobody)
[[ $out == "b false" ]] || fail "NameHasOwner of an unknown name: $out"
if out=$(bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner \
        s org.example.Nobody 2>&1); then
        fail "GetNameOwner of an unknown name succeeded: $out"
fi
[[ $out == *"no such name"* ]] || fail "GetNameOwner of an unknown name: $out"
out=$(bctl list --no-pager)
[[ $out == *org.mlockd1* ]] || fail "busctl list does not show org.mlockd1: $out"

# ---- busctl monitor -----------------------------------------------------------------------------------
background busctl --address="$addr" monitor >"$tmp/busctl-monitor" 2>&1
wait_for "$tmp/busctl-monitor" "Monitoring bus message stream" || fail "busctl monitor did not start"
lib_ping
"$ctl" --socket "$tmp/io.socket" run -- true || fail "memlockctl run failed"
wait_for "$tmp/busctl-monitor" "Member=WorkloadExited" ||
        fail "busctl monitor does not show the workload's signals"
grep -q "Sender=:1.0  Path=/org/mlockd1  Interface=org.mlockd1.Manager  Member=WorkloadNew" \
        "$tmp/busctl-monitor" || fail "signals do not carry the daemon's unique name"
wait_for "$tmp/busctl-monitor" "Interface=org.freedesktop.DBus.Properties  Member=Get" ||
        fail "busctl monitor does not show other clients' calls"
# Not for others: a monitor would see every caller's Run arguments.
if out=$(setpriv --reuid nobody --regid nogroup --clear-groups timeout 5 busctl \
        --address="$addr" monitor 2>&1); then
        fail "nobody became a monitor: $out"
fi
[[ $out == *"Access denied"* || $out == *"Only root may monitor"* ]] ||
        fail "BecomeMonitor as nobody: $out"

# ---- gdbus monitor --dest org.mlockd1 -------------------------------------------------------------
background gdbus monitor --address "$addr" --dest org.mlockd1 >"$tmp/gdbus-monitor" 2>&1
wait_for "$tmp/gdbus-monitor" "The name org.mlockd1 is owned by :1.0" ||
        fail "gdbus monitor does not find the owner of org.mlockd1"
"$ctl" --socket "$tmp/io.socket" run --name gdbus-sees-me -- true || fail "memlockctl run failed"
wait_for "$tmp/gdbus-monitor" "org.mlockd1.Manager.WorkloadNew" ||
        fail "gdbus monitor --dest org.mlockd1 does not show WorkloadNew"

# ---- python3-dbus BusConnection -------------------------------------------------------------------
out=$("$python" - "$addr" <<'PY' 2>&1
import sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
assert bus.get_unique_name().startswith(":1."), bus.get_unique_name()
assert bus.name_has_owner("org.mlockd1")
assert bus.get_name_owner("org.mlockd1") == ":1.0"
manager = bus.get_object("org.mlockd1", "/org/mlockd1")
props = dbus.Interface(manager, "org.freedesktop.DBus.Properties")
print("version", props.Get("org.mlockd1.Manager", "Version"))
rows = dbus.Interface(manager, "org.mlockd1.Manager").ListWorkloads()
print("workloads", len(rows))
# Signal matches are accepted (AddMatch/RemoveMatch), as on a bus.
bus.add_match_string("type='signal',interface='org.mlockd1.Manager'")
bus.remove_match_string("type='signal',interface='org.mlockd1.Manager'")
print("ok")
PY
) || fail "python3-dbus: $out"
[[ $out == *"version "* && $out == *"workloads 2"* && $out == *ok ]] || fail "python3-dbus: $out"

# ---- gdbus call and introspect --------------------------------------------------------------------
for dest in org.mlockd1 :1.0; do
        out=$(gdbus call --address "$addr" --dest "$dest" --object-path /org/mlockd1 --method \
                org.freedesktop.DBus.Properties.Get org.mlockd1.Manager Version) ||
                fail "gdbus call --dest $dest failed"
        [[ $out == "(<'"*"'>,)" ]] || fail "gdbus call --dest $dest: $out"
done
out=$(gdbus introspect --address "$addr" --dest org.mlockd1 --object-path /org/mlockd1) ||
        fail "gdbus introspect failed"
[[ $out == *"interface org.mlockd1.Manager"* ]] || fail "gdbus introspect: $out"

rel_finish
echo OK
