/* SPDX-License-Identifier: MIT */
/*
 * test_core.c: flowrun end to end on the article's graphs and on
 * end-of-stream stress graphs, checked against oracles computed here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow/flow.h"
#include "testutil.h"

__extension__ typedef unsigned __int128 u128;

/*
 * The words of the words node, computed here from the generator's
 * definition (nodes/words.c), independently of the node and of
 * tools/bench/ref/palindromes_ref.c: a sequential SplitMix64 stream seeded
 * with `seed`, 12 letters per 64-bit draw x, letter j = floor(x * 26^(j+1) /
 * 2^64) mod 26, word k = letters k * len to k * len + len - 1. Returns
 * the `n` words, `len` letters each, one after the other (caller frees).
 */
static char *
oracle_words(int64_t seed, size_t len, size_t n)
{
    char *w = malloc(n * len + 1);
    uint64_t state = (uint64_t)seed, x = 0;
    unsigned j = 12;

    assert_non_null(w);
    for (size_t m = 0; m < n * len; m++) {
        u128 scale = 26;
        if (j == 12) {
            x = tu_splitmix64(&state);
            j = 0;
        }
        for (unsigned p = 0; p < j; p++)
            scale *= 26;
        w[m] = (char)('a' + (unsigned)((((u128)x * scale) >> 64) % 26));
        j++;
    }
    w[n * len] = '\0';
    return w;
}

static bool
is_palindrome(const char *w, size_t n)
{
    for (size_t i = 0; i < n / 2; i++)
        if (w[i] != w[n - 1 - i])
            return false;
    return true;
}

/*
 * Check that `out`, a graph's output, is exactly the palindromes among the
 * oracle's `n` words of `len` letters for `seed`, one per line, in input
 * order. Returns how many there are.
 */
static size_t
expect_palindromes(char *out, int64_t seed, size_t len, size_t n)
{
    char *w = oracle_words(seed, len, n);
    size_t np, k = 0;
    char **p = tu_lines(out, &np);

    for (size_t i = 0; i < n; i++) {
        const char *word = w + i * len;
        if (!is_palindrome(word, len))
            continue;
        assert_true(k < np);
        assert_int_equal(strlen(p[k]), len);
        assert_memory_equal(p[k], word, len);
        k++;
    }
    assert_int_equal(k, np);
    free(p);
    free(w);
    return np;
}

/* The words node itself, through a words -> collect graph with 3
 * instances and an odd batch: every word of the oracle, in order. */
static void
test_core_words_match_oracle(void **unused)
{
    tu_result_t r;
    char text[1024], *path, *w;
    size_t nw;
    char **lines;

    (void)unused;
    snprintf(text, sizeof(text),
             "[gen]\ntype = words\ninstances = 3\ncount = 20000\n"
             "length = 5\nseed = -7\n"
             "[out]\ntype = collect\norder = input\n"
             "[links]\npush = gen.out -> out.in batch=777\n");
    path = tu_temp_file(text);
    assert_int_equal(tu_runl(&r, 60, path, NULL), 0);
    unlink(path);
    free(path);
    lines = tu_lines(r.out, &nw);
    assert_int_equal(nw, 20000);
    w = oracle_words(-7, 5, 20000);
    for (size_t i = 0; i < nw; i++) {
        assert_int_equal(strlen(lines[i]), 5);
        assert_memory_equal(lines[i], w + i * 5, 5);
    }
    free(w);
    free(lines);
    tu_result_release(&r);
}

/* The article's run: 8000 four-letter words in two chunks, two workers.
 * Output in input order must equal a plain loop over the same words. */
static void
test_core_palindromes_article(void **unused)
{
    tu_result_t run;
    size_t np;

    (void)unused;
    assert_int_equal(tu_runl(&run, 60, tu_src("graphs/palindromes.ini"), NULL),
                     0);
    np = expect_palindromes(run.out, 1, 4, 8000);
    /* 26^2 palindromes among 26^4 words: about 12 expected in 8000. */
    assert_true(np > 0);
    tu_result_release(&run);
}

/* Scaled up, more workers, small chunks: the same set, in input order. */
static void
test_core_palindromes_scaled(void **unused)
{
    tu_result_t run;
    size_t np;

    (void)unused;
    assert_int_equal(tu_runl(&run, 60, tu_src("graphs/palindromes.ini"),
                             "--set", "words=300000", "--set", "length=3",
                             "--set", "seed=7", "--set", "workers=3", "--set",
                             "chunk=1000", NULL),
                     0);
    np = expect_palindromes(run.out, 7, 3, 300000);
    /* 26^2 of 26^3 three-letter words are palindromes: about 1/26. */
    assert_true(np > 300000 / 26 / 2 && np < 300000 / 26 * 2);
    tu_result_release(&run);
}

/* The parallel shape (several word makers straight to the finders): the
 * article's default run and scaled runs with every mix of makers and
 * workers, chunks that do not divide the words, words that straddle the
 * generator's draws. */
static void
test_core_palindromes_parallel(void **unused)
{
    static const struct {
        const char *words, *length, *seed, *chunk, *makers, *workers;
    } runs[] = {
        { NULL, NULL, NULL, NULL, NULL, NULL },
        { "300000", "3", "7", "999", "3", "2" },
        { "200000", "5", "-2", "4096", "1", "3" },
        { "100000", "4", "11", "100000", "2", "1" },
        { "50000", "1", "5", "1234", "2", "2" },
    };

    (void)unused;
    for (size_t i = 0; i < sizeof(runs) / sizeof(*runs); i++) {
        char a[6][64];
        const char *args[16];
        size_t na = 0, n = 8000, len = 4, np;
        int64_t seed = 1;
        tu_result_t run;

        args[na++] = tu_src("graphs/palindromes_parallel.ini");
        if (runs[i].words) {
            snprintf(a[0], sizeof(a[0]), "words=%s", runs[i].words);
            snprintf(a[1], sizeof(a[1]), "length=%s", runs[i].length);
            snprintf(a[2], sizeof(a[2]), "seed=%s", runs[i].seed);
            snprintf(a[3], sizeof(a[3]), "chunk=%s", runs[i].chunk);
            snprintf(a[4], sizeof(a[4]), "makers=%s", runs[i].makers);
            snprintf(a[5], sizeof(a[5]), "workers=%s", runs[i].workers);
            for (size_t k = 0; k < 6; k++) {
                args[na++] = "--set";
                args[na++] = a[k];
            }
            n = strtoul(runs[i].words, NULL, 10);
            len = strtoul(runs[i].length, NULL, 10);
            seed = strtoll(runs[i].seed, NULL, 10);
        }
        args[na] = NULL;
        assert_int_equal(tu_run(&run, 60, args), 0);
        np = expect_palindromes(run.out, seed, len, n);
        if (len == 1)
            assert_int_equal(np, n);
        else
            assert_true(np > 0);
        tu_result_release(&run);
    }
}

/* output = count: the number of palindromes, from the same oracle. */
static void
test_core_palindromes_parallel_count(void **unused)
{
    tu_result_t run;
    char *w = oracle_words(3, 3, 100000);
    size_t want = 0;
    char expect[32];

    (void)unused;
    for (size_t i = 0; i < 100000; i++)
        want += is_palindrome(w + i * 3, 3);
    free(w);
    snprintf(expect, sizeof(expect), "%zu\n", want);
    assert_int_equal(
        tu_runl(&run, 60, tu_src("graphs/palindromes_parallel.ini"), "--set",
                "words=100000", "--set", "length=3", "--set", "seed=3", "--set",
                "chunk=3333", "--set", "output=count", NULL),
        0);
    assert_string_equal(run.out, expect);
    tu_result_release(&run);
}

/* The search shape (each worker makes and tests its own chunks, only the
 * palindromes travel): the default run, then every mix of workers, chunks
 * that do not divide the words, words that straddle the generator's draws,
 * more workers than chunks; the listing and the count. */
static void
test_core_palindromes_search(void **unused)
{
    static const struct {
        const char *words, *length, *seed, *chunk, *workers;
    } runs[] = {
        { NULL, NULL, NULL, NULL, NULL },
        { "300000", "3", "7", "999", "3" },
        { "200000", "5", "-2", "4096", "1" },
        { "100000", "4", "11", "100000", "2" },
        { "50000", "1", "5", "1234", "5" },
        { "7", "3", "9", "2", "7" },
        { "0", "4", "1", "10", "2" },
    };

    (void)unused;
    for (size_t i = 0; i < sizeof(runs) / sizeof(*runs); i++) {
        for (int count = 0; count < 2; count++) {
            char a[6][64];
            const char *args[16];
            size_t na = 0, n = 8000, len = 4, np;
            int64_t seed = 1;
            tu_result_t run;

            args[na++] = tu_src("graphs/palindromes_search.ini");
            if (runs[i].words) {
                snprintf(a[0], sizeof(a[0]), "words=%s", runs[i].words);
                snprintf(a[1], sizeof(a[1]), "length=%s", runs[i].length);
                snprintf(a[2], sizeof(a[2]), "seed=%s", runs[i].seed);
                snprintf(a[3], sizeof(a[3]), "chunk=%s", runs[i].chunk);
                snprintf(a[4], sizeof(a[4]), "workers=%s", runs[i].workers);
                for (size_t k = 0; k < 5; k++) {
                    args[na++] = "--set";
                    args[na++] = a[k];
                }
                n = strtoul(runs[i].words, NULL, 10);
                len = strtoul(runs[i].length, NULL, 10);
                seed = strtoll(runs[i].seed, NULL, 10);
            }
            if (count) {
                args[na++] = "--set";
                args[na++] = "output=count";
            }
            args[na] = NULL;
            assert_int_equal(tu_run(&run, 60, args), 0);
            if (count) {
                char *w = oracle_words(seed, len, n);
                size_t want = 0;
                char expect[32];
                for (size_t k = 0; k < n; k++)
                    want += is_palindrome(w + k * len, len);
                free(w);
                snprintf(expect, sizeof(expect), "%zu\n", want);
                assert_string_equal(run.out, expect);
            } else {
                np = expect_palindromes(run.out, seed, len, n);
                if (len == 1)
                    assert_int_equal(np, n);
                else if (n >= 8000)
                    assert_true(np > 0);
            }
            tu_result_release(&run);
        }
    }
}

/* pids.ini: one line per CPU, in index order, distinct pids that are live
 * children of flowrun while the graph runs. */
static void
test_core_pids(void **unused)
{
    const char *args[] = { tu_src("graphs/pids.ini"), "--set", "linger_ms=3000",
                           NULL };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int fd, status;
    pid_t flowrun = tu_spawn(args, &fd);
    FILE *f = fdopen(fd, "r");
    char line[256];
    long *pids = calloc((size_t)ncpu, sizeof(*pids));

    (void)unused;
    for (long i = 0; i < ncpu; i++) {
        long idx, pid;
        char path[64], buf[4096];
        FILE *st;
        long ppid = -1;
        pid_t flowrun_pgid = 0;

        assert_non_null(fgets(line, sizeof(line), f));
        assert_int_equal(sscanf(line, "%ld %ld", &idx, &pid), 2);
        assert_int_equal(idx, i);
        for (long j = 0; j < i; j++)
            assert_true(pids[j] != pid);
        pids[i] = pid;
        assert_true(pid != flowrun);
        /* Alive now, and a child of flowrun. */
        snprintf(path, sizeof(path), "/proc/%ld/status", pid);
        st = fopen(path, "r");
        assert_non_null(st);
        while (fgets(buf, sizeof(buf), st))
            if (!strncmp(buf, "PPid:", 5))
                ppid = strtol(buf + 5, NULL, 10);
        fclose(st);
        assert_int_equal(ppid, flowrun);
        (void)flowrun_pgid;
    }
    assert_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_int_equal(waitpid(flowrun, &status, 0), flowrun);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(pids);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Every item 0..n-1 arrives exactly once at the collector. */
static void
check_exactly_once(tu_result_t *r, int64_t n)
{
    size_t nl;
    char **lines = tu_lines(r->out, &nl);
    int64_t *v = malloc(sizeof(*v) * (nl ? nl : 1));

    assert_int_equal(nl, (size_t)n);
    for (size_t i = 0; i < nl; i++)
        v[i] = strtoll(lines[i], NULL, 10);
    qsort(v, nl, sizeof(*v), cmp_i64);
    for (size_t i = 0; i < nl; i++)
        assert_int_equal(v[i], (int64_t)i);
    free(v);
    free(lines);
}

/* Producers x consumers with a tiny high-water mark and random delays in
 * the consumers: every item exactly once, nothing hangs. Looped: three
 * times round robin, three times balance=demand (hwm 1 and 3, and the
 * default, whose credit window adapts: widens for the consumers without
 * delays, stays narrow for those with them). */
static void
test_core_eos_matrix(void **unused)
{
    static const int prod[] = { 1, 2, 3, 7 };
    static const int cons[] = { 1, 2, 5 };
    const int64_t n = 5000;

    (void)unused;
    for (int loop = 0; loop < 6; loop++)
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 3; j++) {
                char text[1024], hwm[16], *path;
                const char *balance = loop >= 3 ? "demand" : "rr";
                tu_result_t r;

                snprintf(hwm, sizeof(hwm), "hwm=%d ", loop == 4 ? 3 : 1);
                snprintf(text, sizeof(text),
                         "[src]\ntype = range\ninstances = %d\ncount = "
                         "%lld\n"
                         "[mid]\ntype = jitter\ninstances = %d\nmax_us = "
                         "%d\nseed = %d\n"
                         "[out]\ntype = collect\n"
                         "[links]\npush = src.out -> mid.in batch=%d %s"
                         "balance=%s\n"
                         "push = mid.out -> out.in %sbalance=%s\n",
                         prod[i], (long long)n, cons[j],
                         (loop + (int)j) % 2 ? 300 : 0, loop * 31 + (int)i,
                         loop == 2 || loop >= 4 ? 1 : 13, loop == 5 ? "" : hwm,
                         balance, loop == 5 ? "" : hwm, balance);
                path = tu_temp_file(text);
                if (tu_runl(&r, 60, path, NULL) != 0)
                    fprintf(stderr, "case p=%d c=%d loop %d:\n%s\n", prod[i],
                            cons[j], loop, r.err);
                assert_int_equal(r.status, 0);
                check_exactly_once(&r, n);
                unlink(path);
                free(path);
                tu_result_release(&r);
            }
}

