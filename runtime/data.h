/*
 * data.h -- data sets and .npy arrays for libplast.
 *
 * A data set is n samples of dim doubles (row-major) with an int32 class label
 * each.  Sources: IDX files (MNIST, Fashion-MNIST, EMNIST; gzipped or not),
 * NumPy .npy pairs, and generated 2-D sets (moons, circles, blobs -- the
 * language's `gaussians` is blobs) with an optional fixed random projection.
 *
 * Conventions: functions that can fail return 0 on success and -1 on failure;
 * those taking (err, errlen) then write one line "FILE: problem" there (err may
 * be NULL).  On failure the output struct is left zeroed and nothing leaks.
 * Every *_free accepts a zeroed struct and leaves its argument zeroed.
 */
#ifndef PLAST_DATA_H
#define PLAST_DATA_H

#include <stddef.h>
#include <stdint.h>

/* Largest label accepted from a file: n_classes = max label + 1 sizes tables. */
#define PLAST_MAX_LABEL 1048575

/* A family of generated tasks (task_gen.c): instead of drawing samples from
 * a fixed set, every task draws a problem of its own and samples from it.
 *   moons:     two interleaved half circles (as plast_gen_moons) with their own
 *              noise, per-axis scale, rotation and offset;
 *   gaussians: CENTERS Gaussian classes with their own means and covariances;
 * then standardised (each feature zero mean and unit variance over the
 * task's distribution) and, with PROJECT, mapped through plast_project's
 * fixed random projection. */
enum { PLAST_FAMILY_NONE, PLAST_FAMILY_MOONS, PLAST_FAMILY_GAUSSIANS };
typedef struct plast_task_family {
    int kind;          /* PLAST_FAMILY_*; NONE: tasks draw the data set's samples */
    double noise;      /* moons: each task's noise is uniform in [0.5, 1.5] x noise */
    double std;        /* gaussians: each task's axis deviations are uniform in [0.2, 1] x std */
    int centers;       /* gaussians: classes per task */
    int project;       /* dimension of the fixed random projection (0: none, dim 2) */
} plast_task_family;

typedef struct plast_dataset {
    size_t n, dim;     /* samples, features per sample */
    int n_classes;     /* max label + 1 (a class may have no samples) */
    double *x;         /* n*dim, row-major; NULL when x_u8 holds the samples */
    unsigned char *x_u8; /* IDX images: n*dim bytes, the value of byte b is b / 255
                            (a quarter of the memory of doubles: 47 MB, not 376 MB,
                            for Fashion-MNIST); read rows with plast_dataset_row */
    int32_t *label;    /* n labels in [0, n_classes) */
    char *name;        /* file's base name or generator name, for logs */
    plast_task_family family;   /* kind NONE for a set of samples; else n = 0, x and label NULL, and
                                   every task generates its own (plast_family_dataset) */
} plast_dataset;

#define PLAST_NPY_MAXDIM 8

typedef struct plast_array {
    int ndim;                        /* 0 for a scalar, shape () */
    size_t shape[PLAST_NPY_MAXDIM];
    double *data;                    /* prod(shape) values, C order */
} plast_array;

/* ---- IDX ------------------------------------------------------------------ */

/* Load an IDX image file (magic 0x00000803: ubyte, 3 dims n x rows x cols) and
 * an IDX label file (0x00000801: ubyte, 1 dim n), each gzipped or raw.
 * Pixels are kept as bytes (x_u8; value byte/255 in [0,1]); dim = rows*cols;
 * n_classes = max label + 1.
 * The file sizes must match the headers exactly (no truncation, no trailing
 * bytes) and the two counts must agree. */
int plast_load_idx(const char *images, const char *labels, plast_dataset *out,
                   char *err, size_t errlen);

/* Where Fashion-MNIST lives: $PLAST_DATA_DIR (or its fashion-mnist/ folder)
 * when that variable is set, else /usr/share/datasets/fashion-mnist (Debian's
 * dataset-fashion-mnist).  The folder must hold the train-* (test_split 0) or
 * t10k-* (test_split 1) images and labels, .gz or raw.  Returns buf holding the
 * folder, or NULL with buf holding a message that says how to install it. */
const char *plast_find_fashion_mnist(char *buf, size_t len, int test_split);

