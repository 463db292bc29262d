#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped drop-in examples (conf/examples/memlock-*.conf, installed under
# /usr/share/doc/mlockd/examples/systemd) applied to real services under a real systemd
# (tests/e2e/systemd-env.sh), the way docs/systemd.md tells an admin to:
#   1. memlock-exec.conf, its ExecStart= line given the service's own command: after
#      `systemctl restart`, the service's main process runs locked (VmLck > 0, CAP_IPC_LOCK
#      from the unit, the shim's mlockall) and is listed under the unit's name, state locked;
#   2. memlock-attach.conf as it ships: after `systemctl restart`, ExecStartPost= hands the
#      main process to mlockd, which locks it (VmLck > 0) and lists it under the unit's name;
#   3. both services are still running (the lock did not fail their start).
# The examples were broken before (exec had no --name option, and no policy is called
# "realtime"): the services started, unlocked, and only the journal said why.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/systemd-env.sh
source "$here/systemd-env.sh"

sysenv_start_installed hog
wait_vmlck() { # PID KB TIMEOUT
        local i v
        for ((i = 0; i < $3 * 10; i++)); do
                v=$(vmlck "$1")
                [[ -n $v ]] && (($v >= $2)) && return 0
                sleep 0.1
        done
        return 1
}

mkdir -p "$SYSENV_TMP/add/usr/local/libexec/mlockd-e2e" "$SYSENV_TMP/add/etc/systemd/system"
install -m 0755 "$hog" "$SYSENV_TMP/add/usr/local/libexec/mlockd-e2e/"
# Two ordinary services: each maps and touches 24 MiB, then sleeps.
for s in e2e-exec e2e-attach; do
        cat >"$SYSENV_TMP/add/etc/systemd/system/$s.service" <<EOF
[Unit]
Description=mlockd e2e: a service to lock ($s)

[Service]
ExecStart=/usr/local/libexec/mlockd-e2e/spawn-hog 24 3600
EOF
done
sysenv_copy_in "$SYSENV_TMP/add" /
sysenv_exec systemctl enable --now mlockd.socket
examples=/usr/share/doc/mlockd/examples/systemd
sysenv_exec test -f "$examples/memlock-exec.conf" || fail "memlock-exec.conf is not installed"

echo "== 0. unlocked before the drop-ins"
sysenv_exec systemctl daemon-reload
sysenv_exec systemctl start e2e-exec.service e2e-attach.service
for s in e2e-exec e2e-attach; do
        pid=$(prop "$s.service" MainPID)
        sleep 0.5
        echo "$s: pid $pid, VmLck $(vmlck "$pid") kB"
        [[ $(vmlck "$pid") == 0 ]] || fail "$s is locked before its drop-in"
done

echo "== 1. memlock-exec.conf"
sysenv_exec mkdir -p /etc/systemd/system/e2e-exec.service.d
# As the example says: replace its ExecStart= command with the service's own.
sysenv_exec sh -c "sed 's|/usr/bin/myservice --foreground|/usr/local/libexec/mlockd-e2e/spawn-hog 24 3600|' \
        $examples/memlock-exec.conf >/etc/systemd/system/e2e-exec.service.d/memlock.conf"
sysenv_exec grep '^ExecStart=.' /etc/systemd/system/e2e-exec.service.d/memlock.conf

echo "== 2. memlock-attach.conf, as shipped"
sysenv_exec mkdir -p /etc/systemd/system/e2e-attach.service.d
sysenv_exec cp "$examples/memlock-attach.conf" /etc/systemd/system/e2e-attach.service.d/memlock.conf

sysenv_exec systemctl daemon-reload
sysenv_exec systemctl restart e2e-exec.service e2e-attach.service ||
        fail "systemctl restart failed"
for s in e2e-exec e2e-attach; do
        pid=$(prop "$s.service" MainPID)
        if wait_vmlck "$pid" $((24 * 1024)) 20; then
                echo "$s: pid $pid, VmLck $(vmlck "$pid") kB"
        else
                fail "$s (pid $pid) is not locked: VmLck $(vmlck "$pid") kB"
        fi
        wait_workload "$s" "locked $pid" 20 ||
                fail "$s is not listed as 'locked $pid': '$(workload_of "$s")'"
done

echo "== 3. both services still run"
for s in e2e-exec e2e-attach; do
        [[ $(prop "$s.service" ActiveState) == active ]] || fail "$s.service is not active"
done
sysenv_exec memlockctl list

if ((failures)); then
        echo "$failures failure(s)"
        sysenv_exec journalctl -q -b --no-pager -u mlockd.service -u e2e-exec.service \
                -u e2e-attach.service | tail -n 40
        exit 1
fi
echo OK
