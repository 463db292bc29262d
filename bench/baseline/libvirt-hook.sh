#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libvirt qemu hook: hands every guest libvirt starts to mlockd, which locks its memory if a
# policy matches (LibvirtDomain=, Executable=, User=). See docs/libvirt.md.
#
# libvirt runs it as: mlockd DOMAIN PHASE SUBPHASE EXTRA, with the domain XML on stdin,
# while it holds the domain's lock. So this hook:
#   - never calls libvirt (virsh would deadlock on that lock);
#   - returns at once: mlockd registers the workload and injects mlockall() asynchronously,
#     so a 20 s lock of a large guest does not delay its start;
#   - never fails the guest's start, unless the matching policy says OnFailure=abort: only then
#     it waits for the lock's result and fails the start if the lock fails;
#   - on reconnect (libvirtd restarted and found the guest running) hands over a guest mlockd
#     does not have yet, and never fails;
#   - on stopped/release drops the workload it registered, if mlockd still lists it.
#
# Environment (libvirtd clears its hooks' environment, so these are for manual runs and tests):
#   (each is also read under its old MEMLOCKD_ prefix, for one release after the rename)
#   MLOCKD_SOCKET          the daemon's socket (default: Socket= in mlockd.conf, else
#                            @MLOCKD_SOCKET_PATH@)
#   MLOCKD_CONF            mlockd.conf (default @MLOCKD_CONFIG_FILE@)
#   MLOCKD_HOOK_TIMEOUT    seconds to wait for a required lock (default 300)
#   MLOCKD_LIBVIRT_RUNDIR  where libvirt keeps DOMAIN.pid (default /run/libvirt/qemu)
#   MLOCKD_BUSCTL          the busctl binary (default busctl)

set -u

domain=${1-}
phase=${2-}
subphase=${3-}

# libvirt writes the domain XML to our stdin and expects it read; keep it for the sizes.
xml=$(cat)

conf=${MLOCKD_CONF:-${MEMLOCKD_CONF:-@MLOCKD_CONFIG_FILE@}}
socket=${MLOCKD_SOCKET:-${MEMLOCKD_SOCKET:-}}
if [ -z "$socket" ] && [ -r "$conf" ]; then
        # Socket= of the [Daemon] section, if set.
        socket=$(sed -n '/^\[Daemon\]/,/^\[/s/^[[:space:]]*Socket[[:space:]]*=[[:space:]]*\(.*[^[:space:]]\)[[:space:]]*$/\1/p' "$conf" | tail -n 1)
