/*
 * test_pool_reference.c -- the numbers of the pool kernel, independently.
 *
 * Compiles rules/pool.rule through the pipeline and the C back end (the
 * emitted C, built by the system compiler), runs pool_fwd on random inputs,
 * and compares dw with a direct loop over the ten candidate terms of 003
 * (Methods 4.2), written here from the paper's matrix formulas:
 *
 *   F0 = -t0 e_l y_{l-1}^T          F5 = -t5 e_l 1^T y_l y_{l-1}^T
 *   F1 = -t1 y_l e_{l-1}^T          F6 = -t6 y_l (y_l^T W e_{l-1}) e_{l-1}^T
 *   F2 = -t2 e_l e_{l-1}^T          F7 = -t7 e_l (y_l^T W e_{l-1}) y_{l-1}^T
 *   F3 = -t3 W                      F8 = -t8 y_l (y_{l-1}^T W^T e_l) e_{l-1}^T
 *   F4 = -t4 1 e_{l-1}^T            F9 = -t9 (y_l y_{l-1}^T - (y_l y_l^T) W)
 *
 * with W[i, j] (i postsynaptic, j presynaptic) and, for a minibatch, dw the
 * mean over the samples of the per-sample sum.  Sizes n_pre = 7, n_post = 5,
 * batch 1 and 3; every theta is nonzero so every term counts.  The largest
 * relative difference must be at most 1e-12.
 */
#include "config.h"
#include "backend.h"
#include "diag.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_PRE = 7, N_POST = 5 };

static uint64_t rng = 12345;
static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * plast_lcg_uniform(&rng);
}

typedef struct inputs {
    int batch;
    double *pre_y, *pre_e, *post_y, *post_e;   /* [batch][n] */
    double w[N_POST * N_PRE];                  /* [i][j] */
    double theta[10];
} inputs;

/* The reference: per sample, the ten terms at every synapse, then the mean. */
static void reference_dw(const inputs *in, double *dw)
{
    memset(dw, 0, sizeof(double) * N_POST * N_PRE);
    const double *t = in->theta;
    for (int b = 0; b < in->batch; b++) {
        const double *y0 = in->pre_y + b * N_PRE, *e0 = in->pre_e + b * N_PRE;
        const double *y1 = in->post_y + b * N_POST, *e1 = in->post_e + b * N_POST;
        double sum_y1 = 0, y1We0 = 0, y0WTe1 = 0, y1W[N_PRE];   /* 1^T y_l, y_l^T W e_{l-1}, y_{l-1}^T W^T e_l, y_l^T W */
        for (int k = 0; k < N_POST; k++) sum_y1 += y1[k];
        for (int j = 0; j < N_PRE; j++) {
            y1W[j] = 0;
            for (int k = 0; k < N_POST; k++) y1W[j] += y1[k] * in->w[k * N_PRE + j];
        }
        for (int k = 0; k < N_POST; k++)
            for (int l = 0; l < N_PRE; l++) {
                y1We0 += y1[k] * in->w[k * N_PRE + l] * e0[l];
                y0WTe1 += y0[l] * in->w[k * N_PRE + l] * e1[k];
            }
        for (int i = 0; i < N_POST; i++)
            for (int j = 0; j < N_PRE; j++) {
                double W = in->w[i * N_PRE + j];
                double F[10] = {
                    -t[0] * e1[i] * y0[j],
                    -t[1] * y1[i] * e0[j],
                    -t[2] * e1[i] * e0[j],
                    -t[3] * W,
                    -t[4] * e0[j],
                    -t[5] * e1[i] * sum_y1 * y0[j],
                    -t[6] * y1[i] * y1We0 * e0[j],
                    -t[7] * e1[i] * y1We0 * y0[j],
                    -t[8] * y1[i] * y0WTe1 * e0[j],
                    -t[9] * (y1[i] * y0[j] - y1[i] * y1W[j]),
                };
                double s = 0;
                for (int k = 0; k < 10; k++) s += F[k];
                dw[i * N_PRE + j] += s / in->batch;
            }
    }
}

static double *fill(int n, double lo, double hi)
{
    double *v = malloc((size_t)n * sizeof *v);
    for (int k = 0; k < n; k++) v[k] = uniform(lo, hi);
    return v;
}

