/* SPDX-License-Identifier: MIT */
/*
 * lines: a source of the lines of a text file, or of standard input: what
 * a Python program's `for line in open(path)` hands to Pool.map.
 *
 * Each line is a word of the output, without its newline ("\r" stays, as
 * it is part of the line); a last line without a newline is a line too,
 * and an empty file makes no line. Lines go out in messages of `chunk`
 * lines (by default the link's batch size), a message ending early where
 * it would pass 1 MiB of text (unless it holds a single line: a line may
 * be as long as a message holds, about 4 GiB); message k has the sequence
 * number k, so `collect order=input` puts results back in the file's
 * order.
 *
 * One instance reads the file (max_instances 1): the work on the lines is
 * what runs in parallel, downstream. A line with a NUL byte is not text:
 * the node fails naming the line.
 *
 * A stop (Ctrl-C, or a collect's limit reached) reaches the node as a
 * signal, which may interrupt a read of a pipe or a terminal, or the open
 * of a FIFO that has no writer yet: the node then asks flow_node_stopping
 * and ends, or reads (or opens) on. The lines read before a stop that
 * interrupted a read still go out (from finish()): they left the pipe, and
 * no one else can read them.
 */
#define _POSIX_C_SOURCE 200809L /* getline */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/node.h"

/* A message ends before it would hold more text than this. */
#define LINES_MSG_BYTES ((size_t)1 << 20)

struct lines {
    char *path;
    int64_t chunk;
    FILE *in;
    bool own; /* in was opened here (not standard input) */
    /* The lines read when a stop interrupted a read, and their sequence
     * number: finish() sends them, as run()'s sends now return at once. */
    flow_msg_t *pending;
    uint64_t pending_seq;
};

static const flow_param_t lines_params[] = {
    FLOW_PARAM_STRING("path", struct lines, path, "-",
                      "file to read; '-' reads standard input"),
    FLOW_PARAM_INT("chunk", struct lines, chunk, "0", 0, INT64_C(1000000000),
                   "lines per message; 0 uses the batch size of 'out'"),
    FLOW_PARAM_END
};

static const flow_port_t lines_ports[] = {
    FLOW_PORT_OUT("out", FLOW_WORDS,
                  "the lines without their newlines, in chunks of 'chunk' "
                  "lines numbered 0, 1, 2, ..."),
    FLOW_PORT_END
};

/* Before the run (flowrun --check too): one reader of standard input. */
static int
lines_check(const flow_check_t *c, const void *state, char *why, size_t whylen)
{
    const struct lines *s = state;

    static const char *const names[] = { "-", "/dev/stdin", "/dev/fd/0",
                                         "/proc/self/fd/0" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s->path, names[i]))
            return flow_check_stdin(c, "path", why, whylen);
    return 0;
}

static int
lines_init(flow_node_t *node, void *state)
{
    struct lines *s = state;

    if (!strcmp(s->path, "-")) {
        s->in = stdin;
        return 0;
    }
    s->own = true;
    s->in = fopen(s->path, "re");
    /* A FIFO's open waits for a writer: a stop (or another signal) that
     * interrupts it leaves the open to run(), where a stop ends the node
     * as a stop, not as a failure. */
    if (!s->in && errno != EINTR)
        return flow_node_fail(node, "cannot open '%s': %s", s->path,
                              strerror(errno));
    return 0;
}

/* Open the file whose open a signal interrupted in init(): return 0, the
 * code of a stop, or the failure. */
