/* SPDX-License-Identifier: MIT */
/*
 * test_node_tee.c: the tee node in the harness of flow/testing.h. The
 * oracle is the input itself: each output must carry every message pushed,
 * item for item, with its sequence number, for each item type.
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

extern const flow_node_desc_t flow_node_tee;

enum { NMSG = 5 };

/* Message k of the int64 stream: k * 3 + 1 items, item i = k * 1000 - i. */
static size_t
i64_count(size_t k)
{
    return k * 3 + (k != 2); /* message 2 is empty */
}

/* Pull one message of `port` and check it is message k of `type`. */
static void
check_copy(flow_harness_t *h, const char *port, flow_type_t type, size_t k)
{
    flow_msg_t *msg = NULL;
    char want[64];

    assert_int_equal(flow_harness_pull(h, port, &msg, NULL), 0);
    assert_int_equal(flow_msg_type(msg), type);
    assert_int_equal(flow_msg_seq(msg), 100 + k);
    if (type == FLOW_INT64) {
        int64_t *items = flow_msg_i64(msg);
        assert_int_equal(flow_msg_count(msg), i64_count(k));
        for (size_t i = 0; i < i64_count(k); i++)
            assert_int_equal(items[i], (int64_t)(k * 1000) - (int64_t)i);
    } else if (type == FLOW_WORDS) {
        assert_int_equal(flow_msg_count(msg), k);
        for (size_t i = 0; i < k; i++) {
            size_t len;
            const char *w = flow_msg_word(msg, i, &len);
            snprintf(want, sizeof(want), "w%zu-%zu", k, i);
            assert_string_equal(w, want);
            assert_int_equal(len, strlen(want));
        }
    } else {
        size_t len;
        const char *b = flow_msg_bytes(msg, &len);
        snprintf(want, sizeof(want), "bytes of %zu", k);
        assert_int_equal(len, k ? strlen(want) + 1 : 0);
        if (k)
            assert_memory_equal(b, want, len); /* with the NUL */
    }
    flow_msg_destroy(&msg);
}

/* Push NMSG messages of `type`, end the input, and find each message on
 * both outputs, then both outputs ended. */
static void
tee_stream(flow_type_t type)
{
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_tee, NULL, 0, &diag);
    flow_msg_t *msg = NULL;

    assert_non_null(h);
    for (size_t k = 0; k < NMSG; k++) {
        char text[NMSG][16], bytes[64];
        const char *words[NMSG];
        int64_t items[32];
        int rc;
        if (type == FLOW_INT64) {
            for (size_t i = 0; i < i64_count(k); i++)
                items[i] = (int64_t)(k * 1000) - (int64_t)i;
            rc = flow_harness_push_i64s(h, "in", items, i64_count(k), 100 + k);
        } else if (type == FLOW_WORDS) {
            for (size_t i = 0; i < k; i++) {
                snprintf(text[i], sizeof(text[i]), "w%zu-%zu", k, i);
                words[i] = text[i];
            }
            rc = flow_harness_push_words(h, "in", words, k, 100 + k);
        } else {
            snprintf(bytes, sizeof(bytes), "bytes of %zu", k);
            rc = flow_harness_push_bytes(h, "in", bytes,
                                         k ? strlen(bytes) + 1 : 0, 100 + k);
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));
    for (size_t k = 0; k < NMSG; k++) {
        check_copy(h, "a", type, k);
        check_copy(h, "b", type, k);
    }
    assert_int_equal(flow_harness_pull(h, "a", &msg, NULL), FLOW_EOF);
    assert_int_equal(flow_harness_pull(h, "b", &msg, NULL), FLOW_EOF);
    flow_harness_destroy(&h);
}

static void
test_node_tee_copies_int64(void **state)
{
    (void)state;
    tee_stream(FLOW_INT64);
}

static void
test_node_tee_copies_words(void **state)
{
    (void)state;
    tee_stream(FLOW_WORDS);
}

static void
test_node_tee_copies_bytes(void **state)
{
    (void)state;
    tee_stream(FLOW_BYTES);
}

/* The copies are the tee's own: changing one output's message in place
 * leaves the other output's as it came. */
static void
test_node_tee_copies_apart(void **state)
{
    static const int64_t items[] = { 7, 8, 9 };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_tee, NULL, 0, &diag);
    flow_msg_t *a = NULL, *b = NULL;

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", items, 3, 0), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_int_equal(flow_harness_pull(h, "a", &a, NULL), 0);
    assert_int_equal(flow_harness_pull(h, "b", &b, NULL), 0);
    assert_ptr_not_equal(a, b);
    flow_msg_i64(a)[1] = -1;
    assert_memory_equal(flow_msg_i64(b), items, sizeof(items));
    flow_msg_destroy(&a);
    flow_msg_destroy(&b);
    flow_harness_destroy(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_tee_copies_int64),
        cmocka_unit_test(test_node_tee_copies_words),
        cmocka_unit_test(test_node_tee_copies_bytes),
        cmocka_unit_test(test_node_tee_copies_apart),
    };

    return cmocka_run_group_tests_name("node_tee", tests, NULL, NULL);
}
