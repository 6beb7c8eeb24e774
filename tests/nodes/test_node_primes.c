/* SPDX-License-Identifier: MIT */
/*
 * test_node_primes.c: the sieve's coordinator in the harness of
 * flow/testing.h, the test playing its two segments (ranges 11-50 and
 * 50-100). What a segment sends is checked: a prime twice, out of order or
 * out of its range, a count that is not the number of primes it sent, no
 * count, a malformed message: each fails the coordinator, naming the
 * segment. And what it sends them: a segment's go once every prime its
 * range needs has come (from the earlier segments' watermarks), each
 * sieving prime once and in messages of at most 65536, and the chunks of
 * the largest limit, 2^62. The oracle is trial division (or a plain sieve).
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
enum { MSG_RANGE = 1, MSG_PRIMES = 2, MSG_COUNT = 3, MSG_GO = 4 };

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

/* A coordinator of `n` segments with explicit `ranges`, in list mode. */
static flow_harness_t *
coordinator_of(const char *ranges, unsigned n)
{
    char r[128];
    snprintf(r, sizeof(r), "ranges=%s", ranges);
    const char *params[] = { r, "output=list" };
    flow_harness_t *h = flow_harness_new(&flow_node_primes, params, 2, NULL);

    assert_non_null(h);
    assert_int_equal(flow_harness_set_channels(h, "seg", n), 0);
    return h;
}

/* Queue, from segment `seg`, a primes message: watermark `upto`, the
 * primes of [from, to) (trial division). */
static void
primes_upto(flow_harness_t *h, unsigned seg, int64_t upto, int64_t from,
            int64_t to)
{
    int64_t v[66] = { MSG_PRIMES, upto };
    size_t n = 2 + primes_in(from, to, v + 2);

    reply(h, seg, v, n);
}

/* What the coordinator sent segment `seg` (pulled from `h`, the messages
 * to other segments dropped): whether it got the go, and the largest
 * sieving prime before it in *before_go (0 if none). Every message after
 * the range is checked: sieving primes ascending, each once, then at most
 * one go, last. */
static bool
got_go(flow_harness_t *h, unsigned seg, int64_t *before_go)
{
    flow_msg_t *msg = NULL;
    unsigned ch;
    bool go = false, ranged = false;
    int64_t last = 0;

    while (flow_harness_pull(h, "seg", &msg, &ch) == 0) {
        const int64_t *v = flow_msg_i64(msg);
        size_t n = flow_msg_count(msg);
        if (ch == seg) {
            assert_false(go); /* nothing after the go */
            if (v[0] == MSG_RANGE) {
                assert_false(ranged);
                ranged = true;
            } else if (v[0] == MSG_GO) {
                assert_int_equal(n, 1);
                go = true;
            } else {
                assert_int_equal(v[0], MSG_PRIMES);
                for (size_t i = 1; i < n; i++) {
                    assert_true(tu_is_prime(v[i]));
                    assert_true(v[i] > last);
                    last = v[i];
                }
            }
        }
        flow_msg_destroy(&msg);
    }
    assert_true(ranged);
    *before_go = last;
    return go;
}

/*
 * A segment gets its go once every prime its range needs has come, and no
 * sooner: from the watermark of the segment before it, not only from its
 * count; and a watermark past the range it is about counts only up to the
 * range's end. The segments are played by the test; the oracle is trial
 * division.
 */
static void
test_node_primes_go_follows_watermark(void **state)
{
    flow_harness_t *h;
    int64_t last;

    (void)state;
    /* [50, 2210) needs 47 (47^2 = 2209): not before it has come. */
    h = coordinator_of("11-50,50-2210", 2);
    primes_upto(h, 0, 30, 11, 30);
    primes_upto(h, 0, 47, 30, 47);
    assert_string_equal(run(h), "segment 0 ended without its count");
    assert_false(got_go(h, 1, &last));
    flow_harness_destroy(&h);

    /* Once 47 has come, the go, before segment 0's count. */
    h = coordinator_of("11-50,50-2210", 2);
    primes_upto(h, 0, 30, 11, 30);
    primes_upto(h, 0, 47, 30, 47);
    primes_upto(h, 0, 50, 47, 50);
    assert_string_equal(run(h), "segment 0 ended without its count");
    assert_true(got_go(h, 1, &last));
    assert_int_equal(last, 47);
    flow_harness_destroy(&h);

    /* Segment 0 claims every prime below 10^6: [3000, 10^7) still waits
     * for the primes of [50, 3000). */
    h = coordinator_of("11-50,50-3000,3000-10000000", 3);
    primes_upto(h, 0, 1000000, 11, 50);
    int64_t count[2] = { MSG_COUNT, 11 };
    reply(h, 0, count, 2);
    assert_string_equal(run(h), "segment 1 ended without its count");
    assert_false(got_go(h, 2, &last));
    assert_int_equal(last, 47);
    flow_harness_destroy(&h);

    /* 47, which [50, 2210) needs, is the first prime of [47, 50). */
    h = coordinator_of("11-47,47-50,50-2210", 3);
    primes_upto(h, 0, 47, 11, 47);
    count[1] = 10;
    reply(h, 0, count, 2);
    primes_upto(h, 1, 50, 47, 50);
    count[1] = 1;
    reply(h, 1, count, 2);
    assert_string_equal(run(h), "segment 2 ended without its count");
    assert_true(got_go(h, 2, &last));
    assert_int_equal(last, 47);
    flow_harness_destroy(&h);
}

