/* SPDX-License-Identifier: MIT */
/*
 * test_node_collect.c: the collect node in the harness of flow/testing.h,
 * writing to a file in a directory of the test's own. The oracles are built
 * here: the items of the messages in sequence order, printed with printf.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow/testing.h"
#include "testutil.h"

extern const flow_node_desc_t flow_node_collect;

struct fixture {
    char dir[64];    /* the test's directory */
    char out[96];    /* collect's output file in it */
    char param[128]; /* "output=<out>" */
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_node_collect.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->out, sizeof(f->out), "%s/out", f->dir);
    snprintf(f->param, sizeof(f->param), "output=%s", f->out);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    unlink(f->out);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The whole content of `path` (caller frees), its length in `*len`. */
static char *
slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t size = 0;

    assert_non_null(fp);
    FILE *mem = open_memstream(&buf, &size);
    assert_non_null(mem);
    for (int c; (c = fgetc(fp)) != EOF;)
        fputc(c, mem);
    fclose(fp);
    fclose(mem);
    *len = size;
    return buf;
}

/* Message `seq`'s items: seq % 4 of them (some empty), derived from seq. */
static size_t
items_of(uint64_t seq, int64_t v[4])
{
    size_t n = seq % 4;
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)(seq * 1000003u) - (int64_t)(i * 7919u) - 500000;
    return n;
}

static void
test_node_collect_order_input_restores_order(void **state)
{
    enum { NMSG = 3000 };
    struct fixture *f = *state;
    const char *params[] = { f->param, "order=input" };
    uint64_t order[NMSG], rng = 42;
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 2, &diag);
    char *want = NULL, *got;
    size_t want_len = 0, got_len;
    FILE *oracle = open_memstream(&want, &want_len);

    assert_non_null(h);
    assert_non_null(oracle);
    for (uint64_t s = 0; s < NMSG; s++) {
        int64_t v[4];
        size_t n = items_of(s, v);
        order[s] = s;
        for (size_t i = 0; i < n; i++)
            fprintf(oracle, "%lld\n", (long long)v[i]);
    }
    fclose(oracle);
    for (size_t i = NMSG - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)(tu_splitmix64(&rng) % (i + 1));
        uint64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    /* Pushed shuffled, run message by message: each waits for its turn. */
    for (size_t k = 0; k < NMSG; k++) {
        int64_t v[4];
        size_t n = items_of(order[k], v);
        assert_int_equal(flow_harness_push_i64s(h, "in", v, n, order[k]), 0);
        assert_int_equal(flow_harness_run(h), 0);
    }
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));
    flow_harness_destroy(&h);

    got = slurp(f->out, &got_len);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
    free(want);
}

/*
 * 65536 messages that wait for the first one: a warning (once), and then
 * everything in order when it comes.
 */
