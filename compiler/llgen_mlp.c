/* llgen_mlp — meta-MLP calls as LLVM IR: calls of libplast's routines
 * (runtime/mlp.c), the same functions the emitted C calls, so that the back
 * ends agree bit for bit (emit_c's emit_mlp_calls). */
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

/* The row and partial sum of node ID's parameter adjoints (an mlp_grad):
 * in a loop over the rows (lower_grad_row_space) row i, element j into
 * partial sum j mod parts (the strips then run parts lanes, lane e column
 * j0 + e with j0 a multiple of parts: SPLIT); else row 0, partial 0.
 * emit_c's emit_mlp_calls.  The row's first element, or NULL on failure. */
static LLVMValueRef grad_row(lfn *f, int id, int w, LLVMValueRef *part, int *split)
{
    lmod *g = f->g;
    const dag_node *n = &f->kc->d->node[id];
    int parts = lower_sum_lanes(g->prec), by_rows = lower_grad_row_space(n->space) == SP_POST;
    LLVMValueRef row = by_rows ? f->i : lg_i64c(g, 0);
    if (!row || (by_rows && !f->j)) {
        lg_fail(g, "internal error: a meta-MLP's parameter adjoints outside a loop over rows");
        return NULL;
    }
    if (by_rows && w > 1 && w != parts) {
        lg_fail(g, "internal error: a meta-MLP's parameter adjoints in strips of %d columns, not %d", w, parts);
        return NULL;
    }
    *split = by_rows;
    *part = by_rows && w == 1 ? LLVMBuildTrunc(f->bb, LLVMBuildAnd(f->bb, f->j, lg_i64c(g, parts - 1), ""), g->t_i32, "")
                              : lg_i32c(g, 0);
    LLVMValueRef at = LLVMBuildNSWMul(f->bb, row, lg_i64c(g, (long long)f->kc->d->mlp[n->index].n_params * parts), "");
    return LLVMBuildInBoundsGEP2(f->bb, g->t_real, lg_array(f, lg_grad_array(f->kc, id)), &at, 1, "");
}

/* The calls IDS[0..n) of one call site (lower_mlp_siblings) by one routine
 * call, the values of all but an mlp_grad into VALS.  mlp_out nodes:
 * plast_mlp_outs into an array on the stack; mlp_vjp and mlp_grad nodes:
 * plast_mlp_vjp, the inputs' adjoints into an array (only input M when one
 * is read), the parameters' into the mlp_grad's row.  In vector code the
 * _lanes routines, each value read back as a vector. */
