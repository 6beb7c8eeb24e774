/* SPDX-License-Identifier: MIT */
/*
 * test_embed.c: a program that embeds libflow and supervises processes of
 * its own: its process as it was, and told what it is owed, after the
 * entry points that run processes apart from a local run (test_core has
 * flow_graph_run's): flow_graph_run_instance, flow_graph_serve and
 * flow_graph_run_slurm (with a stand-in for srun on PATH: no Slurm runs).
 * Each case runs in a process of its own (tu_in_own_process), the "caller".
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs these three first */
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "flow/flow.h"
#include "testutil.h"

/* A graph that runs for 10 x 60 ms at least (a message of the fault node
 * takes 60 ms), writing nothing. */
static const char slow_ini[] = "[src]\ntype = range\ncount = 10\n"
                               "[slow]\ntype = fault\naction = none\n"
                               "work_us = 60000\n"
                               "[out]\ntype = collect\noutput = /dev/null\n"
                               "[links]\npush = src.out -> slow.in batch=1\n"
                               "push = slow.out -> out.in\n";

/* slow_ini of 100 messages: 6 s at least. */
static const char long_ini[] = "[src]\ntype = range\ncount = 100\n"
                               "[slow]\ntype = fault\naction = none\n"
                               "work_us = 60000\n"
                               "[out]\ntype = collect\noutput = /dev/null\n"
                               "[links]\npush = src.out -> slow.in batch=1\n"
                               "push = slow.out -> out.in\n";

/* slow_ini, its sink writing the count on standard output. */
static const char count_ini[] = "[src]\ntype = range\ncount = 10\n"
                                "[slow]\ntype = fault\naction = none\n"
                                "work_us = 60000\n"
                                "[out]\ntype = collect\nmode = count\n"
                                "[links]\npush = src.out -> slow.in batch=1\n"
                                "push = slow.out -> out.in\n";

/* 41 processes: a rendezvous needs 2 x 41 + 32 = 114 open files. */
static const char wide_ini[] = "[r]\ntype = pid\ninstances = 40\n"
                               "[out]\ntype = collect\n"
                               "output = /dev/null\n"
                               "[links]\npush = r.out -> out.in\n";

/* The case's entry point (in the caller's process): returns what it
 * returned, which must be `call_want`. */
static int (*call)(void);
static int call_want;
/* The graph file it runs, and the address of the rendezvous started for
 * flow_graph_run_instance. */
static char *graph_path;
static char rdv_addr[128];
/* A directory whose "srun" stands in for Slurm's. */
static char srun_dir[64];

static flow_graph_t *
load(flow_registry_t **reg)
{
    flow_diag_t diag;
    flow_graph_t *g;

    *reg = flow_registry_new();
    flow_registry_add_path(*reg, tu_plugin_dir());
    g = flow_graph_load(graph_path, *reg, NULL, 0, &diag);
    if (!g) {
        fprintf(stderr, "load: %s\n", diag.msg);
        _exit(90);
    }
    return g;
}

/* Instance out:0 of the graph, here; the others and the rendezvous were
 * started by the test (not children of the caller's). */
static int
call_instance(void)
{
    flow_registry_t *reg;
    flow_graph_t *g = load(&reg);
    flow_diag_t diag;
    int rc = flow_graph_run_instance(g, "out", 0, rdv_addr, "127.0.0.1", &diag);

    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
    return rc;
}

/* A rendezvous that no instance joins: it times out after 0.5 s. */
static int
call_serve(void)
{
    flow_registry_t *reg;
    flow_graph_t *g = load(&reg);
    flow_run_opts_t opts = { .timeout_s = 0.5, .quiet = 1 };
    FILE *announce = fopen("/dev/null", "w");
    int rc;

    if (!announce)
        _exit(91);
    rc = flow_graph_serve(g, "127.0.0.1", announce, &opts, NULL);
    fclose(announce);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
    return rc;
}

/* A Slurm run whose srun (the stand-in) fails after 0.3 s. */
static int
call_slurm(void)
{
    flow_registry_t *reg;
    flow_graph_t *g = load(&reg);
    flow_run_opts_t opts = { .quiet = 1, .bind = "127.0.0.1" };
    const char *prefix[] = { "flowrun", graph_path, NULL };
    char path[4096];
    int rc;

    snprintf(path, sizeof(path), "%s:%s", srun_dir, getenv("PATH"));
    setenv("PATH", path, 1);
    rc = flow_graph_run_slurm(g, &opts, prefix, NULL);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
    return rc;
}

