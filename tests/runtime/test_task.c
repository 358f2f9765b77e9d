/*
 * test_task.c -- N-way few-shot task sampling (runtime/task.c).
 *
 * A synthetic data set whose rows carry their own row number and label lets
 * every sampled row be traced.  The sampler is checked against a dense,
 * straight transcription of the procedure documented at the top of task.c
 * (the reproducibility contract), and for determinism, distinct classes and
 * samples, label remapping, query order, shuffling, uniform class choice and
 * its errors.
 */
#include "plast.h"
#include "rng.h"
#include "task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"



#define N_CLASSES 9 /* labels 0..8, class 5 has no samples */

/* Class c has 20 + 3c rows (none for class 5), interleaved; row r is
 * x = (r, label, -r). */
static void make_dataset(plast_dataset *d)
{
    int per[N_CLASSES], left[N_CLASSES], c;
    size_t n = 0, r = 0;

    for (c = 0; c < N_CLASSES; c++)
        n += (size_t)(per[c] = left[c] = c == 5 ? 0 : 20 + 3 * c);
    memset(d, 0, sizeof *d);
    d->n = n, d->dim = 3, d->n_classes = N_CLASSES;
    d->x = malloc(n * 3 * sizeof *d->x);
    d->label = malloc(n * sizeof *d->label);
    d->name = malloc(16);
    strcpy(d->name, "synthetic");
    while (r < n)
        for (c = N_CLASSES - 1; c >= 0; c--)
            if (left[c]-- > 0) {
                d->label[r] = c;
                d->x[3 * r] = (double)r, d->x[3 * r + 1] = c, d->x[3 * r + 2] = -(double)r;
                r++;
            }
}

/* ---- dense reference of the documented procedure ----------------------- */

/* First m steps of a forward Fisher-Yates shuffle of a[0..n). */
static void ref_partial_shuffle(plast_rng *r, size_t *a, size_t n, size_t m)
{
    size_t i;

    for (i = 0; i < m; i++) {
        size_t j = i + (size_t)plast_rng_below(r, n - i), t = a[i];

        a[i] = a[j], a[j] = t;
    }
}

/* Rows of class c, ascending, into rows; returns their number. */
static size_t ref_rows(const plast_dataset *d, int c, size_t *rows)
{
    size_t i, n = 0;

    for (i = 0; i < d->n; i++)
        if (d->label[i] == c)
            rows[n++] = i;
    return n;
}

/* Compare the task against steps 1-5 of task.c done the slow way. */
static int matches_reference(const plast_dataset *d, const plast_task *t, uint64_t seed,
                             uint64_t episode)
{
    plast_rng r = plast_rng_stream(seed, episode, PLAST_RNG_TASK);
    plast_rng rs = plast_rng_stream(seed, episode, PLAST_RNG_SHUFFLE);
    size_t present[N_CLASSES], m = 0, k = (size_t)t->k_train, q = (size_t)t->q_query;
    size_t *rows = malloc(d->n * sizeof *rows), *major = malloc(t->ways * k * sizeof *major);
    int *perm = malloc(t->ways * k * sizeof *perm), c, l, ok = 1;
    size_t i, s;

    for (c = 0; c < N_CLASSES; c++)
        if (ref_rows(d, c, rows) > 0)
            present[m++] = (size_t)c;
    ref_partial_shuffle(&r, present, m, (size_t)t->ways);
    for (l = 0; l < t->ways; l++) {
        ok &= t->classes[l] == (int)present[l];
        s = ref_rows(d, (int)present[l], rows);
        ref_partial_shuffle(&r, rows, s, k + q);
        for (i = 0; i < k; i++)
            major[l * k + i] = rows[i];
        for (i = 0; i < q; i++)
            ok &= t->query_index[l * q + i] == rows[k + i];
    }
    for (i = 0; i < t->ways * k; i++)
        perm[i] = (int)i;
    plast_rng_shuffle(&rs, perm, t->ways * k);
    for (i = 0; i < t->ways * k; i++)
        ok &= t->train_index[i] == major[perm[i]] && t->y_train[i] == (int32_t)(perm[i] / k);
    free(rows), free(major), free(perm);
    return ok;
}