/*
 * Run range(count n, batch 1) -> slowone(2 instances, instance 0 taking
 * `ms` per message) -> collect over a push link with `balance`; check that
 * every number arrives exactly once and return how many instance 0 took.
 */
static size_t
slow_instance_share(const char *balance, int ms, int64_t n)
{
    char text[1024];
    tu_result_t r;
    size_t nl, slow = 0;
    char **lines;
    unsigned char *seen = calloc((size_t)n, 1);

    snprintf(text, sizeof(text),
             "[src]\ntype = range\ncount = %lld\n"
             "[w]\ntype = slowone\ninstances = 2\nms = %d\n"
             "[out]\ntype = collect\n"
             "[links]\npush = src.out -> w.in batch=1 balance=%s\n"
             "push = w.out -> out.in\n",
             (long long)n, ms, balance);
    assert_int_equal(tu_run_graph(&r, 60, text, "--plugin-path",
                                  FLOW_FIXTURE_PLUGIN_DIR, NULL),
                     0);
    lines = tu_lines(r.out, &nl);
    assert_int_equal(nl, (size_t)n);
    for (size_t i = 0; i < nl; i++) {
        long long v = strtoll(lines[i], NULL, 10), item = v % 1000000;
        assert_true(item >= 0 && item < n && v / 1000000 <= 1);
        assert_false(seen[item]);
        seen[item] = 1;
        slow += v / 1000000 == 0;
    }
    free(lines);
    free(seen);
    tu_result_release(&r);
    return slow;
}

/*
 * balance=demand (hwm 1 by default) sends a consumer instance a message
 * only when it has taken the one before: an instance that spends 300 ms on
 * each gets the first, one waiting, and perhaps one more, while the other
 * takes the rest (it needs well under 300 ms for them). Round robin, the
 * control, deals them in turn, whatever each instance's pace: the slow one
 * gets its queue's worth.
 */
static void
test_core_balance_demand(void **unused)
{
    size_t slow;

    (void)unused;
    slow = slow_instance_share("demand", 300, 100);
    if (slow > 4)
        fail_msg("balance=demand: the slow instance took %zu of 100", slow);
    slow = slow_instance_share("rr", 20, 100);
    if (slow < 20)
        fail_msg("balance=rr: the slow instance took only %zu of 100", slow);
}

static char *read_all(const char *path, size_t *len);

/* The credit windows that the instances of node `node` gave on input
 * `port`, from the --stats-json file `path`, into `w` (at most `max`);
 * returns how many. */
static size_t
credit_windows(const char *path, const char *node, const char *port, long *w,
               size_t max)
{
    size_t len, n = 0;
    char *text = read_all(path, &len), key[128];
    const char *at, *end;

    assert_non_null(text);
    snprintf(key, sizeof(key), "\"name\": \"%s\"", node);
    at = strstr(text, key);
    assert_non_null(at);
    end = strstr(at + 1, "\"name\": ");
    snprintf(key, sizeof(key), "{\"port\": \"%s\"", port);
    while ((at = strstr(at, key)) && (!end || at < end) && n < max) {
        const char *cw = strstr(at, "\"credit_window\": ");
        assert_non_null(cw);
        assert_int_equal(sscanf(cw, "\"credit_window\": %ld", &w[n]), 1);
        n++;
        at = cw;
    }
    free(text);
    return n;
}

/*
 * A demand link without an hwm of its own lets each consumer instance
 * widen its credit window to what it works through in two round trips of
 * a credit: wide for workers that pass 1-item messages on at once (a
 * message costs them microseconds, a round trip tens of them at the
 * least), where a window of 1 would make each message wait for a round
 * trip; 1 for workers that spend 20 ms on each, so a slow one holds no
 * more than with the old fixed window. An hwm written on the link fixes
 * the window; a round robin link has none. Every run delivers every item.
 */
static void
test_core_balance_demand_window(void **unused)
{
    static const struct {
        const char *type, *opts;
        long count, least, most;
    } cases[] = {
        { "jitter", "", 100000, 8, 1000 },
        { "slowone\nms = 20\nothers_ms = 20", "", 40, 1, 1 },
        { "jitter", " hwm=3", 100000, 3, 3 },
        { "jitter", " hwm=200", 100000, 200, 200 },
    };

    (void)unused;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char text[512], *stats = tu_temp_file(""), want[32];
        long w[4];
        tu_result_t r;

        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = %ld\n"
                 "[w]\ntype = %s\ninstances = 2\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npush = src.out -> w.in batch=1 balance=demand%s\n"
                 "push = w.out -> out.in\n",
                 cases[i].count, cases[i].type, cases[i].opts);
        assert_int_equal(tu_run_graph(&r, 60, text, "--plugin-path",
                                      FLOW_FIXTURE_PLUGIN_DIR, "--stats-json",
                                      stats, NULL),
                         0);
        snprintf(want, sizeof(want), "%ld\n", cases[i].count);
        assert_string_equal(r.out, want);
        assert_int_equal(credit_windows(stats, "w", "in", w, 4), 2);
        for (int k = 0; k < 2; k++)
            if (w[k] < cases[i].least || w[k] > cases[i].most)
                fail_msg("case %zu: w[%d] gave a credit window of %ld, not "
                         "within [%ld, %ld]",
                         i, k, w[k], cases[i].least, cases[i].most);
        /* Round robin into out: no credits. */
        assert_int_equal(credit_windows(stats, "out", "in", w, 4), 1);
        assert_int_equal(w[0], 0);
        tu_result_release(&r);
        unlink(stats);
        free(stats);
    }
}

/*
 * A producer slower than its consumers (a message a millisecond, to two
 * workers that spend about 0.2 ms on each): each worker waits for every
 * message, and the credit that let it come was sent some producer
 * intervals before, as many as the window is wide. Counted as round trips
 * of a credit, those made the window wider and the next sample longer, on
 * to credit_max (about 130 of 1000 in 1500 messages): far more than two
 * round trips of the workers' work, all held by one of them once the
 * producer speeds up. The window stays within a few producer intervals.
 */
static void
test_core_balance_demand_window_slow_producer(void **unused)
{
    char *stats = tu_temp_file("");
    long w[4];
    tu_result_t r;

    (void)unused;
    assert_int_equal(
        tu_run_graph(&r, 60,
                     "[src]\ntype = range\ncount = 1500\n"
                     "[gate]\ntype = slowone\nms = 1\n"
                     "[w]\ntype = jitter\ninstances = 2\nmax_us = 400\n"
                     "[out]\ntype = collect\nmode = count\n"
                     "[links]\npush = src.out -> gate.in batch=1\n"
                     "push = gate.out -> w.in batch=1 balance=demand\n"
                     "push = w.out -> out.in\n",
                     "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR, "--stats-json",
                     stats, NULL),
        0);
    assert_string_equal(r.out, "1500\n");
    assert_int_equal(credit_windows(stats, "w", "in", w, 4), 2);
    for (int k = 0; k < 2; k++)
        if (w[k] < 1 || w[k] > 64)
            fail_msg("w[%d] gave a credit window of %ld behind a slow "
                     "producer, not within [1, 64]",
                     k, w[k]);
    tu_result_release(&r);
    unlink(stats);
    free(stats);
}

/*
 * A producer that once has nothing to send: 150 messages 10 ms apart, a
 * pause of 500 ms, then 250 at once, to a worker that spends 50 ms on each
 * and one that spends 1 ms. The slow worker finds its queue empty only in
 * the pause, and that wait, no round trip of its credits (0.14 ms), made
 * its window 2 x 450 / 50 = 19 for the rest of the run: it then held 19
 * messages of the burst, a second of work, while the other finished its
 * share in a quarter of that (20 to 25 of the 250 against 7). Its window
 * stays 1, as a window of 1 made its frames come queued.
 */
static void
test_core_balance_demand_window_producer_pause(void **unused)
{
    char *stats = tu_temp_file("");
    size_t nl, burst = 0;
    char **lines;
    long w[4];
    tu_result_t r;

    (void)unused;
    assert_int_equal(
        tu_run_graph(&r, 60,
                     "[src]\ntype = pausesrc\ncount = 400\npaced = 150\n"
                     "pace_ms = 10\npause_ms = 500\n"
                     "[w]\ntype = slowone\ninstances = 2\nms = 50\n"
                     "others_ms = 1\n"
                     "[out]\ntype = collect\n"
                     "[links]\npush = src.out -> w.in batch=1 balance=demand\n"
                     "push = w.out -> out.in\n",
                     "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR, "--stats-json",
                     stats, NULL),
        0);
    lines = tu_lines(r.out, &nl);
    assert_int_equal(nl, 400);
    for (size_t i = 0; i < nl; i++) {
        long long v = strtoll(lines[i], NULL, 10);
        burst += v >= 150 && v < 1000000; /* a burst item, worker 0's */
    }
    assert_int_equal(credit_windows(stats, "w", "in", w, 4), 2);
    if (w[0] > 3 || burst > 12)
        fail_msg("the 50 ms worker gave a credit window of %ld after its "
                 "producer's pause and took %zu of the 250 messages after it",
                 w[0], burst);
    free(lines);
    tu_result_release(&r);
    unlink(stats);
    free(stats);
}

/* A consumer that gives up a demand input drops what comes and still
 * credits it: the producers run on until they are stopped, never waiting
 * for credit, and the run ends with status 0. */
static void
test_core_balance_demand_given_up(void **unused)
{
    tu_result_t r;

    (void)unused;
    assert_int_equal(
        tu_run_graph(&r, 60,
                     "[src]\ntype = range\ninstances = 2\n"
                     "count = 1000000000000\n"
                     "[w]\ntype = jitter\ninstances = 3\n"
                     "[out]\ntype = collect\nlimit = 10\nmode = count\n"
                     "[links]\npush = src.out -> w.in batch=5 "
                     "balance=demand hwm=2\n"
                     "push = w.out -> out.in balance=demand\n",
                     NULL),
        0);
    assert_string_equal(r.out, "10\n");
    tu_result_release(&r);
}

/*
 * Pool.map over a file's lines, graphs/palindromes_file.ini: lines ->
 * palindromes (2 workers, dealt by demand) -> collect order=input, reading
 * a file and then standard input (inherited by the instance from flowrun),
 * in chunks of 100 lines. The oracle: the lines written here that equal
 * their reverse (an empty line too), in the file's order.
 */
static void
test_core_lines_pool_map(void **unused)
{
    size_t cap = 1 << 16, len = 0, wlen = 0;
    char *text = malloc(cap), *want = malloc(cap), *path;
    uint64_t x = 42;
    tu_result_t r;

    (void)unused;
    for (int i = 0; i < 6000; i++) {
        char w[8];
        size_t n;
        x = x * 6364136223846793005u + 1442695040888963407u;
        n = (size_t)(x >> 61); /* 0 to 7 letters of "ab" */
        for (size_t k = 0; k < n; k++)
            w[k] = (x >> (20 + k)) & 1 ? 'a' : 'b';
        bool pal = true;
        for (size_t k = 0; k < n / 2; k++)
            pal &= w[k] == w[n - 1 - k];
        len += (size_t)snprintf(text + len, cap - len, "%.*s\n", (int)n, w);
        if (pal)
            wlen +=
                (size_t)snprintf(want + wlen, cap - wlen, "%.*s\n", (int)n, w);
    }
    path = tu_temp_file(text);
    for (int from_stdin = 0; from_stdin < 2; from_stdin++) {
        char set[4200];
        int saved = dup(STDIN_FILENO), fd = open(path, O_RDONLY);
        assert_true(saved >= 0 && fd >= 0);
        if (from_stdin)
            assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
        close(fd);
        snprintf(set, sizeof(set), "input=%s", from_stdin ? "-" : path);
        int status = tu_runl(&r, 60, "--set", set, "--set", "chunk=100",
                             tu_src("graphs/palindromes_file.ini"), NULL);
        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
        if (status != 0)
            fail_msg("from %s: status %d: %s", from_stdin ? "stdin" : "file",
                     status, r.err);
        assert_string_equal(r.out, want);
        tu_result_release(&r);
    }
    unlink(path);
    free(path);
    free(text);
    free(want);
}

/* Read from `fd` into `buf` (`cap` bytes, NUL-terminated) until `want`
 * bytes came, the end, or `secs` passed; returns the bytes read. */
