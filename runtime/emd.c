/* emd — how well a learned representation keeps the geometry of the data:
 * the earth mover's distance between two equal-size point sets by optimal
 * assignment, the principal components that bring a representation to 2-D,
 * the scaling of a point cloud, and the distance at the best rotation or
 * reflection of the plane (plast.h).
 *
 *   assignment:  the Hungarian method with potentials (Kuhn-Munkres, in the
 *                shortest-augmenting-path form of Jonker and Volgenant), O(n^3);
 *   EMD(A, B) =  min over bijections pi of 1/n sum_i |a_i - b_pi(i)|  (Euclidean),
 *                the exact earth mover's distance of two sets of n unit masses;
 *   PCA:         eigenvectors of the covariance by cyclic Jacobi rotations;
 *   aligned:     min over orthogonal Q of EMD(A Q, B) in the plane: the
 *                rotations every 10 degrees, with and without a reflection,
 *                then a golden-section search within 10 degrees of the best
 *                four (the EMD is continuous in the angle, not convex).
 */
#include "config.h"
#include "plast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- optimal assignment ---- */

/* Rows and columns 1..n (0: the virtual start), potentials u, v; p[j] the
 * row matched to column j.  Adds row i by the shortest augmenting path. */
static void augment(const double *cost, size_t n, size_t i, double *u, double *v, size_t *p, size_t *way,
                    double *minv, unsigned char *used)
{
    p[0] = i;
    size_t j0 = 0;
    for (size_t j = 0; j <= n; j++) { minv[j] = INFINITY; used[j] = 0; }
    do {
        used[j0] = 1;
        size_t i0 = p[j0], j1 = 0;
        double delta = INFINITY;
        for (size_t j = 1; j <= n; j++) {
            if (used[j]) continue;
            double cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
            if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
            if (minv[j] < delta) { delta = minv[j]; j1 = j; }
        }
        for (size_t j = 0; j <= n; j++) {
            if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
            else minv[j] -= delta;
        }
        j0 = j1;
    } while (p[j0] != 0);
    do { size_t j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0);
}

double plast_assignment(const double *cost, size_t n, size_t *match)
{
    double *u = calloc(n + 1, sizeof *u), *v = calloc(n + 1, sizeof *v), *minv = malloc((n + 1) * sizeof *minv);
    size_t *p = calloc(n + 1, sizeof *p), *way = calloc(n + 1, sizeof *way);
    unsigned char *used = malloc(n + 1);
    double total = NAN;
    if (u && v && minv && p && way && used) {
        for (size_t i = 1; i <= n; i++) augment(cost, n, i, u, v, p, way, minv, used);
        total = 0;
        for (size_t j = 1; j <= n; j++) {
            match[p[j] - 1] = j - 1;
            total += cost[(p[j] - 1) * n + (j - 1)];
        }
    }
    free(u); free(v); free(minv); free(p); free(way); free(used);
    return total;
}

static double dist(const double *a, const double *b, size_t dim)
{
    double s = 0;
    for (size_t k = 0; k < dim; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
    return sqrt(s);
}

/* The EMD, and the matching in MATCH when given. */
static double emd_match(const double *a, const double *b, size_t n, size_t dim, size_t *match)
{
    double *cost = calloc(n * n + 1, sizeof *cost);
    size_t *m = match ? match : malloc(n * sizeof *m);
    double total = NAN;
    if (cost && m) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) cost[i * n + j] = dist(a + i * dim, b + j * dim, dim);
        total = plast_assignment(cost, n, m) / (double)n;
    }
    if (!match) free(m);
    free(cost);
    return total;
}

double plast_emd(const double *a, const double *b, size_t n, size_t dim)
{
    return n ? emd_match(a, b, n, dim, NULL) : NAN;
}

/* ---- principal components ---- */

/* Eigen-decomposition of the symmetric A [n][n] (destroyed) by cyclic
 * Jacobi rotations: eigenvalues on A's diagonal, eigenvectors in V's columns. */
