/* SPDX-License-Identifier: MIT */
/*
 * node_send.c: what a node instance sends: data frames balanced over
 * the consumers of a push output or to one pair channel, blocking at the
 * high-water mark, and the end markers that close an output.
 */
#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "node_priv.h"

/* Fail `node` for a send of a `type` message on port `p`, which carries
 * another. FLOW_EPORT. */
static int __attribute__((cold, noinline))
wrong_type(flow_node_t *node, const rport_t *p, flow_type_t type)
{
    if (p->decl->type == FLOW_ANY) /* typed by its peer (node.c) */
        return flow__node_port_misuse(
            node,
            "send of a %s message on port '%s', which carries %s (the type "
            "port '%s.%s', linked to it, takes)",
            flow_type_name(type), p->decl->name, flow_type_name(p->type),
            p->peer->name,
            p->peer->desc->ports[p->link->port[1 - p->side]].name);
    return flow__node_port_misuse(
        node, "send of a %s message on port '%s', which carries %s%s",
        flow_type_name(type), p->decl->name, flow_type_name(p->type),
        p->decl->type == FLOW_SAME ? " (the type its links give it)" : "");
}

/* 0 if port `p` carries items of `type`; else FLOW_EPORT, node failed. On
 * every send: the compare inline, the failure out of line. */
static inline int
check_type(flow_node_t *node, const rport_t *p, flow_type_t type)
{
    if (p->type == FLOW_ANY || type == p->type)
        return 0;
    return wrong_type(node, p, type);
}

/* The sequence number a message sent on `p` gets when its sender gave
 * none: the input's in process(); the next of the port's 0, 1, 2, ... from
 * a source of one instance; else none. */
static inline uint64_t
seq_for_send(const flow_node_t *node, rport_t *p, uint64_t seq)
{
    if (seq != FLOW_SEQ_NONE)
        return seq;
    if (node->processing)
        return node->cur_seq;
    return node->auto_seq ? p->next_seq++ : seq;
}

static int
check_msg(flow_node_t *node, rport_t *p, flow_msg_t *msg)
{
    int rc;

    if (!msg)
        return flow__node_port_misuse(
            node, "send of a NULL message on port '%s'", p->decl->name);
    if ((rc = check_type(node, p, flow_msg_type(msg))))
        return rc;
    flow_msg_set_seq(msg, seq_for_send(node, p, flow_msg_seq(msg)));
    return 0;
}


