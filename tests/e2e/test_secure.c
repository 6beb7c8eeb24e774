/* SPDX-License-Identifier: MIT */
/*
 * test_secure.c: secured TCP runs (FLOW_KEY, --secure, --new-key). Results
 * equal the ipc run's; every port of a secured run, the rendezvous's and
 * the instances', refuses a connection without the key (the handshake of
 * a plain ZeroMQ socket fails there, and succeeds with the key, and on an
 * unsecured run's ports: the controls); processes whose keys differ fail
 * at once, saying so, and the rendezvous counts their connections.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "testutil.h"

static void await_text(int fd, const char *needle);

/* A graph that binds its instances' ports and then waits, idle: `f` hangs
 * at the end of its input (only SIGKILL ends it), `out` waits for it. */
static const char hang_graph[] = "[src]\ntype = range\ncount = 10\n"
                                 "[f]\ntype = fault\naction = hang\n"
                                 "after = 100\n"
                                 "[out]\ntype = collect\nmode = count\n"
                                 "[links]\npush = src.out -> f.in\n"
                                 "push = f.out -> out.in\n";

/* A fresh key from flowrun --new-key, into `key` (41 bytes). */
static void
new_key(char *key)
{
    tu_result_t r;

    assert_int_equal(tu_runl(&r, 30, "--new-key", NULL), 0);
    assert_int_equal(r.outlen, 41);
    memcpy(key, r.out, 40);
    key[40] = '\0';
    tu_result_release(&r);
}

static void
set_key(const char *key)
{
    if (key)
        assert_int_equal(setenv("FLOW_KEY", key, 1), 0);
    else
        assert_int_equal(unsetenv("FLOW_KEY"), 0);
}

/*
 * Connect a socket of `type` to `ep`, as a CURVE client of the run whose
 * key is `key` (NULL: a plain ZeroMQ socket), and watch its handshake:
 * 1 when it succeeded, 0 when it failed, -1 when neither came in 5 s.
 */
static int
handshake(const char *ep, int type, const char *key)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, type), *mon = zmq_socket(ctx, ZMQ_PAIR);
    char pub[41], mon_ep[64];
    int zero = 0, got = -1;
    double t0 = tu_now_s();

    assert_non_null(s);
    assert_non_null(mon);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    if (key) {
        assert_int_equal(zmq_curve_public(pub, key), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, pub, 40), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, key, 40), 0);
    }
    snprintf(mon_ep, sizeof(mon_ep), "inproc://probe-%d", (int)getpid());
    assert_int_equal(
        zmq_socket_monitor(s, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
        0);
    assert_int_equal(zmq_connect(mon, mon_ep), 0);
    assert_int_equal(zmq_connect(s, ep), 0);
    while (got < 0 && tu_now_s() - t0 < 5) {
        zmq_pollitem_t it = { mon, 0, ZMQ_POLLIN, 0 };
        zmq_msg_t m;
        uint16_t ev = 0;
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, 0) >= 2)
            memcpy(&ev, zmq_msg_data(&m), 2);
        zmq_msg_close(&m);
        zmq_msg_init(&m); /* the second frame: the endpoint */
        zmq_msg_recv(&m, mon, 0);
        zmq_msg_close(&m);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            got = 1;
        else if (ev)
            got = 0;
    }
    zmq_socket_monitor(s, NULL, 0);
    zmq_close(mon);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return got;
}

/*
 * Connect a plain TCP socket to 127.0.0.1:`port`, send `len` bytes of
 * `data` (none: connect and close), and wait up to 5 s for the other end
 * to close it, as libzmq does with what is not ZMTP 3 on a secured port
 * (a ZMTP 1.0 or 2.0 greeting: any first byte but 0xFF, an HTTP request,
 * a scanner's probe). Returns whether it closed it.
 */
static bool
raw_probe(int port, const void *data, size_t len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    struct timeval tv = { 5, 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool closed = false;
    char buf[256];

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (len) {
        assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
        for (;;) { /* its greeting, then the end */
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0) {
                closed = n == 0 || errno == ECONNRESET;
                break;
            }
        }
    }
    close(fd);
    return closed;
}

/* The inodes of the sockets that process `pid` holds, into `inodes`;
 * returns how many (at most `max`). */
