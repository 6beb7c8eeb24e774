/* SPDX-License-Identifier: MIT */
/*
 * graph_ini.c: reading a graph file with inih into the graph model.
 *
 * Debian's libinih is built with its defaults (200-byte lines, no line
 * numbers for handlers), so we read through our own ini_reader: it counts
 * lines, rejects over-long lines instead of letting inih split them, strips
 * indentation (so an indented key is never taken for a continuation line)
 * and notes where each section starts. Then [graph] parameters, command-line
 * overrides and ${name} references are applied, and the links parsed.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* The largest batch (items per message) and hwm (messages) of a link. */
#define FLOW_MAX_BATCH (INT64_C(1) << 24)
#define FLOW_MAX_HWM   INT64_C(1000000)

typedef struct entry {
    char *section;
    char *key;
    char *value;
    int line;
} entry_t;

typedef struct section {
    char *name;
    int line;
} section_t;

typedef struct loader {
    const char *file;
    const char *text;
    size_t len, pos;
    int line;
    int err_line; /* line that was too long, 0 if none */
    const char *err_what;
    entry_t *entries;
    size_t nentries, ecap;
    section_t *sections;
    size_t nsections, scap;
} loader_t;

/* The largest graph file read (a graph is a few kB). */
#define GRAPH_FILE_MAX (16 << 20)

/* inih keeps section names up to this many bytes (MAX_SECTION - 1). */
#define SECTION_MAX 49

static char *
reader(char *str, int num, void *stream)
{
    loader_t *ld = stream;
    const char *start, *nl;
    size_t len, skip = 0;
    bool cr = false, bom = false;

    if (ld->pos >= ld->len || ld->err_line)
        return NULL;
    start = ld->text + ld->pos;
    nl = memchr(start, '\n', ld->len - ld->pos);
    len = nl ? (size_t)(nl - start) + 1 : ld->len - ld->pos;
    ld->pos += len;
    ld->line++;
    if (ld->line == 1 && len >= 3 && !memcmp(start, "\xEF\xBB\xBF", 3)) {
        start += 3; /* a UTF-8 byte order mark */
        len -= 3;
        bom = true;
    }
    if (memchr(start, '\0', len)) {
        ld->err_line = ld->line;
        ld->err_what = "line holds a NUL byte";
        return NULL;
    }
    while (skip < len && (start[skip] == ' ' || start[skip] == '\t'))
        skip++;
    start += skip;
    len -= skip;
    /* One anywhere else at the start of a line: inih would skip a second
     * one, or one after line 1's indentation, and the line be read as what
     * it is not here ("key in unknown section"); on another line it would
     * be part of a key or of a stray line. */
    if (len >= 3 && !memcmp(start, "\xEF\xBB\xBF", 3)) {
        ld->err_line = ld->line;
        ld->err_what = bom ? "a second byte order mark"
                           : "a byte order mark not at the start of the file";
        return NULL;
    }
    /* CRLF: the CR goes, so that the limit is the same for both ends. */
    if (nl && len >= 2 && start[len - 2] == '\r') {
        len--;
        cr = true;
    }
    /* inih reads at most num - 1 bytes and needs the newline among them. */
    if (len + (nl ? 0 : 1) > (size_t)num - 1) {
        ld->err_line = ld->line;
        ld->err_what = "line is too long (inih reads at most 198 bytes)";
        return NULL;
    }
    memcpy(str, start, len);
    if (cr)
        str[len - 1] = '\n';
    str[len] = '\0';
    if (len && *start == '[') {
        const char *end = memchr(start, ']', len);
        const char *after = end ? end + 1 : start + len;
        while (after < start + len && isspace((unsigned char)*after))
            after++;
        if (after < start + len && *after != ';' && *after != '#') {
            ld->err_line = ld->line;
            ld->err_what = "text after the section header";
            return NULL;
        }
        if (end && end - start - 1 > SECTION_MAX) {
            ld->err_line = ld->line;
            ld->err_what = "section name is longer than 49 characters";
            return NULL;
        }
        if (end) {
            flow__xgrow((void **)&ld->sections, &ld->scap, ld->nsections + 1,
                        sizeof(*ld->sections));
            ld->sections[ld->nsections].name =
                flow__xstrndup(start + 1, (size_t)(end - start - 1));
            ld->sections[ld->nsections].line = ld->line;
            ld->nsections++;
        }
    }
    return str;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
    loader_t *ld = user;
    entry_t *e;

    flow__xgrow((void **)&ld->entries, &ld->ecap, ld->nentries + 1,
                sizeof(*ld->entries));
    e = &ld->entries[ld->nentries++];
    e->section = flow__xstrdup(section);
    e->key = flow__xstrdup(name);
    e->value = flow__xstrdup(value);
    e->line = ld->line;
    return 1; /* inih: non-zero means "go on"; it stays in this file */
}

