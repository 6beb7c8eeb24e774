/* SPDX-License-Identifier: MIT */
/*
 * test_msg.c: the message API and the wire codec (msg.c). Frames are
 * checked byte for byte against frames built here from the documented
 * layout; malformed frames, given in buffers of their exact size so that
 * AddressSanitizer sees any read past the end, must fail with FLOW_EPROTO.
 */
#include <malloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#define FLOW_NODE_STATIC /* for the fixture bytesrc, included below */
#include "internal.h"
#include "testutil.h"

#ifndef FLOW_FIXTURE_PLUGIN_DIR
#error "FLOW_FIXTURE_PLUGIN_DIR must name the fixture plugin directory"
#endif

/* ---- Helpers ------------------------------------------------------------ */

/* A frame built from the documented layout, in a buffer of exact size. */
typedef struct frame {
    unsigned char *data;
    size_t len;
} frame_t;

static void
put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void
put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static frame_t
build(int kind, int type, uint32_t src, uint32_t count, uint64_t seq,
      const void *payload, size_t plen)
{
    frame_t f;

    f.len = FLOW_WIRE_HDR + plen;
    f.data = malloc(f.len);
    assert_non_null(f.data);
    put32(f.data, 0x31574c46u); /* "FLW1" */
    f.data[4] = (unsigned char)kind;
    f.data[5] = (unsigned char)type;
    f.data[6] = 0;
    f.data[7] = 0;
    put32(f.data + 8, src);
    put32(f.data + 12, count);
    put64(f.data + 16, seq);
    if (plen)
        memcpy(f.data + FLOW_WIRE_HDR, payload, plen);
    return f;
}

/* The words payload: each word's end offset (uint32), then the words, each
 * NUL-terminated. Built without the codec. */
static frame_t
build_words(uint32_t src, uint64_t seq, const char *const *words, size_t n)
{
    size_t dlen = 0, olen = n * 4;
    unsigned char *payload;
    frame_t f;

    for (size_t i = 0; i < n; i++)
        dlen += strlen(words[i]) + 1;
    payload = malloc(olen + dlen + 1);
    assert_non_null(payload);
    dlen = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(words[i]);
        memcpy(payload + olen + dlen, words[i], len + 1);
        dlen += len + 1;
        put32(payload + i * 4, (uint32_t)dlen);
    }
    f = build(FLOW_FRAME_DATA, FLOW_WORDS, src, (uint32_t)n, seq, payload,
              olen + dlen);
    free(payload);
    return f;
}

/* Encode `*msg_p` (taken) and return the frame, copied to an exact-size
 * buffer. */
static frame_t
encode(flow_msg_t **msg_p, uint32_t src)
{
    void *raw;
    size_t len;
    frame_t f;

    flow__msg_encode(msg_p, src, &raw, &len);
    assert_null(*msg_p);
    f.len = len;
    f.data = malloc(len ? len : 1);
    assert_non_null(f.data);
    memcpy(f.data, raw, len);
    free(raw);
    return f;
}

static void
assert_frame_equal(const frame_t *got, const frame_t *want)
{
    assert_int_equal(got->len, want->len);
    for (size_t i = 0; i < want->len; i++)
        if (got->data[i] != want->data[i])
            fail_msg("frames differ at byte %zu of %zu: 0x%02x, expected "
                     "0x%02x",
                     i, want->len, got->data[i], want->data[i]);
}

static int
decode(const frame_t *f, flow_msg_t **msg_p, flow_frame_info_t *info, char *why,
       size_t whylen)
{
    return flow__msg_decode(f->data, f->len, msg_p, info, why, whylen);
}

/* Decode a frame that must be malformed. */
static void
assert_bad(const frame_t *f, const char *what)
{
    flow_msg_t *msg = (flow_msg_t *)(uintptr_t)1;
    flow_frame_info_t info;
    char why[128] = "";
    int rc = decode(f, &msg, &info, why, sizeof(why));

    if (rc != FLOW_EPROTO)
        fail_msg("%s: decoded with %s", what, flow_err_name(rc));
    assert_null(msg);
    if (!why[0])
        fail_msg("%s: no reason given", what);
}

static void
frame_free(frame_t *f)
{
    free(f->data);
    f->data = NULL;
}


/* ---- Message API -------------------------------------------------------- */


static void
test_msg_new_and_types(void **state)
{
    flow_msg_t *m;

    (void)state;
    assert_null(flow_msg_new(FLOW_ANY, 4));
    assert_null(flow_msg_new((flow_type_t)4, 4));
    assert_null(flow_msg_new((flow_type_t)-1, 4));
    m = flow_msg_new(FLOW_INT64, 4);
    assert_non_null(m);
    assert_int_equal(flow_msg_type(m), FLOW_INT64);
    assert_int_equal(flow_msg_count(m), 0);
    assert_true(flow_msg_seq(m) == FLOW_SEQ_NONE);
    flow_msg_set_seq(m, 42);
    assert_true(flow_msg_seq(m) == 42);
    flow_msg_set_seq(m, 0);
    assert_true(flow_msg_seq(m) == 0);
    flow_msg_destroy(&m);
    assert_null(m);
    flow_msg_destroy(&m);
    flow_msg_destroy(NULL);
    assert_string_equal(flow_type_name(FLOW_ANY), "any");
    assert_string_equal(flow_type_name(FLOW_INT64), "int64");
    assert_string_equal(flow_type_name(FLOW_WORDS), "words");
    assert_string_equal(flow_type_name(FLOW_BYTES), "bytes");
    /* A huge capacity hint is only a hint. */
    m = flow_msg_new(FLOW_BYTES, SIZE_MAX / 2);
    assert_non_null(m);
    flow_msg_destroy(&m);
}

static void
test_msg_int64(void **state)
{
    static const int64_t more[] = { INT64_MIN, -1, 0, INT64_MAX };
    flow_msg_t *m = flow_msg_new(FLOW_INT64, 1);
    int64_t *v;

    (void)state;
    for (int64_t i = 0; i < 1000; i++)
        assert_int_equal(flow_msg_add_i64(m, i * 3 - 7), 0);
    assert_int_equal(flow_msg_add_i64s(m, more, 4), 0);
    assert_int_equal(flow_msg_add_i64s(m, more, 0), 0);
    assert_int_equal(flow_msg_count(m), 1004);
    v = flow_msg_i64(m);
    assert_non_null(v);
    for (int64_t i = 0; i < 1000; i++)
        assert_true(v[i] == i * 3 - 7);
    assert_true(v[1000] == INT64_MIN);
    assert_true(v[1003] == INT64_MAX);
    /* Modifiable in place. */
    v[5] = 99;
    assert_true(flow_msg_i64(m)[5] == 99);
    /* Wrong types change nothing. */
    assert_int_equal(flow_msg_add_word(m, "a", 1), FLOW_EPROTO);
    assert_int_equal(flow_msg_add_bytes(m, "a", 1), FLOW_EPROTO);
    assert_null(flow_msg_word(m, 0, NULL));
    assert_null(flow_msg_bytes(m, NULL));
    assert_int_equal(flow_msg_count(m), 1004);
    flow_msg_destroy(&m);
}

static void
test_msg_words(void **state)
{
    flow_msg_t *m = flow_msg_new(FLOW_WORDS, 0);
    const char *w;
    size_t len = 99;

    (void)state;
    assert_int_equal(flow_msg_add_word(m, "hello", 5), 0);
    assert_int_equal(flow_msg_add_word(m, "", 0), 0);
    assert_int_equal(flow_msg_add_word(m, "abcdef", 3), 0); /* a prefix */
    /* A word holding a NUL byte is refused and changes nothing. */
    assert_int_equal(flow_msg_add_word(m, "ab\0cd", 5), FLOW_EPARAM);
    assert_int_equal(flow_msg_add_word(m, "\0", 1), FLOW_EPARAM);
    assert_int_equal(flow_msg_count(m), 3);
    /* An empty word may be NULL (UBSan: no memcpy from NULL). */
    {
        flow_msg_t *e = flow_msg_new(FLOW_WORDS, 0);
        assert_int_equal(flow_msg_add_word(e, NULL, 0), 0);
        assert_int_equal(flow_msg_count(e), 1);
        assert_string_equal(flow_msg_word(e, 0, &len), "");
        assert_int_equal(len, 0);
        flow_msg_destroy(&e);
    }
    w = flow_msg_word(m, 0, &len);
    assert_string_equal(w, "hello");
    assert_int_equal(len, 5);
    w = flow_msg_word(m, 1, &len);
    assert_string_equal(w, "");
    assert_int_equal(len, 0);
    w = flow_msg_word(m, 2, &len);
    assert_string_equal(w, "abc");
    assert_int_equal(len, 3);
    assert_non_null(flow_msg_word(m, 2, NULL));
    assert_null(flow_msg_word(m, 3, &len));
    assert_null(flow_msg_word(m, SIZE_MAX, &len));
    /* Wrong types. */
    assert_int_equal(flow_msg_add_i64(m, 1), FLOW_EPROTO);
    assert_int_equal(flow_msg_add_i64s(m, (const int64_t[]){ 1 }, 1),
                     FLOW_EPROTO);
    assert_int_equal(flow_msg_add_bytes(m, "x", 1), FLOW_EPROTO);
    assert_null(flow_msg_i64(m));
    assert_null(flow_msg_bytes(m, &len));
    assert_int_equal(flow_msg_count(m), 3);
    /* Many words, growing both the text and the offsets. */
    for (int i = 0; i < 5000; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "w%d", i);
        assert_int_equal(flow_msg_add_word(m, buf, (size_t)n), 0);
    }
    assert_int_equal(flow_msg_count(m), 5003);
    assert_string_equal(flow_msg_word(m, 3 + 4321, NULL), "w4321");
    assert_string_equal(flow_msg_word(m, 0, NULL), "hello");
    flow_msg_destroy(&m);
}

/* Check that `m` holds exactly the `n` words of `want` (via both readers). */
static void
assert_words(const flow_msg_t *m, char *const *want, size_t n)
{
    const uint32_t *ends;
    const char *text = flow_msg_words(m, &ends);

    assert_int_equal(flow_msg_count(m), n);
    assert_non_null(text);
    for (size_t i = 0, start = 0; i < n; start = ends[i++]) {
        size_t len = 99;
        assert_string_equal(flow_msg_word(m, i, &len), want[i]);
        assert_int_equal(len, strlen(want[i]));
        assert_string_equal(text + start, want[i]);
        assert_int_equal(ends[i] - start - 1, strlen(want[i]));
    }
}

/* flow_msg_add_words_fixed, flow_msg_add_words_of and flow_msg_words
 * against words added one by one: same words, same frame. */
