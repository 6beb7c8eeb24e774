/* SPDX-License-Identifier: MIT */
/*
 * stats.h: per-instance run-time counters, kept in a shared anonymous
 * mapping that the launcher creates before fork. Each instance writes only
 * its own block (relaxed stores); the launcher reads every block for the
 * live progress line and, after every instance exited, for --stats.
 */
#ifndef FLOW_STATS_H
#define FLOW_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "internal.h"

typedef struct flow_port_stats {
    uint64_t in_msgs, in_items, in_bytes;    /* received (input, pair) */
    uint64_t out_msgs, out_items, out_bytes; /* sent (output, pair) */
    uint64_t credit_window; /* demand input: the widest credit window it
                               gave a producer (credit.h); 0 otherwise */
} flow_port_stats_t;

/* The counters of different processes lie this many bytes apart at least
 * (two cache lines: CPUs fetch lines in pairs): a sender's and its
 * receiver's, written on every message, shared a line, which then went
 * from CPU to CPU on every message (pinned 32-byte messages: 0.70x of raw
 * libzmq, 1.0x apart). */
#define FLOW__STATS_ALIGN 128

typedef struct flow_inst_stats {
    _Alignas(FLOW__STATS_ALIGN) int32_t pid;
    uint32_t state; /* FLOW_INST_* */
    uint32_t doing; /* while running: FLOW_DOING_* */
    uint32_t pad;
    uint64_t start_ns;        /* CLOCK_MONOTONIC when the node started */
    uint64_t busy_ns;         /* in node code (run/process), minus waits */
    uint64_t send_block_ns;   /* in flow_node_send*: backpressure */
    uint64_t recv_wait_ns;    /* waiting for input */
    uint64_t wall_ns;         /* start to end of the node's work */
    uint64_t cpu_ns;          /* user + system CPU of the process */
    uint64_t max_rss_kb;      /* peak resident set size */
    flow_port_stats_t *ports; /* one per port of its node, in the same
                                 shared mapping (set before the fork), on
                                 lines of their own (FLOW__STATS_ALIGN) */
} flow_inst_stats_t;

enum {
    FLOW_INST_STARTING = 0,
    FLOW_INST_RUNNING = 1,
    FLOW_INST_DONE = 2 /* the node's work is over: counters are final */
};

/* What a running instance is doing, for the launcher to say which of the
 * instances still running at a timeout or a stop holds the graph: its own
 * code (run, process, finish), or a framework call that waits for input
 * (or for a pair peer) or for room to send. Kept whatever the options: a
 * store when a node's callback starts or ends and around each wait. */
enum { FLOW_DOING_WORK = 0, FLOW_DOING_RECV = 1, FLOW_DOING_SEND = 2 };

/* `doing` is a FLOW_DOING_* in its low 8 bits and, above them, the index
 * + 1 of the port the wait is on (0: no one port, or several), so that a
 * timeout names it ("waiting to send on port 'out'"). */
#define FLOW__DOING_ON(kind, port) \
    ((uint32_t)(kind) | ((uint32_t)(port) + 1u) << 8)
#define FLOW__DOING_KIND(d) ((d)&0xffu)
#define FLOW__DOING_PORT(d) ((long)((d) >> 8) - 1) /* -1: none */

/*
 * Map the counters of a run of `g`, one block per process in the order of
 * flow_graph_run's process list (flow__proc_index), each with its ports'
 * counters: shared (MAP_SHARED, anonymous), so that the children made by
 * fork write them and the launcher reads them, zeroed, and no two
 * processes' counters within FLOW__STATS_ALIGN bytes of each other.
 * Returns the blocks and their mapping's size in `*size` (the caller
 * munmaps them), or NULL with errno set.
 */
flow_inst_stats_t *flow__stats_map(const flow_graph_t *g, size_t *size);

/*
 * The counters of a whole run: `blocks[k]` belongs to process k, in the
 * order of flow_graph_run's process list (flow__proc_index). Borrowed by the
 * functions below.
 */
typedef struct flow_run_stats {
    const flow_graph_t *graph;
    const flow_inst_stats_t *blocks;
    size_t nblocks;
    double elapsed_s; /* wall time of the run so far */
} flow_run_stats_t;


struct rusage;

/*
 * Make the end-of-work counters of `st` final: wall time from its start to
 * `now_ns` (CLOCK_MONOTONIC), busy time (wall minus waits), CPU time and
 * peak memory from `ru` (the instance's own getrusage, or the launcher's
 * wait4 for one that died before it could).
 */
void flow__stats_finish(flow_inst_stats_t *st, uint64_t now_ns,
                        const struct rusage *ru);

/* Print the --stats table (one row per node instance and port) to `out`.
 * Returns 0, or -EIO when `out` did not take all of it. */
int flow__stats_print(const flow_run_stats_t *rs, FILE *out);

/* Write the --stats-json document to `out`; returns 0 or -errno. */
int flow__stats_write_json(const flow_run_stats_t *rs, FILE *out);

/* What the last progress line saw, for the next one's intervals; zeroed
 * before the first. */
typedef struct flow_progress {
    uint64_t items;    /* sink items */
    double s;          /* elapsed time */
    uint64_t *wait_ns; /* per process (rs->nblocks entries, owned; NULL
                        * until the first line): its waits so far */
} flow_progress_t;

/*
 * Format the live progress line (no newline) into `buf`: elapsed time,
 * the items at the sinks and their rate since the last line, the busiest
 * stage over that interval (whose running instances waited least for input
 * or output since then: the bottleneck now, not on average since the
 * start). Updates `*prev` to this line; flow__progress_fini releases
 * what it holds.
 */
void flow__progress_format(const flow_run_stats_t *rs, flow_progress_t *prev,
                           char *buf, size_t size);

void flow__progress_fini(flow_progress_t *prev);

#endif
