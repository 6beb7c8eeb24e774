/* SPDX-License-Identifier: MIT */
/*
 * run.c: running a graph: the private run directory, one fork()ed process
 * per node instance, the start barrier, and supervision until every
 * instance has exited. What the launcher writes to stderr meanwhile is
 * run_stderr.c's; its reports at the end, run_report.c's.
 *
 * The launcher blocks SIGCHLD, SIGINT, SIGTERM, SIGHUP and SIGTSTP (those
 * of them not inherited ignored) and reads them from a signalfd in its poll
 * loop; on SIGTSTP it stops the instances with itself.
 * Children run in their own process group (so a terminal's Ctrl-C reaches only
 * the launcher, which decides) and die with the launcher (PR_SET_PDEATHSIG).
 * When one instance fails, the others get SIGTERM, then SIGKILL after the grace
 * period.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "errout.h"
#include "internal.h"
#include "netaddr.h"
#include "netkey.h"
#include "rendezvous.h"
#include "run_priv.h"
#include "stats.h"

/* How long a graceful stop may take before it turns into a hard one. */
#define DRAIN_S 5.0

/* How often, at least, the launcher looks for instances that ended. Their
 * SIGCHLD goes to a thread of the caller's that does not block it (a
 * service's worker thread, whose mask is its own) rather than to the
 * signalfd of the calling thread, and takes its default action there:
 * discarded, it would leave the run waiting for ever. */
#define REAP_EVERY_MS 20


/* Say on stderr that signal `sig` stops the run: "flowrun: SIGNAME:
 * `before` 'GRAPH'`after`". */
static void
say_stop(sup_t *s, int sig, const char *before, const char *after)
{
    char line[300], sb[FLOW__SIG_ABBREV];
    int n = snprintf(line, sizeof(line), "flowrun: SIG%s: %s '%s'%s\n",
                     flow__sig_abbrev(sig, sb), before, s->g->name, after);

    if (n > 0 && (size_t)n < sizeof(line))
        flow__sup_err_write(s, line, (size_t)n);
}

static void
signal_all(sup_t *s, int sig)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (!s->procs[i].exited && s->procs[i].pid > 0)
            kill(s->procs[i].pid, sig);
}

/* A graceful stop: SIGUSR1 to the instances of the nodes it concerns,
 * those without a push input (sources end their streams, the nodes that
 * ask flow_node_stopping end their work). A node with a push input goes on
 * until its input ends: told too, it would only see its own system calls
 * interrupted (EINTR), which most code takes for an error. */
static void
signal_graceful(sup_t *s)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (!s->procs[i].exited && s->procs[i].pid > 0 &&
            !flow__gnode_has_input(&s->g->nodes[s->procs[i].node]))
            kill(s->procs[i].pid, SIGUSR1);
}

/*
 * The kill after the grace of a quit: SIGKILL to every instance left but
 * those writing their core dump, which a SIGKILL cuts short (a 3 GB
 * instance takes seconds to write one, and it was killed 0.5 s after the
 * SIGQUIT with 158 MB of it written). Returns how many are still writing:
 * then to be looked at again.
 */
static size_t
kill_but_dumping(sup_t *s)
{
    size_t dumping = 0;

    for (size_t i = 0; i < s->nprocs; i++) {
        const flow_proc_t *p = &s->procs[i];
        if (p->exited || p->pid <= 0)
            continue;
        if (flow__proc_core_dumping(p->pid))
            dumping++;
        else
            kill(p->pid, SIGKILL);
    }
    return dumping;
}

/*
 * When a stop signal read now came, as near as can be told, for
 * flow__signal_echo with `first`: the time since the first that this
 * launcher spent waiting for a CPU does not count. `*first_waited` is its
 * flow__runqueue_wait_s at the first (set here when `first` holds none; -1:
 * unknown). With 36 busy loops on 2 CPUs a second SIGHUP sent within 0.1 s
 * of the first was read later, and taken for another stop (the instances
 * killed, the output lost).
 */
static double
signal_came(const flow_sig_first_t *first, double *first_waited)
{
    double waited = flow__runqueue_wait_s(), came = flow__now_s();

    if (!first->sig)
        *first_waited = waited;
    else if (*first_waited >= 0 && waited >= *first_waited)
        came -= waited - *first_waited;
    return came;
}

static void
begin_stop(sup_t *s, double grace)
{
    if (s->stopping)
        return;
    s->stopping = true;
    signal_all(s, SIGTERM);
    s->kill_at = flow__now_s() + grace;
}

/*
 * SIGQUIT (Ctrl-\): every instance takes it now, by its default action a
 * core dump where the limit on core size allows (a look at a run that
 * hangs), with no drain; one that has not ended after `grace` is killed,
 * unless it is still writing its core dump (kill_but_dumping). The run
 * returns as for a stop signal, its run directory removed (the launcher
 * itself dumps no core: its own would be the same file as an instance's
 * under a core_pattern without the pid). A second SIGQUIT, as any second
 * stop signal, kills every instance at once; the copy that a sender such
 * as timeout(1) sends again at once (flow__signal_echo) is not a second.
 */
static void
quit_now(sup_t *s, double grace, bool quiet)
{
    if (s->killed)
        return;
    if (s->quitting) {
        signal_all(s, SIGKILL);
        s->killed = true;
        return;
    }
    s->quitting = true;
    s->tell_cores = !quiet;
    s->signo = SIGQUIT;
    if (!s->result)
        s->result = FLOW_EINTR;
    if (!s->stopping) {
        s->stopping = true; /* the ends are ours, not failures */
        s->kill_at = flow__now_s() + grace;
    }
    signal_all(s, SIGQUIT);
    if (!quiet)
        say_stop(s, SIGQUIT, "quitting graph",
                 ": every instance quits now, with a core dump where "
                 "the limit on core size allows");
}

/*
 * An instance that ended before its counters were final (killed, stopped
 * by a timeout, crashed): its wall time up to now, and its CPU time and
 * peak memory as the kernel counted them (`ru`, from wait4), so that
 * --stats shows what it did, not zeros.
 */
static void
stats_of_the_dead(flow_inst_stats_t *st, const struct rusage *ru)
{
    struct timespec ts;

    if (__atomic_load_n(&st->state, __ATOMIC_ACQUIRE) == FLOW_INST_DONE)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    flow__stats_finish(
        st, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, ru);
}

