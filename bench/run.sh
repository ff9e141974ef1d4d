#!/usr/bin/env bash
# `make bench`: every benchmark, each bounded in time (the whole run stays under about
# 5 minutes), one line per figure, then a summary table (markdown, ready for
# docs/BENCHMARKS.md) that is also written to build/bench/summary.md.
#   1. bench/server.sh: start time, RSS, binary size and h2load against build/vkube;
#   2. every build/rel/bench/bench_* binary (built by `make bench` from bench/bench_*.c),
#      each under `timeout $BENCH_TIMEOUT` (default 60 s), its output printed as it is.
# Knobs: BENCH_TIMEOUT, SERVER_TIMEOUT (whole server.sh, default 200 s), and those of
# bench/server.sh (START_RUNS, H2_N, H1_N, H2_REPEAT, H2LOAD_TIMEOUT: 20 s per h2load run here).
set -u
cd "$(dirname "$0")/.."

BENCH_TIMEOUT=${BENCH_TIMEOUT:-60}
SERVER_TIMEOUT=${SERVER_TIMEOUT:-200}
export H2LOAD_TIMEOUT=${H2LOAD_TIMEOUT:-20}
OUT=build/bench
mkdir -p "$OUT"
SUMMARY=$OUT/figures.tsv
: >"$SUMMARY"
t_start=$(date +%s)

load() { cut -d' ' -f1-3 /proc/loadavg; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain 2>/dev/null)" ] && commit="$commit (working tree dirty)"
load_before=$(load)
echo "vkube benchmarks  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
echo "machine: $(nproc) CPUs, $cpu, $mem RAM, $(uname -srm)"
echo "load average (1/5/15 min) before: $load_before"
echo

echo "######## server (bench/server.sh, limit ${SERVER_TIMEOUT}s)"
VK_BENCH_SUMMARY=$SUMMARY timeout "$SERVER_TIMEOUT" bash bench/server.sh
rc=$?
if [ "$rc" -ne 0 ]; then
    msg="exit $rc"
    [ "$rc" -eq 124 ] && msg="timed out after ${SERVER_TIMEOUT}s"
    echo "bench/server.sh FAILED ($msg)"
    printf '%s\t%s\t%s\t%s\n' "bench/server.sh" "failed: $msg" "" "MISS" >>"$SUMMARY"
fi
echo

shopt -s nullglob
for b in build/rel/bench/bench_*; do
    [ -f "$b" ] && [ -x "$b" ] || continue
    name=$(basename "$b")
    echo "######## $name (limit ${BENCH_TIMEOUT}s)"
    t0=$(date +%s%N)
    timeout -k 5 "$BENCH_TIMEOUT" "$b" 2>&1 | sed 's/^/  /'
    rc=${PIPESTATUS[0]}
    secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    case $rc in
    0) verdict=OK; msg="ran in ${secs}s" ;;
    124) verdict=MISS; msg="timed out after ${BENCH_TIMEOUT}s" ;;
    *) verdict=MISS; msg="exit $rc after ${secs}s" ;;
    esac
    echo "$name: $msg"
    printf '%s\t%s\t%s\t%s\n' "$name (figures above)" "$msg" "" "$verdict" >>"$SUMMARY"
    echo
done

load_after=$(load)
misses=$(awk -F'\t' '$4 == "MISS"' "$SUMMARY" | wc -l)
{
    echo "## Summary"
    echo
    echo "commit $commit, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs ($cpu), load average before $load_before, after $load_after; run took $(($(date +%s) - t_start)) s"
    echo
    echo "| figure | value | target | |"
    echo "|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$SUMMARY"
    echo
    echo "$misses figure(s) miss their target"
} | tee "$OUT/summary.md"
