/* SPDX-License-Identifier: MIT */
/*
 * node_recv.c: what a node instance receives: frames checked against
 * their sender and counted, end markers, inputs given up, and the waits
 * that keep reading them (see node.c for the end-of-stream design).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "node_priv.h"

int
flow_node_close_input(flow_node_t *node, const char *port)
{
    rport_t *p;
    size_t i;

    if (node->harness)
        return flow__harness_close_input(node->harness, port);
    p = flow__node_find_port(node, port);
    if (!p || !p->in)
        return flow__node_port_misuse(
            node, "give up of %s port '%s' (an input only)",
            !p                              ? "unknown"
            : p->decl->dir == FLOW_DIR_PAIR ? "pair"
                                            : "output",
            port ? port : "(null)");
    if (p->given_up)
        return 0;
    p->given_up = true;
    p->given_up_ended = p->nopen == 0; /* nothing left unread */
    node->given_up++;
    i = (size_t)(p - node->ports);
    /* Tell the launcher or the rendezvous, which stop the producers once no
     * one wants their work. A run too large to say so runs them to their
     * end: what they send is discarded all the same. */
    if (flow__net.rdv) {
        char line[64];
        int n = snprintf(line, sizeof(line), "CLOSED %zu %zu\n", node->proc, i);
        return flow__node_rdv_send(node, line, (size_t)n) == FLOW_EINTR
                   ? FLOW_EINTR
                   : 0;
    }
    if (node->done_fd >= 0 && i < 64 && node->proc < (1u << 23)) {
        /* One write of 4 bytes to a pipe is atomic. */
        uint32_t rec =
            FLOW__DONE_CLOSED | (uint32_t)node->proc << 8 | (uint32_t)i;
        ssize_t w = write(node->done_fd, &rec, sizeof(rec));
        (void)w; /* failing (SIGPIPE, EPIPE): the launcher, and the run, are
                    gone */
    }
    return 0;
}


/* A frame from sender instance `src` (on channel `c` of a pair port) that
 * port `p` cannot take: fails the node, saying why; destroys `msg`. */
static int __attribute__((cold, noinline))
bad_sender(flow_node_t *node, rport_t *p, unsigned c, uint32_t src,
           flow_msg_t *msg)
{
    flow_msg_destroy(&msg);
    if (p->in && src >= p->npeer)
        return flow_node_fail(node,
                              "malformed message on link '%s': sender "
                              "instance %" PRIu32 " of %u",
                              p->link->text, src, p->npeer);
    if (!p->in && src != p->ch[c].peer)
        return flow_node_fail(node,
                              "malformed message on link '%s': sender "
                              "instance %" PRIu32 ", expected %u",
                              p->link->text, src, p->ch[c].peer);
    return flow_node_fail(node,
                          "malformed message on link '%s': data from "
                          "'%s'[%" PRIu32 "] after its end",
                          p->link->text, p->peer->name, src);
}

/*
 * An input with balance=demand has a ROUTER socket, which gives each frame
 * after the routing id of the producer's connection: receive that id into
 * `p->route`. Returns GOT_DATA when the frame follows, GOT_NOTHING (with
 * ZMQ_DONTWAIT and nothing queued), FLOW_EINTR, or a failure.
 */
static int __attribute__((noinline))
recv_route(flow_node_t *node, rport_t *p, void *sock, int flags)
{
    int got, more = 0;
    size_t len = sizeof(more);

    for (;;) {
        if ((!node->timed && !p->adapt) || (flags & ZMQ_DONTWAIT)) {
            got = zmq_recv(sock, p->route, sizeof(p->route), flags);
            if (got < 0 && p->adapt && zmq_errno() == EAGAIN)
                p->starved = true; /* empty: the next comes into a wait */
        } else {
            /* A wait for input is timed, as in recv_frame_in: the data
             * frame is there once its routing id is. An adapting window
             * takes the wait out of the cost per message: on the precise
             * clock. */
            got = zmq_recv(sock, p->route, sizeof(p->route), ZMQ_DONTWAIT);
            if (got < 0 && zmq_errno() == EAGAIN) {
                uint64_t t0 = p->adapt ? now_ns() : wait_clock_ns();
                got = zmq_recv(sock, p->route, sizeof(p->route), 0);
                uint64_t dt = (p->adapt ? now_ns() : wait_clock_ns()) - t0;
                p->waited_ns += dt;
                p->starved = true;
                STAT_ADD(node->timed, recv_wait_ns, dt);
            }
        }
        if (got >= 0)
            break;
        int e = zmq_errno();
        if (e != EAGAIN && e != EINTR)
            return flow_node_fail(node, "receive on port '%s' failed: %s",
                                  p->decl->name, zmq_strerror(e));
        if (flow__interrupted(node))
            return FLOW_EINTR;
        if (e == EAGAIN && (flags & ZMQ_DONTWAIT))
            return GOT_NOTHING;
        if (e == EAGAIN && node->watch_drops) {
            int rc = flow__node_check_drops(node);
            if (rc < 0)
                return rc;
        }
        if (e == EAGAIN && node->holding)
            flow__node_holds_quiet(node);
    }
    if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) || !more ||
        (size_t)got > sizeof(p->route))
        return flow_node_fail(node,
                              "malformed message on link '%s': a routing id "
                              "without its frame",
                              p->link->text);
    p->route_len = (size_t)got;
    return GOT_DATA; /* the frame: there once the first part is */
}

