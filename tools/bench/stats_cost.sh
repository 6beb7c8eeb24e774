#!/bin/bash
# tools/bench/stats_cost.sh [BUILD_DIR]: what the run-time counters cost.
# Times the push graph (range -> collect) with the counters on and off
# (FLOW_STATS=0), alternating, and prints the median throughput of each and
# their ratio. Not a test: issue 6 asks for counting to cost <= 2%.
set -euo pipefail
build=${1:-build}
flowrun=$build/bin/flowrun
graph=$(dirname "$0")/push.ini
runs=${RUNS:-5}
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-6s %12s %14s %14s %8s\n' batch items "on items/s" "off items/s" on/off
for spec in ${SPECS:-"16:20000000" "1024:400000000"}; do
    batch=${spec%%:*} items=${spec##*:}
    on=() off=()
    for _ in $(seq "$runs"); do
        for mode in on off; do
            t0=$(now)
            if [ $mode = on ]; then
                out=$("$flowrun" "$graph" --set items="$items" --set batch="$batch")
            else
                out=$(FLOW_STATS=0 "$flowrun" "$graph" --set items="$items" --set batch="$batch")
            fi
            t1=$(now)
            [ "$out" = "$items" ] || { echo "wrong count: $out" >&2; exit 1; }
            rate=$(echo "$items / ($t1 - $t0)" | bc -l)
            if [ $mode = on ]; then on+=("$rate"); else off+=("$rate"); fi
        done
    done
    mon=$(printf '%s\n' "${on[@]}" | median)
    moff=$(printf '%s\n' "${off[@]}" | median)
    printf '%-6s %12s %14.0f %14.0f %8.3f\n' "$batch" "$items" "$mon" "$moff" \
        "$(echo "$mon / $moff" | bc -l)"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
