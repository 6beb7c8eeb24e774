/* SPDX-License-Identifier: MIT */
/*
 * test_cxx_static.c: a node written in C++ (tests/fixtures/nodes/cxxscale.cpp)
 * compiled with -DFLOW_NODE_STATIC and linked into this C test: its
 * descriptor flow_node_cxxscale has C linkage (FLOW_NODE's extern "C"), and
 * the harness of flow/testing.h drives it. The oracle: each item times the
 * factor, computed here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "flow/testing.h"

extern const flow_node_desc_t flow_node_cxxscale;

static void
test_cxx_static_scales(void **state)
{
    const char *params[] = { "factor=-3" };
    int64_t in[5] = { 0, 1, -2, 1000000007, INT64_C(-4000000000) };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_cxxscale, params, 1, &diag);
    int64_t *out;
    size_t n;

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", in, 3, FLOW_SEQ_NONE), 0);
    assert_int_equal(flow_harness_push_i64s(h, "in", in + 3, 2, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));
    out = flow_harness_pull_i64s(h, "out", &n);
    assert_non_null(out);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        assert_true(out[i] == in[i] * -3);
    free(out);
    flow_harness_destroy(&h);

    /* Its parameter table is checked as a graph's: out of range. */
    const char *bad[] = { "factor=1001" };
    assert_null(flow_harness_new(&flow_node_cxxscale, bad, 1, &diag));
    assert_int_equal(diag.code, FLOW_EPARAM);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cxx_static_scales),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
