/* SPDX-License-Identifier: MIT */
/*
 * palindromes: keep the words that read the same backward, the article's
 * find_palindromes(). Every input message gives exactly one output message,
 * empty when it held no palindrome, with the input's sequence number, so an
 * ordered collector downstream never waits for a chunk that will not come.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/node.h"

static const flow_port_t palindromes_ports[] = {
    FLOW_PORT_IN("in", FLOW_WORDS, "words"),
    FLOW_PORT_OUT("out", FLOW_WORDS,
                  "the palindromes, one message per input message"),
    FLOW_PORT_END
};

/* Return whether the `len` bytes of `word` equal their reverse. */
static bool
is_palindrome(const char *word, size_t len)
{
    for (size_t i = 0, j = len; i + 1 < j; i++, j--) {
        if (word[i] != word[j - 1])
            return false;
    }
    return true;
}

static int
palindromes_process(flow_node_t *node, void *state, const char *port,
                    flow_msg_t **msg_p)
{
    const flow_msg_t *in = *msg_p;

    (void)state;
    (void)port;
    if (flow_msg_type(in) != FLOW_WORDS)
        return flow_node_fail(node, "expected 'words' items, got '%s'",
                              flow_type_name(flow_msg_type(in)));

    size_t count = flow_msg_count(in);
    const uint32_t *ends;
    const char *text = flow_msg_words(in, &ends);
    flow_msg_t *out = flow_msg_new(FLOW_WORDS, count / 64 + 1);
    for (size_t i = 0, start = 0; i < count; start = ends[i++]) {
        const char *word = text + start;
        size_t len = ends[i] - start - 1;
        /* Most words differ at their ends: test those first, inline. */
        if ((len > 1 && word[0] != word[len - 1]) || !is_palindrome(word, len))
            continue;
        int rc = flow_msg_add_word(out, word, len);
        if (rc < 0) {
            flow_msg_destroy(&out);
            return flow_node_fail(node, "cannot add a word: %s",
                                  flow_strerror(rc));
        }
    }
    flow_msg_set_seq(out, flow_msg_seq(in));

    int rc = flow_node_send(node, "out", &out);
    if (rc == 0 || rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(node, "cannot send on 'out': %s", flow_strerror(rc));
}

FLOW_NODE(palindromes) = {
    FLOW_NODE_V1,
    .name = "palindromes",
    .summary = "Keep the words that read the same backward",
    .ports = palindromes_ports,
    .process = palindromes_process,
};
