/* SPDX-License-Identifier: MIT */
/*
 * sieve: one segment of the parallel prime sieve, the article's sieve().
 *
 * The segment talks to the coordinator (node type `primes`) over its only
 * port, the pair port "coord". Every message is an int64 array whose first
 * item says what it is:
 *
 *   coordinator -> segment
 *     SIEVE_MSG_RANGE  lo hi report   a range: sieve [lo, hi), list the
 *                                     primes <= report, count them all
 *     SIEVE_MSG_PRIMES p1 p2 ...      sieving primes, ascending
 *     SIEVE_MSG_GO                    every sieving prime the range needs
 *                                     has come: sieve it, then wait for
 *                                     the next range
 *     end of stream                   no range follows; right after a
 *                                     range and its primes, it is also its
 *                                     go (the article's end signal)
 *
 *   segment -> coordinator, for each range
 *     SIEVE_MSG_PRIMES upto p1 p2 ... primes of [lo, hi) in ascending order;
 *                                     every prime <= report below `upto` has
 *                                     now been sent
 *     SIEVE_MSG_COUNT  n              the number of primes in [lo, hi), last
 *   and the end of stream after the last (the framework ends it when run
 *   returns).
 *
 * The sieving primes of a range stay for the next, which lies above it
 * (the coordinator sends each prime once); those the segment finds in its
 * own range up to its square root are added as it goes, and a prime that
 * comes twice counts once.
 *
 * Deviation from the article: the article sends one (first multiple, prime)
 * pair per message and the segment crosses off its whole range at once. Here
 * the coordinator sends batches of bare primes (only those up to the square
 * root of hi, which are all the segment needs) and the segment computes the
 * first multiples itself, because its range is never held in memory: it is
 * walked in cache-sized blocks after the end signal, and the primes found are
 * streamed back block by block. Memory does not grow with the range: a 256
 * KiB block, 143 KB of pre-sieve patterns and 36 bytes per sieving prime
 * (9592 primes, 345 KB, below 10^10; 16 MB is reached only near 4 * 10^13).
 * In count mode, the primes that later segments need (report < hi) go out
 * first, in one message if they fit: the first block ends just past them,
 * and the segment yields its CPU to its I/O thread once they are sent.
 *
 * The kernel is a wheel-30 segmented sieve of Eratosthenes: a byte holds the
 * eight numbers 30k + {1, 7, 11, 13, 17, 19, 23, 29}; the multiples of the
 * primes 7 .. 97 come from patterns ORed together (pre-sieving); a sieving
 * prime p >= 101 crosses off its multiples p * q (q coprime to 30, q >= p)
 * along eight lanes, one per bit, each lane stepping p bytes. Primes of the
 * segment's own range that it needs (when lo <= sqrt(hi)) are found on the
 * way, block by block. At 10^9 and 10^10 it takes about 0.065 and 0.085 ns
 * per number on one core of the 2-core AMD EPYC (Zen 5) test machine, where
 * `primesieve -t 1` (Debian's 11.0) takes 0.093 and 0.111 ns; without
 * pre-sieving beyond 17 and with branches in the lanes' last step it took
 * 0.117 and 0.139 ns.
 */
#define _POSIX_C_SOURCE 200809L

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/node.h"

/* Message kinds; keep in sync with nodes/primes.c. */
#define SIEVE_MSG_RANGE  1
#define SIEVE_MSG_PRIMES 2
#define SIEVE_MSG_COUNT  3
#define SIEVE_MSG_GO     4

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

/*
 * The pre-sieve: the multiples of the primes 7 .. 97 repeat with a period of
 * their product (in bytes, 30 being coprime to them). They are in patterns of
 * a few primes each, whose periods (106 KB in all) fit in the L2 cache; a
 * piece of the block is the OR of one window of each pattern. Pre-sieving
 * 19 .. 97 saves a third of the crossings off at 10^10; more patterns would
 * save little more (4 % of the instructions up to 139).
 */
