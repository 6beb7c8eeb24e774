/* SPDX-License-Identifier: MIT */
/* error.c: error names and messages from FLOW_ERRNO_MAP, diagnostics. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *
flow_version(void)
{
    return FLOW_VERSION_STRING;
}

const char *
flow_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define XX(c, msg) \
    case FLOW_##c: \
        return msg;
        FLOW_ERRNO_MAP(XX)
#undef XX
    default:
        break;
    }
    /* strerror's text for an errno it has no message for ("Unknown error
     * 9000") lies in a buffer the next call overwrites: not static. */
    if (code < 0 && code > FLOW__ERR_BASE) {
        const char *d = strerrordesc_np(-code);
        return d ? d : "unknown error";
    }
    return "unknown error";
}

const char *
flow_err_name(int code)
{
    switch (code) {
    case 0:
        return "0";
#define XX(c, msg) \
    case FLOW_##c: \
        return "FLOW_" #c;
        FLOW_ERRNO_MAP(XX)
#undef XX
    default:
        break;
    }
    if (code < 0 && code > FLOW__ERR_BASE) {
        const char *n = strerrorname_np(-code);
        return n ? n : "unknown error";
    }
    return "unknown error";
}

const char *
flow__code_text(int rc, char *buf, size_t size)
{
    const char *name = flow_err_name(rc);

    if (strcmp(name, "unknown error"))
        return name;
    snprintf(buf, size, "%d (no FLOW_E* code nor -errno)", rc);
    return buf;
}

char *
flow_diag_format(const flow_diag_t *diag, char *buf, size_t size)
{
    if (diag->file[0] && diag->line > 0)
        snprintf(buf, size, "%s:%d: %s", diag->file, diag->line, diag->msg);
    else if (diag->file[0])
        snprintf(buf, size, "%s: %s", diag->file, diag->msg);
    else
        snprintf(buf, size, "%s", diag->msg);
    return buf;
}

int
flow__diag(flow_diag_t *diag, int code, const char *file, int line,
           const char *fmt, ...)
{
    char raw[FLOW_DIAG_MSG];
    size_t o = 0;
    va_list ap;

    if (!diag)
        return code;
    diag->code = code;
    diag->line = line;
    snprintf(diag->file, sizeof(diag->file), "%s", file ? file : "");
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* One line, whatever the values quoted in it hold (a --set value with a
     * newline, a control byte from a file): those are shown escaped. */
    for (const char *r = raw; *r && o + 5 < sizeof(diag->msg); r++) {
        unsigned char c = (unsigned char)*r;
        if (c == '\n' || c == '\t')
            o += (size_t)snprintf(diag->msg + o, sizeof(diag->msg) - o, "\\%c",
                                  c == '\n' ? 'n' : 't');
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(diag->msg + o, sizeof(diag->msg) - o,
                                  "\\x%02x", c);
        else
            diag->msg[o++] = (char)c;
    }
    diag->msg[o] = '\0';
    return code;
}
