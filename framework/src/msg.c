/* SPDX-License-Identifier: MIT */
/*
 * msg.c: typed message batches and their wire format.
 *
 * A frame is a 24-byte header (magic, kind, item type, sender instance, item
 * count or, for end-of-stream, its flags (FLOW_EOS_CUT), sequence number
 * or, for end-of-stream, the number of data frames sent) followed by the
 * payload: int64 items, raw bytes, or for words the end offset of each word
 * (uint32) and then the words, each NUL-terminated.
 * The message keeps its payload right after room for the header, so int64
 * and byte messages are sent without a copy.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "internal.h"

/* Under AddressSanitizer messages are not pooled, so a use after
 * flow_msg_destroy is caught as a use after free. */
#if FLOW__ASAN
#define FLOW_MSG_NO_POOL 1
#endif

struct flow_msg {
    flow_type_t type;
    uint64_t seq;
    size_t count;
    unsigned char *buf; /* FLOW_WIRE_HDR bytes of room, then the payload:
                           mem, or inside zmsg when zowned */
    size_t len;         /* payload bytes used */
    size_t cap;         /* payload bytes available at buf */
    uint32_t *offs;     /* words: end offset of each word in the payload:
                           own_offs, or inside zmsg when zowned */
    unsigned char *mem; /* our own memory: FLOW_WIRE_HDR + memcap bytes */
    size_t memcap;
    uint32_t *own_offs; /* our own offsets: offcap entries */
    size_t offcap;
    bool zowned; /* buf (and offs) lie in zmsg, a received frame, as it
                    arrived: no copy was made */
    size_t zlen; /* when zowned, the frame's length (0: none received) */
    bool zheld;  /* in the pool, zmsg still holds a small frame no longer
                    used: the next receive into it closes it, as a raw
                    zmq_msg_recv into the same zmq_msg_t does */
    zmq_msg_t zmsg;
    flow_msg_t *next; /* in the thread's pool of spare messages */
    bool pooled;      /* there: destroyed or sent, not yet reused */
};

/*
 * Each thread keeps a few destroyed messages, with their memory, for the
 * next flow_msg_new: a stream of small messages then costs no allocation
 * at all.
 */
#ifdef FLOW_MSG_NO_POOL
#define POOL_MAX 0
#else
#define POOL_MAX 16 /* spare messages per thread */
#endif
#define POOL_KEEP (64u * 1024) /* largest payload memory kept with one */

struct pool {
    flow_msg_t *head;
    unsigned n;
    bool keyed; /* pool_drop is registered for this thread's exit */
};

/* initial-exec: libflow is loaded with the program that uses it, and this
 * model makes each access a plain load instead of a __tls_get_addr call. */