static void
test_msg_words_bulk(void **state)
{
    enum { MAXW = 700 };
    char *want[MAXW + 1];
    char letters[MAXW * 12 + 1];
    uint64_t seed = 7;
    const uint32_t *ends;

    (void)state;
    for (size_t len = 0; len <= 12; len++) {
        static const size_t counts[] = { 0, 1, 7, 300 };
        for (size_t c = 0; c < 4; c++) {
            size_t n = counts[c];
            flow_msg_t *bulk = flow_msg_new(FLOW_WORDS, 0);
            flow_msg_t *one = flow_msg_new(FLOW_WORDS, 0);
            frame_t a, b;
            for (size_t i = 0; i < n * len; i++)
                letters[i] = (char)('a' + tu_splitmix64(&seed) % 26);
            /* A word before them: the offsets must start past it. */
            want[0] = strdup("pre");
            assert_int_equal(flow_msg_add_word(bulk, "pre", 3), 0);
            assert_int_equal(flow_msg_add_word(one, "pre", 3), 0);
            for (size_t i = 0; i < n; i++) {
                want[i + 1] = strndup(letters + i * len, len);
                assert_int_equal(flow_msg_add_word(one, want[i + 1], len), 0);
            }
            assert_int_equal(
                flow_msg_add_words_fixed(bulk, len ? letters : NULL, n, len),
                0);
            assert_words(bulk, want, n + 1);
            a = encode(&bulk, 3);
            b = encode(&one, 3);
            assert_frame_equal(&a, &b);
            frame_free(&a);
            frame_free(&b);
            for (size_t i = 0; i <= n; i++)
                free(want[i]);
        }
    }

    /* Refused: a NUL among the letters (nothing appended), other types. */
    {
        flow_msg_t *m = flow_msg_new(FLOW_WORDS, 0);
        flow_msg_t *i64 = flow_msg_new(FLOW_INT64, 0);
        assert_int_equal(flow_msg_add_words_fixed(m, "abcd\0fgh", 3, 3),
                         FLOW_EPARAM);
        assert_int_equal(flow_msg_count(m), 0);
        assert_int_equal(flow_msg_add_words_fixed(i64, "abc", 1, 3),
                         FLOW_EPROTO);
        assert_int_equal(flow_msg_add_words_fixed(m, "abc", SIZE_MAX, 3),
                         FLOW_EPROTO);
        /* Words and their NULs one byte past UINT32_MAX: 2 words of 2^31 - 1
         * letters, 1 of 2^32 - 1. Refused before the letters are read (a
         * NUL right after the "x" would say FLOW_EPARAM). */
        assert_int_equal(flow_msg_add_words_fixed(m, "x", 2, (size_t)INT32_MAX),
                         FLOW_EPROTO);
        assert_int_equal(
            flow_msg_add_words_fixed(m, "x", 1, (size_t)UINT32_MAX),
            FLOW_EPROTO);
        assert_int_equal(flow_msg_count(m), 0);
        assert_null(flow_msg_words(i64, &ends));
        assert_null(ends);
        assert_non_null(flow_msg_words(m, &ends)); /* no words: "" */
        assert_null(ends);
        {
            flow_msg_t *roomy = flow_msg_new(FLOW_WORDS, 64);
            assert_non_null(flow_msg_words(roomy, &ends));
            assert_null(ends); /* as documented, with room or not */
            flow_msg_destroy(&roomy);
        }
        assert_int_equal(flow_msg_add_words_of(m, i64, 0, 0), FLOW_EPROTO);
        assert_int_equal(flow_msg_add_words_of(m, m, 0, 0), FLOW_EPROTO);
        flow_msg_destroy(&m);
        flow_msg_destroy(&i64);
    }

    /* Words of several lengths, empty ones too, copied range by range from
     * a message of our own and from one decoded off the wire. */
    for (int wire = 0; wire < 2; wire++) {
        flow_msg_t *src = flow_msg_new(FLOW_WORDS, 0), *dst;
        char *all[MAXW], *got[MAXW + 1];
        size_t ngot = 0;
        for (size_t i = 0; i < MAXW; i++) {
            size_t len = tu_splitmix64(&seed) % 10;
            all[i] = malloc(len + 1);
            for (size_t j = 0; j < len; j++)
                all[i][j] = (char)('a' + tu_splitmix64(&seed) % 26);
            all[i][len] = '\0';
            assert_int_equal(flow_msg_add_word(src, all[i], len), 0);
        }
        if (wire) {
            frame_t f = encode(&src, 1);
            flow_frame_info_t info;
            char why[128];
            assert_int_equal(decode(&f, &src, &info, why, sizeof(why)), 0);
            frame_free(&f);
        }
        dst = flow_msg_new(FLOW_WORDS, 0);
        assert_int_equal(flow_msg_add_words_of(dst, src, MAXW + 1, 0),
                         FLOW_EPARAM);
        assert_int_equal(flow_msg_add_word(dst, "first", 5), 0);
        got[ngot++] = "first";
        assert_int_equal(flow_msg_add_words_of(dst, src, 10, MAXW),
                         FLOW_EPARAM);
        /* one word past the end, at either end of the range */
        assert_int_equal(flow_msg_add_words_of(dst, src, 10, MAXW - 9),
                         FLOW_EPARAM);
        assert_int_equal(flow_msg_add_words_of(dst, src, MAXW, 1), FLOW_EPARAM);
        assert_int_equal(flow_msg_add_words_of(dst, src, MAXW, 0), 0);
        assert_int_equal(flow_msg_count(dst), 1);
        for (size_t at = 0; at < MAXW;) {
            size_t n = tu_splitmix64(&seed) % 50;
            if (n > MAXW - at)
                n = MAXW - at;
            assert_int_equal(flow_msg_add_words_of(dst, src, at, n), 0);
            for (size_t i = 0; i < n; i++)
                got[ngot++] = all[at + i];
            at += n;
        }
        assert_int_equal(flow_msg_add_words_of(dst, src, MAXW, 0), 0);
        assert_words(dst, got, ngot);
        flow_msg_destroy(&dst);
        flow_msg_destroy(&src);
        for (size_t i = 0; i < MAXW; i++)
            free(all[i]);
    }
}

