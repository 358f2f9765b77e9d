/* emit_c — readable C99 + OpenMP from lowered kernels (plastcc emit-c).
 *
 * One self-contained file: a prelude (the real type, math spellings, the
 * kernel ABI of kernel.h and a descriptor type), then for each kernel its
 * formula as a comment, its scratch-size function, the kernel, and a
 * descriptor naming its arguments so a runtime can bind them by name.
 */
#ifndef PLAST_EMIT_C_H
#define PLAST_EMIT_C_H

#include <stdio.h>
#include "lower.h"

typedef enum { PREC_DOUBLE, PREC_SINGLE } emit_precision;

/* A sum over the presynaptic index j kept in a register (sum_pre) is added
 * in this many partial sums, element j into partial j mod lanes, then the
 * partials pairwise: 64 bytes of reals, 8 doubles or 16 floats.  Every back
 * end adds in this order (a serial chain of adds ran at one add per FP
 * latency; this order is what a vector unit does at full speed). */
static inline int plast_sum_lanes(emit_precision p) { return p == PREC_SINGLE ? 16 : 8; }

void emit_c_prelude(FILE *out, const char *source, emit_precision prec);
void emit_c_kernel(FILE *out, const lower_kernel *lk, emit_precision prec);

#endif