static size_t
read_for(int fd, char *buf, size_t cap, size_t want, double secs)
{
    double end = tu_now_s() + secs;
    size_t len = 0;

    while (len < want && len + 1 < cap) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        double left = end - tu_now_s();
        ssize_t n;
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            break;
        n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/*
 * lines from a pipe whose writer stays (tail -f | flowrun ...): the lines
 * written reach the sink within wait_ms (50 ms), not when the chunk of
 * 1024 fills or the writer ends; the run ends, with every line, when the
 * writer closes. The control, wait_ms = 0, holds them in the chunk (they
 * all came out at the end only).
 */
static void
test_core_lines_stream(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = lines\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in\n");

    (void)unused;
    for (int control = 0; control < 2; control++) {
        char set[32], buf[256];
        const char *args[] = { "--set", set, path, NULL };
        int in[2], out, saved = dup(STDIN_FILENO), status;
        pid_t pid;
        size_t len;

        snprintf(set, sizeof(set), "src.wait_ms=%d", control ? 0 : 50);
        assert_true(saved >= 0);
        assert_int_equal(pipe2(in, O_CLOEXEC), 0); /* the writer's stays here */
        assert_int_equal(dup2(in[0], STDIN_FILENO), STDIN_FILENO);
        close(in[0]);
        pid = tu_spawn(args, &out);
        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
        assert_int_equal(write(in[1], "alpha\nbeta\n", 11), 11);
        len = read_for(out, buf, sizeof(buf), 11, control ? 1 : 20);
        if (control)
            assert_int_equal(len, 0);
        else
            assert_string_equal(buf, "alpha\nbeta\n");
        assert_int_equal(write(in[1], "gamma\n", 6), 6);
        close(in[1]);
        len += read_for(out, buf + len, sizeof(buf) - len, 100, 30);
        assert_string_equal(buf, "alpha\nbeta\ngamma\n");
        close(out);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    unlink(path);
    free(path);
}

/* Start flowrun with `args` on a pipe that holds the `len` bytes at `in`
 * as its standard input (both ends stay open here, in `p`); its standard
 * output, or with `err` its standard error, readable on `*fd`. Returns its
 * pid. */
static pid_t
spawn_on_pipe(const char *const *args, const char *in, size_t len, int p[2],
              bool err, int *fd)
{
    int saved = dup(STDIN_FILENO);
    pid_t pid;

    assert_true(saved >= 0);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(write(p[1], in, len), (ssize_t)len);
    assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    pid = err ? tu_spawn_stderr(args, fd) : tu_spawn(args, fd);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    return pid;
}

/*
 * A graceful stop (SIGTERM to flowrun) while lines waits to send, its
 * consumer slow (a jitter node that takes one message at a time): every
 * line lines read from the pipe still reaches the sink, as the lines of a
 * read the stop interrupts do. The send the stop interrupted destroyed its
 * message, and the lines read after it went with the node's buffer: of a
 * stream, 3,000 lines in 800,000 were lost (the whole input here but the
 * first chunks). flowrun's output and what is left in the pipe are the
 * input, whole and in order.
 */
static void
test_core_lines_stop_keeps_read(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = lines\nchunk = 100\n"
                              "[slow]\ntype = jitter\nmax_us = 40000\n"
                              "[out]\ntype = collect\n"
                              "[links]\n"
                              "push = src.out -> slow.in balance=demand hwm=1\n"
                              "push = slow.out -> out.in\n");
    const char *args[] = { "--quiet", path, NULL };
    enum { N = 4000 }; /* 19 KB: the pipe holds it all */
    size_t cap = 8 * N + 1, len = 0, got;
    char *in = malloc(cap), *out = malloc(cap);
    int p[2], fd, status;
    ssize_t n;
    pid_t pid;

    (void)unused;
    assert_non_null(in);
    assert_non_null(out);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(in + len, cap - len, "%d\n", i);
    pid = spawn_on_pipe(args, in, len, p, false, &fd);
    /* The first lines came out: lines has read the input and waits to
     * send the next chunk. */
    got = read_for(fd, out, cap, 1, 20);
    assert_true(got > 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    got += read_for(fd, out + got, cap - got, cap, 30);
    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    /* What lines did not read is still in the pipe. */
    close(p[1]);
    while (got < cap && (n = read(p[0], out + got, cap - got)) > 0)
        got += (size_t)n;
    close(p[0]);
    if (got != len)
        fail_msg("%zu bytes of %zu: lines read from the pipe were lost", got,
                 len);
    assert_memory_equal(out, in, len);
    unlink(path);
    free(path);
    free(in);
    free(out);
}

/*
 * A stop while lines holds the start of a line whose newline has not come
 * (its writer still open): the whole lines before it reach the sink, the
 * cut line does not (as "par" it would pass for a record of its own), and
 * a warning names its number and the bytes read of it.
 */
static void
test_core_lines_stop_partial_line(void **unused)
{
    char *count = tu_temp_file(""), *path, ini[512];
    const char *args[] = { NULL, NULL };
    static const char tail[] = "partial"; /* no newline */
    enum { N = 300 };
    char in[4096], err[8192], want[160];
    FILE *f;
    size_t len = 0, got;
    int p[2], fd, status, queued = 1;
    double end;
    pid_t pid;

    (void)unused;
    snprintf(ini, sizeof(ini),
             "[src]\ntype = lines\n"
             "[out]\ntype = collect\nmode = count\noutput = %s\n"
             "[links]\npush = src.out -> out.in\n",
             count);
    path = tu_temp_file(ini);
    args[0] = path;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(in + len, sizeof(in) - len, "%d\n", i);
    len += (size_t)snprintf(in + len, sizeof(in) - len, "%s", tail);
    pid = spawn_on_pipe(args, in, len, p, true, &fd);
    /* lines has read it all once the pipe is empty. */
    for (end = tu_now_s() + 20; queued > 0 && tu_now_s() < end;) {
        assert_int_equal(ioctl(p[0], FIONREAD, &queued), 0);
        usleep(10000);
    }
    assert_int_equal(queued, 0);
    usleep(200000);
    assert_int_equal(kill(pid, SIGTERM), 0);
    got = read_for(fd, err, sizeof(err), sizeof(err), 30);
    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(p[0]);
    close(p[1]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    assert_true(got > 0);
    snprintf(want, sizeof(want),
             "stopped in the middle of line %d of standard input: its first "
             "%zu bytes",
             N + 1, strlen(tail));
    if (!strstr(err, want))
        fail_msg("no warning '%s' in:\n%s", want, err);
    f = fopen(count, "r");
    assert_non_null(f);
    assert_non_null(fgets(want, sizeof(want), f));
    fclose(f);
    assert_int_equal(atoi(want), N); /* the whole lines, all of them */
    unlink(count);
    free(count);
    unlink(path);
    free(path);
}

/*
 * The same stop while lines reads a regular file (in 64 KiB blocks, which
 * end in the middle of a line of 7 bytes): no warning, since the file
 * still holds the cut line, as it holds the lines the stop left unread.
 * The count shows the stop came in the middle of the file.
 */
static void
test_core_lines_stop_file_quiet(void **unused)
{
    char *count = tu_temp_file(""), *data = tu_temp_file(""), *path, ini[640];
    const char *args[] = { NULL, NULL };
    enum { N = 300000 };
    char err[8192], got[64];
    int fd, status;
    long n;
    FILE *f;
    pid_t pid;

    (void)unused;
    f = fopen(data, "w");
    assert_non_null(f);
    for (int i = 0; i < N; i++)
        fprintf(f, "%06d\n", i);
    assert_int_equal(fclose(f), 0);
    snprintf(ini, sizeof(ini),
             "[src]\ntype = lines\npath = %s\nchunk = 1000\n"
             "[slow]\ntype = jitter\nmax_us = 20000\n"
             "[out]\ntype = collect\nmode = count\noutput = %s\n"
             "[links]\npush = src.out -> slow.in balance=demand hwm=1\n"
             "push = slow.out -> out.in\n",
             data, count);
    path = tu_temp_file(ini);
    args[0] = path;
    pid = tu_spawn_stderr(args, &fd);
    usleep(1000000);
    assert_int_equal(kill(pid, SIGTERM), 0);
    read_for(fd, err, sizeof(err), sizeof(err), 30);
    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    if (strstr(err, "stopped in the middle of line"))
        fail_msg("a warning for a regular file:\n%s", err);
    f = fopen(count, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof(got), f));
    fclose(f);
    n = atol(got);
    if (n <= 0 || n >= N)
        fail_msg("%ld lines of %d: the stop did not come mid-file", n, N);
    unlink(count);
    unlink(data);
    unlink(path);
    free(count);
    free(data);
    free(path);
}

/*
 * Two lines nodes reading standard input ('-' and /dev/stdin): refused
 * before the run, naming the other reader. Each took pieces of the input,
 * cutting lines in two: 1,000 lines came out as 1,001 or more. One reader
 * of standard input and one of a file pass --check.
 */
static void
test_core_lines_one_stdin_reader(void **unused)
{
    static const char *const second[] = { "-", "/dev/stdin" };
    tu_result_t r;

    (void)unused;
    for (size_t i = 0; i < 2; i++) {
        char text[512];

        snprintf(text, sizeof(text),
                 "[a]\ntype = lines\n"
                 "[b]\ntype = lines\npath = %s\n"
                 "[ca]\ntype = collect\nmode = count\n"
                 "[cb]\ntype = collect\nmode = count\n"
                 "[links]\npush = a.out -> ca.in\npush = b.out -> cb.in\n",
                 second[i]);
        assert_int_equal(tu_run_graph(&r, 30, text, NULL), 2);
        tu_assert_contains(r.err, ":3: node 'b' of type 'lines': 'path' "
                                  "reads standard input, as node 'a' (line "
                                  "1) does");
        tu_result_release(&r);
    }
    assert_int_equal(
        tu_run_graph(&r, 30,
                     "[a]\ntype = lines\n"
                     "[b]\ntype = lines\npath = /dev/null\n"
                     "[ca]\ntype = collect\nmode = count\n"
                     "[cb]\ntype = collect\nmode = count\n"
                     "[links]\npush = a.out -> ca.in\npush = b.out -> cb.in\n",
                     "--check", NULL),
        0);
    tu_result_release(&r);
}

/*
 * An empty 'path' is an error of the graph, naming its file and line (by
 * --check too), as collect's empty 'output' is: it passed the check and
 * failed only at run time, "cannot open '': No such file or directory",
 * without the graph's line.
 */
static void
test_core_lines_empty_path(void **unused)
{
    tu_result_t r;

    (void)unused;
    for (int check = 0; check < 2; check++) {
        assert_int_equal(tu_run_graph(&r, 30,
                                      "[src]\ntype = lines\npath =\n"
                                      "[out]\ntype = collect\n"
                                      "[links]\npush = src.out -> out.in\n",
                                      check ? "--check" : NULL, NULL),
                         2);
        tu_assert_contains(r.err, ":1: node 'src' of type 'lines': empty "
                                  "path in 'path'");
        tu_result_release(&r);
    }
}

/*
 * A read error of a file that is no terminal is said as it is: reading
 * /proc/self/mem at offset 0 (no page mapped there) fails with EIO, and the
 * terminal check's isatty() replaced errno with ENOTTY ("Inappropriate
 * ioctl for device").
 */
static void
test_core_lines_read_error(void **unused)
{
    tu_result_t r;

    (void)unused;
    assert_int_equal(tu_run_graph(&r, 30,
                                  "[src]\ntype = lines\n"
                                  "path = /proc/self/mem\n"
                                  "[out]\ntype = collect\n"
                                  "[links]\npush = src.out -> out.in\n",
                                  NULL),
                     1);
    tu_assert_contains(r.err, "cannot read '/proc/self/mem': Input/output "
                              "error\n");
    tu_result_release(&r);
}

/* collect's output on standard error went through the launcher's log
 * relay, each result line prefixed "out[0] (pid N)": now a graph error,
 * under --check too, for each name of it. */
static void
test_core_collect_not_to_stderr(void **unused)
{
    static const char *const names[] = { "/dev/stderr", "/dev/fd/2",
                                         "/proc/self/fd/2" };
    tu_result_t r;
    char text[256];

    (void)unused;
    for (int i = 0; i < 6; i++) {
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 3\n"
                 "[out]\ntype = collect\noutput = %s\n"
                 "[links]\npush = src.out -> out.in\n",
                 names[i / 2]);
        assert_int_equal(
            tu_run_graph(&r, 30, text, i % 2 ? "--check" : NULL, NULL), 2);
        tu_assert_contains(r.err, ":4: node 'out' of type 'collect': output "
                                  "'");
        tu_assert_contains(r.err, "an instance's standard error is the log "
                                  "pipe");
        assert_string_equal(r.out, "");
        tu_result_release(&r);
    }
}

/*
 * Every send path on a balance=demand output takes and counts its credit:
 * dealto sends by flow_node_send_to (the channels in turn),
 * flow_node_send_i64s, flow_node_send and flow_node_send_raw in turn, with
 * and without a channel ended first (flow_node_close_to), to 1, 2 or 4
 * consumers from 1 or 3 producers, at hwm 1, 6 and 13 (a frame of credits
 * per 1, 2 and 4 frames: 13 leaves one owed). A send that skipped its
 * credit came back as more credits than frames sent, one that took one
 * twice or was never credited would hang; every number arrives once.
 */
static void
test_core_balance_demand_send_paths(void **unused)
{
    static const int prod[] = { 1, 3 }, cons[] = { 1, 2, 4 },
                     hwm[] = { 1, 6, 13 };
    const int64_t n = 2000;

    (void)unused;
    for (size_t h = 0; h < 3; h++)
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 3; j++)
                for (int close = 0; close < 2; close++) {
                    char text[1024];
                    tu_result_t r;

                    snprintf(text, sizeof(text),
                             "[src]\ntype = dealto\ninstances = %d\n"
                             "count = %lld\nclose_first = %s\n"
                             "[mid]\ntype = jitter\ninstances = %d\n"
                             "max_us = %d\nseed = %d\n"
                             "[out]\ntype = collect\n"
                             "[links]\npush = src.out -> mid.in hwm=%d "
                             "balance=demand\n"
                             "push = mid.out -> out.in hwm=%d "
                             "balance=demand\n",
                             prod[i], (long long)n, close ? "true" : "false",
                             cons[j], close ? 0 : 200, (int)(h * 7 + j), hwm[h],
                             hwm[h]);
                    if (tu_run_graph(&r, 60, text, "--plugin-path",
                                     FLOW_FIXTURE_PLUGIN_DIR, NULL) != 0 ||
                        r.status != 0)
                        fprintf(stderr, "case p=%d c=%d hwm %d close %d:\n%s\n",
                                prod[i], cons[j], hwm[h], close, r.err);
                    assert_int_equal(r.status, 0);
                    check_exactly_once(&r, n);
                    tu_result_release(&r);
                }
}

