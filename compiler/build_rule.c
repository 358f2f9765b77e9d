/* build_rule — rule expressions to DAG nodes, and the rule's two kernels. */
#include "config.h"
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bctx {
    const sema_program *p;
    const sema_rule *r;
    dag *d;
    int nb;               /* the neighbour whose signals a neuron value being built reads (pre[d].g) */
    int bare;              /* a neuron kernel: the neuron's signals are inputs "z", "ztop", ... */
    int mlp_inputs;        /* a dw kernel: values bound to a meta-MLP are inputs "pre_a", "post_b" */
} bctx;

static int build_expr(bctx *c, const ast_expr *e, int side);

void build_signal_name(char *buf, size_t len, int side, int signal)
{
    build_read_name(buf, len, side, signal, 0, 0);
}

void build_read_name(char *buf, size_t len, int side, int signal, int step, int nb)
{
    int n = snprintf(buf, len, "%s_%s", side == SIDE_POST ? "post" : "pre", sema_signal_names[signal]);
    if (step > 0 && n > 0 && (size_t)n < len) n += snprintf(buf + n, len - (size_t)n, "_t%d", step);
    if (nb != 0 && n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, "_%c%d", nb < 0 ? 'm' : 'p', abs(nb));
}

static int signal_node(bctx *c, int side, int signal, int step, int nb)
{
    char name[48];
    if (c->bare) snprintf(name, sizeof name, "%s", sema_signal_names[signal]);   /* a neuron kernel's own signals */
    else build_read_name(name, sizeof name, side, signal, step, nb);
    int space = (side == SIDE_POST ? SP_POST : SP_PRE) | SP_SAMPLE;
    return dag_input_node(c->d, dag_input_slot(c->d, name, space));
}

/* x^p with a small constant p becomes products: cheaper and exact at x <= 0. */
static int build_pow(bctx *c, int x, int p)
{
    const dag_node *pn = &c->d->node[p];
    if (pn->op == OP_CONST) {
        if (pn->value == 1) return x;
        if (pn->value == 2) return dag_mul(c->d, x, x);
        if (pn->value == 3) return dag_mul(c->d, dag_mul(c->d, x, x), x);
        if (pn->value == 0.5) return dag_unary(c->d, OP_SQRT, x);
    }
    return dag_binary(c->d, OP_POW, x, p);
}

/* act(x) of an mlp layer */
static int activate(bctx *c, sema_act act, double arg, int x)
{
    switch (act) {
    case ACT_RELU: return dag_unary(c->d, OP_RELU, x);
    case ACT_TANH: return dag_unary(c->d, OP_TANH, x);
    case ACT_SIGMOID: return dag_unary(c->d, OP_SIGMOID, x);
    case ACT_SOFTPLUS: return dag_binary(c->d, OP_SOFTPLUS, x, dag_const(c->d, arg));
    default: return x;
    }
}

/* The outputs of the meta-MLP CALL inlined into OUT, one scalar expression
 * per unit: h_l[o] = act_l(sum_i W_l[o,i] h_{l-1}[i] + b_l[o]), W_l
 * row-major, then b_l, per layer.  The DAG grows with the MLP's size, but
 * the hoisting of lower.c factors the first layer (W_1[o,i] x_i of a
 * per-neuron input x_i is computed once per neuron) and the JIT vectorises
 * the rest over synapses: the fastest code for small MLPs. */
static void inline_mlp(bctx *c, const ast_expr *call, int side, int *out)
{
    const sema_mlp *net = c->p->mlps[c->r->mlps[call->ref]];
    int off = c->r->mlp_offset[call->ref];
    int width = net->n_in;
    int *h = malloc((size_t)(width > 0 ? width : 1) * sizeof *h);
    if (!h) { fputs("plastcc: out of memory\n", stderr); abort(); }
    for (int i = 0; i < width; i++) h[i] = build_expr(c, call->args[i], side);
    for (int l = 0; l < net->n_layers; l++) {
        int w_out = net->width[l];
        int *next = malloc((size_t)w_out * sizeof *next);
        if (!next) { fputs("plastcc: out of memory\n", stderr); abort(); }
        for (int o = 0; o < w_out; o++) {
            int acc = dag_param(c->d, off + o * width);
            acc = dag_mul(c->d, acc, h[0]);
            for (int i = 1; i < width; i++)
                acc = dag_add(c->d, acc, dag_mul(c->d, dag_param(c->d, off + o * width + i), h[i]));
            acc = dag_add(c->d, acc, dag_param(c->d, off + w_out * width + o));
            next[o] = activate(c, net->act[l], net->act_arg[l], acc);
        }
        off += w_out * width + w_out;
        free(h);
        h = next;
        width = w_out;
    }
    memcpy(out, h, (size_t)width * sizeof *out);
    free(h);
}