/* In a child of the caller's: whether the caller serves a rendezvous,
 * its stop signals blocked for its signalfd (SIGTERM in SigBlk of
 * /proc/PID/status); before and after the call, it blocks none. */
static bool
caller_serving(void)
{
    char path[64], buf[4096], *b;
    unsigned long long blocked;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)getppid());
    if ((fd = open(path, O_RDONLY)) < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    if (!(b = strstr(buf, "\nSigBlk:")) ||
        sscanf(b + strlen("\nSigBlk:"), "%llx", &blocked) != 1)
        return false;
    return blocked >> (SIGTERM - 1) & 1;
}

/*
 * A child of the caller's that ends while the call runs is told as the
 * caller's SIGCHLD action says (sigaction(2), wait(2)): with a handler,
 * the handler runs once for it, with its pid and status, by the time the
 * call returns, and the child stays the caller's to wait for; ignored
 * (SIG_IGN), it leaves no zombie: a wait finds no child (ECHILD). The
 * child ends once the call is seen under way (its node or srun started,
 * the rendezvous served), not 100 ms after the fork: at a load average of
 * 94 to 120 it ended before the call or after it. A try in which it ended
 * after the call shows nothing and is made again (for
 * flow_graph_run_instance, whose other instances run once, by
 * around_instance).
 */
static int
sigchld_case(bool ignored)
{
    if (call == call_instance)
        return tu_sigchld_check_when(call, call_want, ignored, NULL, 1);
    return tu_sigchld_check_when(call, call_want, ignored,
                                 call == call_serve ? caller_serving : NULL, 3);
}

static int
sigchld_handler_case(void)
{
    return sigchld_case(false);
}

static int
sigchld_ignored_case(void)
{
    return sigchld_case(true);
}

/* The caller's soft limit on open files, 64, is what it was after a call
 * that needed more (wide_ini). */
static int
file_limit_case(void)
{
    struct rlimit rl;
    int rc;

    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1024)
        return 0; /* cannot be raised here: nothing to see */
    rl.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &rl))
        return 2;
    if ((rc = call()) != call_want) {
        fprintf(stderr, "the call returned %d, not %d\n", rc, call_want);
        return 3;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur != 64) {
        fprintf(stderr, "soft limit %llu after the call\n",
                (unsigned long long)rl.rlim_cur);
        return 4;
    }
    return 0;
}

/* Standard input and output closed, standard error a file: a node's
 * standard output is no descriptor of the run's. collect fails writing it
 * with EBADF, as under flowrun >&- (flowrun(1)); they are closed again
 * after the call. */
static int
closed_std_case(void)
{
    return tu_closed_std_check(call, call_want);
}

static int int_pipe[2];

static void
on_int(int sig)
{
    pid_t me = getpid();

    (void)sig;
    if (write(int_pipe[1], &me, sizeof(me)) < 0)
        _exit(92);
}

/*
 * SIGINT to the caller during flow_graph_run_instance (long_ini, 6 s of
 * work), once the call has forked its node and 100 ms more, stops the
 * instance's node at once, as under flowrun --instance: the call returns
 * 128 + SIGINT well before the 5 s after which it kills a node that did not
 * end, whatever the caller's SIGINT was: a handler, which runs in no
 * process meanwhile (the call's own passes the signal on), or the signal
 * blocked (the call unblocks it meanwhile). A handler that ran in the
 * caller itself had the signal before the call took it over: a try that
 * showed nothing (TU_SIGCHLD_MISSED), made again. It was sent 300 ms after
 * the call began, which under ASan on a loaded machine came first.
 */
static int
instance_stop_case(bool blocked)
{
    pid_t me = getpid(), sender, who;
    double t0, took;
    int rc;

    if (pipe(int_pipe) || fcntl(int_pipe[0], F_SETFL, O_NONBLOCK))
        return 1;
    if (blocked) {
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGINT);
        sigprocmask(SIG_BLOCK, &m, NULL);
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_int;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
    }
    if ((sender = fork()) == 0) {
        for (double end = tu_now_s() + 10;
             !tu_has_other_child() && tu_now_s() < end;)
            usleep(1000);
        usleep(100 * 1000);
        kill(me, SIGINT);
        _exit(0);
    }
    t0 = tu_now_s();
    rc = call();
    took = tu_now_s() - t0;
    waitpid(sender, NULL, 0);
    if (read(int_pipe[0], &who, sizeof(who)) == sizeof(who)) {
        if (who == me) {
            fprintf(stderr, "SIGINT came before the call took it: again\n");
            return TU_SIGCHLD_MISSED;
        }
        fprintf(stderr,
                "the caller's SIGINT handler ran in process %d (the "
                "caller: %d)\n",
                (int)who, (int)me);
        return 2;
    }
    if (rc != 128 + SIGINT || took > 4) {
        fprintf(stderr, "returned %d after %.1f s\n", rc, took);
        return 3;
    }
    return 0;
}

