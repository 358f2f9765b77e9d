/* llgen — LLVM IR from lowered kernels (see llgen.h).
 *
 * Each kernel NAME becomes, besides NAME_scratch and its descriptor:
 *   NAME(a)         fills a frame (NAME.frame), zeroes the outputs that are
 *                   identically zero, runs the loop nests in order — each
 *                   serial one by calling NAME.nestK(frame), each parallel
 *                   one by GOMP_parallel(NAME.parK, frame) — then the final
 *                   outputs (more NAME.nestK) and adds adj_meta;
 *   NAME.frame      the sizes and every array (the arguments from a->arg, the
 *                   stored values carved out of a->scratch) into the frame;
 *   NAME.nestK      a serial loop nest (per-neuron values, their sums);
 *   NAME.parK       run on every thread: its static chunk of the rows or
 *                   columns, then NAME.parK.impl on it;
 *   NAME.parK.impl  the per-synapse loop nest, its arrays noalias parameters
 *                   (C's restrict), vectorised over j: the hot code;
 *                   for two loops of one level, one over columns and one
 *                   over rows, also a fused impl that runs both in one pass
 *                   over the matrix, called directly when one thread runs
 *                   the kernel (gen_fused_pair; the same bits).
 * Everything but the .impl functions is cold: it becomes optnone (see
 * mark_cold), and one loop nest per function keeps the code generator's
 * analyses linear in the size of the kernel.
 *
 * Invariants mirrored from emit_c.c: a node's value is the node's template
 * applied to its arguments' values, in the order of the lowered loop; a
 * value is a vector exactly when the code runs with several lanes (over j)
 * and the node's space contains SP_PRE; sums and maxima update their
 * accumulator once per iteration in iteration order (across lanes: lane 0
 * first), except a sum over j in a register, whose accumulator holds the
 * partial sums of lower_sum_lanes() (lower.h).  Loop variables are phis;
 * accumulators are allocas (SROA makes them registers).
 */
#include "config.h"
#include "llgen.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- module and function state ---- */

typedef struct lmod {
    LLVMContextRef ctx;
    LLVMModuleRef m;
    lower_precision prec;
    int lanes;                      /* vector width of per-synapse loops (1: scalar) */
    int masked;                     /* their last, partial vector runs under a lane mask
                                       (cheap with AVX-512) rather than as a scalar loop */
    int real_bytes;
    LLVMTypeRef t_void, t_i8, t_i32, t_i64, t_real, t_realp, t_i8p, t_i8pp;
    LLVMTypeRef t_kargs, t_kargsp;  /* plast_kargs */
    LLVMTypeRef t_run, t_scratch;   /* void(kargs*), int64_t(kargs*) */
    LLVMTypeRef t_argdesc, t_kdesc; /* plast_karg_desc, plast_kdesc */
    LLVMTypeRef t_body;             /* void(i8*): a GOMP_parallel body */
    LLVMTypeRef t_gomp;             /* GOMP_parallel */
    LLVMTypeRef t_omp_int;          /* int omp_get_*(void) */
    int n_str;
    char *err;
    size_t errlen;
    int failed;
} lmod;

typedef struct lkern {              /* one kernel being generated */
    lmod *g;
    const lower_kernel *lk;
    const kern *k;
    const dag *d;
    int n_ptr;                      /* k->n_arg arrays, then lk->n_store stored values */
    int *input_arg;                 /* per dag input slot: its argument (-1: not read) */
    int *out_arg;                   /* per output: its argument */
    int meta_arg, adj_meta_arg;
    LLVMTypeRef t_frame;            /* { i64 n_pre, n_post, batch, steps, b; real *p[n_ptr] } */
    int n_par, n_nest;              /* functions outlined so far */
} lkern;

typedef struct lfn {                /* one LLVM function being generated */
    lkern *kc;
    lmod *g;
    LLVMValueRef fn;
    LLVMBuilderRef bb;              /* code */
    LLVMBuilderRef ab;              /* allocas, at the end of the entry block */
    LLVMBasicBlockRef entry, start;
    LLVMValueRef size[SIZE_COUNT];  /* n_pre, n_post, batch, steps (space_size order) */
    LLVMValueRef *ptr;              /* [n_ptr]: the arrays available here, else NULL */
    LLVMValueRef b, i, j;           /* loop indices (i64), NULL outside their loop */
    int w;                          /* lanes of the code being built */
    LLVMValueRef mask;              /* <w x i1>: the lanes within the loop's range; NULL: all */
    LLVMValueRef *val;              /* per node: an inline node's value in this iteration */
    LLVMValueRef *acc;              /* per node: a reduction's register accumulator */
    int mem_acc;                    /* sums over i add into their arrays (rows-outer column loops) */
    LLVMValueRef *memo;             /* per node: a leaf or stored value already loaded in this
                                       iteration (cleared whenever a loop index changes) */
    LLVMValueRef index_memo[8];     /* per space: its element index in this iteration */
    LLVMValueRef *frame_memo;       /* per array, its pointer loaded from the frame in this iteration */
    LLVMValueRef frame;             /* NAME, .nestK: the frame (sizes, b, every array) */
} lfn;

typedef struct lloop { LLVMBasicBlockRef head, body, exit; LLVMValueRef idx; int step; } lloop;

static void fail(lmod *g, const char *fmt, ...)
{
    if (g->failed++) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, g->errlen, fmt, ap);
    va_end(ap);
}

static int is_syn(int space) { return (space & SP_SYN) == SP_SYN; }

/* ---- types, constants, declarations ---- */

/* The kernel ABI is written once, in plast.h.  Its structs become LLVM types
 * field by field, in declaration order, each field's type following from its
 * C type (_Generic); then LLVM's layout of them for the target is compared
 * with the C compiler's (offsetof, sizeof), so that a change to plast.h that
 * is not followed here fails at once instead of miscompiling. */
typedef struct abi_field { size_t offset; LLVMTypeRef type; } abi_field;
#define ABI_FIELD(g, T, m) { offsetof(T, m), _Generic(((T *)0)->m,                        \
        int64_t: (g)->t_i64, int: (g)->t_i32,                                                 \
        const char *: (g)->t_i8p, void *: (g)->t_i8p, void **: (g)->t_i8pp,                    \
        void (*)(const plast_kargs *): LLVMPointerType((g)->t_run, 0),                          \
        int64_t (*)(const plast_kargs *): LLVMPointerType((g)->t_scratch, 0),                   \
        const plast_karg_desc *: LLVMPointerType((g)->t_argdesc, 0)) }
/* Where llgen reads plast_kargs: the sizes (space_size order), the argument
 * array, the scratch memory. */
enum { KARGS_ARG = SIZE_COUNT, KARGS_SCRATCH, KARGS_FIELDS };

static void abi_struct(lmod *g, LLVMTargetDataRef td, LLVMTypeRef t, const abi_field *f, int n, size_t size)
{
    LLVMTypeRef types[8];
    for (int k = 0; k < n; k++) types[k] = f[k].type;
    LLVMStructSetBody(t, types, (unsigned)n, 0);
    for (int k = 0; k < n; k++)
        if (LLVMOffsetOfElement(td, t, (unsigned)k) != f[k].offset)
            fail(g, "internal error: field %d of %s lies at byte %llu in LLVM, %zu in plast.h", k,
                 LLVMGetStructName(t), (unsigned long long)LLVMOffsetOfElement(td, t, (unsigned)k), f[k].offset);
    if (LLVMABISizeOfType(td, t) != size)
        fail(g, "internal error: %s has %llu bytes in LLVM, %zu in plast.h", LLVMGetStructName(t),
             (unsigned long long)LLVMABISizeOfType(td, t), size);
}

static void abi_types(lmod *g, LLVMTargetDataRef td)
{
    const abi_field kargs[KARGS_FIELDS] = {
        ABI_FIELD(g, plast_kargs, n_pre), ABI_FIELD(g, plast_kargs, n_post), ABI_FIELD(g, plast_kargs, batch),
        ABI_FIELD(g, plast_kargs, steps), ABI_FIELD(g, plast_kargs, arg), ABI_FIELD(g, plast_kargs, scratch) };
    const abi_field argdesc[] = {
        ABI_FIELD(g, plast_karg_desc, name), ABI_FIELD(g, plast_karg_desc, space),
        ABI_FIELD(g, plast_karg_desc, role) };
    abi_struct(g, td, g->t_kargs, kargs, KARGS_FIELDS, sizeof(plast_kargs));
    abi_struct(g, td, g->t_argdesc, argdesc, 3, sizeof(plast_karg_desc));
    const abi_field kdesc[] = {
        ABI_FIELD(g, plast_kdesc, name), ABI_FIELD(g, plast_kdesc, run), ABI_FIELD(g, plast_kdesc, scratch),
        ABI_FIELD(g, plast_kdesc, n_arg), ABI_FIELD(g, plast_kdesc, arg), ABI_FIELD(g, plast_kdesc, n_meta) };
    abi_struct(g, td, g->t_kdesc, kdesc, 6, sizeof(plast_kdesc));
}


static void make_types(lmod *g, LLVMTargetDataRef td)
{
    LLVMContextRef c = g->ctx;
    g->t_void = LLVMVoidTypeInContext(c);
    g->t_i8 = LLVMInt8TypeInContext(c);
    g->t_i32 = LLVMInt32TypeInContext(c);
    g->t_i64 = LLVMInt64TypeInContext(c);
    g->t_real = g->prec == PREC_SINGLE ? LLVMFloatTypeInContext(c) : LLVMDoubleTypeInContext(c);
    g->real_bytes = g->prec == PREC_SINGLE ? 4 : 8;
    g->t_realp = LLVMPointerType(g->t_real, 0);
    g->t_i8p = LLVMPointerType(g->t_i8, 0);
    g->t_i8pp = LLVMPointerType(g->t_i8p, 0);
    g->t_kargs = LLVMStructCreateNamed(c, "plast_kargs");
    g->t_kargsp = LLVMPointerType(g->t_kargs, 0);
    g->t_run = LLVMFunctionType(g->t_void, &g->t_kargsp, 1, 0);
    g->t_scratch = LLVMFunctionType(g->t_i64, &g->t_kargsp, 1, 0);
    g->t_argdesc = LLVMStructCreateNamed(c, "plast_karg_desc");
    g->t_kdesc = LLVMStructCreateNamed(c, "plast_kdesc");
    abi_types(g, td);
    g->t_body = LLVMFunctionType(g->t_void, &g->t_i8p, 1, 0);
    LLVMTypeRef gp[] = { LLVMPointerType(g->t_body, 0), g->t_i8p, g->t_i32, g->t_i32 };
    g->t_gomp = LLVMFunctionType(g->t_void, gp, 4, 0);
    g->t_omp_int = LLVMFunctionType(g->t_i32, NULL, 0, 0);
}

static void add_attr(lmod *g, LLVMValueRef fn, unsigned idx, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->ctx, kind, 0));
}

/* Cold code (the serial part of a kernel, the wrappers) is compiled with the
 * least effort: llgen_optimize makes it optnone, so that the IR passes,
 * instruction selection and the machine passes spend their time on the
 * per-synapse loops (on the pool rule this takes a quarter off the JIT's
 * latency and under 5% off the kernels' speed). */
