/* build — from checked rules (and, later, models) to kernels on the DAG.
 *
 * A rule gives two kernels sharing one DAG:
 *   NAME_fwd:  dw (per synapse; the implicit mean over the batch applied) from
 *              w, the signals the rule reads (pre_y, post_e, ...) and meta;
 *   NAME_adj:  given adj_dw, accumulates adj_w, adj_<signal> for every signal
 *              read, and adj_meta.
 * Neuron values are inlined at each end they are read (hash-consing keeps one
 * copy per end), except values bound to a meta-MLP, which the rule's neurons
 * kernel computes once per neuron and the dw kernels read as inputs (pre_a,
 * post_b); meta-MLP calls are expanded into dense layers of scalar nodes
 * whose weights are meta-parameters.
 */
#ifndef PLAST_BUILD_H
#define PLAST_BUILD_H

#include "kernel.h"
#include "sema.h"

typedef struct rule_kernels {
    dag *d;
    kern fwd, adj;
    kern step;            /* w_next = w + dw: the inner loop's update in one pass over W */
    int dw;               /* the dw node */
    int kind;             /* which dw of the rule (DW_*) */
} rule_kernels;

/* Builds the kernels of one dw of rule R (of KIND, which R defines):
 * NAME_fwd, NAME_adj, NAME_step for `dw = ...;`, NAME_topdown_* for
 * `dw topdown = ...;`, NAME_lateral_* for `dw lateral = ...;`.  build_rule
 * builds R's first dw in that order.  Free with rule_kernels_free. */
void build_rule_dw(const sema_program *p, const sema_rule *r, int kind, rule_kernels *out);
void build_rule(const sema_program *p, const sema_rule *r, rule_kernels *out);
void rule_kernels_free(rule_kernels *rk);
/* NAME_step_M_denseL: NAME_step (w_next = w + dw) and, over that w_next,
 * layer L's (0-based) dense forward of model M for the next inner step
 * (post_z_next, post_y_next from pre_y_next, build_dense_over): the update
 * of W_l and the next step's pass through it in one pass over W.  Appended
 * to RK's DAG before any of its kernels is lowered. */
void build_rule_step_dense(const sema_model *m, int l, const rule_kernels *rk, kern *out);
/* NAME_adj_input: NAME_adj without adj_pre_y and adj_pre_z, for the update
 * of a projection from the model's input (its presynaptic signals are data,
 * sched_adj_input).  Free with kern_copy_free. */
void build_rule_adj_input(const rule_kernels *rk, kern *out);
/* The base name of those kernels: "gu", "gu_topdown", "gu_lateral". */
void build_rule_kernel_name(char *buf, size_t len, const sema_rule *r, int kind);

/* A model's kernels, per layer l = 1..L (W_l feeds layer l); a recurrent
 * layer l with a feedback pathway also has
 *   M_recerrorL: pre_e = sum_post(b * post_e) * act_l'(pre_z), the error of
 *              step s from step s + 1 through Wrec_l (or a fixed Brec_l);
 *   M_denseL:  post_z = sum_pre(w * pre_y),  post_y = act_l(post_z)
 *              (softmax: exp(z - max) / sum_post(exp(z - max)));
 *   M_errorL:  pre_e = sum_post(b * post_e) * act_{l-1}'(pre_z), where b is the
 *              feedback matrix stored like W_l (b = W_l for symmetric feedback;
 *              for direct feedback post is the output layer), and for l = 1
 *              the synthetic pre_e = sum_post(b * post_e) * (1 - exp(-beta pre_y));
 *   M_loss:    post_e = dLoss/dz_L and the per-sample loss, from post_z (and
 *              post_y for mse) and the target (one-hot for cross-entropy);
 *   M_linear:  post_z = sum_pre(w * pre_y), the input of a top-down or
 *              lateral projection (models with topdown; or lateral;).
 * Each is a forward kernel with its generated adjoint.  Every layer kind has
 * them: a readout layer is dense, and M_denseL of a recurrent layer is one
 * step (x_1 = act(W_L x_0), then x_t = act(M x_{t-1}) with n_pre = n_post).
 * kcap(k) is the DAG's row operator (ops.def); act' is its straight-through
 * surrogate 1 in M_errorL and M_loss. */
typedef struct model_kernel {
    dag *d;
    kern fwd, adj;
} model_kernel;

typedef struct model_kernels {
    const sema_model *model;
    model_kernel *dense;   /* [n_layers] */
    model_kernel *error;   /* [n_layers] */
    model_kernel *recerror;  /* [n_layers]: M_recerrorL of a recurrent layer with feedback (d unset otherwise) */
    model_kernel loss;
    model_kernel shift;    /* M_shift, when a rule reads neighbours (d unset otherwise) */
    model_kernel linear;   /* M_linear: z = W y for top-down and lateral projections (d NULL without) */
    int n_layers;
} model_kernels;

void build_model(const sema_model *m, model_kernels *out);
/* Layer L's (0-based) dense forward appended to D over the nodes W and
 * PRE_Y, with M_denseL's constructors (so the same sums in the same order,
 * the same bits): returns z, *Y = act(z); a layer with `bias` reads the
 * input "bias". */
int build_dense_over(dag *d, const sema_model *m, int l, int w, int pre_y, int *y);
/*   M_shift:   post_y = sum_pre(p * pre_y): a layer's signal seen from the
 *              neuron d places away, p the fixed cyclic shift (PLAST_INIT_SHIFT),
 *              for a rule's neighbour reads pre[d].y; its adjoint passes the
 *              adjoint back to the unshifted signal. */
void build_model_shift(const sema_model *m, model_kernels *mk);
/* 1 when a rule of P reads a neighbour (pre[d].y): its models need M_shift. */
int build_program_reads_neighbours(const sema_program *p);

/* RULE_neuron_NAME: neuron value VALUE (an index into r->values) of one
 * neuron per sample, from that neuron's own signals (inputs "z", "ztop",
 * ..., as a neuron definition names them), with its generated adjoint; the
 * schedule runs it where a model needs the value outside a rule's dw (the
 * value the top-down projections carry).  Free with model_kernel_free. */
void build_neuron_kernel(const sema_program *p, const sema_rule *r, int value, model_kernel *out);

/* A value bound to a meta-MLP (neuron (a, b) = net(...);) is computed once
 * per neuron and sample by RULE_neurons, which outputs every such value of
 * the rule; the rule's dw kernels read it as the input pre_a / post_b
 * instead of expanding the MLP at each end of each synapse's kernel. */
int build_value_is_mlp(const sema_rule *r, int value);
void build_neurons_kernel(const sema_program *p, const sema_rule *r, model_kernel *out);
void model_kernel_free(model_kernel *k);
void model_kernels_free(model_kernels *mk);

/* The input slot name of a signal at one end: "pre_y", "post_e"; at an
 * unrolled step s and the neighbour d: "pre_y_t2", "pre_y_m1" (d = -1),
 * "post_z_t3_p2" (step 3, d = +2). */
void build_signal_name(char *buf, size_t len, int side, int signal);
void build_read_name(char *buf, size_t len, int side, int signal, int step, int nb);

#endif
