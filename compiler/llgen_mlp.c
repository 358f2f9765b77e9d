/* llgen_mlp — meta-MLP calls as LLVM IR: calls of libplast's routines
 * (runtime/mlp.c), the same functions the emitted C calls, so that the back
 * ends agree bit for bit (emit_c's emit_mlp_call, emit_mlp_grad). */
#include "config.h"
#include "llgen_impl.h"

#include <stdio.h>
#include <stdlib.h>

/* The shape of meta-MLP M, a private constant array of doubles per kernel;
 * a pointer to its first element. */
static LLVMValueRef shape_of(lfn *f, int m)
{
    lmod *g = f->g;
    const dag_mlp *mlp = &f->kc->d->mlp[m];
    char name[160];
    snprintf(name, sizeof name, "%s.mlp%d", f->kc->k->name, m);
    LLVMTypeRef t_f64 = LLVMDoubleTypeInContext(g->ctx), at = LLVMArrayType(t_f64, (unsigned)mlp->n_shape);
    LLVMValueRef gv = LLVMGetNamedGlobal(g->m, name);
    if (!gv) {
        LLVMValueRef *v = malloc((size_t)mlp->n_shape * sizeof *v);
        for (int q = 0; q < mlp->n_shape; q++) v[q] = LLVMConstReal(t_f64, mlp->shape[q]);
        gv = LLVMAddGlobal(g->m, at, name);
        LLVMSetInitializer(gv, LLVMConstArray(t_f64, v, (unsigned)mlp->n_shape));
        LLVMSetGlobalConstant(gv, 1);
        LLVMSetLinkage(gv, LLVMPrivateLinkage);
        free(v);
    }
    LLVMValueRef idx[2] = { lg_i32c(g, 0), lg_i32c(g, 0) };
    return LLVMConstInBoundsGEP2(at, gv, idx, 2);
}

/* The items of PACK stored into an array of W lanes per item on the stack
 * (item m's lane e at m * W + e; a scalar item in every lane); its first element. */
static LLVMValueRef pack_array(lfn *f, int pack, int w)
{
    lmod *g = f->g;
    const dag *d = f->kc->d;
    int n = dag_pack_items(d, pack, NULL, 0);
    LLVMTypeRef at = LLVMArrayType(g->t_real, (unsigned)(n * w)), vt = lg_real_type(g, w);
    LLVMValueRef a = lg_new_alloca(f, at, "pack");
    int k = 0;
    for (int p = pack; p >= 0; p = d->node[p].arg[1], k++) {
        LLVMValueRef v = lg_widen(f, lg_value_of(f, d->node[p].arg[0]), w);
        LLVMValueRef idx[2] = { lg_i32c(g, 0), lg_i32c(g, k * w) };
        LLVMValueRef at_k = LLVMBuildInBoundsGEP2(f->bb, at, a, idx, 2, "");
        if (w > 1) at_k = LLVMBuildPointerCast(f->bb, at_k, LLVMPointerType(vt, 0), "");
        LLVMSetAlignment(LLVMBuildStore(f->bb, v, at_k), (unsigned)g->real_bytes);
    }
    LLVMValueRef idx[2] = { lg_i32c(g, 0), lg_i32c(g, 0) };
    return LLVMBuildInBoundsGEP2(f->bb, at, a, idx, 2, "");
}

/* The lanes a call runs: W, or under a mask the lanes in range (a prefix). */
static LLVMValueRef active_lanes(lfn *f, int w)
{
    lmod *g = f->g;
    if (!f->mask || w == 1) return lg_i32c(g, w);
    LLVMTypeRef iw = LLVMIntTypeInContext(g->ctx, (unsigned)w);
    LLVMValueRef bits = LLVMBuildBitCast(f->bb, f->mask, iw, "");
    LLVMTypeRef fty = LLVMFunctionType(iw, &iw, 1, 0);
    char name[32];
    snprintf(name, sizeof name, "llvm.ctpop.i%d", w);
    LLVMValueRef n = LLVMBuildCall2(f->bb, fty, lg_declare(g, name, fty), &bits, 1, "");
    return LLVMBuildZExtOrBitCast(f->bb, n, g->t_i32, "");
}

