# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the reliability tests (test-authz-matrix.sh, test-faults*.sh, test-load.sh), on top of
# lib.sh (which starts the daemon): the daemon's fd count, zombies, and a raw D-Bus client.
# shellcheck shell=bash

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rawbus=$src/tests/integration/lib-reliability-dbus.py
# The system python: users other than root may not reach a per-user one (pyenv under /root).
python=/usr/bin/python3

rel_require() { # FILE...: skip unless built
        lib_require "$@"
        [[ -x $python ]] || lib_skip "$python missing"
        command -v setpriv >/dev/null || lib_skip "setpriv missing"
        command -v dbus-send >/dev/null || lib_skip "dbus-send (dbus-bin) missing"
}
fail() { lib_die "$@"; }
# The names these tests used before lib.sh; new tests call lib_* directly.
rel_init() { lib_init "$@"; }
rel_start_daemon() { lib_start_daemon "$@"; }
rel_stop_daemon() { lib_stop_daemon "$@"; }
rel_ping() { lib_ping "$@"; }
rel_skip() { lib_skip "$@"; }
rel_users() { lib_users "$@"; }
# shellcheck disable=SC2034 # used by the tests
declare -n rel_pids=lib_pids
# shellcheck disable=SC2034
declare -n rel_cleanup_hooks=lib_cleanup_hooks

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
        lib_stop_daemon || rc=$?
        ((rc == 0)) || fail "the daemon exited with status $rc on SIGTERM${wrapper:+ under ${wrapper[0]}}"
}
bctl() { busctl --address="$addr" --timeout=$((20 * slow)) "$@"; }
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

