/* SPDX-License-Identifier: MIT */
/*
 * netaddr.h: the TCP addresses of runs that leave the machine: what --bind
 * and --rendezvous may name (an IPv4 or IPv6 address, an interface, a host
 * name), resolved before anything binds, and the endpoints written with
 * them ("tcp://10.0.0.1:4242", "tcp://[fd00::2]:4242").
 *
 * libzmq takes IPv4 only unless a socket has ZMQ_IPV6; flow__zmq_ipv6_for
 * sets it on a socket about to bind or connect to an IPv6 endpoint, so
 * IPv4 runs are as before.
 */
#ifndef FLOW_NETADDR_H
#define FLOW_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Whether `host` is an IPv6 address, bare or in brackets ("fd00::2",
 * "[::1]"), a link-local one perhaps with its interface ("fe80::1%eth0"). */
bool flow__ipv6_literal(const char *host);

/*
 * Write "tcp://HOST:PORT" into `ep` (`size` bytes), HOST being `host` in
 * brackets when it is a bare IPv6 address. Returns 0, or -ENAMETOOLONG.
 */
int flow__tcp_endpoint(char *ep, size_t size, const char *host,
                       const char *port);

/*
 * The host of the endpoint "tcp://HOST:PORT" `ep`, brackets taken off, into
 * `host` (`size` bytes). Returns 0, or -1 when `ep` has no host and port.
 */
int flow__endpoint_host(const char *ep, char *host, size_t size);

/* Before `sock` binds or connects to `ep`: ZMQ_IPV6 on when the endpoint's
 * host is an IPv6 address. */
void flow__zmq_ipv6_for(void *sock, const char *ep);

/*
 * The address to bind for the --bind value `bind`, into `out`: `bind`
 * itself when it is NULL, "", "*", a numeric IPv4 address or the name of a
 * network interface (as libzmq takes them); an IPv6 address without its
 * brackets (the wildcard, however spelt, as "::"); otherwise `bind` is a host
 * name and `out` gets its first IPv4 address, or its first IPv6 one when it has
 * no IPv4 address. Returns 0, or -EADDRNOTAVAIL for a name that resolves to
 * nothing, `out` then holding the message that says so.
 */
int flow__bind_resolve(const char *bind, char *out, size_t size);

/*
 * Whether TCP sockets can bind on `bind` (resolved into `addr`, `size`
 * bytes, by flow__bind_resolve), tried with a context of its own, gone on
 * return: before any fork, so that a bad --bind is a usage error, not a
 * failure of every instance. Returns 0, or FLOW_EUSAGE with why (`whylen`
 * bytes) written.
 */
int flow__bind_check(const char *bind, char *addr, size_t size, char *why,
                     size_t whylen);

/* Whether this host's name, into `name` (`size` bytes), resolves to no
 * address: then a wildcard is announced as 127.0.0.1 (flow__endpoint_fix). */
bool flow__host_name_unresolved(char *name, size_t size);

/*
 * Replace a wildcard address in the endpoint `ep` (as ZMQ_LAST_ENDPOINT
 * gives it, e.g. "tcp://0.0.0.0:4242", "tcp://[::]:4242") by `host` (or
 * this host's address when `host` is NULL or a wildcard), in place.
 * Returns 0, or a negative errno code.
 */
int flow__endpoint_fix(char *ep, size_t size, const char *host);

/*
 * The local address this host uses to reach the rendezvous `rdv`
 * ("tcp://HOST:PORT"), the one to advertise whatever the host name
 * resolves to, into `buf` (`size` bytes), bare. Returns 0, or -1.
 */
int flow__route_address(const char *rdv, char *buf, size_t size);

/*
 * For an instance bound on `bind` (as flow__bind_check gives it) that
 * registers with the rendezvous `rdv` ("tcp://HOST:PORT", HOST numeric):
 * when `bind` is a wildcard ("0.0.0.0", "::"), the address to advertise,
 * into `buf` (`size` bytes): the one on the route to the rendezvous, where
 * the wildcard covers its family ("0.0.0.0" IPv4 only, "::" both). What
 * the host name resolves to may be a loopback address (Debian's
 * 127.0.1.1) that no other host reaches. Returns 0, or -1 when `bind` is
 * no wildcard or has no such address.
 */
int flow__wildcard_announce(const char *bind, const char *rdv, char *buf,
                            size_t size);

/*
 * Check the rendezvous endpoint `rdv` ("tcp://HOST:PORT", its form checked)
 * and write it into `out` (`size` bytes) with HOST numeric: a host name is
 * resolved here (its first IPv4 address, else its first IPv6 one), so that
 * libzmq gets an address of the family it can reach. Returns 0 (`out` is
 * `rdv` as given when the name service cannot say now: libzmq tries again,
 * within the instance's 10 s to reach its rendezvous), or -1 with why in
 * `out`: a name that does not exist, which no waiting mends.
 */
int flow__rdv_resolve(const char *rdv, char *out, size_t size);

#endif