static size_t
socket_inodes(pid_t pid, unsigned long *inodes, size_t max)
{
    char dir[64], path[384], link[128];
    size_t n = 0;
    struct dirent *e;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    if (!(d = opendir(dir)))
        return 0;
    while (n < max && (e = readdir(d))) {
        ssize_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        len = readlink(path, link, sizeof(link) - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        if (sscanf(link, "socket:[%lu]", &inodes[n]) == 1)
            n++;
    }
    closedir(d);
    return n;
}

/*
 * The TCP ports on which the children of `pid` (a run's instances) listen,
 * from /proc/net/tcp (IPv4: the runs here bind 127.0.0.1), into `ports`;
 * returns how many (at most `max`).
 */
static size_t
children_listening_ports(pid_t pid, int *ports, size_t max)
{
    unsigned long inodes[512];
    size_t ninodes = 0, n = 0;
    char path[96], line[512];
    FILE *f;
    int child;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
             (int)pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fscanf(f, "%d", &child) == 1 && ninodes < 512)
        ninodes += socket_inodes((pid_t)child, inodes + ninodes, 512 - ninodes);
    fclose(f);
    if (!(f = fopen("/proc/net/tcp", "r")))
        return 0;
    while (n < max && fgets(line, sizeof(line), f)) {
        unsigned port, st;
        unsigned long inode;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*s %*s %*s %*u %*u %lu",
                   &port, &st, &inode) != 3 ||
            st != 0x0A) /* TCP_LISTEN */
            continue;
        for (size_t i = 0; i < ninodes; i++)
            if (inodes[i] == inode)
                ports[n++] = (int)port;
    }
    fclose(f);
    return n;
}

/* Start the hang graph over TCP (with --secure if `secure`), wait until
 * its two consumers listen, their ports into `ports`; returns the pid,
 * its standard error on `*err_fd`. */
static pid_t
start_hang_run(const char *graph, bool secure, int ports[2], int *err_fd)
{
    const char *args[] = { graph, "--transport",
                           "tcp", "--grace",
                           "0.2", "--timeout",
                           "60",  secure ? "--secure" : NULL,
                           NULL };
    pid_t pid = tu_spawn_stderr(args, err_fd);
    double t0 = tu_now_s();
    size_t n = 0;

    while ((n = children_listening_ports(pid, ports, 2)) < 2 &&
           tu_now_s() - t0 < 20)
        usleep(50000);
    assert_int_equal(n, 2);
    return pid;
}

/* The exit status of `pid` (128+N for signal N) once it ends, or -1 if it
 * has not ended within `secs`. */
static int
exit_within(pid_t pid, double secs)
{
    double t0 = tu_now_s();
    int st;

    while (tu_now_s() - t0 < secs) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        assert_true(w >= 0);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(20000);
    }
    return -1;
}

/* A PUSH socket with `key` (NULL: a plain one) gets into each of the two
 * instance ports `ports` (`joins` 1), or is refused (0). */
static void
handshake_ports(const int ports[2], const char *key, int joins)
{
    char ep[64];

    for (int i = 0; i < 2; i++) {
        snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", ports[i]);
        assert_int_equal(handshake(ep, ZMQ_PUSH, key), joins);
    }
}

/* The run `run` fails within 30 s, its standard error `err_fd` saying a
 * producer's connection was lost: the probe that got in, gone. */
static void
lost_ends_run(pid_t run, int err_fd)
{
    assert_int_equal(exit_within(run, 30), 1);
    await_text(err_fd, "was lost before the end of its stream");
    close(err_fd);
}

/*
 * Every instance port of a secured run refuses a plain socket, one with
 * another key, and bytes that are not ZMTP 3 (an HTTP request, a ZMTP 2.0
 * greeting), and the run goes on unharmed (a failed handshake is
 * no lost producer); a socket with the run's key gets in, and its going
 * fails the run as a lost connection of a producer would (the control:
 * the watch that strangers do not trip is live). On an unsecured run a
 * plain socket gets in, and fails the run the same way.
 */
