/* SPDX-License-Identifier: MIT */
/*
 * test_node_split.c: the split node in the harness of flow/testing.h. The
 * oracle is the plain concatenation of the inputs in sequence order, cut
 * every `chunk` items.
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
#include "testutil.h"

extern const flow_node_desc_t flow_node_split;

/*
 * Pull every chunk of "out" and check it against `want[0..n)` cut every
 * `chunk` items, with sequence numbers 0, 1, 2, ...
 */
static void
check_chunks(flow_harness_t *h, const int64_t *want, size_t n, size_t chunk)
{
    size_t done = 0;
    uint64_t seq = 0;
    flow_msg_t *msg = NULL;

    while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
        size_t count = flow_msg_count(msg);
        size_t expect = n - done < chunk ? n - done : chunk;

        assert_int_equal(flow_msg_type(msg), FLOW_INT64);
        assert_int_equal(flow_msg_seq(msg), seq++);
        assert_int_equal(count, expect);
        assert_memory_equal(flow_msg_i64(msg), want + done,
                            count * sizeof(int64_t));
        done += count;
        flow_msg_destroy(&msg);
    }
    assert_int_equal(done, n);
    assert_int_equal(flow_harness_pull(h, "out", &msg, NULL), FLOW_EOF);
}

static void
test_node_split_rechunks_in_order(void **state)
{
    static const size_t sizes[] = { 2, 5, 1, 0, 4, 3, 7 };
    enum { NMSG = sizeof(sizes) / sizeof(sizes[0]) };
    const char *params[] = { "chunk=3" };
    int64_t want[64], *msgs[NMSG];
    size_t total = 0;
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_split, params, 1, &diag);

    (void)state;
    assert_non_null(h);
    /* Message k holds the next sizes[k] numbers of a known stream. */
    for (size_t k = 0; k < NMSG; k++) {
        msgs[k] = want + total;
        for (size_t i = 0; i < sizes[k]; i++, total++)
            want[total] = (int64_t)(total * total) - 17;
    }
    /* Push them out of order: split must restore sequence order. */
    for (size_t k = NMSG; k-- > 0;)
        assert_int_equal(
            flow_harness_push_i64s(h, "in", msgs[k], sizes[k], (uint64_t)k), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    check_chunks(h, want, total, 3);
    flow_harness_destroy(&h);
}

/*
 * A gap at the end (message 2 never came, 3 and 4 did): ended by itself,
 * the items of 0, 1, 3, 4 are chunked as they came, with a warning; cut short
 * by a stop (sources of several instances stop at different points), only the
 * items before the gap, those of 0 and 1, so that the chunks are a prefix of
 * the whole stream's. They went on with the items after the gap, numbered as if
 * none were missing: no ordered collector downstream could see the hole.
 */
static void
test_node_split_stop_keeps_a_prefix(void **state)
{
    static const uint64_t seqs[] = { 4, 0, 3, 1 }; /* 2 never comes */
    const char *params[] = { "chunk=3" };
    /* Message k holds the numbers 10k .. 10k + 3. */
    static const int64_t whole[] = { 0,  1,  2,  3,  10, 11, 12, 13,
                                     30, 31, 32, 33, 40, 41, 42, 43 };
    (void)state;
    for (int cut = 0; cut < 2; cut++) {
        flow_diag_t diag;
        flow_harness_t *h =
            flow_harness_new(&flow_node_split, params, 1, &diag);
        char *err;
        int rc;

        assert_non_null(h);
        for (size_t i = 0; i < 4; i++) {
            int64_t v[4];
            for (int j = 0; j < 4; j++)
                v[j] = (int64_t)seqs[i] * 10 + j;
            assert_int_equal(flow_harness_push_i64s(h, "in", v, 4, seqs[i]), 0);
        }
        assert_int_equal(cut ? flow_harness_close_cut(h, "in")
                             : flow_harness_close(h, "in"),
                         0);
        err = tu_harness_run_stderr(h, &rc);
        assert_int_equal(rc, 0);
        if (cut)
            assert_non_null(strstr(err, "info: the run was stopped before "
                                        "message 2 came: the 2 messages "
                                        "after it that came are not passed "
                                        "on"));
        else /* a node upstream sent nothing for input 2: said, as collect
              * order=input says it (it went by unsaid) */
            assert_non_null(strstr(err, "warning: 1 messages never came (the "
                                        "first: number 2)"));
        free(err);
        check_chunks(h, whole, cut ? 8 : 16, 3);
        flow_harness_destroy(&h);
    }
}

