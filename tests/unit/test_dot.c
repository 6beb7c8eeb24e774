/* SPDX-License-Identifier: MIT */
/*
 * test_dot.c: the Graphviz DOT of a graph (flow_graph_write_dot, what
 * `flowrun --dot` prints) and of a run's counters (flow__dot_write_stats,
 * `--dot-stats`), whole, against text written out by hand from
 * docs/observability.md: its example of graphs/sieve.ini, and the rules
 * below it (batch shown when not 1024, hwm when the graph gives one,
 * balance=demand and flow_hwm=1 on a demand link without an hwm, two arrow
 * heads on a pair link; after a run, "N items in M msgs" summed over the
 * sending side's instances, one line per direction of a pair link, edges
 * that carried data drawn thicker, the wall time in the graph's label).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "dot.h"
#include "internal.h"
#include "stats.h"
#include "testutil.h"

/* docs/observability.md's example, the description written out whole (the
 * doc cuts it with "..."). */
static const char sieve_dot[] =
    "digraph \"sieve\" {\n"
    "    graph [rankdir=LR, labelloc=t, label=\"sieve: The article's "
    "parallel prime sieve: primes <= limit, or their count\"];\n"
    "    node [shape=box, fontname=\"Helvetica\"];\n"
    "    edge [fontname=\"Helvetica\", fontsize=10];\n"
    "    \"main\" [label=\"main\\nprimes\\n1 instance\", "
    "flow_type=\"primes\", flow_instances=1];\n"
    "    \"seg\" [label=\"seg\\nsieve\\n4 instances\", flow_type=\"sieve\", "
    "flow_instances=4];\n"
    "    \"out\" [label=\"out\\ncollect\\n1 instance\", "
    "flow_type=\"collect\", flow_instances=1];\n"
    "    \"main\" -> \"seg\" [label=\"pair\\nseg <-> coord\\nbatch=4096\\n"
    "hwm=8\", flow_kind=pair, flow_batch=4096, flow_hwm=8, dir=both];\n"
    "    \"main\" -> \"out\" [label=\"push\\nout -> in\\nbatch=4096\", "
    "flow_kind=push, flow_batch=4096, flow_hwm=64];\n"
    "}\n";

static flow_registry_t *
registry(void)
{
    flow_registry_t *reg = flow_registry_new();

    assert_non_null(reg);
    flow_registry_add_path(reg, tu_plugin_dir());
    return reg;
}

/* graphs/sieve.ini with `segments` segments. */
static flow_graph_t *
load_sieve(flow_registry_t *reg, const char *segments)
{
    const char *sets[] = { segments };
    flow_diag_t diag;
    flow_graph_t *g =
        flow_graph_load(tu_src("graphs/sieve.ini"), reg, sets, 1, &diag);

    if (!g)
        fail_msg("%s", diag.msg);
    return g;
}

