#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs after every script test (CTest fixture "mlockd-cgroups"): removes the empty workload
# cgroups that test daemons left in this process's v1 memory cgroup when a test killed its
# daemon with SIGKILL (a daemon that exits removes its own). Only mlockd's names, only empty
# directories: a cgroup with a process in it is never touched, and rmdir fails on one anyway.
set -uo pipefail

memcg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
root=/sys/fs/cgroup/memory${memcg%/}
[[ -n $memcg && -d $root ]] || { echo "no v1 memory cgroup: nothing to sweep"; exit 0; }
n=0
for sub in "$root"/mlockd-*/; do
        [[ -d $sub && $(basename "$sub") =~ ^mlockd-[0-9a-f]{8}$ ]] || continue
        for w in "$sub"workload-*/; do
                [[ -d $w ]] && rmdir "$w" 2>/dev/null && n=$((n + 1))
        done
        rmdir "$sub" 2>/dev/null
done
left=$(find "$root" -maxdepth 2 -regextype egrep -regex '.*/mlockd-[0-9a-f]{8}(/workload-.*)?' 2>/dev/null)
echo "removed $n empty workload cgroups${left:+; still in use: $left}"
