/* SPDX-License-Identifier: MIT */
/*
 * graph_check.c: validation of a loaded graph before anything forks: node
 * types, instance counts, the reserved node keys (instances, timeout,
 * log_level, pin and the placement hints cpus and slurm_constraint),
 * parameters against each node's table, ports, link kinds and item types,
 * ports linked twice or never, push cycles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define FLOW_MAX_CPUS    4096
#define FLOW_MAX_PIN_CPU 1023 /* CPU_SETSIZE - 1 (static_assert in node.c) */
#define FLOW_MAX_PIN     4096 /* CPUs listed in one `pin` */

static const char *const reserved_keys[] = {
    "type", "instances", "timeout",         "log_level",
    "pin",  "cpus",      "slurm_constraint"
};
#define RESERVED_KEYS (sizeof(reserved_keys) / sizeof(reserved_keys[0]))

bool
flow__node_key_reserved(const char *key)
{
    for (size_t i = 0; i < RESERVED_KEYS; i++)
        if (!strcmp(key, reserved_keys[i]))
            return true;
    return false;
}

/* Where a value came from, for messages: "" or " (from graph parameter
 * 'segments', set on the command line)". Static buffer. */
static const char *
set_note(const flow_kv_t *kv)
{
    static char note[200];

    if (kv->ref)
        snprintf(note, sizeof(note), " (from graph parameter '%s'%s)", kv->ref,
                 kv->from_set ? ", set on the command line" : "");
    else
        snprintf(note, sizeof(note), "%s",
                 kv->from_set ? " (set on the command line)" : "");
    return note;
}

/*
 * A Slurm constraint expression: feature names (letters, digits, `_ - .
 * :`) joined by the operators srun --constraint knows (`& | , *`, counts,
 * brackets, parentheses). Not empty, no spaces or quotes: the value is
 * passed to srun as one argument and must not be taken for another one.
 */
static bool
valid_constraint(const char *s)
{
    bool name = false;

    for (; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
            (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.' ||
            *s == ':')
            name = true;
        else if (!strchr("&|,*[]()", *s))
            return false;
    }
    return name;
}

/*
 * Parse a CPU list, "0", "2-3", "0,4-7,1" (numbers 0 to FLOW_MAX_PIN_CPU,
 * ranges ascending, in the order written), into `*cpus` (malloc'ed, caller
 * frees) and `*n`. Returns false on any other text.
 */
static bool
parse_cpu_list(const char *s, unsigned **cpus, size_t *n)
{
    unsigned *v = NULL;
    size_t k = 0;

    *cpus = NULL;
    *n = 0;
    for (;;) {
        char *end;
        unsigned long a, b;

        if (*s < '0' || *s > '9')
            goto bad;
        a = strtoul(s, &end, 10);
        b = a;
        if (*end == '-') {
            s = end + 1;
            if (*s < '0' || *s > '9')
                goto bad;
            b = strtoul(s, &end, 10);
        }
        if (a > FLOW_MAX_PIN_CPU || b > FLOW_MAX_PIN_CPU || b < a ||
            k + (b - a + 1) > FLOW_MAX_PIN)
            goto bad;
        v = flow__xrealloc(v, (k + (b - a + 1)) * sizeof(*v));
        for (unsigned long c = a; c <= b; c++)
            v[k++] = (unsigned)c;
        if (*end == '\0')
            break;
        if (*end != ',')
            goto bad;
        s = end + 1;
    }
    *cpus = v;
    *n = k;
    return true;
bad:
    free(v);
    return false;
}

/* Handle the key `pin` and the placement hints `cpus` and
 * `slurm_constraint`: returns 0 if
 * `kv` is a valid one, a (negative) error code if it is a bad one, 1 if it
 * is another key. */
