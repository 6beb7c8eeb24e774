/* SPDX-License-Identifier: MIT */
/* describe.c: printing a node type from its static tables (gst-inspect). */
#include <inttypes.h>
#include <stdio.h>

#include "internal.h"

static const char *
param_type_name(flow_param_type_t t)
{
    switch (t) {
    case FLOW_PARAM_T_INT:
        return "int";
    case FLOW_PARAM_T_DOUBLE:
        return "double";
    case FLOW_PARAM_T_BOOL:
        return "bool";
    case FLOW_PARAM_T_STRING:
        return "string";
    case FLOW_PARAM_T_CHOICE:
        return "choice";
    }
    return "?";
}

void
flow_node_desc_print(const flow_node_desc_t *d, FILE *out)
{
    static const char *const dir[] = { "", "in", "out", "pair" };

    fprintf(out, "%s: %s\n", d->name, d->summary);
    if (d->max_instances)
        fprintf(out, "  at most %u instance%s\n", d->max_instances,
                d->max_instances == 1 ? "" : "s");
    fprintf(out, "\nPorts:\n");
    if (!d->ports || !d->ports[0].name)
        fprintf(out, "  (none)\n");
    for (const flow_port_t *p = d->ports; p && p->name; p++)
        fprintf(out, "  %-12s %-4s %-6s %s\n", p->name, dir[p->dir],
                flow_type_name(p->type), p->doc ? p->doc : "");
    fprintf(out, "\nParameters:\n");
    if (!d->params || !d->params[0].name)
        fprintf(out, "  (none)\n");
    for (const flow_param_t *p = d->params; p && p->name; p++) {
        fprintf(out, "  %-12s %-6s ", p->name, param_type_name(p->type));
        if (p->def)
            fprintf(out, "default '%s'", p->def);
        else
            fprintf(out, "required");
        if (p->type == FLOW_PARAM_T_INT)
            fprintf(out, ", range [%" PRId64 ", %" PRId64 "]", p->min_i,
                    p->max_i);
        else if (p->type == FLOW_PARAM_T_DOUBLE)
            fprintf(out, ", range [%g, %g]", p->min_d, p->max_d);
        else if (p->type == FLOW_PARAM_T_CHOICE)
            fprintf(out, ", one of %s", p->choices);
        fprintf(out, "\n      %s\n", p->doc ? p->doc : "");
    }
    fprintf(out, "\nExample section:\n  [my_%s]\n  type = %s\n", d->name,
            d->name);
    for (const flow_param_t *p = d->params; p && p->name; p++)
        fprintf(out, "  %s%s =%s%s\n", p->def ? "; " : "", p->name,
                p->def && *p->def ? " " : "", p->def ? p->def : "");
}
