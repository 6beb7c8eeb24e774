/* SPDX-License-Identifier: MIT */
/*
 * sieve: one segment of the parallel prime sieve, the article's sieve().
 *
 * The segment talks to the coordinator (node type `primes`) over its only
 * port, the pair port "coord". Every message is an int64 array whose first
 * item says what it is:
 *
 *   coordinator -> segment
 *     SIEVE_MSG_RANGE  lo hi report   first message: sieve [lo, hi), list the
 *                                     primes <= report, count them all
 *     SIEVE_MSG_PRIMES p1 p2 ...      sieving primes, ascending
 *     end of stream                   no more primes are coming
 *
 *   segment -> coordinator
 *     SIEVE_MSG_PRIMES upto p1 p2 ... primes of [lo, hi) in ascending order;
 *                                     every prime <= report below `upto` has
 *                                     now been sent
 *     SIEVE_MSG_COUNT  n              the number of primes in [lo, hi), last
 *     end of stream                   (the framework ends it when run returns)
 *
 * Deviation from the article: the article sends one (first multiple, prime)
 * pair per message and the segment crosses off its whole range at once. Here
 * the coordinator sends batches of bare primes (only those up to the square
 * root of hi, which are all the segment needs) and the segment computes the
 * first multiples itself, because its range is never held in memory: it is
 * walked in cache-sized blocks after the end signal, and the primes found are
 * streamed back block by block. Memory does not grow with the range: a 256
 * KiB block, a 273 KiB pre-sieve pattern and 36 bytes per sieving prime
 * (9592 primes, 345 KB, below 10^10; 16 MB is reached only near 4 * 10^13).
 *
 * The kernel is a wheel-30 segmented sieve of Eratosthenes: a byte holds the
 * eight numbers 30k + {1, 7, 11, 13, 17, 19, 23, 29}; the multiples of 7, 11,
 * 13 and 17 come from a copied pattern; a sieving prime p >= 19 crosses off
 * its multiples p * q (q coprime to 30, q >= p) along eight lanes, one per
 * bit, each lane stepping p bytes. Primes of the segment's own range that it
 * needs (when lo <= sqrt(hi)) are found on the way, block by block.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/node.h"

/* Message kinds; keep in sync with nodes/primes.c. */
#define SIEVE_MSG_RANGE  1
#define SIEVE_MSG_PRIMES 2
#define SIEVE_MSG_COUNT  3

/*
 * Bytes of the block walked at a time (a byte covers 30 numbers), sized for
 * the L2 cache. Primes below SIEVE_SMALL_PRIME hit a block many times and
 * cross it off in L1-sized pieces of SIEVE_PIECE_BYTES; larger primes touch
 * each block a few times per lane, so a big block saves their per-block
 * overhead.
 */
#define SIEVE_BLOCK_BYTES (256 * 1024)
#define SIEVE_PIECE_BYTES (32 * 1024)
#define SIEVE_SMALL_PRIME (8 * 1024)

/* The pre-sieve pattern's period in bytes: 7 * 11 * 13 * 17. */
#define SIEVE_PATTERN_PERIOD 17017

/* The smallest prime crossed off explicitly; smaller ones are built in. */
#define SIEVE_FIRST_PRIME 19

/* Primes per message when the link has no batch size, and at most. */
#define SIEVE_DEFAULT_BATCH 4096
#define SIEVE_MAX_BATCH     65536

/* The residues modulo 30 that a byte holds, one per bit. */
static const uint8_t wheel[8] = { 1, 7, 11, 13, 17, 19, 23, 29 };

/* The inverse modulo 30 of each residue coprime to 30, 0 elsewhere. */
static const uint8_t wheel_inverse[30] = {
    [1] = 1,   [7] = 13,  [11] = 11, [13] = 7,
    [17] = 23, [19] = 19, [23] = 17, [29] = 29,
};

/*
 * A sieving prime and, for each bit b, the offset from the current block's
 * first byte of the next multiple of p whose residue is wheel[b].
 */
struct sieve_prime {
    uint32_t p;
    uint32_t off[8];
};

