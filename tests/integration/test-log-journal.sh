#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Logs for journald, with a real systemd-journald: in a private mount namespace (its sockets and
# journal on tmpfs, nothing of the host's touched), mlockd started with JOURNAL_STREAM naming its
# stderr sends structured entries: `journalctl WORKLOAD_ID=1` tells one workload's story with
# MESSAGE_ID, WORKLOAD_PID, POLICY and USER_ID, and a name that tries to forge a line stays
# inside its entry. On a terminal, lines carry no "<N>" prefix.
set -euo pipefail
journald=/lib/systemd/systemd-journald
if [[ -z ${MLOCKD_TEST_IN_NAMESPACE:-} ]]; then
        [[ $(id -u) == 0 ]] || { echo "SKIP: needs root"; exit 77; }
        [[ -x $journald ]] || { echo "SKIP: $journald missing"; exit 77; }
        command -v journalctl >/dev/null || { echo "SKIP: journalctl missing"; exit 77; }
        command -v unshare >/dev/null || { echo "SKIP: unshare missing"; exit 77; }
        MLOCKD_TEST_IN_NAMESPACE=1 exec unshare -m --propagation private -- "$0" "$@"
fi
# shellcheck source=tests/integration/lib-reliability.sh
. "$(dirname "$0")/lib-reliability.sh"
rel_require
ctl=$build/client/memlockctl

lib_init test-log-journal
# journald's sockets and its runtime journal, private to this namespace: a tmpfs over /run
# (nothing is created in the host's /run), and over /var/log/journal if it exists.
mount -t tmpfs tmpfs /run
if [[ -d /var/log/journal ]]; then
        mount -t tmpfs tmpfs /var/log/journal
fi
mkdir -p /run/systemd/journal /run/log
"$journald" >"$tmp/journald.log" 2>&1 &
lib_pids+=($!)
for _ in $(seq 100); do
        [[ -S /run/systemd/journal/socket ]] && break
        sleep 0.05
done
[[ -S /run/systemd/journal/socket ]] || fail "systemd-journald did not start: $(cat "$tmp/journald.log")"
jctl() { journalctl -D /run/log/journal --no-pager "$@"; }

# lib_init wrote mlockd.conf (Budget=1G).
lib_run_policy 10-test '/usr/bin/* /bin/*'

# As systemd would: stderr is the stream JOURNAL_STREAM names (here a file; the daemon
# then writes entries to the journal socket, not to the stream).
: >"$tmp/log"
JOURNAL_STREAM=$(stat -c %d:%i "$tmp/log")
export JOURNAL_STREAM
lib_start_daemon
unset JOURNAL_STREAM

"$ctl" --socket "$tmp/io.socket" run --name story -- true || fail "memlockctl run failed"
forged=$tmp/$'a\n<2>mlockd: forged line'
cp /bin/true "$forged"
lib_run_policy 20-tmp "$tmp/*"
bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Reload || fail "Reload failed"
"$ctl" --socket "$tmp/io.socket" run -- "$forged" || fail "running the forged file name failed"
rel_finish

# Entries reach the journal once journald has read them: wait for the last one.
for _ in $(seq 100); do
        jctl WORKLOAD_ID=2 MESSAGE_ID=a2bbe29f2f1c4cbf9407f91b4f029d5d -q 2>/dev/null | grep -q . && break
        sleep 0.1
done
story=$(jctl WORKLOAD_ID=1 -o verbose)
echo "$story" | grep -E "MESSAGE=|MESSAGE_ID=" || true
for id in 9c814b4662c6438e99ff0122862d2ad6 063882e35116442a921bf84ee0d54afe \
        a2bbe29f2f1c4cbf9407f91b4f029d5d; do
        [[ $story == *"MESSAGE_ID=$id"* ]] || fail "workload 1's story lacks MESSAGE_ID=$id"
done
[[ $story == *"POLICY=10-test"* ]] || fail "no POLICY field"
[[ $story == *"USER_ID=0"* ]] || fail "no USER_ID field"
[[ $story =~ WORKLOAD_PID=[0-9]+ ]] || fail "no WORKLOAD_PID field"
[[ $story == *"SYSLOG_IDENTIFIER=mlockd"* ]] || fail "no SYSLOG_IDENTIFIER"
[[ $story == *"PRIORITY=6"* ]] || fail "no PRIORITY"
n=$(jctl WORKLOAD_ID=1 -o cat | wc -l)
((n == 3)) || fail "workload 1 has $n entries, expected started, locked, exited"
# Everything went to the journal, nothing to the stream.
if grep -q . "$tmp/log"; then
        fail "the daemon wrote to stderr under journald: $(head -3 "$tmp/log")"
fi
# The forged name: escaped inside its entry, no entry of its own at priority 2.
jctl -o cat WORKLOAD_ID=2 | grep -qF 'a\n<2>mlockd: forged line' ||
        fail "workload 2's entries do not hold the escaped name"
if jctl -p 2 -q SYSLOG_IDENTIFIER=mlockd | grep -q .; then
        fail "an entry at priority 2 or more appeared: $(jctl -p 2 SYSLOG_IDENTIFIER=mlockd)"
fi

# ---- on a terminal: plain lines -----------------------------------------------------------------
if command -v script >/dev/null; then
        out=$(script -qec "setpriv --reuid nobody --regid nogroup --clear-groups $daemon --socket $tmp/x.socket" /dev/null || true)
        [[ $out == *"must run as root"* ]] || fail "no refusal on the terminal: $out"
        [[ $out != *"<3>"* ]] || fail "a terminal gets '<N>' prefixes: $out"
fi
echo OK
