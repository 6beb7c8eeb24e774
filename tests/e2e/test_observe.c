/* SPDX-License-Identifier: MIT */
/*
 * test_observe.c: flowrun's observability end to end: --dot renders with
 * Graphviz, --dot-stats, --stats and --stats-json count exactly the items
 * the graph sends (an oracle from the graph's parameters), the progress
 * line shows under a pseudo-terminal and not when piped, and the nodes'
 * standard error is relayed whole.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

/* ---- Helpers ------------------------------------------------------------- */

/* Whether `prog` is on the PATH. */
static bool
have_program(const char *prog)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

#define SKIP_WITHOUT_DOT()                                                 \
    do {                                                                   \
        if (!have_program("dot")) {                                        \
            print_message("SKIP: Graphviz 'dot' is not installed (Debian " \
                          "package graphviz): cannot check DOT output\n"); \
            skip();                                                        \
        }                                                                  \
    } while (0)

/* Read the whole file at `path` (malloc'ed, NUL-terminated), or NULL. */
static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return NULL;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* A new empty temporary file with suffix `suffix`; returns its path. */
static char *
temp_path(const char *suffix)
{
    char *path = malloc(64);
    int fd;

    assert_non_null(path);
    snprintf(path, 64, "/tmp/flow-observe-XXXXXX%s", suffix);
    fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    close(fd);
    return path;
}

/* Write `len` bytes of `text` to a new temporary file with `suffix`. */
static char *
temp_with(const char *text, size_t len, const char *suffix)
{
    char *path = temp_path(suffix);
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

/*
 * Render the DOT file `path` with `dot -Tsvg`: it must exit 0, say nothing
 * on stderr (no warnings either) and write an SVG.
 */
static void
assert_dot_renders(const char *path)
{
    char *svg = temp_path(".svg"), *err = temp_path(".err");
    char cmd[1024], *text;
    int rc;

    snprintf(cmd, sizeof(cmd), "dot -Tsvg '%s' -o '%s' 2>'%s'", path, svg, err);
    rc = system(cmd);
    text = read_file(err);
    assert_non_null(text);
    if (rc != 0 || *text)
        print_message("dot -Tsvg %s: status %d: %s\n", path, rc, text);
    assert_int_equal(rc, 0);
    assert_string_equal(text, "");
    free(text);
    text = read_file(svg);
    assert_non_null(text);
    assert_non_null(strstr(text, "<svg"));
    free(text);
    unlink(svg);
    unlink(err);
    free(svg);
    free(err);
}

/* Number of occurrences of `needle` in `hay`. */
static size_t
count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p;
         p = strstr(p + strlen(needle), needle))
        n++;
    return n;
}

/*
 * The value of the numeric attribute `attr` (as `attr=N`) of the edge line
 * of `dot` that starts with `edge` ("\"a\" -> \"b\""); fails if missing.
 */
static uint64_t
edge_attr(const char *dot, const char *edge, const char *attr)
{
    const char *p = strstr(dot, edge), *eol, *a;
    char key[64];

    assert_non_null(p);
    eol = strchr(p, '\n');
    assert_non_null(eol);
    snprintf(key, sizeof(key), " %s=", attr);
    a = strstr(p, key);
    assert_true(a && a < eol);
    return strtoull(a + strlen(key), NULL, 10);
}

/* ---- A tiny JSON parser, to check --stats-json ----------------------------
 */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jv {
    int type;
    double num;
    char *str;         /* J_STR */
    struct jv **items; /* J_ARR, J_OBJ values */
    char **keys;       /* J_OBJ */
    size_t n;
} jv_t;

static void
jv_free(jv_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        jv_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

/* The end of a --stats-json test: free the parsed report `doc` and its
 * text, remove and free the report file `json` and the graph file
 * `graph`. */
static void
release_json_run(jv_t *doc, char *text, char *json, char *graph)
{
    jv_free(doc);
    free(text);
    unlink(json);
    unlink(graph);
    free(json);
    free(graph);
}

static void
skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

/* Parse a JSON string at `*p` (at the quote); returns it malloc'ed. */
static char *
parse_str(const char **p)
{
    size_t cap = 16, len = 0;
    char *s;

    if (**p != '"')
        return NULL;
    s = malloc(cap);
    for ((*p)++; **p != '"'; (*p)++) {
        char c = **p;
        if ((unsigned char)c < 0x20) {
            free(s);
            return NULL;
        }
        if (c == '\\') {
            (*p)++;
            switch (**p) {
            case '"':
            case '\\':
            case '/':
                c = **p;
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u':
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", (*p)[i]) ||
                        !(*p)[i]) {
                        free(s);
                        return NULL;
                    }
                *p += 4;
                c = '?';
                break;
            default:
                free(s);
                return NULL;
            }
        }
        if (len + 2 > cap)
            s = realloc(s, cap *= 2);
        s[len++] = c;
    }
    (*p)++;
    s[len] = '\0';
    return s;
}

static jv_t *parse_value(const char **p, int depth);

/* Parse the members of an array or object after its opening bracket. */
static jv_t *
parse_container(const char **p, int depth, bool object)
{
    jv_t *v = calloc(1, sizeof(*v));
    size_t cap = 0;
    char close = object ? '}' : ']';

    v->type = object ? J_OBJ : J_ARR;
    skip_ws(p);
    if (**p == close) {
        (*p)++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        jv_t *item;

        skip_ws(p);
        if (object) {
            key = parse_str(p);
            skip_ws(p);
            if (!key || **p != ':') {
                free(key);
                jv_free(v);
                return NULL;
            }
            (*p)++;
        }
        item = parse_value(p, depth + 1);
        if (!item) {
            free(key);
            jv_free(v);
            return NULL;
        }
        if (v->n == cap) {
            cap = cap ? cap * 2 : 8;
            v->items = realloc(v->items, cap * sizeof(*v->items));
            if (object)
                v->keys = realloc(v->keys, cap * sizeof(*v->keys));
        }
        if (object)
            v->keys[v->n] = key;
        v->items[v->n++] = item;
        skip_ws(p);
        if (**p == ',') {
            (*p)++;
            continue;
        }
        if (**p == close) {
            (*p)++;
            return v;
        }
        jv_free(v);
        return NULL;
    }
}

/* Parse a JSON number per RFC 8259's grammar. */
static bool
parse_num(const char **p, double *out)
{
    const char *s = *p, *q = s;
    char *end;

    if (*q == '-')
        q++;
    if (*q == '0')
        q++;
    else if (*q >= '1' && *q <= '9')
        while (*q >= '0' && *q <= '9')
            q++;
    else
        return false;
    if (*q == '.') {
        q++;
        if (!(*q >= '0' && *q <= '9'))
            return false;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!(*q >= '0' && *q <= '9'))
            return false;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    *out = strtod(s, &end);
    if (end != q)
        return false;
    *p = q;
    return true;
}

static jv_t *
parse_value(const char **p, int depth)
{
    jv_t *v;

    if (depth > 64)
        return NULL;
    skip_ws(p);
    if (**p == '{' || **p == '[') {
        bool object = **p == '{';
        (*p)++;
        return parse_container(p, depth, object);
    }
    v = calloc(1, sizeof(*v));
    if (**p == '"') {
        v->type = J_STR;
        v->str = parse_str(p);
        if (!v->str) {
            free(v);
            return NULL;
        }
    } else if (!strncmp(*p, "true", 4) || !strncmp(*p, "false", 5)) {
        v->type = J_BOOL;
        v->num = **p == 't';
        *p += **p == 't' ? 4 : 5;
    } else if (!strncmp(*p, "null", 4)) {
        v->type = J_NULL;
        *p += 4;
    } else {
        v->type = J_NUM;
        if (!parse_num(p, &v->num)) {
            free(v);
            return NULL;
        }
    }
    return v;
}

/* Parse the JSON document `text`: one value and nothing after it. */
static jv_t *
jv_parse(const char *text)
{
    const char *p = text;
    jv_t *v = parse_value(&p, 0);

    skip_ws(&p);
    if (v && *p) {
        jv_free(v);
        return NULL;
    }
    return v;
}

/* Member `key` of object `v`, which must exist and be of `type`. */
static const jv_t *
jv_get(const jv_t *v, const char *key, int type)
{
    assert_non_null(v);
    assert_int_equal(v->type, J_OBJ);
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key)) {
            if (v->items[i]->type != type)
                print_message("JSON key '%s' has type %d, not %d\n", key,
                              v->items[i]->type, type);
            assert_int_equal(v->items[i]->type, type);
            return v->items[i];
        }
    print_message("JSON key '%s' is missing\n", key);
    fail();
    return NULL;
}

/* Read and parse the --stats-json report at `path`: the document, its
 * text in `*text_p` (the caller frees both; release_json_run does). */
static jv_t *
read_json(const char *path, char **text_p)
{
    char *text = read_file(path);
    jv_t *doc;

    assert_non_null(text);
    doc = jv_parse(text);
    if (!doc)
        print_message("not well-formed JSON:\n%s\n", text);
    assert_non_null(doc);
    *text_p = text;
    return doc;
}

/* The JSON parser itself: accepts what it should, rejects the rest. */
static void
test_observe_json_parser(void **unused)
{
    static const char *const good[] = {
        "{}",
        "[]",
        "0",
        "-1.5e+3",
        "\"a\\u00e9\\n\"",
        "[1, {\"a\": [true]}]",
        " {\"a\": null, \"b\": false} ",
    };
    static const char *const bad[] = {
        "",        "{",     "[1,]",        "{\"a\" 1}", "01",     "1.",
        "\"\\x\"", "[1] 2", "{\"a\": 1,}", "tru",       "\"\n\"",
    };

    (void)unused;
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        jv_t *v = jv_parse(good[i]);
        if (!v)
            print_message("rejected: %s\n", good[i]);
        assert_non_null(v);
        jv_free(v);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        jv_t *v = jv_parse(bad[i]);
        if (v)
            print_message("accepted: %s\n", bad[i]);
        assert_null(v);
    }
}

/* ---- The oracle graph ---------------------------------------------------- */

/*
 * range (count N, R instances) -> jitter (J instances) -> collect (count).
 * Every stage forwards each message whole, so both links carry exactly N
 * items in ceil(N / batch) messages, whatever the instance counts.
 */
#define ORACLE_N     100003
#define ORACLE_BATCH 1000
#define ORACLE_MSGS  ((ORACLE_N + ORACLE_BATCH - 1) / ORACLE_BATCH)

static char *
oracle_graph(void)
{
    char text[1024];

    snprintf(text, sizeof(text),
             "[graph]\nname = oracle\n"
             "[gen]\ntype = range\ncount = %d\ninstances = 3\n"
             "[mid]\ntype = jitter\ninstances = 2\n"
             "[out]\ntype = collect\nmode = count\n"
             "[links]\npush = gen.out -> mid.in batch=%d hwm=8\n"
             "push = mid.out -> out.in\n",
             ORACLE_N, ORACLE_BATCH);
    return tu_temp_file(text);
}

/* ---- DOT ----------------------------------------------------------------- */

