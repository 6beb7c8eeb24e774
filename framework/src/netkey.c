/* SPDX-License-Identifier: MIT */
/*
 * netkey.c: the key of a secured TCP run (netkey.h): read from FLOW_KEY,
 * checked, and set on each TCP socket before it binds or connects.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "flow/graph.h"
#include "internal.h"
#include "netkey.h"

/* This process's key, secret and public, in Z85; empty: none. Set once,
 * before the instances fork and before any thread. */
static char key_secret[41], key_public[41];

int
flow__netkey_load(char *why, size_t whylen)
{
    const char *v = getenv(FLOW__KEY_ENV);
    char pub[41];

    key_secret[0] = key_public[0] = '\0';
    if (!v || !*v)
        return 0;
    if (!zmq_has("curve")) {
        snprintf(why, whylen,
                 "%s is set, but this libzmq has no CURVE security (built "
                 "without libsodium): cannot secure the run",
                 FLOW__KEY_ENV);
        return FLOW_EUSAGE;
    }
    /* zmq_curve_public decodes the Z85 text (and refuses a character
     * outside Z85's 85); any 32 bytes are a CURVE secret key. */
    if (strlen(v) != 40 || zmq_curve_public(pub, v)) {
        /* A key read from a file (a Secret mounted, `--from-file`) often
         * ends in a newline: white space around it is said as such, not
         * as a count alone. Refused, not trimmed: the key is the text
         * --new-key prints, the same for every reader of FLOW_KEY. */
        size_t len = strlen(v);
        bool space =
            isspace((unsigned char)v[0]) || isspace((unsigned char)v[len - 1]);
        snprintf(why, whylen,
                 "%s is not a key: expected 40 characters of Z85 (as "
                 "'flowrun --new-key' prints), got %zu%s",
                 FLOW__KEY_ENV, len,
                 space       ? " with white space (a newline from a file?)"
                 : len == 40 ? " with a character outside Z85"
                             : "");
        return FLOW_EUSAGE;
    }
    memcpy(key_secret, v, 41);
    memcpy(key_public, pub, 41);
    return 0;
}

bool
flow__netkey_on(void)
{
    return key_secret[0] != '\0';
}

int
flow__netkey_apply(void *sock, bool server)
{
    int one = 1;

    if (!key_secret[0])
        return 0;
    if (server)
        return zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
               zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, key_secret, 40);
    return zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, key_public, 40) ||
           zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, key_public, 40) ||
           zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, key_secret, 40);
}

int
flow_key_new(char key[FLOW_KEY_SIZE])
{
    char pub[41];

    if (!zmq_has("curve") || zmq_curve_keypair(pub, key))
        return FLOW_EUSAGE;
    return 0;
}
