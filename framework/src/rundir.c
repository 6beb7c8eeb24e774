/* SPDX-License-Identifier: MIT */
/*
 * rundir.c: the private run directory of a run (its ipc:// endpoints):
 * making it, with a lock that lives as long as the run's processes;
 * removing it; and removing those whose run was killed (SIGKILL, the OOM
 * killer) before it could remove them.
 *
 * The lock: a file "lock" in the directory, flock()ed by the launcher (and
 * so by its forked instances, which share the open file). The kernel
 * releases it when the last of them exits, however they end, so a lock
 * that can be taken is a run that is over. A directory without "lock" is
 * one being made (the lock is taken before it gets its name) or one that
 * an older flowrun made: left alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define PREFIX   "flow-"
#define NAME_LEN (sizeof(PREFIX) - 1 + 6) /* flow-XXXXXX */

void
flow__rundir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096 + 512];

    if (d) {
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
                (int)sizeof(path))
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Remove the run directories in `base` (other than `self`) that are ours
 * and whose lock is free. */
static void
sweep(const char *base, const char *self)
{
    DIR *d = opendir(base);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d))) {
        char path[4096 + 64], lock[4096 + 64];
        struct stat st;
        int fd;

        if (strlen(de->d_name) != NAME_LEN ||
            strncmp(de->d_name, PREFIX, sizeof(PREFIX) - 1) ||
            (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", base, de->d_name) >=
                (int)sizeof(path) ||
            !strcmp(path, self) || lstat(path, &st) || !S_ISDIR(st.st_mode) ||
            st.st_uid != geteuid() || (st.st_mode & 0777) != 0700)
            continue;
        snprintf(lock, sizeof(lock), "%s/lock", path);
        fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            flow__rundir_remove(path); /* its run is over */
        close(fd);
    }
    closedir(d);
}

int
flow__rundir_make(const char *base, char *dir, size_t size, int *lock_fd)
{
    struct stat st;
    char tmp[4096 + 64], lock[4096 + 64];
    int fd;

    *lock_fd = -1;
    if (!base) {
        base = getenv("XDG_RUNTIME_DIR");
        if (!base || !*base || stat(base, &st) || !S_ISDIR(st.st_mode) ||
            access(base, W_OK))
            base = getenv("TMPDIR");
        if (!base || !*base || stat(base, &st) || !S_ISDIR(st.st_mode) ||
            access(base, W_OK))
            base = "/tmp";
    }
    if (snprintf(dir, size, "%s/" PREFIX "XXXXXX", base) >= (int)size) {
        base = "/tmp"; /* the socket paths would not fit anyway */
        snprintf(dir, size, "/tmp/" PREFIX "XXXXXX");
    }
    if (!mkdtemp(dir))
        return -errno;
    /* Locked before it is named "lock": a sweeper never sees it free. */
    snprintf(tmp, sizeof(tmp), "%s/lock.new", dir);
    snprintf(lock, sizeof(lock), "%s/lock", dir);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) || rename(tmp, lock)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        flow__rundir_remove(dir);
        return -e;
    }
    *lock_fd = fd;
    sweep(base, dir);
    return 0;
}
