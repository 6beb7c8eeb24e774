/* SPDX-License-Identifier: MIT */
/*
 * test_graph.c: loading and validating INI graphs (graph_ini.c,
 * graph_check.c). Every bad fixture in tests/fixtures/graphs/ must fail with
 * an exact code, the exact line of the error and a message that names the
 * offending section, key, port or link; the good ones must load with the
 * values the file (and --set) gives.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow/testing.h"
#include "internal.h"
#include "stats.h"
#include "testutil.h"

#define FIXTURES "tests/fixtures/graphs"

/* ---- A node type with a required parameter --------------------------- */

/* No built-in node has a required parameter, so the test brings one. */
struct needy {
    int64_t level;
};

static const flow_param_t needy_params[] = {
    FLOW_PARAM_INT("level", struct needy, level, NULL, 0, 10,
                   "required: no default"),
    FLOW_PARAM_END
};

static const flow_port_t needy_ports[] = {
    FLOW_PORT_IN("in", FLOW_ANY, "anything"), FLOW_PORT_END
};

static int
needy_process(flow_node_t *node, void *state, const char *port,
              flow_msg_t **msg_p)
{
    (void)node;
    (void)state;
    (void)port;
    (void)msg_p;
    return 0;
}

static const flow_node_desc_t needy_desc = {
    FLOW_NODE_V1,
    .name = "needy",
    .summary = "A test node with a required parameter",
    .state_size = sizeof(struct needy),
    .params = needy_params,
    .ports = needy_ports,
    .process = needy_process,
};

/* A node type with two outputs, for upstream cancellation. */
static const flow_port_t tee_ports[] = {
    FLOW_PORT_IN("in", FLOW_ANY, "anything"),
    FLOW_PORT_OUT("a", FLOW_ANY, "a copy"),
    FLOW_PORT_OUT("b", FLOW_ANY, "another copy"), FLOW_PORT_END
};

/* And one with two inputs. */
static const flow_port_t join_ports[] = {
    FLOW_PORT_IN("a", FLOW_ANY, "anything"),
    FLOW_PORT_IN("b", FLOW_ANY, "anything else"),
    FLOW_PORT_OUT("out", FLOW_ANY, "both"), FLOW_PORT_END
};

static const flow_node_desc_t join_desc = {
    FLOW_NODE_V1,
    .name = "join2",
    .summary = "A test node with two inputs",
    .ports = join_ports,
    .process = needy_process,
};

static const flow_node_desc_t tee_desc = {
    FLOW_NODE_V1,
    .name = "tee2",
    .summary = "A test node with two outputs",
    .ports = tee_ports,
    .process = needy_process,
};

/* A sink of int64 items only. */
static const flow_port_t i64sink_ports[] = {
    FLOW_PORT_IN("in", FLOW_INT64, "numbers"), FLOW_PORT_END
};

static const flow_node_desc_t i64sink_desc = {
    FLOW_NODE_V1,
    .name = "i64sink",
    .summary = "A test node that takes int64 items",
    .ports = i64sink_ports,
    .process = needy_process,
};

/* A pair of node types that talk over a pair link, the first also pushing
 * to the second: a sink made of two nodes. */
static const flow_port_t pairpush_ports[] = {
    FLOW_PORT_IN("in", FLOW_ANY, "anything"),
    FLOW_PORT_OUT("out", FLOW_ANY, "to its peer"),
    FLOW_PORT_PAIR("peer", FLOW_ANY, "its peer"), FLOW_PORT_END
};

static const flow_port_t pairsink_ports[] = {
    FLOW_PORT_IN("a", FLOW_ANY, "anything"),
    FLOW_PORT_IN("b", FLOW_ANY, "from its peer"),
    FLOW_PORT_PAIR("peer", FLOW_ANY, "its peer"), FLOW_PORT_END
};

static int
pair_run(flow_node_t *node, void *state)
{
    (void)node;
    (void)state;
    return 0;
}

static const flow_node_desc_t pairpush_desc = {
    FLOW_NODE_V1,
    .name = "pairpush",
    .summary = "A test node with an input, an output and a pair port",
    .ports = pairpush_ports,
    .run = pair_run,
};

/* The middle of a chain of pair links: two inputs, two pair ports. */
static const flow_port_t pairmid_ports[] = {
    FLOW_PORT_IN("a", FLOW_ANY, "anything"),
    FLOW_PORT_IN("b", FLOW_ANY, "from a node of its group"),
    FLOW_PORT_PAIR("l", FLOW_ANY, "one peer"),
    FLOW_PORT_PAIR("r", FLOW_ANY, "the other peer"), FLOW_PORT_END
};

static const flow_node_desc_t pairmid_desc = {
    FLOW_NODE_V1,
    .name = "pairmid",
    .summary = "A test node with two inputs and two pair ports",
    .ports = pairmid_ports,
    .run = pair_run,
};

static const flow_node_desc_t pairsink_desc = {
    FLOW_NODE_V1,
    .name = "pairsink",
    .summary = "A test node with two inputs and a pair port",
    .ports = pairsink_ports,
    .run = pair_run,
};

/* ---- Helpers ------------------------------------------------------------ */

static flow_registry_t *
registry(void)
{
    flow_registry_t *reg = flow_registry_new();
    flow_diag_t diag;

    flow_registry_add_path(reg, tu_plugin_dir());
    assert_int_equal(flow_registry_add(reg, &needy_desc, "test_graph.c", &diag),
                     0);
    assert_int_equal(flow_registry_add(reg, &tee_desc, "test_graph.c", &diag),
                     0);
    assert_int_equal(flow_registry_add(reg, &join_desc, "test_graph.c", &diag),
                     0);
    assert_int_equal(
        flow_registry_add(reg, &pairpush_desc, "test_graph.c", &diag), 0);
    assert_int_equal(
        flow_registry_add(reg, &pairsink_desc, "test_graph.c", &diag), 0);
    assert_int_equal(
        flow_registry_add(reg, &pairmid_desc, "test_graph.c", &diag), 0);
    assert_int_equal(
        flow_registry_add(reg, &i64sink_desc, "test_graph.c", &diag), 0);
    return reg;
}

/* The path of fixture `name` in a static buffer. */
static const char *
fixture(const char *name)
{
    static char path[4096];
    char rel[512];

    snprintf(rel, sizeof(rel), FIXTURES "/%s", name);
    snprintf(path, sizeof(path), "%s", tu_src(rel));
    return path;
}

static flow_graph_t *
load(flow_registry_t *reg, const char *name, const char *const *sets,
     size_t nsets, flow_diag_t *diag)
{
    memset(diag, 0, sizeof(*diag));
    return flow_graph_load(fixture(name), reg, sets, nsets, diag);
}

static flow_gnode_t *
node(flow_graph_t *g, const char *name)
{
    long i = flow__graph_find_node(g, name);

    assert_true(i >= 0);
    return &g->nodes[i];
}

/* The value of key `key` of node `name` as loaded (after ${} and --set). */
static const char *
kv_value(flow_graph_t *g, const char *name, const char *key)
{
    flow_gnode_t *n = node(g, name);

    for (size_t i = 0; i < n->nkv; i++)
        if (!strcmp(n->kv[i].key, key))
            return n->kv[i].value;
    fail_msg("node '%s' has no key '%s'", name, key);
    return NULL;
}

static const flow_param_t *
param(flow_gnode_t *n, const char *name)
{
    for (const flow_param_t *p = n->desc->params; p && p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    fail_msg("type '%s' has no parameter '%s'", n->desc->name, name);
    return NULL;
}

/* Integer parameter `key` of node `name`, as parsed into the node's state. */
static int64_t
state_i64(flow_graph_t *g, const char *name, const char *key)
{
    flow_gnode_t *n = node(g, name);
    const flow_param_t *p = param(n, key);
    int64_t v;

    assert_int_equal(p->type, FLOW_PARAM_T_INT);
    memcpy(&v, (char *)n->state + p->offset, sizeof(v));
    return v;
}

static const char *
state_str(flow_graph_t *g, const char *name, const char *key)
{
    flow_gnode_t *n = node(g, name);
    const flow_param_t *p = param(n, key);
    const char *s;

    assert_int_equal(p->type, FLOW_PARAM_T_STRING);
    memcpy(&s, (char *)n->state + p->offset, sizeof(s));
    return s;
}

static int
state_choice(flow_graph_t *g, const char *name, const char *key)
{
    flow_gnode_t *n = node(g, name);
    const flow_param_t *p = param(n, key);
    int v;

    assert_int_equal(p->type, FLOW_PARAM_T_CHOICE);
    memcpy(&v, (char *)n->state + p->offset, sizeof(v));
    return v;
}

/* ---- Bad fixtures: one row each ----------------------------------------- */

typedef struct bad_case {
    const char *file;
    int code;
    int line;
    const char *subs[5]; /* NULL-terminated */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    { "bad_unknown_type.ini", FLOW_ETYPE, 6, { "'nosuchtype'", "'out'" } },
    { "bad_unknown_param.ini",
      FLOW_EPARAM,
      5,
      { "unknown parameter", "'colour'", "'gen'", "'words'" } },
    { "bad_missing_param.ini",
      FLOW_EPARAM,
      6,
      { "missing", "'level'", "'sink'", "'needy'" } },
    { "bad_value_not_number.ini",
      FLOW_EPARAM,
      4,
      { "'many'", "'count'", "'gen'", "not an integer" } },
    { "bad_value_out_of_range.ini",
      FLOW_EPARAM,
      5,
      { "'65'", "'length'", "'gen'", "out of range [1, 64]" } },
    { "bad_unknown_port.ini", FLOW_EPORT, 9, { "'gen'", "'output'" } },
    { "bad_port_linked_twice.ini",
      FLOW_ELINK,
      13,
      { "'out.in'", "linked twice", "line 12" } },
    { "bad_port_not_linked.ini",
      FLOW_ELINK,
      5,
      { "'gen2.out'", "not linked" } },
    { "bad_push_cycle.ini", FLOW_ECYCLE, 10, { "'b.out -> a.in'", "cycle" } },
    { "bad_duplicate_section.ini", FLOW_EDUP, 8, { "'[gen]'", "line 2" } },
    { "bad_duplicate_key.ini", FLOW_EDUP, 6, { "'count'", "[gen]" } },
    { "bad_undefined_ref.ini",
      FLOW_EPARAM,
      8,
      { "'seeed'", "'seed'", "'gen'" } },
    { "bad_line_too_long.ini", FLOW_EPARSE, 4, { "too long" } },
    { "bad_type_mismatch.ini",
      FLOW_EPORT,
      13,
      { "'nums.out'", "'find.in'", "int64", "words" } },
    { "bad_type_through_tee.ini",
      FLOW_EPORT,
      24,
      { "'j.out -> find.in'", "'j.out' carries int64", "'find.in' takes words",
        "node 'j' of type 'jitter' passes on what it receives" } },
    { "bad_sum_words.ini",
      FLOW_EPARAM,
      14,
      { "node 'total' of type 'collect'",
        "mode = sum adds int64 items, but its input is sent words",
        "read them with a node of type ints first" } },
    { "bad_pair_counts.ini",
      FLOW_ELINK,
      11,
      { "'a.coord <-> b.coord'", "2 and 3" } },
    { "bad_link_syntax.ini", FLOW_EPARSE, 9, { "'gen.out => out.in'" } },
    { "bad_link_spaces.ini",
      FLOW_EPARSE,
      9,
      { "'gen.out->out.in'", "(spaces around the arrow)" } },
    { "bad_link_pair_arrow.ini",
      FLOW_EPARSE,
      9,
      { "'gen.out <-> out.in'", "('<->' is the arrow of a pair link" } },
    { "bad_link_push_arrow.ini",
      FLOW_EPARSE,
      12,
      { "'main.seg -> seg.coord'", "('->' is the arrow of a push link" } },
    { "bad_links_case.ini",
      FLOW_ETYPE,
      8,
      { "'Links'", "'type'", "case-sensitive" } },
    { "bad_links_singular.ini",
      FLOW_EDUP,
      10,
      { "duplicate key 'push' in [link]", "did you mean [links]?" } },
    { "bad_links_singular_one.ini",
      FLOW_ETYPE,
      8,
      { "node 'link' has no 'type'", "did you mean [links]?" } },
    { "bad_link_direction.ini",
      FLOW_EPORT,
      9,
      { "'out.in -> gen.out'", "'out.in'", "an input port",
        "an output port" } },
    { "bad_max_instances.ini",
      FLOW_EPARAM,
      7,
      { "'out'", "'collect'", "at most 1", "not 2" } },
    { "bad_syntax.ini", FLOW_EPARSE, 4, { "key = value" } },
    { "bad_no_type.ini", FLOW_ETYPE, 5, { "'out'", "'type'" } },
    { "bad_type_typo.ini",
      FLOW_ETYPE,
      6,
      { "node 'out' has no 'type'", "did you mean 'type' for 'tpye'?" } },
    { "bad_param_typo.ini",
      FLOW_EPARAM,
      4,
      { "unknown parameter 'coutn'", "did you mean 'count'?" } },
    { "bad_link_unknown_node.ini",
      FLOW_ELINK,
      10,
      { "'gen.out -> nowhere.in'", "'nowhere'" } },
    { "bad_link_kind.ini", FLOW_EPARSE, 9, { "'pull'" } },
    { "bad_instances.ini", FLOW_EPARAM, 7, { "'0'", "'instances'", "'find'" } },
    { "bad_key_outside_section.ini", FLOW_EPARSE, 2, { "'name'", "outside" } },
    { "bad_link_option.ini",
      FLOW_EPARAM,
      9,
      { "'0'", "'batch'", "from 1 to 16777216" } },
    { "bad_cpus.ini", FLOW_EPARAM, 8, { "'0'", "'cpus'", "'find'" } },
    { "bad_slurm_constraint.ini",
      FLOW_EPARAM,
      7,
      { "''", "'slurm_constraint'", "'find'" } },
    { "bad_log_level.ini",
      FLOW_EPARAM,
      7,
      { "'loud'", "'log_level'", "'find'", "expected error, warning" } },
};

#define NBAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

static void
check_bad(flow_registry_t *reg, const bad_case_t *c)
{
    flow_diag_t diag;
    flow_graph_t *g = load(reg, c->file, NULL, 0, &diag);
    char buf[1024], prefix[4200];

    if (g) {
        flow_graph_destroy(&g);
        fail_msg("%s: loaded, expected %s", c->file, flow_err_name(c->code));
    }
    if (diag.code != c->code || diag.line != c->line)
        fail_msg("%s: got %s at line %d (%s), expected %s at line %d", c->file,
                 flow_err_name(diag.code), diag.line, diag.msg,
                 flow_err_name(c->code), c->line);
    assert_string_equal(diag.file, fixture(c->file));
    for (size_t i = 0; i < 5 && c->subs[i]; i++)
        if (!strstr(diag.msg, c->subs[i]))
            fail_msg("%s: message '%s' does not contain '%s'", c->file,
                     diag.msg, c->subs[i]);
    /* Messages are lowercase with no final period (git style). */
    assert_true(diag.msg[0] < 'A' || diag.msg[0] > 'Z');
    assert_true(diag.msg[strlen(diag.msg) - 1] != '.');
    snprintf(prefix, sizeof(prefix), "%s:%d: ", fixture(c->file), c->line);
    flow_diag_format(&diag, buf, sizeof(buf));
    assert_true(!strncmp(buf, prefix, strlen(prefix)));
}

static void
test_graph_bad_fixtures(void **state)
{
    flow_registry_t *reg = registry();

    (void)state;
    for (size_t i = 0; i < NBAD; i++)
        check_bad(reg, &bad_cases[i]);
    flow_registry_destroy(&reg);
}

/* Every fixture file is exercised: bad ones have a row, good ones load. */
static void
test_graph_every_fixture_is_covered(void **state)
{
    flow_registry_t *reg = registry();
    DIR *d = opendir(tu_src(FIXTURES));
    struct dirent *de;
    size_t nbad = 0, ngood = 0;

    (void)state;
    assert_non_null(d);
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        bool found = false;

        if (len < 5 || strcmp(name + len - 4, ".ini"))
            continue;
        if (!strncmp(name, "bad_", 4)) {
            for (size_t i = 0; i < NBAD; i++)
                if (!strcmp(bad_cases[i].file, name))
                    found = true;
            if (!found)
                fail_msg("fixture '%s' has no row in bad_cases", name);
            nbad++;
        } else if (!strncmp(name, "good_", 5)) {
            flow_diag_t diag;
            flow_graph_t *g = load(reg, name, NULL, 0, &diag);
            if (!g)
                fail_msg("%s: %s at line %d: %s", name,
                         flow_err_name(diag.code), diag.line, diag.msg);
            flow_graph_destroy(&g);
            ngood++;
        } else {
            fail_msg("fixture '%s' is named neither bad_* nor good_*", name);
        }
    }
    closedir(d);
    assert_int_equal(nbad, NBAD);
    assert_true(ngood >= 5);
    flow_registry_destroy(&reg);
}

/* "Did you mean": the closest name within 1 edit (up to 4 letters), 2 (up
 * to 8), 3 (longer); a swap of neighbours is one edit; case ignored. */
static void
test_graph_suggest(void **state)
{
    static const char *const names[] = { "instances", "count", "length", "seed",
                                         "type" };
    const size_t n = sizeof(names) / sizeof(names[0]);

    (void)state;
    assert_string_equal(flow__suggest("instnaces", names, n), "instances");
    assert_string_equal(flow__suggest("instance", names, n), "instances");
    assert_string_equal(flow__suggest("coutn", names, n), "count");
    assert_string_equal(flow__suggest("lenght", names, n), "length");
    assert_string_equal(flow__suggest("tpye", names, n), "type");
    assert_string_equal(flow__suggest("Type", names, n), "type");
    assert_string_equal(flow__suggest("sed", names, n), "seed");
    /* too far for their length: "sd" is 2 edits from "seed" (1 allowed),
     * "cnt" 2 from "count" */
    assert_null(flow__suggest("sd", names, n));
    assert_null(flow__suggest("cnt", names, n));
    assert_null(flow__suggest("colour", names, n));
    /* the name itself is no suggestion */
    assert_null(flow__suggest("count", (const char *const[]){ "count" }, 1));
}

/* The bounds of "did you mean", worked out by hand: 1 edit allowed up to 4
 * letters, 2 up to 8, 3 beyond; a letter added, dropped or changed, or two
 * neighbours swapped, is one edit, whatever the case of the letters. */
