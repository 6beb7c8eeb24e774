/* SPDX-License-Identifier: MIT */
/*
 * test_errout.c: the launcher's standard-error queue (errout.h) on real
 * pipes and sockets: it never waits unless told to, writes whole lines of
 * at most PIPE_BUF bytes, keeps every byte in order, and drops what a
 * closed reader cannot take. The bytes are checked against the lines the
 * test made.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "errout.h"

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `n` lines of varied lengths (1 to 300 bytes with the newline), line i
 * made of its number and letters; malloc'ed, its length in `*len`. */
static char *
make_lines(size_t n, size_t *len)
{
    char *text = malloc(n * 301 + 1);
    size_t at = 0;

    assert_non_null(text);
    for (size_t i = 0; i < n; i++) {
        size_t want = 1 + (i * 7919) % 300;
        int k = snprintf(text + at, 301, "%zu", i);
        size_t have = (size_t)k;
        if (have + 1 > want)
            want = have + 1;
        while (have + 1 < want) {
            text[at + have] = (char)('a' + (i + have) % 26);
            have++;
        }
        text[at + have] = '\n';
        at += have + 1;
    }
    *len = at;
    return text;
}

/* Put `text` on `q` in pieces of a few lines, as the launcher does. */
static void
put_all(flow_errout_t *q, const char *text, size_t len)
{
    for (size_t at = 0; at < len;) {
        size_t n = len - at < 1000 ? len - at : 1000;
        flow__errout_put(q, text + at, n);
        at += n;
    }
}

/* A pipe that nobody reads: flushing without waiting returns at once with
 * the rest queued, and flushing with a wait returns after it. */
static void
test_errout_full_pipe_no_wait(void **unused)
{
    int p[2];
    size_t len;
    char *text = make_lines(20000, &len);
    flow_errout_t q;
    double t;
    size_t left;

    (void)unused;
    assert_true(len > 1000000); /* far more than a pipe holds */
    assert_int_equal(pipe(p), 0);
    flow__errout_init(&q, p[1]);
    put_all(&q, text, len);
    assert_int_equal(flow__errout_pending(&q), len);
    t = now_s();
    left = flow__errout_flush(&q, 0);
    assert_true(now_s() - t < 1.0);
    assert_true(left > 0 && left < len);
    t = now_s();
    assert_int_equal(flow__errout_flush(&q, 0.2), left);
    t = now_s() - t;
    assert_true(t >= 0.19 && t < 5);
    flow__errout_fini(&q);
    assert_int_equal(flow__errout_pending(&q), 0);
    close(p[0]);
    close(p[1]);
    free(text);
}

/* Every write a record of its own (SOCK_SEQPACKET keeps them apart): each
 * is whole lines, at most PIPE_BUF bytes, and they make the text again, in
 * order, with a reader that takes a record now and then. */
static void
test_errout_whole_lines_in_order(void **unused)
{
    int sv[2], sz = 1 << 16;
    size_t len, got = 0, records = 0;
    char *text = make_lines(5000, &len);
    char *back = malloc(len + 1);
    flow_errout_t q;

    (void)unused;
    assert_non_null(back);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)),
                     0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    flow__errout_init(&q, sv[0]);
    put_all(&q, text, len);
    while (flow__errout_flush(&q, 0) > 0 || got < len) {
        char rec[2 * PIPE_BUF];
        ssize_t n = recv(sv[1], rec, sizeof(rec), 0);
        if (n < 0 && errno == EAGAIN)
            continue;
        assert_true(n > 0 && n <= PIPE_BUF);
        assert_int_equal(rec[n - 1], '\n');
        assert_true(got + (size_t)n <= len);
        memcpy(back + got, rec, (size_t)n);
        got += (size_t)n;
        records++;
    }
    assert_int_equal(got, len);
    assert_memory_equal(back, text, len);
    assert_true(records >= len / PIPE_BUF); /* several lines a write */
    assert_true(records < 5000);
    flow__errout_fini(&q);
    close(sv[0]);
    close(sv[1]);
    free(back);
    free(text);
}

/* Waiting until all is written: a slow reader in another process gets
 * every byte, in order. */
