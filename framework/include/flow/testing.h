/* SPDX-License-Identifier: MIT */
/*
 * testing.h: a test harness for node authors, in the spirit of GstHarness.
 *
 * A harness runs one node type in the calling process, without forking and
 * without sockets: it parses the parameters with the same parser and table as
 * a graph, lets the test push messages onto the node's input (and pair) ports
 * and end them, calls the node's callbacks, and keeps whatever the node sends
 * on each output (and pair) port for the test to pull. It is part of libflow;
 * a test links the node's source compiled with -DFLOW_NODE_STATIC (or any
 * descriptor) and libflow, and can use any test framework (cmocka works well).
 *
 *   flow_harness_t *h = flow_harness_new(&flow_node_scale, params, 1, &diag);
 *   flow_harness_push_i64s(h, "in", values, 3, FLOW_SEQ_NONE);
 *   flow_harness_close(h, "in");
 *   assert(flow_harness_run(h) == 0);
 *   int64_t *out = flow_harness_pull_i64s(h, "out", &n);
 *   ...
 *   free(out);
 *   flow_harness_destroy(&h);
 *
 * Life of the node in a harness, as in a graph:
 *
 *   - check (if the type has one) and then init are called once, by the
 *     first flow_harness_run (so set batch sizes and channel counts before
 *     it); a check that refuses makes it return FLOW_EPARAM.
 *   - A process-mode node: each flow_harness_run passes every message queued
 *     so far to process, in the order they were pushed. Once every input and
 *     pair port has been ended with flow_harness_close and its queue is
 *     empty, the same call runs finish, ends every output and pair port, and
 *     calls fini: the node is done. Call flow_harness_run after every push to
 *     watch the node message by message.
 *   - A run-mode node: flow_harness_run calls run once, then finish, ends the
 *     outputs and calls fini. Push and end its inputs first: in a harness,
 *     flow_node_recv on an empty port returns FLOW_EOF if the port was ended,
 *     and otherwise fails the node (it would block forever). What run
 *     leaves queued on its inputs and pair ports is discarded with the
 *     graph's warning ("discarded 2 unread messages on port 'in'").
 *   - An input the node gave up (flow_node_close_input) counts as ended:
 *     its queued messages are dropped, and so is what is pushed on it
 *     after (flow_harness_input_given_up tells).
 *   - If a callback fails, fini is still called (when init had succeeded),
 *     the node is done, and flow_harness_error gives the reason.
 *   - A callback that calls exit() (a node returns, never exits: in a
 *     graph the run fails) ends the test program with status 1, whatever
 *     the status given, after a line on stderr naming the node and the
 *     callback: an exit(0) does not make the test pass.
 *
 * Every port has one channel unless flow_harness_set_channels says
 * otherwise, and a batch size of 1024 unless flow_harness_set_batch does.
 * A port of FLOW_ANY or FLOW_SAME carries any type (its link's hwm is that
 * of an untyped link) unless flow_harness_set_type gives it one.
 * flow_node_name returns the type's name, flow_node_instance 0 and
 * flow_node_instances 1 unless flow_harness_set_instance says otherwise.
 * Log lines of flow_node_log go to stderr, as in a graph.
 *
 * Sequence numbers behave as in a graph: a message the node sends from
 * process without a sequence number of its own gets the input message's.
 */
#ifndef FLOW_TESTING_H
#define FLOW_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "flow/error.h"
#include "flow/msg.h"
#include "flow/node.h"
#include "flow/version.h"

FLOW__BEGIN_DECLS

/* One node under test. Opaque. */
typedef struct flow_harness flow_harness_t;

/* ---- One node in-process ------------------------------------------------- */

