/* build_model — the kernels of a model block: dense layers, the feedback
 * pathway's error signals and the loss, each with its generated adjoint (see
 * build.h).  The activation derivatives come from the operator table's
 * partials, so act' here and act'' in the adjoint are exact by construction. */
#include "config.h"
#include "build.h"
#include "diff.h"

#include <stdlib.h>
#include <string.h>

static int input(dag *d, const char *name, int space)
{
    return dag_input_node(d, dag_input_slot(d, name, space));
}

/* act(z) for a hidden or output activation; softmax is over the post index. */
static int activation(dag *d, sema_act act, double arg, int z)
{
    switch (act) {
    case ACT_RELU: return dag_unary(d, OP_RELU, z);
    case ACT_TANH: return dag_unary(d, OP_TANH, z);
    case ACT_SIGMOID: return dag_unary(d, OP_SIGMOID, z);
    case ACT_SOFTPLUS: return dag_binary(d, OP_SOFTPLUS, z, dag_const(d, arg));
    case ACT_SOFTMAX: {
        /* the max is a constant shift: softmax does not depend on it */
        int m = dag_unary(d, OP_NOGRAD, dag_reduce(d, OP_MAX_POST, z));
        int ex = dag_unary(d, OP_EXP, dag_sub(d, z, m));
        return dag_div(d, ex, dag_reduce(d, OP_SUM_POST, ex));
    }
    case ACT_KCAP: return dag_kcap(d, z, (int)arg);
    default: return z;   /* identity */
    }
}



/* act'(z) as a node: the operator table's partial of act at z (for kcap the
 * straight-through surrogate 1, so act'' is 0). */
static int activation_slope(dag *d, sema_act act, double arg, int z)
{
    /* kcap's partial in ops.def is the constant 1; its row may be per pre
     * neuron here (the error kernel's pre_z), where kcap itself is not built */
    if (act == ACT_KCAP) return dag_const(d, 1);
    int y = activation(d, act, arg, z);
    if (y == z) return dag_const(d, 1);
    return diff_partial(d, y, 0);
}

static void name_kernel(char *buf, size_t len, const sema_model *m, const char *what, int layer)
{
    if (layer > 0) snprintf(buf, len, "%s_%s%d", m->name, what, layer);
    else snprintf(buf, len, "%s_%s", m->name, what);
}

/* z_l = W_l y_{l-1} (+ b_l with `bias`),  y_l = act_l(z_l).  A recurrent
 * layer runs this kernel at every step (x_1 = act(W_l x_0), then
 * x_t = act(M x_{t-1}) with n_pre = n_post = N); a readout layer is a dense
 * layer. */
int build_dense_over(dag *d, const sema_model *m, int l, int w, int pre_y, int *y)
{
    const sema_layer *L = &m->layers[l];
    int z = dag_reduce(d, OP_SUM_PRE, dag_mul(d, w, pre_y));
    if (L->bias) z = dag_add(d, z, input(d, "bias", SP_POST));
    *y = activation(d, L->act, L->act_arg, z);
    return z;
}

static void build_dense(const sema_model *m, int l, model_kernel *k)
{
    dag *d = k->d = dag_new();
    const sema_layer *L = &m->layers[l];
    int y, z = build_dense_over(d, m, l, input(d, "w", SP_SYN), input(d, "pre_y", SP_PRE | SP_SAMPLE), &y);
    kern_output_spec outs[2] = { { "post_z", z, SP_POST | SP_SAMPLE }, { "post_y", y, SP_POST | SP_SAMPLE } };
    char name[64], comment[224], kcap[64] = "";
    name_kernel(name, sizeof name, m, "dense", l + 1);
    if (L->act == ACT_KCAP) snprintf(kcap, sizeof kcap, " (1 for the %d largest z of each sample)", (int)L->act_arg);
    snprintf(comment, sizeof comment, "z_%d = W_%d y_%d%s, y_%d = %s(z_%d)%s%s", l + 1, l + 1, l, L->bias ? " + b" : "",
             l + 1, sema_act_names[L->act], l + 1, kcap,
             L->kind == LAYER_RECURRENT ? "; also each recurrent step, x_t = act(M x_{t-1})" : "");
    /* the first layer's input is data, which has no adjoint (a recurrent
     * layer's pre_y is its previous state, which has) */
    static const char *const data_in[] = { "pre_y", NULL };
    kern_pair_build(d, name, outs, 2, comment, l == 0 && L->kind != LAYER_RECURRENT ? data_in : NULL,
                    &k->fwd, &k->adj);
    /* act'(z) from the z the forward stored, not from another pass over W */
    static const char *const stored[] = { "post_z", NULL };
    kern_adj_reads_outputs(&k->fwd, &k->adj, stored);
}