/* The activation of an mlp layer as libplast's meta-MLP routines number it. */
static int mlp_act(sema_act act)
{
    switch (act) {
    case ACT_RELU: return PLAST_MLP_RELU;
    case ACT_TANH: return PLAST_MLP_TANH;
    case ACT_SIGMOID: return PLAST_MLP_SIGMOID;
    case ACT_SOFTPLUS: return PLAST_MLP_SOFTPLUS;
    default: return PLAST_MLP_IDENTITY;
    }
}

/* The outputs of the meta-MLP CALL into OUT: one mlp_out node each, at the
 * pack of its arguments (runtime/mlp.c computes them with loops over the
 * hidden units): code and compile time independent of the MLP's width. */
static void call_mlp(bctx *c, const ast_expr *call, int side, int *out)
{
    const sema_mlp *net = c->p->mlps[c->r->mlps[call->ref]];
    int n_shape = 2 + 3 * net->n_layers;
    double *shape = malloc((size_t)n_shape * sizeof *shape);
    int *xs = malloc((size_t)net->n_in * sizeof *xs);
    if (!shape || !xs) { fputs("plastcc: out of memory\n", stderr); abort(); }
    shape[0] = net->n_in;
    shape[1] = net->n_layers;
    for (int l = 0; l < net->n_layers; l++) {
        shape[2 + 3 * l] = net->width[l];
        shape[3 + 3 * l] = mlp_act(net->act[l]);
        shape[4 + 3 * l] = net->act_arg[l];
    }
    for (int i = 0; i < net->n_in; i++) xs[i] = build_expr(c, call->args[i], side);
    int mlp = dag_mlp_declare(c->d, shape, n_shape, c->r->mlp_offset[call->ref]);
    int pack = dag_pack(c->d, xs, net->n_in);
    for (int k = 0; k < net->n_out; k++) out[k] = dag_mlp_out(c->d, mlp, pack, k);
    free(shape);
    free(xs);
}

/* A meta-MLP with more weights than this is called (call_mlp), a smaller
 * one inlined (inline_mlp).  Called, an MLP compiles in milliseconds
 * whatever its size (HAT's 3-100-1: 70 ms against 2-3 s inlined) and runs
 * about as fast (libplast's lane routines, one backward pass per call for
 * all its derivatives); a tiny one inlined skips the call and has its first
 * layer factored (docs/architecture.md).  PLASTCC_MLP_INLINE_MAX overrides
 * the threshold (tests run every MLP rule both ways). */
enum { MLP_INLINE_MAX = 64 };

static void expand_mlp(bctx *c, const ast_expr *call, int side, int *out)
{
    const char *env = getenv("PLASTCC_MLP_INLINE_MAX");
    long max = env && *env ? strtol(env, NULL, 10) : MLP_INLINE_MAX;
    if (c->p->mlps[c->r->mlps[call->ref]]->n_weights <= max) inline_mlp(c, call, side, out);
    else call_mlp(c, call, side, out);
}

int build_value_is_mlp(const sema_rule *r, int value)
{
    return r->neurons[r->values[value].neuron].stmt->value->ref_kind == REF_MLP;
}

/* A neuron value at SIDE: its expression inlined, or, for a value of a
 * meta-MLP in a dw kernel, the input the rule's neurons kernel computes. */
