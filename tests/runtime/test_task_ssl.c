/*
 * test_task_ssl.c -- semi-supervised training streams and task families
 * (runtime/task.c plast_task_draw, runtime/task_gen.c).
 *
 * Streams: every batch holds batch - U labelled rows, the task's training
 * rows in turn, then U unlabelled rows (label -1) that are fresh samples of
 * the task's classes, never a training or query row, never repeated; the
 * labelled part and the query are those of the plain task.  Families: the
 * same task for the same (seed, episode), another for another episode;
 * standardised points; classes in order in the query; projection; errors.
 */
#include "plast.h"
#include "rng.h"
#include "task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* 4 classes of 60 rows; row r is x = (r, label). */
static void make_dataset(plast_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->n = 240, d->dim = 2, d->n_classes = 4;
    d->x = malloc(d->n * 2 * sizeof *d->x);
    d->label = malloc(d->n * sizeof *d->label);
    d->name = malloc(16);
    strcpy(d->name, "rows");
    for (size_t r = 0; r < d->n; r++) {
        d->label[r] = (int32_t)(r % 4);
        d->x[2 * r] = (double)r, d->x[2 * r + 1] = (double)(r % 4);
    }
}

static int same_task(const plast_task *a, const plast_task *b)
{
    return a->n_train == b->n_train && a->dim == b->dim &&
           !memcmp(a->x_train, b->x_train, (size_t)a->n_train * a->dim * sizeof(double)) &&
           !memcmp(a->y_train, b->y_train, (size_t)a->n_train * sizeof(int32_t)) &&
           !memcmp(a->x_query, b->x_query, (size_t)(a->ways * a->q_query) * a->dim * sizeof(double));
}

static void test_dataset_stream(const plast_dataset *d)
{
    plast_class_index ci;
    plast_task plain, t, again;
    char err[256];
    plast_task_spec sp = { 3, 4, 3, 5, 12, 3 };   /* 2 labelled + 3 unlabelled per batch */
    CHECK(plast_class_index_build(d, &ci, err, sizeof err) == 0);
    CHECK(plast_task_sample_indexed(d, &ci, 3, 4, 3, 7, 2, &plain, err, sizeof err) == 0);
    CHECK(plast_task_draw(d, &ci, &sp, 7, 2, &t, err, sizeof err) == 0);
    CHECK(t.n_train == 60);
    char *used = calloc(d->n, 1);
    for (int k = 0; k < plain.ways * plain.q_query; k++) used[plain.query_index[k]] = 2;
    for (int k = 0; k < plain.n_train; k++) used[plain.train_index[k]] = 2;
    int labelled = 0;
    for (int row = 0; row < t.n_train; row++) {
        size_t src = t.train_index[row];
        CHECK(t.x_train[2 * row] == (double)src);
        if (row % 5 < 2) {   /* the plain task's training rows in turn */
            CHECK(src == plain.train_index[labelled % plain.n_train]);
            CHECK(t.y_train[row] == plain.y_train[labelled % plain.n_train]);
            labelled++;
            continue;
        }
        CHECK(t.y_train[row] == -1);
        CHECK(src < d->n && used[src] == 0);   /* fresh: not train, query or an earlier unlabelled row */
        if (src < d->n) used[src] = 1;
        int cls = d->label[src], in_task = 0;
        for (int l = 0; l < t.ways; l++) in_task |= t.classes[l] == cls;
        CHECK(in_task);
    }
    CHECK(!memcmp(t.x_query, plain.x_query, (size_t)(3 * 3) * 2 * sizeof(double)));
    CHECK(plast_task_draw(d, &ci, &sp, 7, 2, &again, err, sizeof err) == 0);
    CHECK(same_task(&t, &again));
    plast_task_free(&again);
    sp.unlabelled = 0;   /* no unlabelled: the plain task */
    CHECK(plast_task_draw(d, &ci, &sp, 7, 2, &again, err, sizeof err) == 0);
    CHECK(same_task(&again, &plain) && again.n_train == 12);
    plast_task_free(&again);
    sp.unlabelled = 5;
    CHECK(plast_task_draw(d, &ci, &sp, 7, 2, &again, err, sizeof err) == -1);
    CHECK_MSG(err, "0 < U < batch");
    sp = (plast_task_spec){ 3, 4, 3, 5, 80, 3 };   /* 240 unlabelled: 80 per class, 53 left */
    CHECK(plast_task_draw(d, &ci, &sp, 7, 2, &again, err, sizeof err) == -1);
    CHECK_MSG(err, "semi-supervised task takes K+Q+M = 87");
    CHECK(again.x_train == NULL);
    free(used);
    plast_task_free(&t);
    plast_task_free(&plain);
    plast_class_index_free(&ci);
}

