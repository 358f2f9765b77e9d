/* lsq — least squares by Householder QR (lsq.h).
 *
 * For columns k = 0..N-1: the reflection H = I - 2 v v^T / (v^T v) that
 * zeroes A[k+1.., k] is applied to the remaining columns and to y; then
 * R c = (Q^T y)[0..N) by back substitution, and the residual is the rest of
 * Q^T y.  Stable where the normal equations would square the condition
 * number (monomials of a grid are far from orthogonal). */
#include "config.h"
#include "lsq.h"

#include <math.h>

/* The reflection of column K (rows K..M) applied to column J of A, or to Y. */
static void reflect(const double *a, size_t m, size_t n, size_t k, double vtv, double *x, size_t stride)
{
    double s = 0;
    for (size_t i = k; i < m; i++) s += a[i * n + k] * x[i * stride];
    s *= 2 / vtv;
    for (size_t i = k; i < m; i++) x[i * stride] -= s * a[i * n + k];
}

double lsq_fit(double *a, double *y, size_t m, size_t n, double *c)
{
    double mean = 0, total = 0;
    for (size_t i = 0; i < m; i++) mean += y[i] / (double)m;
    for (size_t i = 0; i < m; i++) total += (y[i] - mean) * (y[i] - mean);
    double rdiag[64];
    if (n > 64 || m < n) return NAN;
    for (size_t k = 0; k < n; k++) {
        double norm = 0;
        for (size_t i = k; i < m; i++) norm += a[i * n + k] * a[i * n + k];
        norm = sqrt(norm);
        if (norm == 0) return NAN;
        double alpha = a[k * n + k] > 0 ? -norm : norm;   /* no cancellation in v_k */
        a[k * n + k] -= alpha;                          /* column k becomes v */
        double vtv = 0;
        for (size_t i = k; i < m; i++) vtv += a[i * n + k] * a[i * n + k];
        for (size_t j = k + 1; j < n; j++) reflect(a, m, n, k, vtv, a + j, n);
        reflect(a, m, n, k, vtv, y, 1);
        rdiag[k] = alpha;
    }
    for (size_t k = n; k-- > 0;) {
        double s = y[k];
        for (size_t j = k + 1; j < n; j++) s -= a[k * n + j] * c[j];
        if (fabs(rdiag[k]) < 1e-13 * fabs(rdiag[0])) return NAN;
        c[k] = s / rdiag[k];
    }
    double residual = 0;
    for (size_t i = n; i < m; i++) residual += y[i] * y[i];
    return total > 0 ? 1 - residual / total : residual == 0 ? 1 : 0;
}
