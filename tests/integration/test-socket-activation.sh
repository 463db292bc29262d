#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Socket activation without systemd as PID 1: systemd-socket-activate listens on the socket the
# way mlockd.socket does and execs mlockd on the first connection, handing it the listening
# socket (LISTEN_FDS=1). The first memlockctl call starts the daemon, which takes the socket
# (sd_listen_fds), and succeeds; later calls (memlockctl and busctl) succeed too, on the same
# daemon.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_require "$ctl"
command -v systemd-socket-activate >/dev/null ||
        lib_skip "systemd-socket-activate is not installed"
lib_init mlockd-test-activation
socket=$sock

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

lib_start_activated "$socket"
pid=$dpid
exe=$(readlink "/proc/$pid/exe")
[[ $exe == *systemd-socket-activate ]] || fail "the daemon ran before the first call ($exe)"

echo "== the first call starts mlockd"
start=$(date +%s%N)
if ! out=$("$ctl" --socket "$socket" status 2>&1); then
        fail "the first memlockctl call failed: $out"
fi
echo "first call (including the daemon's start) took $((($(date +%s%N) - start) / 1000000)) ms"
exe=$(readlink "/proc/$pid/exe")
[[ $exe == "$(readlink -f "$daemon")" ]] || fail "mlockd is not running in place ($exe)"
grep -q "socket-activated" "$tmp/log" || fail "mlockd did not say it took the socket"

echo "== later calls reach the same daemon"
for ((i = 0; i < 5; i++)); do
        "$ctl" --socket "$socket" list >/dev/null || fail "memlockctl list #$i failed"
done
version=$(busctl --address="unix:path=$socket" get-property org.mlockd1 /org/mlockd1 \
        org.mlockd1.Manager Version 2>&1) || fail "busctl get-property failed: $version"
[[ $version == s\ \"* ]] || fail "unexpected Version: $version"
[[ $(readlink "/proc/$pid/exe") == "$(readlink -f "$daemon")" ]] || fail "the daemon is gone"

lib_stop_daemon || true
if ((failures)); then
        cat "$tmp/log"
        exit 1
fi
echo "OK"
