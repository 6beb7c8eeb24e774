/* SPDX-License-Identifier: MIT */
/*
 * errout.c: the launcher's standard error as a queue written when it has
 * room (see errout.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errout.h"
#include "internal.h"

void
flow__errout_init(flow_errout_t *q, int fd)
{
    memset(q, 0, sizeof(*q));
    q->fd = fd;
    q->wfd = -2;
}

void
flow__errout_fini(flow_errout_t *q)
{
    free(q->buf);
    if (q->wfd >= 0)
        close(q->wfd);
    flow__errout_init(q, q->fd);
}

/*
 * What to write to. POLLOUT says a pipe has room, but another writer of
 * the same pipe (flowrun ... 2>&1 | less: the instances' standard output)
 * may take it first, and a blocking write then waits for the reader; a
 * terminal says POLLOUT with less room than a write may need. So a pipe or
 * a terminal is written through a descriptor of its own, opened anew
 * non-blocking (O_NONBLOCK on `fd` itself would be the shell's and the
 * instances' too), opened while something is queued (after the launcher
 * has forked its instances), closed once all is written; `fd` where it
 * cannot be (no /proc, no reader).
 */
static int
write_fd(flow_errout_t *q)
{
    struct stat st;
    char path[64];

    if (q->wfd != -2)
        return q->wfd >= 0 ? q->wfd : q->fd;
    q->wfd = -1;
    if (fstat(q->fd, &st) == 0 &&
        (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(q->fd)))) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", q->fd);
        q->wfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    }
    return q->wfd >= 0 ? q->wfd : q->fd;
}

/* The bytes of the next write: at most PIPE_BUF, up to the last newline
 * in them when there is one. */
static size_t
next_piece(const flow_errout_t *q)
{
    size_t n = flow__errout_pending(q);
    const char *at = q->buf + q->off;

    if (n > PIPE_BUF) {
        n = PIPE_BUF;
        for (size_t i = n; i > 0; i--)
            if (at[i - 1] == '\n')
                return i;
    }
    return n;
}

size_t
flow__errout_flush(flow_errout_t *q, double wait_s)
{
    double until = wait_s > 0 ? flow__now_s() + wait_s : 0;

    while (flow__errout_pending(q) > 0) {
        struct pollfd out = { q->fd, POLLOUT, 0 };
        int ms = -1;
        ssize_t n;

        if (wait_s == 0) {
            ms = 0;
        } else if (wait_s > 0) {
            double left = until - flow__now_s();
            if (left <= 0)
                break;
            ms = left >= INT_MAX / 1000 ? INT_MAX : (int)ceil(left * 1000);
        }
        n = poll(&out, 1, ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            break; /* no room yet */
        if (n < 0 || (out.revents & POLLNVAL)) {
            q->off = q->len; /* no standard error to write to */
            q->dropped = n < 0 && errno > 0 ? errno : EBADF;
            break;
        }
        /* Room (or an error, which the write says): a pipe with room
         * takes up to PIPE_BUF bytes without waiting. */
        n = write(write_fd(q), q->buf + q->off, next_piece(q));
        if (n < 0 &&
            (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue; /* another writer took the room: poll again */
        if (n <= 0) {
            q->off = q->len; /* lost, as a blocking write's bytes */
            q->dropped = n < 0 && errno > 0 ? errno : EIO;
            break;
        }
        q->off += (size_t)n;
    }
    if (q->off == q->len) {
        q->off = q->len = 0;
        if (q->wfd >= 0) { /* the pipe not held open while all is said */
            close(q->wfd);
            q->wfd = -2;
        }
    }
    return flow__errout_pending(q);
}

void
flow__errout_put(flow_errout_t *q, const char *buf, size_t len)
{
    if (len == 0)
        return;
    if (q->off > 0 && q->len + len > q->cap) { /* room at the front */
        memmove(q->buf, q->buf + q->off, q->len - q->off);
        q->len -= q->off;
        q->off = 0;
    }
    flow__xgrow((void **)&q->buf, &q->cap, q->len + len, 1);
    memcpy(q->buf + q->len, buf, len);
    q->len += len;
}
