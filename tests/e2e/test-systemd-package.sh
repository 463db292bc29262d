#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package in a real systemd (tests/e2e/systemd-env.sh): scripts/package builds the
# .deb of this tree (version N) and a rebuild with a newer changelog entry (N+1), lintian finds
# no error. In the container:
#   - Debian's unrelated memlockd is installed from the mirror, then ours beside it: both
#     binaries and units are there, no file belongs to both packages;
#   - the install enables and starts mlockd.socket, the daemon answers, the metrics timer is
#     disabled, no policy is active, mlockd-metrics.service writes a valid textfile;
#   - an edit of the conffile /etc/mlockd/mlockd.conf survives the upgrade to N+1, and the
#     restarted daemon runs with it; a deleted conffile is not restored;
#   - purge leaves nothing of the package: no file, no /etc/mlockd or /run/mlockd, no unit
#     state, no user or group; memlockd is untouched.
set -euo pipefail

src=${MLOCKD_SOURCE_DIR:?MLOCKD_SOURCE_DIR is not set}
# shellcheck source=tests/e2e/systemd-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/systemd-env.sh"
# apt inside the container needs its CA-less http mirror only; dpkg-deb is in the rootfs.
sysenv_check
command -v dpkg-buildpackage >/dev/null || [[ -x $src/scripts/install-deps ]] ||
        sysenv_skip "dpkg-buildpackage is not installed"

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
in_ct() { sysenv_exec "$@"; }
# ct_sh SCRIPT: a shell command line inside the container, apt non-interactive.
ct_sh() { sysenv_exec env DEBIAN_FRONTEND=noninteractive sh -c "$1" </dev/null; }

sysenv_boot
work=$SYSENV_TMP/package
mkdir -p "$work"

echo "== scripts/package: version N and N+1"
# The unit tests ran in the build already; lintian runs on N.
DEB_BUILD_OPTIONS=nocheck "$src/scripts/package" --out "$work/n" >"$work/n.log" 2>&1 ||
        { tail -n 40 "$work/n.log"; echo "FAIL: scripts/package failed"; exit 1; }
grep -E '^(E|W):|^lintian:' "$work/n.log" || true
grep -q '^E:' "$work/n.log" && fail "lintian reports errors"
deb_n=$(echo "$work"/n/mlockd_[0-9]*.deb)
version_n=$(dpkg-deb -f "$deb_n" Version)
version_n1=$version_n+e2e1
DEB_BUILD_OPTIONS=nocheck "$src/scripts/package" --no-lintian --version "$version_n1" \
        --out "$work/n1" >"$work/n1.log" 2>&1 ||
        { tail -n 40 "$work/n1.log"; echo "FAIL: scripts/package --version failed"; exit 1; }
deb_n1=$(echo "$work"/n1/mlockd_[0-9]*.deb)
[[ $(dpkg-deb -f "$deb_n1" Version) == "$version_n1" ]] || fail "N+1 has the wrong version"
dpkg --compare-versions "$version_n1" gt "$version_n" || fail "$version_n1 is not newer"
echo "built $version_n and $version_n1"

# Names of Debian's memlockd package (bookworm) that ours must never use.
for f in ./usr/sbin/memlockd ./lib/systemd/system/memlockd.service ./etc/init.d/memlockd \
        ./usr/share/man/man8/memlockd.8.gz; do
        dpkg -c "$deb_n" | awk '{ print $NF }' | grep -qx -- "$f" && fail "the .deb ships $f"
done

in_ct mkdir -p /root/debs/n /root/debs/n1
sysenv_copy_in "$work/n" /root/debs/n
sysenv_copy_in "$work/n1" /root/debs/n1

echo "== Debian's memlockd from the mirror"
ct_sh 'apt-get update -qq && apt-get install -y -qq memlockd >/dev/null' ||
        { echo "FAIL: apt-get install memlockd failed"; exit 1; }
in_ct test -x /usr/sbin/memlockd || fail "memlockd's binary is missing"
in_ct cp /etc/passwd /root/passwd.before
in_ct cp /etc/group /root/group.before
# Unit enablement: the links and files, not the directories (deb-systemd-helper removes
# .wants directories it empties, its own or not).
in_ct find /etc/systemd/system ! -type d >"$work/units.before"
sort -o "$work/units.before" "$work/units.before"

