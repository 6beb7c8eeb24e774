/* SPDX-License-Identifier: MIT */
/*
 * run_report.c: what a local run's launcher reports at and after its end
 * (see run_priv.h): the statistics asked for (--stats, --stats-json,
 * --dot-stats), written to a file, a FIFO or a standard stream without
 * ever holding the launcher past a stop signal; and the account of a run
 * stopped or timed out: what still runs and what the output holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dot.h"
#include "run_priv.h"

/* Say on stderr (queued) that the file `path` could not be written. */
static void
say_unwritten(sup_t *s, const char *path, int err)
{
    char line[PATH_MAX + 128];
    int n =
        snprintf(line, sizeof(line), "flowrun: error: cannot write '%s': %s\n",
                 path, strerror(err));

    flow__sup_err_queue(s, line,
                        n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Say on stderr (queued) that the FIFO `path` was given up after a stop
 * signal. */
static void
say_given_up(sup_t *s, const char *path)
{
    char line[PATH_MAX + 128];
    int n = snprintf(line, sizeof(line),
                     "flowrun: error: cannot write '%s': given up at a stop "
                     "signal (no reader took it)\n",
                     path);

    flow__sup_err_queue(s, line,
                        n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The descriptor, standard output or standard error, whose file `path`
 * names (/dev/stderr, /dev/fd/1, 2>run.log and run.log), or -1. */
static int
std_fd_of(const char *path)
{
    struct stat st, std;

    if (stat(path, &st))
        return -1;
    for (int fd = STDERR_FILENO; fd >= STDOUT_FILENO; fd--)
        if (!fstat(fd, &std) && st.st_dev == std.st_dev &&
            st.st_ino == std.st_ino)
            return fd;
    return -1;
}

/* What writes a report of a run's statistics to a stream: 0 or -errno. */
typedef int report_fn(const flow_run_stats_t *rs, FILE *out);

/* Write the report `writer` makes of `rs` to standard output or error
 * (`fd`; or a FIFO's, report_to_fifo), after what was written there (opened
 * anew, a file was truncated and the graph's output or every line logged was
 * lost), through a queue that a terminating signal from `sfd` gives up (a pipe
 * nobody reads held flowrun in a blocking write, every signal blocked). Returns
 * 0, -errno when the report could not be made or written, or REPORT_GIVEN_UP
 * when a signal gave it up. */
#define REPORT_GIVEN_UP 1
static int
report_to_std(sup_t *s, const flow_run_stats_t *rs, report_fn *writer, int fd,
              int sfd)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    flow_errout_t out;
    int rc, fl;

    if (!m)
        return -errno;
    rc = writer(rs, m);
    if (fclose(m) && !rc)
        rc = -errno;
    if (rc) {
        free(text);
        return rc;
    }
    if (fd == STDERR_FILENO) {
        /* Only a write error from here on loses the report: one before
         * (a log line lost to a disk full for a while) is not its. */
        s->err.dropped = 0;
        flow__sup_err_queue(s, text, len);
        fl = flow__sup_flush_stderr(s, sfd);
    } else {
        flow__errout_init(&out, fd);
        flow__errout_put(&out, text, len);
        fl = flow__sup_flush_queue(&out, sfd, s->write_until);
    }
    free(text);
    return fl < 0 ? REPORT_GIVEN_UP : -fl;
}

/* Write the report `writer` makes of `rs` to the FIFO `path`, as
 * report_to_std writes to standard output. A blocking open waits for a
 * reader, and every signal is blocked: a FIFO nobody opened held flowrun
 * in open(2) for good, deaf to Ctrl-C, Ctrl-\ and SIGTERM. So it is
 * opened without waiting, again every 50 ms while no reader has it open,
 * and written through a queue. A terminating signal read from `sfd` while
 * no reader has come leaves a reader STOP_WRITE_S to come (write_until),
 * as for standard error after a stop; then it is given up. Returns as
 * report_to_std. */
static int
report_to_fifo(sup_t *s, const flow_run_stats_t *rs, report_fn *writer,
               const char *path, int sfd)
{
    int fd, rc;

    while ((fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) <
           0) {
        struct pollfd sig = { sfd, POLLIN, 0 };
        if (errno != ENXIO) /* ENXIO: no reader yet */
            return -errno;
        if (s->write_until > 0 && flow__now_s() >= s->write_until)
            return REPORT_GIVEN_UP;
        if (poll(&sig, sfd >= 0 ? 1 : 0, 50) > 0 && flow__sup_stop_read(sfd) &&
            !(s->write_until > 0))
            s->write_until = flow__now_s() + STOP_WRITE_S;
    }
    rc = report_to_std(s, rs, writer, fd, sfd);
    close(fd);
    return rc;
}

/* Whether `path` is a FIFO. */
static bool
is_fifo(const char *path)
{
    struct stat st;

    return !stat(path, &st) && S_ISFIFO(st.st_mode);
}

/* Write the report `writer` makes of `rs` into the file `path`. A regular
 * file of one name, or none yet, is written as a new file next to it that
 * takes its place once written whole (with its permissions, and owner where
 * it may be given), as collect writes its output: a failed write (a full
 * disk) leaves the old report as it was, not an empty or partial one.
 * Anything else (a FIFO, a device, a symbolic link, a file of several
 * names), or where no file can be made next to it, is written in place.
 * Returns 0 or -errno. */
static int
write_report_file(const char *path, report_fn *writer,
                  const flow_run_stats_t *rs)
{
    size_t size = strlen(path) + sizeof(".XXXXXX");
    struct stat st;
    int found = lstat(path, &st), rc, fd;
    bool none = found != 0 && errno == ENOENT;
    char *tmp = NULL;
    FILE *f = NULL;

    if ((none || (found == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1)) &&
        (tmp = malloc(size))) {
        snprintf(tmp, size, "%s.XXXXXX", path);
        if ((fd = mkstemp(tmp)) >= 0) {
            mode_t mask = umask(0);
            umask(mask);
            if (!none && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
                fchown(fd, st.st_uid, st.st_gid) < 0 &&
                fchown(fd, (uid_t)-1, st.st_gid) < 0) {
                /* Not ours to give: the file becomes the user's. */
            }
            if (fchmod(fd, none ? 0666 & ~mask : st.st_mode & 0777) < 0 ||
                !(f = fdopen(fd, "w"))) {
                close(fd);
                unlink(tmp);
            }
        }
        if (!f) { /* no file next to it: in place */
            free(tmp);
            tmp = NULL;
        }
    }
    if (!f && !(f = fopen(path, "w")))
        return -errno;
    rc = writer(rs, f);
    if (fclose(f) && !rc)
        rc = -errno;
    if (tmp) {
        if (!rc && rename(tmp, path) < 0)
            rc = -errno;
        if (rc)
            unlink(tmp);
        free(tmp);
    }
    return rc;
}

/* Print --stats and write --stats-json and --dot-stats after the run.
 * The table, and a report to standard output or error, go through a queue
 * and are waited for, as a blocking write would be, but a terminating
 * signal read from `sfd` gives the rest up and sets `*err_gone` (else
 * false): a file's failure is then not said. Returns 0, or -1 if the
 * table or a file could not be written. */
int
flow__sup_report_stats(sup_t *s, const flow_run_opts_t *opts, double elapsed,
                       int sfd, bool *err_gone)
{
    static report_fn *const writers[2] = { flow__stats_write_json,
                                           flow__dot_write_stats };
    flow_run_stats_t rs = { s->g, s->stats, s->nprocs, elapsed };
    const char *files[2] = { opts->stats_json, opts->dot_stats };
    int failed = 0;

    *err_gone = false;
    if (opts->stats) { /* failed: nowhere to say so (standard error) */
        int rc = report_to_std(s, &rs, flow__stats_print, STDERR_FILENO, sfd);
        *err_gone = rc == REPORT_GIVEN_UP;
        failed = rc ? -1 : 0;
    }
    for (int i = 0; i < 2; i++) {
        int rc, fd;
        if (!files[i])
            continue;
        if ((fd = std_fd_of(files[i])) >= 0 || is_fifo(files[i])) {
            /* After a stop signal gave up a wait, no more waits. */
            rc = *err_gone ? REPORT_GIVEN_UP
                 : fd >= 0 ? report_to_std(s, &rs, writers[i], fd, sfd)
                           : report_to_fifo(s, &rs, writers[i], files[i], sfd);
            if (rc == REPORT_GIVEN_UP && fd < 0 && !*err_gone)
                say_given_up(s, files[i]); /* a FIFO's: said */
            if (rc == REPORT_GIVEN_UP)
                *err_gone = true;
            else if (rc && fd != STDERR_FILENO) /* else nowhere to say it */
                say_unwritten(s, files[i], -rc);
            failed = rc ? -1 : failed;
            continue;
        }
        if ((rc = write_report_file(files[i], writers[i], &rs))) {
            if (!*err_gone)
                say_unwritten(s, files[i], -rc);
            failed = -1;
        }
    }
    return failed;
}

/* Whether every instance of node `n` has finished its work: a file it
 * writes is complete. */
static bool
node_finished(const sup_t *s, size_t n)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        const flow_proc_t *p = &s->procs[i];
        const flow_inst_stats_t *st = s->stats ? &s->stats[i] : NULL;
        if (p->node != n || p->done ||
            (p->exited && WIFEXITED(p->status) && !WEXITSTATUS(p->status)) ||
            (st &&
             __atomic_load_n(&st->state, __ATOMIC_ACQUIRE) == FLOW_INST_DONE))
            continue;
        return false;
    }
    return true;
}

/* Into `buf`, the files that nodes not finished write ("'a.txt',
 * 'b.txt'", "" for none): regular files or paths not there (not a FIFO,
 * a device such as /dev/null), those that do not fit said as ", and N
 * more". */
static void
unfinished_files(const sup_t *s, char *buf, size_t size)
{
    const flow_graph_t *g = s->g;
    flow_namelist_t l;

    flow__namelist_init(&l, buf, size);
    for (size_t i = 0; i < g->nclaims; i++) {
        const char *path = g->claims[i].path;
        struct stat st;
        if (g->claims[i].node < 0 ||
            node_finished(s, (size_t)g->claims[i].node) ||
            (stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
            continue;
        flow__namelist_add(&l, "'%s'", path);
    }
    flow__namelist_end(&l, "files");
}

/* After a stop signal once the instances ran: what the output holds. A
 * count or a file written then would look like the whole result. */
void
flow__sup_report_stop(sup_t *s)
{
    char sb[FLOW__SIG_ABBREV];
    const char *sig = flow__sig_abbrev(s->signo, sb);
    char line[1024], files[512];
    int n;

    if (!s->stopping) {
        /* Graceful to the end: the sources stopped, the rest drained. */
        n = snprintf(line, sizeof(line),
                     "flowrun: graph '%s' stopped by SIG%s before its end: "
                     "the output holds what reached the sinks until then\n",
                     s->g->name, sig ? sig : "?");
    } else {
        /* A second signal, or a drain that took too long: a file a node
         * writes whole at its end (collect's) keeps what it held before,
         * one written as it goes is cut short. */
        unfinished_files(s, files, sizeof(files));
        n = snprintf(line, sizeof(line),
                     "flowrun: graph '%s' stopped by SIG%s before its end, "
                     "its instances killed: the output is cut short%s%s\n",
                     s->g->name, sig ? sig : "?",
                     files[0] ? ", and the files of the nodes that had not "
                                "finished were not completed: "
                              : "",
                     files);
    }
    if (n >= (int)sizeof(line)) /* cut, but said */
        memcpy(line + sizeof(line) - 5, "...\n", 5);
    if (n > 0)
        flow__sup_err_write(s, line, strlen(line));
}

/* What the instance of node `gn` with counters `st` is doing, for
 * list_running: its rank (0: in its own code or not known, 1: starting, 2:
 * waiting to send, 3: waiting for input, or its work over) and, into
 * `text` (`size` bytes), what to say, with the port a wait is on ("" when
 * not known: no counters). */
static int
doing_of(const flow_gnode_t *gn, const flow_inst_stats_t *st, char *text,
         size_t size)
{
    uint32_t d;
    long port;
    const char *what;
    int rank;

    text[0] = '\0';
    if (!st || !__atomic_load_n(&st->pid, __ATOMIC_RELAXED))
        return 0;
    switch (__atomic_load_n(&st->state, __ATOMIC_ACQUIRE)) {
    case FLOW_INST_RUNNING:
        break;
    case FLOW_INST_DONE: /* its work over, its end not yet told */
        snprintf(text, size, " (ending)");
        return 3;
    default:
        snprintf(text, size, " (starting)");
        return 1;
    }
    d = __atomic_load_n(&st->doing, __ATOMIC_RELAXED);
    switch (FLOW__DOING_KIND(d)) {
    case FLOW_DOING_SEND:
        what = "waiting to send", rank = 2;
        break;
    case FLOW_DOING_RECV:
        what = "waiting for input", rank = 3;
        break;
    default:
        snprintf(text, size, " (in its own code)");
        return 0;
    }
    port = FLOW__DOING_PORT(d);
    if (port >= 0 && (size_t)port < gn->nports)
        snprintf(text, size, " (%s on port '%s')", what,
                 gn->desc->ports[port].name);
    else
        snprintf(text, size, " (%s)", what);
    return rank;
}

/* Write into `buf` the instances that still run, each with what it is
 * doing, those stopped or in their own code first, those waiting for input
 * last ("find[1] (in its own code), gen[0] (waiting to send)"): not those
 * that are done and wait for the others to end. */
void
flow__sup_list_running(const sup_t *s, char *buf, size_t size)
{
    flow_namelist_t l;
    /* What each one does, read once: the instances go on while the list
     * is written, and one read per rank pass listed an instance that
     * changed between two passes twice, or not at all. */
    struct {
        int rank; /* -1: not running */
        char text[96];
    } *doing = flow__xmalloc((s->nprocs + 1) * sizeof(*doing));

    for (size_t i = 0; i < s->nprocs; i++) {
        const flow_proc_t *p = &s->procs[i];
        doing[i].rank = -1;
        doing[i].text[0] = '\0';
        if (p->exited || p->done)
            continue;
        doing[i].rank =
            doing_of(&s->g->nodes[p->node], s->stats ? &s->stats[i] : NULL,
                     doing[i].text, sizeof(doing[i].text));
        if (p->pid > 0 && flow__proc_stopped(p->pid)) {
            /* kill -STOP, a debugger: whatever it was doing, it is held
             * there, the likeliest reason why the run is late */
            doing[i].rank = 0;
            snprintf(doing[i].text, sizeof(doing[i].text),
                     " (stopped: SIGSTOP or a debugger)");
        }
    }
    flow__namelist_init(&l, buf, size);
    for (int rank = 0; rank < 4; rank++)
        for (size_t i = 0; i < s->nprocs; i++)
            if (doing[i].rank == rank)
                flow__namelist_add(&l, "%s[%u]%s",
                                   s->g->nodes[s->procs[i].node].name,
                                   s->procs[i].inst, doing[i].text);
    flow__namelist_end(&l, "instances");
    free(doing);
}

/* Report a timeout: of process `k`, or of the graph (k < 0), naming what
 * still runs. */
void
flow__sup_report_timeout(const sup_t *s, long k, double limit)
{
    char running[512];

    flow__sup_list_running(s, running, sizeof(running));
    if (k >= 0) {
        const flow_proc_t *p = &s->procs[k];
        char line[1024];
        snprintf(line, sizeof(line),
                 "flowrun: error: node '%s' instance %u (pid %d) timed out "
                 "after %gs (its timeout key); still running: %s\n",
                 s->g->nodes[p->node].name, p->inst, p->pid, limit, running);
        flow__sup_err_write((sup_t *)s, line, strlen(line));
        return;
    }
    char line[1024];
    int n = snprintf(line, sizeof(line),
                     "flowrun: error: graph '%s' timed out after %gs; still "
                     "running: %s\n",
                     s->g->name, limit, running);
    /* err_write: after the progress line is erased */
    flow__sup_err_write((sup_t *)s, line,
                        n < 0                      ? 0
                        : (size_t)n < sizeof(line) ? (size_t)n
                                                   : sizeof(line) - 1);
}