static void
loader_release(loader_t *ld)
{
    for (size_t i = 0; i < ld->nentries; i++) {
        free(ld->entries[i].section);
        free(ld->entries[i].key);
        free(ld->entries[i].value);
    }
    for (size_t i = 0; i < ld->nsections; i++)
        free(ld->sections[i].name);
    free(ld->entries);
    free(ld->sections);
}

/*
 * What to add to an error about node section `name` that may be [links]
 * or [graph] mistyped ([link], [Links], [graf]): a hint, or "". A name
 * near one of them is taken for it only when the section holds what it
 * would: links (`link_keys`: push or pair keys), or the graph's `name` or
 * `description` (`graph_keys`); a node that lacks its type alone ([lines]
 * with no type) gets none. `buf` holds it.
 */
static const char *
section_hint(const char *name, bool link_keys, bool graph_keys, char *buf,
             size_t size)
{
    static const char *const reserved[] = { "links", "graph" };
    const char *near = flow__suggest(name, reserved, 2);

    buf[0] = '\0';
    if (!strcasecmp(name, "links") || !strcasecmp(name, "graph"))
        snprintf(buf, size,
                 " (section names are case-sensitive: [links] and [graph] "
                 "are written in lowercase)");
    else if (link_keys)
        snprintf(buf, size,
                 near && !strcmp(near, "links")
                     ? " (did you mean [links]?)"
                     : " (links go in the section [links])");
    else if (graph_keys && near && !strcmp(near, "graph"))
        snprintf(buf, size, " (did you mean [graph]?)");
    return buf;
}

static bool
is_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

static flow_kv_t *
kv_find(flow_kv_t *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return &kv[i];
    return NULL;
}

static void
kv_add(flow_kv_t **kv, size_t *n, size_t *cap, const char *key,
       const char *value, int line, bool from_set)
{
    flow__xgrow((void **)kv, cap, *n + 1, sizeof(**kv));
    (*kv)[*n] = (flow_kv_t){ .key = flow__xstrdup(key),
                             .value = flow__xstrdup(value),
                             .line = line,
                             .from_set = from_set,
                             .key_set = from_set };
    (*n)++;
}

/* A warning of `g`, "FILE:LINE: " and the printf-formatted rest. */
static void __attribute__((format(printf, 3, 4)))
warn(flow_graph_t *g, int line, const char *fmt, ...)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "%s:%d: ", g->file, line);
    va_list ap;

    if (n < 0 || (size_t)n >= sizeof(msg))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    /* Grown by doubling, not by one: a realloc that copies
     * (AddressSanitizer's always does) made 100,000 warnings quadratic. */
    flow__xgrow((void **)&g->warnings, &g->wcap, g->nwarnings + 1,
                sizeof(*g->warnings));
    g->warnings[g->nwarnings++] = flow__xstrdup(msg);
}

const char *
flow__next_ref(const char *p, const char **escape)
{
    const char *d = strchr(p, '$');

    *escape = NULL;
    for (; d; d = strchr(d + 1, '$')) {
        if (d[1] == '$' && d[2] == '{') {
            *escape = d;
            return NULL;
        }
        if (d[1] == '{')
            return d;
    }
    return NULL;
}

/* The value `value` of `node`.`key`, replaced by --set: note it on the
 * graph parameters it referred to (once each), for their "not used"
 * warning. */
static void
note_set_over(flow_graph_t *g, const char *value, const char *node,
              const char *key)
{
    const char *p = value, *end, *esc;

    for (;;) {
        p = flow__next_ref(p, &esc);
        if (esc) {
            p = esc + 3;
            continue;
        }
        if (!p || !(end = strchr(p, '}')))
            break;
        char *name = flow__xstrndup(p + 2, (size_t)(end - p - 2));
        flow_kv_t *kv = flow__graph_find_param(g, name);
        if (kv && !kv->set_over)
            kv->set_over = flow__xasprintf("%s.%s", node, key);
        free(name);
        p = end + 1;
    }
}

