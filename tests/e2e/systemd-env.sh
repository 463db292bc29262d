# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2119,SC2120
# Sourced by tests/e2e/test-systemd-*.sh: a real systemd as PID 1 in a container, for one test.
#
# The rootfs is a Debian bookworm `debootstrap --variant=minbase` from the mirror this machine's
# apt sources name, with SYSENV_PACKAGES included. It is built once and cached in
# /var/tmp/mlockd-systemd-rootfs-<hash of recipe, suite, arch, mirror, package list>; a flock makes
# concurrent tests wait for one build. MLOCKD_SYSTEMD_ROOTFS_REBUILD=1 builds it again.
# The container boots that rootfs read-only with a tmpfs overlay (systemd-nspawn
# --volatile=overlay), so every test starts from the same clean tree and leaves nothing in it.
# nspawn runs in a cgroup of its own (created in the name=systemd and cgroup2 hierarchies and,
# on a cgroup v1 host, below our own v1 memory cgroup; removed at the end), with CAP_IPC_LOCK
# added, --keep-unit and --register=no (there is no systemd or machined on the host), and the
# host's network. The container's v1 memory hierarchy is made writable, so MemoryMax= of its
# units is enforced by the kernel (sysenv_memory_writable).
#
# API (helper tests may rely on it; keep it stable):
#   SYSENV_PACKAGES       array of packages in the rootfs. A test may append to it before
#                         sysenv_check; another list gets another cache directory.
#   sysenv_skip REASON    prints "SKIP: REASON" and exits 77 (for a test's own prerequisites).
#   sysenv_check          exits 77 with the reason when a container cannot run here (not root,
#                         no systemd-nspawn, no debootstrap and no cached rootfs, no cgroups).
#   sysenv_rootfs         builds the rootfs unless cached; sets SYSENV_ROOTFS. sysenv_boot
#                         calls it.
#   sysenv_boot [ARGS]    boots the container (extra systemd-nspawn ARGS, e.g. --bind=...),
#                         waits until `systemctl is-system-running` says running or degraded;
#                         sets SYSENV_TMP (a host temporary directory for the test),
#                         SYSENV_LEADER (the host pid of the container's PID 1). Installs an
#                         EXIT trap that stops the container and cleans up.
#   sysenv_exec CMD...    runs CMD inside the container (its mount, pid, ipc, uts and cgroup
#                         namespaces, as root, with a clean environment) and returns its exit
#                         status; stdin and stdout are the caller's.
#   sysenv_exec_as USER CMD...
#                         the same as USER (setpriv with USER's uid, gid and groups).
#   sysenv_copy_in SRC DST
#                         copies the host directory SRC's contents into DST in the container
#                         (tar --no-overwrite-dir --keep-directory-symlink: /lib -> usr/lib
#                         stays a symlink).
#   sysenv_install_build BUILD
#                         installs the build for prefix /usr (BUILD itself if configured so,
#                         else a copy configured for /usr in BUILD/sysenv-prefix-usr) with
#                         `DESTDIR=... cmake --install` into a staging directory, activates
#                         the example policies there (/usr/share/doc/mlockd/examples/policy.d
#                         into /etc/mlockd/policy.d, as an admin would), copies that into the
#                         container's /, and runs `systemctl daemon-reload`.
#   sysenv_start_installed [hog]
#                         the common start of a test of the installed build: sets build
#                         (MLOCKD_BUILD_DIR) and, given "hog", hog (its spawn-hog helper, a
#                         FAIL when it was not built), then sysenv_check, sysenv_boot and
#                         sysenv_install_build "$build". Defines failures=0, fail MESSAGE,
#                         prop UNIT PROPERTY, vmlck PID (VmLck in kB), workload_of NAME
#                         ("STATE PID" from memlockctl list) and wait_workload NAME WANT
#                         TIMEOUT (until workload_of says WANT) for the test's checks.
#   sysenv_stop           stops the container (SIGTERM twice: the first starts an orderly
#                         shutdown, the second makes nspawn end it) and waits for it.
#   sysenv_log            prints the container's console output (the test prints it on failure).
# Each boot takes about a second; a test may boot more than once (sysenv_stop, then sysenv_boot
# again), and each boot starts from the clean rootfs: nothing written inside persists.