/* --dot on every example graph and on fixtures: dot -Tsvg accepts it. */
static void
test_observe_dot_renders(void **unused)
{
    static const char *const graphs[] = {
        "graphs/palindromes.ini",
        "graphs/palindromes_parallel.ini",
        "graphs/palindromes_search.ini",
        "graphs/pids.ini",
        "graphs/sieve.ini",
        "tests/fixtures/graphs/good_pair.ini",
        "tests/fixtures/graphs/good_params.ini",
        "tests/fixtures/graphs/good_minimal.ini",
    };

    (void)unused;
    SKIP_WITHOUT_DOT();
    for (size_t i = 0; i < sizeof(graphs) / sizeof(*graphs); i++) {
        tu_result_t r;
        char *path;

        assert_int_equal(tu_runl(&r, 30, "--dot", tu_src(graphs[i]), NULL), 0);
        assert_int_equal(strncmp(r.out, "digraph ", 8), 0);
        path = temp_with(r.out, r.outlen, ".dot");
        assert_dot_renders(path);
        unlink(path);
        free(path);
        tu_result_release(&r);
    }

    /* Quotes and backslashes in the graph's name and description. */
    {
        char *graph = tu_temp_file(
            "[graph]\nname = q\"x\\y\ndescription = say \"hi\" \\n end\\\n"
            "[gen]\ntype = range\n[out]\ntype = collect\n"
            "[links]\npush = gen.out -> out.in\n");
        tu_result_t r;
        char *path;

        assert_int_equal(tu_runl(&r, 30, "--dot", graph, NULL), 0);
        assert_non_null(strstr(r.out, "digraph \"q\\\"x\\\\y\" {"));
        path = temp_with(r.out, r.outlen, ".dot");
        assert_dot_renders(path);
        unlink(path);
        free(path);
        tu_result_release(&r);
        unlink(graph);
        free(graph);
    }
}

/* --dot names every node with its type and instances, every link with its
 * kind, ports and non-default options, and does not run the graph. */
static void
test_observe_dot_content(void **unused)
{
    tu_result_t r;

    (void)unused;
    /* pids.ini lingers 5 s per process if it runs: --dot must not. */
    assert_int_equal(tu_runl(&r, 30, "--dot", tu_src("graphs/pids.ini"),
                             "--set", "linger_ms=5000", NULL),
                     0);
    assert_true(r.seconds < 4);
    assert_null(strstr(r.err, "error"));
    tu_result_release(&r);

    assert_int_equal(tu_runl(&r, 30, "--dot", tu_src("graphs/palindromes.ini"),
                             "--set", "workers=3", NULL),
                     0);
    assert_non_null(strstr(r.out, "digraph \"palindromes\""));
    assert_non_null(strstr(r.out, "\"find\" [label=\"find\\npalindromes\\n3 "
                                  "instances\""));
    assert_non_null(
        strstr(r.out, "\"gen\" [label=\"gen\\nwords\\n1 instance\""));
    assert_non_null(strstr(
        r.out, "\"gen\" -> \"chunks\" [label=\"push\\nout -> in\\nhwm=16\""));
    assert_non_null(strstr(r.out, "\"chunks\" -> \"find\""));
    assert_non_null(strstr(r.out, "\"find\" -> \"out\""));
    assert_int_equal(count_of(r.out, " -> \""), 3);
    assert_int_equal(count_of(r.out, "dir=both"), 0);
    tu_result_release(&r);

    /* A pair link is two-headed; non-default batch and hwm are shown. */
    assert_int_equal(tu_runl(&r, 30, "--dot", tu_src("graphs/sieve.ini"),
                             "--set", "segments=4", NULL),
                     0);
    assert_non_null(strstr(r.out, "\"main\" -> \"seg\" [label=\"pair\\nseg "
                                  "<-> coord\\nbatch=4096\\nhwm=8\""));
    assert_int_equal(count_of(r.out, "dir=both"), 1);
    assert_non_null(strstr(r.out, "\\n4 instances\""));
    assert_non_null(strstr(r.out,
                           "\"main\" -> \"out\" [label=\"push\\nout -> in\\n"
                           "batch=4096\""));
    tu_result_release(&r);
}

/* --dot-stats after a run: the DOT renders, and each push link carries
 * exactly the items and messages the graph's parameters imply. */
static void
test_observe_dot_stats_counts(void **unused)
{
    char *graph = oracle_graph(), *dot = temp_path(".dot"), *text;
    tu_result_t r;

    (void)unused;
    assert_int_equal(
        tu_runl(&r, 60, graph, "--quiet", "--dot-stats", dot, NULL), 0);
    assert_int_equal(strtoll(r.out, NULL, 10), ORACLE_N);
    tu_result_release(&r);
    text = read_file(dot);
    assert_non_null(text);
    assert_int_equal(edge_attr(text, "\"gen\" -> \"mid\"", "flow_items"),
                     ORACLE_N);
    assert_int_equal(edge_attr(text, "\"gen\" -> \"mid\"", "flow_msgs"),
                     ORACLE_MSGS);
    assert_true(edge_attr(text, "\"gen\" -> \"mid\"", "flow_bytes") >=
                (uint64_t)ORACLE_N * 8);
    assert_int_equal(edge_attr(text, "\"mid\" -> \"out\"", "flow_items"),
                     ORACLE_N);
    assert_int_equal(edge_attr(text, "\"mid\" -> \"out\"", "flow_msgs"),
                     ORACLE_MSGS);
    {
        char label[128];
        snprintf(label, sizeof(label), "%d items in %d msgs", ORACLE_N,
                 ORACLE_MSGS);
        assert_int_equal(count_of(text, label), 2);
    }
    free(text);
    if (have_program("dot"))
        assert_dot_renders(dot);
    else
        print_message("SKIP: Graphviz 'dot' is not installed: not rendering "
                      "the --dot-stats output\n");
    unlink(dot);
    unlink(graph);
    free(dot);
    free(graph);
}

/* --dot-stats on a pair link: both directions are counted, and the push
 * link to the collector carries exactly the primes printed. */
static void
test_observe_dot_stats_pair(void **unused)
{
    char *dot = temp_path(".dot"), *text;
    tu_result_t r;
    size_t nlines;
    char **lines;

    (void)unused;
    assert_int_equal(tu_runl(&r, 60, tu_src("graphs/sieve.ini"), "--set",
                             "limit=100000", "--set", "segments=3", "--quiet",
                             "--dot-stats", dot, NULL),
                     0);
    lines = tu_lines(r.out, &nlines);
    assert_int_equal(nlines, 9592); /* pi(100000) */
    free(lines);
    tu_result_release(&r);
    text = read_file(dot);
    assert_non_null(text);
    assert_int_equal(edge_attr(text, "\"main\" -> \"out\"", "flow_items"),
                     9592);
    assert_true(edge_attr(text, "\"main\" -> \"seg\"", "flow_msgs") > 0);
    assert_true(edge_attr(text, "\"main\" -> \"seg\"", "flow_back_items") > 0);
    free(text);
    if (have_program("dot"))
        assert_dot_renders(dot);
    unlink(dot);
    free(dot);
}

/* ---- --stats and --stats-json -------------------------------------------- */

/* Totals of one node's port in one direction. */
typedef struct port_sum {
    uint64_t msgs, items, bytes;
    unsigned rows;
} port_sum_t;

/*
 * Sum the --stats table rows of port `port`, direction `dir` ("in" or
 * "out") of every instance of `node`. Instance rows start at column 0 with
 * "node[i]"; port rows are indented: "  port dir messages items bytes".
 */
static port_sum_t
table_sum(const char *err, const char *node, const char *port, const char *dir,
          unsigned *instances)
{
    port_sum_t s = { 0, 0, 0, 0 };
    char *copy = strdup(err), **lines;
    size_t n, nlen = strlen(node);
    bool in_node = false;

    *instances = 0;
    lines = tu_lines(copy, &n);
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[i];
        char pname[64], pdir[16];
        unsigned long long m, it, b;

        if (l[0] != ' ' && l[0] != '\0') {
            in_node = !strncmp(l, node, nlen) && l[nlen] == '[';
            if (in_node)
                (*instances)++;
            continue;
        }
        if (!in_node || sscanf(l, " %63s %15s %llu %llu %llu", pname, pdir, &m,
                               &it, &b) != 5)
            continue;
        if (strcmp(pname, port) || strcmp(pdir, dir))
            continue;
        s.msgs += m;
        s.items += it;
        s.bytes += b;
        s.rows++;
    }
    free(lines);
    free(copy);
    return s;
}

/* --stats: the table counts exactly the items and messages sent. */
static void
test_observe_stats_table(void **unused)
{
    char *graph = oracle_graph();
    tu_result_t r;
    unsigned inst;
    port_sum_t s;

    (void)unused;
    assert_int_equal(tu_runl(&r, 60, graph, "--stats", NULL), 0);
    assert_int_equal(strtoll(r.out, NULL, 10), ORACLE_N);

    s = table_sum(r.err, "gen", "out", "out", &inst);
    assert_int_equal(inst, 3);
    assert_int_equal(s.rows, 3);
    assert_int_equal(s.items, ORACLE_N);
    assert_int_equal(s.msgs, ORACLE_MSGS);
    assert_true(s.bytes >= (uint64_t)ORACLE_N * 8);

    s = table_sum(r.err, "mid", "in", "in", &inst);
    assert_int_equal(inst, 2);
    assert_int_equal(s.items, ORACLE_N);
    assert_int_equal(s.msgs, ORACLE_MSGS);
    s = table_sum(r.err, "mid", "out", "out", &inst);
    assert_int_equal(s.items, ORACLE_N);
    assert_int_equal(s.msgs, ORACLE_MSGS);

    s = table_sum(r.err, "out", "in", "in", &inst);
    assert_int_equal(inst, 1);
    assert_int_equal(s.items, ORACLE_N);
    assert_int_equal(s.msgs, ORACLE_MSGS);
    tu_result_release(&r);

    /* Without --stats, no table. */
    assert_int_equal(tu_runl(&r, 60, graph, NULL), 0);
    s = table_sum(r.err, "gen", "out", "out", &inst);
    assert_int_equal(inst, 0);
    tu_result_release(&r);
    unlink(graph);
    free(graph);

    /* A long node name widens the first column: the header's "pid" ends
     * where every instance row's pid ends (the rows were shifted). */
    graph = tu_temp_file("[a_rather_long_node_name_here]\ntype = range\n"
                         "count = 10\n"
                         "[b]\ntype = collect\nmode = count\n"
                         "[links]\npush = a_rather_long_node_name_here.out "
                         "-> b.in\n");
    assert_int_equal(tu_runl(&r, 60, graph, "--stats", NULL), 0);
    {
        const char *head = strstr(r.err, "node[instance]");
        const char *rows[] = { strstr(r.err,
                                      "\na_rather_long_node_name_here[0] "),
                               strstr(r.err, "\nb[0] ") };
        assert_non_null(head);
        long pid_end = strstr(head, "pid") + 3 - head;
        for (int k = 0; k < 2; k++) {
            const char *row = rows[k], *p;
            assert_non_null(row);
            row++;
            p = strchr(row, ' ');
            while (*p == ' ')
                p++;
            while (*p >= '0' && *p <= '9')
                p++;
            assert_int_equal(p - row, pid_end);
        }
    }
    tu_result_release(&r);
    unlink(graph);
    free(graph);
}

/* Sum `key` over the ports named `port` of instance `inst` of node `node`,
 * or of every instance for -1. */
static uint64_t
json_port_inst(const jv_t *doc, const char *node, long inst, const char *port,
               const char *key, size_t *ninst)
{
    const jv_t *nodes = jv_get(doc, "nodes", J_ARR);
    uint64_t sum = 0;

    for (size_t i = 0; i < nodes->n; i++) {
        const jv_t *n = nodes->items[i], *insts;
        if (strcmp(jv_get(n, "name", J_STR)->str, node))
            continue;
        insts = jv_get(n, "instances", J_ARR);
        *ninst = insts->n;
        for (size_t k = 0; k < insts->n; k++) {
            const jv_t *ports = jv_get(insts->items[k], "ports", J_ARR);
            if (inst >= 0 && k != (size_t)inst)
                continue;
            for (size_t p = 0; p < ports->n; p++)
                if (!strcmp(jv_get(ports->items[p], "port", J_STR)->str, port))
                    sum += (uint64_t)jv_get(ports->items[p], key, J_NUM)->num;
        }
        return sum;
    }
    print_message("node '%s' is not in the JSON\n", node);
    fail();
    return 0;
}

/* Sum `key` over the ports named `port` of every instance of node `node`. */
static uint64_t
json_port_sum(const jv_t *doc, const char *node, const char *port,
              const char *key, size_t *ninst)
{
    return json_port_inst(doc, node, -1, port, key, ninst);
}

