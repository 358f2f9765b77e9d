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

void emit_c_prelude(FILE *out, const char *source, lower_precision prec);
void emit_c_kernel(FILE *out, const lower_kernel *lk, lower_precision prec);
/* One C file: the prelude, then the N kernels KS. */
void emit_c_file(FILE *out, const lower_kernel *const *ks, int n, const char *source, lower_precision prec);

#endif
