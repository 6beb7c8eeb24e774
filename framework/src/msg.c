/* SPDX-License-Identifier: MIT */
/*
 * msg.c: typed message batches and their wire format.
 *
 * A frame is a 24-byte header (magic, kind, item type, sender instance, item
 * count, sequence number or, for end-of-stream, the number of data frames
 * sent) followed by the payload: int64 items, raw bytes, or for words the
 * end offset of each word (uint32) and then the words, each NUL-terminated.
 * The message keeps its payload right after room for the header, so int64
 * and byte messages are sent without a copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "internal.h"

struct flow_msg {
    flow_type_t type;
    uint64_t seq;
    size_t count;
    unsigned char *buf; /* FLOW_WIRE_HDR bytes of room, then the payload */
    size_t len;         /* payload bytes used */
    size_t cap;         /* payload bytes allocated */
    uint32_t *offs;     /* words: end offset of each word in the payload */
    size_t offcap;
    bool zowned; /* buf lies in zmsg, a received frame (no copy) */
    zmq_msg_t zmsg;
};

/* Move a received frame's payload into memory of our own. */
static void
unshare(flow_msg_t *msg)
{
    unsigned char *b;

    if (!msg->zowned)
        return;
    b = flow__xmalloc(FLOW_WIRE_HDR + (msg->len ? msg->len : 1));
    memcpy(b, msg->buf, FLOW_WIRE_HDR + msg->len);
    zmq_msg_close(&msg->zmsg);
    msg->zowned = false;
    msg->buf = b;
    msg->cap = msg->len;
}

static void
reserve(flow_msg_t *msg, size_t extra)
{
    size_t need = msg->len + extra;
    size_t c;

    unshare(msg);
    if (need <= msg->cap && msg->buf)
        return;
    c = msg->cap ? msg->cap : 64;
    while (c < need)
        c *= 2;
    msg->buf = flow__xrealloc(msg->buf, FLOW_WIRE_HDR + c);
    msg->cap = c;
}

flow_msg_t *
flow_msg_new(flow_type_t type, size_t capacity)
{
    flow_msg_t *msg;

    if (type != FLOW_INT64 && type != FLOW_WORDS && type != FLOW_BYTES)
        return NULL;
    msg = flow__xcalloc(1, sizeof(*msg));
    msg->type = type;
    msg->seq = FLOW_SEQ_NONE;
    if (capacity > (1u << 24))
        capacity = 1u << 24;
    if (type == FLOW_INT64)
        reserve(msg, capacity * sizeof(int64_t));
    else if (type == FLOW_WORDS)
        reserve(msg, capacity * 8);
    else
        reserve(msg, capacity);
    return msg;
}

void
flow_msg_destroy(flow_msg_t **msg_p)
{
    flow_msg_t *msg;

    if (!msg_p || !*msg_p)
        return;
    msg = *msg_p;
    if (msg->zowned)
        zmq_msg_close(&msg->zmsg);
    else
        free(msg->buf);
    free(msg->offs);
    free(msg);
    *msg_p = NULL;
}

flow_type_t
flow_msg_type(const flow_msg_t *msg)
{
    return msg->type;
}

size_t
flow_msg_count(const flow_msg_t *msg)
{
    return msg->count;
}

uint64_t
flow_msg_seq(const flow_msg_t *msg)
{
    return msg->seq;
}

void
flow_msg_set_seq(flow_msg_t *msg, uint64_t seq)
{
    msg->seq = seq;
}

void
flow_msg_clear(flow_msg_t *msg)
{
    msg->count = 0;
    msg->len = 0;
}

int
flow_msg_add_i64(flow_msg_t *msg, int64_t value)
{
    if (msg->type != FLOW_INT64 || msg->count >= UINT32_MAX)
        return FLOW_EPROTO;
    reserve(msg, sizeof(value));
    memcpy(msg->buf + FLOW_WIRE_HDR + msg->len, &value, sizeof(value));
    msg->len += sizeof(value);
    msg->count++;
    return 0;
}

