/* mlp — a meta-MLP applied to one element, for generated kernels.
 *
 * A rule that calls a meta-MLP (`mlp m { in 3; dense 100 relu; dense 1; }`)
 * compiles to calls of these routines, one per element (synapse or neuron,
 * and sample), instead of one scalar expression per hidden unit: the code
 * and the compile time no longer grow with the MLP's width.  The C, JIT and
 * object back ends call the same routines, so they agree bit for bit.
 *
 * SHAPE (plast.h) describes the MLP; THETA is its slice of the rule's
 * meta-parameters (per layer the weights row by row, then the biases).  The
 * forward pass adds each unit's inputs in increasing order, then the bias.
 */
#include "config.h"
#include "plast.h"

/* The lanes of a call and one element must give the same bits: no fused
 * multiply-adds in one and not the other. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <stdio.h>
#include <stdlib.h>

static size_t mlp_units(const double *shape)
{
    size_t units = 0;
    for (int l = 0; l < (int)shape[1]; l++) units += (size_t)shape[2 + 3 * l];
    return units;
}

static int mlp_n_out(const double *shape) { return (int)shape[2 + 3 * ((int)shape[1] - 1)]; }

#define FN_UNITS mlp_units
#define FN_N_OUT mlp_n_out

#define REAL double
#define FN(name) plast_mlp_##name##_d
#define R_EXP exp
#define R_TANH tanh
#define R_LOG1P log1p
#include <math.h>
#include "mlp_real.h"
#undef REAL
#undef FN
#undef R_EXP
#undef R_TANH
#undef R_LOG1P

#define REAL float
#define FN(name) plast_mlp_##name##_f
#define R_EXP expf
#define R_TANH tanhf
#define R_LOG1P log1pf
#include "mlp_real.h"
