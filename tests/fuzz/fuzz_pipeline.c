/* fuzz_pipeline — libFuzzer target for the whole compile pipeline.
 *
 * Each input is one .rule file, taken as far as it goes: parse and check
 * (the front end), then every rule and model built into DAGs,
 * differentiated, lowered to loop nests, emitted as C and built as an LLVM
 * module (llgen_build verifies it), in double or single precision (the
 * input's length decides, so both are reached).  Everything is freed after
 * each input.  Messages and the C go to /dev/null.
 *
 *   build/tests/fuzz/fuzz_pipeline -max_total_time=60 tests/fuzz/corpus
 */
#include "config.h"
#include "ast.h"
#include "diag.h"
#include "llgen.h"
#include "pipeline.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;
static LLVMTargetMachineRef machine;

/* Once per process: /dev/null for the messages, a target machine for the IR. */
static int setup(void)
{
    char err[512];
    if (!devnull) devnull = fopen("/dev/null", "w");
    if (!machine) {
        llgen_init();
        machine = llgen_host_machine(LLGEN_FOR_OBJECT, err, sizeof err);
        if (!machine) { fprintf(stderr, "fuzz_pipeline: %s\n", err); abort(); }
    }
    return devnull != NULL;
}

/* The LLVM module of every kernel of U, built, verified and dropped.  A
 * module that does not verify is a bug of the compiler: abort. */
static void build_ir(const compiled_unit *u, lower_precision prec)
{
    const lower_kernel **ks = NULL;
    int n = pipeline_kernels(u, &ks);
    char err[1024];
    if (n > 0) {
        LLVMContextRef ctx = LLVMContextCreate();
        LLVMModuleRef m = llgen_build(ctx, machine, ks, n, prec, "fuzz.rule", err, sizeof err);
        if (!m) { fprintf(stderr, "fuzz_pipeline: llgen_build: %s\n", err); abort(); }
        LLVMDisposeModule(m);
        LLVMContextDispose(ctx);
    }
    free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!setup()) return 0;
    diag_set_stream(devnull);
    compiled_unit *u = pipeline_compile_buffer("fuzz.rule", (const char *)data, size);
    if (u) {
        lower_precision prec = size & 1 ? PREC_SINGLE : PREC_DOUBLE;
        pipeline_emit_c(devnull, u, "fuzz.rule", prec);
        build_ir(u, prec);
    }
    pipeline_free(u);
    diag_reset();
    ast_arena_free();
    return 0;
}
