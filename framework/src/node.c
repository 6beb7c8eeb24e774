/* SPDX-License-Identifier: MIT */
/*
 * node.c: one node instance at run time, in its own process.
 *
 * Wiring. An input port binds one PULL socket that every producer instance
 * connects to (fan-in). An output port has one PUSH socket per consumer
 * instance and balances messages over them itself, skipping full ones, so
 * it can also send each consumer its own end-of-stream marker. A pair port
 * has one PAIR socket per peer instance (the link's first side binds).
 *
 * End-of-stream. Every data frame names its sender instance; every
 * producer, when done, sends each consumer an end marker that carries the
 * number of data frames it sent to that consumer. A consumer ends an input
 * only when every producer's marker has arrived, and checks each count
 * against what it received: a loss is reported, never ignored.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "internal.h"
#include "netaddr.h"
#include "rendezvous.h"
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

static uint64_t
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
static uint64_t
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

typedef struct chan {
    void *sock;
    unsigned peer;   /* peer instance */
    uint64_t sent;   /* data frames sent on this channel */
    uint64_t rcvd;   /* pair: data frames received */
    bool out_closed; /* our end marker was sent */
    bool eos;        /* pair: the peer's end marker arrived */
} chan_t;

typedef struct rport {
    const flow_port_t *decl;
    /* Copies for the receive path, one load nearer: */
    const char *name; /* decl->name */
    bool in;          /* decl->dir == FLOW_DIR_IN */
    unsigned npeer;   /* peer->instances */
    const flow_glink_t *link;
    size_t link_index;
    int side;
    const flow_gnode_t *peer; /* node at the other end */
    unsigned nch;
    chan_t *ch;
    void *pull;         /* input: the bound PULL socket */
    uint64_t *rcvd;     /* input: data frames per producer */
    unsigned char *eos; /* input: end marker seen, per producer */
    unsigned nopen;     /* input or pair: producers or channels not ended */
    uint64_t discarded;
    bool given_up;     /* input: flow_node_close_input */
    uint64_t next_seq; /* output of a source of one instance: its numbers */
    unsigned rr;
    flow_port_stats_t *st; /* this port's counters, NULL if not counted */
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
    ep_rec_t *table; /* every endpoint of the run (TCP) */
    pthread_t watcher;
    bool watching;
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
 * rendezvous that is also the barrier.
 */
static struct {
    bool tcp;
    const char *bind_host; /* TCP: address to bind */
    const char *announce;  /* TCP: to advertise for a wildcard, or NULL */
    const char *rdv;       /* rendezvous endpoint, NULL: pipe barriers */
    bool remote; /* started apart (--instance): the rendezvous is another
                    process's, whose stop orders the instance says */
} net;

void
flow__node_set_net(bool tcp, const char *bind_host, const char *announce,
                   const char *rdv, bool remote)
{
    net.tcp = tcp;
    net.announce = announce;
    net.remote = remote;
    net.bind_host = bind_host && *bind_host ? bind_host : "127.0.0.1";
    net.rdv = rdv;
}

/*
 * Stop requests from the launcher. SIGUSR1: a graceful stop, sources end
 * their streams (their sends return FLOW_EINTR), nodes without a push input
 * that ask flow_node_stopping end their work, and everything downstream
 * drains. SIGTERM: stop now; the blocking calls return FLOW_EINTR so the
 * node's fini still runs. stop_any is either, for the receive path's one
 * look per message.
 */
static volatile sig_atomic_t stop_soft;
static volatile sig_atomic_t stop_hard;
static volatile sig_atomic_t stop_any;

static void
on_stop_signal(int sig)
{
    if (sig == SIGTERM)
        stop_hard = 1;
    else
        stop_soft = 1;
    stop_any = 1;
}

void
flow__node_signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

void
flow__node_signals_unblock(void)
{
    sigset_t m;

    sigemptyset(&m);
    sigaddset(&m, SIGTERM);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGPIPE);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

/* FLOW_EINTR if this node must stop now, else 0. */
static int
interrupted(const flow_node_t *node)
{
    if (stop_hard || (stop_soft && node->is_source && !node->closing))
        return FLOW_EINTR;
    return 0;
}

int
flow_node_stopping(const flow_node_t *node)
{
    if (node->harness)
        return 0;
    if (stop_hard || (stop_soft && node->may_stop && !node->closing))
        return FLOW_EINTR;
    return 0;
}

int
flow_node_await_stop(const flow_node_t *node, unsigned ms)
{
    for (unsigned waited = 0;; waited += 5) {
        int rc = flow_node_stopping(node);
        if (rc || waited >= ms || node->harness)
            return rc;
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
}

static void watcher_stop(flow_node_t *node);
static int rdv_send(flow_node_t *node, const char *text, size_t len);

const char *
flow_node_name(const flow_node_t *node)
{
    return node->gn->name;
}

unsigned
flow_node_instance(const flow_node_t *node)
{
    return node->inst;
}

unsigned
flow_node_instances(const flow_node_t *node)
{
    return node->gn->instances;
}

/* find_port by the names' text. */
static rport_t *__attribute__((noinline))
find_port_by_text(const flow_node_t *node, const char *name)
{
    for (size_t i = 0; i < node->nports; i++)
        if (!strcmp(node->ports[i].decl->name, name))
            return &node->ports[i];
    return NULL;
}

static inline rport_t *
find_port(const flow_node_t *node, const char *name)
{
    rport_t *p, *end = node->ports + node->nports;

    /* A node mostly names a port with the string of its port table (one
     * literal, merged by the compiler): a pointer compare finds it, with
     * no call on the message path. */
    for (p = node->ports; p < end; p++)
        if (p->decl->name == name)
            return p;
    return find_port_by_text(node, name);
}

unsigned
flow_node_channels(const flow_node_t *node, const char *port)
{
    rport_t *p;

    if (node->harness)
        return flow__harness_channels(node->harness, port);
    if (!(p = find_port(node, port)))
        return 0;
    return p->decl->dir == FLOW_DIR_IN ? p->peer->instances : p->nch;
}

unsigned
flow_node_channel(const flow_node_t *node)
{
    if (node->harness)
        return flow__harness_channel(node->harness);
    return node->last_ch;
}

size_t
flow_node_batch(const flow_node_t *node, const char *port)
{
    rport_t *p;

    if (node->harness)
        return flow__harness_batch(node->harness, port);
    p = find_port(node, port);
    return p ? p->link->batch : 0;
}

static const char *const level_name[] = { "error", "warning", "info", "debug" };

/* Set by the launcher in the child: the log level and whether stderr is
 * captured (the launcher then adds the node[instance] prefix). */
static int log_max = FLOW_LOG_INFO;
static bool log_captured;

void
flow__node_set_logging(int level, bool captured)
{
    log_max = level;
    log_captured = captured;
}

/* Whether the wait counters are kept: see flow__node_set_timing. */
static bool wait_timing = true;

void
flow__node_set_timing(bool on)
{
    wait_timing = on;
}

static void vlog(const flow_node_t *node, flow_log_level_t level,
                 const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vlog(const flow_node_t *node, flow_log_level_t level, const char *fmt,
     va_list ap)
{
    char line[1024];
    int n;
    size_t len;

    if ((int)level < 0 || level > FLOW_LOG_DEBUG)
        level = FLOW_LOG_INFO;
    if ((int)level > (node->gn->log_level >= 0 ? node->gn->log_level : log_max))
        return;
    if (log_captured)
        n = snprintf(line, sizeof(line), "%s: ", level_name[level]);
    else if (net.remote) /* the prefix of a local run's relayed lines */
        n = snprintf(line, sizeof(line), "%s[%u] (pid %d) %s: ", node->gn->name,
                     node->inst, (int)getpid(), level_name[level]);
    else
        n = snprintf(line, sizeof(line), "%s[%u] %s: ", node->gn->name,
                     node->inst, level_name[level]);
    if (n < 0)
        return;
    len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
    if (n > 0)
        len += (size_t)n < sizeof(line) - len - 1 ? (size_t)n
                                                  : sizeof(line) - len - 2;
    line[len++] = '\n';
    /* One write: lines of concurrent instances never interleave. */
    if (write(STDERR_FILENO, line, len) < 0)
        return;
}

void
flow_node_log(flow_node_t *node, flow_log_level_t level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(node, level, fmt, ap);
    va_end(ap);
}

static void
vfail(flow_node_t *node, const char *fmt, va_list ap)
{
    if (!node->failed) {
        node->failed = true;
        vsnprintf(node->fail, sizeof(node->fail), fmt, ap);
    }
}

int
flow_node_fail(flow_node_t *node, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(node, fmt, ap);
    va_end(ap);
    return FLOW_ENODE;
}

/* flow_node_fail for a call that misuses a port (ended, no such channel, a
 * NULL message): returns FLOW_EPORT, as the harness does. */
static int __attribute__((cold, noinline, format(printf, 2, 3)))
port_misuse(flow_node_t *node, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(node, fmt, ap);
    va_end(ap);
    return FLOW_EPORT;
}

/* ---- Endpoints and sockets ----------------------------------------------- */

int
flow__endpoint(char *buf, size_t size, const char *run_dir, size_t l,
               unsigned a, unsigned b)
{
    int n;

    if (b == UINT32_MAX)
        n = snprintf(buf, size, "ipc://%s/%zu.%u", run_dir, l, a);
    else
        n = snprintf(buf, size, "ipc://%s/%zu.%u.%u", run_dir, l, a, b);
    /* The socket path (after "ipc://") must fit in sun_path. */
    if (n < 0 || (size_t)n >= size || n - 6 >= 108)
        return -ENAMETOOLONG;
    return 0;
}

static void *
make_socket(flow_node_t *node, int type, int hwm)
{
    void *s = zmq_socket(node->ctx, type);
    int linger = 0;     /* the exit barrier makes lingering unnecessary */
    int wait = WAIT_MS; /* blocking calls come back to look at stop flags */

    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &wait, sizeof(wait));
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &wait, sizeof(wait));
    return s;
}

static int
sock_fail(flow_node_t *node, const rport_t *p, const char *what, const char *ep)
{
    int e = zmq_errno();

    if (e == EINTR && stop_hard)
        return FLOW_EINTR; /* stopped (another failed) while wiring */
    return flow_node_fail(node, "cannot %s '%s' for port '%s': %s", what, ep,
                          p->decl->name, zmq_strerror(e));
}

/* Bind `sock` for endpoint (link, a, b) of port `p`: in the run directory,
 * or on a TCP port of the kernel's choice; record it for the rendezvous. */
static int
bind_endpoint(flow_node_t *node, rport_t *p, void *sock, const char *run_dir,
              long a, long b)
{
    char ep[256];
    size_t len = sizeof(ep);
    int n;

    if (net.tcp) {
        if (flow__tcp_endpoint(ep, sizeof(ep), net.bind_host, "*"))
            return flow_node_fail(node, "bind address '%s' too long",
                                  net.bind_host);
        flow__zmq_ipv6_for(sock, ep);
        if (zmq_bind(sock, ep))
            return sock_fail(node, p, "bind", ep);
        if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len) ||
            flow__endpoint_fix(ep, sizeof(ep),
                               net.announce ? net.announce : net.bind_host))
            return flow_node_fail(node, "cannot read the port bound for '%s'",
                                  p->decl->name);
    } else {
        if (flow__endpoint(ep, sizeof(ep), run_dir, p->link_index, (unsigned)a,
                           b < 0 ? UINT32_MAX : (unsigned)b))
            return flow_node_fail(node, "run directory path too long");
        if (zmq_bind(sock, ep))
            return sock_fail(node, p, "bind", ep);
    }
    flow__xgrow((void **)&node->hello, &node->hcap, node->hlen + 300, 1);
    n = snprintf(node->hello + node->hlen, node->hcap - node->hlen,
                 "%zu %ld %ld %s\n", p->link_index, a, b, ep);
    if (n > 0)
        node->hlen += (size_t)n;
    return 0;
}

