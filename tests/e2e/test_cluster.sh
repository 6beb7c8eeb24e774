#!/bin/bash
# tests/e2e/test_cluster.sh FLOWRUN SOURCE_DIR [PART]...: flow across
# processes that do not share a run directory, checked against the local
# (ipc) run of the same graph.
#
# PARTs (default: all of them):
#   tcp    `--transport tcp` local runs equal the ipc runs; instances and
#          rendezvous stopped, killed or stuck.
#   tcp-liveness  silent instances and rendezvous (--liveness).
#   tcp-start     before the start: unreachable rendezvous, refused, late
#          and auto-sized instances.
#   slurm  a real Slurm cluster on this machine (tools/slurm-local.sh: munged,
#          slurmctld, slurmd n1 n2 n3, n3 with the feature `big`): graphs
#          run with `--launcher slurm`, instances spread over the nodes,
#          equal the ipc runs; a fault in one instance fails the job, names
#          the node, exits non-zero. Placement hints: a node with
#          `slurm_constraint = big` runs all its instances on n3, one with
#          `cpus = 2` gets 2 CPUs (the slurmprobe fixture reports
#          SLURMD_NODENAME and the CPUs of each instance), outputs still
#          equal the ipc runs (also inside salloc), a fault still fails the
#          run naming the instance.
#   netns  two hosts (tools/netns-hosts.sh: namespaces flowA 10.231.0.1 and
#          flowB 10.231.0.2): the rendezvous in flowA, the instances started
#          one by one with `--instance NODE:I` and split over both
#          namespaces; the collected output equals the ipc run. A host cut
#          off, and the data links between the hosts dropped (iptables).
#
# A case of the tcp part alone: its function's name as PART (tcp_liveness).
#
# Exit status: 0 every part passed; 1 a part failed; 77 (ctest
# SKIP_RETURN_CODE) a part could not run on this machine (not root, no
# `ip netns`, Slurm packages not installable), with a SKIP line saying why.
#
# A cluster or namespaces this test brings up, it tears down at the end;
# ones that were already up are left as they were. FLOW_TEST_KEEP=1 keeps
# the work directory (outputs and logs of every run).
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 FLOWRUN SOURCE_DIR [tcp|tcp-liveness|tcp-start|slurm|netns|CASE]..." >&2
    exit 2
fi
FLOWRUN=$(realpath "$1")
SRC=$(realpath "$2")
shift 2
PARTS=${*:-tcp tcp-liveness tcp-start slurm netns}

# The plugins of the build under test (ctest sets FLOW_PLUGIN_DIR; flowrun
# also finds them next to itself). Inherited through srun and ip netns exec.
if [ -n "${FLOW_PLUGIN_DIR:-}" ]; then
    export FLOW_PLUGIN_PATH=$FLOW_PLUGIN_DIR${FLOW_PLUGIN_PATH:+:$FLOW_PLUGIN_PATH}
fi

# The slurmprobe fixture plugin (ctest sets FLOW_FIXTURE_PLUGIN_DIR).
PROBE_DIR=${FLOW_FIXTURE_PLUGIN_DIR:-$(dirname "$FLOWRUN")/../tests/fixtures/nodes/plugins}
# The LD_PRELOAD fixtures (ctest sets FLOW_FIXTURE_PRELOAD_DIR): nproc.so.
PRELOAD_DIR=${FLOW_FIXTURE_PRELOAD_DIR:-$(dirname "$FLOWRUN")/../tests/fixtures/preload}

# A CPU count other than this host's, and a command prefix that makes the
# process of the command, not its children nor srun's tasks, believe it has
# that many (nproc.so; a sanitized flowrun must be told that the fixture
# comes before its runtime).
ONLINE=$(getconf _NPROCESSORS_ONLN)
OTHER=$([ "$ONLINE" = 3 ] && echo 2 || echo 3)
OTHER_HOST=(sh -c 'FLOW_TEST_NPROC_PID=$$ exec env "$@"' sh
    "LD_PRELOAD=$PRELOAD_DIR/nproc.so" "FLOW_TEST_NPROC=$OTHER"
    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")

SIEVE=$SRC/graphs/sieve.ini
# The first 25 primes (the primes below 100), by trial division.
FIRST_PRIMES=$(for n in $(seq 2 100); do
    for d in $(seq 2 $((n - 1))); do [ $((n % d)) = 0 ] && continue 2; done
    echo $n
done | paste -sd' ')
PALIN=$SRC/graphs/palindromes.ini
SIEVE_ARGS=(--set limit=100000000 --set output=count --set segments=4)
SIEVE_LIST_ARGS=(--set limit=200000 --set output=list --set segments=3)
PALIN_ARGS=(--set workers=3)
PALIN_BIG_ARGS=(--set words=200000 --set length=3 --set chunk=5000 --set workers=3)

W=$(mktemp -d /tmp/flow-test-cluster.XXXXXX)
chmod 755 "$W" # slurmstepd runs the tasks as root, but keep it readable
FAILS=0 PASSES=0 SKIPS=0
BG_PIDS=()
STARTED_SLURM=0 STARTED_NETNS=0

cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    if [ $STARTED_SLURM = 1 ]; then
        "$SRC/tools/slurm-local.sh" stop >/dev/null 2>&1
    fi
    if [ $STARTED_NETNS = 1 ]; then
        "$SRC/tools/netns-hosts.sh" down >/dev/null 2>&1
    fi
    if [ "${FLOW_TEST_KEEP:-0}" = 1 ]; then
        echo "work directory kept: $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT

# Close every descriptor of this shell above standard error (those
# inherited from ctest or a terminal's session).
close_inherited_fds() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if ((fd > 2)); then
            eval "exec $fd>&-" 2>/dev/null || true
        fi
    done
}

pass() {
    echo "PASS: $*"
    PASSES=$((PASSES + 1))
}
fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}
skip() {
    echo "SKIP: $*"
    SKIPS=$((SKIPS + 1))
}

# Show the end of a run's standard error after a failure.
show() {
    local f
    for f in "$@"; do
        [ -s "$f" ] || continue
        echo "---- $f (last 30 lines)"
        tail -n 30 "$f"
    done
}

# run NAME TIMEOUT CMD...: run CMD with a timeout; stdout in $W/NAME.out,
# stderr in $W/NAME.err; returns CMD's exit status (124 on timeout).
run() {
    local name=$1 t=$2
    shift 2
    timeout -k 5 "$t" "$@" >"$W/$name.out" 2>"$W/$name.err"
}

# has_option OPTION [ARG]: flowrun knows OPTION. A part whose options are
# missing fails (it is not skipped). getopt stops at --version, after
# parsing the options before it.
has_option() {
    ! "$FLOWRUN" "$@" --version 2>&1 | grep -q -i -E 'unrecognized option|invalid option'
}

# expect NAME LABEL: the run NAME exited 0 and its output equals the ipc
# run's ($W/ipc-LABEL.out).
expect_same() {
    local name=$1 label=$2 rc=$3 what=$4
    if [ "$rc" != 0 ]; then
        fail "$what: exit status $rc (expected 0)"
        show "$W/$name.err"
    elif ! cmp -s "$W/$name.out" "$W/ipc-$label.out"; then
        fail "$what: output differs from the ipc run"
        diff "$W/ipc-$label.out" "$W/$name.out" | head -n 10
        show "$W/$name.err"
    else
        pass "$what ($(wc -l <"$W/$name.out") lines, equal to the ipc run)"
    fi
}

# The reference outputs: the local ipc runs.
reference() {
    local rc
    run ipc-sieve 60 "$FLOWRUN" "$SIEVE" "${SIEVE_ARGS[@]}"
    rc=$?
    if [ $rc != 0 ] || [ "$(cat "$W/ipc-sieve.out")" != 5761455 ]; then
        echo "FAIL: the local ipc sieve run (exit $rc) does not print 5761455"
        show "$W/ipc-sieve.err"
        exit 1
    fi
    run ipc-sievelist 60 "$FLOWRUN" "$SIEVE" "${SIEVE_LIST_ARGS[@]}" &&
        [ "$(wc -l <"$W/ipc-sievelist.out")" = 17984 ] || {
        echo "FAIL: the local ipc sieve list run is wrong"
        show "$W/ipc-sievelist.err"
        exit 1
    }
    run ipc-palin 60 "$FLOWRUN" "$PALIN" "${PALIN_ARGS[@]}" &&
        [ -s "$W/ipc-palin.out" ] || {
        echo "FAIL: the local ipc palindromes run is wrong"
        show "$W/ipc-palin.err"
        exit 1
    }
    run ipc-palinbig 60 "$FLOWRUN" "$PALIN" "${PALIN_BIG_ARGS[@]}" &&
        [ "$(wc -l <"$W/ipc-palinbig.out")" -gt 1000 ] || {
        echo "FAIL: the local ipc palindromes (200000 words) run is wrong"
        show "$W/ipc-palinbig.err"
        exit 1
    }
}

# A graph with a fault: instance 1 of f (of 2) faults after 10 messages.
# 5 instances: src[0-1], f[0-1], out[0].
FAULT=$W/fault.ini
cat >"$FAULT" <<'EOF'
; test_cluster.sh: instance 1 of f faults after 10 messages
[graph]
name = cluster-fault
action = exit
[src]
type = range
instances = 2
count = 20000
[f]
type = fault
instances = 2
instance = 1
after = 10
action = ${action}
code = 3
[out]
type = collect
mode = count
[links]
push = src.out -> f.in batch=100 hwm=1
push = f.out -> out.in hwm=1
EOF

# expect_fault NAME RC WHAT: the run failed (not success, not a timeout),
# and its standard error names f instance 1 as the instance that failed: a
# line that is not f[1]'s own log and not a list of the instances that had
# not finished ("not finished: src[0], f[1], ..." does not count: it
# does not say which one failed).
expect_fault() {
    local name=$1 rc=$2 what=$3 line
    if [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        fail "$what: exit status $rc (expected a failure, not success or timeout)"
        show "$W/$name.err"
        return
    fi
    pass "$what: exit status $rc"
    line=$(grep -v '^f\[1\] ' "$W/$name.err" | sed 's/not finished:.*//' |
        grep -E "node 'f' instance 1|'f'\[1\]|(^|[^a-z_])f\[1\]|'f:1'|(^|[ '])f:1" | head -n 1)
    if [ -z "$line" ]; then
        fail "$what: standard error does not name f instance 1 as the failing instance"
        show "$W/$name.err"
    else
        pass "$what: names the failing instance: $line"
    fi
}

# ---------------------------------------------------------------- tcp
# start_rendezvous NAME BIND CMD...: run CMD (flowrun, its graph and
# options; or that wrapped, as in `ip netns exec NS flowrun ...`) with
# --rendezvous-only --bind BIND in the background; sets RV_PID and RV_ADDR
# (its first line of output). Fails unless that is tcp://BIND:PORT.
start_rendezvous() {
    local name=$1 bind=$2 t
    shift 2
    RV_ADDR=""
    timeout -k 5 60 "$@" --rendezvous-only --bind "$bind" \
        >"$W/$name.out" 2>"$W/$name.err" &
    RV_PID=$!
    BG_PIDS+=("$RV_PID")
    for t in $(seq 100); do
        RV_ADDR=$(head -n 1 "$W/$name.out" 2>/dev/null)
        [ -n "$RV_ADDR" ] && break
        kill -0 $RV_PID 2>/dev/null || break
        sleep 0.1
    done
    case $RV_ADDR in
    "tcp://$bind:"[0-9]*) return 0 ;;
    esac
    return 1
}

# --instance runs its node in a child process and exits with the child's
# status. Started with SIGCHLD ignored (env --ignore-signal), the kernel
# reaped that child itself and a failed instance exited 0: f[1], which
# exits 3, must exit 3.
tcp_instance_sigchld() {
    local what="tcp: --instance f:1 started with SIGCHLD ignored exits 3, as its node"
    local addr rv rc inst pids=()
    if ! start_rendezvous ichld-rv 127.0.0.1 "$FLOWRUN" "$FAULT"; then
        fail "$what: the rendezvous printed no tcp://127.0.0.1:PORT line"
        show "$W/ichld-rv.err"
        return
    fi
    addr=$RV_ADDR rv=$RV_PID
    for inst in src:0 src:1 f:0 out:0; do
        timeout -k 5 60 "$FLOWRUN" "$FAULT" --instance $inst --rendezvous "$addr" \
            --bind 127.0.0.1 >/dev/null 2>"$W/ichld-${inst/:/-}.err" &
        pids+=($!)
        BG_PIDS+=($!)
    done
    timeout -k 5 60 env --ignore-signal=CHLD "$FLOWRUN" "$FAULT" --instance f:1 \
        --rendezvous "$addr" --bind 127.0.0.1 >/dev/null 2>"$W/ichld-f-1.err"
    rc=$?
    wait "${pids[@]}" "$rv" 2>/dev/null
    if [ $rc = 3 ]; then
        pass "$what"
    else
        fail "$what: exit status $rc"
        show "$W/ichld-f-1.err"
    fi
}

