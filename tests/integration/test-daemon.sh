#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mlockd on a private socket, driven with busctl and tests/helpers/bus-probe: introspection,
# properties (Get and GetAll), ListWorkloads, Explain, GetManagedObjects, Reload (a broken
# policy keeps the old set), AccessDenied for uid 65534 while the daemon keeps serving,
# --check-config, refusal to run unprivileged, clean SIGTERM.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
probe=$helpers/bus-probe
lib_require "$probe"
lib_init test-daemon
fail() { lib_die "$@"; }
expect_match() {
        [[ $1 =~ $2 ]] || fail "$3: '$1' does not match '$2'"
}

cat >"$tmp/policy.d/10-test.policy" <<'POLICY'
[Match]
Executable=/usr/bin/* /bin/*

[Lock]
Mode=on
Limit=64M

[Access]
AllowUsers=root
AllowRun=yes
AllowAttach=yes
POLICY
chmod 0644 "$tmp/policy.d/10-test.policy"

mapfile -t args < <(lib_daemon_args)
bctl() { busctl --address="$addr" "$@"; }

# ---- --check-config ------------------------------------------------------------------------
out=$("$daemon" "${args[@]}" --check-config) || fail "--check-config of a valid set exited $?"
expect_match "$out" "10-test: " "check-config summary line"

# ---- unprivileged: refused with a clear message ---------------------------------------------
if out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$daemon" "${args[@]}" 2>&1); then
        fail "mlockd started as uid 65534"
fi
expect_match "$out" "must run as root" "unprivileged refusal"

# ---- start ---------------------------------------------------------------------------------
lib_start_daemon
mode=$(stat -c %a "$tmp/io.socket")
[[ $mode == 666 ]] || fail "socket mode $mode, expected 666"

# ---- the daemon locked itself and dropped what it does not need ---------------------------------
caps=$((0x$(awk '/^CapEff:/ {print $2}' "/proc/$dpid/status")))
((caps >> 14 & 1)) || fail "CAP_IPC_LOCK dropped"
((caps >> 1 & 1)) && fail "CAP_DAC_OVERRIDE kept"
((caps >> 21 & 1)) && fail "CAP_SYS_ADMIN kept"
((caps >> 12 & 1)) && fail "CAP_NET_ADMIN kept"
lck=$(awk '/^VmLck:/ {print $2}' "/proc/$dpid/status")
# AddressSanitizer intercepts mlockall() and makes it a no-op: only check uninstrumented builds.
if ! grep -q __asan_init "$daemon"; then
        ((lck > 0)) || fail "the daemon's own VmLck is $lck kB"
fi

# ---- introspection and properties ------------------------------------------------------------
out=$(bctl introspect org.mlockd1 /org/mlockd1)
for m in .Run .Exec .Attach .AttachPidfd .Detach .Kill .ListWorkloads .GetWorkloadByPid .Explain \
        .Reload .WorkloadNew .WorkloadLocked .WorkloadFailed .WorkloadExited .WorkloadRemoved \
        .BudgetBytes .ReservedBytes .LockedBytes .SystemMlockedBytes .Workloads .Policies \
        .GetManagedObjects; do
        [[ $out == *"$m "* ]] || fail "introspection lacks $m"
done
out=$(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager BudgetBytes)
[[ $out == "t 1073741824" ]] || fail "BudgetBytes: $out"
out=$(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager Policies)
[[ $out == 'as 1 "10-test"' ]] || fail "Policies: $out"
out=$(bctl call org.mlockd1 /org/mlockd1 org.freedesktop.DBus.Properties GetAll s \
        org.mlockd1.Manager)
for p in Version BudgetBytes ReservedBytes LockedBytes SystemMlockedBytes Workloads Policies; do
        [[ $out == *"\"$p\""* ]] || fail "GetAll lacks $p: $out"
done
mlocked=$(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager \
        SystemMlockedBytes | cut -d' ' -f2)
kb=$(awk '/^Mlocked:/ {print $2}' /proc/meminfo)
# The daemon locks itself, so Mlocked is above zero; same order of magnitude as /proc/meminfo.
((mlocked > 0 && mlocked / 1024 <= kb * 2 + 1024)) || fail "SystemMlockedBytes $mlocked vs ${kb}k"

out=$(bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager ListWorkloads)
[[ $out == "a(souusssstt) 0" ]] || fail "ListWorkloads on an empty table: $out"
out=$(bctl call org.mlockd1 /org/mlockd1 org.freedesktop.DBus.ObjectManager GetManagedObjects)
[[ $out == "a{oa{sa{sv}}} 0" ]] || fail "GetManagedObjects: $out"

# ---- Explain --------------------------------------------------------------------------------
sleep 30 &
target=$!
out=$("$probe" "$addr" explain "$target") || fail "Explain: $out"
expect_match "$out" "^OK allow 10-test " "Explain of sleep"
out=$("$probe" "$addr" explain 999999999) && fail "Explain of no process succeeded"
expect_match "$out" "NoSuchProcess" "Explain of no process"
out=$("$probe" "$addr" attach 999999999) && fail "Attach of no process succeeded"
expect_match "$out" "NoSuchProcess" "Attach of no process"

# ---- uid 65534: denied, and the daemon keeps serving ----------------------------------------
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
out=$("${nobody[@]}" "$probe" "$addr" attach "$target") && fail "uid 65534 attached to root's pid"
expect_match "$out" "org.mlockd1.Error.AccessDenied" "uid 65534 Attach"
out=$("${nobody[@]}" "$probe" "$addr" attach 1) && fail "uid 65534 attached to PID 1"
expect_match "$out" "AccessDenied" "Attach PID 1"
out=$("${nobody[@]}" "$probe" "$addr" reload) && fail "uid 65534 reloaded"
expect_match "$out" "AccessDenied: Only root" "uid 65534 Reload"
sleep 30 &
mine=$!
out=$("${nobody[@]}" "$probe" "$addr" explain "$mine") && fail "uid 65534 explained root's pid"
expect_match "$out" "AccessDenied" "uid 65534 Explain of a root process"
out=$("${nobody[@]}" busctl --address="$addr" get-property org.mlockd1 /org/mlockd1 \
        org.mlockd1.Manager Version) || fail "uid 65534 cannot read Version"
[[ $out == "s \"0.1.0\"" || $out == s\ \"* ]] || fail "Version: $out"
kill "$target" "$mine" 2>/dev/null || true

# ---- Reload: valid, then broken (the old set stays), SIGHUP with a broken set ------------------
out=$("$probe" "$addr" reload) || fail "Reload of a valid set: $out"
cat >"$tmp/policy.d/20-broken.policy" <<'POLICY'
[Lock]
Limt=5G
Mode=sideways
POLICY
chmod 0644 "$tmp/policy.d/20-broken.policy"
out=$("$probe" "$addr" reload) && fail "Reload of a broken set succeeded"
expect_match "$out" "InvalidPolicy" "broken Reload error name"
expect_match "$out" "Limt" "broken Reload names the key"
expect_match "$out" "sideways" "broken Reload lists every error"
out=$(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager Policies)
[[ $out == 'as 1 "10-test"' ]] || fail "Policies after a broken reload: $out"
if "$daemon" "${args[@]}" --check-config >/dev/null 2>"$tmp/check.err"; then
        fail "--check-config accepted a broken set"
fi
expect_match "$(cat "$tmp/check.err")" "Limt" "--check-config error"
kill -HUP "$dpid"
sleep 0.2
kill -0 "$dpid" || fail "daemon died on SIGHUP with a broken policy"
out=$(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager Policies)
[[ $out == 'as 1 "10-test"' ]] || fail "Policies after SIGHUP with a broken set: $out"
rm "$tmp/policy.d/20-broken.policy"
cp "$tmp/policy.d/10-test.policy" "$tmp/policy.d/30-second.policy"
kill -HUP "$dpid"
for _ in $(seq 50); do
        out=$(bctl get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager Policies)
        [[ $out == 'as 2 "10-test" "30-second"' ]] && break
        sleep 0.05
done
[[ $out == 'as 2 "10-test" "30-second"' ]] || fail "Policies after SIGHUP: $out"

# ---- SIGTERM: clean exit, socket removed, state file kept -------------------------------------
lib_stop_daemon || fail "daemon exited $? on SIGTERM"
[[ ! -e $tmp/io.socket ]] || fail "socket left behind"
grep -q "shutting down" "$tmp/log" || fail "no shutdown line in the log"
# ---- socket activation: the listening socket comes from sd_listen_fds ----------------------------
if command -v systemd-socket-activate >/dev/null; then
        lib_start_activated "$tmp/act.socket"
        out=$(busctl --address="unix:path=$tmp/act.socket" get-property org.mlockd1 \
                /org/mlockd1 org.mlockd1.Manager Policies) || fail "socket activation"
        [[ $out == 'as 2 "10-test" "30-second"' ]] || fail "Policies when activated: $out"
        grep -q "socket-activated" "$tmp/log" || fail "the daemon did not use the passed socket"
        lib_stop_daemon || fail "activated daemon exited $? on SIGTERM"
fi
echo "OK: test-daemon"