/* The endpoint (link, a, b) to connect to, into `ep`. */
static int
find_endpoint(flow_node_t *node, const char *run_dir, size_t link, long a,
              long b, char *ep, size_t size)
{
    if (!net.tcp)
        return flow__endpoint(ep, size, run_dir, link, (unsigned)a,
                              b < 0 ? UINT32_MAX : (unsigned)b);
    for (size_t i = 0; i < node->ntable; i++) {
        const ep_rec_t *r = &node->table[i];
        if (r->link == link && r->a == a && r->b == b) {
            snprintf(ep, size, "%s", r->ep);
            return 0;
        }
    }
    return -ENOENT;
}

/*
 * Make room for this instance's sockets before it creates them: libzmq's
 * context allows 1023 sockets unless told more (ZMQ_MAX_SOCKETS), and each
 * socket holds descriptors (its mailbox, a listener if bound, one per
 * connection): a hub of hundreds of pair links needs several thousand. The
 * soft limit on open files is raised towards the hard one. Returns 0, or
 * fails the node naming the limit.
 */
static int
sockets_budget(flow_node_t *node)
{
    const flow_graph_t *g = node->g;
    size_t nsock = 8, nfd = 64; /* the rendezvous, monitors; the node's own */
    struct rlimit rl;

    for (size_t i = 0; i < node->nports; i++) {
        const rport_t *p = &node->ports[i];
        const flow_glink_t *l = p->link;
        unsigned a = g->nodes[l->node[0]].instances;
        unsigned b = g->nodes[l->node[1]].instances;

        if (p->decl->dir == FLOW_DIR_IN) {
            nsock += 1;
            nfd += 2 + p->peer->instances; /* mailbox, listener, peers */
        } else if (p->decl->dir == FLOW_DIR_OUT) {
            nsock += p->peer->instances;
            nfd += 2 * (size_t)p->peer->instances; /* mailbox, connection */
        } else {
            size_t n = flow__pair_channels(a, b, p->side);
            nsock += n;
            nfd += 3 * n; /* mailbox, listener, connection */
        }
    }
    if (nsock > 1000 &&
        zmq_ctx_set(node->ctx, ZMQ_MAX_SOCKETS, (int)(nsock + 64)) != 0)
        return flow_node_fail(node,
                              "needs %zu ZeroMQ sockets, more than libzmq "
                              "allows (%d)",
                              nsock, zmq_ctx_get(node->ctx, ZMQ_SOCKET_LIMIT));
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= nfd)
        return 0;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= nfd) {
        rl.rlim_cur = nfd;
        if (!setrlimit(RLIMIT_NOFILE, &rl))
            return 0;
    }
    return flow_node_fail(node,
                          "needs about %zu open files for its %zu sockets, "
                          "and the limit is %llu (ulimit -n)",
                          nfd, nsock,
                          (unsigned long long)(rl.rlim_max == RLIM_INFINITY
                                                   ? rl.rlim_cur
                                                   : rl.rlim_max));
}

/* Create the sockets of every port; bind the bound ones. */
static int
wire_bind(flow_node_t *node, const char *run_dir)
{
    const flow_graph_t *g = node->g;

    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        const flow_glink_t *l = p->link;
        unsigned a = g->nodes[l->node[0]].instances;
        unsigned b = g->nodes[l->node[1]].instances;

        if (p->decl->dir == FLOW_DIR_IN) {
            unsigned np = p->peer->instances;
            int rc;
            p->pull = make_socket(node, ZMQ_PULL, l->hwm);
            if (!p->pull)
                return sock_fail(node, p, "create a socket", "pull");
            if ((rc = bind_endpoint(node, p, p->pull, run_dir, node->inst, -1)))
                return rc;
            p->rcvd = flow__xcalloc(np, sizeof(*p->rcvd));
            p->eos = flow__xcalloc(np, 1);
            p->nopen = np;
        } else if (p->decl->dir == FLOW_DIR_OUT) {
            p->nch = p->peer->instances;
            p->ch = flow__xcalloc(p->nch, sizeof(*p->ch));
            p->rr = node->inst % p->nch;
            for (unsigned c = 0; c < p->nch; c++) {
                p->ch[c].peer = c;
                p->ch[c].sock = make_socket(node, ZMQ_PUSH, l->hwm);
                if (!p->ch[c].sock)
                    return sock_fail(node, p, "create a socket", "push");
            }
        } else {
            p->nch = flow__pair_channels(a, b, p->side);
            p->ch = flow__xcalloc(p->nch, sizeof(*p->ch));
            p->nopen = p->nch;
            for (unsigned c = 0; c < p->nch; c++) {
                chan_t *ch = &p->ch[c];
                int rc;
                ch->peer = flow__pair_peer(a, b, p->side, node->inst, c);
                /* PAIR does not reconnect: over TCP, DEALER pairs. */
                ch->sock =
                    make_socket(node, net.tcp ? ZMQ_DEALER : ZMQ_PAIR, l->hwm);
                if (!ch->sock)
                    return sock_fail(node, p, "create a socket", "pair");
                if (p->side != 0)
                    continue;
                if ((rc = bind_endpoint(node, p, ch->sock, run_dir, node->inst,
                                        ch->peer)))
                    return rc;
            }
        }
    }
    return 0;
}