static _Thread_local struct pool pool
    __attribute__((tls_model("initial-exec")));
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* Received frames up to this size lie inside their zmq_msg_t itself
 * (libzmq's very small messages): a pooled message holds on to one until
 * the next receive, which then costs one close instead of two calls. */
#define HOLD_MAX 32

static void
msg_free(flow_msg_t *msg)
{
    if (msg->zowned || msg->zheld)
        zmq_msg_close(&msg->zmsg);
    free(msg->mem);
    free(msg->own_offs);
    free(msg);
}

/* At a thread's exit: free the messages its pool holds. */
static void
pool_drop(void *arg)
{
    struct pool *pl = arg;

    while (pl->head) {
        flow_msg_t *msg = pl->head;
        pl->head = msg->next;
        msg_free(msg);
    }
    pl->n = 0;
}

static void
pool_key_make(void)
{
    (void)pthread_key_create(&pool_key, pool_drop);
}

/* A message of `type`, empty, from the pool or new. Unless `for_recv`, a
 * frame it still holds is closed; with `for_recv` the caller receives into
 * its zmsg (initialized or holding a frame). */
static inline flow_msg_t *
msg_get(flow_type_t type, bool for_recv)
{
    flow_msg_t *msg = pool.head;

    if (msg) {
        pool.head = msg->next;
        pool.n--;
        if (msg->zheld && !for_recv) {
            zmq_msg_close(&msg->zmsg);
            msg->zheld = false;
        }
    } else {
        msg = flow__xcalloc(1, sizeof(*msg));
    }
    msg->type = type;
    msg->seq = FLOW_SEQ_NONE;
    msg->count = 0;
    msg->len = 0;
    msg->zowned = false;
    msg->buf = msg->mem;
    msg->cap = msg->memcap;
    msg->offs = msg->own_offs;
    msg->next = NULL;
    msg->pooled = false;
    return msg;
}

/* This thread's pool, registered for freeing at the thread's exit. */
static void
pool_register(void)
{
    pthread_once(&pool_once, pool_key_make);
    pool.keyed = pthread_setspecific(pool_key, &pool) == 0;
}

/* Free `msg`'s own payload and offset memory if it is larger than a spare
 * message keeps (POOL_KEEP): one large message must not pin its memory. */
static inline void
msg_trim(flow_msg_t *msg)
{
    if (msg->memcap > POOL_KEEP) {
        free(msg->mem);
        msg->mem = NULL;
        msg->memcap = 0;
    }
    if (msg->offcap * sizeof(uint32_t) > POOL_KEEP) {
        free(msg->own_offs);
        msg->own_offs = NULL;
        msg->offcap = 0;
    }
}

/* Give `msg` back: its frame (if any) is released, the rest is pooled. */
static inline void
msg_put(flow_msg_t *msg)
{
    if (pool.n + 1 > POOL_MAX) { /* not >=: POOL_MAX may be 0 */
        msg_free(msg);
        return;
    }
    if (msg->zowned) {
        if (msg->zlen <= HOLD_MAX)
            msg->zheld = true;
        else
            zmq_msg_close(&msg->zmsg);
        msg->zowned = false;
    }
    if (!pool.keyed)
        pool_register();
    msg_trim(msg);
    msg->next = pool.head;
    msg->pooled = true;
    pool.head = msg;
    pool.n++;
}

bool
flow__msg_spent(const flow_msg_t *msg)
{
    return msg->pooled;
}

/* Move a received frame's payload (and word offsets) into our own memory. */
static void
msg_unshare(flow_msg_t *msg)
{
    if (!msg->zowned)
        return;
    if (msg->memcap < msg->len || !msg->mem) {
        size_t c = msg->len ? msg->len : 64;
        free(msg->mem);
        msg->mem = flow__xmalloc(FLOW_WIRE_HDR + c);
        msg->memcap = c;
    }
    if (msg->len)
        memcpy(msg->mem + FLOW_WIRE_HDR, msg->buf + FLOW_WIRE_HDR, msg->len);
    if (msg->type == FLOW_WORDS && msg->count) {
        flow__xgrow((void **)&msg->own_offs, &msg->offcap, msg->count,
                    sizeof(*msg->own_offs));
        memcpy(msg->own_offs, msg->offs, msg->count * sizeof(*msg->offs));
    }
    zmq_msg_close(&msg->zmsg);
    msg->zowned = false;
    msg->buf = msg->mem;
    msg->cap = msg->memcap;
    msg->offs = msg->own_offs;
}

/* Grow `msg` to hold `extra` more payload bytes, in memory of its own. */
static void __attribute__((noinline))
reserve_slow(flow_msg_t *msg, size_t extra)
{
    size_t need = msg->len + extra;
    size_t c;

    if (msg->zowned)
        msg_unshare(msg);
    if (need <= msg->cap && msg->buf)
        return;
    c = msg->cap ? msg->cap : 64;
    while (c < need)
        c *= 2;
    msg->mem = flow__xrealloc(msg->mem, FLOW_WIRE_HDR + c);
    msg->memcap = c;
    msg->buf = msg->mem;
    msg->cap = c;
}

/* Make room in `msg`'s own memory for `extra` more payload bytes. */
static inline void
reserve(flow_msg_t *msg, size_t extra)
{
    if (msg->zowned || extra > msg->cap - msg->len || !msg->buf)
        reserve_slow(msg, extra);
}

flow_msg_t *
flow_msg_new(flow_type_t type, size_t capacity)
{
    flow_msg_t *msg;

    if (type != FLOW_INT64 && type != FLOW_WORDS && type != FLOW_BYTES)
        return NULL;
    msg = msg_get(type, false);
    if (capacity > (1u << 24))
        capacity = 1u << 24;
    if (type == FLOW_INT64)
        reserve(msg, capacity * sizeof(int64_t));
    else if (type == FLOW_WORDS) {
        reserve(msg, capacity * 8);
        if (capacity) {
            flow__xgrow((void **)&msg->own_offs, &msg->offcap, capacity,
                        sizeof(*msg->own_offs));
            msg->offs = msg->own_offs;
        }
    } else
        reserve(msg, capacity);
    return msg;
}

void
flow_msg_destroy(flow_msg_t **msg_p)
{
    if (!msg_p || !*msg_p)
        return;
    if ((*msg_p)->pooled) {
        /* Pooled twice, every later flow_msg_new would hand out the same
         * message: a crash now, as free() gives for a double free. */
        static const char said[] =
            "flow: flow_msg_destroy: message destroyed twice (or after it "
            "was sent): a copy of its pointer was kept\n";
        if (write(STDERR_FILENO, said, sizeof(said) - 1) < 0) {
            /* aborting anyway */
        }
        abort();
    }
    msg_put(*msg_p);
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

/* True if the items of the checked data frame `f` can be used where they
 * lie: int64 items 8-aligned, word offsets 4-aligned. */
static bool
aligned(const unsigned char *f, int type)
{
    uintptr_t a = (uintptr_t)(f + FLOW_WIRE_HDR);

    if (type == FLOW_INT64)
        return a % sizeof(int64_t) == 0;
    if (type == FLOW_WORDS)
        return a % sizeof(uint32_t) == 0;
    return true;
}

int64_t *
flow_msg_i64(flow_msg_t *msg)
{
    if (msg->type != FLOW_INT64)
        return NULL;
    /* A received frame may lie anywhere in libzmq's buffer: items that are
     * not 8-aligned move to our own memory first, where the payload starts
     * 24 bytes into a malloc'ed block. */
    if (msg->zowned && !aligned(msg->buf, FLOW_INT64))
        msg_unshare(msg);
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
        msg_unshare(msg); /* a received frame keeps its size until sent */
    }
    msg->len = len;
    msg->count = count;
    return 0;
}

int64_t *
flow_msg_extend_i64(flow_msg_t *msg, size_t n)
{
    int64_t *items;

    if (msg->type != FLOW_INT64 || n > UINT32_MAX - msg->count)
        return NULL;
    reserve(msg, n * sizeof(int64_t)); /* own memory: 8-aligned items */
    items = (int64_t *)(void *)(msg->buf + FLOW_WIRE_HDR + msg->len);
    msg->len += n * sizeof(int64_t);
    msg->count += n;
    return items;
}

/* True if the `len` bytes at `p` hold a NUL. Words are mostly short: a
 * plain loop beats a call to memchr for them. */
static bool
has_nul(const char *p, size_t len)
{
    if (len > 32)
        return memchr(p, '\0', len) != NULL;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '\0')
            return true;
    return false;
}

