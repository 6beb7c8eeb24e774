/* SPDX-License-Identifier: MIT */
/*
 * test_rundir.c: the private run directory that holds a run's ipc://
 * endpoints. It is made under XDG_RUNTIME_DIR, else TMPDIR, else /tmp, with
 * mode 0700; under /tmp instead when the endpoint paths would not fit in a
 * socket address (108 bytes); and removed after the run.
 *
 * The run directory of a running flowrun is found from the sockets its
 * processes hold (/proc/PID/fd -> socket inode -> /proc/net/unix path), so
 * runs of other tests in /tmp never confuse the checks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow/flow.h"
#include "testutil.h"

#define MAX_PIDS 1024

/* A fresh directory under /tmp whose path is at least `min_len` bytes
 * long, made of nested directories; its top directory in `top`. */
static void
make_long_dir(char *out, size_t size, size_t min_len, char *top,
              size_t top_size)
{
    char base[] = "/tmp/flow-test-rundir-XXXXXX";

    assert_non_null(mkdtemp(base));
    snprintf(top, top_size, "%s", base);
    snprintf(out, size, "%s", base);
    while (strlen(out) < min_len) {
        size_t len = strlen(out);

        assert_true(len + 32 < size);
        snprintf(out + len, size - len, "/%s",
                 "nested-directory-for-a-long-path");
        assert_int_equal(mkdir(out, 0700), 0);
    }
}

/* Remove `top` and the chain of single subdirectories make_long_dir made
 * (each must be empty but for the next). */
static void
remove_long_dir(const char *top, const char *leaf)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s", leaf);
    while (strlen(path) >= strlen(top)) {
        char *slash;

        assert_int_equal(rmdir(path), 0);
        slash = strrchr(path, '/');
        *slash = '\0';
    }
}

/* Number of entries in `dir`, besides . and ..; the first one's name in
 * `first` (if any). */
static int
dir_entries(const char *dir, char *first, size_t size)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n++ == 0 && first)
            snprintf(first, size, "%s", de->d_name);
    }
    closedir(d);
    return n;
}

/* Whether /proc/PID/fd holds socket inode `ino`. */
static bool
pid_has_socket(pid_t pid, unsigned long ino)
{
    char path[64], link[128], want[64];
    DIR *d;
    struct dirent *de;
    bool found = false;

    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    snprintf(want, sizeof(want), "socket:[%lu]", ino);
    d = opendir(path);
    if (!d)
        return false;
    while (!found && (de = readdir(d))) {
        char fd[sizeof(path) + 260];
        ssize_t n;

        snprintf(fd, sizeof(fd), "%s/%s", path, de->d_name);
        n = readlink(fd, link, sizeof(link) - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        found = !strcmp(link, want);
    }
    closedir(d);
    return found;
}

/* Add the children of `parent` to `pids`. */
static void
add_children(pid_t parent, pid_t *pids, size_t *npids, size_t max)
{
    DIR *d = opendir("/proc");
    struct dirent *de;

    assert_non_null(d);
    while ((de = readdir(d)) && *npids < max) {
        char path[300], buf[1024];
        FILE *f;
        const char *close_paren;
        long ppid;

        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        /* pid (comm) state ppid ...: comm may hold spaces and ')'. */
        if (fgets(buf, sizeof(buf), f) && (close_paren = strrchr(buf, ')')) &&
            sscanf(close_paren + 1, " %*c %ld", &ppid) == 1 &&
            ppid == (long)parent)
            pids[(*npids)++] = (pid_t)strtol(de->d_name, NULL, 10);
        fclose(f);
    }
    closedir(d);
}

/* The directory of the first filesystem unix socket that flowrun or one of
 * its children holds, into `dir`. Returns false if none. */
static bool
find_run_dir(pid_t flowrun, char *dir, size_t size)
{
    pid_t pids[MAX_PIDS];
    size_t npids = 0;
    FILE *f = fopen("/proc/net/unix", "r");
    char line[4096];
    bool found = false;

    pids[npids++] = flowrun;
    add_children(flowrun, pids, &npids, MAX_PIDS);
    assert_non_null(f);
    while (!found && fgets(line, sizeof(line), f)) {
        char sock[4096];
        unsigned long ino;
        char *slash;

        /* Num RefCount Protocol Flags Type St Inode Path */
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %4095s", &ino, sock) !=
                2 ||
            sock[0] != '/')
            continue;
        for (size_t i = 0; i < npids && !found; i++)
            if (pid_has_socket(pids[i], ino)) {
                slash = strrchr(sock, '/');
                *slash = '\0';
                snprintf(dir, size, "%s", sock);
                found = true;
            }
    }
    fclose(f);
    return found;
}

