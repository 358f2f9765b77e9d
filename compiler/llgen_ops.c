/* llgen_ops — operators (the value column of ops.def) as LLVM IR, and the
 * nodes and reductions of one loop iteration (emit_c's compute_nodes). */
#include "config.h"
#include "llgen_impl.h"
#include "vmath.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- operators (the value column of ops.def) ---- */

/* llvm.NAME.f64 / .v4f64 / ... on the arguments' type. */
static LLVMValueRef call_intrinsic(lfn *f, const char *name, LLVMValueRef *a, int n)
{
    LLVMTypeRef ty = LLVMTypeOf(a[0]), params[2] = { ty, ty };
    int lanes = lg_lanes_of(a[0]);
    char full[64], sfx[16];
    snprintf(sfx, sizeof sfx, "%s", f->g->prec == PREC_SINGLE ? "f32" : "f64");
    if (lanes > 1) snprintf(full, sizeof full, "%s.v%d%s", name, lanes, sfx);
    else snprintf(full, sizeof full, "%s.%s", name, sfx);
    LLVMTypeRef fty = LLVMFunctionType(ty, params, (unsigned)n, 0);
    return LLVMBuildCall2(f->bb, fty, lg_declare(f->g, full, fty), a, (unsigned)n, "");
}

/* A libm function (tanh, log1p; tanhf, log1pf in single precision), lane by lane. */
static LLVMValueRef call_libm(lfn *f, const char *name, LLVMValueRef *a, int n)
{
    lmod *g = f->g;
    char full[64];
    snprintf(full, sizeof full, "%s%s", name, g->prec == PREC_SINGLE ? "f" : "");
    LLVMTypeRef params[2] = { g->t_real, g->t_real };
    LLVMTypeRef fty = LLVMFunctionType(g->t_real, params, (unsigned)n, 0);
    LLVMValueRef fn = lg_declare(g, full, fty);
    int lanes = lg_lanes_of(a[0]);
    if (lanes == 1) return LLVMBuildCall2(f->bb, fty, fn, a, (unsigned)n, "");
    LLVMValueRef out = LLVMGetUndef(LLVMTypeOf(a[0]));
    for (int k = 0; k < lanes; k++) {
        LLVMValueRef s[2];
        for (int q = 0; q < n; q++) s[q] = LLVMBuildExtractElement(f->bb, a[q], lg_i32c(g, k), "");
        out = LLVMBuildInsertElement(f->bb, out, LLVMBuildCall2(f->bb, fty, fn, s, (unsigned)n, ""), lg_i32c(g, k), "");
    }
    return out;
}

static LLVMValueRef fsel(lfn *f, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y, LLVMValueRef t, LLVMValueRef e)
{
    return LLVMBuildSelect(f->bb, LLVMBuildFCmp(f->bb, p, x, y, ""), t, e, "");
}

/* ---- exp and log1p as vector arithmetic (vmath.h; emit_c's plast_exp,
 * plast_log1p, operation for operation) ---- */

typedef struct vm {
    lfn *f;
    LLVMBuilderRef B;
    int lanes;
    LLVMTypeRef d, i;   /* double and i64, or vectors of LANES of them */
} vm;

static LLVMValueRef splat(const vm *v, LLVMValueRef s)
{
    if (v->lanes == 1) return s;
    LLVMValueRef e[64];
    for (int k = 0; k < v->lanes && k < 64; k++) e[k] = s;
    return LLVMConstVector(e, (unsigned)v->lanes);
}
static LLVMValueRef vd(const vm *v, double x) { return splat(v, LLVMConstReal(LLVMDoubleTypeInContext(v->f->g->ctx), x)); }
static LLVMValueRef vi(const vm *v, unsigned long long x) { return splat(v, LLVMConstInt(v->f->g->t_i64, x, 0)); }
static LLVMValueRef vadd(const vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(v->B, a, b, ""); }
static LLVMValueRef vsub(const vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(v->B, a, b, ""); }
static LLVMValueRef vmul(const vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(v->B, a, b, ""); }
static LLVMValueRef vsel(const vm *v, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b, LLVMValueRef t, LLVMValueRef e)
{
    return fsel(v->f, p, a, b, t, e);   /* v->B is v->f->bb */
}

