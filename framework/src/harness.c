/* SPDX-License-Identifier: MIT */
/*
 * harness.c: run one node in-process for its tests (flow/testing.h), and
 * run a whole graph through flowrun capturing its output.
 *
 * The node gets a flow_node_t whose `harness` pointer is set; node_*.c then
 * delegates flow_node_send, _recv, _close, _channels and _batch to the
 * flow__harness_* functions below, which move messages between the node and
 * per-port queues instead of sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flow/testing.h"
#include "internal.h"

#define DEFAULT_BATCH 1024

typedef struct hmsg {
    flow_msg_t *msg;
    unsigned channel;
    uint64_t order; /* inputs: push order over every port */
} hmsg_t;

typedef struct queue {
    hmsg_t *v;
    size_t head, tail, cap;
} queue_t;

typedef struct hport {
    const flow_port_t *decl;
    flow_type_t type; /* carried: declared, or for FLOW_ANY and FLOW_SAME
                         what flow_harness_set_type linked (FLOW_ANY: open) */
    size_t batch;
    unsigned nch;
    queue_t in;        /* input or pair: messages for the node */
    bool in_closed;    /* input or pair: ended by the test */
    bool cut;          /* input or pair: ended as cut short by a stop */
    bool given_up;     /* input: flow_node_close_input */
    queue_t out;       /* output or pair: messages the node sent */
    bool *out_closed;  /* output or pair: per channel, ended by the node */
    unsigned rr;       /* next channel for flow_node_send */
    uint64_t next_seq; /* output of a source of one instance: its numbers */
    uint64_t *taken;   /* input: per channel, messages the node took (nch
                          of them, from its first take), and */
    uint64_t *held;    /* of those, held (flow_node_hold) */
} hport_t;

/* Whether `p` takes messages of any type: FLOW_ANY, or FLOW_SAME (which
 * only a graph's links give a type), that flow_harness_set_type left
 * open. */
static bool
carries_any(const hport_t *p)
{
    return p->type == FLOW_ANY;
}

struct flow_harness {
    const flow_node_desc_t *desc;
    void *state;
    flow_gnode_t gn; /* name, instances and desc, for node.c */
    flow_node_t *node;
    hport_t *ports;
    size_t nports;
    bool started, init_ok, done, failed;
    bool processing;
    uint64_t cur_seq;
    unsigned last_ch; /* channel of the last message taken from an input */
    uint64_t pushed;
    char error[FLOW_DIAG_MSG];
};

/* Whether the node has outputs only (a source). */
static bool
is_source(const struct flow_harness *h)
{
    for (size_t i = 0; i < h->nports; i++)
        if (h->ports[i].decl->dir != FLOW_DIR_OUT)
            return false;
    return true;
}

/* ---- exit() in a callback ------------------------------------------------ */

/*
 * The node whose callback runs now, and which one: in a graph, an instance
 * that calls exit() before the end of its run fails the run, whatever its
 * status ("exited with status 0 before the end of its run"). In a harness
 * the exit would end the test program, with the node's status: exit(0)
 * from a callback made a test pass. at_exit below makes it fail instead.
 */
static const char *cb_node;
static const char *cb_what;
static pid_t cb_pid; /* the test's process: a child the node forked and
                      * that exits is not the node exiting */

static void
at_exit(void)
{
    if (!cb_node || getpid() != cb_pid)
        return;
    fflush(NULL);
    fprintf(stderr,
            "flow harness: node '%s' called exit() in %s: a node returns, "
            "never exits (in a graph the run fails: 'exited before the end "
            "of its run')\n",
            cb_node, cb_what);
    _exit(EXIT_FAILURE); /* not exit(): this runs inside it */
}

/* Note that `h`'s callback `what` is about to run (NULL: it returned, or
 * none runs; `h` may then be NULL). */
static void
in_callback(const flow_harness_t *h, const char *what)
{
    static atomic_flag registered = ATOMIC_FLAG_INIT;

    if (what && !atomic_flag_test_and_set(&registered))
        atexit(at_exit);
    cb_node = what ? h->desc->name : NULL;
    cb_what = what;
    cb_pid = getpid();
}

/* Call the node's fini(), if it has one, under the exit() watch. */
static void
call_fini(flow_harness_t *h)
{
    if (h->desc->fini) {
        in_callback(h, "fini()");
        h->desc->fini(h->node, h->state);
        in_callback(h, NULL);
    }
}

/* ---- Queues -------------------------------------------------------------- */

static void
queue_put(queue_t *q, flow_msg_t *msg, unsigned channel, uint64_t order)
{
    if (q->head > 0 && q->tail == q->cap) {
        memmove(q->v, q->v + q->head, (q->tail - q->head) * sizeof(*q->v));
        q->tail -= q->head;
        q->head = 0;
    }
    flow__xgrow((void **)&q->v, &q->cap, q->tail + 1, sizeof(*q->v));
    q->v[q->tail].msg = msg;
    q->v[q->tail].channel = channel;
    q->v[q->tail].order = order;
    q->tail++;
}

static size_t
queue_len(const queue_t *q)
{
    return q->tail - q->head;
}

/*
 * Remove the first message of `q` (from `channel` only, if >= 0) and return
 * it (transfer full), or NULL.
 */
