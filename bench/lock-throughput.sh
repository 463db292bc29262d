#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs bench/lock-throughput and publishes the result: the tables go into docs/benchmarks.md
# between the <!-- lock-throughput:begin/end --> markers (the rest of the file is left alone)
# and the plot into docs/lock-throughput.png.
#
#   bench/lock-throughput.sh [SIZES [RUNS]]    defaults: 4G,1G 7 (1G 3 with MLOCKD_BENCH_QUICK=1)
#
# SIZES is a comma-separated list of region sizes, one table each; the plot shows all of them.
# Uses $MLOCKD_BUILD_DIR if set (scripts/bench sets it), else builds the benchmark in
# build/bench-lock-throughput; writes $MLOCKD_BENCH_DOC if set. Prints the section on stdout.
# Needs CAP_IPC_LOCK (or RLIMIT_MEMLOCK above the size) and the size in free memory (exit 77
# otherwise); gnuplot for the plot.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${MLOCKD_BENCH_QUICK:-0} == 1 ]]; then
        sizes=${1:-1G}
        runs=${2:-3}
else
        sizes=${1:-4G,1G}
        runs=${2:-7}
fi
build=${MLOCKD_BUILD_DIR:-$top/build/bench-lock-throughput}
bin=$build/bench/lock-throughput
doc=${MLOCKD_BENCH_DOC:-$top/docs/benchmarks.md}
png=$(dirname "$doc")/lock-throughput.png

if [[ -z ${MLOCKD_BUILD_DIR:-} ]]; then
        cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
        cmake --build "$build" --target bench-lock-throughput -j "$(nproc)" >/dev/null
