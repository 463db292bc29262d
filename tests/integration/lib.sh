# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by every integration test that runs the daemon: the one place that starts it.
#
#   lib_require [FILE...]   exits 77 unless root and the daemon, the shim and FILEs are built
#   lib_users               (call first) re-runs the script in a private mount namespace in which
#                           the users mlockd-test-allowed, mlockd-test-member and the group
#                           mlockd-test-grp exist; the host's /etc/passwd and /etc/group are
#                           never changed
#   lib_init NAME           a scratch directory $tmp (/tmp/NAME.XXXXXX, 0755 so that test users
#                           reach it) with policy.d/, state/ and mlockd.conf (Budget=1G); the
#                           EXIT trap (lib_cleanup); $sock and $addr name the daemon's socket,
#                           $lib_log its log ($tmp/log)
#   lib_dir DIR             for a test that makes its own scratch directory and EXIT trap
#                           (tests/e2e/libvirt-env.sh): DIR becomes $tmp as in lib_init (policy.d/,
#                           state/, $sock, $addr, $lib_log), without mlockd.conf and without the
#                           trap; that test's trap calls lib_kill_daemon
#   lib_socket PATH         the daemon listens on PATH (e.g. /run/mlockd/io.socket in a private
#                           namespace) instead of $tmp/io.socket: sets $sock and $addr
#   lib_config TEXT         writes $tmp/mlockd.conf (printf format, mode 0644)
#   lib_policy NAME TEXT    writes $tmp/policy.d/NAME.policy (printf format, mode 0644)
#   lib_run_policy NAME PATTERNS
#                           writes $tmp/policy.d/NAME.policy (mode 0644): the programs that
#                           match Executable=PATTERNS are locked (Mode=on, Limit=16M), and root
#                           may run them
#   lib_daemon_args         the daemon's arguments for this directory (one per line)
#   lib_start_daemon [ARGS] starts the daemon (through $MLOCKD_WRAPPER) with the arguments
#                           above and ARGS, logging to $lib_log, and waits until it answers a
#                           D-Bus call; sets $dpid. Variables assigned on the call's command line
#                           (NOTIFY_SOCKET=... lib_start_daemon) reach the daemon. Fails with
#                           the log when the daemon exits or does not answer.
#   lib_start_activated SOCKET [ARGS]
#                           the same through systemd-socket-activate listening on SOCKET, as
#                           mlockd.socket would: the daemon starts on the first connection and
#                           takes the socket (sd_listen_fds); waits only for SOCKET to exist
#   lib_stop_daemon         SIGTERM, waits; returns the daemon's exit status
#   lib_kill_daemon         what the EXIT trap does: SIGTERM, up to 2 s, then SIGKILL
#   lib_die MESSAGE         prints FAIL: MESSAGE and the end of the daemon's log, exits 1
#   lib_cleanup_hooks+=(CMD) run at exit, before the daemon is killed; lib_pids+=(PID) are
#                           killed at exit
# On failure the end of $lib_log is printed; MLOCKD_TEST_KEEP=1 keeps $tmp. A test may set
# lib_log to another file before it starts the daemon.
#
# MLOCKD_WRAPPER, if set, is put in front of the daemon's command line, e.g.
#   MLOCKD_WRAPPER="valgrind --error-exitcode=99 --leak-check=full" (see scripts/valgrind).