/*
 * The `window` column of the --stats row of port `port`, direction `dir`,
 * of instance `inst` of `node`, copied into `w` ("-" or a number); false
 * when there is no such row.
 */
static bool
table_window(const char *err, const char *node, unsigned inst, const char *port,
             const char *dir, char w[16])
{
    char head[80], *copy = strdup(err), **lines;
    size_t n, hlen;
    bool in_inst = false, found = false;

    snprintf(head, sizeof(head), "%s[%u] ", node, inst);
    hlen = strlen(head);
    lines = tu_lines(copy, &n);
    for (size_t i = 0; i < n && !found; i++) {
        const char *l = lines[i];
        char pname[64], pdir[16];
        unsigned long long m, it, b;

        if (l[0] != ' ' && l[0] != '\0') {
            in_inst = !strncmp(l, head, hlen);
            continue;
        }
        if (in_inst &&
            sscanf(l, " %63s %15s %llu %llu %llu %15s", pname, pdir, &m, &it,
                   &b, w) == 6 &&
            !strcmp(pname, port) && !strcmp(pdir, dir))
            found = true;
    }
    free(lines);
    free(copy);
    return found;
}

/*
 * --stats: the `window` column shows, for each instance's input on a
 * demand link, the credit window that --stats-json reports for it in the
 * same run (the adapting window without an hwm, 3 with hwm=3), and "-" for
 * other ports.
 */
static void
test_observe_stats_table_window(void **unused)
{
    static const char *const opts[] = { "", " hwm=3" };

    (void)unused;
    for (size_t c = 0; c < sizeof(opts) / sizeof(*opts); c++) {
        char text[512], w[16], *json = temp_path(".json"), *jtext, *graph;
        tu_result_t r;
        size_t ninst = 0;
        jv_t *doc;

        snprintf(text, sizeof(text),
                 "[gen]\ntype = range\ncount = 20000\n"
                 "[mid]\ntype = jitter\ninstances = 2\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npush = gen.out -> mid.in batch=1 balance=demand%s\n"
                 "push = mid.out -> out.in\n",
                 opts[c]);
        graph = tu_temp_file(text);
        assert_int_equal(
            tu_runl(&r, 60, graph, "--stats", "--stats-json", json, NULL), 0);
        assert_string_equal(r.out, "20000\n");
        doc = read_json(json, &jtext);
        for (unsigned k = 0; k < 2; k++) {
            uint64_t want =
                json_port_inst(doc, "mid", k, "in", "credit_window", &ninst);
            char *end;
            assert_true(table_window(r.err, "mid", k, "in", "in", w));
            unsigned long long got = strtoull(w, &end, 10);
            if (*end != '\0' || got != want || got == 0)
                fail_msg("case %zu: mid[%u] shows window '%s', the JSON %llu",
                         c, k, w, (unsigned long long)want);
            if (c == 1)
                assert_int_equal(got, 3);
            assert_true(table_window(r.err, "mid", k, "out", "out", w));
            assert_string_equal(w, "-");
        }
        assert_true(table_window(r.err, "gen", 0, "out", "out", w));
        assert_string_equal(w, "-");
        assert_true(table_window(r.err, "out", 0, "in", "in", w));
        assert_string_equal(w, "-"); /* round robin: no credits */
        jv_free(doc);
        free(jtext);
        tu_result_release(&r);
        unlink(json);
        unlink(graph);
        free(json);
        free(graph);
    }
}

/* A node of more ports than the counters once had room for (16): each of
 * manyout's 20 outputs, o0 .. o19, sends k + 1 items on port k, and
 * --stats-json, --dot-stats and the sinks agree on every one of them (the
 * ports past the 16th had no counters: no JSON object, "0 items in 0
 * msgs"). */
static void
test_observe_stats_many_ports(void **unused)
{
    char text[4096], *json = temp_path(".json"), *dot = temp_path(".dot");
    char *jtext, *dtext, *graph;
    size_t len = 0, ninst = 0;
    tu_result_t r;
    jv_t *doc;

    (void)unused;
    len += (size_t)snprintf(text + len, sizeof(text) - len,
                            "[m]\ntype = manyout\n");
    for (int k = 0; k < 20; k++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "[s%d]\ntype = collect\nmode = count\n"
                                "output = /dev/null\n",
                                k);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "[links]\n");
    for (int k = 0; k < 20; k++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "push = m.o%d -> s%d.in\n", k, k);
    assert_true(len < sizeof(text));
    graph = tu_temp_file(text);
    assert_int_equal(tu_runl(&r, 60, graph, "--plugin-path",
                             FLOW_FIXTURE_PLUGIN_DIR, "--stats", "--stats-json",
                             json, "--dot-stats", dot, NULL),
                     0);
    doc = read_json(json, &jtext);
    dtext = read_file(dot);
    assert_non_null(dtext);
    for (int k = 0; k < 20; k++) {
        char port[8], sink[8], edge[32], label[64];
        snprintf(port, sizeof(port), "o%d", k);
        snprintf(sink, sizeof(sink), "s%d", k);
        assert_int_equal(json_port_sum(doc, "m", port, "out_items", &ninst),
                         k + 1);
        assert_int_equal(json_port_sum(doc, "m", port, "out_msgs", &ninst), 1);
        assert_int_equal(json_port_sum(doc, sink, "in", "in_items", &ninst),
                         k + 1);
        snprintf(edge, sizeof(edge), "\"m\" -> \"s%d\"", k);
        assert_int_equal(edge_attr(dtext, edge, "flow_items"), k + 1);
        snprintf(label, sizeof(label), "o%d -> in\\n%d item%s in 1 msg\"", k,
                 k + 1, k ? "s" : "");
        if (!strstr(dtext, label))
            fail_msg("no '%s' in the --dot-stats output", label);
    }
    tu_assert_contains(r.err, "  o19 ");
    free(dtext);
    unlink(dot);
    free(dot);
    tu_result_release(&r);
    release_json_run(doc, jtext, json, graph);
}

/* `out` is the lines 0, 1, ..., n-1, in that order. */
static void
assert_numbers(char *out, long n)
{
    size_t nl;
    char **lines = tu_lines(out, &nl);

    assert_int_equal(nl, (size_t)n);
    for (size_t i = 0; i < nl; i++) {
        char *end;
        assert_int_equal(strtol(lines[i], &end, 10), (long)i);
        assert_true(*end == '\0');
    }
    free(lines);
}

/*
 * A push link's send and receive, both ways: the short way that a node's
 * loop takes for int64 data frames on a plain push input (node_recv.c),
 * and the general one (a balance=demand input; over TCP, where the drops
 * are watched), each with and without timed waits (--stats-json times
 * them); one link of two taking the general way, the other the short one:
 * a header read wrong the same way at both would otherwise go unseen. On
 * the sending side (node_send.c), flow_node_send_i64s's short way to a
 * port of one consumer with room, the same when it has none (hwm=2: it
 * waits), and the general way (balance=demand).
 * Each run: range (3 instances, 1000 numbers) -> jitter (which sends on
 * the message it got: no message to reuse at the next receive) ->
 * collect order=input, in batches of 1 and of 7 (the last chunk shorter),
 * and the same for words (lines: every frame goes the general way). The
 * output is the numbers in order (their chunks' sequence numbers came
 * through), and with --stats-json the counters at both ends of both links
 * are the oracle's: a message per chunk, the items, and 24 bytes of header
 * per message plus the payload.
 */
static void
test_observe_push_counts_both_ways(void **unused)
{
    static const struct {
        const char *first, *second, *transport;
    } ways[] = { { "", "", "ipc" },
                 { " hwm=2", " hwm=2", "ipc" },
                 { " balance=demand", "", "ipc" },
                 { "", " balance=demand", "ipc" },
                 { "", "", "tcp" } };
    static const int batches[] = { 1, 7 };
    static const struct {
        const char *node, *port, *pre;
    } ends[] = { { "gen", "out", "out" },
                 { "mid", "in", "in" },
                 { "mid", "out", "out" },
                 { "out", "in", "in" } };
    const long n = 1000;
    char *lines_path = temp_path(".txt");
    FILE *f = fopen(lines_path, "w");

    (void)unused;
    assert_non_null(f);
    for (long i = 0; i < n; i++)
        fprintf(f, "%ld\n", i);
    assert_int_equal(fclose(f), 0);
    for (size_t w = 0; w < sizeof(ways) / sizeof(*ways); w++)
        for (size_t b = 0; b < 2 * sizeof(batches) / sizeof(*batches); b++)
            for (int timed = 0; timed < 2; timed++) {
                bool words = b >= 2;
                int batch = batches[b % 2];
                long msgs = (n + batch - 1) / batch;
                char text[1024], gen[256], *graph, *json = NULL, *jtext;
                tu_result_t r;
                size_t ninst;
                int rc;

                if (words)
                    snprintf(gen, sizeof(gen),
                             "type = lines\npath = %s\nchunk = %d\n",
                             lines_path, batch);
                else
                    snprintf(gen, sizeof(gen),
                             "type = range\ncount = %ld\ninstances = 3\n", n);
                snprintf(text, sizeof(text),
                         "[graph]\nname = ways\n[gen]\n%s"
                         "[mid]\ntype = jitter\n"
                         "[out]\ntype = collect\norder = input\n"
                         "[links]\npush = gen.out -> mid.in batch=%d%s\n"
                         "push = mid.out -> out.in%s\n",
                         gen, batch, ways[w].first, ways[w].second);
                graph = tu_temp_file(text);
                if (timed) {
                    json = temp_path(".json");
                    rc = tu_runl(&r, 60, graph, "--transport",
                                 ways[w].transport, "--stats-json", json, NULL);
                } else {
                    rc = tu_runl(&r, 60, graph, "--transport",
                                 ways[w].transport, NULL);
                }
                if (rc != 0 || r.status != 0)
                    fprintf(stderr, "%s%s%s batch %d%s:\n%s\n",
                            ways[w].transport, ways[w].first, ways[w].second,
                            batch, words ? " words" : "", r.err);
                assert_int_equal(rc, 0);
                assert_int_equal(r.status, 0);
                assert_numbers(r.out, n);
                /* Nor did any wait for a number that never came. */
                assert_null(strstr(r.err, "warning"));
                tu_result_release(&r);
                if (!timed) {
                    unlink(graph);
                    free(graph);
                    continue;
                }
                jv_t *doc = read_json(json, &jtext);
                /* Words: an offset of 4 bytes each, and the words with
                 * their NULs, 10 x 2 + 90 x 3 + 900 x 4 bytes. */
                uint64_t bytes =
                    24 * (uint64_t)msgs +
                    (words ? 4 * (uint64_t)n + 3890 : 8 * (uint64_t)n);
                for (size_t e = 0; e < sizeof(ends) / sizeof(*ends); e++) {
                    char key[16];
                    snprintf(key, sizeof(key), "%s_msgs", ends[e].pre);
                    assert_int_equal(json_port_sum(doc, ends[e].node,
                                                   ends[e].port, key, &ninst),
                                     msgs);
                    snprintf(key, sizeof(key), "%s_items", ends[e].pre);
                    assert_int_equal(json_port_sum(doc, ends[e].node,
                                                   ends[e].port, key, &ninst),
                                     n);
                    snprintf(key, sizeof(key), "%s_bytes", ends[e].pre);
                    assert_int_equal(json_port_sum(doc, ends[e].node,
                                                   ends[e].port, key, &ninst),
                                     bytes);
                }
                release_json_run(doc, jtext, json, graph);
            }
    unlink(lines_path);
    free(lines_path);
}

/* --stats-json: well-formed, every documented key with its type, and the
 * counts of the oracle. */
