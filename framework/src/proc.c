/* SPDX-License-Identifier: MIT */
/* proc.c: the processes of a run as their supervisor sees them: how a
 * child ended, the descriptors it needs to watch them, and standard ones
 * held open while they run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

const char *
flow__sig_abbrev(int sig, char buf[FLOW__SIG_ABBREV])
{
    const char *name = sigabbrev_np(sig);

    if (name)
        return name;
    /* glibc names no real-time signal: as kill -l does */
    if (sig == SIGRTMAX)
        return "RTMAX";
    if (sig >= SIGRTMIN && sig < SIGRTMAX) {
        if (sig == SIGRTMIN)
            return "RTMIN";
        /* As bash: RTMIN+n up to half way, RTMAX-n past it (64 is RTMAX,
         * 63 RTMAX-1, 49 RTMIN+15, 50 RTMAX-14 on glibc). Below SIGRTMAX -
         * SIGRTMIN (at most 32 on Linux): a byte says to gcc's
         * -Wformat-truncation that it fits. */
        if (sig - SIGRTMIN <= (SIGRTMAX - SIGRTMIN) / 2)
            snprintf(buf, FLOW__SIG_ABBREV, "RTMIN+%d",
                     (unsigned char)(sig - SIGRTMIN));
        else
            snprintf(buf, FLOW__SIG_ABBREV, "RTMAX-%d",
                     (unsigned char)(SIGRTMAX - sig));
        return buf;
    }
    return "?";
}

bool
flow__proc_stopped(pid_t pid)
{
    char path[64], buf[512];
    const char *paren;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "re")))
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "PID (COMM) S ...": COMM may hold parentheses, the state follows the
     * last one. */
    paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
}

bool
flow__proc_core_dumping(pid_t pid)
{
    char path[64], line[256];
    bool dumping = false, start = true;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "re")))
        return false;
    while (fgets(line, sizeof(line), f)) {
        /* A line longer than `line` (Groups:) comes in pieces. */
        if (start && !strncmp(line, "CoreDumping:", 12)) {
            dumping = strtol(line + 12, NULL, 10) == 1;
            break;
        }
        start = strchr(line, '\n') != NULL;
    }
    fclose(f);
    return dumping;
}

void
flow__status_describe(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        char sb[FLOW__SIG_ABBREV];
        snprintf(buf, size, "was killed by signal SIG%s (%d)",
                 flow__sig_abbrev(WTERMSIG(status), sb), WTERMSIG(status));
    } else {
        snprintf(buf, size, "ended with wait status %d", status);
    }
}

/* The descriptors this process holds beyond the standard three: the
 * caller's, which the run's processes inherit (its own are close-on-exec,
 * but a fork keeps them all). 0 where /proc is not there. */
static size_t
fds_inherited(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    size_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) > 2 &&
            atoi(e->d_name) != dirfd(d))
            n++;
    closedir(d);
    return n;
}

/* " (N of them open already: the caller's)" for `held` > 0, or "". */
static const char *
held_note(size_t held, char *buf, size_t size)
{
    if (!held)
        return "";
    snprintf(buf, size, " (%zu of them open already: the caller's)", held);
    return buf;
}

int
flow__fd_limit(const char *who, size_t nprocs, unsigned per_proc)
{
    struct rlimit rl;
    size_t held = fds_inherited();
    rlim_t need = (rlim_t)nprocs * per_proc + 32 + held;
    char note[80];

    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (!setrlimit(RLIMIT_NOFILE, &rl))
            return 0;
    }
    fprintf(stderr,
            "flowrun: error: the graph has %zu processes; %s needs %llu open "
            "files%s, and the limit is %llu (ulimit -n)\n",
            nprocs, who, (unsigned long long)need,
            held_note(held, note, sizeof(note)),
            (unsigned long long)(rl.rlim_max == RLIM_INFINITY ? rl.rlim_cur
                                                              : rl.rlim_max));
    return FLOW_EUSAGE; /* no node failed: the run cannot start here */
}

int
flow__instances_fd_check(const flow_graph_t *g, bool tcp)
{
    struct rlimit rl;
    size_t held;
    char note[80];

    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max == RLIM_INFINITY)
        return 0;
    held = fds_inherited();
    for (size_t n = 0; n < g->nnodes; n++) {
        size_t nsock, need = flow__node_fd_need(g, n, tcp, &nsock) + held;
        if (need <= rl.rlim_max)
            continue;
        fprintf(stderr,
                "flowrun: error: node '%s' needs about %zu open files for its "
                "%zu sockets%s, and the limit is %llu (ulimit -n)\n",
                g->nodes[n].name, need, nsock,
                held_note(held, note, sizeof(note)),
                (unsigned long long)rl.rlim_max);
        return FLOW_EUSAGE;
    }
    return 0;
}

static void
std_fds_hold(bool held[3])
{
    for (int fd = 0; fd <= 2; fd++) {
        held[fd] = false;
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* The lowest free descriptor is `fd`: opened the wrong way round,
         * a use of it fails with EBADF, as it would have closed. */
        int nul = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
        if (nul == fd)
            held[fd] = true;
        else if (nul >= 0)
            close(nul);
    }
}

void
flow__caller_state_hold(flow_caller_state_t *st)
{
    st->nofile_kept = getrlimit(RLIMIT_NOFILE, &st->nofile) == 0;
    std_fds_hold(st->held);
}

void
flow__caller_state_restore(const flow_caller_state_t *st)
{
    for (int fd = 0; fd <= 2; fd++)
        if (st->held[fd])
            close(fd);
    if (st->nofile_kept)
        setrlimit(RLIMIT_NOFILE, &st->nofile);
}
