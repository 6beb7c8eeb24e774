/* SPDX-License-Identifier: MIT */
/*
 * split: cut a stream of items into chunks of a fixed size, as Pool.map cuts
 * its argument list. Input messages are taken in sequence order: a message
 * that arrives before its predecessors waits in a buffer, and messages
 * without a sequence number are taken as they arrive. So the chunks are the
 * same however many producer instances feed the node. A gap in a stream
 * that ended by itself is skipped, with a warning. When a stop cuts the
 * input short, the messages that wait behind a gap are dropped (said at level
 * info): the chunks sent are then a prefix of the whole run's. Output chunks
 * get the sequence numbers 0, 1, 2, ... and keep the item type of the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "flow/node.h"

/*
 * Messages waiting for their turn: a binary min-heap on the sequence
 * number.
 */
struct pending {
    flow_msg_t **msgs;
    size_t count;
    size_t room;
};

struct split {
    int64_t chunk;
    size_t size;         /* items per output chunk */
    flow_type_t type;    /* item type, FLOW_ANY before the first message */
    flow_msg_t *cur;     /* the chunk being filled, or NULL */
    uint64_t next_in;    /* sequence number of the next message to take */
    uint64_t next_out;   /* sequence number of the next chunk */
    struct pending wait; /* messages that arrived early */
};

static const flow_param_t split_params[] = {
    FLOW_PARAM_INT("chunk", struct split, chunk, "0", 0, INT64_C(1000000000),
                   "items per output chunk; 0 uses the batch size of 'out'"),
    FLOW_PARAM_END
};

static const flow_port_t split_ports[] = {
    FLOW_PORT_IN("in", FLOW_SAME, "items of any one type"),
    FLOW_PORT_OUT("out", FLOW_SAME,
                  "the same items in input order, in chunks of 'chunk'"),
    FLOW_PORT_END
};

/* Add `msg` to `p` (transfer full). Returns 0 or -ENOMEM. */
static int
pending_push(struct pending *p, flow_msg_t *msg)
{
    if (p->count == p->room) {
        size_t room = p->room ? 2 * p->room : 64;
        flow_msg_t **msgs = realloc(p->msgs, room * sizeof(*msgs));
        if (msgs == NULL)
            return -ENOMEM;
        p->msgs = msgs;
        p->room = room;
    }

    size_t i = p->count++;
    uint64_t seq = flow_msg_seq(msg);
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (flow_msg_seq(p->msgs[parent]) <= seq)
            break;
        p->msgs[i] = p->msgs[parent];
        i = parent;
    }
    p->msgs[i] = msg;
    return 0;
}

/* Return the sequence number of the first message of `p`, which has one. */
static uint64_t
pending_first(const struct pending *p)
{
    return flow_msg_seq(p->msgs[0]);
}

/*
 * Remove the message with the lowest sequence number from `p` and return it
 * (transfer full); NULL if `p` is empty.
 */
static flow_msg_t *
pending_pop(struct pending *p)
{
    if (p->count == 0)
        return NULL;

    flow_msg_t *first = p->msgs[0];
    flow_msg_t *last = p->msgs[--p->count];
    uint64_t seq = flow_msg_seq(last);
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= p->count)
            break;
        if (child + 1 < p->count &&
            flow_msg_seq(p->msgs[child + 1]) < flow_msg_seq(p->msgs[child]))
            child++;
        if (seq <= flow_msg_seq(p->msgs[child]))
            break;
        p->msgs[i] = p->msgs[child];
        i = child;
    }
    if (p->count > 0)
        p->msgs[i] = last;
    return first;
}

/* Destroy every message of `p` and free its memory. */
static void
pending_clear(struct pending *p)
{
    for (size_t i = 0; i < p->count; i++)
        flow_msg_destroy(&p->msgs[i]);
    free(p->msgs);
    p->msgs = NULL;
    p->count = 0;
    p->room = 0;
}

