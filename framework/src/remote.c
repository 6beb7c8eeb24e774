/* SPDX-License-Identifier: MIT */
/*
 * remote.c: runs whose instances are started by someone else: one instance
 * in this process (`--instance`), and the rendezvous serving them, alone
 * (`--rendezvous-only`) or beside a launcher's child (slurm.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "internal.h"
#include "netaddr.h"
#include "netkey.h"
#include "rendezvous.h"

static volatile sig_atomic_t forward_sig, forward_count;
/* The first stop signal, to tell timeout(1)'s echo from a second one. */
static flow_sig_first_t forward_first;
static pid_t instance_pid;

/* Send `line` (`len` bytes) to the rendezvous, waiting at most `linger` ms
 * for it to go. */
static void
send_rendezvous(const char *rendezvous, const char *line, int len, int linger)
{
    void *ctx = zmq_ctx_new();
    void *s = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;

    if (s) {
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
        flow__zmq_ipv6_for(s, rendezvous);
        if (!flow__netkey_apply(s, false) && !zmq_connect(s, rendezvous))
            zmq_send(s, line, (size_t)len, 0);
        zmq_close(s);
    }
    if (ctx)
        zmq_ctx_term(ctx);
}

/* Send "VERB k how" to the rendezvous, waiting at most `linger` ms for it
 * to go: the instance ends without telling it otherwise. */
static void
tell_rendezvous(const char *rendezvous, const char *verb, size_t k,
                const char *how, int linger)
{
    char line[768];
    int len = snprintf(line, sizeof(line), "%s %zu %s\n", verb, k, how);

    if (len >= (int)sizeof(line))
        len = (int)sizeof(line) - 1;
    send_rendezvous(rendezvous, line, len, linger);
}

void
flow_rendezvous_tell_unloaded(const char *rendezvous, const char *instance,
                              const char *reason)
{
    char rdv_addr[600], host[64], line[1280];
    int len;

    /* Without a graph there is no process index: the instance goes by its
     * name, "UNLOADED NODE:I PID HOST REASON". */
    if (!rendezvous || !instance || strncmp(rendezvous, "tcp://", 6) ||
        strpbrk(instance, " \n") ||
        flow__rdv_resolve(rendezvous, rdv_addr, sizeof(rdv_addr)) ||
        flow__netkey_load(line, sizeof(line)))
        return; /* a key that is none reaches no secured rendezvous */
    if (gethostname(host, sizeof(host)))
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    len = snprintf(line, sizeof(line), "UNLOADED %.255s %d %s %s\n", instance,
                   (int)getpid(), host, reason);
    if (len >= (int)sizeof(line))
        len = (int)sizeof(line) - 1;
    send_rendezvous(rdv_addr, line, len, 2000);
}

/* Seconds an instance's node has to end after the first stop signal, as a
 * local run gives its graph: then it is killed. */
#define INSTANCE_STOP_S 5.0

/* A stop signal for this instance: passed on to its node; a second one
 * kills it at once, as in a local run. */
static void
on_forward(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (flow__signal_echo(&forward_first, sig,
                          si && si->si_code <= 0 ? si->si_pid : 0,
                          flow__now_s()))
        return; /* timeout(1)'s second copy: one stop */
    if (!forward_sig)
        forward_sig = sig;
    forward_count++;
    if (instance_pid > 0)
        kill(instance_pid, forward_count > 1 ? SIGKILL : sig);
}

/* Wait for the instance's node `pid`; one still running INSTANCE_STOP_S
 * after a stop signal (a node busy in its own code, or one that ignores
 * the signal) is killed. Returns its wait status. */
static int
wait_instance(pid_t pid)
{
    double stop_at = 0;
    int status = 0;

    for (;;) {
        pid_t rc = waitpid(pid, &status, forward_sig ? WNOHANG : 0);
        if (rc == pid || (rc < 0 && errno != EINTR))
            return status;
        if (!forward_sig)
            continue;
        if (stop_at == 0)
            stop_at = flow__now_s() + INSTANCE_STOP_S;
        if (flow__now_s() > stop_at) {
            char sb[FLOW__SIG_ABBREV];
            fprintf(stderr,
                    "flowrun: the instance's node (pid %d) did not end "
                    "within %.0f s of SIG%s: killed\n",
                    (int)pid, INSTANCE_STOP_S,
                    flow__sig_abbrev((int)forward_sig, sb));
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return status;
        }
        nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
    }
}

