/* jit — kernels through ORC LLJIT (see jit.h for the lifecycle).
 *
 * The kernels are split into parts, compiled at the same time by OpenMP
 * threads; a part owns everything it uses (thread-safe context, module,
 * target machine, LLJIT), so the threads share nothing but LLVM's
 * initialised target registry. */
#include "config.h"
#include "jit.h"
#include "jit_cache.h"
#include "llgen.h"

#include <llvm-c/Error.h>
#include <llvm-c/ExecutionEngine.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/OrcEE.h>
#include <malloc.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct jit_symbol { char name[80]; void *addr; } jit_symbol;

typedef struct jit_part {
    LLVMOrcLLJITRef jit;        /* NULL until created */
    const lower_kernel **ks;    /* its kernels (borrowed), in the unit's order */
    int *sym;                   /* their slots in jit_module.sym */
    int n;
    long weight;                /* a guess at its compile time */
    char session_err[256];      /* the last error its execution session reported */
    char err[512];              /* why it failed, "" if it did not */
} jit_part;

struct jit_module {
    jit_part *part;
    int n_part;
    jit_symbol *sym;            /* every kernel's descriptor, looked up at load */
    int n_sym;
};

/* Materialisation errors arrive here, not at the lookup that caused them. */
static void report_session_error(void *ctx, LLVMErrorRef e)
{
    jit_part *p = ctx;
    char *msg = LLVMGetErrorMessage(e);   /* consumes E */
    snprintf(p->session_err, sizeof p->session_err, "%s", msg);
    LLVMDisposeErrorMessage(msg);
}

/* ERR = WHAT: the message of E (consumed). */
static void error_message(LLVMErrorRef e, const char *what, char *err, size_t errlen)
{
    char *msg = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "%s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
}

/* With PLASTCC_PERF set (not 0), the kernels' functions are announced to
 * perf (jit-PID.dump files for `perf inject --jit`, docs/plastcc.1), through
 * LLVM's perf listener on an RTDyld linking layer; without it LLJIT keeps its
 * own default layer. */
static int perf_wanted(void)
{
    const char *e = getenv("PLASTCC_PERF");
    return e && *e && strcmp(e, "0") != 0;
}

static LLVMOrcObjectLayerRef perf_object_layer(void *ctx, LLVMOrcExecutionSessionRef es, const char *triple)
{
    (void)ctx;
    (void)triple;
    LLVMOrcObjectLayerRef layer = LLVMOrcCreateRTDyldObjectLinkingLayerWithSectionMemoryManager(es);
    LLVMJITEventListenerRef perf = LLVMCreatePerfJITEventListener();
    static int warned;
    if (perf)
        LLVMOrcRTDyldObjectLinkingLayerRegisterJITEventListener(layer, perf);
    else if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
        fprintf(stderr, "plastcc: warning: PLASTCC_PERF: this LLVM was built without perf support\n");
    return layer;
}

/* Steps 3 and 4: the part's LLJIT generating code as TM would (consumed),
 * with the process's symbols, owning module M, or (M NULL) the object OBJ
 * compiled from it (consumed). */
static int create_jit(jit_part *p, LLVMTargetMachineRef tm, LLVMOrcThreadSafeContextRef tsc, LLVMModuleRef m,
                      LLVMMemoryBufferRef obj)
{
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    LLVMErrorRef e;
    LLVMOrcJITTargetMachineBuilderRef jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm);   /* TM is gone */
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);   /* owned by BUILDER now */
    if (perf_wanted()) LLVMOrcLLJITBuilderSetObjectLinkingLayerCreator(builder, perf_object_layer, NULL);
    if ((e = LLVMOrcCreateLLJIT(&p->jit, builder))) {                /* consumes BUILDER, even on error */
        p->jit = NULL;
        error_message(e, "cannot create the JIT", p->err, sizeof p->err);
        goto fail_module;
    }
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(p->jit), report_session_error, p);
    LLVMOrcJITDylibRef main_jd = LLVMOrcLLJITGetMainJITDylib(p->jit);
    if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(p->jit),
                                                                  NULL, NULL))) {
        error_message(e, "cannot make the process's symbols visible to the JIT", p->err, sizeof p->err);
        goto fail_module;
    }
    LLVMOrcJITDylibAddGenerator(main_jd, gen);                        /* owned by the JITDylib now */
    if (obj) {
        if ((e = LLVMOrcLLJITAddObjectFile(p->jit, main_jd, obj))) {  /* owns OBJ now, even on error */
            error_message(e, "cannot add the kernels' object to the JIT", p->err, sizeof p->err);
            return -1;
        }
        return 0;
    }
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);   /* owns M now */
    if ((e = LLVMOrcLLJITAddLLVMIRModule(p->jit, main_jd, tsm))) {  /* owns TSM now, even on error */
        error_message(e, "cannot add the kernels to the JIT", p->err, sizeof p->err);
        return -1;
    }
    return 0;
