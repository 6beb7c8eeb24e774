/* SPDX-License-Identifier: MIT */
/*
 * registry.c: the node registry: node types registered directly or loaded
 * from plugins TYPE.so found on a search path. Plugins are opened with
 * dlopen(RTLD_NOW | RTLD_LOCAL) and never closed.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

typedef struct entry {
    const flow_node_desc_t *desc;
    char *origin;
} entry_t;

struct flow_registry {
    char **paths;
    size_t npaths, pcap;
    entry_t *types;
    size_t ntypes, tcap;
    flow_diag_t *errors; /* of flow_registry_load_all, every one */
    size_t nerrors, ecap;
};

flow_registry_t *
flow_registry_new(void)
{
    return flow__xcalloc(1, sizeof(flow_registry_t));
}

void
flow_registry_destroy(flow_registry_t **reg_p)
{
    flow_registry_t *reg;

    if (!reg_p || !*reg_p)
        return;
    reg = *reg_p;
    for (size_t i = 0; i < reg->npaths; i++)
        free(reg->paths[i]);
    for (size_t i = 0; i < reg->ntypes; i++)
        free(reg->types[i].origin);
    free(reg->paths);
    free(reg->types);
    free(reg->errors);
    free(reg);
    *reg_p = NULL;
}

void
flow_registry_add_path(flow_registry_t *reg, const char *dir)
{
    flow__xgrow((void **)&reg->paths, &reg->pcap, reg->npaths + 1,
                sizeof(*reg->paths));
    reg->paths[reg->npaths++] = flow__xstrdup(dir);
}

void
flow_registry_add_path_list(flow_registry_t *reg, const char *list)
{
    const char *p = list;

    while (p && *p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len) {
            char *dir = flow__xstrndup(p, len);
            flow_registry_add_path(reg, dir);
            free(dir);
        }
        p = colon ? colon + 1 : NULL;
    }
}

