#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# memlockctl against a real mlockd on a private socket, with real workloads: status and list
# (volatile fields masked, the rest compared exactly), JSON against the D-Bus properties read
# with busctl, metrics through a strict exposition-format checker, explain, check with a daemon,
# run/exec/attach/detach/kill, and every exit code.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_require "$ctl"
command -v setpriv >/dev/null || lib_skip "setpriv missing"
# uid 65534 runs memlockctl from the scratch directory (lib_init makes it 0755).
lib_init memlockctl-test
failures=0
export NO_COLOR=1 MLOCKD_SOCKET=$sock
unset LD_PRELOAD
bus=(busctl --address="unix:path=$sock" --json=short)

fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
expect_rc() { # RC CMD...: stdout in $tmp/out, stderr in $tmp/err
        local want=$1 rc=0
        shift
        "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
        if [[ $rc != "$want" ]]; then
                fail "'$*' exited $rc, expected $want"
                sed 's/^/  stdout: /' "$tmp/out" >&2
                sed 's/^/  stderr: /' "$tmp/err" >&2
        fi
        return 0 # failures are counted, the script goes on
}
expect_grep() { # FILE PATTERN
        grep -qE -- "$2" "$1" || {
                fail "'$2' not found in $(basename "$1"):"
                sed 's/^/  | /' "$1" >&2
        }
}
expect_same() { # NAME EXPECTED-FILE ACTUAL-FILE
        diff -u "$2" "$3" >"$tmp/diff" || {
                fail "$1 differs:"
                cat "$tmp/diff" >&2
        }
}
as_nobody() {
        (cd / && setpriv --reuid 65534 --regid 65534 --clear-groups "$@")
}
json_field() { # FILE FIELD
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
wait_state() { # ID STATE: waits up to 5 s
        local i s
        for ((i = 0; i < 50; i++)); do
                s=$("$ctl" status "$1" --json=short 2>/dev/null |
                        python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' || true)
                [[ $s == "$2" ]] && return 0
                sleep 0.1
        done
        fail "workload $1 did not reach state $2 (last: ${s:-none})"
        return 1
}
vmlck_kb() {
        awk '/^VmLck:/ { print $2 }' "/proc/$1/status"
}

# ---- the daemon ----------------------------------------------------------------------------
lib_config '[Daemon]\nBudget=2G\n'
cat >"$tmp/policy.d/10-sleep.policy" <<'EOF'
[Match]
Executable=/usr/bin/sleep /bin/sleep /usr/bin/cat /bin/cat
[Lock]
Mode=on
Limit=64M
[Access]
AllowUsers=root
AllowRun=yes
AllowAttach=yes
EOF
cat >"$tmp/policy.d/20-shell.policy" <<'EOF'
[Match]
Executable=/usr/bin/sh /bin/sh /usr/bin/dash /bin/dash /usr/bin/bash /bin/bash /usr/bin/true /bin/true
[Lock]
Mode=on-fault
Limit=32M
[Access]
AllowUsers=root nobody
AllowRun=yes
AllowAttach=no
EOF
cat >"$tmp/policy.d/30-big.policy" <<'EOF'
[Match]
Executable=/usr/bin/tail /bin/tail
[Lock]
Mode=on-fault
Limit=4G
[Access]
AllowUsers=root
AllowRun=yes
AllowAttach=yes
EOF
chmod 0644 "$tmp/policy.d"/*.policy
lib_start_daemon
daemon_pid=$dpid
version=$("$ctl" --version | awk '{ print $2 }')

echo "== status of the daemon (no workloads)"
expect_rc 0 "$ctl" status
sed -E 's/^( +Mlocked: ).*/\1MASKED/' "$tmp/out" >"$tmp/actual"
cat >"$tmp/expected" <<EOF
● mlockd $version
      Socket: $sock
      Budget: 2.0G
    Reserved: 0B (0% of budget)
      Locked: 0B
     Mlocked: MASKED
   Workloads: 0
    Policies: 3
EOF
expect_same "status (daemon)" "$tmp/expected" "$tmp/actual"
expect_rc 0 "$ctl" list
echo "0 workloads, 0B locked, 0B reserved of 2.0G budget (0%)." >"$tmp/expected"
expect_same "list (empty)" "$tmp/expected" "$tmp/out"
expect_rc 0 "$ctl" list --json=short
[[ $(cat "$tmp/out") == "[]" ]] || fail "list --json of nothing is not []: $(cat "$tmp/out")"

echo "== detached workloads, status and list"
"$ctl" run --detach --name alpha -- sleep 300 >"$tmp/id1"
"$ctl" run --detach --name 'we"ird\name' --mode on-fault --limit 16M -- sleep 300 >"$tmp/id2"
id1=$(cat "$tmp/id1")
id2=$(cat "$tmp/id2")
[[ $id1 =~ ^[0-9]+$ && $id2 =~ ^[0-9]+$ ]] || fail "run --detach printed '$id1' '$id2'"
wait_state "$id1" locked
wait_state "$id2" locked
"$ctl" status "$id1" --json=short >"$tmp/w1.json"
pid1=$(json_field "$tmp/w1.json" pid)
"$ctl" status "$id2" --json=short >"$tmp/w2.json"
pid2=$(json_field "$tmp/w2.json" pid)
lib_pids+=("$pid1" "$pid2")
[[ $(vmlck_kb "$pid1") -gt 0 ]] || fail "workload alpha is not locked"

expect_rc 0 "$ctl" status "$id1"
sed -E -e 's/^( +PID: ).*/\1MASKED/' -e 's/^( +Locked: )[^ ]+ (of .* limit) \([0-9]+%\)$/\1MASKED \2 (MASKED)/' \
        -e 's/^( +Resident: ).*/\1MASKED/' -e 's/^( +Faults: ).*/\1MASKED/' \
        -e 's/^( +Lock time: ).*/\1MASKED/' \
        -e 's/^( +Started: )[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [A-Z+0-9-]+; .* ago$/\1MASKED/' \
        "$tmp/out" >"$tmp/actual"
cat >"$tmp/expected" <<EOF
● alpha (workload $id1)
         PID: MASKED
        User: root (0)
      Policy: 10-sleep
        Mode: on
   Mechanism: $(json_field "$tmp/w1.json" mechanism)
 Containment: $(json_field "$tmp/w1.json" containment)
       State: locked
      Locked: MASKED of 64.0M limit (MASKED)
    Resident: MASKED
      Faults: MASKED
   Lock time: MASKED
     Started: MASKED
EOF
expect_same "status ID" "$tmp/expected" "$tmp/actual"
grep -q "^         PID: $pid1\$" "$tmp/out" || fail "status shows the wrong pid"
# By pid, and with the explicit forms.
expect_rc 0 "$ctl" status "$pid1" && expect_grep "$tmp/out" "^● alpha \(workload $id1\)$"
expect_rc 0 "$ctl" status "pid:$pid1" && expect_grep "$tmp/out" "^● alpha"
expect_rc 0 "$ctl" status "id:$id2" && expect_grep "$tmp/out" "^● we\"ird\\\\name"
expect_rc 0 "$ctl" status "$id1" "$id2" --json=short
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert [w["name"] for w in a] == ["alpha", "we\"ird\\name"], a' \
        "$tmp/out" || fail "status with two ids: not an array of both"

expect_rc 0 "$ctl" list
mech=$(json_field "$tmp/w1.json" mechanism)
# Columns: ID NAME PID USER POLICY MECHANISM STATE LOCKED LIMIT; PID and LOCKED masked.
awk 'NR == 1 { $1 = $1; print; next } /^$/ { print; next }
     /workloads?,/ { $3 = "MASKED"; print; next }
     { $3 = "PID"; $(NF - 1) = "LOCKED"; $1 = $1; print }' "$tmp/out" >"$tmp/actual"
cat >"$tmp/expected" <<EOF
ID NAME PID USER POLICY MECHANISM STATE LOCKED LIMIT
$id1 alpha PID root 10-sleep $mech locked LOCKED 64.0M
$id2 we"ird\name PID root 10-sleep $mech locked LOCKED 16.0M

2 workloads, MASKED locked, 80.0M reserved of 2.0G budget (3%).
EOF
expect_same "list" "$tmp/expected" "$tmp/actual"
expect_rc 0 "$ctl" list --no-legend
[[ $(wc -l <"$tmp/out") == 2 ]] || fail "list --no-legend: expected just the two rows"

echo "== bash completion"
if [[ -r ${MLOCKD_SOURCE_DIR:-}/client/completion/memlockctl.bash ]]; then
        PATH=$build/client:$PATH bash -c '
                source "$1"
                comp() { COMP_WORDS=("${@:2}"); COMP_CWORD=$(($# - 2)); COMPREPLY=(); _memlockctl
                         printf "%s\n" "${COMPREPLY[*]}"; }
                comp x memlockctl stat
                comp x memlockctl status ""
                comp x memlockctl run --policy ""
                comp x memlockctl attach --wa
                comp x memlockctl policy ""' _ "$MLOCKD_SOURCE_DIR/client/completion/memlockctl.bash" \
                >"$tmp/out" 2>&1 || fail "completion script failed: $(cat "$tmp/out")"
        sed -n 1p "$tmp/out" | grep -qx "status" || fail "completion of 'stat': $(sed -n 1p "$tmp/out")"
        for w in "$id1" "$id2" "$pid1" "$pid2"; do
                sed -n 2p "$tmp/out" | grep -qw -- "$w" || fail "completion of status lacks $w"
        done
        sed -n 3p "$tmp/out" | grep -qx "10-sleep 20-shell 30-big" || fail "completion of --policy: $(sed -n 3p "$tmp/out")"
        sed -n 4p "$tmp/out" | grep -qx -- "--wait" || fail "completion of attach --wa"
        sed -n 5p "$tmp/out" | grep -qx "check list explain" || fail "completion of policy"
fi

echo "== JSON against the D-Bus properties"
"${bus[@]}" call org.mlockd1 /org/mlockd1 org.freedesktop.DBus.Properties GetAll s \
        org.mlockd1.Manager >"$tmp/mgr.bus"
"$ctl" status --json=short >"$tmp/mgr.json"
"${bus[@]}" call org.mlockd1 /org/mlockd1 org.mlockd1.Manager ListWorkloads >"$tmp/list.bus"
"$ctl" list --json=short >"$tmp/list.json"
for id in "$id1" "$id2"; do
        "${bus[@]}" call org.mlockd1 "/org/mlockd1/workload/$id" \
                org.freedesktop.DBus.Properties GetAll s org.mlockd1.Workload >"$tmp/w$id.bus"
        "$ctl" status "$id" --json=short >"$tmp/w$id.json"
done
python3 - "$tmp" "$sock" "$id1" "$id2" <<'EOF' || fail "JSON does not match D-Bus"
import json, sys
tmp, sock, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
def props(path):
    return {k: v["data"] for k, v in json.load(open(path))["data"][0].items()}
def size(v):
    return None if v == 2**64 - 1 else v
def close(a, b):  # volatile numbers read a moment apart
    return abs(a - b) <= 1 << 20
m, j = props(tmp + "/mgr.bus"), json.load(open(tmp + "/mgr.json"))
assert set(j) == {"version", "socket", "budget_bytes", "reserved_bytes", "locked_bytes",
                  "system_mlocked_bytes", "workloads", "policies"}, sorted(j)
assert j["version"] == m["Version"] and j["socket"] == sock
assert j["budget_bytes"] == size(m["BudgetBytes"]) and j["reserved_bytes"] == m["ReservedBytes"]
assert close(j["locked_bytes"], m["LockedBytes"])
# system-wide: other programs lock and unlock meanwhile
assert isinstance(j["system_mlocked_bytes"], int) and j["system_mlocked_bytes"] > 0
assert j["workloads"] == len(m["Workloads"]) and j["policies"] == m["Policies"]
rows = json.load(open(tmp + "/list.bus"))["data"][0]
lj = json.load(open(tmp + "/list.json"))
assert len(rows) == len(lj)
for r, w in zip(rows, lj):
    assert set(w) == {"id", "path", "name", "pid", "uid", "user", "policy", "mechanism", "state",
                      "limit_bytes", "locked_bytes"}, sorted(w)
    assert [w["id"], w["path"], w["pid"], w["uid"], w["name"], w["policy"], w["state"],
            w["mechanism"], w["limit_bytes"]] == r[:8] + [size(r[9])], (w, r)
    assert close(w["locked_bytes"], r[8])
names = {"Id": "id", "Name": "name", "Pid": "pid", "Uid": "uid", "Policy": "policy",
         "Mode": "mode", "Mechanism": "mechanism", "State": "state", "LimitBytes": "limit_bytes",
         "LockDurationUSec": "lock_duration_usec", "StartedAt": "started_at_usec",
         "ExitStatus": "exit_status", "Error": "error", "Containment": "containment"}
volatile = {"LockedBytes": "locked_bytes", "ResidentBytes": "resident_bytes",
            "SwapBytes": "swap_bytes", "PinnedBytes": "pinned_bytes",
            "MajorFaults": "major_faults", "MinorFaults": "minor_faults"}
for i in ids:
    p, w = props(f"{tmp}/w{i}.bus"), json.load(open(f"{tmp}/w{i}.json"))
    assert set(w) == set(names.values()) | set(volatile.values()) | {"path", "user"}, sorted(w)
    assert w["path"] == "/org/mlockd1/workload/" + i and w["user"] == "root"
    for k, f in names.items():
        want = size(p[k]) if k == "LimitBytes" else p[k]
        assert w[f] == want, (k, w[f], p[k])
    for k, f in volatile.items():
        assert isinstance(w[f], int) and close(w[f], p[k]), (k, w[f], p[k])
EOF

echo "== metrics through a strict exposition-format check"
expect_rc 0 "$ctl" metrics
cp "$tmp/out" "$tmp/metrics"
python3 - "$tmp/metrics" <<'EOF' || fail "metrics do not pass the exposition-format check"
# The Prometheus text format 0.0.4, strictly: HELP and TYPE at most once per family and before
# its samples, samples of a family contiguous, valid names, label escapes only \\ \" \n, no
# duplicate series, float values, counters named *_total, no blank lines, final newline.
import re, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "no final newline"
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
FLOAT = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)"
sample_re = re.compile(rf"^({NAME})(?:\{{((?:{LABEL}={VALUE})(?:,{LABEL}={VALUE})*,?)?\}})? ({FLOAT})(?: -?[0-9]+)?$")
help_re = re.compile(rf"^# HELP ({NAME}) (.*)$")
type_re = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
helped, typed, done, series = set(), {}, set(), set()
current = None
for n, line in enumerate(text.split("\n")[:-1], 1):
    assert line, f"line {n}: blank line"
    if line.startswith("#"):
        m = help_re.match(line) or type_re.match(line)
        if not m:
            assert not line.startswith("# HELP") and not line.startswith("# TYPE"), f"line {n}: {line!r}"
            continue
        name = m.group(1)
        assert name not in done, f"line {n}: {name} after its samples"
        if line.startswith("# HELP"):
            assert name not in helped, f"line {n}: second HELP for {name}"
            helped.add(name)
        else:
            assert name not in typed, f"line {n}: second TYPE for {name}"
            typed[name] = m.group(2)
            if m.group(2) == "counter":
                assert name.endswith("_total"), f"line {n}: counter {name} not *_total"
        continue
    m = sample_re.match(line)
    assert m, f"line {n}: not a sample: {line!r}"
    name, labels = m.group(1), m.group(2) or ""
    if current != name:
        if current:
            done.add(current)
        assert name not in done, f"line {n}: samples of {name} are not contiguous"
        current = name
    assert name in typed and name in helped, f"line {n}: {name} without HELP and TYPE"
    keys = re.findall(rf"({LABEL})={VALUE}", labels)
    assert len(keys) == len(set(keys)), f"line {n}: repeated label"
    assert not any(k.startswith("__") for k in keys), f"line {n}: reserved label name"
    key = (name, labels)
    assert key not in series, f"line {n}: duplicate series"
    series.add(key)
print(f"{len(series)} samples in {len(typed)} families: ok")
EOF
if command -v promtool >/dev/null; then
        promtool check metrics <"$tmp/metrics" || fail "promtool check metrics"
fi
budget=$("${bus[@]}" get-property org.mlockd1 /org/mlockd1 org.mlockd1.Manager BudgetBytes |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["data"])')
expect_grep "$tmp/metrics" "^mlockd_budget_bytes $budget\$"
expect_grep "$tmp/metrics" '^mlockd_reserved_bytes 83886080$'
total=$(awk '/^mlockd_workloads\{state="[a-z]+"\} [0-9]+$/ { n += $2 } END { print n + 0 }' \
        "$tmp/metrics")
[[ $total == 2 ]] || fail "mlockd_workloads{state=...} sum to $total, not 2"
version=$("$ctl" --version | cut -d' ' -f2)
expect_grep "$tmp/metrics" "^mlockd_build_info\{version=\"$version\"\} 1\$"
grep -q '^mlockd_workload_info{.*\(pid\|state\)=' "$tmp/metrics" &&
        fail "mlockd_workload_info carries a pid or state label"

echo "== metrics --output: an atomic file for node_exporter"
mkdir "$tmp/textfile"
expect_rc 0 "$ctl" metrics --output "$tmp/textfile/mlockd.prom"
[[ $(stat -c %a "$tmp/textfile/mlockd.prom") == 644 ]] || fail "mlockd.prom is not mode 0644"
[[ $(ls "$tmp/textfile") == mlockd.prom ]] || fail "temporary files left: $(ls "$tmp/textfile")"
grep -q '^mlockd_budget_bytes ' "$tmp/textfile/mlockd.prom" || fail "mlockd.prom lacks samples"
if command -v promtool >/dev/null; then
        promtool check metrics <"$tmp/textfile/mlockd.prom" || fail "promtool check metrics (file)"
fi
# A directory that cannot take the file: an error naming it, nothing left behind.
expect_rc 1 "$ctl" metrics --output "$tmp/none/mlockd.prom"
expect_grep "$tmp/err" "$tmp/none/mlockd.prom"
expect_grep "$tmp/metrics" "^mlockd_workload_limit_bytes\{id=\"$id1\",name=\"alpha\",policy=\"10-sleep\"\} 67108864\$"
expect_grep "$tmp/metrics" "^mlockd_workload_limit_bytes\{id=\"$id2\",name=\"we\\\\\"ird\\\\\\\\name\",policy=\"10-sleep\"\} 16777216\$"
expect_grep "$tmp/metrics" "^mlockd_workload_locked_bytes\{id=\"$id1\",name=\"alpha\",policy=\"10-sleep\"\} [1-9][0-9]*\$"
expect_grep "$tmp/metrics" "^mlockd_workload_major_faults_total\{id=\"$id1\",name=\"alpha\",policy=\"10-sleep\"\} [0-9]+\$"
for m in mlockd_budget_bytes mlockd_reserved_bytes mlockd_system_mlocked_bytes \
        mlockd_workload_locked_bytes mlockd_workload_limit_bytes \
        mlockd_workload_major_faults_total mlockd_workload_resident_bytes \
        mlockd_workload_swap_bytes mlockd_workload_minor_faults_total; do
        expect_grep "$tmp/metrics" "^# HELP $m "
        expect_grep "$tmp/metrics" "^# TYPE $m (gauge|counter)\$"
done

echo "== explain"
expect_rc 0 "$ctl" explain "$pid1"
expect_grep "$tmp/out" '^ +Verdict: allow$'
expect_grep "$tmp/out" '^ +Policy: 10-sleep$'
expect_rc 3 "$ctl" explain $$
expect_grep "$tmp/out" '^ +Verdict: deny'
expect_grep "$tmp/out" '10-sleep: '
expect_rc 3 "$ctl" explain $$ --json=short
"${bus[@]}" call org.mlockd1 /org/mlockd1 org.mlockd1.Manager Explain u $$ >"$tmp/explain.bus"
python3 - "$tmp/out" "$tmp/explain.bus" <<'EOF' || fail "explain --json does not match Explain()"
import json, sys
j = json.load(open(sys.argv[1]))
verdict, policy, message, skipped, settings = json.load(open(sys.argv[2]))["data"]
assert set(j) == {"verdict", "policy", "message", "skipped", "settings"}, j
assert j["verdict"] == verdict and j["message"] == message and j["skipped"] == skipped, j
assert j["policy"] == (policy or None), j
assert set(j["settings"]) == set(settings), (j["settings"], settings)
EOF
expect_rc 4 "$ctl" explain 999999999

echo "== check with the daemon"
rc=0
"$ctl" check >"$tmp/out" 2>&1 || rc=$?
if grep -q '^FAIL' "$tmp/out"; then want=1; else want=0; fi
[[ $rc == "$want" ]] || fail "check exited $rc"
expect_grep "$tmp/out" "mlockd \(pid $daemon_pid\) "
capeff=$((16#$(awk '/^CapEff:/ { print $2 }' "/proc/$daemon_pid/status")))
if ((capeff & (1 << 24))); then
        grep -q "lacks.*CAP_SYS_RESOURCE" "$tmp/out" && fail "check: the daemon has CAP_SYS_RESOURCE"
else
        expect_grep "$tmp/out" "^WARN mlockd \(pid $daemon_pid\) lacks.*CAP_SYS_RESOURCE"
fi
expect_grep "$tmp/out" '^OK +Budget: 2\.0G \([0-9]+% of MemTotal [0-9.]+G\), 80\.0M reserved$'

echo "== run: foreground exit codes, stdio, signals"
echo "through cat" | "$ctl" run -- cat >"$tmp/out" 2>"$tmp/err" || fail "run cat: $(cat "$tmp/err")"
[[ $(cat "$tmp/out") == "through cat" ]] || fail "stdin did not reach stdout through cat"
expect_rc 0 "$ctl" run -- true
expect_rc 7 "$ctl" run -- sh -c 'exit 7'
expect_rc 143 "$ctl" run -- sh -c 'kill -TERM $$'
expect_rc 0 "$ctl" run -- cat /proc/self/status
[[ $(awk '/^VmLck:/ { print $2 }' "$tmp/out") -gt 0 ]] || fail "run: the workload has no VmLck"
mkdir -p "$tmp/cwd"
(cd "$tmp/cwd" && "$ctl" run -- sh -c pwd) >"$tmp/out" 2>&1 || fail "run pwd"
[[ $(cat "$tmp/out") == "$tmp/cwd" ]] || fail "run: cwd not kept: $(cat "$tmp/out")"
LD_PRELOAD=/tmp/evil.so "$ctl" run -- sh -c 'echo "[$LD_PRELOAD]"' >"$tmp/out" 2>/dev/null ||
        fail "run with LD_PRELOAD"
grep -q evil "$tmp/out" && fail "the caller's LD_PRELOAD reached the workload: $(cat "$tmp/out")"
# SIGINT to a foreground memlockctl goes to the workload; memlockctl exits with 128+2.
"$ctl" run -- sleep 30 >/dev/null 2>&1 &
runner=$!
lib_pids+=("$runner")
for ((i = 0; i < 50; i++)); do
        [[ $("$ctl" list --json=short) == *'"name":"sleep"'*'"state":"locked"'* ]] && break
        sleep 0.1
done
kill -INT "$runner"
rc=0
wait "$runner" || rc=$?
[[ $rc == 130 ]] || fail "run: SIGINT forwarded should give 130, got $rc"

# The client killed with SIGKILL: the workload gets SIGHUP, as from a closed terminal.
"$ctl" run --name hup-me -- sleep 60 >/dev/null 2>&1 &
runner=$!
lib_pids+=("$runner")
for ((i = 0; i < 50; i++)); do
        [[ $("$ctl" list --json=short) == *'"name":"hup-me"'*'"state":"locked"'* ]] && break
        sleep 0.1
done
kill -KILL "$runner"
wait "$runner" 2>/dev/null || true
for ((i = 0; i < 50; i++)); do
        "$ctl" status hup-me --json=short >"$tmp/out" 2>/dev/null || true
        [[ $(cat "$tmp/out") == *'"state":"exited"'* ]] && break
        sleep 0.1
done
python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); assert w["state"] == "exited" and w["exit_status"] == 129, w' \
        "$tmp/out" || fail "client killed: the workload did not die of SIGHUP: $(cat "$tmp/out")"

# A background sleep whose exec has happened: attaching to the forked shell before it execs
# /bin/sleep would lock a process image that exec then replaces (locks do not survive exec).
start_sleeper() { # SECONDS: sets $sleeper
        sleep "$1" &
        sleeper=$!
        for _ in $(seq 200); do
                [[ $(readlink "/proc/$sleeper/exe" 2>/dev/null) == */sleep ]] && return 0
                sleep 0.01
        done
}

echo "== attach, detach, kill"
start_sleeper 300
target=$sleeper
lib_pids+=("$target")
expect_rc 0 "$ctl" attach --wait "$target"
aid=$(head -1 "$tmp/out")
[[ $aid =~ ^[0-9]+$ ]] || fail "attach printed '$aid'"
expect_grep "$tmp/err" "^Locked [0-9.]+[KMG] of 'sleep' in "
[[ $(vmlck_kb "$target") -gt 0 ]] || fail "attach: VmLck of the target is 0"
expect_rc 0 "$ctl" status "$aid" && expect_grep "$tmp/out" '^ +Mechanism: ptrace$'
expect_rc 0 "$ctl" detach "$target" && expect_grep "$tmp/out" "Detached workload $aid"
[[ $(vmlck_kb "$target") == 0 ]] || fail "detach: VmLck of the target is not 0"
expect_rc 4 "$ctl" status "$aid"
expect_rc 0 "$ctl" kill --signal KILL "$id2"
for ((i = 0; i < 50; i++)); do kill -0 "$pid2" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid2" 2>/dev/null && fail "kill --signal KILL: the workload lives on"

echo "== exec: same pid, locked"
bash -c 'echo $$ >"$1"; exec "$2" exec -- cat /proc/self/status' _ "$tmp/exec.pid" "$ctl" \
        >"$tmp/out" 2>"$tmp/err" || fail "exec: $(cat "$tmp/err")"
[[ $(awk '/^Pid:/ { print $2 }' "$tmp/out") == "$(cat "$tmp/exec.pid")" ]] ||
        fail "exec: CMD did not keep the pid"
[[ $(awk '/^VmLck:/ { print $2 }' "$tmp/out") -gt 0 ]] || fail "exec: CMD is not locked"

echo "== exit codes"
# 2: usage, also for what only the daemon can find invalid
expect_rc 2 "$ctl" status pid:abc
expect_rc 2 "$ctl" run --policy '' -- true
# 3: denied, as uid 65534
expect_rc 3 as_nobody "$ctl" run -- sleep 1 && expect_grep "$tmp/err" "AccessDenied"
sleep 300 &
root_target=$!
lib_pids+=("$root_target")
expect_rc 3 as_nobody "$ctl" attach "$root_target" && expect_grep "$tmp/err" "AccessDenied"
expect_rc 3 "$ctl" run --limit 1G -- sleep 1
expect_rc 3 "$ctl" run --policy no-such-policy -- sleep 1
# 1: failed for other reasons, e.g. over budget (a 4G reservation against a 2G budget)
expect_rc 1 "$ctl" run -- tail -f /dev/null && expect_grep "$tmp/err" "BudgetExceeded"
expect_grep "$tmp/err" "2\.0G"
# nobody may still read
expect_rc 0 as_nobody "$ctl" list
expect_rc 0 as_nobody "$ctl" run -- true
# 4: not found
expect_rc 4 "$ctl" status 999999999
expect_rc 4 "$ctl" detach 999999999
expect_rc 4 "$ctl" kill 999999999
dead=$(sh -c 'echo $$')
expect_rc 4 "$ctl" attach "$dead"
# 1: failed. A broken reload keeps the old policies.
expect_rc 0 "$ctl" reload
printf '[Lock]\nLimt=1G\n' >"$tmp/policy.d/30-broken.policy"
chmod 0644 "$tmp/policy.d/30-broken.policy"
expect_rc 1 "$ctl" reload && expect_grep "$tmp/err" "30-broken.policy"
expect_rc 0 "$ctl" policy list
printf '10-sleep\n20-shell\n30-big\n' >"$tmp/expected"
expect_same "policy list after a broken reload" "$tmp/expected" "$tmp/out"
# 5: unreachable, once the daemon is gone; the workloads stay.
lib_stop_daemon || true
expect_rc 5 "$ctl" status && expect_grep "$tmp/err" "$sock"
kill -0 "$pid1" || fail "stopping the daemon killed a workload"

if ((failures)); then
        echo "$failures failure(s)"
        exit 1
fi
echo "all memlockctl checks against a real daemon passed"