static void jacobi(double *A, double *V, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) V[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (size_t i = 0; i < n; i++) {
            diag += A[i * n + i] * A[i * n + i];
            for (size_t j = i + 1; j < n; j++) off += A[i * n + j] * A[i * n + j];
        }
        if (off <= 1e-30 * diag || off == 0) return;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (apq == 0) continue;
                double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < n; k++) {   /* A <- J^T A J, V <- V J */
                    double akp = A[k * n + p], akq = A[k * n + q];
                    A[k * n + p] = c * akp - s * akq;
                    A[k * n + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < n; k++) {
                    double apk = A[p * n + k], aqk = A[q * n + k];
                    A[p * n + k] = c * apk - s * aqk;
                    A[q * n + k] = s * apk + c * aqk;
                }
                for (size_t k = 0; k < n; k++) {
                    double vkp = V[k * n + p], vkq = V[k * n + q];
                    V[k * n + p] = c * vkp - s * vkq;
                    V[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
}

int plast_pca(const double *x, size_t n, size_t dim, int k, double *out, double *var)
{
    if (n < 1 || dim < 1 || k < 1 || (size_t)k > dim) return -1;
    double *mean = calloc(dim, sizeof *mean), *C = calloc(dim * dim, sizeof *C), *V = malloc(dim * dim * sizeof *V);
    size_t *order = malloc(dim * sizeof *order);
    if (!mean || !C || !V || !order) { free(mean); free(C); free(V); free(order); return -1; }
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < dim; a++) mean[a] += x[i * dim + a] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < dim; a++)
            for (size_t b = 0; b <= a; b++)
                C[a * dim + b] += (x[i * dim + a] - mean[a]) * (x[i * dim + b] - mean[b]) / (double)n;
    for (size_t a = 0; a < dim; a++)
        for (size_t b = a + 1; b < dim; b++) C[a * dim + b] = C[b * dim + a];
    jacobi(C, V, dim);
    for (size_t a = 0; a < dim; a++) order[a] = a;
    for (size_t a = 1; a < dim; a++)   /* by eigenvalue, largest first (stable) */
        for (size_t b = a; b > 0 && C[order[b] * dim + order[b]] > C[order[b - 1] * dim + order[b - 1]]; b--) {
            size_t t = order[b]; order[b] = order[b - 1]; order[b - 1] = t;
        }
    for (int c = 0; c < k; c++) {
        size_t e = order[c], big = 0;   /* sign: the largest component of each vector is positive */
        for (size_t a = 1; a < dim; a++) if (fabs(V[a * dim + e]) > fabs(V[big * dim + e])) big = a;
        double sign = V[big * dim + e] < 0 ? -1 : 1;
        if (var) var[c] = C[e * dim + e];
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t a = 0; a < dim; a++) s += (x[i * dim + a] - mean[a]) * V[a * dim + e];
            out[i * (size_t)k + (size_t)c] = sign * s;
        }
    }
    free(mean); free(C); free(V); free(order);
    return 0;
}

void plast_normalise_cloud(double *x, size_t n, size_t dim)
{
    double r2 = 0;
    for (size_t a = 0; a < dim; a++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) m += x[i * dim + a] / (double)n;
        for (size_t i = 0; i < n; i++) { x[i * dim + a] -= m; r2 += x[i * dim + a] * x[i * dim + a] / (double)n; }
    }
    double s = r2 > 0 ? 1 / sqrt(r2) : 1;
    for (size_t i = 0; i < n * dim; i++) x[i] *= s;
}

/* ---- the EMD at the best orthogonal map of the plane ---- */

/* OUT = A Q, Q the rotation by T, after the reflection (x, y) -> (x, -y) when FLIP. */
static void transform(const double *a, size_t n, double t, int flip, double *out)
{
    double c = cos(t), s = sin(t);
    for (size_t i = 0; i < n; i++) {
        double x = a[2 * i], y = flip ? -a[2 * i + 1] : a[2 * i + 1];
        out[2 * i] = c * x - s * y;
        out[2 * i + 1] = s * x + c * y;
    }
}

typedef struct orient { double t, e; int flip; } orient;

static double emd_at(const double *a, const double *b, size_t n, double *t_buf, double t, int flip)
{
    transform(a, n, t, flip, t_buf);
    return emd_match(t_buf, b, n, 2, NULL);
}

/* Golden-section search for the angle of least EMD in [t - h, t + h]. */
static orient refine(const double *a, const double *b, size_t n, double *buf, orient o, double h)
{
    const double g = (sqrt(5) - 1) / 2;
    double lo = o.t - h, hi = o.t + h, x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
    double f1 = emd_at(a, b, n, buf, x1, o.flip), f2 = emd_at(a, b, n, buf, x2, o.flip);
    for (int it = 0; it < 40; it++) {
        if (f1 <= f2) { hi = x2; x2 = x1; f2 = f1; x1 = hi - g * (hi - lo); f1 = emd_at(a, b, n, buf, x1, o.flip); }
        else { lo = x1; x1 = x2; f1 = f2; x2 = lo + g * (hi - lo); f2 = emd_at(a, b, n, buf, x2, o.flip); }
    }
    orient r = f1 <= f2 ? (orient){ x1, f1, o.flip } : (orient){ x2, f2, o.flip };
    return r.e < o.e ? r : o;
}

enum { SCAN = 36, REFINED = 4 };

double plast_emd_aligned(const double *a, const double *b, size_t n, double *best_a)
{
    double *buf = malloc(2 * n * sizeof *buf + 1);
    if (!buf || !n) { free(buf); return NAN; }
    orient scan[2 * SCAN], best;
    for (int k = 0; k < 2 * SCAN; k++) {   /* every 10 degrees, both orientations */
        scan[k] = (orient){ (k / 2) * (2 * M_PI / SCAN), 0, k & 1 };
        scan[k].e = emd_at(a, b, n, buf, scan[k].t, scan[k].flip);
    }
    for (int i = 1; i < 2 * SCAN; i++)   /* the best first (stable) */
        for (int j = i; j > 0 && scan[j].e < scan[j - 1].e; j--) { orient t = scan[j]; scan[j] = scan[j - 1]; scan[j - 1] = t; }
    best = scan[0];
    for (int k = 0; k < REFINED; k++) {
        orient r = refine(a, b, n, buf, scan[k], 2 * M_PI / SCAN);
        if (r.e < best.e) best = r;
    }
    if (best_a) transform(a, n, best.t, best.flip, best_a);
    free(buf);
    return best.e;
}
