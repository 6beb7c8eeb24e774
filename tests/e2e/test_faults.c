/* SPDX-License-Identifier: MIT */
/*
 * test_faults.c: failure, shutdown and load, end to end. The `fault` node
 * dies, hangs or sends bad frames at the start, in the middle or at the end
 * of a stream, in a producer, a middle stage or a sink; every run must end
 * with the right status and one line naming what failed, quickly, leaving
 * no process and no run directory; so must a pair frame from the wrong
 * sender (fixture pairsend). Then signals to flowrun (graceful stop, a
 * signal as it starts, signals it inherits ignored, a second signal,
 * SIGKILL), a graph of 200 processes, and bounded memory with a slow sink.
 *
 * Every test runs with TMPDIR set to a fresh directory (and no
 * XDG_RUNTIME_DIR), so the run directory can be checked, and with its own
 * alarm so a hang fails instead of stalling CI.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef FLOW_FIXTURE_PLUGIN_DIR
#error "FLOW_FIXTURE_PLUGIN_DIR must name the fixture plugin directory"
#endif

/* Built with AddressSanitizer: fewer combinations of the fault matrix. */
#if defined(__SANITIZE_ADDRESS__)
#define FAULTS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAULTS_SANITIZED 1
#endif
#endif
#ifndef FAULTS_SANITIZED
#define FAULTS_SANITIZED 0
#endif

/*
 * Seconds allowed between a death and the end of flowrun (default grace,
 * 0.5 s, and the launcher's own end). Built with AddressSanitizer every
 * process of the run is slower to stop and to exit (about four times, a
 * median of 0.15 s against 0.04 s for graph 1 of
 * test_faults_blocked_processes), and on a loaded machine that took 1.8 s
 * once: twice as long there. Either way far from what a stop that does not
 * work takes (the 30 s of run_graph's timeout).
 */
#define DEATH_TO_EXIT_S (FAULTS_SANITIZED ? 3.0 : 1.5)

/* The fresh TMPDIR of the running test. */
static char run_tmp[64];

/* A flowrun started by spawn_files and not yet reaped: teardown kills it
 * (its instances die with it) when an assertion ended the test early. */
static pid_t spawned;

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait for the test's child `pid`, which must exit with status 0 (it
 * said on stderr what went wrong otherwise). */
