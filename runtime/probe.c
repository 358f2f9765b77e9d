/* probe — a linear probe of a representation: L2-regularised logistic
 * regression of class labels on feature vectors (plast.h), and its test
 * accuracy against the number of labelled samples.
 *
 * One binary model per class (one-vs-rest; a single one for two classes),
 * each minimising
 *     sum_i log(1 + exp(-s_i (w . x_i + b))) + l2/2 |w|^2,   s_i = +-1,
 * (the bias b is not penalised: scikit-learn's LogisticRegression with
 * C = 1 / l2) by Newton's method: the gradient and Hessian are exact, the
 * (dim+1) x (dim+1) system is solved by Cholesky, until the step is below
 * 1e-12 (relative) or after 100 steps.  The objective is strictly convex for
 * l2 > 0, so the fit is unique and deterministic.  Features are used as they
 * are (binary k-cap codes need no scaling).
 */
#include "config.h"
#include "plast.h"
#include "rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Solves A x = b in place (b becomes x) for a symmetric positive definite
 * A [n][n] (overwritten by its Cholesky factor); -1 when A is not. */
static int cholesky_solve(double *A, double *b, int n)
{
    for (int j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (int k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0)) return -1;
        A[j * n + j] = sqrt(d);
        for (int i = j + 1; i < n; i++) {
            double s = A[i * n + j];
            for (int k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = s / A[j * n + j];
        }
    }
    for (int i = 0; i < n; i++) {   /* L y = b */
        for (int k = 0; k < i; k++) b[i] -= A[i * n + k] * b[k];
        b[i] /= A[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {   /* L^T x = y */
        for (int k = i + 1; k < n; k++) b[i] -= A[k * n + i] * b[k];
        b[i] /= A[i * n + i];
    }
    return 0;
}

/* w . x + b with w = W[0..dim), b = W[dim] */
static double margin(const double *W, const double *x, size_t dim)
{
    double s = W[dim];
    for (size_t k = 0; k < dim; k++) s += W[k] * x[k];
    return s;
}

/* One Newton step of the binary model W (dim + 1 values) on rows ROWS of X
 * with signs S; returns the step's size relative to |W| + 1, or -1. */
static double newton_step(double *W, const double *x, const double *s, size_t n, size_t dim, double l2,
                          double *H, double *g)
{
    int m = (int)dim + 1;
    memset(H, 0, (size_t)m * m * sizeof *H);
    for (int k = 0; k < m; k++) g[k] = k < (int)dim ? l2 * W[k] : 0;
    for (int k = 0; k < (int)dim; k++) H[k * m + k] = l2;
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * dim;
        double p = 1 / (1 + exp(-s[i] * margin(W, xi, dim)));   /* P(correct) */
        double c = -(1 - p) * s[i], h = p * (1 - p);
        for (int a = 0; a < m; a++) {
            double xa = a < (int)dim ? xi[a] : 1;
            g[a] += c * xa;
            for (int b = 0; b <= a; b++) H[a * m + b] += h * xa * (b < (int)dim ? xi[b] : 1);
        }
    }
    for (int a = 0; a < m; a++)
        for (int b = a + 1; b < m; b++) H[a * m + b] = H[b * m + a];
    if (cholesky_solve(H, g, m) < 0) return -1;
    double step = 0, norm = 0;
    for (int k = 0; k < m; k++) {
        W[k] -= g[k];
        step += g[k] * g[k];
        norm += W[k] * W[k];
    }
    return sqrt(step) / (sqrt(norm) + 1);
}

static int fit_binary(double *W, const double *x, const double *s, size_t n, size_t dim, double l2)
{
    int m = (int)dim + 1;
    double *H = malloc((size_t)m * m * sizeof *H), *g = malloc((size_t)m * sizeof *g);
    int rc = H && g ? 0 : -1;
    memset(W, 0, (size_t)m * sizeof *W);
    for (int it = 0; rc == 0 && it < 100; it++) {
        double step = newton_step(W, x, s, n, dim, l2, H, g);
        if (step < 0) rc = -1;
        else if (step < 1e-12) break;
    }
    free(H);
    free(g);
    return rc;
}

int plast_probe_fit(const double *x, const int32_t *y, size_t n, size_t dim, int n_classes, double l2, plast_probe *p,
                    char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (n < 1 || dim < 1 || n_classes < 2 || !(l2 > 0))
        return fail(err, errlen, "a probe needs samples, features, two classes or more and l2 > 0");
    int models = n_classes == 2 ? 1 : n_classes;
    p->dim = (int)dim;
    p->n_classes = n_classes;
    p->w = calloc((size_t)models * (dim + 1), sizeof *p->w);
    double *s = malloc(n * sizeof *s);
    if (!p->w || !s) { free(s); plast_probe_free(p); return fail(err, errlen, "out of memory"); }
    int rc = 0;
    for (int c = 0; c < models && rc == 0; c++) {
        int positive = n_classes == 2 ? 1 : c;   /* two classes: one model, class 1 positive */
        for (size_t i = 0; i < n; i++) s[i] = y[i] == positive ? 1 : -1;
        rc = fit_binary(p->w + (size_t)c * (dim + 1), x, s, n, dim, l2);
    }
    free(s);
    if (rc < 0) { plast_probe_free(p); return fail(err, errlen, "the probe's Newton system is singular"); }
    return 0;
}

void plast_probe_predict(const plast_probe *p, const double *x, size_t n, int32_t *out)
{
    size_t dim = (size_t)p->dim;
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * dim;
        if (p->n_classes == 2) { out[i] = margin(p->w, xi, dim) > 0; continue; }
        int best = 0;
        double top = -INFINITY;
        for (int c = 0; c < p->n_classes; c++) {
            double v = margin(p->w + (size_t)c * (dim + 1), xi, dim);
            if (v > top) { top = v; best = c; }
        }
        out[i] = best;
    }
}

