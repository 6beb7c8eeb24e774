/* SPDX-License-Identifier: MIT */
/*
 * graph.h: loading, validating and running a graph; the node registry.
 *
 * A registry finds node types: plugins named TYPE.so in its search path, and
 * descriptors registered directly. A graph is loaded from an INI file against
 * a registry, validated completely (every error names the file and line), and
 * then run: one forked process per node instance, wired with ZeroMQ.
 */
#ifndef FLOW_GRAPH_H
#define FLOW_GRAPH_H

#include <stdio.h>

#include "flow/error.h"
#include "flow/node.h"
#include "flow/version.h"

FLOW__BEGIN_DECLS

typedef struct flow_registry flow_registry_t;
typedef struct flow_graph flow_graph_t;

/* ---- Registry ------------------------------------------------------------ */

/* Create an empty registry. Caller owns it. */
FLOW_EXPORT flow_registry_t *flow_registry_new(void);

/*
 * Destroy `*reg_p` if not NULL and set it to NULL. Loaded plugins stay
 * mapped (node code may still run).
 */
FLOW_EXPORT void flow_registry_destroy(flow_registry_t **reg_p);

/* Append directory `dir` (copied) to the plugin search path. */
FLOW_EXPORT void flow_registry_add_path(flow_registry_t *reg, const char *dir);

/*
 * Append each directory of the colon-separated `list` (copied). NULL or ""
 * adds nothing.
 */
FLOW_EXPORT void flow_registry_add_path_list(flow_registry_t *reg,
                                             const char *list);

/*
 * Register `desc` (borrowed; must outlive the registry) as if loaded from
 * `origin`. Returns 0, FLOW_EDUP if a type of that name is known, or FLOW_EABI
 * if the descriptor is invalid; fills `diag`.
 */
FLOW_EXPORT int flow_registry_add(flow_registry_t *reg,
                                  const flow_node_desc_t *desc,
                                  const char *origin, flow_diag_t *diag);

/*
 * Find node type `name`: registered, or loaded from NAME.so in the first
 * path directory that has it. Returns a borrowed descriptor, or NULL with
 * `diag` filled (FLOW_ETYPE if not found, FLOW_EABI for a broken plugin).
 */
FLOW_EXPORT const flow_node_desc_t *
flow_registry_find(flow_registry_t *reg, const char *name, flow_diag_t *diag);

/*
 * Load every plugin in the search path, so that flow_registry_count and
 * flow_registry_at see them all: for each NAME, the NAME.so that
 * flow_registry_find would load (a broken one is an error, and one of a
 * later directory is not loaded instead). Returns 0 or the first error
 * (with `diag`), after loading what it could.
 */
FLOW_EXPORT int flow_registry_load_all(flow_registry_t *reg, flow_diag_t *diag);

/*
 * Every plugin that flow_registry_load_all could not load, not only the
 * first: their number, and error `i` (borrowed; NULL for i >= the count).
 */
FLOW_EXPORT size_t flow_registry_error_count(const flow_registry_t *reg);
FLOW_EXPORT const flow_diag_t *flow_registry_error(const flow_registry_t *reg,
                                                   size_t i);

/* Return the number of known node types. */
FLOW_EXPORT size_t flow_registry_count(const flow_registry_t *reg);

/*
 * Return type `i` (sorted by name) and store where it came from in
 * `*origin` (borrowed) if `origin` is not NULL.
 */
FLOW_EXPORT const flow_node_desc_t *
flow_registry_at(const flow_registry_t *reg, size_t i, const char **origin);

/* Print `desc` for people, gst-inspect style, to `out`. */
FLOW_EXPORT void flow_node_desc_print(const flow_node_desc_t *desc, FILE *out);

/* ---- Graph --------------------------------------------------------------- */

/*
 * Load and validate the graph in INI file `path`, applying the overrides
 * `sets[0..nsets)`, each "param=value" for a graph parameter or
 * "node.key=value" for a node's. Node types are looked up in `reg`
 * (borrowed; must outlive the graph). Returns a graph the caller owns and
 * must flow_graph_destroy, or NULL with `diag` filled: the first error, with
 * file and line.
 */
FLOW_EXPORT flow_graph_t *flow_graph_load(const char *path,
                                          flow_registry_t *reg,
                                          const char *const *sets, size_t nsets,
                                          flow_diag_t *diag);

/*
 * As flow_graph_load, from the `len` bytes at `text` (borrowed); `name`
 * stands for the file name in diagnostics.
 */
