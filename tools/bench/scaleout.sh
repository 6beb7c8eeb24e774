#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scaleout.sh [BUILD_DIR]: the cost of scaling out (a benchmark, not a test).
#
# Runs the same graphs three ways, interleaved round by round so that load
# from elsewhere hits them alike, and prints the median of RUNS runs of each
# as a ratio against the local ipc run measured in the same rounds:
#
#   ipc    flowrun G                     (the reference: one host, ipc://)
#   tcp    flowrun G --transport tcp     (one host, links over loopback TCP)
#   key    flowrun G --transport tcp --secure
#                                        (the same, every connection encrypted
#                                         and authenticated: CurveZMQ)
#   slurm  flowrun G --launcher slurm    (rendezvous here, instances started
#                                         by srun as one job step)
#
# Workloads: the sieve (graphs/sieve.ini, 2 segments, count to SIEVE_LIMIT)
# and the palindromes (graphs/palindromes.ini, 2 workers, PALIN_WORDS words,
# about a second on a 2-core machine); the push link alone
# (tools/bench/push.ini: PUSH_ITEMS int64 items in messages of 1 item, and
# 50 times as many in messages of 1024), where the cost of encryption per
# message and per byte shows (key/tcp); then the launch overhead: the
# smallest graph (tools/bench/startup.ini, two numbers from range to
# collect) through each path, and through Slurm as a heterogeneous step
# (placement hints: --set src.cpus=1), its overhead in milliseconds over the
# local ipc run.
#
# The Slurm columns need a running cluster that srun reaches: SLURM_CONF, or
# the one tools/slurm-local.sh starts (/tmp/flow-slurm/slurm.conf), checked
# with `scontrol ping`. Without one they are skipped with a message; start
# one with `eval "$(tools/slurm-local.sh start)"` (as root). On
# tools/slurm-local.sh's cluster every "node" is this same machine, so the
# slurm column measures srun's launch and the TCP links, not more CPUs.
#
#   tools/bench/scaleout.sh build
#   RUNS=9 SIEVE_LIMIT=1e10 PALIN_WORDS=40000000 tools/bench/scaleout.sh build
#
# Every run's output is compared with the ipc run's: a mismatch is printed
# and the exit status is 1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
flowrun=${FLOWRUN:-$build/bin/flowrun}
runs=${RUNS:-5}
sieve_limit=${SIEVE_LIMIT:-1e9}
palin_words=${PALIN_WORDS:-20000000}
startup_runs=${STARTUP_RUNS:-$((runs * 2 + 1))}
push_items=${PUSH_ITEMS:-1000000}

die() {
    echo "scaleout.sh: $*" >&2
    exit 1
}

[[ -x $flowrun ]] || die "no flowrun at '$flowrun' (build first, or pass BUILD_DIR)"
flowrun=$(realpath "$flowrun") # srun's tasks run the same path

# Is there a Slurm cluster srun can use?
slurm=0
why="srun is not installed"
if command -v srun >/dev/null && command -v scontrol >/dev/null; then
    if [[ -z ${SLURM_CONF:-} && -f /tmp/flow-slurm/slurm.conf ]]; then
        export SLURM_CONF=/tmp/flow-slurm/slurm.conf
    fi
    if timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; then
        slurm=1
    else
        why="no Slurm controller answers (scontrol ping${SLURM_CONF:+, SLURM_CONF=$SLURM_CONF})"
    fi
fi

w=$(mktemp -d /tmp/flow-bench-scaleout.XXXXXX)
chmod 755 "$w"
trap 'rm -rf "$w"' EXIT

# run LABEL CMD...: run CMD once, output in $w/LABEL.out; append its wall
# time in seconds to $w/LABEL.times.
run() {
    local label=$1 t0 t1
    shift
    t0=$EPOCHREALTIME
    "$@" >"$w/$label.out" 2>"$w/$label.err" ||
        die "failed (see below): $*"$'\n'"$(tail -n 5 "$w/$label.err")"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }' >>"$w/$label.times"
}

median() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

status=0
# check LABEL REF: LABEL's output equals REF's.
check() {
    if ! cmp -s "$w/$1.out" "$w/$2.out"; then
        echo "MISMATCH: $1 differs from $2" >&2
        status=1
    fi
}

modes=(ipc tcp key)
[[ $slurm = 1 ]] && modes+=(slurm)

