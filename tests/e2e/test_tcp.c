/* SPDX-License-Identifier: MIT */
/*
 * test_tcp.c: TCP links on loopback: a local run with --transport tcp, and
 * instances started one by one (--instance) around a --rendezvous-only,
 * as a placement engine would. Results must equal the ipc run's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "flow/flow.h"
#include "internal.h"
#include "testutil.h"

static void
test_tcp_palindromes_equal_ipc(void **unused)
{
    tu_result_t ipc, tcp;
    const char *g = tu_src("graphs/palindromes.ini");

    (void)unused;
    assert_int_equal(tu_runl(&ipc, 60, g, "--set", "words=100000", "--set",
                             "workers=3", "--set", "chunk=999", NULL),
                     0);
    assert_int_equal(tu_runl(&tcp, 60, g, "--transport", "tcp", "--set",
                             "words=100000", "--set", "workers=3", "--set",
                             "chunk=999", NULL),
                     0);
    assert_true(ipc.outlen > 0);
    assert_int_equal(ipc.outlen, tcp.outlen);
    assert_memory_equal(ipc.out, tcp.out, ipc.outlen);
    tu_result_release(&ipc);
    tu_result_release(&tcp);
}

/* Pair links over TCP (DEALER pairs): the sieve. pi(10^6) = 78498. */
static void
test_tcp_sieve_pairs(void **unused)
{
    tu_result_t r;

    (void)unused;
    assert_int_equal(tu_runl(&r, 60, tu_src("graphs/sieve.ini"), "--transport",
                             "tcp", "--set", "limit=1000000", "--set",
                             "output=count", "--set", "segments=3", NULL),
                     0);
    assert_string_equal(r.out, "78498\n");
    tu_result_release(&r);
}

/* Fan-out and fan-in with a tiny HWM over TCP: every item exactly once,
 * with round robin and with balance=demand (its DEALER and ROUTER sockets,
 * and the credits they send back). */
static void
test_tcp_exactly_once(void **unused)
{
    (void)unused;
    for (int demand = 0; demand < 2; demand++) {
        char text[512], *path;
        tu_result_t r;
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ninstances = 3\n"
                 "count = 20000\n"
                 "[mid]\ntype = jitter\ninstances = 2\n"
                 "max_us = 50\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npush = src.out -> mid.in batch=7 "
                 "hwm=1 balance=%s\npush = mid.out -> out.in hwm=1\n",
                 demand ? "demand" : "rr");
        path = tu_temp_file(text);
        assert_int_equal(tu_runl(&r, 60, path, "--transport", "tcp", NULL), 0);
        assert_string_equal(r.out, "20000\n");
        unlink(path);
        free(path);
        tu_result_release(&r);
    }
}

/*
 * A data connection that drops during a TCP run (a network failure: the
 * consumer's end of it is shut down by the cutconn fixture while the
 * producer has filled the link) loses what was in flight, possibly the
 * producer's end marker too, or (balance=demand) the credits sent back
 * before the drop. That loss must be reported, never turned into a hang:
 * the run fails at once, naming the link, well before its --timeout (it
 * ended only there, 124, both ways: found by a review helper). The source
 * never ends: with 200 numbers, the whole stream and its end marker (6.8 kB)
 * had once, under ASan at a load of 11, reached the consumer's libzmq
 * before the cut, so nothing was lost and the run rightly exited 0. Endless,
 * it sends on over the connection libzmq makes again, and the consumer,
 * which looked at its drops only after a wait for input, never waited: with
 * balance=rr the run went on until --timeout, 124, in 2 runs of 3 (in 3.5 s
 * now, as with balance=demand, whose credits stop with the drop).
 */
static void
test_tcp_connection_drop_not_a_hang(void **unused)
{
    (void)unused;
    for (int demand = 0; demand < 2; demand++) {
        char text[512], *path;
        tu_result_t r;
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 1e15\n"
                 "[cc]\ntype = cutconn\nms = 300\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npush = src.out -> cc.in batch=1 hwm=4%s\n"
                 "push = cc.out -> out.in\n",
                 demand ? " balance=demand" : "");
        path = tu_temp_file(text);
        tu_runl(&r, 60, path, "--transport", "tcp", "--plugin-path",
                FLOW_FIXTURE_PLUGIN_DIR, "--timeout", "20", NULL);
        if (r.status != 1)
            fail_msg("%s: status %d, expected 1 (a dropped connection is a "
                     "failure, not a hang): %s",
                     demand ? "demand" : "rr", r.status, r.err);
        tu_assert_contains(r.err, "cc[0] (pid ");
        tu_assert_contains(r.err, "link 'src.out -> cc.in");
        tu_assert_contains(r.err, "was lost before the end of its stream");
        unlink(path);
        free(path);
        tu_result_release(&r);
    }
}

/* Start `flowrun GRAPH --rendezvous-only`; returns its pid, its address in
 * `addr` and its stdout in `*out`. */