/* Whether standard output is a pipe or socket whose reader has gone. */
static bool
stdout_gone(void)
{
    struct pollfd p = { STDOUT_FILENO, POLLOUT, 0 };

    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/*
 * Whether the guard `guard` has ended (waiting for it if `block`), with its
 * wait status in `*status`, without reaping it: a zombie, it keeps its pid,
 * which is the number of the run's process group, from being given to
 * another process until the launcher has killed the group.
 */
static bool
guard_ended(pid_t guard, bool block, int *status)
{
    siginfo_t si;
    int rc;

    memset(&si, 0, sizeof(si));
    while ((rc = waitid(P_PID, (id_t)guard, &si,
                        WEXITED | WNOWAIT | (block ? 0 : WNOHANG))) < 0 &&
           errno == EINTR)
        ;
    if (rc < 0 || si.si_pid != guard)
        return false;
    if (si.si_code == CLD_EXITED)
        *status = (si.si_status & 0xff) << 8;
    else
        *status = (si.si_status & 0x7f) | (si.si_code == CLD_DUMPED ? 0x80 : 0);
    return true;
}

/* Whether one of the signals `which` waits, blocked, not read yet, of those
 * read from the signalfd (`mask`): one inherited ignored and blocked stays
 * pending for ever (Linux queues it). */
static bool
pending_in(const sigset_t *mask, const sigset_t *which)
{
    sigset_t p;

    if (!mask || sigpending(&p))
        return false;
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&p, sig) == 1 && sigismember(which, sig) == 1 &&
            sigismember(mask, sig) == 1)
            return true;
    return false;
}

/* Whether a stop signal of those the run reads (`mask`) waits, blocked,
 * or comes within `secs`. */
static bool
stop_comes(const sigset_t *mask, double secs)
{
    double until = flow__now_s() + secs;
    struct timespec ts = { 0, 2000000 };
    sigset_t stops;

    sigemptyset(&stops);
    flow__stop_signals_add(&stops);
    while (!pending_in(mask, &stops)) {
        if (flow__now_s() >= until)
            return false;
        nanosleep(&ts, NULL);
    }
    return true;
}

/* Instance `i` ended with wait status `status` (its usage `ru`). */
static void
reaped(sup_t *s, size_t i, int status, const struct rusage *ru, double grace)
{
    flow_proc_t *p = &s->procs[i];
    char how[128];

    p->exited = true;
    p->status = status;
    s->alive--;
    if (s->stats)
        stats_of_the_dead(&s->stats[i], ru);
    if (s->tell_cores && WIFSIGNALED(status) && WCOREDUMP(status)) {
        char line[512];
        int n = snprintf(line, sizeof(line),
                         "flowrun: node '%s' instance %u (pid %d) dumped "
                         "core\n",
                         s->g->nodes[p->node].name, p->inst, (int)p->pid);
        if (n > 0 && (size_t)n < sizeof(line))
            flow__sup_err_write(s, line, (size_t)n);
    }
    if ((s->stopping && !p->failed) ||
        (status == 0 && (p->done || s->released)))
        return;
    if (!p->failed && WIFEXITED(status) &&
        WEXITSTATUS(status) == 128 + SIGTERM) {
        /* A SIGTERM of another's during a stop: the stop's sender signalled
         * the instances too (systemctl stop signals every process of a
         * service's control group at once). Part of the stop, not a
         * failure; without that instance the drain cannot end: a hard
         * stop, said as one (the output is cut short). The instance may
         * end before flowrun's own signal comes (the sender signalled it
         * first and was then held by the scheduler): one that comes within
         * 0.2 s makes it the stop's too, once read. */
        if (s->draining) {
            begin_stop(s, grace);
            return;
        }
        if (stop_comes(s->sigmask, 0.2)) {
            s->term_unjudged = true;
            return;
        }
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE && stdout_gone()) {
        /* Our standard output was closed (flowrun ... | head):
         * stop quietly, like any tool that writes to a pipe. A
         * node's own pipe (a FIFO as its output) is its failure. */
        if (!s->result) {
            s->result = FLOW_EINTR;
            s->signo = SIGPIPE;
        }
        begin_stop(s, grace);
        return;
    }
    if (status == 0)
        /* exit() called in a callback: its outputs never ended, and
         * its consumers would wait for their end markers for ever. */
        snprintf(how, sizeof(how),
                 "exited with status 0 before the end of its run "
                 "(exit() called in the node?)");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM)
        /* An instance ends so on a SIGTERM; not flowrun's, as it is not
         * stopping: another process's kill. */
        snprintf(how, sizeof(how),
                 "exited with status 143: stopped by a SIGTERM that "
                 "flowrun did not send");
    else
        flow__status_describe(status, how, sizeof(how));
    {
        char line[512];
        int n = snprintf(line, sizeof(line),
                         "flowrun: error: node '%s' instance %u (pid "
                         "%d) %s\n",
                         s->g->nodes[p->node].name, p->inst, (int)p->pid, how);
        /* Its own last words first. */
        if (p->err_fd >= 0)
            flow__sup_relay_stderr(s, p);
        if (n > 0)
            flow__sup_err_write(s, line, strlen(line));
    }
    s->result = FLOW_ENODE;
    begin_stop(s, grace);
}

/* The instances, one by one (a wait4 each), for when the guard's zombie
 * is what waitid would show first again and again. */
static void
reap_each(sup_t *s, double grace)
{
    struct rusage ru;
    int status;

    for (size_t k = 0; k < s->nprocs; k++) {
        pid_t pid;

        if (s->procs[k].exited || s->procs[k].pid <= 0)
            continue;
        while ((pid = wait4(s->procs[k].pid, &status, WNOHANG, &ru)) < 0 &&
               errno == EINTR)
            ;
        if (pid == s->procs[k].pid)
            reaped(s, k, status, &ru, grace);
    }
}

/*
 * Reap the instances that ended, but never the guard (see guard_ended) nor
 * a child of the caller's (a program that calls flow_graph_run may have
 * children of its own, whose exit status is its to wait for): look at the
 * next child that ended without reaping it, and reap it only if it is an
 * instance. Once the guard or a child not of the run has ended (the guard
 * said once, as a warning), its zombie would be the one shown: the
 * instances are then looked at one by one.
 */
