/* SPDX-License-Identifier: MIT */
/*
 * param.c: typed parameter parsing against a node's parameter table, and the
 * checks a descriptor must pass before the loader accepts it.
 */
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/*
 * A whole number written in decimal: [sign] digits [. digits] [e|E [sign]
 * digits], such as "-12", "1e9" or "2.5e6", whose value has no fraction:
 * "1.5" and "15e-1" are not integers, "1.50e1" and "150e-1" are 15. No
 * spaces, no hexadecimal, no digit separators.
 */
int
flow__parse_i64(const char *s, int64_t *out)
{
    const char *p = s, *ip, *fp = "";
    size_t nint = 0, nfrac = 0, first, last, n;
    long exp = 0, pow10;
    bool neg = false, eneg = false;
    uint64_t mag = 0;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    for (ip = p; isdigit((unsigned char)*p); p++)
        nint++;
    if (!nint)
        return FLOW_EPARAM;
    if (*p == '.') {
        for (fp = ++p; isdigit((unsigned char)*p); p++)
            nfrac++;
        if (!nfrac)
            return FLOW_EPARAM;
    }
    if (*p == 'e' || *p == 'E') {
        if (*++p == '+' || *p == '-')
            eneg = *p++ == '-';
        if (!isdigit((unsigned char)*p))
            return FLOW_EPARAM;
        /* Past the count of digits and 19 more, the value is 0, a
         * fraction or out of range whatever the exponent: the count stops
         * there (a fixed cap of 10^6 read "1" and 10^7 zeros "e-10000000",
         * which is 1, as 10^(9 * 10^6): out of range). */
        for (; isdigit((unsigned char)*p); p++)
            if (exp <= (long)(nint + nfrac) + 20)
                exp = exp * 10 + (*p - '0');
    }
    if (*p)
        return FLOW_EPARAM;

        /* The digits, integer part then fraction, from the first non-zero one
         * to the last, times 10^pow10. */
#define DIGIT(i) ((i) < nint ? ip[i] : fp[(i)-nint])
    n = nint + nfrac;
    for (first = 0; first < n && DIGIT(first) == '0'; first++)
        ;
    if (first == n) {
        *out = 0;
        return 0;
    }
    for (last = n - 1; DIGIT(last) == '0'; last--)
        ;
    pow10 = (eneg ? -exp : exp) - (long)nfrac + (long)(n - 1 - last);
    if (pow10 < 0)
        return FLOW_EPARAM; /* a fraction */
    if ((long)(last - first + 1) + pow10 > 19)
        return -ERANGE; /* 10^19 or more */
    for (size_t i = first; i <= last; i++)
        mag = mag * 10 + (uint64_t)(DIGIT(i) - '0');
#undef DIGIT
    for (long i = 0; i < pow10; i++)
        mag *= 10; /* at most 19 digits: below 2^64 */
    if (mag > (uint64_t)INT64_MAX + neg)
        return -ERANGE;
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

int
flow_parse_int(const char *s, size_t len, int64_t *out)
{
    char *text;
    int rc;

    if (memchr(s, '\0', len))
        return FLOW_EPARAM;
    text = flow__xstrndup(s, len);
    rc = flow__parse_i64(text, out);
    free(text);
    return rc;
}

/* The "C" locale, made once (never freed): strtod reads "2.5" as 2 and
 * stops at the '.' under a locale whose decimal point is a comma (de_DE),
 * which a node or a test program may have set (setlocale). NULL if it
 * cannot be made. */
static locale_t
c_locale(void)
{
    static locale_t c;
    locale_t l = __atomic_load_n(&c, __ATOMIC_ACQUIRE), none = (locale_t)0;

    if (l)
        return l;
    if (!(l = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0)))
        return (locale_t)0;
    if (!__atomic_compare_exchange_n(&c, &none, l, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        freelocale(l); /* another thread's was first */
        l = none;
    }
    return l;
}

bool
flow__split_kv(const char *s, const char **key, size_t *klen,
               const char **value, size_t *vlen)
{
    const char *eq = s ? strchr(s, '=') : NULL, *k0 = s, *k1 = eq, *v0, *v1;

    if (!eq)
        return false;
    while (k0 < eq && (*k0 == ' ' || *k0 == '\t'))
        k0++;
    while (k1 > k0 && (k1[-1] == ' ' || k1[-1] == '\t'))
        k1--;
    if (k1 == k0)
        return false;
    v0 = eq + 1 + strspn(eq + 1, " \t");
    v1 = v0 + strlen(v0);
    while (v1 > v0 && (v1[-1] == ' ' || v1[-1] == '\t'))
        v1--;
    *key = k0;
    *klen = (size_t)(k1 - k0);
    *value = v0;
    *vlen = (size_t)(v1 - v0);
    return true;
}

int
flow_parse_double(const char *s, size_t len, double *out)
{
    locale_t c;
    size_t i = 0, digits = 0;
    char *text, *end;
    double v;

    /* [sign] digits [. [digits]] or [sign] . digits, then [e [sign]
     * digits]: what strtod reads in decimal, nothing else. */
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    for (; i < len && isdigit((unsigned char)s[i]); i++)
        digits++;
    if (i < len && s[i] == '.')
        for (i++; i < len && isdigit((unsigned char)s[i]); i++)
            digits++;
    if (!digits)
        return FLOW_EPARAM;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == len || !isdigit((unsigned char)s[i]))
            return FLOW_EPARAM;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
    }
    if (i != len)
        return FLOW_EPARAM;
    text = flow__xstrndup(s, len);
    errno = 0;
    v = (c = c_locale()) ? strtod_l(text, &end, c) : strtod(text, &end);
    int err = errno, whole = !*end; /* not: a locale whose point is not
                                     * '.' (without a C locale) */
    free(text);
    if (!whole)
        return FLOW_EPARAM;
    if (isinf(v) && err == ERANGE)
        return -ERANGE; /* below DBL_MIN rounds: not an error */
    *out = v;
    return 0;
}

