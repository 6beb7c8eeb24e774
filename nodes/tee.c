/* SPDX-License-Identifier: MIT */
/*
 * tee: send every message of the input on both outputs, as tee(1) copies
 * its input to a file and to its output. A port is linked once, so a stream
 * that two nodes need each whole (a result to write and to count, words to
 * search and to archive) goes through a tee; chain tees for more copies.
 * The copy keeps the message's sequence number, so an ordered collector on
 * either side still orders it. Backpressure holds for both: a full output
 * stops the tee, and with it the stream to the other output.
 */
#include <stddef.h>
#include <stdint.h>

#include "flow/node.h"

static const flow_port_t tee_ports[] = {
    FLOW_PORT_IN("in", FLOW_SAME, "any messages"),
    FLOW_PORT_OUT("a", FLOW_SAME, "every message of 'in'"),
    FLOW_PORT_OUT("b", FLOW_SAME, "every message of 'in', too"), FLOW_PORT_END
};

/* A copy of `msg`'s items (caller owns; NULL for a failure, said on
 * `node`). Sent from process(), it gets the input's sequence number. */
static flow_msg_t *
copy_of(flow_node_t *node, flow_msg_t *msg)
{
    flow_type_t type = flow_msg_type(msg);
    size_t count = flow_msg_count(msg);
    flow_msg_t *copy = flow_msg_new(type, count);
    int rc = FLOW_EPROTO;

    switch (type) {
    case FLOW_INT64:
        rc = flow_msg_add_i64s(copy, flow_msg_i64(msg), count);
        break;
    case FLOW_WORDS:
        rc = flow_msg_add_words_of(copy, msg, 0, count);
        break;
    case FLOW_BYTES: {
        size_t len;
        const void *bytes = flow_msg_bytes(msg, &len);
        rc = flow_msg_add_bytes(copy, bytes, len);
        break;
    }
    default:
        break;
    }
    if (rc < 0) {
        flow_msg_destroy(&copy);
        (void)flow_node_fail(node, "cannot copy a %s message: %s",
                             flow_type_name(type), flow_strerror(rc));
        return NULL;
    }
    return copy;
}

static int
tee_process(flow_node_t *node, void *state, const char *port,
            flow_msg_t **msg_p)
{
    flow_msg_t *copy = copy_of(node, *msg_p);
    int rc;

    (void)state;
    (void)port;
    if (!copy)
        return FLOW_EPROTO;
    /* A failed send has failed the node, saying why; FLOW_EINTR is a stop. */
    rc = flow_node_send(node, "a", &copy);
    return rc ? rc : flow_node_send(node, "b", msg_p);
}

FLOW_NODE(tee) = {
    FLOW_NODE_V1,
    .name = "tee",
    .summary = "Send every message on two outputs",
    .ports = tee_ports,
    .process = tee_process,
};
