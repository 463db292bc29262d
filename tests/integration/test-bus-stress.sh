#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 200 concurrent clients each making 50 calls are all answered; a non-root uid beyond its
# connection and call-rate limits gets LimitExceeded while the daemon keeps answering others.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
probe=$helpers/bus-probe
lib_require "$probe"
lib_init test-bus-stress
fail() { lib_die "$@"; }
expect_match() {
        [[ $1 =~ $2 ]] || fail "$3: '$1' does not match '$2'"
}

lib_policy 10-test '[Match]\nExecutable=/usr/bin/*\n[Lock]\nLimit=64M\n[Access]\nAllowUsers=root nobody\nAllowRun=yes\n'
lib_start_daemon

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
lib_stop_daemon || fail "mlockd exited $? on SIGTERM"
echo "OK: test-bus-stress"
