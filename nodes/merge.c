/* SPDX-License-Identifier: MIT */
/*
 * merge: send every message of inputs 'a' and 'b' on one output, as they
 * come: the other half of tee. A port is linked once, and the instances of
 * one node already fan in to an input; two different nodes (a file's lines
 * and generated words, two searches) reach one consumer through a merge;
 * chain merges for more. The output ends when both inputs have ended.
 * Messages keep their sequence numbers: a collect order=input downstream
 * refuses two streams that each count from 0.
 */
#include <stddef.h>

#include "flow/node.h"

static const flow_port_t merge_ports[] = {
    FLOW_PORT_IN("a", FLOW_SAME, "any messages"),
    FLOW_PORT_IN("b", FLOW_SAME, "messages of the same type"),
    FLOW_PORT_OUT("out", FLOW_SAME, "every message of 'a' and 'b'"),
    FLOW_PORT_END
};

static int
merge_process(flow_node_t *node, void *state, const char *port,
              flow_msg_t **msg_p)
{
    (void)state;
    (void)port;
    /* A failed send has failed the node, saying why; FLOW_EINTR is a stop. */
    return flow_node_send(node, "out", msg_p);
}

FLOW_NODE(merge) = {
    FLOW_NODE_V1,
    .name = "merge",
    .summary = "Send the messages of two inputs on one output",
    .ports = merge_ports,
    .process = merge_process,
};