static void
reap(sup_t *s, double grace)
{
    struct rusage ru;
    int status;

    for (;;) {
        siginfo_t si;
        pid_t pid;
        size_t k;

        memset(&si, 0, sizeof(si));
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
            si.si_pid == 0)
            return;
        for (k = 0; k < s->nprocs && s->procs[k].pid != si.si_pid; k++)
            ;
        if (k == s->nprocs) {
            /* The guard, or a child of the caller's (left to it; the
             * guard may have ended behind it). */
            if (s->guard > 0 && !s->guard_ended &&
                guard_ended(s->guard, false, &status)) {
                char how[128], line[512];
                s->guard_ended = true;
                flow__status_describe(status, how, sizeof(how));
                snprintf(line, sizeof(line),
                         "flowrun: warning: the guard of the run's process "
                         "group (flowrun-guard, pid %d) %s: if flowrun is "
                         "killed now, processes the nodes started outlive "
                         "it\n",
                         (int)s->guard, how);
                flow__sup_err_write(s, line, strlen(line));
            }
            reap_each(s, grace);
            return;
        }
        while ((pid = wait4(si.si_pid, &status, WNOHANG, &ru)) < 0 &&
               errno == EINTR)
            ;
        if (pid != si.si_pid)
            return;
        if (!s->procs[k].exited)
            reaped(s, k, status, &ru, grace);
    }
}

/*
 * Read the exit barrier's pipe `fd`: each instance that is done writes its
 * process index, 4 bytes in one write (atomic), so a read of a multiple of
 * 4 bytes gets whole records. Marks those instances done and counts them
 * in `*ndone`. Returns what read returned.
 */
/*
 * Process `k` gave its input port `port` up: stop gracefully (SIGUSR1) the
 * instances of every node that no one wants any more, as a first Ctrl-C
 * would stop the whole graph. Their sources end their streams.
 */
static void
given_up(sup_t *s, size_t k, unsigned port)
{
    if (!s->cancel.g)
        flow__cancel_init(&s->cancel, s->g);
    if (!flow__cancel_give_up(&s->cancel, k, port))
        return;
    for (size_t j = 0; j < s->nprocs; j++)
        if (s->cancel.stop[s->procs[j].node] && !s->procs[j].exited &&
            !s->procs[j].done)
            kill(s->procs[j].pid, SIGUSR1);
}

static ssize_t
read_done(sup_t *s, int fd, size_t *ndone)
{
    uint32_t rec[64];
    ssize_t r = read(fd, rec, sizeof(rec));

    for (ssize_t i = 0; i < r / (ssize_t)sizeof(*rec); i++)
        if (rec[i] & FLOW__DONE_CLOSED)
            given_up(s, (rec[i] & ~FLOW__DONE_CLOSED) >> 8, rec[i] & 0xff);
        else if (rec[i] < s->nprocs && !s->procs[rec[i]].done) {
            s->procs[rec[i]].done = true;
            (*ndone)++;
        }
    return r;
}

/* The launcher's ends of the barrier pipes: [0] read, [1] write. */
typedef struct barrier {
    int ready[2];   /* children write a byte when bound */
    int go[2];      /* closed by the launcher: start */
    int done[2];    /* children write a byte when finished */
    int release[2]; /* closed by the launcher: close sockets, exit */
    int life[2];    /* socket pair, the launcher's end [1] its alone: the
                     * guard's call to kill the group (a byte, or EOF) */
} barrier_t;

/* Whether a stop signal waits (blocked, not read yet): the run must not
 * start then, as it would if the signal had been read first. */
static bool
stop_pending(const sigset_t *mask)
{
    sigset_t stops;

    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    return pending_in(mask, &stops);
}

/* Pass the start barrier: the instances go. Returns when (flow__now_s),
 * or 0 when the run is already stopping: then it never starts, and the
 * barrier stays shut (the instances, sent SIGTERM, end at it; a release
 * after the stop let one that saw it before its signal run its node). */
static double
barrier_go(barrier_t *b, const sup_t *s)
{
    close(b->ready[0]);
    b->ready[0] = -1;
    if (s->stopping)
        return 0;
    close(b->go[1]);
    b->go[1] = -1;
    return flow__now_s();
}

/* Whether every instance is done (waits at the exit barrier, or was
 * released from it) or has exited: nothing of the graph's work is left,
 * so no limit on that work (--timeout, the drain's) has anything to stop.
 * The launcher can see that late, at once with a limit that passed
 * meanwhile: when it was stopped (kill -STOP, a debugger) while its
 * instances ran on to their end. */
static bool
all_done(const sup_t *s)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (!s->procs[i].exited && !s->procs[i].done)
            return false;
    return true;
}

/* The clock of a run's supervision: when it started, its limits, the
 * first stop signals (for flow__signal_echo). A Ctrl-Z moves the times on
 * by as long as it held the run. */
typedef struct run_clock {
    double started;       /* the run's start (flow__now_s) */
    double deadline;      /* --timeout ends the graph then; 0: none */
    double go_at;         /* the start barrier passed; 0: not yet */
    double next_progress; /* the progress line's next drawing */
    flow_sig_first_t first_sig, first_quit;
    double first_waited, quit_waited; /* signal_came's */
} run_clock_t;

/*
 * Stop what is past a limit: the graph's --timeout, a node's timeout key
 * (counted from the start), a drain that took longer than DRAIN_S, the
 * grace of a hard stop (then SIGKILL); and draw the progress line once the
 * instances run (`after_start`). Returns how long the loop may wait for
 * something else, in ms (-1: no limit).
 */