static pid_t
start_rendezvous_on(const char *graph, const char *bind, char *addr,
                    size_t size, FILE **out)
{
    const char *args[] = { graph, "--rendezvous-only", "--bind",
                           bind,  "--timeout",         "30",
                           NULL };
    int fd;
    pid_t pid = tu_spawn(args, &fd);

    *out = fdopen(fd, "r");
    assert_non_null(fgets(addr, (int)size, *out));
    addr[strcspn(addr, "\n")] = '\0';
    return pid;
}

/* A rendezvous on 127.0.0.1; its address in `addr`. */
static pid_t
start_rendezvous(const char *graph, char *addr, size_t size, FILE **out)
{
    pid_t pid = start_rendezvous_on(graph, "127.0.0.1", addr, size, out);

    assert_int_equal(strncmp(addr, "tcp://127.0.0.1:", 16), 0);
    return pid;
}

/* Start one instance, bound on `bind` (NULL: no --bind, the address on
 * the route to the rendezvous); its stdout goes to `out_fd` if not NULL. */
static pid_t
start_instance_on(const char *graph, const char *ni, const char *addr,
                  const char *bind, int *out_fd)
{
    const char *args[] = { graph, "--instance", ni,   "--rendezvous",
                           addr,  "--bind",     bind, NULL };
    int fd;
    pid_t pid;

    if (!bind)
        args[5] = NULL;
    pid = tu_spawn(args, &fd);
    if (out_fd)
        *out_fd = fd;
    else
        close(fd);
    return pid;
}

/* Start one instance bound on 127.0.0.1. */
static pid_t
start_instance(const char *graph, const char *ni, const char *addr, int *out_fd)
{
    return start_instance_on(graph, ni, addr, "127.0.0.1", out_fd);
}

static char *
read_all(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t n;

    while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 1024)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static int
wait_status(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * A local TCP run passes its start barrier when the rendezvous sends the
 * endpoint table (the instances never write the ready pipe of an ipc run):
 * a node's timeout fires (it never did), and a SIGTERM is a graceful stop
 * that drains whole messages to the sink (it was always a hard one, the
 * count lost).
 */
static void
test_tcp_timeouts_and_stops(void **unused)
{
    char *hang = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[f]\ntype = fault\naction = hang\n"
                              "after = 100\ntimeout = 1\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> f.in\n"
                              "push = f.out -> out.in\n");
    char *flow = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[mid]\ntype = jitter\nmax_us = 300\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in batch=1000\n"
                              "push = mid.out -> out.in\n");
    const char *args[] = { flow, "--transport", "tcp", "--progress", NULL };
    char *err = tu_temp_file("");
    unsigned long long seen;
    long long count = -1;
    tu_result_t r;
    char *out;
    int fd, saved, efd;
    pid_t pid;

    (void)unused;
    assert_int_equal(tu_runl(&r, 30, hang, "--transport", "tcp", NULL), 124);
    tu_assert_contains(r.err, "timed out after 1s");
    assert_true(r.seconds < 10);
    tu_result_release(&r);

    /* SIGTERM once items reach the sink (its progress line, on its
     * standard error, a file here, says so). 1.5 s after the launch, with
     * five busy loops of nice -20 on the test's CPU, the run had not
     * started in 3 runs of 3 ("stopped before it started: no output"). */
    saved = dup(STDERR_FILENO);
    efd = open(err, O_WRONLY | O_TRUNC);
    assert_true(saved >= 0 && efd >= 0);
    fflush(stderr);
    dup2(efd, STDERR_FILENO);
    pid = tu_spawn(args, &fd);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(efd);
    assert_true(pid > 0);
    seen = tu_wait_sinks(err, 30);
    assert_int_equal(kill(pid, SIGTERM), 0);
    out = read_all(fd);
    assert_int_equal(wait_status(pid), 143);
    if (sscanf(out, "%lld", &count) != 1 || count <= 0 || count % 1000 ||
        (unsigned long long)count < seen || !seen)
        print_message("output after SIGTERM: '%s', %llu at the sink before\n",
                      out, seen);
    assert_true(seen > 0);
    assert_int_equal(sscanf(out, "%lld", &count), 1);
    assert_true(count > 0 && (unsigned long long)count >= seen);
    assert_int_equal(count % 1000, 0);
    free(out);
    unlink(err);
    free(err);
    unlink(hang);
    unlink(flow);
    free(hang);
    free(flow);
}

/*
 * palindromes.ini with each instance started by hand around a rendezvous
 * whose address is `addr` (its pid `rdv`, its output `rout`), the even
 * ones bound on `binds[0]`, the odd ones on `binds[1]` (NULL: no --bind):
 * the output equals the ipc run's.
 */