int
flow_graph_run_instance(flow_graph_t *graph, const char *node, unsigned inst,
                        const char *rendezvous, const char *bind,
                        flow_diag_t *diag)
{
    flow_run_opts_t opts = { .bind = bind };

    return flow_graph_run_instance_opts(graph, node, inst, rendezvous, &opts,
                                        diag);
}

static int
run_instance(flow_graph_t *graph, const char *node, unsigned inst,
             const char *rendezvous, const flow_run_opts_t *opts,
             flow_diag_t *diag)
{
    const char *bind = opts ? opts->bind : NULL;
    int log_level =
        opts && opts->log_level > 0 ? opts->log_level - 1 : (int)FLOW_LOG_INFO;
    long n = flow__graph_find_node(graph, node);
    static char addr[512], rdv_addr[600], announce[512];
    const char *shown = NULL; /* the address advertised for a wildcard */
    struct sigaction sa, old_chld, old_stop[NSIG];
    sigset_t stops, old_mask;
    int status = 0;
    pid_t pid;

    if (diag) {
        diag->code = 0;
        diag->msg[0] = '\0';
    }
    if (n < 0) {
        flow__diag(diag, FLOW_ENOENT, graph->file, 0,
                   "--instance: the graph has no node '%s'", node);
        return 2;
    }
    if (inst >= graph->nodes[n].instances) {
        flow__diag(diag, FLOW_ENOENT, graph->file, 0,
                   "--instance: node '%s' has %u instance%s, no instance %u",
                   node, graph->nodes[n].instances,
                   graph->nodes[n].instances == 1 ? "" : "s", inst);
        return 2;
    }
    const char *colon = strrchr(rendezvous, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    char rdv_host[256];
    if (strncmp(rendezvous, "tcp://", 6) || colon < rendezvous + 7 || !end ||
        end == colon + 1 || *end || port < 1 || port > 65535 ||
        flow__endpoint_host(rendezvous, rdv_host, sizeof(rdv_host))) {
        flow__diag(diag, FLOW_EUSAGE, NULL, 0,
                   "--rendezvous '%s': expected tcp://HOST:PORT (the address "
                   "the rendezvous printed, a port from 1 to 65535)",
                   rendezvous);
        return 2;
    }
    if (flow__rdv_resolve(rendezvous, rdv_addr, sizeof(rdv_addr))) {
        /* Nobody to tell: a usage error, at once, not after 10 s of
         * trying to reach it. */
        flow__diag(diag, FLOW_EUSAGE, NULL, 0, "%s", rdv_addr);
        return 2;
    }
    rendezvous = rdv_addr; /* numeric: libzmq picks no family itself */
    {
        char why[FLOW_DIAG_MSG];
        if (flow__netkey_load(why, sizeof(why))) {
            /* Nobody to tell either: a rendezvous with the run's key
             * takes no connection without it. */
            flow__diag(diag, FLOW_EUSAGE, NULL, 0, "%s", why);
            return 2;
        }
    }
    if (!bind || !*bind || !strcmp(bind, "*")) {
        /* Advertise the address that reaches the rendezvous: the host
         * name may resolve to a loopback address (Debian's 127.0.1.1). */
        if (flow__route_address(rendezvous, addr, sizeof(addr)) == 0)
            bind = addr;
    } else {
        char why[FLOW_DIAG_MSG];
        if (flow__bind_check(bind, addr, sizeof(addr), why, sizeof(why))) {
            /* A usage error here, and the run's failure there: the
             * rendezvous would wait for this instance for ever. */
            flow__diag(diag, FLOW_EUSAGE, NULL, 0, "%s", why);
            tell_rendezvous(rendezvous, "FAIL",
                            flow__proc_index(graph, (size_t)n, inst), why,
                            2000);
            return 2;
        }
        bind = addr;
        /* Bound on every interface: advertise the one that reaches the
         * rendezvous, as without --bind. */
        if (!flow__wildcard_announce(bind, rendezvous, announce,
                                     sizeof(announce)))
            shown = announce;
    }
    sigemptyset(&stops);
    flow__stop_signals_add(&stops); /* not those inherited ignored */
    fflush(NULL);
    flow__child_signal_default(&old_chld); /* to wait for the instance */
    pid = fork();
    if (pid < 0) {
        flow__child_signal_restore(&old_chld);
        return 1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_DFL);
        /* The stop signals that on_forward passes on act as under flowrun
         * --instance, by their default action: a handler of the caller's
         * is not the node's (it ran here instead, and the node went on to
         * its end), nor a mask of the caller's (the signal waited). */
        for (int sig = 1; sig < NSIG; sig++)
            if (sigismember(&stops, sig) == 1)
                signal(sig, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &stops, NULL);
        flow__node_signals_install();
        flow__node_signals_unblock(); /* whatever the caller blocked */
        flow__node_set_logging(log_level, false);
        flow__node_set_net(true, bind && *bind ? bind : "*", shown, rendezvous,
                           true);
        flow__node_exit(
            flow__node_main(graph, (size_t)n, inst, NULL, NULL, NULL));
    }
    /*
     * The node runs in a child, so that when it dies without a word (a
     * signal, an _exit) this process still tells the rendezvous which
     * instance failed and how. Signals are passed on to it.
     */
    forward_sig = 0; /* those of an earlier call are not this one's */
    forward_count = 0;
    forward_first = (flow_sig_first_t){ 0 };
    instance_pid = pid;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_forward;
    sa.sa_flags = SA_SIGINFO;
    sa.sa_mask = stops; /* one handler at a time */
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&stops, sig) == 1)
            sigaction(sig, &sa, &old_stop[sig]);
    /* If the caller blocked them: until the node has ended. */
    sigprocmask(SIG_UNBLOCK, &stops, &old_mask);
    status = wait_instance(pid);
    instance_pid = 0; /* reaped: its pid may be another process's now */
    /* A child of the caller's that ended meanwhile is told as its SIGCHLD
     * action says: its SIGCHLD was dropped under the default action. */
    flow__child_signal_restore(&old_chld);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    /* Not for 143 (stopped: by the rendezvous, or it was lost) unless a
     * signal here stopped it, nor when the rendezvous refused the
     * instance (its number is another process's) or was never reached (no
     * one to tell, and a FAIL would wait its linger out). */
    if (status != 0 && (forward_sig || code != 128 + SIGTERM) &&
        code != FLOW__EXIT_REFUSED && code != FLOW__EXIT_UNREACHED) {
        char how[128];
        int linger = 2000;

        if (forward_sig) {
            /* Said here and there: the rendezvous saw only a connection
             * go, which it took for a crash. It may be stopping too (one
             * signal for all): do not wait long for it. */
            char sb[FLOW__SIG_ABBREV];
            const char *name = flow__sig_abbrev((int)forward_sig, sb);
            snprintf(how, sizeof(how),
                     "stopped by SIG%s (sent to its flowrun --instance, "
                     "pid %d)",
                     name ? name : "?", (int)getpid());
            fprintf(stderr,
                    "flowrun: instance %s[%u] stopped by SIG%s before its "
                    "end\n",
                    node, inst, name ? name : "?");
            linger = 500;
        } else {
            flow__status_describe(status, how, sizeof(how));
        }
        tell_rendezvous(rendezvous, forward_sig ? "STOPPED" : "FAIL",
                        flow__proc_index(graph, (size_t)n, inst), how, linger);
    }
    if (code == FLOW__EXIT_REFUSED)
        code = 2; /* a usage error, said */
    else if (code == FLOW__EXIT_UNREACHED)
        code = 1;
    else if (forward_sig && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        code = 128 + forward_sig; /* stopped here, killed or not */
    else if (!WIFEXITED(status))
        code = 128 + WTERMSIG(status);
    /* The caller's signal actions and mask back, once the rendezvous is
     * told (a stop signal until then is this call's: on_forward records
     * it, and the status above counts it). One that comes while they are
     * put back waits, blocked, for the caller's action. */
    sigprocmask(SIG_BLOCK, &stops, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&stops, sig) == 1)
            sigaction(sig, &old_stop[sig], NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return code;
}

