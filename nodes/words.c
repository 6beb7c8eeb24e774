/* SPDX-License-Identifier: MIT */
/*
 * words: a source of deterministic random lowercase words, the article's
 * generate_words(). Word k depends only on the seed and on k (a counter-based
 * generator, splitmix64), so the words produced do not depend on how many
 * instances share the work: instance i of n makes chunks i, i + n, ... and
 * gives chunk k the sequence number k.
 */
#include <stdint.h>

#include "flow/node.h"

/* The longest word, also the size of the local word buffer. */
#define WORDS_MAX_LENGTH 64

/* Letters drawn from one 64-bit value: 26^13 > 2^64 > 26^12. */
#define WORDS_LETTERS_PER_DRAW 12

#define WORDS_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

struct words {
    int64_t count;
    int64_t length;
    int64_t seed;
};

static const flow_param_t words_params[] = {
    FLOW_PARAM_INT("count", struct words, count, "8000", 0,
                   INT64_C(1000000000000),
                   "total number of words, over all instances"),
    FLOW_PARAM_INT("length", struct words, length, "4", 1, WORDS_MAX_LENGTH,
                   "letters per word"),
    FLOW_PARAM_INT("seed", struct words, seed, "1", INT64_MIN, INT64_MAX,
                   "random seed; the same seed gives the same words"),
    FLOW_PARAM_END
};

static const flow_port_t words_ports[] = {
    FLOW_PORT_OUT("out", FLOW_WORDS,
                  "the words, in chunks of the link's batch size"),
    FLOW_PORT_END
};

/* The splitmix64 finalizer: a bijective, well-mixing hash of `z`. */
static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Fill `word` with the `length` letters of word `k` for hashed seed `key`. */
static void
make_word(uint64_t key, uint64_t k, size_t length, char *word)
{
    uint64_t base = mix64(key + WORDS_GOLDEN * (k + 1));
    uint64_t draw = base;
    size_t left = 0;

    for (size_t i = 0; i < length; i++) {
        if (left == 0) {
            draw = mix64(base + WORDS_GOLDEN * (i / WORDS_LETTERS_PER_DRAW));
            left = WORDS_LETTERS_PER_DRAW;
        }
        word[i] = (char)('a' + draw % 26);
        draw /= 26;
        left--;
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
words_run(flow_node_t *node, void *state)
{
    const struct words *s = state;
    uint64_t count = (uint64_t)s->count;
    size_t length = (size_t)s->length;
    uint64_t key = mix64((uint64_t)s->seed);
    uint64_t batch = flow_node_batch(node, "out");
    uint64_t instance = flow_node_instance(node);
    uint64_t instances = flow_node_instances(node);
    char word[WORDS_MAX_LENGTH];

    if (batch == 0)
        return flow_node_fail(node, "no batch size on port 'out'");
    if (instances == 0)
        instances = 1;

    uint64_t chunks = count / batch + (count % batch != 0);
    for (uint64_t k = instance; k < chunks; k += instances) {
        uint64_t first = k * batch;
        uint64_t end = count - first < batch ? count : first + batch;
        flow_msg_t *msg = flow_msg_new(FLOW_WORDS, (size_t)(end - first));

        for (uint64_t w = first; w < end; w++) {
            make_word(key, w, length, word);
            int rc = flow_msg_add_word(msg, word, length);
            if (rc < 0) {
                flow_msg_destroy(&msg);
                return flow_node_fail(node, "cannot add a word: %s",
                                      flow_strerror(rc));
            }
        }
        flow_msg_set_seq(msg, k);
        int rc = send_out(node, &msg);
        if (rc < 0)
            return rc;
    }
    return 0;
}

FLOW_NODE(words) = {
    FLOW_NODE_V1,
    .name = "words",
    .summary = "Generate deterministic random lowercase words",
    .state_size = sizeof(struct words),
    .params = words_params,
    .ports = words_ports,
    .run = words_run,
};
