/* llgen_ir — the LLVM types of the kernel ABI, constants, functions, blocks,
 * loops, and the values of nodes: arrays, elements, vectors (see llgen_impl.h). */
#include "config.h"
#include "llgen_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lg_fail(lmod *g, const char *fmt, ...)
{
    if (g->failed++) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, g->errlen, fmt, ap);
    va_end(ap);
}


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

static void abi_struct(lmod *g, LLVMTargetDataRef td, LLVMTypeRef t, const abi_field *f, int n, size_t size)
{
    LLVMTypeRef types[8];
    for (int k = 0; k < n; k++) types[k] = f[k].type;
    LLVMStructSetBody(t, types, (unsigned)n, 0);
    for (int k = 0; k < n; k++)
        if (LLVMOffsetOfElement(td, t, (unsigned)k) != f[k].offset)
            lg_fail(g, "internal error: field %d of %s lies at byte %llu in LLVM, %zu in plast.h", k,
                 LLVMGetStructName(t), (unsigned long long)LLVMOffsetOfElement(td, t, (unsigned)k), f[k].offset);
    if (LLVMABISizeOfType(td, t) != size)
        lg_fail(g, "internal error: %s has %llu bytes in LLVM, %zu in plast.h", LLVMGetStructName(t),
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
        ABI_FIELD(g, plast_kdesc, n_arg), ABI_FIELD(g, plast_kdesc, arg), ABI_FIELD(g, plast_kdesc, n_meta),
        ABI_FIELD(g, plast_kdesc, seed_in_place), ABI_FIELD(g, plast_kdesc, next_in_place) };
    abi_struct(g, td, g->t_kdesc, kdesc, 8, sizeof(plast_kdesc));
}


void lg_make_types(lmod *g, LLVMTargetDataRef td)
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

void lg_add_attr(lmod *g, LLVMValueRef fn, unsigned idx, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->ctx, kind, 0));
}

/* Cold code (the serial part of a kernel, the wrappers) is compiled with the
 * least effort: llgen_optimize makes it optnone, so that the IR passes,
 * instruction selection and the machine passes spend their time on the
 * per-synapse loops (on the pool rule this takes a quarter off the JIT's
 * latency and under 5% off the kernels' speed). */
void lg_mark_cold(lmod *g, LLVMValueRef fn)
{
    LLVMAddAttributeAtIndex(fn, (unsigned)LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(g->ctx, LG_COLD_ATTR, sizeof LG_COLD_ATTR - 1, "", 0));
}

/* The function NAME of type TY, declared on first use. */
LLVMValueRef lg_declare(lmod *g, const char *name, LLVMTypeRef ty)
{
    LLVMValueRef fn = LLVMGetNamedFunction(g->m, name);
    if (!fn) {
        fn = LLVMAddFunction(g->m, name, ty);
        lg_add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    }
    return fn;
}

LLVMValueRef lg_i64c(lmod *g, long long v) { return LLVMConstInt(g->t_i64, (unsigned long long)v, 1); }
LLVMValueRef lg_i32c(lmod *g, int v) { return LLVMConstInt(g->t_i32, (unsigned long long)v, 1); }

LLVMTypeRef lg_real_type(lmod *g, int lanes)
{
    return lanes > 1 ? LLVMVectorType(g->t_real, (unsigned)lanes) : g->t_real;
}
int lg_lanes_of(LLVMValueRef v)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? (int)LLVMGetVectorSize(t) : 1;
}

/* The constant X of type TY (a real or a vector of reals). */
LLVMValueRef lg_real_const(lmod *g, LLVMTypeRef ty, double x)
{
    LLVMValueRef s = LLVMConstReal(g->t_real, x);
    if (LLVMGetTypeKind(ty) != LLVMVectorTypeKind) return s;
    unsigned n = LLVMGetVectorSize(ty);
    LLVMValueRef e[64];
    for (unsigned k = 0; k < n && k < 64; k++) e[k] = s;
    return LLVMConstVector(e, n);
}

/* A private constant C string. */
LLVMValueRef lg_cstring(lmod *g, const char *s)
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

void lg_fn_open(lfn *f, lkern *kc, LLVMValueRef fn)
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
void lg_forget(lfn *f)
{
    memset(f->memo, 0, (size_t)(f->kc->d->n + 1) * sizeof *f->memo);
    memset(f->index_memo, 0, sizeof f->index_memo);
    memset(f->frame_memo, 0, (size_t)(f->kc->n_ptr + 1) * sizeof *f->frame_memo);
}

