/* SPDX-License-Identifier: MIT */
/*
 * jitter: pass every message through unchanged after sleeping a random time
 * between 0 and max_us microseconds. Stress tests use it to make consumers
 * slow and uneven, for instance to check that end-of-stream never overtakes
 * data. The delays are reproducible: each instance draws them from its own
 * generator, seeded with the seed and the instance index.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "flow/node.h"

#define JITTER_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

struct jitter {
    int64_t max_us;
    int64_t seed;
    uint64_t rng; /* splitmix64 state, set by init */
};

static const flow_param_t jitter_params[] = {
    FLOW_PARAM_INT(
        "max_us", struct jitter, max_us, "0", 0, 1000000,
        "longest delay before forwarding a message, in microseconds"),
    FLOW_PARAM_INT("seed", struct jitter, seed, "1", INT64_MIN, INT64_MAX,
                   "random seed, mixed with the instance index"),
    FLOW_PARAM_END
};

static const flow_port_t jitter_ports[] = {
    FLOW_PORT_IN("in", FLOW_SAME, "any messages"),
    FLOW_PORT_OUT("out", FLOW_SAME, "the same messages, delayed"), FLOW_PORT_END
};

/* Return the next value of the splitmix64 generator at `*x`. */
static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += JITTER_GOLDEN);

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int
jitter_init(flow_node_t *node, void *state)
{
    struct jitter *s = state;
    uint64_t x = (uint64_t)s->seed;

    /* Hash the seed, then mix in the index so instances differ. */
    s->rng = splitmix64(&x) ^ ((uint64_t)flow_node_instance(node) + 1) *
                                  UINT64_C(0xd1b54a32d192ed03);
    return 0;
}

static int
jitter_process(flow_node_t *node, void *state, const char *port,
               flow_msg_t **msg_p)
{
    struct jitter *s = state;

    (void)port;
    if (s->max_us > 0) {
        uint64_t us = splitmix64(&s->rng) % ((uint64_t)s->max_us + 1);
        struct timespec left = { .tv_sec = (time_t)(us / 1000000),
                                 .tv_nsec = (long)(us % 1000000) * 1000L };
        /* A signal interrupting the wait means the run is being stopped. */
        if (nanosleep(&left, NULL) < 0 && errno != EINTR)
            return flow_node_fail(node, "cannot sleep: %s",
                                  flow_strerror(-errno));
    }

    int rc = flow_node_send(node, "out", msg_p);
    if (rc == 0 || rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(node, "cannot send on 'out': %s", flow_strerror(rc));
}

FLOW_NODE(jitter) = {
    FLOW_NODE_V1,
    .name = "jitter",
    .summary = "Forward messages after a random delay",
    .state_size = sizeof(struct jitter),
    .params = jitter_params,
    .ports = jitter_ports,
    .init = jitter_init,
    .process = jitter_process,
};