static void
test_msg_bytes(void **state)
{
    static const unsigned char data[] = { 0, 1, 2, 0, 255, 'a' };
    flow_msg_t *m = flow_msg_new(FLOW_BYTES, 2);
    const unsigned char *b;
    size_t len = 0;

    (void)state;
    assert_int_equal(flow_msg_add_bytes(m, data, sizeof(data)), 0);
    assert_int_equal(flow_msg_add_bytes(m, data, 0), 0);
    assert_int_equal(flow_msg_add_bytes(m, data + 1, 2), 0);
    assert_int_equal(flow_msg_count(m), 8); /* bytes */
    b = flow_msg_bytes(m, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(b, data, sizeof(data));
    assert_int_equal(b[6], 1);
    assert_int_equal(b[7], 2);
    assert_int_equal(flow_msg_add_i64(m, 1), FLOW_EPROTO);
    assert_int_equal(flow_msg_add_word(m, "a", 1), FLOW_EPROTO);
    assert_null(flow_msg_i64(m));
    assert_null(flow_msg_word(m, 0, NULL));
    assert_int_equal(flow_msg_count(m), 8);
    flow_msg_destroy(&m);
}

static void
test_msg_clear(void **state)
{
    flow_msg_t *m = flow_msg_new(FLOW_WORDS, 4);
    flow_msg_t *n = flow_msg_new(FLOW_INT64, 4);
    flow_msg_t *b = flow_msg_new(FLOW_BYTES, 4);
    size_t len;

    (void)state;
    flow_msg_set_seq(m, 7);
    assert_int_equal(flow_msg_add_word(m, "one", 3), 0);
    assert_int_equal(flow_msg_add_word(m, "two", 3), 0);
    flow_msg_clear(m);
    assert_int_equal(flow_msg_count(m), 0);
    assert_int_equal(flow_msg_type(m), FLOW_WORDS);
    assert_null(flow_msg_word(m, 0, NULL));
    assert_int_equal(flow_msg_add_word(m, "three", 5), 0);
    assert_int_equal(flow_msg_count(m), 1);
    assert_string_equal(flow_msg_word(m, 0, &len), "three");
    assert_int_equal(len, 5);

    assert_int_equal(flow_msg_add_i64(n, 5), 0);
    flow_msg_clear(n);
    assert_int_equal(flow_msg_count(n), 0);
    assert_int_equal(flow_msg_add_i64(n, 6), 0);
    assert_true(flow_msg_i64(n)[0] == 6);
    assert_int_equal(flow_msg_count(n), 1);

    assert_int_equal(flow_msg_add_bytes(b, "abc", 3), 0);
    flow_msg_clear(b);
    flow_msg_bytes(b, &len);
    assert_int_equal(len, 0);
    assert_int_equal(flow_msg_add_bytes(b, "z", 1), 0);
    assert_memory_equal(flow_msg_bytes(b, &len), "z", 1);
    assert_int_equal(len, 1);

    /* A cleared message encodes as the new content only. */
    {
        static const char *const w[] = { "three" };
        frame_t got = encode(&m, 1);
        frame_t want = build_words(1, 7, w, 1);
        assert_frame_equal(&got, &want);
        frame_free(&got);
        frame_free(&want);
    }
    flow_msg_destroy(&n);
    flow_msg_destroy(&b);
}

/* ---- Codec -------------------------------------------------------------- */

static void
test_msg_encode_layout(void **state)
{
    static const int64_t vals[] = { 1, -2, INT64_MAX };
    static const char *const words[] = { "ab", "", "c" };
    flow_msg_t *m;
    frame_t got, want;

    (void)state;
    m = flow_msg_new(FLOW_INT64, 3);
    flow_msg_add_i64s(m, vals, 3);
    flow_msg_set_seq(m, 0x0102030405060708u);
    got = encode(&m, 9);
    want = build(FLOW_FRAME_DATA, FLOW_INT64, 9, 3, 0x0102030405060708u, vals,
                 sizeof(vals));
    assert_frame_equal(&got, &want);
    frame_free(&got);
    frame_free(&want);

    m = flow_msg_new(FLOW_WORDS, 3);
    for (size_t i = 0; i < 3; i++)
        flow_msg_add_word(m, words[i], strlen(words[i]));
    got = encode(&m, 0);
    want = build_words(0, FLOW_SEQ_NONE, words, 3);
    /* Spelled out: offsets 3, 4, 6 then "ab\0\0c\0". */
    assert_int_equal(want.len, FLOW_WIRE_HDR + 12 + 6);
    assert_memory_equal(want.data + FLOW_WIRE_HDR,
                        "\3\0\0\0\4\0\0\0\6\0\0\0ab\0\0c\0", 18);
    assert_frame_equal(&got, &want);
    frame_free(&got);
    frame_free(&want);

    m = flow_msg_new(FLOW_BYTES, 3);
    flow_msg_add_bytes(m, "\0x\0", 3);
    flow_msg_set_seq(m, 5);
    got = encode(&m, UINT32_MAX);
    want = build(FLOW_FRAME_DATA, FLOW_BYTES, UINT32_MAX, 3, 5, "\0x\0", 3);
    assert_frame_equal(&got, &want);
    frame_free(&got);
    frame_free(&want);
}

/* Decode `f` (a data frame) and check it against the expected content. */
static flow_msg_t *
decode_ok(const frame_t *f, flow_type_t type, uint32_t src, uint64_t seq,
          size_t count)
{
    flow_msg_t *msg = NULL;
    flow_frame_info_t info;
    char why[128] = "";
    int rc = decode(f, &msg, &info, why, sizeof(why));

    if (rc)
        fail_msg("decode: %s: %s", flow_err_name(rc), why);
    assert_non_null(msg);
    assert_int_equal(info.kind, FLOW_FRAME_DATA);
    assert_int_equal(info.src, src);
    assert_int_equal(flow_msg_type(msg), type);
    assert_true(flow_msg_seq(msg) == seq);
    assert_int_equal(flow_msg_count(msg), count);
    return msg;
}

static void
roundtrip_i64(size_t n, uint64_t seed, size_t cap)
{
    int64_t *want = malloc((n ? n : 1) * sizeof(*want));
    flow_msg_t *m = flow_msg_new(FLOW_INT64, cap);
    frame_t f, again;
    uint64_t s = seed;
    int64_t *got;

    assert_non_null(want);
    for (size_t i = 0; i < n; i++) {
        want[i] = (int64_t)tu_splitmix64(&s);
        assert_int_equal(flow_msg_add_i64(m, want[i]), 0);
    }
    flow_msg_set_seq(m, n);
    f = encode(&m, 3);
    m = decode_ok(&f, FLOW_INT64, 3, n, n);
    if (n == 0) {
        /* Re-encoding a decoded empty message: see
         * test_msg_roundtrip_empty_no_capacity. */
        flow_msg_destroy(&m);
        frame_free(&f);
        free(want);
        return;
    }
    got = flow_msg_i64(m);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("item %zu of %zu differs", i, n);
    /* The decoded message encodes back to the same frame. */
    again = encode(&m, 3);
    assert_frame_equal(&again, &f);
    frame_free(&again);
    frame_free(&f);
    free(want);
}

static void
roundtrip_bytes(size_t n, uint64_t seed, size_t cap)
{
    unsigned char *want = malloc(n ? n : 1);
    flow_msg_t *m = flow_msg_new(FLOW_BYTES, cap);
    const unsigned char *got;
    frame_t f, again;
    uint64_t s = seed;
    size_t len;

    assert_non_null(want);
    for (size_t i = 0; i < n; i++)
        want[i] = (unsigned char)tu_splitmix64(&s);
    /* Added in pieces of varying sizes. */
    for (size_t i = 0; i < n;) {
        size_t k = 1 + tu_splitmix64(&s) % 300;
        if (k > n - i)
            k = n - i;
        assert_int_equal(flow_msg_add_bytes(m, want + i, k), 0);
        i += k;
    }
    f = encode(&m, 4);
    m = decode_ok(&f, FLOW_BYTES, 4, FLOW_SEQ_NONE, n);
    if (n == 0) {
        /* As in roundtrip_i64. */
        flow_msg_destroy(&m);
        frame_free(&f);
        free(want);
        return;
    }
    got = flow_msg_bytes(m, &len);
    assert_int_equal(len, n);
    if (n)
        assert_memory_equal(got, want, n);
    again = encode(&m, 4);
    assert_frame_equal(&again, &f);
    frame_free(&again);
    frame_free(&f);
    free(want);
}

static void
roundtrip_words(size_t n, uint64_t seed, size_t cap)
{
    char **want = malloc((n ? n : 1) * sizeof(*want));
    flow_msg_t *m = flow_msg_new(FLOW_WORDS, cap);
    frame_t f, again, built;
    uint64_t s = seed;

    assert_non_null(want);
    for (size_t i = 0; i < n; i++) {
        size_t len = tu_splitmix64(&s) % 12; /* empty words too */
        want[i] = malloc(len + 1);
        for (size_t k = 0; k < len; k++)
            want[i][k] =
                (char)(1 + tu_splitmix64(&s) % 255); /* any byte but NUL */
        want[i][len] = '\0';
        assert_int_equal(flow_msg_add_word(m, want[i], len), 0);
    }
    flow_msg_set_seq(m, 77);
    f = encode(&m, 5);
    built = build_words(5, 77, (const char *const *)want, n);
    assert_frame_equal(&f, &built);
    m = decode_ok(&f, FLOW_WORDS, 5, 77, n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *w = flow_msg_word(m, i, &len);
        assert_non_null(w);
        if (len != strlen(want[i]) || strcmp(w, want[i]))
            fail_msg("word %zu of %zu differs", i, n);
    }
    assert_null(flow_msg_word(m, n, NULL));
    /* A decoded message can still grow. */
    assert_int_equal(flow_msg_add_word(m, "more", 4), 0);
    assert_string_equal(flow_msg_word(m, n, NULL), "more");
    flow_msg_destroy(&m);
    m = decode_ok(&f, FLOW_WORDS, 5, 77, n);
    again = encode(&m, 5);
    assert_frame_equal(&again, &f);
    frame_free(&again);
    frame_free(&f);
    frame_free(&built);
    for (size_t i = 0; i < n; i++)
        free(want[i]);
    free(want);
}

/* A words frame of 300 empty words, 300 NULs in a row: its NULs are
 * counted in blocks whose byte-wide count must not wrap. */
static void
test_msg_many_empty_words(void **state)
{
    flow_msg_t *m = flow_msg_new(FLOW_WORDS, 0);
    frame_t f;

    (void)state;
    for (int i = 0; i < 300; i++)
        assert_int_equal(flow_msg_add_word(m, "", 0), 0);
    flow_msg_set_seq(m, 9);
    f = encode(&m, 1);
    m = decode_ok(&f, FLOW_WORDS, 1, 9, 300);
    assert_int_equal(flow_msg_count(m), 300);
    flow_msg_destroy(&m);
    frame_free(&f);
}

static void
test_msg_roundtrip_small(void **state)
{
    (void)state;
    for (size_t n = 1; n < 40; n++) {
        roundtrip_i64(n, n, n % 3);
        roundtrip_bytes(n, n, n % 3);
        roundtrip_words(n, n, n % 3);
    }
}

static void
test_msg_roundtrip_big(void **state)
{
    (void)state;
    roundtrip_i64(100000, 11, 16);
    roundtrip_i64(100000, 12, 100000);
    roundtrip_bytes(100000, 13, 1);
    roundtrip_words(100000, 14, 1);
    roundtrip_words(100000, 15, 100000);
}

/* ---- Through ZeroMQ messages (the path between processes) --------------- */

/* The frame `zm` holds, as a frame_t of its own (a copy). */
static frame_t
frame_of_zmq(zmq_msg_t *zm)
{
    frame_t f;

    f.len = zmq_msg_size(zm);
    f.data = malloc(f.len ? f.len : 1);
    assert_non_null(f.data);
    memcpy(f.data, zmq_msg_data(zm), f.len);
    return f;
}

/* ZeroMQ's free function for a frame `shift` (the hint) bytes into a
 * malloc'ed block: scribble over it first, so a message still reading it
 * would see garbage (and AddressSanitizer a use after free). */
static void
free_shifted(void *data, void *hint)
{
    size_t shift = (size_t)(uintptr_t)hint;
    unsigned char *mem = (unsigned char *)data - shift;

    memset(mem, 0xee, shift + 1);
    free(mem);
}

/* Receive `f` as if it came off a socket, with its bytes `shift` bytes into
 * a buffer of ZeroMQ's (shift 1 misaligns every item), as libzmq hands over
 * received frames: the buffer lives until the message closes it. */
static flow_msg_t *
from_zmq_ok(const frame_t *f, size_t shift, uint32_t src)
{
    unsigned char *mem = malloc(f->len + shift);
    flow_frame_info_t info;
    flow_msg_t *msg = NULL;
    char why[128] = "";
    zmq_msg_t zm;

    assert_non_null(mem);
    if (shift) {
        /* A frame at an odd address: items are copied before a node gets
         * a pointer to them (flow_msg_i64, flow_msg_word). */
        memcpy(mem + shift, f->data, f->len);
        assert_int_equal(zmq_msg_init_data(&zm, mem + shift, f->len,
                                           free_shifted,
                                           (void *)(uintptr_t)shift),
                         0);
    } else {
        free(mem);
        mem = NULL;
        assert_int_equal(zmq_msg_init_size(&zm, f->len), 0);
        memcpy(zmq_msg_data(&zm), f->data, f->len);
    }
    if (flow__msg_from_zmq(&zm, &msg, &info, why, sizeof(why)))
        fail_msg("from_zmq: %s", why);
    assert_non_null(msg);
    assert_int_equal(info.kind, FLOW_FRAME_DATA);
    assert_int_equal(info.src, src);
    return msg;
}

static void
check_words(flow_msg_t *m, char **want, size_t n)
{
    assert_int_equal(flow_msg_type(m), FLOW_WORDS);
    assert_int_equal(flow_msg_count(m), n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *w = flow_msg_word(m, i, &len);
        assert_non_null(w);
        if (len != strlen(want[i]) || strcmp(w, want[i]))
            fail_msg("word %zu of %zu differs", i, n);
    }
    assert_null(flow_msg_word(m, n, NULL));
}

/* Words out through ZeroMQ and back, kept where they arrive or copied;
 * grown after arrival; forwarded as they are with a new sender. */
static void
zmq_words(size_t n, uint64_t seed, size_t shift)
{
    char **want = malloc((n + 1) * sizeof(*want));
    flow_msg_t *m = flow_msg_new(FLOW_WORDS, 4);
    frame_t built, got;
    uint64_t s = seed;
    zmq_msg_t zm;

    assert_non_null(want);
    for (size_t i = 0; i < n; i++) {
        size_t len = tu_splitmix64(&s) % 9;
        want[i] = malloc(len + 1);
        for (size_t k = 0; k < len; k++)
            want[i][k] = (char)('a' + tu_splitmix64(&s) % 26);
        want[i][len] = '\0';
        assert_int_equal(flow_msg_add_word(m, want[i], len), 0);
    }
    flow_msg_set_seq(m, 9);
    built = build_words(6, 9, (const char *const *)want, n);
    flow__msg_to_zmq(&m, 6, &zm);
    assert_null(m);
    got = frame_of_zmq(&zm);
    zmq_msg_close(&zm);
    assert_frame_equal(&got, &built);
    frame_free(&got);

    /* Arrived: the same words. */
    m = from_zmq_ok(&built, shift, 6);
    assert_true(flow_msg_seq(m) == 9);
    check_words(m, want, n);
    /* Forwarded as it is, from instance 2: only the sender changes. */
    flow__msg_to_zmq(&m, 2, &zm);
    got = frame_of_zmq(&zm);
    zmq_msg_close(&zm);
    built.data[8] = 2;
    assert_frame_equal(&got, &built);
    frame_free(&got);

    /* Arrived, then grown: old words intact, the new one after them. */
    m = from_zmq_ok(&built, shift, 2);
    want[n] = "grown";
    assert_int_equal(flow_msg_add_word(m, "grown", 5), 0);
    check_words(m, want, n + 1);
    flow__msg_to_zmq(&m, 2, &zm);
    got = frame_of_zmq(&zm);
    zmq_msg_close(&zm);
    frame_free(&built);
    built = build_words(2, 9, (const char *const *)want, n + 1);
    assert_frame_equal(&got, &built);
    frame_free(&got);
    frame_free(&built);
    for (size_t i = 0; i < n; i++)
        free(want[i]);
    free(want);
}

/* int64 items out through ZeroMQ and back, kept or copied, then changed. */
static void
zmq_i64(size_t n, uint64_t seed, size_t shift)
{
    flow_msg_t *m = flow_msg_new(FLOW_INT64, n);
    int64_t *want = malloc((n + 1) * sizeof(*want));
    uint64_t s = seed;
    frame_t f;
    zmq_msg_t zm;
    int64_t *got;

    assert_non_null(want);
    for (size_t i = 0; i < n; i++) {
        want[i] = (int64_t)tu_splitmix64(&s);
        assert_int_equal(flow_msg_add_i64(m, want[i]), 0);
    }
    flow__msg_to_zmq(&m, 1, &zm);
    f = frame_of_zmq(&zm);
    zmq_msg_close(&zm);
    assert_int_equal(f.len, FLOW_WIRE_HDR + n * 8);
    /* Forwarded untouched (items never asked for, aligned or not): the
     * same frame, with only the sender changed. */
    m = from_zmq_ok(&f, shift, 1);
    flow__msg_to_zmq(&m, 3, &zm);
    {
        frame_t fwd = frame_of_zmq(&zm);
        zmq_msg_close(&zm);
        f.data[8] = 3;
        assert_frame_equal(&fwd, &f);
        f.data[8] = 1;
        frame_free(&fwd);
    }
    m = from_zmq_ok(&f, shift, 1);
    assert_int_equal(flow_msg_count(m), n);
    got = flow_msg_i64(m);
    assert_int_equal((uintptr_t)got % sizeof(int64_t), 0);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("item %zu of %zu differs", i, n);
    want[n] = -5;
    assert_int_equal(flow_msg_add_i64(m, -5), 0);
    got = flow_msg_i64(m);
    for (size_t i = 0; i <= n; i++)
        if (got[i] != want[i])
            fail_msg("item %zu of %zu differs after growing", i, n + 1);
    flow_msg_destroy(&m);
    frame_free(&f);
    free(want);
}

/* Fill the pool with words messages whose offsets (13, 26, ...) differ from
 * the frames below: a copy of received offsets that misses one then shows a
 * stale offset, not the right one by chance. */
static void
poison_pool(void)
{
    flow_msg_t *m[32];

    for (size_t i = 0; i < 32; i++) {
        m[i] = flow_msg_new(FLOW_WORDS, 8);
        assert_int_equal(flow_msg_add_words_fixed(m[i],
                                                  "zzzzzzzzzzzzzzzzzzzz"
                                                  "zzzzzzzzzzzzzzzzzzzz"
                                                  "zzzzzzzzzzzzzzzzzzzz"
                                                  "zzzzzzzzzzzzzzzzzzzz"
                                                  "zzzzzzzzzzzzzzzz",
                                                  8, 12),
                         0);
    }
    for (size_t i = 0; i < 32; i++)
        flow_msg_destroy(&m[i]);
}

/*
 * Received words become the message's own with every offset: decoded
 * (flow__msg_decode), received at an odd address (copied at once), or
 * received in place and then grown (copied then). One word and several.
 */
static void
test_msg_words_offsets_copied(void **state)
{
    static const char *const one[] = { "solo" };
    static const char *const three[] = { "a", "bc", "def" };
    static const char *const two[] = { "solo", "g" };
    static const char *const four[] = { "a", "bc", "def", "g" };
    static const char *const *const sets[] = { one, three };
    static const size_t sizes[] = { 1, 3 };

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        frame_t f = build_words(1, 4, sets[k], sizes[k]);
        flow_frame_info_t info;
        flow_msg_t *m;
        char why[128];

        poison_pool();
        assert_int_equal(decode(&f, &m, &info, why, sizeof(why)), 0);
        check_words(m, (char **)sets[k], sizes[k]);
        flow_msg_destroy(&m);
        for (size_t shift = 0; shift < 2; shift++) {
            poison_pool();
            m = from_zmq_ok(&f, shift, 1);
            check_words(m, (char **)sets[k], sizes[k]);
            flow_msg_destroy(&m);
        }
        frame_free(&f);
    }
    for (size_t k = 0; k < 2; k++) {
        static const char *const *const grown[] = { two, four };
        frame_t f = build_words(1, 4, sets[k], sizes[k]);
        flow_msg_t *m;

        poison_pool();
        m = from_zmq_ok(&f, 0, 1);
        assert_int_equal(flow_msg_add_word(m, "g", 1), 0);
        check_words(m, (char **)grown[k], sizes[k] + 1);
        flow_msg_destroy(&m);
        frame_free(&f);
    }
}

