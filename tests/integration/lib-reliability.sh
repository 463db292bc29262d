# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the reliability tests (test-authz-matrix.sh, test-faults*.sh, test-load.sh): a
# private daemon in a scratch directory, its fd count, test users, and a raw D-Bus client.
#
# MLOCKD_WRAPPER, if set, is put in front of the daemon's command line, e.g.
#   MLOCKD_WRAPPER="valgrind --error-exitcode=99 --leak-check=full" (see scripts/valgrind).
# shellcheck shell=bash

build=${MLOCKD_BUILD_DIR:?}
src=${MLOCKD_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
daemon=$build/daemon/mlockd
shim=$build/shim/libmemlock-shim.so
# shellcheck disable=SC2034 # used by the tests that source this file
helpers=$build/tests/helpers
rawbus=$src/tests/integration/lib-reliability-dbus.py
# The system python: users other than root may not reach a per-user one (pyenv under /root).
python=/usr/bin/python3
read -ra wrapper <<<"${MLOCKD_WRAPPER:-}"
# Under valgrind everything is ~20x slower.
slow=1
((${#wrapper[@]})) && slow=20

rel_skip() {
        echo "SKIP: $*"
        exit 77
}
rel_require() { # FILE...: skip unless built
        [[ $(id -u) == 0 ]] || rel_skip "mlockd needs root"
        local f
        for f in "$daemon" "$shim" "$@"; do
                [[ -e $f ]] || rel_skip "$f not built"
        done
        [[ -x $python ]] || rel_skip "$python missing"
        command -v setpriv >/dev/null || rel_skip "setpriv missing"
        command -v dbus-send >/dev/null || rel_skip "dbus-send (dbus-bin) missing"
}

dpid=
rel_pids=()
rel_cleanup_hooks=()
rel_cleanup() {
        set +e
        local h p
        for h in "${rel_cleanup_hooks[@]}"; do eval "$h"; done
        [[ -n $dpid ]] && kill -9 "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
        for p in "${rel_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
        [[ -n ${tmp:-} && -z ${MLOCKD_TEST_KEEP:-} ]] && rm -rf "$tmp"
}
fail() {
        echo "FAIL: $*" >&2
        [[ -f $tmp/log ]] && tail -30 "$tmp/log" >&2
        exit 1
}
# rel_init NAME: a scratch dir ($tmp, world-searchable for the test users), the exit trap.
rel_init() {
        tmp=$(mktemp -d "/tmp/$1.XXXXXX")
        chmod 0755 "$tmp"
        mkdir -p "$tmp/policy.d" "$tmp/state"
        addr=unix:path=$tmp/io.socket
        trap rel_cleanup EXIT
}

rel_args() {
        echo --socket "$tmp/io.socket" --state-dir "${state_dir:-$tmp/state}" --policy-dir \
                "$tmp/policy.d" --config "$tmp/mlockd.conf" --shim "$shim"
}
# rel_start_daemon [EXTRA ARGS]: starts the daemon (through $MLOCKD_WRAPPER), waits for it to
# answer, sets $dpid.
rel_start_daemon() {
        local a
        read -ra a <<<"$(rel_args)"
        rm -f "$tmp/io.socket"
        "${wrapper[@]}" "$daemon" "${a[@]}" "$@" >>"$tmp/log" 2>&1 &
        dpid=$!
        for _ in $(seq $((100 * slow))); do
                if [[ -S $tmp/io.socket ]] && rel_ping; then
                        return 0
                fi
                kill -0 "$dpid" 2>/dev/null || fail "the daemon exited at start"
                sleep 0.05
        done
        fail "the daemon does not answer after $((5 * slow)) s"
}
# rel_stop_daemon: SIGTERM and wait; returns the daemon's exit status.
rel_stop_daemon() {
        local rc=0
        kill -TERM "$dpid" 2>/dev/null
        wait "$dpid" || rc=$?
        dpid=
        return $rc
}
# rel_pidfd_works: whether the daemon can open pidfds. valgrind 3.19 (Debian 12) does not know
# pidfd_open (syscall 434) and answers ENOSYS: under it, Run, Attach and Explain cannot work, and
# the tests run only the cases that do not need them.
rel_pidfd_works() {
        raw root /org/mlockd1 org.mlockd1.Manager Explain u "[$$]"
        [[ $out != *"Function not implemented"* ]]
}
# rel_finish: stops the daemon with SIGTERM and fails unless it exits 0: a clean shutdown, and
# the verdict of valgrind (--error-exitcode) or LeakSanitizer when the daemon runs under them.
rel_finish() {
        local rc=0
        rel_stop_daemon || rc=$?
        ((rc == 0)) || fail "the daemon exited with status $rc on SIGTERM${wrapper:+ under ${wrapper[0]}}"
}
bctl() { busctl --address="$addr" --timeout=$((20 * slow)) "$@"; }
rel_ping() {
        busctl --address="$addr" --timeout=$((5 * slow)) get-property org.mlockd1 /org/mlockd1 \
                org.mlockd1.Manager Version >/dev/null 2>&1
}
rel_prop() { # NAME: a Manager property's value
        bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager "$1" | cut -d' ' -f2-
}
wprop() { # PATH NAME
        bctl get-property org.mlockd1 "$1" org.mlockd1.Workload "$2" | cut -d' ' -f2-
}
rel_fd_count() { find "/proc/$dpid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# rel_fd_settle WANT: waits up to 2 s for the daemon's fd count to drop back to WANT (a closed
# client connection is noticed asynchronously); prints the last count.
rel_fd_settle() {
        local n
        for _ in $(seq $((40 * slow))); do
                n=$(rel_fd_count)
                ((n <= $1)) && break
                sleep 0.05
        done
        echo "$n"
}
# rel_fd_stable: the daemon's fd count once it stops changing (connections just closed are gone).
rel_fd_stable() {
        local a b
        a=$(rel_fd_count)
        for _ in $(seq $((40 * slow))); do
                sleep 0.05
                b=$(rel_fd_count)
                ((a == b)) && break
                a=$b
        done
        echo "$b"
}
rel_zombies() { # children of the daemon in state Z
        local n=0 p
        for p in $(cat /proc/"$dpid"/task/*/children 2>/dev/null); do
                [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) == Z ]] && n=$((n + 1))
        done
        echo $n
}
vmlck() { awk '/^VmLck:/ {print $2}' "/proc/$1/status"; }
vmrss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# as USER CMD...: runs CMD with USER's uid, primary gid and supplementary groups.
as() {
        local u=$1
        shift
        if [[ $u == root ]]; then
                "$@"
        else
                setpriv --reuid "$u" --regid "$(id -g "$u")" --init-groups -- "$@"
        fi
}
# raw USER ARGS...: the raw client (see lib-reliability-dbus.py) as USER; output in $out.
raw() {
        local u=$1
        shift
        # Into a file, not $(...): a workload started with --stdio inherits stdout.
        as "$u" "$python" "$rawbus" "$tmp/io.socket" --timeout $((20 * slow)) "$@" \
                >"$tmp/raw.out" 2>"$tmp/raw.err" </dev/null || true
        out=$(cat "$tmp/raw.out")
        [[ -n $out ]] || out="NO OUTPUT: $(tail -3 "$tmp/raw.err")"
}

# Test users and group, created once and left in place (idempotent): mlockd-test-allowed
# (named by policy), mlockd-test-member (in group mlockd-test-grp, which policy admits).
rel_users() {
        command -v useradd >/dev/null || rel_skip "useradd missing"
        # Tests run in parallel: one at a time through useradd.
        exec {lockfd}>/tmp/mlockd-test-users.lock
        flock "$lockfd"
        getent group mlockd-test-grp >/dev/null || groupadd -r mlockd-test-grp ||
                rel_skip "groupadd failed"
        id mlockd-test-allowed >/dev/null 2>&1 ||
                useradd -r -M -d /nonexistent -s /usr/sbin/nologin mlockd-test-allowed ||
                rel_skip "useradd failed"
        id mlockd-test-member >/dev/null 2>&1 ||
                useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G mlockd-test-grp \
                        mlockd-test-member || rel_skip "useradd failed"
        id -nG mlockd-test-member | grep -qw mlockd-test-grp ||
                usermod -a -G mlockd-test-grp mlockd-test-member
        exec {lockfd}>&-
}
