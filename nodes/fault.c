/* SPDX-License-Identifier: MIT */
/*
 * fault: a pass-through that injects a fault, for tests of failure
 * handling. It forwards every message of "in" to "out" unchanged until
 * `after` messages have gone through; then, on the next message or at the
 * end of its input if that comes first, the instance faults:
 *
 *   exit      _exit(code), without exit handlers or flushing
 *   segv      dies of SIGSEGV (default action restored, no core dump)
 *   abrt      dies of SIGABRT (likewise)
 *   kill      dies of SIGKILL
 *   hang      sleeps forever, ignoring SIGTERM (only SIGKILL ends it)
 *   garbage   sends one frame of random bytes on "out"
 *   truncate  sends the first bytes of a frame header only
 *   badcount  sends a data header whose item count does not match its
 *             payload
 *   badtype   sends a data header with an unknown item type
 *   badeos    sends an end-of-stream marker with a wrong message count
 *   badsrc    sends a well-formed data frame from sender instance
 *             FAULT_BADSRC_INST, which no link has
 *   aftereos  sends an end-of-stream marker, then a data frame. The
 *             marker's count is right only when the consumer has one
 *             instance (with more, the two frames may also go to different
 *             consumers). A consumer whose input is still open (another
 *             instance still sends to it) fails at the frame; one whose
 *             input has ended sees it in the exit barrier, where it
 *             watches its inputs until the run is done, and fails there
 *   none      nothing: a plain pass-through, for control runs
 *
 * The frame actions send their frame with flow_node_send_raw and then go on
 * forwarding, so the consumer must detect the bad frame and fail, naming
 * the link.
 *
 * Where the fault sits:
 *
 *   middle    range -> fault -> collect: the default.
 *   producer  emit = N: after its input has ended, the instance makes N
 *             numbers itself (as `range` does: chunks of the link's batch
 *             size, instance i of n making chunks i, i + n, ...) and
 *             `after` counts the messages it made. Feed it an empty stream
 *             (range count = 0) so it is the only producer of its output.
 *   sink      forward = false: every message is consumed and dropped; the
 *             output, linked to a collect, stays empty. The producers
 *             block at the high-water mark when the sink stops reading.
 *
 * work_us = N makes every message take N microseconds, like a computation
 * that no signal cuts short: a slow consumer, or an instance that is busy
 * when the launcher stops the run.
 *
 * Just before it faults the instance logs one line with its pid and the
 * CLOCK_MONOTONIC time, "injecting ACTION after N messages (pid P,
 * t=SECONDS)", so a test can check the launcher's report and how fast the
 * run ended.
 *
 * The frame actions know the wire format of framework/src/msg.c (a 24-byte
 * header: magic "FLW1", kind, item type, two reserved bytes, the sender
 * instance, the item count and the sequence number or, in an end marker,
 * the message count; host byte order) only as far as needed to make frames
 * that look right but are not.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "flow/node.h"

#define FAULT_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

/* The wire format, as framework/src/msg.c writes it. */
#define FAULT_MAGIC     0x31574c46u /* "FLW1" */
#define FAULT_HDR       24
#define FAULT_KIND_DATA 1
#define FAULT_KIND_EOS  2

/* The sender instance that badsrc claims. */
#define FAULT_BADSRC_INST 999999u

/* Values of the `action` choice, in table order. */
enum {
    FAULT_EXIT = 0,
    FAULT_SEGV,
    FAULT_ABRT,
    FAULT_KILL,
    FAULT_HANG,
    FAULT_GARBAGE,
    FAULT_TRUNCATE,
    FAULT_BADCOUNT,
    FAULT_BADTYPE,
    FAULT_BADEOS,
    FAULT_BADSRC,
    FAULT_AFTEREOS,
    FAULT_NONE
};

static const char *const action_names[] = { "exit",     "segv",     "abrt",
                                            "kill",     "hang",     "garbage",
                                            "truncate", "badcount", "badtype",
                                            "badeos",   "badsrc",   "aftereos",
                                            "none" };

struct fault {
    int64_t after;
    int action;
    int64_t code;
    int64_t instance;
    int64_t seed;
    int64_t emit;
    bool forward;
    int64_t work_us;
    uint64_t rng;  /* splitmix64 state, set by init */
    uint64_t seen; /* messages forwarded, dropped or made */
    bool armed;    /* this instance faults */
    bool fired;
};

