/*
 * task_gen.c -- task families: every task generates a problem of its own
 * (data.h, plast_task_family) and draws its samples from it.
 *
 * The task of (seed, episode), R = plast_rng_stream(seed, episode, PLAST_RNG_TASK):
 *
 *  1. The problem, before standardisation (U = plast_rng_uniform(R)):
 *     moons:      noise s = noise (0.5 + U); axis scales a_x, a_y = 2^(2U - 1);
 *                 rotation t = 2 pi U; offset o = (2U - 1, 2U - 1):
 *                 p = Rot(t) diag(a_x, a_y) q + o, where q is a point of
 *                 plast_gen_moons' class (u = pi U: class 0 (cos u, sin u),
 *                 class 1 (1 - cos u, 0.5 - sin u)) plus N(0, s^2) per coordinate;
 *     gaussians:  per class c: mean m_c = (4U - 2, 4U - 2), rotation r_c = 2 pi U,
 *                 deviations d_1, d_2 = std (0.2 + 0.8 U):
 *                 p = m_c + Rot(r_c) diag(d_1, d_2) (n_1, n_2), n ~ N(0, 1).
 *  2. Standardisation: 1000 points of the problem (class i mod classes, from
 *     plast_rng_stream(seed, episode, PLAST_RNG_TASK_NORM)); each coordinate is
 *     shifted by their mean and divided by their standard deviation.
 *  3. With R again: K training points of each class (class-major), reordered
 *     by the PLAST_RNG_SHUFFLE permutation of task.c's step 5; then Q query
 *     points of each class, class by class.  Labels are the classes 0..ways-1.
 *  4. Unlabelled points (when asked for): each of a class below(classes) and a
 *     point of it, from plast_rng_stream(seed, episode, PLAST_RNG_UNLABELLED).
 *  5. With project D, every point x becomes x P, P [2, D] as plast_project
 *     draws it (plast_rng_stream(seed, 0, PLAST_RNG_PROJECTION), N(0, 1/2)).
 *
 * plast_standardise, the same standardisation for a fixed data set (data
 * gaussians), lives here too.
 */
#include "task.h"
#include "rng.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NORM_SAMPLES = 1000 };

/* One task's distribution: p = A q + o (moons), m_c + L_c n (gaussians),
 * then (p - shift) / scale. */
typedef struct problem {
    int kind, classes;
    double noise, A[4], o[2];     /* moons */
    double *mean, *L;             /* gaussians: [classes][2], [classes][4] */
    double shift[2], scale[2];
} problem;

static const double PI = 3.14159265358979323846;

static int family_classes(const plast_task_family *f)
{
    return f->kind == PLAST_FAMILY_MOONS ? 2 : f->centers;
}

/* Rot(t) diag(a, b), row-major. */
static void rotate_scale(double t, double a, double b, double *M)
{
    M[0] = cos(t) * a, M[1] = -sin(t) * b;
    M[2] = sin(t) * a, M[3] = cos(t) * b;
}

static int draw_problem(const plast_task_family *f, plast_rng *r, problem *P)
{
    memset(P, 0, sizeof *P);
    P->kind = f->kind;
    P->classes = family_classes(f);
    if (f->kind == PLAST_FAMILY_MOONS) {
        P->noise = f->noise * (0.5 + plast_rng_uniform(r));
        double ax = pow(2, 2 * plast_rng_uniform(r) - 1), ay = pow(2, 2 * plast_rng_uniform(r) - 1);
        rotate_scale(2 * PI * plast_rng_uniform(r), ax, ay, P->A);
        P->o[0] = 2 * plast_rng_uniform(r) - 1;
        P->o[1] = 2 * plast_rng_uniform(r) - 1;
        return 0;
    }
    P->mean = malloc((size_t)P->classes * 2 * sizeof *P->mean);
    P->L = malloc((size_t)P->classes * 4 * sizeof *P->L);
    if (!P->mean || !P->L) return -1;
    for (int c = 0; c < P->classes; c++) {
        P->mean[2 * c] = 4 * plast_rng_uniform(r) - 2;
        P->mean[2 * c + 1] = 4 * plast_rng_uniform(r) - 2;
        double t = 2 * PI * plast_rng_uniform(r);
        double d1 = f->std * (0.2 + 0.8 * plast_rng_uniform(r)), d2 = f->std * (0.2 + 0.8 * plast_rng_uniform(r));
        rotate_scale(t, d1, d2, P->L + 4 * c);
    }
    return 0;
}

static void free_problem(problem *P)
{
    free(P->mean);
    free(P->L);
}

