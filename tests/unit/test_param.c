/* SPDX-License-Identifier: MIT */
/*
 * test_param.c: typed parameter parsing (flow__param_set, flow__parse_i64)
 * and the descriptor checks the loader applies (flow__desc_check), with
 * descriptors written here as static const values, as a node linked with
 * FLOW_NODE_STATIC declares them.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "testutil.h"

struct t {
    int64_t n;
    int64_t big;
    double d;
    bool b;
    char *s;
    int c;
};

static const flow_param_t t_params[] = {
    FLOW_PARAM_INT("n", struct t, n, "5", -10, 2000000000, "bounded int"),
    FLOW_PARAM_INT("big", struct t, big, "0", INT64_MIN, INT64_MAX,
                   "any int64"),
    FLOW_PARAM_DOUBLE("d", struct t, d, "1.5", 0.5, 100, "bounded double"),
    FLOW_PARAM_BOOL("b", struct t, b, "false", "a switch"),
    FLOW_PARAM_STRING("s", struct t, s, "x", "a string"),
    FLOW_PARAM_CHOICE("c", struct t, c, "red", "red|green|blue", "a choice"),
    FLOW_PARAM_END
};

enum { P_N, P_BIG, P_D, P_B, P_S, P_C };

static char why[256];

/* Set parameter `i` of t_params in `st` to `value`; return the code. */
static int
set(struct t *st, int i, const char *value)
{
    why[0] = '\0';
    return flow__param_set(&t_params[i], value, st, why, sizeof(why));
}

static void
assert_why(const char *needle)
{
    if (!strstr(why, needle))
        fail_msg("reason '%s' does not contain '%s'", why, needle);
}

/* ---- flow__param_set ---------------------------------------------------- */


static void
test_param_int_bounds(void **state)
{
    static const struct {
        const char *in;
        int64_t out;
    } ok[] = {
        { "0", 0 },      { "-10", -10 },        { "2000000000", 2000000000 },
        { "+17", 17 },   { "1e9", 1000000000 }, { "2E9", 2000000000 },
        { "15e1", 150 }, { "-1e1", -10 },       { "007", 7 },
        { "1e+2", 100 }, { "2.5e6", 2500000 },  { "1.0", 1 },
    };
    static const char *const range[] = { "-11",
                                         "2000000001",
                                         "3e9",
                                         "-2e1",
                                         "1e18",
                                         "99999999999999999999",
                                         "-99999999999999999999" };
    static const char *const nan[] = { "",   "abc", "12abc", "1.5",   "0x10",
                                       "1e", "e3",  "1e-2",  "1.5e0", "-",
                                       "+",  " 1",  "1 ",    "--1",   "1,000" };
    struct t st = { .n = 42 };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (set(&st, P_N, ok[i].in))
            fail_msg("'%s' rejected: %s", ok[i].in, why);
        assert_int_equal(st.n, ok[i].out);
    }
    for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
        st.n = 42;
        if (set(&st, P_N, range[i]) != FLOW_EPARAM)
            fail_msg("'%s' accepted", range[i]);
        assert_why("out of range [-10, 2000000000]");
        assert_int_equal(st.n, 42); /* unchanged on failure */
    }
    for (size_t i = 0; i < sizeof(nan) / sizeof(nan[0]); i++) {
        st.n = 42;
        if (set(&st, P_N, nan[i]) != FLOW_EPARAM)
            fail_msg("'%s' accepted", nan[i]);
        assert_why("not an integer");
        assert_int_equal(st.n, 42);
    }
}

static void
test_param_int64_limits(void **state)
{
    struct t st = { 0 };

    (void)state;
    assert_int_equal(set(&st, P_BIG, "9223372036854775807"), 0);
    assert_true(st.big == INT64_MAX);
    assert_int_equal(set(&st, P_BIG, "-9223372036854775808"), 0);
    assert_true(st.big == INT64_MIN);
    assert_int_equal(set(&st, P_BIG, "9e18"), 0);
    assert_true(st.big == INT64_C(9000000000000000000));
    assert_int_equal(set(&st, P_BIG, "9223372036854775808"), FLOW_EPARAM);
    assert_why("out of range");
    assert_int_equal(set(&st, P_BIG, "-9223372036854775809"), FLOW_EPARAM);
    assert_why("out of range");
    assert_int_equal(set(&st, P_BIG, "10e18"), FLOW_EPARAM);
    assert_why("out of range");
    assert_true(st.big == INT64_C(9000000000000000000));
}

