/* SPDX-License-Identifier: MIT */
/*
 * node.c: one node instance at run time, in its own process: its life
 * (flow__node_main: wire, start, run the node's callbacks, drain, end),
 * its identity, logging and failure, and the stop signals. Its sockets are
 * node_wire.c's, its messages node_send.c's and node_recv.c's, its
 * barriers node_barrier.c's; node_priv.h has what they share.
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
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "node_priv.h"
#if FLOW__ASAN
#include <sanitizer/lsan_interface.h>
#endif

struct flow__node_net flow__net;

void
flow__node_set_net(bool tcp, const char *bind_host, const char *announce,
                   const char *rdv, bool remote)
{
    flow__net.tcp = tcp;
    flow__net.announce = announce;
    flow__net.remote = remote;
    flow__net.bind_host = bind_host && *bind_host ? bind_host : "127.0.0.1";
    flow__net.rdv = rdv;
}

/*
 * Stop requests from the launcher. SIGUSR1: a graceful stop, sources end
 * their streams (their sends return FLOW_EINTR), nodes without a push input
 * that ask flow_node_stopping end their work, and everything downstream
 * drains. SIGTERM: stop now; the blocking calls return FLOW_EINTR so the
 * node's fini still runs. flow__stop_any is either, for the one look per
 * message sent or received (flow__interrupted).
 */
volatile sig_atomic_t flow__stop_soft;
volatile sig_atomic_t flow__stop_hard;
volatile sig_atomic_t flow__stop_any;

/*
 * A graceful stop (SIGUSR1) is the launcher's (this process's parent) or,
 * in an instance started apart, its own watcher's: one another process
 * sends (a `kill -USR1` or `pkill -USR1` meant for something else) is
 * ignored. Taken, it ended a source's stream early and the run exited 0
 * with its output cut short, unsaid. SIGTERM from anyone stops the
 * instance: that is a failure the launcher reports.
 */
static void
on_stop_signal(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (sig == SIGTERM) {
        flow__stop_hard = 1;
    } else {
        if (si && si->si_code <= 0 && si->si_pid != getpid() &&
            si->si_pid != getppid())
            return; /* not a stop notice of the run's */
        flow__stop_soft = 1;
    }
    flow__stop_any = 1;
}

void
flow__node_signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: blocking calls return EINTR. */
    sa.sa_flags = SA_SIGINFO;
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