/* mean and standard deviation of coordinate K over N rows of X */
static void moments(const double *x, int n, int dim, int k, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += x[i * dim + k];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (x[i * dim + k] - *mean) * (x[i * dim + k] - *mean);
    *sd = sqrt(q / n);
}

static void test_family(int kind)
{
    plast_task_family f = { kind, 0.1, 1.0, 2, 0 };
    plast_dataset d;
    plast_class_index ci;
    plast_task t, again, other;
    char err[256];
    CHECK(plast_family_dataset(&f, &d) == 0);
    CHECK(d.n == 0 && d.dim == 2 && d.n_classes == 2 && d.family.kind == kind);
    CHECK(plast_class_index_build(&d, &ci, err, sizeof err) == 0);
    plast_task_spec sp = { 2, 5, 400, 10, 200, 8 };
    CHECK(plast_task_draw(&d, &ci, &sp, 3, 9, &t, err, sizeof err) == 0);
    CHECK(t.n_train == 2000 && t.dim == 2);
    int unl = 0;
    for (int row = 0; row < t.n_train; row++) {
        CHECK((row % 10 < 2) == (t.y_train[row] >= 0));
        unl += t.y_train[row] < 0;
    }
    CHECK(unl == 1600);
    for (int k = 0; k < 800; k++) CHECK(t.y_query[k] == k / 400);
    /* standardised: the query's 800 points (balanced classes) have mean ~0, sd ~1 */
    for (int k = 0; k < 2; k++) {
        double mean, sd;
        moments(t.x_query, 800, 2, k, &mean, &sd);
        CHECK(fabs(mean) < 0.15 && fabs(sd - 1) < 0.15);
    }
    CHECK(plast_task_draw(&d, &ci, &sp, 3, 9, &again, err, sizeof err) == 0);
    CHECK(same_task(&t, &again));
    CHECK(plast_task_draw(&d, &ci, &sp, 3, 10, &other, err, sizeof err) == 0);
    CHECK(memcmp(t.x_query, other.x_query, 800 * 2 * sizeof(double)) != 0);
    plast_task_free(&t);
    plast_task_free(&again);
    plast_task_free(&other);
    sp.ways = 3;
    CHECK(plast_task_draw(&d, &ci, &sp, 3, 9, &t, err, sizeof err) == -1);
    CHECK_MSG(err, "2 classes, so they are 2-way");
    plast_class_index_free(&ci);
    plast_dataset_free(&d);
}

/* project 5: every point is its 2-D point times the fixed P */
static void test_family_projection(void)
{
    plast_task_family f = { PLAST_FAMILY_MOONS, 0.1, 1.0, 2, 5 }, f2 = f;
    f2.project = 0;
    plast_dataset d, d2;
    plast_task t, t2;
    char err[256];
    plast_task_spec sp = { 2, 3, 4, 6, 0, 0 };
    CHECK(plast_family_dataset(&f, &d) == 0 && d.dim == 5);
    CHECK(plast_family_dataset(&f2, &d2) == 0);
    CHECK(plast_task_draw(&d, NULL, &sp, 4, 1, &t, err, sizeof err) == 0);
    CHECK(plast_task_draw(&d2, NULL, &sp, 4, 1, &t2, err, sizeof err) == 0);
    plast_rng r = plast_rng_stream(4, 0, PLAST_RNG_PROJECTION);
    double P[10];
    for (int k = 0; k < 10; k++) P[k] = plast_rng_normal(&r) / sqrt(2.0);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 5; j++)
            CHECK(fabs(t.x_query[i * 5 + j] - (t2.x_query[2 * i] * P[j] + t2.x_query[2 * i + 1] * P[5 + j])) < 1e-12);
    plast_task_free(&t);
    plast_task_free(&t2);
    plast_dataset_free(&d);
    plast_dataset_free(&d2);
    f.kind = PLAST_FAMILY_GAUSSIANS;
    f.centers = 1;
    CHECK(plast_family_dataset(&f, &d) == -1);
}

static void test_standardise(void)
{
    plast_dataset d;
    make_dataset(&d);
    plast_standardise(&d);
    for (int k = 0; k < 2; k++) {
        double mean, sd;
        moments(d.x, (int)d.n, 2, k, &mean, &sd);
        CHECK(fabs(mean) < 1e-12 && fabs(sd - 1) < 1e-12);
    }
    plast_dataset_free(&d);
}

int main(void)
{
    plast_dataset d;
    make_dataset(&d);
    test_dataset_stream(&d);
    plast_dataset_free(&d);
    test_family(PLAST_FAMILY_MOONS);
    test_family(PLAST_FAMILY_GAUSSIANS);
    test_family_projection();
    test_standardise();
    if (failures) {
        fprintf(stderr, "test_task_ssl: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_task_ssl: all checks passed\n");
    return 0;
}