fi
socket=${socket:-@MLOCKD_SOCKET_PATH@}
timeout=${MLOCKD_HOOK_TIMEOUT:-${MEMLOCKD_HOOK_TIMEOUT:-300}}
rundir=${MLOCKD_LIBVIRT_RUNDIR:-${MEMLOCKD_LIBVIRT_RUNDIR:-/run/libvirt/qemu}}
busctl=${MLOCKD_BUSCTL:-${MEMLOCKD_BUSCTL:-busctl}}
# Where the hook remembers which workload belongs to which domain (for stopped/release).
statedir=${socket%/*}/libvirt-hook

log() {
        # stderr ends up in libvirtd's log (and in its error message if we fail the start).
        echo "mlockd hook: $domain: $*" >&2
        if command -v logger >/dev/null 2>&1; then
                logger -t mlockd-hook -- "$domain: $*" 2>/dev/null || :
        fi
}

call() {
        # Every call has a short timeout: a hung daemon must not hold up libvirt.
        "$busctl" --address="unix:path=$socket" --timeout=5 call \
                org.mlockd1 /org/mlockd1 org.mlockd1.Manager "$@"
}

# prop PATH NAME: a property of a workload, as busctl prints it (s "locked").
prop() {
        "$busctl" --address="unix:path=$socket" --timeout=5 get-property \
                org.mlockd1 "$1" org.mlockd1.Workload "$2"
}

# bytes VALUE UNIT: a libvirt scaled integer in bytes (libvirt's units: b/bytes, k/KiB, KB,
# M/MiB, MB, G/GiB, GB, T/TiB, TB; KiB when no unit). Prints nothing on garbage.
bytes() {
        case $1 in '' | *[!0-9]*) return 0 ;; esac
        case ${2:-KiB} in
        b | bytes) m=1 ;;
        KB) m=1000 ;;
        k | K | KiB) m=1024 ;;
        MB) m=1000000 ;;
        M | MiB) m=1048576 ;;
        GB) m=1000000000 ;;
        G | GiB) m=1073741824 ;;
        TB) m=1000000000000 ;;
        T | TiB) m=1099511627776 ;;
        *) return 0 ;;
        esac
        echo $(($1 * m))
}

# Sets memory and hard_limit (bytes, or empty) from the first <memory> and <hard_limit>
# elements of the XML: <memory unit='KiB'>262144</memory>. One sed, no other process.
xml_sizes() {
        memory=
        hard_limit=
        sizes=$(printf '%s\n' "$xml" | sed -n \
                -e "s|.*<\(memory\)\( unit=['\"]\([A-Za-z]*\)['\"]\)\{0,1\}>\([0-9][0-9]*\)</memory>.*|\1 \4 \3|p" \
                -e "s|.*<\(hard_limit\)\( unit=['\"]\([A-Za-z]*\)['\"]\)\{0,1\}>\([0-9][0-9]*\)</hard_limit>.*|\1 \4 \3|p")
        while read -r key v u; do
                case $key in
                memory) [ -n "$memory" ] || memory=$(bytes "$v" "$u") ;;
                hard_limit) [ -n "$hard_limit" ] || hard_limit=$(bytes "$v" "$u") ;;
                esac
        done <<EOF
$sizes
EOF
}

# attach MODE: MODE "start" (started begin) or "reconnect" (libvirtd restarted and found the
# guest running: hand it over if mlockd does not have it yet; never fail a running guest).
attach() {
        mode=$1
        case $domain in
        '' | */*)
                log "refusing odd domain name"
                return 0
                ;;
        esac

        pidfile=$rundir/$domain.pid
        pid=$(cat "$pidfile" 2>/dev/null) || pid=
        case $pid in
        '' | *[!0-9]*)
                log "no qemu pid in $pidfile, not locking"
                return 0
                ;;
        esac
        if [ ! -S "$socket" ]; then
                log "mlockd is not running ($socket), not locking"
                return 0
        fi

        if [ "$mode" = reconnect ] && call GetWorkloadByPid u "$pid" >/dev/null 2>&1; then
                return 0 # already a workload (the usual case)
        fi
        xml_sizes

        # name and libvirt_domain: the workload is listed under the domain's name and policies
        # match it with LibvirtDomain=. memory and hard_limit size the limit: libvirt's
        # <memtune><hard_limit> wins, otherwise guest memory plus the daemon's overhead; the
        # policy's Limit= caps it (mlockd.policy(5)).
        set -- name s "$domain" libvirt_domain s "$domain"
        n=2
        if [ -n "$memory" ]; then
                set -- "$@" memory t "$memory"
                n=$((n + 1))
        fi
        if [ -n "$hard_limit" ]; then
                set -- "$@" hard_limit t "$hard_limit"
                n=$((n + 1))
        fi
        if ! out=$(call Attach 'ua{sv}' "$pid" "$n" "$@" 2>&1); then
                # Not taken (no matching policy, budget, ...): the guest runs unlocked, unless
                # the policy that would apply requires the lock.
                log "mlockd did not take the guest (pid $pid): $out"
                [ "$mode" = start ] || return 0
                if call Explain u "$pid" 2>/dev/null | grep -q '"on_failure" s "abort"'; then
                        log "the policy requires the lock (OnFailure=abort): failing the start"
                        return 1
                fi
                return 0
        fi
        # out is: o "/org/mlockd1/workload/ID"
        path=$(printf '%s\n' "$out" | sed -n 's|^o "\(/org/mlockd1/workload/[0-9A-Za-z_]*\)"$|\1|p')
        if [ -z "$path" ]; then
                log "unexpected answer from mlockd: $out"
                return 0
        fi
        if mkdir -p "$statedir" 2>/dev/null; then
                printf '%s\n' "$path" >"$statedir/$domain" 2>/dev/null || :
        fi
        log "handed qemu pid $pid to mlockd as $path"

        # Is the lock required? The workload's OnFailure property says so. A daemon without it
        # is asked what policy decides for this pid (Explain); Explain knows no domain name, so
        # its answer counts only if it names the policy that admitted the workload.
        # One call reads them all (busctl prints a{sv} as: ... "Policy" s "NAME" ...).
        required=0
        props=$("$busctl" --address="unix:path=$socket" --timeout=5 call org.mlockd1 "$path" \
                org.freedesktop.DBus.Properties GetAll s org.mlockd1.Workload 2>/dev/null) ||
                props=
        onf=$(printf '%s\n' "$props" | grep -o '"OnFailure" s "[a-z]*"')
        if [ -z "$onf" ]; then
                wpol=$(printf '%s\n' "$props" | sed -n 's/.*"Policy" s "\([^"]*\)".*/\1/p')
                exp=$(call Explain u "$pid" 2>/dev/null) || exp=
                case $exp in
                *"\"allow\" \"$wpol\" "*)
                        onf=$(printf '%s\n' "$exp" | grep -o '"on_failure" s "[a-z]*"')
                        ;;
                esac
        fi
        case $onf in *'"abort"'*) [ "$mode" = start ] && required=1 ;; esac
        [ "$required" = 1 ] || return 0

        # OnFailure=abort: the guest must not run unlocked. Wait for the result.
        deadline=$(($(date +%s) + timeout))
        while :; do
                state=$(prop "$path" State 2>/dev/null)
                case $state in
                *'"locked"'*) return 0 ;;
                *'"failed"'* | *'"exited"'* | '')
                        err=$(prop "$path" Error 2>/dev/null)
                        log "required lock failed: ${err:-workload gone}"
                        return 1
                        ;;
                esac
                if [ "$(date +%s)" -ge "$deadline" ]; then
                        log "required lock not done after ${timeout}s"
                        return 1
                fi
                sleep 0.1
        done
}

drop() {
        # The daemon notices the end of qemu itself and forgets the workload; if it still lists
        # the one we handed over, drop it. Errors (already gone) do not matter.
        case $domain in '' | */*) return 0 ;; esac
        f=$statedir/$domain
        [ -f "$f" ] || return 0
        path=$(cat "$f" 2>/dev/null) || path=
        rm -f "$f"
        case $path in /org/mlockd1/workload/*) ;; *) return 0 ;; esac
        [ -S "$socket" ] || return 0
        call Detach o "$path" >/dev/null 2>&1 || :
        return 0
}

case "$phase $subphase" in
"started begin") attach start ;;
"reconnect begin" | "attach begin") attach reconnect ;;
"stopped end" | "release end") drop ;;
*) exit 0 ;;
esac
