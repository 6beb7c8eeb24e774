/* SPDX-License-Identifier: MIT */
/*
 * run_stderr.c: what a local run's launcher writes to standard error (see
 * run_priv.h): its instances' lines relayed, each with the node, instance
 * and pid it came from, its own lines, and the progress line, all through
 * a queue written as stderr has room, so that a slow or stopped reader of
 * stderr never holds the launcher from its signals and children.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "run_priv.h"

/* Queue `len` bytes for stderr, clearing a progress line first (written
 * as stderr has room: errout.h). */
void
flow__sup_err_queue(sup_t *s, const char *buf, size_t len)
{
    if (s->progress_shown) {
        flow__errout_put(&s->err, "\r\033[K", 4);
        s->progress_shown = false;
    }
    flow__errout_put(&s->err, buf, len);
}

/* err_queue, then write what stderr takes now. */
void
flow__sup_err_write(sup_t *s, const char *buf, size_t len)
{
    flow__sup_err_queue(s, buf, len);
    flow__errout_flush(&s->err, 0);
}

/* The longest line relayed whole, its prefix included: one write of at
 * most PIPE_BUF bytes to a pipe is atomic, so a line relayed is never cut
 * by another process's writes to the same pipe (flowrun ... 2>&1 | ...).
 * A longer line goes in pieces. */
#define RELAY_LINE PIPE_BUF

/* Pass on the complete lines of child `p`'s stderr, prefixed with its node,
 * instance and pid, and the first bytes of a longer line (RELAY_LINE with
 * the prefix) as a line of its own (the rest follows); with `eof`, also the
 * last partial line. A log line of the framework's (FLOW__LOG_MARK, then
 * the line) ends a line the node's code left unfinished before it and
 * starts on a line of its own. Every byte is passed on once, but the
 * marks. */
static void
relay_lines(sup_t *s, flow_proc_t *p, bool eof)
{
    size_t start = 0, piece;
    char prefix[160];
    int plen = snprintf(prefix, sizeof(prefix), "%s[%u] (pid %d) ",
                        s->g->nodes[p->node].name, p->inst, p->pid);

    if (plen < 0 || (size_t)plen >= sizeof(prefix))
        plen = 0;
    piece = RELAY_LINE - (size_t)plen - 1; /* and the newline */
    for (;;) {
        const char *at = p->errbuf + start;
        size_t avail = p->errlen - start;
        size_t len = avail < piece ? avail : piece;
        const char *nl = memchr(at, '\n', len);
        const char *mark =
            memchr(at, FLOW__LOG_MARK, nl ? (size_t)(nl - at) : len);
        char line[RELAY_LINE];

        if (mark == at) { /* a log line starts: on a line anew */
            start++;
            p->cut = false;
            continue;
        }
        if (mark) { /* what comes before a log line ends there */
            len = (size_t)(mark - at);
            nl = NULL;
        } else if (nl)
            len = (size_t)(nl - at) + 1;
        else if (len < piece && !(eof && len > 0))
            break; /* the rest of the line is yet to come */
        start += len;
        if (p->cut && nl == at) {
            /* The newline that ends a line passed on in pieces: the last
             * piece already ended the line. */
            p->cut = false;
            continue;
        }
        p->cut = !nl && !mark;
        memcpy(line, prefix, (size_t)plen);
        memcpy(line + plen, at, len);
        if (!nl)
            line[plen + len++] = '\n';
        flow__sup_err_queue(s, line, (size_t)plen + len);
    }
    memmove(p->errbuf, p->errbuf + start, p->errlen - start);
    p->errlen -= start;
    flow__errout_flush(&s->err, 0); /* the lines of a read, a write or few */
}

/* The most relay_stderr reads of a child's stderr in one call: the pipe's
 * default capacity, what a child that has ended left in it (one read more
 * sees its end). A process that writes on (a node's own child, `yes >&2
 * &`) can write faster than the lines are passed on, a write each: reading
 * on while there is more would keep the launcher from its signals,
 * timeouts and children for as long. */
#define RELAY_BUDGET (64 * 1024)

/* Read what child `p` wrote to stderr, about `budget` bytes at most and,
 * if `bounded`, none once the launcher's own stderr is behind by
 * FLOW__ERROUT_FULL; returns false once at EOF (the pipe closed). */
