/* surrogate — the probe and surrogate-form kernels of a forward kernel
 * through kcap (see surrogate.h). */
#include "config.h"
#include "surrogate.h"

#include <stdlib.h>
#include <string.h>

/* The forward DAG rebuilt in S's own DAG, each kcap (the NTH) as
 * z + kcap_shiftNTH; the probe's outputs name the kcaps and their arguments.
 * MAP[id] is a live node's copy. */
static void rewrite(const dag *d, const char *live, surrogate *s, kern_output_spec *probe, char (*names)[48],
                    int *map)
{
    int nth = 0;
    for (int id = 0; id < d->n; id++) {
        map[id] = -1;
        if (!live[id]) continue;
        const dag_node *n = &d->node[id];
        if (n->op != OP_KCAP) { map[id] = dag_copy_node(s->sur_dag, d, id, map); continue; }
        char shift[48];
        snprintf(shift, sizeof shift, "kcap_shift%d", nth);
        map[id] = dag_add(s->sur_dag, map[n->arg[0]], dag_input_node(s->sur_dag, dag_input_slot(s->sur_dag, shift, n->space)));
        snprintf(names[2 * nth], sizeof names[0], "kcap_val%d", nth);
        snprintf(names[2 * nth + 1], sizeof names[0], "kcap_arg%d", nth);
        probe[2 * nth] = (kern_output_spec){ names[2 * nth], id, n->space };
        probe[2 * nth + 1] = (kern_output_spec){ names[2 * nth + 1], n->arg[0], n->space };
        nth++;
    }
}

int surrogate_build(const kern *f, surrogate *s)
{
    const dag *d = f->d;
    size_t len = strlen(f->name);
    if (len < 4 || strcmp(f->name + len - 4, "_fwd")) return 0;
    char *live = kern_live(f);
    int n = 0;
    for (int id = 0; id < d->n; id++) n += live[id] && d->node[id].op == OP_KCAP;
    if (!n || n > SURROGATE_MAX_KCAP) { free(live); return 0; }
    memset(s, 0, sizeof *s);
    snprintf(s->base, sizeof s->base, "%.*s", (int)len - 4, f->name);
    s->n_kcap = n;
    s->sur_dag = dag_new();
    s->sur_dag->n_meta = d->n_meta;
    kern_output_spec probe[2 * SURROGATE_MAX_KCAP], outs[KERN_MAX_OUT];
    char names[2 * SURROGATE_MAX_KCAP][48];
    int *map = malloc((size_t)(d->n + 1) * sizeof *map);
    rewrite(d, live, s, probe, names, map);
    for (int o = 0; o < f->n_out; o++)
        outs[o] = (kern_output_spec){ f->out[o].name, f->out[o].node >= 0 ? map[f->out[o].node] : -1, f->out[o].space };
    kern_single_build(f->d, s->base, "gcprobe", probe, 2 * n, "gradcheck: the kcaps and their arguments", &s->probe);
    kern_single_build(s->sur_dag, s->base, "gcsur", outs, f->n_out, "gradcheck: the surrogate form", &s->sur);
    lower_kernel_build(&s->probe, &s->lprobe);
    lower_kernel_build(&s->sur, &s->lsur);
    free(map);
    free(live);
    return 1;
}

void surrogate_free(surrogate *s)
{
    lower_kernel_free(&s->lprobe);
    lower_kernel_free(&s->lsur);
    dag_free(s->sur_dag);
    memset(s, 0, sizeof *s);
}