/* The DOT of `g`, with the counters of `rs` when not NULL (malloc'ed). */
static char *
dot_of(const flow_graph_t *g, const flow_run_stats_t *rs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    if (rs)
        assert_int_equal(flow__dot_write_stats(rs, f), 0);
    else
        assert_int_equal(flow_graph_write_dot(g, f), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

/* The example of docs/observability.md, to the byte. */
static void
test_dot_doc_example(void **unused)
{
    flow_registry_t *reg = registry();
    flow_graph_t *g = load_sieve(reg, "segments=4");
    char *text = dot_of(g, NULL);

    (void)unused;
    assert_string_equal(text, sieve_dot);
    free(text);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* Quotes and backslashes escaped; no description (or an empty one): the
 * name alone; the default batch not shown, an hwm given shown; a demand
 * link without an hwm: balance=demand, flow_hwm=1. */
static void
test_dot_options_and_escapes(void **unused)
{
    static const char *const descriptions[] = { "", "description =\n",
                                                "description = a \"b\" \\c\n" };
    static const char *const labels[] = { "q\\\"x\\\\y", "q\\\"x\\\\y",
                                          "q\\\"x\\\\y: a \\\"b\\\" \\\\c" };
    flow_registry_t *reg = registry();

    (void)unused;
    for (size_t i = 0; i < 3; i++) {
        char text[512], want[2048], *dot;
        flow_diag_t diag;
        flow_graph_t *g;

        snprintf(text, sizeof(text),
                 "[graph]\nname = q\"x\\y\n%s"
                 "[gen]\ntype = range\n"
                 "[mid]\ntype = jitter\ninstances = 2\n"
                 "[out]\ntype = collect\n"
                 "[links]\npush = gen.out -> mid.in balance=demand\n"
                 "push = mid.out -> out.in batch=1 hwm=3\n",
                 descriptions[i]);
        g = flow_graph_load_string(text, strlen(text), "o.ini", reg, NULL, 0,
                                   &diag);
        if (!g)
            fail_msg("%s", diag.msg);
        snprintf(
            want, sizeof(want),
            "digraph \"q\\\"x\\\\y\" {\n"
            "    graph [rankdir=LR, labelloc=t, label=\"%s\"];\n"
            "    node [shape=box, fontname=\"Helvetica\"];\n"
            "    edge [fontname=\"Helvetica\", fontsize=10];\n"
            "    \"gen\" [label=\"gen\\nrange\\n1 instance\", "
            "flow_type=\"range\", flow_instances=1];\n"
            "    \"mid\" [label=\"mid\\njitter\\n2 instances\", "
            "flow_type=\"jitter\", flow_instances=2];\n"
            "    \"out\" [label=\"out\\ncollect\\n1 instance\", "
            "flow_type=\"collect\", flow_instances=1];\n"
            "    \"gen\" -> \"mid\" [label=\"push\\nout -> in\\n"
            "balance=demand\", flow_kind=push, flow_batch=1024, flow_hwm=1, "
            "flow_balance=demand];\n"
            "    \"mid\" -> \"out\" [label=\"push\\nout -> in\\nbatch=1\\n"
            "hwm=3\", flow_kind=push, flow_batch=1, flow_hwm=3];\n"
            "}\n",
            labels[i]);
        dot = dot_of(g, NULL);
        assert_string_equal(dot, want);
        free(dot);
        flow_graph_destroy(&g);
    }
    flow_registry_destroy(&reg);
}

/* The counters of a run: the sending side's out_* counters summed over its
 * instances (the receiving side's in_* ones, set apart here, not used);
 * "1 item in 1 msg" singular; an edge that carried nothing is thin. */
static void
test_dot_stats(void **unused)
{
    flow_registry_t *reg = registry();
    flow_graph_t *g = load_sieve(reg, "segments=2");
    size_t size = 0;
    flow_inst_stats_t *blocks = flow__stats_map(g, &size);
    const flow_glink_t *pair = &g->links[0], *push = &g->links[1];
    size_t main_k = flow__proc_index(g, pair->node[0], 0);
    size_t seg_k[2] = { flow__proc_index(g, pair->node[1], 0),
                        flow__proc_index(g, pair->node[1], 1) };
    size_t out_k = flow__proc_index(g, push->node[1], 0);
    flow_run_stats_t rs = { g, blocks, flow_graph_process_count(g), 1.5 };
    flow_port_stats_t *p;
    char *dot;
    static const char head[] =
        "digraph \"sieve\" {\n"
        "    graph [rankdir=LR, labelloc=t, label=\"sieve: The article's "
        "parallel prime sieve: primes <= limit, or their count\\n1.500 "
        "s\"];\n"
        "    node [shape=box, fontname=\"Helvetica\"];\n"
        "    edge [fontname=\"Helvetica\", fontsize=10];\n"
        "    \"main\" [label=\"main\\nprimes\\n1 instance\", "
        "flow_type=\"primes\", flow_instances=1];\n"
        "    \"seg\" [label=\"seg\\nsieve\\n2 instances\", "
        "flow_type=\"sieve\", flow_instances=2];\n"
        "    \"out\" [label=\"out\\ncollect\\n1 instance\", "
        "flow_type=\"collect\", flow_instances=1];\n";

    (void)unused;
    assert_non_null(blocks);
    assert_string_equal(g->nodes[pair->node[0]].name, "main");
    assert_string_equal(g->nodes[pair->node[1]].name, "seg");
    assert_string_equal(g->nodes[push->node[1]].name, "out");
    /* main -> seg: 500 items in 5 msgs (4000 bytes) out of main; back, 20
     * and 30 items in 2 and 3 msgs (160 and 240 bytes) out of the two
     * segments. */
    p = &blocks[main_k].ports[pair->port[0]];
    *p = (flow_port_stats_t){ .in_msgs = 5,
                              .in_items = 50,
                              .in_bytes = 400,
                              .out_msgs = 5,
                              .out_items = 500,
                              .out_bytes = 4000 };
    p = &blocks[seg_k[0]].ports[pair->port[1]];
    *p = (flow_port_stats_t){ .in_msgs = 2,
                              .in_items = 200,
                              .in_bytes = 1600,
                              .out_msgs = 2,
                              .out_items = 20,
                              .out_bytes = 160 };
    p = &blocks[seg_k[1]].ports[pair->port[1]];
    *p = (flow_port_stats_t){ .in_msgs = 3,
                              .in_items = 300,
                              .in_bytes = 2400,
                              .out_msgs = 3,
                              .out_items = 30,
                              .out_bytes = 240 };
    /* main -> out: nothing sent yet; its receiver's counters not read. */
    blocks[out_k].ports[push->port[1]].in_items = 777;
    dot = dot_of(g, &rs);
    {
        char want[4096];
        snprintf(want, sizeof(want),
                 "%s"
                 "    \"main\" -> \"seg\" [label=\"pair\\nseg <-> coord\\n"
                 "batch=4096\\nhwm=8\\n-> 500 items in 5 msgs\\n<- 50 items "
                 "in 5 msgs\", flow_msgs=5, flow_items=500, flow_bytes=4000, "
                 "flow_back_msgs=5, flow_back_items=50, flow_back_bytes=400, "
                 "penwidth=2, flow_kind=pair, flow_batch=4096, flow_hwm=8, "
                 "dir=both];\n"
                 "    \"main\" -> \"out\" [label=\"push\\nout -> in\\n"
                 "batch=4096\\n0 items in 0 msgs\", flow_msgs=0, "
                 "flow_items=0, flow_bytes=0, penwidth=1, flow_kind=push, "
                 "flow_batch=4096, flow_hwm=64];\n"
                 "}\n",
                 head);
        assert_string_equal(dot, want);
    }
    free(dot);

    /* One item in one message: singular; a pair link that carried data
     * one way only is thick. */
    blocks[main_k].ports[push->port[0]].out_msgs = 1;
    blocks[main_k].ports[push->port[0]].out_items = 1;
    blocks[main_k].ports[push->port[0]].out_bytes = 8;
    memset(&blocks[main_k].ports[pair->port[0]], 0, sizeof(flow_port_stats_t));
    blocks[seg_k[0]].ports[pair->port[1]].out_items = 0;
    blocks[seg_k[0]].ports[pair->port[1]].out_msgs = 0;
    blocks[seg_k[1]].ports[pair->port[1]].out_items = 1;
    blocks[seg_k[1]].ports[pair->port[1]].out_msgs = 1;
    blocks[seg_k[1]].ports[pair->port[1]].out_bytes = 8;
    blocks[seg_k[0]].ports[pair->port[1]].out_bytes = 0;
    rs.elapsed_s = 0.0004;
    dot = dot_of(g, &rs);
    {
        char want[4096], h[1024];
        /* The same head, the wall time rounded to the millisecond. */
        snprintf(h, sizeof(h), "%s", head);
        memcpy(strstr(h, "1.500 s"), "0.000 s", 7);
        snprintf(want, sizeof(want),
                 "%s"
                 "    \"main\" -> \"seg\" [label=\"pair\\nseg <-> coord\\n"
                 "batch=4096\\nhwm=8\\n-> 0 items in 0 msgs\\n<- 1 item "
                 "in 1 msg\", flow_msgs=0, flow_items=0, flow_bytes=0, "
                 "flow_back_msgs=1, flow_back_items=1, flow_back_bytes=8, "
                 "penwidth=2, flow_kind=pair, flow_batch=4096, flow_hwm=8, "
                 "dir=both];\n"
                 "    \"main\" -> \"out\" [label=\"push\\nout -> in\\n"
                 "batch=4096\\n1 item in 1 msg\", flow_msgs=1, "
                 "flow_items=1, flow_bytes=8, penwidth=2, flow_kind=push, "
                 "flow_batch=4096, flow_hwm=64];\n"
                 "}\n",
                 h);
        assert_string_equal(dot, want);
    }
    free(dot);
    assert_int_equal(munmap(blocks, size), 0);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* A node with two pair ports, for links whose ends are ports of other
 * indices. */
static int
no_run(flow_node_t *node, void *state)
{
    (void)node;
    (void)state;
    return 0;
}

static const flow_port_t twopair_ports[] = {
    FLOW_PORT_PAIR("a", FLOW_INT64, "one"),
    FLOW_PORT_PAIR("b", FLOW_INT64, "another"),
    FLOW_PORT_END,
};

static const flow_node_desc_t twopair_desc = {
    FLOW_NODE_V1,           .name = "twopair", .summary = "Two pair ports",
    .ports = twopair_ports, .run = no_run,
};

/* Each direction of a pair link is counted at its own sending port: here
 * l's port b and r's port a, then l's a and r's b. */
static void
test_dot_stats_pair_ports(void **unused)
{
    static const char text[] = "[l]\ntype = twopair\n[r]\ntype = twopair\n"
                               "[links]\npair = l.b <-> r.a hwm=5\n"
                               "pair = l.a <-> r.b hwm=6\n";
    static const char want[] =
        "digraph \"p\" {\n"
        "    graph [rankdir=LR, labelloc=t, label=\"p\\n2.000 s\"];\n"
        "    node [shape=box, fontname=\"Helvetica\"];\n"
        "    edge [fontname=\"Helvetica\", fontsize=10];\n"
        "    \"l\" [label=\"l\\ntwopair\\n1 instance\", "
        "flow_type=\"twopair\", flow_instances=1];\n"
        "    \"r\" [label=\"r\\ntwopair\\n1 instance\", "
        "flow_type=\"twopair\", flow_instances=1];\n"
        "    \"l\" -> \"r\" [label=\"pair\\nb <-> a\\nhwm=5\\n-> 10 items "
        "in 1 msg\\n<- 20 items in 2 msgs\", flow_msgs=1, flow_items=10, "
        "flow_bytes=80, flow_back_msgs=2, flow_back_items=20, "
        "flow_back_bytes=160, penwidth=2, flow_kind=pair, flow_batch=1024, "
        "flow_hwm=5, dir=both];\n"
        "    \"l\" -> \"r\" [label=\"pair\\na <-> b\\nhwm=6\\n-> 30 items "
        "in 3 msgs\\n<- 40 items in 4 msgs\", flow_msgs=3, flow_items=30, "
        "flow_bytes=240, flow_back_msgs=4, flow_back_items=40, "
        "flow_back_bytes=320, penwidth=2, flow_kind=pair, flow_batch=1024, "
        "flow_hwm=6, dir=both];\n"
        "}\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g;
    flow_inst_stats_t *blocks;
    size_t size = 0;
    char *dot;

    (void)unused;
    assert_int_equal(flow_registry_add(reg, &twopair_desc, "test_dot.c", &diag),
                     0);
    g = flow_graph_load_string(text, strlen(text), "p.ini", reg, NULL, 0,
                               &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    blocks = flow__stats_map(g, &size);
    assert_non_null(blocks);
    /* l is process 0, r process 1; port a is 0, b is 1. */
    blocks[0].ports[1] =
        (flow_port_stats_t){ .out_msgs = 1, .out_items = 10, .out_bytes = 80 };
    blocks[1].ports[0] =
        (flow_port_stats_t){ .out_msgs = 2, .out_items = 20, .out_bytes = 160 };
    blocks[0].ports[0] =
        (flow_port_stats_t){ .out_msgs = 3, .out_items = 30, .out_bytes = 240 };
    blocks[1].ports[1] =
        (flow_port_stats_t){ .out_msgs = 4, .out_items = 40, .out_bytes = 320 };
    {
        flow_run_stats_t rs = { g, blocks, 2, 2.0 };
        dot = dot_of(g, &rs);
    }
    assert_string_equal(dot, want);
    free(dot);
    assert_int_equal(munmap(blocks, size), 0);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* A stream that cannot take the text: an error, not 0. */
static void
test_dot_write_error(void **unused)
{
    flow_registry_t *reg = registry();
    flow_graph_t *g = load_sieve(reg, "segments=1");
    FILE *f = fopen("/dev/full", "w");

    (void)unused;
    if (!f) {
        flow_graph_destroy(&g);
        flow_registry_destroy(&reg);
        skip();
    }
    assert_int_equal(flow_graph_write_dot(g, f), -ENOSPC);
    fclose(f);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dot_doc_example),
        cmocka_unit_test(test_dot_options_and_escapes),
        cmocka_unit_test(test_dot_stats),
        cmocka_unit_test(test_dot_stats_pair_ports),
        cmocka_unit_test(test_dot_write_error),
    };

    return cmocka_run_group_tests_name("dot", tests, NULL, NULL);
}
