/* SPDX-License-Identifier: MIT */
/* graph.c: the graph model: lookups, pair topology, accessors, destroy. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static uint64_t fnv(uint64_t h, const char *text);

/* The first slot of `name` in an index of `icap` slots. */
static size_t
slot_of(const char *name, size_t icap)
{
    return (size_t)fnv(UINT64_C(0xcbf29ce484222325), name) & (icap - 1);
}

/*
 * An index of names (nodes, graph parameters) by open addressing: each
 * slot an entry's index + 1, 0 empty; `cap` a power of two, at most half
 * full. Entry j's name is the char * at `base + j * stride + off`.
 */
static const char *
name_at(const void *base, size_t stride, size_t off, size_t j)
{
    const char *const *p =
        (const void *)((const char *)base + j * stride + off);
    return *p;
}

static long
name_find(const uint32_t *slots, size_t cap, const void *base, size_t stride,
          size_t off, const char *name)
{
    if (!cap)
        return -1;
    for (size_t k = slot_of(name, cap);; k = (k + 1) & (cap - 1)) {
        uint32_t v = slots[k];
        if (!v)
            return -1;
        if (!strcmp(name_at(base, stride, off, v - 1), name))
            return (long)(v - 1);
    }
}

/* Add entry `i`, the last, to the index. */
static void
name_add(uint32_t **slots, size_t *cap, const void *base, size_t stride,
         size_t off, size_t i)
{
    size_t k;

    if (2 * (i + 1) > *cap) { /* at most half full: make it anew */
        size_t c = *cap ? 2 * *cap : 64;
        while (2 * (i + 1) > c)
            c *= 2;
        free(*slots);
        *slots = flow__xcalloc(c, sizeof(**slots));
        *cap = c;
        for (size_t j = 0; j < i; j++) {
            k = slot_of(name_at(base, stride, off, j), c);
            while ((*slots)[k])
                k = (k + 1) & (c - 1);
            (*slots)[k] = (uint32_t)(j + 1);
        }
    }
    k = slot_of(name_at(base, stride, off, i), *cap);
    while ((*slots)[k])
        k = (k + 1) & (*cap - 1);
    (*slots)[k] = (uint32_t)(i + 1);
}

/* A lookup per key and per link end: a scan of the nodes made loading a
 * graph quadratic (20,000 nodes: 4 s). */
long
flow__graph_find_node(const flow_graph_t *g, const char *name)
{
    return name_find(g->index, g->icap, g->nodes, sizeof(*g->nodes),
                     offsetof(flow_gnode_t, name), name);
}

void
flow__graph_index_node(flow_graph_t *g, size_t i)
{
    name_add(&g->index, &g->icap, g->nodes, sizeof(*g->nodes),
             offsetof(flow_gnode_t, name), i);
}

/* A lookup per parameter, per reference and per --set: a scan of the
 * parameters made loading a graph of many quadratic (40,000: 3 s). */
flow_kv_t *
flow__graph_find_param(const flow_graph_t *g, const char *name)
{
    long i = name_find(g->pindex, g->picap, g->params, sizeof(*g->params),
                       offsetof(flow_kv_t, key), name);
    return i < 0 ? NULL : &g->params[i];
}

void
flow__graph_index_param(flow_graph_t *g, size_t i)
{
    name_add(&g->pindex, &g->picap, g->params, sizeof(*g->params),
             offsetof(flow_kv_t, key), i);
}

int
flow__link_hwm_default(flow_type_t type, size_t batch)
{
    size_t frame = FLOW_WIRE_HDR + 8 * batch; /* batch is at most 2^24 */
    size_t hwm = ((size_t)1 << 20) / frame;
    size_t most = ((size_t)1 << 26) / frame; /* frames in 64 MiB */

    if (type != FLOW_INT64)
        return 64;
    if (hwm >= 64)
        return hwm > 1000 ? 1000 : (int)hwm;
    /* 64, unless 64 frames would take more than 64 MiB; at least 2. */
    return most >= 64 ? 64 : most < 2 ? 2 : (int)most;
}

