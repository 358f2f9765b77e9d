/* joint_impl — what the parts of the joint trainer share: the learner's
 * state (joint.c), its file form and the logs (joint_state.c).  Internal. */
#ifndef PLAST_JOINT_IMPL_H
#define PLAST_JOINT_IMPL_H

#include <stdio.h>
#include "train_impl.h"

/* The learner: a value per STATE, PARAM and CONST buffer (NULL for the
 * others), and Adam's moments for STATE and PARAM buffers. */
typedef struct learner {
    double **val, **m, **v;    /* [n_buf] */
    long t;                    /* Adam steps taken */
} learner;

int learner_alloc(learner *L, const plast_net *N);
void learner_free(learner *L, const plast_net *N);
void learner_copy(learner *dst, const learner *src, const plast_net *N);
/* Elements of buffer B (0 for a buffer the learner does not hold). */
size_t learner_size(const plast_net *N, int b);

/* DIR/joint-state.txt: the minibatches done, the learner and the
 * meta-state, %.17g (exact), written to a temporary file and renamed. */
int joint_state_save(const learner *L, const meta_state *S, const plast_net *N, long batches, const char *dir,
                     char *err, size_t errlen);
int joint_state_load(learner *L, meta_state *S, const plast_net *N, long *batches, const char *dir, char *err,
                     size_t errlen);

/* log.csv (a row per minibatch) and test.csv (a row per evaluation), each
 * row numbered by the minibatches done. */
typedef struct joint_log {
    FILE *batches, *tests;
    char dir[4096];                            /* for the messages of a failed write */
    int n_cols, col_rule[256], col_k[256];   /* logged meta-parameters (not the mlp weights) */
} joint_log;

/* Opens both logs: new ones with their headers, or, resuming after FIRST
 * minibatches, the old ones cut after the rows of the minibatches before. */
int joint_log_open(joint_log *J, const plast_net *N, const char *dir, int resume, long first, char *err,
                   size_t errlen);
typedef struct joint_row {
    long batch;
    int epoch;
    long samples;
    double loss, accuracy, grad_norm, learner_grad_norm, lr, seconds;
    int clipped;
} joint_row;
/* A row of log.csv, of test.csv: 0, or -1 with ERR naming the file (a full disk). */
int joint_log_batch(joint_log *J, const meta_state *S, const joint_row *r, char *err, size_t errlen);
int joint_log_test(joint_log *J, long batch, long samples, double loss, double accuracy, char *err, size_t errlen);
void joint_log_close(joint_log *J);

#endif
