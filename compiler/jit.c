/* jit — kernels through ORC LLJIT (see jit.h for the lifecycle). */
#include "config.h"
#include "jit.h"
#include "llgen.h"

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jit_symbol { char name[80]; void *addr; } jit_symbol;

struct jit_module {
    LLVMOrcLLJITRef jit;
    jit_symbol *sym;      /* the kernels' descriptors, looked up at load */
    int n_sym;
    char session_err[256];  /* the last error the execution session reported */
};

/* Materialisation errors arrive here, not at the lookup that caused them. */
static void report_session_error(void *ctx, LLVMErrorRef e)
{
    jit_module *j = ctx;
    char *msg = LLVMGetErrorMessage(e);   /* consumes E */
    snprintf(j->session_err, sizeof j->session_err, "%s", msg);
    LLVMDisposeErrorMessage(msg);
}

/* ERR = WHAT: the message of E (consumed). */
static void error_message(LLVMErrorRef e, const char *what, char *err, size_t errlen)
{
    char *msg = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "%s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
}

/* Steps 3 and 4: the LLJIT generating code as TM would (consumed), with the
 * process's symbols, owning module M. */
static int create_jit(jit_module *j, LLVMTargetMachineRef tm, LLVMOrcThreadSafeContextRef tsc, LLVMModuleRef m,
                      char *err, size_t errlen)
{
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    LLVMErrorRef e;
    LLVMOrcJITTargetMachineBuilderRef jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm);   /* TM is gone */
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);   /* owned by BUILDER now */
    if ((e = LLVMOrcCreateLLJIT(&j->jit, builder))) {                /* consumes BUILDER, even on error */
        j->jit = NULL;
        error_message(e, "cannot create the JIT", err, errlen);
        goto fail_module;
    }
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(j->jit), report_session_error, j);
    LLVMOrcJITDylibRef main_jd = LLVMOrcLLJITGetMainJITDylib(j->jit);
    if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->jit),
                                                                  NULL, NULL))) {
        error_message(e, "cannot make the process's symbols visible to the JIT", err, errlen);
        goto fail_module;
    }
    LLVMOrcJITDylibAddGenerator(main_jd, gen);                        /* owned by the JITDylib now */
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);   /* owns M now */
    if ((e = LLVMOrcLLJITAddLLVMIRModule(j->jit, main_jd, tsm))) {  /* owns TSM now, even on error */
        error_message(e, "cannot add the kernels to the JIT", err, errlen);
        return -1;
    }
    return 0;
fail_module:
    LLVMDisposeModule(m);
    return -1;
}

/* Step 5: the descriptors, compiling the module. */
static int lookup_kernels(jit_module *j, const lower_kernel *const *ks, int n, char *err, size_t errlen)
{
    j->sym = calloc((size_t)n + 1, sizeof *j->sym);
    for (int k = 0; k < n; k++) {
        jit_symbol *s = &j->sym[j->n_sym];
        snprintf(s->name, sizeof s->name, "%s_desc", ks[k]->k->name);
        LLVMOrcExecutorAddress addr = 0;
        LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &addr, s->name);
        if (e) {
            char what[400];
            snprintf(what, sizeof what, "JIT compilation of %.80s failed%s%.256s", s->name,
                     j->session_err[0] ? ": " : "", j->session_err);
            error_message(e, what, err, errlen);
            return -1;
        }
        s->addr = (void *)(uintptr_t)addr;
        j->n_sym++;
    }
    return 0;
}

jit_module *jit_load(const lower_kernel *const *ks, int n, emit_precision prec, const char *source,
                     char *err, size_t errlen)
{
    /* The kernels call into libgomp: referencing it here keeps it linked
     * (with --as-needed) so the process generator can find GOMP_parallel. */
    (void)omp_get_max_threads();
    jit_module *j = calloc(1, sizeof *j);
    LLVMOrcThreadSafeContextRef tsc = NULL;
    LLVMTargetMachineRef tm = llgen_host_machine(LLGEN_FOR_JIT, err, errlen);   /* step 1 */
    if (!tm) goto fail;
    tsc = LLVMOrcCreateNewThreadSafeContext();                       /* step 2 */
    LLVMModuleRef m = llgen_build(LLVMOrcThreadSafeContextGetContext(tsc), tm, ks, n, prec, source, err, errlen);
    if (!m) goto fail;
    if (llgen_optimize(m, tm, err, errlen)) { LLVMDisposeModule(m); goto fail; }
    int rc = create_jit(j, tm, tsc, m, err, errlen);                 /* steps 3, 4: TM and M are gone */
    tm = NULL;
    if (rc) goto fail;
    LLVMOrcDisposeThreadSafeContext(tsc);
    tsc = NULL;
    if (lookup_kernels(j, ks, n, err, errlen)) goto fail;            /* step 5 */
    return j;
fail:
    if (tsc) LLVMOrcDisposeThreadSafeContext(tsc);
    if (tm) LLVMDisposeTargetMachine(tm);
    jit_free(j);
    return NULL;
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
    if (j->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);
        if (e) {
            char *msg = LLVMGetErrorMessage(e);
            fprintf(stderr, "plastcc: warning: disposing of the JIT: %s\n", msg);
            LLVMDisposeErrorMessage(msg);
        }
    }
    free(j->sym);
    free(j);
}