/* Fan-in straight into one consumer from many producers, batch 1. */
static void
test_core_fan_in(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ninstances = 7\n"
                              "count = 3001\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> out.in batch=1 "
                              "hwm=1\n");
    tu_result_t r;

    (void)unused;
    assert_int_equal(tu_runl(&r, 60, path, NULL), 0);
    check_exactly_once(&r, 3001);
    unlink(path);
    free(path);
    tu_result_release(&r);
}

/*
 * sum(pool.map(f, xs)): 3 range instances, their numbers dealt by demand
 * to 2 jitter workers, added up by collect mode=sum; the sum made here
 * over the same numbers. The same over the lines of a file, read by ints.
 * Words into mode=sum are refused by --check (status 2, the file and the
 * collect's line), through a tee.
 */
static void
test_core_collect_sum(void **unused)
{
    const int64_t start = -1000003, count = 250007;
    char text[512];
    int64_t want = 0;
    tu_result_t r;

    (void)unused;
    for (int64_t i = 0; i < count; i++)
        want += start + i;
    snprintf(text, sizeof(text),
             "[src]\ntype = range\ninstances = 3\nstart = %lld\n"
             "count = %lld\n"
             "[work]\ntype = jitter\ninstances = 2\nmax_us = 0\n"
             "[out]\ntype = collect\nmode = sum\n"
             "[links]\npush = src.out -> work.in batch=100 balance=demand\n"
             "push = work.out -> out.in\n",
             (long long)start, (long long)count);
    assert_int_equal(tu_run_graph(&r, 60, text, NULL), 0);
    assert_int_equal(strtoll(r.out, NULL, 10), want);
    tu_result_release(&r);

    /* sum(map(int, lines)): the numbers of a file (some lines ended by
     * CRLF, some blank), read by 2 ints instances; and a line that is no
     * number fails the run, naming the node and the word. */
    uint64_t x = 1;
    size_t cap = 32 * 100003, len = 0;
    char *lines = malloc(cap), *path, graph[1024];
    assert_non_null(lines);
    want = 0;
    for (int i = 0; i < 100003; i++) {
        int64_t v;
        x = x * 6364136223846793005u + 1442695040888963407u;
        v = (int64_t)(x >> 20) - (INT64_C(1) << 43);
        want += v;
        len += (size_t)snprintf(lines + len, cap - len, "%lld%s", (long long)v,
                                i % 7 ? "\n" : "\r\n\n");
    }
    path = tu_temp_file(lines);
    snprintf(graph, sizeof(graph),
             "[src]\ntype = lines\npath = %s\n"
             "[num]\ntype = ints\ninstances = 2\n"
             "[out]\ntype = collect\nmode = sum\n"
             "[links]\npush = src.out -> num.in balance=demand\n"
             "push = num.out -> out.in\n",
             path);
    assert_int_equal(tu_run_graph(&r, 60, graph, NULL), 0);
    assert_int_equal(strtoll(r.out, NULL, 10), want);
    tu_result_release(&r);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("12\nseven\n", f);
    fclose(f);
    assert_int_equal(tu_run_graph(&r, 60, graph, NULL), 1);
    tu_assert_contains(r.err, "'seven' is not an integer");
    tu_assert_contains(r.err, "flowrun: error: node 'num' instance ");
    tu_result_release(&r);
    unlink(path);
    free(path);
    free(lines);

    assert_int_equal(tu_run_graph(&r, 30,
                                  "[w]\ntype = words\ncount = 10\n"
                                  "[t]\ntype = tee\n"
                                  "[n]\ntype = collect\nmode = count\n"
                                  "[total]\ntype = collect\nmode = sum\n"
                                  "[links]\npush = w.out -> t.in\n"
                                  "push = t.a -> total.in\n"
                                  "push = t.b -> n.in\n",
                                  "--check", NULL),
                     2);
    tu_assert_contains(r.err, ":9: node 'total' of type 'collect': mode = sum "
                              "adds int64 items, but its input is sent words");
    tu_result_release(&r);
}

/* A node that fails at run time: exit status 1, one line naming node,
 * instance, pid and status, no process left, no run directory left. */
static void
test_core_failure_reported(void **unused)
{
    char tmpl[] = "/tmp/flow-test-run-XXXXXX";
    char *dir = mkdtemp(tmpl);
    char *path = tu_temp_file("[src]\ntype = range\ncount = 100000\n"
                              "[out]\ntype = collect\n"
                              "output = /nonexistent/dir/out.txt\n"
                              "[links]\npush = src.out -> out.in\n");
    tu_result_t r;
    char *old_xdg =
        getenv("XDG_RUNTIME_DIR") ? strdup(getenv("XDG_RUNTIME_DIR")) : NULL;

    (void)unused;
    assert_non_null(dir);
    setenv("TMPDIR", dir, 1);
    unsetenv("XDG_RUNTIME_DIR");
    assert_int_equal(tu_runl(&r, 30, path, NULL), 1);
    assert_non_null(strstr(r.err, "flowrun: error: node 'out' instance 0 "
                                  "(pid "));
    assert_non_null(strstr(r.err, "exited with status 1"));
    assert_non_null(strstr(r.err, "out[0] (pid "));
    assert_non_null(strstr(r.err, ") error: "));
    /* The run directory is gone. */
    assert_int_equal(rmdir(dir), 0);
    unsetenv("TMPDIR");
    if (old_xdg)
        setenv("XDG_RUNTIME_DIR", old_xdg, 1);
    free(old_xdg);
    assert_int_equal(tu_count_procs(path), 0);
    unlink(path);
    free(path);
    tu_result_release(&r);
}

/* Number of entries in directory `dir` other than . and .. */
static int
count_entries(const char *dir)
{
    char cmd[512];
    FILE *f;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
    f = popen(cmd, "r");
    if (f && fscanf(f, "%d", &n) != 1)
        n = -1;
    if (f)
        pclose(f);
    return n;
}

/* collect to a file: the file appears, complete, only when the run
 * succeeds; a failed run leaves neither it nor a temporary file. */
static void
test_core_collect_file_atomic(void **unused)
{
    char tmpl[] = "/tmp/flow-test-out-XXXXXX";
    char *dir = mkdtemp(tmpl), text[1024], out[256], *path;
    tu_result_t r;
    FILE *f;
    long v, expect = 0;

    (void)unused;
    assert_non_null(dir);
    snprintf(out, sizeof(out), "%s/numbers.txt", dir);
    snprintf(text, sizeof(text),
             "[src]\ntype = range\ncount = 5000\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in batch=7\n",
             out);
    path = tu_temp_file(text);
    assert_int_equal(tu_runl(&r, 30, path, NULL), 0);
    assert_int_equal(r.outlen, 0);
    tu_result_release(&r);
    f = fopen(out, "r");
    assert_non_null(f);
    while (fscanf(f, "%ld", &v) == 1)
        assert_int_equal(v, expect++);
    fclose(f);
    assert_int_equal(expect, 5000);
    assert_int_equal(count_entries(dir), 1);
    unlink(out);
    unlink(path);
    free(path);

    /* The same, with a stage that dies half way. */
    snprintf(text, sizeof(text),
             "[src]\ntype = range\ncount = 100000\n"
             "[f]\ntype = fault\nafter = 50\naction = exit\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> f.in batch=7\n"
             "push = f.out -> out.in\n",
             out);
    path = tu_temp_file(text);
    assert_int_equal(tu_runl(&r, 30, path, NULL), 1);
    tu_result_release(&r);
    assert_int_equal(count_entries(dir), 0);
    unlink(path);
    free(path);
    rmdir(dir);
}

/* Whether file `path` holds the numbers 0 .. n-1, one per line. */
static bool
holds_count(const char *path, long n)
{
    FILE *f = fopen(path, "r");
    long v, expect = 0;

    if (!f)
        return false;
    while (fscanf(f, "%ld", &v) == 1 && v == expect)
        expect++;
    bool all = feof(f) && expect == n;
    fclose(f);
    return all;
}

/* Run range(n) -> collect(output = out); returns the exit status and
 * leaves flowrun's standard output in `r` (caller releases). */
static int
run_to(tu_result_t *r, const char *out, long n)
{
    char text[1024];

    snprintf(text, sizeof(text),
             "[src]\ntype = range\ncount = %ld\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in batch=7\n",
             n, out);
    return tu_run_graph(r, 30, text, NULL);
}

/* Write the file `path`: the numbers 0 .. n-1, one a line. */
static void
write_count(const char *path, long n)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    for (long i = 0; i < n; i++)
        fprintf(f, "%ld\n", i);
    assert_int_equal(fclose(f), 0);
}

/*
 * A lines node's file that a collect would write in place (through a
 * symbolic link to it, or another of its names) is refused before the run,
 * whichever node the graph names first: the collector truncated it when it
 * opened it, and the run ended with status 0, the file cut or emptied (a
 * hard link: empty). The same path, which collect replaces at the end,
 * still works: the file then holds what was read from it.
 */
static void
test_core_lines_output_in_place(void **unused)
{
    char tmpl[] = "/tmp/flow-test-rw-XXXXXX";
    char *dir = mkdtemp(tmpl), in[256], lnk[256], hard[256], text[1024];
    const char *outs[] = { lnk, hard, in };
    tu_result_t r;

    (void)unused;
    assert_non_null(dir);
    snprintf(in, sizeof(in), "%s/in.txt", dir);
    snprintf(lnk, sizeof(lnk), "%s/link.txt", dir);
    snprintf(hard, sizeof(hard), "%s/hard.txt", dir);
    write_count(in, 50000);
    assert_int_equal(symlink("in.txt", lnk), 0);
    assert_int_equal(link(in, hard), 0);
    for (size_t o = 0; o < 3; o++)
        for (int lines_first = 0; lines_first < 2; lines_first++) {
            char src[320], out[320];
            snprintf(src, sizeof(src), "[src]\ntype = lines\npath = %s\n", in);
            snprintf(out, sizeof(out), "[out]\ntype = collect\noutput = %s\n",
                     outs[o]);
            snprintf(text, sizeof(text),
                     "%s%s[links]\npush = src.out -> "
                     "out.in\n",
                     lines_first ? src : out, lines_first ? out : src);
            if (o == 2) {
                /* The same path, after the other names went: replaced. */
                unlink(lnk);
                unlink(hard);
                assert_int_equal(tu_run_graph(&r, 30, text, NULL), 0);
                tu_result_release(&r);
                assert_true(holds_count(in, 50000));
                continue;
            }
            assert_int_equal(tu_run_graph(&r, 30, text, NULL), 2);
            tu_assert_contains(r.err, "would be written in place");
            tu_assert_contains(r.err, "cut before it is read\n");
            tu_assert_contains(r.err, lines_first ? ":4: node 'out' of type "
                                                    "'collect': output '"
                                                  : ":4: node 'src' of type "
                                                    "'lines': path '");
            tu_result_release(&r);
            assert_true(holds_count(in, 50000));
        }
    if (geteuid() == 0) {
        /* Another user's file of several names: collect writes a new file
         * under the output's name only, the other name keeps what was
         * read. Not to be refused (it was: any file of several names). */
        struct stat st;
        assert_int_equal(link(in, hard), 0);
        assert_int_equal(chown(in, 65534, 65534), 0);
        snprintf(text, sizeof(text),
                 "[src]\ntype = lines\npath = %s\n[out]\ntype = collect\n"
                 "output = %s\n[links]\npush = src.out -> out.in\n",
                 in, hard);
        if (tu_run_graph(&r, 30, text, NULL) != 0)
            fprintf(stderr, "stderr:\n%s\n", r.err);
        assert_int_equal(r.status, 0);
        tu_result_release(&r);
        assert_true(holds_count(in, 50000));
        assert_true(holds_count(hard, 50000));
        assert_int_equal(stat(in, &st), 0);
        assert_int_equal(st.st_nlink, 1); /* two files now */
        unlink(hard);
    }
    unlink(in);
    rmdir(dir);
}

