/* SPDX-License-Identifier: MIT */
/*
 * test_harness.c: the in-process node harness of flow/testing.h, with small
 * node types declared here: a run-mode echo over a pair port, a node that
 * spreads items over output channels, and a node with a failing init.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define FLOW_NODE_STATIC /* for the fixture misuse, included below */
#include "flow/testing.h"
#include "testutil.h"

/* ---- upper: process-mode, bytes in, the same bytes upper-cased out ------ */

static const flow_port_t upper_ports[] = {
    FLOW_PORT_IN("in", FLOW_BYTES, "bytes"),
    FLOW_PORT_OUT("out", FLOW_BYTES, "the bytes, a-z upper-cased"),
    FLOW_PORT_END
};

static int
upper_process(flow_node_t *node, void *state, const char *port,
              flow_msg_t **msg_p)
{
    size_t len;
    const unsigned char *b = flow_msg_bytes(*msg_p, &len);
    flow_msg_t *out = flow_msg_new(FLOW_BYTES, len);
    int rc = 0;

    (void)state;
    (void)port;
    for (size_t i = 0; i < len && !rc; i++) {
        unsigned char c = b[i] >= 'a' && b[i] <= 'z' ? b[i] - 32 : b[i];
        rc = flow_msg_add_bytes(out, &c, 1);
    }
    if (rc) {
        flow_msg_destroy(&out);
        return rc;
    }
    return flow_node_send(node, "out", &out);
}

static const flow_node_desc_t upper_desc = {
    FLOW_NODE_V1,
    .name = "upper",
    .summary = "Upper-case bytes (test)",
    .ports = upper_ports,
    .process = upper_process,
};

/* ---- echo: run-mode, answers every int64 item on its pair port + 1 ------ */

static const flow_port_t echo_ports[] = {
    FLOW_PORT_PAIR("peer", FLOW_INT64, "numbers in, numbers + 1 out"),
    FLOW_PORT_END
};

static int
echo_run(flow_node_t *node, void *state)
{
    flow_msg_t *msg;
    int rc;

    (void)state;
    while ((rc = flow_node_recv(node, "peer", &msg)) == 0) {
        int64_t *v = flow_msg_i64(msg);
        /* As a long computation would: under the harness, never. */
        if ((rc = flow_node_stopping(node)) < 0) {
            flow_msg_destroy(&msg);
            return rc;
        }
        for (size_t i = 0; i < flow_msg_count(msg); i++)
            v[i]++;
        if ((rc = flow_node_send(node, "peer", &msg)) < 0)
            return rc;
    }
    return rc == FLOW_EOF ? 0 : rc;
}

static const flow_node_desc_t echo_desc = {
    FLOW_NODE_V1,        .name = "echo",  .summary = "Answer numbers plus one",
    .ports = echo_ports, .run = echo_run,
};

/* ---- spread: item i of each message goes to channel i % channels -------- */

static const flow_port_t spread_ports[] = {
    FLOW_PORT_IN("in", FLOW_INT64, "numbers"),
    FLOW_PORT_OUT("out", FLOW_INT64, "one number per message"), FLOW_PORT_END
};

static int
spread_process(flow_node_t *node, void *state, const char *port,
               flow_msg_t **msg_p)
{
    unsigned nch = flow_node_channels(node, "out");

    (void)state;
    (void)port;
    for (size_t i = 0; i < flow_msg_count(*msg_p); i++) {
        flow_msg_t *one = flow_msg_new(FLOW_INT64, 1);
        int rc;
        flow_msg_add_i64(one, flow_msg_i64(*msg_p)[i]);
        if ((rc = flow_node_send_to(node, "out", (unsigned)(i % nch), &one)))
            return rc;
    }
    /* Wrong: there is no such port. Only when asked to, by item 99. */
    if (flow_msg_count(*msg_p) && flow_msg_i64(*msg_p)[0] == 99)
        return flow_node_send(node, "nope", msg_p);
    return 0;
}

static const flow_node_desc_t spread_desc = {
    FLOW_NODE_V1,
    .name = "spread",
    .summary = "Spread items over the output channels",
    .ports = spread_ports,
    .process = spread_process,
};

/* ---- spread with a check: at least `min` channels on "out" ------------- */

struct picky {
    int64_t min;
};

static const flow_param_t picky_params[] = {
    FLOW_PARAM_INT("min", struct picky, min, "2", 1, 100, "fewest channels"),
    FLOW_PARAM_END
};

static int
picky_check(const flow_check_t *c, const void *state, char *why, size_t whylen)
{
    const struct picky *s = state;
    unsigned n = flow_check_channels(c, "out");

    /* A harness has no other writers and no graph file: any path is its
     * own, twice too. */
    if (flow_check_output_file(c, "min", "/tmp/x", why, whylen) ||
        flow_check_output_file(c, "min", "/tmp/x", why, whylen))
        return FLOW_EPARAM;
    if (n >= s->min && flow_check_instances(c) == 1 &&
        flow_check_channels(c, "nope") == 0)
        return 0;
    snprintf(why, whylen, "port 'out' has %u channels, 'min' wants %lld", n,
             (long long)s->min);
    return FLOW_EPARAM;
}

static const flow_node_desc_t picky_desc = {
    FLOW_NODE_V1,
    .name = "picky",
    .summary = "Spread, with a check of the channels",
    .state_size = sizeof(struct picky),
    .params = picky_params,
    .ports = spread_ports,
    .check = picky_check,
    .process = spread_process,
};

/* ---- broken: init fails with a reason; fini must then not run ----------- */

struct broken {
    char *path;
    bool fini_called;
};

static const flow_param_t broken_params[] = {
    FLOW_PARAM_STRING("path", struct broken, path, NULL, "required"),
    FLOW_PARAM_END
};

static int fini_calls;

static int
broken_init(flow_node_t *node, void *state)
{
    struct broken *s = state;

    return flow_node_fail(node, "cannot open '%s'", s->path);
}

static int
broken_process(flow_node_t *node, void *state, const char *port,
               flow_msg_t **msg_p)
{
    (void)node;
    (void)state;
    (void)port;
    (void)msg_p;
    return 0;
}

static void
broken_fini(flow_node_t *node, void *state)
{
    (void)node;
    (void)state;
    fini_calls++;
}

static const flow_node_desc_t broken_desc = {
    FLOW_NODE_V1,
    .name = "broken",
    .summary = "Fail in init",
    .state_size = sizeof(struct broken),
    .params = broken_params,
    .init = broken_init,
    .process = broken_process,
    .fini = broken_fini,
};

/* ---- misuse: the fixture plugin, linked in (flow_node_misuse) ----------- */

#include "../fixtures/nodes/misuse.c"

/* What each action of misuse records as the node's failure; the same text
 * as in a graph (tests/e2e/test_faults.c). NULL: none. */
static const char *const misuse_reasons[] = {
    NULL,
    "send on unknown port 'nope'",
    "send on port 'out' after its end",
    "send of a NULL message on port 'out'",
    "send on port 'out' to channel 1 of 1",
    "close of port 'out' channel 1 of 1",
    "receive on output port 'out'",
    "send on port 'out' after its end", /* from fini */
};

/* ---- Tests --------------------------------------------------------------- */

/* ---- hwms: answers with flow_node_hwm of its ports and of "nope" ------- */

static const flow_port_t hwms_ports[] = {
    FLOW_PORT_PAIR("peer", FLOW_INT64, "the hwms out"),
    FLOW_PORT_IN("words", FLOW_WORDS, "nothing"), FLOW_PORT_END
};