/* A graph parameter no node value and no link refers to is most likely a
 * misspelt one (`workes = 4` beside `workers = 2`): say so. */
static void
warn_unused_params(flow_graph_t *g)
{
    const char *names[64], *near;
    size_t nn = 0;

    /* What an unused one may be a misspelling of: the first used ones,
     * looked for once (for each unused one, a scan of all of them made a
     * graph of many parameters quadratic). */
    for (size_t k = 0; k < g->nparams && nn < 64; k++)
        if (g->params[k].used)
            names[nn++] = g->params[k].key;
    for (size_t i = 0; i < g->nparams; i++) {
        const flow_kv_t *kv = &g->params[i];

        if (kv->used)
            continue;
        if (kv->set_over) { /* referred to, but not after the --set */
            warn(g, kv->line,
                 "graph parameter '%s'%s is not used: the value that "
                 "refers to it as ${%s}, %s, is set on the command line",
                 kv->key, kv->from_set ? " (set on the command line)" : "",
                 kv->key, kv->set_over);
            continue;
        }
        near = flow__suggest(kv->key, names, nn);
        warn(g, kv->line,
             "graph parameter '%s'%s is not used: no node value or link "
             "refers to it as ${%s}%s%s%s",
             kv->key, kv->from_set ? " (set on the command line)" : "", kv->key,
             near ? "; did you mean '" : "", near ? near : "",
             near ? "'?" : "");
    }
}

/* Replace ${name} references in `*value` by graph parameters, and "$${"
 * by "${". */
static int
substitute(const flow_graph_t *g, char **value, int line, const char *what,
           flow_kv_t *target, flow_diag_t *diag)
{
    char *out = NULL;
    size_t olen = 0, ocap = 0;
    const char *p = *value;

    if (!strstr(p, "${"))
        return 0;
    while (*p) {
        const char *esc, *ref = flow__next_ref(p, &esc);
        const char *end, *piece;
        size_t plen;

        if (esc == p) { /* "$${": a literal "${" */
            piece = "${";
            plen = 2;
            p += 3;
        } else if (esc) {
            piece = p;
            plen = (size_t)(esc - p);
            p = esc;
        } else if (!ref) {
            piece = p;
            plen = strlen(p);
            p += plen;
        } else if (ref > p) {
            piece = p;
            plen = (size_t)(ref - p);
            p = ref;
        } else {
            char *name;
            flow_kv_t *kv;

            end = strchr(ref, '}');
            if (!end) {
                free(out);
                return flow__diag(diag, FLOW_EPARSE, g->file, line,
                                  "unterminated '${' in %s", what);
            }
            name = flow__xstrndup(ref + 2, (size_t)(end - ref - 2));
            kv = flow__graph_find_param(g, name);
            if (!kv) {
                int rc =
                    !*name
                        ? flow__diag(diag, FLOW_EPARSE, g->file, line,
                                     "empty parameter name '${}' in %s", what)
                        : flow__diag(diag, FLOW_EPARAM, g->file, line,
                                     "undefined graph parameter '%s' in %s",
                                     name, what);
                free(name);
                free(out);
                return rc;
            }
            kv->used = true;
            if (target && kv->from_set)
                target->from_set = true;
            if (target && !target->ref)
                target->ref = flow__xstrdup(name);
            free(name);
            piece = kv->value;
            plen = strlen(piece);
            p = end + 1;
        }
        flow__xgrow((void **)&out, &ocap, olen + plen + 1, 1);
        memcpy(out + olen, piece, plen);
        olen += plen;
        out[olen] = '\0';
    }
    free(*value);
    *value = out ? out : flow__xstrdup("");
    return 0;
}

static flow_gnode_t *
node_add(flow_graph_t *g, const char *name, int line)
{
    flow_gnode_t *n;

    flow__xgrow((void **)&g->nodes, &g->ncap, g->nnodes + 1, sizeof(*g->nodes));
    n = &g->nodes[g->nnodes++];
    memset(n, 0, sizeof(*n));
    n->name = flow__xstrdup(name);
    n->line = line;
    flow__graph_index_node(g, g->nnodes - 1);
    return n;
}