/* e_{l-1} = (B_l e_l) * act_{l-1}'(z_{l-1});  e_0 = (B_1 e_1) * (1 - exp(-beta y_0)) */
static void build_error(const sema_model *m, int l, model_kernel *k)
{
    dag *d = k->d = dag_new();
    int fed = dag_reduce(d, OP_SUM_POST, dag_mul(d, input(d, "b", SP_SYN), input(d, "post_e", SP_POST | SP_SAMPLE)));
    int gate;
    char comment[160];
    if (l == 0) {
        double beta = m->layers[0].act == ACT_SOFTPLUS ? m->layers[0].act_arg : 1;
        int y0 = input(d, "pre_y", SP_PRE | SP_SAMPLE);
        gate = dag_sub(d, dag_const(d, 1), dag_unary(d, OP_EXP, dag_mul(d, dag_const(d, -beta), y0)));
        snprintf(comment, sizeof comment, "e_0 = (B_1 e) * (1 - exp(-%g y_0)), the synthetic input error", beta);
    } else {
        const sema_layer *below = &m->layers[l - 1];
        gate = activation_slope(d, below->act, below->act_arg, input(d, "pre_z", SP_PRE | SP_SAMPLE));
        snprintf(comment, sizeof comment, "e_%d = (B_%d e) * %s'(z_%d)%s", l, l + 1, sema_act_names[below->act], l,
                 below->act == ACT_KCAP ? ", kcap' := 1 (straight-through)" : "");
    }
    kern_output_spec out = { "pre_e", dag_mul(d, fed, gate), SP_PRE | SP_SAMPLE };
    char name[64];
    name_kernel(name, sizeof name, m, "error", l + 1);
    /* no adjoint for the data (layer 1's y_0) nor for fixed feedback B */
    const char *no_adj[3] = { NULL, NULL, NULL };
    int n_no = 0;
    if (l == 0 && m->layers[0].kind != LAYER_RECURRENT) no_adj[n_no++] = "pre_y";
    if (m->feedback != FB_SYMMETRIC) no_adj[n_no++] = "b";
    kern_pair_build(d, name, &out, 1, comment, no_adj, &k->fwd, &k->adj);
}

/* The error through the recurrent weights of layer l (1-based L+1 here):
 * e_s = (Brec_l e_{s+1}) * act_l'(z_s), s = T..1, b = Wrec_l (symmetric) or a
 * fixed Brec_l (random), stored like Wrec_l. */
static void build_rec_error(const sema_model *m, int l, model_kernel *k)
{
    dag *d = k->d = dag_new();
    const sema_layer *L = &m->layers[l];
    int fed = dag_reduce(d, OP_SUM_POST, dag_mul(d, input(d, "b", SP_SYN), input(d, "post_e", SP_POST | SP_SAMPLE)));
    int gate = activation_slope(d, L->act, L->act_arg, input(d, "pre_z", SP_PRE | SP_SAMPLE));
    char comment[160], name[64];
    snprintf(comment, sizeof comment, "e_s = (Brec_%d e_{s+1}) * %s'(z_s), the error of step s of layer %d%s", l + 1,
             sema_act_names[L->act], l + 1, L->act == ACT_KCAP ? ", kcap' := 1 (straight-through)" : "");
    kern_output_spec out = { "pre_e", dag_mul(d, fed, gate), SP_PRE | SP_SAMPLE };
    name_kernel(name, sizeof name, m, "recerror", l + 1);
    static const char *const fixed_b[] = { "b", NULL };
    kern_pair_build(d, name, &out, 1, comment, m->feedback == FB_SYMMETRIC ? NULL : fixed_b, &k->fwd, &k->adj);
}

/* cross-entropy: e_L = m (softmax(z) - t),  loss = m (logsumexp(z) - sum t z)
 * mse:           e_L = m (y - t) act'(z),  loss = m/2 sum (y - t)^2
 * with m the sample's mask (1: it counts in the loss, 0: unlabelled). */
