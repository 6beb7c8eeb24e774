/* SPDX-License-Identifier: MIT */
/* stats.c: reporting the run's counters: table, JSON, progress line. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "stats.h"

static double
sec(uint64_t ns)
{
    return (double)ns / 1e9;
}

void
flow__stats_finish(flow_inst_stats_t *st, uint64_t now_ns,
                   const struct rusage *ru)
{
    if (st->start_ns) {
        st->wall_ns = now_ns > st->start_ns ? now_ns - st->start_ns : 0;
        /* The waits come from the coarse clock, a tick (a few ms) off at
         * most: within the wall time, so that busy + blocked + waiting is
         * the wall time and none exceeds it. */
        if (st->recv_wait_ns > st->wall_ns)
            st->recv_wait_ns = st->wall_ns;
        if (st->send_block_ns > st->wall_ns - st->recv_wait_ns)
            st->send_block_ns = st->wall_ns - st->recv_wait_ns;
        st->busy_ns = st->wall_ns - st->recv_wait_ns - st->send_block_ns;
    }
    st->cpu_ns = (uint64_t)ru->ru_utime.tv_sec * 1000000000u +
                 (uint64_t)ru->ru_utime.tv_usec * 1000u +
                 (uint64_t)ru->ru_stime.tv_sec * 1000000000u +
                 (uint64_t)ru->ru_stime.tv_usec * 1000u;
    st->max_rss_kb = (uint64_t)ru->ru_maxrss;
}

int
flow__stats_print(const flow_run_stats_t *rs, FILE *out)
{
    const flow_graph_t *g = rs->graph;

    clearerr(out); /* count only the table's own failures */

    /* Columns as wide as the longest name, at least as in the header. */
    int nw = 16, pw = 14;
    for (size_t n = 0; n < g->nnodes; n++) {
        const flow_gnode_t *gn = &g->nodes[n];
        char name[96];
        int len = snprintf(name, sizeof(name), "%s[%u]", gn->name,
                           gn->instances ? gn->instances - 1 : 0);
        nw = len > nw ? len : nw;
        for (size_t p = 0; p < gn->nports; p++) {
            int pl = (int)strlen(gn->desc->ports[p].name);
            pw = pl > pw ? pl : pw;
        }
    }
    fprintf(out,
            "%-*s %7s %8s %8s %8s %8s %8s %8s %9s\n"
            "  %-*s %-6s %14s %14s %14s %8s\n",
            nw, "node[instance]", "pid", "wall s", "busy s", "blocked",
            "waiting", "cpu s", "rss MB", "state", pw, "port", "dir",
            "messages", "items", "bytes", "window");
    for (size_t n = 0; n < g->nnodes; n++) {
        const flow_gnode_t *gn = &g->nodes[n];
        for (unsigned i = 0; i < gn->instances; i++) {
            const flow_inst_stats_t *b = &rs->blocks[flow__proc_index(g, n, i)];
            char name[96];

            snprintf(name, sizeof(name), "%s[%u]", gn->name, i);
            fprintf(out, "%-*s %7d %8.3f %8.3f %8.3f %8.3f %8.3f %8.1f %9s\n",
                    nw, name, (int)b->pid, sec(b->wall_ns), sec(b->busy_ns),
                    sec(b->send_block_ns), sec(b->recv_wait_ns), sec(b->cpu_ns),
                    (double)b->max_rss_kb / 1024.0,
                    b->state == FLOW_INST_DONE      ? "done"
                    : b->state == FLOW_INST_RUNNING ? "running"
                                                    : "starting");
            for (size_t p = 0; p < gn->nports; p++) {
                const flow_port_t *d = &gn->desc->ports[p];
                const flow_port_stats_t *ps = &b->ports[p];
                char window[24] = "-"; /* a demand input's widest */
                if (ps->credit_window > 0)
                    snprintf(window, sizeof(window), "%" PRIu64,
                             ps->credit_window);
                if (d->dir != FLOW_DIR_OUT)
                    fprintf(out,
                            "  %-*s %-6s %14" PRIu64 " %14" PRIu64 " %14" PRIu64
                            " %8s\n",
                            pw, d->name, "in", ps->in_msgs, ps->in_items,
                            ps->in_bytes, window);
                if (d->dir != FLOW_DIR_IN)
                    fprintf(out,
                            "  %-*s %-6s %14" PRIu64 " %14" PRIu64 " %14" PRIu64
                            " %8s\n",
                            pw, d->name, "out", ps->out_msgs, ps->out_items,
                            ps->out_bytes, "-");
            }
        }
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

/* The length of the well-formed UTF-8 sequence at `s` (1 to 4), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80   ? 1
               : s[0] < 0xc2 ? 0
               : s[0] < 0xe0 ? 2
               : s[0] < 0xf0 ? 3
               : s[0] < 0xf5 ? 4
                             : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* No overlong 3- or 4-byte forms, surrogates or code points past
     * U+10FFFF. */
    if ((n == 3 &&
         ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) ||
        (n == 4 &&
         ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))))
        return 0;
    return n;
}

