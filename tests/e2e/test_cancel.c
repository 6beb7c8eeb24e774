/* SPDX-License-Identifier: MIT */
/*
 * test_cancel.c: upstream cancellation, the `yes | head` of flow. A sink
 * that has what it wants gives its input up (collect's `limit`, which calls
 * flow_node_close_input); the nodes upstream that no one else needs stop as
 * by a graceful stop, and the run ends, status 0, even behind an endless
 * source. Checked over ipc and TCP against oracles computed here: the first
 * integers, the first primes by trial division, palindromes by reversal.
 * A source that still has a consumer that wants it runs to its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

/* Without cancellation these runs would take hours: a run that ends at all
 * within this is cancelled. */
#define RUN_TIMEOUT 30

static const char *const transports[] = { "ipc", "tcp" };

/* Nothing on standard error: no warning about discarded input, no stop. */
static void
assert_quiet(const tu_result_t *r)
{
    if (r->err[0])
        fail_msg("unexpected standard error:\n%s", r->err);
}

/* Run the graph `text` with the fixture plugins over transport `t`. */
static int
run_fixture_graph(tu_result_t *r, const char *t, const char *text)
{
    return tu_run_graph(r, RUN_TIMEOUT, text, "--transport", t, "--plugin-path",
                        FLOW_FIXTURE_PLUGIN_DIR, NULL);
}

/*
 * Run the graph `text` over ipc and over tcp, with the fixture plugins when
 * `fixtures`: each run exits 0, prints exactly `want`, and nothing on
 * standard error.
 */
static void
expect_quiet_runs(const char *text, bool fixtures, const char *want)
{
    for (size_t t = 0; t < 2; t++) {
        tu_result_t r;
        int status = fixtures
                         ? run_fixture_graph(&r, transports[t], text)
                         : tu_run_graph(&r, RUN_TIMEOUT, text, "--transport",
                                        transports[t], NULL);
        if (status != 0)
            print_message("over %s: exit %d\n%s\n", transports[t], status,
                          r.err);
        assert_int_equal(status, 0);
        assert_string_equal(r.out, want);
        assert_quiet(&r);
        tu_result_release(&r);
    }
}

/* An endless source behind a collect with a limit: the first 10 integers,
 * in order, and a run that ends. */
static void
test_cancel_endless_source(void **unused)
{
    (void)unused;
    expect_quiet_runs("[src]\ntype = range\ncount = 1e18\n"
                      "[out]\ntype = collect\nlimit = 10\n"
                      "order = input\n"
                      "[links]\npush = src.out -> out.in\n",
                      false, "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
}

/* The sections in another order (the sink first, the source last): the
 * source, the last process of the run, is stopped all the same. */
static void
test_cancel_source_last(void **unused)
{
    (void)unused;
    expect_quiet_runs("[out]\ntype = collect\nlimit = 3\n"
                      "[src]\ntype = range\ncount = 1e18\n"
                      "[links]\npush = src.out -> out.in\n",
                      false, "0\n1\n2\n");
}

/* Three endless sources, two nodes between, a count up to 100000: every
 * process stops, the count is the limit. */
static void
test_cancel_through_middle(void **unused)
{
    (void)unused;
    expect_quiet_runs("[src]\ntype = range\ninstances = 3\ncount = 1e18\n"
                      "[mid]\ntype = jitter\ninstances = 2\n"
                      "[out]\ntype = collect\nmode = count\n"
                      "limit = 100000\n"
                      "[links]\npush = src.out -> mid.in batch=7 hwm=2\n"
                      "push = mid.out -> out.in\n",
                      false, "100000\n");
}

/* Two chains: the limited one stops early, the other runs to its end (its
 * source is wanted). */
static void
test_cancel_only_the_unwanted(void **unused)
{
    char *graph = tu_temp_file("[a]\ntype = range\ncount = 1e18\n"
                               "[b]\ntype = range\ncount = 300000\n"
                               "[ha]\ntype = collect\nlimit = 3\n"
                               "order = input\n"
                               "[hb]\ntype = collect\nmode = count\n"
                               "output = /dev/null\n"
                               "[links]\npush = a.out -> ha.in\n"
                               "push = b.out -> hb.in\n");
    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        tu_result_t r;
        char *stats = tu_temp_file("");
        assert_int_equal(tu_runl(&r, RUN_TIMEOUT, "--transport", transports[t],
                                 "--stats-json", stats, graph, NULL),
                         0);
        assert_string_equal(r.out, "0\n1\n2\n");
        assert_quiet(&r);
        tu_result_release(&r);
        /* hb got all of b's items: b was not stopped. */
        FILE *f = fopen(stats, "r");
        char buf[65536];
        size_t n;
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        tu_assert_contains(buf, "\"in_items\": 300000");
        unlink(stats);
        free(stats);
    }
    unlink(graph);
    free(graph);
}