static int
check_hint(flow_graph_t *g, flow_gnode_t *n, flow_kv_t *kv, flow_diag_t *diag)
{
    int64_t v;

    if (!strcmp(kv->key, "cpus")) {
        kv->used = true;
        if (flow__parse_i64(kv->value, &v) || v < 1 || v > FLOW_MAX_CPUS)
            return flow__diag(diag, FLOW_EPARAM, g->file, kv->line,
                              "bad value '%s' for 'cpus' of node '%s'%s: "
                              "expected CPUs per instance, 1 to %d",
                              kv->value, n->name, set_note(kv), FLOW_MAX_CPUS);
        n->cpus = (unsigned)v;
        return 0;
    }
    if (!strcmp(kv->key, "pin")) {
        kv->used = true;
        free(n->pin);
        if (!strcmp(kv->value, "none")) { /* as without: --set can unpin */
            n->pin = NULL;
            n->npin = 0;
            return 0;
        }
        if (!parse_cpu_list(kv->value, &n->pin, &n->npin))
            return flow__diag(diag, FLOW_EPARAM, g->file, kv->line,
                              "bad value '%s' for 'pin' of node '%s'%s: "
                              "expected CPU numbers and ranges, such as "
                              "'0,2-3' (CPUs 0 to %d, at most %d in all), "
                              "or 'none'",
                              kv->value, n->name, set_note(kv),
                              FLOW_MAX_PIN_CPU, FLOW_MAX_PIN);
        return 0;
    }
    if (!strcmp(kv->key, "slurm_constraint")) {
        kv->used = true;
        if (!valid_constraint(kv->value))
            return flow__diag(diag, FLOW_EPARAM, g->file, kv->line,
                              "bad value '%s' for 'slurm_constraint' of node "
                              "'%s'%s: expected a Slurm constraint (feature "
                              "names joined by & | , * [ ] ( ), no spaces)",
                              kv->value, n->name, set_note(kv));
        n->slurm_constraint = kv->value;
        return 0;
    }
    return 1;
}