/* A received message cleared and sent on (a filter that keeps none of the
 * items, but the sequence number): its frame holds no items, whatever the
 * type, kept where it arrived or not. */
static void
test_msg_cleared_after_receive(void **state)
{
    static const int64_t nums[] = { 1, 2, 3 };
    static const char *const words[] = { "ab", "cde" };

    (void)state;
    for (int t = FLOW_INT64; t <= FLOW_BYTES; t++) {
        for (size_t shift = 0; shift < 2; shift++) {
            frame_t f =
                t == FLOW_WORDS
                    ? build_words(1, 8, words, 2)
                    : build(FLOW_FRAME_DATA, t, 1, t == FLOW_INT64 ? 3 : 5, 8,
                            t == FLOW_INT64 ? (const void *)nums : "hello",
                            t == FLOW_INT64 ? sizeof(nums) : 5);
            frame_t want = build(FLOW_FRAME_DATA, t, 2, 0, 8, NULL, 0);
            flow_msg_t *m = from_zmq_ok(&f, shift, 1);
            zmq_msg_t zm;
            frame_t got;

            flow_msg_clear(m);
            assert_int_equal(flow_msg_count(m), 0);
            flow__msg_to_zmq(&m, 2, &zm);
            got = frame_of_zmq(&zm);
            zmq_msg_close(&zm);
            assert_frame_equal(&got, &want);
            frame_free(&got);
            frame_free(&want);
            frame_free(&f);
        }
    }
}

static void
test_msg_through_zmq(void **state)
{
    static const size_t sizes[] = { 0, 1, 2, 3, 7, 100, 1000, 20000 };

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t shift = 0; shift < 2; shift++) {
            zmq_words(sizes[i], 40 + i, shift);
            zmq_i64(sizes[i], 50 + i, shift);
        }
    }
}

/* Word j of message i in test_msg_recv_slot_reuse. */
static void
reuse_word(char *w, size_t i, size_t j)
{
    snprintf(w, 48, "w%zux%zu", i, j);
}

/* The expected content of message i (kind 0, 1: int64; 2: words). */
static void
reuse_check(flow_msg_t *m, size_t i, int kind, size_t n, bool grown)
{
    char w[48];

    assert_true(flow_msg_seq(m) == i);
    if (kind == 2) {
        assert_int_equal(flow_msg_type(m), FLOW_WORDS);
        assert_int_equal(flow_msg_count(m), n);
        for (size_t j = 0; j < n; j++) {
            reuse_word(w, i, j);
            assert_string_equal(flow_msg_word(m, j, NULL), w);
        }
        return;
    }
    assert_int_equal(flow_msg_type(m), FLOW_INT64);
    assert_int_equal(flow_msg_count(m), n + grown);
    const int64_t *v = flow_msg_i64(m);
    for (size_t j = 0; j < n; j++)
        if (v[j] != (int64_t)(i * 1000003 + j))
            fail_msg("message %zu item %zu: %lld", i, j, (long long)v[j]);
    if (grown)
        assert_true(v[n] == -(int64_t)i);
}

/*
 * The receive slot reused: frames of every size (held in the zmq_msg_t,
 * or in a buffer of libzmq's), words, and end markers in between, received
 * one after another into the same pointer over a real socket pair. Between
 * receives the message is read, grown in place (which copies it out of the
 * frame) or kept (taken out of the pointer): a kept message must keep its
 * content while later frames arrive; a grown one must not disturb the next.
 */
static void
recv_slot_reuse(const char *endpoint)
{
    enum { N = 600 };
    void *ctx = zmq_ctx_new();
    void *tx = zmq_socket(ctx, ZMQ_PAIR), *rx = zmq_socket(ctx, ZMQ_PAIR);
    flow_msg_t *m = NULL, *kept[N];
    int kinds[N];
    size_t counts[N], nkept = 0, kept_i[N];
    bool kept_grown[N];
    uint64_t s = 77;

    assert_int_equal(zmq_bind(rx, endpoint), 0);
    assert_int_equal(zmq_connect(tx, endpoint), 0);
    for (size_t i = 0; i < N; i++) {
        int kind = (int)(tu_splitmix64(&s) % 4);
        size_t n =
            kind == 0 ? tu_splitmix64(&s) % 2 : 1 + tu_splitmix64(&s) % 900;
        zmq_msg_t zm;

        if (kind == 2)
            n = 1 + tu_splitmix64(&s) % 40;
        kinds[i] = kind;
        counts[i] = n;
        if (kind <= 1) {
            int64_t *v = malloc((n + 1) * sizeof(*v));
            assert_non_null(v);
            for (size_t j = 0; j < n; j++)
                v[j] = (int64_t)(i * 1000003 + j);
            flow__msg_zmq_i64s(&zm, 3, v, n, i);
            free(v);
        } else if (kind == 2) {
            flow_msg_t *w = flow_msg_new(FLOW_WORDS, n);
            char word[48];
            for (size_t j = 0; j < n; j++) {
                reuse_word(word, i, j);
                assert_int_equal(flow_msg_add_word(w, word, strlen(word)), 0);
            }
            flow_msg_set_seq(w, i);
            flow__msg_to_zmq(&w, 3, &zm);
        } else {
            assert_int_equal(zmq_msg_init_size(&zm, FLOW_WIRE_HDR), 0);
            flow__msg_encode_eos(3, i, false, zmq_msg_data(&zm));
        }
        assert_true(zmq_msg_send(&zm, tx, 0) >= 0);

        flow_frame_info_t info;
        char why[128] = "";
        zmq_msg_t *slot = flow__msg_recv_slot(&m);
        int got = zmq_msg_recv(slot, rx, 0);
        assert_true(got >= 0);
        if (flow__msg_from_slot(&m, (size_t)got, &info, why, sizeof(why)))
            fail_msg("message %zu: %s", i, why);
        assert_int_equal(info.src, 3);
        if (kind == 3) {
            assert_int_equal(info.kind, FLOW_FRAME_EOS);
            assert_true(info.count == i);
            assert_null(m);
            continue;
        }
        assert_int_equal(info.kind, FLOW_FRAME_DATA);
        assert_non_null(m);
        reuse_check(m, i, kind, n, false);
        switch (tu_splitmix64(&s) % 3) {
        case 0: /* read only: the next receive reuses it */
            break;
        case 1: /* grown in place (int64), then kept or reused */
            if (kind <= 1) {
                assert_int_equal(flow_msg_add_i64(m, -(int64_t)i), 0);
                reuse_check(m, i, kind, n, true);
            }
            if (tu_splitmix64(&s) % 2)
                break;
            /* fall through */
        case 2: /* taken: the next receive gets another message */
            kept_grown[nkept] = kind <= 1 && flow_msg_count(m) > n;
            kept_i[nkept] = i;
            kept[nkept++] = m;
            m = NULL;
            break;
        }
    }
    for (size_t k = 0; k < nkept; k++) {
        size_t i = kept_i[k];
        reuse_check(kept[k], i, kinds[i], counts[i], kept_grown[k]);
        flow_msg_destroy(&kept[k]);
    }
    flow_msg_destroy(&m);
    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
}

