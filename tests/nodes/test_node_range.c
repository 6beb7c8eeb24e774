/* SPDX-License-Identifier: MIT */
/*
 * test_node_range.c: the range source (a run-mode node) in the harness of
 * flow/testing.h, as one instance of several. The oracle recomputes which
 * chunks of the whole range belong to the instance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "flow/testing.h"

extern const flow_node_desc_t flow_node_range;

/* Run instance `inst` of `ninst` and check its chunks; return its items. */
static int64_t
check_instance(unsigned inst, unsigned ninst, int64_t start, int64_t count,
               size_t batch)
{
    char p_start[32], p_count[32];
    const char *params[2] = { p_start, p_count };
    flow_harness_t *h;
    flow_msg_t *msg = NULL;
    uint64_t chunk = inst;
    int64_t total = 0;

    snprintf(p_start, sizeof(p_start), "start=%lld", (long long)start);
    snprintf(p_count, sizeof(p_count), "count=%lld", (long long)count);
    h = flow_harness_new(&flow_node_range, params, 2, NULL);
    assert_non_null(h);
    assert_int_equal(flow_harness_set_instance(h, inst, ninst), 0);
    assert_int_equal(flow_harness_set_batch(h, "out", batch), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
        /* Chunk k holds start + k*batch ... and has sequence number k. */
        const int64_t *v = flow_msg_i64(msg);
        assert_int_equal(flow_msg_seq(msg), chunk);
        for (size_t i = 0; i < flow_msg_count(msg); i++)
            assert_int_equal(v[i], start + (int64_t)(chunk * batch + i));
        total += (int64_t)flow_msg_count(msg);
        chunk += ninst;
        flow_msg_destroy(&msg);
    }
    /* Every chunk of this instance came, and none of the others'. */
    assert_true(chunk * batch >= (uint64_t)count);
    flow_harness_destroy(&h);
    return total;
}

static void
test_node_range_instances_split_the_range(void **state)
{
    (void)state;
    assert_int_equal(check_instance(0, 1, 5, 10, 4), 10);
    assert_int_equal(check_instance(0, 3, -100, 1000, 7) +
                         check_instance(1, 3, -100, 1000, 7) +
                         check_instance(2, 3, -100, 1000, 7),
                     1000);
    assert_int_equal(check_instance(0, 1, 0, 0, 16), 0);
    /* Batches above 256 are written in place in messages, smaller ones
     * sent with flow_node_send_i64s: both ways, the same chunks. */
    assert_int_equal(check_instance(0, 2, 3, 2000, 300) +
                         check_instance(1, 2, 3, 2000, 300),
                     2000);
    assert_int_equal(check_instance(0, 1, 0, 1000, 256), 1000);
}

static void
test_node_range_rejects_bad_instance(void **state)
{
    flow_harness_t *h = flow_harness_new(&flow_node_range, NULL, 0, NULL);

    (void)state;
    assert_int_equal(flow_harness_set_instance(h, 2, 2), FLOW_EUSAGE);
    assert_int_equal(flow_harness_set_batch(h, "in", 2), FLOW_EPORT);
    flow_harness_destroy(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_range_instances_split_the_range),
        cmocka_unit_test(test_node_range_rejects_bad_instance),
    };

    return cmocka_run_group_tests_name("node_range", tests, NULL, NULL);
}
