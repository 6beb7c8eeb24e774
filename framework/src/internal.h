/* SPDX-License-Identifier: MIT */
/*
 * internal.h: declarations shared by the framework's modules, not part of
 * the public API. Internal non-static names are flow__*.
 */
#ifndef FLOW_INTERNAL_H
#define FLOW_INTERNAL_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "flow/flow.h"

#include "banned.h"

/* 1 when built with AddressSanitizer (gcc says so one way, clang another). */
#if defined(__SANITIZE_ADDRESS__)
#define FLOW__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLOW__ASAN 1
#endif
#endif
#ifndef FLOW__ASAN
#define FLOW__ASAN 0
#endif

/* ---- Allocation (xalloc.c): abort on out-of-memory ---------------------- */

void *flow__xmalloc(size_t size);
void *flow__xcalloc(size_t n, size_t size);
void *flow__xrealloc(void *ptr, size_t size);
char *flow__xstrdup(const char *s);
char *flow__xstrndup(const char *s, size_t n);
/* The formatted string (caller frees). */
char *flow__xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Grow `*ptr` (of `*cap` elements of `size` bytes) to hold at least `need`. */
void flow__xgrow(void **ptr, size_t *cap, size_t need, size_t size);

/* ---- Diagnostics (error.c) ---------------------------------------------- */

/*
 * Fill `diag` (if not NULL) with `code`, `file`, `line` and the formatted
 * message, and return `code`.
 */