#define SIEVE_PATTERNS 9
static const uint8_t presieve_groups[SIEVE_PATTERNS][4] = {
    { 7, 11, 13, 17 }, { 19, 23, 29 }, { 31, 37, 41 }, { 43, 47 }, { 53, 59 },
    { 61, 67 },        { 71, 73 },     { 79, 83 },     { 89, 97 },
};

/* A pattern is read in windows of this many bytes at most; it has one more
 * window past its period, so that a window is contiguous. */
#define SIEVE_WINDOW_BYTES 4096

/*
 * The smallest prime crossed off explicitly, the one after the last of
 * presieve_groups; smaller ones are built in.
 */
#define SIEVE_FIRST_PRIME 101

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
 * For a sieving prime p and each bit b, the offset from the current block's
 * first byte of the next multiple of p whose residue is wheel[b]. They are
 * apart from the primes, so that primes waiting to be used take 4 bytes.
 */
struct sieve_lanes {
    uint32_t off[8];
};

/* The state of one segment's sieve. */
struct seg {
    uint64_t lo, hi;           /* the numbers [lo, hi), lo >= 2 or empty */
    uint64_t r;                /* isqrt(hi - 1): the largest sieving prime */
    uint64_t first_byte;       /* byte of lo */
    uint64_t end_byte;         /* one past the byte of hi - 1 */
    uint64_t cur;              /* first byte of the next block */
    uint32_t *prime;           /* the sieving primes, ascending */
    struct sieve_lanes *lanes; /* and their offsets */
    size_t count, cap;         /* sieving primes held, room */
    size_t active;             /* prime[0 .. active) have offsets */
    size_t small;      /* prime[0 .. small) are below SIEVE_SMALL_PRIME */
    uint64_t stop;     /* a block ends at this byte, if after its start */
    uint8_t *block;    /* SIEVE_BLOCK_BYTES */
    uint8_t *patterns; /* the pre-sieve patterns, each period + a window */
    const uint8_t *pattern[SIEVE_PATTERNS];
    uint32_t period[SIEVE_PATTERNS];
};

struct sieve {
    struct seg seg;
    int64_t *buf; /* reply being filled: kind, upto, primes */
    size_t fill, room;
    uint64_t total; /* primes in [lo, hi), once sieved */
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

/*
 * Set up `s`, which seg_alloc prepared, for [lo, hi); an empty range sieves
 * nothing. The sieving primes held stay. Returns 0, or -1 when out of
 * memory.
 */
static int
seg_init(struct seg *s, uint64_t lo, uint64_t hi)
{
    if (lo < 2)
        lo = 2;
    if (hi < lo)
        hi = lo;
    s->lo = lo;
    s->hi = hi;
    s->r = hi > lo ? isqrt64(hi - 1) : 0;
    s->first_byte = hi > lo ? lo / 30 : 0;
    s->end_byte = hi > lo ? (hi - 1) / 30 + 1 : 0;
    s->cur = s->first_byte;
    s->active = s->small = 0;
    s->stop = 0;
    /* Room for every sieving prime at once, rather than growing (and
     * copying) it: pi(r) < 1.26 r / ln r, ln r >= (bits of r - 1) ln 2. */
    if (s->r >= SIEVE_FIRST_PRIME) {
        int bits = 64 - __builtin_clzll(s->r);
        size_t cap = (size_t)(1.26 * (double)s->r / (0.69 * (bits - 1))) + 64;
        if (cap <= s->cap)
            return 0;
        uint32_t *prime = realloc(s->prime, cap * sizeof(*prime));
        if (prime == NULL)
            return -1;
        s->prime = prime;
        struct sieve_lanes *lanes = realloc(s->lanes, cap * sizeof(*lanes));
        if (lanes == NULL)
            return -1;
        s->lanes = lanes;
        /* A range above its square root waits for its sieving primes:
         * meanwhile, it pages in their new lanes (up to 4 MB), as the
         * block. */
        if (s->lo > s->r) {
            size_t n = cap < (1u << 17) ? cap : (1u << 17);
            if (n > s->cap)
                memset(s->lanes + s->cap, 0xff,
                       (n - s->cap) * sizeof(*s->lanes));
        }
        s->cap = cap;
    }
    return 0;
}

/* Free what `s` holds. */
static void
seg_release(struct seg *s)
{
    free(s->prime);
    free(s->lanes);
    free(s->block);
    free(s->patterns);
    memset(s, 0, sizeof(*s));
}

/* Append prime `p` (SIEVE_FIRST_PRIME <= p <= r) without offsets. */
static void
seg_push(struct seg *s, uint64_t p)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        uint32_t *np = realloc(s->prime, cap * sizeof(*np));
        if (np == NULL)
            abort();
        s->prime = np;
        struct sieve_lanes *nl = realloc(s->lanes, cap * sizeof(*nl));
        if (nl == NULL)
            abort();
        s->lanes = nl;
        s->cap = cap;
    }
    s->prime[s->count++] = (uint32_t)p;
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
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/*
 * Allocate the block and build the pre-sieve patterns in the zeroed `s`,
 * first thing (while the coordinator is still connecting). Returns 0, or -1
 * when out of memory.
 */
