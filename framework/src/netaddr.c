/* SPDX-License-Identifier: MIT */
/* netaddr.c: the TCP addresses and endpoints of runs; see netaddr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "flow/error.h"
#include "netaddr.h"

/*
 * Copy the host of `len` bytes at `p` into `out` (`size` bytes), without
 * its brackets if it has them. Returns 0, or -1 when it does not fit or has
 * one bracket without the other.
 */
static int
copy_bare(const char *p, size_t len, char *out, size_t size)
{
    if (len > 0 && (p[0] == '[' || p[len - 1] == ']')) {
        if (len < 3 || p[0] != '[' || p[len - 1] != ']')
            return -1;
        p++;
        len -= 2;
    }
    if (len >= size)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

/* As copy_bare, for the string `host`. */
static int
unbracket(const char *host, char *out, size_t size)
{
    return copy_bare(host, strlen(host), out, size);
}

bool
flow__ipv6_literal(const char *host)
{
    char bare[INET6_ADDRSTRLEN + IF_NAMESIZE + 8], *scope;
    unsigned char buf[sizeof(struct in6_addr)];

    if (!host || unbracket(host, bare, sizeof(bare)))
        return false;
    /* A link-local address names its interface: fe80::1%eth0. */
    if ((scope = strchr(bare, '%')) != NULL) {
        if (scope[1] == '\0')
            return false;
        *scope = '\0';
    }
    return inet_pton(AF_INET6, bare, buf) == 1;
}

int
flow__tcp_endpoint(char *ep, size_t size, const char *host, const char *port)
{
    int n = host[0] != '[' && flow__ipv6_literal(host)
                ? snprintf(ep, size, "tcp://[%s]:%s", host, port)
                : snprintf(ep, size, "tcp://%s:%s", host, port);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int
flow__endpoint_host(const char *ep, char *host, size_t size)
{
    const char *p = ep + 6, *colon;

    if (strncmp(ep, "tcp://", 6) || !(colon = strrchr(p, ':')) || colon == p)
        return -1;
    return copy_bare(p, (size_t)(colon - p), host, size);
}

void
flow__zmq_ipv6_for(void *sock, const char *ep)
{
    int one = 1;

    if (!strncmp(ep, "tcp://[", 7))
        zmq_setsockopt(sock, ZMQ_IPV6, &one, sizeof(one));
}

/*
 * The first address of host name `name` into `out` (`size` bytes): its
 * first IPv4 address, else (if `v6`) its first IPv6 one. Returns 0, or
 * getaddrinfo's code.
 */
static int
resolve_first(const char *name, bool v6, char *out, size_t size)
{
    static const int families[] = { AF_INET, AF_INET6 };
    int rc = EAI_NONAME;

    for (size_t i = 0; i < (v6 ? 2u : 1u); i++) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = families[i];
        hints.ai_socktype = SOCK_STREAM;
        rc = getaddrinfo(name, NULL, &hints, &res);
        if (rc == 0 && res) {
            /* Numeric, a link-local address with its interface. */
            rc = getnameinfo(res->ai_addr, res->ai_addrlen, out,
                             (socklen_t)size, NULL, 0, NI_NUMERICHOST);
            freeaddrinfo(res);
            return rc;
        }
        if (res)
            freeaddrinfo(res);
        if (rc == 0)
            rc = EAI_NODATA;
        if (rc != EAI_NONAME && rc != EAI_NODATA && rc != EAI_ADDRFAMILY)
            return rc; /* the name service cannot say now */
    }
    return rc;
}

bool
flow__host_name_unresolved(char *name, size_t size)
{
    char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 8];

    if (gethostname(name, size))
        return false;
    name[size - 1] = '\0';
    return resolve_first(name, true, addr, sizeof(addr)) != 0;
}

/* This host's address, from its name (IPv4, or if `v6` IPv6 when it has
 * no IPv4 address); 127.0.0.1 if it has none. */
static int
host_address(bool v6, char *buf, size_t size)
{
    char name[256];

    if (gethostname(name, sizeof(name)))
        return -errno;
    if (resolve_first(name, v6, buf, size))
        snprintf(buf, size, "127.0.0.1");
    return 0;
}

int
flow__bind_resolve(const char *bind, char *out, size_t size)
{
    unsigned char buf[sizeof(struct in6_addr)];
    struct in6_addr a6;
    int rc;

    if (!bind || !*bind || !strcmp(bind, "*") ||
        inet_pton(AF_INET, bind, buf) == 1 || if_nametoindex(bind)) {
        snprintf(out, size, "%s", bind ? bind : "");
        return 0;
    }
    if (flow__ipv6_literal(bind) && !unbracket(bind, out, size)) {
        /* The wildcard has one spelling from here on ("::0" too is every
         * interface): the one that flow__endpoint_fix and
         * flow__wildcard_announce know, never advertised as such. */
        if (inet_pton(AF_INET6, out, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6))
            snprintf(out, size, "::");
        return 0;
    }
    if ((rc = resolve_first(bind, true, out, size))) {
        snprintf(out, size,
                 "--bind '%s': not an address of this host, an interface, or "
                 "a host name that resolves (%s)",
                 bind, gai_strerror(rc));
        return -EADDRNOTAVAIL;
    }
    return 0;
}

