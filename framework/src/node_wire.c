/* SPDX-License-Identifier: MIT */
/*
 * node_wire.c: the sockets of one node instance: its endpoints (ipc in the
 * run directory, or TCP ports recorded for the rendezvous), the budget of
 * descriptors they need, binding and connecting.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <zmq.h>

#include "monitor.h"
#include "netaddr.h"
#include "netkey.h"
#include "node_priv.h"

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
    if (flow__net.tcp) {
        /* A connection the network stops carrying without closing it (a
         * firewall that drops, a partition between two hosts that still
         * reach the rendezvous) is closed after 10 s idle and 5 probes
         * unanswered: then its receiver's drop watch fails the run. A
         * live peer's kernel answers them, whatever its node does. */
        int on = 1, idle = 10, intvl = 1, cnt = 5;
        zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE, &on, sizeof(on));
        zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE_IDLE, &idle, sizeof(idle));
        zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE_INTVL, &intvl, sizeof(intvl));
        zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE_CNT, &cnt, sizeof(cnt));
    }
    return s;
}

static int
sock_fail(flow_node_t *node, const rport_t *p, const char *what, const char *ep)
{
    int e = zmq_errno();

    if (e == EINTR && flow__stop_hard)
        return FLOW_EINTR; /* stopped (another failed) while wiring */
    return flow_node_fail(node, "cannot %s '%s' for port '%s': %s", what, ep,
                          p->decl->name, zmq_strerror(e));
}

/* Bind `sock` for endpoint (link, a, b) of port `p`: in the run directory,
 * or on a TCP port of the kernel's choice; record it for the rendezvous. */
static int
bind_endpoint(flow_node_t *node, rport_t *p, void *sock, const char *run_dir,
              long a, long b, drop_watch_t *w)
{
    char ep[256];
    size_t len = sizeof(ep);
    int n;

    if (flow__net.tcp) {
        if (flow__tcp_endpoint(ep, sizeof(ep), flow__net.bind_host, "*"))
            return flow_node_fail(node, "bind address '%s' too long",
                                  flow__net.bind_host);
        flow__zmq_ipv6_for(sock, ep);
        if (flow__netkey_apply(sock, true))
            return sock_fail(node, p, "secure", ep);
        if (zmq_bind(sock, ep))
            return sock_fail(node, p, "bind", ep);
        if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len) ||
            flow__endpoint_fix(ep, sizeof(ep),
                               flow__net.announce ? flow__net.announce
                                                  : flow__net.bind_host))
            return flow_node_fail(node, "cannot read the port bound for '%s'",
                                  p->decl->name);
        /* as announced: where the peers connect */
        snprintf(w->addr, sizeof(w->addr), "%.*s", (int)sizeof(w->addr) - 1,
                 ep);
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
    if (!flow__net.tcp)
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
 * soft limit on open files is raised towards the hard one, with room for
 * the node's own files. Returns 0, or fails the node naming the limit when
 * even the hard one is below what its sockets need.
 */
int
flow__node_sockets_budget(flow_node_t *node)
{
    size_t nsock, nfd = flow__node_fd_need(node->g, node->gn - node->g->nodes,
                                           flow__net.tcp, &nsock);
    size_t want = nfd + FLOW__NODE_FD_ROOM; /* and the node's own files */
    struct rlimit rl;

    if (nsock > 1000 &&
        zmq_ctx_set(node->ctx, ZMQ_MAX_SOCKETS, (int)(nsock + 64)) != 0)
        return flow_node_fail(node,
                              "needs %zu ZeroMQ sockets, more than libzmq "
                              "allows (%d)",
                              nsock, zmq_ctx_get(node->ctx, ZMQ_SOCKET_LIMIT));
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        want = rl.rlim_max; /* the room there is */
    if (want >= nfd && want > rl.rlim_cur) {
        rl.rlim_cur = want;
        if (!setrlimit(RLIMIT_NOFILE, &rl))
            return 0;
    }
    if (rl.rlim_cur >= nfd)
        return 0;
    return flow_node_fail(node,
                          "needs about %zu open files for its %zu sockets, "
                          "and the limit is %llu (ulimit -n)",
                          nfd, nsock,
                          (unsigned long long)(rl.rlim_max == RLIM_INFINITY
                                                   ? rl.rlim_cur
                                                   : rl.rlim_max));
}

/* Over TCP, watch the connections of the bound socket `sock` of port `p`
 * (its monitor in `w`). Returns 0, or fails the node. */
