/* SPDX-License-Identifier: MIT */
/*
 * test_plugins.c: loading node plugins from outside the plugin directory.
 * The fixtures of tests/fixtures/nodes/ (FLOW_FIXTURE_PLUGIN_DIR) are broken
 * on purpose, one way each; flowrun must refuse each with exit 2 and a
 * message naming the plugin file and the problem, also when a graph uses
 * it. The good fixture must load from --plugin-path and FLOW_PLUGIN_PATH
 * and run in a graph, and nothing may be loaded from the current directory
 * unless asked for.
 */
#include <limits.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "flow/graph.h"
#include "flow/version.h"
#include "testutil.h"

#ifndef FLOW_FIXTURE_PLUGIN_DIR
#error "FLOW_FIXTURE_PLUGIN_DIR must name the fixture plugin directory"
#endif

static const char fixture_dir[] = FLOW_FIXTURE_PLUGIN_DIR;

/* FLOW_FIXTURE_PLUGIN_DIR/stem.so in a static buffer. */
static const char *
fixture(const char *stem)
{
    static char buf[PATH_MAX];

    snprintf(buf, sizeof(buf), "%s/%s.so", fixture_dir, stem);
    return buf;
}

/* One broken fixture and what its error must say besides its path. */
typedef struct broken {
    const char *stem;
    const char *why[3];
} broken_t;

static broken_t broken[] = {
    { "badabi", { "plugin ABI ", ", this flow needs ", NULL } },
    { "noentry", { "'flow_node_entry'", NULL } },
    { "wrongname", { "'othername'", "'wrongname.so'", NULL } },
    { "baddefault", { "default '5000'", "parameter 'level'", "range" } },
    { "dupport", { "duplicate port 'in'", NULL } },
    { "runprocess", { "exactly one of run and process", NULL } },
    { "smallstruct", { "descriptor size", "smaller", NULL } },
    { "undefsym", { "cannot load plugin", "fixture_missing_function", NULL } },
    { "notelf", { "cannot load plugin", NULL } },
};

/* --describe of each broken fixture: exit 2, the file and the reason. */
static void
test_plugins_describe_broken(void **unused)
{
    char abi[64];

    (void)unused;
    snprintf(abi, sizeof(abi), "plugin ABI %d, this flow needs %d",
             FLOW_NODE_ABI + 1, FLOW_NODE_ABI);
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        const broken_t *b = &broken[i];
        char head[PATH_MAX + 64];
        tu_result_t r;

        assert_int_equal(tu_runl(&r, 30, "--plugin-path", fixture_dir,
                                 "--describe", b->stem, NULL),
                         2);
        snprintf(head, sizeof(head), "flowrun: error: %s: ", fixture(b->stem));
        tu_assert_contains(r.err, head);
        for (size_t k = 0; k < 3 && b->why[k]; k++)
            tu_assert_contains(r.err, b->why[k]);
        if (!strcmp(b->stem, "badabi"))
            tu_assert_contains(r.err, abi);
        assert_int_equal(r.outlen, 0);
        tu_result_release(&r);
    }
}

/* A graph using a broken type fails --check (and a run) at the graph's
 * type line, naming the plugin file and the reason. */
static void
test_plugins_graph_broken(void **unused)
{
    (void)unused;
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        const broken_t *b = &broken[i];
        char text[512], head[PATH_MAX + 128], plugin[PATH_MAX + 8];
        char *path;
        tu_result_t r;

        snprintf(text, sizeof(text),
                 "; uses the broken fixture %s\n"
                 "[src]\ntype = range\ncount = 10\n"
                 "[bad]\ntype = %s\n"
                 "[out]\ntype = collect\n"
                 "[links]\npush = src.out -> bad.in\n"
                 "push = bad.out -> out.in\n",
                 b->stem, b->stem);
        path = tu_temp_file(text);
        snprintf(head, sizeof(head), "%s:6: node type '%s' for node 'bad'",
                 path, b->stem);
        snprintf(plugin, sizeof(plugin), "%s: ", fixture(b->stem));

        assert_int_equal(tu_runl(&r, 30, "--plugin-path", fixture_dir,
                                 "--check", path, NULL),
                         2);
        tu_assert_contains(r.err, head);
        tu_assert_contains(r.err, plugin);
        tu_assert_contains(r.err, b->why[0]);
        tu_result_release(&r);

        assert_int_equal(
            tu_runl(&r, 30, "--plugin-path", fixture_dir, path, NULL), 2);
        tu_assert_contains(r.err, head);
        tu_assert_contains(r.err, plugin);
        assert_int_equal(r.outlen, 0);
        tu_result_release(&r);
        unlink(path);
        free(path);
    }
}

/* Run range -> fixture_ok -> collect with `extra` node keys and check every
 * number against x * factor + add, in order. */
static void
run_fixture_ok(bool env, const char *extra, int64_t factor, int64_t add)
{
    const int64_t start = -50, count = 5000;
    char text[1024];
    char *path;
    char **lines;
    size_t n;
    tu_result_t r;

    snprintf(text, sizeof(text),
             "[src]\ntype = range\nstart = %lld\ncount = %lld\n"
             "[mul]\ntype = fixture_ok\ninstances = 2\n%s"
             "[out]\ntype = collect\norder = input\n"
             "[links]\npush = src.out -> mul.in batch=64\n"
             "push = mul.out -> out.in\n",
             (long long)start, (long long)count, extra);
    path = tu_temp_file(text);
    if (env) {
        setenv("FLOW_PLUGIN_PATH", fixture_dir, 1);
        assert_int_equal(tu_runl(&r, 60, path, NULL), 0);
        unsetenv("FLOW_PLUGIN_PATH");
    } else {
        assert_int_equal(
            tu_runl(&r, 60, "--plugin-path", fixture_dir, path, NULL), 0);
    }
    lines = tu_lines(r.out, &n);
    assert_int_equal(n, (size_t)count);
    for (int64_t i = 0; i < count; i++) {
        char *end;
        long long v = strtoll(lines[i], &end, 10);

        assert_true(*lines[i] && !*end);
        assert_int_equal(v, (start + i) * factor + add);
    }
    free(lines);
    tu_result_release(&r);
    unlink(path);
    free(path);
}