static void
test_node_collect_warns_of_many_waiting(void **state)
{
    enum { NWAIT = 65536 };
    struct fixture *f = *state;
    const char *params[] = { f->param, "order=input" };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 2, &diag);
    char *err, *got;
    size_t len;
    int rc;

    assert_non_null(h);
    for (int64_t s = 1; s <= NWAIT + 10; s++)
        assert_int_equal(flow_harness_push_i64s(h, "in", &s, 1, (uint64_t)s),
                         0);
    err = tu_harness_run_stderr(h, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "order=input: 65536 messages wait for "
                                "message 0 (held in memory"));
    assert_null(strstr(strstr(err, "wait for") + 1, "wait for")); /* once */
    free(err);

    int64_t zero = 0;
    assert_int_equal(flow_harness_push_i64s(h, "in", &zero, 1, 0), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    err = tu_harness_run_stderr(h, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(err, ""); /* no gap: nothing to say */
    free(err);
    assert_true(flow_harness_done(h));
    flow_harness_destroy(&h);

    got = slurp(f->out, &len);
    FILE *in = fmemopen(got, len, "r");
    long long v, expect = 0;
    while (fscanf(in, "%lld\n", &v) == 1)
        assert_int_equal(v, expect++);
    assert_int_equal(expect, NWAIT + 11);
    fclose(in);
    free(got);
}

/* Missing messages at the end: ended by itself, what came is written and the
 * gap is named; cut short by a stop, only what came before the gap is
 * written (a prefix of the whole stream), and what was dropped is named. */
static void
test_node_collect_names_the_gap_at_the_end(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "order=input" };
    static const uint64_t seqs[] = { 5, 0, 2, 6 }; /* 1, 3, 4 never come */
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 2, &diag);
    char *err, *got;
    size_t len;
    int rc;

    for (int cut = 0; cut < 2; cut++) {
        /* Message k holds k * 10: in order, what came is 0, 20, 50, 60,
         * and its prefix without a gap is 0 alone. */
        const char *want = cut ? "0\n" : "0\n20\n50\n60\n";
        h = cut ? flow_harness_new(&flow_node_collect, params, 2, &diag) : h;
        assert_non_null(h);
        for (size_t i = 0; i < 4; i++) {
            int64_t v = (int64_t)seqs[i] * 10;
            assert_int_equal(flow_harness_push_i64s(h, "in", &v, 1, seqs[i]),
                             0);
        }
        /* Ended by itself, a node upstream dropped messages: a warning; cut
         * short by a stop, the gap is what the stop left: said as such. */
        assert_int_equal(cut ? flow_harness_close_cut(h, "in")
                             : flow_harness_close(h, "in"),
                         0);
        err = tu_harness_run_stderr(h, &rc);
        assert_int_equal(rc, 0);
        if (cut) {
            assert_non_null(strstr(err, "info: order=input: the run was "
                                        "stopped before message 1 came: the "
                                        "3 messages after it that came (up "
                                        "to number 6) are not written"));
            assert_null(strstr(err, "warning"));
        } else {
            assert_non_null(strstr(err, "warning: order=input: 3 messages "
                                        "never came (the first: number 1)"));
            assert_non_null(strstr(err, "a node upstream sent nothing"));
        }
        free(err);
        flow_harness_destroy(&h);
        got = slurp(f->out, &len);
        assert_int_equal(len, strlen(want));
        assert_memory_equal(got, want, len);
        free(got);
    }
}

/* Push messages numbered `seqs` to collect order=input writing over an
 * old file: the node fails saying `why`, and the old file stays as it was. */
static void
expect_duplicate_fails(const struct fixture *f, const uint64_t *seqs, size_t n,
                       const char *why)
{
    const char *params[] = { f->param, "order=input" };
    flow_diag_t diag;
    flow_harness_t *h;
    FILE *old = fopen(f->out, "w");
    char *got;
    size_t len;

    assert_non_null(old);
    fputs("old\n", old);
    fclose(old);
    h = flow_harness_new(&flow_node_collect, params, 2, &diag);
    assert_non_null(h);
    for (size_t i = 0; i < n; i++) {
        int64_t v = (int64_t)i;
        assert_int_equal(flow_harness_push_i64s(h, "in", &v, 1, seqs[i]), 0);
    }
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_true(flow_harness_run(h) < 0);
    assert_true(flow_harness_done(h));
    assert_non_null(strstr(flow_harness_error(h), why));
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(got, "old\n", 4);
    free(got);
}

/*
 * Two waiting messages with the same number fail the node, and a failed run
 * leaves the file that was there as it was.
 */
static void
test_node_collect_duplicate_keeps_old_file(void **state)
{
    static const uint64_t seqs[] = { 2, 2, 1, 0 };

    expect_duplicate_fails(*state, seqs, 4,
                           "two messages with sequence number 2");
}

/* A message numbered like one already written (not one still waiting):
 * the node fails the same way, naming both likely causes (a merge of two
 * streams numbered apart was not among them). */
static void
test_node_collect_duplicate_of_written(void **state)
{
    static const uint64_t seqs[] = { 0, 1, 0 };

    expect_duplicate_fails(*state, seqs, 3,
                           "two messages with sequence number 0: a node "
                           "upstream sends more than one message per input, "
                           "or merges inputs numbered apart (two sources "
                           "each count from 0)");
}

/* Numbers in decimal, the negative ones and both ends of int64 included,
 * as printf's %" PRId64 " writes them. */
static void
test_node_collect_writes_signed_numbers(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param };
    static const int64_t v[] = { -1, 0,         1,         -10,
                                 9,  INT64_MIN, INT64_MAX, -1000000007 };
    char want[512];
    size_t wlen = 0, len;
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 1, &diag);
    char *got;

    assert_non_null(h);
    for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++)
        wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen,
                                 "%" PRId64 "\n", v[i]);
    assert_int_equal(flow_harness_push_i64s(h, "in", v, sizeof(v) / sizeof(*v),
                                            FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, wlen);
    assert_memory_equal(got, want, len);
    free(got);
}

