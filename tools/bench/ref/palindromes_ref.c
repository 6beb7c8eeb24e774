/* SPDX-License-Identifier: MIT */
/*
 * palindromes_ref: the single-process C reference of tools/bench/report.sh
 * (not a test, not part of flow).
 *
 *   palindromes_ref WORDS [LENGTH [SEED]]
 *
 * One loop does what graphs/palindromes.ini does with processes: it makes
 * WORDS random lowercase words of LENGTH letters (default 4) with the same
 * generator as the `words` and `palsearch` nodes (nodes/wordgen.h, seeded
 * with SEED, default 1: the nodes' own code), keeps the words equal to
 * their reverse, and prints them one per line in input order at the end,
 * like `collect order=input`. Its output is therefore byte-identical to the
 * graph's, which report.sh checks.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wordgen.h"

int
main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: palindromes_ref WORDS [LENGTH [SEED]]\n");
        return 2;
    }
    uint64_t count = strtoull(argv[1], NULL, 10);
    size_t length = argc > 2 ? strtoul(argv[2], NULL, 10) : 4;
    uint64_t seed = argc > 3 ? (uint64_t)strtoll(argv[3], NULL, 10) : 1;
    if (length < 1 || length > WORDGEN_MAX_LENGTH) {
        fprintf(stderr, "palindromes_ref: LENGTH must be 1..%d\n",
                WORDGEN_MAX_LENGTH);
        return 2;
    }

    wordgen_t gen;
    size_t cap = 1024, used = 0;
    char *found = malloc(cap);
    if (!found || wordgen_open(&gen, seed, length))
        return 1;
    for (uint64_t k = 0; k < count; k += WORDGEN_BLOCK) {
        size_t n =
            count - k < WORDGEN_BLOCK ? (size_t)(count - k) : WORDGEN_BLOCK;
        const char *letters = wordgen_words(&gen, k, n);
        for (size_t i = 0; i < n; i++) {
            const char *word = letters + i * length;
            if (!wordgen_is_palindrome(word, length))
                continue;
            if (used + length + 1 > cap) {
                cap *= 2;
                found = realloc(found, cap);
                if (!found)
                    return 1;
            }
            memcpy(found + used, word, length);
            found[used + length] = '\n';
            used += length + 1;
        }
    }
    fwrite(found, 1, used, stdout);
    free(found);
    wordgen_close(&gen);
    return fflush(stdout) ? 1 : 0;
}