static void
test_graph_suggest_bounds(void **state)
{
    static const char *const names[] = { "type", "weights", "segments",
                                         "instances" };
    const size_t n = sizeof(names) / sizeof(names[0]);
    char longw[80], longn[80];

    (void)state;
    /* 4 letters, 2 edits from "type": too far; 5 letters, 2 edits from
     * "weights" is "weigh": near enough. */
    assert_null(flow__suggest("tyxx", names, n));
    assert_string_equal(flow__suggest("weigh", names, n), "weights");
    /* 8 letters, 3 edits from "segments": too far; 9 letters, 3 from
     * "instances": near enough; 9 letters, 4 edits: too far. */
    assert_null(flow__suggest("segmexxx", names, n));
    assert_string_equal(flow__suggest("instaxxxs", names, n), "instances");
    assert_null(flow__suggest("inxxxxces", names, n));
    /* A letter dropped from a short word: 1 edit ("cats" to "cat"). */
    assert_string_equal(
        flow__suggest("cats", (const char *const[]){ "cat" }, 1), "cat");
    /* Leading letters count: "xxxxtype" is 4 edits from "type". */
    assert_null(flow__suggest("xxxxtype", names, n));
    /* Case ignored, a swap is one edit: "TPYE" is "type". */
    assert_string_equal(flow__suggest("TPYE", names, n), "type");
    /* A NULL among the names is skipped. */
    assert_string_equal(
        flow__suggest("tpye", (const char *const[]){ NULL, "type" }, 2),
        "type");
    /* Past 64 letters, no suggestion: a 65-letter name one letter more
     * than a 64-letter word. */
    memset(longw, 'a', 64);
    longw[64] = '\0';
    memset(longn, 'a', 65);
    longn[65] = '\0';
    assert_null(flow__suggest(longw, (const char *const[]){ longn }, 1));
    assert_null(flow__suggest(longn, (const char *const[]){ longw }, 1));
}

/* A section without a type gets a hint of [links] or [graph] only when it
 * holds what they would: a node named near them that lacks its type alone
 * ([lines], [crash]) is told only that (it was asked whether it meant
 * [links] or [graph]). */
static void
test_graph_section_hints(void **state)
{
    static const struct {
        const char *text, *hint; /* NULL: none */
    } cases[] = {
        { "[lines]\nmin = 3\n", NULL },
        { "[crash]\naction = crash\n", NULL },
        { "[grap]\ncount = 3\n", NULL },
        { "[grap]\nname = g\n", " (did you mean [graph]?)" },
        { "[link]\npush = a.out -> b.in\n", " (did you mean [links]?)" },
        { "[wires]\npush = a.out -> b.in\n",
          " (links go in the section [links])" },
    };
    flow_registry_t *reg = registry();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        flow_diag_t diag;
        const char *text = cases[i].text, *end;
        char want[128];
        flow_graph_t *g = flow_graph_load_string(text, strlen(text), "h.ini",
                                                 reg, NULL, 0, &diag);
        assert_null(g);
        end = strstr(diag.msg, "has no 'type'");
        if (!end)
            fail_msg("%s", diag.msg);
        snprintf(want, sizeof(want), "has no 'type'%s",
                 cases[i].hint ? cases[i].hint : "");
        assert_string_equal(end, want);
    }
    flow_registry_destroy(&reg);
}

/* ---- Good graphs -------------------------------------------------------- */

/* A node's log_level takes the names --log-level takes, "warn" too (it was
 * refused there while --log-level took it). */
static void
test_graph_log_level_names(void **state)
{
    static const struct {
        const char *name;
        int level;
    } names[] = { { "error", FLOW_LOG_ERROR },
                  { "warning", FLOW_LOG_WARN },
                  { "warn", FLOW_LOG_WARN },
                  { "info", FLOW_LOG_INFO },
                  { "debug", FLOW_LOG_DEBUG },
                  { "Warning", -1 },
                  { "", -1 },
                  { "warnings", -1 } };
    flow_registry_t *reg = registry();

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char text[256];
        flow_diag_t diag;
        flow_graph_t *g;

        assert_int_equal(flow_log_level_parse(names[i].name), names[i].level);
        if (names[i].level >= 0 && strcmp(names[i].name, "warn"))
            assert_string_equal(flow_log_level_name(names[i].level),
                                names[i].name);
        snprintf(text, sizeof(text),
                 "[gen]\ntype = words\nlog_level = %s\n[out]\n"
                 "type = collect\n[links]\npush = gen.out -> out.in\n",
                 names[i].name);
        g = flow_graph_load_string(text, strlen(text), "lv.ini", reg, NULL, 0,
                                   &diag);
        if (names[i].level < 0) {
            assert_null(g);
            assert_int_equal(diag.code, FLOW_EPARAM);
            assert_int_equal(diag.line, 3);
            continue;
        }
        if (!g)
            fail_msg("log_level = %s: %s", names[i].name, diag.msg);
        assert_int_equal(g->nodes[0].log_level, names[i].level);
        /* Without the key: -1, the run's level. */
        assert_int_equal(g->nodes[1].log_level, -1);
        flow_graph_destroy(&g);
    }
    assert_null(flow_log_level_name(-1));
    assert_null(flow_log_level_name(FLOW_LOG_DEBUG + 1));
    flow_registry_destroy(&reg);
}

/* A link's default hwm: about 1 MiB of int64 frames, 64 to 1000 messages,
 * fewer only where 64 would hold more than 64 MiB. */
static void
test_graph_link_hwm_default(void **state)
{
    (void)state;
    /* Small frames: a deep queue, capped at libzmq's default of 1000. */
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, 1), 1000);
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, 16), 1000);
    /* 2072-byte frames: 1048576 / 2072 = 506.06. */
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, 256), 506);
    /* 8216-byte frames: 127.6. */
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, 1024), 127);
    /* 64 KiB frames up to 1 MiB: 64. */
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, 8192), 64);
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, (size_t)1 << 16), 64);
    /* 64 frames of 2^17 items are 24 bytes over 64 MiB: 63. */
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, (size_t)1 << 17), 63);
    /* Larger: what fits in 64 MiB, at least 2 (64 frames of 2^24 items
     * held 8 GiB per queue). 2^26 / (24 + 8 * 2^20) = 7.99. */
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, (size_t)1 << 20), 7);
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, (size_t)1 << 22), 2);
    assert_int_equal(flow__link_hwm_default(FLOW_INT64, (size_t)1 << 24), 2);
    /* Items of unknown size: 64 whatever the batch. */
    assert_int_equal(flow__link_hwm_default(FLOW_WORDS, 1), 64);
    assert_int_equal(flow__link_hwm_default(FLOW_BYTES, 1), 64);
    assert_int_equal(flow__link_hwm_default(FLOW_ANY, 1), 64);
}

/* The default reaches the loaded graph: an int64 link by its batch, a
 * words link 64, a written hwm as written. */
static void
test_graph_link_hwm_in_graph(void **state)
{
    static const char text[] =
        "[src]\ntype = range\n[gen]\ntype = words\n"
        "[a]\ntype = collect\n[b]\ntype = collect\n[c]\ntype = collect\n"
        "[d]\ntype = range\n"
        "[links]\npush = src.out -> a.in batch=16\n"
        "push = gen.out -> b.in batch=16\n"
        "push = d.out -> c.in batch=16 hwm=5\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = flow_graph_load_string(text, strlen(text), "hwm.ini", reg,
                                             NULL, 0, &diag);

    (void)state;
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(g->links[0].hwm, 1000);
    assert_int_equal(g->links[1].hwm, 64);
    assert_int_equal(g->links[2].hwm, 5);
    flow_graph_destroy(&g);

    /* An output of any type into an int64 input: the default is the
     * int64 one, from the input's side. */
    static const char any[] = "[src]\ntype = range\n[t]\ntype = tee2\n"
                              "[k]\ntype = i64sink\n[c]\ntype = collect\n"
                              "[links]\npush = src.out -> t.in\n"
                              "push = t.a -> k.in batch=16\n"
                              "push = t.b -> c.in batch=16\n";
    g = flow_graph_load_string(any, strlen(any), "hwm.ini", reg, NULL, 0,
                               &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(g->links[1].hwm, 1000);
    assert_int_equal(g->links[2].hwm, 64);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* The run's shared counters (flow__stats_map): every process's block and
 * port counters lie in the mapping, zeroed, and no 128-byte stretch holds
 * two processes' counters. A sender's and its receiver's, both written on
 * every message, shared a cache line, which went from CPU to CPU on every
 * message (pinned 32-byte messages: 0.70x of raw libzmq, 0.9x apart). */
static void
test_graph_stats_apart(void **state)
{
    static const char text[] =
        "[src]\ntype = range\n[t]\ntype = tee\n"
        "[j]\ntype = jitter\ninstances = 3\n[m]\ntype = merge\n"
        "[out]\ntype = collect\n"
        "[links]\npush = src.out -> t.in\npush = t.a -> j.in\n"
        "push = j.out -> m.a\npush = t.b -> m.b\npush = m.out -> out.in\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = flow_graph_load_string(text, strlen(text), "apart.ini",
                                             reg, NULL, 0, &diag);
    size_t size = 0, nprocs, k = 0;
    flow_inst_stats_t *blocks;
    uintptr_t base, (*range)[2][2];

    (void)state;
    if (!g)
        fail_msg("%s", diag.msg);
    nprocs = flow_graph_process_count(g);
    assert_int_equal(nprocs, 7);
    blocks = flow__stats_map(g, &size);
    assert_non_null(blocks);
    base = (uintptr_t)blocks;
    range = calloc(nprocs, sizeof(*range));
    assert_non_null(range);
    /* Each process's two stretches, as 128-byte block numbers. */
    for (size_t n = 0; n < g->nnodes; n++)
        for (unsigned i = 0; i < g->nodes[n].instances; i++, k++) {
            uintptr_t b0 = (uintptr_t)&blocks[k];
            uintptr_t b1 = b0 + sizeof(blocks[k]) - 1;
            uintptr_t p0 = (uintptr_t)blocks[k].ports;
            uintptr_t p1 =
                p0 + g->nodes[n].nports * sizeof(flow_port_stats_t) - 1;
            assert_true(b0 >= base && b1 < base + size);
            assert_true(p0 >= base && p1 < base + size);
            /* Zeroed, but the pointer to its ports. */
            for (uintptr_t a = b0; a < b0 + offsetof(flow_inst_stats_t, ports);
                 a++)
                assert_int_equal(*(const unsigned char *)a, 0);
            for (uintptr_t a = p0; a <= p1; a++)
                assert_int_equal(*(const unsigned char *)a, 0);
            range[k][0][0] = (b0 - base) / 128;
            range[k][0][1] = (b1 - base) / 128;
            range[k][1][0] = (p0 - base) / 128;
            range[k][1][1] = (p1 - base) / 128;
        }
    assert_int_equal(k, nprocs);
    for (size_t a = 0; a < nprocs; a++)
        for (size_t b = a + 1; b < nprocs; b++)
            for (int x = 0; x < 2; x++)
                for (int y = 0; y < 2; y++)
                    if (range[a][x][0] <= range[b][y][1] &&
                        range[b][y][0] <= range[a][x][1])
                        fail_msg("processes %zu and %zu share 128 bytes of "
                                 "counters",
                                 a, b);
    free(range);
    assert_int_equal(munmap(blocks, size), 0);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* Two hosts whose plugin of a node type differs in what a graph sees of it
 * (here a parameter's default: another version of the plugin) load two
 * different graphs from one file: the fingerprint the rendezvous compares
 * tells them apart, and the parts name the node. It hashed only the keys
 * written in the file, so the instance ran with the other default. */
static const flow_param_t skew_params_a[] = {
    FLOW_PARAM_INT("level", struct needy, level, "1", 0, 10, "a number"),
    FLOW_PARAM_END
};
static const flow_param_t skew_params_b[] = {
    FLOW_PARAM_INT("level", struct needy, level, "2", 0, 10, "a number"),
    FLOW_PARAM_END
};

static const flow_port_t skew_ports[] = {
    FLOW_PORT_OUT("out", FLOW_INT64, "numbers"), FLOW_PORT_END
};

static void
test_graph_fingerprint_sees_plugin_version(void **state)
{
    static const char text[] = "[s]\ntype = skew\n[out]\ntype = collect\n"
                               "[links]\npush = s.out -> out.in\n";
    flow_node_desc_t a = { FLOW_NODE_V1,
                           .name = "skew",
                           .summary = "A source of two versions",
                           .state_size = sizeof(struct needy),
                           .params = skew_params_a,
                           .ports = skew_ports,
                           .run = pair_run },
                     b = a;
    flow_graph_t *g[2];
    char why[256] = "", *parts;

    (void)state;
    b.params = skew_params_b;
    for (int i = 0; i < 2; i++) {
        flow_registry_t *reg = flow_registry_new();
        flow_diag_t diag;
        flow_registry_add_path(reg, tu_plugin_dir());
        assert_int_equal(
            flow_registry_add(reg, i ? &b : &a, "test_graph.c", &diag), 0);
        g[i] = flow_graph_load_string(text, strlen(text), "skew.ini", reg, NULL,
                                      0, &diag);
        if (!g[i])
            fail_msg("%s", diag.msg);
        flow_registry_destroy(&reg);
    }
    assert_true(flow__graph_fingerprint(g[0]) != flow__graph_fingerprint(g[1]));
    parts = flow__graph_parts(g[1]);
    assert_int_equal(flow__graph_parts_diff(g[0], parts, why, sizeof(why)), 0);
    tu_assert_contains(why, "node 's' differs");
    tu_assert_contains(why, "another version of the plugin");
    free(parts);
    /* The same declaration: the same graph. */
    parts = flow__graph_parts(g[0]);
    assert_int_equal(flow__graph_parts_diff(g[0], parts, why, sizeof(why)), -1);
    free(parts);
    for (int i = 0; i < 2; i++)
        flow_graph_destroy(&g[i]);
}

/* A node whose ports are FLOW_SAME (tee, jitter, split) carries the type
 * of what is linked to it: the default hwm of an int64 stream follows it
 * through a chain of them, and a type reached backward, from a consumer,
 * meets a mismatch on another of the node's ports. */
static void
test_graph_same_type(void **state)
{
    static const char chain[] =
        "[src]\ntype = range\n[j1]\ntype = jitter\n[t]\ntype = tee\n"
        "[s]\ntype = split\n[a]\ntype = collect\n[b]\ntype = i64sink\n"
        "[links]\npush = s.out -> a.in batch=16\n"
        "push = t.a -> s.in batch=16\npush = j1.out -> t.in batch=16\n"
        "push = src.out -> j1.in batch=16\npush = t.b -> b.in batch=16\n";
    static const char backward[] =
        "[src]\ntype = range\n[f]\ntype = fault\n[t]\ntype = tee\n"
        "[find]\ntype = palindromes\n[k]\ntype = i64sink\n"
        "[out]\ntype = collect\n"
        "[links]\npush = src.out -> f.in\npush = f.out -> t.in\n"
        "push = t.a -> find.in\npush = t.b -> k.in\n"
        "push = find.out -> out.in\n";
    static const char open_type[] =
        "[src]\ntype = range\n[f]\ntype = fault\n[j]\ntype = jitter\n"
        "[out]\ntype = collect\n"
        "[links]\npush = src.out -> f.in\npush = f.out -> j.in\n"
        "push = j.out -> out.in batch=16\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = flow_graph_load_string(chain, strlen(chain), "chain.ini",
                                             reg, NULL, 0, &diag);

    (void)state;
    if (!g)
        fail_msg("%s", diag.msg);
    /* Every link carries int64: 1000 frames of 16 items, not 64. */
    for (size_t i = 0; i < g->nlinks; i++)
        assert_int_equal(g->links[i].hwm, 1000);
    assert_int_equal(g->nodes[1].same_type, FLOW_INT64);
    assert_int_equal(g->nodes[3].same_type, FLOW_INT64);
    flow_graph_destroy(&g);

    /* The tee gets words from 'find', then meets 'k', which takes int64. */
    g = flow_graph_load_string(backward, strlen(backward), "back.ini", reg,
                               NULL, 0, &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EPORT);
    assert_int_equal(diag.line, 17);
    assert_non_null(strstr(diag.msg, "port 't.b' carries words (node 't' of "
                                     "type 'tee' passes on what it "
                                     "receives: its links give it words)"));
    assert_non_null(strstr(diag.msg, "port 'k.in' takes int64"));

    /* Behind a node of any type (fault), with no typed consumer, the type
     * stays open: the graph loads, the link gets the untyped default. */
    g = flow_graph_load_string(open_type, strlen(open_type), "open.ini", reg,
                               NULL, 0, &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(g->nodes[2].same_type, FLOW_ANY);
    assert_int_equal(g->links[2].hwm, 64);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* balance=demand: on a push link only, its hwm 1 unless written, part of
 * the graph's fingerprint (instances started apart must agree on it) and
 * of its DOT; a bad value, a pair link or the option twice refused at the
 * link's line. */
static void
test_graph_link_balance(void **state)
{
    static const char *const links[] = { "batch=16", "balance=rr",
                                         "balance=demand",
                                         "balance=demand hwm=5",
                                         "balance=rr hwm=5" };
    /* Round robin: the default of an int64 link of its batch. */
    static const int hwm[] = { 1000, 127, 1, 5, 5 };
    /* The widest credit window: demand only; the round robin default of
     * its batch (2^20 / (24 + 8 x 1024) = 127) unless an hwm is written. */
    static const int credit_max[] = { 0, 0, 127, 5, 0 };
    static const struct {
        const char *links, *msg;
    } bad[] = {
        { "push = src.out -> a.in balance=fast",
          "bad value 'fast' for link option 'balance': rr" },
        { "push = src.out -> a.in balance=demand balance=rr",
          "link option 'balance' given twice" },
        { "push = src.out -> a.in balance", "bad link option 'balance'" },
        { "push = src.out -> a.in balance = demand",
          "bad link option 'balance =': no spaces around '=' in a link "
          "option (write balance=VALUE)" },
        { "push = src.out -> a.in hwm =4", "no spaces around '='" },
        { "push = src.out -> a.in\npair = main.seg <-> seg.coord "
          "balance=demand",
          "link option 'balance' is for push links" },
    };
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    uint64_t fp[5];
    char text[512];

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\n[a]\ntype = collect\n"
                 "[links]\npush = src.out -> a.in %s\n",
                 links[i]);
        flow_graph_t *g = flow_graph_load_string(text, strlen(text), "b.ini",
                                                 reg, NULL, 0, &diag);
        char *dot = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&dot, &len);
        if (!g)
            fail_msg("%s", diag.msg);
        assert_int_equal(g->links[0].demand, i == 2 || i == 3);
        assert_int_equal(g->links[0].hwm, hwm[i]);
        assert_int_equal(g->links[0].credit_max, credit_max[i]);
        fp[i] = flow__graph_fingerprint(g);
        assert_int_equal(flow_graph_write_dot(g, f), 0);
        fclose(f);
        assert_int_equal(strstr(dot, "balance=demand") != NULL,
                         i == 2 || i == 3);
        free(dot);
        flow_graph_destroy(&g);
    }
    /* The balance alone, hwm and all else the same, changes it. */
    assert_true(fp[1] != fp[2] && fp[2] != fp[3] && fp[3] != fp[4]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\n[a]\ntype = collect\n"
                 "[main]\ntype = primes\n[seg]\ntype = sieve\n"
                 "[links]\n%s\n",
                 bad[i].links);
        flow_graph_t *g = flow_graph_load_string(text, strlen(text), "b.ini",
                                                 reg, NULL, 0, &diag);
        assert_null(g);
        assert_int_equal(diag.line, strchr(bad[i].links, '\n') ? 11 : 10);
        tu_assert_contains(diag.msg, bad[i].msg);
    }
    flow_registry_destroy(&reg);
}

