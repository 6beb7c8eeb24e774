/* SPDX-License-Identifier: MIT */
/*
 * test_node_words.c: the words node in the harness of flow/testing.h,
 * checked against an independent oracle written from the generator's
 * definition: a sequential SplitMix64 stream seeded with the seed, 12
 * letters per 64-bit draw x, letter j = floor(x * 26^(j+1) / 2^64) mod 26,
 * word k = letters k * length to k * length + length - 1. (The node seeks
 * into the stream and takes two letters per multiplication instead.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/testing.h"
#include "testutil.h"

extern const flow_node_desc_t flow_node_words;

__extension__ typedef unsigned __int128 u128;


/* Words 0 .. n-1 of `len` letters for `seed`, as one string each. */
static char **
oracle_words(int64_t seed, size_t len, size_t n)
{
    char **w = calloc(n ? n : 1, sizeof(*w));
    uint64_t state = (uint64_t)seed, x = 0;
    unsigned j = 12;

    assert_non_null(w);
    for (size_t k = 0; k < n; k++) {
        w[k] = malloc(len + 1);
        assert_non_null(w[k]);
        for (size_t i = 0; i < len; i++) {
            u128 scale = 26;
            if (j == 12) {
                x = tu_splitmix64(&state);
                j = 0;
            }
            for (unsigned p = 0; p < j; p++)
                scale *= 26;
            w[k][i] = (char)('a' + (unsigned)((((u128)x * scale) >> 64) % 26));
            j++;
        }
        w[k][len] = '\0';
    }
    return w;
}

static void
free_words(char **w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

/*
 * Run the words node as instance `inst` of `ninst` with chunks of `batch`
 * words (the port's batch size, or if `param` the node's `chunk` parameter,
 * with another batch size on the port that it must override), and check
 * every message against the oracle: chunk k (k = inst, inst + ninst, ...)
 * holds words k * batch ... with sequence number k. Returns the number of
 * words the instance made.
 */
static size_t
check_instance(int64_t seed, size_t len, size_t count, size_t batch, int param,
               unsigned inst, unsigned ninst, char **want)
{
    char p_count[64], p_len[64], p_seed[64], p_chunk[64];
    const char *params[] = { p_count, p_len, p_seed, p_chunk };
    flow_diag_t diag;
    flow_harness_t *h;
    flow_msg_t *msg = NULL;
    size_t made = 0;
    uint64_t k = inst;

    snprintf(p_count, sizeof(p_count), "count=%zu", count);
    snprintf(p_len, sizeof(p_len), "length=%zu", len);
    snprintf(p_seed, sizeof(p_seed), "seed=%lld", (long long)seed);
    snprintf(p_chunk, sizeof(p_chunk), "chunk=%zu", batch);
    h = flow_harness_new(&flow_node_words, params, param ? 4 : 3, &diag);
    assert_non_null(h);
    assert_int_equal(
        flow_harness_set_batch(h, "out", param ? batch + 3 : batch), 0);
    assert_int_equal(flow_harness_set_instance(h, inst, ninst), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));
    while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
        size_t first = (size_t)k * batch;
        size_t n = flow_msg_count(msg);

        assert_int_equal(flow_msg_type(msg), FLOW_WORDS);
        assert_int_equal(flow_msg_seq(msg), k);
        assert_int_equal(n, count - first < batch ? count - first : batch);
        for (size_t i = 0; i < n; i++) {
            size_t wl = 0;
            const char *w = flow_msg_word(msg, i, &wl);
            assert_non_null(w);
            assert_int_equal(wl, len);
            assert_string_equal(w, want[first + i]);
        }
        made += n;
        k += ninst;
        flow_msg_destroy(&msg);
    }
    /* Every chunk of this instance came. */
    assert_true(k * batch >= count);
    flow_harness_destroy(&h);
    return made;
}

/* Lengths that split draws every way, seeds of every sign, odd batches,
 * one to three instances: the same words as the oracle. */
