#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What containment costs (docs/SECURITY.md, "Containment"): two daemons in the same run, one
# that puts every workload in a memory cgroup with a seccomp filter (the backend this machine
# offers), one that cannot (started with the cgroup mounts hidden, its policy saying
# Containment=optional), and the same commands through both, interleaved run by run by
# bench/spawn-overhead:
#  - Run latency: `memlockctl run -- /bin/true` as uid 65534 (the capability path: cgroup +
#    seccomp + CAP_IPC_LOCK), against the same without containment;
#  - lock throughput: `memlockctl run -- touch-locked 512` (512 MiB touched under mlockall
#    MCL_FUTURE, every page locked and, contained, charged to the cgroup).
# Prints the section between <!-- containment:begin/end --> markers (scripts/bench puts it in
# docs/benchmarks.md). Needs root, a memory cgroup controller, unshare.
#
#   bench/containment.sh [RUNS]     default 200 (60 with MLOCKD_BENCH_QUICK=1)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${MLOCKD_BUILD_DIR:-$top/build/bench}
quick=${MLOCKD_BENCH_QUICK:-0}
runs=${1:-$( ((quick)) && echo 60 || echo 200)}
lock_runs=$( ((quick)) && echo 10 || echo 30)
mib=512
daemon=$build/daemon/mlockd
ctl=$build/client/memlockctl
spawn=$build/bench/spawn-overhead
touch=$build/bench/touch-locked
shim=$(find "$build" -name libmemlock-shim.so -print -quit)

[[ $(id -u) == 0 ]] || { echo "needs root" >&2; exit 77; }
for f in "$daemon" "$ctl" "$spawn" "$touch" "$shim"; do
        [[ -e $f ]] || { echo "$f is missing" >&2; exit 1; }
done
command -v unshare >/dev/null || { echo "unshare missing" >&2; exit 77; }

tmp=$(mktemp -d /tmp/mlockd-bench-containment.XXXXXX)
chmod 0755 "$tmp"
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
        rm -rf "$tmp"
}
trap cleanup EXIT
cp "$touch" "$tmp/touch-locked"
chmod 0755 "$tmp/touch-locked"

start() { # NAME CONTAINMENT [PREFIX...]
        local d=$tmp/$1
        mkdir -p "$d/state" "$d/policy.d"
        printf '[Daemon]\nBudget=infinity\nMaxLockedPerUser=infinity\nMaxWorkloadsPerUser=65536\n' \
                >"$d/mlockd.conf"
        cat >"$d/policy.d/50-bench.policy" <<POLICY
[Lock]
Mode=on
Limit=1G
PrefaultThreads=0
OnFailure=continue
Containment=$2

[Access]
AllowUsers=root nobody
AllowRun=yes
POLICY
        chmod 0644 "$d/mlockd.conf" "$d/policy.d/50-bench.policy"
        chmod 0755 "$d"
        "${@:3}" "$daemon" --socket "$d/io.socket" --state-dir "$d/state" \
                --policy-dir "$d/policy.d" --config "$d/mlockd.conf" --shim "$shim" \
                >"$d/log" 2>&1 &
        pids+=($!)
        for _ in $(seq 100); do [[ -S $d/io.socket ]] && return 0; sleep 0.05; done
        echo "mlockd '$1' did not start: $(tail -3 "$d/log")" >&2
        exit 1
}
start contained required
start uncontained optional unshare -m sh -c 'mount -t tmpfs none /sys/fs/cgroup && exec "$@"' sh
backend=$(sed -n 's/.*Containment: \([^ ]*\) .*/\1/p' "$tmp/contained/log" | head -1)
[[ -n $backend && $backend != none* ]] ||
        { echo "no containment backend here: $(grep Containment "$tmp/contained/log")" >&2; exit 77; }
grep -q "Containment: none" "$tmp/uncontained/log" || { echo "the baseline is contained" >&2; exit 1; }

as_nobody="setpriv --reuid 65534 --regid 65534 --clear-groups"
run() { echo "$as_nobody $ctl --socket $tmp/$1/io.socket --quiet run -- ${*:2}"; }

"$spawn" --runs "$runs" --warmup 10 --baseline uncontained --format markdown \
        direct=/bin/true uncontained="$(run uncontained /bin/true)" \
        contained="$(run contained /bin/true)" >"$tmp/latency.md" 2>"$tmp/latency.err" ||
        { cat "$tmp/latency.err" >&2; exit 1; }
"$spawn" --runs "$lock_runs" --warmup 2 --baseline uncontained --format markdown \
        uncontained="$(run uncontained "$tmp/touch-locked" $mib)" \
        contained="$(run contained "$tmp/touch-locked" $mib)" >"$tmp/lock.md" 2>"$tmp/lock.err" ||
        { cat "$tmp/lock.err" >&2; exit 1; }

cat <<EOF
<!-- containment:begin -->
## Containment

What it costs to put every workload in a memory cgroup (here: \`$backend\`) and under the
workload seccomp filter, against the same daemon without containment (started with the cgroup
mounts hidden, policy \`Containment=optional\`), both in the same run, commands interleaved
run by run, as uid 65534 (the capability path). Load average at the start:
$(cut -d' ' -f1-3 /proc/loadavg).

**Run latency**, \`memlockctl run -- /bin/true\` ($runs runs, 10 warm-up):

$(cat "$tmp/latency.md")

**Lock throughput**, \`memlockctl run -- touch-locked $mib\`: $mib MiB touched under
\`mlockall(MCL_CURRENT|MCL_FUTURE)\`, every page locked as it is faulted in and, contained,
charged to the workload's cgroup ($lock_runs runs, 2 warm-up):

$(cat "$tmp/lock.md")

Command: \`bench/containment.sh $runs\` (also \`scripts/bench --only containment\`).
<!-- containment:end -->
EOF
