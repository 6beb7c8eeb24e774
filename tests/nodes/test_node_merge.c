/* SPDX-License-Identifier: MIT */
/*
 * test_node_merge.c: the merge node in the harness of flow/testing.h. The
 * oracle is the two input streams: the output holds each message of both,
 * once, in each input's order, and ends only when both inputs have ended.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/testing.h"

extern const flow_node_desc_t flow_node_merge;

static void
test_node_merge_both_inputs(void **state)
{
    enum { NA = 7, NB = 4 };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_merge, NULL, 0, &diag);
    flow_msg_t *msg = NULL;
    size_t next[2] = { 0, 0 };

    (void)state;
    assert_non_null(h);
    /* Message k of 'a' holds [k, -k]; of 'b' holds [1000 + k]. */
    for (int64_t k = 0; k < NA; k++) {
        int64_t v[2] = { k, -k };
        assert_int_equal(flow_harness_push_i64s(h, "a", v, 2, (uint64_t)k), 0);
        if (k < NB) {
            int64_t w = 1000 + k;
            assert_int_equal(
                flow_harness_push_i64s(h, "b", &w, 1, (uint64_t)(100 + k)), 0);
        }
    }
    /* One input ended: the output stays open. */
    assert_int_equal(flow_harness_close(h, "a"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_false(flow_harness_done(h));
    while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
        int64_t *v = flow_msg_i64(msg);
        int from_b = flow_msg_count(msg) == 1;
        size_t k = next[from_b]++;
        if (from_b) {
            assert_int_equal(v[0], 1000 + (int64_t)k);
            assert_int_equal(flow_msg_seq(msg), 100 + k);
        } else {
            assert_int_equal(flow_msg_count(msg), 2);
            assert_int_equal(v[0], (int64_t)k);
            assert_int_equal(v[1], -(int64_t)k);
            assert_int_equal(flow_msg_seq(msg), k);
        }
        flow_msg_destroy(&msg);
    }
    assert_int_equal(next[0], NA);
    assert_int_equal(next[1], NB);
    assert_int_equal(flow_harness_pull(h, "out", &msg, NULL), FLOW_ENOENT);
    /* Both ended: so is the output. */
    assert_int_equal(flow_harness_close(h, "b"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));
    assert_int_equal(flow_harness_pull(h, "out", &msg, NULL), FLOW_EOF);
    flow_harness_destroy(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_merge_both_inputs),
    };

    return cmocka_run_group_tests_name("node_merge", tests, NULL, NULL);
}