/* flow_msg_resize zeroes the items it adds and keeps the others;
 * flow_msg_extend_i64 adds unwritten ones after the others, in the
 * message's own memory also when the message came off the wire. */
static void
test_msg_resize_extend(void **state)
{
    flow_msg_t *m = flow_msg_new(FLOW_INT64, 0);
    int64_t *v;

    (void)state;
    assert_int_equal(flow_msg_resize(m, 5), 0);
    assert_int_equal(flow_msg_count(m), 5);
    v = flow_msg_i64(m);
    for (int i = 0; i < 5; i++) {
        assert_true(v[i] == 0);
        v[i] = 10 + i;
    }
    assert_int_equal(flow_msg_resize(m, 3), 0);
    assert_int_equal(flow_msg_resize(m, 6), 0);
    v = flow_msg_i64(m);
    for (int i = 0; i < 6; i++)
        assert_true(v[i] == (i < 3 ? 10 + i : 0));

    /* 6 items, then 1000 unwritten ones, written through the pointer. */
    int64_t *x = flow_msg_extend_i64(m, 1000);
    assert_non_null(x);
    assert_true(((uintptr_t)x & 7) == 0);
    assert_int_equal(flow_msg_count(m), 1006);
    for (int i = 0; i < 1000; i++)
        x[i] = -i;
    assert_int_equal(flow_msg_add_i64(m, 77), 0);
    assert_non_null(flow_msg_extend_i64(m, 0));
    assert_int_equal(flow_msg_count(m), 1007);
    /* Past UINT32_MAX items, or another type: NULL, nothing changed. */
    assert_null(flow_msg_extend_i64(m, (size_t)UINT32_MAX));
    assert_int_equal(flow_msg_count(m), 1007);
    v = flow_msg_i64(m);
    for (int i = 0; i < 1007; i++)
        assert_true(v[i] == (i < 3      ? 10 + i
                             : i < 6    ? 0
                             : i < 1006 ? -(i - 6)
                                        : 77));

    /* Through ZeroMQ and back, at an aligned and an odd address: the items
     * that arrived stay, the new ones follow. */
    frame_t f;
    {
        zmq_msg_t zm;
        flow_msg_set_seq(m, 4);
        flow__msg_to_zmq(&m, 1, &zm);
        f = frame_of_zmq(&zm);
        zmq_msg_close(&zm);
    }
    for (size_t shift = 0; shift < 2; shift++) {
        flow_msg_t *r = from_zmq_ok(&f, shift, 1);
        x = flow_msg_extend_i64(r, 3);
        assert_non_null(x);
        assert_true(((uintptr_t)x & 7) == 0);
        x[0] = 1;
        x[1] = 2;
        x[2] = 3;
        assert_int_equal(flow_msg_count(r), 1010);
        v = flow_msg_i64(r);
        assert_true(v[0] == 10 && v[1005] == -999 && v[1006] == 77);
        assert_true(v[1007] == 1 && v[1009] == 3);
        flow_msg_destroy(&r);
    }
    frame_free(&f);

    m = flow_msg_new(FLOW_WORDS, 0);
    assert_null(flow_msg_extend_i64(m, 1));
    assert_int_equal(flow_msg_resize(m, 1), FLOW_EPROTO);
    assert_int_equal(flow_msg_count(m), 0);
    flow_msg_destroy(&m);
    m = flow_msg_new(FLOW_BYTES, 0);
    assert_null(flow_msg_extend_i64(m, 1));
    assert_int_equal(flow_msg_resize(m, 4), 0);
    size_t len;
    const unsigned char *b = flow_msg_bytes(m, &len);
    assert_int_equal(len, 4);
    assert_true(b[0] == 0 && b[3] == 0);
    flow_msg_destroy(&m);
}

static void
test_msg_recv_slot_reuse(void **state)
{
    char dir[] = "/tmp/flow-test-slot-XXXXXX", ep[64];

    (void)state;
    recv_slot_reuse("inproc://slot");
    /* ipc: frames decoded from libzmq's shared receive buffers, at any
     * alignment. */
    assert_non_null(mkdtemp(dir));
    snprintf(ep, sizeof(ep), "ipc://%s/s", dir);
    recv_slot_reuse(ep);
    snprintf(ep, sizeof(ep), "%s/s", dir);
    unlink(ep);
    rmdir(dir);
}

/* Bytes this process has allocated (arena and mmap): glibc's count. */
static size_t
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

/* Receive the int64 frame (7, 8) of sequence `seq` through `rx` into `*m`,
 * sent on `tx`. */
static void
slot_recv_i64(void *tx, void *rx, flow_msg_t **m, uint64_t seq)
{
    const int64_t v[2] = { 7, 8 };
    flow_frame_info_t info;
    char why[128] = "";
    zmq_msg_t zm;

    flow__msg_zmq_i64s(&zm, 0, v, 2, seq);
    assert_true(zmq_msg_send(&zm, tx, 0) >= 0);
    zmq_msg_t *slot = flow__msg_recv_slot(m);
    int got = zmq_msg_recv(slot, rx, 0);
    assert_true(got >= 0);
    if (flow__msg_from_slot(m, (size_t)got, &info, why, sizeof(why)))
        fail_msg("%s", why);
    assert_non_null(*m);
    assert_true(flow_msg_seq(*m) == seq);
    assert_int_equal(flow_msg_count(*m), 2);
    assert_true(flow_msg_i64(*m)[0] == 7 && flow_msg_i64(*m)[1] == 8);
}

/* A received message that the node grew to megabytes and left to the
 * framework gives that memory back when the next receive reuses it, as a
 * destroyed one does: a large message once must not pin its memory for the
 * rest of the run. */
static void
test_msg_recv_slot_trims(void **state)
{
    enum { GROW = 1 << 18 }; /* int64 items: 2 MiB */
    void *ctx = zmq_ctx_new();
    void *tx = zmq_socket(ctx, ZMQ_PAIR), *rx = zmq_socket(ctx, ZMQ_PAIR);
    flow_msg_t *m = NULL;

    (void)state;
    assert_int_equal(zmq_bind(rx, "inproc://trim"), 0);
    assert_int_equal(zmq_connect(tx, "inproc://trim"), 0);
    slot_recv_i64(tx, rx, &m, 1);
    size_t base = heap_in_use();
    int64_t *x = flow_msg_extend_i64(m, GROW);
    assert_non_null(x);
    memset(x, 1, GROW * sizeof(*x));
    assert_int_equal(flow_msg_count(m), 2 + GROW);
    size_t grown = heap_in_use();
    slot_recv_i64(tx, rx, &m, 2); /* reuses m */
    size_t after = heap_in_use();
    /* Under ASan, whose allocator mallinfo2 does not see, both read 0. */
#if !defined(__SANITIZE_ADDRESS__)
    assert_true(grown >= base + GROW * sizeof(*x));
    if (after >= base + GROW * sizeof(*x) / 2)
        fail_msg("%zu bytes more in use after the reusing receive",
                 after - base);
#else
    (void)base;
    (void)grown;
    (void)after;
#endif
    flow_msg_destroy(&m);
    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
}

/* ---- flow_msg_extend_bytes ---------------------------------------------- */

/* A byte the test writes at offset `j` in round `r`: any pattern whose
 * bytes differ from their neighbours' would do. */
static unsigned char
pat(size_t j, unsigned r)
{
    return (unsigned char)(j * 7 + (j >> 8) + r * 101 + 1);
}

/* flow_msg_extend_bytes appends unwritten bytes after those already there,
 * across calls and the moves of the message's memory, mixed with
 * flow_msg_add_bytes; NULL for another type or past UINT32_MAX bytes, with
 * nothing changed or allocated. */
static void
test_msg_extend_bytes(void **state)
{
    static const size_t steps[] = { 0, 1, 63, 1, 500, 3000, 70000, 200000 };
    enum { TOTAL = 0 + 1 + 63 + 1 + 500 + 3000 + 70000 + 200000 + 5 };
    unsigned char *want = malloc(TOTAL);
    flow_msg_t *m = flow_msg_new(FLOW_BYTES, 0);
    const unsigned char *b;
    size_t len, have = 0;
    int moved = 0;

    (void)state;
    assert_non_null(want);
    for (size_t s = 0; s < sizeof(steps) / sizeof(*steps); s++) {
        const void *before = flow_msg_bytes(m, NULL);
        unsigned char *p = flow_msg_extend_bytes(m, steps[s]);
        assert_non_null(p); /* also for 0 bytes: NULL is an error only */
        b = flow_msg_bytes(m, &len);
        moved += b != before;
        assert_int_equal(len, have + steps[s]);
        assert_int_equal(flow_msg_count(m), have + steps[s]);
        assert_ptr_equal(p, b + have); /* right after the bytes there */
        for (size_t j = 0; j < steps[s]; j++)
            p[j] = want[have + j] = pat(have + j, (unsigned)s);
        have += steps[s];
        if (s == 2) { /* a copied-in piece between extensions */
            static const unsigned char five[] = { 9, 8, 7, 6, 5 };
            assert_int_equal(flow_msg_add_bytes(m, five, 5), 0);
            memcpy(want + have, five, 5);
            have += 5;
        }
        /* Every byte written so far, in order, wherever it lies now. */
        b = flow_msg_bytes(m, &len);
        assert_int_equal(len, have);
        assert_memory_equal(b, want, have);
    }
    assert_int_equal(have, TOTAL);
    /* The memory moved with the growth from 64 bytes; under ASan, whose
     * realloc always moves a block, every time it grew. */
    assert_true(moved >= 1);
#if defined(__SANITIZE_ADDRESS__)
    assert_true(moved >= 3);
#endif

    /* Past UINT32_MAX bytes in all: NULL, and no 4 GiB block taken (glibc's
     * count; under ASan, whose allocator mallinfo2 does not see, 0). */
    size_t heap0 = heap_in_use();
    assert_null(flow_msg_extend_bytes(m, (size_t)UINT32_MAX - have + 1));
    assert_null(flow_msg_extend_bytes(m, (size_t)UINT32_MAX));
    assert_null(flow_msg_extend_bytes(m, SIZE_MAX));
    assert_true(heap_in_use() <= heap0 + 4096);
    b = flow_msg_bytes(m, &len);
    assert_int_equal(len, TOTAL);
    assert_int_equal(flow_msg_count(m), TOTAL);
    assert_memory_equal(b, want, TOTAL);
    flow_msg_destroy(&m);
    free(want);

    /* Another type: NULL, nothing appended. */
    m = flow_msg_new(FLOW_INT64, 0);
    assert_int_equal(flow_msg_add_i64(m, 5), 0);
    assert_null(flow_msg_extend_bytes(m, 8));
    assert_int_equal(flow_msg_count(m), 1);
    assert_true(flow_msg_i64(m)[0] == 5);
    flow_msg_destroy(&m);
    m = flow_msg_new(FLOW_WORDS, 0);
    assert_null(flow_msg_extend_bytes(m, 1));
    assert_int_equal(flow_msg_count(m), 0);
    flow_msg_destroy(&m);
}