long
flow__desc_find_port(const flow_node_desc_t *desc, const char *name)
{
    long i = 0;

    for (const flow_port_t *p = desc->ports; p && p->name; p++, i++)
        if (!strcmp(p->name, name))
            return i;
    return -1;
}

/* FNV-1a over the NUL-terminated `text`, its NUL included. */
static uint64_t
fnv(uint64_t h, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text;; c++) {
        h = (h ^ *c) * UINT64_C(0x100000001b3);
        if (!*c)
            return h;
    }
}

/* The print of node `gn`'s keys, in any order (--set adds them in
 * command-line order); not the ones that change only how one process runs
 * or logs. */
static uint64_t
keys_print(const flow_gnode_t *gn)
{
    uint64_t keys = 0;

    for (size_t k = 0; k < gn->nkv; k++) {
        const char *key = gn->kv[k].key;
        if (!strcmp(key, "log_level") || !strcmp(key, "timeout"))
            continue;
        keys += fnv(fnv(UINT64_C(0xcbf29ce484222325), key),
                    gn->kv[k].value ? gn->kv[k].value : "");
    }
    return keys;
}

/* The print of node type `d` as a graph sees it: its parameters (name,
 * type, default, choices) and ports (name, direction, type). Two hosts
 * whose plugins differ there (another version: a default changed) would
 * run two different graphs from the same file. */
static uint64_t
decl_print(const flow_node_desc_t *d)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    char num[32];

    for (const flow_param_t *p = d ? d->params : NULL; p && p->name; p++) {
        snprintf(num, sizeof(num), "%d", (int)p->type);
        h = fnv(fnv(fnv(h, p->name), num), p->def ? p->def : "\001");
        h = fnv(h, p->choices ? p->choices : "");
    }
    for (const flow_port_t *p = d ? d->ports : NULL; p && p->name; p++) {
        snprintf(num, sizeof(num), "%d %d", (int)p->dir, (int)p->type);
        h = fnv(fnv(h, p->name), num);
    }
    return h;
}

/* The hash of part `i` of `g` in the order of flow__graph_parts: graph
 * parameter, node or link, with what makes two loads of it the same. */
static uint64_t
part_hash(const flow_graph_t *g, size_t i)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    char num[64];

    if (i < g->nparams) {
        h = fnv(h, g->params[i].key);
        h = fnv(h, g->params[i].value ? g->params[i].value : "");
    } else if ((i -= g->nparams) < g->nnodes) {
        const flow_gnode_t *gn = &g->nodes[i];
        h = fnv(h, gn->name);
        h = fnv(h, gn->type ? gn->type : "");
        snprintf(num, sizeof(num), "%u", gn->instances);
        h = fnv(h, num);
        snprintf(num, sizeof(num), "%016llx %016llx",
                 (unsigned long long)keys_print(gn),
                 (unsigned long long)decl_print(gn->desc));
        h = fnv(h, num);
    } else {
        const flow_glink_t *lk = &g->links[i - g->nnodes];
        snprintf(num, sizeof(num), "%d %zu %d%s", lk->kind, lk->batch, lk->hwm,
                 lk->demand ? " demand" : "");
        h = fnv(h, lk->text ? lk->text : "");
        h = fnv(h, num);
    }
    return h;
}

uint64_t
flow__graph_fingerprint(const flow_graph_t *g)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325), params = 0;
    char num[64];

    /* The graph parameters in any order; then each node and link. */
    for (size_t i = 0; i < g->nparams; i++)
        params += part_hash(g, i);
    snprintf(num, sizeof(num), "%016llx", (unsigned long long)params);
    h = fnv(h, num);
    for (size_t i = g->nparams; i < g->nparams + g->nnodes + g->nlinks; i++) {
        snprintf(num, sizeof(num), "%016llx",
                 (unsigned long long)part_hash(g, i));
        h = fnv(h, num);
    }
    return h;
}

/* The print of part `i` of `g`, as an instance's HELLO carries it. */
static uint32_t
part_print(const flow_graph_t *g, size_t i)
{
    uint64_t h = part_hash(g, i);

    return (uint32_t)(h ^ h >> 32);
}