static const char cold_attr[] = "plastcc-cold";

static void mark_cold(lmod *g, LLVMValueRef fn)
{
    LLVMAddAttributeAtIndex(fn, (unsigned)LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(g->ctx, cold_attr, sizeof cold_attr - 1, "", 0));
}

/* The function NAME of type TY, declared on first use. */
static LLVMValueRef declare(lmod *g, const char *name, LLVMTypeRef ty)
{
    LLVMValueRef fn = LLVMGetNamedFunction(g->m, name);
    if (!fn) {
        fn = LLVMAddFunction(g->m, name, ty);
        add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    }
    return fn;
}

static LLVMValueRef i64c(lmod *g, long long v) { return LLVMConstInt(g->t_i64, (unsigned long long)v, 1); }
static LLVMValueRef i32c(lmod *g, int v) { return LLVMConstInt(g->t_i32, (unsigned long long)v, 1); }

static LLVMTypeRef real_type(lmod *g, int lanes)
{
    return lanes > 1 ? LLVMVectorType(g->t_real, (unsigned)lanes) : g->t_real;
}
static int lanes_of(LLVMValueRef v)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? (int)LLVMGetVectorSize(t) : 1;
}

/* The constant X of type TY (a real or a vector of reals). */
static LLVMValueRef real_const(lmod *g, LLVMTypeRef ty, double x)
{
    LLVMValueRef s = LLVMConstReal(g->t_real, x);
    if (LLVMGetTypeKind(ty) != LLVMVectorTypeKind) return s;
    unsigned n = LLVMGetVectorSize(ty);
    LLVMValueRef e[64];
    for (unsigned k = 0; k < n && k < 64; k++) e[k] = s;
    return LLVMConstVector(e, n);
}

/* A private constant C string. */
static LLVMValueRef cstring(lmod *g, const char *s)
{
    LLVMValueRef str = LLVMConstStringInContext(g->ctx, s, (unsigned)strlen(s), 0);
    char name[32];
    snprintf(name, sizeof name, ".str.%d", g->n_str++);
    LLVMValueRef gv = LLVMAddGlobal(g->m, LLVMTypeOf(str), name);
    LLVMSetInitializer(gv, str);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
    LLVMSetAlignment(gv, 1);
    return LLVMConstPointerCast(gv, g->t_i8p);
}

/* ---- functions, blocks, loops ---- */

static void fn_open(lfn *f, lkern *kc, LLVMValueRef fn)
{
    memset(f, 0, sizeof *f);
    f->kc = kc;
    f->g = kc->g;
    f->fn = fn;
    f->w = 1;
    f->bb = LLVMCreateBuilderInContext(f->g->ctx);
    f->ab = LLVMCreateBuilderInContext(f->g->ctx);
    f->entry = LLVMAppendBasicBlockInContext(f->g->ctx, fn, "entry");
    f->start = LLVMAppendBasicBlockInContext(f->g->ctx, fn, "start");
    LLVMPositionBuilderAtEnd(f->ab, f->entry);
    LLVMPositionBuilderAtEnd(f->bb, f->start);
    f->ptr = calloc((size_t)kc->n_ptr + 1, sizeof *f->ptr);
    f->val = calloc((size_t)kc->d->n + 1, sizeof *f->val);
    f->acc = calloc((size_t)kc->d->n + 1, sizeof *f->acc);
    f->memo = calloc((size_t)kc->d->n + 1, sizeof *f->memo);
    f->frame_memo = calloc((size_t)kc->n_ptr + 1, sizeof *f->frame_memo);
}

/* A loop index changed: values loaded so far may not be this iteration's. */
static void forget(lfn *f)
{
    memset(f->memo, 0, (size_t)(f->kc->d->n + 1) * sizeof *f->memo);
    memset(f->index_memo, 0, sizeof f->index_memo);
    memset(f->frame_memo, 0, (size_t)(f->kc->n_ptr + 1) * sizeof *f->frame_memo);
}

/* Ends the function (its code has returned): joins the entry block to the code. */
static void fn_end(lfn *f)
{
    LLVMBuildBr(f->ab, f->start);
    LLVMDisposeBuilder(f->bb);
    LLVMDisposeBuilder(f->ab);
    free(f->ptr);
    free(f->val);
    free(f->acc);
    free(f->memo);
    free(f->frame_memo);
}

static void fn_close(lfn *f)
{
    LLVMBuildRetVoid(f->bb);
    fn_end(f);
}

/* An internal helper function whose noalias parameters alias analysis
 * should see: never inlined. */
static LLVMValueRef helper_fn(lmod *g, const char *name, LLVMTypeRef ty)
{
    LLVMValueRef fn = LLVMAddFunction(g->m, name, ty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "noinline");
    return fn;
}

/* for (idx = START; idx < LIMIT; idx += STEP): opens the body. */
static LLVMValueRef loop_open(lfn *f, lloop *L, LLVMValueRef start, LLVMValueRef limit, int step, const char *name)
{
    LLVMContextRef c = f->g->ctx;
    LLVMBasicBlockRef from = LLVMGetInsertBlock(f->bb);
    L->head = LLVMAppendBasicBlockInContext(c, f->fn, name);
    L->body = LLVMAppendBasicBlockInContext(c, f->fn, "body");
    L->exit = LLVMAppendBasicBlockInContext(c, f->fn, "done");
    L->step = step;
    LLVMBuildBr(f->bb, L->head);
    LLVMPositionBuilderAtEnd(f->bb, L->head);
    L->idx = LLVMBuildPhi(f->bb, f->g->t_i64, name);
    LLVMAddIncoming(L->idx, &start, &from, 1);
    LLVMBuildCondBr(f->bb, LLVMBuildICmp(f->bb, LLVMIntSLT, L->idx, limit, ""), L->body, L->exit);
    LLVMPositionBuilderAtEnd(f->bb, L->body);
    forget(f);
    return L->idx;
}

/* Closes the loop; code continues after it, where L->idx is the first
 * index not run. */
static void loop_close(lfn *f, lloop *L)
{
    LLVMValueRef next = LLVMBuildNSWAdd(f->bb, L->idx, i64c(f->g, L->step), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(f->bb);
    LLVMBuildBr(f->bb, L->head);
    LLVMAddIncoming(L->idx, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(f->bb, L->exit);
    forget(f);
}

static LLVMValueRef new_alloca(lfn *f, LLVMTypeRef ty, const char *name)
{
    return LLVMBuildAlloca(f->ab, ty, name);
}

/* ---- values ---- */

static LLVMValueRef index_expr(lfn *f, int space);

/* The element index of a SPACE array at the current (b, i, j). */
static LLVMValueRef index_of(lfn *f, int space)
{
    if (!f->index_memo[space & 7]) f->index_memo[space & 7] = index_expr(f, space);
    return f->index_memo[space & 7];
}

static LLVMValueRef index_expr(lfn *f, int space)
{
    lmod *g = f->g;
    LLVMBuilderRef B = f->bb;
    LLVMValueRef zero = i64c(g, 0);
    LLVMValueRef b = f->b ? f->b : zero, i = f->i ? f->i : zero, j = f->j ? f->j : zero;
    LLVMValueRef n_pre = f->size[SIZE_N_PRE], n_post = f->size[SIZE_N_POST];
    switch (space) {
    case 0: return zero;
    case SP_PRE: return j;
    case SP_POST: return i;
    case SP_SYN: return LLVMBuildNSWAdd(B, LLVMBuildNSWMul(B, i, n_pre, ""), j, "");
    case SP_SAMPLE: return b;
    case SP_SAMPLE | SP_PRE: return LLVMBuildNSWAdd(B, LLVMBuildNSWMul(B, b, n_pre, ""), j, "");
    case SP_SAMPLE | SP_POST: return LLVMBuildNSWAdd(B, LLVMBuildNSWMul(B, b, n_post, ""), i, "");
    default: {
        LLVMValueRef row = LLVMBuildNSWAdd(B, LLVMBuildNSWMul(B, b, n_post, ""), i, "");
        return LLVMBuildNSWAdd(B, LLVMBuildNSWMul(B, row, n_pre, ""), j, "");
    }
    }
}

/* The number of elements of a SPACE array: batch * n_post * n_pre * 1 over its bits. */
static LLVMValueRef size_of(lfn *f, int space)
{
    LLVMValueRef n = NULL;
    static const struct { int bit, which; } dims[] = {
        { SP_SAMPLE, SIZE_BATCH }, { SP_POST, SIZE_N_POST }, { SP_PRE, SIZE_N_PRE } };
    for (int k = 0; k < 3; k++) {
        if (!(space & dims[k].bit)) continue;
        LLVMValueRef s = f->size[dims[k].which];
        n = n ? LLVMBuildNSWMul(f->bb, n, s, "") : s;
    }
    return n ? n : i64c(f->g, 1);
}

static LLVMValueRef array(lfn *f, int p)
{
    if (p >= 0 && p < f->kc->n_ptr && !f->ptr[p] && f->frame) {
        /* from the frame where it is used, so that no pointer lives
         * across the whole function (register allocation time) */
        if (!f->frame_memo[p]) {
            LLVMValueRef idx[3] = { i32c(f->g, 0), i32c(f->g, 5), i32c(f->g, p) };
            LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->kc->t_frame, f->frame, idx, 3, "");
            f->frame_memo[p] = LLVMBuildLoad2(f->bb, f->g->t_realp, at, "");
        }
        return f->frame_memo[p];
    }
    if (p < 0 || p >= f->kc->n_ptr || !f->ptr[p]) {
        fail(f->g, "internal error: kernel %s uses array %d where it is not available", f->kc->k->name, p);
        return LLVMGetUndef(f->g->t_realp);
    }
    return f->ptr[p];
}

static int stored_array(const lkern *kc, int id) { return kc->k->n_arg + kc->lk->store[id]; }

/* Whether a SPACE value has lanes in the current code. */
static int varies(const lfn *f, int space) { return f->w > 1 && (space & SP_PRE); }

/* The address of element [index(SPACE)] of array P, as a pointer to LANES reals. */
static LLVMValueRef element(lfn *f, LLVMValueRef p, int space, int lanes)
{
    LLVMValueRef idx = index_of(f, space);
    LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, p, &idx, 1, "");
    if (lanes == 1) return at;
    return LLVMBuildPointerCast(f->bb, at, LLVMPointerType(real_type(f->g, lanes), 0), "");
}

/* llvm.masked.load / llvm.masked.store on vectors of type VT (the name of
 * the declaration depends on the LLVM version: asked of LLVM). */
static LLVMValueRef masked_intrinsic(lfn *f, const char *name, LLVMTypeRef vt, LLVMTypeRef *fty)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef types[2] = { vt, LLVMPointerType(vt, 0) };
    *fty = LLVMIntrinsicGetType(f->g->ctx, id, types, 2);
    return LLVMGetIntrinsicDeclaration(f->g->m, id, types, 2);
}