static void
child_exited_0(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Entries of `dir` other than . and ..; -1 if it cannot be read. */
static int
dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Remove what a killed run left in the test's TMPDIR. */
static void
clear_run_tmp(void)
{
    DIR *d = opendir(run_tmp);
    struct dirent *de;
    char path[512];

    if (!d)
        return;
    while ((de = readdir(d))) {
        DIR *sub;
        struct dirent *se;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", run_tmp, de->d_name);
        if ((sub = opendir(path))) {
            while ((se = readdir(sub))) {
                char file[1024];
                snprintf(file, sizeof(file), "%s/%s", path, se->d_name);
                unlink(file);
            }
            closedir(sub);
            rmdir(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
}

static int
setup(void **state)
{
    (void)state;
    tu_watchdog(150); /* per test; main's alarm is re-armed here */
    snprintf(run_tmp, sizeof(run_tmp), "/tmp/flow-test-faults-XXXXXX");
    if (!mkdtemp(run_tmp))
        return -1;
    setenv("TMPDIR", run_tmp, 1);
    unsetenv("XDG_RUNTIME_DIR");
    return 0;
}

/* Signals the spawned flowrun starts with blocked, as a caller's mask
 * leaves them (it survives exec), and one raised before the exec (pending
 * if blocked); none but in test_faults_blocked_mask. */
static sigset_t spawn_block;
static int spawn_raise;

static int
teardown(void **state)
{
    (void)state;
    if (spawned > 0) {
        kill(spawned, SIGKILL);
        waitpid(spawned, NULL, 0);
        spawned = 0;
        usleep(200000); /* the instances die with it (PR_SET_PDEATHSIG) */
    }
    clear_run_tmp();
    rmdir(run_tmp);
    unsetenv("TMPDIR");
    unsetenv("FLOW_PLUGIN_PATH"); /* a test that set it failed midway */
    sigemptyset(&spawn_block);    /* also when a test failed midway */
    spawn_raise = 0;
    return 0;
}

/* ---- Running graphs ------------------------------------------------------ */

typedef struct run {
    tu_result_t r;
    double t0, t_end; /* CLOCK_MONOTONIC around the run */
} run_t;

/*
 * Run the graph `text` with the extra flowrun arguments (NULL-terminated),
 * killing it after `timeout_s`, then check what every run must leave: no
 * process of the run, no run directory. Returns the exit status.
 */
static int
run_graph(run_t *run, double timeout_s, const char *text, ...)
{
    const char *args[16];
    size_t n = 0;
    char *path = tu_temp_file(text);
    va_list ap;

    args[n++] = path;
    va_start(ap, text);
    while (n < 15 && (args[n] = va_arg(ap, const char *)))
        n++;
    va_end(ap);
    args[n] = NULL;
    run->t0 = now_s();
    tu_run(&run->r, timeout_s, args);
    /* tu_run returns after flowrun exited and every holder of its pipes
     * closed them: all processes of the run are gone by now. */
    run->t_end = run->t0 + run->r.seconds;
    if (tu_count_procs(path) != 0 || dir_entries(run_tmp) != 0)
        fprintf(stderr, "graph:\n%s\nstderr:\n%s\n", text, run->r.err);
    assert_int_equal(tu_count_procs(path), 0);
    assert_int_equal(dir_entries(run_tmp), 0);
    unlink(path);
    free(path);
    return run->r.status;
}

/* What the fault node logged just before its fault. */
typedef struct injection {
    unsigned long long seen; /* messages before the fault */
    long pid;
    double t; /* CLOCK_MONOTONIC */
} injection_t;

/* The first line of `err` logged by `node`[`inst`] that holds `text`, or
 * NULL. Such a line starts "node[inst]", maybe followed by the pid. */
static const char *
find_line(const char *err, const char *node, unsigned inst, const char *text)
{
    char who[128];

    snprintf(who, sizeof(who), "%s[%u] ", node, inst);
    for (const char *line = err; line && *line;) {
        const char *nl = strchr(line, '\n');
        const char *p = strstr(line, text);
        if (!strncmp(line, who, strlen(who)) && p && (!nl || p < nl))
            return p;
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* Find the injection line of `node`[`inst`] in `err`; false if none. */
static bool
find_injection(const char *err, const char *node, unsigned inst,
               const char *action, injection_t *inj)
{
    char what[128];
    const char *p;

    snprintf(what, sizeof(what), "info: injecting %s after ", action);
    p = find_line(err, node, inst, what);
    return p && sscanf(p + strlen(what), "%llu messages (pid %ld, t=%lf)",
                       &inj->seen, &inj->pid, &inj->t) == 3;
}

/* Occurrences of `needle` in `hay`. */
static int
count_str(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The pid in "flowrun: error: node 'NODE' instance I (pid P) ...", or -1. */
static long
reported_pid(const char *err, const char *node, unsigned inst)
{
    char prefix[128];
    const char *p;
    long pid = -1;

    snprintf(prefix, sizeof(prefix),
             "flowrun: error: node '%s' instance %u (pid ", node, inst);
    p = strstr(err, prefix);
    if (p && sscanf(p + strlen(prefix), "%ld)", &pid) != 1)
        pid = -1;
    return pid;
}

/* ---- The fault matrix ---------------------------------------------------- */

/* Where the fault sits: the graph is head, the fault's keys, tail. */
typedef struct position {
    const char *name;
    const char *head;
    const char *tail;
    unsigned fault_inst; /* the instance that faults */
    unsigned fault_n;    /* the fault node's instances */
    const char *recv;    /* the consumer of the fault's frames */
    bool forward;        /* the fault forwards what it gets */
    long total;          /* messages the faulting instance sees; -1: varies */
    const char *control; /* standard output without a fault */
} position_t;

/* 20000 numbers in batches of 100: 200 messages per stream. */
static const position_t positions[] = {
    { "producer",
      "[graph]\nname = faults\n"
      "[src]\ntype = range\ncount = 0\n"
      "[f]\ntype = fault\nemit = 20000\n",
      "[mid]\ntype = jitter\n"
      "[out]\ntype = collect\nmode = count\n"
      "[links]\npush = src.out -> f.in\n"
      "push = f.out -> mid.in batch=100 hwm=1\n"
      "push = mid.out -> out.in hwm=1\n",
      0, 1, "mid", true, 200, "20000\n" },
    { "middle",
      "[graph]\nname = faults\n"
      "[src]\ntype = range\ninstances = 2\ncount = 20000\n"
      "[f]\ntype = fault\ninstances = 2\ninstance = 1\n",
      "[out]\ntype = collect\nmode = count\n"
      "[links]\npush = src.out -> f.in batch=100 hwm=1\n"
      "push = f.out -> out.in hwm=1\n",
      1, 2, "out", true, -1, "20000\n" },
    { "sink",
      "[graph]\nname = faults\n"
      "[src]\ntype = range\ncount = 20000\n"
      "[mid]\ntype = jitter\n"
      "[f]\ntype = fault\nforward = false\n",
      "[out]\ntype = collect\nmode = count\n"
      "[links]\npush = src.out -> mid.in batch=100 hwm=1\n"
      "push = mid.out -> f.in hwm=1\n"
      "push = f.out -> out.in hwm=1\n",
      0, 1, "out", false, 200, "0\n" },
};

#define NPOS (sizeof(positions) / sizeof(*positions))

/* When in the stream: `after` values. */
static const struct {
    const char *name;
    long after;
} whens[] = { { "start", 0 }, { "middle", 10 }, { "end", 1000000000 } };

#define NWHEN (sizeof(whens) / sizeof(*whens))

/* Faults and what flowrun must say. A NULL `how` means a frame fault: the
 * receiver fails with status 1 and says `reason`. */
static const struct {
    const char *action;
    int code; /* of exit */
    const char *how;
    const char *reason;
} faults[] = {
    { "exit", 7, "exited with status 7", NULL },
    /* Status 0 before its streams ended: a failure all the same (its
     * consumers would wait for its end markers for ever). */
    { "exit", 0,
      "exited with status 0 before the end of its run (exit() called in "
      "the node?)",
      NULL },
    { "segv", 7, "was killed by signal SIGSEGV (11)", NULL },
    { "abrt", 7, "was killed by signal SIGABRT (6)", NULL },
    { "kill", 7, "was killed by signal SIGKILL (9)", NULL },
    { "garbage", 7, NULL, NULL }, /* random: bad magic or truncated */
    { "truncate", 7, NULL, "truncated frame header" },
    { "badcount", 7, NULL, "int64 frame length does not match count" },
    { "badtype", 7, NULL, "unknown item type" },
    { "badeos", 7, NULL, NULL }, /* a count mismatch, checked apart */
    { "badsrc", 7, NULL, NULL }, /* names the link's producers, apart */
};

#define NFAULTS (sizeof(faults) / sizeof(*faults))

static void
make_graph(char *buf, size_t size, const position_t *pos, const char *keys)
{
    int n = snprintf(buf, size, "%s%s%s", pos->head, keys, pos->tail);

    assert_true(n > 0 && (size_t)n < size);
}

/* Check how many messages went through before the fault. */
static void
check_seen(const position_t *pos, size_t w, const injection_t *inj)
{
    if (whens[w].after == 0)
        assert_int_equal(inj->seen, 0);
    else if (pos->total >= 0 && whens[w].after < pos->total)
        assert_int_equal(inj->seen, whens[w].after);
    else if (pos->total >= 0)
        assert_int_equal(inj->seen, pos->total); /* at the end */
    else
        assert_true(inj->seen <= 200);
}

/* Without a fault every position runs to completion. */
static void
test_faults_control(void **unused)
{
    (void)unused;
    for (size_t p = 0; p < NPOS; p++) {
        char text[2048];
        run_t run;

        make_graph(text, sizeof(text), &positions[p], "action = none\n");
        assert_int_equal(run_graph(&run, 30, text, NULL), 0);
        assert_string_equal(run.r.out, positions[p].control);
        assert_null(strstr(run.r.err, "error"));
        tu_result_release(&run.r);
    }
}

/* flowrun's error line names instance 0 of `recv`, not the injector, as
 * exited with status 1 (it failed, it did not crash). */
static void
check_receiver_failed(const run_t *run, const char *recv,
                      const injection_t *inj)
{
    char want[256];
    long pid = reported_pid(run->r.err, recv, 0);

    assert_true(pid > 0 && pid != inj->pid);
    snprintf(want, sizeof(want),
             "flowrun: error: node '%s' instance 0 (pid %ld) exited with "
             "status 1\n",
             recv, pid);
    assert_non_null(strstr(run->r.err, want));
}

/* One fault in one position at one point of the stream. */
static void
check_fault(size_t p, size_t w, size_t k)
{
    const position_t *pos = &positions[p];
    char keys[256], text[2048], want[256], link[128];
    injection_t inj;
    run_t run;
    unsigned fi = pos->fault_inst;

    snprintf(keys, sizeof(keys), "action = %s\nafter = %ld\ncode = %d\n",
             faults[k].action, whens[w].after, faults[k].code);
    make_graph(text, sizeof(text), pos, keys);
    run_graph(&run, 30, text, NULL);
    if (run.r.status != 1 ||
        !find_injection(run.r.err, "f", fi, faults[k].action, &inj))
        fprintf(stderr, "case %s %s %s: status %d\n%s\n", pos->name,
                whens[w].name, faults[k].action, run.r.status, run.r.err);
    assert_int_equal(run.r.status, 1);
    assert_true(find_injection(run.r.err, "f", fi, faults[k].action, &inj));
    check_seen(pos, w, &inj);
    assert_int_equal(count_str(run.r.err, "flowrun: error:"), 1);
    if (faults[k].how) {
        /* The fault's own instance, by its pid, and how it ended. */
        snprintf(want, sizeof(want),
                 "flowrun: error: node 'f' instance %u (pid %ld) %s\n", fi,
                 inj.pid, faults[k].how);
        assert_non_null(strstr(run.r.err, want));
    } else {
        /* The receiver fails (no crash) and names the link. */
        check_receiver_failed(&run, pos->recv, &inj);
        snprintf(link, sizeof(link), "link 'f.out -> %s.in'", pos->recv);
        if (!strcmp(faults[k].action, "badeos")) {
            snprintf(want, sizeof(want),
                     "error: %s: 'f'[%u] sent %llu messages but %llu "
                     "arrived\n",
                     link, fi, inj.seen + 1000003ULL,
                     pos->forward ? inj.seen : 0ULL);
            assert_non_null(find_line(run.r.err, pos->recv, 0, want));
        } else if (!strcmp(faults[k].action, "badsrc")) {
            /* The instance fault.c claims, FAULT_BADSRC_INST. */
            snprintf(want, sizeof(want),
                     "error: malformed message on %s: sender instance "
                     "999999 of %u\n",
                     link, pos->fault_n);
            assert_non_null(find_line(run.r.err, pos->recv, 0, want));
        } else {
            snprintf(want, sizeof(want),
                     "error: malformed message on %s: ", link);
            assert_non_null(find_line(run.r.err, pos->recv, 0, want));
            if (faults[k].reason) {
                strncat(want, faults[k].reason,
                        sizeof(want) - strlen(want) - 2);
                strcat(want, "\n");
                assert_non_null(find_line(run.r.err, pos->recv, 0, want));
            } else {
                char magic[sizeof(want) + 32], trunc[sizeof(want) + 32];
                snprintf(magic, sizeof(magic), "%sbad frame magic\n", want);
                snprintf(trunc, sizeof(trunc), "%struncated frame header\n",
                         want);
                assert_true(find_line(run.r.err, pos->recv, 0, magic) ||
                            find_line(run.r.err, pos->recv, 0, trunc));
            }
        }
    }
    /* Fast: the rest was stopped within the grace period. */
    if (run.t_end - inj.t >= DEATH_TO_EXIT_S)
        fprintf(stderr, "case %s %s %s: %.3fs after the fault\n", pos->name,
                whens[w].name, faults[k].action, run.t_end - inj.t);
    assert_true(run.t_end - inj.t < DEATH_TO_EXIT_S);
    tu_result_release(&run.r);
}

/*
 * Every fault kind, at the start, middle and end of a stream, in a
 * producer, a middle stage and a sink: all 99 combinations. Under the
 * sanitizers, where every run is several times slower, a covering subset:
 * each kind in each position and at each point of the stream, 33 runs.
 */
static void
test_faults_matrix(void **unused)
{
    (void)unused;
    for (size_t p = 0; p < NPOS; p++)
        for (size_t w = 0; w < NWHEN; w++)
            for (size_t k = 0; k < NFAULTS; k++)
                if (!FAULTS_SANITIZED || w == (p + k) % NWHEN)
                    check_fault(p, w, k);
}

/*
 * Data after a producer's end marker: f[1] forwards one message, ends its
 * stream (the marker's count is right: 1) and sends one more frame, while
 * f[0], with ~100 messages of 2 ms each still to go, keeps the collector's
 * input open. The collector fails, naming the link and the producer.
 */
static void
test_faults_data_after_end(void **unused)
{
    const char *want = "error: malformed message on link 'f.out -> out.in': "
                       "data from 'f'[1] after its end\n";
    char text[2048];
    injection_t inj;
    run_t run;

    (void)unused;
    make_graph(text, sizeof(text), &positions[1],
               "action = aftereos\nafter = 1\nwork_us = 2000\n");
    assert_int_equal(run_graph(&run, 30, text, NULL), 1);
    assert_true(find_injection(run.r.err, "f", 1, "aftereos", &inj));
    assert_int_equal(inj.seen, 1); /* mid-stream, not at its end */
    if (!find_line(run.r.err, "out", 0, want))
        fprintf(stderr, "%s\n", run.r.err);
    assert_non_null(find_line(run.r.err, "out", 0, want));
    assert_int_equal(count_str(run.r.err, "flowrun: error:"), 1);
    check_receiver_failed(&run, "out", &inj);
    assert_true(run.t_end - inj.t < DEATH_TO_EXIT_S);
    tu_result_release(&run.r);
}

/* Run the graph `text` (with the fixture plugins) over `transport`: it
 * exits 1, `node`[0] logged the line `want`, and flowrun reported one
 * failure. The caller releases run->r. */
static void
run_fails_at(run_t *run, const char *text, const char *transport,
             const char *node, const char *want)
{
    int st = run_graph(run, 30, text, "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR,
                       "--transport", transport, NULL);

    if (st != 1 || !find_line(run->r.err, node, 0, want))
        fprintf(stderr, "%s:\n%s\n", transport, run->r.err);
    assert_int_equal(st, 1);
    assert_non_null(find_line(run->r.err, node, 0, want));
    assert_int_equal(count_str(run->r.err, "flowrun: error:"), 1);
}

/*
 * Data after the last end marker: f, the only producer of the collector's
 * input, forwards one message, ends its stream (the marker's count is
 * right: 1) and then goes on forwarding ~200 messages at a high-water mark
 * of 1. The collector's input has ended, so it finishes and waits in the
 * exit barrier, where it must still see the frames (it used to hang there,
 * with f blocked at the high-water mark), over both transports.
 */
static void
test_faults_data_after_last_end(void **unused)
{
    const char *text = "[graph]\nname = late\n"
                       "[src]\ntype = range\ncount = 20000\n"
                       "[f]\ntype = fault\naction = aftereos\nafter = 1\n"
                       "[out]\ntype = collect\nmode = count\n"
                       "[links]\npush = src.out -> f.in batch=100 hwm=1\n"
                       "push = f.out -> out.in hwm=1\n";
    const char *want = "error: malformed message on link 'f.out -> out.in': "
                       "data from 'f'[0] after its end\n";
    const char *transports[] = { "ipc", "tcp" };

    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        injection_t inj;
        run_t run;

        run_fails_at(&run, text, transports[t], "out", want);
        assert_true(find_injection(run.r.err, "f", 0, "aftereos", &inj));
        assert_int_equal(inj.seen, 1);
        check_receiver_failed(&run, "out", &inj);
        assert_true(run.t_end - inj.t < DEATH_TO_EXIT_S);
        tu_result_release(&run.r);
    }
}

/* The one failure flowrun reports is instance 0 of `node`. */
static void
assert_only_failure(const run_t *run, const char *node)
{
    char want[160];

    snprintf(want, sizeof(want), "flowrun: error: node '%s' instance 0 ", node);
    assert_int_equal(count_str(run->r.err, "flowrun: error:"), 1);
    assert_non_null(strstr(run->r.err, want));
}

/* Run the graph `text` with the fixture plugins; check that it exits with
 * `status` and that `node`[`inst`] logged the line `want`. The caller
 * releases run->r. */
static void
run_fixture(run_t *run, const char *text, int status, const char *node,
            unsigned inst, const char *want)
{
    int got = run_graph(run, 30, text, "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR,
                        NULL);

    if (got != status || !find_line(run->r.err, node, inst, want))
        fprintf(stderr, "graph:\n%s\nstderr:\n%s\n", text, run->r.err);
    assert_int_equal(got, status);
    assert_non_null(find_line(run->r.err, node, inst, want));
}

/*
 * A pair frame whose header names another sender than the channel's peer
 * (fixture pairsend): a[1] says it is instance 0 on its channel to b[1].
 * b[1] fails, naming the link and both instances; the other pair ends well.
 */
static void
test_faults_pair_wrong_sender(void **unused)
{
    const char *text = "[graph]\nname = pairs\n"
                       "[a]\ntype = pairsend\ninstances = 2\nliar = 1\n"
                       "claim = 0\n"
                       "[b]\ntype = pairsend\ninstances = 2\n"
                       "[links]\npair = a.peer <-> b.peer\n";
    const char *want = "error: malformed message on link 'a.peer <-> "
                       "b.peer': sender instance 0, expected 1\n";
    run_t run;

    (void)unused;
    run_fixture(&run, text, 1, "b", 1, want);
    assert_int_equal(count_str(run.r.err, "flowrun: error:"), 1);
    assert_non_null(strstr(run.r.err, "flowrun: error: node 'b' instance 1 "));
    tu_result_release(&run.r);
}

/*
 * Data after the end of a pair channel (fixture pairsend, late): a[0]
 * forges the end of its side and sends 100000 frames more, far past the
 * high-water mark. b[0] reads to that end, ends its work and must find the
 * frames in the exit barrier, naming the link and a[0], instead of leaving
 * a[0] blocked for ever; the other pair ends well. Over both transports.
 */
static void
test_faults_pair_data_after_end(void **unused)
{
    const char *text = "[graph]\nname = pairs\n"
                       "[a]\ntype = pairsend\ninstances = 2\nliar = 0\n"
                       "late = 100000\n"
                       "[b]\ntype = pairsend\ninstances = 2\n"
                       "[links]\npair = a.peer <-> b.peer\n";
    const char *want = "error: malformed message on link 'a.peer <-> "
                       "b.peer': data from 'a'[0] after its end\n";
    const char *transports[] = { "ipc", "tcp" };

    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        run_t run;

        run_fails_at(&run, text, transports[t], "b", want);
        assert_non_null(
            strstr(run.r.err, "flowrun: error: node 'b' instance 0 "));
        assert_true(run.r.seconds < 10);
        tu_result_release(&run.r);
    }
}

/*
 * An input's sender check at its first value out of range: one frame from
 * sender instance 1 on a link whose producer has one instance (fixture
 * rawsrc; its end marker counts the frame). The consumer fails naming the
 * instance: the per-producer counts and end flags have one entry per
 * producer, and a `>` for `>=` would reach one past them. Claim 0 is the
 * control.
 */
static void
test_faults_sender_one_past(void **unused)
{
#define RAW_GRAPH(claim)                                           \
    "[graph]\nname = raw\n[r]\ntype = rawsrc\nclaim = " claim "\n" \
    "[out]\ntype = collect\nmode = count\n"                        \
    "[links]\npush = r.out -> out.in\n"
    const char *want = "error: malformed message on link 'r.out -> "
                       "out.in': sender instance 1 of 1\n";
    run_t run;

    (void)unused;
    assert_int_equal(run_graph(&run, 30, RAW_GRAPH("0"), "--plugin-path",
                               FLOW_FIXTURE_PLUGIN_DIR, NULL),
                     0);
    assert_string_equal(run.r.out, "1\n");
    tu_result_release(&run.r);
    run_fixture(&run, RAW_GRAPH("1"), 1, "out", 0, want);
    assert_only_failure(&run, "out");
    tu_result_release(&run.r);
#undef RAW_GRAPH
}

/*
 * A producer that ends its output itself (flow_node_close) and returns:
 * the framework's own close at its end sends no second end marker, which
 * the consumer, its input still open for rawsrc[1] (300 ms later), would
 * take for data after the end.
 */
static void
test_faults_closed_output_ends_once(void **unused)
{
    const char *text = "[graph]\nname = raw\n"
                       "[r]\ntype = rawsrc\ninstances = 2\nclose = true\n"
                       "delay_ms = 300\n"
                       "[out]\ntype = collect\nmode = count\n"
                       "[links]\npush = r.out -> out.in\n";
    run_t run;

    (void)unused;
    if (run_graph(&run, 30, text, "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR,
                  NULL) != 0)
        fprintf(stderr, "%s\n", run.r.err);
    assert_int_equal(run.r.status, 0);
    assert_string_equal(run.r.out, "2\n");
    assert_null(strstr(run.r.err, "error"));
    tu_result_release(&run.r);
}

/*
 * A run() node that returns with input unread (fixture quitearly, like a
 * `head`; fixture pairsend with read = false on a pair link): the framework
 * reads the rest so that the producers end, discards it, says how much, and
 * the run succeeds. range sends 300 messages of 10 items from 3 instances;
 * quitearly takes 7. The liar pairsend a[1] sends one honest frame to b[1],
 * which does not read it.
 */
static void
test_faults_unread_input_discarded(void **unused)
{
    const char *push = "[graph]\nname = head\n"
                       "[src]\ntype = range\ninstances = 3\ncount = 3000\n"
                       "[h]\ntype = quitearly\ntake = 7\n"
                       "[links]\npush = src.out -> h.in batch=10 hwm=2\n";
    const char *pair = "[graph]\nname = pairs\n"
                       "[a]\ntype = pairsend\ninstances = 2\nliar = 1\n"
                       "claim = 1\n"
                       "[b]\ntype = pairsend\ninstances = 2\nread = false\n"
                       "[links]\npair = a.peer <-> b.peer\n";
    run_t run;

    (void)unused;
    run_fixture(&run, push, 0, "h", 0,
                "warning: discarded 293 unread messages on port 'in'\n");
    tu_result_release(&run.r);
    run_fixture(&run, pair, 0, "b", 1,
                "warning: discarded 1 unread message on port 'peer'\n");
    assert_int_equal(count_str(run.r.err, "discarded"), 1);
    tu_result_release(&run.r);
}

/*
 * A node that misuses a port and ignores the code (fixture misuse): the
 * call returns FLOW_EPORT, as in the harness (tests/unit/test_harness.c),
 * and the node fails all the same, with the reason the call recorded and
 * the launcher naming it; the run exits 1. Action none is the control;
 * sendfini sends from fini, when the outputs have ended (it was lost, and
 * the run exited 0); nullport names no port (NULL), which the harness
 * refused but a graph's instance died of (SIGSEGV, no reason given);
 * stopout and stopunknown give flow_node_stop_ends_recv a port that is not
 * a pair port (node.h: FLOW_EPORT, node failed).
 */
static void
test_faults_ignored_error_fails(void **unused)
{
    static const struct {
        const char *action, *reason;
    } cases[] = {
        { "none", NULL },
        { "unknownport", "send on unknown port 'nope'" },
        { "sendclosed", "send on port 'out' after its end" },
        { "sendnull", "send of a NULL message on port 'out'" },
        { "sendchannel", "send on port 'out' to channel 1 of 1" },
        { "closechannel", "close of port 'out' channel 1 of 1" },
        { "recvout", "receive on output port 'out'" },
        { "sendfini", "send on port 'out' after its end" },
        { "sendtwice",
          "send on port 'out' of a message already sent or destroyed (a "
          "copy of its pointer kept after flow_node_send or "
          "flow_msg_destroy)" },
        { "nullport", "send on unknown port '(null)'" },
        { "holdout", "hold on output port 'out' (an input only)" },
        { "stopout", "a stop that ends the receives of output port 'out' (a "
                     "pair port only)" },
        { "stopunknown", "a stop that ends the receives of unknown port "
                         "'nope' (a pair port only)" },
    };

    (void)unused;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
#if defined(__SANITIZE_ADDRESS__)
        if (!strcmp(cases[i].action, "sendtwice"))
            continue; /* a use after free there: see below */
#endif
        char text[256], want[160];
        run_t run;

        snprintf(text, sizeof(text),
                 "[graph]\nname = misuse\n"
                 "[m]\ntype = misuse\naction = %s\n"
                 "[c]\ntype = collect\n"
                 "[links]\npush = m.out -> c.in\n",
                 cases[i].action);
        snprintf(want, sizeof(want), "info: misuse: %s returned %s\n",
                 cases[i].action, cases[i].reason ? "FLOW_EPORT" : "0");
        run_fixture(&run, text, cases[i].reason ? 1 : 0, "m", 0, want);
        if (!cases[i].reason) {
            assert_string_equal(run.r.out, "1\n");
        } else {
            snprintf(want, sizeof(want), "error: %s\n", cases[i].reason);
            assert_non_null(find_line(run.r.err, "m", 0, want));
            assert_only_failure(&run, "m");
        }
        tu_result_release(&run.r);
    }

    /* process() that sent its message through a copy of the pointer and
     * left it in *msg_p: the node fails, saying so (the framework reused
     * it as its next receive slot while the pool handed it out again). */
    {
        run_t run;
        int got = run_graph(&run, 30,
                            "[src]\ntype = range\ncount = 5000\n"
                            "[k]\ntype = keepsent\n"
                            "[c]\ntype = collect\nmode = count\n"
                            "[links]\npush = src.out -> k.in batch=7\n"
                            "push = k.out -> c.in\n",
                            "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR, NULL);
        assert_int_equal(got, 1);
#if defined(__SANITIZE_ADDRESS__)
        tu_assert_contains(run.r.err, "AddressSanitizer: heap-use-after-free");
#else
        assert_non_null(find_line(run.r.err, "k", 0,
                                  "error: process() left in *msg_p a "
                                  "message it had sent or destroyed"));
        assert_only_failure(&run, "k");
#endif
        tu_result_release(&run.r);
    }

    /* A message destroyed twice: a crash, as free() gives, not a pool that
     * hands one message out twice from then on. */
    {
        run_t run;
        int got = run_graph(&run, 30,
                            "[m]\ntype = misuse\naction = destroytwice\n"
                            "[c]\ntype = collect\n"
                            "[links]\npush = m.out -> c.in\n",
                            "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR, NULL);
        assert_int_equal(got, 1);
#if defined(__SANITIZE_ADDRESS__)
        /* no pool: the check reads the freed message */
        tu_assert_contains(run.r.err, "AddressSanitizer: heap-use-after-free");
#else
        tu_assert_contains(run.r.err, "flow: flow_msg_destroy: message "
                                      "destroyed twice (or after it was "
                                      "sent)");
        tu_assert_contains(run.r.err, "flowrun: error: node 'm' instance 0 "
                                      "(pid ");
        tu_assert_contains(run.r.err, "was killed by signal SIGABRT (6)");
#endif
        tu_result_release(&run.r);
    }

    /* A message neither sent nor destroyed: nothing wrong for the run, but
     * built with AddressSanitizer an instance looks for leaks before it
     * ends (its _exit would skip LeakSanitizer's look at exit), so that
     * the sanitizer tests catch what a node leaks. */
    {
        const char *ao = getenv("ASAN_OPTIONS");
        bool checked =
            FAULTS_SANITIZED && !(ao && strstr(ao, "detect_leaks=0"));
        run_t run;
        int got = run_graph(&run, 30,
                            "[m]\ntype = misuse\naction = leak\n"
                            "[c]\ntype = collect\n"
                            "[links]\npush = m.out -> c.in\n",
                            "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR, NULL);
        assert_int_equal(got, checked ? 1 : 0);
        if (checked) {
            tu_assert_contains(run.r.err, "LeakSanitizer: detected memory "
                                          "leaks");
            tu_assert_contains(run.r.err, "in misuse_run ");
            tu_assert_contains(run.r.err, "flowrun: error: node 'm' "
                                          "instance 0 (pid ");
        }
        tu_result_release(&run.r);
    }
}

/*
 * A callback that returns a positive code (fixture retcode) breaks the
 * contract (0 or a negative code): the node fails, saying which callback
 * returned what, and the run exits 1. Code 0 is the control; a negative
 * code fails as before, named, or given as its number when it has no name
 * (it said "unknown error").
 */
static void
test_faults_positive_return_fails(void **unused)
{
    static const char *const wheres[] = { "init", "process", "finish" };
    static const int codes[] = { 0, 1, 7, -22, -1000 };

    (void)unused;
    for (size_t w = 0; w < 3; w++)
        for (size_t c = 0; c < sizeof(codes) / sizeof(*codes); c++) {
            char text[512], want[160];
            run_t run;

            snprintf(text, sizeof(text),
                     "[graph]\nname = ret\n"
                     "[src]\ntype = range\ncount = 1000\n"
                     "[r]\ntype = retcode\nwhere = %s\ncode = %d\n"
                     "[c]\ntype = collect\nmode = count\n"
                     "[links]\npush = src.out -> r.in batch=10\n"
                     "push = r.out -> c.in\n",
                     wheres[w], codes[c]);
            if (codes[c] > 0)
                snprintf(want, sizeof(want),
                         "error: %s() returned %d (a callback returns 0 or a "
                         "negative code)\n",
                         wheres[w], codes[c]);
            else if (codes[c] == -22)
                snprintf(want, sizeof(want), "error: %s() returned EINVAL\n",
                         wheres[w]);
            else if (codes[c] < 0) /* no errno, no FLOW_E*: the number */
                snprintf(want, sizeof(want),
                         "error: %s() returned -1000 (no FLOW_E* code nor "
                         "-errno)\n",
                         wheres[w]);
            if (!codes[c]) {
                assert_int_equal(run_graph(&run, 30, text, "--plugin-path",
                                           FLOW_FIXTURE_PLUGIN_DIR, NULL),
                                 0);
                assert_string_equal(run.r.out, "1000\n");
            } else {
                run_fixture(&run, text, 1, "r", 0, want);
                assert_only_failure(&run, "r");
            }
            tu_result_release(&run.r);
        }

    /* A node that failed (flow_node_fail) and returned 0 from process():
     * it gets no more messages, and the run fails at once, not after the
     * whole stream (here an endless one) went through it. */
    run_t run;
    run_fixture(&run,
                "[graph]\nname = ret\n"
                "[src]\ntype = range\ncount = 1e18\n"
                "[r]\ntype = retcode\nwhere = fail\n"
                "[c]\ntype = collect\nmode = count\n"
                "[links]\npush = src.out -> r.in batch=10\n"
                "push = r.out -> c.in\n",
                1, "r", 0, "error: failed at its first message\n");
    assert_null(strstr(run.r.err, "called after failing"));
    assert_only_failure(&run, "r");
    tu_result_release(&run.r);
}

/* A hung instance: stopped by --timeout or by its node's timeout, exit 124
 * naming it, then SIGKILLed (the hang ignores SIGTERM) after the grace. */
static void
test_faults_hang_timeout(void **unused)
{
    (void)unused;
    for (size_t p = 0; p < NPOS; p++)
        for (size_t w = 0; w < NWHEN; w++) {
            const position_t *pos = &positions[p];
            bool node_timeout = (p + w) % 2 == 0;
            char keys[256], text[2048], want[256];
            injection_t inj;
            run_t run;

            snprintf(keys, sizeof(keys), "action = hang\nafter = %ld\n%s",
                     whens[w].after, node_timeout ? "timeout = 1\n" : "");
            make_graph(text, sizeof(text), pos, keys);
            if (node_timeout)
                run_graph(&run, 30, text, NULL);
            else
                run_graph(&run, 30, text, "--timeout", "1", NULL);
            assert_int_equal(run.r.status, 124);
            assert_true(
                find_injection(run.r.err, "f", pos->fault_inst, "hang", &inj));
            check_seen(pos, w, &inj);
            assert_int_equal(count_str(run.r.err, "flowrun: error:"), 1);
            if (node_timeout) {
                /* The first instance of 'f' still running is named: the
                 * hung one, or another one waiting behind it. */
                const char *line = strstr(run.r.err, "flowrun: error: node "
                                                     "'f' instance ");
                unsigned inst = 99;
                long pid = -1;
                assert_non_null(line);
                assert_int_equal(sscanf(line,
                                        "flowrun: error: node 'f' instance "
                                        "%u (pid %ld) timed out after 1s",
                                        &inst, &pid),
                                 2);
                /* It names what else still runs: at least itself. */
                snprintf(want, sizeof(want),
                         "flowrun: error: node 'f' instance %u (pid %ld) "
                         "timed out after 1s (its timeout key); still "
                         "running: ",
                         inst, pid);
                assert_non_null(strstr(run.r.err, want));
                line = strstr(run.r.err, want) + strlen(want);
                snprintf(want, sizeof(want), "f[%u]", inst);
                assert_non_null(strstr(line, want));
                assert_true(strstr(line, want) < strchr(line, '\n'));
                if (inst == pos->fault_inst)
                    assert_int_equal(pid, inj.pid);
                else
                    assert_true(pid > 0 && pid != inj.pid);
            } else {
                snprintf(want, sizeof(want), "f[%u]", pos->fault_inst);
                assert_non_null(strstr(run.r.err,
                                       "flowrun: error: graph 'faults' timed "
                                       "out after 1s; still running: "));
                assert_non_null(strstr(run.r.err, want));
            }
            /* It did wait for the timeout, and not much longer: both
             * timeouts start before the hang. */
            assert_true(run.r.seconds >= 1.0);
            if (run.t_end - inj.t >= 1.0 + DEATH_TO_EXIT_S)
                fprintf(stderr, "hang %s %s: %.3fs after the hang\n", pos->name,
                        whens[w].name, run.t_end - inj.t);
            assert_true(run.t_end - inj.t < 1.0 + DEATH_TO_EXIT_S);
            tu_result_release(&run.r);
        }
}

static char *slurp(const char *path);

/* The "wall_s" of `node`'s instance 0 in the --stats-json file `json`, if
 * its "state" there is "done" (its work ended, in that time); -1 if not. */
static double
json_done_wall(const char *json, const char *node)
{
    char *doc = slurp(json), key[96], state[16];
    const char *at;
    double wall = -1;

    snprintf(key, sizeof(key), "{\"name\": \"%s\",", node);
    if ((at = strstr(doc, key)) && (at = strstr(at, "\"state\": ")) &&
        (sscanf(at, "\"state\": \"%15[^\"]\", \"wall_s\": %lf", state, &wall) !=
             2 ||
         strcmp(state, "done")))
        wall = -1;
    free(doc);
    return wall;
}

/* Run `path` over transport `t` with node f's timeout key at 1 s, or 2,
 * 4, up to 8 s, until f[0] was done within the first half of it (its
 * "wall_s"): then it is not the one to name. On a loaded machine f[0] may
 * not pass its share on in 1 s (with a busy process of nice -15 on its
 * CPU, 1.12 s, "f[0] (waiting for input on port 'in')"), and naming it
 * is right. The last one is returned all the same, in `r`. */
static void
run_f_timeout(tu_result_t *r, const char *path, const char *t)
{
    char *json = tu_temp_file("");

    for (int s = 1;; s *= 2) {
        char set[32];
        double wall;

        snprintf(set, sizeof(set), "f.timeout=%d", s);
        assert_int_equal(truncate(json, 0), 0);
        assert_int_equal(tu_runl(r, 60, path, "--transport", t, "--set", set,
                                 "--stats-json", json, NULL),
                         124);
        wall = json_done_wall(json, "f");
        if (s == 8 || (wall >= 0 && wall < s / 2.0))
            break;
        fprintf(stderr, "%s, %s: f[0] not done in time (%g s), again:\n%s", t,
                set, wall, r->err);
        tu_result_release(r);
    }
    unlink(json);
    free(json);
}

/* A per-node timeout names the instance that hangs, not its sibling that
 * finished and waits at the exit barrier (it named f[0]); a graph timeout
 * lists only what still runs. 20 messages: f[0] must have passed its
 * share on within the second (with 98, it had not at a load average of 15
 * under AddressSanitizer, and was named too); where it did not, the run
 * is tried again with a longer limit (run_f_timeout). */
static void
test_faults_timeout_names_the_hung(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 20000\n"
                              "[f]\ntype = fault\ninstances = 2\n"
                              "instance = 1\naction = hang\nafter = 3\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> f.in hwm=1\n"
                              "push = f.out -> out.in\n");
    tu_result_t r;

    (void)unused;
    run_f_timeout(&r, path, "ipc");
    tu_assert_contains(r.err, "flowrun: error: node 'f' instance 1 (pid ");
    assert_null(strstr(r.err, "instance 0"));
    tu_result_release(&r);

    /* The whole graph: f[0] is done, f[1] and out are not (src waits to
     * send f[1] its end of stream). Over TCP too, where instances say
     * DONE to the rendezvous, not in the done pipe (f[0] was named). */
    for (int tcp = 0; tcp < 2; tcp++) {
        const char *t = tcp ? "tcp" : "ipc";
        char limit[16], want[80];
        /* What the line says holds once every instance runs and f[0] has
         * passed its share on. The graph's timeout counts from the launch:
         * a loaded machine (CI's, at a load average of 12) had not even
         * started them in 1 s ("src[0] (starting), f[0] (starting), f[1]
         * (starting), out[0] (starting)"). Such a run says nothing of the
         * list: again with twice the time, up to 8 s. An f[0] named
         * although done (the bug this checks) is named at every try, and
         * the last one is checked all the same. */
        for (int s = 1;; s *= 2) {
            snprintf(limit, sizeof(limit), "%d", s);
            assert_int_equal(tu_runl(&r, 30, path, "--transport", t,
                                     "--timeout", limit, NULL),
                             124);
            if (s == 8 ||
                (!strstr(r.err, "(starting)") && !strstr(r.err, "f[0]")))
                break;
            fprintf(stderr, "%s, --timeout %d: not all through yet, again:\n%s",
                    t, s, r.err);
            tu_result_release(&r);
        }
        tu_assert_contains(r.err, "flowrun: error: graph '");
        /* What each does, the hung one first: the instance in its own
         * code is the one to look at (src may have sent its end of
         * stream, or wait to send it). */
        snprintf(want, sizeof(want),
                 "timed out after %ss; still running: f[1] (in its own code), ",
                 limit);
        tu_assert_contains(r.err, want);
        tu_assert_contains(r.err, "out[0] (waiting for input on port 'in')\n");
        assert_null(strstr(r.err, "f[0]"));
        assert_true(
            !strstr(r.err, "src[0]") ||
            strstr(r.err, "src[0] (waiting to send on port 'out'), out[0]"));
        tu_result_release(&r);
        run_f_timeout(&r, path, t);
        tu_assert_contains(r.err, "flowrun: error: node 'f' instance 1 (pid ");
        assert_null(strstr(r.err, "instance 0"));
        tu_result_release(&r);
    }
    unlink(path);
    free(path);
}

/* Whether, in `err`, `node`[`inst`] logged `text` followed by a
 * CLOCK_MONOTONIC time (text "... (t=", as slowone's, or the injection
 * of fault action `action` when `text` is NULL) within the first half of a
 * --timeout of `limit` s given after `t0` (on the same clock): then what
 * the timeout lists had at least that half to come about. */
static bool
logged_early(const char *err, const char *node, unsigned inst, const char *text,
             const char *action, double t0, int limit)
{
    injection_t inj;
    const char *p;

    if (!text)
        return find_injection(err, node, inst, action, &inj) &&
               inj.t < t0 + limit / 2.0;
    p = find_line(err, node, inst, text);
    return p && sscanf(p + strlen(text), "%lf", &inj.t) == 1 &&
           inj.t < t0 + limit / 2.0;
}

/*
 * A timeout while an instance is in its finish() or its fini() (slowone
 * finish_ms, fini_ms): it is in its own code. It was said to wait for
 * input: in finish(), had the end of process() not been marked; in fini(),
 * the drain's marker left in place. The graph's limit counts from the
 * launch: on a loaded machine it came before s[0] got there (at a load
 * average of 24, "src[0] (starting), s[0] (starting), out[0] (starting)";
 * with a busy process of nice -20 on its CPU, "s[0] (waiting for input on
 * port 'in')", which is also what the bug said). slowone says when it got
 * there: a run where that was not within the first half of the limit says
 * nothing of the list, and is tried again with twice the time, up to 8 s
 * (s[0] spends 20 s there). The last one is checked all the same.
 */
static void
test_faults_timeout_in_fini(void **unused)
{
    static const char *const where[] = { "finish", "fini" };
    tu_result_t r;

    (void)unused;
    for (int i = 0; i < 2; i++) {
        char text[512], there[64], limit[16];
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 10\n"
                 "[s]\ntype = slowone\nms = 0\n%s_ms = 20000\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npush = src.out -> s.in\n"
                 "push = s.out -> out.in\n",
                 where[i]);
        snprintf(there, sizeof(there),
                 "info: in %s() for 20000 ms (t=", where[i]);
        char *path = tu_temp_file(text);
        for (int t = 1;; t *= 2) {
            double t0 = now_s();
            snprintf(limit, sizeof(limit), "%d", t);
            assert_int_equal(tu_runl(&r, 60, path, "--plugin-path",
                                     FLOW_FIXTURE_PLUGIN_DIR, "--timeout",
                                     limit, NULL),
                             124);
            if (t == 8 || logged_early(r.err, "s", 0, there, NULL, t0, t))
                break;
            fprintf(stderr,
                    "%s, --timeout %d: s[0] not there in time, "
                    "again:\n%s",
                    where[i], t, r.err);
            tu_result_release(&r);
        }
        snprintf(text, sizeof(text),
                 "timed out after %ss; still running: s[0] (in its own code)",
                 limit);
        if (!strstr(r.err, text))
            fail_msg("%s: %s", where[i], r.err);
        tu_result_release(&r);
        unlink(path);
        free(path);
    }
}

/*
 * A timeout while a producer waits for a credit of balance=demand (every
 * worker hung): it waits to send, in the wait of the demand output, not in
 * a send.
 */
static void
test_faults_timeout_demand_send(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 100000\n"
                              "[f]\ntype = fault\ninstances = 2\n"
                              "action = hang\nafter = 3\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> f.in hwm=1 "
                              "balance=demand\n"
                              "push = f.out -> out.in\n");
    tu_result_t r;

    (void)unused;
    /* Both hang within the first half of the limit, or the list says
     * nothing yet: with a busy process of nice -20 on its CPU, neither had
     * by 1 s ("f[0] (waiting for input on port 'in')"). Again with twice
     * the time, up to 8 s; the last one is checked all the same. */
    for (int t = 1;; t *= 2) {
        double t0 = now_s();
        char limit[16];
        snprintf(limit, sizeof(limit), "%d", t);
        assert_int_equal(tu_runl(&r, 60, path, "--timeout", limit, NULL), 124);
        if (t == 8 || (logged_early(r.err, "f", 0, NULL, "hang", t0, t) &&
                       logged_early(r.err, "f", 1, NULL, "hang", t0, t)))
            break;
        fprintf(stderr, "--timeout %d: not both hung in time, again:\n%s", t,
                r.err);
        tu_result_release(&r);
    }
    tu_assert_contains(r.err, "still running: f[0] (in its own code), f[1] "
                              "(in its own code), src[0] (waiting to send on "
                              "port 'out'), out[0] (waiting for input on port "
                              "'in')\n");
    tu_result_release(&r);
    unlink(path);
    free(path);
}

/*
 * A timeout names the port each wait is on: a server waiting for its
 * client on its pair port (flow_node_recv in run()), the client held on
 * its output by a hung consumer (a blocking send), the source behind it.
 * It said only "waiting for input" and "waiting to send", which left a
 * graph of several links (a pair's two ends each waiting for the other)
 * to be guessed.
 */
static void
test_faults_timeout_names_ports(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[cli]\ntype = pairclient\n"
                              "[srv]\ntype = pairserver\n"
                              "[f]\ntype = fault\naction = hang\nafter = 3\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> cli.in hwm=1\n"
                              "pair = cli.srv <-> srv.peer\n"
                              "push = cli.out -> f.in hwm=1\n"
                              "push = f.out -> out.in\n");
    tu_result_t r;
    char limit[16];

    (void)unused;
    /* On a loaded machine the instances may not all be through their
     * start in 1 s, or f[0] not hung yet (with a busy process of nice -20
     * on its CPU: "cli[0] (waiting for input on port 'in')", "f[0]
     * (waiting for input on port 'in')"): a run where f[0] did not hang
     * within the first half of the limit is tried again with twice the
     * time, up to 8 s; the last one is checked all the same. */
    for (int t = 1;; t *= 2) {
        double t0 = now_s();
        snprintf(limit, sizeof(limit), "%d", t);
        assert_int_equal(tu_runl(&r, 60, path, "--plugin-path",
                                 FLOW_FIXTURE_PLUGIN_DIR, "--timeout", limit,
                                 NULL),
                         124);
        if (t == 8 || logged_early(r.err, "f", 0, NULL, "hang", t0, t))
            break;
        fprintf(stderr, "--timeout %d: f[0] not hung in time, again:\n%s", t,
                r.err);
        tu_result_release(&r);
    }
    tu_assert_contains(r.err, "still running: f[0] (in its own code), "
                              "src[0] (waiting to send on port 'out'), "
                              "cli[0] (waiting to send on port 'out'), "
                              "srv[0] (waiting for input on port 'peer'), "
                              "out[0] (waiting for input on port 'in')\n");
    tu_result_release(&r);
    unlink(path);
    free(path);
}

/*
 * A timeout with more instances in their own code than the line has room
 * for: those that do not fit are the "and N more", and no instance of a
 * later rank (out[0], waiting for input) is named after them. A shorter
 * name that still fitted was added after the cut ("... hung_..._[6] (in
 * its own code), out[0] (waiting for input), and 5 more"): the hung ones
 * were the ones left unnamed.
 */
static void
test_faults_timeout_list_cut(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 100000\n"
                              "[hung_worker_with_a_long_descriptive_name]\n"
                              "type = fault\ninstances = 12\n"
                              "action = hang\nafter = 1\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> "
                              "hung_worker_with_a_long_descriptive_name.in "
                              "batch=10\n"
                              "push = hung_worker_with_a_long_descriptive_name"
                              ".out -> out.in\n");
    tu_result_t r;
    const char *line, *more;

    (void)unused;
    assert_int_equal(
        tu_runl(&r, 30, path, "--timeout", "2", "--log-level", "warning", NULL),
        124);
    line = strstr(r.err, "still running: ");
    assert_non_null(line);
    more = strstr(line, " more\n");
    if (!more || strstr(line, "out[0]"))
        fail_msg("not the hung instances first, then the count of the "
                 "others: %.*s",
                 (int)strcspn(line, "\n"), line);
    tu_result_release(&r);
    unlink(path);
    free(path);
}

/*
 * Deaths while every other process is blocked: sending at a high-water
 * mark of one (the fault is the sink of endless producers), or receiving
 * (the fault is the only producer of slow consumers). flowrun still ends
 * within the grace period. Repeated: the stop must not depend on luck.
 */
static void
test_faults_blocked_processes(void **unused)
{
    static const char *const graphs[] = {
        /* Blocked in send: 2 sources, 2 middles, hwm 1, batch 1. */
        "[src]\ntype = range\ninstances = 2\ncount = 1e15\n"
        "[mid]\ntype = jitter\ninstances = 2\n"
        "[f]\ntype = fault\nforward = false\nafter = 300\naction = segv\n"
        "[out]\ntype = collect\nmode = count\n"
        "[links]\npush = src.out -> mid.in batch=1 hwm=1\n"
        "push = mid.out -> f.in hwm=1\npush = f.out -> out.in hwm=1\n",
        /* Blocked in receive: the producer dies, consumers wait. */
        "[src]\ntype = range\ncount = 0\n"
        "[f]\ntype = fault\nemit = 1e15\nafter = 300\naction = kill\n"
        "[mid]\ntype = jitter\ninstances = 3\nmax_us = 100\n"
        "[out]\ntype = collect\nmode = count\n"
        "[links]\npush = src.out -> f.in\n"
        "push = f.out -> mid.in batch=1 hwm=1\npush = mid.out -> out.in\n",
    };
    static const char *const actions[] = { "segv", "kill" };

    (void)unused;
    for (int loop = 0; loop < 4; loop++)
        for (size_t g = 0; g < 2; g++) {
            injection_t inj;
            run_t run;

            assert_int_equal(run_graph(&run, 30, graphs[g], NULL), 1);
            assert_true(find_injection(run.r.err, "f", 0, actions[g], &inj));
            assert_int_equal(inj.seen, 300);
            assert_int_equal(reported_pid(run.r.err, "f", 0), inj.pid);
            if (run.t_end - inj.t >= DEATH_TO_EXIT_S)
                fprintf(stderr, "graph %zu: %.3fs after the death\n", g,
                        run.t_end - inj.t);
            assert_true(run.t_end - inj.t < DEATH_TO_EXIT_S);
            tu_result_release(&run.r);
        }
}

/*
 * A process that is busy (in its process callback) when SIGTERM comes must
 * still stop on SIGTERM once it returns, not block in its next receive
 * until the SIGKILL: with a long grace the run would otherwise take the
 * whole grace period.
 */
static void
test_faults_sigterm_after_busy(void **unused)
{
    const char *text = "[src]\ntype = range\ncount = 1e15\n"
                       "[busy]\ntype = fault\ninstances = 2\ninstance = 0\n"
                       "action = exit\nforward = false\nwork_us = 200000\n"
                       "[out]\ntype = collect\n"
                       "[links]\npush = src.out -> busy.in batch=1 hwm=1\n"
                       "push = busy.out -> out.in\n";
    injection_t inj;
    run_t run;

    (void)unused;
    assert_int_equal(run_graph(&run, 30, text, "--grace", "5", NULL), 1);
    assert_true(find_injection(run.r.err, "busy", 0, "exit", &inj));
    if (run.t_end - inj.t >= 2.0)
        fprintf(stderr,
                "busy[1] ignored SIGTERM: the run ended %.3fs after the "
                "death (grace 5s)\n",
                run.t_end - inj.t);
    assert_true(run.t_end - inj.t < 2.0);
    tu_result_release(&run.r);
}

/*
 * When one instance fails, the others are stopped by the launcher: that is
 * not their failure, and they must not log errors of their own ("process()
 * returned FLOW_EINTR"), so the one line that matters stands alone.
 */
static void
test_faults_bystanders_quiet(void **unused)
{
    const char *text = "[src]\ntype = range\ncount = 1e15\n"
                       "[mid]\ntype = jitter\ninstances = 2\n"
                       "[f]\ntype = fault\nforward = false\nafter = 50\n"
                       "action = exit\n"
                       "[out]\ntype = collect\n"
                       "[links]\npush = src.out -> mid.in batch=1 hwm=1\n"
                       "push = mid.out -> f.in hwm=1\n"
                       "push = f.out -> out.in\n";

    (void)unused;
    for (int loop = 0; loop < 3; loop++) {
        run_t run;

        assert_int_equal(run_graph(&run, 30, text, NULL), 1);
        if (count_str(run.r.err, "error") != 1)
            fprintf(stderr, "stderr:\n%s\n", run.r.err);
        assert_int_equal(count_str(run.r.err, "error"), 1);
        assert_non_null(strstr(run.r.err, "flowrun: error: node 'f' instance "
                                          "0 (pid "));
        tu_result_release(&run.r);
    }
}

/* ---- Signals to flowrun -------------------------------------------------- */

/* Start flowrun on `path` with stdout and stderr to files, with one more
 * option `opt` `arg` (or none if NULL), and the signals of the 0-ended
 * list `ignored` (NULL: none) ignored, as a shell or nohup leaves them.
 * It runs in a process group of its own, as a shell with job control
 * starts a command: in the test's group, which may be orphaned (ctest
 * started in the background by a script), the kernel would discard the
 * SIGTSTP that stops it. */
static pid_t
spawn_ignoring(const char *path, const char *out, const char *err,
               const char *opt, const char *arg, const int *ignored)
{
    pid_t pid;

    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        for (size_t i = 0; ignored && ignored[i]; i++)
            signal(ignored[i], SIG_IGN);
        sigprocmask(SIG_BLOCK, &spawn_block, NULL);
        if (spawn_raise)
            raise(spawn_raise);
        setpgid(0, 0);
        execl(tu_flowrun(), tu_flowrun(), path, opt, arg, (char *)NULL);
        _exit(127);
    }
    spawned = pid;
    return pid;
}

/* spawn_ignoring with no signal ignored. */
static pid_t
spawn_files_with(const char *path, const char *out, const char *err,
                 const char *opt, const char *arg)
{
    return spawn_ignoring(path, out, err, opt, arg, NULL);
}

/* spawn_files_with (the fixture plugins) with standard output to
 * run_tmp/out and standard error to the FIFO run_tmp/err (their paths in
 * `out` and `err`, 128 bytes each), which is opened for reading first (the
 * launcher's open for writing then does not wait) and left unread: its
 * descriptor in `*rfd`. */
static pid_t
spawn_stderr_unread(const char *path, char *out, char *err, int *rfd)
{
    snprintf(out, 128, "%s/out", run_tmp);
    snprintf(err, 128, "%s/err", run_tmp);
    assert_int_equal(mkfifo(err, 0600), 0);
    *rfd = open(err, O_RDONLY | O_NONBLOCK);
    assert_true(*rfd >= 0);
    return spawn_files_with(path, out, err, "--plugin-path",
                            FLOW_FIXTURE_PLUGIN_DIR);
}

/* The whole file at `path`, NUL-terminated (malloc'ed). */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t len = 0, room = 1 << 16;
    char *buf = malloc(room);

    assert_non_null(f);
    assert_non_null(buf);
    for (size_t n; (n = fread(buf + len, 1, room - len - 1, f)) > 0;) {
        len += n;
        if (room - len - 1 == 0) {
            buf = realloc(buf, room *= 2);
            assert_non_null(buf);
        }
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Wait until `n` processes run `path` (flowrun and its instances), and
 * the guard of the run's process group (a fork of flowrun). */
static void
wait_procs(const char *path, int n)
{
    double limit = now_s() + 20;

    while (tu_count_procs(path) < n + 1) {
        assert_true(now_s() < limit);
        usleep(10000);
    }
}

/* waitpid with a deadline; returns the wait status. */
static int
wait_exit(pid_t pid, double seconds)
{
    double limit = now_s() + seconds;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            spawned = 0;
            return status;
        }
        assert_int_equal(r, 0);
        if (now_s() > limit) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            spawned = 0;
            fail_msg("flowrun did not exit within %gs", seconds);
        }
        usleep(5000);
    }
}

