# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by tests/e2e/test-libvirt-*.sh: a private libvirtd (and mlockd) for one test.
#
# The test re-executes itself in a new mount namespace (unshare -m), where /run is a fresh
# tmpfs and /etc/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt are bind
# mounts of temporary directories. So the test may change qemu.conf and the hook directory, and
# libvirtd, virtlogd, mlockd and the hook all use their default paths (/run/libvirt/...,
# /run/mlockd/io.socket) without touching the host's. Without systemd as PID 1 and without
# libvirt-daemon-system, libvirtd needs by hand: the libvirt-qemu user and the
# kvm/libvirt/libvirt-qemu groups (a copy of /etc/passwd and /etc/group with them is bind-mounted
# over the real ones, in the namespace only), the directories above (a missing one is made
# inside the namespace: ns_mkdir), virtlogd, and user/group = "root" in qemu.conf (for /dev/kvm
# access here). Nothing is created on the host outside /tmp and the capability cache in
# /var/tmp. Everything started is killed on exit. Tests that use libvirtd take a lock, so they
# run one at a time (2 cores).
#
# Guests use KVM when /dev/kvm is usable and TCG otherwise (tests/e2e/accel.sh;
# MLOCKD_E2E_ACCEL=tcg forces TCG).

set -euo pipefail

# mlockd is started and stopped by the integration tests' library (mlockd_start below), which
# also names $build, $daemon and $ctl. Its EXIT trap is not used: libvirt_env_cleanup is the
# trap here, and calls lib_kill_daemon.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
memlockctl=$ctl
hook=$build/libvirt/hooks/qemu.d/mlockd

skip() {
        echo "SKIP: $*"
        exit 77
}
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
now_ms() {
        echo $(($(date +%s%N) / 1000000))
}

# shellcheck source=tests/e2e/accel.sh
source "$(dirname "${BASH_SOURCE[0]}")/accel.sh"

# Prerequisites that hold for the whole test. Each case checks its own.
libvirt_env_check() {
        [[ $EUID -eq 0 ]] || skip "needs root (libvirtd, mount namespace)"
        local c
        for c in libvirtd virtlogd virsh qemu-system-x86_64 unshare busctl python3; do
                command -v "$c" >/dev/null || skip "$c is not installed"
        done
        e2e_accel_choose
        unshare -m true 2>/dev/null || skip "cannot create a mount namespace (no CAP_SYS_ADMIN)"
}

# Re-runs the calling script in a private mount namespace, once.
libvirt_env_enter_namespace() {
        if [[ ${MLOCKD_E2E_NAMESPACE:-} != 1 ]]; then
                export MLOCKD_E2E_NAMESPACE=1
                # One libvirt test at a time: two libvirtds and guests on 2 cores make the
                # timings meaningless. The lock is this directory (flock(1) takes directories):
                # a lock file in /tmp would be left behind.
                exec flock "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" \
                        unshare -m --propagation private "$0" "$@"
        fi
}

LIBVIRT_TMP=
libvirt_pids=()

