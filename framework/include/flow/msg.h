/* SPDX-License-Identifier: MIT */
/*
 * msg.h: typed message batches, the unit that travels on a link.
 *
 * A message holds `count` items of one type: int64 numbers, words (strings
 * without NUL bytes) or raw bytes. Sources batch many items per message
 * because the per-message cost dominates for small items. A message also
 * carries a sequence number that ordered collectors use to restore input
 * order; nodes that process one message into another keep it automatically.
 */
#ifndef FLOW_MSG_H
#define FLOW_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "flow/version.h"

FLOW__BEGIN_DECLS

/* Item types, used by messages and by port declarations. */
typedef enum flow_type {
    /* Ports only: accepts any item type. Linked to a typed port, it
     * carries that type at run time: a send of another type fails. */
    FLOW_ANY = 0,
    FLOW_INT64 = 1,
    FLOW_WORDS = 2,
    FLOW_BYTES = 3,
    /* Ports only: as FLOW_ANY, but every FLOW_SAME port of a node carries
     * one type, the one its links give it: a node that passes on what it
     * receives (tee, jitter) declares its ports so, and a graph that feeds
     * it words and links its output to an int64 input is refused before it
     * runs. At run time a send of another type on such a port fails, as on
     * a typed port. Unlinked to any typed port, the type stays open. */
    FLOW_SAME = 4
} flow_type_t;

/* A message without a sequence number. */
#define FLOW_SEQ_NONE UINT64_MAX

typedef struct flow_msg flow_msg_t;

/*
 * Create an empty message of `type` (not FLOW_ANY) with room for about
 * `capacity` items (a hint; messages grow). Caller owns the message and must
 * flow_msg_destroy it or pass it on with flow_node_send. Returns NULL only for
 * a bad type; aborts on out-of-memory.
 */
FLOW_EXPORT flow_msg_t *flow_msg_new(flow_type_t type, size_t capacity);

/* Destroy `*msg_p` if not NULL and set it to NULL. */
FLOW_EXPORT void flow_msg_destroy(flow_msg_t **msg_p);

/* Return the item type of `msg`. */
FLOW_EXPORT flow_type_t flow_msg_type(const flow_msg_t *msg);

/* Return the number of items in `msg` (bytes for FLOW_BYTES). */
FLOW_EXPORT size_t flow_msg_count(const flow_msg_t *msg);

/* Return the sequence number of `msg`, FLOW_SEQ_NONE if it has none. */
FLOW_EXPORT uint64_t flow_msg_seq(const flow_msg_t *msg);

/* Set the sequence number of `msg`. */
FLOW_EXPORT void flow_msg_set_seq(flow_msg_t *msg, uint64_t seq);

/* Remove every item, keeping the type and the allocated room. */
FLOW_EXPORT void flow_msg_clear(flow_msg_t *msg);

/*
 * Append the int64 `value`. Returns 0, or FLOW_EPROTO (and changes nothing)
 * if `msg` is not a FLOW_INT64 message.
 */
FLOW_EXPORT int flow_msg_add_i64(flow_msg_t *msg, int64_t value);

/*
 * Append `n` int64 values from `values` (borrowed). Same errors as
 * flow_msg_add_i64.
 */
FLOW_EXPORT int flow_msg_add_i64s(flow_msg_t *msg, const int64_t *values,
                                  size_t n);

/*
 * Return the items of a FLOW_INT64 message, which the caller may modify in
 * place but not grow; NULL for other types. Borrowed: valid until the next
 * change to the message or its destruction. The pointer is 8-aligned: for
 * a received message whose items arrived unaligned, the first call copies
 * them into the message's own memory, so even this call changes the message
 * (as every call on a message, not for two threads at once).
 */
FLOW_EXPORT int64_t *flow_msg_i64(flow_msg_t *msg);

/*
 * Make a FLOW_INT64 or FLOW_BYTES message hold exactly `count` items:
 * items past the old count are zero. An int64 message is then written in
 * place through flow_msg_i64; flow_msg_bytes is read-only, so for bytes
 * this only cuts or zero-pads: bytes are written in place by appending
 * them with flow_msg_extend_bytes. Returns 0, or FLOW_EPROTO for another
 * type or a count above UINT32_MAX.
 */
FLOW_EXPORT int flow_msg_resize(flow_msg_t *msg, size_t count);

/*
 * Append `n` int64 items to a FLOW_INT64 message without writing them and
 * return the first, for the caller to write all `n` before the message is
 * sent or read (until then their values are unspecified): a source filling
 * a large batch in place skips the zeroing of flow_msg_resize. Borrowed, as
 * flow_msg_i64. NULL for another type or past UINT32_MAX items.
 */