/* Tell the producer whose connection has routing id `id` that `taken` of
 * its data frames were taken in all and that it may send `granted` in all:
 * a credit frame of the two totals, 8 bytes little-endian each. Totals,
 * not increments: a frame lost with a connection (a TCP reconnect) is made
 * good by the next. */
static void
send_credits(void *sock, const unsigned char *id, size_t len, uint64_t taken,
             uint64_t granted)
{
    unsigned char b[16];

    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(taken >> (8 * i));
        b[8 + i] = (unsigned char)(granted >> (8 * i));
    }
    /* It fails only when the producer's connection is gone, and with it
     * whoever could use the credits. */
    if (zmq_send(sock, id, len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(sock, b, sizeof(b), ZMQ_DONTWAIT);
}

/* On demand input `p` whose window adapts, count the frame just taken
 * from producer `o` in the estimates (credit.h): a cost sample every
 * FLOW_CREDIT_COST_EVERY takes, and the round trip the frame ends, if it
 * tells one (below). Returns the time read, or 0 when it had no need to
 * read it. */
static uint64_t
measure(rport_t *p, struct owed *o)
{
    uint64_t now = 0;

    if (++p->takes >= FLOW_CREDIT_COST_EVERY) {
        now = now_ns();
        if (p->cost_mark_ns) {
            uint64_t span = now - p->cost_mark_ns;
            flow__credit_cost_sample(
                &p->est, span > p->waited_ns ? span - p->waited_ns : 0,
                p->takes);
        }
        p->cost_mark_ns = now;
        p->waited_ns = 0;
        p->takes = 0;
    }
    if (o->probe_at && o->taken >= o->probe_at) {
        /* Only a frame that came into an empty queue was taken about as
         * it came; one queued came at some earlier time. And only one the
         * producer sent as the credit came, as far as can be told. With a
         * wider window: the frame before this one came queued (the
         * producer sent as fast as it was let). With a window of 1 (the
         * credit was sent when all it had granted were taken): the frame
         * before this one came into a wait too, as every frame does at a
         * node faster than a round trip. A node slower than a round trip
         * finds its queue empty only when the producer had nothing to
         * send (a pause upstream, a hiccup): that wait, counted, made its
         * window 2 x wait / cost, and for the rest of the run, as with
         * that window its frames come queued and no sample follows. A
         * producer slower than this node sends each frame into a wait:
         * the frames after the credit come at its pace, and the sample is
         * as many of its intervals as the window is wide, which a wider
         * window makes longer still (on to credit_max). */
        if (p->starved && (o->probe_dry ? o->starved : !o->starved)) {
            if (!now)
                now = now_ns();
            flow__credit_rtt_sample(&p->est, now - o->probe_ns);
        }
        o->probe_at = 0;
    }
    /* The wait for the first frame is the run's start, no credit's. */
    o->starved = p->starved && o->taken > 1;
    p->starved = false;
    return now;
}

/* Whether producer `o` of demand input `p` is to be told now: once
 * `o->owe_at` more are taken and not held since it was last told, or when
 * it has sent all it was granted (held messages kept its credit back) and
 * may be granted more. */
static inline bool
owes_tell(const rport_t *p, const struct owed *o)
{
    uint64_t eff = o->taken - o->held;

    return (int64_t)(eff - o->told) >= (int64_t)o->owe_at ||
           (o->taken >= o->granted && eff + p->window > o->granted);
}

static void drop_stalled_holds(flow_node_t *node, rport_t *p);

/* Count the data frame just received on demand input `p` as taken from
 * producer `src`, over the connection `p->route` names; tell the producer
 * when owes_tell says, or at once on a connection it was never told on
 * (its first frame, a reconnect), granting it `p->window` frames ahead of
 * those taken and not held (never fewer than granted before). Returns 0,
 * or fails the node. Not inlined: off the round robin path, which
 * flow__node_recv_frame flattens. */
static int __attribute__((noinline))
credit(flow_node_t *node, rport_t *p, void *sock, uint32_t src)
{
    struct owed *o = &p->owe[src];
    uint64_t now = 0, granted;

    if (p->route_len > sizeof(o->id))
        return flow_node_fail(node,
                              "malformed message on link '%s': a routing id "
                              "of %zu bytes",
                              p->link->text, p->route_len);
    o->taken++;
    p->quiet = 0;
    if (p->adapt)
        now = measure(p, o);
    if (o->len != p->route_len || memcmp(o->id, p->route, o->len)) {
        o->len = (unsigned char)p->route_len;
        memcpy(o->id, p->route, p->route_len);
        o->told = o->taken - o->held - o->owe_at; /* tell it now */
    }
    if (!owes_tell(p, o)) {
        /* Held messages keep all its credit back: if the node does not
         * hold this one nor release any (it was in turn, and what waits
         * is not yet), nothing else would look. */
        if (o->held && o->taken >= o->granted)
            drop_stalled_holds(node, p);
        return 0;
    }
    if (p->adapt) {
        p->window = flow__credit_window(&p->est, (unsigned)p->link->hwm,
                                        (unsigned)p->link->credit_max);
        if (p->st && p->window > p->st->credit_window)
            STAT_ADD(p->st, credit_window, p->window - p->st->credit_window);
    }
    granted = o->taken - o->held + p->window;
    if (granted < o->granted)
        granted = o->granted; /* a grant is never taken back */
    if (p->adapt && !o->probe_at && granted > o->granted) {
        /* The first frame this lets come ends a round trip. */
        o->probe_at = o->granted + 1;
        o->probe_dry = o->taken == o->granted;
        o->probe_ns = now ? now : now_ns();
    }
    send_credits(sock, o->id, o->len, o->taken, granted);
    o->granted = granted;
    o->told = o->taken - o->held;
    /* Told again before the window granted now runs out, whatever the
     * window then: a frame of credits for a quarter of it (a credit per
     * frame where the window is up to 4). */
    o->owe_at = (p->window + 3) / 4;
    return 0;
}

/* Give back every hold on demand input `p`, granting each producer still
 * sending that had some its window ahead of all it sent, and say `why`
 * once (info). */
static void
release_holds(flow_node_t *node, rport_t *p, const char *why)
{
    for (unsigned k = 0; k < p->npeer; k++) {
        struct owed *o = &p->owe[k];
        if (!o->held)
            continue;
        o->held = 0;
        if (!p->eos[k] && o->len && owes_tell(p, o)) {
            o->granted = o->taken + p->window;
            o->told = o->taken;
            send_credits(p->pull, o->id, o->len, o->taken, o->granted);
        }
    }
    p->nheld = 0;
    p->quiet = 0;
    if (!p->holds_dropped) {
        p->holds_dropped = true;
        flow_node_log(node, FLOW_LOG_INFO, "holds on input '%s' dropped: %s",
                      p->name, why);
    }
}

/*
 * On demand input `p`, when every producer still sending has sent all it
 * was granted (held messages keep its credit back: it would have been told
 * otherwise), nothing more comes until a hold is released, and the node
 * may be waiting for just that: drop the holds. A no-op otherwise.
 */
static void
drop_stalled_holds(flow_node_t *node, rport_t *p)
{
    bool open = false;

    for (unsigned k = 0; k < p->npeer; k++) {
        if (p->eos[k])
            continue;
        if (p->owe[k].taken < p->owe[k].granted)
            return; /* it may still send */
        open = true;
    }
    if (open)
        release_holds(node, p,
                      "every producer still sending waits for credit that "
                      "held messages keep back (its messages do not come in "
                      "the order they are given back)");
}

void
flow__node_holds_quiet(flow_node_t *node)
{
    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        if (!p->demand || !p->nheld)
            continue;
        if (++p->quiet < HOLD_QUIET_MS / WAIT_MS)
            continue;
        char why[256];
        snprintf(why, sizeof(why),
                 "nothing came for %d s while messages were held, and "
                 "nothing is held there for the rest of the run (a producer "
                 "stopped, or one with credit that sends nothing, its work "
                 "dealt to it by a fixed rule)",
                 HOLD_QUIET_MS / 1000);
        p->holds_off = true;
        release_holds(node, p, why);
    }
}

