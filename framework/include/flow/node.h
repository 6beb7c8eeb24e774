/* SPDX-License-Identifier: MIT */
/*
 * node.h: the one header a node plugin includes.
 *
 * A node declares itself with a static descriptor: a name, a summary, a
 * parameter table, a port table and callbacks. The framework parses and
 * checks every parameter against the table before any process starts, fills
 * the node's zeroed state struct, then calls the callbacks in the node's own
 * process:
 *
 *   init(node, state)              optional, once
 *   run(node, state)               for nodes that drive their own loop
 *                                  (sources, protocol nodes): they call
 *                                  flow_node_recv/flow_node_send themselves
 *   process(node, state, port, &m) otherwise, once per arriving message
 *   finish(node, state)            optional, after every input and pair
 *                                  channel has ended (a process() client
 *                                  of a pair server that waits for its
 *                                  clients' end hangs: write it with run)
 *   fini(node, state)              optional, frees what init acquired (sends
 *                                  nothing: the outputs have ended)
 *
 * When run (or finish) returns 0 the framework ends every output that is
 * still open, so consumers see end-of-stream, and waits until every message
 * has been delivered. A callback that returns a negative code fails the node:
 * it should explain why with flow_node_fail first.
 *
 * Example:
 *
 *   struct scale { int64_t factor; };
 *   static const flow_param_t scale_params[] = {
 *       FLOW_PARAM_INT("factor", struct scale, factor, "2", -1000, 1000,
 *                      "multiply every item by this"),
 *       FLOW_PARAM_END
 *   };
 *   static const flow_port_t scale_ports[] = {
 *       FLOW_PORT_IN("in", FLOW_INT64, "numbers"),
 *       FLOW_PORT_OUT("out", FLOW_INT64, "the numbers, scaled"),
 *       FLOW_PORT_END
 *   };
 *   FLOW_NODE(scale) = {
 *       FLOW_NODE_V1,
 *       .name = "scale", .summary = "Multiply numbers by a constant",
 *       .state_size = sizeof(struct scale),
 *       .params = scale_params, .ports = scale_ports,
 *       .process = scale_process,
 *   };
 */
#ifndef FLOW_NODE_H
#define FLOW_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/error.h"
#include "flow/msg.h"
#include "flow/version.h"

FLOW__BEGIN_DECLS

/* ---- Parameters ---------------------------------------------------------- */

typedef enum flow_param_type {
    FLOW_PARAM_T_INT = 1, /* int64_t field */
    FLOW_PARAM_T_DOUBLE,  /* double field */
    FLOW_PARAM_T_BOOL,    /* bool field: true/false/yes/no/on/off/1/0 */
    FLOW_PARAM_T_STRING,  /* char * field, owned by the framework */
    FLOW_PARAM_T_CHOICE   /* int field: index of the value in `choices` */
} flow_param_type_t;

/*
 * One row of a node's parameter table. Defaults are strings parsed by the
 * same parser as graph values; a NULL default makes the parameter required.
 */
typedef struct flow_param {
    const char *name;
    flow_param_type_t type;
    size_t offset;
    const char *def;
    int64_t min_i, max_i; /* FLOW_PARAM_T_INT bounds, inclusive */
    double min_d, max_d;  /* FLOW_PARAM_T_DOUBLE bounds, inclusive */
    const char *choices;  /* FLOW_PARAM_T_CHOICE: "a|b|c" */
    const char *doc;
} flow_param_t;

/*
 * The offset of FIELD in T, after a compile-time check that the field has C
 * type CT. A mismatch fails to compile with "size of unnamed array is
 * negative" at the FLOW_PARAM_* line: declare the field with the C type the
 * macro names.
 */
#ifdef __cplusplus
#define FLOW__FIELD(T, FIELD, CT) \
    (offsetof(T, FIELD) +         \
     0 * sizeof(char[1 - 2 * !__is_same(decltype(((T *)0)->FIELD), CT)]))
