#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs after every script test (CTest fixture "mlockd-cgroups"): cleans up the workload cgroups
# that test daemons left in this process's v1 memory cgroup, when a test killed its daemon with
# SIGKILL (a daemon that exits removes what is empty) or left a workload running. Only the
# subtrees of test daemons (mlockd-<hash of a state directory>, below the memory cgroup this
# test run is in; an installed daemon uses "mlockd"): a process still in one is a workload a
# test leaked, and is killed; then the empty directories are removed. (Two test runs at once in
# one memory cgroup would meet here: the second one's sweep would end the first one's workloads.)
set -uo pipefail

memcg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
root=/sys/fs/cgroup/memory${memcg%/}
[[ -n $memcg && -d $root ]] || { echo "no v1 memory cgroup: nothing to sweep"; exit 0; }
n=0
killed=0
for sub in "$root"/mlockd-*/; do
        [[ -d $sub && $(basename "$sub") =~ ^mlockd-[0-9a-f]{8}$ ]] || continue
        for w in "$sub"workload-*/; do
                [[ -d $w ]] || continue
                while read -r p; do
                        [[ -n $p ]] && kill -9 "$p" 2>/dev/null && killed=$((killed + 1))
                done <"$w/cgroup.procs"
                for _ in $(seq 40); do
                        rmdir "$w" 2>/dev/null && { n=$((n + 1)); break; }
                        sleep 0.05
                done
        done
        rmdir "$sub" 2>/dev/null
done
left=$(find "$root" -maxdepth 2 -regextype egrep -regex '.*/mlockd-[0-9a-f]{8}(/workload-.*)?' 2>/dev/null)
echo "removed $n workload cgroups of test daemons, killed $killed leaked workload processes${left:+; left: $left}"
[[ -z $left ]]