/* Send `zm` on channel `c` of `p`, blocking. */
static int
send_blocking(flow_node_t *node, rport_t *p, unsigned c, zmq_msg_t *zm)
{
    while (zmq_msg_send(zm, p->ch[c].sock, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno(), open;

        if (e != EAGAIN && e != EINTR) {
            zmq_msg_close(zm);
            return flow_node_fail(node, "send on port '%s' failed: %s",
                                  p->decl->name, zmq_strerror(e));
        }
        /* While it waits for room, inputs given up are still read, and
         * what they bring dropped: their producer may feed the consumer
         * this send waits for (through another of its outputs). */
        open = node->given_up ? flow__node_drop_given_up(node) : 0;
        if (open > 0)
            open = flow__node_wait_with_given_up(node, p, p->ch[c].sock,
                                                 ZMQ_POLLOUT);
        if (open < 0) {
            zmq_msg_close(zm);
            return open;
        }
        if (open > 0)
            continue;
        /* Bounded waits: a stop signal that arrives between two calls is
         * seen within WAIT_MS. */
        if (!flow__interrupted(node)) {
            /* A send that waits at most WAIT_MS (ZMQ_SNDTIMEO): the
             * same wait raw libzmq does, without a zmq_poll per try. */
            uint64_t t0 = node->timed ? wait_clock_ns() : 0;
            uint32_t was =
                flow__doing(node, flow__doing_on(node, FLOW_DOING_SEND, p));
            int rc = zmq_msg_send(zm, p->ch[c].sock, 0);
            flow__doing(node, was);
            if (t0)
                STAT_ADD(node->timed, send_block_ns, wait_clock_ns() - t0);
            if (rc >= 0)
                return 0;
        }
        if (flow__interrupted(node)) {
            zmq_msg_close(zm);
            return FLOW_EINTR;
        }
        /* Waiting for a consumer: one whose connection never came, or was
         * lost, would be waited for ever. */
        if (node->watch_drops && (open = flow__node_check_drops(node)) < 0) {
            zmq_msg_close(zm);
            return open;
        }
    }
    return 0;
}

static int send_zmsg(flow_node_t *node, rport_t *p, int channel, zmq_msg_t *zm);


/* Count a frame of `items` items and `bytes` bytes sent on port `p` (when
 * it counts: --stats and the like). */
static inline void
count_sent(rport_t *p, size_t items, size_t bytes)
{
    flow_port_stats_t *st = p->st;

    if (st) {
        STAT_ADD(st, out_msgs, 1);
        STAT_ADD(st, out_items, items);
        STAT_ADD(st, out_bytes, bytes);
    }
}

/* Send the frame `zm` (consumed) of `items` items and `bytes` bytes on
 * `channel` of `p` (balanced if < 0), counting it. */
static inline int
send_counted(flow_node_t *node, rport_t *p, int channel, zmq_msg_t *zm,
             size_t items, size_t bytes)
{
    int rc;

    /* The common case first: one open consumer with room. */
    if (p->direct && zmq_msg_send(zm, p->direct, ZMQ_DONTWAIT) >= 0)
        p->ch[0].sent++;
    else if ((rc = send_zmsg(node, p, channel, zm)))
        return rc;
    count_sent(p, items, bytes);
    return 0;
}

static int
send_frame(flow_node_t *node, rport_t *p, int channel, flow_msg_t **msg_p)
{
    zmq_msg_t zm;
    size_t items, bytes;
    int rc;

    if ((rc = flow__interrupted(node)) || (rc = check_msg(node, p, *msg_p))) {
        flow_msg_destroy(msg_p);
        return rc;
    }
    items = flow_msg_count(*msg_p);
    bytes = flow__msg_to_zmq(msg_p, node->inst, &zm);
    return send_counted(node, p, channel, &zm, items, bytes);
}

/* flow_node_send_i64s, every case. */
static int __attribute__((noinline))
send_i64s(flow_node_t *node, const char *port, const int64_t *items, size_t n,
          uint64_t seq)
{
    rport_t *p;
    zmq_msg_t zm;
    size_t bytes;
    int rc;

    if (n > UINT32_MAX) {
        flow_node_fail(node,
                       "send of %zu items on port '%s': more than a "
                       "message holds",
                       n, port);
        return FLOW_EPROTO;
    }
    if (node->harness) {
        flow_msg_t *msg = flow_msg_new(FLOW_INT64, n);
        (void)flow_msg_add_i64s(msg, items, n);
        flow_msg_set_seq(msg, seq);
        return flow__harness_send(node->harness, port, true, 0, &msg);
    }
    if ((rc = flow__node_port_for(node, port, USE_SEND, &p)) ||
        (rc = flow__interrupted(node)) ||
        (rc = check_type(node, p, FLOW_INT64)))
        return rc;
    bytes = flow__msg_zmq_i64s(&zm, node->inst, items, n,
                               seq_for_send(node, p, seq));
    return send_counted(node, p, p->nch == 1 ? 0 : -1, &zm, n, bytes);
}

/* The frame `zm` of `n` items and `bytes` bytes, which direct port `p`
 * had no room for: sent the general way (it waits), and counted. */
static int __attribute__((noinline))
send_direct_full(flow_node_t *node, rport_t *p, zmq_msg_t *zm, size_t n,
                 size_t bytes)
{
    int rc = send_zmsg(node, p, 0, zm);

    if (rc == 0)
        count_sent(p, n, bytes);
    return rc;
}

int __attribute__((flatten))
flow_node_send_i64s(flow_node_t *node, const char *port, const int64_t *items,
                    size_t n, uint64_t seq)
{
    rport_t *p = flow__node_find_port(node, port);

    /* The common call, in as few instructions as it takes: a port of one
     * consumer that has room (p->direct: an output or pair port of a node
     * at run time, not the harness's), no stop asked, items it carries, no
     * more than a message holds. Anything else: send_i64s. */
    if (!p || !p->direct || flow__stop_any || n > UINT32_MAX ||
        (p->type != FLOW_INT64 && p->type != FLOW_ANY))
        return send_i64s(node, port, items, n, seq);

    zmq_msg_t zm;
    size_t bytes = flow__msg_zmq_i64s(&zm, node->inst, items, n,
                                      seq_for_send(node, p, seq));
    if (zmq_msg_send(&zm, p->direct, ZMQ_DONTWAIT) < 0)
        return send_direct_full(node, p, &zm, n, bytes);
    p->ch[0].sent++;
    count_sent(p, n, bytes);
    return 0;
}

int
flow_node_send_raw(flow_node_t *node, const char *port, const void *frame,
                   size_t len)
{
    rport_t *p;
    zmq_msg_t zm;
    int rc;

    if (node->harness) {
        flow_node_fail(node, "no raw frames in a harness, port '%s'", port);
        return FLOW_EPORT;
    }
    rc = flow__node_port_for(node, port, USE_SEND, &p);
    if (rc || (rc = flow__interrupted(node)))
        return rc;
    if (zmq_msg_init_size(&zm, len))
        return flow_node_fail(node, "cannot make a message: %s",
                              zmq_strerror(zmq_errno()));
    if (len)
        memcpy(zmq_msg_data(&zm), frame, len);
    return send_counted(node, p, p->nch == 1 ? 0 : -1, &zm, 0, len);
}

/* Read the credit frames the consumer of channel `c` of demand output
 * `p` sent: each the total of data frames it took and the total it lets
 * be sent, 8 bytes little-endian each; the first at most what was sent,
 * the second at least the first and at most credit_max more. The largest
 * grant is the channel's `granted`. 0, or the node failed. */
static int
take_credits(flow_node_t *node, rport_t *p, unsigned c)
{
    chan_t *ch = &p->ch[c];
    unsigned char b[17];
    int n;

    while ((n = zmq_recv(ch->sock, b, sizeof(b), ZMQ_DONTWAIT)) >= 0) {
        uint64_t taken = 0, granted = 0;
        for (int i = 0; i < 8; i++) {
            taken |= (uint64_t)b[i] << (8 * i);
            granted |= (uint64_t)b[8 + i] << (8 * i);
        }
        if (n != 16 || taken > ch->sent || granted < taken ||
            granted - taken > (uint64_t)p->link->credit_max)
            return flow_node_fail(
                node, "malformed message on link '%s': %s from '%s'[%u]",
                p->link->text,
                n != 16            ? "a frame back"
                : taken > ch->sent ? "more credits than frames sent"
                                   : "a credit window out of range",
                p->peer->name, ch->peer);
        if (granted > ch->granted)
            ch->granted = granted;
    }
    if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
        return flow_node_fail(node, "receive on port '%s' failed: %s",
                              p->decl->name, zmq_strerror(zmq_errno()));
    return 0;
}

/* Whether the consumer of channel `ch` of demand output `p` may be sent a
 * frame: fewer sent to it than it granted. */
static inline bool
has_credit(const chan_t *ch)
{
    return ch->sent < ch->granted;
}

/*
 * Send `zm` (consumed) on demand output `p`: to channel `channel`, or if
 * < 0 to the next open one (round robin) whose consumer has credit,
 * waiting for a credit when none has. Given-up inputs are read meanwhile,
 * and dropped (as in send_blocking).
 */
static int
send_demand(flow_node_t *node, rport_t *p, int channel, zmq_msg_t *zm)
{
    unsigned first = channel >= 0 ? (unsigned)channel : p->rr;
    unsigned span = channel >= 0 ? 1 : p->nch;
    int rc;

    for (;;) {
        int n = 0;
        for (unsigned k = 0; k < span; k++) {
            unsigned c = (first + k) % p->nch;
            chan_t *ch = &p->ch[c];
            if (ch->out_closed)
                continue;
            if (!has_credit(ch) && (rc = take_credits(node, p, c)) < 0) {
                zmq_msg_close(zm);
                return rc;
            }
            if (has_credit(ch)) {
                /* Never full: at most credit_max frames are on their
                 * way, and the socket has no hwm (node_wire.c). */
                if ((rc = send_blocking(node, p, c, zm)))
                    return rc;
                ch->sent++;
                if (channel < 0)
                    p->rr = (c + 1) % p->nch;
                return 0;
            }
            node->cb_items[n] = (zmq_pollitem_t){ ch->sock, 0, ZMQ_POLLIN, 0 };
            n++;
        }
        if (!n) {
            zmq_msg_close(zm);
            return flow__node_port_misuse(
                node, "send on port '%s' after its end", p->decl->name);
        }
        if (node->given_up) {
            if ((rc = flow__node_drop_given_up(node)) < 0) {
                zmq_msg_close(zm);
                return rc;
            }
            n = flow__node_given_up_items(node, n);
        }
        if ((rc = flow__node_poll_for(node, node->cb_items, n, true, p)) < 0) {
            zmq_msg_close(zm);
            return rc;
        }
    }
}

/* Send `zm` (consumed) on channel `channel` of `p`, or balanced if < 0. */
static int
send_zmsg(flow_node_t *node, rport_t *p, int channel, zmq_msg_t *zm)
{
    int rc;

    if (p->demand && (channel < 0 || !p->ch[channel].out_closed))
        return send_demand(node, p, channel, zm);
    if (channel >= 0) {
        if (p->ch[channel].out_closed) {
            zmq_msg_close(zm);
            if (p->nch == 1)
                return flow__node_port_misuse(
                    node, "send on port '%s' after its end", p->decl->name);
            return flow__node_port_misuse(
                node, "send on port '%s' channel %d after its end",
                p->decl->name, channel);
        }
        if ((rc = send_blocking(node, p, (unsigned)channel, zm)))
            return rc;
        p->ch[channel].sent++;
        return 0;
    }
    for (;;) {
        unsigned open = 0;
        /* Balance: the next channel with room, round robin. */
        for (unsigned k = 0; k < p->nch; k++) {
            unsigned c = (p->rr + k) % p->nch;
            if (p->ch[c].out_closed)
                continue;
            open++;
            if (zmq_msg_send(zm, p->ch[c].sock, ZMQ_DONTWAIT) >= 0) {
                p->ch[c].sent++;
                p->rr = (c + 1) % p->nch;
                return 0;
            }
            if (zmq_errno() != EAGAIN && zmq_errno() != EINTR) {
                zmq_msg_close(zm);
                return flow_node_fail(node, "send on port '%s' failed: %s",
                                      p->decl->name, zmq_strerror(zmq_errno()));
            }
        }
        if (!open) {
            zmq_msg_close(zm);
            return flow__node_port_misuse(
                node, "send on port '%s' after its end", p->decl->name);
        }
        /* Every consumer is full: wait until one has room. Inputs given
         * up are read meanwhile, and dropped (as in send_blocking). */
        int n = (int)p->nch;
        if (node->given_up && (rc = flow__node_drop_given_up(node)) < 0) {
            zmq_msg_close(zm);
            return rc;
        }
        for (unsigned c = 0; c < p->nch; c++) {
            node->cb_items[c].socket = p->ch[c].sock;
            node->cb_items[c].fd = 0;
            node->cb_items[c].events = p->ch[c].out_closed ? 0 : ZMQ_POLLOUT;
            node->cb_items[c].revents = 0;
        }
        if (node->given_up)
            n = flow__node_given_up_items(node, n);
        if ((rc = flow__node_poll_for(node, node->cb_items, n, true, p)) < 0) {
            zmq_msg_close(zm);
            return rc;
        }
    }
}

/* A message already sent or destroyed (a copy of its pointer kept): the
 * node fails; sending or pooling it again would hand one message out twice. */
static int
spent(flow_node_t *node, const char *port, flow_msg_t **msg_p)
{
    if (!msg_p || !*msg_p || !flow__msg_spent(*msg_p))
        return 0;
    *msg_p = NULL;
    return flow__node_port_misuse(
        node,
        "send on port '%s' of a message already sent or "
        "destroyed (a copy of its pointer kept after "
        "flow_node_send or flow_msg_destroy)",
        port ? port : "(null)");
}

int
flow_node_send(flow_node_t *node, const char *port, flow_msg_t **msg_p)
{
    rport_t *p;
    int rc;

    if ((rc = spent(node, port, msg_p)))
        return rc;
    if (node->harness)
        return flow__harness_send(node->harness, port, true, 0, msg_p);
    if ((rc = flow__node_port_for(node, port, USE_SEND, &p))) {
        flow_msg_destroy(msg_p);
        return rc;
    }
    return send_frame(node, p, p->nch == 1 ? 0 : -1, msg_p);
}

int
flow_node_send_to(flow_node_t *node, const char *port, unsigned channel,
                  flow_msg_t **msg_p)
{
    rport_t *p;
    int rc;

    if ((rc = spent(node, port, msg_p)))
        return rc;
    if (node->harness)
        return flow__harness_send(node->harness, port, false, channel, msg_p);
    rc = flow__node_port_for(node, port, USE_SEND, &p);
    if (!rc && channel >= p->nch)
        rc = flow__node_port_misuse(node,
                                    "send on port '%s' to channel %u of %u",
                                    port, channel, p->nch);
    if (rc) {
        flow_msg_destroy(msg_p);
        return rc;
    }
    return send_frame(node, p, (int)channel, msg_p);
}

/*
 * Whether the streams `node` ends now are cut short: its work ended at a
 * graceful stop (or it ends one itself, from run(), after being told to
 * stop), or a stream it reads was cut (an input it gave up before its end
 * excepted: it wanted no more of that one; one given up after its end was
 * read whole, cut and all).
 */
static bool
streams_cut(const flow_node_t *node)
{
    if (node->stopped || (!node->closing && flow__stop_soft &&
                          (node->is_source || node->may_stop)))
        return true;
    for (size_t i = 0; i < node->nports; i++)
        if (node->ports[i].cut &&
            (!node->ports[i].given_up || node->ports[i].given_up_ended))
            return true;
    return false;
}

static int
close_channel(flow_node_t *node, rport_t *p, unsigned c)
{
    unsigned char eos[FLOW_WIRE_HDR];
    zmq_msg_t zm;

    if (p->ch[c].out_closed)
        return 0;
    flow__msg_encode_eos(node->inst, p->ch[c].sent, streams_cut(node), eos);
    zmq_msg_init_size(&zm, sizeof(eos));
    memcpy(zmq_msg_data(&zm), eos, sizeof(eos));
    p->ch[c].out_closed = true;
    p->direct = NULL; /* a send after the end is refused by send_zmsg */
    return send_blocking(node, p, c, &zm);
}

int
flow_node_close(flow_node_t *node, const char *port)
{
    rport_t *p;
    int rc;

    if (node->harness)
        return flow__harness_close(node->harness, port, true, 0);
    rc = flow__node_port_for(node, port, USE_CLOSE, &p);
    for (unsigned c = 0; !rc && c < p->nch; c++)
        rc = close_channel(node, p, c);
    return rc;
}

int
flow_node_close_to(flow_node_t *node, const char *port, unsigned channel)
{
    rport_t *p;
    int rc;

    if (node->harness)
        return flow__harness_close(node->harness, port, false, channel);
    if ((rc = flow__node_port_for(node, port, USE_CLOSE, &p)))
        return rc;
    if (channel >= p->nch)
        return flow__node_port_misuse(
            node, "close of port '%s' channel %u of %u", port, channel, p->nch);
    return close_channel(node, p, channel);
}