echo "== install N beside it"
ct_sh "apt-get install -y -qq --no-install-recommends /root/debs/n/$(basename "$deb_n") >/dev/null" ||
        { echo "FAIL: installing $version_n failed"; exit 1; }
[[ $(in_ct dpkg-query -W -f='${Status} ${Version}' mlockd) == "install ok installed $version_n" ]] ||
        fail "mlockd $version_n is not installed"
[[ $(in_ct dpkg-query -W -f='${Status}' memlockd) == "install ok installed" ]] ||
        fail "memlockd is no longer installed"
in_ct test -x /usr/sbin/mlockd || fail "/usr/sbin/mlockd is missing"
in_ct test -x /usr/sbin/memlockd || fail "/usr/sbin/memlockd is missing"
in_ct sh -c 'dpkg -L mlockd | sort' >"$work/ours"
in_ct sh -c 'dpkg -L memlockd | sort' >"$work/theirs"
# Shared directories (/etc, /usr/sbin) are fine; a shared file or unit name is not.
common=$(comm -12 "$work/ours" "$work/theirs" | while read -r p; do
        in_ct test -d "$p" || echo "$p"
done)
[[ -z $common ]] || fail "files of both packages: $common"
in_ct dpkg --audit >"$work/audit" 2>&1 || true
[[ ! -s $work/audit ]] || fail "dpkg --audit: $(cat "$work/audit")"
[[ $(in_ct systemctl is-enabled mlockd.socket) == enabled ]] || fail "mlockd.socket not enabled"
state=$(in_ct systemctl is-active mlockd.socket || true)
[[ $state == active ]] || fail "mlockd.socket is '$state', not active"
[[ $(in_ct systemctl is-enabled mlockd-metrics.timer || true) == disabled ]] ||
        fail "mlockd-metrics.timer is not shipped disabled"
[[ $(in_ct systemctl is-active memlockd.service || true) == active ]] ||
        fail "memlockd.service stopped running"
in_ct memlockctl status >"$work/status" 2>&1 || fail "memlockctl status: $(cat "$work/status")"
[[ $(in_ct systemctl is-active mlockd.service) == active ]] || fail "mlockd.service not active"
in_ct sh -c 'ls -A /etc/mlockd/policy.d' >"$work/active"
[[ ! -s $work/active ]] || fail "policies active after install: $(cat "$work/active")"
in_ct test -f /usr/share/doc/mlockd/examples/policy.d/60-realtime.policy ||
        fail "the example policies are not in /usr/share/doc/mlockd/examples"
in_ct sh -c 'man -w mlockd.conf >/dev/null 2>&1 || test -f /usr/share/man/man5/mlockd.conf.5.gz' ||
        fail "mlockd.conf(5) is not installed"
grep -qx /etc/mlockd/mlockd.conf <(in_ct cat /var/lib/dpkg/info/mlockd.conffiles) ||
        fail "/etc/mlockd/mlockd.conf is not a conffile"

echo "== mlockd-metrics.service writes node_exporter's textfile"
in_ct mkdir -p /var/lib/prometheus/node-exporter
in_ct systemctl start mlockd-metrics.service || fail "mlockd-metrics.service failed"
in_ct cat /var/lib/prometheus/node-exporter/mlockd.prom >"$work/mlockd.prom" ||
        fail "no mlockd.prom"
grep -q "^mlockd_build_info{version=\"$version_n\"} 1$" "$work/mlockd.prom" ||
        fail "mlockd.prom lacks mlockd_build_info for $version_n"
if command -v promtool >/dev/null; then
        promtool check metrics <"$work/mlockd.prom" || fail "promtool check metrics"
fi
in_ct rm -rf /var/lib/prometheus

echo "== edit the conffile, upgrade to N+1"
in_ct sed -i 's/^#Budget=80%$/Budget=1G/' /etc/mlockd/mlockd.conf
in_ct grep -qx 'Budget=1G' /etc/mlockd/mlockd.conf || fail "the edit did not apply"
# A conffile the admin deleted stays deleted (the libvirt hook: this host has no libvirt).
in_ct rm /etc/libvirt/hooks/qemu.d/mlockd
pid_n=$(in_ct systemctl show -P MainPID mlockd.service)
# No --force-conf*: dpkg's own rule keeps the edit; stdin is /dev/null, so a prompt fails.
ct_sh "apt-get install -y -qq --no-install-recommends /root/debs/n1/$(basename "$deb_n1") >/dev/null" ||
        fail "upgrading to $version_n1 failed"
