/* SPDX-License-Identifier: MIT */
/* rendezvous.c: the control plane of TCP runs; see rendezvous.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "monitor.h"
#include "netaddr.h"
#include "netkey.h"
#include "rendezvous.h"

typedef struct peer {
    unsigned char id[256];
    size_t idlen;
    unsigned char wid[256]; /* the instance's watcher socket */
    size_t widlen;
    bool hello, done, failed;
    bool stop_due; /* its node is unwanted: tell its watcher STOP */
    int pid;
    char host[64];
} peer_t;

struct flow_rdv {
    const flow_graph_t *g;
    void *sock;
    size_t nprocs, nhello, ndone;
    peer_t *peers;
    char *table; /* "TABLE <liveness ms>\n" and every endpoint record */
    size_t tlen, tcap;
    bool started, aborted, quiet;
    void *monitor;        /* PAIR receiving the ROUTER's disconnect events */
    uint64_t fingerprint; /* of the graph: flow__graph_fingerprint */
    double lost_at;       /* when an instance's connection dropped, 0: never */
    size_t handshakes_failed; /* connections without the run's FLOW_KEY */
    bool lost_said;       /* a lost connection, or a failure, was reported */
    double liveness_s;    /* a silent connection is dropped after it; 0: no */
    double last_call;     /* of flow__rdv_process, to see this one held */
    double held_s;        /* the last hold that instances may have taken */
    double held_at;       /* for lost (see may_be_taken), and its end */
    flow_cancel_t cancel; /* inputs given up (CLOSED) */
};

void
flow__rdv_set_quiet(flow_rdv_t *rdv, bool quiet)
{
    rdv->quiet = quiet;
}

/*
 * Watch the connections of a rendezvous whose instances nobody else
 * supervises: a connection that drops before every instance is done means
 * an instance died without saying why (killed, crashed).
 */
static void
watch_connections(flow_rdv_t *r, void *ctx)
{
    r->monitor = flow__monitor_open(ctx, r->sock,
                                    ZMQ_EVENT_DISCONNECTED |
                                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
}

/* Whether peer `p` is still connected: with ZMQ_ROUTER_MANDATORY the
 * ROUTER refuses a message to a routing id it no longer has. The probe,
 * "PING", is ignored by instances. */
static bool
reachable(flow_rdv_t *r, const peer_t *p)
{
    if (zmq_send(r->sock, p->id, p->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return zmq_errno() != EHOSTUNREACH;
    zmq_send(r->sock, "PING\n", 5, ZMQ_DONTWAIT);
    return true;
}

/* Read monitor events; note when a connection dropped too early, and
 * whose it was. */
static void
read_events(flow_rdv_t *r)
{
    uint16_t ev;
    uint32_t val;

    while (flow__monitor_read(r->monitor, &ev, &val, NULL, 0)) {
        /* A process of the run with another FLOW_KEY (its HELLO does not
         * open), or a key on one side only; not a stranger that speaks no
         * ZeroMQ (a port scanner, a browser). */
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
            (val == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ||
             val == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC))
            r->handshakes_failed++;
        /* Once: after an abort, or the loss said, the others' going is
         * expected. */
        if (ev == ZMQ_EVENT_DISCONNECTED && r->ndone < r->nprocs &&
            !r->lost_at && !r->aborted && !r->lost_said)
            r->lost_at = flow__now_s();
    }
}

static int
liveness_ms(double liveness_s)
{
    return (int)(liveness_s * 1000 + 0.5);
}

/* The heartbeat: every second, or a quarter of the liveness. */
static int
heartbeat_ivl_ms(double liveness_s)
{
    int ms = liveness_ms(liveness_s);

    return ms / 4 < 1000 ? ms / 4 : 1000;
}

/*
 * ZMTP heartbeats on every connection of the ROUTER `sock`, before it binds
 * (a listener takes its options when it is made): a PING every heartbeat,
 * a connection with no traffic for `liveness_s` closed, and that time given
 * to the instances as the PING's time to live, so that they close theirs
 * to a rendezvous gone silent.
 */
static void
set_liveness(void *sock, double liveness_s)
{
    int ms = liveness_ms(liveness_s);
    int ivl = heartbeat_ivl_ms(liveness_s);

    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &ms, sizeof(ms));
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &ms, sizeof(ms));
}