/* LANES reals at AT (masked lanes read as 0). */
static LLVMValueRef vload(lfn *f, LLVMValueRef at, int lanes)
{
    LLVMTypeRef vt = real_type(f->g, lanes);
    if (lanes > 1 && f->mask) {
        LLVMTypeRef fty;
        LLVMValueRef fn = masked_intrinsic(f, "llvm.masked.load", vt, &fty);
        LLVMValueRef args[4] = { at, i32c(f->g, f->g->real_bytes), f->mask, LLVMConstNull(vt) };
        return LLVMBuildCall2(f->bb, fty, fn, args, 4, "");
    }
    LLVMValueRef v = LLVMBuildLoad2(f->bb, vt, at, "");
    LLVMSetAlignment(v, (unsigned)f->g->real_bytes);
    return v;
}

static void vstore(lfn *f, LLVMValueRef v, LLVMValueRef at, int lanes)
{
    if (lanes > 1 && f->mask) {
        LLVMTypeRef fty;
        LLVMValueRef fn = masked_intrinsic(f, "llvm.masked.store", real_type(f->g, lanes), &fty);
        LLVMValueRef args[4] = { v, at, i32c(f->g, f->g->real_bytes), f->mask };
        LLVMBuildCall2(f->bb, fty, fn, args, 4, "");
        return;
    }
    LLVMSetAlignment(LLVMBuildStore(f->bb, v, at), (unsigned)f->g->real_bytes);
}

static LLVMValueRef load_at(lfn *f, LLVMValueRef p, int space)
{
    int lanes = varies(f, space) ? f->w : 1;
    return vload(f, element(f, p, space, lanes), lanes);
}

/* Lanes of V (a scalar or a vector) as a vector of LANES (splat). */
static LLVMValueRef widen(lfn *f, LLVMValueRef v, int lanes)
{
    if (lanes <= 1 || lanes_of(v) == lanes) return v;
    LLVMTypeRef vt = real_type(f->g, lanes);
    LLVMValueRef one = LLVMBuildInsertElement(f->bb, LLVMGetUndef(vt), v, i32c(f->g, 0), "");
    return LLVMBuildShuffleVector(f->bb, one, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(f->g->t_i32, (unsigned)lanes)),
                                  "");
}

/* a[index(SPACE)] = V, or += V when ACCUMULATE (C's `x += v` is x = x + v). */
static void store_at(lfn *f, LLVMValueRef p, int space, LLVMValueRef v, int accumulate)
{
    int lanes = varies(f, space) ? f->w : 1;
    if (lanes_of(v) > lanes) {
        fail(f->g, "internal error: kernel %s stores lanes into a value that does not vary with j", f->kc->k->name);
        return;
    }
    v = widen(f, v, lanes);
    LLVMValueRef at = element(f, p, space, lanes);
    if (accumulate) v = LLVMBuildFAdd(f->bb, vload(f, at, lanes), v, "");
    vstore(f, v, at, lanes);
}

static LLVMValueRef load_value(lfn *f, int id);

/* The value of node ID in the current iteration (emit_c's value_of). */
static LLVMValueRef value_of(lfn *f, int id)
{
    const lkern *kc = f->kc;
    if (lower_is_inline(kc->lk, id)) {
        if (!f->val[id]) {
            fail(f->g, "internal error: kernel %s reads %%%d before computing it", kc->k->name, id);
            return LLVMGetUndef(real_type(f->g, varies(f, kc->d->node[id].space) ? f->w : 1));
        }
        return f->val[id];
    }
    if (!f->memo[id]) f->memo[id] = load_value(f, id);
    return f->memo[id];
}

/* A leaf's value, or a stored value from its array. */
static LLVMValueRef load_value(lfn *f, int id)
{
    const lkern *kc = f->kc;
    const dag_node *n = &kc->d->node[id];
    switch (n->op) {
    case OP_CONST: return LLVMConstReal(f->g->t_real, n->value);
    case OP_INPUT: return load_at(f, array(f, kc->input_arg[n->aux]), n->space);
    case OP_PARAM: {
        LLVMValueRef idx = i64c(f->g, n->index);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, array(f, kc->meta_arg), &idx, 1, "");
        return LLVMBuildLoad2(f->bb, f->g->t_real, at, "");
    }
    case OP_SIZE: return LLVMBuildSIToFP(f->bb, f->size[n->aux], f->g->t_real, space_size_name(n->aux));
    default: break;
    }
    return load_at(f, array(f, stored_array(kc, id)), n->space);
}

/* ---- operators (the value column of ops.def) ---- */

/* llvm.NAME.f64 / .v4f64 / ... on the arguments' type. */
static LLVMValueRef call_intrinsic(lfn *f, const char *name, LLVMValueRef *a, int n)
{
    LLVMTypeRef ty = LLVMTypeOf(a[0]), params[2] = { ty, ty };
    int lanes = lanes_of(a[0]);
    char full[64], sfx[16];
    snprintf(sfx, sizeof sfx, "%s", f->g->prec == PREC_SINGLE ? "f32" : "f64");
    if (lanes > 1) snprintf(full, sizeof full, "%s.v%d%s", name, lanes, sfx);
    else snprintf(full, sizeof full, "%s.%s", name, sfx);
    LLVMTypeRef fty = LLVMFunctionType(ty, params, (unsigned)n, 0);
    return LLVMBuildCall2(f->bb, fty, declare(f->g, full, fty), a, (unsigned)n, "");
}

/* A libm function (tanh, log1p; tanhf, log1pf in single precision), lane by lane. */
static LLVMValueRef call_libm(lfn *f, const char *name, LLVMValueRef *a, int n)
{
    lmod *g = f->g;
    char full[64];
    snprintf(full, sizeof full, "%s%s", name, g->prec == PREC_SINGLE ? "f" : "");
    LLVMTypeRef params[2] = { g->t_real, g->t_real };
    LLVMTypeRef fty = LLVMFunctionType(g->t_real, params, (unsigned)n, 0);
    LLVMValueRef fn = declare(g, full, fty);
    int lanes = lanes_of(a[0]);
    if (lanes == 1) return LLVMBuildCall2(f->bb, fty, fn, a, (unsigned)n, "");
    LLVMValueRef out = LLVMGetUndef(LLVMTypeOf(a[0]));
    for (int k = 0; k < lanes; k++) {
        LLVMValueRef s[2];
        for (int q = 0; q < n; q++) s[q] = LLVMBuildExtractElement(f->bb, a[q], i32c(g, k), "");
        out = LLVMBuildInsertElement(f->bb, out, LLVMBuildCall2(f->bb, fty, fn, s, (unsigned)n, ""), i32c(g, k), "");
    }
    return out;
}

static LLVMValueRef fsel(lfn *f, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y, LLVMValueRef t, LLVMValueRef e)
{
    return LLVMBuildSelect(f->bb, LLVMBuildFCmp(f->bb, p, x, y, ""), t, e, "");
}

static LLVMValueRef intrinsic1(lfn *f, const char *name, LLVMValueRef x) { return call_intrinsic(f, name, &x, 1); }
static LLVMValueRef intrinsic2(lfn *f, const char *name, LLVMValueRef x, LLVMValueRef y)
{
    LLVMValueRef a[2] = { x, y };
    return call_intrinsic(f, name, a, 2);
}
static LLVMValueRef libm1(lfn *f, const char *name, LLVMValueRef x) { return call_libm(f, name, &x, 1); }

/* The value language of ops.def as LLVM IR, on arguments A of one type
 * (scalars, or vectors of the same lanes); NULL for an operator without a
 * value formula. */
#define X a[0]
#define Y a[1]
#define K(c) real_const(f->g, ty, c)
#define ADD(p, q) LLVMBuildFAdd(B, p, q, "")
#define SUB(p, q) LLVMBuildFSub(B, p, q, "")
#define MUL(p, q) LLVMBuildFMul(B, p, q, "")
#define DIV(p, q) LLVMBuildFDiv(B, p, q, "")
#define NEG(p) LLVMBuildFNeg(B, p, "")
#define EXP(p) intrinsic1(f, "llvm.exp", p)
#define LOG(p) intrinsic1(f, "llvm.log", p)
#define SQRT(p) intrinsic1(f, "llvm.sqrt", p)
#define FABS(p) intrinsic1(f, "llvm.fabs", p)
#define POW(p, q) intrinsic2(f, "llvm.pow", p, q)
#define LIBM(fn, p) libm1(f, #fn, p)
#define SEL(c, p, q) LLVMBuildSelect(B, c, p, q, "")
#define GT(p, q) LLVMBuildFCmp(B, LLVMRealOGT, p, q, "")
#define LT(p, q) LLVMBuildFCmp(B, LLVMRealOLT, p, q, "")
#define NONE NULL
static LLVMValueRef build_value(lfn *f, dag_op op, LLVMValueRef *a)
{
    LLVMBuilderRef B = f->bb;
    LLVMTypeRef ty = LLVMTypeOf(a[0]);
    switch (op) {
#define OP(id, name, kind, arity, call, c, value, d0, d1) case OP_##id: return value;
#include "ops.def"
#undef OP
    default: return NULL;
    }
}
#include "ops_end.h"

/* kcap at (b, i) (emit_c's emit_kcap): rank = #{i2 : z_i2 > z_i, or
 * z_i2 == z_i and i2 < i} over the argument's row; 1 when rank < k, else 0. */
static LLVMValueRef gen_kcap(lfn *f, int id)
{
    lmod *g = f->g;
    const lkern *kc = f->kc;
    const dag_node *n = &kc->d->node[id];
    const dag_node *a = &kc->d->node[n->arg[0]];
    LLVMBuilderRef B = f->bb;
    LLVMValueRef z = value_of(f, n->arg[0]), i = f->i;
    LLVMValueRef row = array(f, a->op == OP_INPUT ? kc->input_arg[a->aux] : stored_array(kc, n->arg[0]));
    LLVMValueRef base = n->space & SP_SAMPLE ? LLVMBuildNSWMul(B, f->b, f->size[SIZE_N_POST], "") : i64c(g, 0);
    LLVMValueRef rank = new_alloca(f, g->t_i64, "rank");
    LLVMBuildStore(B, i64c(g, 0), rank);
    lloop L;
    LLVMValueRef i2 = loop_open(f, &L, i64c(g, 0), f->size[SIZE_N_POST], 1, "i2");
    LLVMValueRef at = LLVMBuildNSWAdd(B, base, i2, "");
    LLVMValueRef o = LLVMBuildLoad2(B, g->t_real, LLVMBuildInBoundsGEP2(B, g->t_real, row, &at, 1, ""), "");
    LLVMValueRef tie = LLVMBuildAnd(B, LLVMBuildFCmp(B, LLVMRealOEQ, o, z, ""), LLVMBuildICmp(B, LLVMIntSLT, i2, i, ""), "");
    LLVMValueRef ahead = LLVMBuildOr(B, LLVMBuildFCmp(B, LLVMRealOGT, o, z, ""), tie, "");
    LLVMValueRef r = LLVMBuildLoad2(B, g->t_i64, rank, "");
    LLVMBuildStore(B, LLVMBuildNSWAdd(B, r, LLVMBuildZExt(B, ahead, g->t_i64, ""), ""), rank);
    loop_close(f, &L);
    r = LLVMBuildLoad2(B, g->t_i64, rank, "");
    return LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, r, i64c(g, n->index), ""), LLVMConstReal(g->t_real, 1),
                           LLVMConstReal(g->t_real, 0), "");
}

