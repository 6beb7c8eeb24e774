/* SPDX-License-Identifier: MIT */
/*
 * slurm.c: the Slurm launcher (`--launcher slurm`). The rendezvous runs in
 * this process; srun starts every instance as one task of one job step:
 *
 *   - without placement hints, one step of N tasks, all running the same
 *     command;
 *   - when nodes have the hints `cpus` or `slurm_constraint`, which a step
 *     gives every task alike, one heterogeneous step (srun OPTIONS :
 *     OPTIONS ...) with one component per distinct set of hints.
 *
 * Each task finds its instance from its rank (`--slurm-task`,
 * flow_graph_slurm_task): task k runs instance k in graph order, component
 * by component. The command goes to srun as its own arguments, never
 * through a file srun parses (a --multi-prog file: its quoting rules, its
 * substitution of %t and %o, its limits on a line and on arguments).
 *
 * Either way srun is one child: --kill-on-bad-exit ends every component
 * when one task fails, and the rendezvous names the instance.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "internal.h"
#include "rendezvous.h"

static bool
same_hints(const flow_gnode_t *a, const flow_gnode_t *b)
{
    if (a->cpus != b->cpus)
        return false;
    if (!a->slurm_constraint || !b->slurm_constraint)
        return a->slurm_constraint == b->slurm_constraint;
    return !strcmp(a->slurm_constraint, b->slurm_constraint);
}

static bool
has_hints(const flow_graph_t *g)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].cpus || g->nodes[i].slurm_constraint)
            return true;
    return false;
}

/*
 * The components of the step: one per distinct set of hints, each named by
 * its first node in `lead` (of g->nnodes entries). Constrained components
 * come first: inside an allocation srun gives every component nodes of its
 * own, in order, and the unconstrained ones can use whatever is left.
 * Returns the number of components.
 */
static size_t
components(const flow_graph_t *g, size_t *lead)
{
    size_t k = 0;

    for (int constrained = 1; constrained >= 0; constrained--)
        for (size_t i = 0; i < g->nnodes; i++) {
            bool first = (g->nodes[i].slurm_constraint != NULL) == constrained;
            for (size_t j = 0; first && j < i; j++)
                if (same_hints(&g->nodes[i], &g->nodes[j]))
                    first = false;
            if (first)
                lead[k++] = i;
        }
    return k;
}

/* The number of tasks of the component led by node `lead`. */
static unsigned
component_tasks(const flow_graph_t *g, size_t lead)
{
    unsigned n = 0;

    for (size_t i = 0; i < g->nnodes; i++)
        if (same_hints(&g->nodes[i], &g->nodes[lead]))
            n += g->nodes[i].instances;
    return n;
}

int
flow_graph_slurm_task(const flow_graph_t *graph, unsigned task,
                      const char **node, unsigned *inst)
{
    size_t *lead = flow__xmalloc(sizeof(*lead) * graph->nnodes);
    size_t nc = components(graph, lead);
    unsigned k = 0;

    for (size_t c = 0; c < nc; c++)
        for (size_t i = 0; i < graph->nnodes; i++) {
            const flow_gnode_t *n = &graph->nodes[i];
            if (!same_hints(n, &graph->nodes[lead[c]]))
                continue;
            if (task < k + n->instances) {
                *node = n->name;
                *inst = task - k;
                free(lead);
                return 0;
            }
            k += n->instances;
        }
    free(lead);
    return FLOW_ENOENT;
}

/* A growing argument vector; `owned` keeps the strings made for it. */
typedef struct args {
    const char **v;
    size_t n, cap;
    char **owned;
    size_t nowned, ocap;
} args_t;

