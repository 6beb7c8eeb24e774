/* SPDX-License-Identifier: MIT */
/*
 * test_node_palindromes.c: the palindromes node in the harness of
 * flow/testing.h, checked against an independent oracle (each word compared
 * with a reversed copy of itself).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/testing.h"

extern const flow_node_desc_t flow_node_palindromes;

/* The oracle: reverse a copy and compare. */
static int
oracle_is_palindrome(const char *w)
{
    size_t n = strlen(w);
    char *r = malloc(n + 1);
    int same;

    assert_non_null(r);
    for (size_t i = 0; i < n; i++)
        r[i] = w[n - 1 - i];
    r[n] = '\0';
    same = strcmp(r, w) == 0;
    free(r);
    return same;
}

/* A word of 1 to 6 letters of "ab" (many palindromes) from `*seed`. */
static void
random_word(unsigned *seed, char *buf)
{
    size_t len = 1 + (size_t)(rand_r(seed) % 6);

    for (size_t i = 0; i < len; i++)
        buf[i] = "ab"[rand_r(seed) % 2];
    buf[len] = '\0';
}

static void
test_node_palindromes_matches_oracle(void **state)
{
    enum { MSGS = 20, WORDS = 50 };
    static char text[MSGS][WORDS][8];
    const char *words[WORDS];
    flow_diag_t diag;
    flow_harness_t *h;
    unsigned seed = 42;

    (void)state;
    h = flow_harness_new(&flow_node_palindromes, NULL, 0, &diag);
    assert_non_null(h);
    for (size_t m = 0; m < MSGS; m++) {
        for (size_t i = 0; i < WORDS; i++) {
            random_word(&seed, text[m][i]);
            words[i] = text[m][i];
        }
        assert_int_equal(flow_harness_push_words(h, "in", words, WORDS, m), 0);
    }
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));

    /* One output message per input message, same sequence number. */
    assert_int_equal(flow_harness_pending(h, "out"), MSGS);
    for (size_t m = 0; m < MSGS; m++) {
        flow_msg_t *out = NULL;
        size_t k = 0;

        assert_int_equal(flow_harness_pull(h, "out", &out, NULL), 0);
        assert_int_equal(flow_msg_type(out), FLOW_WORDS);
        assert_int_equal(flow_msg_seq(out), m);
        for (size_t i = 0; i < WORDS; i++) {
            if (!oracle_is_palindrome(text[m][i]))
                continue;
            assert_true(k < flow_msg_count(out));
            assert_string_equal(flow_msg_word(out, k, NULL), text[m][i]);
            k++;
        }
        assert_int_equal(flow_msg_count(out), k);
        flow_msg_destroy(&out);
    }
    {
        flow_msg_t *none = NULL;
        assert_int_equal(flow_harness_pull(h, "out", &none, NULL), FLOW_EOF);
        assert_null(none);
    }
    flow_harness_destroy(&h);
    assert_null(h);
}