static const flow_param_t fault_params[] = {
    FLOW_PARAM_INT("after", struct fault, after, "0", 0, INT64_MAX,
                   "messages that go through before the fault"),
    FLOW_PARAM_CHOICE("action", struct fault, action, "exit",
                      "exit|segv|abrt|kill|hang|garbage|truncate|badcount|"
                      "badtype|badeos|badsrc|aftereos|none",
                      "the fault to inject"),
    FLOW_PARAM_INT("code", struct fault, code, "3", 0, 255,
                   "exit status for action = exit"),
    FLOW_PARAM_INT("instance", struct fault, instance, "-1", -1, 1000000,
                   "the instance that faults, -1 for every instance"),
    FLOW_PARAM_INT("seed", struct fault, seed, "1", INT64_MIN, INT64_MAX,
                   "random seed of the garbage bytes, mixed with the "
                   "instance index"),
    FLOW_PARAM_INT("emit", struct fault, emit, "0", 0, INT64_C(1) << 62,
                   "producer mode: after the input ends, make this many "
                   "numbers, over all instances"),
    FLOW_PARAM_BOOL("forward", struct fault, forward, "true",
                    "forward messages; false makes the node a sink that "
                    "drops them"),
    FLOW_PARAM_INT("work_us", struct fault, work_us, "0", 0, 10000000,
                   "time spent on every message, in microseconds, as if "
                   "computing: signals do not cut it short"),
    FLOW_PARAM_END
};

static const flow_port_t fault_ports[] = {
    FLOW_PORT_IN("in", FLOW_ANY, "any messages"),
    FLOW_PORT_OUT("out", FLOW_ANY, "the same messages, until the fault"),
    FLOW_PORT_END
};

/* Return the next value of the splitmix64 generator at `*x`. */
static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += FAULT_GOLDEN);

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int
fault_init(flow_node_t *node, void *state)
{
    struct fault *s = state;
    uint64_t x = (uint64_t)s->seed;
    unsigned inst = flow_node_instance(node);

    if (s->instance >= (int64_t)flow_node_instances(node))
        return flow_node_fail(node, "instance %lld of a node with %u",
                              (long long)s->instance,
                              flow_node_instances(node));
    s->armed = s->instance < 0 || s->instance == (int64_t)inst;
    s->rng =
        splitmix64(&x) ^ ((uint64_t)inst + 1) * UINT64_C(0xd1b54a32d192ed03);
    return 0;
}

/* Write a frame header in the framework's layout. */
static void
put_header(unsigned char *h, int kind, int type, uint32_t src, uint32_t count,
           uint64_t seq)
{
    uint32_t magic = FAULT_MAGIC;

    memset(h, 0, FAULT_HDR);
    memcpy(h, &magic, 4);
    h[4] = (unsigned char)kind;
    h[5] = (unsigned char)type;
    memcpy(h + 8, &src, 4);
    memcpy(h + 12, &count, 4);
    memcpy(h + 16, &seq, 8);
}

/* Die of `sig` itself, whatever handler a sanitizer installed. */
static void
die_of(int sig)
{
    struct sigaction sa;
    sigset_t set;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached */
}

/* `rc`, the return of a send on "out": 0 and FLOW_EINTR pass as they are;
 * anything else fails the node, saying so. */