set -euo pipefail

SYSENV_SUITE=bookworm
SYSENV_PACKAGES=(
        systemd-sysv dbus
        # what mlockd, memlockctl and the shim need at run time
        libsystemd0 libcap-ng0 libjson-c5 libseccomp2 libxml2
        # the tests: python3-dbus as a system bus client, ps/pgrep, setpriv, ip
        python3 python3-dbus procps util-linux iproute2
)
SYSENV_ROOTFS=
SYSENV_TMP=
SYSENV_LEADER=
sysenv_nspawn_pid=
sysenv_cgroups=()

sysenv_skip() {
        echo "SKIP: $*"
        exit 77
}

# The first http(s) Debian mirror for $SYSENV_SUITE in the apt sources (one-line or deb822).
sysenv_mirror() {
        local f
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                /etc/apt/sources.list.d/*.sources; do
                [[ -f $f ]] || continue
                if [[ $f == *.sources ]]; then
                        awk -v suite="$SYSENV_SUITE" '
                                /^[[:space:]]*$/ { if (uri != "" && has) { print uri; exit }
                                                   uri = ""; has = 0; next }
                                $1 == "URIs:" { uri = $2 }
                                $1 == "Suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
                                END { if (uri != "" && has) print uri }' "$f"
                else
                        awk -v suite="$SYSENV_SUITE" '
                                $1 == "deb" { i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++
                                              if ($i ~ /^\[/ || $i ~ /\]$/) i++
                                              if ($(i + 1) == suite) { print $i; exit } }' "$f"
                fi
        done | head -n 1
}

# Bump when sysenv_rootfs changes what it does to the tree after debootstrap.
SYSENV_RECIPE=1
sysenv_key() {
        local mirror=$1
        printf '%s\n' "$SYSENV_RECIPE" "$SYSENV_SUITE" "$(dpkg --print-architecture)" "$mirror" \
                "${SYSENV_PACKAGES[@]}" | sha256sum | cut -c1-12
}

sysenv_check() {
        [[ $EUID -eq 0 ]] || sysenv_skip "needs root (systemd-nspawn)"
        local c
        for c in systemd-nspawn nsenter setpriv tar flock pgrep; do
                command -v "$c" >/dev/null || sysenv_skip "$c is not installed"
        done
        local mirror
        mirror=$(sysenv_mirror)
        if [[ ! -d /var/tmp/mlockd-systemd-rootfs-$(sysenv_key "$mirror") ]]; then
                command -v debootstrap >/dev/null ||
                        sysenv_skip "debootstrap is not installed and no rootfs is cached"
                [[ -n $mirror ]] ||
                        sysenv_skip "no $SYSENV_SUITE mirror in /etc/apt/sources.list{,.d}"
        fi
        [[ -d /sys/fs/cgroup/unified || -f /sys/fs/cgroup/cgroup.controllers ]] ||
                sysenv_skip "no cgroup2 hierarchy (systemd in the container needs one)"
}

sysenv_rootfs() {
        local mirror key dir
        mirror=$(sysenv_mirror)
        key=$(sysenv_key "$mirror")
        dir=/var/tmp/mlockd-systemd-rootfs-$key
        SYSENV_ROOTFS=$dir
        exec {lockfd}>/var/tmp/mlockd-systemd-rootfs.lock
        flock "$lockfd"
        # Rebuilt once per run of the test suite, not once per test: the tests of one ctest
        # run share their parent process (pid and start time make the token).
        local token=
        if [[ ${MLOCKD_SYSTEMD_ROOTFS_REBUILD:-0} == 1 ]]; then
                token="$PPID:$(sed 's/.*) //' "/proc/$PPID/stat" | cut -d' ' -f20)"
                if [[ $(cat "$dir.rebuilt-for" 2>/dev/null) != "$token" ]]; then
                        echo "MLOCKD_SYSTEMD_ROOTFS_REBUILD=1: removing $dir"
                        rm -rf --one-file-system "$dir"
                fi
        fi
        if [[ ! -d $dir ]]; then
                local include start
                include=$(
                        IFS=,
                        echo "${SYSENV_PACKAGES[*]}"
                )
                echo "building the container rootfs $dir from $mirror (debootstrap, once)"
                rm -rf --one-file-system "$dir.new"
                start=$(date +%s)
                if ! debootstrap --variant=minbase --include="$include" "$SYSENV_SUITE" \
                        "$dir.new" "$mirror" >"$dir.log" 2>&1; then
                        tail -n 30 "$dir.log" >&2
                        rm -rf --one-file-system "$dir.new"
                        exec {lockfd}>&-
                        echo "FAIL: debootstrap failed (log: $dir.log)" >&2
                        exit 1
                fi
                # A machine id makes journald and D-Bus behave as on a real host.
                systemd-machine-id-setup --root="$dir.new" >/dev/null 2>&1 || true
                # An unprivileged user for the tests.
                chroot "$dir.new" useradd -m -s /bin/bash mlockd-user
                mv "$dir.new" "$dir"
                [[ -z $token ]] || echo "$token" >"$dir.rebuilt-for"
                echo "debootstrap took $(($(date +%s) - start)) s"
        fi
        exec {lockfd}>&-
}

# A cgroup of our own in the name=systemd and cgroup2 hierarchies (the container's systemd
# manages everything below it), and in the v1 memory hierarchy below the one we are in, so that
# the memory cgroups systemd creates for units with MemoryMax= stay inside a tree this test
# removes.
sysenv_cgroup_setup() {
        local name=mlockd-e2e-sysenv-$$ h mem
        for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
                [[ -f $h/cgroup.procs ]] || continue
                mkdir "$h/$name"
                sysenv_cgroups+=("$h/$name")
        done
        mem=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
        if [[ -n $mem && -w /sys/fs/cgroup/memory${mem%/}/cgroup.procs ]]; then
                mkdir "/sys/fs/cgroup/memory${mem%/}/$name"
                sysenv_cgroups+=("/sys/fs/cgroup/memory${mem%/}/$name")
        fi
}

# Removes the cgroups created by sysenv_cgroup_setup, deepest first (nspawn and the container
# leave sub-cgroups behind). Processes still in them are killed first.
sysenv_cgroup_cleanup() {
        local cg pid i
        for cg in "${sysenv_cgroups[@]}"; do
                [[ -d $cg ]] || continue
                for ((i = 0; i < 50; i++)); do
                        local left=0
                        while read -r pid; do
                                if kill -9 "$pid" 2>/dev/null; then left=1; fi
                        done < <(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
                        ((left)) || break
                        sleep 0.1
                done
                find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
                if [[ -d $cg ]]; then echo "warning: could not remove cgroup $cg" >&2; fi
        done
        sysenv_cgroups=()
}

sysenv_log() {
        if [[ -n $SYSENV_TMP && -f $SYSENV_TMP/console.log ]]; then cat "$SYSENV_TMP/console.log"; fi
}

sysenv_cleanup() {
        local rc=$?
        set +e
        sysenv_stop
        sysenv_cgroup_cleanup
        if ((rc != 0 && rc != 77)) && [[ -n $SYSENV_TMP ]]; then
                echo "--- container console (last 60 lines)"
                tail -n 60 "$SYSENV_TMP/console.log" 2>/dev/null
        fi
        [[ -n $SYSENV_TMP ]] && rm -rf --one-file-system "$SYSENV_TMP"
        exit "$rc"
}

# The container's PID 1 on the host: nspawn's child whose pid in its own namespace is 1.
sysenv_find_leader() {
        local c
        for c in $(pgrep -P "$sysenv_nspawn_pid"); do
                if awk '$1 == "NSpid:" && $NF == 1 { found = 1 } END { exit !found }' \
                        "/proc/$c/status" 2>/dev/null; then
                        echo "$c"
                        return 0
                fi
        done
        return 1
}

sysenv_boot() {
        sysenv_rootfs
        if [[ -z $SYSENV_TMP ]]; then
                SYSENV_TMP=$(mktemp -d /tmp/mlockd-e2e-systemd.XXXXXX)
                trap sysenv_cleanup EXIT
        fi
        sysenv_cgroup_setup
        local start
        start=$(date +%s%N)
        (
                for cg in "${sysenv_cgroups[@]}"; do
                        echo "$BASHPID" >"$cg/cgroup.procs"
                done
                # nspawn keeps locks and a propagation directory in /run/systemd/nspawn; a
                # private /run keeps them off the host. The image is never written
                # (--volatile=overlay), so it is not locked: tests may boot it side by side,
                # and no .#NAME.lck file is left next to it.
                export SYSTEMD_NSPAWN_LOCK=0
                exec unshare --mount --propagation private sh -c \
                        'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"' sh \
                        systemd-nspawn --quiet --boot --directory="$SYSENV_ROOTFS" \
                        --volatile=overlay --keep-unit --register=no \
                        --capability=CAP_IPC_LOCK --console=read-only \
                        --machine="mlockd-e2e-$$" --setenv=SYSTEMD_COLORS=0 "$@"
        ) </dev/null >"$SYSENV_TMP/console.log" 2>&1 &
        sysenv_nspawn_pid=$!
        local i
        SYSENV_LEADER=
        for ((i = 0; i < 300; i++)); do
                SYSENV_LEADER=$(sysenv_find_leader) && break
                kill -0 "$sysenv_nspawn_pid" 2>/dev/null || break
                sleep 0.1
        done
        if [[ -z $SYSENV_LEADER ]]; then
                echo "FAIL: the container did not start" >&2
                return 1
        fi
        # PID 1 answers on its private socket once it has set itself up.
        for ((i = 0; i < 300; i++)); do
                sysenv_exec test -S /run/systemd/private && break
                sleep 0.1
        done
        local state
        state=$(sysenv_exec timeout 60 systemctl is-system-running --wait 2>&1) || true
        if [[ $state != running && $state != degraded ]]; then
                echo "FAIL: the container's systemd is '$state', not running" >&2
                sysenv_exec systemctl --no-pager --failed >&2 || true
                return 1
        fi
        sysenv_memory_writable || return 1
        echo "container booted ($state) in $((($(date +%s%N) - start) / 1000000)) ms," \
                "PID 1 is host pid $SYSENV_LEADER"
}

# nspawn mounts the v1 controller hierarchies read-only in the container, so its systemd cannot
# apply MemoryMax= (on a cgroup v1 host it writes memory.limit_in_bytes). With a memory cgroup
# of our own (sysenv_cgroup_setup) the container's memory hierarchy is remounted writable and
# systemd re-executed to notice: then units' memory limits are enforced by the kernel, inside
# our subtree only.
sysenv_memory_writable() {
        local cg i st
        for cg in "${sysenv_cgroups[@]}"; do
                [[ $cg == /sys/fs/cgroup/memory/* ]] || continue
                sysenv_exec mount -o remount,bind,rw /sys/fs/cgroup/memory || return 1
                sysenv_exec systemctl daemon-reexec || return 1
                for ((i = 0; i < 100; i++)); do
                        st=$(sysenv_exec systemctl is-system-running 2>/dev/null) || true
                        [[ $st == running || $st == degraded ]] && return 0
                        sleep 0.1
                done
                echo "FAIL: systemd did not come back after daemon-reexec" >&2
                return 1
        done
        return 0
}

sysenv_exec() {
        nsenter --target "$SYSENV_LEADER" --mount --uts --ipc --pid --cgroup --root --wd \
                env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                HOME=/root LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

sysenv_exec_as() {
        local user=$1
        shift
        sysenv_exec setpriv --reuid="$user" --regid="$user" --init-groups \
                --inh-caps=-all --bounding-set=-all env HOME="/home/$user" USER="$user" "$@"
}

sysenv_copy_in() {
        local src=$1 dst=$2
        tar -C "$src" -cf - . |
                sysenv_exec tar -C "$dst" -xf - --no-overwrite-dir --keep-directory-symlink
}

# The installed files name their paths as configured (the unit's ExecStart=, the shim path in
# memlockctl), so `cmake --install --prefix /usr` of a /usr/local build would not work. A build
# configured for another prefix is configured again for /usr in BUILD/sysenv-prefix-usr (once;
# later runs rebuild incrementally, one at a time).
sysenv_install_build() {
        local build=$1 prefix src type stage start
        prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
        if [[ $prefix != /usr ]]; then
                src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
                type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
                build=$build/sysenv-prefix-usr
                start=$(date +%s)
                (
                        flock 9
                        cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr \
                                -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE="$type" &&
                                cmake --build "$build" -j "$(nproc)"
                ) 9>"$build.lock" >"$SYSENV_TMP/build.log" 2>&1 ||
                        { tail -n 30 "$SYSENV_TMP/build.log" >&2; return 1; }
                echo "built for prefix /usr in $build ($(($(date +%s) - start)) s)"
        fi
        stage=$SYSENV_TMP/stage
        rm -rf "$stage"
        DESTDIR=$stage cmake --install "$build" >"$SYSENV_TMP/install.log" 2>&1 ||
                { cat "$SYSENV_TMP/install.log" >&2; return 1; }
        # The example policies are installed as documentation, not active; the tests use them,
        # so they are copied into /etc/mlockd/policy.d as an admin would (mlockd.policy(5)).
        local p
        for p in "$stage"/usr/share/doc/mlockd/examples/policy.d/*.policy; do
                [[ -e $p ]] && install -m 0644 "$p" "$stage/etc/mlockd/policy.d/"
        done
        sysenv_copy_in "$stage" /
        sysenv_exec systemctl daemon-reload
}

sysenv_stop() {
        local pid=$sysenv_nspawn_pid i
        [[ -n $pid ]] || return 0
        kill -TERM "$pid" 2>/dev/null || true
        sleep 0.2
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
                echo "warning: the container did not stop within 10 s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
        fi
        # nspawn's exit status says how the container ended (killed, here): not a failure.
        wait "$pid" 2>/dev/null || true
        sysenv_nspawn_pid=
        SYSENV_LEADER=
        sysenv_cgroup_cleanup
}

# One place for the preamble the systemd tests shared word for word: a change to how a test
# gets its build, boots or counts failures is then made once.
sysenv_start_installed() {
        build=${MLOCKD_BUILD_DIR:?}
        if [[ ${1-} == hog ]]; then
                hog=$build/tests/helpers/spawn-hog
                [[ -x $hog ]] || { echo "FAIL: $hog was not built"; exit 1; }
        fi
        sysenv_check
        sysenv_boot
        sysenv_install_build "$build"

        failures=0
        fail() {
                echo "FAIL: $*" >&2
                failures=$((failures + 1))
        }
        prop() { # UNIT PROPERTY
                sysenv_exec systemctl show -P "$2" "$1"
        }
        vmlck() { # PID → kB
                sysenv_exec awk '$1 == "VmLck:" { print $2 }' "/proc/$1/status" 2>/dev/null
        }
        workload_of() { # NAME → "STATE PID"
                sysenv_exec memlockctl list --no-legend --json=short | python3 -c '
import json, sys
for w in json.load(sys.stdin):
    if w["name"] == sys.argv[1]:
        print(w["state"], w["pid"])' "$1"
        }
        wait_workload() { # NAME WANT TIMEOUT
                local i
                for ((i = 0; i < $3 * 10; i++)); do
                        [[ $(workload_of "$1") == "$2" ]] && return 0
                        sleep 0.1
                done
                return 1
        }
}
