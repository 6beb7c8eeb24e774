#!/bin/bash
# tools/slurm-local.sh start|stop|status|env: a real Slurm cluster on this
# one machine, for flow's tests of the Slurm launcher.
#
#   munged, slurmctld and FLOW_SLURM_NODES slurmd daemons (default 3: n1 n2
#   n3), each slurmd started with `slurmd -N nI` and listening on its own
#   port. All on this host, on loopback; no cgroups (proctrack/linuxproc,
#   task/none), no accounting, no systemd. The last node has the feature
#   `big` (Features=big), for tests of `--constraint` / `slurm_constraint`.
#
# Run as root. Installs slurmctld slurmd slurm-client munge with apt when
# they are missing (Debian 12: slurm-wlm 22.05, whose slurmd is built with
# multiple-slurmd support, so several slurmd run on one host).
#
# Everything the cluster writes lives under FLOW_SLURM_DIR (default
# /tmp/flow-slurm): config, state, spool, pid and log files. The config is
# FLOW_SLURM_DIR/slurm.conf; the Slurm commands find it through SLURM_CONF,
# which `start` and `env` print:
#
#   eval "$(tools/slurm-local.sh start)"     # or: eval "$(... env)"
#   srun -N3 hostname
#
# If /etc/slurm/slurm.conf does not exist, `start` also links it to ours so
# that plain `sinfo`/`srun` work without SLURM_CONF; `stop` removes that
# link (never a file it did not create).
#
# Environment:
#   FLOW_SLURM_DIR        state directory (default /tmp/flow-slurm)
#   FLOW_SLURM_NODES      number of slurmd daemons (default 3)
#   FLOW_SLURM_CPUS       CPUs per node (default 2)
#   FLOW_SLURM_PORT       slurmctld port (default 16817); slurmd nI listens
#                         on FLOW_SLURM_PORT + I
#   FLOW_SLURM_FEATURE    the feature of the last node (default big)
#   FLOW_SLURM_NO_INSTALL=1  never run apt-get (exit 3 if packages missing)
#
# Exit status: 0 ok, 1 failure (logs named), 2 usage, 3 packages missing
# and not installable (the tests SKIP on 3).
#
# `start` is idempotent: a running, healthy cluster is left alone (a few
# hundred milliseconds); one whose slurm.conf changed (an older version of
# this script, other FLOW_SLURM_* values) has its daemons restarted. `stop` cancels every job, stops the daemons it
# started (by their pid files) and removes FLOW_SLURM_DIR.
set -u

DIR=${FLOW_SLURM_DIR:-/tmp/flow-slurm}
NNODES=${FLOW_SLURM_NODES:-3}
CPUS=${FLOW_SLURM_CPUS:-2}
PORT=${FLOW_SLURM_PORT:-16817}
FEATURE=${FLOW_SLURM_FEATURE-big}
CONF=$DIR/slurm.conf
ETC_CONF=/etc/slurm/slurm.conf
PKGS="slurmctld slurmd slurm-client munge"
MUNGE_SOCKET=/run/munge/munge.socket.2
MUNGE_PID=/run/munge/munged.pid

export SLURM_CONF=$CONF