static flow_msg_t *
queue_take(queue_t *q, long channel, unsigned *channel_out)
{
    for (size_t i = q->head; i < q->tail; i++) {
        hmsg_t m = q->v[i];
        if (channel >= 0 && m.channel != (unsigned long)channel)
            continue;
        /* The first one (the usual case) is taken by moving the head: a
         * memmove of the rest made a run of n queued messages take n^2/2
         * moves (65536 of them took 19 s of CPU under AddressSanitizer). */
        if (i == q->head)
            q->head++;
        else {
            memmove(q->v + i, q->v + i + 1, (q->tail - i - 1) * sizeof(*q->v));
            q->tail--;
        }
        if (channel_out)
            *channel_out = m.channel;
        return m.msg;
    }
    return NULL;
}

static void
queue_release(queue_t *q)
{
    for (size_t i = q->head; i < q->tail; i++)
        flow_msg_destroy(&q->v[i].msg);
    free(q->v);
    memset(q, 0, sizeof(*q));
}

/* ---- Creating and destroying --------------------------------------------- */

static hport_t *
find_port(const flow_harness_t *h, const char *name)
{
    for (size_t i = 0; name && i < h->nports; i++)
        if (!strcmp(h->ports[i].decl->name, name))
            return &h->ports[i];
    return NULL;
}

/* Count a message taken from channel `ch` of port `p` (an input's, for
 * flow_node_hold's check; a pair port's is not counted). */
static void
count_take(hport_t *p, unsigned ch)
{
    if (p->decl->dir != FLOW_DIR_IN || ch >= p->nch)
        return;
    if (!p->taken) {
        p->taken = flow__xcalloc(p->nch, sizeof(*p->taken));
        p->held = flow__xcalloc(p->nch, sizeof(*p->held));
    }
    p->taken[ch]++;
}

static const flow_param_t *
find_param(const flow_node_desc_t *d, const char *name, size_t len)
{
    for (const flow_param_t *p = d->params; p && p->name; p++)
        if (strlen(p->name) == len && !memcmp(p->name, name, len))
            return p;
    return NULL;
}

/*
 * Resolve the references of value `*value` as a graph does its node
 * values: "$${" is a literal "${" (replaced in `*value`); a "${name}" is
 * an error, as a harness has no graph parameters (a graph refuses the
 * value when it declares none of that name). Returns 0, or FLOW_EPARAM
 * with `diag` filled.
 */
static int
resolve_refs(const flow_harness_t *h, const flow_param_t *p, char *value,
             flow_diag_t *diag)
{
    char *in = value, *out = value;

    for (;;) {
        const char *esc, *ref = flow__next_ref(in, &esc);
        size_t n = (size_t)((esc ? esc : ref ? ref : in + strlen(in)) - in);
        memmove(out, in, n);
        out += n;
        in += n;
        if (esc) { /* "$${": a literal "${" */
            *out++ = '$';
            *out++ = '{';
            in += 3;
        } else if (ref) {
            const char *end = strchr(in, '}');
            if (!end || end == in + 2)
                return flow__diag(diag, FLOW_EPARAM, NULL, 0,
                                  "%s in parameter '%s' of node type '%s' "
                                  "(a literal '${' is written '$${')",
                                  !end ? "unterminated '${'"
                                       : "empty parameter name '${}'",
                                  p->name, h->desc->name);
            return flow__diag(diag, FLOW_EPARAM, NULL, 0,
                              "undefined graph parameter '%.*s' in parameter "
                              "'%s' of node type '%s' (a harness has none: "
                              "give the value; a literal '${' is written "
                              "'$${')",
                              (int)(end - in - 2), in + 2, p->name,
                              h->desc->name);
        } else {
            break; /* all of it copied */
        }
    }
    *out = '\0';
    return 0;
}

/* Parse `params` into h->state, then the defaults of the others. */
static int
set_params(flow_harness_t *h, const char *const *params, size_t nparams,
           flow_diag_t *diag)
{
    const flow_node_desc_t *d = h->desc;
    const flow_param_t **given =
        flow__xcalloc(nparams ? nparams : 1, sizeof(*given));
    char why[256];
    int rc = 0;

    for (size_t i = 0; i < nparams && !rc; i++) {
        const char *key = NULL, *v = NULL;
        size_t klen = 0, vlen = 0;
        char *value = flow__split_kv(params[i], &key, &klen, &v, &vlen)
                          ? flow__xstrndup(v, vlen)
                          : NULL;
        const flow_param_t *p;

        /* Spaces and tabs around the key and the value go, as the INI
         * reader and --set take them ("n = 3" is n=3). */
        if (!value) {
            rc = flow__diag(diag, FLOW_EPARAM, NULL, 0,
                            "parameter '%s' for node type '%s' is not "
                            "key=value",
                            params[i] ? params[i] : "(null)", d->name);
            break;
        }
        p = find_param(d, key, klen);
        if (!p)
            rc = flow__diag(diag, FLOW_EPARAM, NULL, 0,
                            "unknown parameter '%.*s' for node type '%s'",
                            (int)klen, key, d->name);
        for (size_t k = 0; k < i && !rc; k++)
            if (given[k] == p)
                rc = flow__diag(diag, FLOW_EPARAM, NULL, 0,
                                "parameter '%s' given twice", p->name);
        if (!rc)
            rc = resolve_refs(h, p, value, diag);
        if (!rc && flow__param_set(p, value, h->state, why, sizeof(why)))
            rc = flow__diag(diag, FLOW_EPARAM, NULL, 0,
                            "bad value '%s' for parameter '%s' of node "
                            "type '%s': %s",
                            value, p->name, d->name, why);
        given[i] = p;
        free(value);
    }
    for (const flow_param_t *p = d->params; !rc && p && p->name; p++) {
        bool set = false;
        for (size_t k = 0; k < nparams && !set; k++)
            set = given[k] == p;
        if (set)
            continue;
        if (!p->def)
            rc = flow__diag(diag, FLOW_EPARAM, NULL, 0,
                            "missing required parameter '%s' for node "
                            "type '%s'",
                            p->name, d->name);
        else if (flow__param_set(p, p->def, h->state, why, sizeof(why)))
            rc = flow__diag(diag, FLOW_EABI, NULL, 0,
                            "default of '%s' in type '%s' is bad: %s", p->name,
                            d->name, why);
    }
    free(given);
    return rc;
}

