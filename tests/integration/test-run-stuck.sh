#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 15: a Run whose launch child is stuck before its exec never holds the daemon. The daemon
# runs under strace, which keeps every exec of its children (the launch children) at its
# entry (seccomp-bpf: only that call traps). While nobody's Run is held there, other clients are
# answered: the answer arrives while the child is still held, so the daemon did not wait for it
# (before the launch job, the daemon waited for the exec, up to 10 s, and killed the child).
# A Run with a PATH of 60000 entries is refused at once, naming the bound.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
probe=$helpers/bus-probe

lib_require "$probe"
command -v strace >/dev/null || lib_skip "strace missing (scripts/install-deps)"
lib_init test-run-stuck
client=
lib_cleanup_hooks+=('[[ -n $client ]] && kill "$client" 2>/dev/null')
fail() { lib_die "$*"; }

lib_policy 10-test '[Match]\nExecutable=/usr/bin/*\n\n[Lock]\nLimit=64M\nOnFailure=continue\n\n[Access]\nAllowUsers=nobody\nAllowRun=yes\n'
# The daemon under strace (lib.sh puts $wrapper in front of it). strace 6.1 detaches from its
# tracees when lib.sh stops it, so mlockd itself is killed first, at exit.
wrapper=(strace -f --seccomp-bpf -qq -e trace=execve,execveat
        -e inject=execve,execveat:delay_enter=60000000 -o /dev/null)
lib_start_daemon
mpid=$(pgrep -P "$dpid" | head -1) # mlockd itself, strace's child
lib_cleanup_hooks+=('[[ -n $mpid ]] && kill -9 "$mpid" 2>/dev/null')

nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
(cd / && "${nobody[@]}" "$probe" "$addr" run --detach -- /usr/bin/sleep 1 >"$tmp/out" 2>&1) &
client=$!

# The launch child, held at the entry of its execveat().
held=
for _ in $(seq 400); do
        for p in $(pgrep -P "$mpid"); do
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
kill -0 "$mpid" || fail "the daemon died"
echo OK
