#!/bin/bash
# valgrind-graphs.sh: run the integration graphs under valgrind memcheck,
# following every process of each run (flowrun forks its instances), and
# fail on any memcheck error: invalid reads or writes, uses of
# uninitialised values, bad frees, definite leaks.
#
#   tools/valgrind-graphs.sh [BUILD_DIR]      (default: build)
#
# Besides the clean graphs it runs graphs whose `fault` node sends malformed
# frames: the run fails by design (status 1), but decoding the frames must
# not read out of bounds, and the instances that end must not leak
# (FAULT_LEAKS=0 counts no leaks there). Two runs are stopped by SIGTERM
# mid-stream (status 143): the drain of a graceful stop must not leak
# either. Suppressions live in tools/valgrind.supp. KEEP_LOGS=1 keeps the
# per-process logs (their directory is printed).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
flowrun=$build/bin/flowrun
supp=tools/valgrind.supp

if ! command -v valgrind >/dev/null; then
    echo "valgrind-graphs: valgrind is not installed" >&2
    exit 2
fi
if [ ! -x "$flowrun" ]; then
    echo "valgrind-graphs: no $flowrun: build first (cmake --build $build)" >&2
    exit 2
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/flow-valgrind.XXXXXX")
if [ "${KEEP_LOGS:-0}" = 1 ]; then
    echo "valgrind-graphs: logs in $logs"
else
    trap 'rm -rf "$logs"' EXIT
fi
failed=0