# A rendezvous stopped by a signal exits 128 + its number (it said 143
# whatever the signal), after telling the instances to stop.
tcp_rendezvous_signals() {
    local sig num rc i1 irc
    for sig in HUP INT TERM; do
        num=$(kill -l "$sig")
        if ! start_rendezvous "rvsig-$sig" 127.0.0.1 "$FLOWRUN" "$PALIN"; then
            fail "tcp: --rendezvous-only for SIG$sig printed no address"
            show "$W/rvsig-$sig.err"
            continue
        fi
        # One instance registered and waiting: told to stop, it says so;
        # the rendezvous names the ones it waited for, as a timeout does
        # (it named none: an instance never started went unsaid).
        "$FLOWRUN" "$PALIN" --instance gen:0 --rendezvous "$RV_ADDR" \
            --bind 127.0.0.1 >/dev/null 2>"$W/rvsig-$sig-gen.err" &
        i1=$!
        BG_PIDS+=($i1)
        sleep 0.5
        # To flowrun itself, the child of timeout(1), which exits with its
        # status.
        kill -s "$sig" "$(pgrep -P "$RV_PID")"
        wait "$RV_PID"
        rc=$?
        wait $i1
        irc=$?
        if [ "$rc" = $((128 + num)) ] &&
            grep -q "flowrun: graph 'palindromes' stopped by SIG$sig before its end: every instance is told to stop; not finished: gen\[0\], chunks\[0\] (never registered), find\[0\] (never registered), find\[1\] (never registered), out\[0\] (never registered)$" "$W/rvsig-$sig.err" &&
            [ $irc = 143 ] && grep -q "gen\[0\] (pid [0-9]*) warning: stopped by the rendezvous $RV_ADDR" "$W/rvsig-$sig-gen.err"; then
            pass "tcp: --rendezvous-only stopped by SIG$sig exits $rc, and its instance 143, both saying so"
        else
            show "$W/rvsig-$sig-gen.err"
            fail "tcp: --rendezvous-only stopped by SIG$sig exits $rc, not $((128 + num))"
            show "$W/rvsig-$sig.err"
        fi
    done
}

# An instance killed outright (its flowrun, SIGKILL): the rendezvous exits
# 1, saying so once (it said it twice, for the others' going after the
# abort) and naming the instance. The rendezvous killed outright: every instance exits 143 and says
# it lost the rendezvous (it said nothing).
tcp_lost() {
    local what rc inst pids n i
    local long=(--set words=300000000)
    for what in instance rendezvous; do
        if ! start_rendezvous "lost-$what" 127.0.0.1 "$FLOWRUN" "$PALIN" "${long[@]}"; then
            fail "tcp: lost $what: the rendezvous printed no address"
            show "$W/lost-$what.err"
            continue
        fi
        pids=()
        for inst in gen:0 chunks:0 find:0 find:1 out:0; do
            "$FLOWRUN" "$PALIN" "${long[@]}" --instance $inst --rendezvous "$RV_ADDR" \
                --bind 127.0.0.1 >/dev/null 2>"$W/lost-$what-${inst/:/-}.err" &
            pids+=($!)
            BG_PIDS+=($!)
        done
        sleep 1.5
        if [ $what = instance ]; then
            kill -KILL "${pids[1]}"
            wait "$RV_PID"
            rc=$?
            n=$(grep -c "lost its connection to the rendezvous" "$W/lost-$what.err")
            if [ $rc = 1 ] && [ "$n" = 1 ] &&
                grep -q "error: node 'chunks' instance 0 (pid [0-9]* on [^)]*) lost its connection" "$W/lost-$what.err"; then
                pass "tcp: an instance killed: the rendezvous exits 1, saying so once and naming it"
            else
                fail "tcp: an instance killed: the rendezvous exits $rc, saying so $n times"
                show "$W/lost-$what.err"
            fi
            wait "${pids[@]}" 2>/dev/null
        else
            kill -KILL "$(pgrep -P "$RV_PID")"
            for i in 0 1 2 3 4; do
                wait "${pids[$i]}"
                rc=$?
                inst=(gen-0 chunks-0 find-0 find-1 out-0)
                if [ $rc = 143 ] &&
                    grep -q "error: lost the rendezvous $RV_ADDR" "$W/lost-$what-${inst[$i]}.err"; then
                    pass "tcp: the rendezvous killed: ${inst[$i]} exits 143, saying it lost it"
                else
                    fail "tcp: the rendezvous killed: ${inst[$i]} exits $rc"
                    show "$W/lost-$what-${inst[$i]}.err"
                fi
            done
        fi
    done
}

# slow_graph FILE: range -> jitter -> collect count; 1000 messages fit in
# the first link's queues at once, and jitter takes about 10 s over them.
slow_graph() {
    cat >"$1" <<'INI'
[graph]
name = slow
[src]
type = range
count = 1024000
[slow]
type = jitter
max_us = 20000
[out]
type = collect
mode = count
[links]
push = src.out -> slow.in batch=1024 hwm=1000
push = slow.out -> out.in
INI
}

# start_slow_run NAME GRAPH: the rendezvous of GRAPH (a slow_graph; with
# the options in SLOW_RV_ARGS) and its
# instances src:0, slow:0 and out:0, each a `flowrun --instance` in the
# background (stderr in $W/NAME-src-0.err, ...); sets RV_PID, RV_ADDR and
# SLOW_PIDS (the instances' flowrun, in that order). Returns 1, having
# failed the check, when the rendezvous printed no address.
start_slow_run() {
    local name=$1 g=$2 inst
    SLOW_PIDS=()
    if ! start_rendezvous "$name" 127.0.0.1 "$FLOWRUN" "$g" "${SLOW_RV_ARGS[@]}"; then
        fail "tcp: $name: the rendezvous printed no address"
        show "$W/$name.err"
        return 1
    fi
    for inst in src:0 slow:0 out:0; do
        # as background jobs of a script, they would ignore SIGINT
        env --default-signal=INT "$FLOWRUN" "$g" --instance $inst \
            --rendezvous "$RV_ADDR" --bind 127.0.0.1 \
            >/dev/null 2>"$W/$name-${inst/:/-}.err" &
        SLOW_PIDS+=($!)
        BG_PIDS+=($!)
    done
}

SLOW_RV_ARGS=()

# ms_since T0: milliseconds since T0 (a `date +%s%N`).
ms_since() {
    echo $((($(date +%s%N) - $1) / 1000000))
}

# Liveness (--liveness 2 on the rendezvous): an instance held (SIGSTOP, as
# a hung or frozen host) fails the run within seconds, named, and the
# others stop; held, the rendezvous is taken for lost by every instance,
# and, continued, says it was held. A hold shorter than the liveness, or
# with --liveness 0, does no harm. Before, a held instance or rendezvous
# held the whole run for ever (or until a --timeout).
tcp_liveness() {
    local g=$W/live.ini rc t i node n
    slow_graph "$g"
    SLOW_RV_ARGS=(--liveness 2)
    start_slow_run live-inst "$g" || return
    sleep 1.5
    node=$(pgrep -P "${SLOW_PIDS[1]}")
    kill -STOP "${SLOW_PIDS[1]}" $node
    t=$(date +%s%N)
    wait "$RV_PID"
    rc=$?
    n=$(ms_since $t)
    if [ $rc = 1 ] && [ $n -le 8000 ] &&
        grep -q "error: node 'slow' instance 0 (pid [0-9]* on [^)]*) lost its connection to the rendezvous before finishing (killed, crashed, silent for 2 s, or its host unreachable)" "$W/live-inst.err"; then
        pass "tcp: an instance held (SIGSTOP): the rendezvous exits 1 after $n ms, naming it"
    else
        fail "tcp: an instance held (SIGSTOP): the rendezvous exits $rc after $n ms"
        show "$W/live-inst.err"
    fi
    for i in 0 2; do
        wait "${SLOW_PIDS[$i]}"
        rc=$?
        [ $rc = 143 ] || fail "tcp: an instance held: the others exit $rc, not 143 (stopped)"
    done
    kill -CONT "${SLOW_PIDS[1]}" $node
    t=$(date +%s%N)
    wait "${SLOW_PIDS[1]}"
    rc=$?
    n=$(ms_since $t)
    if [ $rc = 143 ] && [ $n -le 6000 ] &&
        grep -q "slow\[0\] (pid $node) error: lost the rendezvous $RV_ADDR (gone, or silent, and not back within 2 s): stopping" "$W/live-inst-slow-0.err"; then
        pass "tcp: the held instance, continued, stops after $n ms (143), saying it lost the rendezvous"
    else
        fail "tcp: the held instance, continued, exits $rc after $n ms"
        show "$W/live-inst-slow-0.err"
    fi

    start_slow_run live-rv "$g" || return
    sleep 1.5
    kill -STOP "$(pgrep -P "$RV_PID")"
    t=$(date +%s%N)
    for i in 0 1 2; do
        wait "${SLOW_PIDS[$i]}"
        rc=$?
        n=$(ms_since $t)
        inst=(src-0 slow-0 out-0)
        if [ $rc = 143 ] && [ $n -le 10000 ] &&
            grep -q "error: lost the rendezvous $RV_ADDR (gone, or silent, and not back within 2 s): stopping" "$W/live-rv-${inst[$i]}.err"; then
            pass "tcp: the rendezvous held (SIGSTOP): ${inst[$i]} exits 143 after $n ms, saying it lost it"
        else
            fail "tcp: the rendezvous held (SIGSTOP): ${inst[$i]} exits $rc after $n ms"
            show "$W/live-rv-${inst[$i]}.err"
        fi
    done
    kill -CONT "$(pgrep -P "$RV_PID")"
    t=$(date +%s%N)
    wait "$RV_PID"
    rc=$?
    n=$(ms_since $t)
    if [ $rc = 1 ] && [ $n -le 3000 ] && [ "$(grep -c error "$W/live-rv.err")" = 1 ] &&
        grep -q "flowrun: error: the rendezvous was held for [0-9.]* s (stopped?), longer than its liveness (2 s): its instances took it for lost and stop" "$W/live-rv.err"; then
        pass "tcp: the held rendezvous, continued, exits 1 after $n ms, saying it was held"
    else
        fail "tcp: the held rendezvous, continued, exits $rc after $n ms"
        show "$W/live-rv.err"
    fi

    # Holds that do no harm: shorter than the liveness, or none checked
    # (longer than the default 10 s: --liveness 0 is no check, not the
    # default). Both runs at once.
    sed -i 's/^count = .*/count = 307200/' "$g"
    local rvs=() srcs=() mids=() outs=() holds=()
    for i in 3:1 0:11; do
        SLOW_RV_ARGS=(--liveness "${i%:*}")
        start_slow_run "live-ok${i%:*}" "$g" || return
        rvs+=("$RV_PID") srcs+=("${SLOW_PIDS[0]}") mids+=("${SLOW_PIDS[1]}")
        outs+=("${SLOW_PIDS[2]}")
        node=$(pgrep -P "${SLOW_PIDS[1]}")
        (
            sleep 0.5
            kill -STOP "${SLOW_PIDS[1]}" $node
            sleep "${i#*:}"
            kill -CONT "${SLOW_PIDS[1]}" $node
        ) &
        holds+=($!)
    done
    SLOW_RV_ARGS=()
    wait "${holds[@]}"
    for t in 0 1; do
        i=$([ $t = 0 ] && echo 3:1 || echo 0:11)
        wait "${rvs[$t]}"
        rc=$?
        wait "${srcs[$t]}" "${mids[$t]}"
        wait "${outs[$t]}"
        n=$?
        if [ $rc = 0 ] && [ $n = 0 ]; then
            pass "tcp: --liveness ${i%:*}, an instance held for ${i#*:} s: the run ends well"
        else
            fail "tcp: --liveness ${i%:*}, an instance held for ${i#*:} s: the rendezvous exits $rc, out[0] $n"
            show "$W/live-ok${i%:*}.err"
        fi
    done
}

# A rendezvous held about its liveness: its instances, whose time to live
# counts from their last PING (up to a heartbeat before the hold), may
# have dropped their connections. Held 1.7 s and 2.5 s under --liveness 2,
# the run goes on, or the rendezvous says it was held and exits 1; it
# never blames an instance (it named one as "silent for 2 s").
tcp_liveness_near() {
    local g=$W/near.ini rc h t rvs=() pids=() holds=()
    slow_graph "$g"
    SLOW_RV_ARGS=(--liveness 2)
    for h in 1.7 2.5; do # both runs at once
        start_slow_run "near$h" "$g" || return
        rvs+=("$RV_PID")
        pids+=("${SLOW_PIDS[@]}")
        (
            sleep 1.5
            kill -STOP "$(pgrep -P "$RV_PID")"
            sleep $h
            kill -CONT "$(pgrep -P "$RV_PID")"
        ) &
        holds+=($!)
    done
    SLOW_RV_ARGS=()
    wait "${holds[@]}"
    for t in 0 1; do
        h=$([ $t = 0 ] && echo 1.7 || echo 2.5)
        wait "${rvs[$t]}"
        rc=$?
        if { [ $rc = 0 ] && ! grep -q "error" "$W/near$h.err"; } ||
            { [ $rc = 1 ] && ! grep -q "lost its connection" "$W/near$h.err" &&
                grep -q "flowrun: error: the rendezvous was held for [0-9.]* s (stopped?), \(about\|longer than\) its liveness (2 s)" "$W/near$h.err"; }; then
            pass "tcp: the rendezvous held for $h s (--liveness 2): exit $rc, no instance blamed"
        else
            fail "tcp: the rendezvous held for $h s (--liveness 2): exit $rc"
            show "$W/near$h.err" "$W/near$h"-*.err
        fi
    done
    wait "${pids[@]}" 2>/dev/null
}