int flow__diag(flow_diag_t *diag, int code, const char *file, int line,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A callback's return code `rc` for "returned ...": its name (flow_err_name),
 * or the number itself when it is no FLOW_E* code nor -errno. Returns `buf`
 * (`size` bytes) or a static name. */
const char *flow__code_text(int rc, char *buf, size_t size);

/* ---- Wire format (msg.c) ------------------------------------------------- */

/* Every frame starts with this 24-byte header (little-endian host order). */
#define FLOW_WIRE_MAGIC 0x31574c46u /* "FLW1" */
#define FLOW_WIRE_HDR   24
enum { FLOW_FRAME_DATA = 1, FLOW_FRAME_EOS = 2 };
/* End-of-stream flags, in the item count field of the frame. */
enum { FLOW_EOS_CUT = 1 }; /* the stream was cut short by a graceful stop */

typedef struct flow_frame_info {
    int kind;       /* FLOW_FRAME_DATA or FLOW_FRAME_EOS */
    uint32_t src;   /* sender instance */
    uint64_t count; /* EOS: data messages the sender sent on this pipe */
    bool cut;       /* EOS: the stream was cut short (FLOW_EOS_CUT) */
    size_t items;   /* data: the frame's items */
    size_t bytes;   /* data: the frame's length */
} flow_frame_info_t;

/* True if `msg` was destroyed or sent and not handed out again since:
 * a pointer to it kept after flow_msg_destroy or a send (best effort: once
 * reused, it is another message). */
bool flow__msg_spent(const flow_msg_t *msg);

/*
 * Encode `*msg_p` as a data frame from instance `src`, taking ownership of
 * the message (set to NULL). Stores a malloc'ed frame in `*frame` and its
 * length in `*len`; the caller frees it (or hands it to zmq with free()).
 */
void flow__msg_encode(flow_msg_t **msg_p, uint32_t src, void **frame,
                      size_t *len);

/*
 * Turn `*msg_p` (taken, set to NULL) into the ZeroMQ message `*out`, which
 * the caller sends or closes. A message that is a received frame is sent
 * as it is, with a new header: no copy. Returns the frame's length.
 */
struct zmq_msg_t;
size_t flow__msg_to_zmq(flow_msg_t **msg_p, uint32_t src,
                        struct zmq_msg_t *out);

/*
 * Make `*out` (uninitialized) the data frame of the `n` int64 items at
 * `items` (borrowed, copied) from instance `src` with sequence number `seq`;
 * the caller sends or closes it. Returns the frame's length.
 */
size_t flow__msg_zmq_i64s(struct zmq_msg_t *out, uint32_t src,
                          const int64_t *items, size_t n, uint64_t seq);

/*
 * Decode the ZeroMQ message `zm` (always consumed: closed or moved) into a
 * new message stored in `*msg_p` (overwritten on entry, caller owns). The
 * message keeps the frame's memory (no copy), except a words frame whose
 * offsets are not 4-aligned, which is decoded as flow__msg_decode does.
 * Same returns.
 */
int flow__msg_from_zmq(struct zmq_msg_t *zm, flow_msg_t **msg_p,
                       flow_frame_info_t *info, char *why, size_t whylen);

/*
 * The receive path without a copy or a move: a message (caller owns, stored
 * in `*msg_p`) whose ZeroMQ message, returned, is for zmq_msg_recv or
 * zmq_msg_move to fill and not to be read before: it is initialized, or
 * holds a frame, which they close. `*msg_p` is NULL (a message comes from
 * the pool) or a message the caller owns and is done with, typically the
 * last one received, which is reused as it is (destroyed and replaced when
 * messages are not pooled, under AddressSanitizer): a loop that receives
 * into the same pointer costs no pool traffic. Every frame received into it
 * must then go through flow__msg_from_slot (which records its length, so
 * that only small frames are kept in the pool); a slot that received
 * nothing may be destroyed with flow_msg_destroy.
 */
struct zmq_msg_t *flow__msg_recv_slot(flow_msg_t **msg_p);

/*
 * Decode the frame of `len` bytes (as zmq_msg_recv returned) received into
 * the slot of `*msg_p` (taken, set to NULL), as flow__msg_from_zmq does:
 * same returns, and for a data frame `info->items` is its item count and
 * `info->bytes` its length.
 */
int flow__msg_from_slot(flow_msg_t **msg_p, size_t len, flow_frame_info_t *info,
                        char *why, size_t whylen);

/* flow__msg_from_slot with the frame's bytes at `data` (zmq_msg_data of the
 * slot, already asked). */
int flow__msg_from_slot_at(flow_msg_t **msg_p, const void *data, size_t len,
                           flow_frame_info_t *info, char *why, size_t whylen);

/*
 * The common case of flow__msg_from_slot, for the receive loop: if the frame
 * of `len` bytes received into the slot of `msg` is a well-formed int64 data
 * frame, fill `msg` with it (as flow__msg_from_slot does) and return its
 * sender instance; else return -1 with `msg` untouched, for
 * flow__msg_from_slot_at to decode (or refuse). Either way `*data` is the
 * frame's bytes (borrowed from the slot).
 */
int64_t flow__msg_slot_i64(flow_msg_t *msg, size_t len, const void **data);

/* Encode an end-of-stream frame from `src` after `sent` data frames,
 * saying whether the stream was `cut` short by a graceful stop. */
void flow__msg_encode_eos(uint32_t src, uint64_t sent, bool cut,
                          unsigned char *frame);

/*
 * Decode the `len` bytes at `frame` (borrowed). On a data frame stores a new
 * message in `*msg_p` (caller owns); on an end-of-stream frame stores NULL.
 * Fills `info`. Returns 0 or FLOW_EPROTO with a reason in `why` (of
 * `whylen` bytes) for any malformed input; never reads out of bounds.
 */
int flow__msg_decode(const void *frame, size_t len, flow_msg_t **msg_p,
                     flow_frame_info_t *info, char *why, size_t whylen);

/* ---- Parameters (param.c) ------------------------------------------------ */

/*
 * Parse `value` for parameter `p` and store it into `state` (a string
 * parameter's old value is freed). Returns 0 or FLOW_EPARAM with the reason
 * in `why` (no subject, e.g. "not an integer").
 */
int flow__param_set(const flow_param_t *p, const char *value, void *state,
                    char *why, size_t whylen);

/* Split "key=value" `s` (borrowed) at its first '=': the key at `*key`
 * (`*klen` bytes) and the value at `*value` (`*vlen` bytes), both inside
 * `s`, without the spaces and tabs around either, as an INI file's key
 * and value are read (--set, the harness). false if `s` is NULL, has no
 * '=' or an empty key. */
bool flow__split_kv(const char *s, const char **key, size_t *klen,
                    const char **value, size_t *vlen);

/* The next reference "${" in `p`, or NULL; "$${", the escape of a literal
 * "${", is none: `*escape` then points to it (else NULL), for the caller
 * to write "${" and go on after it (graph_ini.c; the harness too). */
const char *flow__next_ref(const char *p, const char **escape);

/* Free the string parameters of `state` as described by `params`. */
void flow__param_release(const flow_param_t *params, void *state);

/* Parse a decimal integer (optionally with an e-exponent, like 1e9). */
int flow__parse_i64(const char *s, int64_t *out);

/* Check a descriptor: ABI, size, names, defaults. Fills `diag`. */
int flow__desc_check(const flow_node_desc_t *desc, const char *origin,
                     flow_diag_t *diag);

/* ---- Graph model (graph.c) ----------------------------------------------- */

enum { FLOW_LINK_PUSH = 1, FLOW_LINK_PAIR = 2 };

typedef struct flow_kv {
    char *key;
    char *value;
    int line;
    bool from_set; /* overridden on the command line */
    bool key_set;  /* the key itself given on the command line (--set) */
    char *ref;     /* the first graph parameter its value refers to */
    bool used;
    char *set_over; /* a graph parameter's: "node.key", a value that
                       referred to it, replaced by --set */
} flow_kv_t;

/* A check callback's view of the graph: a node of a graph, or the node of
 * a harness (flow_check_instances, flow_check_channels). */
struct flow_check {
    const struct flow_graph *g;
    const struct flow_gnode *n;
    const struct flow_harness *h;
};

/* A node type's check callback (flow_node_desc_t.check). */
typedef int flow__check_fn(const flow_check_t *c, const void *state, char *why,
                           size_t whylen);

/* The descriptor's check callback, or NULL (none, or a descriptor of the
 * first layout, which ends before it). */
static inline flow__check_fn *
flow__desc_check_fn(const flow_node_desc_t *d)
{
    return d->struct_size >=
                   offsetof(flow_node_desc_t, check) + sizeof(d->check)
               ? d->check
               : NULL;
}

/* The smallest descriptor accepted: the first layout, without check. */
#define FLOW_DESC_MIN_SIZE offsetof(flow_node_desc_t, check)

/* True for the keys a node section reserves (type, instances, timeout,
 * log_level, pin, cpus, slurm_constraint): no node parameter may take
 * one of these names. */
bool flow__node_key_reserved(const char *key);

typedef struct flow_gnode {
    char *name;
    int line;
    char *type;
    int type_line;
    unsigned instances;
    flow_kv_t *kv; /* every key of the section but `type` */
    size_t nkv, kvcap;
    const flow_node_desc_t *desc;
    double timeout_s; /* per-node `timeout`, 0: none */
    int log_level;    /* per-node `log_level`, -1: the run's */
    void *state;      /* parameters parsed into the node's state */
    size_t nports;
    int *port_link; /* per descriptor port: link index, -1 if none */
    int *port_side; /* 0: first endpoint of the link, 1: second */
    /* The type its FLOW_SAME ports carry, from its links (FLOW_ANY: open);
     * set by flow__graph_check. */
    flow_type_t same_type;
    /* Placement hints for the Slurm launcher (ignored by the local one):
     * `cpus` per instance (0: none) and `slurm_constraint` (borrowed from
     * the node's kv, NULL: none). */
    unsigned cpus;
    const char *slurm_constraint;
    /* `pin`: instance i runs on CPU pin[i % npin] only (npin 0: anywhere,
     * as the launcher's own affinity allows). Owned. */
    unsigned *pin;
    size_t npin;
} flow_gnode_t;

/* The item type port `i` of node `n` carries: its declared type, or for a
 * FLOW_SAME port the node's same_type (FLOW_ANY while open). */
static inline flow_type_t
flow__port_type(const flow_gnode_t *n, size_t i)
{
    flow_type_t t = n->desc->ports[i].type;

    return t == FLOW_SAME ? n->same_type : t;
}

typedef struct flow_glink {
    int kind;
    size_t node[2];
    size_t port[2];     /* resolved port indexes */
    char *port_name[2]; /* as written */
    size_t batch;
    int hwm;        /* as written, or flow__link_hwm_default(type, batch)
                       from the checker (0 until then) */
    bool hwm_set;   /* hwm was written in the graph */
    int credit_max; /* demand: the most frames a consumer instance lets a
                       producer send ahead (credit.h); the sockets of
                       both ends have no hwm: the credits alone bound
                       what is queued (node_wire.c).
                       hwm when written, else the round robin default for
                       the link (at least hwm). 0 until checked */
    bool demand;    /* push: balance=demand (credits), else round robin */
    int line;
    char *text; /* "a.out -> b.in", for messages */
} flow_glink_t;

/*
 * Of the `n` names, the one `word` was probably meant to be: the closest by
 * edits (case ignored), within 1 edit for words of up to 4 letters, 2 up
 * to 8, 3 beyond; NULL when none is that close. Returns one of `names`.
 */
const char *flow__suggest(const char *word, const char *const *names, size_t n);

/*
 * A list of names written into a caller's buffer for a one-line message
 * ("a[0], b[1], and 3 more"): what does not fit is counted, not cut.
 */
typedef struct flow_namelist {
    char *buf;
    size_t size, len, more;
} flow_namelist_t;

/* Start an empty list in the `size` bytes at `buf` (size > 32). */
void flow__namelist_init(flow_namelist_t *l, char *buf, size_t size);

/* Add the name printf's `fmt` makes, after ", ", or count it among the
 * more where it does not fit, or where one before it did not: the names
 * shown are the first ones, in order. */
void flow__namelist_add(flow_namelist_t *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* End the list with ", and N more", or "N `what`" when none fitted. */
void flow__namelist_end(flow_namelist_t *l, const char *what);

/*
 * The high-water mark of a link whose graph gives none, from the type of the
 * items it carries and its batch size. An int64 link: about 1 MiB of frames
 * of `batch` items per queue (each end of a connection has one), between 64
 * and 1000 messages (libzmq's own default), and fewer than 64 only where 64
 * would take more than 64 MiB (frames over 1 MiB; at least 2). Small
 * messages need a deep queue: with 64, the threads at both ends of a link
 * wake each other for every few messages. Other links: 64, as the size of
 * their messages is not known (a words source may put many more items in a
 * message than `batch`).
 */
int flow__link_hwm_default(flow_type_t type, size_t batch);

/* What tells whether two paths are one file (flow__same_file), looked at
 * once per path: whether it is there, and what it is; where it leads,
 * found when first needed (`canon`: NULL when its directory is not
 * there). */
typedef struct flow_file_id {
    bool there;   /* stat succeeded */
    bool regular; /* and found a regular file, */
    dev_t dev;    /* this one */
    ino_t ino;
    bool canon_done;
    char *canon;
} flow_file_id_t;

/* A file the run writes: the path as given, and who writes it ("node 'out'
 * (line 12, output 'x')", "--stats-json 'x'"). */
typedef struct flow_claim {
    char *path;
    char *owner;
    long node; /* the index of the node writing it; -1: flowrun's report */
    flow_file_id_t id; /* of path, when claimed */
} flow_claim_t;

struct flow_graph {
    char *file;
    char *name;
    char *description;
    flow_kv_t *params; /* graph parameters */
    size_t nparams, pcap;
    flow_gnode_t *nodes;
    size_t nnodes, ncap;
    /* The nodes by name (flow__graph_index_node): open addressing, each
     * slot a node's index + 1, 0 empty; `icap` a power of two. */
    uint32_t *index;
    size_t icap;
    /* The graph parameters by name (flow__graph_index_param), alike. */
    uint32_t *pindex;
    size_t picap;
    flow_glink_t *links;
    size_t nlinks, lcap;
    flow_registry_t *reg;
    char **warnings; /* flow_graph_warning */
    size_t nwarnings, wcap;
    bool file_is_path;    /* `file` names the graph file, not a string's name */
    flow_claim_t *claims; /* files the run writes (claim.c) */
    size_t nclaims, claimcap;
    char *stdin_owner;   /* the node that reads standard input (claim.c) */
    flow_claim_t *reads; /* files nodes read (claim.c) */
    size_t nreads, readcap;
};

/* ---- Files the run writes (claim.c) ------------------------------------- */

/* Whether paths `a` and `b` name one file to overwrite: one existing regular
 * file, or one path not there yet, however spelt. */
bool flow__same_file(const char *a, const char *b);

/* Forget the graph's claims (before a check, and when it is destroyed). */
void flow__claims_release(flow_graph_t *g);

/* Check the loaded graph; resolve types, parse parameters, wire ports. */
int flow__graph_check(flow_graph_t *g, flow_diag_t *diag);

/*
 * The index of instance `inst` of node `node` among all the processes of a
 * run: node by node, instance by instance.
 */
size_t flow__proc_index(const flow_graph_t *g, size_t node, unsigned inst);

/*
 * The directories registry `reg` looks for plugins in, in order, joined by
 * ", " into `buf` (cut to `len`; "no directory" when there is none).
 */
void flow__registry_paths(const flow_registry_t *reg, char *buf, size_t len);

/*
 * Upstream cancellation (flow_node_close_input). `closed[k]` holds the input
 * ports (bit i: port i of its type) that process k gave up. Marks in
 * `unwanted` (one per node, kept where already set) every node whose work
 * no one wants any more:
 * - a node with output ports, each of whose consumers is unwanted or had
 *   every one of its instances give that input up;
 * - a node with pair ports and no output, every pair peer of which is
 *   unwanted (the segments of a coordinator that is).
 * Sinks, and nodes that only talk over pairs to wanted nodes, stay wanted.
 * Returns true when it marked a node.
 */
bool flow__graph_unwanted(const flow_graph_t *g, const uint64_t *closed,
                          bool *unwanted);

/*
 * What the launcher and the rendezvous keep of the inputs given up in a
 * run, to tell whom to stop. flow__cancel_init zeroes it for graph `g`
 * (borrowed); flow__cancel_fini frees what it holds.
 */
typedef struct flow_cancel {
    const flow_graph_t *g;
    uint64_t *closed; /* per process: as flow__graph_unwanted's */
    bool *unwanted;   /* per node */
    bool *stop;       /* per node: stop its instances now */
} flow_cancel_t;

void flow__cancel_init(flow_cancel_t *c, const flow_graph_t *g);
void flow__cancel_fini(flow_cancel_t *c);

/*
 * Process `k` gave its input port `port` up. Sets `stop[n]` for each node
 * this made unwanted that has no push input, and clears it for the others:
 * those are told to stop (a graceful stop); a node with a push input is
 * not (the signal would only interrupt its own system calls), it drains
 * once its producers end. Returns true when some node is to be told.
 */
bool flow__cancel_give_up(flow_cancel_t *c, size_t k, unsigned long port);

/* Whether node `gn` has a push input: a graceful stop is no business of
 * such a node's (it drains until its input ends), so it is not told one. */
bool flow__gnode_has_input(const flow_gnode_t *gn);

/*
 * A hash of what makes two loads of a graph the same run: graph parameters,
 * nodes (name, type, instances, every key as written or set but log_level
 * and timeout, in any order) and links.
 * Instances started apart (--instance) must load the same graph as their
 * rendezvous.
 */
uint64_t flow__graph_fingerprint(const flow_graph_t *g);

/*
 * The prints of the parts of `g` (graph parameters, nodes, links, in that
 * order), for an instance's HELLO: "parts=NP.NN.NL:" and 8 hex digits per
 * part. Caller frees.
 */
char *flow__graph_parts(const flow_graph_t *g);

/*
 * Where the graph whose flow__graph_parts are `parts` differs from `g`:
 * writes into `buf` ("node 'seg' differs (...)", or the counts) and
 * returns 0; -1 when `parts` is not such a text or no part differs.
 */
int flow__graph_parts_diff(const flow_graph_t *g, const char *parts, char *buf,
                           size_t size);


/* Seconds on the monotonic clock. */
double flow__now_s(void);

/* The most instances of one node. */
#define FLOW_MAX_INSTANCES 4096

/*
 * What `instances = auto` stands for in this process: the environment
 * variable FLOW_AUTO_INSTANCES (1 to FLOW_MAX_INSTANCES) when set, else the
 * number of online CPUs. Returns it, or 0 when FLOW_AUTO_INSTANCES is set to
 * anything else.
 */
unsigned flow__auto_instances(void);

/* True when a node of `g` has `instances = auto`. */
bool flow__graph_has_auto(const flow_graph_t *g);

/* Return the index of node `name`, or -1. */
long flow__graph_find_node(const flow_graph_t *g, const char *name);

/* Add node `i` (just appended, its name set) to the index by name that
 * flow__graph_find_node looks in. */
void flow__graph_index_node(flow_graph_t *g, size_t i);

/* Return graph parameter `name` (in g->params), or NULL. */
flow_kv_t *flow__graph_find_param(const flow_graph_t *g, const char *name);

/* Add parameter `i` (just appended to g->params, its key set) to the index
 * by name that flow__graph_find_param looks in. */
void flow__graph_index_param(flow_graph_t *g, size_t i);

/* Return the index of port `name` in `desc`, or -1. */
long flow__desc_find_port(const flow_node_desc_t *desc, const char *name);

/*
 * Channel topology of a pair link between `a` instances (first side) and
 * `b` instances: return the number of channels of an instance of `side`, and
 * store in `peer` (if not NULL) the peer instance of channel `ch` of
 * instance `inst` of that side.
 */
unsigned flow__pair_channels(unsigned a, unsigned b, int side);

/*
 * The descriptors an instance holds whatever its links: standard input,
 * output and error, its barrier pipes, its ZeroMQ context's (and the
 * launcher's, inherited), over TCP its rendezvous's and watcher's. Measured
 * (/proc/PID/fd): 11 over ipc, 19 over TCP.
 */
#define FLOW__NODE_FD_BASE 32
/* Room for the files the node's own code opens: the soft limit is raised
 * that much above what the framework needs, where the hard one allows. A
 * run is refused only when the hard limit is below the framework's need,
 * which is sure to fail. */
#define FLOW__NODE_FD_ROOM 32

/*
 * What an instance of node `n` of `g` holds for its links: stores in
 * `*nsock` its ZeroMQ sockets (with the rendezvous's and the monitors'),
 * and returns about how many descriptors the framework takes for it (a
 * mailbox each, a listener per bound socket, a connection per peer, and
 * FLOW__NODE_FD_BASE). Over TCP (`tcp`), each bound socket has a monitor
 * of its connections too (two sockets, a mailbox each).
 */
size_t flow__node_fd_need(const flow_graph_t *g, size_t n, bool tcp,
                          size_t *nsock);
unsigned flow__pair_peer(unsigned a, unsigned b, int side, unsigned inst,
                         unsigned ch);

/* ---- Node run time (node.c, node_*.c) ------------------------------------ */

/*
 * Run instance `inst` of node `n` in the current (freshly forked) process:
 * create the ZeroMQ context and sockets in `run_dir`, write a byte to
 * fds[0] (ready) and wait for EOF on fds[1] (go), run the node, then write
 * a byte to fds[2] (done) and wait for EOF on fds[3] (release) before
 * closing the sockets. Returns the process exit status (0 on success); the
 * caller must end with flow__node_exit(status).
 */
struct flow_inst_stats;
int flow__node_main(const flow_graph_t *g, size_t n, unsigned inst,
                    const char *run_dir, const int fds[4],
                    struct flow_inst_stats *st);

/* End an instance's process with `status` (_exit: the launcher's atexit
 * handlers and stdio buffers are not the instance's). Built with
 * AddressSanitizer, flow__node_main has looked for leaks before it
 * returned a success (_exit skips LeakSanitizer's look): one found ended
 * the process as LeakSanitizer says (exit 23, or an abort). */
_Noreturn void flow__node_exit(int status);

/*
 * Set this process's transport: `tcp` links bound on `bind_host` (NULL:
 * 127.0.0.1) and advertised with the address `announce` when `bind_host`
 * is a wildcard (NULL: as flow__endpoint_fix says), and the rendezvous
 * endpoint `rdv` to register with (NULL: the launcher's pipe barriers);
 * `remote`: started apart from the rendezvous (--instance, --slurm-task),
 * so its stop orders are said. Strings are borrowed for the process.
 */
void flow__node_set_net(bool tcp, const char *bind_host, const char *announce,
                        const char *rdv, bool remote);

/* Set the child's log level and whether the launcher captures stderr. */
void flow__node_set_logging(int level, bool captured);

/*
 * Set whether the child times its waits (the counters send_block_ns and
 * recv_wait_ns, and so busy_ns), which is on by default. The launcher turns
 * it off when no one will read them (no --stats, --stats-json, --dot-stats
 * or progress line): a receive then blocks at once instead of looking first.
 * The message counters are kept either way.
 */
void flow__node_set_timing(bool on);

/*
 * Install the child's stop handlers: SIGUSR1 asks sources to end their
 * streams (a graceful stop), SIGTERM stops the node now (fini still runs).
 */
void flow__node_signals_install(void);

/*
 * Unblock the signals an instance lives by (SIGTERM, SIGUSR1, SIGPIPE),
 * which the caller of the launcher may have blocked: a mask survives fork
 * and exec. After flow__node_signals_install and the mask of the child set.
 */
void flow__node_signals_unblock(void);

/* Format an ipc endpoint for link `l`; returns 0 or -ENAMETOOLONG. */
int flow__endpoint(char *buf, size_t size, const char *run_dir, size_t l,
                   unsigned a, unsigned b);

/* ---- In-process test harness (harness.c, hooks in node_*.c) -------------- */

struct flow_harness;

/*
 * Create a node for harness `h` (borrowed): instance `inst` of node `gn`
 * (borrowed; name, instances and desc are used). flow_node_send, _send_to,
 * _recv, _recv_from, _close, _close_to, _input_cut, _channels and _batch on
 * it call the flow__harness_* functions below instead of using sockets.
 * Caller owns the node and must flow__node_destroy_harness it.
 */
flow_node_t *flow__node_new_harness(struct flow_harness *h,
                                    const flow_gnode_t *gn, unsigned inst);

/* Destroy `*node_p` if not NULL and set it to NULL. */
void flow__node_destroy_harness(flow_node_t **node_p);

/* Return the reason given to flow_node_fail (borrowed), or NULL. */
const char *flow__node_failure(const flow_node_t *node);

/* What callback `what` ("init()", ...) of `node` returned: `rc`, or
 * FLOW_ENODE with the node failed for a positive code (a callback returns
 * 0 or a negative one), or for a 0 after flow_node_fail (say, a send that
 * failed and was ignored): the node failed all the same, and its reason is
 * reported. */
int flow__node_cb_result(flow_node_t *node, const char *what, int rc);

/* As flow_node_channels, flow_node_channel and flow_node_batch. */
unsigned flow__harness_channels(struct flow_harness *h, const char *port);
unsigned flow__harness_channel(const struct flow_harness *h);
size_t flow__harness_batch(struct flow_harness *h, const char *port);
/* flow_node_hwm under the harness: the default hwm of a link of `port`'s
 * type (flow_harness_set_type's for FLOW_ANY or FLOW_SAME) and batch size;
 * 0 for an unknown port. */
int flow__harness_hwm(struct flow_harness *h, const char *port);

/* As flow_node_hold and flow_node_release: a harness has no credit to
 * hold back, but counts what is held against what was taken, per channel,
 * and refuses what a demand input refuses. */
int flow__harness_hold(struct flow_harness *h, const char *port,
                       unsigned channel, unsigned n);
int flow__harness_release(struct flow_harness *h, const char *port,
                          unsigned channel, unsigned n);

/* As flow_check_type: the declared type of `port`, or for one of FLOW_ANY
 * or FLOW_SAME the type flow_harness_set_type gave it, else FLOW_ANY (a
 * harness has no links to follow). */
flow_type_t flow__harness_type(struct flow_harness *h, const char *port);

/*
 * As flow_node_send (`any`) or flow_node_send_to (`channel`): takes
 * `*msg_p` (transfer full) into the port's output queue.
 */
int flow__harness_send(struct flow_harness *h, const char *port, bool any,
                       unsigned channel, flow_msg_t **msg_p);

/* As flow_node_recv (`any`) or flow_node_recv_from (`channel`). */
int flow__harness_recv(struct flow_harness *h, const char *port, bool any,
                       unsigned channel, flow_msg_t **msg_p);

/* As flow_node_close_input. */
int flow__harness_close_input(struct flow_harness *h, const char *port);

/* As flow_node_stop_ends_recv: no stop ends anything in a harness, but a
 * port that is not a pair port fails the node as in a graph. */
int flow__harness_stop_ends_recv(struct flow_harness *h, const char *port);

/* As flow_node_input_cut: the test ended the port with
 * flow_harness_close_cut, and the node has taken its last message. */
bool flow__harness_input_cut(const struct flow_harness *h, const char *port);

/* As flow_node_close (`all`) or flow_node_close_to (`channel`). */
int flow__harness_close(struct flow_harness *h, const char *port, bool all,
                        unsigned channel);

/* The byte that starts each log line (flow_node_log, flow_node_fail) a
 * node instance writes to the stderr pipe the launcher relays: a line the
 * node's own code left unfinished there ends before it, and the line
 * starts a line of its own. The relay drops it. */
#define FLOW__LOG_MARK '\x1e'

/*
 * Exit statuses of an instance that tell its --instance parent what no
 * status of a node's own means: the rendezvous refused it (the parent
 * exits 2, sends no FAIL: the instance's number is another process's), or
 * was never reached (the parent exits 1, sends no FAIL).
 */
#define FLOW__EXIT_REFUSED   120
#define FLOW__EXIT_UNREACHED 121

/* ---- Processes (proc.c) -------------------------------------------------- */

/* A fork()ed node instance as the launcher tracks it. */
/*
 * The done pipe of a local run carries 4-byte records: a process index, the
 * instance is done; or this bit, the index shifted by 8 and a port index,
 * the instance gave that input up (flow_node_close_input).
 */
#define FLOW__DONE_CLOSED 0x80000000u

typedef struct flow_proc {
    size_t node;
    unsigned inst;
    int pid;
    int status; /* wait status once exited */
    bool exited;
    bool done;    /* passed the exit barrier: it may exit 0 */
    bool failed;  /* reported its own failure (over TCP): its exit is told
                     even when the run is stopping because of it */
    int err_fd;   /* read end of the child's stderr pipe, -1 once closed */
    char *errbuf; /* a partial line of its stderr */
    size_t errlen, errcap;
    bool cut; /* the last line relayed was a piece of a longer one */
} flow_proc_t;

/* Describe wait status `status` ("exited with status 3", "killed by signal
 * SIGSEGV") into `buf`. */
void flow__status_describe(int status, char *buf, size_t size);
/* The abbreviation of signal `sig` without "SIG", as sigabbrev_np gives it,
 * also of a real-time signal ("RTMIN+2", in `buf`); "?" when unknown. */
#define FLOW__SIG_ABBREV 16
const char *flow__sig_abbrev(int sig, char buf[FLOW__SIG_ABBREV]);

/* Whether process `pid` is stopped (SIGSTOP, SIGTSTP, ...) or held by a
 * debugger, as /proc/PID/stat says; false when it cannot be told. */
bool flow__proc_stopped(pid_t pid);

/* Whether process `pid` is writing its core dump, as /proc/PID/status
 * says (CoreDumping, Linux 4.15); false when it cannot be told. */
bool flow__proc_core_dumping(pid_t pid);

/*
 * Make room for `who` ("the launcher", "the rendezvous") to watch the
 * `nprocs` processes of a run, `per_proc` descriptors each, 32 more, and
 * those the caller holds beyond the standard three (inherited by every
 * process of the run; flow__instances_fd_check counts them too):
 * raises the soft RLIMIT_NOFILE towards the hard one if need be (children
 * inherit it). libzmq aborts a process whose accept finds no descriptor,
 * so this is checked before anything starts. Returns 0, or FLOW_EUSAGE
 * having said why on stderr.
 */
int flow__fd_limit(const char *who, size_t nprocs, unsigned per_proc);

/*
 * The state of the calling process that a public entry point running
 * processes (flow_graph_run, flow_graph_run_instance, flow_graph_serve,
 * flow_graph_run_slurm) holds or changes for itself, and puts back:
 *
 * Standard descriptors closed by the caller would be the first ones a run
 * opens (its run directory's lock, its pipes, its instances' ZeroMQ
 * descriptors), and a node writing "standard output" would write into
 * them. Each of 0, 1 and 2 that is closed is opened on /dev/null the wrong
 * way round (reading for 1 and 2, writing for 0), so that using it fails
 * with EBADF, as it would have; `held` says which, to close them again.
 *
 * The soft RLIMIT_NOFILE, which flow__fd_limit may raise (a select() of
 * the caller's needs it below 1024), is put back as it was.
 */
typedef struct flow_caller_state {
    bool held[3];         /* standard descriptor i held on /dev/null */
    bool nofile_kept;     /* `nofile` was read */
    struct rlimit nofile; /* the caller's RLIMIT_NOFILE */
} flow_caller_state_t;

void flow__caller_state_hold(flow_caller_state_t *st);
void flow__caller_state_restore(const flow_caller_state_t *st);

/* Whether every instance of `g` can have the descriptors it needs
 * (flow__node_fd_need) under the hard RLIMIT_NOFILE, which it cannot
 * raise: 0, or FLOW_EUSAGE having named the node on stderr. */
int flow__instances_fd_check(const flow_graph_t *g, bool tcp);

/* ---- The run directory (rundir.c) ---------------------------------------- */

/*
 * Make a private run directory (mode 0700) "flow-XXXXXX" in `base`, or when
 * NULL in $XDG_RUNTIME_DIR, $TMPDIR or /tmp (the first writable one), into
 * `dir`. It holds a file "lock", locked through `*lock_fd` (-1 where the
 * file system has no flock), which the caller keeps open for the run and
 * closes in its forked children. Then removes the run directories there
 * whose lock is free: their runs were killed before they could. Returns
 * 0, or -errno with nothing made and `dir` the path it tried to make.
 */
int flow__rundir_make(const char *base, char *dir, size_t size, int *lock_fd);

/* Unlock (closing `*lock_fd`, set to -1) and remove run directory `dir`
 * and the files in it. */
void flow__rundir_release(const char *dir, int *lock_fd);

/* ---- Signals of a supervising process (signals.c) ------------------------ */

/*
 * Add to `mask` the stop signals (SIGINT, SIGTERM, SIGHUP, and the others
 * whose default action is to end a process without a core dump: SIGALRM,
 * SIGUSR2, SIGVTALRM, SIGPROF, SIGPWR) this process does not ignore. A command
 * started in the background by a shell inherits SIGINT ignored, and one started
 * under nohup SIGHUP: those stay ignored, as the one who started it asked. (A
 * blocked signal is queued even when ignored, so blocking one and reading it
 * from a signalfd would undo that.)
 */
void flow__stop_signals_add(sigset_t *mask);

/* The signals that stop a launcher (a local run, a rendezvous), which it
 * reads from a signalfd: flow__stop_signals_add's, and SIGUSR1, which
 * flowrun holds from its start too (it is a graceful stop's notice to the
 * instances, which take it themselves: not in that list). */
void flow__launcher_stop_signals_add(sigset_t *mask);

/* Add SIGTSTP (a terminal's Ctrl-Z) to `mask` unless this process ignores
 * it (see flow__pause_with_group). */
void flow__pause_signal_add(sigset_t *mask);

/* Add SIGQUIT (a terminal's Ctrl-\) to `mask` unless this process ignores
 * it: a local run reads it, passes it on to its instances and removes its
 * run directory before it returns (see flow_graph_run). */
void flow__quit_signal_add(sigset_t *mask);

/*
 * Ctrl-Z for a process whose children run in process group `pgid` (0: none
 * yet), which the terminal does not reach: stop the group (SIGSTOP), stop
 * this process as SIGTSTP does (SIGTSTP must be blocked; it is again on
 * return), and when continued, continue the group. Returns the seconds
 * spent stopped, for the caller's deadlines.
 */
double flow__pause_with_group(pid_t pgid);

/*
 * A stop signal's echo. GNU timeout(1), and tools like it, send their
 * signal to the command and then to the command's process group, so a
 * command that leads no process group of its own gets it twice within
 * microseconds: one stop asked for, not a second signal that kills at
 * once; bash, hung up, sends a stopped job SIGHUP and then SIGTERM. A
 * signal is such an echo when the first stop signal seen (`*first`, all
 * zero before) came from the same process (not the kernel: a terminal's
 * Ctrl-C twice is twice) less than FLOW__SIGNAL_ECHO_S before; or when
 * both are SIGHUP, from anyone: a terminal that hangs up sends it to its
 * foreground group, and the interactive shell, hung up too, to its jobs
 * (bash, within 0.1 ms of the kernel's), one hang-up. Records the first.
 * Async-signal-safe.
 */
#define FLOW__SIGNAL_ECHO_S 0.1

typedef struct flow_sig_first {
    int sig;
    pid_t pid;
    double t;
} flow_sig_first_t;

bool flow__signal_echo(flow_sig_first_t *first, int sig, pid_t pid, double t);

/*
 * Seconds this thread has spent runnable but waiting for a CPU
 * (/proc/thread-self/schedstat), or -1 if unknown. A signal is read that
 * much later than it came, at most, when the thread slept until it came: on
 * a loaded machine the echo of a stop signal was read over 0.1 s after the
 * first although sent within it (see flow__signal_echo's callers).
 */
double flow__runqueue_wait_s(void);

/* Set SIGCHLD to its default action, saving the old one in `*old` (NULL:
 * not saved). An inherited SIG_IGN (or SA_NOCLDWAIT) has the kernel reap
 * the children itself, and waitpid() never sees them exit. */
void flow__child_signal_default(struct sigaction *old);

/*
 * Put back the caller's SIGCHLD action `old` (flow__child_signal_default's)
 * once the run has reaped its own children: a child of the caller's that
 * ended meanwhile, whose SIGCHLD the default action dropped or the run
 * read, is then told as that action would have told it. Where the caller
 * ignored SIGCHLD (SIG_IGN, SA_NOCLDWAIT) it is reaped, as the kernel
 * would have (it stayed a zombie for good); where the caller has a
 * handler, a SIGCHLD of the child's (its pid and status) is queued (the
 * handler never ran): it runs once SIGCHLD is unblocked, on return if
 * the caller of this does not hold it blocked.
 */
void flow__child_signal_restore(const struct sigaction *old);

#endif
