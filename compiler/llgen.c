/* llgen — LLVM IR from lowered kernels (see llgen.h, and llgen_impl.h for
 * how the back end is split): the host target, modules, the IR passes and
 * object files. */
#include "config.h"
#include "llgen_impl.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- targets and modules ---- */

void llgen_init(void)
{
    static int done;
    if (done) return;
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    LLVMInitializeNativeAsmParser();
    done = 1;
}

LLVMTargetMachineRef llgen_host_machine(llgen_use use, char *err, size_t errlen)
{
    llgen_init();
    char *triple = LLVMGetDefaultTargetTriple(), *msg = NULL;
    LLVMTargetRef target;
    LLVMTargetMachineRef tm = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        snprintf(err, errlen, "no LLVM target for %s: %s", triple, msg ? msg : "");
        goto out;
    }
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelDefault,
                                 use == LLGEN_FOR_JIT ? LLVMRelocDefault : LLVMRelocPIC,
                                 use == LLGEN_FOR_JIT ? LLVMCodeModelJITDefault : LLVMCodeModelDefault);
    if (!tm) snprintf(err, errlen, "cannot create an LLVM target machine for %s (%s)", triple, cpu);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
out:
    if (msg) LLVMDisposeMessage(msg);
    LLVMDisposeMessage(triple);
    return tm;
}

/* Whether the comma-separated feature list FS holds FEATURE. */
static int has_feature(const char *fs, const char *feature);

/* Whether a partial vector should run masked: with AVX-512's mask registers
 * (PLASTCC_VECTOR_TAIL=masked|scalar overrides). */
static int use_masks(LLVMTargetMachineRef tm)
{
    const char *env = getenv("PLASTCC_VECTOR_TAIL");
    if (env && *env) return !strcmp(env, "masked");
    char *fs = LLVMGetTargetMachineFeatureString(tm);
    int yes = has_feature(fs, "+avx512f");
    LLVMDisposeMessage(fs);
    return yes;
}

/* Whether the comma-separated feature list FS holds FEATURE. */
static int has_feature(const char *fs, const char *feature)
{
    size_t n = strlen(feature);
    for (const char *p = fs; (p = strstr(p, feature)) != NULL; p += n)
        if ((p == fs || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

/* Reals per vector register of TM: 512-bit with AVX-512, 256 with AVX, else
 * 128 (PLASTCC_VECTOR_BITS overrides; 0 or 64 turns lanes off). */
static int vector_lanes(LLVMTargetMachineRef tm, int real_bytes)
{
    char *fs = LLVMGetTargetMachineFeatureString(tm);
    int bits = has_feature(fs, "+avx512f") ? 512 : has_feature(fs, "+avx") ? 256 : 128;
    LLVMDisposeMessage(fs);
    const char *env = getenv("PLASTCC_VECTOR_BITS");
    if (env && *env) bits = atoi(env);
    int lanes = bits / (8 * real_bytes);
    return lanes < 2 ? 1 : lanes > 64 ? 64 : lanes;
}

LLVMModuleRef llgen_build(LLVMContextRef ctx, LLVMTargetMachineRef tm, const lower_kernel *const *ks, int n,
                          lower_precision prec, const char *source, char *err, size_t errlen)
{
    lmod g;
    memset(&g, 0, sizeof g);
    g.ctx = ctx;
    g.prec = prec;
    g.err = err;
    g.errlen = errlen;
    g.m = LLVMModuleCreateWithNameInContext(source, ctx);
    LLVMSetSourceFileName(g.m, source, strlen(source));
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(g.m, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(g.m, td);
    lg_make_types(&g, td);
    LLVMDisposeTargetData(td);
    g.lanes = vector_lanes(tm, g.real_bytes);
    g.masked = use_masks(tm);
    for (int k = 0; k < n && !g.failed; k++) lg_gen_kernel(&g, ks[k]);
    char *msg = NULL;
    if (!g.failed && LLVMVerifyModule(g.m, LLVMReturnStatusAction, &msg)) {
        snprintf(err, errlen, "the generated LLVM IR does not verify: %.400s", msg ? msg : "");
        g.failed = 1;
    }
    if (msg) LLVMDisposeMessage(msg);
    if (g.failed) { LLVMDisposeModule(g.m); return NULL; }
    return g.m;
}

/* The IR passes the generated code needs: identical functions merged
 * first (mergefunc: a rule's forward and step kernels outline the same
 * per-neuron nests and passes, which pool.rule compiled twice, 15% of its
 * latency), allocas to registers (sroa), common loads and index
 * arithmetic (early-cse, gvn), rotated loops so that licm can hoist what
 * does not vary in them, and clean-ups.  The
 * default<O3> pipeline gives code no faster (the vectors are explicit) but
 * costs 5 times as long on the pool rule and 70 times as long on HAT, whose
 * per-synapse loop bodies have thousands of values; PLASTCC_LLVM_PASSES
 * selects another pipeline, e.g. "default<O3>". */
static const char default_passes[] =
    "mergefunc,function(sroa,early-cse<memssa>,simplifycfg,instcombine,loop(loop-rotate),loop-mssa(licm),gvn,instcombine,"
    "simplifycfg)";

/* Cold functions become optnone (and so noinline), before the passes. */
static void cold_to_optnone(LLVMModuleRef m)
{
    LLVMContextRef c = LLVMGetModuleContext(m);
    unsigned optnone = LLVMGetEnumAttributeKindForName("optnone", 7);
    unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn)) {
        if (LLVMIsDeclaration(fn) ||
            !LLVMGetStringAttributeAtIndex(fn, (unsigned)LLVMAttributeFunctionIndex, LG_COLD_ATTR, sizeof LG_COLD_ATTR - 1))
            continue;
        LLVMAddAttributeAtIndex(fn, (unsigned)LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, optnone, 0));
        LLVMAddAttributeAtIndex(fn, (unsigned)LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, noinline, 0));
    }
}

