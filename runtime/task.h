/*
 * task.h -- N-way few-shot tasks drawn from a data set.
 *
 * A task holds `ways` classes, K training and Q query samples of each; labels
 * are remapped to 0..ways-1 in the order the classes were drawn.  What is drawn
 * depends only on (data set, ways, K, Q, seed, episode): the exact procedure
 * is written at the top of task.c and is part of the reproducibility contract.
 */
#ifndef PLAST_TASK_H
#define PLAST_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "plast.h"

typedef struct plast_task {
    int ways, k_train, q_query;
    size_t dim;
    int n_train;         /* rows of x_train: ways*k_train, or a semi-supervised stream's steps*batch */
    double *x_train;     /* ways*k_train rows of dim, in shuffled order (or the stream, plast_task_draw) */
    int32_t *y_train;    /* remapped labels 0..ways-1; -1: unlabelled */
    double *x_query;     /* ways*q_query rows, class by class (label 0 first) */
    int32_t *y_query;
    int *classes;        /* classes[l] = original class of remapped label l */
    size_t *train_index; /* data-set row of each training sample (SIZE_MAX: generated) */
    size_t *query_index; /* data-set row of each query sample */
} plast_task;

/* Samples of each class, built once per data set (O(n)) so that each task
 * costs O(ways*(K+Q)).  Read-only once built: share it between threads. */
typedef struct plast_class_index {
    int n_classes;   /* the data set's */
    size_t *start;   /* n_classes+1 offsets: class c is sample[start[c] .. start[c+1]) */
    size_t *sample;  /* data-set rows grouped by class, ascending within a class */
    int n_present;   /* classes with at least one sample */
    int *present;    /* those classes, ascending; tasks draw from these */
} plast_class_index;

/* Group d's rows by label.  Fails if a label is outside [0, n_classes). */
int plast_class_index_build(const plast_dataset *d, plast_class_index *ci, char *err,
                            size_t errlen);
void plast_class_index_free(plast_class_index *ci);

/* Draw the task of `episode` (see task.c).  Needs ways >= 1, k >= 1, q >= 0, at
 * least `ways` classes with samples, and K+Q samples in every such class --
 * checked over all classes, so a run fails at once, not at an unlucky episode.
 * (A family's data set gives its generated task, plast_family_task.)
 * Returns 0, or -1 with a message in err and *out zeroed. */
int plast_task_sample_indexed(const plast_dataset *d, const plast_class_index *ci,
                              int ways, int k, int q, uint64_t seed, uint64_t episode,
                              plast_task *out, char *err, size_t errlen);

/* The same task, building (and freeing) a class index on the way: O(n). */
int plast_task_sample(const plast_dataset *d, int ways, int k, int q, uint64_t seed,
                      uint64_t episode, plast_task *out, char *err, size_t errlen);

void plast_task_free(plast_task *t);

/* ---- semi-supervised tasks and task families ----
 *
 * What an episode's training stream holds.  UNLABELLED = 0: the task's
 * ways*K labelled samples (the episode cycles them).  UNLABELLED = U > 0:
 * a stream of STEPS batches of BATCH rows; in each batch the first BATCH - U
 * rows are labelled samples, taken in turn from the task's ways*K (cycling
 * in the task's shuffled order), and the last U are unlabelled (label -1),
 * each a fresh sample of the task's classes that no other row holds: with a
 * data set, each class's shuffle of task.c's step 3 continued M =
 * ceil(STEPS*U / ways) picks beyond its K + Q (from a copy of the stream, so
 * the task's own picks and everything after them stay as they were), the
 * ways*M rows shuffled with plast_rng_stream(seed, episode,
 * PLAST_RNG_UNLABELLED) and the first STEPS*U used; with a task family, new
 * draws of the task's distribution. */
typedef struct plast_task_spec {
    int ways, k_train, q_query;
    int batch, steps, unlabelled;
} plast_task_spec;

/* The task of EPISODE for SPEC: from data set D (class index CI) as
 * plast_task_sample_indexed, or generated when D stands for a task family;
 * then the semi-supervised stream when SPEC asks for one.  Returns 0, or
 * -1 with a message in ERR and *out zeroed. */
int plast_task_draw(const plast_dataset *d, const plast_class_index *ci, const plast_task_spec *spec,
                    uint64_t seed, uint64_t episode, plast_task *out, char *err, size_t errlen);

/* The task of EPISODE of D's family (task_gen.c), labelled part only:
 * R = plast_rng_stream(seed, episode, PLAST_RNG_TASK) draws the problem
 * (moons: noise, two axis scales, rotation, offset; gaussians: per class a
 * mean, a rotation and two axis deviations), then K training samples of
 * each class (class-major), shuffled as step 5 of task.c, then Q query
 * samples of each class; the standardisation is measured on 1000 samples
 * of plast_rng_stream(seed, episode, PLAST_RNG_TASK_NORM).  UNLABELLED
 * extra samples (class uniform, label -1) come from
 * plast_rng_stream(seed, episode, PLAST_RNG_UNLABELLED) into X_UNL
 * (malloc'ed, UNLABELLED rows; NULL when 0). */
int plast_family_task(const plast_dataset *d, int ways, int k, int q, int unlabelled, uint64_t seed,
                      uint64_t episode, plast_task *out, double **x_unl, char *err, size_t errlen);

#endif /* PLAST_TASK_H */