static void
test_param_double(void **state)
{
    static const struct {
        const char *in;
        double out;
    } ok[] = {
        { "2.5", 2.5 }, { "0.5", 0.5 },    { "100", 100 },
        { "1e1", 10 },  { "+3.25", 3.25 }, { "7.", 7 },
    };
    static const char *const nan[] = { "",    "abc",    "1.5x", "nan",
                                       "inf", "-inf",   "1,5",  " 1",
                                       "\t2", "0x1p-1", "0X2",  "-0x1" };
    static const char *const range[] = { "0.49",  "100.01", "-1",    "1e3",
                                         "1e999", "-1e999", "1e-400" };
    struct t st = { .d = 42 };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (set(&st, P_D, ok[i].in))
            fail_msg("'%s' rejected: %s", ok[i].in, why);
        assert_true(st.d == ok[i].out);
    }
    st.d = 42;
    for (size_t i = 0; i < sizeof(nan) / sizeof(nan[0]); i++) {
        if (set(&st, P_D, nan[i]) != FLOW_EPARAM)
            fail_msg("'%s' accepted", nan[i]);
        assert_why("not a number");
        assert_true(st.d == 42);
    }
    for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
        if (set(&st, P_D, range[i]) != FLOW_EPARAM)
            fail_msg("'%s' accepted", range[i]);
        assert_why("out of range");
        assert_true(st.d == 42);
    }
    /* Too large for a double, with 0 in the range: refused, not read as
     * the 0 a failed parse leaves. */
    {
        const flow_param_t around0 =
            FLOW_PARAM_DOUBLE("d", struct t, d, "0", -1, 1, "around 0");
        for (size_t i = 0; i < 2; i++) {
            const char *big = i ? "-1e999" : "1e999";
            why[0] = '\0';
            if (flow__param_set(&around0, big, &st, why, sizeof(why)) !=
                FLOW_EPARAM)
                fail_msg("'%s' accepted as %g", big, st.d);
            assert_why("out of range [-1, 1]");
            assert_true(st.d == 42);
        }
    }
}

static void
test_param_bool_spellings(void **state)
{
    static const char *const yes[] = { "true", "yes", "on", "1",
                                       "TRUE", "Yes", "oN" };
    static const char *const no[] = { "false", "no", "off", "0",
                                      "False", "NO", "OFF" };
    static const char *const bad[] = { "",  "2",     "maybe", "tru", "y",
                                       "n", " true", "true ", "10" };
    struct t st = { 0 };

    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        st.b = false;
        if (set(&st, P_B, yes[i]))
            fail_msg("'%s' rejected", yes[i]);
        assert_true(st.b);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        st.b = true;
        if (set(&st, P_B, no[i]))
            fail_msg("'%s' rejected", no[i]);
        assert_false(st.b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st.b = true;
        if (set(&st, P_B, bad[i]) != FLOW_EPARAM)
            fail_msg("'%s' accepted", bad[i]);
        assert_why("not a boolean");
        assert_true(st.b);
    }
}

static void
test_param_choice(void **state)
{
    static const char *const bad[] = { "",     "Red",       "gre", "greenish",
                                       "red|", "red|green", "|",   " red" };
    struct t st = { .c = 7 };

    (void)state;
    assert_int_equal(set(&st, P_C, "red"), 0);
    assert_int_equal(st.c, 0);
    assert_int_equal(set(&st, P_C, "green"), 0);
    assert_int_equal(st.c, 1);
    assert_int_equal(set(&st, P_C, "blue"), 0);
    assert_int_equal(st.c, 2);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (set(&st, P_C, bad[i]) != FLOW_EPARAM)
            fail_msg("'%s' accepted", bad[i]);
        assert_why("not one of red|green|blue");
        assert_int_equal(st.c, 2);
    }
}

/* Setting a string twice frees the first copy (LeakSanitizer checks);
 * flow__param_release frees the last one and clears the field. */
static void
test_param_string_replace(void **state)
{
    struct t st = { 0 };
    char value[16] = "first";

    (void)state;
    assert_int_equal(set(&st, P_S, value), 0);
    assert_string_equal(st.s, "first");
    assert_ptr_not_equal(st.s, value); /* a copy */
    value[0] = 'F';
    assert_string_equal(st.s, "first");
    assert_int_equal(set(&st, P_S, "second"), 0);
    assert_string_equal(st.s, "second");
    assert_int_equal(set(&st, P_S, ""), 0);
    assert_string_equal(st.s, "");
    flow__param_release(t_params, &st);
    assert_null(st.s);
    flow__param_release(t_params, &st); /* twice is harmless */
    flow__param_release(NULL, &st);
}

/* The defaults of the table parse, through the same parser. */
static void
test_param_defaults(void **state)
{
    struct t st = { 0 };

    (void)state;
    for (const flow_param_t *p = t_params; p->name; p++)
        assert_int_equal(flow__param_set(p, p->def, &st, why, sizeof(why)), 0);
    assert_int_equal(st.n, 5);
    assert_int_equal(st.big, 0);
    assert_true(st.d == 1.5);
    assert_false(st.b);
    assert_string_equal(st.s, "x");
    assert_int_equal(st.c, 0);
    flow__param_release(t_params, &st);
}

/* A small `why` buffer is truncated, never overrun. */
static void
test_param_short_reason_buffer(void **state)
{
    struct t st = { 0 };
    char small[6] = "#####";

    (void)state;
    assert_int_equal(
        flow__param_set(&t_params[P_N], "zzz", &st, small, sizeof(small) - 1),
        FLOW_EPARAM);
    assert_int_equal(strlen(small), 4);
    assert_int_equal(small[5], '\0');
    assert_int_equal(small[4], '\0');
}

/* ---- flow__parse_i64 ---------------------------------------------------- */

