/* kernel — the argument list of a kernel, derived from what it reads. */
#include "config.h"
#include "kernel.h"
#include "diff.h"

#include <stdlib.h>
#include <string.h>

char *kern_live(const kern *k)
{
    const dag *d = k->d;
    char *live = calloc((size_t)d->n + 1, 1);
    for (int o = 0; o < k->n_out; o++) if (k->out[o].node >= 0) live[k->out[o].node] = 1;
    for (int m = 0; k->meta_adj && m < d->n_meta; m++) if (k->meta_adj[m] >= 0) live[k->meta_adj[m]] = 1;
    for (int g = 0; g < k->n_mlp_grads; g++) live[k->mlp_grads[g]] = 1;
    for (int id = d->n - 1; id >= 0; id--) {
        if (!live[id]) continue;
        for (int a = 0; a < 2; a++) if (d->node[id].arg[a] >= 0) live[d->node[id].arg[a]] = 1;
    }
    return live;
}

void kern_finish_args(kern *k)
{
    const dag *d = k->d;
    char *live = kern_live(k);
    int uses_meta = 0;
    char *slot_used = calloc((size_t)d->n_input + 1, 1);
    for (int id = 0; id < d->n; id++) {
        if (!live[id]) continue;
        if (d->node[id].op == OP_INPUT) slot_used[d->node[id].aux] = 1;
        if (d->node[id].op == OP_PARAM || (dag_ops[d->node[id].op].kind == OPK_MLPCALL && d->node[id].op != OP_PACK))
            uses_meta = 1;
    }
    k->n_arg = 0;
    for (int s = 0; s < d->n_input && k->n_arg < KERN_MAX_ARG; s++) {
        if (!slot_used[s]) continue;
        kern_arg *a = &k->arg[k->n_arg++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", d->input[s].name);
        a->space = d->input[s].space;
        a->role = PLAST_ROLE_INPUT;
        a->slot = s;
    }
    if (uses_meta && k->n_arg < KERN_MAX_ARG) {
        kern_arg *a = &k->arg[k->n_arg++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "meta");
        a->role = PLAST_ROLE_META;
    }
    for (int o = 0; o < k->n_out && k->n_arg < KERN_MAX_ARG; o++) {
        kern_arg *a = &k->arg[k->n_arg++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", k->out[o].name);
        a->space = k->out[o].space;
        a->role = k->out[o].accumulate ? PLAST_ROLE_ACCUMULATE : PLAST_ROLE_OUTPUT;
        a->slot = o;
    }
    if (k->meta_adj && k->n_arg < KERN_MAX_ARG) {
        kern_arg *a = &k->arg[k->n_arg++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "adj_meta");
        a->role = PLAST_ROLE_ADJ_META;
    }
    k->n_meta = d->n_meta;
    free(live);
    free(slot_used);
}

static void init_kern(kern *k, dag *d, const char *name, const char *suffix)
{
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s_%s", name, suffix);
    k->d = d;
}

static void add_out(kern *k, const char *name, int node, int space, int accumulate)
{
    if (k->n_out == KERN_MAX_OUT) return;
    kern_out *o = &k->out[k->n_out++];
    snprintf(o->name, sizeof o->name, "%.47s", name);
    o->node = node;
    o->space = space;
    o->accumulate = accumulate;
}

static int listed(const char *const *names, const char *name)
{
    for (int k = 0; names && names[k]; k++) if (!strcmp(names[k], name)) return 1;
    return 0;
}

void kern_single_build(dag *d, const char *name, const char *suffix, const kern_output_spec *outs, int n_out,
                       const char *comment, kern *k)
{
    init_kern(k, d, name, suffix);
    snprintf(k->comment, sizeof k->comment, "%s", comment);
    for (int o = 0; o < n_out; o++) add_out(k, outs[o].name, outs[o].node, outs[o].space, 0);
    kern_finish_args(k);
}

void kern_pair_build(dag *d, const char *name, const kern_output_spec *outs, int n_out,
                     const char *comment, const char *const *no_adj, kern *fwd, kern *adj)
{
    char fwd_comment[sizeof fwd->comment];
    snprintf(fwd_comment, sizeof fwd_comment, "%s, forward: %s", name, comment);
    kern_single_build(d, name, "fwd", outs, n_out, fwd_comment, fwd);
    init_kern(adj, d, name, "adj");

    int n_inputs = d->n_input;
    int *roots = malloc((size_t)(n_out + 1) * sizeof *roots), *seeds = malloc((size_t)(n_out + 1) * sizeof *seeds);
    char seed_name[64];
    for (int o = 0; o < n_out; o++) {
        snprintf(seed_name, sizeof seed_name, "adj_%.40s", outs[o].name);
        roots[o] = outs[o].node;
        seeds[o] = dag_input_node(d, dag_input_slot(d, seed_name, outs[o].space));
    }
    int n_before = d->n;
    int *adjv = malloc((size_t)(n_before + 1) * sizeof *adjv);
    adj->n_mlp_grads = diff_adjoint(d, roots, seeds, n_out, adjv, &adj->mlp_grads);
    for (int s = 0; s < n_inputs; s++) {
        if (listed(no_adj, d->input[s].name)) continue;
        char out_name[64];
        snprintf(out_name, sizeof out_name, "adj_%.40s", d->input[s].name);
        int node = -1;
        for (int id = 0; id < n_before; id++)
            if (d->node[id].op == OP_INPUT && d->node[id].aux == s) node = adjv[id];
        /* an input the outputs do not depend on has nothing to add: no
         * argument (the episode then reads a state's seed adj(S_{t+1}) in
         * place: feedback alignment's SGD reads no w) */
        if (node >= 0) add_out(adj, out_name, node, d->input[s].space, 1);
    }
    if (d->n_meta > 0) {
        adj->meta_adj = malloc((size_t)d->n_meta * sizeof(int));
        for (int m = 0; m < d->n_meta; m++) adj->meta_adj[m] = -1;
        for (int id = 0; id < n_before; id++)
            if (d->node[id].op == OP_PARAM && !(d->meta_fixed && d->meta_fixed[d->node[id].index]))
                adj->meta_adj[d->node[id].index] = adjv[id];   /* a fixed parameter is a constant: no adjoint */
    }
    snprintf(adj->comment, sizeof adj->comment,
             "%s, adjoint: given the adjoints of its outputs, accumulates the adjoints of its inputs%s",
             name, d->n_meta > 0 ? " and of the meta-parameters" : "");
    free(adjv);
    free(roots);
    free(seeds);
    kern_finish_args(adj);
}

void kern_pair_free(kern *fwd, kern *adj)
{
    free(fwd->meta_adj);
    free(adj->meta_adj);
    free(adj->mlp_grads);
    fwd->meta_adj = adj->meta_adj = NULL;
    adj->mlp_grads = NULL;
    adj->n_mlp_grads = 0;
}

void kern_adj_without(const kern *adj, const char *name, const char *const *drop, kern *out)
{
    *out = *adj;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->n_out = 0;
    for (int o = 0; o < adj->n_out; o++)
        if (!listed(drop, adj->out[o].name)) out->out[out->n_out++] = adj->out[o];
    size_t n_meta = (size_t)adj->d->n_meta;
    out->meta_adj = adj->meta_adj ? malloc((n_meta ? n_meta : 1) * sizeof(int)) : NULL;
    if (out->meta_adj) memcpy(out->meta_adj, adj->meta_adj, n_meta * sizeof(int));
    out->mlp_grads = adj->n_mlp_grads ? malloc((size_t)adj->n_mlp_grads * sizeof(int)) : NULL;
    if (out->mlp_grads) memcpy(out->mlp_grads, adj->mlp_grads, (size_t)adj->n_mlp_grads * sizeof(int));
    kern_finish_args(out);
}

void kern_copy_free(kern *k)
{
    free(k->meta_adj);
    free(k->mlp_grads);
    k->meta_adj = k->mlp_grads = NULL;
    k->n_mlp_grads = 0;
}

/* Node ID of D rebuilt with its arguments through MAP (not a leaf, not a
 * meta-MLP call): the node copied first, as the constructors may move the
 * array. */
static int rebuild_node(dag *d, int id, const int *map)
{
    dag_node n = d->node[id];
    switch (dag_ops[n.op].kind) {
    case OPK_REDUCE: return dag_reduce(d, (dag_op)n.op, map[n.arg[0]]);
    case OPK_ROW: return dag_kcap(d, map[n.arg[0]], n.index);
    default:
        if (dag_ops[n.op].arity == 1) return dag_unary(d, (dag_op)n.op, map[n.arg[0]]);
        return dag_binary(d, (dag_op)n.op, map[n.arg[0]], map[n.arg[1]]);
    }
}

void kern_adj_reads_outputs(const kern *fwd, kern *adj, const char *const *names)
{
    dag *d = adj->d;
    if (d->n_mlp > 0) return;
    int n0 = d->n, changed = 0;
    int *map = malloc((size_t)(n0 + 1) * sizeof *map);
    for (int id = 0; id < n0; id++) map[id] = -1;
    for (int o = 0; o < fwd->n_out; o++) {
        const kern_out *ko = &fwd->out[o];
        if (!listed(names, ko->name) || ko->accumulate || ko->node < 0 || ko->space != d->node[ko->node].space) continue;
        if (dag_ops[d->node[ko->node].op].kind == OPK_LEAF) continue;
        map[ko->node] = dag_input_node(d, dag_input_slot(d, ko->name, ko->space));
        changed = 1;
    }
    for (int id = 0; changed && id < n0; id++) {
        if (map[id] >= 0) continue;
        const dag_node *n = &d->node[id];
        map[id] = id;
        if (dag_ops[n->op].kind == OPK_LEAF || dag_ops[n->op].kind == OPK_MLPCALL) continue;
        int moved = 0;
        for (int a = 0; a < dag_ops[n->op].arity; a++) moved |= n->arg[a] >= 0 && map[n->arg[a]] != n->arg[a];
        if (moved) map[id] = rebuild_node(d, id, map);
    }
    if (changed) {
        for (int o = 0; o < adj->n_out; o++)
            if (adj->out[o].node >= 0 && adj->out[o].node < n0) adj->out[o].node = map[adj->out[o].node];
        for (int m = 0; adj->meta_adj && m < d->n_meta; m++)
            if (adj->meta_adj[m] >= 0 && adj->meta_adj[m] < n0) adj->meta_adj[m] = map[adj->meta_adj[m]];
        kern_finish_args(adj);
    }
    free(map);
}
