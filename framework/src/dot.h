/* SPDX-License-Identifier: MIT */
/*
 * dot.h: Graphviz DOT output annotated with a run's counters (--dot-stats).
 * The plain graph is flow_graph_write_dot in flow/graph.h.
 */
#ifndef FLOW_DOT_H
#define FLOW_DOT_H

#include <stdio.h>

#include "stats.h"

/*
 * Write the DOT of `rs->graph` (borrowed) to `out`, each link's edge
 * annotated with the messages, items and bytes that crossed it: the out_*
 * counters of the link's first port, summed over that node's instances
 * (for a pair link, each direction from its sending side). Returns 0 or
 * -errno if writing failed; prints nothing else.
 */
int flow__dot_write_stats(const flow_run_stats_t *rs, FILE *out);

#endif