static int
check_node(flow_graph_t *g, flow_gnode_t *n, flow_diag_t *diag)
{
    const flow_node_desc_t *d;
    flow_diag_t tmp;
    char why[256];

    d = flow_registry_find(g->reg, n->type, &tmp);
    if (!d) {
        if (tmp.code == FLOW_ETYPE) {
            char where[300];
            flow__registry_paths(g->reg, where, sizeof(where));
            return flow__diag(diag, FLOW_ETYPE, g->file, n->type_line,
                              "unknown node type '%s' for node '%s' (no "
                              "%s.so in %s; flowrun --list-nodes lists the "
                              "types found)",
                              n->type, n->name, n->type, where);
        }
        return flow__diag(diag, tmp.code, g->file, n->type_line,
                          "node type '%s' for node '%s': %s: %s", n->type,
                          n->name, tmp.file, tmp.msg);
    }
    n->desc = d;
    n->instances = 1;
    n->log_level = -1;
    n->state = flow__xcalloc(1, d->state_size ? d->state_size : 1);
    for (size_t k = 0; k < n->nkv; k++) {
        flow_kv_t *kv = &n->kv[k];
        const flow_param_t *p = NULL;
        int rc = check_hint(g, n, kv, diag);

        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        if (!strcmp(kv->key, "instances")) {
            int64_t v;
            kv->used = true;
            if (!strcmp(kv->value, "auto")) {
                n->instances = flow__auto_instances();
                if (!n->instances)
                    return flow__diag(
                        diag, FLOW_EPARAM, g->file, kv->line,
                        "'instances = auto' of node '%s': bad "
                        "FLOW_AUTO_INSTANCES '%s' in the environment: "
                        "expected 1 to %d",
                        n->name, getenv("FLOW_AUTO_INSTANCES"),
                        FLOW_MAX_INSTANCES);
            } else if (flow__parse_i64(kv->value, &v) || v < 1 ||
                       v > FLOW_MAX_INSTANCES) {
                return flow__diag(diag, FLOW_EPARAM, g->file, kv->line,
                                  "bad value '%s' for 'instances' of node "
                                  "'%s'%s: expected 'auto' or 1 to %d",
                                  kv->value, n->name, set_note(kv),
                                  FLOW_MAX_INSTANCES);
            } else {
                n->instances = (unsigned)v;
            }
            if (d->max_instances && n->instances > d->max_instances)
                return flow__diag(
                    diag, FLOW_EPARAM, g->file, kv->line,
                    "node '%s' of type '%s' allows at most %u "
                    "instance%s, not %u%s%s",
                    n->name, d->name, d->max_instances,
                    d->max_instances == 1 ? "" : "s", n->instances,
                    strcmp(kv->value, "auto") ? ""
                                              : " ('auto': one per online CPU)",
                    set_note(kv));
            continue;
        }
        if (!strcmp(kv->key, "log_level")) {
            kv->used = true;
            if ((n->log_level = flow_log_level_parse(kv->value)) < 0)
                return flow__diag(diag, FLOW_EPARAM, g->file, kv->line,
                                  "bad value '%s' for 'log_level' of node "
                                  "'%s'%s: expected error, warning, info or "
                                  "debug",
                                  kv->value, n->name, set_note(kv));
            continue;
        }
        if (!strcmp(kv->key, "timeout")) {
            double v = 0;
            kv->used = true;
            if (flow_parse_double(kv->value, strlen(kv->value), &v) ||
                !(v > 0) || v > 1e7)
                return flow__diag(
                    diag, FLOW_EPARAM, g->file, kv->line,
                    "bad value '%s' for 'timeout' of node "
                    "'%s'%s: expected seconds, > 0 and at most 1e7",
                    kv->value, n->name, set_note(kv));
            n->timeout_s = v;
            continue;
        }
        for (const flow_param_t *q = d->params; q && q->name; q++)
            if (!strcmp(q->name, kv->key))
                p = q;
        if (!p) {
            const char *names[64 + RESERVED_KEYS];
            size_t nn = 0;
            const char *near;
            char hint[160] = "";
            for (size_t r = 0; r < RESERVED_KEYS; r++)
                names[nn++] = reserved_keys[r];
            for (const flow_param_t *q = d->params; q && q->name && nn < 64;
                 q++)
                names[nn++] = q->name;
            if ((near = flow__suggest(kv->key, names, nn)))
                snprintf(hint, sizeof(hint), "; did you mean '%s'?", near);
            return flow__diag(diag, FLOW_EPARAM, g->file, kv->line,
                              "unknown parameter '%s' for node '%s' of type "
                              "'%s'%s%s",
                              kv->key, n->name, d->name,
                              /* where the key came from, not its value */
                              kv->key_set ? " (set on the command line)" : "",
                              hint);
        }
        kv->used = true;
        if (flow__param_set(p, kv->value, n->state, why, sizeof(why)))
            return flow__diag(diag, FLOW_EPARAM, g->file, kv->line,
                              "bad value '%s' for parameter '%s' of node "
                              "'%s'%s: %s",
                              kv->value, kv->key, n->name, set_note(kv), why);
    }
    for (const flow_param_t *p = d->params; p && p->name; p++) {
        bool given = false;
        for (size_t k = 0; k < n->nkv; k++)
            if (!strcmp(n->kv[k].key, p->name))
                given = true;
        if (given)
            continue;
        if (!p->def)
            return flow__diag(diag, FLOW_EPARAM, g->file, n->line,
                              "missing required parameter '%s' for node '%s' "
                              "of type '%s'",
                              p->name, n->name, d->name);
        if (flow__param_set(p, p->def, n->state, why, sizeof(why)))
            return flow__diag(diag, FLOW_EABI, g->file, n->line,
                              "default of '%s' in type '%s' is bad: %s",
                              p->name, d->name, why);
    }
    n->nports = 0;
    for (const flow_port_t *p = d->ports; p && p->name; p++)
        n->nports++;
    n->port_link = flow__xmalloc(sizeof(int) * (n->nports ? n->nports : 1));
    n->port_side = flow__xcalloc(n->nports ? n->nports : 1, sizeof(int));
    for (size_t i = 0; i < n->nports; i++)
        n->port_link[i] = -1;
    n->same_type = FLOW_ANY;
    return 0;
}

