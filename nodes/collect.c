/* SPDX-License-Identifier: MIT */
/*
 * collect: write the items that reach the end of a graph, one per line, to
 * standard output or to a file; the article's print(results). Numbers are
 * written in decimal, words as they are, bytes raw without added newlines.
 * With end = nul, a NUL byte ends each number or word (and the count of
 * mode = count) instead of a newline
 * (words may hold newlines: `xargs -0`, `sort -z` read that).
 *
 * With order = input, messages are written in sequence order: a message that
 * arrives before its predecessors waits in a buffer, and whatever still waits
 * when the inputs end is written in sequence order, skipping the gaps (with
 * a warning: a node upstream sent nothing for some input, and what came
 * after waited in memory); when a stop cut the input short, what waits
 * behind a gap is dropped instead (said at level info), so that a stopped
 * run's output is a prefix of the whole run's. A message that waits holds
 * its producer's credit (flow_node_hold) until it is written: over a
 * balance=demand link, a producer that runs ahead of the others stops once
 * its window waits here, and this buffer stays within the windows. A message
 * without a sequence number, or a second one with the same number (a node that
 * sends several messages per input), cannot be put in order: the node fails.
 * With mode = count, only the number of items is written, at the end; with mode
 * = sum, only the sum of its int64 items (the reduce of a Pool.map:
 * sum(pool.map(f, xs))), a sum beyond int64 failing the node at the end rather
 * than wrapping round (the partial sums on the way may leave int64: only the
 * sum is written), and items of another type refused by the graph check where
 * the link's type is known, failing the node where it shows only at run time.
 *
 * An output path that names nothing yet, or a regular file with one name,
 * is written as a new file in the same directory, which takes the path's
 * place only when everything was written: a failed run leaves the old file
 * as it was. The new file is unnamed until then (O_TMPFILE), so a run
 * killed outright leaves nothing behind either (where the file system has
 * no unnamed files, it has a temporary name, OUTPUT.XXXXXX, from the start,
 * which such a run leaves), and it gets the old file's permissions (and
 * owner, where the user may give it; not set-id bits). Any other path (a
 * symbolic link, a file of ours with several names, a FIFO, a device such
 * as /dev/null, a socket) is opened and written in place, batch by batch,
 * as a shell's `>` does: a file renamed onto it would replace the link,
 * split the names or replace the device. So is a file with one name that
 * we may write in a directory we may not (a file made for us in a shared
 * directory), with a warning: a failed run leaves it incomplete.
 *
 * A symbolic link is followed only if it is ours or its directory's
 * owner's (the kernel's protected_symlinks rule, everywhere): one planted
 * in a directory others may write is refused. /dev/stdout (/dev/fd/1,
 * /proc/self/fd/1) is standard output, as "-" is. To a pipe or a socket,
 * which other writers may share (two collects, both to standard output),
 * lines are written PIPE_BUF bytes of them at a time: no other write cuts
 * into one.
 *
 * With a limit, collect takes the first `limit` items (bytes of byte
 * messages; in order = input, the first in sequence order), then gives its
 * input up (flow_node_close_input), as `head` closes its pipe: the nodes
 * upstream stop, and an endless source ends. With mode = count, it counts
 * up to the limit.
 *
 * A graceful stop (the first Ctrl-C) drains what is in flight to the sinks:
 * the count, or the file, is then of what arrived, and flowrun says that the
 * run stopped before its end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_TMPFILE */
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flow/node.h"

/* Size of the output buffer. */
#define COLLECT_BUF (1u << 20)

/* Longest int64 line: "-9223372036854775808\n". */
#define COLLECT_INT_LINE 21

/* With mode = sum, the sum so far: wider than int64, since only the whole
 * sum has to fit, not the partial sums on the way (INT64_MAX + 1 - 1),
 * whose values depend on the order the items came in. Over at most 2^64
 * items it cannot leave the 128 bits. */
__extension__ typedef __int128 sum_t;
__extension__ typedef unsigned __int128 usum_t;

/* Values of the `order` and `mode` choices, in table order. */
enum { COLLECT_ARRIVAL = 0, COLLECT_INPUT = 1 };
enum { COLLECT_ITEMS = 0, COLLECT_COUNT = 1, COLLECT_SUM = 2 };
enum { COLLECT_NEWLINE = 0, COLLECT_NUL = 1 };

/*
 * Messages waiting for their turn, each with the producer instance it came
 * from (its credit held: flow_node_hold): a binary min-heap on the sequence
 * number.
 */
struct waiting {
    flow_msg_t *msg;
    unsigned ch;
};