static int build_neuron_value(bctx *c, int value, int side)
{
    const sema_value *v = &c->r->values[value];
    const sema_neuron *n = &c->r->neurons[v->neuron];
    const ast_expr *e = n->stmt->value;
    if (e->ref_kind == REF_MLP && c->mlp_inputs) {
        char name[300];
        snprintf(name, sizeof name, "%s_%s", side == SIDE_POST ? "post" : "pre", v->name);
        int space = (side == SIDE_POST ? SP_POST : SP_PRE) | SP_SAMPLE;
        return dag_input_node(c->d, dag_input_slot(c->d, name, space));
    }
    if (e->ref_kind == REF_MLP) {
        int outs[4096];
        const sema_mlp *net = c->p->mlps[c->r->mlps[e->ref]];
        if (net->n_out > 4096) return dag_const(c->d, 0);
        expand_mlp(c, e, side, outs);
        return outs[v->output];
    }
    return build_expr(c, e, side);
}

static int build_call(bctx *c, const ast_expr *e, int side)
{
    dag *d = c->d;
    if (e->ref_kind == REF_MLP) {
        int out;
        expand_mlp(c, e, side, &out);
        return out;
    }
    int a = build_expr(c, e->args[0], side);
    if (e->ref_kind == REF_REDUCE) {
        switch (e->ref) {
        case RED_SUM_PRE: return dag_reduce(d, OP_SUM_PRE, a);
        case RED_SUM_POST: return dag_reduce(d, OP_SUM_POST, a);
        case RED_SUM_SYN: return dag_reduce(d, OP_SUM_POST, dag_reduce(d, OP_SUM_PRE, a));
        case RED_SUM_BATCH: return dag_reduce(d, OP_SUM_BATCH, a);
        default: return dag_div(d, dag_reduce(d, OP_SUM_BATCH, a), dag_size(d, SIZE_BATCH));
        }
    }
    dag_op op = (dag_op)e->ref;   /* a rule function (ops.def) */
    if (dag_ops[op].arity == 1) return dag_unary(d, op, a);
    int b = e->n_args > 1 ? build_expr(c, e->args[1], side) : dag_const(d, dag_ops[op].fallback);
    return op == OP_POW ? build_pow(c, a, b) : dag_binary(d, op, a, b);
}

/* SIDE is where a neuron definition's own signals live (SIDE_PRE/SIDE_POST);
 * in rule context it is unused. */
static int build_expr(bctx *c, const ast_expr *e, int side)
{
    dag *d = c->d;
    switch (e->ref_kind) {
    case REF_NUM: return dag_const(d, e->num);
    case REF_PARAM: return dag_param(d, c->r->params[e->ref].offset);
    case REF_PARAM_ELEM: return dag_param(d, c->r->params[e->ref].offset + e->index);
    case REF_WEIGHT: return dag_input_node(d, dag_input_slot(d, "w", SP_SYN));
    case REF_SIZE: return dag_size(d, e->ref);
    case REF_SIGNAL:
        if (e->side == SIDE_SELF) return signal_node(c, side, e->ref, e->step, c->nb);
        return signal_node(c, e->side, e->ref, e->step, e->nb);
    case REF_NEURON: {
        if (e->side == SIDE_SELF) return build_neuron_value(c, e->ref, side);
        int saved = c->nb;
        c->nb = e->nb;
        int v = build_neuron_value(c, e->ref, e->side);
        c->nb = saved;
        return v;
    }
    case REF_LET: return build_expr(c, c->r->lets[e->ref].value, side);
    case REF_FUNC: case REF_REDUCE: case REF_MLP: return build_call(c, e, side);
    default: break;
    }
    if (e->kind == EX_NEG) return dag_neg(d, build_expr(c, e->lhs, side));
    if (e->kind == EX_BIN) {
        int a = build_expr(c, e->lhs, side), b = build_expr(c, e->rhs, side);
        switch (e->op) {
        case '+': return dag_add(d, a, b);
        case '-': return dag_sub(d, a, b);
        case '*': return dag_mul(d, a, b);
        case '/': return dag_div(d, a, b);
        default: return build_pow(c, a, b);
        }
    }
    return dag_const(d, 0);
}

