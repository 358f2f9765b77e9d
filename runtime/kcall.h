/* kcall — calling a generated kernel with its arguments bound by name
 * (internal to libplast: the episode and the diagnostics share it). */
#ifndef PLAST_KCALL_H
#define PLAST_KCALL_H

#include <stddef.h>
#include <stdint.h>
#include "plast.h"

typedef struct kbind { const char *name; void *ptr; } kbind;

/* The scratch memory kernels ask for (NAME_scratch), grown on demand. */
typedef struct kscratch { void *mem; int64_t bytes; } kscratch;

/* Runs K on sizes (N_PRE, N_POST, BATCH, STEPS) with each argument taken from
 * the binding of its name in B[0..NB); an output nobody bound goes to JUNK
 * (large enough for any of them), an unbound input is an error.  Returns 0,
 * or -1 with ERR set (no kernel, an unbound input, no memory for scratch). */
int plast_kcall(const plast_kdesc *k, int64_t n_pre, int64_t n_post, int64_t batch, int64_t steps, const kbind *b,
                int nb, void *junk, kscratch *s, char *err, size_t errlen);

#endif
