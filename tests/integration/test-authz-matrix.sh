#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The authorization matrix: real calls to a real daemon by root, a policy-allowed user, a member
# of an allowed group and a stranger (uid 65534), for Run, Attach, Detach, Kill, Reload, Explain
# and ListWorkloads; attaching to other users' processes, setuid processes, root's, PID 1 and
# mlockd itself; acting on someone else's workload; caller-supplied LD_PRELOAD and
# LD_LIBRARY_PATH; argv/env over daemon/bus/bus-limits.h and 10k-element arrays; invalid UTF-8,
# wrong signatures, many fds in one message and bogus object paths. Every case asserts the reply (the
# error name), that the daemon still answers, and that its fd count is back where it was.
#
# Cases for bugs not fixed yet run only with MLOCKD_TEST_KNOWN_BUGS=1.
set -euo pipefail
# shellcheck source=tests/integration/lib-reliability.sh
. "$(dirname "$0")/lib-reliability.sh"

rel_require
# Before anything else: re-runs this script in a mount namespace with the test users.
lib_users
lib_init test-authz-matrix
allowed=mlockd-test-allowed
member=mlockd-test-member
stranger=nobody
E=org.mlockd1.Error
D=org.freedesktop.DBus.Error

cat >"$tmp/policy.d/10-test.policy" <<'POLICY'
[Match]
Executable=/usr/bin/* /bin/* /tmp/*

[Lock]
Mode=on
Limit=16M
OnFailure=continue

[Access]
AllowUsers=root mlockd-test-allowed @mlockd-test-grp
AllowRun=yes
AllowAttach=yes
POLICY
printf '[Daemon]\nBudget=1G\n' >"$tmp/mlockd.conf"
chmod 0644 "$tmp/mlockd.conf" "$tmp"/policy.d/*
lib_start_daemon
pidfd=1
if ! rel_pidfd_works; then
        pidfd=0
        echo "NOTE: the daemon cannot open pidfds (valgrind 3.19 lacks pidfd_open): only the cases" \
                "that need none run"
fi

n_cases=0
# check NAME USER EXPECT RAWARGS...: one call through the raw client as USER; EXPECT is "OK" or
# an error name (or CLOSED); then the daemon answers and its fd count is what it was (unless
# the call created a workload: NOFD=1).
check() {
        local name=$1 user=$2 want=$3 before after
        shift 3
        n_cases=$((n_cases + 1))
        # The count settled after the previous case (or is measured again after one that created a
        # workload).
        [[ -n ${fd_base:-} ]] || fd_base=$(rel_fd_stable)
        before=$fd_base
        raw "$user" "$@"
        local w ok=0
        for w in ${want//|/ }; do # alternatives: "A|B"
                case $w in
                OK) [[ $out == OK* ]] && ok=1 ;;
                CLOSED) [[ $out == CLOSED ]] && ok=1 ;;
                DROPPED) [[ $out == TIMEOUT ]] && ok=1 ;; # no reply, connection kept
                *) [[ $out == "ERROR $w:"* ]] && ok=1 ;;
                esac
        done
        ((ok)) || fail "[$name] as $user: want $want, got: $out"
        lib_ping || fail "[$name] the daemon stopped answering"
        if [[ -z ${NOFD:-} ]]; then
                after=$(rel_fd_settle "$before")
                # Lower is fine: an earlier workload exiting meanwhile closes its fds.
                ((after <= before)) || fail "[$name] fd count $before -> $after"
                fd_base=$after
        else
                fd_base=
        fi
        printf 'ok %2d %-58s %-8s %s\n' "$n_cases" "$name" "$user" "${out:0:70}"
}
M=(/org/mlockd1 org.mlockd1.Manager)
call() { # NAME USER EXPECT MEMBER SIG ARGS [RAW OPTIONS...]
        local name=$1 user=$2 want=$3 member=$4 sig=$5 args=$6
        shift 6
        check "$name" "$user" "$want" "$@" "${M[@]}" "$member" "$sig" "$args"
}
run_args() { # CMD...: Run's body as a Python literal, detached
        local a="[" x
        for x in "$@"; do a+="'$x',"; done
        echo "[$a], [], '/', 0, 1, 2, {'detach': ('b', True)}]"
}
# start_as USER CMD...: a long-running process of USER; its pid in $spid.
start_as() {
        local u=$1
        shift
        if [[ $u == root ]]; then
                "$@" </dev/null >/dev/null 2>&1 &
        else
                setpriv --reuid "$u" --regid "$(id -g "$u")" --init-groups -- "$@" \
                        </dev/null >/dev/null 2>&1 &
        fi
        spid=$!
        lib_pids+=("$spid")
        sleep 0.1
}

# ---- ListWorkloads, Explain, Reload ----------------------------------------------------------
for u in root $allowed $member $stranger; do
        call "ListWorkloads" "$u" OK ListWorkloads "" "[]"
done
start_as "$stranger" sleep 300
stranger_pid=$spid
# With an ambient CAP_IPC_LOCK: attachable also where mlockd lacks CAP_SYS_RESOURCE.
setpriv --reuid "$allowed" --regid "$(id -g "$allowed")" --init-groups --inh-caps +ipc_lock \
        --ambient-caps +ipc_lock -- sleep 300 </dev/null >/dev/null 2>&1 &
allowed_pid=$!
lib_pids+=("$allowed_pid")
if ((pidfd)); then
call "Explain another user's process (root may)" root OK Explain u "[$stranger_pid]"
call "Explain own process" "$allowed" OK Explain u "[$allowed_pid]"
call "Explain another user's process" "$stranger" "$E.AccessDenied" Explain u "[$allowed_pid]"
call "Explain PID 1" "$member" "$E.AccessDenied" Explain u "[1]"
call "Explain mlockd itself" "$allowed" "$E.AccessDenied" Explain u "[$dpid]"
call "Explain pid 0" "$allowed" "$E.InvalidArgument" Explain u "[0]"
fi
call "Reload" root OK Reload "" "[]"
for u in $allowed $member $stranger; do
        call "Reload (root's only)" "$u" "$E.AccessDenied" Reload "" "[]"
done

root_wl=/org/mlockd1/workload/999999
if ((pidfd)); then
# ---- Run -------------------------------------------------------------------------------------
NOFD=1 call "Run sleep" "$allowed" OK Run "asasshhha{sv}" "$(run_args /usr/bin/sleep 300)" --stdio
allowed_wl=${out#OK }
NOFD=1 call "Run sleep as a member of an allowed group" "$member" OK Run "asasshhha{sv}" \
        "$(run_args /usr/bin/sleep 300)" --stdio
member_wl=${out#OK }
NOFD=1 call "Run sleep" root OK Run "asasshhha{sv}" "$(run_args /usr/bin/sleep 300)" --stdio
root_wl=${out#OK }
call "Run (no policy admits the caller)" "$stranger" "$E.AccessDenied" Run "asasshhha{sv}" \
        "$(run_args /usr/bin/sleep 300)" --stdio
call "Run a policy by name the caller is not admitted to" "$stranger" "$E.AccessDenied" Run \
        "asasshhha{sv}" "[['/bin/true'], [], '/', 0, 1, 2, {'policy': ('s', '10-test')}]" --stdio
call "Run with limit above the policy's" "$allowed" "$E.AccessDenied" Run "asasshhha{sv}" \
        "[['/bin/true'], [], '/', 0, 1, 2, {'limit': ('t', 1 << 40)}]" --stdio

# Caller-supplied loader variables never reach the workload.
cat >"$tmp/envdump.sh" <<'SH'
#!/bin/sh
env >"$1"
exec sleep 300
SH
chmod 0755 "$tmp/envdump.sh"
touch "$tmp/env.out" && chown "$allowed" "$tmp/env.out"
NOFD=1 call "Run with LD_PRELOAD, LD_LIBRARY_PATH, MEMLOCK_LIMIT" "$allowed" OK Run \
        "asasshhha{sv}" "[['$tmp/envdump.sh', '$tmp/env.out'], ['LD_PRELOAD=/tmp/evil.so', \
'LD_LIBRARY_PATH=/tmp/evil', 'MEMLOCK_LIMIT=1T', 'GCONV_PATH=/tmp/evil', 'KEEP=1'], '/', 0, 1, \
2, {'detach': ('b', True)}]" --stdio
env_wl=${out#OK }
for _ in $(seq 100); do
        grep -q '^KEEP=1$' "$tmp/env.out" && break
        sleep 0.05
done
grep -q '^KEEP=1$' "$tmp/env.out" || fail "the workload's environment was not written"
grep -q 'evil\|MEMLOCK_LIMIT=1T' "$tmp/env.out" && fail "caller's loader variables reached the workload: $(grep 'evil\|MEMLOCK_LIMIT' "$tmp/env.out")"
grep -q '^LD_LIBRARY_PATH=' "$tmp/env.out" && fail "LD_LIBRARY_PATH reached the workload"
# The shim removes itself from LD_PRELOAD (Inherit=no): absent, or exactly the shim.
lp=$(sed -n 's/^LD_PRELOAD=//p' "$tmp/env.out")
[[ -z $lp || $lp == "$shim" ]] || fail "LD_PRELOAD in the workload is '$lp', not the shim"
echo "   (workload env: $(grep -c . "$tmp/env.out") variables, no caller loader variables)"

# ---- Kill, Detach of other users' workloads ---------------------------------------------------
call "Kill another user's workload" "$stranger" "$E.AccessDenied" Kill oi "['$allowed_wl', 9]"
call "Kill another user's workload" "$member" "$E.AccessDenied" Kill oi "['$allowed_wl', 9]"
call "Kill root's workload" "$allowed" "$E.AccessDenied" Kill oi "['$root_wl', 9]"
call "Detach another user's workload" "$stranger" "$E.AccessDenied" Detach o "['$allowed_wl']"
call "Detach another user's workload" "$allowed" "$E.AccessDenied" Detach o "['$member_wl']"
call "Kill with an invalid signal" "$allowed" "$E.InvalidArgument" Kill oi "['$allowed_wl', 9999]"
call "Kill a workload that does not exist" "$allowed" "$E.NoSuchWorkload" Kill oi \
        "['/org/mlockd1/workload/999999', 15]"
call "Detach a path outside the workload tree" "$allowed" "$E.NoSuchWorkload" Detach o "['/']"
NOFD=1 call "Kill own workload" "$allowed" OK Kill oi "['$env_wl', 15]"
NOFD=1 call "Kill another user's workload (root may)" root OK Kill oi "['$member_wl', 15]"

# ---- Attach -----------------------------------------------------------------------------------
cp /usr/bin/sleep "$tmp/suid-sleep"
chmod 4755 "$tmp/suid-sleep"
start_as "$allowed" "$tmp/suid-sleep" 300
suid_pid=$spid
[[ $(awk '/^Uid:/ {print $3}' "/proc/$suid_pid/status") == 0 ]] ||
        fail "setup: $tmp/suid-sleep did not run setuid root"
start_as root sleep 300
root_pid=$spid
A='{}'
call "Attach another user's process" "$allowed" "$E.AccessDenied" Attach "ua{sv}" \
        "[$stranger_pid, $A]"
call "Attach a setuid-root process the caller started" "$allowed" "$E.AccessDenied" Attach \
        "ua{sv}" "[$suid_pid, $A]"
call "Attach a root process" "$member" "$E.AccessDenied" Attach "ua{sv}" "[$root_pid, $A]"
call "Attach PID 1" "$allowed" "$E.AccessDenied" Attach "ua{sv}" "[1, $A]"
call "Attach PID 1" root "$E.AccessDenied" Attach "ua{sv}" "[1, $A]"
call "Attach mlockd itself" root "$E.AccessDenied" Attach "ua{sv}" "[$dpid, $A]"
call "Attach mlockd itself" "$stranger" "$E.AccessDenied" Attach "ua{sv}" "[$dpid, $A]"
call "Attach own process (no policy admits the caller)" "$stranger" "$E.AccessDenied" Attach \
        "ua{sv}" "[$stranger_pid, $A]"
call "AttachPidfd of a root process" "$stranger" "$E.AccessDenied" AttachPidfd "ha{sv}" \
        "[0, $A]" --pidfd "$root_pid"
call "AttachPidfd of PID 1" "$allowed" "$E.AccessDenied" AttachPidfd "ha{sv}" "[0, $A]" \
        --pidfd 1
call "AttachPidfd of mlockd itself" root "$E.AccessDenied" AttachPidfd "ha{sv}" "[0, $A]" \
        --pidfd "$dpid"
call "AttachPidfd of another user's process" "$member" "$E.AccessDenied" AttachPidfd "ha{sv}" \
        "[0, $A]" --pidfd "$allowed_pid"
call "AttachPidfd with an fd that is not a pidfd" "$allowed" "$E.InvalidArgument" AttachPidfd \
        "ha{sv}" "[0, $A]" --fds 1
call "Attach pid 0" "$allowed" "$E.InvalidArgument" Attach "ua{sv}" "[0, $A]"
call "Attach pid 2^32-1" "$allowed" "$E.InvalidArgument" Attach "ua{sv}" "[4294967295, $A]"
call "Attach a workload already in the table" root "$E.InvalidArgument" Attach "ua{sv}" \
        "[$(wprop "$allowed_wl" Pid), $A]"
call "Attach own process that holds capabilities the caller lacks" "$allowed" \
        "$E.AccessDenied" Attach "ua{sv}" "[$allowed_pid, $A]"
NOFD=1 call "Attach a user's process (root may)" root OK Attach "ua{sv}" "[$allowed_pid, $A]"
attached_wl=${out#OK }
[[ $(wprop "$attached_wl" Uid) == "$(id -u "$allowed")" ]] || fail "attached workload's Uid"
call "Detach another user's attached workload" "$member" "$E.AccessDenied" Detach o \
        "['$attached_wl']"
# Detach answers LimitExceeded while the workload is still locking: retry for a few seconds.
for _ in $(seq $((50 * slow))); do
        raw "$allowed" "${M[@]}" Detach o "['$attached_wl']"
        [[ $out == *LimitExceeded* ]] || break
        sleep 0.1
done
[[ $out == OK* ]] || fail "[Detach own workload attached by root] got: $out"
n_cases=$((n_cases + 1))
echo "ok $n_cases Detach own workload (attached by root)                  $allowed OK"
# The stranger's process lacks CAP_IPC_LOCK: without CAP_SYS_RESOURCE mlockd cannot lock it.
want=OK
grep -q 'No CAP_SYS_RESOURCE' "$tmp/log" && want=$E.Unsupported
NOFD=1 call "Attach another user's process (root may)" root "$want" Attach "ua{sv}" \
        "[$stranger_pid, $A]"

fi # pidfd

# ---- limits (daemon/bus/bus-limits.h) ---------------------------------------------------------------
big=$(python3 -c 'print("x" * 1000)')
call "Run with 4097 argv entries" "$allowed" "$E.LimitExceeded" Run "asasshhha{sv}" \
        "[['/bin/true'] + ['a'] * 4096, [], '/', 0, 1, 2, {}]" --stdio
call "Run with argv of 300 KiB" "$allowed" "$E.LimitExceeded" Run "asasshhha{sv}" \
        "[['/bin/true'] + ['$big'] * 300, [], '/', 0, 1, 2, {}]" --stdio
call "Run with 10k argv entries" "$stranger" "$E.LimitExceeded" Run "asasshhha{sv}" \
        "[['/bin/true'] + ['a'] * 10000, [], '/', 0, 1, 2, {}]" --stdio
call "Run with 10k env entries" "$allowed" "$E.LimitExceeded" Run "asasshhha{sv}" \
        "[['/bin/true'], ['A%d=1' % i for i in range(10000)], '/', 0, 1, 2, {}]" --stdio
call "Run with env of 300 KiB" "$member" "$E.LimitExceeded" Run "asasshhha{sv}" \
        "[['/bin/true'], ['A=$big'] * 300, '/', 0, 1, 2, {}]" --stdio
call "Run with a 5000-byte cwd" "$allowed" "$E.LimitExceeded" Run "asasshhha{sv}" \
        "[['/bin/true'], [], '/' * 5000, 0, 1, 2, {}]" --stdio
call "Run with 10k options (one key repeated)" "$allowed" "$E.LimitExceeded" Run \
        "asasshhha{sv}" "[['/bin/true'], [], '/', 0, 1, 2, [('name', ('s', 'x'))] * 10000]" --stdio
call "Attach with an unknown option" "$allowed" "$E.InvalidArgument" Attach "ua{sv}" \
        "[$allowed_pid, {'bogus': ('s', 'x')}]"
call "Attach with an option of the wrong type" "$allowed" "$E.InvalidArgument" Attach "ua{sv}" \
        "[$allowed_pid, {'limit': ('s', '1G')}]"
call "Run with an empty argv" "$allowed" "$E.InvalidArgument" Run "asasshhha{sv}" \
        "[[], [], '/', 0, 1, 2, {}]" --stdio
call "Run with a relative cwd" "$allowed" "$E.InvalidArgument" Run "asasshhha{sv}" \
        "[['/bin/true'], [], 'tmp', 0, 1, 2, {}]" --stdio

# Connections per uid (LIMIT_CONNECTIONS_PER_UID = 64): the 65th of a non-root uid is answered
# LimitExceeded, root is exempt, and every fd comes back once they are gone.
if [[ -x $helpers/bus-probe ]]; then
        fd_held=$(rel_fd_stable)
        holders=()
        for _ in $(seq 64); do
                setpriv --reuid nobody --regid nogroup --clear-groups -- "$helpers/bus-probe" \
                        "$addr" hold 30 >/dev/null 2>&1 &
                holders+=($!)
        done
        for _ in $(seq 100); do
                (($(rel_fd_count) >= fd_held + 64)) && break
                sleep 0.05
        done
        NOFD=1 call "65th connection of one uid" "$stranger" "$E.LimitExceeded" ListWorkloads "" "[]"
        NOFD=1 call "root beyond another uid's limit" root OK ListWorkloads "" "[]"
        kill "${holders[@]}" 2>/dev/null || true
        wait "${holders[@]}" 2>/dev/null || true
        after=$(rel_fd_settle "$fd_held")
        ((after <= fd_held)) || fail "[connection limit] fd count $fd_held -> $after"
fi

# ---- malformed messages -----------------------------------------------------------------------
call "Attach with signature s" "$stranger" "$D.InvalidArgs" Attach s "['1']"
call "Kill with signature ii" "$allowed" "$D.InvalidArgs" Kill ii "[1, 9]"
call "Run with no arguments" "$stranger" "$D.InvalidArgs" Run "" "[]"
call "Reload with an argument" root "$D.InvalidArgs" Reload u "[1]"
call "Unknown method" "$stranger" "$D.UnknownMethod" Frobnicate "" "[]"
check "Unknown object path" "$stranger" "$D.UnknownObject" /org/mlockd1/nope \
        org.mlockd1.Manager ListWorkloads "" "[]"
check "Workload object that does not exist" "$stranger" "$D.UnknownObject" \
        /org/mlockd1/workload/999999 org.freedesktop.DBus.Properties GetAll s \
        "['org.mlockd1.Workload']"
# Malformed bodies: sd-bus answers InconsistentMessage (or drops the connection). A malformed
# header is dropped without a reply (sd-bus ignores messages it cannot parse): no reply within
# 2 s, the connection stays, the daemon carries on.
B="$D.InconsistentMessage|CLOSED"
H="DROPPED|CLOSED"
call "Attach whose body is shorter than its signature" "$stranger" "$B" Attach "" "[]" \
        --raw-sig "ua{sv}"
call "Invalid UTF-8 in argv" "$allowed" "$B" Run "asasshhha{sv}" \
        "[[b'/bin/true\\xff\\xfe'], [], '/', 0, 1, 2, {}]" --stdio
call "Invalid UTF-8 in an option" "$allowed" "$B" Attach "ua{sv}" \
        "[$allowed_pid, {'name': ('s', b'\\xc3\\x28')}]"
call "Invalid UTF-8 in the member name" "$stranger" "$H" ListWorkloads "" "[]" \
        --raw-member 'List\xffWorkloads' --timeout 2
call "Invalid object path in the header" "$stranger" "$H" ListWorkloads "" "[]" \
        --raw-path 'org//mlockd1/' --timeout 2
call "Invalid object path in the body" "$allowed" "$B" Kill oi "['/org/mlockd1/../x/', 9]"
call "ListWorkloads with 250 fds attached" "$stranger" OK ListWorkloads "" "[]" --fds 250
call "Kill with 250 fds attached" "$allowed" "$E.AccessDenied|$E.NoSuchWorkload" Kill oi \
        "['$root_wl', 9]" --fds 250
call "Run with 250 extra fds (denied)" "$stranger" "$E.AccessDenied" Run "asasshhha{sv}" \
        "$(run_args /usr/bin/sleep 1)" --stdio --fds 250
call "Run whose fd index is out of range" "$allowed" "$B" Run "asasshhha{sv}" \
        "[['/bin/true'], [], '/', 0, 1, 7, {}]" --stdio

# ---- lock-step authentication -----------------------------------------------------------------
# A client that authenticates lock-step (waits for AGREE_UNIX_FD, then sends BEGIN and Hello
# back to back: libdbus' dbus-send --peer, gdbus, dbus-next) once hung in about 1 of 5
# connections: sd-bus 252 read "BEGIN\r\n" and the Hello in one recvmsg() and left the Hello
# unparsed (daemon/bus/bus-server.c on_connection_authenticated).
hung=0
for _ in $(seq 20); do
        timeout 3 dbus-send --peer="$addr" --print-reply --dest=org.mlockd1 \
                /org/mlockd1 org.mlockd1.Manager.ListWorkloads >/dev/null 2>&1 ||
                hung=$((hung + 1))
done
n_cases=$((n_cases + 1))
((hung == 0)) || fail "[lock-step auth] $hung of 20 dbus-send --peer calls hung"
echo "ok $n_cases lock-step auth (dbus-send --peer) x20"

# ---- afterwards: every workload can be stopped, and the fd count returns -------------------
for p in $(bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager ListWorkloads |
        grep -o '"/org/mlockd1/workload/[0-9]*"' | tr -d '"'); do
        [[ $(wprop "$p" State) =~ locked|locking|starting ]] || continue
        if [[ $(wprop "$p" Mechanism) == '"ptrace"' ]]; then
                bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Detach o "$p" \
                        >/dev/null 2>&1 || true
        else
                bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Kill oi "$p" 9 \
                        >/dev/null 2>&1 || true
        fi
done
rel_finish
echo "PASS: $n_cases cases"