static void
test_secure_instance_ports_refuse_strangers(void **unused)
{
    /* A ZMTP 2.0 greeting: signature, then revision 1. */
    static const unsigned char zmtp2[] = { 0xFF, 0, 0, 0,    0, 0,
                                           0,    0, 1, 0x7F, 1, ZMQ_PULL };
    char *graph = tu_temp_file(hang_graph);
    char key[41], other[41];
    int ports[2], err_fd;
    pid_t run;

    (void)unused;
    new_key(key);
    new_key(other);
    assert_string_not_equal(key, other);

    set_key(key);
    run = start_hang_run(graph, true, ports, &err_fd);
    handshake_ports(ports, NULL, 0);
    handshake_ports(ports, other, 0);
    for (int i = 0; i < 2; i++) {
        /* Not ZMTP 3: refused without a failed handshake's event, only
         * a closed connection, which is no producer's. */
        assert_true(raw_probe(ports[i], "GET / HTTP/1.0\r\n\r\n", 18));
        assert_true(raw_probe(ports[i], zmtp2, sizeof(zmtp2)));
        raw_probe(ports[i], NULL, 0);
    }
    /* A lost connection fails a consumer after 3 s (DROP_GRACE_S). */
    assert_int_equal(exit_within(run, 4.5), -1);
    handshake_ports(ports, key, 1);
    lost_ends_run(run, err_fd);

    set_key(NULL);
    run = start_hang_run(graph, false, ports, &err_fd);
    handshake_ports(ports, NULL, 1);
    lost_ends_run(run, err_fd);
    unlink(graph);
    free(graph);
}

/* --secure without FLOW_KEY: the launcher's own key, which its instances
 * inherit: the output equals the ipc run's, over push links and pair
 * links (the sieve: pi(10^6) = 78498). */
static void
test_secure_local_runs_equal_ipc(void **unused)
{
    tu_result_t ipc, tcp;
    const char *g = tu_src("graphs/palindromes.ini");
    char key[41];

    (void)unused;
    set_key(NULL);
    assert_int_equal(tu_runl(&ipc, 60, g, "--set", "words=100000", "--set",
                             "workers=3", "--set", "chunk=999", NULL),
                     0);
    assert_int_equal(tu_runl(&tcp, 60, g, "--transport", "tcp", "--secure",
                             "--set", "words=100000", "--set", "workers=3",
                             "--set", "chunk=999", NULL),
                     0);
    assert_true(ipc.outlen > 0);
    assert_int_equal(ipc.outlen, tcp.outlen);
    assert_memory_equal(ipc.out, tcp.out, ipc.outlen);
    tu_result_release(&tcp);
    /* FLOW_KEY set, no --secure: secured all the same. */
    new_key(key);
    set_key(key);
    assert_int_equal(tu_runl(&tcp, 60, g, "--transport", "tcp", "--set",
                             "words=100000", "--set", "workers=3", "--set",
                             "chunk=999", NULL),
                     0);
    assert_int_equal(ipc.outlen, tcp.outlen);
    assert_memory_equal(ipc.out, tcp.out, ipc.outlen);
    tu_result_release(&tcp);
    tu_result_release(&ipc);
    set_key(NULL);
    assert_int_equal(tu_runl(&tcp, 60, tu_src("graphs/sieve.ini"),
                             "--transport", "tcp", "--secure", "--set",
                             "limit=1000000", "--set", "output=count", "--set",
                             "segments=3", NULL),
                     0);
    assert_string_equal(tcp.out, "78498\n");
    tu_result_release(&tcp);
}

/* Start `flowrun GRAPH --rendezvous-only` on 127.0.0.1 with the FLOW_KEY
 * of this process; its address into `addr`, its stderr on `*err_fd`. */