/* Where two loads of a graph differ, from the prints of their parts (what
 * a rendezvous says to an instance it refuses): a graph parameter, a node,
 * a link, or their counts; nothing for the same graph or a malformed text. */
static void
test_graph_parts_diff(void **state)
{
    static const char *const sets[][2] = {
        { NULL, NULL },
        { "n=7", "graph parameter 'n' differs" },
        { "a.limit=3",
          "node 'a' differs (its name, type, instances or keys, or its type's "
          "parameters and ports: another version of the plugin there?)" },
    };
    static const char text[] = "[graph]\nn = 5\nh = 4\n"
                               "[src]\ntype = range\ncount = ${n}\n"
                               "[a]\ntype = collect\n"
                               "[links]\npush = src.out -> a.in hwm=${h}\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = flow_graph_load_string(text, strlen(text), "p.ini", reg,
                                             NULL, 0, &diag);
    char where[256];

    (void)state;
    assert_non_null(g);
    for (size_t i = 0; i < sizeof(sets) / sizeof(*sets); i++) {
        const char *set[1] = { sets[i][0] };
        flow_graph_t *o =
            flow_graph_load_string(text, strlen(text), "p.ini", reg,
                                   set[0] ? set : NULL, set[0] ? 1 : 0, &diag);
        char *parts;
        assert_non_null(o);
        parts = flow__graph_parts(o);
        if (!sets[i][1]) {
            assert_int_equal(
                flow__graph_parts_diff(g, parts, where, sizeof(where)), -1);
        } else {
            assert_int_equal(
                flow__graph_parts_diff(g, parts, where, sizeof(where)), 0);
            assert_string_equal(where, sets[i][1]);
        }
        free(parts);
        flow_graph_destroy(&o);
    }
    /* A link's option written otherwise. */
    static const char link[] = "[graph]\nn = 5\nh = 4\n"
                               "[src]\ntype = range\ncount = ${n}\n"
                               "[a]\ntype = collect\n"
                               "[links]\npush = src.out -> a.in hwm=9\n";
    flow_graph_t *l = flow_graph_load_string(link, strlen(link), "l.ini", reg,
                                             NULL, 0, &diag);
    char *lp = flow__graph_parts(l);
    assert_int_equal(flow__graph_parts_diff(g, lp, where, sizeof(where)), 0);
    assert_string_equal(where, "link 'src.out -> a.in' differs (its ports, "
                               "batch, hwm or balance)");
    free(lp);
    flow_graph_destroy(&l);
    /* Another shape: the counts. */
    static const char more[] = "[graph]\nn = 5\nh = 4\n"
                               "[src]\ntype = range\ncount = ${n}\n"
                               "[b]\ntype = jitter\n[a]\ntype = collect\n"
                               "[links]\npush = src.out -> b.in hwm=${h}\n"
                               "push = b.out -> a.in\n";
    flow_graph_t *o = flow_graph_load_string(more, strlen(more), "m.ini", reg,
                                             NULL, 0, &diag);
    char *parts = flow__graph_parts(o);
    assert_int_equal(flow__graph_parts_diff(g, parts, where, sizeof(where)), 0);
    assert_string_equal(where, "it has 3 nodes, 2 links and 2 graph "
                               "parameters, the rendezvous's 2, 1 and 2");
    free(parts);
    flow_graph_destroy(&o);
    /* Not such a text, or cut short: nothing said. */
    assert_int_equal(
        flow__graph_parts_diff(g, "parts=2.2.1:00", where, sizeof(where)), -1);
    assert_int_equal(
        flow__graph_parts_diff(g, "nonsense", where, sizeof(where)), -1);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* A graph parameter nothing refers to: valid, with a warning naming its
 * line (and the used parameter it is closest to); one referred to from a
 * node or a link only: no warning. */
static void
test_graph_unused_param_warns(void **state)
{
    static const char text[] =
        "[graph]\nworkers = 2\nworkes = 4\nbatch = 8\nlonely = 1\n"
        "[src]\ntype = range\ninstances = ${workers}\n"
        "[out]\ntype = collect\n"
        "[links]\npush = src.out -> out.in batch=${batch}\n";
    static const char used[] = "[graph]\nn = 3\n[src]\ntype = range\n"
                               "count = ${n}\n[out]\ntype = collect\n"
                               "[links]\npush = src.out -> out.in\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    const char *sets[] = { "lonely=5" };
    flow_graph_t *g = flow_graph_load_string(text, strlen(text), "w.ini", reg,
                                             sets, 1, &diag);

    (void)state;
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(flow_graph_warning_count(g), 2);
    assert_string_equal(flow_graph_warning(g, 0),
                        "w.ini:3: graph parameter 'workes' is not used: no "
                        "node value or link refers to it as ${workes}; did "
                        "you mean 'workers'?");
    assert_string_equal(flow_graph_warning(g, 1),
                        "w.ini:5: graph parameter 'lonely' (set on the "
                        "command line) is not used: no node value or link "
                        "refers to it as ${lonely}");
    assert_null(flow_graph_warning(g, 2));
    flow_graph_destroy(&g);
    g = flow_graph_load_string(used, strlen(used), "u.ini", reg, NULL, 0,
                               &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(flow_graph_warning_count(g), 0);
    flow_graph_destroy(&g);
    /* Referred to in the file, by a value --set replaces: the warning says
     * so, and suggests no other name (it said "no node value or link
     * refers to it as ${n}; did you mean ..."). Two such values: the first
     * named; the parameter set too: said. */
    {
        static const char two[] = "[graph]\nn = 3\n[src]\ntype = range\n"
                                  "count = ${n}\nstart = ${n}\n"
                                  "[out]\ntype = collect\n"
                                  "[links]\npush = src.out -> out.in\n";
        static const char *const over[] = { "src.count=5", "src.start=1",
                                            "n=4" };
        static const struct {
            const char *text, *name;
            size_t nsets;
            const char *want;
        } cases[] = {
            { used, "u.ini", 1,
              "u.ini:2: graph parameter 'n' is not used: the value that "
              "refers to it as ${n}, src.count, is set on the command line" },
            { two, "t.ini", 3,
              "t.ini:2: graph parameter 'n' (set on the command line) is not "
              "used: the value that refers to it as ${n}, src.count, is set "
              "on the command line" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
            g = flow_graph_load_string(cases[i].text, strlen(cases[i].text),
                                       cases[i].name, reg, over, cases[i].nsets,
                                       &diag);
            if (!g)
                fail_msg("%s", diag.msg);
            assert_int_equal(flow_graph_warning_count(g), 1);
            assert_string_equal(flow_graph_warning(g, 0), cases[i].want);
            flow_graph_destroy(&g);
        }
    }
    flow_registry_destroy(&reg);
}

/* Load `text` (NUL-terminated); NULL and the message in `diag` on error. */
static flow_graph_t *
load_text(flow_registry_t *reg, const char *text, flow_diag_t *diag)
{
    memset(diag, 0, sizeof(*diag));
    return flow_graph_load_string(text, strlen(text), "lim.ini", reg, NULL, 0,
                                  diag);
}

/* `text` loads (`ok`), or fails at `line` with a message holding `what`. */
static void
expect_limit(flow_registry_t *reg, const char *text, bool ok, int line,
             const char *what)
{
    flow_diag_t diag;
    flow_graph_t *g = load_text(reg, text, &diag);

    if (ok && !g)
        fail_msg("%s\n%s", text, diag.msg);
    if (ok) {
        flow_graph_destroy(&g);
        return;
    }
    assert_null(g);
    assert_int_equal(diag.line, line);
    assert_non_null(strstr(diag.msg, what));
}

/* The documented limits, at the limit and one past it: lines of 198 bytes
 * (with or without the newline that ends them), section names of 49
 * characters, 4096 instances. */
static void
test_graph_limits_exact(void **state)
{
    flow_registry_t *reg = registry();
    char text[1024], fill[256];

    (void)state;
    for (int last = 0; last < 2; last++) {
        for (size_t len = 198; len <= 199; len++) {
            memset(fill, 'x', sizeof(fill));
            fill[0] = ';';
            fill[len] = '\0';
            snprintf(text, sizeof(text),
                     "[src]\ntype = range\n[out]\ntype = collect\n"
                     "[links]\npush = src.out -> out.in\n%s%s",
                     fill, last ? "" : "\n");
            expect_limit(reg, text, len == 198, 7, "line is too long");
        }
    }
    for (size_t len = 49; len <= 50; len++) {
        memset(fill, 'n', len);
        fill[len] = '\0';
        snprintf(text, sizeof(text),
                 "[%s]\ntype = range\n[out]\ntype = collect\n"
                 "[links]\npush = %s.out -> out.in\n",
                 fill, fill);
        expect_limit(reg, text, len == 49, 1, "longer than 49 characters");
    }
    for (int n = 4096; n <= 4097; n++) {
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\n[w]\ntype = jitter\ninstances = %d\n"
                 "[out]\ntype = collect\n[links]\npush = src.out -> w.in\n"
                 "push = w.out -> out.in\n",
                 n);
        expect_limit(reg, text, n == 4096, 5, "'instances'");
    }
    /* Link options: batch at most 2^24, hwm at most 10^6
     * (docs/graph-format.md). */
    static const struct {
        const char *key;
        int64_t most;
    } opts[] = { { "batch", 16777216 }, { "hwm", 1000000 } };
    for (size_t o = 0; o < sizeof(opts) / sizeof(*opts); o++)
        for (int64_t v = opts[o].most; v <= opts[o].most + 1; v++) {
            char quoted[32];
            snprintf(text, sizeof(text),
                     "[src]\ntype = range\n[out]\ntype = collect\n"
                     "[links]\npush = src.out -> out.in %s=%" PRId64 "\n",
                     opts[o].key, v);
            snprintf(quoted, sizeof(quoted), "'%s'", opts[o].key);
            expect_limit(reg, text, v == opts[o].most, 6, quoted);
        }
    /* A type's max_instances (collect: 1) is allowed when written. */
    for (int n = 1; n <= 2; n++) {
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\n[out]\ntype = collect\n"
                 "instances = %d\n[links]\npush = src.out -> out.in\n",
                 n);
        expect_limit(reg, text, n == 1, 5, "allows at most 1 instance, not 2");
    }
    flow_registry_destroy(&reg);
}

/* A --set whose name is longer than any name can be (255 bytes) is a usage
 * error, not a name cut short. */
static void
test_graph_set_long_name(void **state)
{
    flow_registry_t *reg = registry();
    static const char text[] = "[src]\ntype = range\n[out]\ntype = collect\n"
                               "[links]\npush = src.out -> out.in\n";
    char set[400];
    const char *sets[1] = { set };
    flow_diag_t diag;
    flow_graph_t *g;

    (void)state;
    memset(set, 'k', 300);
    memcpy(set + 300, "=1", 3);
    g = flow_graph_load_string(text, strlen(text), "long.ini", reg, sets, 1,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EUSAGE);
    tu_assert_contains(diag.msg, "a name of 300 bytes, longer than any a "
                                 "graph has (255 at most)");
    flow_registry_destroy(&reg);
}

static void
test_graph_minimal_loads(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = load(reg, "good_minimal.ini", NULL, 0, &diag);

    (void)state;
    assert_non_null(g);
    assert_string_equal(flow_graph_name(g), "minimal");
    assert_int_equal(flow_graph_process_count(g), 2);
    assert_int_equal(g->nnodes, 2);
    assert_int_equal(g->nlinks, 1);
    assert_int_equal(g->links[0].kind, FLOW_LINK_PUSH);
    assert_int_equal(g->links[0].line, 13);
    /* Defaults of the link and of the parameters not given. */
    assert_int_equal(g->links[0].batch, 1024);
    /* A words link: 64 (the size of its messages is not known). */
    assert_int_equal(g->links[0].hwm, 64);
    assert_false(g->links[0].hwm_set);
    assert_int_equal(state_i64(g, "gen", "count"), 10);
    assert_int_equal(state_i64(g, "gen", "length"), 4);
    assert_string_equal(state_str(g, "out", "output"), "-");
    flow_graph_destroy(&g);
    assert_null(g);
    flow_graph_destroy(&g); /* NULL is fine */
    flow_registry_destroy(&reg);
}

/* Graph parameters, ${name} alone and inside longer values, inline
 * comments, link options. */
