#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SystemBus=yes: mlockd owns org.mlockd1 on a private dbus-daemon started here (pointed to by
# DBUS_SYSTEM_BUS_ADDRESS), serves the same objects there, and still serves its socket.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_require
command -v dbus-daemon >/dev/null || lib_skip "dbus-daemon missing"
lib_init test-bus-system
fail() { lib_die "$@"; }
bpid=

cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile >"$tmp/bus.log" 2>&1 &
bpid=$!
lib_pids+=("$bpid")
for _ in $(seq 100); do
        [[ -S $tmp/system_bus_socket ]] && break
        sleep 0.05
done
[[ -S $tmp/system_bus_socket ]] || fail "dbus-daemon did not start: $(cat "$tmp/bus.log")"
bus=unix:path=$tmp/system_bus_socket

lib_policy 10-test '[Match]\nExecutable=/usr/bin/*\n[Lock]\nLimit=64M\n[Access]\nAllowRun=yes\n'
lib_config '[Daemon]\nBudget=2G\nSystemBus=yes\n'
DBUS_SYSTEM_BUS_ADDRESS=$bus lib_start_daemon
# The socket answers once the daemon runs; the bus name may come a moment later.
for _ in $(seq 100); do
        busctl --address="$bus" status org.mlockd1 >/dev/null 2>&1 && break
        sleep 0.05
done
out=$(busctl --address="$bus" list | grep org.mlockd1) || fail "org.mlockd1 not owned"
out=$(busctl --address="$bus" get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager \
        BudgetBytes)
[[ $out == "t 2147483648" ]] || fail "BudgetBytes over the system bus: $out"
out=$(busctl --address="$bus" call org.mlockd1 /org/mlockd1 org.mlockd1.Manager \
        Explain u $$)
[[ $out == *'"allow" "10-test"'* ]] || fail "Explain over the system bus: $out"
# The caller is identified through the bus (uid 65534 may not reload).
if out=$(setpriv --reuid 65534 --regid 65534 --clear-groups busctl --address="$bus" call \
        org.mlockd1 /org/mlockd1 org.mlockd1.Manager Reload 2>&1); then
        fail "uid 65534 reloaded over the system bus"
fi
[[ $out == *"Only root"* ]] || fail "Reload as uid 65534 over the system bus: $out"
out=$(busctl --address="unix:path=$tmp/io.socket" get-property org.mlockd1 /org/mlockd1 \
        org.mlockd1.Manager BudgetBytes)
[[ $out == "t 2147483648" ]] || fail "the socket is not served: $out"
# A clean stop (under ASan this also runs the leak check).
lib_stop_daemon || fail "mlockd exited $? on SIGTERM"
echo "OK: test-bus-system"