static int
check_limits(sup_t *s, run_clock_t *clk, const flow_run_opts_t *opts,
             double grace, bool after_start)
{
    double t = flow__now_s(), next = 0, next_node = 0;
    bool over = all_done(s); /* no work left for a limit to stop */

    if (!s->stopping && !over && clk->deadline > 0 && t >= clk->deadline) {
        if (s->draining) {
            /* The signal came first and stays the result: its drain
             * ends here, as one past its own limit does, naming
             * what still runs as a timeout does. */
            char line[1024], running[512];
            flow__sup_list_running(s, running, sizeof(running));
            int n = snprintf(line, sizeof(line),
                             "flowrun: graph '%s' still draining at "
                             "--timeout %gs: stopping it (still "
                             "running: %s)\n",
                             s->g->name, opts->timeout_s, running);
            if (!opts->quiet) /* as the stop's other lines */
                flow__sup_err_write(s, line,
                                    (size_t)n < sizeof(line) ? (size_t)n : 0);
        } else {
            flow__sup_report_timeout(s, -1, opts->timeout_s);
            s->result = FLOW_ETIMEDOUT;
        }
        begin_stop(s, grace);
    }
    for (size_t k = 0; !s->stopping && clk->go_at > 0 && k < s->nprocs; k++) {
        const flow_proc_t *p = &s->procs[k];
        double limit = s->g->nodes[p->node].timeout_s;
        /* Done, it waits at the exit barrier for the others: its
         * own work ended in time. */
        if (!p->exited && !p->done && limit > 0 && t >= clk->go_at + limit) {
            flow__sup_report_timeout(s, (long)k, limit);
            s->result = FLOW_ETIMEDOUT;
            begin_stop(s, grace);
        }
        if (!p->exited && !p->done && limit > 0 &&
            (next_node == 0 || clk->go_at + limit < next_node))
            next_node = clk->go_at + limit;
    }
    if (s->draining && !s->stopping && !over && t >= s->drain_until) {
        /* A node that does not stop on a graceful stop (one busy in
         * a long computation that does not ask flow_node_stopping, or
         * a drain that takes long): a hard stop, SIGTERM then SIGKILL
         * after the grace. */
        char line[1024], running[512];
        flow__sup_list_running(s, running, sizeof(running));
        int n = snprintf(line, sizeof(line),
                         "flowrun: graph '%s' still running %.0f s after "
                         "the signal: stopping it (still running: %s)\n",
                         s->g->name, DRAIN_S, running);
        if (!opts->quiet) /* as the stop's other lines */
            flow__sup_err_write(s, line,
                                (size_t)n < sizeof(line) ? (size_t)n : 0);
        begin_stop(s, grace);
    }
    if (s->stopping && !s->killed && t >= s->kill_at) {
        if (s->quitting && kill_but_dumping(s) > 0) {
            s->kill_at = t + 0.05; /* the dumps: look again */
        } else {
            signal_all(s, SIGKILL);
            s->killed = true;
        }
    }
    if (!s->stopping && !over && clk->deadline > 0)
        next = clk->deadline;
    if (!s->stopping && next_node > 0 && (next == 0 || next_node < next))
        next = next_node;
    if (s->draining && !s->stopping && !over &&
        (next == 0 || s->drain_until < next))
        next = s->drain_until;
    if (s->stopping && !s->killed)
        next = s->kill_at;
    if (opts->progress && !opts->quiet && after_start) {
        if (t >= clk->next_progress) {
            flow__sup_show_progress(s, t - clk->started);
            clk->next_progress = t + 0.25;
        }
        if (next == 0 || clk->next_progress < next)
            next = clk->next_progress;
    }
    if (next > 0) {
        double ms = ceil((next - t) * 1000.0);
        return ms <= 0 ? 0 : ms >= INT_MAX ? INT_MAX : (int)ms;
    }
    return -1;
}

/*
 * Act on the signals signalfd `sfd` holds: SIGQUIT (quit_now), SIGTSTP
 * (the run paused with the launcher, its times moved on), a stop signal: a
 * graceful stop, or, before the start (`before_start`) or as a second one,
 * a hard stop. `quiet`: nothing said.
 */
static void
read_signals(sup_t *s, run_clock_t *clk, int sfd, bool quiet, double grace,
             pid_t pgid, bool before_start)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD)
            continue;
        if (sig == SIGQUIT) { /* whatever came before */
            /* timeout -s QUIT sends it twice (to the command, then
             * to its group): the copy would kill at once every
             * instance still writing its core dump. */
            if (!flow__signal_echo(
                    &clk->first_quit, sig, (pid_t)si.ssi_pid,
                    signal_came(&clk->first_quit, &clk->quit_waited)))
                quit_now(s, grace, quiet);
            continue;
        }
        if (sig == SIGTSTP) {
            /* Ctrl-Z: the instances pause with the launcher, and
             * the time stopped counts toward no limit. */
            double d = flow__pause_with_group(pgid);
            clk->started += d;
            clk->deadline += clk->deadline > 0 ? d : 0;
            clk->go_at += clk->go_at > 0 ? d : 0;
            s->drain_until += d;
            s->kill_at += d;
            continue;
        }
        if (flow__signal_echo(&clk->first_sig, sig, (pid_t)si.ssi_pid,
                              signal_came(&clk->first_sig, &clk->first_waited)))
            continue; /* timeout(1)'s second copy: one stop */
        if (s->draining || s->stopping) {
            /* A second signal: no more grace. */
            s->stopping = true; /* the kills are ours, not failures */
            signal_all(s, SIGKILL);
            s->killed = true;
            continue;
        }
        /* A graceful stop: sources end their streams, the rest
         * drains to the sinks, and every instance exits. */
        s->signo = sig;
        if (!s->result)
            s->result = FLOW_EINTR;
        s->draining = true;
        s->drain_until = flow__now_s() + DRAIN_S;
        if (before_start) {
            begin_stop(s, grace); /* not started: nothing to drain */
            if (!quiet)
                say_stop(s, sig, "graph",
                         " stopped before it started: no output");
        } else {
            signal_graceful(s);
            if (!quiet) /* said at once: a drain takes time */
                say_stop(s, sig, "stopping graph",
                         ": the sources end their streams, what is "
                         "in flight drains to the sinks (a second "
                         "signal kills at once)");
        }
        if (s->term_unjudged) /* an instance already ended by it */
            begin_stop(s, grace);
    }
}

/*
 * The guard: the leader of the run's process group, forked before the
 * instances. It waits on `life`, whose write end the launcher alone holds:
 * a byte (the run's end) or the end of the pipe (the launcher died, even
 * by SIGKILL) and it kills the group. The instances die with the launcher
 * anyway (PR_SET_PDEATHSIG); the processes they started do not. To end
 * normally itself (no process of a run is killed without need), it first
 * moves to the launcher's group `home`, where it can; its pid stays in
 * use, so the group's number cannot be another's. Returns its pid, or -1.
 */