/* plast_find_fashion_mnist + plast_load_idx of the train or test split. */
int plast_load_fashion_mnist(int test_split, plast_dataset *out, char *err,
                             size_t errlen);

/* ---- NumPy ---------------------------------------------------------------- */

/* Read a .npy file, format 1.0, 2.0 or 3.0, C order, dtype <f8 <f4 |u1 <i8
 * <i4 (also <u1, |i1), converted to double.  Rejects fortran_order True,
 * big-endian and object or structured dtypes, malformed headers, more than
 * PLAST_NPY_MAXDIM dims, truncated data and trailing bytes. */
int plast_npy_read(const char *path, plast_array *out, char *err, size_t errlen);

/* Write a as '<f8', format 1.0 (0-d arrays allowed), atomically: the bytes go
 * to "path.tmp", which is renamed to path only once complete. */
int plast_npy_write(const char *path, const plast_array *a, char *err,
                    size_t errlen);

/* As plast_npy_write, dtype '<i8' (e.g. labels); every value must be an
 * integer in [-2^63, 2^63). */
int plast_npy_write_i64(const char *path, const plast_array *a, char *err,
                        size_t errlen);

/* Data set from x.npy, 2-D [n, dim] of any dtype plast_npy_read takes (values
 * kept raw: uint8 is NOT scaled by 1/255; all must be finite), and y.npy, 1-D
 * [n] of <i8, <i4 or |u1 labels in [0, PLAST_MAX_LABEL]. */
int plast_load_npy_dataset(const char *x_npy, const char *y_npy,
                           plast_dataset *out, char *err, size_t errlen);

/* ---- generated sets ------------------------------------------------------- */
/* All draw from plast_rng_stream(seed, 0, PLAST_RNG_DATA_GEN) in this order:
 * the generator's own parameters (blob centres), then per-coordinate Gaussian
 * noise row by row, then a Fisher-Yates shuffle of the rows.  dim = 2.
 * They return -1 (out zeroed) for n == 0, a negative noise/std, a bad
 * parameter as noted, or no memory. */

/* sklearn make_moons: n/2 (rounded down) points of class 0 on the upper unit
 * half-circle (cos t, sin t), t = linspace(0, pi); the rest, class 1, on
 * (1 - cos t, 0.5 - sin t); plus N(0, noise^2). */
int plast_gen_moons(size_t n, double noise, uint64_t seed, plast_dataset *out);

/* sklearn make_circles: n/2 points of class 0 on the unit circle, the rest,
 * class 1, on the circle of radius factor (0 <= factor < 1; sklearn's default
 * is 0.5), angles linspace(0, 2 pi) without the endpoint; plus noise. */
int plast_gen_circles(size_t n, double noise, double factor, uint64_t seed,
                      plast_dataset *out);

/* sklearn make_blobs: `centers` (>= 1) centres uniform in [-10,10)^2; centre c
 * gets n/centers points (the first n%centers one more), each N(centre, std^2 I). */
int plast_gen_blobs(size_t n, int centers, double std, uint64_t seed,
                    plast_dataset *out);

/* A data set that stands for task family F (no samples of its own: n = 0,
 * dim = 2 or F->project, n_classes 2 or F->centers, name "moons (random)"
 * ...).  Returns -1 (out zeroed) for a bad family or no memory. */
int plast_family_dataset(const plast_task_family *f, plast_dataset *out);

/* Each feature of D shifted and scaled to mean 0 and variance 1 over its
 * rows (a constant feature is only shifted).  D must hold doubles (x). */
void plast_standardise(plast_dataset *d);

/* x <- x P, P [dim, out_dim] i.i.d. N(0, 1/dim) drawn row-major from
 * plast_rng_stream(seed, 0, PLAST_RNG_PROJECTION).  d->dim becomes out_dim.
 * Returns -1 (d unchanged) for out_dim == 0 or no memory. */
int plast_project(plast_dataset *d, size_t out_dim, uint64_t seed);

/* Row I of D as doubles into OUT[0..dim): from x, or from x_u8 as byte / 255. */
void plast_dataset_row(const plast_dataset *d, size_t i, double *out);

void plast_dataset_free(plast_dataset *d);
void plast_array_free(plast_array *a);

#endif /* PLAST_DATA_H */
