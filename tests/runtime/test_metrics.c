/* test_metrics — the representation metrics of libplast (probe.c, emd.c)
 * on hand-computed cases; with `test_metrics ref DIR` it runs them on the
 * arrays of DIR for tests/runtime/metrics.sh, which compares them with
 * scipy-free numpy references (tests/runtime/ref_metrics.py). */
#include "plast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
                              printf(__VA_ARGS__); printf("\n"); } } while (0)

static void near(double got, double want, double tol, const char *what)
{
    CHECK(fabs(got - want) <= tol, "%s = %.17g, expected %.17g", what, got, want);
}

/* The classic 3x3 case: rows 0, 1, 2 to columns 1, 0, 2 cost 1 + 2 + 2. */
static void test_assignment(void)
{
    double cost[9] = { 4, 1, 3, 2, 0, 5, 3, 2, 2 };
    size_t m[3];
    near(plast_assignment(cost, 3, m), 5, 0, "assignment cost");
    CHECK(m[0] == 1 && m[1] == 0 && m[2] == 2, "assignment %zu %zu %zu", m[0], m[1], m[2]);
    double one = 7;
    size_t m1;
    near(plast_assignment(&one, 1, &m1), 7, 0, "1x1 assignment");
}

/* Two pairs of points one unit apart: matched vertically, EMD 1 (matched
 * in the given order, sqrt 2).  In 1-D, {0, 1} to {0.9, 2.5}: in order
 * (0.9 + 1.5) / 2 = 1.2; the greedy nearest pair (1, 0.9) would leave
 * (0, 2.5): 1.3. */
static void test_emd(void)
{
    double a[4] = { 0, 0, 1, 0 }, b[4] = { 1, 1, 0, 1 };
    near(plast_emd(a, b, 2, 2), 1, 1e-15, "emd of two unit pairs");
    double p[2] = { 0, 1 }, q[2] = { 0.9, 2.5 };
    near(plast_emd(p, q, 2, 1), 1.2, 1e-15, "emd in 1-D");
    near(plast_emd(a, a, 2, 2), 0, 0, "emd of a set with itself");
}

/* Points (t, 2t), t = -1, 0, 1: one component of variance (1 + 4) * 2/3. */
static void test_pca(void)
{
    double x[6] = { -1, -2, 0, 0, 1, 2 }, out[6], var[2];
    CHECK(plast_pca(x, 3, 2, 2, out, var) == 0, "pca failed");
    near(var[0], 10.0 / 3, 1e-12, "first eigenvalue");
    near(var[1], 0, 1e-12, "second eigenvalue");
    near(out[4], sqrt(5), 1e-12, "projection of (1, 2)");   /* along (1, 2)/sqrt(5), positive */
    near(out[0], -sqrt(5), 1e-12, "projection of (-1, -2)");
    CHECK(plast_pca(x, 3, 2, 3, out, var) < 0, "pca of more components than coordinates");
}

static void test_normalise(void)
{
    double x[4] = { 1, 1, 3, 1 };   /* centre (2, 1), distances 1: already RMS 1 after centring */
    plast_normalise_cloud(x, 2, 2);
    near(x[0], -1, 1e-15, "x0");
    near(x[2], 1, 1e-15, "x2");
    double y[4] = { 0, 0, 0, 4 };   /* centre (0, 2), radius 2 -> scaled by 1/2 */
    plast_normalise_cloud(y, 2, 2);
    near(y[1], -1, 1e-15, "y1");
    near(y[3], 1, 1e-15, "y3");
}

/* B is A rotated by 30 degrees and reflected: the aligned EMD finds it. */
static void test_aligned(void)
{
    enum { N = 12 };
    double a[2 * N], b[2 * N], best[2 * N];
    for (int i = 0; i < N; i++) {   /* an asymmetric shape: a spiral arm */
        double r = 0.2 + 0.1 * i, t = 0.5 * i;
        a[2 * i] = r * cos(t);
        a[2 * i + 1] = r * sin(t);
        double x = a[2 * i], y = -a[2 * i + 1], c = cos(M_PI / 6), s = sin(M_PI / 6);
        b[2 * ((i * 5) % N)] = c * x - s * y;   /* in another order */
        b[2 * ((i * 5) % N) + 1] = s * x + c * y;
    }
    double plain = plast_emd(a, b, N, 2), aligned = plast_emd_aligned(a, b, N, best);
    CHECK(plain > 0.1, "plain emd %g should be large", plain);
    near(aligned, 0, 1e-9, "aligned emd of a rotated reflection");
    near(plast_emd(best, b, N, 2), aligned, 1e-12, "the returned alignment's emd");
}

/* Two samples x = 0 (class 0) and 1 (class 1), l2 = 1: by symmetry b = -w/2,
 * and w = sigmoid(-w/2) (the gradient in w), solved here by bisection. */