/*
 * A failure longer than the message buffer keeps its start and its end: an
 * output path of 700 bytes (a name longer than NAME_MAX) fails with
 * "cannot use '/tmp/xxx...yyy.txt': File name too long". The message was
 * cut at 512 bytes, inside the path: the reason was lost.
 */
static void
test_node_collect_long_failure_keeps_reason(void **state)
{
    char param[800] = "output=/tmp/", *at = param + strlen(param);
    const char *params[] = { param };
    const char *why;
    flow_diag_t diag;
    flow_harness_t *h;
    int64_t v = 1;

    (void)state;
    memset(at, 'x', 340);
    at[340] = '/';
    memset(at + 341, 'y', 340);
    memcpy(at + 681, ".txt", 5);
    h = flow_harness_new(&flow_node_collect, params, 1, &diag);
    if (h) {
        assert_int_equal(flow_harness_push_i64s(h, "in", &v, 1, 0), 0);
        assert_int_equal(flow_harness_close(h, "in"), 0);
        assert_true(flow_harness_run(h) < 0);
        why = flow_harness_error(h);
    } else {
        why = diag.msg;
    }
    assert_non_null(why);
    if (!strstr(why, "cannot use '/tmp/xxxxxxxxxx") || !strstr(why, "...") ||
        !strstr(why, "yyyyyyyyyy.txt': File name too long"))
        fail_msg("failure: %s", why);
    assert_true(strlen(why) < FLOW_DIAG_MSG);
    flow_harness_destroy(&h);
}