#else
#define FLOW__FIELD(T, FIELD, CT)                           \
    (offsetof(T, FIELD) +                                   \
     0 * sizeof(char[1 - 2 * !__builtin_types_compatible_p( \
                                 __typeof__(((T *)0)->FIELD), CT)]))
#endif

/* An int64_t parameter within [MIN, MAX]. */
#define FLOW_PARAM_INT(NAME, T, FIELD, DEF, MIN, MAX, DOC)               \
    {                                                                    \
        (NAME), FLOW_PARAM_T_INT, FLOW__FIELD(T, FIELD, int64_t), (DEF), \
            (MIN), (MAX), 0, 0, NULL, (DOC)                              \
    }

/* A double parameter within [MIN, MAX]. */
#define FLOW_PARAM_DOUBLE(NAME, T, FIELD, DEF, MIN, MAX, DOC)                 \
    {                                                                         \
        (NAME), FLOW_PARAM_T_DOUBLE, FLOW__FIELD(T, FIELD, double), (DEF), 0, \
            0, (MIN), (MAX), NULL, (DOC)                                      \
    }

/* A bool parameter. */
#define FLOW_PARAM_BOOL(NAME, T, FIELD, DEF, DOC)                            \
    {                                                                        \
        (NAME), FLOW_PARAM_T_BOOL, FLOW__FIELD(T, FIELD, bool), (DEF), 0, 0, \
            0, 0, NULL, (DOC)                                                \
    }

/* A string parameter; the framework owns and frees the string. */
#define FLOW_PARAM_STRING(NAME, T, FIELD, DEF, DOC)                           \
    {                                                                         \
        (NAME), FLOW_PARAM_T_STRING, FLOW__FIELD(T, FIELD, char *), (DEF), 0, \
            0, 0, 0, NULL, (DOC)                                              \
    }

/* One of CHOICES ("a|b|c"); the int field gets the index of the value. */
#define FLOW_PARAM_CHOICE(NAME, T, FIELD, DEF, CHOICES, DOC)                  \
    {                                                                         \
        (NAME), FLOW_PARAM_T_CHOICE, FLOW__FIELD(T, FIELD, int), (DEF), 0, 0, \
            0, 0, (CHOICES), (DOC)                                            \
    }

#define FLOW_PARAM_END                                              \
    {                                                               \
        NULL, (flow_param_type_t)0, 0, NULL, 0, 0, 0, 0, NULL, NULL \
    }

/*
 * Parse the `len` bytes at `s` (borrowed; no NUL needed) as FLOW_PARAM_INT
 * values are read: decimal, with an optional fraction and exponent whose
 * value is whole ("-12", "1e9", "2.5e6"), and nothing around it. For nodes
 * that read numbers out of a string parameter (a list). Returns 0 with
 * `*out` set, FLOW_EPARAM for anything else, or -ERANGE beyond int64_t.
 */
FLOW_EXPORT int flow_parse_int(const char *s, size_t len, int64_t *out);

/*
 * Parse the `len` bytes at `s` (borrowed; no NUL needed) as FLOW_PARAM_DOUBLE
 * values are read: decimal, [sign] digits [. [digits]] or [sign] . digits,
 * then [e|E [sign] digits] ("2.5", "-.5", "5.", "1e-3"), nothing around it: no
 * spaces, no hexadecimal, no "inf" or "nan"; the point is '.' whatever the
 * locale (setlocale). Returns 0 with `*out` set (a value below DBL_MIN rounds),
 * FLOW_EPARAM for anything else, or -ERANGE beyond DBL_MAX. Since flow 0.5.
 */
FLOW_EXPORT int flow_parse_double(const char *s, size_t len, double *out);

/* ---- Ports --------------------------------------------------------------- */

typedef enum flow_port_dir {
    FLOW_DIR_IN = 1, /* end of push links: fan-in from every producer */
    FLOW_DIR_OUT,    /* start of push links: load-balanced over consumers */
    FLOW_DIR_PAIR    /* two-way: one channel per peer instance */
} flow_port_dir_t;