libvirt_env_cleanup() {
        local rc=$?
        set +e
        # Guests first (libvirt knows them), then whatever qemu is left by pid file.
        if [[ -S /run/libvirt/libvirt-sock ]]; then
                for d in $(virsh -q list --name 2>/dev/null); do
                        virsh -q destroy "$d" >/dev/null 2>&1
                done
        fi
        for f in /run/libvirt/qemu/*.pid; do
                [[ -f $f ]] && kill -9 "$(cat "$f")" 2>/dev/null
        done
        lib_kill_daemon
        for f in /run/libvirtd.pid /run/virtlogd.pid; do
                [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null
        done
        for p in "${libvirt_pids[@]}"; do
                kill "$p" 2>/dev/null
        done
        libvirt_env_remove_cgroups
        if ((rc != 0 && rc != 77)) && [[ -n $LIBVIRT_TMP ]]; then
                echo "--- mlockd log"
                tail -n 40 "$LIBVIRT_TMP/mlockd.log" 2>/dev/null
                echo "--- libvirtd log"
                tail -n 20 "$LIBVIRT_TMP/libvirtd.log" 2>/dev/null
        fi
        [[ -n $LIBVIRT_TMP ]] && rm -rf "$LIBVIRT_TMP"
        exit "$rc"
}

# libvirtd (without systemd) makes a "machine" cgroup in every controller for its guests. The
# cgroupfs is the host's, not the namespace's: remove the ones this test made, once libvirtd
# and its guests are gone (their last tasks may take a moment to exit).
libvirt_cgroups_before=
libvirt_env_remove_cgroups() {
        local c i left
        for ((i = 0; i < 100; i++)); do
                left=0
                for c in /sys/fs/cgroup/*/machine; do
                        [[ -d $c ]] || continue
                        [[ " $libvirt_cgroups_before " == *" $c "* ]] && continue
                        find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
                        [[ -d $c ]] && left=1
                done
                ((left)) || return 0
                sleep 0.1
        done
        echo "libvirt-env: could not remove libvirt's cgroups:" /sys/fs/cgroup/*/machine >&2
}

# Makes directory DIR exist in this mount namespace without creating anything on the host:
# if DIR is missing, its parent is covered with a tmpfs (built under the namespace's private
# /run) that holds bind mounts of all the parent's entries plus DIR. The host's tree is
# untouched; the namespace's view of it ends with the test.
ns_shadows=0
ns_mkdir() {
        local dir=$1 parent shadow e
        [[ -d $dir ]] && return 0
        parent=$(dirname "$dir")
        ns_mkdir "$parent"
        shadow=/run/mlockd-e2e-shadow/$ns_shadows
        ns_shadows=$((ns_shadows + 1))
        mkdir -p "$shadow"
        mount -t tmpfs -o "mode=$(stat -c %a "$parent"),uid=$(stat -c %u "$parent"),gid=$(stat -c %g "$parent")" \
                tmpfs "$shadow"
        while IFS= read -r -d '' e; do
                if [[ -L $parent/$e ]]; then
                        cp -P "$parent/$e" "$shadow/$e"
                elif [[ -d $parent/$e ]]; then
                        mkdir "$shadow/$e"
                        mount --rbind "$parent/$e" "$shadow/$e"
                else
                        touch "$shadow/$e"
                        mount --bind "$parent/$e" "$shadow/$e"
                fi
        done < <(find "$parent" -mindepth 1 -maxdepth 1 -printf '%f\0')
        mount --move "$shadow" "$parent"
        mkdir -m 0755 "$dir"
}

# libvirtd looks up the libvirt-qemu user and the kvm, libvirt and libvirt-qemu groups (before
# it reads user = "root" from qemu.conf). Those that are missing are added to copies of
# /etc/passwd and /etc/group, bind-mounted over the real ones in this namespace only.
ns_free_id() { # FILE: prints an id below 1000 that FILE does not use
        local id
        for ((id = 999; id > 100; id--)); do
                cut -d: -f3 "$1" | grep -qx "$id" || { echo "$id"; return 0; }
        done
        return 1
}
ns_fake_users() {
        local g gid uid
        cp /etc/passwd "$LIBVIRT_TMP/passwd"
        cp /etc/group "$LIBVIRT_TMP/group"
        for g in kvm libvirt libvirt-qemu; do
                grep -q "^$g:" "$LIBVIRT_TMP/group" && continue
                gid=$(ns_free_id "$LIBVIRT_TMP/group")
                echo "$g:x:$gid:" >>"$LIBVIRT_TMP/group"
        done
        if ! grep -q '^libvirt-qemu:' "$LIBVIRT_TMP/passwd"; then
                uid=$(ns_free_id "$LIBVIRT_TMP/passwd")
                gid=$(awk -F: '$1 == "libvirt-qemu" { print $3 }' "$LIBVIRT_TMP/group")
                echo "libvirt-qemu:x:$uid:$gid::/var/lib/libvirt:/usr/sbin/nologin" \
                        >>"$LIBVIRT_TMP/passwd"
                sed -i 's/^\(kvm:[^:]*:[^:]*:\)$/\1libvirt-qemu/' "$LIBVIRT_TMP/group"
        fi
        chmod 0644 "$LIBVIRT_TMP/passwd" "$LIBVIRT_TMP/group"
        mount --bind "$LIBVIRT_TMP/passwd" /etc/passwd
        mount --bind "$LIBVIRT_TMP/group" /etc/group
}

# Sets up the private libvirt tree; with_hook=1 installs the mlockd hook. Does not start
# libvirtd.
libvirt_env_setup() {
        local with_hook=$1

        LIBVIRT_TMP=$(mktemp -d /tmp/mlockd-e2e-libvirt.XXXXXX)
        libvirt_cgroups_before=$(echo /sys/fs/cgroup/*/machine)
        trap libvirt_env_cleanup EXIT
        # mlockd's directory for lib_start_daemon: policy.d/, state/ and mlockd.conf in
        # $LIBVIRT_TMP, the default socket (private here: /run is this namespace's), the log in
        # mlockd.log (the tests read it).
        lib_dir "$LIBVIRT_TMP"
        lib_socket /run/mlockd/io.socket
        lib_log=$LIBVIRT_TMP/mlockd.log
        umask 022

        mount -t tmpfs -o mode=0755 tmpfs /run
        ns_fake_users
        ns_mkdir /etc/libvirt
        ns_mkdir /var/lib/libvirt
        ns_mkdir /var/log/libvirt
        ns_mkdir /var/cache/libvirt
        mkdir -p "$LIBVIRT_TMP/etc" "$LIBVIRT_TMP/lib" "$LIBVIRT_TMP/log/qemu"
        cp -a /etc/libvirt "$LIBVIRT_TMP/etc/libvirt"
        mount --bind "$LIBVIRT_TMP/etc/libvirt" /etc/libvirt
        mount --bind "$LIBVIRT_TMP/lib" /var/lib/libvirt
        mount --bind "$LIBVIRT_TMP/log" /var/log/libvirt
        # libvirtd probes qemu's capabilities at first start (~8 s here) and caches them; the
        # cache is kept between test runs, apart from the host's.
        mkdir -p /var/tmp/mlockd-e2e-libvirt-cache
        mount --bind /var/tmp/mlockd-e2e-libvirt-cache /var/cache/libvirt
        mkdir -p /var/lib/libvirt/qemu /var/lib/libvirt/images

        # qemu as root: /dev/kvm is root-only without udev rules here. (On a normal host qemu
        # runs as libvirt-qemu; mlockd then needs CAP_SYS_PTRACE to attach, which it has.)
        printf 'user = "root"\ngroup = "root"\n' >>/etc/libvirt/qemu.conf
        # No guest is autostarted; the test's networks are not needed (user networking).
        rm -rf /etc/libvirt/qemu/autostart /etc/libvirt/qemu/networks/autostart

        rm -rf /etc/libvirt/hooks/qemu.d /etc/libvirt/hooks/qemu
        if [[ $with_hook == 1 ]]; then
                [[ -x $hook ]] || skip "the hook was not built ($hook)"
                mkdir -p /etc/libvirt/hooks/qemu.d
                install -m 0755 "$hook" /etc/libvirt/hooks/qemu.d/mlockd
        fi
}