static int
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return FLOW_EPARAM;
}

static int
parse_choice(const char *choices, const char *s, int *out)
{
    const char *p = choices;
    size_t n = strlen(s);

    for (int i = 0; p && *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !memcmp(p, s, n)) {
            *out = i;
            return 0;
        }
        p = bar ? bar + 1 : NULL;
    }
    return FLOW_EPARAM;
}

int
flow__param_set(const flow_param_t *p, const char *value, void *state,
                char *why, size_t whylen)
{
    char *field = (char *)state + p->offset;
    int rc;

    switch (p->type) {
    case FLOW_PARAM_T_INT: {
        int64_t v;
        rc = flow__parse_i64(value, &v);
        if (rc == -ERANGE) {
            snprintf(why, whylen, "out of range [%lld, %lld]",
                     (long long)p->min_i, (long long)p->max_i);
            return FLOW_EPARAM;
        }
        if (rc) {
            snprintf(why, whylen, "not an integer");
            return FLOW_EPARAM;
        }
        if (v < p->min_i || v > p->max_i) {
            snprintf(why, whylen, "out of range [%lld, %lld]",
                     (long long)p->min_i, (long long)p->max_i);
            return FLOW_EPARAM;
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case FLOW_PARAM_T_DOUBLE: {
        /* As for integers, decimal only: no space, no "nan" or "inf", no
         * hexadecimal ("0x1p-1", which strtod reads). */
        double v = 0;
        rc = flow_parse_double(value, strlen(value), &v);
        if (rc == FLOW_EPARAM) {
            snprintf(why, whylen, "not a number");
            return FLOW_EPARAM;
        }
        if (rc || v < p->min_d || v > p->max_d) {
            snprintf(why, whylen, "out of range [%g, %g]", p->min_d, p->max_d);
            return FLOW_EPARAM;
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case FLOW_PARAM_T_BOOL: {
        bool v;
        if (parse_bool(value, &v)) {
            snprintf(why, whylen, "not a boolean (true or false)");
            return FLOW_EPARAM;
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case FLOW_PARAM_T_STRING: {
        char *old, *v = flow__xstrdup(value);
        memcpy(&old, field, sizeof(old));
        free(old);
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case FLOW_PARAM_T_CHOICE: {
        int v;
        if (parse_choice(p->choices, value, &v)) {
            snprintf(why, whylen, "not one of %s", p->choices);
            return FLOW_EPARAM;
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    }
    snprintf(why, whylen, "unknown parameter type");
    return FLOW_EPARAM;
}

void
flow__param_release(const flow_param_t *params, void *state)
{
    if (!params || !state)
        return;
    for (const flow_param_t *p = params; p->name; p++) {
        if (p->type == FLOW_PARAM_T_STRING) {
            char *s;
            memcpy(&s, (char *)state + p->offset, sizeof(s));
            free(s);
            s = NULL;
            memcpy((char *)state + p->offset, &s, sizeof(s));
        }
    }
}

static size_t
field_size(flow_param_type_t t)
{
    switch (t) {
    case FLOW_PARAM_T_INT:
        return sizeof(int64_t);
    case FLOW_PARAM_T_DOUBLE:
        return sizeof(double);
    case FLOW_PARAM_T_BOOL:
        return sizeof(bool);
    case FLOW_PARAM_T_STRING:
        return sizeof(char *);
    case FLOW_PARAM_T_CHOICE:
        return sizeof(int);
    }
    return SIZE_MAX;
}

static bool
is_word(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    }
    return true;
}

int
flow__desc_check(const flow_node_desc_t *d, const char *origin,
                 flow_diag_t *diag)
{
    char why[256];

    if (d->abi != FLOW_NODE_ABI)
        return flow__diag(diag, FLOW_EABI, origin, 0,
                          "plugin ABI %u, this flow needs %u: rebuild the "
                          "plugin against this flow",
                          (unsigned)d->abi, (unsigned)FLOW_NODE_ABI);
    if (d->struct_size < FLOW_DESC_MIN_SIZE)
        return flow__diag(diag, FLOW_EABI, origin, 0,
                          "descriptor size %u is smaller than %zu",
                          (unsigned)d->struct_size, FLOW_DESC_MIN_SIZE);
    if (!is_word(d->name))
        return flow__diag(diag, FLOW_EABI, origin, 0,
                          "node name is not one word of [A-Za-z0-9_]");
    if (!d->summary)
        return flow__diag(diag, FLOW_EABI, origin, 0,
                          "node '%s' has no summary", d->name);
    if (!d->run == !d->process)
        return flow__diag(diag, FLOW_EABI, origin, 0,
                          "node '%s' must set exactly one of run and process",
                          d->name);
    for (const flow_port_t *p = d->ports; p && p->name; p++) {
        if (!is_word(p->name))
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': port name '%s' is not one word",
                              d->name, p->name);
        if (p->dir < FLOW_DIR_IN || p->dir > FLOW_DIR_PAIR ||
            (int)p->type < FLOW_ANY || p->type > FLOW_SAME)
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': port '%s' has a bad direction or "
                              "type",
                              d->name, p->name);
        for (const flow_port_t *q = d->ports; q != p; q++)
            if (!strcmp(p->name, q->name))
                return flow__diag(diag, FLOW_EABI, origin, 0,
                                  "node '%s': duplicate port '%s'", d->name,
                                  p->name);
    }
    if (d->params && d->state_size == 0 && d->params[0].name)
        return flow__diag(diag, FLOW_EABI, origin, 0,
                          "node '%s' has parameters but no state", d->name);
    for (const flow_param_t *p = d->params; p && p->name; p++) {
        void *scratch;
        int rc = 0;

        if (flow__node_key_reserved(p->name))
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': parameter name '%s' is reserved "
                              "(a key of every node: type, instances, "
                              "timeout, log_level, pin, cpus, "
                              "slurm_constraint)",
                              d->name, p->name);
        if (!is_word(p->name))
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': bad parameter name '%s' (letters, "
                              "digits and _)",
                              d->name, p->name);
        for (const flow_param_t *q = d->params; q != p; q++)
            if (!strcmp(p->name, q->name))
                return flow__diag(diag, FLOW_EABI, origin, 0,
                                  "node '%s': duplicate parameter '%s'",
                                  d->name, p->name);
        if (p->type < FLOW_PARAM_T_INT || p->type > FLOW_PARAM_T_CHOICE)
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': parameter '%s' has an unknown type",
                              d->name, p->name);
        if (d->state_size < field_size(p->type) ||
            p->offset > d->state_size - field_size(p->type))
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': parameter '%s' lies outside the "
                              "state",
                              d->name, p->name);
        if (p->type == FLOW_PARAM_T_INT && p->min_i > p->max_i)
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': parameter '%s' has min > max",
                              d->name, p->name);
        if (p->type == FLOW_PARAM_T_DOUBLE && !(p->min_d <= p->max_d))
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': parameter '%s' has min > max",
                              d->name, p->name);
        if (p->type == FLOW_PARAM_T_CHOICE && (!p->choices || !*p->choices))
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': choice parameter '%s' has no "
                              "choices",
                              d->name, p->name);
        if (p->type == FLOW_PARAM_T_CHOICE &&
            (p->choices[0] == '|' || strstr(p->choices, "||") ||
             p->choices[strlen(p->choices) - 1] == '|'))
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': choice parameter '%s' has an "
                              "empty choice in '%s'",
                              d->name, p->name, p->choices);
        if (!p->def)
            continue;
        scratch = flow__xcalloc(1, d->state_size);
        rc = flow__param_set(p, p->def, scratch, why, sizeof(why));
        flow__param_release(d->params, scratch);
        free(scratch);
        if (rc)
            return flow__diag(diag, FLOW_EABI, origin, 0,
                              "node '%s': default '%s' of parameter '%s' is "
                              "%s",
                              d->name, p->def, p->name, why);
    }
    return 0;
}