static void
palindromes_by_hand(const char *graph, const char *addr, pid_t rdv, FILE *rout,
                    const char *const binds[2])
{
    static const char *const inst[] = { "gen:0", "chunks:0", "find:0", "find:1",
                                        "out:0" };
    pid_t pids[5];
    int fd = -1;
    char *got;
    tu_result_t local;

    for (size_t i = 0; i < 5; i++)
        pids[i] = start_instance_on(graph, inst[i], addr, binds[i % 2],
                                    i == 4 ? &fd : NULL);
    got = read_all(fd);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(wait_status(pids[i]), 0);
    assert_int_equal(wait_status(rdv), 0);
    fclose(rout);
    assert_int_equal(tu_runl(&local, 60, graph, NULL), 0);
    assert_string_equal(got, local.out);
    free(got);
    tu_result_release(&local);
}

/* Each instance started by hand, as Slurm or Kubernetes would. */
static void
test_tcp_instances_by_hand(void **unused)
{
    static const char *const binds[2] = { "127.0.0.1", "127.0.0.1" };
    char addr[128], graph[4096];
    FILE *rout;
    pid_t rdv;

    (void)unused;
    snprintf(graph, sizeof(graph), "%s", tu_src("graphs/palindromes.ini"));
    rdv = start_rendezvous(graph, addr, sizeof(addr), &rout);
    palindromes_by_hand(graph, addr, rdv, rout, binds);
}

/* An instance that dies: the rendezvous fails, naming what did not finish,
 * and the other instances are told to stop. */
static void
test_tcp_instance_failure(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1000000\n"
                              "[f]\ntype = fault\nafter = 3\naction = exit\n"
                              "code = 7\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> f.in\n"
                              "push = f.out -> out.in\n");
    char addr[128];
    FILE *rout;
    pid_t rdv, p[3];
    static const char *const inst[] = { "src:0", "f:0", "out:0" };

    (void)unused;
    rdv = start_rendezvous(path, addr, sizeof(addr), &rout);
    for (size_t i = 0; i < 3; i++)
        p[i] = start_instance(path, inst[i], addr, NULL);
    assert_int_equal(wait_status(p[1]), 7);
    assert_int_equal(wait_status(rdv), 1);
    /* The others stop instead of waiting forever: stopped by the
     * rendezvous, 143, not a failure of their own. */
    assert_int_equal(wait_status(p[0]), 128 + SIGTERM);
    assert_int_equal(wait_status(p[2]), 128 + SIGTERM);
    fclose(rout);
    unlink(path);
    free(path);
}

/*
 * SIGUSR1 to a rendezvous is a stop, as to a local run (flowrun(1): exit
 * 128+n for it too). flowrun holds it blocked from its start, and the
 * rendezvous did not read it: the signal stayed pending and the rendezvous
 * served on, to its --timeout (it used to die by the default action).
 */
static void
test_tcp_rendezvous_sigusr1(void **unused)
{
    const char *g = tu_src("graphs/palindromes.ini");
    char addr[128];
    FILE *out;
    pid_t rdv;
    int st = 0;
    pid_t got = 0;

    (void)unused;
    rdv = start_rendezvous(g, addr, sizeof(addr), &out);
    assert_int_equal(kill(rdv, SIGUSR1), 0);
    for (double limit = tu_now_s() + 10; got == 0 && tu_now_s() < limit;) {
        got = waitpid(rdv, &st, WNOHANG);
        if (got == 0)
            usleep(10000);
    }
    if (got == 0) {
        kill(rdv, SIGKILL);
        waitpid(rdv, NULL, 0);
        fclose(out);
        fail_msg("the rendezvous served on 10 s after a SIGUSR1");
    }
    fclose(out);
    assert_int_equal(got, rdv);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 128 + SIGUSR1);
}

/* Bad --instance arguments are usage errors. */
/*
 * flow_graph_run_instance in a program of its own: it passes the stop
 * signals to its node while it runs, and gives the caller its signal
 * actions and mask back when it returns. They were left as they were
 * then: a handler that sends the signal to the node's pid, reaped by then
 * (and maybe another process's now), so that SIGTERM no longer ended the
 * caller, and the stop signals the caller blocked unblocked. Here the
 * instance is refused (its graph differs from the rendezvous's), which
 * ends the call at once after its node's fork.
 */
static void
test_tcp_instance_call_restores_signals(void **unused)
{
    const char *g = tu_src("tests/fixtures/graphs/good_minimal.ini");
    const char *sets[] = { "gen.count=11" }; /* not the rendezvous's */
    struct sigaction dfl = { .sa_handler = SIG_DFL }, term, intr;
    flow_registry_t *reg = flow_registry_new();
    sigset_t block, old, now;
    char addr[256];
    flow_diag_t diag;
    flow_graph_t *graph;
    FILE *out;
    pid_t rdv;

    (void)unused;
    flow_registry_add_path(reg, tu_plugin_dir());
    graph = flow_graph_load(g, reg, sets, 1, &diag);
    assert_non_null(graph);
    rdv = start_rendezvous(g, addr, sizeof(addr), &out);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    assert_int_equal(
        flow_graph_run_instance(graph, "gen", 0, addr, "127.0.0.1", &diag), 2);
    sigaction(SIGTERM, NULL, &term);
    sigaction(SIGINT, NULL, &intr);
    sigprocmask(SIG_SETMASK, &old, &now);
    kill(rdv, SIGKILL);
    waitpid(rdv, NULL, 0);
    fclose(out);
    assert_true(term.sa_handler == SIG_DFL);
    assert_true(intr.sa_handler == SIG_DFL);
    assert_int_equal(sigismember(&now, SIGHUP), 1);
    flow_graph_destroy(&graph);
    flow_registry_destroy(&reg);
}