const char *llgen_pipeline(void)
{
    const char *passes = getenv("PLASTCC_LLVM_PASSES");
    return passes && *passes ? passes : default_passes;
}

int llgen_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, char *err, size_t errlen)
{
    /* The per-synapse loops carry their vectors already; the loop vectoriser,
     * the SLP vectoriser and unrolling would only add code to compile (the
     * JIT's latency) for the short per-neuron loops. */
    cold_to_optnone(m);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 0);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 0);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, 0);
    LLVMErrorRef e = LLVMRunPasses(m, llgen_pipeline(), tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (!e) return 0;
    char *msg = LLVMGetErrorMessage(e);   /* consumes E */
    snprintf(err, errlen, "LLVM optimisation failed: %s", msg);
    LLVMDisposeErrorMessage(msg);
    return -1;
}

int llgen_write_object(LLVMModuleRef m, LLVMTargetMachineRef tm, const char *path, char *err, size_t errlen)
{
    char *msg = NULL;
    if (!LLVMTargetMachineEmitToFile(tm, m, (char *)path, LLVMObjectFile, &msg)) return 0;
    snprintf(err, errlen, "cannot write %s: %s", path, msg ? msg : "");
    LLVMDisposeMessage(msg);
    return -1;
}

LLVMMemoryBufferRef llgen_object_in_memory(LLVMModuleRef m, LLVMTargetMachineRef tm, char *err, size_t errlen)
{
    char *msg = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (!LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &buf)) return buf;
    snprintf(err, errlen, "LLVM code generation failed: %s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return NULL;
}

int llgen_write(const lower_kernel *const *ks, int n, lower_precision prec, const char *source, llgen_output what,
                int optimize, const char *path, char *err, size_t errlen)
{
    int rc = -1;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = NULL;
    LLVMTargetMachineRef tm = llgen_host_machine(LLGEN_FOR_OBJECT, err, errlen);
    if (!tm) goto out;
    if (!(m = llgen_build(ctx, tm, ks, n, prec, source, err, errlen))) goto out;
    if (optimize && llgen_optimize(m, tm, err, errlen)) goto out;
    if (what == LLGEN_OBJECT) {
        rc = llgen_write_object(m, tm, path, err, errlen);
    } else {
        char *text = LLVMPrintModuleToString(m);
        FILE *f = path ? fopen(path, "w") : stdout;
        int ok = f && fputs(text, f) >= 0;
        if (f) ok &= path ? fclose(f) == 0 : fflush(f) == 0;
        if (ok) rc = 0;
        else snprintf(err, errlen, "cannot write %s", path ? path : "to standard output");
        LLVMDisposeMessage(text);
    }
out:
    if (m) LLVMDisposeModule(m);
    if (tm) LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(ctx);
    return rc;
}