/* Ends the function (its code has returned): joins the entry block to the code. */
void lg_fn_end(lfn *f)
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

void lg_fn_close(lfn *f)
{
    LLVMBuildRetVoid(f->bb);
    lg_fn_end(f);
}

/* An internal helper function whose noalias parameters alias analysis
 * should see: never inlined. */
LLVMValueRef lg_helper_fn(lmod *g, const char *name, LLVMTypeRef ty)
{
    LLVMValueRef fn = LLVMAddFunction(g->m, name, ty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    lg_add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "nounwind");
    lg_add_attr(g, fn, (unsigned)LLVMAttributeFunctionIndex, "noinline");
    return fn;
}

/* for (idx = START; idx < LIMIT; idx += STEP): opens the body. */
LLVMValueRef lg_loop_open(lfn *f, lloop *L, LLVMValueRef start, LLVMValueRef limit, int step, const char *name)
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
    lg_forget(f);
    return L->idx;
}

/* Closes the loop; code continues after it, where L->idx is the first
 * index not run. */
void lg_loop_close(lfn *f, lloop *L)
{
    LLVMValueRef next = LLVMBuildNSWAdd(f->bb, L->idx, lg_i64c(f->g, L->step), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(f->bb);
    LLVMBuildBr(f->bb, L->head);
    LLVMAddIncoming(L->idx, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(f->bb, L->exit);
    lg_forget(f);
}

LLVMValueRef lg_new_alloca(lfn *f, LLVMTypeRef ty, const char *name)
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
    LLVMValueRef zero = lg_i64c(g, 0);
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
LLVMValueRef lg_size_of(lfn *f, int space)
{
    LLVMValueRef n = NULL;
    static const struct { int bit, which; } dims[] = {
        { SP_SAMPLE, SIZE_BATCH }, { SP_POST, SIZE_N_POST }, { SP_PRE, SIZE_N_PRE } };
    for (int k = 0; k < 3; k++) {
        if (!(space & dims[k].bit)) continue;
        LLVMValueRef s = f->size[dims[k].which];
        n = n ? LLVMBuildNSWMul(f->bb, n, s, "") : s;
    }
    return n ? n : lg_i64c(f->g, 1);
}

LLVMValueRef lg_array(lfn *f, int p)
{
    if (p >= 0 && p < f->kc->n_ptr && !f->ptr[p] && f->frame) {
        /* from the frame where it is used, so that no pointer lives
         * across the whole function (register allocation time) */
        if (!f->frame_memo[p]) {
            LLVMValueRef idx[3] = { lg_i32c(f->g, 0), lg_i32c(f->g, 5), lg_i32c(f->g, p) };
            LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->kc->t_frame, f->frame, idx, 3, "");
            f->frame_memo[p] = LLVMBuildLoad2(f->bb, f->g->t_realp, at, "");
        }
        return f->frame_memo[p];
    }
    if (p < 0 || p >= f->kc->n_ptr || !f->ptr[p]) {
        lg_fail(f->g, "internal error: kernel %s uses array %d where it is not available", f->kc->k->name, p);
        return LLVMGetUndef(f->g->t_realp);
    }
    return f->ptr[p];
}

int lg_stored_array(const lkern *kc, int id) { return kc->k->n_arg + kc->lk->store[id]; }

int lg_grad_array(const lkern *kc, int id)
{
    for (int g = 0; g < kc->k->n_mlp_grads; g++)
        if (kc->k->mlp_grads[g] == id) return kc->k->n_arg + kc->lk->n_store + g;
    return -1;
}

/* Whether a SPACE value has lanes in the current code. */
int lg_varies(const lfn *f, int space) { return f->w > 1 && (space & (f->vec_post ? SP_POST : SP_PRE)); }

/* The address of element [index(SPACE)] of array P, as a pointer to LANES reals. */
static LLVMValueRef element(lfn *f, LLVMValueRef p, int space, int lanes)
{
    LLVMValueRef idx = index_of(f, space);
    LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, p, &idx, 1, "");
    if (lanes == 1) return at;
    return LLVMBuildPointerCast(f->bb, at, LLVMPointerType(lg_real_type(f->g, lanes), 0), "");
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
    LLVMTypeRef vt = lg_real_type(f->g, lanes);
    if (lanes > 1 && f->mask) {
        LLVMTypeRef fty;
        LLVMValueRef fn = masked_intrinsic(f, "llvm.masked.load", vt, &fty);
        LLVMValueRef args[4] = { at, lg_i32c(f->g, f->g->real_bytes), f->mask, LLVMConstNull(vt) };
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
        LLVMValueRef fn = masked_intrinsic(f, "llvm.masked.store", lg_real_type(f->g, lanes), &fty);
        LLVMValueRef args[4] = { v, at, lg_i32c(f->g, f->g->real_bytes), f->mask };
        LLVMBuildCall2(f->bb, fty, fn, args, 4, "");
        return;
    }
    LLVMSetAlignment(LLVMBuildStore(f->bb, v, at), (unsigned)f->g->real_bytes);
}

