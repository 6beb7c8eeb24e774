/* SPDX-License-Identifier: MIT */
/*
 * test_describe.c: what `flowrun --describe TYPE` prints
 * (flow_node_desc_print), for descriptors written here: the summary, the
 * instance limit, every port with its direction and type, every parameter
 * with its type, default or "required", range or choices and doc, and an
 * example section where parameters with a default are commented out. The
 * expected text is written out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "flow/graph.h"
#include "flow/node.h"

struct probe {
    int64_t count;
    double rate;
    bool fast;
    char *path;
    int mode;
    char *tag;
};

static const flow_param_t probe_params[] = {
    FLOW_PARAM_INT("count", struct probe, count, "10", -5, 100, "how many"),
    FLOW_PARAM_DOUBLE("rate", struct probe, rate, "0.5", 0.25, 2e9,
                      "per second"),
    FLOW_PARAM_BOOL("fast", struct probe, fast, "false", "go fast"),
    FLOW_PARAM_STRING("path", struct probe, path, NULL, NULL),
    FLOW_PARAM_CHOICE("mode", struct probe, mode, "a", "a|bb", "the mode"),
    FLOW_PARAM_STRING("tag", struct probe, tag, "", "a tag"),
    FLOW_PARAM_END
};

static const flow_port_t probe_ports[] = {
    FLOW_PORT_IN("in", FLOW_INT64, "numbers"),
    FLOW_PORT_OUT("out", FLOW_SAME, NULL),
    FLOW_PORT_PAIR("peer", FLOW_WORDS, "the peer"), FLOW_PORT_END
};

static int
no_run(flow_node_t *node, void *state)
{
    (void)node;
    (void)state;
    return 0;
}

/* What `d` prints (malloc'ed). */
static char *
described(const flow_node_desc_t *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    flow_node_desc_print(d, f);
    assert_int_equal(fclose(f), 0);
    return text;
}

/* Every kind of port and parameter; at most one instance. */
static void
test_describe_every_kind(void **unused)
{
    const flow_node_desc_t d = {
        FLOW_NODE_V1,
        .name = "probe",
        .summary = "Test the describer",
        .state_size = sizeof(struct probe),
        .params = probe_params,
        .ports = probe_ports,
        .max_instances = 1,
        .run = no_run,
    };
    char *text = described(&d);

    (void)unused;
    assert_string_equal(text,
                        "probe: Test the describer\n"
                        "  at most 1 instance\n"
                        "\n"
                        "Ports:\n"
                        "  in           in   int64  numbers\n"
                        "  out          out  same   \n"
                        "  peer         pair words  the peer\n"
                        "\n"
                        "Parameters:\n"
                        "  count        int    default '10', range [-5, 100]\n"
                        "      how many\n"
                        "  rate         double default '0.5', range [0.25, "
                        "2e+09]\n"
                        "      per second\n"
                        "  fast         bool   default 'false'\n"
                        "      go fast\n"
                        "  path         string required\n"
                        "      \n"
                        "  mode         choice default 'a', one of a|bb\n"
                        "      the mode\n"
                        "  tag          string default ''\n"
                        "      a tag\n"
                        "\n"
                        "Example section:\n"
                        "  [my_probe]\n"
                        "  type = probe\n"
                        "  ; count = 10\n"
                        "  ; rate = 0.5\n"
                        "  ; fast = false\n"
                        "  path =\n"
                        "  ; mode = a\n"
                        "  ; tag =\n");
    free(text);
}

/* No ports, no parameters (an empty table as NULL): "(none)" for each;
 * an instance limit above 1 is plural, none (0) is not shown. */
static void
test_describe_empty(void **unused)
{
    static const flow_param_t no_params[] = { FLOW_PARAM_END };
    static const flow_port_t no_ports[] = { FLOW_PORT_END };
    flow_node_desc_t d = {
        FLOW_NODE_V1,       .name = "bare", .summary = "Nothing at all",
        .max_instances = 3, .run = no_run,
    };
    static const char *const head = "bare: Nothing at all\n";
    static const char *const tail = "\n"
                                    "Ports:\n"
                                    "  (none)\n"
                                    "\n"
                                    "Parameters:\n"
                                    "  (none)\n"
                                    "\n"
                                    "Example section:\n"
                                    "  [my_bare]\n"
                                    "  type = bare\n";
    char expect[512], *text;

    (void)unused;
    for (int i = 0; i < 3; i++) {
        if (i == 1) {
            d.params = no_params;
            d.ports = no_ports;
        }
        if (i == 2)
            d.max_instances = 0;
        snprintf(expect, sizeof(expect), "%s%s%s", head,
                 i < 2 ? "  at most 3 instances\n" : "", tail);
        text = described(&d);
        assert_string_equal(text, expect);
        free(text);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_every_kind),
        cmocka_unit_test(test_describe_empty),
    };

    return cmocka_run_group_tests_name("describe", tests, NULL, NULL);
}