/* ---- tests --------------------------------------------------------------- */

/* Structure: distinct present classes, labels remapped, rows traceable. */
static void check_task_shape(const plast_dataset *d, const plast_task *t)
{
    size_t nt = (size_t)t->ways * t->k_train, nq = (size_t)t->ways * t->q_query, i;
    int per_label[16] = {0}, l, m, ok = 1;
    char *used = calloc(d->n, 1);

    for (l = 0; l < t->ways; l++) {
        ok &= t->classes[l] >= 0 && t->classes[l] < N_CLASSES && t->classes[l] != 5;
        for (m = 0; m < l; m++)
            ok &= t->classes[l] != t->classes[m];
    }
    CHECK(ok);
    for (i = 0; i < nt; i++) {
        const double *x = t->x_train + i * t->dim;

        ok &= t->y_train[i] >= 0 && t->y_train[i] < t->ways;
        per_label[t->y_train[i] & 15]++;
        ok &= x[0] == (double)t->train_index[i] && x[1] == t->classes[t->y_train[i]];
        ok &= !used[t->train_index[i]], used[t->train_index[i]] = 1;
    }
    CHECK(ok);
    for (l = 0; l < t->ways; l++)
        CHECK(per_label[l] == t->k_train);
    for (i = 0; i < nq; i++) {
        const double *x = t->x_query + i * t->dim;

        ok &= t->y_query[i] == (int32_t)(i / t->q_query); /* class order */
        ok &= x[0] == (double)t->query_index[i] && x[1] == t->classes[t->y_query[i]];
        ok &= x[2] == -(double)t->query_index[i];
        ok &= !used[t->query_index[i]], used[t->query_index[i]] = 1;
    }
    CHECK(ok); /* K+Q distinct rows per class, no row twice */
    free(used);
}

/* Two tasks are the same draw. */
static int same_task(const plast_task *a, const plast_task *b)
{
    size_t nt = (size_t)a->ways * a->k_train, nq = (size_t)a->ways * a->q_query;

    return a->ways == b->ways && a->dim == b->dim &&
           !memcmp(a->classes, b->classes, a->ways * sizeof *a->classes) &&
           !memcmp(a->train_index, b->train_index, nt * sizeof *a->train_index) &&
           !memcmp(a->query_index, b->query_index, nq * sizeof *a->query_index) &&
           !memcmp(a->y_train, b->y_train, nt * sizeof *a->y_train) &&
           !memcmp(a->x_train, b->x_train, nt * a->dim * sizeof *a->x_train) &&
           !memcmp(a->x_query, b->x_query, nq * a->dim * sizeof *a->x_query);
}

static void test_one_task(const plast_dataset *d)
{
    plast_task a, b, c;
    char err[256] = "";

    CHECK(plast_task_sample(d, 5, 4, 3, 11, 2, &a, err, sizeof err) == 0);
    CHECK(a.ways == 5 && a.k_train == 4 && a.q_query == 3 && a.dim == 3);
    check_task_shape(d, &a);
    CHECK(matches_reference(d, &a, 11, 2));
    CHECK(plast_task_sample(d, 5, 4, 3, 11, 2, &b, err, sizeof err) == 0);
    CHECK(same_task(&a, &b)); /* determinism */
    CHECK(plast_task_sample(d, 5, 4, 3, 11, 3, &c, err, sizeof err) == 0);
    CHECK(!same_task(&a, &c)); /* another episode, another task */
    plast_task_free(&a);
    plast_task_free(&b);
    plast_task_free(&c);
    CHECK(a.x_train == NULL && a.classes == NULL);
}

/* Many episodes through one class index: all match the reference; classes
 * drawn uniformly (8 present, 5 drawn: 5/8 of episodes each); every row of a
 * class eventually picked; the training stream is not left class-major. */
