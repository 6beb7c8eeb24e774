/* SPDX-License-Identifier: MIT */
/*
 * zmq_raw: the reference points of tools/bench/push.sh (not a test).
 *
 *   zmq_raw send MSGS SIZE [HWM [CPU CPU]]
 *                                  raw libzmq PUSH/PULL, zmq_send of a buffer
 *                                  refilled with the next items each time
 *   zmq_raw zc MSGS SIZE [HWM [CPU CPU]]
 *                                  the same with zmq_msg_init_data: a fresh
 *                                  malloc'ed frame per message, freed by
 *                                  libzmq, as flow sends
 *   zmq_raw loop MSGS BATCH        one process fills BATCH int64 items per
 *                                  message and sums them: no transport at all
 *
 * The PUSH/PULL modes fork. The child makes its own context after the fork,
 * binds PULL on ipc:// in a private temporary directory and reports through
 * a pipe; the parent connects PUSH. One warm-up frame is received before the
 * clock starts, so connecting is not timed. The time runs from the first
 * send of the parent to the last receive of the child (CLOCK_MONOTONIC is
 * the same clock in both processes). In zc mode the parent also fills the
 * int64 items of each frame, as range does; in send mode it refills one
 * buffer with the next items (the same work as range's), which libzmq
 * copies. With two CPU numbers the sender runs on the first only and the
 * receiver on the second (each process with its libzmq threads), as a
 * graph's nodes do with the node key `pin`.
 *
 * Output, one line: "MODE msgs=M bytes=S seconds=T msgs_per_s=R".
 * Exit status 0 if every message arrived with the right size.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* Size of flow's frame header (FLOW_WIRE_HDR). */
#define HDR 24

struct report {
    uint64_t msgs; /* messages received with the right size */
    uint64_t bad;  /* messages of the wrong size */
    double t_last; /* CLOCK_MONOTONIC at the last receive */
};

static void
die(const char *what)
{
    fprintf(stderr, "zmq_raw: %s: %s\n", what,
            errno ? strerror(errno) : "failed");
    exit(1);
}

static void
zdie(const char *what)
{
    fprintf(stderr, "zmq_raw: %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
full_write(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write to pipe");
        p += n;
        len -= (size_t)n;
    }
}

static void
full_read(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("read from pipe");
        p += n;
        len -= (size_t)n;
    }
}

/* Run this process on CPU `cpu` only (-1: leave it). Before the context,
 * so that libzmq's threads follow. */
static void
pin_to(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        die("sched_setaffinity");
}

static void *
make_socket(void *ctx, int type, int hwm)
{
    void *s = zmq_socket(ctx, type);

    if (!s)
        zdie("zmq_socket");
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    return s;
}

/* The child: bind, say ready, take the warm-up frame, count the rest. */
static void
receiver(const char *ep, uint64_t msgs, size_t size, int hwm, int wfd)
{
    void *ctx = zmq_ctx_new();
    void *pull = make_socket(ctx, ZMQ_PULL, hwm);
    struct report r = { 0, 0, 0 };
    zmq_msg_t zm;
    char c = 'r';

    if (zmq_bind(pull, ep))
        zdie("zmq_bind");
    full_write(wfd, &c, 1);
    zmq_msg_init(&zm);
    if (zmq_msg_recv(&zm, pull, 0) < 0)
        zdie("zmq_msg_recv");
    full_write(wfd, &c, 1);
    for (uint64_t i = 0; i < msgs; i++) {
        if (zmq_msg_recv(&zm, pull, 0) < 0) {
            if (zmq_errno() == EINTR) {
                i--;
                continue;
            }
            zdie("zmq_msg_recv");
        }
        if (zmq_msg_size(&zm) == size)
            r.msgs++;
        else
            r.bad++;
    }
    r.t_last = now();
    zmq_msg_close(&zm);
    full_write(wfd, &r, sizeof(r));
    zmq_close(pull);
    zmq_ctx_term(ctx);
    _exit(0);
}