/* A plugin of the first descriptor layout (before `check`) loads and runs;
 * the check its struct seems to have is not called (it would refuse). */
static void
test_plugins_first_layout(void **unused)
{
    char *path = tu_temp_file("[o]\ntype = oldlayout\n"
                              "[c]\ntype = collect\n"
                              "[links]\npush = o.out -> c.in\n");
    tu_result_t r;

    (void)unused;
    for (int run = 0; run < 2; run++) {
        int status = tu_runl(&r, 30, "--plugin-path", fixture_dir, path,
                             run ? NULL : "--check", NULL);
        if (status != 0)
            fprintf(stderr, "%s\n", r.err);
        assert_int_equal(status, 0);
        if (run)
            assert_string_equal(r.out, "7\n");
        tu_result_release(&r);
    }
    unlink(path);
    free(path);
}

/* The good fixture: described and run from --plugin-path; a --plugin-path
 * that is not a directory is a usage error. */
static void
test_plugins_good_plugin_path(void **unused)
{
    tu_result_t r;

    (void)unused;
    unsetenv("FLOW_PLUGIN_PATH");
    assert_int_equal(tu_runl(&r, 30, "--plugin-path", fixture_dir, "--describe",
                             "fixture_ok", NULL),
                     0);
    tu_assert_contains(r.out, "fixture_ok: Test fixture: multiply and add");
    tu_assert_contains(r.out, "factor");
    assert_int_equal(r.errlen, 0);
    tu_result_release(&r);
    run_fixture_ok(false, "factor = -4\nadd = 9\n", -4, 9);

    /* A directory named on purpose must be one (FLOW_PLUGIN_PATH's missing
     * entries are skipped, as PATH's are). */
    assert_int_equal(tu_runl(&r, 30, "--plugin-path", "/nonexistent/flow",
                             "--list-nodes", NULL),
                     2);
    assert_string_equal(r.err, "flowrun: error: --plugin-path "
                               "'/nonexistent/flow': No such file or "
                               "directory\n");
    assert_int_equal(r.outlen, 0);
    tu_result_release(&r);
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", "/dev/null", "--list-nodes", NULL), 2);
    assert_string_equal(r.err, "flowrun: error: --plugin-path '/dev/null': "
                               "not a directory\n");
    tu_result_release(&r);

    /* Up to 64 of them (a Slurm run passes every one on to its tasks; a
     * 65th was dropped there without a word): the fixture still found at
     * the last place; one more is a usage error. */
    const char *args[2 * 65 + 4];
    for (int n = 64; n <= 65; n++) {
        size_t k = 0;
        for (int i = 0; i < n; i++) {
            args[k++] = "--plugin-path";
            args[k++] = i == n - 1 ? fixture_dir : "/tmp";
        }
        args[k++] = "--describe";
        args[k++] = "fixture_ok";
        args[k] = NULL;
        if (n == 64) {
            assert_int_equal(tu_run(&r, 30, args), 0);
            tu_assert_contains(r.out, "fixture_ok: Test fixture");
        } else {
            assert_int_equal(tu_run(&r, 30, args), 2);
            assert_string_equal(r.err, "flowrun: error: too many "
                                       "--plugin-path (at most 64)\n");
        }
        tu_result_release(&r);
    }
}

/* The good fixture: described and run from FLOW_PLUGIN_PATH, also as a
 * later element of a list with empty elements. */
static void
test_plugins_good_env(void **unused)
{
    char list[PATH_MAX + 64];
    tu_result_t r;

    (void)unused;
    snprintf(list, sizeof(list), "/nonexistent-flow-dir::%s:", fixture_dir);
    setenv("FLOW_PLUGIN_PATH", list, 1);
    assert_int_equal(tu_runl(&r, 30, "--describe", "fixture_ok", NULL), 0);
    tu_assert_contains(r.out, "fixture_ok: Test fixture: multiply and add");
    tu_result_release(&r);
    unsetenv("FLOW_PLUGIN_PATH");
    run_fixture_ok(true, "", 3, 7);
}

/* A --plugin-path full of broken fixtures does not hide the built-in
 * types, which are searched after it. */
static void
test_plugins_builtin_still_found(void **unused)
{
    tu_result_t r;

    (void)unused;
    assert_int_equal(tu_runl(&r, 30, "--plugin-path", fixture_dir, "--describe",
                             "range", NULL),
                     0);
    tu_assert_contains(r.out, "range:");
    tu_result_release(&r);
}

/* --list-nodes: the good fixture and the built-in nodes are listed with
 * where they come from, and every broken fixture is reported, one line
 * each with its reason, with exit 2 (it said only the first: fixing them
 * took a run each). */
static void
test_plugins_list_nodes(void **unused)
{
    char origin[PATH_MAX + 8], prefix[PATH_MAX + 32];
    const char *e;
    tu_result_t r;
    bool named = false;

    (void)unused;
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", fixture_dir, "--list-nodes", NULL), 2);
    tu_assert_contains(r.out, "fixture_ok");
    tu_assert_contains(r.out, "ctormark");
    snprintf(origin, sizeof(origin), "(%s)", fixture("fixture_ok"));
    tu_assert_contains(r.out, origin);
    tu_assert_contains(r.out, "range");
    tu_assert_contains(r.out, "collect");
    /* No broken fixture is listed as a node. */
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        char line[128];

        snprintf(line, sizeof(line), "\n%s ", broken[i].stem);
        assert_null(strstr(r.out, line));
        assert_false(!strncmp(r.out, line + 1, strlen(line + 1)));
    }
    /* One error line per broken fixture file, each with its reason. */
    size_t lines = 0;
    snprintf(prefix, sizeof(prefix), "flowrun: error: %s/", fixture_dir);
    for (const char *l = r.err; *l; l = e + 1) {
        e = strchr(l, '\n');
        assert_non_null(e);
        assert_true(!strncmp(l, prefix, strlen(prefix)));
        lines++;
    }
    assert_int_equal(lines, sizeof(broken) / sizeof(broken[0]));
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        char head[PATH_MAX + 64];
        const char *at;

        snprintf(head, sizeof(head),
                 "\nflowrun: error: %s: ", fixture(broken[i].stem));
        at = !strncmp(r.err, head + 1, strlen(head + 1)) ? r.err
                                                         : strstr(r.err, head);
        named = at != NULL;
        if (!named)
            fprintf(stderr, "%s not named in:\n%s", broken[i].stem, r.err);
        assert_true(named);
        e = strchr(at + 1, '\n');
        for (size_t k = 0; k < 3 && broken[i].why[k]; k++) {
            const char *sub = strstr(at, broken[i].why[k]);
            assert_true(sub && sub < e);
        }
    }
    tu_result_release(&r);
}