/* Words (with a newline inside one) ended by NUL; bytes written raw. */
static void
test_node_collect_words_nul_and_bytes(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "end=nul" };
    const char *words[] = { "level", "", "two\nlines", "x" };
    static const char bytes[] = { 'a', '\0', '\n', 'b' };
    static const char want[] = "level\0\0two\nlines\0x\0a\0\nb";
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 2, &diag);
    char *got;
    size_t len;

    assert_non_null(h);
    assert_int_equal(flow_harness_push_words(h, "in", words, 4, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(
        flow_harness_push_bytes(h, "in", bytes, sizeof(bytes), FLOW_SEQ_NONE),
        0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(got, want, len);
    free(got);
}

/* mode=count: items of every type, empty messages included, summed. */
static void
test_node_collect_counts_items(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "mode=count", "order=input" };
    const char *words[] = { "a", "b", "c" };
    int64_t v[5] = { 1, 2, 3, 4, 5 };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 3, &diag);
    char *got;
    size_t len;

    assert_non_null(h);
    /* Counting needs no order: unnumbered messages are fine. */
    assert_int_equal(flow_harness_push_i64s(h, "in", v, 5, FLOW_SEQ_NONE), 0);
    assert_int_equal(flow_harness_push_i64s(h, "in", NULL, 0, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_push_words(h, "in", words, 3, 7), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(got, "8\n", 2);
    free(got);

    /* With end=nul the count ends with a NUL too, as every number. */
    const char *nul[] = { f->param, "mode=count", "end=nul" };
    h = flow_harness_new(&flow_node_collect, nul, 3, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", v, 5, FLOW_SEQ_NONE), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(got, "5\0", 2);
    free(got);
}

/* The output file's whole content as a string (caller frees). */
static char *
slurp_string(const char *path)
{
    size_t len;
    char *text = slurp(path, &len);

    text = realloc(text, len + 1);
    assert_non_null(text);
    text[len] = '\0';
    return text;
}

/*
 * mode=sum: the sum of the int64 items of every message (signed, some
 * messages empty), against the sum made here; with a limit, of the first
 * items only; with end=nul, ended as every number.
 */
static void
test_node_collect_sums_items(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "mode=sum" };
    uint64_t rng = 42;
    int64_t want = 0, first7 = 0, v[64];
    size_t taken = 0;
    char line[32];
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 2, &diag);
    char *got;

    assert_non_null(h);
    for (int m = 0; m < 50; m++) {
        size_t n = tu_splitmix64(&rng) % 65; /* 0..64 items */
        for (size_t i = 0; i < n; i++) {
            /* |v| < 2^40: 3,200 of them cannot leave int64. */
            v[i] = (int64_t)(tu_splitmix64(&rng) % (UINT64_C(1) << 41)) -
                   (INT64_C(1) << 40);
            want += v[i];
            if (taken++ < 7)
                first7 += v[i];
        }
        assert_int_equal(flow_harness_push_i64s(h, "in", v, n, FLOW_SEQ_NONE),
                         0);
    }
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    flow_harness_destroy(&h);
    snprintf(line, sizeof(line), "%" PRId64 "\n", want);
    got = slurp_string(f->out);
    assert_string_equal(got, line);
    free(got);

    /* Over the largest sums: INT64_MAX - 1 + 1 - 1 + 1 stays in range. */
    static const int64_t edge[] = { INT64_MAX - 1, 1, -1, 1 };
    const char *nul[] = { f->param, "mode=sum", "end=nul" };
    h = flow_harness_new(&flow_node_collect, nul, 3, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", edge, 4, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    flow_harness_destroy(&h);
    size_t len;
    got = slurp(f->out, &len);
    assert_int_equal(len, 20);
    assert_memory_equal(got, "9223372036854775807", 20); /* and its NUL */
    free(got);

    /* With a limit, the sum of the first items. */
    const char *limit[] = { f->param, "mode=sum", "limit=7" };
    rng = 42;
    h = flow_harness_new(&flow_node_collect, limit, 3, &diag);
    assert_non_null(h);
    for (int m = 0; m < 50 && !flow_harness_done(h); m++) {
        size_t n = tu_splitmix64(&rng) % 65;
        for (size_t i = 0; i < n; i++)
            v[i] = (int64_t)(tu_splitmix64(&rng) % (UINT64_C(1) << 41)) -
                   (INT64_C(1) << 40);
        assert_int_equal(flow_harness_push_i64s(h, "in", v, n, FLOW_SEQ_NONE),
                         0);
        assert_int_equal(flow_harness_run(h), 0);
    }
    assert_true(flow_harness_done(h));
    flow_harness_destroy(&h);
    snprintf(line, sizeof(line), "%" PRId64 "\n", first7);
    got = slurp_string(f->out);
    assert_string_equal(got, line);
    free(got);
}

/* mode=sum fails the node, leaving no output, on a sum beyond int64 either
 * way (not wrapped round) and on items of another type (a node of type
 * any upstream: the graph check could not know). */
static void
test_node_collect_sum_refuses(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "mode=sum" };
    static const int64_t up[] = { 5, INT64_MAX - 5, 1 },
                         down[] = { INT64_MIN + 2, -1, -1, -1 };
    const char *words[] = { "1", "2" };
    static const struct {
        const int64_t *v;
        size_t n;
        const char *why;
    } bad[] = {
        { up, 3,
          "mode = sum: the sum, 9223372036854775808, is beyond int64 (from "
          "item 3 on)" },
        { down, 4,
          "mode = sum: the sum, -9223372036854775809, is beyond int64 (from "
          "item 4 on)" },
        { NULL, 0, "mode = sum adds int64 items: received words" },
    };

    for (size_t b = 0; b < sizeof(bad) / sizeof(*bad); b++) {
        flow_diag_t diag;
        flow_harness_t *h =
            flow_harness_new(&flow_node_collect, params, 2, &diag);
        int rc;
        assert_non_null(h);
        if (bad[b].v)
            assert_int_equal(flow_harness_push_i64s(h, "in", bad[b].v, bad[b].n,
                                                    FLOW_SEQ_NONE),
                             0);
        else
            assert_int_equal(
                flow_harness_push_words(h, "in", words, 2, FLOW_SEQ_NONE), 0);
        assert_int_equal(flow_harness_close(h, "in"), 0);
        free(tu_harness_run_stderr(h, &rc));
        assert_true(rc < 0);
        assert_non_null(flow_harness_error(h));
        if (!strstr(flow_harness_error(h), bad[b].why))
            fail_msg("case %zu: error '%s', expected '%s'", b,
                     flow_harness_error(h), bad[b].why);
        flow_harness_destroy(&h);
        assert_int_equal(access(f->out, F_OK), -1);
    }
}

/*
 * mode=sum's check reads the type a link gives "in" (of type any):
 * `flowrun --check` refuses words -> collect mode=sum and takes range ->
 * collect mode=sum. Under the harness flow_harness_set_type says that link
 * (testing.h: flow_check_type then says its type), and the check decides
 * as flowrun's, with the same reason; a port left open is any, and passes.
 */
static void
test_node_collect_sum_check_follows_set_type(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "mode=sum" };
    static const struct {
        const char *src;
        flow_type_t type;
    } links[] = { { "words", FLOW_WORDS }, { "range", FLOW_INT64 } };
    int refused = 0;

    if (!getenv("FLOWRUN") || !getenv("FLOW_PLUGIN_DIR"))
        skip();
    for (size_t k = 0; k < sizeof(links) / sizeof(*links); k++) {
        const char *args[] = { "--check", "--plugin-path",
                               getenv("FLOW_PLUGIN_DIR"), NULL };
        char ini[256], *why = NULL;
        flow_harness_result_t res;

        snprintf(ini, sizeof(ini),
                 "[src]\ntype = %s\n[c]\ntype = collect\nmode = sum\n"
                 "[links]\npush = src.out -> c.in\n",
                 links[k].src);
        assert_int_equal(flow_harness_run_graph(ini, NULL, args, 60, &res), 0);
        if (res.status != 0) { /* the check's reason, as flowrun says it */
            const char *r = strstr(res.err, "mode = sum adds int64 items");
            assert_non_null(r);
            why = strndup(r, strcspn(r, "\n"));
            refused++;
        }
        flow_harness_result_release(&res);

        for (int typed = 0; typed < 2; typed++) {
            flow_harness_t *h =
                flow_harness_new(&flow_node_collect, params, 2, NULL);
            int rc;

            assert_non_null(h);
            if (typed)
                assert_int_equal(flow_harness_set_type(h, "in", links[k].type),
                                 0);
            assert_int_equal(flow_harness_close(h, "in"), 0);
            free(tu_harness_run_stderr(h, &rc));
            if (typed && why) {
                assert_int_equal(rc, FLOW_EPARAM);
                assert_non_null(flow_harness_error(h));
                if (!strstr(why, flow_harness_error(h)))
                    fail_msg("%s: harness '%s', flowrun '%s'", links[k].src,
                             flow_harness_error(h), why);
                assert_int_equal(access(f->out, F_OK), -1);
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(unlink(f->out), 0); /* the sum, 0 */
            }
            flow_harness_destroy(&h);
        }
        free(why);
    }
    assert_int_equal(refused, 1); /* words, and only words */
}

