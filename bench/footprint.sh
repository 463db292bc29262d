#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The memory footprint of one process, as one tab-separated line of KiB values:
#   VmRSS RssAnon RssFile RssShmem VmLck Pss VmSize
# (Pss from /proc/PID/smaps_rollup: shared library pages divided among their users.)
# With --top N: instead, the N largest contributors to RSS, one "KiB<TAB>mapping" line each,
# the mappings of one file summed ([heap], [stack] and anonymous ones by their name).
#
# With --cpu SECONDS: instead, the CPU time the process used over that many seconds, in percent
# of one core (a daemon nobody calls should use about none).
#
#   bench/footprint.sh PID
#   bench/footprint.sh --top N PID
#   bench/footprint.sh --cpu SECONDS PID
set -euo pipefail

top=0
cpu=0
case ${1:-} in
--top) top=${2:?--top needs a count}; shift 2 ;;
--cpu) cpu=${2:?--cpu needs seconds}; shift 2 ;;
esac
pid=${1:?usage: footprint.sh [--top N | --cpu SECONDS] PID}
[[ -r /proc/$pid/status ]] || { echo "footprint.sh: no process $pid" >&2; exit 1; }

if ((cpu > 0)); then
        ticks() { # utime + stime, fields 14 and 15 after the ")" that ends the comm field
                sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
        }
        t0=$(ticks)
        sleep "$cpu"
        t1=$(ticks)
        awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" -v s="$cpu" \
                'BEGIN { printf "%.1f\n", (b - a) / hz / s * 100 }'
        exit 0
fi

if ((top > 0)); then
        # smaps: a header line per mapping (address range first), then "Key: N kB" lines.
        awk '
                $1 ~ /^[0-9a-f]+-[0-9a-f]+$/ { name = (NF >= 6 ? $6 : "[anonymous]"); next }
                $1 == "Rss:" { rss[name] += $2 }
                END { for (n in rss) if (rss[n] > 0) printf "%d\t%s\n", rss[n], n }
        ' "/proc/$pid/smaps" | sort -rn | head -n "$top"
        exit 0
fi

field() { # FILE KEY: the kB value of "KEY: N kB", 0 if absent
        awk -v k="$2:" '$1 == k { print $2; found = 1; exit } END { if (!found) print 0 }' "$1"
}

status=$(cat "/proc/$pid/status")
rollup=$(cat "/proc/$pid/smaps_rollup" 2>/dev/null || true)
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$(field <(echo "$status") VmRSS)" \
        "$(field <(echo "$status") RssAnon)" \
        "$(field <(echo "$status") RssFile)" \
        "$(field <(echo "$status") RssShmem)" \
        "$(field <(echo "$status") VmLck)" \
        "$(field <(echo "$rollup") Pss)" \
        "$(field <(echo "$status") VmSize)"