/* Messages the one instance of node `src` sent, from the --stats-json
 * file `path`. */
static long
src_out_msgs(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[1 << 16];
    size_t n;
    const char *at;
    long msgs = -1;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    at = strstr(buf, "\"name\": \"src\"");
    assert_non_null(at);
    at = strstr(at, "\"out_msgs\": ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "\"out_msgs\": %ld", &msgs), 1);
    return msgs;
}

/*
 * An early end behind workers that take 20 ms per message: over a
 * balance=demand link the producer sends a worker a message only when it
 * took the one before, so the backlog the workers finish (results dropped)
 * after collect's limit is a message or two each, and the run ends at
 * once; so too without an hwm on the link, where a worker's credit window
 * widens only to cover round trips of a credit far shorter than 20 ms.
 * The control, a round robin link with hwm=1 and workers of 5 ms, shows
 * what the measure catches: the socket buffers queue hundreds. How many
 * the source gets to send before the stop depends on the CPU it gets in
 * those few milliseconds: on a loaded machine it sent 10 to 30 at times
 * (3 runs in 24 with six more CPU hogs). So the control is run up to three
 * times; a measure that never sees a backlog fails all three.
 */
static void
test_cancel_demand_backlog(void **unused)
{
    (void)unused;
    for (int demand = 2, try = 0; demand >= 0; demand--) {
        char text[512], *stats = tu_temp_file("");
        tu_result_t r;
        long sent;
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 1e12\n"
                 "[w]\ntype = slowone\ninstances = 2\nms = %d\n"
                 "others_ms = %d\n"
                 "[out]\ntype = collect\nlimit = 3\nmode = count\n"
                 "[links]\npush = src.out -> w.in batch=1 %s"
                 "balance=%s\npush = w.out -> out.in\n",
                 demand ? 20 : 5, demand ? 20 : 5, demand == 2 ? "" : "hwm=1 ",
                 demand ? "demand" : "rr");
        assert_int_equal(tu_run_graph(&r, RUN_TIMEOUT, text, "--plugin-path",
                                      FLOW_FIXTURE_PLUGIN_DIR, "--stats-json",
                                      stats, NULL),
                         0);
        assert_string_equal(r.out, "3\n");
        tu_result_release(&r);
        sent = src_out_msgs(stats);
        unlink(stats);
        free(stats);
        if (demand && sent > 40)
            fail_msg("balance=demand: the source sent %ld messages for 3",
                     sent);
        if (!demand && sent <= 40 && ++try < 3) { /* more than demand may */
            print_message("balance=rr (control): the source sent only %ld: "
                          "again\n",
                          sent);
            demand++;
            continue;
        }
        if (!demand && sent <= 40)
            fail_msg("balance=rr (control): the source sent only %ld, "
                     "three times",
                     sent);
    }
}

/* The sieve with a limit of 10^11 (minutes of work) and out.limit: the
 * coordinator and its segments stop; the first primes, by trial division. */
static void
test_cancel_sieve(void **unused)
{
    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        tu_result_t r;
        char want[4096] = "";
        int found = 0;
        assert_int_equal(tu_runl(&r, RUN_TIMEOUT, "--transport", transports[t],
                                 "--set", "limit=100000000000", "--set",
                                 "out.limit=200", "--set", "segments=3",
                                 tu_src("graphs/sieve.ini"), NULL),
                         0);
        for (int64_t n = 2; found < 200; n++)
            if (tu_is_prime(n)) {
                found++;
                snprintf(want + strlen(want), sizeof(want) - strlen(want),
                         "%lld\n", (long long)n);
            }
        assert_string_equal(r.out, want);
        assert_quiet(&r);
        tu_result_release(&r);
    }
}