int
flow_msg_add_i64s(flow_msg_t *msg, const int64_t *values, size_t n)
{
    if (msg->type != FLOW_INT64 || n > UINT32_MAX - msg->count)
        return FLOW_EPROTO;
    if (n == 0)
        return 0;
    reserve(msg, n * sizeof(*values));
    memcpy(msg->buf + FLOW_WIRE_HDR + msg->len, values, n * sizeof(*values));
    msg->len += n * sizeof(*values);
    msg->count += n;
    return 0;
}

int64_t *
flow_msg_i64(flow_msg_t *msg)
{
    if (msg->type != FLOW_INT64)
        return NULL;
    /* The payload starts 24 bytes into a malloc'ed block: 8-aligned. */
    return (int64_t *)(void *)(msg->buf + FLOW_WIRE_HDR);
}

int
flow_msg_resize(flow_msg_t *msg, size_t count)
{
    size_t size = msg->type == FLOW_INT64 ? sizeof(int64_t) : 1;
    size_t len = count * size;

    if ((msg->type != FLOW_INT64 && msg->type != FLOW_BYTES) ||
        count > UINT32_MAX)
        return FLOW_EPROTO;
    if (len > msg->len) {
        reserve(msg, len - msg->len);
        memset(msg->buf + FLOW_WIRE_HDR + msg->len, 0, len - msg->len);
    } else {
        unshare(msg); /* a received frame keeps its size until sent */
    }
    msg->len = len;
    msg->count = count;
    return 0;
}

int
flow_msg_add_word(flow_msg_t *msg, const char *word, size_t len)
{
    if (msg->type != FLOW_WORDS || msg->count >= UINT32_MAX)
        return FLOW_EPROTO;
    if (memchr(word, '\0', len))
        return FLOW_EPARAM;
    if (msg->len + len + 1 > UINT32_MAX)
        return FLOW_EPROTO;
    reserve(msg, len + 1);
    flow__xgrow((void **)&msg->offs, &msg->offcap, msg->count + 1,
                sizeof(*msg->offs));
    memcpy(msg->buf + FLOW_WIRE_HDR + msg->len, word, len);
    msg->buf[FLOW_WIRE_HDR + msg->len + len] = '\0';
    msg->len += len + 1;
    msg->offs[msg->count++] = (uint32_t)msg->len;
    return 0;
}

const char *
flow_msg_word(const flow_msg_t *msg, size_t index, size_t *len)
{
    size_t start;

    if (msg->type != FLOW_WORDS || index >= msg->count)
        return NULL;
    start = index ? msg->offs[index - 1] : 0;
    if (len)
        *len = msg->offs[index] - start - 1;
    return (const char *)msg->buf + FLOW_WIRE_HDR + start;
}

int
flow_msg_add_bytes(flow_msg_t *msg, const void *data, size_t len)
{
    if (msg->type != FLOW_BYTES || len > UINT32_MAX - msg->count)
        return FLOW_EPROTO;
    if (len == 0)
        return 0;
    reserve(msg, len);
    memcpy(msg->buf + FLOW_WIRE_HDR + msg->len, data, len);
    msg->len += len;
    msg->count += len;
    return 0;
}

const void *
flow_msg_bytes(const flow_msg_t *msg, size_t *len)
{
    if (msg->type != FLOW_BYTES)
        return NULL;
    if (len)
        *len = msg->len;
    return msg->buf + FLOW_WIRE_HDR;
}

const char *
flow_type_name(flow_type_t type)
{
    switch (type) {
    case FLOW_ANY:
        return "any";
    case FLOW_INT64:
        return "int64";
    case FLOW_WORDS:
        return "words";
    case FLOW_BYTES:
        return "bytes";
    }
    return "unknown";
}

static void
put_header(unsigned char *h, int kind, int type, uint32_t src, uint32_t count,
           uint64_t seq)
{
    uint32_t magic = FLOW_WIRE_MAGIC;
    uint16_t pad = 0;

    memcpy(h, &magic, 4);
    h[4] = (unsigned char)kind;
    h[5] = (unsigned char)type;
    memcpy(h + 6, &pad, 2);
    memcpy(h + 8, &src, 4);
    memcpy(h + 12, &count, 4);
    memcpy(h + 16, &seq, 8);
}

