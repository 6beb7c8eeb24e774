/* SPDX-License-Identifier: MIT */
/*
 * wordgen.h: the random word stream of the palindromes graphs, shared by the
 * `words` and `palsearch` nodes and by tools/bench/ref/palindromes_ref.c (so
 * the reference loop makes exactly the nodes' words with exactly their code).
 *
 * The words are cut from one stream of lowercase letters. The stream comes
 * from SplitMix64 seeded with `seed`: its draw d (d = 0, 1, 2, ...) is
 * mix64(seed + (d + 1) * 0x9e3779b97f4a7c15), and each draw x gives 12
 * letters, the first 12 base-26 digits of the fraction x / 2^64 (letter j is
 * floor(x * 26^(j+1) / 2^64) mod 26, 'a' for 0). Word k of `length` letters
 * is letters k * length to k * length + length - 1 of the stream, so it
 * depends only on the seed, the length and k.
 *
 * Header-only (static functions): each plugin is a shared object of its own.
 */
#ifndef FLOW_NODES_WORDGEN_H
#define FLOW_NODES_WORDGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The longest word. */
#define WORDGEN_MAX_LENGTH 64

/*
 * Letters drawn from one 64-bit value: 26^12 < 2^64 < 26^13, so each of the
 * 26^12 patterns of 12 letters comes from 194 or 195 of the 2^64 draws.
 */
#define WORDGEN_LETTERS_PER_DRAW 12

/* Words made at a time by the users of wordgen_letters, a good block. */
#define WORDGEN_BLOCK 4096

#define WORDGEN_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

__extension__ typedef unsigned __int128 wordgen_u128;

/* A maker of the words of `length` letters from `seed`: wordgen_open. */
typedef struct wordgen {
    char pairs[676][2]; /* the two letters of each base-676 digit */
    uint64_t seed;
    size_t length;
    char *letters; /* room for WORDGEN_BLOCK words */
} wordgen_t;

/* Draw `d` of SplitMix64 seeded with `seed`. */
static inline uint64_t
wordgen_draw(uint64_t seed, uint64_t d)
{
    uint64_t z = seed + WORDGEN_GOLDEN * (d + 1);

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/*
 * Write letters [first, first + n) of the stream of `seed` to `out`. Whole
 * draws take two letters per multiplication: the base-676 digits of x / 2^64
 * are the base-26 digits taken two at a time.
 */
static inline void
wordgen_letters(const wordgen_t *g, uint64_t seed, uint64_t first, size_t n,
                char *out)
{
    uint64_t d = first / WORDGEN_LETTERS_PER_DRAW;
    unsigned skip = (unsigned)(first % WORDGEN_LETTERS_PER_DRAW);

    while (n > 0) {
        uint64_t x = wordgen_draw(seed, d++);

        if (skip == 0 && n >= WORDGEN_LETTERS_PER_DRAW) {
            for (unsigned j = 0; j < WORDGEN_LETTERS_PER_DRAW / 2; j++) {
                wordgen_u128 t = (wordgen_u128)x * 676;
                memcpy(out + 2 * j, g->pairs[(unsigned)(t >> 64)], 2);
                x = (uint64_t)t;
            }
            out += WORDGEN_LETTERS_PER_DRAW;
            n -= WORDGEN_LETTERS_PER_DRAW;
            continue;
        }
        for (unsigned j = 0; j < WORDGEN_LETTERS_PER_DRAW && n > 0; j++) {
            wordgen_u128 t = (wordgen_u128)x * 26;
            x = (uint64_t)t;
            if (j < skip)
                continue;
            *out++ = (char)('a' + (unsigned)(t >> 64));
            n--;
        }
        skip = 0;
    }
}

/* Set up `g` for words of `length` letters (1 .. WORDGEN_MAX_LENGTH) from
 * `seed`. Returns 0, or -1 out of memory; wordgen_close frees. */
static inline int
wordgen_open(wordgen_t *g, uint64_t seed, size_t length)
{
    for (unsigned p = 0; p < 676; p++) {
        g->pairs[p][0] = (char)('a' + p / 26);
        g->pairs[p][1] = (char)('a' + p % 26);
    }
    g->seed = seed;
    g->length = length;
    g->letters = malloc((size_t)WORDGEN_BLOCK * length);
    return g->letters ? 0 : -1;
}

static inline void
wordgen_close(wordgen_t *g)
{
    free(g->letters);
    g->letters = NULL;
}

/* Words [first, first + n), n <= WORDGEN_BLOCK, one after the other
 * (`length` letters each, no separator), in `g`'s buffer until the next
 * call. */
static inline const char *
wordgen_words(wordgen_t *g, uint64_t first, size_t n)
{
    wordgen_letters(g, g->seed, first * g->length, n * g->length, g->letters);
    return g->letters;
}

/* Chunk `k` of `chunk` words among `count`: words [*first, *end). */
static inline void
wordgen_chunk(uint64_t k, uint64_t chunk, uint64_t count, uint64_t *first,
              uint64_t *end)
{
    *first = k * chunk;
    *end = count - *first < chunk ? count : *first + chunk;
}

/* True if the `len` letters at `word` read the same backward. */
static inline int
wordgen_is_palindrome(const char *word, size_t len)
{
    for (size_t i = 0, j = len; i + 1 < j; i++, j--)
        if (word[i] != word[j - 1])
            return 0;
    return 1;
}

#endif
