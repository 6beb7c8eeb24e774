/* SPDX-License-Identifier: MIT */
/*
 * signals.c: the signals of a process that supervises children: which stop
 * signals it takes, and a SIGCHLD that lets it wait for them.
 */
#include <signal.h>
#include <stddef.h>

#include "internal.h"

void
flow__stop_signals_add(sigset_t *mask)
{
    static const int stops[] = { SIGINT, SIGTERM, SIGHUP };

    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
        struct sigaction sa;
        /* Blocked, an ignored signal would still be queued (Linux), so
         * an ignored one must stay out of the mask to stay ignored. */
        if (sigaction(stops[i], NULL, &sa) || sa.sa_handler != SIG_IGN)
            sigaddset(mask, stops[i]);
    }
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