flow_harness_t *
flow_harness_new(const flow_node_desc_t *desc, const char *const *params,
                 size_t nparams, flow_diag_t *diag)
{
    flow_harness_t *h;
    size_t n = 0;

    in_callback(NULL, NULL); /* as in flow_harness_destroy */
    if (!desc) {
        flow__diag(diag, FLOW_EABI, NULL, 0, "no node descriptor");
        return NULL;
    }
    if (flow__desc_check(desc, desc->name ? desc->name : "harness", diag))
        return NULL;
    h = flow__xcalloc(1, sizeof(*h));
    h->desc = desc;
    h->state = flow__xcalloc(1, desc->state_size ? desc->state_size : 1);
    h->gn.name = flow__xstrdup(desc->name);
    h->gn.type = flow__xstrdup(desc->name);
    h->gn.instances = 1;
    h->gn.desc = desc;
    h->gn.log_level = -1;
    for (const flow_port_t *p = desc->ports; p && p->name; p++)
        n++;
    h->nports = n;
    h->gn.nports = n;
    h->ports = flow__xcalloc(n ? n : 1, sizeof(*h->ports));
    for (size_t i = 0; i < n; i++) {
        h->ports[i].decl = &desc->ports[i];
        h->ports[i].type =
            desc->ports[i].type == FLOW_SAME ? FLOW_ANY : desc->ports[i].type;
        h->ports[i].batch = DEFAULT_BATCH;
        h->ports[i].nch = 1;
    }
    h->node = flow__node_new_harness(h, &h->gn, 0);
    if (set_params(h, params, nparams, diag)) {
        flow_harness_destroy(&h);
        return NULL;
    }
    return h;
}

void
flow_harness_destroy(flow_harness_t **h_p)
{
    flow_harness_t *h;

    /* A callback left by a longjmp (a test framework's failed assertion
     * in it) is over too: its exit watch ends here. */
    in_callback(NULL, NULL);
    if (!h_p || !*h_p)
        return;
    h = *h_p;
    if (h->init_ok && !h->done)
        call_fini(h);
    for (size_t i = 0; i < h->nports; i++) {
        queue_release(&h->ports[i].in);
        queue_release(&h->ports[i].out);
        free(h->ports[i].out_closed);
        free(h->ports[i].taken);
        free(h->ports[i].held);
    }
    free(h->ports);
    flow__param_release(h->desc->params, h->state);
    free(h->state);
    flow__node_destroy_harness(&h->node);
    free(h->gn.name);
    free(h->gn.type);
    free(h);
    *h_p = NULL;
}

int
flow_harness_set_instance(flow_harness_t *h, unsigned instance,
                          unsigned instances)
{
    if (h->started || instance >= instances ||
        (h->desc->max_instances && instances > h->desc->max_instances))
        return FLOW_EUSAGE;
    h->gn.instances = instances;
    flow__node_destroy_harness(&h->node);
    h->node = flow__node_new_harness(h, &h->gn, instance);
    return 0;
}

int
flow_harness_set_batch(flow_harness_t *h, const char *port, size_t batch)
{
    hport_t *p = find_port(h, port);

    if (!p)
        return FLOW_EPORT;
    if (h->started || batch == 0)
        return FLOW_EUSAGE;
    p->batch = batch;
    return 0;
}

/* Whether `p` can carry `type` alone: it carries any or that type, and
 * holds no message pushed (while it was open) of another. */
static bool
can_carry(const hport_t *p, flow_type_t type)
{
    if (p->type != FLOW_ANY && p->type != type)
        return false;
    for (size_t i = p->in.head; i < p->in.tail; i++)
        if (flow_msg_type(p->in.v[i].msg) != type)
            return false;
    return true;
}

int
flow_harness_set_type(flow_harness_t *h, const char *port, flow_type_t type)
{
    hport_t *p = find_port(h, port);

    if (!p)
        return FLOW_EPORT;
    if (h->started ||
        (type != FLOW_INT64 && type != FLOW_WORDS && type != FLOW_BYTES))
        return FLOW_EUSAGE;
    if (p->decl->type != FLOW_SAME) {
        if (!can_carry(p, type))
            return FLOW_EPORT; /* a link the graph refuses */
        p->type = type;
        return 0;
    }
    /* Every FLOW_SAME port of the node carries one type, as in a graph. */
    for (size_t i = 0; i < h->nports; i++)
        if (h->ports[i].decl->type == FLOW_SAME &&
            !can_carry(&h->ports[i], type))
            return FLOW_EPORT;
    for (size_t i = 0; i < h->nports; i++)
        if (h->ports[i].decl->type == FLOW_SAME)
            h->ports[i].type = type;
    return 0;
}

