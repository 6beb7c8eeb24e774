/* SPDX-License-Identifier: MIT */
/*
 * pid: each instance reports its index and process id, the article's
 * results[id] = os.getpid(). Instance i sends one message holding the word
 * "<i> <pid>" with sequence number i, then optionally lingers so that a test
 * can check the processes are alive during the run.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "flow/node.h"

struct pid {
    int64_t linger_ms;
};

static const flow_param_t pid_params[] = {
    FLOW_PARAM_INT("linger_ms", struct pid, linger_ms, "0", 0, 60000,
                   "milliseconds to wait after sending, before ending"),
    FLOW_PARAM_END
};

static const flow_port_t pid_ports[] = {
    FLOW_PORT_OUT("out", FLOW_WORDS, "one word \"<index> <pid>\" per instance"),
    FLOW_PORT_END
};

static int
pid_run(flow_node_t *node, void *state)
{
    const struct pid *s = state;
    unsigned instance = flow_node_instance(node);
    char word[64];

    int len = snprintf(word, sizeof(word), "%u %ld", instance, (long)getpid());
    if (len < 0 || (size_t)len >= sizeof(word))
        return flow_node_fail(node, "cannot format the word");

    flow_msg_t *msg = flow_msg_new(FLOW_WORDS, 1);
    int rc = flow_msg_add_word(msg, word, (size_t)len);
    if (rc < 0) {
        flow_msg_destroy(&msg);
        return flow_node_fail(node, "cannot add a word: %s", flow_strerror(rc));
    }
    flow_msg_set_seq(msg, instance);
    rc = flow_node_send(node, "out", &msg);
    if (rc == FLOW_EINTR)
        return rc;
    if (rc < 0)
        return flow_node_fail(node, "cannot send on 'out': %s",
                              flow_strerror(rc));

    if (s->linger_ms == 0)
        return 0;

    /* A signal interrupting the wait means the run is being stopped. */
    struct timespec left = { .tv_sec = (time_t)(s->linger_ms / 1000),
                             .tv_nsec =
                                 (long)(s->linger_ms % 1000) * 1000000L };
    if (nanosleep(&left, NULL) < 0 && errno != EINTR)
        return flow_node_fail(node, "cannot sleep: %s", flow_strerror(-errno));
    return 0;
}

FLOW_NODE(pid) = {
    FLOW_NODE_V1,
    .name = "pid",
    .summary = "Report each instance's index and process id",
    .state_size = sizeof(struct pid),
    .params = pid_params,
    .ports = pid_ports,
    .run = pid_run,
};