static void
test_observe_stats_json(void **unused)
{
    static const char *const inst_nums[] = {
        "instance",       "pid",         "wall_s", "busy_s",
        "send_blocked_s", "recv_wait_s", "cpu_s",  "max_rss_kb",
    };
    static const char *const port_nums[] = {
        "in_msgs", "in_items", "in_bytes", "out_msgs", "out_items", "out_bytes",
    };
    char *graph = oracle_graph(), *json = temp_path(".json"), *text;
    const jv_t *nodes;
    tu_result_t r;
    size_t ninst = 0;
    jv_t *doc;

    (void)unused;
    assert_int_equal(
        tu_runl(&r, 60, graph, "--quiet", "--stats-json", json, NULL), 0);
    assert_string_equal(r.err, "");
    tu_result_release(&r);
    doc = read_json(json, &text);

    assert_string_equal(jv_get(doc, "schema", J_STR)->str, "flow-stats-1");
    assert_string_equal(jv_get(doc, "graph", J_STR)->str, "oracle");
    assert_true(jv_get(doc, "elapsed_s", J_NUM)->num > 0);
    nodes = jv_get(doc, "nodes", J_ARR);
    assert_int_equal(nodes->n, 3);
    for (size_t i = 0; i < nodes->n; i++) {
        const jv_t *n = nodes->items[i], *insts;
        static const char *const names[] = { "gen", "mid", "out" };
        static const char *const types[] = { "range", "jitter", "collect" };
        static const size_t counts[] = { 3, 2, 1 };

        assert_string_equal(jv_get(n, "name", J_STR)->str, names[i]);
        assert_string_equal(jv_get(n, "type", J_STR)->str, types[i]);
        insts = jv_get(n, "instances", J_ARR);
        assert_int_equal(insts->n, counts[i]);
        for (size_t k = 0; k < insts->n; k++) {
            const jv_t *in = insts->items[k], *ports;
            for (size_t j = 0; j < sizeof(inst_nums) / sizeof(*inst_nums); j++)
                assert_true(jv_get(in, inst_nums[j], J_NUM)->num >= 0);
            assert_int_equal(jv_get(in, "instance", J_NUM)->num, k);
            assert_true(jv_get(in, "pid", J_NUM)->num > 0);
            assert_string_equal(jv_get(in, "state", J_STR)->str, "done");
            ports = jv_get(in, "ports", J_ARR);
            assert_int_equal(ports->n, i == 1 ? 2 : 1);
            for (size_t p = 0; p < ports->n; p++) {
                const char *dir = jv_get(ports->items[p], "dir", J_STR)->str;
                assert_true(!strcmp(dir, "in") || !strcmp(dir, "out") ||
                            !strcmp(dir, "pair"));
                jv_get(ports->items[p], "port", J_STR);
                for (size_t j = 0; j < sizeof(port_nums) / sizeof(*port_nums);
                     j++)
                    assert_true(
                        jv_get(ports->items[p], port_nums[j], J_NUM)->num >= 0);
            }
        }
    }

    assert_int_equal(json_port_sum(doc, "gen", "out", "out_items", &ninst),
                     ORACLE_N);
    assert_int_equal(ninst, 3);
    assert_int_equal(json_port_sum(doc, "gen", "out", "out_msgs", &ninst),
                     ORACLE_MSGS);
    assert_int_equal(json_port_sum(doc, "mid", "in", "in_items", &ninst),
                     ORACLE_N);
    assert_int_equal(json_port_sum(doc, "mid", "out", "out_items", &ninst),
                     ORACLE_N);
    assert_int_equal(json_port_sum(doc, "out", "in", "in_items", &ninst),
                     ORACLE_N);
    assert_int_equal(json_port_sum(doc, "out", "in", "in_msgs", &ninst),
                     ORACLE_MSGS);
    assert_int_equal(json_port_sum(doc, "gen", "out", "out_bytes", &ninst),
                     json_port_sum(doc, "mid", "in", "in_bytes", &ninst));

    release_json_run(doc, text, json, graph);
}

/*
 * FLOW_STATS=0 (the benchmark's switch for the counters) does not blank the
 * reports asked for: --stats-json, --stats and --dot-stats still hold the
 * items the graph's parameters imply, the pids and the state done, where
 * the counters used to stay off and every instance read pid 0, "starting",
 * 0 items. The progress line too counts the items at the sinks (a run of
 * about 1 s: range -> fault, 5 ms a message -> collect).
 */
static void
test_observe_stats_env_off(void **unused)
{
    char *graph = oracle_graph(), *json = temp_path(".json"), *text;
    char *dot = temp_path(".dot"), *errf = temp_path(".err");
    char *slow = tu_temp_file("[src]\ntype = range\ncount = 200\n"
                              "[mid]\ntype = fault\naction = none\n"
                              "work_us = 5000\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> mid.in batch=1\n"
                              "push = mid.out -> out.in\n");
    tu_result_t r;
    size_t ninst = 0;
    unsigned rows = 0;
    unsigned long long sunk;
    port_sum_t t;
    jv_t *doc;
    FILE *f;
    int rc;

    (void)unused;
    /* Each report in a run of its own: one asks for the counters, and
     * FLOW_STATS=0 for no longer than the run (a failed check here would
     * leave it to the tests after). */
    assert_int_equal(setenv("FLOW_STATS", "0", 1), 0);
    rc = tu_runl(&r, 60, slow, "--progress", NULL);
    unsetenv("FLOW_STATS");
    assert_int_equal(rc, 0);
    assert_string_equal(r.out, "200\n");
    f = fopen(errf, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(r.err, 1, strlen(r.err), f), strlen(r.err));
    assert_int_equal(fclose(f), 0);
    sunk = tu_wait_sinks(errf, 0); /* the most a progress line said */
    if (sunk == 0 || sunk > 200)
        fail_msg("progress lines said %llu items at sinks (1 to 200 "
                 "expected): %s",
                 sunk, r.err);
    tu_result_release(&r);
    unlink(errf);
    unlink(slow);
    free(errf);
    free(slow);

    assert_int_equal(setenv("FLOW_STATS", "0", 1), 0);
    rc = tu_runl(&r, 60, graph, "--quiet", "--dot-stats", dot, NULL);
    unsetenv("FLOW_STATS");
    assert_int_equal(rc, 0);
    assert_int_equal(strtoll(r.out, NULL, 10), ORACLE_N);
    tu_result_release(&r);
    text = read_file(dot);
    assert_non_null(text);
    assert_int_equal(edge_attr(text, "\"gen\" -> \"mid\"", "flow_items"),
                     ORACLE_N);
    assert_int_equal(edge_attr(text, "\"mid\" -> \"out\"", "flow_items"),
                     ORACLE_N);
    free(text);
    unlink(dot);
    free(dot);

    assert_int_equal(setenv("FLOW_STATS", "0", 1), 0);
    rc = tu_runl(&r, 60, graph, "--stats", "--stats-json", json, NULL);
    unsetenv("FLOW_STATS");
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(strtoll(r.out, NULL, 10), ORACLE_N);
    t = table_sum(r.err, "out", "in", "in", &rows);
    assert_int_equal(rows, 1);
    assert_int_equal(t.items, ORACLE_N);
    assert_int_equal(t.msgs, ORACLE_MSGS);
    assert_null(strstr(r.err, "starting"));
    tu_result_release(&r);
    doc = read_json(json, &text);
    assert_int_equal(json_port_sum(doc, "gen", "out", "out_items", &ninst),
                     ORACLE_N);
    assert_int_equal(json_port_sum(doc, "out", "in", "in_items", &ninst),
                     ORACLE_N);
    assert_int_equal(json_port_sum(doc, "out", "in", "in_msgs", &ninst),
                     ORACLE_MSGS);
    {
        const jv_t *nodes = jv_get(doc, "nodes", J_ARR);
        for (size_t i = 0; i < nodes->n; i++) {
            const jv_t *insts = jv_get(nodes->items[i], "instances", J_ARR);
            for (size_t k = 0; k < insts->n; k++) {
                assert_true(jv_get(insts->items[k], "pid", J_NUM)->num > 0);
                assert_string_equal(
                    jv_get(insts->items[k], "state", J_STR)->str, "done");
            }
        }
    }
    release_json_run(doc, text, json, graph);
}

/*
 * Run flowrun on `graph` with standard error on a new terminal and standard
 * output in the file `out`, FLOW_STATS=0 in its environment when `off`;
 * return what the terminal showed (caller frees). flowrun must exit 0
 * within 30 s.
 */
static char *
run_stderr_on_tty(const char *graph, const char *out, bool off)
{
    char *buf = calloc(1, 65536);
    size_t len = 0;
    int master, status;
    pid_t pid;

    assert_non_null(buf);
    fflush(NULL);
    pid = forkpty(&master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(126);
        close(fd);
        if (off)
            setenv("FLOW_STATS", "0", 1);
        else
            unsetenv("FLOW_STATS");
        execl(tu_flowrun(), tu_flowrun(), "--plugin-path", tu_plugin_dir(),
              graph, (char *)NULL);
        _exit(127);
    }
    for (double limit = tu_now_s() + 30;;) {
        struct pollfd one = { master, POLLIN, 0 };
        ssize_t r;
        if (tu_now_s() > limit) {
            kill(pid, SIGKILL);
            fail_msg("flowrun on a terminal ran over 30 s: %s", buf);
        }
        if (poll(&one, 1, 100) <= 0)
            continue;
        r = read(master, buf + len, 65535 - len);
        if (r <= 0)
            break; /* EIO: the terminal's last process closed it */
        len += (size_t)r;
    }
    close(master);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("flowrun: status %#x, terminal: %s", status, buf);
    return buf;
}

/*
 * FLOW_STATS=0 is how tools/bench/stats_cost.sh times a run without the
 * counters; a run that shows them keeps them on, but the progress line
 * drawn by default, when standard error is a terminal and standard output
 * is not, is no report asked for. It kept the counters on, so that the
 * benchmark, run from a terminal (its output captured by the shell), timed
 * the counters on both ways. With FLOW_STATS=0 the default is no progress
 * line; without it, the same run on the same terminal draws one (the
 * control: standard error is a terminal indeed).
 */
static void
test_observe_stats_env_off_no_default_progress(void **unused)
{
    char *graph = tu_temp_file("[src]\ntype = range\ncount = 50\n"
                               "[mid]\ntype = fault\naction = none\n"
                               "work_us = 5000\n"
                               "[out]\ntype = collect\nmode = count\n"
                               "[links]\npush = src.out -> mid.in batch=1\n"
                               "push = mid.out -> out.in\n");
    char *out = temp_path(".out");

    (void)unused;
    for (int off = 0; off < 2; off++) {
        char *tty = run_stderr_on_tty(graph, out, off);
        char *o = read_file(out);
        assert_non_null(o);
        assert_string_equal(o, "50\n");
        if (off ? strstr(tty, "items at sinks") != NULL
                : strstr(tty, "items at sinks") == NULL)
            fail_msg("FLOW_STATS%s: the terminal showed '%s'",
                     off ? "=0, a progress line" : " unset, no progress line",
                     tty);
        free(o);
        free(tty);
    }
    unlink(out);
    unlink(graph);
    free(out);
    free(graph);
}

/*
 * A push link balances round robin: with room everywhere (an hwm above the
 * whole run), each of 3 consumer instances gets every third message, 100
 * of 300 exactly, whatever their speed; the oracle is the division. A
 * sender that went back to the channel it had just used sent them all to
 * one instance.
 */
static void
test_observe_round_robin(void **unused)
{
    char *json = temp_path(".json"), *text, *graph;
    tu_result_t r;
    size_t ninst;
    jv_t *doc;

    (void)unused;
    graph = tu_temp_file("[src]\ntype = range\ncount = 3000\n"
                         "[mid]\ntype = jitter\ninstances = 3\n"
                         "[out]\ntype = collect\nmode = count\n"
                         "[links]\npush = src.out -> mid.in batch=10 "
                         "hwm=1000\npush = mid.out -> out.in\n");
    assert_int_equal(
        tu_runl(&r, 60, graph, "--quiet", "--stats-json", json, NULL), 0);
    assert_string_equal(r.out, "3000\n");
    tu_result_release(&r);
    doc = read_json(json, &text);
    for (long i = 0; i < 3; i++) {
        uint64_t msgs = json_port_inst(doc, "mid", i, "in", "in_msgs", &ninst);
        if (msgs != 100)
            print_message("mid[%ld] received %llu messages of 300\n", i,
                          (unsigned long long)msgs);
        assert_int_equal(msgs, 100);
    }
    release_json_run(doc, text, json, graph);
}