/* The value of operator node ID from its arguments' values (emit_c's compute_expr). */
static LLVMValueRef compute(lfn *f, int id)
{
    const dag_node *n = &f->kc->d->node[id];
    const dag_opinfo *op = &dag_ops[n->op];
    if (n->op == OP_KCAP) return gen_kcap(f, id);
    LLVMValueRef a[2] = { NULL, NULL };
    int lanes = 1;
    for (int k = 0; k < op->arity; k++) {
        a[k] = value_of(f, n->arg[k]);
        if (lanes_of(a[k]) > lanes) lanes = lanes_of(a[k]);
    }
    for (int k = 0; k < op->arity; k++) a[k] = widen(f, a[k], lanes);
    LLVMValueRef v = op->arity > 0 ? build_value(f, (dag_op)n->op, a) : NULL;
    if (v) return v;
    fail(f->g, "internal error: no LLVM lowering for operator %s", op->name);
    return LLVMGetUndef(real_type(f->g, lanes));
}

/* ---- nodes and reductions (emit_c's compute_nodes) ---- */

static void gen_nodes(lfn *f, const int *nodes, int n_nodes, int local_bit);

/* acc = op(acc, x) for a sum or a maximum ("if (x > acc) acc = x"). */
static LLVMValueRef reduce_step(lfn *f, dag_op op, LLVMValueRef acc, LLVMValueRef x)
{
    if (op == OP_MAX_POST) return fsel(f, LLVMRealOGT, x, acc, x, acc);
    return LLVMBuildFAdd(f->bb, acc, x, "");
}

/* real tN = 0; for b { block; tN += arg; } — a per-synapse sum over the samples. */
static void gen_batch_sum(lfn *f, int id, int local_bit)
{
    const lkern *kc = f->kc;
    const dag_node *n = &kc->d->node[id];
    int *blk, nb = lower_batch_block(kc->lk, id, &blk);
    LLVMTypeRef ty = real_type(f->g, varies(f, n->space) ? f->w : 1);
    LLVMValueRef acc = new_alloca(f, ty, "bsum");
    LLVMBuildStore(f->bb, real_const(f->g, ty, 0), acc);
    LLVMValueRef *saved = malloc((size_t)(nb + 1) * sizeof *saved), outer_b = f->b;
    for (int q = 0; q < nb; q++) saved[q] = f->val[blk[q]];
    lloop L;
    f->b = loop_open(f, &L, i64c(f->g, 0), f->size[SIZE_BATCH], 1, "b");
    gen_nodes(f, blk, nb, local_bit);
    LLVMValueRef x = widen(f, value_of(f, n->arg[0]), varies(f, n->space) ? f->w : 1);
    LLVMBuildStore(f->bb, LLVMBuildFAdd(f->bb, LLVMBuildLoad2(f->bb, ty, acc, ""), x, ""), acc);
    loop_close(f, &L);
    f->b = outer_b;
    for (int q = 0; q < nb; q++) f->val[blk[q]] = saved[q];   /* the block's values were scoped to it */
    f->val[id] = LLVMBuildLoad2(f->bb, ty, acc, "");
    free(saved);
    free(blk);
}

/* Whether node N's accumulator in a loop summing LOCAL_BIT holds the
 * lower_sum_lanes() partial sums of a sum over j (lower.h). */
static int lane_split(const dag_node *n, int local_bit)
{
    return n->op == OP_SUM_PRE && local_bit == SP_PRE;
}

/* The partial sums V added pairwise (emit_c's plast_lanesum). */
static LLVMValueRef lane_sum(lfn *f, LLVMValueRef v)
{
    int n = lanes_of(v);
    while (n > 2) {
        LLVMValueRef even[32], odd[32];
        for (int k = 0; k < n / 2; k++) even[k] = i32c(f->g, 2 * k), odd[k] = i32c(f->g, 2 * k + 1);
        LLVMValueRef u = LLVMGetUndef(LLVMTypeOf(v));
        LLVMValueRef e = LLVMBuildShuffleVector(f->bb, v, u, LLVMConstVector(even, (unsigned)(n / 2)), "");
        LLVMValueRef o = LLVMBuildShuffleVector(f->bb, v, u, LLVMConstVector(odd, (unsigned)(n / 2)), "");
        v = LLVMBuildFAdd(f->bb, e, o, "");
        n /= 2;
    }
    if (n == 1) return LLVMBuildExtractElement(f->bb, v, i32c(f->g, 0), "");
    return LLVMBuildFAdd(f->bb, LLVMBuildExtractElement(f->bb, v, i32c(f->g, 0), ""),
                         LLVMBuildExtractElement(f->bb, v, i32c(f->g, 1), ""), "");
}

/* acc[j mod lanes] += X: the whole vector when the loop runs lanes columns
 * at once (lanes out of range add -0, which changes nothing), one lane in
 * scalar code. */
static LLVMValueRef lane_add(lfn *f, LLVMValueRef cur, LLVMValueRef x)
{
    int P = lanes_of(cur);
    if (f->w > 1) {
        if (f->w != P) { fail(f->g, "internal error: a %d-lane sum in a %d-lane loop", P, f->w); return cur; }
        x = widen(f, x, P);
        if (f->mask) x = LLVMBuildSelect(f->bb, f->mask, x, real_const(f->g, LLVMTypeOf(x), -0.0), "");
        return LLVMBuildFAdd(f->bb, cur, x, "");
    }
    LLVMValueRef lane = LLVMBuildTrunc(f->bb, LLVMBuildAnd(f->bb, f->j, i64c(f->g, P - 1), ""), f->g->t_i32, "");
    LLVMValueRef part = LLVMBuildFAdd(f->bb, LLVMBuildExtractElement(f->bb, cur, lane, ""), x, "");
    return LLVMBuildInsertElement(f->bb, cur, part, lane, "");
}

static void gen_reduce(lfn *f, int id, int local_bit)
{
    const lkern *kc = f->kc;
    const dag_node *n = &kc->d->node[id];
    LLVMValueRef x = value_of(f, n->arg[0]);
    if (dag_ops[n->op].reduces != local_bit) {   /* v[idx] op= x, in an array zeroed before the nest */
        LLVMValueRef p = array(f, stored_array(kc, id));
        if (lanes_of(x) > 1) { fail(f->g, "internal error: %s: a vector into a shared sum", kc->k->name); return; }
        store_at(f, p, n->space, reduce_step(f, n->op, load_at(f, p, n->space), x), 0);
        return;
    }
    if (f->mem_acc) {   /* v[idx] op= x in the reduction's own array, started before the rows */
        LLVMValueRef p = array(f, stored_array(kc, id));
        LLVMValueRef cur = load_at(f, p, n->space);
        store_at(f, p, n->space, reduce_step(f, n->op, cur, widen(f, x, lanes_of(cur))), 0);
        return;
    }
    LLVMValueRef acc = f->acc[id];
    if (!acc) { fail(f->g, "internal error: %s: %%%d has no accumulator", kc->k->name, id); return; }
    LLVMTypeRef ty = LLVMGetAllocatedType(acc);
    LLVMValueRef cur = LLVMBuildLoad2(f->bb, ty, acc, "");
    if (lane_split(n, local_bit)) { LLVMBuildStore(f->bb, lane_add(f, cur, x), acc); return; }
    int acc_lanes = LLVMGetTypeKind(ty) == LLVMVectorTypeKind ? (int)LLVMGetVectorSize(ty) : 1;
    if (acc_lanes == 1 && lanes_of(x) > 1) {   /* a sum over j across lanes: lane 0 first, as the scalar loop */
        if (f->mask)   /* lanes out of range add -0 (x + -0 == x for every x) or compare -inf: no effect */
            x = LLVMBuildSelect(f->bb, f->mask, x, real_const(f->g, LLVMTypeOf(x), n->op == OP_MAX_POST ? -INFINITY : -0.0), "");
        for (int k = 0; k < lanes_of(x); k++)
            cur = reduce_step(f, n->op, cur, LLVMBuildExtractElement(f->bb, x, i32c(f->g, k), ""));
    } else {
        cur = reduce_step(f, n->op, cur, widen(f, x, acc_lanes));
    }
    LLVMBuildStore(f->bb, cur, acc);
}

static void gen_nodes(lfn *f, const int *nodes, int n_nodes, int local_bit)
{
    const lkern *kc = f->kc;
    for (int q = 0; q < n_nodes && !f->g->failed; q++) {
        int id = nodes[q];
        const dag_node *n = &kc->d->node[id];
        if (lower_is_batch_sum(kc->lk, id)) { gen_batch_sum(f, id, local_bit); continue; }
        if (dag_op_is_reduction(n->op)) { gen_reduce(f, id, local_bit); continue; }
        LLVMValueRef v = compute(f, id);
        if (lower_is_inline(kc->lk, id)) {
            f->val[id] = v;
        } else {
            store_at(f, array(f, stored_array(kc, id)), n->space, v, 0);
            f->memo[id] = v;   /* later nodes of this iteration read it back */
        }
    }
}

/* ---- loops (emit_c's emit_loop) ---- */

/* One iteration: the loop's nodes, then the outputs it writes. */
static void loop_body(lfn *f, const lower_loop *L, int local_bit)
{
    const kern *k = f->kc->k;
    gen_nodes(f, L->nodes, L->n_nodes, local_bit);
    for (int q = 0; q < L->n_outs && !f->g->failed; q++) {
        const kern_out *o = &k->out[L->outs[q]];
        store_at(f, array(f, f->kc->out_arg[L->outs[q]]), o->space, value_of(f, o->node), o->accumulate);
    }
}

/* real accN = 0 (or -inf) for the loop's sums over LOCAL_BIT. */
static void accs_open(lfn *f, const lower_loop *L, int local_bit)
{
    const dag *d = f->kc->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &d->node[id];
        if (!dag_op_is_reduction(n->op) || lower_is_batch_sum(f->kc->lk, id) || dag_ops[n->op].reduces != local_bit) continue;
        LLVMTypeRef ty = real_type(f->g, lane_split(n, local_bit) ? lower_sum_lanes(f->g->prec)
                                                                  : varies(f, n->space) ? f->w : 1);
        f->acc[id] = new_alloca(f, ty, "acc");
        LLVMBuildStore(f->bb, real_const(f->g, ty, n->op == OP_MAX_POST ? -INFINITY : 0), f->acc[id]);
    }
}

/* vN[idx] = accN */
static void accs_close(lfn *f, const lower_loop *L, int local_bit)
{
    const dag *d = f->kc->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &d->node[id];
        if (!dag_op_is_reduction(n->op) || lower_is_batch_sum(f->kc->lk, id) || dag_ops[n->op].reduces != local_bit) continue;
        LLVMValueRef v = LLVMBuildLoad2(f->bb, LLVMGetAllocatedType(f->acc[id]), f->acc[id], "");
        if (lane_split(n, local_bit)) v = lane_sum(f, v);
        store_at(f, array(f, stored_array(f->kc, id)), n->space, v, 0);
        f->acc[id] = NULL;
    }
}