# A rendezvous held longer than its liveness just as its answers fall due:
# the last HELLO (the TABLE goes to everybody) or the last DONE (the
# RELEASE), read as it continues, while its instances' connections are
# dropping. Both cases at once: "start", held as out:0 registers; "end",
# held as the instances finish (a graph of about 1 s). The run ends, every
# process with it: the rendezvous exits 0 and every instance 0, or it
# says it was held and exits 1; it never waits for ever (a version that
# answered dropped connections hung until its --timeout) nor blames an
# instance.
tcp_liveness_answers() {
    local g=$W/answers.ini c rc rcs p inst
    local -A rv holder
    slow_graph "$g"
    sed -i 's/^count = .*/count = 102400/' "$g"
    for c in start end; do
        if ! start_rendezvous "ans-$c" 127.0.0.1 "$FLOWRUN" "$g" --liveness 1 --timeout 20; then
            fail "tcp: answers $c: the rendezvous printed no address"
            show "$W/ans-$c.err"
            continue
        fi
        rv[$c]=$RV_PID
        (
            addr=$RV_ADDR rvp=$RV_PID pids=()
            for inst in src:0 slow:0 out:0; do
                if [ $c = start ] && [ $inst = out:0 ]; then
                    sleep 0.5
                    kill -STOP "$(pgrep -P "$rvp")"
                fi
                timeout -k 5 30 env --default-signal=INT "$FLOWRUN" "$g" --instance $inst \
                    --rendezvous "$addr" --bind 127.0.0.1 \
                    >/dev/null 2>"$W/ans-$c-${inst/:/-}.err" &
                pids+=($!)
            done
            if [ $c = end ]; then
                sleep 0.6
                kill -STOP "$(pgrep -P "$rvp")"
            fi
            sleep 1.6
            kill -CONT "$(pgrep -P "$rvp")"
            rcs=""
            for p in "${pids[@]}"; do
                wait "$p"
                rcs="$rcs $?"
            done
            echo "$rcs" >"$W/ans-$c.rcs"
        ) &
        holder[$c]=$!
        BG_PIDS+=($!)
    done
    for c in start end; do
        [ -n "${rv[$c]}" ] || continue
        wait "${holder[$c]}"
        wait "${rv[$c]}"
        rc=$?
        rcs=$(cat "$W/ans-$c.rcs" 2>/dev/null)
        if { [ $rc = 0 ] && [ "$rcs" = " 0 0 0" ]; } ||
            { [ $rc = 1 ] && ! grep -q "lost its connection" "$W/ans-$c.err" &&
                grep -q "flowrun: error: the rendezvous was held for" "$W/ans-$c.err" &&
                ! echo "$rcs" | grep -q -E " (0|124|137)( |$)"; }; then
            pass "tcp: the rendezvous held 1.6 s (--liveness 1) at the run's $c: exit $rc, instances$rcs, nothing left waiting"
        else
            fail "tcp: the rendezvous held 1.6 s (--liveness 1) at the run's $c: exit $rc, instances:${rcs:- ?}"
            show "$W/ans-$c.err" "$W/ans-$c"-*.err
        fi
    done
}

# established_to PORT: how many TCP connections to PORT on 127.0.0.1 are
# established (the clients' ends, from /proc/net/tcp).
established_to() {
    awk -v p="$(printf '0100007F:%04X' "$1")" '$3 == p && $4 == "01"' \
        /proc/net/tcp | wc -l
}

