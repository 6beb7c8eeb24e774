/* SPDX-License-Identifier: MIT */
/*
 * test_node_sieve.c: one sieve segment in the harness of flow/testing.h,
 * the test playing its coordinator: given a range and its sieving primes,
 * it sends back the primes of the range in order and their count (the
 * oracle: trial division); a message outside the protocol fails it, saying
 * what came.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/testing.h"
#include "testutil.h"

extern const flow_node_desc_t flow_node_sieve;

/* Message kinds of the protocol (nodes/sieve.c). */
enum { MSG_RANGE = 1, MSG_PRIMES = 2, MSG_COUNT = 3, MSG_GO = 4 };

/* A segment with the coordinator's `n` messages queued (`lens[i]` items
 * of `msgs[i]`), then the end signal; run. Returns the harness. */
static flow_harness_t *
segment(const int64_t *const *msgs, const size_t *lens, size_t n)
{
    flow_harness_t *h = flow_harness_new(&flow_node_sieve, NULL, 0, NULL);

    assert_non_null(h);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            flow_harness_push_i64s(h, "coord", msgs[i], lens[i], FLOW_SEQ_NONE),
            0);
    assert_int_equal(flow_harness_close(h, "coord"), 0);
    (void)flow_harness_run(h);
    assert_true(flow_harness_done(h));
    return h;
}

/* [lo, hi) with every prime listed, at several places: the primes in
 * order, each once, then their count. */
static void
test_node_sieve_lists_its_range(void **state)
{
    static const int64_t bounds[][2] = {
        { 100, 200 }, { 11, 1000 }, { 9000, 10007 }, { 999983, 1000100 }
    };

    (void)state;
    for (size_t b = 0; b < sizeof(bounds) / sizeof(*bounds); b++) {
        int64_t lo = bounds[b][0], hi = bounds[b][1];
        int64_t range[4] = { MSG_RANGE, lo, hi, hi - 1 }, sieving[200];
        const int64_t *msgs[2] = { range, sieving };
        size_t lens[2] = { 4, 1 };
        int64_t next = lo, count = -1;
        flow_msg_t *msg = NULL;
        flow_harness_t *h;

        sieving[0] = MSG_PRIMES; /* the primes from 11 to sqrt(hi) */
        for (int64_t p = 11; p * p < hi; p++)
            if (tu_is_prime(p))
                sieving[lens[1]++] = p;
        h = segment(msgs, lens, 2);
        assert_null(flow_harness_error(h));
        while (flow_harness_pull(h, "coord", &msg, NULL) == 0) {
            const int64_t *v = flow_msg_i64(msg);
            size_t n = flow_msg_count(msg);
            assert_true(n >= 2);
            assert_int_equal(count, -1); /* nothing after the count */
            if (v[0] == MSG_COUNT) {
                assert_int_equal(n, 2);
                count = v[1];
            } else {
                assert_int_equal(v[0], MSG_PRIMES);
                for (size_t i = 2; i < n; i++) {
                    while (next < v[i])
                        assert_false(tu_is_prime(next++)); /* none skipped */
                    assert_true(tu_is_prime(v[i]));
                    next = v[i] + 1;
                }
            }
            flow_msg_destroy(&msg);
        }
        while (next < hi)
            assert_false(tu_is_prime(next++));
        {
            int64_t expect = 0;
            for (int64_t v = lo; v < hi; v++)
                expect += tu_is_prime(v);
            assert_int_equal(count, expect);
        }
        flow_harness_destroy(&h);
    }
}

/*
 * Ranges one after another, each with its go, the last ended by the end of
 * the stream: each range's primes in order (those up to its report), then
 * its count. A range gets only the sieving primes the earlier ones did not
 * (those from 101 on matter: the smaller ones are built in), and one of
 * them twice; the ones it keeps from before, and those it found itself,
 * still cross off.
 */