/*
 * Create a harness for node type `desc` (borrowed; must outlive the
 * harness), after checking it as the plugin loader does. `params` holds
 * `nparams` strings "key=value" (borrowed, copied as needed), parsed and
 * range-checked against the type's parameter table like values in a graph;
 * spaces and tabs around the key and the value go, as in a graph file and
 * --set ("n = 3" is n=3), and "$${" is a literal "${" while a "${name}"
 * is an error (a reference to a graph parameter, of which a harness has
 * none), as in a graph. Parameters not given take their defaults. Caller
 * owns the returned harness and must flow_harness_destroy it. Returns NULL
 * with `diag` filled (if not NULL) for a bad descriptor (FLOW_EABI), an
 * unknown, malformed, repeated or missing required parameter, or a bad
 * value or reference (FLOW_EPARAM).
 */
FLOW_EXPORT flow_harness_t *flow_harness_new(const flow_node_desc_t *desc,
                                             const char *const *params,
                                             size_t nparams, flow_diag_t *diag);

/*
 * Destroy `*h_p` if not NULL and set it to NULL. If the node was started
 * and is not done, calls its fini first. Messages not pulled are destroyed.
 */
FLOW_EXPORT void flow_harness_destroy(flow_harness_t **h_p);

/*
 * Make the node instance `instance` of `instances` (default 0 of 1), as seen
 * by flow_node_instance and flow_node_instances. Returns 0, or FLOW_EUSAGE
 * if instance >= instances, instances is more than the type's
 * max_instances (a graph refuses it), or the node has started.
 */
FLOW_EXPORT int flow_harness_set_instance(flow_harness_t *h, unsigned instance,
                                          unsigned instances);

/*
 * Set the batch size flow_node_batch returns for `port` (default 1024).
 * Returns 0, FLOW_EPORT for an unknown port, FLOW_EUSAGE for 0 or if the
 * node has started.
 */
FLOW_EXPORT int flow_harness_set_batch(flow_harness_t *h, const char *port,
                                       size_t batch);

/*
 * Set the number of channels of `port` (default 1), as flow_node_channels
 * returns it: consumers of an output, producers of an input, peers of a pair
 * port. flow_node_send_to and flow_node_close_to accept channels below it.
 * Returns 0, FLOW_EPORT for an unknown port, FLOW_EUSAGE for 0 or if the
 * node has started.
 */
FLOW_EXPORT int flow_harness_set_channels(flow_harness_t *h, const char *port,
                                          unsigned channels);

/*
 * Give port `port`, of FLOW_ANY or FLOW_SAME, the item type `type`
 * (FLOW_INT64, FLOW_WORDS or FLOW_BYTES) that a graph's link would give
 * it: the type of the port at the link's other end, as flowrun's type
 * check follows it; for FLOW_SAME, every FLOW_SAME port of the node takes
 * it, as in a graph. Without it such a port stays open, as one linked to
 * no typed port: it takes messages of any type, flow_check_type says
 * FLOW_ANY and flow_node_hwm gives the default of an untyped link (64),
 * where a real run gives a port linked to an int64 port the int64 default
 * for its batch size (127 at batch 1024, `flowrun --dot` says flow_hwm).
 * With it, flow_check_type says `type`, flow_node_hwm gives the default
 * for `type` and the port's batch size, and sends and pushes of another
 * type are refused, as in a graph. Returns 0, FLOW_EPORT for an unknown
 * port or a type the port cannot carry (its declared type, the type a
 * FLOW_SAME port already has, or a message of another type pushed on it,
 * or on another FLOW_SAME port, before), FLOW_EUSAGE for another `type` or
 * if the node has started. Since flow 0.9.
 */
FLOW_EXPORT int flow_harness_set_type(flow_harness_t *h, const char *port,
                                      flow_type_t type);

/*
 * Queue `*msg_p` on input or pair port `port` and set `*msg_p` to NULL
 * (transfer full, also on failure). Returns 0, or FLOW_EPORT for an unknown
 * port, an output port, a port already ended, a NULL message or a message
 * whose item type the port does not carry.
 */
FLOW_EXPORT int flow_harness_push(flow_harness_t *h, const char *port,
                                  flow_msg_t **msg_p);