/* The caller's process as it was, around the call (flow_graph_run's): its
 * standard descriptors closed stay closed, held on /dev/null meanwhile (the
 * node's standard output was an eventfd of its libzmq). */
int
flow_graph_run_instance_opts(flow_graph_t *graph, const char *node,
                             unsigned inst, const char *rendezvous,
                             const flow_run_opts_t *opts, flow_diag_t *diag)
{
    flow_caller_state_t caller;
    int rc;

    flow__caller_state_hold(&caller);
    rc = run_instance(graph, node, inst, rendezvous, opts, diag);
    flow__caller_state_restore(&caller);
    return rc;
}

/* Say which instances a rendezvous still waits for, `waited` seconds
 * after it began: without them the run never starts, and an instance
 * never started (a host missed, a job queued) would otherwise leave it
 * silent until its timeout, or for ever. */
static void
say_waiting(const flow_graph_t *g, const flow_rdv_t *rdv, double waited,
            double timeout_s)
{
    char names[512], bound[64] = "no --timeout: waiting for ever";
    char keys[256] = "";
    size_t n = flow__rdv_unregistered(rdv, names, sizeof(names));
    size_t bad = flow__rdv_handshakes_failed(rdv);

    if (timeout_s > 0)
        snprintf(bound, sizeof(bound), "waiting up to --timeout %g s",
                 timeout_s);
    if (bad)
        snprintf(keys, sizeof(keys),
                 "; %zu connection%s failed the security handshake (FLOW_KEY "
                 "differs: this rendezvous %s; every process of the "
                 "run needs the same)",
                 bad, bad == 1 ? "" : "s",
                 flow__netkey_on() ? "has one" : "has none");
    fprintf(stderr,
            "flowrun: graph '%s': %zu of its %u instances not registered "
            "after %.0f s (%s): %s%s\n",
            g->name, n, flow_graph_process_count(g), waited, bound, names,
            keys);
}