static void
test_node_palindromes_step_by_step(void **state)
{
    const char *a[] = { "level", "flow", "", "x", "abba", "abca" };
    const char *b[] = { "nope" };
    flow_harness_t *h;
    char **got;
    size_t n;

    (void)state;
    h = flow_harness_new(&flow_node_palindromes, NULL, 0, NULL);
    assert_non_null(h);
    assert_int_equal(flow_harness_push_words(h, "in", a, 6, 7), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_false(flow_harness_done(h)); /* "in" is still open */
    got = flow_harness_pull_words(h, "out", &n);
    assert_non_null(got);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_true(oracle_is_palindrome(got[i]));
    assert_string_equal(got[0], "level");
    assert_string_equal(got[1], "");
    assert_string_equal(got[3], "abba");
    assert_null(got[4]);
    free(got);

    /* No palindrome: still one (empty) message, with the input's seq. */
    assert_int_equal(flow_harness_push_words(h, "in", b, 1, 8), 0);
    assert_int_equal(flow_harness_run(h), 0);
    {
        flow_msg_t *out = NULL;
        assert_int_equal(flow_harness_pull(h, "out", &out, NULL), 0);
        assert_int_equal(flow_msg_count(out), 0);
        assert_int_equal(flow_msg_seq(out), 8);
        flow_msg_destroy(&out);
        assert_int_equal(flow_harness_pull(h, "out", &out, NULL), FLOW_ENOENT);
    }
    flow_harness_close(h, "in");
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_int_equal(flow_harness_run(h), FLOW_EUSAGE);
    flow_harness_destroy(&h);
}

/*
 * Words are read by characters, as Python's w == w[::-1] reads a str: a
 * UTF-8 sequence is one character; a byte of no valid sequence is one of
 * its own (Python's errors="surrogateescape"). Expected values from
 * Python 3: b.decode("utf-8", "surrogateescape") compared with its reverse.
 */
static void
test_node_palindromes_reads_characters(void **state)
{
    static const struct {
        const char *word;
        bool palindrome;
    } cases[] = {
        { "\xc3\xa9t\xc3\xa9", true }, /* été */
        { "a\xc3\xa9"
          "a",
          true },                                         /* aéa */
        { "\xc3\xa9\xc3\xa9", true },                     /* éé */
        { "\xe6\x97\xa5\xe6\x9c\xac\xe6\x97\xa5", true }, /* 日本日 */
        { "\xf0\x9f\x8e\x89x\xf0\x9f\x8e\x89", true },    /* 🎉x🎉 */
        { "\xc3\xa9", true },                             /* é */
        { "\xc3\xa9x", false },                           /* éx */
        { "\xc3\xa9\xa9\xc3", false }, /* é then two stray bytes */
        { "\xa9\xc3\xa9", false },     /* a stray byte, then é */
        { "\xa9\xc3\xa9\xa9", true },  /* stray, é, stray: [a9][é][a9] */
        { "\xa9x\xa9", true },         /* stray bytes, one each */
        { "\xc3\xa9\xc3", false },     /* é, then a lone lead byte */
        { "\xed\xa0\x80\x80\xa0\xed", true },  /* a surrogate: 3 bytes */
        { "\xc0\xaf\xaf\xc0", true },          /* overlong: 2 bytes */
        { "\xe6\x97\xa5\xa5\x97\xe6", false }, /* 日 and its bytes reversed */
        { "\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89", true }, /* 🎉🎉 */
    };
    const size_t ncases = sizeof(cases) / sizeof(cases[0]);
    const char *words[sizeof(cases) / sizeof(cases[0])];
    flow_harness_t *h;
    char **got;
    size_t n, k = 0;

    (void)state;
    for (size_t i = 0; i < ncases; i++)
        words[i] = cases[i].word;
    h = flow_harness_new(&flow_node_palindromes, NULL, 0, NULL);
    assert_non_null(h);
    assert_int_equal(flow_harness_push_words(h, "in", words, ncases, 0), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    got = flow_harness_pull_words(h, "out", &n);
    assert_non_null(got);
    for (size_t i = 0; i < ncases; i++) {
        if (!cases[i].palindrome)
            continue;
        assert_true(k < n);
        assert_string_equal(got[k], cases[i].word);
        k++;
    }
    assert_int_equal(n, k);
    free(got);
    flow_harness_destroy(&h);
}

static void
test_node_palindromes_rejects_bad_input(void **state)
{
    int64_t v[] = { 1, 2 };
    flow_diag_t diag;
    const char *params[] = { "length=3" };
    flow_harness_t *h;

    (void)state;
    /* No such parameter: the same check as in a graph. */
    memset(&diag, 0, sizeof(diag));
    assert_null(flow_harness_new(&flow_node_palindromes, params, 1, &diag));
    assert_int_equal(diag.code, FLOW_EPARAM);
    assert_non_null(strstr(diag.msg, "unknown parameter 'length'"));

    /* The input port carries words, not int64. */
    h = flow_harness_new(&flow_node_palindromes, NULL, 0, NULL);
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", v, 2, FLOW_SEQ_NONE),
                     FLOW_EPORT);
    assert_int_equal(flow_harness_push_words(h, "nope", NULL, 0, 0),
                     FLOW_EPORT);
    assert_int_equal(flow_harness_close(h, "out"), FLOW_EPORT);
    flow_harness_destroy(&h);
}

/* The node in a whole graph, through flowrun: every line is a palindrome. */
static void
test_node_palindromes_in_a_graph(void **state)
{
    static const char ini[] = "[gen]\n"
                              "type = words\n"
                              "count = 3000\n"
                              "length = 3\n"
                              "[find]\n"
                              "type = palindromes\n"
                              "instances = 2\n"
                              "[out]\n"
                              "type = collect\n"
                              "[links]\n"
                              "push = gen.out -> find.in batch=100\n"
                              "push = find.out -> out.in\n";
    const char *dir = getenv("FLOW_PLUGIN_DIR");
    const char *args[] = { "--plugin-path", dir, "--timeout", "60", NULL };
    flow_harness_result_t res;
    size_t lines = 0;

    (void)state;
    if (!dir || !getenv("FLOWRUN"))
        skip();
    assert_int_equal(flow_harness_run_graph(ini, NULL, args, 90, &res), 0);
    if (res.status != 0)
        fprintf(stderr, "%s", res.err);
    assert_int_equal(res.status, 0);
    for (char *line = strtok(res.out, "\n"); line; line = strtok(NULL, "\n")) {
        assert_int_equal(strlen(line), 3);
        assert_true(oracle_is_palindrome(line));
        lines++;
    }
    assert_true(lines > 0);
    flow_harness_result_release(&res);
    assert_null(res.out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_palindromes_matches_oracle),
        cmocka_unit_test(test_node_palindromes_step_by_step),
        cmocka_unit_test(test_node_palindromes_reads_characters),
        cmocka_unit_test(test_node_palindromes_rejects_bad_input),
        cmocka_unit_test(test_node_palindromes_in_a_graph),
    };

    return cmocka_run_group_tests_name("node_palindromes", tests, NULL, NULL);
}
