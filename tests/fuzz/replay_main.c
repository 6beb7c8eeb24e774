/* SPDX-License-Identifier: MIT */
/*
 * replay_main.c: a main for the fuzz targets when there is no fuzzer (gcc,
 * the normal build). Each argument is a file, fed as one input to
 * LLVMFuzzerTestOneInput, or a directory, whose regular files are fed in
 * name order (names starting with '.' are skipped). A crash, a sanitizer
 * report or an abort() in the target fails the run; so does finding no input
 * at all, which would mean a wrong corpus path.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t replayed;

/* Feed the file at `path` to the target; returns 0 or -1. */
static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    do {
        if (len == cap) {
            unsigned char *nbuf;
            cap = cap ? cap * 2 : 4096;
            nbuf = realloc(buf, cap);
            if (!nbuf) {
                fprintf(stderr, "replay: out of memory\n");
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nbuf;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    replayed++;
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feed every regular file of directory `dir`, in name order. */
static int
replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, size;
    int rc = 0;

    if (!d) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn;
            cap = cap ? cap * 2 : 64;
            nn = realloc(names, cap * sizeof(*names));
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        size = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(size);
        if (!names[n]) {
            rc = -1;
            break;
        }
        snprintf(names[n], size, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (!rc && !stat(names[i], &st) && S_ISREG(st.st_mode))
            rc = replay_file(names[i]);
        free(names[i]);
    }
    free(names);
    if (rc)
        fprintf(stderr, "replay: failed in '%s'\n", dir);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            fprintf(stderr, "replay: cannot stat '%s': %s\n", argv[i],
                    strerror(errno));
            return 1;
        }
        if ((S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i])) <
            0)
            return 1;
    }
    if (!replayed) {
        fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    fprintf(stderr, "replay: %zu inputs, all passed\n", replayed);
    return 0;
}