static void
free_frame(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Fill the int64 items of a frame after its header, as range does. */
static void
fill(unsigned char *frame, size_t size, int64_t first)
{
    size_t n = (size - HDR) / sizeof(int64_t);
    int64_t *v = (int64_t *)(void *)(frame + HDR);

    memset(frame, 0, HDR);
    for (size_t j = 0; j < n; j++)
        v[j] = first + (int64_t)j;
}

static int
run_pushpull(int zero_copy, uint64_t msgs, size_t size, int hwm,
             const int cpu[2])
{
    char dir[] = "/tmp/zmq_raw.XXXXXX";
    char ep[128], sockpath[96];
    int fds[2], status;
    struct report r;
    pid_t pid;
    char c;

    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(sockpath, sizeof(sockpath), "%s/s", dir);
    snprintf(ep, sizeof(ep), "ipc://%s", sockpath);
    if (pipe(fds))
        die("pipe");
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(fds[0]);
        pin_to(cpu[1]);
        receiver(ep, msgs, size, hwm, fds[1]);
    }
    close(fds[1]);
    full_read(fds[0], &c, 1); /* bound */

    pin_to(cpu[0]);
    void *ctx = zmq_ctx_new();
    void *push = make_socket(ctx, ZMQ_PUSH, hwm);
    unsigned char *buf = malloc(size);
    if (!buf)
        die("malloc");
    fill(buf, size, 0);
    if (zmq_connect(push, ep))
        zdie("zmq_connect");
    if (zmq_send(push, buf, size, 0) < 0)
        zdie("zmq_send");
    full_read(fds[0], &c, 1); /* warm-up frame arrived */

    double t0 = now();
    uint64_t items = (size - HDR) / sizeof(int64_t);
    for (uint64_t i = 0; i < msgs; i++) {
        int rc;
        if (zero_copy) {
            zmq_msg_t zm;
            unsigned char *f = malloc(size);
            if (!f)
                die("malloc");
            fill(f, size, (int64_t)(i * items));
            if (zmq_msg_init_data(&zm, f, size, free_frame, NULL))
                zdie("zmq_msg_init_data");
            while ((rc = zmq_msg_send(&zm, push, 0)) < 0 &&
                   zmq_errno() == EINTR)
                ;
        } else {
            int64_t *v = (int64_t *)(void *)(buf + HDR);
            for (uint64_t j = 0; j < items; j++)
                v[j] = (int64_t)(i * items + j);
            while ((rc = zmq_send(push, buf, size, 0)) < 0 &&
                   zmq_errno() == EINTR)
                ;
        }
        if (rc < 0)
            zdie("zmq_send");
    }
    full_read(fds[0], &r, sizeof(r));
    double secs = r.t_last - t0;

    zmq_close(push);
    zmq_ctx_term(ctx);
    free(buf);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    unlink(sockpath);
    rmdir(dir);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "zmq_raw: receiver failed\n");
        return 1;
    }
    if (r.msgs != msgs || r.bad) {
        fprintf(stderr,
                "zmq_raw: %" PRIu64 " of %" PRIu64 " messages arrived, %" PRIu64
                " of the wrong size\n",
                r.msgs, msgs, r.bad);
        return 1;
    }
    printf("%s msgs=%" PRIu64 " bytes=%zu seconds=%.6f msgs_per_s=%.0f\n",
           zero_copy ? "zc" : "send", msgs, size, secs, (double)msgs / secs);
    return 0;
}

/* One process: fill each batch as range does, sum it as a consumer would. */
static int
run_loop(uint64_t msgs, size_t batch)
{
    int64_t *v = malloc(batch * sizeof(*v));
    int64_t sum = 0;
    uint64_t first = 0;

    if (!v)
        die("malloc");
    double t0 = now();
    for (uint64_t i = 0; i < msgs; i++) {
        for (size_t j = 0; j < batch; j++)
            v[j] = (int64_t)(first + j);
        /* Keep the compiler from fusing the fill and the sum away. */
        __asm__ volatile("" : : "r"(v) : "memory");
        for (size_t j = 0; j < batch; j++)
            sum += v[j];
        first += batch;
    }
    double secs = now() - t0;
    int64_t n = (int64_t)first;
    int ok = sum == (n - 1) * n / 2 || n == 0;

    free(v);
    printf("loop msgs=%" PRIu64 " bytes=%zu seconds=%.6f msgs_per_s=%.0f "
           "sum=%s\n",
           msgs, HDR + batch * sizeof(int64_t), secs, (double)msgs / secs,
           ok ? "ok" : "wrong");
    return ok ? 0 : 1;
}

static uint64_t
number(const char *s, const char *what)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(s, &end);
    if (errno || *end || d < 1 || d > 1e15) {
        fprintf(stderr, "zmq_raw: bad %s '%s'\n", what, s);
        exit(2);
    }
    return (uint64_t)d;
}

int
main(int argc, char **argv)
{
    if (argc < 4 || argc > 7 || argc == 6) {
        fprintf(stderr, "usage: zmq_raw send|zc MSGS SIZE [HWM [CPU CPU]]\n"
                        "       zmq_raw loop MSGS BATCH\n");
        return 2;
    }
    uint64_t msgs = number(argv[2], "message count");
    uint64_t n = number(argv[3], "size");
    int hwm = argc >= 5 ? (int)number(argv[4], "hwm") : 64;
    int cpu[2] = { -1, -1 };
    for (int k = 0; k < 2 && argc == 7; k++) {
        char *end;
        long c = strtol(argv[5 + k], &end, 10);
        if (*end || end == argv[5 + k] || c < 0 || c >= CPU_SETSIZE) {
            fprintf(stderr, "zmq_raw: bad CPU '%s'\n", argv[5 + k]);
            return 2;
        }
        cpu[k] = (int)c;
    }

    if (!strcmp(argv[1], "loop")) {
        if (argc != 4) {
            fprintf(stderr, "usage: zmq_raw loop MSGS BATCH\n");
            return 2;
        }
        return run_loop(msgs, (size_t)n);
    }
    if (n < HDR) {
        fprintf(stderr, "zmq_raw: size below the %d-byte header\n", HDR);
        return 2;
    }
    if (!strcmp(argv[1], "send"))
        return run_pushpull(0, msgs, (size_t)n, hwm, cpu);
    if (!strcmp(argv[1], "zc"))
        return run_pushpull(1, msgs, (size_t)n, hwm, cpu);
    fprintf(stderr, "zmq_raw: unknown mode '%s'\n", argv[1]);
    return 2;
}