/*
 * What collect's output path names is respected: a symbolic link is written
 * through (the link stays, its target gets the output), unless another user
 * planted it; a file with two names is written in place (both names see
 * it); a file replaced keeps its
 * permissions; /dev/stdout is flowrun's standard output; and a run killed
 * outright (SIGKILL to flowrun) leaves no temporary file beside the path.
 */
static void
test_core_collect_in_place(void **unused)
{
    char tmpl[] = "/tmp/flow-test-place-XXXXXX";
    char *dir = mkdtemp(tmpl), target[256], slink[256], other[256], cmd[512];
    tu_result_t r;
    struct stat st;
    mode_t mask = umask(0);

    (void)unused;
    umask(mask);
    assert_non_null(dir);
    snprintf(target, sizeof(target), "%s/target.txt", dir);
    snprintf(slink, sizeof(slink), "%s/link", dir);
    snprintf(other, sizeof(other), "%s/other", dir);

    /* A symbolic link: written through. */
    FILE *f = fopen(target, "w");
    assert_non_null(f);
    fputs("old\n", f);
    fclose(f);
    assert_int_equal(symlink("target.txt", slink), 0);
    assert_int_equal(run_to(&r, slink, 300), 0);
    tu_result_release(&r);
    assert_int_equal(lstat(slink, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_true(holds_count(target, 300));
    /* Another user's link in a directory that is not theirs (planted in a
     * directory others may write): refused, its target untouched. */
    if (lchown(slink, 65534, 65534) == 0) {
        assert_int_equal(run_to(&r, slink, 5), 1);
        tu_assert_contains(r.err, "is a symbolic link of another user (uid "
                                  "65534): not followed\n");
        tu_result_release(&r);
        assert_true(holds_count(target, 300));
    }
    unlink(slink);

    /* Two names: both see the output. */
    assert_int_equal(link(target, other), 0);
    assert_int_equal(run_to(&r, target, 200), 0);
    tu_result_release(&r);
    assert_true(holds_count(other, 200));
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_nlink, 2);
    unlink(other);

    /* One name: replaced whole, with the old file's permissions; a new
     * file gets the usual ones. */
    assert_int_equal(chmod(target, 0604), 0);
    assert_int_equal(run_to(&r, target, 100), 0);
    tu_result_release(&r);
    assert_true(holds_count(target, 100));
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604);
    unlink(target);
    assert_int_equal(run_to(&r, target, 100), 0);
    tu_result_release(&r);
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0666 & ~mask);
    unlink(target);

    /* /dev/stdout: flowrun's own. */
    assert_int_equal(run_to(&r, "/dev/stdout", 3), 0);
    assert_string_equal(r.out, "0\n1\n2\n");
    tu_result_release(&r);
    assert_int_equal(count_entries(dir), 0);

    /* Killed outright while writing a long output: nothing left beside it
     * (the new file had no name yet). */
    snprintf(cmd, sizeof(cmd),
             "[src]\ntype = range\ncount = 4000000000\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in\n",
             target);
    char *graph = tu_temp_file(cmd);
    const char *args[] = { graph, NULL };
    int fd;
    pid_t pid = tu_spawn(args, &fd);
    assert_true(pid > 0);
    /* Until the collector has its file open (named or not), and then a
     * little longer: it writes. */
    snprintf(cmd, sizeof(cmd),
             "ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q -- '%s/'", dir);
    for (int i = 0; i < 500 && system(cmd) != 0; i++)
        usleep(20000);
    assert_int_equal(system(cmd), 0);
    usleep(200000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fd);
    for (int i = 0; i < 100 && tu_count_procs(graph) > 0; i++)
        usleep(20000);
    assert_int_equal(tu_count_procs(graph), 0);
    assert_int_equal(count_entries(dir), 0);
    unlink(graph);
    free(graph);
    rmdir(dir);
}

/* collect to a FIFO (as to /dev/null or any device): written directly,
 * never replaced by a renamed file; a directory is refused, named. */
static void
test_core_collect_to_fifo(void **unused)
{
    char tmpl[] = "/tmp/flow-test-fifo-XXXXXX";
    char *dir = mkdtemp(tmpl), text[1024], fifo[256], got[8192];
    size_t len = 0;
    ssize_t n;
    tu_result_t r;
    struct stat st;
    long v, expect = 0;
    int fd;

    (void)unused;
    assert_non_null(dir);
    snprintf(fifo, sizeof(fifo), "%s/out.fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* A reader first, so that the writer's open does not block; 1000
     * numbers fit in the pipe's buffer. */
    fd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(fd >= 0);
    snprintf(text, sizeof(text),
             "[src]\ntype = range\ncount = 1000\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in batch=7\n",
             fifo);
    assert_int_equal(tu_run_graph(&r, 30, text, NULL), 0);
    tu_result_release(&r);
    while ((n = read(fd, got + len, sizeof(got) - 1 - len)) > 0)
        len += (size_t)n;
    got[len] = '\0';
    close(fd);
    for (char *p = got, *end; *p; p = end) {
        v = strtol(p, &end, 10);
        assert_true(end > p && *end == '\n');
        assert_int_equal(v, expect++);
        end++;
    }
    assert_int_equal(expect, 1000);
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(count_entries(dir), 1);
    unlink(fifo);

    /* A directory as the output: refused, with its name. */
    snprintf(text, sizeof(text),
             "[src]\ntype = range\ncount = 10\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in\n",
             dir);
    assert_int_equal(tu_run_graph(&r, 30, text, NULL), 1);
    if (!strstr(r.err, "is a directory"))
        fail_msg("no 'is a directory' in:\n%s", r.err);
    tu_result_release(&r);
    assert_int_equal(count_entries(dir), 0);
    rmdir(dir);
}

/* Run flowrun on `graph` as user and group `id` when we are root (else as
 * ourselves); its standard error in `*err` (caller frees). Returns its exit
 * status, or -1 when it did not exit. */
static int
run_as(const char *graph, uid_t id, char **err)
{
    char errf[] = "/tmp/flow-test-err-XXXXXX";
    int fd = mkstemp(errf), status;
    size_t len = 0;
    pid_t pid;
    FILE *f;

    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0666), 0);
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(fd, 2) < 0 || (geteuid() == 0 && (setgroups(0, NULL) ||
                                                   setgid(id) || setuid(id))))
            _exit(126);
        if (access(tu_flowrun(), X_OK) != 0)
            _exit(125);              /* out of that user's reach: skipped */
        unsetenv("XDG_RUNTIME_DIR"); /* root's: /tmp then */
        execl(tu_flowrun(), tu_flowrun(), graph, (char *)NULL);
        _exit(127);
    }
    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *err = calloc(1, 65536);
    f = fopen(errf, "r");
    assert_non_null(f);
    len = fread(*err, 1, 65535, f);
    (*err)[len] = '\0';
    fclose(f);
    unlink(errf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Remove what test_core_collect_dir_not_writable made; free `graph`. */
static void
ro_cleanup(const char *dir, const char *out, char *graph)
{
    chmod(dir, 0700);
    unlink(out);
    rmdir(dir);
    unlink(graph);
    free(graph);
}

/*
 * An output file we may write in a directory we may not (a file made for
 * us in a shared directory): written in place, as a shell's `>` does, with
 * a warning that a failed run would leave it incomplete; it failed with
 * "cannot create a file next to". A file we may not write there still
 * fails so. As root, run as nobody (65534) in a directory of root's.
 */
static void
test_core_collect_dir_not_writable(void **unused)
{
    const uid_t nobody = 65534;
    char tmpl[] = "/tmp/flow-test-ro-XXXXXX";
    char *dir = mkdtemp(tmpl), out[256], text[512], *err = NULL, *graph;
    int st = 0;
    uid_t me = geteuid() == 0 ? nobody : geteuid();
    FILE *f;

    (void)unused;
    assert_non_null(dir);
    snprintf(out, sizeof(out), "%s/out.txt", dir);
    f = fopen(out, "w");
    assert_non_null(f);
    fputs("old\n", f);
    fclose(f);
    snprintf(text, sizeof(text),
             "[src]\ntype = range\ncount = 3000\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in batch=7\n",
             out);
    graph = tu_temp_file(text);
    assert_int_equal(chmod(graph, 0644), 0);
    assert_int_equal(chown(out, me, (gid_t)-1), 0);
    assert_int_equal(chmod(dir, 0555), 0);
    /* Skipped for a user the directory's mode does not stop (not root, but
     * CAP_DAC_OVERRIDE), or when flowrun is out of nobody's reach. */
    if ((geteuid() != 0 && access(dir, W_OK) == 0) ||
        (st = run_as(graph, me, &err)) == 125) {
        if (st == 125)
            free(err);
        ro_cleanup(dir, out, graph);
        skip();
    }
    assert_int_equal(st, 0);
    tu_assert_contains(err, "out[0] (pid ");
    tu_assert_contains(err, "warning: cannot create a file next to '");
    tu_assert_contains(err, "/out.txt' (Permission denied): writing it in "
                            "place, as a shell's > does; a failed run leaves "
                            "it incomplete\n");
    free(err);
    assert_true(holds_count(out, 3000));

    /* Not ours to write either: refused as before, the file as it was. */
    assert_int_equal(chmod(out, 0444), 0);
    assert_int_equal(run_as(graph, me, &err), 1);
    tu_assert_contains(err, "error: cannot create a file next to '");
    assert_null(strstr(err, "warning"));
    free(err);
    assert_true(holds_count(out, 3000));

    ro_cleanup(dir, out, graph);
}

/* Write graph `g` in `path`: sources a (2000) and b (3000), each into its
 * collect, out1 writing `o1` and out2 `o2`. */
static void
write_two_outputs(const char *path, const char *o1, const char *o2)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fprintf(f,
            "[a]\ntype = range\ncount = 2000\n"
            "[b]\ntype = range\ncount = 3000\n"
            "[out1]\ntype = collect\noutput = %s\n"
            "[out2]\ntype = collect\noutput = %s\n"
            "[links]\npush = a.out -> out1.in\npush = b.out -> out2.in\n",
            o1, o2);
    assert_int_equal(fclose(f), 0);
}

/*
 * Two writers of one file are refused before the run, with the graph's
 * file and line: two collects (one file spelt two ways, or two names of
 * one file), a collect writing the graph file (by its name or through a
 * link), flowrun --stats-json writing a collect's file. Before, the last
 * to finish replaced the other's output (or the graph) without a word.
 * Files that are shared, not replaced (/dev/null), and distinct files,
 * still run.
 */
static void
test_core_collect_output_claims(void **unused)
{
    char tmpl[] = "/tmp/flow-test-claim-XXXXXX";
    char *dir = mkdtemp(tmpl), g[256], o1[256], o2[256], o3[256], lnk[256];
    struct stat before, after;
    tu_result_t r;

    (void)unused;
    assert_non_null(dir);
    snprintf(g, sizeof(g), "%s/g.ini", dir);
    snprintf(o1, sizeof(o1), "%s/res.txt", dir);
    snprintf(o2, sizeof(o2), "%s/./sub/../res.txt", dir);
    snprintf(o3, sizeof(o3), "%s/sub", dir);
    assert_int_equal(mkdir(o3, 0700), 0);

    /* One path not there yet, spelt two ways: refused, by --check too. */
    write_two_outputs(g, o1, o2);
    for (int check = 0; check < 2; check++) {
        assert_int_equal(tu_runl(&r, 30, g, check ? "--check" : NULL, NULL), 2);
        assert_string_equal(r.out, "");
        tu_assert_contains(r.err, ":10: node 'out2' of type 'collect': "
                                  "output '");
        tu_assert_contains(r.err, "/./sub/../res.txt' is also written by "
                                  "node 'out1' (line 7, output '");
        tu_assert_contains(r.err, "/res.txt'): one would replace the "
                                  "other\n");
        tu_result_release(&r);
    }
    assert_int_equal(count_entries(dir), 2); /* g.ini and sub: nothing new */

    /* Two names of one existing file. */
    snprintf(o3, sizeof(o3), "%s/hard.txt", dir);
    {
        FILE *f = fopen(o1, "w");
        assert_non_null(f);
        fclose(f);
    }
    assert_int_equal(link(o1, o3), 0);
    write_two_outputs(g, o3, o1);
    assert_int_equal(tu_runl(&r, 30, g, NULL), 2);
    tu_assert_contains(r.err, "res.txt' is also written by node 'out1'");
    tu_result_release(&r);
    unlink(o3);

    /* The graph file, by its name and through a symbolic link. */
    snprintf(lnk, sizeof(lnk), "%s/link.ini", dir);
    assert_int_equal(symlink("g.ini", lnk), 0);
    for (int via_link = 0; via_link < 2; via_link++) {
        write_two_outputs(g, o1, via_link ? lnk : g);
        assert_int_equal(stat(g, &before), 0);
        assert_int_equal(tu_runl(&r, 30, g, NULL), 2);
        tu_assert_contains(r.err, "g.ini:10: node 'out2' of type 'collect': "
                                  "output '");
        tu_assert_contains(r.err, ".ini' is the graph file: writing there "
                                  "would replace the graph\n");
        tu_result_release(&r);
        assert_int_equal(stat(g, &after), 0);
        assert_int_equal(before.st_size, after.st_size);
    }

    /* flowrun's statistics file and a collect's output. */
    snprintf(o2, sizeof(o2), "%s/other.txt", dir);
    write_two_outputs(g, o1, o2);
    assert_int_equal(tu_runl(&r, 30, "--stats-json", o2, g, NULL), 2);
    tu_assert_contains(r.err, "flowrun: error: --stats-json '");
    tu_assert_contains(r.err, "/other.txt' is also written by node 'out2' "
                              "(line 10, output '");
    tu_result_release(&r);
    assert_int_equal(access(o2, F_OK), -1);

    /* Distinct files run, each with its own numbers; so does /dev/null
     * twice (a device is shared, as with a shell's >). */
    assert_int_equal(tu_runl(&r, 30, g, NULL), 0);
    tu_result_release(&r);
    assert_true(holds_count(o1, 2000));
    assert_true(holds_count(o2, 3000));
    write_two_outputs(g, "/dev/null", "/dev/null");
    assert_int_equal(tu_runl(&r, 30, g, NULL), 0);
    tu_result_release(&r);

    unlink(o1);
    unlink(o2);
    unlink(lnk);
    unlink(g);
    snprintf(o3, sizeof(o3), "%s/sub", dir);
    rmdir(o3);
    rmdir(dir);
}