void
flow__msg_encode(flow_msg_t **msg_p, uint32_t src, void **frame, size_t *len)
{
    flow_msg_t *msg = *msg_p;
    unsigned char *f;

    *msg_p = NULL;
    unshare(msg);
    if (msg->type == FLOW_WORDS) {
        size_t olen = msg->count * sizeof(uint32_t);
        f = flow__xmalloc(FLOW_WIRE_HDR + olen + msg->len);
        if (olen)
            memcpy(f + FLOW_WIRE_HDR, msg->offs, olen);
        if (msg->len)
            memcpy(f + FLOW_WIRE_HDR + olen, msg->buf + FLOW_WIRE_HDR,
                   msg->len);
        *len = FLOW_WIRE_HDR + olen + msg->len;
        free(msg->buf);
    } else {
        f = msg->buf;
        *len = FLOW_WIRE_HDR + msg->len;
    }
    put_header(f, FLOW_FRAME_DATA, msg->type, src, (uint32_t)msg->count,
               msg->seq);
    free(msg->offs);
    free(msg);
    *frame = f;
}

void
flow__msg_encode_eos(uint32_t src, uint64_t sent, unsigned char *frame)
{
    put_header(frame, FLOW_FRAME_EOS, 0, src, 0, sent);
}

static int
bad(char *why, size_t whylen, const char *reason)
{
    snprintf(why, whylen, "%s", reason);
    return FLOW_EPROTO;
}

int
flow__msg_decode(const void *frame, size_t len, flow_msg_t **msg_p,
                 flow_frame_info_t *info, char *why, size_t whylen)
{
    const unsigned char *f = frame;
    uint32_t magic, count;
    uint64_t seq;
    size_t plen;
    flow_msg_t *msg;

    *msg_p = NULL;
    if (len < FLOW_WIRE_HDR)
        return bad(why, whylen, "truncated frame header");
    memcpy(&magic, f, 4);
    if (magic != FLOW_WIRE_MAGIC)
        return bad(why, whylen, "bad frame magic");
    if (f[6] || f[7])
        return bad(why, whylen, "nonzero reserved header bytes");
    memcpy(&info->src, f + 8, 4);
    memcpy(&count, f + 12, 4);
    memcpy(&seq, f + 16, 8);
    info->kind = f[4];
    plen = len - FLOW_WIRE_HDR;
    if (f[4] == FLOW_FRAME_EOS) {
        if (plen != 0 || count != 0 || f[5] != 0)
            return bad(why, whylen, "malformed end-of-stream frame");
        info->count = seq;
        return 0;
    }
    if (f[4] != FLOW_FRAME_DATA)
        return bad(why, whylen, "unknown frame kind");
    info->count = 0;
    switch (f[5]) {
    case FLOW_INT64:
        if (plen != (size_t)count * sizeof(int64_t))
            return bad(why, whylen, "int64 frame length does not match count");
        break;
    case FLOW_BYTES:
        if (plen != count)
            return bad(why, whylen, "bytes frame length does not match count");
        break;
    case FLOW_WORDS: {
        size_t olen = (size_t)count * sizeof(uint32_t);
        const unsigned char *data;
        uint32_t prev = 0, end;
        size_t dlen;

        if (plen < olen)
            return bad(why, whylen, "words frame shorter than its offsets");
        data = f + FLOW_WIRE_HDR + olen;
        dlen = plen - olen;
        for (uint32_t i = 0; i < count; i++) {
            memcpy(&end, f + FLOW_WIRE_HDR + (size_t)i * 4, 4);
            if (end <= prev || end > dlen)
                return bad(why, whylen, "words frame has a bad offset");
            if (data[end - 1] != '\0' ||
                memchr(data + prev, '\0', end - 1 - prev))
                return bad(why, whylen, "words frame has a bad terminator");
            prev = end;
        }
        if (prev != dlen)
            return bad(why, whylen, "words frame has trailing bytes");
        msg = flow_msg_new(FLOW_WORDS, 0);
        reserve(msg, dlen);
        if (dlen)
            memcpy(msg->buf + FLOW_WIRE_HDR, data, dlen);
        msg->len = dlen;
        flow__xgrow((void **)&msg->offs, &msg->offcap, count ? count : 1,
                    sizeof(*msg->offs));
        if (olen)
            memcpy(msg->offs, f + FLOW_WIRE_HDR, olen);
        msg->count = count;
        msg->seq = seq;
        *msg_p = msg;
        return 0;
    }
    default:
        return bad(why, whylen, "unknown item type");
    }
    msg = flow_msg_new((flow_type_t)f[5], 0);
    reserve(msg, plen);
    if (plen)
        memcpy(msg->buf + FLOW_WIRE_HDR, f + FLOW_WIRE_HDR, plen);
    msg->len = plen;
    msg->count = count;
    msg->seq = seq;
    *msg_p = msg;
    return 0;
}

