/* SPDX-License-Identifier: MIT */
/*
 * flowrun: load, check and run a flow graph.
 *
 * Exit status: 0 ok, 1 a node failed, 2 usage or graph error, 124 timed
 * out, 128+N stopped by signal N.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow/flow.h"

#define MAX_SETS 256

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: flowrun GRAPH.ini [--set NAME=VALUE]... [--check]\n"
            "               [--timeout SECONDS] [--grace SECONDS]\n"
            "               [--plugin-path DIR]... [--quiet]\n"
            "       flowrun --list-nodes | --describe TYPE\n"
            "       flowrun --version | --help\n"
            "\n"
            "Run the dataflow graph GRAPH.ini: one process per node "
            "instance,\nwired with ZeroMQ. The graph's output goes to "
            "standard output,\nlogs to standard error.\n"
            "\n"
            "  --set NAME=VALUE       override graph parameter NAME\n"
            "  --set NODE.KEY=VALUE   override parameter KEY of node NODE\n"
            "  --check                validate the graph and exit\n"
            "  --timeout SECONDS      stop the run after SECONDS (exit "
            "124)\n"
            "  --grace SECONDS        wait this long after SIGTERM before "
            "SIGKILL\n"
            "                         when stopping (default 0.5)\n"
            "  --plugin-path DIR      look for node plugins in DIR first\n"
            "                         (also FLOW_PLUGIN_PATH, colon "
            "separated)\n"
            "  --list-nodes           list the node types found\n"
            "  --describe TYPE        show a node type's ports and "
            "parameters\n"
            "  --quiet                no messages but errors\n"
            "\n"
            "Exit status: 0 success, 1 a node failed, 2 bad usage or "
            "graph,\n124 timeout, 128+N stopped by signal N.\n");
}

static void
add_builtin_path(flow_registry_t *reg)
{
    char exe[PATH_MAX], dir[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0)
        return;
    exe[n] = '\0';
    snprintf(dir, sizeof(dir), "%s/%s", dirname(exe), FLOW_PLUGIN_REL_DIR);
    flow_registry_add_path(reg, dir);
}

static int
error_diag(const flow_diag_t *diag)
{
    char buf[1024];

    fprintf(stderr, "flowrun: error: %s\n",
            flow_diag_format(diag, buf, sizeof(buf)));
    return 2;
}

static int
parse_seconds(const char *opt, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (!*s || *end || !(v > 0) || v > 1e7) {
        fprintf(stderr, "flowrun: error: %s '%s': expected seconds > 0\n", opt,
                s);
        return -1;
    }
    *out = v;
    return 0;
}

int
main(int argc, char **argv)
{
    enum {
        O_SET = 256,
        O_CHECK,
        O_TIMEOUT,
        O_GRACE,
        O_PATH,
        O_LIST,
        O_DESCRIBE,
        O_QUIET,
        O_VERSION,
        O_HELP
    };
    static const struct option opts[] = {
        { "set", required_argument, NULL, O_SET },
        { "check", no_argument, NULL, O_CHECK },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "grace", required_argument, NULL, O_GRACE },
        { "plugin-path", required_argument, NULL, O_PATH },
        { "list-nodes", no_argument, NULL, O_LIST },
        { "describe", required_argument, NULL, O_DESCRIBE },
        { "quiet", no_argument, NULL, O_QUIET },
        { "version", no_argument, NULL, O_VERSION },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *sets[MAX_SETS];
    size_t nsets = 0;
    const char *describe = NULL;
    bool check = false, list = false;
    flow_run_opts_t ro;
    flow_registry_t *reg;
    flow_graph_t *g;
    flow_diag_t diag;
    int c, rc, signo = 0, status;

    memset(&ro, 0, sizeof(ro));
    reg = flow_registry_new();
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_SET:
            if (nsets == MAX_SETS) {
                fprintf(stderr, "flowrun: error: too many --set\n");
                return 2;
            }
            sets[nsets++] = optarg;
            break;
        case O_CHECK:
            check = true;
            break;
        case O_TIMEOUT:
            if (parse_seconds("--timeout", optarg, &ro.timeout_s))
                return 2;
            break;
        case O_GRACE:
            if (parse_seconds("--grace", optarg, &ro.grace_s))
                return 2;
            break;
        case O_PATH:
            flow_registry_add_path(reg, optarg);
            break;
        case O_LIST:
            list = true;
            break;
        case O_DESCRIBE:
            describe = optarg;
            break;
        case O_QUIET:
            ro.quiet = 1;
            break;
        case O_VERSION:
            printf("flowrun %s (libflow %s, node ABI %d)\n",
                   FLOW_VERSION_STRING, flow_version(), FLOW_NODE_ABI);
            return 0;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    flow_registry_add_path_list(reg, getenv("FLOW_PLUGIN_PATH"));
    add_builtin_path(reg);

    if (list) {
        memset(&diag, 0, sizeof(diag));
        rc = flow_registry_load_all(reg, &diag);
        for (size_t i = 0; i < flow_registry_count(reg); i++) {
            const char *origin;
            const flow_node_desc_t *d = flow_registry_at(reg, i, &origin);
            printf("%-14s %s\n%-14s (%s)\n", d->name, d->summary, "", origin);
        }
        if (rc)
            error_diag(&diag);
        flow_registry_destroy(&reg);
        return rc ? 2 : 0;
    }
    if (describe) {
        const flow_node_desc_t *d = flow_registry_find(reg, describe, &diag);
        if (!d) {
            rc = error_diag(&diag);
            flow_registry_destroy(&reg);
            return rc;
        }
        flow_node_desc_print(d, stdout);
        flow_registry_destroy(&reg);
        return 0;
    }
    if (optind != argc - 1) {
        usage(stderr);
        flow_registry_destroy(&reg);
        return 2;
    }
    g = flow_graph_load(argv[optind], reg, sets, nsets, &diag);
    if (!g) {
        rc = error_diag(&diag);
        flow_registry_destroy(&reg);
        return rc;
    }
    if (check) {
        if (!ro.quiet)
            fprintf(stderr, "flowrun: graph '%s' is valid: %u processes\n",
                    flow_graph_name(g), flow_graph_process_count(g));
        flow_graph_destroy(&g);
        flow_registry_destroy(&reg);
        return 0;
    }
    rc = flow_graph_run(g, &ro, &signo);
    if (rc == 0)
        status = 0;
    else if (rc == FLOW_ETIMEDOUT)
        status = 124;
    else if (rc == FLOW_EINTR)
        status = 128 + signo;
    else if (rc == FLOW_ENODE)
        status = 1;
    else {
        fprintf(stderr, "flowrun: error: cannot run graph '%s': %s\n",
                flow_graph_name(g), flow_strerror(rc));
        status = 1;
    }
    flow_graph_destroy(&g);
    flow_registry_destroy(&reg);
    return status;
}