static int
seg_alloc(struct seg *s)
{
    size_t bytes = 0;
    for (int g = 0; g < SIEVE_PATTERNS; g++) {
        s->period[g] = 1;
        for (int k = 0; k < 4 && presieve_groups[g][k] != 0; k++)
            s->period[g] *= presieve_groups[g][k];
        bytes += s->period[g] + SIEVE_WINDOW_BYTES;
    }
    s->block = malloc(SIEVE_BLOCK_BYTES);
    s->patterns = malloc(bytes);
    if (s->block == NULL || s->patterns == NULL)
        return -1;
    /* Paged in now, rather than on first use: page faults are slow in a
     * virtual machine, and the coordinator is not there yet anyway. */
    memset(s->block, 0xff, SIEVE_BLOCK_BYTES);
    /*
     * One period of each pattern: for each prime p of the pattern and each
     * bit b, the bytes k with p | 30k + wheel[b] are k0, k0 + p, ... where
     * k0 = -wheel[b] / 30 mod p. Then a window more, so that a window is
     * contiguous: the period is copied over and over, doubling.
     */
    uint8_t *pat = s->patterns;
    for (int g = 0; g < SIEVE_PATTERNS; g++) {
        uint32_t period = s->period[g];
        memset(pat, 0, period);
        for (int k = 0; k < 4 && presieve_groups[g][k] != 0; k++) {
            uint32_t p = presieve_groups[g][k], inv30 = 1;
            while (30 * inv30 % p != 1)
                inv30++;
            for (int b = 0; b < 8; b++)
                for (uint32_t j = (p - wheel[b] % p) * inv30 % p; j < period;
                     j += p)
                    pat[j] |= (uint8_t)(1u << b);
        }
        for (uint32_t i = period; i < period + SIEVE_WINDOW_BYTES; i *= 2) {
            uint32_t left = period + SIEVE_WINDOW_BYTES - i;
            memcpy(pat + i, pat, left < i ? left : i);
        }
        s->pattern[g] = pat;
        pat += period + SIEVE_WINDOW_BYTES;
    }
    return 0;
}

/*
 * Get ready to sieve: sort and deduplicate the primes received (they come
 * in ascending order from the coordinator, so this is mostly a check).
 */
static void
seg_prepare(struct seg *s)
{
    if (s->count > 1) {
        size_t up = 1; /* primes[0 .. up) ascend */
        while (up < s->count && s->prime[up - 1] <= s->prime[up])
            up++;
        if (up < s->count)
            qsort(s->prime, s->count, sizeof(*s->prime), cmp_prime);
        size_t k = 1;
        for (size_t i = 1; i < s->count; i++)
            if (s->prime[i] != s->prime[k - 1])
                s->prime[k++] = s->prime[i];
        s->count = k;
    }
}

/*
 * Fill the `m` bytes at `dst`, which start at byte `byte` of the numbers,
 * with the multiples of the pre-sieved primes: window by window, the OR of
 * the patterns. Built with and without AVX2; the loader picks one.
 */
