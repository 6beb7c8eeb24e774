#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# sieve.sh: benchmark the parallel prime sieve graph (not a test).
#
# Times `flowrun graphs/sieve.ini --set output=count` at each limit next to
# `primesieve -c -t 2` and next to the same graph with one segment, all in
# the same run, and prints the ratios. Then it measures the peak RSS of every
# process of the graph at the largest limit, twice over: VmHWM of each child
# of flowrun sampled from /proc while it runs, and the exact maximum over all
# processes from getrusage (GNU time's %M).
#
#   tools/bench/sieve.sh                  # limits 1e9 and 1e10, best of 5
#   RUNS=5 LIMITS="1e8 1e9" tools/bench/sieve.sh
#   FLOWRUN=/path/to/flowrun tools/bench/sieve.sh
#
# Issue 3's targets on 2 cores: graph <= 3x primesieve at 1e10, 1 -> 2
# segments >= 1.8x, peak RSS of every process <= 16 MB at 1e10.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
flowrun=${FLOWRUN:-$root/build/bin/flowrun}
graph=$root/graphs/sieve.ini
runs=${RUNS:-5}
limits=${LIMITS:-1e9 1e10}
segments=${SEGMENTS:-2}
threads=${THREADS:-2}

die() {
    echo "sieve.sh: $*" >&2
    exit 1
}

[[ -x $flowrun ]] || die "no flowrun at '$flowrun' (build first, or set FLOWRUN)"
command -v primesieve >/dev/null || die "primesieve is not installed"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is not installed"

# Print the decimal value of a limit such as 1e10.
decimal() {
    awk -v x="$1" 'BEGIN { printf "%.0f\n", x }'
}

# Run "$@" once; print "seconds output".
timed() {
    local out t0 t1
    t0=$EPOCHREALTIME
    out=$("$@" 2>/dev/null) || die "failed: $*"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" -v o="$out" 'BEGIN { printf "%.3f %s\n", b - a, o }'
}

# The smaller of two times ($2 empty: none yet).
min() {
    awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

echo "flow sieve benchmark: $(nproc) CPUs, best of $runs runs, $(date -u +%FT%TZ)"
echo "flowrun: $flowrun"
echo "primesieve: $(primesieve --version | head -1)"
echo
printf '%-12s %-10s %10s %10s %10s %9s %9s  %s\n' limit count \
    "graph(s)" "1seg(s)" "primesv(s)" "g/primesv" "1seg/g" check

status=0
for limit in $limits; do
    n=$(decimal "$limit")
    # Rounds interleave the three commands, so a burst of load from
    # elsewhere hits them alike; each keeps its best time.
    tg="" t1="" tp=""
    for ((round = 0; round < runs; round++)); do
        read -r t cg < <(timed "$flowrun" "$graph" --quiet --set limit="$n" \
            --set output=count --set segments="$segments")
        tg=$(min "$t" "$tg")
        read -r t c1 < <(timed "$flowrun" "$graph" --quiet --set limit="$n" \
            --set output=count --set segments=1)
        t1=$(min "$t" "$t1")
        read -r t cp < <(timed primesieve -q -c -t "$threads" "$n")
        tp=$(min "$t" "$tp")
    done
    check=ok
    if [[ $cg != "$cp" || $c1 != "$cp" ]]; then
        check="MISMATCH (graph $cg, 1 segment $c1, primesieve $cp)"
        status=1
    fi
    printf '%-12s %-10s %10s %10s %10s %9s %9s  %s\n' "$limit" "$cp" \
        "$tg" "$t1" "$tp" "$(ratio "$tg" "$tp")" "$(ratio "$t1" "$tg")" \
        "$check"
done
echo "(graph: $segments segments; primesieve: -t $threads; g/primesv: the"
echo " graph's time over primesieve's; 1seg/g: speedup of $segments segments"
echo " over 1)"

# Peak RSS per process at the largest limit.
last=${limits##* }
n=$(decimal "$last")
echo
echo "peak RSS at limit $last, $segments segments (VmHWM sampled every 10 ms;"
echo "labels assume flowrun forks in graph order: main, seg.0.., out):"
declare -A hwm=()
tmp=$(mktemp)
/usr/bin/time -f '%M' -o "$tmp" "$flowrun" "$graph" --quiet --set limit="$n" \
    --set output=count --set segments="$segments" >/dev/null &
timepid=$!
flowpid=""
while kill -0 "$timepid" 2>/dev/null; do
    [[ -n $flowpid ]] || flowpid=$(pgrep -P "$timepid" -x flowrun || true)
    if [[ -n $flowpid ]]; then
        for pid in $(pgrep -P "$flowpid" || true); do
            kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
            if [[ -n $kb && $kb -gt ${hwm[$pid]:-0} ]]; then
                hwm[$pid]=$kb
            fi
        done
    fi
    sleep 0.01
done
wait "$timepid" || die "the RSS run failed"
labels=(main)
for ((k = 0; k < segments; k++)); do
    labels+=("seg.$k")
done
labels+=(out)
k=0
for pid in $(printf '%s\n' "${!hwm[@]}" | sort -n); do
    printf '  %-8s pid %-8s %8.1f MB\n' "${labels[$k]:-?}" "$pid" \
        "$(awk -v kb="${hwm[$pid]}" 'BEGIN { print kb / 1024 }')"
    k=$((k + 1))
done
maxkb=$(tail -1 "$tmp")
rm -f "$tmp"
printf '  max over all processes (getrusage): %.1f MB (target <= 16 MB)\n' \
    "$(awk -v kb="$maxkb" 'BEGIN { print kb / 1024 }')"
exit $status