static const char *const dir_name[] = { "", "an input", "an output", "a pair" };
static const char *const dir_word[] = { "", "input", "output", "pair" };

static int
check_link(flow_graph_t *g, size_t li, flow_diag_t *diag)
{
    flow_glink_t *l = &g->links[li];
    static const flow_port_dir_t want[3][2] = {
        { 0, 0 },
        { FLOW_DIR_OUT, FLOW_DIR_IN },
        { FLOW_DIR_PAIR, FLOW_DIR_PAIR },
    };
    const flow_port_t *port[2];

    if (l->node[0] == l->node[1] && l->kind == FLOW_LINK_PAIR)
        return flow__diag(diag, FLOW_ELINK, g->file, l->line,
                          "link '%s' connects node '%s' to itself", l->text,
                          g->nodes[l->node[0]].name);
    for (int s = 0; s < 2; s++) {
        flow_gnode_t *n = &g->nodes[l->node[s]];
        long pi = flow__desc_find_port(n->desc, l->port_name[s]);

        if (pi < 0)
            return flow__diag(diag, FLOW_EPORT, g->file, l->line,
                              "node '%s' of type '%s' has no port '%s'",
                              n->name, n->desc->name, l->port_name[s]);
        l->port[s] = (size_t)pi;
        port[s] = &n->desc->ports[pi];
        if (port[s]->dir != want[l->kind][s])
            return flow__diag(
                diag, FLOW_EPORT, g->file, l->line,
                "link '%s': port '%s.%s' is %s port, a %s link needs %s "
                "port there",
                l->text, n->name, port[s]->name, dir_name[port[s]->dir],
                l->kind == FLOW_LINK_PUSH ? "push" : "pair",
                dir_name[want[l->kind][s]]);
        if (n->port_link[pi] >= 0)
            return flow__diag(diag, FLOW_ELINK, g->file, l->line,
                              "port '%s.%s' is linked twice (first at line "
                              "%d)",
                              n->name, port[s]->name,
                              g->links[n->port_link[pi]].line);
        n->port_link[pi] = (int)li;
        n->port_side[pi] = s;
    }
    if (l->kind == FLOW_LINK_PAIR) {
        unsigned a = g->nodes[l->node[0]].instances;
        unsigned b = g->nodes[l->node[1]].instances;
        if (a != b && a != 1 && b != 1)
            return flow__diag(diag, FLOW_ELINK, g->file, l->line,
                              "pair link '%s' joins %u and %u instances: a "
                              "pair link needs equal counts or one instance "
                              "on a side",
                              l->text, a, b);
    }
    return 0;
}

/* The type end `s` of link `l` carries (FLOW_ANY: any, or still open). */
static flow_type_t
end_type(const flow_graph_t *g, const flow_glink_t *l, int s)
{
    return flow__port_type(&g->nodes[l->node[s]], l->port[s]);
}

/* Give end `to` of link `l` the type of end `from`, when `to` is a
 * FLOW_SAME port still open and `from` carries a type. True if it did. */
static bool
pass_type(flow_graph_t *g, const flow_glink_t *l, int from, int to)
{
    flow_gnode_t *n = &g->nodes[l->node[to]];
    flow_type_t t = end_type(g, l, from);

    if (n->desc->ports[l->port[to]].type != FLOW_SAME ||
        n->same_type != FLOW_ANY || t == FLOW_ANY)
        return false;
    n->same_type = t;
    return true;
}

/* What a FLOW_SAME end of a link says in a type mismatch. */
static const char *
same_note(const flow_graph_t *g, const flow_glink_t *l, int s, char *buf,
          size_t len)
{
    const flow_gnode_t *n = &g->nodes[l->node[s]];

    if (n->desc->ports[l->port[s]].type != FLOW_SAME)
        return "";
    snprintf(buf, len,
             " (node '%s' of type '%s' passes on what it receives: its "
             "links give it %s)",
             n->name, n->desc->name, flow_type_name(n->same_type));
    return buf;
}

/* A binary min-heap of 64-bit keys. */
typedef struct {
    uint64_t *k;
    size_t n, cap;
} heap_t;

