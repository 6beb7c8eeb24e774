/* SPDX-License-Identifier: MIT */
/*
 * palsearch: makes its own share of the random words and sends only the
 * palindromes among them: a `words` node and a `palindromes` node in one
 * process. The words are those of the `words` node with the same count,
 * length and seed (nodes/wordgen.h), cut into chunks of `chunk` words;
 * instance i of n takes chunks i, i + n, ... and sends, for chunk k, one
 * message (empty if the chunk holds no palindrome) with sequence number k,
 * so `collect order=input` writes the palindromes in word order.
 *
 * This is the shape that keeps the gain of a second process: nothing but
 * the results crosses between processes (graphs/palindromes_search.ini),
 * where graphs/palindromes.ini moves every word, as the article's Pool.map
 * does.
 */
#include <stdint.h>
#include <stdlib.h>

#include "flow/node.h"
#include "wordgen.h"

struct palsearch {
    int64_t count;
    int64_t length;
    int64_t seed;
    int64_t chunk;
    wordgen_t gen;
};

static const flow_param_t palsearch_params[] = {
    FLOW_PARAM_INT("count", struct palsearch, count, "8000", 0,
                   INT64_C(1000000000000),
                   "total number of words, over all instances"),
    FLOW_PARAM_INT("length", struct palsearch, length, "4", 1,
                   WORDGEN_MAX_LENGTH, "letters per word"),
    FLOW_PARAM_INT("seed", struct palsearch, seed, "1", INT64_MIN, INT64_MAX,
                   "random seed; the same seed gives the same words"),
    FLOW_PARAM_INT("chunk", struct palsearch, chunk, "0", 0,
                   INT64_C(1000000000),
                   "words per chunk, the unit of work and of output messages; "
                   "0: about 8 chunks per instance, 4096 to 2^20 words"),
    FLOW_PARAM_END
};

static const flow_port_t palsearch_ports[] = {
    FLOW_PORT_OUT("out", FLOW_WORDS,
                  "the palindromes of each chunk, one message per chunk"),
    FLOW_PORT_END
};

static int
palsearch_init(flow_node_t *node, void *state)
{
    struct palsearch *s = state;

    if (wordgen_open(&s->gen, (uint64_t)s->seed, (size_t)s->length))
        return flow_node_fail(node, "out of memory");
    return 0;
}

/* Add the palindromes among words [first, end) to `out`. */
static int
search(flow_node_t *node, struct palsearch *s, flow_msg_t *out, uint64_t first,
       uint64_t end)
{
    size_t length = (size_t)s->length;

    while (first < end) {
        size_t n =
            end - first < WORDGEN_BLOCK ? (size_t)(end - first) : WORDGEN_BLOCK;
        const char *words = wordgen_words(&s->gen, first, n);
        for (size_t i = 0; i < n; i++) {
            const char *word = words + i * length;
            /* Most words differ at their ends: look there first. */
            if (word[0] != word[length - 1] ||
                !wordgen_is_palindrome(word, length))
                continue;
            int rc = flow_msg_add_word(out, word, length);
            if (rc < 0)
                return flow_node_fail(node, "cannot add a word: %s",
                                      flow_strerror(rc));
        }
        first += n;
    }
    return 0;
}

static int
palsearch_run(flow_node_t *node, void *state)
{
    struct palsearch *s = state;
    uint64_t count = (uint64_t)s->count;
    uint64_t chunk = (uint64_t)s->chunk;
    uint64_t instances = flow_node_instances(node);

    if (instances == 0)
        instances = 1;
    if (chunk == 0) {
        /* Few messages (each wakes the collector, which is not free), yet
         * enough chunks to keep every instance busy to the end. */
        chunk = count / (8 * instances);
        if (chunk < WORDGEN_BLOCK)
            chunk = WORDGEN_BLOCK;
        if (chunk > (UINT64_C(1) << 20))
            chunk = UINT64_C(1) << 20;
    }
    uint64_t chunks = count / chunk + (count % chunk != 0);
    for (uint64_t k = flow_node_instance(node); k < chunks; k += instances) {
        uint64_t first, end;
        wordgen_chunk(k, chunk, count, &first, &end);
        flow_msg_t *out = flow_msg_new(FLOW_WORDS, 16);
        int rc = search(node, s, out, first, end);

        if (rc < 0) {
            flow_msg_destroy(&out);
            return rc;
        }
        flow_msg_set_seq(out, k);
        rc = flow_node_send(node, "out", &out);
        if (rc == FLOW_EINTR)
            return rc;
        if (rc < 0)
            return flow_node_fail(node, "cannot send on 'out': %s",
                                  flow_strerror(rc));
    }
    return 0;
}

static void
palsearch_fini(flow_node_t *node, void *state)
{
    struct palsearch *s = state;

    (void)node;
    wordgen_close(&s->gen);
}

FLOW_NODE(palsearch) = {
    FLOW_NODE_V1,
    .name = "palsearch",
    .summary = "Make random words and send the palindromes among them",
    .state_size = sizeof(struct palsearch),
    .params = palsearch_params,
    .ports = palsearch_ports,
    .init = palsearch_init,
    .run = palsearch_run,
    .fini = palsearch_fini,
};
