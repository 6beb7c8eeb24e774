/* SPDX-License-Identifier: MIT */
/*
 * test_node_lines.c: the lines source in the harness of flow/testing.h,
 * reading files this test writes. The oracle is the text the test wrote,
 * cut at its newlines here.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow/testing.h"
#include "testutil.h"

extern const flow_node_desc_t flow_node_lines;

/* Write `len` bytes of `text` to a new temporary file; returns its path
 * (the caller unlinks and frees it). */
static char *
write_file(const char *text, size_t len)
{
    char *path = tu_temp_file("");
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* A harness reading `path` with `chunk` (NULL: the default) and the link
 * batch `batch`, run to its end. */
static flow_harness_t *
run_lines(const char *path, const char *chunk, size_t batch)
{
    char p_path[4200];
    const char *params[2] = { p_path, chunk };
    flow_harness_t *h;

    snprintf(p_path, sizeof(p_path), "path=%s", path);
    h = flow_harness_new(&flow_node_lines, params, chunk ? 2 : 1, NULL);
    assert_non_null(h);
    assert_int_equal(flow_harness_set_batch(h, "out", batch), 0);
    flow_harness_run(h);
    assert_true(flow_harness_done(h));
    return h;
}

/*
 * The lines of `text` (`len` bytes) read with `chunk` and `batch` are the
 * text cut at its newlines (a last line without one too), in messages of
 * `want[0]`, `want[1]`, ... lines (ended by 0) numbered 0, 1, ...
 */
static void
expect_lines(const char *text, size_t len, const char *chunk, size_t batch,
             const size_t *want)
{
    char *path = write_file(text, len);
    flow_harness_t *h = run_lines(path, chunk, batch);
    const char *at = text, *end = text + len;
    flow_msg_t *msg = NULL;
    uint64_t seq = 0;

    assert_null(flow_harness_error(h));
    while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
        assert_int_equal(flow_msg_seq(msg), seq);
        assert_int_equal(flow_msg_count(msg), want[seq]);
        for (size_t i = 0; i < flow_msg_count(msg); i++) {
            const char *nl = memchr(at, '\n', (size_t)(end - at));
            size_t n = nl ? (size_t)(nl - at) : (size_t)(end - at), got;
            const char *w = flow_msg_word(msg, i, &got);
            assert_true(at < end);
            assert_int_equal(got, n);
            assert_memory_equal(w, at, n);
            at += n + (nl != NULL);
        }
        seq++;
        flow_msg_destroy(&msg);
    }
    assert_int_equal(want[seq], 0);
    assert_true(at == end); /* every line came */
    flow_harness_destroy(&h);
    unlink(path);
    free(path);
}

static void
test_node_lines_cut_at_newlines(void **state)
{
    static const char text[] = "a b\n\nx\r\nlast";
    static const size_t two[] = { 2, 2, 0 };
    static const size_t three[] = { 3, 1, 0 };
    static const size_t none[] = { 0 };
    static const size_t one[] = { 1, 0 };

    (void)state;
    /* An empty line is a line; "\r" stays; the last needs no newline. */
    expect_lines(text, sizeof(text) - 1, "chunk=2", 1024, two);
    /* chunk 0: the link's batch. */
    expect_lines(text, sizeof(text) - 1, NULL, 3, three);
    expect_lines("", 0, NULL, 16, none);
    expect_lines("\n", 1, NULL, 16, one);
}

/* A message ends before it would pass 1 MiB of text; a longer line goes
 * alone. */
static void
test_node_lines_long_lines(void **state)
{
    size_t big = (size_t)3 << 20, len = 0;
    char *text = malloc(big + 64);
    static const size_t want[] = { 2, 1, 1, 0 };

    (void)state;
    len += (size_t)sprintf(text + len, "one\ntwo\n");
    memset(text + len, 'x', big);
    len += big;
    len += (size_t)sprintf(text + len, "\nthree\n");
    expect_lines(text, len, "chunk=100", 1024, want);
    free(text);
}

/* The 1 MiB a message holds counts each line with one byte more (its
 * newline): 1024 lines of 1023 bytes fill a message exactly, the next
 * starts the next message, and each message counts its own bytes. */
static void
test_node_lines_msg_bytes(void **state)
{
    size_t n = 2 * 1024 + 1, len = 0;
    char *text = malloc(n * 1024);
    static const size_t want[] = { 1024, 1024, 1, 0 };

    (void)state;
    for (size_t i = 0; i < n; i++) {
        memset(text + len, 'a' + (int)(i % 26), 1023);
        text[len + 1023] = '\n';
        len += 1024;
    }
    expect_lines(text, len, "chunk=100000", 1024, want);
    free(text);
}

/* A NUL byte is not text: the node fails naming the line. A file that is
 * not there fails at init, naming it. */