/* X (real, any lanes) as double, and a vm for it. */
static LLVMValueRef vm_open(lfn *f, LLVMValueRef x, vm *v)
{
    v->f = f;
    v->B = f->bb;
    v->lanes = lg_lanes_of(x);
    LLVMTypeRef d = LLVMDoubleTypeInContext(f->g->ctx);
    v->d = v->lanes > 1 ? LLVMVectorType(d, (unsigned)v->lanes) : d;
    v->i = v->lanes > 1 ? LLVMVectorType(f->g->t_i64, (unsigned)v->lanes) : f->g->t_i64;
    return f->g->prec == PREC_SINGLE ? LLVMBuildFPExt(v->B, x, v->d, "") : x;
}

static LLVMValueRef vm_close(const vm *v, LLVMValueRef y, LLVMTypeRef ty)
{
    return v->f->g->prec == PREC_SINGLE ? LLVMBuildFPTrunc(v->B, y, ty, "") : y;
}

static LLVMValueRef vexp(lfn *f, LLVMValueRef x0)
{
    vm v;
    LLVMTypeRef ty = LLVMTypeOf(x0);
    LLVMValueRef x = vm_open(f, x0, &v);
    LLVMBuilderRef B = v.B;
    LLVMValueRef a = vsel(&v, LLVMRealOGT, x, vd(&v, VMATH_EXP_HI), vd(&v, VMATH_EXP_HI), x);
    a = vsel(&v, LLVMRealOLT, x, vd(&v, VMATH_EXP_LO), vd(&v, VMATH_EXP_LO), a);
    LLVMValueRef kd = vadd(&v, vmul(&v, a, vd(&v, VMATH_INV_LN2)), vd(&v, VMATH_SHIFT));
    LLVMValueRef kb = LLVMBuildBitCast(B, kd, v.i, "");
    kd = vsub(&v, kd, vd(&v, VMATH_SHIFT));
    LLVMValueRef r = vsub(&v, a, vmul(&v, kd, vd(&v, VMATH_LN2_HI)));
    r = vsub(&v, r, vmul(&v, kd, vd(&v, VMATH_LN2_LO)));
    LLVMValueRef p = vd(&v, vmath_exp_coef[0]);
    for (int n = 1; n < VMATH_EXP_TERMS; n++) p = vadd(&v, vmul(&v, p, r), vd(&v, vmath_exp_coef[n]));
    LLVMValueRef k = LLVMBuildSub(B, kb, vi(&v, VMATH_SHIFT_BITS), "");
    LLVMValueRef k1 = LLVMBuildSDiv(B, k, vi(&v, 2), ""), k2 = LLVMBuildSub(B, k, k1, "");
    LLVMValueRef s1 = LLVMBuildBitCast(B, LLVMBuildShl(B, LLVMBuildAdd(B, k1, vi(&v, 1023), ""), vi(&v, 52), ""), v.d, "");
    LLVMValueRef s2 = LLVMBuildBitCast(B, LLVMBuildShl(B, LLVMBuildAdd(B, k2, vi(&v, 1023), ""), vi(&v, 52), ""), v.d, "");
    return vm_close(&v, vmul(&v, vmul(&v, p, s1), s2), ty);
}

