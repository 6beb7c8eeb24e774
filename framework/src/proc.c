/* SPDX-License-Identifier: MIT */
/* proc.c: describing how a child process ended. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "internal.h"

void
flow__status_describe(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        snprintf(buf, size, "was killed by signal SIG%s (%d)",
                 name ? name : "?", WTERMSIG(status));
    } else {
        snprintf(buf, size, "ended with wait status %d", status);
    }
}