static int
hwms_run(flow_node_t *node, void *state)
{
    flow_msg_t *msg = flow_msg_new(FLOW_INT64, 3);

    (void)state;
    flow_msg_add_i64(msg, flow_node_hwm(node, "peer"));
    flow_msg_add_i64(msg, flow_node_hwm(node, "words"));
    flow_msg_add_i64(msg, flow_node_hwm(node, "nope"));
    return flow_node_send(node, "peer", &msg);
}

static const flow_node_desc_t hwms_desc = {
    FLOW_NODE_V1,        .name = "hwms",  .summary = "Tell the hwms",
    .ports = hwms_ports, .run = hwms_run,
};

/*
 * flow_node_hwm under the harness: the default of docs/graph-format.md for
 * the port's type and batch size. int64: 2^20 / (24 + 8 batch) messages,
 * 64 to 1000, fewer only where 64 would pass 64 MiB; words: 64; 0 for an
 * unknown port.
 */
static void
test_harness_hwm(void **state)
{
    static const struct {
        size_t batch;
        int64_t want;
    } cases[] = { { 1024, (1 << 20) / (24 + 8 * 1024) }, /* 127 */
                  { 8, 1000 },
                  { 4096, 64 },
                  { 1 << 20, (INT64_C(1) << 26) / (24 + 8 * (1 << 20)) } };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
        flow_harness_t *h = flow_harness_new(&hwms_desc, NULL, 0, NULL);
        int64_t *got;
        size_t n;

        assert_non_null(h);
        assert_int_equal(flow_harness_set_batch(h, "peer", cases[k].batch), 0);
        assert_int_equal(flow_harness_close(h, "peer"), 0);
        assert_int_equal(flow_harness_close(h, "words"), 0);
        assert_int_equal(flow_harness_run(h), 0);
        got = flow_harness_pull_i64s(h, "peer", &n);
        assert_int_equal(n, 3);
        assert_int_equal(got[0], cases[k].want);
        assert_int_equal(got[1], 64);
        assert_int_equal(got[2], 0);
        free(got);
        flow_harness_destroy(&h);
    }
}

/* ---- hwmsay: the fixture plugin's ports, linked in (flow_node_hwmsay) --- */

#include "../fixtures/nodes/hwmsay.c"

/* hwmsay's ports (in: any, out: int64) and the hwms sent on "out"
 * instead of logged: in, out. */
static int
hwmtell_run(flow_node_t *node, void *state)
{
    flow_msg_t *msg = flow_msg_new(FLOW_INT64, 2);

    (void)state;
    flow_msg_add_i64(msg, flow_node_hwm(node, "in"));
    flow_msg_add_i64(msg, flow_node_hwm(node, "out"));
    return flow_node_send(node, "out", &msg);
}

static const flow_node_desc_t hwmtell_desc = {
    FLOW_NODE_V1,          .name = "hwmtell",  .summary = "Tell the hwms",
    .ports = hwmsay_ports, .run = hwmtell_run,
};

/* tee's ports, FLOW_SAME all (nodes/tee.c), and their hwms sent on "a":
 * in, a, b. */
static const flow_port_t sametell_ports[] = {
    FLOW_PORT_IN("in", FLOW_SAME, "any messages"),
    FLOW_PORT_OUT("a", FLOW_SAME, "the hwms"),
    FLOW_PORT_OUT("b", FLOW_SAME, "nothing"), FLOW_PORT_END
};

static int
sametell_run(flow_node_t *node, void *state)
{
    flow_msg_t *msg = flow_msg_new(FLOW_INT64, 3);

    (void)state;
    flow_msg_add_i64(msg, flow_node_hwm(node, "in"));
    flow_msg_add_i64(msg, flow_node_hwm(node, "a"));
    flow_msg_add_i64(msg, flow_node_hwm(node, "b"));
    return flow_node_send(node, "a", &msg);
}

static const flow_node_desc_t sametell_desc = {
    FLOW_NODE_V1,
    .name = "sametell",
    .summary = "Tell the hwms",
    .ports = sametell_ports,
    .run = sametell_run,
};

/* The flow_hwm that `flowrun --dot` gives the edge "from" -> "to" of `dot`,
 * whose label names ports `ports` ("out -> in", maybe a batch after); -1
 * if none. */
static long
dot_hwm(const char *dot, const char *from, const char *to, const char *ports)
{
    char edge[128];
    const char *e, *h;

    snprintf(edge, sizeof(edge), "\"%s\" -> \"%s\" [label=\"push\\n%s", from,
             to, ports);
    if (!(e = strstr(dot, edge)) || !(h = strstr(e, "flow_hwm=")) ||
        strchr(e, '\n') < h)
        return -1;
    return strtol(h + strlen("flow_hwm="), NULL, 10);
}

/* `flowrun --dot` of graph `ini` into `*res`, with the fixtures' plugins. */
static void
dot_of(const char *ini, flow_harness_result_t *res)
{
    const char *args[] = {
        "--dot",         "--plugin-path",           FLOW_FIXTURE_PLUGIN_DIR,
        "--plugin-path", getenv("FLOW_PLUGIN_DIR"), NULL
    };

    assert_int_equal(flow_harness_run_graph(ini, NULL, args, 60, res), 0);
    assert_int_equal(res->status, 0);
}

/*
 * flow_node_hwm under the harness agrees with a real run of the same links
 * once flow_harness_set_type gives a port of FLOW_ANY or FLOW_SAME the type
 * of what the graph links to it. The oracle: the flow_hwm `flowrun --dot`
 * prints for the equivalent graph, range (int64, batch B) or words (words)
 * -> hwmsay.in (any), and range -> tee.in, tee.a and tee.b -> collect (all
 * FLOW_SAME). Without flow_harness_set_type the harness said 64 for the
 * any port where the run gave 127 (int64, batch 1024), 1000 (batch 8) or
 * 2 (batch 2^20): still so for a port left open, as documented.
 */
