/* SPDX-License-Identifier: MIT */
/*
 * rendezvous.h: the control plane of TCP runs. The launcher (or a
 * `flowrun --rendezvous-only`) binds a ROUTER socket; every instance
 * connects a DEALER, registers the endpoints it bound, and waits. When all
 * instances have registered, the rendezvous sends each the full endpoint
 * table: that is the start barrier. When all have reported done, it
 * releases them: the exit barrier. A failing instance reports why; the
 * rendezvous then tells every other instance to stop.
 *
 * Messages are single text frames, one record per line:
 *   instance -> rendezvous:  "HELLO <index> <pid> <host>\n" then
 *                            "<link> <a> <b> <endpoint>\n" per bound socket
 *                            "DONE <index>\n"
 *                            "FAIL <index> <reason>\n"
 *                            "STOPPED <index> <reason>\n" (a FAIL: a signal
 *                            sent to its `flowrun --instance` stopped it)
 *   rendezvous -> instance:  "WELCOME <liveness>\n" (in ms, after its HELLO,
 *                            when the rendezvous has a liveness)
 *                            "TABLE <liveness>\n" (in ms, 0: none) then
 *                            the endpoint records of all
 *                            "RELEASE\n"
 *                            "ABORT\n"
 * `index` is the process index (node by node, instance by instance); `b`
 * is -1 for a push link's consumer endpoint.
 */
#ifndef FLOW_RENDEZVOUS_H
#define FLOW_RENDEZVOUS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "internal.h"

typedef struct flow_rdv flow_rdv_t;

/*
 * Bind a rendezvous for `g` at `bind` ("tcp://ADDR:*" or an ipc endpoint)
 * in the ZeroMQ context `ctx`. With `liveness_s` > 0, a connection silent
 * that long (an instance stopped, or its host frozen or gone) is dropped, and
 * the instances drop theirs to a rendezvous silent that long (ZMTP
 * heartbeats; at most FLOW__LIVENESS_MAX_S). On success returns it (caller
 * destroys) and stores the address instances connect to in `addr` (a
 * wildcard address is replaced by this host's address). NULL with -errno
 * in `*err`.
 */
flow_rdv_t *flow__rdv_new(void *ctx, const flow_graph_t *g, const char *bind,
                          double liveness_s, char *addr, size_t addrlen,
                          int *err);

/* The default and the largest liveness of a rendezvous serving instances
 * started elsewhere (the PING's time to live is sent in tenths of a second,
 * 16 bits). */
#define FLOW__LIVENESS_S     10.0
#define FLOW__LIVENESS_MAX_S 6553.0

void flow__rdv_destroy(flow_rdv_t **rdv_p);

/* Do not print failures (the launcher captures the instances' stderr). */
void flow__rdv_set_quiet(flow_rdv_t *rdv, bool quiet);

/* A file descriptor that becomes readable when messages may be waiting. */
int flow__rdv_fd(flow_rdv_t *rdv);

/*
 * Handle every waiting message. Returns 0, or FLOW_ENODE after printing
 * "flowrun: error: node 'X' instance I (pid P on HOST): REASON" when an
 * instance reported a failure or was lost, or after saying that this
 * process was held longer than the liveness (then call flow__rdv_abort).
 */
int flow__rdv_process(flow_rdv_t *rdv);

/* Tell every registered instance to stop now. */
void flow__rdv_abort(flow_rdv_t *rdv);

/* True once every instance registered / reported done. */
bool flow__rdv_started(const flow_rdv_t *rdv);

/* True once process `k` of the run said DONE (its work ended; it waits to
 * be released). */
bool flow__rdv_peer_done(const flow_rdv_t *rdv, size_t k);
/* True once instance `k` reported its own failure (FAIL or STOPPED). */
bool flow__rdv_peer_failed(const flow_rdv_t *rdv, size_t k);
bool flow__rdv_finished(const flow_rdv_t *rdv);

/* True once every instance registered and, if the run was stopped, every
 * one was told to stop (or reported its own failure): nobody is left to
 * answer. */
bool flow__rdv_all_told(const flow_rdv_t *rdv);

/* Name the instances that have not reported done into `buf` (NUL-ended,
 * "and N more" at the end when it is too short for them all). */
void flow__rdv_pending(const flow_rdv_t *rdv, char *buf, size_t size);

/* As flow__rdv_pending, the instances that never registered; returns how
 * many there are. */
size_t flow__rdv_unregistered(const flow_rdv_t *rdv, char *buf, size_t size);

/* How many connections failed the security handshake so far: made by a
 * process whose FLOW_KEY is not this rendezvous's (netkey.h), or a
 * stranger's. Counted where the rendezvous watches its connections (it
 * binds TCP). */
size_t flow__rdv_handshakes_failed(const flow_rdv_t *rdv);

/* ---- Serving instances started elsewhere (remote.c) ---------------------- */

/*
 * Create a ZeroMQ context and a rendezvous for `g` in it, bound on TCP
 * address `bind` (NULL, "" or "*": all interfaces), with the liveness of
 * `opts` (flow__liveness; see flow__rdv_new), warning unless `opts` is quiet
 * when it can announce only 127.0.0.1, first making room for two
 * descriptors per instance
 * (flow__fd_limit). Returns the context (the caller destroys `*rdv` and
 * then terminates it) and stores the address to announce in `addr`; NULL
 * after printing why (an address --bind cannot use, too low a limit on
 * open files).
 */
void *flow__rdv_start(const flow_graph_t *g, const char *bind,
                      const flow_run_opts_t *opts, flow_rdv_t **rdv, char *addr,
                      size_t size);

/* The liveness asked for by `opts` (NULL: nothing asked): its liveness_s,
 * FLOW__LIVENESS_S when that is 0, 0 (none) when it is negative. */
double flow__liveness(const flow_run_opts_t *opts);

/* A rendezvous not started (an instance never registered) says which
 * instances it waits for this long after it began, and every
 * FLOW__RDV_NOTICE_EVERY_S after that, unless `quiet`. */
#define FLOW__RDV_NOTICE_S       5.0
#define FLOW__RDV_NOTICE_EVERY_S 60.0

/*
 * Serve `rdv` until every instance finished, one failed (FLOW_ENODE), the
 * deadline of `opts` (NULL: none; its timeout_s, 0: none; FLOW_ETIMEDOUT),
 * a stop signal (SIGINT, SIGTERM, SIGHUP: FLOW_EINTR, its number in
 * `*signo` if not NULL), or `child` (if > 0) exited: `*child_status` gets
 * its wait status. Returns 0 otherwise; FLOW_ENODE at once, `rdv`
 * aborted and the cause printed, when it cannot watch for stop signals.
 */
int flow__rdv_serve(const flow_graph_t *g, flow_rdv_t *rdv,
                    const flow_run_opts_t *opts, pid_t child, int *child_status,
                    int *signo);

#endif