int
flow__rdv_serve(const flow_graph_t *g, flow_rdv_t *rdv,
                const flow_run_opts_t *opts, pid_t child, int *child_status,
                int *signo)
{
    double timeout_s = opts ? opts->timeout_s : 0;
    bool quiet = opts && opts->quiet;
    sigset_t mask, old;
    int sfd, rc = 0;
    double begin = flow__now_s();
    double deadline = timeout_s > 0 ? begin + timeout_s : 0;
    double finished_at = 0, notice_at = begin + FLOW__RDV_NOTICE_S;
    bool child_done = child <= 0;

    sigemptyset(&mask);
    /* To wake for the child's end. Without one, SIGCHLD is the caller's:
     * read here, a handler of the caller's never ran for a child of its
     * own. */
    if (child > 0)
        sigaddset(&mask, SIGCHLD);
    /* SIGUSR1 among them, as in a local run: flowrun holds it from its
     * start, so one not read here would be held for ever, and ignored. */
    flow__launcher_stop_signals_add(&mask);
    sigprocmask(SIG_BLOCK, &mask, &old);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        /* Not served with the stop signals blocked and never read: deaf
         * to Ctrl-C. Instances that registered are told to stop. */
        fprintf(stderr,
                "flowrun: error: graph '%s': cannot watch for stop signals "
                "(signalfd: %s); every instance is told to stop\n",
                g->name, strerror(errno));
        flow__rdv_abort(rdv);
        rc = FLOW_ENODE;
    }
    while (sfd >= 0) {
        struct pollfd pfd[2] = { { flow__rdv_fd(rdv), POLLIN, 0 },
                                 { sfd, POLLIN, 0 } };
        struct signalfd_siginfo si;
        int r = flow__rdv_process(rdv);

        if (r == FLOW_ENODE) {
            rc = FLOW_ENODE;
            flow__rdv_abort(rdv);
            break;
        }
        if (flow__rdv_finished(rdv) && !finished_at)
            finished_at = flow__now_s();
        /* Give the RELEASE a moment to leave before closing. */
        if (finished_at && child_done && flow__now_s() - finished_at > 0.2)
            break;
        if (deadline && flow__now_s() >= deadline) {
            char pending[512];
            flow__rdv_pending(rdv, pending, sizeof(pending));
            fprintf(stderr,
                    "flowrun: error: graph '%s' timed out after %gs; not "
                    "finished: %s\n",
                    g->name, timeout_s, pending);
            flow__rdv_abort(rdv);
            rc = FLOW_ETIMEDOUT;
            break;
        }
        if (!quiet && !flow__rdv_started(rdv) && flow__now_s() >= notice_at) {
            notice_at = flow__now_s() + FLOW__RDV_NOTICE_EVERY_S;
            say_waiting(g, rdv, flow__now_s() - begin, timeout_s);
        }
        poll(pfd, 2, 50);
        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
            if (si.ssi_signo != SIGCHLD) {
                char sb[FLOW__SIG_ABBREV];
                const char *name = flow__sig_abbrev((int)si.ssi_signo, sb);
                char pending[512];
                /* As a timeout does: which ones it waited for (one that
                 * never registered is why a start never came). */
                flow__rdv_pending(rdv, pending, sizeof(pending));
                fprintf(stderr,
                        "flowrun: graph '%s' stopped by SIG%s before its "
                        "end: every instance is told to stop; not "
                        "finished: %s\n",
                        g->name, name ? name : "?", pending);
                flow__rdv_abort(rdv);
                rc = FLOW_EINTR;
                if (signo)
                    *signo = (int)si.ssi_signo;
            }
        }
        if (rc == FLOW_EINTR)
            break;
        if (!child_done && waitpid(child, child_status, WNOHANG) == child) {
            child_done = true;
            if (*child_status != 0 || !flow__rdv_finished(rdv)) {
                flow__rdv_process(rdv); /* a last FAIL report */
                break;
            }
        }
    }
    /* Let the last messages out; after an abort, keep answering late
     * instances a little longer, unless every one was told. */
    for (int i = 0; i < (rc ? 30 : 4); i++) {
        flow__rdv_process(rdv);
        if (rc && flow__rdv_all_told(rdv))
            break;
        usleep(50000);
    }
    if (sfd >= 0)
        close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

