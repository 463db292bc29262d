#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 15: a Run whose launch child is stuck before its exec never holds the daemon. The daemon
# runs under strace, which keeps every exec of its children (the launch children) at its
# entry (seccomp-bpf: only that call traps). While nobody's Run is held there, other clients are
# answered: the answer arrives while the child is still held, so the daemon did not wait for it
# (before the launch job, the daemon waited for the exec, up to 10 s, and killed the child).
# A Run with a PATH of 60000 entries is refused at once, naming the bound.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?}
daemon=$build/daemon/mlockd
probe=$build/tests/helpers/bus-probe
shim=$build/shim/libmemlock-shim.so

if [[ $(id -u) != 0 ]]; then
        echo "SKIP: mlockd needs root"
        exit 77
fi
for t in "$daemon" "$probe" "$shim"; do
        [[ -e $t ]] || { echo "SKIP: $t not built"; exit 77; }
done
command -v strace >/dev/null || { echo "SKIP: strace missing (scripts/install-deps)"; exit 77; }
command -v busctl >/dev/null || { echo "SKIP: busctl missing"; exit 77; }

tmp=$(mktemp -d /tmp/test-run-stuck.XXXXXX)
chmod 0755 "$tmp"
spid= client=
cleanup() {
        set +e
        [[ -n $client ]] && kill "$client" 2>/dev/null
        # strace's tracees (the daemon, the held child) die with it (PTRACE_O_EXITKILL).
        [[ -n $spid ]] && kill -9 "$spid" 2>/dev/null
        wait 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
        echo "FAIL: $*" >&2
        [[ -f $tmp/log ]] && tail -20 "$tmp/log" >&2
        exit 1
}

mkdir -p "$tmp/policy.d" "$tmp/state"
cat >"$tmp/policy.d/10-test.policy" <<'POLICY'
[Match]
Executable=/usr/bin/*

[Lock]
Limit=64M
OnFailure=continue

[Access]
AllowUsers=nobody
AllowRun=yes
POLICY
printf '[Daemon]\nBudget=1G\n' >"$tmp/mlockd.conf"
chmod 0644 "$tmp/mlockd.conf" "$tmp"/policy.d/*

addr=unix:path=$tmp/io.socket
strace -f --seccomp-bpf -qq -e trace=execve,execveat \
        -e inject=execve,execveat:delay_enter=60000000 \
        -o /dev/null "$daemon" --socket "$tmp/io.socket" --state-dir "$tmp/state" \
        --policy-dir "$tmp/policy.d" --config "$tmp/mlockd.conf" --shim "$shim" \
        >>"$tmp/log" 2>&1 &
spid=$!
for _ in $(seq 100); do
        [[ -S $tmp/io.socket ]] && break
        sleep 0.05
done
[[ -S $tmp/io.socket ]] || fail "no socket after 5 s"
dpid=$(pgrep -P "$spid" | head -1)

nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
(cd / && "${nobody[@]}" "$probe" "$addr" run --detach -- /usr/bin/sleep 1 >"$tmp/out" 2>&1) &
client=$!

# The launch child, held at the entry of its execveat().
held=
for _ in $(seq 400); do
        for p in $(pgrep -P "$dpid"); do
                [[ $(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) == t ]] && held=$p
        done
        [[ -n $held ]] && break
        sleep 0.025
done
[[ -n $held ]] || fail "no launch child was held before its exec"
[[ $(awk '/^Uid:/ { print $2 }' "/proc/$held/status") == 65534 ]] ||
        fail "the held child is not nobody's: $(grep ^Uid: "/proc/$held/status")"

# Others are served meanwhile: the answers come while the child is still held.
out=$(busctl --address="$addr" call org.mlockd1 /org/mlockd1 org.mlockd1.Manager ListWorkloads) ||
        fail "ListWorkloads: $out"
out=$(busctl --address="$addr" get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager \
        ReservedBytes) || fail "ReservedBytes: $out"
# The held launch has been decided: its reservation counts already.
[[ $out == "t $((64 * 1024 * 1024))" ]] || fail "ReservedBytes while launching: $out"
[[ $(awk '{ print $3 }' "/proc/$held/stat" 2>/dev/null) == t ]] ||
        fail "the daemon answered only after the held child was gone"
echo "answered while launch child $held was held before its exec"

# A PATH of 60000 entries: refused by the launch child after 1024, the daemon untouched.
path60k=$(printf '.:%.0s' $(seq 60000))
set +e
out=$(cd / && "${nobody[@]}" env PATH="$path60k" "$probe" "$addr" run -- no-such-command 2>&1)
set -e
[[ $out == *"PATH has more than 1024 entries"* ]] || fail "PATH of 60000 entries: $out"
[[ $(awk '{ print $3 }' "/proc/$held/stat" 2>/dev/null) == t ]] ||
        fail "the held child is gone before the PATH answer"
kill -0 "$dpid" || fail "the daemon died"
echo OK