/* Split "node.port" at `s` into its parts; returns 0 or -1. */
static int
split_endpoint(const char *s, size_t len, char *node, size_t nsize, char *port,
               size_t psize)
{
    const char *dot = memchr(s, '.', len);
    size_t nl, pl;

    if (!dot)
        return -1;
    nl = (size_t)(dot - s);
    pl = len - nl - 1;
    if (!nl || !pl || nl >= nsize || pl >= psize)
        return -1;
    memcpy(node, s, nl);
    node[nl] = '\0';
    memcpy(port, dot + 1, pl);
    port[pl] = '\0';
    return is_name(node) && is_name(port) ? 0 : -1;
}

/*
 * Where word `i` of link `value` came from, for an error in its value: ""
 * or " (from graph parameter 'n', set on the command line)", found in the
 * same word of `raw`, the link as written (when its graph parameters added
 * no word). Written to `buf` (`len` bytes), which it returns.
 */
static const char *
option_note(const flow_graph_t *g, const char *raw, size_t i, size_t nwords,
            char *buf, size_t len)
{
    char *text = flow__xstrdup(raw), *save = NULL, *t, *word = NULL;
    size_t n = 0;
    flow_kv_t refs = { 0 };
    flow_diag_t ignored;

    buf[0] = '\0';
    for (t = strtok_r(text, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        if (n++ == i)
            word = flow__xstrdup(t);
    if (word && n == nwords &&
        !substitute(g, &word, 0, "a link", &refs, &ignored) && refs.ref)
        snprintf(buf, len, " (from graph parameter '%s'%s)", refs.ref,
                 refs.from_set ? ", set on the command line" : "");
    free(refs.ref);
    free(word);
    free(text);
    return buf;
}

/* Parse link `value` of `kind` at `line`: `raw` as written, `value` with
 * its graph parameters substituted. Returns 0 with the link added to `g`,
 * or an error with `diag` filled. */
static int
parse_link(flow_graph_t *g, const char *kind, const char *value,
           const char *raw, int line, flow_diag_t *diag)
{
    const char *arrow_tok = strcmp(kind, "push") ? "<->" : "->";
    char *text = flow__xstrdup(value);
    char *tok[8], *save = NULL, *t;
    size_t ntok = 0;
    char n0[128], p0[128], n1[128], p1[128];
    flow_glink_t *l;
    int rc = 0;

    for (t = strtok_r(text, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        if (ntok < 8)
            tok[ntok++] = t;
        else {
            rc = -1;
            break;
        }
    if (rc || ntok < 3 || strcmp(tok[1], arrow_tok) ||
        split_endpoint(tok[0], strlen(tok[0]), n0, sizeof(n0), p0,
                       sizeof(p0)) ||
        split_endpoint(tok[2], strlen(tok[2]), n1, sizeof(n1), p1,
                       sizeof(p1))) {
        free(text);
        char spaced[16];
        const char *hint = "";
        bool pair = !strcmp(arrow_tok, "<->");
        snprintf(spaced, sizeof(spaced), " %s ", arrow_tok);
        if (!pair && strstr(value, "<->"))
            hint = " ('<->' is the arrow of a pair link: pair = A.P <-> B.Q)";
        else if (pair && !strstr(value, "<->") && strstr(value, "->"))
            hint = " ('->' is the arrow of a push link: push = A.P -> B.Q)";
        else if (strstr(value, arrow_tok) && !strstr(value, spaced))
            hint = " (spaces around the arrow)";
        return flow__diag(diag, FLOW_EPARSE, g->file, line,
                          "bad link '%s': expected '%s = NODE.PORT %s "
                          "NODE.PORT [batch=N] [hwm=N]%s'%s",
                          value, kind, arrow_tok,
                          pair ? "" : " [balance=rr|demand]", hint);
    }
    flow__xgrow((void **)&g->links, &g->lcap, g->nlinks + 1, sizeof(*g->links));
    l = &g->links[g->nlinks++];
    memset(l, 0, sizeof(*l));
    l->kind = strcmp(kind, "push") ? FLOW_LINK_PAIR : FLOW_LINK_PUSH;
    l->line = line;
    l->batch = 1024; /* hwm: as given, else the checker's default */
    {
        size_t tl = strlen(tok[0]) + strlen(tok[2]) + 8;
        l->text = flow__xmalloc(tl);
        snprintf(l->text, tl, "%s %s %s", tok[0], arrow_tok, tok[2]);
    }
    /* Node and port names are resolved by the checker: keep them. */
    l->node[0] = (size_t)flow__graph_find_node(g, n0);
    l->node[1] = (size_t)flow__graph_find_node(g, n1);
    if (flow__graph_find_node(g, n0) < 0 || flow__graph_find_node(g, n1) < 0) {
        const char *missing = flow__graph_find_node(g, n0) < 0 ? n0 : n1;
        free(text);
        return flow__diag(diag, FLOW_ELINK, g->file, line,
                          "link '%s' names unknown node '%s'", l->text,
                          missing);
    }
    bool seen[3] = { false, false, false }; /* batch, hwm, balance */
    for (size_t i = 3; i < ntok; i++) {
        static const char *const opts[] = { "batch", "hwm", "balance" };
        char *eq = strchr(tok[i], '=');
        size_t o = 0;
        int64_t v;
        char note[200];
        if (!eq && i + 1 < ntok && tok[i + 1][0] == '=') {
            rc = flow__diag(diag, FLOW_EPARSE, g->file, line,
                            "bad link option '%s %s': no spaces around "
                            "'=' in a link option (write %s=VALUE)",
                            tok[i], tok[i + 1], tok[i]);
            free(text);
            return rc;
        }
        if (!eq) {
            rc = flow__diag(diag, FLOW_EPARSE, g->file, line,
                            "bad link option '%s': expected batch=N, hwm=N "
                            "or balance=rr|demand",
                            tok[i]);
            free(text);
            return rc;
        }
        *eq = '\0';
        while (o < 3 && strcmp(tok[i], opts[o]))
            o++;
        if (o == 3) {
            rc = flow__diag(diag, FLOW_EPARSE, g->file, line,
                            "unknown link option '%s' (batch, hwm, balance)",
                            tok[i]);
            free(text);
            return rc;
        }
        if (seen[o]) {
            rc = flow__diag(diag, FLOW_EPARSE, g->file, line,
                            "link option '%s' given twice", tok[i]);
            free(text);
            return rc;
        }
        seen[o] = true;
        if (o == 2) {
            if (l->kind != FLOW_LINK_PUSH ||
                (strcmp(eq + 1, "rr") && strcmp(eq + 1, "demand"))) {
                rc = flow__diag(
                    diag, l->kind != FLOW_LINK_PUSH ? FLOW_EPARSE : FLOW_EPARAM,
                    g->file, line,
                    l->kind != FLOW_LINK_PUSH
                        ? "link option 'balance' is for push links: a pair "
                          "link's messages go to the one peer of each channel"
                        : "bad value '%s' for link option 'balance'%s: rr "
                          "(round robin, the default) or demand",
                    eq + 1, option_note(g, raw, i, ntok, note, sizeof(note)));
                free(text);
                return rc;
            }
            l->demand = !strcmp(eq + 1, "demand");
            continue;
        }
        int64_t max = o == 0 ? FLOW_MAX_BATCH : FLOW_MAX_HWM;
        if (flow__parse_i64(eq + 1, &v) || v < 1 || v > max) {
            rc = flow__diag(diag, FLOW_EPARAM, g->file, line,
                            "bad value '%s' for link option '%s'%s: an "
                            "integer from 1 to %" PRId64,
                            eq + 1, tok[i],
                            option_note(g, raw, i, ntok, note, sizeof(note)),
                            max);
            free(text);
            return rc;
        }
        if (o == 0)
            l->batch = (size_t)v;
        else {
            l->hwm = (int)v;
            l->hwm_set = true;
        }
    }
    l->port_name[0] = flow__xstrdup(p0);
    l->port_name[1] = flow__xstrdup(p1);
    free(text);
    return 0;
}

static int
build(flow_graph_t *g, loader_t *ld, const char *const *sets, size_t nsets,
      flow_diag_t *diag)
{
    int rc;

    /* Sections: names, duplicates. */
    for (size_t i = 0; i < ld->nsections; i++) {
        section_t *s = &ld->sections[i];
        bool node = strcmp(s->name, "graph") && strcmp(s->name, "links");
        /* A node's first section is in the index by name; [graph] and
         * [links], a few, are looked for among the sections before. */
        long first = node ? flow__graph_find_node(g, s->name) : -1;
        int first_line = first >= 0 ? g->nodes[first].line : 0;
        for (size_t j = 0; !node && j < i && !first_line; j++)
            if (!strcmp(ld->sections[j].name, s->name))
                first_line = ld->sections[j].line;
        if (first_line)
            return flow__diag(diag, FLOW_EDUP, g->file, s->line,
                              "duplicate section '[%s]' (first at line %d)",
                              s->name, first_line);
        if (!is_name(s->name))
            return flow__diag(diag, FLOW_EPARSE, g->file, s->line,
                              "bad section name '[%s]': use letters, digits, "
                              "'_' and '-'",
                              s->name);
        if (node)
            node_add(g, s->name, s->line);
    }
    /* [graph] first: the parameters that node values refer to. */
    for (size_t i = 0; i < ld->nentries; i++) {
        entry_t *e = &ld->entries[i];
        if (!*e->section)
            return flow__diag(diag, FLOW_EPARSE, g->file, e->line,
                              "key '%s' outside of any section", e->key);
        if (strcmp(e->section, "graph"))
            continue;
        if (!strcmp(e->key, "name") || !strcmp(e->key, "description")) {
            char **dst = e->key[0] == 'n' ? &g->name : &g->description;
            if (*dst)
                return flow__diag(diag, FLOW_EDUP, g->file, e->line,
                                  "duplicate key '%s' in [graph]", e->key);
            *dst = flow__xstrdup(e->value);
            continue;
        }
        if (!is_name(e->key) || strchr(e->key, '-'))
            return flow__diag(diag, FLOW_EPARSE, g->file, e->line,
                              "bad graph parameter name '%s' (letters, "
                              "digits and '_' only)",
                              e->key);
        if (flow__graph_find_param(g, e->key))
            return flow__diag(diag, FLOW_EDUP, g->file, e->line,
                              "duplicate graph parameter '%s'", e->key);
        kv_add(&g->params, &g->nparams, &g->pcap, e->key, e->value, e->line,
               false);
        flow__graph_index_param(g, g->nparams - 1);
    }
    /* Node keys. */
    for (size_t i = 0; i < ld->nentries; i++) {
        entry_t *e = &ld->entries[i];
        long ni;
        flow_gnode_t *n;

        if (!strcmp(e->section, "graph") || !strcmp(e->section, "links"))
            continue;
        ni = flow__graph_find_node(g, e->section);
        if (ni < 0)
            return flow__diag(diag, FLOW_EPARSE, g->file, e->line,
                              "key '%s' in unknown section '%s'", e->key,
                              e->section);
        n = &g->nodes[ni];
        if (!strcmp(e->key, "type")) {
            if (n->type)
                return flow__diag(diag, FLOW_EDUP, g->file, e->line,
                                  "duplicate key 'type' in [%s]", n->name);
            n->type = flow__xstrdup(e->value);
            n->type_line = e->line;
            continue;
        }
        if (kv_find(n->kv, n->nkv, e->key)) {
            char hint[128] = "";
            /* Two links in a section that is not [links]: the section's
             * name is the mistake, not the repeated key. */
            if (!n->type &&
                (!strcmp(e->key, "push") || !strcmp(e->key, "pair")))
                section_hint(n->name, true, false, hint, sizeof(hint));
            return flow__diag(diag, FLOW_EDUP, g->file, e->line,
                              "duplicate key '%s' in [%s]%s", e->key, n->name,
                              hint);
        }
        kv_add(&n->kv, &n->nkv, &n->kvcap, e->key, e->value, e->line, false);
    }
    /* Command-line overrides. Spaces and tabs around the name and the
     * value go, as around an INI file's key and value ("--set 'words =
     * 3'", a value quoted with its spaces). */
    for (size_t i = 0; i < nsets; i++) {
        const char *s = sets[i], *k0, *v0, *dot;
        char key[256];
        size_t klen, vlen;

        if (!flow__split_kv(s, &k0, &klen, &v0, &vlen))
            return flow__diag(diag, FLOW_EUSAGE, NULL, 0,
                              "--set '%s': expected NAME=VALUE or "
                              "NODE.KEY=VALUE",
                              s);
        if (klen >= sizeof(key))
            return flow__diag(diag, FLOW_EUSAGE, NULL, 0,
                              "--set '%.40s...': a name of %zu bytes, longer "
                              "than any a graph has (%zu at most)",
                              s, klen, sizeof(key) - 1);
        memcpy(key, k0, klen);
        key[klen] = '\0';
        dot = strchr(key, '.');
        if (!dot) {
            flow_kv_t *kv = flow__graph_find_param(g, key);
            if (!kv) {
                const char *names[64], *near;
                size_t nn = 0;
                for (size_t k = 0; k < g->nparams && nn < 64; k++)
                    names[nn++] = g->params[k].key;
                near = flow__suggest(key, names, nn);
                return flow__diag(diag, FLOW_EPARAM, g->file, 0,
                                  "--set '%s': the graph has no parameter "
                                  "'%s'%s%s%s",
                                  s, key, near ? "; did you mean '" : "",
                                  near ? near : "", near ? "'?" : "");
            }
            free(kv->value);
            kv->value = flow__xstrndup(v0, vlen);
            kv->from_set = true;
        } else {
            long ni;
            flow_gnode_t *n;
            flow_kv_t *kv;

            key[dot - key] = '\0';
            ni = flow__graph_find_node(g, key);
            if (ni < 0) {
                const char *names[64], *near;
                size_t nn = 0;
                for (size_t k = 0; k < g->nnodes && nn < 64; k++)
                    names[nn++] = g->nodes[k].name;
                near = flow__suggest(key, names, nn);
                return flow__diag(
                    diag, FLOW_EPARAM, g->file, 0,
                    "--set '%s': the graph has no node '%s'%s%s%s", s, key,
                    near ? "; did you mean '" : "", near ? near : "",
                    near ? "'?" : "");
            }
            n = &g->nodes[ni];
            if (!strcmp(dot + 1, "type"))
                return flow__diag(diag, FLOW_EPARAM, g->file, 0,
                                  "--set '%s': a node's type cannot be set", s);
            kv = kv_find(n->kv, n->nkv, dot + 1);
            if (kv) {
                note_set_over(g, kv->value, n->name, dot + 1);
                free(kv->value);
                kv->value = flow__xstrndup(v0, vlen);
                kv->from_set = true;
            } else {
                char *value = flow__xstrndup(v0, vlen);
                kv_add(&n->kv, &n->nkv, &n->kvcap, dot + 1, value, n->line,
                       true);
                free(value);
            }
        }
    }
    /* A graph parameter's value is taken as written, but for the escape
     * "$${" of a literal "${": a reference in it would be left unexpanded,
     * a bad value somewhere else. */
    for (size_t i = 0; i < g->nparams; i++) {
        flow_kv_t *kv = &g->params[i];
        const char *esc, *at = kv->value;
        while (!flow__next_ref(at, &esc) && esc)
            at = esc + 3;
        if (flow__next_ref(at, &esc))
            return flow__diag(diag, FLOW_EPARAM, g->file, kv->line,
                              "bad value '%s' for graph parameter '%s'%s: a "
                              "graph parameter cannot refer to another (a "
                              "literal '${' is written '$${')",
                              kv->value, kv->key,
                              kv->from_set ? " (set on the command line)" : "");
        if ((rc = substitute(g, &kv->value, kv->line, "a graph parameter", NULL,
                             diag)))
            return rc;
    }
    /* ${name} references in node values. */
    for (size_t i = 0; i < g->nnodes; i++) {
        flow_gnode_t *n = &g->nodes[i];
        char what[300];
        static const char *const type_key[] = { "type" };
        for (size_t k = 0; !n->type && k < n->nkv; k++)
            if (flow__suggest(n->kv[k].key, type_key, 1))
                return flow__diag(diag, FLOW_ETYPE, g->file, n->kv[k].line,
                                  "node '%s' has no 'type': did you mean "
                                  "'type' for '%s'?",
                                  n->name, n->kv[k].key);
        if (!n->type) {
            char hint[128];
            bool link_keys = false, graph_keys = false;
            for (size_t k = 0; k < n->nkv; k++) {
                const char *key = n->kv[k].key;
                link_keys |= !strcmp(key, "push") || !strcmp(key, "pair");
                graph_keys |=
                    !strcmp(key, "name") || !strcmp(key, "description");
            }
            return flow__diag(diag, FLOW_ETYPE, g->file, n->line,
                              "node '%s' has no 'type'%s", n->name,
                              section_hint(n->name, link_keys, graph_keys, hint,
                                           sizeof(hint)));
        }
        snprintf(what, sizeof(what), "'type' of node '%s'", n->name);
        if ((rc = substitute(g, &n->type, n->type_line, what, NULL, diag)))
            return rc;
        for (size_t k = 0; k < n->nkv; k++) {
            snprintf(what, sizeof(what), "'%s' of node '%s'", n->kv[k].key,
                     n->name);
            if ((rc = substitute(g, &n->kv[k].value, n->kv[k].line, what,
                                 &n->kv[k], diag)))
                return rc;
        }
    }
    /* Links. */
    for (size_t i = 0; i < ld->nentries; i++) {
        entry_t *e = &ld->entries[i];
        char *v;

        if (strcmp(e->section, "links"))
            continue;
        if (strcmp(e->key, "push") && strcmp(e->key, "pair"))
            return flow__diag(diag, FLOW_EPARSE, g->file, e->line,
                              "unknown link kind '%s' (push, pair)", e->key);
        v = flow__xstrdup(e->value);
        rc = substitute(g, &v, e->line, "a link", NULL, diag);
        if (!rc)
            rc = parse_link(g, e->key, v, e->value, e->line, diag);
        free(v);
        if (rc)
            return rc;
    }
    warn_unused_params(g);
    if (!g->name) {
        const char *base = strrchr(g->file, '/');
        size_t len;
        base = base ? base + 1 : g->file;
        /* Up to the first '.' past the leading ones: a hidden file's
         * name ('.g.ini') is not its extension, nor empty. */
        len = strspn(base, ".");
        len += strcspn(base + len, ".");
        g->name = flow__xstrndup(base, len);
    }
    return 0;
}

/* Load the graph in the `len` bytes at `text`, read from the graph file
 * `name` when `is_path` (a node may not write there), else named so. */
static flow_graph_t *
load_text(const char *text, size_t len, const char *name, bool is_path,
          flow_registry_t *reg, const char *const *sets, size_t nsets,
          flow_diag_t *diag)
{
    loader_t ld;
    flow_graph_t *g = flow__xcalloc(1, sizeof(*g));
    int rc;

    memset(&ld, 0, sizeof(ld));
    ld.file = name;
    ld.text = text;
    ld.len = len;
    g->file = flow__xstrdup(name);
    g->file_is_path = is_path;
    g->reg = reg;
    rc = ini_parse_stream(reader, &ld, handler, &ld);
    if (ld.err_line) {
        flow__diag(diag, FLOW_EPARSE, name, ld.err_line, "%s", ld.err_what);
        goto fail;
    }
    if (rc > 0) {
        flow__diag(diag, FLOW_EPARSE, name, rc,
                   "expected '[section]' or 'key = value'");
        goto fail;
    }
    if (rc < 0) {
        flow__diag(diag, -ENOMEM, name, 0, "cannot parse: out of memory");
        goto fail;
    }
    if (build(g, &ld, sets, nsets, diag) || flow__graph_check(g, diag))
        goto fail;
    loader_release(&ld);
    return g;
fail:
    loader_release(&ld);
    flow_graph_destroy(&g);
    return NULL;
}

flow_graph_t *
flow_graph_load_string(const char *text, size_t len, const char *name,
                       flow_registry_t *reg, const char *const *sets,
                       size_t nsets, flow_diag_t *diag)
{
    return load_text(text, len, name, false, reg, sets, nsets, diag);
}

flow_graph_t *
flow_graph_load(const char *path, flow_registry_t *reg, const char *const *sets,
                size_t nsets, flow_diag_t *diag)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    flow_graph_t *g;

    if (!f) {
        int e = errno;
        flow__diag(diag, -e, path, 0, "cannot open graph: %s", strerror(e));
        return NULL;
    }
    do {
        flow__xgrow((void **)&buf, &cap, len + 4096, 1); /* doubles */
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0 && len <= GRAPH_FILE_MAX);
    if (len > GRAPH_FILE_MAX) { /* not a graph: /dev/zero, a disk image */
        fclose(f);
        free(buf);
        flow__diag(diag, FLOW_EPARSE, path, 0,
                   "cannot read graph: larger than %d MiB",
                   GRAPH_FILE_MAX >> 20);
        return NULL;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        flow__diag(diag, -e, path, 0, "cannot read graph: %s", strerror(e));
        return NULL;
    }
    fclose(f);
    g = load_text(buf, len, path, true, reg, sets, nsets, diag);
    free(buf);
    return g;
}
