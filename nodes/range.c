/* SPDX-License-Identifier: MIT */
/*
 * range: a source of the integers start .. start + count - 1, the article's
 * range(). The numbers are cut into chunks of the link's batch size; instance
 * i of n makes chunks i, i + n, ... and gives chunk k the sequence number k,
 * so the numbers produced do not depend on the number of instances.
 */
#include <inttypes.h>
#include <stdint.h>

#include "flow/node.h"

/* Chunks of up to this many items are sent with flow_node_send_i64s. */
#define DIRECT_MAX 256

struct range {
    int64_t start;
    int64_t count;
};

static const flow_param_t range_params[] = {
    FLOW_PARAM_INT("start", struct range, start, "0", -(INT64_C(1) << 62),
                   INT64_C(1) << 62, "first number"),
    FLOW_PARAM_INT("count", struct range, count, "1000000", 0, INT64_C(1) << 62,
                   "how many numbers, over all instances"),
    FLOW_PARAM_END
};

static const flow_port_t range_ports[] = {
    FLOW_PORT_OUT("out", FLOW_INT64,
                  "the numbers in chunks of the link's batch size; chunk k "
                  "is made by instance k mod instances and numbered k "
                  "(collect order=input writes them in order; order=arrival "
                  "as they come)"),
    FLOW_PORT_END
};

/* The result `rc` of a send on "out", with a failure explained unless the
 * run is stopping. */
static int
sent(flow_node_t *node, int rc)
{
    if (rc == 0 || rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(node, "cannot send on 'out': %s", flow_strerror(rc));
}

/* Write the `n` numbers from `first` at `v`. */
static void
fill(int64_t *v, int64_t first, uint64_t n)
{
    for (uint64_t j = 0; j < n; j++)
        v[j] = first + (int64_t)j;
}

/* Send chunk `k`, the `n` numbers from `first`. Small chunks are made in
 * `buf` (DIRECT_MAX items) and copied into the frame as they are sent;
 * large ones are written in place in a message sent without a copy. */
static int
send_chunk(flow_node_t *node, int64_t *buf, int64_t first, uint64_t n,
           uint64_t k)
{
    flow_msg_t *msg;

    if (n <= DIRECT_MAX) {
        fill(buf, first, n);
        return sent(node, flow_node_send_i64s(node, "out", buf, n, k));
    }
    msg = flow_msg_new(FLOW_INT64, (size_t)n);
    int64_t *items = flow_msg_extend_i64(msg, (size_t)n);
    if (!items) {
        flow_msg_destroy(&msg);
        return flow_node_fail(node, "cannot add %" PRIu64 " numbers", n);
    }
    fill(items, first, n);
    flow_msg_set_seq(msg, k);
    return sent(node, flow_node_send(node, "out", &msg));
}

static int
range_run(flow_node_t *node, void *state)
{
    const struct range *s = state;
    uint64_t count = (uint64_t)s->count;
    uint64_t batch = flow_node_batch(node, "out");
    uint64_t instance = flow_node_instance(node);
    uint64_t instances = flow_node_instances(node);
    int64_t buf[DIRECT_MAX];

    if (batch == 0)
        return flow_node_fail(node, "no batch size on port 'out'");
    if (instances == 0)
        instances = 1;

    if (batch == 1) {
        /* Chunks of one number: sent from a variable, without the loop
         * that fills a buffer (a message per number: the loop's own few
         * instructions count). */
        for (uint64_t k = instance; k < count; k += instances) {
            int64_t v = s->start + (int64_t)k;
            int rc = flow_node_send_i64s(node, "out", &v, 1, k);
            if (rc && (rc = sent(node, rc)) < 0)
                return rc;
        }
        return 0;
    }
    uint64_t chunks = count / batch + (count % batch != 0);
    for (uint64_t k = instance; k < chunks; k += instances) {
        uint64_t first = k * batch;
        uint64_t n = count - first < batch ? count - first : batch;
        int rc = send_chunk(node, buf, s->start + (int64_t)first, n, k);
        if (rc < 0)
            return rc;
    }
    return 0;
}

FLOW_NODE(range) = {
    FLOW_NODE_V1,
    .name = "range",
    .summary = "Generate the integers start .. start + count - 1",
    .state_size = sizeof(struct range),
    .params = range_params,
    .ports = range_ports,
    .run = range_run,
};