/*
 * As flow_harness_push, as if the message came from channel `channel` of
 * `port` (a producer instance of an input, a peer of a pair port), as
 * flow_node_recv_from sees it. FLOW_EPORT also for a channel out of range.
 */
FLOW_EXPORT int flow_harness_push_to(flow_harness_t *h, const char *port,
                                     unsigned channel, flow_msg_t **msg_p);

/*
 * Queue one FLOW_INT64 message holding the `n` values at `values`
 * (borrowed; NULL only with `n` 0), with sequence number `seq`
 * (FLOW_SEQ_NONE for none). Same errors as flow_harness_push, and
 * FLOW_EPARAM for NULL with `n` not 0 or more values than a message holds
 * (UINT32_MAX).
 */
FLOW_EXPORT int flow_harness_push_i64s(flow_harness_t *h, const char *port,
                                       const int64_t *values, size_t n,
                                       uint64_t seq);

/*
 * Queue one FLOW_WORDS message holding the `n` NUL-terminated words at
 * `words` (borrowed), with sequence number `seq`. Same errors as
 * flow_harness_push, FLOW_EPARAM if `words` is NULL while `n` is not 0, and
 * FLOW_EPROTO past what a message holds (UINT32_MAX words or bytes).
 */
FLOW_EXPORT int flow_harness_push_words(flow_harness_t *h, const char *port,
                                        const char *const *words, size_t n,
                                        uint64_t seq);

/*
 * Queue one FLOW_BYTES message holding the `len` bytes at `data` (borrowed:
 * copied; NULL only with `len` 0), with sequence number `seq`. Same errors
 * as flow_harness_push, FLOW_EPARAM for NULL with `len` not 0, and
 * FLOW_EPROTO past what a message holds (UINT32_MAX bytes).
 */
FLOW_EXPORT int flow_harness_push_bytes(flow_harness_t *h, const char *port,
                                        const void *data, size_t len,
                                        uint64_t seq);

/*
 * End input or pair port `port`: after its queued messages the node sees
 * end-of-stream there. Ending a port twice is allowed. Returns 0 or
 * FLOW_EPORT for an unknown or output port.
 */
FLOW_EXPORT int flow_harness_close(flow_harness_t *h, const char *port);

/*
 * End input or pair port `port` as a stream cut short by a graceful stop
 * (a producer stopped by Ctrl-C, or because no one wanted its work): as
 * flow_harness_close, and once the node has taken the port's queued
 * messages, flow_node_input_cut(node, port) is true. Returns as
 * flow_harness_close.
 */
FLOW_EXPORT int flow_harness_close_cut(flow_harness_t *h, const char *port);

/* End every input and pair port. Returns 0. */
FLOW_EXPORT int flow_harness_close_all(flow_harness_t *h);

/* Return true when the node gave input port `port` up
 * (flow_node_close_input), false otherwise or for an unknown port. */
FLOW_EXPORT bool flow_harness_input_given_up(const flow_harness_t *h,
                                             const char *port);

/*
 * Run the node as far as it can go now (see the life of the node above).
 * Returns 0 on success (whether or not the node is done), the negative code
 * a callback returned (with flow_harness_error telling why), or FLOW_EUSAGE
 * if the node is already done.
 */
FLOW_EXPORT int flow_harness_run(flow_harness_t *h);

/* Return 1 once the node is done (finished, or failed), else 0. */
FLOW_EXPORT int flow_harness_done(const flow_harness_t *h);

/*
 * Return why the node failed, as given to flow_node_fail (or a message
 * naming the callback and the code it returned), or NULL if it has not
 * failed. Borrowed: valid until the harness is destroyed.
 */
FLOW_EXPORT const char *flow_harness_error(const flow_harness_t *h);