static void
test_tcp_instance_usage(void **unused)
{
    tu_result_t r;
    const char *g = tu_src("graphs/palindromes.ini");

    (void)unused;
    assert_int_equal(tu_runl(&r, 10, g, "--instance", "nope:0", "--rendezvous",
                             "tcp://127.0.0.1:1", NULL),
                     2);
    assert_non_null(strstr(r.err, "no node 'nope'"));
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 10, g, "--instance", "find:9", "--rendezvous",
                             "tcp://127.0.0.1:1", NULL),
                     2);
    assert_non_null(strstr(r.err, "no instance 9"));
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 10, g, "--instance", "find:0", NULL), 2);
    tu_result_release(&r);
    /* A malformed NODE:I is named as such (it said the two options go
     * together, although both were given). */
    static const char *const bad[][2] = {
        { "find:x", "the instance 'x' is not a number" },
        { "find:-1", "the instance '-1' is not a number" },
        { "find", "expected NODE:I" },
        { ":0", "expected NODE:I" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        assert_int_equal(tu_runl(&r, 10, g, "--instance", bad[i][0],
                                 "--rendezvous", "tcp://127.0.0.1:1", NULL),
                         2);
        tu_assert_contains(r.err, bad[i][1]);
        assert_null(strstr(r.err, "go together"));
        tu_result_release(&r);
    }
    /* A rendezvous address without a port, or with a bad one: a usage
     * error (it hung for ever, deaf to SIGTERM, sending its FAIL). */
    static const char *const rdv[] = {
        "tcp://127.0.0.1",       "tcp://127.0.0.1:", "tcp://127.0.0.1:abc",
        "tcp://127.0.0.1:99999", "tcp://[::1:4242",  "tcp://[::1]4242",
        "tcp://::1]:4242"
    };
    for (size_t i = 0; i < sizeof(rdv) / sizeof(*rdv); i++) {
        assert_int_equal(tu_runl(&r, 10, g, "--instance", "find:0",
                                 "--rendezvous", rdv[i], NULL),
                         2);
        tu_assert_contains(r.err, "expected tcp://HOST:PORT");
        assert_true(r.seconds < 5);
        tu_result_release(&r);
    }
    /* A rendezvous host that does not resolve (.invalid never does, RFC
     * 6761): a usage error at once (it tried for 10 s, then said it could
     * not reach it). */
    static const char *const host[][2] = {
        { "tcp://flow-no-such-host.invalid:4242",
          "host 'flow-no-such-host.invalid' has no address" },
    };
    for (size_t i = 0; i < sizeof(host) / sizeof(*host); i++) {
        assert_int_equal(tu_runl(&r, 20, g, "--instance", "find:0",
                                 "--rendezvous", host[i][0], NULL),
                         2);
        tu_assert_contains(r.err, host[i][1]);
        assert_true(r.seconds < 5);
        tu_result_release(&r);
    }
    /* A rendezvous on an address it cannot bind: one error and status 2
     * (it said it twice, with exit 1). */
    assert_int_equal(tu_runl(&r, 10, g, "--rendezvous-only", "--bind",
                             "10.255.255.254", NULL),
                     2);
    tu_assert_contains(r.err, "flowrun: error: cannot bind the rendezvous on "
                              "'tcp://10.255.255.254:*'");
    assert_null(strstr(r.err, "cannot run graph"));
    tu_result_release(&r);
    /* An address the instances could not bind: a usage error before any
     * fork (each instance failed, exit 1). */
    assert_int_equal(tu_runl(&r, 10, g, "--transport", "tcp", "--bind",
                             "10.255.255.254", NULL),
                     2);
    tu_assert_contains(r.err, "flowrun: error: --bind '10.255.255.254': "
                              "cannot bind a TCP socket there");
    assert_null(strstr(r.err, "[0]"));
    tu_result_release(&r);
    /* --bind on a local run over ipc: refused, not ignored (it ran over
     * ipc, status 0, and the user thought it tested TCP). */
    assert_int_equal(tu_runl(&r, 10, g, "--bind", "10.255.255.254", NULL), 2);
    tu_assert_contains(r.err, "flowrun: error: --bind goes with --transport "
                              "tcp, ");
    assert_int_equal(r.outlen, 0);
    tu_result_release(&r);
    /* An empty --bind (an unset shell variable) is refused in every mode
     * (it was taken for no --bind at all). */
    const char *const empty[][8] = {
        { "--transport", "tcp", "--bind", "", NULL },
        { "--rendezvous-only", "--bind", "", NULL },
        { "--instance", "find:0", "--rendezvous", "tcp://127.0.0.1:1", "--bind",
          "", NULL },
    };
    for (size_t i = 0; i < sizeof(empty) / sizeof(*empty); i++) {
        const char *argv[10] = { g };
        memcpy(argv + 1, empty[i], sizeof(empty[i]));
        assert_int_equal(tu_run(&r, 10, argv), 2);
        tu_assert_contains(r.err, "flowrun: error: --bind '': give an "
                                  "address or an interface name");
        tu_result_release(&r);
    }
    /* A name that is neither an interface nor a host name that resolves
     * (.invalid, RFC 6761): one error, status 2, in every mode (libzmq
     * took it for an interface: "No such device"). */
    const char *const nohost[][8] = {
        { "--transport", "tcp", "--bind", "no-such-host.invalid", NULL },
        { "--rendezvous-only", "--bind", "no-such-host.invalid", NULL },
        { "--instance", "find:0", "--rendezvous", "tcp://127.0.0.1:1", "--bind",
          "no-such-host.invalid", NULL },
    };
    for (size_t i = 0; i < sizeof(nohost) / sizeof(*nohost); i++) {
        const char *argv[10] = { g };
        memcpy(argv + 1, nohost[i], sizeof(nohost[i]));
        assert_int_equal(tu_run(&r, 10, argv), 2);
        tu_assert_contains(r.err, "--bind 'no-such-host.invalid': not an "
                                  "address of this host, an interface, or a "
                                  "host name that resolves");
        assert_null(strstr(r.err, "[0]"));
        assert_true(r.seconds < 5);
        tu_result_release(&r);
    }
}