/* The number `key` of instance `inst` of node `node` in a stats document. */
static double
json_inst_num(const jv_t *doc, const char *node, size_t inst, const char *key)
{
    const jv_t *nodes = jv_get(doc, "nodes", J_ARR);

    for (size_t i = 0; i < nodes->n; i++) {
        const jv_t *insts;
        if (strcmp(jv_get(nodes->items[i], "name", J_STR)->str, node))
            continue;
        insts = jv_get(nodes->items[i], "instances", J_ARR);
        assert_true(inst < insts->n);
        return jv_get(insts->items[inst], key, J_NUM)->num;
    }
    print_message("node '%s' is not in the JSON\n", node);
    fail();
    return 0;
}

/*
 * An instance that fails while starting (pin to a CPU this machine lacks)
 * has its pid in --stats-json, the one its error names: it was 0.
 */
static void
test_observe_stats_pid_of_failed_start(void **unused)
{
    char *json = temp_path(".json"), *text, *graph, *at;
    tu_result_t r;
    long named;
    jv_t *doc;

    (void)unused;
    if (sysconf(_SC_NPROCESSORS_CONF) > 1023)
        skip(); /* CPU 1023 is there */
    graph = tu_temp_file("[report]\ntype = pid\npin = 1023\n"
                         "[out]\ntype = collect\n"
                         "[links]\npush = report.out -> out.in\n");
    assert_int_equal(
        tu_runl(&r, 60, graph, "--quiet", "--stats-json", json, NULL), 1);
    at = strstr(r.err, "report[0] (pid ");
    assert_non_null(at);
    named = strtol(at + strlen("report[0] (pid "), NULL, 10);
    assert_true(named > 0);
    tu_result_release(&r);
    doc = read_json(json, &text);
    assert_int_equal((long)json_inst_num(doc, "report", 0, "pid"), named);
    release_json_run(doc, text, json, graph);
}

/*
 * Instances stopped before their end (--timeout 1 on a graph that would run
 * for hours): their counters are not final, but --stats-json still says how
 * long they ran, how much CPU they used and how much memory (the kernel's
 * count at their death), not zeros. Both stages compute all along: each ran
 * about a second and used a part of it on a CPU.
 */
static void
test_observe_stats_stopped(void **unused)
{
    char *json = temp_path(".json"), *text, *graph;
    tu_result_t r;
    jv_t *doc;

    (void)unused;
    static const char ini[] = "[graph]\nname = stopped\n"
                              "[src]\ntype = range\ncount = 1e15\n"
                              "[out]\ntype = collect\nmode = count\n"
                              "[links]\npush = src.out -> out.in batch=16\n";
    graph = temp_with(ini, sizeof(ini) - 1, ".ini");
    assert_int_equal(tu_runl(&r, 60, graph, "--quiet", "--timeout", "1",
                             "--stats-json", json, NULL),
                     124);
    tu_result_release(&r);
    doc = read_json(json, &text);
    for (int i = 0; i < 2; i++) {
        const char *node = i ? "out" : "src";
        double wall = json_inst_num(doc, node, 0, "wall_s");
        double cpu = json_inst_num(doc, node, 0, "cpu_s");
        double rss = json_inst_num(doc, node, 0, "max_rss_kb");
        /* The CPU time is the process's: its libzmq I/O thread's too, so
         * up to about twice the wall time. */
        if (wall < 0.5 || wall > 30 || cpu < 0.001 || cpu > 3 * wall ||
            rss < 100)
            print_message("%s: wall %.3f cpu %.3f rss %.0f\n%s\n", node, wall,
                          cpu, rss, text);
        /* Its second less its start: 0.87 s on a machine loaded 60 times
         * over (0.9 failed there); a count that stopped with the stop
         * would read 0. */
        assert_true(wall >= 0.5 && wall < 30);
        /* Some CPU, not zero: how much depends on what else runs (a
         * loaded machine gave a stage 0.022 s of its second). */
        assert_true(cpu >= 0.001 && cpu <= 3 * wall);
        assert_true(rss >= 100);
    }
    release_json_run(doc, text, json, graph);
}

/*
 * The waits are timed when the statistics are asked for. jitter sleeps
 * 0-20 ms before each of 40 messages of 800 KB: the collector spends most
 * of its time waiting for input, and the source, whose link holds one
 * message, blocked on its sends (the oracle is the sleeps' sum, which the
 * jitter instance's own busy time must cover). The same with
 * balance=demand, whose inputs receive a routing id before each frame and
 * whose outputs wait for credit (an input's waits went untimed there: the
 * collector, idle, showed as busy).
 */
static void
test_observe_stats_waits(void **unused)
{
    (void)unused;
    for (int demand = 0; demand < 2; demand++) {
        const char *bal = demand ? " balance=demand" : "";
        char text[512], *graph, *json = temp_path(".json"), *doc_text;
        tu_result_t r;
        jv_t *doc;

        snprintf(text, sizeof(text),
                 "[gen]\ntype = range\ncount = 4000000\n"
                 "[mid]\ntype = jitter\nmax_us = 40000\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\n"
                 "push = gen.out -> mid.in batch=100000 hwm=1%s\n"
                 "push = mid.out -> out.in batch=100000 hwm=1%s\n",
                 bal, bal);
        graph = tu_temp_file(text);
        assert_int_equal(
            tu_runl(&r, 60, graph, "--quiet", "--stats-json", json, NULL), 0);
        assert_int_equal(strtoll(r.out, NULL, 10), 4000000);
        tu_result_release(&r);
        doc = read_json(json, &doc_text);

        double mid_busy = json_inst_num(doc, "mid", 0, "busy_s");
        double out_wall = json_inst_num(doc, "out", 0, "wall_s");
        double out_wait = json_inst_num(doc, "out", 0, "recv_wait_s");
        double gen_wall = json_inst_num(doc, "gen", 0, "wall_s");
        double gen_block = json_inst_num(doc, "gen", 0, "send_blocked_s");
        print_message("%s: mid busy %.3f s; out waited %.3f of %.3f s; gen "
                      "blocked %.3f of %.3f s\n",
                      demand ? "demand" : "rr", mid_busy, out_wait, out_wall,
                      gen_block, gen_wall);
        /* 40 sleeps of 0-40 ms: 0.8 s on average with a standard
         * deviation of 0.073 s, so below 0.4 s only for a draw 5.5
         * deviations off; long against gen's own work, which took 0.26
         * s of 0.5 under AddressSanitizer on a loaded machine. */
        assert_true(mid_busy > 0.4);
        assert_true(out_wait > 0.7 * out_wall);
        /* gen's time not blocked is its own work (4e6 values, 32 MB
         * sent), which a loaded machine stretches: under AddressSanitizer
         * with the load average at 15 it blocked 0.684 of 1.487 s (46%).
         * Untimed, the blocked time is 0: a quarter still tells. */
        assert_true(gen_block > 0.25 * gen_wall);
        release_json_run(doc, doc_text, json, graph);
    }
}

/*
 * The waits, read from the coarse clock, stay within the wall time, and
 * busy + blocked + waiting is the wall time (short runs showed waits of
 * 8 ms in a wall time of 5 ms). Oracle: the wall time itself.
 */
static void
test_observe_stats_add_up(void **unused)
{
    static const struct {
        const char *node;
        unsigned inst;
    } procs[] = { { "gen", 0 },
                  { "chunks", 0 },
                  { "find", 0 },
                  { "find", 1 },
                  { "out", 0 } };

    (void)unused;
    for (int run = 0; run < 5; run++) {
        char *json = temp_path(".json"), *text;
        tu_result_t r;
        jv_t *doc;

        assert_int_equal(tu_runl(&r, 60, tu_src("graphs/palindromes.ini"),
                                 "--quiet", "--stats-json", json, NULL),
                         0);
        tu_result_release(&r);
        doc = read_json(json, &text);
        for (size_t k = 0; k < sizeof(procs) / sizeof(*procs); k++) {
            const char *n = procs[k].node;
            unsigned i = procs[k].inst;
            double wall = json_inst_num(doc, n, i, "wall_s");
            double busy = json_inst_num(doc, n, i, "busy_s");
            double blocked = json_inst_num(doc, n, i, "send_blocked_s");
            double waiting = json_inst_num(doc, n, i, "recv_wait_s");
            double off = busy + blocked + waiting - wall;
            off = off < 0 ? -off : off; /* JSON has 6 decimals: 3 roundings */
            if (waiting > wall || blocked > wall || off > 3e-6)
                print_message("%s[%u]: wall %.6f busy %.6f blocked %.6f "
                              "waiting %.6f\n",
                              n, i, wall, busy, blocked, waiting);
            assert_true(waiting <= wall && blocked <= wall);
            assert_true(busy >= 0);
            assert_true(off <= 3e-6);
        }
        jv_free(doc);
        free(text);
        unlink(json);
        free(json);
    }
}

/*
 * A report to the file standard output or standard error goes to
 * (--stats-json /dev/stderr with 2>run.log, as flowrun itself suggests for
 * '-'; --dot-stats /dev/stdout with >out.txt) comes after what was written
 * there: it was opened anew and truncated, and the failure line, the
 * --stats table or the graph's output were lost. A node that fails (fault)
 * and 2>FILE: the file holds the failure, the table, then the JSON.
 */
static void
test_observe_stats_to_std_file(void **unused)
{
    char *graph = tu_temp_file("[src]\ntype = range\ncount = 1000\n"
                               "[f]\ntype = fault\nafter = 2\n"
                               "[out]\ntype = collect\nmode = count\n"
                               "[links]\npush = src.out -> f.in batch=10\n"
                               "push = f.out -> out.in\n");
    char *out = temp_path(".out"), *err = temp_path(".err"), *text, *json;
    char cmd[4096];
    jv_t *doc;

    (void)unused;
    snprintf(cmd, sizeof(cmd),
             "'%s' '%s' --stats --stats-json /dev/stderr >'%s' 2>'%s'",
             tu_flowrun(), graph, out, err);
    assert_int_equal(WEXITSTATUS(system(cmd)), 1);
    text = read_file(err);
    assert_non_null(text);
    tu_assert_contains(text, "flowrun: error: node 'f' instance 0 (pid ");
    tu_assert_contains(text, "node[instance]");
    json = strstr(text, "\n{\n");
    assert_non_null(json);
    doc = jv_parse(json + 1);
    assert_non_null(doc);
    assert_string_equal(jv_get(doc, "schema", J_STR)->str, "flow-stats-1");
    jv_free(doc);
    free(text);

    /* The graph's output, then the DOT. */
    snprintf(cmd, sizeof(cmd),
             "'%s' '%s' --set f.action=none --dot-stats /dev/stdout >'%s'",
             tu_flowrun(), graph, out);
    assert_int_equal(WEXITSTATUS(system(cmd)), 0);
    text = read_file(out);
    assert_non_null(text);
    if (strncmp(text, "1000\ndigraph ", 13))
        fail_msg("not the count, then the DOT:\n%s", text);
    free(text);
    unlink(out);
    unlink(err);
    unlink(graph);
    free(out);
    free(err);
    free(graph);
}

/* ---- Progress ------------------------------------------------------------ */

/* The marker every progress line carries. */
#define PROGRESS_MARK "items/s"

/* A graph that runs about 1.5 s: 200 messages, 0-15 ms each in jitter. */
static char *
slow_graph(void)
{
    return tu_temp_file("[gen]\ntype = range\ncount = 2000\n"
                        "[mid]\ntype = jitter\nmax_us = 15000\n"
                        "[out]\ntype = collect\nmode = count\n"
                        "[links]\npush = gen.out -> mid.in batch=10\n"
                        "push = mid.out -> out.in\n");
}