LLVMValueRef lg_load_at(lfn *f, LLVMValueRef p, int space)
{
    int lanes = lg_varies(f, space) ? f->w : 1;
    return vload(f, element(f, p, space, lanes), lanes);
}

LLVMValueRef lg_load_index(lfn *f, LLVMValueRef p, LLVMValueRef idx)
{
    LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, p, &idx, 1, "");
    if (f->w > 1) at = LLVMBuildPointerCast(f->bb, at, LLVMPointerType(lg_real_type(f->g, f->w), 0), "");
    return vload(f, at, f->w);
}

void lg_store_index(lfn *f, LLVMValueRef p, LLVMValueRef idx, LLVMValueRef v)
{
    LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, p, &idx, 1, "");
    if (f->w > 1) at = LLVMBuildPointerCast(f->bb, at, LLVMPointerType(lg_real_type(f->g, f->w), 0), "");
    vstore(f, lg_widen(f, v, f->w), at, f->w);
}

/* Lanes of V (a scalar or a vector) as a vector of LANES (splat). */
LLVMValueRef lg_widen(lfn *f, LLVMValueRef v, int lanes)
{
    if (lanes <= 1 || lg_lanes_of(v) == lanes) return v;
    LLVMTypeRef vt = lg_real_type(f->g, lanes);
    LLVMValueRef one = LLVMBuildInsertElement(f->bb, LLVMGetUndef(vt), v, lg_i32c(f->g, 0), "");
    return LLVMBuildShuffleVector(f->bb, one, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(f->g->t_i32, (unsigned)lanes)),
                                  "");
}

/* a[index(SPACE)] = V, or += V when ACCUMULATE (C's `x += v` is x = x + v). */
void lg_store_at(lfn *f, LLVMValueRef p, int space, LLVMValueRef v, int accumulate)
{
    int lanes = lg_varies(f, space) ? f->w : 1;
    if (lg_lanes_of(v) > lanes) {
        lg_fail(f->g, "internal error: kernel %s stores lanes into a value that does not vary with j", f->kc->k->name);
        return;
    }
    v = lg_widen(f, v, lanes);
    LLVMValueRef at = element(f, p, space, lanes);
    if (accumulate) v = LLVMBuildFAdd(f->bb, vload(f, at, lanes), v, "");
    vstore(f, v, at, lanes);
}

static LLVMValueRef load_value(lfn *f, int id);

/* The value of node ID in the current iteration (emit_c's value_of). */
LLVMValueRef lg_value_of(lfn *f, int id)
{
    const lkern *kc = f->kc;
    if (lower_is_inline(kc->lk, id)) {
        if (!f->val[id]) {
            lg_fail(f->g, "internal error: kernel %s reads %%%d before computing it", kc->k->name, id);
            return LLVMGetUndef(lg_real_type(f->g, lg_varies(f, kc->d->node[id].space) ? f->w : 1));
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
    case OP_INPUT: return lg_load_at(f, lg_array(f, kc->input_arg[n->aux]), n->space);
    case OP_PARAM: {
        LLVMValueRef idx = lg_i64c(f->g, n->index);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, lg_array(f, kc->meta_arg), &idx, 1, "");
        return LLVMBuildLoad2(f->bb, f->g->t_real, at, "");
    }
    case OP_SIZE: return LLVMBuildSIToFP(f->bb, f->size[n->aux], f->g->t_real, space_size_name(n->aux));
    default: break;
    }
    return lg_load_at(f, lg_array(f, lg_stored_array(kc, id)), n->space);
}