/* Written in place and sent: the frame is the one the documented layout
 * gives, and a large one goes to ZeroMQ in the memory the bytes were
 * written in (no copy, as flow_msg_add_bytes's). Extended after it came
 * off the wire: the bytes that arrived stay, the new ones follow, and the
 * received frame is not written to. */
static void
test_msg_extend_bytes_zmq(void **state)
{
    /* Payloads below and above the size up to which frames are copied
     * into ZeroMQ (2 KiB, msg.c). */
    static const size_t sizes[] = { 1000, 100003 };

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        size_t n = sizes[i];
        unsigned char *want = malloc(n + 3);
        flow_msg_t *m = flow_msg_new(FLOW_BYTES, n);
        unsigned char *p = flow_msg_extend_bytes(m, n);
        zmq_msg_t zm;

        assert_non_null(want);
        assert_non_null(p);
        for (size_t j = 0; j < n; j++)
            p[j] = want[j] = pat(j, 1);
        flow_msg_set_seq(m, 42);
        frame_t built =
            build(FLOW_FRAME_DATA, FLOW_BYTES, 3, (uint32_t)n, 42, want, n);
        assert_int_equal(flow__msg_to_zmq(&m, 3, &zm), built.len);
        assert_null(m);
        if (n > 4096)
            assert_ptr_equal(zmq_msg_data(&zm), p - FLOW_WIRE_HDR);
        frame_t f = frame_of_zmq(&zm);
        zmq_msg_close(&zm);
        assert_frame_equal(&f, &built);

        for (size_t shift = 0; shift < 2; shift++) {
            flow_msg_t *r = from_zmq_ok(&f, shift, 3);
            const unsigned char *b;
            size_t len;

            p = flow_msg_extend_bytes(r, 3);
            assert_non_null(p);
            memcpy(p, "xyz", 3);
            memcpy(want + n, "xyz", 3);
            b = flow_msg_bytes(r, &len);
            assert_int_equal(len, n + 3);
            assert_int_equal(flow_msg_count(r), n + 3);
            assert_memory_equal(b, want, n + 3);
            assert_true(flow_msg_seq(r) == 42);
            frame_t grown = build(FLOW_FRAME_DATA, FLOW_BYTES, 5,
                                  (uint32_t)(n + 3), 42, want, n + 3);
            assert_int_equal(flow__msg_to_zmq(&r, 5, &zm), grown.len);
            frame_t g = frame_of_zmq(&zm);
            zmq_msg_close(&zm);
            assert_frame_equal(&g, &grown);
            frame_free(&g);
            frame_free(&grown);
        }
        /* The frame that came in is as it was. */
        assert_frame_equal(&f, &built);
        frame_free(&f);
        frame_free(&built);
        free(want);
    }
}

/* ---- bytesrc: the fixture, in the harness and in a real run ------------- */

#include "../fixtures/nodes/bytesrc.c"

static const char fixture_dir[] = FLOW_FIXTURE_PLUGIN_DIR;

/* Byte `j` of message `m` of bytesrc, from its comment: 8-byte
 * little-endian words, word k holding (m << 32) + k. */
static unsigned char
bytesrc_byte(uint64_t m, size_t j)
{
    uint64_t w = (m << 32) + j / 8;

    return (unsigned char)(w >> (8 * (j % 8)));
}

/* `got` (`len` bytes) is `count` messages of bytesrc of `size` bytes. */
static void
check_bytesrc(const unsigned char *got, size_t len, unsigned count, size_t size)
{
    assert_int_equal(len, count * size);
    for (unsigned m = 0; m < count; m++)
        for (size_t j = 0; j < size; j++)
            if (got[m * size + j] != bytesrc_byte(m, j))
                fail_msg("message %u byte %zu: 0x%02x, expected 0x%02x", m, j,
                         got[m * size + j], bytesrc_byte(m, j));
}

/* In the harness, bytes written in place come out as written, as copied
 * in ones do. Sizes with a partial last word, below and above 2 KiB. */
static void
test_msg_extend_bytes_harness(void **state)
{
    static const char *const sizes[] = { "size=0", "size=13", "size=70001" };
    static const char *const modes[] = { "copy=false", "copy=true" };

    (void)state;
    for (size_t i = 0; i < 3; i++)
        for (size_t c = 0; c < 2; c++) {
            const char *params[] = { "count=4", sizes[i], modes[c] };
            flow_diag_t diag;
            flow_harness_t *h =
                flow_harness_new(&flow_node_bytesrc, params, 3, &diag);
            size_t size = strtoul(sizes[i] + 5, NULL, 10), len;
            char *got;

            assert_non_null(h);
            assert_int_equal(flow_harness_run(h), 0);
            assert_int_equal(flow_harness_pending(h, "out"), 4);
            got = flow_harness_pull_bytes(h, "out", &len);
            check_bytesrc((const unsigned char *)got, len, 4, size);
            free(got);
            flow_harness_destroy(&h);
        }
}

/* Through a real run: bytesrc's frames (written in place, or copied in
 * for control), copied into ZeroMQ (1000 bytes) or handed over (100003),
 * reach collect, which writes them to standard output as they are. */
static void
test_msg_extend_bytes_run(void **state)
{
    static const unsigned sizes[] = { 1000, 100003 };

    (void)state;
    for (size_t i = 0; i < 2; i++)
        for (int copy = 0; copy < 2; copy++) {
            char text[512];
            tu_result_t r;

            snprintf(text, sizeof(text),
                     "[src]\ntype = bytesrc\ncount = 5\nsize = %u\n"
                     "copy = %s\n"
                     "[out]\ntype = collect\norder = input\n"
                     "[links]\npush = src.out -> out.in\n",
                     sizes[i], copy ? "true" : "false");
            if (tu_run_graph(&r, 60, text, "--plugin-path", fixture_dir, NULL))
                fail_msg("flowrun exited %d: %s", r.status, r.err);
            check_bytesrc((const unsigned char *)r.out, r.outlen, 5, sizes[i]);
            tu_result_release(&r);
        }
}

/* A destroyed message is reused (per-thread pool): the next one must start
 * empty, whatever type and contents the last one had. */
static void
test_msg_reuse_starts_empty(void **state)
{
    (void)state;
    for (int round = 0; round < 50; round++) {
        flow_msg_t *w = flow_msg_new(FLOW_WORDS, 1);
        flow_msg_t *b;
        size_t len;

        assert_int_equal(flow_msg_count(w), 0);
        assert_true(flow_msg_seq(w) == FLOW_SEQ_NONE);
        assert_int_equal(flow_msg_add_word(w, "abc", 3), 0);
        assert_int_equal(flow_msg_add_word(w, "de", 2), 0);
        flow_msg_set_seq(w, 12);
        flow_msg_destroy(&w);
        b = flow_msg_new(FLOW_BYTES, 0);
        assert_int_equal(flow_msg_type(b), FLOW_BYTES);
        assert_int_equal(flow_msg_count(b), 0);
        assert_true(flow_msg_seq(b) == FLOW_SEQ_NONE);
        flow_msg_bytes(b, &len);
        assert_int_equal(len, 0);
        flow_msg_destroy(&b);
        w = flow_msg_new(FLOW_WORDS, 0);
        assert_null(flow_msg_word(w, 0, NULL));
        assert_int_equal(flow_msg_add_word(w, "xyz", 3), 0);
        assert_string_equal(flow_msg_word(w, 0, &len), "xyz");
        assert_int_equal(len, 3);
        assert_int_equal(flow_msg_count(w), 1);
        flow_msg_destroy(&w);
    }
}

/* Empty messages with a capacity hint: they still go round. */
static void
test_msg_roundtrip_empty(void **state)
{
    (void)state;
    roundtrip_i64(0, 1, 8);
    roundtrip_bytes(0, 1, 8);
    roundtrip_words(0, 1, 8);
    roundtrip_words(0, 1, 0);
}

/*
 * Empty messages created with a capacity hint of 0 (and every empty int64
 * or bytes message the decoder makes, since it creates them with 0) have no
 * buffer at all; encoding one must still work. Run in a child: the failure
 * is a NULL dereference in flow__msg_encode.
 */