log() { echo "slurm-local: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

nodes() {
    local i
    for ((i = 1; i <= NNODES; i++)); do echo "n$i"; done
}

node_list() { echo "n[1-$NNODES]"; }

# pid from a pid file, if that process is alive.
live_pid() {
    local f=$1 pid
    [ -r "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

install_packages() {
    local missing="" p
    for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "${FLOW_SLURM_NO_INSTALL:-0}" = 1 ]; then
        log "missing packages:$missing (FLOW_SLURM_NO_INSTALL=1)"
        exit 3
    fi
    log "installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    # Daemons are started by this script, not by the packages' init scripts.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e $policy ]; then
        printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy && made_policy=1
    fi
    apt-get install -y -qq $missing >"/tmp/flow-slurm-apt.log" 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
            apt-get install -y -qq $missing >"/tmp/flow-slurm-apt.log" 2>&1; }
    local rc=$?
    [ $made_policy = 1 ] && rm -f $policy
    if [ $rc != 0 ]; then
        log "apt-get install$missing failed (see /tmp/flow-slurm-apt.log)"
        exit 3
    fi
}

write_conf() {
    local host i tmp
    host=$(hostname -s)
    mkdir -p "$DIR"/{state,log,run,spool}
    chmod 755 "$DIR"
    tmp=$CONF.tmp
    {
        echo "# Written by flow's tools/slurm-local.sh: a one-host test cluster."
        echo "ClusterName=flowlocal"
        echo "SlurmctldHost=$host(127.0.0.1)"
        echo "SlurmctldPort=$PORT"
        echo "SlurmUser=root"
        echo "SlurmdUser=root"
        echo "AuthType=auth/munge"
        echo "CredType=cred/munge"
        echo "MpiDefault=none"
        echo "ProctrackType=proctrack/linuxproc"
        echo "TaskPlugin=task/none"
        echo "SwitchType=switch/none"
        echo "JobAcctGatherType=jobacct_gather/none"
        echo "AccountingStorageType=accounting_storage/none"
        echo "SelectType=select/cons_tres"
        echo "SelectTypeParameters=CR_Core"
        echo "SchedulerType=sched/backfill"
        # Heterogeneous jobs (flowrun's placement hints) are started only
        # by the backfill scheduler: every second instead of every 30.
        echo "SchedulerParameters=bf_interval=1"
        echo "ReturnToService=2"
        # Small timers: the tests start and kill steps often.
        echo "SlurmctldTimeout=30"
        echo "SlurmdTimeout=30"
        echo "InactiveLimit=0"
        echo "MinJobAge=10"
        echo "KillWait=2"
        echo "UnkillableStepTimeout=30"
        echo "Waittime=0"
        echo "MessageTimeout=10"
        echo "StateSaveLocation=$DIR/state"
        echo "SlurmctldPidFile=$DIR/run/slurmctld.pid"
        echo "SlurmctldLogFile=$DIR/log/slurmctld.log"
        # %n: the node name, so each slurmd has its own files.
        echo "SlurmdSpoolDir=$DIR/spool/%n"
        echo "SlurmdPidFile=$DIR/run/slurmd-%n.pid"
        echo "SlurmdLogFile=$DIR/log/slurmd-%n.log"
        echo "SlurmdDebug=info"
        echo "SlurmctldDebug=info"
        # Nodes may claim more CPUs than the machine has (FLOW_SLURM_CPUS).
        echo "SlurmdParameters=config_overrides"
        for ((i = 1; i <= NNODES; i++)); do
            echo "NodeName=n$i NodeHostname=$host NodeAddr=127.0.0.1 Port=$((PORT + i)) CPUs=$CPUS RealMemory=1000$([ $i = "$NNODES" ] && [ -n "$FEATURE" ] && echo " Features=$FEATURE") State=UNKNOWN"
        done
        echo "PartitionName=flow Nodes=$(node_list) Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO"
    } >"$tmp"
    if [ -f "$CONF" ] && cmp -s "$tmp" "$CONF"; then
        rm -f "$tmp"
    else
        [ -f "$CONF" ] && CONF_CHANGED=1
        mv "$tmp" "$CONF"
    fi
    if [ ! -e $ETC_CONF ] && [ ! -L $ETC_CONF ]; then
        mkdir -p /etc/slurm
        ln -s "$CONF" $ETC_CONF
    fi
}

start_munge() {
    if [ -S $MUNGE_SOCKET ] && munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null; then
            mungekey --create --force --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
    fi
    chown munge:munge /etc/munge /etc/munge/munge.key
    chmod 700 /etc/munge
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 755 /run/munge
    # A stale pid file or socket from a dead munged would stop a new one.
    live_pid $MUNGE_PID >/dev/null || rm -f $MUNGE_PID $MUNGE_SOCKET $MUNGE_SOCKET.lock
    runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
    for _ in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "munge does not answer (see /var/log/munge/munged.log)"
}

start_slurmctld() {
    live_pid "$DIR/run/slurmctld.pid" >/dev/null && return 0
    # -i: ignore state from an older run whose files may not match.
    /usr/sbin/slurmctld -i -f "$CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
}

start_slurmd() {
    local n
    for n in $(nodes); do
        live_pid "$DIR/run/slurmd-$n.pid" >/dev/null && continue
        mkdir -p "$DIR/spool/$n"
        /usr/sbin/slurmd -N "$n" -f "$CONF" ||
            die "slurmd -N $n did not start (see $DIR/log/slurmd-$n.log)"
    done
}

# Wait until every node is idle (or allocated/mixed: in use by a job).
wait_idle() {
    local states bad
    for _ in $(seq 300); do
        states=$(sinfo -h -N -p flow -o '%N %t' 2>/dev/null | sort -u)
        if [ "$(echo "$states" | grep -c .)" = "$NNODES" ]; then
            bad=$(echo "$states" | grep -v -E ' (idle|mix|alloc|comp)$')
            [ -z "$bad" ] && return 0
            # A node left down/drained by an earlier run: resume it.
            if echo "$bad" | grep -q -E ' (down|drain|drng|fail)'; then
                scontrol update nodename="$(echo "$bad" | awk '{print $1}' | paste -sd,)" \
                    state=resume >/dev/null 2>&1
            fi
        fi
        sleep 0.1
    done
    log "nodes not idle after 30 s:"
    sinfo -N -p flow >&2
    return 1
}

healthy() {
    local n
    live_pid "$DIR/run/slurmctld.pid" >/dev/null || return 1
    for n in $(nodes); do
        live_pid "$DIR/run/slurmd-$n.pid" >/dev/null || return 1
    done
    [ -S $MUNGE_SOCKET ] || return 1
    scontrol ping >/dev/null 2>&1
}

print_env() {
    echo "export SLURM_CONF=$CONF"
}

CONF_CHANGED=0

cmd_start() {
    [ "$(id -u)" = 0 ] || {
        log "must run as root"
        exit 1
    }
    install_packages
    write_conf
    if [ $CONF_CHANGED = 1 ]; then
        # Daemons started with the old file would not see the change.
        log "slurm.conf changed: restarting the daemons"
        scancel --partition=flow >/dev/null 2>&1
        stop_pidfiles "$DIR"/run/slurmd-*.pid "$DIR/run/slurmctld.pid"
    elif healthy && wait_idle; then
        print_env
        return 0
    fi
    start_munge
    start_slurmctld
    for _ in $(seq 100); do
        scontrol ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    scontrol ping >/dev/null 2>&1 || die "slurmctld does not answer (see $DIR/log/slurmctld.log)"
    start_slurmd
    wait_idle || die "see $DIR/log/slurmd-*.log and $DIR/log/slurmctld.log"
    print_env
}

# Stop the processes of the given pid files together: SIGTERM, up to 10 s,
# then SIGKILL. Each daemon takes a second or two to stop on its own.
stop_pidfiles() {
    local f pid pids="" alive
    for f in "$@"; do
        [ -e "$f" ] || continue
        pid=$(live_pid "$f") && pids="$pids $pid"
        rm -f "$f"
    done
    [ -z "$pids" ] && return 0
    kill -TERM $pids 2>/dev/null
    for _ in $(seq 100); do
        alive=""
        for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
        [ -z "$alive" ] && return 0
        sleep 0.1
    done
    log "killing$alive"
    kill -KILL $alive 2>/dev/null
    return 0
}

cmd_stop() {
    local n
    if [ -f "$CONF" ]; then
        if live_pid "$DIR/run/slurmctld.pid" >/dev/null; then
            scancel --partition=flow >/dev/null 2>&1
            # Give the step daemons a moment to end their tasks.
            for _ in $(seq 30); do
                [ -z "$(squeue -h -p flow 2>/dev/null)" ] && break
                sleep 0.1
            done
        fi
        # Every slurmd pid file, also those of a larger FLOW_SLURM_NODES.
        stop_pidfiles "$DIR"/run/slurmd-*.pid "$DIR/run/slurmctld.pid"
    fi
    # munged: Debian's init script would use the same pid file, so stop it
    # only when no other Slurm daemon runs on this host.
    if [ -z "$(pgrep -x slurmctld)$(pgrep -x slurmd)" ]; then
        stop_pidfiles $MUNGE_PID
    fi
    if [ -L $ETC_CONF ] && [ "$(readlink $ETC_CONF)" = "$CONF" ]; then
        rm -f $ETC_CONF
    fi
    case $DIR in
    /tmp/* | /var/tmp/* | /var/spool/*) rm -rf "$DIR" ;;
    *) log "not removing $DIR (not under /tmp, /var/tmp or /var/spool)" ;;
    esac
    return 0
}

cmd_status() {
    local n rc=0
    if [ ! -f "$CONF" ]; then
        echo "not configured ($CONF missing)"
        return 1
    fi
    if pid=$(live_pid $MUNGE_PID); then echo "munged    running (pid $pid)"; else
        echo "munged    stopped"
        rc=1
    fi
    if pid=$(live_pid "$DIR/run/slurmctld.pid"); then echo "slurmctld running (pid $pid, port $PORT)"; else
        echo "slurmctld stopped"
        rc=1
    fi
    for n in $(nodes); do
        if pid=$(live_pid "$DIR/run/slurmd-$n.pid"); then
            echo "slurmd $n running (pid $pid)"
        else
            echo "slurmd $n stopped"
            rc=1
        fi
    done
    [ $rc = 0 ] && sinfo -N -p flow
    print_env
    return $rc
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) print_env ;;
*)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
