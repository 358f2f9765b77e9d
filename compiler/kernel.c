/* kernel — the argument list of a kernel, derived from what it reads. */
#include "config.h"
#include "kernel.h"

#include <stdlib.h>
#include <string.h>

void kern_finish_args(kern *k)
{
    const dag *d = k->d;
    char *live = calloc((size_t)d->n + 1, 1);
    int uses_meta = 0;
    for (int o = 0; o < k->n_out; o++) if (k->out[o].node >= 0) live[k->out[o].node] = 1;
    for (int m = 0; k->meta_adj && m < d->n_meta; m++) if (k->meta_adj[m] >= 0) live[k->meta_adj[m]] = 1;
    for (int id = d->n - 1; id >= 0; id--) {
        if (!live[id]) continue;
        for (int a = 0; a < 2; a++) if (d->node[id].arg[a] >= 0) live[d->node[id].arg[a]] = 1;
    }
    char *slot_used = calloc((size_t)d->n_input + 1, 1);
    for (int id = 0; id < d->n; id++) {
        if (!live[id]) continue;
        if (d->node[id].op == OP_INPUT) slot_used[d->node[id].aux] = 1;
        if (d->node[id].op == OP_PARAM) uses_meta = 1;
    }
    k->n_arg = 0;
    for (int s = 0; s < d->n_input && k->n_arg < KERN_MAX_ARG; s++) {
        if (!slot_used[s]) continue;
        kern_arg *a = &k->arg[k->n_arg++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", d->input[s].name);
        a->space = d->input[s].space;
        a->role = ARG_INPUT;
        a->slot = s;
    }
    if (uses_meta && k->n_arg < KERN_MAX_ARG) {
        kern_arg *a = &k->arg[k->n_arg++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "meta");
        a->role = ARG_META;
    }
    for (int o = 0; o < k->n_out && k->n_arg < KERN_MAX_ARG; o++) {
        kern_arg *a = &k->arg[k->n_arg++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", k->out[o].name);
        a->space = k->out[o].space;
        a->role = ARG_OUTPUT;
        a->slot = o;
        a->accumulate = k->out[o].accumulate;
    }
    if (k->meta_adj && k->n_arg < KERN_MAX_ARG) {
        kern_arg *a = &k->arg[k->n_arg++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "adj_meta");
        a->role = ARG_META_ADJ;
        a->accumulate = 1;
    }
    k->n_meta = d->n_meta;
    free(live);
    free(slot_used);
}
