/* jit_cache — the JIT's compiled kernels kept on disk between runs.
 *
 * A part of a unit (jit.c) is looked up by the content of its module as
 * llgen_build made it, before the IR passes: a 128-bit hash of its
 * bitcode, the IR pipeline (llgen_pipeline), the host CPU and its
 * features, LLVM's version and plastcc's, and the executable's size and
 * time (a rebuild).  What changes the code changes one of them, so an
 * entry is not found stale; a run that finds its
 * parts skips the IR passes and the code generation (most of the JIT's
 * latency) and loads the object file they made before.
 *
 * The directory: $PLASTCC_CACHE_DIR, else $XDG_CACHE_HOME/plastcc, else
 * $HOME/.cache/plastcc; PLASTCC_CACHE=0 turns the cache off (then the JIT
 * compiles every part, as without it).  An entry is one file,
 * KEY.o: a header (magic, format, key, length, a checksum of the bytes)
 * then the object.  It is written to a temporary file in the directory and
 * renamed, so a reader sees a whole entry or none, also with several
 * processes (MPI ranks) writing the same one; one that does not check out
 * (truncated, corrupted, another format) is ignored and written again.
 * The cache is an optimisation: a directory that cannot be made or
 * written costs the compile, never the run.
 */
#ifndef PLAST_JIT_CACHE_H
#define PLAST_JIT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

typedef struct jit_cache_key { uint64_t h[2]; } jit_cache_key;

/* The cache's directory into BUF; 0, or -1 when it is off. */
int jit_cache_dir(char *buf, size_t len);

/* The key of module M (not yet optimised) compiled for TM. */
void jit_cache_key_of(LLVMModuleRef m, LLVMTargetMachineRef tm, jit_cache_key *k);

/* The object kept under K in DIR, or NULL: none that checks out. */
LLVMMemoryBufferRef jit_cache_get(const char *dir, const jit_cache_key *k);

/* Keeps the object OBJ under K in DIR (made if missing); failures ignored. */
void jit_cache_put(const char *dir, const jit_cache_key *k, LLVMMemoryBufferRef obj);

#endif