static bool
type_name_ok(const char *s)
{
    if (!*s || strlen(s) > 128)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static entry_t *
lookup(const flow_registry_t *reg, const char *name)
{
    for (size_t i = 0; i < reg->ntypes; i++)
        if (!strcmp(reg->types[i].desc->name, name))
            return &reg->types[i];
    return NULL;
}

int
flow_registry_add(flow_registry_t *reg, const flow_node_desc_t *desc,
                  const char *origin, flow_diag_t *diag)
{
    entry_t *e;
    int rc = flow__desc_check(desc, origin, diag);

    if (rc)
        return rc;
    e = lookup(reg, desc->name);
    if (e)
        return flow__diag(diag, FLOW_EDUP, origin, 0,
                          "node type '%s' is also defined by '%s'", desc->name,
                          e->origin);
    flow__xgrow((void **)&reg->types, &reg->tcap, reg->ntypes + 1,
                sizeof(*reg->types));
    /* Kept sorted by name here, for flow_registry_at: it sorted them on
     * each call, writing through a const registry (a data race between
     * two readers) and taking n log n per type listed. */
    size_t at = reg->ntypes;
    while (at > 0 && strcmp(reg->types[at - 1].desc->name, desc->name) > 0)
        at--;
    memmove(&reg->types[at + 1], &reg->types[at],
            (reg->ntypes - at) * sizeof(*reg->types));
    reg->types[at].desc = desc;
    reg->types[at].origin = flow__xstrdup(origin);
    reg->ntypes++;
    return 0;
}

/* The plugin being loaded: named by the last words of a crash in its
 * constructors or in reading its descriptor, which no error return can
 * report (flowrun died saying only "Aborted"). */
static const char *loading;
static const int crash_sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
#define NCRASH (sizeof(crash_sigs) / sizeof(crash_sigs[0]))

static void
say(const char *s)
{
    if (write(STDERR_FILENO, s, strlen(s)) < 0)
        return;
}

/* Installed with SA_RESETHAND | SA_NODEFER: the signal's own action (a
 * core dump, the status) follows at once when raised again. */
static void
on_load_crash(int sig)
{
    const char *name = sigabbrev_np(sig);

    say("flowrun: error: ");
    say(loading ? loading : "a plugin");
    say(": crashed while being loaded (in its constructors, or reading its "
        "descriptor): SIG");
    say(name ? name : "?");
    say("\n");
    raise(sig);
}

static int load_plugin_unguarded(flow_registry_t *reg, const char *path,
                                 const char *stem, flow_diag_t *diag);

/* Load the plugin at `path`, which must define node type `stem`. */
static int
load_plugin(flow_registry_t *reg, const char *path, const char *stem,
            flow_diag_t *diag)
{
    struct sigaction sa, old[NCRASH];
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_load_crash;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    loading = path;
    for (size_t i = 0; i < NCRASH; i++)
        sigaction(crash_sigs[i], &sa, &old[i]);
    rc = load_plugin_unguarded(reg, path, stem, diag);
    for (size_t i = 0; i < NCRASH; i++)
        sigaction(crash_sigs[i], &old[i], NULL);
    loading = NULL;
    return rc;
}

static int
load_plugin_unguarded(flow_registry_t *reg, const char *path, const char *stem,
                      flow_diag_t *diag)
{
    const flow_node_desc_t *const *entry;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

    if (!h)
        return flow__diag(diag, FLOW_EABI, path, 0, "cannot load plugin: %s",
                          dlerror());
    entry = dlsym(h, "flow_node_entry");
    if (!entry || !*entry)
        return flow__diag(diag, FLOW_EABI, path, 0,
                          "not a flow plugin: no 'flow_node_entry' symbol "
                          "(declare the node with FLOW_NODE)");
    if ((*entry)->abi == FLOW_NODE_ABI && (*entry)->name &&
        strcmp((*entry)->name, stem))
        return flow__diag(diag, FLOW_EABI, path, 0,
                          "plugin defines node '%s' but its file is named "
                          "'%s.so'",
                          (*entry)->name, stem);
    return flow_registry_add(reg, *entry, path, diag);
}

void
flow__registry_paths(const flow_registry_t *reg, char *buf, size_t len)
{
    size_t used = 0;

    snprintf(buf, len, "%s", reg->npaths ? "" : "no directory");
    for (size_t i = 0; i < reg->npaths && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                         reg->paths[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/*
 * The plugin file of type `stem`: `stem`.so in the first directory of the
 * path that has one, into `path`. flow_registry_find and
 * flow_registry_load_all both go by it: the file that a run loads is the
 * one --list-nodes shows, or reports broken (a broken file in an earlier
 * directory is not passed over for a good one in a later directory).
 * Returns the directory's index, or reg->npaths if none has the file.
 */
static size_t
plugin_file(const flow_registry_t *reg, const char *stem, char *path,
            size_t len)
{
    struct stat st;

    for (size_t i = 0; i < reg->npaths; i++) {
        int n = snprintf(path, len, "%s/%s.so", reg->paths[i], stem);
        if (n >= 0 && (size_t)n < len && !stat(path, &st))
            return i;
    }
    return reg->npaths;
}

const flow_node_desc_t *
flow_registry_find(flow_registry_t *reg, const char *name, flow_diag_t *diag)
{
    entry_t *e = lookup(reg, name);
    char path[4096];

    if (e)
        return e->desc;
    /* A type is one word: never a path that would load another file. */
    if (type_name_ok(name) &&
        plugin_file(reg, name, path, sizeof(path)) < reg->npaths) {
        if (load_plugin(reg, path, name, diag))
            return NULL;
        return lookup(reg, name)->desc;
    }
    flow__diag(diag, FLOW_ETYPE, NULL, 0, "unknown node type '%s'", name);
    return NULL;
}

int
flow_registry_load_all(flow_registry_t *reg, flow_diag_t *diag)
{
    int first = 0;

    /* This call's errors: a broken plugin is tried again, and was listed
     * once more on each call. */
    reg->nerrors = 0;
    for (size_t i = 0; i < reg->npaths; i++) {
        DIR *d = opendir(reg->paths[i]);
        struct dirent *de;

        if (!d)
            continue;
        while ((de = readdir(d))) {
            size_t len = strlen(de->d_name);
            char stem[256], path[4096];
            flow_diag_t tmp;
            int rc;

            if (len < 4 || len - 3 >= sizeof(stem) ||
                strcmp(de->d_name + len - 3, ".so"))
                continue;
            memcpy(stem, de->d_name, len - 3);
            stem[len - 3] = '\0';
            /* The file of an earlier directory wins, even a broken one
             * (reported there), as in flow_registry_find. */
            if (lookup(reg, stem) ||
                plugin_file(reg, stem, path, sizeof(path)) != i)
                continue;
            /* A run never looks a type such as "my-node" up: not listed
             * as one, but said why. */
            if (!type_name_ok(stem))
                rc = flow__diag(&tmp, FLOW_EABI, path, 0,
                                "not loaded: '%s' cannot be a node type "
                                "(one word of letters, digits and _, at "
                                "most 128 characters)",
                                stem);
            else
                rc = load_plugin(reg, path, stem, &tmp);
            if (rc) {
                flow__xgrow((void **)&reg->errors, &reg->ecap, reg->nerrors + 1,
                            sizeof(*reg->errors));
                reg->errors[reg->nerrors++] = tmp;
            }
            if (rc && !first) {
                first = rc;
                if (diag)
                    *diag = tmp;
            }
        }
        closedir(d);
    }
    return first;
}

size_t
flow_registry_error_count(const flow_registry_t *reg)
{
    return reg->nerrors;
}

const flow_diag_t *
flow_registry_error(const flow_registry_t *reg, size_t i)
{
    return i < reg->nerrors ? &reg->errors[i] : NULL;
}

size_t
flow_registry_count(const flow_registry_t *reg)
{
    return reg->ntypes;
}

const flow_node_desc_t *
flow_registry_at(const flow_registry_t *reg, size_t i, const char **origin)
{
    if (i >= reg->ntypes)
        return NULL;
    if (origin)
        *origin = reg->types[i].origin;
    return reg->types[i].desc;
}