static void
test_graph_params_and_references(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = load(reg, "good_params.ini", NULL, 0, &diag);

    (void)state;
    assert_non_null(g);
    assert_string_equal(flow_graph_name(g), "params");
    /* Inline comments (" ; ...") are not part of the value. */
    assert_string_equal(g->description, "graph parameters and references");
    assert_string_equal(kv_value(g, "gen", "count"), "1000");
    assert_int_equal(state_i64(g, "gen", "count"), 1000);
    assert_int_equal(state_i64(g, "gen", "length"), 5);
    /* References inside longer values. */
    assert_string_equal(kv_value(g, "gen", "seed"), "452");
    assert_int_equal(state_i64(g, "gen", "seed"), 452);
    assert_string_equal(state_str(g, "out", "output"), "/tmp/flow-test-5.txt");
    assert_int_equal(node(g, "find")->instances, 2);
    assert_int_equal(flow_graph_process_count(g), 4);
    assert_int_equal(g->links[0].batch, 64);
    assert_int_equal(g->links[0].hwm, 8);
    assert_string_equal(g->links[0].text, "gen.out -> find.in");
    assert_int_equal(g->links[1].batch, 1024);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* "$${" is a literal "${", in node values, links, graph parameters and
 * --set values; the name after it is not looked up. */
static void
test_graph_literal_dollar_brace(void **state)
{
    static const char text[] = "[graph]\n"
                               "n = 5\n"
                               "dir = /tmp/$${HOME}\n"
                               "unused = $${n}\n"
                               "[gen]\n"
                               "type = words\n"
                               "count = ${n}\n"
                               "[out]\n"
                               "type = collect\n"
                               "output = ${dir}/a$${nosuch}b$$c${n}$$${n}\n"
                               "[links]\n"
                               "push = gen.out -> out.in batch=${n}\n";
    const char *set[] = { "gen.seed=1$${n}" };
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g;

    (void)state;
    g = flow_graph_load_string(text, strlen(text), "dollar.ini", reg, NULL, 0,
                               &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_string_equal(kv_value(g, "out", "output"),
                        "/tmp/${HOME}/a${nosuch}b$$c5$${n}");
    assert_int_equal(g->links[0].batch, 5);
    /* 'unused' is referred to by no value: "$${n}" names no parameter. */
    assert_int_equal(flow_graph_warning_count(g), 1);
    tu_assert_contains(flow_graph_warning(g, 0), "'unused' is not used");
    flow_graph_destroy(&g);
    /* From the command line too: a literal, then a bad number. */
    g = flow_graph_load_string(text, strlen(text), "dollar.ini", reg, set, 1,
                               &diag);
    assert_null(g);
    tu_assert_contains(diag.msg, "'1${n}'");
    /* A reference in a graph parameter is still refused, and says how to
     * write the literal. */
    {
        const char *ref[] = { "dir=$${a}${n}" };
        g = flow_graph_load_string(text, strlen(text), "dollar.ini", reg, ref,
                                   1, &diag);
        assert_null(g);
        tu_assert_contains(diag.msg, "cannot refer to another (a literal "
                                     "'${' is written '$${')");
    }
    /* A value replaced by --set referred to the parameters after its
     * escapes, not to the names escaped: 'k' was, 'n' was not. */
    {
        static const char over[] = "[graph]\n"
                                   "n = 5\n"
                                   "k = 6\n"
                                   "[gen]\n"
                                   "type = words\n"
                                   "[out]\n"
                                   "type = collect\n"
                                   "output = /tmp/$${n}$${x}${k}\n"
                                   "[links]\n"
                                   "push = gen.out -> out.in\n";
        const char *out[] = { "out.output=/tmp/flow-dollar.txt" };
        g = flow_graph_load_string(over, strlen(over), "dollar.ini", reg, out,
                                   1, &diag);
        if (!g)
            fail_msg("%s", diag.msg);
        assert_int_equal(flow_graph_warning_count(g), 2);
        for (size_t i = 0; i < 2; i++) {
            const char *w = flow_graph_warning(g, i);
            if (strstr(w, "'n'"))
                tu_assert_contains(w, "no node value or link refers to it");
            else
                tu_assert_contains(w, "refers to it as ${k}, out.output, is "
                                      "set on the command line");
        }
        flow_graph_destroy(&g);
    }
    flow_registry_destroy(&reg);
}

/* A reference to a graph parameter with a long name (150 bytes). */
static void
test_graph_long_reference(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = load(reg, "good_long_ref.ini", NULL, 0, &diag);

    (void)state;
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(state_i64(g, "gen", "count"), 77);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

static void
test_graph_set_overrides(void **state)
{
    flow_registry_t *reg = registry();
    const char *sets[] = { "words=50", "length=7", "gen.seed=-3",
                           "out.mode=count", "workers=3" };
    flow_diag_t diag;
    flow_graph_t *g = load(reg, "good_params.ini", sets, 5, &diag);

    (void)state;
    if (!g)
        fail_msg("%s", diag.msg);
    /* A graph parameter reaches every reference, alone or inside text. */
    assert_int_equal(state_i64(g, "gen", "count"), 50);
    assert_int_equal(state_i64(g, "gen", "length"), 7);
    assert_string_equal(state_str(g, "out", "output"), "/tmp/flow-test-7.txt");
    /* node.key replaces the value written in the file... */
    assert_int_equal(state_i64(g, "gen", "seed"), -3);
    /* ...or adds a key the file does not have. */
    assert_int_equal(state_choice(g, "out", "mode"), 1);
    assert_int_equal(node(g, "find")->instances, 3);
    assert_int_equal(flow_graph_process_count(g), 5);
    flow_graph_destroy(&g);

    /* Spaces and tabs around the name and the value go, as in the file
     * (--set 'words = 3'); those inside a value stay. They were kept:
     * "bad value ' 50'", "the graph has no parameter 'words '". */
    {
        const char *spaced[] = { " words = 50 ", "gen.seed =\t-3",
                                 "\tout.output= /tmp/a b \t" };
        g = load(reg, "good_params.ini", spaced, 3, &diag);
        if (!g)
            fail_msg("%s", diag.msg);
        assert_int_equal(state_i64(g, "gen", "count"), 50);
        assert_int_equal(state_i64(g, "gen", "seed"), -3);
        assert_string_equal(state_str(g, "out", "output"), "/tmp/a b");
        flow_graph_destroy(&g);
    }

    /* The last of two overrides wins. */
    {
        const char *twice[] = { "gen.count=5", "gen.count=6" };
        g = load(reg, "good_params.ini", twice, 2, &diag);
        assert_non_null(g);
        assert_int_equal(state_i64(g, "gen", "count"), 6);
        flow_graph_destroy(&g);
    }
    flow_registry_destroy(&reg);
}

typedef struct set_case {
    const char *set;
    int code;
    int line;
    const char *subs[4];
} set_case_t;

static void
test_graph_set_errors(void **state)
{
    static const set_case_t cases[] = {
        /* An unknown parameter given only on the command line: reported at
         * the node's section, marked as coming from the command line. */
        { "gen.colour=red",
          FLOW_EPARAM,
          11,
          { "'colour'", "'gen'", "(set on the command line)" } },
        { "nosuch.count=1", FLOW_EPARAM, 0, { "'nosuch'" } },
        { "nosuch=1", FLOW_EPARAM, 0, { "'nosuch'" } },
        /* Typos of a graph parameter or a node: the name meant. */
        { "wrds=10", FLOW_EPARAM, 0, { "'wrds'", "; did you mean 'words'?" } },
        { "gne.count=1", FLOW_EPARAM, 0, { "'gne'", "; did you mean 'gen'?" } },
        /* An unknown key whose value refers to a graph parameter: the
         * note is where the key came from, not the value's parameter. */
        { "gen.colour=${words}",
          FLOW_EPARAM,
          11,
          { "unknown parameter 'colour' for node 'gen' of type 'words' (set "
            "on the command line)" } },
        { "gen.type=range", FLOW_EPARAM, 0, { "type" } },
        { "noequals", FLOW_EUSAGE, 0, { "'noequals'" } },
        { "=5", FLOW_EUSAGE, 0, { "'=5'" } },
        { "  =5", FLOW_EUSAGE, 0, { "'  =5'" } },
        /* A bad value for a key of the file, set on the command line. */
        { "gen.length=0",
          FLOW_EPARAM,
          14,
          { "'0'", "'length'", "(set on the command line)" } },
        /* A bad graph parameter reaches a node value through ${words}: the
         * line is the reference's, and the note says where it came from. */
        { "words=lots",
          FLOW_EPARAM,
          13,
          { "'lots'", "'count'", "'gen'",
            "(from graph parameter 'words', set on the command line)" } },
        { "workers=0",
          FLOW_EPARAM,
          19,
          { "'instances'", "'find'", "graph parameter 'workers'" } },
        /* A graph parameter's value is taken as written: no references. */
        { "words=${workers}",
          FLOW_EPARAM,
          6,
          { "'${workers}'", "graph parameter 'words'",
            "(set on the command line)", "cannot refer to another" } },
        /* A node's timeout: seconds, > 0 and at most 1e7 (both said). */
        { "gen.timeout=1e8",
          FLOW_EPARAM,
          11,
          { "'1e8'", "'timeout'", "'gen'", "> 0 and at most 1e7" } },
        { "gen.timeout=0", FLOW_EPARAM, 11, { "'0'", "'timeout'" } },
        /* decimal only, as a double parameter (strtod took these) */
        { "gen.timeout=0x10", FLOW_EPARAM, 11, { "'0x10'", "'timeout'" } },
        { "gen.timeout=1e-3s", FLOW_EPARAM, 11, { "'1e-3s'", "'timeout'" } },
    };
    flow_registry_t *reg = registry();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const set_case_t *c = &cases[i];
        flow_diag_t diag;
        flow_graph_t *g = load(reg, "good_params.ini", &c->set, 1, &diag);

        if (g) {
            flow_graph_destroy(&g);
            fail_msg("--set %s: loaded", c->set);
        }
        if (diag.code != c->code || diag.line != c->line)
            fail_msg("--set %s: got %s at line %d (%s), expected %s at %d",
                     c->set, flow_err_name(diag.code), diag.line, diag.msg,
                     flow_err_name(c->code), c->line);
        for (size_t k = 0; k < 4 && c->subs[k]; k++)
            if (!strstr(diag.msg, c->subs[k]))
                fail_msg("--set %s: '%s' does not contain '%s'", c->set,
                         diag.msg, c->subs[k]);
    }

    /* An unknown key of the file whose value refers to a graph parameter
     * (set on the command line or not): nothing about the value's origin,
     * which was a red herring ("(from graph parameter 'words')"). */
    static const char text[] = "[graph]\nwords = 10\n"
                               "[gen]\ntype = words\ncuont = ${words}\n"
                               "[out]\ntype = collect\n"
                               "[links]\npush = gen.out -> out.in\n";
    for (size_t n = 0; n < 2; n++) {
        const char *set[] = { "words=20" };
        flow_diag_t diag;
        flow_graph_t *g = flow_graph_load_string(text, strlen(text), "t.ini",
                                                 reg, set, n, &diag);
        assert_null(g);
        assert_int_equal(diag.line, 5);
        assert_string_equal(diag.msg,
                            "unknown parameter 'cuont' for node 'gen' of type "
                            "'words'; did you mean 'count'?");
    }

    /* A bad link option's value names the graph parameter its word of the
     * link refers to, not another one of the link; a parameter that adds
     * words to the link is not attributed. */
    static const char link[] = "[graph]\nbal = rr\nn = 2\n"
                               "[src]\ntype = range\n"
                               "[out]\ntype = collect\n"
                               "[links]\npush = src.out -> out.in "
                               "balance=${bal} hwm=${n}0000000\n";
    static const struct {
        const char *set, *want;
    } links[] = {
        { "bal=fair",
          "bad value 'fair' for link option 'balance' (from graph parameter "
          "'bal', set on the command line): rr (round robin, the default) or "
          "demand" },
        { "bal=demand",
          "bad value '20000000' for link option 'hwm' (from graph parameter "
          "'n'): an integer from 1 to 1000000" },
        { "bal=rr batch=0",
          "bad value '0' for link option 'batch': an integer from 1 to "
          "16777216" },
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        flow_diag_t diag;
        flow_graph_t *g = flow_graph_load_string(link, strlen(link), "l.ini",
                                                 reg, &links[i].set, 1, &diag);
        assert_null(g);
        assert_int_equal(diag.line, 9);
        assert_string_equal(diag.msg, links[i].want);
    }
    flow_registry_destroy(&reg);
}

static void
test_graph_instances_auto(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = load(reg, "good_auto.ini", NULL, 0, &diag);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    (void)state;
    assert_non_null(g);
    assert_true(cpus > 0);
    assert_int_equal(node(g, "find")->instances, (unsigned)cpus);
    assert_int_equal(node(g, "gen")->instances, 1);
    assert_int_equal(flow_graph_process_count(g), (unsigned)cpus + 2);
    /* Without [graph] name, the file stem names the graph. */
    assert_string_equal(flow_graph_name(g), "good_auto");
    flow_graph_destroy(&g);

    /* FLOW_AUTO_INSTANCES stands for auto: 1 to 4096, else an error at
     * the instances line naming it. */
    setenv("FLOW_AUTO_INSTANCES", "7", 1);
    g = load(reg, "good_auto.ini", NULL, 0, &diag);
    assert_non_null(g);
    assert_int_equal(node(g, "find")->instances, 7);
    assert_int_equal(node(g, "gen")->instances, 1);
    flow_graph_destroy(&g);
    static const char *const bad[] = { "0", "4097", "x", "-1", "2.5" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[64];
        setenv("FLOW_AUTO_INSTANCES", bad[i], 1);
        g = load(reg, "good_auto.ini", NULL, 0, &diag);
        assert_null(g);
        assert_int_equal(diag.code, FLOW_EPARAM);
        assert_true(diag.line > 0);
        snprintf(want, sizeof(want), "bad FLOW_AUTO_INSTANCES '%s'", bad[i]);
        tu_assert_contains(diag.msg, want);
        tu_assert_contains(diag.msg, "expected 1 to 4096");
    }
    /* Empty: as unset. */
    setenv("FLOW_AUTO_INSTANCES", "", 1);
    g = load(reg, "good_auto.ini", NULL, 0, &diag);
    assert_non_null(g);
    assert_int_equal(node(g, "find")->instances, (unsigned)cpus);
    flow_graph_destroy(&g);
    unsetenv("FLOW_AUTO_INSTANCES");
    flow_registry_destroy(&reg);
}

/* Indented keys are keys of their own, not inih continuation lines. */
static void
test_graph_indented_keys(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = load(reg, "good_indented.ini", NULL, 0, &diag);

    (void)state;
    if (!g)
        fail_msg("line %d: %s", diag.line, diag.msg);
    assert_string_equal(kv_value(g, "gen", "count"), "7");
    assert_string_equal(kv_value(g, "gen", "length"), "3");
    assert_int_equal(state_i64(g, "gen", "count"), 7);
    assert_int_equal(state_i64(g, "gen", "length"), 3);
    assert_int_equal(state_choice(g, "out", "mode"), 1);
    assert_int_equal(node(g, "out")->line, 7);
    assert_int_equal(g->nlinks, 1);
    assert_int_equal(g->links[0].line, 12);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

static void
test_graph_pair_one_to_many(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g = load(reg, "good_pair.ini", NULL, 0, &diag);

    (void)state;
    assert_non_null(g);
    assert_int_equal(g->links[0].kind, FLOW_LINK_PAIR);
    assert_int_equal(flow_graph_process_count(g), 4);
    assert_int_equal(flow__pair_channels(1, 3, 0), 3);
    assert_int_equal(flow__pair_channels(1, 3, 1), 1);
    assert_int_equal(flow__pair_peer(1, 3, 0, 0, 2), 2);
    assert_int_equal(flow__pair_peer(1, 3, 1, 2, 0), 0);
    assert_int_equal(flow__pair_channels(2, 2, 0), 1);
    assert_int_equal(flow__pair_peer(2, 2, 1, 1, 0), 1);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/*
 * A pair link joins equal counts, or one instance with any count, on
 * either side: 3 <-> 1 as well as 1 <-> 3, and 2 <-> 2. 2 <-> 3 is refused
 * at the link's line.
 */
static void
test_graph_pair_counts(void **state)
{
    static const struct {
        unsigned a, b;
        bool ok;
    } cases[] = { { 1, 1, true }, { 1, 3, true }, { 3, 1, true },
                  { 2, 2, true }, { 4, 4, true }, { 2, 3, false },
                  { 3, 2, false } };
    flow_registry_t *reg = registry();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256], want[64];
        flow_diag_t diag;
        flow_graph_t *g;

        snprintf(text, sizeof(text),
                 "[a]\ntype = sieve\ninstances = %u\n[b]\ntype = sieve\n"
                 "instances = %u\n[links]\npair = a.coord <-> b.coord\n",
                 cases[i].a, cases[i].b);
        g = load_text(reg, text, &diag);
        if (cases[i].ok) {
            if (!g)
                fail_msg("%u <-> %u: %s", cases[i].a, cases[i].b, diag.msg);
            assert_int_equal(flow_graph_process_count(g),
                             cases[i].a + cases[i].b);
            flow_graph_destroy(&g);
            continue;
        }
        if (g)
            fail_msg("%u <-> %u: loaded", cases[i].a, cases[i].b);
        assert_int_equal(diag.code, FLOW_ELINK);
        assert_int_equal(diag.line, 8);
        snprintf(want, sizeof(want), "joins %u and %u instances", cases[i].a,
                 cases[i].b);
        tu_assert_contains(diag.msg, want);
    }
    flow_registry_destroy(&reg);
}

/*
 * Of two push cycles, the one met first in the order of the file is
 * reported: t.a is linked before t.b, so x's cycle (closed by x.a -> jx.b,
 * line 22) is found before y's (closed by y.a -> jy.b, line 25), whose
 * links all come later.
 */
static void
test_graph_cycle_first_in_file(void **state)
{
    static const char text[] = "[src]\ntype = range\n[t]\ntype = tee2\n"
                               "[jx]\ntype = join2\n[x]\ntype = tee2\n"
                               "[jy]\ntype = join2\n[y]\ntype = tee2\n"
                               "[ox]\ntype = collect\n[oy]\ntype = collect\n"
                               "[links]\n"
                               "push = src.out -> t.in\n"
                               "push = t.a -> jx.a\n"
                               "push = t.b -> jy.a\n"
                               "push = jx.out -> x.in\n"
                               "push = x.a -> jx.b\n"
                               "push = x.b -> ox.in\n"
                               "push = jy.out -> y.in\n"
                               "push = y.a -> jy.b\n"
                               "push = y.b -> oy.in\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;

    (void)state;
    assert_null(load_text(reg, text, &diag));
    assert_int_equal(diag.code, FLOW_ECYCLE);
    assert_int_equal(diag.line, 22);
    tu_assert_contains(diag.msg, "'x.a -> jx.b'");
    flow_registry_destroy(&reg);
}

/* What probe's check saw, by the node's instance count (1 to 3). */
struct probe_seen {
    unsigned in, peer, nope;
    flow_type_t in_type, peer_type;
};
static struct probe_seen probe_seen[4];

static int
probe_check(const flow_check_t *c, const void *state, char *why, size_t whylen)
{
    unsigned k = flow_check_instances(c);

    (void)state;
    (void)why;
    (void)whylen;
    if (k < 4) {
        probe_seen[k].in = flow_check_channels(c, "in");
        probe_seen[k].peer = flow_check_channels(c, "peer");
        probe_seen[k].nope = flow_check_channels(c, "nope");
        probe_seen[k].in_type = flow_check_type(c, "in");
        probe_seen[k].peer_type = flow_check_type(c, "peer");
    }
    return 0;
}

static const flow_port_t probe_ports[] = {
    FLOW_PORT_IN("in", FLOW_ANY, "anything"),
    FLOW_PORT_PAIR("peer", FLOW_INT64, "its peer"), FLOW_PORT_END
};

static const flow_node_desc_t probe_desc = {
    FLOW_NODE_V1,
    .name = "probe",
    .summary = "A test node whose check asks about its links",
    .ports = probe_ports,
    .run = pair_run,
    .check = probe_check,
};

/* A check that refuses without saying why. */
static int
refuse_check(const flow_check_t *c, const void *state, char *why, size_t whylen)
{
    (void)c;
    (void)state;
    (void)why;
    (void)whylen;
    return 1;
}

static const flow_node_desc_t refuser_desc = {
    FLOW_NODE_V1,
    .name = "refuser",
    .summary = "A test node whose check refuses, saying nothing",
    .ports = i64sink_ports,
    .process = needy_process,
    .check = refuse_check,
};

/*
 * What a node's check learns of its links in a graph: an input has as many
 * channels as its upstream node has instances (2 here, while the node has
 * 3); over a pair link of 3 instances and 1, each of the 3 has one channel
 * and the one has 3; an unknown port none. The type of an input of any
 * type is what its link brings (int64 from range). A check that refuses
 * with no reason is reported as refused, at the node's line.
 */
static void
test_graph_check_sees_links(void **state)
{
    static const char text[] =
        "[src]\ntype = range\ninstances = 2\n"
        "[p]\ntype = probe\ninstances = 3\n"
        "[src2]\ntype = words\n[q]\ntype = probe\n"
        "[links]\npush = src.out -> p.in\npush = src2.out -> q.in\n"
        "pair = p.peer <-> q.peer\n";
    static const char refused[] = "[src]\ntype = range\n"
                                  "[r]\ntype = refuser\n"
                                  "[links]\npush = src.out -> r.in\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g;

    (void)state;
    assert_int_equal(flow_registry_add(reg, &probe_desc, "test_graph.c", &diag),
                     0);
    assert_int_equal(
        flow_registry_add(reg, &refuser_desc, "test_graph.c", &diag), 0);
    memset(probe_seen, 0xff, sizeof(probe_seen));
    g = load_text(reg, text, &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    /* p: 3 instances, fed by src's 2, paired with q's 1. */
    assert_int_equal(probe_seen[3].in, 2);
    assert_int_equal(probe_seen[3].peer, 1);
    assert_int_equal(probe_seen[3].nope, 0);
    assert_int_equal(probe_seen[3].in_type, FLOW_INT64);
    assert_int_equal(probe_seen[3].peer_type, FLOW_INT64);
    /* q: 1 instance, fed by words' 1, paired with p's 3. */
    assert_int_equal(probe_seen[1].in, 1);
    assert_int_equal(probe_seen[1].peer, 3);
    assert_int_equal(probe_seen[1].nope, 0);
    assert_int_equal(probe_seen[1].in_type, FLOW_WORDS);
    assert_int_equal(probe_seen[1].peer_type, FLOW_INT64);
    flow_graph_destroy(&g);

    assert_null(load_text(reg, refused, &diag));
    assert_int_equal(diag.code, FLOW_EPARAM);
    assert_int_equal(diag.line, 3);
    assert_string_equal(diag.msg,
                        "node 'r' of type 'refuser': refused by its check");
    flow_registry_destroy(&reg);
}

static const char good_text[] = "[gen]\n"
                                "type = words\n"
                                "count = 12\n"
                                "\n"
                                "[out]\n"
                                "type = collect\n"
                                "\n"
                                "[links]\n"
                                "push = gen.out -> out.in\n";

static void
test_graph_load_string(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g;
    char bad[256];

    (void)state;
    g = flow_graph_load_string(good_text, strlen(good_text), "mem.ini", reg,
                               NULL, 0, &diag);
    assert_non_null(g);
    assert_string_equal(flow_graph_name(g), "mem");
    assert_int_equal(state_i64(g, "gen", "count"), 12);
    flow_graph_destroy(&g);

    /* The default name is the file name up to its first '.' past the
     * leading ones: a hidden file's is not empty. */
    static const char *const names[][2] = { { "dir/mem.v2.ini", "mem" },
                                            { ".g.ini", ".g" },
                                            { "d/..g", "..g" },
                                            { "noext", "noext" } };
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        g = flow_graph_load_string(good_text, strlen(good_text), names[i][0],
                                   reg, NULL, 0, &diag);
        assert_non_null(g);
        assert_string_equal(flow_graph_name(g), names[i][1]);
        flow_graph_destroy(&g);
    }

    /* Only `len` bytes are read: the text need not be NUL-terminated. */
    memcpy(bad, good_text, sizeof(good_text));
    memcpy(bad + strlen(good_text), "[zzz]\ntype = nope\n", 18);
    g = flow_graph_load_string(bad, strlen(good_text), "mem.ini", reg, NULL, 0,
                               &diag);
    assert_non_null(g);
    flow_graph_destroy(&g);

    /* The name stands for the file in diagnostics. */
    snprintf(bad, sizeof(bad), "%.*s", (int)strlen(good_text), good_text);
    bad[strlen("[gen]\ntype = words\ncount = ")] = 'x';
    memset(&diag, 0, sizeof(diag));
    g = flow_graph_load_string(bad, strlen(bad), "virtual.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EPARAM);
    assert_int_equal(diag.line, 3);
    assert_string_equal(diag.file, "virtual.ini");
    tu_assert_contains(diag.msg, "'count'");

    /* A NUL byte inside the text is an error at its line. */
    memcpy(bad, good_text, sizeof(good_text));
    bad[strlen("[gen]\ntype = words\n") + 2] = '\0';
    g = flow_graph_load_string(bad, strlen(good_text), "nul.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EPARSE);
    assert_int_equal(diag.line, 3);
    tu_assert_contains(diag.msg, "line holds a NUL byte");
    /* After a value: not read as "count = 1" (inih stops at the NUL). */
    memcpy(bad, good_text, sizeof(good_text));
    bad[strlen("[gen]\ntype = words\ncount = 1")] = '\0';
    g = flow_graph_load_string(bad, strlen(good_text), "nul.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.line, 3);
    tu_assert_contains(diag.msg, "line holds a NUL byte");

    /* No nodes at all. */
    g = flow_graph_load_string("", 0, "empty.ini", reg, NULL, 0, &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EPARSE);

    /* A UTF-8 byte order mark before the first section is skipped; twice
     * [graph] is still seen as a duplicate after it. */
    snprintf(bad, sizeof(bad), "\xEF\xBB\xBF%s", good_text);
    g = flow_graph_load_string(bad, strlen(bad), "bom.ini", reg, NULL, 0,
                               &diag);
    assert_non_null(g);
    assert_int_equal(state_i64(g, "gen", "count"), 12);
    flow_graph_destroy(&g);
    snprintf(bad, sizeof(bad), "\xEF\xBB\xBF[graph]\n[graph]\n%s", good_text);
    g = flow_graph_load_string(bad, strlen(bad), "bom.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.line, 2);
    tu_assert_contains(diag.msg, "duplicate section '[graph]'");
    /* A node's section twice, and [links] twice: each named with the line
     * of the first (good_text has [gen] on line 1, [links] on line 8). */
    snprintf(bad, sizeof(bad), "%s[gen]\n", good_text);
    g = flow_graph_load_string(bad, strlen(bad), "dup.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EDUP);
    assert_int_equal(diag.line, 10);
    tu_assert_contains(diag.msg, "duplicate section '[gen]' (first at line 1)");
    snprintf(bad, sizeof(bad), "%s[links]\n", good_text);
    g = flow_graph_load_string(bad, strlen(bad), "dup.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.line, 10);
    tu_assert_contains(diag.msg,
                       "duplicate section '[links]' (first at line 8)");
    /* Two: said so, not "key 'type' in unknown section 'gen'" (inih
     * skips the second, this reader did not see line 1 as a section). */
    snprintf(bad, sizeof(bad), "\xEF\xBB\xBF\xEF\xBB\xBF%s", good_text);
    g = flow_graph_load_string(bad, strlen(bad), "bom.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.line, 1);
    tu_assert_contains(diag.msg, "a second byte order mark");

    /* After a section header only a comment may follow; a name longer than
     * inih keeps (49 bytes) is refused, not cut. */
    static const struct {
        const char *text, *msg;
    } header[] = {
        { "[gen] junk\ntype = words\n", "text after the section header" },
        { "[gen]]\ntype = words\n", "text after the section header" },
        { "[gen\ntype = words\n", "expected '[section]' or 'key = value'" },
        { "[nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn]\n",
          "section name is longer than 49 characters" },
    };
    for (size_t i = 0; i < sizeof(header) / sizeof(*header); i++) {
        snprintf(bad, sizeof(bad), "[graph]\n%s", header[i].text);
        g = flow_graph_load_string(bad, strlen(bad), "h.ini", reg, NULL, 0,
                                   &diag);
        assert_null(g);
        assert_int_equal(diag.code, FLOW_EPARSE);
        assert_int_equal(diag.line, 2);
        tu_assert_contains(diag.msg, header[i].msg);
    }
    snprintf(bad, sizeof(bad),
             "[gen] ; a comment\ntype = words\n[out]\t# another\n"
             "type = collect\n[links]\npush = gen.out -> out.in\n");
    g = flow_graph_load_string(bad, strlen(bad), "c.ini", reg, NULL, 0, &diag);
    assert_non_null(g);
    flow_graph_destroy(&g);

    /* A node type's own check (collect: an output path is not empty)
     * refuses the graph, at the node's line. */
    snprintf(bad, sizeof(bad),
             "[gen]\ntype = words\n[out]\ntype = collect\noutput =\n"
             "[links]\npush = gen.out -> out.in\n");
    g = flow_graph_load_string(bad, strlen(bad), "o.ini", reg, NULL, 0, &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EPARAM);
    assert_int_equal(diag.line, 3);
    tu_assert_contains(diag.msg, "node 'out' of type 'collect': empty path "
                                 "in 'output'");

    /* A link option given twice: which one would count? */
    for (int i = 0; i < 2; i++) {
        snprintf(bad, sizeof(bad),
                 "[gen]\ntype = words\n[out]\ntype = collect\n[links]\n"
                 "push = gen.out -> out.in %s\n",
                 i ? "hwm=4 batch=2 hwm=8" : "batch=10 batch=20");
        g = flow_graph_load_string(bad, strlen(bad), "o.ini", reg, NULL, 0,
                                   &diag);
        assert_null(g);
        assert_int_equal(diag.line, 6);
        tu_assert_contains(diag.msg, i ? "link option 'hwm' given twice"
                                       : "link option 'batch' given twice");
    }
    flow_registry_destroy(&reg);
}

/* A UTF-8 byte order mark is skipped at the start of the file only. One
 * anywhere else at the start of a line is an error at that line, as
 * docs/graph-format.md says: inih skipped one after the indentation of
 * line 1 ("key 'type' in unknown section 'gen'", at line 2), and read one
 * on another line as part of a key ("node 'gen' has no 'type'", at line
 * 1) or as a stray line. */
static void
test_graph_byte_order_marks(void **state)
{
    static const char tail[] = "[out]\ntype = collect\n"
                               "[links]\npush = gen.out -> out.in\n";
    static const struct {
        const char *head;
        int line; /* 0: loads */
    } cases[] = {
        { "\xEF\xBB\xBF[gen]\ntype = range\n", 0 },
        { "\xEF\xBB\xBF\n[gen]\ntype = range\n", 0 },
        { "\xEF\xBB\xBF; a comment\n[gen]\ntype = range\n", 0 },
        { "\xEF\xBB\xBF  [gen]\ntype = range\n", 0 },
        { "  \xEF\xBB\xBF[gen]\ntype = range\n", 1 },
        { "\t\xEF\xBB\xBF[gen]\ntype = range\n", 1 },
        { "\xEF\xBB\xBF  \xEF\xBB\xBF[gen]\ntype = range\n", 1 },
        { "[gen]\n\xEF\xBB\xBFtype = range\n", 2 },
        { "[gen]\n  \xEF\xBB\xBFtype = range\n", 2 },
        { "[gen]\ntype = range\n\xEF\xBB\xBF\n", 3 },
        { "[gen]\ntype = range\n\xEF\xBB\xBF[x]\ntype = range\n", 3 },
        { "\n\xEF\xBB\xBF[gen]\ntype = range\n", 2 },
    };
    flow_registry_t *reg = registry();
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        flow_diag_t diag;
        flow_graph_t *g;
        int n = snprintf(text, sizeof(text), "%s%s", cases[i].head, tail);

        memset(&diag, 0, sizeof(diag));
        g = flow_graph_load_string(text, (size_t)n, "bom.ini", reg, NULL, 0,
                                   &diag);
        if (!cases[i].line) {
            if (!g)
                fail_msg("case %zu: %s", i, diag.msg);
            assert_int_equal(g->nnodes, 2);
            assert_string_equal(g->nodes[0].name, "gen");
            assert_string_equal(g->nodes[0].type, "range");
            flow_graph_destroy(&g);
            continue;
        }
        if (g)
            fail_msg("case %zu loaded", i);
        if (diag.line != cases[i].line || diag.code != FLOW_EPARSE ||
            !strstr(diag.msg, "byte order mark"))
            fail_msg("case %zu: line %d: %s", i, diag.line, diag.msg);
    }
    flow_registry_destroy(&reg);
}

/* Write `len` bytes of `data` to a new temporary file; returns its path. */
static char *
temp_bytes(const char *data, size_t len)
{
    char *path = strdup("/tmp/flow-graph-XXXXXX.ini");
    int fd;

    assert_non_null(path);
    fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    assert_int_equal(close(fd), 0);
    return path;
}

/* A graph file of 16 MiB (docs/graph-format.md), a graph and comment
 * lines, loads; one byte more is refused, not cut to 16 MiB. */
static void
test_graph_file_size_limit(void **state)
{
    static const char graph[] = "[gen]\ntype = range\n[out]\ntype = collect\n"
                                "[links]\npush = gen.out -> out.in\n";
    const size_t max = 16 * 1024 * 1024;
    flow_registry_t *reg = registry();
    char *text = malloc(max + 2);
    size_t len = strlen(graph);

    (void)state;
    assert_non_null(text);
    memcpy(text, graph, len);
    while (len < max) { /* comment lines of 100 bytes, the last shorter */
        size_t n = max - len < 100 ? max - len : 100;
        memset(text + len, 'x', n);
        text[len] = ';';
        text[len + n - 1] = '\n';
        len += n;
    }
    for (size_t extra = 0; extra < 2; extra++) {
        flow_diag_t diag;
        flow_graph_t *g;
        char *path;

        text[max] = '\n';
        path = temp_bytes(text, max + extra);
        memset(&diag, 0, sizeof(diag));
        g = flow_graph_load(path, reg, NULL, 0, &diag);
        if (!extra) {
            if (!g)
                fail_msg("16 MiB: %s", diag.msg);
            assert_int_equal(g->nnodes, 2);
            flow_graph_destroy(&g);
        } else {
            assert_null(g);
            assert_int_equal(diag.code, FLOW_EPARSE);
            tu_assert_contains(diag.msg, "larger than 16 MiB");
        }
        unlink(path);
        free(path);
    }
    free(text);
    flow_registry_destroy(&reg);
}

static void
test_graph_missing_file(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g;

    (void)state;
    memset(&diag, 0, sizeof(diag));
    g = flow_graph_load("/nonexistent/flow/graph.ini", reg, NULL, 0, &diag);
    assert_null(g);
    assert_int_equal(diag.code, -ENOENT);
    assert_string_equal(diag.file, "/nonexistent/flow/graph.ini");
    assert_int_equal(diag.line, 0);
    g = load(reg, "no_such_fixture.ini", NULL, 0, &diag);
    assert_null(g);
    assert_int_equal(diag.code, -ENOENT);
    /* Not a graph at all: read no further than 16 MiB. */
    if (access("/dev/zero", R_OK) == 0) {
        g = flow_graph_load("/dev/zero", reg, NULL, 0, &diag);
        assert_null(g);
        assert_int_equal(diag.code, FLOW_EPARSE);
        tu_assert_contains(diag.msg, "larger than 16 MiB");
    }
    flow_registry_destroy(&reg);
}

/* What nullcheck's check saw: channels and type of the port NULL. */
static unsigned nullcheck_channels = 99;
static flow_type_t nullcheck_type = FLOW_BYTES;

static int
nullcheck_check(const flow_check_t *c, const void *state, char *why,
                size_t whylen)
{
    (void)state;
    (void)why;
    (void)whylen;
    nullcheck_channels = flow_check_channels(c, NULL);
    nullcheck_type = flow_check_type(c, NULL);
    return 0;
}

static const flow_node_desc_t nullcheck_desc = {
    FLOW_NODE_V1,
    .name = "nullcheck",
    .summary = "A test node whose check asks about the port NULL",
    .ports = i64sink_ports,
    .process = needy_process,
    .check = nullcheck_check,
};

/*
 * flow_check_channels and flow_check_type take NULL for an unknown port
 * (0 and FLOW_ANY, as node.h says for one), as the harness and
 * flow_node_channels do: in a graph they passed NULL to strcmp and crashed
 * flowrun --check, where the same check passed in the harness.
 */
static void
test_graph_check_null_port(void **state)
{
    static const char text[] = "[gen]\ntype = range\n[sink]\n"
                               "type = nullcheck\n[links]\n"
                               "push = gen.out -> sink.in\n";
    flow_registry_t *reg = registry();
    flow_harness_t *h;
    flow_diag_t diag;
    flow_graph_t *g;

    (void)state;
    assert_int_equal(
        flow_registry_add(reg, &nullcheck_desc, "test_graph.c", &diag), 0);
    g = flow_graph_load_string(text, sizeof(text) - 1, "null.ini", reg, NULL, 0,
                               &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(nullcheck_channels, 0);
    assert_int_equal(nullcheck_type, FLOW_ANY);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);

    /* The harness says the same. */
    nullcheck_channels = 99;
    nullcheck_type = FLOW_BYTES;
    h = flow_harness_new(&nullcheck_desc, NULL, 0, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_close_all(h), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_int_equal(nullcheck_channels, 0);
    assert_int_equal(nullcheck_type, FLOW_ANY);
    flow_harness_destroy(&h);
}

/*
 * flow_graph_claim_file: the graph file (loaded from a path, not from a
 * string that names it), a node's output and an earlier claim are each
 * refused, however spelt; a device is shared; other files are free.
 */
static void
test_graph_claim_file(void **state)
{
    static const char text[] = "[gen]\ntype = words\n"
                               "[out]\ntype = collect\n"
                               "output = /tmp/./flow-claim-out.txt\n"
                               "[links]\npush = gen.out -> out.in\n";
    flow_registry_t *reg = registry();
    char *path = tu_temp_file(text), alias[512];
    flow_diag_t diag;
    flow_graph_t *g;

    (void)state;
    memset(&diag, 0, sizeof(diag));
    g = flow_graph_load(path, reg, NULL, 0, &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(strncmp(path, "/tmp/", 5), 0);
    snprintf(alias, sizeof(alias), "/tmp/../tmp/%s", path + 5);
    assert_int_equal(flow_graph_claim_file(g, "--x", alias, &diag),
                     FLOW_EUSAGE);
    assert_int_equal(diag.line, 0);
    assert_string_equal(diag.file, "");
    tu_assert_contains(diag.msg, "--x '/tmp/../tmp/");
    tu_assert_contains(diag.msg, "' is the graph file: writing there would "
                                 "replace the graph");
    assert_int_equal(
        flow_graph_claim_file(g, "--x", "/tmp/flow-claim-out.txt", &diag),
        FLOW_EUSAGE);
    assert_string_equal(diag.msg, "--x '/tmp/flow-claim-out.txt' is also "
                                  "written by node 'out' (line 3, output "
                                  "'/tmp/./flow-claim-out.txt'): one would "
                                  "replace the other");
    assert_int_equal(
        flow_graph_claim_file(g, "--a", "/tmp/flow-claim-a", &diag), 0);
    assert_int_equal(
        flow_graph_claim_file(g, "--b", "/tmp//flow-claim-a", &diag),
        FLOW_EUSAGE);
    assert_string_equal(diag.msg, "--b '/tmp//flow-claim-a' is also written "
                                  "by --a '/tmp/flow-claim-a': one would "
                                  "replace the other");
    /* Paths not there yet, spelt two ways: relative (./), under the root
     * (/./), in a directory that does not exist (the same text). */
    assert_int_equal(flow_graph_claim_file(g, "--r", "flow-claim-rel", &diag),
                     0);
    assert_int_equal(
        flow_graph_claim_file(g, "--r2", "./flow-claim-rel", &diag),
        FLOW_EUSAGE);
    assert_int_equal(flow_graph_claim_file(g, "--s", "/flow-claim-x", &diag),
                     0);
    assert_int_equal(flow_graph_claim_file(g, "--s2", "/./flow-claim-x", &diag),
                     FLOW_EUSAGE);
    assert_int_equal(flow_graph_claim_file(g, "--n", "/nonexistent-d/x", &diag),
                     0);
    assert_int_equal(
        flow_graph_claim_file(g, "--n2", "/nonexistent-d/x", &diag),
        FLOW_EUSAGE);
    /* A symbolic link to a file not there yet is that file: a writer
     * through the link makes it. Relative and absolute targets, and a link
     * to a link. */
    {
        char tgt[64], lnk[64], lnk2[64], abs[64], lnk3[64];
        int pid = (int)getpid();

        snprintf(tgt, sizeof(tgt), "/tmp/flow-claim-tgt-%d", pid);
        snprintf(lnk, sizeof(lnk), "/tmp/flow-claim-lnk-%d", pid);
        snprintf(lnk2, sizeof(lnk2), "/tmp/flow-claim-lnk2-%d", pid);
        snprintf(abs, sizeof(abs), "/tmp/flow-claim-abs-%d", pid);
        snprintf(lnk3, sizeof(lnk3), "/tmp/flow-claim-lnk3-%d", pid);
        unlink(tgt);
        assert_int_equal(symlink(tgt + 5, lnk), 0); /* relative */
        assert_int_equal(symlink(lnk, lnk2), 0);    /* to the link */
        assert_int_equal(symlink(abs, lnk3), 0);    /* absolute */
        assert_int_equal(flow_graph_claim_file(g, "--t", tgt, &diag), 0);
        assert_int_equal(flow_graph_claim_file(g, "--l", lnk, &diag),
                         FLOW_EUSAGE);
        tu_assert_contains(diag.msg, "is also written by --t");
        assert_int_equal(flow_graph_claim_file(g, "--l2", lnk2, &diag),
                         FLOW_EUSAGE);
        assert_int_equal(flow_graph_claim_file(g, "--l3", lnk3, &diag), 0);
        assert_int_equal(flow_graph_claim_file(g, "--a2", abs, &diag),
                         FLOW_EUSAGE);
        tu_assert_contains(diag.msg, "is also written by --l3");
        unlink(lnk);
        unlink(lnk2);
        unlink(lnk3);
    }
    assert_int_equal(flow_graph_claim_file(g, "--c", "/dev/null", &diag), 0);
    assert_int_equal(flow_graph_claim_file(g, "--d", "/dev/null", &diag), 0);
    assert_int_equal(
        flow_graph_claim_file(g, "--e", "/tmp/flow-claim-e", &diag), 0);
    flow_graph_destroy(&g);

    /* From a string named like a file: no graph file to protect. */
    g = flow_graph_load_string(text, strlen(text), path, reg, NULL, 0, &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(flow_graph_claim_file(g, "--x", path, &diag), 0);
    flow_graph_destroy(&g);
    unlink(path);
    free(path);
    flow_registry_destroy(&reg);
}

/* Build a graph whose line 2 is "description = " and `n` more bytes,
 * ending with a newline or not. */
static char *
long_line_graph(size_t n, bool newline)
{
    static const char head[] = "[graph]\ndescription = ";
    static const char tail[] = "[gen]\ntype = words\n[out]\ntype = collect\n"
                               "[links]\npush = gen.out -> out.in\n";
    size_t len = strlen(head) + n + 1 + strlen(tail);
    char *s = malloc(len + 1);

    assert_non_null(s);
    if (newline) {
        snprintf(s, len + 1, "%s%*s\n%s", head, (int)n, "", tail);
        memset(s + strlen(head), 'y', n);
    } else {
        /* The long line is the last one: put the graph before it. */
        snprintf(s, len + 1, "%s[graph]\ndescription = %*s", tail, (int)n, "");
        memset(s + strlen(tail) + strlen(head), 'y', n);
    }
    return s;
}

/* inih's buffer is 200 bytes: 198 bytes and a newline fit, more must be
 * an error at that line, never a silently split line. */
static void
test_graph_line_length_limit(void **state)
{
    const size_t prefix = strlen("description = ");
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g;
    char *text;

    (void)state;
    text = long_line_graph(198 - prefix, true);
    g = flow_graph_load_string(text, strlen(text), "l.ini", reg, NULL, 0,
                               &diag);
    if (!g)
        fail_msg("198 bytes: %s", diag.msg);
    assert_int_equal(strlen(g->description), 198 - prefix);
    flow_graph_destroy(&g);
    free(text);

    text = long_line_graph(199 - prefix, true);
    g = flow_graph_load_string(text, strlen(text), "l.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EPARSE);
    assert_int_equal(diag.line, 2);
    tu_assert_contains(diag.msg, "too long");
    free(text);

    /* With CRLF line ends: the same 198 bytes, the CR not counted. */
    text = long_line_graph(198 - prefix, true);
    {
        size_t n = strlen(text), k = 0;
        char *crlf = malloc(2 * n + 1);
        for (size_t i = 0; i < n; i++) {
            if (text[i] == '\n')
                crlf[k++] = '\r';
            crlf[k++] = text[i];
        }
        g = flow_graph_load_string(crlf, k, "l.ini", reg, NULL, 0, &diag);
        if (!g)
            fail_msg("198 bytes and CRLF: %s", diag.msg);
        assert_int_equal(strlen(g->description), 198 - prefix);
        flow_graph_destroy(&g);
        free(crlf);
    }
    free(text);

    /* The same at the end of a file without a final newline. */
    text = long_line_graph(198 - prefix, false);
    g = flow_graph_load_string(text, strlen(text), "l.ini", reg, NULL, 0,
                               &diag);
    if (!g)
        fail_msg("198 bytes at EOF: %s", diag.msg);
    assert_int_equal(strlen(g->description), 198 - prefix);
    flow_graph_destroy(&g);
    free(text);

    text = long_line_graph(300, false);
    g = flow_graph_load_string(text, strlen(text), "l.ini", reg, NULL, 0,
                               &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EPARSE);
    assert_int_equal(diag.line, 8);
    free(text);

    /* A long comment line is rejected too rather than split into a
     * comment and a stray line. */
    {
        char buf[1024];
        int n = snprintf(buf, sizeof(buf), ";%0250d\n%s", 0, good_text);
        g = flow_graph_load_string(buf, (size_t)n, "c.ini", reg, NULL, 0,
                                   &diag);
        assert_null(g);
        assert_int_equal(diag.code, FLOW_EPARSE);
        assert_int_equal(diag.line, 1);
    }
    flow_registry_destroy(&reg);
}

/* A self loop on one push node is a cycle; a pair link to itself is
 * rejected too. */
static void
test_graph_self_links(void **state)
{
    static const char loop[] = "[j]\ntype = jitter\n[links]\n"
                               "push = j.out -> j.in\n";
    static const char pair[] = "[s]\ntype = sieve\n[links]\n"
                               "pair = s.coord <-> s.coord\n";
    flow_registry_t *reg = registry();
    flow_diag_t diag;

    (void)state;
    assert_null(flow_graph_load_string(loop, strlen(loop), "loop.ini", reg,
                                       NULL, 0, &diag));
    assert_int_equal(diag.code, FLOW_ECYCLE);
    assert_int_equal(diag.line, 4);
    tu_assert_contains(diag.msg, "'j.out -> j.in'");
    assert_null(flow_graph_load_string(pair, strlen(pair), "pair.ini", reg,
                                       NULL, 0, &diag));
    assert_int_equal(diag.code, FLOW_ELINK);
    assert_int_equal(diag.line, 4);
    tu_assert_contains(diag.msg, "'s'");
    flow_registry_destroy(&reg);
}

/* A long chain of push links, loaded on a thread with a small stack (as an
 * application may load a graph): the cycle check's depth is the chain's
 * length, so its stack must not be the call stack. src -> m.a, then
 * m -> j0 -> ... -> j(N-1): ending in out.in the graph loads; ending in m.b
 * (the file's last line) that link closes a cycle. */
#define DEEP_NODES 8000
#define DEEP_STACK (128 * 1024)

struct deep {
    flow_registry_t *reg;
    bool closed;
    flow_graph_t *g;
    flow_diag_t diag;
    int last_line;
};

static void *
deep_load(void *arg)
{
    struct deep *d = arg;
    size_t cap = (size_t)DEEP_NODES * 64 + 512, len = 0;
    char *text = malloc(cap);

    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len,
                            "[src]\ntype = range\n[src2]\ntype = range\n"
                            "[m]\ntype = merge\n[out]\ntype = collect\n");
    for (int i = 0; i < DEEP_NODES; i++)
        len += (size_t)snprintf(text + len, cap - len, "[j%d]\ntype = jitter\n",
                                i);
    len += (size_t)snprintf(text + len, cap - len,
                            "[links]\npush = src.out -> m.a\n"
                            "push = m.out -> j0.in\npush = src2.out -> %s\n",
                            d->closed ? "out.in" : "m.b");
    for (int i = 0; i + 1 < DEEP_NODES; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "push = j%d.out -> j%d.in\n", i, i + 1);
    d->last_line = 1;
    for (size_t i = 0; i < len; i++)
        d->last_line += text[i] == '\n';
    len += (size_t)snprintf(text + len, cap - len, "push = j%d.out -> %s\n",
                            DEEP_NODES - 1, d->closed ? "m.b" : "out.in");
    assert_true(len < cap);
    d->g = flow_graph_load_string(text, len, "deep.ini", d->reg, NULL, 0,
                                  &d->diag);
    free(text);
    return NULL;
}

static void
deep_run(struct deep *d)
{
    pthread_attr_t attr;
    pthread_t t;

    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, DEEP_STACK), 0);
    assert_int_equal(pthread_create(&t, &attr, deep_load, d), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
}

static void
test_graph_deep_chain_small_stack(void **state)
{
    struct deep d = { .reg = registry() };
    char want[64];

    (void)state;
    deep_run(&d);
    if (!d.g)
        fail_msg("%s", d.diag.msg);
    assert_int_equal(d.g->nnodes, DEEP_NODES + 4);
    flow_graph_destroy(&d.g);

    d.closed = true;
    deep_run(&d);
    assert_null(d.g);
    assert_int_equal(d.diag.code, FLOW_ECYCLE);
    assert_int_equal(d.diag.line, d.last_line);
    snprintf(want, sizeof(want), "'j%d.out -> m.b'", DEEP_NODES - 1);
    tu_assert_contains(d.diag.msg, want);
    flow_registry_destroy(&d.reg);
}

/* ---- Big graphs load in time linear in their size ----------------------- */

/* Seconds on CLOCK_MONOTONIC. */
static double
mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growing text of a test graph. */
struct gtext {
    char *s;
    size_t len, cap;
    int lines;
};

static void __attribute__((format(printf, 2, 3)))
gt_add(struct gtext *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < t->cap - t->len)
            break;
        t->cap = 2 * t->cap + (size_t)n + 1;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    for (int i = 0; i < n; i++)
        t->lines += t->s[t->len + (size_t)i] == '\n';
    t->len += (size_t)n;
}

/* Load `t` as "big.ini" with `sets`; the seconds it took in `*secs`. */
static flow_graph_t *
gt_load(struct gtext *t, flow_registry_t *reg, const char *const *sets,
        size_t nsets, flow_diag_t *diag, double *secs)
{
    double t0 = mono_s();
    flow_graph_t *g;

    memset(diag, 0, sizeof(*diag));
    g = flow_graph_load_string(t->s, t->len, "big.ini", reg, sets, nsets, diag);
    *secs = mono_s() - t0;
    return g;
}

/*
 * The limit on each load's time below is 15 to 100 times what it takes on
 * a 2-CPU VM (ASan builds the 15), and 4 to 6 times under what it took
 * there while loading was quadratic in the graph's size (21 to 33 s).
 */
#define BIG_LOAD_S 5.0

/*
 * The text of `n` collect nodes c0 .. c(n-1), each writing a file of its
 * own in `dir`, fed by a chain of tees, and a collect `last` at its end
 * with the key `last_key` (a line); the line of c`k`'s section in
 * `*k_line`, of last's in `*last_line`.
 */
static void
gt_outputs(struct gtext *t, int n, const char *dir, const char *last_key, int k,
           int *k_line, int *last_line)
{
    gt_add(t, "[src]\ntype = range\ncount = 10\n");
    for (int i = 0; i < n; i++) {
        gt_add(t, "[t%d]\ntype = tee\n", i);
        if (i == k)
            *k_line = t->lines + 1;
        gt_add(t, "[c%d]\ntype = collect\noutput = %s/c%d.txt\n", i, dir, i);
    }
    *last_line = t->lines + 1;
    gt_add(t, "[last]\ntype = collect\n%s\n[links]\npush = src.out -> t0.in\n",
           last_key);
    for (int i = 0; i < n; i++)
        gt_add(t, "push = t%d.b -> c%d.in\n", i, i);
    for (int i = 0; i + 1 < n; i++)
        gt_add(t, "push = t%d.a -> t%d.in\n", i, i + 1);
    gt_add(t, "push = t%d.a -> last.in\n", n - 1);
}

/*
 * 3000 collect nodes, each writing a file of its own (not there yet, in a
 * directory that is); then
 * with a last collect that writes the file of the 1000th again, spelt
 * another way. Each output was compared with every one before it by a
 * stat of both paths and a realpath of their directory: 1000 outputs took
 * 3 s to check, 4000 took 39 s (3000 some 22 s).
 */
static void
test_graph_many_outputs(void **state)
{
    enum { N = 3000, DUP = 1000 };
    flow_registry_t *reg = registry();
    struct gtext t = { 0 }, t2 = { 0 };
    char dir[64], key[128], want[256];
    int dup_line, last_line;
    flow_diag_t diag, diag2;
    flow_graph_t *g, *g2;
    double secs, secs2;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/flow-many-outputs-%d", (int)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    gt_outputs(&t, N, dir, "mode = count", DUP, &dup_line, &last_line);
    g = gt_load(&t, reg, NULL, 0, &diag, &secs);
    /* The last collect writes the 1000th's file too, spelt another way. */
    snprintf(key, sizeof(key), "output = %s/./c%d.txt", dir, DUP);
    gt_outputs(&t2, N, dir, key, DUP, &dup_line, &last_line);
    g2 = gt_load(&t2, reg, NULL, 0, &diag2, &secs2);
    rmdir(dir);
    free(t.s);
    free(t2.s);

    if (!g)
        fail_msg("%s", diag.msg);
    fprintf(stderr, "%d outputs: checked in %.3f s, and %.3f s\n", N, secs,
            secs2);
    assert_int_equal(g->nclaims, N);
    flow_graph_destroy(&g);
    assert_true(secs < BIG_LOAD_S);
    /* Refused, naming the 1000th. */
    assert_null(g2);
    assert_int_equal(diag2.code, FLOW_EPARAM);
    assert_int_equal(diag2.line, last_line);
    snprintf(want, sizeof(want),
             "is also written by node 'c%d' (line %d, output '%s/c%d.txt')",
             DUP, dup_line, dir, DUP);
    tu_assert_contains(diag2.msg, want);
    assert_true(secs2 < BIG_LOAD_S);
    flow_registry_destroy(&reg);
}

/*
 * Types through FLOW_SAME nodes, on random graphs, against the rule as
 * check_types states it, computed here the plain way: sweeps over the
 * links in file order (push links forward, pair links both ways) until one
 * changes nothing, then the first link in file order that passes a type
 * backward, then sweeps again. The node types: sources of int64, words
 * and `any`, sinks of the same, and FLOW_SAME nodes that pass on (s1), join
 * (s2), split (st), or take in and give out over a pair link (pin, pout).
 * Each graph is a DAG of push links whose nodes, sections and links are
 * written in a random order; some meet two types at a join (a mismatch),
 * some have chains typed only backward, from a sink.
 */
enum {
    TK_I64SRC,
    TK_WSRC,
    TK_ASRC,
    TK_I64SINK,
    TK_WSINK,
    TK_ASINK,
    TK_S1,
    TK_S2,
    TK_ST,
    TK_PIN,
    TK_POUT,
    TK_KINDS
};

static const flow_port_t tk_ports[TK_KINDS][4] = {
    [TK_I64SRC] = { FLOW_PORT_OUT("out", FLOW_INT64, ""), FLOW_PORT_END },
    [TK_WSRC] = { FLOW_PORT_OUT("out", FLOW_WORDS, ""), FLOW_PORT_END },
    [TK_ASRC] = { FLOW_PORT_OUT("out", FLOW_ANY, ""), FLOW_PORT_END },
    [TK_I64SINK] = { FLOW_PORT_IN("in", FLOW_INT64, ""), FLOW_PORT_END },
    [TK_WSINK] = { FLOW_PORT_IN("in", FLOW_WORDS, ""), FLOW_PORT_END },
    [TK_ASINK] = { FLOW_PORT_IN("in", FLOW_ANY, ""), FLOW_PORT_END },
    [TK_S1] = { FLOW_PORT_IN("in", FLOW_SAME, ""),
                FLOW_PORT_OUT("out", FLOW_SAME, ""), FLOW_PORT_END },
    [TK_S2] = { FLOW_PORT_IN("a", FLOW_SAME, ""),
                FLOW_PORT_IN("b", FLOW_SAME, ""),
                FLOW_PORT_OUT("out", FLOW_SAME, ""), FLOW_PORT_END },
    [TK_ST] = { FLOW_PORT_IN("in", FLOW_SAME, ""),
                FLOW_PORT_OUT("a", FLOW_SAME, ""),
                FLOW_PORT_OUT("b", FLOW_SAME, ""), FLOW_PORT_END },
    [TK_PIN] = { FLOW_PORT_IN("in", FLOW_SAME, ""),
                 FLOW_PORT_PAIR("p", FLOW_SAME, ""), FLOW_PORT_END },
    [TK_POUT] = { FLOW_PORT_PAIR("p", FLOW_SAME, ""),
                  FLOW_PORT_OUT("out", FLOW_SAME, ""), FLOW_PORT_END },
};
static const char *const tk_names[TK_KINDS] = {
    "tk_i64src", "tk_wsrc", "tk_asrc", "tk_i64sink", "tk_wsink", "tk_asink",
    "tk_s1",     "tk_s2",   "tk_st",   "tk_pin",     "tk_pout"
};

#define TG_NODES  256
#define TG_LINKS  512
#define TG_GRAPHS 600

struct tgraph {
    int kind[TG_NODES];
    int nnodes;
    struct {
        int pair, n[2], p[2];
    } link[TG_LINKS];
    int nlinks;
    int open_n[TG_LINKS], open_p[TG_LINKS]; /* outputs not linked yet */
    int nopen;
    int main_type;              /* TK_I64SRC or TK_WSRC: most sources' */
    flow_type_t same[TG_NODES]; /* the oracle's */
    int nback;                  /* types it passed backward */
};

static unsigned tg_seed;

static unsigned
tg_rand(unsigned n)
{
    tg_seed = tg_seed * 1103515245u + 12345u;
    return (tg_seed >> 16) % n;
}

/* A new node of `kind`; its outputs open once its inputs are linked
 * (tg_open), so that no push link closes a cycle. */
static int
tg_node(struct tgraph *t, int kind)
{
    assert_true(t->nnodes < TG_NODES);
    t->kind[t->nnodes] = kind;
    return t->nnodes++;
}

static void
tg_open(struct tgraph *t, int n)
{
    for (int p = 0; tk_ports[t->kind[n]][p].name; p++)
        if (tk_ports[t->kind[n]][p].dir == FLOW_DIR_OUT) {
            t->open_n[t->nopen] = n;
            t->open_p[t->nopen++] = p;
        }
}

static void
tg_link(struct tgraph *t, int pair, int n0, int p0, int n1, int p1)
{
    assert_true(t->nlinks < TG_LINKS);
    t->link[t->nlinks].pair = pair;
    t->link[t->nlinks].n[0] = n0;
    t->link[t->nlinks].p[0] = p0;
    t->link[t->nlinks].n[1] = n1;
    t->link[t->nlinks].p[1] = p1;
    t->nlinks++;
}

/* Link input `p` of node `n` from an open output: a new source's, or (most
 * often) one open already. */
static void
tg_feed(struct tgraph *t, int n, int p)
{
    int k;

    if (!t->nopen || tg_rand(4) == 0) {
        /* Half the graph's type, some `any`, a few of the other. */
        unsigned r = tg_rand(20);
        int kind = r < 10   ? t->main_type
                   : r < 16 ? TK_ASRC
                            : TK_I64SRC + TK_WSRC - t->main_type;
        tg_open(t, tg_node(t, kind));
    }
    k = (int)tg_rand((unsigned)t->nopen);
    tg_link(t, 0, t->open_n[k], t->open_p[k], n, p);
    t->open_n[k] = t->open_n[--t->nopen];
    t->open_p[k] = t->open_p[t->nopen];
}

static void
tg_make(struct tgraph *t)
{
    int middles = 6 + (int)tg_rand(24);

    memset(t, 0, sizeof(*t));
    t->main_type = tg_rand(2) ? TK_I64SRC : TK_WSRC;
    for (int i = 0; i < middles; i++) {
        int kind = TK_S1 + (int)tg_rand(4), n;
        if (kind == TK_PIN) {
            int a = tg_node(t, TK_PIN), b = tg_node(t, TK_POUT);
            tg_feed(t, a, 0);
            tg_link(t, 1, a, 1, b, 0);
            tg_open(t, b);
            continue;
        }
        n = tg_node(t, kind);
        for (int p = 0; tk_ports[kind][p].name; p++)
            if (tk_ports[kind][p].dir == FLOW_DIR_IN)
                tg_feed(t, n, p);
        tg_open(t, n);
    }
    while (t->nopen) {
        /* Mostly `any`, some of the graph's type, a few of the other. */
        int mine = t->main_type + TK_I64SINK - TK_I64SRC;
        int other = TK_I64SINK + TK_WSINK - mine;
        unsigned r = tg_rand(10);
        int n = tg_node(t, r < 6 ? TK_ASINK : r < 9 ? mine : other);
        t->nopen--;
        tg_link(t, 0, t->open_n[t->nopen], t->open_p[t->nopen], n, 0);
    }
}

static flow_type_t
tg_type(const struct tgraph *t, int n, int p)
{
    flow_type_t ty = tk_ports[t->kind[n]][p].type;

    return ty == FLOW_SAME ? t->same[n] : ty;
}

/* The oracle's pass along link `i` of the file order `order`. */
static bool
tg_pass(struct tgraph *t, int i, int from)
{
    int to = 1 - from, n = t->link[i].n[to];
    flow_type_t ty = tg_type(t, t->link[i].n[from], t->link[i].p[from]);

    if (tk_ports[t->kind[n]][t->link[i].p[to]].type != FLOW_SAME ||
        t->same[n] != FLOW_ANY || ty == FLOW_ANY)
        return false;
    t->same[n] = ty;
    return true;
}

/* The oracle: the nodes' types, and the first link in file order whose
 * ends differ (an index into `order`), or -1. */
static int
tg_oracle(struct tgraph *t, const int *order)
{
    for (int n = 0; n < t->nnodes; n++)
        t->same[n] = FLOW_ANY;
    t->nback = 0;
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = 0; i < t->nlinks; i++) {
            changed |= tg_pass(t, order[i], 0);
            if (t->link[order[i]].pair)
                changed |= tg_pass(t, order[i], 1);
        }
        for (int i = 0; !changed && i < t->nlinks; i++)
            t->nback += changed = tg_pass(t, order[i], 1);
    }
    for (int i = 0; i < t->nlinks; i++) {
        int l = order[i];
        flow_type_t a = tg_type(t, t->link[l].n[0], t->link[l].p[0]);
        flow_type_t b = tg_type(t, t->link[l].n[1], t->link[l].p[1]);
        if (a != FLOW_ANY && b != FLOW_ANY && a != b)
            return i;
    }
    return -1;
}

static void
tg_shuffle(int *a, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tg_rand((unsigned)i + 1), x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
}

static void
test_graph_same_type_random(void **state)
{
    static flow_node_desc_t descs[TK_KINDS];
    flow_registry_t *reg = registry();
    int mismatches = 0, backward = 0;
    struct tgraph t;

    (void)state;
    for (int k = 0; k < TK_KINDS; k++) {
        flow_diag_t diag;
        descs[k] = (flow_node_desc_t){ FLOW_NODE_V1, .name = tk_names[k],
                                       .summary = "a test type",
                                       .ports = tk_ports[k], .run = pair_run };
        assert_int_equal(
            flow_registry_add(reg, &descs[k], "test_graph.c", &diag), 0);
    }
    tg_seed = 12345;
    for (int iter = 0; iter < TG_GRAPHS; iter++) {
        int nodes[TG_NODES], order[TG_LINKS], link_line[TG_LINKS], bad;
        struct gtext text = { 0 };
        flow_diag_t diag;
        flow_graph_t *g;
        double secs;

        tg_make(&t);
        tg_shuffle(nodes, t.nnodes);
        tg_shuffle(order, t.nlinks);
        for (int i = 0; i < t.nnodes; i++)
            gt_add(&text, "[n%d]\ntype = %s\n", nodes[i],
                   tk_names[t.kind[nodes[i]]]);
        gt_add(&text, "[links]\n");
        for (int i = 0; i < t.nlinks; i++) {
            int l = order[i];
            link_line[i] = text.lines + 1;
            gt_add(&text, "%s = n%d.%s %s n%d.%s\n",
                   t.link[l].pair ? "pair" : "push", t.link[l].n[0],
                   tk_ports[t.kind[t.link[l].n[0]]][t.link[l].p[0]].name,
                   t.link[l].pair ? "<->" : "->", t.link[l].n[1],
                   tk_ports[t.kind[t.link[l].n[1]]][t.link[l].p[1]].name);
        }
        bad = tg_oracle(&t, order);
        g = gt_load(&text, reg, NULL, 0, &diag, &secs);
        if (bad >= 0) {
            if (g)
                fail_msg("graph %d loaded; the oracle says line %d:\n%s", iter,
                         link_line[bad], text.s);
            if (diag.code != FLOW_EPORT || diag.line != link_line[bad])
                fail_msg("graph %d: '%s' at line %d; the oracle says line "
                         "%d:\n%s",
                         iter, diag.msg, diag.line, link_line[bad], text.s);
            mismatches++;
        } else {
            if (!g)
                fail_msg("graph %d: %s\n%s", iter, diag.msg, text.s);
            for (int n = 0; n < t.nnodes; n++) {
                char name[16];
                snprintf(name, sizeof(name), "n%d", n);
                if (node(g, name)->same_type != t.same[n])
                    fail_msg("graph %d: node %s has %s, the oracle %s:\n%s",
                             iter, name,
                             flow_type_name(node(g, name)->same_type),
                             flow_type_name(t.same[n]), text.s);
            }
            backward += t.nback > 0;
            flow_graph_destroy(&g);
        }
        free(text.s);
    }
    fprintf(stderr,
            "%d graphs: %d with a mismatch; of the others, %d with types "
            "passed backward\n",
            TG_GRAPHS, mismatches, backward);
    /* Both outcomes, and types passed backward, were tried. */
    assert_true(mismatches > TG_GRAPHS / 10 && mismatches < TG_GRAPHS * 9 / 10);
    assert_true(backward > 20);
    flow_registry_destroy(&reg);
}

/*
 * A chain of 80,000 jitters from a range to a collect, its links written
 * from the collect back to the range: every node takes int64. Each sweep
 * over the links passed the type one node further, 80,000 sweeps: a chain
 * of 40,000 took 6.4 s to check.
 */
static void
test_graph_long_chain_backward(void **state)
{
    enum { N = 80000 };
    flow_registry_t *reg = registry();
    struct gtext t = { 0 };
    flow_diag_t diag;
    flow_graph_t *g;
    double secs;

    (void)state;
    gt_add(&t, "[src]\ntype = range\n[out]\ntype = collect\n");
    for (int i = 0; i < N; i++)
        gt_add(&t, "[j%d]\ntype = jitter\n", i);
    gt_add(&t, "[links]\npush = j%d.out -> out.in\n", N - 1);
    for (int i = N - 1; i > 0; i--)
        gt_add(&t, "push = j%d.out -> j%d.in\n", i - 1, i);
    gt_add(&t, "push = src.out -> j0.in\n");
    g = gt_load(&t, reg, NULL, 0, &diag, &secs);
    free(t.s);
    if (!g)
        fail_msg("%s", diag.msg);
    fprintf(stderr, "a chain of %d written backward: checked in %.3f s\n", N,
            secs);
    for (int i = 0; i < N; i += 997) {
        char name[16];
        snprintf(name, sizeof(name), "j%d", i);
        assert_int_equal(node(g, name)->same_type, FLOW_INT64);
    }
    assert_int_equal(node(g, "j79999")->same_type, FLOW_INT64);
    flow_graph_destroy(&g);
    assert_true(secs < BIG_LOAD_S);
    flow_registry_destroy(&reg);
}

/*
 * 100,000 graph parameters, one of them used and set on the command line;
 * then one declared twice. Each was looked for among all those before it
 * (a duplicate), and each unused one's warning gathered the used ones
 * from all of them: 40,000 took 3 s to load.
 */
static void
test_graph_many_params(void **state)
{
    enum { N = 100000 };
    flow_registry_t *reg = registry();
    const char *sets[] = { "p99999=7" };
    struct gtext t = { 0 };
    flow_diag_t diag;
    flow_graph_t *g;
    int dup_line;
    double secs;

    (void)state;
    gt_add(&t, "[graph]\n");
    for (int i = 0; i < N; i++)
        gt_add(&t, "p%d = %d\n", i, i);
    gt_add(&t,
           "[src]\ntype = range\ncount = ${p%d}\n[out]\ntype = collect\n"
           "[links]\npush = src.out -> out.in\n",
           N - 1);
    g = gt_load(&t, reg, sets, 1, &diag, &secs);
    if (!g)
        fail_msg("%s", diag.msg);
    fprintf(stderr, "%d graph parameters: loaded in %.3f s\n", N, secs);
    assert_int_equal(state_i64(g, "src", "count"), 7);
    assert_int_equal(g->nparams, N);
    /* Every one but the used one said unused, in the file's order. */
    assert_int_equal(g->nwarnings, N - 1);
    tu_assert_contains(g->warnings[0], "big.ini:2: graph parameter 'p0' is "
                                       "not used");
    tu_assert_contains(g->warnings[N - 2], "big.ini:100000: graph parameter "
                                           "'p99998' is not used");
    flow_graph_destroy(&g);
    assert_true(secs < BIG_LOAD_S);

    /* p17 again, at the end of [graph]: refused at that line. */
    t.len = 0;
    t.lines = 0;
    gt_add(&t, "[graph]\n");
    for (int i = 0; i < N; i++)
        gt_add(&t, "p%d = %d\n", i, i);
    dup_line = t.lines + 1;
    gt_add(&t, "p17 = 1\n[src]\ntype = range\n[out]\ntype = collect\n"
               "[links]\npush = src.out -> out.in\n");
    g = gt_load(&t, reg, NULL, 0, &diag, &secs);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_EDUP);
    assert_int_equal(diag.line, dup_line);
    tu_assert_contains(diag.msg, "duplicate graph parameter 'p17'");
    assert_true(secs < BIG_LOAD_S);
    free(t.s);
    flow_registry_destroy(&reg);
}

/* ---- Placement: pin, and the hints cpus, slurm_constraint ---------------- */

/* Load good_hints.ini with one --set; NULL with `diag` on an error. */
static flow_graph_t *
load_hints(flow_registry_t *reg, const char *set, flow_diag_t *diag)
{
    const char *sets[1] = { set };

    return load(reg, "good_hints.ini", sets, set ? 1 : 0, diag);
}

static void
test_graph_placement_hints(void **state)
{
    static const struct {
        const char *set, *key, *value;
    } bad[] = {
        { "find.cpus=-1", "'cpus'", "'-1'" },
        { "find.cpus=abc", "'cpus'", "'abc'" },
        { "find.cpus=1.5", "'cpus'", "'1.5'" },
        { "find.cpus=", "'cpus'", "''" },
        { "find.cpus=5000", "'cpus'", "'5000'" },
        { "out.slurm_constraint=", "'slurm_constraint'", "''" },
        { "out.slurm_constraint=a b", "'slurm_constraint'", "'a b'" },
        { "out.slurm_constraint=&|", "'slurm_constraint'", "'&|'" },
        { "out.slurm_constraint=x;y", "'slurm_constraint'", "'x;y'" },
        { "find.pin=", "'pin'", "''" },
        { "find.pin=3-1", "'pin'", "'3-1'" },
        { "find.pin=1024", "'pin'", "'1024'" },
        { "find.pin=0,,1", "'pin'", "'0,,1'" },
        { "find.pin=None", "'pin'", "'None'" },
        { "find.pin=none,1", "'pin'", "'none,1'" },
        { "find.pin=0-4096", "'pin'", "'0-4096'" },
        { "find.pin=0-1023,0-1023,0-1023,0-1023,0", "'pin'", "at most 4096" },
        /* A range that goes down, one past CPU 1023 at its end, a
         * separator other than a comma. */
        { "find.pin=2-1", "'pin'", "'2-1'" },
        { "find.pin=0-1024", "'pin'", "'0-1024'" },
        { "find.pin=0;1", "'pin'", "'0;1'" },
        /* One past the most CPUs per instance, and a range with no end
         * (strtoul would read the empty end as 0: the range 0-0). */
        { "find.cpus=4097", "'cpus'", "'4097'" },
        { "find.pin=0-", "'pin'", "'0-'" },
        { "find.pin=1,0-", "'pin'", "'1,0-'" },
    };
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g;

    (void)state;
    g = load_hints(reg, NULL, &diag);
    assert_non_null(g);
    assert_int_equal(node(g, "find")->cpus, 0);
    assert_string_equal(node(g, "find")->slurm_constraint, "big");
    assert_int_equal(node(g, "out")->cpus, 2);
    assert_null(node(g, "out")->slurm_constraint);
    assert_int_equal(node(g, "gen")->cpus, 0);
    assert_null(node(g, "gen")->slurm_constraint);
    assert_int_equal(node(g, "chunks")->npin, 2);
    assert_int_equal(node(g, "chunks")->pin[0], 1);
    assert_int_equal(node(g, "chunks")->pin[1], 0);
    flow_graph_destroy(&g);

    /* none: as without pin, so --set unpins a node the file pins. */
    g = load_hints(reg, "chunks.pin=none", &diag);
    assert_non_null(g);
    assert_int_equal(node(g, "chunks")->npin, 0);
    assert_null(node(g, "chunks")->pin);
    flow_graph_destroy(&g);

    g = load_hints(reg, "find.slurm_constraint=[rack1|rack2]&fast*2", &diag);
    assert_non_null(g);
    assert_string_equal(node(g, "find")->slurm_constraint,
                        "[rack1|rack2]&fast*2");
    flow_graph_destroy(&g);
    /* A feature with a count ("gpu:2"), and a timeout of the most
     * allowed: 1e7 s. */
    g = load_hints(reg, "out.slurm_constraint=gpu:2", &diag);
    assert_non_null(g);
    assert_string_equal(node(g, "out")->slurm_constraint, "gpu:2");
    flow_graph_destroy(&g);
    g = load_hints(reg, "gen.timeout=1e7", &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    flow_graph_destroy(&g);
    g = load_hints(reg, "gen.cpus=1e2", &diag);
    assert_non_null(g);
    assert_int_equal(node(g, "gen")->cpus, 100);
    assert_int_equal(node(g, "gen")->npin, 0);
    flow_graph_destroy(&g);
    g = load_hints(reg, "find.pin=5,0-2,1023", &diag);
    assert_non_null(g);
    {
        static const unsigned want[] = { 5, 0, 1, 2, 1023 };
        const flow_gnode_t *f = node(g, "find");
        assert_int_equal(f->npin, 5);
        for (size_t i = 0; i < 5; i++)
            assert_int_equal(f->pin[i], want[i]);
    }
    flow_graph_destroy(&g);

    /* The edges of what is allowed: 4096 CPUs per instance, a pin list of
     * 4096 CPUs (each CPU four times), the digit 9 (the last one) opening
     * a number, a constraint with upper case letters, digits and _. */
    g = load_hints(reg, "find.cpus=4096", &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(node(g, "find")->cpus, 4096);
    flow_graph_destroy(&g);
    g = load_hints(reg, "find.pin=0-1023,0-1023,0-1023,0-1023", &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(node(g, "find")->npin, 4096);
    for (size_t i = 0; i < 4096; i++)
        assert_int_equal(node(g, "find")->pin[i], i % 1024);
    flow_graph_destroy(&g);
    g = load_hints(reg, "find.pin=9,19-20", &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_int_equal(node(g, "find")->npin, 3);
    assert_int_equal(node(g, "find")->pin[0], 9);
    assert_int_equal(node(g, "find")->pin[1], 19);
    assert_int_equal(node(g, "find")->pin[2], 20);
    flow_graph_destroy(&g);
    g = load_hints(reg, "find.slurm_constraint=Zone_9|ZONE_8", &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_string_equal(node(g, "find")->slurm_constraint, "Zone_9|ZONE_8");
    flow_graph_destroy(&g);
    /* A node's timeout is kept as written (0: none). */
    g = load_hints(reg, "gen.timeout=2.5", &diag);
    if (!g)
        fail_msg("%s", diag.msg);
    assert_true(node(g, "gen")->timeout_s == 2.5);
    assert_true(node(g, "out")->timeout_s == 0);
    flow_graph_destroy(&g);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        g = load_hints(reg, bad[i].set, &diag);
        if (g)
            fail_msg("--set %s: loaded", bad[i].set);
        assert_int_equal(diag.code, FLOW_EPARAM);
        tu_assert_contains(diag.msg, bad[i].key);
        tu_assert_contains(diag.msg, bad[i].value);
        tu_assert_contains(diag.msg, "(set on the command line)");
    }
    flow_registry_destroy(&reg);
}

/* The Slurm launcher's task order: constrained components first, then the
 * others by their first node; graph order when there are no hints. */
static void
test_graph_slurm_task_order(void **state)
{
    static const char *const hinted[] = { "find:0", "find:1",   "find:2",
                                          "gen:0",  "chunks:0", "out:0" };
    static const char *const plain[] = { "gen:0", "find:0", "find:1", "out:0" };
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_graph_t *g;
    const char *name;
    unsigned inst;
    char got[64];

    (void)state;
    g = load_hints(reg, NULL, &diag);
    assert_non_null(g);
    for (unsigned t = 0; t < 6; t++) {
        assert_int_equal(flow_graph_slurm_task(g, t, &name, &inst), 0);
        snprintf(got, sizeof(got), "%s:%u", name, inst);
        assert_string_equal(got, hinted[t]);
    }
    assert_int_equal(flow_graph_slurm_task(g, 6, &name, &inst), FLOW_ENOENT);
    flow_graph_destroy(&g);

    g = load(reg, "good_params.ini", NULL, 0, &diag);
    assert_non_null(g);
    for (unsigned t = 0; t < 4; t++) {
        assert_int_equal(flow_graph_slurm_task(g, t, &name, &inst), 0);
        snprintf(got, sizeof(got), "%s:%u", name, inst);
        assert_string_equal(got, plain[t]);
    }
    assert_int_equal(flow_graph_slurm_task(g, 4, &name, &inst), FLOW_ENOENT);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* ---- flowrun --check ---------------------------------------------------- */

static void
check_flowrun(const char *file, int line)
{
    char path[4096], prefix[4200];
    tu_result_t r;

    snprintf(path, sizeof(path), "%s", fixture(file));
    tu_runl(&r, 30, "--check", "--plugin-path", tu_plugin_dir(), path, NULL);
    if (r.status != 2)
        fail_msg("flowrun --check %s: status %d, stderr: %s", file, r.status,
                 r.err);
    snprintf(prefix, sizeof(prefix), "flowrun: error: %s:%d: ", path, line);
    if (strncmp(r.err, prefix, strlen(prefix)))
        fail_msg("flowrun --check %s: stderr '%s' does not start with '%s'",
                 file, r.err, prefix);
    assert_int_equal(r.outlen, 0);
    tu_result_release(&r);
}

static void
test_graph_flowrun_check(void **state)
{
    static const char *const files[] = {
        "bad_unknown_type.ini",     "bad_unknown_param.ini",
        "bad_push_cycle.ini",       "bad_line_too_long.ini",
        "bad_type_mismatch.ini",    "bad_syntax.ini",
        "bad_duplicate_key.ini",    "bad_cpus.ini",
        "bad_slurm_constraint.ini",
    };
    tu_result_t r;

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        for (size_t k = 0; k < NBAD; k++)
            if (!strcmp(bad_cases[k].file, files[i]))
                check_flowrun(files[i], bad_cases[k].line);
    }

    /* A valid graph: status 0, nothing on standard output. */
    tu_runl(&r, 30, "--check", "--plugin-path", tu_plugin_dir(),
            fixture("good_params.ini"), NULL);
    if (r.status != 0)
        fail_msg("good_params.ini: status %d: %s", r.status, r.err);
    assert_int_equal(r.outlen, 0);
    tu_result_release(&r);

    /* --set errors are configuration errors too. */
    tu_runl(&r, 30, "--check", "--plugin-path", tu_plugin_dir(),
            fixture("good_params.ini"), "--set", "gen.colour=red", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "flowrun: error: ", 16));
    tu_assert_contains(r.err, "'colour'");
    tu_assert_contains(r.err, "(set on the command line)");
    tu_result_release(&r);

    tu_runl(&r, 30, "--check", "--plugin-path", tu_plugin_dir(),
            fixture("good_params.ini"), "--set", "words=7", NULL);
    assert_int_equal(r.status, 0);
    tu_result_release(&r);

    /* Placement hints: valid for --check, bad ones named with the key. */
    tu_runl(&r, 30, "--check", "--plugin-path", tu_plugin_dir(),
            fixture("good_hints.ini"), NULL);
    if (r.status != 0)
        fail_msg("good_hints.ini: status %d: %s", r.status, r.err);
    tu_result_release(&r);
    tu_runl(&r, 30, "--check", "--plugin-path", tu_plugin_dir(),
            fixture("good_hints.ini"), "--set", "out.cpus=-2", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "flowrun: error: ", 16));
    tu_assert_contains(r.err, "'cpus'");
    tu_assert_contains(r.err, "'-2'");
    tu_result_release(&r);

    /* --slurm-task outside a Slurm step: a usage error, nothing run. */
    unsetenv("SLURM_PROCID");
    tu_runl(&r, 30, "--plugin-path", tu_plugin_dir(), fixture("good_hints.ini"),
            "--slurm-task", "--rendezvous", "tcp://127.0.0.1:1", NULL);
    assert_int_equal(r.status, 2);
    tu_assert_contains(r.err, "SLURM_PROCID");
    assert_int_equal(r.outlen, 0);
    tu_result_release(&r);

    /* A graph's warnings: on standard error, once, by the run and by
     * --check; the run's output as without them; none with --quiet. */
    {
        static const char text[] =
            "[graph]\nn = 3\nnn = 4\n[src]\ntype = range\ncount = ${n}\n"
            "[out]\ntype = collect\n[links]\npush = src.out -> out.in\n";
        tu_run_graph(&r, 30, text, NULL);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, "0\n1\n2\n");
        tu_assert_contains(r.err, ":3: graph parameter 'nn' is not used");
        tu_assert_contains(r.err, "did you mean 'n'?\n");
        assert_int_equal(strncmp(r.err, "flowrun: warning: ", 18), 0);
        tu_result_release(&r);
        tu_run_graph(&r, 30, text, "--check", NULL);
        assert_int_equal(r.status, 0);
        tu_assert_contains(r.err, "graph parameter 'nn' is not used");
        tu_result_release(&r);
        tu_run_graph(&r, 30, text, "--quiet", NULL);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.err, "");
        tu_result_release(&r);
    }
}

/*
 * Which nodes no one wants once inputs are given up (flow__graph_unwanted):
 * `closes` lists "node:instance[:port]" whose input port (index; default
 * 0: collect's, jitter's and tee2's "in") is given up; `want` the nodes,
 * in graph order, that must be unwanted then ("" for none).
 */
static void
check_unwanted(flow_registry_t *reg, const char *text, const char *closes,
               const char *want)
{
    flow_diag_t diag;
    flow_graph_t *g = load_text(reg, text, &diag);
    char got[256] = "", list[256], *save = NULL;
    uint64_t *closed;
    bool *unwanted;
    bool added;

    if (!g)
        fail_msg("line %d: %s", diag.line, diag.msg);
    closed = calloc(flow_graph_process_count(g), sizeof(*closed));
    unwanted = calloc(g->nnodes, sizeof(*unwanted));
    snprintf(list, sizeof(list), "%s", closes);
    for (char *c = strtok_r(list, " ", &save); c;
         c = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(c, ':'), *port;
        long n;
        *colon = '\0';
        port = strchr(colon + 1, ':');
        n = flow__graph_find_node(g, c);
        assert_true(n >= 0);
        closed[flow__proc_index(g, (size_t)n, (unsigned)atoi(colon + 1))] |=
            (uint64_t)1 << (port ? atoi(port + 1) : 0);
    }
    added = flow__graph_unwanted(g, closed, unwanted);
    for (size_t n = 0; n < g->nnodes; n++)
        if (unwanted[n])
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
                     got[0] ? " " : "", g->nodes[n].name);
    assert_string_equal(got, want);
    assert_int_equal(added, want[0] != '\0');
    /* Again: nothing more to add. */
    assert_false(flow__graph_unwanted(g, closed, unwanted));
    free(closed);
    free(unwanted);
    flow_graph_destroy(&g);
}

/* The nodes `c` says to stop now, by name, in graph order. */
static const char *
stop_names(const flow_cancel_t *c, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t n = 0; n < c->g->nnodes; n++)
        if (c->stop[n])
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
                     buf[0] ? " " : "", c->g->nodes[n].name);
    return buf;
}

/* Instance `inst` of node `name` gives its input port `port` up: `want`
 * are the nodes to tell to stop now ("" for none). */
static void
check_give_up(flow_cancel_t *c, const char *name, unsigned inst,
              unsigned long port, const char *want)
{
    long n = flow__graph_find_node(c->g, name);
    char got[256];
    bool any;

    assert_true(n >= 0);
    any =
        flow__cancel_give_up(c, flow__proc_index(c->g, (size_t)n, inst), port);
    assert_string_equal(stop_names(c, got, sizeof(got)), want);
    assert_int_equal(any, want[0] != '\0');
}

/*
 * What the launcher and the rendezvous keep of a run's give-ups
 * (flow__cancel_give_up), one give-up at a time: they add up, across
 * instances and across the ports of one; only the nodes just made unwanted
 * are told to stop, once, and only those without a push input.
 */
static void
test_graph_cancel_give_up(void **state)
{
    flow_registry_t *reg = registry();
    flow_diag_t diag;
    flow_cancel_t c;
    flow_graph_t *g;

    (void)state;
    g = load_text(reg,
                  "[src]\ntype = range\ninstances = 2\n"
                  "[mid]\ntype = jitter\ninstances = 2\n"
                  "[out]\ntype = collect\n"
                  "[links]\npush = src.out -> mid.in\n"
                  "push = mid.out -> out.in\n",
                  &diag);
    assert_non_null(g);
    flow__cancel_init(&c, g);
    /* One instance of two: its producers still feed the other. */
    check_give_up(&c, "mid", 0, 0, "");
    check_give_up(&c, "mid", 0, 0, "");
    /* Both, in two give-ups: the sources (both instances, one node). */
    check_give_up(&c, "mid", 1, 0, "src");
    /* The sink gives up: mid is unwanted now, but it has a push input (it
     * drains); the sources were told already. */
    check_give_up(&c, "out", 0, 0, "");
    /* Out of range: nothing. */
    check_give_up(&c, "out", 0, 64, "");
    assert_false(flow__cancel_give_up(&c, flow_graph_process_count(g), 0));
    flow__cancel_fini(&c);
    flow_graph_destroy(&g);

    /* One producer behind both inputs of a node: unwanted once both are
     * given up, one at a time. */
    g = load_text(reg,
                  "[src]\ntype = range\n"
                  "[t]\ntype = tee2\n"
                  "[j]\ntype = join2\n"
                  "[o]\ntype = collect\n"
                  "[links]\npush = src.out -> t.in\n"
                  "push = t.a -> j.a\npush = t.b -> j.b\n"
                  "push = j.out -> o.in\n",
                  &diag);
    assert_non_null(g);
    flow__cancel_init(&c, g);
    check_give_up(&c, "j", 0, 0, "");
    check_give_up(&c, "j", 0, 1, "src");
    check_give_up(&c, "o", 0, 0, "");
    flow__cancel_fini(&c);
    flow_graph_destroy(&g);

    /* A coordinator and its segments: none has a push input. */
    g = load_text(reg,
                  "[main]\ntype = primes\n"
                  "[seg]\ntype = sieve\ninstances = 3\n"
                  "[out]\ntype = collect\n"
                  "[links]\npair = main.seg <-> seg.coord\n"
                  "push = main.out -> out.in\n",
                  &diag);
    assert_non_null(g);
    flow__cancel_init(&c, g);
    check_give_up(&c, "out", 0, 0, "main seg");
    flow__cancel_fini(&c);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* An error is one line, whatever the value it quotes holds; an unknown
 * type says where its plugin was looked for. */
static void
test_graph_error_one_line(void **state)
{
    flow_registry_t *reg = registry();
    static const char text[] = "[graph]\nn = 1\n"
                               "[src]\ntype = range\ncount = ${n}\n"
                               "[out]\ntype = collect\n"
                               "[links]\npush = src.out -> out.in\n";
    const char *set[] = { "n=1\n2\t\x01" };
    flow_diag_t diag;
    flow_graph_t *g = flow_graph_load_string(text, strlen(text), "one.ini", reg,
                                             set, 1, &diag);

    (void)state;
    assert_null(g);
    tu_assert_contains(diag.msg, "bad value '1\\n2\\t\\x01'");
    assert_null(strchr(diag.msg, '\n'));
    assert_null(strchr(diag.msg, '\t'));
    g = load_text(reg, "[h]\ntype = head\n", &diag);
    assert_null(g);
    assert_int_equal(diag.code, FLOW_ETYPE);
    tu_assert_contains(diag.msg, "unknown node type 'head' for node 'h' (no "
                                 "head.so in ");
    tu_assert_contains(diag.msg, tu_plugin_dir());
    /* ${} names no parameter: said so, not "undefined parameter ''". */
    g = load_text(reg, "[r]\ntype = range\ncount = ${}\n", &diag);
    assert_null(g);
    assert_int_equal(diag.line, 3);
    tu_assert_contains(diag.msg, "empty parameter name '${}' in ");
    flow_registry_destroy(&reg);
}

static void
test_graph_unwanted(void **state)
{
    flow_registry_t *reg = registry();
    static const char chain[] = "[src]\ntype = range\ninstances = 2\n"
                                "[mid]\ntype = jitter\ninstances = 2\n"
                                "[out]\ntype = collect\n"
                                "[links]\npush = src.out -> mid.in\n"
                                "push = mid.out -> out.in\n";
    static const char tee[] = "[src]\ntype = range\n"
                              "[t]\ntype = tee2\n"
                              "[o1]\ntype = collect\n"
                              "[o2]\ntype = collect\noutput = /dev/null\n"
                              "[links]\npush = src.out -> t.in\n"
                              "push = t.a -> o1.in\npush = t.b -> o2.in\n";
    static const char join[] = "[a]\ntype = range\n"
                               "[b]\ntype = range\n"
                               "[j]\ntype = join2\n"
                               "[o]\ntype = collect\n"
                               "[links]\npush = a.out -> j.a\n"
                               "push = b.out -> j.b\npush = j.out -> o.in\n";
    static const char sieve[] = "[main]\ntype = primes\n"
                                "[seg]\ntype = sieve\ninstances = 3\n"
                                "[out]\ntype = collect\n"
                                "[links]\npair = main.seg <-> seg.coord\n"
                                "push = main.out -> out.in\n";
    /* A sink of two nodes joined by a pair link, x pushing to k too; fed
     * by the two copies of t. */
    static const char pairsink[] = "[src]\ntype = range\n"
                                   "[t]\ntype = tee2\n"
                                   "[x]\ntype = pairpush\n"
                                   "[k]\ntype = pairsink\n"
                                   "[links]\npush = src.out -> t.in\n"
                                   "push = t.a -> x.in\npush = t.b -> k.a\n"
                                   "push = x.out -> k.b\n"
                                   "pair = x.peer <-> k.peer\n";
    /* A sink of three nodes chained by pair links, x - m - k, pushing to
     * one another (x to k, k to m) and fed by t. The pair link m - k comes
     * first: the group is one only once the labels have gone round twice. */
    static const char pairchain[] = "[src]\ntype = range\n"
                                    "[t]\ntype = tee2\n"
                                    "[x]\ntype = pairpush\n"
                                    "[m]\ntype = pairmid\n"
                                    "[k]\ntype = pairpush\n"
                                    "[links]\npush = src.out -> t.in\n"
                                    "push = t.a -> x.in\npush = t.b -> m.a\n"
                                    "push = x.out -> k.in\n"
                                    "push = k.out -> m.b\n"
                                    "pair = m.r <-> k.peer\n"
                                    "pair = x.peer <-> m.l\n";

    (void)state;
    /* Nothing given up: everything is wanted. */
    check_unwanted(reg, chain, "", "");
    /* The sink gives up: everything upstream of it stops. */
    check_unwanted(reg, chain, "out:0", "src mid");
    /* One of two consumers gives up: its producers still feed the other. */
    check_unwanted(reg, chain, "mid:1", "");
    check_unwanted(reg, chain, "mid:0", "");
    /* Another port than the one linked: nothing. */
    check_unwanted(reg, chain, "out:0:1", "");
    /* Both do: the sources stop; mid still feeds out, which wants it. */
    check_unwanted(reg, chain, "mid:0 mid:1", "src");
    /* A node with two outputs is wanted while one of them is. */
    check_unwanted(reg, tee, "o1:0", "");
    check_unwanted(reg, tee, "o2:0", "");
    check_unwanted(reg, tee, "o1:0 o2:0", "src t");
    /* A coordinator no one wants takes its pair-only segments along; while
     * it is wanted, they are, though they have no output. */
    check_unwanted(reg, sieve, "", "");
    check_unwanted(reg, sieve, "out:0", "main seg");
    /* Of two inputs, the one given up: its producer only. */
    check_unwanted(reg, join, "j:0:1", "b");
    check_unwanted(reg, join, "j:0:0", "a");
    check_unwanted(reg, join, "j:0:0 j:0:1", "a b");
    check_unwanted(reg, join, "o:0", "a b j");
    /* A push link within a pair group leaves it a sink: each of its inputs
     * from t keeps t and src wanted; both given up, they are not. */
    check_unwanted(reg, pairsink, "", "");
    check_unwanted(reg, pairsink, "x:0:0", "");
    check_unwanted(reg, pairsink, "k:0:0", "");
    check_unwanted(reg, pairsink, "k:0:1", "");
    check_unwanted(reg, pairsink, "x:0:0 k:0:0", "src t");
    /* So does a chain of them: no push link leaves x - m - k, so it is a
     * sink, whatever the order of its links. */
    check_unwanted(reg, pairchain, "", "");
    check_unwanted(reg, pairchain, "x:0:0", "");
    check_unwanted(reg, pairchain, "m:0:0", "");
    check_unwanted(reg, pairchain, "x:0:0 m:0:0", "src t");
    flow_registry_destroy(&reg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_bad_fixtures),
        cmocka_unit_test(test_graph_every_fixture_is_covered),
        cmocka_unit_test(test_graph_log_level_names),
        cmocka_unit_test(test_graph_stats_apart),
        cmocka_unit_test(test_graph_minimal_loads),
        cmocka_unit_test(test_graph_fingerprint_sees_plugin_version),
        cmocka_unit_test(test_graph_link_hwm_default),
        cmocka_unit_test(test_graph_suggest),
        cmocka_unit_test(test_graph_suggest_bounds),
        cmocka_unit_test(test_graph_section_hints),
        cmocka_unit_test(test_graph_unused_param_warns),
        cmocka_unit_test(test_graph_limits_exact),
        cmocka_unit_test(test_graph_byte_order_marks),
        cmocka_unit_test(test_graph_file_size_limit),
        cmocka_unit_test(test_graph_set_long_name),
        cmocka_unit_test(test_graph_link_hwm_in_graph),
        cmocka_unit_test(test_graph_same_type),
        cmocka_unit_test(test_graph_link_balance),
        cmocka_unit_test(test_graph_parts_diff),
        cmocka_unit_test(test_graph_params_and_references),
        cmocka_unit_test(test_graph_long_reference),
        cmocka_unit_test(test_graph_literal_dollar_brace),
        cmocka_unit_test(test_graph_set_overrides),
        cmocka_unit_test(test_graph_set_errors),
        cmocka_unit_test(test_graph_instances_auto),
        cmocka_unit_test(test_graph_indented_keys),
        cmocka_unit_test(test_graph_pair_one_to_many),
        cmocka_unit_test(test_graph_pair_counts),
        cmocka_unit_test(test_graph_cycle_first_in_file),
        cmocka_unit_test(test_graph_check_sees_links),
        cmocka_unit_test(test_graph_load_string),
        cmocka_unit_test(test_graph_missing_file),
        cmocka_unit_test(test_graph_line_length_limit),
        cmocka_unit_test(test_graph_self_links),
        cmocka_unit_test(test_graph_deep_chain_small_stack),
        cmocka_unit_test(test_graph_many_outputs),
        cmocka_unit_test(test_graph_same_type_random),
        cmocka_unit_test(test_graph_long_chain_backward),
        cmocka_unit_test(test_graph_many_params),
        cmocka_unit_test(test_graph_placement_hints),
        cmocka_unit_test(test_graph_slurm_task_order),
        cmocka_unit_test(test_graph_flowrun_check),
        cmocka_unit_test(test_graph_check_null_port),
        cmocka_unit_test(test_graph_claim_file),
        cmocka_unit_test(test_graph_unwanted),
        cmocka_unit_test(test_graph_cancel_give_up),
        cmocka_unit_test(test_graph_error_one_line),
    };

    tu_watchdog(60);
    return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