/* The state of one segment's sieve. */
struct seg {
    uint64_t lo, hi;     /* the numbers [lo, hi), lo >= 2 or empty */
    uint64_t r;          /* isqrt(hi - 1): the largest sieving prime */
    uint64_t first_byte; /* byte of lo */
    uint64_t end_byte;   /* one past the byte of hi - 1 */
    uint64_t cur;        /* first byte of the next block */
    struct sieve_prime *primes;
    size_t count, cap; /* sieving primes held */
    size_t active;     /* primes[0 .. active) have offsets */
    size_t small;      /* primes[0 .. small) are below SIEVE_SMALL_PRIME */
    uint8_t *block;    /* SIEVE_BLOCK_BYTES */
    uint8_t *pattern;  /* SIEVE_PATTERN_PERIOD + SIEVE_BLOCK_BYTES */
};

struct sieve {
    struct seg seg;
    int64_t *buf; /* reply being filled: kind, upto, primes */
    size_t fill, room;
};

static const flow_port_t sieve_ports[] = {
    FLOW_PORT_PAIR("coord", FLOW_INT64,
                   "sieving primes in, the segment's primes (or count) out"),
    FLOW_PORT_END
};


/* ---- The kernel ---------------------------------------------------------- */

/* Return floor(sqrt(n)). */
static uint64_t
isqrt64(uint64_t n)
{
    if (n < 2)
        return n;
    uint64_t x = n;
    uint64_t y = x / 2 + 1;
    while (y < x) {
        x = y;
        y = (x + n / x) / 2;
    }
    return x;
}

/* Set up `s` for [lo, hi); an empty range sieves nothing. */
static void
seg_init(struct seg *s, uint64_t lo, uint64_t hi)
{
    memset(s, 0, sizeof(*s));
    if (lo < 2)
        lo = 2;
    if (hi < lo)
        hi = lo;
    s->lo = lo;
    s->hi = hi;
    if (hi > lo) {
        s->r = isqrt64(hi - 1);
        s->first_byte = lo / 30;
        s->end_byte = (hi - 1) / 30 + 1;
    }
    s->cur = s->first_byte;
}

/* Free what `s` holds. */
static void
seg_release(struct seg *s)
{
    free(s->primes);
    free(s->block);
    free(s->pattern);
    memset(s, 0, sizeof(*s));
}

/* Append prime `p` (SIEVE_FIRST_PRIME <= p <= r) without offsets. */
static void
seg_push(struct seg *s, uint64_t p)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        struct sieve_prime *np = realloc(s->primes, cap * sizeof(*np));
        if (np == NULL)
            abort();
        s->primes = np;
        s->cap = cap;
    }
    s->primes[s->count].p = (uint32_t)p;
    s->count++;
}

/*
 * Take a sieving prime from the coordinator. Primes below SIEVE_FIRST_PRIME
 * are built into the kernel and primes above r are not needed.
 */
static void
seg_add_prime(struct seg *s, int64_t p)
{
    if (p >= SIEVE_FIRST_PRIME && (uint64_t)p <= s->r)
        seg_push(s, (uint64_t)p);
}

static int
cmp_prime(const void *a, const void *b)
{
    uint32_t x = ((const struct sieve_prime *)a)->p;
    uint32_t y = ((const struct sieve_prime *)b)->p;
    return (x > y) - (x < y);
}

/*
 * Get ready to sieve: sort and deduplicate the primes received, allocate the
 * block and build the pre-sieve pattern. Returns 0, or -1 when out of
 * memory.
 */
static int
seg_prepare(struct seg *s)
{
    if (s->count > 1) {
        qsort(s->primes, s->count, sizeof(*s->primes), cmp_prime);
        size_t k = 1;
        for (size_t i = 1; i < s->count; i++)
            if (s->primes[i].p != s->primes[k - 1].p)
                s->primes[k++] = s->primes[i];
        s->count = k;
    }
    if (s->end_byte == s->first_byte)
        return 0;
    s->block = malloc(SIEVE_BLOCK_BYTES);
    s->pattern = malloc(SIEVE_PATTERN_PERIOD + SIEVE_BLOCK_BYTES);
    if (s->block == NULL || s->pattern == NULL)
        return -1;
    /* One period: the odd multiples of 7, 11, 13 and 17 coprime to 30;
     * then periods again, so that a block is one memcpy. */
    static const uint8_t presieve[] = { 7, 11, 13, 17 };
    uint8_t bit_of[30] = { 0 };
    for (int b = 0; b < 8; b++)
        bit_of[wheel[b]] = (uint8_t)(1u << b);
    memset(s->pattern, 0, SIEVE_PATTERN_PERIOD);
    for (size_t k = 0; k < sizeof(presieve); k++)
        for (uint32_t n = presieve[k]; n < 30u * SIEVE_PATTERN_PERIOD;
             n += 2u * presieve[k])
            s->pattern[n / 30] |= bit_of[n % 30];
    for (size_t i = SIEVE_PATTERN_PERIOD;
         i < SIEVE_PATTERN_PERIOD + SIEVE_BLOCK_BYTES; i++)
        s->pattern[i] = s->pattern[i - SIEVE_PATTERN_PERIOD];
    return 0;
}

