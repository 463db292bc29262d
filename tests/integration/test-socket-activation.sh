#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Socket activation without systemd as PID 1: systemd-socket-activate listens on the socket the
# way mlockd.socket does and execs mlockd on the first connection, handing it the listening
# socket (LISTEN_FDS=1). The first memlockctl call starts the daemon, which takes the socket
# (sd_listen_fds), and succeeds; later calls (memlockctl and busctl) succeed too, on the same
# daemon.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?MLOCKD_BUILD_DIR is not set}
mlockd=$build/daemon/mlockd
memlockctl=$build/client/memlockctl
activate=$(command -v systemd-socket-activate || true)
[[ -n $activate ]] || { echo "SKIP: systemd-socket-activate is not installed"; exit 77; }
[[ -x $mlockd ]] || { echo "SKIP: mlockd was not built"; exit 77; }
[[ -x $memlockctl ]] || { echo "SKIP: memlockctl was not built"; exit 77; }

tmp=$(mktemp -d /tmp/mlockd-test-activation.XXXXXX)
pid=
cleanup() {
        set +e
        [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
umask 022
mkdir -p "$tmp/policy.d" "$tmp/state"
printf '[Daemon]\nBudget=1G\n' >"$tmp/mlockd.conf"
socket=$tmp/io.socket

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

# --socket names the same path: a daemon that ignored LISTEN_FDS would try to bind it and fail
# (the activator holds it), so success shows the socket was taken over.
"$activate" -l "$socket" -- "$mlockd" --config "$tmp/mlockd.conf" --socket "$socket" \
        --policy-dir "$tmp/policy.d" --state-dir "$tmp/state" >"$tmp/mlockd.log" 2>&1 &
pid=$!
for ((i = 0; i < 100; i++)); do
        [[ -S $socket ]] && break
        sleep 0.05
done
[[ -S $socket ]] || { echo "FAIL: systemd-socket-activate did not listen on $socket"; exit 1; }

exe=$(readlink "/proc/$pid/exe")
[[ $exe == *systemd-socket-activate ]] || fail "the daemon ran before the first call ($exe)"

echo "== the first call starts mlockd"
start=$(date +%s%N)
if ! out=$("$memlockctl" --socket "$socket" status 2>&1); then
        fail "the first memlockctl call failed: $out"
fi
echo "first call (including the daemon's start) took $((($(date +%s%N) - start) / 1000000)) ms"
exe=$(readlink "/proc/$pid/exe")
[[ $exe == "$(readlink -f "$mlockd")" ]] || fail "mlockd is not running in place ($exe)"
grep -q "socket-activated" "$tmp/mlockd.log" || fail "mlockd did not say it took the socket"

echo "== later calls reach the same daemon"
for ((i = 0; i < 5; i++)); do
        "$memlockctl" --socket "$socket" list >/dev/null || fail "memlockctl list #$i failed"
done
version=$(busctl --address="unix:path=$socket" get-property org.mlockd1 /org/mlockd1 \
        org.mlockd1.Manager Version 2>&1) || fail "busctl get-property failed: $version"
[[ $version == s\ \"* ]] || fail "unexpected Version: $version"
[[ $(readlink "/proc/$pid/exe") == "$(readlink -f "$mlockd")" ]] || fail "the daemon is gone"

kill "$pid"
wait "$pid" || true
pid=
if ((failures)); then
        cat "$tmp/mlockd.log"
        exit 1
fi
echo "OK"
