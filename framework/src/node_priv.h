/* SPDX-License-Identifier: MIT */
/*
 * node_priv.h: what the files of one node instance at run time share
 * (node.c: its life; node_wire.c: its sockets; node_send.c and
 * node_recv.c: its messages; node_barrier.c: its barriers and rendezvous).
 * Private to those files: the rest of the library sees the instance
 * through internal.h.
 */
#ifndef FLOW_NODE_PRIV_H
#define FLOW_NODE_PRIV_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <zmq.h>

#include "credit.h"
#include "internal.h"
#include "stats.h"

/* Single-writer counters in shared memory: plain relaxed stores. */
#define STAT_ADD(blk, field, v)                                           \
    do {                                                                  \
        if (blk)                                                          \
            __atomic_store_n(&(blk)->field, (blk)->field + (uint64_t)(v), \
                             __ATOMIC_RELAXED);                           \
    } while (0)

/* Longest blocking wait before a stop flag is looked at again, in ms. */
#define WAIT_MS 100

/* How long a node waits for input while it holds messages of a demand
 * input (flow_node_hold) and nothing comes there, before holding on that
 * input ends for the rest of the run: a producer with credit that never
 * sends (its work dealt to it by a fixed rule, and it skips some) would
 * otherwise stall it for good. In ms. */
#define HOLD_QUIET_MS 5000

static inline uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The clock of the wait counters (blocked, waiting). It is read twice for
 * every send or receive that has to wait: the coarse clock costs a few ns
 * where the precise one costs about 40 on a VM. Its ticks
 * are a few ms apart, so one short wait reads as 0 or one tick, but the
 * sum over many waits is right on average, and long waits are exact to a
 * tick.
 */
static inline uint64_t
wait_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One endpoint of the run, from the rendezvous's table. */
typedef struct ep_rec {
    size_t link;
    long a, b;
    char ep[160];
} ep_rec_t;

/* Over TCP, the monitor of a bound socket's connections: a ZMTP peer's
 * connection lost mid-run takes what was in flight with it, perhaps an end
 * marker or credits that nothing sends again (flow__node_check_drops).
 * Connections are counted, not told apart: an event names the bound
 * endpoint, not the peer, and libzmq says nothing when it refuses a
 * stranger's ZMTP 1.0 or 2.0 greeting (any bytes that are not ZMTP 3, an
 * HTTP request, a port scanner's probe) on a secured socket, only that the
 * connection closed. Each connection accepted closes once; those that
 * never completed a handshake are at most accepted - joined, so closes
 * beyond that number are connections of the run's peers, lost. */
typedef struct drop_watch {
    void *mon;         /* the PAIR socket its events come on; NULL: none */
    double lost_at;    /* when a connection was lost, 0: none */
    char addr[96];     /* the endpoint announced, then the one lost on */
    unsigned joined;   /* connections made (handshakes), reconnections too */
    uint64_t accepted; /* connections accepted, strangers' too */
    uint64_t closed;   /* connections accepted and closed since */
} drop_watch_t;

/* How long a lost data connection may stay unexplained: a peer killed or
 * stopped drops its connections too, and the rendezvous then stops the run
 * (it names a lost instance after 1 s), which says what happened. */
#define DROP_GRACE_S 3.0

/* How often receives that find data waiting look at the drops. */
#define DROP_LOOK_S 0.25

typedef struct chan {
    void *sock;
    drop_watch_t drop; /* pair, bound side over TCP */
    unsigned peer;     /* peer instance */
    uint64_t sent;     /* data frames sent on this channel */
    uint64_t rcvd;     /* pair: data frames received */
    bool out_closed;   /* our end marker was sent */
    bool eos;          /* pair: the peer's end marker arrived */
    uint64_t granted;  /* demand output: the frames it may have been sent in
                          all (the largest grant of its credit frames, at
                          first the link's hwm): it is sent while sent <
                          granted */
} chan_t;

/* What a demand input tells one producer: the data frames it took from
 * it, the total it last told and the frames it let it send in all (at
 * first the link's hwm), and where to (the routing id of the producer's
 * connection; libzmq makes them 5 bytes long). A round trip is being
 * measured while probe_at is not 0: the frame that ends it, the first the
 * credit sent at probe_ns lets the producer send. */