/* Fill `out` and `err` with the paths of run_tmp/out and run_tmp/err and
 * start flowrun on `path` writing to them, with the fixture plugins. */
static pid_t
spawn_run(const char *path, char out[128], char err[128])
{
    snprintf(out, 128, "%s/out", run_tmp);
    snprintf(err, 128, "%s/err", run_tmp);
    return spawn_files_with(path, out, err, "--plugin-path",
                            FLOW_FIXTURE_PLUGIN_DIR);
}

/* Once `nprocs` processes run `path`, and 0.3 s more, send `sig` to its
 * flowrun `pid`. Returns the wait status, and in `*secs` how long flowrun
 * took to exit after the signal (at most 20 s). */
static int
stop_running(const char *path, pid_t pid, int nprocs, int sig, double *secs)
{
    double t;
    int status;

    wait_procs(path, nprocs);
    usleep(300000);
    t = now_s();
    assert_int_equal(kill(pid, sig), 0);
    status = wait_exit(pid, 20);
    *secs = now_s() - t;
    return status;
}

/* flowrun exited `code` (`t` s after a signal, if one stopped it) and its
 * stderr `e` names no error; shows both otherwise. */
static void
assert_exited(int status, double t, const char *e, int code)
{
    if (!WIFEXITED(status) || WEXITSTATUS(status) != code || strstr(e, "error"))
        fprintf(stderr, "status %d after %.3fs, stderr:\n%s\n", status, t, e);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), code);
    assert_null(strstr(e, "error"));
}

/* After a run of `path`: none of its processes is left and its run
 * directory is gone. Removes `out` and `err`. The processes the guard
 * kills with the run's group as flowrun ends may still be dying when it
 * has exited: with two busy loops of nice -20 on the test's CPU, chatter's
 * child (stop_stats_after_relay) was still there, runnable, in 2 runs of
 * 4, and gone soon after. They get up to 5 s; one left behind lives on
 * (that one for its 60 s). */
static void
run_cleanup(const char *path, const char *out, const char *err)
{
    for (double limit = now_s() + 5;
         tu_count_procs(path) != 0 && now_s() < limit;)
        usleep(10000);
    assert_int_equal(tu_count_procs(path), 0);
    unlink(out);
    unlink(err);
    assert_int_equal(dir_entries(run_tmp), 0);
}

/* Run `small` (a graph whose output is 0 to 4, one a line) with the
 * signals of the 0-ended `ignored` ignored, to its end: exit 0, no error,
 * that output, nothing left. Uses and removes `out` and `err`. */
static void
assert_counts_to_five(const char *small, const int *ignored, const char *out,
                      const char *err)
{
    int status =
        wait_exit(spawn_ignoring(small, out, err, NULL, NULL, ignored), 20);
    char *o = slurp(out), *e = slurp(err);

    assert_exited(status, 0, e, 0);
    assert_string_equal(o, "0\n1\n2\n3\n4\n");
    run_cleanup(small, out, err);
    free(o);
    free(e);
}

/* The items that node `node`'s instance 0 sent on its first output, read
 * from the statistics (--stats-json) in `json`; -1 if not found. */
static long long
json_items_sent(const char *json, const char *node)
{
    char *doc = slurp(json), key[96];
    const char *at;
    long long n = -1;

    snprintf(key, sizeof(key), "{\"name\": \"%s\",", node);
    if ((at = strstr(doc, key)) && (at = strstr(at, "\"out_items\": ")))
        n = strtoll(at + strlen("\"out_items\": "), NULL, 10);
    free(doc);
    return n;
}

/* Stop the run of `path` (flowrun `pid`) with `sig` once `nprocs`
 * processes run it, and check the graceful stop of a counting graph: exit
 * 128 + `sig` within `max_s` s, no error, a count written that is a
 * positive multiple of `batch` and said to be partial, nothing left.
 * Removes `out` and `err`. With `json` (the run's --stats-json) and its
 * source `src`: a count of 0, or none (the stop read before the instances
 * started), is a stop that came before `src` sent anything; then false is
 * returned, only the exit and the cleanup checked, for the caller to try
 * again. No count, or 0, after `src` sent is a failure (what was in flight
 * was lost). */
/* sigabbrev_np's name of `sig`, and flowrun's of the real-time signals
 * test_faults_signal_drains sends, which glibc does not name. */
static const char *
sig_name(int sig)
{
    return sig == SIGRTMIN   ? "RTMIN"
           : sig == SIGRTMAX ? "RTMAX"
                             : sigabbrev_np(sig);
}

static bool
assert_stop_counts_of(const char *path, pid_t pid, int nprocs, int sig,
                      long long batch, double max_s, const char *out,
                      const char *err, const char *json, const char *src)
{
    long long count = -1, sent = -1;
    double t;
    int status = stop_running(path, pid, nprocs, sig, &t);
    char *o = slurp(out), *e = slurp(err);

    char notice[160];

    assert_exited(status, t, e, 128 + sig);
    int got = sscanf(o, "%lld", &count);
    if (json && (got != 1 || count == 0)) {
        sent = json_items_sent(json, src);
        fprintf(stderr, "SIG%s: output '%s', %s sent %lld items\n",
                sig_name(sig), o, src, sent);
        assert_int_equal(sent, 0);
        run_cleanup(path, out, err);
        free(o);
        free(e);
        return false;
    }
    assert_int_equal(got, 1);
    assert_true(count > 0);
    assert_int_equal(count % batch, 0);
    assert_true(t < max_s);
    /* The count is said to be a partial one. */
    snprintf(notice, sizeof(notice),
             "' stopped by SIG%s before its end: the output holds what "
             "reached the sinks until then\n",
             sig_name(sig));
    assert_non_null(strstr(e, notice));
    /* and said at once that the stop began */
    snprintf(notice, sizeof(notice), "flowrun: SIG%s: stopping graph '",
             sig_name(sig));
    assert_non_null(strstr(e, notice));
    run_cleanup(path, out, err);
    free(o);
    free(e);
    return true;
}

static void
assert_stop_counts(const char *path, int nprocs, int sig, long long batch,
                   double max_s, char out[128], char err[128])
{
    char *json = tu_temp_file("");

    /* The stop comes 0.3 s after the processes appear: on a loaded
     * machine (CI's, a load average of 12), before the source had sent a
     * thing, and the count was 0 ("count > 0" failed). Nothing was in
     * flight then: the statistics must say the source sent nothing, and
     * the stop is tried again (up to 3 times); a count of 0 after the
     * source sent fails. The fixture plugins through the environment: the
     * one option spawn_files_with passes is --stats-json. */
    snprintf(out, 128, "%s/out", run_tmp);
    snprintf(err, 128, "%s/err", run_tmp);
    assert_int_equal(setenv("FLOW_PLUGIN_PATH", FLOW_FIXTURE_PLUGIN_DIR, 1), 0);
    for (int try = 0;; try++) {
        /* no statistics of the run before read as this one's */
        assert_int_equal(truncate(json, 0), 0);
        if (assert_stop_counts_of(
                path, spawn_files_with(path, out, err, "--stats-json", json),
                nprocs, sig, batch, max_s, out, err, json, "src"))
            break;
        assert_true(try < 2);
    }
    unsetenv("FLOW_PLUGIN_PATH");
    unlink(json);
    free(json);
}

/*
 * SIGINT, SIGTERM and SIGHUP (the terminal gone) mid-run: the source ends
 * its stream, what is in flight drains to the sink (whole messages: a
 * multiple of the batch), the count is written, exit 130, 143 or 129,
 * nothing left behind. The same for the other signals that end a process
 * by default, SIGALRM, SIGUSR2, SIGPWR, SIGIO, SIGSTKFLT and the real-time
 * signals (they killed the launcher, which left its run directory behind:
 * kill -IO, kill -RTMIN, exit 157 and 162 with a flow-XXXXXX left in
 * TMPDIR).
 */
static void
test_faults_signal_drains(void **unused)
{
    const int sigs[] = { SIGINT, SIGTERM, SIGHUP,    SIGALRM,  SIGUSR2,
                         SIGPWR, SIGIO,   SIGSTKFLT, SIGRTMIN, SIGRTMAX };
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[mid]\ntype = jitter\nmax_us = 300\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in batch=1000\n"
                              "push = mid.out -> out.in\n");
    char out[128], err[128];

    (void)unused;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        assert_stop_counts(path, 4, sigs[i], 1000, 10, out, err);
    unlink(path);
    free(path);
}

/*
 * A graceful stop is told to the nodes it concerns, those without a push
 * input: a worker fed by a push input goes on until its input ends, so no
 * stop notice (SIGUSR1) may interrupt its own blocking calls. The worker
 * here (fixture strictwait) spends its time in a nanosleep per message and
 * fails on EINTR, as most code does on an interrupted read: it failed the
 * run (exit 1, "wait: Interrupted system call") instead of draining. The
 * link into the workers has a small hwm: with the default (1000 messages
 * of 100 items at each end) a worker had up to 2,000 messages of 2 ms to
 * drain, over 4 s, and under load the drain outlasted the 5 s a stop
 * waits before it stops the graph by force (SIGTERM, which this worker
 * also takes for an error).
 */
static void
test_faults_signal_spares_workers(void **unused)
{
    static const int sigs[] = { SIGINT, SIGTERM };
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[mid]\ntype = strictwait\nus = 2000\n"
                              "instances = 2\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in batch=100 "
                              "hwm=20\n"
                              "push = mid.out -> out.in\n");
    char out[128], err[128];

    (void)unused;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        assert_stop_counts(path, 5, sigs[i], 100, 10, out, err);
    unlink(path);
    free(path);
}

/*
 * A stop sent to every process of the run at once, as systemctl stop
 * signals a service's control group (KillMode=control-group, the default):
 * flowrun and its instances all get SIGTERM. The instances' 143 is the
 * stop's, not a failure: exit 143, the output said to be cut short, no
 * error. Each instance was reported as "stopped by a SIGTERM that flowrun
 * did not send" and the run exited 1. Three times: flowrun signalled last,
 * then first, then 50 ms after its instances (the sender held by the
 * scheduler between its kills: the instances end before flowrun's signal
 * comes).
 */
static void
test_faults_stop_whole_group(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[mid]\ntype = jitter\nmax_us = 300\n"
                              "instances = 2\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in\n"
                              "push = mid.out -> out.in\n");
    char out[128], err[128], *e;

    (void)unused;
    for (int order = 0; order < 3; order++) {
        pid_t pid = spawn_run(path, out, err), pids[32];
        int n, status;
        double t;

        wait_procs(path, 5);
        usleep(300000);
        n = tu_find_procs(path, pids, 32);
        assert_true(n >= 5 && n <= 32);
        t = now_s();
        if (order == 1)
            assert_int_equal(kill(pid, SIGTERM), 0);
        for (int i = 0; i < n; i++)
            if (pids[i] != pid)
                kill(pids[i], SIGTERM); /* may have ended meanwhile */
        if (order == 2)
            usleep(50000);
        if (order != 1)
            assert_int_equal(kill(pid, SIGTERM), 0);
        status = wait_exit(pid, 20);
        t = now_s() - t;
        e = slurp(err);
        assert_exited(status, t, e, 143);
        tu_assert_contains(e, "stopped by SIGTERM before its end, its "
                              "instances killed: the output is cut short");
        assert_null(strstr(e, "did not send"));
        run_cleanup(path, out, err);
        free(e);
    }
    unlink(path);
    free(path);
}

/* Wait up to 20 s until the file at `path` is there and holds `text`,
 * while flowrun `pid` runs; fails showing `err` (its standard error's
 * file) if it does not. */
static void
wait_text(pid_t pid, const char *path, const char *text, const char *err)
{
    double limit = now_s() + 20;

    for (;;) {
        /* not there before the child opens it */
        char *got = access(path, F_OK) ? strdup("") : slurp(path);
        bool there = strstr(got, text) != NULL;
        int status;
        free(got);
        if (there)
            return;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            spawned = 0;
            got = slurp(err);
            fail_msg("flowrun ended (%s) before '%s' was in %s:\n%s",
                     tu_child_status(status), text, path, got);
        }
        if (now_s() > limit) {
            got = slurp(err);
            fail_msg("no '%s' in %s after 20 s:\n%s", text, path, got);
        }
        usleep(10000);
    }
}

/* A graph of a source of type `type` into a collect, stopped by SIGINT once
 * it runs and `ready` is in its standard output (`in_err` false) or error:
 * exit 130 within 2.5 s (not the hard stop 5 s later), nothing killed, no
 * error, and `want` the output. A stop 0.3 s after the processes appeared
 * came, at a load average of 24, before the source had started (fdwait's
 * output was "", not "1\n2\n"). */
static void
assert_prompt_stop(const char *type, const char *ready, bool in_err,
                   const char *want)
{
    char graph[256], out[128], err[128], *path, *e, *o;
    double t;
    int status;
    pid_t pid;

    snprintf(graph, sizeof(graph),
             "[src]\ntype = %s\n[out]\ntype = collect\n"
             "[links]\npush = src.out -> out.in\n",
             type);
    path = tu_temp_file(graph);
    pid = spawn_run(path, out, err);
    wait_text(pid, in_err ? err : out, ready, err);
    t = now_s();
    assert_int_equal(kill(pid, SIGINT), 0);
    status = wait_exit(pid, 20);
    t = now_s() - t;
    e = slurp(err);
    o = slurp(out);
    assert_exited(status, t, e, 130);
    if (t > 2.5)
        fail_msg("flowrun took %.2f s to stop:\n%s", t, e);
    assert_null(strstr(e, "killed"));
    assert_string_equal(o, want);
    run_cleanup(path, out, err);
    free(e);
    free(o);
    unlink(path);
    free(path);
}

/*
 * flow_node_wait_fd ends at a stop that came before the wait (fixture
 * fdwait takes it while busy, then waits on an empty pipe): the node ends
 * at once, its finish() runs (it sends 2). A blocking read (or a plain
 * poll) there waits until the hard stop 5 s later, which kills the
 * instances and cuts the output. The fixture also checks the wait's time
 * limit and readiness, and puts flow_node_wait_fds (two pipes) through the
 * same steps.
 */
static void
test_faults_wait_fd_stop(void **unused)
{
    (void)unused;
    assert_prompt_stop("fdwait", "1\n", false, "1\n2\n");
}

/*
 * A graceful stop that ends a wait in a source's init() (fixture initwait
 * returns the FLOW_EINTR of flow_node_wait_fd, as the guide says of a
 * stop): the run ends with no output and no error; neither run(),
 * finish() nor fini() runs. It failed the node instead ("init() returned
 * FLOW_EINTR", exit 1). The stop comes once initwait says it waits: one
 * that came before init() would pass without a wait to end.
 */
static void
test_faults_init_wait_stop(void **unused)
{
    (void)unused;
    assert_prompt_stop("initwait", "info: waiting in init()\n", true, "");
}

/*
 * A lines source (its keys `keys`) reading a FIFO into a collect (its keys
 * `out_keys`), stopped by SIGINT, then by SIGTERM, once 3 processes run it:
 * with `written` not NULL, a writer that stays has written that much. Exit
 * 130 or 143, no error, output `want`, nothing left.
 */
static void
lines_fifo_stops(const char *keys, const char *out_keys, const char *written,
                 const char *want)
{
    static const int sigs[] = { SIGINT, SIGTERM };
    char fifo[128], text[512], out[128], err[128], *path;

    snprintf(fifo, sizeof(fifo), "%s/in.fifo", run_tmp);
    snprintf(text, sizeof(text),
             "[src]\ntype = lines\npath = %s\n%s"
             "[out]\ntype = collect\n%s"
             "[links]\npush = src.out -> out.in\n",
             fifo, keys, out_keys);
    path = tu_temp_file(text);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        double t;
        int status, fd = -1;
        char *o, *e;

        assert_int_equal(mkfifo(fifo, 0600), 0);
        if (written) {
            fd = open(fifo, O_RDWR); /* a writer that stays */
            assert_true(fd >= 0);
            assert_int_equal(write(fd, written, strlen(written)),
                             (ssize_t)strlen(written));
        }
        status = stop_running(path, spawn_run(path, out, err), 3, sigs[i], &t);
        if (fd >= 0)
            close(fd);
        o = slurp(out);
        e = slurp(err);
        assert_exited(status, t, e, 128 + sigs[i]);
        assert_string_equal(o, want);
        unlink(fifo);
        run_cleanup(path, out, err);
        free(o);
        free(e);
    }
    unlink(path);
    free(path);
}

/*
 * A lines source reading a FIFO that no one has opened for writing yet
 * waits in its open; SIGINT or SIGTERM then is a stop like any other:
 * exit 130 or 143, no error, the count (0) written, nothing left. The
 * interrupted open failed the node: exit 1, "cannot open '...':
 * Interrupted system call".
 */
static void
test_faults_signal_lines_fifo_no_writer(void **unused)
{
    (void)unused;
    lines_fifo_stops("", "mode = count\n", NULL, "0\n");
}

/*
 * The lines a lines source read before a stop that came while it waited
 * for more (a writer that keeps its pipe open, as tail -f does) reach the
 * sink: exit 130 or 143, no error, the three lines written. They were held
 * in the unfinished message of 100 lines and lost: the output was empty.
 */
static void
test_faults_signal_lines_read_kept(void **unused)
{
    (void)unused;
    lines_fifo_stops("chunk = 100\n", "", "one\ntwo\nthree\n",
                     "one\ntwo\nthree\n");
}

/*
 * A node whose own code leaves a line unfinished on its standard error
 * (progress without a newline, a partial write) and then fails: the
 * framework's error line starts a line of its own, with its prefix. It was
 * glued to the node's text ("talk[0] (pid N) abc...error: told to fail").
 * So after a line longer than the relay passes whole (cut in pieces).
 */
static void
test_faults_log_after_partial_line(void **unused)
{
    static const int sizes[] = { 30, 10000 };

    (void)unused;
    for (size_t k = 0; k < 2; k++) {
        char text[256];
        tu_result_t r;
        size_t n, letters = 0;
        char **lines;

        snprintf(text, sizeof(text),
                 "[talk]\ntype = chatter\nbytes = %d\nchunk = 1000\n"
                 "pause_ms = 0\nfail = true\n"
                 "[out]\ntype = collect\n"
                 "[links]\npush = talk.out -> out.in\n",
                 sizes[k]);
        assert_int_equal(tu_run_graph(&r, 30, text, "--plugin-path",
                                      FLOW_FIXTURE_PLUGIN_DIR, NULL),
                         1);
        lines = tu_lines(r.err, &n);
        for (size_t i = 0; i < n; i++) {
            const char *l = lines[i], *body;
            if (strncmp(l, "talk[0] (pid ", 13))
                continue;
            body = strstr(l, ") ") + 2;
            if (!strcmp(body, "error: told to fail")) {
                assert_int_equal(letters, (size_t)sizes[k]);
                letters = SIZE_MAX; /* seen, after every letter */
                continue;
            }
            for (const char *c = body; *c; c++, letters++)
                assert_int_equal(*c, 'a' + letters % 26);
        }
        if (letters != SIZE_MAX)
            fail_msg("no line 'talk[0] (pid N) error: told to fail' after "
                     "%zu letters:\n%s",
                     letters, r.err);
        free(lines);
        tu_result_release(&r);
    }
}

/*
 * The launcher's standard error closed under it (flowrun ... 2>&1
 * >file | head -1): the logs it relays go nowhere, and the run goes on to
 * its end: exit 0, the output whole, nothing left behind (SIGPIPE killed
 * the launcher, which left its run directory and no output).
 */
static void
test_faults_stderr_closed(void **unused)
{
    char *path = tu_temp_file("[talk]\ntype = chatter\nbytes = 200000\n"
                              "chunk = 100\npause_ms = 1\n"
                              "[src]\ntype = range\ncount = 1000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[tout]\ntype = collect\nmode = count\n"
                              "[links]\npush = talk.out -> tout.in\n"
                              "push = src.out -> out.in\n");
    char out[128];
    int fds[2], status;
    pid_t pid;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || dup2(o, 1) < 0 || dup2(fds[1], 2) < 0)
            _exit(126);
        close(fds[0]);
        close(fds[1]);
        setpgid(0, 0);
        execl(tu_flowrun(), tu_flowrun(), path, "--plugin-path",
              FLOW_FIXTURE_PLUGIN_DIR, (char *)NULL);
        _exit(127);
    }
    spawned = pid;
    close(fds[0]); /* no reader: a write to it is SIGPIPE, or EPIPE */
    close(fds[1]);
    status = wait_exit(pid, 30);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *o = slurp(out);
    /* both sinks' counts, in either order */
    assert_true(!strcmp(o, "0\n1000\n") || !strcmp(o, "1000\n0\n"));
    free(o);
    assert_int_equal(tu_count_procs(path), 0);
    unlink(out);
    assert_int_equal(dir_entries(run_tmp), 0);
    unlink(path);
    free(path);
}

/*
 * flowrun's standard error and output left non-blocking (O_NONBLOCK on the
 * pipes, as a libuv parent such as Node.js leaves them) and read slowly:
 * every byte still arrives. The relay dropped what the pipe had no room
 * for (EAGAIN) and the run exited 0: 3,170 of 20,000 lines of a node's
 * stderr arrived. collect failed ("cannot write to 'stdout': Resource
 * temporarily unavailable", exit 1) after 9,011 of 300,000 lines.
 */
static void
test_faults_nonblocking_std_fds(void **unused)
{
    char *path = tu_temp_file("[talk]\ntype = chatter\nbytes = 200000\n"
                              "chunk = 1000\npause_ms = 0\n"
                              "[tout]\ntype = collect\nmode = count\n"
                              "[src]\ntype = range\ncount = 100000\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = talk.out -> tout.in\n"
                              "push = src.out -> out.in\n");
    int pout[2], perr[2], status;
    size_t len[2] = { 0, 0 }, cap[2] = { 1 << 16, 1 << 16 }, letters = 0;
    char *buf[2] = { malloc(cap[0]), malloc(cap[1]) };
    pid_t pid;

    (void)unused;
    assert_non_null(buf[0]);
    assert_non_null(buf[1]);
    assert_int_equal(pipe(pout), 0);
    assert_int_equal(pipe(perr), 0);
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
            _exit(126);
        close(pout[0]);
        close(pout[1]);
        close(perr[0]);
        close(perr[1]);
        fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
        fcntl(2, F_SETFL, fcntl(2, F_GETFL) | O_NONBLOCK);
        setpgid(0, 0);
        execl(tu_flowrun(), tu_flowrun(), path, "--plugin-path",
              FLOW_FIXTURE_PLUGIN_DIR, (char *)NULL);
        _exit(127);
    }
    spawned = pid;
    close(pout[1]);
    close(perr[1]);
    usleep(500000); /* both pipes full by now */
    for (int open_fds = 2; open_fds > 0;) {
        struct pollfd pfd[2] = { { pout[0], POLLIN, 0 },
                                 { perr[0], POLLIN, 0 } };
        assert_true(poll(pfd, 2, 20000) > 0);
        for (int i = 0; i < 2; i++) {
            ssize_t n;
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            if (cap[i] - len[i] < 1024) {
                buf[i] = realloc(buf[i], cap[i] *= 2);
                assert_non_null(buf[i]);
            }
            /* slowly: 1 KiB a millisecond at most */
            n = read(pfd[i].fd, buf[i] + len[i], 1024);
            assert_true(n >= 0);
            if (n == 0) {
                close(pfd[i].fd);
                if (i == 0)
                    pout[0] = -1;
                else
                    perr[0] = -1;
                open_fds--;
            }
            len[i] += (size_t)n;
            usleep(1000);
        }
    }
    status = wait_exit(pid, 30);
    buf[0][len[0]] = buf[1][len[1]] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        print_message("%s\n%s", tu_child_status(status),
                      buf[1] + (len[1] > 2000 ? len[1] - 2000 : 0));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the letters of talk's one long line, passed on in pieces */
    for (char *line = buf[1], *nl; *line; line = nl + 1) {
        char *at = strstr(line, ") ");
        nl = strchr(line, '\n');
        assert_non_null(nl);
        if (!strncmp(line, "talk[0] (pid ", 13) && at && at < nl)
            letters += (size_t)(nl - (at + 2));
    }
    assert_int_equal(letters, 200000);
    /* 0 to 99999, one a line, and talk's count 0 */
    {
        size_t n = 0;
        char **lines = tu_lines(buf[0], &n);
        assert_int_equal(n, 100001);
        free(lines);
    }
    free(buf[0]);
    free(buf[1]);
    assert_int_equal(tu_count_procs(path), 0);
    assert_int_equal(dir_entries(run_tmp), 0);
    unlink(path);
    free(path);
}

/*
 * A process of a node's that floods the inherited standard error with short
 * lines, faster than the launcher relays them (a write each): the launcher
 * still supervises the run. It read on while there was more to read, so
 * the run that was over waited for the flood to end (60 s here), and a
 * node's timeout = 1 came seconds late. The run ends, exit 0, and the
 * timeout stops the run, exit 124, each within a few seconds; nothing is
 * left.
 */
static void
test_faults_stderr_flood(void **unused)
{
    static const char *const graphs[2] = {
        "[talk]\ntype = chatter\nbytes = 1\nflood_ms = 60000\n"
        "[tout]\ntype = collect\nmode = count\n"
        "[links]\npush = talk.out -> tout.in\n",
        "[talk]\ntype = chatter\nbytes = 1\nflood_ms = 60000\n"
        "[tout]\ntype = collect\nmode = count\n"
        "[src]\ntype = range\ncount = 1e15\n"
        "[h]\ntype = fault\naction = hang\nafter = 10\ntimeout = 1\n"
        "[links]\npush = talk.out -> tout.in\npush = src.out -> h.in\n"
        "push = h.out -> out.in\n[out]\ntype = collect\nmode = count\n",
    };
    static const int codes[2] = { 0, 124 };

    (void)unused;
    for (int v = 0; v < 2; v++) {
        char *path = tu_temp_file(graphs[v]);
        char out[128], err[128];
        double t;
        int status;
        pid_t drain;
        snprintf(out, sizeof(out), "%s/out", run_tmp);
        /* Its stderr a pipe that is read (a file would grow by GBs). */
        snprintf(err, sizeof(err), "%s/err", run_tmp);
        assert_int_equal(mkfifo(err, 0600), 0);
        fflush(NULL);
        drain = tu_fork();
        assert_true(drain >= 0);
        if (drain == 0) {
            static char buf[1 << 16];
            int fd = open(err, O_RDONLY);
            while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
                ;
            _exit(0);
        }
        t = now_s();
        status = wait_exit(spawn_files_with(path, out, err, "--plugin-path",
                                            FLOW_FIXTURE_PLUGIN_DIR),
                           30);
        t = now_s() - t;
        waitpid(drain, NULL, 0);
        unlink(err);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != codes[v] || t > 6)
            print_message("variant %d: %s after %.1f s\n", v,
                          tu_child_status(status), t);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), codes[v]);
        assert_true(t < 6);
        assert_int_equal(tu_count_procs(path), 0);
        unlink(out);
        assert_int_equal(dir_entries(run_tmp), 0);
        unlink(path);
        free(path);
    }
}

/*
 * Whoever reads flowrun's standard error stops reading (a pager at its
 * first screen, a script that reads stdout to the end first): a node's
 * lines fill the pipe. The launcher waited in its write, so no timeout
 * expired and the instances ran on for as long as nobody read. It queues
 * what it has to say and stops reading the instances' stderr instead: the
 * node's timeout = 2 stops the run while standard error is still unread,
 * every instance and the flood's grandchild gone within seconds (only the
 * launcher left, writing what it holds). Once read, every line is there
 * whole (but the flood's last, which its killed writer left unfinished),
 * the timeout's line among them, and the run exits 124.
 */
