/* SPDX-License-Identifier: MIT */
/*
 * lines: a source of the lines of a text file, or of standard input: what
 * a Python program's `for line in open(path)` hands to Pool.map.
 *
 * Each line is a word of the output, without its newline ("\r" stays, as
 * it is part of the line); a last line without a newline is a line too,
 * and an empty file makes no line. Lines go out in messages of `chunk`
 * lines (by default the link's batch size), a message ending early where
 * it would pass 1 MiB of text (unless it holds a single line); message k
 * has the sequence number k, so `collect order=input` puts results back in
 * the file's order.
 *
 * A line longer than `max_line` bytes (its newline not counted; 1 GiB by
 * default, at most what a message holds, about 4 GiB) fails the node,
 * naming the line, as soon as that many bytes of it are read: an input
 * with no newline (yes | tr -d '\n') took memory until the system had
 * none left, doubling the buffer as it came.
 *
 * One instance reads the file (max_instances 1): the work on the lines is
 * what runs in parallel, downstream. A line with a NUL byte is not text:
 * the node fails naming the line.
 *
 * From a pipe, a terminal or a socket (tail -f | flowrun ...), where the
 * next line may be long in coming, a line waits at most `wait_ms` for its
 * chunk to fill: the chunk then goes out as it is. A regular file's chunks
 * are always full (but the last).
 *
 * A stop (Ctrl-C, or a collect's limit reached) reaches the node as a
 * signal. A pipe or a terminal is waited for with flow_node_wait_fd, which
 * a stop ends, one that came just before the wait too (a blocking read
 * missed it, and the run's hard stop cut its output 5 s later); the signal
 * may also interrupt the open of a FIFO that has no writer yet: the node
 * then asks flow_node_stopping and ends, or opens on. The lines read before a
 * stop still go out (from finish()): they left the pipe, and no one else can
 * read them. That is also so when the stop interrupts a send (a source's send
 * then returns at once, its message destroyed): the text of the message being
 * filled or sent stays in the read buffer until the message is sent, and
 * finish() sends it again, with the whole lines read after it.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flow/node.h"

/* A message ends before it would hold more text than this. */
#define LINES_MSG_BYTES ((size_t)1 << 20)
/* Bytes read at a time, at least. */
#define LINES_READ ((size_t)1 << 16)
/* next_line: the chunk's time is up (or nothing came within it). */
#define LINES_WAITED 2

struct lines {
    char *path;
    int64_t chunk;
    int64_t wait_ms;
    int64_t max_line;
    int fd;       /* -1 until open */
    bool own;     /* fd was opened here (not standard input) */
    bool regular; /* a regular file: its reads never wait */
    bool waits;   /* a read waits: wait for input with flow_node_wait_fd */
    bool eof;     /* read() said so: what is in buf is all */
    char *buf;    /* the bytes read and not yet taken: buf[start, end) */
    size_t cap, start, end;
    size_t scanned; /* of them, the first ones known to hold no newline */
    /* Where the text of the message being filled or sent begins in buf,
     * kept there until the message is sent; LINES_NONE: no message. */
    size_t keep;
    flow_msg_t *msg;  /* the message being filled, or NULL */
    size_t per;       /* lines per message */
    size_t bytes;     /* of text in msg, newlines counted */
    uint64_t seq;     /* the sequence number of msg */
    uint64_t lineno;  /* lines taken */
    uint64_t kept_at; /* lines taken before the first of msg's */
    int64_t deadline; /* when msg's first line waited enough */
    /* A stop ended run(): the lines of buf from `keep` (or `start`) on go
     * out from finish(), as run()'s sends now return at once. */
    bool stopped;
};

/* lines.keep when no message is being filled or sent. */
#define LINES_NONE SIZE_MAX

static const flow_param_t lines_params[] = {
    FLOW_PARAM_STRING("path", struct lines, path, "-",
                      "file to read; '-' reads standard input"),
    FLOW_PARAM_INT("chunk", struct lines, chunk, "0", 0, INT64_C(1000000000),
                   "lines per message; 0 uses the batch size of 'out'"),
    FLOW_PARAM_INT("wait_ms", struct lines, wait_ms, "50", 0, INT64_C(86400000),
                   "from a pipe or a terminal: longest a line read waits for "
                   "its chunk to fill before the chunk goes out as it is; 0 "
                   "waits for full chunks"),
    FLOW_PARAM_INT("max_line", struct lines, max_line, "1073741824", 1,
                   INT64_C(4294967294),
                   "longest line taken, in bytes without its newline: a "
                   "longer one fails the node, naming it, once that much of "
                   "it is read"),
    FLOW_PARAM_END
};