/* Arrays of sums across samples or rows start at 0 (-inf for a maximum). */
static void init_reductions(lfn *f, const lower_loop *L, int local_bit)
{
    const dag *d = f->kc->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &d->node[id];
        if (!dag_op_is_reduction(n->op) || lower_is_batch_sum(f->kc->lk, id) || dag_ops[n->op].reduces == local_bit) continue;
        LLVMValueRef p = array(f, stored_array(f->kc, id));
        lloop K;
        LLVMValueRef k = loop_open(f, &K, i64c(f->g, 0), size_of(f, n->space), 1, "k");
        LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, p, &k, 1, "");
        LLVMBuildStore(f->bb, LLVMConstReal(f->g->t_real, n->op == OP_MAX_POST ? -INFINITY : 0), at);
        loop_close(f, &K);
    }
}

/* Whether a per-synapse loop can run several columns j at once: every sum
 * in it is a register accumulator (none is shared across rows). */
static int can_vectorise(const lkern *kc, const lower_loop *L, int local_bit)
{
    if (kc->g->lanes < 2) return 0;
    for (int q = 0; q < L->n_nodes; q++) {
        const dag_node *n = &kc->d->node[L->nodes[q]];
        if (dag_op_is_reduction(n->op) && !lower_is_batch_sum(kc->lk, L->nodes[q]) && dag_ops[n->op].reduces != local_bit)
            return 0;
    }
    return 1;
}

/* f->mask = (j + 0, j + 1, ..., j + w-1) < END */
static void set_mask(lfn *f, LLVMValueRef end)
{
    lmod *g = f->g;
    LLVMTypeRef vt = LLVMVectorType(g->t_i64, (unsigned)f->w);
    LLVMValueRef iota[64], zero = LLVMConstNull(LLVMVectorType(g->t_i32, (unsigned)f->w));
    for (int k = 0; k < f->w; k++) iota[k] = i64c(g, k);
    LLVMValueRef j = LLVMBuildInsertElement(f->bb, LLVMGetUndef(vt), f->j, i32c(g, 0), "");
    j = LLVMBuildShuffleVector(f->bb, j, LLVMGetUndef(vt), zero, "");
    LLVMValueRef e = LLVMBuildInsertElement(f->bb, LLVMGetUndef(vt), end, i32c(g, 0), "");
    e = LLVMBuildShuffleVector(f->bb, e, LLVMGetUndef(vt), zero, "");
    f->mask = LLVMBuildICmp(f->bb, LLVMIntSLT, LLVMBuildAdd(f->bb, j, LLVMConstVector(iota, (unsigned)f->w), ""), e, "mask");
}

/* The arrays of the loop's sums over i, at the current columns: 0 (-inf for a maximum). */
static void mem_accs_start(lfn *f, const lower_loop *L)
{
    const dag *d = f->kc->d;
    for (int q = 0; q < L->n_nodes; q++) {
        int id = L->nodes[q];
        const dag_node *n = &d->node[id];
        if (!dag_op_is_reduction(n->op) || lower_is_batch_sum(f->kc->lk, id) || dag_ops[n->op].reduces != SP_POST) continue;
        int lanes = varies(f, n->space) ? f->w : 1;
        store_at(f, array(f, stored_array(f->kc, id)), n->space,
                 real_const(f->g, real_type(f->g, lanes), n->op == OP_MAX_POST ? -INFINITY : 0), 0);
    }
}

/* The columns [S, E) of the current row, LANES at a time (masked when
 * MASKED): the column loop LC's body, its sums over i adding into their
 * arrays (or with START only those arrays set to 0, -inf for a maximum),
 * then, when given, the row loop LR's body, its sums over j in registers. */
static void row_strips(lfn *f, const lower_loop *Lc, const lower_loop *Lr, LLVMValueRef s, LLVMValueRef e,
                       int lanes, int masked, int start)
{
    lloop J;
    f->w = lanes;
    f->j = loop_open(f, &J, s, e, lanes, lanes > 1 ? "jv" : "j");
    if (masked) set_mask(f, e);
    if (start) {
        mem_accs_start(f, Lc);
    } else {
        f->mem_acc = 1;
        loop_body(f, Lc, SP_POST);
        f->mem_acc = 0;
        if (Lr) loop_body(f, Lr, SP_PRE);
    }
    loop_close(f, &J);
    f->j = f->mask = NULL;
    f->w = 1;
}

/* Rows [RS, RE) outer, columns [CS, CE) inner, for the column loop LC and,
 * fused with it when given, the row loop LR.  LC's sums over i add into
 * their arrays, each column still in increasing i — the order, so the
 * bits, of a column at a time — and LR's sums over j keep their partial
 * sums per row; the matrix is read row by row (contiguous, and once for
 * both loops) instead of down its columns.  Without masks the full strips
 * of LANES come first, then the remaining columns one at a time. */
static void by_rows(lfn *f, const lower_loop *Lc, const lower_loop *Lr, LLVMValueRef cs, LLVMValueRef ce,
                    LLVMValueRef rs, LLVMValueRef re, int lanes, int masked)
{
    int tail = lanes > 1 && !masked;
    LLVMValueRef full = ce;
    if (tail) {
        LLVMValueRef n = LLVMBuildNSWSub(f->bb, ce, cs, "");
        full = LLVMBuildNSWAdd(f->bb, cs, LLVMBuildNSWMul(f->bb, LLVMBuildSDiv(f->bb, n, i64c(f->g, lanes), ""),
                                                           i64c(f->g, lanes), ""), "full");
    }
    for (int start = 1; start >= 0; start--) {
        lloop I;
        const lower_loop *R = start ? NULL : Lr;
        if (!start) f->i = loop_open(f, &I, rs, re, 1, "i");
        if (R) accs_open(f, R, SP_PRE);
        row_strips(f, Lc, R, cs, full, lanes, masked, start);
        if (tail) row_strips(f, Lc, R, full, ce, 1, 0, start);
        if (R) accs_close(f, R, SP_PRE);
        if (!start) { loop_close(f, &I); f->i = NULL; }
    }
}

/* Columns j in [START, n_pre) of the current row, LANES at a time. */
static LLVMValueRef post_row_columns(lfn *f, const lower_loop *L, LLVMValueRef start, int lanes)
{
    lloop J;
    LLVMValueRef end = f->size[SIZE_N_PRE];
    LLVMValueRef limit = lanes > 1 ? LLVMBuildNSWSub(f->bb, end, i64c(f->g, lanes - 1), "") : end;
    f->w = lanes;
    f->j = loop_open(f, &J, start, limit, lanes, lanes > 1 ? "jv" : "j");
    loop_body(f, L, SP_PRE);
    loop_close(f, &J);
    f->j = NULL;
    f->w = 1;
    return J.idx;
}

/* syn_chunk with masks: no scalar remainder loop, one copy of the body. */
static void syn_chunk_masked(lfn *f, const lower_loop *L, LLVMValueRef s, LLVMValueRef e, int lanes)
{
    if (L->par == SP_PRE) {   /* columns [s, e), LANES at a time, rows outer */
        by_rows(f, L, NULL, s, e, i64c(f->g, 0), f->size[SIZE_N_POST], lanes, 1);
        return;
    }
    lloop I, J;               /* rows [s, e), each over its columns LANES at a time */
    f->i = loop_open(f, &I, s, e, 1, "i");
    accs_open(f, L, SP_PRE);
    f->w = lanes;
    f->j = loop_open(f, &J, i64c(f->g, 0), f->size[SIZE_N_PRE], lanes, "jv");
    set_mask(f, f->size[SIZE_N_PRE]);
    loop_body(f, L, SP_PRE);
    loop_close(f, &J);
    f->j = f->mask = NULL;
    f->w = 1;
    accs_close(f, L, SP_PRE);
    loop_close(f, &I);
    f->i = NULL;
}

/* Columns a per-synapse loop runs at once: none when it cannot vectorise;
 * for a row loop (ROW given) with sums over j in registers, as many as
 * those sums have partials; else the target's vector width. */
static int strip_lanes(const lkern *kc, const lower_loop *row, int vec)
{
    int split = 0;
    for (int q = 0; row && q < row->n_nodes; q++)
        split |= !lower_is_batch_sum(kc->lk, row->nodes[q]) && lane_split(&kc->d->node[row->nodes[q]], SP_PRE);
    return !vec ? 1 : split ? lower_sum_lanes(kc->g->prec) : kc->g->lanes;
}

/* Two per-synapse loops of one level, LC parallel over columns (sums over
 * i) and LR over rows (sums over j), in one pass over the matrix, rows
 * [S, E): the same bits as the loops apart (by_rows); one thread runs it
 * (gen_fused_pair). */
static void fused_chunk(lfn *f, const lower_loop *Lc, const lower_loop *Lr, LLVMValueRef s, LLVMValueRef e)
{
    int lanes = strip_lanes(f->kc, Lr, 1);
    by_rows(f, Lc, Lr, i64c(f->g, 0), f->size[SIZE_N_PRE], s, e, lanes, lanes > 1 && f->g->masked);
}

/* The rows (par SP_POST) or columns (par SP_PRE) [S, E) of a per-synapse
 * loop nest: the body of a parallel region's chunk. */
static void syn_chunk(lfn *f, const lower_loop *L, LLVMValueRef s, LLVMValueRef e)
{
    int vec = can_vectorise(f->kc, L, L->par == SP_PRE ? SP_POST : SP_PRE);
    int lanes = strip_lanes(f->kc, L->par == SP_POST ? L : NULL, vec);
    if (lanes > 1 && f->g->masked) { syn_chunk_masked(f, L, s, e, lanes); return; }
    if (L->par == SP_PRE) {
        by_rows(f, L, NULL, s, e, i64c(f->g, 0), f->size[SIZE_N_POST], lanes, 0);
        return;
    }
    lloop I;
    f->i = loop_open(f, &I, s, e, 1, "i");
    accs_open(f, L, SP_PRE);
    LLVMValueRef rest = lanes > 1 ? post_row_columns(f, L, i64c(f->g, 0), lanes) : i64c(f->g, 0);
    post_row_columns(f, L, rest, 1);
    accs_close(f, L, SP_PRE);
    loop_close(f, &I);
    f->i = NULL;
}

/* Marks in USED the arrays that computing node ID's value reads (value_of). */
static void scan_value(const lkern *kc, int id, char *used)
{
    const dag_node *n = &kc->d->node[id];
    if (n->op == OP_INPUT) used[kc->input_arg[n->aux]] = 1;
    else if (n->op == OP_PARAM) used[kc->meta_arg] = 1;
    else if (n->op != OP_CONST && n->op != OP_SIZE && !lower_is_inline(kc->lk, id)) used[stored_array(kc, id)] = 1;
}