static int
instance_stop_handler_case(void)
{
    return instance_stop_case(false);
}

static int
instance_stop_blocked_case(void)
{
    return instance_stop_case(true);
}

/* `ini` as a graph file for the cases. */
static void
set_graph(const char *ini)
{
    graph_path = tu_temp_file(ini);
}

static void
graph_done(void)
{
    unlink(graph_path);
    free(graph_path);
    graph_path = NULL;
}

/* Start `flowrun GRAPH ARGS...` with its standard output on `*out` (NULL:
 * closed). */
static pid_t
spawn(const char *const *args, FILE **out)
{
    int fd;
    pid_t pid = tu_spawn(args, &fd);

    assert_true(pid > 0);
    if (out)
        assert_non_null(*out = fdopen(fd, "r"));
    else
        close(fd);
    return pid;
}

/*
 * `test` around flow_graph_run_instance of out:0 of `ini`, whose other
 * instances (src:0, slow:0) and rendezvous run in flowrun processes this
 * process starts: their ends are no SIGCHLD of the caller's. Returns the
 * exit status of `test`'s process.
 */
static int
around_instance(const char *ini, int want, int (*test)(void))
{
    FILE *rout;
    pid_t rdv, others[2];
    int status;

    set_graph(ini);
    {
        const char *args[] = { graph_path,  "--rendezvous-only", "--bind",
                               "127.0.0.1", "--timeout",         "30",
                               NULL };
        rdv = spawn(args, &rout);
    }
    assert_non_null(fgets(rdv_addr, sizeof(rdv_addr), rout));
    rdv_addr[strcspn(rdv_addr, "\n")] = '\0';
    for (int i = 0; i < 2; i++) {
        const char *args[] = {
            graph_path,     "--instance", i ? "slow:0" : "src:0",
            "--rendezvous", rdv_addr,     "--bind",
            "127.0.0.1",    NULL
        };
        others[i] = spawn(args, NULL);
    }
    call = call_instance;
    call_want = want;
    status = tu_own_process_status(test);
    for (int i = 0; i < 2; i++)
        assert_int_equal(waitpid(others[i], NULL, 0), others[i]);
    assert_int_equal(waitpid(rdv, NULL, 0), rdv);
    fclose(rout);
    graph_done();
    return status;
}

/* around_instance, made again (3 times at most) while `test` says its
 * try showed nothing (TU_SIGCHLD_MISSED); then it must have passed. */
static void
around_instance_tries(const char *ini, int want, int (*test)(void))
{
    int status = TU_SIGCHLD_MISSED;

    for (int i = 0; i < 3 && status == TU_SIGCHLD_MISSED; i++)
        status = around_instance(ini, want, test);
    assert_int_equal(status, 0);
}

/*
 * flow_graph_run_instance set SIGCHLD's default action to wait for its
 * node, and put the caller's back when it had reaped it: a child of the
 * caller's that ended meanwhile was never told (the handler did not run:
 * count 0), or, ignored, stayed a zombie for good.
 */
static void
test_embed_instance_sigchld_handler(void **unused)
{
    (void)unused;
    around_instance_tries(slow_ini, 0, sigchld_handler_case);
}

static void
test_embed_instance_sigchld_ignored(void **unused)
{
    (void)unused;
    around_instance_tries(slow_ini, 0, sigchld_ignored_case);
}

/*
 * flow_graph_run_instance with the caller's standard input and output
 * closed: its node's standard output was the first descriptor libzmq
 * opened in the node's process, an eventfd (collect's count "10\n" failed
 * with EINVAL; eight bytes would have gone into the eventfd).
 */
static void
test_embed_instance_closed_std_fds(void **unused)
{
    (void)unused;
    assert_int_equal(around_instance(count_ini, 1, closed_std_case), 0);
}

/*
 * The node of flow_graph_run_instance, a child of the caller's, kept the
 * caller's action and mask for the stop signals that the call passes on
 * to it: a SIGINT ran the caller's handler in the node's process, and the
 * node went on to its end (exit 0, the stop lost); blocked, it waited
 * until the call killed the node 5 s later.
 */
