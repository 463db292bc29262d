#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 16: the policy decides on the file that really runs, in the caller's world. A daemon
# whose only policy admits /usr/bin/sleep for uid 65534 (nobody), and nobody tries to run its
# own program under that policy: /proc/self/cwd/..., PATH=/proc/self/cwd/..., "..", a relative
# path, /proc/self/root, /dev/fd/N, a PATH entry it owns, and a symlink flipped between
# /usr/bin/sleep and its own program while it runs Run a few hundred times. The impostor is a
# script that leaves a marker file when it runs: the marker must never appear, and every
# allowed Run must have run /usr/bin/sleep itself. Then: what nobody cannot see gets the same
# answer as what does not exist.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
probe=$helpers/bus-probe
# How many Runs race the symlink flipper (issue 16 saw 69 impostors in 137 tries).
RACE_RUNS=${RACE_RUNS:-300}

lib_require "$probe"
command -v setpriv >/dev/null || lib_skip "setpriv missing"
lib_init test-run-identity
flipper=
lib_cleanup_hooks+=('[[ -n $flipper ]] && kill -9 "$flipper" 2>/dev/null')
fail() { lib_die "$*"; }

lib_policy 10-sleep '[Match]\nExecutable=/usr/bin/sleep\n\n[Lock]\nMode=on\nLimit=64M\nOnFailure=continue\n\n[Access]\nAllowUsers=nobody\nAllowRun=yes\n'
lib_config '[Daemon]\nBudget=100G\n'
# In "/", as a service manager starts it: what "/proc/self/cwd" means to the daemon.
cd /
lib_start_daemon

# nobody's home, with its own "sleep": a script that leaves a marker and sleeps.
home=$tmp/home
marker=$tmp/impostor-ran
mkdir -p "$home/r/usr/bin" "$home/bin"
printf '#!/bin/sh\ntouch %s\nexec /usr/bin/sleep "$@"\n' "$marker" >"$home/evil"
chmod 0755 "$home/evil"
cp "$home/evil" "$home/r/usr/bin/sleep"
cp "$home/evil" "$home/bin/sleep"
chown -R 65534:65534 "$home"
chmod 0777 "$tmp" # the marker is written by nobody

nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
# as_nobody DIR [VAR=VALUE...] -- CMD...: Run CMD as nobody from DIR; output in $out.
as_nobody() {
        local dir=$1
        shift
        local envs=()
        while [[ $1 != -- ]]; do
                envs+=("$1")
                shift
        done
        shift
        # Detached workloads inherit bus-probe's stdout: a file, not a $(...) pipe that would
        # wait for them.
        set +e
        (cd "$dir" && "${nobody[@]}" env "${envs[@]}" "$probe" "$addr" run --detach -- "$@" \
                >"$tmp/out" 2>&1 </dev/null)
        local rc=$?
        set -e
        out=$(cat "$tmp/out")
        return $rc
}
# The attack must not get the sleep policy: denied, and the impostor never ran.
expect_refused() { # WHAT
        [[ $out == *"ERROR org.mlockd1.Error."* ]] || fail "$1: not refused: $out"
        [[ ! -e $marker ]] || fail "$1: the impostor ran under the sleep policy"
}
# An allowed Run must have run the real /usr/bin/sleep.
expect_real_sleep() { # WHAT
        [[ $out =~ OK\ (/org/mlockd1/workload/[0-9]+) ]] || fail "$1: not allowed: $out"
        local pid
        pid=$(busctl --address="$addr" get-property org.mlockd1 "${BASH_REMATCH[1]}" \
                org.mlockd1.Workload Pid | cut -d' ' -f2)
        [[ $(readlink "/proc/$pid/exe") == /usr/bin/sleep ]] ||
                fail "$1: pid $pid runs $(readlink "/proc/$pid/exe")"
        kill "$pid"
        [[ ! -e $marker ]] || fail "$1: the impostor ran"
}

echo "== /proc/self/cwd/usr/bin/sleep from ~/r"
as_nobody "$home/r" -- /proc/self/cwd/usr/bin/sleep 30 || true
expect_refused "/proc/self/cwd"

echo "== PATH=/proc/self/cwd/usr/bin, command 'sleep'"
as_nobody "$home/r" PATH=/proc/self/cwd/usr/bin -- sleep 30 || true
expect_refused "PATH=/proc/self/cwd/usr/bin"

