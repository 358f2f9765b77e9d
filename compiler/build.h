/* build — from checked rules (and, later, models) to kernels on the DAG.
 *
 * A rule gives two kernels sharing one DAG:
 *   NAME_fwd:  dw (per synapse; the implicit mean over the batch applied) from
 *              w, the signals the rule reads (pre_y, post_e, ...) and meta;
 *   NAME_adj:  given adj_dw, accumulates adj_w, adj_<signal> for every signal
 *              read, and adj_meta.
 * Neuron values are inlined at each end they are read (hash-consing keeps one
 * copy per end); meta-MLP calls are expanded into dense layers of scalar nodes
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
} rule_kernels;

/* Builds both kernels of rule R; the caller frees with rule_kernels_free. */
void build_rule(const sema_program *p, const sema_rule *r, rule_kernels *out);
void rule_kernels_free(rule_kernels *rk);

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
 *              post_y for mse) and the target (one-hot for cross-entropy).
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
    int n_layers;
} model_kernels;

void build_model(const sema_model *m, model_kernels *out);
/*   M_shift:   post_y = sum_pre(p * pre_y): a layer's signal seen from the
 *              neuron d places away, p the fixed cyclic shift (PLAST_INIT_SHIFT),
 *              for a rule's neighbour reads pre[d].y; its adjoint passes the
 *              adjoint back to the unshifted signal. */
void build_model_shift(const sema_model *m, model_kernels *mk);
/* 1 when a rule of P reads a neighbour (pre[d].y): its models need M_shift. */
int build_program_reads_neighbours(const sema_program *p);
void model_kernels_free(model_kernels *mk);

/* The input slot name of a signal at one end: "pre_y", "post_e"; at an
 * unrolled step s and the neighbour d: "pre_y_t2", "pre_y_m1" (d = -1),
 * "post_z_t3_p2" (step 3, d = +2). */
void build_signal_name(char *buf, size_t len, int side, int signal);
void build_read_name(char *buf, size_t len, int side, int signal, int step, int nb);

#endif