static void scan_nodes(const lkern *kc, const int *nodes, int n_nodes, char *used)
{
    for (int q = 0; q < n_nodes; q++) {
        int id = nodes[q];
        const dag_node *n = &kc->d->node[id];
        if (lower_is_batch_sum(kc->lk, id)) {
            int *blk, nb = lower_batch_block(kc->lk, id, &blk);
            scan_nodes(kc, blk, nb, used);
            scan_value(kc, n->arg[0], used);
            free(blk);
        } else {
            for (int a = 0; a < dag_ops[n->op].arity; a++) scan_value(kc, n->arg[a], used);
        }
        if (kc->lk->store[id] >= 0) used[stored_array(kc, id)] = 1;
    }
}

/* The outlined body of parallel loop L (with L2: the fused pair of row
 * loop L and column loop L2, chunked by L's rows):
 *   NAME.parK(data): chunk [s0, e0) of the thread as libgomp's static
 *   schedule cuts it (q = n / nt, t = n % nt; the first t threads take q+1),
 *   then NAME.parK.impl(sizes, b, s0, e0, arrays...). */
static LLVMValueRef outline_parallel(lkern *kc, const lower_loop *L, const lower_loop *L2)
{
    lmod *g = kc->g;
    char *used = calloc((size_t)kc->n_ptr + 1, 1);
    for (const lower_loop *X = L; X; X = X == L ? L2 : NULL) {
        scan_nodes(kc, X->nodes, X->n_nodes, used);
        for (int q = 0; q < X->n_outs; q++) {
            scan_value(kc, kc->k->out[X->outs[q]].node, used);
            used[kc->out_arg[X->outs[q]]] = 1;
        }
    }
    int n_used = 0;
    for (int p = 0; p < kc->n_ptr; p++) n_used += used[p];
    LLVMTypeRef *params = malloc((size_t)(7 + n_used) * sizeof *params);
    for (int k = 0; k < 7; k++) params[k] = g->t_i64;
    for (int k = 0; k < n_used; k++) params[7 + k] = g->t_realp;
    char name[160];
    int K = kc->n_par++;
    snprintf(name, sizeof name, "%s.par%d.impl", kc->k->name, K);
    LLVMTypeRef impl_ty = LLVMFunctionType(g->t_void, params, (unsigned)(7 + n_used), 0);
    LLVMValueRef impl = helper_fn(g, name, impl_ty);

    /* the impl: the loop nest over its chunk */
    lfn f;
    fn_open(&f, kc, impl);
    for (int s = 0; s < SIZE_COUNT; s++) f.size[s] = LLVMGetParam(impl, (unsigned)s);
    for (int p = 0, k = 7; p < kc->n_ptr; p++) {
        if (!used[p]) continue;
        add_attr(g, impl, (unsigned)k + 1, "noalias");
        f.ptr[p] = LLVMGetParam(impl, (unsigned)k++);
    }
    if (L->space & SP_SAMPLE) f.b = LLVMGetParam(impl, 4);
    if (L2) fused_chunk(&f, L2, L, LLVMGetParam(impl, 5), LLVMGetParam(impl, 6));   /* L: rows, L2: columns */
    else syn_chunk(&f, L, LLVMGetParam(impl, 5), LLVMGetParam(impl, 6));
    fn_close(&f);

    /* the body GOMP_parallel runs */
    snprintf(name, sizeof name, "%s.par%d", kc->k->name, K);
    LLVMValueRef body = LLVMAddFunction(g->m, name, g->t_body);
    LLVMSetLinkage(body, LLVMInternalLinkage);
    add_attr(g, body, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    mark_cold(g, body);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(g->ctx);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(g->ctx, body, "entry"));
    LLVMValueRef fr = LLVMBuildPointerCast(B, LLVMGetParam(body, 0), LLVMPointerType(kc->t_frame, 0), "frame");
    LLVMValueRef *args = malloc((size_t)(7 + n_used) * sizeof *args);
    for (int k = 0; k < 5; k++) {
        LLVMValueRef at = LLVMBuildStructGEP2(B, kc->t_frame, fr, (unsigned)k, "");
        args[k] = LLVMBuildLoad2(B, g->t_i64, at, k < SIZE_COUNT ? space_size_name(k) : "b");
    }
    LLVMValueRef nt = LLVMBuildSExt(B, LLVMBuildCall2(B, g->t_omp_int, declare(g, "omp_get_num_threads", g->t_omp_int),
                                                      NULL, 0, ""), g->t_i64, "nt");
    LLVMValueRef tid = LLVMBuildSExt(B, LLVMBuildCall2(B, g->t_omp_int, declare(g, "omp_get_thread_num", g->t_omp_int),
                                                       NULL, 0, ""), g->t_i64, "tid");
    LLVMValueRef n = args[L->par == SP_PRE ? SIZE_N_PRE : SIZE_N_POST];
    n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, n, i64c(g, 0), ""), n, i64c(g, 0), "n");
    LLVMValueRef q = LLVMBuildUDiv(B, n, nt, ""), t = LLVMBuildURem(B, n, nt, "");
    LLVMValueRef first = LLVMBuildICmp(B, LLVMIntULT, tid, t, "");
    q = LLVMBuildAdd(B, q, LLVMBuildZExt(B, first, g->t_i64, ""), "q");
    t = LLVMBuildSelect(B, first, i64c(g, 0), t, "t");
    args[5] = LLVMBuildAdd(B, LLVMBuildMul(B, q, tid, ""), t, "s0");
    args[6] = LLVMBuildAdd(B, args[5], q, "e0");
    for (int p = 0, k = 7; p < kc->n_ptr; p++) {
        if (!used[p]) continue;
        LLVMValueRef idx[3] = { i32c(g, 0), i32c(g, 5), i32c(g, p) };
        LLVMValueRef at = LLVMBuildInBoundsGEP2(B, kc->t_frame, fr, idx, 3, "");
        args[k++] = LLVMBuildLoad2(B, g->t_realp, at, "");
    }
    LLVMBuildCall2(B, impl_ty, impl, args, (unsigned)(7 + n_used), "");
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
    free(args);
    free(params);
    free(used);
    return body;
}

/* GOMP_parallel(BODY, frame, NTHREADS) — inside the loop over b when
 * PER_SAMPLE; the body finds b in the frame and takes its static chunk. */
static void run_parallel(lfn *f, LLVMValueRef body, int per_sample, LLVMValueRef nthreads)
{
    lmod *g = f->g;
    LLVMValueRef fr = f->frame;
    LLVMValueRef b_at = LLVMBuildStructGEP2(f->bb, f->kc->t_frame, fr, 4, "");
    lloop Lb;
    if (per_sample) f->b = loop_open(f, &Lb, i64c(g, 0), f->size[SIZE_BATCH], 1, "b");
    LLVMBuildStore(f->bb, f->b ? f->b : i64c(g, 0), b_at);
    LLVMValueRef args[4] = { body, LLVMBuildPointerCast(f->bb, fr, g->t_i8p, ""), nthreads, i32c(g, 0) };
    LLVMBuildCall2(f->bb, g->t_gomp, declare(g, "GOMP_parallel", g->t_gomp), args, 4, "");
    if (per_sample) { loop_close(f, &Lb); f->b = NULL; }
}

/* #pragma omp parallel for schedule(static) over loop L. */
static void gen_parallel(lfn *f, const lower_loop *L)
{
    lmod *g = f->g;
    /* the C's `if (n_post * n_pre >= 16384)`: small matrices are not worth
     * waking threads for (one thread: the caller alone, all rows or columns) */
    LLVMValueRef big = LLVMBuildICmp(f->bb, LLVMIntSGE, LLVMBuildNSWMul(f->bb, f->size[SIZE_N_POST], f->size[SIZE_N_PRE], ""),
                                     i64c(g, 16384), "");
    run_parallel(f, outline_parallel(f->kc, L, NULL), L->space & SP_SAMPLE,
                 LLVMBuildSelect(f->bb, big, i32c(g, 0), i32c(g, 1), ""));
}

/* Whether loops A and B (consecutive) can run as one pass over the matrix:
 * per-synapse loops of one level over the same samples, one parallel over
 * columns and one over rows, both vectorisable.  (Loops of one level never
 * read each other's results; per-synapse loops store nothing.) */
static int fusable(const lkern *kc, const lower_loop *A, const lower_loop *B)
{
    if (!is_syn(A->space) || !is_syn(B->space) || A->level != B->level) return 0;
    if ((A->space & SP_SAMPLE) != (B->space & SP_SAMPLE) || A->par == B->par) return 0;
    const lower_loop *C = A->par == SP_PRE ? A : B, *R = A->par == SP_PRE ? B : A;
    const char *off = getenv("PLASTCC_NO_FUSE");
    if (off && *off && strcmp(off, "0")) return 0;
    return kc->g->lanes >= 2 && can_vectorise(kc, C, SP_POST) && can_vectorise(kc, R, SP_PRE);
}

/* A fusable pair: on one thread (omp_get_max_threads() == 1, or inside a
 * parallel region, where a meta-batch runs its tasks) the fused pass, else
 * each loop in parallel as usual; the same bits either way.
 * PLASTCC_NO_FUSE keeps the loops apart (for measuring). */
static void gen_fused_pair(lfn *f, const lower_loop *A, const lower_loop *B)
{
    lmod *g = f->g;
    lkern *kc = f->kc;
    const lower_loop *C = A->par == SP_PRE ? A : B, *R = A->par == SP_PRE ? B : A;
    init_reductions(f, A, A->par == SP_PRE ? SP_POST : SP_PRE);
    init_reductions(f, B, B->par == SP_PRE ? SP_POST : SP_PRE);
    LLVMValueRef body = outline_parallel(kc, R, C);
    LLVMValueRef nt = LLVMBuildCall2(f->bb, g->t_omp_int, declare(g, "omp_get_max_threads", g->t_omp_int), NULL, 0, "");
    LLVMValueRef in_par = LLVMBuildCall2(f->bb, g->t_omp_int, declare(g, "omp_in_parallel", g->t_omp_int), NULL, 0, "");
    LLVMValueRef serial = LLVMBuildOr(f->bb, LLVMBuildICmp(f->bb, LLVMIntEQ, nt, i32c(g, 1), ""),
                                      LLVMBuildICmp(f->bb, LLVMIntNE, in_par, i32c(g, 0), ""), "serial");
    LLVMBasicBlockRef one = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "fused");
    LLVMBasicBlockRef many = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "apart");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->ctx, f->fn, "joined");
    LLVMBuildCondBr(f->bb, serial, one, many);
    LLVMPositionBuilderAtEnd(f->bb, one);
    forget(f);
    run_parallel(f, body, R->space & SP_SAMPLE, i32c(g, 1));   /* a team of one: its chunk is every row */
    LLVMBuildBr(f->bb, join);
    LLVMPositionBuilderAtEnd(f->bb, many);
    forget(f);
    gen_parallel(f, A);
    gen_parallel(f, B);
    LLVMBuildBr(f->bb, join);
    LLVMPositionBuilderAtEnd(f->bb, join);
    forget(f);
}

/* The arrays a serial loop nest L (or final output O) uses, loaded
 * from the frame once before it; NULL elsewhere (they are parameters). */