# A rendezvous held (SIGSTOP: as a host frozen or cut off) within its first
# heartbeat after the start, before any instance's watcher connection had a
# PING (--liveness 4: one each second), with the time to live it carries:
# every instance takes it for lost and stops, as later in the run. Before,
# every instance waited for ever. The same before the start, for an
# instance that had just registered (it waited for ever).
tcp_liveness_start() {
    local g=$W/livestart.ini rc t i n port inst=(src-0 slow-0 out-0)
    slow_graph "$g"
    SLOW_RV_ARGS=(--liveness 4)
    start_slow_run live-start "$g" || return
    SLOW_RV_ARGS=()
    port=${RV_ADDR##*:}
    # The start: each instance's watcher connects (2 connections each).
    for t in $(seq 500); do
        [ "$(established_to "$port")" -ge 6 ] && break
        sleep 0.01
    done
    kill -STOP "$(pgrep -P "$RV_PID")"
    t=$(date +%s%N)
    if [ "$(established_to "$port")" -lt 6 ]; then
        fail "tcp: the rendezvous held at the start: the run did not start"
        kill -CONT "$(pgrep -P "$RV_PID")"
        return
    fi
    local ms=() # when each ended; at most 20 s: then the waiting ones are killed
    for n in $(seq 200); do
        for i in 0 1 2; do
            [ -z "${ms[$i]:-}" ] && ! kill -0 "${SLOW_PIDS[$i]}" 2>/dev/null &&
                ms[$i]=$(ms_since $t)
        done
        [ ${#ms[@]} = 3 ] && break
        sleep 0.1
    done
    for i in 0 1 2; do
        [ -n "${ms[$i]:-}" ] || kill -KILL "${SLOW_PIDS[$i]}"
        wait "${SLOW_PIDS[$i]}" 2>/dev/null
        rc=$?
        n=${ms[$i]:-$(ms_since $t)}
        if [ $rc = 143 ] && [ $n -le 12000 ] &&
            grep -q "error: lost the rendezvous $RV_ADDR (gone, or silent, and not back within 2 s): stopping" "$W/live-start-${inst[$i]}.err"; then
            pass "tcp: the rendezvous held at the start: ${inst[$i]} exits 143 after $n ms, saying it lost it"
        else
            fail "tcp: the rendezvous held at the start: ${inst[$i]} exits $rc after $n ms (137: still waiting after 20 s)"
            show "$W/live-start-${inst[$i]}.err"
        fi
    done
    kill -CONT "$(pgrep -P "$RV_PID")"
    wait "$RV_PID"

    # Before the start: held as src:0 registers, before its first PING
    # (its watcher's connection, made on the WELCOME, is the second).
    if ! start_rendezvous live-pre 127.0.0.1 "$FLOWRUN" "$g" --liveness 4; then
        fail "tcp: live-pre: the rendezvous printed no address"
        return
    fi
    port=${RV_ADDR##*:}
    "$FLOWRUN" "$g" --instance src:0 --rendezvous "$RV_ADDR" --bind 127.0.0.1 \
        >/dev/null 2>"$W/live-pre-src-0.err" &
    i=$!
    BG_PIDS+=($i)
    for t in $(seq 300); do
        [ "$(established_to "$port")" -ge 1 ] && break
        sleep 0.01
    done
    t=$(date +%s%N) # within 0.4 s of its connection: before its first PING
    while [ "$(established_to "$port")" -lt 2 ] && [ "$(ms_since $t)" -lt 400 ]; do
        sleep 0.01
    done
    kill -STOP "$(pgrep -P "$RV_PID")"
    t=$(date +%s%N)
    for n in $(seq 200); do
        kill -0 $i 2>/dev/null || break
        sleep 0.1
    done
    n=$(ms_since $t)
    kill -KILL $i 2>/dev/null
    wait $i 2>/dev/null
    rc=$?
    if [ $rc = 143 ] && [ $n -le 12000 ] &&
        grep -q "error: lost the rendezvous $RV_ADDR (gone, or silent, and not back within 2 s) before the start: stopping" "$W/live-pre-src-0.err"; then
        pass "tcp: the rendezvous held as an instance registers: it exits 143 after $n ms, saying it lost it"
    else
        fail "tcp: the rendezvous held as an instance registers: it exits $rc after $n ms (137: still waiting after 20 s)"
        show "$W/live-pre-src-0.err"
    fi
    kill -CONT "$(pgrep -P "$RV_PID")"
    wait "$RV_PID"
}

# A rendezvous whose --timeout expires with every instance registered
# tells them to stop and exits 124 at once (it waited 1.5 s more for late
# instances): within 3.2 s of its start.
tcp_rendezvous_timeout() {
    local g=$W/rvtimeout.ini rc t n
    slow_graph "$g"
    SLOW_RV_ARGS=(--timeout 2)
    t=$(date +%s%N)
    start_slow_run rvtimeout "$g" || return
    SLOW_RV_ARGS=()
    wait "$RV_PID"
    rc=$?
    n=$(ms_since $t)
    wait "${SLOW_PIDS[@]}" 2>/dev/null
    if [ $rc = 124 ] && [ $n -le 3400 ] &&
        grep -q "flowrun: error: graph 'slow' timed out after 2s; not finished: .*slow\[0\], out\[0\]" "$W/rvtimeout.err"; then
        pass "tcp: the rendezvous's --timeout 2 expires: exit 124 after $n ms"
    else
        fail "tcp: the rendezvous's --timeout 2 expires: exit $rc after $n ms"
        show "$W/rvtimeout.err"
    fi
}

# An instance killed outright after it finished but before the release:
# the messages it had queued may die with it, and its consumers would wait
# for them for ever. The rendezvous exits 1 within seconds, naming it (it
# ignored the loss: it exited 0 when everything had been delivered, and
# waited for ever, or until a --timeout, when it had not).
tcp_lost_after_done() {
    local g=$W/lost-done.ini rc t delay
    slow_graph "$g"
    # t: seconds from the kill to the rendezvous's exit
    # src is done at once (its 1000 messages fit the queues), slow is not
    # (about 10 s). The kill must come after src registered and finished:
    # under load it may not have within the delay, and the rendezvous then
    # says "never registered" and waits, as it must, for an instance it
    # cannot know died (here until its --timeout): the case is run again
    # with a longer delay.
    for delay in 1.5 3 5; do
        SLOW_RV_ARGS=(--timeout 20)
        start_slow_run lost-done "$g" || { SLOW_RV_ARGS=(); return; }
        SLOW_RV_ARGS=()
        sleep $delay
        kill -KILL "${SLOW_PIDS[0]}"
        t=$SECONDS
        wait "$RV_PID"
        rc=$?
        t=$((SECONDS - t))
        wait "${SLOW_PIDS[@]}" 2>/dev/null
        grep -q 'src\[0\] (never registered)' "$W/lost-done.err" || break
    done
    if [ $rc = 1 ] && [ $t -le 5 ] &&
        grep -q "error: node 'src' instance 0 (pid [0-9]* on [^)]*) lost its connection to the rendezvous after finishing, before the run ended" "$W/lost-done.err"; then
        pass "tcp: an instance killed after it finished, before the release: the rendezvous exits 1 at once, naming it"
    else
        fail "tcp: an instance killed after it finished, before the release: the rendezvous exits $rc after $t s"
        show "$W/lost-done.err"
    fi
}

# stuck_graph FILE: a slow_graph whose node "slow" hangs after 5 messages,
# ignoring SIGTERM (fault action=hang), as a node busy in its own code.
stuck_graph() {
    cat >"$1" <<'INI'
[graph]
name = stuck
[src]
type = range
count = 1024000
[slow]
type = fault
action = hang
after = 5
[out]
type = collect
mode = count
[links]
push = src.out -> slow.in batch=1024
push = slow.out -> out.in
INI
}

# An instance whose node does not end when stopped (stuck in its own code,
# deaf to SIGTERM): stopped by the rendezvous, it ends itself 2 s later;
# sent a stop signal, its flowrun --instance kills it 5 s later, or at once
# at a second signal, as a local run does. It stayed up for ever, whatever
# the signals.
tcp_instance_stuck() {
    local g=$W/stuck.ini rc t n ok
    stuck_graph "$g"
    start_slow_run stuck-rv "$g" || return
    sleep 1.5
    kill -TERM "$(pgrep -P "$RV_PID")"
    t=$SECONDS
    wait "${SLOW_PIDS[1]}"
    rc=$?
    if [ $rc = 143 ] && [ $((SECONDS - t)) -le 5 ] &&
        grep -q "slow\[0\] (pid [0-9]*) error: did not end within 2 s of the stop: ended" "$W/stuck-rv-slow-0.err"; then
        pass "tcp: a stuck instance stopped by the rendezvous ends itself 2 s later (143)"
    else
        fail "tcp: a stuck instance stopped by the rendezvous exits $rc after $((SECONDS - t)) s"
        show "$W/stuck-rv-slow-0.err"
    fi
    wait "$RV_PID" "${SLOW_PIDS[@]}" 2>/dev/null
    # 3: the second SIGTERM 20 ms after the first, from the same process,
    # as GNU timeout(1) sends its signal to the command and then to its
    # process group: one stop (killed 5 s later), not a second signal.
    for n in 1 2 3; do
        start_slow_run stuck-sig$n "$g" || return
        sleep 1.5
        t=$SECONDS
        kill -TERM "${SLOW_PIDS[1]}"
        if [ $n = 2 ]; then
            sleep 0.3
            kill -TERM "${SLOW_PIDS[1]}"
        elif [ $n = 3 ]; then
            sleep 0.02
            kill -TERM "${SLOW_PIDS[1]}"
        fi
        wait "${SLOW_PIDS[1]}"
        rc=$?
        ok=0
        if [ $n = 2 ]; then
            [ $((SECONDS - t)) -le 2 ] && ok=1
        elif [ $((SECONDS - t)) -le 8 ] && [ $((SECONDS - t)) -ge 4 ] &&
            grep -q "did not end within 5 s of SIGTERM: killed" "$W/stuck-sig$n-slow-0.err"; then
            ok=1
        fi
        if [ $rc = 143 ] && [ $ok = 1 ]; then
            case $n in
            1) pass "tcp: a stuck instance sent SIGTERM: killed 5 s later, exit 143" ;;
            2) pass "tcp: a stuck instance sent 2 SIGTERM: killed at the second, exit 143" ;;
            3) pass "tcp: a stuck instance sent SIGTERM and its echo 20 ms later: one stop, killed 5 s later, exit 143" ;;
            esac
        else
            fail "tcp: a stuck instance sent SIGTERM (case $n) exits $rc after $((SECONDS - t)) s"
            show "$W/stuck-sig$n-slow-0.err"
        fi
        wait "$RV_PID" "${SLOW_PIDS[@]}" 2>/dev/null
    done
}

# A stop signal sent to one `flowrun --instance` (a scheduler preempting
# it, a user): the instance says it was stopped, exits 128+N, and the
# rendezvous names the signal once, and exits 1 (it said the instance lost
# its connection: "killed, crashed, or its host unreachable").
tcp_instance_stopped() {
    local g=$W/stopped.ini rc src sig num n
    slow_graph "$g"
    for sig in TERM INT; do
        num=$(kill -l $sig)
        start_slow_run stopped-$sig "$g" || continue
        sleep 1.5
        kill -$sig "${SLOW_PIDS[1]}"
        wait "${SLOW_PIDS[1]}"
        src=$?
        wait "$RV_PID"
        rc=$?
        n=$(grep -c "error" "$W/stopped-$sig.err")
        if [ $rc = 1 ] && [ $src = $((128 + num)) ] && [ "$n" = 1 ] &&
            grep -q "error: node 'slow' instance 0 (pid [0-9]* on [^)]*): stopped by SIG$sig (sent to its flowrun --instance, pid ${SLOW_PIDS[1]})" "$W/stopped-$sig.err" &&
            grep -q "flowrun: instance slow\[0\] stopped by SIG$sig before its end" "$W/stopped-$sig-slow-0.err"; then
            pass "tcp: an --instance stopped by SIG$sig exits $src, the rendezvous 1, each saying so once"
        else
            fail "tcp: an --instance stopped by SIG$sig exits $src, the rendezvous $rc with $n errors"
            show "$W/stopped-$sig.err"
            show "$W/stopped-$sig-slow-0.err"
        fi
        wait "${SLOW_PIDS[@]}" 2>/dev/null
    done
    # One signal for all (a scheduler cancelling everything): the
    # rendezvous stops the run, then an instance reports its own stop. That
    # is a consequence, not a second failure: the rendezvous says only that
    # it was stopped. The instance's node is held (SIGSTOP) so that its stop
    # comes while the rendezvous is still there to hear it.
    start_slow_run stopped-all "$g" || return
    sleep 1.5
    n=$(pgrep -P "${SLOW_PIDS[1]}")
    kill -STOP "$n"
    kill -TERM "$(pgrep -P "$RV_PID")"
    sleep 0.2
    kill -TERM "${SLOW_PIDS[1]}"
    sleep 0.2
    kill -CONT "$n"
    wait "$RV_PID"
    rc=$?
    wait "${SLOW_PIDS[1]}"
    src=$?
    if [ $rc = 143 ] && [ $src = 143 ] && ! grep -q "error" "$W/stopped-all.err" &&
        grep -q "stopped by SIGTERM before its end" "$W/stopped-all.err"; then
        pass "tcp: the rendezvous and then an instance stopped by SIGTERM: the rendezvous says only that it was stopped"
    else
        fail "tcp: the rendezvous and then an instance stopped by SIGTERM: the rendezvous exits $rc, the instance $src"
        show "$W/stopped-all.err"
    fi
    wait "${SLOW_PIDS[@]}" 2>/dev/null
}

# Start `flowrun $SIEVE ARGS... --instance INST` against the rendezvous at
# $RV_ADDR (its standard error in $W/refuse.err) and expect it refused:
# exit 2, both sides giving REASON (a grep pattern).
expect_refused() {
    local what=$1 inst=$2 reason=$3 rc err
    shift 3
    err="$W/refused-${inst/:/-}.err"
    "$FLOWRUN" "$SIEVE" "$@" --instance "$inst" --rendezvous "$RV_ADDR" \
        --bind 127.0.0.1 >/dev/null 2>"$err"
    rc=$?
    if [ $rc = 2 ] && grep -q "${inst%%:*}\[${inst##*:}\] (pid [0-9]*) error: the rendezvous $RV_ADDR refused it: $reason" "$err" &&
        grep -q "flowrun: error: refused instance $inst (pid [0-9]* on [^)]*): $reason" "$W/refuse.err"; then
        pass "tcp: $what: exits 2, both sides saying why"
    else
        fail "tcp: $what: exits $rc"
        show "$err"
        show "$W/refuse.err"
    fi
}

# Start seg:0 of $SIEVE ARGS... against RDV, where no rendezvous answers,
# in the background (named TAG); expect_unreached TAG WHAT waits for it: it
# must exit 1 within 20 s, saying it cannot reach it. Several run at once.
start_unreached() {
    local rdv=$1 tag=$2
    shift 2
    (
        t0=$(date +%s.%N)
        "$FLOWRUN" "$SIEVE" "$@" --instance seg:0 --rendezvous "$rdv" \
            --bind 127.0.0.1 >/dev/null 2>"$W/unreached-$tag.err"
        echo "$? $rdv $(echo "$(date +%s.%N) - $t0" | bc)" >"$W/unreached-$tag.rc"
    ) &
    UNREACHED_PIDS+=($!)
    BG_PIDS+=($!)
}
UNREACHED_PIDS=()

expect_unreached() {
    local tag=$1 what=$2 rc rdv t err="$W/unreached-$1.err"
    wait "${UNREACHED_PIDS[@]}" 2>/dev/null
    read -r rc rdv t <"$W/unreached-$tag.rc" || rc=none
    if [ "$rc" = 1 ] && grep -q "seg\[0\] (pid [0-9]*) error: cannot reach the rendezvous $rdv (no connection to it in 10 s)" "$err" &&
        [ "$(echo "$t < 20" | bc)" = 1 ]; then
        pass "tcp: $what: the instance exits 1 in ${t%.*} s, saying so"
    else
        fail "tcp: $what: exit $rc after ${t:-?} s"
        show "$err"
    fi
}

# Before the start (before every instance registered), an --instance
# process waited for ever and said nothing: for a rendezvous at an address
# where none listens (it now fails, exit 1, after 10 s), and for one that
# vanished (exit 143 after 2 s, saying so). A second process for a
# registered instance, or one started with other --set values, is refused
# (exit 2, both sides saying why), and the run goes on with the right ones.
tcp_refusals() {
    local args=(--set segments=2 --set output=count --set limit=100000
        --set out.mode=items --set out.end=newline)
    # The same graph: node keys set in another order, a log level of its own
    local same=(--set out.end=newline --set out.mode=items --set limit=100000
        --set output=count --set segments=2 --set main.log_level=debug)
    local rc t pid i1
    start_unreached tcp://127.0.0.1:1 none "${args[@]}"

    # Something else listens there (it answers, then hangs up): no
    # rendezvous either (the instance waited for ever, reconnecting).
    python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    c.close()
' >"$W/http.port" &
    pid=$!
    BG_PIDS+=($pid)
    for t in $(seq 50); do [ -s "$W/http.port" ] && break; sleep 0.1; done
    start_unreached "tcp://127.0.0.1:$(cat "$W/http.port")" http "${args[@]}"
    expect_unreached none "no rendezvous at that address"
    expect_unreached http "another server at that address"
    kill $pid 2>/dev/null
    wait $pid 2>/dev/null

    if start_rendezvous gone 127.0.0.1 "$FLOWRUN" "$SIEVE" "${args[@]}"; then
        "$FLOWRUN" "$SIEVE" "${args[@]}" --instance seg:0 --rendezvous "$RV_ADDR" \
            --bind 127.0.0.1 >/dev/null 2>"$W/gone-i.err" &
        i1=$!
        BG_PIDS+=($i1)
        sleep 0.5
        kill -KILL $(pgrep -P "$RV_PID") 2>/dev/null
        wait $i1
        rc=$?
        if [ $rc = 143 ] && grep -q "seg\[0\] (pid [0-9]*) error: lost the rendezvous $RV_ADDR (gone, or silent, and not back within 2 s) before the start" "$W/gone-i.err"; then
            pass "tcp: the rendezvous killed before the start: the instance exits 143, saying so"
        else
            fail "tcp: the rendezvous killed before the start: the instance exits $rc"
            show "$W/gone-i.err"
        fi
        wait "$RV_PID" 2>/dev/null
    else
        fail "tcp: refusals: the rendezvous printed no address"
    fi

    if ! start_rendezvous refuse 127.0.0.1 "$FLOWRUN" "$SIEVE" "${args[@]}"; then
        fail "tcp: refusals: the rendezvous printed no address"
        return
    fi
    # A connection that is no instance's (a port scan) comes and goes
    # before any instance registers: nothing is lost (the rendezvous said
    # an instance had lost its connection, and exited 1).
    local port=${RV_ADDR##*:}
    if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
        exec 3>&-
    fi
    sleep 1.5
    "$FLOWRUN" "$SIEVE" "${args[@]}" --instance seg:0 --rendezvous "$RV_ADDR" \
        --bind 127.0.0.1 >/dev/null 2>"$W/refuse-seg0.err" &
    i1=$!
    BG_PIDS+=($i1)
    sleep 0.5
    expect_refused "an instance started twice" seg:0 \
        "the instance is already registered, by pid [0-9]* on " "${args[@]}"
    # An instance of a larger graph: its process number is past this one's
    # (it was ignored, and waited for ever).
    # Each says where the graph differs (the prints of its parts).
    expect_refused "an instance of a larger graph" out:0 "its graph differs from the rendezvous's: graph parameter 'segments' differs (another file" \
        "${args[@]}" --set segments=3
    expect_refused "an instance with other --set values" seg:1 \
        "its graph differs from the rendezvous's: graph parameter 'segments' differs" "${args[@]}" --set segments=3
    expect_refused "an instance with another node key" seg:1 \
        "its graph differs from the rendezvous's: node 'out' differs (its name, type, instances or keys, or its type's parameters and ports: another version of the plugin there?)" "${args[@]}" --set out.limit=7
    local rest=()
    for pid in seg:1 main:0 out:0; do
        if [ $pid = main:0 ]; then set -- "${same[@]}"; else set -- "${args[@]}"; fi
        "$FLOWRUN" "$SIEVE" "$@" --instance $pid --rendezvous "$RV_ADDR" \
            --bind 127.0.0.1 >"$W/refuse-${pid/:/-}.out" 2>>"$W/refuse-rest.err" &
        rest+=($!)
        BG_PIDS+=($!)
    done
    wait "$RV_PID"
    rc=$?
    wait $i1 "${rest[@]}" 2>/dev/null
    if [ $rc = 0 ] && [ "$(cat "$W/refuse-out-0.out")" = 9592 ]; then
        pass "tcp: after a stranger's connection and the refusals, the right instances (one with its --set in another order and a log level of its own) run the graph to its end (9592 primes)"
    else
        fail "tcp: after the refusals: the rendezvous exits $rc"
        show "$W/refuse-out-0.out"
        show "$W/refuse.err"
    fi
}

# An instance that registers just after its rendezvous's --timeout expired
# (the others did in time): the rendezvous, which waits a little for such
# late instances, tells it to stop (143, saying so), rather than leaving it
# to find no rendezvous after 10 s (exit 1).
# The late instance starts as soon as the rendezvous said it timed out (so
# it is late however slowly the rendezvous started). The rendezvous answers
# for about 1.5 s more: an instance that took longer than that to start and
# register (a loaded machine; src and slow then often missed the 1 s too)
# came after the rendezvous was gone, found no one (exit 1 after 10 s), and
# tested nothing: the case is run again, three times at most.
tcp_late_instance() {
    local g=$W/late.ini rc t n i1 i2 try
    slow_graph "$g"
    for try in 1 2 3; do
        if ! start_rendezvous late-rv 127.0.0.1 "$FLOWRUN" "$g" --timeout 1; then
            fail "tcp: late instance: the rendezvous printed no address"
            return
        fi
        "$FLOWRUN" "$g" --instance src:0 --rendezvous "$RV_ADDR" --bind 127.0.0.1 \
            >/dev/null 2>"$W/late-src.err" &
        i1=$!
        "$FLOWRUN" "$g" --instance slow:0 --rendezvous "$RV_ADDR" --bind 127.0.0.1 \
            >/dev/null 2>"$W/late-slow.err" &
        i2=$!
        BG_PIDS+=($i1 $i2)
        for t in $(seq 200); do
            grep -q "timed out after 1s" "$W/late-rv.err" && break
            sleep 0.05
        done
        t=$(date +%s%N)
        "$FLOWRUN" "$g" --instance out:0 --rendezvous "$RV_ADDR" --bind 127.0.0.1 \
            >/dev/null 2>"$W/late-out.err"
        rc=$?
        n=$(ms_since $t)
        wait "$RV_PID" $i1 $i2 2>/dev/null
        [ $rc = 1 ] && grep -q "out\[0\] (pid [0-9]*) error: cannot reach the rendezvous" "$W/late-out.err" || break
        echo "note: tcp: late instance: out:0 came after the rendezvous had gone (try $try, exit $rc after $n ms)"
    done
    if [ $rc = 143 ] && [ $n -le 3000 ] &&
        grep -q "out\[0\] (pid [0-9]*) warning: stopped by the rendezvous $RV_ADDR" "$W/late-out.err"; then
        pass "tcp: an instance registering just after the rendezvous's --timeout: told to stop (143 after $n ms)"
    else
        fail "tcp: an instance registering just after the rendezvous's --timeout: exit $rc after $n ms"
        show "$W/late-out.err" "$W/late-rv.err"
    fi
}

# `instances = auto` where hosts have different CPU counts: the rendezvous
# (OTHER CPUs) and an instance (this host's) load the same file with the
# same options into graphs of different sizes. The instance is refused,
# both sides saying what auto counted and what to do; given
# FLOW_AUTO_INSTANCES, every instance runs the rendezvous's graph. (They
# were refused as if started with "another file, or other --set values".)
tcp_auto_instances() {
    local args=(--set workers=auto) rc inst pids=() bad=""
    if [ ! -f "$PRELOAD_DIR/nproc.so" ]; then
        fail "tcp: auto instances: no nproc.so in '$PRELOAD_DIR' (FLOW_FIXTURE_PRELOAD_DIR)"
        return
    fi
    run ipc-auto 60 "$FLOWRUN" "$PALIN" --set workers=$OTHER || {
        fail "tcp: auto instances: the ipc reference run failed"
        return
    }
    if ! start_rendezvous auto-rv 127.0.0.1 "${OTHER_HOST[@]}" "$FLOWRUN" "$PALIN" "${args[@]}"; then
        fail "tcp: auto instances: the rendezvous printed no address"
        show "$W/auto-rv.err"
        return
    fi
    "$FLOWRUN" "$PALIN" "${args[@]}" --instance out:0 --rendezvous "$RV_ADDR" \
        --bind 127.0.0.1 >/dev/null 2>"$W/auto-refused.err"
    rc=$?
    if [ $rc = 2 ] &&
        grep -q "out\[0\] (pid [0-9]*) error: the rendezvous $RV_ADDR refused it: its graph differs .*; or instances = auto counted other CPUs there ($OTHER here): give every process FLOW_AUTO_INSTANCES=$OTHER (instances = auto is $ONLINE here)" "$W/auto-refused.err" &&
        grep -q "flowrun: error: refused instance out:0 .*instances = auto counted other CPUs there ($OTHER here)" "$W/auto-rv.err"; then
        pass "tcp: instances = auto, $OTHER CPUs at the rendezvous and $ONLINE at an instance: refused, both sides saying so"
    else
        fail "tcp: instances = auto on hosts of different sizes: the instance exits $rc"
        show "$W/auto-refused.err" "$W/auto-rv.err"
    fi
    for inst in gen:0 twice chunks:0 $(seq -f 'find:%g' 0 $((OTHER - 1))) out:0; do
        if [ $inst = twice ]; then
            # gen:0 again, once the first has registered: refused as
            # started twice, a refusal that is no matter of graphs, so
            # without the count of auto instances here.
            sleep 0.5
            FLOW_AUTO_INSTANCES=$OTHER "$FLOWRUN" "$PALIN" "${args[@]}" --instance gen:0 \
                --rendezvous "$RV_ADDR" --bind 127.0.0.1 >/dev/null 2>"$W/auto-twice.err"
            rc=$?
            if [ $rc = 2 ] && grep -q "refused it: the instance is already registered" "$W/auto-twice.err" &&
                ! grep -q "instances = auto is" "$W/auto-twice.err"; then
                pass "tcp: instances = auto, an instance started twice: refused without the count of auto instances"
            else
                fail "tcp: instances = auto, an instance started twice: exits $rc"
                show "$W/auto-twice.err"
            fi
            continue
        fi
        FLOW_AUTO_INSTANCES=$OTHER "$FLOWRUN" "$PALIN" "${args[@]}" --instance $inst \
            --rendezvous "$RV_ADDR" --bind 127.0.0.1 \
            >"$W/auto-${inst/:/-}.out" 2>"$W/auto-${inst/:/-}.err" &
        pids+=($!)
        BG_PIDS+=($!)
    done
    for inst in "${pids[@]}"; do
        wait "$inst" || bad="$bad $inst=$?"
    done
    wait "$RV_PID"
    rc=$?
    cp "$W/auto-out-0.out" "$W/auto.out"
    if [ $rc = 0 ] && [ -z "$bad" ]; then
        expect_same auto auto 0 "tcp: instances = auto with FLOW_AUTO_INSTANCES=$OTHER on every instance: the rendezvous's graph"
    else
        fail "tcp: FLOW_AUTO_INSTANCES=$OTHER: the rendezvous exits $rc, instances:${bad:- 0}"
        show "$W/auto-rv.err" "$W"/auto-*.err
    fi
}

# An instance that fails before it registers (it cannot bind its
# endpoints): the rendezvous says which, and that it had not registered
# (it said "pid 0 on ?"), and exits 1.
tcp_fail_unregistered() {
    local args=(--set segments=2 --set output=count --set limit=100000) rc irc
    if ! start_rendezvous unreg 127.0.0.1 "$FLOWRUN" "$SIEVE" "${args[@]}"; then
        fail "tcp: unregistered failure: the rendezvous printed no address"
        return
    fi
    # an address it cannot bind: a usage error there (exit 2, before its
    # node starts), told to the rendezvous, which would wait for it
    "$FLOWRUN" "$SIEVE" "${args[@]}" --instance out:0 --rendezvous "$RV_ADDR" \
        --bind 10.255.255.254 >/dev/null 2>"$W/unreg-out.err"
    irc=$?
    wait "$RV_PID"
    rc=$?
    if [ $rc = 1 ] && [ $irc = 2 ] && grep -q "flowrun: error: node 'out' instance 0 (before it registered): --bind '10.255.255.254': cannot bind a TCP socket there" "$W/unreg.err" &&
        grep -q "flowrun: error: --bind '10.255.255.254': cannot bind a TCP socket there" "$W/unreg-out.err"; then
        pass "tcp: an instance that fails before registering: the rendezvous names it and exits 1"
    else
        fail "tcp: an instance that fails before registering: the rendezvous exits $rc, the instance $irc"
        show "$W/unreg.err"
        show "$W/unreg-out.err"
    fi
}

# An instance that cannot load its graph (the file missing on its host, no
# shared file system; a plugin missing there): it never registers, and it
# exited 2 without a word to the rendezvous, which waited for it until its
# --timeout (124), or for ever. Now the rendezvous names it, where it ran,
# and why, and exits 1 at once.
tcp_unloaded() {
    local args=(--set segments=2 --set output=count --set limit=100000) rc irc
    local what="tcp: an instance whose graph file is missing on its host"
    if ! start_rendezvous unloaded 127.0.0.1 "$FLOWRUN" "$SIEVE" "${args[@]}" \
        --timeout 20; then
        fail "$what: the rendezvous printed no address"
        return
    fi
    timeout -k 5 30 "$FLOWRUN" "$W/no-such-dir/sieve.ini" "${args[@]}" --instance seg:1 \
        --rendezvous "$RV_ADDR" >/dev/null 2>"$W/unloaded-seg.err"
    irc=$?
    wait "$RV_PID"
    rc=$?
    if [ $rc = 1 ] && [ $irc = 2 ] &&
        grep -q "^flowrun: error: node 'seg' instance 1 (pid [0-9]* on [^,]*, before it registered): cannot load the graph: $W/no-such-dir/sieve.ini: cannot open graph: No such file or directory$" "$W/unloaded.err" &&
        grep -q "^flowrun: error: $W/no-such-dir/sieve.ini: cannot open graph" "$W/unloaded-seg.err"; then
        pass "$what: the rendezvous names it and exits 1"
    else
        fail "$what: the rendezvous exits $rc, the instance $irc"
        show "$W/unloaded.err" "$W/unloaded-seg.err"
    fi
}

# A rendezvous whose run cannot start (an instance never started: a host
# missed, a job queued) says, 5 s after it began, which instances it waits
# for, and how long it will (it was silent until its timeout, or for ever).
# 103 instances, gen[0] registered: a list too long for one line ends with
# "and N more", and what it lists and counts make the 102 missing.
tcp_waiting_notice() {
    local args=(--set workers=100 --timeout 30) t line listed more i1 rc qrv
    local what="tcp: a rendezvous not started names the instances it waits for"
    # and one with --quiet does not (no messages but errors)
    if ! start_rendezvous waitq 127.0.0.1 "$FLOWRUN" "$PALIN" "${args[@]}" --quiet; then
        fail "$what: the quiet rendezvous printed no address"
        return
    fi
    qrv=$RV_PID
    if ! start_rendezvous waitn 127.0.0.1 "$FLOWRUN" "$PALIN" "${args[@]}"; then
        fail "$what: the rendezvous printed no address"
        return
    fi
    "$FLOWRUN" "$PALIN" "${args[@]}" --instance gen:0 --rendezvous "$RV_ADDR" \
        --bind 127.0.0.1 >/dev/null 2>"$W/waitn-gen.err" &
    i1=$!
    BG_PIDS+=($i1)
    for t in $(seq 100); do
        grep -q "not registered" "$W/waitn.err" && break
        sleep 0.1
    done
    sleep 1
    kill -TERM "$(pgrep -P "$RV_PID")" "$(pgrep -P "$qrv")"
    wait "$RV_PID" "$qrv" $i1
    rc=$?
    line=$(grep "not registered" "$W/waitn.err")
    listed=$(printf '%s\n' "$line" | grep -o '[a-z]*\[[0-9]*\]' | wc -l)
    more=$(printf '%s\n' "$line" | sed -n 's/.* and \([0-9]*\) more$/\1/p')
    if [ "$(printf '%s\n' "$line" | wc -l)" = 1 ] &&
        [[ $line =~ ^"flowrun: graph 'palindromes': 102 of its 103 instances not registered after "[56]" s (waiting up to --timeout 30 s): chunks[0], find[0], find[1], " ]] &&
        [[ $line != *"gen[0]"* ]] && [ -n "$more" ] &&
        [ $((listed + more)) = 102 ] && [ $rc = 143 ] &&
        ! grep -q "not registered" "$W/waitq.err"; then
        pass "$what"
    else
        fail "$what: (instance exit $rc, $listed listed, '$more' more)"
        show "$W/waitn.err" "$W/waitq.err"
    fi
}

# balance=demand with instances started apart: 2 producers deal 3000
# numbers one a message (hwm 6: a frame of credits per 2 messages) to 3
# slowone instances, each a flowrun --instance; w:0 takes 20 ms a message
# and starts 0.5 s after the others. The credits cross the rendezvous's
# wiring like the frames: every number arrives exactly once, every process
# exits 0, and the slow latecomer gets fewer than a third of them.
tcp_demand_apart() {
    local what="tcp: balance=demand, instances started apart, one slow and late"
    local g=$W/demand.ini inst pids=() bad="" rc n uniq slow
    if [ ! -f "$PROBE_DIR/slowone.so" ]; then
        fail "$what: no slowone.so in '$PROBE_DIR' (FLOW_FIXTURE_PLUGIN_DIR)"
        return
    fi
    cat >"$g" <<'EOF'
[src]
type = range
instances = 2
count = 3000
[w]
type = slowone
instances = 3
ms = 20
[out]
type = collect
[links]
push = src.out -> w.in batch=1 balance=demand hwm=6
push = w.out -> out.in balance=demand
EOF
    if ! start_rendezvous demand-rv 127.0.0.1 "$FLOWRUN" "$g" --plugin-path "$PROBE_DIR"; then
        fail "$what: the rendezvous printed no address"
        show "$W/demand-rv.err"
        return
    fi
    for inst in out:0 w:2 src:1 w:1 src:0 w:0; do
        [ $inst = w:0 ] && sleep 0.5
        "$FLOWRUN" "$g" --plugin-path "$PROBE_DIR" --instance $inst \
            --rendezvous "$RV_ADDR" --bind 127.0.0.1 \
            >"$W/demand-${inst/:/-}.out" 2>"$W/demand-${inst/:/-}.err" &
        pids+=($!)
        BG_PIDS+=($!)
    done
    for inst in "${pids[@]}"; do
        wait "$inst" || bad="$bad $inst=$?"
    done
    wait "$RV_PID"
    rc=$?
    n=$(wc -l <"$W/demand-out-0.out")
    uniq=$(awk '{ print $1 % 1000000 }' "$W/demand-out-0.out" | sort -un |
        awk '$1 == NR - 1' | wc -l)
    slow=$(awk '$1 < 1000000' "$W/demand-out-0.out" | wc -l)
    if [ $rc = 0 ] && [ -z "$bad" ] && [ "$n" = 3000 ] && [ "$uniq" = 3000 ] &&
        [ "$slow" -lt 1000 ]; then
        pass "$what: 3000 numbers once each, w:0 took $slow"
    else
        fail "$what: rendezvous $rc, instances:${bad:- 0}, $n lines, $uniq distinct, w:0 took $slow"
        show "$W/demand-rv.err" "$W"/demand-*.err
    fi
}

part_tcp() {
    local rc
    if ! has_option --transport tcp; then
        fail "tcp: flowrun has no --transport option"
        return
    fi
    run tcp-sieve 60 "$FLOWRUN" "$SIEVE" "${SIEVE_ARGS[@]}" --transport tcp
    expect_same tcp-sieve sieve $? "tcp: sieve limit=1e8 count, 4 segments (14 chunks)"
    run tcp-sievelist 60 "$FLOWRUN" "$SIEVE" "${SIEVE_LIST_ARGS[@]}" --transport tcp
    expect_same tcp-sievelist sievelist $? "tcp: sieve limit=2e5 list, 3 segments"
    run tcp-palin 60 "$FLOWRUN" "$PALIN" "${PALIN_ARGS[@]}" --transport tcp
    expect_same tcp-palin palin $? "tcp: palindromes workers=3"
    run tcp-palinbig 60 "$FLOWRUN" "$PALIN" "${PALIN_BIG_ARGS[@]}" --transport tcp --bind 127.0.0.1
    expect_same tcp-palinbig palinbig $? "tcp --bind 127.0.0.1: palindromes 200000 words"
    run tcp-fault 60 "$FLOWRUN" "$FAULT" --transport tcp
    rc=$?
    expect_fault tcp-fault $rc "tcp: fault (exit 3) in f[1]"
    tcp_demand_apart
    tcp_instance_sigchld
    tcp_rendezvous_signals
    tcp_lost
    tcp_lost_after_done
    tcp_instance_stopped
    tcp_instance_stuck
}

# Silent instances and rendezvous: heartbeats, --liveness.
part_tcp_liveness() {
    tcp_liveness
    tcp_liveness_near
    tcp_liveness_answers
    tcp_liveness_start
}

# sieve_apart NAME ARGS...: a rendezvous and the four instances of a sieve
# of 2 segments (main:0 seg:0 seg:1 out:0) started apart, each with ARGS
# and the options INST_OPTS[NODE:I] (if any), writing $W/NAME-NODE-I.out
# and .err; waits for them all. Sets APART_RC, the rendezvous's status,
# and APART_BAD, " I:STATUS" for each instance that failed. Returns 1 when
# the rendezvous printed no address.
declare -A INST_OPTS=()
sieve_apart() {
    local name=$1 inst i pids=()
    shift
    APART_RC="" APART_BAD=""
    start_rendezvous "$name" 127.0.0.1 "$FLOWRUN" "$SIEVE" "$@" || return 1
    for inst in main:0 seg:0 seg:1 out:0; do
        # shellcheck disable=SC2086 # INST_OPTS holds words to split
        "$FLOWRUN" "$SIEVE" "$@" ${INST_OPTS[$inst]:-} --instance $inst \
            --rendezvous "$RV_ADDR" --bind 127.0.0.1 \
            >"$W/$name-${inst/:/-}.out" 2>"$W/$name-${inst/:/-}.err" &
        pids+=($!)
        BG_PIDS+=($!)
    done
    wait "$RV_PID"
    APART_RC=$?
    for i in 0 1 2 3; do
        wait "${pids[$i]}" || APART_BAD="$APART_BAD $i:$?"
    done
}

# Upstream cancellation with instances started apart: the collector's
# limit makes the rendezvous tell the sieve's coordinator and segments
# (each a flowrun --instance) to stop; every process exits 0.
tcp_cancel() {
    local what="tcp: sieve to 1e11 with out.limit=25, instances started apart"
    INST_OPTS=()
    if ! sieve_apart cancel --set limit=100000000000 --set segments=2 \
        --set out.limit=25; then
        fail "tcp: cancel: the rendezvous printed no address"
        return
    fi
    if [ "$APART_RC" = 0 ] && [ -z "$APART_BAD" ] &&
        [ "$(paste -sd' ' "$W/cancel-out-0.out")" = "$FIRST_PRIMES" ] &&
        ! grep -q . "$W"/cancel-*.err; then
        pass "$what: the first 25 primes, every process stops, exit 0"
    else
        fail "$what: rendezvous $APART_RC, instances:${APART_BAD:- 0}"
        show "$W/cancel.err" "$W"/cancel-*.err "$W/cancel-out-0.out"
    fi
}

# --log-level and --quiet reach the node of an --instance (it logged at
# info whatever they said): seg:0 with --log-level debug says what it
# sieves, seg:1 without says nothing below info, and main:0 with --quiet
# nothing at all.
tcp_instance_log_level() {
    local what="tcp: --instance with --log-level debug / --quiet: the node logs as asked"
    INST_OPTS=([seg:0]="--log-level debug" [main:0]="--quiet")
    if ! sieve_apart loglevel --set limit=1000000 --set segments=2 \
        --set output=count; then
        fail "$what: the rendezvous printed no address"
        return
    fi
    INST_OPTS=()
    if [ "$APART_RC" = 0 ] && [ -z "$APART_BAD" ] &&
        [ "$(cat "$W/loglevel-out-0.out")" = 78498 ] &&
        grep -q '^seg\[0\] (pid [0-9]*) debug: sieving \[' "$W/loglevel-seg-0.err" &&
        ! grep -q 'debug:' "$W/loglevel-seg-1.err" &&
        ! grep -q . "$W/loglevel-main-0.err"; then
        pass "$what"
    else
        fail "$what: rendezvous $APART_RC, instances:${APART_BAD:- 0}"
        show "$W/loglevel.err" "$W"/loglevel-*.err "$W/loglevel-out-0.out"
    fi
}

# The rendezvous holds two connections per instance; under too low a limit
# on open files it says so before it binds (exit 2) instead of letting
# libzmq abort it at an accept ("Too many open files").
tcp_rendezvous_fd_limit() {
    local what="tcp: --rendezvous-only under ulimit -n 64, 63 processes: exit 2, saying so"
    local rc
    # Without the test's own descriptors (ctest's): flowrun counts those
    # it inherits, and says how many.
    (close_inherited_fds && ulimit -n 64 &&
        exec timeout -k 5 30 "$FLOWRUN" "$PALIN" --set workers=60 \
            --rendezvous-only --bind 127.0.0.1) >"$W/rvlimit.out" 2>"$W/rvlimit.err"
    rc=$?
    if [ $rc = 2 ] && [ ! -s "$W/rvlimit.out" ] &&
        grep -q "^flowrun: error: the graph has 63 processes; the rendezvous needs 158 open files, and the limit is 64 (ulimit -n)$" "$W/rvlimit.err"; then
        pass "$what"
    else
        fail "$what: exit $rc"
        show "$W/rvlimit.out" "$W/rvlimit.err"
    fi
}

# A rendezvous bound on every interface (the default) on a host whose name
# resolves to nothing announces 127.0.0.1: it says so (not with --quiet).
# Before, it announced that address without a word, and instances on other
# hosts failed after 10 s. The host name is changed in a UTS namespace of
# its own (unshare -u; skipped where that cannot be made).
tcp_rendezvous_unresolved() {
    local what="tcp: --rendezvous-only on a host whose name resolves to nothing"
    local name=flow-test-noname.invalid q rc
    if ! unshare -u sh -c "hostname $name" 2>/dev/null; then
        skip "$what: no UTS namespace (unshare -u)"
        return
    fi
    if unshare -u sh -c "hostname $name; getent hosts $name" >/dev/null 2>&1; then
        skip "$what: here every host name resolves (nss-myhostname?)"
        return
    fi
    for q in "" --quiet; do
        unshare -u sh -c 'hostname "$1"; shift; exec "$@"' sh "$name" \
            timeout -k 5 30 "$FLOWRUN" "$SIEVE" --rendezvous-only --timeout 1 $q \
            >"$W/rvnoname$q.out" 2>"$W/rvnoname$q.err"
        rc=$?
        if [ -z "$q" ] && [ $rc = 124 ] &&
            grep -q "^tcp://127.0.0.1:[0-9]*$" "$W/rvnoname.out" &&
            grep -q "^flowrun: warning: this host's name '$name' resolves to no address: the rendezvous announces tcp://127.0.0.1:[0-9]*, which only this host reaches; to serve instances on other hosts, give --bind this host's address on their network$" "$W/rvnoname.err"; then
            pass "$what: announces 127.0.0.1 and warns"
        elif [ -n "$q" ] && [ $rc = 124 ] && ! grep -q warning "$W/rvnoname$q.err"; then
            pass "$what, --quiet: no warning"
        else
            fail "$what${q:+, $q}: exit $rc"
            show "$W/rvnoname$q.out" "$W/rvnoname$q.err"
        fi
    done
}

# Before the start: unreachable, refused, late and auto-sized instances.
part_tcp_start() {
    tcp_rendezvous_fd_limit
    tcp_rendezvous_unresolved
    tcp_cancel
    tcp_instance_log_level
    tcp_rendezvous_timeout
    tcp_late_instance
    tcp_auto_instances
    tcp_refusals
    tcp_fail_unregistered
    tcp_unloaded
    tcp_waiting_notice
}

# ---------------------------------------------------------------- slurm
SLURM_LOGS=()

# Remember the size of every slurmd log, to see which nodes a run used.
mark_slurmd_logs() {
    local f
    SLURM_LOGS=()
    for f in /tmp/flow-slurm/log/slurmd-n*.log; do
        SLURM_LOGS+=("$f:$(stat -c %s "$f")")
    done
}

# The nodes that launched tasks since mark_slurmd_logs.
used_nodes() {
    local e f off
    for e in "${SLURM_LOGS[@]}"; do
        f=${e%:*}
        off=${e##*:}
        if tail -c +"$((off + 1))" "$f" | grep -q 'launch task'; then
            basename "$f" .log | sed 's/^slurmd-//'
        fi
    done | paste -sd' '
}

# slurm_run NAME WHAT LABEL ARGS...: through the Slurm launcher, spread
# over at least 2 nodes, output equal to the ipc run.
slurm_run() {
    local name=$1 what=$2 label=$3 rc used
    shift 3
    mark_slurmd_logs
    run "$name" 120 "$FLOWRUN" "$@"
    rc=$?
    used=$(used_nodes)
    if [ "$rc" = 0 ] && [ "$(echo "$used" | wc -w)" -lt 2 ]; then
        fail "$what: instances ran on '${used}' only, not spread over the nodes"
        return
    fi
    expect_same "$name" "$label" $rc "$what [nodes: ${used:-none}]"
}

# Placement hints: slurm_constraint and cpus.
slurm_hints() {
    local rc big line bad="" host i
    big=$(sinfo -h -N -p flow -o '%N %f' | awk '$2 ~ /(^|,)big(,|$)/ {print $1}' | sort -u)
    if [ "$(echo "$big" | grep -c .)" != 1 ]; then
        fail "slurm hints: expected one node with the feature big, got '${big}'"
        sinfo -N -p flow -o '%N %f'
        return
    fi
    if [ ! -f "$PROBE_DIR/slurmprobe.so" ]; then
        fail "slurm hints: no slurmprobe.so in '$PROBE_DIR' (FLOW_FIXTURE_PLUGIN_DIR)"
        return
    fi
    # src and out: 1 CPU each; big: 2 instances on the node with the
    # feature; wide: 1 instance with 2 CPUs. 6 CPUs, the whole cluster
    # (each component of a heterogeneous step gets nodes of its own).
    cat >"$W/probe.ini" <<'EOF'
; test_cluster.sh: where do the instances of a hinted graph run?
[src]
type = range
count = 0
[big]
type = slurmprobe
instances = 2
slurm_constraint = big
[wide]
type = slurmprobe
cpus = 2
[out]
type = collect
[links]
push = src.out -> big.in
push = big.out -> wide.in
push = wide.out -> out.in
EOF
    run slurm-probe 120 "$FLOWRUN" "$W/probe.ini" --plugin-path "$PROBE_DIR" --launcher slurm
    rc=$?
    if [ $rc != 0 ] || [ "$(wc -l <"$W/slurm-probe.out")" != 3 ]; then
        fail "slurm hints: probe graph: exit status $rc, $(wc -l <"$W/slurm-probe.out") reports (expected 0 and 3)"
        show "$W/slurm-probe.out" "$W/slurm-probe.err"
        return
    fi
    for i in 0 1; do
        line=$(grep "^big\[$i\] " "$W/slurm-probe.out")
        case $line in
        *" host=$big "*) ;;
        *) bad="$bad; big[$i] not on $big: '$line'" ;;
        esac
    done
    if [ -n "$bad" ]; then
        fail "slurm hints: slurm_constraint = big$bad"
    else
        pass "slurm hints: slurm_constraint = big: both instances on $big"
    fi
    bad=""
    line=$(grep '^wide\[0\] ' "$W/slurm-probe.out")
    host=$(echo "$line" | sed -n 's/.* host=\([^ ]*\).*/\1/p')
    case $line in
    *" cpus_on_node=2 cpus_per_task=2") ;;
    *) bad="'$line' (expected cpus_on_node=2 cpus_per_task=2)" ;;
    esac
    if [ -z "$bad" ] && { [ "$host" = "$big" ] || [ "$host" = - ] || [ -z "$host" ]; }; then
        bad="'$line' (expected a node other than $big)"
    fi
    if [ -n "$bad" ]; then
        fail "slurm hints: cpus = 2: $bad"
    else
        pass "slurm hints: cpus = 2: 2 CPUs allocated to wide[0] on $host"
    fi

    # Results equal the local run, in a step and inside an allocation.
    run ipc-palin2 60 "$FLOWRUN" "$PALIN" --set workers=2 || {
        fail "slurm hints: the local ipc palindromes workers=2 run failed"
        show "$W/ipc-palin2.err"
        return
    }
    run slurm-hints-palin 120 "$FLOWRUN" "$PALIN" --set workers=2 \
        --set find.slurm_constraint=big --set chunks.cpus=2 --launcher slurm
    expect_same slurm-hints-palin palin2 $? "slurm hints: palindromes workers=2, find on big, chunks with 2 CPUs"
    run slurm-hints-salloc 120 salloc -Q -N3 -n6 "$FLOWRUN" "$PALIN" --set workers=2 \
        --set find.slurm_constraint=big --launcher slurm
    expect_same slurm-hints-salloc palin2 $? "slurm hints: in salloc -N3 -n6, palindromes workers=2, find on big"
}