/* Compute the lane offsets of `sp` for the block starting at byte `start`. */
static void
prime_activate(struct sieve_prime *sp, uint64_t start)
{
    uint64_t p = sp->p;
    uint64_t first = 30 * start;
    uint64_t qmin = first / p + (first % p != 0);
    if (qmin < p)
        qmin = p;
    uint64_t inv = wheel_inverse[p % 30];
    for (int b = 0; b < 8; b++) {
        uint64_t rq = wheel[b] * inv % 30;
        uint64_t q = qmin + (rq + 30 - qmin % 30) % 30;
        sp->off[b] = (uint32_t)(p * q / 30 - start);
    }
}

/*
 * Cross off the multiples of `sp` in `block` of `n` bytes. The eight lanes
 * are always less than p + 1 bytes apart (their next multiples p * q have q
 * in a window of 30), so they step together while the furthest one is in
 * the block and then each takes at most one more step: one hard-to-predict
 * loop exit per prime and block instead of eight.
 */
static inline void
prime_cross(struct sieve_prime *sp, uint8_t *block, uint32_t n)
{
    uint32_t p = sp->p;
    uint32_t j0 = sp->off[0], j1 = sp->off[1], j2 = sp->off[2];
    uint32_t j3 = sp->off[3], j4 = sp->off[4], j5 = sp->off[5];
    uint32_t j6 = sp->off[6], j7 = sp->off[7];
    uint32_t far = j0;

    far = j1 > far ? j1 : far;
    far = j2 > far ? j2 : far;
    far = j3 > far ? j3 : far;
    far = j4 > far ? j4 : far;
    far = j5 > far ? j5 : far;
    far = j6 > far ? j6 : far;
    far = j7 > far ? j7 : far;
    for (; far < n; far += p) {
        block[j0] |= 0x01;
        block[j1] |= 0x02;
        block[j2] |= 0x04;
        block[j3] |= 0x08;
        block[j4] |= 0x10;
        block[j5] |= 0x20;
        block[j6] |= 0x40;
        block[j7] |= 0x80;
        j0 += p;
        j1 += p;
        j2 += p;
        j3 += p;
        j4 += p;
        j5 += p;
        j6 += p;
        j7 += p;
    }
    /* The last step of each lane, without branches: a lane already past
     * the block ORs 0 into byte 0. */
#define SIEVE_LAST(J, B)                             \
    do {                                             \
        uint32_t in = (J) < n;                       \
        block[in ? (J) : 0] |= (uint8_t)(in << (B)); \
        sp->off[B] = (J) + (in ? p : 0) - n;         \
    } while (0)
    SIEVE_LAST(j0, 0);
    SIEVE_LAST(j1, 1);
    SIEVE_LAST(j2, 2);
    SIEVE_LAST(j3, 3);
    SIEVE_LAST(j4, 4);
    SIEVE_LAST(j5, 5);
    SIEVE_LAST(j6, 6);
    SIEVE_LAST(j7, 7);
#undef SIEVE_LAST
}

/*
 * Sieve the next block of the segment into s->block: a set bit is a
 * composite or a number outside [lo, hi). Returns the block's byte count, 0
 * at the end of the segment. The block starts at byte s->cur - returned.
 */