int
flow_msg_add_word(flow_msg_t *msg, const char *word, size_t len)
{
    if (msg->type != FLOW_WORDS || msg->count >= UINT32_MAX)
        return FLOW_EPROTO;
    if (has_nul(word, len))
        return FLOW_EPARAM;
    if (msg->len + len + 1 > UINT32_MAX)
        return FLOW_EPROTO;
    if (msg->zowned || msg->len + len + 1 > msg->cap || !msg->buf)
        reserve(msg, len + 1);
    if (msg->count + 1 > msg->offcap) {
        flow__xgrow((void **)&msg->own_offs, &msg->offcap, msg->count + 1,
                    sizeof(*msg->own_offs));
        msg->offs = msg->own_offs;
    }
    if (len) /* word may be NULL when empty */
        memcpy(msg->buf + FLOW_WIRE_HDR + msg->len, word, len);
    msg->buf[FLOW_WIRE_HDR + msg->len + len] = '\0';
    msg->len += len + 1;
    msg->offs[msg->count++] = (uint32_t)msg->len;
    return 0;
}

/* Copy `n` words of `len` bytes from `src` (packed) to `dst`, each followed
 * by a NUL, and set their end offsets from `end` on. Inlined with a
 * constant `len` below: a call to memcpy per word of a few bytes costs more
 * than the copy. */