static void
test_msg_roundtrip_empty_no_capacity(void **state)
{
    int status;
    pid_t pid;

    (void)state;
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tu_default_signals();
        static const unsigned char zero = 0;
        flow_msg_t *m = flow_msg_new(FLOW_INT64, 0);
        flow_frame_info_t info;
        frame_t f, want;
        char why[64];
        void *raw;
        size_t len;
        int bad = 0;

        flow__msg_encode(&m, 2, &raw, &len);
        want =
            build(FLOW_FRAME_DATA, FLOW_INT64, 2, 0, FLOW_SEQ_NONE, &zero, 0);
        bad |= len != want.len || memcmp(raw, want.data, len);
        free(raw);
        /* An empty frame, decoded then sent on (as jitter does). */
        f = want;
        if (flow__msg_decode(f.data, f.len, &m, &info, why, sizeof(why)))
            _exit(3);
        flow__msg_encode(&m, 2, &raw, &len);
        bad |= len != want.len || memcmp(raw, want.data, len);
        free(raw);
        m = flow_msg_new(FLOW_BYTES, 0);
        bad |= flow_msg_add_bytes(m, "", 0) != 0;
        flow__msg_encode(&m, 2, &raw, &len);
        bad |= len != FLOW_WIRE_HDR;
        free(raw);
        free(want.data);
        _exit(bad ? 1 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("encoding an empty int64/bytes message made with capacity "
                 "0 failed (%s)",
                 tu_child_status(status));
}

static void
test_msg_eos(void **state)
{
    unsigned char raw[FLOW_WIRE_HDR];
    flow_msg_t *msg = (flow_msg_t *)(uintptr_t)1;
    flow_frame_info_t info;
    frame_t f, want;
    char why[64];

    (void)state;
    flow__msg_encode_eos(6, 123456789012u, false, raw);
    want = build(FLOW_FRAME_EOS, 0, 6, 0, 123456789012u, NULL, 0);
    f.len = sizeof(raw);
    f.data = malloc(f.len);
    memcpy(f.data, raw, f.len);
    assert_frame_equal(&f, &want);
    assert_int_equal(decode(&f, &msg, &info, why, sizeof(why)), 0);
    assert_null(msg);
    assert_int_equal(info.kind, FLOW_FRAME_EOS);
    assert_int_equal(info.src, 6);
    assert_true(info.count == 123456789012u);
    frame_free(&f);
    frame_free(&want);

    flow__msg_encode_eos(0, 0, false, raw);
    f.len = sizeof(raw);
    f.data = malloc(f.len);
    memcpy(f.data, raw, f.len);
    assert_int_equal(decode(&f, &msg, &info, why, sizeof(why)), 0);
    assert_true(info.count == 0);
    assert_false(info.cut);
    frame_free(&f);

    /* Cut short by a stop: flag 1 in the item count field, nothing else. */
    flow__msg_encode_eos(2, 77, true, raw);
    want = build(FLOW_FRAME_EOS, 0, 2, 1, 77, NULL, 0);
    f.len = sizeof(raw);
    f.data = malloc(f.len);
    memcpy(f.data, raw, f.len);
    assert_frame_equal(&f, &want);
    assert_int_equal(decode(&f, &msg, &info, why, sizeof(why)), 0);
    assert_int_equal(info.kind, FLOW_FRAME_EOS);
    assert_int_equal(info.src, 2);
    assert_true(info.count == 77);
    assert_true(info.cut);
    frame_free(&f);
    frame_free(&want);
    want = build(FLOW_FRAME_DATA, FLOW_INT64, 2, 0, 0, NULL, 0);
    assert_int_equal(decode(&want, &msg, &info, why, sizeof(why)), 0);
    assert_false(info.cut); /* a data frame is never cut */
    flow_msg_destroy(&msg);
    frame_free(&want);
    msg = (flow_msg_t *)(uintptr_t)1;

    /* Malformed end-of-stream frames. */
    want = build(FLOW_FRAME_EOS, 0, 1, 0, 5, "x", 1);
    assert_bad(&want, "eos with a payload");
    frame_free(&want);
    want = build(FLOW_FRAME_EOS, 0, 1, 3, 5, NULL, 0);
    assert_bad(&want, "eos with a count");
    frame_free(&want);
    want = build(FLOW_FRAME_EOS, 0, 1, 2, 5, NULL, 0);
    assert_bad(&want, "eos with an unknown flag");
    frame_free(&want);
    want = build(FLOW_FRAME_EOS, FLOW_INT64, 1, 0, 5, NULL, 0);
    assert_bad(&want, "eos with an item type");
    frame_free(&want);
}

/*
 * What decoding a data frame says of it, whatever the frame before said:
 * after a cut end-of-stream frame that counted 77 data frames, an int64
 * frame (read by the fast path), a words frame and a bytes frame each have
 * count 0, cut false, their item count and their whole length in bytes.
 */
static void
test_msg_frame_info(void **state)
{
    static const int64_t three[] = { 4, 5, 6 };
    static const char *const words[] = { "ab", "", "cde" };
    frame_t frames[3];
    const size_t items[3] = { 3, 3, 5 };

    (void)state;
    frames[0] =
        build(FLOW_FRAME_DATA, FLOW_INT64, 3, 3, 9, three, sizeof(three));
    frames[1] = build_words(3, 9, words, 3);
    frames[2] = build(FLOW_FRAME_DATA, FLOW_BYTES, 3, 5, 9, "hello", 5);
    for (size_t i = 0; i < 3; i++) {
        unsigned char raw[FLOW_WIRE_HDR];
        flow_msg_t *msg = NULL;
        flow_frame_info_t info;
        char why[64];

        flow__msg_encode_eos(3, 77, true, raw);
        assert_int_equal(
            flow__msg_decode(raw, sizeof(raw), &msg, &info, why, sizeof(why)),
            0);
        assert_true(info.count == 77 && info.cut);
        assert_int_equal(decode(&frames[i], &msg, &info, why, sizeof(why)), 0);
        assert_int_equal(info.kind, FLOW_FRAME_DATA);
        assert_true(info.count == 0);
        assert_false(info.cut);
        assert_int_equal(info.items, items[i]);
        /* header, offsets (words: 4 bytes each), payload */
        assert_int_equal(info.bytes, i == 0   ? 24 + 3 * 8
                                     : i == 1 ? 24 + 3 * 4 + 3 + 1 + 4
                                              : 24 + 5);
        assert_int_equal(info.bytes, frames[i].len);
        flow_msg_destroy(&msg);
        frame_free(&frames[i]);
    }
}

/*
 * The limits of a message, refused before any memory is asked for: at most
 * UINT32_MAX items (int64, bytes; resize too), and a NUL anywhere in a word,
 * the last byte of a long word (past the plain loop: memchr) and the last
 * letter of fixed-length words included.
 */
static void
test_msg_limits(void **state)
{
    static const int64_t vals[] = { 1, 2, 3 };
    flow_msg_t *m = flow_msg_new(FLOW_INT64, 0);
    char word[40];

    (void)state;
    /* int64 first: a check gone wrong asks for 32 GiB, which fails at
     * once rather than filling memory. */
    assert_int_equal(flow_msg_add_i64s(m, vals, (size_t)UINT32_MAX + 1),
                     FLOW_EPROTO);
    assert_int_equal(flow_msg_resize(m, (size_t)UINT32_MAX + 1), FLOW_EPROTO);
    assert_int_equal(flow_msg_add_i64(m, 1), 0);
    assert_int_equal(flow_msg_add_i64s(m, vals, UINT32_MAX), FLOW_EPROTO);
    assert_int_equal(flow_msg_count(m), 1);
    assert_true(flow_msg_i64(m)[0] == 1);
    flow_msg_destroy(&m);

    m = flow_msg_new(FLOW_BYTES, 0);
    assert_int_equal(flow_msg_add_bytes(m, "0123456789", 10), 0);
    assert_int_equal(flow_msg_add_bytes(m, "x", (size_t)UINT32_MAX - 9),
                     FLOW_EPROTO);
    assert_int_equal(flow_msg_add_bytes(m, "x", (size_t)UINT32_MAX + 1),
                     FLOW_EPROTO);
    assert_int_equal(flow_msg_count(m), 10);
    flow_msg_destroy(&m);

    m = flow_msg_new(FLOW_WORDS, 0);
    memset(word, 'w', sizeof(word));
    for (size_t at = 0; at < sizeof(word); at += sizeof(word) - 1) {
        word[at] = '\0';
        assert_int_equal(flow_msg_add_word(m, word, sizeof(word)), FLOW_EPARAM);
        word[at] = 'w';
    }
    assert_int_equal(flow_msg_add_word(m, word, sizeof(word)), 0);
    /* "ab" and "c\0": the NUL is in the last letter. */
    assert_int_equal(flow_msg_add_words_fixed(m, "abc", 2, 2), FLOW_EPARAM);
    assert_int_equal(flow_msg_add_words_fixed(m, "abcd", 2, 2), 0);
    assert_int_equal(flow_msg_count(m), 3);
    assert_string_equal(flow_msg_word(m, 2, NULL), "cd");
    flow_msg_destroy(&m);
}

/*
 * A received message, unchanged, encoded or sent on: the frame it arrived
 * as with the new sender, even when the message came from the pool with
 * memory of its own holding other items. Sent on through ZeroMQ, the frame
 * is the received one, its header rewritten, its payload not copied.
 */
static void
test_msg_received_sent_on(void **state)
{
    static const int64_t nums[] = { 1, 2, 3, 4, 5 };
    static const int64_t old[] = { 111, 222, 333, 444, 555, 666 };

    (void)state;
    for (int t = FLOW_INT64; t <= FLOW_BYTES; t += FLOW_BYTES - FLOW_INT64) {
        bool i64 = t == FLOW_INT64;
        const void *payload =
            i64 ? (const void *)nums : "forty bytes of text, or so, to send on";
        size_t plen = i64 ? sizeof(nums) : 38;
        uint32_t count = i64 ? 5 : 38;
        frame_t f = build(FLOW_FRAME_DATA, t, 1, count, 8, payload, plen);
        frame_t want = build(FLOW_FRAME_DATA, t, 5, count, 8, payload, plen);
        flow_msg_t *m = flow_msg_new((flow_type_t)t, 16);
        const unsigned char *at;
        zmq_msg_t zm;
        frame_t got;

        /* Leave a message with other items in the pool. */
        if (i64)
            assert_int_equal(flow_msg_add_i64s(m, old, 6), 0);
        else
            assert_int_equal(flow_msg_add_bytes(m, old, sizeof(old)), 0);
        flow_msg_destroy(&m);
        m = from_zmq_ok(&f, 0, 1);
        got = encode(&m, 5);
        assert_frame_equal(&got, &want);
        frame_free(&got);

        m = from_zmq_ok(&f, 0, 1);
        at = i64 ? (const void *)flow_msg_i64(m) : flow_msg_bytes(m, NULL);
        assert_int_equal(flow__msg_to_zmq(&m, 5, &zm), want.len);
        assert_ptr_equal(
            (const unsigned char *)zmq_msg_data(&zm) + FLOW_WIRE_HDR, at);
        got = frame_of_zmq(&zm);
        zmq_msg_close(&zm);
        assert_frame_equal(&got, &want);
        frame_free(&got);
        frame_free(&want);
        frame_free(&f);
    }
}

static void
test_msg_decode_rejects_malformed(void **state)
{
    static const int64_t three[] = { 1, 2, 3 };
    static const char *const words[] = { "ab", "", "cde" };
    frame_t good, f;

    (void)state;
    /* Truncated headers. */
    good = build(FLOW_FRAME_DATA, FLOW_INT64, 1, 3, 0, three, sizeof(three));
    for (size_t len = 0; len < FLOW_WIRE_HDR; len++) {
        f.len = len;
        f.data = malloc(len ? len : 1);
        memcpy(f.data, good.data, len);
        assert_bad(&f, "truncated header");
        frame_free(&f);
    }
    /* Truncated payloads. */
    for (size_t len = FLOW_WIRE_HDR; len < good.len; len++) {
        f.len = len;
        f.data = malloc(len);
        memcpy(f.data, good.data, len);
        assert_bad(&f, "truncated int64 payload");
        frame_free(&f);
    }
    /* Bad magic, each byte. */
    for (int i = 0; i < 4; i++) {
        good.data[i] ^= 0x20;
        assert_bad(&good, "bad magic");
        good.data[i] ^= 0x20;
    }
    /* Unknown kinds. */
    for (int k = 0; k < 256; k++) {
        if (k == FLOW_FRAME_DATA || k == FLOW_FRAME_EOS)
            continue;
        good.data[4] = (unsigned char)k;
        assert_bad(&good, "unknown kind");
    }
    good.data[4] = FLOW_FRAME_DATA;
    /* Reserved bytes 6 and 7 must be zero (the int64 fast path reads them
     * with the magic, kind and type). */
    for (int i = 6; i < 8; i++) {
        good.data[i] = 1;
        assert_bad(&good, "nonzero reserved byte");
        good.data[i] = 0;
    }
    /* Unknown item types (FLOW_ANY is no item type). */
    for (int t = 0; t < 256; t++) {
        if (t >= FLOW_INT64 && t <= FLOW_BYTES)
            continue;
        good.data[5] = (unsigned char)t;
        assert_bad(&good, "unknown item type");
    }
    frame_free(&good);

    /* int64 length and count disagree. */
    f = build(FLOW_FRAME_DATA, FLOW_INT64, 1, 2, 0, three, sizeof(three));
    assert_bad(&f, "int64 count 2 with 3 items");
    frame_free(&f);
    f = build(FLOW_FRAME_DATA, FLOW_INT64, 1, 4, 0, three, sizeof(three));
    assert_bad(&f, "int64 count 4 with 3 items");
    frame_free(&f);
    f = build(FLOW_FRAME_DATA, FLOW_INT64, 1, 3, 0, three, sizeof(three) - 1);
    assert_bad(&f, "int64 payload not a multiple of 8");
    frame_free(&f);
    f = build(FLOW_FRAME_DATA, FLOW_INT64, 1, UINT32_MAX, 0, three,
              sizeof(three));
    assert_bad(&f, "int64 huge count");
    frame_free(&f);
    f = build(FLOW_FRAME_DATA, FLOW_INT64, 1, 1, 0, NULL, 0);
    assert_bad(&f, "int64 count 1 without payload");
    frame_free(&f);
    /* bytes too. */
    f = build(FLOW_FRAME_DATA, FLOW_BYTES, 1, 4, 0, "abc", 3);
    assert_bad(&f, "bytes count 4 with 3 bytes");
    frame_free(&f);
    f = build(FLOW_FRAME_DATA, FLOW_BYTES, 1, 2, 0, "abc", 3);
    assert_bad(&f, "bytes count 2 with 3 bytes");
    frame_free(&f);

    /* Words: start from a valid frame, then break one thing at a time.
     * Payload: offsets 3, 4, 8 then "ab\0" "\0" "cde\0". */
    good = build_words(1, 0, words, 3);
    {
        flow_msg_t *m = decode_ok(&good, FLOW_WORDS, 1, 0, 3);
        flow_msg_destroy(&m);
    }
    {
        static const struct {
            size_t at;       /* payload byte to change */
            unsigned char v; /* new value */
            const char *what;
        } pokes[] = {
            { 0, 0, "first offset 0" },
            { 0, 9, "offset beyond the data" },
            { 3, 0x80, "offset far beyond the data" },
            { 4, 2, "offsets going backwards" },
            { 4, 3, "offsets repeating" },
            { 8, 7, "last offset inside the last word" },
            { 12 + 2, 'x', "missing NUL after a word" },
            { 12 + 7, 'x', "missing NUL at the end" },
            { 12 + 1, 0, "NUL inside a word" },
            { 12 + 5, 0, "NUL inside the last word" },
        };
        for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
            f.len = good.len;
            f.data = malloc(f.len);
            memcpy(f.data, good.data, f.len);
            f.data[FLOW_WIRE_HDR + pokes[i].at] = pokes[i].v;
            assert_bad(&f, pokes[i].what);
            frame_free(&f);
        }
    }
    /* Trailing bytes after the last word. */
    f.len = good.len + 2;
    f.data = malloc(f.len);
    memcpy(f.data, good.data, good.len);
    f.data[good.len] = 'z';
    f.data[good.len + 1] = '\0';
    assert_bad(&f, "words with trailing bytes");
    frame_free(&f);
    /* One trailing byte that is no NUL: the NULs still match the words,
     * only the last offset tells. */
    f.len = good.len + 1;
    f.data = malloc(f.len);
    memcpy(f.data, good.data, good.len);
    f.data[good.len] = 'z';
    assert_bad(&f, "words with a trailing byte that is no NUL");
    frame_free(&f);
    /* Fewer words than the count says, or more. */
    good.data[12] = 4;
    assert_bad(&good, "count 4 for 3 words");
    good.data[12] = 2;
    assert_bad(&good, "count 2 for 3 words");
    /* A count whose offsets alone need more than the frame. */
    put32(good.data + 12, UINT32_MAX);
    assert_bad(&good, "words huge count");
    put32(good.data + 12, 3);
    /* Truncated anywhere. */
    for (size_t len = FLOW_WIRE_HDR; len < good.len; len++) {
        f.len = len;
        f.data = malloc(len);
        memcpy(f.data, good.data, len);
        assert_bad(&f, "truncated words");
        frame_free(&f);
    }
    frame_free(&good);
    /* Data but no words, and a word without offsets. */
    f = build(FLOW_FRAME_DATA, FLOW_WORDS, 1, 0, 0, "a", 2);
    assert_bad(&f, "words count 0 with data");
    frame_free(&f);
}