/*
 * The same with a tiny pair link (16 primes a message, hwm 1) and 16
 * segments: a segment stops between two messages, not only between two
 * blocks of thousands of messages, which took 2 to 13 s to go through
 * such a link. Bounded in CPU time (flowrun and its instances), which a
 * loaded machine does not stretch: at a load average of 36 under
 * AddressSanitizer the run took 5 to 10 s of wall time (over 5 s: the
 * wall-time bound it had failed) for 0.4 s of CPU, as idle; a segment that
 * stops between blocks only cost 9 to 16 CPU seconds.
 */
static void
test_cancel_sieve_tiny_link(void **unused)
{
    char text[8192], *graph, *at;
    FILE *f = fopen(tu_src("graphs/sieve.ini"), "r");
    size_t len;
    tu_result_t r;
    double cpu;

    (void)unused;
    assert_non_null(f);
    len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = '\0';
    at = strstr(text, "pair = main.seg <-> seg.coord batch=4096 hwm=8");
    assert_non_null(at);
    memcpy(strstr(at, "batch=4096 hwm=8"), "batch=16   hwm=1", 16);
    graph = tu_temp_file(text);
    cpu = tu_children_cpu_s();
    assert_int_equal(tu_runl(&r, RUN_TIMEOUT, "--set", "limit=1000000000",
                             "--set", "out.limit=1", "--set", "segments=16",
                             graph, NULL),
                     0);
    cpu = tu_children_cpu_s() - cpu;
    assert_string_equal(r.out, "2\n");
    if (cpu >= 2.0)
        print_message("%.3f CPU s in %.3f s\n", cpu, r.seconds);
    assert_true(cpu < 2.0);
    assert_quiet(&r);
    tu_result_release(&r);
    unlink(graph);
    free(graph);
}

/* A search over 10^12 words for the first 5 palindromes (in input order):
 * what `for w in imap(...): ... break` does. */
static void
test_cancel_search(void **unused)
{
    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        tu_result_t r;
        size_t n;
        char **lines;
        assert_int_equal(tu_runl(&r, RUN_TIMEOUT, "--transport", transports[t],
                                 "--set", "words=1000000000000", "--set",
                                 "out.limit=5", "--set", "out.order=input",
                                 tu_src("graphs/palindromes_search.ini"), NULL),
                         0);
        assert_quiet(&r);
        lines = tu_lines(r.out, &n);
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(lines[i]);
            assert_true(len > 0);
            for (size_t j = 0; j < len / 2; j++)
                assert_int_equal(lines[i][j], lines[i][len - 1 - j]);
        }
        /* The words depend on the seed, not on their count: the first 5
         * are those of a whole search of 10^6 words, in input order. */
        {
            tu_result_t ref;
            size_t rn;
            char **rl;
            assert_int_equal(
                tu_runl(&ref, RUN_TIMEOUT, "--set", "words=1000000", "--set",
                        "out.order=input",
                        tu_src("graphs/palindromes_search.ini"), NULL),
                0);
            rl = tu_lines(ref.out, &rn);
            assert_true(rn >= 5);
            for (size_t i = 0; i < 5; i++)
                assert_string_equal(lines[i], rl[i]);
            free(rl);
            tu_result_release(&ref);
        }
        free(lines);
        tu_result_release(&r);
    }
}

/* A limit past the end: the whole stream, as without one. */
static void
test_cancel_limit_not_reached(void **unused)
{
    tu_result_t r;

    (void)unused;
    assert_int_equal(tu_run_graph(&r, RUN_TIMEOUT,
                                  "[src]\ntype = range\ncount = 5\n"
                                  "[out]\ntype = collect\nlimit = 6\n"
                                  "[links]\npush = src.out -> out.in\n",
                                  NULL),
                     0);
    assert_string_equal(r.out, "0\n1\n2\n3\n4\n");
    assert_quiet(&r);
    tu_result_release(&r);
}


