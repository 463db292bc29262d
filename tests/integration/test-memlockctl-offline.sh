#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# memlockctl without a daemon: help, usage errors and "did you mean", exit code 5 with the
# socket path, `check` without a daemon, and the offline policy commands (check, list, explain).
set -euo pipefail

build=$(cd "${MLOCKD_BUILD_DIR:?}" && pwd)
ctl=$build/client/memlockctl
[[ -x $ctl ]] || { echo "memlockctl not built at $ctl"; exit 77; }

tmp=$(mktemp -d /tmp/memlockctl-offline.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export MLOCKD_SOCKET=$tmp/none.socket # never the host's daemon
export NO_COLOR=1
failures=0

fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

# expect_rc RC CMD...: runs CMD, output in $tmp/out and $tmp/err, checks the exit status.
expect_rc() {
        local want=$1 rc=0
        shift
        "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
        if [[ $rc != "$want" ]]; then
                fail "'$*' exited $rc, expected $want"
                sed 's/^/  stdout: /' "$tmp/out" >&2
                sed 's/^/  stderr: /' "$tmp/err" >&2
        fi
        return 0 # failures are counted, the script goes on
        return 0
}

expect_grep() { # FILE PATTERN
        grep -qE -- "$2" "$1" || {
                fail "'$2' not found in $(basename "$1"):"
                sed 's/^/  | /' "$1" >&2
        }
}

echo "== help and version"
expect_rc 0 "$ctl" --help && expect_grep "$tmp/out" '^  status '
expect_rc 0 "$ctl" --version && expect_grep "$tmp/out" '^memlockctl [0-9]+\.[0-9]+'
for verb in run exec attach detach kill status list metrics check explain reload policy; do
        expect_rc 0 "$ctl" "$verb" --help && expect_grep "$tmp/out" "memlockctl $verb"
done
expect_rc 0 "$ctl" help

echo "== usage errors: exit 2"
expect_rc 2 "$ctl"
expect_rc 2 "$ctl" stauts && expect_grep "$tmp/err" "Did you mean 'status'\?"
expect_rc 2 "$ctl" atach 1 && expect_grep "$tmp/err" "Did you mean 'attach'\?"
expect_rc 2 "$ctl" frobnicate && expect_grep "$tmp/err" "Unknown command 'frobnicate'\.$"
expect_rc 2 "$ctl" --bogus status && expect_grep "$tmp/err" "Unknown option"
expect_rc 2 "$ctl" status --bogus && expect_grep "$tmp/err" "memlockctl status --help"
expect_rc 2 "$ctl" --json=yaml status
expect_rc 2 "$ctl" run
expect_rc 2 "$ctl" run --mode sometimes -- true && expect_grep "$tmp/err" "on, on-fault or current"
expect_rc 2 "$ctl" run --limit 12X -- true && expect_grep "$tmp/err" "suffix"
expect_rc 2 "$ctl" run --prefault-threads many -- true
expect_rc 2 "$ctl" attach && expect_grep "$tmp/err" "exactly one PID"
expect_rc 2 "$ctl" attach notapid
expect_rc 2 "$ctl" kill --signal SIGNOPE 1 && expect_grep "$tmp/err" "Unknown signal"
expect_rc 2 "$ctl" explain
expect_rc 2 "$ctl" list extra
expect_rc 2 "$ctl" policy && expect_grep "$tmp/err" "check, list or explain"
expect_rc 2 "$ctl" policy chek && expect_grep "$tmp/err" "Did you mean 'check'\?"
expect_rc 2 "$ctl" policy explain && expect_grep "$tmp/err" "\-\-exe PATH is required"

echo "== not found before asking anyone: exit 4"
expect_rc 4 "$ctl" run -- /nonexistent/command && expect_grep "$tmp/err" "/nonexistent/command"
expect_rc 4 "$ctl" run -- no-such-command-anywhere && expect_grep "$tmp/err" "command not found"

echo "== daemon unreachable: exit 5 with the socket path"
for args in "status" "list" "metrics" "status 1" "detach 1" "kill 1" "explain 1" "reload" \
        "policy list" "run -- true" "exec -- true"; do
        # shellcheck disable=SC2086
        expect_rc 5 "$ctl" $args && expect_grep "$tmp/err" "$tmp/none.socket"
done
expect_rc 5 "$ctl" --socket "$tmp/other.socket" status && expect_grep "$tmp/err" "$tmp/other.socket"
expect_rc 5 env MLOCKD_SOCKET="$tmp/env.socket" "$ctl" list && expect_grep "$tmp/err" "$tmp/env.socket"
# A socket file nobody listens on is just as unreachable.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/dead.socket"
expect_rc 5 "$ctl" --socket "$tmp/dead.socket" status && expect_grep "$tmp/err" "dead.socket"

echo "== check without a daemon"
rc=0
"$ctl" check >"$tmp/out" 2>"$tmp/err" || rc=$?
if grep -q '^FAIL' "$tmp/out"; then want=1; else want=0; fi
[[ $rc == "$want" ]] || fail "check exited $rc with$( ((want)) || echo out) FAIL lines"
for pat in '^(OK|WARN|FAIL) +swap: ' '^(OK|WARN) +RLIMIT_MEMLOCK of this shell' \
        "^WARN mlockd: not reachable at '$tmp/none.socket'" '^(OK|WARN|FAIL) +Yama ptrace_scope' \
        '^(OK|WARN) +Transparent hugepages' '^(OK|WARN) +KSM' \
        '^(OK|WARN) +vm.compact_unevictable_allowed' '^(OK|WARN) +MemTotal' \
        '^(OK|WARN|FAIL) +MCL_ONFAULT' '^(OK|WARN) +MADV_POPULATE_WRITE'; do
        expect_grep "$tmp/out" "$pat"
done
# Every WARN or FAIL line is followed by a fix hint, except where there is nothing to fix.
[[ $(grep -c '^     fix: ' "$tmp/out") -ge 1 ]] || fail "check printed no fix hint"
# The shell's limit shown is the real one.
soft=$(ulimit -l)
if [[ $soft == unlimited ]]; then
        expect_grep "$tmp/out" 'RLIMIT_MEMLOCK of this shell: unlimited'
else
        want_limit=$(awk -v k="$soft" 'BEGIN { b = k * 1024; split("K M G T", u, " ");
                i = 0; d = 1; while (b / d >= 1024 && i < 4) { d *= 1024; i++ }
                if (i == 0) printf "%dB", b; else printf "%.1f%s", int(b * 10 / d) / 10, u[i] }')
        expect_grep "$tmp/out" "RLIMIT_MEMLOCK of this shell: soft $want_limit"
fi
# Yama: this kernel's value (or none) is what the line says.
if [[ -r /proc/sys/kernel/yama/ptrace_scope ]]; then
        expect_grep "$tmp/out" "Yama ptrace_scope: $(cat /proc/sys/kernel/yama/ptrace_scope)"
else
        expect_grep "$tmp/out" "Yama ptrace_scope: not present"
fi
expect_rc "$rc" "$ctl" check --json=short
python3 - "$tmp/out" <<'EOF' || fail "check --json is not the documented array"
import json, sys
a = json.load(open(sys.argv[1]))
assert isinstance(a, list) and len(a) == 10, a
names = [c["check"] for c in a]
assert names == ["swap", "rlimit-memlock", "daemon-capabilities", "yama-ptrace-scope",
                 "transparent-hugepages", "ksm", "compact-unevictable", "budget",
                 "mcl-onfault", "madv-populate-write"], names
for c in a:
    assert set(c) == {"check", "level", "message", "hint"}, c
    assert c["level"] in ("OK", "WARN", "FAIL"), c
    assert c["hint"] is None or isinstance(c["hint"], str), c
assert [c for c in a if c["check"] == "daemon-capabilities"][0]["level"] == "WARN"
EOF
expect_rc "$rc" "$ctl" check --quiet
if grep -q '^OK' "$tmp/out"; then fail "check --quiet printed OK lines"; fi

echo "== policy check, list, explain (offline)"
if [[ $(id -u) != 0 ]]; then
        echo "policy files must be owned by root: skipping the policy part (not root)"
else
        pol=$tmp/policy.d
        mkdir -p "$pol" "$tmp/bad.d"
        cat >"$pol/10-sleep.policy" <<'EOF'
[Match]
Executable=/usr/bin/sleep /bin/sleep
[Lock]
Mode=on-fault
Limit=64M
[Access]
AllowUsers=root
AllowRun=yes
AllowAttach=yes
EOF
        cat >"$pol/20-any.policy" <<'EOF'
[Match]
Executable=/usr/bin/*
User=nobody
[Lock]
Mode=current
Limit=16M
[Access]
AllowUsers=nobody
AllowRun=yes
AllowAttach=no
EOF
        cat >"$tmp/bad.d/30-bad.policy" <<'EOF'
[Match]
Executable=/usr/bin/true
[Lock]
Limt=12M
Mode=sometimes
[Acces]
EOF
        chmod 0644 "$pol"/*.policy "$tmp/bad.d"/*.policy

        expect_rc 0 "$ctl" policy check "$pol"
        [[ $(wc -l <"$tmp/out") == 2 ]] || fail "policy check: expected one line per policy"
        expect_grep "$tmp/out" '^10-sleep: '
        expect_grep "$tmp/out" '^20-any: '
        expect_rc 0 "$ctl" policy check "$pol/10-sleep.policy"
        expect_grep "$tmp/out" '^10-sleep: '
        expect_rc 1 "$ctl" policy check "$tmp/bad.d"
        expect_grep "$tmp/out" "30-bad.policy:4: .*Limt.*Limit"
        expect_grep "$tmp/out" "30-bad.policy:5: .*sometimes"
        expect_grep "$tmp/out" "30-bad.policy:6: .*Acces"
        expect_rc 1 "$ctl" policy check "$pol" "$tmp/bad.d"
        expect_rc 1 "$ctl" policy check "$tmp/missing.d"
        # The repository's example policies are valid.
        if [[ -d ${MLOCKD_SOURCE_DIR:-}/conf/policy.d ]]; then
                cp -r "$MLOCKD_SOURCE_DIR/conf/policy.d" "$tmp/examples"
                chmod 0644 "$tmp/examples"/*
                expect_rc 0 "$ctl" policy check "$tmp/examples"
        fi
        # A file writable by others is refused, naming its mode.
        cp "$pol/10-sleep.policy" "$tmp/bad.d/40-open.policy"
        chmod 0666 "$tmp/bad.d/40-open.policy"
        rm "$tmp/bad.d/30-bad.policy"
        expect_rc 1 "$ctl" policy check "$tmp/bad.d" && expect_grep "$tmp/out" "40-open.policy"

        expect_rc 0 "$ctl" policy list --policy-dir "$pol"
        expect_grep "$tmp/out" '^10-sleep: '
        expect_rc 0 "$ctl" policy list --policy-dir "$pol" --json=short
        python3 - "$tmp/out" "$pol" <<'EOF' || fail "policy list --json"
import json, sys
a = json.load(open(sys.argv[1]))
assert [p["name"] for p in a] == ["10-sleep", "20-any"], a
assert a[0]["path"] == sys.argv[2] + "/10-sleep.policy", a
assert all(set(p) == {"name", "path", "summary"} for p in a), a
EOF

        echo "-- policy explain: allow"
        expect_rc 0 "$ctl" policy explain --policy-dir "$pol" --exe /usr/bin/sleep --user root \
                --kind run
        expect_grep "$tmp/out" '^ +Verdict: allow$'
        expect_grep "$tmp/out" '^ +Policy: 10-sleep$'
        expect_grep "$tmp/out" 'mode=on-fault'
        expect_grep "$tmp/out" '^ +limit=64\.0M$'
        echo "-- policy explain: the first policy is skipped, the second allows nobody to run"
        expect_rc 0 "$ctl" policy explain --policy-dir "$pol" --exe /usr/bin/cat --user nobody \
                --kind run --json=short
        python3 - "$tmp/out" <<'EOF' || fail "policy explain --json (allow via 20-any)"
import json, sys
o = json.load(open(sys.argv[1]))
assert set(o) == {"verdict", "policy", "message", "skipped", "settings"}, o
assert o["verdict"] == "allow" and o["policy"] == "20-any", o
assert len(o["skipped"]) == 1 and o["skipped"][0].startswith("10-sleep"), o
assert o["settings"]["mode"] == "current" and o["settings"]["limit"] == 16 << 20, o
EOF
        echo "-- policy explain: denials exit 3"
        expect_rc 3 "$ctl" policy explain --policy-dir "$pol" --exe /usr/bin/cat --user nobody \
                --kind attach
        expect_grep "$tmp/out" '^ +Verdict: deny'
        expect_rc 3 "$ctl" policy explain --policy-dir "$pol" --exe /opt/x --user root
        expect_grep "$tmp/out" '^ +Verdict: deny-no-match$'
        expect_grep "$tmp/out" '10-sleep: '
        expect_grep "$tmp/out" '20-any: '
        expect_rc 3 "$ctl" policy explain --policy-dir "$pol" --exe /usr/bin/sleep --user nobody \
                --kind run
        expect_rc 3 "$ctl" policy explain --policy-dir "$pol" --exe /usr/bin/sleep --user root \
                --kind run --limit 1G
        expect_grep "$tmp/out" '^ +Verdict: deny-limit$'
        expect_rc 2 "$ctl" policy explain --policy-dir "$pol" --exe /usr/bin/sleep \
                --user no-such-user-xyz
        expect_rc 1 "$ctl" policy explain --policy-dir "$tmp/bad.d" --exe /usr/bin/sleep
fi

if ((failures)); then
        echo "$failures failure(s)"
        exit 1
fi
echo "all memlockctl offline checks passed"