int
flow_harness_set_channels(flow_harness_t *h, const char *port,
                          unsigned channels)
{
    hport_t *p = find_port(h, port);

    if (!p)
        return FLOW_EPORT;
    if (h->started || channels == 0)
        return FLOW_EUSAGE;
    p->nch = channels;
    return 0;
}

/* ---- Feeding ------------------------------------------------------------- */

int
flow_harness_push_to(flow_harness_t *h, const char *port, unsigned channel,
                     flow_msg_t **msg_p)
{
    hport_t *p = find_port(h, port);

    if (!p || p->decl->dir == FLOW_DIR_OUT || p->in_closed || !*msg_p ||
        channel >= p->nch ||
        (!carries_any(p) && flow_msg_type(*msg_p) != p->type)) {
        flow_msg_destroy(msg_p);
        return FLOW_EPORT;
    }
    if (p->given_up) { /* read no more: dropped, as in a graph */
        flow_msg_destroy(msg_p);
        return 0;
    }
    queue_put(&p->in, *msg_p, channel, h->pushed++);
    *msg_p = NULL;
    return 0;
}

int
flow_harness_push(flow_harness_t *h, const char *port, flow_msg_t **msg_p)
{
    return flow_harness_push_to(h, port, 0, msg_p);
}

int
flow_harness_push_i64s(flow_harness_t *h, const char *port,
                       const int64_t *values, size_t n, uint64_t seq)
{
    flow_msg_t *msg;

    if (!values && n)
        return FLOW_EPARAM;
    msg = flow_msg_new(FLOW_INT64, n);
    if (n && flow_msg_add_i64s(msg, values, n)) {
        flow_msg_destroy(&msg);
        return FLOW_EPARAM;
    }
    flow_msg_set_seq(msg, seq);
    return flow_harness_push(h, port, &msg);
}

int
flow_harness_push_words(flow_harness_t *h, const char *port,
                        const char *const *words, size_t n, uint64_t seq)
{
    flow_msg_t *msg;

    if (!words && n)
        return FLOW_EPARAM;
    msg = flow_msg_new(FLOW_WORDS, n);
    for (size_t i = 0; i < n; i++) {
        int rc = flow_msg_add_word(msg, words[i], strlen(words[i]));
        if (rc) {
            flow_msg_destroy(&msg);
            return rc;
        }
    }
    flow_msg_set_seq(msg, seq);
    return flow_harness_push(h, port, &msg);
}

int
flow_harness_push_bytes(flow_harness_t *h, const char *port, const void *data,
                        size_t len, uint64_t seq)
{
    flow_msg_t *msg;
    int rc;

    if (!data && len)
        return FLOW_EPARAM;
    msg = flow_msg_new(FLOW_BYTES, len);
    if (len && (rc = flow_msg_add_bytes(msg, data, len))) {
        flow_msg_destroy(&msg);
        return rc;
    }
    flow_msg_set_seq(msg, seq);
    return flow_harness_push(h, port, &msg);
}

int
flow_harness_close(flow_harness_t *h, const char *port)
{
    hport_t *p = find_port(h, port);

    if (!p || p->decl->dir == FLOW_DIR_OUT)
        return FLOW_EPORT;
    p->in_closed = true;
    return 0;
}

int
flow_harness_close_cut(flow_harness_t *h, const char *port)
{
    int rc = flow_harness_close(h, port);

    if (rc == 0)
        find_port(h, port)->cut = true;
    return rc;
}

int
flow_harness_close_all(flow_harness_t *h)
{
    for (size_t i = 0; i < h->nports; i++)
        if (h->ports[i].decl->dir != FLOW_DIR_OUT)
            h->ports[i].in_closed = true;
    return 0;
}

/* ---- Running ------------------------------------------------------------- */

/* Record why the node failed, call fini, and mark it done. */
static int
fail(flow_harness_t *h, const char *what, int rc)
{
    const char *why = flow__node_failure(h->node);
    char code[64];

    h->failed = true;
    if (why)
        snprintf(h->error, sizeof(h->error), "%s", why);
    else
        snprintf(h->error, sizeof(h->error), "%s returned %s", what,
                 flow__code_text(rc, code, sizeof(code)));
    if (h->init_ok)
        call_fini(h);
    h->done = true;
    return rc < 0 ? rc : FLOW_ENODE;
}

/* Run finish, end every output, run fini: the node is done. */
static int
finish(flow_harness_t *h)
{
    int rc;

    if (h->desc->finish) {
        in_callback(h, "finish()");
        rc = h->desc->finish(h->node, h->state);
        in_callback(h, NULL);
        if ((rc = flow__node_cb_result(h->node, "finish()", rc)) < 0)
            return fail(h, "finish()", rc);
    }
    for (size_t i = 0; i < h->nports; i++)
        if (h->ports[i].decl->dir != FLOW_DIR_IN &&
            (rc = flow_node_close(h->node, h->ports[i].decl->name)) < 0)
            return fail(h, "closing", rc);
    /* What run() left unread: a graph reads it until the producers end,
     * discards it and says so (node.c, flow__node_drain_inputs). */
    for (size_t i = 0; i < h->nports; i++) {
        hport_t *p = &h->ports[i];
        size_t n = queue_len(&p->in);
        flow_msg_t *msg;

        if (!n)
            continue;
        while ((msg = queue_take(&p->in, -1, NULL)))
            flow_msg_destroy(&msg);
        flow_node_log(h->node, FLOW_LOG_WARN,
                      "discarded %zu unread message%s on port '%s'", n,
                      n == 1 ? "" : "s", p->decl->name);
    }
    call_fini(h);
    h->done = true;
    if (flow__node_failure(h->node)) { /* in fini: fails as in a graph */
        h->failed = true;
        snprintf(h->error, sizeof(h->error), "%s", flow__node_failure(h->node));
        return FLOW_ENODE;
    }
    return 0;
}

