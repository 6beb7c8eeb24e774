/* SPDX-License-Identifier: MIT */
/*
 * run_priv.h: the launcher's supervision state (sup_t), shared by the
 * files of a local run: run.c (the run directory, the forks, the barriers,
 * supervision), run_stderr.c (what goes to standard error) and
 * run_report.c (the reports at and after the end).
 */
#ifndef FLOW_RUN_PRIV_H
#define FLOW_RUN_PRIV_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "errout.h"
#include "internal.h"
#include "stats.h"

/* How long, once a stop signal has ended the run, the launcher waits for
 * a standard output or error that takes nothing more (a reader that
 * stopped reading) before it gives up what is left: the signal asked it
 * to end. */
#define STOP_WRITE_S 1.0

typedef struct sup {
    const flow_graph_t *g;
    flow_proc_t *procs;
    size_t nprocs;
    size_t alive;
    bool stopping;      /* hard stop: SIGTERM sent, SIGKILL at kill_at */
    bool draining;      /* graceful stop: SIGUSR1 sent */
    double drain_until; /* then a hard stop, if the graph still runs */
    double kill_at;     /* when to SIGKILL what is left; 0: not armed */
    bool killed;
    bool quitting;   /* SIGQUIT passed on to the instances */
    bool tell_cores; /* and the core dumps are to be said */
    bool released;   /* a rendezvous released every instance */
    int result;
    int signo;
    flow_inst_stats_t *stats; /* shared with the children, their ports'
                               * counters after them (stats_size bytes) */
    size_t stats_size;
    bool progress_shown;
    pid_t guard;      /* the guard of the run's process group */
    bool guard_ended; /* it died before the end: said once, not reaped */
    flow_progress_t progress; /* what the last progress line saw */
    flow_cancel_t cancel;     /* inputs given up; cancel.g NULL until one is */
    flow_errout_t err;       /* what goes to stderr, written when it has room */
    const sigset_t *sigmask; /* the signals the run reads (its signalfd's) */
    bool term_unjudged;      /* an instance ended on another's SIGTERM just
                              * before a stop signal came: the stop's, once read */
    void *zctx; /* the launcher's ZeroMQ context (see its making); here, not
                 * in a local, the children it was made before find it still
                 * referenced (valgrind: not lost) */
    double write_until; /* after a stop signal: the end's writes give up
                         * then (flow__sup_flush_queue); 0: they wait */
} sup_t;

/* ---- run_stderr.c ---- */

/* Queue `len` bytes of `buf` for stderr (copied), erasing a progress line
 * first; written as stderr has room (errout.h). */
void flow__sup_err_queue(sup_t *s, const char *buf, size_t len);

/* flow__sup_err_queue, then write what stderr takes now. */
void flow__sup_err_write(sup_t *s, const char *buf, size_t len);

/* Read and pass on what child `p` wrote to stderr, a bounded amount, none
 * while the launcher's stderr is far behind. Returns false once its pipe
 * is at its end (then closed: p->err_fd is -1). */
bool flow__sup_relay_stderr(sup_t *s, flow_proc_t *p);

/* After the run, the writers gone: pass on what is left in child `p`'s
 * pipe, and close it. */
void flow__sup_relay_rest(sup_t *s, flow_proc_t *p);

/* After the supervision loop, every instance ended: pass on what their
 * pipes still hold, waiting a second in all for a grandchild that holds
 * one (then its unended line as it is). */
void flow__sup_relay_end(sup_t *s);

/* Read the signals that signalfd `sfd` holds: whether one asks to end a
 * wait (any but SIGCHLD and SIGTSTP). */
bool flow__sup_stop_read(int sfd);

/* Write what queue `q` holds, waiting as a blocking write would, giving up
 * at a stop signal read from `sfd` (>= 0) or at the time `until` (> 0).
 * Empties `q`. Returns 0 when all was written, the errno of a write error
 * that dropped some, -1 when a signal or the time gave the rest up. */
int flow__sup_flush_queue(flow_errout_t *q, int sfd, double until);

/* flow__sup_flush_queue of standard error's queue, until write_until. */
int flow__sup_flush_stderr(sup_t *s, int sfd);

/* Draw the progress line (`elapsed` seconds into the run) on a terminal
 * this run has in the foreground. */
void flow__sup_show_progress(sup_t *s, double elapsed);

/* ---- run_report.c ---- */

/* Print --stats and write --stats-json and --dot-stats after the run
 * (`elapsed` seconds), giving up waits at a stop signal read from `sfd`
 * (then `*err_gone` is true). Returns 0, or -1 if the table or a file
 * could not be written (said on stderr where it can be). */
int flow__sup_report_stats(sup_t *s, const flow_run_opts_t *opts,
                           double elapsed, int sfd, bool *err_gone);

/* After a stop signal once the instances ran: say what the output holds. */
void flow__sup_report_stop(sup_t *s);

/* Into `buf` (`size` bytes, always terminated), the instances that still
 * run, each with what it is doing, those waiting for input last. */
void flow__sup_list_running(const sup_t *s, char *buf, size_t size);

/* Say that process `k` (or the graph, k < 0) timed out after `limit`
 * seconds, naming what still runs. */
void flow__sup_report_timeout(const sup_t *s, long k, double limit);

#endif