/*
 * A node gives its input up and then waits elsewhere: in a send (x's 1000
 * messages to k, which reads them only after its other input, at hwm 1),
 * in a pair receive (flow_node_recv) or in flow_node_recv_from. The
 * producer of the input given up also feeds k's first input, at hwm 1
 * both: unless x reads and drops its input while it waits, the producer
 * blocks there, k's first input never ends, and the run hangs (it did).
 * x and k are also a sink of two nodes (a pair link, a push link within):
 * giving x's input up must not stop the source. Over both transports; k
 * gets every item on "first", x hears their count from k.
 */
static void
test_cancel_given_up_while_waiting(void **unused)
{
    static const struct {
        const char *keys, *k_line, *x_line;
    } cases[] = {
        { "count = 1000\n", "first=100000 second=1000\n",
          "sent=1000 peer=100000\n" },
        { "count = 0\n", "first=100000 second=0\n", "sent=0 peer=100000\n" },
        { "count = 0\nfrom = true\n", "first=100000 second=0\n",
          "sent=0 peer=100000\n" },
    };

    (void)unused;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 100000\n"
                 "[d]\ntype = dup2\n"
                 "[x]\ntype = giveupwait\n%s"
                 "[k]\ntype = joinpeer\n"
                 "[links]\npush = src.out -> d.in batch=16\n"
                 "push = d.o1 -> x.a hwm=1\n"
                 "push = d.o2 -> k.first hwm=1\n"
                 "push = x.out -> k.second hwm=1\n"
                 "pair = x.peer <-> k.peer\n",
                 cases[c].keys);
        for (size_t t = 0; t < 2; t++) {
            tu_result_t r;
            int status = run_fixture_graph(&r, transports[t], text);
            if (status != 0)
                print_message("%s over %s: exit %d\n%s\n", cases[c].keys,
                              transports[t], status, r.err);
            assert_int_equal(status, 0);
            /* Two processes print, in either order. */
            assert_non_null(strstr(r.out, cases[c].k_line));
            assert_non_null(strstr(r.out, cases[c].x_line));
            assert_int_equal(strlen(r.out),
                             strlen(cases[c].k_line) + strlen(cases[c].x_line));
            assert_quiet(&r);
            tu_result_release(&r);
        }
    }
}

/*
 * A node that zips two streams (fixture zip: a[i] + b[i], a failure when
 * their lengths differ) behind a collect with a limit: its two endless
 * sources are stopped at different points, and the node, asking
 * flow_node_input_cut, takes the difference for what the stop left: exit
 * 0, the first sums. It failed ("inputs of different lengths") when it
 * could not tell. Also with a process node between each source and the
 * zip (fault, action none: its output is cut because its input was), and the
 * controls: streams of different lengths that end by themselves still fail
 * the node; equal ones do not.
 */
