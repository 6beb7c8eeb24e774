/* SPDX-License-Identifier: MIT */
/*
 * primes: the coordinator of the parallel prime sieve, the article's
 * collect_primes() and send_primes().
 *
 * It splits [2, limit] into one range per peer of its pair port "seg" (the
 * instances of a `sieve` node; explicit ranges can be given instead), seeds
 * the primes below 11 (2, 3, 5, 7), then, for each segment i in order, sends
 * it the end signal, receives its primes and forwards each one to the later
 * segments that need it (those whose upper bound is at least its square).
 * The primes go to "out" in ascending order, or only their count.
 *
 * The protocol is described in nodes/sieve.c. Two refinements over the
 * article make the segments work in parallel and keep the traffic small:
 *
 * - A segment gets its end signal as soon as it has every prime it needs
 *   (all primes up to the square root of its upper bound), not only when
 *   every earlier segment has finished; the article sends it nothing more
 *   after that point either. The segments' replies carry a watermark `upto`
 *   that tells the coordinator how far it knows every prime.
 * - In count mode a segment sends only the primes later segments need, and
 *   its count; 455 million primes below 10^10 never cross a socket.
 *
 * What is serial: segment 0 gets its range and end signal first and sends
 * the primes up to the largest later square root as soon as it has sieved
 * that far (9592 primes below 10^5, one message, for 10^10); the later
 * segments start once these are forwarded, a few milliseconds after segment
 * 0. At the end, only the counts come back. The split gives every segment
 * the same estimated CPU time (see work_density): the upper ranges, which
 * have more sieving primes, get fewer numbers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/node.h"

/* Message kinds; keep in sync with nodes/sieve.c. */
#define SIEVE_MSG_RANGE  1
#define SIEVE_MSG_PRIMES 2
#define SIEVE_MSG_COUNT  3

/* The seeds are every prime below this. */
#define PRIMES_SEEDS_BELOW 11

/* Primes per message on "out" at most, to keep memory small. */
#define PRIMES_MAX_BATCH 65536

/* The work model of the split: see work_density. */
#define WORK_PER_NUMBER   0.183
#define WORK_PER_CROSSING 0.623
#define WORK_PER_PRIME    1.81e-5
#define WORK_L2           3.9
#define WORK_PER_BLOCK    0.0

/* Numbers of the article's ranges are at most this (and the limit). */
#define PRIMES_MAX (INT64_C(1) << 62)

enum { PRIMES_LIST, PRIMES_COUNT };

static const int64_t seeds[] = { 2, 3, 5, 7 };

struct primes {
    int64_t limit;
    int output;
    char *ranges;
};

/* One segment as the coordinator sees it. */
struct segment {
    int64_t lo, hi; /* its numbers [lo, hi) */
    int64_t root;   /* isqrt(hi - 1), -1 for an empty range */
    int64_t report; /* it lists the primes up to this */
    int closed;     /* the end signal was sent */
};

/* The run's state, so helpers need few arguments. */
struct coord {
    flow_node_t *node;
    int mode;
    unsigned n;
    struct segment *seg;
    int64_t known; /* every prime below this has been forwarded */
    int64_t *out;  /* primes waiting for "out" */
    size_t fill, room;
    uint64_t total; /* primes counted so far */
};

static const flow_param_t primes_params[] = {
    FLOW_PARAM_INT("limit", struct primes, limit, "1000000", 0, PRIMES_MAX,
                   "find the primes <= limit"),
    FLOW_PARAM_CHOICE("output", struct primes, output, "list", "list|count",
                      "send every prime, or only how many there are"),
    FLOW_PARAM_STRING("ranges", struct primes, ranges, "",
                      "explicit ranges 'lo-hi,lo-hi,...' (hi excluded), one "
                      "per segment, contiguous, the first lo <= 11; the "
                      "primes below the first lo are the seeds; overrides "
                      "limit"),
    FLOW_PARAM_END
};

