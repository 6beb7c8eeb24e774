/* SPDX-License-Identifier: MIT */
/*
 * claim.c: the files a run writes, claimed before it starts, so that two
 * writers of one file (two collect nodes, a node and flowrun --stats-json)
 * or a writer of the graph file itself are refused then, instead of one
 * output silently replacing the other at the end.
 *
 * One file is one existing regular file, whatever names lead to it (hard
 * links, symbolic links), or one path not there yet, however spelt
 * ("out.txt", "./out.txt", "dir/../out.txt", a symbolic link to it). A FIFO, a
 * device or a socket is no file to replace: writers share it, as with a shell's
 * `>`.
 *
 * The files nodes read are claimed too (lines' path): a node may write the
 * file another reads only where it replaces it at the end (a regular file of
 * one name, in a directory it may write: collect's new file renamed onto
 * it). Written in place (through a symbolic link, a file of several names,
 * or in a directory not writable), the file would be cut before it is read.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Where `path` leads (caller frees): through the symbolic links it ends
 * in, one to a file not there yet naming that file (a writer follows it and
 * makes the file there); `path` itself when it is no link. */
static char *
link_target(const char *path)
{
    char *cur = flow__xstrdup(path);
    char buf[PATH_MAX];
    struct stat st;

    for (int hops = 0; hops < 40; hops++) {
        if (lstat(cur, &st) || !S_ISLNK(st.st_mode))
            break;
        ssize_t n = readlink(cur, buf, sizeof(buf) - 1);
        if (n <= 0)
            break;
        buf[n] = '\0';
        const char *slash = strrchr(cur, '/');
        char *next =
            buf[0] == '/' || !slash
                ? flow__xstrdup(buf)
                : flow__xasprintf("%.*s/%s", (int)(slash - cur), cur, buf);
        free(cur);
        cur = next;
    }
    return cur;
}

/* `path` with its directory made absolute and without links, and the links
 * it ends in followed (caller frees), or NULL when that directory does not
 * exist. */
static char *
canonical(const char *link)
{
    char *path = link_target(link);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = flow__xstrndup(path, slash ? (size_t)(slash - path) : 0);
    char *real = realpath(!slash ? "." : *dir ? dir : "/", NULL);
    char *out = real ? flow__xasprintf("%s/%s", real, base) : NULL;

    free(real);
    free(dir);
    free(path);
    return out;
}

/* Take what tells `path` from another (its flow_file_id_t) into `id`;
 * flow__file_id_release frees it. */
static void
file_id_take(flow_file_id_t *id, const char *path)
{
    struct stat st;

    memset(id, 0, sizeof(*id));
    if (stat(path, &st))
        return;
    id->there = true;
    id->regular = S_ISREG(st.st_mode);
    id->dev = st.st_dev;
    id->ino = st.st_ino;
}

static void
file_id_release(flow_file_id_t *id)
{
    free(id->canon);
    id->canon = NULL;
    id->canon_done = false;
}

/* Where `path`, of `id`, leads: canonical(path), made the first time. */
static const char *
file_id_canon(flow_file_id_t *id, const char *path)
{
    if (!id->canon_done) {
        id->canon = canonical(path);
        id->canon_done = true;
    }
    return id->canon;
}

/*
 * Whether `a` and `b`, of ids `ida` and `idb`, are one file to overwrite.
 * A graph's claims are compared two by two: with a stat of both paths at
 * each comparison, and a realpath of the directory of one not there, a
 * graph of 4000 collect outputs took 39 s to check; with what each id
 * holds, 0.1 s.
 */
static bool
same_id(flow_file_id_t *ida, const char *a, flow_file_id_t *idb, const char *b)
{
    const char *ca, *cb;

    if (ida->there && idb->there)
        return ida->regular && ida->dev == idb->dev && ida->ino == idb->ino;
    ca = file_id_canon(ida, a);
    cb = file_id_canon(idb, b);
    return (ca && cb && !strcmp(ca, cb)) || !strcmp(a, b);
}

bool
flow__same_file(const char *a, const char *b)
{
    flow_file_id_t ida, idb;
    bool same;

    file_id_take(&ida, a);
    file_id_take(&idb, b);
    same = same_id(&ida, a, &idb, b);
    file_id_release(&ida);
    file_id_release(&idb);
    return same;
}

/* Whether a writer writes the existing regular file `path` in place (it
 * is a symbolic link, a file of ours with several names, or in a directory
 * not writable), rather than making a new file that takes its place at the
 * end, as collect does (see nodes/collect.c): another user's file of
 * several names gets a new file under this name only. */
static bool
written_in_place(const char *path)
{
    const char *slash = strrchr(path, '/');
    struct stat st;
    char *dir;
    bool ro;

    if (lstat(path, &st))
        return false; /* not there yet: made new */
    if (S_ISLNK(st.st_mode))
        return true;
    if (!S_ISREG(st.st_mode))
        return false;
    if (st.st_nlink > 1) /* another's: a new file, or none (the writer
                          * fails in a directory not writable) */
        return st.st_uid == geteuid();
    dir = flow__xstrndup(path, slash ? (size_t)(slash - path) : 0);
    ro = access(!slash ? "." : *dir ? dir : "/", W_OK) != 0;
    free(dir);
    return ro;
}

/* Why a writer of `out` that writes it in place would cut it before it is
 * read as `in`: the end of a refusal. */
#define IN_PLACE_WHY                                                   \
    "would be written in place (a symbolic link, our file of several " \
    "names, a directory not writable): cut before it is read"

/* Whether output `out` (of id `ido`) is the file `in` (of id `idi`) that
 * a node reads, and is written in place. */