struct pending {
    struct waiting *msgs;
    size_t count;
    size_t room;
};

struct collect {
    char *output;
    int order;
    int mode;
    int end_choice;      /* COLLECT_NEWLINE or COLLECT_NUL */
    char end;            /* what ends an item: '\n' or '\0' */
    int fd;              /* where lines go */
    bool file_open;      /* fd is a file of ours, still open */
    bool finished;       /* the new file took the path's place */
    bool direct;         /* fd is the output itself, written in place */
    bool shared;         /* fd is a pipe or a socket: written PIPE_BUF
                            bytes of whole lines at a time */
    bool temp;           /* fd is the new file, to take the path's place */
    char *tmp_path;      /* its temporary name, NULL while it has none */
    char *buf;           /* COLLECT_BUF bytes of output not yet written */
    size_t len;          /* bytes used in buf */
    uint64_t items;      /* items seen */
    sum_t sum;           /* with mode = sum, of the items seen */
    uint64_t sum_out;    /* the item from which the sum is beyond int64
                            (1-based), 0: within it */
    int64_t limit;       /* take at most this many items; 0: all */
    uint64_t next_seq;   /* with order = input, the next message to write */
    struct pending wait; /* with order = input, messages that came early */
    bool warned;         /* that many messages wait */
};

/* With order = input, messages waiting for a late one past which collect
 * says so (once): its memory grows with them. */
#define COLLECT_WAIT_WARN 65536

static const flow_param_t collect_params[] = {
    FLOW_PARAM_STRING("output", struct collect, output, "-",
                      "file to write, or - for standard output; a file is "
                      "written anew in its directory and takes the path's "
                      "place at the end: a failed run leaves the old file "
                      "as it was (in a directory not writable, an existing "
                      "file is written in place, with a warning)"),
    FLOW_PARAM_CHOICE("order", struct collect, order, "arrival",
                      "arrival|input",
                      "write messages as they arrive or in sequence order"),
    FLOW_PARAM_CHOICE("mode", struct collect, mode, "items", "items|count|sum",
                      "write every item, only the number of items, or only "
                      "the sum of the items (int64)"),
    FLOW_PARAM_INT("limit", struct collect, limit, "0", 0, INT64_C(1) << 62,
                   "take the first this many items (bytes of byte "
                   "messages), then give the input up, as head does: the "
                   "nodes upstream stop, an endless source ends; 0: all"),
    FLOW_PARAM_CHOICE("end", struct collect, end_choice, "newline",
                      "newline|nul",
                      "what ends each number or word: a newline, or a NUL "
                      "byte for words that may hold newlines (as sort -z, "
                      "xargs -0)"),
    FLOW_PARAM_END
};

static const flow_port_t collect_ports[] = {
    FLOW_PORT_IN("in", FLOW_ANY, "items to write"), FLOW_PORT_END
};

/* Add `msg`, from producer `ch`, to `p` (transfer full). Returns 0 or
 * -ENOMEM. */
static int
pending_push(struct pending *p, flow_msg_t *msg, unsigned ch)
{
    if (p->count == p->room) {
        size_t room = p->room ? 2 * p->room : 64;
        struct waiting *msgs = realloc(p->msgs, room * sizeof(*msgs));
        if (msgs == NULL)
            return -ENOMEM;
        p->msgs = msgs;
        p->room = room;
    }

    size_t i = p->count++;
    uint64_t seq = flow_msg_seq(msg);
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (flow_msg_seq(p->msgs[parent].msg) <= seq)
            break;
        p->msgs[i] = p->msgs[parent];
        i = parent;
    }
    p->msgs[i] = (struct waiting){ msg, ch };
    return 0;
}

/* Return the sequence number of the first message of `p`, which has one. */
static uint64_t
pending_first(const struct pending *p)
{
    return flow_msg_seq(p->msgs[0].msg);
}

/*
 * Remove the message with the lowest sequence number from `p` and return it
 * (transfer full), with its producer in `*ch` (when not NULL); NULL if `p`
 * is empty.
 */
static flow_msg_t *
pending_pop(struct pending *p, unsigned *ch)
{
    if (p->count == 0)
        return NULL;

    struct waiting first = p->msgs[0];
    struct waiting last = p->msgs[--p->count];
    uint64_t seq = flow_msg_seq(last.msg);
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= p->count)
            break;
        if (child + 1 < p->count && flow_msg_seq(p->msgs[child + 1].msg) <
                                        flow_msg_seq(p->msgs[child].msg))
            child++;
        if (seq <= flow_msg_seq(p->msgs[child].msg))
            break;
        p->msgs[i] = p->msgs[child];
        i = child;
    }
    if (p->count > 0)
        p->msgs[i] = last;
    if (ch)
        *ch = first.ch;
    return first.msg;
}