char *
flow__graph_parts(const flow_graph_t *g)
{
    size_t n = g->nparams + g->nnodes + g->nlinks, size = 80 + 8 * n, len;
    char *text = flow__xmalloc(size);
    int k = snprintf(text, size, "parts=%zu.%zu.%zu:", g->nparams, g->nnodes,
                     g->nlinks);

    len = k > 0 ? (size_t)k : 0;
    for (size_t i = 0; i < n && len + 9 <= size; i++)
        len += (size_t)snprintf(text + len, size - len, "%08" PRIx32,
                                part_print(g, i));
    return text;
}

int
flow__graph_parts_diff(const flow_graph_t *g, const char *parts, char *buf,
                       size_t size)
{
    size_t np, nn, nl, n;
    int off = 0;
    const char *hex;

    if (!parts ||
        sscanf(parts, "parts=%zu.%zu.%zu:%n", &np, &nn, &nl, &off) != 3 || !off)
        return -1;
    hex = parts + off;
    n = np + nn + nl;
    if (strspn(hex, "0123456789abcdef") < 8 * n)
        return -1;
    if (nn != g->nnodes || nl != g->nlinks || np != g->nparams) {
        snprintf(buf, size,
                 "it has %zu nodes, %zu links and %zu graph parameters, the "
                 "rendezvous's %zu, %zu and %zu",
                 nn, nl, np, g->nnodes, g->nlinks, g->nparams);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char mine[9];
        snprintf(mine, sizeof(mine), "%08" PRIx32, part_print(g, i));
        if (!strncmp(mine, hex + 8 * i, 8))
            continue;
        if (i < np)
            snprintf(buf, size, "graph parameter '%s' differs",
                     g->params[i].key);
        else if (i < np + nn)
            snprintf(buf, size,
                     "node '%s' differs (its name, type, instances or keys, or "
                     "its type's parameters and ports: another version of the "
                     "plugin there?)",
                     g->nodes[i - np].name);
        else
            snprintf(buf, size,
                     "link '%s' differs (its ports, batch, hwm or balance)",
                     g->links[i - np - nn].text);
        return 0;
    }
    return -1;
}

unsigned
flow__auto_instances(void)
{
    const char *env = getenv("FLOW_AUTO_INSTANCES");
    int64_t v;
    long c;

    if (env && *env)
        return flow__parse_i64(env, &v) == 0 && v >= 1 &&
                       v <= FLOW_MAX_INSTANCES
                   ? (unsigned)v
                   : 0;
    c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (unsigned)c : 1;
}

bool
flow__graph_has_auto(const flow_graph_t *g)
{
    for (size_t n = 0; n < g->nnodes; n++)
        for (size_t k = 0; k < g->nodes[n].nkv; k++)
            if (!strcmp(g->nodes[n].kv[k].key, "instances") &&
                !strcmp(g->nodes[n].kv[k].value, "auto"))
                return true;
    return false;
}

/* Whether every instance of node `c` gave input port `port` up. */
static bool
all_closed(const flow_graph_t *g, const uint64_t *closed, size_t c, size_t port)
{
    size_t k = flow__proc_index(g, c, 0);

    if (port >= 64)
        return false;
    for (unsigned i = 0; i < g->nodes[c].instances; i++)
        if (!(closed[k + i] & ((uint64_t)1 << port)))
            return false;
    return true;
}

/* The peer of port `i` of node `gn`. */
static size_t
peer_of(const flow_graph_t *g, const flow_gnode_t *gn, size_t i)
{
    return g->links[gn->port_link[i]].node[!gn->port_side[i]];
}

bool
flow__gnode_has_input(const flow_gnode_t *gn)
{
    for (size_t i = 0; i < gn->nports; i++)
        if (gn->port_link[i] >= 0 && gn->desc->ports[i].dir == FLOW_DIR_IN)
            return true;
    return false;
}

