/* llgen — LLVM IR from lowered kernels (plastcc emit-llvm, compile, the JIT).
 *
 * The IR mirrors emit_c.c exactly: the same ABI (kernel.h, plast.h), for each
 * kernel NAME the functions `void NAME(const plast_kargs *)` and
 * `int64_t NAME_scratch(const plast_kargs *)` and the constant descriptor
 * `NAME_desc`; the same loop nests, the same operations in the same order
 * (IEEE semantics, no fast-math flags, no contraction), so results agree
 * with the emitted C bit for bit up to the libm calls both make.
 *
 * Two things differ in form, not in arithmetic:
 *  - per-synapse loops are strip-mined over the presynaptic index j by the
 *    vector width of the target (lanes are independent iterations: each lane
 *    computes exactly what the scalar code computes; a sum over j keeps
 *    lower_sum_lanes() partial sums, element j into partial j mod lanes,
 *    which is one vector add per strip, and scalar code updates one lane),
 *    with a scalar loop or masks for the remaining columns;
 *  - a loop nest the C marks `omp parallel for schedule(static)` (or, if
 *    balanced, `schedule(dynamic)`) is outlined into a function run by
 *    GOMP_parallel; its threads take one chunk of rows (or columns) each,
 *    or in a balanced loop (lower_fuse.c) smaller chunks from a counter as
 *    they free up; every row is computed by one thread and results do not
 *    depend on the thread count or split.
 *
 * Object lifecycle:
 *   llgen_host_machine()  -> LLVMTargetMachineRef, owned by the caller
 *                            (LLVMDisposeTargetMachine); the host CPU and its
 *                            features (AVX2, AVX-512) drive vector widths.
 *   llgen_build(ctx, tm)  -> LLVMModuleRef in CTX, owned by the caller
 *                            (LLVMDisposeModule, or handed to the JIT, which
 *                            then owns it); already verified (LLVMVerifyModule).
 *   llgen_optimize(m)     -> the IR passes (LLVMRunPasses; see llgen.c for the
 *                            pipeline and why it is not default<O3>).
 *   llgen_write_object()  -> a native object file with the same ABI.
 * The kernels passed in are only read, during llgen_build.
 */
#ifndef PLAST_LLGEN_H
#define PLAST_LLGEN_H

#include <stddef.h>
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "lower.h"

/* Initialises LLVM's native target once (idempotent). */
void llgen_init(void);

/* A target machine for the host (its triple, CPU name and features): for
 * object files (position-independent code, small code model) or for the
 * JIT (JIT code model: code may land anywhere in the address space).
 * NULL on failure, with ERR set. */
typedef enum { LLGEN_FOR_OBJECT, LLGEN_FOR_JIT } llgen_use;
LLVMTargetMachineRef llgen_host_machine(llgen_use use, char *err, size_t errlen);

/* The N kernels KS as one module in CTX, for target TM (its triple and data
 * layout; its features choose the vector width).  SOURCE names the module.
 * Returns a verified module, or NULL with ERR set (nothing to dispose). */
LLVMModuleRef llgen_build(LLVMContextRef ctx, LLVMTargetMachineRef tm, const lower_kernel *const *ks, int n,
                          lower_precision prec, const char *source, char *err, size_t errlen);

/* Optimises M: the cold functions (a kernel's serial part, wrappers) are
 * made optnone, the others go through the IR passes the generated loops
 * need ($PLASTCC_LLVM_PASSES, e.g. "default<O3>", replaces them).  0, or -1
 * with ERR set. */
int llgen_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, char *err, size_t errlen);
/* The IR pipeline llgen_optimize runs (PLASTCC_LLVM_PASSES, or the
 * default), for the JIT cache's key. */
const char *llgen_pipeline(void);
/* M compiled by TM into an object file in memory (M stays), or NULL and ERR. */
LLVMMemoryBufferRef llgen_object_in_memory(LLVMModuleRef m, LLVMTargetMachineRef tm, char *err, size_t errlen);

/* Writes M as a native object file to PATH.  0, or -1 with ERR set. */
int llgen_write_object(LLVMModuleRef m, LLVMTargetMachineRef tm, const char *path, char *err, size_t errlen);

/* The whole path for plastcc emit-llvm and compile: the kernels, built in a
 * context of their own for the host (position-independent), optimised
 * unless OPTIMIZE is 0, written to PATH as textual IR (PATH NULL: standard
 * output) or as a native object.  0, or -1 with ERR set. */
typedef enum { LLGEN_IR, LLGEN_OBJECT } llgen_output;
int llgen_write(const lower_kernel *const *ks, int n, lower_precision prec, const char *source, llgen_output what,
                int optimize, const char *path, char *err, size_t errlen);

#endif