/* One row of a node's port table. */
typedef struct flow_port {
    const char *name;
    flow_port_dir_t dir;
    flow_type_t type;
    const char *doc;
} flow_port_t;

#define FLOW_PORT_IN(NAME, TYPE, DOC)      \
    {                                      \
        (NAME), FLOW_DIR_IN, (TYPE), (DOC) \
    }
#define FLOW_PORT_OUT(NAME, TYPE, DOC)      \
    {                                       \
        (NAME), FLOW_DIR_OUT, (TYPE), (DOC) \
    }
#define FLOW_PORT_PAIR(NAME, TYPE, DOC)      \
    {                                        \
        (NAME), FLOW_DIR_PAIR, (TYPE), (DOC) \
    }
#define FLOW_PORT_END                                  \
    {                                                  \
        NULL, (flow_port_dir_t)0, (flow_type_t)0, NULL \
    }

/* ---- The descriptor ------------------------------------------------------ */

/* A node instance at run time. Opaque; owned by the framework. */
typedef struct flow_node flow_node_t;

/*
 * A node type. Append-only: new fields go at the end, never reorder.
 * Exactly one of `run` and `process` is set.
 */
/* What a node's check callback may ask about the graph (opaque). */
typedef struct flow_check flow_check_t;

typedef struct flow_node_desc {
    uint32_t abi;         /* FLOW_NODE_ABI */
    uint32_t struct_size; /* sizeof(flow_node_desc_t) */
    const char *name;     /* one word: the INI type and the file stem */
    const char *summary;  /* one line */
    size_t state_size;    /* bytes of state the framework zeroes and fills */
    const flow_param_t *params; /* ended by FLOW_PARAM_END; may be NULL */
    const flow_port_t *ports;   /* ended by FLOW_PORT_END; may be NULL */
    unsigned max_instances;     /* 0: any number */
    int (*init)(flow_node_t *node, void *state);
    int (*run)(flow_node_t *node, void *state);
    int (*process)(flow_node_t *node, void *state, const char *port,
                   flow_msg_t **msg_p);
    int (*finish)(flow_node_t *node, void *state);
    void (*fini)(flow_node_t *node, void *state);
    /*
     * Optional: check what the parameter table cannot, before anything runs
     * (flowrun --check runs it too): a list that must parse, values that
     * must agree with each other or with the graph (flow_check_instances,
     * flow_check_channels). `state` holds the parameters, set. Return 0, or
     * write why into `why` (`whylen` bytes; name the parameter) and return
     * FLOW_EPARAM: the graph is refused, naming its file and the node's
     * line. Added after the first descriptor layout: a plugin built before
     * it (a smaller struct_size) has no check.
     */
    int (*check)(const flow_check_t *c, const void *state, char *why,
                 size_t whylen);
} flow_node_desc_t;

/* In check: the number of instances the node will run. */
FLOW_EXPORT unsigned flow_check_instances(const flow_check_t *c);

/* In check: the channels port `port` will have at run time, as
 * flow_node_channels will return them; 0 for an unknown port. */
FLOW_EXPORT unsigned flow_check_channels(const flow_check_t *c,
                                         const char *port);

/*
 * In check: the item type port `port` will carry. A port of a fixed type
 * carries that type; a port of FLOW_ANY or FLOW_SAME carries what the
 * graph links to it, as the graph's type check followed it (through tees,
 * merges and other FLOW_SAME nodes). FLOW_ANY when that is open until the
 * run (what is linked takes any type too), for an unknown port, and in a
 * harness for a port of FLOW_ANY or FLOW_SAME that flow_harness_set_type
 * gave no type. For a node that takes any
 * type but needs one in some mode (collect's mode = sum: int64).
 */
FLOW_EXPORT flow_type_t flow_check_type(const flow_check_t *c,
                                        const char *port);