FLOW_EXPORT flow_graph_t *
flow_graph_load_string(const char *text, size_t len, const char *name,
                       flow_registry_t *reg, const char *const *sets,
                       size_t nsets, flow_diag_t *diag);

/* Destroy `*graph_p` if not NULL and set it to NULL. */
FLOW_EXPORT void flow_graph_destroy(flow_graph_t **graph_p);

/* Return the graph's name (borrowed). */
FLOW_EXPORT const char *flow_graph_name(const flow_graph_t *graph);

/* Return the total number of processes the graph runs. */
FLOW_EXPORT unsigned flow_graph_process_count(const flow_graph_t *graph);

/*
 * The warnings of a loaded graph: things valid but probably not meant, such
 * as a graph parameter no node refers to (a misspelt name?). Each is one
 * line "FILE:LINE: message" without a newline, owned by the graph;
 * flow_graph_warning returns NULL for i >= flow_graph_warning_count.
 */
FLOW_EXPORT size_t flow_graph_warning_count(const flow_graph_t *graph);
FLOW_EXPORT const char *flow_graph_warning(const flow_graph_t *graph, size_t i);

/*
 * Claim `path` as a file the caller writes during the run of `graph`
 * (flowrun's --stats-json), as nodes claim theirs (flow_check_output_file).
 * `what` names it in the refusal ("--stats-json"). Returns 0, or FLOW_EUSAGE
 * with `diag` filled (no file, no line) when the graph file or an earlier
 * claim names the same file.
 */
FLOW_EXPORT int flow_graph_claim_file(flow_graph_t *graph, const char *what,
                                      const char *path, flow_diag_t *diag);

/*
 * Write `graph` to `out` as a Graphviz DOT digraph: one box per node
 * (name, type, instance count), one edge per link labelled with its kind
 * and ports, its batch where not the default, its hwm where the graph
 * gives one and balance=demand where it deals by demand; pair links are
 * two-headed. Both arguments are borrowed. Returns 0,
 * or -errno if writing to `out` failed (what was written may be partial).
 */
FLOW_EXPORT int flow_graph_write_dot(const flow_graph_t *graph, FILE *out);

/* Options for flow_graph_run. Zero them, then set what you need. */
/*
 * Secured TCP runs. With FLOW_KEY in its environment, every process of a
 * TCP run (flow_graph_run with `tcp`, flow_graph_run_instance,
 * flow_graph_serve, flow_graph_run_slurm and the instances they start)
 * encrypts and authenticates each of its TCP connections with CurveZMQ,
 * the key being the run's shared secret: a process without it cannot
 * connect to any of the run's ports, nor read what they carry (its
 * connections still take descriptors until refused: a flood of them is a
 * firewall's to stop). An empty FLOW_KEY is none. Every
 * process of the run needs the same FLOW_KEY (instances forked by a local
 * run and srun's tasks inherit it). A FLOW_KEY that is not a key is a
 * usage error (FLOW_EUSAGE, or exit 2 for an instance), said before
 * anything binds. Runs over ipc ignore it. Since flow 0.10.
 */

/* The size of a key's text: 40 Z85 characters and a NUL. */
#define FLOW_KEY_SIZE 41

/*
 * Write a fresh random key (a CURVE secret key in Z85, what FLOW_KEY
 * holds) into `key`. Returns 0, or FLOW_EUSAGE when this libzmq has no
 * CURVE security (built without libsodium). Since flow 0.10.
 */
FLOW_EXPORT int flow_key_new(char key[FLOW_KEY_SIZE]);

typedef struct flow_run_opts {
    double timeout_s;       /* whole run; 0: none */
    double grace_s;         /* after a failure, SIGTERM -> SIGKILL; 0: 0.5 */
    int quiet;              /* no progress or summary lines on stderr */
    const char *run_dir;    /* parent of the private run directory; NULL: env */
    int progress;           /* 1: live progress line on stderr */
    int stats;              /* 1: per-instance table on stderr at exit */
    const char *stats_json; /* write the stats as JSON to this file */
    const char *dot_stats;  /* write DOT annotated with link counts here */
    int log_level;          /* flow_log_level_t + 1; 0: FLOW_LOG_INFO */
    int tcp;                /* 1: links over TCP instead of ipc */
    const char *bind;       /* TCP: address, interface or host name to
                               bind; NULL: 127.0.0.1 */
    double liveness_s;      /* flow_graph_serve, flow_graph_run_slurm: an
                               instance or rendezvous silent this long is
                               taken for lost; 0: 10 s; < 0: never */
} flow_run_opts_t;