/* --bind takes a host name, resolved to its address (libzmq takes only
 * addresses and interfaces): the run works and advertises the address. */
static void
test_tcp_bind_host_name(void **unused)
{
    tu_result_t r;
    const char *g = tu_src("graphs/sieve.ini");

    (void)unused;
    assert_int_equal(tu_runl(&r, 60, g, "--transport", "tcp", "--bind",
                             "localhost", "--set", "limit=1000000", "--set",
                             "output=count", "--set", "segments=2", NULL),
                     0);
    assert_string_equal(r.out, "78498\n"); /* pi(10^6) */
    tu_result_release(&r);
    /* The rendezvous announces the resolved address. */
    assert_int_equal(tu_runl(&r, 10, g, "--rendezvous-only", "--bind",
                             "localhost", "--timeout", "0.5", NULL),
                     124);
    assert_int_equal(strncmp(r.out, "tcp://127.0.0.1:", 16), 0);
    tu_result_release(&r);
    /* An address of no interface here (TEST-NET-1): exit 2 before the
     * fork for an --instance too (its node failed with 1). */
    assert_int_equal(tu_runl(&r, 10, g, "--instance", "main:0", "--rendezvous",
                             "tcp://127.0.0.1:9", "--bind", "192.0.2.1", NULL),
                     2);
    tu_assert_contains(r.err, "flowrun: error: --bind '192.0.2.1': cannot bind "
                              "a TCP socket there (");
    tu_result_release(&r);
}

/* Whether this host can bind a TCP socket on ::1 (IPv6 may be off). */
static bool
ipv6_loopback(void)
{
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/*
 * IPv6: --bind takes an IPv6 address, bare or in brackets, in every mode;
 * the rendezvous announces it in brackets, and instances started by hand
 * on ::1 (some with --bind, the others advertising the address that
 * reaches the rendezvous) give what the ipc run gives. Skipped where ::1
 * cannot be bound.
 */
static void
test_tcp_ipv6(void **unused)
{
    /* With --bind, and with the address that reaches the rendezvous. */
    static const char *const binds[2] = { "[::1]", NULL };
    char addr[128], graph[4096];
    FILE *rout;
    pid_t rdv;
    tu_result_t r;

    (void)unused;
    if (!ipv6_loopback())
        skip();
    for (int b = 0; b < 2; b++) {
        assert_int_equal(
            tu_runl(&r, 60, tu_src("graphs/sieve.ini"), "--transport", "tcp",
                    "--bind", b ? "[::1]" : "::1", "--set", "limit=1000000",
                    "--set", "output=count", "--set", "segments=2", NULL),
            0);
        assert_string_equal(r.out, "78498\n"); /* pi(10^6) */
        tu_result_release(&r);
    }
    snprintf(graph, sizeof(graph), "%s", tu_src("graphs/palindromes.ini"));
    rdv = start_rendezvous_on(graph, "::1", addr, sizeof(addr), &rout);
    assert_int_equal(strncmp(addr, "tcp://[::1]:", 12), 0);
    palindromes_by_hand(graph, addr, rdv, rout, binds);
}

/*
 * A link-local IPv6 address of this host with its interface
 * ("fe80::1%eth0") into `buf`, one a TCP socket can bind; false if none.
 */
static bool
ipv6_link_local(char *buf, size_t size)
{
    struct ifaddrs *ifs, *i;
    bool found = false;

    if (getifaddrs(&ifs))
        return false;
    for (i = ifs; i && !found; i = i->ifa_next) {
        struct sockaddr_in6 a;
        char host[INET6_ADDRSTRLEN];
        int fd;
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 ||
            !(i->ifa_flags & IFF_UP))
            continue;
        memcpy(&a, i->ifa_addr, sizeof(a));
        if (!IN6_IS_ADDR_LINKLOCAL(&a.sin6_addr) ||
            !inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof(host)))
            continue;
        a.sin6_port = 0;
        a.sin6_scope_id = if_nametoindex(i->ifa_name);
        fd = socket(AF_INET6, SOCK_STREAM, 0);
        found = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                snprintf(buf, size, "%s%%%s", host, i->ifa_name) < (int)size;
        if (fd >= 0)
            close(fd);
    }
    freeifaddrs(ifs);
    return found;
}

