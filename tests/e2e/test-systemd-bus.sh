#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SystemBus=yes on a real system bus: the container's dbus-daemon under a real systemd
# (tests/e2e/systemd-env.sh), the installed bus policy org.mlockd1.conf, and clients running as
# an unprivileged user (mlockd-user, uid 1000 in the container):
#   1. with SystemBus=yes in /etc/mlockd/mlockd.conf, mlockd.service owns org.mlockd1 (the name's
#      owner is the service's main pid);
#   2. `busctl --system` as the user reads the Version property and calls ListWorkloads;
#   3. a python3-dbus client as the user: the user may not own org.mlockd1 (the bus policy
#      refuses), may not attach to PID 1 (AccessDenied), may not use 60-realtime while not in
#      the audio group (AccessDenied naming the policy), and once in it attaches its own
#      `sleep` over the system bus: locked (VmLck > 0) and listed with the user's uid;
#   4. the private socket still serves the same table (memlockctl list as root shows it).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/systemd-env.sh
source "$here/systemd-env.sh"

sysenv_start_installed
USER_NAME=mlockd-user

mkdir -p "$SYSENV_TMP/add/usr/local/libexec/mlockd-e2e"
cat >"$SYSENV_TMP/add/usr/local/libexec/mlockd-e2e/bus-client.py" <<'PY'
# A system bus client of org.mlockd1, run as an unprivileged user. MODE "denied": the user is
# not in the policy's group; MODE "admitted": it is. Prints what it sees; exits 1 on a mismatch.
import os, subprocess, sys, time
import dbus

mode = sys.argv[1]
bus = dbus.SystemBus()
obj = bus.get_object("org.mlockd1", "/org/mlockd1")
mgr = dbus.Interface(obj, "org.mlockd1.Manager")
props = dbus.Interface(obj, "org.freedesktop.DBus.Properties")
bad = 0

def check(ok, what):
    global bad
    print(("ok: " if ok else "FAIL: ") + what)
    bad += not ok

def error_of(call):
    try:
        call()
        return None
    except dbus.DBusException as e:
        return e.get_dbus_name(), e.get_dbus_message()

print("uid", os.getuid(), "groups", os.getgroups(), "Version",
      props.Get("org.mlockd1.Manager", "Version"))
e = error_of(lambda: bus.request_name("org.mlockd1"))
check(e is not None and e[0] == "org.freedesktop.DBus.Error.AccessDenied",
      f"owning org.mlockd1 is refused: {e}")
e = error_of(lambda: mgr.Attach(dbus.UInt32(1), {"policy": "60-realtime"}))
check(e is not None and e[0] == "org.mlockd1.Error.AccessDenied", f"attach to PID 1: {e}")

# Its own stdio: it outlives this client, and must not hold the caller's pipe open.
sleeper = subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# 4 MiB fits in the 8 MiB RLIMIT_MEMLOCK the user already has: mlockd cannot raise another
# user's limit without CAP_SYS_RESOURCE, which the container does not grant.
opts = {"policy": "60-realtime", "name": "bus-user", "limit": dbus.UInt64(4 << 20)}
try:
    if mode == "denied":
        e = error_of(lambda: mgr.Attach(dbus.UInt32(sleeper.pid), opts))
        check(e is not None and e[0] == "org.mlockd1.Error.AccessDenied"
              and "60-realtime" in e[1], f"attach while not in the audio group: {e}")
        sys.exit(bad != 0)
    path = mgr.Attach(dbus.UInt32(sleeper.pid), opts)
    print("Attach ->", path)
    lck = 0
    for _ in range(100):
        with open(f"/proc/{sleeper.pid}/status") as f:
            lck = int(next(l for l in f if l.startswith("VmLck:")).split()[1])
        if lck > 0:
            break
        time.sleep(0.1)
    check(lck > 0, f"the user's sleep (pid {sleeper.pid}) is locked: VmLck {lck} kB")
    rows = [tuple(r) for r in mgr.ListWorkloads()]
    mine = [r for r in rows if r[4] == "bus-user"]
    check(len(mine) == 1 and int(mine[0][2]) == sleeper.pid and int(mine[0][3]) == os.getuid(),
          f"ListWorkloads shows it with the user's uid: {mine}")
    check(str(mgr.GetWorkloadByPid(dbus.UInt32(sleeper.pid))) == str(path),
          "GetWorkloadByPid finds it")
    # Left running for the shell side (step 4); the test's container stop ends it.
    print("pid", sleeper.pid)
    sys.exit(bad != 0)
finally:
    if mode == "denied":
        sleeper.kill()
PY
sysenv_copy_in "$SYSENV_TMP/add" /

echo "== 1. SystemBus=yes: mlockd.service owns org.mlockd1"
sysenv_exec sed -i 's/^#SystemBus=no/SystemBus=yes/' /etc/mlockd/mlockd.conf
sysenv_exec grep -q '^SystemBus=yes' /etc/mlockd/mlockd.conf || fail "could not set SystemBus=yes"
# The bus policy was installed after dbus-daemon started.
sysenv_exec busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus ReloadConfig
sysenv_exec systemctl enable --now mlockd.socket mlockd.service
main=$(prop mlockd.service MainPID)
owner=
for ((i = 0; i < 100; i++)); do
        owner=$(sysenv_exec busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus GetConnectionUnixProcessID s org.mlockd1 2>/dev/null) && break
        sleep 0.1
done
echo "org.mlockd1 owner: $owner; mlockd.service main pid $main"
[[ $owner == "u $main" ]] || fail "org.mlockd1 is not owned by mlockd.service ($owner)"

echo "== 2. busctl --system as $USER_NAME"
out=$(sysenv_exec_as "$USER_NAME" busctl --system get-property org.mlockd1 /org/mlockd1 \
        org.mlockd1.Manager Version) || fail "get-property Version as $USER_NAME failed"
echo "Version: $out"
[[ $out == 's "'* ]] || fail "Version: '$out'"
out=$(sysenv_exec_as "$USER_NAME" busctl --system call org.mlockd1 /org/mlockd1 \
        org.mlockd1.Manager ListWorkloads) || fail "ListWorkloads as $USER_NAME failed"
echo "ListWorkloads: $out"
[[ $out == 'a(souusssstt) 0' ]] || fail "ListWorkloads: '$out'"

echo "== 3. python3-dbus as $USER_NAME"
sysenv_exec_as "$USER_NAME" python3 /usr/local/libexec/mlockd-e2e/bus-client.py denied ||
        fail "the client (not in the audio group) saw something wrong"
sysenv_exec usermod -aG audio "$USER_NAME"
out=$(sysenv_exec_as "$USER_NAME" python3 /usr/local/libexec/mlockd-e2e/bus-client.py admitted \
        </dev/null) || fail "the client (in the audio group) saw something wrong"
echo "$out"
spid=$(sed -n 's/^pid //p' <<<"$out")

echo "== 4. the private socket serves the same table"
list=$(sysenv_exec memlockctl list --no-legend)
echo "$list"
[[ -n $spid ]] && grep -Eq "bus-user +$spid +$USER_NAME .* locked" <<<"$list" ||
        fail "memlockctl list does not show bus-user (pid $spid) locked"

if ((failures)); then
        echo "$failures failure(s)"
        sysenv_exec journalctl -q -b --no-pager -u mlockd.service -u dbus.service | tail -n 40
        exit 1
fi
echo OK
