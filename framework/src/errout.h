/* SPDX-License-Identifier: MIT */
/*
 * errout.h: the launcher's standard error, written without ever waiting
 * for it while the run goes on.
 *
 * Whoever reads flowrun's standard error (a terminal, a pipe, a file) may
 * stop reading: a pager at its first screen, a script that reads stdout to
 * the end first, a terminal paused with Ctrl-S. A launcher that waits in
 * write(2) then no longer reaps its instances, answers no signal and lets
 * no --timeout expire. So what the launcher has to say (its own lines and
 * the relayed lines of the instances) goes into a queue, written when
 * standard error has room (poll(2) says so); the queue is bounded in the
 * sense that the launcher stops reading the instances' stderr pipes while
 * it holds FLOW__ERROUT_FULL bytes or more: the instances then wait in
 * their own writes, as they would with a blocking stderr of their own,
 * while the launcher goes on supervising them. Nothing is dropped, but on
 * a write error (a closed pipe, a full disk: what is queued then is lost,
 * as a blocking write's bytes would be).
 *
 * Lines stay whole: each write is at most PIPE_BUF bytes and ends at a
 * newline where the queue has one, so that a pipe (atomic below PIPE_BUF)
 * shared with other writers (flowrun ... 2>&1 | ...) never cuts a line.
 */
#ifndef FLOW_ERROUT_H
#define FLOW_ERROUT_H

#include <stdbool.h>
#include <stddef.h>

/* Queued bytes from which the launcher stops reading its instances. */
#define FLOW__ERROUT_FULL (1024 * 1024)

typedef struct flow_errout {
    int fd;     /* where it goes: STDERR_FILENO but in tests */
    int wfd;    /* fd's pipe or terminal opened anew, non-blocking, to
                 * write to while something is queued; -1: none (fd
                 * then), -2: not opened */
    char *buf;  /* owned, NULL while nothing was ever queued */
    size_t off; /* the first byte not written yet */
    size_t len; /* the end of what is queued */
    size_t cap;
    int dropped; /* the errno of the last write error, which dropped
                  * what was queued; 0: none */
} flow_errout_t;

/* An empty queue for `fd`. */
void flow__errout_init(flow_errout_t *q, int fd);

/* Queue `len` bytes of `buf` (copied); flow__errout_flush writes them. */
void flow__errout_put(flow_errout_t *q, const char *buf, size_t len);

/* Write what is queued: without waiting (wait_s 0), waiting at most
 * `wait_s` seconds, or until all is written (wait_s < 0). Returns the
 * bytes still queued. A write error drops what is queued. */
size_t flow__errout_flush(flow_errout_t *q, double wait_s);

/* The bytes queued, not written yet. */
static inline size_t
flow__errout_pending(const flow_errout_t *q)
{
    return q->len - q->off;
}

/* Free the queue (what is still queued is dropped: flush first) and make
 * it empty again, `dropped` 0. */
void flow__errout_fini(flow_errout_t *q);

#endif /* FLOW_ERROUT_H */