static pid_t
start_rendezvous(const char *graph, char *addr, size_t size, int *err_fd,
                 FILE **out)
{
    int fds[2], efds[2];
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(pipe(efds), 0);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(efds[1], STDERR_FILENO);
        close(fds[0]);
        close(efds[0]);
        execl(tu_flowrun(), tu_flowrun(), graph, "--rendezvous-only", "--bind",
              "127.0.0.1", "--timeout", "60", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    close(efds[1]);
    *err_fd = efds[0];
    *out = fdopen(fds[0], "r");
    assert_non_null(fgets(addr, (int)size, *out));
    addr[strcspn(addr, "\n")] = '\0';
    assert_int_equal(strncmp(addr, "tcp://127.0.0.1:", 16), 0);
    return pid;
}

/* Run instance `ni` of `graph` with the FLOW_KEY of this process, to its
 * end; its result in `r`. */
static void
run_instance(tu_result_t *r, const char *graph, const char *ni,
             const char *addr)
{
    tu_runl(r, 30, graph, "--instance", ni, "--rendezvous", addr, "--bind",
            "127.0.0.1", NULL);
}

/* Read what is on `fd` until `needle` came or 15 s passed. */
static void
await_text(int fd, const char *needle)
{
    static char buf[8192];
    size_t len = 0;
    double t0 = tu_now_s();

    buf[0] = '\0';
    while (!strstr(buf, needle) && tu_now_s() - t0 < 15 &&
           len < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
    }
    tu_assert_contains(buf, needle);
}

/*
 * Instances started apart with another key, or none, fail at once with
 * exit 2, saying why (not after the 10 s of an unreachable rendezvous);
 * the rendezvous counts their connections in its notice; a stranger's
 * socket cannot talk to it; the instances with the key run the graph.
 */
static void
test_secure_instances_apart(void **unused)
{
    static const char *const inst[] = { "gen:0", "chunks:0", "find:0", "find:1",
                                        "out:0" };
    char graph[4096], addr[128], key[41], other[41];
    tu_result_t r, local;
    pid_t rdv, pids[4];
    int err_fd, st;
    FILE *rout;
    double t0;

    (void)unused;
    snprintf(graph, sizeof(graph), "%s", tu_src("graphs/palindromes.ini"));
    new_key(key);
    new_key(other);
    set_key(key);
    rdv = start_rendezvous(graph, addr, sizeof(addr), &err_fd, &rout);

    /* A plain socket, or one with another key, is refused; the key's is
     * taken. */
    assert_int_equal(handshake(addr, ZMQ_DEALER, NULL), 0);
    assert_int_equal(handshake(addr, ZMQ_DEALER, other), 0);
    assert_int_equal(handshake(addr, ZMQ_DEALER, key), 1);

    set_key(other);
    t0 = tu_now_s();
    run_instance(&r, graph, "gen:0", addr);
    assert_int_equal(r.status, 2);
    assert_true(tu_now_s() - t0 < 8); /* not the 10 s of no rendezvous */
    tu_assert_contains(r.err, "refused the connection's security handshake: "
                              "this process has a FLOW_KEY, and the "
                              "rendezvous has none or another");
    tu_result_release(&r);
    set_key(NULL);
    run_instance(&r, graph, "gen:0", addr);
    assert_int_equal(r.status, 2);
    tu_assert_contains(r.err, "the rendezvous runs secured (FLOW_KEY) and "
                              "this process has no FLOW_KEY");
    tu_result_release(&r);
    /* Said 5 s after the start: 4 connections, the probes' 2 and the
     * instances' 2. */
    await_text(err_fd, "connections failed the security handshake "
                       "(FLOW_KEY differs: this rendezvous has one;");

    set_key(key);
    for (size_t i = 0; i < 4; i++) {
        const char *args[] = { graph, "--instance", inst[i],     "--rendezvous",
                               addr,  "--bind",     "127.0.0.1", NULL };
        int fd;
        pids[i] = tu_spawn(args, &fd);
        close(fd);
    }
    run_instance(&r, graph, "out:0", addr);
    assert_int_equal(r.status, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(waitpid(rdv, &st, 0), rdv);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fclose(rout);
    close(err_fd);
    set_key(NULL);
    assert_int_equal(tu_runl(&local, 60, graph, NULL), 0);
    assert_string_equal(r.out, local.out);
    tu_result_release(&r);
    tu_result_release(&local);

    /* The other way round: a rendezvous without a key, an instance with
     * one. */
    rdv = start_rendezvous(graph, addr, sizeof(addr), &err_fd, &rout);
    set_key(key);
    run_instance(&r, graph, "gen:0", addr);
    assert_int_equal(r.status, 2);
    tu_assert_contains(r.err, "this process has a FLOW_KEY, and the "
                              "rendezvous has none or another");
    tu_result_release(&r);
    set_key(NULL);
    /* The rendezvous's count is not checked here: the instance, failing
     * at once, may close its connection before its greeting's end has
     * gone, and then there is no mismatch to count (seen under load). */
    kill(rdv, SIGTERM);
    assert_int_equal(waitpid(rdv, &st, 0), rdv);
    fclose(rout);
    close(err_fd);
}

/* Keys that are none, and --secure where it cannot apply, are usage
 * errors (exit 2) said before anything runs; --new-key makes keys that
 * differ, 40 characters of Z85 (32 bytes decoded). */
static void
test_secure_usage(void **unused)
{
    static const char graph_text[] = "[src]\ntype = range\ncount = 10\n"
                                     "[out]\ntype = collect\nmode = count\n"
                                     "[links]\npush = src.out -> out.in\n";
    char *graph = tu_temp_file(graph_text);
    char key[41], other[41];
    uint8_t raw[32];
    tu_result_t r;

    (void)unused;
    new_key(key);
    new_key(other);
    assert_string_not_equal(key, other);
    assert_non_null(zmq_z85_decode(raw, key));

    set_key("tooshort");
    assert_int_equal(tu_runl(&r, 30, graph, "--transport", "tcp", NULL), 2);
    tu_assert_contains(r.err, "FLOW_KEY is not a key: expected 40 characters "
                              "of Z85 (as 'flowrun --new-key' prints), got 8");
    tu_result_release(&r);
    /* 40 characters, one of them (a space) outside Z85. */
    char bad[41];
    memcpy(bad, key, 41);
    bad[7] = ' ';
    set_key(bad);
    assert_int_equal(tu_runl(&r, 30, graph, "--transport", "tcp", NULL), 2);
    tu_assert_contains(r.err, "got 40 with a character outside Z85");
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, graph, "--rendezvous-only", "--bind",
                             "127.0.0.1", NULL),
                     2);
    tu_assert_contains(r.err, "FLOW_KEY is not a key");
    assert_int_equal(r.outlen, 0); /* no address printed */
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, graph, "--instance", "src:0",
                             "--rendezvous", "tcp://127.0.0.1:9", NULL),
                     2);
    tu_assert_contains(r.err, "FLOW_KEY is not a key");
    tu_result_release(&r);
    /* The key with a newline, as read from a file: said so. */
    char nl[42];
    snprintf(nl, sizeof(nl), "%s\n", key);
    set_key(nl);
    assert_int_equal(tu_runl(&r, 30, graph, "--transport", "tcp", NULL), 2);
    tu_assert_contains(r.err, "got 41 with white space (a newline from a "
                              "file?)");
    tu_result_release(&r);
    set_key(bad);
    /* A run over ipc has no TCP connection: FLOW_KEY is not looked at. */
    assert_int_equal(tu_runl(&r, 30, graph, NULL), 0);
    assert_string_equal(r.out, "10\n");
    tu_result_release(&r);

    /* Empty is none: --secure says so where it needs one. */
    set_key("");
    assert_int_equal(tu_runl(&r, 30, graph, "--secure", "--instance", "src:0",
                             "--rendezvous", "tcp://127.0.0.1:9", NULL),
                     2);
    tu_assert_contains(r.err, "--secure: FLOW_KEY is not set");
    tu_result_release(&r);
    set_key(NULL);
    assert_int_equal(tu_runl(&r, 30, graph, "--secure", NULL), 2);
    tu_assert_contains(r.err, "--secure goes with --transport tcp");
    tu_result_release(&r);
    assert_int_equal(
        tu_runl(&r, 30, graph, "--secure", "--rendezvous-only", NULL), 2);
    tu_assert_contains(r.err, "--secure: FLOW_KEY is not set");
    assert_int_equal(r.outlen, 0);
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, graph, "--secure", "--instance", "src:0",
                             "--rendezvous", "tcp://127.0.0.1:9", NULL),
                     2);
    tu_assert_contains(r.err, "--secure: FLOW_KEY is not set");
    tu_result_release(&r);
    unlink(graph);
    free(graph);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secure_usage),
        cmocka_unit_test(test_secure_local_runs_equal_ipc),
        cmocka_unit_test(test_secure_instance_ports_refuse_strangers),
        cmocka_unit_test(test_secure_instances_apart),
    };

    tu_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