/* Whether the --list-nodes output `out` lists node type `type`, from a file
 * whose path ends in `origin_end` (NULL: any). */
static bool
lists_type(const char *out, const char *type, const char *origin_end)
{
    size_t tlen = strlen(type), olen = origin_end ? strlen(origin_end) : 0;

    for (const char *l = out; *l;) {
        const char *e = strchr(l, '\n');
        const char *o;

        if (!e)
            return false;
        /* "type   summary\n               (origin)\n" */
        if (!strncmp(l, type, tlen) && l[tlen] == ' ') {
            o = strchr(e + 1, '\n');
            return !origin_end ||
                   (o && (size_t)(o - (e + 1)) > olen &&
                    !strncmp(o - 1 - olen, origin_end, olen) && o[-1] == ')');
        }
        l = e + 1;
    }
    return false;
}

/* Make `dir`/`file` (its path into `link`) a link to plugin `target`. */
static void
place_plugin(const char *dir, const char *file, const char *target, char *link,
             size_t size)
{
    snprintf(link, size, "%s/%s", dir, file);
    assert_int_equal(symlink(target, link), 0);
}

/* --list-nodes with `dir` first on the path: exit 2, its only error line
 * `want`; the listing into `r` (released by the caller). */
static void
list_refusing(tu_result_t *r, const char *dir, const char *want)
{
    assert_int_equal(tu_runl(r, 30, "--plugin-path", dir, "--list-nodes", NULL),
                     2);
    assert_string_equal(r->err, want);
}

/*
 * A misnamed plugin that shadows another: the file NAME.so of the first
 * directory that has one is the plugin of type NAME for --list-nodes,
 * --describe, --check and a run alike. A range.so ahead of the built-in
 * one that declares another type (fixture_ok) is an error naming it for
 * all four, not a hidden file for --list-nodes, which listed the built-in
 * range that a run refused. The reverse, oddname.so declaring range ahead
 * of the built-in range.so, is an error naming it, and the built-in range
 * is used by all four.
 */
static void
test_plugins_misnamed_shadow(void **unused)
{
    char tmpl[] = "/tmp/flow-test-shadow-XXXXXX";
    char *dir = mkdtemp(tmpl);
    char link[PATH_MAX], builtin[PATH_MAX], want[PATH_MAX + 128];
    char *graph = tu_temp_file("[src]\ntype = range\ncount = 3\n"
                               "[out]\ntype = collect\n"
                               "[links]\npush = src.out -> out.in\n");
    tu_result_t r;

    (void)unused;
    unsetenv("FLOW_PLUGIN_PATH");
    assert_non_null(dir);

    /* range.so declares fixture_ok. */
    place_plugin(dir, "range.so", fixture("fixture_ok"), link, sizeof(link));
    snprintf(want, sizeof(want),
             "flowrun: error: %s: plugin defines node 'fixture_ok' but its "
             "file is named 'range.so'\n",
             link);
    list_refusing(&r, dir, want);
    assert_false(lists_type(r.out, "range", NULL));
    assert_true(lists_type(r.out, "collect", "/collect.so"));
    tu_result_release(&r);
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", dir, "--describe", "range", NULL), 2);
    assert_string_equal(r.err, want);
    assert_int_equal(r.outlen, 0);
    tu_result_release(&r);
    for (int run = 0; run < 2; run++) {
        assert_int_equal(tu_runl(&r, 30, "--plugin-path", dir, graph,
                                 run ? NULL : "--check", NULL),
                         2);
        tu_assert_contains(r.err, "node type 'range' for node 'src'");
        tu_assert_contains(r.err, want + strlen("flowrun: error: "));
        assert_int_equal(r.outlen, 0);
        tu_result_release(&r);
    }
    assert_int_equal(unlink(link), 0);

    /* oddname.so declares range: the built-in range.so is used. */
    snprintf(builtin, sizeof(builtin), "%s/range.so", tu_plugin_dir());
    place_plugin(dir, "oddname.so", builtin, link, sizeof(link));
    snprintf(want, sizeof(want),
             "flowrun: error: %s: plugin defines node 'range' but its "
             "file is named 'oddname.so'\n",
             link);
    list_refusing(&r, dir, want);
    assert_true(lists_type(r.out, "range", "/range.so"));
    assert_false(lists_type(r.out, "oddname", NULL));
    assert_null(strstr(r.out, link));
    tu_result_release(&r);
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", dir, "--describe", "oddname", NULL),
        2);
    assert_string_equal(r.err, want);
    tu_result_release(&r);
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", dir, "--describe", "range", NULL), 0);
    tu_assert_contains(r.out, "range:");
    tu_result_release(&r);
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", dir, "--check", graph, NULL), 0);
    tu_result_release(&r);
    assert_int_equal(tu_runl(&r, 30, "--plugin-path", dir, graph, NULL), 0);
    assert_string_equal(r.out, "0\n1\n2\n");
    tu_result_release(&r);
    assert_int_equal(unlink(link), 0);

    /* my-node.so: no type a run could look up (it listed what it
     * declared, or failed to say why not). */
    place_plugin(dir, "my-node.so", fixture("fixture_ok"), link, sizeof(link));
    snprintf(want, sizeof(want),
             "flowrun: error: %s: not loaded: 'my-node' cannot be a node "
             "type (one word of letters, digits and _, at most 128 "
             "characters)\n",
             link);
    list_refusing(&r, dir, want);
    assert_false(lists_type(r.out, "fixture_ok", NULL));
    assert_true(lists_type(r.out, "range", "/range.so"));
    tu_result_release(&r);
    assert_int_equal(unlink(link), 0);

    assert_int_equal(rmdir(dir), 0);
    unlink(graph);
    free(graph);
}

