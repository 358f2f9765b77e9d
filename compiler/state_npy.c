/* state_npy — a network's buffers as .npy files in a folder (state_npy.h). */
#include "config.h"
#include "state_npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int state_read_npy(const char *dir, const char *name, plast_array *a, int required)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (plast_npy_read(path, a, err, sizeof err) == 0) return 0;
    if (!required && access(path, F_OK) != 0) return 1;
    fprintf(stderr, "plastcc: %s\n", err);
    return -1;
}

int state_expect_shape(const char *name, const plast_array *a, int ndim, size_t d0, size_t d1)
{
    if (a->ndim == ndim && (ndim < 1 || a->shape[0] == d0) && (ndim < 2 || a->shape[1] == d1)) return 0;
    fprintf(stderr, "plastcc: %s.npy has shape (", name);
    for (int k = 0; k < a->ndim; k++) fprintf(stderr, "%s%zu", k ? ", " : "", a->shape[k]);
    if (a->ndim == 1) fputc(',', stderr);
    if (ndim == 2) fprintf(stderr, "), expected (%zu, %zu)\n", d0, d1);
    else fprintf(stderr, "), expected (%zu,)\n", d0);
    return -1;
}

/* Buffer B's fixed cyclic shift (PLAST_INIT_SHIFT draws nothing: any seed). */
static double *shift_matrix(const plast_net *N, int b)
{
    double **all = calloc((size_t)N->sched.n_buf + 1, sizeof *all), *v = NULL;
    char err[256];
    snprintf(err, sizeof err, "out of memory");
    if (all && plast_draw_init(N, 0, 0, all, err, sizeof err) == 0) { v = all[b]; all[b] = NULL; plast_free_init(N, all); }
    if (!v) fprintf(stderr, "plastcc: %s\n", err);
    free(all);
    return v;
}

/* A fixed feedback matrix (B_l, Brec_l): a CONST buffer drawn from the
 * feedback stream; a top-down or lateral projection no rule updates is CONST
 * too, but drawn with the weights and saved as it is. */
static int is_feedback(const plast_buf *B)
{
    return B->kind == PLAST_BUF_CONST && B->stream == PLAST_STREAM_B && B->init != PLAST_INIT_SHIFT;
}

int state_load_buffers(const char *dir, const plast_net *N, plast_array *files, double **init)
{
    const plast_schedule *sc = &N->sched;
    for (int b = 0; b < sc->n_buf; b++) {
        const plast_buf *B = &sc->buf[b];
        if (B->kind != PLAST_BUF_STATE && B->kind != PLAST_BUF_PARAM && B->kind != PLAST_BUF_CONST) continue;
        plast_array *a = &files[b];
        size_t rows = (size_t)B->rows, cols = (size_t)B->cols;
        if (B->init == PLAST_INIT_SHIFT) {   /* a neighbour read's fixed shift: made, not loaded */
            if (!(init[b] = shift_matrix(N, b))) return -1;
            continue;
        }
        if (state_read_npy(dir, B->name, a, 1) < 0) return -1;
        if (is_feedback(B)) {
            if (state_expect_shape(B->name, a, 2, cols, rows) < 0) return -1;
            init[b] = malloc(rows * cols * sizeof(double));
            for (size_t j = 0; j < cols; j++)
                for (size_t i = 0; i < rows; i++) init[b][i * cols + j] = a->data[j * rows + i];
            continue;
        }
        if (!(rows == 1 && a->ndim == 1 ? state_expect_shape(B->name, a, 1, cols, 0)
                                        : state_expect_shape(B->name, a, 2, rows, cols)))
            init[b] = a->data;
        else return -1;
    }
    return 0;
}

void state_free_buffers(const plast_net *N, plast_array *files, double **init)
{
    for (int b = 0; b < N->sched.n_buf; b++) {
        const plast_buf *B = &N->sched.buf[b];
        if (is_feedback(B) || B->init == PLAST_INIT_SHIFT) free(init[b]);   /* the others point into FILES */
        init[b] = NULL;
        plast_array_free(&files[b]);
    }
}

int state_write_npy(const char *dir, const char *name, const double *v, int ndim, size_t d0, size_t d1)
{
    char path[4096], err[512];
    plast_array a;
    memset(&a, 0, sizeof a);
    a.ndim = ndim;
    a.shape[0] = d0;
    a.shape[1] = d1;
    a.data = (double *)v;
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (plast_npy_write(path, &a, err, sizeof err) == 0) return 0;
    fprintf(stderr, "plastcc: %s\n", err);
    return -1;
}