/* Runs pool_fwd with its arguments bound by name; returns 0 on success. */
static int run_kernel(const plast_kdesc *k, const inputs *in, double *dw)
{
    void *args[16];
    if (k->n_arg > 16) return -1;
    for (int a = 0; a < k->n_arg; a++) {
        const char *name = k->arg[a].name;
        if (!strcmp(name, "pre_y")) args[a] = in->pre_y;
        else if (!strcmp(name, "pre_e")) args[a] = in->pre_e;
        else if (!strcmp(name, "post_y")) args[a] = in->post_y;
        else if (!strcmp(name, "post_e")) args[a] = in->post_e;
        else if (!strcmp(name, "w")) args[a] = (void *)in->w;
        else if (!strcmp(name, "meta")) args[a] = (void *)in->theta;
        else if (!strcmp(name, "dw")) args[a] = dw;
        else { fprintf(stderr, "pool_fwd: unexpected argument '%s'\n", name); return -1; }
    }
    plast_kargs ka = { N_PRE, N_POST, in->batch, 1, args, NULL };
    int64_t bytes = k->scratch(&ka);
    ka.scratch = malloc((size_t)(bytes > 0 ? bytes : 8));
    k->run(&ka);
    free(ka.scratch);
    return 0;
}

/* Largest |kernel - reference| / |reference| over the synapses (values
 * smaller than 1e-9 of the largest count at that size, so a term that
 * happens to cancel does not make a rounding error look relative). */
static double compare(const double *got, const double *want)
{
    double scale = 0, worst = 0;
    for (int k = 0; k < N_POST * N_PRE; k++) scale = fmax(scale, fabs(want[k]));
    for (int k = 0; k < N_POST * N_PRE; k++) {
        double rel = fabs(got[k] - want[k]) / fmax(fabs(want[k]), 1e-9 * scale);
        if (!(rel <= worst)) worst = rel;   /* NaN propagates */
    }
    return worst;
}

static int check_batch(const plast_kdesc *k, int batch)
{
    inputs in;
    in.batch = batch;
    in.pre_y = fill(batch * N_PRE, 0.1, 1);
    in.pre_e = fill(batch * N_PRE, -1, 1);
    in.post_y = fill(batch * N_POST, 0.1, 1);
    in.post_e = fill(batch * N_POST, -1, 1);
    for (int k2 = 0; k2 < N_POST * N_PRE; k2++) in.w[k2] = uniform(-1, 1);
    for (int t = 0; t < 10; t++) in.theta[t] = uniform(-1, 1);
    double got[N_POST * N_PRE], want[N_POST * N_PRE];
    for (int k2 = 0; k2 < N_POST * N_PRE; k2++) got[k2] = NAN;   /* every element must be written */
    int failed = run_kernel(k, &in, got) != 0;
    reference_dw(&in, want);
    double rel = compare(got, want);
    failed |= !(rel <= 1e-12);
    printf("pool_fwd, n_pre %d, n_post %d, batch %d: max relative difference %.2e%s\n", N_PRE, N_POST, batch, rel,
           failed ? "  FAIL" : "");
    if (failed)
        for (int k2 = 0; k2 < N_POST * N_PRE; k2++)
            printf("  dw[%d][%d]: kernel %.17g, reference %.17g\n", k2 / N_PRE, k2 % N_PRE, got[k2], want[k2]);
    free(in.pre_y); free(in.pre_e); free(in.post_y); free(in.post_e);
    return failed;
}

int main(void)
{
    const char *top = getenv("top_srcdir");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/rules/pool.rule", top && *top ? top : ".");
    compiled_unit *u = pipeline_compile(path, 1);
    if (!u) { fprintf(stderr, "test_pool_reference: %s does not compile\n", path); return 1; }
    backend_module *m = backend_load_c(u, path, PREC_DOUBLE, err, sizeof err);
    if (!m) { fprintf(stderr, "test_pool_reference: %s\n", err); pipeline_free(u); return 1; }
    const plast_kdesc *k = backend_find(m, "pool_fwd");
    int failed = 0;
    if (!k) { fprintf(stderr, "test_pool_reference: no pool_fwd\n"); failed = 1; }
    else failed = check_batch(k, 1) | check_batch(k, 3);
    backend_close(m);
    pipeline_free(u);
    return failed;
}