/* Return the port whose first queued message was pushed first, or NULL. */
static hport_t *
next_input(flow_harness_t *h)
{
    hport_t *best = NULL;

    for (size_t i = 0; i < h->nports; i++) {
        hport_t *p = &h->ports[i];
        if (queue_len(&p->in) && (!best || p->in.v[p->in.head].order <
                                               best->in.v[best->in.head].order))
            best = p;
    }
    return best;
}

int
flow_harness_run(flow_harness_t *h)
{
    const flow_node_desc_t *d = h->desc;
    hport_t *p;
    int rc;

    if (h->done)
        return FLOW_EUSAGE;
    if (!h->started) {
        flow__check_fn *check = flow__desc_check_fn(d);
        flow_check_t c = { NULL, &h->gn, h };
        char why[256] = "";

        h->started = true;
        for (size_t i = 0; i < h->nports; i++)
            if (h->ports[i].decl->dir != FLOW_DIR_IN)
                h->ports[i].out_closed =
                    flow__xcalloc(h->ports[i].nch, sizeof(bool));
        /* As flowrun --check does, with the channels set by then. */
        rc = 0;
        if (check) {
            in_callback(h, "check()");
            rc = check(&c, h->state, why, sizeof(why));
            in_callback(h, NULL);
        }
        if (rc) {
            h->failed = true;
            h->done = true;
            snprintf(h->error, sizeof(h->error), "%s",
                     why[0] ? why : "refused by its check");
            return FLOW_EPARAM;
        }
        if (d->init) {
            in_callback(h, "init()");
            rc = d->init(h->node, h->state);
            in_callback(h, NULL);
            if ((rc = flow__node_cb_result(h->node, "init()", rc)) < 0)
                return fail(h, "init()", rc);
        }
        h->init_ok = true;
    }
    if (d->run) {
        in_callback(h, "run()");
        rc = d->run(h->node, h->state);
        in_callback(h, NULL);
        if ((rc = flow__node_cb_result(h->node, "run()", rc)) < 0)
            return fail(h, "run()", rc);
        return finish(h);
    }
    while ((p = next_input(h))) {
        flow_msg_t *msg = queue_take(&p->in, -1, &h->last_ch);
        count_take(p, h->last_ch);
        h->processing = true;
        h->cur_seq = flow_msg_seq(msg);
        in_callback(h, "process()");
        rc = d->process(h->node, h->state, p->decl->name, &msg);
        in_callback(h, NULL);
        rc = flow__node_cb_result(h->node, "process()", rc);
        h->processing = false;
        flow_msg_destroy(&msg);
        if (rc < 0)
            return fail(h, "process()", rc);
    }
    for (size_t i = 0; i < h->nports; i++)
        if (h->ports[i].decl->dir != FLOW_DIR_OUT && !h->ports[i].in_closed &&
            !h->ports[i].given_up)
            return 0;
    return finish(h);
}

int
flow_harness_done(const flow_harness_t *h)
{
    return h->done;
}

const char *
flow_harness_error(const flow_harness_t *h)
{
    return h->failed ? h->error : NULL;
}

/* ---- Collecting ---------------------------------------------------------- */

static bool
all_closed(const hport_t *p)
{
    if (!p->out_closed)
        return false;
    for (unsigned c = 0; c < p->nch; c++)
        if (!p->out_closed[c])
            return false;
    return true;
}

int
flow_harness_pull(flow_harness_t *h, const char *port, flow_msg_t **msg_p,
                  unsigned *channel)
{
    hport_t *p = find_port(h, port);

    *msg_p = NULL;
    if (!p || p->decl->dir == FLOW_DIR_IN)
        return FLOW_EPORT;
    *msg_p = queue_take(&p->out, -1, channel);
    if (*msg_p)
        return 0;
    return all_closed(p) ? FLOW_EOF : FLOW_ENOENT;
}

size_t
flow_harness_pending(const flow_harness_t *h, const char *port)
{
    const hport_t *p = find_port(h, port);

    return p ? queue_len(&p->out) : 0;
}

/* Check that every message queued on `p` has `type`; count their items. */
static bool
out_items(const hport_t *p, flow_type_t type, size_t *items)
{
    *items = 0;
    if (p->decl->dir == FLOW_DIR_IN)
        return false;
    for (size_t i = p->out.head; i < p->out.tail; i++) {
        if (flow_msg_type(p->out.v[i].msg) != type)
            return false;
        *items += flow_msg_count(p->out.v[i].msg);
    }
    return true;
}

int64_t *
flow_harness_pull_i64s(flow_harness_t *h, const char *port, size_t *n)
{
    hport_t *p = find_port(h, port);
    int64_t *all = NULL;
    size_t items, k = 0;
    flow_msg_t *msg;

    *n = 0;
    if (!p || !out_items(p, FLOW_INT64, &items))
        return NULL;
    if (items)
        all = flow__xmalloc(items * sizeof(*all));
    while ((msg = queue_take(&p->out, -1, NULL))) {
        size_t c = flow_msg_count(msg);
        if (c)
            memcpy(all + k, flow_msg_i64(msg), c * sizeof(*all));
        k += c;
        flow_msg_destroy(&msg);
    }
    *n = items;
    return all;
}

