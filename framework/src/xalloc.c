/* SPDX-License-Identifier: MIT */
/* xalloc.c: allocation that aborts on out-of-memory (git's xmalloc). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void
oom(size_t size)
{
    fprintf(stderr, "flow: fatal: out of memory allocating %zu bytes\n", size);
    abort();
}

void *
flow__xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *
flow__xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *
flow__xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

char *
flow__xstrdup(const char *s)
{
    return flow__xstrndup(s, strlen(s));
}

char *
flow__xstrndup(const char *s, size_t n)
{
    char *p = flow__xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
flow__xasprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort(); /* a bad format: a bug, not a shortage */
    p = flow__xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void
flow__xgrow(void **ptr, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 8;

    if (need <= *cap)
        return;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / size)
        oom(SIZE_MAX);
    *ptr = flow__xrealloc(*ptr, c * size);
    *cap = c;
}