# run NAME EXPECTED_STATUS LEAK_KINDS FLOWRUN_ARGS...
# With `input` set, flowrun's standard input is that file (else /dev/null);
# with `stop` set, flowrun gets SIGTERM after that many seconds.
run() {
    local name=$1 want=$2 leaks=$3 status=0 start=$SECONDS bad n=0 f pid
    shift 3
    mkdir "$logs/$name"
    valgrind --trace-children=yes --leak-check=full \
        --errors-for-leak-kinds="$leaks" --error-exitcode=99 \
        --suppressions="$supp" --log-file="$logs/$name/vg.%p.log" \
        "$flowrun" "$@" <"${input:-/dev/null}" >"$logs/$name/stdout" \
        2>"$logs/$name/stderr" &
    pid=$!
    if [ -n "${stop:-}" ]; then
        sleep "$stop"
        kill -TERM "$pid" 2>/dev/null || true
    fi
    wait "$pid" || status=$?
    # Every process writes its own log; any with errors fails the run. In
    # a clean run (or one stopped gracefully) every process must also end
    # normally (a summary in each log). In a failed run the launcher may
    # SIGKILL an instance, which then writes no summary; memcheck reports
    # bad accesses as they happen.
    if [ "$want" != 1 ]; then
        bad=$(grep -L "ERROR SUMMARY: 0 errors" "$logs/$name"/vg.*.log || true)
    else
        bad=$(grep -lE "ERROR SUMMARY: [1-9]|== (Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination)" \
            "$logs/$name"/vg.*.log || true)
    fi
    if [ "$status" != "$want" ] || [ -n "$bad" ]; then
        echo "valgrind-graphs: $name: FAILED (status $status, expected $want)"
        sed 's/^/  stderr: /' "$logs/$name/stderr"
        for f in $bad; do
            n=$((n + 1))
            [ "$n" -le 3 ] || break
            echo "  --- $f (first lines)"
            { grep -v '^==[0-9]*== *$' "$f" | head -n 60 | sed 's/^/  /'; } || true
        done
        failed=1
    else
        set -- "$logs/$name"/vg.*.log
        echo "valgrind-graphs: $name: ok ($# processes, $((SECONDS - start)) s)"
    fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flow-valgrind-graphs.XXXXXX")
trap 'rm -rf "$tmp"; [ "${KEEP_LOGS:-0}" = 1 ] || rm -rf "$logs"' EXIT

cat >"$tmp/stress.ini" <<'EOF'
[src]
type = range
instances = 2
count = 100000
[mid]
type = jitter
instances = 3
max_us = 100
[out]
type = collect
order = input
mode = count
[links]
push = src.out -> mid.in batch=512 hwm=4
push = mid.out -> out.in hwm=4
EOF

# Small frames: range's direct sends, frames of 48 bytes at any address in
# libzmq's buffers (items copied on first use), 32-byte end markers held
# in the message pool, through two jitter instances to a printing collect.
cat >"$tmp/small.ini" <<EOF
[src]
type = range
count = 30000
[mid]
type = jitter
instances = 2
max_us = 20
[out]
type = collect
order = input
output = $tmp/small.out
[links]
push = src.out -> mid.in batch=3
push = mid.out -> out.in
EOF

cat >"$tmp/cancel.ini" <<'EOF'
[src]
type = range
instances = 2
count = 1e18
[mid]
type = jitter
instances = 2
[out]
type = collect
order = arrival
limit = 5000
output = /dev/null
[links]
push = src.out -> mid.in batch=64 hwm=4
push = mid.out -> out.in hwm=4
EOF

seq 1 20000 >"$tmp/lines.txt"
cat >"$tmp/sum.ini" <<EOF
[src]
type = lines
path = $tmp/lines.txt
chunk = 100
[num]
type = ints
instances = 2
[t]
type = tee
[m]
type = merge
[sp]
type = split
chunk = 333
[sum]
type = collect
mode = sum
output = $tmp/sum.out
[links]
push = src.out -> num.in balance=demand
push = num.out -> t.in
push = t.a -> m.a
push = t.b -> m.b
push = m.out -> sp.in
push = sp.out -> sum.in
EOF

cat >"$tmp/stop-split.ini" <<EOF
[src]
type = words
instances = 2
count = 1e12
chunk = 50
[sp]
type = split
chunk = 70
[find]
type = palindromes
instances = 2
[out]
type = collect
order = input
output = $tmp/stop-split.out
[links]
push = src.out -> sp.in hwm=4
push = sp.out -> find.in balance=demand
push = find.out -> out.in
EOF

# A fault node sends one malformed frame mid-stream; the receiver fails.
for action in garbage truncate badcount badtype badeos badsrc; do
    cat >"$tmp/$action.ini" <<EOF
[src]
type = range
count = 10000
[f]
type = fault
action = $action
after = 5
[mid]
type = jitter
[out]
type = collect
mode = count
[links]
push = src.out -> f.in batch=100
push = f.out -> mid.in
push = mid.out -> out.in
EOF
done

# Valgrind slows everything down: generous timeouts and grace periods.
run palindromes 0 definite graphs/palindromes.ini --timeout 300
run pids 0 definite graphs/pids.ini --timeout 300
run range-jitter-collect 0 definite "$tmp/stress.ini" --timeout 300
run small-frames 0 definite "$tmp/small.ini" --timeout 300
# Upstream cancellation: the collector's limit stops an endless source
# behind two middles, and the sieve's coordinator and segments.
run cancel 0 definite "$tmp/cancel.ini" --timeout 300
run cancel-sieve 0 definite graphs/sieve.ini --set limit=100000000000 \
    --set out.limit=100 --timeout 300
# Node shapes the graphs above do not have: lines from a file, ints, tee,
# merge, a split fed by several instances, collect mode=sum (the sum is
# checked: twice 1 + ... + 20000); lines from standard input in small
# chunks; palsearch; a TCP run (rendezvous, heartbeats).
run lines-ints-tee-merge-sum 0 definite "$tmp/sum.ini" --timeout 300
if [ "$(cat "$tmp/sum.out" 2>/dev/null)" != 400020000 ]; then
    echo "valgrind-graphs: lines-ints-tee-merge-sum: FAILED (sum" \
        "'$(cat "$tmp/sum.out" 2>/dev/null)', expected 400020000)"
    failed=1
fi
input=$tmp/lines.txt run stdin-palindromes 0 definite \
    graphs/palindromes_file.ini --set chunk=7 --timeout 300
run palsearch 0 definite graphs/palindromes_search.ini --timeout 300
run tcp 0 definite graphs/palindromes_parallel.ini --transport tcp \
    --timeout 300
# Graceful stops (SIGTERM) mid-stream: lines reading a pipe that stays
# open (its wait with a deadline, finish() sending what it read before the
# stop) and collect dropping what waits behind a gap; two word makers into
# a split, which drops what waits behind a gap too.
mkfifo "$tmp/pipe"
(while echo 12321 && echo 12345; do sleep 0.01; done >"$tmp/pipe") \
    2>/dev/null &
writer=$!
input=$tmp/pipe stop=8 run stop-lines 143 definite \
    graphs/palindromes_file.ini --set chunk=50 --set src.wait_ms=20 \
    --timeout 300
kill "$writer" 2>/dev/null || true
wait "$writer" 2>/dev/null || true
stop=8 run stop-split 143 definite "$tmp/stop-split.ini" --timeout 300
fault_leaks=definite
[ "${FAULT_LEAKS:-1}" = 0 ] && fault_leaks=none
for action in garbage truncate badcount badtype badeos badsrc; do
    run "fault-$action" 1 "$fault_leaks" "$tmp/$action.ini" --timeout 300 \
        --grace 3
done

if [ "$failed" != 0 ]; then
    echo "valgrind-graphs: memcheck found errors" >&2
    exit 1
fi
echo "valgrind-graphs: all graphs clean"