/*
 * In check: claim `path` (the value of parameter `param`) as a file this
 * node writes, so that the run is refused before it starts when another
 * node of the graph claimed the same file (one would replace the other) or
 * `path` is the graph file itself. One file is an existing regular file
 * under any of its names, or a path not there yet however spelt; a FIFO or
 * a device is shared, never refused. Returns 0, or FLOW_EPARAM with why
 * (`whylen` bytes) written, naming the other writer: return that from
 * check. In a harness, always 0.
 */
FLOW_EXPORT int flow_check_output_file(const flow_check_t *c, const char *param,
                                       const char *path, char *why,
                                       size_t whylen);

/*
 * In check: claim standard input for this node (its parameter `param` is
 * '-'), so that the run is refused before it starts when another node of
 * the graph reads it too: the readers' buffered reads would each take
 * pieces of the input, cutting lines in two. Returns 0, or FLOW_EPARAM
 * with why (`whylen` bytes) written, naming the other reader: return that
 * from check. In a harness, always 0.
 */
FLOW_EXPORT int flow_check_stdin(const flow_check_t *c, const char *param,
                                 char *why, size_t whylen);

/*
 * In check: claim `path` (the value of parameter `param`) as a file this
 * node reads, so that the run is refused before it starts when a node of
 * the graph writes that file in place (flow_check_output_file's claim of a
 * symbolic link to it, another of its names when the file is the user's,
 * or the file in a directory not writable): the writer would cut it before
 * it is read. A writer that replaces it at the end (a regular file of one
 * name, or another user's of several: collect's new file) is not refused.
 * Returns 0, or FLOW_EPARAM with why (`whylen` bytes) written, naming the
 * writer: return that from check. In a harness, always 0.
 */
FLOW_EXPORT int flow_check_input_file(const flow_check_t *c, const char *param,
                                      const char *path, char *why,
                                      size_t whylen);

/* First fields of every descriptor. */
#define FLOW_NODE_V1 \
    .abi = FLOW_NODE_ABI, .struct_size = sizeof(flow_node_desc_t)

/*
 * FLOW_NODE(id) defines `flow_node_<id>`. Unless FLOW_NODE_STATIC is defined
 * (to link the node straight into a program or test), it also exports the
 * data symbol `flow_node_entry` that the loader looks up.
 */
#ifdef FLOW_NODE_STATIC
#define FLOW_NODE(id)                                     \
    FLOW__EXTERN_C const flow_node_desc_t flow_node_##id; \
    const flow_node_desc_t flow_node_##id
#else
#define FLOW_NODE(id)                                                         \
    FLOW__EXTERN_C const flow_node_desc_t flow_node_##id;                     \
    FLOW__EXTERN_C FLOW_EXPORT const flow_node_desc_t *const flow_node_entry; \
    const flow_node_desc_t *const flow_node_entry = &flow_node_##id;          \
    const flow_node_desc_t flow_node_##id
#endif

/* ---- Run-time calls ------------------------------------------------------ */

/* Return the node's name in the graph (borrowed, valid for the run). */
FLOW_EXPORT const char *flow_node_name(const flow_node_t *node);

/* Return this instance's index, from 0 to flow_node_instances() - 1. */
FLOW_EXPORT unsigned flow_node_instance(const flow_node_t *node);

/* Return the number of instances of this node in the graph. */
FLOW_EXPORT unsigned flow_node_instances(const flow_node_t *node);

/*
 * Return the number of channels of `port`: for an output, the number of
 * consumer instances (flow_node_send_to picks one); for an input, the number
 * of producer instances; for a pair port, the number of peer instances this
 * instance talks to. 0 for an unknown port.
 */
FLOW_EXPORT unsigned flow_node_channels(const flow_node_t *node,
                                        const char *port);

