/* SPDX-License-Identifier: MIT */
/*
 * test_node_primes.c: the sieve's coordinator in the harness of
 * flow/testing.h, the test playing its two segments (ranges 11-50 and
 * 50-100). What a segment sends is checked: a prime twice, out of order or
 * out of its range, a count that is not the number of primes it sent, no
 * count, a malformed message: each fails the coordinator, naming the
 * segment. The oracle is trial division.
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

extern const flow_node_desc_t flow_node_primes;

/* Message kinds of the protocol (nodes/sieve.c). */
enum { MSG_RANGE = 1, MSG_PRIMES = 2, MSG_COUNT = 3 };

/* The two segments' ranges: [lo[i], lo[i + 1]). */
static const int64_t lo[] = { 11, 50, 100 };

/* The primes of [from, to) in `out` (room for 64); returns how many. */
static size_t
primes_in(int64_t from, int64_t to, int64_t *out)
{
    size_t n = 0;

    for (int64_t v = from; v < to; v++)
        if (tu_is_prime(v))
            out[n++] = v;
    return n;
}

/* A coordinator of the two segments, in `mode` ("output=list" or
 * "output=count"). */
static flow_harness_t *
coordinator(const char *mode)
{
    const char *params[] = { "ranges=11-50,50-100", mode };
    flow_harness_t *h = flow_harness_new(&flow_node_primes, params, 2, NULL);

    assert_non_null(h);
    assert_int_equal(flow_harness_set_channels(h, "seg", 2), 0);
    return h;
}

/* Queue, from segment `seg`, the message of `n` items at `v`. */
static void
reply(flow_harness_t *h, unsigned seg, const int64_t *v, size_t n)
{
    flow_msg_t *msg = flow_msg_new(FLOW_INT64, n);

    assert_non_null(msg);
    assert_int_equal(flow_msg_resize(msg, n), 0);
    memcpy(flow_msg_i64(msg), v, n * sizeof(*v));
    assert_int_equal(flow_harness_push_to(h, "seg", seg, &msg), 0);
}

/* Queue segment `seg`'s honest answer: its primes in one message (with
 * `dup` repeated after itself when not 0, `extra` appended when not 0), and
 * its count plus `count_off` unless `no_count`. */
static void
answer(flow_harness_t *h, unsigned seg, int64_t dup, int64_t extra,
       int64_t count_off, bool no_count)
{
    int64_t v[80] = { MSG_PRIMES, lo[seg + 1] }, p[64];
    size_t np = primes_in(lo[seg], lo[seg + 1], p), n = 2;

    for (size_t i = 0; i < np; i++) {
        v[n++] = p[i];
        if (p[i] == dup)
            v[n++] = p[i];
    }
    if (extra)
        v[n++] = extra;
    reply(h, seg, v, n);
    if (!no_count) {
        int64_t c[2] = { MSG_COUNT, (int64_t)np + count_off };
        reply(h, seg, c, 2);
    }
}

/* Run the coordinator with every answer queued; its error, or NULL. */
static const char *
run(flow_harness_t *h)
{
    assert_int_equal(flow_harness_close(h, "seg"), 0);
    (void)flow_harness_run(h);
    assert_true(flow_harness_done(h));
    return flow_harness_error(h);
}

/* Honest segments: each got its range (and list everything: report = hi -
 * 1), and the primes out are those <= 99 in order, the seeds first. */
static void
test_node_primes_honest_segments(void **state)
{
    flow_harness_t *h = coordinator("output=list");
    int64_t expect[64];
    size_t nexpect = primes_in(2, 100, expect), got = 0;
    flow_msg_t *msg = NULL;
    unsigned ch;
    bool ranged[2] = { false, false };

    (void)state;
    answer(h, 0, 0, 0, 0, false);
    answer(h, 1, 0, 0, 0, false);
    assert_null(run(h));
    while (flow_harness_pull(h, "seg", &msg, &ch) == 0) {
        const int64_t *v = flow_msg_i64(msg);
        assert_true(ch < 2);
        if (v[0] == MSG_RANGE) {
            assert_int_equal(flow_msg_count(msg), 4);
            assert_int_equal(v[1], lo[ch]);
            assert_int_equal(v[2], lo[ch + 1]);
            ranged[ch] = true;
        }
        flow_msg_destroy(&msg);
    }
    assert_true(ranged[0] && ranged[1]);
    while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
        const int64_t *v = flow_msg_i64(msg);
        for (size_t i = 0; i < flow_msg_count(msg); i++) {
            assert_true(got < nexpect);
            assert_int_equal(v[i], expect[got++]);
        }
        flow_msg_destroy(&msg);
    }
    assert_int_equal(got, nexpect);
    flow_harness_destroy(&h);

    /* Count mode: the seeds and the two counts. */
    h = coordinator("output=count");
    answer(h, 0, 0, 0, 0, false);
    answer(h, 1, 0, 0, 0, false);
    assert_null(run(h));
    assert_int_equal(flow_harness_pull(h, "out", &msg, NULL), 0);
    assert_int_equal(flow_msg_count(msg), 1);
    assert_int_equal(flow_msg_i64(msg)[0], (int64_t)nexpect);
    flow_msg_destroy(&msg);
    flow_harness_destroy(&h);
}