/* A plugin that crashes as it is loaded (fixture ctorcrash: its
 * constructor aborts) cannot be survived, but it is named: flowrun dies of
 * the plugin's signal, having said which plugin (it said only "Aborted"),
 * for --describe, --list-nodes and a graph. */
static void
test_plugins_crash_on_load(void **unused)
{
    char dir[PATH_MAX], want[PATH_MAX + 128];
    char *graph = tu_temp_file("[c]\ntype = ctorcrash\n");
    tu_result_t r;

    (void)unused;
    snprintf(dir, sizeof(dir), "%s-crash", fixture_dir);
    snprintf(want, sizeof(want),
             "flowrun: error: %s/ctorcrash.so: crashed while being loaded (in "
             "its constructors, or reading its descriptor): SIGABRT\n",
             dir);
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", dir, "--describe", "ctorcrash", NULL),
        128 + SIGABRT);
    tu_assert_contains(r.err, want);
    tu_result_release(&r);
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", dir, "--list-nodes", NULL),
        128 + SIGABRT);
    tu_assert_contains(r.err, want);
    tu_result_release(&r);
    assert_int_equal(
        tu_runl(&r, 30, "--plugin-path", dir, "--check", graph, NULL),
        128 + SIGABRT);
    tu_assert_contains(r.err, want);
    tu_result_release(&r);
    unlink(graph);
    free(graph);
}

/* Without --plugin-path, a plugin in the current directory is not found,
 * not even dlopen'ed (its constructor would run), also with an empty
 * FLOW_PLUGIN_PATH or one with only empty elements. */
static void
test_plugins_no_implicit_cwd(void **unused)
{
    static const char *const envs[] = { NULL, "", ":", "::" };
    char cwd[PATH_MAX], mark[] = "/tmp/flow-test-mark-XXXXXX";
    int fd = mkstemp(mark);

    (void)unused;
    assert_true(fd >= 0);
    close(fd);
    unlink(mark);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(fixture_dir), 0);
    setenv("FLOW_FIXTURE_MARK", mark, 1);
    for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
        static const char *const types[] = { "fixture_ok", "ctormark" };
        char *graph;
        tu_result_t r;

        if (envs[i])
            setenv("FLOW_PLUGIN_PATH", envs[i], 1);
        else
            unsetenv("FLOW_PLUGIN_PATH");
        for (size_t k = 0; k < 2; k++) {
            char want[128];

            snprintf(want, sizeof(want), "unknown node type '%s'", types[k]);
            assert_int_equal(tu_runl(&r, 30, "--describe", types[k], NULL), 2);
            tu_assert_contains(r.err, want);
            tu_result_release(&r);
        }
        graph = tu_temp_file("[m]\ntype = ctormark\n");
        assert_int_equal(tu_runl(&r, 30, "--check", graph, NULL), 2);
        tu_assert_contains(r.err, "unknown node type 'ctormark'");
        tu_result_release(&r);
        unlink(graph);
        free(graph);
    }
    unsetenv("FLOW_PLUGIN_PATH");
    assert_int_equal(access(mark, F_OK), -1);

    /* The mark works: an explicit "." does load it. */
    {
        tu_result_t r;

        assert_int_equal(tu_runl(&r, 30, "--plugin-path", ".", "--describe",
                                 "ctormark", NULL),
                         0);
        tu_result_release(&r);
        assert_int_equal(access(mark, F_OK), 0);
        unlink(mark);
    }
    unsetenv("FLOW_FIXTURE_MARK");
    assert_int_equal(chdir(cwd), 0);
}

/* A type is a name, not a path: "../x" must not reach dlopen, from
 * --describe or from a graph, even when "x.so" is a good plugin. */
static void
test_plugins_type_not_a_path(void **unused)
{
    static const char *const types[] = { "../plugins/ctormark", "./ctormark" };
    char mark[] = "/tmp/flow-test-mark-XXXXXX";
    int fd = mkstemp(mark);

    (void)unused;
    assert_true(fd >= 0);
    close(fd);
    unlink(mark);
    setenv("FLOW_FIXTURE_MARK", mark, 1);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char text[256];
        char *graph;
        tu_result_t r;

        assert_int_equal(tu_runl(&r, 30, "--plugin-path", fixture_dir,
                                 "--describe", types[i], NULL),
                         2);
        tu_result_release(&r);
        snprintf(text, sizeof(text), "[m]\ntype = %s\n", types[i]);
        graph = tu_temp_file(text);
        assert_int_equal(tu_runl(&r, 30, "--plugin-path", fixture_dir,
                                 "--check", graph, NULL),
                         2);
        tu_assert_contains(r.err, ":2: ");
        tu_result_release(&r);
        unlink(graph);
        free(graph);
        if (access(mark, F_OK) == 0) {
            unlink(mark);
            print_error("type '%s' dlopen'ed %s\n", types[i],
                        fixture("ctormark"));
            fail();
        }
    }
    unsetenv("FLOW_FIXTURE_MARK");
}

/* flow_node_send_i64s through real sockets (fixture sendi64s): every
 * number arrives once, in sequence order through two jitter instances;
 * a words port or too many items fail the node, named. */
static void
test_plugins_send_i64s(void **unused)
{
    static const char *const why[] = {
        NULL, "send of a int64 message on port 'words', which carries words",
        "send of 4294967296 items on port 'nums': more than a message holds"
    };
    const int messages = 500, batch = 3;

    (void)unused;
    for (int misuse = 0; misuse < 3; misuse++) {
        char text[1024], **lines;
        size_t n;
        tu_result_t r;

        snprintf(text, sizeof(text),
                 "[src]\ntype = sendi64s\nmessages = %d\nbatch = %d\n"
                 "misuse = %d\n"
                 "[mid]\ntype = jitter\ninstances = 2\nmax_us = 200\n"
                 "[nums]\ntype = collect\norder = input\n"
                 "[words]\ntype = collect\n"
                 "[links]\npush = src.nums -> mid.in hwm=2\n"
                 "push = mid.out -> nums.in\npush = src.words -> words.in\n",
                 messages, batch, misuse);
        assert_int_equal(
            tu_run_graph(&r, 60, text, "--plugin-path", fixture_dir, NULL),
            misuse ? 1 : 0);
        if (misuse) {
            tu_assert_contains(r.err, why[misuse]);
            tu_assert_contains(r.err, "node 'src' instance 0");
        } else {
            lines = tu_lines(r.out, &n);
            assert_int_equal(n, (size_t)(messages * batch));
            for (size_t i = 0; i < n; i++) {
                char *end;
                long long v = strtoll(lines[i], &end, 10);

                assert_true(*lines[i] && !*end);
                assert_int_equal(v, (long long)i);
            }
            free(lines);
        }
        tu_result_release(&r);
    }
}