char **
flow_harness_pull_words(flow_harness_t *h, const char *port, size_t *n)
{
    hport_t *p = find_port(h, port);
    size_t items, bytes = 0, k = 0;
    char **all;
    char *text;
    flow_msg_t *msg;

    *n = 0;
    if (!p || !out_items(p, FLOW_WORDS, &items))
        return NULL;
    if (!items) {
        while ((msg = queue_take(&p->out, -1, NULL)))
            flow_msg_destroy(&msg);
        return NULL;
    }
    for (size_t i = p->out.head; i < p->out.tail; i++)
        for (size_t w = 0; w < flow_msg_count(p->out.v[i].msg); w++) {
            size_t len;
            flow_msg_word(p->out.v[i].msg, w, &len);
            bytes += len + 1;
        }
    all = flow__xmalloc((items + 1) * sizeof(*all) + bytes);
    text = (char *)(all + items + 1);
    while ((msg = queue_take(&p->out, -1, NULL))) {
        for (size_t w = 0; w < flow_msg_count(msg); w++) {
            size_t len;
            const char *word = flow_msg_word(msg, w, &len);
            memcpy(text, word, len + 1);
            all[k++] = text;
            text += len + 1;
        }
        flow_msg_destroy(&msg);
    }
    all[k] = NULL;
    *n = items;
    return all;
}

char *
flow_harness_pull_bytes(flow_harness_t *h, const char *port, size_t *len)
{
    hport_t *p = find_port(h, port);
    size_t items, k = 0;
    flow_msg_t *msg;
    char *all;

    *len = 0;
    if (!p || !out_items(p, FLOW_BYTES, &items))
        return NULL;
    if (!items) {
        while ((msg = queue_take(&p->out, -1, NULL)))
            flow_msg_destroy(&msg);
        return NULL;
    }
    all = flow__xmalloc(items + 1);
    while ((msg = queue_take(&p->out, -1, NULL))) {
        size_t c;
        const void *b = flow_msg_bytes(msg, &c);
        if (c)
            memcpy(all + k, b, c);
        k += c;
        flow_msg_destroy(&msg);
    }
    all[k] = '\0';
    *len = items;
    return all;
}

/* ---- Hooks called by node.c and node_*.c --------------------------------- */

unsigned
flow__harness_channels(struct flow_harness *h, const char *port)
{
    const hport_t *p = find_port(h, port);

    return p ? p->nch : 0;
}

flow_type_t
flow__harness_type(struct flow_harness *h, const char *port)
{
    const hport_t *p = find_port(h, port);

    return p ? p->type : FLOW_ANY;
}

unsigned
flow__harness_channel(const struct flow_harness *h)
{
    return h->last_ch;
}

size_t
flow__harness_batch(struct flow_harness *h, const char *port)
{
    const hport_t *p = find_port(h, port);

    return p ? p->batch : 0;
}

int
flow__harness_hwm(struct flow_harness *h, const char *port)
{
    const hport_t *p = find_port(h, port);

    return p ? flow__link_hwm_default(p->type, p->batch) : 0;
}

int
flow__harness_send(struct flow_harness *h, const char *port, bool any,
                   unsigned channel, flow_msg_t **msg_p)
{
    hport_t *p = find_port(h, port);
    flow_node_t *node = h->node;
    int rc = FLOW_EPORT;

    if (!p)
        flow_node_fail(node, "send on unknown port '%s'", port);
    else if (p->decl->dir == FLOW_DIR_IN)
        flow_node_fail(node, "send on input port '%s'", port);
    else if (!*msg_p)
        flow_node_fail(node, "send of a NULL message on port '%s'", port);
    else if (!carries_any(p) && flow_msg_type(*msg_p) != p->type)
        flow_node_fail(node,
                       "send of a %s message on port '%s', which carries %s",
                       flow_type_name(flow_msg_type(*msg_p)), port,
                       flow_type_name(p->type));
    else if (!p->out_closed)
        flow_node_fail(node, "send on port '%s' before init", port);
    else if (!any && channel >= p->nch)
        flow_node_fail(node, "send on port '%s' to channel %u of %u", port,
                       channel, p->nch);
    else
        rc = 0;
    if (!rc && any) {
        /* Round robin over the channels not ended, as in a graph. */
        rc = FLOW_EPORT;
        for (unsigned k = 0; k < p->nch && rc; k++) {
            unsigned c = (p->rr + k) % p->nch;
            if (!p->out_closed[c]) {
                channel = c;
                p->rr = (c + 1) % p->nch;
                rc = 0;
            }
        }
        if (rc)
            flow_node_fail(node, "send on port '%s' after its end", port);
    } else if (!rc && p->out_closed[channel]) {
        rc = FLOW_EPORT;
        if (p->nch == 1)
            flow_node_fail(node, "send on port '%s' after its end", port);
        else
            flow_node_fail(node, "send on port '%s' channel %u after its end",
                           port, channel);
    }
    if (rc) {
        flow_msg_destroy(msg_p);
        return FLOW_EPORT;
    }
    if (flow_msg_seq(*msg_p) == FLOW_SEQ_NONE) {
        /* Numbered as in a graph (node_send.c's seq_for_send). */
        if (h->processing)
            flow_msg_set_seq(*msg_p, h->cur_seq);
        else if (h->gn.instances == 1 && is_source(h))
            flow_msg_set_seq(*msg_p, p->next_seq++);
    }
    queue_put(&p->out, *msg_p, channel, 0);
    *msg_p = NULL;
    return 0;
}