part_slurm() {
    local rc before
    if [ "$(id -u)" != 0 ]; then
        skip "slurm: not root (the test cluster needs root)"
        return
    fi
    if ! has_option --launcher slurm; then
        fail "slurm: flowrun has no --launcher option"
        return
    fi
    before=0
    "$SRC/tools/slurm-local.sh" status >/dev/null 2>&1 && before=1
    "$SRC/tools/slurm-local.sh" start >"$W/slurm-start.out" 2>"$W/slurm-start.err"
    rc=$?
    if [ $rc = 3 ]; then
        skip "slurm: Slurm packages missing and not installable: $(cat "$W/slurm-start.err")"
        return
    elif [ $rc != 0 ]; then
        fail "slurm: tools/slurm-local.sh start failed ($rc)"
        show "$W/slurm-start.err"
        return
    fi
    [ $before = 0 ] && STARTED_SLURM=1
    export SLURM_CONF=/tmp/flow-slurm/slurm.conf

    slurm_run slurm-sieve "slurm: sieve limit=1e8 count, 4 segments (14 chunks)" sieve \
        "$SIEVE" "${SIEVE_ARGS[@]}" --launcher slurm
    slurm_run slurm-sievelist "slurm: sieve limit=2e5 list, 3 segments, --log-level debug" sievelist \
        "$SIEVE" "${SIEVE_LIST_ARGS[@]}" --launcher slurm --log-level debug
    # The level reaches the tasks' nodes (their lines come through srun).
    if grep -q '^seg\[[0-9]\] (pid [0-9]*) debug: sieving \[' "$W/slurm-sievelist.err"; then
        pass "slurm: --log-level debug reaches the nodes of the tasks"
    else
        fail "slurm: --log-level debug reaches the nodes of the tasks: no debug line of seg"
        show "$W/slurm-sievelist.err"
    fi
    slurm_run slurm-palin "slurm: palindromes workers=3" palin \
        "$PALIN" "${PALIN_ARGS[@]}" --launcher slurm
    # Secured: the launcher makes the run's key, which its tasks take from
    # the environment srun passes on. Without one (--export=NONE), a task
    # that was asked to be secured says so and the run fails.
    slurm_run slurm-secure "slurm: palindromes workers=3, --secure" palin \
        "$PALIN" "${PALIN_ARGS[@]}" --launcher slurm --secure
    FLOW_SRUN_ARGS=--export=NONE run slurm-secure-noenv 120 \
        "$FLOWRUN" "$PALIN" "${PALIN_ARGS[@]}" --launcher slurm --secure
    rc=$?
    if [ $rc != 0 ] && grep -q -- "--secure: FLOW_KEY is not set" "$W/slurm-secure-noenv.err"; then
        pass "slurm: --secure, srun --export=NONE: the tasks have no key, say so, the run fails ($rc)"
    else
        fail "slurm: --secure, srun --export=NONE: exit $rc, expected a failure naming FLOW_KEY"
        show "$W/slurm-secure-noenv.err"
    fi
    # Arguments that a --multi-prog file would parse: a quote, spaces, a
    # backslash, %t and %o (srun puts a task's rank there) in the graph's
    # path and in a --set value, which every task must see as given (an
    # instance whose graph differs is refused).
    local odd="$W/it's a \\ %t %o dir"
    mkdir -p "$odd" && cp "$PALIN" "$odd/palin.ini"
    run slurm-oddpath 120 "$FLOWRUN" "$odd/palin.ini" "${PALIN_ARGS[@]}" \
        --set "out.output=$odd/o'ut \\ %t.txt" --launcher slurm
    rc=$?
    if [ $rc = 0 ] && [ ! -s "$W/slurm-oddpath.out" ] &&
        cmp -s "$odd/o'ut \\ %t.txt" "$W/ipc-palin.out"; then
        pass "slurm: a graph path and a --set value with ', spaces, \\, %t and %o: the output file equals the ipc run's"
    else
        fail "slurm: a graph path and a --set value with ', spaces, \\, %t and %o: exit $rc"
        ls -la "$odd"
        show "$W/slurm-oddpath.err"
    fi
    # The rendezvous on IPv6 loopback: the tasks reach it, and each other,
    # over IPv6 (where this host has ::1).
    if ip -6 addr show dev lo 2>/dev/null | grep -q "inet6 ::1/"; then
        slurm_run slurm-sieve6 "slurm: IPv6 (--bind ::1), sieve limit=1e8 count, 4 segments" sieve \
            "$SIEVE" "${SIEVE_ARGS[@]}" --launcher slurm --bind ::1
    else
        skip "slurm: IPv6: no ::1 on this host"
    fi
    # Inside an allocation (salloc), as a user would on a cluster.
    mark_slurmd_logs
    run slurm-salloc 120 salloc -Q -N3 -n6 "$FLOWRUN" "$PALIN" "${PALIN_BIG_ARGS[@]}" --launcher slurm
    rc=$?
    expect_same slurm-salloc palinbig $rc "slurm: in salloc -N3 -n6, palindromes 200000 words [nodes: $(used_nodes)]"

    slurm_hints

    # Upstream cancellation across nodes: the collector's limit stops the
    # sieve's coordinator and segments (a limit of 10^11 would take
    # minutes), through the rendezvous's STOP to each task.
    run slurm-cancel 60 "$FLOWRUN" "$SIEVE" --set limit=100000000000 \
        --set segments=4 --set out.limit=25 --launcher slurm
    rc=$?
    # Nothing on stderr but srun's word that the job waited for the
    # previous allocation to be released (a busy cluster says so).
    if [ $rc = 0 ] && [ "$(paste -sd' ' "$W/slurm-cancel.out")" = "$FIRST_PRIMES" ] &&
        ! grep -qv "^srun: job [0-9]* \(queued and waiting for resources\|has been allocated resources\)$" "$W/slurm-cancel.err"; then
        pass "slurm: sieve to 1e11 with out.limit=25: the first 25 primes, the tasks stopped, exit 0"
    else
        fail "slurm: sieve to 1e11 with out.limit=25: exit $rc"
        show "$W/slurm-cancel.out" "$W/slurm-cancel.err"
    fi

    # instances = auto on a login node of another size than the compute
    # nodes: the tasks count as the launcher did (they counted their own
    # nodes' CPUs and were refused). The launcher believes it has OTHER
    # CPUs; its tasks do not inherit that belief.
    run ipc-auto 60 "$FLOWRUN" "$PALIN" --set workers=$OTHER
    run slurm-auto 120 "${OTHER_HOST[@]}" \
        "$FLOWRUN" "$PALIN" --set workers=auto --launcher slurm
    expect_same slurm-auto auto $? "slurm: instances = auto, a launcher of $OTHER CPUs on nodes of $ONLINE: the launcher's count"
    # Also when srun passes the tasks no environment (sbatch --export=NONE):
    # the count is on their command line.
    FLOW_SRUN_ARGS=--export=NONE run slurm-auto-noenv 120 "${OTHER_HOST[@]}" \
        "$FLOWRUN" "$PALIN" --set workers=auto --launcher slurm
    expect_same slurm-auto-noenv auto $? "slurm: instances = auto, srun --export=NONE: the launcher's count"

    # A fault in one instance: the step is killed, the node named, status
    # non-zero, and nothing is left running; also with placement hints (a
    # heterogeneous step: f on the node with the feature big).
    local action
    for action in exit segv; do
        run "slurm-fault-$action" 120 "$FLOWRUN" "$FAULT" --set action=$action --launcher slurm
        rc=$?
        expect_fault "slurm-fault-$action" $rc "slurm: fault ($action) in f[1]"
    done
    run slurm-fault-hints 120 "$FLOWRUN" "$FAULT" --set f.slurm_constraint=big \
        --set out.cpus=2 --launcher slurm
    rc=$?
    expect_fault slurm-fault-hints $rc "slurm: placement hints: fault (exit 3) in f[1]"
    local t
    for t in $(seq 50); do
        [ -z "$(squeue -h 2>/dev/null)" ] && break
        sleep 0.2
    done
    if [ -n "$(squeue -h 2>/dev/null)" ]; then
        fail "slurm: jobs still queued or running after the fault runs"
        squeue
    elif pgrep -f -- "$FAULT" >/dev/null; then
        fail "slurm: fault graph processes still running after the job ended"
        pgrep -a -f -- "$FAULT"
    else
        pass "slurm: no job and no instance left after the fault runs"
    fi
}

