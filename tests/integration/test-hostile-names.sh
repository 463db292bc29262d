#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile bytes, names: a name with a newline and a "<0>" prefix is refused at the API, naming
# the byte; a program whose file name forges a "<2>" log line produces no line of its own in the
# daemon's log; names with ESC, BEL and TAB come out escaped in `memlockctl list`, `status`,
# `metrics` and `--json`; `list` fits 80 columns with an 88-character name (all of it with
# --full) and aligns a CJK name.
set -euo pipefail
# shellcheck source=tests/integration/lib-reliability.sh
. "$(dirname "$0")/lib-reliability.sh"
rel_require
ctl=$build/client/memlockctl
[[ -x $ctl ]] || lib_skip "$ctl not built"

lib_init test-hostile-names
mkdir -p "$tmp/bin"
chmod 0755 "$tmp/bin"
# lib_init wrote mlockd.conf (Budget=1G).
lib_run_policy 10-test "/usr/bin/* /bin/* $tmp/bin/*"
lib_start_daemon
mctl() { "$ctl" --socket "$tmp/io.socket" --no-pager "$@"; }
# no_raw_controls WHAT TEXT: fails if TEXT holds ESC, BEL or a TAB.
no_raw_controls() {
        if [[ $2 == *$'\e'* || $2 == *$'\a'* || $2 == *$'\t'* ]]; then
                fail "$1 prints a raw control character: $(printf '%q' "$2")"
        fi
}

# ---- a forged log line as --name: refused, naming the byte --------------------------------------
if out=$(mctl run --name $'x\n<0>Policy 10-audit disabled by root' -- true 2>&1); then
        fail "a name with a newline was accepted"
fi
echo "--name with a newline: $out"
[[ $out == *"name contains control character 0x0a at offset 1"* ]] ||
        fail "the refusal does not name the byte: $out"
for bad in $'a\eb' $'bell\a' $'t\tab' $'bidi\u202e'; do
        if mctl run --name "$bad" -- true >/dev/null 2>&1; then
                fail "name $(printf '%q' "$bad") was accepted"
        fi
done
if mctl run --policy $'10-test\n' -- true >/dev/null 2>&1; then
        fail "a policy name with a newline was accepted"
fi

# ---- a forged log line as a file name: no line of its own -------------------------------------
forged=$tmp/bin/$'a\n<2>mlockd: Policy 10-audit disabled by root'
printf '#!/bin/sh\nexit 0\n' >"$forged"
chmod 0755 "$forged"
mctl run -- "$forged" || fail "running a program with a newline in its file name failed"
sleep 0.5
if grep -n '^<2>\|^mlockd: Policy' "$tmp/log"; then
        fail "the file name forged a log line"
fi
grep -qF 'a\n<2>mlockd: Policy 10-audit disabled by root' "$tmp/log" ||
        fail "the escaped file name is not in the log"

# ---- ESC, BEL, TAB in a name (from the file name): escaped everywhere ---------------------------
evil=$tmp/bin/$'e\e]0;pwned\a\tx'
printf '#!/bin/sh\nexec sleep 60\n' >"$evil"
chmod 0755 "$evil"
# Into a file: the detached workload keeps memlockctl's stdout open.
mctl run --detach -- "$evil" >"$tmp/id.out" </dev/null 2>&1 ||
        fail "run --detach of the ESC/BEL/TAB program failed"
id=$(head -1 "$tmp/id.out")
id=${id##* }
out=$(mctl list)
echo "$out"
no_raw_controls "list" "$out"
[[ $out == *'e\e]0;pwned\a\tx'* ]] || fail "list does not show the escaped name"
# The row did not split: the TAB and the name's other bytes stay on one line.
rows=$(mctl list --no-legend | grep -c . || true)
n=$(mctl --json=short list | "$python" -c 'import json, sys; print(len(json.load(sys.stdin)))')
((rows == n)) || fail "list --no-legend has $rows rows for $n workloads"
out=$(mctl status "$id")
no_raw_controls "status" "$out"
[[ $out == *'e\e]0;pwned\a\tx (workload'* ]] || fail "status does not show the escaped name: $out"
out=$(mctl metrics)
no_raw_controls "metrics" "$out"
grep -qF 'name="e\\e]0;pwned\\a\\tx"' <<<"$out" || fail "metrics label is not escaped: $out"
# promtool's lint findings are the metric names' business; a parse error would be ours.
if command -v promtool >/dev/null; then
        promtool check metrics <<<"$out" >"$tmp/promtool.out" 2>&1 || true
        if grep -qi "parsing error\|parse error" "$tmp/promtool.out"; then
                fail "promtool cannot parse the metrics: $(cat "$tmp/promtool.out")"
        fi
fi
out=$(mctl list --json=short)
no_raw_controls "list --json" "$out"

# ---- list fits the terminal -----------------------------------------------------------------------
long=$(printf 'n%.0s' $(seq 88))
mctl run --detach --name "$long" -- sleep 60 >/dev/null </dev/null 2>&1 ||
        fail "run --name LONG failed"
mctl run --detach --name "名前テスト" -- sleep 60 >/dev/null </dev/null 2>&1 ||
        fail "run --name CJK failed"
out=$(COLUMNS=80 mctl list)
echo "$out"
while IFS= read -r line; do
        w=$("$python" -c 'import sys, unicodedata as u
s = sys.argv[1]
print(sum(2 if u.east_asian_width(c) in "WF" else 1 for c in s))' "$line")
        ((w <= 80)) || fail "a line of list at COLUMNS=80 is $w columns wide: $line"
done <<<"$out"
[[ $out == *"nnn…"* ]] || fail "the long name is not cut with an ellipsis"
out=$(COLUMNS=80 mctl list --full)
[[ $out == *"$long"* ]] || fail "list --full does not show the whole name"
# Piped without COLUMNS: everything, for scripts.
out=$(mctl list | cat)
[[ $out == *"$long"* ]] || fail "list into a pipe cuts the name"
mctl list --no-legend | awk '{print $1}' | while read -r w; do
        mctl kill "$w" >/dev/null 2>&1 || true
done
rel_finish
echo OK