static bool
read_conflict(flow_file_id_t *ido, const char *out, flow_file_id_t *idi,
              const char *in)
{
    return same_id(ido, out, idi, in) && written_in_place(out);
}

void
flow__claims_release(flow_graph_t *g)
{
    for (size_t i = 0; i < g->nclaims; i++) {
        free(g->claims[i].path);
        free(g->claims[i].owner);
        file_id_release(&g->claims[i].id);
    }
    free(g->claims);
    g->claims = NULL;
    g->nclaims = g->claimcap = 0;
    for (size_t i = 0; i < g->nreads; i++) {
        free(g->reads[i].path);
        free(g->reads[i].owner);
        file_id_release(&g->reads[i].id);
    }
    free(g->reads);
    g->reads = NULL;
    g->nreads = g->readcap = 0;
    free(g->stdin_owner);
    g->stdin_owner = NULL;
}

/* Claim `path` for `owner` ("node 'out' (line 12, output 'x')"; taken),
 * of node `node` (an index; -1: flowrun's own); `what` names the path in the
 * refusal ("output",
 * "--stats-json"). Returns 0, or FLOW_EPARAM with why (`whylen` bytes)
 * written. */
static int
claim(flow_graph_t *g, const char *what, const char *path, char *owner,
      long node, char *why, size_t whylen)
{
    flow_file_id_t id;

    if (g->file_is_path && flow__same_file(path, g->file)) {
        snprintf(why, whylen,
                 "%s '%s' is the graph file: writing there would replace "
                 "the graph",
                 what, path);
        free(owner);
        return FLOW_EPARAM;
    }
    file_id_take(&id, path);
    for (size_t i = 0; node >= 0 && i < g->nreads; i++) {
        if (read_conflict(&id, path, &g->reads[i].id, g->reads[i].path)) {
            snprintf(why, whylen,
                     "%s '%s' is the file %s reads, and " IN_PLACE_WHY, what,
                     path, g->reads[i].owner);
            file_id_release(&id);
            free(owner);
            return FLOW_EPARAM;
        }
    }
    for (size_t i = 0; i < g->nclaims; i++) {
        if (!same_id(&id, path, &g->claims[i].id, g->claims[i].path))
            continue;
        snprintf(why, whylen,
                 "%s '%s' is also written by %s: one would replace the "
                 "other",
                 what, path, g->claims[i].owner);
        file_id_release(&id);
        free(owner);
        return FLOW_EPARAM;
    }
    flow__xgrow((void **)&g->claims, &g->claimcap, g->nclaims + 1,
                sizeof(*g->claims));
    g->claims[g->nclaims].path = flow__xstrdup(path);
    g->claims[g->nclaims].owner = owner;
    g->claims[g->nclaims].node = node;
    g->claims[g->nclaims].id = id;
    g->nclaims++;
    return 0;
}

int
flow_check_output_file(const flow_check_t *c, const char *param,
                       const char *path, char *why, size_t whylen)
{
    char *owner;

    if (!c->g) /* a harness: no other writers, no graph file */
        return 0;
    owner = flow__xasprintf("node '%s' (line %d, %s '%s')", c->n->name,
                            c->n->line, param, path);
    /* A graph's check callbacks hold the graph const; the claims are the
     * one thing they add to it, through here. */
    return claim((flow_graph_t *)c->g, param, path, owner,
                 (long)(c->n - c->g->nodes), why, whylen);
}

int
flow_check_input_file(const flow_check_t *c, const char *param,
                      const char *path, char *why, size_t whylen)
{
    flow_graph_t *g = (flow_graph_t *)c->g; /* as flow_check_output_file */
    flow_file_id_t id;
    char *owner;

    if (!g)
        return 0;
    owner = flow__xasprintf("node '%s' (line %d, %s '%s')", c->n->name,
                            c->n->line, param, path);
    file_id_take(&id, path);
    for (size_t i = 0; i < g->nclaims; i++) {
        if (g->claims[i].node < 0) /* flowrun's reports: at the end */
            continue;
        if (read_conflict(&g->claims[i].id, g->claims[i].path, &id, path)) {
            snprintf(why, whylen,
                     "%s '%s' is the file %s writes, and " IN_PLACE_WHY, param,
                     path, g->claims[i].owner);
            file_id_release(&id);
            free(owner);
            return FLOW_EPARAM;
        }
    }
    flow__xgrow((void **)&g->reads, &g->readcap, g->nreads + 1,
                sizeof(*g->reads));
    g->reads[g->nreads].path = flow__xstrdup(path);
    g->reads[g->nreads].owner = owner;
    g->reads[g->nreads].node = (long)(c->n - c->g->nodes);
    g->reads[g->nreads].id = id;
    g->nreads++;
    return 0;
}

int
flow_check_stdin(const flow_check_t *c, const char *param, char *why,
                 size_t whylen)
{
    flow_graph_t *g = (flow_graph_t *)c->g; /* as flow_check_output_file */

    if (!g)
        return 0;
    if (g->stdin_owner) {
        snprintf(why, whylen,
                 "'%s' reads standard input, as %s does: each would take "
                 "pieces of the other's lines",
                 param, g->stdin_owner);
        return FLOW_EPARAM;
    }
    g->stdin_owner =
        flow__xasprintf("node '%s' (line %d)", c->n->name, c->n->line);
    return 0;
}

int
flow_graph_claim_file(flow_graph_t *graph, const char *what, const char *path,
                      flow_diag_t *diag)
{
    char why[FLOW_DIAG_MSG];

    if (claim(graph, what, path, flow__xasprintf("%s '%s'", what, path), -1,
              why, sizeof(why)))
        return flow__diag(diag, FLOW_EUSAGE, NULL, 0, "%s", why);
    return 0;
}