static void
test_harness_hwm_follows_link_type(void **state)
{
    static const struct {
        const char *src; /* type and parameters of the producer */
        flow_type_t type;
        size_t batch;
    } cases[] = {
        { "range\ncount = 1", FLOW_INT64, 1024 },
        { "range\ncount = 1", FLOW_INT64, 8 },
        { "range\ncount = 1", FLOW_INT64, 1 << 20 },
        { "words\ncount = 1", FLOW_WORDS, 1024 },
    };

    (void)state;
    if (!getenv("FLOWRUN") || !getenv("FLOW_PLUGIN_DIR"))
        skip();
    for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
        char ini[512];
        flow_harness_result_t res;
        long any_in, any_out, same_in, same_a, same_b;

        snprintf(ini, sizeof(ini),
                 "[src]\ntype = %s\n[h]\ntype = hwmsay\n"
                 "[c]\ntype = collect\n[src2]\ntype = %s\n"
                 "[t]\ntype = tee\n[ca]\ntype = collect\n"
                 "[cb]\ntype = collect\n[links]\n"
                 "push = src.out -> h.in batch=%zu\n"
                 "push = h.out -> c.in batch=%zu\n"
                 "push = src2.out -> t.in batch=%zu\n"
                 "push = t.a -> ca.in batch=%zu\n"
                 "push = t.b -> cb.in batch=%zu\n",
                 cases[k].src, cases[k].src, cases[k].batch, cases[k].batch,
                 cases[k].batch, cases[k].batch, cases[k].batch);
        dot_of(ini, &res);
        any_in = dot_hwm(res.out, "src", "h", "out -> in");
        any_out = dot_hwm(res.out, "h", "c", "out -> in");
        same_in = dot_hwm(res.out, "src2", "t", "out -> in");
        same_a = dot_hwm(res.out, "t", "ca", "a -> in");
        same_b = dot_hwm(res.out, "t", "cb", "b -> in");
        assert_true(any_in > 0 && any_out > 0 && same_in > 0 && same_a > 0 &&
                    same_b > 0);
        flow_harness_result_release(&res);

        for (int typed = 0; typed < 2; typed++) {
            flow_harness_t *h = flow_harness_new(&hwmtell_desc, NULL, 0, NULL);
            int64_t *got;
            size_t n;

            assert_non_null(h);
            assert_int_equal(flow_harness_set_batch(h, "in", cases[k].batch),
                             0);
            assert_int_equal(flow_harness_set_batch(h, "out", cases[k].batch),
                             0);
            if (typed)
                assert_int_equal(flow_harness_set_type(h, "in", cases[k].type),
                                 0);
            assert_int_equal(flow_harness_close(h, "in"), 0);
            assert_int_equal(flow_harness_run(h), 0);
            got = flow_harness_pull_i64s(h, "out", &n);
            assert_int_equal(n, 2);
            assert_int_equal(got[0], typed ? any_in : 64); /* open: 64 */
            assert_int_equal(got[1], any_out);
            free(got);
            flow_harness_destroy(&h);

            h = flow_harness_new(&sametell_desc, NULL, 0, NULL);
            assert_non_null(h);
            assert_int_equal(flow_harness_set_batch(h, "in", cases[k].batch),
                             0);
            assert_int_equal(flow_harness_set_batch(h, "a", cases[k].batch), 0);
            assert_int_equal(flow_harness_set_batch(h, "b", cases[k].batch), 0);
            /* Typed on "in" only: the node's other FLOW_SAME ports follow,
             * as the graph's type check makes them. */
            if (typed)
                assert_int_equal(flow_harness_set_type(h, "in", FLOW_INT64), 0);
            assert_int_equal(flow_harness_close(h, "in"), 0);
            assert_int_equal(flow_harness_run(h), 0);
            got = flow_harness_pull_i64s(h, "a", &n);
            if (cases[k].type == FLOW_INT64) { /* the hwms are int64 */
                assert_int_equal(n, 3);
                assert_int_equal(got[0], typed ? same_in : 64);
                assert_int_equal(got[1], typed ? same_a : 64);
                assert_int_equal(got[2], typed ? same_b : 64);
            }
            free(got);
            flow_harness_destroy(&h);
        }
    }
}

/* flow_harness_set_type refuses what a graph refuses: a type a fixed port
 * does not carry, a second type on the FLOW_SAME ports; and an unknown
 * port, a type that is no item type, a node that has started. */
static void
test_harness_set_type_refused(void **state)
{
    flow_harness_t *h = flow_harness_new(&sametell_desc, NULL, 0, NULL);
    flow_msg_t *msg = flow_msg_new(FLOW_WORDS, 1);

    (void)state;
    assert_int_equal(flow_harness_set_type(h, "nope", FLOW_INT64), FLOW_EPORT);
    assert_int_equal(flow_harness_set_type(h, "in", FLOW_ANY), FLOW_EUSAGE);
    assert_int_equal(flow_harness_set_type(h, "in", FLOW_SAME), FLOW_EUSAGE);
    assert_int_equal(flow_harness_set_type(h, "a", FLOW_INT64), 0);
    assert_int_equal(flow_harness_set_type(h, "b", FLOW_INT64), 0);
    assert_int_equal(flow_harness_set_type(h, "in", FLOW_WORDS), FLOW_EPORT);
    /* "in" carries int64 now, as "a" does: words are refused. */
    assert_int_equal(flow_harness_push(h, "in", &msg), FLOW_EPORT);
    assert_null(msg);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_int_equal(flow_harness_set_type(h, "in", FLOW_INT64), FLOW_EUSAGE);
    flow_harness_destroy(&h);

    h = flow_harness_new(&hwmtell_desc, NULL, 0, NULL);
    assert_int_equal(flow_harness_set_type(h, "out", FLOW_WORDS), FLOW_EPORT);
    assert_int_equal(flow_harness_set_type(h, "out", FLOW_INT64), 0);
    flow_harness_destroy(&h);

    /* A message pushed while the port was open, of another type than the
     * one given after: no link of that type ever carries it (a graph's
     * node never receives it), so the type is refused, and the port stays
     * open; of the same type, it is taken. The FLOW_SAME ports' likewise,
     * whichever of them is named. */
    for (int same = 0; same < 2; same++) {
        const char *in = "in", *named = same ? "b" : "in";
        h = flow_harness_new(same ? &sametell_desc : &hwmtell_desc, NULL, 0,
                             NULL);
        msg = flow_msg_new(FLOW_WORDS, 1);
        assert_int_equal(flow_msg_add_word(msg, "w", 1), 0);
        assert_int_equal(flow_harness_push(h, in, &msg), 0);
        assert_int_equal(flow_harness_set_type(h, named, FLOW_INT64),
                         FLOW_EPORT);
        assert_int_equal(flow_harness_set_type(h, named, FLOW_WORDS), 0);
        flow_harness_destroy(&h);
    }
}

static void
test_harness_run_mode_pair(void **state)
{
    const int64_t a[] = { 1, 2 }, b[] = { 10 };
    flow_harness_t *h = flow_harness_new(&echo_desc, NULL, 0, NULL);
    int64_t *got;
    size_t n;

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "peer", a, 2, FLOW_SEQ_NONE), 0);
    assert_int_equal(flow_harness_push_i64s(h, "peer", b, 1, FLOW_SEQ_NONE), 0);
    assert_int_equal(flow_harness_close(h, "peer"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    got = flow_harness_pull_i64s(h, "peer", &n);
    assert_int_equal(n, 3);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 3);
    assert_int_equal(got[2], 11);
    free(got);
    flow_harness_destroy(&h);
}

static void
test_harness_recv_without_close_fails(void **state)
{
    flow_harness_t *h = flow_harness_new(&echo_desc, NULL, 0, NULL);

    (void)state;
    assert_true(flow_harness_run(h) < 0);
    assert_true(flow_harness_done(h));
    assert_non_null(strstr(flow_harness_error(h), "would block forever"));
    flow_harness_destroy(&h);
}