static pid_t
start_guard(int life[2], pid_t home)
{
    static const int quiet[] = { SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                                 SIGUSR1, SIGUSR2, SIGPIPE, SIGTSTP,
                                 SIGTTIN, SIGTTOU, SIGALRM };
    pid_t pid = fork(), me;
    char c;

    if (pid != 0)
        return pid;
    me = getpid();
    setpgid(0, 0);
    prctl(PR_SET_NAME, "flowrun-guard"); /* not a second flowrun to pgrep */
    for (size_t i = 0; i < sizeof(quiet) / sizeof(*quiet); i++)
        signal(quiet[i], SIG_IGN);
    /* Nothing of the launcher's held open: its stdout, its run directory
     * lock. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    }
    if (dup2(life[0], 3) < 0)
        _exit(1);
    closefrom(4);
    while (read(3, &c, 1) < 0 && errno == EINTR)
        ;
    if (setpgid(0, home) == 0)
        kill(-me, SIGKILL);
    else
        kill(0, SIGKILL); /* with itself: its home is gone */
    _exit(0);
}

/*
 * At the run's end: anything left in the run's process group `pgid`
 * (grandchildren) goes too. The guard `guard` (if > 0) is told through
 * `life_w`, its socket pair's end, and kills the group and exits; without
 * it (it died, or did not do it), the launcher kills the group. The guard
 * is reaped here.
 */
static void
end_group(pid_t guard, pid_t pgid, int life_w)
{
    if (guard <= 0) {
        if (pgid > 0)
            kill(-pgid, SIGKILL);
        return;
    }
    /* Woken if stopped (kill -STOP of the group), told, given a second.
     * Unreaped until the end, even when it died before (see guard_ended),
     * it holds the group's number for the kill: once reaped, that number
     * may be another process group's. */
    int gst = 0;
    bool ended = guard_ended(guard, false, &gst);
    if (!ended && !kill(guard, SIGCONT) &&
        send(life_w, "q", 1, MSG_NOSIGNAL) == 1) {
        /* Its end of the pair closes as it exits: no polling delay. */
        struct pollfd gone = { life_w, POLLIN, 0 };
        double until = flow__now_s() + 1.0;
        while (poll(&gone, 1, 100) == 0 && flow__now_s() < until)
            ;
        if (gone.revents)
            ended = guard_ended(guard, true, &gst);
    }
    if (!ended || gst != 0) { /* it did not do it */
        if (pgid > 0)
            kill(-pgid, SIGKILL);
        if (!ended)
            kill(guard, SIGKILL);
    }
    while (waitpid(guard, NULL, 0) < 0 && errno == EINTR)
        ;
}

static void
child(const flow_graph_t *g, const flow_proc_t *p, const char *dir,
      pid_t parent, pid_t pgid, const sigset_t *oldmask, barrier_t *b,
      int err_w, int log_level, flow_inst_stats_t *st,
      const flow_run_opts_t *opts, const char *rdv_ep)
{
    int fds[4] = { b->ready[1], b->go[0], b->done[1], b->release[0] };
    int rc;

    if (err_w >= 0) {
        dup2(err_w, STDERR_FILENO);
        close(err_w);
    }
    flow__node_set_logging(log_level, err_w >= 0);
    /* Waits are timed only where something will show them (--quiet
     * draws no progress line, even with --progress). */
    flow__node_set_timing(opts->stats || opts->stats_json || opts->dot_stats ||
                          (opts->progress && !opts->quiet));
    flow__node_set_net(opts->tcp, opts->bind, NULL, opts->tcp ? rdv_ep : NULL,
                       false);
    /* Frames of a few hundred KiB come and go all the time: keep glibc
     * from returning them to the kernel and faulting them back in. Up to
     * 32 MiB, the most glibc takes on 64-bit (and its own limit when it
     * adapts the threshold), as a smaller fixed one (8 MiB) made every frame
     * above it an mmap of its own: each page of a 16 MiB frame faulted in
     * anew at both ends, and such frames moved at 0.4x raw libzmq's rate
     * (tests/e2e/test_big.c). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    setpgid(0, pgid);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
        _exit(1);
    close(b->ready[0]);
    close(b->go[1]);
    close(b->done[0]);
    close(b->release[1]);
    close(b->life[0]);
    close(b->life[1]);       /* or a process of the node's would hold it */
    signal(SIGINT, SIG_IGN); /* the launcher decides; see flowrun(1) */
    signal(SIGHUP, SIG_DFL);
    /* Not in the terminal's foreground group, an instance that writes to
     * it under `stty tostop` would be stopped for good, and one that reads
     * it too: the write goes through, the read fails (EIO). Ctrl-Z reaches
     * the instances through the launcher. */
    signal(SIGTTOU, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGPIPE, SIG_DFL); /* stdout closed: die quietly, as tools do */
    flow__node_signals_install();
    sigprocmask(SIG_SETMASK, oldmask, NULL);
    flow__node_signals_unblock(); /* whatever the caller blocked */
    /* The stop signals are the launcher's to read, and flowrun holds them
     * blocked from its start: an instance, and every program it starts
     * (a mask survives exec), had SIGHUP, SIGALRM, SIGUSR2, SIGPROF and
     * the real-time signals blocked, so a node's alarm() or timer never
     * fired and a kill -HUP did nothing. They keep their actions. */
    sigset_t stops;
    sigemptyset(&stops);
    flow__stop_signals_add(&stops);
    /* SIGQUIT, which the launcher passes on (quit_now), takes its default
     * action, a core dump, unless ignored (then the launcher never reads
     * it): blocked by the caller, it never came, and an embedding
     * program's handler, inherited by the fork, ran its own code in the
     * instance instead; either way the instance lived on until --grace
     * and was killed, with no core. */
    flow__quit_signal_add(&stops);
    if (sigismember(&stops, SIGQUIT))
        signal(SIGQUIT, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &stops, NULL);
    rc = flow__node_main(g, p->node, p->inst, dir, fds, st);
    flow__node_exit(rc);
}

