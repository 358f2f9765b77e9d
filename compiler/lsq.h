/* lsq — linear least squares, min |A c - y|, by Householder QR. */
#ifndef PLAST_LSQ_H
#define PLAST_LSQ_H

#include <stddef.h>

/* A is M x N row-major (M >= N; overwritten), Y has M values (overwritten).
 * Writes the N coefficients to C and returns R^2 = 1 - |A c - y|^2 /
 * |y - mean y|^2 (1 when y is constant and fitted exactly), or NaN when A
 * has dependent columns. */
double lsq_fit(double *a, double *y, size_t m, size_t n, double *c);

#endif