static const flow_port_t lines_ports[] = {
    FLOW_PORT_OUT("out", FLOW_WORDS,
                  "the lines without their newlines, in chunks of 'chunk' "
                  "lines numbered 0, 1, 2, ..."),
    FLOW_PORT_END
};

/* Before the run (flowrun --check too): a path, one reader of standard
 * input, and no node writing the file in place. */
static int
lines_check(const flow_check_t *c, const void *state, char *why, size_t whylen)
{
    const struct lines *s = state;

    static const char *const names[] = { "-", "/dev/stdin", "/dev/fd/0",
                                         "/proc/self/fd/0" };

    if (s->path[0] == '\0') {
        snprintf(why, whylen,
                 "empty path in 'path' (give a file, or - for standard "
                 "input)");
        return FLOW_EPARAM;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s->path, names[i]))
            return flow_check_stdin(c, "path", why, whylen);
    return flow_check_input_file(c, "path", s->path, why, whylen);
}

static int
lines_init(flow_node_t *node, void *state)
{
    struct lines *s = state;

    s->fd = -1;
    s->keep = LINES_NONE;
    if (!strcmp(s->path, "-")) {
        s->fd = STDIN_FILENO;
        return 0;
    }
    s->own = true;
    s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
    /* A FIFO's open waits for a writer: a stop (or another signal) that
     * interrupts it leaves the open to run(), where a stop ends the node
     * as a stop, not as a failure. */
    if (s->fd < 0 && errno != EINTR)
        return flow_node_fail(node, "cannot open '%s': %s", s->path,
                              strerror(errno));
    return 0;
}

/* Open the file whose open a signal interrupted in init(): return 0, the
 * code of a stop, or the failure. */
static int
open_input(flow_node_t *node, struct lines *s)
{
    struct stat st;
    int rc;

    while (s->fd < 0) {
        if ((rc = flow_node_stopping(node)))
            return rc;
        s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0 && errno != EINTR)
            return flow_node_fail(node, "cannot open '%s': %s", s->path,
                                  strerror(errno));
    }
    s->regular = fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode);
    /* Not a terminal of which the instance is not in the foreground group
     * (as flowrun's instances are not): its read fails (EIO), which says
     * why, where a wait would wait for a key. */
    s->waits = !s->regular && (!isatty(s->fd) || tcgetpgrp(s->fd) == getpgrp());
    return 0;
}

/* CLOCK_MONOTONIC in milliseconds. */
static int64_t
now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Send `*msg_p` (sequence number `seq`) on "out", explaining a failure
 * unless the run is stopping. */
