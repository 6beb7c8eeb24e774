/* SPDX-License-Identifier: MIT */
/*
 * test_rendezvous.c: the control plane of TCP runs (rendezvous.c), driven
 * over loopback by DEALER sockets that play the instances, message by
 * message as rendezvous.h lays the protocol out: the start barrier (the
 * endpoint table once every instance said HELLO, not before), the exit
 * barrier (RELEASE once every one said DONE), the refusals (another
 * graph, an instance the graph does not have, a second process for an
 * instance), a failure (FAIL, UNLOADED) and the stop (ABORT) that follows.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "internal.h"
#include "rendezvous.h"
#include "testutil.h"

/* Four processes: a[0], w[0], w[1], b[0] (process indices 0 to 3). */
static const char graph_text[] = "[a]\ntype = range\n"
                                 "[w]\ntype = jitter\ninstances = 2\n"
                                 "[b]\ntype = collect\n"
                                 "[links]\npush = a.out -> w.in\n"
                                 "push = w.out -> b.in\n";

typedef struct fixture {
    flow_registry_t *reg;
    flow_graph_t *g;
    void *ctx;
    flow_rdv_t *rdv;
    char addr[256];
    void *inst[6]; /* DEALERs playing instances */
    char fp[32];   /* the graph's fingerprint, as a HELLO writes it */
    int rc;        /* the first non-zero flow__rdv_process result */
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    flow_diag_t diag;
    int err = 0;

    assert_non_null(f);
    f->reg = flow_registry_new();
    flow_registry_add_path(f->reg, tu_plugin_dir());
    f->g = flow_graph_load_string(graph_text, strlen(graph_text), "r.ini",
                                  f->reg, NULL, 0, &diag);
    if (!f->g)
        fail_msg("%s", diag.msg);
    assert_int_equal(flow_graph_process_count(f->g), 4);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    f->rdv = flow__rdv_new(f->ctx, f->g, "tcp://127.0.0.1:*", 0, f->addr,
                           sizeof(f->addr), &err);
    if (!f->rdv)
        fail_msg("rendezvous: %s", strerror(-err));
    flow__rdv_set_quiet(f->rdv, true);
    snprintf(f->fp, sizeof(f->fp), "%016llx",
             (unsigned long long)flow__graph_fingerprint(f->g));
    for (size_t i = 0; i < sizeof(f->inst) / sizeof(*f->inst); i++) {
        int ms = 0;
        f->inst[i] = zmq_socket(f->ctx, ZMQ_DEALER);
        assert_non_null(f->inst[i]);
        zmq_setsockopt(f->inst[i], ZMQ_LINGER, &ms, sizeof(ms));
        assert_int_equal(zmq_connect(f->inst[i], f->addr), 0);
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < sizeof(f->inst) / sizeof(*f->inst); i++)
        zmq_close(f->inst[i]);
    flow__rdv_destroy(&f->rdv);
    zmq_ctx_term(f->ctx);
    flow_graph_destroy(&f->g);
    flow_registry_destroy(&f->reg);
    free(f);
    return 0;
}

/* Send `text` from instance socket `i`. */
static void
say(fixture_t *f, size_t i, const char *text)
{
    assert_int_equal(zmq_send(f->inst[i], text, strlen(text), 0),
                     (int)strlen(text));
}

/* One flow__rdv_process; its first non-zero result is kept in f->rc. */
static void
step(fixture_t *f)
{
    int r = flow__rdv_process(f->rdv);

    if (r && !f->rc)
        f->rc = r;
}

/* f->rc, cleared. */
static int
taken(fixture_t *f)
{
    int rc = f->rc;

    f->rc = 0;
    return rc;
}

/* Let the rendezvous handle what comes within `ms` milliseconds (to see
 * that something does not happen); returns taken(f). */
static int
pump(fixture_t *f, int ms)
{
    double end = flow__now_s() + ms / 1000.0;

    do {
        step(f);
        usleep(2000);
    } while (flow__now_s() < end);
    return taken(f);
}

/* Let the rendezvous work until `cond` holds (at most 10 s: a loaded
 * machine is slow, not wrong); fails if it never does. */