void
flow__cancel_init(flow_cancel_t *c, const flow_graph_t *g)
{
    size_t nn = g->nnodes ? g->nnodes : 1;

    c->g = g;
    c->closed =
        flow__xcalloc(flow_graph_process_count(g) + 1, sizeof(*c->closed));
    c->unwanted = flow__xcalloc(nn, sizeof(*c->unwanted));
    c->stop = flow__xcalloc(nn, sizeof(*c->stop));
}

void
flow__cancel_fini(flow_cancel_t *c)
{
    free(c->closed);
    free(c->unwanted);
    free(c->stop);
    memset(c, 0, sizeof(*c));
}

bool
flow__cancel_give_up(flow_cancel_t *c, size_t k, unsigned long port)
{
    const flow_graph_t *g = c->g;
    bool any = false;

    memset(c->stop, 0, g->nnodes * sizeof(*c->stop));
    if (k >= flow_graph_process_count(g) || port >= 64)
        return false;
    c->closed[k] |= (uint64_t)1 << port;
    for (size_t n = 0; n < g->nnodes; n++)
        c->stop[n] = c->unwanted[n]; /* those before: not again */
    if (!flow__graph_unwanted(g, c->closed, c->unwanted))
        return false;
    for (size_t n = 0; n < g->nnodes; n++) {
        c->stop[n] = c->unwanted[n] && !c->stop[n] &&
                     !flow__gnode_has_input(&g->nodes[n]);
        any |= c->stop[n];
    }
    return any;
}

bool
flow__graph_unwanted(const flow_graph_t *g, const uint64_t *closed,
                     bool *unwanted)
{
    size_t nn = g->nnodes ? g->nnodes : 1;
    bool *outs = flow__xcalloc(nn, sizeof(bool)); /* pair group has output */
    bool *wanted = flow__xcalloc(nn, sizeof(bool));
    size_t *group = flow__xcalloc(nn, sizeof(size_t));
    bool added = false, more = true;

    /* The pair groups (nodes joined by pair links), each named by its
     * smallest node index. */
    for (size_t n = 0; n < g->nnodes; n++)
        group[n] = n;
    while (more) {
        more = false;
        for (size_t l = 0; l < g->nlinks; l++) {
            const flow_glink_t *k = &g->links[l];
            size_t a = group[k->node[0]], b = group[k->node[1]];
            if (k->kind != FLOW_LINK_PAIR || a == b)
                continue;
            group[k->node[0]] = group[k->node[1]] = a < b ? a : b;
            more = true;
        }
    }
    /* Which groups have an output to a node of another group: a push link
     * within a group (a coordinator's results to its own peer) does not
     * make the group a producer, and its sink is still a sink. */
    for (size_t l = 0; l < g->nlinks; l++) {
        const flow_glink_t *k = &g->links[l];
        if (k->kind == FLOW_LINK_PUSH && group[k->node[0]] != group[k->node[1]])
            outs[group[k->node[0]]] = true;
    }
    for (size_t n = 0; n < g->nnodes; n++)
        outs[n] = outs[group[n]];
    /* Wanted: a sink (or a group of pair nodes without output), a node
     * whose work a wanted consumer still reads, a pair peer of a wanted
     * node. */
    for (size_t n = 0; n < g->nnodes; n++)
        wanted[n] = !outs[n] && !unwanted[n];
    for (more = true; more;) {
        more = false;
        for (size_t n = 0; n < g->nnodes; n++) {
            const flow_gnode_t *gn = &g->nodes[n];
            if (wanted[n] || unwanted[n])
                continue;
            for (size_t i = 0; i < gn->nports && !wanted[n]; i++) {
                size_t peer;
                if (gn->port_link[i] < 0)
                    continue;
                peer = peer_of(g, gn, i);
                if (!wanted[peer])
                    continue;
                if (gn->desc->ports[i].dir == FLOW_DIR_PAIR ||
                    (gn->desc->ports[i].dir == FLOW_DIR_OUT &&
                     !all_closed(
                         g, closed, peer,
                         g->links[gn->port_link[i]].port[!gn->port_side[i]])))
                    wanted[n] = more = true;
            }
        }
    }
    for (size_t n = 0; n < g->nnodes; n++)
        if (!wanted[n] && !unwanted[n])
            unwanted[n] = added = true;
    free(outs);
    free(wanted);
    free(group);
    return added;
}