/* The input port `port` of `node` that `what` (hold, release) names, with
 * `channel` one of its producers; NULL with the node failed. */
static rport_t *
hold_port(flow_node_t *node, const char *what, const char *port,
          unsigned channel)
{
    rport_t *p = flow__node_find_port(node, port);

    if (!p || !p->in) {
        flow__node_port_misuse(node, "%s on %s port '%s' (an input only)", what,
                               !p                              ? "unknown"
                               : p->decl->dir == FLOW_DIR_PAIR ? "pair"
                                                               : "output",
                               port ? port : "(null)");
        return NULL;
    }
    if (channel >= p->npeer) {
        flow__node_port_misuse(node,
                               "%s on port '%s': producer %u of %u (channels "
                               "count from 0)",
                               what, port, channel, p->npeer);
        return NULL;
    }
    return p;
}

int
flow_node_hold(flow_node_t *node, const char *port, unsigned channel,
               unsigned n)
{
    rport_t *p;
    struct owed *o;

    if (node->harness)
        return flow__harness_hold(node->harness, port, channel, n);
    if (!(p = hold_port(node, "hold", port, channel)))
        return FLOW_EPORT;
    if (!p->demand || p->holds_off)
        return 0;
    o = &p->owe[channel];
    if (n > o->taken - o->held)
        return flow__node_port_misuse(
            node,
            "hold of %u messages from producer %u on port '%s', which "
            "sent %" PRIu64 " not held",
            n, channel, port, o->taken - o->held);
    o->held += n;
    p->nheld += n;
    node->holding = true;
    drop_stalled_holds(node, p);
    return 0;
}