/* Frames up to this size are copied into ZeroMQ rather than handed over. */
#define FLOW_COPY_MAX 2048

static void
free_frame(void *data, void *hint)
{
    (void)hint;
    free(data);
}

void
flow__msg_to_zmq(flow_msg_t **msg_p, uint32_t src, zmq_msg_t *out)
{
    flow_msg_t *msg = *msg_p;
    void *frame;
    size_t len;

    if (msg->zowned && zmq_msg_size(&msg->zmsg) == FLOW_WIRE_HDR + msg->len) {
        /* A received frame going out again: rewrite its header only. */
        put_header(msg->buf, FLOW_FRAME_DATA, msg->type, src,
                   (uint32_t)msg->count, msg->seq);
        zmq_msg_init(out);
        zmq_msg_move(out, &msg->zmsg);
        free(msg->offs);
        free(msg);
        *msg_p = NULL;
        return;
    }
    flow__msg_encode(msg_p, src, &frame, &len);
    if (len <= FLOW_COPY_MAX) {
        /* Small frames: a copy into ZeroMQ's own buffer is cheaper than a
         * free() called later from ZeroMQ's I/O thread. */
        if (zmq_msg_init_size(out, len)) {
            fprintf(stderr, "flow: fatal: cannot make a frame of %zu bytes\n",
                    len);
            abort();
        }
        memcpy(zmq_msg_data(out), frame, len);
        free(frame);
        return;
    }
    if (zmq_msg_init_data(out, frame, len, free_frame, NULL)) {
        fprintf(stderr, "flow: fatal: cannot wrap a frame of %zu bytes\n", len);
        abort();
    }
}

/* True if `f` is a well-formed int64 or bytes data frame of `len` bytes
 * whose payload is 8-aligned: one the receiver can keep as it is. */
static bool
keepable(const unsigned char *f, size_t len)
{
    uint32_t magic, count;

    if (len < FLOW_WIRE_HDR ||
        ((uintptr_t)(f + FLOW_WIRE_HDR) % sizeof(int64_t)) != 0)
        return false;
    memcpy(&magic, f, 4);
    memcpy(&count, f + 12, 4);
    if (magic != FLOW_WIRE_MAGIC || f[4] != FLOW_FRAME_DATA || f[6] || f[7])
        return false;
    if (f[5] == FLOW_INT64)
        return len - FLOW_WIRE_HDR == (size_t)count * sizeof(int64_t);
    if (f[5] == FLOW_BYTES)
        return len - FLOW_WIRE_HDR == count;
    return false;
}

int
flow__msg_from_zmq(zmq_msg_t *zm, flow_msg_t **msg_p, flow_frame_info_t *info,
                   char *why, size_t whylen)
{
    const unsigned char *f = zmq_msg_data(zm);
    size_t len = zmq_msg_size(zm);
    flow_msg_t *msg;
    uint32_t count;
    int rc;

    if (!keepable(f, len)) {
        /* Words, end markers, misaligned or malformed frames. */
        rc = flow__msg_decode(f, len, msg_p, info, why, whylen);
        zmq_msg_close(zm);
        return rc;
    }
    msg = flow__xcalloc(1, sizeof(*msg));
    msg->type = (flow_type_t)f[5];
    memcpy(&info->src, f + 8, 4);
    memcpy(&count, f + 12, 4);
    memcpy(&msg->seq, f + 16, 8);
    info->kind = FLOW_FRAME_DATA;
    info->count = 0;
    msg->count = count;
    msg->len = len - FLOW_WIRE_HDR;
    msg->cap = msg->len;
    zmq_msg_init(&msg->zmsg);
    zmq_msg_move(&msg->zmsg, zm);
    msg->zowned = true;
    msg->buf = zmq_msg_data(&msg->zmsg);
    *msg_p = msg;
    return 0;
}
