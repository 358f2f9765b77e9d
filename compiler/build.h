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
    int dw;               /* the dw node */
} rule_kernels;

/* Builds both kernels of rule R; the caller frees with rule_kernels_free. */
void build_rule(const sema_program *p, const sema_rule *r, rule_kernels *out);
void rule_kernels_free(rule_kernels *rk);

/* The input slot name of a signal at one end: "pre_y", "post_e". */
void build_signal_name(char *buf, size_t len, int side, int signal);

#endif