int
flow_node_release(flow_node_t *node, const char *port, unsigned channel,
                  unsigned n)
{
    rport_t *p;
    struct owed *o;

    if (node->harness)
        return flow__harness_release(node->harness, port, channel, n);
    if (!(p = hold_port(node, "release", port, channel)))
        return FLOW_EPORT;
    if (!p->demand)
        return 0;
    o = &p->owe[channel];
    n = n < o->held ? n : (unsigned)o->held;
    o->held -= n;
    p->nheld -= n;
    if (!p->eos[channel] && o->len && owes_tell(p, o)) {
        uint64_t granted = o->taken - o->held + p->window;
        if (granted > o->granted) {
            send_credits(p->pull, o->id, o->len, o->taken, granted);
            o->granted = granted;
            o->told = o->taken - o->held;
        }
    }
    return 0;
}

/* Over TCP, every 64th receive that found data (its caller counts them):
 * flow__node_check_drops every DROP_LOOK_S. A connection lost while its
 * peer, reconnected, sends on was otherwise found only after a wait for
 * input, which an endless stream may never have. 0, or the node failed. */
static int __attribute__((noinline)) drops_while_busy(flow_node_t *node)
{
    double now = flow__now_s();

    if (now < node->drop_next)
        return 0;
    node->drop_next = now + DROP_LOOK_S;
    return flow__node_check_drops(node);
}

/*
 * The frame of `len` bytes at `data` just received from `sock` of port `p`
 * (channel `c` for a pair port) into the slot of `*msg_p`: decoded, checked
 * against its sender, counted. Returns as flow__node_recv_frame.
 */
