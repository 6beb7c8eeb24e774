/* SPDX-License-Identifier: MIT */
/*
 * netkey.h: the key that secures a TCP run. With FLOW_KEY in its
 * environment (a CURVE secret key, 40 Z85 characters, as `flowrun
 * --new-key` prints), a process encrypts and authenticates every TCP
 * connection it makes or takes: links, the rendezvous, its instances.
 *
 * Every process of the run holds the same key and takes both CURVE roles
 * with it: a socket that binds is a CURVE server with that secret key, one
 * that connects a client whose own key pair, and the server key it
 * expects, are that key's. The public half is never sent (CurveZMQ sends
 * only short-term keys, and the long-term ones boxed), so a process
 * without the secret cannot make a HELLO a server opens: its connection
 * fails the handshake and carries nothing. A shared secret, not a list of
 * who may connect: anyone with the key is in the run.
 */
#ifndef FLOW_NETKEY_H
#define FLOW_NETKEY_H

#include <stdbool.h>
#include <stddef.h>

/* The environment variable that holds a run's key. */
#define FLOW__KEY_ENV "FLOW_KEY"

/*
 * Read FLOW_KEY from the environment into this process's key (none when
 * it is unset or empty). Before any TCP socket, and before forking the
 * instances, which inherit it. Returns 0, or FLOW_EUSAGE with `why`
 * (`whylen` bytes) saying what is wrong: not 40 Z85 characters, or a
 * libzmq without CURVE.
 */
int flow__netkey_load(char *why, size_t whylen);

/* Whether this process has a key: its TCP sockets are secured. */
bool flow__netkey_on(void);

/*
 * Before `sock` binds (`server`) or connects: make it a CURVE server, or
 * client, with the key. A no-op without a key. Returns 0, or 1 with
 * zmq_errno set (the socket cannot take it).
 */
int flow__netkey_apply(void *sock, bool server);

#endif
