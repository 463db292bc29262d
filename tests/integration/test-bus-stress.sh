#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 200 concurrent clients each making 50 calls are all answered; a non-root uid beyond its
# connection and call-rate limits gets LimitExceeded while the daemon keeps answering others.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?}
daemon=$build/daemon/mlockd
probe=$build/tests/helpers/bus-probe

if [[ $(id -u) != 0 ]]; then
        echo "SKIP: mlockd needs root"
        exit 77
fi
for t in "$daemon" "$probe"; do
        [[ -x $t ]] || { echo "SKIP: $t not built"; exit 77; }
done

tmp=$(mktemp -d /tmp/test-bus-stress.XXXXXX)
chmod 0755 "$tmp"
dpid=
cleanup() {
        set +e
        [[ -n $dpid ]] && kill -9 "$dpid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
        echo "FAIL: $*" >&2
        [[ -f $tmp/log ]] && tail -20 "$tmp/log" >&2
        exit 1
}
expect_match() {
        [[ $1 =~ $2 ]] || fail "$3: '$1' does not match '$2'"
}

mkdir -p "$tmp/policy.d" "$tmp/state"
printf '[Match]\nExecutable=/usr/bin/*\n[Lock]\nLimit=64M\n[Access]\nAllowUsers=root nobody\nAllowRun=yes\n' \
        >"$tmp/policy.d/10-test.policy"
printf '[Daemon]\nBudget=1G\n' >"$tmp/mlockd.conf"
chmod 0644 "$tmp/mlockd.conf" "$tmp/policy.d/10-test.policy"
"$daemon" --socket "$tmp/io.socket" --state-dir "$tmp/state" --policy-dir "$tmp/policy.d" \
        --config "$tmp/mlockd.conf" >"$tmp/log" 2>&1 &
dpid=$!
for _ in $(seq 100); do
        [[ -S $tmp/io.socket ]] && break
        sleep 0.05
done
addr=unix:path=$tmp/io.socket

# ---- 200 x 50 as root (no per-uid limits for root) ----------------------------------------------
out=$("$probe" "$addr" stress 200 50) || fail "stress: $out"
expect_match "$out" "^OK 200 connections x 50 calls: 10000/10000 answered" "200x50"
echo "$out"

# ---- uid 65534: 100 connections (limit 64) and 1000 calls in a burst (limit 500) -----------------
set +e
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$probe" "$addr" stress 100 10 2>&1)
set -e
expect_match "$out" "LimitExceeded" "uid 65534 beyond its limits"
expect_match "$out" "ERROR 100 connections x 10 calls: ([0-9]+)/1000" "uid 65534 summary"
n=${BASH_REMATCH[1]}
((n > 0 && n < 1000)) || fail "uid 65534: $n calls answered, expected some but not all"
# ... and the daemon still answers everyone else.
out=$("$probe" "$addr" stress 10 10) || fail "after the limits: $out"
kill -0 "$dpid" || fail "daemon died"
# A clean stop (under ASan this also runs the leak check).
kill -TERM "$dpid"
wait "$dpid" || fail "mlockd exited $? on SIGTERM"
dpid=
echo "OK: test-bus-stress"