static void
test_faults_stderr_unread(void **unused)
{
    char *path = tu_temp_file("[talk]\ntype = chatter\nbytes = 1\n"
                              "flood_ms = 60000\n"
                              "[tout]\ntype = collect\nmode = count\n"
                              "[src]\ntype = range\ncount = 1e15\n"
                              "timeout = 2\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = talk.out -> tout.in\n"
                              "push = src.out -> out.in\n");
    char out[128], err[128], *text = NULL, *line, *next;
    size_t len = 0, cap = 0, lines = 0, floods = 0, timeouts = 0, cut = 0;
    const char *body;
    double t0, t;
    int rfd, status, procs = -1;
    pid_t pid;

    (void)unused;
    t0 = now_s();
    /* Not read until the instances are gone. */
    pid = spawn_stderr_unread(path, out, err, &rfd);
    do {
        usleep(50000);
        t = now_s() - t0;
        procs = tu_count_procs(path);
    } while (procs != 1 && t < 12);
    if (procs != 1)
        print_message("still %d processes of the run after %.1f s with "
                      "stderr unread\n",
                      procs, t);
    assert_int_equal(procs, 1); /* the launcher, stderr unread */
    assert_int_equal(fcntl(rfd, F_SETFL, 0), 0);
    for (;;) {
        ssize_t n;
        if (cap - len < 65536) {
            cap = cap ? 2 * cap : 1 << 20;
            text = realloc(text, cap + 1);
            assert_non_null(text);
        }
        n = read(rfd, text + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    close(rfd);
    status = wait_exit(pid, 30);
    unlink(err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 124);
    assert_true(len > 0 && text[len - 1] == '\n');
    for (line = text; *line; line = next) {
        next = strchr(line, '\n');
        assert_non_null(next);
        *next++ = '\0';
        lines++;
        if (!strncmp(line, "flowrun: ", 9)) {
            timeouts += strstr(line, "node 'src' instance 0 (pid ") &&
                        strstr(line, "timed out after 2s");
            continue;
        }
        /* talk[0] (pid N) flood, or its one letter, or the start of the
         * line the grandchild was writing when the run's end killed it */
        body = strncmp(line, "talk[0] (pid ", 13) ? NULL : strstr(line, ") ");
        if (!body ||
            !(!strcmp(body, ") flood") || !strcmp(body, ") a") ||
              (body[2] && !strncmp(body + 2, "flood", strlen(body + 2)) &&
               !cut++)))
            fail_msg("line %zu mangled: '%.100s'", lines, line);
        floods += !strcmp(body, ") flood");
    }
    assert_int_equal(timeouts, 1);
    assert_true(floods > 1000); /* more than the pipe held */
    free(text);
    run_cleanup(path, out, err);
    unlink(path);
    free(path);
}

/*
 * A stop signal while whoever reads flowrun's standard error has stopped
 * reading (a container's log pipe that stalls, a pager): the signal stops
 * the graph (its instances killed 5 s on, still writing), but the launcher
 * then waited for the reader to take the lines it held, with no limit: it
 * did not end on the SIGTERM (a container runtime's stop), only on a
 * second signal or SIGKILL, which left its run directory. It now gives up
 * what the reader has not taken a second after the instances are gone:
 * exit 143 within the stop's 5 s, its grace and that second, nothing left.
 */
static void
test_faults_stop_stderr_unread(void **unused)
{
    char *path = tu_temp_file("[talk]\ntype = chatter\nbytes = 1e8\n"
                              "chunk = 65536\npause_ms = 0\n"
                              "[tout]\ntype = collect\nmode = count\n"
                              "[links]\npush = talk.out -> tout.in\n");
    char out[128], err[128], buf[65536];
    double limit, t;
    int rfd, status, queued = 0;
    pid_t pid;

    (void)unused;
    /* Not read until flowrun has exited. */
    pid = spawn_stderr_unread(path, out, err, &rfd);
    /* The pipe full: the launcher holds lines it cannot write. */
    limit = now_s() + 20;
    while (ioctl(rfd, FIONREAD, &queued) || queued < 65536) {
        if (now_s() > limit)
            fail_msg("standard error not filled (%d bytes)", queued);
        usleep(10000);
    }
    usleep(300000);
    assert_int_equal(kill(pid, SIGTERM), 0);
    t = now_s();
    status = wait_exit(pid, 20);
    t = now_s() - t;
    if (t > 9)
        print_message("flowrun exited %.1f s after the SIGTERM\n", t);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    assert_true(t < 9);
    while (read(rfd, buf, sizeof(buf)) > 0)
        ;
    close(rfd);
    run_cleanup(path, out, err);
    unlink(path);
    free(path);
}

/*
 * A stop signal bounds the end's writes to a second (STOP_WRITE_S), but
 * only those that wait: a process a node started holds an instance's
 * stderr pipe, so the relay of what the children still had to say takes
 * that second (see the relay's relay_until), and the --stats table, then
 * queued for a standard error that is a file (it never waits), was given
 * up unwritten, as if nobody read it. It is written.
 */
static int children_of(pid_t parent, pid_t *pids, int max);

static void
test_faults_stop_stats_after_relay(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[talk]\ntype = chatter\nbytes = 1\n"
                              "linger_ms = 60000\n"
                              "[said]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n"
                              "push = talk.out -> said.in\n");
    char out[128], err[128], pp[512];
    char *e;
    double secs;
    int status;
    pid_t pid, grandchild = 0;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    snprintf(pp, sizeof(pp), "--plugin-path=%s", FLOW_FIXTURE_PLUGIN_DIR);
    pid = spawn_files_with(path, out, err, "--stats", pp);
    /* flowrun's 4 instances, then chatter's child holding its pipe */
    wait_procs(path, 4);
    for (double limit = now_s() + 20; !grandchild; usleep(10000)) {
        pid_t kids[8];
        int n = children_of(pid, kids, 8);
        for (int i = 0; i < n && !grandchild; i++)
            children_of(kids[i], &grandchild, 1);
        assert_true(grandchild || now_s() < limit);
    }
    status = stop_running(path, pid, 4, SIGTERM, &secs);
    e = slurp(err);
    assert_exited(status, secs, e, 128 + SIGTERM);
    if (!strstr(e, "node[instance]") || !strstr(e, "src[0]"))
        fail_msg("no --stats table after the stop (%.1f s):\n%s", secs, e);
    free(e);
    run_cleanup(path, out, err);
    unlink(path);
    free(path);
}

/*
 * What a node prints to standard output with stdio sits in stdio's buffer
 * until the framework flushes it at the node's end: a full standard output
 * (/dev/full) then fails the node, naming it, instead of exit() flushing it
 * into the void and the run exiting 0. To a file, the line arrives.
 */
static void
test_faults_node_stdout_full(void **unused)
{
    char *path = tu_temp_file("[talk]\ntype = chatter\nbytes = 0\n"
                              "say = hello from talk\n"
                              "[tout]\ntype = collect\nmode = count\n"
                              "output = /dev/null\n"
                              "[links]\npush = talk.out -> tout.in\n");
    char out[128], err[128];

    (void)unused;
    if (access("/dev/full", W_OK) != 0)
        skip();
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    for (int full = 0; full < 2; full++) {
        int status;
        pid_t pid;
        char *o, *e;
        fflush(NULL);
        pid = tu_fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int fo = open(full ? "/dev/full" : out,
                          O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
                _exit(126);
            setpgid(0, 0);
            execl(tu_flowrun(), tu_flowrun(), path, "--plugin-path",
                  FLOW_FIXTURE_PLUGIN_DIR, (char *)NULL);
            _exit(127);
        }
        spawned = pid;
        status = wait_exit(pid, 30);
        e = slurp(err);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != full)
            print_message("full=%d: %s\n%s", full, tu_child_status(status), e);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), full);
        if (full) {
            tu_assert_contains(e, "talk[0] (pid ");
            tu_assert_contains(e, "error: cannot write standard output");
            tu_assert_contains(e, "flowrun: error: node 'talk' instance 0 ");
        } else {
            o = slurp(out);
            assert_string_equal(o, "hello from talk\n");
            free(o);
        }
        free(e);
        assert_int_equal(tu_count_procs(path), 0);
    }
    unlink(out);
    unlink(err);
    assert_int_equal(dir_entries(run_tmp), 0);
    unlink(path);
    free(path);
}

/*
 * A source that fails, saying why, once a graceful stop has ended its
 * sends (fixture sendi64s misuse=3) has failed: exit 1 naming it, not the
 * stop's 130 with its failure dropped.
 */
static void
test_faults_fail_after_stop(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = sendi64s\nmessages = 1000000\n"
                              "batch = 1\nmisuse = 3\n"
                              "[mid]\ntype = jitter\nmax_us = 300\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[words]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.nums -> mid.in\n"
                              "push = mid.out -> out.in\n"
                              "push = src.words -> words.in\n");
    char out[128], err[128], *e;
    double t;
    int status;

    (void)unused;
    status = stop_running(path, spawn_run(path, out, err), 5, SIGINT, &t);
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
        fprintf(stderr, "status %d, stderr:\n%s\n", status, e);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    tu_assert_contains(e, "cannot save its place after the stop");
    tu_assert_contains(e, "'src' instance 0");
    run_cleanup(path, out, err);
    free(e);
    unlink(path);
    free(path);
}

/*
 * A second SIGINT during a slow drain (about 13 s of queued work) stops at
 * once: exit 130, no node reported as failed, the output said to be cut
 * short, nothing left behind. The files of nodes not finished are named as
 * not completed: a file output (collect writes it whole at its end: it is
 * not there afterwards), not standard output or /dev/null (nothing to
 * complete), nor the file of a collect that finished before the stop (it
 * said so of every graph).
 */
static void
second_sigint(const char *output, const char *done_file)
{
    char graph[1024], out[128], err[128], *path, *e, *done, want[512];
    bool file = strcmp(output, "-") && strcmp(output, "/dev/null");
    pid_t pid;
    int status;
    double t, limit;

    snprintf(graph, sizeof(graph),
             "[src]\ntype = range\ncount = 1e15\n"
             "[slow]\ntype = fault\naction = none\nwork_us = 100000\n"
             "[out]\ntype = collect\nmode = count\noutput = %s\n"
             "[early]\ntype = range\ncount = 3\n"
             "[early_out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> slow.in\n"
             "push = slow.out -> out.in\n"
             "push = early.out -> early_out.in\n",
             output, done_file);
    path = tu_temp_file(graph);
    pid = spawn_run(path, out, err);
    wait_procs(path, 4);
    limit = now_s() + 10;
    while (access(done_file, F_OK) < 0) { /* early_out finished */
        assert_true(now_s() < limit);
        usleep(10000);
    }
    usleep(300000);
    assert_int_equal(kill(pid, SIGINT), 0);
    usleep(300000);
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still draining */
    t = now_s();
    assert_int_equal(kill(pid, SIGINT), 0);
    status = wait_exit(pid, 10);
    t = now_s() - t;
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 130 || strstr(e, "error"))
        fprintf(stderr, "status %d after %.3fs, stderr:\n%s\n", status, t, e);
    /* At once, not after the drain's 5 s: 1 s was too short for an ASan
     * build while benchmarks held both CPUs. */
    assert_true(t < 2.5);
    run_cleanup(path, out, err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    assert_null(strstr(e, "error"));
    /* Said to be cut short, not a drained output. */
    snprintf(want, sizeof(want),
             "' stopped by SIGINT before its end, its instances killed: the "
             "output is cut short%s%s%s\n",
             file ? ", and the files of the nodes that had not finished "
                    "were not completed: '"
                  : "",
             file ? output : "", file ? "'" : "");
    tu_assert_contains(e, want);
    assert_null(strstr(e, "the output holds what reached the sinks"));
    if (file) /* not written */
        assert_true(access(output, F_OK) < 0 && errno == ENOENT);
    done = slurp(done_file);
    assert_string_equal(done, "0\n1\n2\n");
    free(done);
    assert_int_equal(unlink(done_file), 0);
    free(e);
    unlink(path);
    free(path);
}

static void
test_faults_second_sigint(void **unused)
{
    char file[] = "/tmp/flow-test-second-sigint-XXXXXX";
    char done[] = "/tmp/flow-test-second-sigint-done-XXXXXX";
    int fd = mkstemp(file), fd2 = mkstemp(done);

    (void)unused;
    assert_true(fd >= 0 && fd2 >= 0);
    close(fd);
    close(fd2);
    assert_int_equal(unlink(file), 0); /* names not there */
    assert_int_equal(unlink(done), 0);
    second_sigint("-", done);
    second_sigint("/dev/null", done);
    second_sigint(file, done);
}

/*
 * Ctrl-\ (SIGQUIT) to flowrun. It killed the launcher by its default
 * action and left the run directory behind (for the next run to clear).
 * Now every instance takes it (their core dumps are off here: the limit
 * on core size is 0), and flowrun exits 131 at once, saying so, with its
 * run directory removed and no process left. Started with SIGQUIT
 * ignored (as `nohup`-like starters may leave it), flowrun leaves it
 * ignored, and so do its instances: the run goes on, and a SIGTERM then
 * stops it as usual. Started with SIGQUIT blocked, flowrun reads it all
 * the same, and its instances take it too: with --grace 10 they had it
 * blocked still, lived on and were killed 10 s later.
 */
static void
test_faults_sigquit(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[slow]\ntype = fault\naction = none\n"
                              "work_us = 100000\ninstances = 2\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> slow.in\n"
                              "push = slow.out -> out.in\n");
    static const int quit[] = { SIGQUIT, 0 };
    struct rlimit core, none;
    char out[128], err[128], *e;
    int status;
    double t;

    (void)unused;
    assert_int_equal(getrlimit(RLIMIT_CORE, &core), 0);
    none = (struct rlimit){ 0, core.rlim_max };
    assert_int_equal(setrlimit(RLIMIT_CORE, &none), 0); /* inherited */
    status = stop_running(path, spawn_run(path, out, err), 5, SIGQUIT, &t);
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 131 || strstr(e, "error"))
        fprintf(stderr, "status %d after %.3fs, stderr:\n%s\n", status, t, e);
    assert_true(t < 5);
    assert_exited(status, t, e, 131);
    tu_assert_contains(e, "flowrun: SIGQUIT: quitting graph '");
    tu_assert_contains(e, "': every instance quits now");
    assert_null(strstr(e, "dumped core"));
    run_cleanup(path, out, err); /* the run directory too */
    free(e);

    pid_t pid = spawn_ignoring(path, out, err, "--plugin-path",
                               FLOW_FIXTURE_PLUGIN_DIR, quit);
    wait_procs(path, 5);
    assert_int_equal(kill(pid, SIGQUIT), 0);
    usleep(300000);
    assert_int_equal(tu_count_procs(path), 6); /* all there */
    status = stop_running(path, pid, 5, SIGTERM, &t);
    e = slurp(err);
    assert_exited(status, t, e, 143);
    assert_null(strstr(e, "SIGQUIT"));
    run_cleanup(path, out, err);
    free(e);

    sigemptyset(&spawn_block);
    sigaddset(&spawn_block, SIGQUIT);
    pid = spawn_ignoring(path, out, err, "--grace", "10", NULL);
    status = stop_running(path, pid, 5, SIGQUIT, &t);
    sigemptyset(&spawn_block);
    assert_int_equal(setrlimit(RLIMIT_CORE, &core), 0);
    e = slurp(err);
    assert_exited(status, t, e, 131);
    assert_true(t < 5);
    tu_assert_contains(e, "flowrun: SIGQUIT: quitting graph '");
    run_cleanup(path, out, err);
    free(e);
    unlink(path);
    free(path);
}

/*
 * SIGQUIT twice. The copy that its sender sends again at once is no
 * second signal (timeout -s QUIT sends it to the command and then to its
 * process group): it killed every instance at once, cutting short the
 * core dumps that the first one asked for. quitter takes SIGQUIT and ends
 * 300 ms after it: with --grace 5 it says so. A second SIGQUIT from
 * another process still kills at once: it never says so.
 */
static void
test_faults_sigquit_echo(void **unused)
{
    char *path = tu_temp_file("[q]\ntype = quitter\nlinger_ms = 300\n");
    char out[128], err[128], *e;
    int status;

    (void)unused;
    snprintf(out, 128, "%s/out", run_tmp);
    snprintf(err, 128, "%s/err", run_tmp);
    assert_int_equal(setenv("FLOW_PLUGIN_PATH", FLOW_FIXTURE_PLUGIN_DIR, 1), 0);
    for (int other = 0; other < 2; other++) {
        pid_t pid = spawn_ignoring(path, out, err, "--grace", "5", NULL);
        wait_text(pid, err, "holding 0 MiB", err);
        assert_int_equal(kill(pid, SIGQUIT), 0);
        wait_text(pid, err, "quitting graph", err);
        if (other) {
            pid_t k = tu_fork();
            assert_true(k >= 0);
            if (k == 0)
                _exit(kill(pid, SIGQUIT) ? 1 : 0);
            assert_int_equal(waitpid(k, &status, 0), k);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        } else {
            assert_int_equal(kill(pid, SIGQUIT), 0);
        }
        status = wait_exit(pid, 20);
        e = slurp(err);
        assert_exited(status, 0, e, 131);
        bool lingered = strstr(e, "lingered 300 ms after SIGQUIT") != NULL;
        if (lingered == (other != 0))
            fail_msg("the second SIGQUIT from %s process: stderr:\n%s",
                     other ? "another" : "the same", e);
        run_cleanup(path, out, err);
        free(e);
    }
    unsetenv("FLOW_PLUGIN_PATH");
    unlink(path);
    free(path);
}

/*
 * SIGQUIT with core dumps on: an instance still writing its core dump
 * after --grace is not killed. It was, and its core was cut short: with
 * the default grace (0.5 s) a 3 GB instance left 158 MB of a 3 GB core,
 * and flowrun did not name it. quitter holds 256 MiB, in a directory of
 * its own (where a core_pattern of a plain file name puts its core), and
 * --grace 0.05 is shorter than the dump: flowrun names it, and its core
 * holds the 256 MiB. Skipped where core dumps go elsewhere (a pipe to a
 * collector, a directory of the system's) or cannot be that big, and
 * built with AddressSanitizer (it turns core dumps off: disable_coredump).
 */
static void
test_faults_sigquit_core_dump(void **unused)
{
    char pattern[256] = "", dir[160], text[512], out[128], err[128], *e;
    char core_path[512] = "";
    struct rlimit core, all;
    FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
    struct dirent *de;
    struct stat st;
    DIR *d;
    int status;
    double t;

    (void)unused;
    if (FAULTS_SANITIZED) {
        if (f)
            fclose(f);
        skip();
    }
    if (f) {
        if (!fgets(pattern, sizeof(pattern), f))
            pattern[0] = '\0';
        fclose(f);
    }
    assert_int_equal(getrlimit(RLIMIT_CORE, &core), 0);
    if (!pattern[0] || pattern[0] == '|' || strchr(pattern, '/') ||
        (core.rlim_max != RLIM_INFINITY && core.rlim_max < (300u << 20))) {
        fprintf(stderr, "core_pattern '%s', hard core limit %llu: skipped\n",
                strtok(pattern, "\n") ? pattern : "", /* no newline */
                (unsigned long long)core.rlim_max);
        skip();
    }
    snprintf(dir, sizeof(dir), "%s/cores", run_tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(text, sizeof(text), "[q]\ntype = quitter\nmb = 256\ndir = %s\n",
             dir);
    char *path = tu_temp_file(text);
    snprintf(out, 128, "%s/out", run_tmp);
    snprintf(err, 128, "%s/err", run_tmp);
    assert_int_equal(setenv("FLOW_PLUGIN_PATH", FLOW_FIXTURE_PLUGIN_DIR, 1), 0);
    all = (struct rlimit){ core.rlim_max, core.rlim_max };
    assert_int_equal(setrlimit(RLIMIT_CORE, &all), 0); /* inherited */
    pid_t pid = spawn_ignoring(path, out, err, "--grace", "0.05", NULL);
    assert_int_equal(setrlimit(RLIMIT_CORE, &core), 0);
    unsetenv("FLOW_PLUGIN_PATH");
    wait_text(pid, err, "holding 256 MiB", err);
    t = now_s();
    assert_int_equal(kill(pid, SIGQUIT), 0);
    status = wait_exit(pid, 60);
    t = now_s() - t;
    e = slurp(err);
    assert_exited(status, t, e, 131);
    tu_assert_contains(e, "flowrun: node 'q' instance 0 (pid ");
    tu_assert_contains(e, ") dumped core\n");
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            snprintf(core_path, sizeof(core_path), "%s/%s", dir, de->d_name);
    closedir(d);
    assert_true(core_path[0]);
    assert_int_equal(stat(core_path, &st), 0);
    unlink(core_path);
    rmdir(dir);
    if ((long long)st.st_blocks * 512 < (256LL << 20))
        fail_msg("a core of %lld bytes on disk, not the 256 MiB held, after "
                 "%.3f s; stderr:\n%s",
                 (long long)st.st_blocks * 512, t, e);
    run_cleanup(path, out, err);
    free(e);
    unlink(path);
    free(path);
}

/*
 * Ctrl-C while the instances are still starting (the first ~50 ms of a
 * run of 150): the run never started, nothing drains, and flowrun exited
 * 130 saying nothing, while the README promises a line at once. It now
 * says "stopped before it started". Each of 3 runs gets SIGINT on its
 * process group once flowrun has forked 3 children; one that happens to
 * start first says it is stopping (both say the signal). Nothing is left.
 */
static void
test_faults_stop_before_start(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 10\n"
                              "instances = 150\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128];
    int before = 0;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    for (int run = 0; run < 3; run++) {
        pid_t kids[8], pid = spawn_files_with(path, out, err, NULL, NULL);
        double limit = now_s() + 20;
        char *e;
        int status;

        while (children_of(pid, kids, 8) < 3) {
            assert_true(now_s() < limit);
            usleep(500);
        }
        assert_int_equal(kill(-pid, SIGINT), 0);
        status = wait_exit(pid, 30);
        e = slurp(err);
        assert_exited(status, 0, e, 130);
        if (strstr(e, "flowrun: SIGINT: graph '"))
            before++;
        else
            tu_assert_contains(e, "flowrun: SIGINT: stopping graph '");
        free(e);
        run_cleanup(path, out, err);
    }
    if (!before)
        print_message("note: every run had started before its SIGINT\n");
    unlink(path);
    free(path);
}

/*
 * GNU timeout(1) sends its signal to the command and then to the command's
 * process group: flowrun gets it twice, microseconds apart, from the same
 * process. The second was taken for "a second signal: kill at once", so
 * `timeout -s INT 60 flowrun ...` killed the instances and lost what
 * reached the sinks. An echo within 0.1 s from the same sender is one
 * stop: the run drains, the count is printed, nothing is said killed.
 * Modelled with two SIGINTs 20 ms apart from this process, then with the
 * real timeout(1) (if there is one). A terminal that hangs up sends SIGHUP
 * to its foreground group and the shell sends it to its jobs: two senders
 * (the kernel, bash), 0.1 ms apart, unless the two merged while pending;
 * closing the terminal of an interactive bash running flowrun killed the
 * instances in 2 runs of 3 ("its instances killed: the output is cut
 * short"). A SIGHUP again within 0.1 s, from anyone, is the same hang-up:
 * modelled with SIGHUP from this process and from a child 20 ms apart.
 * And a job stopped with Ctrl-Z gets SIGHUP then SIGTERM from the hung-up
 * bash, 0.05 ms apart (killed in 2 runs of 2): another signal from the
 * same process within 0.1 s is one stop too, the first one's (129).
 */
static void
test_faults_signal_echo(void **unused)
{
    /* a drain of about 0.25 s (up to 50 messages sent to mid, 5 ms
     * each): the second signal comes during it, not after the end */
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[mid]\ntype = fault\naction = none\n"
                              "work_us = 5000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in batch=1 "
                              "hwm=50 balance=demand\n"
                              "push = mid.out -> out.in\n");
    char out[128], err[128], *o, *e;
    int status, go[2], back[2], again = 0;
    double t, t2;
    pid_t pid, other;

    (void)unused;
    for (int mode = 0; mode < 4; mode++) {
        bool real = mode == 3, hup = mode == 1, hup_term = mode == 2;
        if (real && access("/usr/bin/timeout", X_OK) != 0)
            break;
        snprintf(out, sizeof(out), "%s/out", run_tmp);
        snprintf(err, sizeof(err), "%s/err", run_tmp);
        if (!real) {
            int sig = hup || hup_term ? SIGHUP : SIGINT;
            pid = spawn_files_with(path, out, err, "--progress", NULL);
            /* Once items reach the sink: 0.3 s after the processes
             * appeared, at a load average of 36 under AddressSanitizer,
             * the run had not started ("stopped before it started", no
             * output). */
            if (!tu_wait_sinks(err, 20))
                fail_msg("no item at the sink after 20 s");
            if (hup) { /* the second from another process, forked now */
                assert_int_equal(pipe(go), 0);
                assert_int_equal(pipe(back), 0);
                other = tu_fork();
                assert_true(other >= 0);
                if (other == 0) {
                    char c;
                    int r;
                    if (read(go[0], &c, 1) != 1)
                        _exit(1);
                    r = kill(pid, sig);
                    t2 = now_s();
                    _exit(r || write(back[1], &t2, sizeof(t2)) != sizeof(t2));
                }
                close(go[0]);
                close(back[1]);
            }
            t = now_s();
            assert_int_equal(kill(pid, sig), 0);
            usleep(20000);
            if (hup) {
                assert_int_equal(write(go[1], "", 1), 1);
                assert_int_equal(read(back[0], &t2, sizeof(t2)), sizeof(t2));
                close(go[1]);
                close(back[0]);
                assert_int_equal(waitpid(other, &status, 0), other);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            } else {
                assert_int_equal(kill(pid, hup_term ? SIGTERM : sig), 0);
                t2 = now_s();
            }
            /* Signals further apart are two stops, not one: a loaded
             * machine that ran this process (or the other) that much
             * later tried nothing here; again. With the other process
             * forked between the two, flowrun took the second for another
             * stop in 2 runs of 20 at a load average of 38 (the instances
             * killed); forked before, in none of 19, but under a heavier
             * load (tests of 12 to 44 s instead of 6 to 9) the child
             * still signalled 0.12 to 1.1 s after this process 7 times in
             * 8 runs. */
            if (t2 - t >= 0.1 && ++again <= 10) {
                status = wait_exit(pid, 20);
                print_message("mode %d: the signals %.3f s apart; again\n",
                              mode, t2 - t);
                run_cleanup(path, out, err);
                mode--;
                continue;
            }
        } else {
            fflush(NULL);
            pid = tu_fork();
            assert_true(pid >= 0);
            if (pid == 0) {
                int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
                    _exit(126);
                signal(SIGINT, SIG_DFL);
                execl("/usr/bin/timeout", "timeout", "-s", "INT", "1.5",
                      tu_flowrun(), path, (char *)NULL);
                _exit(127);
            }
            spawned = pid;
            t = now_s() + 1.5;
        }
        status = wait_exit(pid, 20);
        t = now_s() - t;
        o = slurp(out);
        e = slurp(err);
        assert_exited(status, t, e, real ? 124 : hup || hup_term ? 129 : 130);
        if (!strstr(e, "the output holds what reached the sinks") ||
            strstr(e, "killed") || !(o[0] >= '1' && o[0] <= '9'))
            fail_msg("%s: output '%s', stderr:\n%s",
                     real       ? "timeout -s INT"
                     : hup      ? "two SIGHUPs 20 ms apart from two processes"
                     : hup_term ? "SIGHUP then SIGTERM 20 ms apart"
                                : "two SIGINTs 20 ms apart",
                     o, e);
        assert_true(t < 6.0);
        free(o);
        free(e);
        run_cleanup(path, out, err);
        again = 0;
    }
    unlink(path);
    free(path);
}

/*
 * Stops while producers wait for credit on balance=demand links. SIGINT
 * and SIGTERM: the source, waiting for a slow instance to take what it
 * was sent, ends its stream at once, the rest drains: exit 130 or 143, a
 * count that is a multiple of the batch, nothing left. A second SIGINT
 * while the middle node waits for credit from a slow sink (about 1 s a
 * message): exit 130 within a second, nothing left.
 */
static void
test_faults_signal_demand(void **unused)
{
    static const int sigs[] = { SIGINT, SIGTERM };
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[mid]\ntype = fault\naction = none\n"
                              "work_us = 3000\ninstances = 2\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in batch=10 "
                              "balance=demand\n"
                              "push = mid.out -> out.in balance=demand "
                              "hwm=6\n");
    char out[128], err[128], *e;
    pid_t pid;
    int status;
    double t;

    (void)unused;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        assert_stop_counts(path, 5, sigs[i], 10, 10, out, err);
    unlink(path);
    free(path);

    path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                        "[mid]\ntype = jitter\n"
                        "[slow]\ntype = fault\naction = none\n"
                        "work_us = 1000000\n"
                        "[out]\ntype = collect\nmode = count\n"
                        "[links]\npush = src.out -> mid.in batch=1 "
                        "balance=demand\n"
                        "push = mid.out -> slow.in balance=demand\n"
                        "push = slow.out -> out.in\n");
    pid = spawn_run(path, out, err);
    wait_procs(path, 5);
    usleep(300000);
    assert_int_equal(kill(pid, SIGINT), 0);
    usleep(300000);
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still draining */
    t = now_s();
    assert_int_equal(kill(pid, SIGINT), 0);
    status = wait_exit(pid, 10);
    t = now_s() - t;
    e = slurp(err);
    assert_exited(status, t, e, 130);
    /* At once, not after the drain's 5 s (DRAIN_S): 1 s was once too short
     * for an ASan build at a load of 35. */
    assert_true(t < 2.5);
    run_cleanup(path, out, err);
    assert_non_null(strstr(e, "' stopped by SIGINT before its end, its "
                              "instances killed"));
    free(e);
    unlink(path);
    free(path);
}

