/* train_impl — what the parts of the meta-trainer share: the meta-state
 * (meta_state.c), the log and progress line (train_log.c).  Internal. */
#ifndef PLAST_TRAIN_IMPL_H
#define PLAST_TRAIN_IMPL_H

#include <stdio.h>
#include "plast.h"

typedef struct meta_state {
    double **theta, **phi, **m, **v, **scale;   /* [n_rules][n_meta] */
    long t;                                      /* Adam steps taken */
    int episode;                                 /* episodes done */
    double lr_factor;                            /* 0.5^(backtracks so far); 1 without */
    /* before the last meta-step (nonfinite backtrack undoes it): */
    double **prev_theta, **prev_phi, **prev_m, **prev_v;
    long prev_t;
    int has_prev;
} meta_state;

double **meta_alloc(const plast_net *N);
void meta_zero(const plast_net *N, double **a);
void meta_free(const plast_net *N, double **a);

int meta_state_init(meta_state *S, const plast_net *N, const plast_train_opts *o);
void meta_state_free(meta_state *S, const plast_net *N);
/* DIR/meta-state.txt, written to a temporary file and renamed. */
int meta_state_save(const meta_state *S, const plast_net *N, const char *dir, char *err, size_t errlen);
int meta_state_load(meta_state *S, const plast_net *N, const char *dir, char *err, size_t errlen);

/* lr * warmup(e) * schedule(e): the learning rate of episode E before the
 * backtracking factor. */
double meta_learning_rate(const plast_train_opts *o, int e);
void plast_meta_step(meta_state *S, const plast_net *N, const plast_train_opts *o, double **G, int e,
                     double *grad_norm, int *clipped);
/* Copies the state to prev (before a meta-step) / back from it (backtrack). */
void meta_state_remember(meta_state *S, const plast_net *N);
void meta_state_undo(meta_state *S, const plast_net *N);

/* The report of a training whose first step had a loss but no gradient at
 * all (every gradient exactly 0): a rule whose updates saturate the learner
 * at initialisation, say.  WHEN names the step. */
static inline void train_warn_no_gradient(const char *when, double loss)
{
    fprintf(stderr, "plastcc: warning: at %s the loss (%.9g) has no gradient at all: every gradient is exactly 0, "
            "so nothing can be learned.  The rules' first updates likely saturate the learner (a constant output); "
            "give the rule a smaller output, e.g. `param eta = 1e-3 fixed; dw = eta * ...`, or its mlp "
            "`init output 0;`\n", when, loss);
}

typedef struct train_log {
    FILE *f;
    int n_layers;
    int alignment, orthonormality;   /* diagnostic columns after the meta-parameters */
    int n_cols;                /* meta-parameter columns */
    int col_rule[256], col_k[256];
} train_log;

/* Opens DIR/log.csv: a new file with its header, or, resuming at episode
 * FIRST, the old one cut after the rows of episodes before FIRST. */
int train_log_open(train_log *L, const plast_net *N, const plast_train_opts *o, int first, char *err, size_t errlen);
/* DIAG: alpha_0..alpha_{L-1}, then orth_1..orth_{L-1} (logged when asked for). */
void train_log_row(train_log *L, const meta_state *S, int e, double loss, double acc, double grad_norm,
                   int clipped, double lr, double seconds, const double *diag);
void train_log_skip(train_log *L, int e, const char *why);
void train_log_close(train_log *L);

/* The progress line: redrawn in place on a terminal, a plain line every few
 * seconds otherwise, nothing when quiet. */
void train_progress(const plast_train_opts *o, int done, int todo, int episode, int total, double loss, double acc,
                    double elapsed);
void train_progress_end(const plast_train_opts *o);

#endif