static const flow_port_t primes_ports[] = {
    FLOW_PORT_PAIR("seg", FLOW_INT64,
                   "one channel per sieve segment: ranges and sieving primes "
                   "out, the segment's primes in"),
    FLOW_PORT_OUT("out", FLOW_INT64,
                  "the primes in ascending order, or one item: their count"),
    FLOW_PORT_END
};

/* Return floor(sqrt(n)) for n >= 0. */
static int64_t
isqrt64(int64_t n)
{
    if (n < 2)
        return n;
    int64_t x = n;
    int64_t y = x / 2 + 1;
    while (y < x) {
        x = y;
        y = (x + n / x) / 2;
    }
    return x;
}

/* Explain a failed send or receive unless the run is stopping. */
static int
io_fail(struct coord *c, int rc, const char *what, unsigned ch)
{
    if (rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(c->node, "cannot %s segment %u on 'seg': %s", what,
                          ch, flow_strerror(rc));
}

/* Send the `n` items at `v` to segment `ch`. */
static int
send_seg(struct coord *c, unsigned ch, const int64_t *v, size_t n)
{
    flow_msg_t *msg = flow_msg_new(FLOW_INT64, n);
    int rc = flow_msg_add_i64s(msg, v, n);
    if (rc == 0)
        rc = flow_node_send_to(c->node, "seg", ch, &msg);
    flow_msg_destroy(&msg);
    return rc < 0 ? io_fail(c, rc, "send to", ch) : 0;
}

/* Send the primes waiting for "out". */
static int
flush_out(struct coord *c)
{
    if (c->fill == 0)
        return 0;
    flow_msg_t *msg = flow_msg_new(FLOW_INT64, c->fill);
    int rc = flow_msg_add_i64s(msg, c->out, c->fill);
    if (rc == 0)
        rc = flow_node_send(c->node, "out", &msg);
    flow_msg_destroy(&msg);
    c->fill = 0;
    if (rc < 0 && rc != FLOW_EINTR)
        return flow_node_fail(c->node, "cannot send on 'out': %s",
                              flow_strerror(rc));
    return rc;
}

/* Queue the `n` primes at `v` for "out" (list mode). */
static int
emit(struct coord *c, const int64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        c->out[c->fill++] = v[i];
        if (c->fill == c->room) {
            int rc = flush_out(c);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Send the end signal to segment `ch` if not done yet. */
static int
close_seg(struct coord *c, unsigned ch)
{
    if (c->seg[ch].closed)
        return 0;
    c->seg[ch].closed = 1;
    int rc = flow_node_close_to(c->node, "seg", ch);
    return rc < 0 ? io_fail(c, rc, "end the stream to", ch) : 0;
}

/* Close every segment from `from` on that has all the primes it needs. */
static int
close_ready(struct coord *c, unsigned from)
{
    for (unsigned j = from; j < c->n; j++) {
        if (c->seg[j].root < c->known) {
            int rc = close_seg(c, j);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Write the reason into `why` (`whylen` bytes); returns -1. */
static int __attribute__((format(printf, 3, 4)))
why_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The end of the number at `p`, as flow_parse_int reads one ("1e9",
 * "2.5e6"): its digits, point and exponent (a sign only after the e). */
static const char *
number_end(const char *p)
{
    for (; *p; p++) {
        if ((*p == 'e' || *p == 'E') && (p[1] == '+' || p[1] == '-'))
            p++;
        else if (!(*p >= '0' && *p <= '9') && *p != '.' && *p != 'e' &&
                 *p != 'E')
            break;
    }
    return p;
}

/*
 * Parse `text` ("lo-hi,lo-hi,...") into the `n` segments `seg`. Returns 0,
 * or -1 with why (naming the parameter) in `why`. Run by the check before
 * the run (flowrun --check), and by the coordinator.
 */
static int
parse_ranges(const char *text, unsigned n, struct segment *seg, char *why,
             size_t whylen)
{
    const char *p = text;
    unsigned k = 0;

    for (;;) {
        int64_t v[2];
        for (int h = 0; h < 2; h++) {
            const char *end;
            int rc;
            while (*p == ' ' || *p == '\t')
                p++;
            end = number_end(p);
            rc = flow_parse_int(p, (size_t)(end - p), &v[h]);
            if (rc == FLOW_EPARAM || (rc == 0 && v[h] < 0))
                return why_fail(why, whylen,
                                "bad number in parameter 'ranges' "
                                "at '%s'",
                                p);
            if (rc < 0 || v[h] > PRIMES_MAX + 1)
                return why_fail(why, whylen,
                                "number '%.*s' of parameter 'ranges' is out "
                                "of range: at most %lld (2^62 + 1)",
                                (int)(end - p), p, (long long)(PRIMES_MAX + 1));
            p = end;
            while (*p == ' ' || *p == '\t')
                p++;
            if (h == 0 && *p++ != '-')
                return why_fail(why, whylen,
                                "parameter 'ranges' wants lo-hi "
                                "pairs, near '%s'",
                                p - 1);
        }
        if (k == n)
            return why_fail(why, whylen,
                            "parameter 'ranges' has more ranges than "
                            "the %u segments",
                            n);
        if (v[1] < v[0])
            return why_fail(why, whylen,
                            "range %lld-%lld of parameter 'ranges' "
                            "ends before it starts",
                            (long long)v[0], (long long)v[1]);
        if (k == 0 && v[0] > PRIMES_SEEDS_BELOW)
            return why_fail(why, whylen,
                            "the first range of parameter 'ranges' "
                            "must start at most at %d (the seeds "
                            "cover only the primes below it)",
                            PRIMES_SEEDS_BELOW);
        if (k > 0 && v[0] != seg[k - 1].hi)
            return why_fail(why, whylen,
                            "the ranges of parameter 'ranges' must "
                            "be contiguous: %lld-%lld does not start "
                            "at %lld",
                            (long long)v[0], (long long)v[1],
                            (long long)seg[k - 1].hi);
        seg[k].lo = v[0];
        seg[k].hi = v[1];
        k++;
        if (*p == '\0')
            break;
        if (*p++ != ',')
            return why_fail(why, whylen,
                            "parameter 'ranges' wants ranges "
                            "separated by commas, near '%s'",
                            p - 1);
    }
    if (k != n)
        return why_fail(why, whylen,
                        "parameter 'ranges' has %u ranges for %u "
                        "segments",
                        k, n);
    return 0;
}

/* ln(x) for x >= 1 without libm: x = m 2^e, ln m = 2 atanh((m-1)/(m+1)). */
static double
ln(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    int e = (int)(bits >> 52 & 0x7ff) - 1023;
    bits = (bits & ~(UINT64_C(0x7ff) << 52)) | UINT64_C(1023) << 52;
    double m;
    memcpy(&m, &bits, sizeof(m)); /* 1 <= m < 2 */
    double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
    for (int k = 1; k < 40; k += 2) { /* z <= 1/3 */
        sum += term / k;
        term *= z2;
    }
    return 2 * sum + e * 0.69314718055994531;
}

/*
 * The sum of 1/p over the primes 101 <= p <= y, for y >= 101: Mertens'
 * ln ln y - ln ln 101, less 0.0115, which makes it exact within 1 % from
 * y = 1000 on.
 */
static double
recip_sum(double y)
{
    return ln(ln(y)) - 1.5293 - 0.0115;
}

/*
 * The sieve's work per number near t. In instructions of the kernel of
 * nodes/sieve.c, it is a part per number (pre-sieve pattern, count), a part
 * per crossing off (a sieving prime p >= 101 crosses off 8 / (30 p) of the
 * numbers) and a part per sieving prime and block (each prime up to sqrt(t)
 * visits each block of 7.9 million numbers; the number of primes 101 <= p
 * <= y is about y / (ln y - 1.1) - 26). These three constants fit the
 * kernel's instruction counts (cachegrind) from 10^8 to 10^11 within 0.1 %.
 * Instructions are not time, though: crossings off by the primes from
 * 8192 on, which work in the L2 cache, weigh WORK_L2 times more, and the
 * branch-free per-prime part WORK_PER_BLOCK times as much. These two
 * weights depend on the machine. On the 2-core AMD EPYC (Zen 5) they were
 * 2.6 and 0.4, fitted to the CPU times of the ranges of 2, 3 and 4 segments
 * at 10^9 and 10^10 (within 2 %). On the 2-core Intel Xeon (48 KiB L1d, 2
 * MiB L2) that now runs the tests and the report, those weights left the
 * upper of 2 segments 3.3 % more CPU than the lower one at 10^9 (3.5 % at
 * 10^8, 0.5 % at 10^10); 3.9 and 0 put the split within 0.4 % of the
 * measured balance point at 10^8, 10^9 and 10^10 (medians of 21 runs of
 * explicit ranges on both sides of it). On the AMD machine these weights
 * would give the lower segment about 3 % more at 10^9 instead.
 */
static double
work_density(double t)
{
    double y = (double)isqrt64((int64_t)t);
    if (y < 101)
        return WORK_PER_NUMBER;
    double small = recip_sum(y < 8192 ? y : 8192);
    double large = y > 8192 ? recip_sum(y) - recip_sum(8192) : 0;
    double count = y / (ln(y) - 1.1) - 26;
    return WORK_PER_NUMBER + WORK_PER_CROSSING * (small > 0 ? small : 0) +
           WORK_L2 * WORK_PER_CROSSING * large +
           WORK_PER_BLOCK * WORK_PER_PRIME * (count > 0 ? count : 0);
}

/*
 * Split [2, limit] over the c->n segments. Small limits are split evenly;
 * from 2^24 on the ranges get equal estimated work (the integral of
 * work_density, by the trapezoid rule on a grid), so the upper segments,
 * which have more sieving primes, get fewer numbers.
 */
static void
split_limit(struct coord *c, int64_t limit)
{
    int64_t numbers = limit >= 2 ? limit - 1 : 0;
    int64_t each = numbers / c->n;
    int64_t extra = numbers % c->n;
    int64_t lo = 2;

    for (unsigned k = 0; k < c->n; k++) {
        int64_t size = each + ((int64_t)k < extra);
        c->seg[k].lo = lo;
        c->seg[k].hi = lo + size;
        lo += size;
    }
    if (limit < (INT64_C(1) << 24) || c->n == 1)
        return;

    enum { CELLS = 1024 };
    double work[CELLS + 1];                         /* the work below x_i */
    double x0 = 2, h = (double)(limit - 1) / CELLS; /* x_i = x0 + i h */
    double d = work_density(x0);
    work[0] = 0;
    for (int i = 1; i <= CELLS; i++) {
        double e = work_density(x0 + i * h);
        work[i] = work[i - 1] + (d + e) / 2 * h;
        d = e;
    }
    int i = 0;
    for (unsigned k = 1; k < c->n; k++) {
        double target = work[CELLS] * k / c->n;
        while (i < CELLS - 1 && work[i + 1] < target)
            i++;
        double f = (target - work[i]) / (work[i + 1] - work[i]);
        int64_t x = (int64_t)(x0 + (i + f) * h);
        if (x < c->seg[k - 1].lo)
            x = c->seg[k - 1].lo;
        if (x > limit + 1)
            x = limit + 1;
        c->seg[k - 1].hi = x;
        c->seg[k].lo = x;
    }
    c->seg[c->n - 1].hi = limit + 1;
}

/*
 * Send every segment its range and the seeds it needs. In count mode a
 * segment lists only the primes a later segment needs. Segment 0 goes
 * first and gets its end signal at once: it finds the primes it needs
 * itself (its range starts at most at 11, above the seeds), and the later
 * segments wait for the ones it lists.
 */
static int
start_segments(struct coord *c)
{
    int64_t need_after = -1; /* the largest root of the segments after k */

    for (unsigned k = c->n; k-- > 0;) {
        struct segment *s = &c->seg[k];
        s->root = s->hi > s->lo ? isqrt64(s->hi - 1) : -1;
        s->report = c->mode == PRIMES_LIST ? INT64_MAX : need_after;
        if (s->root > need_after)
            need_after = s->root;
    }
    for (unsigned k = 0; k < c->n; k++) {
        struct segment *s = &c->seg[k];
        int64_t range[4] = { SIEVE_MSG_RANGE, s->lo, s->hi, s->report };
        int rc = send_seg(c, k, range, 4);
        if (rc < 0)
            return rc;
        int64_t msg[1 + sizeof(seeds) / sizeof(seeds[0])] = {
            SIEVE_MSG_PRIMES
        };
        size_t m = 1;
        for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
            if (seeds[i] <= s->root)
                msg[m++] = seeds[i];
        if (m > 1 && (rc = send_seg(c, k, msg, m)) < 0)
            return rc;
        if (k == 0 && (rc = close_seg(c, 0)) < 0)
            return rc;
    }

    /* The seeds below the first range are primes of the answer. */
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        if (seeds[i] >= c->seg[0].lo)
            break;
        c->total++;
        if (c->mode == PRIMES_LIST) {
            int rc = emit(c, &seeds[i], 1);
            if (rc < 0)
                return rc;
        }
    }
    c->known = PRIMES_SEEDS_BELOW;
    return close_ready(c, 0);
}

/* Forward the ascending primes `v[0..n)` to the open segments after `i`. */
static int
forward(struct coord *c, unsigned i, const int64_t *v, size_t n)
{
    size_t from = 0;
    while (from < n && v[from] < PRIMES_SEEDS_BELOW)
        from++;
    if (from == n)
        return 0;

    int64_t *msg = NULL;
    for (unsigned j = i + 1; j < c->n; j++) {
        if (c->seg[j].closed || v[from] > c->seg[j].root)
            continue;
        size_t to = from;
        while (to < n && v[to] <= c->seg[j].root)
            to++;
        if (msg == NULL) {
            msg = malloc((n + 1) * sizeof(*msg));
            if (msg == NULL)
                return flow_node_fail(c->node, "out of memory");
            msg[0] = SIEVE_MSG_PRIMES;
            memcpy(msg + 1, v + from, (n - from) * sizeof(*msg));
        }
        int rc = send_seg(c, j, msg, 1 + to - from);
        if (rc < 0) {
            free(msg);
            return rc;
        }
    }
    free(msg);
    return 0;
}

/* Close segment `i`, take in its primes and its count. */
static int
collect_segment(struct coord *c, unsigned i)
{
    struct segment *s = &c->seg[i];
    int64_t last = s->lo - 1;
    uint64_t received = 0;
    int64_t count = -1;
    int rc = close_seg(c, i);

    while (rc == 0) {
        flow_msg_t *msg = NULL;
        rc = flow_node_recv_from(c->node, "seg", i, &msg);
        if (rc == FLOW_EOF) {
            rc = 0;
            break;
        }
        if (rc < 0)
            return io_fail(c, rc, "receive from", i);

        const int64_t *v = flow_msg_i64(msg);
        size_t n = flow_msg_count(msg);
        if (v != NULL && n >= 2 && v[0] == SIEVE_MSG_PRIMES && count < 0) {
            for (size_t k = 2; k < n; k++) {
                if (v[k] <= last || v[k] >= s->hi) {
                    long long bad = (long long)v[k]; /* v dies with msg */
                    flow_msg_destroy(&msg);
                    return flow_node_fail(c->node,
                                          "segment %u sent %lld out of "
                                          "order or out of its range",
                                          i, bad);
                }
                last = v[k];
            }
            received += n - 2;
            rc = forward(c, i, v + 2, n - 2);
            if (rc == 0 && c->mode == PRIMES_LIST)
                rc = emit(c, v + 2, n - 2);
            int64_t upto = v[1] < s->hi ? v[1] : s->hi;
            if (upto > c->known)
                c->known = upto;
            if (rc == 0)
                rc = close_ready(c, i + 1);
        } else if (v != NULL && n == 2 && v[0] == SIEVE_MSG_COUNT &&
                   count < 0 && v[1] >= 0) {
            count = v[1];
        } else {
            rc = flow_node_fail(c->node,
                                "malformed message from segment %u on "
                                "'seg'",
                                i);
        }
        flow_msg_destroy(&msg);
    }
    if (rc < 0)
        return rc;
    if (count < 0 && (rc = flow_node_await_stop(c->node, 500)) < 0)
        return rc; /* it stopped early: a graceful stop, this node's too */
    if (count < 0)
        return flow_node_fail(c->node, "segment %u ended without its count", i);
    if (c->mode == PRIMES_LIST && (uint64_t)count != received)
        return flow_node_fail(c->node,
                              "segment %u counted %lld primes but sent "
                              "%llu",
                              i, (long long)count,
                              (unsigned long long)received);
    c->total += (uint64_t)count;
    if (s->hi > c->known)
        c->known = s->hi;
    return close_ready(c, i + 1);
}

/* Before the run (flowrun --check too): explicit ranges parse, and there
 * is one for each sieve segment. */
static int
primes_check(const flow_check_t *c, const void *state, char *why, size_t whylen)
{
    const struct primes *p = state;
    unsigned n = flow_check_channels(c, "seg");
    struct segment *seg;
    int rc;

    if (p->ranges == NULL || p->ranges[0] == '\0' || n == 0)
        return 0;
    if ((seg = calloc(n, sizeof(*seg))) == NULL)
        return 0; /* the run will say it */
    rc = parse_ranges(p->ranges, n, seg, why, whylen);
    free(seg);
    return rc ? FLOW_EPARAM : 0;
}

static int
primes_run(flow_node_t *node, void *state)
{
    const struct primes *p = state;
    struct coord c = { .node = node, .mode = p->output };
    int rc;

    c.n = flow_node_channels(node, "seg");
    if (c.n == 0)
        return flow_node_fail(node, "port 'seg' has no sieve segments");
    c.room = flow_node_batch(node, "out");
    if (c.room == 0 || c.room > PRIMES_MAX_BATCH)
        c.room = c.room == 0 ? 4096 : PRIMES_MAX_BATCH;
    c.seg = calloc(c.n, sizeof(*c.seg));
    c.out = malloc(c.room * sizeof(*c.out));
    if (c.seg == NULL || c.out == NULL) {
        rc = flow_node_fail(node, "out of memory");
        goto done;
    }

    rc = 0;
    if (p->ranges != NULL && p->ranges[0] != '\0') {
        char why[256];
        if (parse_ranges(p->ranges, c.n, c.seg, why, sizeof(why)))
            rc = flow_node_fail(node, "%s", why);
    } else {
        split_limit(&c, p->limit);
    }
    if (rc == 0)
        rc = start_segments(&c);
    for (unsigned i = 0; rc == 0 && i < c.n; i++)
        rc = collect_segment(&c, i);
    if (rc == 0 && c.mode == PRIMES_COUNT) {
        int64_t total = (int64_t)c.total;
        rc = emit(&c, &total, 1);
    }
    if (rc == 0)
        rc = flush_out(&c);
done:
    free(c.seg);
    free(c.out);
    return rc;
}

FLOW_NODE(primes) = {
    FLOW_NODE_V1,
    .name = "primes",
    .summary = "Coordinate the parallel prime sieve over 'sieve' segments",
    .state_size = sizeof(struct primes),
    .params = primes_params,
    .ports = primes_ports,
    .max_instances = 1,
    .check = primes_check,
    .run = primes_run,
};