# ---------------------------------------------------------------- netns
NS_A=flowA NS_B=flowB
ADDR_A=10.231.0.1 ADDR_B=10.231.0.2
ADDR6_A=fd31:231::1 ADDR6_B=fd31:231::2

# rendezvous NAME GRAPH ARGS...: start the rendezvous in flowA in the
# background; sets RV_PID and RV_ADDR (its first line of output).
rendezvous() {
    local name=$1
    shift
    start_rendezvous "$name" "${BIND_A:-$ADDR_A}" ip netns exec $NS_A "$FLOWRUN" "$@"
}

# instances NAME GRAPH ARGS... -- NODE:I...: start each instance in the
# background, alternately in flowB and flowA (flowB first), binding that
# namespace's address. Sets INST_PIDS and INST_NAMES.
instances() {
    local name=$1 graph=$2 k=0 ns addr inst
    shift 2
    local args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    shift
    INST_PIDS=() INST_NAMES=()
    for inst in "$@"; do
        if [ $((k % 2)) = 0 ]; then
            ns=$NS_B addr=${BIND_B:-$ADDR_B}
        else
            ns=$NS_A addr=${BIND_A:-$ADDR_A}
        fi
        timeout -k 5 60 ip netns exec $ns "$FLOWRUN" "$graph" "${args[@]}" \
            --instance "$inst" --rendezvous "$RV_ADDR" --bind $addr \
            >"$W/$name-${inst/:/-}.out" 2>"$W/$name-${inst/:/-}.err" &
        INST_PIDS+=($!)
        INST_NAMES+=("$inst@$ns")
        BG_PIDS+=($!)
        k=$((k + 1))
    done
}

