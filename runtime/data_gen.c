/*
 * data_gen.c -- generated 2-D data sets (sklearn's make_moons, make_circles,
 * make_blobs) and a fixed random projection of any data set.
 *
 * One stream, plast_rng_stream(seed, 0, PLAST_RNG_DATA_GEN), in a fixed order:
 * generator parameters, noise row by row (x then y), row shuffle.  The
 * projection draws from its own stream, PLAST_RNG_PROJECTION.
 */
#include "config.h"
#include "data_impl.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Zeroed n x 2 set with n_classes classes and a name. */
static int gen_alloc(plast_dataset *d, size_t n, int n_classes, const char *name)
{
    memset(d, 0, sizeof *d);
    if (n == 0 || n > (size_t)-1 / (2 * sizeof(double)))
        return -1;
    d->n = n, d->dim = 2, d->n_classes = n_classes;
    d->x = calloc(n * 2, sizeof *d->x);
    d->label = calloc(n, sizeof *d->label);
    d->name = data_copy_string(name);
    if (!d->x || !d->label || !d->name) {
        plast_dataset_free(d);
        return -1;
    }
    return 0;
}

/* numpy linspace(0, stop, m, endpoint)[i] = i * step */
static double linspace_at(double stop, size_t m, int endpoint, size_t i)
{
    size_t div = endpoint ? m - 1 : m;

    return div ? (double)i * (stop / (double)div) : 0.0;
}

/* x += N(0, sd^2) per coordinate; then Fisher-Yates on rows: for i = n-1..1,
 * swap row i with row below(i+1). */
static void gen_noise_and_shuffle(plast_dataset *d, plast_rng *r, double sd)
{
    size_t i, k;

    if (sd > 0)
        for (i = 0; i < d->n * d->dim; i++)
            d->x[i] += sd * plast_rng_normal(r);
    for (i = d->n; i > 1; i--) {
        size_t j = (size_t)plast_rng_below(r, i);
        int32_t l = d->label[i - 1];

        for (k = 0; k < d->dim; k++) {
            double t = d->x[(i - 1) * d->dim + k];

            d->x[(i - 1) * d->dim + k] = d->x[j * d->dim + k];
            d->x[j * d->dim + k] = t;
        }
        d->label[i - 1] = d->label[j];
        d->label[j] = l;
    }
}

/* Where class 1's point of angle t goes (ARG: circles' factor). */
typedef void (*gen_place)(double t, double arg, double *row);

static void moons_lower(double t, double arg, double *row)
{
    row[0] = 1 - cos(t), row[1] = 1 - sin(t) - 0.5;
}

static void circles_inner(double t, double arg, double *row)
{
    row[0] = arg * cos(t), row[1] = arg * sin(t);
}

/* n/2 rows of class 0 at (cos t, sin t), the rest of class 1 at
 * place(t), each class's t = linspace(0, stop, its count, endpoint);
 * then the noise and the shuffle. */
static int gen_two_arcs(plast_dataset *out, size_t n, double noise, uint64_t seed, const char *name,
                        double stop, int endpoint, gen_place place, double arg)
{
    size_t n_out = n / 2, n_in = n - n_out, i;
    plast_rng r = plast_rng_stream(seed, 0, PLAST_RNG_DATA_GEN);

    if (gen_alloc(out, n, 2, name))
        return -1;
    for (i = 0; i < n_out; i++) {
        double t = linspace_at(stop, n_out, endpoint, i);

        out->x[2 * i] = cos(t), out->x[2 * i + 1] = sin(t);
    }
    for (i = 0; i < n_in; i++) {
        place(linspace_at(stop, n_in, endpoint, i), arg, out->x + 2 * (n_out + i));
        out->label[n_out + i] = 1;
    }
    gen_noise_and_shuffle(out, &r, noise);
    return 0;
}

/* class 0: (cos t, sin t); class 1: (1 - cos t, 0.5 - sin t); t = linspace(0, pi) */
int plast_gen_moons(size_t n, double noise, uint64_t seed, plast_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (!(noise >= 0))
        return -1;
    return gen_two_arcs(out, n, noise, seed, "moons", 3.14159265358979323846, 1, moons_lower, 0);
}

/* class 0: (cos t, sin t); class 1: factor (cos t, sin t); t = linspace(0, 2 pi), no endpoint */
int plast_gen_circles(size_t n, double noise, double factor, uint64_t seed,
                      plast_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (!(noise >= 0) || !(factor >= 0 && factor < 1))
        return -1;
    return gen_two_arcs(out, n, noise, seed, "circles", 6.283185307179586476925286766559, 0,
                        circles_inner, factor);
}

/* centre c = -10 + 20 (u, u); rows of class c sit at centre c before the noise. */
int plast_gen_blobs(size_t n, int centers, double std, uint64_t seed, plast_dataset *out)
{
    plast_rng r = plast_rng_stream(seed, 0, PLAST_RNG_DATA_GEN);
    double *centre;
    size_t row = 0;
    int c;

    memset(out, 0, sizeof *out);
    if (centers < 1 || centers > PLAST_MAX_LABEL + 1 || !(std >= 0) ||
        gen_alloc(out, n, centers, "blobs"))
        return -1;
    if (!(centre = malloc(2 * (size_t)centers * sizeof *centre))) {
        plast_dataset_free(out);
        return -1;
    }
    for (c = 0; c < 2 * centers; c++)
        centre[c] = -10.0 + 20.0 * plast_rng_uniform(&r);
    for (c = 0; c < centers; c++) {
        size_t k, count = n / (size_t)centers + ((size_t)c < n % (size_t)centers);

        for (k = 0; k < count; k++, row++) {
            out->x[2 * row] = centre[2 * c], out->x[2 * row + 1] = centre[2 * c + 1];
            out->label[row] = c;
        }
    }
    free(centre);
    gen_noise_and_shuffle(out, &r, std);
    return 0;
}

/* x'[r, j] = sum_i x[r, i] P[i, j] (i ascending), P ~ N(0, 1/dim) row-major. */
int plast_project(plast_dataset *d, size_t out_dim, uint64_t seed)
{
    plast_rng r = plast_rng_stream(seed, 0, PLAST_RNG_PROJECTION);
    double *p, *xn, scale = 1.0 / sqrt((double)d->dim);
    size_t np, nx, i, j, row;

    if (out_dim == 0 || d->dim == 0 || data_mul_overflows(d->dim, out_dim, &np) ||
        data_mul_overflows(d->n, out_dim, &nx) || np > (size_t)-1 / 8 || nx > (size_t)-1 / 8)
        return -1;
    p = malloc(np * sizeof *p);
    xn = calloc(nx ? nx : 1, sizeof *xn);
    if (!p || !xn) {
        free(p), free(xn);
        return -1;
    }
    for (i = 0; i < np; i++)
        p[i] = scale * plast_rng_normal(&r);
    double *in = malloc((d->dim ? d->dim : 1) * sizeof *in);
    if (!in) {
        free(p), free(xn);
        return -1;
    }
    for (row = 0; row < d->n; row++) {
        plast_dataset_row(d, row, in);
        for (i = 0; i < d->dim; i++)
            for (j = 0; j < out_dim; j++)
                xn[row * out_dim + j] += in[i] * p[i * out_dim + j];
    }
    free(in);
    free(p);
    free(d->x);
    free(d->x_u8);
    d->x = xn, d->x_u8 = NULL, d->dim = out_dim;
    return 0;
}