static void
test_cancel_zip_cut(void **unused)
{
    /* Each source straight to the zip, or each through a process node of
     * its own (the zip then hears of the cut from f and g only). */
    static const char *const mids[][2] = {
        { "", "push = x.out -> z.a batch=7\npush = y.out -> z.b batch=5\n" },
        { "[f]\ntype = fault\naction = none\n"
          "[g]\ntype = fault\naction = none\n",
          "push = x.out -> f.in batch=7\npush = f.out -> z.a\n"
          "push = y.out -> g.in batch=5\npush = g.out -> z.b\n" },
    };
    char text[1024], want[128];
    size_t len = 0;

    (void)unused;
    for (int i = 0; i < 5; i++) /* the oracle: i + (100 + i) */
        len += (size_t)snprintf(want + len, sizeof(want) - len, "%d\n",
                                100 + 2 * i);
    for (size_t m = 0; m < 2; m++) {
        snprintf(text, sizeof(text),
                 "[x]\ntype = range\ncount = 1e18\n"
                 "[y]\ntype = range\nstart = 100\ncount = 1e18\n"
                 "%s"
                 "[z]\ntype = zip\n"
                 "[out]\ntype = collect\nlimit = 5\n"
                 "[links]\n%s"
                 "push = z.out -> out.in\n",
                 mids[m][0], mids[m][1]);
        expect_quiet_runs(text, true, want);
    }

    /* Controls: lengths that differ at their natural end fail the node. */
    tu_result_t r;
    int status =
        run_fixture_graph(&r, "ipc",
                          "[x]\ntype = range\ncount = 10\n"
                          "[y]\ntype = range\ncount = 12\n"
                          "[z]\ntype = zip\n"
                          "[out]\ntype = collect\nmode = count\n"
                          "[links]\npush = x.out -> z.a\npush = y.out -> z.b\n"
                          "push = z.out -> out.in\n");
    assert_int_equal(status, 1);
    tu_assert_contains(r.err, "inputs of different lengths: a 10 items, b 12");
    tu_result_release(&r);
    expect_quiet_runs("[x]\ntype = range\ncount = 100000\n"
                      "[y]\ntype = range\nstart = 7\ncount = 100000\n"
                      "[z]\ntype = zip\n"
                      "[out]\ntype = collect\nmode = count\n"
                      "[links]\npush = x.out -> z.a batch=3\n"
                      "push = y.out -> z.b batch=1000\n"
                      "push = z.out -> out.in\n",
                      true, "100000\n");
}

/*
 * A node that gives its input up once it has what it wants, or once that
 * input has ended (fixture headpass: the first n items, then
 * flow_node_close_input whatever happened, as a head written the plain way
 * does), forwards a cut input's stream as cut: giving up an input that had
 * already ended leaves nothing unread, so the cut it carried still counts.
 * Here n is never reached: the endless x is cut by the stop (out's limit),
 * h passes what it got on, and the zip, whose other input (y, 1000 items)
 * ended by itself, sees a cut "a" and ends with the first sums, exit 0. It
 * failed ("inputs of different lengths") when h's giving up hid the cut.
 */
static void
test_cancel_zip_cut_given_up_after_end(void **unused)
{
    (void)unused;
    expect_quiet_runs("[x]\ntype = range\ncount = 1e18\n"
                      "[h]\ntype = headpass\nn = 1e18\n"
                      "[y]\ntype = range\nstart = 100\ncount = 1000\n"
                      "[z]\ntype = zip\n"
                      "[out]\ntype = collect\nlimit = 3\n"
                      "[links]\npush = x.out -> h.in\npush = h.out -> z.a\n"
                      "push = y.out -> z.b\npush = z.out -> out.in\n",
                      true, "100\n102\n104\n");
}

/*
 * As test_cancel_given_up_while_waiting, with two instances of k: x's
 * "out" has two consumers, and flow_node_send balances across them, a wait
 * of its own for a consumer with room. That wait too must read and drop
 * x's given-up input, or d blocks there, k's "first" never ends and the
 * run hangs (it did over ipc). The k lines come in any order and split the
 * items in any way: their sums are checked. The same with balance=demand
 * on every push link, where x waits for credit instead, and its given-up
 * input must be credited as it is dropped.
 */
static void
test_cancel_given_up_balanced_send(void **unused)
{
    (void)unused;
    for (int demand = 0; demand < 2; demand++) {
        const char *bal = demand ? " balance=demand" : "";
        char text[1024];
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 100000\n"
                 "[d]\ntype = dup2\n"
                 "[x]\ntype = giveupwait\ncount = 1000\n"
                 "[k]\ntype = joinpeer\ninstances = 2\n"
                 "[links]\npush = src.out -> d.in batch=16%s\n"
                 "push = d.o1 -> x.a hwm=1%s\n"
                 "push = d.o2 -> k.first hwm=1%s\n"
                 "push = x.out -> k.second hwm=1%s\n"
                 "pair = x.peer <-> k.peer\n",
                 bal, bal, bal, bal);
        for (size_t t = 0; t < 2; t++) {
            tu_result_t r;
            long long first = 0, second = 0, f, s;
            int klines = 0, nl = 0;
            int status = run_fixture_graph(&r, transports[t], text);
            if (status != 0)
                print_message("over %s%s: exit %d\n%s\n", transports[t], bal,
                              status, r.err);
            assert_int_equal(status, 0);
            for (const char *l = r.out; (l = strstr(l, "first=")); l++) {
                assert_int_equal(sscanf(l, "first=%lld second=%lld\n", &f, &s),
                                 2);
                first += f;
                second += s;
                klines++;
            }
            assert_int_equal(klines, 2);
            assert_int_equal(first, 100000);
            assert_int_equal(second, 1000);
            assert_non_null(strstr(r.out, "sent=1000 peer=100000\n"));
            for (const char *c = r.out; *c; c++)
                nl += *c == '\n';
            assert_int_equal(nl, 3);
            assert_quiet(&r);
            tu_result_release(&r);
        }
    }
}