/*
 * Run `graph`: fork one process per node instance, wire them, start them
 * together, supervise them until every one exits. On a failure the other
 * instances are stopped. The private run directory is removed whatever the
 * outcome. Returns 0 when every instance exited 0; FLOW_ENODE when one
 * failed (reported on stderr with node, instance, pid, status) or the run
 * could not start for a reason said on stderr (an instance that could not
 * be forked), or when the `stats_json` or `dot_stats` file of a run that
 * went well could not be written (said on stderr); FLOW_EUSAGE, said on
 * stderr, when TCP links cannot bind on `bind`, the limit on open files is
 * too low or the run directory cannot be made (checked before any fork);
 * FLOW_ETIMEDOUT; FLOW_EINTR when stopped by a stop signal: SIGINT,
 * SIGTERM, SIGHUP, SIGALRM, SIGUSR2, SIGVTALRM, SIGPROF, SIGPWR, SIGIO,
 * SIGSTKFLT or a real-time signal, or SIGQUIT, which every instance gets
 * at once, without a drain, and takes by its default action, a core dump,
 * whatever the caller's handler or mask (`*signo_out` gets the signal if
 * not NULL); or
 * -errno if the run could not start. While it runs, those signals,
 * SIGCHLD, SIGTSTP, SIGTTOU and SIGUSR1 are blocked and read by the call (a
 * stop signal, SIGQUIT or SIGTSTP the caller ignores stays ignored), SIGPIPE
 * is ignored (a closed stderr loses the logs, not the run), and SIGCHLD has
 * its default action; the caller's SIGCHLD and SIGPIPE actions and mask are
 * restored, and a child of the caller's that ended meanwhile is then told
 * as its SIGCHLD action says (a handler gets its SIGCHLD; ignored, it is
 * reaped). Blocked in the calling thread only: in a program with other
 * threads, block these signals in every thread (pthread_sigmask before
 * starting them), or a stop signal sent to the process may take its
 * default action in another thread; an instance's SIGCHLD taken there is
 * made up for by a look for ended instances every 20 ms. One run at a
 * time in a process: the call takes the signals and the ended children of
 * the whole process (two threads running graphs at once would take each
 * other's), and the key of a secured run (FLOW_KEY) is the process's.
 * Standard descriptors the caller closed are held on /dev/null during the
 * run (a node's use of them fails with EBADF) and closed again; the soft
 * limit on open files, which the run may raise, is put back. On
 * SIGTSTP (Ctrl-Z) the call stops the instances and then the calling process,
 * as SIGTSTP's action does (a handler of the caller's runs instead), and
 * continues the instances when the process is continued.
 */
FLOW_EXPORT int flow_graph_run(flow_graph_t *graph, const flow_run_opts_t *opts,
                               int *signo_out);

/*
 * Run only instance `inst` of node `node` in this process, with TCP links,
 * registering with the rendezvous at `rendezvous` ("tcp://HOST:PORT") and
 * binding on `bind` (NULL or "*": this host's address). For placement
 * engines (Slurm, Kubernetes) that start every instance themselves; the
 * graph and its overrides must be the same as the rendezvous's. Returns the
 * process exit status: 0, 1 if the node failed (reported on stderr and to
 * the rendezvous), 2 for a bad node or instance (with `diag`) or when the
 * rendezvous refused the instance (another process has it, or the graphs
 * differ, or its FLOW_KEY: see "Secured TCP runs"; said on stderr, `diag`
 * left empty), 128+N when stopped by signal
 * N or told to stop. While it runs, the stop signals of flow_graph_run
 * that the caller does not ignore are unblocked and passed on to the
 * node's process (a second one kills it), which takes them by their
 * default action, and SIGCHLD has its default action; the caller's
 * actions and mask are restored, and a child of the caller's that ended
 * meanwhile is then told as its SIGCHLD action says. Standard descriptors
 * the caller closed are held on /dev/null during the call and closed again.
 */
FLOW_EXPORT int flow_graph_run_instance(flow_graph_t *graph, const char *node,
                                        unsigned inst, const char *rendezvous,
                                        const char *bind, flow_diag_t *diag);

/*
 * flow_graph_run_instance with options: `opts` (borrowed, NULL: all zero)
 * gives `bind` and `log_level`, the level of the node's log lines (0:
 * FLOW_LOG_INFO; a node's log_level key overrides it, as in
 * flow_graph_run). The other fields are the rendezvous's or the local
 * launcher's, and are not looked at. Returns as flow_graph_run_instance.
 */