double
flow__liveness(const flow_run_opts_t *opts)
{
    if (!opts || opts->liveness_s == 0)
        return FLOW__LIVENESS_S;
    if (opts->liveness_s < 0)
        return 0;
    return opts->liveness_s < FLOW__LIVENESS_MAX_S ? opts->liveness_s
                                                   : FLOW__LIVENESS_MAX_S;
}

void *
flow__rdv_start(const flow_graph_t *g, const char *bind,
                const flow_run_opts_t *opts, flow_rdv_t **rdv, char *addr,
                size_t size)
{
    void *ctx;
    char ep[600], host[512];
    int err = 0;

    if (flow__bind_resolve(bind, host, sizeof(host))) {
        fprintf(stderr, "flowrun: error: %s\n", host);
        return NULL;
    }
    if (flow__netkey_load(ep, sizeof(ep))) {
        fprintf(stderr, "flowrun: error: %s\n", ep);
        return NULL;
    }
    /* Two connections per instance: its node's and its watcher's. */
    if (flow__fd_limit("the rendezvous", flow_graph_process_count(g), 2))
        return NULL;
    if (!(ctx = zmq_ctx_new()))
        return NULL;
    if (flow__tcp_endpoint(ep, sizeof(ep),
                           *host && strcmp(host, "*") ? host : "0.0.0.0",
                           "*")) {
        fprintf(stderr, "flowrun: error: --bind '%s': too long\n", bind);
        zmq_ctx_term(ctx);
        return NULL;
    }
    *rdv = flow__rdv_new(ctx, g, ep, flow__liveness(opts), addr, size, &err);
    if (!*rdv) {
        fprintf(stderr,
                "flowrun: error: cannot bind the rendezvous on '%s': %s\n", ep,
                flow_strerror(err));
        zmq_ctx_term(ctx);
        return NULL;
    }
    /* Bound on every interface, it announces its host name's address:
     * with none, 127.0.0.1, which no other host reaches. */
    char name[256];
    if (!(opts && opts->quiet) &&
        (!*host || !strcmp(host, "*") || !strcmp(host, "0.0.0.0") ||
         !strcmp(host, "::")) &&
        flow__host_name_unresolved(name, sizeof(name)))
        fprintf(stderr,
                "flowrun: warning: this host's name '%s' resolves to no "
                "address: the rendezvous announces %s, which only this host "
                "reaches; to serve instances on other hosts, give --bind "
                "this host's address on their network\n",
                name, addr);
    return ctx;
}

/* The caller's process as it was, around the call (flow_graph_run's): the
 * soft limit on open files that the rendezvous raises for its connections
 * is put back, and standard descriptors closed stay closed. */
int
flow_graph_serve(flow_graph_t *graph, const char *bind, FILE *announce,
                 const flow_run_opts_t *opts, int *signo_out)
{
    flow_caller_state_t caller;
    flow_rdv_t *rdv = NULL;
    char addr[256];
    void *ctx;
    int rc = FLOW_EUSAGE, unused = 0;

    flow__caller_state_hold(&caller);
    ctx = flow__rdv_start(graph, bind, opts, &rdv, addr, sizeof(addr));
    if (ctx) { /* else said: an address --bind cannot use */
        fprintf(announce, "%s\n", addr);
        fflush(announce);
        rc = flow__rdv_serve(graph, rdv, opts, 0, &unused, signo_out);
        flow__rdv_destroy(&rdv);
        zmq_ctx_term(ctx);
    }
    flow__caller_state_restore(&caller);
    return rc;
}