/* A segment that lies: the coordinator fails, naming it and what it sent. */
static void
test_node_primes_lying_segments(void **state)
{
    static const struct {
        unsigned seg;
        int64_t dup, extra, count_off;
        bool no_count;
        const char *error;
    } cases[] = {
        { 0, 13, 0, 0, false,
          "segment 0 sent 13 out of order or out of its "
          "range" },
        { 1, 0, 101, 0, false,
          "segment 1 sent 101 out of order or out of "
          "its range" },
        { 0, 0, 7, 0, false,
          "segment 0 sent 7 out of order or out of its "
          "range" },
        { 1, 0, 0, 1, false, "segment 1 counted 11 primes but sent 10" },
        { 0, 0, 0, -1, false, "segment 0 counted 10 primes but sent 11" },
        { 1, 0, 0, 0, true, "segment 1 ended without its count" },
    };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
        flow_harness_t *h = coordinator("output=list");
        const char *err;
        for (unsigned seg = 0; seg < 2; seg++) {
            bool bad = seg == cases[k].seg;
            answer(h, seg, bad ? cases[k].dup : 0, bad ? cases[k].extra : 0,
                   bad ? cases[k].count_off : 0, bad && cases[k].no_count);
        }
        err = run(h);
        if (!err || strcmp(err, cases[k].error))
            print_message("case %zu: '%s'\n", k, err ? err : "(none)");
        assert_non_null(err);
        assert_string_equal(err, cases[k].error);
        flow_harness_destroy(&h);
    }
}

/* Messages outside the protocol: malformed, naming the segment. */
static void
test_node_primes_malformed_replies(void **state)
{
    static const int64_t unknown[] = { 99, 1 }, short_primes[] = { MSG_PRIMES },
                         negative[] = { MSG_COUNT, -1 },
                         long_count[] = { MSG_COUNT, 1, 2 };
    static const struct {
        const int64_t *v;
        size_t n;
        bool after_answer; /* sent after the honest answer (a second count) */
    } cases[] = {
        { unknown, 2, false },  { short_primes, 1, false },
        { negative, 2, false }, { long_count, 3, false },
        { unknown, 2, true },   { long_count, 3, true },
    };
    int64_t second_count[2] = { MSG_COUNT, 0 };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
        flow_harness_t *h = coordinator("output=list");
        const char *err;
        if (cases[k].after_answer)
            answer(h, 0, 0, 0, 0, false);
        reply(h, 0, cases[k].v, cases[k].n);
        answer(h, 1, 0, 0, 0, false);
        err = run(h);
        if (!err || strcmp(err, "malformed message from segment 0 on 'seg'"))
            print_message("case %zu: '%s'\n", k, err ? err : "(none)");
        assert_non_null(err);
        assert_string_equal(err, "malformed message from segment 0 on 'seg'");
        flow_harness_destroy(&h);
    }

    /* A second count, and primes after the count. */
    for (int primes_after = 0; primes_after < 2; primes_after++) {
        flow_harness_t *h = coordinator("output=list");
        int64_t late[3] = { MSG_PRIMES, 50, 47 };
        answer(h, 0, 0, 0, 0, false);
        if (primes_after)
            reply(h, 0, late, 3);
        else
            reply(h, 0, second_count, 2);
        answer(h, 1, 0, 0, 0, false);
        assert_string_equal(run(h), "malformed message from segment 0 on "
                                    "'seg'");
        flow_harness_destroy(&h);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_primes_honest_segments),
        cmocka_unit_test(test_node_primes_lying_segments),
        cmocka_unit_test(test_node_primes_malformed_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