/*
 * mode=sum: only the sum has to fit in int64, not every partial sum on the
 * way: INT64_MAX + 1 - 1 is INT64_MAX whatever the order the items come in
 * (with several workers upstream that order is the scheduler's). Each
 * order is run: the sum is the same, or the run fails for none.
 */
static void
test_node_collect_sum_partial_overflow(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "mode=sum" };
    static const int64_t orders[][3] = {
        { INT64_MAX, 1, -1 },
        { 1, INT64_MAX, -1 },
        { -1, INT64_MAX, 1 },
        { INT64_MIN, -1, 1 },
    };
    static const char *const want[] = {
        "9223372036854775807\n",
        "9223372036854775807\n",
        "9223372036854775807\n",
        "-9223372036854775808\n",
    };

    for (size_t o = 0; o < sizeof(orders) / sizeof(*orders); o++) {
        flow_diag_t diag;
        flow_harness_t *h =
            flow_harness_new(&flow_node_collect, params, 2, &diag);
        char *got;
        int rc;
        assert_non_null(h);
        for (size_t i = 0; i < 3; i++) /* one message each */
            assert_int_equal(flow_harness_push_i64s(h, "in", &orders[o][i], 1,
                                                    FLOW_SEQ_NONE),
                             0);
        assert_int_equal(flow_harness_close(h, "in"), 0);
        free(tu_harness_run_stderr(h, &rc));
        if (rc != 0)
            fail_msg("order %zu: failed: %s", o,
                     flow_harness_error(h) ? flow_harness_error(h) : "?");
        flow_harness_destroy(&h);
        got = slurp_string(f->out);
        assert_string_equal(got, want[o]);
        free(got);
    }
}

/*
 * mode=sum with order=input and a limit: the first items in sequence
 * order, as the limit says for order=input, not the first to arrive.
 */