static void
test_node_split_uses_batch_by_default(void **state)
{
    int64_t want[10];
    flow_harness_t *h = flow_harness_new(&flow_node_split, NULL, 0, NULL);

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_set_batch(h, "out", 4), 0);
    for (size_t i = 0; i < 10; i++)
        want[i] = (int64_t)i;
    assert_int_equal(flow_harness_push_i64s(h, "in", want, 10, FLOW_SEQ_NONE),
                     0);
    flow_harness_close(h, "in");
    assert_int_equal(flow_harness_run(h), 0);
    check_chunks(h, want, 10, 4);
    assert_int_equal(flow_harness_set_batch(h, "out", 8), FLOW_EUSAGE);
    flow_harness_destroy(&h);
}

static void
test_node_split_keeps_words(void **state)
{
    const char *w1[] = { "a", "bb", "ccc" };
    const char *w2[] = { "dddd", "e" };
    const char *want[] = { "a", "bb", "ccc", "dddd", "e" };
    const char *params[] = { "chunk=2" };
    flow_harness_t *h = flow_harness_new(&flow_node_split, params, 1, NULL);
    char **got;
    size_t n;

    (void)state;
    assert_non_null(h);
    flow_harness_push_words(h, "in", w1, 3, 0);
    flow_harness_push_words(h, "in", w2, 2, 1);
    flow_harness_close(h, "in");
    assert_int_equal(flow_harness_run(h), 0);
    assert_int_equal(flow_harness_pending(h, "out"), 3);
    got = flow_harness_pull_words(h, "out", &n);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
    free(got);
    flow_harness_destroy(&h);
}

static void
test_node_split_fails_on_mixed_types(void **state)
{
    const int64_t v[] = { 1, 2, 3 };
    const char *w[] = { "x" };
    flow_harness_t *h = flow_harness_new(&flow_node_split, NULL, 0, NULL);

    (void)state;
    flow_harness_push_i64s(h, "in", v, 3, FLOW_SEQ_NONE);
    flow_harness_push_words(h, "in", w, 1, FLOW_SEQ_NONE);
    assert_true(flow_harness_run(h) < 0);
    assert_true(flow_harness_done(h));
    assert_non_null(flow_harness_error(h));
    assert_non_null(strstr(flow_harness_error(h), "mixed item types"));
    flow_harness_destroy(&h);
}

static void
test_node_split_checks_params(void **state)
{
    const char *neg[] = { "chunk=-1" };
    const char *word[] = { "chunk=many" };
    const char *twice[] = { "chunk=1", "chunk=2" };
    flow_diag_t diag;

    (void)state;
    assert_null(flow_harness_new(&flow_node_split, neg, 1, &diag));
    assert_int_equal(diag.code, FLOW_EPARAM);
    assert_non_null(strstr(diag.msg, "out of range"));
    assert_null(flow_harness_new(&flow_node_split, word, 1, &diag));
    assert_non_null(strstr(diag.msg, "not an integer"));
    assert_null(flow_harness_new(&flow_node_split, twice, 2, &diag));
    assert_non_null(strstr(diag.msg, "given twice"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_split_rechunks_in_order),
        cmocka_unit_test(test_node_split_stop_keeps_a_prefix),
        cmocka_unit_test(test_node_split_uses_batch_by_default),
        cmocka_unit_test(test_node_split_keeps_words),
        cmocka_unit_test(test_node_split_fails_on_mixed_types),
        cmocka_unit_test(test_node_split_checks_params),
    };

    return cmocka_run_group_tests_name("node_split", tests, NULL, NULL);
}