static int
sent(flow_node_t *node, int rc)
{
    if (rc == 0 || rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(node, "cannot send on 'out': %s", flow_strerror(rc));
}

/* Send one bad frame for a frame action. */
static int
send_bad_frame(flow_node_t *node, struct fault *s)
{
    unsigned char f[FAULT_HDR + 64];
    uint32_t src = flow_node_instance(node);
    size_t len = 0;
    int rc;

    switch (s->action) {
    case FAULT_GARBAGE: {
        uint32_t magic = FAULT_MAGIC;
        len = 1 + splitmix64(&s->rng) % sizeof(f);
        for (size_t i = 0; i < len; i++)
            f[i] = (unsigned char)splitmix64(&s->rng);
        if (len >= 4 && !memcmp(f, &magic, 4))
            f[0] ^= 0xff;
        break;
    }
    case FAULT_TRUNCATE:
        put_header(f, FAULT_KIND_DATA, FLOW_INT64, src, 0, s->seen);
        len = 1 + splitmix64(&s->rng) % (FAULT_HDR - 1);
        break;
    case FAULT_BADCOUNT: {
        int64_t one = 1;
        /* Says 1000 items, carries one. */
        put_header(f, FAULT_KIND_DATA, FLOW_INT64, src, 1000, s->seen);
        memcpy(f + FAULT_HDR, &one, sizeof(one));
        len = FAULT_HDR + sizeof(one);
        break;
    }
    case FAULT_BADTYPE:
        put_header(f, FAULT_KIND_DATA, 0x7f, src, 0, s->seen);
        len = FAULT_HDR;
        break;
    case FAULT_BADEOS:
        /* No receiver can have seen this many messages from us. */
        put_header(f, FAULT_KIND_EOS, 0, src, 0, s->seen + 1000003);
        len = FAULT_HDR;
        break;
    case FAULT_BADSRC:
    case FAULT_AFTEREOS: {
        int64_t one = 1;
        put_header(f, FAULT_KIND_DATA, FLOW_INT64,
                   s->action == FAULT_BADSRC ? FAULT_BADSRC_INST : src, 1,
                   s->seen);
        memcpy(f + FAULT_HDR, &one, sizeof(one));
        len = FAULT_HDR + sizeof(one);
        break;
    }
    default:
        return 0;
    }
    if (s->action == FAULT_AFTEREOS) {
        /* The end of this instance's stream, with the right count. */
        unsigned char eos[FAULT_HDR];
        put_header(eos, FAULT_KIND_EOS, 0, src, 0, s->forward ? s->seen : 0);
        if ((rc =
                 sent(node, flow_node_send_raw(node, "out", eos, sizeof(eos)))))
            return rc;
    }
    return sent(node, flow_node_send_raw(node, "out", f, len));
}

/* Inject the fault if it is due; returns 0 to go on or a negative code. */
static int
maybe_fire(flow_node_t *node, struct fault *s, bool at_end)
{
    struct timespec now;
    struct rlimit no_core = { 0, 0 };

    if (!s->armed || s->fired || s->action == FAULT_NONE)
        return 0;
    if (!at_end && s->seen < (uint64_t)s->after)
        return 0;
    s->fired = true;
    clock_gettime(CLOCK_MONOTONIC, &now);
    flow_node_log(node, FLOW_LOG_INFO,
                  "injecting %s after %llu messages (pid %ld, t=%.6f)",
                  action_names[s->action], (unsigned long long)s->seen,
                  (long)getpid(), (double)now.tv_sec + now.tv_nsec / 1e9);
    /* A core dump can take long and litter the directory: none. */
    setrlimit(RLIMIT_CORE, &no_core);
    switch (s->action) {
    case FAULT_EXIT:
        _exit((int)s->code);
    case FAULT_SEGV:
        die_of(SIGSEGV);
        break;
    case FAULT_ABRT:
        die_of(SIGABRT);
        break;
    case FAULT_KILL:
        die_of(SIGKILL);
        break;
    case FAULT_HANG:
        for (;;) {
            struct timespec t = { 1, 0 };
            nanosleep(&t, NULL); /* SIGTERM only interrupts the sleep */
        }
    default:
        return send_bad_frame(node, s);
    }
    return 0;
}

/* Spend `us` microseconds as a computation would, whatever signals come. */
static void
work(int64_t us)
{
    struct timespec left = { .tv_sec = (time_t)(us / 1000000),
                             .tv_nsec = (long)(us % 1000000) * 1000L };

    while (us > 0 && nanosleep(&left, &left) < 0)
        ; /* interrupted: sleep the rest */
}

static int
fault_process(flow_node_t *node, void *state, const char *port,
              flow_msg_t **msg_p)
{
    struct fault *s = state;
    int rc;

    (void)port;
    if ((rc = maybe_fire(node, s, false)))
        return rc;
    s->seen++;
    work(s->work_us);
    if (!s->forward)
        return 0; /* the framework destroys the message */
    return sent(node, flow_node_send(node, "out", msg_p));
}

/* Producer mode: make this instance's chunks of 0 .. emit - 1. */
static int
emit_numbers(flow_node_t *node, struct fault *s)
{
    uint64_t count = (uint64_t)s->emit;
    uint64_t batch = flow_node_batch(node, "out");
    uint64_t n = flow_node_instances(node);
    uint64_t chunks;

    if (batch == 0)
        return flow_node_fail(node, "no batch size on port 'out'");
    chunks = count / batch + (count % batch != 0);
    for (uint64_t k = flow_node_instance(node); k < chunks; k += n) {
        uint64_t first = k * batch;
        uint64_t m = count - first < batch ? count - first : batch;
        flow_msg_t *msg;
        int rc;

        if ((rc = maybe_fire(node, s, false)))
            return rc;
        msg = flow_msg_new(FLOW_INT64, (size_t)m);
        for (uint64_t j = 0; j < m; j++)
            flow_msg_add_i64(msg, (int64_t)(first + j));
        flow_msg_set_seq(msg, k);
        s->seen++;
        if ((rc = sent(node, flow_node_send(node, "out", &msg))))
            return rc;
    }
    return 0;
}

static int
fault_finish(flow_node_t *node, void *state)
{
    struct fault *s = state;
    int rc;

    if (s->emit > 0 && (rc = emit_numbers(node, s)))
        return rc;
    return maybe_fire(node, s, true);
}

FLOW_NODE(fault) = {
    FLOW_NODE_V1,
    .name = "fault",
    .summary = "Forward messages, then inject a fault (for tests)",
    .state_size = sizeof(struct fault),
    .params = fault_params,
    .ports = fault_ports,
    .init = fault_init,
    .process = fault_process,
    .finish = fault_finish,
};