/* What run_pids saw. */
typedef struct seen {
    char run_dir[PATH_MAX];
    mode_t mode;
    uid_t uid;
    int lines;
    int status;
} seen_t;

/*
 * Run graphs/pids.ini with instances lingering, find its run directory
 * while they linger, then wait for the end. With `sig`, send it to flowrun
 * instead of waiting for the linger to end.
 */
static void
run_pids(seen_t *s, int sig)
{
    const char *args[] = { tu_src("graphs/pids.ini"), "--quiet", "--set",
                           "linger_ms=3000", NULL };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int fd;
    pid_t flowrun = tu_spawn(args, &fd);
    FILE *f = fdopen(fd, "r");
    char line[256];
    struct stat st;

    memset(s, 0, sizeof(*s));
    assert_non_null(f);
    for (long i = 0; i < ncpu; i++) {
        long idx, pid;

        assert_non_null(fgets(line, sizeof(line), f));
        assert_int_equal(sscanf(line, "%ld %ld", &idx, &pid), 2);
        s->lines++;
    }
    assert_true(find_run_dir(flowrun, s->run_dir, sizeof(s->run_dir)));
    assert_int_equal(stat(s->run_dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    s->mode = st.st_mode & 07777;
    s->uid = st.st_uid;
    if (sig)
        kill(flowrun, sig);
    while (fgets(line, sizeof(line), f))
        s->lines++;
    fclose(f);
    assert_int_equal(waitpid(flowrun, &s->status, 0), flowrun);
}

/* Save XDG_RUNTIME_DIR and TMPDIR, restored by restore_env. */
static char *saved_xdg, *saved_tmpdir;

static void
save_env(void)
{
    const char *x = getenv("XDG_RUNTIME_DIR"), *t = getenv("TMPDIR");

    saved_xdg = x ? strdup(x) : NULL;
    saved_tmpdir = t ? strdup(t) : NULL;
}

static void
restore_env(void)
{
    if (saved_xdg)
        setenv("XDG_RUNTIME_DIR", saved_xdg, 1);
    else
        unsetenv("XDG_RUNTIME_DIR");
    if (saved_tmpdir)
        setenv("TMPDIR", saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(saved_xdg);
    free(saved_tmpdir);
    saved_xdg = saved_tmpdir = NULL;
}

/* Whether `dir` is `parent`/flow-XXXXXX. */
static bool
is_run_dir_under(const char *dir, const char *parent)
{
    size_t n = strlen(parent);

    return !strncmp(dir, parent, n) && !strncmp(dir + n, "/flow-", 6) &&
           strlen(dir + n + 6) == 6 && !strchr(dir + n + 1, '/');
}

/* TMPDIR too long for socket paths, no XDG_RUNTIME_DIR: the run falls back
 * to /tmp, and neither place keeps anything. */
static void
test_rundir_long_tmpdir(void **unused)
{
    char top[PATH_MAX], tmpdir[PATH_MAX];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    seen_t s;
    char *graph;
    tu_result_t r;

    (void)unused;
    save_env();
    make_long_dir(tmpdir, sizeof(tmpdir), 121, top, sizeof(top));
    assert_true(strlen(tmpdir) > 120);
    unsetenv("XDG_RUNTIME_DIR");
    setenv("TMPDIR", tmpdir, 1);

    run_pids(&s, 0);
    assert_true(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0);
    assert_int_equal(s.lines, ncpu);
    if (!is_run_dir_under(s.run_dir, "/tmp")) {
        print_error("run directory '%s' is not /tmp/flow-XXXXXX\n", s.run_dir);
        fail();
    }
    assert_int_equal(s.mode, 0700);
    assert_int_equal(s.uid, getuid());
    assert_int_equal(access(s.run_dir, F_OK), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(dir_entries(tmpdir, NULL, 0), 0);

    /* A plain run too, with its output checked. */
    graph = tu_temp_file("[src]\ntype = range\ncount = 1000\n"
                         "[out]\ntype = collect\nmode = count\n"
                         "[links]\npush = src.out -> out.in\n");
    assert_int_equal(tu_runl(&r, 60, graph, NULL), 0);
    assert_string_equal(r.out, "1000\n");
    tu_result_release(&r);
    unlink(graph);
    free(graph);
    assert_int_equal(dir_entries(tmpdir, NULL, 0), 0);

    remove_long_dir(top, tmpdir);
    restore_env();
}

/* A short fresh TMPDIR: during the run, the run directory is TMPDIR's only
 * entry, a 0700 directory of ours; afterwards TMPDIR is empty. */
static void
test_rundir_short_tmpdir(void **unused)
{
    char tmpdir[] = "/tmp/flow-test-rundir-XXXXXX", name[256];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    seen_t s;

    (void)unused;
    save_env();
    assert_non_null(mkdtemp(tmpdir));
    unsetenv("XDG_RUNTIME_DIR");
    setenv("TMPDIR", tmpdir, 1);

    run_pids(&s, 0);
    assert_true(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0);
    assert_int_equal(s.lines, ncpu);
    if (!is_run_dir_under(s.run_dir, tmpdir)) {
        print_error("run directory '%s' is not under '%s'\n", s.run_dir,
                    tmpdir);
        fail();
    }
    assert_int_equal(s.mode, 0700);
    assert_int_equal(s.uid, getuid());
    assert_int_equal(dir_entries(tmpdir, name, sizeof(name)), 0);
    assert_int_equal(rmdir(tmpdir), 0);
    restore_env();
}

/* XDG_RUNTIME_DIR, when a writable directory, wins over TMPDIR; when it
 * is missing, TMPDIR is used. */
static void
test_rundir_xdg_first(void **unused)
{
    char xdg[] = "/tmp/flow-test-xdg-XXXXXX";
    char tmpdir[] = "/tmp/flow-test-rundir-XXXXXX";
    seen_t s;

    (void)unused;
    save_env();
    assert_non_null(mkdtemp(xdg));
    assert_non_null(mkdtemp(tmpdir));
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    setenv("TMPDIR", tmpdir, 1);
    run_pids(&s, 0);
    assert_true(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0);
    assert_true(is_run_dir_under(s.run_dir, xdg));
    assert_int_equal(s.mode, 0700);
    assert_int_equal(dir_entries(xdg, NULL, 0), 0);
    assert_int_equal(dir_entries(tmpdir, NULL, 0), 0);

    setenv("XDG_RUNTIME_DIR", "/nonexistent-flow-xdg", 1);
    run_pids(&s, 0);
    assert_true(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0);
    assert_true(is_run_dir_under(s.run_dir, tmpdir));
    assert_int_equal(dir_entries(tmpdir, NULL, 0), 0);

    /* A directory that takes no directory (even for root, who passes the
     * access check): /tmp instead (it failed, naming no path). */
    setenv("TMPDIR", "/proc", 1);
    run_pids(&s, 0);
    assert_true(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0);
    assert_true(is_run_dir_under(s.run_dir, "/tmp"));

    assert_int_equal(rmdir(xdg), 0);
    assert_int_equal(rmdir(tmpdir), 0);
    restore_env();
}

/*
 * A run directory that cannot be made (its parent a file here; a read-only
 * or full /tmp with TMPDIR and XDG_RUNTIME_DIR unset for flowrun) is a run
 * that cannot start here, as a low ulimit -n: FLOW_EUSAGE (flowrun exits
 * 2), said with the directory. It was FLOW_ENODE, exit 1, "a node failed",
 * when no node had even started.
 */
static void
test_rundir_cannot_make(void **unused)
{
    static const char ini[] = "[gen]\ntype = range\ncount = 3\n"
                              "[out]\ntype = collect\noutput = /dev/null\n"
                              "[links]\npush = gen.out -> out.in\n";
    char file[] = "/tmp/flow-test-notdir-XXXXXX", errpath[64], said[512];
    flow_registry_t *reg = flow_registry_new();
    flow_run_opts_t opts;
    flow_diag_t diag;
    flow_graph_t *g;
    int fd, saved, signo = 0, rc;
    ssize_t n;

    (void)unused;
    fd = mkstemp(file);
    assert_true(fd >= 0);
    close(fd);
    flow_registry_add_path(reg, tu_plugin_dir());
    g = flow_graph_load_string(ini, strlen(ini), "notdir.ini", reg, NULL, 0,
                               &diag);
    assert_non_null(g);
    memset(&opts, 0, sizeof(opts));
    opts.quiet = 1;
    opts.run_dir = file; /* a file: no directory can be made in it */
    snprintf(errpath, sizeof(errpath), "%s.err", file);
    fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    rc = flow_graph_run(g, &opts, &signo);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, said, sizeof(said) - 1, 0);
    close(fd);
    said[n > 0 ? n : 0] = '\0';
    assert_int_equal(rc, FLOW_EUSAGE);
    tu_assert_contains(said, "flowrun: error: cannot make the run directory "
                             "in '");
    tu_assert_contains(said, file);
    /* the place named is the caller's run_dir, not the environment's */
    tu_assert_contains(said, "(it is made in the run options' run_dir: "
                             "point run_dir at a writable directory)");
    assert_null(strstr(said, "XDG_RUNTIME_DIR"));
    assert_int_equal(unlink(errpath), 0);
    assert_int_equal(unlink(file), 0);
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
}

/*
 * A TMPDIR with room for a directory but not for a file (a tmpfs out of
 * inodes, as a full disk): the run cannot start here, exit 2, said with
 * the directory, nothing left in it. It went on without its lock and
 * failed node by node ("cannot bind ... No space left on device", exit
 * 1). Needs mount(2): skipped where not allowed.
 */
static void
test_rundir_full_tmpdir(void **unused)
{
    char tmpdir[] = "/tmp/flow-test-full-XXXXXX", name[256], want[128];
    int status, left;
    tu_result_t r;

    (void)unused;
    assert_non_null(mkdtemp(tmpdir));
    if (mount("tmpfs", tmpdir, "tmpfs", 0, "size=64k,nr_inodes=2")) {
        rmdir(tmpdir);
        skip();
    }
    save_env();
    unsetenv("XDG_RUNTIME_DIR");
    setenv("TMPDIR", tmpdir, 1);
    status = tu_runl(&r, 30, tu_src("graphs/pids.ini"), NULL);
    restore_env();
    left = dir_entries(tmpdir, name, sizeof(name));
    assert_int_equal(umount(tmpdir), 0);
    assert_int_equal(rmdir(tmpdir), 0);
    if (status != 2)
        fprintf(stderr, "status %d, stderr:\n%s\n", status, r.err);
    assert_int_equal(status, 2);
    snprintf(want, sizeof(want),
             "flowrun: error: cannot make the run directory in '%s': No "
             "space left on device",
             tmpdir);
    tu_assert_contains(r.err, want);
    assert_int_equal(r.outlen, 0);
    assert_int_equal(left, 0);
    tu_result_release(&r);
}

/* Stopped by SIGINT while the instances linger: exit 130 and the run
 * directory is still removed. */
static void
test_rundir_removed_on_signal(void **unused)
{
    char tmpdir[] = "/tmp/flow-test-rundir-XXXXXX";
    seen_t s;

    (void)unused;
    save_env();
    assert_non_null(mkdtemp(tmpdir));
    unsetenv("XDG_RUNTIME_DIR");
    setenv("TMPDIR", tmpdir, 1);
    run_pids(&s, SIGINT);
    assert_true(WIFEXITED(s.status));
    assert_int_equal(WEXITSTATUS(s.status), 130);
    assert_true(is_run_dir_under(s.run_dir, tmpdir));
    assert_int_equal(dir_entries(tmpdir, NULL, 0), 0);
    assert_int_equal(rmdir(tmpdir), 0);
    restore_env();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rundir_long_tmpdir),
        cmocka_unit_test(test_rundir_short_tmpdir),
        cmocka_unit_test(test_rundir_xdg_first),
        cmocka_unit_test(test_rundir_cannot_make),
        cmocka_unit_test(test_rundir_full_tmpdir),
        cmocka_unit_test(test_rundir_removed_on_signal),
    };

    tu_watchdog(280);
    return cmocka_run_group_tests_name("rundir", tests, NULL, NULL);
}