/*
 * One producer feeds both inputs of a node, which gives one up and reads
 * the other: what comes on the given-up one is still read, and dropped, so
 * that the producer never blocks there (the run hung, the live input
 * starved). A process() node (giveup2) and a run() one (headrun).
 */
static void
test_cancel_given_up_still_drained(void **unused)
{
    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        tu_result_t r;
        assert_int_equal(run_fixture_graph(&r, transports[t],
                                           "[src]\ntype = range\n"
                                           "count = 2000000\n"
                                           "[d]\ntype = dup2\n"
                                           "[g]\ntype = giveup2\nafter = 1\n"
                                           "[links]\npush = src.out -> d.in\n"
                                           "push = d.o1 -> g.a\n"
                                           "push = d.o2 -> g.b\n"),
                         0);
        assert_string_equal(r.out, "a=1 b_items=2000000 late=0\n");
        assert_quiet(&r);
        tu_result_release(&r);
        assert_int_equal(run_fixture_graph(&r, transports[t],
                                           "[src]\ntype = range\n"
                                           "count = 2000000\n"
                                           "[d]\ntype = dup2\n"
                                           "[h]\ntype = headrun\nn = 1\n"
                                           "other = 1\n"
                                           "[links]\npush = src.out -> d.in\n"
                                           "push = d.o1 -> h.in\n"
                                           "push = d.o2 -> h.other\n"),
                         0);
        /* FLOW_EOF is -9999: a receive on the given-up port ends. */
        tu_assert_contains(r.out, " close=0 again=-9999 other=2000000\n");
        assert_quiet(&r);
        tu_result_release(&r);
        /* Only an input can be given up: on an output the node fails,
         * naming the port, and no producer is told anything. */
        assert_int_equal(run_fixture_graph(&r, transports[t],
                                           "[src]\ntype = range\n"
                                           "count = 2000000\n"
                                           "[d]\ntype = dup2\n"
                                           "give_up = o1\n"
                                           "[h]\ntype = headrun\nn = 1\n"
                                           "other = 1\n"
                                           "[links]\npush = src.out -> d.in\n"
                                           "push = d.o1 -> h.in\n"
                                           "push = d.o2 -> h.other\n"),
                         1);
        tu_assert_contains(r.err, "give up of output port 'o1' (an input "
                                  "only)");
        tu_assert_contains(r.err, "node 'd' instance 0");
        tu_result_release(&r);
    }
}

/*
 * The producer of the given-up input sends a long burst there and nothing
 * on the input still read (dup2 with o2max = 1: its first message only to
 * o2): the node, blocked waiting on that input, must drain the given-up
 * one meanwhile, or the producer blocks on it and the run hangs.
 */
static void
test_cancel_given_up_burst(void **unused)
{
    (void)unused;
    expect_quiet_runs("[src]\ntype = range\ncount = 50000\n"
                      "[d]\ntype = dup2\no2max = 1\n"
                      "[h]\ntype = headrun\nn = 1\nother = 1\n"
                      "[links]\npush = src.out -> d.in batch=1\n"
                      "push = d.o1 -> h.in\n"
                      "push = d.o2 -> h.other\n",
                      true, "got=1 first_rc=0 close=0 again=-9999 other=1\n");
}

/*
 * What a given-up input brings is counted as dropped, wherever it is
 * dropped (while the node waits on another input, or at its end): with
 * log_level = debug the count is every message but the one read, 200000
 * items in batches of 100.
 */
