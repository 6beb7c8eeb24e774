/* SPDX-License-Identifier: MIT */
/*
 * test_netaddr.c: the addresses an instance binds and advertises
 * (netaddr.h), for the spellings of a wildcard.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "netaddr.h"

/*
 * Every spelling of the IPv6 wildcard resolves to "::": an instance bound
 * there (--instance --bind ::0) advertises its address on the route to the
 * rendezvous, and one whose route is unknown a real address, never "::0",
 * which another host takes for itself.
 */
static void
test_netaddr_ipv6_wildcard_spellings(void **unused)
{
    const char *spellings[] = { "::",
                                "[::]",
                                "::0",
                                "[::0]",
                                "0::0",
                                "0:0:0:0:0:0:0:0",
                                "[0:0:0:0:0:0:0:0]" };
    char addr[512], shown[512], ep[256];

    (void)unused;
    for (size_t i = 0; i < sizeof(spellings) / sizeof(*spellings); i++) {
        assert_int_equal(flow__bind_resolve(spellings[i], addr, sizeof(addr)),
                         0);
        assert_string_equal(addr, "::");
        /* An IPv4 rendezvous: "::" covers both families. */
        assert_int_equal(flow__wildcard_announce(addr, "tcp://127.0.0.1:9",
                                                 shown, sizeof(shown)),
                         0);
        assert_string_equal(shown, "127.0.0.1");
        /* Bound there, never advertised as the wildcard: the host name's
         * address, when it resolves here (IPv4 first, maybe ::1). */
        snprintf(ep, sizeof(ep), "tcp://[::]:4000");
        int rc = flow__endpoint_fix(ep, sizeof(ep), addr);
        assert_true(rc != 0 || (strcmp(ep, "tcp://[::]:4000") != 0 &&
                                strstr(ep, "[::0]") == NULL));
    }
}

/* Other IPv6 addresses keep their spelling; 0.0.0.0 covers IPv4 only. */
static void
test_netaddr_not_wildcards(void **unused)
{
    char addr[512], shown[512];

    (void)unused;
    assert_int_equal(flow__bind_resolve("::1", addr, sizeof(addr)), 0);
    assert_string_equal(addr, "::1");
    assert_int_equal(flow__bind_resolve("[0::1]", addr, sizeof(addr)), 0);
    assert_string_equal(addr, "0::1");
    assert_int_equal(flow__wildcard_announce("::1", "tcp://127.0.0.1:9", shown,
                                             sizeof(shown)),
                     -1);
    assert_int_equal(flow__bind_resolve("0.0.0.0", addr, sizeof(addr)), 0);
    assert_string_equal(addr, "0.0.0.0");
    assert_int_equal(flow__wildcard_announce(addr, "tcp://127.0.0.1:9", shown,
                                             sizeof(shown)),
                     0);
    assert_string_equal(shown, "127.0.0.1");
    assert_int_equal(
        flow__wildcard_announce(addr, "tcp://[::1]:9", shown, sizeof(shown)),
        -1);
}

/* The host of an endpoint and the endpoint of a host, by the forms
 * netaddr.h gives: brackets for a bare IPv6 address only, both brackets or
 * none, a buffer too small an error. */
static void
test_netaddr_endpoint_strings(void **unused)
{
    char host[64], ep[64];

    (void)unused;
    assert_true(flow__ipv6_literal("fd00::2"));
    assert_true(flow__ipv6_literal("[::1]"));
    assert_true(flow__ipv6_literal("fe80::1%eth0"));
    assert_false(flow__ipv6_literal("fe80::1%")); /* no interface */
    assert_false(flow__ipv6_literal("[::1"));
    assert_false(flow__ipv6_literal("::1]"));
    assert_false(flow__ipv6_literal("10.0.0.1"));

    assert_int_equal(flow__tcp_endpoint(ep, sizeof(ep), "10.0.0.1", "80"), 0);
    assert_string_equal(ep, "tcp://10.0.0.1:80");
    assert_int_equal(flow__tcp_endpoint(ep, sizeof(ep), "fd00::2", "80"), 0);
    assert_string_equal(ep, "tcp://[fd00::2]:80");
    assert_int_equal(flow__tcp_endpoint(ep, sizeof(ep), "[::1]", "80"), 0);
    assert_string_equal(ep, "tcp://[::1]:80");
    /* "tcp://a:80" is 10 bytes and its NUL: 11 fit, 10 do not. */
    assert_int_equal(flow__tcp_endpoint(ep, 11, "a", "80"), 0);
    assert_int_equal(flow__tcp_endpoint(ep, 10, "a", "80"), -ENAMETOOLONG);

    assert_int_equal(flow__endpoint_host("tcp://10.0.0.1:80", host, 64), 0);
    assert_string_equal(host, "10.0.0.1");
    assert_int_equal(flow__endpoint_host("tcp://[fd00::2]:80", host, 64), 0);
    assert_string_equal(host, "fd00::2");
    assert_int_equal(flow__endpoint_host("tcp://:80", host, 64), -1);
    assert_int_equal(flow__endpoint_host("tcp://[]:80", host, 64), -1);
    assert_int_equal(flow__endpoint_host("tcp://[::1:80", host, 64), -1);
    assert_int_equal(flow__endpoint_host("udp://a:80", host, 64), -1);
    /* "abc" and its NUL: 4 bytes fit, 3 do not. */
    assert_int_equal(flow__endpoint_host("tcp://abc:80", host, 4), 0);
    assert_string_equal(host, "abc");
    assert_int_equal(flow__endpoint_host("tcp://abc:80", host, 3), -1);
}

/* A wildcard endpoint with a given host takes that host; "*" is a wildcard
 * like 0.0.0.0; a host "[::]" is the wildcard, never written in. */
static void
test_netaddr_endpoint_fix_host(void **unused)
{
    char ep[64];

    (void)unused;
    snprintf(ep, sizeof(ep), "tcp://*:4000");
    assert_int_equal(flow__endpoint_fix(ep, sizeof(ep), "10.0.0.1"), 0);
    assert_string_equal(ep, "tcp://10.0.0.1:4000");
    snprintf(ep, sizeof(ep), "tcp://0.0.0.0:4000");
    assert_int_equal(flow__endpoint_fix(ep, sizeof(ep), "[fd00::2]"), 0);
    assert_string_equal(ep, "tcp://[fd00::2]:4000");
    snprintf(ep, sizeof(ep), "tcp://10.0.0.9:4000"); /* no wildcard */
    assert_int_equal(flow__endpoint_fix(ep, sizeof(ep), "10.0.0.1"), 0);
    assert_string_equal(ep, "tcp://10.0.0.9:4000");
    snprintf(ep, sizeof(ep), "tcp://[::]:4000");
    assert_int_equal(flow__endpoint_fix(ep, sizeof(ep), "[::]"), 0);
    assert_null(strstr(ep, "[::]"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netaddr_ipv6_wildcard_spellings),
        cmocka_unit_test(test_netaddr_not_wildcards),
        cmocka_unit_test(test_netaddr_endpoint_strings),
        cmocka_unit_test(test_netaddr_endpoint_fix_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