static inline __attribute__((always_inline)) int
accept_frame(flow_node_t *node, rport_t *p, unsigned c, void *sock,
             const void *data, size_t len, flow_msg_t **msg_p)
{
    flow_frame_info_t info;
    char why[128];
    int rc;
    uint64_t *rcvd;

    rc = flow__msg_from_slot_at(msg_p, data, len, &info, why, sizeof(why));
    if (rc)
        return flow_node_fail(node, "malformed message on link '%s': %s",
                              p->link->text, why);
    /* Data or end from a sender this port has, and not after its end. */
    if (p->in ? info.src >= p->npeer || p->eos[info.src]
              : info.src != p->ch[c].peer || p->ch[c].eos) {
        rc = bad_sender(node, p, c, info.src, *msg_p);
        *msg_p = NULL;
        return rc;
    }
    if (p->in)
        c = info.src; /* an input's producer: its own counts */
    rcvd = p->in ? &p->rcvd[c] : &p->ch[c].rcvd;
    if (info.kind == FLOW_FRAME_DATA) {
        flow_port_stats_t *st = p->st;
        if (p->demand && (rc = credit(node, p, sock, info.src))) {
            flow_msg_destroy(msg_p);
            return rc;
        }
        (*rcvd)++;
        node->last_ch = c;
        if (st) {
            STAT_ADD(st, in_msgs, 1);
            STAT_ADD(st, in_items, info.items);
            STAT_ADD(st, in_bytes, info.bytes);
        }
        if (node->watch_drops && ++node->drop_tick % 64 == 0 &&
            (rc = drops_while_busy(node)) < 0) {
            flow_msg_destroy(msg_p);
            return rc;
        }
        return GOT_DATA;
    }
    if (info.count != *rcvd)
        return flow_node_fail(node,
                              "link '%s': '%s'[%" PRIu32 "] sent %" PRIu64
                              " messages but %" PRIu64 " arrived",
                              p->link->text, p->peer->name, info.src,
                              info.count, *rcvd);
    if (p->in)
        p->eos[c] = 1;
    else
        p->ch[c].eos = true;
    if (p->demand)
        drop_stalled_holds(node, p); /* the others may be all that is left */
    p->cut |= info.cut;
    p->nopen--;
    return GOT_EOS;
}

/*
 * Receive one frame from `sock` of port `p` (channel `c` for a pair port)
 * into `*msg_p`: NULL, or a message the caller is done with (reused).
 * Returns GOT_DATA with `*msg_p` set, or with `*msg_p` destroyed GOT_EOS,
 * GOT_NOTHING (with ZMQ_DONTWAIT and nothing queued) or a negative code
 * with the node failed.
 */
static inline int __attribute__((always_inline))
recv_frame_in(flow_node_t *node, rport_t *p, unsigned c, void *sock, int flags,
              flow_msg_t **msg_p)
{
    zmq_msg_t *zm;
    int rc, got;

    /* Also when input keeps coming: look before taking. */
    if (flow__interrupted(node)) {
        flow_msg_destroy(msg_p);
        return FLOW_EINTR;
    }

    /* The frame is received straight into a message: no move. */
    zm = flow__msg_recv_slot(msg_p);
    if (p->demand && (got = recv_route(node, p, sock, flags)) != GOT_DATA) {
        flow_msg_destroy(msg_p);
        return got;
    }
    for (;;) {
        if (!node->timed) {
            got = zmq_msg_recv(zm, sock, flags); /* waits at most WAIT_MS */
        } else {
            /* Take what is queued without a clock read; only a receive
             * that has to wait is timed. Looking first costs libzmq one
             * more poll of its mailbox and a getpid whenever the queue is
             * empty (14 k and 16 k more per 4 M pinned 32-byte messages),
             * while clock reads would cost every message; hence only when
             * the waits are wanted. */
            got = zmq_msg_recv(zm, sock, ZMQ_DONTWAIT);
            if (got < 0 && !(flags & ZMQ_DONTWAIT) && zmq_errno() == EAGAIN) {
                uint64_t t0 = wait_clock_ns();
                got = zmq_msg_recv(zm, sock, 0);
                STAT_ADD(node->timed, recv_wait_ns, wait_clock_ns() - t0);
            }
        }
        if (got >= 0)
            break;
        int e = zmq_errno();
        if (e != EAGAIN && e != EINTR) {
            flow_msg_destroy(msg_p);
            return flow_node_fail(node, "receive on port '%s' failed: %s",
                                  p->decl->name, zmq_strerror(e));
        }
        if (flow__interrupted(node)) {
            flow_msg_destroy(msg_p);
            return FLOW_EINTR;
        }
        if (e == EAGAIN && (flags & ZMQ_DONTWAIT)) {
            flow_msg_destroy(msg_p);
            return GOT_NOTHING;
        }
        if (e == EAGAIN && node->watch_drops &&
            (rc = flow__node_check_drops(node)) < 0) {
            flow_msg_destroy(msg_p);
            return rc;
        }
    }
    /* zmq_msg_recv returns at most INT_MAX: ask the size of a larger one. */
    return accept_frame(node, p, c, sock, zmq_msg_data(zm),
                        got < INT_MAX ? (size_t)got : zmq_msg_size(zm), msg_p);
}

/* recv_frame_in on a pointer of its own, which the compiler can keep in a
 * register: the caller's has mostly escaped (to process()). */
int __attribute__((flatten))
flow__node_recv_frame(flow_node_t *node, rport_t *p, unsigned c, void *sock,
                      int flags, flow_msg_t **msg_p)
{
    flow_msg_t *msg = *msg_p;
    int rc = recv_frame_in(node, p, c, sock, flags, &msg);

    *msg_p = msg;
    return rc;
}