static uint32_t
seg_next_block(struct seg *s)
{
    uint64_t start = s->cur;
    if (start >= s->end_byte)
        return 0;
    uint64_t left = s->end_byte - start;
    uint32_t n = left < SIEVE_BLOCK_BYTES ? (uint32_t)left : SIEVE_BLOCK_BYTES;
    uint8_t *block = s->block;
    uint64_t end_num = 30 * (start + n); /* one past the block */

    memcpy(block, s->pattern + start % SIEVE_PATTERN_PERIOD, n);
    if (start == 0)
        block[0] &= (uint8_t)~0x1eu; /* 7, 11, 13 and 17 are primes */
    if (start == s->first_byte)
        for (int b = 0; b < 8; b++)
            if (30 * start + wheel[b] < s->lo)
                block[0] |= (uint8_t)(1u << b);
    if (start + n == s->end_byte)
        for (int b = 0; b < 8; b++)
            if (30 * (s->end_byte - 1) + wheel[b] >= s->hi)
                block[n - 1] |= (uint8_t)(1u << b);

    while (s->active < s->count &&
           (uint64_t)s->primes[s->active].p * s->primes[s->active].p < end_num)
        prime_activate(&s->primes[s->active++], start);
    while (s->small < s->active && s->primes[s->small].p < SIEVE_SMALL_PRIME)
        s->small++;
    for (uint32_t k = 0; k < n; k += SIEVE_PIECE_BYTES) {
        uint32_t m = n - k < SIEVE_PIECE_BYTES ? n - k : SIEVE_PIECE_BYTES;
        for (size_t i = 0; i < s->small; i++)
            prime_cross(&s->primes[i], block + k, m);
    }
    for (size_t i = s->small; i < s->active; i++)
        prime_cross(&s->primes[i], block, n);

    /*
     * The segment's own primes up to r: every number still unmarked here has
     * no prime factor up to its square root (the smaller ones of this block
     * were crossed off as the scan found them), so it is a prime.
     */
    if (30 * start <= s->r) {
        for (uint32_t j = 0; j < n; j++) {
            unsigned z = (uint8_t)~block[j];
            while (z != 0) {
                int b = __builtin_ctz(z);
                z &= z - 1;
                uint64_t x = 30 * (start + j) + wheel[b];
                if (x > s->r)
                    goto scanned;
                if (x < SIEVE_FIRST_PRIME ||
                    (s->count > 0 && x <= s->primes[s->count - 1].p))
                    continue;
                seg_push(s, x);
                if (x * x < end_num) {
                    struct sieve_prime *sp = &s->primes[s->count - 1];
                    prime_activate(sp, start);
                    prime_cross(sp, block, n);
                    s->active = s->count;
                }
            }
        }
    }
scanned:
    s->cur = start + n;
    return n;
}

/*
 * Return the number of primes in the block of `n` bytes at `block`. Built
 * twice, with and without the popcnt instruction; the loader picks one.
 */
__attribute__((target_clones("popcnt", "default"))) static uint64_t
block_count(const uint8_t *block, uint32_t n)
{
    uint64_t set = 0;
    uint32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        uint64_t w;
        memcpy(&w, block + j, 8);
        set += (uint64_t)__builtin_popcountll(w);
    }
    for (; j < n; j++)
        set += (uint64_t)__builtin_popcount(block[j]);
    return 8 * (uint64_t)n - set;
}


/* ---- The node ------------------------------------------------------------ */

/* Send the reply being filled if it holds any prime (or if `force`). */
static int
flush(flow_node_t *node, struct sieve *st, int64_t upto, int force)
{
    if (st->fill <= 2 && !force)
        return 0;
    st->buf[1] = upto;
    flow_msg_t *msg = flow_msg_new(FLOW_INT64, st->fill);
    int rc = flow_msg_add_i64s(msg, st->buf, st->fill);
    if (rc == 0)
        rc = flow_node_send(node, "coord", &msg);
    flow_msg_destroy(&msg);
    st->fill = 2;
    if (rc < 0 && rc != FLOW_EINTR)
        return flow_node_fail(node, "cannot send on 'coord': %s",
                              flow_strerror(rc));
    return rc;
}

/* Add prime `p` to the reply, sending it when full. */
static inline int
emit(flow_node_t *node, struct sieve *st, uint64_t p)
{
    st->buf[st->fill++] = (int64_t)p;
    if (st->fill == st->room)
        return flush(node, st, (int64_t)p + 1, 0);
    return 0;
}

