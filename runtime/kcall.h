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

/* The name matching of plast_kcall done once for a caller that binds the
 * same names call after call: MAP[a] = the index in NAMES[0..N) of K's
 * argument a, -1 if none.  Returns -1 (MAP unusable) when K has more than
 * PLAST_KCALL_MAX_ARGS arguments or a name of NAMES repeats (plast_kcall
 * takes the first that resolves, which only it can know). */
enum { PLAST_KCALL_MAX_ARGS = 96 };   /* KERN_MAX_ARG of the compiler */
int plast_kcall_map(const plast_kdesc *k, const char *const *names, int n, short *map);

/* plast_kcall with the matching done: argument a of K takes PTRS[MAP[a]]
 * (MAP from plast_kcall_map over the names of PTRS); a NULL pointer or no
 * index is an unbound argument, as there. */
int plast_kcall_mapped(const plast_kdesc *k, int64_t n_pre, int64_t n_post, int64_t batch, int64_t steps,
                       const short *map, void *const *ptrs, void *junk, kscratch *s, char *err, size_t errlen);

#endif
