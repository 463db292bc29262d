#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How long libvirt waits for the mlockd hook at `started begin`, with a daemon running: the C
# hook (libvirt/hook.c) against the shell script it replaced (bench/baseline/libvirt-hook.sh,
# three busctl runs). Each run hands a fresh stand-in guest (a sleeping process whose pid is in
# DOMAIN.pid) to a real mlockd on a private socket, with a domain XML of a few KiB on stdin;
# the two hooks alternate run by run after a warm-up. The table goes into docs/benchmarks.md
# between the <!-- hook-latency:begin/end --> markers and is printed on stdout.
#
#   bench/hook-latency.sh [RUNS]    default 41 (11 with MLOCKD_BENCH_QUICK=1)
#
# Uses $MLOCKD_BUILD_DIR if set (scripts/bench sets it), else builds in build/bench-hook;
# writes $MLOCKD_BENCH_DOC if set. Needs root (the daemon attaches the stand-in guests).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${MLOCKD_BENCH_QUICK:-0} == 1 ]]; then
        runs=${1:-11}
else
        runs=${1:-41}
fi
warmup=5
build=${MLOCKD_BUILD_DIR:-$top/build/bench-hook}
doc=${MLOCKD_BENCH_DOC:-$top/docs/benchmarks.md}
((EUID == 0)) || { echo "needs root" >&2; exit 77; }
command -v busctl >/dev/null || { echo "busctl (the old hook's client) is missing" >&2; exit 77; }

if [[ -z ${MLOCKD_BUILD_DIR:-} ]]; then
        cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
        cmake --build "$build" --target mlockd mlockd-hook -j "$(nproc)" >/dev/null
fi
mlockd=$build/daemon/mlockd
c_hook=$build/libvirt/hooks/qemu.d/mlockd
[[ -x $mlockd && -x $c_hook ]] || { echo "$mlockd or $c_hook is missing" >&2; exit 1; }

# The daemon's state directory is /run/mlockd on a host, a tmpfs, where the fsync of each state
# save costs nothing; on this machine's ext4 /tmp it costs 3-8 ms per Attach. So the whole
# setup lives on /dev/shm (a tmpfs) when there is one.
if [[ -d /dev/shm && $(stat -f -c %T /dev/shm) == tmpfs ]]; then
        tmp=$(mktemp -d /dev/shm/mlockd-bench-hook.XXXXXX)
else
        tmp=$(mktemp -d /tmp/mlockd-bench-hook.XXXXXX)