/* meta + offset: the parameters of meta-MLP M. */
static LLVMValueRef theta_of(lfn *f, int m)
{
    LLVMValueRef off = lg_i64c(f->g, f->kc->d->mlp[m].offset);
    return LLVMBuildInBoundsGEP2(f->bb, f->g->t_real, lg_array(f, f->kc->meta_arg), &off, 1, "theta");
}

static LLVMValueRef routine(lfn *f, const char *what, LLVMTypeRef ret, LLVMTypeRef *params, int n, LLVMTypeRef *fty)
{
    char name[64];
    snprintf(name, sizeof name, "plast_mlp_%s_%s", what, f->g->prec == PREC_SINGLE ? "f" : "d");
    *fty = LLVMFunctionType(ret, params, (unsigned)n, 0);
    return lg_declare(f->g, name, *fty);
}

/* plast_mlp_out(shape, meta + offset, x, k) or plast_mlp_din(..., k, m);
 * in vector code the _lanes routines, into an array read back as a vector. */
LLVMValueRef lg_gen_mlp_call(lfn *f, int id)
{
    lmod *g = f->g;
    const dag_node *n = &f->kc->d->node[id];
    int w = lg_varies(f, n->space) ? f->w : 1, din = n->op == OP_MLP_DIN;
    LLVMValueRef x = pack_array(f, n->arg[0], w);
    LLVMTypeRef t_shape = LLVMPointerType(LLVMDoubleTypeInContext(g->ctx), 0), fty;
    LLVMValueRef args[8] = { shape_of(f, n->index), theta_of(f, n->index), x, lg_i32c(g, n->aux) }, fn;
    int na = 4;
    if (din) args[na++] = lg_i32c(g, (int)n->value);
    if (w == 1) {
        LLVMTypeRef params[5] = { t_shape, g->t_realp, g->t_realp, g->t_i32, g->t_i32 };
        fn = routine(f, din ? "din" : "out", g->t_real, params, na, &fty);
        return LLVMBuildCall2(f->bb, fty, fn, args, (unsigned)na, "");
    }
    LLVMTypeRef vt = lg_real_type(g, w);
    LLVMValueRef out = lg_new_alloca(f, LLVMArrayType(g->t_real, (unsigned)w), "mlp_out");
    LLVMValueRef out0 = LLVMBuildPointerCast(f->bb, out, g->t_realp, "");
    args[na++] = active_lanes(f, w);
    args[na++] = lg_i32c(g, w);
    args[na++] = out0;
    LLVMTypeRef params[8] = { t_shape, g->t_realp, g->t_realp, g->t_i32, g->t_i32, g->t_i32, g->t_i32, g->t_realp };
    if (!din) { params[4] = g->t_i32; params[5] = g->t_i32; params[6] = g->t_realp; }
    fn = routine(f, din ? "din_lanes" : "out_lanes", g->t_void, params, na, &fty);
    LLVMBuildCall2(f->bb, fty, fn, args, (unsigned)na, "");
    LLVMValueRef v = LLVMBuildLoad2(f->bb, vt, LLVMBuildPointerCast(f->bb, out, LLVMPointerType(vt, 0), ""), "");
    LLVMSetAlignment(v, (unsigned)g->real_bytes);
    return v;
}

/* plast_mlp_grad(shape, meta + offset, x, seeds, rows + row * n_params): row i
 * in a loop over the rows, else row 0 (lower_grad_row_space); in vector code
 * plast_mlp_grad_lanes over the lanes in range. */
