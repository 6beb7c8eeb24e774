#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# report.sh: the side-by-side benchmark report of issue 8 (not a test).
#
#   tools/bench/report.sh [BUILD_DIR]            # default BUILD_DIR: ./build
#   cmake --build build --target bench_report    # builds what it needs, runs it
#
# In one run on this machine it times flow against the article's Python
# programs (tools/bench/python/), raw libzmq (push.sh), primesieve and
# single-process C references (tools/bench/ref/), several repetitions each,
# and writes docs/bench/report.md, docs/bench/results.json and one PNG per
# workload (gnuplot). The measuring and writing is tools/bench/report.py;
# its header lists the knobs (REPS, PY_MAX, MAX_S, PAL_SIZES, SIEVE_LIMITS,
# SCALE_LIMITS, STARTUP_REPS, PUSH_RUNS, PUSH_SECS, PUSH_BATCHES,
# BALANCE_RUNS, SKIP).
# OUT=DIR writes elsewhere than docs/bench.
#
# Needs: a Release build (flowrun, zmq_raw, palindromes_ref, sieve_ref),
# python3, primesieve, gnuplot (Debian: primesieve gnuplot-nox).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=${OUT:-$root/docs/bench}

die() {
    echo "report.sh: $*" >&2
    exit 1
}

command -v python3 >/dev/null || die "python3 is not installed"
command -v primesieve >/dev/null || die "primesieve is not installed (apt-get install primesieve)"
command -v gnuplot >/dev/null || die "gnuplot is not installed (apt-get install gnuplot-nox)"
[[ -x $build/bin/flowrun ]] || die "no flowrun in '$build/bin' (build first)"
for ref in palindromes_ref sieve_ref zmq_raw; do
    [[ -x $build/bin/$ref ]] ||
        die "no $ref in '$build/bin' (cmake --build '$build' --target $ref)"
done

# The command line as typed, for the report; knobs set in the environment
# are part of it.
knobs=""
for k in REPS REPS_SLOW PY_MAX MAX_S PAL_SIZES SIEVE_LIMITS SCALE_LIMITS \
    STARTUP_REPS PUSH_RUNS PUSH_SECS PUSH_BATCHES BALANCE_RUNS SKIP OUT; do
    [[ -n ${!k:-} ]] && knobs+="$k=\"${!k}\" "
done
cmdline="${knobs}tools/bench/report.sh${1:+ $1}"

cd "$root"
exec python3 "$root/tools/bench/report.py" --root "$root" --build "$build" \
    --out "$out" --command "$cmdline"