static void
test_node_words_matches_oracle(void **state)
{
    static const size_t lens[] = { 1, 3, 4, 5, 7, 11, 12, 13, 25, 64 };
    static const int64_t seeds[] = { 1, 0, -1, 7, INT64_MIN, INT64_MAX };
    static const size_t batches[] = { 1, 5, 1000, 4096, 5000 };

    (void)state;
    for (size_t l = 0; l < sizeof(lens) / sizeof(*lens); l++) {
        for (size_t s = 0; s < sizeof(seeds) / sizeof(*seeds); s++) {
            size_t batch =
                batches[(l + s) % (sizeof(batches) / sizeof(*batches))];
            size_t count = batch == 1 ? 97 : 9000 + l;
            char **want = oracle_words(seeds[s], lens[l], count);

            for (unsigned ninst = 1; ninst <= 3; ninst++) {
                size_t total = 0;
                for (unsigned i = 0; i < ninst; i++)
                    total +=
                        check_instance(seeds[s], lens[l], count, batch,
                                       (int)(ninst + s) % 2, i, ninst, want);
                assert_int_equal(total, count);
            }
            free_words(want, count);
        }
    }
}

/* The letters are spread evenly: about count * length / 26 of each, and
 * about 1/26^2 of the four-letter words are palindromes. */
static void
test_node_words_spread(void **state)
{
    enum { COUNT = 200000, LEN = 4 };
    const char *params[] = { "count=200000", "length=4", "seed=3" };
    size_t seen[26] = { 0 }, pal = 0, total = 0;
    flow_harness_t *h;
    flow_msg_t *msg = NULL;

    (void)state;
    h = flow_harness_new(&flow_node_words, params, 3, NULL);
    assert_non_null(h);
    assert_int_equal(flow_harness_run(h), 0);
    while (flow_harness_pull(h, "out", &msg, NULL) == 0) {
        for (size_t i = 0; i < flow_msg_count(msg); i++) {
            const char *w = flow_msg_word(msg, i, NULL);
            for (size_t j = 0; j < LEN; j++) {
                assert_true(w[j] >= 'a' && w[j] <= 'z');
                seen[w[j] - 'a']++;
            }
            pal += w[0] == w[3] && w[1] == w[2];
            total++;
        }
        flow_msg_destroy(&msg);
    }
    assert_int_equal(total, COUNT);
    for (size_t c = 0; c < 26; c++) {
        /* Expected 30769; 5 standard deviations are about 860. */
        assert_true(seen[c] > COUNT * LEN / 26 - 1000);
        assert_true(seen[c] < COUNT * LEN / 26 + 1000);
    }
    /* Expected 296, standard deviation 17. */
    assert_true(pal > 200 && pal < 400);
    flow_harness_destroy(&h);
}

/* No words: no message, the output simply ends. */
static void
test_node_words_none(void **state)
{
    const char *params[] = { "count=0" };
    flow_harness_t *h;
    flow_msg_t *msg = NULL;

    (void)state;
    h = flow_harness_new(&flow_node_words, params, 1, NULL);
    assert_non_null(h);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_int_equal(flow_harness_pull(h, "out", &msg, NULL), FLOW_EOF);
    flow_harness_destroy(&h);
}

static void
test_node_words_checks_params(void **state)
{
    const char *zero[] = { "length=0" };
    const char *big[] = { "length=65" };
    flow_diag_t diag;

    (void)state;
    assert_null(flow_harness_new(&flow_node_words, zero, 1, &diag));
    assert_int_equal(diag.code, FLOW_EPARAM);
    assert_null(flow_harness_new(&flow_node_words, big, 1, &diag));
    assert_int_equal(diag.code, FLOW_EPARAM);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_words_matches_oracle),
        cmocka_unit_test(test_node_words_spread),
        cmocka_unit_test(test_node_words_none),
        cmocka_unit_test(test_node_words_checks_params),
    };

    return cmocka_run_group_tests_name("node_words", tests, NULL, NULL);
}