static void name_meta(const sema_program *p, const sema_rule *r, dag *d)
{
    d->n_meta = r->n_meta;
    d->meta_name = calloc((size_t)(r->n_meta ? r->n_meta : 1), sizeof *d->meta_name);
    d->meta_fixed = calloc((size_t)(r->n_meta ? r->n_meta : 1), 1);
    char buf[160];
    for (int i = 0; i < r->n_params; i++) {
        const sema_param *prm = &r->params[i];
        for (int k = 0; k < (prm->size ? prm->size : 1); k++) {
            d->meta_fixed[prm->offset + k] = (unsigned char)prm->fixed;
            if (prm->size) snprintf(buf, sizeof buf, "%s[%d]", prm->name, k);
            else snprintf(buf, sizeof buf, "%s", prm->name);
            d->meta_name[prm->offset + k] = strdup(buf);
        }
    }
    for (int m = 0; m < r->n_mlps; m++) {
        const sema_mlp *net = p->mlps[r->mlps[m]];
        int off = r->mlp_offset[m], width = net->n_in;
        for (int l = 0; l < net->n_layers; l++) {
            for (int o = 0; o < net->width[l]; o++)
                for (int i = 0; i < width; i++) {
                    snprintf(buf, sizeof buf, "%s.W%d[%d,%d]", net->name, l + 1, o, i);
                    d->meta_name[off++] = strdup(buf);
                }
            for (int o = 0; o < net->width[l]; o++) {
                snprintf(buf, sizeof buf, "%s.b%d[%d]", net->name, l + 1, o);
                d->meta_name[off++] = strdup(buf);
            }
            width = net->width[l];
        }
    }
}

/* The kernels of one dw of R: NAME_fwd, NAME_adj, NAME_step for `dw = ...;`,
 * NAME_topdown_* and NAME_lateral_* for the other kinds. */
void build_rule_dw(const sema_program *p, const sema_rule *r, int kind, rule_kernels *rk)
{
    memset(rk, 0, sizeof *rk);
    rk->kind = kind;
    dag *d = rk->d = dag_new();
    name_meta(p, r, d);
    bctx c = { p, r, d, 0, 0, 1 };
    char name[64];
    build_rule_kernel_name(name, sizeof name, r, kind);
    /* Declare w and the signals first, so slots have a stable order. */
    dag_input_slot(d, "w", SP_SYN);
    int written = build_expr(&c, r->dw_of[kind], SIDE_PRE);
    int dw = dag_factor_rank1(d, written);
    if (d->node[dw].space & SP_SAMPLE) {   /* dw is the mean over the batch */
        dw = dag_div(d, dag_reduce(d, OP_SUM_BATCH, dw), dag_size(d, SIZE_BATCH));
        written = dag_div(d, dag_reduce(d, OP_SUM_BATCH, written), dag_size(d, SIZE_BATCH));
    }
    rk->dw = dw;
    char formula[900];   /* as written, for the kernels' opening comment */
    int head = snprintf(formula, sizeof formula, "dw%s%s = ", kind ? " " : "", kind ? sema_dw_kind_names[kind] : "");
    dag_format(d, written, formula + head, sizeof formula - (size_t)head);
    kern_output_spec out = { "dw", dw, SP_SYN };
    kern_pair_build(d, name, &out, 1, formula, NULL, &rk->fwd, &rk->adj);
    /* The runtime's inner loop applies the update in the pass that computes
     * it (dw is never stored): w + dw, rounded once, in the element type. */
    int w = dag_input_node(d, dag_input_slot(d, "w", SP_SYN));
    kern_output_spec next = { "w_next", dag_add(d, w, dw), SP_SYN };
    char comment[1024];
    snprintf(comment, sizeof comment, "%s, one inner step: w_next = w + dw, %.900s", name, formula);
    kern_single_build(d, name, "step", &next, 1, comment, &rk->step);
}

void build_rule_step_dense(const sema_model *m, int l, const rule_kernels *rk, kern *out)
{
    dag *d = rk->d;
    int w = dag_input_node(d, dag_input_slot(d, "w", SP_SYN));
    int w_next = dag_add(d, w, rk->dw);
    int y, z = build_dense_over(d, m, l, w_next, dag_input_node(d, dag_input_slot(d, "pre_y_next", SP_PRE | SP_SAMPLE)),
                                &y);
    kern_output_spec outs[3] = { { "w_next", w_next, SP_SYN }, { "post_z_next", z, SP_POST | SP_SAMPLE },
                                 { "post_y_next", y, SP_POST | SP_SAMPLE } };
    char suffix[80], comment[sizeof out->comment];
    snprintf(suffix, sizeof suffix, "step_%s_dense%d", m->name, l + 1);
    snprintf(comment, sizeof comment, "the next inner step's %s_dense%d over w_next (post_z_next, post_y_next from "
             "pre_y_next) in the same pass over W as %.900s", m->name, l + 1, rk->step.comment);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(strlen(rk->step.name) - 5), rk->step.name);
    kern_single_build(d, name, suffix, outs, 3, comment, out);
}