/* A FLOW_SAME port carries the type its links give it, at run time too:
 * fixture retype sends words, which a words stream allows and an int64
 * stream does not (the node fails, naming the port and the type). */
static void
test_plugins_same_type_enforced(void **unused)
{
    static const char *const sources[] = { "words\ncount = 7", "range" };
    tu_result_t d;

    (void)unused;
    /* --describe names the type of such a port "same", as the docs say. */
    assert_int_equal(tu_runl(&d, 30, "--plugin-path", fixture_dir, "--describe",
                             "retype", NULL),
                     0);
    tu_assert_contains(d.out, "  in           in   same   any messages");
    tu_assert_contains(d.out, "  out          out  same   ");
    tu_result_release(&d);
    for (size_t k = 0; k < 2; k++) {
        char text[512];
        tu_result_t r;

        snprintf(text, sizeof(text),
                 "[src]\ntype = %s\n[re]\ntype = retype\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npush = src.out -> re.in batch=1\n"
                 "push = re.out -> out.in\n",
                 sources[k]);
        assert_int_equal(
            tu_run_graph(&r, 60, text, "--plugin-path", fixture_dir, NULL),
            k ? 1 : 0);
        if (k) {
            tu_assert_contains(r.err, "send of a words message on port "
                                      "'out', which carries int64 (the "
                                      "type its links give it)");
            tu_assert_contains(r.err, "node 're' instance 0");
        } else {
            assert_string_equal(r.out, "7\n");
        }
        tu_result_release(&r);
    }
}

/* An `any` port linked to a typed port carries that port's type at run
 * time: the built-in fault (output `any`) making int64 numbers (emit) into
 * palindromes (input words) fails at fault's send, naming its port and the
 * port that takes words, instead of handing int64 items to a node that
 * declared words (one that trusts its declaration reads NULL from
 * flow_msg_words). Into collect (input `any`) the same numbers go through. */
static void
test_plugins_any_port_typed_by_peer(void **unused)
{
    static const char *const sinks[] = {
        "[out]\ntype = collect\nmode = count\n"
        "[links]\npush = src.out -> f.in\npush = f.out -> out.in\n",
        "[find]\ntype = palindromes\n[out]\ntype = collect\n"
        "[links]\npush = src.out -> f.in\npush = f.out -> find.in\n"
        "push = find.out -> out.in\n",
    };

    (void)unused;
    for (size_t k = 0; k < 2; k++) {
        char text[512];
        tu_result_t r;

        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 0\n"
                 "[f]\ntype = fault\nemit = 10\naction = none\n%s",
                 sinks[k]);
        assert_int_equal(tu_run_graph(&r, 60, text, NULL), k ? 1 : 0);
        if (k) {
            tu_assert_contains(r.err, "send of a int64 message on port "
                                      "'out', which carries words (the "
                                      "type port 'find.in', linked to it, "
                                      "takes)");
            tu_assert_contains(r.err, "node 'f' instance 0");
        } else {
            assert_string_equal(r.out, "10\n");
        }
        tu_result_release(&r);
    }
}

/*
 * A star of pair links: three clients (fixture pairclient, which fails on
 * an answer that is not its question) ask one server, which answers each
 * on the channel its question came from (flow_node_channel): pairserver in
 * run mode, pairecho in process mode. Every number comes back once.
 */
static void
test_plugins_pair_star_answers(void **unused)
{
    static const char *const servers[] = { "pairserver", "pairecho" };
    const long count = 3000;

    (void)unused;
    for (size_t k = 0; k < 2; k++) {
        char text[1024], **lines;
        size_t n;
        tu_result_t r;
        long long sum = 0;

        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = %ld\n"
                 "[cli]\ntype = pairclient\ninstances = 3\n"
                 "[srv]\ntype = %s\n"
                 "[out]\ntype = collect\n"
                 "[links]\npush = src.out -> cli.in batch=7\n"
                 "pair = cli.srv <-> srv.peer\n"
                 "push = cli.out -> out.in\n",
                 count, servers[k]);
        if (tu_run_graph(&r, 60, text, "--plugin-path", fixture_dir, NULL))
            fprintf(stderr, "%s:\n%s\n", servers[k], r.err);
        assert_int_equal(r.status, 0);
        lines = tu_lines(r.out, &n);
        assert_int_equal(n, (size_t)count);
        for (size_t i = 0; i < n; i++)
            sum += strtoll(lines[i], NULL, 10);
        assert_true(sum == (long long)count * (count - 1) / 2);
        free(lines);
        tu_result_release(&r);
    }
}

/*
 * flow_node_hwm: a pair node (fixture pairpipe) keeps as many questions in
 * flight as its link's hwm and reads the answers after (pairecho answers
 * each): with hwm=16 and with the default, which for int64 messages of
 * 1024 items is 2^20 / (24 + 8 * 1024) = 127 (docs/graph-format.md), the
 * 20000 answers all come, in order; its log says the window it used.
 * Control: 20000 questions in flight at once over hwm=16 leave both sides
 * waiting for room (the run ends only at --timeout, 124), so a wrong hwm
 * would hang the first runs too.
 */