static int
run_graph(flow_graph_t *graph, const flow_run_opts_t *opts, int *signo_out)
{
    flow_run_opts_t defaults, resolved;
    char dir[4096], bind_addr[512];
    barrier_t b = {
        { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 }
    };
    sigset_t mask, oldmask;
    struct sigaction old_chld, old_pipe;
    int sfd = -1, rc;
    sup_t s;
    double grace;
    size_t nready = 0, ndone = 0;
    double reaped_at = 0;
    pid_t parent = getpid(), pgid = 0, guard = -1;
    bool masked = false, dir_gone = false, err_gone = false;
    int dir_lock = -1;
    char rdv_ep[4200], rdv_addr[256];
    flow_rdv_t *rdv = NULL;
    int rdv_fd = -1;
    int log_level;
    bool count;
    struct pollfd *pfd = NULL;
    run_clock_t clk = { .started = flow__now_s(),
                        .first_waited = -1,
                        .quit_waited = -1 };

    if (!opts) {
        memset(&defaults, 0, sizeof(defaults));
        opts = &defaults;
    }
    grace = opts->grace_s > 0 ? opts->grace_s : 0.5;
    log_level = opts->log_level > 0 ? opts->log_level - 1 : FLOW_LOG_INFO;
    /* FLOW_STATS=0 turns the counters off, to measure what they cost; not
     * where a report shows them, which would read 0 items, pid 0 and
     * "starting" for every instance of a run that went well. */
    count = opts->stats || opts->stats_json || opts->dot_stats ||
            (opts->progress && !opts->quiet) || !getenv("FLOW_STATS") ||
            strcmp(getenv("FLOW_STATS"), "0");
    memset(&s, 0, sizeof(s));
    flow__errout_init(&s.err, STDERR_FILENO);
    s.g = graph;
    s.sigmask = &mask;
    s.nprocs = flow_graph_process_count(graph);
    /* One descriptor per instance (its stderr pipe), polled with the signal
     * fd and barrier pipes; over TCP, the rendezvous's two connections per
     * instance too (the node's and its watcher's). */
    if ((rc = flow__fd_limit("the launcher", s.nprocs, opts->tcp ? 3 : 1)) ||
        (rc = flow__instances_fd_check(graph, opts->tcp)))
        return rc;
    if (opts->tcp) {
        char why[512];
        if ((rc = flow__bind_check(
                 opts->bind && *opts->bind ? opts->bind : "127.0.0.1",
                 bind_addr, sizeof(bind_addr), why, sizeof(why)))) {
            fprintf(stderr, "flowrun: error: %s\n", why);
            return rc;
        }
        if ((rc = flow__netkey_load(why, sizeof(why)))) {
            fprintf(stderr, "flowrun: error: %s\n", why);
            return rc;
        }
        resolved = *opts;
        resolved.bind = bind_addr;
        opts = &resolved;
    }
    /*
     * The signals wait from here on, before the run directory exists: one
     * that came while it was being made would kill the launcher and leave
     * the directory behind. A stop that comes before the instances start
     * is read with the rest, and ends the run before it begins.
     */
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    flow__launcher_stop_signals_add(&mask);
    flow__pause_signal_add(&mask);
    flow__quit_signal_add(&mask);
    /* Blocked, SIGTTOU is not sent: under `stty tostop`, in the background,
     * the launcher writes its stderr as the instances do (which ignore it)
     * instead of stopping alone while they go on. */
    sigaddset(&mask, SIGTTOU);
    flow__child_signal_default(&old_chld);
    /* A standard error closed under it (flowrun ... 2>&1 | head) must not
     * kill the launcher, which would leave the run directory behind: the
     * logs are lost, the run goes on. Its children take SIGPIPE back. */
    sigaction(SIGPIPE, &(struct sigaction){ .sa_handler = SIG_IGN }, &old_pipe);
    sigprocmask(SIG_BLOCK, &mask, &oldmask);
    masked = true;
    dir_gone = true; /* until it is made */
    rc = flow__rundir_make(opts->run_dir, dir, sizeof(dir), &dir_lock);
    /* The longest endpoint "DIR/L.A.B" must fit in sun_path (108 bytes). */
    if (!rc && strlen(dir) + 1 + 3 * 10 + 2 >= 108) {
        flow__rundir_release(dir, &dir_lock);
        rc = flow__rundir_make("/tmp", dir, sizeof(dir), &dir_lock);
    }
    if (rc) {
        const char *slash = strrchr(dir, '/');
        /* The caller's run_dir is the place, not the environment's. */
        bool given = opts->run_dir && *opts->run_dir;
        fprintf(stderr,
                "flowrun: error: cannot make the run directory in '%.*s': "
                "%s (%s: point %s at a writable directory)\n",
                slash ? (int)(slash - dir) : (int)strlen(dir), dir,
                flow_strerror(rc),
                given ? "it is made in the run options' run_dir"
                      : "it is made in XDG_RUNTIME_DIR, else TMPDIR, else /tmp",
                given ? "run_dir" : "one");
        rc = FLOW_EUSAGE; /* said; no node failed: the run cannot start
                           * here (exit 2, as for ulimit -n) */
        goto out;
    }
    dir_gone = false;
    snprintf(rdv_ep, sizeof(rdv_ep), "ipc://%s/rendezvous", dir);
    s.procs = flow__xcalloc(s.nprocs, sizeof(*s.procs));
    for (size_t k = 0; k < s.nprocs; k++)
        s.procs[k].err_fd = -1;
    s.stats = flow__stats_map(graph, &s.stats_size);
    if (!s.stats) {
        rc = -errno;
        goto out;
    }
    for (size_t n = 0, k = 0; n < graph->nnodes; n++)
        for (unsigned i = 0; i < graph->nodes[n].instances; i++, k++) {
            s.procs[k].node = n;
            s.procs[k].inst = i;
        }
    if (pipe2(b.ready, O_CLOEXEC) || pipe2(b.go, O_CLOEXEC) ||
        pipe2(b.done, O_CLOEXEC) || pipe2(b.release, O_CLOEXEC) ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b.life)) {
        rc = -errno;
        goto out;
    }
    fflush(stdout);
    fflush(stderr);
    if ((guard = start_guard(b.life, getpgrp())) < 0) {
        fprintf(stderr, "flowrun: error: cannot start the run: fork: %s\n",
                strerror(errno));
        rc = FLOW_ENODE;
        goto out;
    }
    pgid = guard;
    s.guard = guard;
    setpgid(guard, pgid);
    close(b.life[0]);
    b.life[0] = -1;
    /*
     * One context before forking, with no socket yet, hence no thread: it
     * does libzmq's process-wide set-up once (OpenPGM's pgm_init, which
     * reads /etc/protocols through NSS, and libsodium's), which each
     * instance's own context then finds done. The children never use it;
     * with TCP links it serves the rendezvous, whose sockets (and threads)
     * come after the forks.
     */
    s.zctx = zmq_ctx_new();
    for (size_t k = 0; k < s.nprocs; k++) {
        int errp[2] = { -1, -1 };
        pid_t pid;

        pid = pipe2(errp, O_CLOEXEC) ? -1 : fork();
        if (pid < 0) {
            rc = -errno;
            fprintf(stderr,
                    "flowrun: error: cannot start node '%s' instance %u: "
                    "%s: %s\n",
                    graph->nodes[s.procs[k].node].name, s.procs[k].inst,
                    errp[0] < 0 ? "pipe" : "fork", strerror(errno));
            if (errp[0] >= 0) {
                close(errp[0]);
                close(errp[1]);
            }
            s.result = FLOW_ENODE;
            begin_stop(&s, grace);
            break;
        }
        if (pid == 0) {
            for (size_t j = 0; j < k; j++)
                if (s.procs[j].err_fd >= 0)
                    close(s.procs[j].err_fd);
            if (errp[0] >= 0)
                close(errp[0]);
            if (dir_lock >= 0)
                close(dir_lock); /* the launcher's: it lives as long */
            child(graph, &s.procs[k], dir, parent, pgid, &oldmask, &b, errp[1],
                  log_level, count ? &s.stats[k] : NULL, opts, rdv_ep);
        }
        if (errp[1] >= 0)
            close(errp[1]);
        if (errp[0] >= 0) {
            fcntl(errp[0], F_SETFL, O_NONBLOCK);
            s.procs[k].err_fd = errp[0];
        }
        setpgid(pid, pgid);
        s.procs[k].pid = pid;
        if (count) /* known here too: one that fails while starting */
            s.stats[k].pid = (int32_t)pid;
        s.alive++;
    }
    close(b.ready[1]);
    b.ready[1] = -1;
    close(b.go[0]);
    b.go[0] = -1;
    close(b.done[1]);
    b.done[1] = -1;
    close(b.release[0]);
    b.release[0] = -1;
    if (opts->tcp && !s.stopping) {
        /* TCP links: endpoints are exchanged through a rendezvous, created
         * now that every child is forked (no socket crosses a fork). Its
         * instances are this launcher's children, which it supervises
         * itself: no heartbeats (they would fail a run stopped by Ctrl-Z
         * and continued). */
        int err = 0;
        rdv = s.zctx ? flow__rdv_new(s.zctx, graph, rdv_ep, 0, rdv_addr,
                                     sizeof(rdv_addr), &err)
                     : NULL;
        if (!rdv) {
            fprintf(stderr, "flowrun: error: cannot start the rendezvous: %s\n",
                    flow_strerror(err ? err : -ENOMEM));
            s.result = FLOW_ENODE; /* said */
            begin_stop(&s, grace);
        } else {
            flow__rdv_set_quiet(rdv, true);
            rdv_fd = flow__rdv_fd(rdv);
        }
    }
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        rc = -errno;
        s.result = rc;
        begin_stop(&s, grace);
    }
    if (opts->timeout_s > 0)
        clk.deadline = flow__now_s() + opts->timeout_s;

    pfd = flow__xcalloc(s.nprocs + 4, sizeof(*pfd));
    reaped_at = flow__now_s();
    /* Also until the stop signal that came after an instance it ended is
     * read (term_unjudged), when that was the last. */
    while (s.alive > 0 || (s.term_unjudged && !s.draining && !s.stopping)) {
        int iready = -1, idone = -1, ierr, ierrout;
        int nfd = 0, timeout;

        timeout = check_limits(&s, &clk, opts, grace, b.go[1] < 0);
        pfd[nfd].fd = sfd;
        pfd[nfd++].events = POLLIN;
        if (b.ready[0] >= 0) {
            iready = nfd;
            pfd[nfd].fd = b.ready[0];
            pfd[nfd++].events = POLLIN;
        } else if (b.done[0] >= 0) {
            idone = nfd;
            pfd[nfd].fd = b.done[0];
            pfd[nfd++].events = POLLIN;
        }
        if (rdv_fd >= 0) {
            pfd[nfd].fd = rdv_fd;
            pfd[nfd++].events = POLLIN;
            if (timeout < 0 || timeout > 100)
                timeout = 100; /* ZMQ_FD is edge-triggered: look again */
        }
        ierrout = -1;
        if (flow__errout_pending(&s.err)) {
            /* Behind: written as stderr has room, read no more from the
             * instances while it is far behind. */
            ierrout = nfd;
            pfd[nfd].fd = STDERR_FILENO;
            pfd[nfd++].events = POLLOUT;
        }
        ierr = nfd;
        for (size_t k = 0; k < s.nprocs; k++) {
            pfd[nfd].fd = s.procs[k].err_fd; /* negative: ignored */
            if (flow__errout_pending(&s.err) >= FLOW__ERROUT_FULL)
                pfd[nfd].fd = -1;
            pfd[nfd].events = POLLIN;
            pfd[nfd++].revents = 0;
        }
        if (sfd < 0) {
            /* No signalfd: poll children by polling slowly. */
            timeout = 10;
            reap(&s, grace);
        } else if (timeout < 0 || timeout > REAP_EVERY_MS) {
            timeout = REAP_EVERY_MS;
        }
        if (poll(pfd, (nfds_t)nfd, timeout) < 0 && errno != EINTR) {
            fprintf(stderr, "flowrun: error: cannot watch the instances: %s\n",
                    strerror(errno));
            s.result = FLOW_ENODE; /* `out` kills what is left */
            break;
        }
        if (rdv && flow__rdv_process(rdv) == FLOW_ENODE && !s.stopping) {
            /* Who failed is told when it is reaped, as over ipc. */
            for (size_t k = 0; k < s.nprocs; k++)
                s.procs[k].failed = flow__rdv_peer_failed(rdv, k);
            s.result = FLOW_ENODE;
            flow__rdv_abort(rdv);
            begin_stop(&s, grace);
        }
        /* Over TCP an instance says DONE to the rendezvous, not in the
         * done pipe: it is done all the same (timeouts, lists). */
        for (size_t k = 0; rdv && k < s.nprocs; k++)
            if (!s.procs[k].done && flow__rdv_peer_done(rdv, k))
                s.procs[k].done = true;
        if (rdv && flow__rdv_finished(rdv))
            s.released = true;
        if (rdv && b.ready[0] >= 0 && flow__rdv_started(rdv) &&
            !stop_pending(&mask)) {
            /* The rendezvous sent the endpoint table: the start barrier of
             * a TCP run (its instances never write the ready pipe). */
            clk.go_at = barrier_go(&b, &s);
        }
        if (ierrout >= 0 && pfd[ierrout].revents)
            flow__errout_flush(&s.err, 0);
        for (size_t k = 0; k < s.nprocs; k++)
            if (pfd[ierr + (int)k].fd >= 0 &&
                (pfd[ierr + (int)k].revents & (POLLIN | POLLHUP | POLLERR)))
                flow__sup_relay_stderr(&s, &s.procs[k]);
        if (iready >= 0 && (pfd[iready].revents & (POLLIN | POLLHUP))) {
            char buf[256];
            ssize_t r = read(b.ready[0], buf, sizeof(buf));
            if (r > 0)
                nready += (size_t)r;
            if ((r == 0 || nready >= s.nprocs) && !stop_pending(&mask)) {
                /* Every instance is bound (or some died): go. */
                clk.go_at = barrier_go(&b, &s);
            }
        }
        if (idone >= 0 && (pfd[idone].revents & (POLLIN | POLLHUP))) {
            ssize_t r = read_done(&s, b.done[0], &ndone);
            if (r == 0 || ndone >= s.nprocs) {
                /* Every instance is done: nothing is in flight. */
                close(b.done[0]);
                b.done[0] = -1;
                close(b.release[1]);
                b.release[1] = -1;
            }
            if (ndone >= s.nprocs && !dir_gone) {
                /* Every link has carried its end markers, so it is
                 * connected: no endpoint file is looked up any more.
                 * Remove the run directory while the instances exit, not
                 * after (on a disk file system an rmdir may wait for the
                 * journal, a few ms). */
                flow__rundir_release(dir, &dir_lock);
                dir_gone = true;
            }
        }
        if (sfd >= 0 && (pfd[0].revents & POLLIN)) {
            read_signals(&s, &clk, sfd, opts->quiet, grace, pgid, b.go[1] >= 0);
            reap(&s, grace);
            reaped_at = flow__now_s();
        } else if (sfd >= 0 &&
                   flow__now_s() - reaped_at >= REAP_EVERY_MS / 1000.0) {
            /* No signal: one whose SIGCHLD another thread took? */
            reap(&s, grace);
            reaped_at = flow__now_s();
        }
    }
    /* A stop signal ended the run: what standard output or error does not
     * take by then is given up (a reader that stopped reading would hold
     * the launcher, which the signal asked to end, for ever). */
    if (s.signo)
        s.write_until = flow__now_s() + STOP_WRITE_S;
    flow__sup_relay_end(&s);
    if (s.progress_shown)
        flow__sup_err_write(&s, "", 0);
    if (s.result == FLOW_EINTR && s.draining && clk.go_at > 0 && !opts->quiet)
        flow__sup_report_stop(&s);
    if (flow__sup_report_stats(&s, opts, flow__now_s() - clk.started, sfd,
                               &err_gone) &&
        !s.result)
        s.result = FLOW_ENODE; /* exit 1: the report asked for is lost */
    flow__rdv_destroy(&rdv);
    if (s.zctx)
        zmq_ctx_term(s.zctx);
    rc = s.result;
    if (signo_out)
        *signo_out = s.signo;