/* Connect the connecting sockets; every bound endpoint exists by now. */
static int
wire_connect(flow_node_t *node, const char *run_dir)
{
    char ep[256];

    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];

        if (p->decl->dir == FLOW_DIR_IN)
            continue;
        for (unsigned c = 0; c < p->nch; c++) {
            chan_t *ch = &p->ch[c];
            int rc;
            if (p->decl->dir == FLOW_DIR_OUT)
                rc = find_endpoint(node, run_dir, p->link_index, c, -1, ep,
                                   sizeof(ep));
            else if (p->side == 1)
                rc = find_endpoint(node, run_dir, p->link_index, ch->peer,
                                   node->inst, ep, sizeof(ep));
            else
                continue;
            if (rc)
                return flow_node_fail(node, "no endpoint for link '%s'",
                                      p->link->text);
            /* A graceful stop's signal may interrupt it: connect again
             * (a hard stop ends the node in sock_fail). */
            flow__zmq_ipv6_for(ch->sock, ep);
            while ((rc = zmq_connect(ch->sock, ep)) && zmq_errno() == EINTR &&
                   !stop_hard)
                ;
            if (rc)
                return sock_fail(node, p, "connect to", ep);
        }
    }
    return 0;
}

/* ---- Sending ------------------------------------------------------------- */

/* What a call does with a port, for port_for. */
enum port_use { USE_SEND, USE_CLOSE, USE_RECV };

/* Fail the node for `use` of `port`, found as `p` (NULL: unknown) but of
 * the wrong direction. */
static int __attribute__((noinline, cold))
port_fail(flow_node_t *node, const char *port, const rport_t *p,
          enum port_use use)
{
    static const char *const what[] = { "send on", "close of", "receive on" };

    if (!p)
        return port_misuse(node, "%s unknown port '%s'", what[use], port);
    return port_misuse(node, "%s %s port '%s'", what[use],
                       use == USE_RECV ? "output" : "input", port);
}

/* Find `port` for `use`; fail the node (FLOW_EPORT) on an unknown port or
 * one of the wrong direction. */
static inline int
port_for(flow_node_t *node, const char *port, enum port_use use, rport_t **out)
{
    rport_t *p = find_port(node, port);

    *out = p;
    if (!p || p->decl->dir == (use == USE_RECV ? FLOW_DIR_OUT : FLOW_DIR_IN))
        return port_fail(node, port, p, use);
    return 0;
}

/* 0 if port `p` carries items of `type`; else FLOW_EPORT, node failed. */
static int
check_type(flow_node_t *node, const rport_t *p, flow_type_t type)
{
    if (p->decl->type == FLOW_ANY || type == p->decl->type)
        return 0;
    return port_misuse(
        node, "send of a %s message on port '%s', which carries %s",
        flow_type_name(type), p->decl->name, flow_type_name(p->decl->type));
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
        return port_misuse(node, "send of a NULL message on port '%s'",
                           p->decl->name);
    if ((rc = check_type(node, p, flow_msg_type(msg))))
        return rc;
    flow_msg_set_seq(msg, seq_for_send(node, p, flow_msg_seq(msg)));
    return 0;
}

static int drop_given_up(flow_node_t *node);
static int given_up_items(flow_node_t *node, int n);
static int poll_for(flow_node_t *node, zmq_pollitem_t *items, int n, bool send);
static int wait_with_given_up(flow_node_t *node, void *sock, short events);

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
        open = node->given_up ? drop_given_up(node) : 0;
        if (open > 0)
            open = wait_with_given_up(node, p->ch[c].sock, ZMQ_POLLOUT);
        if (open < 0) {
            zmq_msg_close(zm);
            return open;
        }
        if (open > 0)
            continue;
        /* Bounded waits: a stop signal that arrives between two calls is
         * seen within WAIT_MS. */
        if (!interrupted(node)) {
            /* A send that waits at most WAIT_MS (ZMQ_SNDTIMEO): the
             * same wait raw libzmq does, without a zmq_poll per try. */
            uint64_t t0 = node->timed ? wait_clock_ns() : 0;
            int rc = zmq_msg_send(zm, p->ch[c].sock, 0);
            if (t0)
                STAT_ADD(node->timed, send_block_ns, wait_clock_ns() - t0);
            if (rc >= 0)
                return 0;
        }
        if (interrupted(node)) {
            zmq_msg_close(zm);
            return FLOW_EINTR;
        }
    }
    return 0;
}

static int send_zmsg(flow_node_t *node, rport_t *p, int channel, zmq_msg_t *zm);

/* Send the frame `zm` (consumed) of `items` items and `bytes` bytes on
 * `channel` of `p` (balanced if < 0), counting it. */
static inline int
send_counted(flow_node_t *node, rport_t *p, int channel, zmq_msg_t *zm,
             size_t items, size_t bytes)
{
    int rc;

    /* The common case first: one open consumer with room. */
    if (channel >= 0 && !p->ch[channel].out_closed &&
        zmq_msg_send(zm, p->ch[channel].sock, ZMQ_DONTWAIT) >= 0)
        p->ch[channel].sent++;
    else if ((rc = send_zmsg(node, p, channel, zm)))
        return rc;
    flow_port_stats_t *st = p->st;
    if (st) {
        STAT_ADD(st, out_msgs, 1);
        STAT_ADD(st, out_items, items);
        STAT_ADD(st, out_bytes, bytes);
    }
    return 0;
}

static int
send_frame(flow_node_t *node, rport_t *p, int channel, flow_msg_t **msg_p)
{
    zmq_msg_t zm;
    size_t items, bytes;
    int rc;

    if ((rc = interrupted(node)) || (rc = check_msg(node, p, *msg_p))) {
        flow_msg_destroy(msg_p);
        return rc;
    }
    items = flow_msg_count(*msg_p);
    bytes = flow__msg_to_zmq(msg_p, node->inst, &zm);
    return send_counted(node, p, channel, &zm, items, bytes);
}

int
flow_node_send_i64s(flow_node_t *node, const char *port, const int64_t *items,
                    size_t n, uint64_t seq)
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
    if ((rc = port_for(node, port, USE_SEND, &p)) || (rc = interrupted(node)) ||
        (rc = check_type(node, p, FLOW_INT64)))
        return rc;
    bytes = flow__msg_zmq_i64s(&zm, node->inst, items, n,
                               seq_for_send(node, p, seq));
    return send_counted(node, p, p->nch == 1 ? 0 : -1, &zm, n, bytes);
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
    rc = port_for(node, port, USE_SEND, &p);
    if (rc || (rc = interrupted(node)))
        return rc;
    if (zmq_msg_init_size(&zm, len))
        return flow_node_fail(node, "cannot make a message: %s",
                              zmq_strerror(zmq_errno()));
    if (len)
        memcpy(zmq_msg_data(&zm), frame, len);
    return send_counted(node, p, p->nch == 1 ? 0 : -1, &zm, 0, len);
}