/* Destroy every message of `p` and free its memory. */
static void
pending_clear(struct pending *p)
{
    for (size_t i = 0; i < p->count; i++)
        flow_msg_destroy(&p->msgs[i].msg);
    free(p->msgs);
    p->msgs = NULL;
    p->count = 0;
    p->room = 0;
}

/* Return the name of the output for messages. */
static const char *
output_name(const struct collect *s)
{
    return s->file_open ? s->output : "stdout";
}

/* Write the `len` bytes of `data` to `fd`. Returns 0 or -errno. */
static int
write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* An output left non-blocking (O_NONBLOCK on a pipe
                 * shared with a parent): wait as a blocking one would. */
                struct pollfd out = { fd, POLLOUT, 0 };
                if (poll(&out, 1, -1) < 0 && errno != EINTR)
                    return -errno;
                continue;
            }
            return -errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The length of the first piece of the `len` bytes at `p` to write at
 * once: whole items ended by `end`, at most PIPE_BUF bytes of them, or the
 * first item alone if it is longer. */
static size_t
piece(const char *p, size_t len, char end)
{
    const char *last;

    if (len <= PIPE_BUF)
        return len;
    last = memrchr(p, end, PIPE_BUF);
    if (!last)
        last = memchr(p + PIPE_BUF, end, len - PIPE_BUF);
    return last ? (size_t)(last - p) + 1 : len;
}

/* Write out the buffer. */
static int
flush(flow_node_t *node, struct collect *s)
{
    int rc = 0;

    /* Whole lines, each write one no other writer of the pipe can cut
     * into: two collects, or a node's printf, share standard output. */
    for (size_t off = 0, n; rc == 0 && off < s->len; off += n) {
        n = s->shared ? piece(s->buf + off, s->len - off, s->end)
                      : s->len - off;
        rc = write_all(s->fd, s->buf + off, n);
    }
    s->len = 0;
    if (rc < 0)
        return flow_node_fail(node, "cannot write to '%s': %s", output_name(s),
                              flow_strerror(rc));
    return 0;
}