int
flow__harness_recv(struct flow_harness *h, const char *port, bool any,
                   unsigned channel, flow_msg_t **msg_p)
{
    hport_t *p = find_port(h, port);
    flow_node_t *node = h->node;

    *msg_p = NULL; /* an output only: what it held is not read */
    if (!p || p->decl->dir == FLOW_DIR_OUT ||
        (!any && (p->decl->dir != FLOW_DIR_PAIR || channel >= p->nch))) {
        if (!p)
            flow_node_fail(node, "receive on unknown port '%s'", port);
        else if (p->decl->dir == FLOW_DIR_OUT)
            flow_node_fail(node, "receive on output port '%s'", port);
        else
            flow_node_fail(node, "receive from channel %u of port '%s'",
                           channel, port);
        return FLOW_EPORT; /* as in a graph: a misused port */
    }
    *msg_p = queue_take(&p->in, any ? -1 : (long)channel, &h->last_ch);
    if (*msg_p) {
        count_take(p, h->last_ch);
        return 0;
    }
    if (p->in_closed || p->given_up)
        return FLOW_EOF;
    return flow_node_fail(node,
                          "receive on port '%s': nothing queued and the port "
                          "not ended (flow_harness_close), so it would block "
                          "forever",
                          port);
}

int
flow__harness_close_input(struct flow_harness *h, const char *port)
{
    hport_t *p = find_port(h, port);
    flow_msg_t *msg;

    if (!p || p->decl->dir != FLOW_DIR_IN) {
        flow_node_fail(h->node, "give up of %s port '%s' (an input only)",
                       !p                              ? "unknown"
                       : p->decl->dir == FLOW_DIR_PAIR ? "pair"
                                                       : "output",
                       port);
        return FLOW_EPORT;
    }
    p->given_up = true;
    while ((msg = queue_take(&p->in, -1, NULL)))
        flow_msg_destroy(&msg);
    return 0;
}

int
flow__harness_stop_ends_recv(struct flow_harness *h, const char *port)
{
    const hport_t *p = find_port(h, port);

    if (p && p->decl->dir == FLOW_DIR_PAIR)
        return 0;
    flow_node_fail(h->node,
                   "a stop that ends the receives of %s port '%s' (a pair "
                   "port only)",
                   !p                            ? "unknown"
                   : p->decl->dir == FLOW_DIR_IN ? "input"
                                                 : "output",
                   port ? port : "(null)");
    return FLOW_EPORT;
}

/* flow__harness_hold and flow__harness_release, `what` saying which. */
static int
hold_check(struct flow_harness *h, const char *what, const char *port,
           unsigned channel)
{
    hport_t *p = find_port(h, port);

    if (!p || p->decl->dir != FLOW_DIR_IN) {
        flow_node_fail(h->node, "%s on %s port '%s' (an input only)", what,
                       !p                              ? "unknown"
                       : p->decl->dir == FLOW_DIR_PAIR ? "pair"
                                                       : "output",
                       port ? port : "(null)");
        return FLOW_EPORT;
    }
    if (channel >= p->nch) {
        flow_node_fail(h->node,
                       "%s on port '%s': producer %u of %u (channels count "
                       "from 0)",
                       what, port, channel, p->nch);
        return FLOW_EPORT;
    }
    return 0;
}

int
flow__harness_hold(struct flow_harness *h, const char *port, unsigned channel,
                   unsigned n)
{
    hport_t *p = find_port(h, port);
    uint64_t free_ = 0;
    int rc = hold_check(h, "hold", port, channel);

    if (rc)
        return rc;
    if (p->taken)
        free_ = p->taken[channel] - p->held[channel];
    if (n > free_) {
        flow_node_fail(h->node,
                       "hold of %u messages from producer %u on port '%s', "
                       "which sent %" PRIu64 " not held",
                       n, channel, port, free_);
        return FLOW_EPORT;
    }
    p->held[channel] += n;
    return 0;
}

int
flow__harness_release(struct flow_harness *h, const char *port,
                      unsigned channel, unsigned n)
{
    hport_t *p = find_port(h, port);
    int rc = hold_check(h, "release", port, channel);

    if (rc)
        return rc;
    if (p->held)
        p->held[channel] -= n < p->held[channel] ? n : p->held[channel];
    return 0;
}

bool
flow__harness_input_cut(const struct flow_harness *h, const char *port)
{
    const hport_t *p = find_port(h, port);

    return p && p->decl->dir != FLOW_DIR_OUT && p->cut &&
           queue_len(&p->in) == 0;
}

bool
flow_harness_input_given_up(const flow_harness_t *h, const char *port)
{
    const hport_t *p = find_port(h, port);

    return p && p->given_up;
}

int
flow__harness_close(struct flow_harness *h, const char *port, bool all,
                    unsigned channel)
{
    hport_t *p = find_port(h, port);
    flow_node_t *node = h->node;

    if (!p || p->decl->dir == FLOW_DIR_IN) {
        flow_node_fail(node, "close of %s port '%s'", p ? "input" : "unknown",
                       port);
        return FLOW_EPORT;
    }
    if (!p->out_closed) {
        flow_node_fail(node, "close of port '%s' before init", port);
        return FLOW_EPORT;
    }
    if (!all && channel >= p->nch) {
        flow_node_fail(node, "close of port '%s' channel %u of %u", port,
                       channel, p->nch);
        return FLOW_EPORT;
    }
    for (unsigned c = 0; c < p->nch; c++)
        if (all || c == channel)
            p->out_closed[c] = true;
    return 0;
}

