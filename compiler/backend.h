/* backend — kernels of a compiled unit made callable in this process.
 *
 *   c:    the emitted C, compiled by the system C compiler into a shared
 *         object and loaded with dlopen (the reference for the others);
 *   jit:  LLVM IR through ORC LLJIT (jit.c), arriving with the LLVM back end.
 * Either way a kernel is found by name as its plast_kdesc (plast.h).
 */
#ifndef PLAST_BACKEND_H
#define PLAST_BACKEND_H

#include "pipeline.h"
#include "plast.h"

typedef struct backend_module backend_module;

/* Compiles U with the system compiler ($CC, default cc) and loads it.
 * NULL on failure, with the reason in ERR. */
backend_module *backend_load_c(const compiled_unit *u, const char *source, emit_precision prec,
                               char *err, size_t errlen);
/* The descriptor of kernel NAME ("pool_fwd"), or NULL. */
const plast_kdesc *backend_find(backend_module *m, const char *name);
void backend_close(backend_module *m);

/* Bytes per element of the module's real type. */
int backend_real_size(const backend_module *m);

#endif