static void
test_plugins_pair_hwm_window(void **unused)
{
    static const struct {
        const char *hwm;
        long window, want;
    } runs[] = { { " hwm=16", 0, 16 },
                 { "", 0, (1L << 20) / (24 + 8 * 1024) },
                 { " hwm=16", 20000, 20000 } };
    const long count = 20000;

    (void)unused;
    for (size_t k = 0; k < sizeof(runs) / sizeof(*runs); k++) {
        char text[1024], want[64];
        bool stuck = runs[k].window > 16;
        tu_result_t r;

        snprintf(text, sizeof(text),
                 "[ask]\ntype = pairpipe\ncount = %ld\nwindow = %ld\n"
                 "[echo]\ntype = pairecho\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npair = ask.srv <-> echo.peer%s\n"
                 "push = ask.out -> out.in\n",
                 count, runs[k].window, runs[k].hwm);
        tu_run_graph(&r, 60, text, "--plugin-path", fixture_dir, "--timeout",
                     stuck ? "3" : "50", NULL);
        if (r.status != (stuck ? 124 : 0))
            fprintf(stderr, "run %zu:\n%s\n", k, r.err);
        assert_int_equal(r.status, stuck ? 124 : 0);
        snprintf(want, sizeof(want), "window %ld\n", runs[k].want);
        tu_assert_contains(r.err, want);
        if (stuck)
            tu_assert_contains(r.err, "ask[0] (waiting to send on port 'srv')");
        else
            assert_string_equal(r.out, "20000\n");
        tu_result_release(&r);
    }
}

/*
 * flow_node_hwm on push links, at both ends (fixture hwmsay, between range
 * and collect): the default for int64 messages of `batch` items,
 * 2^20 / (24 + 8 batch) messages, at most 1000 (docs/graph-format.md),
 * or the hwm written, by round robin and by demand alike. A demand link
 * without hwm= said 1 (the credit window it starts with, not the default
 * its window grows to, which node.h promised).
 */
static void
test_plugins_push_hwm(void **unused)
{
    static const struct {
        const char *in, *out;
        long want_in, want_out;
    } runs[] = {
        { "", "", (1L << 20) / (24 + 8 * 1024), (1L << 20) / (24 + 8 * 1024) },
        { " balance=demand", " balance=demand", (1L << 20) / (24 + 8 * 1024),
          (1L << 20) / (24 + 8 * 1024) },
        { " balance=demand batch=100", " balance=demand hwm=5", 1000, 5 },
        { " hwm=7", " batch=300 balance=demand", 7,
          (1L << 20) / (24 + 8 * 300) },
    };

    (void)unused;
    for (size_t k = 0; k < sizeof(runs) / sizeof(*runs); k++) {
        char text[1024], want[64];
        tu_result_t r;

        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = 10\n"
                 "[say]\ntype = hwmsay\n"
                 "[out]\ntype = collect\nmode = count\n"
                 "[links]\npush = src.out -> say.in%s\n"
                 "push = say.out -> out.in%s\n",
                 runs[k].in, runs[k].out);
        tu_run_graph(&r, 60, text, "--plugin-path", fixture_dir, NULL);
        if (r.status != 0)
            fprintf(stderr, "run %zu:\n%s\n", k, r.err);
        assert_int_equal(r.status, 0);
        snprintf(want, sizeof(want), "hwm in %ld\n", runs[k].want_in);
        tu_assert_contains(r.err, want);
        snprintf(want, sizeof(want), "hwm out %ld\n", runs[k].want_out);
        tu_assert_contains(r.err, want);
        tu_result_release(&r);
    }
}

/* Run `text` with the fixture plugins; its status, stdout in `r`. */
static int
run_text(tu_result_t *r, const char *text)
{
    return tu_run_graph(r, 60, text, "--plugin-path", fixture_dir, NULL);
}

/* Check that the file at `path` holds, one per line, each of the numbers
 * first .. first + count - 1 exactly once, in any order. */
static void
assert_file_holds_range(const char *path, long first, long count)
{
    FILE *f = fopen(path, "r");
    unsigned char *seen = calloc((size_t)count, 1);
    long v, lines = 0;

    assert_non_null(f);
    assert_non_null(seen);
    while (fscanf(f, "%ld", &v) == 1) {
        assert_true(v >= first && v < first + count);
        assert_int_equal(seen[v - first], 0);
        seen[v - first] = 1;
        lines++;
    }
    assert_int_equal(lines, count);
    fclose(f);
    free(seen);
}

/*
 * An input's channels in a real run are its producer instances, and each
 * message comes on the channel of the instance that made it (fixture
 * whofrom, 2 instances, behind a range of 3): flow_node_channels says 3 and
 * flow_node_channel names the maker. The oracle is range's split: chunk k
 * (items from k * batch) is made by instance k % 3.
 */
static void
test_plugins_input_channels(void **unused)
{
    enum { COUNT = 600, BATCH = 10 };
    bool seen[COUNT / BATCH] = { false };
    char *line, *save = NULL;
    size_t got = 0;
    tu_result_t r;

    (void)unused;
    assert_int_equal(run_text(&r, "[src]\ntype = range\ninstances = 3\n"
                                  "count = 600\n"
                                  "[who]\ntype = whofrom\ninstances = 2\n"
                                  "[out]\ntype = collect\n"
                                  "[links]\npush = src.out -> who.in "
                                  "batch=10\npush = who.out -> out.in "
                                  "batch=3\n"),
                     0);
    for (line = strtok_r(r.out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        long channel = strtol(line, NULL, 10), channels, first;
        assert_non_null(line = strtok_r(NULL, "\n", &save));
        channels = strtol(line, NULL, 10);
        assert_non_null(line = strtok_r(NULL, "\n", &save));
        first = strtol(line, NULL, 10);
        assert_int_equal(channels, 3);
        assert_true(first >= 0 && first < COUNT && first % BATCH == 0);
        assert_int_equal(channel, (first / BATCH) % 3);
        assert_false(seen[first / BATCH]);
        seen[first / BATCH] = true;
        got++;
    }
    assert_int_equal(got, COUNT / BATCH);
    tu_result_release(&r);
}

/*
 * A process() that takes the next message of its input itself
 * (flow_node_recv, which the reference allows from any callback) and meets
 * the input's end there (fixture twoatonce, an odd number of messages): the
 * loop went on to wait on the ended input, and the run hung until its
 * timeout. It ends, with every item once.
 */
static void
test_plugins_process_recv_eof(void **unused)
{
    tu_result_t r;

    (void)unused;
    for (int count = 4; count <= 5; count++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = %d\n"
                 "[two]\ntype = twoatonce\n"
                 "[out]\ntype = collect\nmode = sum\n"
                 "[links]\npush = src.out -> two.in batch=1\n"
                 "push = two.out -> out.in\n",
                 count);
        assert_int_equal(
            tu_run_graph(&r, 20, text, "--plugin-path", fixture_dir, NULL), 0);
        if (r.status != 0)
            fprintf(stderr, "%s\n", r.err);
        assert_int_equal(r.status, 0);
        assert_int_equal(strtol(r.out, NULL, 10), count * (count - 1) / 2);
        tu_result_release(&r);
    }
}