fail_module:
    if (m) LLVMDisposeModule(m);
    if (obj) LLVMDisposeMemoryBuffer(obj);
    return -1;
}

/* Step 5: the part's descriptors, compiling its module. */
static int lookup_kernels(jit_part *p, jit_symbol *sym)
{
    for (int k = 0; k < p->n; k++) {
        jit_symbol *s = &sym[p->sym[k]];
        LLVMOrcExecutorAddress addr = 0;
        LLVMErrorRef e = LLVMOrcLLJITLookup(p->jit, &addr, s->name);
        if (e) {
            char what[400];
            snprintf(what, sizeof what, "JIT compilation of %.80s failed%s%.256s", s->name,
                     p->session_err[0] ? ": " : "", p->session_err);
            error_message(e, what, p->err, sizeof p->err);
            return -1;
        }
        s->addr = (void *)(uintptr_t)addr;
    }
    return 0;
}

/* Steps 1 to 5 for one part, on the calling thread. */
static void load_part(jit_part *p, jit_symbol *sym, lower_precision prec, const char *source)
{
    LLVMOrcThreadSafeContextRef tsc = NULL;
    LLVMTargetMachineRef tm = llgen_host_machine(LLGEN_FOR_JIT, p->err, sizeof p->err);   /* step 1 */
    if (!tm) return;
    tsc = LLVMOrcCreateNewThreadSafeContext();                                         /* step 2 */
    LLVMModuleRef m = llgen_build(LLVMOrcThreadSafeContextGetContext(tsc), tm, p->ks, p->n, prec, source, p->err,
                                  sizeof p->err);
    if (!m) goto fail;
    /* With the cache (jit_cache.h), the part's object from an earlier run,
     * or compiled here and kept; either is what the JIT loads. */
    char dir[4096];
    jit_cache_key key;
    LLVMMemoryBufferRef obj = NULL;
    int cached = jit_cache_dir(dir, sizeof dir) == 0;
    if (cached) {
        jit_cache_key_of(m, tm, &key);
        if ((obj = jit_cache_get(dir, &key))) { LLVMDisposeModule(m); m = NULL; }
    }
    if (m && llgen_optimize(m, tm, p->err, sizeof p->err)) { LLVMDisposeModule(m); goto fail; }
    if (m && cached) {
        obj = llgen_object_in_memory(m, tm, p->err, sizeof p->err);
        LLVMDisposeModule(m);
        m = NULL;
        if (!obj) goto fail;
        jit_cache_put(dir, &key, obj);
    }
    int rc = create_jit(p, tm, tsc, m, obj);                                           /* steps 3, 4 */
    tm = NULL;                                                                          /* TM and M are gone */
    LLVMOrcDisposeThreadSafeContext(tsc);                                              /* M keeps it alive */
    tsc = NULL;
    if (rc == 0) lookup_kernels(p, sym);                                                /* step 5 */
    return;
fail:
    LLVMOrcDisposeThreadSafeContext(tsc);
    LLVMDisposeTargetMachine(tm);
}

/* A kernel's weight: its loop nests' values, per-synapse ones counting
 * thrice (they become the vector code). */
static long kernel_weight(const lower_kernel *lk)
{
    long w = 1;
    for (int l = 0; l < lk->n_loops; l++)
        w += (long)lk->loops[l].n_nodes * ((lk->loops[l].space & 3) == 3 ? 3 : 1);
    return w;
}

/* N kernels into at most MAX parts of similar weight (heaviest first, each
 * to the lightest part), keeping the unit's order within a part. */