/* A point of class C, before standardisation. */
static void raw_point(const problem *P, int c, plast_rng *r, double *p)
{
    double q[2];
    const double *M;
    if (P->kind == PLAST_FAMILY_MOONS) {
        double u = PI * plast_rng_uniform(r);
        q[0] = c == 0 ? cos(u) : 1 - cos(u);
        q[1] = c == 0 ? sin(u) : 0.5 - sin(u);
        q[0] += P->noise * plast_rng_normal(r);
        q[1] += P->noise * plast_rng_normal(r);
        M = P->A;
        p[0] = P->o[0], p[1] = P->o[1];
    } else {
        q[0] = plast_rng_normal(r);
        q[1] = plast_rng_normal(r);
        M = P->L + 4 * c;
        p[0] = P->mean[2 * c], p[1] = P->mean[2 * c + 1];
    }
    p[0] += M[0] * q[0] + M[1] * q[1];
    p[1] += M[2] * q[0] + M[3] * q[1];
}

/* Step 2: the shift and scale of each coordinate. */
static void standardise(problem *P, uint64_t seed, uint64_t episode)
{
    plast_rng r = plast_rng_stream(seed, episode, PLAST_RNG_TASK_NORM);
    double sum[2] = { 0, 0 }, sq[2] = { 0, 0 }, p[2];
    for (int i = 0; i < NORM_SAMPLES; i++) {
        raw_point(P, i % P->classes, &r, p);
        for (int k = 0; k < 2; k++) sum[k] += p[k], sq[k] += p[k] * p[k];
    }
    for (int k = 0; k < 2; k++) {
        double mean = sum[k] / NORM_SAMPLES, var = sq[k] / NORM_SAMPLES - mean * mean;
        P->shift[k] = mean;
        P->scale[k] = var > 0 ? sqrt(var) : 1;
    }
}

/* A point of class C as the task presents it: standardised, projected. */
static void point(const problem *P, const double *proj, int dim, int c, plast_rng *r, double *out)
{
    double p[2];
    raw_point(P, c, r, p);
    for (int k = 0; k < 2; k++) p[k] = (p[k] - P->shift[k]) / P->scale[k];
    if (!proj) {
        out[0] = p[0], out[1] = p[1];
        return;
    }
    for (int j = 0; j < dim; j++) out[j] = p[0] * proj[j] + p[1] * proj[dim + j];
}

/* Step 5's P, or NULL without a projection (check *FAILED). */
static double *projection(const plast_task_family *f, uint64_t seed, int *failed)
{
    *failed = 0;
    if (f->project <= 0) return NULL;
    double *P = malloc((size_t)f->project * 2 * sizeof *P);
    if (!P) { *failed = 1; return NULL; }
    plast_rng r = plast_rng_stream(seed, 0, PLAST_RNG_PROJECTION);
    for (int k = 0; k < 2 * f->project; k++) P[k] = plast_rng_normal(&r) / sqrt(2.0);
    return P;
}

/* Steps 3 and 4 into T (allocated) and *X_UNL. */
static int draw_points(const problem *P, const double *proj, int dim, plast_task *t, int unlabelled,
                       uint64_t seed, uint64_t episode, plast_rng *r, double **x_unl)
{
    int ways = t->ways, k = t->k_train, q = t->q_query, nt = ways * k;
    double *major = malloc(((size_t)nt * (size_t)dim + 1) * sizeof *major);
    int *perm = malloc(((size_t)nt + 1) * sizeof *perm);
    if (!major || !perm) { free(major); free(perm); return -1; }
    for (int i = 0; i < nt; i++) point(P, proj, dim, i / k, r, major + (size_t)i * dim);
    for (int i = 0; i < ways * q; i++) {
        point(P, proj, dim, i / q, r, t->x_query + (size_t)i * dim);
        t->y_query[i] = i / q;
        t->query_index[i] = SIZE_MAX;
    }
    plast_rng s = plast_rng_stream(seed, episode, PLAST_RNG_SHUFFLE);
    for (int i = 0; i < nt; i++) perm[i] = i;
    plast_rng_shuffle(&s, perm, (size_t)nt);
    for (int i = 0; i < nt; i++) {
        memcpy(t->x_train + (size_t)i * dim, major + (size_t)perm[i] * dim, (size_t)dim * sizeof *major);
        t->y_train[i] = perm[i] / k;
        t->train_index[i] = SIZE_MAX;
    }
    free(major);
    free(perm);
    *x_unl = NULL;
    if (unlabelled <= 0) return 0;
    if (!(*x_unl = malloc((size_t)unlabelled * (size_t)dim * sizeof **x_unl))) return -1;
    plast_rng u = plast_rng_stream(seed, episode, PLAST_RNG_UNLABELLED);
    for (int i = 0; i < unlabelled; i++)
        point(P, proj, dim, (int)plast_rng_below(&u, (uint64_t)P->classes), &u, *x_unl + (size_t)i * dim);
    return 0;
}