/* The reason is truncated to the caller's buffer. */
static void
test_msg_decode_short_reason(void **state)
{
    frame_t f = build(FLOW_FRAME_DATA, 9, 0, 0, 0, NULL, 0);
    flow_msg_t *msg;
    flow_frame_info_t info;
    char why[5] = "####";

    (void)state;
    assert_int_equal(flow__msg_decode(f.data, f.len, &msg, &info, why, 4),
                     FLOW_EPROTO);
    assert_int_equal(strlen(why), 3);
    assert_int_equal(why[4], '\0');
    frame_free(&f);
}

/* Check a message the fuzzer got decoded: self-consistent and, encoded
 * again, the same frame (but for the two unused header bytes). */
static void
check_fuzzed(const frame_t *f, flow_msg_t **msg_p)
{
    flow_msg_t *m = *msg_p;
    size_t n = flow_msg_count(m);
    frame_t again;

    if (flow_msg_type(m) == FLOW_WORDS) {
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *w = flow_msg_word(m, i, &len);
            assert_non_null(w);
            assert_int_equal(strlen(w), len);
        }
        assert_null(flow_msg_word(m, n, NULL));
    }
    /* Empty int64/bytes messages have their own (crashing) test. */
    if (n == 0 && flow_msg_type(m) != FLOW_WORDS) {
        flow_msg_destroy(msg_p);
        return;
    }
    again = encode(msg_p, 0);
    assert_int_equal(again.len, f->len);
    again.data[6] = f->data[6];
    again.data[7] = f->data[7];
    memcpy(again.data + 8, f->data + 8, 4); /* src is not in the message */
    assert_frame_equal(&again, f);
    frame_free(&again);
}

/* Flip, overwrite and truncate bytes of valid frames many times: decoding
 * must never read out of bounds (AddressSanitizer) or crash. */
static void
test_msg_decode_fuzz(void **state)
{
    static const char *const words[] = { "level", "", "a", "noon", "xyzzy" };
    static const int64_t nums[] = { 0, 1, -1, 1 << 20 };
    frame_t seeds[5];
    uint64_t s = 20240601;
    unsigned decoded = 0;

    (void)state;
    seeds[0] = build_words(2, 9, words, 5);
    seeds[1] = build(FLOW_FRAME_DATA, FLOW_INT64, 1, 4, 3, nums, sizeof(nums));
    seeds[2] = build(FLOW_FRAME_DATA, FLOW_BYTES, 1, 5, 3, "hello", 5);
    seeds[3] = build(FLOW_FRAME_EOS, 0, 4, 0, 17, NULL, 0);
    seeds[4] = build_words(0, 0, words + 2, 1);
    for (int iter = 0; iter < 200000; iter++) {
        const frame_t *seed = &seeds[tu_splitmix64(&s) % 5];
        flow_msg_t *msg = NULL;
        flow_frame_info_t info;
        char why[64];
        frame_t f;
        unsigned edits = 1 + (unsigned)(tu_splitmix64(&s) % 4);
        int rc;

        f.len = seed->len;
        if (tu_splitmix64(&s) % 4 == 0)
            f.len = (size_t)(tu_splitmix64(&s) % (seed->len + 1));
        else if (tu_splitmix64(&s) % 8 == 0)
            f.len = seed->len + 1 + (size_t)(tu_splitmix64(&s) % 8);
        f.data = malloc(f.len ? f.len : 1);
        memcpy(f.data, seed->data, f.len < seed->len ? f.len : seed->len);
        for (size_t i = seed->len; i < f.len; i++)
            f.data[i] = (unsigned char)tu_splitmix64(&s);
        for (unsigned e = 0; e < edits && f.len; e++) {
            size_t at = (size_t)(tu_splitmix64(&s) % f.len);
            /* Bias edits toward the header and the word offsets. */
            if (tu_splitmix64(&s) % 2 && f.len > 40)
                at = (size_t)(tu_splitmix64(&s) % 40);
            switch (tu_splitmix64(&s) % 3) {
            case 0:
                f.data[at] ^= (unsigned char)(1u << (tu_splitmix64(&s) % 8));
                break;
            case 1:
                f.data[at] = (unsigned char)tu_splitmix64(&s);
                break;
            default:
                f.data[at] = (unsigned char)(tu_splitmix64(&s) % 12);
                break;
            }
        }
        rc = flow__msg_decode(f.data, f.len, &msg, &info, why, sizeof(why));
        if (rc == 0) {
            decoded++;
            if (msg)
                check_fuzzed(&f, &msg);
            else
                assert_int_equal(info.kind, FLOW_FRAME_EOS);
        } else {
            assert_int_equal(rc, FLOW_EPROTO);
            assert_null(msg);
        }
        frame_free(&f);
    }
    /* The mutations are not all fatal: some frames still decode. */
    assert_true(decoded > 1000);
    for (int i = 0; i < 5; i++)
        frame_free(&seeds[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_new_and_types),
        cmocka_unit_test(test_msg_int64),
        cmocka_unit_test(test_msg_words),
        cmocka_unit_test(test_msg_words_bulk),
        cmocka_unit_test(test_msg_bytes),
        cmocka_unit_test(test_msg_clear),
        cmocka_unit_test(test_msg_encode_layout),
        cmocka_unit_test(test_msg_roundtrip_small),
        cmocka_unit_test(test_msg_many_empty_words),
        cmocka_unit_test(test_msg_roundtrip_big),
        cmocka_unit_test(test_msg_roundtrip_empty),
        cmocka_unit_test(test_msg_roundtrip_empty_no_capacity),
        cmocka_unit_test(test_msg_through_zmq),
        cmocka_unit_test(test_msg_received_sent_on),
        cmocka_unit_test(test_msg_words_offsets_copied),
        cmocka_unit_test(test_msg_cleared_after_receive),
        cmocka_unit_test(test_msg_reuse_starts_empty),
        cmocka_unit_test(test_msg_recv_slot_reuse),
        cmocka_unit_test(test_msg_recv_slot_trims),
        cmocka_unit_test(test_msg_resize_extend),
        cmocka_unit_test(test_msg_extend_bytes),
        cmocka_unit_test(test_msg_extend_bytes_zmq),
        cmocka_unit_test(test_msg_extend_bytes_harness),
        cmocka_unit_test(test_msg_extend_bytes_run),
        cmocka_unit_test(test_msg_eos),
        cmocka_unit_test(test_msg_frame_info),
        cmocka_unit_test(test_msg_limits),
        cmocka_unit_test(test_msg_decode_rejects_malformed),
        cmocka_unit_test(test_msg_decode_short_reason),
        cmocka_unit_test(test_msg_decode_fuzz),
    };

    tu_watchdog(60);
    return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