/*
 * A process-mode node with two inputs whose process() sends to consumers
 * that are all full (fixture tworelay, its "ob" load-balanced over two slow
 * instances at hwm=1): the wait for room overwrote the framework's poll
 * list, and the next receive read an output socket ("receive on port 'b'
 * failed: Operation not supported"), or another port's socket (messages
 * handed to process() under the wrong port's name). Every number arrives
 * once, where it belongs.
 */
static void
test_plugins_two_inputs_blocked_send(void **unused)
{
    char dir[] = "/tmp/test_plugins.XXXXXX", a[64], b[64], text[1024];
    tu_result_t r;

    (void)unused;
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    snprintf(text, sizeof(text),
             "[a]\ntype = range\ncount = 20000\n"
             "[b]\ntype = range\nstart = 1000000\ncount = 6000\n"
             "[m]\ntype = tworelay\n"
             "[slow]\ntype = fault\ninstances = 2\naction = none\n"
             "work_us = 20\n"
             "[oa]\ntype = collect\noutput = %s\n"
             "[ob]\ntype = collect\noutput = %s\n"
             "[links]\npush = a.out -> m.a batch=1\n"
             "push = b.out -> m.b batch=3\n"
             "push = m.oa -> oa.in\n"
             "push = m.ob -> slow.in hwm=1\n"
             "push = slow.out -> ob.in\n",
             a, b);
    for (int round = 0; round < 3; round++) {
        if (run_text(&r, text))
            fprintf(stderr, "%s\n", r.err);
        assert_int_equal(r.status, 0);
        tu_result_release(&r);
        assert_file_holds_range(a, 0, 20000);
        assert_file_holds_range(b, 1000000, 6000);
    }
    unlink(a);
    unlink(b);
    rmdir(dir);
}


/* Write into `buf` (`cap` bytes) the numbers 0, step, 2 step, ... below
 * `end`, one per line. */
static void
numbers(char *buf, size_t cap, int end, int step)
{
    size_t at = 0;

    buf[0] = '\0';
    for (int i = 0; i < end && at < cap; i += step)
        at += (size_t)snprintf(buf + at, cap - at, "%d\n", i);
}

/*
 * collect order=input, what it can and cannot put in order:
 * - a source of one instance that numbers nothing (fixture plainsrc, as a
 *   first plugin would be written) is numbered 0, 1, 2, ... by the
 *   framework, so its numbers come out in order through 4 jittering
 *   workers (they came out in arrival order);
 * - such a source of two instances: fails, saying so;
 * - a node that sends several messages per input (fixture explode): fails
 *   (the pieces were written out of order);
 * - a node that drops inputs (explode drop_odd): the rest in order, and a
 *   warning that messages never came.
 * The same through a balance=demand link of one credit into the collector,
 * which holds the credit of each message that waits for its turn
 * (flow_node_hold): the jittering workers send their messages in their
 * order, so the worker that owes the next one always has credit; the
 * workers that drop some never send the one awaited, and each stops at
 * its window: the holds are dropped then (said at level info), never
 * stalling the run.
 */
static void
test_plugins_collect_order(void **unused)
{
    tu_result_t r;
    char expect[16384] = "";

    (void)unused;
    numbers(expect, sizeof(expect), 2000, 1);
    for (size_t i = 0; i < 2; i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "[src]\ntype = plainsrc\ncount = 2000\n"
                 "[mid]\ntype = jitter\ninstances = 4\nmax_us = 500\n"
                 "[out]\ntype = collect\norder = input\n"
                 "[links]\npush = src.out -> mid.in\n"
                 "push = mid.out -> out.in%s\n",
                 i ? " balance=demand hwm=1" : "");
        assert_int_equal(run_text(&r, text), 0);
        assert_string_equal(r.out, expect);
        /* Each jitter worker sends in its order: nothing to drop. */
        assert_null(strstr(r.err, "holds on input"));
        tu_result_release(&r);
    }

    assert_int_equal(run_text(&r, "[src]\ntype = plainsrc\ncount = 2000\n"
                                  "instances = 2\n"
                                  "[out]\ntype = collect\norder = input\n"
                                  "[links]\npush = src.out -> out.in\n"),
                     1);
    tu_assert_contains(r.err, "error: order=input: a message without a "
                              "sequence number");
    tu_result_release(&r);

    assert_int_equal(run_text(&r, "[src]\ntype = range\ncount = 30\n"
                                  "[x]\ntype = explode\ninstances = 3\n"
                                  "[out]\ntype = collect\norder = input\n"
                                  "[links]\npush = src.out -> x.in batch=3\n"
                                  "push = x.out -> out.in\n"),
                     1);
    tu_assert_contains(r.err, "error: order=input: two messages with "
                              "sequence number ");
    tu_result_release(&r);

    /* range: message k holds 3k, 3k+1, 3k+2; odd first items (k odd) are
     * dropped: 0 1 2, 6 7 8, ...; the last one dropped is not known to be
     * missing. Then 1000 messages into a demand link of one credit: each
     * worker stalls on its window, which the holds must not make a hang. */
    static const struct {
        int msgs, missing;
        const char *link;
    } gaps[] = { { 10, 4, "" }, { 1000, 499, " balance=demand hwm=1" } };
    for (size_t i = 0; i < 2; i++) {
        char text[512], want[128];
        size_t at = 0;
        snprintf(text, sizeof(text),
                 "[src]\ntype = range\ncount = %d\n"
                 "[x]\ntype = explode\ninstances = 3\ndrop_odd = true\n"
                 "[out]\ntype = collect\norder = input\n"
                 "[links]\npush = src.out -> x.in batch=3\n"
                 "push = x.out -> out.in%s\n",
                 3 * gaps[i].msgs, gaps[i].link);
        assert_int_equal(run_text(&r, text), 0);
        for (int k = 0; k < gaps[i].msgs; k += 2)
            for (int j = 0; j < 3; j++)
                at += (size_t)snprintf(expect + at, sizeof(expect) - at, "%d\n",
                                       3 * k + j);
        assert_string_equal(r.out, expect);
        if (*gaps[i].link)
            tu_assert_contains(r.err, "info: holds on input 'in' dropped: "
                                      "every producer still sending waits "
                                      "for credit");
        snprintf(want, sizeof(want),
                 "warning: order=input: %d messages never came (the first: "
                 "number 1)",
                 gaps[i].missing);
        tu_assert_contains(r.err, want);
        tu_result_release(&r);
    }

    /* One producer, each three messages last first (2 0 1 5 3 4 ...):
     * 2 is held, 0 is written at once and releases nothing, and the
     * producer has sent all it was granted. Hung there (the stall was
     * looked for only at a hold). */
    numbers(expect, sizeof(expect), 300, 1);
    assert_int_equal(run_text(&r, "[src]\ntype = sendi64s\nmessages = 300\n"
                                  "batch = 1\nrotate = true\n"
                                  "[words]\ntype = collect\n"
                                  "[out]\ntype = collect\norder = input\n"
                                  "[links]\npush = src.words -> words.in\n"
                                  "push = src.nums -> out.in balance=demand "
                                  "hwm=1\n"),
                     0);
    assert_string_equal(r.out, expect);
    tu_result_release(&r);

    /* A dealer by a fixed rule (fixture dealto strict: message k to worker
     * k mod 2), the worker of the odd ones dropping them all: the other
     * fills its window with held messages and waits, the dealer waits for
     * it, and the worker of the odd ones keeps credit it never uses, so no
     * producer is seen stalled. Hung for good; after 5 s without input
     * while messages are held, holding ends there, and the run with the
     * even numbers. */
    {
        char *evens = malloc(200000);
        assert_non_null(evens);
        numbers(evens, 200000, 40000, 2);
        assert_int_equal(
            run_text(&r, "[src]\ntype = dealto\ncount = 40000\n"
                         "strict = true\n"
                         "[x]\ntype = explode\ninstances = 2\n"
                         "drop_odd = true\n"
                         "[out]\ntype = collect\norder = input\n"
                         "[links]\npush = src.out -> x.in hwm=1\n"
                         "push = x.out -> out.in balance=demand hwm=4\n"),
            0);
        assert_string_equal(r.out, evens);
        free(evens);
    }
    tu_assert_contains(r.err, "info: holds on input 'in' dropped: nothing "
                              "came for 5 s while messages were held");
    tu_result_release(&r);
}