/* Queue the `len` bytes of `data` for output. */
static int
put(flow_node_t *node, struct collect *s, const char *data, size_t len)
{
    if (len > COLLECT_BUF - s->len) {
        int rc = flush(node, s);
        if (rc < 0)
            return rc;
    }
    if (len >= COLLECT_BUF) {
        int rc = write_all(s->fd, data, len);
        if (rc < 0)
            return flow_node_fail(node, "cannot write to '%s': %s",
                                  output_name(s), flow_strerror(rc));
        return 0;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

/* Format `value` and `end` at `out`; return the length. */
static size_t
format_i64(char *out, int64_t value, char end)
{
    char digits[COLLECT_INT_LINE];
    size_t n = 0, len = 0;
    uint64_t u = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;

    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (value < 0)
        out[len++] = '-';
    while (n > 0)
        out[len++] = digits[--n];
    out[len++] = end;
    return len;
}

static int
write_i64s(flow_node_t *node, struct collect *s, flow_msg_t *msg, size_t count)
{
    const int64_t *values = flow_msg_i64(msg);

    for (size_t i = 0; i < count; i++) {
        if (COLLECT_BUF - s->len < COLLECT_INT_LINE) {
            int rc = flush(node, s);
            if (rc < 0)
                return rc;
        }
        s->len += format_i64(s->buf + s->len, values[i], s->end);
    }
    return 0;
}

static int
write_words(flow_node_t *node, struct collect *s, flow_msg_t *msg, size_t count)
{
    const uint32_t *ends;
    const char *text = flow_msg_words(msg, &ends);

    for (size_t i = 0, start = 0; i < count; start = ends[i++]) {
        const char *word = text + start;
        size_t len = ends[i] - start - 1;
        if (len < COLLECT_BUF - s->len) {
            memcpy(s->buf + s->len, word, len);
            s->buf[s->len + len] = s->end;
            s->len += len + 1;
            continue;
        }
        int rc = put(node, s, word, len);
        if (rc == 0)
            rc = put(node, s, &s->end, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Whether the limit's items were taken (the input was given up). */
static inline bool
full(const struct collect *s)
{
    return s->limit > 0 && s->items >= (uint64_t)s->limit;
}

/*
 * Take `count` items of a message: all of them, or as many as the limit
 * leaves, and then give the input up. Returns how many to write.
 */
static size_t
take(flow_node_t *node, struct collect *s, size_t count)
{
    if (s->limit > 0 && (uint64_t)s->limit - s->items <= count) {
        count = (size_t)((uint64_t)s->limit - s->items);
        /* What still waits for its turn is past the limit too. */
        pending_clear(&s->wait);
        flow_node_close_input(node, "in");
    }
    s->items += count;
    return count;
}

static int add_up(flow_node_t *node, struct collect *s, flow_msg_t *msg);

/* Write the items of `msg` (as many as the limit leaves); with mode = sum,
 * add them up. */
static int
write_msg(flow_node_t *node, struct collect *s, flow_msg_t *msg)
{
    flow_type_t type = flow_msg_type(msg);
    size_t count;

    if (s->mode == COLLECT_SUM)
        return add_up(node, s, msg);
    if (full(s))
        return 0;
    count = take(node, s, flow_msg_count(msg));
    switch (type) {
    case FLOW_INT64:
        return write_i64s(node, s, msg, count);
    case FLOW_WORDS:
        return write_words(node, s, msg, count);
    case FLOW_BYTES: {
        size_t len;
        const char *data = flow_msg_bytes(msg, &len);
        return put(node, s, data, count);
    }
    case FLOW_ANY:
    case FLOW_SAME: /* ports only, never a message's */
        break;
    }
    return flow_node_fail(node, "cannot write items of type '%s'",
                          flow_type_name(type));
}

/* Fail for a second message with sequence number `seq`. */
static int __attribute__((cold)) duplicate(flow_node_t *node, uint64_t seq)
{
    return flow_node_fail(node,
                          "order=input: two messages with sequence number "
                          "%llu: a node upstream sends more than one message "
                          "per input, or merges inputs numbered apart (two "
                          "sources each count from 0); in order means one "
                          "message per input of one numbered stream, empty "
                          "if need be (or use order=arrival)",
                          (unsigned long long)seq);
}

/* Write every waiting message whose turn has come, giving its producer
 * the credit it held back. */
static int
write_ready(flow_node_t *node, struct collect *s)
{
    while (!full(s) && s->wait.count > 0 &&
           pending_first(&s->wait) <= s->next_seq) {
        unsigned ch;
        flow_msg_t *msg = pending_pop(&s->wait, &ch);
        uint64_t seq = flow_msg_seq(msg);
        int rc = flow_node_release(node, "in", ch, 1);
        if (rc == 0 && seq == s->next_seq) {
            s->next_seq++;
            rc = write_msg(node, s, msg);
        } else if (rc == 0) {
            rc = duplicate(node, seq);
        }
        flow_msg_destroy(&msg);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void collect_fini(flow_node_t *node, void *state);

/* Open the output path itself, to write it in place (see the top),
 * following it if it is a symbolic link and `follow`. */
static int
open_in_place(flow_node_t *node, struct collect *s, bool follow)
{
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    int rc;

    if (!follow) /* it was no link when looked at: it is none now */
        flags |= O_NOFOLLOW;
    /* A FIFO's open waits for a reader: a stop may come meanwhile. */
    while ((s->fd = open(s->output, flags, 0666)) < 0) {
        rc = -errno;
        s->fd = STDOUT_FILENO;
        if (rc == -EINTR && (rc = flow_node_stopping(node)) == 0)
            continue; /* not a stop of this node: open again */
        if (rc == FLOW_EINTR)
            return rc;
        return flow_node_fail(node, "cannot open '%s': %s", s->output,
                              flow_strerror(rc));
    }
    s->file_open = true;
    s->direct = true;
    return 0;
}

/* Give the new file `fd` the old file's owner (where we may) and
 * permissions, or those of a new file when there was none. 0 or -errno. */
static int
take_over_mode(int fd, const struct stat *old)
{
    mode_t mask;

    if (old == NULL) {
        mask = umask(0);
        umask(mask);
        return fchmod(fd, 0666 & ~mask) < 0 ? -errno : 0;
    }
    if ((old->st_uid != geteuid() || old->st_gid != getegid()) &&
        fchown(fd, old->st_uid, old->st_gid) < 0 &&
        fchown(fd, (uid_t)-1, old->st_gid) < 0) {
        /* Not ours to give: the file stays the user's. */
    }
    /* The permissions, not the set-id bits: an output is no program. */
    return fchmod(fd, old->st_mode & 01777) < 0 ? -errno : 0;
}

/* The directory of `path` (caller frees), or NULL without memory. */
static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = strdup(!slash ? "." : slash == path ? "/" : path);

    if (dir && slash && slash != path)
        dir[slash - path] = '\0';
    return dir;
}

/* Whether the symbolic link `path` (`lst`, its lstat) may be followed: it
 * is ours, or its directory's owner's. The kernel's protected_symlinks rule,
 * in every directory: in one that others may write, a link planted there
 * would make this run overwrite (or create) a file of the planter's
 * choosing with this run's rights. */
static bool
link_trusted(const char *path, const struct stat *lst)
{
    struct stat st;
    char *dir;
    bool ok;

    if (lst->st_uid == geteuid())
        return true;
    dir = dir_of(path);
    ok = dir && stat(dir, &st) == 0 && st.st_uid == lst->st_uid;
    free(dir);
    return ok;
}

/* Make the named temporary file OUTPUT.XXXXXX in `s->tmp_path` (allocated
 * if NULL). Returns its descriptor, or -errno with `s->tmp_path` freed. */
static int
temp_file(struct collect *s)
{
    size_t size = strlen(s->output) + sizeof(".XXXXXX");
    int fd;

    if (!s->tmp_path && !(s->tmp_path = malloc(size)))
        return -ENOMEM;
    snprintf(s->tmp_path, size, "%s.XXXXXX", s->output);
    if ((fd = mkstemp(s->tmp_path)) < 0) {
        fd = -errno;
        free(s->tmp_path);
        s->tmp_path = NULL;
    }
    return fd;
}

/* Create the new file in the output path's directory, unnamed where the file
 * system can (and where /proc can name it at the end), with the old file
 * `old`'s mode (NULL: none). Returns 0; -errno, the node not failed, when
 * the file cannot be created (`*made` false); or a negative code, the node
 * failed. */
static int
open_new(flow_node_t *node, struct collect *s, const struct stat *old,
         bool *made)
{
    const char *slash = strrchr(s->output, '/');
    char *dir = dir_of(s->output);
    int fd = -1, rc;

    *made = false;
    if (dir == NULL)
        return flow_node_fail(node, "out of memory");
    /* Its temporary name must fit: fail now, not after the whole run. */
    if (strlen(slash ? slash + 1 : s->output) + sizeof(".XXXXXX") - 1 >
        NAME_MAX) {
        rc = -ENAMETOOLONG;
    } else {
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        rc = fd < 0 ? -errno : 0;
        if (fd >= 0 && access("/proc/self/fd", X_OK) != 0 && geteuid() != 0) {
            /* No /proc to name it by, nor the right to name it by its
             * descriptor alone (AT_EMPTY_PATH): a named file instead. */
            close(fd);
            rc = -EOPNOTSUPP;
        }
        if (rc == -EOPNOTSUPP || rc == -EISDIR || rc == -EINVAL) {
            /* No unnamed files here: a temporary name at once. */
            fd = temp_file(s);
            rc = fd < 0 ? fd : 0;
        }
    }
    free(dir);
    *made = rc == 0;
    if (rc < 0)
        return rc;
    s->fd = fd;
    s->file_open = true;
    s->temp = true;
    if ((rc = take_over_mode(s->fd, old)) < 0)
        return flow_node_fail(node,
                              "cannot set the mode of a file for '%s': %s",
                              s->output, flow_strerror(rc));
    return 0;
}

/* Open the output path: a new file, or the path itself (see the top). */
static int
open_output(flow_node_t *node, struct collect *s)
{
    struct stat st;

    bool made;
    int rc;

    if (lstat(s->output, &st) < 0) {
        if (errno != ENOENT)
            return flow_node_fail(node, "cannot use '%s': %s", s->output,
                                  flow_strerror(-errno));
        if ((rc = open_new(node, s, NULL, &made)) < 0 && !made)
            return flow_node_fail(node, "cannot create a file next to '%s': %s",
                                  s->output, flow_strerror(rc));
        return rc;
    }
    if (S_ISDIR(st.st_mode))
        return flow_node_fail(node, "output '%s' is a directory", s->output);
    if (S_ISLNK(st.st_mode)) {
        if (!link_trusted(s->output, &st))
            return flow_node_fail(node,
                                  "output '%s' is a symbolic link of another "
                                  "user (uid %ld): not followed",
                                  s->output, (long)st.st_uid);
        return open_in_place(node, s, true);
    }
    /* A file with several names is written in place, for all of them, when
     * it is ours; another's gets a new file under this name only. */
    if (!S_ISREG(st.st_mode) || (st.st_nlink > 1 && st.st_uid == geteuid()))
        return open_in_place(node, s, false);
    if ((rc = open_new(node, s, &st, &made)) >= 0 || made)
        return rc;
    /* A file we may write in a directory we may not: written in place, as
     * a shell's `>` does (not another's file of several names: a new file
     * under this name only, or nothing). */
    if ((rc != -EACCES && rc != -EPERM) || st.st_nlink > 1 ||
        faccessat(AT_FDCWD, s->output, W_OK, AT_EACCESS) != 0)
        return flow_node_fail(node, "cannot create a file next to '%s': %s",
                              s->output, flow_strerror(rc));
    flow_node_log(node, FLOW_LOG_WARN,
                  "cannot create a file next to '%s' (%s): writing it in "
                  "place, as a shell's > does; a failed run leaves it "
                  "incomplete",
                  s->output, flow_strerror(rc));
    return open_in_place(node, s, false);
}

/* Give the unnamed new file a temporary name next to the output path. */
static int
name_new(flow_node_t *node, struct collect *s)
{
    char fdpath[64];
    int rc = 0;

    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", s->fd);
    for (int tries = 0; tries < 100; tries++) {
        /* A free name: mkstemp's, made free again for linkat. */
        int fd = temp_file(s);
        if (fd < 0) {
            rc = fd;
            break;
        }
        close(fd);
        unlink(s->tmp_path);
        /* By the descriptor (needs CAP_DAC_READ_SEARCH), else by /proc. */
        if (linkat(s->fd, "", AT_FDCWD, s->tmp_path, AT_EMPTY_PATH) == 0 ||
            linkat(AT_FDCWD, fdpath, AT_FDCWD, s->tmp_path,
                   AT_SYMLINK_FOLLOW) == 0)
            return 0;
        rc = -errno;
        if (rc != -EEXIST)
            break;
    }
    free(s->tmp_path);
    s->tmp_path = NULL;
    return flow_node_fail(node, "cannot name a file next to '%s': %s",
                          s->output, flow_strerror(rc));
}

/* Whether `path` is "-" or a name of standard output, which is written as
 * it is: opening /dev/stdout anew may be refused (a pipe of another user). */
static bool
names_stdout(const char *path)
{
    return !strcmp(path, "-") || !strcmp(path, "/dev/stdout") ||
           !strcmp(path, "/dev/fd/1") || !strcmp(path, "/proc/self/fd/1");
}

/* Whether `path` names standard error: an instance's is the pipe whose
 * lines the launcher relays as log lines, each with its prefix. */
static bool
names_stderr(const char *path)
{
    return !strcmp(path, "/dev/stderr") || !strcmp(path, "/dev/fd/2") ||
           !strcmp(path, "/proc/self/fd/2");
}

/* Before the run (flowrun --check too): an output path is not empty, not
 * standard error, and a file no other node writes and not the graph
 * file. */
static int
collect_check(const flow_check_t *c, const void *state, char *why,
              size_t whylen)
{
    const struct collect *s = state;
    flow_type_t type = flow_check_type(c, "in");

    if (s->mode == COLLECT_SUM && type != FLOW_ANY && type != FLOW_INT64) {
        snprintf(why, whylen,
                 "mode = sum adds int64 items, but its input is sent %s%s",
                 flow_type_name(type),
                 type == FLOW_WORDS ? " (numbers written in words: read "
                                      "them with a node of type ints first)"
                                    : "");
        return FLOW_EPARAM;
    }
    if (s->output[0] == '\0') {
        snprintf(why, whylen,
                 "empty path in 'output' (give a file, or - for standard "
                 "output)");
        return FLOW_EPARAM;
    }
    if (names_stdout(s->output))
        return 0;
    if (names_stderr(s->output)) {
        snprintf(why, whylen,
                 "output '%s': an instance's standard error is the log "
                 "pipe, whose lines flowrun prefixes with the instance's "
                 "name (give a file, or - for standard output)",
                 s->output);
        return FLOW_EPARAM;
    }
    return flow_check_output_file(c, "output", s->output, why, whylen);
}

static int
collect_init(flow_node_t *node, void *state)
{
    struct collect *s = state;
    int rc = 0;

    s->end = s->end_choice == COLLECT_NUL ? '\0' : '\n';
    s->fd = STDOUT_FILENO;
    s->buf = malloc(COLLECT_BUF);
    if (s->buf == NULL)
        rc = flow_node_fail(node, "cannot allocate the output buffer");
    else if (s->output[0] == '\0')
        rc = flow_node_fail(node, "empty path in 'output'");
    else if (!names_stdout(s->output))
        rc = open_output(node, s);
    if (rc == 0) {
        struct stat st;
        s->shared = !fstat(s->fd, &st) &&
                    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    }

    /* Leave nothing behind on failure, whether or not fini is called. */
    if (rc < 0)
        collect_fini(node, state);
    return rc;
}

/* Write `*msg_p` now, or keep it until the messages before it came (then
 * `*msg_p` is taken, set to NULL). Returns 0 or a negative code with the
 * node failed. */
static int __attribute__((noinline))
collect_write(flow_node_t *node, struct collect *s, flow_msg_t **msg_p)
{
    uint64_t seq = flow_msg_seq(*msg_p);
    int rc;

    if (s->order == COLLECT_ARRIVAL) {
        rc = write_msg(node, s, *msg_p);
    } else if (seq == FLOW_SEQ_NONE) {
        return flow_node_fail(node,
                              "order=input: a message without a sequence "
                              "number (from a source of several instances, "
                              "a run() node or a finish() that numbers "
                              "none: flow_msg_set_seq; or order=arrival)");
    } else if (seq < s->next_seq) {
        return duplicate(node, seq);
    } else if (seq > s->next_seq) {
        /* Its producer's credit stays held while it waits: one that runs
         * ahead of the others (a balance=demand input) stops at its
         * window instead of growing this queue. */
        unsigned ch = flow_node_channel(node);
        rc = pending_push(&s->wait, *msg_p, ch);
        if (rc < 0)
            return flow_node_fail(node, "cannot buffer a message: %s",
                                  flow_strerror(rc));
        *msg_p = NULL;
        if ((rc = flow_node_hold(node, "in", ch, 1)) < 0)
            return rc;
        if (s->wait.count >= COLLECT_WAIT_WARN && !s->warned) {
            s->warned = true;
            flow_node_log(node, FLOW_LOG_WARN,
                          "order=input: %zu messages wait for message %llu "
                          "(held in memory until it comes)",
                          s->wait.count, (unsigned long long)s->next_seq);
        }
        return 0;
    } else {
        s->next_seq++;
        rc = write_msg(node, s, *msg_p);
        if (rc == 0)
            rc = write_ready(node, s);
    }
    if (rc < 0)
        return rc;

    /* Readers of standard output (or of a FIFO, a terminal) see every batch
     * as soon as it is done. */
    if (!s->temp)
        return flush(node, s);
    return 0;
}

/* With mode = sum: add the items of `msg` (as many as the limit leaves). */
static int
add_up(flow_node_t *node, struct collect *s, flow_msg_t *msg)
{
    const int64_t *v = flow_msg_i64(msg); /* NULL when empty */
    uint64_t first = s->items;
    size_t n;

    if (flow_msg_type(msg) != FLOW_INT64)
        return flow_node_fail(node, "mode = sum adds int64 items: received %s",
                              flow_type_name(flow_msg_type(msg)));
    if (full(s))
        return 0;
    n = take(node, s, flow_msg_count(msg));
    for (size_t i = 0; i < n; i++) {
        s->sum += v[i];
        if (s->sum > INT64_MAX || s->sum < INT64_MIN) {
            if (!s->sum_out)
                s->sum_out = first + i + 1;
        } else {
            s->sum_out = 0;
        }
    }
    return 0;
}

/* collect_process for all but counting every item: out of line, so that
 * the count's few instructions need no frame. */
static int __attribute__((noinline))
process_other(flow_node_t *node, struct collect *s, flow_msg_t **msg_p)
{
    if (s->mode == COLLECT_COUNT) { /* with a limit */
        take(node, s, flow_msg_count(*msg_p));
        return 0;
    }
    /* With order = input, the limit's items are the first in sequence
     * order: through the ordering below, which adds them up. */
    if (s->mode == COLLECT_SUM && s->order == COLLECT_ARRIVAL)
        return add_up(node, s, *msg_p);
    return collect_write(node, s, msg_p);
}

static int
collect_process(flow_node_t *node, void *state, const char *port,
                flow_msg_t **msg_p)
{
    struct collect *s = state;

    (void)port;
    /* Counting is a few instructions: not behind the writer's frame. */
    if (s->mode == COLLECT_COUNT && s->limit == 0) {
        s->items += flow_msg_count(*msg_p);
        return 0;
    }
    return process_other(node, s, msg_p);
}

static int
collect_finish(flow_node_t *node, void *state)
{
    struct collect *s = state;
    int rc;

    /* Inputs have ended: whatever is missing will not come. Cut short by a
     * stop (sources of several instances stop at different points), the
     * output keeps to what came before the first gap: a prefix of the whole
     * run's, as an interrupted imap gives, never one with holes. */
    if (s->wait.count > 0 && flow_node_input_cut(node, "in")) {
        uint64_t first = s->next_seq, dropped = s->wait.count;
        uint64_t last = FLOW_SEQ_NONE;
        while (s->wait.count > 0) {
            flow_msg_t *msg = pending_pop(&s->wait, NULL);
            uint64_t seq = flow_msg_seq(msg);
            flow_msg_destroy(&msg);
            if (seq == last)
                return duplicate(node, seq);
            last = seq;
        }
        flow_node_log(node, FLOW_LOG_INFO,
                      "order=input: the run was stopped before message %llu "
                      "came: the %llu messages after it that came (up to "
                      "number %llu) are not written, so that the output is a "
                      "prefix of the whole run's",
                      (unsigned long long)first, (unsigned long long)dropped,
                      (unsigned long long)last);
    }
    if (s->wait.count > 0) {
        uint64_t first = s->next_seq, missing = 0;
        while (s->wait.count > 0) {
            flow_msg_t *msg = pending_pop(&s->wait, NULL);
            uint64_t seq = flow_msg_seq(msg);
            if (seq < s->next_seq)
                rc = duplicate(node, seq);
            else {
                missing += seq - s->next_seq;
                s->next_seq = seq + 1;
                rc = write_msg(node, s, msg);
            }
            flow_msg_destroy(&msg);
            if (rc < 0)
                return rc;
        }
        flow_node_log(node, FLOW_LOG_WARN,
                      "order=input: %llu messages never came (the first: "
                      "number %llu), and the messages after it waited in "
                      "memory until the end: a node upstream sent nothing "
                      "for some inputs (it should send an empty message)",
                      (unsigned long long)missing, (unsigned long long)first);
    }
    if (s->mode == COLLECT_SUM && s->sum_out) {
        char digits[48], *p = digits + sizeof(digits);
        usum_t mag = s->sum < 0 ? -(usum_t)s->sum : (usum_t)s->sum;
        *--p = '\0';
        do
            *--p = (char)('0' + (int)(mag % 10));
        while ((mag /= 10) > 0);
        if (s->sum < 0)
            *--p = '-';
        return flow_node_fail(node,
                              "mode = sum: the sum, %s, is beyond int64 "
                              "(from item %llu on)",
                              p, (unsigned long long)s->sum_out);
    }
    if (s->mode == COLLECT_COUNT || s->mode == COLLECT_SUM) {
        char line[32];
        int len = s->mode == COLLECT_SUM
                      ? snprintf(line, sizeof(line), "%lld",
                                 (long long)(int64_t)s->sum)
                      : snprintf(line, sizeof(line), "%llu",
                                 (unsigned long long)s->items);
        line[len++] = s->end; /* as every number: newline or NUL */
        rc = put(node, s, line, (size_t)len);
        if (rc < 0)
            return rc;
    }
    rc = flush(node, s);
    if (rc == 0 && s->direct) {
        s->file_open = false;
        if (close(s->fd) < 0)
            return flow_node_fail(node, "cannot write to '%s': %s", s->output,
                                  flow_strerror(-errno));
        return 0;
    }
    if (rc < 0 || !s->temp)
        return rc;

    if (s->tmp_path == NULL && (rc = name_new(node, s)) < 0)
        return rc;
    s->file_open = false;
    if (close(s->fd) < 0)
        return flow_node_fail(node, "cannot write to '%s': %s", s->output,
                              flow_strerror(-errno));
    if (rename(s->tmp_path, s->output) < 0)
        return flow_node_fail(node, "cannot rename '%s' to '%s': %s",
                              s->tmp_path, s->output, flow_strerror(-errno));
    s->finished = true;
    return 0;
}

static void
collect_fini(flow_node_t *node, void *state)
{
    struct collect *s = state;

    (void)node;
    if (s->file_open) {
        close(s->fd);
        s->file_open = false;
    }
    if (s->tmp_path != NULL && !s->finished)
        unlink(s->tmp_path);
    free(s->tmp_path);
    s->tmp_path = NULL;
    free(s->buf);
    s->buf = NULL;
    pending_clear(&s->wait);
}

FLOW_NODE(collect) = {
    FLOW_NODE_V1,
    .name = "collect",
    .summary = "Write items one per line to standard output or a file",
    .state_size = sizeof(struct collect),
    .params = collect_params,
    .ports = collect_ports,
    .max_instances = 1,
    .check = collect_check,
    .init = collect_init,
    .process = collect_process,
    .finish = collect_finish,
    .fini = collect_fini,
};
