/* SPDX-License-Identifier: MIT */
/*
 * palindromes_ref: the single-process C reference of tools/bench/report.sh
 * (not a test, not part of flow).
 *
 *   palindromes_ref WORDS [LENGTH [SEED]]
 *
 * One loop does what graphs/palindromes.ini does with processes: it makes
 * WORDS random lowercase words of LENGTH letters (default 4) with the same
 * counter-based generator as the `words` node (splitmix64, so word k is the
 * same word flow makes for the same seed, default 1), keeps the words equal
 * to their reverse, and prints them one per line in input order at the end,
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
#define GOLDEN           UINT64_C(0x9e3779b97f4a7c15)

static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void
make_word(uint64_t key, uint64_t k, size_t length, char *word)
{
    uint64_t base = mix64(key + GOLDEN * (k + 1));
    uint64_t draw = base;
    size_t left = 0;

    for (size_t i = 0; i < length; i++) {
        if (left == 0) {
            draw = mix64(base + GOLDEN * (i / LETTERS_PER_DRAW));
            left = LETTERS_PER_DRAW;
        }
        word[i] = (char)('a' + draw % 26);
        draw /= 26;
        left--;
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
    int64_t seed = argc > 3 ? strtoll(argv[3], NULL, 10) : 1;
    if (length < 1 || length > MAX_LENGTH) {
        fprintf(stderr, "palindromes_ref: LENGTH must be 1..%d\n", MAX_LENGTH);
        return 2;
    }

    uint64_t key = mix64((uint64_t)seed);
    size_t cap = 1024, used = 0;
    char *found = malloc(cap);
    char word[MAX_LENGTH + 1];
    if (!found)
        return 1;
    for (uint64_t k = 0; k < count; k++) {
        make_word(key, k, length, word);
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
    fwrite(found, 1, used, stdout);
    free(found);
    return fflush(stdout) ? 1 : 0;
}
