/* SPDX-License-Identifier: MIT */
/*
 * test_abi.c: the layout of the public structs that callers and plugins
 * allocate themselves, recorded with the version of the interface it
 * belongs to. A program built against one layout passes its own struct to
 * the library of another: a field added to flow_run_opts_t made libflow
 * read past the end of an older program's struct while the SOVERSION
 * stayed 1. When this test fails, the change breaks what was built before:
 *   - flow_run_opts_t, flow_diag_t, flow_harness_result_t: bump SOVERSION
 *     in framework/CMakeLists.txt;
 *   - flow_param_t, flow_port_t, the fields of flow_node_desc_t: bump
 *     FLOW_NODE_ABI (flow/version.h); fields appended to flow_node_desc_t
 *     need no bump (struct_size tells them apart), so only its existing
 *     fields are checked;
 * then record the new layout here with the new number. The offsets are
 * those of an LP64 target (x86-64, aarch64); elsewhere the test skips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "flow/flow.h"
#include "flow/testing.h"

#ifndef FLOW_TEST_SOVERSION
#error "FLOW_TEST_SOVERSION: libflow's SOVERSION, from tests/CMakeLists.txt"
#endif

/* The interface versions the layouts below are recorded for. */
#define RECORDED_SOVERSION 2
#define RECORDED_NODE_ABI  1

typedef struct {
    const char *what;
    size_t got, want;
} place_t;

#define AT(T, F, WANT)                    \
    {                                     \
#T "." #F, offsetof(T, F), (WANT) \
    }
#define SIZE(T, WANT)                       \
    {                                       \
        "sizeof(" #T ")", sizeof(T), (WANT) \
    }

static bool
lp64(void)
{
    return sizeof(void *) == 8 && sizeof(long) == 8 && sizeof(int) == 4 &&
           _Alignof(double) == 8 && _Alignof(int64_t) == 8;
}

static void
check_places(const place_t *p, size_t n, const char *bump)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].got != p[i].want)
            fail_msg("%s is %zu, recorded %zu: an ABI change (%s, then "
                     "record the new layout in test_abi.c)",
                     p[i].what, p[i].got, p[i].want, bump);
}

/* The structs libflow's SOVERSION covers. */
static void
test_abi_library_structs(void **state)
{
    static const place_t places[] = {
        SIZE(flow_run_opts_t, 80),
        AT(flow_run_opts_t, timeout_s, 0),
        AT(flow_run_opts_t, grace_s, 8),
        AT(flow_run_opts_t, quiet, 16),
        AT(flow_run_opts_t, run_dir, 24),
        AT(flow_run_opts_t, progress, 32),
        AT(flow_run_opts_t, stats, 36),
        AT(flow_run_opts_t, stats_json, 40),
        AT(flow_run_opts_t, dot_stats, 48),
        AT(flow_run_opts_t, log_level, 56),
        AT(flow_run_opts_t, tcp, 60),
        AT(flow_run_opts_t, bind, 64),
        AT(flow_run_opts_t, liveness_s, 72),
        SIZE(flow_diag_t, 776),
        AT(flow_diag_t, code, 0),
        AT(flow_diag_t, line, 4),
        AT(flow_diag_t, file, 8),
        AT(flow_diag_t, msg, 264),
        SIZE(flow_harness_result_t, 40),
        AT(flow_harness_result_t, status, 0),
        AT(flow_harness_result_t, out, 8),
        AT(flow_harness_result_t, outlen, 16),
        AT(flow_harness_result_t, err, 24),
        AT(flow_harness_result_t, errlen, 32),
    };

    (void)state;
    if (!lp64())
        skip();
    if (FLOW_TEST_SOVERSION != RECORDED_SOVERSION)
        fail_msg("SOVERSION is %d but test_abi.c records the layout of %d: "
                 "record the layout of this version",
                 FLOW_TEST_SOVERSION, RECORDED_SOVERSION);
    check_places(places, sizeof(places) / sizeof(places[0]),
                 "bump SOVERSION in framework/CMakeLists.txt");
}

