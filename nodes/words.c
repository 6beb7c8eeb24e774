/* SPDX-License-Identifier: MIT */
/*
 * words: a source of deterministic random lowercase words, the article's
 * generate_words().
 *
 * The words are cut from one stream of letters. The stream comes from
 * SplitMix64 seeded with `seed`: its draw d (d = 0, 1, 2, ...) is
 * mix64(seed + (d + 1) * 0x9e3779b97f4a7c15), and each draw x gives 12
 * letters, the first 12 base-26 digits of the fraction x / 2^64 (letter j is
 * floor(x * 26^(j+1) / 2^64) mod 26, 'a' for 0). Word k of `length` letters
 * is letters k * length to k * length + length - 1 of the stream.
 *
 * So word k depends only on the seed, the length and k, not on how many
 * instances share the work nor on the chunk size: instance i of n makes
 * chunks i, i + n, ... of `chunk` words (by default the link's batch size)
 * and gives chunk k the sequence number k. tools/bench/ref/palindromes_ref.c
 * makes the same words the same way; the tests check both against the formula
 * above.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/node.h"

/* The longest word. */
#define WORDS_MAX_LENGTH 64

/*
 * Letters drawn from one 64-bit value: 26^12 < 2^64 < 26^13, so each of the
 * 26^12 patterns of 12 letters comes from 194 or 195 of the 2^64 draws.
 */
#define WORDS_LETTERS_PER_DRAW 12

/* Words made at a time into the letter buffer. */
#define WORDS_BLOCK 4096

#define WORDS_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

__extension__ typedef unsigned __int128 words_u128;

struct words {
    int64_t count;
    int64_t length;
    int64_t seed;
    int64_t chunk;
    char *letters;      /* WORDS_BLOCK words of letters */
    char pairs[676][2]; /* the two letters of each base-676 digit */
};

static const flow_param_t words_params[] = {
    FLOW_PARAM_INT("count", struct words, count, "8000", 0,
                   INT64_C(1000000000000),
                   "total number of words, over all instances"),
    FLOW_PARAM_INT("length", struct words, length, "4", 1, WORDS_MAX_LENGTH,
                   "letters per word"),
    FLOW_PARAM_INT("seed", struct words, seed, "1", INT64_MIN, INT64_MAX,
                   "random seed; the same seed gives the same words"),
    FLOW_PARAM_INT("chunk", struct words, chunk, "0", 0, INT64_C(1000000000),
                   "words per message; 0 uses the batch size of 'out'"),
    FLOW_PARAM_END
};

static const flow_port_t words_ports[] = {
    FLOW_PORT_OUT("out", FLOW_WORDS, "the words, in chunks of 'chunk' words"),
    FLOW_PORT_END
};

/* Draw `d` of SplitMix64 seeded with `seed`. */
static uint64_t
draw(uint64_t seed, uint64_t d)
{
    uint64_t z = seed + WORDS_GOLDEN * (d + 1);

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/*
 * Write letters [first, first + n) of the stream of `seed` to `out`. Whole
 * draws take two letters per multiplication: the base-676 digits of x / 2^64
 * are the base-26 digits taken two at a time.
 */
static void
make_letters(const struct words *s, uint64_t seed, uint64_t first, size_t n,
             char *out)
{
    uint64_t d = first / WORDS_LETTERS_PER_DRAW;
    unsigned skip = (unsigned)(first % WORDS_LETTERS_PER_DRAW);

    while (n > 0) {
        uint64_t x = draw(seed, d++);

        if (skip == 0 && n >= WORDS_LETTERS_PER_DRAW) {
            for (unsigned j = 0; j < WORDS_LETTERS_PER_DRAW / 2; j++) {
                words_u128 t = (words_u128)x * 676;
                memcpy(out + 2 * j, s->pairs[(unsigned)(t >> 64)], 2);
                x = (uint64_t)t;
            }
            out += WORDS_LETTERS_PER_DRAW;
            n -= WORDS_LETTERS_PER_DRAW;
            continue;
        }
        for (unsigned j = 0; j < WORDS_LETTERS_PER_DRAW && n > 0; j++) {
            words_u128 t = (words_u128)x * 26;
            x = (uint64_t)t;
            if (j < skip)
                continue;
            *out++ = (char)('a' + (unsigned)(t >> 64));
            n--;
        }
        skip = 0;
    }
}

/* Send `*msg_p` on "out", explaining a failure unless the run is stopping. */
static int
send_out(flow_node_t *node, flow_msg_t **msg_p)
{
    int rc = flow_node_send(node, "out", msg_p);

    if (rc == 0 || rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(node, "cannot send on 'out': %s", flow_strerror(rc));
}

static int
words_init(flow_node_t *node, void *state)
{
    struct words *s = state;

    for (unsigned p = 0; p < 676; p++) {
        s->pairs[p][0] = (char)('a' + p / 26);
        s->pairs[p][1] = (char)('a' + p % 26);
    }
    s->letters = malloc((size_t)WORDS_BLOCK * (size_t)s->length);
    if (s->letters == NULL)
        return flow_node_fail(node, "out of memory");
    return 0;
}

/* Append words [first, end) to `msg`. */
static int
add_words(flow_node_t *node, struct words *s, flow_msg_t *msg, uint64_t first,
          uint64_t end)
{
    size_t length = (size_t)s->length;
    uint64_t seed = (uint64_t)s->seed;

    while (first < end) {
        size_t n =
            end - first < WORDS_BLOCK ? (size_t)(end - first) : WORDS_BLOCK;
        make_letters(s, seed, first * length, n * length, s->letters);
        for (size_t i = 0; i < n; i++) {
            int rc = flow_msg_add_word(msg, s->letters + i * length, length);
            if (rc < 0)
                return flow_node_fail(node, "cannot add a word: %s",
                                      flow_strerror(rc));
        }
        first += n;
    }
    return 0;
}

static int
words_run(flow_node_t *node, void *state)
{
    struct words *s = state;
    uint64_t count = (uint64_t)s->count;
    uint64_t batch =
        s->chunk > 0 ? (uint64_t)s->chunk : flow_node_batch(node, "out");
    uint64_t instance = flow_node_instance(node);
    uint64_t instances = flow_node_instances(node);

    if (batch == 0)
        return flow_node_fail(node, "no batch size on port 'out'");
    if (instances == 0)
        instances = 1;

    uint64_t chunks = count / batch + (count % batch != 0);
    for (uint64_t k = instance; k < chunks; k += instances) {
        uint64_t first = k * batch;
        uint64_t end = count - first < batch ? count : first + batch;
        flow_msg_t *msg = flow_msg_new(FLOW_WORDS, (size_t)(end - first));

        int rc = add_words(node, s, msg, first, end);
        if (rc < 0) {
            flow_msg_destroy(&msg);
            return rc;
        }
        flow_msg_set_seq(msg, k);
        rc = send_out(node, &msg);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void
words_fini(flow_node_t *node, void *state)
{
    struct words *s = state;

    (void)node;
    free(s->letters);
    s->letters = NULL;
}

FLOW_NODE(words) = {
    FLOW_NODE_V1,
    .name = "words",
    .summary = "Generate deterministic random lowercase words",
    .state_size = sizeof(struct words),
    .params = words_params,
    .ports = words_ports,
    .init = words_init,
    .run = words_run,
    .fini = words_fini,
};