/* Run the shell command `cmd`; returns all it wrote on standard output
 * (malloc'ed, NUL-terminated), its wait status in `*status`. */
static char *
shell_output(const char *cmd, int *status)
{
    char buf[4096], *out = NULL;
    size_t len = 0;
    FILE *p = popen(cmd, "r");

    assert_non_null(p);
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0; len += n) {
        out = realloc(out, len + n + 1);
        memcpy(out + len, buf, n);
    }
    *status = pclose(p);
    out = realloc(out, len + 1);
    out[len] = '\0';
    return out;
}

/*
 * Run flowrun on `graph` with `extra` options under a pseudo-terminal
 * (script(1)); returns everything the terminal showed (malloc'ed).
 */
static char *
run_in_pty(const char *graph, const char *extra, int *status)
{
    char cmd[4096];

    snprintf(cmd, sizeof(cmd),
             "timeout 60 script -qfec \"'%s' '%s' %s\" /dev/null </dev/null",
             tu_flowrun(), graph, extra);
    return shell_output(cmd, status);
}

/* Under a terminal the progress line shows by default when standard
 * output goes elsewhere; not with --quiet or --no-progress, nor when the
 * graph's output goes to the terminal too (it landed in the middle of the
 * line: "busiest: -2000"), unless --progress asks. */
static void
test_observe_progress_tty(void **unused)
{
    char *graph, *out;
    int status;

    (void)unused;
    if (!have_program("script") || !have_program("timeout")) {
        print_message("SKIP: script(1) from util-linux is not installed\n");
        skip();
    }
    graph = slow_graph();
    out = run_in_pty(graph, ">/dev/null", &status);
    if (!strstr(out, PROGRESS_MARK))
        print_message("terminal output:\n%s\n", out);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(out, PROGRESS_MARK));
    free(out);

    out = run_in_pty(graph, "", &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_null(strstr(out, PROGRESS_MARK));
    assert_non_null(strstr(out, "2000\r\n")); /* the count, a line alone */
    free(out);

    out = run_in_pty(graph, "--progress", &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(out, PROGRESS_MARK));
    assert_non_null(strstr(out, "2000")); /* the count still comes out */
    free(out);

    out = run_in_pty(graph, "--quiet >/dev/null", &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_null(strstr(out, PROGRESS_MARK));
    free(out);

    out = run_in_pty(graph, "--no-progress >/dev/null", &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_null(strstr(out, PROGRESS_MARK));
    free(out);
    unlink(graph);
    free(graph);
}

/*
 * A pager reading the output (flowrun g.ini | less) shares the terminal
 * with flowrun, in the same job, and turns its canonical mode off: the
 * progress line, drawn four times a second, landed over less's screen
 * (its bottom row showed "flowrun: 3.8s  13067 items at sinks ..." in
 * place of its prompt). Modelled with stty -icanon, as less sets it,
 * before flowrun: no progress line, with --progress neither; and with
 * the canonical mode back on, the line again.
 */
static void
test_observe_progress_pager(void **unused)
{
    static const struct {
        const char *stty, *opt;
        bool shown;
    } cases[] = { { "-icanon -echo", "", false },
                  { "-icanon -echo", "--progress", false },
                  { "icanon echo", "", true } };
    char cmd[4096], *graph;

    (void)unused;
    if (!have_program("script") || !have_program("timeout") ||
        !have_program("stty")) {
        print_message("SKIP: script(1) or stty(1) is not installed\n");
        skip();
    }
    graph = slow_graph();
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *out;
        int status;

        snprintf(cmd, sizeof(cmd),
                 "timeout 60 script -qfec \"stty %s && '%s' '%s' %s "
                 ">/dev/null\" /dev/null </dev/null",
                 cases[i].stty, tu_flowrun(), graph, cases[i].opt);
        out = shell_output(cmd, &status);
        assert_int_equal(status, 0);
        if ((strstr(out, PROGRESS_MARK) != NULL) != cases[i].shown)
            fail_msg("stty %s, flowrun %s: progress line %s; the terminal "
                     "showed:\n%s",
                     cases[i].stty, cases[i].opt,
                     cases[i].shown ? "missing" : "drawn", out);
        free(out);
    }
    unlink(graph);
    free(graph);
}

/*
 * On a terminal narrower than the progress line (about 90 columns: 80 is
 * common), the line is cut to the width: a longer one wraps, '\r' then
 * goes back to the start of its last row only, and each redraw left a row
 * behind (and the erase before a log line, the first row). Under a pty of
 * 50 columns every line drawn fits in 49.
 */
static void
test_observe_progress_narrow(void **unused)
{
    char cmd[4096], *out, *graph, *save = NULL;
    int lines = 0, status;

    (void)unused;
    if (!have_program("script") || !have_program("timeout")) {
        print_message("SKIP: script(1) from util-linux is not installed\n");
        skip();
    }
    graph = slow_graph();
    snprintf(cmd, sizeof(cmd),
             "timeout 60 script -qfec \"stty cols 50 && '%s' '%s' "
             ">/dev/null\" /dev/null </dev/null",
             tu_flowrun(), graph);
    out = shell_output(cmd, &status);
    assert_int_equal(status, 0);
    for (char *l = strtok_r(out, "\r", &save); l;
         l = strtok_r(NULL, "\r", &save)) {
        char *end = strstr(l, "\033[K");
        if (strncmp(l, "flowrun: ", 9) || !end)
            continue;
        lines++;
        if (end - l > 49)
            fail_msg("progress line of %d columns on a terminal of 50: %.*s",
                     (int)(end - l), (int)(end - l), l);
    }
    if (lines < 2)
        fail_msg("fewer than 2 progress lines:\n%s", out);
    free(out);
    unlink(graph);
    free(graph);
}

/* One progress line's fields, parsed from `l`: 1 if it is one, else 0. */
typedef struct progress_line {
    double t, rate;
    unsigned long long n, from;
    char busiest[64];
} progress_line_t;

static int
parse_progress(const char *l, progress_line_t *p)
{
    return sscanf(l,
                  "flowrun: %lfs %llu items at sinks %lf items/s %llu from "
                  "sources busiest: %63[a-z-]",
                  &p->t, &p->n, &p->rate, &p->from, p->busiest) == 5;
}

/*
 * The progress lines of slow_graph in `err`: each gives the rate over the
 * interval since the line before, so a line whose sink count grew shows a
 * rate > 0, within 3x of the growth over the printed times (0.1 s
 * precision) when the interval is long enough to tell; and the busiest
 * stage is the jitter node, the only one that takes time (the range source
 * is done at once, all its messages queued).
 */
static void
check_progress_lines(const char *err)
{
    char *text = strdup(err), *save = NULL;
    double t0 = -1;
    unsigned long long n0 = 0;
    int grew = 0;

    for (char *l = strtok_r(text, "\r\n", &save); l;
         l = strtok_r(NULL, "\r\n", &save)) {
        progress_line_t p;
        if (!parse_progress(l, &p))
            continue;
        double t = p.t, rate = p.rate;
        unsigned long long n = p.n, from = p.from;
        const char *busiest = p.busiest;
        /* The items the sink has came from the source, which sends its
         * all at once into the queues (a few hundred kB). */
        if (from < n)
            fail_msg("progress line '%s': fewer from sources than at sinks", l);
        if (t0 >= 0 && n > n0) {
            grew++;
            if (rate <= 0 ||
                (t - t0 >= 0.4 && (rate > 3 * (n - n0) / (t - t0) ||
                                   rate < (n - n0) / (t - t0) / 3)))
                fail_msg("progress line '%s' after %llu items at %.1fs", l, n0,
                         t0);
            /* The source long done, even under ASan. Until its last two
             * batches the jitter node is the one at work; after, it may
             * have finished, and the line may name the sink or nobody
             * ("-": every stage done, seen in a CI run). */
            if (t >= 0.5)
                assert_int_equal(from, 2000);
            if (t >= 0.5 && n + 20 < from)
                assert_string_equal(busiest, "mid");
            else if (t >= 0.5 && strcmp(busiest, "mid") &&
                     strcmp(busiest, "out") && strcmp(busiest, "-"))
                fail_msg("progress line '%s': busiest at the end", l);
        }
        t0 = t;
        n0 = n;
    }
    if (grew < 2)
        fail_msg("fewer than 2 progress lines with items in:\n%s", err);
    free(text);
}

/* A graph name that is not UTF-8 still gives well-formed JSON: each bad
 * byte becomes U+FFFD, the good characters stay. */
static void
test_observe_stats_json_not_utf8(void **unused)
{
    char *graph = tu_temp_file("[graph]\nname = g\xff\xfe\xc3\xa9t\xc3\n"
                               "[src]\ntype = range\ncount = 2\n"
                               "[out]\ntype = collect\n"
                               "[links]\npush = src.out -> out.in\n");
    char *json = temp_path(".json"), *text;
    tu_result_t r;
    jv_t *doc;

    (void)unused;
    assert_int_equal(tu_runl(&r, 60, graph, "--stats-json", json, NULL), 0);
    tu_result_release(&r);
    text = read_file(json);
    assert_non_null(text);
    tu_assert_contains(text, "\"graph\": \"g\\ufffd\\ufffd\xc3\xa9t\\ufffd\"");
    doc = jv_parse(text);
    assert_non_null(doc);
    release_json_run(doc, text, json, graph);
}

/* Piped, no progress line unless --progress asks for it (and --quiet does
 * not). */
static void
test_observe_progress_piped(void **unused)
{
    char *graph = slow_graph();
    tu_result_t r;

    (void)unused;
    assert_int_equal(tu_runl(&r, 60, graph, NULL), 0);
    assert_null(strstr(r.err, PROGRESS_MARK));
    assert_null(strchr(r.err, '\r'));
    assert_int_equal(strtoll(r.out, NULL, 10), 2000);
    tu_result_release(&r);

    assert_int_equal(tu_runl(&r, 60, graph, "--progress", NULL), 0);
    assert_non_null(strstr(r.err, PROGRESS_MARK));
    assert_null(strstr(r.out, PROGRESS_MARK));
    check_progress_lines(r.err);
    tu_result_release(&r);

    /* --quiet wins over --progress, in either order (observability.md,
     * flowrun.1). */
    assert_int_equal(tu_runl(&r, 60, graph, "--quiet", "--progress", NULL), 0);
    assert_null(strstr(r.err, PROGRESS_MARK));
    assert_null(strchr(r.err, '\r'));
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 60, graph, "--progress", "--quiet", NULL), 0);
    assert_null(strstr(r.err, PROGRESS_MARK));
    tu_result_release(&r);

    /* A graph's timeout is said on a line of its own: the progress line
     * is erased first. */
    assert_int_equal(
        tu_runl(&r, 60, graph, "--progress", "--timeout", "0.6", NULL), 124);
    const char *e = strstr(r.err, "flowrun: error: graph ");
    if (!e || e - r.err < 4 || strncmp(e - 4, "\r\033[K", 4))
        fail_msg("no erased progress line before the timeout:\n%s", r.err);
    tu_result_release(&r);
    unlink(graph);
    free(graph);
}

/*
 * The busiest stage of a progress line is the one busiest since the line
 * before, not since the start: the source (pausesrc) is at work for 2 s,
 * sending 20 numbers 100 ms apart while the pass-through (fault, 1 ms of
 * work per message) waits for them; then it sends the rest as fast as it
 * can, waiting on the full link (hwm 4) while the pass-through works
 * through them for 2.5 s. Half a second into that, the pass-through is the
 * busiest; over the whole run the source still was (it named the source
 * until the end).
 */