/* Send `*msg_p` on "out" as the next chunk (transfer full). */
static int
emit(flow_node_t *node, struct split *s, flow_msg_t **msg_p)
{
    flow_msg_set_seq(*msg_p, s->next_out++);

    int rc = flow_node_send(node, "out", msg_p);
    if (rc == 0 || rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(node, "cannot send on 'out': %s", flow_strerror(rc));
}

/* Append items [from, from + n) of `in` to the current chunk. */
static int
append(struct split *s, flow_msg_t *in, size_t from, size_t n)
{
    switch (s->type) {
    case FLOW_INT64:
        return flow_msg_add_i64s(s->cur, flow_msg_i64(in) + from, n);
    case FLOW_BYTES: {
        size_t len;
        const unsigned char *data = flow_msg_bytes(in, &len);
        return flow_msg_add_bytes(s->cur, data + from, n);
    }
    case FLOW_WORDS:
        return flow_msg_add_words_of(s->cur, in, from, n);
    case FLOW_ANY:
    case FLOW_SAME: /* ports only, never a message's */
        break;
    }
    return FLOW_EPROTO;
}

/*
 * Take the items of `*msg_p` into the output chunks, sending every chunk that
 * fills up. The message is either sent on as a chunk of its own or left in
 * `*msg_p` for the caller to destroy.
 */
static int
take(flow_node_t *node, struct split *s, flow_msg_t **msg_p)
{
    flow_msg_t *in = *msg_p;
    flow_type_t type = flow_msg_type(in);
    size_t count = flow_msg_count(in);

    if (s->type == FLOW_ANY)
        s->type = type;
    else if (type != s->type)
        return flow_node_fail(node, "mixed item types '%s' and '%s'",
                              flow_type_name(s->type), flow_type_name(type));

    /* A message that is exactly one chunk goes on without a copy. */
    if (s->cur == NULL && count == s->size)
        return emit(node, s, msg_p);

    size_t done = 0;
    while (done < count) {
        if (s->cur == NULL)
            s->cur = flow_msg_new(s->type, s->size);
        size_t have = flow_msg_count(s->cur);
        size_t n =
            s->size - have < count - done ? s->size - have : count - done;
        int rc = append(s, in, done, n);
        if (rc < 0)
            return flow_node_fail(node, "cannot copy %s items: %s",
                                  flow_type_name(s->type), flow_strerror(rc));
        done += n;
        if (have + n == s->size) {
            rc = emit(node, s, &s->cur);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Take every waiting message whose turn has come. */
static int
take_ready(flow_node_t *node, struct split *s)
{
    while (s->wait.count > 0 && pending_first(&s->wait) <= s->next_in) {
        flow_msg_t *msg = pending_pop(&s->wait);
        if (flow_msg_seq(msg) == s->next_in)
            s->next_in++;
        int rc = take(node, s, &msg);
        flow_msg_destroy(&msg);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
split_init(flow_node_t *node, void *state)
{
    struct split *s = state;

    s->size = s->chunk > 0 ? (size_t)s->chunk : flow_node_batch(node, "out");
    if (s->size == 0)
        return flow_node_fail(node, "no batch size on port 'out'");
    s->type = FLOW_ANY;
    return 0;
}

static int
split_process(flow_node_t *node, void *state, const char *port,
              flow_msg_t **msg_p)
{
    struct split *s = state;
    uint64_t seq = flow_msg_seq(*msg_p);

    (void)port;
    if (seq == FLOW_SEQ_NONE || seq < s->next_in)
        return take(node, s, msg_p);

    if (seq > s->next_in) {
        int rc = pending_push(&s->wait, *msg_p);
        if (rc < 0)
            return flow_node_fail(node, "cannot buffer a message: %s",
                                  flow_strerror(rc));
        *msg_p = NULL;
        return 0;
    }

    s->next_in++;
    int rc = take(node, s, msg_p);
    if (rc < 0)
        return rc;
    return take_ready(node, s);
}

static int
split_finish(flow_node_t *node, void *state)
{
    struct split *s = state;

    /* Inputs have ended: whatever is missing will not come. Cut short by a
     * stop (sources of several instances stop at different points), the
     * chunks keep to the items before the first gap: behind it they would
     * go on numbered 0, 1, 2, ... with items missing in their middle, which
     * no collector downstream can see. */
    if (s->wait.count > 0 && flow_node_input_cut(node, "in")) {
        uint64_t first = s->next_in, dropped = s->wait.count;
        pending_clear(&s->wait);
        flow_node_log(node, FLOW_LOG_INFO,
                      "the run was stopped before message %llu came: the "
                      "%llu messages after it that came are not passed on, "
                      "so that the chunks are a prefix of the whole run's",
                      (unsigned long long)first, (unsigned long long)dropped);
    }
    if (s->wait.count > 0) {
        /* Ended with a gap: the messages after it are taken all the same,
         * and the gap said, as collect order=input says it. */
        uint64_t first = s->next_in, missing = 0;
        while (s->wait.count > 0) {
            flow_msg_t *msg = pending_pop(&s->wait);
            uint64_t seq = flow_msg_seq(msg);
            if (seq > s->next_in)
                missing += seq - s->next_in;
            if (seq >= s->next_in)
                s->next_in = seq + 1;
            int rc = take(node, s, &msg);
            flow_msg_destroy(&msg);
            if (rc < 0)
                return rc;
        }
        flow_node_log(node, FLOW_LOG_WARN,
                      "%llu messages never came (the first: number %llu), "
                      "and the messages after it waited in memory until the "
                      "end: a node upstream sent nothing for some inputs (it "
                      "should send an empty message)",
                      (unsigned long long)missing, (unsigned long long)first);
    }
    if (s->cur != NULL && flow_msg_count(s->cur) > 0)
        return emit(node, s, &s->cur);
    return 0;
}

static void
split_fini(flow_node_t *node, void *state)
{
    struct split *s = state;

    (void)node;
    flow_msg_destroy(&s->cur);
    pending_clear(&s->wait);
}

FLOW_NODE(split) = {
    FLOW_NODE_V1,
    .name = "split",
    .summary = "Cut a stream of items into chunks of a fixed size",
    .state_size = sizeof(struct split),
    .params = split_params,
    .ports = split_ports,
    .max_instances = 1,
    .init = split_init,
    .process = split_process,
    .finish = split_finish,
    .fini = split_fini,
};