void lg_gen_mlp_grad(lfn *f, int id)
{
    lmod *g = f->g;
    const dag_node *n = &f->kc->d->node[id];
    int w = lg_varies(f, n->space) ? f->w : 1;
    LLVMValueRef x = pack_array(f, n->arg[1], w), seeds = pack_array(f, n->arg[0], w);
    LLVMValueRef row = lower_grad_row_space(n->space) == SP_POST ? f->i : lg_i64c(g, 0);
    if (!row) { lg_fail(g, "internal error: a meta-MLP's parameter adjoints outside a loop over rows"); return; }
    LLVMValueRef at = LLVMBuildNSWMul(f->bb, row, lg_i64c(g, f->kc->d->mlp[n->index].n_params), "");
    LLVMValueRef acc = LLVMBuildInBoundsGEP2(f->bb, g->t_real, lg_array(f, lg_grad_array(f->kc, id)), &at, 1, "");
    LLVMTypeRef t_shape = LLVMPointerType(LLVMDoubleTypeInContext(g->ctx), 0), fty;
    LLVMValueRef args[7] = { shape_of(f, n->index), theta_of(f, n->index), x, seeds };
    if (w == 1) {
        LLVMTypeRef params[5] = { t_shape, g->t_realp, g->t_realp, g->t_realp, g->t_realp };
        args[4] = acc;
        LLVMBuildCall2(f->bb, fty = LLVMFunctionType(g->t_void, params, 5, 0),
                       routine(f, "grad", g->t_void, params, 5, &fty), args, 5, "");
        return;
    }
    LLVMTypeRef params[7] = { t_shape, g->t_realp, g->t_realp, g->t_realp, g->t_i32, g->t_i32, g->t_realp };
    args[4] = active_lanes(f, w);
    args[5] = lg_i32c(g, w);
    args[6] = acc;
    LLVMValueRef fn = routine(f, "grad_lanes", g->t_void, params, 7, &fty);
    LLVMBuildCall2(f->bb, fty, fn, args, 7, "");
}

/* Elements of the rows of mlp_grad node ID: n_post * n_params or n_params. */
LLVMValueRef lg_mlp_grad_size(lfn *f, int id)
{
    const dag_node *n = &f->kc->d->node[id];
    LLVMValueRef p = lg_i64c(f->g, f->kc->d->mlp[n->index].n_params);
    return lower_grad_row_space(n->space) == SP_POST ? LLVMBuildNSWMul(f->bb, f->size[SIZE_N_POST], p, "") : p;
}

/* adj_meta[offset + p] += the rows of each mlp_grad node added in row order
 * (emit_c's emit_mlp_grad_sums). */
void lg_gen_mlp_grad_sums(lfn *f)
{
    lmod *g = f->g;
    const kern *k = f->kc->k;
    for (int q = 0; q < k->n_mlp_grads && !g->failed; q++) {
        int id = k->mlp_grads[q];
        const dag_mlp *m = &f->kc->d->mlp[f->kc->d->node[id].index];
        int by_rows = lower_grad_row_space(f->kc->d->node[id].space) == SP_POST;
        LLVMValueRef rows = lg_array(f, lg_grad_array(f->kc, id)), s = lg_new_alloca(f, g->t_real, "s");
        lloop P, R;
        LLVMValueRef p = lg_loop_open(f, &P, lg_i64c(g, 0), lg_i64c(g, m->n_params), 1, "p");
        LLVMBuildStore(f->bb, LLVMConstReal(g->t_real, 0), s);
        LLVMValueRef r = by_rows ? lg_loop_open(f, &R, lg_i64c(g, 0), f->size[SIZE_N_POST], 1, "r") : lg_i64c(g, 0);
        LLVMValueRef at = LLVMBuildNSWAdd(f->bb, LLVMBuildNSWMul(f->bb, r, lg_i64c(g, m->n_params), ""), p, "");
        LLVMValueRef x = LLVMBuildLoad2(f->bb, g->t_real, LLVMBuildInBoundsGEP2(f->bb, g->t_real, rows, &at, 1, ""), "");
        LLVMBuildStore(f->bb, LLVMBuildFAdd(f->bb, LLVMBuildLoad2(f->bb, g->t_real, s, ""), x, ""), s);
        if (by_rows) lg_loop_close(f, &R);
        LLVMValueRef to = LLVMBuildNSWAdd(f->bb, p, lg_i64c(g, m->offset), "");
        LLVMValueRef dst = LLVMBuildInBoundsGEP2(f->bb, g->t_real, lg_array(f, f->kc->adj_meta_arg), &to, 1, "");
        LLVMBuildStore(f->bb, LLVMBuildFAdd(f->bb, LLVMBuildLoad2(f->bb, g->t_real, dst, ""),
                                            LLVMBuildLoad2(f->bb, g->t_real, s, ""), ""), dst);
        lg_loop_close(f, &P);
    }
}