/* accept_frame out of line: the fast receive's way for anything but the
 * common frame. */
static int __attribute__((noinline))
accept_other(flow_node_t *node, rport_t *p, const void *data, size_t len,
             flow_msg_t **msg_p)
{
    return accept_frame(node, p, 0, p->pull, data, len, msg_p);
}

/* After a receive of flow__node_recv_push into `zm` found nothing queued
 * on `p` (ZMQ_DONTWAIT, as the node's waits are timed): the wait, timed as
 * in recv_frame_in. Returns what zmq_msg_recv returned; < 0 also when the
 * first receive failed otherwise (a signal). */
static int __attribute__((noinline))
recv_push_wait(flow_node_t *node, rport_t *p, zmq_msg_t *zm)
{
    if (zmq_errno() != EAGAIN)
        return -1;
    uint64_t t0 = wait_clock_ns();
    int got = zmq_msg_recv(zm, p->pull, 0);
    STAT_ADD(node->timed, recv_wait_ns, wait_clock_ns() - t0);
    return got;
}

int
flow__node_recv_push(flow_node_t *node, rport_t *p, int flags,
                     flow_msg_t **msg_p)
{
    flow_msg_t *msg = *msg_p;
    const void *data;
    int64_t src;
    int got;

    /* A stop asked: the general receive, which sees to it. */
    if (flow__stop_any)
        return flow__node_recv_frame(node, p, 0, p->pull, 0, msg_p);
    zmq_msg_t *zm = flow__msg_recv_slot(&msg);
    *msg_p = msg;
    /* Waits at most WAIT_MS; with timed waits, what is queued is taken
     * first without a clock read, as in recv_frame_in. */
    got = zmq_msg_recv(zm, p->pull, flags);
    if (got < 0 && (!flags || (got = recv_push_wait(node, p, zm)) < 0))
        /* Nothing within WAIT_MS, a signal, a failure: the general
         * receive looks at the stop and tries again, or says why. */
        return flow__node_recv_frame(node, p, 0, p->pull, 0, msg_p);
    src = flow__msg_slot_i64(msg, (size_t)got, &data);
    /* An int64 data frame from a producer whose stream is open, as
     * accept_frame would take it; anything else goes there. */
    if (src < 0 || src >= p->npeer || p->eos[src])
        return accept_other(node, p, data,
                            got < INT_MAX ? (size_t)got : zmq_msg_size(zm),
                            msg_p);
    p->rcvd[src]++;
    node->last_ch = (unsigned)src;
    flow_port_stats_t *st = p->st;
    if (st) {
        STAT_ADD(st, in_msgs, 1);
        STAT_ADD(st, in_items, ((size_t)got - FLOW_WIRE_HDR) / sizeof(int64_t));
        STAT_ADD(st, in_bytes, got);
    }
    return GOT_DATA;
}

/*
 * Wait up to WAIT_MS for the first `n` of `items`, counting the wait as a
 * send's (`send`) or a receive's. Returns > 0 when something is ready, 0
 * when the caller should look again, FLOW_EINTR when the node must stop,
 * or a failure.
 */
int
flow__node_poll_for(flow_node_t *node, zmq_pollitem_t *items, int n, bool send,
                    const rport_t *p)
{
    uint64_t t0 = node->timed ? wait_clock_ns() : 0;
    uint64_t a0 = node->adapt && !send ? now_ns() : 0;
    uint32_t was = flow__doing(
        node,
        flow__doing_on(node, send ? FLOW_DOING_SEND : FLOW_DOING_RECV, p));
    int prc = zmq_poll(items, n, WAIT_MS);

    flow__doing(node, was);
    if (a0) { /* a wait for input: not the work of adapting inputs */
        uint64_t dt = now_ns() - a0;
        for (size_t i = 0; i < node->nports; i++)
            if (node->ports[i].adapt)
                node->ports[i].waited_ns += dt;
    }
    if (t0 && send)
        STAT_ADD(node->timed, send_block_ns, wait_clock_ns() - t0);
    else if (t0)
        STAT_ADD(node->timed, recv_wait_ns, wait_clock_ns() - t0);
    if (flow__interrupted(node))
        return FLOW_EINTR;
    if (prc < 0 && zmq_errno() != EINTR)
        return flow_node_fail(node, "poll failed: %s",
                              zmq_strerror(zmq_errno()));
    if (prc == 0 && node->watch_drops) {
        int rc = flow__node_check_drops(node);
        if (rc < 0)
            return rc;
    }
    if (prc == 0 && !send && node->holding)
        flow__node_holds_quiet(node);
    return prc > 0 ? prc : 0;
}