/*
 * Return the channel that the message received last came on (the one
 * process() is handling, or the last one flow_node_recv returned): for a
 * pair port, the peer instance, which flow_node_send_to answers; for an
 * input, the producer instance that sent it. 0 before any message.
 */
FLOW_EXPORT unsigned flow_node_channel(const flow_node_t *node);

/*
 * Return the batch size (items per message) configured on the link of
 * `port`, so sources know how much to put in one message. 0 for an unknown
 * port.
 */
FLOW_EXPORT size_t flow_node_batch(const flow_node_t *node, const char *port);

/*
 * Return the high-water mark of the link of `port`: the messages it queues
 * at each end, per direction and peer (its `hwm=`, or the default for its
 * item type and batch size, docs/graph-format.md; on a balance=demand link,
 * whose window starts at 1 without `hwm=`, the widest it grows to: the
 * same number). A node that sends
 * requests on a pair port and reads the answers afterwards keeps at most
 * this many in flight, and neither side then waits for room. Under the
 * harness, the default for the port's type and batch size, where a port
 * of FLOW_ANY or FLOW_SAME has the type flow_harness_set_type gave it, or
 * none (64) without it. 0 for an unknown port. Since flow 0.8.
 */
FLOW_EXPORT int flow_node_hwm(const flow_node_t *node, const char *port);

/*
 * Send `*msg_p` on output or pair port `port` and set `*msg_p` to NULL
 * (transfer full, also on failure). On an output the message goes to the
 * next consumer instance with room (load balancing), and so on a pair port
 * with several channels (use flow_node_send_to to pick one). Blocks while
 * every consumer is full (backpressure). Returns 0; FLOW_EPORT for an
 * unknown, input or ended port, a channel out of range, a NULL message or a
 * wrong item type, FLOW_ENODE if the transport fails (both with the node
 * failed: even if the callback then returns 0, the node fails with that
 * reason); FLOW_EINTR when the run is being stopped (the caller should
 * return): a hard stop, or a graceful one in a source (a node with outputs
 * only; other nodes without a push input ask flow_node_stopping). A message
 * without a sequence number gets one: in process(), the input message's; from a
 * source of one instance (outputs only), the next of the port's 0, 1, 2, ...;
 * otherwise none (a source of several instances numbers its messages itself,
 * flow_msg_set_seq, for ordered collectors downstream).
 */
FLOW_EXPORT int flow_node_send(flow_node_t *node, const char *port,
                               flow_msg_t **msg_p);

/*
 * Send the `n` int64 items at `items` (borrowed: copied into the frame;
 * NULL only with `n` 0) on
 * output or pair port `port` as one message with sequence number `seq`
 * (FLOW_SEQ_NONE: as flow_node_send numbers a message), without a
 * flow_msg_t: the items are written straight into the transport's buffer,
 * as zmq_send does. The consumer receives the same message as one made
 * with flow_msg_add_i64s and sent with flow_node_send, which remains the
 * way to send large batches without a copy. For sources of many small
 * messages. Returns as flow_node_send, or FLOW_EPROTO (node failed) for
 * more than UINT32_MAX items.
 */
FLOW_EXPORT int flow_node_send_i64s(flow_node_t *node, const char *port,
                                    const int64_t *items, size_t n,
                                    uint64_t seq);

/*
 * As flow_node_send, to channel `channel` of `port` (a consumer instance of
 * an output, a peer of a pair port).
 */
FLOW_EXPORT int flow_node_send_to(flow_node_t *node, const char *port,
                                  unsigned channel, flow_msg_t **msg_p);

/*
 * Receive the next message from input or pair port `port`, from any channel,
 * blocking until one arrives. `*msg_p` is an output only (unlike other
 * `T **` arguments, a message it holds is neither read nor freed): on
 * success it is a message the caller owns and the call returns 0, otherwise
 * NULL. Returns FLOW_EOF once every producer has ended and all their
 * messages were received; FLOW_EPORT for an unknown or output port or (for
 * flow_node_recv_from) a channel out of range, FLOW_ENODE on loss or a
 * malformed frame (all with the node failed); FLOW_EINTR when stopping
 * (a hard stop; a graceful one does not interrupt a receive: a node
 * without a push input asks flow_node_stopping, or has a pair port's
 * receives ended by it with flow_node_stop_ends_recv).
 */