static void
test_param_parse_i64_edges(void **state)
{
    static const struct {
        const char *in;
        int rc;
        int64_t out;
    } cases[] = {
        { "0", 0, 0 },
        { "-0", 0, 0 },
        { "+7", 0, 7 },
        { "9223372036854775807", 0, INT64_MAX },
        { "-9223372036854775808", 0, INT64_MIN },
        { "9223372036854775808", -ERANGE, 0 },
        { "-9223372036854775809", -ERANGE, 0 },
        { "18446744073709551616", -ERANGE, 0 },
        { "1e18", 0, INT64_C(1000000000000000000) },
        { "9e18", 0, INT64_C(9000000000000000000) },
        { "-9e18", 0, -INT64_C(9000000000000000000) },
        { "10e18", -ERANGE, 0 },
        { "-10e18", -ERANGE, 0 },
        { "922337203685477580e1", 0, INT64_C(9223372036854775800) },
        { "922337203685477581e1", -ERANGE, 0 },
        { "1E3", 0, 1000 },
        { "1e0", 0, 1 },
        { "0e5", 0, 0 },
        /* An integer too big for int64 is out of range, whatever its
         * spelling: "1e19" is 10000000000000000000, like "10e18". */
        { "1e19", -ERANGE, 0 },
        { "-", FLOW_EPARAM, 0 },
        { "+", FLOW_EPARAM, 0 },
        { "", FLOW_EPARAM, 0 },
        { "e5", FLOW_EPARAM, 0 },
        { "1e", FLOW_EPARAM, 0 },
        { "1e-1", FLOW_EPARAM, 0 },
        { "1e1x", FLOW_EPARAM, 0 },
        /* A decimal fraction or a negative power: whole values only. */
        { "1e+1", 0, 10 },
        { "1.0", 0, 1 },
        { "0.0", 0, 0 },
        { "1.5e1", 0, 15 },
        { "1.50e1", 0, 15 },
        { "150e-1", 0, 15 },
        { "-0.5e1", 0, -5 },
        { "2.5E6", 0, 2500000 },
        { "9.223372036854775807e18", 0, INT64_MAX },
        { "-9.223372036854775808e18", 0, INT64_MIN },
        { "9.223372036854775808e18", -ERANGE, 0 },
        { "1000000000000000000000000000000e-30", 0, 1 },
        { "00000000000000000000000000000000042", 0, 42 },
        { "0.000e999999999999", 0, 0 },
        { "1e999999999999", -ERANGE, 0 },
        /* The exponent is read whole (its count stops where no value can
         * be in range): 10^15 fits, 10^100, 10^150 and 10^400 do not. */
        { "1e15", 0, INT64_C(1000000000000000) },
        { "-1e15", 0, -INT64_C(1000000000000000) },
        { "1e100", -ERANGE, 0 },
        { "1e150", -ERANGE, 0 },
        { "1e400", -ERANGE, 0 },
        { "-1e400", -ERANGE, 0 },
        { "1e-400", FLOW_EPARAM, 0 },
        { "0e400", 0, 0 },
        { "15e-1", FLOW_EPARAM, 0 },
        { "1.5", FLOW_EPARAM, 0 },
        { "1e-999999999999", FLOW_EPARAM, 0 },
        { "1.", FLOW_EPARAM, 0 },
        { ".5e1", FLOW_EPARAM, 0 },
        { "1e+", FLOW_EPARAM, 0 },
        { "1e1.5", FLOW_EPARAM, 0 },
        { "1.e1", FLOW_EPARAM, 0 },
        { "0x1f", FLOW_EPARAM, 0 },
        { " 5", FLOW_EPARAM, 0 },
        { "5 ", FLOW_EPARAM, 0 },
        { "\t5", FLOW_EPARAM, 0 },
        { "- 5", FLOW_EPARAM, 0 },
        { "+-5", FLOW_EPARAM, 0 },
    };

    size_t failures = 0;

    (void)state;
    /* Check every row, then fail once: one wrong row hides no other. */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t out = 12345;
        int rc = flow__parse_i64(cases[i].in, &out);

        if (rc != cases[i].rc) {
            print_error("'%s': got %s, expected %s\n", cases[i].in,
                        flow_err_name(rc), flow_err_name(cases[i].rc));
            failures++;
        } else if (rc == 0 && out != cases[i].out) {
            print_error("'%s': got %lld, expected %lld\n", cases[i].in,
                        (long long)out, (long long)cases[i].out);
            failures++;
        } else if (rc != 0 && out != 12345) {
            print_error("'%s': output written on failure\n", cases[i].in);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* flow_parse_int, the public form for nodes: the same numbers, read from
 * the middle of a string by length (primes' "ranges": "11-1e3,1e3-2e3"). */
static void
test_param_parse_int_public(void **state)
{
    static const char list[] = "11-1e3,1e3-2.5e3,7-9223372036854775808";
    int64_t v = 0;

    (void)state;
    assert_int_equal(flow_parse_int(list, 2, &v), 0);
    assert_int_equal(v, 11);
    assert_int_equal(flow_parse_int(list + 3, 3, &v), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(flow_parse_int(list + 11, 5, &v), 0);
    assert_int_equal(v, 2500);
    assert_int_equal(flow_parse_int(list + 3, 4, &v), FLOW_EPARAM); /* "1e3," */
    assert_int_equal(flow_parse_int(list + 19, 19, &v), -ERANGE);
    assert_int_equal(flow_parse_int(list, 0, &v), FLOW_EPARAM);
    assert_int_equal(flow_parse_int("1\0002", 3, &v), FLOW_EPARAM);
    v = 5;
    assert_int_equal(flow_parse_int("1.5", 3, &v), FLOW_EPARAM);
    assert_int_equal(v, 5); /* untouched on failure */
}

/* A number of millions of digits is 1 when its exponent takes them back:
 * "1" and N zeros, "e-N", for N of 7 and 8 digits (the exponent's count
 * stopped at 7 digits, and the value 10^(N - 10^6) was out of range), and
 * 10 with one zero more; so is "0.", N - 1 zeros, "1eN". */
static void
test_param_parse_int_long_mantissa(void **state)
{
    static const size_t zeros[] = { 1000000, 10000000 };
    int64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(zeros) / sizeof(*zeros); i++) {
        size_t n = zeros[i], len;
        char *s = malloc(n + 32);

        assert_non_null(s);
        s[0] = '1';
        memset(s + 1, '0', n);
        len = 1 + n;
        len += (size_t)snprintf(s + len, 32, "e-%zu", n);
        v = 0;
        assert_int_equal(flow_parse_int(s, len, &v), 0);
        assert_int_equal(v, 1);
        len = 1 + n;
        len += (size_t)snprintf(s + len, 32, "e-%zu", n - 1);
        assert_int_equal(flow_parse_int(s, len, &v), 0);
        assert_int_equal(v, 10);
        len = 1 + n;
        len += (size_t)snprintf(s + len, 32, "e-%zu", n + 1);
        assert_int_equal(flow_parse_int(s, len, &v), FLOW_EPARAM);
        /* "0.", N - 1 zeros, "1eN": 1 too. */
        s[0] = '0';
        s[1] = '.';
        memset(s + 2, '0', n - 1);
        s[n + 1] = '1';
        len = n + 2;
        len += (size_t)snprintf(s + len, 32, "e%zu", n);
        v = 0;
        assert_int_equal(flow_parse_int(s, len, &v), 0);
        assert_int_equal(v, 1);
        free(s);
    }
}

/* flow_parse_double: decimal, as a double parameter is read; what strtod
 * also reads (space, hexadecimal, inf, nan) is refused. */
static void
test_param_parse_double_public(void **state)
{
    static const struct {
        const char *s;
        int rc;
        double v;
    } cases[] = {
        { "2.5", 0, 2.5 },          { "-.5", 0, -0.5 },
        { "+5.", 0, 5.0 },          { "1e-3", 0, 0.001 },
        { "1E+2", 0, 100.0 },       { "0", 0, 0.0 },
        { "1e-400", 0, 0.0 },       { "1e400", -ERANGE, 0 },
        { "-1e400", -ERANGE, 0 },   { "", FLOW_EPARAM, 0 },
        { " 5", FLOW_EPARAM, 0 },   { "5 ", FLOW_EPARAM, 0 },
        { "0x10", FLOW_EPARAM, 0 }, { "0x1p-1", FLOW_EPARAM, 0 },
        { "inf", FLOW_EPARAM, 0 },  { "nan", FLOW_EPARAM, 0 },
        { ".", FLOW_EPARAM, 0 },    { "-", FLOW_EPARAM, 0 },
        { "1e", FLOW_EPARAM, 0 },   { "1e+", FLOW_EPARAM, 0 },
        { "e5", FLOW_EPARAM, 0 },   { "1.2.3", FLOW_EPARAM, 0 },
        { "2s", FLOW_EPARAM, 0 },   { "--1", FLOW_EPARAM, 0 },
    };
    double v;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = -7;
        int rc = flow_parse_double(cases[i].s, strlen(cases[i].s), &v);
        if (rc != cases[i].rc)
            fail_msg("'%s': %d, not %d", cases[i].s, rc, cases[i].rc);
        if (rc == 0 && v != cases[i].v)
            fail_msg("'%s': %g, not %g", cases[i].s, v, cases[i].v);
        if (rc != 0 && v != -7)
            fail_msg("'%s': *out set on failure", cases[i].s);
    }
    /* By length, from the middle of a string; a NUL inside is not a
     * number's. */
    assert_int_equal(flow_parse_double("0.25,7", 4, &v), 0);
    assert_true(v == 0.25);
    assert_int_equal(flow_parse_double("1\0002", 3, &v), FLOW_EPARAM);
}

/* flow_parse_double reads '.' as the decimal point whatever the locale a
 * node or a test program set (setlocale): under one whose decimal point is
 * a comma, strtod read "2.5" as 2, and "2.5" passed the grammar. Skipped
 * where no such locale is installed. */
static void
test_param_parse_double_locale(void **state)
{
    static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "de_DE",
                                         "fr_FR.UTF-8", "fr_FR.utf8", "fr_FR" };
    const char *set = NULL;
    double v = 0;

    (void)state;
    for (size_t i = 0; !set && i < sizeof(names) / sizeof(names[0]); i++)
        if ((set = setlocale(LC_NUMERIC, names[i])) &&
            strcmp(localeconv()->decimal_point, ","))
            set = NULL;
    if (!set) {
        setlocale(LC_NUMERIC, "C");
        skip(); /* no locale with a decimal comma here */
    }
    int rc = flow_parse_double("2.5", 3, &v);
    double w = 0;
    int rc2 = flow_parse_double("1.5e3", 5, &w);
    setlocale(LC_NUMERIC, "C");
    assert_int_equal(rc, 0);
    assert_true(v == 2.5);
    assert_int_equal(rc2, 0);
    assert_true(w == 1500.0);
}

/* ---- flow__desc_check --------------------------------------------------- */

static int
run_cb(flow_node_t *node, void *state)
{
    (void)node;
    (void)state;
    return 0;
}

static int
process_cb(flow_node_t *node, void *state, const char *port, flow_msg_t **msg_p)
{
    (void)node;
    (void)state;
    (void)port;
    (void)msg_p;
    return 0;
}

struct one {
    int64_t n;
};

static const flow_param_t one_params[] = {
    FLOW_PARAM_INT("n", struct one, n, "3", 0, 10, "a number"), FLOW_PARAM_END
};

static const flow_port_t io_ports[] = {
    FLOW_PORT_IN("in", FLOW_INT64, "numbers"),
    FLOW_PORT_OUT("out", FLOW_INT64, "numbers"), FLOW_PORT_END
};

#define DESC_COMMON                                             \
    .summary = "A test node", .state_size = sizeof(struct one), \
    .params = one_params, .ports = io_ports

static const flow_node_desc_t desc_good = {
    FLOW_NODE_V1,
    .name = "good",
    DESC_COMMON,
    .process = process_cb,
};

/* A descriptor from a newer flow (larger) is fine. */
static const flow_node_desc_t desc_larger = {
    .abi = FLOW_NODE_ABI,
    .struct_size = sizeof(flow_node_desc_t) + 16,
    .name = "larger",
    DESC_COMMON,
    .run = run_cb,
};

static const flow_node_desc_t desc_no_params = {
    FLOW_NODE_V1,
    .name = "bare",
    .summary = "No parameters, no state, no ports",
    .run = run_cb,
};

static const flow_node_desc_t desc_wrong_abi = {
    .abi = FLOW_NODE_ABI + 1,
    .struct_size = sizeof(flow_node_desc_t),
    .name = "wrongabi",
    DESC_COMMON,
    .process = process_cb,
};

static const flow_node_desc_t desc_small = {
    .abi = FLOW_NODE_ABI,
    .struct_size = offsetof(flow_node_desc_t, fini),
    .name = "small",
    DESC_COMMON,
    .process = process_cb,
};

static const flow_node_desc_t desc_both = {
    FLOW_NODE_V1,  .name = "both",        DESC_COMMON,
    .run = run_cb, .process = process_cb,
};

static const flow_node_desc_t desc_neither = {
    FLOW_NODE_V1,
    .name = "neither",
    DESC_COMMON,
};

static const flow_node_desc_t desc_bad_name = {
    FLOW_NODE_V1,
    .name = "two words",
    DESC_COMMON,
    .run = run_cb,
};

static const flow_node_desc_t desc_no_name = {
    FLOW_NODE_V1,
    DESC_COMMON,
    .run = run_cb,
};

static const flow_node_desc_t desc_no_summary = {
    FLOW_NODE_V1,         .name = "nosummary", .state_size = sizeof(struct one),
    .params = one_params, .ports = io_ports,   .run = run_cb,
};

static const flow_port_t dup_ports[] = {
    FLOW_PORT_IN("in", FLOW_INT64, "numbers"),
    FLOW_PORT_OUT("out", FLOW_INT64, "numbers"),
    FLOW_PORT_OUT("in", FLOW_WORDS, "again"), FLOW_PORT_END
};

static const flow_node_desc_t desc_dup_port = {
    FLOW_NODE_V1,         .name = "dupport",
    .summary = "x",       .state_size = sizeof(struct one),
    .params = one_params, .ports = dup_ports,
    .run = run_cb,
};

static const flow_port_t bad_dir_ports[] = {
    { "in", (flow_port_dir_t)7, FLOW_INT64, "a bad direction" }, FLOW_PORT_END
};

static const flow_node_desc_t desc_bad_port_dir = {
    FLOW_NODE_V1,           .name = "baddir", .summary = "x",
    .ports = bad_dir_ports, .run = run_cb,
};

static const flow_port_t bad_type_ports[] = {
    { "in", FLOW_DIR_IN, (flow_type_t)9, "a bad item type" }, FLOW_PORT_END
};

static const flow_node_desc_t desc_bad_port_type = {
    FLOW_NODE_V1,  .name = "badtype", .summary = "x", .ports = bad_type_ports,
    .run = run_cb,
};

struct two {
    int64_t a;
    int64_t b;
};

static const flow_param_t dup_params[] = {
    FLOW_PARAM_INT("a", struct two, a, "1", 0, 10, "a"),
    FLOW_PARAM_INT("a", struct two, b, "1", 0, 10, "a again"), FLOW_PARAM_END
};

static const flow_param_t bad_default_params[] = {
    FLOW_PARAM_INT("a", struct two, a, "1", 0, 10, "fine"),
    FLOW_PARAM_INT("b", struct two, b, "abc", 0, 10, "not a number"),
    FLOW_PARAM_END
};

static const flow_param_t range_default_params[] = {
    FLOW_PARAM_INT("a", struct two, a, "11", 0, 10, "out of range"),
    FLOW_PARAM_END
};

static const flow_param_t instances_params[] = {
    FLOW_PARAM_INT("instances", struct two, a, "1", 0, 10, "reserved"),
    FLOW_PARAM_END
};

static const flow_param_t type_params[] = {
    FLOW_PARAM_INT("type", struct two, a, "1", 0, 10, "reserved"),
    FLOW_PARAM_END
};

static const flow_param_t pin_params[] = {
    FLOW_PARAM_INT("pin", struct two, a, "1", 0, 10, "reserved: affinity"),
    FLOW_PARAM_END
};

static const flow_param_t cpus_params[] = {
    FLOW_PARAM_INT("cpus", struct two, a, "1", 0, 10, "reserved: a hint"),
    FLOW_PARAM_END
};

static const flow_param_t constraint_params[] = {
    FLOW_PARAM_INT("slurm_constraint", struct two, a, "1", 0, 10,
                   "reserved: a hint"),
    FLOW_PARAM_END
};

static const flow_param_t timeout_params[] = {
    FLOW_PARAM_INT("timeout", struct two, a, "1", 0, 10, "reserved"),
    FLOW_PARAM_END
};

static const flow_param_t log_level_params[] = {
    FLOW_PARAM_INT("log_level", struct two, a, "1", 0, 10, "reserved"),
    FLOW_PARAM_END
};

struct mixed {
    double d;
    bool b;
    int c;
};

static const flow_param_t bad_choice_params[] = {
    FLOW_PARAM_CHOICE("c", struct mixed, c, "purple", "red|green", "x"),
    FLOW_PARAM_END
};

/* An empty alternative: `--set n.c=` would pass for a choice. */
static const flow_param_t empty_choice_params[] = {
    FLOW_PARAM_CHOICE("c", struct mixed, c, "red", "red||green", "x"),
    FLOW_PARAM_END
};

static const flow_param_t trailing_choice_params[] = {
    FLOW_PARAM_CHOICE("c", struct mixed, c, "red", "red|green|", "x"),
    FLOW_PARAM_END
};

static const flow_param_t bad_bool_params[] = {
    FLOW_PARAM_BOOL("b", struct mixed, b, "perhaps", "x"), FLOW_PARAM_END
};

static const flow_param_t range_double_params[] = {
    FLOW_PARAM_DOUBLE("d", struct mixed, d, "0.1", 1, 2, "x"), FLOW_PARAM_END
};

/* Bounds that are no bounds: every value compares false with NaN, so a
 * check of min > max alone lets them through (and any value then). */
static const flow_param_t nan_min_params[] = {
    FLOW_PARAM_DOUBLE("d", struct mixed, d, "1", NAN, 2, "x"), FLOW_PARAM_END
};

static const flow_param_t nan_max_params[] = {
    FLOW_PARAM_DOUBLE("d", struct mixed, d, "1", 0, NAN, "x"), FLOW_PARAM_END
};

static const flow_param_t swapped_double_params[] = {
    FLOW_PARAM_DOUBLE("d", struct mixed, d, "1", 2, 0.5, "x"), FLOW_PARAM_END
};

#define DESC_WITH_PARAMS(var, nm, T, table)           \
    static const flow_node_desc_t                     \
        var = {                                       \
            FLOW_NODE_V1,    .name = nm,              \
            .summary = "x",  .state_size = sizeof(T), \
            .params = table, .run = run_cb,           \
        }

DESC_WITH_PARAMS(desc_dup_param, "dupparam", struct two, dup_params);
DESC_WITH_PARAMS(desc_bad_default, "baddefault", struct two,
                 bad_default_params);
DESC_WITH_PARAMS(desc_range_default, "rangedefault", struct two,
                 range_default_params);
DESC_WITH_PARAMS(desc_instances_param, "instparam", struct two,
                 instances_params);
DESC_WITH_PARAMS(desc_type_param, "typeparam", struct two, type_params);
DESC_WITH_PARAMS(desc_pin_param, "pinparam", struct two, pin_params);
DESC_WITH_PARAMS(desc_cpus_param, "cpusparam", struct two, cpus_params);
DESC_WITH_PARAMS(desc_constraint_param, "constraintparam", struct two,
                 constraint_params);
DESC_WITH_PARAMS(desc_timeout_param, "timeoutparam", struct two,
                 timeout_params);
DESC_WITH_PARAMS(desc_log_level_param, "loglevelparam", struct two,
                 log_level_params);
DESC_WITH_PARAMS(desc_bad_choice, "badchoice", struct mixed, bad_choice_params);
DESC_WITH_PARAMS(desc_empty_choice, "emptychoice", struct mixed,
                 empty_choice_params);
DESC_WITH_PARAMS(desc_trailing_choice, "trailchoice", struct mixed,
                 trailing_choice_params);
DESC_WITH_PARAMS(desc_bad_bool, "badbool", struct mixed, bad_bool_params);
DESC_WITH_PARAMS(desc_nan_min, "nanmin", struct mixed, nan_min_params);
DESC_WITH_PARAMS(desc_nan_max, "nanmax", struct mixed, nan_max_params);
DESC_WITH_PARAMS(desc_swapped_double, "swapped", struct mixed,
                 swapped_double_params);
DESC_WITH_PARAMS(desc_range_double, "rangedouble", struct mixed,
                 range_double_params);

static const flow_node_desc_t desc_params_no_state = {
    FLOW_NODE_V1,         .name = "nostate", .summary = "x",
    .params = one_params, .run = run_cb,
};

static const flow_param_t outside_params[] = {
    { "far", FLOW_PARAM_T_INT, 64, "1", 0, 10, 0, 0, NULL, "beyond" },
    FLOW_PARAM_END
};

DESC_WITH_PARAMS(desc_outside, "outside", struct two, outside_params);

typedef struct desc_case {
    const flow_node_desc_t *desc;
    const char *sub; /* in the message */
} desc_case_t;

static void
test_param_desc_check_accepts_good(void **state)
{
    const flow_node_desc_t *good[] = { &desc_good, &desc_larger,
                                       &desc_no_params };
    flow_diag_t diag;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memset(&diag, 0, sizeof(diag));
        if (flow__desc_check(good[i], "test.so", &diag))
            fail_msg("'%s' rejected: %s", good[i]->name, diag.msg);
    }
}