static void
test_cancel_dropped_counted(void **unused)
{
    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        tu_result_t r;
        assert_int_equal(
            run_fixture_graph(&r, transports[t],
                              "[src]\ntype = range\ncount = 200000\n"
                              "[d]\ntype = dup2\n"
                              "[h]\ntype = headrun\nn = 1\nother = 1\n"
                              "log_level = debug\n"
                              "[links]\npush = src.out -> d.in batch=100\n"
                              "push = d.o1 -> h.in\n"
                              "push = d.o2 -> h.other\n"),
            0);
        assert_string_equal(
            r.out, "got=100 first_rc=0 close=0 again=-9999 other=200000\n");
        tu_assert_contains(r.err, " debug: discarded 1999 unread messages on "
                                  "port 'in'\n");
        assert_null(strstr(r.err, "warning"));
        tu_result_release(&r);
    }
}

/*
 * A malformed frame on a given-up input (a sender instance out of range)
 * fails the node, though it reads another input, endless, that it did not
 * give up: the receive returns the failure, the run ends, status 1. (It
 * gives it up 200 ms in, once the frame has come: else its source, no
 * longer wanted, may be stopped before it sends the frame.)
 */
static void
test_cancel_given_up_malformed(void **unused)
{
    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        tu_result_t r;
        assert_int_equal(run_fixture_graph(&r, transports[t],
                                           "[r]\ntype = rawsrc\nclaim = 1\n"
                                           "[o]\ntype = range\n"
                                           "count = 1e18\n"
                                           "[h]\ntype = headrun\nn = 0\n"
                                           "other = 1\npause_ms = 200\n"
                                           "[links]\npush = r.out -> h.in\n"
                                           "push = o.out -> h.other\n"),
                         1);
        tu_assert_contains(r.err, "error: malformed message on link 'r.out -> "
                                  "h.in': sender instance 1 of 1\n");
        tu_result_release(&r);
    }
}

/* A node whose one input is given up (port b of two) mid-run: from then on
 * process() gets nothing more from it, and b's endless source stops while
 * a's runs to its end. */
static void
test_cancel_second_input(void **unused)
{
    (void)unused;
    for (size_t t = 0; t < 2; t++)
        for (int rep = 0; rep < 4; rep++) {
            tu_result_t r;
            assert_int_equal(
                run_fixture_graph(&r, transports[t],
                                  "[sa]\ntype = range\ncount = 300000\n"
                                  "[sb]\ntype = range\ncount = 1e18\n"
                                  "[g]\ntype = giveup2\non = a\ngive = b\n"
                                  "after = 1\n"
                                  "[links]\npush = sa.out -> g.a batch=1000\n"
                                  "push = sb.out -> g.b\n"),
                0);
            tu_assert_contains(r.out, "a=300 ");
            tu_assert_contains(r.out, " late=0\n");
            assert_quiet(&r);
            tu_result_release(&r);
        }
}

/*
 * A node whose one input still open is the one it gives up (b, an empty
 * stream, ended long before): process() gets nothing more from it, though
 * its endless source still sends until it is stopped. That is the loop
 * that blocks on a single input (the loop that polls several is
 * test_cancel_second_input's).
 */
static void
test_cancel_last_input(void **unused)
{
    (void)unused;
    expect_quiet_runs("[sa]\ntype = range\ncount = 1e18\n"
                      "[sb]\ntype = range\ncount = 0\n"
                      "[g]\ntype = giveup2\nafter = 3000\n"
                      "[links]\npush = sa.out -> g.a batch=1\n"
                      "push = sb.out -> g.b\n",
                      true, "a=3000 b_items=0 late=0\n");
}

/*
 * Both instances of a node give their input up, one after the other: the
 * give-ups add up, and the source that feeds both stops once the second
 * has (else the run would not end).
 */
static void
test_cancel_every_instance(void **unused)
{
    (void)unused;
    expect_quiet_runs("[sa]\ntype = range\ncount = 1e18\n"
                      "[sb]\ntype = range\ncount = 0\n"
                      "[g]\ntype = giveup2\ninstances = 2\nafter = 1\n"
                      "[links]\npush = sa.out -> g.a\n"
                      "push = sb.out -> g.b\n",
                      true, "a=1 b_items=0 late=0\na=1 b_items=0 late=0\n");
}