static void build_loss(const sema_model *m, model_kernel *k)
{
    dag *d = k->d = dag_new();
    const sema_layer *out = &m->layers[m->n_layers - 1];
    int z = input(d, "post_z", SP_POST | SP_SAMPLE), t = input(d, "target", SP_POST | SP_SAMPLE);
    int mask = input(d, "mask", SP_SAMPLE);
    int e, loss;
    const char *comment;
    if (m->loss == LOSS_CROSS_ENTROPY) {
        int mx = dag_unary(d, OP_NOGRAD, dag_reduce(d, OP_MAX_POST, z));
        int ex = dag_unary(d, OP_EXP, dag_sub(d, z, mx));
        int sum = dag_reduce(d, OP_SUM_POST, ex);
        e = dag_sub(d, dag_div(d, ex, sum), t);
        int lse = dag_add(d, mx, dag_unary(d, OP_LOG, sum));
        loss = dag_sub(d, lse, dag_reduce(d, OP_SUM_POST, dag_mul(d, t, z)));
        comment = "cross-entropy on softmax: e_L = mask (softmax(z_L) - target), "
                  "loss = mask (logsumexp(z_L) - target . z_L)";
    } else {
        int y = activation(d, out->act, out->act_arg, z);
        int diff = dag_sub(d, y, t);
        e = dag_mul(d, diff, activation_slope(d, out->act, out->act_arg, z));
        loss = dag_mul(d, dag_const(d, 0.5), dag_reduce(d, OP_SUM_POST, dag_mul(d, diff, diff)));
        comment = "mean squared error: e_L = mask (y_L - target) act'(z_L), loss = mask/2 |y_L - target|^2";
    }
    /* target and mask are data: no adjoint */
    static const char *const data_in[] = { "target", "mask", NULL };
    kern_output_spec outs[2] = { { "post_e", dag_mul(d, mask, e), SP_POST | SP_SAMPLE },
                                 { "loss", dag_mul(d, mask, loss), SP_SAMPLE } };
    char name[64];
    name_kernel(name, sizeof name, m, "loss", 0);
    kern_pair_build(d, name, outs, 2, comment, data_in, &k->fwd, &k->adj);
}

void build_model_shift(const sema_model *m, model_kernels *mk)
{
    model_kernel *k = &mk->shift;
    dag *d = k->d = dag_new();
    int y = dag_reduce(d, OP_SUM_PRE, dag_mul(d, input(d, "p", SP_SYN), input(d, "pre_y", SP_PRE | SP_SAMPLE)));
    kern_output_spec out = { "post_y", y, SP_POST | SP_SAMPLE };
    char name[64];
    name_kernel(name, sizeof name, m, "shift", 0);
    static const char *const fixed[] = { "p", NULL };   /* the shift is a constant */
    kern_pair_build(d, name, &out, 1, "y_d = P_d y: the signal at the neuron d places away (cyclic), for a "
                    "rule's neighbour reads", fixed, &k->fwd, &k->adj);
}

int build_program_reads_neighbours(const sema_program *p)
{
    for (int r = 0; r < p->n_rules; r++)
        for (int i = 0; i < p->rules[r]->n_reads; i++)
            if (p->rules[r]->reads[i].nb) return 1;
    return 0;
}

/* z = W y: the input that a top-down or lateral projection W gives the
 * layer it feeds (ztop_l = Wtop_l carried_{l+1}, zlat_l = Wlat_l y_l). */
static void build_linear(const sema_model *m, model_kernel *k)
{
    dag *d = k->d = dag_new();
    int z = dag_reduce(d, OP_SUM_PRE, dag_mul(d, input(d, "w", SP_SYN), input(d, "pre_y", SP_PRE | SP_SAMPLE)));
    kern_output_spec out = { "post_z", z, SP_POST | SP_SAMPLE };
    char name[64];
    name_kernel(name, sizeof name, m, "linear", 0);
    kern_pair_build(d, name, &out, 1, "z = W y, the input of a top-down or lateral projection", NULL, &k->fwd,
                    &k->adj);
}

void build_model(const sema_model *m, model_kernels *mk)
{
    memset(mk, 0, sizeof *mk);
    mk->model = m;
    mk->n_layers = m->n_layers;
    mk->dense = calloc((size_t)m->n_layers, sizeof *mk->dense);
    mk->error = calloc((size_t)m->n_layers, sizeof *mk->error);
    mk->recerror = calloc((size_t)m->n_layers, sizeof *mk->recerror);
    for (int l = 0; l < m->n_layers; l++) {
        build_dense(m, l, &mk->dense[l]);
        if (m->feedback != FB_NONE) build_error(m, l, &mk->error[l]);
        if (m->feedback != FB_NONE && m->layers[l].kind == LAYER_RECURRENT) build_rec_error(m, l, &mk->recerror[l]);
    }
    build_loss(m, &mk->loss);
    if (m->topdown || m->lateral) build_linear(m, &mk->linear);
}

void model_kernel_free(model_kernel *k)
{
    if (!k->d) return;
    kern_pair_free(&k->fwd, &k->adj);
    dag_free(k->d);
}

void model_kernels_free(model_kernels *mk)
{
    for (int l = 0; l < mk->n_layers; l++) {
        model_kernel_free(&mk->dense[l]);
        model_kernel_free(&mk->error[l]);
        model_kernel_free(&mk->recerror[l]);
    }
    model_kernel_free(&mk->loss);
    model_kernel_free(&mk->shift);
    model_kernel_free(&mk->linear);
    free(mk->dense);
    free(mk->error);
    free(mk->recerror);
    memset(mk, 0, sizeof *mk);
}
