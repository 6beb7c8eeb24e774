#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# balance.sh: benchmark a push link's two ways of dealing messages to the
# instances of its consumer, round robin (balance=rr, the default) and by
# demand (balance=demand), against their references in the same run (not a
# test). Two parts, repetitions interleaved, medians of RUNS:
#
#   uneven   range (N items, batch 1) -> 2 workers -> collect, where worker
#            0 spends SLOW_MS on each message and worker 1 FAST_MS (the test
#            fixture slowone, which sleeps: what is measured is the dealing,
#            not the CPU). Against the same work in Python,
#            Pool(2).imap_unordered(chunksize=1) with the same paces
#            (tools/bench/python/uneven.py), whose workers take the next
#            task when done. Also shown, computed and not measured: the
#            wall time of a perfect dealing, N / (1/SLOW_MS + 1/FAST_MS).
#   cost     range -> collect(mode=count), int64 items in messages of 16
#            (152 bytes), over a round robin link (its default hwm), over
#            a demand link without an hwm (its credit window adapts) and
#            over demand links of several hwm (HWMS, a fixed window):
#            messages/s net of flowrun's start-up (a run of 0 items), and
#            the ratio to round robin. MSGS messages per run (default
#            10^6), fewer for a small hwm (25000 x hwm), whose rate the
#            credits' round trips bound.
#
#   tools/bench/balance.sh [BUILD_DIR]           # default BUILD_DIR: ./build
#   RUNS=5 N=2000 SLOW_MS=4 FAST_MS=1 tools/bench/balance.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
flowrun=${FLOWRUN:-$build/bin/flowrun}
fixtures=$build/tests/fixtures/nodes/plugins
runs=${RUNS:-5}
n=${N:-1000}
slow_ms=${SLOW_MS:-4}
fast_ms=${FAST_MS:-1}
msgs_max=${MSGS:-1000000}
hwms=${HWMS:-1 16 256 1000}

die() {
    echo "balance.sh: $*" >&2
    exit 1
}

[[ -x $flowrun ]] || die "no flowrun at '$flowrun' (build first, or set FLOWRUN)"
[[ -f $fixtures/slowone.so ]] ||
    die "no $fixtures/slowone.so (build the tests: cmake --build $build)"
command -v python3 >/dev/null || die "python3 is needed for the reference"