/* Send `zm` (consumed) on channel `channel` of `p`, or balanced if < 0. */
static int
send_zmsg(flow_node_t *node, rport_t *p, int channel, zmq_msg_t *zm)
{
    int rc;

    if (channel >= 0) {
        if (p->ch[channel].out_closed) {
            zmq_msg_close(zm);
            if (p->nch == 1)
                return port_misuse(node, "send on port '%s' after its end",
                                   p->decl->name);
            return port_misuse(node,
                               "send on port '%s' channel %d after its end",
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
            return port_misuse(node, "send on port '%s' after its end",
                               p->decl->name);
        }
        /* Every consumer is full: wait until one has room. Inputs given
         * up are read meanwhile, and dropped (as in send_blocking). */
        int n = (int)p->nch;
        if (node->given_up && (rc = drop_given_up(node)) < 0) {
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
            n = given_up_items(node, n);
        if ((rc = poll_for(node, node->cb_items, n, true)) < 0) {
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
    return port_misuse(node,
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
    if ((rc = port_for(node, port, USE_SEND, &p))) {
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
    rc = port_for(node, port, USE_SEND, &p);
    if (!rc && channel >= p->nch)
        rc = port_misuse(node, "send on port '%s' to channel %u of %u", port,
                         channel, p->nch);
    if (rc) {
        flow_msg_destroy(msg_p);
        return rc;
    }
    return send_frame(node, p, (int)channel, msg_p);
}

static int
close_channel(flow_node_t *node, rport_t *p, unsigned c)
{
    unsigned char eos[FLOW_WIRE_HDR];
    zmq_msg_t zm;

    if (p->ch[c].out_closed)
        return 0;
    flow__msg_encode_eos(node->inst, p->ch[c].sent, eos);
    zmq_msg_init_size(&zm, sizeof(eos));
    memcpy(zmq_msg_data(&zm), eos, sizeof(eos));
    p->ch[c].out_closed = true;
    return send_blocking(node, p, c, &zm);
}

int
flow_node_close(flow_node_t *node, const char *port)
{
    rport_t *p;
    int rc;

    if (node->harness)
        return flow__harness_close(node->harness, port, true, 0);
    rc = port_for(node, port, USE_CLOSE, &p);
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
    if ((rc = port_for(node, port, USE_CLOSE, &p)))
        return rc;
    if (channel >= p->nch)
        return port_misuse(node, "close of port '%s' channel %u of %u", port,
                           channel, p->nch);
    return close_channel(node, p, channel);
}

/* ---- Receiving ----------------------------------------------------------- */

int
flow_node_close_input(flow_node_t *node, const char *port)
{
    rport_t *p;
    size_t i;

    if (node->harness)
        return flow__harness_close_input(node->harness, port);
    p = find_port(node, port);
    if (!p || !p->in)
        return port_misuse(node, "give up of %s port '%s' (an input only)",
                           !p                              ? "unknown"
                           : p->decl->dir == FLOW_DIR_PAIR ? "pair"
                                                           : "output",
                           port);
    if (p->given_up)
        return 0;
    p->given_up = true;
    node->given_up++;
    i = (size_t)(p - node->ports);
    /* Tell the launcher or the rendezvous, which stop the producers once no
     * one wants their work. A run too large to say so runs them to their
     * end: what they send is discarded all the same. */
    if (net.rdv) {
        char line[64];
        int n = snprintf(line, sizeof(line), "CLOSED %zu %zu\n", node->proc, i);
        return rdv_send(node, line, (size_t)n) == FLOW_EINTR ? FLOW_EINTR : 0;
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

enum { GOT_DATA = 0, GOT_EOS = 1, GOT_NOTHING = 2 };

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
    flow_frame_info_t info;
    char why[128];
    int rc, got;
    uint64_t *rcvd;

    /* Also when input keeps coming: look before taking. */
    if (stop_any && interrupted(node)) {
        flow_msg_destroy(msg_p);
        return FLOW_EINTR;
    }

    /* The frame is received straight into a message: no move. */
    zm = flow__msg_recv_slot(msg_p);
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
        if (interrupted(node)) {
            flow_msg_destroy(msg_p);
            return FLOW_EINTR;
        }
        if (e == EAGAIN && (flags & ZMQ_DONTWAIT)) {
            flow_msg_destroy(msg_p);
            return GOT_NOTHING;
        }
    }
    /* zmq_msg_recv returns at most INT_MAX: ask the size of a larger one. */
    rc = flow__msg_from_slot(msg_p,
                             got < INT_MAX ? (size_t)got : zmq_msg_size(zm),
                             &info, why, sizeof(why));
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
        (*rcvd)++;
        node->last_ch = c;
        if (st) {
            STAT_ADD(st, in_msgs, 1);
            STAT_ADD(st, in_items, info.items);
            STAT_ADD(st, in_bytes, info.bytes);
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
    p->nopen--;
    return GOT_EOS;
}

/* recv_frame_in on a pointer of its own, which the compiler can keep in a
 * register: the caller's has mostly escaped (to process()). */
static int __attribute__((flatten))
recv_frame(flow_node_t *node, rport_t *p, unsigned c, void *sock, int flags,
           flow_msg_t **msg_p)
{
    flow_msg_t *msg = *msg_p;
    int rc = recv_frame_in(node, p, c, sock, flags, &msg);

    *msg_p = msg;
    return rc;
}


/*
 * Wait up to WAIT_MS for the first `n` of `items`, counting the wait as a
 * send's (`send`) or a receive's. Returns > 0 when something is ready, 0
 * when the caller should look again, FLOW_EINTR when the node must stop,
 * or a failure.
 */
static int
poll_for(flow_node_t *node, zmq_pollitem_t *items, int n, bool send)
{
    uint64_t t0 = node->timed ? wait_clock_ns() : 0;
    int prc = zmq_poll(items, n, WAIT_MS);

    if (t0 && send)
        STAT_ADD(node->timed, send_block_ns, wait_clock_ns() - t0);
    else if (t0)
        STAT_ADD(node->timed, recv_wait_ns, wait_clock_ns() - t0);
    if (interrupted(node))
        return FLOW_EINTR;
    if (prc < 0 && zmq_errno() != EINTR)
        return flow_node_fail(node, "poll failed: %s",
                              zmq_strerror(zmq_errno()));
    return prc > 0 ? prc : 0;
}

/* poll_for, waiting for input. */
static int
poll_input(flow_node_t *node, zmq_pollitem_t *items, int n)
{
    return poll_for(node, items, n, false);
}

/* Drop what is queued on given-up inputs still open. Returns 1 when one
 * is still open (then a blocking receive elsewhere must also watch them:
 * wait_with_given_up), 0 when none is, or a failure (a malformed frame,
 * a loss: the node failed). */
static int
drop_given_up(flow_node_t *node)
{
    int open = 0;

    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        flow_msg_t *msg = NULL;
        int rc = GOT_NOTHING;
        if (!p->in || !p->given_up || !p->nopen)
            continue;
        while (p->nopen && (rc = recv_frame(node, p, 0, p->pull, ZMQ_DONTWAIT,
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
static int
given_up_items(flow_node_t *node, int n)
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
static int
wait_with_given_up(flow_node_t *node, void *sock, short events)
{
    node->cb_items[0].socket = sock;
    node->cb_items[0].fd = 0;
    node->cb_items[0].events = events;
    node->cb_items[0].revents = 0;
    int prc = poll_for(node, node->cb_items, given_up_items(node, 1),
                       events == ZMQ_POLLOUT);
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
        int prc = poll_input(node, node->cb_items,
                             node->given_up ? given_up_items(node, n) : n);
        if (prc < 0)
            return prc;
        if (node->given_up && (rc = drop_given_up(node)) < 0)
            return rc;
        if (prc == 0)
            continue;
        for (int i = 0; i < n; i++) {
            unsigned c = node->cb_ch[i];
            if (!(node->cb_items[i].revents & ZMQ_POLLIN))
                continue;
            rc = recv_frame(node, p, c, p->ch[c].sock, ZMQ_DONTWAIT, msg_p);
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
flow_node_recv(flow_node_t *node, const char *port, flow_msg_t **msg_p)
{
    rport_t *p;
    int rc;

    if (node->harness)
        return flow__harness_recv(node->harness, port, true, 0, msg_p);
    *msg_p = NULL; /* an output only: what it held is not read */
    if ((rc = port_for(node, port, USE_RECV, &p)))
        return rc;
    if (p->decl->dir == FLOW_DIR_PAIR)
        return recv_pair_any(node, p, NULL, msg_p);
    while (p->nopen && !p->given_up) {
        /* Inputs given up are read too, and dropped: their producer may
         * feed this one as well. */
        int open = node->given_up ? drop_given_up(node) : 0;
        if (open < 0)
            return open;
        rc = recv_frame(node, p, 0, p->pull, open ? ZMQ_DONTWAIT : 0, msg_p);
        if (rc == GOT_DATA)
            return 0;
        if (rc < 0)
            return rc;
        if (rc == GOT_NOTHING &&
            (rc = wait_with_given_up(node, p->pull, ZMQ_POLLIN)) < 0)
            return rc;
    }
    return FLOW_EOF;
}

int
flow_node_recv_from(flow_node_t *node, const char *port, unsigned channel,
                    flow_msg_t **msg_p)
{
    rport_t *p;
    int rc;

    if (node->harness)
        return flow__harness_recv(node->harness, port, false, channel, msg_p);
    *msg_p = NULL; /* an output only: what it held is not read */
    if ((rc = port_for(node, port, USE_RECV, &p)))
        return rc;
    if (p->decl->dir != FLOW_DIR_PAIR || channel >= p->nch)
        return port_misuse(node, "receive from channel %u of port '%s'",
                           channel, port);
    while (!p->ch[channel].eos) {
        /* Inputs given up are read meanwhile, and dropped. */
        int open = node->given_up ? drop_given_up(node) : 0;
        if (open < 0)
            return open;
        rc = recv_frame(node, p, channel, p->ch[channel].sock,
                        open ? ZMQ_DONTWAIT : 0, msg_p);
        if (rc == GOT_DATA)
            return 0;
        if (rc < 0)
            return rc;
        if (rc == GOT_NOTHING &&
            (rc = wait_with_given_up(node, p->ch[channel].sock, ZMQ_POLLIN)) <
                0)
            return rc;
    }
    return FLOW_EOF;
}

/* ---- The instance's life ------------------------------------------------- */

/* Hand `*msg_p` to the node's process(). A message it leaves there stays
 * the caller's, for the next receive into the same pointer to reuse. */
static int
dispatch(flow_node_t *node, void *state, rport_t *p, flow_msg_t **msg_p)
{
    int rc;

    node->processing = true;
    node->cur_seq = flow_msg_seq(*msg_p);
    rc = node->process(node, state, p->name, msg_p);
    node->processing = false;
    if (*msg_p && flow__msg_spent(*msg_p)) {
        /* Sent or destroyed through a copy of the pointer, and left here:
         * not the framework's to reuse or to destroy again. */
        *msg_p = NULL;
        if (rc == 0 || !node->failed)
            flow_node_fail(node,
                           "process() left in *msg_p a message it had sent "
                           "or destroyed (through a copy of the pointer): "
                           "set *msg_p to NULL");
        return rc < 0 ? rc : FLOW_ENODE;
    }
    if (rc != 0 || node->failed) {
        /* A node that failed and returned 0 all the same gets no more:
         * flow__node_cb_result makes that FLOW_ENODE. */
        rc = flow__node_cb_result(node, "process()", rc);
        flow_msg_destroy(msg_p);
        if (rc != FLOW_EINTR && !node->failed) {
            char code[64];
            flow_node_fail(node, "process() returned %s",
                           flow__code_text(rc, code, sizeof(code)));
        }
        return rc;
    }
    return 0;
}

/* The framework's loop for process-mode nodes. */
static int __attribute__((flatten)) process_loop(flow_node_t *node, void *state)
{
    for (;;) {
        int n = 0, live = 0;

        for (size_t i = 0; i < node->nports; i++) {
            rport_t *p = &node->ports[i];
            if (p->decl->dir == FLOW_DIR_IN && p->nopen) {
                /* A given-up input is still read, and what it brings
                 * dropped: its producer may also feed another input. */
                live += !p->given_up;
                node->items[n].socket = p->pull;
                node->item_port[n] = p;
                node->item_ch[n++] = 0;
            } else if (p->decl->dir == FLOW_DIR_PAIR) {
                for (unsigned c = 0; c < p->nch; c++) {
                    if (p->ch[c].eos)
                        continue;
                    node->items[n].socket = p->ch[c].sock;
                    node->item_port[n] = p;
                    node->item_ch[n++] = c;
                    live++;
                }
            }
        }
        if (live == 0)
            return 0; /* drain_inputs drops the rest */
        if (n == 1) {
            /* One source of input: block on it, no poll needed. */
            rport_t *p = node->item_port[0];
            flow_msg_t *msg = NULL; /* each receive may reuse the last one */
            unsigned ch = node->item_ch[0];
            void *sock = node->items[0].socket;
            int rc;
            while ((rc = recv_frame(node, p, ch, sock, 0, &msg)) == GOT_DATA) {
                if ((rc = dispatch(node, state, p, &msg)))
                    return rc;
                if (p->given_up)
                    break;
            }
            flow_msg_destroy(&msg);
            if (rc < 0)
                return rc;
            continue;
        }
        for (int i = 0; i < n; i++) {
            node->items[i].fd = 0;
            node->items[i].events = ZMQ_POLLIN;
            node->items[i].revents = 0;
        }
        int prc = poll_input(node, node->items, n);
        if (prc < 0)
            return prc;
        if (prc == 0)
            continue;
        for (int i = 0; i < n; i++) {
            rport_t *p = node->item_port[i];
            if (!(node->items[i].revents & ZMQ_POLLIN))
                continue;
            /* Take a few at a time: fewer polls, still fair. A receive
             * that gets no data leaves msg NULL. */
            flow_msg_t *msg = NULL;
            for (int k = 0; k < 64; k++) {
                int rc = recv_frame(node, p, node->item_ch[i],
                                    node->items[i].socket, ZMQ_DONTWAIT, &msg);
                if (rc < 0)
                    return rc;
                if (rc == GOT_NOTHING || rc == GOT_EOS)
                    break;
                if (p->given_up) { /* given up, maybe just now: dropped */
                    p->discarded++;
                    continue;
                }
                if ((rc = dispatch(node, state, p, &msg)))
                    return rc;
                if (p->given_up)
                    break;
            }
            flow_msg_destroy(&msg);
        }
    }
}

/* Read what is left on inputs a run() node did not finish, so producers
 * can end; report it. */
static int
drain_inputs(flow_node_t *node)
{
    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        flow_msg_t *msg = NULL;
        int rc;

        if (p->decl->dir == FLOW_DIR_IN) {
            /* Each receive reuses the last message; the end destroys it. */
            while (p->nopen) {
                rc = recv_frame(node, p, 0, p->pull, 0, &msg);
                if (rc < 0)
                    return rc;
                if (rc == GOT_DATA)
                    p->discarded++;
            }
        } else if (p->decl->dir == FLOW_DIR_PAIR) {
            for (unsigned c = 0; c < p->nch; c++) {
                while (!p->ch[c].eos) {
                    rc = recv_frame(node, p, c, p->ch[c].sock, 0, &msg);
                    if (rc < 0)
                        return rc;
                    if (rc == GOT_DATA)
                        p->discarded++;
                }
            }
        }
        /* Stopped early, or given up, the node leaves its input unread as
         * asked. */
        if (p->discarded)
            flow_node_log(
                node,
                node->stopped || p->given_up ? FLOW_LOG_DEBUG : FLOW_LOG_WARN,
                "discarded %" PRIu64 " unread message%s on port "
                "'%s'",
                p->discarded, p->discarded == 1 ? "" : "s", p->decl->name);
    }
    return 0;
}

static void
node_release(flow_node_t *node)
{
    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        if (p->pull)
            zmq_close(p->pull);
        for (unsigned c = 0; c < p->nch; c++)
            if (p->ch[c].sock)
                zmq_close(p->ch[c].sock);
        free(p->ch);
        free(p->rcvd);
        free(p->eos);
    }
    watcher_stop(node);
    if (node->rdv)
        zmq_close(node->rdv);
    node->rdv = NULL;
    free(node->hello);
    free(node->table);
    free(node->ports);
    free(node->items);
    free(node->item_port);
    free(node->item_ch);
    free(node->cb_items);
    free(node->cb_ch);
    node->hello = NULL;
    node->table = NULL;
    node->ports = NULL;
    node->nports = 0;
    node->items = NULL;
    node->item_port = NULL;
    node->item_ch = NULL;
    node->cb_items = NULL;
    node->cb_ch = NULL;
    if (node->ctx)
        zmq_ctx_term(node->ctx);
    node->ctx = NULL;
}

/* The context of an instance that passed the exit barrier: see node_leave. */
static void *volatile left_ctx;

/*
 * After the exit barrier: free what is ours, but leave the sockets, the
 * context and its threads to the process's exit, which follows at once
 * (both callers of flow__node_main _exit). Nothing is in flight any more,
 * and the exit closes every descriptor and ends every thread; closing and
 * zmq_ctx_term would only wait for libzmq's reaper and I/O thread to wind
 * down (and, over TCP, for the watcher's next look at its stop flag). The
 * context stays reachable from left_ctx, for leak checkers.
 */
static void
node_leave(flow_node_t *node)
{
    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        p->pull = NULL;
        for (unsigned c = 0; c < p->nch; c++)
            p->ch[c].sock = NULL;
    }
    node->watching = false;
    node->rdv = NULL;
    left_ctx = node->ctx;
    node->ctx = NULL;
    node_release(node);
}

/* ---- Barriers ------------------------------------------------------------ */

/* Wait for EOF on pipe `fd` (the launcher closing its end). */
static int
wait_eof(int fd)
{
    char c;
    int rc;

    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        if (stop_hard)
            return FLOW_EINTR;
        if (poll(&pfd, 1, WAIT_MS) <= 0)
            continue;
        rc = (int)read(fd, &c, 1);
        if (rc == 0)
            break;
        if (rc < 0 && errno != EINTR && errno != EAGAIN)
            return -errno;
    }
    close(fd);
    return 0;
}

/* Say once (the watcher and the barriers may both hear it) that the
 * rendezvous stopped this instance. */
static void
say_stopped(flow_node_t *node)
{
    static int said;

    /* In a local run the launcher says why it stops the run. */
    if (net.remote && !__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
        flow_node_log(node, FLOW_LOG_WARN,
                      "stopped by the rendezvous %s (a failure, a timeout or "
                      "a signal there)",
                      net.rdv);
}

/* Receive the rendezvous's next message into `*text` (caller frees). An
 * ABORT is a stop order: FLOW_EINTR. */
static int
rdv_recv(flow_node_t *node, char **text)
{
    zmq_msg_t m;

    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, node->rdv, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_pollitem_t it = { node->rdv, 0, ZMQ_POLLIN, 0 };
        if (e != EAGAIN && e != EINTR) {
            zmq_msg_close(&m);
            return -e;
        }
        if (!stop_hard)
            zmq_poll(&it, 1, WAIT_MS);
        if (stop_hard) {
            zmq_msg_close(&m);
            return FLOW_EINTR;
        }
    }
    *text = flow__xstrndup(zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
    if (!strncmp(*text, "ABORT", 5)) {
        say_stopped(node);
        stop_hard = 1;
        free(*text);
        *text = NULL;
        return FLOW_EINTR;
    }
    return 0;
}

static int
rdv_send(flow_node_t *node, const char *text, size_t len)
{
    while (zmq_send(node->rdv, text, len, 0) < 0) {
        if (zmq_errno() == EINTR && !stop_hard)
            continue;
        return zmq_errno() == EINTR ? FLOW_EINTR : -zmq_errno();
    }
    return 0;
}

/* Read one frame of the socket monitor `mon`: the event number of an
 * event's first frame, 0 for anything else (its second frame, the
 * endpoint) or nothing. */
static uint16_t
monitor_event(void *mon)
{
    zmq_msg_t m;
    uint16_t ev = 0;
    int more = 0;
    size_t ml = sizeof(more);

    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) >= 0) {
        zmq_getsockopt(mon, ZMQ_RCVMORE, &more, &ml);
        if (more && zmq_msg_size(&m) >= 2)
            memcpy(&ev, zmq_msg_data(&m), 2);
    }
    zmq_msg_close(&m);
    return ev;
}

/* Set to stop the watcher thread. */
static volatile int watcher_quit;

/*
 * The watcher: a thread with its own socket to the rendezvous, so that an
 * ABORT reaches an instance blocked anywhere (in a send at the high-water
 * mark, in a receive, in node code): it raises SIGTERM, the hard stop. A
 * STOP (no one wants the node's work: flow_node_close_input) raises
 * SIGUSR1, the graceful one.
 */
/* Seconds an instance started apart has to end after the rendezvous
 * stopped it (or was lost): then it ends itself, as a local run's
 * launcher SIGKILLs an instance after its grace. */
#define WATCH_STOP_S 2.0

static void *
watch_main(void *arg)
{
    flow_node_t *node = arg;
    void *s = zmq_socket(node->ctx, ZMQ_DEALER), *mon = NULL;
    char line[64], buf[16], ep[64];
    int linger = 0, n;
    double lost = 0, stop_by = 0;

    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    /* Watch the connection too: a rendezvous that vanished cannot send an
     * ABORT, and its instances must not wait forever. */
    snprintf(ep, sizeof(ep), "inproc://flow-watch-%d", (int)getpid());
    if (!zmq_socket_monitor(
            s, ep, ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)) {
        mon = zmq_socket(node->ctx, ZMQ_PAIR);
        if (mon && zmq_connect(mon, ep)) {
            zmq_close(mon);
            mon = NULL;
        }
    }
    n = snprintf(line, sizeof(line), "WATCH %zu\n", node->proc);
    flow__zmq_ipv6_for(s, net.rdv);
    if (zmq_connect(s, net.rdv) || zmq_send(s, line, (size_t)n, 0) < 0)
        goto out;
    while (!__atomic_load_n(&watcher_quit, __ATOMIC_RELAXED)) {
        zmq_pollitem_t it[2] = { { s, 0, ZMQ_POLLIN, 0 },
                                 { mon, 0, ZMQ_POLLIN, 0 } };
        double t = (double)now_ns() / 1e9;
        if (stop_by > 0 && t > stop_by) {
            /* Stopped, and still here: the node is busy in its own code,
             * or ignores SIGTERM. No launcher here to SIGKILL it. */
            flow_node_log(node, FLOW_LOG_ERROR,
                          "did not end within %.0f s of the stop: ended",
                          WATCH_STOP_S);
            _exit(128 + SIGTERM);
        }
        if (stop_by == 0 && lost > 0 && t - lost > 2.0) {
            /* Gone for good and we were not released: stop, saying why
             * (the exit status alone is that of a stop order). */
            flow_node_log(node, FLOW_LOG_ERROR,
                          "lost the rendezvous %s (gone, or silent, and not "
                          "back within 2 s): stopping",
                          net.rdv);
            kill(getpid(), SIGTERM);
            stop_by = t + WATCH_STOP_S;
        }
        if (zmq_poll(it, mon ? 2 : 1, 100) <= 0)
            continue;
        if ((it[0].revents & ZMQ_POLLIN) &&
            (n = zmq_recv(s, buf, sizeof(buf), ZMQ_DONTWAIT)) >= 4) {
            if (n >= 5 && !strncmp(buf, "ABORT", 5) && stop_by == 0) {
                say_stopped(node);
                kill(getpid(), SIGTERM);
                stop_by = t + WATCH_STOP_S;
            } else if (!strncmp(buf, "STOP", 4)) {
                /* No one wants its work any more: a graceful stop. */
                kill(getpid(), SIGUSR1);
            }
        }
        if (mon && (it[1].revents & ZMQ_POLLIN)) {
            uint16_t ev = monitor_event(mon);
            /* Back after a brief drop: a handshake, not a TCP connection
             * (a stopped rendezvous's kernel still accepts those). */
            if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                lost = 0;
            else if (ev == ZMQ_EVENT_DISCONNECTED && lost == 0)
                lost = (double)now_ns() / 1e9;
        }
    }
out:
    if (mon) {
        zmq_socket_monitor(s, NULL, 0);
        zmq_close(mon);
    }
    zmq_close(s);
    return NULL;
}

static void
watcher_stop(flow_node_t *node)
{
    if (!node->watching)
        return;
    __atomic_store_n(&watcher_quit, 1, __ATOMIC_RELAXED);
    pthread_join(node->watcher, NULL);
    node->watching = false;
}

/* Parse the endpoint records of a TABLE message. */
static void
parse_table(flow_node_t *node, const char *text)
{
    const char *line = strchr(text, '\n');

    while (line && *++line) {
        ep_rec_t r;
        if (sscanf(line, "%zu %ld %ld %159s", &r.link, &r.a, &r.b, r.ep) == 4) {
            flow__xgrow((void **)&node->table, &node->tcap, node->ntable + 1,
                        sizeof(*node->table));
            node->table[node->ntable++] = r;
        }
        line = strchr(line, '\n');
    }
}

/* Seconds an instance waits for a first connection to its rendezvous. */
#define RDV_REACH_S 10

/*
 * Wait for the rendezvous's TABLE (every instance registered: the start)
 * and parse it, watching the connection through the monitor `mon` (NULL:
 * none): a rendezvous never reached in RDV_REACH_S fails the node; one
 * lost for 2 s stops it (exit 143, as the watcher does after the start);
 * a REFUSE fails it with the rendezvous's reason, and it exits 2 without
 * reporting a failure (that instance's number is another process's).
 * Returns 0 once the TABLE came.
 */
static int
await_table(flow_node_t *node, void *mon)
{
    double begin = (double)now_ns() / 1e9, lost = 0;
    bool reached = mon == NULL;

    for (;;) {
        zmq_pollitem_t it[2] = { { node->rdv, 0, ZMQ_POLLIN, 0 },
                                 { mon, 0, ZMQ_POLLIN, 0 } };
        double t = (double)now_ns() / 1e9;
        char *text = NULL;
        int rc;

        if (stop_hard)
            return FLOW_EINTR;
        if (!reached && t - begin > RDV_REACH_S) {
            int zero = 0; /* nothing sent can leave: none to wait for */
            zmq_setsockopt(node->rdv, ZMQ_LINGER, &zero, sizeof(zero));
            node->unreached = true; /* no FAIL to send it */
            return flow_node_fail(node,
                                  "cannot reach the rendezvous %s (no "
                                  "connection to it in %d s): is it "
                                  "running, at that address and port?",
                                  net.rdv, RDV_REACH_S);
        }
        if (lost > 0 && t - lost > 2.0) {
            flow_node_log(
                node, FLOW_LOG_ERROR,
                "lost the rendezvous %s (gone, or silent, and not back "
                "within 2 s) "
                "before the start: stopping",
                net.rdv);
            stop_hard = 1;
            return FLOW_EINTR;
        }
        if (zmq_poll(it, mon ? 2 : 1, 100) <= 0)
            continue;
        if (mon && (it[1].revents & ZMQ_POLLIN)) {
            uint16_t ev = monitor_event(mon);
            /* A handshake, not a TCP connection: a port where something
             * else listens is no rendezvous. */
            if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                reached = true;
                lost = 0;
            } else if (ev == ZMQ_EVENT_DISCONNECTED && reached && lost == 0) {
                lost = t;
            }
        }
        if (!(it[0].revents & ZMQ_POLLIN))
            continue;
        if ((rc = rdv_recv(node, &text)))
            return rc;
        if (!strncmp(text, "REFUSE ", 7)) {
            text[strcspn(text, "\n")] = '\0';
            if (flow__graph_has_auto(node->g))
                rc = flow_node_fail(node,
                                    "the rendezvous %s refused it: %s "
                                    "(instances = auto is %u here)",
                                    net.rdv, text + 7, flow__auto_instances());
            else
                rc = flow_node_fail(node, "the rendezvous %s refused it: %s",
                                    net.rdv, text + 7);
            node->refused = true;
            free(text);
            return rc;
        }
        if (!strncmp(text, "TABLE", 5)) {
            parse_table(node, text);
            free(text);
            return 0;
        }
        free(text);
    }
}

/*
 * Start barrier: tell the launcher this instance has bound its endpoints,
 * and wait until every instance has. With a rendezvous, register the
 * endpoints and receive everybody's; else a byte on `ready_fd`, then EOF
 * on `go_fd`.
 */
static int
barrier_start(flow_node_t *node, int ready_fd, int go_fd)
{
    char host[64], head[320], *msg, mon_ep[64];
    int ivl = 20, linger = 2000, rc, n;
    void *mon = NULL;

    if (!net.rdv) {
        char c = 'r';
        if (write(ready_fd, &c, 1) != 1)
            return -errno;
        close(ready_fd);
        return wait_eof(go_fd);
    }
    node->rdv = zmq_socket(node->ctx, ZMQ_DEALER);
    if (!node->rdv)
        return -zmq_errno();
    zmq_setsockopt(node->rdv, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(node->rdv, ZMQ_LINGER, &linger, sizeof(linger));
    /* Until the start the watcher does not run: watch the connection
     * here, before connecting, not to miss it. */
    snprintf(mon_ep, sizeof(mon_ep), "inproc://flow-start-%d", (int)getpid());
    if (!zmq_socket_monitor(node->rdv, mon_ep,
                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                ZMQ_EVENT_DISCONNECTED)) {
        mon = zmq_socket(node->ctx, ZMQ_PAIR);
        if (mon && zmq_connect(mon, mon_ep)) {
            zmq_close(mon);
            mon = NULL;
        }
    }
    flow__zmq_ipv6_for(node->rdv, net.rdv);
    if (zmq_connect(node->rdv, net.rdv)) {
        node->unreached = true; /* no FAIL to send it */
        return flow_node_fail(node, "cannot connect to the rendezvous '%s': %s",
                              net.rdv, zmq_strerror(zmq_errno()));
    }
    if (gethostname(host, sizeof(host)))
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    n = snprintf(head, sizeof(head), "HELLO %zu %d %s %016llx %.64s:%u\n",
                 node->proc, (int)getpid(), host,
                 (unsigned long long)flow__graph_fingerprint(node->g),
                 node->gn->name, node->inst);
    msg = flow__xmalloc((size_t)n + node->hlen + 1);
    memcpy(msg, head, (size_t)n);
    if (node->hlen)
        memcpy(msg + n, node->hello, node->hlen);
    rc = rdv_send(node, msg, (size_t)n + node->hlen);
    free(msg);
    if (rc == 0)
        rc = await_table(node, mon);
    if (mon) {
        zmq_socket_monitor(node->rdv, NULL, 0);
        zmq_close(mon);
    }
    if (rc == 0) {
        /* The signals stay blocked in the thread: SIGTERM goes to the
         * node's thread, whose blocking calls then return. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        node->watching =
            pthread_create(&node->watcher, NULL, watch_main, node) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    return rc;
}

/*
 * Wait in the exit barrier until `bar` (the release pipe's read end, or the
 * rendezvous socket) has something to read, watching the inputs meanwhile.
 * Every producer has ended its streams to this instance by now, so a frame
 * arriving on an input or a pair channel was sent after its sender's end
 * marker (only flow_node_send_raw can do that): unread, it would keep that
 * producer waiting at the high-water mark, and the run, for ever. Such a
 * frame fails the node, naming the link and the sender. A frame sent just
 * before its sender said it was done may still be on its way when the
 * barrier releases: then it is not seen. Returns 0 when `bar` is readable,
 * FLOW_EINTR on a hard stop, or a negative code with the node failed.
 */
static int
barrier_wait(flow_node_t *node, zmq_pollitem_t bar)
{
    zmq_pollitem_t *items = node->items;
    int n = 0;

    items[n++] = bar;
    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        if (p->decl->dir == FLOW_DIR_IN && p->pull) {
            items[n] = (zmq_pollitem_t){ p->pull, 0, ZMQ_POLLIN, 0 };
            node->item_port[n] = p;
            node->item_ch[n++] = 0;
        } else if (p->decl->dir == FLOW_DIR_PAIR) {
            for (unsigned c = 0; c < p->nch; c++) {
                items[n] = (zmq_pollitem_t){ p->ch[c].sock, 0, ZMQ_POLLIN, 0 };
                node->item_port[n] = p;
                node->item_ch[n++] = c;
            }
        }
    }
    for (;;) {
        if (stop_hard)
            return FLOW_EINTR;
        int prc = zmq_poll(items, n, WAIT_MS);
        if (prc < 0 && zmq_errno() != EINTR)
            return flow_node_fail(node, "poll failed: %s",
                                  zmq_strerror(zmq_errno()));
        if (prc <= 0)
            continue;
        for (int i = 1; i < n; i++) {
            flow_msg_t *msg = NULL;
            int rc;
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            /* Every sender is at its end: a frame fails the node. */
            rc = recv_frame(node, node->item_port[i], node->item_ch[i],
                            items[i].socket, ZMQ_DONTWAIT, &msg);
            flow_msg_destroy(&msg);
            if (rc < 0)
                return rc;
        }
        if (items[0].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
            return 0;
    }
}

/*
 * Exit barrier. libzmq may drop queued messages of a closing ipc socket
 * despite an infinite linger (libzmq issue 4660), so an instance keeps its
 * sockets open until every instance is done: by then every consumer has
 * received every end marker, hence every message, and nothing is left in
 * flight. Meanwhile it watches its inputs (barrier_wait).
 */
static int
barrier_exit(flow_node_t *node, int done_fd, int release_fd)
{
    char line[64], *text = NULL;
    int rc, n;

    if (!net.rdv) {
        /* Its process index: the launcher knows who is done. One write of
         * 4 bytes to a pipe is atomic. */
        uint32_t rec = (uint32_t)node->proc;
        if (write(done_fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
            return -errno;
        close(done_fd);
        /* The launcher closes the release pipe when every instance is
         * done: its end of file. */
        while (!(rc = barrier_wait(node, (zmq_pollitem_t){ NULL, release_fd,
                                                           ZMQ_POLLIN, 0 }))) {
            char c;
            ssize_t r = read(release_fd, &c, 1);
            if (r == 0)
                break;
            if (r < 0 && errno != EINTR && errno != EAGAIN)
                return -errno;
        }
        if (!rc)
            close(release_fd);
        return rc;
    }
    n = snprintf(line, sizeof(line), "DONE %zu\n", node->proc);
    if ((rc = rdv_send(node, line, (size_t)n)))
        return rc;
    while (!(rc = barrier_wait(
                 node, (zmq_pollitem_t){ node->rdv, 0, ZMQ_POLLIN, 0 })) &&
           !(rc = rdv_recv(node, &text))) {
        bool release = !strncmp(text, "RELEASE", 7);
        free(text);
        if (release)
            return 0;
    }
    return rc;
}

/* Fill in the end-of-work counters of `st`. */
static void
stats_final(flow_inst_stats_t *st)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru))
        memset(&ru, 0, sizeof(ru));
    flow__stats_finish(st, now_ns(), &ru);
    __atomic_store_n(&st->state, FLOW_INST_DONE, __ATOMIC_RELEASE);
}

static void node_release(flow_node_t *node);

int
flow__node_cb_result(flow_node_t *node, const char *what, int rc)
{
    if (rc > 0)
        return flow_node_fail(node,
                              "%s returned %d (a callback returns 0 or a "
                              "negative code)",
                              what, rc);
    return rc == 0 && node->failed ? FLOW_ENODE : rc;
}

static int
report_failure(flow_node_t *node, const char *what, int rc)
{
    const flow_node_desc_t *d = node->gn->desc;

    if (rc == FLOW_EINTR && stop_hard && !node->failed) {
        /* Stopped by the launcher: not this node's failure. */
        if (node->inited && d->fini)
            d->fini(node, node->state);
        node_release(node);
        return 128 + SIGTERM;
    }
    if (!node->failed) {
        char code[64];
        flow_node_fail(node, "%s returned %s", what,
                       flow__code_text(rc, code, sizeof(code)));
    }
    flow_node_log(node, FLOW_LOG_ERROR, "%s", node->fail);
    if (node->refused) { /* a usage error; not the registered one's failure */
        node_release(node);
        return FLOW__EXIT_REFUSED;
    }
    if (node->unreached) { /* no one to tell */
        node_release(node);
        return FLOW__EXIT_UNREACHED;
    }
    if (node->rdv) {
        /* Tell the rendezvous why, so the launcher can say it. */
        char line[FLOW_DIAG_MSG + 64];
        int n = snprintf(line, sizeof(line), "FAIL %zu %s\n", node->proc,
                         node->fail);
        if (n > 0) /* never blocking: a rendezvous gone cannot take it */
            zmq_send(node->rdv, line,
                     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
                     ZMQ_DONTWAIT);
    }
    if (node->inited && d->fini)
        d->fini(node, node->state);
    /* Closes the sockets; the rendezvous socket lingers up to 2 s to
     * deliver the FAIL. */
    node_release(node);
    return 1;
}

int
flow__node_main(const flow_graph_t *g, size_t n, unsigned inst,
                const char *run_dir, const int fds[4],
                struct flow_inst_stats *st)
{
    int ready_fd = fds ? fds[0] : -1, go_fd = fds ? fds[1] : -1;
    int done_fd = fds ? fds[2] : -1, release_fd = fds ? fds[3] : -1;
    flow_node_t node;
    const flow_gnode_t *gn = &g->nodes[n];
    const flow_node_desc_t *d = gn->desc;
    void *state = gn->state; /* filled before fork; this copy is ours */
    size_t maxitems = 1;
    int rc;

    memset(&node, 0, sizeof(node));
    node.st = st;
    node.timed = wait_timing ? st : NULL;
    node.g = g;
    node.gn = gn;
    node.inst = inst;
    node.done_fd = done_fd;
    node.nports = gn->nports;
    node.proc = flow__proc_index(g, n, inst);
    node.state = state;
    node.process = d->process;
    node.is_source = true;
    node.may_stop = true;
    node.ports =
        flow__xcalloc(node.nports ? node.nports : 1, sizeof(*node.ports));
    for (size_t i = 0; i < node.nports; i++) {
        rport_t *p = &node.ports[i];
        p->decl = &d->ports[i];
        p->name = p->decl->name;
        p->in = p->decl->dir == FLOW_DIR_IN;
        p->link_index = (size_t)gn->port_link[i];
        p->link = &g->links[p->link_index];
        p->side = gn->port_side[i];
        p->peer = &g->nodes[p->link->node[1 - p->side]];
        p->npeer = p->peer->instances;
        if (p->decl->dir != FLOW_DIR_OUT)
            node.is_source = false;
        if (p->decl->dir == FLOW_DIR_IN)
            node.may_stop = false;
        if (st && i < FLOW_STATS_MAX_PORTS)
            p->st = &st->ports[i];
        maxitems += p->peer->instances;
    }
    node.auto_seq = node.is_source && gn->instances == 1;
    /* A socket for each peer instance of each port, and one more: the
     * exit barrier's release pipe or rendezvous (barrier_wait). */
    node.items = flow__xcalloc(maxitems, sizeof(*node.items));
    node.item_port = flow__xcalloc(maxitems, sizeof(*node.item_port));
    node.item_ch = flow__xcalloc(maxitems, sizeof(*node.item_ch));
    node.cb_items = flow__xcalloc(maxitems, sizeof(*node.cb_items));
    node.cb_ch = flow__xcalloc(maxitems, sizeof(*node.cb_ch));

    /* Pinned before the context: libzmq's threads inherit the CPU. The
     * mask is set outright, as taskset would: the launcher's own mask does
     * not narrow it; a cgroup's cpuset does (EINVAL). */
    _Static_assert(CPU_SETSIZE > 1023, "pin accepts CPUs up to 1023");
    if (gn->npin) {
        unsigned cpu = gn->pin[inst % gn->npin];
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set)) {
            flow_node_fail(&node, "cannot pin to CPU %u (key 'pin'): %s", cpu,
                           errno == EINVAL ? "no such CPU available here"
                                           : strerror(errno));
            return report_failure(&node, "", 0);
        }
    }
    node.ctx = zmq_ctx_new();
    if (!node.ctx) {
        flow_node_fail(&node, "cannot create a ZeroMQ context: %s",
                       zmq_strerror(zmq_errno()));
        return report_failure(&node, "", 0);
    }
    if ((rc = sockets_budget(&node)) || (rc = wire_bind(&node, run_dir)))
        return report_failure(&node, "wiring", rc);
    if ((rc = barrier_start(&node, ready_fd, go_fd)))
        return report_failure(&node, "the start barrier", rc);
    if ((rc = wire_connect(&node, run_dir)))
        return report_failure(&node, "wiring", rc);
    if (st) {
        st->pid = (int32_t)getpid();
        st->start_ns = now_ns();
        __atomic_store_n(&st->state, FLOW_INST_RUNNING, __ATOMIC_RELEASE);
    }

    if (d->init &&
        (rc = flow__node_cb_result(&node, "init()", d->init(&node, state))) < 0)
        return report_failure(&node, "init()", rc);
    node.inited = true;
    if (d->run)
        rc = flow__node_cb_result(&node, "run()", d->run(&node, state));
    else
        rc = flow__node_cb_result(&node, "process()",
                                  process_loop(&node, state));
    if (rc < 0 && stop_soft && !stop_hard &&
        (rc == FLOW_EINTR ? node.is_source || node.may_stop
                          : node.is_source && !node.failed)) {
        /* A graceful stop: this node ends its work and streams here. A
         * source may return another code for the send that said so, but
         * one that said why it failed (flow_node_fail) has failed. */
        node.failed = false;
        node.stopped = true;
        rc = 0;
    } else if (rc == 0 && stop_soft && !stop_hard && node.may_stop) {
        /* Told to stop, it returned 0, as it may: what it left unread it
         * left as asked, all the same. */
        node.stopped = true;
    }
    /* From here a graceful stop no longer interrupts: finish() may send
     * its last results, and the outputs end after them. */
    node.closing = true;
    if (rc < 0)
        return report_failure(&node, d->run ? "run()" : "process()", rc);
    if (d->finish && (rc = flow__node_cb_result(&node, "finish()",
                                                d->finish(&node, state))) < 0)
        return report_failure(&node, "finish()", rc);
    for (size_t i = 0; i < node.nports && !rc; i++)
        if (node.ports[i].decl->dir != FLOW_DIR_IN)
            rc = flow_node_close(&node, node.ports[i].decl->name);
    if (!rc)
        rc = drain_inputs(&node);
    if (rc < 0)
        return report_failure(&node, "closing", rc);
    node.inited = false;
    if (d->fini)
        d->fini(&node, state);
    if (node.failed) /* a send from fini, whose outputs have ended */
        return report_failure(&node, "fini()", FLOW_ENODE);
    if (fflush(stdout) != 0) {
        flow_node_fail(&node, "cannot write standard output");
        return report_failure(&node, "", 0);
    }
    if (st)
        stats_final(st);
    /*
     * Exit barrier. libzmq may drop queued messages of a closing ipc socket
     * despite an infinite linger (libzmq issue 4660), so an instance keeps
     * its sockets open until the launcher says every instance is done: by
     * then every consumer has received every end marker, hence every
     * message, and nothing is left in flight.
     */
    if ((rc = barrier_exit(&node, done_fd, release_fd)))
        return report_failure(&node, "the exit barrier", rc);
    node_leave(&node);
    return 0;
}

/* ---- In-process test harness (see harness.c) ----------------------------- */

flow_node_t *
flow__node_new_harness(struct flow_harness *h, const flow_gnode_t *gn,
                       unsigned inst)
{
    flow_node_t *node = flow__xcalloc(1, sizeof(*node));

    node->gn = gn;
    node->inst = inst;
    node->harness = h;
    return node;
}

void
flow__node_destroy_harness(flow_node_t **node_p)
{
    if (!node_p || !*node_p)
        return;
    free(*node_p);
    *node_p = NULL;
}

const char *
flow__node_failure(const flow_node_t *node)
{
    return node->failed ? node->fail : NULL;
}