static char *nest_arrays(lfn *f, const lower_loop *L, int o)
{
    lkern *kc = f->kc;
    if (!f->frame) return NULL;
    char *used = calloc((size_t)kc->n_ptr + 1, 1);
    if (L) scan_nodes(kc, L->nodes, L->n_nodes, used);
    if (o >= 0) { scan_value(kc, kc->k->out[o].node, used); used[kc->out_arg[o]] = 1; }
    for (int p = 0; p < kc->n_ptr; p++) {
        if (!used[p]) continue;
        LLVMValueRef idx[3] = { i32c(f->g, 0), i32c(f->g, 5), i32c(f->g, p) };
        LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, kc->t_frame, f->frame, idx, 3, "");
        f->ptr[p] = LLVMBuildLoad2(f->bb, f->g->t_realp, at, "");
    }
    return used;
}

static void nest_arrays_done(lfn *f, char *used)
{
    for (int p = 0; used && p < f->kc->n_ptr; p++) if (used[p]) f->ptr[p] = NULL;
    free(used);
}

/* Serial loop nests run in functions of their own, NAME.nestK(frame), a
 * few consecutive nests each: cold code, and a bounded number of loops per
 * function keeps the code generator's loop analyses (scalar evolution
 * relates each loop to those before it) from growing with the square of
 * the kernel, while few functions keep the per-function costs down. */
enum { NESTS_PER_FUNCTION = 8 };

typedef struct nest_group {
    lfn f;                      /* the open function */
    LLVMValueRef fn;            /* NULL: none open */
    int n;                      /* nests in it */
} nest_group;

/* The group to generate the next nest in (NAME's frame F->frame, sizes
 * from it), opening a new function when none is open or the open one is full. */
static void nest_flush(lfn *outer, nest_group *grp);

static lfn *nest_next(lfn *outer, nest_group *grp)
{
    if (grp->fn && grp->n >= NESTS_PER_FUNCTION) nest_flush(outer, grp);
    if (!grp->fn) {
        lkern *kc = outer->kc;
        lmod *g = outer->g;
        char name[160];
        snprintf(name, sizeof name, "%s.nest%d", kc->k->name, kc->n_nest++);
        grp->fn = helper_fn(g, name, g->t_body);
        mark_cold(g, grp->fn);
        lfn *nf = &grp->f;
        fn_open(nf, kc, grp->fn);
        nf->frame = LLVMBuildPointerCast(nf->bb, LLVMGetParam(grp->fn, 0), LLVMPointerType(kc->t_frame, 0), "frame");
        for (int s = 0; s < SIZE_COUNT; s++)
            nf->size[s] = LLVMBuildLoad2(nf->bb, g->t_i64,
                                         LLVMBuildStructGEP2(nf->bb, kc->t_frame, nf->frame, (unsigned)s, ""), space_size_name(s));
        grp->n = 0;
    }
    grp->n++;
    return &grp->f;
}

/* Closes the open group's function and calls it from NAME, here. */
static void nest_flush(lfn *outer, nest_group *grp)
{
    if (!grp->fn) return;
    fn_close(&grp->f);
    LLVMValueRef arg = LLVMBuildPointerCast(outer->bb, outer->frame, outer->g->t_i8p, "");
    LLVMBuildCall2(outer->bb, outer->g->t_body, grp->fn, &arg, 1, "");
    grp->fn = NULL;
}

static void gen_loop(lfn *outer, nest_group *grp, const lower_loop *L)
{
    int syn = is_syn(L->space);
    int inner = syn ? (L->par == SP_PRE ? SP_POST : SP_PRE) : (L->space & SP_SYN);
    if (syn) {
        nest_flush(outer, grp);   /* the nests before run first */
        init_reductions(outer, L, inner);
        gen_parallel(outer, L);
        return;
    }
    lfn *f = nest_next(outer, grp);
    char *used = nest_arrays(f, L, -1);
    init_reductions(f, L, inner);
    lloop Lb, Lv;
    if (L->space & SP_SAMPLE) f->b = loop_open(f, &Lb, i64c(f->g, 0), f->size[SIZE_BATCH], 1, "b");
    if (L->space & SP_SYN) {
        int pre = (L->space & SP_PRE) != 0;
        accs_open(f, L, inner);
        LLVMValueRef v = loop_open(f, &Lv, i64c(f->g, 0), f->size[pre ? SIZE_N_PRE : SIZE_N_POST], 1, pre ? "j" : "i");
        if (pre) f->j = v; else f->i = v;
        loop_body(f, L, inner);
        loop_close(f, &Lv);
        f->i = f->j = NULL;
        accs_close(f, L, inner);
    } else {
        loop_body(f, L, -1);
    }
    if (L->space & SP_SAMPLE) { loop_close(f, &Lb); f->b = NULL; }
    nest_arrays_done(f, used);
}

/* An output that is not per-synapse: a loop over its space (emit_c's emit_final). */
static void gen_final(lfn *outer, nest_group *grp, int o_index)
{
    const kern_out *o = &outer->kc->k->out[o_index];
    lfn *f = nest_next(outer, grp);
    static const struct { int bit, which; const char *name; } dims[] = {
        { SP_SAMPLE, SIZE_BATCH, "b" }, { SP_POST, SIZE_N_POST, "i" }, { SP_PRE, SIZE_N_PRE, "j" } };
    lloop L[3];
    LLVMValueRef *var[3] = { &f->b, &f->i, &f->j };
    char *used = nest_arrays(f, NULL, o_index);
    for (int k = 0; k < 3; k++)
        if (o->space & dims[k].bit) *var[k] = loop_open(f, &L[k], i64c(f->g, 0), f->size[dims[k].which], 1, dims[k].name);
    store_at(f, array(f, f->kc->out_arg[o_index]), o->space, value_of(f, o->node), o->accumulate);
    for (int k = 2; k >= 0; k--)
        if (o->space & dims[k].bit) { loop_close(f, &L[k]); *var[k] = NULL; }
    nest_arrays_done(f, used);
}

/* ---- one kernel ---- */

static void kern_setup(lkern *kc, lmod *g, const lower_kernel *lk)
{
    memset(kc, 0, sizeof *kc);
    kc->g = g;
    kc->lk = lk;
    kc->k = lk->k;
    kc->d = lk->k->d;
    kc->n_ptr = kc->k->n_arg + lk->n_store;
    kc->input_arg = malloc((size_t)(kc->d->n_input + 1) * sizeof *kc->input_arg);
    for (int s = 0; s < kc->d->n_input; s++) kc->input_arg[s] = -1;
    kc->out_arg = malloc((size_t)(kc->k->n_out + 1) * sizeof *kc->out_arg);
    kc->meta_arg = kc->adj_meta_arg = -1;
    for (int q = 0; q < kc->k->n_arg; q++) {
        const kern_arg *a = &kc->k->arg[q];
        switch (a->role) {
        case PLAST_ROLE_INPUT: kc->input_arg[a->slot] = q; break;
        case PLAST_ROLE_META: kc->meta_arg = q; break;
        case PLAST_ROLE_OUTPUT: case PLAST_ROLE_ACCUMULATE: kc->out_arg[a->slot] = q; break;
        case PLAST_ROLE_ADJ_META: kc->adj_meta_arg = q; break;
        }
    }
    LLVMTypeRef fields[6] = { g->t_i64, g->t_i64, g->t_i64, g->t_i64, g->t_i64,
                              LLVMArrayType(g->t_realp, (unsigned)kc->n_ptr) };
    kc->t_frame = LLVMStructTypeInContext(g->ctx, fields, 6, 0);
}

static void kern_cleanup(lkern *kc)
{
    free(kc->input_arg);
    free(kc->out_arg);
}

/* The fields of *a: n_pre, n_post, batch, steps. */
static void load_sizes(lmod *g, LLVMBuilderRef B, LLVMValueRef a, LLVMValueRef *size)
{
    for (int s = 0; s < SIZE_COUNT; s++)
        size[s] = LLVMBuildLoad2(B, g->t_i64, LLVMBuildStructGEP2(B, g->t_kargs, a, (unsigned)s, ""), space_size_name(s));
}

/* The scratch partition, in node order, as a loop over a constant table of
 * the stored values' spaces (kernels have up to thousands of them):
 *   size[s] = elements of a space-s array;
 *   for (k = 0; k < n_store; k++) { frame->p[n_arg + k] = scratch; scratch += size[space[k]]; } */
static void gen_partition(lfn *f, LLVMValueRef fr, LLVMValueRef scratch)
{
    lmod *g = f->g;
    const lkern *kc = f->kc;
    int n = kc->lk->n_store;
    LLVMValueRef *sp = malloc((size_t)n * sizeof *sp), sizes[8];
    for (int id = 0, k = 0; id < kc->d->n; id++)
        if (kc->lk->store[id] >= 0) sp[k++] = LLVMConstInt(g->t_i8, (unsigned)(kc->d->node[id].space & 7), 0);
    char name[160];
    snprintf(name, sizeof name, "%s.spaces", kc->k->name);
    LLVMValueRef table = LLVMConstArray(g->t_i8, sp, (unsigned)n);
    LLVMValueRef gv = LLVMAddGlobal(g->m, LLVMTypeOf(table), name);
    LLVMSetInitializer(gv, table);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    free(sp);
    LLVMTypeRef t8 = LLVMArrayType(g->t_i64, 8);
    LLVMValueRef size = new_alloca(f, t8, "size");
    for (int s = 0; s < 8; s++) {
        LLVMValueRef idx[2] = { i32c(g, 0), i32c(g, s) };
        sizes[s] = size_of(f, s);
        LLVMBuildStore(f->bb, sizes[s], LLVMBuildInBoundsGEP2(f->bb, t8, size, idx, 2, ""));
    }
    LLVMValueRef cur = new_alloca(f, g->t_realp, "at");
    LLVMBuildStore(f->bb, scratch, cur);
    lloop K;
    LLVMValueRef k = loop_open(f, &K, i64c(g, 0), i64c(g, n), 1, "k");
    LLVMValueRef ti[2] = { i64c(g, 0), k };
    LLVMValueRef s = LLVMBuildLoad2(f->bb, g->t_i8, LLVMBuildInBoundsGEP2(f->bb, LLVMTypeOf(table), gv, ti, 2, ""), "");
    LLVMValueRef si[2] = { i64c(g, 0), LLVMBuildZExt(f->bb, s, g->t_i64, "") };
    LLVMValueRef len = LLVMBuildLoad2(f->bb, g->t_i64, LLVMBuildInBoundsGEP2(f->bb, t8, size, si, 2, ""), "");
    LLVMValueRef p = LLVMBuildLoad2(f->bb, g->t_realp, cur, "");
    LLVMValueRef slot = LLVMBuildNSWAdd(f->bb, k, i64c(g, kc->k->n_arg), "");
    LLVMValueRef fi[3] = { i64c(g, 0), i32c(g, 5), slot };
    LLVMBuildStore(f->bb, p, LLVMBuildInBoundsGEP2(f->bb, kc->t_frame, fr, fi, 3, ""));
    LLVMBuildStore(f->bb, LLVMBuildInBoundsGEP2(f->bb, g->t_real, p, &len, 1, ""), cur);
    loop_close(f, &K);
}

