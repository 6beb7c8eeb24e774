/* SPDX-License-Identifier: MIT */
/*
 * rundir.c: the private run directory of a run (its ipc:// endpoints):
 * making it, with a lock held as long as the run; removing it; and
 * removing those whose run was killed (SIGKILL, the OOM killer) before it
 * could remove them.
 *
 * The lock: a file "lock" in the directory, holding MAGIC, flock()ed by the
 * launcher. The kernel releases it when the launcher exits, however it
 * ends (its instances die with it), so a lock that can be taken is a run
 * that is over. A run directory "flow-XXXXXX" without "lock" is one made
 * where flock does not work, or one an older flowrun made: left alone.
 *
 * A directory is made under a name of its own, ".flow-new-XXXXXX", gets
 * its lock there and only then its name "flow-XXXXXX"; it is renamed
 * ".flow-old-XXXXXX" before it is emptied, the lock last. A launcher killed
 * meanwhile leaves one of those names, which no other program uses: with a
 * free lock, or none and unchanged for STALE_S, it is removed too.
 *
 * The sweep works from descriptors (openat, O_NOFOLLOW, unlinkat), never
 * by path after the checks: in a shared /tmp, a name checked once may be a
 * symlink to somewhere else a moment later.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define PREFIX    "flow-"
#define NAME_LEN  (sizeof(PREFIX) - 1 + 6) /* flow-XXXXXX */
#define NEW       ".flow-new-"             /* being made */
#define OLD       ".flow-old-"             /* being removed */
#define ASIDE_LEN (sizeof(NEW) - 1 + 6)
#define MAGIC     "flowrun run directory\n"
/* A directory being made or removed without its lock for this long is one
 * whose launcher was killed. */
#define STALE_S 60

static void
remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096 + 512];

    if (d) {
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
                !strcmp(de->d_name, "lock"))
                continue;
            if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
                (int)sizeof(path))
                unlink(path);
        }
        closedir(d);
    }
    /* The lock last: killed before, this leaves a directory a sweep
     * recognizes. */
    if (snprintf(path, sizeof(path), "%s/lock", dir) < (int)sizeof(path))
        unlink(path);
    rmdir(dir);
}

/* Rename `from` (".../NAME-XXXXXX") to `prefix` and `suffix` (NULL: its
 * own XXXXXX) in the same directory, into `to` (`size` bytes), never over
 * another name. Returns 0 or -errno (-EEXIST: the name is taken). */
static int
rename_to(const char *from, const char *prefix, const char *suffix, char *to,
          size_t size)
{
    const char *slash = strrchr(from, '/');
    size_t len = strlen(from);
    struct stat st;

    if (!slash || len < 6 ||
        snprintf(to, size, "%.*s/%s%s", (int)(slash - from), from, prefix,
                 suffix ? suffix : from + len - 6) >= (int)size)
        return -ENAMETOOLONG;
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL) /* EINVAL: no RENAME_NOREPLACE on this system */
        return -errno;
    if (lstat(to, &st) == 0)
        return -EEXIST;
    return rename(from, to) ? -errno : 0;
}

void
flow__rundir_release(const char *dir, int *lock_fd)
{
    char aside[4096 + 64];

    /* Unlocked first: on NFS an open file that is removed stays, renamed,
     * and its directory with it. A sweeper that takes the lock now removes
     * what this is removing. */
    if (*lock_fd >= 0)
        close(*lock_fd);
    *lock_fd = -1;
    /* Aside first: a launcher killed while emptying it leaves a name the
     * sweep knows to be ours. */
    remove_dir(rename_to(dir, OLD, NULL, aside, sizeof(aside)) ? dir : aside);
}

/* Whether directory `dfd` is a run directory of ours whose run is over;
 * `aside` if it is one being made or removed. */
static bool
is_stale(int dfd, bool aside)
{
    char magic[sizeof(MAGIC)];
    struct stat st;
    bool stale = false;
    int fd;

    if (fstat(dfd, &st) || st.st_uid != geteuid() ||
        (st.st_mode & 0777) != 0700)
        return false;
    /* Read-write: NFS emulates flock with fcntl locks, which need it. */
    fd = openat(dfd, "lock", O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return aside && errno == ENOENT && time(NULL) - st.st_mtime > STALE_S;
    if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(MAGIC) - 1 &&
        !memcmp(magic, MAGIC, sizeof(MAGIC) - 1))
        stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd); /* and with it the lock: removing needs no lock */
    return stale;
}

/* Remove the files of directory `dfd` (which it takes) and then the
 * directory `name` of `basefd` (only if empty: if the name is now another
 * directory's, that one stays). */