FLOW_EXPORT int64_t *flow_msg_extend_i64(flow_msg_t *msg, size_t n);

/*
 * Append the word `word` of `len` bytes (copied; NULL only with `len` 0;
 * not inside `msg` itself: the append may move its memory). Returns 0,
 * FLOW_EPROTO if `msg` is not a FLOW_WORDS message or would pass UINT32_MAX
 * words or bytes, or FLOW_EPARAM if the word holds a NUL byte.
 */
FLOW_EXPORT int flow_msg_add_word(flow_msg_t *msg, const char *word,
                                  size_t len);

/*
 * Append `n` words of `len` bytes each, stored one after the other without
 * separators at `letters` (`n * len` bytes, copied; NULL only with `n` or
 * `len` 0; not inside `msg` itself): flow_msg_add_word `n` times, in one call,
 * which is several times faster for short words. Returns 0, FLOW_EPROTO if
 * `msg` is not a FLOW_WORDS message or would pass UINT32_MAX words or bytes, or
 * FLOW_EPARAM if the letters hold a NUL byte; on error nothing is appended.
 */
FLOW_EXPORT int flow_msg_add_words_fixed(flow_msg_t *msg, const char *letters,
                                         size_t n, size_t len);

/*
 * Append words [first, first + n) of the FLOW_WORDS message `from`
 * (borrowed, not changed; not `msg` itself) to the FLOW_WORDS message
 * `msg`, in one copy: what split does to cut words into chunks. Returns 0,
 * FLOW_EPARAM for a range past `from`'s words, or FLOW_EPROTO for another
 * type, `from` being `msg`, or past UINT32_MAX words or bytes; on error
 * nothing is appended.
 */
FLOW_EXPORT int flow_msg_add_words_of(flow_msg_t *msg, const flow_msg_t *from,
                                      size_t first, size_t n);

/*
 * Return word `index` of a FLOW_WORDS message as a NUL-terminated string and
 * store its length in `*len` if `len` is not NULL. Returns NULL for a bad
 * index or type. Borrowed, as flow_msg_i64.
 */
FLOW_EXPORT const char *flow_msg_word(const flow_msg_t *msg, size_t index,
                                      size_t *len);

/*
 * Return the words of a FLOW_WORDS message as one block, for loops over many
 * words without a call per word: word `i` (below flow_msg_count) starts at
 * offset `start = i ? ends[i - 1] : 0` of the block, is NUL-terminated, and
 * is `ends[i] - start - 1` bytes long. Stores the end offsets in `*ends`
 * (NULL when there are no words). Both borrowed, as flow_msg_i64. Returns
 * NULL (and `*ends` NULL) for another type.
 *
 *   const uint32_t *ends;
 *   const char *text = flow_msg_words(msg, &ends);
 *   for (size_t i = 0, start = 0; i < flow_msg_count(msg); start = ends[i++])
 *       use(text + start, ends[i] - start - 1);
 */
FLOW_EXPORT const char *flow_msg_words(const flow_msg_t *msg,
                                       const uint32_t **ends);

/*
 * Append `len` bytes from `data` (copied; NULL only with `len` 0) to a
 * FLOW_BYTES message. Returns 0, or FLOW_EPROTO for another type or past
 * UINT32_MAX bytes in all.
 */
FLOW_EXPORT int flow_msg_add_bytes(flow_msg_t *msg, const void *data,
                                   size_t len);

/*
 * Append `n` bytes to a FLOW_BYTES message without writing them and return
 * the first, for the caller to write all `n` before the message is sent or
 * read (until then their values are unspecified): a producer of large
 * blobs writes them in place instead of copying them in from a buffer of
 * its own with flow_msg_add_bytes. Borrowed, as flow_msg_i64 (a received
 * message moves to memory of its own first, as flow_msg_add_bytes moves
 * it). NULL (nothing changed) for another type or past UINT32_MAX bytes in
 * all. Since flow 0.7.
 */
FLOW_EXPORT void *flow_msg_extend_bytes(flow_msg_t *msg, size_t n);

/*
 * Return the bytes of a FLOW_BYTES message and store their count in `*len`.
 * NULL for other types. Borrowed, as flow_msg_i64.
 */
FLOW_EXPORT const void *flow_msg_bytes(const flow_msg_t *msg, size_t *len);

/* Return the static name of `type`: "any", "int64", "words", "bytes" or
 * "same" (FLOW_SAME); "unknown" for a value that is no flow_type_t. */
FLOW_EXPORT const char *flow_type_name(flow_type_t type);

FLOW__END_DECLS

#endif