static int
send_out(flow_node_t *node, flow_msg_t **msg_p, uint64_t seq)
{
    int rc;

    flow_msg_set_seq(*msg_p, seq);
    rc = flow_node_send(node, "out", msg_p);
    if (rc == 0 || rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(node, "cannot send on 'out': %s", flow_strerror(rc));
}

/* Fail the node: line `lineno` is longer than max_line. */
static int
too_long(flow_node_t *node, const struct lines *s, const char *name,
         uint64_t lineno)
{
    return flow_node_fail(node,
                          "line %llu of %s%s%s is longer than max_line (%lld "
                          "bytes): raise max_line, or give text with newlines",
                          (unsigned long long)lineno, s->own ? "'" : "", name,
                          s->own ? "'" : "", (long long)s->max_line);
}

/*
 * Take the next line of the input: `*line` (borrowed: valid until the next
 * call) and its length, newline included if any, in `*len`. Returns 1 for
 * a line, 0 at the end of the input, FLOW_EINTR when the run stops, or a
 * failure. With `deadline` (CLOCK_MONOTONIC ms; 0: none), a read that
 * would wait returns LINES_WAITED instead once the deadline has passed.
 * A read a signal interrupts goes on, unless the run stops: the bytes read
 * stay in the buffer.
 */
static int
next_line(flow_node_t *node, struct lines *s, const char *name,
          int64_t deadline, char **line, size_t *len)
{
    for (;;) {
        char *at = s->buf + s->start;
        size_t avail = s->end - s->start;
        /* Only what came since the last look: a long line that comes in
         * reads of a pipe's size was scanned again from its start at each
         * (a line of 32 MiB through a pipe of 4 KiB: 17 s). */
        char *nl = avail > s->scanned
                       ? memchr(at + s->scanned, '\n', avail - s->scanned)
                       : NULL;
        ssize_t n;
        int rc;

        s->scanned = avail;
        if (!nl && avail > (uint64_t)s->max_line)
            return too_long(node, s, name, s->lineno + 1);
        if (nl || (s->eof && avail)) {
            *line = at;
            *len = nl ? (size_t)(nl - at) + 1 : avail;
            s->start += *len;
            s->scanned = 0;
            return 1;
        }
        if (s->eof)
            return 0;
        if (s->waits) {
            /* A read that would wait: for input, until the deadline, or
             * for a stop, which a blocking read would miss if it came just
             * before. */
            int64_t left = deadline ? deadline - now_ms() : -1;
            int r =
                deadline && left <= 0
                    ? 0
                    : flow_node_wait_fd(node, s->fd, POLLIN,
                                        left > INT_MAX ? INT_MAX : (int)left);
            if (r == 0)
                return LINES_WAITED;
            if (r == FLOW_EINTR)
                return r;
            /* Ready, or poll failed (the read says why). */
        }
        /* Room for a read: keep the line begun, and the text of a
         * message not sent yet, moved to the start of buf when short of
         * room (not at every read: that text may be a MiB). */
        size_t from = s->keep < s->start ? s->keep : s->start;
        if (from && s->cap - s->end < LINES_READ) {
            memmove(s->buf, s->buf + from, s->end - from);
            s->start -= from;
            s->end -= from;
            if (s->keep != LINES_NONE)
                s->keep -= from;
        }
        if (s->cap - s->end < LINES_READ) {
            size_t want = s->cap ? 2 * s->cap : 4 * LINES_READ;
            char *grown = realloc(s->buf, want);
            if (!grown)
                return flow_node_fail(node,
                                      "out of memory for a line of "
                                      "%zu bytes",
                                      avail);
            s->buf = grown;
            s->cap = want;
        }
        n = read(s->fd, s->buf + s->end, s->cap - s->end);
        if (n > 0) {
            s->end += (size_t)n;
            continue;
        }
        if (n == 0) {
            s->eof = true;
            continue;
        }
        if (errno == EINTR) { /* a signal: a stop, or another's */
            if ((rc = flow_node_stopping(node)))
                return rc;
            continue;
        }
        int err = errno; /* isatty sets it (ENOTTY) for a file */
        if (err == EIO && isatty(s->fd) && tcgetpgrp(s->fd) != getpgrp())
            return flow_node_fail(
                node,
                "cannot read %s%s%s: it is a terminal, and a run's "
                "processes are not in its foreground group (flowrun alone "
                "is, for Ctrl-C and Ctrl-Z): give a file, or pipe the input "
                "in (cat | flowrun ...)",
                s->own ? "'" : "", name, s->own ? "'" : "");
        return flow_node_fail(node, "cannot read %s%s%s: %s", s->own ? "'" : "",
                              name, s->own ? "'" : "", strerror(err));
    }
}

/* Send the message being filled as number `s->seq`. Its text leaves the
 * buffer only once it is sent: a stop that interrupts the send (which
 * destroys the message) leaves its lines to finish(). */
static int
send_msg(flow_node_t *node, struct lines *s)
{
    int rc = send_out(node, &s->msg, s->seq);

    if (rc == 0) {
        s->seq++;
        s->keep = LINES_NONE;
    } else if (rc == FLOW_EINTR) {
        s->stopped = true;
    }
    return rc;
}

/* Put the line at `line` (`len` bytes, its newline included if any; in
 * buf) in the message being filled, sending it when full. */
static int
take_line(flow_node_t *node, struct lines *s, const char *name, char *line,
          size_t len)
{
    int rc;

    s->lineno++;
    if (len && line[len - 1] == '\n')
        len--;
    if (len > (uint64_t)s->max_line)
        return too_long(node, s, name, s->lineno);
    if (memchr(line, '\0', len))
        return flow_node_fail(node,
                              "line %llu of %s%s%s holds a NUL byte: not "
                              "text",
                              (unsigned long long)s->lineno, s->own ? "'" : "",
                              name, s->own ? "'" : "");
    /* The message so far goes first where this line would take it past
     * the bytes a message should hold. */
    if (s->msg && s->bytes + len + 1 > LINES_MSG_BYTES &&
        (rc = send_msg(node, s)))
        return rc;
    if (!s->msg) {
        s->msg = flow_msg_new(FLOW_WORDS, s->per < 4096 ? s->per : 4096);
        s->keep = (size_t)(line - s->buf);
        s->kept_at = s->lineno - 1;
        s->bytes = 0;
        if (s->wait_ms > 0)
            s->deadline = now_ms() + s->wait_ms;
    }
    if ((rc = flow_msg_add_word(s->msg, line, len)))
        return flow_node_fail(node, "line %llu of %s%s%s: %s",
                              (unsigned long long)s->lineno, s->own ? "'" : "",
                              name, s->own ? "'" : "", flow_strerror(rc));
    s->bytes += len + 1;
    if (flow_msg_count(s->msg) == s->per)
        return send_msg(node, s);
    return 0;
}

static int
lines_run(flow_node_t *node, void *state)
{
    struct lines *s = state;
    const char *name = s->own ? s->path : "standard input";
    size_t len = 0;
    char *line = NULL;
    int rc = 0;

    s->per = s->chunk > 0 ? (size_t)s->chunk : flow_node_batch(node, "out");
    if (s->per == 0)
        return flow_node_fail(node, "no batch size on port 'out'");
    if ((rc = open_input(node, s)))
        return rc;
    for (;;) {
        rc = next_line(node, s, name, s->msg ? s->deadline : 0, &line, &len);
        if (rc == LINES_WAITED) { /* the chunk goes out as it is */
            if ((rc = send_msg(node, s)))
                break;
            continue;
        }
        if (rc <= 0) {
            if (rc == FLOW_EINTR) /* a stop: what was read goes on */
                s->stopped = true;
            break;
        }
        if ((rc = take_line(node, s, name, line, len)))
            break;
    }
    if (!rc && s->msg)
        rc = send_msg(node, s);
    flow_msg_destroy(&s->msg);
    return rc;
}

/* After a stop: send the lines read before it that did not go out (those
 * of a message whose send it interrupted, and the whole lines read after
 * them). */
static int
lines_finish(flow_node_t *node, void *state)
{
    struct lines *s = state;
    const char *name = s->own ? s->path : "standard input";
    size_t at;
    int rc = 0;

    if (!s->stopped)
        return 0;
    at = s->keep != LINES_NONE ? s->keep : s->start;
    if (s->keep != LINES_NONE) /* its lines are taken anew */
        s->lineno = s->kept_at;
    s->keep = LINES_NONE;
    flow_msg_destroy(&s->msg);
    while (!rc && at < s->end) {
        char *line = s->buf + at;
        char *nl = memchr(line, '\n', s->end - at);
        size_t len = nl ? (size_t)(nl - line) + 1 : s->end - at;
        if (!nl && !s->eof) {
            /* A line not read whole: sent cut short, it would pass for a
             * record it is not (an int from its first digits). Said of a
             * pipe, a terminal, a socket, which no one can read it from
             * again; a regular file still holds it, as it holds the lines
             * after it, which the stop leaves unread too. */
            if (s->regular)
                break;
            flow_node_log(node, FLOW_LOG_WARN,
                          "stopped in the middle of line %llu of %s%s%s: "
                          "its first %zu bytes, read before the stop, are "
                          "not sent (a line goes out only whole)",
                          (unsigned long long)s->lineno + 1, s->own ? "'" : "",
                          name, s->own ? "'" : "", len);
            break;
        }
        at += len;
        rc = take_line(node, s, name, line, len);
    }
    if (!rc && s->msg)
        rc = send_msg(node, s);
    return rc;
}

static void
lines_fini(flow_node_t *node, void *state)
{
    struct lines *s = state;

    (void)node;
    flow_msg_destroy(&s->msg);
    if (s->own && s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->buf);
    s->buf = NULL;
}

FLOW_NODE(lines) = {
    FLOW_NODE_V1,
    .name = "lines",
    .summary = "Read the lines of a text file or of standard input",
    .state_size = sizeof(struct lines),
    .params = lines_params,
    .ports = lines_ports,
    .max_instances = 1,
    .check = lines_check,
    .init = lines_init,
    .run = lines_run,
    .finish = lines_finish,
    .fini = lines_fini,
};