# bench NAME N ARGS...: N interleaved rounds of every mode.
bench() {
    local name=$1 n=$2 round mode
    shift 2
    for ((round = 0; round < n; round++)); do
        for mode in "${modes[@]}"; do
            case $mode in
            ipc) run "$name-ipc" "$flowrun" "$@" --quiet ;;
            tcp) run "$name-tcp" "$flowrun" "$@" --quiet --transport tcp ;;
            key) run "$name-key" env -u FLOW_KEY "$flowrun" "$@" --quiet --transport tcp --secure ;;
            slurm) run "$name-slurm" "$flowrun" "$@" --quiet --launcher slurm ;;
            het) run "$name-het" "$flowrun" "$@" --quiet --launcher slurm --set src.cpus=1 ;;
            esac
            [[ $mode = ipc ]] || check "$name-$mode" "$name-ipc"
        done
    done
}

row() {
    local name=$1 label=$2 ipc tcp key s
    ipc=$(median "$w/$name-ipc.times")
    tcp=$(median "$w/$name-tcp.times")
    key=$(median "$w/$name-key.times")
    if [[ $slurm = 1 && -f $w/$name-slurm.times ]]; then
        s=$(median "$w/$name-slurm.times")
        printf '%-42s %8.3f %8.3f %8.3f %8.3f %8s %8s %9s\n' "$label" "$ipc" "$tcp" \
            "$key" "$s" "$(ratio "$tcp" "$ipc")" "$(ratio "$key" "$tcp")" "$(ratio "$s" "$ipc")"
    else
        printf '%-42s %8.3f %8.3f %8.3f %8s %8s %8s %9s\n' "$label" "$ipc" "$tcp" \
            "$key" - "$(ratio "$tcp" "$ipc")" "$(ratio "$key" "$tcp")" -
    fi
}

echo "flow scale-out benchmark: $(nproc) CPUs, median of $runs runs, $(date -u +%FT%TZ)"
echo "flowrun: $flowrun"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $slurm = 1 ]]; then
    echo "slurm: $(srun --version), $(sinfo -h -o '%D nodes, %C CPUs (alloc/idle/other/total)' | head -n 1)"
else
    echo "slurm: SKIPPED: $why; the slurm columns are left out."
    echo "       Start the local test cluster with: eval \"\$(tools/slurm-local.sh start)\" (as root)"
fi
echo

bench sieve "$runs" "$root/graphs/sieve.ini" --set segments=2 --set output=count \
    --set limit="$(awk -v x="$sieve_limit" 'BEGIN { printf "%.0f", x }')"
bench palin "$runs" "$root/graphs/palindromes.ini" --set workers=2 \
    --set words="$(awk -v x="$palin_words" 'BEGIN { printf "%.0f", x }')"
# The push link alone: one host, no Slurm (srun's launch would hide it).
all_modes=("${modes[@]}")
modes=(ipc tcp key)
bench push1 "$runs" "$root/tools/bench/push.ini" --set batch=1 --set items="$push_items"
bench push1024 "$runs" "$root/tools/bench/push.ini" --set batch=1024 \
    --set items="$((push_items * 50))"
modes=("${all_modes[@]}")
[[ $slurm = 1 ]] && modes+=(het)
bench startup "$startup_runs" "$root/tools/bench/startup.ini"

printf '%-42s %8s %8s %8s %8s %8s %8s %9s\n' "seconds (median)" ipc tcp key slurm \
    tcp/ipc key/tcp slurm/ipc
row sieve "sieve limit=$sieve_limit, 2 segments"
row palin "palindromes $palin_words words, 2 workers"
row push1 "push $push_items items, batch 1"
row push1024 "push $((push_items * 50)) items, batch 1024"
row startup "startup.ini ($startup_runs runs)"

echo
ipc=$(median "$w/startup-ipc.times")
printf 'launch overhead over the local ipc run (startup.ini, median of %s):\n' "$startup_runs"
printf '  %-40s %8.1f ms\n' "tcp (--transport tcp)" \
    "$(awk -v a="$(median "$w/startup-tcp.times")" -v b="$ipc" 'BEGIN { print (a - b) * 1000 }')"
printf '  %-40s %8.1f ms\n' "key (--transport tcp --secure)" \
    "$(awk -v a="$(median "$w/startup-key.times")" -v b="$ipc" 'BEGIN { print (a - b) * 1000 }')"
if [[ $slurm = 1 ]]; then
    printf '  %-40s %8.1f ms\n' "slurm, one plain step" \
        "$(awk -v a="$(median "$w/startup-slurm.times")" -v b="$ipc" 'BEGIN { print (a - b) * 1000 }')"
    printf '  %-40s %8.1f ms\n' "slurm, heterogeneous step (hints)" \
        "$(awk -v a="$(median "$w/startup-het.times")" -v b="$ipc" 'BEGIN { print (a - b) * 1000 }')"
else
    echo "  slurm: skipped ($why)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