/* The task's arrays, as task.c allocates them (indices unused: SIZE_MAX). */
static int alloc_task(plast_task *t, int ways, int k, int q, int dim)
{
    size_t nt = (size_t)ways * (size_t)k, nq = (size_t)ways * (size_t)q;
    t->ways = ways, t->k_train = k, t->q_query = q, t->dim = (size_t)dim, t->n_train = (int)nt;
    t->x_train = malloc((nt * (size_t)dim + 1) * sizeof *t->x_train);
    t->y_train = malloc((nt + 1) * sizeof *t->y_train);
    t->x_query = malloc((nq * (size_t)dim + 1) * sizeof *t->x_query);
    t->y_query = malloc((nq + 1) * sizeof *t->y_query);
    t->classes = malloc(((size_t)ways + 1) * sizeof *t->classes);
    t->train_index = malloc((nt + 1) * sizeof *t->train_index);
    t->query_index = malloc((nq + 1) * sizeof *t->query_index);
    if (!t->x_train || !t->y_train || !t->x_query || !t->y_query || !t->classes || !t->train_index ||
        !t->query_index)
        return -1;
    for (int l = 0; l < ways; l++) t->classes[l] = l;
    return 0;
}

int plast_family_task(const plast_dataset *d, int ways, int k, int q, int unlabelled, uint64_t seed,
                      uint64_t episode, plast_task *out, double **x_unl, char *err, size_t errlen)
{
    const plast_task_family *f = &d->family;
    memset(out, 0, sizeof *out);
    *x_unl = NULL;
    int classes = family_classes(f), dim = f->project > 0 ? f->project : 2, failed;
    if (ways != classes || k < 1 || q < 0)
        return plast_fail(err, errlen, "%s: its tasks have %d classes, so they are %d-way with K >= 1 and "
                          "Q >= 0 (got ways=%d, K=%d, Q=%d)", d->name, classes, classes, ways, k, q);
    if ((double)ways * (k + q) * dim > 1e9 || (double)unlabelled * dim > 1e9)
        return plast_fail(err, errlen, "%s: a task of %d x %d samples is too large", d->name, ways, k + q);
    plast_rng r = plast_rng_stream(seed, episode, PLAST_RNG_TASK);
    problem P;
    double *proj = projection(f, seed, &failed);
    int rc = failed || draw_problem(f, &r, &P) < 0 || alloc_task(out, ways, k, q, dim) < 0 ? -1 : 0;
    if (rc == 0) {
        standardise(&P, seed, episode);
        rc = draw_points(&P, proj, dim, out, unlabelled, seed, episode, &r, x_unl);
    }
    if (!failed) free_problem(&P);
    free(proj);
    if (rc < 0) {
        plast_task_free(out);
        free(*x_unl);
        *x_unl = NULL;
        return plast_fail(err, errlen, "%s: out of memory for a task", d->name);
    }
    return 0;
}

int plast_family_dataset(const plast_task_family *f, plast_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (f->kind == PLAST_FAMILY_MOONS ? !(f->noise >= 0)
        : f->kind != PLAST_FAMILY_GAUSSIANS || !(f->std > 0) || f->centers < 2 || f->centers > 1000)
        return -1;
    if (f->project < 0) return -1;
    out->family = *f;
    out->dim = f->project > 0 ? (size_t)f->project : 2;
    out->n_classes = family_classes(f);
    out->name = malloc(32);
    if (!out->name) return -1;
    snprintf(out->name, 32, "%s (random)", f->kind == PLAST_FAMILY_MOONS ? "moons" : "gaussians");
    return 0;
}

void plast_standardise(plast_dataset *d)
{
    for (size_t k = 0; d->x && k < d->dim; k++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < d->n; i++) sum += d->x[i * d->dim + k];
        double mean = d->n ? sum / (double)d->n : 0;
        for (size_t i = 0; i < d->n; i++) sq += (d->x[i * d->dim + k] - mean) * (d->x[i * d->dim + k] - mean);
        double sd = d->n ? sqrt(sq / (double)d->n) : 0;
        for (size_t i = 0; i < d->n; i++) d->x[i * d->dim + k] = (d->x[i * d->dim + k] - mean) / (sd > 0 ? sd : 1);
    }
}
