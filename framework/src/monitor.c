/* SPDX-License-Identifier: MIT */
/*
 * monitor.c: a socket's connection events (monitor.h). libzmq publishes
 * them on an inproc PAIR endpoint, two frames per event: the event number
 * (16 bits) and its value (32 bits), then the endpoint.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "monitor.h"

void *
flow__monitor_open(void *ctx, void *sock, int events)
{
    /* Unique in the process, whose threads may share a context (the
     * rendezvous of a launcher, a node's watcher). */
    static unsigned next;
    char ep[64];
    void *mon;

    snprintf(ep, sizeof(ep), "inproc://flow-monitor-%d-%u", (int)getpid(),
             __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED));
    if (zmq_socket_monitor(sock, ep, events))
        return NULL;
    mon = zmq_socket(ctx, ZMQ_PAIR);
    if (!mon || zmq_connect(mon, ep)) {
        int e = zmq_errno();
        flow__monitor_close(sock, mon);
        errno = e;
        return NULL;
    }
    return mon;
}

int
flow__monitor_read(void *mon, uint16_t *ev, uint32_t *val, char *addr,
                   size_t addrlen)
{
    zmq_msg_t m;
    int more = 0;
    size_t ml = sizeof(more);

    if (!mon)
        return 0;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return 0;
    }
    *ev = 0;
    if (val)
        *val = 0;
    if (zmq_msg_size(&m) >= 6) {
        memcpy(ev, zmq_msg_data(&m), 2);
        if (val)
            memcpy(val, (const char *)zmq_msg_data(&m) + 2, 4);
    }
    zmq_getsockopt(mon, ZMQ_RCVMORE, &more, &ml);
    /* The endpoint: an event's frames come together, so it is there. */
    if (more && zmq_msg_recv(&m, mon, 0) >= 0 && addr && addrlen)
        snprintf(addr, addrlen, "%.*s", (int)zmq_msg_size(&m),
                 (const char *)zmq_msg_data(&m));
    else if (addr && addrlen)
        addr[0] = '\0';
    zmq_msg_close(&m);
    return 1;
}

void
flow__monitor_close(void *sock, void *mon)
{
    if (sock)
        zmq_socket_monitor(sock, NULL, 0);
    if (mon)
        zmq_close(mon);
}