static void
test_observe_progress_busiest_now(void **unused)
{
    const char *text = "[src]\ntype = pausesrc\ncount = 2520\npaced = 20\n"
                       "pace_ms = 100\n"
                       "[mid]\ntype = fault\naction = none\nwork_us = 1000\n"
                       "[out]\ntype = collect\nmode = count\n"
                       "[links]\npush = src.out -> mid.in hwm=4\n"
                       "push = mid.out -> out.in\n";
    double t2 = -1;
    int checked = 0;
    char *save = NULL, *l;
    tu_result_t r;

    (void)unused;
    assert_int_equal(tu_run_graph(&r, 60, text, "--progress", "--plugin-path",
                                  FLOW_FIXTURE_PLUGIN_DIR, NULL),
                     0);
    assert_int_equal(strtoll(r.out, NULL, 10), 2520);
    for (l = strtok_r(r.err, "\r\n", &save); l;
         l = strtok_r(NULL, "\r\n", &save)) {
        progress_line_t p;
        if (!parse_progress(l, &p))
            continue;
        double t = p.t;
        unsigned long long n = p.n, from = p.from;
        const char *busiest = p.busiest;
        if (from > 25 && t2 < 0)
            t2 = t; /* the paced ones sent */
        if (t2 >= 0 && t >= t2 + 0.5 && n + 300 < 2520) {
            checked++;
            if (strcmp(busiest, "mid"))
                fail_msg("progress line '%s', %.1f s after the source's "
                         "pace ended: not the pass-through",
                         l, t - t2);
        }
    }
    if (!checked)
        fail_msg("no progress line half a second into the second part:\n%s",
                 r.err);
    tu_result_release(&r);
}

/*
 * The progress line's "items at sinks" are what reached the sinks' inputs,
 * not what a node with pair ports only (a server, the sieve's segments)
 * receives on them: slow_graph with a pairclient in the middle asking a
 * pairecho for every item. Every line's count stays within the 2000 items
 * of the source (it counted the server's 2000 too, up to twice as many).
 */
static void
test_observe_progress_pair(void **unused)
{
    const char *text = "[gen]\ntype = range\ncount = 2000\n"
                       "[mid]\ntype = jitter\nmax_us = 15000\n"
                       "[cli]\ntype = pairclient\n"
                       "[srv]\ntype = pairecho\n"
                       "[out]\ntype = collect\nmode = count\n"
                       "[links]\npush = gen.out -> mid.in batch=10\n"
                       "push = mid.out -> cli.in\n"
                       "pair = cli.srv <-> srv.peer\n"
                       "push = cli.out -> out.in\n";
    tu_result_t r;
    char *save = NULL;
    int lines = 0;

    (void)unused;
    assert_int_equal(tu_run_graph(&r, 60, text, "--plugin-path",
                                  FLOW_FIXTURE_PLUGIN_DIR, "--progress", NULL),
                     0);
    assert_int_equal(strtoll(r.out, NULL, 10), 2000);
    for (char *l = strtok_r(r.err, "\r\n", &save); l;
         l = strtok_r(NULL, "\r\n", &save)) {
        double t, rate;
        unsigned long long n, from;
        if (sscanf(l, "flowrun: %lfs %llu items at sinks %lf items/s %llu", &t,
                   &n, &rate, &from) != 4)
            continue;
        lines++;
        if (n > 2000 || n > from)
            fail_msg("progress line '%s': more at the sinks than were sent", l);
    }
    if (lines < 2)
        fail_msg("fewer than 2 progress lines");
    tu_result_release(&r);
}

/* ---- Options ------------------------------------------------------------- */

/* --help teaches; bad --log-level values are usage errors. */
static void
test_observe_options(void **unused)
{
    static const char *const help_words[] = {
        "--stats-json", "--dot-stats",     "--dot",        "--progress",
        "--log-level",  "Examples:",       "Exit status:", "FLOW_PLUGIN_PATH",
        "TMPDIR",       "XDG_RUNTIME_DIR",
    };
    char *graph = slow_graph();
    tu_result_t r;

    (void)unused;
    assert_int_equal(tu_runl(&r, 30, "--help", NULL), 0);
    for (size_t i = 0; i < sizeof(help_words) / sizeof(*help_words); i++)
        assert_non_null(strstr(r.out, help_words[i]));
    /* --grace acts after a --timeout too, as the man page says (a run
     * timed out with --grace 2 ends 2 s after its timeout): --help said
     * "after a failure or signal" only. */
    tu_assert_contains(r.out, "  --grace SECONDS        after a failure, a "
                              "signal or a timeout,\n");
    tu_result_release(&r);

    assert_int_equal(tu_runl(&r, 30, "--log-level", "loud", graph, NULL), 2);
    assert_non_null(strstr(r.err, "'loud'"));
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, "--timeout", "1e8", graph, NULL), 2);
    tu_assert_contains(r.err, "flowrun: error: --timeout '1e8': expected "
                              "seconds, > 0 and at most 1e7\n");
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, "--dot", "--log-level", "debug",
                             tu_src("graphs/pids.ini"), NULL),
                     0);
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, "--version", NULL), 0);
    assert_int_equal(strncmp(r.out, "flowrun ", 8), 0);
    tu_result_release(&r);

    /* Option errors name flowrun, not the path it ran as. */
    assert_int_equal(tu_runl(&r, 30, "--bogus", graph, NULL), 2);
    tu_assert_contains(r.err, "flowrun: error: unknown or ambiguous option "
                              "'--bogus'\n");
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, "--check=1", graph, NULL), 2);
    tu_assert_contains(r.err,
                       "flowrun: error: option '--check' takes no value\n");
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, "-x", graph, NULL), 2);
    tu_assert_contains(r.err, "flowrun: error: unknown option '-x'\n");
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, graph, "--timeout", NULL), 2);
    tu_assert_contains(r.err,
                       "flowrun: error: option '--timeout' needs a value\n");
    tu_result_release(&r);
    /* An option where a value was due: the value forgotten (the option was
     * taken as the value, and the next word as the graph or type). */
    assert_int_equal(
        tu_runl(&r, 30, "--describe", "--plugin-path", "/tmp", "words", NULL),
        2);
    assert_string_equal(r.err, "flowrun: error: option '--describe' needs a "
                               "value: '--plugin-path' is an option\n");
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, graph, "--stats-json", "--quiet", NULL),
                     2);
    assert_string_equal(r.err, "flowrun: error: option '--stats-json' needs "
                               "a value: '--quiet' is an option\n");
    tu_result_release(&r);
    /* One action at a time, and none of them silently dropped. */
    assert_int_equal(tu_runl(&r, 30, "--check", "--dot", graph, NULL), 2);
    tu_assert_contains(r.err, "flowrun: error: --check, --dot, --list-nodes "
                              "and --describe exclude each other\n");
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, "--list-nodes", graph, NULL), 2);
    tu_assert_contains(r.err, "flowrun: error: --list-nodes takes no graph "
                              "file");
    tu_result_release(&r);

    /* Modes that exclude each other: a usage error, not one silently
     * winning. */
    assert_int_equal(tu_runl(&r, 30, "--rendezvous-only", "--instance", "a:0",
                             "--rendezvous", "tcp://127.0.0.1:1", graph, NULL),
                     2);
    tu_assert_contains(r.err, "flowrun: error: --rendezvous-only, --launcher "
                              "slurm, --instance and --slurm-task exclude "
                              "each other\n");
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, "--launcher", "slurm", "--rendezvous",
                             "tcp://127.0.0.1:1", graph, NULL),
                     2);
    tu_assert_contains(r.err, "flowrun: error: --rendezvous goes with "
                              "--instance or --slurm-task");
    tu_result_release(&r);
    /* --liveness is the rendezvous's: refused elsewhere, and checked. */
    {
        static const struct {
            const char *a[7]; /* then the graph */
            const char *err;
        } cases[] = {
            { { "--liveness", "5" }, "--liveness goes with --rendezvous-only" },
            { { "--liveness", "5", "--instance", "a:0", "--rendezvous",
                "tcp://127.0.0.1:1" },
              "--liveness goes with --rendezvous-only" },
            { { "--rendezvous-only", "--liveness", "0.5" },
              "--liveness '0.5': expected seconds, from 1 to 6553, or 0" },
            { { "--rendezvous-only", "--liveness", "6554" },
              "--liveness '6554': expected seconds" },
            { { "--launcher", "slurm", "--liveness", "-1" },
              "--liveness '-1': expected seconds" },
            { { "--rendezvous-only", "--liveness", "2s" },
              "--liveness '2s': expected seconds" },
            /* decimal only (strtod read hexadecimal) */
            { { "--rendezvous-only", "--liveness", "0x10" },
              "--liveness '0x10': expected seconds" },
            { { "--timeout", "0x10" },
              "--timeout '0x10': expected seconds, > 0 and at most 1e7" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            const char *args[8] = { NULL };
            size_t n = 0;
            while (cases[i].a[n]) {
                args[n] = cases[i].a[n];
                n++;
            }
            args[n] = graph;
            assert_int_equal(tu_run(&r, 30, args), 2);
            tu_assert_contains(r.err, cases[i].err);
            assert_int_equal(r.outlen, 0); /* no rendezvous address */
            tu_result_release(&r);
        }
    }
    /* Statistics in a cluster mode: refused, and no file made (one was
     * created empty, never written). */
    {
        char *js = temp_path(".json");
        unlink(js);
        assert_int_equal(tu_runl(&r, 30, "--instance", "a:0", "--rendezvous",
                                 "tcp://127.0.0.1:1", "--stats-json", js, graph,
                                 NULL),
                         2);
        tu_assert_contains(r.err, "flowrun: error: --stats-json: statistics "
                                  "are gathered by local runs only");
        assert_int_equal(access(js, F_OK), -1);
        tu_result_release(&r);
        assert_int_equal(
            tu_runl(&r, 30, "--rendezvous-only", "--stats", graph, NULL), 2);
        tu_assert_contains(r.err, "flowrun: error: --stats: statistics are "
                                  "gathered by local runs only");
        assert_int_equal(r.outlen, 0);
        tu_result_release(&r);
        free(js);
    }

    /* What flowrun prints itself cannot be written (a full disk): exit 1,
     * saying so, not 0. */
    if (access("/dev/full", W_OK) == 0) {
        static const char *const what[] = { "--version", "--help",
                                            "--list-nodes",
                                            "--describe collect" };
        for (size_t i = 0; i < sizeof(what) / sizeof(*what); i++) {
            char *errf = temp_path(".err"), cmd[1024], *e;
            int st;
            snprintf(cmd, sizeof(cmd), "'%s' %s >/dev/full 2>'%s'",
                     tu_flowrun(), what[i], errf);
            st = system(cmd);
            e = read_file(errf);
            assert_non_null(e);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
                print_message("%s: status %d\n%s\n", what[i], st, e);
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
            tu_assert_contains(e, "flowrun: error: cannot write to standard "
                                  "output: No space left on device\n");
            free(e);
            unlink(errf);
            free(errf);
        }
    }

    /* The --stats table, on a standard error that cannot take it: exit 1,
     * the graph's output complete (it was 0, the table lost unsaid). */
    if (access("/dev/full", W_OK) == 0) {
        char *outf = temp_path(".out"), cmd[1024], *o;
        int st;
        snprintf(cmd, sizeof(cmd), "'%s' --stats '%s' >'%s' 2>/dev/full",
                 tu_flowrun(), graph, outf);
        st = system(cmd);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 1);
        o = read_file(outf);
        assert_non_null(o);
        assert_string_equal(o, "2000\n");
        free(o);
        snprintf(cmd, sizeof(cmd), "'%s' '%s' >'%s' 2>/dev/full", tu_flowrun(),
                 graph, outf);
        assert_int_equal(system(cmd), 0); /* no table: nothing lost */
        unlink(outf);
        free(outf);
    }

    /* One file for both reports: the second would overwrite the first. */
    {
        char *same = temp_path(".out");
        assert_int_equal(tu_runl(&r, 30, "--stats-json", same, "--dot-stats",
                                 same, graph, NULL),
                         2);
        assert_string_equal(r.out, "");
        tu_assert_contains(r.err, "flowrun: error: --dot-stats '");
        tu_assert_contains(r.err, "' is also written by --stats-json '");
        tu_result_release(&r);
        /* Spelt two ways, not there yet: the same file all the same. */
        {
            char alias[512];
            assert_int_equal(strncmp(same, "/tmp/", 5), 0);
            snprintf(alias, sizeof(alias), "/tmp/./%s", same + 5);
            unlink(same);
            assert_int_equal(tu_runl(&r, 30, "--stats-json", same,
                                     "--dot-stats", alias, graph, NULL),
                             2);
            tu_assert_contains(r.err, "' is also written by --stats-json '");
            tu_result_release(&r);
            assert_int_equal(access(same, F_OK), -1); /* nothing made */
        }
        unlink(same);
        free(same);
    }

    /* A counter file that cannot be written: a usage error before the run
     * when its directory is missing; exit 1 after the run (its output
     * complete) when the writing fails. */
    for (int i = 0; i < 2; i++) {
        const char *opt = i ? "--dot-stats" : "--stats-json";
        assert_int_equal(tu_runl(&r, 30, opt, "/nonexistent/s", graph, NULL),
                         2);
        assert_string_equal(r.out, "");
        tu_assert_contains(r.err, "flowrun: error: cannot write "
                                  "'/nonexistent/s': No such file or "
                                  "directory\n");
        tu_result_release(&r);
        /* A directory, or the graph file itself: refused before the run
         * (a directory failed after it; the graph file was replaced). */
        assert_int_equal(tu_runl(&r, 30, opt, "/tmp", graph, NULL), 2);
        assert_string_equal(r.out, "");
        tu_assert_contains(r.err, "' is a directory: give a file name\n");
        tu_result_release(&r);
        /* "-" is no file named "-" here (one was written). */
        assert_int_equal(tu_runl(&r, 30, opt, "-", graph, NULL), 2);
        assert_string_equal(r.out, "");
        tu_assert_contains(r.err, " -: standard output carries the graph's "
                                  "output; give a file name (/dev/stderr "
                                  "for standard error)\n");
        assert_int_equal(access("-", F_OK), -1);
        tu_result_release(&r);
        {
            struct stat before, after;
            assert_int_equal(stat(graph, &before), 0);
            assert_int_equal(tu_runl(&r, 30, opt, graph, graph, NULL), 2);
            assert_string_equal(r.out, "");
            tu_assert_contains(r.err, "' is the graph file: writing there "
                                      "would replace the graph\n");
            tu_result_release(&r);
            /* --check says so too (it said the graph was valid). */
            assert_int_equal(
                tu_runl(&r, 30, "--check", opt, graph, graph, NULL), 2);
            tu_assert_contains(r.err, "' is the graph file");
            tu_result_release(&r);
            assert_int_equal(stat(graph, &after), 0);
            assert_int_equal(before.st_size, after.st_size);
            assert_int_equal(before.st_mtime, after.st_mtime);
        }
        if (access("/dev/full", W_OK) == 0) {
            assert_int_equal(tu_runl(&r, 30, opt, "/dev/full", graph, NULL), 1);
            assert_string_equal(r.out, "2000\n");
            tu_assert_contains(r.err,
                               "flowrun: error: cannot write '/dev/full': "
                               "No space left on device\n");
            tu_result_release(&r);
        }
    }
    unlink(graph);
    free(graph);
}

