#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The documentation's examples work:
#   - every policy snippet (a code block with [Match], [Lock], [Access] or [Policy]) in the
#     README, docs/*.md and the man pages (docs/*.scd) passes `memlockctl policy check`, and
#     every mlockd.conf snippet ([Daemon], [Libvirt]) passes `mlockd --check-config`; so do the
#     shipped conf/mlockd.conf and conf/policy.d;
#   - the man pages render their code blocks verbatim: every line of every ``` block of a
#     page appears unchanged (not reflowed, not hyphenated) in `man -l` of the built page;
#   - the pages the docs name exist: mlockd.conf(5) is built.
set -euo pipefail

build=${MLOCKD_BUILD_DIR:?MLOCKD_BUILD_DIR is not set}
src=${MLOCKD_SOURCE_DIR:?MLOCKD_SOURCE_DIR is not set}
ctl=$build/client/memlockctl
daemon=$build/daemon/mlockd
for f in "$ctl" "$daemon"; do
        [[ -x $f ]] || { echo "SKIP: $f not built"; exit 77; }
done
# Policy files must be owned by root (mlockd.policy(5)).
[[ $(id -u) == 0 ]] || { echo "SKIP: policy files are checked as root-owned files"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

tmp=$(mktemp -d /tmp/mlockd-test-docs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
umask 022
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

echo "== extract the snippets"
mkdir -p "$tmp/snippets" "$tmp/empty"
cd "$src"
python3 - "$tmp/snippets" README.md docs/*.md docs/*.scd <<'EOF'
# Writes each fenced code block that is a policy or an mlockd.conf to OUT/NNN.policy or
# OUT/NNN.conf, with OUT/NNN.where naming its file and line.
import re, sys
out, files = sys.argv[1], sys.argv[2:]
POLICY = {"Match", "Lock", "Access", "Policy"}
CONF = {"Daemon", "Libvirt"}
n = 0
for path in files:
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, start = len(m.group(1)), i + 1
        j = start
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        block = [l[indent:] if l[:indent].strip() == "" else l for l in lines[start:j]]
        i = j + 1
        sections = {s for l in block for s in re.findall(r"^\[(\w+)\]\s*$", l)}
        if sections & POLICY and not sections & CONF:
            kind = "policy"
        elif sections & CONF and not sections & POLICY:
            kind = "conf"
        else:
            continue
        n += 1
        with open(f"{out}/{n:03d}.{kind}", "w") as f:
            f.write("\n".join(block) + "\n")
        with open(f"{out}/{n:03d}.where", "w") as f:
            f.write(f"{path}:{start}\n")
print(f"{n} snippets")
EOF
npol=$(find "$tmp/snippets" -name '*.policy' | wc -l)
nconf=$(find "$tmp/snippets" -name '*.conf' | wc -l)
echo "$npol policy snippets, $nconf mlockd.conf snippets"
# The README and mlockd.policy(5) have policy examples, mlockd.conf(5) has config examples: an
# extractor that finds nothing is broken.
((npol >= 5)) || fail "only $npol policy snippets found"
((nconf >= 2)) || fail "only $nconf mlockd.conf snippets found"

echo "== memlockctl policy check on each policy snippet"
for f in "$tmp"/snippets/*.policy; do
        where=$(cat "${f%.policy}.where")
        # One file per check: a set of files is also checked for clashes between them.
        # The name is what a policy file would be called (NN-name.policy).
        d=$tmp/check-$(basename "$f" .policy)
        mkdir -p "$d"
        cp "$f" "$d/50-example.policy"
        if ! "$ctl" policy check "$d/50-example.policy" >"$tmp/out" 2>&1; then
                fail "$where: the policy example is rejected:"
                sed 's/^/  | /' "$tmp/out" >&2
        fi
done

echo "== mlockd --check-config on each mlockd.conf snippet"
check_conf() { # FILE WHERE
        if ! "$daemon" --config "$1" --policy-dir "$tmp/empty" --check-config \
                >"$tmp/out" 2>&1; then
                fail "$2: the mlockd.conf example is rejected:"
                sed 's/^/  | /' "$tmp/out" >&2
        fi
}
for f in "$tmp"/snippets/*.conf; do
        check_conf "$f" "$(cat "${f%.conf}.where")"
done
install -m 0644 "$src/conf/mlockd.conf" "$tmp/mlockd.conf"
check_conf "$tmp/mlockd.conf" conf/mlockd.conf
mkdir -p "$tmp/shipped"
install -m 0644 "$src"/conf/policy.d/*.policy "$tmp/shipped/"
"$ctl" policy check "$tmp/shipped" >"$tmp/out" 2>&1 ||
        { fail "conf/policy.d is rejected:"; sed 's/^/  | /' "$tmp/out" >&2; }

echo "== the man pages show code blocks verbatim"
if command -v man >/dev/null && [[ -d $build/docs ]]; then
        for scd in "$src"/docs/*.scd; do
                page=$(basename "$scd" .scd)
                built=$build/docs/$page
                [[ -f $built ]] || { fail "$page was not built"; continue; }
                MANWIDTH=80 man -l "$built" 2>/dev/null >"$tmp/man.txt"
                # Every non-blank line of every ``` block, with the build's paths.
                python3 - "$build/docs/$page.scd" "$tmp/man.txt" <<'EOF' ||
import re, sys
text = open(sys.argv[1]).read().split("\n")
man = [l.strip() for l in open(sys.argv[2]).read().split("\n")]
inside, bad, checked = False, [], 0
for l in text:
    if re.match(r"^\s*```\s*$", l):
        inside = not inside
        continue
    if inside and l.strip():
        checked += 1
        # scdoc keeps a backslash escaped as \\ in the source; the page shows one.
        want = l.strip().replace("\\\\", "\\")
        if want not in man:
            bad.append(want)
for b in bad:
    print(f"  not verbatim: {b!r}")
sys.exit(1 if bad else 0)
EOF
                        fail "$page: code lines not rendered verbatim (above)"
        done
        # The issue's example: the metrics command in memlockctl(1).
        MANWIDTH=80 man -l "$build/docs/memlockctl.1" 2>/dev/null |
                grep -q '^ *memlockctl metrics --output /var/lib/prometheus/node-exporter/mlockd.prom$' ||
                fail "memlockctl(1) does not show the metrics example verbatim"
else
        echo "man or the built pages are missing: rendering not checked"
fi
[[ ! -d $build/docs ]] || [[ -f $build/docs/mlockd.conf.5 ]] || fail "mlockd.conf(5) is not built"

if ((failures)); then
        echo "$failures failure(s)"
        exit 1
fi
echo "OK: test-docs"