FLOW_EXPORT int flow_graph_run_instance_opts(flow_graph_t *graph,
                                             const char *node, unsigned inst,
                                             const char *rendezvous,
                                             const flow_run_opts_t *opts,
                                             flow_diag_t *diag);

/*
 * Tell the rendezvous at `rendezvous` ("tcp://HOST:PORT") that the process
 * started for instance `instance` ("NODE:I") could not load its graph
 * (`reason`: its file or a plugin missing on this host, a --set that does
 * not apply): it never registers, and without a word the rendezvous would
 * wait for it until its --timeout, or for ever. The rendezvous names it and
 * fails the run, unless another process has registered that instance.
 * Waits at most 2 s for the line to go; says nothing if it cannot.
 */
FLOW_EXPORT void flow_rendezvous_tell_unloaded(const char *rendezvous,
                                               const char *instance,
                                               const char *reason);

/*
 * Run the rendezvous of `graph` alone: bind on `bind` ("ADDR", TCP port of
 * the kernel's choice), print its address "tcp://ADDR:PORT" and a newline
 * to `announce`, then serve the instances started elsewhere until every one
 * has finished. `opts` gives timeout_s (0: none). Returns 0, FLOW_ENODE
 * when an instance reported a failure, FLOW_ETIMEDOUT (naming the
 * instances not finished on stderr), FLOW_EINTR on a stop signal, the
 * same ones as flow_graph_run's (its number in `*signo_out` if not NULL),
 * FLOW_EUSAGE when it cannot bind on `bind` (said on stderr), or -errno.
 * While it runs, those stop signals (those the caller does not ignore) and
 * SIGUSR1 are blocked and read by the call; the caller's mask is restored.
 * SIGCHLD is left to the caller. The soft limit on open files, which the
 * call may raise, is put back, and standard descriptors the caller closed
 * are held on /dev/null during the call and closed again.
 */
FLOW_EXPORT int flow_graph_serve(flow_graph_t *graph, const char *bind,
                                 FILE *announce, const flow_run_opts_t *opts,
                                 int *signo_out);

/*
 * Run `graph` as one Slurm job step: serve the rendezvous on `opts->bind`
 * (NULL: this host's address) and start every instance with srun, each as
 * the command `argv_prefix` (NULL-terminated: flowrun, the graph file and
 * its --set options; borrowed) followed by the options that pick its
 * instance and "--rendezvous ADDR": "--slurm-task", by which task k runs
 * instance k (see flow_graph_slurm_task). Without placement hints that is
 * one `srun --kill-on-bad-exit=1` step of every task. When nodes have the
 * hints `cpus` or `slurm_constraint`, it is one heterogeneous step, one
 * component per distinct set of hints (--cpus-per-task, --constraint). The
 * command goes to srun as its arguments, never through a file srun parses.
 * Extra srun options (for every component) come from the environment
 * variable FLOW_SRUN_ARGS. When a node has `instances = auto`, every task's
 * command starts with "/usr/bin/env FLOW_AUTO_INSTANCES=N", N the count
 * auto stood for here, so that every task loads the same graph. Returns as
 * flow_graph_run (the stop signal's number in `*signo_out` if not NULL).
 * The caller's signals, limit on open files and standard descriptors as
 * flow_graph_serve leaves them, but for SIGCHLD, which has its default
 * action while srun runs, as in flow_graph_run: the caller's is restored,
 * and a child of the caller's that ended meanwhile is then told as it says.
 */
FLOW_EXPORT int flow_graph_run_slurm(flow_graph_t *graph,
                                     const flow_run_opts_t *opts,
                                     const char *const *argv_prefix,
                                     int *signo_out);

/*
 * The instance that task `task` (its SLURM_PROCID) of the step
 * flow_graph_run_slurm starts runs: stores the node's name (borrowed from
 * `graph`) in `*node` and the instance in `*inst`. Tasks go component by
 * component (the components with a slurm_constraint first, then the
 * others, each in the order of its first node in the file), and within a
 * component node by node in file order, instance by instance. Without
 * hints that is graph order. Returns 0, or FLOW_ENOENT when `task` is not
 * below flow_graph_process_count.
 */
FLOW_EXPORT int flow_graph_slurm_task(const flow_graph_t *graph, unsigned task,
                                      const char **node, unsigned *inst);

FLOW__END_DECLS

#endif