/*
 * Two collects writing one standard output, a pipe: every line whole. Each
 * wrote 1 MiB at a time, and a pipe takes a write of more than PIPE_BUF
 * bytes in pieces another writer's cut into: a few thousand lines of 6
 * million came out mangled. The oracle: the two ranges, each number once.
 */
static void
test_core_collect_shared_stdout(void **unused)
{
    enum { N = 400000, B = 100000000 };
    unsigned char *seen = calloc(2 * N, 1);
    char text[512], *line, *save = NULL;
    size_t lines = 0;
    tu_result_t r;

    (void)unused;
    assert_non_null(seen);
    snprintf(text, sizeof(text),
             "[a]\ntype = range\ncount = %d\n"
             "[b]\ntype = range\nstart = %d\ncount = %d\n"
             "[out1]\ntype = collect\n[out2]\ntype = collect\n"
             "[links]\npush = a.out -> out1.in\npush = b.out -> out2.in\n",
             N, B, N);
    assert_int_equal(tu_run_graph(&r, 60, text, NULL), 0);
    for (line = strtok_r(r.out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *end;
        long v = strtol(line, &end, 10);
        long k = v >= B ? v - B + N : v;
        if (*end || v < 0 || (v >= N && v < B) || v >= B + N || seen[k])
            fail_msg("line %zu: '%s' is no number of either range, or a "
                     "second one",
                     lines + 1, line);
        seen[k] = 1;
        lines++;
    }
    assert_int_equal(lines, 2 * N);
    tu_result_release(&r);
    free(seen);
}

/*
 * collect to standard output streams: a reader sees each batch when it is
 * done, not all of them when the run ends (like print() in the article's
 * loop). Two messages 0.7 s of work apart: the first line comes about 0.7 s
 * before the end of the run; a collect that kept its buffer to the end
 * gave both at once.
 */
static void
test_core_collect_streams(void **unused)
{
    char *path = tu_temp_file("[src]\ntype = range\ncount = 2\n"
                              "[slow]\ntype = fault\naction = none\n"
                              "work_us = 700000\n"
                              "[out]\ntype = collect\n"
                              "[links]\npush = src.out -> slow.in batch=1\n"
                              "push = slow.out -> out.in\n");
    const char *args[] = { path, NULL };
    char buf[64];
    size_t len = 0;
    double first = 0, end;
    int fd, status;
    pid_t pid;

    (void)unused;
    pid = tu_spawn(args, &fd);
    assert_true(pid > 0);
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        if (len == 0)
            first = tu_now_s();
        len += (size_t)n;
    }
    end = tu_now_s();
    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    buf[len] = '\0';
    assert_string_equal(buf, "0\n1\n");
    if (end - first < 0.3)
        print_message("first line %.3f s before the end\n", end - first);
    assert_true(end - first >= 0.3);
    unlink(path);
    free(path);
}

/*
 * words: a chunk that cannot fit in a message (at most UINT32_MAX bytes,
 * each word with its end) is refused by --check, naming the most that
 * fits: for 64 letters, 4294967295 / 65 = 66076419 words. It was found
 * after making the words (6 s, 4.4 GB): "cannot add words: malformed
 * message". The count caps the chunk: a large chunk of few words is fine.
 */
static void
test_core_words_chunk_fits(void **unused)
{
    static const struct {
        const char *chunk, *count;
        int status;
    } cases[] = {
        { "66076420", "1e9", 2 },
        { "66076419", "1e9", 0 },
        { "1e9", "66076419", 0 },
        { "1e9", "66076420", 2 },
    };

    (void)unused;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char chunk[64], count[64];
        tu_result_t r;
        snprintf(chunk, sizeof(chunk), "gen.chunk=%s", cases[i].chunk);
        snprintf(count, sizeof(count), "words=%s", cases[i].count);
        assert_int_equal(tu_runl(&r, 30, "--check",
                                 tu_src("graphs/palindromes.ini"), "--set",
                                 "gen.length=64", "--set", chunk, "--set",
                                 count, NULL),
                         cases[i].status);
        if (cases[i].status)
            tu_assert_contains(r.err, "node 'gen' of type 'words': 'chunk' "
                                      "= ");
        if (cases[i].status)
            tu_assert_contains(r.err, ": a message holds at most 4294967295 "
                                      "bytes, and ");
        if (cases[i].status)
            tu_assert_contains(r.err, "words of 64 letters take 42949673"
                                      "00 with their ends (a chunk of at "
                                      "most 66076419 words fits)\n");
        tu_result_release(&r);
    }
}

/* Every shipped graph passes --check. */
static void
test_core_graphs_check(void **unused)
{
    static const char *const graphs[] = { "graphs/palindromes.ini",
                                          "graphs/palindromes_parallel.ini",
                                          "graphs/palindromes_search.ini",
                                          "graphs/palindromes_file.ini",
                                          "graphs/pids.ini" };
    (void)unused;
    for (size_t i = 0; i < sizeof(graphs) / sizeof(*graphs); i++) {
        tu_result_t r;
        assert_int_equal(tu_runl(&r, 30, "--check", tu_src(graphs[i]), NULL),
                         0);
        assert_int_equal(r.outlen, 0);
        tu_result_release(&r);
    }
}

/*
 * collect end=nul: each number or word ends with a NUL byte instead of a
 * newline (words may hold newlines). The oracle: the newline run of the
 * same graph, with its newlines made NULs.
 */
static void
test_core_collect_end_nul(void **unused)
{
    tu_result_t nul, nl;

    (void)unused;
    assert_int_equal(tu_runl(&nul, 60, tu_src("graphs/palindromes.ini"),
                             "--set", "out.end=nul", "--set", "words=20000",
                             NULL),
                     0);
    assert_int_equal(tu_runl(&nl, 60, tu_src("graphs/palindromes.ini"), "--set",
                             "words=20000", NULL),
                     0);
    assert_true(nl.outlen > 0);
    assert_int_equal(nul.outlen, nl.outlen);
    assert_null(memchr(nul.out, '\n', nul.outlen));
    for (size_t i = 0; i < nl.outlen; i++)
        if (nl.out[i] == '\n')
            nl.out[i] = '\0';
    assert_memory_equal(nul.out, nl.out, nl.outlen);
    tu_result_release(&nul);
    tu_result_release(&nl);
}

/*
 * collect's failure paths, the file operations made to fail by the fixture
 * fail_syscall.so (LD_PRELOAD) for files in the output's directory only:
 * flowrun's own files and the other nodes are left alone.
 */

/* A directory for one output, `res`, its file res.txt, and `log`, beside
 * the directory, where the fixture notes each fault it injected. */
struct fault_dir {
    char dir[64];
    char res[96];
    char log[96];
};

static void
fault_dir_make(struct fault_dir *d)
{
    strcpy(d->dir, "/tmp/flow-test-fail-XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->res, sizeof(d->res), "%s/res.txt", d->dir);
    snprintf(d->log, sizeof(d->log), "%s.log", d->dir);
}

static void
fault_dir_remove(struct fault_dir *d)
{
    unlink(d->res);
    unlink(d->log);
    assert_int_equal(rmdir(d->dir), 0);
}

/* The `len` bytes of file `path` (caller frees), or NULL if it cannot be
 * read. */
static char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t room = 0, n;

    *len = 0;
    if (!f)
        return NULL;
    do {
        if (*len == room) {
            room = room ? 2 * room : 65536;
            data = realloc(data, room + 1);
            assert_non_null(data);
        }
        n = fread(data + *len, 1, room - *len, f);
        *len += n;
    } while (n > 0);
    fclose(f);
    data[*len] = '\0';
    return data;
}

/* Fail unless directory `dir` holds nothing but `keep` (NULL: nothing):
 * no temporary file res.txt.XXXXXX left behind by the run `what`. */
static void
assert_only(const char *dir, const char *keep, const char *what)
{
    char names[1024] = "";
    size_t len = 0;
    struct dirent *e;
    DIR *dp = opendir(dir);

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            len < sizeof(names))
            len += (size_t)snprintf(names + len, sizeof(names) - len, "%s\n",
                                    e->d_name);
    closedir(dp);
    if (strcmp(names, keep ? keep : "") != 0)
        fail_msg("%s: %s holds:\n%s(expected only %s)", what, dir, names,
                 keep ? keep : "nothing");
}

/* Run `graph` with the fixture making the calls of `spec` fail in `d`'s
 * directory (see tests/fixtures/preload/fail_syscall.c); result in `r`. */
static int
run_failing(tu_result_t *r, const struct fault_dir *d, const char *spec,
            const char *graph, double timeout_s)
{
    int status;

    setenv("FLOW_TEST_FAIL", spec, 1);
    setenv("FLOW_TEST_FAIL_DIR", d->dir, 1);
    setenv("FLOW_TEST_FAIL_LOG", d->log, 1);
    tu_preload_begin(FLOW_FIXTURE_FAIL_SYSCALL);
    status = tu_run_graph(r, timeout_s, graph, NULL);
    tu_preload_end();
    unsetenv("FLOW_TEST_FAIL");
    unsetenv("FLOW_TEST_FAIL_DIR");
    unsetenv("FLOW_TEST_FAIL_LOG");
    return status;
}

/* Fail unless the fixture's log in `d` says it injected each fault of
 * `spec` (OP:ERRNO[:BYTES],...) in `d`'s directory: a run that failed for
 * another reason does not pass. */
static void
assert_injected(const struct fault_dir *d, const char *spec)
{
    size_t len;
    char *log = read_all(d->log, &len), want[160];
    const char *p = spec;

    if (!log)
        fail_msg("the fixture injected nothing for '%s'", spec);
    for (;;) {
        snprintf(want, sizeof(want), "%.*s %s", (int)strcspn(p, ":"), p,
                 d->dir);
        tu_assert_contains(log, want);
        p += strcspn(p, ",");
        if (*p++ == '\0')
            break;
    }
    free(log);
}

/* Fail unless `err`, flowrun's standard error, has collect's instance
 * out[0] failing with `msg` and flowrun naming it. */
static void
assert_collect_failed(const char *err, const char *msg)
{
    const char *at = strstr(err, "out[0] (pid ");
    char line[1024];

    if (!at || !(at = strchr(at, ')')) || strncmp(at, ") error: ", 9) != 0)
        fail_msg("no error of out[0] in:\n%s", err);
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(at + 9, "\n"), at + 9);
    if (strncmp(line, msg, strlen(msg)) != 0)
        fail_msg("out[0] failed with:\n%s\nnot:\n%s", line, msg);
    tu_assert_contains(err, "flowrun: error: node 'out' instance 0 (pid ");
}

/* What a run of range(n) -> collect writes: 0 .. n-1, one per line
 * (caller frees). */
static char *
expect_count(long n, size_t *len)
{
    char *text = malloc((size_t)n * 21 + 1);

    assert_non_null(text);
    *len = 0;
    for (long i = 0; i < n; i++)
        *len += (size_t)sprintf(text + *len, "%ld\n", i);
    return text;
}

/* The old output of the fault cases: not what any run writes. */
static const char old_output[] = "old output\nkept whole\n";

