#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/install-deps stops services from starting during its apt-get install with a
# policy-rc.d, and must never overwrite or remove one it did not create. Run in a private mount
# namespace with a tmpfs over /usr/sbin (the host's is untouched) and stand-ins for dpkg-query
# (every package "missing") and apt-get (records the policy-rc.d it sees): with no policy-rc.d,
# apt-get sees one that denies (exit 101) and it is gone afterwards; with the admin's own, apt-get
# sees that one and it is still there, unchanged, afterwards.
set -euo pipefail

src=${MLOCKD_SOURCE_DIR:?MLOCKD_SOURCE_DIR is not set}
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (mount namespace)"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIP: cannot create a mount namespace"; exit 77; }

if [[ ${MLOCKD_TEST_NS:-} != "$$" ]]; then
        MLOCKD_TEST_NS=$$ exec unshare --mount --propagation private "$0"
fi

tmp=$(mktemp -d /tmp/mlockd-test-install-deps.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

mount -t tmpfs -o mode=0755 mlockd-test-sbin /usr/sbin
mkdir "$tmp/bin"
cat >"$tmp/bin/dpkg-query" <<'EOF'
#!/bin/sh
# Every package is missing.
exit 1
EOF
cat >"$tmp/bin/apt-get" <<EOF
#!/bin/sh
# Records what a package's maintainer script would get from policy-rc.d.
[ "\$1" = update ] && exit 0
if [ -x /usr/sbin/policy-rc.d ]; then
        /usr/sbin/policy-rc.d libvirtd start >/dev/null 2>&1
        echo "policy-rc.d exit \$?" >"$tmp/seen"
        cp /usr/sbin/policy-rc.d "$tmp/seen.file"
else
        echo "no policy-rc.d" >"$tmp/seen"
fi
exit 0
EOF
chmod 0755 "$tmp/bin/dpkg-query" "$tmp/bin/apt-get"

echo "== no policy-rc.d: one denies starts during the install, and is removed after"
PATH=$tmp/bin:$PATH "$src/scripts/install-deps" >"$tmp/out" 2>&1 ||
        { cat "$tmp/out"; fail "install-deps failed"; }
[[ $(cat "$tmp/seen" 2>/dev/null) == "policy-rc.d exit 101" ]] ||
        fail "apt-get saw: $(cat "$tmp/seen" 2>/dev/null)"
[[ ! -e /usr/sbin/policy-rc.d ]] || fail "install-deps left /usr/sbin/policy-rc.d"
left=$(ls -A /usr/sbin)
[[ -z $left ]] || fail "install-deps left in /usr/sbin: $left"

echo "== the admin's policy-rc.d: used as it is, and kept"
printf '#!/bin/sh\n# the admin'"'"'s\nexit 0\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
cp /usr/sbin/policy-rc.d "$tmp/admin"
rm -f "$tmp/seen" "$tmp/seen.file"
PATH=$tmp/bin:$PATH "$src/scripts/install-deps" >"$tmp/out" 2>&1 ||
        { cat "$tmp/out"; fail "install-deps failed"; }
cmp -s "$tmp/admin" "$tmp/seen.file" || fail "apt-get did not see the admin's policy-rc.d"
cmp -s "$tmp/admin" /usr/sbin/policy-rc.d ||
        fail "the admin's policy-rc.d was changed or removed: $(cat /usr/sbin/policy-rc.d 2>&1)"
[[ $(stat -c %a /usr/sbin/policy-rc.d) == 755 ]] || fail "its mode changed"

if ((failures)); then
        exit 1
fi
echo "OK: test-install-deps"
