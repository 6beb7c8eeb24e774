/* SPDX-License-Identifier: MIT */
/*
 * test_credit.c: the credit window of a balance=demand input (credit.h):
 * its estimates of a credit's round trip and of the cost of a message, and
 * the window made of them, against figures worked out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "credit.h"

/* Until both the round trip and the cost are measured: the least. */
static void
test_credit_least_until_measured(void **unused)
{
    flow_credit_est_t e = { 0 };

    (void)unused;
    assert_int_equal(flow__credit_window(&e, 1, 1000), 1);
    flow__credit_rtt_sample(&e, 100000);
    assert_int_equal(flow__credit_window(&e, 1, 1000), 1);
    e = (flow_credit_est_t){ 0 };
    flow__credit_cost_sample(&e, 8000, 8);
    assert_int_equal(flow__credit_window(&e, 3, 1000), 3);
    flow__credit_rtt_sample(&e, 100000);
    /* 2 x 100 us / 1 us */
    assert_int_equal(flow__credit_window(&e, 3, 1000), 200);
}

/* Two round trips of work, rounded up, within [least, most]. */
static void
test_credit_window_two_round_trips(void **unused)
{
    static const struct {
        uint64_t rtt, cost;
        unsigned least, most, want;
    } cases[] = {
        { 100000, 1000, 1, 1000, 200 },    /* 200 000 / 1000 */
        { 100000, 3000, 1, 1000, 67 },     /* 66.7, rounded up */
        { 100000, 100000, 1, 1000, 2 },    /* a message a round trip */
        { 100000, 150000, 1, 1000, 2 },    /* 1.33, rounded up */
        { 100000, 4000000, 1, 1000, 1 },   /* slow: the least */
        { 100000, 4000000, 16, 1000, 16 }, /* an hwm of 16: at least 16 */
        { 100000, 10, 1, 1000, 1000 },     /* 20 000: at most 1000 */
        { 100000, 10, 1, 64, 64 },         /* words: at most 64 */
        { 100000, 1000, 1, 200, 200 },     /* 200: at most 200 */
        { 100000, 1000, 1, 199, 199 },     /* 200: one over the most */
        { 100000, 1000, 201, 1000, 201 },  /* 200: one under the least */
    };

    (void)unused;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        flow_credit_est_t e = { .rtt_ns = cases[i].rtt,
                                .cost_ns = cases[i].cost };
        assert_int_equal(flow__credit_window(&e, cases[i].least, cases[i].most),
                         cases[i].want);
    }
}

/* The round trip comes down to a shorter sample at once and goes up by
 * 1/64 of a longer one's excess: a producer that was not waiting for the
 * credit makes a sample too long. */
static void
test_credit_rtt_down_fast_up_slow(void **unused)
{
    flow_credit_est_t e = { 0 };

    (void)unused;
    flow__credit_rtt_sample(&e, 100000);
    assert_int_equal(e.rtt_ns, 100000);
    flow__credit_rtt_sample(&e, 50000);
    assert_int_equal(e.rtt_ns, 50000);
    flow__credit_rtt_sample(&e, 50000 + 64 * 100);
    assert_int_equal(e.rtt_ns, 50100);
    /* A producer idle for a second moves it by 1/64 of that. */
    flow__credit_rtt_sample(&e, 1000000000 + 50100);
    assert_int_equal(e.rtt_ns, 50100 + 1000000000 / 64);
    flow__credit_rtt_sample(&e, 0); /* under the clock's grain: 1 ns */
    assert_int_equal(e.rtt_ns, 1);
}

/* The cost is the time per message of a sample, then moves by 1/16 of
 * each sample's gap: one slow message among fast ones narrows the window
 * at once (from 200 to 3 here), and fast ones widen it again over some
 * tens of samples. */
static void
test_credit_cost_mean(void **unused)
{
    flow_credit_est_t e = { .rtt_ns = 100000 };
    uint64_t want;
    int n;

    (void)unused;
    flow__credit_cost_sample(&e, 8000, 8);
    assert_int_equal(e.cost_ns, 1000);
    flow__credit_cost_sample(&e, 8 * (1000 + 16 * 50), 8);
    assert_int_equal(e.cost_ns, 1050);
    flow__credit_cost_sample(&e, 8 * (1050 - 16 * 10), 8);
    assert_int_equal(e.cost_ns, 1040);
    flow__credit_cost_sample(&e, 0, 8); /* under the grain: 1 ns each */
    assert_int_equal(e.cost_ns, 1040 - (1040 - 1) / 16);

    e.cost_ns = 1000;
    assert_int_equal(flow__credit_window(&e, 1, 1000), 200);
    /* Eight takes, one of which took 10 ms. */
    flow__credit_cost_sample(&e, 7 * 1000 + 10000000, 8);
    want = 1000 + ((7 * 1000 + 10000000) / 8 - 1000) / 16;
    assert_int_equal(e.cost_ns, want);
    assert_int_equal(flow__credit_window(&e, 1, 1000),
                     (2 * 100000 + want - 1) / want);
    assert_int_equal(flow__credit_window(&e, 1, 1000), 3);
    /* Fast ones again: within 200 samples the window is wide again. */
    for (n = 0; n < 200 && flow__credit_window(&e, 1, 1000) < 100; n++)
        flow__credit_cost_sample(&e, 8000, 8);
    assert_true(n > 16 && n < 200);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credit_least_until_measured),
        cmocka_unit_test(test_credit_window_two_round_trips),
        cmocka_unit_test(test_credit_rtt_down_fast_up_slow),
        cmocka_unit_test(test_credit_cost_mean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