static inline __attribute__((always_inline)) void
copy_fixed(unsigned char *dst, const char *src, size_t n, size_t len,
           uint32_t *offs, uint32_t end)
{
    for (size_t i = 0; i < n; i++) {
        if (len) /* src may be NULL when the words are empty */
            memcpy(dst, src, len);
        dst[len] = '\0';
        dst += len + 1;
        src += len;
        end += (uint32_t)(len + 1);
        offs[i] = end;
    }
}

int
flow_msg_add_words_fixed(flow_msg_t *msg, const char *letters, size_t n,
                         size_t len)
{
    unsigned char *dst;
    uint32_t *offs;
    uint32_t end;

    if (msg->type != FLOW_WORDS || n > UINT32_MAX - msg->count ||
        (n && len >= (UINT32_MAX - msg->len) / n))
        return FLOW_EPROTO;
    if (n == 0)
        return 0;
    if (len && memchr(letters, '\0', n * len) != NULL)
        return FLOW_EPARAM;
    reserve(msg, n * (len + 1));
    if (msg->count + n > msg->offcap) {
        flow__xgrow((void **)&msg->own_offs, &msg->offcap, msg->count + n,
                    sizeof(*msg->own_offs));
        msg->offs = msg->own_offs;
    }
    dst = msg->buf + FLOW_WIRE_HDR + msg->len;
    offs = msg->offs + msg->count;
    end = (uint32_t)msg->len;
    switch (len) {
    case 0: /* `letters` may be NULL: no pointer arithmetic on it */
        for (size_t i = 0; i < n; i++) {
            dst[i] = '\0';
            offs[i] = end + (uint32_t)(i + 1);
        }
        break;
#define FIXED(L)                                   \
    case L:                                        \
        copy_fixed(dst, letters, n, L, offs, end); \
        break;
        FIXED(1)
        FIXED(2)
        FIXED(3)
        FIXED(4)
        FIXED(5)
        FIXED(6)
        FIXED(7)
        FIXED(8)
#undef FIXED
    default:
        copy_fixed(dst, letters, n, len, offs, end);
        break;
    }
    msg->len += n * (len + 1);
    msg->count += n;
    return 0;
}

int
flow_msg_add_words_of(flow_msg_t *msg, const flow_msg_t *from, size_t first,
                      size_t n)
{
    size_t start, bytes;
    uint32_t base, *offs;

    if (msg->type != FLOW_WORDS || from->type != FLOW_WORDS || msg == from)
        return FLOW_EPROTO;
    if (first > from->count || n > from->count - first)
        return FLOW_EPARAM;
    if (n == 0)
        return 0;
    start = first ? from->offs[first - 1] : 0;
    bytes = from->offs[first + n - 1] - start;
    if (n > UINT32_MAX - msg->count || bytes > UINT32_MAX - msg->len)
        return FLOW_EPROTO;
    reserve(msg, bytes);
    if (msg->count + n > msg->offcap) {
        flow__xgrow((void **)&msg->own_offs, &msg->offcap, msg->count + n,
                    sizeof(*msg->own_offs));
        msg->offs = msg->own_offs;
    }
    memcpy(msg->buf + FLOW_WIRE_HDR + msg->len,
           from->buf + FLOW_WIRE_HDR + start, bytes);
    /* The same words, moved from `start` to the end of `msg`'s. */
    base = (uint32_t)msg->len - (uint32_t)start;
    offs = msg->offs + msg->count;
    for (size_t i = 0; i < n; i++)
        offs[i] = from->offs[first + i] + base;
    msg->len += bytes;
    msg->count += n;
    return 0;
}