static void
test_harness_channels(void **state)
{
    const int64_t v[] = { 0, 1, 2, 3, 4 };
    flow_harness_t *h = flow_harness_new(&spread_desc, NULL, 0, NULL);
    flow_msg_t *msg = NULL;
    unsigned ch, count[3] = { 0, 0, 0 };

    (void)state;
    assert_int_equal(flow_harness_set_channels(h, "out", 3), 0);
    assert_int_equal(flow_harness_set_channels(h, "out", 0), FLOW_EUSAGE);
    /* NULL values with a count: refused, as push_words and push_bytes do,
     * and nothing queued (the count of 5 below holds). */
    assert_int_equal(flow_harness_push_i64s(h, "in", NULL, 2, FLOW_SEQ_NONE),
                     FLOW_EPARAM);
    flow_harness_push_i64s(h, "in", v, 5, FLOW_SEQ_NONE);
    assert_int_equal(flow_harness_run(h), 0);
    assert_false(flow_harness_done(h));
    assert_int_equal(flow_harness_pull(h, "in", &msg, NULL), FLOW_EPORT);
    while (flow_harness_pull(h, "out", &msg, &ch) == 0) {
        assert_int_equal(flow_msg_i64(msg)[0] % 3, ch);
        count[ch]++;
        flow_msg_destroy(&msg);
    }
    assert_int_equal(count[0], 2);
    assert_int_equal(count[1], 2);
    assert_int_equal(count[2], 1);
    assert_int_equal(flow_harness_pull(h, "out", &msg, NULL), FLOW_ENOENT);
    assert_int_equal(flow_harness_close_all(h), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_int_equal(flow_harness_pull(h, "out", &msg, NULL), FLOW_EOF);
    flow_harness_destroy(&h);
}

static void
test_harness_send_on_unknown_port(void **state)
{
    const int64_t v[] = { 99 };
    flow_harness_t *h = flow_harness_new(&spread_desc, NULL, 0, NULL);

    (void)state;
    flow_harness_push_i64s(h, "in", v, 1, FLOW_SEQ_NONE);
    assert_int_equal(flow_harness_run(h), FLOW_EPORT);
    assert_string_equal(flow_harness_error(h), "send on unknown port 'nope'");
    assert_int_equal(flow_harness_run(h), FLOW_EUSAGE);
    flow_harness_destroy(&h);
}

/* A node that misuses a port and ignores the error (FLOW_EPORT) fails all
 * the same, with the reason the call recorded. */
static void
test_harness_ignored_error_fails(void **state)
{
    (void)state;
    for (size_t a = 0; a < sizeof(misuse_reasons) / sizeof(*misuse_reasons);
         a++) {
        static const char *const actions[] = {
            "action=none",     "action=unknownport", "action=sendclosed",
            "action=sendnull", "action=sendchannel", "action=closechannel",
            "action=recvout",  "action=sendfini",
        };
        flow_harness_t *h =
            flow_harness_new(&flow_node_misuse, &actions[a], 1, NULL);
        assert_non_null(h);
        int rc = flow_harness_run(h);
        assert_true(flow_harness_done(h));
        if (!misuse_reasons[a]) {
            size_t n;
            int64_t *got = flow_harness_pull_i64s(h, "out", &n);
            assert_int_equal(rc, 0);
            assert_null(flow_harness_error(h));
            assert_int_equal(n, 1);
            assert_true(got[0] == 1);
            free(got);
        } else {
            assert_int_equal(rc, FLOW_ENODE);
            assert_non_null(flow_harness_error(h));
            assert_string_equal(flow_harness_error(h), misuse_reasons[a]);
        }
        flow_harness_destroy(&h);
    }
}

/*
 * flow_node_stop_ends_recv on a port that is not a pair port (fixture
 * misuse, stopout and stopunknown): node.h says FLOW_EPORT with the node
 * failed, and the harness, where no stop ends anything, fails it as a
 * graph does (tests/e2e/test_faults.c, the same reasons); it returned 0,
 * so that a misnamed port passed here and failed in every run.
 */
static void
test_harness_stop_ends_recv_misuse(void **state)
{
    static const struct {
        const char *param, *reason;
    } cases[] = {
        { "action=stopout", "a stop that ends the receives of output port "
                            "'out' (a pair port only)" },
        { "action=stopunknown", "a stop that ends the receives of unknown "
                                "port 'nope' (a pair port only)" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        flow_harness_t *h =
            flow_harness_new(&flow_node_misuse, &cases[i].param, 1, NULL);
        assert_non_null(h);
        assert_int_equal(flow_harness_run(h), FLOW_ENODE);
        assert_true(flow_harness_done(h));
        assert_non_null(flow_harness_error(h));
        assert_string_equal(flow_harness_error(h), cases[i].reason);
        assert_int_equal(flow_harness_pending(h, "out"), 0);
        flow_harness_destroy(&h);
    }
}

/* ---- pairecho: the fixture plugin, linked in (flow_node_pairecho) ------- */

#include "../fixtures/nodes/pairecho.c"

/* In process(), flow_node_channel is the channel the message came on:
 * pairecho answers each of three peers on its own channel. */
static void
test_harness_channel_of_message(void **state)
{
    flow_harness_t *h = flow_harness_new(&flow_node_pairecho, NULL, 0, NULL);
    const unsigned order[] = { 2, 0, 1, 2 };

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_set_channels(h, "peer", 3), 0);
    for (size_t i = 0; i < 4; i++) {
        flow_msg_t *msg = flow_msg_new(FLOW_INT64, 1);
        assert_int_equal(flow_msg_add_i64(msg, (int64_t)(10 * i)), 0);
        assert_int_equal(flow_harness_push_to(h, "peer", order[i], &msg), 0);
    }
    assert_int_equal(flow_harness_run(h), 0);
    for (size_t i = 0; i < 4; i++) {
        flow_msg_t *msg = NULL;
        unsigned ch = 99;
        assert_int_equal(flow_harness_pull(h, "peer", &msg, &ch), 0);
        assert_int_equal(ch, order[i]);
        assert_true(flow_msg_i64(msg)[0] == (int64_t)(10 * i));
        flow_msg_destroy(&msg);
    }
    flow_harness_destroy(&h);
}

/* ---- retcode: the fixture plugin, linked in (flow_node_retcode) --------- */

#include "../fixtures/nodes/retcode.c"

/* A callback that returns a positive code fails the node, as in a graph
 * (tests/e2e/test_faults.c); 0 is the control. */
static void
test_harness_positive_return_fails(void **state)
{
    static const char *const wheres[] = { "where=init", "where=process",
                                          "where=finish" };
    static const char *const names[] = { "init", "process", "finish" };
    const int64_t v[] = { 4, 5 };

    (void)state;
    for (size_t w = 0; w < 3; w++)
        for (int code = 0; code <= 3; code += 3) {
            char codep[32], want[128];
            const char *params[] = { wheres[w], codep };
            flow_harness_t *h;
            size_t n;
            int64_t *got;

            snprintf(codep, sizeof(codep), "code=%d", code);
            snprintf(want, sizeof(want),
                     "%s() returned %d (a callback returns 0 or a negative "
                     "code)",
                     names[w], code);
            h = flow_harness_new(&flow_node_retcode, params, 2, NULL);
            assert_non_null(h);
            assert_int_equal(
                flow_harness_push_i64s(h, "in", v, 2, FLOW_SEQ_NONE), 0);
            assert_int_equal(flow_harness_close(h, "in"), 0);
            if (!code) {
                assert_int_equal(flow_harness_run(h), 0);
                got = flow_harness_pull_i64s(h, "out", &n);
                assert_int_equal(n, 2);
                assert_true(got[0] == 4 && got[1] == 5);
                free(got);
            } else {
                assert_int_equal(flow_harness_run(h), FLOW_ENODE);
                assert_non_null(flow_harness_error(h));
                assert_string_equal(flow_harness_error(h), want);
            }
            flow_harness_destroy(&h);
        }
    /* A negative code with no name: the number itself. */
    for (size_t w = 0; w < 3; w++) {
        const char *params[] = { wheres[w], "code=-1000" };
        flow_harness_t *h =
            flow_harness_new(&flow_node_retcode, params, 2, NULL);
        char want[128];
        assert_non_null(h);
        assert_int_equal(flow_harness_push_i64s(h, "in", v, 2, FLOW_SEQ_NONE),
                         0);
        assert_int_equal(flow_harness_close(h, "in"), 0);
        assert_int_equal(flow_harness_run(h), -1000);
        snprintf(want, sizeof(want),
                 "%s() returned -1000 (no FLOW_E* code nor -errno)", names[w]);
        assert_string_equal(flow_harness_error(h), want);
        flow_harness_destroy(&h);
    }
}

/* ---- plainsrc: the fixture plugin, linked in (flow_node_plainsrc) ------- */

#include "../fixtures/nodes/plainsrc.c"

/* A source of one instance that numbers nothing is numbered 0, 1, 2, ...
 * as in a graph; as instance 0 of 2 its messages have no number. */
static void
test_harness_source_numbered(void **state)
{
    const char *params[] = { "count=3" };

    (void)state;
    for (unsigned instances = 1; instances <= 2; instances++) {
        flow_harness_t *h =
            flow_harness_new(&flow_node_plainsrc, params, 1, NULL);
        flow_msg_t *msg;
        uint64_t k = 0;

        assert_non_null(h);
        assert_int_equal(flow_harness_set_instance(h, 0, instances), 0);
        assert_int_equal(flow_harness_run(h), 0);
        while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
            assert_true(flow_msg_i64(msg)[0] == (int64_t)(k * instances));
            if (instances == 1)
                assert_true(flow_msg_seq(msg) == k);
            else
                assert_true(flow_msg_seq(msg) == FLOW_SEQ_NONE);
            flow_msg_destroy(&msg);
            k++;
        }
        assert_true(k == (instances == 1 ? 3 : 2));
        flow_harness_destroy(&h);
    }
}