# shellcheck disable=SC2034 # src, ctl and helpers are for the tests that source this file
build=${MLOCKD_BUILD_DIR:?MLOCKD_BUILD_DIR is not set}
src=${MLOCKD_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
daemon=$build/daemon/mlockd
shim=$build/shim/libmemlock-shim.so
ctl=$build/client/memlockctl
helpers=$build/tests/helpers
read -ra wrapper <<<"${MLOCKD_WRAPPER:-}"
# Under valgrind everything is ~20x slower.
slow=1
((${#wrapper[@]})) && slow=20

tmp=
lib_log=
dpid=
lib_pids=()
lib_cleanup_hooks=()

lib_skip() {
        echo "SKIP: $*"
        exit 77
}

lib_require() {
        [[ $(id -u) == 0 ]] || lib_skip "mlockd needs root"
        local f
        for f in "$daemon" "$shim" "$@"; do
                [[ -e $f ]] || lib_skip "$f not built"
        done
        command -v busctl >/dev/null || lib_skip "busctl missing"
}

lib_die() {
        echo "FAIL: $*" >&2
        [[ -n $lib_log && -f $lib_log ]] && tail -n 30 "$lib_log" | sed 's/^/  log: /' >&2
        exit 1
}

lib_cleanup() {
        local rc=$? h p
        set +e
        for h in "${lib_cleanup_hooks[@]}"; do eval "$h"; done
        lib_kill_daemon
        for p in "${lib_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
        if ((rc != 0 && rc != 77)) && [[ -n $lib_log && -f $lib_log ]]; then
                echo "--- daemon log (last 30 lines)" >&2
                tail -n 30 "$lib_log" >&2
        fi
        if [[ -n $tmp && -z ${MLOCKD_TEST_KEEP:-} ]]; then
                rm -rf "$tmp"
        elif [[ -n $tmp ]]; then
                echo "kept $tmp" >&2
        fi
        exit "$rc"
}

lib_init() {
        local d
        d=$(mktemp -d "/tmp/$1.XXXXXX")
        chmod 0755 "$d"
        lib_dir "$d"
        trap lib_cleanup EXIT
        lib_config '[Daemon]\nBudget=1G\n'
}

lib_dir() {
        tmp=$1
        mkdir -p "$tmp/policy.d" "$tmp/state"
        lib_socket "$tmp/io.socket"
        lib_log=$tmp/log
}

lib_socket() {
        sock=$1
        addr=unix:path=$sock
}

lib_config() {
        # shellcheck disable=SC2059 # the text is a printf format on purpose
        printf "$1" >"$tmp/mlockd.conf"
        chmod 0644 "$tmp/mlockd.conf"
}

lib_policy() {
        # shellcheck disable=SC2059
        printf "$2" >"$tmp/policy.d/$1.policy"
        chmod 0644 "$tmp/policy.d/$1.policy"
}

# The policy most daemon tests start from; written with cat, not lib_policy, because
# PATTERNS hold paths that must not be read as a printf format.
lib_run_policy() {
        cat >"$tmp/policy.d/$1.policy" <<POLICY
[Match]
Executable=$2

[Lock]
Mode=on
Limit=16M

[Access]
AllowUsers=root
AllowRun=yes
POLICY
        chmod 0644 "$tmp/policy.d/$1.policy"
}

lib_daemon_args() {
        printf '%s\n' --socket "$sock" --state-dir "${state_dir:-$tmp/state}" \
                --policy-dir "$tmp/policy.d" --config "$tmp/mlockd.conf" --shim "$shim"
}

lib_ping() {
        busctl --address="$addr" --timeout=$((5 * slow)) get-property org.mlockd1 /org/mlockd1 \
                org.mlockd1.Manager Version >/dev/null 2>&1
}

lib_start_daemon() {
        local a
        mapfile -t a < <(lib_daemon_args)
        rm -f "$sock"
        "${wrapper[@]}" "$daemon" "${a[@]}" "$@" >>"$lib_log" 2>&1 &
        dpid=$!
        for _ in $(seq $((200 * slow))); do
                if [[ -S $sock ]] && lib_ping; then
                        return 0
                fi
                kill -0 "$dpid" 2>/dev/null || { dpid=; lib_die "the daemon exited at start"; }
                sleep 0.05
        done
        lib_die "the daemon does not answer after $((10 * slow)) s"
}

lib_start_activated() {
        local socket=$1 a
        shift
        command -v systemd-socket-activate >/dev/null ||
                lib_skip "systemd-socket-activate is not installed"
        mapfile -t a < <(lib_daemon_args)
        rm -f "$socket"
        # --socket names the same path: a daemon that ignored LISTEN_FDS would try to bind it
        # and fail (the activator holds it).
        systemd-socket-activate -l "$socket" -- "${wrapper[@]}" "$daemon" "${a[@]}" \
                --socket "$socket" "$@" >>"$lib_log" 2>&1 &
        dpid=$!
        for _ in $(seq $((100 * slow))); do
                [[ -S $socket ]] && return 0
                kill -0 "$dpid" 2>/dev/null || { dpid=; lib_die "systemd-socket-activate exited"; }
                sleep 0.05
        done
        lib_die "systemd-socket-activate did not listen on $socket"
}

lib_stop_daemon() {
        local rc=0
        [[ -n $dpid ]] || return 0
        kill -TERM "$dpid" 2>/dev/null
        wait "$dpid" || rc=$?
        dpid=
        return $rc
}

# Safe under set -e: the daemon may be gone already.
lib_kill_daemon() {
        [[ -n $dpid ]] || return 0
        kill -TERM "$dpid" 2>/dev/null || true
        for _ in $(seq 40); do
                kill -0 "$dpid" 2>/dev/null || break
                sleep 0.05
        done
        kill -9 "$dpid" 2>/dev/null || true
        wait "$dpid" 2>/dev/null || true
        dpid=
}

# The test users exist only in this test's mount namespace: copies of /etc/passwd and /etc/group
# with them added are bind-mounted over the real ones, so the daemon, setpriv and NSS in the
# namespace see them, and nothing on the host changes. Ids are the first free ones below 60000
# in the system range of the copies.
LIB_TEST_USERS=(mlockd-test-allowed mlockd-test-member)
LIB_TEST_GROUP=mlockd-test-grp
lib_free_id() { # FILE FROM: the first id at or below FROM that FILE does not use
        local id
        for ((id = $2; id > 100; id--)); do
                cut -d: -f3 "$1" | grep -qx "$id" || { echo "$id"; return 0; }
        done
        return 1
}
lib_users() {
        if [[ ${MLOCKD_TEST_USERS_NS:-} != "$$" ]]; then
                command -v unshare >/dev/null || lib_skip "unshare missing"
                [[ $(id -u) == 0 ]] || lib_skip "test users need root (a mount namespace)"
                unshare -m true 2>/dev/null || lib_skip "cannot create a mount namespace"
                # A scratch directory made before this call would be lost with the exec.
                [[ -n $tmp ]] && rm -rf "$tmp"
                # exec keeps the pid, which marks the namespace as done. (The tests take no
                # arguments.)
                MLOCKD_TEST_USERS_NS=$$ exec unshare --mount --propagation private "$0"
        fi
        local d gid uid u
        d=$(mktemp -d /tmp/mlockd-test-users.XXXXXX)
        cp /etc/passwd "$d/passwd"
        cp /etc/group "$d/group"
        # Entries left on this host by older versions of the tests are replaced.
        sed -i "/^$LIB_TEST_GROUP:/d" "$d/group"
        gid=$(lib_free_id "$d/group" 59999)
        echo "$LIB_TEST_GROUP:x:$gid:${LIB_TEST_USERS[1]}" >>"$d/group"
        uid=59999
        for u in "${LIB_TEST_USERS[@]}"; do
                sed -i "/^$u:/d" "$d/passwd"
                uid=$(lib_free_id "$d/passwd" "$uid")
                echo "$u:x:$uid:65534::/nonexistent:/usr/sbin/nologin" >>"$d/passwd"
                uid=$((uid - 1))
        done
        chmod 0644 "$d/passwd" "$d/group"
        mount --bind "$d/passwd" /etc/passwd
        mount --bind "$d/group" /etc/group
        # The mounts keep the files; nothing is left in /tmp.
        rm -rf "$d"
        id "${LIB_TEST_USERS[1]}" | grep -qw "$LIB_TEST_GROUP" || lib_die "test users not set up"
}
