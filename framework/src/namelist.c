/* SPDX-License-Identifier: MIT */
/* namelist.c: lists of names in a bounded buffer for one-line messages
 * ("a[0], b[1], and 3 more"); see internal.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Room kept at the end of the buffer for ", and N more". */
#define END_ROOM 32

void
flow__namelist_init(flow_namelist_t *l, char *buf, size_t size)
{
    *l = (flow_namelist_t){ .buf = buf, .size = size };
    buf[0] = '\0';
}

void
flow__namelist_add(flow_namelist_t *l, const char *fmt, ...)
{
    char item[4096];
    size_t sep = l->len ? 2 : 0;
    va_list ap;
    int n;

    if (l->more) { /* after one that did not fit: the list keeps its order */
        l->more++;
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(item, sizeof(item), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(item) ||
        l->len + sep + (size_t)n + END_ROOM >= l->size) {
        l->more++; /* does not fit */
        return;
    }
    memcpy(l->buf + l->len, ", ", sep);
    memcpy(l->buf + l->len + sep, item, (size_t)n + 1);
    l->len += sep + (size_t)n;
}

void
flow__namelist_end(flow_namelist_t *l, const char *what)
{
    if (!l->more)
        return;
    snprintf(l->buf + l->len, l->size - l->len,
             l->len ? ", and %zu more" : "%zu %s", l->more, what);
}
