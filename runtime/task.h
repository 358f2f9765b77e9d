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
    double *x_train;     /* ways*k_train rows of dim, in shuffled order */
    int32_t *y_train;    /* remapped labels 0..ways-1 */
    double *x_query;     /* ways*q_query rows, class by class (label 0 first) */
    int32_t *y_query;
    int *classes;        /* classes[l] = original class of remapped label l */
    size_t *train_index; /* data-set row of each training sample */
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
 * Returns 0, or -1 with a message in err and *out zeroed. */
int plast_task_sample_indexed(const plast_dataset *d, const plast_class_index *ci,
                              int ways, int k, int q, uint64_t seed, uint64_t episode,
                              plast_task *out, char *err, size_t errlen);

/* The same task, building (and freeing) a class index on the way: O(n). */
int plast_task_sample(const plast_dataset *d, int ways, int k, int q, uint64_t seed,
                      uint64_t episode, plast_task *out, char *err, size_t errlen);

void plast_task_free(plast_task *t);

#endif /* PLAST_TASK_H */