const char *
flow_msg_words(const flow_msg_t *msg, const uint32_t **ends)
{
    if (msg->type != FLOW_WORDS) {
        *ends = NULL;
        return NULL;
    }
    *ends = msg->count ? msg->offs : NULL;
    return msg->buf ? (const char *)msg->buf + FLOW_WIRE_HDR : "";
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

void *
flow_msg_extend_bytes(flow_msg_t *msg, size_t n)
{
    unsigned char *bytes;

    if (msg->type != FLOW_BYTES || n > UINT32_MAX - msg->count)
        return NULL;
    /* Own memory, right after room for the header: sent without a copy
     * as flow_msg_add_bytes's bytes are. */
    reserve(msg, n);
    bytes = msg->buf + FLOW_WIRE_HDR + msg->len;
    msg->len += n;
    msg->count += n;
    return bytes;
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
    case FLOW_SAME:
        return "same";
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

/* Bytes of the frame that carries `msg`. */
static size_t
frame_len(const flow_msg_t *msg)
{
    size_t olen = msg->type == FLOW_WORDS ? msg->count * sizeof(uint32_t) : 0;

    return FLOW_WIRE_HDR + olen + msg->len;
}

/* Write the frame of `msg` from `src` to `f` (frame_len bytes). */
static void
frame_write(const flow_msg_t *msg, uint32_t src, unsigned char *f)
{
    size_t olen = msg->type == FLOW_WORDS ? msg->count * sizeof(uint32_t) : 0;

    put_header(f, FLOW_FRAME_DATA, msg->type, src, (uint32_t)msg->count,
               msg->seq);
    if (olen)
        memcpy(f + FLOW_WIRE_HDR, msg->offs, olen);
    if (msg->len)
        memcpy(f + FLOW_WIRE_HDR + olen, msg->buf + FLOW_WIRE_HDR, msg->len);
}

void
flow__msg_encode(flow_msg_t **msg_p, uint32_t src, void **frame, size_t *len)
{
    flow_msg_t *msg = *msg_p;
    unsigned char *f;

    *msg_p = NULL;
    *len = frame_len(msg);
    if (msg->type != FLOW_WORDS && !msg->zowned && msg->mem) {
        /* The payload already follows room for the header: hand it over. */
        f = msg->mem;
        put_header(f, FLOW_FRAME_DATA, msg->type, src, (uint32_t)msg->count,
                   msg->seq);
        msg->mem = NULL;
        msg->memcap = 0;
    } else {
        f = flow__xmalloc(*len);
        frame_write(msg, src, f);
    }
    msg_put(msg);
    *frame = f;
}

void
flow__msg_encode_eos(uint32_t src, uint64_t sent, bool cut,
                     unsigned char *frame)
{
    put_header(frame, FLOW_FRAME_EOS, 0, src, cut ? FLOW_EOS_CUT : 0, sent);
}

static int
bad(char *why, size_t whylen, const char *reason)
{
    snprintf(why, whylen, "%s", reason);
    return FLOW_EPROTO;
}

/*
 * Check the words payload of a frame: `count` end offsets at `o`, then the
 * `dlen` bytes of words at `data`. Offsets must rise, each word must end
 * with its NUL and hold no other: as many NULs as words, one at each end.
 * Returns NULL if well-formed, or the reason.
 */
static const char *
words_check(const unsigned char *o, const unsigned char *data, size_t dlen,
            uint32_t count)
{
    uint32_t prev = 0, end;
    size_t nuls = 0;

    for (uint32_t i = 0; i < count; i++) {
        memcpy(&end, o + (size_t)i * sizeof(end), sizeof(end));
        if (end <= prev || end > dlen)
            return "words frame has a bad offset";
        if (data[end - 1] != '\0')
            return "words frame has a bad terminator";
        prev = end;
    }
    if (prev != dlen)
        return "words frame has trailing bytes";
    /* In blocks of 255 bytes with a byte-wide count: vectorized with byte
     * lanes (a size_t count widens every byte to 64 bits: 4x slower). */
    for (size_t i = 0; i < dlen;) {
        size_t n = dlen - i < 255 ? dlen - i : 255;
        uint8_t c = 0;
        for (size_t j = 0; j < n; j++)
            c = (uint8_t)(c + (data[i + j] == '\0'));
        nuls += c;
        i += n;
    }
    if (nuls != count)
        return "words frame has a bad terminator";
    return NULL;
}

/* What a frame's header says, once checked against its length. */
struct frame_view {
    int type; /* item type (data frames) */
    uint32_t count;
    uint64_t seq;
    size_t olen; /* bytes of word offsets after the header */
    size_t dlen; /* payload bytes after the offsets */
};

/* An int64 data frame's first 8 header bytes, read as one little-endian
 * word: magic, kind, item type, zero padding. */
#define INT64_DATA_HEAD                                            \
    ((uint64_t)FLOW_WIRE_MAGIC | (uint64_t)FLOW_FRAME_DATA << 32 | \
     (uint64_t)FLOW_INT64 << 40)

/*
 * Check the `len` bytes at `f` as a frame; fill `info` and `v`. Returns 0 or
 * FLOW_EPROTO with the reason in `why`; never reads out of bounds.
 */
static int
frame_check(const unsigned char *f, size_t len, flow_frame_info_t *info,
            struct frame_view *v, char *why, size_t whylen)
{
    uint32_t magic;
    size_t plen;
    const char *err;

    if (len < FLOW_WIRE_HDR)
        return bad(why, whylen, "truncated frame header");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The common frame first: int64 data, checked in a few compares. */
    uint64_t head;
    memcpy(&head, f, sizeof(head));
    if (head == INT64_DATA_HEAD) {
        memcpy(&info->src, f + 8, 4);
        memcpy(&v->count, f + 12, 4);
        memcpy(&v->seq, f + 16, 8);
        if (len - FLOW_WIRE_HDR != (size_t)v->count * sizeof(int64_t))
            return bad(why, whylen, "int64 frame length does not match count");
        info->kind = FLOW_FRAME_DATA;
        info->count = 0;
        info->cut = false;
        info->items = v->count;
        info->bytes = len;
        v->type = FLOW_INT64;
        v->olen = 0;
        v->dlen = len - FLOW_WIRE_HDR;
        return 0;
    }
#endif
    memcpy(&magic, f, 4);
    if (magic != FLOW_WIRE_MAGIC)
        return bad(why, whylen, "bad frame magic");
    if (f[6] || f[7])
        return bad(why, whylen, "nonzero reserved header bytes");
    memcpy(&info->src, f + 8, 4);
    memcpy(&v->count, f + 12, 4);
    memcpy(&v->seq, f + 16, 8);
    info->kind = f[4];
    v->type = f[5];
    v->olen = 0;
    plen = len - FLOW_WIRE_HDR;
    if (f[4] == FLOW_FRAME_EOS) {
        if (plen != 0 || (v->count & ~(uint32_t)FLOW_EOS_CUT) || f[5] != 0)
            return bad(why, whylen, "malformed end-of-stream frame");
        info->count = v->seq;
        info->cut = v->count & FLOW_EOS_CUT;
        return 0;
    }
    if (f[4] != FLOW_FRAME_DATA)
        return bad(why, whylen, "unknown frame kind");
    info->count = 0;
    info->cut = false;
    info->items = v->count;
    info->bytes = len;
    switch (f[5]) {
    case FLOW_INT64:
        if (plen != (size_t)v->count * sizeof(int64_t))
            return bad(why, whylen, "int64 frame length does not match count");
        break;
    case FLOW_BYTES:
        if (plen != v->count)
            return bad(why, whylen, "bytes frame length does not match count");
        break;
    case FLOW_WORDS:
        v->olen = (size_t)v->count * sizeof(uint32_t);
        if (plen < v->olen)
            return bad(why, whylen, "words frame shorter than its offsets");
        err = words_check(f + FLOW_WIRE_HDR, f + FLOW_WIRE_HDR + v->olen,
                          plen - v->olen, v->count);
        if (err)
            return bad(why, whylen, err);
        break;
    default:
        return bad(why, whylen, "unknown item type");
    }
    v->dlen = plen - v->olen;
    return 0;
}

/* A message holding a copy of the checked data frame `f`. */
static flow_msg_t *
msg_copy_of(const unsigned char *f, const struct frame_view *v)
{
    flow_msg_t *msg = msg_get((flow_type_t)v->type, false);

    reserve(msg, v->dlen);
    if (v->dlen)
        memcpy(msg->buf + FLOW_WIRE_HDR, f + FLOW_WIRE_HDR + v->olen, v->dlen);
    if (v->type == FLOW_WORDS && v->count) {
        flow__xgrow((void **)&msg->own_offs, &msg->offcap, v->count,
                    sizeof(*msg->own_offs));
        msg->offs = msg->own_offs;
        memcpy(msg->offs, f + FLOW_WIRE_HDR, v->olen);
    }
    msg->len = v->dlen;
    msg->count = v->count;
    msg->seq = v->seq;
    return msg;
}

int
flow__msg_decode(const void *frame, size_t len, flow_msg_t **msg_p,
                 flow_frame_info_t *info, char *why, size_t whylen)
{
    struct frame_view v;
    int rc;

    *msg_p = NULL;
    rc = frame_check(frame, len, info, &v, why, whylen);
    if (rc || info->kind == FLOW_FRAME_EOS)
        return rc;
    *msg_p = msg_copy_of(frame, &v);
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

/* Make `*out` (uninitialized) a ZeroMQ message of `len` bytes; return its
 * data. Aborts when libzmq cannot allocate it, as flow__xmalloc does. */
static unsigned char *
frame_new(zmq_msg_t *out, size_t len)
{
    if (zmq_msg_init_size(out, len)) {
        fprintf(stderr, "flow: fatal: cannot make a frame of %zu bytes\n", len);
        abort();
    }
    return zmq_msg_data(out);
}

size_t
flow__msg_to_zmq(flow_msg_t **msg_p, uint32_t src, zmq_msg_t *out)
{
    flow_msg_t *msg = *msg_p;
    size_t len = frame_len(msg);

    *msg_p = NULL;
    if (msg->zowned && msg->zlen == len) {
        /* A received frame going out again: rewrite its header only. */
        put_header(zmq_msg_data(&msg->zmsg), FLOW_FRAME_DATA, msg->type, src,
                   (uint32_t)msg->count, msg->seq);
        zmq_msg_init(out);
        zmq_msg_move(out, &msg->zmsg);
        msg->zowned = false;
    } else if (len <= FLOW_COPY_MAX || msg->type == FLOW_WORDS || msg->zowned ||
               !msg->mem) {
        /* Small frames: a copy into ZeroMQ's own buffer is cheaper than a
         * free() called later from ZeroMQ's I/O thread, and the message
         * keeps its memory for the next one. Words are laid out anew. */
        frame_write(msg, src, frame_new(out, len));
    } else {
        /* Large int64 or bytes frames: the payload already follows room
         * for the header; ZeroMQ takes the memory as it is. */
        put_header(msg->mem, FLOW_FRAME_DATA, msg->type, src,
                   (uint32_t)msg->count, msg->seq);
        if (zmq_msg_init_data(out, msg->mem, len, free_frame, NULL)) {
            fprintf(stderr, "flow: fatal: cannot wrap a frame of %zu bytes\n",
                    len);
            abort();
        }
        msg->mem = NULL;
        msg->memcap = 0;
    }
    msg_put(msg);
    return len;
}

size_t
flow__msg_zmq_i64s(zmq_msg_t *out, uint32_t src, const int64_t *items, size_t n,
                   uint64_t seq)
{
    size_t len = FLOW_WIRE_HDR + n * sizeof(int64_t);
    unsigned char *f = frame_new(out, len);

    put_header(f, FLOW_FRAME_DATA, FLOW_INT64, src, (uint32_t)n, seq);
    if (n == 1) /* a constant size: a plain store, not a call */
        memcpy(f + FLOW_WIRE_HDR, items, sizeof(int64_t));
    else if (n)
        memcpy(f + FLOW_WIRE_HDR, items, n * sizeof(int64_t));
    return len;
}

struct zmq_msg_t *
flow__msg_recv_slot(flow_msg_t **msg_p)
{
    flow_msg_t *msg = *msg_p;

#ifndef FLOW_MSG_NO_POOL
    if (msg) {
        /* The last receive's message, handed back: its frame, if it still
         * holds it (zowned), is closed by the next receive into it. */
        if (!msg->zowned) { /* the node made it its own: trim as pooled */
            msg_trim(msg);
            zmq_msg_init(&msg->zmsg);
            msg->zowned = true;
            msg->zlen = 0;
        } /* else zlen is the held frame's, until a receive replaces it */
        return &msg->zmsg; /* next is NULL: it is not in the pool */
    }
#else
    flow_msg_destroy(msg_p); /* so that ASan sees a use after receive */
#endif
    msg = msg_get(FLOW_BYTES, true);
    /* zowned: destroying the message closes the frame (or keeps a small
     * one for the next receive). A frame the pool held is closed by
     * zmq_msg_recv or zmq_msg_move itself. */
    if (msg->zheld)
        msg->zheld = false;
    else
        zmq_msg_init(&msg->zmsg);
    msg->zowned = true;
    msg->zlen = 0;
    *msg_p = msg;
    return &msg->zmsg;
}

int64_t
flow__msg_slot_i64(flow_msg_t *msg, size_t len, const void **data)
{
    const unsigned char *f = zmq_msg_data(&msg->zmsg);

    *data = f;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* frame_check's first case, without the view and info it fills. */
    uint64_t head, seq;
    uint32_t src, count;
    if (len < FLOW_WIRE_HDR)
        return -1;
    memcpy(&head, f, sizeof(head));
    memcpy(&count, f + 12, 4);
    if (head != INT64_DATA_HEAD ||
        len - FLOW_WIRE_HDR != (size_t)count * sizeof(int64_t))
        return -1;
    memcpy(&src, f + 8, 4);
    memcpy(&seq, f + 16, 8);
    msg->zlen = len;
    msg->type = FLOW_INT64;
    msg->count = count;
    msg->seq = seq;
    msg->buf = (unsigned char *)f; /* the slot's own frame */
    msg->len = len - FLOW_WIRE_HDR;
    msg->cap = len - FLOW_WIRE_HDR;
    msg->offs = msg->own_offs;
    return src;
#else
    (void)len;
    return -1;
#endif
}

int
flow__msg_from_slot(flow_msg_t **msg_p, size_t len, flow_frame_info_t *info,
                    char *why, size_t whylen)
{
    return flow__msg_from_slot_at(msg_p, zmq_msg_data(&(*msg_p)->zmsg), len,
                                  info, why, whylen);
}

int
flow__msg_from_slot_at(flow_msg_t **msg_p, const void *data, size_t len,
                       flow_frame_info_t *info, char *why, size_t whylen)
{
    flow_msg_t *msg = *msg_p;
    struct frame_view v;
    unsigned char *f = (unsigned char *)data; /* the slot's own frame */
    int rc;

    *msg_p = NULL;
    msg->zlen = len;
    rc = frame_check(f, len, info, &v, why, whylen);
    if (rc || info->kind == FLOW_FRAME_EOS) {
        msg_put(msg);
        return rc;
    }
    /* Word offsets are read through a const accessor: a frame whose
     * offsets are not 4-aligned is copied now. int64 items are copied, if
     * not 8-aligned, by flow_msg_i64, the one accessor that exposes them: a
     * node that only counts or forwards them never pays for the copy. */
    if (v.type == FLOW_WORDS && !aligned(f, v.type)) {
        *msg_p = msg_copy_of(f, &v);
        msg_put(msg);
        return 0;
    }
    msg->type = (flow_type_t)v.type;
    msg->count = v.count;
    msg->seq = v.seq;
    msg->buf = f + v.olen; /* so that buf + FLOW_WIRE_HDR is the payload */
    msg->len = v.dlen;
    msg->cap = v.dlen;
    msg->offs = v.type == FLOW_WORDS ? (uint32_t *)(void *)(f + FLOW_WIRE_HDR)
                                     : msg->own_offs;
    *msg_p = msg;
    return 0;
}

int
flow__msg_from_zmq(zmq_msg_t *zm, flow_msg_t **msg_p, flow_frame_info_t *info,
                   char *why, size_t whylen)
{
    /* Move the frame into the message first: a very small frame's bytes lie
     * inside the zmq_msg_t itself, so they move with it. */
    size_t len = zmq_msg_size(zm);

    *msg_p = NULL;
    zmq_msg_move(flow__msg_recv_slot(msg_p), zm);
    return flow__msg_from_slot(msg_p, len, info, why, whylen);
}
