/* SPDX-License-Identifier: MIT */
/*
 * words: a source of deterministic random lowercase words, the article's
 * generate_words().
 *
 * The words are the stream of nodes/wordgen.h: word k of `length` letters
 * is letters k * length .. k * length + length - 1 of the letters made from
 * `seed`.
 *
 * So word k depends only on the seed, the length and k, not on how many
 * instances share the work nor on the chunk size: instance i of n makes
 * chunks i, i + n, ... of `chunk` words (by default the link's batch size)
 * and gives chunk k the sequence number k. tools/bench/ref/palindromes_ref.c
 * makes the same words the same way; the tests check both against the formula
 * above.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/node.h"
#include "wordgen.h"

struct words {
    int64_t count;
    int64_t length;
    int64_t seed;
    int64_t chunk;
    wordgen_t gen;
};

static const flow_param_t words_params[] = {
    FLOW_PARAM_INT("count", struct words, count, "8000", 0,
                   INT64_C(1000000000000),
                   "total number of words, over all instances"),
    FLOW_PARAM_INT("length", struct words, length, "4", 1, WORDGEN_MAX_LENGTH,
                   "letters per word"),
    FLOW_PARAM_INT("seed", struct words, seed, "1", INT64_MIN, INT64_MAX,
                   "random seed; the same seed gives the same words"),
    FLOW_PARAM_INT("chunk", struct words, chunk, "0", 0, INT64_C(1000000000),
                   "words per message; 0 uses the batch size of 'out'"),
    FLOW_PARAM_END
};

static const flow_port_t words_ports[] = {
    FLOW_PORT_OUT("out", FLOW_WORDS,
                  "the words, in chunks of 'chunk' words; chunk k is made by "
                  "instance k mod instances and numbered k, so the chunks "
                  "do not depend on the instance count (collect "
                  "order=input writes them in order; order=arrival as they "
                  "come)"),
    FLOW_PORT_END
};

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

    if (wordgen_open(&s->gen, (uint64_t)s->seed, (size_t)s->length))
        return flow_node_fail(node, "out of memory");
    return 0;
}

/* Append words [first, end) to `msg`. */
static int
add_words(flow_node_t *node, struct words *s, flow_msg_t *msg, uint64_t first,
          uint64_t end)
{
    size_t length = (size_t)s->length;

    while (first < end) {
        size_t n =
            end - first < WORDGEN_BLOCK ? (size_t)(end - first) : WORDGEN_BLOCK;
        const char *words = wordgen_words(&s->gen, first, n);
        int rc = flow_msg_add_words_fixed(msg, words, n, length);
        if (rc < 0)
            return flow_node_fail(node, "cannot add words: %s",
                                  flow_strerror(rc));
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
        uint64_t first, end;
        wordgen_chunk(k, batch, count, &first, &end);
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

/* Before the run (flowrun --check too): a chunk fits in a message, which
 * holds at most UINT32_MAX bytes (each word and its end). A batch of the
 * link always fits: at most 2^24 words of 64 letters. */
static int
words_check(const flow_check_t *c, const void *state, char *why, size_t whylen)
{
    const struct words *s = state;
    uint64_t per = (uint64_t)s->length + 1;
    uint64_t most = UINT32_MAX / per;
    uint64_t n = s->chunk < s->count ? (uint64_t)s->chunk : (uint64_t)s->count;

    (void)c;
    if (s->chunk == 0 || n <= most)
        return 0;
    snprintf(why, whylen,
             "'chunk' = %lld: a message holds at most %lu bytes, and %llu "
             "words of %lld letters take %llu with their ends (a chunk of at "
             "most %llu words fits)",
             (long long)s->chunk, (unsigned long)UINT32_MAX,
             (unsigned long long)n, (long long)s->length,
             (unsigned long long)(n * per), (unsigned long long)most);
    return FLOW_EPARAM;
}

static void
words_fini(flow_node_t *node, void *state)
{
    struct words *s = state;

    (void)node;
    wordgen_close(&s->gen);
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
    .check = words_check,
};
