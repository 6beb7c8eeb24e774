/* SPDX-License-Identifier: MIT */
/*
 * primes: the coordinator of the parallel prime sieve, the article's
 * collect_primes() and send_primes().
 *
 * It cuts [2, limit] into chunks (explicit ranges can be given instead, one
 * per segment), seeds the primes below 11 (2, 3, 5, 7), and hands the
 * chunks, in ascending order, to the peers of its pair port "seg" (the
 * instances of a `sieve` node), each next chunk to the first segment done
 * with its last. It collects each chunk's primes and sends the segments
 * the ones their chunks need (those up to the square root of the chunk's
 * upper bound). The primes go to "out" in ascending order, or only their
 * count.
 *
 * The protocol is described in nodes/sieve.c. Three refinements over the
 * article make the segments work in parallel, keep the traffic small and
 * the CPUs busy:
 *
 * - A segment gets the go for a chunk as soon as it has every prime the
 *   chunk needs (all primes up to the square root of its upper bound, or
 *   those below its lower bound when it finds the rest itself), not only
 *   when every earlier chunk has finished. The segments' replies carry a
 *   watermark `upto` that tells the coordinator how far it knows every
 *   prime.
 * - In count mode a segment sends only the primes later chunks need, and
 *   its count; 455 million primes below 10^10 never cross a socket.
 * - The article gives each segment one range fixed in advance, and the
 *   run lasts as long as the slowest: on a shared machine one CPU is often
 *   slower than the other, for a while or all along, and the machines of a
 *   cluster differ. Here, from 2^24 on, the numbers are cut into chunks,
 *   the largest first: each round of chunks (one per segment) takes half
 *   of the work left, down to a smallest chunk of 1/32 of a segment's
 *   share and the work of 2^22 numbers (six rounds from 2^27 numbers per
 *   segment on: 10^9 on up to 7 segments; below, fewer rounds of larger
 *   chunks: 47 chunks for 8 segments at 10^9), so that a faster segment
 *   takes more of them and the last ones to finish are small (guided
 *   self-scheduling). The chunks of a round get equal estimated CPU time
 *   (see work_density): the upper ones, which have more sieving primes,
 *   get fewer numbers.
 *
 * What is serial: the first chunk's segment gets the go at once and sends
 * the primes up to the largest square root of the later chunks as soon as
 * it has sieved that far (9592 primes below 10^5, one message, for 10^10);
 * the other segments start once these are sent on, a few milliseconds
 * later. At the end, only the counts come back.
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
#define SIEVE_MSG_GO     4

/* The seeds are every prime below this. */
#define PRIMES_SEEDS_BELOW 11

/* Primes per message on "out" and to a segment at most, to keep memory
 * small. */
#define PRIMES_MAX_BATCH 65536

/*
 * The smallest chunk (see split_limit): this part of a segment's share, and
 * at least about the work of PRIMES_LEAST_NUMBERS numbers (0.5 ms; a chunk
 * costs a segment some 0.1 ms more, to set up its sieving primes and to
 * wait for the next one).
 */
#define PRIMES_SMALLEST      32
#define PRIMES_LEAST_NUMBERS (INT64_C(1) << 22)

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

/* What became of a chunk. */
enum { CHUNK_WAITING, CHUNK_GIVEN, CHUNK_GO, CHUNK_DONE };

/* A chunk of the numbers, sieved by one segment. */
struct chunk {
    int64_t lo, hi;    /* its numbers [lo, hi) */
    int64_t root;      /* isqrt(hi - 1), -1 for an empty range */
    int64_t report;    /* its segment lists the primes up to this */
    int64_t upto;      /* every prime it lists below this has come */
    int64_t last;      /* the last prime that came */
    uint64_t received; /* primes that came */
    int64_t *keep;     /* those later chunks need, ascending */
    size_t nkeep, room;
    unsigned seg; /* its segment, once given */
    int state;
};

/* A sieve segment (a peer on "seg") as the coordinator sees it. */
struct segment {
    int64_t sent; /* it has every prime below this that it needs */
    size_t chunk; /* the chunk it sieves, NO_CHUNK when none */
};