static void
test_node_collect_sum_limit_in_order(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "mode=sum", "order=input", "limit=2" };
    static const int64_t late[] = { 1000, 2000 }, first[] = { 3, 4 };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 4, &diag);
    char *got;

    assert_non_null(h);
    /* Message 1 arrives before message 0. */
    assert_int_equal(flow_harness_push_i64s(h, "in", late, 2, 1), 0);
    assert_int_equal(flow_harness_push_i64s(h, "in", first, 2, 0), 0);
    assert_int_equal(flow_harness_close(h, "in"), 0);
    assert_int_equal(flow_harness_run(h), 0);
    flow_harness_destroy(&h);
    got = slurp_string(f->out);
    assert_string_equal(got, "7\n");
    free(got);
}

/*
 * limit: the first items over message boundaries (bytes count one by one),
 * then the input given up: the node is done at once, and what is pushed
 * after is dropped.
 */
static void
test_node_collect_limit(void **state)
{
    struct fixture *f = *state;
    const char *params[] = { f->param, "limit=5" };
    const char *words[] = { "a", "b", "c" };
    int64_t v[2] = { 7, 8 };
    flow_diag_t diag;
    flow_harness_t *h = flow_harness_new(&flow_node_collect, params, 2, &diag);
    char *got;
    size_t len;

    assert_non_null(h);
    assert_int_equal(flow_harness_push_words(h, "in", words, 3, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_false(flow_harness_input_given_up(h, "in"));
    assert_false(flow_harness_done(h));
    assert_int_equal(flow_harness_push_bytes(h, "in", "xyz", 3, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_push_i64s(h, "in", v, 2, FLOW_SEQ_NONE), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_input_given_up(h, "in"));
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));
    assert_int_equal(flow_harness_push_i64s(h, "in", v, 2, FLOW_SEQ_NONE), 0);
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(got, "a\nb\nc\nxy", 8);
    free(got);

    /* A limit reached exactly by a message: given up at once, without
     * waiting for one more. */
    const char *exact[] = { f->param, "limit=3" };
    int64_t three[3] = { 1, 2, 3 };
    h = flow_harness_new(&flow_node_collect, exact, 2, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", three, 3, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_input_given_up(h, "in"));
    assert_true(flow_harness_done(h));
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(got, "1\n2\n3\n", 6);
    free(got);

    /* In input order: the first items in sequence order; a later message
     * that waits is past the limit. */
    const char *ordered[] = { f->param, "limit=4", "order=input" };
    int64_t m0[2] = { 0, 1 }, m1[1] = { 10 }, m2[2] = { 20, 21 },
            m4[1] = { 40 };
    h = flow_harness_new(&flow_node_collect, ordered, 3, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", m4, 1, 4), 0);
    assert_int_equal(flow_harness_push_i64s(h, "in", m2, 2, 2), 0);
    assert_int_equal(flow_harness_push_i64s(h, "in", m1, 1, 1), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_false(flow_harness_done(h));
    assert_int_equal(flow_harness_push_i64s(h, "in", m0, 2, 0), 0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    assert_null(flow_harness_error(h));
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, 10);
    assert_memory_equal(got, "0\n1\n10\n20\n", 10);
    free(got);

    /* mode=count counts up to the limit. */
    const char *count[] = { f->param, "limit=7", "mode=count" };
    int64_t five[5] = { 1, 2, 3, 4, 5 };
    h = flow_harness_new(&flow_node_collect, count, 3, &diag);
    assert_non_null(h);
    assert_int_equal(flow_harness_push_i64s(h, "in", five, 5, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_push_i64s(h, "in", five, 5, FLOW_SEQ_NONE),
                     0);
    assert_int_equal(flow_harness_run(h), 0);
    assert_true(flow_harness_done(h));
    flow_harness_destroy(&h);
    got = slurp(f->out, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(got, "7\n", 2);
    free(got);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_node_collect_order_input_restores_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_warns_of_many_waiting,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_node_collect_names_the_gap_at_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_node_collect_duplicate_keeps_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_words_nul_and_bytes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_duplicate_of_written,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_writes_signed_numbers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_counts_items, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_sums_items, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_sum_refuses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_node_collect_sum_check_follows_set_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_sum_partial_overflow,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_sum_limit_in_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_collect_limit, setup,
                                        teardown),
        cmocka_unit_test(test_node_collect_long_failure_keeps_reason),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
