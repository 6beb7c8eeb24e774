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

bool
flow__same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    char *ca, *cb;
    bool same;

    if (!stat(a, &sa) && !stat(b, &sb))
        return S_ISREG(sa.st_mode) && sa.st_dev == sb.st_dev &&
               sa.st_ino == sb.st_ino;
    ca = canonical(a);
    cb = canonical(b);
    same = ca && cb && !strcmp(ca, cb);
    free(ca);
    free(cb);
    return same || !strcmp(a, b);
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

/* Whether output `out` is the file `in` that a node reads, and is written
 * in place. */
static bool
read_conflict(const char *out, const char *in)
{
    return flow__same_file(out, in) && written_in_place(out);
}

void
flow__claims_release(flow_graph_t *g)
{
    for (size_t i = 0; i < g->nclaims; i++) {
        free(g->claims[i].path);
        free(g->claims[i].owner);
    }
    free(g->claims);
    g->claims = NULL;
    g->nclaims = 0;
    for (size_t i = 0; i < g->nreads; i++) {
        free(g->reads[i].path);
        free(g->reads[i].owner);
    }
    free(g->reads);
    g->reads = NULL;
    g->nreads = 0;
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
    if (g->file_is_path && flow__same_file(path, g->file)) {
        snprintf(why, whylen,
                 "%s '%s' is the graph file: writing there would replace "
                 "the graph",
                 what, path);
        free(owner);
        return FLOW_EPARAM;
    }
    for (size_t i = 0; node >= 0 && i < g->nreads; i++) {
        if (read_conflict(path, g->reads[i].path)) {
            snprintf(why, whylen,
                     "%s '%s' is the file %s reads, and " IN_PLACE_WHY, what,
                     path, g->reads[i].owner);
            free(owner);
            return FLOW_EPARAM;
        }
    }
    for (size_t i = 0; i < g->nclaims; i++) {
        if (!flow__same_file(path, g->claims[i].path))
            continue;
        snprintf(why, whylen,
                 "%s '%s' is also written by %s: one would replace the "
                 "other",
                 what, path, g->claims[i].owner);
        free(owner);
        return FLOW_EPARAM;
    }
    g->claims =
        flow__xrealloc(g->claims, (g->nclaims + 1) * sizeof(*g->claims));
    g->claims[g->nclaims].path = flow__xstrdup(path);
    g->claims[g->nclaims].owner = owner;
    g->claims[g->nclaims].node = node;
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
    char *owner;

    if (!g)
        return 0;
    owner = flow__xasprintf("node '%s' (line %d, %s '%s')", c->n->name,
                            c->n->line, param, path);
    for (size_t i = 0; i < g->nclaims; i++) {
        if (g->claims[i].node < 0) /* flowrun's reports: at the end */
            continue;
        if (read_conflict(g->claims[i].path, path)) {
            snprintf(why, whylen,
                     "%s '%s' is the file %s writes, and " IN_PLACE_WHY, param,
                     path, g->claims[i].owner);
            free(owner);
            return FLOW_EPARAM;
        }
    }
    g->reads = flow__xrealloc(g->reads, (g->nreads + 1) * sizeof(*g->reads));
    g->reads[g->nreads].path = flow__xstrdup(path);
    g->reads[g->nreads].owner = owner;
    g->reads[g->nreads].node = (long)(c->n - c->g->nodes);
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