static int
open_input(flow_node_t *node, struct lines *s)
{
    int rc;

    while (!s->in) {
        if ((rc = flow_node_stopping(node)))
            return rc;
        s->in = fopen(s->path, "re");
        if (!s->in && errno != EINTR)
            return flow_node_fail(node, "cannot open '%s': %s", s->path,
                                  strerror(errno));
    }
    return 0;
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

/*
 * Read the next line of `s->in` into `*line` (`*cap` bytes), its length
 * (newline included, if any) into `*len`: 1 for a line, 0 at the end of the
 * input, FLOW_EINTR when the run stops, or a failure. A read a signal
 * interrupts mid-line leaves getline with the part read and the stream's
 * error set: what comes next is the same line, unless the run stops.
 */
static int
next_line(flow_node_t *node, struct lines *s, const char *name, char **line,
          size_t *cap, size_t *len)
{
    char *more = NULL;
    size_t mcap = 0, have = 0;
    int rc;

    for (;;) {
        ssize_t n;
        int e;
        errno = 0;
        n = getline(have ? &more : line, have ? &mcap : cap, s->in);
        e = errno;
        if (n > 0 && have) { /* the rest of an interrupted line */
            if (have + (size_t)n + 1 > *cap) {
                char *grown = realloc(*line, have + (size_t)n + 1);
                if (!grown) {
                    rc = flow_node_fail(node, "out of memory");
                    break;
                }
                *line = grown;
                *cap = have + (size_t)n + 1;
            }
            memcpy(*line + have, more, (size_t)n + 1);
        }
        if (n > 0)
            have += (size_t)n;
        if ((n > 0 && ((*line)[have - 1] == '\n' || !ferror(s->in))) ||
            (n < 0 && feof(s->in))) {
            *len = have;
            rc = have > 0;
            break;
        }
        if (e == EINTR) { /* a signal: a stop, or another's */
            clearerr(s->in);
            if ((rc = flow_node_stopping(node)))
                break;
            continue;
        }
        rc = flow_node_fail(node, "cannot read %s%s%s: %s", s->own ? "'" : "",
                            name, s->own ? "'" : "", strerror(e ? e : EIO));
        break;
    }
    free(more);
    return rc;
}

static int
lines_run(flow_node_t *node, void *state)
{
    struct lines *s = state;
    const char *name = s->own ? s->path : "standard input";
    size_t per = s->chunk > 0 ? (size_t)s->chunk : flow_node_batch(node, "out");
    flow_msg_t *msg = NULL;
    size_t bytes = 0, cap = 0, len = 0;
    uint64_t seq = 0, lineno = 0;
    char *line = NULL;
    int rc = 0;

    if (per == 0)
        return flow_node_fail(node, "no batch size on port 'out'");
    if ((rc = open_input(node, s)))
        return rc;
    for (;;) {
        if ((rc = next_line(node, s, name, &line, &cap, &len)) <= 0) {
            if (rc == FLOW_EINTR) { /* a stop: what was read goes on */
                s->pending = msg;   /* from finish(), not to be lost */
                s->pending_seq = seq;
                msg = NULL;
            }
            break;
        }
        rc = 0;
        lineno++;
        if (line[len - 1] == '\n')
            len--;
        if (memchr(line, '\0', len)) {
            rc = flow_node_fail(node,
                                "line %llu of %s%s%s holds a NUL byte: not "
                                "text",
                                (unsigned long long)lineno, s->own ? "'" : "",
                                name, s->own ? "'" : "");
            break;
        }
        /* The message so far goes first where this line would take it
         * past the bytes a message should hold. */
        if (msg && bytes + len + 1 > LINES_MSG_BYTES &&
            (rc = send_out(node, &msg, seq++)))
            break;
        if (!msg) {
            msg = flow_msg_new(FLOW_WORDS, per < 4096 ? per : 4096);
            bytes = 0;
        }
        if ((rc = flow_msg_add_word(msg, line, len))) {
            rc = flow_node_fail(node, "line %llu of %s%s%s: %s",
                                (unsigned long long)lineno, s->own ? "'" : "",
                                name, s->own ? "'" : "", flow_strerror(rc));
            break;
        }
        bytes += len + 1;
        if (flow_msg_count(msg) == per && (rc = send_out(node, &msg, seq++)))
            break;
    }
    if (!rc && msg)
        rc = send_out(node, &msg, seq++);
    flow_msg_destroy(&msg);
    free(line);
    return rc;
}

/* After a stop that interrupted a read: send the lines read before it. */
static int
lines_finish(flow_node_t *node, void *state)
{
    struct lines *s = state;

    if (!s->pending)
        return 0;
    return send_out(node, &s->pending, s->pending_seq);
}

static void
lines_fini(flow_node_t *node, void *state)
{
    struct lines *s = state;

    (void)node;
    flow_msg_destroy(&s->pending);
    if (s->own && s->in)
        fclose(s->in);
    s->in = NULL;
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
