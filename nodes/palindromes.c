/* SPDX-License-Identifier: MIT */
/*
 * palindromes: keep the words that read the same backward, the article's
 * find_palindromes(). A word is read by characters, as Python's
 * `w == w[::-1]` reads a str: a UTF-8 sequence (2 to 4 bytes) is one
 * character, so "été" and "日本日" are palindromes; a byte that is not part
 * of a valid UTF-8 sequence is one character of its own (as Python's
 * errors="surrogateescape" reads it). Every input message gives exactly one
 * output message, empty when it held no palindrome, with the input's sequence
 * number, so an ordered collector downstream never waits for a chunk that will
 * not come.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "flow/node.h"

static const flow_port_t palindromes_ports[] = {
    FLOW_PORT_IN("in", FLOW_WORDS, "words"),
    FLOW_PORT_OUT("out", FLOW_WORDS,
                  "the palindromes, one message per input message"),
    FLOW_PORT_END
};

/*
 * The length of the character at `p` (`n` bytes left, n >= 1): that of a
 * valid UTF-8 sequence (no overlong form, no surrogate, at most U+10FFFF),
 * or 1 for ASCII and for a byte that starts no valid sequence.
 */
static size_t
char_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t len;

    if (c < 0xC2 || c > 0xF4)
        return 1;
    if (c <= 0xDF) {
        len = 2;
    } else if (c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else {
        len = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 1;
    for (size_t k = 2; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 1;
    }
    return len;
}

/*
 * The length of the character that ends at `w + j`, `i` < `j` being the
 * start of a character: the one valid sequence that ends there, else 1.
 */
static size_t
char_len_back(const unsigned char *w, size_t i, size_t j)
{
    size_t k = j - 1;

    while (k > i && j - k < 4 && (w[k] & 0xC0) == 0x80)
        k--;
    if ((w[k] & 0xC0) != 0x80 && char_len(w + k, j - k) == j - k)
        return j - k;
    return 1;
}

/* Return whether the characters of `word` read the same backward. */
static bool
is_palindrome(const char *word, size_t len)
{
    const unsigned char *w = (const unsigned char *)word;
    size_t i = 0, j = len;

    /* ASCII, one byte a character, until a byte that may start or end a
     * longer one. */
    for (; i + 1 < j; i++, j--) {
        if ((w[i] | w[j - 1]) & 0x80)
            break;
        if (w[i] != w[j - 1])
            return false;
    }
    while (i < j) {
        size_t a = char_len(w + i, j - i);
        if (i + a == j)
            return true; /* the middle character */
        size_t b = char_len_back(w, i, j);
        if (a != b || memcmp(w + i, w + j - b, a) != 0)
            return false;
        i += a;
        j -= b;
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
        /* Most words differ at their ends: test those first, inline (two
         * different bytes of which one is ASCII end different characters). */
        unsigned char first = (unsigned char)word[0];
        unsigned char last = (unsigned char)word[len ? len - 1 : 0];
        if ((len > 1 && first != last && !(first & last & 0x80)) ||
            !is_palindrome(word, len))
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