/* ---- headrun: a run() node that gives its input up (linked in) ------- */

#include "../fixtures/nodes/headrun.c"

/* A receive on an input the node gave up returns FLOW_EOF, as in a graph
 * (the harness failed the node: nothing queued, the port not ended). */
static void
test_harness_recv_given_up(void **state)
{
    const char *params[] = { "n=2" };
    flow_harness_t *h = flow_harness_new(&flow_node_headrun, params, 1, NULL);
    int64_t v = 1;

    (void)state;
    assert_non_null(h);
    for (int i = 0; i < 3; i++)
        assert_int_equal(flow_harness_push_i64s(h, "in", &v, 1, FLOW_SEQ_NONE),
                         0);
    assert_int_equal(flow_harness_close(h, "other"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_null(flow_harness_error(h));
    assert_true(flow_harness_done(h));
    assert_true(flow_harness_input_given_up(h, "in"));
    assert_false(flow_harness_input_given_up(h, "other"));
    assert_false(flow_harness_input_given_up(h, "nope"));
    flow_harness_destroy(&h);
}

#include "../fixtures/nodes/zip.c"

/* flow_harness_close_cut: a stream ended as cut short by a stop. The zip
 * fixture adds a and b item by item and fails on different lengths unless
 * an input was cut (flow_node_input_cut): with b cut it ends with the sums
 * it could make; with b ended plainly it fails. */
static void
test_harness_close_cut(void **state)
{
    const int64_t a[] = { 1, 2, 3 }, b[] = { 10, 20 };

    (void)state;
    for (int cut = 0; cut < 2; cut++) {
        flow_harness_t *h = flow_harness_new(&flow_node_zip, NULL, 0, NULL);
        int64_t *got;
        size_t n;

        assert_non_null(h);
        assert_int_equal(flow_harness_push_i64s(h, "a", a, 3, FLOW_SEQ_NONE),
                         0);
        assert_int_equal(flow_harness_push_i64s(h, "b", b, 2, FLOW_SEQ_NONE),
                         0);
        assert_int_equal(flow_harness_close(h, "a"), 0);
        assert_int_equal(cut ? flow_harness_close_cut(h, "b")
                             : flow_harness_close(h, "b"),
                         0);
        if (cut) {
            assert_int_equal(flow_harness_run(h), 0);
            assert_null(flow_harness_error(h));
            got = flow_harness_pull_i64s(h, "out", &n);
            assert_non_null(got);
            assert_int_equal(n, 2);
            assert_int_equal(got[0], 11);
            assert_int_equal(got[1], 22);
            free(got);
        } else {
            assert_int_equal(flow_harness_run(h), FLOW_ENODE);
            assert_string_equal(flow_harness_error(h),
                                "inputs of different lengths: a 3 items, b 2");
        }
        assert_true(flow_harness_done(h));
        assert_int_equal(flow_harness_close_cut(h, "out"), FLOW_EPORT);
        assert_int_equal(flow_harness_close_cut(h, "nope"), FLOW_EPORT);
        flow_harness_destroy(&h);
    }
}

/* ---- logger: logs lines with newlines in them ---- */

static int
logger_run(flow_node_t *node, void *state)
{
    (void)state;
    flow_node_log(node, FLOW_LOG_INFO, "done\n");
    flow_node_log(node, FLOW_LOG_WARN, "first\nsecond\r\nthird");
    flow_node_log(node, FLOW_LOG_INFO, "%s", "\n");
    return 0;
}

static const flow_node_desc_t logger_desc = {
    FLOW_NODE_V1,
    .name = "logger",
    .summary = "Log lines with newlines in them",
    .run = logger_run,
};

/* flow_node_log writes one line per call: a trailing newline is not doubled
 * (an empty line followed), one inside the message reads as a space (a
 * line without the prefix followed). */
static void
test_harness_log_one_line(void **state)
{
    flow_harness_t *h = flow_harness_new(&logger_desc, NULL, 0, NULL);
    char *text;
    int rc;

    (void)state;
    assert_non_null(h);
    text = tu_harness_run_stderr(h, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(text, "logger[0] info: done\n"
                              "logger[0] warning: first second  third\n"
                              "logger[0] info: \n");
    free(text);
    flow_harness_destroy(&h);
}

/* ---- biglog: logs one message of 6000 letters, then one of 1500 ---- */

#define BIGLOG_LEN 6000

static int
biglog_run(flow_node_t *node, void *state)
{
    char *msg = malloc(BIGLOG_LEN + 1);

    (void)state;
    if (!msg)
        return flow_node_fail(node, "out of memory");
    for (size_t i = 0; i < BIGLOG_LEN; i++)
        msg[i] = (char)('a' + i % 26);
    msg[BIGLOG_LEN] = '\0';
    flow_node_log(node, FLOW_LOG_INFO, "%s", msg);
    flow_node_log(node, FLOW_LOG_WARN, "%.1500s\n", msg);
    free(msg);
    return 0;
}

static const flow_node_desc_t biglog_desc = {
    FLOW_NODE_V1,
    .name = "biglog",
    .summary = "Log messages longer than 1 KiB",
    .run = biglog_run,
};

/* flow_node_log writes a message longer than 1 KiB whole (it was cut to
 * its first 1000-odd bytes): the launcher's relay passes a long line on in
 * pieces of 4 KiB, each with the prefix. */
static void
test_harness_log_long_line(void **state)
{
    flow_harness_t *h = flow_harness_new(&biglog_desc, NULL, 0, NULL);
    size_t cap = 2 * BIGLOG_LEN + 100, at = 0;
    char *want = malloc(cap);
    char *text;
    int rc;

    (void)state;
    assert_non_null(h);
    assert_non_null(want);
    at += (size_t)snprintf(want, cap, "biglog[0] info: ");
    for (size_t i = 0; i < BIGLOG_LEN; i++)
        want[at++] = (char)('a' + i % 26);
    at += (size_t)snprintf(want + at, cap - at, "\nbiglog[0] warning: ");
    for (size_t i = 0; i < 1500; i++)
        want[at++] = (char)('a' + i % 26);
    snprintf(want + at, cap - at, "\n");
    text = tu_harness_run_stderr(h, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(text, want);
    free(text);
    free(want);
    flow_harness_destroy(&h);
}

/* ---- giveb: forwards a and b; gives b up on its first message on a ---- */

static const flow_port_t giveb_ports[] = {
    FLOW_PORT_IN("a", FLOW_INT64, "numbers"),
    FLOW_PORT_IN("b", FLOW_INT64, "numbers, given up once a has one"),
    FLOW_PORT_OUT("out", FLOW_INT64, "what came, in order"), FLOW_PORT_END
};

static int
giveb_process(flow_node_t *node, void *state, const char *port,
              flow_msg_t **msg_p)
{
    int rc;

    (void)state;
    if ((rc = flow_node_send(node, "out", msg_p)))
        return rc;
    return strcmp(port, "a") ? 0 : flow_node_close_input(node, "b");
}

static const flow_node_desc_t giveb_desc = {
    FLOW_NODE_V1,
    .name = "giveb",
    .summary = "Give b up once a has a message",
    .ports = giveb_ports,
    .process = giveb_process,
};

/* A given-up input of a node that goes on with another: what was queued on
 * it when it was given up, and what is pushed to it after, is dropped, as
 * in a graph; process() never sees it. */
static void
test_harness_given_up_dropped(void **state)
{
    flow_harness_t *h = flow_harness_new(&giveb_desc, NULL, 0, NULL);
    int64_t v[4] = { 1, 10, 2, 3 }, more = 11;
    int64_t *got;
    size_t n;

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "b", &v[0], 1, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_push_i64s(h, "a", &v[1], 1, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_push_i64s(h, "b", &v[2], 1, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_input_given_up(h, "b"));
    assert_false(flow_harness_done(h));
    assert_int_equal(flow_harness_push_i64s(h, "b", &v[3], 1, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_push_i64s(h, "a", &more, 1, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_close(h, "a"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_null(flow_harness_error(h));
    assert_true(flow_harness_done(h));
    got = flow_harness_pull_i64s(h, "out", &n);
    assert_int_equal(n, 3);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 10);
    assert_int_equal(got[2], 11);
    free(got);
    flow_harness_destroy(&h);
}

/* ---- holder: holds and releases the credit of what comes on in ---- */

static const flow_port_t holder_ports[] = {
    FLOW_PORT_IN("in", FLOW_INT64,
                 "0: hold and release it; 1: hold on out; "
                 "2: hold from producer 99; 3: release "
                 "on nowhere; 4: hold it twice"),
    FLOW_PORT_OUT("out", FLOW_INT64, "what was held and released"),
    FLOW_PORT_END
};

static int
holder_process(flow_node_t *node, void *state, const char *port,
               flow_msg_t **msg_p)
{
    const int64_t *v = flow_msg_i64(*msg_p);
    unsigned ch = flow_node_channel(node);
    int rc;

    (void)state;
    (void)port;
    switch (v[0]) {
    case 1:
        return flow_node_hold(node, "out", ch, 1);
    case 2:
        return flow_node_hold(node, "in", 99, 1);
    case 3:
        return flow_node_release(node, "nowhere", ch, 1);
    case 4:
        return flow_node_hold(node, "in", ch, 2);
    }
    if ((rc = flow_node_hold(node, "in", ch, 1)) ||
        (rc = flow_node_release(node, "in", ch, 1)))
        return rc;
    return flow_node_send(node, "out", msg_p);
}

static const flow_node_desc_t holder_desc = {
    FLOW_NODE_V1,
    .name = "holder",
    .summary = "Hold and release credit",
    .ports = holder_ports,
    .process = holder_process,
};

/* flow_node_hold and flow_node_release under the harness: there is no
 * credit to hold, so they hold nothing and return 0 on an input, and fail
 * the node, as a demand input in a graph does, for an output, an unknown
 * port, a producer out of range, or more held than were taken (a node
 * that held too many passed its tests, failing only in a graph). */
static void
test_harness_hold(void **state)
{
    static const struct {
        int64_t v;
        const char *error;
    } cases[] = {
        { 0, NULL },
        { 1, "hold on output port 'out' (an input only)" },
        { 2, "hold on port 'in': producer 99 of 1 (channels count from 0)" },
        { 3, "release on unknown port 'nowhere' (an input only)" },
        { 4, "hold of 2 messages from producer 0 on port 'in', which sent 1 "
             "not held" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        flow_harness_t *h = flow_harness_new(&holder_desc, NULL, 0, NULL);
        int64_t *got;
        size_t n;

        assert_non_null(h);
        assert_int_equal(
            flow_harness_push_i64s(h, "in", &cases[i].v, 1, FLOW_SEQ_NONE), 0);
        assert_int_equal(flow_harness_close(h, "in"), 0);
        if (!cases[i].error) {
            assert_int_equal(flow_harness_run(h), 0);
            assert_null(flow_harness_error(h));
            got = flow_harness_pull_i64s(h, "out", &n);
            assert_int_equal(n, 1);
            assert_int_equal(got[0], 0);
            free(got);
        } else {
            assert_int_equal(flow_harness_run(h), FLOW_EPORT);
            assert_non_null(flow_harness_error(h));
            assert_string_equal(flow_harness_error(h), cases[i].error);
        }
        flow_harness_destroy(&h);
    }
}

/* Bytes in and out: flow_harness_push_bytes and flow_harness_pull_bytes,
 * binary-safe (a NUL inside), concatenated in order, NUL-ended. */
static void
test_harness_bytes(void **state)
{
    flow_harness_t *h = flow_harness_new(&upper_desc, NULL, 0, NULL);
    const char want[] = "HELLO WORLD\0X";
    size_t len;
    char *got;

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_push_bytes(h, "in", "hello ", 6, 0), 0);
    assert_int_equal(flow_harness_push_bytes(h, "in", "world\0x", 7, 1), 0);
    assert_int_equal(flow_harness_push_bytes(h, "in", NULL, 0, 2), 0);
    assert_int_equal(flow_harness_push_bytes(h, "in", NULL, 3, 3), FLOW_EPARAM);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    got = flow_harness_pull_bytes(h, "out", &len);
    assert_non_null(got);
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(got, want, sizeof(want)); /* and the NUL after */
    free(got);
    assert_null(flow_harness_pull_bytes(h, "out", &len));
    assert_int_equal(len, 0);
    flow_harness_destroy(&h);
}

/* More instances than the type's max_instances: refused, as a graph
 * refuses them (the harness took them). */
static void
test_harness_max_instances(void **state)
{
    flow_node_desc_t d = flow_node_plainsrc;
    flow_harness_t *h;

    (void)state;
    d.max_instances = 2;
    h = flow_harness_new(&d, NULL, 0, NULL);
    assert_non_null(h);
    assert_int_equal(flow_harness_set_instance(h, 0, 3), FLOW_EUSAGE);
    assert_int_equal(flow_harness_set_instance(h, 1, 2), 0);
    assert_int_equal(flow_harness_run(h), 0);
    flow_harness_destroy(&h);
}

/* A type's check runs at the first flow_harness_run, with the channels
 * set by then; a refusal is FLOW_EPARAM with its reason, and nothing runs. */
static void
test_harness_check(void **state)
{
    const char *params[] = { "min=3" };
    const int64_t v[] = { 5 };
    flow_harness_t *h = flow_harness_new(&picky_desc, params, 1, NULL);

    (void)state;
    assert_int_equal(flow_harness_set_channels(h, "out", 2), 0);
    assert_int_equal(flow_harness_push_i64s(h, "in", v, 1, FLOW_SEQ_NONE), 0);
    assert_int_equal(flow_harness_run(h), FLOW_EPARAM);
    assert_true(flow_harness_done(h));
    assert_string_equal(flow_harness_error(h),
                        "port 'out' has 2 channels, 'min' wants 3");
    flow_harness_destroy(&h);

    h = flow_harness_new(&picky_desc, params, 1, NULL);
    assert_int_equal(flow_harness_set_channels(h, "out", 3), 0);
    assert_int_equal(flow_harness_push_i64s(h, "in", v, 1, FLOW_SEQ_NONE), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_null(flow_harness_error(h));
    flow_harness_destroy(&h);
}

/* Spaces and tabs around a parameter's name and value go, as in a graph
 * file ("min = 3", which inih trims) and in --set 'min = 3': "min = 3" was
 * an unknown parameter 'min ', and " path= /x y " the path " /x y ". */
static void
test_harness_params_trimmed(void **state)
{
    const char *spaced[] = { " min\t= 3 " };
    const char *path[] = { "path =  /x y\t" };
    const char *twice[] = { "min=3", " min =4" };
    flow_diag_t diag;
    flow_harness_t *h;

    (void)state;
    h = flow_harness_new(&picky_desc, spaced, 1, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_set_channels(h, "out", 2), 0);
    assert_int_equal(flow_harness_run(h), FLOW_EPARAM); /* min is 3 */
    assert_string_equal(flow_harness_error(h),
                        "port 'out' has 2 channels, 'min' wants 3");
    flow_harness_destroy(&h);

    h = flow_harness_new(&broken_desc, path, 1, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_run(h), FLOW_ENODE);
    assert_string_equal(flow_harness_error(h), "cannot open '/x y'");
    flow_harness_destroy(&h);

    assert_null(flow_harness_new(&picky_desc, twice, 2, &diag));
    assert_string_equal(diag.msg, "parameter 'min' given twice");
    assert_null(
        flow_harness_new(&picky_desc, (const char *[]){ " = 3" }, 1, &diag));
    tu_assert_contains(diag.msg, "is not key=value");
}

/* A value's "$${" is a literal "${", and a "${name}" refers to a graph
 * parameter, of which a harness has none, as in a graph file and --set:
 * a harness gave the node "$${x}" (a graph "${x}") and took "${x}" as it
 * is (a graph refuses it). */
static void
test_harness_params_refs(void **state)
{
    const char *escaped[] = { "path=/a/$${x}/$$/b$/$$${y}" };
    const char *const refs[][2] = {
        { "path=/a/${dir}", "undefined graph parameter 'dir' in parameter "
                            "'path' of node type 'broken'" },
        { "path=${}", "empty parameter name '${}'" },
        { "path=/a/${dir", "unterminated '${'" },
    };
    flow_diag_t diag;
    flow_harness_t *h;

    (void)state;
    h = flow_harness_new(&broken_desc, escaped, 1, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_run(h), FLOW_ENODE);
    assert_string_equal(flow_harness_error(h),
                        "cannot open '/a/${x}/$$/b$/$${y}'");
    flow_harness_destroy(&h);
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        assert_null(flow_harness_new(&broken_desc, &refs[i][0], 1, &diag));
        assert_int_equal(diag.code, FLOW_EPARAM);
        tu_assert_contains(diag.msg, refs[i][1]);
    }
}

/* ---- takeone: run-mode, reads one message of "in" and returns ---------- */

static const flow_port_t takeone_ports[] = {
    FLOW_PORT_IN("in", FLOW_INT64, "numbers, one read"), FLOW_PORT_END
};

static int
takeone_run(flow_node_t *node, void *state)
{
    flow_msg_t *msg;
    int rc = flow_node_recv(node, "in", &msg);

    (void)state;
    flow_msg_destroy(&msg);
    return rc == FLOW_EOF ? 0 : rc;
}

static const flow_node_desc_t takeone_desc = {
    FLOW_NODE_V1,           .name = "takeone",  .summary = "Read one message",
    .ports = takeone_ports, .run = takeone_run,
};

/* What run() leaves unread is discarded with a warning, as in a graph
 * ("discarded 8 unread messages on port 'in'"): the harness said nothing. */
static void
test_harness_unread_warned(void **state)
{
    const int64_t v = 1;
    flow_harness_t *h = flow_harness_new(&takeone_desc, NULL, 0, NULL);
    char *text;
    int rc;

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(flow_harness_push_i64s(h, "in", &v, 1, FLOW_SEQ_NONE),
                         0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    text = tu_harness_run_stderr(h, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(text, "takeone[0] warning: discarded 2 unread "
                              "messages on port 'in'\n");
    free(text);
    flow_harness_destroy(&h);
}

/* ---- quitter: calls exit(0) in process(), as a node must never --------- */

static int
quitter_process(flow_node_t *node, void *state, const char *port,
                flow_msg_t **msg_p)
{
    (void)node;
    (void)state;
    (void)port;
    (void)msg_p;
    exit(0);
}

static const flow_node_desc_t quitter_desc = {
    FLOW_NODE_V1,
    .name = "quitter",
    .summary = "Exit from process() (wrong)",
    .ports = spread_ports,
    .process = quitter_process,
};

/* A node that calls exit(0) in a callback fails its run in a graph
 * ("exited with status 0 before the end of its run"). In a harness it
 * ended the test program with status 0: the test passed. It now ends it
 * with status 1, saying why. In a child, which the exit ends. */
static void
test_harness_exit_in_callback(void **state)
{
    int err[2], status;
    char text[1024];
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    (void)state;
    assert_int_equal(pipe(err), 0);
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        flow_harness_t *h = flow_harness_new(&quitter_desc, NULL, 0, NULL);
        const int64_t one = 1;

        dup2(err[1], STDERR_FILENO);
        flow_harness_push_i64s(h, "in", &one, 1, FLOW_SEQ_NONE);
        flow_harness_close(h, "in");
        flow_harness_run(h);
        _exit(3); /* not reached: process() exits */
    }
    close(err[1]);
    while ((n = read(err[0], text + len, sizeof(text) - 1 - len)) > 0)
        len += (size_t)n;
    text[len] = '\0';
    close(err[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    tu_assert_contains(text, "node 'quitter' called exit() in process()");
}

/* ---- forker: process() runs a child that exits 7 (a helper program) --- */

static int
forker_process(flow_node_t *node, void *state, const char *port,
               flow_msg_t **msg_p)
{
    int status;
    pid_t pid;

    (void)state;
    (void)port;
    (void)msg_p;
    fflush(NULL);
    if ((pid = tu_fork()) == 0)
        exit(7); /* the child's own exit: not the node's */
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 7)
        return flow_node_fail(node, "the child did not exit 7");
    return 0;
}

static const flow_node_desc_t forker_desc = {
    FLOW_NODE_V1,
    .name = "forker",
    .summary = "Fork a child that exits 7",
    .ports = spread_ports,
    .process = forker_process,
};

/* A child that a callback forks exits with its own status: the exit
 * watch is the test process's only (it made every such child exit 1). */
static void
test_harness_exit_in_forked_child(void **state)
{
    flow_harness_t *h = flow_harness_new(&forker_desc, NULL, 0, NULL);
    const int64_t one = 1;

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", &one, 1, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    if (flow_harness_run(h) != 0)
        fail_msg("run: %s", flow_harness_error(h));
    flow_harness_destroy(&h);
}

static void
test_harness_init_failure(void **state)
{
    const char *params[] = { "path=/nonexistent" };
    flow_diag_t diag;
    flow_harness_t *h;

    (void)state;
    assert_null(flow_harness_new(&broken_desc, NULL, 0, &diag));
    assert_int_equal(diag.code, FLOW_EPARAM);
    assert_non_null(strstr(diag.msg, "missing required parameter 'path'"));
    assert_null(
        flow_harness_new(&broken_desc, (const char *[]){ "path" }, 1, &diag));
    assert_non_null(strstr(diag.msg, "not key=value"));

    fini_calls = 0;
    h = flow_harness_new(&broken_desc, params, 1, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_run(h), FLOW_ENODE);
    assert_string_equal(flow_harness_error(h), "cannot open '/nonexistent'");
    flow_harness_destroy(&h);
    assert_int_equal(fini_calls, 0); /* init failed: nothing to free */
}

static void
test_harness_run_graph(void **state)
{
    static const char ini[] = "[n]\ntype = range\ncount = 4\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = n.out -> out.in\n";
    static const char bad[] = "[n]\ntype = nosuchtype\n";
    const char *dir = getenv("FLOW_PLUGIN_DIR");
    const char *args[] = { "--plugin-path", dir, NULL };
    flow_harness_result_t res;

    (void)state;
    if (!dir || !getenv("FLOWRUN"))
        skip();
    assert_int_equal(flow_harness_run_graph(ini, NULL, args, 60, &res), 0);
    assert_int_equal(res.status, 0);
    assert_string_equal(res.out, "0\n1\n2\n3\n");
    flow_harness_result_release(&res);

    assert_int_equal(flow_harness_run_graph(bad, NULL, args, 60, &res), 0);
    assert_int_equal(res.status, 2);
    assert_non_null(strstr(res.err, "nosuchtype"));
    flow_harness_result_release(&res);

    assert_int_equal(
        flow_harness_run_graph(ini, "/nonexistent/flowrun", NULL, 60, &res), 0);
    assert_int_equal(res.status, 127);
    flow_harness_result_release(&res);
}

/* Whether directory `path` holds nothing. */
static bool
dir_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    bool empty = true;

    assert_non_null(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

/*
 * A graph that hangs, run with a limit of 1 s: status -1 (the limit), with
 * flowrun's word on what still ran, in about a second, and no run
 * directory left (the child was SIGKILLed, silent, its directory left in
 * TMPDIR). A node's own timeout key ends the run with 124 before the
 * limit: that stays 124.
 */
static void
test_harness_run_graph_timeout(void **state)
{
    static const char hang[] = "[n]\ntype = range\ncount = 4\n"
                               "[b]\ntype = fault\naction = hang\n%s"
                               "[out]\ntype = collect\n"
                               "[links]\npush = n.out -> b.in\n"
                               "push = b.out -> out.in\n";
    const char *dir = getenv("FLOW_PLUGIN_DIR");
    const char *args[] = { "--plugin-path", dir, NULL };
    char tmpl[] = "/tmp/flow-test-tmpdir-XXXXXX", ini[512];
    char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    char *xdg =
        getenv("XDG_RUNTIME_DIR") ? strdup(getenv("XDG_RUNTIME_DIR")) : NULL;
    flow_harness_result_t res;
    struct timespec t0, t1;
    double secs;

    (void)state;
    if (!dir || !getenv("FLOWRUN"))
        skip();
    assert_non_null(mkdtemp(tmpl));
    assert_int_equal(setenv("TMPDIR", tmpl, 1), 0);
    unsetenv("XDG_RUNTIME_DIR");
    for (int key = 0; key < 2; key++) {
        snprintf(ini, sizeof(ini), hang, key ? "timeout = 1\n" : "");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(
            flow_harness_run_graph(ini, NULL, args, key ? 60 : 1, &res), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (res.status != (key ? 124 : -1) || secs > 8)
            print_message("status %d after %.2f s:\n%s\n", res.status, secs,
                          res.err);
        assert_int_equal(res.status, key ? 124 : -1);
        assert_true(secs >= 1 && secs < 8);
        assert_non_null(strstr(res.err, "timed out after 1"));
        assert_non_null(strstr(res.err, key ? "node 'b' instance 0 (pid "
                                            : "still running: b[0]"));
        flow_harness_result_release(&res);
        assert_true(dir_empty(tmpl)); /* the run directory removed */
    }
    /* A --timeout of the caller's is flowrun's own (124, not -1), and a
     * node's timeout key without a limit here is 124 too. */
    for (int own = 0; own < 2; own++) {
        const char *targs[] = { "--plugin-path", dir, "--timeout", "1", NULL };
        snprintf(ini, sizeof(ini), hang, own ? "" : "timeout = 1\n");
        assert_int_equal(flow_harness_run_graph(ini, NULL, own ? targs : args,
                                                own ? 30 : 0, &res),
                         0);
        if (res.status != 124)
            print_message("own=%d: status %d\n%s\n", own, res.status, res.err);
        assert_int_equal(res.status, 124);
        flow_harness_result_release(&res);
        assert_true(dir_empty(tmpl));
    }
    /* A --timeout of the caller's longer than the limit here: flowrun is
     * killed 10 s after the limit, not at it (it was SIGKILLed at 1 s,
     * saying nothing and leaving its run directory behind); its own
     * --timeout stops it first, and the limit here has passed: -1. */
    {
        const char *targs[] = { "--plugin-path", dir, "--timeout", "3", NULL };
        snprintf(ini, sizeof(ini), hang, "");
        assert_int_equal(flow_harness_run_graph(ini, NULL, targs, 1, &res), 0);
        if (!strstr(res.err, "timed out after 3"))
            print_message("status %d\n%s\n", res.status, res.err);
        assert_non_null(strstr(res.err, "timed out after 3"));
        assert_int_equal(res.status, -1);
        flow_harness_result_release(&res);
        assert_true(dir_empty(tmpl));
    }
    assert_int_equal(rmdir(tmpl), 0);
    if (old)
        setenv("TMPDIR", old, 1);
    else
        unsetenv("TMPDIR");
    if (xdg)
        setenv("XDG_RUNTIME_DIR", xdg, 1);
    free(old);
    free(xdg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harness_run_mode_pair),
        cmocka_unit_test(test_harness_hwm),
        cmocka_unit_test(test_harness_hwm_follows_link_type),
        cmocka_unit_test(test_harness_set_type_refused),
        cmocka_unit_test(test_harness_run_graph_timeout),
        cmocka_unit_test(test_harness_recv_without_close_fails),
        cmocka_unit_test(test_harness_channels),
        cmocka_unit_test(test_harness_send_on_unknown_port),
        cmocka_unit_test(test_harness_ignored_error_fails),
        cmocka_unit_test(test_harness_stop_ends_recv_misuse),
        cmocka_unit_test(test_harness_positive_return_fails),
        cmocka_unit_test(test_harness_channel_of_message),
        cmocka_unit_test(test_harness_source_numbered),
        cmocka_unit_test(test_harness_max_instances),
        cmocka_unit_test(test_harness_bytes),
        cmocka_unit_test(test_harness_check),
        cmocka_unit_test(test_harness_recv_given_up),
        cmocka_unit_test(test_harness_given_up_dropped),
        cmocka_unit_test(test_harness_close_cut),
        cmocka_unit_test(test_harness_log_one_line),
        cmocka_unit_test(test_harness_log_long_line),
        cmocka_unit_test(test_harness_init_failure),
        cmocka_unit_test(test_harness_exit_in_callback),
        cmocka_unit_test(test_harness_exit_in_forked_child),
        cmocka_unit_test(test_harness_params_trimmed),
        cmocka_unit_test(test_harness_params_refs),
        cmocka_unit_test(test_harness_unread_warned),
        cmocka_unit_test(test_harness_run_graph),
        cmocka_unit_test(test_harness_hold),
    };

    return cmocka_run_group_tests_name("harness", tests, NULL, NULL);
}