/*
 * A link-local IPv6 address is nothing without its interface: --bind
 * fe80::X%IF (bare or in brackets) binds there, the rendezvous announces
 * it with its interface, and an instance without --bind advertises the
 * address that reaches the rendezvous, interface included. Skipped where
 * no interface has a link-local address.
 */
static void
test_tcp_ipv6_link_local(void **unused)
{
    char ll[128], bracketed[160], addr[256], want[200], graph[4096];
    const char *binds[2] = { ll, NULL };
    FILE *rout;
    pid_t rdv;
    tu_result_t r;

    (void)unused;
    if (!ipv6_link_local(ll, sizeof(ll)))
        skip();
    snprintf(bracketed, sizeof(bracketed), "[%s]", ll);
    for (int b = 0; b < 2; b++) {
        assert_int_equal(
            tu_runl(&r, 60, tu_src("graphs/sieve.ini"), "--transport", "tcp",
                    "--bind", b ? bracketed : ll, "--set", "limit=1000000",
                    "--set", "output=count", "--set", "segments=2", NULL),
            0);
        assert_string_equal(r.out, "78498\n"); /* pi(10^6) */
        tu_result_release(&r);
    }
    snprintf(graph, sizeof(graph), "%s", tu_src("graphs/palindromes.ini"));
    rdv = start_rendezvous_on(graph, ll, addr, sizeof(addr), &rout);
    snprintf(want, sizeof(want), "tcp://[%s]:", ll);
    assert_int_equal(strncmp(addr, want, strlen(want)), 0);
    palindromes_by_hand(graph, addr, rdv, rout, binds);
}

/*
 * A rogue process in a TCP run: it registers with the rendezvous `addr`
 * as process `k` of `graph` (its real fingerprint), with the endpoint
 * records `eps` ("LINK A B ENDPOINT\n" each, "" for none), and waits for
 * the endpoint table, into `table` (`size` bytes). Returns its DEALER to
 * the rendezvous.
 */
static void *
rogue_hello(void *ctx, const char *graph, const char *addr, size_t k,
            const char *eps, char *table, size_t size)
{
    flow_diag_t diag;
    flow_registry_t *reg = flow_registry_new();
    flow_graph_t *g;
    char line[1024];
    int n, got;
    void *rdv;

    flow_registry_add_path(reg, tu_plugin_dir());
    g = flow_graph_load(graph, reg, NULL, 0, &diag);
    assert_non_null(g);
    rdv = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(rdv, addr), 0);
    n = snprintf(line, sizeof(line), "HELLO %zu %d rogue %016llx\n%s", k,
                 (int)getpid(), (unsigned long long)flow__graph_fingerprint(g),
                 eps);
    assert_true(zmq_send(rdv, line, (size_t)n, 0) == n);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
    do {
        got = zmq_recv(rdv, table, size - 1, 0);
        assert_true(got >= 0);
        table[(size_t)got < size ? (size_t)got : size - 1] = '\0';
    } while (strncmp(table, "TABLE", 5));
    return rdv;
}

/* rogue_hello with no endpoints of its own, then a socket of `type`
 * connected to the endpoint of link `link` for consumer instance 0. */
static void *
rogue_connect(void *ctx, const char *graph, const char *addr, size_t k,
              size_t link, int type, void **rdv)
{
    char buf[8192], ep[256] = "";
    void *s;

    *rdv = rogue_hello(ctx, graph, addr, k, "", buf, sizeof(buf));
    for (char *l = strchr(buf, '\n'); l && *++l; l = strchr(l, '\n')) {
        size_t lk;
        long a, b;
        char e[200];
        if (sscanf(l, "%zu %ld %ld %199s", &lk, &a, &b, e) == 4 && lk == link &&
            a == 0)
            snprintf(ep, sizeof(ep), "%s", e);
    }
    assert_true(ep[0]);
    s = zmq_socket(ctx, type);
    assert_non_null(s);
    assert_int_equal(zmq_connect(s, ep), 0);
    return s;
}