/*
 * --quiet silences the nodes' log lines too, not only flowrun's, unless
 * --log-level asks for them; --log-level error alone does as before.
 * Fixture quitearly takes 7 of range's messages and returns: the framework
 * discards the rest with a warning, the only line of a successful run.
 */
static void
test_observe_quiet_nodes(void **unused)
{
    static const struct {
        const char *opt1, *opt2;
        bool warned;
    } cases[] = {
        { NULL, NULL, true },
        { "--quiet", NULL, false },
        { "--log-level", "error", false },
        { "--quiet", "--log-level=warning", true },
        { "--log-level=info", "--quiet", true },
    };
    const char *text = "[graph]\nname = head\n"
                       "[src]\ntype = range\ncount = 3000\n"
                       "[h]\ntype = quitearly\ntake = 7\n"
                       "[links]\npush = src.out -> h.in batch=10 hwm=2\n";

    (void)unused;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        tu_result_t r;
        int status =
            tu_run_graph(&r, 60, text, "--plugin-path", FLOW_FIXTURE_PLUGIN_DIR,
                         "--no-progress", cases[i].opt1, cases[i].opt2, NULL);
        if (status != 0 ||
            (strstr(r.err, "warning: discarded ") != NULL) != cases[i].warned ||
            (!cases[i].warned && r.err[0])) {
            fprintf(stderr, "%s %s: exit %d, stderr:\n%s\n",
                    cases[i].opt1 ? cases[i].opt1 : "(none)",
                    cases[i].opt2 ? cases[i].opt2 : "", status, r.err);
            fail();
        }
        tu_result_release(&r);
    }
}

/*
 * The stderr relay passes on every byte a node writes, in lines of at most
 * PIPE_BUF bytes (4 KiB) with the "node[i] (pid P) " prefix, each one write
 * that no other writer to the same pipe can cut: a line written in pieces that
 * arrive apart, a line longer than 4 KiB, and a long stream of small
 * writes without a newline (fixture chatter: byte i is 'a' + i % 26). The
 * oracle rebuilds the stream from the relayed lines.
 */
static void
test_observe_stderr_relay(void **unused)
{
    static const struct {
        const char *bytes, *chunk, *pause_ms;
    } cases[] = {
        { "6000", "3000", "50" }, /* one line in two writes that arrive apart */
        { "10000", "10000", "0" }, /* one write of more than 4 KiB */
        { "31000", "31", "1" },    /* a thousand writes, no newline till last */
    };

    (void)unused;
    for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
        char text[512], prefix[64];
        tu_result_t r;
        long want = atol(cases[c].bytes), got = 0, lines = 0;

        snprintf(text, sizeof(text),
                 "[graph]\nname = relay\n"
                 "[talk]\ntype = chatter\nbytes = %s\nchunk = %s\n"
                 "pause_ms = %s\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npush = talk.out -> out.in\n",
                 cases[c].bytes, cases[c].chunk, cases[c].pause_ms);
        assert_int_equal(tu_run_graph(&r, 60, text, "--plugin-path",
                                      FLOW_FIXTURE_PLUGIN_DIR, NULL),
                         0);
        assert_string_equal(r.out, "0\n");
        for (char *line = r.err, *nl; *line; line = nl + 1) {
            char *body;
            long pid;

            nl = strchr(line, '\n');
            assert_non_null(nl); /* every relayed line is whole */
            assert_int_equal(sscanf(line, "talk[0] (pid %ld)", &pid), 1);
            snprintf(prefix, sizeof(prefix), "talk[0] (pid %ld) ", pid);
            assert_int_equal(strncmp(line, prefix, strlen(prefix)), 0);
            body = line + strlen(prefix);
            assert_true(nl > body); /* no empty line */
            /* one atomic write: not cut by another writer to a shared pipe */
            assert_true(nl - line + 1 <= PIPE_BUF);
            for (char *b = body; b < nl; b++, got++)
                if (*b != 'a' + got % 26) {
                    fprintf(stderr, "case %zu: byte %ld is '%c'\n%s\n", c, got,
                            *b, r.err);
                    fail();
                }
            lines++;
        }
        assert_int_equal(got, want);
        /* full pieces: each line as long as PIPE_BUF allows */
        long piece = PIPE_BUF - (long)strlen(prefix) - 1;
        assert_int_equal(lines, (want + piece - 1) / piece);
        tu_result_release(&r);
    }
}

/*
 * A node's grandchild that keeps the stderr pipe open (fixture chatter's
 * linger_ms) delays the end of the run by a second in all, not a second
 * per instance, and what it wrote without a newline is passed on, not
 * dropped; it is killed with the run's process group (no orphan).
 */
static void
test_observe_stderr_held(void **unused)
{
    static const char text[] = "[graph]\nname = held\n"
                               "[talk]\ntype = chatter\nbytes = 10\n"
                               "linger_ms = 20000\ninstances = 4\n"
                               "[out]\ntype = collect\nmode = count\n"
                               "[links]\npush = talk.out -> out.in\n";
    tu_result_t r;
    double t0 = tu_now_s();

    (void)unused;
    assert_int_equal(tu_run_graph(&r, 60, text, "--plugin-path",
                                  FLOW_FIXTURE_PLUGIN_DIR, NULL),
                     0);
    double took = tu_now_s() - t0;
    assert_string_equal(r.out, "0\n");
    for (unsigned i = 0; i < 4; i++) {
        char want[64], *at, *end;
        long node_pid, held_pid;

        snprintf(want, sizeof(want), "talk[%u] (pid ", i);
        at = strstr(r.err, want);
        assert_non_null(at);       /* the letters' line */
        at = strstr(at + 1, want); /* the grandchild's line */
        if (!at)
            fail_msg("no line of the grandchild of talk[%u]:\n%s", i, r.err);
        assert_int_equal(
            sscanf(at + strlen(want), "%ld) held by %ld", &node_pid, &held_pid),
            2);
        end = strchr(at, '\n');
        assert_non_null(end);
        /* Gone: killed with the run, not left behind (a zombie until
         * init reaps it, at most). */
        char path[64], stat[256] = "";
        snprintf(path, sizeof(path), "/proc/%ld/stat", held_pid);
        for (int tries = 0; tries < 100; tries++) {
            FILE *f = fopen(path, "r");
            stat[0] = '\0';
            if (f) {
                if (!fgets(stat, sizeof(stat), f))
                    stat[0] = '\0';
                fclose(f);
            }
            char *rp = strrchr(stat, ')');
            if (!f || (rp && rp[1] == ' ' && rp[2] == 'Z'))
                break;
            nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
            stat[0] = '\0';
        }
        if (stat[0]) {
            char *rp = strrchr(stat, ')');
            if (!rp || rp[2] != 'Z')
                fail_msg("grandchild %ld still alive: %s", held_pid, stat);
        }
    }
    /* Four held pipes: one second for all (it was one each). */
    if (took > 3.5) /* it took 4 s and more */
        fail_msg("the run took %.2f s", took);
    tu_result_release(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observe_json_parser),
        cmocka_unit_test(test_observe_options),
        cmocka_unit_test(test_observe_dot_renders),
        cmocka_unit_test(test_observe_dot_content),
        cmocka_unit_test(test_observe_dot_stats_counts),
        cmocka_unit_test(test_observe_stats_many_ports),
        cmocka_unit_test(test_observe_dot_stats_pair),
        cmocka_unit_test(test_observe_stats_table),
        cmocka_unit_test(test_observe_stats_table_window),
        cmocka_unit_test(test_observe_stats_json),
        cmocka_unit_test(test_observe_push_counts_both_ways),
        cmocka_unit_test(test_observe_stats_env_off),
        cmocka_unit_test(test_observe_stats_env_off_no_default_progress),
        cmocka_unit_test(test_observe_round_robin),
        cmocka_unit_test(test_observe_stats_pid_of_failed_start),
        cmocka_unit_test(test_observe_stats_waits),
        cmocka_unit_test(test_observe_stats_add_up),
        cmocka_unit_test(test_observe_stats_stopped),
        cmocka_unit_test(test_observe_stats_json_not_utf8),
        cmocka_unit_test(test_observe_stats_to_std_file),
        cmocka_unit_test(test_observe_progress_tty),
        cmocka_unit_test(test_observe_progress_pager),
        cmocka_unit_test(test_observe_progress_narrow),
        cmocka_unit_test(test_observe_progress_piped),
        cmocka_unit_test(test_observe_progress_busiest_now),
        cmocka_unit_test(test_observe_progress_pair),
        cmocka_unit_test(test_observe_quiet_nodes),
        cmocka_unit_test(test_observe_stderr_relay),
        cmocka_unit_test(test_observe_stderr_held),
    };

    tu_watchdog(280);
    return cmocka_run_group_tests_name("observe", tests, NULL, NULL);
}