fi
[[ -x $bin ]] || { echo "$bin is missing" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

IFS=, read -ra size_list <<<"$sizes"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in "${!size_list[@]}"; do
        size=${size_list[$i]}
        echo "running $bin --size $size --runs $runs (this takes a while)" >&2
        rc=0
        "$bin" --size "$size" --runs "$runs" --tsv "$tmp/data$i.tsv" >"$tmp/table$i.md" || rc=$?
        if ((rc != 0)); then
                echo "lock-throughput --size $size failed (exit $rc); $doc left as it was" >&2
                exit "$rc"
        fi
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
thp=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null ||
        echo unknown)
{
        echo "<!-- lock-throughput:begin -->"
        echo "## Lock throughput (bench/lock-throughput)"
        echo
        echo "How fast a region of anonymous memory becomes locked and resident: (a) \`mmap\` then"
        echo "\`mlockall(MCL_CURRENT|MCL_FUTURE)\` as QEMU \`mem-lock=on\` does, (a') the same after"
        echo "\`MADV_HUGEPAGE\`, (b) the shim's path (\`shim_lock()\` in \`shim/shim-lock.c\`: lock on"
        echo "fault, prefault the private writable mappings with N threads via"
        echo "\`MADV_POPULATE_WRITE\`, THP on or off, then \`mlockall\`), and (c) \`memset\` over the"
        echo "region once resident, the memory-bandwidth ceiling. Ratios are of medians; min and max"
        echo "show the spread over the runs (the error bars of the plot)."
        echo
        echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`bench/lock-throughput.sh $sizes $runs\`:"
        echo "$(nproc) CPUs (${cpu:-unknown CPU}), Linux $(uname -r), THP \`$thp\`, load average"
        echo "$load_start at the start and $load_end at the end."
        for i in "${!size_list[@]}"; do
                echo
                echo "### ${size_list[$i]} region"
                echo
                cat "$tmp/table$i.md"
                # How far a 3x speedup over (a) can go here: populating memory means zeroing it,
                # so (b) cannot beat the memset ceiling (c).
                awk -F'\t' '
                        $2 == 0 { a = $5 } $2 == 3 && $5 > c { c = $5 }
                        END {
                                if (a <= 0) exit
                                verdict = (c / a >= 3) ? "within the measured memory bandwidth" : \
                                        "beyond the memory bandwidth measured in this run: the kernel zeroes every page it hands out, so no prefault beats memset"
                                printf "\nCeiling here: best (c) / (a) = %.2fx, so the target of 3x (a) is %s.\n", c / a, verdict
                        }' "$tmp/data$i.tsv"
        done
        # Under a hypervisor with free page reporting, freed memory goes back to the host and
        # comes back through host page faults: the spread of the huge-page rows.
        for f in /sys/bus/virtio/drivers/virtio_balloon/virtio*/features; do
                [[ -r $f ]] || continue
                if [[ $(cut -c6 "$f") == 1 ]]; then
                        echo
                        echo "This machine is a VM whose virtio-balloon reports free pages to the host"
                        echo "(VIRTIO_BALLOON_F_REPORTING): free huge pages go back to the host ~2 s after they"
                        echo "are freed, and touching them again costs host page faults. The benchmark prewarms"
                        echo "the memory before each run, which is not enough for large regions: the THP rows"
                        echo "(with and without the shim) spread widely there, 4 KiB rows do not."
                fi
        done
        echo
        echo "![lock throughput](lock-throughput.png)"
        # Machine-readable values for summaries (scripts/bench), from the first size.
        awk -F'\t' '
                $2 == 0 { a = $5 } $2 == 2 && $5 > b { b = $5 } $2 == 3 && $5 > c { c = $5 }
                END {
                        if (a > 0 && c > 0)
                                printf "<!-- value lock.best_shim_vs_mlockall=%.2f -->" \
                                       "<!-- value lock.best_shim_vs_memset=%.2f -->\n", b / a, b / c
                }' "$tmp/data0.tsv"
        echo "<!-- lock-throughput:end -->"
} >"$tmp/section.md"

# Replace our section, or append it; the rest of the file belongs to other benchmarks.
if [[ ! -f $doc ]]; then
        printf '# Benchmarks\n\nEach section is written by its bench/*.sh script.\n\n' >"$doc"
fi
if grep -q '^<!-- lock-throughput:begin -->$' "$doc"; then
        awk -v section="$tmp/section.md" '
                /^<!-- lock-throughput:begin -->$/ {
                        while ((getline l < section) > 0)
                                print l
                        skip = 1
                        next
                }
                /^<!-- lock-throughput:end -->$/ { skip = 0; next }
                !skip { print }
        ' "$doc" >"$tmp/doc.md"
else
        { cat "$doc"; echo; cat "$tmp/section.md"; } >"$tmp/doc.md"
fi
cat "$tmp/doc.md" >"$doc"
cat "$tmp/section.md"

if ! command -v gnuplot >/dev/null; then
        echo "gnuplot is missing: no plot" >&2
        exit 0
fi
# Reference lines from the first size: the baseline (a), 3x (a), 0.7x the best memset (c).
a=$(awk -F'\t' '$2 == 0 { print $5 }' "$tmp/data0.tsv")
c=$(awk -F'\t' '$2 == 3 && $5 > m { m = $5 } END { print m }' "$tmp/data0.tsv")
n=${#size_list[@]}
plot=""
for i in "${!size_list[@]}"; do
        # Bars of the sizes side by side around each configuration's tic.
        off=$(awk -v i="$i" -v n="$n" 'BEGIN { printf "%.3f", (i - (n - 1) / 2) * 0.8 / n }')
        [[ -n $plot ]] && plot+=", "
        plot+="\"$tmp/data$i.tsv\" using (\$0 + $off):5 with boxes lc $((i + 1)) title \"${size_list[$i]}\""
        plot+=", \"\" using (\$0 + $off):5:6:7 with yerrorbars lc rgb \"#333333\" pt -1 notitle"
        plot+=", \"\" using (\$0 + $off):7:(sprintf(\"%.1f\", \$5)) with labels offset 0,0.7 font \",9\" notitle"
done
gnuplot <<EOF_PLOT
set terminal pngcairo size 1200,700 font "sans,11"
set output "$png"
set title "Locking anonymous memory: median GB/s of $runs interleaved runs, bars min..max ($(nproc) CPUs)"
set ylabel "GB/s (10^9 bytes/s)"
set yrange [0:*]
set xrange [-0.6:*]
set style fill solid 0.8 border -1
set boxwidth $(awk -v n="$n" 'BEGIN { printf "%.3f", 0.8 / n }')
set xtics rotate by -35 left nomirror
set bmargin 11
set rmargin 14
set grid ytics
set key top left
set datafile separator "\t"
set arrow from graph 0, first $a to graph 1, first $a nohead dt 2 lc rgb "#444444"
set label "(a), ${size_list[0]}" at graph 1.01, first $a left
set arrow from graph 0, first 3*$a to graph 1, first 3*$a nohead dt 3 lc rgb "#aa0000"
set label "3x (a)" at graph 1.01, first 3*$a left offset 0,0.5 tc rgb "#aa0000"
set arrow from graph 0, first 0.7*$c to graph 1, first 0.7*$c nohead dt 4 lc rgb "#0055aa"
set label "0.7x best (c)" at graph 1.01, first 0.7*$c left offset 0,-0.5 tc rgb "#0055aa"
plot "$tmp/data0.tsv" using 0:(1/0):xtic(1) notitle, $plot
EOF_PLOT
echo "wrote $doc and $png" >&2
