/* SPDX-License-Identifier: MIT */
/*
 * error.h: flow's error codes and diagnostics.
 *
 * Every int-returning function returns 0 on success and a negative code on
 * failure: system failures pass through as -errno, framework failures use the
 * FLOW_E* codes below. Failures caused by user input (a graph file, a
 * parameter, a plugin) also fill a caller-provided flow_diag_t.
 */
#ifndef FLOW_ERROR_H
#define FLOW_ERROR_H

#include "flow/version.h"

FLOW__BEGIN_DECLS

/* One list makes the codes, their names and their messages. Callers and
 * plugins compile the values in: a new code goes at the end (test_abi
 * records them). */
#define FLOW_ERRNO_MAP(XX)          \
    XX(EOF, "end of stream")        \
    XX(EPARSE, "syntax error")      \
    XX(EPARAM, "bad parameter")     \
    XX(ETYPE, "unknown node type")  \
    XX(EPORT, "bad port")           \
    XX(ELINK, "bad link")           \
    XX(ECYCLE, "push cycle")        \
    XX(EDUP, "duplicate name")      \
    XX(EABI, "plugin ABI mismatch") \
    XX(ENOENT, "not found")         \
    XX(EPROTO, "malformed message") \
    XX(ELOST, "messages lost")      \
    XX(ENODE, "node failed")        \
    XX(ETIMEDOUT, "timed out")      \
    XX(EINTR, "interrupted")        \
    XX(EUSAGE, "usage error")

enum {
    FLOW__ERR_BASE = -10000,
#define FLOW__XX(code, msg) FLOW_##code,
    FLOW_ERRNO_MAP(FLOW__XX)
#undef FLOW__XX
        FLOW__ERR_END
};

/* Size of the fixed message buffer in a diagnostic. */
#define FLOW_DIAG_MSG 512

/*
 * A diagnostic about user input. Filled by the function that fails; never
 * allocates. `file` is empty and `line` 0 when they do not apply.
 */
typedef struct flow_diag {
    int code;
    int line;
    char file[256];
    char msg[FLOW_DIAG_MSG];
} flow_diag_t;

/* Return a static description of `code` (a FLOW_E* code or -errno;
 * "success" for 0). */
FLOW_EXPORT const char *flow_strerror(int code);

/* Return the static name of `code`, such as "FLOW_EPARSE" or "ENOENT" ("0"
 * for 0). */
FLOW_EXPORT const char *flow_err_name(int code);

/*
 * Format a diagnostic as "file:line: msg" (or just "msg") into `buf` of `size`
 * bytes and return `buf`. Never fails; truncates.
 */
FLOW_EXPORT char *flow_diag_format(const flow_diag_t *diag, char *buf,
                                   size_t size);

FLOW__END_DECLS

#endif