static LLVMValueRef vlog1p(lfn *f, LLVMValueRef x0)
{
    vm v;
    LLVMTypeRef ty = LLVMTypeOf(x0);
    LLVMValueRef x = vm_open(f, x0, &v);
    LLVMBuilderRef B = v.B;
    const double *L = vmath_log_coef;
    LLVMValueRef u = vadd(&v, vd(&v, 1.0), x);
    LLVMValueRef ub = LLVMBuildBitCast(B, u, v.i, "");
    LLVMValueRef t = LLVMBuildAdd(B, ub, vi(&v, (0x3ff00000ULL - VMATH_SQRT2_HALF_HI) << 32), "");
    LLVMValueRef e = LLVMBuildSub(B, LLVMBuildLShr(B, t, vi(&v, 52), ""), vi(&v, 1023), "");
    LLVMValueRef mb = LLVMBuildOr(B, LLVMBuildAdd(B, LLVMBuildAnd(B, t, vi(&v, 0x000fffff00000000ULL), ""),
                                                  vi(&v, VMATH_SQRT2_HALF_HI << 32), ""),
                                  LLVMBuildAnd(B, ub, vi(&v, 0xffffffffULL), ""), "");
    LLVMValueRef m = LLVMBuildBitCast(B, mb, v.d, "");
    LLVMValueRef fm = vsub(&v, m, vd(&v, 1.0));
    LLVMValueRef hfsq = vmul(&v, vmul(&v, vd(&v, 0.5), fm), fm);
    LLVMValueRef s = LLVMBuildFDiv(B, fm, vadd(&v, vd(&v, 2.0), fm), "");
    LLVMValueRef z = vmul(&v, s, s), w = vmul(&v, z, z);
    LLVMValueRef t1 = vmul(&v, w, vadd(&v, vd(&v, L[1]), vmul(&v, w, vadd(&v, vd(&v, L[3]), vmul(&v, w, vd(&v, L[5]))))));
    LLVMValueRef t2 = vmul(&v, z, vadd(&v, vd(&v, L[0]), vmul(&v, w, vadd(&v, vd(&v, L[2]),
                          vmul(&v, w, vadd(&v, vd(&v, L[4]), vmul(&v, w, vd(&v, L[6]))))))));
    LLVMValueRef R = vadd(&v, t2, t1);
    LLVMValueRef dk = LLVMBuildSIToFP(B, e, v.d, "");
    LLVMValueRef lg = vadd(&v, vmul(&v, s, vadd(&v, hfsq, R)), vmul(&v, dk, vd(&v, VMATH_LN2_LO)));
    lg = vadd(&v, vadd(&v, vsub(&v, lg, hfsq), fm), vmul(&v, dk, vd(&v, VMATH_LN2_HI)));
    LLVMValueRef d = vsub(&v, u, vd(&v, 1.0));
    LLVMValueRef y = vsel(&v, LLVMRealOEQ, d, vd(&v, 0.0), x, vmul(&v, lg, LLVMBuildFDiv(B, x, d, "")));
    y = vsel(&v, LLVMRealOEQ, u, vd(&v, 0.0), vd(&v, -HUGE_VAL), y);
    y = vsel(&v, LLVMRealOLT, x, vd(&v, -1.0), vd(&v, NAN), y);
    y = vsel(&v, LLVMRealOEQ, x, vd(&v, HUGE_VAL), x, y);
    y = vsel(&v, LLVMRealUNE, x, x, x, y);
    return vm_close(&v, y, ty);
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
#define K(c) lg_real_const(f->g, ty, c)
#define ADD(p, q) LLVMBuildFAdd(B, p, q, "")
#define SUB(p, q) LLVMBuildFSub(B, p, q, "")
#define MUL(p, q) LLVMBuildFMul(B, p, q, "")
#define DIV(p, q) LLVMBuildFDiv(B, p, q, "")
#define NEG(p) LLVMBuildFNeg(B, p, "")
#define EXP(p) vexp(f, p)
#define LOG1P(p) vlog1p(f, p)
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
    LLVMValueRef z = lg_value_of(f, n->arg[0]), i = f->i;
    LLVMValueRef row = lg_array(f, a->op == OP_INPUT ? kc->input_arg[a->aux] : lg_stored_array(kc, n->arg[0]));
    LLVMValueRef base = n->space & SP_SAMPLE ? LLVMBuildNSWMul(B, f->b, f->size[SIZE_N_POST], "") : lg_i64c(g, 0);
    LLVMValueRef rank = lg_new_alloca(f, g->t_i64, "rank");
    LLVMBuildStore(B, lg_i64c(g, 0), rank);
    lloop L;
    LLVMValueRef i2 = lg_loop_open(f, &L, lg_i64c(g, 0), f->size[SIZE_N_POST], 1, "i2");
    LLVMValueRef at = LLVMBuildNSWAdd(B, base, i2, "");
    LLVMValueRef o = LLVMBuildLoad2(B, g->t_real, LLVMBuildInBoundsGEP2(B, g->t_real, row, &at, 1, ""), "");
    LLVMValueRef tie = LLVMBuildAnd(B, LLVMBuildFCmp(B, LLVMRealOEQ, o, z, ""), LLVMBuildICmp(B, LLVMIntSLT, i2, i, ""), "");
    LLVMValueRef ahead = LLVMBuildOr(B, LLVMBuildFCmp(B, LLVMRealOGT, o, z, ""), tie, "");
    LLVMValueRef r = LLVMBuildLoad2(B, g->t_i64, rank, "");
    LLVMBuildStore(B, LLVMBuildNSWAdd(B, r, LLVMBuildZExt(B, ahead, g->t_i64, ""), ""), rank);
    lg_loop_close(f, &L);
    r = LLVMBuildLoad2(B, g->t_i64, rank, "");
    return LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, r, lg_i64c(g, n->index), ""), LLVMConstReal(g->t_real, 1),
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
        a[k] = lg_value_of(f, n->arg[k]);
        if (lg_lanes_of(a[k]) > lanes) lanes = lg_lanes_of(a[k]);
    }
    for (int k = 0; k < op->arity; k++) a[k] = lg_widen(f, a[k], lanes);
    LLVMValueRef v = op->arity > 0 ? build_value(f, (dag_op)n->op, a) : NULL;
    if (v) return v;
    lg_fail(f->g, "internal error: no LLVM lowering for operator %s", op->name);
    return LLVMGetUndef(lg_real_type(f->g, lanes));
}