tmp=$(mktemp -d /tmp/flow-bench-balance.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

calc() {
    awk "BEGIN { printf \"%.6f\", $* }"
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

cat >"$tmp/u.ini" <<EOF
[graph]
balance = rr
[src]
type = range
count = $n
[w]
type = slowone
instances = 2
ms = $slow_ms
others_ms = $fast_ms
[out]
type = collect
[links]
push = src.out -> w.in batch=1 balance=\${balance}
push = w.out -> out.in
EOF

cat >"$tmp/cost.ini" <<EOF
[graph]
items = 0
balance = rr
hwm = 1
[src]
type = range
count = \${items}
[out]
type = collect
mode = count
[links]
push = src.out -> out.in batch=16 balance=\${balance} hwm=\${hwm}
EOF
# shellcheck disable=SC2016 # the literal ${hwm} of the graph
sed '/hwm=\${hwm}/s/ hwm=\${hwm}//' "$tmp/cost.ini" >"$tmp/cost_rr.ini"

# Seconds of one uneven flow run with `balance`; checks that every item
# came once, and writes the share of worker 0 to $tmp/share.
uneven_flow() {
    local t0 t1 out
    t0=$EPOCHREALTIME
    out=$("$flowrun" "$tmp/u.ini" --plugin-path "$fixtures" \
        --set balance="$1" 2>"$tmp/err") ||
        die "flowrun (uneven, $1) failed: $(cat "$tmp/err")"
    t1=$EPOCHREALTIME
    local got
    got=$(awk '{ print $1 % 1000000 }' <<<"$out" | sort -n | uniq | wc -l)
    [[ $got == "$n" ]] || die "uneven $1: $got distinct items, expected $n"
    awk '$1 < 1000000 { k++ } END { print k + 0 }' <<<"$out" >"$tmp/share"
    calc "$t1 - $t0"
}

uneven_py() {
    local t0 t1 out
    t0=$EPOCHREALTIME
    out=$(python3 "$root/tools/bench/python/uneven.py" "$n" "$slow_ms" \
        "$fast_ms" 2)
    t1=$EPOCHREALTIME
    [[ ${out%% *} == "$n" ]] || die "uneven.py printed '$out'"
    echo "${out##* }" >"$tmp/share"
    calc "$t1 - $t0"
}

# Seconds of one cost run of `items` items; `graph` and the --set
# arguments after them.
cost_once() {
    local t0 t1 out items=$1 g=$2
    shift 2
    t0=$EPOCHREALTIME
    out=$("$flowrun" "$g" --set items="$items" "$@" 2>"$tmp/err") ||
        die "flowrun (cost $*) failed: $(cat "$tmp/err")"
    t1=$EPOCHREALTIME
    [[ $out == "$items" ]] || die "cost $*: counted '$out', expected $items"
    calc "$t1 - $t0"
}

# Messages of a cost run with a demand link of hwm `h`.
cost_msgs() {
    local m=$((25000 * $1))
    echo $((m < msgs_max ? m : msgs_max))
}

echo "flow balance benchmark: a push link's round robin and demand dealing"
echo "machine: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
    "nproc $(nproc), $(uname -sr)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median of $runs interleaved runs"
echo
echo "uneven workers: $n messages of 1 item, worker 0 ${slow_ms} ms each," \
    "worker 1 ${fast_ms} ms each (sleeps)"
rr=() dm=() py=() srr=() sdm=() spy=()
for ((r = 0; r < runs; r++)); do
    rr+=("$(uneven_flow rr)")
    srr+=("$(cat "$tmp/share")")
    dm+=("$(uneven_flow demand)")
    sdm+=("$(cat "$tmp/share")")
    py+=("$(uneven_py)")
    spy+=("$(cat "$tmp/share")")
done
ideal=$(calc "$n / (1 / $slow_ms + 1 / $fast_ms) / 1000")
m_rr=$(median "${rr[@]}") m_dm=$(median "${dm[@]}") m_py=$(median "${py[@]}")
printf '  %-34s %8s %12s\n' "" "wall s" "worker 0 did"
printf '  %-34s %8.3f %12s\n' "flow, balance=rr" "$m_rr" "$(median "${srr[@]}" | cut -d. -f1)"
printf '  %-34s %8.3f %12s\n' "flow, balance=demand" "$m_dm" "$(median "${sdm[@]}" | cut -d. -f1)"
printf '  %-34s %8.3f %12s\n' "Python Pool.imap_unordered, chunk 1" "$m_py" "$(median "${spy[@]}" | cut -d. -f1)"
printf '  %-34s %8.3f %12s\n' "perfect dealing (computed)" "$ideal" \
    "$(calc "$n * $fast_ms / ($slow_ms + $fast_ms)" | cut -d. -f1)"
echo "  demand / rr, wall time: $(calc "$m_dm / $m_rr" | awk '{ printf "%.2f", $1 }')x" \
    "(rr takes $(calc "$m_rr / $m_dm" | awk '{ printf "%.2f", $1 }')x as long)"
echo "  flow demand / Python Pool, wall time: $(calc "$m_dm / $m_py" | awk '{ printf "%.2f", $1 }')x"
echo
echo "cost of the credits: int64 items in messages of 16 (152 bytes)"
base=() zero=() adapt=()
declare -A dem
for ((r = 0; r < runs; r++)); do
    zero+=("$(cost_once 0 "$tmp/cost_rr.ini" --set balance=rr)")
    base+=("$(cost_once $((msgs_max * 16)) "$tmp/cost_rr.ini" --set balance=rr)")
    adapt+=("$(cost_once $((msgs_max * 16)) "$tmp/cost_rr.ini" \
        --set balance=demand)")
    for h in $hwms; do
        dem[$h]+="$(cost_once $(($(cost_msgs "$h") * 16)) "$tmp/cost.ini" \
            --set balance=demand --set hwm="$h") "
    done
done
start=$(median "${zero[@]}")
rate_rr=$(calc "$msgs_max / ($(median "${base[@]}") - $start)")
printf '  flowrun start-up (0 items): %.0f ms\n' "$(calc "$start * 1000")"
printf '  %-28s %9s %12s %8s\n' "" "messages" "msgs/s net" "/ rr"
printf '  %-28s %9d %12.0f %8s\n' "balance=rr (default hwm)" "$msgs_max" \
    "$rate_rr" "1.00x"
rate=$(calc "$msgs_max / ($(median "${adapt[@]}") - $start)")
printf '  %-28s %9d %12.0f %7.2fx\n' "balance=demand (adapting)" \
    "$msgs_max" "$rate" "$(calc "$rate / $rate_rr")"
for h in $hwms; do
    # shellcheck disable=SC2086 # the runs, split
    rate=$(calc "$(cost_msgs "$h") / ($(median ${dem[$h]}) - $start)")
    printf '  %-28s %9d %12.0f %7.2fx\n' "balance=demand hwm=$h" \
        "$(cost_msgs "$h")" "$rate" "$(calc "$rate / $rate_rr")"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