static void
test_node_lines_errors(void **state)
{
    static const char text[] = "ok\nfine\nbad\0byte\n";
    char *path = write_file(text, sizeof(text) - 1);
    flow_harness_t *h = run_lines(path, NULL, 16);

    (void)state;
    assert_non_null(flow_harness_error(h));
    tu_assert_contains(flow_harness_error(h), "line 3 of '");
    tu_assert_contains(flow_harness_error(h), "holds a NUL byte");
    flow_harness_destroy(&h);
    unlink(path);

    h = run_lines(path, NULL, 16); /* gone now */
    assert_non_null(flow_harness_error(h));
    tu_assert_contains(flow_harness_error(h), "cannot open '");
    tu_assert_contains(flow_harness_error(h), "No such file or directory");
    flow_harness_destroy(&h);
    free(path);

    /* The NUL byte may end the line. */
    path = write_file("ok\nbad\0\nfine\n", 13);
    h = run_lines(path, NULL, 16);
    assert_non_null(flow_harness_error(h));
    tu_assert_contains(flow_harness_error(h), "line 2 of '");
    tu_assert_contains(flow_harness_error(h), "holds a NUL byte");
    flow_harness_destroy(&h);
    unlink(path);
    free(path);
}

/*
 * A long line from a pipe comes in reads of the pipe's size: each read
 * looks for the newline in what it added, not again in the whole line
 * begun. It was scanned from its start at each read: a line of 32 MiB
 * through a pipe of 4 KiB took 8192 scans of 16 MiB on average, 17 s
 * (0.5 s now; found by a review helper).
 */
static void
test_node_lines_long_line_from_a_pipe(void **state)
{
    enum { LEN = 32 << 20, PIECE = 4096 };
    char *path = tu_temp_file(""), piece[PIECE];
    flow_harness_t *h;
    flow_msg_t *msg = NULL;
    size_t got = 0;
    double t0;
    pid_t pid;
    int st;

    (void)state;
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the writer: a pipe of 4 KiB, the line, its end */
        int fd = open(path, O_WRONLY);
        if (fd < 0 || fcntl(fd, F_SETPIPE_SZ, PIECE) < 0)
            _exit(1);
        memset(piece, 'x', sizeof(piece));
        for (size_t n = 0; n < LEN; n += PIECE)
            if (write(fd, piece, PIECE) != PIECE)
                _exit(1);
        _exit(write(fd, "\n", 1) != 1);
    }
    t0 = tu_now_s();
    h = run_lines(path, NULL, 16);
    t0 = tu_now_s() - t0;
    assert_null(flow_harness_error(h));
    assert_int_equal(flow_harness_pull(h, "out", &msg, NULL), 0);
    assert_int_equal(flow_msg_count(msg), 1);
    assert_non_null(flow_msg_word(msg, 0, &got));
    assert_int_equal(got, LEN);
    flow_msg_destroy(&msg);
    flow_harness_destroy(&h);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (t0 > 5.0)
        fail_msg("a line of 32 MiB from a pipe took %.1f s", t0);
    unlink(path);
    free(path);
}

/* A line longer than max_line fails the node naming it; one of max_line
 * bytes, its newline not counted, goes out. */
static void
test_node_lines_max_line(void **state)
{
    static const char text[] = "short\n0123456789\n01234567890\nx\n";
    static const size_t two[] = { 2, 0 };
    char *path = write_file(text, sizeof(text) - 1);
    flow_harness_t *h = run_lines(path, "max_line=10", 16);

    (void)state;
    assert_non_null(flow_harness_error(h));
    tu_assert_contains(flow_harness_error(h), "line 3 of '");
    tu_assert_contains(flow_harness_error(h),
                       "is longer than max_line (10 bytes)");
    flow_harness_destroy(&h);
    unlink(path);
    free(path);

    /* The last line, without a newline: 11 bytes fail, 10 go. */
    path = write_file("01234567890", 11);
    h = run_lines(path, "max_line=10", 16);
    tu_assert_contains(flow_harness_error(h), "line 1 of '");
    flow_harness_destroy(&h);
    unlink(path);
    free(path);
    expect_lines("abc\n0123456789", 14, "max_line=10", 16, two);
}

/*
 * An input with no newline fails once max_line bytes of it are read, not
 * at its end: the node took it all (it doubled its buffer up to all the
 * memory there was, for an endless one). The writer offers 64 MiB and is
 * cut off long before (EPIPE, or SIGPIPE) with max_line=100000.
 */
static void
test_node_lines_max_line_no_newline(void **state)
{
    enum { LEN = 64 << 20, PIECE = 65536 };
    char *path = tu_temp_file(""), piece[PIECE];
    flow_harness_t *h;
    pid_t pid;
    int st;

    (void)state;
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY);
        if (fd < 0)
            _exit(1);
        memset(piece, 'x', sizeof(piece));
        for (size_t n = 0; n < LEN; n += PIECE)
            if (write(fd, piece, PIECE) != PIECE)
                _exit(2); /* cut off */
        _exit(0);
    }
    h = run_lines(path, "max_line=100000", 16);
    tu_assert_contains(flow_harness_error(h), "line 1 of '");
    tu_assert_contains(flow_harness_error(h),
                       "is longer than max_line (100000 bytes)");
    flow_harness_destroy(&h); /* closes the FIFO */
    assert_int_equal(waitpid(pid, &st, 0), pid);
    /* Not all of it written: the reader stopped. */
    assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    unlink(path);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_lines_cut_at_newlines),
        cmocka_unit_test(test_node_lines_long_lines),
        cmocka_unit_test(test_node_lines_msg_bytes),
        cmocka_unit_test(test_node_lines_errors),
        cmocka_unit_test(test_node_lines_long_line_from_a_pipe),
        cmocka_unit_test(test_node_lines_max_line),
        cmocka_unit_test(test_node_lines_max_line_no_newline),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
