/* SPDX-License-Identifier: MIT */
/*
 * suggest.c: the name a misspelt one was probably meant to be, for the
 * "did you mean" of graph errors: the closest by edits (a letter added,
 * dropped, changed, or two neighbours swapped; case ignored), if close
 * enough for the length of the word.
 */
#include <ctype.h>
#include <string.h>

#include "internal.h"

#define SUGGEST_MAX_LEN 64

/* Edits from `a` to `b` (optimal string alignment distance), or
 * SUGGEST_MAX_LEN when either is longer than that. */
static size_t
edits(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];

    if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
        return SUGGEST_MAX_LEN;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]);
            int cb = tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *
flow__suggest(const char *word, const char *const *names, size_t n)
{
    size_t len = strlen(word);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = limit + 1;

    for (size_t i = 0; i < n; i++) {
        size_t d;
        if (!names[i] || !strcmp(names[i], word))
            continue;
        d = edits(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}
