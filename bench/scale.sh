#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The cost of mlockd's whole-table calls at the daemon's current size, as one tab-separated
# line:
#   workloads list_p50_ms list_p99_ms getall_p50_ms getall_p99_ms metrics_median_ms
#   metrics_p99_ms metrics_min_ms metrics_max_ms list_cli_median_ms metrics_runs run_median_ms
# ListWorkloads and GetAll are timed on one connection (bench/bus-load latency); `memlockctl
# metrics` and `memlockctl list` are timed as whole commands (bench/spawn-overhead), since that
# is what a monitoring scrape or a user pays; so is `memlockctl run -- /bin/true`, whose
# admission looks at the whole table (budget, state file).
#
#   bench/scale.sh BENCH_BIN_DIR MEMLOCKCTL SOCKET [CALLS] [RUNS]
set -euo pipefail

bin=${1:?usage: scale.sh BENCH_BIN_DIR MEMLOCKCTL SOCKET [CALLS] [RUNS]}
ctl=${2:?}
sock=${3:?}
calls=${4:-200}
runs=${5:-30}

n=$("$bin/bus-load" pids --socket "$sock" | wc -l)
# Each measurement is also bounded in time, so that a slow daemon shows as slow, not as a hang.
read -r _ lp50 lp99 _ _ < <("$bin/bus-load" latency --socket "$sock" --call list \
        --calls "$calls" --max-seconds 10)
gp50=- gp99=-
if ((n > 0)); then
        read -r _ gp50 gp99 _ _ < <("$bin/bus-load" latency --socket "$sock" --call getall \
                --calls "$((calls * 5))" --max-seconds 10)
fi
# spawn-overhead --format tsv: name runs median p99 min max failures
metrics=$("$bin/spawn-overhead" --runs "$runs" --warmup 1 --max-seconds 30 --format tsv \
        "metrics=$ctl --socket $sock metrics" "list=$ctl --socket $sock list" \
        "run=$ctl --socket $sock run -- /bin/true")
read -r _ mruns mmed mp99 mmin mmax _ < <(grep '^metrics' <<<"$metrics")
read -r _ _ lmed _ _ _ _ < <(grep '^list' <<<"$metrics")
read -r _ _ rmed _ _ _ _ < <(grep '^run' <<<"$metrics")
ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.3f", v / 1000 }'; }
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$(ms "$lp50")" "$(ms "$lp99")" \
        "$(ms "$gp50")" "$(ms "$gp99")" "$mmed" "$mp99" "$mmin" "$mmax" "$lmed" "$mruns" "${rmed:--}"