struct owed {
    uint64_t taken, told, granted;
    uint64_t held; /* of those taken, held by the node (flow_node_hold): not
                      counted in the grants; told is taken - held when last
                      told */
    uint64_t probe_at, probe_ns;
    unsigned owe_at; /* tell it again once this many more are taken */
    bool probe_dry;  /* that credit came when all granted were taken */
    bool starved;    /* the node waited for input before its last take */
    unsigned char len;
    unsigned char id[15];
};

typedef struct rport {
    const flow_port_t *decl;
    /* Copies for the receive path, one load nearer: */
    const char *name; /* decl->name */
    bool in;          /* decl->dir == FLOW_DIR_IN */
    flow_type_t type; /* what it carries: flow__port_type, or an `any`
                         port its peer's type */
    unsigned npeer;   /* peer->instances */
    const flow_glink_t *link;
    size_t link_index;
    int side;
    const flow_gnode_t *peer; /* node at the other end */
    unsigned nch;
    chan_t *ch;
    /* An output or pair port of one channel, not balance=demand, not
     * ended: its socket, which a frame goes to at once when it has room
     * (node_send.c); else NULL. */
    void *direct;
    void *pull;         /* input: the bound PULL socket */
    drop_watch_t drop;  /* input over TCP: pull's connections */
    uint64_t *rcvd;     /* input: data frames per producer */
    unsigned char *eos; /* input: end marker seen, per producer */
    unsigned nopen;     /* input or pair: producers or channels not ended */
    uint64_t discarded;
    bool given_up;       /* input: flow_node_close_input */
    bool given_up_ended; /* input: given up after its end (all read) */
    bool cut;            /* input or pair: a producer's stream was cut short */
    bool stop_recv;      /* pair: a graceful stop ends the node's receives
                            (flow_node_stop_ends_recv) */
    bool demand;       /* push, balance=demand: the input a ROUTER that credits
                          each producer for each data frame it takes, the output
                          DEALERs that send only on credit */
    struct owed *owe;  /* demand input: per producer, what to tell */
    uint64_t next_seq; /* output of a source of one instance: its numbers */
    unsigned rr;
    flow_port_stats_t *st;    /* this port's counters, NULL if not counted */
    size_t route_len;         /* demand input: the routing id of the */
    unsigned char route[256]; /* connection of the frame just received */
    /* Demand input, off the round robin path: */
    bool adapt;            /* the window adapts (credit.h) */
    unsigned window;       /* what each producer may send ahead: the link's
                              hwm, or within [hwm, credit_max] from est when
                              the link has no hwm of its own */
    flow_credit_est_t est; /* round trip and cost measured */
    unsigned takes;        /* taken since cost_mark_ns */
    uint64_t cost_mark_ns; /* start of this cost sample, 0 before the first
                              take */
    uint64_t waited_ns;    /* waited for input since then */
    bool starved;          /* found empty since the last take */
    bool holds_dropped;    /* said that holds on it were dropped */
    bool holds_off;        /* flow_node_hold holds nothing here any more */
    uint64_t nheld;        /* messages held, over its producers */
    unsigned quiet;        /* receive waits in a row that found nothing,
                              with messages held: flow__node_holds_quiet */
} rport_t;