#define NO_CHUNK SIZE_MAX

/* The run's state, so helpers need few arguments. */
struct coord {
    flow_node_t *node;
    int mode;
    unsigned n; /* segments */
    struct segment *seg;
    struct chunk *chunk;
    size_t nchunks;
    size_t next;   /* the first chunk not given yet */
    size_t cur;    /* the first chunk not done */
    int64_t need;  /* the largest root of the chunks after the first */
    int64_t known; /* every prime below this has come (or is a seed) */
    int64_t *buf;  /* a message to a segment, PRIMES_MAX_BATCH + 1 items */
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
 * Parse `text` ("lo-hi,lo-hi,...") into the `n` chunks `seg`. Returns 0,
 * or -1 with why (naming the parameter) in `why`. Run by the check before
 * the run (flowrun --check), and by the coordinator.
 */
static int
parse_ranges(const char *text, unsigned n, struct chunk *seg, char *why,
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
 * Cut [2, limit] into chunks for the c->n segments, in c->chunk; returns 0,
 * or -1 when out of memory.
 *
 * Below 2^24, one chunk per segment, of equal sizes. From 2^24 on, with
 * two segments or more, rounds of c->n chunks, each round taking half of
 * the work left, down to the smallest chunk (1/PRIMES_SMALLEST of a
 * segment's share, and at least the work of PRIMES_LEAST_NUMBERS
 * numbers); the rest goes in chunks of that size. The chunks get their
 * estimated work (the integral of work_density, by the trapezoid rule on
 * a grid), so the upper ones, which have more sieving primes, get fewer
 * numbers.
 */
static int
split_limit(struct coord *c, int64_t limit)
{
    unsigned n = c->n;
    size_t m = n, cap = 8 * (size_t)n + 8;
    double *part = malloc(cap * sizeof(*part)); /* each chunk's share */

    if (part == NULL)
        return -1;
    for (size_t k = 0; k < m; k++)
        part[k] = 1.0 / n;
    if (limit >= (INT64_C(1) << 24) && n > 1) {
        double left = 1, least = 1.0 / ((double)n * PRIMES_SMALLEST);
        double floor = (double)PRIMES_LEAST_NUMBERS / (double)(limit - 1);
        if (least < floor)
            least = floor;
        if (least > 1.0 / n)
            least = 1.0 / n; /* a chunk for every segment, at least */
        m = 0;
        while (left > 1e-9 && m < cap) {
            double each = left / (2.0 * n);
            if (each < least)
                each = least;
            for (unsigned i = 0; i < n && left > 1e-9 && m < cap; i++) {
                double take = left - each < least / 2 ? left : each;
                part[m++] = take;
                left -= take;
            }
        }
        part[m - 1] += left; /* rounding: the whole of it */
    }
    c->nchunks = m;
    c->chunk = calloc(m, sizeof(*c->chunk));
    if (c->chunk == NULL) {
        free(part);
        return -1;
    }

    int64_t numbers = limit >= 2 ? limit - 1 : 0;
    int64_t each = numbers / (int64_t)m;
    int64_t extra = numbers % (int64_t)m;
    int64_t lo = 2;
    for (size_t k = 0; k < m; k++) {
        int64_t size = each + ((int64_t)k < extra);
        c->chunk[k].lo = lo;
        c->chunk[k].hi = lo + size;
        lo += size;
    }
    if (limit < (INT64_C(1) << 24) || m == 1) {
        free(part);
        return 0;
    }

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
    double before = 0; /* the share of the chunks before k */
    for (size_t k = 1; k < m; k++) {
        before += part[k - 1];
        double target = work[CELLS] * before;
        while (i < CELLS - 1 && work[i + 1] < target)
            i++;
        double f = (target - work[i]) / (work[i + 1] - work[i]);
        int64_t x = (int64_t)(x0 + (i + f) * h);
        if (x < c->chunk[k - 1].lo)
            x = c->chunk[k - 1].lo;
        if (x > limit + 1)
            x = limit + 1;
        c->chunk[k - 1].hi = x;
        c->chunk[k].lo = x;
    }
    c->chunk[m - 1].hi = limit + 1;
    free(part);
    return 0;
}

/*
 * Set each chunk's root, what it lists (in count mode only the primes a
 * later chunk needs) and c->need, the largest root after the first chunk.
 */
static void
plan_chunks(struct coord *c)
{
    int64_t need_after = -1; /* the largest root of the chunks after k */

    for (size_t k = c->nchunks; k-- > 0;) {
        struct chunk *h = &c->chunk[k];
        h->root = h->hi > h->lo ? isqrt64(h->hi - 1) : -1;
        h->report = c->mode == PRIMES_LIST ? INT64_MAX : need_after;
        h->upto = h->lo;
        h->last = h->lo - 1;
        if (k == 0)
            c->need = need_after;
        if (h->root > need_after)
            need_after = h->root;
    }
}

/* Send segment `s` the primes p, from <= p < to, that have come. */
static int
send_primes(struct coord *c, unsigned s, int64_t from, int64_t to)
{
    size_t fill = 1;
    int rc;

    c->buf[0] = SIEVE_MSG_PRIMES;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        if (seeds[i] >= from && seeds[i] < to)
            c->buf[fill++] = seeds[i];
    for (size_t k = 0; k < c->nchunks && c->chunk[k].lo < to; k++) {
        const struct chunk *h = &c->chunk[k];
        if (h->nkeep == 0 || h->keep[h->nkeep - 1] < from)
            continue;
        size_t a = 0, b = h->nkeep; /* the first kept prime >= from */
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (h->keep[mid] < from)
                a = mid + 1;
            else
                b = mid;
        }
        for (; a < h->nkeep && h->keep[a] < to; a++) {
            c->buf[fill++] = h->keep[a];
            if (fill == PRIMES_MAX_BATCH + 1) {
                if ((rc = send_seg(c, s, c->buf, fill)) < 0)
                    return rc;
                fill = 1;
            }
        }
    }
    return fill > 1 ? send_seg(c, s, c->buf, fill) : 0;
}

/*
 * Send segment `s` the primes its chunk needs that have come, and the go
 * once it has all of them: those up to the chunk's root, or below its lower
 * bound if that is less (the segment finds the others on its way).
 */
static int
advance(struct coord *c, unsigned s)
{
    struct segment *g = &c->seg[s];
    if (g->chunk == NO_CHUNK || c->chunk[g->chunk].state != CHUNK_GIVEN)
        return 0;

    struct chunk *h = &c->chunk[g->chunk];
    int64_t need = h->root + 1 < h->lo ? h->root + 1 : h->lo;
    int64_t have = c->known < need ? c->known : need;
    int rc;
    if (have > g->sent) {
        if ((rc = send_primes(c, s, g->sent, have)) < 0)
            return rc;
        g->sent = have;
    }
    if (c->known < need)
        return 0;
    h->state = CHUNK_GO;
    int64_t go = SIEVE_MSG_GO;
    return send_seg(c, s, &go, 1);
}

/* Advance every segment. */
static int
advance_all(struct coord *c)
{
    for (unsigned s = 0; s < c->n; s++) {
        int rc = advance(c, s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Give segment `s` the next chunk, or the end signal when none is left. */
static int
assign(struct coord *c, unsigned s)
{
    struct segment *g = &c->seg[s];
    int rc;

    if (c->next == c->nchunks) {
        g->chunk = NO_CHUNK;
        rc = flow_node_close_to(c->node, "seg", s);
        return rc < 0 ? io_fail(c, rc, "end the stream to", s) : 0;
    }
    struct chunk *h = &c->chunk[c->next];
    g->chunk = c->next++;
    h->seg = s;
    h->state = CHUNK_GIVEN;
    int64_t range[4] = { SIEVE_MSG_RANGE, h->lo, h->hi, h->report };
    if ((rc = send_seg(c, s, range, 4)) < 0)
        return rc;
    return advance(c, s);
}

/* Move c->known on past the chunks done and the first one's progress. */
static void
update_known(struct coord *c)
{
    while (c->cur < c->nchunks && c->chunk[c->cur].state == CHUNK_DONE) {
        if (c->chunk[c->cur].hi > c->known)
            c->known = c->chunk[c->cur].hi;
        c->cur++;
    }
    if (c->cur < c->nchunks && c->chunk[c->cur].upto > c->known)
        c->known = c->chunk[c->cur].upto;
}

/* Keep the prime `p` of chunk `h` if a later chunk needs it. */
static int
keep(struct coord *c, struct chunk *h, int64_t p)
{
    if (p < PRIMES_SEEDS_BELOW || p > c->need)
        return 0;
    if (h->nkeep == h->room) {
        size_t room = h->room ? 2 * h->room : 1024;
        int64_t *k = realloc(h->keep, room * sizeof(*k));
        if (k == NULL)
            return flow_node_fail(c->node, "out of memory");
        h->keep = k;
        h->room = room;
    }
    h->keep[h->nkeep++] = p;
    return 0;
}

/* Take in a message from segment `s` about its chunk. */
static int
take(struct coord *c, unsigned s, flow_msg_t *msg)
{
    const int64_t *v = flow_msg_i64(msg);
    size_t n = flow_msg_count(msg);
    size_t k = c->seg[s].chunk;
    int rc = 0;

    if (v != NULL && n >= 2 && v[0] == SIEVE_MSG_PRIMES && k != NO_CHUNK) {
        struct chunk *h = &c->chunk[k];
        for (size_t i = 2; i < n; i++) {
            if (v[i] <= h->last || v[i] >= h->hi)
                return flow_node_fail(c->node,
                                      "segment %u sent %lld out of "
                                      "order or out of its range",
                                      s, (long long)v[i]);
            h->last = v[i];
            if ((rc = keep(c, h, v[i])) < 0)
                return rc;
        }
        h->received += n - 2;
        if (c->mode == PRIMES_LIST && (rc = emit(c, v + 2, n - 2)) < 0)
            return rc;
        int64_t upto = v[1] < h->hi ? v[1] : h->hi;
        if (upto > h->upto)
            h->upto = upto;
        update_known(c);
        return advance_all(c);
    }
    if (v != NULL && n == 2 && v[0] == SIEVE_MSG_COUNT && v[1] >= 0 &&
        k != NO_CHUNK) {
        struct chunk *h = &c->chunk[k];
        if (c->mode == PRIMES_LIST && (uint64_t)v[1] != h->received)
            return flow_node_fail(c->node,
                                  "segment %u counted %lld primes but "
                                  "sent %llu",
                                  s, (long long)v[1],
                                  (unsigned long long)h->received);
        h->state = CHUNK_DONE;
        c->total += (uint64_t)v[1];
        update_known(c);
        if ((rc = assign(c, s)) < 0)
            return rc;
        return advance_all(c);
    }
    return flow_node_fail(c->node, "malformed message from segment %u on 'seg'",
                          s);
}

/*
 * Take in the chunks' primes and counts until every chunk is done; then
 * check that nothing follows. In list mode the chunks are read in order,
 * each from its segment (the primes go out in order; a segment ahead waits
 * on its full queue), in count mode from any segment as they come.
 */
static int
collect(struct coord *c)
{
    while (c->cur < c->nchunks) {
        flow_msg_t *msg = NULL;
        unsigned s = c->chunk[c->cur].seg;
        int rc;
        if (c->mode == PRIMES_LIST) {
            rc = flow_node_recv_from(c->node, "seg", s, &msg);
        } else {
            rc = flow_node_recv(c->node, "seg", &msg);
            if (rc == 0)
                s = flow_node_channel(c->node);
        }
        if (rc == FLOW_EOF) {
            if ((rc = flow_node_await_stop(c->node, 500)) < 0)
                return rc; /* it stopped early: a graceful stop, ours too */
            return flow_node_fail(c->node,
                                  "segment %u ended without its "
                                  "count",
                                  s);
        }
        if (rc < 0)
            return io_fail(c, rc, "receive from", s);
        rc = take(c, s, msg);
        flow_msg_destroy(&msg);
        if (rc < 0)
            return rc;
    }
    for (unsigned s = 0; s < c->n; s++) {
        flow_msg_t *msg = NULL;
        int rc = flow_node_recv_from(c->node, "seg", s, &msg);
        if (rc == FLOW_EOF)
            continue;
        flow_msg_destroy(&msg);
        if (rc < 0)
            return io_fail(c, rc, "receive from", s);
        return flow_node_fail(c->node,
                              "malformed message from segment %u on "
                              "'seg'",
                              s);
    }
    return 0;
}

/*
 * Send the seeds below the first chunk to "out" (they are primes of the
 * answer), then give every segment its first chunk.
 */
static int
start(struct coord *c)
{
    int rc;

    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        if (seeds[i] >= c->chunk[0].lo)
            break;
        c->total++;
        if (c->mode == PRIMES_LIST && (rc = emit(c, &seeds[i], 1)) < 0)
            return rc;
    }
    c->known = PRIMES_SEEDS_BELOW;
    for (unsigned s = 0; s < c->n; s++)
        if ((rc = assign(c, s)) < 0)
            return rc;
    return 0;
}

/* Before the run (flowrun --check too): explicit ranges parse, and there
 * is one for each sieve segment. */
static int
primes_check(const flow_check_t *c, const void *state, char *why, size_t whylen)
{
    const struct primes *p = state;
    unsigned n = flow_check_channels(c, "seg");
    struct chunk *chunk;
    int rc;

    if (p->ranges == NULL || p->ranges[0] == '\0' || n == 0)
        return 0;
    if ((chunk = calloc(n, sizeof(*chunk))) == NULL)
        return 0; /* the run will say it */
    rc = parse_ranges(p->ranges, n, chunk, why, whylen);
    free(chunk);
    return rc ? FLOW_EPARAM : 0;
}

static int
primes_run(flow_node_t *node, void *state)
{
    const struct primes *p = state;
    struct coord c = { .node = node, .mode = p->output };
    int rc = 0;

    c.n = flow_node_channels(node, "seg");
    if (c.n == 0)
        return flow_node_fail(node, "port 'seg' has no sieve segments");
    c.room = flow_node_batch(node, "out");
    if (c.room == 0 || c.room > PRIMES_MAX_BATCH)
        c.room = c.room == 0 ? 4096 : PRIMES_MAX_BATCH;
    c.seg = calloc(c.n, sizeof(*c.seg));
    c.out = malloc(c.room * sizeof(*c.out));
    c.buf = malloc((PRIMES_MAX_BATCH + 1) * sizeof(*c.buf));
    if (c.seg == NULL || c.out == NULL || c.buf == NULL)
        goto oom;
    for (unsigned s = 0; s < c.n; s++)
        c.seg[s].chunk = NO_CHUNK;

    if (p->ranges != NULL && p->ranges[0] != '\0') {
        char why[256];
        c.nchunks = c.n;
        if ((c.chunk = calloc(c.n, sizeof(*c.chunk))) == NULL)
            goto oom;
        if (parse_ranges(p->ranges, c.n, c.chunk, why, sizeof(why)))
            rc = flow_node_fail(node, "%s", why);
    } else if (split_limit(&c, p->limit) < 0) {
        goto oom;
    }
    if (rc == 0) {
        plan_chunks(&c);
        rc = start(&c);
    }
    if (rc == 0)
        rc = collect(&c);
    if (rc == 0 && c.mode == PRIMES_COUNT) {
        int64_t total = (int64_t)c.total;
        rc = emit(&c, &total, 1);
    }
    if (rc == 0)
        rc = flush_out(&c);
    goto done;
oom:
    rc = flow_node_fail(node, "out of memory");
done:
    for (size_t k = 0; k < c.nchunks && c.chunk != NULL; k++)
        free(c.chunk[k].keep);
    free(c.chunk);
    free(c.seg);
    free(c.out);
    free(c.buf);
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