fi
statefs=$(stat -f -c %T "$tmp")
daemon_pid=
pids=()
cleanup() {
        set +e
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
        [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null
        wait 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

sed -e "s|@MLOCKD_CONFIG_FILE@|/nonexistent|" -e "s|@MLOCKD_SOCKET_PATH@|$tmp/io.socket|" \
        "$top/bench/baseline/libvirt-hook.sh" >"$tmp/script-hook"
chmod 0755 "$tmp/script-hook"
mkdir -p "$tmp/policy.d" "$tmp/state" "$tmp/qemu"
cat >"$tmp/policy.d/50-bench.policy" <<'EOF'
[Match]
LibvirtDomain=bench-*
[Lock]
Mode=on
Limit=4G
[Access]
AllowAttach=yes
EOF
printf '[Daemon]\nBudget=infinity\nMaxWorkloadsPerUser=65536\n' >"$tmp/mlockd.conf"
chmod 0644 "$tmp/mlockd.conf" "$tmp/policy.d/50-bench.policy"
export MLOCKD_SOCKET=$tmp/io.socket MLOCKD_LIBVIRT_RUNDIR=$tmp/qemu MLOCKD_CONF=/nonexistent
"$mlockd" --config "$tmp/mlockd.conf" --socket "$tmp/io.socket" --policy-dir "$tmp/policy.d" \
        --state-dir "$tmp/state" >"$tmp/mlockd.log" 2>&1 &
daemon_pid=$!
for ((i = 0; i < 100; i++)); do
        [[ -S $tmp/io.socket ]] && break
        sleep 0.05
done
[[ -S $tmp/io.socket ]] || { cat "$tmp/mlockd.log" >&2; exit 1; }

# A domain XML of the usual size: memory, a VFIO hostdev, a disk, a NIC, the usual devices.
{
        echo "<domain type='kvm'><name>bench</name><memory unit='KiB'>262144</memory>"
        echo "<currentMemory unit='KiB'>262144</currentMemory><vcpu>2</vcpu>"
        echo "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>"
        echo "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/><source>"
        echo "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"
        for i in $(seq 1 40); do
                echo "<controller type='pci' index='$i' model='pcie-root-port'><target chassis='$i' port='0x$i'/></controller>"
        done
        echo "<interface type='user'><model type='virtio'/></interface></devices></domain>"
} >"$tmp/domain.xml"

n=0
# The floor: starting a process that does nothing, from the same shell, at the same load.
floor() {
        local t0 t1
        t0=$EPOCHREALTIME
        /bin/true <"$tmp/domain.xml"
        t1=$EPOCHREALTIME
        echo $((${t1/./} - ${t0/./}))
}
one() { # HOOK: prints the hook's wall time in microseconds
        local name=bench-$((n++)) t0 t1
        sleep 600 &
        pids+=($!)
        echo $! >"$tmp/qemu/$name.pid"
        t0=$EPOCHREALTIME
        "$1" "$name" started begin - <"$tmp/domain.xml" >/dev/null 2>>"$tmp/hook.log"
        t1=$EPOCHREALTIME
        echo $((${t1/./} - ${t0/./}))
        # Let the daemon's background lock of this guest finish before the next run.
        sleep 0.03
}

echo "warm-up ($warmup runs each), then $runs runs each, alternating" >&2
for ((i = 0; i < warmup; i++)); do
        one "$c_hook" >/dev/null
        one "$tmp/script-hook" >/dev/null
done
: >"$tmp/c.us"
: >"$tmp/script.us"
: >"$tmp/true.us"
for ((i = 0; i < runs; i++)); do
        floor >>"$tmp/true.us"
        if ((i % 2)); then
                one "$c_hook" >>"$tmp/c.us"
                one "$tmp/script-hook" >>"$tmp/script.us"
        else
                one "$tmp/script-hook" >>"$tmp/script.us"
                one "$c_hook" >>"$tmp/c.us"
        fi
done
listed=$(grep -c "handed qemu pid" "$tmp/hook.log" || true)
((listed == 2 * (runs + warmup))) ||
        { echo "only $listed of $((2 * (runs + warmup))) hook runs handed their guest over:" >&2
          tail -5 "$tmp/hook.log" >&2; exit 1; }

# stats FILE: "median p10 p90 min max" in ms (nearest-rank percentiles)
stats() {
        sort -n "$1" | awk '{ v[NR] = $1 } END {
                med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                i10 = int(0.1 * NR + 0.999); if (i10 < 1) i10 = 1
                i90 = int(0.9 * NR + 0.999); if (i90 > NR) i90 = NR
                printf "%.1f %.1f %.1f %.1f %.1f\n", med / 1000, v[i10] / 1000, v[i90] / 1000, v[1] / 1000, v[NR] / 1000
        }'
}
read -r cm c10 c90 cmin cmax < <(stats "$tmp/c.us")
read -r sm s10 s90 smin smax < <(stats "$tmp/script.us")
read -r tm t10 t90 tmin tmax < <(stats "$tmp/true.us")
ratio=$(awk -v a="$sm" -v b="$cm" 'BEGIN { printf "%.1f", a / b }')

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
quick_note=""
[[ ${MLOCKD_BENCH_QUICK:-0} == 1 ]] && quick_note=" (--quick: fewer runs, rough numbers)"
{
        echo "<!-- hook-latency:begin -->"
        echo "## libvirt hook latency (bench/hook-latency.sh)"
        echo
        echo "How long libvirt waits at \`started begin\` for the mlockd hook, with mlockd running:"
        echo "the C hook (\`libvirt/hook.c\`: one process, sd-bus straight to the socket, the XML"
        echo "parsed with libxml2) against the shell script it replaced"
        echo "(\`bench/baseline/libvirt-hook.sh\`: sed and three \`busctl\` runs). Each run hands a"
        echo "fresh stand-in guest to a real mlockd with a $(wc -c <"$tmp/domain.xml")-byte domain XML on stdin;"
        echo "the two alternate run by run after $warmup warm-up runs each. Times are wall clock from the"
        echo "calling shell, process start included (\`/bin/true\` shows what starting a process costs at"
        echo "the same time). The C hook waits for two round trips to mlockd (authentication, then Attach"
        echo "and Explain together); on a loaded machine each includes a wake-up of the daemon, which"
        echo "dominates. The daemon's state directory is on $statefs here (on a host it is \`/run/mlockd\`,"
        echo "a tmpfs: the Attach reply follows a state save with fsync, 3-8 ms on this machine's disk)."
        echo "Target for the C hook: a median of 10 ms or less."
        echo
        echo "Measured $(date -u +%Y-%m-%d) with \`bench/hook-latency.sh $runs\`$quick_note: $(nproc) CPUs"
        echo "(${cpu:-unknown CPU}), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
        echo
        echo "| hook | runs | median | p10 | p90 | min | max |"
        echo "|---|---|---|---|---|---|---|"
        echo "| C (\`libvirt/hook.c\`) | $runs | **$cm ms** | $c10 ms | $c90 ms | $cmin ms | $cmax ms |"
        echo "| shell script (old) | $runs | $sm ms | $s10 ms | $s90 ms | $smin ms | $smax ms |"
        echo "| \`/bin/true\` (process start, the floor) | $runs | $tm ms | $t10 ms | $t90 ms | $tmin ms | $tmax ms |"
        echo
        echo "The script takes ${ratio}x the C hook's median."
        echo "<!-- value hook.median_ms=$cm -->"
        echo "<!-- hook-latency:end -->"
} >"$tmp/section.md"

if [[ -f $doc ]]; then
        if grep -q '^<!-- hook-latency:begin -->$' "$doc"; then
                awk -v section="$tmp/section.md" '
                        /^<!-- hook-latency:begin -->$/ { while ((getline l < section) > 0) print l; skip = 1; next }
                        /^<!-- hook-latency:end -->$/ { skip = 0; next }
                        !skip { print }
                ' "$doc" >"$tmp/doc.md"
        else
                { cat "$doc"; echo; cat "$tmp/section.md"; } >"$tmp/doc.md"
        fi
        cat "$tmp/doc.md" >"$doc"
else
        echo "$doc does not exist; not written" >&2
fi
cat "$tmp/section.md"
