/* pipeline — the passes after the front end, in one place:
 *   load + check (sema) -> build DAG (build) -> differentiate (diff, inside build)
 *   -> lower (loop nests) -> emit (C, or LLVM IR)
 * A compiled unit holds every kernel of a file: for each rule its fwd, adj
 * and step (w + dw) per dw it defines, and the kernels of the neuron values
 * a model carries top-down.
 */
#ifndef PLAST_PIPELINE_H
#define PLAST_PIPELINE_H

#include "build.h"
#include "emit_c.h"
#include "lower.h"

typedef struct compiled_dw {   /* one dw of a rule and its lowered kernels */
    rule_kernels rk;
    lower_kernel fwd, adj, step;
} compiled_dw;

typedef struct compiled_neuron {   /* RULE_neurons, or RULE_neuron_VALUE (build.h) */
    model_kernel k;
    lower_kernel fwd, adj;
    const char *value;             /* NULL for RULE_neurons */
} compiled_neuron;

typedef struct compiled_rule {
    const sema_rule *rule;
    rule_kernels rk;               /* its first dw: forward, else topdown, else lateral */
    lower_kernel fwd, adj, step;
    compiled_dw more[DW_KINDS - 1];   /* its other dws */
    int n_more;
    compiled_neuron *neuron;       /* its meta-MLP values (RULE_neurons), and the other values a
                                      model carries top-down */
    int n_neuron;
    kern *fused;                   /* an experiment's RULE_step_M_denseL, one per layer the rule
                                      updates, when its schedule fuses them (sched_fuses_dense) */
    lower_kernel *fused_lowered;
    int n_fused;
    kern adj_input;                /* RULE_adj_input, when an experiment's schedule calls it
                                      (sched_adj_input) */
    lower_kernel adj_input_lowered;
    int has_adj_input;
} compiled_rule;

typedef struct compiled_model {
    const sema_model *model;
    model_kernels mk;
    lower_kernel *lowered;   /* fwd and adj of each dense, error and the loss kernel */
    int n_lowered;
} compiled_model;

typedef struct compiled_unit {
    sema_program *prog;
    compiled_rule *rules;
    int n_rules;
    compiled_model *models;
    int n_models;
} compiled_unit;

/* Every lowered kernel of U in emission order (rules' fwd, adj, step, those
 * of their other dws and their neuron-value kernels; then each model's dense,
 * error, loss and linear kernels).  *OUT is malloc'ed. */
int pipeline_kernels(const compiled_unit *u, const lower_kernel ***out);

/* Loads and checks PATH, then builds and lowers every rule and model (of the
 * main file only when MAIN_ONLY).  NULL when the front end reported errors. */
compiled_unit *pipeline_compile(const char *path, int main_only);
/* The same for a file in memory, every rule and model (the fuzz target). */
compiled_unit *pipeline_compile_buffer(const char *name, const char *text, size_t len);
void pipeline_free(compiled_unit *u);

/* Loads and checks PATH and builds only what experiment NAME needs: its
 * model and its rules.  NULL with diagnostics printed when the file has
 * errors; NULL with *NOT_FOUND set when there is no such experiment. */
compiled_unit *pipeline_compile_experiment(const char *path, const char *name, int *not_found);

/* Writes every kernel of U as one C file. */
void pipeline_emit_c(FILE *out, const compiled_unit *u, const char *source, lower_precision prec);

#endif
