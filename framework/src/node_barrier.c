/* SPDX-License-Identifier: MIT */
/*
 * node_barrier.c: the start and exit barriers of a node instance, over
 * the launcher's pipes or a rendezvous, and the watcher thread that takes
 * the rendezvous's stop orders.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "monitor.h"
#include "netaddr.h"
#include "netkey.h"
#include "node_priv.h"

/* Wait for EOF on pipe `fd` (the launcher closing its end). */
static int
wait_eof(int fd)
{
    char c;
    int rc;

    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        if (flow__stop_hard)
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
    /* A stop that came with the release (its handler ran as the poll
     * returned) is a stop all the same. */
    return flow__stop_hard ? FLOW_EINTR : 0;
}

/* Say once (the watcher and the barriers may both hear it) that the
 * rendezvous stopped this instance. */
static void
say_stopped(flow_node_t *node)
{
    static int said;

    /* In a local run the launcher says why it stops the run. */
    if (flow__net.remote && !__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
        flow_node_log(node, FLOW_LOG_WARN,
                      "stopped by the rendezvous %s (a failure, a timeout or "
                      "a signal there)",
                      flow__net.rdv);
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
        if (!flow__stop_hard)
            zmq_poll(&it, 1, WAIT_MS);
        if (flow__stop_hard) {
            zmq_msg_close(&m);
            return FLOW_EINTR;
        }
    }
    *text = flow__xstrndup(zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
    if (!strncmp(*text, "ABORT", 5)) {
        say_stopped(node);
        flow__stop_hard = 1;
        flow__stop_any = 1;
        free(*text);
        *text = NULL;
        return FLOW_EINTR;
    }
    return 0;
}

int
flow__node_rdv_send(flow_node_t *node, const char *text, size_t len)
{
    while (zmq_send(node->rdv, text, len, 0) < 0) {
        if (zmq_errno() == EINTR && !flow__stop_hard)
            continue;
        return zmq_errno() == EINTR ? FLOW_EINTR : -zmq_errno();
    }
    return 0;
}

/*
 * Whether the monitor event `ev` (value `val`) of a connection to the
 * rendezvous is a handshake that failed for want of the same key: a
 * CURVE socket on one side only (a mechanism mismatch, either way), or,
 * where this process has a key, a HELLO the rendezvous could not open
 * (another key: libzmq tells a client no more). Something that is not a
 * ZeroMQ peer fails a plain socket's handshake in other ways, and is
 * left to the wait for a rendezvous.
 */
static bool
key_refused(uint16_t ev, uint32_t val)
{
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        return val == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH;
    return ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && flow__netkey_on();
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

/*
 * Heartbeats of its own on the rendezvous socket `s` (before it connects),
 * for the rendezvous's liveness `ms` (0: none), as the rendezvous's: a
 * connection gets the rendezvous's time to live with its first PING only,
 * up to a second after it connects, and one to a rendezvous silent
 * (stopped, its host frozen or cut off) before that would wait for ever.
 */
static void
set_heartbeats(void *s, int ms)
{
    int ivl = ms / 4 < 1000 ? ms / 4 : 1000;

    if (ms <= 0)
        return;
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &ms, sizeof(ms));
}

static void *
watch_main(void *arg)
{
    flow_node_t *node = arg;
    /* Connected before the start, with heartbeats (await_table), or not. */
    bool connected = node->watch_sock != NULL;
    void *s = connected ? node->watch_sock : zmq_socket(node->ctx, ZMQ_DEALER);
    void *mon = NULL;
    char line[64], buf[16];
    int linger = 0, n;
    double lost = 0, stop_by = 0;

    node->watch_sock = NULL; /* the watcher's now */
    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    /* Watch the connection too: a rendezvous that vanished cannot send an
     * ABORT, and its instances must not wait forever. */
    mon = flow__monitor_open(
        node->ctx, s, ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    set_heartbeats(s, node->rdv_live_ms);
    n = snprintf(line, sizeof(line), "WATCH %zu\n", node->proc);
    if (!connected) {
        flow__zmq_ipv6_for(s, flow__net.rdv);
        if (flow__netkey_apply(s, false) || zmq_connect(s, flow__net.rdv))
            goto out;
    }
    if (zmq_send(s, line, (size_t)n, 0) < 0)
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
                          flow__net.rdv);
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
        uint16_t ev;
        while (flow__monitor_read(mon, &ev, NULL, NULL, 0)) {
            /* Back after a brief drop: a handshake, not a TCP connection
             * (a stopped rendezvous's kernel still accepts those). */
            if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                lost = 0;
            else if (ev == ZMQ_EVENT_DISCONNECTED && lost == 0)
                lost = (double)now_ns() / 1e9;
        }
    }
out:
    if (mon)
        flow__monitor_close(s, mon);
    zmq_close(s);
    return NULL;
}