static int
watch_drops(flow_node_t *node, const rport_t *p, void *sock, drop_watch_t *w)
{
    if (!flow__net.tcp)
        return 0;
    w->mon = flow__monitor_open(node->ctx, sock,
                                ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                                    ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (!w->mon)
        return flow_node_fail(node,
                              "cannot watch the connections of port '%s': %s",
                              p->decl->name, zmq_strerror(zmq_errno()));
    node->watch_drops = true;
    return 0;
}

void
flow__node_unwatch(void *sock, drop_watch_t *w)
{
    if (w->mon)
        flow__monitor_close(sock, w->mon);
    w->mon = NULL;
}

/* Read the events of `w` queued so far; true if a connection lost after
 * its handshake is DROP_GRACE_S old (the first one lost: when and where in
 * `w`). A lost one is seen once more connections closed than could have
 * closed without a handshake (drop_watch_t): while a stranger's connection
 * is still open, a loss is seen when it closes (libzmq closes a handshake
 * not done in 30 s). */
static bool
drop_seen(drop_watch_t *w)
{
    uint16_t id;
    char addr[sizeof(w->addr)];

    while (flow__monitor_read(w->mon, &id, NULL, addr, sizeof(addr))) {
        if (id == ZMQ_EVENT_ACCEPTED)
            w->accepted++;
        else if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            w->joined++;
        else if (id == ZMQ_EVENT_DISCONNECTED)
            w->closed++;
        if (!w->lost_at && w->closed + w->joined > w->accepted) {
            w->lost_at = flow__now_s();
            memcpy(w->addr, addr, sizeof(w->addr));
        }
    }
    return w->lost_at && flow__now_s() - w->lost_at >= DROP_GRACE_S;
}

/* Seconds after the start within which every peer must have connected to
 * a bound socket: the rendezvous's liveness, at least 10 s. 0: no check (a
 * local run, or --liveness 0). */
static double
join_limit_s(const flow_node_t *node)
{
    double s = node->rdv_live_ms / 1000.0;

    return node->rdv_live_ms <= 0 || !node->wired_at ? 0 : s < 10 ? 10 : s;
}

/* The first of the `np` producers of input `p` that has sent nothing. */
static unsigned
silent_producer(const rport_t *p, unsigned np)
{
    for (unsigned k = 0; k < np; k++)
        if (!p->rcvd[k] && !p->eos[k])
            return k;
    return 0;
}

int
flow__node_check_drops(flow_node_t *node)
{
    double limit = join_limit_s(node);
    bool late = limit > 0 && flow__now_s() - node->wired_at > limit;

    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        bool lost = drop_seen(&p->drop);
        unsigned np = p->peer->instances;
        /* Each instance of the producer connects once: one that never
         * did, sends on a connection that never comes (libzmq retries for
         * ever), and the run waits for it. */
        if (late && p->drop.mon && p->nopen > 0 && p->drop.joined < np &&
            np == 1)
            return flow_node_fail(
                node,
                "link '%s': '%s' instance 0 has not connected to %s in %.0f "
                "s: not an address its host reaches (see --bind), or a "
                "firewall drops the connection",
                p->link->text, p->peer->name, p->drop.addr, limit);
        if (late && p->drop.mon && p->nopen > 0 && p->drop.joined < np)
            return flow_node_fail(
                node,
                "link '%s': %u of the %u instances of '%s' have not "
                "connected to %s in %.0f s (instance %u has sent nothing): "
                "not an address their hosts reach (see --bind), or a "
                "firewall drops the connections",
                p->link->text, np - p->drop.joined, np, p->peer->name,
                p->drop.addr, limit, silent_producer(p, np));
        if (lost && p->nopen > 0)
            return flow_node_fail(node,
                                  "link '%s': a connection of '%s' to %s was "
                                  "lost before the end of its stream (a "
                                  "network failure?): what was in flight is "
                                  "lost",
                                  p->link->text, p->peer->name, p->drop.addr);
        for (unsigned c = 0; c < p->nch; c++) {
            chan_t *ch = &p->ch[c];
            bool ch_lost = drop_seen(&ch->drop);
            if (late && ch->drop.mon && !ch->drop.joined && !ch->eos)
                return flow_node_fail(
                    node,
                    "link '%s': '%s' instance %u has not connected to %s in "
                    "%.0f s: not an address its host reaches (see --bind), "
                    "or a firewall drops the connection",
                    p->link->text, p->peer->name, ch->peer, ch->drop.addr,
                    limit);
            if (ch_lost && !(ch->eos && ch->out_closed))
                return flow_node_fail(
                    node,
                    "link '%s': the connection of '%s' instance %u to %s "
                    "was lost before the end of its stream (a network "
                    "failure?): what was in flight is lost",
                    p->link->text, p->peer->name, ch->peer, ch->drop.addr);
        }
    }
    return 0;
}