static void test_many_episodes(const plast_dataset *d)
{
    plast_class_index ci;
    long drawn[N_CLASSES] = {0};
    char err[256] = "", *picked = calloc(d->n, 1);
    int e, l, all_ref = 1, shuffled = 0, c;
    size_t i;

    CHECK(plast_class_index_build(d, &ci, err, sizeof err) == 0);
    CHECK(ci.n_present == 8);
    for (e = 0; e < 2000; e++) {
        plast_task t;

        if (plast_task_sample_indexed(d, &ci, 5, 4, 3, 99, (uint64_t)e, &t, err, sizeof err)) {
            CHECK(!"task failed");
            break;
        }
        if (e < 200) {
            all_ref &= matches_reference(d, &t, 99, (uint64_t)e);
            check_task_shape(d, &t);
        }
        for (l = 0; l < 5; l++)
            drawn[t.classes[l]]++;
        for (i = 0; i < 20; i++)
            picked[t.train_index[i]] = 1, shuffled |= t.y_train[i] != (int32_t)(i / 4);
        for (i = 0; i < 15; i++)
            picked[t.query_index[i]] = 1;
        plast_task_free(&t);
    }
    CHECK(all_ref);
    CHECK(shuffled);
    for (c = 0; c < N_CLASSES; c++)
        CHECK(c == 5 ? drawn[c] == 0 : drawn[c] > 1250 - 100 && drawn[c] < 1250 + 100);
    for (i = 0; i < d->n; i++)
        CHECK(picked[i]);
    plast_class_index_free(&ci);
    free(picked);
}

/* Too few samples, too few classes, bad sizes, bad labels: errors that say
 * which class and how many, with the task left zeroed. */
static void test_errors(plast_dataset *d)
{
    plast_task t;
    plast_class_index ci;
    char err[256] = "";

    CHECK(plast_task_sample(d, 3, 15, 10, 1, 0, &t, err, sizeof err) == -1);
    CHECK_MSG(err, "synthetic");
    CHECK_MSG(err, "class 0 has only 20 samples");
    CHECK_MSG(err, "K+Q = 25");
    CHECK(t.x_train == NULL && t.classes == NULL && t.ways == 0);
    CHECK(plast_task_sample(d, 3, 20, 3, 1, 0, &t, err, sizeof err) == -1);
    CHECK_MSG(err, "class 0 has only 20 samples");
    CHECK_MSG(err, "K+Q = 23 of each class (K=20, Q=3)");
    CHECK(plast_task_sample(d, 9, 2, 2, 1, 0, &t, err, sizeof err) == -1);
    CHECK_MSG(err, "only 8");
    CHECK(plast_task_sample(d, 3, 20, 1, 1, 0, &t, err, sizeof err) == -1); /* one short */
    CHECK_MSG(err, "class 0 has only 20 samples");
    CHECK(plast_task_sample(d, 8, 20, 0, 1, 0, &t, err, sizeof err) == 0); /* exactly enough */
    plast_task_free(&t);
    CHECK(plast_task_sample(d, 8, 13, 7, 1, 0, &t, err, sizeof err) == 0);
    check_task_shape(d, &t);
    plast_task_free(&t);
    CHECK(plast_task_sample(d, 0, 2, 2, 1, 0, &t, err, sizeof err) == -1);
    CHECK_MSG(err, "ways >= 1");
    CHECK(plast_task_sample(d, 2, 0, 2, 1, 0, &t, err, sizeof err) == -1);
    d->label[0] = N_CLASSES;
    CHECK(plast_class_index_build(d, &ci, err, sizeof err) == -1);
    CHECK_MSG(err, "label 9 of row 0");
    CHECK(plast_task_sample(d, 2, 1, 1, 1, 0, &t, err, sizeof err) == -1);
    d->label[0] = 8;
}

int main(void)
{
    plast_dataset d;

    make_dataset(&d);
    CHECK(d.label[0] == 8); /* test_errors relies on it */
    test_one_task(&d);
    test_many_episodes(&d);
    test_errors(&d);
    plast_dataset_free(&d);
    if (failures) {
        fprintf(stderr, "test_task: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_task: all checks passed\n");
    return 0;
}