static void test_probe_two_points(void)
{
    double x[2] = { 0, 1 };
    int32_t y[2] = { 0, 1 }, pred[2];
    plast_probe p;
    char err[128];
    CHECK(plast_probe_fit(x, y, 2, 1, 2, 1.0, &p, err, sizeof err) == 0, "fit: %s", err);
    double lo = 0, hi = 1;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (mid - 1 / (1 + exp(mid / 2)) < 0) lo = mid; else hi = mid;
    }
    near(p.w[0], lo, 1e-12, "w");
    near(p.w[1], -lo / 2, 1e-12, "b");
    plast_probe_predict(&p, x, 2, pred);
    CHECK(pred[0] == 0 && pred[1] == 1, "predictions %d %d", pred[0], pred[1]);
    plast_probe_free(&p);
    CHECK(plast_probe_fit(x, y, 2, 1, 2, 0, &p, err, sizeof err) < 0, "l2 = 0 accepted");
}

/* Three separable classes on a line: one-vs-rest, every test point right;
 * the curve's draws are deterministic and its mean accuracy is 1. */
static void test_probe_curve(void)
{
    enum { N = 60 };
    double x[2 * N];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % 3;
        x[2 * i] = 10.0 * (i % 3) + 0.1 * (i % 7);
        x[2 * i + 1] = (i % 3 == 1) ? 5 : -5;
    }
    int counts[3] = { 3, 6, 30 };
    double m1[3], s1[3], m2[3], s2[3];
    char err[128];
    CHECK(plast_probe_curve(x, y, N, 2, 3, 30, counts, 3, 4, 7, 1.0, m1, s1, err, sizeof err) == 0, "%s", err);
    CHECK(plast_probe_curve(x, y, N, 2, 3, 30, counts, 3, 4, 7, 1.0, m2, s2, err, sizeof err) == 0, "%s", err);
    for (int c = 0; c < 3; c++) {
        CHECK(m1[c] == m2[c] && s1[c] == s2[c], "the curve is not deterministic");
        CHECK(m1[c] >= 0.9 && m1[c] <= 1, "accuracy %g at %d labels", m1[c], counts[c]);
    }
    near(m1[2], 1, 0, "accuracy with 30 labels");
    int bad = 31;
    CHECK(plast_probe_curve(x, y, N, 2, 3, 30, &bad, 1, 4, 7, 1.0, m1, s1, err, sizeof err) < 0,
          "more labels than training rows accepted");
}

/* ---- `ref DIR`: the metrics on DIR's arrays, for ref_metrics.py ---- */

static double *load(const char *dir, const char *name, plast_array *a)
{
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (plast_npy_read(path, a, err, sizeof err) < 0) { printf("%s\n", err); exit(1); }
    return a->data;
}

static void save(const char *dir, const char *name, const double *v, size_t d0, size_t d1)
{
    char path[1024], err[256];
    plast_array a;
    memset(&a, 0, sizeof a);
    a.ndim = d1 ? 2 : d0 ? 1 : 0;
    a.shape[0] = d0;
    a.shape[1] = d1;
    a.data = (double *)v;
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (plast_npy_write(path, &a, err, sizeof err) < 0) { printf("%s\n", err); exit(1); }
}

/* DIR: a.npy, b.npy [n, 2] -> emd.npy, emd_aligned.npy, pca.npy (of x.npy [m, d]: 2 components),
 * probe.npy (w of logistic regression of px.npy [k, d] on py.npy, l2 = 1). */
static int ref(const char *dir)
{
    plast_array A, B, X, PX, PY;
    double *a = load(dir, "a", &A), *b = load(dir, "b", &B), *x = load(dir, "x", &X);
    double *px = load(dir, "px", &PX), *py = load(dir, "py", &PY);
    size_t n = A.shape[0];
    double e = plast_emd(a, b, n, 2), ea = plast_emd_aligned(a, b, n, NULL);
    save(dir, "emd", &e, 0, 0);
    save(dir, "emd_aligned", &ea, 0, 0);
    double *pc = malloc(X.shape[0] * 2 * sizeof *pc), var[2];
    if (plast_pca(x, X.shape[0], X.shape[1], 2, pc, var) < 0) return 1;
    save(dir, "pca", pc, X.shape[0], 2);
    save(dir, "pca_var", var, 2, 0);
    int32_t *y = malloc(PY.shape[0] * sizeof *y);
    int classes = 0;
    for (size_t i = 0; i < PY.shape[0]; i++) { y[i] = (int32_t)py[i]; if (y[i] + 1 > classes) classes = y[i] + 1; }
    plast_probe p;
    char err[256];
    if (plast_probe_fit(px, y, PX.shape[0], PX.shape[1], classes, 1.0, &p, err, sizeof err) < 0) { puts(err); return 1; }
    save(dir, "probe", p.w, (size_t)(classes == 2 ? 1 : classes), PX.shape[1] + 1);
    plast_probe_free(&p);
    free(pc); free(y);
    plast_array_free(&A); plast_array_free(&B); plast_array_free(&X); plast_array_free(&PX); plast_array_free(&PY);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "ref")) return ref(argv[2]);
    test_assignment();
    test_emd();
    test_pca();
    test_normalise();
    test_aligned();
    test_probe_two_points();
    test_probe_curve();
    if (failures) { printf("%d failures\n", failures); return 1; }
    printf("metrics: all passed\n");
    return 0;
}