static void
test_errout_wait_for_slow_reader(void **unused)
{
    int p[2], status;
    size_t len;
    char *text = make_lines(10000, &len);
    flow_errout_t q;
    pid_t pid;
    FILE *f = tmpfile();

    (void)unused;
    assert_non_null(f);
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[8192];
        ssize_t n;
        close(p[1]);
        while ((n = read(p[0], buf, sizeof(buf))) > 0) {
            if (fwrite(buf, 1, (size_t)n, f) != (size_t)n)
                _exit(1);
            usleep(200);
        }
        _exit(fflush(f) ? 1 : 0);
    }
    close(p[0]);
    flow__errout_init(&q, p[1]);
    put_all(&q, text, len);
    assert_int_equal(flow__errout_flush(&q, -1), 0);
    close(p[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    {
        char *back = malloc(len + 1);
        assert_non_null(back);
        rewind(f);
        assert_int_equal(fread(back, 1, len + 1, f), len);
        assert_memory_equal(back, text, len);
        free(back);
    }
    fclose(f);
    flow__errout_fini(&q);
    free(text);
}

/* A reader that went away: what is queued is dropped at once, even when
 * told to wait until all is written, and the queue takes more after. */
static void
test_errout_closed_reader_drops(void **unused)
{
    int p[2];
    flow_errout_t q;
    double t;
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);

    (void)unused;
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    flow__errout_init(&q, p[1]);
    flow__errout_put(&q, "lost\n", 5);
    t = now_s();
    assert_int_equal(flow__errout_flush(&q, -1), 0);
    assert_true(now_s() - t < 1.0);
    flow__errout_put(&q, "lost too\n", 9);
    assert_int_equal(flow__errout_pending(&q), 9);
    assert_int_equal(flow__errout_flush(&q, 0), 0);
    flow__errout_fini(&q);
    close(p[1]);
    signal(SIGPIPE, old);
}

static volatile sig_atomic_t alarmed;

static void
on_alarm(int sig)
{
    (void)sig;
    alarmed = 1;
}

/*
 * Another writer of the same pipe (flowrun ... 2>&1 | less: the instances'
 * standard output, in blocking writes) takes the room that poll had just
 * said was there: a flush told not to wait waited in its write until the
 * reader read again, a launcher that answered no signal and let no
 * timeout expire meanwhile. Here the reader is this test, so a write that
 * waits waits until the alarm (0.2 s) cuts it short. The race is hit now
 * and then: tried up to 40000 times, the reader's read followed by a
 * flush a varied few microseconds later.
 */
static void
test_errout_other_writer_takes_room(void **unused)
{
    struct sigaction sa, old;
    int p[2], fill, status;
    char page[4096], line[100];
    double worst = 0;
    flow_errout_t q;
    pid_t other;

    (void)unused;
    memset(page, 'x', sizeof(page));
    memset(line, 'y', sizeof(line));
    line[sizeof(line) - 1] = '\n';
    assert_int_equal(pipe(p), 0);
    /* Full, through a description of its own (O_NONBLOCK there only). */
    snprintf(line, 32, "/proc/self/fd/%d", p[1]);
    fill = open(line, O_WRONLY | O_NONBLOCK);
    if (fill < 0) {
        close(p[0]);
        close(p[1]);
        skip(); /* no /proc */
    }
    memset(line, 'y', 32);
    while (write(fill, page, sizeof(page)) > 0)
        ;
    close(fill);
    fflush(NULL);
    other = fork();
    assert_true(other >= 0);
    if (other == 0) { /* writes into every room there is, blocking */
        close(p[0]);
        for (;;)
            if (write(p[1], page, sizeof(page)) < 0 && errno != EINTR)
                _exit(0);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART: a write waiting ends */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    flow__errout_init(&q, p[1]);
    for (int i = 0; i < 40000 && worst < 0.1; i++) {
        struct itimerval it = { { 0, 0 }, { 0, 200000 } };
        double t, spin;

        while (flow__errout_pending(&q) < sizeof(page))
            flow__errout_put(&q, line, sizeof(line));
        assert_true(read(p[0], page, sizeof(page)) > 0); /* room */
        spin = now_s() + (double)(i % 400) * 0.25e-6;
        while (now_s() < spin)
            ;
        alarmed = 0;
        assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
        t = now_s();
        flow__errout_flush(&q, 0);
        t = now_s() - t;
        it.it_value.tv_usec = 0;
        setitimer(ITIMER_REAL, &it, NULL);
        if (t > worst)
            worst = t;
    }
    kill(other, SIGKILL);
    assert_int_equal(waitpid(other, &status, 0), other);
    sigaction(SIGALRM, &old, NULL);
    flow__errout_fini(&q);
    close(p[0]);
    close(p[1]);
    if (worst >= 0.1)
        fail_msg("a flush told not to wait took %.3f s (alarm %s)", worst,
                 alarmed ? "fired" : "not fired");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errout_full_pipe_no_wait),
        cmocka_unit_test(test_errout_whole_lines_in_order),
        cmocka_unit_test(test_errout_wait_for_slow_reader),
        cmocka_unit_test(test_errout_closed_reader_drops),
        cmocka_unit_test(test_errout_other_writer_takes_room),
    };
    return cmocka_run_group_tests_name("errout", tests, NULL, NULL);
}
