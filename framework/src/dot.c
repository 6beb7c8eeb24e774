/* SPDX-License-Identifier: MIT */
/*
 * dot.c: a graph as Graphviz DOT. Nodes are boxes (name, type, instances);
 * links are edges labelled with their kind and ports, their batch where not
 * the default, their hwm where the graph gives one and balance=demand where
 * they deal by demand. With a run's counters,
 * edges also carry the messages and items that crossed them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "dot.h"
#include "internal.h"

/* The link defaults set by the INI loader (graph_ini.c). */
#define DOT_DEFAULT_BATCH 1024

/* Totals of one direction of a link. */
typedef struct dir_count {
    uint64_t msgs, items, bytes;
} dir_count_t;

/* Write `s` as the body of a DOT double-quoted string. */
static void
put_escaped(const char *s, FILE *out)
{
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if (*s == '\n')
            fputs("\\n", out);
        else if (*s != '\r')
            fputc(*s, out);
    }
}

/* Sum the out_* counters of port `port` of node `node` over its
 * instances. */
static dir_count_t
sum_out(const flow_run_stats_t *rs, size_t node, size_t port)
{
    const flow_gnode_t *n = &rs->graph->nodes[node];
    dir_count_t c = { 0, 0, 0 };

    for (unsigned i = 0; i < n->instances; i++) {
        size_t k = flow__proc_index(rs->graph, node, i);
        const flow_port_stats_t *p;

        if (k >= rs->nblocks)
            continue;
        p = &rs->blocks[k].ports[port];
        c.msgs += p->out_msgs;
        c.items += p->out_items;
        c.bytes += p->out_bytes;
    }
    return c;
}

/* Write " N items in M msgs" for one direction. */
static void
put_count(const dir_count_t *c, FILE *out)
{
    fprintf(out, "%" PRIu64 " item%s in %" PRIu64 " msg%s", c->items,
            c->items == 1 ? "" : "s", c->msgs, c->msgs == 1 ? "" : "s");
}

static void
put_node(const flow_gnode_t *n, FILE *out)
{
    fputs("    \"", out);
    put_escaped(n->name, out);
    fputs("\" [label=\"", out);
    put_escaped(n->name, out);
    fputs("\\n", out);
    put_escaped(n->type, out);
    fprintf(out, "\\n%u instance%s\", flow_type=\"", n->instances,
            n->instances == 1 ? "" : "s");
    put_escaped(n->type, out);
    fprintf(out, "\", flow_instances=%u];\n", n->instances);
}

static void
put_link(const flow_graph_t *g, const flow_glink_t *l,
         const flow_run_stats_t *rs, FILE *out)
{
    const flow_gnode_t *a = &g->nodes[l->node[0]], *b = &g->nodes[l->node[1]];
    int pair = l->kind == FLOW_LINK_PAIR;

    fputs("    \"", out);
    put_escaped(a->name, out);
    fputs("\" -> \"", out);
    put_escaped(b->name, out);
    fprintf(out, "\" [label=\"%s\\n", pair ? "pair" : "push");
    put_escaped(l->port_name[0], out);
    fputs(pair ? " <-> " : " -> ", out);
    put_escaped(l->port_name[1], out);
    if (l->batch != DOT_DEFAULT_BATCH)
        fprintf(out, "\\nbatch=%zu", l->batch);
    if (l->hwm_set)
        fprintf(out, "\\nhwm=%d", l->hwm);
    if (l->demand)
        fputs("\\nbalance=demand", out);
    if (rs) {
        dir_count_t fwd = sum_out(rs, l->node[0], l->port[0]);
        dir_count_t back = { 0, 0, 0 };

        fputs("\\n", out);
        if (pair) {
            back = sum_out(rs, l->node[1], l->port[1]);
            fputs("-> ", out);
        }
        put_count(&fwd, out);
        if (pair) {
            fputs("\\n<- ", out);
            put_count(&back, out);
        }
        fprintf(out,
                "\", flow_msgs=%" PRIu64 ", flow_items=%" PRIu64
                ", flow_bytes=%" PRIu64,
                fwd.msgs, fwd.items, fwd.bytes);
        if (pair)
            fprintf(out,
                    ", flow_back_msgs=%" PRIu64 ", flow_back_items=%" PRIu64
                    ", flow_back_bytes=%" PRIu64,
                    back.msgs, back.items, back.bytes);
        fprintf(out, ", penwidth=%s", fwd.items + back.items > 0 ? "2" : "1");
    } else {
        fputc('"', out);
    }
    fprintf(out, ", flow_kind=%s, flow_batch=%zu, flow_hwm=%d",
            pair ? "pair" : "push", l->batch, l->hwm);
    if (l->demand)
        fputs(", flow_balance=demand", out);
    if (pair)
        fputs(", dir=both", out);
    fputs("];\n", out);
}

/* Write the DOT of `g` to `out`, with counters from `rs` if not NULL. */
static int
write_dot(const flow_graph_t *g, const flow_run_stats_t *rs, FILE *out)
{
    errno = 0;
    fputs("digraph \"", out);
    put_escaped(g->name, out);
    fputs("\" {\n    graph [rankdir=LR, labelloc=t, label=\"", out);
    put_escaped(g->name, out);
    if (g->description && *g->description) {
        fputs(": ", out);
        put_escaped(g->description, out);
    }
    if (rs)
        fprintf(out, "\\n%.3f s", rs->elapsed_s);
    fputs("\"];\n", out);
    fputs("    node [shape=box, fontname=\"Helvetica\"];\n"
          "    edge [fontname=\"Helvetica\", fontsize=10];\n",
          out);
    for (size_t i = 0; i < g->nnodes; i++)
        put_node(&g->nodes[i], out);
    for (size_t i = 0; i < g->nlinks; i++)
        put_link(g, &g->links[i], rs, out);
    fputs("}\n", out);
    if (fflush(out) != 0 || ferror(out))
        return errno ? -errno : -EIO;
    return 0;
}

int
flow_graph_write_dot(const flow_graph_t *graph, FILE *out)
{
    return write_dot(graph, NULL, out);
}

int
flow__dot_write_stats(const flow_run_stats_t *rs, FILE *out)
{
    return write_dot(rs->graph, rs, out);
}