static void
heap_push(heap_t *h, uint64_t key)
{
    size_t i;

    flow__xgrow((void **)&h->k, &h->cap, h->n + 1, sizeof(*h->k));
    for (i = h->n++; i > 0 && h->k[(i - 1) / 2] > key; i = (i - 1) / 2)
        h->k[i] = h->k[(i - 1) / 2];
    h->k[i] = key;
}

static uint64_t
heap_pop(heap_t *h)
{
    uint64_t top = h->k[0], last = h->k[--h->n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->k[c + 1] < h->k[c])
            c++;
        if (h->k[c] >= last)
            break;
        h->k[i] = h->k[c];
        i = c;
    }
    if (h->n)
        h->k[i] = last;
    return top;
}

/* The passes of a type along links, in the order of check_types' sweeps
 * (see there): pass `pos` is link pos / 2, from its first end to its
 * second for an even pos, the other way for an odd one. */
typedef struct {
    flow_graph_t *g;
    heap_t fwd;     /* keys sweep * 2 * nlinks + pos */
    heap_t back;    /* links whose second end carries a type */
    uint64_t sweep; /* the sweep under way */
} passes_t;

/* Node `n` just took a type in sweep `sweep`: the passes out of its
 * FLOW_SAME ports may now be made, in this sweep when they come at or
 * after pass `after`, else in the next. */
static void
typed(passes_t *ps, size_t n, uint64_t sweep, uint64_t after)
{
    const flow_gnode_t *gn = &ps->g->nodes[n];
    uint64_t width = 2 * (uint64_t)ps->g->nlinks;

    for (size_t i = 0; i < gn->nports; i++) {
        size_t li = (size_t)gn->port_link[i];
        int side = gn->port_side[i];
        uint64_t q = 2 * (uint64_t)li + (uint64_t)side;

        if (gn->desc->ports[i].type != FLOW_SAME)
            continue;
        if (side == 1)
            heap_push(&ps->back, li);
        if (side == 0 || ps->g->links[li].kind == FLOW_LINK_PAIR)
            heap_push(&ps->fwd, (q >= after ? sweep : sweep + 1) * width + q);
    }
}

/*
 * Check that the two ends of every link carry one type, following the
 * types through the nodes whose ports are FLOW_SAME (a tee, a jitter):
 * each such node takes the type of what is linked to it, first along the
 * push links, from producer to consumer, so that a mismatch is reported
 * where the stream enters the port that cannot take it; then any way,
 * until nothing changes. Then gives each link without an `hwm` its
 * default, which depends on the type. Returns 0 or FLOW_EPORT at the first
 * link, in file order, whose ends differ.
 *
 * The types go as by sweeps over the links in file order (each pass along
 * a push link, and both ways along a pair link) until a sweep changes
 * nothing, then by the first link in file order that can pass a type
 * backward (consumer to producer), then sweeps again, and so on: where a
 * node could take either of two types, the first so reached is its own,
 * and the link of the other the mismatch. Sweeping all the links again
 * and again was quadratic in a long chain written from its end (40,000
 * nodes: 6.4 s); a pass is made here only once the node at its start has a
 * type, in the sweep that would have made it.
 */