/* Receive the range and the sieving primes until the end signal. */
static int
receive(flow_node_t *node, struct sieve *st, int64_t *report)
{
    int have_range = 0;
    for (;;) {
        flow_msg_t *msg = NULL;
        int rc = flow_node_recv(node, "coord", &msg);
        if (rc == FLOW_EOF)
            break;
        if (rc < 0)
            return rc;
        const int64_t *v = flow_msg_i64(msg);
        size_t n = flow_msg_count(msg);
        if (v == NULL || n == 0) {
            flow_msg_destroy(&msg);
            return flow_node_fail(node, "malformed message on 'coord'");
        }
        if (v[0] == SIEVE_MSG_RANGE && n == 4 && !have_range) {
            if (v[1] < 0 || v[2] < 0) {
                flow_msg_destroy(&msg);
                return flow_node_fail(node, "negative range on 'coord'");
            }
            seg_init(&st->seg, (uint64_t)v[1], (uint64_t)v[2]);
            *report = v[3];
            have_range = 1;
        } else if (v[0] == SIEVE_MSG_PRIMES && have_range) {
            for (size_t i = 1; i < n; i++)
                seg_add_prime(&st->seg, v[i]);
        } else {
            flow_msg_destroy(&msg);
            return flow_node_fail(node,
                                  "unexpected message of kind %lld "
                                  "and %zu items on 'coord'",
                                  (long long)v[0], n);
        }
        flow_msg_destroy(&msg);
    }
    if (!have_range)
        return flow_node_fail(node, "no range received on 'coord'");
    return 0;
}

/* Sieve the segment, streaming the primes <= report, then send the count. */
static int
sieve_segment(flow_node_t *node, struct sieve *st, int64_t report)
{
    struct seg *s = &st->seg;
    uint64_t total = 0;
    int rc;

    if (seg_prepare(s) < 0)
        return flow_node_fail(node, "out of memory");
    for (uint64_t p = 2; p <= 5; p += 1 + (p > 2))
        if (p >= s->lo && p < s->hi) {
            total++;
            if ((int64_t)p <= report && (rc = emit(node, st, p)) < 0)
                return rc;
        }

    uint32_t n;
    int listing = report >= (int64_t)s->lo;
    while ((n = seg_next_block(s)) > 0) {
        uint64_t start = s->cur - n;
        const uint8_t *block = s->block;
        if (!listing) {
            total += block_count(block, n);
            continue;
        }
        for (uint32_t j = 0; j < n; j++) {
            unsigned z = (uint8_t)~block[j];
            while (z != 0) {
                int b = __builtin_ctz(z);
                z &= z - 1;
                uint64_t x = 30 * (start + j) + wheel[b];
                total++;
                if ((int64_t)x <= report && (rc = emit(node, st, x)) < 0)
                    return rc;
            }
        }
        if ((int64_t)(30 * s->cur) > report) {
            /* Every prime wanted has been found: say so, then just count. */
            uint64_t upto = 30 * s->cur < s->hi ? 30 * s->cur : s->hi;
            if ((rc = flush(node, st, (int64_t)upto, 1)) < 0)
                return rc;
            listing = 0;
        }
    }
    if (listing && (rc = flush(node, st, (int64_t)s->hi, 1)) < 0)
        return rc;

    flow_msg_t *msg = flow_msg_new(FLOW_INT64, 2);
    flow_msg_add_i64(msg, SIEVE_MSG_COUNT);
    flow_msg_add_i64(msg, (int64_t)total);
    rc = flow_node_send(node, "coord", &msg);
    if (rc < 0 && rc != FLOW_EINTR)
        return flow_node_fail(node, "cannot send on 'coord': %s",
                              flow_strerror(rc));
    return rc;
}

static int
sieve_run(flow_node_t *node, void *state)
{
    struct sieve *st = state;
    unsigned peers = flow_node_channels(node, "coord");
    if (peers != 1)
        return flow_node_fail(node,
                              "port 'coord' needs exactly one peer, "
                              "not %u",
                              peers);

    size_t batch = flow_node_batch(node, "coord");
    if (batch == 0)
        batch = SIEVE_DEFAULT_BATCH;
    if (batch > SIEVE_MAX_BATCH)
        batch = SIEVE_MAX_BATCH;
    st->room = batch + 2;
    st->buf = malloc(st->room * sizeof(*st->buf));
    if (st->buf == NULL)
        return flow_node_fail(node, "out of memory");
    st->buf[0] = SIEVE_MSG_PRIMES;
    st->fill = 2;

    int64_t report = -1;
    int rc = receive(node, st, &report);
    if (rc == 0)
        rc = sieve_segment(node, st, report);
    return rc;
}

static void
sieve_fini(flow_node_t *node, void *state)
{
    struct sieve *st = state;
    (void)node;
    seg_release(&st->seg);
    free(st->buf);
    st->buf = NULL;
}

FLOW_NODE(sieve) = {
    FLOW_NODE_V1,
    .name = "sieve",
    .summary = "One segment of the parallel prime sieve (peer of 'primes')",
    .state_size = sizeof(struct sieve),
    .ports = sieve_ports,
    .run = sieve_run,
    .fini = sieve_fini,
};