[[ $(in_ct dpkg-query -W -f='${Version}' mlockd) == "$version_n1" ]] ||
        fail "mlockd $version_n1 is not installed"
in_ct grep -qx 'Budget=1G' /etc/mlockd/mlockd.conf || fail "the edit of mlockd.conf was lost"
in_ct test ! -e /etc/mlockd/mlockd.conf.dpkg-new || fail "dpkg left mlockd.conf.dpkg-new"
in_ct test ! -e /etc/libvirt/hooks/qemu.d/mlockd || fail "the upgrade restored a deleted conffile"
[[ $(in_ct systemctl is-active mlockd.socket) == active ]] ||
        fail "mlockd.socket not active after the upgrade"
budget=$(in_ct busctl --address=unix:path=/run/mlockd/io.socket get-property org.mlockd1 \
        /org/mlockd1 org.mlockd1.Manager BudgetBytes 2>&1) || true
[[ $budget == "t $((1 << 30))" ]] || fail "the daemon's budget after the upgrade: $budget"
[[ $(in_ct systemctl is-active mlockd.service) == active ]] ||
        fail "mlockd.service not active after the upgrade"
pid_n1=$(in_ct systemctl show -P MainPID mlockd.service)
[[ $pid_n1 != "$pid_n" && $pid_n1 != 0 ]] ||
        fail "the daemon was not restarted by the upgrade (MainPID $pid_n, then $pid_n1)"
version=$(in_ct busctl --address=unix:path=/run/mlockd/io.socket get-property org.mlockd1 \
        /org/mlockd1 org.mlockd1.Manager Version 2>&1) || true
echo "daemon after the upgrade: Version $version, BudgetBytes $budget"

echo "== purge"
ct_sh 'apt-get purge -y -qq mlockd >/dev/null' || fail "apt-get purge mlockd failed"
left=$(in_ct dpkg -L mlockd 2>/dev/null || true)
[[ -z $left ]] || fail "dpkg -L mlockd after purge: $left"
[[ -z $(in_ct dpkg-query -W -f='${Status}' mlockd 2>/dev/null || true) ]] ||
        fail "dpkg still knows mlockd: $(in_ct dpkg-query -W -f='${Status}' mlockd)"
for p in /etc/mlockd /run/mlockd /usr/sbin/mlockd /usr/lib/mlockd /lib/systemd/system/mlockd.service \
        /etc/libvirt/hooks/qemu.d/mlockd /usr/share/doc/mlockd; do
        in_ct test ! -e "$p" || fail "$p is left after purge"
done
left=$(in_ct sh -c 'find / -xdev \( -name "*mlockd*" -o -name "*memlockctl*" \) \
        ! -path "/proc/*" ! -path "/root/debs/*" ! -path "/var/cache/apt/*" \
        ! -path "/home/mlockd-user*" \
        ! -path "/var/lib/apt/lists/*" ! -name "*memlockd*" 2>/dev/null' || true)
[[ -z $left ]] || fail "left after purge: $left"
in_ct find /etc/systemd/system ! -type d >"$work/units.after"
sort -o "$work/units.after" "$work/units.after"
diff -u "$work/units.before" "$work/units.after" || fail "unit enablement left after purge"
in_ct cmp -s /etc/passwd /root/passwd.before || fail "users changed: $(in_ct diff /root/passwd.before /etc/passwd)"
in_ct cmp -s /etc/group /root/group.before || fail "groups changed: $(in_ct diff /root/group.before /etc/group)"
units=$(in_ct systemctl list-units --all --plain --no-legend 'mlockd*' || true)
[[ -z $units ]] || fail "systemd still knows: $units"
in_ct test -x /usr/sbin/memlockd || fail "purging mlockd removed memlockd's binary"
[[ $(in_ct systemctl is-active memlockd.service || true) == active ]] ||
        fail "memlockd.service stopped running"

if ((failures)); then
        echo "$failures failure(s)"
        exit 1
fi
echo "OK: test-systemd-package"