/* ---- nodes and reductions (emit_c's compute_nodes) ---- */

void lg_gen_nodes(lfn *f, const int *nodes, int n_nodes, int local_bit);

/* acc = op(acc, x) for a sum or a maximum ("if (x > acc) acc = x"). */
LLVMValueRef lg_reduce_step(lfn *f, dag_op op, LLVMValueRef acc, LLVMValueRef x)
{
    if (op == OP_MAX_POST) return fsel(f, LLVMRealOGT, x, acc, x, acc);
    return LLVMBuildFAdd(f->bb, acc, x, "");
}

/* real tA = -0.0, tB = -0.0; for b { block; tA += argA; tB += argB; }: the
 * per-synapse sums over the samples of group G in one loop (emit_c's
 * emit_batch_group).  They start at -0, the identity of IEEE addition
 * (-0 + x is x for every x, +0 + -0 is +0), so that for a batch of one
 * the first addition folds away: one vector add per weight less in the
 * update passes (an empty sum is -0 then, where +0 + x gave +0 for x = -0). */
static void gen_batch_group(lfn *f, const lower_batch_group *g, int local_bit)
{
    const lkern *kc = f->kc;
    LLVMValueRef *acc = malloc((size_t)g->n_sums * sizeof *acc);
    LLVMTypeRef *ty = malloc((size_t)g->n_sums * sizeof *ty);
    int *lanes = malloc((size_t)g->n_sums * sizeof *lanes);
    for (int m = 0; m < g->n_sums; m++) {
        lanes[m] = lg_varies(f, kc->d->node[g->sums[m]].space) ? f->w : 1;
        ty[m] = lg_real_type(f->g, lanes[m]);
        acc[m] = lg_new_alloca(f, ty[m], "bsum");
        LLVMBuildStore(f->bb, lg_real_const(f->g, ty[m], -0.0), acc[m]);
    }
    LLVMValueRef *saved = malloc((size_t)(g->n_block + 1) * sizeof *saved), outer_b = f->b;
    for (int q = 0; q < g->n_block; q++) saved[q] = f->val[g->block[q]];
    lloop L;
    f->b = lg_loop_open(f, &L, lg_i64c(f->g, 0), f->size[SIZE_BATCH], 1, "b");
    lg_gen_nodes(f, g->block, g->n_block, local_bit);
    for (int m = 0; m < g->n_sums; m++) {
        LLVMValueRef x = lg_widen(f, lg_value_of(f, kc->d->node[g->sums[m]].arg[0]), lanes[m]);
        LLVMBuildStore(f->bb, LLVMBuildFAdd(f->bb, LLVMBuildLoad2(f->bb, ty[m], acc[m], ""), x, ""), acc[m]);
    }
    lg_loop_close(f, &L);
    f->b = outer_b;
    for (int q = 0; q < g->n_block; q++) f->val[g->block[q]] = saved[q];   /* the block's values were scoped to it */
    for (int m = 0; m < g->n_sums; m++) f->val[g->sums[m]] = LLVMBuildLoad2(f->bb, ty[m], acc[m], "");
    free(saved);
    free(acc);
    free(ty);
    free(lanes);
}