/*
 * A server whose log output nobody wants any more (a collect with a limit)
 * still answers a client that is wanted: nodes joined by pair links are
 * wanted as long as one of them is. (It was stopped, and the client failed:
 * "server ended before answering".)
 */
static void
test_cancel_pair_peer_wanted(void **unused)
{
    (void)unused;
    for (size_t t = 0; t < 2; t++) {
        tu_result_t r;
        char text[1024], *count = tu_temp_file(""), got[64] = "";
        FILE *f;
        /* all's count to a file: standard error is the log pipe, which
         * collect refuses as its output */
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\n"
                 "count = 200000\n"
                 "[cli]\ntype = pairclient\n"
                 "[srv]\ntype = pairlog\n"
                 "[all]\ntype = collect\n"
                 "mode = count\n"
                 "output = %s\n"
                 "[head]\ntype = collect\n"
                 "limit = 1\n"
                 "[links]\npush = src.out -> cli.in\n"
                 "pair = cli.srv <-> srv.peer\n"
                 "push = cli.out -> all.in\n"
                 "push = srv.log -> head.in\n",
                 count);
        if (run_fixture_graph(&r, transports[t], text) != 0)
            print_message("over %s: exit %d\n%s\n", transports[t], r.status,
                          r.err);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, "0\n");
        f = fopen(count, "r");
        assert_non_null(f);
        assert_non_null(fgets(got, sizeof(got), f));
        fclose(f);
        assert_string_equal(got, "200000\n");
        assert_null(strstr(r.err, "error"));
        assert_null(strstr(r.err, "warning"));
        unlink(count);
        free(count);
        tu_result_release(&r);
    }
}

/* order = input behind replicas that reorder: what waits when the limit
 * is reached is dropped without a word. */
static void
test_cancel_in_order_quiet(void **unused)
{
    tu_result_t r;
    char want[65536] = "";

    (void)unused;
    assert_int_equal(tu_run_graph(&r, RUN_TIMEOUT,
                                  "[src]\ntype = range\ncount = 1e18\n"
                                  "[mid]\ntype = jitter\ninstances = 4\n"
                                  "max_us = 300\n"
                                  "[out]\ntype = collect\norder = input\n"
                                  "limit = 2500\n"
                                  "[links]\npush = src.out -> mid.in batch=7\n"
                                  "push = mid.out -> out.in\n",
                                  NULL),
                     0);
    for (int i = 0; i < 2500; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%d\n", i);
    assert_string_equal(r.out, want);
    assert_quiet(&r);
    tu_result_release(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_endless_source),
        cmocka_unit_test(test_cancel_source_last),
        cmocka_unit_test(test_cancel_through_middle),
        cmocka_unit_test(test_cancel_only_the_unwanted),
        cmocka_unit_test(test_cancel_demand_backlog),
        cmocka_unit_test(test_cancel_sieve),
        cmocka_unit_test(test_cancel_sieve_tiny_link),
        cmocka_unit_test(test_cancel_search),
        cmocka_unit_test(test_cancel_limit_not_reached),
        cmocka_unit_test(test_cancel_given_up_still_drained),
        cmocka_unit_test(test_cancel_given_up_while_waiting),
        cmocka_unit_test(test_cancel_given_up_balanced_send),
        cmocka_unit_test(test_cancel_zip_cut),
        cmocka_unit_test(test_cancel_zip_cut_given_up_after_end),
        cmocka_unit_test(test_cancel_given_up_burst),
        cmocka_unit_test(test_cancel_dropped_counted),
        cmocka_unit_test(test_cancel_given_up_malformed),
        cmocka_unit_test(test_cancel_second_input),
        cmocka_unit_test(test_cancel_last_input),
        cmocka_unit_test(test_cancel_every_instance),
        cmocka_unit_test(test_cancel_pair_peer_wanted),
        cmocka_unit_test(test_cancel_in_order_quiet),
    };

    tu_watchdog(600);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