static void
write_old(const struct fault_dir *d)
{
    FILE *f = fopen(d->res, "w");

    assert_non_null(f);
    assert_int_equal(fputs(old_output, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(d->res, 0640), 0);
}

/* Fail unless `d`'s res.txt is the old output as write_old left it after
 * the run `what`: same bytes, same file (`ino`), same mode. */
static void
assert_old_kept(const struct fault_dir *d, ino_t ino, const char *what)
{
    struct stat st;
    size_t len;
    char *got = read_all(d->res, &len);

    if (!got || len != sizeof(old_output) - 1 ||
        memcmp(got, old_output, len) != 0 || stat(d->res, &st) != 0 ||
        st.st_ino != ino || (st.st_mode & 07777) != 0640)
        fail_msg("%s: the old %s is gone or changed (now: %s)", what, d->res,
                 got ? got : "nothing");
    free(got);
}

/*
 * Each file operation of collect failing, with its unnamed new file
 * (O_TMPFILE) and with a named one (O_TMPFILE refused: EOPNOTSUPP, as on a
 * file system without unnamed files), to a path that names an old file and
 * to one that names nothing: flowrun exits 1, collect's instance says which
 * operation failed on which path, the old file is as it was (same bytes,
 * same inode, same mode), none appears, and no temporary file res.txt.XXXXXX
 * is left in the directory.
 */
static void
test_core_collect_file_faults(void **unused)
{
    static const struct {
        const char *fail; /* FLOW_TEST_FAIL, after the EOPNOTSUPP if any */
        const char *msg;  /* collect's error: this, the path, then `after` */
        const char *after;
        bool named_only;   /* only with a named new file */
        bool unnamed_only; /* only with an unnamed one */
    } cases[] = {
        /* Creating the new file. */
        { "open_tmpfile:EIO", "cannot create a file next to '",
          "': Input/output error", false, true },
        { "mkstemp:EDQUOT", "cannot create a file next to '",
          "': Disk quota exceeded", true, false },
        /* Giving it the old file's mode (or the usual one). */
        { "fchmod:EPERM", "cannot set the mode of a file for '",
          "': Operation not permitted", false, false },
        /* Naming the unnamed file at the end: a free name, then the link. */
        { "mkstemp:EIO", "cannot name a file next to '",
          "': Input/output error", false, true },
        { "linkat:EIO", "cannot name a file next to '", "': Input/output error",
          false, true },
        /* Every free name taken by another before the link (100 tries). */
        { "linkat:EEXIST", "cannot name a file next to '", "': File exists",
          false, true },
        /* Writing, at the end (the output fits the buffer). */
        { "write:ENOSPC:5", "cannot write to '", "': No space left on device",
          false, false },
        { "close:EIO", "cannot write to '", "': Input/output error", false,
          false },
        /* Putting it in the path's place: from res.txt.XXXXXX. */
        { "rename:EIO", "cannot rename '", ".", false, false },
    };
    struct fault_dir d;
    char graph[512], spec[128], msg[256];

    (void)unused;
    fault_dir_make(&d);
    snprintf(graph, sizeof(graph),
             "[src]\ntype = range\ncount = 1000\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in batch=7\n",
             d.res);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (int named = 0; named < 2; named++)
            for (int old = 0; old < 2; old++) {
                struct stat st = { 0 };
                tu_result_t r;

                if ((named && cases[i].unnamed_only) ||
                    (!named && cases[i].named_only))
                    continue;
                snprintf(spec, sizeof(spec), "%s%s",
                         named ? "open_tmpfile:EOPNOTSUPP," : "",
                         cases[i].fail);
                snprintf(msg, sizeof(msg), "%s%s%s", cases[i].msg, d.res,
                         cases[i].after);
                if (old) {
                    write_old(&d);
                    assert_int_equal(stat(d.res, &st), 0);
                }
                unlink(d.log);
                int status = run_failing(&r, &d, spec, graph, 30);
                if (status != 1)
                    fail_msg("%s: status %d, stderr:\n%s", spec, status, r.err);
                assert_collect_failed(r.err, msg);
                if (strstr(spec, "rename")) {
                    snprintf(msg, sizeof(msg),
                             "' to '%s': Input/output error\n", d.res);
                    tu_assert_contains(r.err, msg);
                }
                assert_injected(&d, spec);
                if (old)
                    assert_old_kept(&d, st.st_ino, spec);
                else if (access(d.res, F_OK) == 0)
                    fail_msg("%s: %s made", spec, d.res);
                assert_only(d.dir, old ? "res.txt\n" : NULL, spec);
                tu_result_release(&r);
                unlink(d.res);
            }
    fault_dir_remove(&d);
}

/*
 * O_TMPFILE refused (EOPNOTSUPP from a file system without unnamed files,
 * EISDIR or EINVAL from a kernel without O_TMPFILE): collect writes a named
 * temporary file res.txt.XXXXXX instead (the fixture logs its mkstemp), and
 * a run that succeeds leaves the exact output, with the old file's mode or
 * the usual one, and nothing else; one that fails upstream leaves the old
 * file and nothing else.
 */
static void
test_core_collect_no_tmpfile(void **unused)
{
    const long n = 300000; /* 2 MB: the buffer is written out mid-run */
    static const char *const specs[] = {
        "open_tmpfile:EOPNOTSUPP,mkstemp:0",
        "open_tmpfile:EISDIR,mkstemp:0",
        "open_tmpfile:EINVAL,mkstemp:0",
    };
    const char *spec = specs[0];
    mode_t mask = umask(0);
    struct fault_dir d;
    char graph[512], want[160];
    size_t len, explen;
    char *expect = expect_count(n, &explen), *got, *log;
    struct stat st;
    tu_result_t r;

    (void)unused;
    umask(mask);
    fault_dir_make(&d);
    snprintf(graph, sizeof(graph),
             "[src]\ntype = range\ncount = %ld\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in batch=7\n",
             n, d.res);
    for (int i = 0; i < 6; i++) {
        int old = i % 2;

        spec = specs[i / 2];
        if (old)
            write_old(&d);
        unlink(d.log);
        if (run_failing(&r, &d, spec, graph, 60) != 0)
            fail_msg("%s: status %d, stderr:\n%s", spec, r.status, r.err);
        tu_result_release(&r);
        assert_injected(&d, spec);
        log = read_all(d.log, &len);
        snprintf(want, sizeof(want), "mkstemp %s.XXXXXX\n", d.res);
        tu_assert_contains(log, want);
        free(log);
        got = read_all(d.res, &len);
        assert_non_null(got);
        assert_int_equal(len, explen);
        assert_memory_equal(got, expect, len);
        free(got);
        assert_int_equal(stat(d.res, &st), 0);
        assert_int_equal(st.st_mode & 07777, old ? 0640 : 0666 & ~mask);
        assert_only(d.dir, "res.txt\n", spec);
        unlink(d.res);
    }

    /* A stage that dies half way: the named file goes too. */
    snprintf(graph, sizeof(graph),
             "[src]\ntype = range\ncount = %ld\n"
             "[f]\ntype = fault\nafter = 50\naction = exit\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> f.in batch=7\n"
             "push = f.out -> out.in\n",
             n, d.res);
    spec = specs[0];
    write_old(&d);
    assert_int_equal(stat(d.res, &st), 0);
    unlink(d.log);
    assert_int_equal(run_failing(&r, &d, spec, graph, 60), 1);
    tu_assert_contains(r.err, "node 'f' instance 0 (pid ");
    tu_result_release(&r);
    assert_injected(&d, spec);
    assert_old_kept(&d, st.st_ino, spec);
    assert_only(d.dir, "res.txt\n", spec);
    free(expect);
    fault_dir_remove(&d);
}

/*
 * The disk full mid-run: an endless source, and writes to collect's file
 * failing with ENOSPC after 100000 bytes, when collect first writes out its
 * buffer. The run can only end by that failure: it does, exit 1, the old
 * file as it was and no temporary file left, unnamed or named.
 */
static void
test_core_collect_enospc_midrun(void **unused)
{
    static const char *const specs[] = {
        "write:ENOSPC:100000",
        "open_tmpfile:EOPNOTSUPP,write:ENOSPC:100000",
    };
    struct fault_dir d;
    char graph[512], msg[256];

    (void)unused;
    fault_dir_make(&d);
    snprintf(graph, sizeof(graph),
             "[src]\ntype = range\ncount = 1e15\n"
             "[out]\ntype = collect\noutput = %s\n"
             "[links]\npush = src.out -> out.in\n",
             d.res);
    snprintf(msg, sizeof(msg), "cannot write to '%s': No space left on device",
             d.res);
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        tu_result_t r;
        int status;

        write_old(&d);
        assert_int_equal(stat(d.res, &st), 0);
        unlink(d.log);
        status = run_failing(&r, &d, specs[i], graph, 30);
        if (status != 1)
            fail_msg("%s: status %d, stderr:\n%s", specs[i], status, r.err);
        assert_collect_failed(r.err, msg);
        tu_result_release(&r);
        assert_injected(&d, specs[i]);
        assert_old_kept(&d, st.st_ino, specs[i]);
        assert_only(d.dir, "res.txt\n", specs[i]);
    }
    fault_dir_remove(&d);
}

/*
 * tee: a stream two nodes each need whole. 30,000 words from 2 makers
 * through 2 tees: one copy goes to a file in input order, the other to 3
 * palindrome finders. The oracle: every word, in order, in the file, and
 * the palindromes among them on standard output. Then one side gives up
 * (collect limit=5) while the other counts all 200,000 words; then both
 * give up and an endless source stops, the run ending with status 0.
 */
static void
test_core_tee(void **unused)
{
    tu_result_t r;
    char text[1024], *path = tu_temp_file(""), *got, *w;
    size_t len;

    (void)unused;
    snprintf(text, sizeof(text),
             "[gen]\ntype = words\ninstances = 2\ncount = 30000\n"
             "length = 3\nseed = 11\n"
             "[t]\ntype = tee\ninstances = 2\n"
             "[find]\ntype = palindromes\ninstances = 3\n"
             "[all]\ntype = collect\norder = input\noutput = %s\n"
             "[out]\ntype = collect\norder = input\n"
             "[links]\npush = gen.out -> t.in batch=700\n"
             "push = t.a -> all.in hwm=2\npush = t.b -> find.in\n"
             "push = find.out -> out.in\n",
             path);
    if (tu_run_graph(&r, 60, text, NULL) != 0)
        fail_msg("status %d: %s", r.status, r.err);
    expect_palindromes(r.out, 11, 3, 30000);
    tu_result_release(&r);
    got = read_all(path, &len);
    assert_non_null(got);
    assert_int_equal(len, 30000 * 4);
    w = oracle_words(11, 3, 30000);
    for (size_t i = 0; i < 30000; i++) {
        assert_memory_equal(got + i * 4, w + i * 3, 3);
        assert_int_equal(got[i * 4 + 3], '\n');
    }
    free(w);
    free(got);
    unlink(path);
    free(path);

    /* One side gives up; the other still gets every word. */
    assert_int_equal(
        tu_run_graph(&r, 60,
                     "[gen]\ntype = words\ncount = 200000\nlength = 3\n"
                     "[t]\ntype = tee\n"
                     "[head]\ntype = collect\nlimit = 5\nmode = count\n"
                     "[n]\ntype = collect\nmode = count\n"
                     "[links]\npush = gen.out -> t.in batch=100\n"
                     "push = t.a -> head.in\npush = t.b -> n.in\n",
                     NULL),
        0);
    tu_assert_contains(r.out, "200000\n");
    tu_assert_contains(r.out, "5\n");
    tu_result_release(&r);

    /* Both sides give up: no one wants the tee's work, nor the source's. */
    assert_int_equal(tu_run_graph(&r, 60,
                                  "[src]\ntype = range\ncount = 1000000000000\n"
                                  "[t]\ntype = tee\n"
                                  "[h1]\ntype = collect\nlimit = 3\n"
                                  "[h2]\ntype = collect\nlimit = 4\n"
                                  "[links]\npush = src.out -> t.in batch=10\n"
                                  "push = t.a -> h1.in\npush = t.b -> h2.in\n",
                                  NULL),
                     0);
    /* The first 3 and the first 4 numbers, each side's whole output
     * written at once, in either order. */
    if (strcmp(r.out, "0\n1\n2\n0\n1\n2\n3\n") &&
        strcmp(r.out, "0\n1\n2\n3\n0\n1\n2\n"))
        fail_msg("output:\n%s", r.out);
    tu_result_release(&r);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * flow_graph_run in a program that has children of its own: the run reaps
 * its instances and its guard, never a child of the caller's that ends
 * meanwhile, whose exit status stays the caller's to wait for (it used to
 * be reaped and dropped: the caller's waitpid failed with ECHILD).
 */
static void
test_core_library_run_leaves_callers_children(void **unused)
{
    static const char ini[] = "[graph]\nname = callers_child\n"
                              "[gen]\ntype = words\ncount = 20\n"
                              "[j]\ntype = jitter\nmax_us = 20000\n"
                              "[out]\ntype = collect\noutput = /dev/null\n"
                              "[links]\npush = gen.out -> j.in\n"
                              "push = j.out -> out.in\n";
    flow_registry_t *reg = flow_registry_new();
    flow_run_opts_t opts;
    flow_diag_t diag;
    flow_graph_t *g;
    int status = 0, signo = 0;
    pid_t mine;

    (void)unused;
    flow_registry_add_path(reg, tu_plugin_dir());
    g = flow_graph_load_string(ini, strlen(ini), "callers_child.ini", reg, NULL,
                               0, &diag);
    assert_non_null(g);
    mine = tu_fork();
    assert_true(mine >= 0);
    if (mine == 0)
        _exit(7); /* ends while the graph runs */
    memset(&opts, 0, sizeof(opts));
    opts.quiet = 1;
    assert_int_equal(flow_graph_run(g, &opts, &signo), 0);
    assert_int_equal(waitpid(mine, &status, 0), mine);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 7);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/* The graph `ini` loaded with the built plugins, for a program that runs
 * it through the library; exits 90 where it does not load. */
static flow_graph_t *
library_graph(const char *ini, flow_registry_t **reg)
{
    flow_diag_t diag;
    flow_graph_t *g;

    *reg = flow_registry_new();
    flow_registry_add_path(*reg, tu_plugin_dir());
    g = flow_graph_load_string(ini, strlen(ini), "library.ini", *reg, NULL, 0,
                               &diag);
    if (!g) {
        fprintf(stderr, "load: %s\n", diag.msg);
        _exit(90);
    }
    return g;
}

/* A graph that runs for 10 x 60 ms at least (a message of the fault node
 * takes 60 ms), writing nothing. */
static const char slow_ini[] = "[src]\ntype = range\ncount = 10\n"
                               "[slow]\ntype = fault\naction = none\n"
                               "work_us = 60000\n"
                               "[out]\ntype = collect\noutput = /dev/null\n"
                               "[links]\npush = src.out -> slow.in batch=1\n"
                               "push = slow.out -> out.in\n";

static flow_graph_t *sigchld_graph;

static int
run_sigchld_graph(void)
{
    flow_run_opts_t opts = { .quiet = 1 };

    return flow_graph_run(sigchld_graph, &opts, NULL);
}

/* The caller's SIGCHLD action, a handler or SIG_IGN (`ignored`), for its
 * child that ends while the graph runs (tu_sigchld_check). */
static int
sigchld_case(bool ignored)
{
    flow_registry_t *reg;
    int rc;

    sigchld_graph = library_graph(slow_ini, &reg);
    rc = tu_sigchld_check(run_sigchld_graph, 0, ignored);
    flow_graph_destroy(&sigchld_graph);
    flow_registry_destroy(&reg);
    return rc;
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

/*
 * A child of the caller's that ends during flow_graph_run is told as the
 * caller's SIGCHLD action says, once the call returns: the run read its
 * SIGCHLD, so a handler of the caller's never ran for it, and under
 * SIG_IGN it stayed a zombie for good.
 */
static void
test_core_library_run_sigchld_handler(void **unused)
{
    (void)unused;
    tu_in_own_process(sigchld_handler_case);
}

static void
test_core_library_run_sigchld_ignored(void **unused)
{
    (void)unused;
    tu_in_own_process(sigchld_ignored_case);
}

/* Standard input and output closed: a node's standard output is no
 * descriptor of the run's. collect fails writing it with EBADF, as under
 * flowrun >&- (flowrun(1)); they are closed again after the call. */
static flow_graph_t *closed_std_graph;

static int
run_closed_std_graph(void)
{
    flow_run_opts_t opts = { .quiet = 1, .timeout_s = 30 };

    return flow_graph_run(closed_std_graph, &opts, NULL);
}

static int
closed_std_case(void)
{
    flow_registry_t *reg;
    int rc;

    closed_std_graph = library_graph("[src]\ntype = range\ncount = 1000000\n"
                                     "[out]\ntype = collect\nmode = count\n"
                                     "[links]\npush = src.out -> out.in\n",
                                     &reg);
    rc = tu_closed_std_check(run_closed_std_graph, FLOW_ENODE);
    flow_graph_destroy(&closed_std_graph);
    flow_registry_destroy(&reg);
    return rc;
}

/* The caller's soft limit on open files, 64, is what it was after a run
 * that raised it (71 processes: the launcher needs 103). */
static int
file_limit_case(void)
{
    flow_registry_t *reg;
    flow_graph_t *g = library_graph("[r]\ntype = pid\ninstances = 70\n"
                                    "[out]\ntype = collect\n"
                                    "output = /dev/null\n"
                                    "[links]\npush = r.out -> out.in\n",
                                    &reg);
    flow_run_opts_t opts = { .quiet = 1 };
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1024)
        return 0; /* cannot be raised here: nothing to see */
    rl.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &rl))
        return 2;
    if (flow_graph_run(g, &opts, NULL) != 0)
        return 3;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur != 64) {
        fprintf(stderr, "soft limit %llu after the run\n",
                (unsigned long long)rl.rlim_cur);
        return 4;
    }
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
    return 0;
}

