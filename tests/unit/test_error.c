/* SPDX-License-Identifier: MIT */
/*
 * test_error.c: the names and descriptions of error codes (flow/error.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