/* Write `s` as a JSON string; a byte that is not UTF-8 becomes U+FFFD. */
static void
json_str(FILE *out, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    fputc('"', out);
    while (*u) {
        size_t n = utf8_len(u);
        if (n == 0) {
            fputs("\\ufffd", out);
            u++;
        } else if (*u == '"' || *u == '\\') {
            fprintf(out, "\\%c", *u++);
        } else if (*u < 0x20) {
            fprintf(out, "\\u%04x", *u++);
        } else {
            fwrite(u, 1, n, out);
            u += n;
        }
    }
    fputc('"', out);
}

int
flow__stats_write_json(const flow_run_stats_t *rs, FILE *out)
{
    const flow_graph_t *g = rs->graph;

    fprintf(out, "{\n  \"schema\": \"flow-stats-1\",\n  \"graph\": ");
    json_str(out, g->name);
    fprintf(out, ",\n  \"elapsed_s\": %.6f,\n  \"nodes\": [", rs->elapsed_s);
    for (size_t n = 0; n < g->nnodes; n++) {
        const flow_gnode_t *gn = &g->nodes[n];
        fprintf(out, "%s\n    {\"name\": ", n ? "," : "");
        json_str(out, gn->name);
        fprintf(out, ", \"type\": ");
        json_str(out, gn->desc->name);
        fprintf(out, ", \"instances\": [");
        for (unsigned i = 0; i < gn->instances; i++) {
            const flow_inst_stats_t *b = &rs->blocks[flow__proc_index(g, n, i)];
            fprintf(out,
                    "%s\n      {\"instance\": %u, \"pid\": %d, \"state\": "
                    "\"%s\", \"wall_s\": %.6f, \"busy_s\": %.6f, "
                    "\"send_blocked_s\": %.6f, \"recv_wait_s\": %.6f, "
                    "\"cpu_s\": %.6f, \"max_rss_kb\": %" PRIu64
                    ", \"ports\": [",
                    i ? "," : "", i, (int)b->pid,
                    b->state == FLOW_INST_DONE      ? "done"
                    : b->state == FLOW_INST_RUNNING ? "running"
                                                    : "starting",
                    sec(b->wall_ns), sec(b->busy_ns), sec(b->send_block_ns),
                    sec(b->recv_wait_ns), sec(b->cpu_ns), b->max_rss_kb);
            for (size_t p = 0; p < gn->nports; p++) {
                const flow_port_t *d = &gn->desc->ports[p];
                const flow_port_stats_t *ps = &b->ports[p];
                static const char *const dir[] = { "", "in", "out", "pair" };
                fprintf(out, "%s\n        {\"port\": ", p ? "," : "");
                json_str(out, d->name);
                fprintf(out,
                        ", \"dir\": \"%s\", \"in_msgs\": %" PRIu64
                        ", \"in_items\": %" PRIu64 ", \"in_bytes\": %" PRIu64
                        ", \"out_msgs\": %" PRIu64 ", \"out_items\": %" PRIu64
                        ", \"out_bytes\": %" PRIu64
                        ", \"credit_window\": %" PRIu64 "}",
                        dir[d->dir], ps->in_msgs, ps->in_items, ps->in_bytes,
                        ps->out_msgs, ps->out_items, ps->out_bytes,
                        ps->credit_window);
            }
            fprintf(out, "]}");
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n  ]\n}\n");
    return ferror(out) ? -EIO : 0;
}

/* The bytes an instance's `nports` port counters take in the mapping: a
 * whole number of FLOW__STATS_ALIGN. */
static size_t
ports_size(size_t nports)
{
    size_t b = nports * sizeof(flow_port_stats_t);

    return (b + FLOW__STATS_ALIGN - 1) / FLOW__STATS_ALIGN * FLOW__STATS_ALIGN;
}

