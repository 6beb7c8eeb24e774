/* SPDX-License-Identifier: MIT */
/*
 * test_error.c: the names and descriptions of error codes (flow/error.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "flow/error.h"

static void
test_error_names(void **state)
{
    (void)state;
    assert_string_equal(flow_err_name(0), "0");
    assert_string_equal(flow_strerror(0), "success");
    assert_string_equal(flow_err_name(FLOW_EPORT), "FLOW_EPORT");
    assert_string_equal(flow_strerror(FLOW_EPORT), "bad port");
    assert_string_equal(flow_err_name(FLOW_EUSAGE), "FLOW_EUSAGE");
    assert_string_equal(flow_err_name(-ENOENT), "ENOENT");
    assert_string_equal(flow_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(flow_err_name(1), "unknown error");
    assert_string_equal(flow_err_name(FLOW__ERR_BASE), "unknown error");
}

/* flow_strerror's text is static, as error.h says, also for an -errno the
 * C library has no message for: strerror's "Unknown error 9000" lay in a
 * buffer the next call overwrote with "Unknown error 9001". */
static void
test_error_strerror_static(void **state)
{
    const char *a, *b;
    char saved[128];

    (void)state;
    a = flow_strerror(-9000);
    snprintf(saved, sizeof(saved), "%s", a);
    b = flow_strerror(-9001);
    (void)strerror(9002); /* the C library's own buffer, too */
    assert_string_equal(a, saved);
    assert_non_null(b);
    a = flow_strerror(-EPIPE);
    snprintf(saved, sizeof(saved), "%s", a);
    (void)flow_strerror(-9003);
    assert_string_equal(a, saved);
    assert_string_equal(a, "Broken pipe");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_error_strerror_static),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