void lg_gen_mlp_calls(lfn *f, const int *ids, int n, LLVMValueRef *vals)
{
    lmod *g = f->g;
    const dag *d = f->kc->d;
    const dag_node *n0 = &d->node[ids[0]];
    const dag_mlp *mlp = &d->mlp[n0->index];
    int w = lg_varies(f, n0->space) ? f->w : 1, fwd = n0->op == OP_MLP_OUT;
    LLVMTypeRef t_shape = LLVMPointerType(LLVMDoubleTypeInContext(g->ctx), 0), fty, vt = lg_real_type(g, w);
    LLVMValueRef args[10] = { shape_of(f, n0->index), theta_of(f, n0->index) }, fn, out0 = NULL;
    LLVMTypeRef params[10] = { t_shape, g->t_realp, g->t_realp };
    int na = 2, grad = -1, n_vjp = 0, m = -1;
    char what[16];
    if (fwd) {
        args[na++] = pack_array(f, n0->arg[0], w);
        out0 = LLVMBuildPointerCast(f->bb, lg_new_alloca(f, LLVMArrayType(g->t_real, (unsigned)(mlp->n_out * w)), "mlp_out"),
                                    g->t_realp, "");
        if (w > 1) { params[na] = g->t_i32; args[na++] = active_lanes(f, w); params[na] = g->t_i32; args[na++] = lg_i32c(g, w); }
        params[na] = g->t_realp;
        args[na++] = out0;
        snprintf(what, sizeof what, "outs%s", w > 1 ? "_lanes" : "");
    } else {
        for (int q = 0; q < n; q++) {
            if (d->node[ids[q]].op == OP_MLP_GRAD) grad = ids[q];
            else n_vjp++, m = (int)d->node[ids[q]].value;
        }
        if (n_vjp > 1) m = -1;
        args[na++] = pack_array(f, n0->arg[1], w);
        params[na] = g->t_realp;
        args[na++] = pack_array(f, n0->arg[0], w);
        params[na] = g->t_i32;
        args[na++] = lg_i32c(g, m);
        if (w > 1) { params[na] = g->t_i32; args[na++] = active_lanes(f, w); params[na] = g->t_i32; args[na++] = lg_i32c(g, w); }
        LLVMValueRef nul = LLVMConstPointerNull(g->t_realp), acc = nul, part = lg_i32c(g, 0);
        int split = 0;
        if (n_vjp)
            out0 = LLVMBuildPointerCast(f->bb, lg_new_alloca(f, LLVMArrayType(g->t_real, (unsigned)(mlp->n_in * w)), "mlp_gin"),
                                        g->t_realp, "");
        if (grad >= 0 && !(acc = grad_row(f, grad, w, &part, &split))) return;
        params[na] = g->t_realp;
        args[na++] = out0 ? out0 : nul;
        params[na] = g->t_realp;
        args[na++] = acc;
        params[na] = g->t_i32;
        args[na++] = w > 1 ? lg_i32c(g, split) : part;
        snprintf(what, sizeof what, "vjp%s", w > 1 ? "_lanes" : "");
    }
    fn = routine(f, what, g->t_void, params, na, &fty);
    LLVMBuildCall2(f->bb, fty, fn, args, (unsigned)na, "");
    for (int q = 0; q < n; q++) {
        const dag_node *nq = &d->node[ids[q]];
        vals[q] = NULL;
        if (nq->op == OP_MLP_GRAD) continue;
        LLVMValueRef idx = lg_i64c(g, (long long)(fwd ? nq->aux : (int)nq->value) * w);
        LLVMValueRef p = LLVMBuildInBoundsGEP2(f->bb, g->t_real, out0, &idx, 1, "");
        if (w > 1) p = LLVMBuildPointerCast(f->bb, p, LLVMPointerType(vt, 0), "");
        vals[q] = LLVMBuildLoad2(f->bb, vt, p, "");
        LLVMSetAlignment(vals[q], (unsigned)g->real_bytes);
    }
}

/* Elements of the rows of mlp_grad node ID: (n_post *) n_params * parts. */
LLVMValueRef lg_mlp_grad_size(lfn *f, int id)
{
    const dag_node *n = &f->kc->d->node[id];
    LLVMValueRef p = lg_i64c(f->g, (long long)f->kc->d->mlp[n->index].n_params * lower_sum_lanes(f->g->prec));
    return lower_grad_row_space(n->space) == SP_POST ? LLVMBuildNSWMul(f->bb, f->size[SIZE_N_POST], p, "") : p;
}

/* adj_meta[offset + p] += the rows of each mlp_grad node, each row's partial
 * sums pairwise, the rows in order (emit_c's emit_mlp_grad_sums). */
void lg_gen_mlp_grad_sums(lfn *f)
{
    lmod *g = f->g;
    const kern *k = f->kc->k;
    int parts = lower_sum_lanes(g->prec);
    LLVMTypeRef vt = lg_real_type(g, parts);
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
        at = LLVMBuildNSWMul(f->bb, at, lg_i64c(g, parts), "");
        LLVMValueRef ptr = LLVMBuildInBoundsGEP2(f->bb, g->t_real, rows, &at, 1, "");
        LLVMValueRef v = LLVMBuildLoad2(f->bb, vt, LLVMBuildPointerCast(f->bb, ptr, LLVMPointerType(vt, 0), ""), "");
        LLVMSetAlignment(v, (unsigned)g->real_bytes);
        LLVMValueRef x = lg_lane_sum(f, v);
        LLVMBuildStore(f->bb, LLVMBuildFAdd(f->bb, LLVMBuildLoad2(f->bb, g->t_real, s, ""), x, ""), s);
        if (by_rows) lg_loop_close(f, &R);
        LLVMValueRef to = LLVMBuildNSWAdd(f->bb, p, lg_i64c(g, m->offset), "");
        LLVMValueRef dst = LLVMBuildInBoundsGEP2(f->bb, g->t_real, lg_array(f, f->kc->adj_meta_arg), &to, 1, "");
        LLVMBuildStore(f->bb, LLVMBuildFAdd(f->bb, LLVMBuildLoad2(f->bb, g->t_real, dst, ""),
                                            LLVMBuildLoad2(f->bb, g->t_real, s, ""), ""), dst);
        lg_loop_close(f, &P);
    }
}
