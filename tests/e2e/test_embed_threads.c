/* SPDX-License-Identifier: MIT */
/*
 * test_embed_threads.c: flow_graph_run called by a program with threads of
 * its own, as a long-lived service has, that do not block SIGCHLD. The
 * kernel gives the instances' SIGCHLD to such a thread (the calling thread
 * blocks it), where its default action drops it: the call must still see
 * its instances end. The oracle is the closed form of the sum of 0..n-1.
 * Each case runs in a process of its own (tu_in_own_process).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs these three first */
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "flow/flow.h"
#include "testutil.h"

/* Runs of the graph, and the longest one may take (a run of range ->
 * collect takes a few ms; the timeout is what a missed end runs into). */
#define RUNS      5
#define RUN_MAX_S 4.0

/* A thread of the caller's: waits, every signal unblocked. */
static void *
idle_thread(void *arg)
{
    sigset_t none;

    (void)arg;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    for (;;)
        pause();
    return NULL;
}

/* The sum collect wrote to `path`, or INT64_MIN. */
static int64_t
read_sum(const char *path)
{
    FILE *f = fopen(path, "r");
    long long v;
    int n;

    if (!f)
        return INT64_MIN;
    n = fscanf(f, "%lld", &v);
    fclose(f);
    return n == 1 ? (int64_t)v : INT64_MIN;
}

/* RUNS runs of range -> collect mode=sum, each right and in time, with two
 * threads of the caller's that take any signal. */
static int
threads_case(void)
{
    char out[] = "/tmp/flow-test-threads-XXXXXX";
    char ini[512];
    flow_registry_t *reg = flow_registry_new();
    pthread_t th[2];
    int fd = mkstemp(out);

    if (fd < 0)
        return 1;
    close(fd);
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, idle_thread, NULL))
            return 2;
    flow_registry_add_path(reg, tu_plugin_dir());
    for (int i = 0; i < RUNS; i++) {
        int64_t n = 1000 + i;
        flow_run_opts_t opts = { .quiet = 1, .timeout_s = RUN_MAX_S };
        flow_diag_t diag;
        flow_graph_t *g;
        double t0;
        int rc;

        snprintf(ini, sizeof(ini),
                 "[src]\ntype = range\ncount = %lld\n"
                 "[out]\ntype = collect\nmode = sum\noutput = %s\n"
                 "[links]\npush = src.out -> out.in\n",
                 (long long)n, out);
        g = flow_graph_load_string(ini, strlen(ini), "threads.ini", reg, NULL,
                                   0, &diag);
        if (!g) {
            fprintf(stderr, "load: %s\n", diag.msg);
            return 3;
        }
        t0 = tu_now_s();
        rc = flow_graph_run(g, &opts, NULL);
        flow_graph_destroy(&g);
        if (rc != 0) {
            fprintf(stderr, "run %d: %s after %.2f s\n", i, flow_err_name(rc),
                    tu_now_s() - t0);
            return 4;
        }
        if (read_sum(out) != n * (n - 1) / 2) {
            fprintf(stderr, "run %d: sum %lld, want %lld\n", i,
                    (long long)read_sum(out), (long long)(n * (n - 1) / 2));
            return 5;
        }
    }
    unlink(out);
    flow_registry_destroy(&reg);
    return 0;
}

/*
 * The launcher read its instances' ends from a signalfd only: with the
 * SIGCHLD gone to another thread it never reaped them, and the first run
 * never returned, not even at its timeout (it waited for the instances it
 * had stopped).
 */
static void
test_embed_threads_sigchld_elsewhere(void **unused)
{
    (void)unused;
    tu_in_own_process(threads_case);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_threads_sigchld_elsewhere),
    };
    tu_watchdog(30);
    return cmocka_run_group_tests_name("embed_threads", tests, NULL, NULL);
}