/*
 * Check that `err` has the line `head` + "(still running: " ... "))" of
 * test_faults_drain_time_limit: slow[0], src[0] waiting to send, out[0]
 * waiting for input. slow[0] is sampled between two 100 ms computations
 * now and then under load ("waiting for input", then listed after src[0],
 * in graph order; CI saw it): either of its two states is right.
 */
static void
assert_drain_list(const char *err, const char *head)
{
    static const char *const lists[] = {
        "slow[0] (in its own code), src[0] (waiting to send on port 'out'), "
        "out[0] (waiting for input on port 'in'))\n",
        "src[0] (waiting to send on port 'out'), slow[0] (waiting for input "
        "on port 'in'), out[0] (waiting for input on port 'in'))\n",
    };
    char want[512];

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        snprintf(want, sizeof(want), "%s(still running: %s", head, lists[i]);
        if (strstr(err, want))
            return;
    }
    snprintf(want, sizeof(want), "%s(still running: %s", head, lists[0]);
    tu_assert_contains(err, want); /* fails, showing the line */
}

/*
 * The count "from sources" in the last progress line (flowrun --progress)
 * of the standard error at `err` that shows items at the sinks, when the
 * line before it showed the same count at least 0.2 s earlier: the sources
 * are blocked on full links (zmq lets one send again only once half its
 * queue is taken: for seconds behind a consumer of 100 ms a message). 0
 * otherwise.
 */
static unsigned long long
sources_blocked(const char *err)
{
    unsigned long long sources = 0, was = 0;
    double t, t_was = -1;
    char *text;

    if (access(err, F_OK) != 0)
        return 0; /* not created yet */
    text = slurp(err);

    /* Each line begins with \r, redrawn over the one before. */
    for (const char *p = text; (p = strstr(p, "flowrun: ")); p++) {
        unsigned long long sinks, from;
        double rate;
        if (sscanf(p,
                   "flowrun: %lfs %llu items at sinks %lg items/s %llu "
                   "from sources",
                   &t, &sinks, &rate, &from) != 4)
            continue;
        sources = sinks && from && from == was && t - t_was >= 0.2 ? from : 0;
        was = from;
        t_was = t;
    }
    free(text);
    return sources;
}

/*
 * Start flowrun on `path` with --progress (and `arg`, an option or NULL),
 * output to run_tmp/out and run_tmp/err (their paths in `out` and `err`),
 * and once the progress lines say that the sources are blocked on full
 * links (sources_blocked, up to 20 s), send `sig`. Returns the wait status,
 * and in `*secs` how long flowrun took to exit after the signal. A fixed
 * 0.3 s after the processes appeared came, at a load average of 36 under
 * AddressSanitizer, before the source had filled its link: its end of
 * stream went through, and it was not among those still running.
 */
static int
stop_when_blocked(const char *path, char out[128], char err[128],
                  const char *arg, int sig, double *secs)
{
    pid_t pid;
    double t, limit = now_s() + 20;
    int status;

    snprintf(out, 128, "%s/out", run_tmp);
    snprintf(err, 128, "%s/err", run_tmp);
    pid = spawn_files_with(path, out, err, "--progress", arg);
    while (!sources_blocked(err)) {
        if (now_s() > limit)
            fail_msg("the sources were not blocked after 20 s");
        usleep(50000);
    }
    t = now_s();
    assert_int_equal(kill(pid, sig), 0);
    status = wait_exit(pid, 20);
    *secs = now_s() - t;
    return status;
}

/*
 * A graph that a graceful stop does not end within 5 s: a slow consumer
 * with about 13 s of queued work (100 ms a message, in a computation that
 * no signal cuts short). 5 s after the signal (DRAIN_S) the launcher says
 * so and stops it hard (SIGTERM, then SIGKILL after the grace): exit 143,
 * nothing left behind. So does a --timeout that expires during the drain.
 */
static void
test_faults_drain_time_limit(void **unused)
{
    char *path = tu_temp_file("[graph]\nname = g\n"
                              "[src]\ntype = range\ncount = 1e15\n"
                              "[slow]\ntype = fault\naction = none\n"
                              "work_us = 100000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> slow.in\n"
                              "push = slow.out -> out.in\n");
    char out[128], err[128], *e;
    pid_t pid;
    int status;
    double t;

    (void)unused;
    status = stop_when_blocked(path, out, err, NULL, SIGTERM, &t);
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 143 || t < 4.9 || t > 8 ||
        !strstr(e, "still running 5 s after the signal"))
        fprintf(stderr, "status %d after %.3fs, stderr:\n%s\n", status, t, e);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    assert_true(t >= 4.9 && t <= 8);
    /* naming what has not ended: src too, whose end of stream waits for
     * room in the full link */
    /* (each with what it does: slow in its computation first, src then
     * waits to send its end of stream, out for input) */
    /* tu_assert_contains: shows the line when it differs (a CI run under
     * AddressSanitizer failed here without saying what the line was) */
    assert_drain_list(e, "flowrun: graph 'g' still running 5 s after the "
                         "signal: stopping it ");
    run_cleanup(path, out, err);
    free(e);

    /* --timeout expiring during the drain: the signal came first and stays
     * the result (it was 124, "timed out"), the drain ends there. */
    status = stop_when_blocked(path, out, err, "--timeout=4", SIGTERM, &t);
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 143 || t > 5)
        fprintf(stderr, "status %d after %.3fs, stderr:\n%s\n", status, t, e);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    assert_true(t <= 5); /* before the drain's own 5 s */
    /* naming what still runs, as a timeout and the drain's own limit do
     * (it named nothing: which node held the run was not said) */
    assert_drain_list(e, "flowrun: graph 'g' still draining at --timeout "
                         "4s: stopping it ");
    tu_assert_contains(e, "stopped by SIGTERM before its end, its instances "
                          "killed");
    assert_null(strstr(e, "timed out"));
    run_cleanup(path, out, err);
    free(e);

    /* With --quiet, neither stop says a word: they are no errors, and the
     * stop's other lines are quiet too (both were printed). */
    static const char *const quiet_timeouts[] = { NULL, "--timeout=4" };
    for (size_t i = 0; i < 2; i++) {
        pid = spawn_files_with(path, out, err, "--quiet", quiet_timeouts[i]);
        status = stop_running(path, pid, 4, SIGTERM, &t);
        e = slurp(err);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 143 || *e)
            fprintf(stderr, "status %d after %.3fs, stderr:\n%s\n", status, t,
                    e);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 143);
        assert_string_equal(e, "");
        run_cleanup(path, out, err);
        free(e);
    }
    unlink(path);
    free(path);
}

/*
 * A graceful stop while the lines source reads a pipe holding part of a
 * line (its writer still there): getline hands back that part with the
 * stream's error set, and the next call failed without a read: the node
 * failed the run ("cannot read standard input: Input/output error", exit
 * 1) instead of stopping (143).
 */
static void
test_faults_lines_stop_mid_line(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = lines\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], *e;
    int fds[2], saved = dup(STDIN_FILENO), status;
    pid_t pid;
    double t;

    (void)unused;
    assert_true(saved >= 0);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    pid = spawn_run(path, out, err);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    assert_int_equal(write(fds[1], "one\nab", 6), 6);
    status = stop_running(path, pid, 3, SIGTERM, &t);
    close(fds[1]);
    e = slurp(err);
    assert_exited(status, t, e, 143);
    assert_true(t < 5);
    run_cleanup(path, out, err);
    free(e);
    unlink(path);
    free(path);
}

/* Start flowrun on `path` as spawn_files_with does (with option `opt`
 * `arg`), the LD_PRELOAD fixture `preload` in its environment only. */
static pid_t
spawn_preloaded(const char *preload, const char *path, const char *out,
                const char *err, const char *opt, const char *arg)
{
    pid_t pid;

    tu_preload_begin(preload);
    pid = spawn_files_with(path, out, err, opt, arg);
    tu_preload_end();
    return pid;
}

/*
 * A signal that lands just after the launcher made its run directory (the
 * fixture raise_after_mkdtemp.so raises it there, in flowrun itself): the
 * run stops before it starts, exit 130 or 143, saying only that, and neither
 * the directory nor a process is left. A launcher that let the signal kill it
 * there left the directory behind.
 */
static void
test_faults_signal_at_start(void **unused)
{
    static const int sigs[] = { SIGINT, SIGTERM };
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], sig[8];

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    for (size_t i = 0; i < 2; i++) {
        pid_t pid;
        char *e;
        int status;

        snprintf(sig, sizeof(sig), "%d", sigs[i]);
        setenv("FLOW_TEST_RAISE", sig, 1);
        pid = spawn_preloaded(FLOW_FIXTURE_PRELOAD, path, out, err,
                              "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR);
        unsetenv("FLOW_TEST_RAISE");
        status = wait_exit(pid, 20);
        e = slurp(err);
        assert_exited(status, 0, e, 128 + sigs[i]);
        /* Nothing ran: one line says so, no notice of a stop mid-run, nor
         * of output cut. */
        {
            char want[256];
            const char *base = strrchr(path, '/') + 1;
            snprintf(want, sizeof(want),
                     "flowrun: SIG%s: graph '%.*s' stopped before it "
                     "started: no output\n",
                     i ? "TERM" : "INT", (int)(strlen(base) - 4), base);
            assert_string_equal(e, want);
        }
        run_cleanup(path, out, err);
        free(e);
    }
    unlink(path);
    free(path);
}

/*
 * flowrun reads its stop signals from a signalfd, with them blocked: when
 * it cannot make one (no_signalfd.so: EMFILE, as out of descriptors) the
 * run must end with an error, not go on deaf to Ctrl-C. A local run exits
 * 1 naming the cause; a rendezvous (--rendezvous-only) says it cannot
 * watch for stop signals and exits 1 at once (it served on, ignoring
 * SIGINT, until killed).
 */
static void
test_faults_no_signalfd(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128];

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    for (int rdv = 0; rdv < 2; rdv++) {
        pid_t pid;
        char *e;
        int status;

        pid = spawn_preloaded(FLOW_FIXTURE_NO_SIGNALFD, path, out, err,
                              rdv ? "--rendezvous-only" : NULL, NULL);
        status = wait_exit(pid, 20);
        e = slurp(err);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
            fail_msg("%s: status %d, stderr:\n%s", rdv ? "rendezvous" : "run",
                     status, e);
        tu_assert_contains(e, "Too many open files");
        if (rdv)
            tu_assert_contains(e, "cannot watch for stop signals "
                                  "(signalfd: Too many open files)");
        run_cleanup(path, out, err);
        free(e);
    }
    unlink(path);
    free(path);
}

/*
 * Signals flowrun inherits ignored. SIGCHLD: the kernel would reap the
 * instances itself, and flowrun waited for them forever; the run must end
 * as usual, with its output. SIGINT and SIGHUP (a command started with &
 * by a script, or under nohup): they stay ignored and the run goes on;
 * SIGTERM still stops it gracefully (143, the count written).
 */
static void
test_faults_inherited_ignored(void **unused)
{
    static const int chld[] = { SIGCHLD, 0 }, stops[] = { SIGINT, SIGHUP, 0 };
    char *small = tu_temp_file("[src]\ntype = range\ncount = 5\n"
                               "[out]\ntype = collect\n"
                               "[links]\npush = src.out -> out.in\n");
    char *endless = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                                 "[out]\ntype = collect\nmode = count\n"
                                 "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], *o, *e;
    unsigned long long seen;
    long long count;
    int status;
    double t;
    pid_t pid;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    assert_counts_to_five(small, chld, out, err);

    /* Signalled once items reach the sink (the progress line says so):
     * 0.7 s after the processes appeared, at a load average of 24, the
     * SIGTERM came before anything had, and the output was empty. */
    pid = spawn_ignoring(endless, out, err, "--progress", NULL, stops);
    wait_procs(endless, 3);
    seen = tu_wait_sinks(err, 20);
    if (!seen)
        fail_msg("no item at the sink after 20 s");
    assert_int_equal(kill(pid, SIGINT), 0);
    assert_int_equal(kill(pid, SIGHUP), 0);
    usleep(500000);
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still running */
    assert_int_equal(tu_count_procs(endless), 4);        /* and the guard */
    t = now_s();
    assert_int_equal(kill(pid, SIGTERM), 0);
    status = wait_exit(pid, 20);
    t = now_s() - t;
    o = slurp(out);
    e = slurp(err);
    assert_exited(status, t, e, 128 + SIGTERM);
    assert_int_equal(sscanf(o, "%lld", &count), 1);
    assert_true(count > 0 && (unsigned long long)count >= seen);
    run_cleanup(endless, out, err);
    free(o);
    free(e);
    unlink(small);
    unlink(endless);
    free(small);
    free(endless);
}

/* The sieve of 10^13 with 2 segments; `output`: list or count. */
static char *
sieve_graph(const char *output)
{
    char text[512];

    snprintf(text, sizeof(text),
             "[graph]\nname = g\n"
             "[main]\ntype = primes\nlimit = 1e13\noutput = %s\n"
             "[seg]\ntype = sieve\ninstances = 2\n"
             "[out]\ntype = collect\n"
             "[links]\npair = main.seg <-> seg.coord\n"
             "push = main.out -> out.in\n",
             output);
    return tu_temp_file(text);
}

/*
 * A graceful stop reaches nodes with pair links only: the sieve's
 * coordinator and its segments, busy sieving 10^13, which look at
 * flow_node_stopping between blocks. SIGTERM ends the run within a second
 * (it used to take the 5-s drain limit and a hard stop): exit 143, no
 * failure reported, nothing left behind. What tells the graceful stop from
 * the hard one is the latter's "still running" line, at the 5-s drain
 * limit; the time is bounded by that limit only: at a load average of 15
 * under AddressSanitizer a graceful stop took over 1 s, and a CI run with
 * other test suites on its 2 CPUs saw one over 4 s (no "still running").
 */
static void
test_faults_sieve_stops_gracefully(void **unused)
{
    char *path = sieve_graph("count");
    char out[128], err[128], *e;
    pid_t pid;
    int status;
    double t;

    (void)unused;
    pid = spawn_run(path, out, err);
    status = stop_running(path, pid, 5, SIGTERM, &t);
    e = slurp(err);
    assert_exited(status, t, e, 143);
    assert_null(strstr(e, "failed"));
    assert_null(strstr(e, "still running"));
    assert_true(t < 5.0);
    run_cleanup(path, out, err);
    free(e);
    unlink(path);
    free(path);
}

/*
 * Two nodes with a pair port only, each waiting in a receive for the other
 * (fixture pairwait), as a sieve segment waits for its coordinator's go
 * while the coordinator waits for the segment: at a load average of 36
 * under AddressSanitizer, a SIGTERM that came while the second segment
 * waited for the primes the first one (which stopped before sending them)
 * had to find held the sieve until the hard stop at the 5-s drain limit
 * in 7 runs of 7 (test_faults_sieve_stops_gracefully: "still running:
 * main[0] (waiting for input on port 'seg'), ..., seg[1] (waiting for
 * input on port 'coord')"). With flow_node_stop_ends_recv the graceful
 * stop ends those receives (flow_node_recv, and flow_node_recv_from for
 * one of them): exit 143, no hard stop. The control, without it: the
 * receives go on until the hard stop, as before.
 */
static void
test_faults_stop_ends_pair_wait(void **unused)
{
    char text[512], out[128], err[128], *path, *e;
    pid_t pid;
    int status;
    double t;

    (void)unused;
    for (int stoppable = 1; stoppable >= 0; stoppable--) {
        snprintf(text, sizeof(text),
                 "[graph]\nname = g\n"
                 "[a]\ntype = pairwait\nstoppable = %s\n"
                 "[b]\ntype = pairwait\nstoppable = %s\nfrom = true\n"
                 "instances = 2\n"
                 "[links]\npair = a.peer <-> b.peer\n",
                 stoppable ? "true" : "false", stoppable ? "true" : "false");
        path = tu_temp_file(text);
        pid = spawn_run(path, out, err);
        status = stop_running(path, pid, 3, SIGTERM, &t);
        e = slurp(err);
        assert_exited(status, t, e, 143);
        if (stoppable && strstr(e, "still running"))
            fail_msg("the waits held the run %.3f s, until the hard stop:\n%s",
                     t, e);
        if (!stoppable) /* a receive a graceful stop does not end */
            tu_assert_contains(e, "flowrun: graph 'g' still running 5 s after "
                                  "the signal: stopping it (still running: "
                                  "a[0] (waiting for input on port 'peer'), "
                                  "b[0] (waiting for input on port 'peer'), "
                                  "b[1] (waiting for input on port "
                                  "'peer'))\n");
        run_cleanup(path, out, err);
        free(e);
        unlink(path);
        free(path);
    }
}

/*
 * The same in list mode with SIGINT, sent 0.1 s after the first primes are
 * out: what the coordinator sent drains to the collector, so the output is
 * exactly the primes up to its last line, in order (the oracle: a sieve of
 * Eratosthenes over the odd numbers, one bit each, in the test), and no
 * warning says the coordinator left its segments' results unread.
 */
static void
test_faults_sieve_stop_keeps_prefix(void **unused)
{
    char *path = sieve_graph("list");
    char out[128], err[128], *o, *e, *p;
    uint8_t *composite;
    long long last = 1, n = 0, want = 0;
    struct stat sb;
    pid_t pid;
    int status;
    double t;

    (void)unused;
    pid = spawn_run(path, out, err);
    for (double t0 = now_s(); stat(out, &sb) != 0 || sb.st_size == 0;) {
        assert_true(now_s() - t0 < 20);
        usleep(1000);
    }
    usleep(100000); /* results are queued at the coordinator by now */
    t = now_s();
    assert_int_equal(kill(pid, SIGINT), 0);
    status = wait_exit(pid, 20);
    t = now_s() - t;
    o = slurp(out);
    e = slurp(err);
    assert_exited(status, t, e, 130);
    assert_null(strstr(e, "failed"));
    /* The coordinator stopped reading its segments because it was told to:
     * no warning about what it left unread (it is a debug line). */
    assert_null(strstr(e, "discarded"));

    /* Ascending, and every line a prime. */
    for (p = o; *p; n++) {
        char *end;
        long long x = strtoll(p, &end, 10);
        assert_true(end > p && *end == '\n' && x > last);
        last = x;
        p = end + 1;
    }
    assert_true(n > 0);
    assert_true(last < 4000000000LL);               /* 250 MB of bits at most */
    composite = calloc((size_t)(last / 16 + 1), 1); /* bit k: 2k + 1 */
    assert_non_null(composite);
    for (long long i = 3; i * i <= last; i += 2)
        if (!(composite[i / 16] >> (i / 2 % 8) & 1))
            for (long long j = i * i; j <= last; j += 2 * i)
                composite[j / 16] |= (uint8_t)(1u << (j / 2 % 8));
    want = last >= 2;
    for (long long i = 3; i <= last; i += 2)
        want += !(composite[i / 16] >> (i / 2 % 8) & 1);
    for (p = o; *p;) { /* and each a prime of the oracle */
        char *end;
        long long x = strtoll(p, &end, 10);
        assert_true(x == 2 ||
                    (x % 2 && !(composite[x / 16] >> (x / 2 % 8) & 1)));
        p = end + 1;
    }
    print_message("%lld primes up to %lld before the stop\n", n, last);
    assert_int_equal(n, want); /* none missing below the last */
    free(composite);
    run_cleanup(path, out, err);
    free(o);
    free(e);
    unlink(path);
    free(path);
}

/*
 * A graceful stop does not end a server with pair links only that does not
 * ask flow_node_stopping while its client, which has a push input, drains:
 * range -> pairclient <-> pairserver, pairclient -> collect. SIGINT: exit
 * 130, whole messages counted, no failure.
 */
static void
test_faults_stop_pair_server_serves(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[cli]\ntype = pairclient\n"
                              "[srv]\ntype = pairserver\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> cli.in batch=100\n"
                              "pair = cli.srv <-> srv.peer\n"
                              "push = cli.out -> out.in\n");
    char out[128], err[128];

    (void)unused;
    assert_stop_counts(path, 5, SIGINT, 100, 5, out, err);
    unlink(path);
    free(path);
}

/*
 * A node with a pair port only that asks flow_node_stopping and returns 0
 * at a graceful stop (fixture stopasker, 50 answers in flight, unread):
 * what it leaves unread was left as asked, a debug line, not a warning
 * ("discarded 50 unread messages on port 'srv'" was a warning when it
 * returned 0, not when it returned FLOW_EINTR). With log_level = debug the
 * line is there: the answers were in flight indeed.
 */
static void
test_faults_stop_unread_quietly(void **unused)
{
    (void)unused;
    for (int debug = 0; debug < 2; debug++) {
        char text[256], out[128], err[128], *e, *o;
        double t;
        int status;
        char *path;
        snprintf(text, sizeof(text),
                 "[ask]\ntype = stopasker\n%s"
                 "[srv]\ntype = pairserver\n"
                 "[links]\npair = ask.srv <-> srv.peer hwm=1000\n",
                 debug ? "log_level = debug\n" : "");
        path = tu_temp_file(text);
        status = stop_running(path, spawn_run(path, out, err), 2, SIGINT, &t);
        e = slurp(err);
        o = slurp(out);
        assert_exited(status, t, e, 130);
        assert_string_equal(o, "");
        if (debug) {
            tu_assert_contains(e, "ask[0] (pid ");
            tu_assert_contains(e, "debug: discarded ");
            tu_assert_contains(e, " unread messages on port 'srv'\n");
        } else if (strstr(e, "discarded")) {
            fprintf(stderr, "stderr:\n%s\n", e);
            fail();
        }
        run_cleanup(path, out, err);
        free(e);
        free(o);
        unlink(path);
        free(path);
    }
}

/*
 * A graceful stop (SIGTERM, then Ctrl-C) of two endless sources zipped item
 * by item (fixture zip, a failure when the lengths differ unless an input
 * was cut, flow_node_input_cut): the sources stop at different points, the
 * zip takes that for the stop's doing, and the run exits 143 / 130 with the
 * sums that reached the sink counted. It exited 1, the zip failing
 * ("inputs of different lengths"), when it could not tell.
 */
static void
test_faults_stop_zip(void **unused)
{
    static const int sigs[] = { SIGTERM, SIGINT };
    char *path = tu_temp_file("[x]\ntype = range\ncount = 1e18\n"
                              "[y]\ntype = range\ncount = 1e18\n"
                              "[z]\ntype = zip\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = x.out -> z.a batch=7\n"
                              "push = y.out -> z.b batch=3\n"
                              "push = z.out -> out.in\n");

    (void)unused;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
        char out[128], err[128], *o, *e;
        double t;
        int status =
            stop_running(path, spawn_run(path, out, err), 4, sigs[i], &t);
        e = slurp(err);
        o = slurp(out);
        assert_exited(status, t, e, 128 + sigs[i]);
        assert_true(atoll(o) > 0); /* the sums that reached out, counted */
        run_cleanup(path, out, err);
        free(e);
        free(o);
    }
    unlink(path);
    free(path);
}

/*
 * A graceful stop of three range instances (each stops at its own point):
 * with collect order=input, straight or behind a split, the output is a
 * prefix of the whole run's, 0, 1, 2, ... with no number missing. The
 * messages after the first the stop left missing were written (collect,
 * naming the gap at level info) or passed on numbered as if none were
 * missing (split, silently): the output had holes.
 */
static void
test_faults_stop_ordered_prefix(void **unused)
{
    static const char *const mids[] = {
        "[out]\ntype = collect\norder = input\n"
        "[links]\npush = src.out -> out.in batch=7 hwm=2\n",
        "[mid]\ntype = split\nchunk = 10\n"
        "[out]\ntype = collect\norder = input\n"
        "[links]\npush = src.out -> mid.in batch=7 hwm=2\n"
        "push = mid.out -> out.in hwm=2\n",
    };

    (void)unused;
    for (size_t i = 0; i < sizeof(mids) / sizeof(*mids); i++) {
        char out[128], err[128], *o, *e, *p, *graph;
        long long k = 0;
        double t;
        int status;
        size_t len = strlen(mids[i]) + 64;

        graph = malloc(len);
        assert_non_null(graph);
        snprintf(graph, len,
                 "[src]\ntype = range\ninstances = 3\n"
                 "count = 1e15\n%s",
                 mids[i]);
        char *path = tu_temp_file(graph);
        status = stop_running(path, spawn_run(path, out, err), i == 0 ? 4 : 5,
                              SIGINT, &t);
        e = slurp(err);
        o = slurp(out);
        assert_exited(status, t, e, 130);
        for (p = o; *p; k++) {
            char *end;
            long long x = strtoll(p, &end, 10);
            assert_true(end > p && *end == '\n');
            if (x != k)
                fail_msg("graph %zu: line %lld is %lld: not a prefix of "
                         "0, 1, 2, ...",
                         i, k + 1, x);
            p = end + 1;
        }
        assert_true(k > 0);
        run_cleanup(path, out, err);
        free(o);
        free(e);
        unlink(path);
        free(path);
        free(graph);
    }
}

/*
 * After a graceful stop, a source's finish() may still send: finisher
 * sends 0, 1, ... until stopped, then minus their count. The collector
 * prints exactly 0 .. K-1 and then -K: exit 130, no failure.
 */
static void
test_faults_stop_finish_sends(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = finisher\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], *o, *e, *p;
    long long k = 0, x = 0;
    pid_t pid;
    int status;
    double t;

    (void)unused;
    pid = spawn_run(path, out, err);
    status = stop_running(path, pid, 3, SIGINT, &t);
    o = slurp(out);
    e = slurp(err);
    assert_exited(status, t, e, 130);
    for (p = o; *p; k++) {
        char *end;
        x = strtoll(p, &end, 10);
        assert_true(end > p && *end == '\n');
        p = end + 1;
        if (*p)
            assert_int_equal(x, k); /* 0, 1, ... in order */
    }
    assert_true(k > 1);
    assert_int_equal(x, -(k - 1)); /* the last line: minus the count */
    run_cleanup(path, out, err);
    free(o);
    free(e);
    unlink(path);
    free(path);
}

/*
 * SIGINTs every millisecond at a running graph: the first stops it, the
 * second kills its instances, and the run ends: flowrun exits 130 by
 * itself, never killed by one of those that follow. The run gives the stop
 * signals back to flowrun's mask when it ends, and one between that and the
 * exit (timeout(1)'s echo, a late Ctrl-C) killed flowrun by its default action:
 * flowrun now holds them blocked until it exits.
 */
static void
test_faults_signal_storm_at_end(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128];
    int status;

    (void)unused;
    for (int loop = 0; loop < 20; loop++) {
        pid_t pid = spawn_run(path, out, err);
        double limit = now_s() + 20;
        wait_procs(path, 3); /* running: the instances and the guard */
        for (;;) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid)
                break;
            assert_int_equal(r, 0);
            assert_true(now_s() < limit);
            kill(pid, SIGINT);
            usleep(1000);
        }
        spawned = 0;
        if (!WIFEXITED(status)) {
            char *e = slurp(err);
            fail_msg("run %d: %s, stderr:\n%s", loop, tu_child_status(status),
                     e);
        }
        assert_int_equal(WEXITSTATUS(status), 130);
        run_cleanup(path, out, err);
    }
    unlink(path);
    free(path);
}

/* Wait (at most 20 s) until the file `out` holds `want` and, for a graph
 * `path` (NULL: not looked at), only flowrun and its guard run it: its
 * sink wrote the whole output and the instances have ended. */
static void
wait_output(const char *out, const char *want, const char *path)
{
    for (double limit = now_s() + 20;;) {
        bool done = false;
        if (access(out, F_OK) == 0) {
            char *so_far = slurp(out);
            done =
                !strcmp(so_far, want) && (!path || tu_count_procs(path) <= 2);
            free(so_far);
        }
        if (done)
            return;
        assert_true(now_s() < limit);
        usleep(20000);
    }
}

/*
 * --stats-json to a FIFO that no one opens, or that a reader opened and
 * does not read (a report of 200 instances, some 70 KB, more than a pipe
 * holds): flowrun waited in open(2) or write(2) with every signal
 * blocked, and SIGTERM, SIGINT and SIGQUIT did nothing (only SIGKILL
 * ended it). A stop signal now gives the report up, at most a second
 * later: exit 1, saying so.
 */
