/* SPDX-License-Identifier: MIT */
/*
 * sieve_ref: the single-process C sieve of tools/bench/report.sh (not a
 * test, not part of flow).
 *
 *   sieve_ref LIMIT           print the number of primes <= LIMIT
 *   sieve_ref LIMIT --list    print the primes <= LIMIT, one per line
 *
 * A plain segmented sieve of Eratosthenes, the textbook way: the sieving
 * primes up to sqrt(LIMIT) come from a small simple sieve; then the odd
 * numbers are crossed off in blocks of SEGMENT bytes (one byte per odd
 * number, a block fits in L2), each sieving prime remembering where its
 * next multiple falls. No wheel beyond 2, no bit packing, no
 * pre-sieving: what a C programmer writes in an afternoon.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Odd numbers per block: 256 KiB of bytes. */
#define SEGMENT (1u << 18)

int
main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--list"))) {
        fprintf(stderr, "usage: sieve_ref LIMIT [--list]\n");
        return 2;
    }
    uint64_t limit = (uint64_t)strtod(argv[1], NULL);
    int list = argc == 3;
    uint64_t count = 0;

    if (limit >= 2) {
        count = 1;
        if (list)
            puts("2");
    }
    if (limit < 3) {
        if (!list)
            printf("%" PRIu64 "\n", count);
        return 0;
    }

    /* Sieving primes: the odd primes <= sqrt(limit). */
    uint64_t root = (uint64_t)sqrtl((long double)limit);
    while (root * root > limit)
        root--;
    while ((root + 1) * (root + 1) <= limit)
        root++;
    unsigned char *small = calloc(root + 1, 1);
    uint64_t *primes = malloc(sizeof(*primes) * (root / 2 + 2));
    uint64_t *next = malloc(sizeof(*next) * (root / 2 + 2));
    unsigned char *block = malloc(SEGMENT);
    if (!small || !primes || !next || !block)
        return 1;
    size_t np = 0;
    for (uint64_t p = 3; p <= root; p += 2) {
        if (small[p])
            continue;
        for (uint64_t m = p * p; m <= root; m += 2 * p)
            small[m] = 1;
        primes[np] = p;
        next[np] = (p * p - 3) / 2; /* index of p*p; index i is 2i + 3 */
        np++;
    }

    /* Odd numbers 3, 5, ..., limit as indexes 0 .. n - 1. */
    uint64_t n = (limit - 1) / 2;
    for (uint64_t lo = 0; lo < n; lo += SEGMENT) {
        uint64_t len = n - lo < SEGMENT ? n - lo : SEGMENT;
        uint64_t hi = lo + len;
        memset(block, 1, len);
        for (size_t k = 0; k < np; k++) {
            uint64_t p = primes[k], i = next[k];
            if (i >= hi) {
                if (i > n)
                    break; /* p * p > limit: so are all later ones */
                continue;
            }
            for (; i < hi; i += p)
                block[i - lo] = 0;
            next[k] = i;
        }
        if (list) {
            for (uint64_t i = 0; i < len; i++)
                if (block[i])
                    printf("%" PRIu64 "\n", 2 * (lo + i) + 3);
        } else {
            for (uint64_t i = 0; i < len; i++)
                count += block[i];
        }
    }
    if (!list)
        printf("%" PRIu64 "\n", count);
    free(small);
    free(primes);
    free(next);
    free(block);
    return fflush(stdout) ? 1 : 0;
}
