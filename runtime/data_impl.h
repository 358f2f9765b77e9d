/*
 * data_impl.h -- what the data files of libplast share (data.c); not part of
 * plast.h, and hidden from the library's exported symbols.
 *
 * The readers (data_idx.c, data_npy_read.c) and the writer (data_npy_write.c)
 * open every path through data_open, so a FIFO, a device or a directory given
 * as a data file is refused with its name instead of blocking the open.
 */
#ifndef PLAST_DATA_IMPL_H
#define PLAST_DATA_IMPL_H

#include "plast.h"

#include <stdio.h>

#define DATA_IO_CHUNK 65536 /* bytes per read or write; a multiple of every item size */

#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

/* open(2) of PATH with FLAGS (O_RDONLY, or O_WRONLY | O_CREAT | O_TRUNC,
 * mode 0666), refusing what is not a regular file: "PATH: a FIFO, not a
 * regular file ...".  Returns the descriptor (blocking), or -1 with ERR. */
int data_open(const char *path, int flags, char *err, size_t errlen);

/* data_open for reading, as a stdio stream ("rb"); NULL with ERR. */
FILE *data_fopen_read(const char *path, char *err, size_t errlen);

/* *out = a * b; returns 1 (and leaves *out alone) if that overflows size_t. */
int data_mul_overflows(size_t a, size_t b, size_t *out);

/* malloc'd copy of s, or NULL. */
char *data_copy_string(const char *s);

/* The part of path after its last '/'. */
const char *data_base_name(const char *path);

/* n_classes of labels in [0, ...): the largest label + 1. */
int data_max_label_plus_one(const int32_t *label, size_t n);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif /* PLAST_DATA_IMPL_H */