/*
 * More sieving primes than a message holds (65536): [10^6, 10^12) needs the
 * 78494 primes from 11 to 999983, which segment 0 lists in messages of 4096.
 * Its watermarks lag (true, but late): each is the last prime it sent,
 * then, from 50000 on, stays there until the last message, which covers
 * all. Segment 1 gets each prime once, ascending, in messages of at most
 * 65536, then its go; "out" gets every prime below 10^6. The oracle is a
 * plain sieve.
 */
static void
test_node_primes_forwards_many_primes(void **state)
{
    enum { TOP = 1000000 };
    unsigned char *composite = calloc(TOP, 1);
    int64_t *v = malloc((4096 + 2) * sizeof(*v)), count = 0, want = 0;
    flow_harness_t *h = coordinator_of("2-1000000,1000000-1000000000000", 2);
    flow_msg_t *msg = NULL;
    unsigned ch;
    size_t n = 2;
    bool go = false;

    (void)state;
    assert_true(composite != NULL && v != NULL);
    for (int64_t i = 2; i * i < TOP; i++)
        if (!composite[i])
            for (int64_t j = i * i; j < TOP; j += i)
                composite[j] = 1;
    v[0] = MSG_PRIMES;
    v[1] = 2;
    for (int64_t p = 2; p < TOP; p++) {
        if (composite[p])
            continue;
        v[n++] = p;
        count++;
        if (n == 4096 + 2) {
            v[1] = v[1] < 50000 ? p : v[1];
            reply(h, 0, v, n);
            n = 2;
        }
    }
    v[1] = TOP;
    reply(h, 0, v, n);
    int64_t c0[2] = { MSG_COUNT, count }, p1[2] = { MSG_PRIMES, INT64_MAX },
            c1[2] = { MSG_COUNT, 0 };
    reply(h, 0, c0, 2);
    reply(h, 1, p1, 2);
    reply(h, 1, c1, 2);
    assert_null(run(h));

    int64_t next = 11; /* the seeds, below 11, need not come */
    while (flow_harness_pull(h, "seg", &msg, &ch) == 0) {
        const int64_t *m = flow_msg_i64(msg);
        size_t k = flow_msg_count(msg);
        if (ch == 1 && m[0] == MSG_PRIMES) {
            assert_false(go);
            assert_true(k <= 65536 + 1);
            for (size_t i = 1; i < k; i++) {
                if (m[i] < 11)
                    continue;
                while (next < m[i]) /* none skipped, each once */
                    assert_true(composite[next++]);
                assert_int_equal(m[i], next);
                assert_false(composite[next]);
                next++;
            }
        } else if (ch == 1 && m[0] == MSG_GO) {
            go = true;
        }
        flow_msg_destroy(&msg);
    }
    assert_true(go);
    while (next < TOP)
        assert_true(composite[next++]);
    while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
        const int64_t *m = flow_msg_i64(msg);
        for (size_t i = 0; i < flow_msg_count(msg); i++) {
            while (composite[++want] || want < 2)
                ;
            assert_int_equal(m[i], want);
        }
        flow_msg_destroy(&msg);
    }
    assert_int_equal(want, 999983); /* the last prime below 10^6 */
    flow_harness_destroy(&h);
    free(v);
    free(composite);
}

/*
 * The largest limit, 2^62, cut into chunks for 3 segments (played by the
 * test, each chunk answered with no primes and a count of 0, the answers
 * read in chunk order): from 2 to 2^62 + 1, contiguous, none backwards,
 * at least one per segment and at most 32 (rounds down to 1/32 of a share).
 * One answer too many for each segment: after the last chunk, the first
 * segment's extra answer is refused.
 */
static void
test_node_primes_split_at_the_top(void **state)
{
    const char *params[] = { "limit=4611686018427387904", "output=list" };
    flow_harness_t *h = flow_harness_new(&flow_node_primes, params, 2, NULL);
    int64_t none[2] = { MSG_PRIMES, INT64_MAX }, zero[2] = { MSG_COUNT, 0 };
    int64_t next = 2;
    unsigned chunks = 0, per[3] = { 0, 0, 0 }, ch;
    flow_msg_t *msg = NULL;

    (void)state;
    assert_non_null(h);
    assert_int_equal(flow_harness_set_channels(h, "seg", 3), 0);
    for (unsigned seg = 0; seg < 3; seg++)
        for (int k = 0; k < 12; k++) {
            reply(h, seg, none, 2);
            reply(h, seg, zero, 2);
        }
    assert_string_equal(run(h), "malformed message from segment 0 on 'seg'");
    while (flow_harness_pull(h, "seg", &msg, &ch) == 0) {
        const int64_t *v = flow_msg_i64(msg);
        if (v[0] == MSG_RANGE) {
            assert_int_equal(flow_msg_count(msg), 4);
            assert_int_equal(v[1], next);
            assert_true(v[2] >= v[1]);
            assert_int_equal(v[3], INT64_MAX);
            next = v[2];
            chunks++;
            per[ch]++;
        }
        flow_msg_destroy(&msg);
    }
    assert_int_equal(next, (INT64_C(1) << 62) + 1);
    assert_true(chunks >= 3 && chunks <= 32);
    assert_true(per[0] >= 1 && per[1] >= 1 && per[2] >= 1);
    flow_harness_destroy(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_primes_honest_segments),
        cmocka_unit_test(test_node_primes_lying_segments),
        cmocka_unit_test(test_node_primes_malformed_replies),
        cmocka_unit_test(test_node_primes_go_follows_watermark),
        cmocka_unit_test(test_node_primes_forwards_many_primes),
        cmocka_unit_test(test_node_primes_split_at_the_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