struct flow_node {
    flow_inst_stats_t *st;    /* this instance's counters, NULL if none */
    flow_inst_stats_t *timed; /* st when the waits are timed, else NULL */
    const flow_graph_t *g;
    const flow_gnode_t *gn;
    unsigned inst;
    void *ctx;
    rport_t *ports;
    size_t nports;
    rport_t *ports_end; /* ports + nports, for flow__node_find_port */
    bool failed;
    char fail[FLOW_DIAG_MSG];
    bool processing;
    bool is_source; /* outputs only: a graceful stop ends its sends */
    bool auto_seq;  /* a source of one instance: numbers what it sends */
    bool may_stop;  /* no push input: flow_node_stopping sees a graceful stop */
    bool closing;   /* ending its streams: only a hard stop interrupts */
    bool stopped;   /* its work ended early by a graceful stop */
    bool inited;
    void *state;
    /* desc->process, for dispatch; NULL in the test harness */
    int (*process)(flow_node_t *, void *, const char *, flow_msg_t **);
    uint64_t cur_seq;
    unsigned last_ch; /* channel of the last data received: flow_node_channel */
    zmq_pollitem_t *items;
    void *rdv;   /* DEALER to the rendezvous, NULL with pipe barriers */
    size_t proc; /* this process's index in the run */
    char *hello; /* HELLO records of the endpoints we bound */
    size_t hlen, hcap;
    ep_rec_t *table;  /* every endpoint of the run (TCP) */
    int rdv_live_ms;  /* the rendezvous's liveness, from its TABLE; 0: none */
    double wired_at;  /* when its connecting sockets connected (TCP) */
    void *watch_sock; /* the watcher's DEALER, connected before the start */
    pthread_t watcher;
    bool watching;
    bool watch_drops;   /* some bound socket has a drop_watch_t monitor */
    unsigned drop_tick; /* messages received since the last clock read */
    double drop_next;   /* when busy receives look at the drops again */
    bool adapt;         /* some demand input's window adapts (credit.h) */
    bool holding;       /* flow_node_hold held something on a demand input */
    size_t ntable, tcap;
    rport_t **item_port;
    unsigned *item_ch;
    /* The same for waits inside a callback (a send to full consumers, a
     * receive on a pair port): process_loop's own stay intact across
     * process(). */
    zmq_pollitem_t *cb_items;
    unsigned *cb_ch;
    struct flow_harness *harness; /* in-process test harness, or NULL */
    int done_fd;       /* pipe barriers: the launcher's done pipe, else -1 */
    unsigned given_up; /* inputs given up (flow_node_close_input) */
    bool refused;   /* by the rendezvous: the instance is another process's */
    bool unreached; /* the rendezvous never answered */
};

/*
 * Transport of this process, set before flow__node_main: ipc endpoints in
 * the run directory and pipe barriers, or TCP endpoints exchanged through a
 * rendezvous that is also the barrier. Defined in node.c.
 */
struct flow__node_net {
    bool tcp;
    const char *bind_host; /* TCP: address to bind */
    const char *announce;  /* TCP: to advertise for a wildcard, or NULL */
    const char *rdv;       /* rendezvous endpoint, NULL: pipe barriers */
    bool remote; /* started apart (--instance): the rendezvous is another
                    process's, whose stop orders the instance says */
};
extern struct flow__node_net flow__net;

/* Stop requests from the launcher, set by node.c's signal handler (see
 * there): a graceful stop, a hard one, and either (whatever sets one of the
 * first two sets flow__stop_any too: flow__interrupted looks at it first). */
extern volatile sig_atomic_t flow__stop_soft;
extern volatile sig_atomic_t flow__stop_hard;
extern volatile sig_atomic_t flow__stop_any;

/* Whether the wait counters are kept: see flow__node_set_timing. */
extern bool flow__wait_timing;

/* Say that `node` now does `what` (FLOW_DOING_*); returns what it did. */
static inline uint32_t
flow__doing(flow_node_t *node, uint32_t what)
{
    uint32_t was = 0;

    if (node->st) {
        was = node->st->doing;
        __atomic_store_n(&node->st->doing, what, __ATOMIC_RELAXED);
    }
    return was;
}

/* The FLOW__DOING_ON value of `kind` (FLOW_DOING_*) on port `p` of `node`
 * (NULL: no one port). */
static inline uint32_t
flow__doing_on(const flow_node_t *node, uint32_t kind, const rport_t *p)
{
    return p ? FLOW__DOING_ON(kind, (uint32_t)(p - node->ports)) : kind;
}

/* FLOW_EINTR if this node must stop now, else 0. Called for every message
 * sent and received: with no stop asked, one load of flow__stop_any. */
static inline int
flow__interrupted(const flow_node_t *node)
{
    if (flow__stop_any &&
        (flow__stop_hard ||
         (flow__stop_soft && node->is_source && !node->closing)))
        return FLOW_EINTR;
    return 0;
}