typedef uint8_t sieve_vec __attribute__((vector_size(32)));

__attribute__((target_clones("avx2", "default"))) static void
presieve(const struct seg *s, uint8_t *dst, uint64_t byte, uint32_t m)
{
    for (uint32_t k = 0; k < m; k += SIEVE_WINDOW_BYTES) {
        uint32_t n = m - k < SIEVE_WINDOW_BYTES ? m - k : SIEVE_WINDOW_BYTES;
        const uint8_t *src[SIEVE_PATTERNS];
        for (int g = 0; g < SIEVE_PATTERNS; g++)
            src[g] = s->pattern[g] + (byte + k) % s->period[g];
        uint8_t *out = dst + k;
        uint32_t i = 0;
        for (; i + sizeof(sieve_vec) <= n; i += sizeof(sieve_vec)) {
            sieve_vec v, w;
            memcpy(&v, src[0] + i, sizeof(v));
            for (int g = 1; g < SIEVE_PATTERNS; g++) {
                memcpy(&w, src[g] + i, sizeof(w));
                v |= w;
            }
            memcpy(out + i, &v, sizeof(v));
        }
        for (; i < n; i++) {
            uint8_t v = src[0][i];
            for (int g = 1; g < SIEVE_PATTERNS; g++)
                v |= src[g][i];
            out[i] = v;
        }
    }
}