/* Whether node N's accumulator in a loop summing LOCAL_BIT holds the
 * lower_sum_lanes() partial sums of a sum over j (lower.h). */
int lg_lane_split(const dag_node *n, int local_bit)
{
    return n->op == OP_SUM_PRE && local_bit == SP_PRE;
}

/* The partial sums V added pairwise (emit_c's plast_lanesum). */
LLVMValueRef lg_lane_sum(lfn *f, LLVMValueRef v)
{
    int n = lg_lanes_of(v);
    while (n > 2) {
        LLVMValueRef even[32], odd[32];
        for (int k = 0; k < n / 2; k++) even[k] = lg_i32c(f->g, 2 * k), odd[k] = lg_i32c(f->g, 2 * k + 1);
        LLVMValueRef u = LLVMGetUndef(LLVMTypeOf(v));
        LLVMValueRef e = LLVMBuildShuffleVector(f->bb, v, u, LLVMConstVector(even, (unsigned)(n / 2)), "");
        LLVMValueRef o = LLVMBuildShuffleVector(f->bb, v, u, LLVMConstVector(odd, (unsigned)(n / 2)), "");
        v = LLVMBuildFAdd(f->bb, e, o, "");
        n /= 2;
    }
    if (n == 1) return LLVMBuildExtractElement(f->bb, v, lg_i32c(f->g, 0), "");
    return LLVMBuildFAdd(f->bb, LLVMBuildExtractElement(f->bb, v, lg_i32c(f->g, 0), ""),
                         LLVMBuildExtractElement(f->bb, v, lg_i32c(f->g, 1), ""), "");
}

/* acc[j mod lanes] += X: the whole vector when the loop runs lanes columns
 * at once (lanes out of range add -0, which changes nothing), one lane in
 * scalar code. */
static LLVMValueRef lane_add(lfn *f, LLVMValueRef cur, LLVMValueRef x)
{
    int P = lg_lanes_of(cur);
    if (f->w > 1) {
        if (f->w != P) { lg_fail(f->g, "internal error: a %d-lane sum in a %d-lane loop", P, f->w); return cur; }
        x = lg_widen(f, x, P);
        if (f->mask) x = LLVMBuildSelect(f->bb, f->mask, x, lg_real_const(f->g, LLVMTypeOf(x), -0.0), "");
        return LLVMBuildFAdd(f->bb, cur, x, "");
    }
    LLVMValueRef lane = LLVMBuildTrunc(f->bb, LLVMBuildAnd(f->bb, f->j, lg_i64c(f->g, P - 1), ""), f->g->t_i32, "");
    LLVMValueRef part = LLVMBuildFAdd(f->bb, LLVMBuildExtractElement(f->bb, cur, lane, ""), x, "");
    return LLVMBuildInsertElement(f->bb, cur, part, lane, "");
}

