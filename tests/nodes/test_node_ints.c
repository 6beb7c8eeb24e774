/* SPDX-License-Identifier: MIT */
/*
 * test_node_ints.c: the ints node in the harness of flow/testing.h. The
 * oracle: the values are made here and written with printf's PRId64; the
 * node must read back exactly those.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow/testing.h"
#include "testutil.h"

extern const flow_node_desc_t flow_node_ints;

/*
 * Random values of every size and sign, written with PRId64, some with
 * spaces, tabs or a carriage return around them, with blank words between:
 * one output message per input message, with its sequence number, holding
 * exactly the values (no item for a blank word).
 */
static void
test_node_ints_reads_values(void **unused)
{
    enum { MSGS = 30, WORDS = 40 };
    static char text[WORDS][48];
    static int64_t want[MSGS][WORDS];
    size_t nwant[MSGS] = { 0 };
    const char *words[WORDS];
    static const char *const pad[] = { "", " ", "\t", "  ", "\r" };
    uint64_t rng = 7;
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_ints, NULL, 0, &diag);

    (void)unused;
    assert_non_null(h);
    for (size_t m = 0; m < MSGS; m++) {
        for (size_t i = 0; i < WORDS; i++) {
            uint64_t r = tu_splitmix64(&rng);
            int64_t v = (int64_t)tu_splitmix64(&rng) >> (r % 64);
            if (r % 11 == 0) { /* a blank word: no item */
                snprintf(text[i], sizeof(text[i]), "%s", pad[r % 5]);
            } else {
                snprintf(text[i], sizeof(text[i]), "%s%" PRId64 "%s",
                         pad[(r >> 8) % 5], v, pad[(r >> 16) % 5]);
                want[m][nwant[m]++] = v;
            }
            words[i] = text[i];
        }
        assert_int_equal(flow_harness_push_words(h, "in", words, WORDS, m), 0);
    }
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));
    assert_int_equal(flow_harness_pending(h, "out"), MSGS);
    for (size_t m = 0; m < MSGS; m++) {
        flow_msg_t *out = NULL;
        assert_int_equal(flow_harness_pull(h, "out", &out, NULL), 0);
        assert_int_equal(flow_msg_type(out), FLOW_INT64);
        assert_int_equal(flow_msg_seq(out), m);
        assert_int_equal(flow_msg_count(out), nwant[m]);
        if (nwant[m])
            assert_memory_equal(flow_msg_i64(out), want[m],
                                nwant[m] * sizeof(int64_t));
        flow_msg_destroy(&out);
    }
    flow_harness_destroy(&h);
}

/* The forms an integer parameter takes, and the ends of int64. */
static void
test_node_ints_forms(void **unused)
{
    const char *words[] = {
        "1e9", "2.5e6", "-0", "-9223372036854775808", "9223372036854775807",
        "007"
    };
    static const int64_t want[] = { 1000000000, 2500000,   0,
                                    INT64_MIN,  INT64_MAX, 7 };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_ints, NULL, 0, &diag);
    int64_t *got;
    size_t n;

    (void)unused;
    assert_non_null(h);
    assert_int_equal(flow_harness_push_words(h, "in", words, 6, 0), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    got = flow_harness_pull_i64s(h, "out", &n);
    assert_int_equal(n, 6);
    assert_memory_equal(got, want, sizeof(want));
    free(got);
    flow_harness_destroy(&h);
}

/* A word that is not an integer fails the node, naming the message and
 * the item (from 1) and quoting the word (control bytes escaped, a long
 * one cut), with the way out; one beyond int64 is said to be. */
static void
test_node_ints_refuses(void **unused)
{
    static const struct {
        const char *word, *why;
    } bad[] = {
        { "x\001y", "message 5, item 2: 'x\\x01y' is not an integer" },
        { "12abc", "message 5, item 2: '12abc' is not an integer" },
        { "1.5", "message 5, item 2: '1.5' is not an integer" },
        { "9223372036854775808",
          "message 5, item 2: '9223372036854775808' is beyond int64" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "message 5, item 2: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... "
          "is not an integer" },
    };

    (void)unused;
    for (size_t b = 0; b < sizeof(bad) / sizeof(*bad); b++) {
        const char *words[] = { "1", bad[b].word, "3" };
        flow_diag_t diag;
        flow_harness_t *h = flow_harness_new(&flow_node_ints, NULL, 0, &diag);
        int rc;
        assert_non_null(h);
        assert_int_equal(flow_harness_push_words(h, "in", words, 3, 5), 0);
        assert_int_equal(flow_harness_close(h, "in"), 0);
        free(tu_harness_run_stderr(h, &rc));
        assert_true(rc < 0);
        if (!flow_harness_error(h) ||
            strncmp(flow_harness_error(h), bad[b].why, strlen(bad[b].why)) ||
            !strstr(flow_harness_error(h), "(invalid = skip drops such words)"))
            fail_msg("case %zu: error '%s', expected '%s'", b,
                     flow_harness_error(h), bad[b].why);
        assert_int_equal(flow_harness_pending(h, "out"), 0);
        flow_harness_destroy(&h);
    }
}

/* invalid = skip: the integers go on, the others are counted and the first
 * quoted at the end. */
static void
test_node_ints_skips(void **unused)
{
    const char *params[] = { "invalid=skip" };
    const char *m0[] = { "1", "2" }, *m1[] = { "x", "3", "4y" };
    static const int64_t want[] = { 1, 2, 3 };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_ints, params, 1, &diag);
    int64_t *got;
    size_t n;
    char *err;
    int rc;

    (void)unused;
    assert_non_null(h);
    assert_int_equal(flow_harness_push_words(h, "in", m0, 2, 0), 0);
    assert_int_equal(flow_harness_push_words(h, "in", m1, 3, 1), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    err = tu_harness_run_stderr(h, &rc);
    assert_int_equal(rc, 0);
    assert_null(flow_harness_error(h));
    if (!strstr(err, "skipped 2 words that were not integers (the first: "
                     "message 1, item 1: 'x')"))
        fail_msg("no warning of the skipped words in:\n%s", err);
    free(err);
    got = flow_harness_pull_i64s(h, "out", &n);
    assert_int_equal(n, 3);
    assert_memory_equal(got, want, sizeof(want));
    free(got);
    flow_harness_destroy(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_ints_reads_values),
        cmocka_unit_test(test_node_ints_forms),
        cmocka_unit_test(test_node_ints_refuses),
        cmocka_unit_test(test_node_ints_skips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
