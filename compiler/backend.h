/* backend — lowered kernels (a compiled unit's, or any) made callable in this process.
 *
 *   c:       the emitted C, compiled by the system C compiler into a shared
 *            object and loaded with dlopen (the reference for the others);
 *   jit:     LLVM IR (llgen.c) compiled in the process by ORC LLJIT (jit.c);
 *   object:  the same IR compiled to a native object file, linked by the
 *            system compiler into a shared object and loaded with dlopen
 *            (what `plastcc compile -shared` produces).
 * Whichever back end, a kernel is found by name as its plast_kdesc (plast.h),
 * the module owns the code, and backend_close releases it.
 */
#ifndef PLAST_BACKEND_H
#define PLAST_BACKEND_H

#include "pipeline.h"
#include "plast.h"

typedef struct backend_module backend_module;

typedef enum { BACKEND_C, BACKEND_JIT, BACKEND_OBJECT } backend_kind;

/* The N lowered kernels KS compiled by back end KIND and loaded; they are
 * only read during the call.  SOURCE names the module.  NULL on failure,
 * with the reason in ERR. */
backend_module *backend_load_kernels(backend_kind kind, const lower_kernel *const *ks, int n, const char *source,
                                     lower_precision prec, char *err, size_t errlen);
/* Every kernel of U (pipeline_kernels), one function per back end: */
/* compiled with the system compiler ($CC, default cc); */
backend_module *backend_load_c(const compiled_unit *u, const char *source, lower_precision prec,
                               char *err, size_t errlen);
/* compiled with the LLVM JIT; */
backend_module *backend_load_jit(const compiled_unit *u, const char *source, lower_precision prec,
                                 char *err, size_t errlen);
/* compiled to a native object with LLVM, linked into a shared object with
 * the system compiler. */
backend_module *backend_load_object(const compiled_unit *u, const char *source, lower_precision prec,
                                    char *err, size_t errlen);
/* The descriptor of kernel NAME ("pool_fwd"), or NULL. */
const plast_kdesc *backend_find(backend_module *m, const char *name);
void backend_close(backend_module *m);

/* Bytes per element of the module's real type. */
int backend_real_size(const backend_module *m);

/* Links the object file OBJ into the shared object SO with the system
 * compiler ($CC, default cc; with OpenMP and libm).  0, or -1 with ERR set. */
int backend_link_shared(const char *obj, const char *so, char *err, size_t errlen);

#endif
