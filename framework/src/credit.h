/* SPDX-License-Identifier: MIT */
/*
 * credit.h: how many messages a balance=demand input lets each producer
 * send ahead (its credit window), when the graph leaves that to flow (a
 * demand link without an hwm of its own).
 *
 * A consumer instance credits a producer for each message it takes, and
 * the producer sends it at most `window` messages not taken yet. With a
 * window of 1 an instance that works through a message faster than a
 * credit makes its round trip waits for every one (0.14 ms a message on a
 * 2-CPU VM). The window is therefore as many messages as the instance
 * works through in two round trips of a credit, at least the link's hwm
 * (1) and at most its credit_max: a queue at any instance then holds at
 * most hwm messages, or about two round trips of its work, per producer.
 *
 * Both figures are measured by the consumer: the round trip from the time
 * it sends a credit to the arrival of the first message that credit let
 * the producer send, when it came into an empty queue (at a window of 1,
 * only when the frame before came into a wait too: an instance slower than
 * a round trip finds its queue empty only when the producer had nothing to
 * send, and such a wait, taken for a round trip, widened its window for
 * the rest of the run; an instance that
 * never runs out of input measures none, and keeps the least window; quick to
 * come down, slow to go up: a producer that was not waiting for the credit
 * makes a sample too long; and none from a producer that sends each frame
 * into a wait, which a wider window would make longer: node_recv.c
 * measure()), and its cost per message,
 * from the time between takes minus its waits for input (every
 * FLOW_CREDIT_COST_EVERY takes, a mean over about the last 16 samples: one
 * message much slower than the rest narrows the window at once, and some
 * tens of samples of fast ones widen it again).
 *
 * Credits granted cannot be taken back: an instance whose messages cost
 * microseconds, then suddenly milliseconds, still gets the wide window it
 * granted before (at most credit_max messages per producer). A link whose
 * costs change so must fix its window with an hwm.
 */
#ifndef FLOW_CREDIT_H
#define FLOW_CREDIT_H

#include <stdint.h>

/* Takes per cost sample: the clock is read once per this many takes. */
#define FLOW_CREDIT_COST_EVERY 8

typedef struct flow_credit_est {
    uint64_t rtt_ns;  /* round trip of a credit; 0: not measured yet */
    uint64_t cost_ns; /* time per message taken; 0: not measured yet */
} flow_credit_est_t;

/* Count a round trip of `ns` (a credit sent to the first message it let
 * come). */
void flow__credit_rtt_sample(flow_credit_est_t *e, uint64_t ns);

/* Count `takes` messages (at least 1) taken in `ns` of work. */
void flow__credit_cost_sample(flow_credit_est_t *e, uint64_t ns,
                              unsigned takes);

/*
 * The window for estimates `e`: the messages the instance works through in
 * two round trips, rounded up, within [least, most] (least >= 1, most >=
 * least); `least` until both are measured.
 */
unsigned flow__credit_window(const flow_credit_est_t *e, unsigned least,
                             unsigned most);

#endif