static void
test_faults_stats_fifo_unread(void **unused)
{
    static const int sigs[] = { SIGTERM, SIGQUIT };
    char out[128], err[128], fifo[128], *e;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    snprintf(fifo, sizeof(fifo), "%s/fifo", run_tmp);
    for (int opened = 0; opened < 2; opened++) {
        char *path = tu_temp_file(
            opened ? "[src]\ntype = range\ncount = 1000\ninstances = 200\n"
                     "[out]\ntype = collect\nmode = count\n"
                     "[links]\npush = src.out -> out.in\n"
                   : "[src]\ntype = range\ncount = 5\n"
                     "[out]\ntype = collect\nmode = count\n"
                     "[links]\npush = src.out -> out.in\n");
        int rfd = -1, status;
        pid_t pid;
        double t;

        assert_int_equal(mkfifo(fifo, 0600), 0);
        if (opened) {
            rfd = open(fifo, O_RDONLY | O_NONBLOCK);
            assert_true(rfd >= 0);
        }
        pid = spawn_files_with(path, out, err, "--stats-json", fifo);
        wait_output(out, opened ? "1000\n" : "5\n", path);
        usleep(200000); /* at the FIFO */
        t = now_s();
        assert_int_equal(kill(pid, sigs[opened]), 0);
        status = wait_exit(pid, 5);
        t = now_s() - t;
        e = slurp(err);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
            fail_msg("%s after %.3f s; stderr:\n%s", tu_child_status(status), t,
                     e);
        tu_assert_contains(e, "': given up at a stop signal (no reader took "
                              "it)\n");
        assert_true(t < 3);
        if (rfd >= 0)
            close(rfd);
        unlink(fifo);
        run_cleanup(path, out, err);
        free(e);
        unlink(path);
        free(path);
    }
}

/*
 * A signal that comes after the graph has ended, while the launcher writes
 * the counters (into a FIFO no one reads yet): the result stands (exit 0)
 * and the run directory is gone all the same.
 */
static void
test_faults_signal_after_end(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 5\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], fifo[128], *o, *e;
    pid_t pid;
    int status;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    snprintf(fifo, sizeof(fifo), "%s/fifo", run_tmp);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid = spawn_files_with(path, out, err, "--stats-json", fifo);
    /* The graph has ended: the sink wrote its whole output (before it
     * exits) and only the launcher and its guard (a fork of flowrun, alive
     * until the launcher exits) are left. This waited for "at most one
     * process", which held only before flowrun's exec or first fork: the
     * test relied on the 0.2 s below for the whole run, and on a loaded
     * machine (AddressSanitizer) the signals stopped a run that had not
     * ended (exit 130, "stopped by SIGINT before its end"). */
    wait_output(out, "0\n1\n2\n3\n4\n", path);
    usleep(200000); /* it is blocked opening the FIFO */
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(kill(pid, SIGINT), 0);
    int fd = open(fifo, O_RDONLY);
    assert_true(fd >= 0);
    char buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
    status = wait_exit(pid, 20);
    o = slurp(out);
    e = slurp(err);
    assert_exited(status, 0, e, 0);
    assert_string_equal(o, "0\n1\n2\n3\n4\n");
    unlink(out);
    unlink(err);
    unlink(fifo);
    assert_int_equal(dir_entries(run_tmp), 0);
    free(o);
    free(e);
    unlink(path);
    free(path);
}

/*
 * A timeout far away (the largest --timeout, 1e7 s: past INT_MAX ms) must
 * not make the launcher's wait spin: a graph that sleeps 1 s costs well
 * under a CPU second, launcher included.
 */
static void
test_faults_far_timeout_idle(void **unused)
{
    const char *text = "[p]\ntype = pid\nlinger_ms = 1000\n"
                       "[out]\ntype = collect\n"
                       "[links]\npush = p.out -> out.in\n";
    double cpu = tu_children_cpu_s();
    run_t run;

    (void)unused;
    assert_int_equal(run_graph(&run, 30, text, "--timeout", "1e7", NULL), 0);
    cpu = tu_children_cpu_s() - cpu;
    if (cpu >= 0.5)
        fprintf(stderr, "%.3f CPU s for %.3f s\n", cpu, run.r.seconds);
    assert_true(run.r.seconds >= 1.0);
    assert_true(cpu < 0.5);
    tu_result_release(&run.r);
}

/* Parent pid, state and CPU ticks (user + system; `ticks` may be NULL) of
 * `pid` from /proc; false if it is gone. */
static bool
proc_stat(pid_t pid, pid_t *ppid, char *state, unsigned long long *ticks)
{
    char path[64], buf[1024];
    unsigned long long ut = 0, st = 0;
    FILE *f;
    char *p;
    int pp = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (!p || !(p = strrchr(buf, ')')))
        return false;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime */
    if (sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               state, &pp, &ut, &st) != 4)
        return false;
    *ppid = (pid_t)pp;
    if (ticks)
        *ticks = ut + st;
    return true;
}

/* The children of `parent`, at most `max`. */
static int
children_of(pid_t parent, pid_t *pids, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) && n < max) {
        pid_t pid = (pid_t)atoi(de->d_name), pp;
        char st;
        if (pid > 0 && proc_stat(pid, &pp, &st, NULL) && pp == parent)
            pids[n++] = pid;
    }
    closedir(d);
    return n;
}

/* The state letter of process `pid` ('?' if it is gone) and its CPU ticks
 * (user + system). */
static char
proc_state(pid_t pid, unsigned long long *ticks)
{
    pid_t pp;
    char state;

    return proc_stat(pid, &pp, &state, ticks) ? state : '?';
}

/* Wait until every one of the `n` processes `pids` is stopped (`stopped`)
 * or every one is not; at most 10 s. */
static void
wait_states(const pid_t *pids, int n, bool stopped)
{
    for (double limit = now_s() + 10;; usleep(10000)) {
        int k = 0;
        while (k < n && (proc_state(pids[k], NULL) == 'T') == stopped)
            k++;
        if (k == n)
            return;
        assert_true(now_s() < limit);
    }
}

/*
 * Ctrl-Z: the terminal stops only the launcher's process group, and the
 * instances run in one of their own. SIGTSTP to flowrun stops it (as a
 * shell sees it: stopped by SIGTSTP) and every instance with it: no CPU
 * used while stopped. SIGCONT (fg) continues them all; the time stopped
 * does not count toward --timeout: a run of 3 s stopped for 2.5 s after
 * 0.5 s is still running when continued, and times out (124) 2.5 s later.
 */
static void
test_faults_ctrl_z(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], *e;
    unsigned long long before[3], after[3];
    pid_t pid, kids[4];
    int status;
    double t0, t;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    pid = spawn_files_with(path, out, err, "--timeout", "3");
    t0 = now_s();
    wait_procs(path, 3);
    usleep(500000);
    assert_int_equal(children_of(pid, kids, 4), 3); /* and the guard */
    t = now_s();
    assert_int_equal(kill(pid, SIGTSTP), 0);
    assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
    if (!WIFSTOPPED(status))
        fprintf(stderr, "flowrun not stopped: wait status %#x\n", status);
    assert_true(WIFSTOPPED(status));
    assert_int_equal(WSTOPSIG(status), SIGTSTP);
    wait_states(kids, 3, true);
    for (int k = 0; k < 3; k++)
        proc_state(kids[k], &before[k]);
    if (now_s() - t < 2.5) /* stopped 2.5 s in all */
        usleep((useconds_t)((2.5 - (now_s() - t)) * 1e6));
    for (int k = 0; k < 3; k++) {
        assert_int_equal(proc_state(kids[k], &after[k]), 'T');
        assert_true(after[k] == before[k]); /* no CPU while stopped */
    }
    assert_int_equal(kill(pid, SIGCONT), 0);
    wait_states(kids, 3, false);
    usleep(300000);
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* not timed out */
    status = wait_exit(pid, 20);
    t = now_s() - t0;
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 124 || t < 5.4)
        fprintf(stderr, "status %d after %.3fs, stderr:\n%s\n", status, t, e);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 124);
    assert_true(t >= 5.4 && t < 11);
    run_cleanup(path, out, err);
    free(e);
    unlink(path);
    free(path);
}

/*
 * kill -STOP on flowrun alone (a debugger, a mistyped pid): its instances
 * run on, and may end their work while it is stopped; continued, it sees
 * at once that they are all done and that a limit passed meanwhile. It
 * took that for the limit stopping the run: with --timeout, a run whose
 * output was whole exited 124, "timed out after 3s; still running: "
 * naming none; stopped during the drain of a SIGTERM, "still running 5 s
 * after the signal: stopping it (still running: )" and the instances,
 * waiting to exit, killed: "the output is cut short". A limit stops work,
 * and none was left: exit 0 with the count of every item (200 messages, each
 * taking 5 ms), and 143 with the drained count, nothing said killed.
 */
static void
test_faults_stopped_launcher_limits(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 200\n"
                              "[mid]\ntype = fault\naction = none\n"
                              "work_us = 5000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in batch=1\n"
                              "push = mid.out -> out.in\n");
    /* its drain: the at most 50 messages sent to mid, 5 ms each */
    char *endless = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                                 "[mid]\ntype = fault\naction = none\n"
                                 "work_us = 5000\n"
                                 "[out]\ntype = collect\nmode = count\n"
                                 "[links]\npush = src.out -> mid.in batch=1 "
                                 "hwm=50 balance=demand\n"
                                 "push = mid.out -> out.in\n");
    char out[128], err[128], *o, *e;
    double t0;
    pid_t pid;
    int status;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    /* --timeout 3, about 1 s of work: flowrun stopped once the first
     * items reached the sink (the progress line says so) to past the 3 s,
     * its instances done by then. Stopped as soon as the processes
     * appeared, it held them before their start, one run in 10 to 20
     * under AddressSanitizer, and nothing was ever written. */
    pid = spawn_files_with(path, out, err, "--timeout=3", "--progress");
    t0 = now_s();
    wait_procs(path, 4);
    if (!tu_wait_sinks(err, 20))
        fail_msg("no item at the sink after 20 s");
    assert_int_equal(kill(pid, SIGSTOP), 0);
    wait_output(out, "200\n", NULL); /* collect writes it at its end */
    if (now_s() < t0 + 3.5)
        usleep((useconds_t)((t0 + 3.5 - now_s()) * 1e6));
    assert_int_equal(kill(pid, SIGCONT), 0);
    status = wait_exit(pid, 20);
    o = slurp(out);
    e = slurp(err);
    assert_exited(status, 0, e, 0);
    assert_string_equal(o, "200\n");
    assert_null(strstr(e, "timed out"));
    free(o);
    free(e);
    run_cleanup(path, out, err);

    /* SIGTERM read, then flowrun stopped past the drain's 5 s, the drain
     * over by then */
    pid = spawn_files_with(endless, out, err, NULL, NULL);
    wait_procs(endless, 4);
    usleep(300000);
    t0 = now_s();
    assert_int_equal(kill(pid, SIGTERM), 0);
    for (double limit = t0 + 20;;) { /* flowrun has read it */
        e = slurp(err);
        bool said = strstr(e, "flowrun: SIGTERM: stopping graph") != NULL;
        free(e);
        if (said)
            break;
        assert_true(now_s() < limit);
        usleep(5000);
    }
    assert_int_equal(kill(pid, SIGSTOP), 0);
    for (double limit = t0 + 20;;) { /* the count of what was drained */
        o = slurp(out);
        bool counted = o[0] >= '1' && o[0] <= '9' && strchr(o, '\n');
        free(o);
        if (counted)
            break;
        assert_true(now_s() < limit);
        usleep(20000);
    }
    if (now_s() < t0 + 5.5)
        usleep((useconds_t)((t0 + 5.5 - now_s()) * 1e6));
    assert_int_equal(kill(pid, SIGCONT), 0);
    status = wait_exit(pid, 20);
    e = slurp(err);
    assert_exited(status, 0, e, 143);
    if (!strstr(e, "the output holds what reached the sinks") ||
        strstr(e, "killed") || strstr(e, "still running"))
        fail_msg("stderr:\n%s", e);
    free(e);
    run_cleanup(endless, out, err);
    unlink(path);
    free(path);
    unlink(endless);
    free(endless);
}

/*
 * Run flowrun on `path` with `opt` on a new terminal with `stty tostop`,
 * in the terminal's foreground group (`background` false) or in a group
 * of its own as a shell's `&` would; fill `buf` with what the terminal
 * showed. Returns flowrun's wait status (rebuilt from its exit code); a
 * run that does not end within 20 s fails the test.
 */
static int
run_on_tty(const char *path, const char *opt, bool background, char *buf,
           size_t size)
{
    size_t len = 0;
    int master, status;
    pid_t pid;

    fflush(NULL);
    pid = forkpty(&master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        struct termios tio;
        pid_t fr;
        if (tcgetattr(0, &tio))
            _exit(126);
        tio.c_lflag |= TOSTOP;
        tio.c_oflag &= ~(tcflag_t)ONLCR; /* the output as it is written */
        if (tcsetattr(0, TCSANOW, &tio))
            _exit(126);
        if (!background)
            fr = 0;
        else if ((fr = tu_fork()) < 0)
            _exit(126);
        if (fr == 0) {
            if (background)
                setpgid(0, 0);
            execl(tu_flowrun(), tu_flowrun(), opt, path, (char *)NULL);
            _exit(127);
        }
        if (waitpid(fr, &status, 0) != fr || !WIFEXITED(status))
            _exit(126);
        _exit(WEXITSTATUS(status));
    }
    spawned = pid;
    for (double limit = now_s() + 20;;) {
        struct pollfd one = { master, POLLIN, 0 };
        ssize_t r;
        if (now_s() > limit) {
            buf[len] = '\0';
            fail_msg("flowrun on a terminal with tostop hung; it wrote: %s",
                     buf);
        }
        if (poll(&one, 1, 100) <= 0)
            continue;
        r = read(master, buf + len, size - 1 - len);
        if (r <= 0)
            break; /* EIO: the terminal's last process closed it */
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(master);
    return wait_exit(pid, 20);
}

/*
 * On a terminal with `stty tostop`, a process outside the terminal's
 * foreground group that writes to it is stopped (SIGTTOU). The instances
 * are always outside it: the collector writing the output to the terminal
 * was stopped for good, and the run hung. It must write, and the run end.
 * Run in the background, flowrun itself is outside it too: it stopped
 * alone at its first line (the failure of a node here) while the
 * instances went on. It must write the line, draw no progress line in
 * the background (--progress), and end (exit 1).
 */
static void
test_faults_terminal_tostop(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 5\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in\n");
    char *failing = tu_temp_file("[src]\ntype = range\ncount = 1e6\n"
                                 "[f]\ntype = fault\naction = exit\n"
                                 "code = 3\nafter = 10\n"
                                 "[out]\ntype = collect\nmode = count\n"
                                 "[links]\npush = src.out -> f.in\n"
                                 "push = f.out -> out.in\n");
    char buf[8192];
    int status;

    (void)unused;
    status = run_on_tty(path, "--no-progress", false, buf, sizeof(buf));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "status %d, terminal:\n%s\n", status, buf);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(buf, "0\n1\n2\n3\n4\n");
    assert_int_equal(tu_count_procs(path), 0);

    status = run_on_tty(failing, "--progress", true, buf, sizeof(buf));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
        fprintf(stderr, "status %d, terminal:\n%s\n", status, buf);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(buf, "node 'f' instance 0"));
    assert_non_null(strstr(buf, "exited with status 3"));
    assert_null(strstr(buf, "items at sinks")); /* no progress line */
    assert_int_equal(tu_count_procs(failing), 0);
    assert_int_equal(dir_entries(run_tmp), 0);
    unlink(path);
    unlink(failing);
    free(path);
    free(failing);
}

/*
 * A lines node reading standard input that is flowrun's terminal: the
 * instances are outside the terminal's foreground group (flowrun alone
 * takes Ctrl-C and Ctrl-Z), so the read fails (EIO, flowrun.1). The node
 * must say why and what to do instead; it said only "cannot read standard
 * input: Input/output error".
 */
static void
test_faults_terminal_stdin(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = lines\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in\n");
    char buf[8192];
    int status;

    (void)unused;
    status = run_on_tty(path, "--no-progress", false, buf, sizeof(buf));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
        fprintf(stderr, "status %d, terminal:\n%s\n", status, buf);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    tu_assert_contains(buf, "src[0] (pid ");
    tu_assert_contains(buf, "cannot read standard input: it is a terminal, "
                            "and a run's processes are not in its foreground "
                            "group");
    tu_assert_contains(buf, "pipe the input in (cat | flowrun ...)");
    assert_int_equal(tu_count_procs(path), 0);
    unlink(path);
    free(path);
}

/*
 * flowrun started with its standard output closed (`>&-`): the collector
 * must not write the output into a descriptor the run opened in its place
 * (it wrote into one: "Invalid argument"). It fails as a write to a closed
 * descriptor does (EBADF), and says so: exit 1.
 */
static void
test_faults_closed_stdout(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 5\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in\n");
    char err[128], *e;
    int status;
    pid_t pid;

    (void)unused;
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(126);
        close(fd);
        close(1);
        execl(tu_flowrun(), tu_flowrun(), path, (char *)NULL);
        _exit(127);
    }
    spawned = pid;
    status = wait_exit(pid, 20);
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
        fprintf(stderr, "status %d, stderr:\n%s\n", status, e);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(
        strstr(e, "cannot write to 'stdout': Bad file descriptor\n"));
    assert_non_null(strstr(e, "node 'out' instance 0"));
    unlink(err);
    assert_int_equal(dir_entries(run_tmp), 0);
    assert_int_equal(tu_count_procs(path), 0);
    free(e);
    unlink(path);
    free(path);
}

/*
 * Run flowrun on graph `path` with its stderr in a file and its stdout in a
 * pipe; read from `fifo` (if not NULL, else from the stdout pipe) until a
 * few bytes came, then close that reader. Returns the wait status and the
 * stderr text in `*err` (caller frees).
 */
static int
run_reader_gone(const char *path, const char *fifo, char **err)
{
    char errpath[128], buf[64];
    int out[2], rfd = -1, status;
    pid_t pid;

    snprintf(errpath, sizeof(errpath), "%s/err", run_tmp);
    assert_int_equal(pipe(out), 0);
    if (fifo) /* a reader first, so that the collector's open goes on */
        assert_true((rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0);
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 2) < 0 || dup2(out[1], 1) < 0)
            _exit(126);
        close(out[0]);
        sigprocmask(SIG_BLOCK, &spawn_block, NULL);
        execl(tu_flowrun(), tu_flowrun(), path, (char *)NULL);
        _exit(127);
    }
    spawned = pid;
    close(out[1]);
    if (!fifo)
        rfd = out[0];
    for (size_t got = 0; got < 16;) {
        struct pollfd p = { rfd, POLLIN, 0 };
        ssize_t n;
        assert_true(poll(&p, 1, 10000) == 1);
        n = read(rfd, buf, sizeof(buf));
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(rfd);
    status = wait_exit(pid, 20);
    if (fifo)
        close(out[0]);
    *err = slurp(errpath);
    unlink(errpath);
    return status;
}

/*
 * The reader of the output goes away. flowrun's own standard output
 * (`flowrun ... | head`): the run stops quietly, 141, as any tool in a
 * pipeline. A FIFO that a node writes as its output is that node's failure:
 * exit 1, naming it and the signal (it was a silent 141).
 */
static void
test_faults_sigpipe(void **unused)
{
    char fifo[128], text[512], *err, *path;
    int status;

    (void)unused;
    snprintf(fifo, sizeof(fifo), "%s/out.fifo", run_tmp);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 1e12\n"
                 "[out]\ntype = collect\noutput = %s\n"
                 "[links]\npush = src.out -> out.in\n",
                 i ? fifo : "-");
        path = tu_temp_file(text);
        status = run_reader_gone(path, i ? fifo : NULL, &err);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != (i ? 1 : 141))
            fprintf(stderr, "case %d: status %d, stderr:\n%s\n", i, status,
                    err);
        assert_true(WIFEXITED(status));
        if (i == 0) {
            assert_int_equal(WEXITSTATUS(status), 141);
            assert_string_equal(err, "");
        } else {
            assert_int_equal(WEXITSTATUS(status), 1);
            assert_non_null(strstr(err, "flowrun: error: node 'out' instance "
                                        "0 (pid "));
            assert_non_null(
                strstr(err, ") was killed by signal SIGPIPE (13)\n"));
        }
        assert_int_equal(tu_count_procs(path), 0);
        free(err);
        unlink(path);
        free(path);
    }
    unlink(fifo);
    assert_int_equal(dir_entries(run_tmp), 0);
}

/*
 * flowrun started with SIGTERM, SIGUSR1 and SIGPIPE blocked (a mask
 * survives exec: a daemon's or a threaded program's): the instances still
 * live by them. SIGTERM is a graceful stop that drains (it waited 5 s and
 * killed them, writing no count), and a reader gone is a quiet 141 (it was
 * a node's write error, exit 1).
 */
static void
test_faults_blocked_mask(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[mid]\ntype = jitter\nmax_us = 300\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in batch=1000\n"
                              "push = mid.out -> out.in\n");
    char *list = tu_temp_file("[src]\ntype = range\ncount = 1e12\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], *e;
    int status;

    (void)unused;
    sigemptyset(&spawn_block);
    sigaddset(&spawn_block, SIGTERM);
    sigaddset(&spawn_block, SIGUSR1);
    sigaddset(&spawn_block, SIGPIPE);
    assert_stop_counts(path, 4, SIGTERM, 1000, 3, out, err);
    status = run_reader_gone(list, NULL, &e);
    sigemptyset(&spawn_block);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 141)
        fprintf(stderr, "status %d, stderr:\n%s\n", status, e);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 141);
    assert_string_equal(e, "");
    assert_int_equal(tu_count_procs(list), 0);
    free(e);

    /* SIGHUP inherited ignored, blocked and pending (nohup under a caller
     * that blocks everything): it stays pending for ever, and is no stop
     * (the run never started, spinning). */
    {
        static const int hup[] = { SIGHUP, 0 };
        char *small = tu_temp_file("[src]\ntype = range\ncount = 5\n"
                                   "[out]\ntype = collect\n"
                                   "[links]\npush = src.out -> out.in\n");
        sigaddset(&spawn_block, SIGHUP);
        spawn_raise = SIGHUP;
        assert_counts_to_five(small, hup, out, err);
        spawn_raise = 0;
        sigemptyset(&spawn_block);
        unlink(small);
        free(small);
    }
    unlink(path);
    unlink(list);
    free(path);
    free(list);
}

/* The pid of the child of `parent` named `comm`, or 0. */
static pid_t
child_named(pid_t parent, const char *comm)
{
    pid_t kids[64];
    int n = children_of(parent, kids, 64);

    for (int i = 0; i < n; i++) {
        char path[64], name[32] = "";
        FILE *f;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)kids[i]);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(name, sizeof(name), f))
            name[strcspn(name, "\n")] = '\0';
        fclose(f);
        if (!strcmp(name, comm))
            return kids[i];
    }
    return 0;
}

/*
 * Each instance's process is named NODE[I] (what top, ps -o comm and pgrep
 * show): it was "flowrun" like the launcher, so the processes of a run
 * could not be told apart there. A node name too long for the kernel's 15
 * bytes is cut, never the instance. The launcher keeps its name.
 */
static void
test_faults_instance_names(void **unused)
{
    char *path =
        tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                     "[a_rather_long_name]\ntype = jitter\n"
                     "instances = 2\n"
                     "[out]\ntype = collect\nmode = count\n"
                     "[links]\npush = src.out -> a_rather_long_name.in\n"
                     "push = a_rather_long_name.out -> out.in\n");
    static const char *const names[] = { "src[0]", "a_rather_lon[0]",
                                         "a_rather_lon[1]", "out[0]",
                                         "flowrun-guard" };
    char out[128], err[128], comm[32] = "";
    double limit = now_s() + 10;
    int status;
    FILE *f;
    pid_t pid;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    pid = spawn_files_with(path, out, err, NULL, NULL);
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        while (child_named(pid, names[i]) <= 0) {
            if (now_s() > limit)
                fail_msg("no child of flowrun named '%s'", names[i]);
            usleep(10000);
        }
    snprintf(out, sizeof(out), "/proc/%d/comm", (int)pid);
    f = fopen(out, "r");
    assert_non_null(f);
    assert_non_null(fgets(comm, sizeof(comm), f));
    fclose(f);
    assert_string_equal(comm, "flowrun\n");
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    spawned = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    unlink(path);
    free(path);
}

/*
 * An instance held with kill -STOP (or by a debugger) when the run times
 * out: the timeout's list of what still runs names it first as stopped,
 * the likeliest reason for the delay. It said "(waiting for input)", what
 * it was doing when held. The stopped instance is killed all the same.
 */
static void
test_faults_timeout_names_stopped(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], *e;
    double limit = now_s() + 10;
    int status;
    pid_t pid, held;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    pid = spawn_files_with(path, out, err, "--timeout", "3");
    while ((held = child_named(pid, "out[0]")) <= 0) {
        if (now_s() > limit)
            fail_msg("no child of flowrun named 'out[0]'");
        usleep(10000);
    }
    assert_int_equal(kill(held, SIGSTOP), 0);
    status = wait_exit(pid, 30);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 124);
    e = slurp(err);
    if (!strstr(e, "timed out after 3s; still running: out[0] (stopped: "
                   "SIGSTOP or a debugger), src[0] ("))
        fail_msg("stderr:\n%s", e);
    free(e);
    assert_int_equal(tu_count_procs(path), 0);
    unlink(out);
    unlink(err);
    unlink(path);
    free(path);
}

/* Whether signal `sig` is in the mask `field` ("SigCgt", "SigBlk") of
 * process `pid` (/proc/PID/status); `*found`: whether the field was read
 * (false: the process is gone). */
static bool
proc_sig_mask(pid_t pid, const char *field, int sig, bool *found)
{
    char path[64], line[256];
    unsigned long long mask = 0;
    size_t len = strlen(field);
    FILE *f;

    *found = false;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return false;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, field, len) && line[len] == ':' &&
            sscanf(line + len + 1, " %llx", &mask) == 1) {
            *found = true;
            break;
        }
    fclose(f);
    return *found && (mask >> (sig - 1) & 1);
}

/* Whether process `pid` has a handler for signal `sig` (SigCgt). */
static bool
catches(pid_t pid, int sig)
{
    bool found;

    return proc_sig_mask(pid, "SigCgt", sig, &found);
}

/* Wait, 20 s at most, until the child of flowrun `pid` named `name` runs
 * with a handler for `sig`; returns that child's pid. */
static pid_t
wait_catching(pid_t pid, const char *name, int sig)
{
    double limit = now_s() + 20;
    pid_t child;

    while ((child = child_named(pid, name)) <= 0 || !catches(child, sig)) {
        if (now_s() > limit)
            fail_msg("no child '%s' with a handler for signal %d among "
                     "flowrun's children",
                     name, sig);
        usleep(10000);
    }
    return child;
}

/* Start flowrun on `path` (its stdout and stderr to `out` and `err`) and
 * wait_catching its child `name`; returns that child's pid, flowrun's in
 * `*pid`. */
static pid_t
spawn_until_catching(const char *path, const char *out, const char *err,
                     const char *name, int sig, pid_t *pid)
{
    *pid = spawn_files_with(path, out, err, NULL, NULL);
    return wait_catching(*pid, name, sig);
}

/*
 * A SIGUSR1 sent to an instance by a process other than the launcher (a
 * `pkill -USR1` meant for something else) is not a graceful stop: it
 * ended the source's stream, and the run exited 0 at once with its output
 * cut short, saying nothing. Now the run goes on until flowrun is stopped.
 */
static void
test_faults_stray_usr1(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128];
    int status;
    pid_t pid, src;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    /* Until the source runs with its stop handler installed. */
    src = spawn_until_catching(path, out, err, "src[0]", SIGUSR1, &pid);
    assert_int_equal(kill(src, SIGUSR1), 0);
    usleep(1500000);
    /* Still running: the stray signal stopped nothing. */
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    spawned = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    unlink(out);
    unlink(err);
    unlink(path);
    free(path);
}

/*
 * An instance stopped by a SIGTERM from another process (an admin's kill)
 * ends with status 143, as its handler makes it: flowrun said "exited with
 * status 143", as if the node had chosen it. It now says what happened.
 */
static void
test_faults_stray_sigterm(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], want[160], *e;
    int status;
    pid_t pid, src;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    src = spawn_until_catching(path, out, err, "src[0]", SIGTERM, &pid);
    assert_int_equal(kill(src, SIGTERM), 0);
    status = wait_exit(pid, 20);
    spawned = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    e = slurp(err);
    snprintf(want, sizeof(want),
             "flowrun: error: node 'src' instance 0 (pid %d) exited with "
             "status 143: stopped by a SIGTERM that flowrun did not send",
             (int)src);
    tu_assert_contains(e, want);
    free(e);
    unlink(out);
    unlink(err);
    unlink(path);
    free(path);
}

/* Whether process `pid` has signal `sig` blocked (SigBlk). */
static bool
blocks(pid_t pid, int sig)
{
    bool found, blocked = proc_sig_mask(pid, "SigBlk", sig, &found);

    assert_true(found);
    return blocked;
}

/* Whether process `pid` still has signal `sig` blocked 5 s from now (an
 * instance installs its handlers before it sets its mask: one seen with
 * its SIGTERM handler may not have set its mask yet). */