int
flow_node_stopping(const flow_node_t *node)
{
    if (node->harness)
        return 0;
    if (flow__stop_hard ||
        (flow__stop_soft && node->may_stop && !node->closing))
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

int
flow_node_wait_fds(const flow_node_t *node, struct pollfd *fds, unsigned nfds,
                   int timeout_ms)
{
    struct timespec end = { 0, 0 }, left;
    sigset_t stops, old;
    int rc;

    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &end);
        end.tv_sec += timeout_ms / 1000;
        end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (end.tv_nsec >= 1000000000) {
            end.tv_sec++;
            end.tv_nsec -= 1000000000;
        }
    }
    /* The stop signals held from the look at the flags to the wait, which
     * alone lets them in: one that comes in between is not missed. */
    sigemptyset(&stops);
    if (!node->harness) { /* the harness's process is the test's */
        sigaddset(&stops, SIGTERM);
        sigaddset(&stops, SIGUSR1);
    }
    pthread_sigmask(SIG_BLOCK, &stops, &old);
    for (;;) {
        for (unsigned i = 0; i < nfds; i++)
            fds[i].revents = 0;
        if ((rc = flow_node_stopping(node)))
            break;
        if (timeout_ms >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            left.tv_sec = end.tv_sec - now.tv_sec;
            left.tv_nsec = end.tv_nsec - now.tv_nsec;
            if (left.tv_nsec < 0) {
                left.tv_sec--;
                left.tv_nsec += 1000000000;
            }
            if (left.tv_sec < 0)
                left = (struct timespec){ 0, 0 };
        }
        rc = ppoll(fds, nfds, timeout_ms >= 0 ? &left : NULL, &old);
        if (rc >= 0)
            break;
        if (errno != EINTR) {
            rc = -errno;
            break;
        }
        /* A signal: a stop (looked at above), or another's. */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int
flow_node_wait_fd(const flow_node_t *node, int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    int rc = flow_node_wait_fds(node, &p, 1, timeout_ms);

    return rc > 0 ? p.revents : rc;
}

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

/* flow__node_find_port by the names' text. */
rport_t *__attribute__((noinline))
flow__node_find_port_by_text(const flow_node_t *node, const char *name)
{
    if (!name) /* no port: unknown, as in the harness */
        return NULL;
    for (size_t i = 0; i < node->nports; i++)
        if (!strcmp(node->ports[i].decl->name, name))
            return &node->ports[i];
    return NULL;
}

unsigned
flow_node_channels(const flow_node_t *node, const char *port)
{
    rport_t *p;

    if (node->harness)
        return flow__harness_channels(node->harness, port);
    if (!(p = flow__node_find_port(node, port)))
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
    p = flow__node_find_port(node, port);
    return p ? p->link->batch : 0;
}

int
flow_node_hwm(const flow_node_t *node, const char *port)
{
    rport_t *p;

    if (node->harness)
        return flow__harness_hwm(node->harness, port);
    p = flow__node_find_port(node, port);
    if (!p)
        return 0;
    /* balance=demand: hwm is the credit window it starts with (1 unless
     * written); the most it lets a producer send ahead is credit_max, the
     * written hwm or the round robin default. */
    return p->link->demand ? p->link->credit_max : p->link->hwm;
}

static const char *const level_name[] = { "error", "warning", "info", "debug" };

const char *
flow_log_level_name(int level)
{
    return level >= FLOW_LOG_ERROR && level <= FLOW_LOG_DEBUG
               ? level_name[level]
               : NULL;
}

int
flow_log_level_parse(const char *name)
{
    for (int l = FLOW_LOG_ERROR; l <= FLOW_LOG_DEBUG; l++)
        if (!strcmp(name, level_name[l]))
            return l;
    return strcmp(name, "warn") ? -1 : FLOW_LOG_WARN;
}

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
bool flow__wait_timing = true;

void
flow__node_set_timing(bool on)
{
    flow__wait_timing = on;
}

/* Into `line` (`cap` bytes), the start of a log line of `level`: the mark
 * of a captured line, or the node[instance] prefix. Returns snprintf's. */
static int
log_prefix(const flow_node_t *node, flow_log_level_t level, char *line,
           size_t cap)
{
    if (log_captured)
        return snprintf(line, cap, "%c%s: ", FLOW__LOG_MARK, level_name[level]);
    if (flow__net.remote) /* the prefix of a local run's relayed lines */
        return snprintf(line, cap, "%s[%u] (pid %d) %s: ", node->gn->name,
                        node->inst, (int)getpid(), level_name[level]);
    return snprintf(line, cap, "%s[%u] %s: ", node->gn->name, node->inst,
                    level_name[level]);
}

static void vlog(const flow_node_t *node, flow_log_level_t level,
                 const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vlog(const flow_node_t *node, flow_log_level_t level, const char *fmt,
     va_list ap)
{
    char small[1024], *line = small;
    size_t cap = sizeof(small);
    va_list aq;
    int n;
    size_t len;

    if ((int)level < 0 || level > FLOW_LOG_DEBUG)
        level = FLOW_LOG_INFO;
    if ((int)level > (node->gn->log_level >= 0 ? node->gn->log_level : log_max))
        return;
    n = log_prefix(node, level, line, cap);
    if (n < 0)
        return;
    len = (size_t)n < cap ? (size_t)n : cap - 1;
    va_copy(aq, ap);
    n = vsnprintf(line + len, cap - len - 1, fmt, ap);
    if (n > 0 && (size_t)n >= cap - len - 1) {
        /* Longer than the stack buffer: the whole message, from the heap
         * (the launcher's relay passes a long line on in pieces, each
         * with the prefix); cut to the stack buffer without memory. */
        char *big = malloc(len + (size_t)n + 2);
        if (big) {
            memcpy(big, small, len);
            line = big;
            cap = len + (size_t)n + 2;
            n = vsnprintf(line + len, cap - len - 1, fmt, aq);
        }
    }
    va_end(aq);
    if (n > 0) {
        size_t end =
            len + ((size_t)n < cap - len - 1 ? (size_t)n : cap - len - 2);
        /* One line per call: a newline the message ends with is the one
         * added here, and one inside it reads as a space (it would start a
         * line without the prefix, or an empty one). */
        while (end > len && (line[end - 1] == '\n' || line[end - 1] == '\r'))
            end--;
        for (size_t i = len; i < end; i++)
            if (line[i] == '\n' || line[i] == '\r')
                line[i] = ' ';
        len = end;
    }
    line[len++] = '\n';
    /* One write: lines of concurrent instances never interleave. */
    if (write(STDERR_FILENO, line, len) < 0)
        len = 0;
    if (line != small)
        free(line);
}

void
flow_node_log(flow_node_t *node, flow_log_level_t level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(node, level, fmt, ap);
    va_end(ap);
}

static void vfail(flow_node_t *node, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Keep the first failure: a message longer than node->fail keeps its
 * start and its end, "..." between them, as the reason usually ends it
 * ("cannot use '<a long path>': File name too long"). Neither cut splits
 * a UTF-8 character.
 */
static void
vfail(flow_node_t *node, const char *fmt, va_list ap)
{
    char *whole = NULL;
    int len;

    if (node->failed)
        return;
    node->failed = true;
    len = vasprintf(&whole, fmt, ap);
    if (len < 0) { /* no memory: what fits */
        snprintf(node->fail, sizeof(node->fail), "%s", fmt);
        return;
    }
    if ((size_t)len < sizeof(node->fail)) {
        memcpy(node->fail, whole, (size_t)len + 1);
    } else {
        size_t head = sizeof(node->fail) / 2 - 2, tail;
        while (head > 0 && (whole[head] & 0xC0) == 0x80)
            head--;
        tail = sizeof(node->fail) - head - 4;
        while (tail > 0 && (whole[len - tail] & 0xC0) == 0x80)
            tail--;
        memcpy(node->fail, whole, head);
        memcpy(node->fail + head, "...", 3);
        memcpy(node->fail + head + 3, whole + len - tail, tail + 1);
    }
    free(whole);
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
int __attribute__((cold, noinline, format(printf, 2, 3)))
flow__node_port_misuse(flow_node_t *node, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(node, fmt, ap);
    va_end(ap);
    return FLOW_EPORT;
}

/* Fail the node for `use` of `port`, found as `p` (NULL: unknown) but of
 * the wrong direction. */
int __attribute__((noinline, cold))
flow__node_port_fail(flow_node_t *node, const char *port, const rport_t *p,
                     enum port_use use)
{
    static const char *const what[] = { "send on", "close of", "receive on" };

    if (!p)
        return flow__node_port_misuse(node, "%s unknown port '%s'", what[use],
                                      port ? port : "(null)");
    return flow__node_port_misuse(node, "%s %s port '%s'", what[use],
                                  use == USE_RECV ? "output" : "input", port);
}

/* ---- The instance's life ------------------------------------------------- */

/* Where `node` says what it does (flow__doing): its counters' word, or
 * `spare` when it has none. Fixed for the run: a loop asks once. */
static inline uint32_t *
doing_word(flow_node_t *node, uint32_t *spare)
{
    return node->st ? &node->st->doing : spare;
}

/* Hand `*msg_p`, from input `p`, to the node's process(), then say that
 * the node does `back` again: the loop's receive, from `p` when it is the
 * only input (with several, the poll says it waits on several). Its
 * callers work it out once, not per message, and `doing` too
 * (doing_word). A message process() leaves in `*msg_p` stays the
 * caller's, for the next receive into the same pointer to reuse. */
static inline int
dispatch(flow_node_t *node, void *state, rport_t *p, uint32_t back,
         uint32_t *doing, flow_msg_t **msg_p)
{
    int rc;

    node->processing = true;
    node->cur_seq = flow_msg_seq(*msg_p);
    __atomic_store_n(doing, FLOW_DOING_WORK, __ATOMIC_RELAXED);
    rc = node->process(node, state, p->name, msg_p);
    __atomic_store_n(doing, back, __ATOMIC_RELAXED);
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

/* process_loop's loop on its one input `p`, a push input that
 * flow__node_recv_push reads (see there), until `p` ends or is given up:
 * a function of its own, whose few values stay in registers across
 * process(). `on_p` is what the node does while it waits there. Returns 0
 * or a failure. */
static int __attribute__((noinline))
process_push(flow_node_t *node, void *state, rport_t *p, uint32_t on_p)
{
    flow_msg_t *msg = NULL; /* each receive may reuse the last one */
    uint32_t spare, *doing = doing_word(node, &spare);
    int flags = node->timed ? ZMQ_DONTWAIT : 0;
    int rc;

    while ((rc = flow__node_recv_push(node, p, flags, &msg)) == GOT_DATA) {
        if ((rc = dispatch(node, state, p, on_p, doing, &msg)))
            return rc;
        /* Given up, or ended by a receive of process() itself
         * (flow_node_recv): the loop looks again. */
        if (p->given_up || !p->nopen)
            break;
    }
    flow_msg_destroy(&msg);
    return rc < 0 ? rc : 0;
}

/* The framework's loop for process-mode nodes. */
static int __attribute__((flatten)) process_loop(flow_node_t *node, void *state)
{
    flow__doing(node, FLOW_DOING_RECV);
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
            return 0; /* flow__node_drain_inputs drops the rest */
        if (n == 1) {
            /* One source of input: block on it, no poll needed. */
            rport_t *p = node->item_port[0];
            flow_msg_t *msg = NULL; /* each receive may reuse the last one */
            unsigned ch = node->item_ch[0];
            void *sock = node->items[0].socket;
            uint32_t on_p = flow__doing_on(node, FLOW_DOING_RECV, p);
            int rc;

            flow__doing(node, on_p);
            if (p->in && !p->demand && !node->watch_drops) {
                if ((rc = process_push(node, state, p, on_p)) < 0)
                    return rc;
                continue;
            }
            uint32_t spare, *doing = doing_word(node, &spare);
            while ((rc = flow__node_recv_frame(node, p, ch, sock, 0, &msg)) ==
                   GOT_DATA) {
                if ((rc = dispatch(node, state, p, on_p, doing, &msg)))
                    return rc;
                /* Given up, or ended by a receive of process() itself
                 * (flow_node_recv): the loop looks again. */
                if (p->given_up || (p->in ? !p->nopen : p->ch[ch].eos))
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
        int prc = flow__node_poll_input(node, node->items, n, NULL);
        if (prc < 0)
            return prc;
        if (prc == 0)
            continue;
        uint32_t spare, *doing = doing_word(node, &spare);
        for (int i = 0; i < n; i++) {
            rport_t *p = node->item_port[i];
            if (!(node->items[i].revents & ZMQ_POLLIN))
                continue;
            uint32_t on_p = flow__doing_on(node, FLOW_DOING_RECV, p);
            /* Take a few at a time: fewer polls, still fair. A receive
             * that gets no data leaves msg NULL. */
            flow_msg_t *msg = NULL;
            for (int k = 0; k < 64; k++) {
                int rc = flow__node_recv_frame(node, p, node->item_ch[i],
                                               node->items[i].socket,
                                               ZMQ_DONTWAIT, &msg);
                if (rc < 0)
                    return rc;
                if (rc == GOT_NOTHING || rc == GOT_EOS)
                    break;
                if (p->given_up) { /* given up, maybe just now: dropped */
                    p->discarded++;
                    continue;
                }
                if ((rc = dispatch(node, state, p, on_p, doing, &msg)))
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
int
flow__node_drain_inputs(flow_node_t *node)
{
    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        flow_msg_t *msg = NULL;
        int rc;

        if (p->decl->dir == FLOW_DIR_IN) {
            /* Each receive reuses the last message; the end destroys it. */
            while (p->nopen) {
                rc = flow__node_recv_frame(node, p, 0, p->pull, 0, &msg);
                if (rc < 0)
                    return rc;
                if (rc == GOT_DATA)
                    p->discarded++;
            }
        } else if (p->decl->dir == FLOW_DIR_PAIR) {
            for (unsigned c = 0; c < p->nch; c++) {
                while (!p->ch[c].eos) {
                    rc = flow__node_recv_frame(node, p, c, p->ch[c].sock, 0,
                                               &msg);
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

void
flow__node_release(flow_node_t *node)
{
    for (size_t i = 0; i < node->nports; i++) {
        rport_t *p = &node->ports[i];
        if (p->drop.mon)
            flow__node_unwatch(p->pull, &p->drop);
        if (p->pull)
            zmq_close(p->pull);
        for (unsigned c = 0; c < p->nch; c++) {
            if (p->ch[c].drop.mon)
                flow__node_unwatch(p->ch[c].sock, &p->ch[c].drop);
            if (p->ch[c].sock)
                zmq_close(p->ch[c].sock);
        }
        free(p->ch);
        free(p->rcvd);
        free(p->eos);
        free(p->owe);
    }
    flow__node_watcher_stop(node);
    if (node->watch_sock) /* the watcher did not start */
        zmq_close(node->watch_sock);
    node->watch_sock = NULL;
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
    node->ports_end = NULL;
    node->items = NULL;
    node->item_port = NULL;
    node->item_ch = NULL;
    node->cb_items = NULL;
    node->cb_ch = NULL;
    if (node->ctx)
        zmq_ctx_term(node->ctx);
    node->ctx = NULL;
}

/* The context of an instance that passed the exit barrier: see
 * flow__node_leave. */
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
void
flow__node_leave(flow_node_t *node)
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
    flow__node_release(node);
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

static void *
idle_thread(void *arg)
{
    return arg;
}

/* What start_aborted says: a whole log line, made before it is armed. */
static char abort_line[512];
static size_t abort_len;

static void
start_aborted(int sig)
{
    (void)sig;
    if (write(STDERR_FILENO, abort_line, abort_len) < 0)
        abort_len = 0;
    _exit(1);
}

/*
 * Start the threads of the context `node->ctx` now (libzmq starts them with
 * its first socket, here one made and closed at once). threads_available()
 * checked that they can start, but under a limit on processes (ulimit -u)
 * the other instances of the run count too, and may take what room there
 * was in between; libzmq then aborts (its own line, "Resource temporarily
 * unavailable (src/thread.cpp:269)", and SIGABRT). Its abort there fails
 * the node, saying so, as the check does: exit 1, no signal, no core dump.
 */
static void
ctx_start(const flow_node_t *node)
{
    static const char msg[] =
        "cannot start the threads ZeroMQ needs: libzmq aborted, saying "
        "why above (a limit on processes, ulimit -u, or on memory, "
        "ulimit -v)\n";
    struct sigaction sa, old;
    void *probe;
    int n = log_prefix(node, FLOW_LOG_ERROR, abort_line, sizeof(abort_line));

    if (n < 0)
        n = 0;
    abort_len = (size_t)n < sizeof(abort_line) ? (size_t)n : 0;
    if (abort_len + sizeof(msg) - 1 <= sizeof(abort_line)) {
        memcpy(abort_line + abort_len, msg, sizeof(msg) - 1);
        abort_len += sizeof(msg) - 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = start_aborted;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGABRT, &sa, &old))
        return;
    probe = zmq_socket(node->ctx, ZMQ_PAIR);
    if (probe) /* else the sockets' own creation says why */
        zmq_close(probe);
    sigaction(SIGABRT, &old, NULL);
}

/*
 * Whether this process can start the two threads a ZeroMQ context starts
 * with its first socket (its I/O thread and its reaper), which libzmq
 * cannot fail gently: it aborts. Started and joined here first, so that a
 * limit on processes or memory fails the node with its reason instead.
 * Returns 0 or pthread_create's error.
 */
static int
threads_available(void)
{
    pthread_t t[2];
    int rc = 0, started = 0;

    while (started < 2 &&
           (rc = pthread_create(&t[started], NULL, idle_thread, NULL)) == 0)
        started++;
    while (started > 0)
        pthread_join(t[--started], NULL);
    return rc;
}

static int
report_failure(flow_node_t *node, const char *what, int rc)
{
    const flow_node_desc_t *d = node->gn->desc;

    if (rc == FLOW_EINTR && flow__stop_hard && !node->failed) {
        /* Stopped by the launcher: not this node's failure. */
        if (node->inited && d->fini)
            d->fini(node, node->state);
        flow__node_release(node);
        return 128 + SIGTERM;
    }
    if (!node->failed) {
        char code[64];
        flow_node_fail(node, "%s returned %s", what,
                       flow__code_text(rc, code, sizeof(code)));
    }
    flow_node_log(node, FLOW_LOG_ERROR, "%s", node->fail);
    if (node->refused) { /* a usage error; not the registered one's failure */
        flow__node_release(node);
        return FLOW__EXIT_REFUSED;
    }
    if (node->unreached) { /* no one to tell */
        flow__node_release(node);
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
    flow__node_release(node);
    return 1;
}

/*
 * Name this process "NODE[I]" (the kernel keeps 15 bytes: a long node name
 * is cut, never the instance), as top, ps -o comm and pgrep show it, so
 * that the processes of a run tell which instance each is; its command
 * line stays flowrun's.
 */
static void
name_process(const char *node, unsigned inst)
{
    char idx[16], name[16];
    size_t il = (size_t)snprintf(idx, sizeof(idx), "[%u]", inst); /* <= 12 */
    size_t nl = strlen(node);

    if (nl > sizeof(name) - 1 - il)
        nl = sizeof(name) - 1 - il;
    memcpy(name, node, nl);
    memcpy(name + nl, idx, il + 1);
    prctl(PR_SET_NAME, name);
}

void
flow__node_exit(int status)
{
    _exit(status);
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

    name_process(gn->name, inst);
    memset(&node, 0, sizeof(node));
    node.st = st;
    node.timed = flow__wait_timing ? st : NULL;
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
    node.ports_end = node.ports + node.nports;
    for (size_t i = 0; i < node.nports; i++) {
        rport_t *p = &node.ports[i];
        p->decl = &d->ports[i];
        p->name = p->decl->name;
        p->in = p->decl->dir == FLOW_DIR_IN;
        p->type = flow__port_type(gn, i);
        p->link_index = (size_t)gn->port_link[i];
        p->link = &g->links[p->link_index];
        p->side = gn->port_side[i];
        p->peer = &g->nodes[p->link->node[1 - p->side]];
        p->npeer = p->peer->instances;
        /* An `any` port linked to a typed one carries that type: the peer
         * declared what it takes, and a message of another type there
         * reached it unchecked (flow_msg_words NULL on int64 items). */
        if (p->type == FLOW_ANY)
            p->type = flow__port_type(p->peer, p->link->port[1 - p->side]);
        p->demand = p->link->demand && p->decl->dir != FLOW_DIR_PAIR;
        if (p->decl->dir != FLOW_DIR_OUT)
            node.is_source = false;
        if (p->decl->dir == FLOW_DIR_IN)
            node.may_stop = false;
        if (st)
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
    if ((rc = threads_available())) {
        /* libzmq aborts (SIGABRT) when it cannot start its threads. */
        flow_node_fail(&node,
                       "cannot start the threads ZeroMQ needs: %s (a limit "
                       "on processes, ulimit -u, or on memory, ulimit -v)",
                       strerror(rc));
        return report_failure(&node, "", 0);
    }
    node.ctx = zmq_ctx_new();
    if (!node.ctx) {
        flow_node_fail(&node, "cannot create a ZeroMQ context: %s",
                       zmq_strerror(zmq_errno()));
        return report_failure(&node, "", 0);
    }
    if ((rc = flow__node_sockets_budget(&node)))
        return report_failure(&node, "wiring", rc);
    ctx_start(&node);
    if ((rc = flow__node_wire_bind(&node, run_dir)))
        return report_failure(&node, "wiring", rc);
    if ((rc = flow__node_barrier_start(&node, ready_fd, go_fd)))
        return report_failure(&node, "the start barrier", rc);
    if ((rc = flow__node_wire_connect(&node, run_dir)))
        return report_failure(&node, "wiring", rc);
    node.wired_at = flow__now_s();
    if (st) {
        st->pid = (int32_t)getpid();
        st->start_ns = now_ns();
        __atomic_store_n(&st->state, FLOW_INST_RUNNING, __ATOMIC_RELEASE);
    }

    rc = d->init ? flow__node_cb_result(&node, "init()", d->init(&node, state))
                 : 0;
    if (rc < 0 && !(rc == FLOW_EINTR && flow__stop_soft && !flow__stop_hard &&
                    node.may_stop && !node.failed))
        return report_failure(&node, "init()", rc);
    /* FLOW_EINTR: a graceful stop while init() waited (a source waiting for
     * its first connection): ended below as one in run(), but with no
     * finish() or fini(), as init() did not succeed. */
    if (rc == 0) {
        node.inited = true;
        if (d->run)
            rc = flow__node_cb_result(&node, "run()", d->run(&node, state));
        else
            rc = flow__node_cb_result(&node, "process()",
                                      process_loop(&node, state));
    }
    if (rc < 0 && flow__stop_soft && !flow__stop_hard &&
        (rc == FLOW_EINTR ? node.is_source || node.may_stop
                          : node.is_source && !node.failed)) {
        /* A graceful stop: this node ends its work and streams here. A
         * source may return another code for the send that said so, but
         * one that said why it failed (flow_node_fail) has failed. */
        node.failed = false;
        node.stopped = true;
        rc = 0;
    } else if (rc == 0 && flow__stop_soft && !flow__stop_hard &&
               node.may_stop) {
        /* Told to stop, it returned 0, as it may: what it left unread it
         * left as asked, all the same. */
        node.stopped = true;
    }
    /* From here a graceful stop no longer interrupts: finish() may send
     * its last results, and the outputs end after them. */
    node.closing = true;
    flow__doing(&node, FLOW_DOING_WORK);
    if (rc < 0)
        return report_failure(&node, d->run ? "run()" : "process()", rc);
    if (d->finish && node.inited &&
        (rc = flow__node_cb_result(&node, "finish()",
                                   d->finish(&node, state))) < 0)
        return report_failure(&node, "finish()", rc);
    for (size_t i = 0; i < node.nports && !rc; i++)
        if (node.ports[i].decl->dir != FLOW_DIR_IN)
            rc = flow_node_close(&node, node.ports[i].decl->name);
    flow__doing(&node, FLOW_DOING_RECV);
    if (!rc)
        rc = flow__node_drain_inputs(&node);
    if (rc < 0)
        return report_failure(&node, "closing", rc);
    flow__doing(&node, FLOW_DOING_WORK); /* fini(), the flush of stdout */
    if (d->fini && node.inited)
        d->fini(&node, state);
    node.inited = false;
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
    if ((rc = flow__node_barrier_exit(&node, done_fd, release_fd)))
        return report_failure(&node, "the exit barrier", rc);
    flow__node_leave(&node);
#if FLOW__ASAN
    /* What the instance allocated and did not free (what it inherited
     * from the launcher is reachable still: the launcher's stack is in
     * this process's too). Here, not at the _exit: libzmq's threads and
     * the watcher live on, and may still look at `node`. */
    __lsan_do_leak_check();
#endif
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