#define PUMP_UNTIL(f, cond)                        \
    do {                                           \
        double end_ = flow__now_s() + 10;          \
        step(f);                                   \
        while (!(cond) && flow__now_s() < end_) {  \
            usleep(2000);                          \
            step(f);                               \
        }                                          \
        if (!(cond))                               \
            fail_msg("%s: not after 10 s", #cond); \
    } while (0)

/* What instance socket `i` is sent within `ms` milliseconds, the
 * rendezvous working meanwhile (a static buffer), or NULL. */
static const char *
hear(fixture_t *f, size_t i, int ms)
{
    static char buf[4096];
    double end = flow__now_s() + ms / 1000.0;

    for (;;) {
        int n;
        step(f);
        n = zmq_recv(f->inst[i], buf, sizeof(buf) - 1, ZMQ_DONTWAIT);
        if (n >= 0) {
            buf[n] = '\0';
            return buf;
        }
        if (flow__now_s() >= end)
            return NULL;
        usleep(2000);
    }
}

/* Register process `k` from socket `k`: "HELLO k PID HOST FP" and one
 * endpoint record. */
static void
hello(fixture_t *f, size_t k)
{
    char line[256];

    snprintf(line, sizeof(line), "HELLO %zu %zu host%zu %s\nrec %zu\n", k,
             100 + k, k, f->fp, k);
    say(f, k, line);
}

/* The number of instances not registered yet. */
static size_t
unregistered(fixture_t *f)
{
    char buf[256];

    return flow__rdv_unregistered(f->rdv, buf, sizeof(buf));
}

/* The table once all four said HELLO, not before; then RELEASE once all
 * four said DONE, not before. */
static void
test_rendezvous_barriers(void **state)
{
    fixture_t *f = *state;
    char buf[256];

    assert_false(flow__rdv_started(f->rdv));
    assert_int_equal(flow__rdv_unregistered(f->rdv, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "a[0], w[0], w[1], b[0]");
    for (size_t k = 0; k < 3; k++) { /* one by one: the table's order */
        hello(f, k);
        PUMP_UNTIL(f, unregistered(f) == 3 - k);
    }
    assert_int_equal(flow__rdv_unregistered(f->rdv, buf, sizeof(buf)), 1);
    assert_string_equal(buf, "b[0]");
    /* Not yet registered: named so among those not done. */
    flow__rdv_pending(f->rdv, buf, sizeof(buf));
    assert_string_equal(buf, "a[0], w[0], w[1], b[0] (never registered)");
    for (size_t k = 0; k < 3; k++)
        assert_null(hear(f, k, 50));
    assert_false(flow__rdv_started(f->rdv));
    hello(f, 3);
    PUMP_UNTIL(f, flow__rdv_started(f->rdv));
    assert_int_equal(unregistered(f), 0);
    for (size_t k = 0; k < 4; k++) {
        const char *t = hear(f, k, 5000);
        assert_non_null(t);
        /* No liveness: "TABLE 0", then every record as it came. */
        assert_string_equal(t, "TABLE 0\nrec 0\nrec 1\nrec 2\nrec 3\n");
    }

    for (size_t k = 0; k < 4; k++) {
        if (k == 2)
            continue;
        snprintf(buf, sizeof(buf), "DONE %zu\n", k);
        say(f, k, buf);
        say(f, k, buf); /* twice: counted once */
    }
    PUMP_UNTIL(f, flow__rdv_peer_done(f->rdv, 0) &&
                      flow__rdv_peer_done(f->rdv, 1) &&
                      flow__rdv_peer_done(f->rdv, 3));
    assert_int_equal(pump(f, 100), 0);
    assert_false(flow__rdv_finished(f->rdv));
    assert_false(flow__rdv_peer_done(f->rdv, 2));
    assert_false(flow__rdv_peer_done(f->rdv, 4));
    flow__rdv_pending(f->rdv, buf, sizeof(buf));
    assert_string_equal(buf, "w[1]");
    for (size_t k = 0; k < 4; k++)
        assert_null(hear(f, k, 20));
    say(f, 2, "DONE 2\n");
    PUMP_UNTIL(f, flow__rdv_finished(f->rdv));
    for (size_t k = 0; k < 4; k++) {
        const char *t = hear(f, k, 5000);
        assert_non_null(t);
        assert_string_equal(t, "RELEASE\n");
    }
    assert_int_equal(taken(f), 0);
}

/* A HELLO of another graph, of an instance the graph does not have, or of
 * a second process for a registered instance (another pid, or the same
 * pid on another host) is answered REFUSE and not counted; the same
 * process saying HELLO again is no second one. */
static void
test_rendezvous_refusals(void **state)
{
    fixture_t *f = *state;
    char buf[256];
    const char *t;

    say(f, 0, "HELLO 0 100 host0 0123456789abcdef\n");
    t = hear(f, 0, 5000);
    assert_non_null(t);
    tu_assert_contains(t, "REFUSE its graph differs from the rendezvous's");
    assert_int_equal(unregistered(f), 4);

    snprintf(buf, sizeof(buf), "HELLO 4 100 host0 %s\n", f->fp);
    say(f, 0, buf);
    t = hear(f, 0, 5000);
    assert_non_null(t);
    tu_assert_contains(t, "REFUSE its graph differs");
    assert_int_equal(unregistered(f), 4);

    hello(f, 1); /* pid 101 on host1 */
    PUMP_UNTIL(f, unregistered(f) == 3);
    assert_null(hear(f, 1, 50));
    snprintf(buf, sizeof(buf), "HELLO 1 999 host1 %s\n", f->fp);
    say(f, 4, buf);
    snprintf(buf, sizeof(buf), "HELLO 1 101 elsewhere %s\n", f->fp);
    say(f, 5, buf);
    for (size_t s = 4; s < 6; s++) {
        t = hear(f, s, 5000);
        assert_non_null(t);
        assert_string_equal(t, "REFUSE the instance is already registered, "
                               "by pid 101 on host1: started twice?\n");
    }
    hello(f, 1);
    assert_int_equal(pump(f, 100), 0);
    assert_null(hear(f, 1, 50));
    assert_int_equal(flow__rdv_unregistered(f->rdv, buf, sizeof(buf)), 3);
    assert_string_equal(buf, "a[0], w[1], b[0]");
    assert_int_equal(taken(f), 0);
}

/* A failure is the run's (FLOW_ENODE), once; then ABORT reaches every
 * registered instance, and one that registers later; an instance stopped
 * by a signal once the run stops is no failure of its own. */
static void
test_rendezvous_failure_and_abort(void **state)
{
    fixture_t *f = *state;
    const char *t;

    for (size_t k = 0; k < 3; k++)
        hello(f, k);
    PUMP_UNTIL(f, unregistered(f) == 1);
    say(f, 1, "FAIL 1 out of paper\n");
    PUMP_UNTIL(f, flow__rdv_peer_failed(f->rdv, 1));
    assert_int_equal(taken(f), FLOW_ENODE);
    assert_false(flow__rdv_peer_failed(f->rdv, 0));
    say(f, 1, "FAIL 1 out of paper\n");
    assert_int_equal(pump(f, 100), 0);
    flow__rdv_abort(f->rdv);
    for (size_t k = 0; k < 3; k++) {
        t = hear(f, k, 5000);
        assert_non_null(t);
        assert_string_equal(t, "ABORT\n");
    }
    hello(f, 3);
    t = hear(f, 3, 5000);
    assert_non_null(t);
    assert_string_equal(t, "ABORT\n");
    say(f, 2, "STOPPED 2 killed by signal TERM\n");
    PUMP_UNTIL(f, flow__rdv_peer_failed(f->rdv, 2));
    assert_int_equal(taken(f), 0);
    /* All told only once each that did not fail itself has a watcher
     * that was told. */
    assert_false(flow__rdv_all_told(f->rdv));
    say(f, 0, "WATCH 0\n");
    assert_int_equal(pump(f, 100), 0);
    assert_false(flow__rdv_all_told(f->rdv));
    say(f, 3, "WATCH 3\n");
    PUMP_UNTIL(f, flow__rdv_all_told(f->rdv));
}

/* UNLOADED: the process started for an instance could not load the graph:
 * a failure of the run, unless the instance is not the graph's, or
 * another process registered it. */
static void
test_rendezvous_unloaded(void **state)
{
    fixture_t *f = *state;

    hello(f, 0);
    PUMP_UNTIL(f, unregistered(f) == 3);
    say(f, 5, "UNLOADED w:2 55 hostx cannot load\n"); /* w has 0 and 1 */
    say(f, 5, "UNLOADED zz:0 55 hostx cannot load\n");
    say(f, 5, "UNLOADED a:0 55 hostx cannot load\n"); /* a[0] registered */
    assert_int_equal(pump(f, 200), 0);
    for (size_t k = 0; k < 4; k++)
        assert_false(flow__rdv_peer_failed(f->rdv, k));
    say(f, 5, "UNLOADED w:1 55 hostx cannot load\n");
    PUMP_UNTIL(f, flow__rdv_peer_failed(f->rdv, 2));
    assert_int_equal(taken(f), FLOW_ENODE);
    say(f, 5, "UNLOADED w:1 55 hostx cannot load\n"); /* said already */
    assert_int_equal(pump(f, 100), 0);
}

/* Register all four; each socket says WATCH too (the watcher's part). */
static void
register_all(fixture_t *f)
{
    char buf[32];

    for (size_t k = 0; k < 4; k++) {
        hello(f, k);
        snprintf(buf, sizeof(buf), "WATCH %zu\n", k);
        say(f, k, buf);
    }
    PUMP_UNTIL(f, flow__rdv_started(f->rdv));
    for (size_t k = 0; k < 4; k++)
        assert_non_null(hear(f, k, 5000)); /* the table */
    assert_int_equal(taken(f), 0);
}

/* b gives its input up (flow_node_close_input): the source a, which no one
 * wants any more, is told STOP (its watcher); w, which has inputs, ends
 * when a's streams do, and is not. */
static void
test_rendezvous_given_up(void **state)
{
    fixture_t *f = *state;
    const char *t;

    register_all(f);
    say(f, 3, "CLOSED 3 0\n");
    t = hear(f, 0, 5000);
    assert_non_null(t);
    assert_string_equal(t, "STOP\n");
    for (size_t k = 1; k < 4; k++)
        assert_null(hear(f, k, 20));
    assert_int_equal(taken(f), 0);
}

/* The same after a said DONE: nothing to stop. */
static void
test_rendezvous_given_up_after_done(void **state)
{
    fixture_t *f = *state;

    register_all(f);
    say(f, 0, "DONE 0\n");
    PUMP_UNTIL(f, flow__rdv_peer_done(f->rdv, 0));
    say(f, 3, "CLOSED 3 0\n");
    for (size_t k = 0; k < 4; k++)
        assert_null(hear(f, k, 100));
    assert_int_equal(taken(f), 0);
}

/* A registered instance whose connection drops without a FAIL is lost: a
 * failure of the run about a second later; a connection that drops and
 * was no instance's is not. */
static void
test_rendezvous_lost(void **state)
{
    fixture_t *f = *state;
    double t0;

    register_all(f);
    zmq_close(f->inst[5]); /* a stranger: never said HELLO */
    f->inst[5] = zmq_socket(f->ctx, ZMQ_DEALER);
    assert_int_equal(pump(f, 1500), 0);
    zmq_close(f->inst[2]);
    f->inst[2] = zmq_socket(f->ctx, ZMQ_DEALER);
    t0 = flow__now_s();
    PUMP_UNTIL(f, f->rc);
    assert_int_equal(taken(f), FLOW_ENODE);
    assert_true(flow__now_s() - t0 < 6);
}

/* With a liveness: WELCOME and TABLE say it in milliseconds; a rendezvous
 * held longer than it (stopped, a frozen host) says its instances took
 * it for lost: a failure. */
static void
test_rendezvous_liveness(void **state)
{
    fixture_t *f = *state;
    int err = 0;

    flow__rdv_destroy(&f->rdv);
    for (size_t k = 0; k < 4; k++) {
        zmq_close(f->inst[k]);
        f->inst[k] = zmq_socket(f->ctx, ZMQ_DEALER);
    }
    f->rdv = flow__rdv_new(f->ctx, f->g, "tcp://127.0.0.1:*", 2.0, f->addr,
                           sizeof(f->addr), &err);
    assert_non_null(f->rdv);
    flow__rdv_set_quiet(f->rdv, true);
    for (size_t k = 0; k < 4; k++) {
        int ms = 0;
        zmq_setsockopt(f->inst[k], ZMQ_LINGER, &ms, sizeof(ms));
        assert_int_equal(zmq_connect(f->inst[k], f->addr), 0);
        hello(f, k);
    }
    for (size_t k = 0; k < 4; k++) {
        const char *t = hear(f, k, 5000);
        assert_non_null(t);
        assert_string_equal(t, "WELCOME 2000\n");
        t = hear(f, k, 5000);
        assert_non_null(t);
        tu_assert_contains(t, "TABLE 2000\n");
    }
    (void)taken(f);
    sleep(3);
    assert_int_equal(flow__rdv_process(f->rdv), FLOW_ENODE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rendezvous_barriers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rendezvous_refusals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rendezvous_failure_and_abort,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rendezvous_unloaded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rendezvous_given_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rendezvous_given_up_after_done,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rendezvous_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rendezvous_liveness, setup,
                                        teardown),
    };

    tu_watchdog(60);
    return cmocka_run_group_tests_name("rendezvous", tests, NULL, NULL);
}