flow_inst_stats_t *
flow__stats_map(const flow_graph_t *g, size_t *size)
{
    size_t nprocs = flow_graph_process_count(g);
    size_t bytes = nprocs * sizeof(flow_inst_stats_t);
    flow_inst_stats_t *blocks;
    char *ports;

    for (size_t n = 0; n < g->nnodes; n++)
        bytes += (size_t)g->nodes[n].instances * ports_size(g->nodes[n].nports);
    blocks = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (blocks == MAP_FAILED)
        return NULL;
    ports = (char *)(blocks + nprocs); /* aligned: sizeof is a multiple */
    for (size_t n = 0, k = 0; n < g->nnodes; n++)
        for (unsigned i = 0; i < g->nodes[n].instances; i++, k++) {
            blocks[k].ports = (flow_port_stats_t *)ports;
            ports += ports_size(g->nodes[n].nports);
        }
    *size = bytes;
    return blocks;
}

/* Items received so far on their inputs by the sinks (nodes without
 * outputs), or with `sources` sent on their outputs by the sources (nodes
 * without inputs). Pair ports count for neither: what a node with pair
 * ports only (the sieve's segments) receives has not reached a sink. */
static uint64_t
end_items(const flow_run_stats_t *rs, bool sources)
{
    const flow_graph_t *g = rs->graph;
    flow_port_dir_t none = sources ? FLOW_DIR_IN : FLOW_DIR_OUT;
    uint64_t total = 0;

    for (size_t n = 0; n < g->nnodes; n++) {
        const flow_gnode_t *gn = &g->nodes[n];
        bool end = true;
        for (size_t p = 0; p < gn->nports; p++)
            if (gn->desc->ports[p].dir == none)
                end = false;
        if (!end)
            continue;
        for (unsigned i = 0; i < gn->instances; i++) {
            const flow_inst_stats_t *b = &rs->blocks[flow__proc_index(g, n, i)];
            for (size_t p = 0; p < gn->nports; p++)
                if (!sources && gn->desc->ports[p].dir == FLOW_DIR_IN)
                    total += __atomic_load_n(&b->ports[p].in_items,
                                             __ATOMIC_RELAXED);
                else if (sources && gn->desc->ports[p].dir == FLOW_DIR_OUT)
                    total += __atomic_load_n(&b->ports[p].out_items,
                                             __ATOMIC_RELAXED);
        }
    }
    return total;
}

void
flow__progress_format(const flow_run_stats_t *rs, flow_progress_t *prev,
                      char *buf, size_t size)
{
    const flow_graph_t *g = rs->graph;
    uint64_t items = end_items(rs, false);
    double dt = rs->elapsed_s - prev->s;
    double rate =
        dt > 0 && items >= prev->items ? (double)(items - prev->items) / dt : 0;
    const char *busiest = "-";
    double best = -1;

    if (!prev->wait_ns)
        prev->wait_ns = flow__xcalloc(rs->nblocks, sizeof(*prev->wait_ns));
    /* The stage whose running instances waited least for input or output
     * since the last line: over the whole run, a stage that was the
     * bottleneck for its first minutes was named long after the work had
     * moved on. One that has finished is nobody's bottleneck now. */
    for (size_t n = 0; n < g->nnodes; n++) {
        const flow_gnode_t *gn = &g->nodes[n];
        double waits = 0, wall = 0;
        for (unsigned i = 0; i < gn->instances; i++) {
            size_t k = flow__proc_index(g, n, i);
            const flow_inst_stats_t *b = &rs->blocks[k];
            uint64_t start = __atomic_load_n(&b->start_ns, __ATOMIC_RELAXED);
            uint64_t w = __atomic_load_n(&b->send_block_ns, __ATOMIC_RELAXED) +
                         __atomic_load_n(&b->recv_wait_ns, __ATOMIC_RELAXED);
            uint64_t was = prev->wait_ns[k];
            prev->wait_ns[k] = w;
            if (!start ||
                __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == FLOW_INST_DONE)
                continue;
            waits += w > was ? sec(w - was) : 0;
            wall += dt;
        }
        if (wall > 0 && 1.0 - waits / wall > best) {
            best = 1.0 - waits / wall;
            busiest = gn->name;
        }
    }
    snprintf(buf, size,
             "flowrun: %.1fs  %" PRIu64 " items at sinks  %.3g items/s  "
             "%" PRIu64 " from sources  busiest: %s",
             rs->elapsed_s, items, rate, end_items(rs, true), busiest);
    prev->items = items;
    prev->s = rs->elapsed_s;
}

void
flow__progress_fini(flow_progress_t *prev)
{
    free(prev->wait_ns);
    prev->wait_ns = NULL;
}
