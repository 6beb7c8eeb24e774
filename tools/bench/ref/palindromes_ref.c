/* SPDX-License-Identifier: MIT */
/*
 * palindromes_ref: the single-process C reference of tools/bench/report.sh
 * (not a test, not part of flow).
 *
 *   palindromes_ref WORDS [LENGTH [SEED]]
 *
 * One loop does what graphs/palindromes.ini does with processes: it makes
 * WORDS random lowercase words of LENGTH letters (default 4) with the same
 * generator as the `words` node (SplitMix64 seeded with SEED, default 1,
 * 12 base-26 digits per draw, word k = letters k * LENGTH ..., see
 * nodes/words.c; the code below is the node's), keeps the words equal to
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

#define MAX_LENGTH       64
#define LETTERS_PER_DRAW 12
#define BLOCK            4096
#define GOLDEN           UINT64_C(0x9e3779b97f4a7c15)

__extension__ typedef unsigned __int128 u128;

static char pairs[676][2];

static uint64_t
draw(uint64_t seed, uint64_t d)
{
    uint64_t z = seed + GOLDEN * (d + 1);

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Letters [first, first + n) of the stream of `seed`, as nodes/words.c. */
static void
make_letters(uint64_t seed, uint64_t first, size_t n, char *out)
{
    uint64_t d = first / LETTERS_PER_DRAW;
    unsigned skip = (unsigned)(first % LETTERS_PER_DRAW);

    while (n > 0) {
        uint64_t x = draw(seed, d++);

        if (skip == 0 && n >= LETTERS_PER_DRAW) {
            for (unsigned j = 0; j < LETTERS_PER_DRAW / 2; j++) {
                u128 t = (u128)x * 676;
                memcpy(out + 2 * j, pairs[(unsigned)(t >> 64)], 2);
                x = (uint64_t)t;
            }
            out += LETTERS_PER_DRAW;
            n -= LETTERS_PER_DRAW;
            continue;
        }
        for (unsigned j = 0; j < LETTERS_PER_DRAW && n > 0; j++) {
            u128 t = (u128)x * 26;
            x = (uint64_t)t;
            if (j < skip)
                continue;
            *out++ = (char)('a' + (unsigned)(t >> 64));
            n--;
        }
        skip = 0;
    }
}

static bool
is_palindrome(const char *word, size_t len)
{
    for (size_t i = 0, j = len; i + 1 < j; i++, j--) {
        if (word[i] != word[j - 1])
            return false;
    }
    return true;
}

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
    if (length < 1 || length > MAX_LENGTH) {
        fprintf(stderr, "palindromes_ref: LENGTH must be 1..%d\n", MAX_LENGTH);
        return 2;
    }

    for (unsigned p = 0; p < 676; p++) {
        pairs[p][0] = (char)('a' + p / 26);
        pairs[p][1] = (char)('a' + p % 26);
    }
    size_t cap = 1024, used = 0;
    char *found = malloc(cap);
    char *letters = malloc(BLOCK * length);
    if (!found || !letters)
        return 1;
    for (uint64_t k = 0; k < count; k += BLOCK) {
        size_t n = count - k < BLOCK ? (size_t)(count - k) : BLOCK;
        make_letters(seed, k * length, n * length, letters);
        for (size_t i = 0; i < n; i++) {
            const char *word = letters + i * length;
            if (!is_palindrome(word, length))
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
    free(letters);
    return fflush(stdout) ? 1 : 0;
}