static bool
relay_read(sup_t *s, flow_proc_t *p, size_t budget, bool bounded)
{
    for (size_t got = 0;
         got <= budget &&
         (!bounded || flow__errout_pending(&s->err) < FLOW__ERROUT_FULL);) {
        ssize_t n;

        flow__xgrow((void **)&p->errbuf, &p->errcap, p->errlen + 4096, 1);
        n = read(p->err_fd, p->errbuf + p->errlen, p->errcap - p->errlen);
        if (n > 0) {
            p->errlen += (size_t)n;
            got += (size_t)n;
            relay_lines(s, p, false);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return true;
        relay_lines(s, p, true);
        close(p->err_fd);
        p->err_fd = -1;
        return false;
    }
    return true; /* more to come, maybe: poll says */
}

/* relay_read of RELAY_BUDGET bytes, bounded: the run's own reads. */
bool
flow__sup_relay_stderr(sup_t *s, flow_proc_t *p)
{
    return relay_read(s, p, RELAY_BUDGET, true);
}

/* After the run, once the writers of child `p`'s stderr pipe are gone
 * (the run's process group killed): what is left in the pipe, whether or
 * not the launcher's stderr is behind, and close it. A writer that left
 * the group (setsid) and writes on is not waited for: RELAY_REST bytes at
 * most. */
#define RELAY_REST (4 * 1024 * 1024)

void
flow__sup_relay_rest(sup_t *s, flow_proc_t *p)
{
    if (p->err_fd >= 0 && relay_read(s, p, RELAY_REST, false)) {
        relay_lines(s, p, true);
        close(p->err_fd);
        p->err_fd = -1;
    }
}

/* What the children still had to say, once the last has ended. A
 * grandchild may hold a pipe: it has a second in all (its run's process
 * group is killed after), and the line it has not ended by then is passed
 * on as it is. */
void
flow__sup_relay_end(sup_t *s)
{
    double relay_until = flow__now_s() + 1.0;
    for (size_t k = 0; k < s->nprocs; k++) {
        flow_proc_t *p = &s->procs[k];
        while (p->err_fd >= 0) {
            struct pollfd one = { p->err_fd, POLLIN, 0 };
            double left = relay_until - flow__now_s();
            if (flow__errout_pending(&s->err) >= FLOW__ERROUT_FULL) {
                /* Standard error is behind: what is left is read once the
                 * run's process group is gone (relay_rest). */
                if (left <= 0 ||
                    flow__errout_flush(&s->err, left) >= FLOW__ERROUT_FULL)
                    break;
                continue;
            }
            if (!flow__sup_relay_stderr(s, p))
                break;
            left = relay_until - flow__now_s();
            if (left <= 0)
                break;
            poll(&one, 1, left < 0.01 ? 1 : 10);
        }
        if (p->err_fd >= 0 &&
            flow__errout_pending(&s->err) < FLOW__ERROUT_FULL) {
            relay_lines(s, p, true);
            close(p->err_fd);
            p->err_fd = -1;
        }
    }
}

/* Read the signals signalfd `sfd` holds, after the run: whether one asks
 * to end a wait (any but SIGCHLD and SIGTSTP). */
bool
flow__sup_stop_read(int sfd)
{
    struct signalfd_siginfo si;
    bool quit = false;

    while (read(sfd, &si, sizeof(si)) == sizeof(si))
        quit |= si.ssi_signo != SIGCHLD && si.ssi_signo != SIGTSTP;
    return quit;
}

/* Write what queue `q` holds, waiting for its descriptor as a blocking
 * write would; a terminating signal read from `sfd` (if >= 0), or the
 * time `until` (if > 0) passing, gives up what is left: once that time has
 * passed, what the descriptor takes without a wait is still written (a
 * file, a terminal; the time may have gone on the relay before). Empties `q`
 * (flow__errout_fini). Returns 0 when all of it was written, the errno of
 * a write error that dropped some (the descriptor cannot take it), -1
 * when a signal or the time gave the rest up: the descriptor is then not
 * to be waited for again (a blocking write, every signal blocked, would
 * never end). */
int
flow__sup_flush_queue(flow_errout_t *q, int sfd, double until)
{
    bool gave_up = false;
    int dropped;

    while (flow__errout_pending(q)) {
        struct pollfd w[2] = { { q->fd, POLLOUT, 0 }, { sfd, POLLIN, 0 } };
        int ms = -1;
        if (until > 0) {
            double left = until - flow__now_s();
            if (left <= 0) {
                flow__errout_flush(q, 0);
                gave_up = flow__errout_pending(q) > 0;
                break;
            }
            ms = (int)(left * 1000) + 1;
        }
        if (poll(w, sfd >= 0 ? 2 : 1, ms) < 0 && errno != EINTR) {
            if (!q->dropped) /* what is queued is lost: say why */
                q->dropped = errno;
            break;
        }
        if (sfd >= 0 && (w[1].revents & POLLIN) && flow__sup_stop_read(sfd)) {
            gave_up = true;
            break;
        }
        if (w[0].revents)
            flow__errout_flush(q, 0);
    }
    dropped = q->dropped;
    flow__errout_fini(q);
    return gave_up ? -1 : dropped;
}

/* flush_queue of standard error's queue. */
int
flow__sup_flush_stderr(sup_t *s, int sfd)
{
    return flow__sup_flush_queue(&s->err, sfd, s->write_until);
}

void
flow__sup_show_progress(sup_t *s, double elapsed)
{
    flow_run_stats_t rs = { s->g, s->stats, s->nprocs, elapsed };
    pid_t fg = tcgetpgrp(STDERR_FILENO);
    struct winsize ws;
    struct termios tio;
    char line[256];
    size_t n;

    if (fg >= 0 && fg != getpgrp())
        return; /* a terminal where this run is in the background */
    if (fg >= 0 && tcgetattr(STDERR_FILENO, &tio) == 0 &&
        !(tio.c_lflag & ICANON)) {
        /* A full-screen program of the same job has the terminal (a
         * pager reading the output: flowrun g.ini | less; an editor): a
         * line would be drawn over its screen, and so would the erase of
         * one drawn before, which its screen has replaced. */
        s->progress_shown = false;
        return;
    }
    if (flow__errout_pending(&s->err))
        return; /* the terminal is behind: no line more for it */
    line[0] = '\r';
    flow__progress_format(&rs, &s->progress, line + 1, sizeof(line) - 4);
    n = strlen(line);
    /* Within the terminal's width: a line that wraps is not redrawn in
     * place ('\r' goes back to its last row), each redraw left a row. */
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
        n > ws.ws_col) {
        n = ws.ws_col; /* '\r' and ws_col - 1 characters */
        while (n > 1 && ((unsigned char)line[n] & 0xc0) == 0x80)
            n--; /* not in the middle of a UTF-8 character */
    }
    memcpy(line + n, "\033[K", 3);
    flow__errout_put(&s->err, line, n + 3);
    flow__errout_flush(&s->err, 0);
    s->progress_shown = true;
}