void build_rule_adj_input(const rule_kernels *rk, kern *out)
{
    static const char *const data[] = { "adj_pre_y", "adj_pre_z", NULL };
    char name[64];
    snprintf(name, sizeof name, "%.57s_input", rk->adj.name);
    kern_adj_without(&rk->adj, name, data, out);
    char comment[sizeof out->comment];
    snprintf(comment, sizeof comment, "%.700s; at a projection from the model's input, whose signals are data: no "
             "adj_pre_y, adj_pre_z", rk->adj.comment);
    snprintf(out->comment, sizeof out->comment, "%s", comment);
}

void build_rule(const sema_program *p, const sema_rule *r, rule_kernels *rk)
{
    int kind = 0;
    while (kind + 1 < DW_KINDS && !r->dw_of[kind]) kind++;
    build_rule_dw(p, r, kind, rk);
}

void build_rule_kernel_name(char *buf, size_t len, const sema_rule *r, int kind)
{
    if (kind == DW_FORWARD) snprintf(buf, len, "%s", r->name);
    else snprintf(buf, len, "%s_%s", r->name, sema_dw_kind_names[kind]);
}

/* RULE_neuron_NAME: value NAME of one neuron (per sample) from its own
 * signals, the inputs "z", "ztop", ...; the output NAME; and its adjoint. */
void build_neuron_kernel(const sema_program *p, const sema_rule *r, int value, model_kernel *k)
{
    dag *d = k->d = dag_new();
    name_meta(p, r, d);
    bctx c = { p, r, d, 0, 1, 0 };
    const sema_value *v = &r->values[value];
    int node = build_neuron_value(&c, value, SIDE_PRE);
    char name[64], comment[600];
    snprintf(name, sizeof name, "%s_neuron_%s", r->name, v->name);
    const ast_stmt *def = r->neurons[v->neuron].stmt;
    const src_file *f = diag_file(def->span.file);
    snprintf(comment, sizeof comment, "the neuron value %s of rule %s, per neuron and sample: %.*s", v->name, r->name,
             f && def->span.end <= f->len ? (int)(def->span.end - def->span.begin) : 0,
             f ? f->text + def->span.begin : "");
    kern_output_spec out = { v->name, node, SP_PRE | SP_SAMPLE };
    kern_pair_build(d, name, &out, 1, comment, NULL, &k->fwd, &k->adj);
}

void rule_kernels_free(rule_kernels *rk)
{
    kern_pair_free(&rk->fwd, &rk->adj);
    dag_free(rk->d);
    memset(rk, 0, sizeof *rk);
}

/* RULE_neurons: every value of R bound to a meta-MLP, per neuron and sample,
 * from the neuron's own signals; outputs named after the values. */
void build_neurons_kernel(const sema_program *p, const sema_rule *r, model_kernel *k)
{
    dag *d = k->d = dag_new();
    name_meta(p, r, d);
    bctx c = { p, r, d, 0, 1, 0 };
    kern_output_spec *outs = calloc((size_t)r->n_values + 1, sizeof *outs);
    int n = 0;
    char names[600] = "";
    for (int v = 0; v < r->n_values; v++) {
        if (!build_value_is_mlp(r, v)) continue;
        outs[n++] = (kern_output_spec){ r->values[v].name, build_neuron_value(&c, v, SIDE_PRE), SP_PRE | SP_SAMPLE };
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", r->values[v].name);
    }
    char name[64], comment[800];
    snprintf(name, sizeof name, "%s_neurons", r->name);
    snprintf(comment, sizeof comment, "the meta-MLP values of rule %s (%s), per neuron and sample, from the "
             "neuron's own signals", r->name, names);
    kern_pair_build(d, name, outs, n, comment, NULL, &k->fwd, &k->adj);
    free(outs);
}