static void split(jit_module *j, const lower_kernel *const *ks, int n, int max)
{
    j->n_part = n < max ? n : max;
    j->part = calloc((size_t)j->n_part + 1, sizeof *j->part);
    int *of = malloc((size_t)n * sizeof *of), *done = calloc((size_t)n, sizeof *done);
    for (int r = 0; r < n; r++) {
        int heavy = -1;
        for (int k = 0; k < n; k++)
            if (!done[k] && (heavy < 0 || kernel_weight(ks[k]) > kernel_weight(ks[heavy]))) heavy = k;
        int light = 0;
        for (int q = 1; q < j->n_part; q++) if (j->part[q].weight < j->part[light].weight) light = q;
        done[heavy] = 1;
        of[heavy] = light;
        j->part[light].weight += kernel_weight(ks[heavy]);
        j->part[light].n++;
    }
    for (int q = 0; q < j->n_part; q++) {
        jit_part *p = &j->part[q];
        p->ks = malloc((size_t)p->n * sizeof *p->ks);
        p->sym = malloc((size_t)p->n * sizeof *p->sym);
        p->n = 0;
    }
    for (int k = 0; k < n; k++) {
        jit_part *p = &j->part[of[k]];
        p->ks[p->n] = ks[k];
        p->sym[p->n++] = k;
    }
    free(of);
    free(done);
}

jit_module *jit_load(const lower_kernel *const *ks, int n, lower_precision prec, const char *source,
                     char *err, size_t errlen)
{
    llgen_init();   /* once, before the threads */
    jit_module *j = calloc(1, sizeof *j);
    j->sym = calloc((size_t)n + 1, sizeof *j->sym);
    j->n_sym = n;
    for (int k = 0; k < n; k++) snprintf(j->sym[k].name, sizeof j->sym[k].name, "%s_desc", ks[k]->k->name);
    /* (The kernels call into libgomp; this reference to it also keeps it
     * linked with --as-needed, for the process generator to find.) */
    split(j, ks, n, omp_get_max_threads());
    #pragma omp parallel for schedule(dynamic, 1) num_threads(j->n_part > 0 ? j->n_part : 1)
    for (int q = 0; q < j->n_part; q++) load_part(&j->part[q], j->sym, prec, source);
    for (int q = 0; q < j->n_part; q++) {
        if (!j->part[q].err[0]) continue;
        snprintf(err, errlen, "%s", j->part[q].err);
        jit_free(j);
        return NULL;
    }
    return j;
}

void *jit_find(jit_module *j, const char *symbol)
{
    for (int k = 0; k < j->n_sym; k++)
        if (!strcmp(j->sym[k].name, symbol)) return j->sym[k].addr;
    return NULL;
}

void jit_free(jit_module *j)
{
    if (!j) return;
    for (int q = 0; q < j->n_part; q++) {
        jit_part *p = &j->part[q];
        if (p->jit) {
            LLVMErrorRef e = LLVMOrcDisposeLLJIT(p->jit);
            if (e) {
                char *msg = LLVMGetErrorMessage(e);
                fprintf(stderr, "plastcc: warning: disposing of the JIT: %s\n", msg);
                LLVMDisposeErrorMessage(msg);
            }
        }
        free(p->ks);
        free(p->sym);
    }
    free(j->part);
    free(j->sym);
    free(j);
}

/* What the compiler used (or loading libLLVM touched) goes back to the system:
 *   - the freed heap (the DAGs, LLVM's modules and passes, spread over the
 *     arenas of the JIT's threads): malloc_trim;
 *   - libLLVM's machine code that the compilation ran: about 50 MB of pages
 *     of the library file mapped into the process (counted in its RSS, the
 *     largest part of it), or of plastcc's own file where LLVM is linked
 *     statically.  The kernels never run LLVM (they call libm and
 *     libgomp only), so MADV_DONTNEED unmaps them; they are clean, read-only
 *     pages of the file, which come back from it if LLVM runs again
 *     (disposing of the JIT at exit).  Only the executable mappings: the
 *     read-only ones include relocated data (RELRO) that must stay.  Before
 *     a compilation, the same call drops what loading the library touched
 *     in its executable mapping (~35 MB: the relocation and symbol tables
 *     share it, and the static constructors are spread over it). */
void jit_release_compiler_memory(void)
{
    malloc_trim(0);
    char exe[4096] = "";   /* LLVM linked statically: its code is in the executable */
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = '\0';
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        line[strcspn(line, "\n")] = '\0';
        const char *path = strchr(line, '/');
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || strcmp(perms, "r-xp") || !path ||
            (!strstr(path, "/libLLVM") && (!exe[0] || strcmp(path, exe))))
            continue;
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    if (f) fclose(f);
}