flow_rdv_t *
flow__rdv_new(void *ctx, const flow_graph_t *g, const char *bind,
              double liveness_s, char *addr, size_t addrlen, int *err)
{
    flow_rdv_t *r = flow__xcalloc(1, sizeof(*r));
    size_t len = addrlen;
    /* Linger: let a last ABORT or RELEASE out. An instance is sent a few
     * messages, and sends a few: a connection that has this many unread
     * (or unprocessed) is no instance's, and what is sent to it is dropped
     * (every send is ZMQ_DONTWAIT: a full connection never blocks the
     * rendezvous). Without a bound (0), a stranger that sent HELLOs and
     * read no REFUSE grew the rendezvous's memory without end. */
    int linger = 1000, hwm = 1000, one = 1;
    const char *host = NULL;
    char hostbuf[128];

    r->g = g;
    r->fingerprint = flow__graph_fingerprint(g);
    r->nprocs = flow_graph_process_count(g);
    r->peers = flow__xcalloc(r->nprocs, sizeof(*r->peers));
    flow__cancel_init(&r->cancel, g);
    r->sock = zmq_socket(ctx, ZMQ_ROUTER);
    if (!r->sock)
        goto fail;
    zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(r->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    /* A send to a routing id whose connection is gone fails (instead of
     * vanishing): how `reachable` tells a lost instance. */
    zmq_setsockopt(r->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    zmq_setsockopt(r->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (liveness_s > 0) {
        r->liveness_s = liveness_s;
        set_liveness(r->sock, liveness_s);
    }
    flow__zmq_ipv6_for(r->sock, bind);
    if (flow__netkey_apply(r->sock, true) || zmq_bind(r->sock, bind))
        goto fail;
    if (zmq_getsockopt(r->sock, ZMQ_LAST_ENDPOINT, addr, &len))
        goto fail;
    if (!flow__endpoint_host(bind, hostbuf, sizeof(hostbuf)))
        host = hostbuf;
    if ((*err = flow__endpoint_fix(addr, addrlen, host))) {
        flow__rdv_destroy(&r);
        return NULL;
    }
    flow__xgrow((void **)&r->table, &r->tcap, 64, 1);
    /* The liveness goes with the table: an instance's watcher, connected
     * at the start, pings by itself from then on (see watch_main). */
    r->tlen =
        (size_t)snprintf(r->table, r->tcap, "TABLE %d\n",
                         r->liveness_s > 0 ? liveness_ms(r->liveness_s) : 0);
    if (!strncmp(bind, "tcp://", 6))
        watch_connections(r, ctx);
    return r;
fail:
    *err = -zmq_errno();
    flow__rdv_destroy(&r);
    return NULL;
}

void
flow__rdv_destroy(flow_rdv_t **rdv_p)
{
    flow_rdv_t *r;

    if (!rdv_p || !*rdv_p)
        return;
    r = *rdv_p;
    if (r->monitor)
        flow__monitor_close(r->sock, r->monitor);
    if (r->sock)
        zmq_close(r->sock);
    free(r->peers);
    flow__cancel_fini(&r->cancel);
    free(r->table);
    free(r);
    *rdv_p = NULL;
}

int
flow__rdv_fd(flow_rdv_t *rdv)
{
    int fd = -1;
    size_t len = sizeof(fd);

    if (zmq_getsockopt(rdv->sock, ZMQ_FD, &fd, &len))
        return -1;
    return fd;
}

static void
send_to(flow_rdv_t *r, const peer_t *p, const char *text, size_t len)
{
    if (zmq_send(r->sock, p->id, p->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    zmq_send(r->sock, text, len, ZMQ_DONTWAIT);
}

static void
broadcast(flow_rdv_t *r, const char *text, size_t len)
{
    for (size_t k = 0; k < r->nprocs; k++)
        if (r->peers[k].hello)
            send_to(r, &r->peers[k], text, len);
}

/* Tell every watcher (a thread in each instance) to stop its instance. */
static void
abort_watchers(flow_rdv_t *r)
{
    for (size_t k = 0; k < r->nprocs; k++) {
        const peer_t *p = &r->peers[k];
        if (p->widlen && zmq_send(r->sock, p->wid, p->widlen,
                                  ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
            zmq_send(r->sock, "ABORT\n", 6, ZMQ_DONTWAIT);
    }
}

/* Tell the watcher of peer `p` to stop its instance gracefully, now or as
 * soon as it says WATCH. */
static void
stop_watcher(flow_rdv_t *r, peer_t *p)
{
    p->stop_due = true;
    if (p->widlen &&
        zmq_send(r->sock, p->wid, p->widlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(r->sock, "STOP\n", 5, ZMQ_DONTWAIT);
}

/* Process `k` gave its input port `port` up: stop gracefully the instances
 * of every node no one wants any more (flow_node_close_input). */
static void
given_up(flow_rdv_t *r, size_t k, unsigned long port)
{
    size_t j = 0;

    if (!flow__cancel_give_up(&r->cancel, k, port))
        return;
    for (size_t n = 0; n < r->g->nnodes; n++)
        for (unsigned i = 0; i < r->g->nodes[n].instances; i++, j++)
            if (r->cancel.stop[n] && !r->peers[j].done)
                stop_watcher(r, &r->peers[j]);
}

static int
node_of(const flow_graph_t *g, size_t k, unsigned *inst)
{
    for (size_t n = 0; n < g->nnodes; n++) {
        if (k < g->nodes[n].instances) {
            *inst = (unsigned)k;
            return (int)n;
        }
        k -= g->nodes[n].instances;
    }
    return -1;
}

/*
 * Refuse the HELLO `rest` ("PID HOST FINGERPRINT") for process `k` from
 * routing id `id`: a second process for an instance already registered,
 * or one that loaded another graph (another file, other --set values).
 * Says so here, answers REFUSE with the reason, and returns true.
 */
static bool
refuse(flow_rdv_t *r, const unsigned char *id, size_t idlen, size_t k,
       const char *rest)
{
    const peer_t *p = k < r->nprocs ? &r->peers[k] : NULL;
    unsigned long long fp = 0;
    char host[64] = "?", why[768];
    unsigned inst = 0;
    char asked[80] = "";
    int pid = 0, n = k < r->nprocs ? node_of(r->g, k, &inst) : -1;
    int got = sscanf(rest, "%d %63s %llx %79s", &pid, host, &fp, asked);

    if (k >= r->nprocs || (got >= 3 && fp != r->fingerprint)) {
        /* Where, from the prints of its parts on the HELLO line. */
        char where[256] = "";
        const char *nl = strchr(rest, '\n'), *parts = strstr(rest, " parts=");
        if (parts && (!nl || parts < nl)) {
            char *line = flow__xstrdup(parts + 1);
            line[strcspn(line, " \n")] = '\0';
            where[0] = ':';
            where[1] = ' ';
            if (flow__graph_parts_diff(r->g, line, where + 2,
                                       sizeof(where) - 2))
                where[0] = '\0';
            free(line);
        }
        int len = snprintf(why, sizeof(why),
                           "its graph differs from the rendezvous's%s "
                           "(another file, or other --set values): start "
                           "every instance with the rendezvous's graph and "
                           "--set options",
                           where);
        /* The same file and options, on a host of another size (not
         * where a graph parameter differs: auto changes no value). */
        if (flow__graph_has_auto(r->g) && !strstr(where, "graph parameter") &&
            len > 0 && (size_t)len < sizeof(why))
            snprintf(why + len, sizeof(why) - (size_t)len,
                     "; or instances = auto counted other CPUs there (%u "
                     "here): give every process FLOW_AUTO_INSTANCES=%u",
                     flow__auto_instances(), flow__auto_instances());
    } else if (p && p->hello && (pid != p->pid || strcmp(host, p->host)))
        snprintf(why, sizeof(why),
                 "the instance is already registered, by pid %d on %s: "
                 "started twice?",
                 p->pid, p->host[0] ? p->host : "?");
    else
        return false;
    if (!r->quiet && asked[0]) /* as the process named itself */
        fprintf(stderr,
                "flowrun: error: refused instance %s (pid %d on %s): %s\n",
                asked, pid, host, why);
    else if (!r->quiet && n >= 0)
        fprintf(stderr,
                "flowrun: error: refused node '%s' instance %u (pid %d on "
                "%s): %s\n",
                r->g->nodes[n].name, inst, pid, host, why);
    else if (!r->quiet)
        fprintf(stderr,
                "flowrun: error: refused process %zu (pid %d on %s): %s\n", k,
                pid, host, why);
    if (zmq_send(r->sock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
        char line[sizeof(why) + 16];
        int len = snprintf(line, sizeof(line), "REFUSE %s\n", why);
        zmq_send(r->sock, line, (size_t)len, ZMQ_DONTWAIT);
    }
    return true;
}

/*
 * "UNLOADED NODE:I PID HOST REASON" (`rest`, after the verb): the process
 * started for that instance could not load the graph, and so never
 * registers (flow_rendezvous_tell_unloaded): a failure of the run, unless
 * another process has registered the instance. Returns FLOW_ENODE for a
 * failure.
 */
static int
unloaded(flow_rdv_t *r, char *rest)
{
    char name[256], host[64] = "?", *colon, *end = NULL;
    int pid = 0, off = 0;
    unsigned long inst = 0;
    long n = -1;

    if (sscanf(rest, "%255s %d %63s %n", name, &pid, host, &off) < 3 || !off)
        return 0;
    rest += off;
    rest[strcspn(rest, "\n")] = '\0';
    if ((colon = strrchr(name, ':'))) {
        *colon = '\0';
        inst = strtoul(colon + 1, &end, 10);
        n = flow__graph_find_node(r->g, name);
    }
    if (n < 0 || !end || *end || end == colon + 1 ||
        inst >= r->g->nodes[n].instances) {
        if (!r->quiet) /* not one of this graph's: it waits for the right one */
            fprintf(stderr,
                    "flowrun: warning: a process for instance '%s%s%s' (pid "
                    "%d on %s), which the graph does not have: %s\n",
                    name, colon ? ":" : "", colon ? colon + 1 : "", pid, host,
                    rest);
        return 0;
    }
    peer_t *p = &r->peers[flow__proc_index(r->g, (size_t)n, (unsigned)inst)];
    if (p->hello || p->failed)
        return 0; /* another process runs it, or its failure is said */
    p->failed = true;
    r->lost_at = 0;
    r->lost_said = true;
    if (!r->quiet)
        fprintf(stderr,
                "flowrun: error: node '%s' instance %lu (pid %d on %s, before "
                "it registered): %s\n",
                r->g->nodes[n].name, inst, pid, host, rest);
    return FLOW_ENODE;
}

/* Handle one message `text` (NUL-terminated) from routing id `id`. */
static int
handle(flow_rdv_t *r, const unsigned char *id, size_t idlen, char *text)
{
    char cmd[16];
    size_t k;
    int off = 0;
    peer_t *p;
    unsigned inst = 0;
    int n;

    if (!strncmp(text, "UNLOADED ", 9))
        return unloaded(r, text + 9);
    if (sscanf(text, "%15s %zu%n", cmd, &k, &off) != 2)
        return 0;         /* not ours: ignore */
    if (k >= r->nprocs) { /* an instance of a larger graph */
        if (!strcmp(cmd, "HELLO"))
            refuse(r, id, idlen, k, text + off);
        return 0;
    }
    p = &r->peers[k];
    n = node_of(r->g, k, &inst);
    if (!strcmp(cmd, "HELLO") && refuse(r, id, idlen, k, text + off))
        return 0;
    if (!strcmp(cmd, "HELLO") && !p->hello) {
        char *nl = strchr(text, '\n');
        sscanf(text + off, "%d %63s", &p->pid, p->host);
        memcpy(p->id, id, idlen);
        p->idlen = idlen;
        p->hello = true;
        r->nhello++;
        if (nl) {
            size_t add = strlen(nl + 1);
            flow__xgrow((void **)&r->table, &r->tcap, r->tlen + add + 1, 1);
            memcpy(r->table + r->tlen, nl + 1, add + 1);
            r->tlen += add;
        }
        if (r->liveness_s > 0) {
            /* Its watcher connects now, pinging by itself: a connection
             * learns the time to live of this end's PINGs with the first,
             * up to a second away (see early_watch in node_barrier.c). */
            char welcome[32];
            int len = snprintf(welcome, sizeof(welcome), "WELCOME %d\n",
                               liveness_ms(r->liveness_s));
            send_to(r, p, welcome, (size_t)len);
        }
        if (r->aborted)
            send_to(r, p, "ABORT\n", 6);
        if (r->nhello == r->nprocs && !r->started) {
            r->started = true;
            broadcast(r, r->table, r->tlen);
        }
    } else if (!strcmp(cmd, "WATCH")) {
        memcpy(p->wid, id, idlen);
        p->widlen = idlen;
        if (r->aborted)
            abort_watchers(r);
        else if (p->stop_due)
            stop_watcher(r, p);
    } else if (!strcmp(cmd, "CLOSED") && p->hello) {
        given_up(r, k, strtoul(text + off, NULL, 10));
    } else if (!strcmp(cmd, "DONE") && p->hello && !p->done) {
        p->done = true;
        if (++r->ndone == r->nprocs)
            broadcast(r, "RELEASE\n", 8);
    } else if ((!strcmp(cmd, "FAIL") || !strcmp(cmd, "STOPPED")) && p->failed) {
        return 0; /* a second report of the same failure */
    } else if (!strcmp(cmd, "FAIL") || !strcmp(cmd, "STOPPED")) {
        char *reason = text + off;
        p->failed = true;
        r->lost_at = 0;      /* explained */
        r->lost_said = true; /* the drops that follow are its consequence */
        while (*reason == ' ')
            reason++;
        reason[strcspn(reason, "\n")] = '\0';
        /* Once the run is stopping, an instance stopped by a signal (srun
         * and schedulers signal every task of a step) is a consequence. */
        if (r->aborted && !strcmp(cmd, "STOPPED"))
            return 0;
        if (r->quiet)
            return FLOW_ENODE;
        if (p->hello)
            fprintf(stderr,
                    "flowrun: error: node '%s' instance %u (pid %d on %s): "
                    "%s\n",
                    r->g->nodes[n].name, inst, p->pid,
                    p->host[0] ? p->host : "?", reason);
        else /* its own words are on its standard error, where it runs */
            fprintf(stderr,
                    "flowrun: error: node '%s' instance %u (before it "
                    "registered): %s\n",
                    r->g->nodes[n].name, inst, reason);
        return FLOW_ENODE;
    }
    return 0;
}

/*
 * Whether instances may have taken this rendezvous, held for `held`
 * seconds, for lost: an instance drops its connection when no PING came
 * for the time to live (the liveness, sent in tenths of a second), counted
 * from the last PING it had, sent up to a heartbeat interval before the
 * hold. Its reconnection has another routing id: the rendezvous sees it
 * lost, although it was the one silent.
 */
static bool
may_be_taken(const flow_rdv_t *r, double held)
{
    int ttl_ms = liveness_ms(r->liveness_s) / 100 * 100;

    return r->liveness_s > 0 &&
           held > (ttl_ms - heartbeat_ivl_ms(r->liveness_s)) / 1000.0;
}

static void
say_held(const flow_rdv_t *r, double held)
{
    if (!r->quiet)
        fprintf(stderr,
                "flowrun: error: the rendezvous was held for %.1f s "
                "(stopped?), %s its liveness (%g s): its instances took it "
                "for lost and stop\n",
                held, held > r->liveness_s ? "longer than" : "about",
                r->liveness_s);
}

int
flow__rdv_process(flow_rdv_t *r)
{
    int result = 0;
    double now = flow__now_s(), held = r->last_call ? now - r->last_call : 0;

    r->last_call = now;
    if (may_be_taken(r, held)) {
        r->held_s = held;
        r->held_at = now;
    }
    /* Held (SIGSTOP, a frozen host) longer than the instances wait for a
     * silent rendezvous: they have stopped, or are stopping, and the
     * connections that dropped meanwhile are their going, not their
     * failures. */
    if (r->liveness_s > 0 && held > r->liveness_s && !r->lost_said &&
        !r->aborted && r->ndone < r->nprocs) {
        say_held(r, held);
        r->lost_said = true;
        r->lost_at = 0;
        return FLOW_ENODE;
    }

    for (;;) {
        zmq_msg_t idm, body;
        int more = 0, rc;
        size_t ml = sizeof(more);
        char *text;

        zmq_msg_init(&idm);
        if (zmq_msg_recv(&idm, r->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&idm);
            break;
        }
        zmq_getsockopt(r->sock, ZMQ_RCVMORE, &more, &ml);
        if (!more) {
            zmq_msg_close(&idm);
            continue;
        }
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, r->sock, 0) < 0) {
            zmq_msg_close(&idm);
            zmq_msg_close(&body);
            break;
        }
        text = flow__xstrndup(zmq_msg_data(&body), zmq_msg_size(&body));
        if (zmq_msg_size(&idm) <= sizeof(r->peers[0].id)) {
            rc = handle(r, zmq_msg_data(&idm), zmq_msg_size(&idm), text);
            if (rc && !result)
                result = rc;
        }
        free(text);
        zmq_msg_close(&idm);
        zmq_msg_close(&body);
    }
    read_events(r);
    /* A dropped connection and no FAIL within a second: an instance died,
     * if one has gone indeed, the one whose routing id is gone. The
     * connection may be another's (a stranger's, one refused); while one
     * drop was pending the others were not read (one loss at a time). */
    if (!result && r->lost_at && r->ndone < r->nprocs && !r->aborted &&
        !r->lost_said && flow__now_s() - r->lost_at > 1.0) {
        long gone = -1;
        /* A drop seen as this rendezvous came back from a hold a little
         * shorter than its liveness: the instance took it for lost. */
        bool after_hold = r->held_at && r->lost_at >= r->held_at &&
                          r->lost_at - r->held_at < 1.0;
        for (size_t k = 0; k < r->nprocs && gone < 0; k++) {
            const peer_t *p = &r->peers[k];
            if (p->hello && !p->failed && !reachable(r, p))
                gone = (long)k;
        }
        r->lost_at = 0;
        if (gone >= 0 && after_hold) {
            say_held(r, r->held_s);
            r->lost_said = true;
            result = FLOW_ENODE;
        } else if (gone >= 0) {
            const peer_t *p = &r->peers[gone];
            char pending[512];
            unsigned inst = 0;
            int n = node_of(r->g, (size_t)gone, &inst);
            flow__rdv_pending(r, pending, sizeof(pending));
            /* One done but gone before the release may have taken
             * messages it had queued, not yet delivered, with it: its
             * consumers would wait for them for ever. */
            char silent[96] = "";
            if (r->liveness_s > 0)
                snprintf(silent, sizeof(silent), ", silent for %g s",
                         r->liveness_s);
            if (!r->quiet)
                fprintf(stderr,
                        "flowrun: error: node '%s' instance %u (pid %d on %s) "
                        "lost its connection to the rendezvous %s (killed, "
                        "crashed%s, or its host unreachable); not finished: "
                        "%s\n",
                        r->g->nodes[n].name, inst, p->pid,
                        p->host[0] ? p->host : "?",
                        p->done ? "after finishing, before the run ended, "
                                  "with messages it sent maybe not delivered"
                                : "before finishing",
                        silent, pending);
            r->lost_said = true;
            result = FLOW_ENODE;
        }
    }
    return result;
}

void
flow__rdv_abort(flow_rdv_t *r)
{
    r->aborted = true;
    broadcast(r, "ABORT\n", 6);
    abort_watchers(r);
}

bool
flow__rdv_peer_done(const flow_rdv_t *r, size_t k)
{
    return k < r->nprocs && r->peers[k].done;
}

bool
flow__rdv_peer_failed(const flow_rdv_t *r, size_t k)
{
    return k < r->nprocs && r->peers[k].failed;
}

bool
flow__rdv_started(const flow_rdv_t *r)
{
    return r->started;
}

bool
flow__rdv_finished(const flow_rdv_t *r)
{
    return r->ndone == r->nprocs;
}

bool
flow__rdv_all_told(const flow_rdv_t *r)
{
    for (size_t k = 0; k < r->nprocs; k++) {
        const peer_t *p = &r->peers[k];
        if (!p->hello || (r->aborted && !p->failed && !p->widlen))
            return false;
    }
    return true;
}

/* Name into `buf` the instances that have not reported done, or with
 * `unregistered`, those that never registered (flow__namelist); returns
 * how many there are. */
static size_t
list_instances(const flow_rdv_t *r, bool unregistered, char *buf, size_t size)
{
    flow_namelist_t l;
    size_t count = 0;

    flow__namelist_init(&l, buf, size);
    for (size_t k = 0; k < r->nprocs; k++) {
        const peer_t *p = &r->peers[k];
        unsigned inst = 0;
        int n;

        if (unregistered ? p->hello : p->done)
            continue;
        count++;
        n = node_of(r->g, k, &inst);
        flow__namelist_add(&l, "%s[%u]%s", r->g->nodes[n].name, inst,
                           p->hello || unregistered ? ""
                                                    : " (never registered)");
    }
    flow__namelist_end(&l, "instances");
    return count;
}

void
flow__rdv_pending(const flow_rdv_t *r, char *buf, size_t size)
{
    list_instances(r, false, buf, size);
}

size_t
flow__rdv_unregistered(const flow_rdv_t *r, char *buf, size_t size)
{
    return list_instances(r, true, buf, size);
}

size_t
flow__rdv_handshakes_failed(const flow_rdv_t *r)
{
    return r->handshakes_failed;
}