static void
test_embed_instance_stop_caller_handler(void **unused)
{
    (void)unused;
    around_instance_tries(long_ini, 128 + SIGINT, instance_stop_handler_case);
}

static void
test_embed_instance_stop_caller_blocked(void **unused)
{
    (void)unused;
    assert_int_equal(
        around_instance(long_ini, 128 + SIGINT, instance_stop_blocked_case), 0);
}

/* `test` around the entry point `fn`, which returns `want`, of `ini`. */
static void
around(int (*fn)(void), const char *ini, int want, int (*test)(void))
{
    set_graph(ini);
    call = fn;
    call_want = want;
    tu_in_own_process(test);
    graph_done();
}

/*
 * flow_graph_serve read SIGCHLD from its signalfd with the stop signals,
 * although it has no child: a child of the caller's that ended meanwhile
 * was never told to its handler (count 0).
 */
static void
test_embed_serve_sigchld_handler(void **unused)
{
    (void)unused;
    around(call_serve, wide_ini, FLOW_ETIMEDOUT, sigchld_handler_case);
}

static void
test_embed_serve_sigchld_ignored(void **unused)
{
    (void)unused;
    around(call_serve, wide_ini, FLOW_ETIMEDOUT, sigchld_ignored_case);
}

/* The soft limit on open files that flow_graph_serve raised for its
 * connections (64 to 114) stayed raised in the caller. */
static void
test_embed_serve_file_limit_restored(void **unused)
{
    (void)unused;
    around(call_serve, wide_ini, FLOW_ETIMEDOUT, file_limit_case);
}

/*
 * flow_graph_run_slurm set SIGCHLD's default action to wait for srun,
 * read the SIGCHLDs from its signalfd, and put the caller's action back:
 * a child of the caller's that ended meanwhile was never told (count 0),
 * or, ignored, stayed a zombie for good.
 */
static void
test_embed_slurm_sigchld_handler(void **unused)
{
    (void)unused;
    around(call_slurm, wide_ini, FLOW_ENODE, sigchld_handler_case);
}

static void
test_embed_slurm_sigchld_ignored(void **unused)
{
    (void)unused;
    around(call_slurm, wide_ini, FLOW_ENODE, sigchld_ignored_case);
}

/* The soft limit on open files that flow_graph_run_slurm raised for its
 * rendezvous (64 to 114) stayed raised in the caller. */
static void
test_embed_slurm_file_limit_restored(void **unused)
{
    (void)unused;
    around(call_slurm, wide_ini, FLOW_ENODE, file_limit_case);
}

/* The stand-in for srun: it fails after 0.3 s, having started nothing. */
static int
srun_make(void **unused)
{
    char path[sizeof(srun_dir) + 8];
    static const char script[] = "#!/bin/sh\nsleep 0.3\nexit 3\n";
    int fd;

    (void)unused;
    snprintf(srun_dir, sizeof(srun_dir), "/tmp/flow-test-srun-XXXXXX");
    if (!mkdtemp(srun_dir))
        return -1;
    snprintf(path, sizeof(path), "%s/srun", srun_dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
    if (fd < 0 || write(fd, script, strlen(script)) != (ssize_t)strlen(script))
        return -1;
    return close(fd);
}

static int
srun_remove(void **unused)
{
    char path[sizeof(srun_dir) + 8];

    (void)unused;
    snprintf(path, sizeof(path), "%s/srun", srun_dir);
    unlink(path);
    return rmdir(srun_dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_instance_sigchld_handler),
        cmocka_unit_test(test_embed_instance_sigchld_ignored),
        cmocka_unit_test(test_embed_instance_closed_std_fds),
        cmocka_unit_test(test_embed_instance_stop_caller_handler),
        cmocka_unit_test(test_embed_instance_stop_caller_blocked),
        cmocka_unit_test(test_embed_serve_sigchld_handler),
        cmocka_unit_test(test_embed_serve_sigchld_ignored),
        cmocka_unit_test(test_embed_serve_file_limit_restored),
        cmocka_unit_test(test_embed_slurm_sigchld_handler),
        cmocka_unit_test(test_embed_slurm_sigchld_ignored),
        cmocka_unit_test(test_embed_slurm_file_limit_restored),
    };
    signal(SIGPIPE, SIG_IGN);
    tu_watchdog(250);
    return cmocka_run_group_tests_name("embed", tests, srun_make, srun_remove);
}