/* flow__node_poll_for, waiting for input. */
int
flow__node_poll_input(flow_node_t *node, zmq_pollitem_t *items, int n,
                      const rport_t *p)
{
    return flow__node_poll_for(node, items, n, false, p);
}

/* Drop what is queued on given-up inputs still open. Returns 1 when one
 * is still open (then a blocking receive elsewhere must also watch them:
 * flow__node_wait_with_given_up), 0 when none is, or a failure (a malformed
 * frame, a loss: the node failed). */
int
flow__node_drop_given_up(flow_node_t *node)
{
    int open = 0;

    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        flow_msg_t *msg = NULL;
        int rc = GOT_NOTHING;
        if (!p->in || !p->given_up || !p->nopen)
            continue;
        while (p->nopen &&
               (rc = flow__node_recv_frame(node, p, 0, p->pull, ZMQ_DONTWAIT,
                                           &msg)) == GOT_DATA)
            p->discarded++;
        flow_msg_destroy(&msg);
        if (rc < 0)
            return rc;
        open |= p->nopen > 0;
    }
    return open;
}

/* Append to node->cb_items, from index `n`, the given-up inputs still
 * open; returns the new count. */
int
flow__node_given_up_items(flow_node_t *node, int n)
{
    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        if (!p->in || !p->given_up || !p->nopen)
            continue;
        node->cb_items[n].socket = p->pull;
        node->cb_items[n].fd = 0;
        node->cb_items[n].events = ZMQ_POLLIN;
        node->cb_items[n++].revents = 0;
    }
    return n;
}

/* Wait until socket `sock` is ready for `events` (ZMQ_POLLIN for a
 * receive, ZMQ_POLLOUT for a send) or a given-up input has something, at
 * most WAIT_MS. Returns 1, or FLOW_EINTR or a failure. */
int
flow__node_wait_with_given_up(flow_node_t *node, const rport_t *p, void *sock,
                              short events)
{
    node->cb_items[0].socket = sock;
    node->cb_items[0].fd = 0;
    node->cb_items[0].events = events;
    node->cb_items[0].revents = 0;
    int prc = flow__node_poll_for(node, node->cb_items,
                                  flow__node_given_up_items(node, 1),
                                  events == ZMQ_POLLOUT, p);
    return prc < 0 ? prc : 1;
}

/* Receive from any open channel of pair port `p`. */
static int
recv_pair_any(flow_node_t *node, rport_t *p, unsigned *chan_out,
              flow_msg_t **msg_p)
{
    for (;;) {
        int n = 0, rc;
        if (!p->nopen)
            return FLOW_EOF;
        if (flow__pair_recv_stopped(node, p))
            return FLOW_EINTR;
        for (unsigned c = 0; c < p->nch; c++) {
            if (p->ch[c].eos)
                continue;
            node->cb_items[n].socket = p->ch[c].sock;
            node->cb_items[n].fd = 0;
            node->cb_items[n].events = ZMQ_POLLIN;
            node->cb_items[n].revents = 0;
            node->cb_ch[n++] = c;
        }
        /* Inputs given up are read meanwhile, and dropped. */
        int prc = flow__node_poll_input(
            node, node->cb_items,
            node->given_up ? flow__node_given_up_items(node, n) : n, p);
        if (prc < 0)
            return prc;
        if (node->given_up && (rc = flow__node_drop_given_up(node)) < 0)
            return rc;
        if (prc == 0)
            continue;
        for (int i = 0; i < n; i++) {
            unsigned c = node->cb_ch[i];
            if (!(node->cb_items[i].revents & ZMQ_POLLIN))
                continue;
            rc = flow__node_recv_frame(node, p, c, p->ch[c].sock, ZMQ_DONTWAIT,
                                       msg_p);
            if (rc == GOT_DATA) {
                if (chan_out)
                    *chan_out = c;
                return 0;
            }
            if (rc < 0)
                return rc;
        }
    }
}

