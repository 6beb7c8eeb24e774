/* SPDX-License-Identifier: MIT */
/*
 * signals.c: the signals of a process that supervises children: which stop
 * signals it takes (and which repeat is an echo, not a second signal), a
 * SIGCHLD that lets it wait for them (and the caller's back after), and a
 * terminal's Ctrl-Z passed on to children in a process group of their own.
 */
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* Add `sig` to `mask` unless this process ignores it. Blocked, an ignored
 * signal would still be queued (Linux): to stay ignored it must stay out
 * of the mask. */
static void
add_unless_ignored(sigset_t *mask, int sig)
{
    struct sigaction sa;

    if (sigaction(sig, NULL, &sa) || sa.sa_handler != SIG_IGN)
        sigaddset(mask, sig);
}

bool
flow__signal_echo(flow_sig_first_t *first, int sig, pid_t pid, double t)
{
    if (!first->sig) {
        *first = (flow_sig_first_t){ sig, pid, t };
        return false;
    }
    if (t - first->t >= FLOW__SIGNAL_ECHO_S)
        return false;
    /* A terminal's hang-up comes twice: from the kernel to the foreground
     * group, and from the shell, which passes it on to its jobs. */
    if (sig == SIGHUP && first->sig == SIGHUP)
        return true;
    return pid > 0 && pid == first->pid;
}

double
flow__runqueue_wait_s(void)
{
    char buf[128], *end;
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    ssize_t n;
    unsigned long long waited;

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* "on-CPU ns" "runnable, waiting ns" "time slices" */
    strtoull(buf, &end, 10);
    if (end == buf || *end != ' ')
        return -1;
    waited = strtoull(end, &end, 10);
    if (*end != ' ')
        return -1;
    return (double)waited / 1e9;
}

void
flow__stop_signals_add(sigset_t *mask)
{
    /* Every signal whose default action ends the process without a core
     * dump (SIGQUIT and the faults keep theirs), but SIGUSR1, the
     * launcher's own stop notice to its instances, and SIGPIPE: SIGIO,
     * SIGSTKFLT and the real-time signals too, which killed the launcher
     * and left its run directory behind. */
    static const int stops[] = {
        SIGINT,    SIGTERM, SIGHUP, SIGALRM, SIGUSR2,
        SIGVTALRM, SIGPROF, SIGPWR, SIGIO,   SIGSTKFLT
    };

    for (size_t i = 0; i < sizeof(stops) / sizeof(*stops); i++)
        add_unless_ignored(mask, stops[i]);
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        add_unless_ignored(mask, sig);
}

void
flow__launcher_stop_signals_add(sigset_t *mask)
{
    flow__stop_signals_add(mask);
    sigaddset(mask, SIGUSR1);
}

void
flow__pause_signal_add(sigset_t *mask)
{
    add_unless_ignored(mask, SIGTSTP);
}

void
flow__quit_signal_add(sigset_t *mask)
{
    add_unless_ignored(mask, SIGQUIT);
}

void
flow__child_signal_default(struct sigaction *old)
{
    struct sigaction dfl;

    sigemptyset(&dfl.sa_mask);
    dfl.sa_flags = 0; /* nor SA_NOCLDWAIT */
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, old);
}

void
flow__child_signal_restore(const struct sigaction *old)
{
    bool reap = old->sa_handler == SIG_IGN || (old->sa_flags & SA_NOCLDWAIT);
    bool handler = old->sa_handler != SIG_IGN && old->sa_handler != SIG_DFL;
    sigset_t chld, mask;
    siginfo_t si, any;

    /* Held until the action is back: one that came under the default
     * action would be dropped. */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &mask);
    memset(&si, 0, sizeof(si));
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) || si.si_pid <= 0) {
        sigaction(SIGCHLD, old, NULL); /* none ended: nothing to tell */
        sigprocmask(SIG_SETMASK, &mask, NULL);
        return;
    }
    while (reap) { /* as the kernel would have: no zombie */
        memset(&any, 0, sizeof(any));
        if (waitid(P_ALL, 0, &any, WEXITED | WNOHANG) || any.si_pid <= 0)
            break;
    }
    sigaction(SIGCHLD, old, NULL);
    /* The kernel's own SIGCHLD, as waitid gave it (CLD_EXITED, the pid,
     * the status): a process may queue such a one to itself alone. */
    si.si_signo = SIGCHLD;
    if (handler &&
        syscall(SYS_rt_sigqueueinfo, (long)getpid(), (long)SIGCHLD, &si) < 0)
        raise(SIGCHLD);
    sigprocmask(SIG_SETMASK, &mask, NULL);
}

double
flow__pause_with_group(pid_t pgid)
{
    double t0 = flow__now_s();
    sigset_t tstp;

    if (pgid > 0)
        kill(-pgid, SIGSTOP);
    /* Stop as Ctrl-Z stops a command, so the shell says "Stopped": the
     * SIGTSTP, pending while blocked, acts once unblocked (its default
     * action, or the handler of a program that set one). */
    sigemptyset(&tstp);
    sigaddset(&tstp, SIGTSTP);
    raise(SIGTSTP);
    sigprocmask(SIG_UNBLOCK, &tstp, NULL);
    /* Here after SIGCONT (fg, bg, kill -CONT). */
    sigprocmask(SIG_BLOCK, &tstp, NULL);
    if (pgid > 0)
        kill(-pgid, SIGCONT);
    return flow__now_s() - t0;
}