/* ---- A whole graph ------------------------------------------------------- */

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    flow__xgrow((void **)buf, cap, *len + n + 1, 1);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Write `text` to a new temporary file; store its path in `path`. */
static int
write_temp(const char *text, char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");
    size_t len = strlen(text);
    int fd, rc = 0;

    if (!dir || !*dir)
        dir = "/tmp";
    if (snprintf(path, size, "%s/flow-graph-XXXXXX.ini", dir) >= (int)size)
        return -ENAMETOOLONG;
    fd = mkstemps(path, 4);
    if (fd < 0)
        return -errno;
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        text += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (rc)
        unlink(path);
    return rc;
}

/* Seconds past its --timeout after which flowrun itself is killed: its
 * grace for the instances, and room to report and clean up. */
#define HARNESS_KILL_AFTER_S 10.0

int
flow_harness_run_graph(const char *ini, const char *flowrun,
                       const char *const *args, double timeout_s,
                       flow_harness_result_t *res)
{
    char path[4096];
    int op[2], ep[2], status = 0, rc, fds[2];
    size_t nargs = 0, ocap = 0, ecap = 0;
    const char **argv;
    double start = now(), kill_after = timeout_s;
    bool timed_out = false, own_timeout = false;
    char limit[32];
    pid_t pid;

    memset(res, 0, sizeof(*res));
    append(&res->out, &res->outlen, &ocap, "", 0);
    append(&res->err, &res->errlen, &ecap, "", 0);
    if (!flowrun)
        flowrun = getenv("FLOWRUN");
    if (!flowrun || !*flowrun)
        flowrun = "flowrun";
    if ((rc = write_temp(ini, path, sizeof(path))))
        return rc;
    while (args && args[nargs]) {
        if (!strncmp(args[nargs], "--timeout", 9))
            own_timeout = true;
        nargs++;
    }
    argv = flow__xcalloc(nargs + 5, sizeof(*argv));
    argv[0] = flowrun;
    argv[1] = path;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 2] = args[i];
    /* flowrun stops the graph itself at the limit, saying what still ran,
     * and removes its run directory; the kill below is for a flowrun that
     * does not end by then. */
    if (timeout_s > 0 && timeout_s <= 1e7 && !own_timeout) {
        /* flowrun takes 0 < S <= 1e7 (a longer limit is the kill's) */
        snprintf(limit, sizeof(limit), "%.3f",
                 timeout_s < 0.001 ? 0.001 : timeout_s);
        argv[nargs + 2] = "--timeout";
        argv[nargs + 3] = limit;
    }
    /* With a --timeout of the caller's too: flowrun stops itself by one or
     * the other, and is killed only if it has not ended by then. */
    if (timeout_s > 0 && timeout_s <= 1e7)
        kill_after = timeout_s + HARNESS_KILL_AFTER_S;
    if (pipe2(op, O_CLOEXEC)) {
        rc = -errno;
        goto out;
    }
    if (pipe2(ep, O_CLOEXEC)) {
        rc = -errno;
        close(op[0]);
        close(op[1]);
        goto out;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        close(op[0]);
        close(op[1]);
        close(ep[0]);
        close(ep[1]);
        goto out;
    }
    if (pid == 0) {
        dup2(op[1], STDOUT_FILENO);
        dup2(ep[1], STDERR_FILENO);
        /* The argv strings are not modified by exec. */
        if (strchr(flowrun, '/'))
            execv(flowrun, (char *const *)argv);
        else
            execvp(flowrun, (char *const *)argv);
        _exit(127);
    }
    close(op[1]);
    close(ep[1]);
    fds[0] = op[0];
    fds[1] = ep[0];
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd pfd[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
        double left = timeout_s > 0 ? kill_after - (now() - start) : 1e9;
        char buf[65536];
        int ms;

        if (timeout_s > 0 && left <= 0 && !timed_out) {
            kill(pid, SIGKILL);
            timed_out = true;
        }
        /* At most a day a wait: a limit of weeks does not fit an int of
         * milliseconds. */
        ms = timed_out        ? 2000
             : timeout_s <= 0 ? -1
             : left > 86400   ? 86400000
                              : (int)(left * 1000) + 1;
        rc = poll(pfd, 2, ms);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc == 0 && timed_out)
            break; /* grandchildren keep the pipes open: give up */
        for (int i = 0; i < 2; i++) {
            ssize_t n;
            if (fds[i] < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(fds[i], buf, sizeof(buf));
            if (n > 0 && i == 0)
                append(&res->out, &res->outlen, &ocap, buf, (size_t)n);
            else if (n > 0)
                append(&res->err, &res->errlen, &ecap, buf, (size_t)n);
            else if (n == 0 || errno != EINTR) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* The limit given here, whoever enforced it (not a node's own timeout
     * key, which ends the run with 124 before it). */
    if (timed_out || (kill_after > timeout_s && WIFEXITED(status) &&
                      WEXITSTATUS(status) == 124 && now() - start >= timeout_s))
        res->status = -1;
    else if (WIFEXITED(status))
        res->status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res->status = 128 + WTERMSIG(status);
    else
        res->status = -1;
    rc = 0;
out:
    free(argv);
    unlink(path);
    return rc;
}

void
flow_harness_result_release(flow_harness_result_t *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof(*res));
}