FLOW_EXPORT int flow_node_recv(flow_node_t *node, const char *port,
                               flow_msg_t **msg_p);

/* As flow_node_recv, from channel `channel` of pair port `port` only. */
FLOW_EXPORT int flow_node_recv_from(flow_node_t *node, const char *port,
                                    unsigned channel, flow_msg_t **msg_p);

/*
 * From now on, a graceful stop ends the receives (flow_node_recv,
 * flow_node_recv_from) on pair port `port` of this node, which has no push
 * input: they return FLOW_EINTR once it is told to stop, as a source's
 * sends do, until run() or process() returns. For a node whose peer is
 * told to stop as well, when each may be waiting for the other: a sieve
 * segment waits for its coordinator's go, which waits for primes that
 * another segment stopped before sending, and the coordinator waits for
 * the segment; neither can ask flow_node_stopping in a receive, and both
 * waited until the hard stop 5 s later. Not for a node that serves a peer
 * still draining. Returns 0, or FLOW_EPORT (node failed) for a port that
 * is not a pair port. Under the test harness, where nothing stops, no
 * other effect (0 for a pair port, and FLOW_EPORT as in a graph for
 * another). Since flow 0.8.
 */
FLOW_EXPORT int flow_node_stop_ends_recv(flow_node_t *node, const char *port);

/*
 * Send the `len` bytes at `frame` (copied) on `port` as one raw frame,
 * bypassing the message encoding, so receivers see whatever it holds. For
 * fault-injection tests of the receiving side (the `fault` node); a node
 * has no other use for it. Returns as flow_node_send.
 */
FLOW_EXPORT int flow_node_send_raw(flow_node_t *node, const char *port,
                                   const void *frame, size_t len);

/*
 * End the stream of output or pair port `port` (every channel): consumers
 * see FLOW_EOF after the messages already sent. Returns 0, or as
 * flow_node_send (FLOW_EPORT: an unknown or input port, a channel out of
 * range). Ending a port twice is allowed.
 */
FLOW_EXPORT int flow_node_close(flow_node_t *node, const char *port);

/* As flow_node_close, for one channel of a pair or output port. */
FLOW_EXPORT int flow_node_close_to(flow_node_t *node, const char *port,
                                   unsigned channel);

/*
 * Give up input port `port`, as `head` closes its pipe when it has read
 * enough: this instance reads nothing more from it (flow_node_recv returns
 * FLOW_EOF; a process() node gets no more of its messages, and once its
 * other inputs and pair channels have ended too, finish() runs). What still
 * arrives is read and discarded without a warning until the producers end:
 * by the process() loop, and inside every call that waits for a socket (a
 * receive on another input or a pair channel, a send waiting for room), so
 * that a producer of it that also feeds what the node waits for never
 * blocks.
 *
 * The producers are told to stop once no one wants their work: when every
 * instance of this node gave the port up (or the consumer downstream of
 * them did, and so on upstream). The nodes without a push input among them
 * (sources, a sieve's coordinator) get a graceful stop, without its 5 s
 * limit; the nodes between drain; and the run ends with status 0: an
 * endless source behind a head ends. Returns 0 (also for a port given up
 * already), FLOW_EINTR when stopping (over TCP), or FLOW_EPORT (node
 * failed) for a port that is not an input.
 */
FLOW_EXPORT int flow_node_close_input(flow_node_t *node, const char *port);