static void
test_param_desc_check_rejects_broken(void **state)
{
    static const desc_case_t cases[] = {
        { &desc_wrong_abi, "ABI 2" },
        { &desc_small, "size" },
        { &desc_both, "exactly one of run and process" },
        { &desc_neither, "exactly one of run and process" },
        { &desc_bad_name, "one word" },
        { &desc_no_name, "one word" },
        { &desc_no_summary, "summary" },
        { &desc_dup_port, "duplicate port 'in'" },
        { &desc_bad_port_dir, "'in'" },
        { &desc_bad_port_type, "'in'" },
        { &desc_dup_param, "duplicate parameter 'a'" },
        { &desc_bad_default, "default 'abc' of parameter 'b'" },
        { &desc_range_default, "out of range [0, 10]" },
        { &desc_instances_param, "parameter name 'instances' is reserved" },
        { &desc_type_param, "parameter name 'type' is reserved" },
        { &desc_pin_param, "parameter name 'pin' is reserved" },
        { &desc_cpus_param, "parameter name 'cpus' is reserved" },
        { &desc_constraint_param,
          "parameter name 'slurm_constraint' is reserved" },
        { &desc_timeout_param, "parameter name 'timeout' is reserved" },
        { &desc_log_level_param, "parameter name 'log_level' is reserved" },
        { &desc_bad_choice, "'purple'" },
        { &desc_empty_choice, "empty choice in 'red||green'" },
        { &desc_trailing_choice, "empty choice in 'red|green|'" },
        { &desc_bad_bool, "'perhaps'" },
        { &desc_range_double, "out of range" },
        { &desc_nan_min, "parameter 'd' has min > max" },
        { &desc_nan_max, "parameter 'd' has min > max" },
        { &desc_swapped_double, "parameter 'd' has min > max" },
        { &desc_params_no_state, "no state" },
        { &desc_outside, "'far'" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const desc_case_t *c = &cases[i];
        flow_diag_t diag;
        int rc;

        memset(&diag, 0, sizeof(diag));
        rc = flow__desc_check(c->desc, "plugin.so", &diag);
        if (rc != FLOW_EABI)
            fail_msg("case %zu ('%s'): got %s (%s), expected FLOW_EABI", i,
                     c->desc->name ? c->desc->name : "(null)",
                     flow_err_name(rc), diag.msg);
        assert_int_equal(diag.code, FLOW_EABI);
        assert_string_equal(diag.file, "plugin.so");
        if (!strstr(diag.msg, c->sub))
            fail_msg("case %zu: '%s' does not contain '%s'", i, diag.msg,
                     c->sub);
    }
}

/* The registry applies the same checks, and refuses a second type of the
 * same name. */
static void
test_param_desc_check_in_registry(void **state)
{
    flow_registry_t *reg = flow_registry_new();
    flow_diag_t diag;

    (void)state;
    assert_int_equal(flow_registry_add(reg, &desc_good, "a.so", &diag), 0);
    assert_int_equal(flow_registry_add(reg, &desc_good, "b.so", &diag),
                     FLOW_EDUP);
    assert_non_null(strstr(diag.msg, "a.so"));
    assert_int_equal(flow_registry_add(reg, &desc_both, "c.so", &diag),
                     FLOW_EABI);
    assert_int_equal(flow_registry_count(reg), 1);
    assert_ptr_equal(flow_registry_find(reg, "good", &diag), &desc_good);
    assert_null(flow_registry_find(reg, "both", &diag));
    assert_int_equal(diag.code, FLOW_ETYPE);
    /* flow_registry_at lists them by name, whatever order they came in:
     * "bare" < "good" < "larger". */
    assert_int_equal(flow_registry_add(reg, &desc_larger, "l.so", &diag), 0);
    assert_int_equal(flow_registry_add(reg, &desc_no_params, "n.so", &diag), 0);
    assert_int_equal(flow_registry_count(reg), 3);
    {
        static const char *const names[] = { "bare", "good", "larger" };
        static const char *const origins[] = { "n.so", "a.so", "l.so" };
        for (size_t i = 0; i < 3; i++) {
            const char *origin = NULL;
            const flow_node_desc_t *d = flow_registry_at(reg, i, &origin);
            assert_non_null(d);
            assert_string_equal(d->name, names[i]);
            assert_string_equal(origin, origins[i]);
        }
        assert_null(flow_registry_at(reg, 3, NULL));
    }
    assert_ptr_equal(flow_registry_find(reg, "good", &diag), &desc_good);
    flow_registry_destroy(&reg);
    assert_null(reg);
}

/*
 * A parameter whose field does not fit in the state: an int64 at offset 0
 * of a 4-byte state. The offset is inside the state, but the value is
 * 8 bytes, so parsing the default (and later any value) writes past the
 * end of the state block. The check must reject it. Run in a child: the
 * overflow aborts under AddressSanitizer.
 */
struct tiny {
    int32_t x;
};

static const flow_param_t straddle_params[] = {
    { "wide", FLOW_PARAM_T_INT, 0, "1", 0, 10, 0, 0, NULL, "8 bytes in 4" },
    FLOW_PARAM_END
};

DESC_WITH_PARAMS(desc_straddle, "straddle", struct tiny, straddle_params);

static void
test_param_desc_check_rejects_field_past_state(void **state)
{
    int status;
    pid_t pid;

    (void)state;
    fflush(NULL);
    pid = tu_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tu_default_signals();
        flow_diag_t diag;
        int rc = flow__desc_check(&desc_straddle, "straddle.so", &diag);
        _exit(rc == FLOW_EABI ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("a parameter field that ends past state_size is not "
                 "rejected (%s)",
                 tu_child_status(status));
}

/* A parameter of no known type cannot be set by any value: the descriptor
 * is broken and must be refused at load time, like a bad port. */
static const flow_param_t unknown_type_params[] = {
    { "what", (flow_param_type_t)42, 0, NULL, 0, 0, 0, 0, NULL, "?" },
    FLOW_PARAM_END
};

DESC_WITH_PARAMS(desc_unknown_param_type, "unknowntype", struct two,
                 unknown_type_params);

static void
test_param_desc_check_rejects_unknown_param_type(void **state)
{
    flow_diag_t diag;

    (void)state;
    memset(&diag, 0, sizeof(diag));
    assert_int_equal(
        flow__desc_check(&desc_unknown_param_type, "plugin.so", &diag),
        FLOW_EABI);
}

/* The built-in nodes' tables pass the checks (through the plugins). */
static void
test_param_builtin_nodes_pass(void **state)
{
    flow_registry_t *reg = flow_registry_new();
    flow_diag_t diag;
    int rc;

    (void)state;
    flow_registry_add_path(reg, tu_plugin_dir());
    memset(&diag, 0, sizeof(diag));
    rc = flow_registry_load_all(reg, &diag);
    if (rc)
        fail_msg("%s: %s", diag.file, diag.msg);
    assert_true(flow_registry_count(reg) >= 7);
    flow_registry_destroy(&reg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_int_bounds),
        cmocka_unit_test(test_param_int64_limits),
        cmocka_unit_test(test_param_double),
        cmocka_unit_test(test_param_bool_spellings),
        cmocka_unit_test(test_param_choice),
        cmocka_unit_test(test_param_string_replace),
        cmocka_unit_test(test_param_defaults),
        cmocka_unit_test(test_param_short_reason_buffer),
        cmocka_unit_test(test_param_parse_i64_edges),
        cmocka_unit_test(test_param_parse_int_public),
        cmocka_unit_test(test_param_parse_int_long_mantissa),
        cmocka_unit_test(test_param_parse_double_public),
        cmocka_unit_test(test_param_parse_double_locale),
        cmocka_unit_test(test_param_desc_check_accepts_good),
        cmocka_unit_test(test_param_desc_check_rejects_broken),
        cmocka_unit_test(test_param_desc_check_in_registry),
        cmocka_unit_test(test_param_desc_check_rejects_field_past_state),
        cmocka_unit_test(test_param_desc_check_rejects_unknown_param_type),
        cmocka_unit_test(test_param_builtin_nodes_pass),
    };

    tu_watchdog(60);
    return cmocka_run_group_tests_name("param", tests, NULL, NULL);
}