/* Compute the lane offsets of `sp` for the block starting at byte `start`. */
static void
prime_activate(uint64_t p, struct sieve_lanes *sp, uint64_t start)
{
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
prime_cross(size_t p, struct sieve_lanes *sp, uint8_t *block, size_t n)
{
    size_t j0 = sp->off[0], j1 = sp->off[1], j2 = sp->off[2];
    size_t j3 = sp->off[3], j4 = sp->off[4], j5 = sp->off[5];
    size_t j6 = sp->off[6], j7 = sp->off[7];
    size_t far = j0;

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
#define SIEVE_LAST(J, B)                              \
    do {                                              \
        size_t in = 0 - (size_t)((J) < n);            \
        block[(J)&in] |= (uint8_t)((1u << (B)) & in); \
        sp->off[B] = (uint32_t)((J) + (p & in) - n);  \
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
    if (s->stop > start && s->stop - start < left)
        left = s->stop - start;
    uint32_t n = left < SIEVE_BLOCK_BYTES ? (uint32_t)left : SIEVE_BLOCK_BYTES;
    uint8_t *block = s->block;
    uint64_t end_num = 30 * (start + n); /* one past the block */

    while (s->active < s->count &&
           (uint64_t)s->prime[s->active] * s->prime[s->active] < end_num) {
        prime_activate(s->prime[s->active], &s->lanes[s->active], start);
        s->active++;
    }
    while (s->small < s->active && s->prime[s->small] < SIEVE_SMALL_PRIME)
        s->small++;
    for (uint32_t k = 0; k < n; k += SIEVE_PIECE_BYTES) {
        uint32_t m = n - k < SIEVE_PIECE_BYTES ? n - k : SIEVE_PIECE_BYTES;
        presieve(s, block + k, start + k, m);
        for (size_t i = 0; i < s->small; i++)
            prime_cross(s->prime[i], &s->lanes[i], block + k, m);
    }
    /* The pre-sieved primes themselves are primes (bytes 0 to 3). */
    for (int g = 0; start <= SIEVE_FIRST_PRIME / 30 && g < SIEVE_PATTERNS; g++)
        for (int k = 0; k < 4 && presieve_groups[g][k] != 0; k++) {
            uint32_t p = presieve_groups[g][k];
            if (p / 30 >= start && p / 30 < start + n)
                for (int b = 0; b < 8; b++)
                    if (wheel[b] == p % 30)
                        block[p / 30 - start] &= (uint8_t) ~(1u << b);
        }
    if (start == s->first_byte)
        for (int b = 0; b < 8; b++)
            if (30 * start + wheel[b] < s->lo)
                block[0] |= (uint8_t)(1u << b);
    if (start + n == s->end_byte)
        for (int b = 0; b < 8; b++)
            if (30 * (s->end_byte - 1) + wheel[b] >= s->hi)
                block[n - 1] |= (uint8_t)(1u << b);
    for (size_t i = s->small; i < s->active; i++)
        prime_cross(s->prime[i], &s->lanes[i], block, n);

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
                    (s->count > 0 && x <= s->prime[s->count - 1]))
                    continue;
                seg_push(s, x);
                if (x * x < end_num) {
                    struct sieve_lanes *sp = &s->lanes[s->count - 1];
                    prime_activate(x, sp, start);
                    prime_cross(x, sp, block, n);
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
    /* A stop is seen between two messages too: with a small hwm a block's
     * primes are thousands of messages. */
    int rc = flow_node_stopping(node);
    if (rc < 0)
        return rc;
    st->buf[1] = upto;
    flow_msg_t *msg = flow_msg_new(FLOW_INT64, st->fill);
    rc = flow_msg_add_i64s(msg, st->buf, st->fill);
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

/*
 * Receive the next range and its sieving primes, up to its go or the end of
 * the stream (which sets *ended). Returns 1 with a range to sieve, 0 when
 * the stream ended without one, or a failure.
 */
static int
receive(flow_node_t *node, struct sieve *st, int64_t *report, int *ended)
{
    int have_range = 0;
    for (;;) {
        flow_msg_t *msg = NULL;
        int rc = flow_node_recv(node, "coord", &msg);
        if (rc == FLOW_EOF) {
            *ended = 1;
            return have_range;
        }
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
            if (seg_init(&st->seg, (uint64_t)v[1], (uint64_t)v[2]) < 0) {
                flow_msg_destroy(&msg);
                return flow_node_fail(node, "out of memory");
            }
            *report = v[3];
            have_range = 1;
        } else if (v[0] == SIEVE_MSG_PRIMES && have_range) {
            for (size_t i = 1; i < n; i++)
                seg_add_prime(&st->seg, v[i]);
        } else if (v[0] == SIEVE_MSG_GO && n == 1 && have_range) {
            flow_msg_destroy(&msg);
            return 1;
        } else {
            long long kind = (long long)v[0]; /* v dies with msg */
            flow_msg_destroy(&msg);
            return flow_node_fail(node,
                                  "unexpected message of kind %lld "
                                  "and %zu items on 'coord'",
                                  kind, n);
        }
        flow_msg_destroy(&msg);
    }
}

/* Sieve the segment, streaming the primes <= report, then send the count. */
static int
sieve_segment(flow_node_t *node, struct sieve *st, int64_t report)
{
    struct seg *s = &st->seg;
    uint64_t total = 0;
    int rc;

    seg_prepare(s);
    for (uint64_t p = 2; p <= 5; p += 1 + (p > 2))
        if (p >= s->lo && p < s->hi) {
            total++;
            if ((int64_t)p <= report && (rc = emit(node, st, p)) < 0)
                return rc;
        }

    uint32_t n;
    int listing = report >= (int64_t)s->lo;
    /* The first block ends just past the primes wanted, so that they go out
     * (and the later segments can start) before the rest is sieved. */
    if (listing && report < (int64_t)s->hi) {
        s->stop = (uint64_t)report / 30 + 1;
        /* And they go in one message if they fit: pi(report) is below
         * 1.26 report / ln report, ln report >= (its bits - 1) ln 2. */
        int bits = 64 - __builtin_clzll((uint64_t)report | 2);
        double most = 1.26 * (double)report / (0.69 * (bits - 1)) + 8;
        size_t room = most < SIEVE_MAX_BATCH ? (size_t)most : SIEVE_MAX_BATCH;
        if (room + 2 > st->room) {
            int64_t *buf = realloc(st->buf, (room + 2) * sizeof(*buf));
            if (buf == NULL)
                return flow_node_fail(node, "out of memory");
            st->buf = buf;
            st->room = room + 2;
        }
    }
    while ((n = seg_next_block(s)) > 0) {
        uint64_t start = s->cur - n;
        /* A block is about a millisecond of work: stop between two. */
        if ((rc = flow_node_stopping(node)) < 0)
            return rc;
        const uint8_t *block = s->block;
        if (!listing) {
            total += block_count(block, n);
            continue;
        }
        /* The bytes up to the one of `report` are listed, the rest counted. */
        uint32_t m = n;
        if ((uint64_t)report < 30 * s->cur)
            m = (uint32_t)((uint64_t)report / 30 + 1 - start);
        total += block_count(block + m, n - m);
        for (uint32_t j = 0; j < m; j++) {
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
            /* The later segments wait for these primes: let this process's
             * I/O thread, just woken to send them, run now. On a busy CPU
             * it could otherwise wait for a time slice (milliseconds), and
             * the later segments with it. */
            sched_yield();
        }
    }
    if (listing && (rc = flush(node, st, (int64_t)s->hi, 1)) < 0)
        return rc;

    st->total = total;
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
    /* A stop ends a wait for the coordinator too: the go it waits for may
     * never come (the segment that finds its sieving primes stopped before
     * sending them), and the coordinator waits for this segment. */
    if (flow_node_stop_ends_recv(node, "coord") < 0)
        return FLOW_EPORT;

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
    if (seg_alloc(&st->seg) < 0)
        return flow_node_fail(node, "out of memory");

    /* Wall and CPU time of the waiting and the sieving, for the log. */
    double waited = 0, sieved = 0, cpu = 0;
    uint64_t numbers = 0, primes = 0;
    unsigned ranges = 0;
    int ended = 0, rc = 0;
    while (!ended) {
        struct timespec t0, t1, t2;
        int64_t report = -1;
        timespec_get(&t0, TIME_UTC);
        if ((rc = receive(node, st, &report, &ended)) <= 0)
            break;
        timespec_get(&t1, TIME_UTC);
        flow_node_log(node, FLOW_LOG_DEBUG, "sieving [%llu, %llu)",
                      (unsigned long long)st->seg.lo,
                      (unsigned long long)st->seg.hi);
        clock_t c1 = clock();
        if ((rc = sieve_segment(node, st, report)) < 0)
            break;
        clock_t c2 = clock();
        timespec_get(&t2, TIME_UTC);
        double w = (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        double t = (double)(t2.tv_sec - t1.tv_sec) +
                   (double)(t2.tv_nsec - t1.tv_nsec) * 1e-9;
        double c = (double)(c2 - c1) / CLOCKS_PER_SEC;
        uint64_t m = st->seg.hi - st->seg.lo;
        flow_node_log(node, FLOW_LOG_DEBUG,
                      "[%llu, %llu): %llu primes; %.6f s waiting for the "
                      "sieving primes, then %.6f s sieving, %.6f s CPU "
                      "(%.4f ns per number)",
                      (unsigned long long)st->seg.lo,
                      (unsigned long long)st->seg.hi,
                      (unsigned long long)st->total, w, t, c,
                      m ? c * 1e9 / (double)m : 0.0);
        waited += w;
        sieved += t;
        cpu += c;
        numbers += m;
        primes += st->total;
        ranges++;
    }
    if (rc < 0)
        return rc;
    if (ranges == 0) {
        rc = flow_node_await_stop(node, 500);
        return rc < 0 ? rc /* the coordinator stopped first */
                      : flow_node_fail(node, "no range received on 'coord'");
    }
    flow_node_log(node, FLOW_LOG_DEBUG,
                  "in all: %u range%s, %llu numbers, %llu primes; %.6f s "
                  "waiting for ranges and sieving primes, %.6f s sieving, "
                  "%.6f s CPU (%.4f ns per number)",
                  ranges, ranges == 1 ? "" : "s", (unsigned long long)numbers,
                  (unsigned long long)primes, waited, sieved, cpu,
                  numbers ? cpu * 1e9 / (double)numbers : 0.0);
    return 0;
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
