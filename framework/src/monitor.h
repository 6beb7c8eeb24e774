/* SPDX-License-Identifier: MIT */
/*
 * monitor.h: the events of a ZeroMQ socket's connections (libzmq's socket
 * monitor), opened, read one event at a time, and closed. The node's
 * links, its connection to the rendezvous and the rendezvous itself watch
 * their connections this way: a handshake done, a connection lost, a key
 * refused.
 */
#ifndef FLOW_MONITOR_H
#define FLOW_MONITOR_H

#include <stddef.h>
#include <stdint.h>

/*
 * Watch the events `events` (ZMQ_EVENT_* bits) of socket `sock`, before it
 * binds or connects not to miss one. Returns the monitor, a PAIR socket of
 * context `ctx` the caller reads with flow__monitor_read and closes with
 * flow__monitor_close, or NULL (zmq_errno says why; `sock` is not watched).
 */
void *flow__monitor_open(void *ctx, void *sock, int events);

/*
 * Read the next event queued on monitor `mon`, without waiting. Returns 1
 * with its number in `*ev`, its value in `*val` (if not NULL) and the
 * endpoint it names in `addr` (if not NULL; `addrlen` bytes, cut short and
 * always terminated); 0 if none is queued, or `mon` is NULL.
 */
int flow__monitor_read(void *mon, uint16_t *ev, uint32_t *val, char *addr,
                       size_t addrlen);

/* Stop watching `sock` (if not NULL) and close `mon` (if not NULL). */
void flow__monitor_close(void *sock, void *mon);

#endif