/*
 * flow_graph_run with the caller's standard descriptors closed: the first
 * descriptors the run opened took their numbers, and a node's "standard
 * output" was one of libzmq's (collect's count, 8 bytes, went into an
 * eventfd: libzmq asserted and the output was lost).
 */
static void
test_core_library_run_closed_std_fds(void **unused)
{
    (void)unused;
    tu_in_own_process(closed_std_case);
}

/* The soft limit on open files that flow_graph_run raised for its run
 * stayed raised in the caller (a select() of its own needs it below
 * 1024). */
static void
test_core_library_run_file_limit_restored(void **unused)
{
    (void)unused;
    tu_in_own_process(file_limit_case);
}

/* The write end of a non-blocking pipe that the caller's SIGQUIT handler
 * writes the pid it runs in to (sigquit_handler_case). */
static int quit_pipe = -1;

static void
on_quit_write_pid(int sig)
{
    pid_t me = getpid();

    (void)sig;
    if (write(quit_pipe, &me, sizeof(me)) < 0) {
        /* full: one is enough */
    }
}

/* A caller with a SIGQUIT handler of its own, sent SIGQUIT 1 s into an
 * endless run with a grace of 10 s (core dumps off). */
static int
sigquit_handler_case(void)
{
    flow_registry_t *reg;
    flow_graph_t *g = library_graph("[src]\ntype = range\ncount = 1e15\n"
                                    "[slow]\ntype = fault\naction = none\n"
                                    "work_us = 100000\n"
                                    "[out]\ntype = collect\nmode = count\n"
                                    "[links]\npush = src.out -> slow.in\n"
                                    "push = slow.out -> out.in\n",
                                    &reg);
    flow_run_opts_t opts = { .quiet = 1, .grace_s = 10 };
    struct rlimit core;
    int fds[2], signo = 0, rc, status;
    pid_t caller = getpid(), killer, ran_in = 0;
    double t;

    if (getrlimit(RLIMIT_CORE, &core))
        return 1;
    core.rlim_cur = 0;
    if (setrlimit(RLIMIT_CORE, &core) || pipe2(fds, O_NONBLOCK | O_CLOEXEC))
        return 1;
    quit_pipe = fds[1];
    signal(SIGQUIT, on_quit_write_pid);
    fflush(NULL);
    if ((killer = tu_fork()) < 0)
        return 1;
    if (killer == 0) {
        usleep(1000000);
        _exit(kill(caller, SIGQUIT) ? 1 : 0);
    }
    t = tu_now_s();
    rc = flow_graph_run(g, &opts, &signo);
    t = tu_now_s() - t;
    if (waitpid(killer, &status, 0) != killer || !WIFEXITED(status) ||
        WEXITSTATUS(status))
        return 2;
    if (read(fds[0], &ran_in, sizeof(ran_in)) > 0) {
        fprintf(stderr,
                "the caller's SIGQUIT handler ran in pid %d (the "
                "caller is %d)\n",
                (int)ran_in, (int)caller);
        return 3;
    }
    if (rc != FLOW_EINTR || signo != SIGQUIT || t > 6) {
        fprintf(stderr, "returned %d, signal %d after %.3f s\n", rc, signo, t);
        return 4;
    }
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
    return 0;
}

/*
 * flow_graph_run in a program with a SIGQUIT handler of its own: the call
 * reads the signal (the handler does not run in the caller), returns
 * FLOW_EINTR with SIGQUIT, and its instances take SIGQUIT's default action
 * at once. They inherited the caller's handler from the fork and ran it
 * instead (the caller's code in a process of the run), lived on and were
 * killed after the grace.
 */
static void
test_core_library_run_sigquit_handler(void **unused)
{
    (void)unused;
    tu_in_own_process(sigquit_handler_case);
}

/*
 * merge: two word makers of different seeds (2 instances and 1) into one
 * collector. The oracle: the words of both seeds, as a sorted list, equal
 * to the sorted output. Then a tee and a merge in a diamond, the stream
 * rejoining itself: twice every number, the sum known in closed form.
 */
static void
test_core_merge(void **unused)
{
    enum { NA = 12000, NB = 5000, LEN = 4 };
    tu_result_t r;
    char **lines, **want = malloc((NA + NB) * sizeof(*want));
    char *wa = oracle_words(5, LEN, NA), *wb = oracle_words(6, LEN, NB);
    size_t n;

    (void)unused;
    assert_non_null(want);
    if (tu_run_graph(&r, 60,
                     "[a]\ntype = words\ninstances = 2\ncount = 12000\n"
                     "length = 4\nseed = 5\n"
                     "[b]\ntype = words\ncount = 5000\nlength = 4\n"
                     "seed = 6\n"
                     "[m]\ntype = merge\n[out]\ntype = collect\n"
                     "[links]\npush = a.out -> m.a batch=300\n"
                     "push = b.out -> m.b batch=70\npush = m.out -> out.in\n",
                     NULL) != 0)
        fail_msg("status %d: %s", r.status, r.err);
    lines = tu_lines(r.out, &n);
    assert_int_equal(n, NA + NB);
    for (size_t i = 0; i < NA + NB; i++) {
        char *w = malloc(LEN + 1);
        assert_non_null(w);
        memcpy(w, i < NA ? wa + i * LEN : wb + (i - NA) * LEN, LEN);
        w[LEN] = '\0';
        want[i] = w;
    }
    qsort(lines, n, sizeof(*lines), cmp_str);
    qsort(want, n, sizeof(*want), cmp_str);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(lines[i], want[i]);
        free(want[i]);
    }
    free(lines);
    free(want);
    free(wa);
    free(wb);
    tu_result_release(&r);

    /* The diamond: 0 .. 99,999 twice. */
    if (tu_run_graph(&r, 60,
                     "[src]\ntype = range\ncount = 100000\n"
                     "[t]\ntype = tee\n[m]\ntype = merge\n"
                     "[out]\ntype = collect\n"
                     "[links]\npush = src.out -> t.in batch=1000\n"
                     "push = t.a -> m.a\npush = t.b -> m.b\n"
                     "push = m.out -> out.in\n",
                     NULL) != 0)
        fail_msg("status %d: %s", r.status, r.err);
    lines = tu_lines(r.out, &n);
    assert_int_equal(n, 200000);
    {
        static unsigned char seen[100000];
        long long sum = 0;
        for (size_t i = 0; i < n; i++) {
            long long v = atoll(lines[i]);
            assert_true(v >= 0 && v < 100000 && seen[v] < 2);
            seen[v]++;
            sum += v;
        }
        assert_true(sum == 2LL * 99999 * 100000 / 2);
    }
    free(lines);
    tu_result_release(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_graphs_check),
        cmocka_unit_test(test_core_words_match_oracle),
        cmocka_unit_test(test_core_palindromes_article),
        cmocka_unit_test(test_core_palindromes_scaled),
        cmocka_unit_test(test_core_palindromes_parallel),
        cmocka_unit_test(test_core_palindromes_parallel_count),
        cmocka_unit_test(test_core_palindromes_search),
        cmocka_unit_test(test_core_pids),
        cmocka_unit_test(test_core_fan_in),
        cmocka_unit_test(test_core_collect_sum),
        cmocka_unit_test(test_core_eos_matrix),
        cmocka_unit_test(test_core_balance_demand),
        cmocka_unit_test(test_core_balance_demand_window),
        cmocka_unit_test(test_core_balance_demand_window_slow_producer),
        cmocka_unit_test(test_core_balance_demand_window_producer_pause),
        cmocka_unit_test(test_core_balance_demand_given_up),
        cmocka_unit_test(test_core_lines_pool_map),
        cmocka_unit_test(test_core_lines_stream),
        cmocka_unit_test(test_core_lines_stop_keeps_read),
        cmocka_unit_test(test_core_lines_stop_partial_line),
        cmocka_unit_test(test_core_lines_stop_file_quiet),
        cmocka_unit_test(test_core_lines_one_stdin_reader),
        cmocka_unit_test(test_core_lines_empty_path),
        cmocka_unit_test(test_core_lines_read_error),
        cmocka_unit_test(test_core_collect_not_to_stderr),
        cmocka_unit_test(test_core_lines_output_in_place),
        cmocka_unit_test(test_core_balance_demand_send_paths),
        cmocka_unit_test(test_core_failure_reported),
        cmocka_unit_test(test_core_collect_file_atomic),
        cmocka_unit_test(test_core_collect_to_fifo),
        cmocka_unit_test(test_core_collect_in_place),
        cmocka_unit_test(test_core_collect_output_claims),
        cmocka_unit_test(test_core_collect_shared_stdout),
        cmocka_unit_test(test_core_collect_dir_not_writable),
        cmocka_unit_test(test_core_collect_streams),
        cmocka_unit_test(test_core_words_chunk_fits),
        cmocka_unit_test(test_core_collect_end_nul),
        cmocka_unit_test(test_core_collect_file_faults),
        cmocka_unit_test(test_core_collect_no_tmpfile),
        cmocka_unit_test(test_core_collect_enospc_midrun),
        cmocka_unit_test(test_core_tee),
        cmocka_unit_test(test_core_merge),
        cmocka_unit_test(test_core_library_run_leaves_callers_children),
        cmocka_unit_test(test_core_library_run_sigchld_handler),
        cmocka_unit_test(test_core_library_run_sigchld_ignored),
        cmocka_unit_test(test_core_library_run_closed_std_fds),
        cmocka_unit_test(test_core_library_run_file_limit_restored),
        cmocka_unit_test(test_core_library_run_sigquit_handler),
    };
    tu_watchdog(280);
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
