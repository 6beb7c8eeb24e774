/* SPDX-License-Identifier: MIT */
/*
 * fuzz_msg.c: libFuzzer target for the wire decoder (flow__msg_decode).
 *
 * Whatever the bytes, decoding must fail cleanly or succeed. When it
 * succeeds the frame must encode back to the same bytes, every accessor of
 * the decoded message must stay within the payload it reports, and the
 * message must still grow (one more item) and survive another round trip.
 *
 * The same frame is also received as a node receives it
 * (flow__msg_from_zmq: the message keeps the frame's memory, no copy), at
 * a few alignments of the frame in its buffer: it must decode as
 * flow__msg_decode says, forward as it is (flow__msg_to_zmq) to the same
 * bytes, and pass the same checks, growing included (a bytes message by a
 * byte written in place, flow_msg_extend_bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

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

/* Add one item of the message's type to `msg`: what flow_msg_add_*
 * returns. */
static int
add_one(flow_msg_t *msg)
{
    switch (flow_msg_type(msg)) {
    case FLOW_INT64:
        return flow_msg_add_i64(msg, -1);
    case FLOW_BYTES:
        return flow_msg_add_bytes(msg, "z", 1);
    default:
        return flow_msg_add_word(msg, "grown", 5);
    }
}

/* As add_one, with bytes written in place (flow_msg_extend_bytes), which
 * refuses every other type without a change. */
static int
add_one_in_place(flow_msg_t *msg)
{
    size_t count = flow_msg_count(msg);
    unsigned char *p;

    if (flow_msg_type(msg) != FLOW_BYTES) {
        if (flow_msg_extend_bytes(msg, 1) || flow_msg_count(msg) != count)
            abort();
        return add_one(msg);
    }
    if (!(p = flow_msg_extend_bytes(msg, 1)))
        return FLOW_EPROTO;
    *p = 'z';
    return 0;
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
    rc = add_one(msg);
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

static void
free_shifted(void *data, void *hint)
{
    free((unsigned char *)data - (uintptr_t)hint);
}

/* Receive the `len` bytes at `frame` as a node does, the frame lying
 * `shift` bytes into a buffer of its exact size (shift 0: a buffer of
 * libzmq's, which holds a small frame inside the zmq_msg_t itself). */
static int
from_zmq(const unsigned char *frame, size_t len, size_t shift,
         flow_msg_t **msg_p, flow_frame_info_t *info)
{
    zmq_msg_t zm;
    char why[64];
    int rc;

    if (shift) {
        unsigned char *mem = malloc(len + shift);
        if (!mem)
            abort();
        if (len)
            memcpy(mem + shift, frame, len);
        if (zmq_msg_init_data(&zm, mem + shift, len, free_shifted,
                              (void *)(uintptr_t)shift))
            abort();
    } else {
        if (zmq_msg_init_size(&zm, len))
            abort();
        if (len)
            memcpy(zmq_msg_data(&zm), frame, len);
    }
    memset(why, 'x', sizeof(why));
    *msg_p = (flow_msg_t *)info; /* must be overwritten */
    rc = flow__msg_from_zmq(&zm, msg_p, info, why, sizeof(why));
    if (rc && (rc != FLOW_EPROTO || *msg_p || !memchr(why, '\0', sizeof(why)) ||
               !why[0]))
        abort();
    return rc;
}

/* The checks of the received frame at `frame` (`len` bytes), which
 * flow__msg_decode decoded as `want` said (`rc`). */
static void
check_zero_copy(const unsigned char *frame, size_t len, int want_rc,
                const flow_frame_info_t *want)
{
    static const size_t shifts[] = { 0, 1, 4 };

    for (size_t s = 0; s < sizeof(shifts) / sizeof(*shifts); s++) {
        flow_frame_info_t info;
        flow_msg_t *msg;
        zmq_msg_t out;
        char why[64];
        int rc = from_zmq(frame, len, shifts[s], &msg, &info);

        if (rc != want_rc)
            abort();
        if (rc)
            continue;
        if (info.kind != want->kind || info.src != want->src ||
            (info.kind == FLOW_FRAME_EOS) != !msg)
            abort();
        if (!msg)
            continue;
        /* Forwarded untouched: the frame as it came. */
        if (flow__msg_to_zmq(&msg, info.src, &out) != len || msg ||
            zmq_msg_size(&out) != len || memcmp(zmq_msg_data(&out), frame, len))
            abort();
        zmq_msg_close(&out);
        /* Read, then grown (bytes written in place): its items move to
         * memory of its own. */
        if (from_zmq(frame, len, shifts[s], &msg, &info) || !msg)
            abort();
        check_items(msg);
        rc = add_one_in_place(msg);
        if (rc) {
            if (flow_msg_count(msg) < UINT32_MAX)
                abort();
            flow_msg_destroy(&msg);
            continue;
        }
        check_items(msg);
        if (flow_msg_count(msg) != want->items + 1)
            abort();
        flow__msg_to_zmq(&msg, info.src, &out);
        /* All but the header's count and the added item are the frame's. */
        if (flow__msg_decode(zmq_msg_data(&out), zmq_msg_size(&out), &msg,
                             &info, why, sizeof(why)) ||
            !msg || flow_msg_count(msg) != want->items + 1)
            abort();
        if (flow_msg_type(msg) == FLOW_BYTES &&
            ((const unsigned char *)flow_msg_bytes(msg, NULL))[want->items] !=
                'z')
            abort();
        check_items(msg);
        flow_msg_destroy(&msg);
        zmq_msg_close(&out);
    }
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
    check_zero_copy(frame, size, rc, &info);
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