static bool
stays_blocked(pid_t pid, int sig)
{
    double limit = now_s() + 5;

    while (blocks(pid, sig)) {
        if (now_s() > limit)
            return true;
        usleep(10000);
    }
    return false;
}

/*
 * An instance runs with the signal mask of the program that started
 * flowrun, not flowrun's: flowrun holds the stop signals it reads blocked
 * from its start, and every instance, and every program a node starts (a
 * mask survives exec), had SIGHUP, SIGALRM, SIGUSR2, SIGVTALRM, SIGPROF,
 * SIGPWR, SIGIO and the real-time signals blocked: a node's alarm() or
 * POSIX timer never fired, a tool it ran that times out by SIGALRM hung,
 * and a kill -HUP or -ALRM of an instance was held for ever, unsaid.
 */
static void
test_faults_instance_signal_mask(void **unused)
{
    static const int sigs[] = { SIGHUP,  SIGALRM, SIGUSR2, SIGVTALRM,
                                SIGPROF, SIGPWR,  SIGIO };
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], want[160], *e;
    int status;
    pid_t pid, src, sink;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    src = spawn_until_catching(path, out, err, "src[0]", SIGTERM, &pid);
    sink = wait_catching(pid, "out[0]", SIGTERM); /* named, set up */
    for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
        bool a = stays_blocked(src, sigs[i]), b = stays_blocked(sink, sigs[i]);
        if (a || b)
            fprintf(stderr, "signal %d blocked\n", sigs[i]);
        assert_false(a);
        assert_false(b);
    }
    assert_false(stays_blocked(src, SIGRTMIN));
    assert_false(stays_blocked(src, SIGRTMAX));
    /* Its default action, as for any process; the run fails naming it. */
    assert_int_equal(kill(src, SIGALRM), 0);
    status = wait_exit(pid, 20);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    e = slurp(err);
    snprintf(want, sizeof(want),
             "flowrun: error: node 'src' instance 0 (pid %d) was killed by "
             "signal SIGALRM (14)",
             (int)src);
    tu_assert_contains(e, want);
    free(e);
    unlink(out);
    unlink(err);
    unlink(path);
    free(path);
}

/* The time the main thread of process `pid` was runnable so far, on a CPU
 * or waiting for one (/proc/PID/schedstat), in ns; -1 if gone. */
static long long
runnable_ns(pid_t pid)
{
    char path[64];
    unsigned long long on_cpu, waiting;
    FILE *f;
    int n;

    snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fscanf(f, "%llu %llu", &on_cpu, &waiting);
    fclose(f);
    return n == 2 ? (long long)(on_cpu + waiting) : -1;
}

/*
 * A worker of a balance=demand link that stops taking (SIGSTOP, a
 * debugger) is sent nothing more, and the others take all: the producer
 * sent it only while it had credit, but libzmq learns what its consumer
 * read only half its hwm at a time, and the socket's hwm was the credit
 * window: about one stop in two found the producer's send with credit
 * waiting for the stopped worker, and the whole graph with it, the other
 * worker idle. Each of five stops must leave the other worker computing.
 */
static void
test_faults_demand_stopped_worker(void **unused)
{
    char *path = tu_temp_file("[gen]\ntype = words\ncount = 1e12\n"
                              "chunk = 4000\n"
                              "[find]\ntype = palindromes\ninstances = 2\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = gen.out -> find.in "
                              "balance=demand hwm=256\n"
                              "push = find.out -> out.in\n");
    char out[128], err[128];
    int status, stalled = 0;
    pid_t pid, find0, find1;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    find0 = spawn_until_catching(path, out, err, "find[0]", SIGTERM, &pid);
    find1 = wait_catching(pid, "find[1]", SIGTERM);
    for (int i = 0; i < 5; i++) {
        long long t0, t1;
        usleep(200000); /* taking, with credits granted */
        assert_int_equal(kill(find0, SIGSTOP), 0);
        usleep(200000);
        t0 = runnable_ns(find1);
        usleep(500000);
        t1 = runnable_ns(find1);
        assert_int_equal(kill(find0, SIGCONT), 0);
        assert_true(t0 >= 0 && t1 >= 0);
        /* Stalled: asleep polling its input, runnable under 20 ms of the
         * 0.5 s. Computing, it is runnable throughout, on a CPU or waiting
         * for one. Its CPU time said less on a loaded machine: with two
         * busy loops of nice -20 on the test's CPU, 0 or 1 tick of 10 ms
         * in each of 5 stops, as the stall's. */
        if (t1 - t0 < 20000000) {
            fprintf(stderr, "stop %d: find[1] runnable %.3f s of 0.5 s\n", i,
                    (double)(t1 - t0) / 1e9);
            stalled++;
        }
    }
    assert_int_equal(kill(pid, SIGTERM), 0);
    status = wait_exit(pid, 20);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    assert_int_equal(stalled, 0);
    unlink(out);
    unlink(err);
    unlink(path);
    free(path);
}

/*
 * graphs/palindromes_search.ini: its workers are dealt chunks k mod 2 and
 * its collector writes in input order. With one worker stopped (SIGSTOP,
 * a debugger, or just no CPU), the other is paced: it stops once its
 * credit window is in the collector's keeping (flow_node_hold), instead of
 * running on while everything it sends waits in the collector's memory
 * for the stopped one's turn (the collector grew without bound). Each of
 * three stops must leave the other worker stalled, asleep, once it ran its
 * window ahead; resumed, both compute again.
 */
static void
test_faults_ordered_paces_ahead(void **unused)
{
    char *text = slurp(tu_src("graphs/palindromes_search.ini")), *path;
    char *words = strstr(text, "\nwords = 8000 ");
    char out[128], err[128];
    int status;
    pid_t pid, find0, find1;

    (void)unused;
    /* The shipped graph, endless (1e12 words), in chunks of 4096 words: a
     * window of them is made in milliseconds. */
    assert_non_null(words);
    memcpy(words + 9, "1e12", 4);
    path = tu_temp_file(text);
    free(text);
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    pid = spawn_files_with(path, out, err, "--set", "chunk=4096");
    find0 = wait_catching(pid, "find[0]", SIGTERM);
    find1 = wait_catching(pid, "find[1]", SIGTERM);
    for (int i = 0; i < 3; i++) {
        long long t0, t1;
        pid_t stopped = i % 2 ? find0 : find1, other = i % 2 ? find1 : find0;
        usleep(200000);
        t0 = runnable_ns(other);
        usleep(300000);
        t1 = runnable_ns(other);
        assert_true(t0 >= 0 && t1 >= 0);
        /* Both computing: the other runnable most of the time. */
        if (t1 - t0 < 30000000)
            fail_msg("round %d, both running: pid %d runnable %.3f s of "
                     "0.3 s",
                     i, (int)other, (double)(t1 - t0) / 1e9);
        assert_int_equal(kill(stopped, SIGSTOP), 0);
        /* It catches up with the stopped one (which may have been behind),
         * runs its window ahead, and stalls: runnable under 20 ms of a
         * 0.5 s span (as in test_faults_demand_stopped_worker), within
         * 10 s (under a sanitizer, on a loaded machine). Running ahead,
         * it is runnable throughout every span. */
        double limit = now_s() + 10;
        t1 = runnable_ns(other);
        do {
            t0 = t1;
            usleep(500000);
            t1 = runnable_ns(other);
            assert_true(t0 >= 0 && t1 >= 0);
        } while (t1 - t0 >= 20000000 && now_s() < limit);
        assert_int_equal(kill(stopped, SIGCONT), 0);
        if (t1 - t0 >= 20000000)
            fail_msg("round %d, pid %d stopped: pid %d runnable %.3f s of "
                     "the last 0.5 s of 10 s: not paced",
                     i, (int)stopped, (int)other, (double)(t1 - t0) / 1e9);
    }
    assert_int_equal(kill(pid, SIGTERM), 0);
    status = wait_exit(pid, 20);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    unlink(out);
    unlink(err);
    unlink(path);
    free(path);
}

/* Run `graph` (nodes talk and tout) with the option `opt` `arg` (arg NULL:
 * none), its standard output (`fd` 1) or error (`fd` 2) a FIFO of
 * `pipe_size` bytes (0: the default) that is never read while it runs;
 * once the instances are gone and the launcher is left with the report,
 * SIGTERM must end it, with exit 1 (the report asked for is lost). Frees
 * `graph`. */
static void
report_on_stalled(char *graph, int pipe_size, int fd, const char *opt,
                  const char *arg)
{
    char out[128], err[128], buf[65536];
    double limit = now_s() + 20;
    int rfd, status;
    pid_t pid;

    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    assert_int_equal(mkfifo(fd == 2 ? err : out, 0600), 0);
    /* never read while it runs */
    rfd = open(fd == 2 ? err : out, O_RDONLY | O_NONBLOCK);
    assert_true(rfd >= 0);
    if (pipe_size)
        assert_true(fcntl(rfd, F_SETPIPE_SZ, pipe_size) >= pipe_size);
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        close(rfd);
        setpgid(0, 0);
        execl(tu_flowrun(), tu_flowrun(), graph, "--plugin-path",
              FLOW_FIXTURE_PLUGIN_DIR, opt, arg, (char *)NULL);
        _exit(127);
    }
    spawned = pid;
    /* Something written (the chatter, the count, or the report once every
     * instance was reaped), then the instances gone: the launcher waits
     * for the FIFO. */
    while (ioctl(rfd, FIONREAD, &status) || status == 0) {
        if (now_s() > limit)
            fail_msg("nothing written on fd %d", fd);
        usleep(10000);
    }
    while (child_named(pid, "talk[0]") || child_named(pid, "tout[0]")) {
        if (now_s() > limit)
            fail_msg("the instances did not end");
        usleep(10000);
    }
    usleep(500000);
    assert_int_equal(kill(pid, SIGTERM), 0);
    status = wait_exit(pid, 10);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    while (read(rfd, buf, sizeof(buf)) > 0)
        ;
    close(rfd);
    run_cleanup(graph, out, err);
    unlink(graph);
    free(graph);
}

/* report_on_stalled of --stats on standard error. */
static void
stats_on_stalled_stderr(char *graph, int pipe_size)
{
    report_on_stalled(graph, pipe_size, 2, "--stats", NULL);
}

/*
 * --stats-json (--dot-stats alike) to /dev/stderr or /dev/fd/1, a pipe
 * nobody reads: the report was written with stdio, in a blocking write
 * with every signal blocked (only SIGKILL ended flowrun), as the --stats
 * table used to be. Now through a queue whose wait a stop signal gives
 * up. The JSON of 40 instances (14 KB) is larger than the 4 KiB pipe.
 */
static void
test_faults_stats_json_stalls(void **unused)
{
    static const char *const opts[][2] = {
        { "--stats-json", "/dev/stderr" },
        { "--stats-json", "/dev/fd/1" },
    };
    (void)unused;
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        report_on_stalled(tu_temp_file("[talk]\ntype = range\ncount = 1000\n"
                                       "instances = 40\n"
                                       "[tout]\ntype = collect\nmode = count\n"
                                       "[links]\npush = talk.out -> tout.in\n"),
                          4096, strstr(opts[i][1], "err") ? 2 : 1, opts[i][0],
                          opts[i][1]);
}

/*
 * --stats with a standard error nobody reads: after the run the launcher
 * waits for it to take what is queued, and a stop signal gives that up.
 * It then printed the table with stdio to the same stalled stderr, in a
 * write that never returned, every signal blocked: no SIGTERM ended
 * flowrun, only SIGKILL. Now the table is not printed (the report asked
 * for is lost: exit 1) and flowrun exits at once.
 */
static void
test_faults_stats_stderr_unread(void **unused)
{
    (void)unused;
    stats_on_stalled_stderr(
        tu_temp_file("[talk]\ntype = chatter\nbytes = 1\n"
                     "flood_ms = 1000\n"
                     "[tout]\ntype = collect\nmode = count\n"
                     "[links]\npush = talk.out -> tout.in\n"),
        0);
}

/*
 * --stats, a quiet run, and a standard error that stops taking the table
 * halfway (a pipe of 4 KiB, a table of 40 instances, about 7 KiB): the
 * table was printed with stdio, and its blocking write waited with every
 * signal blocked (only SIGKILL ended flowrun). It now goes through the
 * launcher's stderr queue, whose wait a stop signal gives up.
 */
static void
test_faults_stats_table_stalls(void **unused)
{
    (void)unused;
    stats_on_stalled_stderr(
        tu_temp_file("[talk]\ntype = range\ncount = 1000\n"
                     "instances = 40\n"
                     "[tout]\ntype = collect\nmode = count\n"
                     "[links]\npush = talk.out -> tout.in\n"),
        4096);
}

/*
 * --stats after a log line was lost: standard error a file that could not
 * take a 20 KB line of the chatter (a file size limit, as a full disk
 * does) and that has room again by the end (emptied). The table is
 * written whole, so the run is a success: it exited 1, the early write
 * error counted as the table's. Output to a limited file ignoring
 * SIGXFSZ gives EFBIG instead of the signal.
 */
static void
test_faults_stats_after_lost_log(void **unused)
{
    char *graph = tu_temp_file("[talk]\ntype = chatter\nbytes = 20000\n"
                               "chunk = 20000\npause_ms = 0\n"
                               "[src]\ntype = lines\n"
                               "[tout]\ntype = collect\nmode = count\n"
                               "[sout]\ntype = collect\nmode = count\n"
                               "[links]\npush = talk.out -> tout.in\n"
                               "push = src.out -> sout.in\n");
    char out[128], err[128], *e;
    int in[2], status;
    double limit = now_s() + 20;
    struct stat st;
    pid_t pid;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    assert_int_equal(pipe(in), 0);
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit fsize = { 8192, 8192 };
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int ef = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        if (o < 0 || ef < 0 || dup2(o, 1) < 0 || dup2(ef, 2) < 0 ||
            dup2(in[0], 0) < 0 || setrlimit(RLIMIT_FSIZE, &fsize))
            _exit(126);
        close(in[1]);
        signal(SIGXFSZ, SIG_IGN);
        setpgid(0, 0);
        execl(tu_flowrun(), tu_flowrun(), graph, "--plugin-path",
              FLOW_FIXTURE_PLUGIN_DIR, "--stats", (char *)NULL);
        _exit(127);
    }
    spawned = pid;
    close(in[0]);
    /* The chatter's line (one write, all in the pipe at once) met the
     * limit: what fits is written, then the launcher's next write fails
     * and the rest of the queue is dropped. */
    while (stat(err, &st) || st.st_size < 8192) {
        if (now_s() > limit)
            fail_msg("the chatter's line did not fill the file");
        usleep(10000);
    }
    usleep(300000);
    assert_int_equal(truncate(err, 0), 0);
    close(in[1]); /* src's input ends: so does the run */
    status = wait_exit(pid, 20);
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "status %d, stderr:\n%s\n", status, e);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tu_assert_contains(e, "node[instance]");
    tu_assert_contains(e, "\nsout[0] ");
    free(e);
    run_cleanup(graph, out, err);
    unlink(graph);
    free(graph);
}

/*
 * --stats-json to a disk that cannot take it (a file size limit, as a full
 * disk): the run says so and exits 1, and the report of the run before is
 * left as it was, its mode too, with no temporary file beside it (the file
 * was truncated, then cut: an empty or partial report). Written, the new
 * report replaces it with the old mode.
 */
static void
test_faults_stats_json_kept_on_full_disk(void **unused)
{
    char *graph = tu_temp_file("[src]\ntype = range\ncount = 30\n"
                               "instances = 10\n"
                               "[out]\ntype = collect\nmode = count\n"
                               "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], json[128], *e, *j;
    struct stat st;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    snprintf(json, sizeof(json), "%s/stats.json", run_tmp);
    for (int limited = 1; limited >= 0; limited--) {
        int fd = open(json, O_WRONLY | O_CREAT | O_TRUNC, 0600), status;
        pid_t pid;
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "old\n", 4), 4);
        assert_int_equal(fchmod(fd, 0640), 0);
        close(fd);
        fflush(NULL);
        pid = tu_fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* Room for the output and an error line, not the report. */
            struct rlimit fsize = { 2048, 2048 };
            int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int ef = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (o < 0 || ef < 0 || dup2(o, 1) < 0 || dup2(ef, 2) < 0 ||
                (limited && setrlimit(RLIMIT_FSIZE, &fsize)))
                _exit(126);
            signal(SIGXFSZ, SIG_IGN);
            execl(tu_flowrun(), tu_flowrun(), graph, "--stats-json", json,
                  (char *)NULL);
            _exit(127);
        }
        spawned = pid;
        status = wait_exit(pid, 20);
        e = slurp(err);
        j = slurp(json);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != limited)
            fprintf(stderr, "status %d, stderr:\n%s\n", status, e);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), limited);
        if (limited) {
            tu_assert_contains(e, "cannot write '");
            assert_string_equal(j, "old\n");
        } else {
            assert_int_equal(j[0], '{');
            tu_assert_contains(j, "\"schema\": \"flow-stats-1\"");
        }
        assert_int_equal(stat(json, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        /* Nothing beside it: run_tmp holds out, err and the report. */
        assert_int_equal(dir_entries(run_tmp), 3);
        free(e);
        free(j);
    }
    unlink(json);
    run_cleanup(graph, out, err);
    unlink(graph);
    free(graph);
}

/* Kill the guard `guard` of a run and wait (10 s at most) for flowrun's
 * warning about it in the file `err`. */
static void
kill_guard(pid_t guard, const char *err)
{
    char want[200], *e;
    double limit = now_s() + 10;

    assert_int_equal(kill(guard, SIGKILL), 0);
    snprintf(want, sizeof(want),
             "flowrun: warning: the guard of the run's process group "
             "(flowrun-guard, pid %d) was killed by signal SIGKILL (9)",
             (int)guard);
    for (;;) {
        e = slurp(err);
        if (strstr(e, want))
            break;
        free(e);
        assert_true(now_s() < limit);
        usleep(10000);
    }
    free(e);
}

/*
 * The guard killed, then the run stopped: flowrun kills the run's process
 * group at its end, by its number, the guard's pid. The guard must stay
 * unreaped until then, or its pid may be another process group's by the
 * time of that kill. Made to happen: flowrun is held at its end by a FIFO
 * as --stats-json (opened when written) while a process that takes the
 * guard's pid (ns_last_pid, root only) leads a session of its own.
 */
static void
test_faults_guard_killed_pid_reused(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], fifo[160], buf[4096];
    pid_t pid, guard = 0, kids[8], other;
    int n, fd, status;
    double limit;
    FILE *last;

    (void)unused;
    last = fopen("/proc/sys/kernel/ns_last_pid", "r+");
    if (!last) {
        free(path);
        skip(); /* not root, or no such file: pids cannot be chosen */
    }
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    snprintf(fifo, sizeof(fifo), "%s/stats.fifo", run_tmp);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid = spawn_files_with(path, out, err, "--stats-json", fifo);
    limit = now_s() + 10;
    while ((guard = child_named(pid, "flowrun-guard")) <= 0 ||
           children_of(pid, kids, 8) < 3) {
        assert_true(now_s() < limit);
        usleep(10000);
    }
    kill_guard(guard, err);
    /* Stopped: the instances end, flowrun waits at the FIFO. */
    assert_int_equal(kill(pid, SIGTERM), 0);
    limit = now_s() + 10;
    for (;;) {
        int live = 0;
        n = children_of(pid, kids, 8);
        for (int i = 0; i < n; i++) {
            pid_t pp;
            char st;
            if (proc_stat(kids[i], &pp, &st, NULL) && st != 'Z')
                live++;
        }
        if (live == 0)
            break;
        assert_true(now_s() < limit);
        usleep(10000);
    }
    usleep(100000);
    /* The next process gets the guard's pid, if it is free. */
    fprintf(last, "%d", (int)guard - 1);
    fclose(last);
    other = tu_fork();
    assert_true(other >= 0);
    if (other == 0) {
        setsid(); /* a process group of its own, numbered as its pid */
        for (;;)
            pause();
    }
    usleep(100000);
    fd = open(fifo, O_RDONLY);
    assert_true(fd >= 0);
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
    status = wait_exit(pid, 20);
    spawned = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    /* The other process lives: flowrun killed no group but its own. */
    usleep(100000);
    n = waitpid(other, &status, WNOHANG);
    if (n != 0)
        fprintf(stderr, "pid %d (the guard's was %d) ended: status %#x\n",
                (int)other, (int)guard, status);
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
    assert_int_equal(n, 0);
    assert_int_equal(tu_count_procs(path), 0);
    unlink(fifo);
    unlink(out);
    unlink(err);
    unlink(path);
    free(path);
}

/* The guard killed in the middle of a run: flowrun says so, the run goes
 * on, and at its end flowrun kills what a node started itself. */
static void
test_faults_guard_killed(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[talk]\ntype = chatter\nbytes = 1\n"
                              "linger_ms = 60000\n"
                              "[said]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n"
                              "push = talk.out -> said.in\n");
    char out[128], err[128];
    pid_t pid, guard, kids[8], grandchild = 0;
    int n, status;
    double limit;

    (void)unused;
    pid = spawn_run(path, out, err);
    wait_procs(path, 4);
    /* The guard is forked before the instances but names itself: on a
     * loaded machine the instances may run first (a CI run under ASan saw
     * no flowrun-guard yet). */
    limit = now_s() + 10;
    while ((guard = child_named(pid, "flowrun-guard")) <= 0) {
        assert_true(now_s() < limit);
        usleep(10000);
    }
    /* chatter's child: a process a node started */
    limit = now_s() + 10;
    while (!grandchild) {
        n = children_of(pid, kids, 8);
        for (int i = 0; i < n && !grandchild; i++)
            if (kids[i] != guard)
                children_of(kids[i], &grandchild, 1);
        assert_true(grandchild || now_s() < limit);
        usleep(10000);
    }
    kill_guard(guard, err);
    /* the run goes on: flowrun, 4 instances and chatter's child */
    assert_int_equal(tu_count_procs(path), 6);
    assert_int_equal(kill(pid, SIGTERM), 0);
    status = wait_exit(pid, 20);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    limit = now_s() + 1.0;
    for (;;) {
        pid_t pp;
        char st;
        if (!proc_stat(grandchild, &pp, &st, NULL) || st == 'Z')
            break;
        assert_true(now_s() < limit);
        usleep(5000);
    }
    assert_int_equal(tu_count_procs(path), 0);
    unlink(out);
    unlink(err);
    unlink(path);
    free(path);
}

/* SIGKILL of flowrun itself: every child disappears within a second, and
 * so does a process a node started (the guard of the run's process group
 * kills it), and the next run removes the run directory it left. */
static void
test_faults_sigkill_flowrun(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[mid]\ntype = jitter\ninstances = 2\n"
                              "[f]\ntype = fault\naction = hang\n"
                              "after = 100\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[talk]\ntype = chatter\nbytes = 1\n"
                              "linger_ms = 60000\n"
                              "[said]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in hwm=1\n"
                              "push = mid.out -> f.in hwm=1\n"
                              "push = f.out -> out.in\n"
                              "push = talk.out -> said.in\n");
    char out[128], err[128], *small;
    pid_t pid, kids[16];
    int n, status, alive;
    double limit, t;

    (void)unused;
    pid = spawn_run(path, out, err);
    wait_procs(path, 8);
    usleep(300000);
    n = children_of(pid, kids, 16);
    assert_int_equal(n, 8); /* 7 instances and the guard */
    /* chatter's child: a process a node started */
    limit = now_s() + 10;
    for (int found = 0; !found; usleep(10000)) {
        for (int i = 0; i < 8 && !found; i++)
            found = children_of(kids[i], &kids[8], 1);
        assert_true(found || now_s() < limit);
    }
    n = 9;
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    spawned = 0;
    limit = now_s() + 1.0;
    do {
        alive = 0;
        for (int i = 0; i < n; i++) {
            pid_t pp;
            char st;
            /* A zombie (no reaper in a container) counts as gone. */
            if (proc_stat(kids[i], &pp, &st, NULL) && st != 'Z')
                alive++;
        }
        if (alive)
            usleep(5000);
    } while (alive && now_s() < limit);
    assert_int_equal(alive, 0);
    assert_int_equal(tu_count_procs(path), 0);
    unlink(path);
    free(path);

    /* A killed flowrun cannot remove its run directory; the next run in
     * the same place does, and a run after that leaves alone the one of
     * that run, still going. */
    unlink(out);
    unlink(err);
    assert_int_equal(dir_entries(run_tmp), 1);
    path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                        "[out]\ntype = collect\nmode = count\n"
                        "[links]\npush = src.out -> out.in\n");
    small = tu_temp_file("[src]\ntype = range\ncount = 5\n"
                         "[out]\ntype = collect\nmode = count\n"
                         "[links]\npush = src.out -> out.in\n");
    pid = spawn_run(path, out, err);
    wait_procs(path, 3);
    /* Its run dir, out and err: the killed run's is gone. */
    assert_int_equal(dir_entries(run_tmp), 3);
    {
        const char *args[] = { small, NULL };
        tu_result_t r;
        assert_int_equal(tu_run(&r, 30, args), 0);
        assert_string_equal(r.out, "5\n");
        tu_result_release(&r);
    }
    assert_int_equal(dir_entries(run_tmp), 3); /* the live run's stays */
    status = stop_running(path, pid, 3, SIGTERM, &t);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    run_cleanup(path, out, err); /* and the live one's went at its end */
    unlink(path);
    unlink(small);
    free(path);
    free(small);
}

/* Make directory `dir` (mode `mode`) in run_tmp holding a file "lock" with
 * `lock` and a file `file`. */
static void
plant(const char *dir, mode_t mode, const char *lock, const char *file)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", run_tmp, dir);
    assert_int_equal(mkdir(path, mode), 0);
    assert_int_equal(chmod(path, mode), 0); /* whatever the umask */
    snprintf(path, sizeof(path), "%s/%s/lock", run_tmp, dir);
    assert_non_null(f = fopen(path, "w"));
    fputs(lock, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/%s/%s", run_tmp, dir, file);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
}

/* Make directory `dir` (mode 0700) in run_tmp, with a file `file` if not
 * NULL and no lock, last changed `age` seconds ago. */