int
flow__bind_check(const char *bind, char *addr, size_t size, char *why,
                 size_t whylen)
{
    char ep[300];
    void *ctx, *s;
    int rc = 0, zero = 0;

    if (flow__bind_resolve(bind, addr, size)) {
        snprintf(why, whylen, "%s", addr);
        return FLOW_EUSAGE;
    }
    if (flow__tcp_endpoint(ep, sizeof(ep), addr, "*")) {
        snprintf(why, whylen, "--bind '%s': too long", bind);
        return FLOW_EUSAGE;
    }
    ctx = zmq_ctx_new();
    s = ctx ? zmq_socket(ctx, ZMQ_PULL) : NULL;
    if (s)
        flow__zmq_ipv6_for(s, ep);
    if (s && zmq_bind(s, ep)) {
        snprintf(why, whylen,
                 "--bind '%s': cannot bind a TCP socket there (%s): give an "
                 "address of this host, a host name or an interface",
                 bind, zmq_strerror(zmq_errno()));
        rc = FLOW_EUSAGE;
    }
    if (s) {
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_close(s);
    }
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

/* Whether `host` names no address in particular: bind everywhere. */
static bool
wildcard(const char *host)
{
    return !host || !*host || !strcmp(host, "*") || !strcmp(host, "0.0.0.0") ||
           !strcmp(host, "::") || !strcmp(host, "[::]");
}

int
flow__endpoint_fix(char *ep, size_t size, const char *host)
{
    char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 8], port[16], *colon;
    const char *wild[] = { "tcp://0.0.0.0:", "tcp://*:", "tcp://[::]:" };

    if (strncmp(ep, "tcp://", 6))
        return 0;
    for (size_t i = 0; i < sizeof(wild) / sizeof(*wild); i++) {
        if (strncmp(ep, wild[i], strlen(wild[i])))
            continue;
        colon = strrchr(ep, ':');
        snprintf(port, sizeof(port), "%s", colon + 1);
        /* Bound on every IPv4 interface (i < 2), it gives an IPv4
         * address; on both families, either. */
        if (!wildcard(host)) {
            if (unbracket(host, addr, sizeof(addr)))
                return -ENAMETOOLONG;
        } else if (host_address(i == 2, addr, sizeof(addr))) {
            return -EADDRNOTAVAIL;
        }
        return flow__tcp_endpoint(ep, size, addr, port);
    }
    return 0;
}

int
flow__wildcard_announce(const char *bind, const char *rdv, char *buf,
                        size_t size)
{
    bool v4only = bind && !strcmp(bind, "0.0.0.0");

    if (!bind || (!v4only && strcmp(bind, "::")) ||
        flow__route_address(rdv, buf, size))
        return -1;
    return v4only && strchr(buf, ':') ? -1 : 0;
}

int
flow__route_address(const char *rdv, char *buf, size_t size)
{
    char host[256];
    const char *colon = strrchr(rdv, ':');
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage local;
    socklen_t len = sizeof(local);
    int fd, rc = -1;

    if (!colon || flow__endpoint_host(rdv, host, sizeof(host)))
        return -1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) || !res)
        return -1;
    /* A connected UDP socket sends nothing but picks the route. */
    fd = socket(res->ai_family, SOCK_DGRAM, 0);
    if (fd >= 0 && !connect(fd, res->ai_addr, res->ai_addrlen) &&
        !getsockname(fd, (struct sockaddr *)&local, &len) &&
        !getnameinfo((struct sockaddr *)&local, len, buf, (socklen_t)size, NULL,
                     0, NI_NUMERICHOST))
        rc = 0; /* a link-local address with its interface: fe80::1%eth0 */
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return rc;
}

int
flow__rdv_resolve(const char *rdv, char *out, size_t size)
{
    char host[256], addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 8];
    const char *colon = strrchr(rdv, ':');
    unsigned char buf[sizeof(struct in6_addr)];
    int rc;

    if (!colon || flow__endpoint_host(rdv, host, sizeof(host)) ||
        inet_pton(AF_INET, host, buf) == 1) {
        snprintf(out, size, "%s", rdv); /* libzmq says */
        return 0;
    }
    if (flow__ipv6_literal(host) &&
        flow__tcp_endpoint(out, size, host, colon + 1) == 0)
        return 0;
    rc = resolve_first(host, true, addr, sizeof(addr));
    if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY) {
        snprintf(out, size, "--rendezvous '%s': host '%s' has no address (%s)",
                 rdv, host, gai_strerror(rc));
        return -1;
    }
    if (rc || flow__tcp_endpoint(out, size, addr, colon + 1))
        snprintf(out, size, "%s", rdv);
    return 0;
}
