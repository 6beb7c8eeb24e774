/* SPDX-License-Identifier: MIT */
/*
 * fuzz_msg.c: libFuzzer target for the wire decoder (flow__msg_decode).
 *
 * Whatever the bytes, decoding must fail cleanly or succeed. When it
 * succeeds the frame must encode back to the same bytes, every accessor of
 * the decoded message must stay within the payload it reports, and the
 * message must still grow (one more item) and survive another round trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every item through the public accessors; abort on an inconsistency.
 * AddressSanitizer catches any access past the message's own buffers. */
static void
check_items(const flow_msg_t *msg)
{
    size_t count = flow_msg_count(msg);
    volatile unsigned sink = 0;

    switch (flow_msg_type(msg)) {
    case FLOW_INT64: {
        const int64_t *v = flow_msg_i64((flow_msg_t *)msg);
        if (!v)
            abort();
        for (size_t i = 0; i < count; i++)
            sink += (unsigned)v[i];
        if (flow_msg_bytes(msg, NULL) || flow_msg_word(msg, 0, NULL))
            abort();
        break;
    }
    case FLOW_BYTES: {
        size_t len = (size_t)-1;
        const unsigned char *b = flow_msg_bytes(msg, &len);
        if (!b || len != count)
            abort();
        for (size_t i = 0; i < len; i++)
            sink += b[i];
        break;
    }
    case FLOW_WORDS:
        for (size_t i = 0; i < count; i++) {
            size_t len = (size_t)-1;
            const char *w = flow_msg_word(msg, i, &len);
            if (!w || strlen(w) != len)
                abort();
        }
        if (flow_msg_word(msg, count, NULL))
            abort();
        break;
    default:
        abort();
    }
    (void)sink;
}

/* Encode `*msg_p` (taken) from `src` and return the malloc'ed frame. */
static unsigned char *
encode(flow_msg_t **msg_p, uint32_t src, size_t *len)
{
    void *frame = NULL;

    flow__msg_encode(msg_p, src, &frame, len);
    if (*msg_p || !frame)
        abort();
    return frame;
}

static void
check_grow(const unsigned char *frame, size_t len)
{
    flow_frame_info_t info, info2;
    flow_msg_t *msg = NULL, *again = NULL;
    unsigned char *out;
    size_t olen, count;
    char why[128];
    int rc;

    if (flow__msg_decode(frame, len, &msg, &info, why, sizeof(why)) || !msg)
        abort();
    count = flow_msg_count(msg);
    switch (flow_msg_type(msg)) {
    case FLOW_INT64:
        rc = flow_msg_add_i64(msg, -1);
        break;
    case FLOW_BYTES:
        rc = flow_msg_add_bytes(msg, "z", 1);
        break;
    default:
        rc = flow_msg_add_word(msg, "grown", 5);
        break;
    }
    if (rc) {
        /* Only a message already at the 2^32 - 1 item limit may refuse. */
        if (count < UINT32_MAX)
            abort();
        flow_msg_destroy(&msg);
        return;
    }
    out = encode(&msg, info.src, &olen);
    if (flow__msg_decode(out, olen, &again, &info2, why, sizeof(why)) ||
        !again || flow_msg_count(again) != count + 1 || info2.src != info.src)
        abort();
    check_items(again);
    flow_msg_destroy(&again);
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that AddressSanitizer sees any read past the
     * end (libFuzzer's own buffer is exact too; the replay main's is not
     * necessarily). */
    unsigned char *frame = malloc(size ? size : 1);
    flow_frame_info_t info;
    flow_msg_t *msg = (flow_msg_t *)&info; /* must be overwritten */
    unsigned char *out;
    size_t olen;
    char why[64];
    int rc;

    if (!frame)
        return 0;
    if (size)
        memcpy(frame, data, size);
    memset(why, 'x', sizeof(why));
    rc = flow__msg_decode(frame, size, &msg, &info, why, sizeof(why));
    if (rc) {
        if (rc != FLOW_EPROTO || msg || !memchr(why, '\0', sizeof(why)) ||
            !why[0])
            abort();
        free(frame);
        return 0;
    }
    if (info.kind == FLOW_FRAME_EOS) {
        unsigned char eos[FLOW_WIRE_HDR];
        if (msg || size != FLOW_WIRE_HDR)
            abort();
        flow__msg_encode_eos(info.src, info.count, info.cut, eos);
        if (memcmp(eos, frame, FLOW_WIRE_HDR))
            abort();
        free(frame);
        return 0;
    }
    if (info.kind != FLOW_FRAME_DATA || !msg)
        abort();
    check_items(msg);
    out = encode(&msg, info.src, &olen);
    if (olen != size || memcmp(out, frame, size))
        abort();
    free(out);
    check_grow(frame, size);
    free(frame);
    return 0;
}