static void gen_reduce(lfn *f, int id, int local_bit)
{
    const lkern *kc = f->kc;
    const dag_node *n = &kc->d->node[id];
    LLVMValueRef x = lg_value_of(f, n->arg[0]);
    if (dag_ops[n->op].reduces != local_bit) {   /* v[idx] op= x, in an array zeroed before the nest */
        LLVMValueRef p = lg_array(f, lg_stored_array(kc, id));
        if (lg_lanes_of(x) > 1 && !lg_varies(f, n->space)) {   /* a vector nest's sum over the samples: per lane */
            lg_fail(f->g, "internal error: %s: a vector into a shared sum", kc->k->name);
            return;
        }
        lg_store_at(f, p, n->space, lg_reduce_step(f, n->op, lg_load_at(f, p, n->space), x), 0);
        return;
    }
    if (f->mem_acc && f->staged && kc->stage_slot[id] >= 0) {   /* stage[i * n_pre + j] = x, summed after the pass */
        LLVMValueRef at = LLVMBuildNSWAdd(f->bb, LLVMBuildNSWMul(f->bb, f->i, f->size[SIZE_N_PRE], ""), f->j, "");
        lg_store_index(f, lg_array(f, kc->stage_slot[id]), at, x);
        return;
    }
    if (f->mem_acc) {   /* v[idx] op= x in the reduction's own array, started before the rows */
        LLVMValueRef p = lg_array(f, lg_stored_array(kc, id));
        LLVMValueRef cur = f->held && f->held[id] ? f->held[id] : lg_load_at(f, p, n->space);
        LLVMValueRef next = lg_reduce_step(f, n->op, cur, lg_widen(f, x, lg_lanes_of(cur)));
        if (f->row_valid) next = LLVMBuildSelect(f->bb, f->row_valid, next, cur, "");   /* a repeated row: no term */
        if (f->held) f->held[id] = next;   /* row_strips stores it after the block's rows */
        else lg_store_at(f, p, n->space, next, 0);
        return;
    }
    LLVMValueRef acc = f->acc[id];
    if (!acc) { lg_fail(f->g, "internal error: %s: %%%d has no accumulator", kc->k->name, id); return; }
    LLVMTypeRef ty = LLVMGetAllocatedType(acc);
    LLVMValueRef cur = LLVMBuildLoad2(f->bb, ty, acc, "");
    if (lg_lane_split(n, local_bit)) { LLVMBuildStore(f->bb, lane_add(f, cur, x), acc); return; }
    int acc_lanes = LLVMGetTypeKind(ty) == LLVMVectorTypeKind ? (int)LLVMGetVectorSize(ty) : 1;
    if (acc_lanes == 1 && lg_lanes_of(x) > 1) {   /* a sum over j across lanes: lane 0 first, as the scalar loop */
        if (f->mask)   /* lanes out of range add -0 (x + -0 == x for every x) or compare -inf: no effect */
            x = LLVMBuildSelect(f->bb, f->mask, x, lg_real_const(f->g, LLVMTypeOf(x), n->op == OP_MAX_POST ? -INFINITY : -0.0), "");
        for (int k = 0; k < lg_lanes_of(x); k++)
            cur = lg_reduce_step(f, n->op, cur, LLVMBuildExtractElement(f->bb, x, lg_i32c(f->g, k), ""));
    } else {
        cur = lg_reduce_step(f, n->op, cur, lg_widen(f, x, acc_lanes));
    }
    LLVMBuildStore(f->bb, cur, acc);
}