static int
check_types(flow_graph_t *g, flow_diag_t *diag)
{
    passes_t ps = { .g = g };
    uint64_t width = 2 * (uint64_t)g->nlinks;

    for (size_t i = 0; i < g->nlinks; i++) {
        heap_push(&ps.fwd, 2 * (uint64_t)i);
        if (g->links[i].kind == FLOW_LINK_PAIR)
            heap_push(&ps.fwd, 2 * (uint64_t)i + 1);
        if (end_type(g, &g->links[i], 1) != FLOW_ANY)
            heap_push(&ps.back, i);
    }
    for (;;) {
        if (ps.fwd.n) {
            uint64_t key = heap_pop(&ps.fwd), pos = key % width;
            const flow_glink_t *l = &g->links[pos / 2];
            int from = (int)(pos % 2);

            ps.sweep = key / width;
            if (pass_type(g, l, from, 1 - from))
                typed(&ps, l->node[1 - from], ps.sweep, pos + 1);
        } else if (ps.back.n) {
            const flow_glink_t *l = &g->links[heap_pop(&ps.back)];

            /* A new sweep, from the first link: every pass out of the
             * node comes in it. */
            if (pass_type(g, l, 1, 0))
                typed(&ps, l->node[0], ps.sweep + 1, 0);
        } else {
            break;
        }
    }
    free(ps.fwd.k);
    free(ps.back.k);
    for (size_t i = 0; i < g->nlinks; i++) {
        flow_glink_t *l = &g->links[i];
        flow_type_t t0 = end_type(g, l, 0), t1 = end_type(g, l, 1);
        char note[2][160];

        if (t0 != FLOW_ANY && t1 != FLOW_ANY && t0 != t1)
            return flow__diag(
                diag, FLOW_EPORT, g->file, l->line,
                "link '%s': port '%s.%s' carries %s%s but port '%s.%s' "
                "takes %s%s",
                l->text, g->nodes[l->node[0]].name, l->port_name[0],
                flow_type_name(t0), same_note(g, l, 0, note[0], 160),
                g->nodes[l->node[1]].name, l->port_name[1], flow_type_name(t1),
                same_note(g, l, 1, note[1], 160));
        int rr_hwm = flow__link_hwm_default(t0 != FLOW_ANY ? t0 : t1, l->batch);
        if (!l->hwm_set && l->demand)
            l->hwm = 1; /* one message waits at each consumer while it works */
        else if (!l->hwm_set)
            l->hwm = rr_hwm;
        if (l->demand) /* wider for fast consumers, as credit.h says */
            l->credit_max = l->hwm_set || rr_hwm < l->hwm ? l->hwm : rr_hwm;
    }
    return 0;
}

/*
 * Depth-first search for a push cycle; colour 1 = on the stack. The first
 * link (in the order of the file) that closes one, or -1. The stack is an
 * array, not the call stack: a chain of push links is as deep as the graph
 * is long (a recursion per node overflowed a thread's stack).
 */
static long
find_cycle(const flow_graph_t *g, unsigned char *colour)
{
    size_t n = g->nnodes, sp = 0;
    /* The push links out of node v: out[first[v] .. first[v + 1]), in the
     * order of the file; next[v] is the next of them to follow. */
    size_t *first = flow__xcalloc(n + 1, sizeof(*first));
    size_t *next = flow__xcalloc(n ? n : 1, sizeof(*next));
    size_t *out = flow__xcalloc(g->nlinks ? g->nlinks : 1, sizeof(*out));
    size_t *stack = flow__xcalloc(n ? n : 1, sizeof(*stack));
    long found = -1;

    for (size_t i = 0; i < g->nlinks; i++)
        if (g->links[i].kind == FLOW_LINK_PUSH)
            first[g->links[i].node[0] + 1]++;
    for (size_t v = 0; v < n; v++)
        next[v] = first[v + 1] += first[v];
    for (size_t i = g->nlinks; i-- > 0;)
        if (g->links[i].kind == FLOW_LINK_PUSH)
            out[--next[g->links[i].node[0]]] = i;
    for (size_t root = 0; root < n && found < 0; root++) {
        if (colour[root])
            continue;
        colour[root] = 1;
        stack[sp++] = root;
        while (sp && found < 0) {
            size_t v = stack[sp - 1], li, w;
            if (next[v] == first[v + 1]) {
                colour[v] = 2;
                sp--;
                continue;
            }
            li = out[next[v]++];
            w = g->links[li].node[1];
            if (colour[w] == 1)
                found = (long)li;
            else if (colour[w] == 0) {
                colour[w] = 1;
                stack[sp++] = w;
            }
        }
    }
    free(first);
    free(next);
    free(out);
    free(stack);
    return found;
}

unsigned
flow_check_instances(const flow_check_t *c)
{
    return c->n->instances;
}

