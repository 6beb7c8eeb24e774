/* SPDX-License-Identifier: MIT */
/*
 * test_core.c: flowrun end to end on the article's graphs and on
 * end-of-stream stress graphs, checked against oracles computed here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

/* Every word the words node makes for (count, length, seed), in order,
 * dumped through a words -> collect graph. */
static char **
dump_words(const char *count, const char *length, const char *seed,
           tu_result_t *r, size_t *n)
{
    char text[1024];
    char *path;

    snprintf(text, sizeof(text),
             "[gen]\ntype = words\ncount = %s\nlength = %s\nseed = %s\n"
             "[out]\ntype = collect\norder = input\n"
             "[links]\npush = gen.out -> out.in\n",
             count, length, seed);
    path = tu_temp_file(text);
    assert_int_equal(tu_runl(r, 60, path, NULL), 0);
    unlink(path);
    free(path);
    return tu_lines(r->out, n);
}

static bool
is_palindrome(const char *w)
{
    size_t n = strlen(w);
    for (size_t i = 0; i < n / 2; i++)
        if (w[i] != w[n - 1 - i])
            return false;
    return true;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The article's run: 8000 four-letter words in two chunks, two workers.
 * Output in input order must equal a plain loop over the same words. */
static void
test_core_palindromes_article(void **unused)
{
    tu_result_t words, run;
    size_t nw, np, k = 0;
    char **w, **p;

    (void)unused;
    w = dump_words("8000", "4", "1", &words, &nw);
    assert_int_equal(nw, 8000);
    for (size_t i = 0; i < nw; i++) {
        assert_int_equal(strlen(w[i]), 4);
        for (size_t j = 0; j < 4; j++)
            assert_true(w[i][j] >= 'a' && w[i][j] <= 'z');
    }
    assert_int_equal(tu_runl(&run, 60, tu_src("graphs/palindromes.ini"), NULL),
                     0);
    p = tu_lines(run.out, &np);
    for (size_t i = 0; i < nw; i++) {
        if (!is_palindrome(w[i]))
            continue;
        assert_true(k < np);
        assert_string_equal(p[k], w[i]);
        k++;
    }
    assert_int_equal(k, np);
    /* 26^2 palindromes among 26^4 words: about 12 expected in 8000. */
    assert_true(np > 0);
    free(w);
    free(p);
    tu_result_release(&words);
    tu_result_release(&run);
}

/* Scaled up, more workers, small chunks: the same set, in input order. */
static void
test_core_palindromes_scaled(void **unused)
{
    tu_result_t words, run;
    size_t nw, np, k = 0;
    char **w, **p;

    (void)unused;
    w = dump_words("300000", "3", "7", &words, &nw);
    assert_int_equal(nw, 300000);
    assert_int_equal(tu_runl(&run, 60, tu_src("graphs/palindromes.ini"),
                             "--set", "words=300000", "--set", "length=3",
                             "--set", "seed=7", "--set", "workers=3", "--set",
                             "chunk=1000", NULL),
                     0);
    p = tu_lines(run.out, &np);
    for (size_t i = 0; i < nw; i++)
        if (is_palindrome(w[i])) {
            assert_true(k < np);
            assert_string_equal(p[k], w[i]);
            k++;
        }
    assert_int_equal(k, np);
    /* 26^2 of 26^3 three-letter words are palindromes: about 1/26. */
    assert_true(np > 300000 / 26 / 2 && np < 300000 / 26 * 2);
    free(w);
    free(p);
    tu_result_release(&words);
    tu_result_release(&run);
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
 * the consumers: every item exactly once, nothing hangs. Looped. */
static void
test_core_eos_matrix(void **unused)
{
    static const int prod[] = { 1, 2, 3, 7 };
    static const int cons[] = { 1, 2, 5 };
    const int64_t n = 5000;

    (void)unused;
    for (int loop = 0; loop < 3; loop++)
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 3; j++) {
                char text[1024], *path;
                tu_result_t r;

                snprintf(text, sizeof(text),
                         "[src]\ntype = range\ninstances = %d\ncount = "
                         "%lld\n"
                         "[mid]\ntype = jitter\ninstances = %d\nmax_us = "
                         "%d\nseed = %d\n"
                         "[out]\ntype = collect\n"
                         "[links]\npush = src.out -> mid.in batch=%d hwm=1\n"
                         "push = mid.out -> out.in hwm=1\n",
                         prod[i], (long long)n, cons[j],
                         (loop + (int)j) % 2 ? 300 : 0, loop * 31 + (int)i,
                         loop == 2 ? 1 : 13);
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

/* Every shipped graph passes --check. */
static void
test_core_graphs_check(void **unused)
{
    static const char *const graphs[] = { "graphs/palindromes.ini",
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_graphs_check),
        cmocka_unit_test(test_core_palindromes_article),
        cmocka_unit_test(test_core_palindromes_scaled),
        cmocka_unit_test(test_core_pids),
        cmocka_unit_test(test_core_fan_in),
        cmocka_unit_test(test_core_eos_matrix),
        cmocka_unit_test(test_core_failure_reported),
        cmocka_unit_test(test_core_collect_file_atomic),
    };
    (void)cmp_str;
    tu_watchdog(280);
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
