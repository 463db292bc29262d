#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs bench/attach-latency and publishes the result: the table goes into docs/benchmarks.md
# between the <!-- attach-latency:begin/end --> markers (the rest of the file is left alone)
# and is printed on stdout with its markers.
#
#   bench/attach-latency.sh [SIZES [RUNS]]   defaults: 1G,2G,4G 9 (1G,2G 3 with MLOCKD_BENCH_QUICK=1)
#
# Uses $MLOCKD_BUILD_DIR if set (scripts/bench sets it), else builds the benchmark in
# build/bench-attach-latency; writes $MLOCKD_BENCH_DOC if set. Needs root-like privileges
# (CAP_IPC_LOCK, CAP_SYS_PTRACE) and the largest size of free memory (exit 77 otherwise).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${MLOCKD_BENCH_QUICK:-0} == 1 ]]; then
        sizes=${1:-1G,2G}
        runs=${2:-3}
else
        sizes=${1:-1G,2G,4G}
        runs=${2:-9}
fi
build=${MLOCKD_BUILD_DIR:-$top/build/bench-attach-latency}
bin=$build/bench/attach-latency
doc=${MLOCKD_BENCH_DOC:-$top/docs/benchmarks.md}

if [[ -z ${MLOCKD_BUILD_DIR:-} ]]; then
        cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
        cmake --build "$build" --target bench-attach-latency -j "$(nproc)" >/dev/null
fi
[[ -x $bin ]] || { echo "$bin is missing" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "running $bin --sizes $sizes --runs $runs" >&2
rc=0
"$bin" --sizes "$sizes" --runs "$runs" --tsv "$tmp/data.tsv" >"$tmp/table.md" || rc=$?
if ((rc != 0)); then
        echo "attach-latency failed (exit $rc); $doc left as it was" >&2
        exit "$rc"
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
thp=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)
quick_note=""
[[ ${MLOCKD_BENCH_QUICK:-0} == 1 ]] && quick_note=" (--quick: fewer runs and sizes, rough numbers)"
{
        echo "<!-- attach-latency:begin -->"
        echo "## Attach latency (bench/attach-latency)"
        echo
        echo "How long attaching to an idle, running process takes: mlockd's path"
        echo "(\`inject_job_run()\` in \`daemon/helpers/inject-job.c\`: fork the helper, \`PTRACE_SEIZE\` and"
        echo "interrupt the target's main thread, inject \`mlockall(MCL_CURRENT)\` through a \`syscall\`"
        echo "instruction of its vDSO, restore, detach, report), timed end to end from outside, against"
        echo "the same \`mlockall(MCL_CURRENT)\` called by the process itself. Each measurement uses a"
        echo "fresh target with the given size of resident anonymous memory; the two methods alternate"
        echo "run by run. Medians (and the fastest run); the ratio is attach / inside, of the medians"
        echo "and of the fastest runs (target: at most 1.1x). \"Of which the"
        echo "injected \`mlockall\`\" is the helper's own timing of \`inject_syscall()\` (seize to detach);"
        echo "the rest is forking the helper and reporting. The fixed cost below (a 1 MiB process)"
        echo "is what injection adds; the rest is the kernel's \`mlockall\` work, the same in both."
        echo "On a shared, loaded machine single medians move by tens of percent between runs in"
        echo "both columns (see the load average): compare the fixed cost, which is small."
        echo
        echo "Measured $(date -u +%Y-%m-%d) with \`bench/attach-latency.sh $sizes $runs\`$quick_note:"
        echo "$(nproc) CPUs (${cpu:-unknown CPU}), Linux $(uname -r), THP \`$thp\`, load average"
        echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end."
        echo
        cat "$tmp/table.md"
        # Machine-readable: the ratio at the largest size, for the summary (scripts/bench).
        awk -F'|' 'NR > 2 && NF > 7 { gsub(/[ x]/, "", $6); last = $6 } END { if (last != "") printf "<!-- value attach.ratio_largest=%s -->\n", last }' "$tmp/table.md"
        echo "<!-- attach-latency:end -->"
} >"$tmp/section.md"

if [[ -f $doc ]]; then
        if grep -q '^<!-- attach-latency:begin -->$' "$doc"; then
                awk -v section="$tmp/section.md" '
                        /^<!-- attach-latency:begin -->$/ { while ((getline l < section) > 0) print l; skip = 1; next }
                        /^<!-- attach-latency:end -->$/ { skip = 0; next }
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
