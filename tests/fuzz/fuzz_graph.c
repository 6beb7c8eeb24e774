/* SPDX-License-Identifier: MIT */
/*
 * fuzz_graph.c: libFuzzer target for the INI graph loader
 * (flow_graph_load_string: graph_ini.c, graph_check.c, param.c).
 *
 * The input up to its first NUL byte is a graph file; each NUL-separated
 * string after it is a --set override ("param=value" or "node.key=value"),
 * at most MAX_SETS of them. An input without a NUL byte is an ordinary graph
 * file, so the seed corpus is plain .ini files. An input that has a NUL byte
 * is also loaded whole, for the loader's "line holds a NUL byte" check.
 *
 * Node types are every node of nodes/ linked in statically
 * (FLOW_NODE_STATIC; the table comes from the generated fuzz_nodes.h) plus
 * "needy" below: no dlopen, so every run is the same. The registry has no
 * search path, so an unknown type never touches the file system.
 *
 * A graph that loads goes on to what flowrun does with one before it runs:
 * its warnings, its DOT (--dot, written to memory) and the instance each
 * Slurm task runs (flow_graph_slurm_task), each checked for its form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "fuzz_nodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_SETS = 8 };

/*
 * A node type with a parameter of every kind, a required one among them
 * (tests/fixtures/graphs/bad_missing_param.ini names it), and a port of
 * every direction: no built-in node has double or bool parameters.
 */
struct needy {
    int64_t level;
    double rate;
    bool flag;
    char *label;
    int mode;
};

static const flow_param_t needy_params[] = {
    FLOW_PARAM_INT("level", struct needy, level, NULL, 0, 10,
                   "required: no default"),
    FLOW_PARAM_DOUBLE("rate", struct needy, rate, "1.5", 0.001, 1e6, "a rate"),
    FLOW_PARAM_BOOL("flag", struct needy, flag, "no", "a switch"),
    FLOW_PARAM_STRING("label", struct needy, label, "", "a string"),
    FLOW_PARAM_CHOICE("mode", struct needy, mode, "a", "a|bb|ccc", "a choice"),
    FLOW_PARAM_END
};

static const flow_port_t needy_ports[] = {
    FLOW_PORT_IN("in", FLOW_ANY, "anything"),
    FLOW_PORT_OUT("out", FLOW_BYTES, "bytes"),
    FLOW_PORT_PAIR("peer", FLOW_WORDS, "words both ways"), FLOW_PORT_END
};

static int
needy_process(flow_node_t *node, void *state, const char *port,
              flow_msg_t **msg_p)
{
    (void)node;
    (void)state;
    (void)port;
    (void)msg_p;
    return 0;
}

static const flow_node_desc_t needy_desc = {
    FLOW_NODE_V1,
    .name = "needy",
    .summary = "A fuzzing node with a parameter of every kind",
    .state_size = sizeof(struct needy),
    .params = needy_params,
    .ports = needy_ports,
    .max_instances = 3,
    .process = needy_process,
};

static void
must_add(flow_registry_t *reg, const flow_node_desc_t *desc)
{
    flow_diag_t diag;
    char buf[512];

    if (flow_registry_add(reg, desc, "fuzz_graph.c", &diag)) {
        fprintf(stderr, "fuzz_graph: %s\n",
                flow_diag_format(&diag, buf, sizeof(buf)));
        abort();
    }
}

/* The registry, made on first use and kept for the whole process. */
static flow_registry_t *
registry(void)
{
    static flow_registry_t *reg;

    if (!reg) {
        reg = flow_registry_new();
        for (size_t i = 0; i < sizeof(fuzz_nodes) / sizeof(*fuzz_nodes); i++)
            must_add(reg, fuzz_nodes[i]);
        must_add(reg, &needy_desc);
    }
    return reg;
}

/* FLOW_FUZZ_VERBOSE=1 prints each load's outcome (for triage). */
static bool
verbose(void)
{
    static int v = -1;

    if (v < 0) {
        const char *e = getenv("FLOW_FUZZ_VERBOSE");
        v = e && *e && strcmp(e, "0");
    }
    return v;
}