/* NAME.frame(a, frame): the sizes, and the arrays — in_X, out_X, meta from
 * a->arg; real *vN = scratch; scratch += size — in the frame.  A function
 * of its own, so that the kernel reads its arrays from memory: a chain of
 * thousands of pointer increments is costly for the loop analyses of the
 * code generator (scalar evolution). */
static LLVMValueRef gen_frame_fn(lkern *kc)
{
    lmod *g = kc->g;
    const kern *k = kc->k;
    char name[160];
    snprintf(name, sizeof name, "%s.frame", k->name);
    LLVMTypeRef params[2] = { g->t_kargsp, LLVMPointerType(kc->t_frame, 0) };
    LLVMValueRef fn = helper_fn(g, name, LLVMFunctionType(g->t_void, params, 2, 0));
    mark_cold(g, fn);
    lfn f;
    fn_open(&f, kc, fn);
    LLVMValueRef a = LLVMGetParam(fn, 0), fr = LLVMGetParam(fn, 1);
    LLVMSetValueName2(a, "a", 1);
    LLVMSetValueName2(fr, "frame", 5);
    load_sizes(g, f.bb, a, f.size);
    for (int s = 0; s < SIZE_COUNT; s++) LLVMBuildStore(f.bb, f.size[s], LLVMBuildStructGEP2(f.bb, kc->t_frame, fr, (unsigned)s, ""));
    LLVMValueRef argv = LLVMBuildLoad2(f.bb, g->t_i8pp, LLVMBuildStructGEP2(f.bb, g->t_kargs, a, KARGS_ARG, ""), "arg");
    LLVMValueRef scratch = LLVMBuildLoad2(f.bb, g->t_i8p, LLVMBuildStructGEP2(f.bb, g->t_kargs, a, KARGS_SCRATCH, ""), "scratch");
    scratch = LLVMBuildPointerCast(f.bb, scratch, g->t_realp, "");
    for (int q = 0; q < k->n_arg; q++) {
        LLVMValueRef idx = i64c(g, q);
        LLVMValueRef ptr = LLVMBuildLoad2(f.bb, g->t_i8p, LLVMBuildInBoundsGEP2(f.bb, g->t_i8p, argv, &idx, 1, ""), "");
        ptr = LLVMBuildPointerCast(f.bb, ptr, g->t_realp, "");
        LLVMValueRef at[3] = { i32c(g, 0), i32c(g, 5), i32c(g, q) };
        LLVMBuildStore(f.bb, ptr, LLVMBuildInBoundsGEP2(f.bb, kc->t_frame, fr, at, 3, ""));
    }
    if (kc->lk->n_store) gen_partition(&f, fr, scratch);
    fn_close(&f);
    return fn;
}

/* void NAME(const plast_kargs *a): zeroes, the loop nests in order (the
 * per-synapse ones through GOMP_parallel), final outputs, adj_meta. */
static LLVMValueRef gen_run(lkern *kc, LLVMValueRef frame_fn)
{
    lmod *g = kc->g;
    const kern *k = kc->k;
    const lower_kernel *lk = kc->lk;
    LLVMValueRef fn = LLVMAddFunction(g->m, k->name, g->t_run);
    add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    mark_cold(g, fn);
    lfn f;
    fn_open(&f, kc, fn);
    LLVMValueRef a = LLVMGetParam(fn, 0);
    LLVMSetValueName2(a, "a", 1);
    load_sizes(g, f.bb, a, f.size);
    f.frame = new_alloca(&f, kc->t_frame, "frame");
    LLVMValueRef fargs[2] = { a, f.frame };
    LLVMBuildCall2(f.ab, LLVMGlobalGetValueType(frame_fn), frame_fn, fargs, 2, "");
    for (int o = 0; o < k->n_out; o++) {   /* identically zero */
        const kern_out *ko = &k->out[o];
        if (ko->node >= 0 || ko->accumulate) continue;
        LLVMValueRef bytes = LLVMBuildNSWMul(f.bb, size_of(&f, ko->space), i64c(g, g->real_bytes), "");
        LLVMBuildMemSet(f.bb, array(&f, kc->out_arg[o]), LLVMConstInt(g->t_i8, 0, 0), bytes, (unsigned)g->real_bytes);
    }
    nest_group grp = { .fn = NULL };
    for (int l = 0; l < lk->n_loops && !g->failed; l++) {
        if (l + 1 < lk->n_loops && fusable(kc, &lk->loops[l], &lk->loops[l + 1])) {
            nest_flush(&f, &grp);   /* the nests before run first */
            gen_fused_pair(&f, &lk->loops[l], &lk->loops[l + 1]);
            l++;
            continue;
        }
        gen_loop(&f, &grp, &lk->loops[l]);
    }
    for (int q = 0; q < lk->n_final && !g->failed; q++) gen_final(&f, &grp, lk->final_outs[q]);
    nest_flush(&f, &grp);
    for (int m = 0; k->meta_adj && m < k->n_meta && !g->failed; m++) {   /* adj_meta[m] += ... */
        if (k->meta_adj[m] < 0) continue;
        LLVMValueRef x = value_of(&f, k->meta_adj[m]);
        LLVMValueRef idx = i64c(g, m);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(f.bb, g->t_real, array(&f, kc->adj_meta_arg), &idx, 1, "");
        LLVMBuildStore(f.bb, LLVMBuildFAdd(f.bb, LLVMBuildLoad2(f.bb, g->t_real, at, ""), x, ""), at);
    }
    fn_close(&f);
    return fn;
}

/* int64_t NAME_scratch(const plast_kargs *a): bytes of the stored values. */
static LLVMValueRef gen_scratch(lkern *kc)
{
    lmod *g = kc->g;
    char name[160];
    snprintf(name, sizeof name, "%s_scratch", kc->k->name);
    LLVMValueRef fn = LLVMAddFunction(g->m, name, g->t_scratch);
    add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    mark_cold(g, fn);
    lfn f;
    fn_open(&f, kc, fn);
    load_sizes(g, f.bb, LLVMGetParam(fn, 0), f.size);
    int count[8] = { 0 };   /* n = sum of the stored values' sizes, grouped by space */
    for (int id = 0; id < kc->d->n; id++)
        if (kc->lk->store[id] >= 0) count[kc->d->node[id].space & 7]++;
    LLVMValueRef n = i64c(g, 0);
    for (int sp = 0; sp < 8; sp++)
        if (count[sp]) n = LLVMBuildNSWAdd(f.bb, n, LLVMBuildNSWMul(f.bb, i64c(g, count[sp]), size_of(&f, sp), ""), "");
    LLVMBuildRet(f.bb, LLVMBuildNSWMul(f.bb, n, i64c(g, g->real_bytes), "bytes"));
    fn_end(&f);
    return fn;
}

/* const plast_kdesc NAME_desc = { "NAME", NAME, NAME_scratch, n_arg, NAME_args, n_meta }; */
static void gen_descriptor(lkern *kc, LLVMValueRef run, LLVMValueRef scratch)
{
    lmod *g = kc->g;
    const kern *k = kc->k;
    LLVMValueRef *rows = malloc((size_t)(k->n_arg + 1) * sizeof *rows);
    for (int q = 0; q < k->n_arg; q++) {
        const kern_arg *a = &k->arg[q];
        LLVMValueRef f[3] = { cstring(g, a->name), i32c(g, a->space), i32c(g, a->role) };
        rows[q] = LLVMConstNamedStruct(g->t_argdesc, f, 3);
    }
    char name[160];
    snprintf(name, sizeof name, "%s_args", k->name);
    LLVMValueRef table = LLVMConstArray(g->t_argdesc, rows, (unsigned)k->n_arg);
    LLVMValueRef args = LLVMAddGlobal(g->m, LLVMTypeOf(table), name);
    LLVMSetInitializer(args, table);
    LLVMSetGlobalConstant(args, 1);
    LLVMSetLinkage(args, LLVMInternalLinkage);
    LLVMValueRef f[6] = { cstring(g, k->name), run, scratch, i32c(g, k->n_arg),
                          LLVMConstPointerCast(args, LLVMPointerType(g->t_argdesc, 0)), i32c(g, k->n_meta) };
    snprintf(name, sizeof name, "%s_desc", k->name);
    LLVMValueRef desc = LLVMAddGlobal(g->m, g->t_kdesc, name);
    LLVMSetInitializer(desc, LLVMConstNamedStruct(g->t_kdesc, f, 6));
    LLVMSetGlobalConstant(desc, 1);
    free(rows);
}

static void gen_kernel(lmod *g, const lower_kernel *lk)
{
    lkern kc;
    kern_setup(&kc, g, lk);
    LLVMValueRef scratch = gen_scratch(&kc);
    LLVMValueRef run = gen_run(&kc, gen_frame_fn(&kc));
    gen_descriptor(&kc, run, scratch);
    kern_cleanup(&kc);
}

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
    make_types(&g, td);
    LLVMDisposeTargetData(td);
    g.lanes = vector_lanes(tm, g.real_bytes);
    g.masked = use_masks(tm);
    for (int k = 0; k < n && !g.failed; k++) gen_kernel(&g, ks[k]);
    char *msg = NULL;
    if (!g.failed && LLVMVerifyModule(g.m, LLVMReturnStatusAction, &msg)) {
        snprintf(err, errlen, "the generated LLVM IR does not verify: %.400s", msg ? msg : "");
        g.failed = 1;
    }
    if (msg) LLVMDisposeMessage(msg);
    if (g.failed) { LLVMDisposeModule(g.m); return NULL; }
    return g.m;
}

/* The IR passes the generated code needs: allocas to registers (sroa),
 * common loads and index arithmetic (early-cse, gvn), rotated loops so that
 * licm can hoist what does not vary in them, and clean-ups.  The
 * default<O3> pipeline gives code no faster (the vectors are explicit) but
 * costs 5 times as long on the pool rule and 70 times as long on HAT, whose
 * per-synapse loop bodies have thousands of values; PLASTCC_LLVM_PASSES
 * selects another pipeline, e.g. "default<O3>". */
static const char default_passes[] =
    "function(sroa,early-cse<memssa>,simplifycfg,instcombine,loop(loop-rotate),loop-mssa(licm),gvn,instcombine,"
    "simplifycfg)";

/* Cold functions become optnone (and so noinline), before the passes. */
static void cold_to_optnone(LLVMModuleRef m)
{
    LLVMContextRef c = LLVMGetModuleContext(m);
    unsigned optnone = LLVMGetEnumAttributeKindForName("optnone", 7);
    unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn)) {
        if (LLVMIsDeclaration(fn) ||
            !LLVMGetStringAttributeAtIndex(fn, (unsigned)LLVMAttributeFunctionIndex, cold_attr, sizeof cold_attr - 1))
            continue;
        LLVMAddAttributeAtIndex(fn, (unsigned)LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, optnone, 0));
        LLVMAddAttributeAtIndex(fn, (unsigned)LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, noinline, 0));
    }
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
    const char *passes = getenv("PLASTCC_LLVM_PASSES");
    LLVMErrorRef e = LLVMRunPasses(m, passes && *passes ? passes : default_passes, tm, opts);
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