/*
 * Whether input or pair port `port` carries a stream that was cut short: a
 * producer (a peer, for a pair port) ended its stream at a graceful stop
 * (Ctrl-C, SIGTERM to flowrun, or no one wanting its work any more: see
 * flow_node_close_input) rather than at its natural end, or it read a
 * stream that was cut, and so on upstream. True once such a producer's end
 * arrived: ask when the port has ended (FLOW_EOF, or in finish()). A node
 * that checks what its inputs hold against each other (two streams zipped
 * item by item, a count announced) takes a mismatch on a cut input for
 * what the stop left, not a failure. False for an unknown port or an
 * output. The streams this node ends are cut in turn when one of its
 * inputs was cut (one it gave up before that input's end excepted) or its
 * own work ended at a graceful stop.
 */
FLOW_EXPORT bool flow_node_input_cut(const flow_node_t *node, const char *port);

/*
 * Hold back the credit of `n` messages taken from producer instance
 * `channel` of input `port` (flow_node_channel names the producer of the
 * message being handled), until flow_node_release gives it back. On a
 * balance=demand input the producer may send at most its credit window
 * ahead of the messages taken and not held: a node that keeps messages
 * for later (collect order=input keeps those that came before their turn)
 * holds them, so that a producer running ahead of the others stops once
 * its window is in the node's keeping, and the node's memory stays within
 * the windows. The credit of a message goes out when it is taken, before
 * the node can hold it: a producer whose messages are all held stops with
 * its window and one more in the node's keeping (2 with hwm=1). Holds
 * pace producers; they never stall an input: when every
 * producer still sending on `port` has sent all it may and only held
 * messages keep its credit back, the holds on `port` are dropped (the
 * producers are granted as if those messages were taken; the node keeps
 * them all the same). That is the case where one producer's messages do
 * not come in the order the node gives them back: a producer that sends
 * them out of turn, or one that skips some. A producer that keeps credit
 * and sends nothing (stopped, or dealt its work by a fixed rule and
 * skipping it all) cannot be told from a slow one: once the node has
 * waited 5 s for input with messages held and nothing came on `port`,
 * its holds are dropped and nothing is held there for the rest of the run.
 * A round-robin input has no credit: nothing is held, nothing paced. The
 * test harness holds nothing either, but counts as a demand input does.
 * Returns 0; FLOW_EPORT (with the node failed) for a port that is not an
 * input, a channel out of range, or (on a demand input, and in the
 * harness) more messages than were taken from that producer and are not
 * held. Since flow 0.7.
 */
FLOW_EXPORT int flow_node_hold(flow_node_t *node, const char *port,
                               unsigned channel, unsigned n);

/*
 * Give back the credit of `n` messages held from producer `channel` of
 * input `port` (flow_node_hold): its window counts them as taken, and the
 * producer is told at once when that lets it send again. Releasing more
 * than is held (after the holds were dropped) releases what is held.
 * Once a producer has ended its stream nothing is told: holds left at the
 * end of the input need no release, and one in finish changes nothing.
 * Returns 0; FLOW_EPORT (with the node failed) for a port that is not an
 * input or a channel out of range. Since flow 0.7.
 */
FLOW_EXPORT int flow_node_release(flow_node_t *node, const char *port,
                                  unsigned channel, unsigned n);

/* Log levels for flow_node_log. */
typedef enum flow_log_level {
    FLOW_LOG_ERROR = 0,
    FLOW_LOG_WARN,
    FLOW_LOG_INFO,
    FLOW_LOG_DEBUG
} flow_log_level_t;

/*
 * The level named `name` (borrowed): "error", "warning" (or "warn"), "info"
 * or "debug", as --log-level and a node's log_level key take it. Returns
 * the flow_log_level_t, or -1 for any other name. Since flow 0.6.
 */
FLOW_EXPORT int flow_log_level_parse(const char *name);

/* The name of `level` ("error", "warning", "info", "debug"; static), or
 * NULL for a value that is no level. Since flow 0.6. */
FLOW_EXPORT const char *flow_log_level_name(int level);