static void
test_node_sieve_ranges_one_after_another(void **state)
{
    /* lo, hi, report, and the sieving primes sent: [from, to] */
    static const int64_t ranges[][5] = {
        { 11, 20000, 19999, 11, 141 },       /* r = 141 */
        { 20000, 200000, 199999, 139, 443 }, /* r = 447: 139 again */
        { 200000, 200000, 199999, 0, 0 },    /* empty */
        { 1000000, 1003000, 0, 449, 1001 },  /* counted only */
        { 1003000, 1010000, 1004000, 0, 0 }, /* first 1000 listed */
    };
    enum { N = sizeof(ranges) / sizeof(*ranges) };
    int64_t *msgs[3 * N];
    size_t lens[3 * N], n = 0, k = 0;
    int64_t next = ranges[0][0], count;
    flow_msg_t *msg = NULL;
    flow_harness_t *h;

    (void)state;
    for (size_t i = 0; i < N; i++) {
        int64_t *r = malloc(4 * sizeof(*r)), *p = malloc(200 * sizeof(*p));
        assert_true(r != NULL && p != NULL);
        r[0] = MSG_RANGE, r[1] = ranges[i][0], r[2] = ranges[i][1];
        r[3] = ranges[i][2];
        lens[n] = 4;
        msgs[n++] = r;
        p[0] = MSG_PRIMES;
        lens[n] = 1;
        for (int64_t v = ranges[i][3]; v && v <= ranges[i][4]; v++)
            if (tu_is_prime(v))
                p[lens[n]++] = v;
        msgs[n++] = p;
        if (i + 1 < N) {
            int64_t *go = malloc(sizeof(*go));
            assert_non_null(go);
            go[0] = MSG_GO;
            lens[n] = 1;
            msgs[n++] = go;
        }
    }
    h = segment((const int64_t *const *)msgs, lens, n);
    assert_null(flow_harness_error(h));
    count = 0;
    while (flow_harness_pull(h, "coord", &msg, NULL) == 0) {
        const int64_t *v = flow_msg_i64(msg);
        size_t m = flow_msg_count(msg);
        int64_t lo, hi, report;
        assert_true(k < N);
        lo = ranges[k][0], hi = ranges[k][1], report = ranges[k][2];
        assert_true(m >= 2);
        if (v[0] == MSG_COUNT) {
            int64_t expect = 0;
            assert_int_equal(m, 2);
            for (int64_t x = lo; x < hi; x++)
                expect += tu_is_prime(x);
            while (next <= report && next < hi) /* none left out */
                assert_false(tu_is_prime(next++));
            assert_int_equal(v[1], expect);
            if (++k < N)
                next = ranges[k][0];
        } else {
            assert_int_equal(v[0], MSG_PRIMES);
            for (size_t i = 2; i < m; i++) {
                assert_true(v[i] >= lo && v[i] <= report && v[i] < hi);
                while (next < v[i])
                    assert_false(tu_is_prime(next++)); /* none skipped */
                assert_true(tu_is_prime(v[i]));
                next = v[i] + 1;
                count++;
            }
        }
        flow_msg_destroy(&msg);
    }
    assert_int_equal(k, N); /* a count for every range */
    assert_true(count > 0);
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    flow_harness_destroy(&h);
}

/* What the coordinator must not send: the segment fails, saying what came. */
static void
test_node_sieve_refuses_strange_messages(void **state)
{
    static const int64_t range[] = { MSG_RANGE, 100, 200, 199 },
                         neg[] = { MSG_RANGE, -5, 200, 199 },
                         primes[] = { MSG_PRIMES, 11, 13 }, odd[] = { 99, 1 },
                         short_range[] = { MSG_RANGE, 1 }, go[] = { MSG_GO },
                         go2[] = { MSG_GO, 1 };
    static const struct {
        const int64_t *msgs[2];
        size_t lens[2];
        size_t n;
        const char *error;
    } cases[] = {
        { { odd },
          { 2 },
          1,
          "unexpected message of kind 99 and 2 items on "
          "'coord'" },
        { { primes },
          { 3 },
          1,
          "unexpected message of kind 2 and 3 items on "
          "'coord'" },
        { { range, range },
          { 4, 4 },
          2,
          "unexpected message of kind 1 and 4 "
          "items on 'coord'" },
        { { short_range },
          { 2 },
          1,
          "unexpected message of kind 1 and 2 "
          "items on 'coord'" },
        { { range, odd },
          { 4, 2 },
          2,
          "unexpected message of kind 99 and 2 "
          "items on 'coord'" },
        { { go },
          { 1 },
          1,
          "unexpected message of kind 4 and 1 items on "
          "'coord'" },
        { { range, go2 },
          { 4, 2 },
          2,
          "unexpected message of kind 4 and 2 items on "
          "'coord'" },
        { { neg }, { 4 }, 1, "negative range on 'coord'" },
        { { range }, { 0 }, 1, "malformed message on 'coord'" },
        { { NULL }, { 0 }, 0, "no range received on 'coord'" },
    };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
        flow_harness_t *h = segment(cases[k].msgs, cases[k].lens, cases[k].n);
        const char *err = flow_harness_error(h);
        if (!err || strcmp(err, cases[k].error))
            print_message("case %zu: '%s'\n", k, err ? err : "(none)");
        assert_non_null(err);
        assert_string_equal(err, cases[k].error);
        flow_harness_destroy(&h);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_sieve_lists_its_range),
        cmocka_unit_test(test_node_sieve_ranges_one_after_another),
        cmocka_unit_test(test_node_sieve_refuses_strange_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