static void
plant_lockless(const char *dir, const char *file, int age)
{
    char path[256];
    struct timespec ts[2];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", run_tmp, dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chmod(path, 0700), 0);
    if (file) {
        snprintf(path, sizeof(path), "%s/%s/%s", run_tmp, dir, file);
        assert_non_null(f = fopen(path, "w"));
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/%s", run_tmp, dir);
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= age;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* Whether run_tmp/`rel` exists (not following a last symlink). */
static bool
exists(const char *rel)
{
    char path[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", run_tmp, rel);
    return lstat(path, &st) == 0;
}

/*
 * What a run removes of the run directories it finds: only a directory of
 * ours, mode 0700, whose "lock" says it is a run directory and is free, or
 * one being made or removed (.flow-new-, .flow-old-) that has no lock and
 * has not changed for a minute.
 * Not a symlink named like one (to a directory that looks stale), not one
 * whose lock file is something else, not one with another mode.
 */
static void
test_faults_sweep_leaves_others(void **unused)
{
    static const char magic[] = "flowrun run directory\n";
    char path[256];
    tu_result_t r;

    (void)unused;
    plant("victim", 0700, magic, "precious");
    snprintf(path, sizeof(path), "%s/flow-aaaaaa", run_tmp);
    assert_int_equal(symlink("victim", path), 0);
    plant("flow-bbbbbb", 0700, "another run directory\n", "keep");
    plant("flow-cccccc", 0755, magic, "keep");
    plant("flow-dddddd", 0700, magic, "0.0");
    /* Without a lock: a run killed while making or removing its directory
     * (stale after a minute), one being made (fresh); a run directory of
     * an older flowrun, or another program's (mktemp -d flow-XXXXXX),
     * however old, stays. */
    plant_lockless(".flow-new-eeeeee", "lock.new", 120);
    plant_lockless(".flow-old-ffffff", NULL, 120);
    plant_lockless(".flow-new-gggggg", NULL, 2);
    plant_lockless("flow-hhhhhh", "notes", 120);
    assert_int_equal(tu_run_graph(&r, 30,
                                  "[src]\ntype = range\ncount = 5\n"
                                  "[out]\ntype = collect\nmode = count\n"
                                  "[links]\npush = src.out -> out.in\n",
                                  NULL),
                     0);
    tu_result_release(&r);
    assert_true(exists("victim/precious"));
    assert_true(exists("victim/lock"));
    assert_true(exists("flow-aaaaaa"));
    assert_true(exists("flow-bbbbbb/keep"));
    assert_true(exists("flow-cccccc/keep"));
    assert_false(exists("flow-dddddd")); /* stale: removed */
    assert_false(exists(".flow-new-eeeeee"));
    assert_false(exists(".flow-old-ffffff"));
    assert_true(exists(".flow-new-gggggg"));
    assert_true(exists("flow-hhhhhh/notes"));
    assert_int_equal(dir_entries(run_tmp), 6);
}

/* ---- Load ---------------------------------------------------------------- */

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* 200 processes (10 sources fanning out to 189 workers fanning in to one
 * collector) on however few cores: every item exactly once, clean. */
static void
test_faults_load_200_processes(void **unused)
{
    const int64_t n = 20000;
    char text[512];
    size_t nl;
    char **lines;
    int64_t *v;
    run_t run;

    (void)unused;
    snprintf(text, sizeof(text),
             "[src]\ntype = range\ninstances = 10\ncount = %lld\n"
             "[mid]\ntype = jitter\ninstances = 189\nmax_us = 200\n"
             "[out]\ntype = collect\n"
             "[links]\npush = src.out -> mid.in batch=10 hwm=4\n"
             "push = mid.out -> out.in hwm=4\n",
             (long long)n);
    if (run_graph(&run, 120, text, NULL) != 0)
        fprintf(stderr, "stderr:\n%s\n", run.r.err);
    assert_int_equal(run.r.status, 0);
    lines = tu_lines(run.r.out, &nl);
    assert_int_equal(nl, (size_t)n);
    v = malloc(sizeof(*v) * nl);
    for (size_t i = 0; i < nl; i++)
        v[i] = strtoll(lines[i], NULL, 10);
    qsort(v, nl, sizeof(*v), cmp_i64);
    for (size_t i = 0; i < nl; i++)
        assert_int_equal(v[i], (int64_t)i);
    fprintf(stderr, "200 processes: %.2fs\n", run.r.seconds);
    free(v);
    free(lines);
    tu_result_release(&run.r);
}

/*
 * Run the graph `text` twice: under a soft limit on open files of `soft`,
 * where it must run (its stdout is returned, malloc'ed), and in a child
 * that cannot raise it back under a hard limit of `hard`, where it must
 * exit `code` with no output and a stderr equal to want[0] (`exact`) or holding
 * every string of the NULL-ended `want`. Skips where the hard limit is
 * below 1024.
 */
static char *
run_under_file_limits_opt(const char *text, const char *opt, rlim_t soft,
                          rlim_t hard, const char *const *want, bool exact,
                          int code)
{
    struct rlimit old, rl;
    run_t run;
    int status;
    char *out;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    if (old.rlim_max != RLIM_INFINITY && old.rlim_max < 1024)
        skip();
    rl = old;
    rl.rlim_cur = soft;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    status = run_graph(&run, 60, text, opt, opt ? "tcp" : NULL, NULL);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    if (status != 0)
        fprintf(stderr, "%s\n", run.r.err);
    assert_int_equal(status, 0);
    out = strdup(run.r.out);
    tu_result_release(&run.r);

    fflush(NULL);
    pid_t pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *path = tu_temp_file(text);
        const char *args[] = { path, opt, opt ? "tcp" : NULL, NULL };
        tu_result_t r;
        bool ok;
        rl.rlim_cur = rl.rlim_max = hard;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            _exit(3);
        /* None of the test's own descriptors (ctest's): flowrun counts
         * what it inherits. */
        closefrom(3);
        tu_run(&r, 60, args);
        unlink(path);
        ok = r.status == code && !r.outlen &&
             (!exact || !strcmp(r.err, want[0]));
        for (size_t i = 0; ok && want[i]; i++)
            ok = strstr(r.err, want[i]) != NULL;
        if (!ok) {
            fprintf(stderr, "status %d, stderr:\n%s\n", r.status, r.err);
            _exit(1);
        }
        _exit(0);
    }
    child_exited_0(pid);
    assert_int_equal(dir_entries(run_tmp), 0);
    return out;
}

/* run_under_file_limits_opt over ipc. */
static char *
run_under_file_limits(const char *text, rlim_t soft, rlim_t hard,
                      const char *const *want, bool exact, int code)
{
    return run_under_file_limits_opt(text, NULL, soft, hard, want, exact, code);
}

/*
 * The launcher holds a descriptor per instance. Under a low soft limit on
 * open files it raises the limit itself and the graph runs; under a low
 * hard limit it says so, in one line, before anything forks, instead of
 * running with instances it cannot watch: exit 2, the run cannot start
 * here (no node failed).
 */
static void
test_faults_open_file_limit(void **unused)
{
    static const char *const want[] = {
        "flowrun: error: the graph has 71 processes; the launcher needs 103 "
        "open files, and the limit is 64 (ulimit -n)\n",
        NULL
    };
    char *out;

    (void)unused;
    out = run_under_file_limits("[r]\ntype = pid\ninstances = 70\n"
                                "[out]\ntype = collect\n"
                                "[links]\npush = r.out -> out.in\n",
                                64, 64, want, true, 2);
    assert_int_equal(count_str(out, "\n"), 70);
    free(out);
}

/*
 * Descriptors the caller holds are the run's too (every process inherits
 * them): counted against the limit, and said. With 40 held under a hard
 * limit of 64, a graph of 21 processes (21 + 32 of the launcher's own
 * would fit) cannot start: exit 2 before anything forks, naming them. It
 * failed later, while forking ('cannot start node ... pipe: Too many open
 * files', exit 1; found by the scale review).
 */
static void
test_faults_open_file_limit_inherited(void **unused)
{
    char *path = tu_temp_file("[r]\ntype = pid\ninstances = 20\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = r.out -> out.in\n");
    struct rlimit rl;
    pid_t pid;

    (void)unused;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1024)
        skip();
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *args[] = { path, NULL };
        tu_result_t r;
        closefrom(3); /* the test's own (ctest's): exactly 40 held */
        for (int i = 0; i < 40; i++)
            if (open("/dev/null", O_RDONLY) < 0)
                _exit(3);
        rl.rlim_cur = rl.rlim_max = 64;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            _exit(3);
        tu_run(&r, 60, args);
        if (r.status != 2 || r.outlen ||
            strcmp(r.err, "flowrun: error: the graph has 21 processes; the "
                          "launcher needs 93 open files (40 of them open "
                          "already: the caller's), and the limit is 64 "
                          "(ulimit -n)\n")) {
            fprintf(stderr, "status %d, stderr:\n%s\n", r.status, r.err);
            _exit(1);
        }
        _exit(0);
    }
    child_exited_0(pid);
    assert_int_equal(dir_entries(run_tmp), 0);
    unlink(path);
    free(path);
}

/*
 * Under a limit on memory (ulimit -v 20000) the instances start but the
 * threads of their ZeroMQ context cannot: libzmq aborts then (SIGABRT,
 * "Resource temporarily unavailable (src/thread.cpp:269)"); the node now
 * fails first, saying why, exit 1 and no signal. Not under ASan, which
 * cannot start under such a limit at all.
 */
static void
test_faults_no_threads(void **unused)
{
    char *path;
    pid_t pid;

    (void)unused;
    if (FAULTS_SANITIZED)
        skip();
    path = tu_temp_file("[src]\ntype = range\ncount = 1000\n"
                        "[out]\ntype = collect\nmode = count\n"
                        "[links]\npush = src.out -> out.in\n");
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = { 20000 * 1024, 20000 * 1024 };
        const char *args[] = { path, NULL };
        tu_result_t r;
        if (setrlimit(RLIMIT_AS, &rl))
            _exit(3);
        tu_run(&r, 60, args);
        if (r.status != 1 ||
            !strstr(r.err, "error: cannot start the threads ZeroMQ needs: ") ||
            strstr(r.err, "SIGABRT") || strstr(r.err, "thread.cpp")) {
            fprintf(stderr, "status %d, stderr:\n%s\n", r.status, r.err);
            _exit(1);
        }
        _exit(0);
    }
    child_exited_0(pid);
    assert_int_equal(dir_entries(run_tmp), 0);
    unlink(path);
    free(path);
}

/*
 * Under a limit on processes (ulimit -u) the other instances of the run
 * count too: one may find room for the two threads of its check, and none
 * when libzmq starts its context's threads just after (thread_fail.so: the
 * third pthread_create of out[0] fails with EAGAIN). libzmq aborts there
 * ("Resource temporarily unavailable (src/thread.cpp:269)"): the node must
 * fail saying why, exit 1, not die of SIGABRT (a core dump where ulimit -c
 * allows one). Seen as user nobody under ulimit -u 16 and 18 with range ->
 * 4 replicas -> collect: 4 runs in 6 died so.
 */
static void
test_faults_threads_taken(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in\n");
    char out[128], err[128], *e;
    pid_t pid;
    int status;

    (void)unused;
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    setenv("FLOW_TEST_THREAD_FAIL_IN", "out[0]", 1);
    setenv("FLOW_TEST_THREAD_FAIL_AFTER", "2", 1);
    pid = spawn_preloaded(FLOW_FIXTURE_THREAD_FAIL, path, out, err, NULL, NULL);
    unsetenv("FLOW_TEST_THREAD_FAIL_IN");
    unsetenv("FLOW_TEST_THREAD_FAIL_AFTER");
    status = wait_exit(pid, 20);
    e = slurp(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
        fail_msg("status %d, stderr:\n%s", status, e);
    tu_assert_contains(e, "error: cannot start the threads ZeroMQ needs: ");
    tu_assert_contains(e, "flowrun: error: node 'out' instance 0 (pid ");
    tu_assert_contains(e, ") exited with status 1\n");
    if (strstr(e, "SIGABRT"))
        fail_msg("stderr:\n%s", e);
    run_cleanup(path, out, err);
    free(e);
    unlink(path);
    free(path);
}

/* The processes (and threads) whose real user is `uid`, from /proc. */
static int
uid_tasks(uid_t uid)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d))) {
        char path[300], line[256];
        unsigned long real;
        FILE *f;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
        if (!(f = fopen(path, "r")))
            continue; /* gone meanwhile */
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "Uid: %lu", &real) == 1) {
                n += real == (unsigned long)uid;
                break;
            }
        fclose(f);
    }
    closedir(d);
    return n;
}

/*
 * When fork() fails (a limit on processes, ulimit -u), the run fails with
 * status 1 and a line naming the node and instance it could not start,
 * stops the instances it did start, and leaves no process and no run
 * directory behind. RLIMIT_NPROC does not bind root, so the run goes as a
 * user of its own, whose every process and thread counts: the test's child
 * and flowrun are 2, the guard 3, then the instances and their threads.
 * Limits 2 and 3 fail at a known fork (the guard's, the first instance's);
 * above, an instance may also fail to start its threads first. Not under
 * the sanitizers, whose runtime needs threads of its own at exit.
 */
static void
test_faults_fork_fails(void **unused)
{
    char dir[] = "/tmp/flow-test-nproc-XXXXXX", *path, want[256];
    uid_t uid = 61000 + (uid_t)(getpid() % 1000);

    (void)unused;
    if (FAULTS_SANITIZED || geteuid() != 0)
        skip();
    assert_int_equal(uid_tasks(uid), 0);
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chown(dir, uid, uid), 0);
    path = tu_temp_file("[src]\ntype = range\ncount = 1000\n"
                        "[a]\ntype = split\nchunk = 10\n"
                        "[b]\ntype = split\nchunk = 10\n"
                        "[out]\ntype = collect\nmode = count\n"
                        "[links]\npush = src.out -> a.in\n"
                        "push = a.out -> b.in\npush = b.out -> out.in\n");
    assert_int_equal(chmod(path, 0644), 0);
    for (rlim_t lim = 2; lim <= 9; lim++) {
        pid_t pid;

        if (lim == 2)
            snprintf(want, sizeof(want),
                     "flowrun: error: cannot start the run: fork: %s\n",
                     strerror(EAGAIN));
        else
            snprintf(want, sizeof(want),
                     "flowrun: error: cannot start node 'src' instance 0: "
                     "fork: %s\n",
                     strerror(EAGAIN));
        fflush(NULL);
        pid = tu_fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct rlimit rl = { lim, lim };
            const char *args[] = { path, NULL };
            tu_result_t r;
            bool ok;
            if (setgroups(0, NULL) || setgid(uid) || setuid(uid) ||
                setrlimit(RLIMIT_NPROC, &rl) || setenv("TMPDIR", dir, 1) ||
                unsetenv("XDG_RUNTIME_DIR"))
                _exit(3);
            tu_run(&r, 60, args);
            ok = r.status == 1 && !r.outlen &&
                 (lim <= 3 ? !strcmp(r.err, want)
                           : strstr(r.err, "cannot start ") != NULL);
            if (!ok) {
                fprintf(stderr, "limit %u: status %d, stderr:\n%s\n",
                        (unsigned)lim, r.status, r.err);
                _exit(1);
            }
            _exit(0);
        }
        child_exited_0(pid);
        /* The guard ends when flowrun does, not before: give it a moment. */
        for (int i = 0; i < 500 && uid_tasks(uid); i++)
            usleep(10000);
        assert_int_equal(uid_tasks(uid), 0);
        assert_int_equal(dir_entries(dir), 0);
    }
    assert_int_equal(rmdir(dir), 0);
    unlink(path);
    free(path);
}

/*
 * Over TCP the launcher's rendezvous also holds two connections per
 * instance: 3 descriptors each. Under a soft limit of 128 (enough for 71
 * instances over ipc) it raises the limit itself and the graph runs
 * (libzmq aborted the launcher, "Too many open files", leaving the run
 * directory); under a hard limit of 128 it says so before anything forks.
 */
static void
test_faults_open_file_limit_tcp(void **unused)
{
    static const char *const want[] = {
        "flowrun: error: the graph has 71 processes; the launcher needs 245 "
        "open files, and the limit is 128 (ulimit -n)\n",
        NULL
    };
    char *out;

    (void)unused;
    out = run_under_file_limits_opt("[r]\ntype = pid\ninstances = 70\n"
                                    "[out]\ntype = collect\n"
                                    "[links]\npush = r.out -> out.in\n",
                                    "--transport", 128, 128, want, true, 2);
    assert_int_equal(count_str(out, "\n"), 70);
    free(out);
}

/*
 * An instance holds descriptors for its sockets: a hub of 100 pair links
 * (the sieve's main) needs over 300, more than a soft limit of 256. It
 * raises the limit itself and the graph runs (libzmq aborted: "Too many
 * open files"); under a hard limit of 200, which it cannot raise, the
 * launcher says so before anything forks (exit 2; it was the hub failing
 * at run time, exit 1).
 * The oracle: pi(10^6) = 78498.
 */
static void
test_faults_hub_open_files(void **unused)
{
    static const char *const want[] = {
        "flowrun: error: node 'main' needs about 334 open files for its 109 "
        "sockets, and the limit is 200 (ulimit -n)\n",
        NULL
    };
    char *out;

    (void)unused;
    out = run_under_file_limits("[main]\ntype = primes\nlimit = 1000000\n"
                                "output = count\n"
                                "[seg]\ntype = sieve\ninstances = 100\n"
                                "[out]\ntype = collect\n"
                                "[links]\npair = main.seg <-> seg.coord\n"
                                "push = main.out -> out.in\n",
                                256, 200, want, true, 2);
    assert_string_equal(out, "78498\n");
    free(out);
}

/*
 * `ulimit -n 64` (soft and hard) and a small graph: each instance holds
 * 13 to 24 descriptors (/proc/PID/fd: 11 of the framework's own over ipc,
 * 19 over TCP, and its links'), the launcher 11 to 21, so it runs. It was
 * refused (exit 2, "node 'src' needs about 66 open files for its 9
 * sockets, and the limit is 64"): 64 for the node's own files were counted
 * as needed, not as room to give where the hard limit allows.
 * The oracle: 0 + 1 + ... + 99999 = 4999950000, over ipc and TCP.
 */
static void
test_faults_small_graph_low_file_limit(void **unused)
{
    static const char *const transports[] = { "ipc", "tcp" };
    char *path = tu_temp_file("[src]\ntype = range\ncount = 100000\n"
                              "[mid]\ntype = jitter\ninstances = 2\n"
                              "[out]\ntype = collect\nmode = sum\n"
                              "[links]\npush = src.out -> mid.in\n"
                              "push = mid.out -> out.in\n");
    struct rlimit old;

    (void)unused;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    if (old.rlim_max != RLIM_INFINITY && old.rlim_max < 64)
        skip();
    for (size_t i = 0; i < 2; i++) {
        fflush(NULL);
        pid_t pid = tu_fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct rlimit rl = { 64, 64 };
            const char *args[] = { path, "--transport", transports[i], NULL };
            tu_result_t r;
            if (setrlimit(RLIMIT_NOFILE, &rl))
                _exit(3);
            tu_run(&r, 60, args);
            if (r.status != 0 || strcmp(r.out, "4999950000\n")) {
                fprintf(stderr, "%s: status %d, stdout '%s', stderr:\n%s\n",
                        transports[i], r.status, r.out, r.err);
                _exit(1);
            }
            _exit(0);
        }
        child_exited_0(pid);
        assert_int_equal(dir_entries(run_tmp), 0);
    }
    unlink(path);
    free(path);
}

/* VmRSS of `pid` in kB, or -1. */
static long
rss_kb(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    long kb = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/*
 * A fast source and a slow sink: backpressure (the high-water marks) keeps
 * every process's memory bounded. Samples the resident size of flowrun and
 * its children for two seconds. Without backpressure the source makes
 * about a gigabyte a second.
 */
static void
test_faults_slow_sink_rss(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 1e15\n"
                              "[slow]\ntype = jitter\nmax_us = 2000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> slow.in "
                              "batch=4096\n"
                              "push = slow.out -> out.in\n");
    /* Generous: a node needs a few MB; sanitizers add their own. */
    const long bound_kb = 64 * 1024;
    char out[128], err[128], asan[1024], *o;
    char *old_asan =
        getenv("ASAN_OPTIONS") ? strdup(getenv("ASAN_OPTIONS")) : NULL;
    pid_t pid, kids[8];
    long max_kb = 0;
    int n = 0, status;
    long long count;
    double end;

    (void)unused;
    /* AddressSanitizer keeps up to 256 MB of freed memory in quarantine:
     * cap that (a later option wins), so only real growth counts. */
    snprintf(asan, sizeof(asan), "%s%squarantine_size_mb=16",
             old_asan ? old_asan : "", old_asan && *old_asan ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    pid = spawn_run(path, out, err);
    if (old_asan)
        setenv("ASAN_OPTIONS", old_asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(old_asan);
    wait_procs(path, 4);
    end = now_s() + 2.0;
    while (now_s() < end) {
        n = children_of(pid, kids, 8);
        assert_int_equal(n, 4); /* 3 instances and the guard */
        for (int i = -1; i < n; i++) {
            long kb = rss_kb(i < 0 ? pid : kids[i]);
            if (kb > max_kb)
                max_kb = kb;
            if (kb >= bound_kb)
                fprintf(stderr, "pid %d: VmRSS %ld kB\n",
                        (int)(i < 0 ? pid : kids[i]), kb);
            assert_true(kb < bound_kb);
        }
        usleep(50000);
    }
    assert_true(max_kb > 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    status = wait_exit(pid, 10);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    o = slurp(out);
    assert_int_equal(sscanf(o, "%lld", &count), 1);
    assert_true(count > 0);
    fprintf(stderr, "slow sink: largest VmRSS %ld kB, %lld items\n", max_kb,
            count);
    free(o);
    run_cleanup(path, out, err);
    unlink(path);
    free(path);
}

/* Busy loop for `secs` seconds of the monotonic clock. */
static void
spin(double secs)
{
    for (double end = now_s() + secs; now_s() < end;)
        ;
}

/*
 * The echo of a stop signal `sig` (SIGINT or SIGQUIT) read late. flowrun
 * reads its signals when it gets a CPU: with 36 busy loops on the 2 CPUs a
 * second SIGHUP sent within 0.1 s of the first (test_faults_signal_echo, 1
 * run of 19) was read over 0.1 s after it and taken for a second stop, the
 * instances killed and the output lost. Modelled: flowrun's thread on CPU
 * 0, the signal; once it has said it stops and sleeps, a busy loop of
 * real-time priority (SCHED_FIFO) takes CPU 0 for 0.3 s, and the signal
 * again from this process (on CPU 1), within 0.1 s of the first, wakes
 * flowrun while it cannot run. One stop: SIGINT 130, the output drained,
 * nothing killed; SIGQUIT 131, the quitter instance, which takes SIGQUIT
 * and ends 300 ms later, not killed (timeout -s QUIT sends it twice: a
 * second would kill every instance still writing its core dump). Needs two
 * CPUs and SCHED_FIFO (skipped without).
 */
static void
echo_read_late(int sig)
{
    bool quit = sig == SIGQUIT;
    char *path =
        tu_temp_file(quit ? "[q]\ntype = quitter\nlinger_ms = 300\n"
                          : "[src]\ntype = range\ncount = 1e15\n"
                            "[mid]\ntype = fault\naction = none\n"
                            "work_us = 5000\n"
                            "[out]\ntype = collect\nmode = count\n"
                            "[links]\npush = src.out -> mid.in batch=1 "
                            "hwm=50 balance=demand\n"
                            "push = mid.out -> out.in\n");
    char out[128], err[128], *o, *e, c;
    int go[2], ready[2], status, tries = 0;
    cpu_set_t cpu0, cpu1, mine;
    pid_t pid, hog;
    double t, gap;

    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        skip();
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    CPU_ZERO(&cpu1);
    CPU_SET(1, &cpu1);
    assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
    if (quit)
        assert_int_equal(setenv("FLOW_PLUGIN_PATH", FLOW_FIXTURE_PLUGIN_DIR, 1),
                         0);
again:
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    hog = tu_fork();
    assert_true(hog >= 0);
    if (hog == 0) { /* the real-time busy loop, on CPU 0 once told */
        struct sched_param sp = { .sched_priority = 1 };
        bool rt = sched_setaffinity(0, sizeof(cpu0), &cpu0) == 0 &&
                  sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
        if (write(ready[1], rt ? "y" : "n", 1) != 1 || !rt ||
            read(go[0], &c, 1) != 1)
            _exit(1);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        spin(0.3);
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    if (c != 'y') { /* no SCHED_FIFO here */
        close(go[1]);
        close(ready[0]);
        waitpid(hog, &status, 0);
        unsetenv("FLOW_PLUGIN_PATH");
        unlink(path);
        free(path);
        skip();
    }
    snprintf(out, sizeof(out), "%s/out", run_tmp);
    snprintf(err, sizeof(err), "%s/err", run_tmp);
    if (quit) {
        pid = spawn_ignoring(path, out, err, "--grace", "5", NULL);
        wait_text(pid, err, "holding 0 MiB", err);
    } else {
        pid = spawn_files_with(path, out, err, "--progress", NULL);
        if (!tu_wait_sinks(err, 20))
            fail_msg("no item at the sink after 20 s");
    }
    assert_int_equal(sched_setaffinity(pid, sizeof(cpu0), &cpu0), 0);
    assert_int_equal(sched_setaffinity(0, sizeof(cpu1), &cpu1), 0);
    usleep(50000); /* each on its CPU */
    t = now_s();
    assert_int_equal(kill(pid, sig), 0);
    /* flowrun read it (it says so at once), and sleeps */
    for (;;) {
        e = slurp(err);
        bool said = strstr(e, quit ? "flowrun: SIGQUIT: quitting graph '"
                                   : "flowrun: SIGINT: stopping graph '");
        free(e);
        if (said && proc_state(pid, NULL) == 'S')
            break;
        if (now_s() - t > 0.05)
            break;
        usleep(1000);
    }
    assert_int_equal(write(go[1], "", 1), 1);
    assert_int_equal(read(ready[0], &c, 1), 1); /* CPU 0 taken */
    assert_int_equal(kill(pid, sig), 0);
    gap = now_s() - t;
    assert_int_equal(sched_setaffinity(0, sizeof(mine), &mine), 0);
    close(go[1]);
    close(ready[0]);
    assert_int_equal(waitpid(hog, &status, 0), hog);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    status = wait_exit(pid, 20);
    o = slurp(out);
    e = slurp(err);
    if (gap >= 0.1 && ++tries < 5) {
        /* not within 0.1 s (a loaded machine): no echo to look at */
        print_message("the signals %.3f s apart; again\n", gap);
        free(o);
        free(e);
        run_cleanup(path, out, err);
        goto again;
    }
    assert_exited(status, gap, e, 128 + sig);
    if (quit ? !strstr(e, "lingered 300 ms after SIGQUIT")
             : !strstr(e, "the output holds what reached the sinks") ||
                   strstr(e, "killed") || !(o[0] >= '1' && o[0] <= '9'))
        fail_msg("two SIG%ss %.3f s apart, the second read late: output "
                 "'%s', stderr:\n%s",
                 sig_name(sig), gap, o, e);
    free(o);
    free(e);
    run_cleanup(path, out, err);
    unsetenv("FLOW_PLUGIN_PATH");
    unlink(path);
    free(path);
}

static void
test_faults_signal_echo_read_late(void **unused)
{
    (void)unused;
    echo_read_late(SIGINT);
}

static void
test_faults_sigquit_echo_read_late(void **unused)
{
    (void)unused;
    echo_read_late(SIGQUIT);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_faults_control),
        T(test_faults_matrix),
        T(test_faults_data_after_end),
        T(test_faults_data_after_last_end),
        T(test_faults_pair_wrong_sender),
        T(test_faults_pair_data_after_end),
        T(test_faults_sender_one_past),
        T(test_faults_closed_output_ends_once),
        T(test_faults_unread_input_discarded),
        T(test_faults_ignored_error_fails),
        T(test_faults_positive_return_fails),
        T(test_faults_hang_timeout),
        T(test_faults_timeout_names_the_hung),
        T(test_faults_timeout_in_fini),
        T(test_faults_timeout_demand_send),
        T(test_faults_timeout_names_ports),
        T(test_faults_demand_stopped_worker),
        T(test_faults_ordered_paces_ahead),
        T(test_faults_timeout_list_cut),
        T(test_faults_blocked_processes),
        T(test_faults_sigterm_after_busy),
        T(test_faults_bystanders_quiet),
        T(test_faults_signal_drains),
        T(test_faults_signal_spares_workers),
        T(test_faults_wait_fd_stop),
        T(test_faults_init_wait_stop),
        T(test_faults_stop_whole_group),
        T(test_faults_signal_lines_fifo_no_writer),
        T(test_faults_signal_lines_read_kept),
        T(test_faults_stderr_closed),
        T(test_faults_stderr_flood),
        T(test_faults_stderr_unread),
        T(test_faults_stop_stderr_unread),
        T(test_faults_stop_stats_after_relay),
        T(test_faults_nonblocking_std_fds),
        T(test_faults_log_after_partial_line),
        T(test_faults_node_stdout_full),
        T(test_faults_signal_at_start),
        T(test_faults_no_signalfd),
        T(test_faults_threads_taken),
        T(test_faults_inherited_ignored),
        T(test_faults_ctrl_z),
        T(test_faults_stopped_launcher_limits),
        T(test_faults_terminal_tostop),
        T(test_faults_terminal_stdin),
        T(test_faults_closed_stdout),
        T(test_faults_sigpipe),
        T(test_faults_blocked_mask),
        T(test_faults_second_sigint),
        T(test_faults_sigquit),
        T(test_faults_sigquit_echo),
        T(test_faults_sigquit_core_dump),
        T(test_faults_signal_echo),
        T(test_faults_signal_echo_read_late),
        T(test_faults_sigquit_echo_read_late),
        T(test_faults_stop_before_start),
        T(test_faults_signal_demand),
        T(test_faults_fail_after_stop),
        T(test_faults_drain_time_limit),
        T(test_faults_lines_stop_mid_line),
        T(test_faults_sieve_stops_gracefully),
        T(test_faults_stop_ends_pair_wait),
        T(test_faults_sieve_stop_keeps_prefix),
        T(test_faults_stop_pair_server_serves),
        T(test_faults_stop_finish_sends),
        T(test_faults_stop_unread_quietly),
        T(test_faults_stop_zip),
        T(test_faults_stop_ordered_prefix),
        T(test_faults_signal_after_end),
        T(test_faults_stats_fifo_unread),
        T(test_faults_signal_storm_at_end),
        T(test_faults_far_timeout_idle),
        T(test_faults_sigkill_flowrun),
        T(test_faults_guard_killed),
        T(test_faults_guard_killed_pid_reused),
        T(test_faults_instance_names),
        T(test_faults_timeout_names_stopped),
        T(test_faults_stray_usr1),
        T(test_faults_stray_sigterm),
        T(test_faults_instance_signal_mask),
        T(test_faults_stats_stderr_unread),
        T(test_faults_stats_table_stalls),
        T(test_faults_stats_after_lost_log),
        T(test_faults_stats_json_kept_on_full_disk),
        T(test_faults_stats_json_stalls),
        T(test_faults_sweep_leaves_others),
        T(test_faults_load_200_processes),
        T(test_faults_open_file_limit),
        T(test_faults_open_file_limit_inherited),
        T(test_faults_open_file_limit_tcp),
        T(test_faults_no_threads),
        T(test_faults_fork_fails),
        T(test_faults_hub_open_files),
        T(test_faults_small_graph_low_file_limit),
        T(test_faults_slow_sink_rss),
    };
#undef T
    tu_watchdog(280);
    if (getenv("FLOW_TEST_ONLY")) /* one test, by name, when debugging */
        cmocka_set_test_filter(getenv("FLOW_TEST_ONLY"));
    return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