/*
 * A demand input (ROUTER) whose producer ignores its credits: the frames
 * it sends beyond them wait at a bound per connection. The input had no
 * hwm, so libzmq read everything such a producer (or anyone else who
 * connected to the port) sent into memory, without bound, however slowly
 * its node took it: 64 MiB here, 240 MB of RSS for 160 MB sent (found by
 * a review helper).
 */
static void
test_tcp_demand_input_bounds_a_rogue_producer(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 10\n"
                              "[slow]\ntype = jitter\nmax_us = 1000000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\n"
                              "push = src.out -> slow.in balance=demand hwm=1\n"
                              "push = slow.out -> out.in\n");
    enum { ITEMS = 8192, FRAMES = 1000 };
    size_t len = 24 + ITEMS * sizeof(int64_t);
    unsigned char *f = calloc(1, len);
    uint32_t magic = FLOW_WIRE_MAGIC, src = 0, count = ITEMS;
    uint64_t seq = FLOW_SEQ_NONE;
    char addr[128];
    FILE *rout;
    pid_t rdv, p[2];
    void *ctx = zmq_ctx_new(), *rsock, *s;
    int hwm = 4, zero = 0, sent = 0;
    double t0 = tu_now_s();

    (void)unused;
    rdv = start_rendezvous(path, addr, sizeof(addr), &rout);
    p[0] = start_instance(path, "slow:0", addr, NULL);
    p[1] = start_instance(path, "out:0", addr, NULL);
    s = rogue_connect(ctx, path, addr, 0, 0, ZMQ_DEALER, &rsock);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    f[4] = FLOW_FRAME_DATA;
    f[5] = FLOW_INT64;
    memcpy(f, &magic, 4);
    memcpy(f + 8, &src, 4);
    memcpy(f + 12, &count, 4);
    memcpy(f + 16, &seq, 8);
    /* As fast as the consumer's end takes them, for 3 s. */
    while (sent < FRAMES && tu_now_s() - t0 < 3) {
        if (zmq_send(s, f, len, ZMQ_DONTWAIT) == (int)len)
            sent++;
        else
            usleep(10000);
    }
    /* The bound (18 frames), the kernel's buffers and our own hwm: some
     * hundreds of frames of 64 KiB at most. */
    if (sent >= FRAMES / 2)
        fail_msg("%d frames of 64 KiB taken, credits for 1", sent);
    kill(rdv, SIGTERM);
    wait_status(rdv);
    wait_status(p[0]);
    wait_status(p[1]);
    fclose(rout);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(rsock, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_close(s);
    zmq_close(rsock);
    zmq_ctx_term(ctx);
    free(f);
    unlink(path);
    free(path);
}

/*
 * The consumer of a balance=demand link sends its producer credits only,
 * 16 bytes each, which the producer reads when it has run out of them. A
 * rogue consumer that sends more, or larger frames, is cut off: the
 * producer's socket had no hwm and no size limit, so libzmq read all of it
 * into memory while the node, with credit, read none (128 MiB here; found
 * by a review helper).
 */
