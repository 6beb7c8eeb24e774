#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# sieve.sh: benchmark the parallel prime sieve graph (not a test).
#
# Times `flowrun graphs/sieve.ini --set output=count` at each limit next to
# `primesieve -c -t 2` and next to the same graph with one segment, all in
# the same run, and prints the ratios, and the time of a graph that does
# nothing (limit 100), the launcher's own share. Wall times are noisy on a
# shared machine, so it also prints the load average, and for each limit the
# segments' own measure from their debug log: how many chunks each sieved,
# how long it waited for them and their sieving primes, and how much CPU
# its sieving took (median of the runs); again with the whole graph on one
# CPU, as virtual CPUs need not be equally fast. Then it measures the peak RSS of every process of
# the graph at the largest limit, twice over: VmHWM of each child of flowrun
# sampled from /proc while it runs, and the exact maximum over all processes
# from getrusage (GNU time's %M).
#
#   tools/bench/sieve.sh [BUILD_DIR]      # limits 1e9 and 1e10, best of 5
#   RUNS=5 LIMITS="1e8 1e9" tools/bench/sieve.sh
#   FLOWRUN=/path/to/flowrun tools/bench/sieve.sh
#
# Issue 3's targets on 2 cores: graph <= 3x primesieve at 1e10, 1 -> 2
# segments >= 1.8x, peak RSS of every process <= 16 MB at 1e10.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
flowrun=${FLOWRUN:-$build/bin/flowrun}
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

load() {
    cut -d' ' -f1-3 /proc/loadavg
}

echo "flow sieve benchmark: $(nproc) CPUs, best of $runs runs, $(date -u +%FT%TZ)"
echo "flowrun: $flowrun"
echo "primesieve: $(primesieve --version | head -1)"
echo "load average at the start: $(load)"
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
te="" t1=""
for ((round = 0; round < runs; round++)); do
    read -r t _ < <(timed "$flowrun" "$graph" --quiet --set limit=100 \
        --set output=count --set segments="$segments")
    te=$(min "$t" "$te")
    read -r t _ < <(timed "$flowrun" "$graph" --quiet --set limit=100 \
        --set output=count --set segments=1)
    t1=$(min "$t" "$t1")
done
echo "the same graph at limit 100 (launcher, processes, sockets): $te s with"
echo "$segments segments, $t1 s with 1"
echo "load average after the timings: $(load)"

# The segments' own measures, from their debug lines:
#   seg[K] ... debug: in all: R ranges, M numbers, N primes; W s waiting
#   for ranges and sieving primes, S s sieving, C s CPU (X ns per number)
# "$@" runs flowrun: as is, or pinned to one CPU, where the segments' CPU
# times compare their work alone (two virtual CPUs need not be as fast).
balance() {
    local limit n round
    for limit in $limits; do
        n=$(decimal "$limit")
        for ((round = 0; round < runs; round++)); do
            "$@" "$flowrun" "$graph" --quiet --set limit="$n" \
                --set output=count --set segments="$segments" \
                --log-level debug 2>&1 >/dev/null |
                sed -n 's/^seg\[\([0-9]*\)\].*debug: in all: \([0-9]*\) ranges\{0,1\}, \([0-9]*\) numbers.* \([0-9.]*\) s waiting.*, \([0-9.]*\) s CPU (\([0-9.]*\) ns.*/\1 \2 \3 \4 \5 \6/p'
        done | awk -v limit="$limit" '
            { k = $1; n[k]++; if (k > last) last = k
              r[k, n[k]] = $2; m[k, n[k]] = $3
              w[k, n[k]] = $4; c[k, n[k]] = $5; ns[k, n[k]] = $6 }
            function med(a, k, m, v, i, j, t) {
                m = n[k]; for (i = 1; i <= m; i++) v[i] = a[k, i]
                for (i = 2; i <= m; i++)
                    for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
                        t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
                    }
                return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
            }
            END {
                for (k = 0; k <= last; k++)
                    printf "  %-6s seg %-3s chunks %3d  numbers %12.0f  wait %6.1f ms  cpu %.4f s  %.4f ns/number\n",
                        limit, k, med(r, k), med(m, k), 1000 * med(w, k),
                        med(c, k), med(ns, k)
            }'
    done
}

echo
echo "segments at $segments, median of $runs runs (chunks and numbers sieved,"
echo "wait: for chunks and sieving primes, cpu: of the sieving; a faster"
echo "segment takes more chunks):"
balance env
if command -v taskset >/dev/null; then
    echo "the same with the whole graph on CPU 0 (taskset -c 0):"
    balance taskset -c 0
fi
echo "load average at the end: $(load)"

# A busy machine: another process keeps one CPU busy (a shell loop pinned
# to the last CPU the segments use), the segments pinned one per CPU. Their
# speedup over 1 segment pinned to CPU 0 (where the loop does not run)
# tells how the work follows the CPU time each segment gets: a split fixed
# in advance would get about 1.0x with 2 segments (the segment sharing its
# CPU takes twice as long); handing out chunks as segments are free
# approaches (segments - 1/2) x. Best of $runs runs.
if command -v taskset >/dev/null && ((segments >= 2 && segments <= $(nproc))); then
    busy=$((segments - 1))
    echo
    echo "a busy CPU: a loop on CPU $busy, seg.pin=0-$busy; best of $runs runs:"
    taskset -c "$busy" sh -c 'while :; do :; done' &
    hog=$!
    trap 'kill "$hog" 2>/dev/null' EXIT
    for limit in $limits; do
        n=$(decimal "$limit")
        tb="" t1=""
        for ((round = 0; round < runs; round++)); do
            read -r t cb < <(timed "$flowrun" "$graph" --quiet \
                --set limit="$n" --set output=count \
                --set segments="$segments" --set seg.pin="0-$busy")
            tb=$(min "$t" "$tb")
            read -r t c1 < <(timed "$flowrun" "$graph" --quiet \
                --set limit="$n" --set output=count --set segments=1 \
                --set seg.pin=0)
            t1=$(min "$t" "$t1")
        done
        check=ok
        if [[ $cb != "$c1" ]]; then
            check="MISMATCH ($segments segments $cb, 1 segment $c1)"
            status=1
        fi
        printf '  %-6s %s segments %.3f s, 1 segment %.3f s: %sx (ideal %s)  %s\n' \
            "$limit" "$segments" "$tb" "$t1" "$(ratio "$t1" "$tb")" \
            "$(awk -v s="$segments" 'BEGIN { printf "%.1f", s - 0.5 }')" "$check"
    done
    kill "$hog" 2>/dev/null
    wait "$hog" 2>/dev/null || true
    trap - EXIT
    echo "load average after: $(load)"
fi

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
