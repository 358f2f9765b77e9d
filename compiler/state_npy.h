/* state_npy — a network's buffers as .npy files in a folder, one per buffer
 * (NAME.npy), as `plastcc episode` reads its state and writes its results
 * and `plastcc latents` reads a trained network. */
#ifndef PLAST_STATE_NPY_H
#define PLAST_STATE_NPY_H

#include "plast.h"

/* DIR/NAME.npy into A: 0; 1 when it is absent and not REQUIRED; -1 after
 * a message on stderr. */
int state_read_npy(const char *dir, const char *name, plast_array *a, int required);

/* 0 when A has NDIM dimensions D0 (and D1); -1 after a message naming NAME.npy. */
int state_expect_shape(const char *name, const plast_array *a, int ndim, size_t d0, size_t d1);

/* The initial values of every STATE, PARAM and CONST buffer of N, from
 * DIR/NAME.npy: a matrix [rows, cols] (a vector of one row may be saved
 * 1-D), INIT[b] pointing into FILES[b]; a fixed feedback matrix (B_l, Brec_l)
 * is saved transposed, [cols, rows], as B_l is [n_{l-1}, n_l] in the reference
 * implementations, and INIT[b] is a malloc'ed copy; a fixed shift
 * (PLAST_INIT_SHIFT, a rule's neighbour reads) is made, not read.  0, or -1
 * after a message.  state_free_buffers frees both. */
int state_load_buffers(const char *dir, const plast_net *N, plast_array *files, double **init);
void state_free_buffers(const plast_net *N, plast_array *files, double **init);

/* Writes V (D0 x D1 values, NDIM 0, 1 or 2) to DIR/NAME.npy: 0, or -1 after a message. */
int state_write_npy(const char *dir, const char *name, const double *v, int ndim, size_t d0, size_t d1);

#endif
