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
#include "internal.h"

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

/* flow_diag_format: "file:line: msg", "file: msg" without a line, "msg"
 * without a file. */
static void
test_error_diag_format(void **state)
{
    flow_diag_t d;
    char buf[64];

    (void)state;
    assert_int_equal(flow__diag(&d, FLOW_EPARAM, "g.ini", 7, "bad %d", 1),
                     FLOW_EPARAM);
    assert_string_equal(flow_diag_format(&d, buf, sizeof(buf)),
                        "g.ini:7: bad 1");
    flow__diag(&d, FLOW_EPARAM, "g.ini", 0, "bad");
    assert_string_equal(flow_diag_format(&d, buf, sizeof(buf)), "g.ini: bad");
    flow__diag(&d, FLOW_EUSAGE, NULL, 0, "bad");
    assert_int_equal(d.code, FLOW_EUSAGE);
    assert_string_equal(d.file, "");
    assert_string_equal(flow_diag_format(&d, buf, sizeof(buf)), "bad");
    /* Without a diagnostic to fill: the code alone. */
    assert_int_equal(flow__diag(NULL, FLOW_ETYPE, "g.ini", 1, "x"), FLOW_ETYPE);
}

/* A diagnostic's message shows control bytes escaped (DEL too), and a long
 * one is cut before an escape that does not fit whole, within the
 * message's bytes. */
static void
test_error_diag_escapes_cut(void **state)
{
    struct {
        flow_diag_t d;
        unsigned char canary[16];
    } w;
    char raw[600], want[600];

    (void)state;
    flow__diag(&w.d, FLOW_EPARAM, "", 0, "a%cb%cc", 0x7f, 0x1f);
    assert_string_equal(w.d.msg, "a\\x7fb\\x1fc");
    for (size_t k = 500; k < FLOW_DIAG_MSG; k++) {
        size_t len;
        memset(raw, 'a', k);
        memcpy(raw + k, "\x01", 2);
        memcpy(want, raw, k);
        memcpy(want + k, "\\x01", 5);
        memset(w.canary, 0x5a, sizeof(w.canary));
        flow__diag(&w.d, FLOW_EPARAM, "", 0, "%s", raw);
        for (size_t i = 0; i < sizeof(w.canary); i++)
            assert_int_equal(w.canary[i], 0x5a);
        len = strlen(w.d.msg);
        assert_true(len < FLOW_DIAG_MSG);
        assert_memory_equal(w.d.msg, want, len);
        if (len > k && len != k + 4)
            fail_msg("%zu letters: message of %zu bytes ends in a cut escape",
                     k, len);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_error_strerror_static),
        cmocka_unit_test(test_error_diag_format),
        cmocka_unit_test(test_error_diag_escapes_cut),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