/*
 * A node written in C++ (fixture cxxscale, built where CMake finds a C++
 * compiler): the headers compile as C++ (extern "C", the FLOW_PARAM_ and
 * FLOW_PORT_ macros; they did not), the loader finds its entry, and it
 * runs: every number times 3, in order.
 */
static void
test_plugins_cxx_node(void **unused)
{
    tu_result_t r;
    char expect[256] = "";

    (void)unused;
    if (!FLOW_FIXTURE_CXX)
        skip();
    assert_int_equal(run_text(&r, "[src]\ntype = range\ncount = 10\n"
                                  "[x]\ntype = cxxscale\nfactor = 3\n"
                                  "instances = 2\n"
                                  "[out]\ntype = collect\norder = input\n"
                                  "[links]\npush = src.out -> x.in batch=3\n"
                                  "push = x.out -> out.in\n"),
                     0);
    for (int i = 0; i < 10; i++)
        snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect),
                 "%d\n", 3 * i);
    assert_string_equal(r.out, expect);
    tu_result_release(&r);
}

/*
 * flow_registry_error_count counts every plugin flow_registry_load_all
 * could not load, each once: a second call tried the broken fixtures
 * again and appended their errors again (9 broken fixtures counted 18).
 */
static void
test_plugins_load_all_twice(void **state)
{
    flow_registry_t *reg = flow_registry_new();
    size_t nerr;
    flow_diag_t diag;

    (void)state;
    flow_registry_add_path(reg, fixture_dir);
    assert_int_not_equal(flow_registry_load_all(reg, &diag), 0);
    nerr = flow_registry_error_count(reg);
    assert_true(nerr >= 2);
    assert_int_not_equal(flow_registry_load_all(reg, &diag), 0);
    assert_int_equal(flow_registry_error_count(reg), nerr);
    /* Each broken file once. */
    for (size_t i = 0; i < nerr; i++)
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(flow_registry_error(reg, i)->file,
                                    flow_registry_error(reg, j)->file);
    assert_null(flow_registry_error(reg, nerr));
    flow_registry_destroy(&reg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_describe_broken),
        cmocka_unit_test(test_plugins_load_all_twice),
        cmocka_unit_test(test_plugins_graph_broken),
        cmocka_unit_test(test_plugins_first_layout),
        cmocka_unit_test(test_plugins_good_plugin_path),
        cmocka_unit_test(test_plugins_good_env),
        cmocka_unit_test(test_plugins_builtin_still_found),
        cmocka_unit_test(test_plugins_list_nodes),
        cmocka_unit_test(test_plugins_misnamed_shadow),
        cmocka_unit_test(test_plugins_crash_on_load),
        cmocka_unit_test(test_plugins_no_implicit_cwd),
        cmocka_unit_test(test_plugins_type_not_a_path),
        cmocka_unit_test(test_plugins_send_i64s),
        cmocka_unit_test(test_plugins_pair_star_answers),
        cmocka_unit_test(test_plugins_pair_hwm_window),
        cmocka_unit_test(test_plugins_push_hwm),
        cmocka_unit_test(test_plugins_two_inputs_blocked_send),
        cmocka_unit_test(test_plugins_input_channels),
        cmocka_unit_test(test_plugins_collect_order),
        cmocka_unit_test(test_plugins_cxx_node),
        cmocka_unit_test(test_plugins_same_type_enforced),
        cmocka_unit_test(test_plugins_any_port_typed_by_peer),
        cmocka_unit_test(test_plugins_process_recv_eof),
    };

    tu_watchdog(280);
    return cmocka_run_group_tests_name("plugins", tests, NULL, NULL);
}
