/* SPDX-License-Identifier: MIT */
/*
 * test_netaddr.c: the addresses an instance binds and advertises
 * (netaddr.h), for the spellings of a wildcard.
 */
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netaddr_ipv6_wildcard_spellings),
        cmocka_unit_test(test_netaddr_not_wildcards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
