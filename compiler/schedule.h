/* schedule — an experiment's inner step as an ordered list of kernel calls
 * over named buffers, built from its model and its rules.
 *
 * This is where a model's structure becomes a program: the layers, the
 * feedback pathway and where the rules update their projections are decided
 * here, once, and the runtime's engine (runtime/episode.c) runs whatever
 * schedule it is given, forward and, call by call in reverse, through the
 * generated adjoints.  Kernels are named (MODEL_dense1_fwd, RULE_step, ...);
 * bind.c resolves the names in a compiled module into plast_schedule.
 * `plastcc emit-c --dump=schedule` prints a plan.
 *
 * The feed-forward schedule of a model with L layers (003):
 *   step:  dense_l (l = 1..L), loss, error_l (l = L..1), update_l (l = 1..L)
 *   eval:  dense_l (l = 1..L), loss
 * The updates read the pre-update weights and signals only, so their order
 * does not change the forward values.  Update_l is fused with the next
 * step's dense_l (sched_fuses_dense): one pass over W_l writes W_l' and
 * computes z_l, y_l of step t + 1 from y_{l-1} of step t + 1, so the
 * updates run 1..L; the runtime then skips dense_l at step t + 1.
 */
#ifndef PLAST_SCHEDULE_H
#define PLAST_SCHEDULE_H

#include <stdio.h>
#include "sema.h"

enum { SCHED_NAME = 96, SCHED_MAX_BIND = 96 };

typedef struct sched_buf {
    char name[32];
    int kind;                  /* PLAST_BUF_* (plast.h) */
    long rows, cols;           /* matrix rows x cols; per sample: rows 1, cols values */
    int init;                  /* PLAST_INIT_* */
    double init_arg;
    long fan_in, fan_out;
    int stream;                /* PLAST_STREAM_* */
} sched_buf;

typedef struct sched_bind { char arg[48]; int buf; int next; } sched_bind;

typedef struct sched_call {
    char fwd[SCHED_NAME], adj[SCHED_NAME];   /* kernel names; adj "" for none */
    char dw[SCHED_NAME];       /* update calls: the rule's dw kernel */
    long n_pre, n_post;
    const sema_rule *rule;     /* the rule whose meta binds "meta", or NULL */
    int update;                /* -1, or the STATE buffer this call updates */
    char fused[SCHED_NAME];    /* an update call: its kernel that also runs step call FUSES of the next
                                  step (RULE_step_M_denseL), or "" */
    int fuses;
    sched_bind bind[SCHED_MAX_BIND];
    int n_bind;
} sched_call;

typedef struct sched_plan {
    sched_buf *buf;
    int n_buf, cap_buf;
    sched_call *step, *eval;
    int n_step, n_eval, cap_step, cap_eval;
    int x, target, mask, loss, output;   /* as in plast_schedule */
    /* the layered view of a feed-forward model (003's diagnostics) */
    int n_layers;
    int w_buf[64], fb_buf[64];
    const sema_rule *adj_input;   /* the rule whose calls from x run RULE_adj_input (sched_adj_input), or NULL */
} sched_plan;

/* 1 when X's schedule fuses each update with the next step's dense call
 * over the updated weights (online learning, a batch of one, in a
 * feed-forward model whose rules update last: no recurrent layer, no
 * top-down, lateral or meta-MLP values); the pipeline then builds
 * RULE_step_M_denseL for each layer. */
int sched_fuses_dense(const sema_program *p, const sema_experiment *x);

/* 1 when X's schedule calls RULE_adj_input rather than RULE_adj for rule R:
 * R updates W_1, whose presynaptic y and z are the input x (data: no call
 * reads their adjoints), reads one of them, and the model runs on the
 * feed-forward schedule (no top-down, lateral or meta-MLP values).  The
 * pipeline then builds it (build_rule_adj_input): the adjoint without
 * adj_pre_y and adj_pre_z, sums over W_1 for nobody.  PLASTCC_NO_ADJ_INPUT=1
 * calls RULE_adj (for testing: the same bits). */
int sched_adj_input(const sema_program *p, const sema_experiment *x, const sema_rule *r);

/* Builds the plan of experiment X (model M) of program P.  Returns 0, or -1
 * with ERR (a model the engine cannot run yet). */

int sched_build(const sema_program *p, const sema_experiment *x, sched_plan *plan, char *err, size_t errlen);
void sched_free(sched_plan *plan);

/* Prints PLAN, a call per line with its bindings. */
void sched_print(FILE *out, const sched_plan *plan);

#endif
