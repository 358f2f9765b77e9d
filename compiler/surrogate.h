/* surrogate — kcap's straight-through surrogate form of a forward kernel,
 * for checking adjoints against finite differences (plastcc gradcheck).
 *
 * kcap is piecewise constant: its finite differences are zero, while its
 * adjoint is the straight-through surrogate d kcap(z)_i / d z_i := 1.  A
 * forward kernel that computes a kcap is therefore differenced in a
 * surrogate form, where each kcap(z) becomes z + s with s = kcap(z0) - z0
 * frozen at the point (z0: z there): the same values at that point, and a
 * true derivative equal to the surrogate.  For forward kernel NAME_fwd, two
 * kernels:
 *   NAME_gcprobe  on the forward kernel's own DAG: outputs kcap_valK and
 *                 kcap_argK, the K-th kcap (in node order) and its argument;
 *   NAME_gcsur    on a DAG of its own, the forward DAG rewritten (each kcap
 *                 replaced by z + kcap_shiftK, an input): the forward
 *                 kernel's outputs.
 * The caller runs the probe, sets kcap_shiftK = kcap_valK - kcap_argK, and
 * differences NAME_gcsur instead of NAME_fwd.
 */
#ifndef PLAST_SURROGATE_H
#define PLAST_SURROGATE_H

#include "lower.h"

enum { SURROGATE_MAX_KCAP = 16 };

typedef struct surrogate {
    char base[128];           /* the kernel pair NAME */
    int n_kcap;
    kern probe, sur;          /* NAME_gcprobe, NAME_gcsur */
    dag *sur_dag;             /* sur's DAG, owned */
    lower_kernel lprobe, lsur;
} surrogate;

/* Fills S for forward kernel F (named NAME_fwd) and returns 1; 0, with S
 * untouched, when F computes no kcap or more than SURROGATE_MAX_KCAP. */
int surrogate_build(const kern *f, surrogate *s);
void surrogate_free(surrogate *s);

#endif
