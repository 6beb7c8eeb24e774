/* SPDX-License-Identifier: MIT */
/*
 * ints: read each word as an integer, as Python's map(int, lines) does,
 * with two differences: a blank word (an empty line) is no item, not an
 * error, and a word is read as an integer parameter is (flow_parse_int:
 * decimal, and "1e9" or "2.5e6", whose values are whole; not "1_000").
 * Spaces, tabs and carriage returns around a word are dropped (a file
 * written on Windows ends its lines with one). So the lines of a file or
 * of standard input (the `lines` source) become int64 items that
 * `collect mode=sum`, or a node of one's own, can take. Every input message
 * gives exactly one output message, with the input's sequence number, so
 * an ordered collector downstream never waits for a chunk that will not
 * come.
 *
 * A word that is not an integer fails the node, naming the message (its
 * sequence number, counted from 0: with the `lines` source, `chunk` lines
 * a message, but fewer when a pipe pauses) and the item (counted from 1 in
 * it), and quoting the word; with invalid = skip it is dropped, and at the
 * end the node says how many were, quoting the first. With several
 * instances, each fails or counts for itself: the first bad word any of
 * them meets, not always the first of the input.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "flow/node.h"

/* Values of the `invalid` choice, in table order. */
enum { INTS_FAIL = 0, INTS_SKIP = 1 };

/* The most bytes of a bad word quoted in a message. */
#define INTS_QUOTE 40

struct ints {
    int invalid;
    uint64_t skipped;               /* words that were not integers */
    char first[4 * INTS_QUOTE + 8]; /* the first of them, quoted */
    uint64_t first_seq;             /* its message's sequence number */
    size_t first_item;              /* and its place there, from 1 */
};

static const flow_param_t ints_params[] = {
    FLOW_PARAM_CHOICE("invalid", struct ints, invalid, "fail", "fail|skip",
                      "a word that is not an integer fails the node, or is "
                      "dropped (counted, and said at the end)"),
    FLOW_PARAM_END
};

static const flow_port_t ints_ports[] = {
    FLOW_PORT_IN("in", FLOW_WORDS, "words, one integer each"),
    FLOW_PORT_OUT("out", FLOW_INT64,
                  "their values, one message per input message"),
    FLOW_PORT_END
};

/* Whether `c` is dropped around a word. */
static bool
blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Quote the `len` bytes at `word` into `buf` (`size` bytes): at most
 * INTS_QUOTE of them, bytes that are not printable ASCII as \xHH, '...'
 * after a cut. */
static void
quote(char *buf, size_t size, const char *word, size_t len)
{
    size_t at = 0;

    buf[at++] = '\'';
    for (size_t i = 0; i < len && i < INTS_QUOTE && at + 5 < size; i++) {
        unsigned char c = (unsigned char)word[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[at++] = (char)c;
        else
            at += (size_t)snprintf(buf + at, size - at, "\\x%02x", c);
    }
    buf[at++] = '\'';
    buf[at] = '\0';
    if (len > INTS_QUOTE && at + 4 < size)
        memcpy(buf + at, "...", 4);
}

static int
ints_process(flow_node_t *node, void *state, const char *port,
             flow_msg_t **msg_p)
{
    struct ints *s = state;
    const flow_msg_t *in = *msg_p;
    size_t count = flow_msg_count(in);
    const uint32_t *ends;
    const char *text = flow_msg_words(in, &ends);
    flow_msg_t *out = flow_msg_new(FLOW_INT64, count);
    int rc;

    (void)port;
    if (flow_msg_type(in) != FLOW_WORDS) {
        flow_msg_destroy(&out);
        return flow_node_fail(node, "expected 'words' items, got '%s'",
                              flow_type_name(flow_msg_type(in)));
    }
    for (size_t i = 0, start = 0; i < count; start = ends[i++]) {
        const char *word = text + start;
        size_t len = ends[i] - start - 1;
        int64_t v;
        while (len > 0 && blank(word[0]))
            word++, len--;
        while (len > 0 && blank(word[len - 1]))
            len--;
        if (len == 0)
            continue;
        rc = flow_parse_int(word, len, &v);
        if (rc == 0 && (rc = flow_msg_add_i64(out, v)) < 0) {
            flow_msg_destroy(&out);
            return flow_node_fail(node, "cannot add an item: %s",
                                  flow_strerror(rc));
        }
        if (rc == 0)
            continue;
        if (s->invalid == INTS_SKIP) {
            if (s->skipped++ == 0) {
                quote(s->first, sizeof(s->first), word, len);
                s->first_seq = flow_msg_seq(in);
                s->first_item = i + 1;
            }
            continue;
        }
        char q[sizeof(s->first)];
        quote(q, sizeof(q), word, len);
        flow_msg_destroy(&out);
        return flow_node_fail(node,
                              "message %" PRIu64 ", item %zu: %s %s (invalid "
                              "= skip drops such words)",
                              flow_msg_seq(in), i + 1, q,
                              rc == -ERANGE ? "is beyond int64"
                                            : "is not an integer");
    }
    flow_msg_set_seq(out, flow_msg_seq(in));
    rc = flow_node_send(node, "out", &out);
    if (rc == 0 || rc == FLOW_EINTR)
        return rc;
    return flow_node_fail(node, "cannot send on 'out': %s", flow_strerror(rc));
}

static int
ints_finish(flow_node_t *node, void *state)
{
    const struct ints *s = state;

    if (s->skipped)
        flow_node_log(node, FLOW_LOG_WARN,
                      "skipped %" PRIu64 " %s (the first: message %" PRIu64
                      ", item %zu: %s)",
                      s->skipped,
                      s->skipped == 1 ? "word that was not an integer"
                                      : "words that were not integers",
                      s->first_seq, s->first_item, s->first);
    return 0;
}

FLOW_NODE(ints) = {
    FLOW_NODE_V1,
    .name = "ints",
    .summary = "Read each word as an integer (as map(int, lines); blank "
               "lines skipped, 1e9 read)",
    .state_size = sizeof(struct ints),
    .params = ints_params,
    .ports = ints_ports,
    .process = ints_process,
    .finish = ints_finish,
};