/* Create the sockets of every port; bind the bound ones. */
int
flow__node_wire_bind(flow_node_t *node, const char *run_dir)
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
            /* Demand: no hwm, as the producer's (below): the credits
             * bound what comes, and a credit sent back is never dropped
             * (a ROUTER drops at its hwm). */
            p->pull = make_socket(node, p->demand ? ZMQ_ROUTER : ZMQ_PULL,
                                  p->demand ? 0 : l->hwm);
            if (!p->pull)
                return sock_fail(node, p, "create a socket", "pull");
            if (p->demand) {
                /* What one connection may queue unread: the credits let a
                 * producer have at most credit_max frames on their way; a
                 * connection that sends more (credits ignored, or not a
                 * producer at all) waits at this bound instead of growing
                 * the queue without one, and fails the node once read. */
                int rcvhwm = 2 * l->credit_max + 16;
                zmq_setsockopt(p->pull, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm));
                /* Credits: at most credit_max per producer at a time. */
                p->owe = flow__xcalloc(np, sizeof(*p->owe));
                p->window = (unsigned)l->hwm;
                for (unsigned k = 0; k < np; k++) {
                    p->owe[k].granted = (uint64_t)l->hwm;
                    p->owe[k].owe_at = (p->window + 3) / 4;
                }
                p->adapt = l->credit_max > l->hwm;
                node->adapt |= p->adapt;
                STAT_ADD(p->st, credit_window, p->window);
            }
            /* Watched before it binds: no connection goes uncounted. */
            if ((rc = watch_drops(node, p, p->pull, &p->drop)) ||
                (rc = bind_endpoint(node, p, p->pull, run_dir, node->inst, -1,
                                    &p->drop)))
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
                /* Demand: the credits bound the frames on their way to
                 * credit_max, but libzmq learns that its consumer read a
                 * frame only lwm (about half the hwm) reads at a time: at
                 * an hwm of credit_max, a send with credit blocked on a
                 * consumer that stopped taking (SIGSTOP, a debugger), and
                 * so did the frames for every other consumer. No hwm (0):
                 * the credits alone bound what is queued. */
                p->ch[c].sock =
                    make_socket(node, p->demand ? ZMQ_DEALER : ZMQ_PUSH,
                                p->demand ? 0 : l->hwm);
                if (!p->ch[c].sock)
                    return sock_fail(node, p, "create a socket", "push");
                if (!p->demand)
                    continue;
                p->ch[c].granted = (uint64_t)l->hwm;
                /* It receives credits only, 16 bytes each, at most one per
                 * frame sent, and reads them when it has none left: some
                 * 2 x credit_max unread. A consumer that sends more, or
                 * larger frames, waits or is cut off (libzmq drops the
                 * connection) instead of growing this queue without bound
                 * while the node, with credit, reads none. The limit of
                 * size leaves room for the handshake's READY command (a
                 * routing id of up to 255 bytes and the metadata). */
                zmq_setsockopt(p->ch[c].sock, ZMQ_RCVHWM,
                               &(int){ 4 * l->credit_max + 16 }, sizeof(int));
                zmq_setsockopt(p->ch[c].sock, ZMQ_MAXMSGSIZE,
                               &(int64_t){ 1024 }, sizeof(int64_t));
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
                ch->sock = make_socket(
                    node, flow__net.tcp ? ZMQ_DEALER : ZMQ_PAIR, l->hwm);
                if (!ch->sock)
                    return sock_fail(node, p, "create a socket", "pair");
                if (p->side != 0)
                    continue;
                if ((rc = watch_drops(node, p, ch->sock, &ch->drop)) ||
                    (rc = bind_endpoint(node, p, ch->sock, run_dir, node->inst,
                                        ch->peer, &ch->drop)))
                    return rc;
            }
        }
        /* One consumer, sent to as it has room (node_send.c). */
        if (p->decl->dir != FLOW_DIR_IN && p->nch == 1 && !p->demand)
            p->direct = p->ch[0].sock;
    }
    return 0;
}

/* Connect the connecting sockets; every bound endpoint exists by now. */
int
flow__node_wire_connect(flow_node_t *node, const char *run_dir)
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
            if (flow__net.tcp && flow__netkey_apply(ch->sock, false))
                return sock_fail(node, p, "secure", ep);
            while ((rc = zmq_connect(ch->sock, ep)) && zmq_errno() == EINTR &&
                   !flow__stop_hard)
                ;
            if (rc)
                return sock_fail(node, p, "connect to", ep);
        }
    }
    return 0;
}