echo "== '..' through /proc/self/cwd"
as_nobody "$home/r" -- /usr/bin/../../proc/self/cwd/usr/bin/sleep 30 || true
expect_refused "'..'"

echo "== a relative path"
as_nobody "$home/r" -- usr/bin/sleep 30 || true
expect_refused "relative path"
as_nobody "$home/r/usr" -- ../usr/bin/sleep 30 || true
expect_refused "relative path with '..'"

echo "== a PATH entry the caller owns"
as_nobody "$home" PATH="$home/bin:/usr/bin" -- sleep 30 || true
expect_refused "PATH entry owned by the caller"

echo "== /dev/fd/N: the caller's own file as stdin"
set +e
(cd "$home" && "${nobody[@]}" "$probe" "$addr" run --detach -- /dev/fd/0 30 >"$tmp/out" 2>&1 \
        <"$home/evil")
set -e
out=$(cat "$tmp/out")
expect_refused "/dev/fd/0"

echo "== /proc/self/root/usr/bin/sleep is the real one"
as_nobody "$home" -- /proc/self/root/usr/bin/sleep 30 || fail "/proc/self/root: $out"
expect_real_sleep "/proc/self/root"

echo "== plain /usr/bin/sleep and 'sleep' in PATH are allowed"
as_nobody "$home" -- /usr/bin/sleep 30 || fail "/usr/bin/sleep: $out"
expect_real_sleep "/usr/bin/sleep"
as_nobody "$home" PATH=/usr/bin -- sleep 30 || fail "sleep: $out"
expect_real_sleep "sleep in PATH"

echo "== a symlink flipped between /usr/bin/sleep and the caller's program, $RACE_RUNS Runs"
ln -sfn /usr/bin/sleep "$home/link"
chown -h 65534:65534 "$home/link"
"${nobody[@]}" bash -c 'while :; do ln -sfn "$2" "$1.tmp" && mv -Tf "$1.tmp" "$1"
                                    ln -sfn /usr/bin/sleep "$1.tmp" && mv -Tf "$1.tmp" "$1"; done' \
        flip "$home/link" "$home/evil" &
flipper=$!
allowed=0 refused=0
for ((i = 0; i < RACE_RUNS; i++)); do
        set +e
        (cd "$home" && "${nobody[@]}" "$probe" "$addr" run --detach -- "$home/link" 0 \
                >"$tmp/out" 2>&1 </dev/null)
        set -e
        out=$(cat "$tmp/out")
        if [[ $out == OK* ]]; then
                allowed=$((allowed + 1))
        else
                refused=$((refused + 1))
        fi
        [[ ! -e $marker ]] || fail "symlink race: the impostor ran under the sleep policy after" \
                "$i Runs ($allowed allowed): $out"
done
kill -9 "$flipper"
wait "$flipper" 2>/dev/null || true
flipper=
echo "symlink race: $allowed allowed (the real sleep), $refused refused, no impostor"
((allowed > 0 && refused > 0)) || fail "the race did not race: $allowed allowed, $refused refused"

echo "== what nobody cannot see answers like what does not exist"
secret=$tmp/secret
mkdir -m 0700 "$secret" "$secret/dir"
printf '#!/usr/bin/python3\n' >"$secret/script"
chmod 0755 "$secret/script"
msg() { # PATH: the error text, with the path itself replaced
        as_nobody / -- "$1" 1 || true
        [[ $out == *"ERROR "* ]] || fail "$1: not refused: $out"
        echo "${out//"$1"/PATH}"
}
a=$(msg "$secret/dir")
b=$(msg "$secret/script")
c=$(msg "$secret/nope")
[[ $a == "$c" && $b == "$c" ]] || fail "answers differ: '$a' / '$b' / '$c'"
[[ $a != *directory* && $b != *python* ]] || fail "an answer tells what is inside: '$a' '$b'"
if [[ -d /root ]] && ! setpriv --reuid 65534 --regid 65534 --clear-groups test -x /root; then
        a=$(msg /root/.ssh)
        c=$(msg /root/nope)
        [[ $a == "$c" ]] || fail "/root/.ssh and /root/nope answer differently: '$a' / '$c'"
fi
echo "answer: $c"

kill -0 "$dpid" || fail "the daemon died"
echo OK
