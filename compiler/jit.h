/* jit — kernels compiled into this process by LLVM's ORC LLJIT.
 *
 * Object lifecycle (one jit_module per compiled unit):
 *   jit_load(ks, n, ...)
 *       splits the kernels into as many parts as OpenMP has threads (parts of
 *       similar size) and compiles the parts at the same time, each on its
 *       own thread with objects of its own:
 *       1. a host target machine (llgen_host_machine): its CPU and features
 *          (AVX2, AVX-512) guide the optimiser, then it becomes the JIT's
 *          (a JITTargetMachineBuilder made from it, which consumes it);
 *       2. a ThreadSafeContext; the module is built in its LLVMContext by
 *          llgen_build (verified with LLVMVerifyModule there) and optimised
 *          (llgen_optimize);
 *       3. an LLJIT generating code for that machine, its main JITDylib given a
 *          DynamicLibrarySearchGenerator for the process, so the kernels'
 *          calls to libm (exp, tanh, log1p, ...) and libgomp (GOMP_parallel,
 *          omp_get_thread_num, ...) resolve to the libraries plastcc is
 *          linked with;
 *       4. the module wrapped in a ThreadSafeModule and added to the JIT,
 *          which owns it from then on; our reference to the context is
 *          dropped (the module keeps it alive);
 *       5. the part's NAME_desc looked up, which compiles its module to
 *          native code: a failure shows at load time, not at first use.
 *       With the JIT cache on (jit_cache.h), the part's module is compiled
 *       to an object file in memory after step 2 (or found on disk, with
 *       the IR passes skipped), kept, and the JIT loads that object in
 *       step 4 instead of the module.
 *   jit_find(j, "pool_fwd_desc")  the address of a symbol looked up in step
 *       5, or NULL; valid until jit_free.
 *   jit_free(j)   disposes of every part's LLJIT: code, data, module.
 *   jit_release_compiler_memory()  before compiling (what loading libLLVM
 *       touched) and after (while the kernels run and LLVM does not): the
 *       heap LLVM freed and libLLVM's code pages go back to the system (they
 *       come back from the file when LLVM runs).
 * Errors from LLVM (LLVMErrorRef) become messages in ERR; a failed load
 * leaves nothing behind.
 */
#ifndef PLAST_JIT_H
#define PLAST_JIT_H

#include <stddef.h>

#include "lower.h"

typedef struct jit_module jit_module;

jit_module *jit_load(const lower_kernel *const *ks, int n, lower_precision prec, const char *source,
                     char *err, size_t errlen);
void *jit_find(jit_module *j, const char *symbol);
void jit_free(jit_module *j);

/* After kernels are compiled, what the compiler used goes back to the
 * system, so that the buffers of the runs that follow do not add to it (see
 * jit.c).  Safe to call at any time: LLVM's pages come back on demand. */
void jit_release_compiler_memory(void);

#endif