/* The value V of node ID: kept for later nodes (inline) or stored. */
static void set_value(lfn *f, int id, LLVMValueRef v)
{
    const lkern *kc = f->kc;
    if (lower_is_inline(kc->lk, id)) {
        f->val[id] = v;
    } else {
        lg_store_at(f, lg_array(f, lg_stored_array(kc, id)), kc->d->node[id].space, v, 0);
        f->memo[id] = v;   /* later nodes of this iteration read it back */
    }
}

void lg_gen_nodes(lfn *f, const int *nodes, int n_nodes, int local_bit)
{
    lg_gen_nodes_of_pair(f, nodes, n_nodes, local_bit, NULL);
}

void lg_gen_nodes_of_pair(lfn *f, const int *nodes, int n_nodes, int local_bit, const char *col)
{
    const lkern *kc = f->kc;
    lower_batch_group *groups;
    int n_groups = lower_batch_groups(kc->lk, nodes, n_nodes, &groups);
    char *done = NULL;   /* meta-MLP calls computed with an earlier one of their pack */
    for (int q = 0; q < n_nodes && !f->g->failed; q++) {
        int id = nodes[q];
        const dag_node *n = &kc->d->node[id];
        if (done && done[q]) continue;
        if (n->op == OP_MLP_OUT || n->op == OP_MLP_VJP || n->op == OP_MLP_GRAD) {
            int *ids = malloc((size_t)(n_nodes - q) * sizeof *ids), k = lower_mlp_siblings(kc->lk, nodes, n_nodes, q, ids);
            LLVMValueRef *vals = malloc((size_t)k * sizeof *vals);
            lg_gen_mlp_calls(f, ids, k, vals);
            if (!done) done = calloc((size_t)n_nodes, 1);
            for (int r = q, s = 0; r < n_nodes && s < k && !f->g->failed; r++)
                if (nodes[r] == ids[s]) {
                    done[r] = 1;
                    if (vals[s]) set_value(f, ids[s], vals[s]);
                    s++;
                }
            free(ids);
            free(vals);
            continue;
        }
        if (f->batch_stage && kc->stage_slot[id] >= 0 && lower_is_batch_sum(kc->lk, id)) {
            /* a loop absorbed into a fused pass (lg_gen_fused_pair): its sum over the samples
             * in an array, S[i * n_pre + j] += the term of this sample, in increasing b as the
             * loop over the samples adds; after the pass, read from there */
            LLVMValueRef at = LLVMBuildNSWAdd(f->bb, LLVMBuildNSWMul(f->bb, f->i, f->size[SIZE_N_PRE], ""), f->j, "");
            LLVMValueRef S = lg_array(f, kc->stage_slot[id]);
            if (f->batch_stage == 1)
                lg_store_index(f, S, at, LLVMBuildFAdd(f->bb, lg_load_index(f, S, at), lg_widen(f, lg_value_of(f, n->arg[0]), f->w), ""));
            else
                set_value(f, id, lg_load_index(f, S, at));
            continue;
        }
        if (lower_is_batch_sum(kc->lk, id)) {   /* in its group's loop, which runs at the group's first sum */
            const lower_batch_group *g = lower_batch_group_of(groups, n_groups, id);
            if (g->sums[0] == id) gen_batch_group(f, g, local_bit);
            continue;
        }
        if (dag_op_is_reduction(n->op)) {
            if (col && col[q]) {   /* the column loop's sum over i, into its array */
                int mem = f->mem_acc;
                f->mem_acc = 1;
                gen_reduce(f, id, SP_POST);
                f->mem_acc = mem;
            } else {
                gen_reduce(f, id, local_bit);
            }
            continue;
        }
        if (n->op == OP_PACK) continue;   /* its items are read where it is used */
        set_value(f, id, compute(f, id));
    }
    free(done);
    lower_batch_groups_free(groups, n_groups);
}
