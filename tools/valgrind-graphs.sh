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
# not read out of bounds. Leaks count as errors there only with
# FAULT_LEAKS=1, as the instances of a failed run still leak their port
# tables (see report_failure in framework/src/node.c). Suppressions live in
# tools/valgrind.supp. KEEP_LOGS=1 keeps the per-process logs (their
# directory is printed).
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
run() {
    local name=$1 want=$2 leaks=$3 status=0 start=$SECONDS bad n=0 f
    shift 3
    mkdir "$logs/$name"
    valgrind --trace-children=yes --leak-check=full \
        --errors-for-leak-kinds="$leaks" --error-exitcode=99 \
        --suppressions="$supp" --log-file="$logs/$name/vg.%p.log" \
        "$flowrun" "$@" >"$logs/$name/stdout" 2>"$logs/$name/stderr" ||
        status=$?
    # Every process writes its own log; any with errors fails the run. In
    # a clean run every process must also end normally (a summary in each
    # log). In a failed run the launcher may SIGKILL an instance, which then
    # writes no summary; memcheck reports bad accesses as they happen.
    if [ "$want" = 0 ]; then
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
fault_leaks=none
[ "${FAULT_LEAKS:-0}" = 1 ] && fault_leaks=definite
for action in garbage truncate badcount badtype badeos badsrc; do
    run "fault-$action" 1 "$fault_leaks" "$tmp/$action.ini" --timeout 300 \
        --grace 3
done

if [ "$failed" != 0 ]; then
    echo "valgrind-graphs: memcheck found errors" >&2
    exit 1
fi
echo "valgrind-graphs: all graphs clean"