void
flow__node_watcher_stop(flow_node_t *node)
{
    if (!node->watching)
        return;
    __atomic_store_n(&watcher_quit, 1, __ATOMIC_RELAXED);
    pthread_join(node->watcher, NULL);
    node->watching = false;
}

/* Parse a TABLE message: the liveness, and the endpoint records. */
static void
parse_table(flow_node_t *node, const char *text)
{
    const char *line = strchr(text, '\n');

    /* "TABLE\n" from an older rendezvous: its PINGs only. */
    node->rdv_live_ms = text[5] == ' ' ? atoi(text + 6) : 0;
    if (node->rdv_live_ms < 0)
        node->rdv_live_ms = 0;

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
 * The rendezvous's WELCOME (`text`: "WELCOME <liveness ms>"): connect the
 * watcher's socket now, with heartbeats of its own (set_heartbeats), and
 * watch it through a monitor (returned; NULL: none), so that a rendezvous
 * silent from before its first PING to this instance is lost too.
 */
static void *
early_watch(flow_node_t *node, const char *text)
{
    int ms = atoi(text + 8), zero = 0;
    void *s, *wmon;

    if (ms <= 0 || node->watch_sock || !(s = zmq_socket(node->ctx, ZMQ_DEALER)))
        return NULL;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    set_heartbeats(s, ms);
    wmon = flow__monitor_open(
        node->ctx, s, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
    if (!wmon) {
        zmq_close(s);
        return NULL;
    }
    flow__zmq_ipv6_for(s, flow__net.rdv);
    if (flow__netkey_apply(s, false) || zmq_connect(s, flow__net.rdv)) {
        flow__monitor_close(s, wmon);
        zmq_close(s);
        return NULL;
    }
    node->watch_sock = s;
    return wmon;
}

/*
 * Wait for the rendezvous's TABLE (every instance registered: the start)
 * and parse it, watching the connection through the monitor `mon` (NULL:
 * none): a rendezvous never reached in RDV_REACH_S fails the node; one
 * lost for 2 s stops it (exit 143, as the watcher does after the start);
 * a REFUSE fails it with the rendezvous's reason, and it exits 2 without
 * reporting a failure (that instance's number is another process's).
 * A WELCOME (this instance registered) with a liveness connects the
 * watcher's socket (early_watch), into `*wmon` its monitor: dropped, that
 * connection is a rendezvous lost too. Returns 0 once the TABLE came.
 */
static int
await_table_loop(flow_node_t *node, void *mon, void **wmon)
{
    double begin = (double)now_ns() / 1e9, lost = 0;
    bool reached = mon == NULL;

    for (;;) {
        zmq_pollitem_t it[3] = { { node->rdv, 0, ZMQ_POLLIN, 0 },
                                 { mon, 0, ZMQ_POLLIN, 0 },
                                 { *wmon, 0, ZMQ_POLLIN, 0 } };
        double t = (double)now_ns() / 1e9;
        char *text = NULL;
        int rc;

        if (flow__stop_hard)
            return FLOW_EINTR;
        if (!reached && t - begin > RDV_REACH_S) {
            int zero = 0; /* nothing sent can leave: none to wait for */
            zmq_setsockopt(node->rdv, ZMQ_LINGER, &zero, sizeof(zero));
            node->unreached = true; /* no FAIL to send it */
            return flow_node_fail(node,
                                  "cannot reach the rendezvous %s (no "
                                  "connection to it in %d s): is it "
                                  "running, at that address and port?",
                                  flow__net.rdv, RDV_REACH_S);
        }
        if (lost > 0 && t - lost > 2.0) {
            flow_node_log(
                node, FLOW_LOG_ERROR,
                "lost the rendezvous %s (gone, or silent, and not back "
                "within 2 s) "
                "before the start: stopping",
                flow__net.rdv);
            flow__stop_hard = 1;
            flow__stop_any = 1;
            return FLOW_EINTR;
        }
        /* Without mon, no wmon: early_watch needs a monitor too. */
        if (zmq_poll(it, !mon ? 1 : *wmon ? 3 : 2, 100) <= 0)
            continue;
        uint16_t ev;
        uint32_t val;
        /* The watcher's early connection, with heartbeats: a drop is a
         * rendezvous silent for its liveness (or gone). */
        while (flow__monitor_read(*wmon, &ev, NULL, NULL, 0)) {
            if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                lost = 0;
            else if (ev == ZMQ_EVENT_DISCONNECTED && lost == 0)
                lost = t;
        }
        while (flow__monitor_read(mon, &ev, &val, NULL, 0)) {
            /* A handshake, not a TCP connection: a port where something
             * else listens is no rendezvous. */
            if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                reached = true;
                lost = 0;
            } else if (ev == ZMQ_EVENT_DISCONNECTED && reached && lost == 0) {
                lost = t;
            } else if (!reached && key_refused(ev, val)) {
                /* A rendezvous answers there, but not with this process's
                 * security: a key on one side only, or another key
                 * (libzmq retries for ever, and the 10 s would say
                 * nothing of why). */
                int zero = 0;
                zmq_setsockopt(node->rdv, ZMQ_LINGER, &zero, sizeof(zero));
                node->refused = true; /* a usage error, told to no one */
                return flow_node_fail(
                    node,
                    "the rendezvous %s refused the connection's security "
                    "handshake: %s; every process of a run needs the same "
                    "FLOW_KEY, or none",
                    flow__net.rdv,
                    flow__netkey_on()
                        ? "this process has a FLOW_KEY, and the rendezvous "
                          "has none or another (or what answers there is "
                          "no rendezvous)"
                        : "the rendezvous runs secured (FLOW_KEY) and this "
                          "process has no FLOW_KEY");
            }
        }
        if (!(it[0].revents & ZMQ_POLLIN))
            continue;
        if ((rc = rdv_recv(node, &text)))
            return rc;
        if (!strncmp(text, "REFUSE ", 7)) {
            text[strcspn(text, "\n")] = '\0';
            /* Where the graphs differ, auto may have counted other CPUs
             * there: the count here is for comparing. */
            if (flow__graph_has_auto(node->g) &&
                !strncmp(text + 7, "its graph differs", 17))
                rc = flow_node_fail(node,
                                    "the rendezvous %s refused it: %s "
                                    "(instances = auto is %u here)",
                                    flow__net.rdv, text + 7,
                                    flow__auto_instances());
            else
                rc = flow_node_fail(node, "the rendezvous %s refused it: %s",
                                    flow__net.rdv, text + 7);
            node->refused = true;
            free(text);
            return rc;
        }
        if (!strncmp(text, "TABLE", 5)) {
            parse_table(node, text);
            free(text);
            return 0;
        }
        if (!strncmp(text, "WELCOME ", 8) && mon && !*wmon)
            *wmon = early_watch(node, text);
        free(text);
    }
}

/* await_table_loop, then the early watcher socket's monitor closed, and
 * that socket too unless the watcher is to take it (the start). */
static int
await_table(flow_node_t *node, void *mon)
{
    void *wmon = NULL;
    int rc = await_table_loop(node, mon, &wmon);

    if (wmon)
        flow__monitor_close(node->watch_sock, wmon);
    if (rc && node->watch_sock) {
        zmq_close(node->watch_sock);
        node->watch_sock = NULL;
    }
    return rc;
}

/*
 * Start barrier: tell the launcher this instance has bound its endpoints,
 * and wait until every instance has. With a rendezvous, register the
 * endpoints and receive everybody's; else a byte on `ready_fd`, then EOF
 * on `go_fd`.
 */
int
flow__node_barrier_start(flow_node_t *node, int ready_fd, int go_fd)
{
    char host[64], head[320], *msg;
    int ivl = 20, linger = 2000, rc, n;
    void *mon = NULL;

    if (!flow__net.rdv) {
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
    mon = flow__monitor_open(node->ctx, node->rdv,
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                 ZMQ_EVENT_DISCONNECTED |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    flow__zmq_ipv6_for(node->rdv, flow__net.rdv);
    if (flow__netkey_apply(node->rdv, false) ||
        zmq_connect(node->rdv, flow__net.rdv)) {
        node->unreached = true; /* no FAIL to send it */
        return flow_node_fail(node, "cannot connect to the rendezvous '%s': %s",
                              flow__net.rdv, zmq_strerror(zmq_errno()));
    }
    if (gethostname(host, sizeof(host)))
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    /* The prints of the graph's parts after the name: a rendezvous whose
     * graph differs says where (an older one reads no further). */
    char *parts = flow__graph_parts(node->g);
    size_t plen = strlen(parts);
    n = snprintf(head, sizeof(head), "HELLO %zu %d %s %016llx %.64s:%u ",
                 node->proc, (int)getpid(), host,
                 (unsigned long long)flow__graph_fingerprint(node->g),
                 node->gn->name, node->inst);
    msg = flow__xmalloc((size_t)n + plen + 1 + node->hlen + 1);
    memcpy(msg, head, (size_t)n);
    memcpy(msg + n, parts, plen);
    msg[n + plen] = '\n';
    if (node->hlen)
        memcpy(msg + n + plen + 1, node->hello, node->hlen);
    rc = flow__node_rdv_send(node, msg, (size_t)n + plen + 1 + node->hlen);
    free(msg);
    free(parts);
    if (rc == 0)
        rc = await_table(node, mon);
    if (mon)
        flow__monitor_close(node->rdv, mon);
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
        if (flow__stop_hard)
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
            rc = flow__node_recv_frame(node, node->item_port[i],
                                       node->item_ch[i], items[i].socket,
                                       ZMQ_DONTWAIT, &msg);
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
int
flow__node_barrier_exit(flow_node_t *node, int done_fd, int release_fd)
{
    char line[64], *text = NULL;
    int rc, n;

    if (!flow__net.rdv) {
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
    if ((rc = flow__node_rdv_send(node, line, (size_t)n)))
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