# Starts virtlogd and libvirtd (again, if running: libvirt reads hooks at start).
libvirtd_start() {
        if [[ -f /run/libvirtd.pid ]]; then
                libvirtd_stop
        fi
        if [[ ! -f /run/virtlogd.pid ]]; then
                virtlogd -d
        fi
        # On one CPU: libvirt's qemu capability cache is keyed by the host CPUID, which differs
        # between this VM's vCPUs; probing again costs ~8 s per start.
        taskset -c 0 libvirtd -d
        # A readiness wait, not a timing check: with a TCG guest spinning on the same CPU and
        # other builds on the machine, a libvirtd restart (reconnecting to the running guests)
        # took more than 10 s once.
        local i start
        start=$(now_ms)
        for ((i = 0; i < 600; i++)); do
                if virsh -q version >/dev/null 2>&1; then
                        echo "libvirtd answers after $(($(now_ms) - start)) ms"
                        return 0
                fi
                sleep 0.1
        done
        echo "libvirtd did not answer within 60 s" >&2
        return 1
}

libvirtd_stop() {
        local pid
        pid=$(cat /run/libvirtd.pid 2>/dev/null) || return 0
        kill "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

# Defines a domain NAME (KVM or TCG: e2e_accel_choose) with MIB of memory, no disks, a user
# network interface. Extra XML (memoryBacking, memtune) goes into the third argument.
define_domain() {
        local name=$1 mib=$2 extra=${3:-}
        cat >"$LIBVIRT_TMP/$name.xml" <<EOF
<domain type='$(e2e_libvirt_type)'>
  <name>$name</name>
  <memory unit='MiB'>$mib</memory>
  <vcpu>1</vcpu>
  $(e2e_libvirt_features)
  $extra
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='user'><model type='virtio'/></interface>
  </devices>
</domain>
EOF
        virsh -q define "$LIBVIRT_TMP/$name.xml" >/dev/null
}

qemu_pid() {
        cat "/run/libvirt/qemu/$1.pid" 2>/dev/null
}

# Fails the test unless qemu pid PID runs with the chosen accelerator (and, for TCG, the 64 MiB
# translation cache): libvirt turns the domain type and <tb-cache> into -accel arguments.
check_accel() {
        local cmd
        cmd=$(tr '\0' ' ' <"/proc/$1/cmdline")
        if [[ $E2E_ACCEL == tcg ]]; then
                [[ $cmd == *"-accel tcg,tb-size=64"* ]] ||
                        fail "qemu pid $1 does not run TCG with a 64 MiB tb cache: $cmd"
        else
                [[ $cmd == *"-accel kvm"* ]] || fail "qemu pid $1 does not run KVM: $cmd"
        fi
}

vmlck_kib() {
        sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null
}

# Waits until pid's VmLck reaches KIB (prints the time it took in ms), or timeout seconds.
wait_vmlck() {
        local pid=$1 kib=$2 timeout=$3 start v
        start=$(now_ms)
        while (($(now_ms) - start < timeout * 1000)); do
                v=$(vmlck_kib "$pid")
                if [[ -n $v ]] && ((v >= kib)); then
                        echo $(($(now_ms) - start))
                        return 0
                fi
                sleep 0.1
        done
        return 1
}

# Starts mlockd (lib_start_daemon, after libvirt_env_setup) on the default socket
# (/run/mlockd/io.socket, private here) with the policies in $LIBVIRT_TMP/policy.d and the given
# mlockd.conf text, logging at debug level to $LIBVIRT_TMP/mlockd.log; waits until it answers.
# Fails the test (lib_die) if it does not.
mlockd_start() {
        local conf=$1
        [[ -x $daemon ]] || skip "mlockd was not built ($daemon)"
        [[ -x $memlockctl ]] || skip "memlockctl was not built ($memlockctl)"
        printf '%s\n' "$conf" >"$LIBVIRT_TMP/mlockd.conf"
        chmod 0644 "$LIBVIRT_TMP/mlockd.conf" "$LIBVIRT_TMP"/policy.d/*.policy
        lib_start_daemon --log-level debug
}

mlockd_stop() {
        lib_stop_daemon || true
}

# Prints "STATE PID" of the workload named NAME that is not exited/detached, if any.
workload_of() {
        if [[ -n $dpid ]] && ! kill -0 "$dpid" 2>/dev/null; then
                echo "FAIL: mlockd died; its log ends:" >&2
                tail -n 5 "$LIBVIRT_TMP/mlockd.log" >&2
                exit 1
        fi
        { "$memlockctl" --socket "$sock" list --json=short 2>/dev/null ||
                echo "[]"; } | python3 -c '
import json, sys
name = sys.argv[1]
for w in json.load(sys.stdin):
    if w["name"] == name and w["state"] not in ("exited", "detached"):
        print(w["state"], w["pid"])
        break
' "$1"
}

# Waits until workload_of NAME prints something (or not, with absent=1), up to timeout s.
wait_workload() {
        local name=$1 absent=$2 timeout=$3 start out
        start=$(now_ms)
        while (($(now_ms) - start < timeout * 1000)); do
                out=$(workload_of "$name")
                if [[ $absent == 1 && -z $out ]] || [[ $absent == 0 && -n $out ]]; then
                        return 0
                fi
                sleep 0.1
        done
        return 1
}

# Waits until workload_of NAME prints exactly WANT ("locked 1234"), up to timeout s.
wait_workload_state() {
        local name=$1 want=$2 timeout=$3 start
        start=$(now_ms)
        while (($(now_ms) - start < timeout * 1000)); do
                [[ $(workload_of "$name") == "$want" ]] && return 0
                sleep 0.1
        done
        return 1
}