int
flow_node_stop_ends_recv(flow_node_t *node, const char *port)
{
    rport_t *p;

    if (node->harness) /* no stop there, but the same misuse */
        return flow__harness_stop_ends_recv(node->harness, port);
    p = flow__node_find_port(node, port);
    if (!p || p->decl->dir != FLOW_DIR_PAIR)
        return flow__node_port_misuse(
            node,
            "a stop that ends the receives of %s port '%s' (a pair "
            "port only)",
            !p      ? "unknown"
            : p->in ? "input"
                    : "output",
            port ? port : "(null)");
    p->stop_recv = true;
    return 0;
}

static int recv_any(flow_node_t *node, const char *port, flow_msg_t **msg_p);

int
flow_node_recv(flow_node_t *node, const char *port, flow_msg_t **msg_p)
{
    int rc;

    if (node->harness)
        return flow__harness_recv(node->harness, port, true, 0, msg_p);
    uint32_t was = flow__doing(node, FLOW_DOING_RECV);
    rc = recv_any(node, port, msg_p);
    flow__doing(node, was);
    return rc;
}

/* flow_node_recv, outside the harness. */
static int
recv_any(flow_node_t *node, const char *port, flow_msg_t **msg_p)
{
    rport_t *p;
    int rc;

    *msg_p = NULL; /* an output only: what it held is not read */
    if ((rc = flow__node_port_for(node, port, USE_RECV, &p)))
        return rc;
    flow__doing(node, flow__doing_on(node, FLOW_DOING_RECV, p));
    if (p->decl->dir == FLOW_DIR_PAIR)
        return recv_pair_any(node, p, NULL, msg_p);
    while (p->nopen && !p->given_up) {
        /* Inputs given up are read too, and dropped: their producer may
         * feed this one as well. */
        int open = node->given_up ? flow__node_drop_given_up(node) : 0;
        if (open < 0)
            return open;
        rc = flow__node_recv_frame(node, p, 0, p->pull, open ? ZMQ_DONTWAIT : 0,
                                   msg_p);
        if (rc == GOT_DATA)
            return 0;
        if (rc < 0)
            return rc;
        if (rc == GOT_NOTHING && (rc = flow__node_wait_with_given_up(
                                      node, p, p->pull, ZMQ_POLLIN)) < 0)
            return rc;
    }
    return FLOW_EOF;
}

static int recv_from(flow_node_t *node, const char *port, unsigned channel,
                     flow_msg_t **msg_p);

int
flow_node_recv_from(flow_node_t *node, const char *port, unsigned channel,
                    flow_msg_t **msg_p)
{
    int rc;

    if (node->harness)
        return flow__harness_recv(node->harness, port, false, channel, msg_p);
    uint32_t was = flow__doing(node, FLOW_DOING_RECV);
    rc = recv_from(node, port, channel, msg_p);
    flow__doing(node, was);
    return rc;
}

/* flow_node_recv_from, outside the harness. */
static int
recv_from(flow_node_t *node, const char *port, unsigned channel,
          flow_msg_t **msg_p)
{
    rport_t *p;
    int rc;

    *msg_p = NULL; /* an output only: what it held is not read */
    if ((rc = flow__node_port_for(node, port, USE_RECV, &p)))
        return rc;
    if (p->decl->dir != FLOW_DIR_PAIR || channel >= p->nch)
        return flow__node_port_misuse(
            node, "receive from channel %u of port '%s'", channel, port);
    flow__doing(node, flow__doing_on(node, FLOW_DOING_RECV, p));
    while (!p->ch[channel].eos) {
        /* Inputs given up are read meanwhile, and dropped. */
        int open = node->given_up ? flow__node_drop_given_up(node) : 0;
        if (open < 0)
            return open;
        if (flow__pair_recv_stopped(node, p))
            return FLOW_EINTR;
        /* One that a graceful stop ends waits in steps of WAIT_MS (a
         * blocking receive goes on until a hard stop). */
        rc = flow__node_recv_frame(node, p, channel, p->ch[channel].sock,
                                   open || p->stop_recv ? ZMQ_DONTWAIT : 0,
                                   msg_p);
        if (rc == GOT_DATA)
            return 0;
        if (rc < 0)
            return rc;
        if (rc == GOT_NOTHING &&
            (rc = flow__node_wait_with_given_up(node, p, p->ch[channel].sock,
                                                ZMQ_POLLIN)) < 0)
            return rc;
    }
    return FLOW_EOF;
}

bool
flow_node_input_cut(const flow_node_t *node, const char *port)
{
    const rport_t *p;

    if (node->harness)
        return flow__harness_input_cut(node->harness, port);
    p = flow__node_find_port(node, port);
    return p && p->decl->dir != FLOW_DIR_OUT && p->cut;
}
