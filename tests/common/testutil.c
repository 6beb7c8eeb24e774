/* SPDX-License-Identifier: MIT */
/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs these three first */
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static const char *
env_or_die(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr,
                "test: environment variable %s is not set (run "
                "through ctest)\n",
                name);
        exit(2);
    }
    return v;
}

const char *
tu_flowrun(void)
{
    return env_or_die("FLOWRUN");
}

const char *
tu_plugin_dir(void)
{
    return env_or_die("FLOW_PLUGIN_DIR");
}

const char *
tu_src(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s/%s", env_or_die("FLOW_SOURCE_DIR"), rel);
    return buf;
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char **
make_argv(const char *const *args)
{
    size_t n = 0;
    char **argv;

    while (args[n])
        n++;
    argv = calloc(n + 2, sizeof(*argv));
    argv[0] = (char *)tu_flowrun();
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    return argv;
}

static void
append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n + 1)
            c *= 2;
        *buf = realloc(*buf, c);
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

int
tu_run(tu_result_t *r, double timeout_s, const char *const *args)
{
    int op[2], ep[2], status = 0;
    size_t ocap = 0, ecap = 0;
    double start = now();
    bool timed_out = false;
    char **argv = make_argv(args);
    pid_t pid;

    memset(r, 0, sizeof(*r));
    append(&r->out, &r->outlen, &ocap, "", 0);
    append(&r->err, &r->errlen, &ecap, "", 0);
    if (pipe(op) || pipe(ep))
        abort();
    fflush(NULL);
    pid = tu_fork();
    if (pid == 0) {
        dup2(op[1], 1);
        dup2(ep[1], 2);
        close(op[0]);
        close(op[1]);
        close(ep[0]);
        close(ep[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    free(argv);
    close(op[1]);
    close(ep[1]);
    for (int open = 2; open > 0;) {
        struct pollfd pfd[2] = { { op[0], POLLIN, 0 }, { ep[0], POLLIN, 0 } };
        double left = timeout_s - (now() - start);
        char buf[65536];

        if (left <= 0 && !timed_out) {
            kill(pid, SIGKILL);
            timed_out = true;
        }
        if (poll(pfd, 2, timed_out ? 1000 : (int)(left * 1000) + 1) < 0 &&
            errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            ssize_t n;
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
                continue;
            n = read(pfd[i].fd, buf, sizeof(buf));
            if (n > 0) {
                if (i == 0)
                    append(&r->out, &r->outlen, &ocap, buf, (size_t)n);
                else
                    append(&r->err, &r->errlen, &ecap, buf, (size_t)n);
            } else if (n == 0) {
                close(pfd[i].fd);
                if (i == 0)
                    op[0] = -1;
                else
                    ep[0] = -1;
                open--;
            }
        }
        if (timed_out && open > 0 && now() - start > timeout_s + 5)
            break; /* a grandchild holds the pipe: give up reading */
    }
    if (op[0] >= 0)
        close(op[0]);
    if (ep[0] >= 0)
        close(ep[0]);
    waitpid(pid, &status, 0);
    r->seconds = now() - start;
    if (timed_out)
        r->status = -1;
    else if (WIFEXITED(status))
        r->status = WEXITSTATUS(status);
    else
        r->status = 128 + WTERMSIG(status);
    if (r->status != 0 && getenv("TU_VERBOSE"))
        fprintf(stderr, "flowrun exited %d; stderr:\n%s\n", r->status, r->err);
    return r->status;
}

int
tu_runl(tu_result_t *r, double timeout_s, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;

    va_start(ap, timeout_s);
    while (n < 63 && (args[n] = va_arg(ap, const char *)))
        n++;
    va_end(ap);
    args[n] = NULL;
    return tu_run(r, timeout_s, args);
}

void
tu_result_release(tu_result_t *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Start flowrun with `args`, its file descriptor `target` (1 or 2) on a
 * pipe whose read end goes to `*fd`, the other of the two to /dev/null
 * when `quiet_other`. */
static pid_t
spawn(const char *const *args, int target, bool quiet_other, int *fd)
{
    int op[2];
    char **argv = make_argv(args);
    pid_t pid;

    if (pipe(op))
        abort();
    fflush(NULL);
    pid = tu_fork();
    if (pid == 0) {
        if (quiet_other) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, target == 1 ? 2 : 1);
        }
        dup2(op[1], target);
        close(op[0]);
        close(op[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    free(argv);
    close(op[1]);
    *fd = op[0];
    return pid;
}

pid_t
tu_spawn(const char *const *args, int *out_fd)
{
    return spawn(args, 1, false, out_fd);
}

pid_t
tu_spawn_stderr(const char *const *args, int *err_fd)
{
    return spawn(args, 2, true, err_fd);
}

/* The files tu_temp_file made, with the process that made them: those
 * still there when it exits (a test whose assertion failed before its
 * unlink) are removed then; not at a forked child's exit. */
struct temp {
    char path[32];
    pid_t owner;
};
static struct temp *temps;
static size_t ntemps;

static void
remove_temps(void) /* async-signal-safe: the watchdog calls it too */
{
    for (size_t i = 0; i < ntemps; i++)
        if (temps[i].owner == getpid())
            unlink(temps[i].path);
}

char *
tu_temp_file(const char *text)
{
    char *path = strdup("/tmp/flow-test-XXXXXX.ini");
    int fd = mkstemps(path, 4);
    size_t len = strlen(text);
    struct temp *grown = realloc(temps, (ntemps + 1) * sizeof(*temps));

    if (fd < 0 || write(fd, text, len) != (ssize_t)len || !grown ||
        strlen(path) >= sizeof(grown->path))
        abort();
    close(fd);
    if (!temps)
        atexit(remove_temps); /* inherited by a forked child */
    temps = grown;
    strcpy(temps[ntemps].path, path);
    temps[ntemps].owner = getpid();
    ntemps++;
    return path;
}

char **
tu_lines(char *text, size_t *n)
{
    size_t cap = 16;
    char **lines = malloc(cap * sizeof(*lines));
    char *p = text;

    *n = 0;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (*n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof(*lines));
        }
        lines[(*n)++] = p;
        p = nl ? nl + 1 : NULL;
    }
    return lines;
}

int
tu_count_procs(const char *needle)
{
    return tu_find_procs(needle, NULL, 0);
}

int
tu_find_procs(const char *needle, pid_t *pids, int cap)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int count = 0;
    pid_t self = getpid();

    if (!d)
        return -1;
    while ((de = readdir(d))) {
        char path[512], cmd[4096];
        FILE *f;
        size_t n;
        pid_t pid = (pid_t)atoi(de->d_name);

        if (pid <= 0 || pid == self)
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        f = fopen(path, "rb");
        if (!f)
            continue;
        n = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        if (strstr(cmd, needle) && count++ < cap)
            pids[count - 1] = pid;
    }
    closedir(d);
    return count;
}

static void
on_alarm(int sig)
{
    static const char msg[] = "test: watchdog expired: the test hung\n";
    (void)sig;
    remove_temps();
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

/* ASAN_OPTIONS as they were before tu_preload_begin (NULL: unset). */
static char *preload_asan_saved;

void
tu_preload_begin(const char *so)
{
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[512];

    preload_asan_saved = asan ? strdup(asan) : NULL;
    snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0",
             asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    setenv("LD_PRELOAD", so, 1);
}

void
tu_preload_end(void)
{
    unsetenv("LD_PRELOAD");
    if (preload_asan_saved)
        setenv("ASAN_OPTIONS", preload_asan_saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(preload_asan_saved);
    preload_asan_saved = NULL;
}

void
tu_watchdog(unsigned seconds)
{
    signal(SIGALRM, on_alarm);
    alarm(seconds);
}

pid_t
tu_fork(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    /* The parent may have died between fork() and prctl(): then the child
     * has a new parent already and would never get the signal. */
    if (pid == 0 &&
        (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent))
        _exit(126);
    return pid;
}

int
tu_own_process_status(int (*test)(void))
{
    int status;
    pid_t pid;

    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(test());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

void
tu_in_own_process(int (*test)(void))
{
    assert_int_equal(tu_own_process_status(test), 0);
}

bool
tu_has_other_child(void)
{
    char path[64], buf[4096];
    pid_t caller = getppid(), self = getpid();
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)caller,
             (int)caller);
    if ((fd = open(path, O_RDONLY)) < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    for (char *p = buf, *end; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0 && pid != self)
            return true;
    }
    return false;
}

/* One try of tu_sigchld_check: 0, a check's number, or TU_SIGCHLD_MISSED
 * when the child did not end while the call ran (nothing was seen). */
static int
sigchld_try(int (*call)(void), int want, bool ignored, bool (*in_call)(void))
{
    struct sigaction sa;
    sigset_t chld, pending;
    int rc, status;
    pid_t mine;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    if (ignored) {
        sa.sa_handler = SIG_IGN;
    } else {
        sa.sa_sigaction = tu_on_chld;
        sa.sa_flags = SA_SIGINFO;
    }
    sigaction(SIGCHLD, &sa, NULL);
    tu_chld_count = tu_chld_pid = tu_chld_code = tu_chld_status = 0;
    if ((mine = tu_fork()) == 0) {
        /* Ends once the call runs, as its own process or state shows. */
        while (!in_call())
            usleep(1000);
        _exit(7);
    }
    if (mine < 0)
        return 1;
    if (tu_chld_count != 0)
        return 2;
    rc = call();
    /* What ends from now on stays pending: it ended after the call. */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    if (rc != want) {
        fprintf(stderr, "the call returned %d, not %d\n", rc, want);
        return 3;
    }
    if (ignored) {
        pid_t got = waitpid(mine, NULL, WNOHANG);
        if (got == 0) { /* still running: it missed the call */
            kill(mine, SIGKILL);
            while (waitpid(mine, NULL, 0) == mine)
                ;
            sigprocmask(SIG_UNBLOCK, &chld, NULL);
            return TU_SIGCHLD_MISSED;
        }
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        if (got != -1 || errno != ECHILD) {
            fprintf(stderr, "child %d left as a zombie\n", (int)mine);
            return 4;
        }
        return 0;
    }
    if (tu_chld_count == 0) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        sigpending(&pending);
        if (sigismember(&pending, SIGCHLD) ||
            (waitid(P_PID, (id_t)mine, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
             si.si_pid == 0)) { /* ended after the call, or not yet */
            struct timespec zero = { 0, 0 };
            kill(mine, SIGKILL);
            waitpid(mine, NULL, 0);
            while (sigtimedwait(&chld, NULL, &zero) == SIGCHLD)
                ;
            sigprocmask(SIG_UNBLOCK, &chld, NULL);
            return TU_SIGCHLD_MISSED;
        }
    }
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    if (tu_chld_count != 1 || tu_chld_pid != mine ||
        tu_chld_code != CLD_EXITED || tu_chld_status != 7) {
        fprintf(stderr, "handler: count %d pid %d (%d) code %d status %d\n",
                (int)tu_chld_count, (int)tu_chld_pid, (int)mine,
                (int)tu_chld_code, (int)tu_chld_status);
        return 5;
    }
    if (waitpid(mine, &status, 0) != mine || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 7)
        return 6;
    return 0;
}

int
tu_sigchld_check_when(int (*call)(void), int want, bool ignored,
                      bool (*in_call)(void), int tries)
{
    int rc = TU_SIGCHLD_MISSED;

    for (int i = 0; i < tries && rc == TU_SIGCHLD_MISSED; i++)
        rc = sigchld_try(call, want, ignored,
                         in_call ? in_call : tu_has_other_child);
    if (rc == TU_SIGCHLD_MISSED)
        fprintf(stderr,
                "the child ended after the call in %d tries of %d: nothing "
                "seen\n",
                tries, tries);
    return rc;
}

int
tu_sigchld_check(int (*call)(void), int want, bool ignored)
{
    return tu_sigchld_check_when(call, want, ignored, NULL, 3);
}

int
tu_closed_std_check(int (*call)(void), int want)
{
    char *path = tu_temp_file(""), err[4096];
    int fd = open(path, O_WRONLY | O_TRUNC), rc, saved = dup(STDERR_FILENO);
    ssize_t n;

    if (fd < 0 || saved < 0)
        return 1;
    dup2(fd, STDERR_FILENO);
    close(fd);
    close(STDIN_FILENO);
    close(STDOUT_FILENO);
    rc = call();
    dup2(saved, STDERR_FILENO);
    if (fcntl(STDIN_FILENO, F_GETFD) != -1 ||
        fcntl(STDOUT_FILENO, F_GETFD) != -1)
        return 2;
    fd = open(path, O_RDONLY);
    n = fd >= 0 ? read(fd, err, sizeof(err) - 1) : -1;
    err[n > 0 ? n : 0] = '\0';
    unlink(path);
    free(path);
    if (rc != want ||
        !strstr(err, "cannot write to 'stdout': Bad file descriptor")) {
        fprintf(stderr, "returned %d, stderr:\n%s\n", rc, err);
        return 3;
    }
    return 0;
}

volatile sig_atomic_t tu_chld_count, tu_chld_pid, tu_chld_code, tu_chld_status;

void
tu_on_chld(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    tu_chld_count++;
    tu_chld_pid = si->si_pid;
    tu_chld_code = si->si_code;
    tu_chld_status = si->si_status;
}

void
tu_default_signals(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
}

const char *
tu_child_status(int status)
{
    static char buf[64];

    if (WIFSIGNALED(status))
        snprintf(buf, sizeof(buf), "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, sizeof(buf), "exit status %d", WEXITSTATUS(status));
    return buf;
}

int
tu_run_graph(tu_result_t *r, double timeout_s, const char *text, ...)
{
    const char *args[64];
    char *path = tu_temp_file(text);
    size_t n = 0;
    va_list ap;
    int status;

    va_start(ap, text);
    while (n < 62 && (args[n] = va_arg(ap, const char *)))
        n++;
    va_end(ap);
    args[n++] = path;
    args[n] = NULL;
    status = tu_run(r, timeout_s, args);
    unlink(path);
    free(path);
    return status;
}

void
tu_assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle)) {
        print_error("expected to find\n  %s\nin\n  %s\n", needle, haystack);
        fail();
    }
}

unsigned long long
tu_wait_sinks(const char *path, double timeout_s)
{
    double limit = now() + timeout_s;

    for (;;) {
        unsigned long long most = 0;
        size_t len = 0, cap = 0;
        char *text = NULL, buf[4096];
        FILE *f = fopen(path, "r");

        for (size_t n; f && (n = fread(buf, 1, sizeof(buf), f)) > 0;)
            append(&text, &len, &cap, buf, n);
        if (f)
            fclose(f);
        /* Its lines end in \r, each redrawn over the one before. */
        for (const char *p = text; p && (p = strstr(p, "flowrun: ")); p++) {
            unsigned long long n;
            double t;
            if (sscanf(p, "flowrun: %lfs %llu items at sinks", &t, &n) == 2 &&
                n > most)
                most = n;
        }
        free(text);
        if (most || now() > limit)
            return most;
        usleep(10000);
    }
}

double
tu_now_s(void)
{
    return now();
}

double
tu_children_cpu_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        abort();
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

char *
tu_harness_run_stderr(flow_harness_t *h, int *rc)
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    char *text = NULL;
    size_t len = 0, room = 0;

    assert_non_null(tmp);
    assert_true(saved >= 0);
    fflush(stderr);
    dup2(fileno(tmp), STDERR_FILENO);
    *rc = flow_harness_run(h);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    do {
        text = realloc(text, room += 4096);
        assert_non_null(text);
        len += fread(text + len, 1, room - len - 1, tmp);
    } while (len == room - 1);
    text[len] = '\0';
    fclose(tmp);
    return text;
}

uint64_t
tu_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

bool
tu_is_prime(int64_t n)
{
    if (n < 2)
        return false;
    for (int64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return false;
    return true;
}