/* Whether a receive (flow_node_recv, _recv_from) on pair port `p` ends now
 * for a graceful stop: flow_node_stop_ends_recv asked it, and the node is
 * told to stop and not yet ending its streams. */
static inline bool
flow__pair_recv_stopped(const flow_node_t *node, const rport_t *p)
{
    return flow__stop_soft && p->stop_recv && node->may_stop && !node->closing;
}

/* ---- node.c ---- */

/* The port of `node` named `name` by its text, or NULL. */
rport_t *flow__node_find_port_by_text(const flow_node_t *node,
                                      const char *name);

/* The port of `node` named `name`, or NULL. */
static inline rport_t *
flow__node_find_port(const flow_node_t *node, const char *name)
{
    rport_t *p, *end = node->ports_end;

    /* A node mostly names a port with the string of its port table (one
     * literal, merged by the compiler): a pointer compare finds it, with
     * no call on the message path. */
    for (p = node->ports; p < end; p++)
        if (p->name == name)
            return p;
    return flow__node_find_port_by_text(node, name);
}

/* Fail `node` for a misused port (message from `fmt`). FLOW_EPORT. */
int flow__node_port_misuse(flow_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- node_wire.c: endpoints and sockets ---- */

/*
 * Make room for this instance's sockets before it creates them: raise
 * libzmq's socket limit and the soft limit on open files as the node's
 * links need. Returns 0, or fails the node naming the limit.
 */
int flow__node_sockets_budget(flow_node_t *node);

/* Create the sockets of every port and bind the bound ones (in `run_dir`,
 * or on TCP, recording them for the rendezvous). 0, or the node failed. */
int flow__node_wire_bind(flow_node_t *node, const char *run_dir);

/* Connect the connecting sockets; every bound endpoint exists by now.
 * 0, or the node failed. */
int flow__node_wire_connect(flow_node_t *node, const char *run_dir);

/*
 * Over TCP, after a wait that timed out (a receive, a poll, or a send
 * waiting for room), and every DROP_LOOK_S while messages keep arriving
 * (the reconnected peer sends on, so no wait may ever time out): whether a
 * bound socket lost the connection of a peer (after its handshake) while the
 * stream from it was not over, DROP_GRACE_S ago and the run not stopped since.
 * Its socket reconnects, but what was in flight is gone, maybe the end marker
 * or the credits that would let the run go on. Also whether, longer than the
 * rendezvous's liveness (at least 10 s) after the start, an open input has had
 * fewer handshakes than its producer has instances, or a bound pair channel
 * none: a peer that cannot reach the announced address. 0, or fails the
 * node naming the link, rather than wait for ever.
 */
int flow__node_check_drops(flow_node_t *node);

/* Stop watching `sock`'s connections and close the monitor of `w`. */
void flow__node_unwatch(void *sock, drop_watch_t *w);

/* ---- node_send.c ---- */

/* What a call does with a port, for flow__node_port_for. */
enum port_use { USE_SEND, USE_CLOSE, USE_RECV };

/* Fail the node for `use` of `port`, found as `p` (NULL: unknown) but of
 * the wrong direction. Returns FLOW_EPORT. Defined in node.c. */
int flow__node_port_fail(flow_node_t *node, const char *port, const rport_t *p,
                         enum port_use use) __attribute__((cold));

/* Find `port` for `use`; fail the node (FLOW_EPORT) on an unknown port or
 * one of the wrong direction. */
static inline int
flow__node_port_for(flow_node_t *node, const char *port, enum port_use use,
                    rport_t **out)
{
    rport_t *p = flow__node_find_port(node, port);

    *out = p;
    if (!p || (use == USE_RECV ? p->decl->dir == FLOW_DIR_OUT : p->in))
        return flow__node_port_fail(node, port, p, use);
    return 0;
}

/* ---- node_recv.c ---- */

/* What flow__node_recv_frame got. */
enum { GOT_DATA = 0, GOT_EOS = 1, GOT_NOTHING = 2 };

/*
 * Receive one frame from `sock` of port `p` (channel `c` for a pair port)
 * into `*msg_p`: NULL, or a message the caller is done with (reused).
 * Returns GOT_DATA with `*msg_p` set, or with `*msg_p` destroyed GOT_EOS,
 * GOT_NOTHING (with ZMQ_DONTWAIT and nothing queued) or a negative code
 * with the node failed.
 */
int flow__node_recv_frame(flow_node_t *node, rport_t *p, unsigned c, void *sock,
                          int flags, flow_msg_t **msg_p);

/*
 * flow__node_recv_frame(node, p, 0, p->pull, 0, msg_p) on a push input `p`
 * that is not balance=demand, of a node that watches no drops
 * (node->watch_drops), with `flags` ZMQ_DONTWAIT when the node's waits are
 * timed (node->timed), else 0: what the receive loop looks at once, not for
 * every message. The common frame (int64 data from a producer whose stream
 * is open, no stop asked) takes a short way; anything else the general
 * one. Same returns.
 */
int flow__node_recv_push(flow_node_t *node, rport_t *p, int flags,
                         flow_msg_t **msg_p);

/*
 * Wait up to WAIT_MS for the first `n` of `items`, counting the wait as a
 * send's (`send`) or a receive's, on port `p` (NULL: on several, or on
 * none). Returns > 0 when something is ready, 0 when the caller should
 * look again, FLOW_EINTR when the node must stop, or a failure.
 */
int flow__node_poll_for(flow_node_t *node, zmq_pollitem_t *items, int n,
                        bool send, const rport_t *p);

/* A receive wait of `node` came back with nothing after WAIT_MS: on each
 * demand input with messages held, count it; after HOLD_QUIET_MS of them
 * in a row with nothing taken there, drop its holds and hold nothing more
 * there (said at level info). */
void flow__node_holds_quiet(flow_node_t *node);

/* flow__node_poll_for, waiting for input on `p` (NULL: several). */
int flow__node_poll_input(flow_node_t *node, zmq_pollitem_t *items, int n,
                          const rport_t *p);

/* Drop what is queued on given-up inputs still open. Returns 1 when one is
 * still open, 0 when none is, or a failure (the node failed). */
int flow__node_drop_given_up(flow_node_t *node);

/* Append to node->cb_items, from index `n`, the given-up inputs still
 * open; returns the new count. */
int flow__node_given_up_items(flow_node_t *node, int n);

/* Wait until socket `sock` of port `p` is ready for `events` or a
 * given-up input has something, at most WAIT_MS. Returns 1, or FLOW_EINTR
 * or a failure. */
int flow__node_wait_with_given_up(flow_node_t *node, const rport_t *p,
                                  void *sock, short events);

/* ---- node_barrier.c: the start and exit barriers, the rendezvous ---- */

/* Send `len` bytes of `text` to the rendezvous. 0, or FLOW_EINTR when
 * stopped. */
int flow__node_rdv_send(flow_node_t *node, const char *text, size_t len);

/* Stop and join the watcher thread, if it runs. */
void flow__node_watcher_stop(flow_node_t *node);

/* Start barrier: report this instance's endpoints bound (a byte on
 * `ready_fd`, or HELLO to the rendezvous) and wait until every instance
 * has (EOF on `go_fd`, or the rendezvous's TABLE). 0, FLOW_EINTR, or the
 * node failed. */
int flow__node_barrier_start(flow_node_t *node, int ready_fd, int go_fd);

/* Exit barrier: report done (`done_fd`, or DONE) and keep the sockets open
 * until every instance is (`release_fd`, or the rendezvous's release),
 * watching the inputs for frames after their end. 0, FLOW_EINTR, or the
 * node failed. */
int flow__node_barrier_exit(flow_node_t *node, int done_fd, int release_fd);

/* ---- node.c: the instance's life ---- */

/* Read what is left on inputs a run() node did not finish, so producers
 * can end; report it. 0, or the node failed. */
int flow__node_drain_inputs(flow_node_t *node);

/* After the exit barrier: free what is the node's, leaving sockets, context
 * and threads to the process's exit, which follows at once. */
void flow__node_leave(flow_node_t *node);

/* Close the node's sockets and context and free what it holds (a run that
 * failed or stopped, or the harness). */
void flow__node_release(flow_node_t *node);

#endif
