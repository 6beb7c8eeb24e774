/* SPDX-License-Identifier: MIT */
/*
 * credit.c: the credit window of a balance=demand input from its measured
 * round trip and cost per message (see credit.h).
 */
#include "credit.h"

/* A sample moves an estimate it does not replace by 1/64 of the gap: half
 * the gap in 44 samples. */
#define SLOW_SHIFT 6

/* The cost moves by 1/16 of the gap: a mean over the last ~16 samples. */
#define COST_SHIFT 4

void
flow__credit_rtt_sample(flow_credit_est_t *e, uint64_t ns)
{
    if (ns == 0)
        ns = 1;
    if (e->rtt_ns == 0 || ns < e->rtt_ns)
        e->rtt_ns = ns;
    else
        e->rtt_ns += (ns - e->rtt_ns) >> SLOW_SHIFT;
}

void
flow__credit_cost_sample(flow_credit_est_t *e, uint64_t ns, unsigned takes)
{
    uint64_t each = ns / (takes ? takes : 1);

    if (each == 0)
        each = 1;
    if (e->cost_ns == 0)
        e->cost_ns = each;
    else if (each > e->cost_ns)
        e->cost_ns += (each - e->cost_ns) >> COST_SHIFT;
    else
        e->cost_ns -= (e->cost_ns - each) >> COST_SHIFT;
}

unsigned
flow__credit_window(const flow_credit_est_t *e, unsigned least, unsigned most)
{
    uint64_t w;

    if (!e->rtt_ns || !e->cost_ns)
        return least;
    /* Round trips are under 2^62 ns (146 years). */
    w = (2 * e->rtt_ns + e->cost_ns - 1) / e->cost_ns;
    return w < least ? least : w > most ? most : (unsigned)w;
}