/*
 * Write one line "node[i] (pid N) level: message" to stderr ("node[i]
 * level: message" under the test harness, whose process is the test's),
 * in a single write so lines of concurrent instances never interleave. The
 * message is written whole, whatever its length (flowrun passes a line longer
 * than 4 KiB on in pieces, each with the prefix). A newline that ends the
 * message is not doubled; one inside it is written as a space.
 */
FLOW_EXPORT void flow_node_log(flow_node_t *node, flow_log_level_t level,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Record why the node fails (reported by the launcher with the node and
 * instance) and return FLOW_ENODE, so a callback can `return
 * flow_node_fail(node, "...")`. The first reason recorded wins. The node
 * fails even if the callback returns 0 afterwards.
 */
FLOW_EXPORT int flow_node_fail(flow_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Return FLOW_EINTR if this instance should stop now, else 0. A hard stop
 * (SIGTERM to the instance: a failure elsewhere, a timeout, a graceful stop
 * still running after 5 s) reaches every node. A graceful stop (the first
 * Ctrl-C or SIGTERM to flowrun) reaches, through this call, the nodes
 * without a push input, which drive work rather than consume a stream (a
 * sieve coordinator and its segments, a solver); a source's sends also
 * return FLOW_EINTR. A node that computes for long calls this now and then,
 * say once per block of work, and returns the code from run() or
 * process(): it then ends as if it had finished, finish() runs (its sends
 * are no longer interrupted) and its outputs end, so what it sent still
 * reaches the sinks. A node that serves a peer still draining its input
 * should not ask. Always 0 under the test harness.
 */
FLOW_EXPORT int flow_node_stopping(const flow_node_t *node);

/*
 * Wait up to `ms` milliseconds for flow_node_stopping to say stop; return
 * what it says last. For a node whose peer ended early: the launcher
 * signals the instances one after another, so the peer may have seen the
 * stop first, and this tells such an end from a broken protocol. Under the
 * test harness, 0 at once (nothing stops there).
 */
FLOW_EXPORT int flow_node_await_stop(const flow_node_t *node, unsigned ms);

/*
 * Wait up to `timeout_ms` milliseconds (< 0: no limit) for `events` (poll's
 * POLLIN, POLLOUT...) on the descriptor `fd` (borrowed), or for
 * flow_node_stopping to say stop, whichever comes first. For a node that
 * waits on a descriptor of its own (a pipe, a socket, a terminal) rather
 * than on its ports: a stop that comes just before a blocking read() would
 * not interrupt it, and the node would miss a graceful stop (the hard stop
 * 5 s later then cuts the run's output short); here the stop is looked at
 * with the stop signals held and waited for with the descriptor (ppoll), so
 * none is missed. Returns poll's revents for `fd` (> 0) when it is ready,
 * 0 when the time ran out, FLOW_EINTR when the node should stop, or -errno
 * when poll fails. Under the test harness, a plain poll. Since flow 0.6.
 */
FLOW_EXPORT int flow_node_wait_fd(const flow_node_t *node, int fd, short events,
                                  int timeout_ms);

struct pollfd; /* <poll.h> */

/*
 * flow_node_wait_fd for several descriptors at once (a socket and a
 * timerfd, say): waits up to `timeout_ms` milliseconds (< 0: no limit) for
 * the events of any of the `nfds` entries of `fds` (the caller's, filled
 * as for poll(); a negative fd is skipped), or for flow_node_stopping to
 * say stop, whichever comes first, with the same guarantee that a stop is
 * never missed. Returns the number of entries whose revents it set (> 0),
 * 0 when the time ran out, FLOW_EINTR when the node should stop, or -errno
 * when poll fails; every revents is 0 unless it returns > 0. Under the
 * test harness, a plain poll. Since flow 0.6.
 */
FLOW_EXPORT int flow_node_wait_fds(const flow_node_t *node, struct pollfd *fds,
                                   unsigned nfds, int timeout_ms);

FLOW__END_DECLS

#endif