/* The index of the check's node's linked port `port`, or -1 (unknown, or
 * not linked: the graph check has refused that before). */
static long
linked_port(const flow_check_t *c, const char *port)
{
    const flow_gnode_t *n = c->n;

    if (!port) /* no port: unknown, as in the harness and flow_node_* */
        return -1;
    for (size_t i = 0; i < n->nports; i++)
        if (!strcmp(n->desc->ports[i].name, port) && n->port_link[i] >= 0)
            return (long)i;
    return -1;
}

unsigned
flow_check_channels(const flow_check_t *c, const char *port)
{
    const flow_gnode_t *n = c->n;
    const flow_glink_t *l;
    long i;

    if (c->h)
        return flow__harness_channels((struct flow_harness *)c->h, port);
    if ((i = linked_port(c, port)) < 0)
        return 0;
    l = &c->g->links[n->port_link[i]];
    if (n->desc->ports[i].dir != FLOW_DIR_PAIR)
        return c->g->nodes[l->node[1 - n->port_side[i]]].instances;
    return flow__pair_channels(c->g->nodes[l->node[0]].instances,
                               c->g->nodes[l->node[1]].instances,
                               n->port_side[i]);
}

flow_type_t
flow_check_type(const flow_check_t *c, const char *port)
{
    const flow_gnode_t *n = c->n;
    const flow_glink_t *l;
    flow_type_t t;
    long i;

    if (c->h)
        return flow__harness_type((struct flow_harness *)c->h, port);
    if ((i = linked_port(c, port)) < 0)
        return FLOW_ANY;
    l = &c->g->links[n->port_link[i]];
    /* After check_types: the two ends agree where both are set. */
    t = end_type(c->g, l, n->port_side[i]);
    return t != FLOW_ANY ? t : end_type(c->g, l, 1 - n->port_side[i]);
}

/* The node's own check of its parameters, if its type has one. */
static int
check_callback(const flow_graph_t *g, const flow_gnode_t *n, flow_diag_t *diag)
{
    flow__check_fn *check = flow__desc_check_fn(n->desc);
    flow_check_t c = { g, n, NULL };
    char why[256] = "";

    if (!check || !check(&c, n->state, why, sizeof(why)))
        return 0;
    return flow__diag(diag, FLOW_EPARAM, g->file, n->line,
                      "node '%s' of type '%s': %s", n->name, n->desc->name,
                      why[0] ? why : "refused by its check");
}

int
flow__graph_check(flow_graph_t *g, flow_diag_t *diag)
{
    unsigned char *colour;
    long li;
    int rc;

    if (g->nnodes == 0)
        return flow__diag(diag, FLOW_EPARSE, g->file, 0,
                          "the graph has no nodes");
    for (size_t i = 0; i < g->nnodes; i++)
        if ((rc = check_node(g, &g->nodes[i], diag)))
            return rc;
    for (size_t i = 0; i < g->nlinks; i++)
        if ((rc = check_link(g, i, diag)))
            return rc;
    for (size_t i = 0; i < g->nnodes; i++) {
        flow_gnode_t *n = &g->nodes[i];
        for (size_t p = 0; p < n->nports; p++)
            if (n->port_link[p] < 0)
                return flow__diag(diag, FLOW_ELINK, g->file, n->line,
                                  "port '%s.%s' (%s, %s) is not linked",
                                  n->name, n->desc->ports[p].name,
                                  dir_word[n->desc->ports[p].dir],
                                  flow_type_name(n->desc->ports[p].type));
    }
    if ((rc = check_types(g, diag)))
        return rc;
    colour = flow__xcalloc(g->nnodes, 1);
    li = find_cycle(g, colour);
    free(colour);
    if (li >= 0)
        return flow__diag(diag, FLOW_ECYCLE, g->file, g->links[li].line,
                          "link '%s' closes a cycle of push links",
                          g->links[li].text);
    flow__claims_release(g);
    for (size_t i = 0; i < g->nnodes; i++)
        if ((rc = check_callback(g, &g->nodes[i], diag)))
            return rc;
    return 0;
}