size_t
flow__proc_index(const flow_graph_t *g, size_t node, unsigned inst)
{
    size_t k = 0;

    for (size_t i = 0; i < node; i++)
        k += g->nodes[i].instances;
    return k + inst;
}

double
flow__now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

size_t
flow__node_fd_need(const flow_graph_t *g, size_t n, bool tcp, size_t *nsock)
{
    size_t mon = tcp ? 2 : 0; /* per bound socket: its monitor's two */
    size_t ns = 8;            /* the rendezvous, monitors */
    size_t nfd = FLOW__NODE_FD_BASE;

    for (size_t i = 0; i < g->nlinks; i++) {
        const flow_glink_t *l = &g->links[i];
        for (int side = 0; side < 2; side++) {
            unsigned peers = g->nodes[l->node[1 - side]].instances;
            if (l->node[side] != n)
                continue;
            if (l->kind == FLOW_LINK_PAIR) {
                size_t ch =
                    flow__pair_channels(g->nodes[l->node[0]].instances,
                                        g->nodes[l->node[1]].instances, side);
                ns += (side == 0 ? 1 + mon : 1) * ch;
                /* mailbox and connection, and a listener where it binds
                 * (the link's first side) */
                nfd += (side == 0 ? 3 + mon : 2) * ch;
            } else if (side == 1) { /* an input */
                ns += 1 + mon;
                nfd += 2 + mon + (size_t)peers; /* mailbox, listener, peers */
            } else {
                ns += peers;
                nfd += 2 * (size_t)peers; /* mailbox, connection */
            }
        }
    }
    *nsock = ns;
    return nfd;
}

unsigned
flow__pair_channels(unsigned a, unsigned b, int side)
{
    if (a == b)
        return 1;
    return side == 0 ? (a == 1 ? b : 1) : (b == 1 ? a : 1);
}

unsigned
flow__pair_peer(unsigned a, unsigned b, int side, unsigned inst, unsigned ch)
{
    if (a == b)
        return inst;
    if (side == 0)
        return a == 1 ? ch : 0;
    return b == 1 ? ch : 0;
}

const char *
flow_graph_name(const flow_graph_t *graph)
{
    return graph->name;
}

unsigned
flow_graph_process_count(const flow_graph_t *graph)
{
    unsigned n = 0;

    for (size_t i = 0; i < graph->nnodes; i++)
        n += graph->nodes[i].instances;
    return n;
}

size_t
flow_graph_warning_count(const flow_graph_t *graph)
{
    return graph->nwarnings;
}

const char *
flow_graph_warning(const flow_graph_t *graph, size_t i)
{
    return i < graph->nwarnings ? graph->warnings[i] : NULL;
}

static void
kv_free(flow_kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
        free(kv[i].ref);
        free(kv[i].set_over);
    }
    free(kv);
}

void
flow_graph_destroy(flow_graph_t **graph_p)
{
    flow_graph_t *g;

    if (!graph_p || !*graph_p)
        return;
    g = *graph_p;
    for (size_t i = 0; i < g->nnodes; i++) {
        flow_gnode_t *n = &g->nodes[i];
        if (n->desc && n->state)
            flow__param_release(n->desc->params, n->state);
        free(n->state);
        free(n->name);
        free(n->type);
        free(n->port_link);
        free(n->port_side);
        free(n->pin);
        kv_free(n->kv, n->nkv);
    }
    for (size_t i = 0; i < g->nlinks; i++) {
        free(g->links[i].text);
        free(g->links[i].port_name[0]);
        free(g->links[i].port_name[1]);
    }
    kv_free(g->params, g->nparams);
    for (size_t i = 0; i < g->nwarnings; i++)
        free(g->warnings[i]);
    free(g->warnings);
    flow__claims_release(g);
    free(g->nodes);
    free(g->index);
    free(g->pindex);
    free(g->links);
    free(g->file);
    free(g->name);
    free(g->description);
    free(g);
    *graph_p = NULL;
}
