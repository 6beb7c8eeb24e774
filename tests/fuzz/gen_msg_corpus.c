/* SPDX-License-Identifier: MIT */
/*
 * gen_msg_corpus.c: writes the seed corpus of fuzz_msg into the directory
 * given as its argument: valid frames of every item type made by the real
 * encoder (empty, one item, several, with and without a sequence number),
 * end-of-stream frames, and a few malformed frames, one per decoder check.
 * Its output is committed as tests/fuzz/corpus/msg/; rerun it after a wire
 * format change:
 *
 *   cmake --build BUILD --target gen_msg_corpus
 *   BUILD/bin/gen_msg_corpus tests/fuzz/corpus/msg
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *outdir;

/* Write `len` bytes at `data` as file `name`, after checking that they
 * decode if and only if the name does not start with "bad_". */
static void
put(const char *name, const void *data, size_t len)
{
    char path[4096], why[128] = "";
    flow_frame_info_t info;
    flow_msg_t *msg = NULL;
    FILE *f;
    int rc = flow__msg_decode(data, len, &msg, &info, why, sizeof(why));

    flow_msg_destroy(&msg);
    if (!rc == !strncmp(name, "bad_", 4)) {
        fprintf(stderr, "gen_msg_corpus: %s: decode gives %d (%s)\n", name, rc,
                why);
        exit(1);
    }
    if (rc)
        printf("%s: %s\n", name, why);

    snprintf(path, sizeof(path), "%s/%s", outdir, name);
    f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f)) {
        fprintf(stderr, "gen_msg_corpus: cannot write '%s'\n", path);
        exit(1);
    }
}

/* Encode `msg` (taken) from `src`, write it as `name`, return the frame. */
static unsigned char *
put_msg(const char *name, flow_msg_t *msg, uint32_t src, size_t *len)
{
    void *frame;

    flow__msg_encode(&msg, src, &frame, len);
    put(name, frame, *len);
    return frame;
}

/* Write `frame` with byte `at` set to `value` (and `len` bytes) as `name`. */
static void
put_patched(const char *name, const unsigned char *frame, size_t len, size_t at,
            unsigned char value)
{
    unsigned char *copy = malloc(len);

    if (!copy)
        exit(1);
    memcpy(copy, frame, len);
    if (at < len)
        copy[at] = value;
    put(name, copy, len);
    free(copy);
}

int
main(int argc, char **argv)
{
    static const int64_t nums[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 42 };
    static const char *const words[] = { "abba", "", "kayak", "x" };
    unsigned char eos[FLOW_WIRE_HDR];
    unsigned char *i64, *w, *w1, *b;
    size_t i64len, wlen, w1len, blen, len;
    flow_msg_t *m;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];

    /* Valid data frames. */
    free(put_msg("int64_empty", flow_msg_new(FLOW_INT64, 0), 0, &len));
    m = flow_msg_new(FLOW_INT64, 0);
    flow_msg_add_i64(m, 7);
    free(put_msg("int64_one", m, 1, &len));
    m = flow_msg_new(FLOW_INT64, 0);
    flow_msg_add_i64s(m, nums, sizeof(nums) / sizeof(*nums));
    flow_msg_set_seq(m, 12345);
    i64 = put_msg("int64_seq", m, 3, &i64len);

    free(put_msg("words_empty", flow_msg_new(FLOW_WORDS, 0), 0, &len));
    m = flow_msg_new(FLOW_WORDS, 0);
    flow_msg_add_word(m, "level", 5);
    w1 = put_msg("words_one", m, 2, &w1len);
    m = flow_msg_new(FLOW_WORDS, 0);
    for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
        flow_msg_add_word(m, words[i], strlen(words[i]));
    flow_msg_set_seq(m, 9);
    w = put_msg("words_seq", m, 7, &wlen);

    free(put_msg("bytes_empty", flow_msg_new(FLOW_BYTES, 0), 0, &len));
    m = flow_msg_new(FLOW_BYTES, 0);
    flow_msg_add_bytes(m, "\x00\xff\x01 bytes", 9);
    flow_msg_set_seq(m, 0);
    b = put_msg("bytes_seq", m, UINT32_MAX, &blen);

    /* End of stream. */
    flow__msg_encode_eos(0, 0, false, eos);
    put("eos_zero", eos, sizeof(eos));
    flow__msg_encode_eos(2, 77, true, eos);
    put("eos_cut", eos, sizeof(eos));
    flow__msg_encode_eos(4, 123456789012u, false, eos);
    put("eos_count", eos, sizeof(eos));

    /* Malformed: one decoder check each. */
    put("bad_short_header", i64, FLOW_WIRE_HDR - 1);
    put_patched("bad_magic", i64, i64len, 0, 'X');
    put_patched("bad_reserved", i64, i64len, 6, 1);
    put_patched("bad_kind", i64, i64len, 4, 3);
    put_patched("bad_type", i64, i64len, 5, 4);
    put("bad_int64_length", i64, i64len - 1);
    put_patched("bad_eos_type", eos, sizeof(eos), 5, 1);
    put_patched("bad_eos_count", eos, sizeof(eos), 12, 2); /* no such flag */
    put_patched("bad_bytes_count", b, blen, 12, 10);
    /* words: first offset 0, a terminator replaced, trailing byte. */
    put_patched("bad_words_offset", w, wlen, FLOW_WIRE_HDR, 0);
    put_patched("bad_words_terminator", w, wlen, wlen - 1, 'y');
    put_patched("bad_words_count", w, wlen, 12, 3);
    put("bad_words_short", w, FLOW_WIRE_HDR + 4 * 2);
    {
        unsigned char trail[64];
        memcpy(trail, w1, w1len);
        trail[w1len] = 'z';
        put("bad_words_trailing", trail, w1len + 1);
    }
    free(i64);
    free(w);
    free(w1);
    free(b);
    return 0;
}