/* Each warning: one line, as flow_graph_warning promises. */
static void
check_warnings(const flow_graph_t *g)
{
    size_t n = flow_graph_warning_count(g);

    for (size_t i = 0; i < n; i++) {
        const char *w = flow_graph_warning(g, i);
        if (!w || !*w || strchr(w, '\n'))
            abort();
    }
    if (flow_graph_warning(g, n))
        abort();
}

/* The DOT: written whole, every double-quoted string closed on its line. */
static void
check_dot(const flow_graph_t *g)
{
    char *dot = NULL;
    size_t len = 0;
    bool quoted = false;
    FILE *f = open_memstream(&dot, &len);

    if (!f)
        return;
    if (flow_graph_write_dot(g, f))
        abort();
    fclose(f);
    if (strlen(dot) != len || strncmp(dot, "digraph \"", 9) || len < 2 ||
        strcmp(dot + len - 2, "}\n"))
        abort();
    for (size_t i = 0; i < len; i++) {
        if (quoted && dot[i] == '\\' && dot[i + 1] && dot[i + 1] != '\n')
            i++;
        else if (dot[i] == '"')
            quoted = !quoted;
        else if (quoted && (dot[i] == '\n' || dot[i] == '\r'))
            abort();
    }
    if (quoted)
        abort();
    free(dot);
}

/* Slurm tasks: below the process count, each runs an instance, each
 * instance of a node (numbered 0 to its count - 1) once; none beyond. */
static void
check_slurm_tasks(const flow_graph_t *g)
{
    enum { MAX_TASKS = 256 };
    const char *names[MAX_TASKS], *name;
    unsigned insts[MAX_TASKS], inst, n = flow_graph_process_count(g);

    if (!n || flow_graph_slurm_task(g, n, &name, &inst) != FLOW_ENOENT)
        abort();
    if (n > MAX_TASKS)
        return;
    for (unsigned t = 0; t < n; t++) {
        if (flow_graph_slurm_task(g, t, &names[t], &insts[t]) || !names[t])
            abort();
        for (unsigned u = 0; u < t; u++)
            if (!strcmp(names[u], names[t]) && insts[u] == insts[t])
                abort();
    }
    for (unsigned t = 0; t < n; t++) {
        unsigned same = 0;
        for (unsigned u = 0; u < n; u++)
            same += !strcmp(names[u], names[t]);
        if (insts[t] >= same)
            abort();
    }
}

static void
load(const char *text, size_t len, const char *const *sets, size_t nsets)
{
    flow_diag_t diag;
    flow_graph_t *g;
    char buf[512];

    g = flow_graph_load_string(text, len, "fuzz.ini", registry(), sets, nsets,
                               &diag);
    if (g) {
        if (verbose())
            fprintf(stderr, "fuzz_graph: loaded '%s', %u processes\n",
                    flow_graph_name(g), flow_graph_process_count(g));
        check_warnings(g);
        check_dot(g);
        check_slurm_tasks(g);
        flow_graph_destroy(&g);
        if (g)
            abort();
    } else {
        /* The diagnostic must be a terminated string within its buffer. */
        if (!memchr(diag.msg, '\0', sizeof(diag.msg)) ||
            !memchr(diag.file, '\0', sizeof(diag.file)))
            abort();
        flow_diag_format(&diag, buf, sizeof(buf));
        if (verbose())
            fprintf(stderr, "fuzz_graph: %s\n", buf);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy with a NUL after its end: the sets are C strings, and
     * the exact-size text lets AddressSanitizer see reads past the end. */
    char *copy = malloc(size + 1);
    const char *sets[MAX_SETS];
    const char *nul;
    size_t nsets = 0, textlen;

    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    copy[size] = '\0';
    nul = memchr(copy, '\0', size);
    textlen = nul ? (size_t)(nul - copy) : size;
    if (nul) {
        const char *p = nul + 1, *end = copy + size;
        while (p < end && nsets < MAX_SETS) {
            sets[nsets++] = p;
            p += strlen(p) + 1;
        }
    }
    {
        /* The graph text alone, in a buffer of exactly its size. */
        char *text = malloc(textlen ? textlen : 1);
        if (text) {
            if (textlen)
                memcpy(text, copy, textlen);
            load(text, textlen, sets, nsets);
            free(text);
        }
    }
    if (nul)
        load(copy, size, NULL, 0);
    free(copy);
    return 0;
}