out:
    /* Anything left in the run's process group (grandchildren) goes too:
     * the guard kills it and exits; without it (it died), the launcher. */
    end_group(guard, pgid, b.life[1]);
    /* Standard error was behind at the end: the lines left in the pipes
     * (whose writers are gone now), then all of it, before returning. */
    for (size_t k = 0; s.procs && k < s.nprocs; k++)
        flow__sup_relay_rest(&s, &s.procs[k]);
    if (err_gone) { /* a signal gave up a wait: what fits, no more */
        flow__errout_flush(&s.err, 0);
        flow__errout_fini(&s.err);
    } else {
        flow__sup_flush_stderr(&s, sfd);
    }
    if (sfd >= 0)
        close(sfd);
    for (int i = 0; i < 2; i++) {
        int *fd[5] = { &b.ready[i], &b.go[i], &b.done[i], &b.release[i],
                       &b.life[i] };
        for (int k = 0; k < 5; k++)
            if (*fd[k] >= 0)
                close(*fd[k]);
    }
    /* The directory goes first: a signal held until now must not kill the
     * launcher before. One that came after the run ended is dropped: the
     * result stands. */
    if (!dir_gone)
        flow__rundir_release(dir, &dir_lock);
    if (masked) {
        const struct timespec now = { 0, 0 };
        while (sigtimedwait(&mask, NULL, &now) > 0)
            ;
        flow__child_signal_restore(&old_chld); /* first: none is lost */
        sigaction(SIGPIPE, &old_pipe, NULL);
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
    }
    for (size_t k = 0; s.procs && k < s.nprocs; k++) {
        if (s.procs[k].err_fd >= 0)
            close(s.procs[k].err_fd);
        free(s.procs[k].errbuf);
    }
    if (s.stats)
        munmap(s.stats, s.stats_size);
    free(pfd);
    free(s.procs);
    flow__cancel_fini(&s.cancel);
    flow__progress_fini(&s.progress);
    return rc;
}

/*
 * The caller's process as it was, around the run: its standard descriptors
 * closed stay closed, but are held on /dev/null meanwhile (a node's
 * standard output landed on a descriptor of the run's: libzmq's own, which
 * asserted); the soft limit on open files that the run raises for itself
 * and its instances is put back (a select() of the caller's needs it below
 * 1024).
 */
int
flow_graph_run(flow_graph_t *graph, const flow_run_opts_t *opts, int *signo_out)
{
    flow_caller_state_t caller;
    int rc;

    flow__caller_state_hold(&caller);
    rc = run_graph(graph, opts, signo_out);
    flow__caller_state_restore(&caller);
    return rc;
}