/*
 * Take the next message the node sent on output or pair port `port`: stores
 * it in `*msg_p` (caller owns it and must flow_msg_destroy it) and, if
 * `channel` is not NULL, the channel it was sent to in `*channel`; returns
 * 0. Otherwise stores NULL and returns FLOW_EOF when the node has ended the
 * port (every channel of it), FLOW_ENOENT when nothing is queued yet, or
 * FLOW_EPORT for an unknown or input port.
 */
FLOW_EXPORT int flow_harness_pull(flow_harness_t *h, const char *port,
                                  flow_msg_t **msg_p, unsigned *channel);

/* Return the number of messages queued on output or pair port `port`. */
FLOW_EXPORT size_t flow_harness_pending(const flow_harness_t *h,
                                        const char *port);

/*
 * Take every message queued on `port` and return their int64 items
 * concatenated, in the order sent, storing the count in `*n`. Caller owns
 * the array and must free() it. Returns NULL (with `*n` 0) when there is no
 * item, for an unknown port, or if a queued message is not FLOW_INT64 (the
 * messages are then left queued).
 */
FLOW_EXPORT int64_t *flow_harness_pull_i64s(flow_harness_t *h, const char *port,
                                            size_t *n);

/*
 * As flow_harness_pull_i64s, for FLOW_WORDS messages: returns an array of
 * `*n` NUL-terminated words followed by a NULL pointer. The array and the
 * words are one allocation: the caller frees it with a single free().
 */
FLOW_EXPORT char **flow_harness_pull_words(flow_harness_t *h, const char *port,
                                           size_t *n);

/*
 * As flow_harness_pull_i64s, for FLOW_BYTES messages: returns their bytes
 * concatenated, in the order sent (`*len` of them), followed by a NUL byte
 * not counted, so text can be read as a string. Caller owns it and must
 * free() it. NULL (with `*len` 0) when there is no byte, for an unknown
 * port, or if a queued message is not FLOW_BYTES (left queued).
 */
FLOW_EXPORT char *flow_harness_pull_bytes(flow_harness_t *h, const char *port,
                                          size_t *len);

/* ---- A whole graph, through flowrun -------------------------------------- */

/* What a graph run produced. Release with flow_harness_result_release. */
typedef struct flow_harness_result {
    int status;    /* exit status; 128+N if killed by signal N; -1 timeout */
    char *out;     /* standard output, NUL-terminated (owned by the result) */
    size_t outlen; /* bytes in out, not counting the NUL */
    char *err;     /* standard error, NUL-terminated (owned by the result) */
    size_t errlen; /* bytes in err, not counting the NUL */
} flow_harness_result_t;

/*
 * Run the graph whose INI text is `ini` (borrowed) with flowrun, in a child
 * process, and capture its standard output, standard error and exit status
 * in `*res`, which the caller must release with flow_harness_result_release
 * (also on failure). The text is written to a temporary file, removed
 * afterwards. `flowrun` is the program's path; NULL means $FLOWRUN, or
 * "flowrun" found on $PATH. `args` (borrowed; may be NULL) are extra
 * arguments after the file name, NULL-terminated: "--plugin-path", "DIR",
 * "--set", "n=10", ... With `timeout_s` > 0 (0: no limit), flowrun is
 * given `--timeout timeout_s` (unless `args` holds a --timeout), so that it
 * stops the graph at the limit itself, saying in `res->err` what still ran,
 * and leaves nothing behind; `res->status` is then -1. A flowrun still
 * running 10 s after the limit is killed (status -1 too). Returns 0 when the
 * child ran (whatever its status; 127 if flowrun could not be executed) or
 * -errno if it could not be started.
 */
FLOW_EXPORT int flow_harness_run_graph(const char *ini, const char *flowrun,
                                       const char *const *args,
                                       double timeout_s,
                                       flow_harness_result_t *res);

/* Free the buffers of `res` and zero it. Accepts a zeroed result. */
FLOW_EXPORT void flow_harness_result_release(flow_harness_result_t *res);

FLOW__END_DECLS

#endif