# netns_run NAME WHAT LABEL COLLECTOR GRAPH ARGS... -- NODE:I...
netns_run() {
    local name=$1 what=$2 label=$3 collector=$4 graph=$5
    shift 5
    local args=()
    while [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    shift
    local insts=("$@") i rc bad="" rvrc
    if ! rendezvous "$name-rv" "$graph" "${args[@]}"; then
        fail "$what: the rendezvous printed no tcp://${BIND_A:-$ADDR_A}:PORT line (got '$RV_ADDR')"
        show "$W/$name-rv.err"
        kill $RV_PID 2>/dev/null
        return
    fi
    instances "$name" "$graph" "${args[@]}" -- "${insts[@]}"
    for i in "${!INST_PIDS[@]}"; do
        wait "${INST_PIDS[$i]}"
        rc=$?
        [ $rc != 0 ] && bad="$bad ${INST_NAMES[$i]}=$rc"
    done
    wait $RV_PID
    rvrc=$?
    # The collector's output is the graph's; every other instance prints
    # nothing on standard output.
    cp "$W/$name-${collector/:/-}.out" "$W/$name.out"
    for i in "${insts[@]}"; do
        [ "$i" = "$collector" ] && continue
        [ -s "$W/$name-${i/:/-}.out" ] && bad="$bad $i:stdout-not-empty"
    done
    if [ -n "$bad" ] || [ $rvrc != 0 ]; then
        fail "$what: instances failed:${bad:- none}; rendezvous exit $rvrc"
        show "$W/$name-rv.err" "$W/$name"-*.err
        return
    fi
    expect_same "$name" "$label" 0 "$what [rendezvous $RV_ADDR]"
}

part_netns() {
    local rc before
    if [ "$(id -u)" != 0 ]; then
        skip "netns: not root (network namespaces need root)"
        return
    fi
    if ! has_option --rendezvous-only || ! has_option --instance x:0 || ! has_option --rendezvous tcp://127.0.0.1:1; then
        fail "netns: flowrun has no --rendezvous-only/--instance options"
        return
    fi
    before=0
    "$SRC/tools/netns-hosts.sh" status >/dev/null 2>&1 && before=1
    "$SRC/tools/netns-hosts.sh" up >"$W/netns-up.out" 2>"$W/netns-up.err"
    rc=$?
    if [ $rc = 3 ]; then
        skip "netns: this machine cannot make network namespaces: $(cat "$W/netns-up.err")"
        return
    elif [ $rc != 0 ]; then
        fail "netns: tools/netns-hosts.sh up failed ($rc)"
        show "$W/netns-up.err"
        return
    fi
    [ $before = 0 ] && STARTED_NETNS=1

    netns_run ns-sieve "netns: sieve limit=1e8 count, 4 segments (14 chunks), 2 hosts" sieve out:0 \
        "$SIEVE" "${SIEVE_ARGS[@]}" -- main:0 seg:0 seg:1 seg:2 seg:3 out:0
    netns_run ns-sievelist "netns: sieve limit=2e5 list, 3 segments, 2 hosts" sievelist out:0 \
        "$SIEVE" "${SIEVE_LIST_ARGS[@]}" -- main:0 seg:0 seg:1 seg:2 out:0
    netns_run ns-palin "netns: palindromes workers=3, 2 hosts" palin out:0 \
        "$PALIN" "${PALIN_ARGS[@]}" -- gen:0 chunks:0 find:0 find:1 find:2 out:0
    netns_run ns-palinbig "netns: palindromes 200000 words, 2 hosts" palinbig out:0 \
        "$PALIN" "${PALIN_BIG_ARGS[@]}" -- out:0 find:2 find:1 find:0 chunks:0 gen:0
    # Secured: one key for every process, on both hosts.
    FLOW_KEY=$("$FLOWRUN" --new-key) netns_run ns-secure \
        "netns: palindromes workers=3, 2 hosts, --secure with one FLOW_KEY" palin out:0 \
        "$PALIN" "${PALIN_ARGS[@]}" --secure -- gen:0 chunks:0 find:0 find:1 find:2 out:0
    # flowB's instances bound on every interface (0.0.0.0): each must
    # advertise its address on the route to the rendezvous, 10.231.0.2, not
    # what the host name resolves to (127.0.1.1 on Debian, the same in both
    # namespaces: flowA's instances would connect to themselves).
    BIND_B=0.0.0.0 netns_run ns-wild \
        "netns: flowB's instances --bind 0.0.0.0, palindromes workers=3, 2 hosts" \
        palin out:0 "$PALIN" "${PALIN_ARGS[@]}" -- gen:0 chunks:0 find:0 find:1 find:2 out:0
    # And on every interface of both families, spelt ::0, with the
    # rendezvous on IPv4: flowB's instances take IPv4 connections on their
    # IPv6 sockets and advertise 10.231.0.2, not [::0] (flowA's instances
    # would connect to themselves).
    BIND_B=::0 netns_run ns-wild0 \
        "netns: flowB's instances --bind ::0, IPv4 rendezvous, palindromes workers=3, 2 hosts" \
        palin out:0 "$PALIN" "${PALIN_ARGS[@]}" -- gen:0 chunks:0 find:0 find:1 find:2 out:0
    # Over IPv6, where the namespaces have it: the rendezvous and flowA's
    # instances bound on [fd31:231::1] (brackets), flowB's on fd31:231::2.
    if ip -n $NS_A -6 addr show 2>/dev/null | grep -q "inet6 $ADDR6_A/"; then
        BIND_A="[$ADDR6_A]" BIND_B=$ADDR6_B netns_run ns-sieve6 \
            "netns: IPv6, sieve limit=1e8 count, 4 segments (14 chunks), 2 hosts" \
            sieve out:0 "$SIEVE" "${SIEVE_ARGS[@]}" -- main:0 seg:0 seg:1 seg:2 seg:3 out:0
        # And on every interface of both families (::).
        BIND_A="[$ADDR6_A]" BIND_B=:: netns_run ns-wild6 \
            "netns: IPv6, flowB's instances --bind ::, palindromes workers=3, 2 hosts" \
            palin out:0 "$PALIN" "${PALIN_ARGS[@]}" -- gen:0 chunks:0 find:0 find:1 find:2 out:0
    else
        skip "netns: IPv6: the namespaces have no IPv6 address"
    fi

    # A fault in one instance: its flowrun exits non-zero and the rendezvous
    # exits 1 naming it.
    local i t left=""
    if rendezvous ns-fault-rv "$FAULT"; then
        instances ns-fault "$FAULT" -- src:0 src:1 f:0 f:1 out:0
        wait $RV_PID
        rc=$?
        cp "$W/ns-fault-rv.out" "$W/ns-fault.out"
        cp "$W/ns-fault-rv.err" "$W/ns-fault.err"
        expect_fault ns-fault $rc "netns: fault (exit 3) in f[1]: the rendezvous"
        # f[1] itself fails; the others should end soon after.
        for t in $(seq 100); do
            left=""
            for i in "${!INST_PIDS[@]}"; do
                kill -0 "${INST_PIDS[$i]}" 2>/dev/null && left="$left ${INST_NAMES[$i]}"
            done
            [ -z "$left" ] && break
            sleep 0.1
        done
        wait "${INST_PIDS[3]}"
        rc=$?
        if [ $rc = 0 ]; then
            fail "netns: the faulting instance f:1 exited 0"
        else
            pass "netns: the faulting instance f:1 exited $rc"
        fi
        if [ -n "$left" ]; then
            fail "netns: instances still running 10 s after the rendezvous ended:$left"
            for i in "${INST_PIDS[@]}"; do kill -KILL "$i" 2>/dev/null; done
        else
            pass "netns: every instance ended after the fault"
        fi
    else
        fail "netns: fault graph: the rendezvous printed no address"
        show "$W/ns-fault-rv.err"
    fi
    netns_cut
    netns_partition
    netns_wrong_bind
}

# A host cut off (flowB's link down, as a cable pulled: no connection
# closes, nothing answers): with --liveness 2, the rendezvous in flowA
# names an instance of flowB as lost and exits 1, its instance in flowA is
# told to stop, and flowB's instances stop themselves (143) for want of
# their rendezvous. Without the liveness check all of them waited for ever.
netns_cut() {
    local g=$W/cut.ini rc t n i bad=""
    slow_graph "$g"
    if ! rendezvous ns-cut-rv "$g" --liveness 2; then
        fail "netns: host cut off: the rendezvous printed no address"
        show "$W/ns-cut-rv.err"
        return
    fi
    instances ns-cut "$g" -- src:0 slow:0 out:0 # flowB, flowA, flowB
    sleep 1.5
    ip -n $NS_B link set flowB0 down
    t=$(date +%s%N)
    wait "$RV_PID"
    rc=$?
    n=$(ms_since $t)
    if [ $rc = 1 ] && [ $n -le 8000 ] &&
        grep -q -E "error: node '(src|out)' instance 0 \(pid [0-9]* on [^)]*\) lost its connection to the rendezvous (before|after) finishing.*silent for 2 s" "$W/ns-cut-rv.err"; then
        pass "netns: host flowB cut off: the rendezvous exits 1 after $n ms, naming an instance there"
    else
        fail "netns: host flowB cut off: the rendezvous exits $rc after $n ms"
        show "$W/ns-cut-rv.err"
    fi
    for i in 0 1 2; do
        wait "${INST_PIDS[$i]}"
        rc=$?
        n=$(ms_since $t)
        [ $rc = 143 ] && [ $n -le 12000 ] || bad="$bad ${INST_NAMES[$i]}=$rc after $n ms"
    done
    ip -n $NS_B link set flowB0 up
    if [ -z "$bad" ] &&
        grep -q "error: lost the rendezvous $RV_ADDR (gone, or silent, and not back within 2 s): stopping" "$W/ns-cut-src-0.err" &&
        grep -q "warning: stopped by the rendezvous $RV_ADDR" "$W/ns-cut-slow-0.err"; then
        pass "netns: host flowB cut off: every instance stops (143), flowB's for want of their rendezvous"
    else
        fail "netns: host flowB cut off: instances:${bad:- all 143}"
        show "$W"/ns-cut-*.err
    fi
}

# The data links between the hosts silently dropped (a firewall that drops,
# a partition between two compute nodes), the rendezvous still reached by
# every instance (its heartbeats go on): out:0 in flowB waits for slow:0 in
# flowA, on a connection that carries nothing and closes never. TCP
# keepalive on the receiving end closes it (10 s idle, then 5 probes a
# second apart), and out:0 fails the run 3 s later naming the link. It
# waited for ever (or until --timeout: the rendezvous said only who had not
# finished). Needs iptables in the namespaces (skipped without).
netns_partition() {
    local g=$W/part.ini rc t n i port bad=""
    local what="netns: data links between the hosts dropped, the rendezvous reached"
    if ! command -v iptables >/dev/null ||
        ! ip netns exec $NS_B iptables -L OUTPUT -n >/dev/null 2>&1; then
        skip "$what: no iptables in the namespaces"
        return
    fi
    slow_graph "$g"
    if ! rendezvous ns-part-rv "$g" --timeout 50; then
        fail "$what: the rendezvous printed no address"
        show "$W/ns-part-rv.err"
        return
    fi
    port=${RV_ADDR##*:}
    instances ns-part "$g" -- src:0 slow:0 out:0 # flowB, flowA, flowB
    sleep 2
    # flowB sends to and takes from flowA nothing but the rendezvous's
    local rules=("OUTPUT -d $ADDR_A -p tcp ! --dport $port -j DROP"
        "INPUT -s $ADDR_A -p tcp ! --sport $port -j DROP")
    for i in 0 1; do
        # shellcheck disable=SC2086 # a rule is words
        ip netns exec $NS_B iptables -A ${rules[$i]}
    done
    t=$(date +%s%N)
    wait "$RV_PID"
    rc=$?
    n=$(ms_since $t)
    for i in 0 1; do
        # shellcheck disable=SC2086
        ip netns exec $NS_B iptables -D ${rules[$i]}
    done
    if [ $rc = 1 ] && [ $n -le 35000 ] &&
        grep -q "error: node 'out' instance 0 (pid [0-9]* on [^)]*): link 'slow.out -> out.in': a connection of 'slow' to tcp://$ADDR_B:[0-9]* was lost before the end of its stream" "$W/ns-part-rv.err"; then
        pass "$what: the rendezvous exits 1 after $n ms, naming the link"
    else
        fail "$what: the rendezvous exits $rc after $n ms"
        show "$W/ns-part-rv.err" "$W"/ns-part-*.err
    fi
    for i in 0 1 2; do
        wait "${INST_PIDS[$i]}"
        rc=$?
        [ $rc != 0 ] && [ $rc != 124 ] && [ $rc != 137 ] || bad="$bad ${INST_NAMES[$i]}=$rc"
    done
    if [ -z "$bad" ]; then
        pass "$what: every instance ends"
    else
        fail "$what: instances:$bad"
    fi
}

# flowB's instances given --bind 127.0.0.1 (as `--bind "$(hostname)"` does
# where the name maps to a loopback address): they register, and out:0
# announces an address that slow:0 in flowA cannot reach. out:0 fails the
# run 10 s after the start (the rendezvous's liveness, at least 10 s),
# naming the link, the producer and the address. The run waited for ever
# (or until --timeout, which named no cause).
netns_wrong_bind() {
    local g=$W/wrongbind.ini rc t n
    local what="netns: flowB's instances --bind 127.0.0.1"
    slow_graph "$g"
    if ! rendezvous ns-wrongbind-rv "$g" --timeout 50; then
        fail "$what: the rendezvous printed no address"
        show "$W/ns-wrongbind-rv.err"
        return
    fi
    t=$(date +%s%N)
    BIND_B=127.0.0.1 instances ns-wrongbind "$g" -- src:0 slow:0 out:0 # flowB, flowA, flowB
    wait "$RV_PID"
    rc=$?
    n=$(ms_since $t)
    wait "${INST_PIDS[@]}"
    if [ $rc = 1 ] && [ $n -le 35000 ] &&
        grep -q "error: node 'out' instance 0 (pid [0-9]* on [^)]*): link 'slow.out -> out.in': 'slow' instance 0 has not connected to tcp://127.0.0.1:[0-9]* in 10 s: not an address its host reaches (see --bind), or a firewall drops the connection$" "$W/ns-wrongbind-rv.err"; then
        pass "$what: the rendezvous exits 1 after $n ms, naming the link and the address"
    else
        fail "$what: the rendezvous exits $rc after $n ms"
        show "$W/ns-wrongbind-rv.err" "$W"/ns-wrongbind-*.err
    fi
}

reference
for part in $PARTS; do
    case $part in
    tcp) part_tcp ;;
    tcp-liveness) part_tcp_liveness ;;
    tcp-start) part_tcp_start ;;
    slurm) part_slurm ;;
    netns) part_netns ;;
    tcp_* | netns_*) if declare -F "$part" >/dev/null; then "$part"; else
        echo "unknown case '$part'" >&2
        exit 2
    fi ;;
    *)
        echo "unknown part '$part' (tcp, tcp-liveness, tcp-start, slurm, netns)" >&2
        exit 2
        ;;
    esac
done

echo "test_cluster: $PASSES passed, $FAILS failed, $SKIPS skipped"
[ $FAILS != 0 ] && exit 1
[ $SKIPS != 0 ] && exit 77
exit 0