/* The structs of a plugin's tables, which FLOW_NODE_ABI covers. */
static void
test_abi_plugin_structs(void **state)
{
    static const place_t places[] = {
        SIZE(flow_param_t, 80),
        AT(flow_param_t, name, 0),
        AT(flow_param_t, type, 8),
        AT(flow_param_t, offset, 16),
        AT(flow_param_t, def, 24),
        AT(flow_param_t, min_i, 32),
        AT(flow_param_t, max_i, 40),
        AT(flow_param_t, min_d, 48),
        AT(flow_param_t, max_d, 56),
        AT(flow_param_t, choices, 64),
        AT(flow_param_t, doc, 72),
        SIZE(flow_port_t, 24),
        AT(flow_port_t, name, 0),
        AT(flow_port_t, dir, 8),
        AT(flow_port_t, type, 12),
        AT(flow_port_t, doc, 16),
        AT(flow_node_desc_t, abi, 0),
        AT(flow_node_desc_t, struct_size, 4),
        AT(flow_node_desc_t, name, 8),
        AT(flow_node_desc_t, summary, 16),
        AT(flow_node_desc_t, state_size, 24),
        AT(flow_node_desc_t, params, 32),
        AT(flow_node_desc_t, ports, 40),
        AT(flow_node_desc_t, max_instances, 48),
        AT(flow_node_desc_t, init, 56),
        AT(flow_node_desc_t, run, 64),
        AT(flow_node_desc_t, process, 72),
        AT(flow_node_desc_t, finish, 80),
        AT(flow_node_desc_t, fini, 88),
        AT(flow_node_desc_t, check, 96),
    };

    (void)state;
    if (!lp64())
        skip();
    assert_int_equal(FLOW_NODE_ABI, RECORDED_NODE_ABI);
    check_places(places, sizeof(places) / sizeof(places[0]),
                 "bump FLOW_NODE_ABI in flow/version.h");
    /* The values a plugin's tables and messages carry. */
    assert_int_equal(FLOW_PARAM_T_INT, 1);
    assert_int_equal(FLOW_PARAM_T_CHOICE, 5);
    assert_int_equal(FLOW_DIR_IN, 1);
    assert_int_equal(FLOW_DIR_PAIR, 3);
    assert_int_equal(FLOW_WORDS, 2);
    assert_int_equal(FLOW_SAME, 4);
}

/* The FLOW_E* codes: callers and plugins compile their values in, and
 * their names and texts come from the library. A code inserted in
 * FLOW_ERRNO_MAP rather than appended renumbers the ones after it. */
static void
test_abi_error_codes(void **state)
{
    static const struct {
        const char *name;
        int got, want;
    } codes[] = {
        { "FLOW_EOF", FLOW_EOF, -9999 },
        { "FLOW_EPARSE", FLOW_EPARSE, -9998 },
        { "FLOW_EPARAM", FLOW_EPARAM, -9997 },
        { "FLOW_ETYPE", FLOW_ETYPE, -9996 },
        { "FLOW_EPORT", FLOW_EPORT, -9995 },
        { "FLOW_ELINK", FLOW_ELINK, -9994 },
        { "FLOW_ECYCLE", FLOW_ECYCLE, -9993 },
        { "FLOW_EDUP", FLOW_EDUP, -9992 },
        { "FLOW_EABI", FLOW_EABI, -9991 },
        { "FLOW_ENOENT", FLOW_ENOENT, -9990 },
        { "FLOW_EPROTO", FLOW_EPROTO, -9989 },
        { "FLOW_ELOST", FLOW_ELOST, -9988 },
        { "FLOW_ENODE", FLOW_ENODE, -9987 },
        { "FLOW_ETIMEDOUT", FLOW_ETIMEDOUT, -9986 },
        { "FLOW_EINTR", FLOW_EINTR, -9985 },
        { "FLOW_EUSAGE", FLOW_EUSAGE, -9984 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
        if (codes[i].got != codes[i].want)
            fail_msg("%s is %d, recorded %d: append new codes at the end of "
                     "FLOW_ERRNO_MAP",
                     codes[i].name, codes[i].got, codes[i].want);
        assert_string_equal(flow_err_name(codes[i].want), codes[i].name);
    }
    /* A code past the last is none of them (a new one is recorded here). */
    assert_int_equal(FLOW__ERR_END, -9983);
}

/* flow/version.h and the library say the version CMake's project() has
 * (kept in two places: the header for plugins, the project for the
 * library's file name and the package). */
static void
test_abi_version_agrees(void **state)
{
    char want[32];

    (void)state;
    assert_string_equal(FLOW_VERSION_STRING, FLOW_TEST_PROJECT_VERSION);
    assert_string_equal(flow_version(), FLOW_TEST_PROJECT_VERSION);
    snprintf(want, sizeof(want), "%d.%d.%d", FLOW_VERSION_MAJOR,
             FLOW_VERSION_MINOR, FLOW_VERSION_PATCH);
    assert_string_equal(want, FLOW_TEST_PROJECT_VERSION);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_library_structs),
        cmocka_unit_test(test_abi_plugin_structs),
        cmocka_unit_test(test_abi_error_codes),
        cmocka_unit_test(test_abi_version_agrees),
    };
    return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