static void
test_tcp_demand_output_bounds_a_rogue_consumer(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[slow]\ntype = jitter\nmax_us = 1000000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\n"
                              "push = src.out -> slow.in\n"
                              "push = slow.out -> out.in balance=demand "
                              "hwm=1000\n");
    enum { SIZE = 1 << 16, FRAMES = 2000 };
    char *junk = calloc(1, SIZE), table[8192], ep[256], eps[300], id[256];
    char addr[128];
    size_t eplen = sizeof(ep);
    FILE *rout;
    pid_t rdv, p[2];
    void *ctx = zmq_ctx_new(), *r = zmq_socket(ctx, ZMQ_ROUTER), *rsock;
    int one = 1, hwm = 16, zero = 0, sent = 0, idlen, more = 0;
    size_t ml = sizeof(more);
    double t0;

    (void)unused;
    zmq_setsockopt(r, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    zmq_setsockopt(r, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    assert_int_equal(zmq_bind(r, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &eplen), 0);
    snprintf(eps, sizeof(eps), "1 0 -1 %s\n", ep); /* slow.out -> out.in */
    rdv = start_rendezvous(path, addr, sizeof(addr), &rout);
    p[0] = start_instance(path, "src:0", addr, NULL);
    p[1] = start_instance(path, "slow:0", addr, NULL);
    rsock = rogue_hello(ctx, path, addr, 2, eps, table, sizeof(table));
    /* The producer's first frame: its connection's routing id. */
    idlen = zmq_recv(r, id, sizeof(id), 0);
    assert_true(idlen > 0 && idlen <= (int)sizeof(id));
    zmq_getsockopt(r, ZMQ_RCVMORE, &more, &ml);
    assert_true(more);
    assert_true(zmq_recv(r, table, sizeof(table), 0) >= 24);
    /* Frames in place of credits, as fast as the producer's end takes
     * them, for 3 s, or until its connection is gone. */
    t0 = tu_now_s();
    while (sent < FRAMES && tu_now_s() - t0 < 3) {
        if (zmq_send(r, id, (size_t)idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            if (zmq_errno() == EHOSTUNREACH)
                break;
            usleep(10000);
            continue;
        }
        zmq_send(r, junk, SIZE, 0);
        sent++;
    }
    /* Cut off at the first frame: what the kernel's buffers took. */
    if (sent >= FRAMES / 2)
        fail_msg("%d frames of 64 KiB taken as credits", sent);
    kill(rdv, SIGTERM);
    wait_status(rdv);
    wait_status(p[0]);
    wait_status(p[1]);
    fclose(rout);
    zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(rsock, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_close(r);
    zmq_close(rsock);
    zmq_ctx_term(ctx);
    free(junk);
    unlink(path);
    free(path);
}

/*
 * A stranger that sends the rendezvous HELLOs it cannot register (here for
 * a process the graph does not have) and reads none of the answers: what
 * is sent to it waits at a bound. The rendezvous's socket had none, and
 * its memory grew by a REFUSE of some 300 bytes for each HELLO of 20 (110
 * MB of RSS for 300000; found by a review helper).
 */
static void
test_tcp_rendezvous_bounds_a_stranger(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 10\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    enum { HELLOS = 60000 };
    static const char hello[] = "HELLO 99999 1 stranger 0";
    char addr[128], buf[1024];
    int fd[2], one = 1, small = 4096, zero = 0, got = 0;
    pid_t rdv;
    FILE *rout;
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    double t0;

    (void)unused;
    /* Its standard error, where it says each refusal, to /dev/null. */
    assert_int_equal(pipe(fd), 0);
    rdv = tu_fork();
    assert_true(rdv >= 0);
    if (rdv == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        execl(tu_flowrun(), tu_flowrun(), path, "--rendezvous-only", "--bind",
              "127.0.0.1", "--timeout", "30", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    rout = fdopen(fd[0], "r");
    assert_non_null(fgets(addr, (int)sizeof(addr), rout));
    addr[strcspn(addr, "\n")] = '\0';
    /* What it answers stays in the kernel's buffers, small, and the
     * rendezvous's queue. */
    zmq_setsockopt(s, ZMQ_RCVHWM, &one, sizeof(one));
    zmq_setsockopt(s, ZMQ_RCVBUF, &small, sizeof(small));
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero));
    assert_int_equal(zmq_connect(s, addr), 0);
    for (int i = 0; i < HELLOS; i++)
        assert_int_equal(zmq_send(s, hello, sizeof(hello) - 1, 0),
                         (int)sizeof(hello) - 1);
    sleep(3); /* all read and answered, as far as it could */
    /* Then what it kept for us: every REFUSE, or a bound's worth. */
    t0 = tu_now_s();
    while (got < HELLOS / 2 && tu_now_s() - t0 < 30) {
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 1000) <= 0)
            break; /* nothing more for a second */
        while (zmq_recv(s, buf, sizeof(buf), ZMQ_DONTWAIT) >= 0)
            got++;
    }
    if (got >= HELLOS / 2)
        fail_msg("%d REFUSEs kept for a stranger that read none", got);
    kill(rdv, SIGTERM);
    wait_status(rdv);
    fclose(rout);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_close(s);
    zmq_ctx_term(ctx);
    unlink(path);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_palindromes_equal_ipc),
        cmocka_unit_test(test_tcp_sieve_pairs),
        cmocka_unit_test(test_tcp_exactly_once),
        cmocka_unit_test(test_tcp_connection_drop_not_a_hang),
        cmocka_unit_test(test_tcp_instances_by_hand),
        cmocka_unit_test(test_tcp_instance_failure),
        cmocka_unit_test(test_tcp_instance_usage),
        cmocka_unit_test(test_tcp_rendezvous_sigusr1),
        cmocka_unit_test(test_tcp_instance_call_restores_signals),
        cmocka_unit_test(test_tcp_bind_host_name),
        cmocka_unit_test(test_tcp_ipv6),
        cmocka_unit_test(test_tcp_ipv6_link_local),
        cmocka_unit_test(test_tcp_timeouts_and_stops),
        cmocka_unit_test(test_tcp_demand_input_bounds_a_rogue_producer),
        cmocka_unit_test(test_tcp_demand_output_bounds_a_rogue_consumer),
        cmocka_unit_test(test_tcp_rendezvous_bounds_a_stranger),
    };
    signal(SIGPIPE, SIG_IGN);
    tu_watchdog(200);
    return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
