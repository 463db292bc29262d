#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Faults on disk: Reload when the policy directory is deleted, replaced by a file, emptied, or
# holds a world-writable policy; a truncated, garbage or partly bad state file at start; a full
# state disk (a 64 KiB tmpfs).
#
# What an administrator expects, and what is asserted:
#  - policy directory gone or not a directory: Reload fails (InvalidPolicy) and the previous set
#    stays in force: a vanished directory is far more likely an accident (a package upgrade, a
#    mistyped rm) than a wish to deny everything;
#  - a policy file writable by others: refused, the previous set stays;
#  - the directory present but empty: that is an explicit choice, Reload succeeds with no policy;
#  - a corrupt state file: the daemon starts, logs what it lost and keeps the file aside; a bad
#    entry costs that entry only;
#  - a full state disk: changes still succeed, the failed save is logged clearly, and the next
#    change after space is back writes a complete state file.
set -euo pipefail
# shellcheck source=tests/integration/lib-reliability.sh
. "$(dirname "$0")/lib-reliability.sh"

rel_require
lib_init test-faults-state
E=org.mlockd1.Error
M=(/org/mlockd1 org.mlockd1.Manager)

policy() { # NAME USERS
        cat >"$tmp/policy.d/$1.policy" <<POLICY
[Match]
Executable=/usr/bin/* /bin/*

[Lock]
Mode=on
Limit=32M

[Access]
AllowUsers=$2
AllowRun=yes
AllowAttach=yes
POLICY
        chmod 0644 "$tmp/policy.d/$1.policy"
}
policy 10-a root
policy 20-b root
printf '[Daemon]\nBudget=1G\n' >"$tmp/mlockd.conf"
chmod 0644 "$tmp/mlockd.conf"
lib_start_daemon
rel_pidfd_works || lib_skip "the daemon cannot open pidfds here (valgrind 3.19 lacks pidfd_open)"
policies() { rel_prop Policies; }
want_policies=$(policies)
[[ $want_policies == *10-a*20-b* ]] || fail "setup: Policies is $want_policies"

reload_expect() { # NAME EXPECT(OK|error name) POLICIES(after)
        local before
        before=$(rel_fd_stable)
        raw root "${M[@]}" Reload "" "[]"
        [[ $2 == OK && $out == OK* || $out == "ERROR $2:"* ]] || fail "[$1] Reload: want $2, got: $out"
        [[ $(policies) == "$3" ]] || fail "[$1] Policies after Reload: $(policies), want $3"
        lib_ping || fail "[$1] the daemon stopped answering"
        (($(rel_fd_settle "$before") <= before)) || fail "[$1] fd count grew"
        echo "ok Reload, $1: ${out:0:90} | Policies $(policies)"
}

# ---- Reload -----------------------------------------------------------------------------------
policy 30-c root
chmod 0666 "$tmp/policy.d/30-c.policy"
reload_expect "a policy file of mode 0666" "$E.InvalidPolicy" "$want_policies"
rm "$tmp/policy.d/30-c.policy"

mv "$tmp/policy.d" "$tmp/policy.d.away"
# A vanished policy directory is a mistake more often than a wish to drop every policy: the
# reload fails and the old set stays (an empty directory is the deliberate way, below).
reload_expect "the policy directory deleted" "$E.InvalidPolicy" "$want_policies"
echo garbage >"$tmp/policy.d"
reload_expect "the policy directory replaced by a file" "$E.InvalidPolicy" "$want_policies"
rm "$tmp/policy.d"
mv "$tmp/policy.d.away" "$tmp/policy.d"
reload_expect "the policy directory restored" OK "$want_policies"

mkdir "$tmp/policy.d.empty"
mv "$tmp/policy.d" "$tmp/policy.d.away"
mv "$tmp/policy.d.empty" "$tmp/policy.d"
reload_expect "the policy directory empty (deliberate)" OK "0"
rmdir "$tmp/policy.d"
mv "$tmp/policy.d.away" "$tmp/policy.d"
reload_expect "the policies back" OK "$want_policies"

# ---- bad state file -----------------------------------------------------------------------------
run_sleep() { # prints the workload path
        raw root "${M[@]}" Run "asasshhha{sv}" "[['/usr/bin/sleep', '300'], [], '/', 0, 1, 2, \
{'detach': ('b', True)}]" --stdio
        [[ $out == OK* ]] || fail "Run sleep: $out"
        lib_pids+=("$(wprop "${out#OK }" Pid)")
        echo "${out#OK }"
}
live_pids() {
        bctl call org.mlockd1 /org/mlockd1 org.mlockd1.Manager ListWorkloads |
                python3 -c '
import re, sys
t = sys.stdin.read()
print(" ".join(sorted(m[1] for m in re.findall(r"\"(/org/mlockd1/workload/\d+)\" (\d+) \d+ \"[^\"]*\" \"[^\"]*\" \"(?:locked|locking|starting)\"", t))))'
}
w1=$(run_sleep)
w2=$(run_sleep)
p1=$(wprop "$w1" Pid)
p2=$(wprop "$w2" Pid)
restart() {
        kill -9 "$dpid"
        wait "$dpid" 2>/dev/null || true
        dpid=
        "$@"
        : >"$tmp/log"
        lib_start_daemon
}

# One malformed entry: that workload is dropped (and said so), the other is kept.
restart python3 - "$tmp/state/state" "$p1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for w in s["workloads"]:
    if w["pid"] == int(sys.argv[2]):
        w["pid"] = "not a pid"
json.dump(s, open(sys.argv[1], "w"))
PY
[[ $(live_pids) == "$p2" ]] || fail "[one bad entry] live workloads: '$(live_pids)', want $p2"
grep -qi 'malformed' "$tmp/log" || fail "[one bad entry] the log does not say what was dropped"
echo "ok state file with one bad entry: the other workload kept; log: $(grep -i malformed "$tmp/log" | head -1 | cut -c1-100)"

# Truncated: the daemon starts, says it lost the table, keeps the file as state.corrupt.
restart python3 -c 'import sys; p = sys.argv[1]; d = open(p).read(); open(p, "w").write(d[: len(d) // 2])' \
        "$tmp/state/state"
lib_ping || fail "[truncated state] the daemon does not answer"
grep -qi 'corrupt' "$tmp/log" || fail "[truncated state] the log does not say what was lost"
[[ -f $tmp/state/state.corrupt ]] || fail "[truncated state] the corrupt file was not kept"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/state/state" ||
        fail "[truncated state] no valid state file written after start"
echo "ok truncated state file: daemon serving, live '$(live_pids)'; log: $(grep -i corrupt "$tmp/log" | head -1 | cut -c1-110)"

# Garbage.
restart sh -c "head -c 3000 /dev/urandom >'$tmp/state/state'"
lib_ping || fail "[garbage state] the daemon does not answer"
grep -qi 'corrupt' "$tmp/log" || fail "[garbage state] the log does not say what was lost"
echo "ok garbage state file: daemon serving"
# Workloads still running whatever happened to the table.
kill -0 "$p1" "$p2" || fail "a workload died with the state file"

# ---- full state disk --------------------------------------------------------------------------
full=$tmp/fullstate
mkdir -p "$full"
if ! mount -t tmpfs -o size=64k,mode=0700 mlockd-test "$full" 2>/dev/null; then
        echo "SKIP (part): cannot mount a tmpfs here; full-disk case not run"
        echo PASS
        exit 0
fi
lib_cleanup_hooks+=("umount -l '$full'")
kill -9 "$dpid"
wait "$dpid" 2>/dev/null || true
dpid=
state_dir=$full
: >"$tmp/log"
lib_start_daemon
dd if=/dev/zero of="$full/fill" bs=4k 2>/dev/null || true
[[ $(df --output=avail "$full" | tail -1) -eq 0 ]] || fail "setup: tmpfs not full"
w3=$(run_sleep)
[[ $(wprop "$w3" State) =~ locked|locking|starting ]] || fail "[full disk] Run did not start"
lib_ping || fail "[full disk] the daemon does not answer"
grep -q 'Failed to save state.*No space left' "$tmp/log" ||
        fail "[full disk] no clear error in the log: $(tail -3 "$tmp/log")"
echo "ok full state disk: Run works, log: $(grep 'Failed to save state' "$tmp/log" | head -1 | cut -c1-110)"
rm -f "$full/fill"
w4=$(run_sleep)
p3=$(wprop "$w3" Pid)
p4=$(wprop "$w4" Pid)
python3 - "$full/state" "$p3" "$p4" <<'PY' || fail "[space back] state file incomplete"
import json, sys
s = json.load(open(sys.argv[1]))
pids = {w["pid"] for w in s["workloads"]}
assert {int(sys.argv[2]), int(sys.argv[3])} <= pids, pids
PY
echo "ok space back: the next change wrote a complete state file"
rel_finish
echo PASS