static void
args_add(args_t *a, const char *s)
{
    flow__xgrow((void **)&a->v, &a->cap, a->n + 2, sizeof(*a->v));
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

/* Keep `s` (malloc'ed) until args_release. */
static char *
args_own(args_t *a, char *s)
{
    flow__xgrow((void **)&a->owned, &a->ocap, a->nowned + 1, sizeof(*a->owned));
    a->owned[a->nowned++] = s;
    return s;
}

/* Add "OPTION=VALUE". */
static void
args_opt(args_t *a, const char *option, const char *value)
{
    size_t len = strlen(option) + strlen(value) + 2;
    char *buf = args_own(a, flow__xmalloc(len));

    snprintf(buf, len, "%s=%s", option, value);
    args_add(a, buf);
}

static void
args_opt_u(args_t *a, const char *option, unsigned value)
{
    char num[16];

    snprintf(num, sizeof(num), "%u", value);
    args_opt(a, option, num);
}

static void
args_release(args_t *a)
{
    for (size_t i = 0; i < a->nowned; i++)
        free(a->owned[i]);
    free(a->owned);
    free(a->v);
}

/* FLOW_SRUN_ARGS, split on spaces, into `a` (tokens point into `extra`). */
static void
add_extra(args_t *a, char *extra)
{
    char *save = NULL;

    for (char *t = extra ? strtok_r(extra, " ", &save) : NULL; t;
         t = strtok_r(NULL, " ", &save))
        args_add(a, t);
}

/* The command of every task: `prefix`, then the options by which it finds
 * its instance (--slurm-task) and the rendezvous at `addr`. */
static void
task_command(args_t *a, const char *const *prefix, const char *addr)
{
    for (const char *const *p = prefix; *p; p++)
        args_add(a, *p);
    args_add(a, "--slurm-task");
    args_add(a, "--rendezvous");
    args_add(a, addr);
}

/*
 * The heterogeneous step: per component, its task count, FLOW_SRUN_ARGS
 * (`extra`), its hints and the command; components separated by ":".
 */
static void
het_step_args(const flow_graph_t *g, args_t *a, const char *extra,
              const char *const *prefix, const char *addr)
{
    size_t *lead = flow__xmalloc(sizeof(*lead) * g->nnodes);
    size_t nc = components(g, lead);

    for (size_t c = 0; c < nc; c++) {
        const flow_gnode_t *n = &g->nodes[lead[c]];

        if (c > 0)
            args_add(a, ":");
        args_add(a, "--kill-on-bad-exit=1");
        args_opt_u(a, "--ntasks", component_tasks(g, lead[c]));
        /* strtok_r cuts its string: a copy per component. */
        if (extra)
            add_extra(a, args_own(a, flow__xstrdup(extra)));
        if (n->cpus)
            args_opt_u(a, "--cpus-per-task", n->cpus);
        if (n->slurm_constraint)
            args_opt(a, "--constraint", n->slurm_constraint);
        task_command(a, prefix, addr);
    }
    free(lead);
}

int
flow_graph_run_slurm(flow_graph_t *graph, const flow_run_opts_t *opts,
                     const char *const *argv_prefix, int *signo_out)
{
    flow_rdv_t *rdv = NULL;
    char addr[256];
    const char *extra = getenv("FLOW_SRUN_ARGS");
    bool het = has_hints(graph);
    args_t a = { 0 };
    const char **prefix = NULL; /* argv_prefix after "env VAR=N", or NULL */
    struct sigaction old_chld;
    flow_caller_state_t caller;
    int rc, status = 0;
    pid_t pid;
    void *ctx;

    if (extra && !*extra)
        extra = NULL;
    /* Put back on return, as by flow_graph_run: the soft limit on open
     * files the rendezvous raises (srun gets it raised), standard
     * descriptors closed. */
    flow__caller_state_hold(&caller);
    ctx = flow__rdv_start(graph, opts ? opts->bind : NULL, opts, &rdv, addr,
                          sizeof(addr));
    if (!ctx) {
        flow__caller_state_restore(&caller);
        return FLOW_EUSAGE; /* said: an address --bind cannot use */
    }
    if (flow__graph_has_auto(graph)) {
        /* The tasks count `instances = auto` as this process did, not by
         * the CPUs of their nodes: the same graph everywhere. On their
         * command line, which srun's --export cannot drop. */
        char num[48];
        size_t n = 0;
        while (argv_prefix[n])
            n++;
        snprintf(num, sizeof(num), "FLOW_AUTO_INSTANCES=%u",
                 flow__auto_instances());
        prefix = flow__xmalloc((n + 3) * sizeof(*prefix));
        prefix[0] = "/usr/bin/env";
        prefix[1] = args_own(&a, flow__xstrdup(num));
        memcpy(prefix + 2, argv_prefix, (n + 1) * sizeof(*prefix));
    }
    args_add(&a, "srun");
    if (het) {
        args_add(&a, "--wait=10");
        het_step_args(graph, &a, extra, prefix ? prefix : argv_prefix, addr);
    } else {
        args_add(&a, "--kill-on-bad-exit=1");
        args_add(&a, "--wait=10");
        args_opt_u(&a, "--ntasks", flow_graph_process_count(graph));
        if (extra)
            add_extra(&a, args_own(&a, flow__xstrdup(extra)));
        task_command(&a, prefix ? prefix : argv_prefix, addr);
    }
    fflush(NULL);
    flow__child_signal_default(&old_chld); /* to wait for srun */
    pid = fork();
    if (pid == 0) {
        /* Not the stop signals flowrun holds blocked: a mask survives
         * exec, and a wrapper in srun's place (and what it starts) would
         * have them blocked for good. srun itself takes them with sigwait
         * either way. */
        sigset_t stops;
        sigemptyset(&stops);
        flow__launcher_stop_signals_add(&stops);
        sigprocmask(SIG_UNBLOCK, &stops, NULL);
        sigaction(SIGCHLD, &old_chld, NULL);
        execvp("srun", (char *const *)a.v);
        fprintf(stderr, "flowrun: error: cannot run srun: %s\n",
                strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        rc = -errno;
        flow__child_signal_restore(&old_chld);
        goto out;
    }
    rc = flow__rdv_serve(graph, rdv, opts, pid, &status, signo_out);
    if (rc) {
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
    } else if (status != 0 || !flow__rdv_finished(rdv)) {
        char how[128], pending[512];
        flow__status_describe(status, how, sizeof(how));
        flow__rdv_pending(rdv, pending, sizeof(pending));
        fprintf(stderr, "flowrun: error: the Slurm step %s; not finished: %s\n",
                how, pending[0] ? pending : "none");
        rc = FLOW_ENODE;
    }
    /* srun reaped: a child of the caller's that ended meanwhile is told as
     * its SIGCHLD action says (its SIGCHLD was read or dropped here). */
    flow__child_signal_restore(&old_chld);
out:
    flow__rdv_destroy(&rdv);
    zmq_ctx_term(ctx);
    args_release(&a);
    free(prefix);
    flow__caller_state_restore(&caller);
    return rc;
}
