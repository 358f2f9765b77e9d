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
 * multiply-adds in one and not the other.  The loops over a constant number
 * of lanes are vectorised (with a run-time alias check where needed). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off", "tree-vectorize", "vect-cost-model=dynamic")
/* mlp_real.h's vector-valued helpers are inlined: no ABI to change */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t mlp_units(const double *shape)
{
    size_t units = 0;
    for (int l = 0; l < (int)shape[1]; l++) units += (size_t)shape[2 + 3 * l];
    return units;
}

static int mlp_n_out(const double *shape) { return (int)shape[2 + 3 * ((int)shape[1] - 1)]; }

#define FN_UNITS mlp_units
#define FN_N_OUT mlp_n_out

/* The lane routines once per vector extension the machine may have (the
 * loader picks one): libplast is built for the baseline, where vectors hold
 * two doubles.  No fused multiply-adds (above), so every clone gives the
 * same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__) && !defined(__SANITIZE_ADDRESS__)
#define LANE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LANE_CLONES
#endif

/* The most lanes a call runs (the JIT's widest vectors: PLASTCC_VECTOR_BITS
 * 4096 of floats, llgen.c's vector_lanes). */
enum { PLAST_MLP_MAX_LANES = 64 };

/* CALL(n) with the lane count L as a constant for the counts generated code
 * uses (lower_sum_lanes and the vector widths), else as a variable. */
#define LANE_DISPATCH(L, CALL)                       \
    switch (L) {                                     \
    case 1: CALL(1); break;                          \
    case 2: CALL(2); break;                          \
    case 4: CALL(4); break;                          \
    case 8: CALL(8); break;                          \
    case 16: CALL(16); break;                        \
    default:                                         \
        if (L < 1 || L > PLAST_MLP_MAX_LANES) {      \
            fprintf(stderr, "plastcc: internal error: a meta-MLP called on %d lanes\n", L); \
            abort();                                 \
        }                                            \
        CALL(L);                                     \
        break;                                       \
    }

#define REAL double
#define IREAL int64_t
#define FN(name) plast_mlp_##name##_d
#define plast_mlp_PARTS_d PLAST_MLP_PARTS_D
#define R_EXP exp
#define R_TANH tanh
#define R_LOG1P log1p
#include <math.h>
#include "mlp_real.h"
#undef REAL
#undef IREAL
#undef FN
#undef R_EXP
#undef R_TANH
#undef R_LOG1P

#define REAL float
#define IREAL int32_t
#define FN(name) plast_mlp_##name##_f
#define plast_mlp_PARTS_f PLAST_MLP_PARTS_F
#define R_EXP expf
#define R_TANH tanhf
#define R_LOG1P log1pf
#include "mlp_real.h"