void plast_probe_free(plast_probe *p)
{
    free(p->w);
    memset(p, 0, sizeof *p);
}

/* ---- accuracy against the number of labelled samples ---- */

/* COUNT rows of [0, N_TRAIN) into PICK: one of each class present first
 * (when COUNT allows), the rest uniformly among the others. */
static void pick_labelled(plast_rng *r, const int32_t *y, size_t n_train, int n_classes, size_t count, int *pick,
                          int *order)
{
    for (size_t i = 0; i < n_train; i++) order[i] = (int)i;
    plast_rng_shuffle(r, order, n_train);
    size_t got = 0;
    for (int c = 0; c < n_classes && got < count && count >= (size_t)n_classes; c++)
        for (size_t i = 0; i < n_train; i++)
            if (order[i] >= 0 && y[order[i]] == c) { pick[got++] = order[i]; order[i] = -1; break; }
    for (size_t i = 0; i < n_train && got < count; i++)
        if (order[i] >= 0) pick[got++] = order[i];
}

/* Accuracy on rows [n_train, n) of a probe fitted on rows PICK[0..m). */
static int score(const double *x, const int32_t *y, size_t n, size_t dim, int n_classes, size_t n_train,
                 const int *pick, size_t m, double l2, double *xs, int32_t *ys, int32_t *pred, double *acc,
                 char *err, size_t errlen)
{
    for (size_t i = 0; i < m; i++) {
        memcpy(xs + i * dim, x + (size_t)pick[i] * dim, dim * sizeof *xs);
        ys[i] = y[pick[i]];
    }
    plast_probe p;
    if (plast_probe_fit(xs, ys, m, dim, n_classes, l2, &p, err, errlen) < 0) return -1;
    plast_probe_predict(&p, x + n_train * dim, n - n_train, pred);
    size_t right = 0;
    for (size_t i = n_train; i < n; i++) right += pred[i - n_train] == y[i];
    *acc = (double)right / (double)(n - n_train);
    plast_probe_free(&p);
    return 0;
}

int plast_probe_curve(const double *x, const int32_t *y, size_t n, size_t dim, int n_classes, size_t n_train,
                      const int *counts, int n_counts, int repeats, uint64_t seed, double l2, double *mean,
                      double *se, char *err, size_t errlen)
{
    if (n_train < 1 || n_train >= n || repeats < 1) return fail(err, errlen, "a probe curve needs training and test rows");
    for (int c = 0; c < n_counts; c++)
        if (counts[c] < 1 || (size_t)counts[c] > n_train)
            return fail(err, errlen, "%d labelled samples: expected 1 to %zu", counts[c], n_train);
    int *pick = malloc(n_train * sizeof *pick), *order = malloc(n_train * sizeof *order);
    double *xs = malloc(n_train * dim * sizeof *xs);
    int32_t *ys = malloc(n_train * sizeof *ys), *pred = malloc((n - n_train) * sizeof *pred);
    int rc = pick && order && xs && ys && pred ? 0 : fail(err, errlen, "out of memory");
    for (int c = 0; rc == 0 && c < n_counts; c++) {
        double sum = 0, sq = 0, acc = 0;
        for (int k = 0; rc == 0 && k < repeats; k++) {
            plast_rng r = plast_rng_stream(seed, (uint64_t)c * (uint64_t)repeats + (uint64_t)k, PLAST_RNG_METRICS);
            pick_labelled(&r, y, n_train, n_classes, (size_t)counts[c], pick, order);
            rc = score(x, y, n, dim, n_classes, n_train, pick, (size_t)counts[c], l2, xs, ys, pred, &acc, err, errlen);
            sum += acc;
            sq += acc * acc;
        }
        mean[c] = sum / repeats;
        double var = repeats > 1 ? (sq - sum * sum / repeats) / (repeats - 1) : 0;
        se[c] = sqrt(var > 0 ? var / repeats : 0);
    }
    free(pick); free(order); free(xs); free(ys); free(pred);
    return rc;
}