static void
remove_at(int basefd, const char *name, int dfd)
{
    DIR *d = fdopendir(dfd);
    struct dirent *de;

    if (!d) {
        close(dfd);
        return;
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            strcmp(de->d_name, "lock"))
            unlinkat(dirfd(d), de->d_name, 0);
    unlinkat(dirfd(d), "lock", 0); /* last, as remove_dir */
    closedir(d);
    unlinkat(basefd, name, AT_REMOVEDIR);
}

/* Remove the run directories in `base` other than `self` (a name) that
 * are ours and whose run is over. */
static void
sweep(const char *base, const char *self)
{
    int basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int listfd = basefd >= 0 ? fcntl(basefd, F_DUPFD_CLOEXEC, 0) : -1;
    DIR *d = listfd >= 0 ? fdopendir(listfd) : NULL;
    struct dirent *de;

    if (!d && listfd >= 0)
        close(listfd);

    while (d && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        bool aside =
            len == ASIDE_LEN && (!strncmp(de->d_name, NEW, sizeof(NEW) - 1) ||
                                 !strncmp(de->d_name, OLD, sizeof(OLD) - 1));
        int dfd;
        if ((!aside && (len != NAME_LEN ||
                        strncmp(de->d_name, PREFIX, sizeof(PREFIX) - 1))) ||
            !strcmp(de->d_name, self) ||
            (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        dfd = openat(basefd, de->d_name,
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
            continue;
        if (is_stale(dfd, aside))
            remove_at(basefd, de->d_name, dfd);
        else
            close(dfd);
    }
    if (d)
        closedir(d);
    if (basefd >= 0)
        close(basefd);
}

/* Put the lock in run directory `dir`. Returns its descriptor, or -errno
 * where it cannot be had: a file system without flock (the run goes on,
 * and its directory is not swept if the run is killed), or one with no
 * room for a file (-ENOSPC, -EDQUOT: nor for the run's sockets). */
static int
lock_dir(const char *dir)
{
    char tmp[4096 + 64], lock[4096 + 64];
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s/lock.new", dir) >= (int)sizeof(tmp) ||
        snprintf(lock, sizeof(lock), "%s/lock", dir) >= (int)sizeof(lock))
        return -ENAMETOOLONG;
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    /* Locked before it is named "lock": a sweeper never sees it free. */
    if (write(fd, MAGIC, sizeof(MAGIC) - 1) != (ssize_t)sizeof(MAGIC) - 1 ||
        flock(fd, LOCK_EX) || rename(tmp, lock)) {
        int e = errno ? errno : EIO;
        close(fd);
        unlink(tmp);
        return -e;
    }
    return fd;
}

int
flow__rundir_make(const char *base, char *dir, size_t size, int *lock_fd)
{
    struct stat st;
    bool auto_base = !base;
    int rc;

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
    if (snprintf(dir, size, "%s/" NEW "XXXXXX", base) >= (int)size) {
        base = "/tmp"; /* the socket paths would not fit anyway */
        snprintf(dir, size, "/tmp/" NEW "XXXXXX");
    }
    if (!mkdtemp(dir)) {
        int e = errno;
        /* A directory from the environment that takes no directory
         * (TMPDIR=/proc): /tmp instead, as when it is not writable. */
        if (!auto_base || !strcmp(base, "/tmp"))
            return -e;
        base = "/tmp";
        snprintf(dir, size, "/tmp/" NEW "XXXXXX");
        if (!mkdtemp(dir))
            return -errno;
    }
    if ((rc = lock_dir(dir)) == -ENOSPC || rc == -EDQUOT) {
        /* No room for a file: none for the sockets either (the nodes
         * failed one by one, "cannot bind"): a run that cannot start. */
        rmdir(dir);
        return rc;
    }
    *lock_fd = rc >= 0 ? rc : -1;
    /* Its name: flow-XXXXXX, the same letters, or others if taken. */
    char made[4096 + 64], other[7] = "";
    int tries = 0;
    snprintf(made, sizeof(made), "%s", dir);
    while ((rc = rename_to(made, PREFIX, *other ? other : NULL, dir, size)) ==
               -EEXIST &&
           tries++ < 100) {
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz"
                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned char r[6];
        if (getentropy(r, sizeof(r)))
            break;
        for (size_t i = 0; i < 6; i++)
            other[i] = letters[r[i] % (sizeof(letters) - 1)];
    }
    if (rc) {
        snprintf(dir, size, "%s", made);
        flow__rundir_release(dir, lock_fd);
        snprintf(dir, size, "%s", made);
        return rc;
    }
    sweep(base, strrchr(dir, '/') + 1);
    return 0;
}
